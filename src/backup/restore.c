/*
 * restore.c: restoring a backup (restore.h).
 *
 * Steps: check DIR (not locked, empty or --force), verify, stage (lock,
 * copy, then make everything durable), publish (move a forced DIR aside,
 * rename the staging directory to DIR, fsync the parent).  Nothing
 * outside <DIR>.restoring is written before the publishing renames.
 */
#include "backup/restore.h"
#include "backup/files.h"
#include "backup/job.h"
#include "backup/manifest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/fs.h"
#include "util/log.h"

typedef struct restore_run {
	const cairn_backup_restore_options *opts;
	cairn_backup_restore_report *report;
	const char *backup;
	char dir[PATH_MAX - 64]; /* DIR without trailing slashes (room for the suffixes below) */
	char staging[PATH_MAX]; /* DIR.restoring */
	bool dir_exists, dir_empty;
	cairn_backup_manifest manifest;
	cairn_fs_lock *lock;
} restore_run;

static int join(char *buf, const char *dir, const char *name)
{
	return cairn_backup__job_path(buf, PATH_MAX, dir, name);
}

static bool directory_is_empty(const char *path)
{
	DIR *d = opendir(path);
	if (d == NULL)
		return false;
	struct dirent *e;
	/* a directory that cannot be listed is not known to be empty */
	bool empty = cairn_fs_next_entry(&e, d, path) == CAIRN_OK && e == NULL;
	closedir(d);
	return empty;
}

static int check_target(restore_run *run)
{
	struct stat st;
	char lock[PATH_MAX];
	if (lstat(run->dir, &st) != 0) {
		if (errno != ENOENT)
			return cairn_error_set_errno(CAIRN_EIO, errno, "cannot inspect '%s'", run->dir);
		return CAIRN_OK;
	}
	if (S_ISLNK(st.st_mode))
		return cairn_error_set(CAIRN_EINVALID, "'%s' is a symbolic link: name the directory itself", run->dir);
	if (!S_ISDIR(st.st_mode))
		return cairn_error_set(CAIRN_EINVALID, "'%s' exists and is not a directory", run->dir);
	run->dir_exists = true;
	run->dir_empty = directory_is_empty(run->dir);
	int rc = join(lock, run->dir, "LOCK");
	if (rc == CAIRN_OK && cairn_fs_lock_is_held(lock))
		return cairn_error_set(CAIRN_EBUSY, "'%s' is in use by a running node (or restore)", run->dir);
	if (rc == CAIRN_OK && !run->dir_empty && !run->opts->force)
		return cairn_error_set(CAIRN_EEXISTS, "'%s' is not empty (--force moves its contents aside)", run->dir);
	return rc;
}

static int verify_first(restore_run *run)
{
	if (!run->opts->verify)
		return CAIRN_OK;
	cairn_backup_verify_options vopts = CAIRN_BACKUP_VERIFY_OPTIONS_INIT;
	vopts.progress = run->opts->progress;
	vopts.on_problem = run->opts->on_problem;
	vopts.ctx = run->opts->ctx;
	int rc = cairn_backup_verify(&run->report->verify, run->backup, &vopts);
	run->report->verified = rc == CAIRN_OK;
	if (rc == CAIRN_OK && run->report->verify.problems > 0)
		rc = cairn_error_set(CAIRN_EINVALID, "the backup does not verify (%llu problems): nothing was restored",
			(unsigned long long)run->report->verify.problems);
	return rc;
}

static int read_manifest(restore_run *run)
{
	char path[PATH_MAX], *status = NULL;
	cairn_backup_state state = CAIRN_BACKUP_FAILED;
	int rc = join(path, run->backup, "status");
	if (rc == CAIRN_OK && (rc = cairn_fs_read_regular_file(&status, NULL, path)) != CAIRN_OK && rc != CAIRN_ENOTFOUND)
		rc = cairn_error_prefix(rc, "'%s' cannot be restored", run->backup); /* names the file and errno */
	else if (rc != CAIRN_OK || cairn_backup__parse_status(&state, status) != CAIRN_OK || state != CAIRN_BACKUP_DONE)
		rc = cairn_error_set(CAIRN_EINVALID, "'%s' is not a finished backup (status backup-done)", run->backup);
	free(status);
	if (rc == CAIRN_OK)
		rc = join(path, run->backup, "manifest.json");
	return rc == CAIRN_OK ? cairn_backup__manifest_read(&run->manifest, path) : rc;
}

/* The backup's own directories, never links out of it: with --no-verify
 * nothing else would notice a 0/sqlite that names another directory (the
 * files themselves are opened with O_NOFOLLOW). */
static int check_source_dirs(restore_run *run)
{
	static const char *const dirs[] = {"0", "0/rocksDb", "0/sqlite"};
	char path[PATH_MAX];
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		struct stat st;
		if (i == 2 && !run->manifest.pact_included)
			break;
		int rc = join(path, run->backup, dirs[i]);
		if (rc != CAIRN_OK)
			return rc;
		if (lstat(path, &st) != 0)
			return cairn_error_set_errno(cairn_error_from_errno(errno), errno, "cannot inspect '%s'", path);
		if (S_ISLNK(st.st_mode))
			return cairn_error_set(CAIRN_EINVALID, "'%s' is a symbolic link: nothing was restored", path);
		if (!S_ISDIR(st.st_mode))
			return cairn_error_set(CAIRN_EINVALID, "'%s' is not a directory: nothing was restored", path);
	}
	return CAIRN_OK;
}

/* ---- staging ---- */

static int make_dirs(restore_run *run)
{
	static const char *const dirs[] = {"0", "0/rocksDb", "0/sqlite"};
	char path[PATH_MAX];
	int rc = CAIRN_OK;
	for (size_t i = 0; rc == CAIRN_OK && i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (i == 2 && !run->manifest.pact_included)
			break;
		rc = join(path, run->staging, dirs[i]);
		if (rc == CAIRN_OK && cairn_fault_mkdir(path, 0755) != 0)
			rc = cairn_error_set_errno(cairn_error_from_errno(errno), errno, "cannot create '%s'", path);
	}
	return rc;
}

/* Takes the staging directory: a held LOCK there is another restore;
 * anything else there is an interrupted restore's, removed. */
static int prepare_staging(restore_run *run)
{
	char lock[PATH_MAX];
	int rc = join(lock, run->staging, "LOCK");
	if (rc == CAIRN_OK && cairn_fs_lock_is_held(lock))
		return cairn_error_set(CAIRN_EBUSY, "another restore into '%s' is running", run->dir);
	if (rc == CAIRN_OK && cairn_fs_exists(run->staging)) {
		cairn_log_info("restore", "removing the leftovers of an interrupted restore: %s", run->staging);
		rc = cairn_fs_remove_tree(run->staging);
	}
	if (rc == CAIRN_OK)
		rc = cairn_fs_mkdir_p(run->staging);
	if (rc == CAIRN_OK)
		rc = cairn_fs_lock_acquire(&run->lock, lock);
	return rc == CAIRN_OK ? make_dirs(run) : rc;
}

static int copy_file(restore_run *run, const cairn_backup_manifest_file *f)
{
	char src[PATH_MAX], dst[PATH_MAX];
	cairn_backup_file_digest digest;
	int rc = join(src, run->backup, f->path);
	if (rc == CAIRN_OK)
		rc = join(dst, run->staging, f->path);
	struct stat st;
	if (rc == CAIRN_OK && run->opts->move) {
		if (rename(src, dst) != 0 || stat(dst, &st) != 0)
			rc = cairn_error_set_errno(cairn_error_from_errno(errno), errno, "cannot move '%s' to '%s'", src, dst);
		else
			digest.size = (uint64_t)st.st_size;
	} else if (rc == CAIRN_OK) {
		rc = cairn_backup__copy_file(&digest, src, dst, 0);
	}
	if (rc == CAIRN_OK && digest.size != f->size)
		rc = cairn_error_set(CAIRN_EINVALID, "%s: %llu bytes, the manifest lists %llu", f->path,
			(unsigned long long)digest.size, (unsigned long long)f->size);
	cairn_progress_add(run->opts->progress, f->size);
	run->report->files++;
	run->report->bytes += rc == CAIRN_OK ? digest.size : 0;
	return rc;
}

/* The copies were written without fsync: one syncfs() writes them all
 * back in bulk (what `cp -r && sync` gets), and the fsyncs after it, of
 * every file and then every directory, find nothing left to write but
 * make each one's durability explicit rather than a property of syncfs. */
static int make_durable(restore_run *run)
{
	static const char *const dirs[] = {"0/sqlite", "0/rocksDb", "0"};
	char path[PATH_MAX];
	int fd = open(run->staging, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = fd >= 0 && cairn_fault_syncfs(fd) == 0 ? CAIRN_OK
		: cairn_error_set_errno(CAIRN_EIO, errno, "syncfs '%s'", run->staging);
	if (fd >= 0)
		close(fd);
	for (size_t i = 0; rc == CAIRN_OK && i < run->manifest.file_count; i++)
		if ((rc = join(path, run->staging, run->manifest.files[i].path)) == CAIRN_OK)
			rc = cairn_fs_fsync_path(path);
	for (size_t i = run->manifest.pact_included ? 0 : 1; rc == CAIRN_OK && i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if ((rc = join(path, run->staging, dirs[i])) == CAIRN_OK)
			rc = cairn_fs_fsync_path(path);
	return rc == CAIRN_OK ? cairn_fs_fsync_path(run->staging) : rc;
}

static int stage(restore_run *run)
{
	int rc = prepare_staging(run);
	cairn_progress_begin(run->opts->progress, "restoring", cairn_backup__manifest_bytes(&run->manifest),
		CAIRN_PROGRESS_BYTES);
	for (size_t i = 0; rc == CAIRN_OK && i < run->manifest.file_count; i++)
		rc = copy_file(run, &run->manifest.files[i]);
	cairn_progress_end(run->opts->progress);
	return rc == CAIRN_OK ? make_durable(run) : rc;
}

/* ---- publishing ---- */

static int move_aside(restore_run *run)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	if (snprintf(run->report->replaced, sizeof(run->report->replaced), "%s.replaced-%s", run->dir, stamp)
	    >= (int)sizeof(run->report->replaced))
		return cairn_error_set(CAIRN_EINVALID, "path too long: '%s'", run->dir);
	for (int n = 2; cairn_fs_exists(run->report->replaced); n++)
		snprintf(run->report->replaced, sizeof(run->report->replaced), "%s.replaced-%s-%d", run->dir, stamp, n);
	if (rename(run->dir, run->report->replaced) != 0)
		return cairn_error_set_errno(CAIRN_EIO, errno, "cannot move '%s' aside", run->dir);
	cairn_log_info("restore", "moved the previous contents of %s to %s", run->dir, run->report->replaced);
	return CAIRN_OK;
}

/* Puts the previous contents moved aside back in place, after a failure. */
static void move_back(restore_run *run)
{
	if (run->report->replaced[0] != '\0' && rename(run->report->replaced, run->dir) == 0)
		run->report->replaced[0] = '\0';
}

/* rename(2) replaces an empty directory atomically.  A restore that fails
 * leaves nothing that looks complete: when the parent's fsync fails after
 * the rename, the restore is not durable, so it is renamed back to the
 * staging directory (removed with it) and DIR's previous contents, if
 * they were moved aside, are moved back. */
static int publish(restore_run *run)
{
	int rc = run->dir_exists && !run->dir_empty ? move_aside(run) : CAIRN_OK;
	if (rc != CAIRN_OK)
		return rc;
	if (rename(run->staging, run->dir) != 0) {
		rc = cairn_error_set_errno(cairn_error_from_errno(errno), errno, "cannot rename '%s' to '%s'",
			run->staging, run->dir);
		move_back(run);
		return rc;
	}
	rc = cairn_fs_fsync_parent(run->dir);
	if (rc != CAIRN_OK && rename(run->dir, run->staging) == 0)
		move_back(run);
	return rc;
}

static int set_paths(restore_run *run, const char *database_dir)
{
	size_t len = strlen(database_dir);
	while (len > 1 && database_dir[len - 1] == '/')
		len--;
	if (len == 0 || len >= sizeof(run->dir))
		return cairn_error_set(CAIRN_EINVALID, "bad database directory '%s'", database_dir);
	snprintf(run->dir, sizeof(run->dir), "%.*s", (int)len, database_dir);
	snprintf(run->staging, sizeof(run->staging), "%s.restoring", run->dir);
	char parent[PATH_MAX];
	snprintf(parent, sizeof(parent), "%s", run->dir);
	char *slash = strrchr(parent, '/');
	if (slash == NULL || slash == parent)
		return CAIRN_OK;
	*slash = '\0';
	return cairn_fs_mkdir_p(parent);
}

int cairn_backup_restore(cairn_backup_restore_report *out, const char *backup_path, const char *database_dir,
	const cairn_backup_restore_options *opts)
{
	memset(out, 0, sizeof(*out));
	restore_run run = {.opts = opts, .report = out, .backup = backup_path};
	int rc = cairn_fs_is_dir(backup_path) ? set_paths(&run, database_dir)
		: cairn_error_set(CAIRN_ENOTFOUND, "'%s' is not a directory", backup_path);
	if (rc == CAIRN_OK)
		rc = check_target(&run);
	if (rc == CAIRN_OK)
		rc = verify_first(&run);
	if (rc == CAIRN_OK)
		rc = read_manifest(&run);
	if (rc == CAIRN_OK)
		rc = check_source_dirs(&run);
	double t0 = cairn_clock_now();
	if (rc == CAIRN_OK)
		rc = stage(&run);
	if (rc == CAIRN_OK)
		rc = publish(&run);
	out->seconds = cairn_clock_now() - t0;
	cairn_fs_lock_release(run.lock);
	if (rc != CAIRN_OK && run.lock != NULL)
		cairn_fs_remove_tree(run.staging);
	cairn_backup__manifest_free(&run.manifest);
	if (rc == CAIRN_OK)
		cairn_log_info("restore", "restored %s into %s: %llu files, %.1f MB in %.2f s", backup_path, run.dir,
			(unsigned long long)out->files, (double)out->bytes / 1e6, out->seconds);
	return rc;
}
