/*
 * catalog.c: listing and deleting backups (catalog.h).
 *
 * Entries are reached through the backup directory's descriptor without
 * following links, exactly as the manager answers check-backup, so a name
 * in the directory can only ever mean the directory of that name.
 */
#include "backup/catalog.h"
#include "backup/id.h"
#include "backup/job.h"
#include "backup/manifest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/error.h"
#include "util/fault.h"
#include "util/fs.h"
#include "util/log.h"

#define DELETING_PREFIX ".deleting-"

void cairn_backup_format_time(char out[32], uint64_t time_ms)
{
	time_t seconds = (time_t)(time_ms / 1000);
	struct tm tm;
	char text[24];
	gmtime_r(&seconds, &tm);
	strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, 32, "%s.%03uZ", text, (unsigned)(time_ms % 1000));
}

static bool directory_lock_held(const char *directory)
{
	char path[PATH_MAX];
	return cairn_backup__job_path(path, sizeof(path), directory, ".lock") == CAIRN_OK && cairn_fs_lock_is_held(path);
}

static int open_directory(int *fd, const char *directory)
{
	*fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0)
		return cairn_error_set_errno(cairn_error_from_errno(errno), errno, "cannot open backup directory '%s'",
			directory);
	return CAIRN_OK;
}

/* Fills `info` for entry `name`; CAIRN_ENOTFOUND when it is no backup. */
static int describe(cairn_backup_info *info, int dir_fd, const char *directory, const char *name, bool lock_held)
{
	struct stat st;
	if (!cairn_backup_id_is_valid(name) || fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
	    !S_ISDIR(st.st_mode))
		return CAIRN_ENOTFOUND;
	memset(info, 0, sizeof(*info));
	int rc = cairn_backup__read_status_at(&info->state, dir_fd, name);
	if (rc != CAIRN_OK)
		return rc;
	snprintf(info->id, sizeof(info->id), "%s", name);
	info->has_time = cairn_backup__numeric_id(&info->time_ms, name);
	info->running = info->state != CAIRN_BACKUP_DONE && info->state != CAIRN_BACKUP_FAILED && lock_held;
	char root[PATH_MAX], path[PATH_MAX];
	cairn_backup_manifest m = {0};
	if (info->state == CAIRN_BACKUP_DONE && cairn_backup__job_path(root, sizeof(root), directory, name) == CAIRN_OK &&
	    cairn_backup__job_path(path, sizeof(path), root, "manifest.json") == CAIRN_OK &&
	    cairn_backup__manifest_read(&m, path) == CAIRN_OK) {
		info->has_cut = true;
		info->pact_included = m.pact_included;
		info->cut_height = cairn_backup__cut_height(&m.cut);
		info->bytes = cairn_backup__manifest_bytes(&m);
		cairn_backup__manifest_free(&m);
	}
	return CAIRN_OK;
}

static int compare_backups(const void *a, const void *b)
{
	const cairn_backup_info *x = a, *y = b;
	return cairn_backup__id_compare(x->id, y->id);
}

static int append(cairn_backup_info **list, size_t *count, size_t *capacity, const cairn_backup_info *info)
{
	if (*count == *capacity) {
		size_t grown_capacity = *capacity ? *capacity * 2 : 16;
		cairn_backup_info *grown = realloc(*list, grown_capacity * sizeof(*grown));
		if (grown == NULL)
			return cairn_error_set(CAIRN_ENOMEM, "out of memory");
		*list = grown;
		*capacity = grown_capacity;
	}
	(*list)[(*count)++] = *info;
	return CAIRN_OK;
}

int cairn_backup_list(cairn_backup_info **out, size_t *out_count, const char *directory)
{
	int fd;
	int rc = open_directory(&fd, directory);
	if (rc != CAIRN_OK)
		return rc;
	DIR *d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return cairn_error_set_errno(CAIRN_EIO, errno, "cannot list '%s'", directory);
	}
	bool lock_held = directory_lock_held(directory);
	cairn_backup_info *list = NULL, info;
	size_t count = 0, capacity = 0;
	struct dirent *e;
	while (rc == CAIRN_OK && (rc = cairn_fs_next_entry(&e, d, directory)) == CAIRN_OK && e != NULL) {
		int described = describe(&info, dirfd(d), directory, e->d_name, lock_held);
		if (described == CAIRN_OK)
			rc = append(&list, &count, &capacity, &info);
		else if (described == CAIRN_EIO) /* a backup whose status cannot be read; other entries are no backups */
			rc = cairn_error_prefix(described, "'%s'", directory);
	}
	closedir(d);
	if (rc != CAIRN_OK) {
		free(list);
		return rc;
	}
	if (count > 1)
		qsort(list, count, sizeof(*list), compare_backups);
	*out = list;
	*out_count = count;
	return CAIRN_OK;
}

/* Removes what interrupted deletes left behind. */
static int remove_leftovers(const char *directory)
{
	DIR *d = opendir(directory);
	if (d == NULL)
		return cairn_error_set_errno(CAIRN_EIO, errno, "cannot list '%s'", directory);
	int rc = CAIRN_OK;
	char path[PATH_MAX];
	struct dirent *e;
	while (rc == CAIRN_OK && (rc = cairn_fs_next_entry(&e, d, directory)) == CAIRN_OK && e != NULL)
		if (strncmp(e->d_name, DELETING_PREFIX, strlen(DELETING_PREFIX)) == 0 &&
		    (rc = cairn_backup__job_path(path, sizeof(path), directory, e->d_name)) == CAIRN_OK)
			rc = cairn_fs_remove_tree(path);
	closedir(d);
	return rc;
}

static int remove_backup(int dir_fd, const char *directory, const char *id)
{
	char hidden[CAIRN_BACKUP_ID_MAX + 16], path[PATH_MAX];
	snprintf(hidden, sizeof(hidden), DELETING_PREFIX "%s", id);
	if (cairn_fault_renameat(dir_fd, id, dir_fd, hidden) != 0)
		return cairn_error_set_errno(cairn_error_from_errno(errno), errno, "cannot remove backup '%s/%s'",
			directory, id);
	if (fsync(dir_fd) != 0)
		return cairn_error_set_errno(CAIRN_EIO, errno, "fsync backup directory '%s'", directory);
	char beside[CAIRN_BACKUP_ID_MAX + 16];
	if (cairn_backup__failed_beside_name(beside, sizeof(beside), id) == CAIRN_OK &&
	    cairn_fault_unlinkat(dir_fd, beside, 0) != 0 && errno != ENOENT)
		return cairn_error_set_errno(CAIRN_EIO, errno, "cannot remove '%s/%s'", directory, beside);
	int rc = cairn_backup__job_path(path, sizeof(path), directory, hidden);
	return rc == CAIRN_OK ? cairn_fs_remove_tree(path) : rc;
}

int cairn_backup_delete(const char *directory, const char *id)
{
	if (!cairn_backup_id_is_valid(id))
		return cairn_error_set(CAIRN_EINVALID, "'%s' is not a backup id ([A-Za-z0-9_-]{1,64})", id);
	int fd;
	int rc = open_directory(&fd, directory);
	if (rc != CAIRN_OK)
		return rc;
	cairn_backup_info info;
	rc = describe(&info, fd, directory, id, directory_lock_held(directory));
	if (rc == CAIRN_ENOTFOUND)
		rc = cairn_error_set(CAIRN_ENOTFOUND, "no backup %s in '%s'", id, directory);
	else if (rc != CAIRN_OK)
		rc = cairn_error_prefix(rc, "'%s'", directory);
	else if (info.running)
		rc = cairn_error_set(CAIRN_EBUSY, "backup %s is running (the node that owns '%s' is writing it)", id,
			directory);
	if (rc == CAIRN_OK)
		rc = remove_backup(fd, directory, id);
	close(fd);
	if (rc == CAIRN_OK)
		rc = remove_leftovers(directory);
	if (rc == CAIRN_OK)
		cairn_log_info("backup", "backup %s deleted from %s", id, directory);
	return rc;
}
