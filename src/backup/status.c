/*
 * status.c: the files that say what a backup is (status.h).
 *
 * `status` holds Chainweb's three words and nothing else, so check-backup
 * and every tool that reads it stays as documented; the finer state lives
 * in the job's record (record.h).  Both are replaced atomically; a failure
 * whose status cannot be written atomically (a full disk) overwrites the
 * old status in place, the only write here that is not atomic.
 *
 * A failure that cannot be written into the job's directory at all (it
 * turned read-only) is written beside it, as <backup-directory>/.failed-<id>
 * with the reason, and every reader of a status (the node, check-backup,
 * `cairn backup list` and delete) takes that file over a status that still
 * says in progress: one truth wherever it is read.  The name is not a
 * backup id, so listings and retention pass it by; deleting the backup
 * removes it.
 */
#include "backup/status.h"
#include "backup/record.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/files.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/fs.h"

#define REASON_MAX 1024

int cairn_backup__job_path(char *buf, size_t size, const char *directory, const char *id)
{
	if (snprintf(buf, size, "%s/%s", directory, id) >= (int)size)
		return cairn_error_set(CAIRN_EINVALID, "backup path too long: '%s/%s'", directory, id);
	return CAIRN_OK;
}

static int path_join(char *buf, const char *dir, const char *name)
{
	return cairn_backup__job_path(buf, PATH_MAX, dir, name);
}

const char *cairn_backup_status_text(cairn_backup_state state)
{
	switch (state) {
	case CAIRN_BACKUP_DONE:
	case CAIRN_BACKUP_DONE_WITH_ERRORS: return "backup-done";
	case CAIRN_BACKUP_FAILED:
	case CAIRN_BACKUP_STOPPED:
	case CAIRN_BACKUP_SKIPPED: return "backup-failed";
	default: return "backup-in-progress";
	}
}

const char *cairn_backup_state_name(cairn_backup_state state)
{
	switch (state) {
	case CAIRN_BACKUP_QUEUED: return "queued";
	case CAIRN_BACKUP_PREPARING: return "preparing";
	case CAIRN_BACKUP_COPYING: return "in_progress";
	case CAIRN_BACKUP_STOP_REQUESTED: return "stop_requested";
	case CAIRN_BACKUP_DONE: return "completed";
	case CAIRN_BACKUP_DONE_WITH_ERRORS: return "completed_with_errors";
	case CAIRN_BACKUP_FAILED: return "failed";
	case CAIRN_BACKUP_STOPPED: return "stopped";
	case CAIRN_BACKUP_SKIPPED: return "skipped";
	}
	return "failed";
}

int cairn_backup__parse_state_name(cairn_backup_state *out, const char *name)
{
	for (int s = CAIRN_BACKUP_QUEUED; s <= CAIRN_BACKUP_SKIPPED; s++)
		if (strcmp(name, cairn_backup_state_name((cairn_backup_state)s)) == 0) {
			*out = (cairn_backup_state)s;
			return CAIRN_OK;
		}
	return cairn_error_set(CAIRN_ENOTFOUND, "unknown backup state '%s'", name);
}

bool cairn_backup_state_is_terminal(cairn_backup_state state)
{
	return state >= CAIRN_BACKUP_DONE;
}

static bool reads_failed(cairn_backup_state state)
{
	return strcmp(cairn_backup_status_text(state), "backup-failed") == 0;
}

int cairn_backup__parse_status(cairn_backup_state *out, const char *text)
{
	static const cairn_backup_state states[] = {CAIRN_BACKUP_COPYING, CAIRN_BACKUP_DONE, CAIRN_BACKUP_FAILED};
	size_t len = strlen(text);
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		const char *name = cairn_backup_status_text(states[i]);
		if (strlen(name) == len && memcmp(text, name, len) == 0) {
			*out = states[i];
			return CAIRN_OK;
		}
	}
	return cairn_error_set(CAIRN_ENOTFOUND, "unknown backup status");
}

int cairn_backup__failed_beside_name(char *buf, size_t size, const char *id)
{
	if (snprintf(buf, size, ".failed-%s", id) >= (int)size)
		return cairn_error_set(CAIRN_EINVALID, "backup id too long: '%s'", id);
	return CAIRN_OK;
}

static bool failed_beside(int dir_fd, const char *id)
{
	char name[NAME_MAX + 1];
	struct stat st;
	return cairn_backup__failed_beside_name(name, sizeof(name), id) == CAIRN_OK &&
		fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

/* Records a failure beside the job's directory `root`. */
static int mark_failed_beside(const char *root, const char *text)
{
	char parent[PATH_MAX], name[NAME_MAX + 1], path[PATH_MAX];
	const char *slash = strrchr(root, '/');
	if (slash == NULL || snprintf(parent, sizeof(parent), "%.*s", (int)(slash - root), root) >= (int)sizeof(parent))
		return cairn_error_set(CAIRN_EINVALID, "backup path '%s' has no parent", root);
	int rc = cairn_backup__failed_beside_name(name, sizeof(name), slash + 1);
	if (rc == CAIRN_OK)
		rc = path_join(path, parent[0] != '\0' ? parent : "/", name);
	return rc == CAIRN_OK ? cairn_fs_write_atomic(path, text, strlen(text)) : rc;
}

/* Reads the status of entry `id` of the backup directory without
 * following links; CAIRN_ENOTFOUND when it is no backup. */
int cairn_backup__read_status_at(cairn_backup_state *out, int dir_fd, const char *id)
{
	/* Only a missing entry is "no such backup": an I/O error reading the
	 * status of a backup that exists must not make it look absent (to
	 * check-backup, list, delete or retention). */
	int dfd = cairn_fault_openat(dir_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP))
		return cairn_error_set(CAIRN_ENOTFOUND, "no such backup");
	if (dfd < 0)
		return cairn_error_set_errno(CAIRN_EIO, errno, "cannot open backup '%s'", id);
	int fd = cairn_fault_openat(dfd, "status", O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	int err = errno;
	close(dfd);
	if (fd < 0 && (err == ENOENT || err == ELOOP))
		return cairn_error_set(CAIRN_ENOTFOUND, "no such backup");
	if (fd < 0)
		return cairn_error_set_errno(CAIRN_EIO, err, "cannot open '%s/status'", id);
	char text[64];
	size_t len = 0;
	ssize_t n = 1;
	while (len < sizeof(text) - 1 && (n = read(fd, text + len, sizeof(text) - 1 - len)) != 0) {
		if (n < 0 && errno != EINTR)
			break;
		len += n > 0 ? (size_t)n : 0; /* short reads are legal: read to the end */
	}
	err = errno;
	close(fd);
	if (n < 0)
		return cairn_error_set_errno(CAIRN_EIO, err, "cannot read '%s/status'", id);
	text[len] = '\0';
	int rc = cairn_backup__parse_status(out, text);
	if (rc == CAIRN_OK && *out == CAIRN_BACKUP_COPYING && failed_beside(dir_fd, id))
		*out = CAIRN_BACKUP_FAILED;
	return rc;
}

/* Last resort on a full disk: rewrite the existing status file's block. */
static int overwrite_in_place(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return cairn_error_set_errno(CAIRN_EIO, errno, "cannot open '%s'", path);
	size_t len = strlen(text);
	bool ok = cairn_fs_pwrite_all(fd, text, len, 0) == CAIRN_OK && ftruncate(fd, (off_t)len) == 0 && fsync(fd) == 0;
	int err = errno;
	close(fd);
	return ok ? CAIRN_OK : cairn_error_set_errno(CAIRN_EIO, err, "cannot rewrite '%s'", path);
}

int cairn_backup__mark(const char *root, cairn_backup_state state, const char *reason)
{
	char path[PATH_MAX], text[REASON_MAX + 2];
	int rc = CAIRN_OK;
	if (reads_failed(state)) {
		snprintf(text, sizeof(text), "%s\n", reason);
		rc = path_join(path, root, "failure");
		if (rc == CAIRN_OK)
			rc = cairn_fs_write_atomic(path, text, strlen(text));
	}
	snprintf(text, sizeof(text), "%s\n", cairn_backup_status_text(state));
	int status_rc = path_join(path, root, "status");
	if (status_rc == CAIRN_OK)
		status_rc = cairn_fs_write_atomic(path, text, strlen(text));
	if (status_rc != CAIRN_OK && reads_failed(state))
		status_rc = overwrite_in_place(path, text);
	if (status_rc != CAIRN_OK && reads_failed(state)) {
		snprintf(text, sizeof(text), "%s\n", reason);
		if (mark_failed_beside(root, text) == CAIRN_OK)
			return CAIRN_OK; /* recorded beside the directory, read as failed everywhere */
	}
	return status_rc != CAIRN_OK ? status_rc : rc;
}

int cairn_backup__discard(const char *root)
{
	char path[PATH_MAX];
	char **names = NULL;
	size_t count = 0;
	int rc = path_join(path, root, "0");
	if (rc == CAIRN_OK)
		rc = cairn_fs_remove_tree(path);
	if (rc == CAIRN_OK)
		rc = cairn_backup__list_files(&names, &count, root);
	for (size_t i = 0; rc == CAIRN_OK && i < count; i++) {
		if (strcmp(names[i], "status") == 0 || strcmp(names[i], "failure") == 0 ||
		    strcmp(names[i], CAIRN_BACKUP__RECORD_FILE) == 0)
			continue;
		rc = path_join(path, root, names[i]);
		if (rc == CAIRN_OK && unlink(path) != 0 && errno != ENOENT)
			rc = cairn_error_set_errno(CAIRN_EIO, errno, "cannot remove '%s'", path);
	}
	cairn_backup__free_names(names, count);
	return rc == CAIRN_OK ? cairn_fs_fsync_path(root) : rc;
}
