/*
 * fs.c: implementation of fs.h.
 *
 * Locks use open file description locks (F_OFD_SETLK): they belong to the
 * open file, not the process, so two opens in one process conflict as they
 * would across processes, and the kernel drops them when the holder dies.
 */
#include "util/fs.h"
#include "util/error.h"
#include "util/fault.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct cairn_fs_lock {
	int fd;
	char *path;
};

int cairn_fs_mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);
	if (len == 0 || len >= sizeof(buf))
		return cairn_error_set(CAIRN_EINVALID, "invalid directory path '%s'", path);
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (cairn_fault_mkdir(buf, 0755) != 0 && errno != EEXIST)
			return cairn_error_set_errno(cairn_error_from_errno(errno), errno,
				"cannot create directory '%s'", buf);
		*p = saved;
		if (saved == '\0')
			break;
	}
	if (!cairn_fs_is_dir(path))
		return cairn_error_set(CAIRN_EINVALID, "'%s' exists and is not a directory", path);
	return CAIRN_OK;
}

int cairn_fs_fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cairn_error_set_errno(cairn_error_from_errno(errno), errno, "cannot open '%s'", path);
	int rc = CAIRN_OK;
	if (fsync(fd) != 0)
		rc = cairn_error_set_errno(CAIRN_EIO, errno, "fsync '%s'", path);
	close(fd);
	return rc;
}

int cairn_fs_fsync_parent(const char *path)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", path);
	char *slash = strrchr(buf, '/');
	if (slash == NULL)
		return cairn_fs_fsync_path(".");
	if (slash == buf)
		slash[1] = '\0';
	else
		*slash = '\0';
	return cairn_fs_fsync_path(buf);
}

int cairn_fs_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return CAIRN_EIO;
		}
		p += n;
		len -= (size_t)n;
	}
	return CAIRN_OK;
}

/* Why a copy syncs every CAIRN_FS_COPY_CHUNK.  A block commit fsyncs too:
 * SQLite syncs a WAL's header when a commit starts it over, and an fsync
 * returns only after the device has flushed its write cache.  A copy that
 * leaves its writeback to the kernel, or only starts it (sync_file_range),
 * keeps hundreds of megabytes queued for the disk and in its cache, and
 * every such fsync of the node waits for them: in bench/backup (producer
 * at max, 8 Pact files of 300 MB in all, 2 parallel copies) the medians
 * of the longest commit during a backup were 46-130 ms, spent in fdatasync
 * behind the copy's writeback, the block layer's writeback throttling and
 * the cache flush.  Synced every 4 MB, a copy never holds more than one
 * chunk ahead of the node's fsyncs (medians 39-56 ms), for 0.95-1.02x the
 * rate of `cp` and `sync` on an idle disk. */
int cairn_fs_sync_written(int fd)
{
	while (fdatasync(fd) != 0)
		if (errno != EINTR)
			return CAIRN_EIO;
	return CAIRN_OK;
}

int cairn_fs_pwrite_all(int fd, const void *data, size_t len, off_t offset)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return CAIRN_EIO;
		}
		p += n;
		len -= (size_t)n;
		offset += n;
	}
	return CAIRN_OK;
}

int cairn_fs_write_atomic(const char *path, const void *data, size_t len)
{
	return cairn_fs_write_atomic_mode(path, data, len, 0644);
}

int cairn_fs_write_atomic_mode(const char *path, const void *data, size_t len, unsigned mode)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
		return cairn_error_set(CAIRN_EINVALID, "path too long: '%s'", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
	if (fd < 0)
		return cairn_error_set_errno(cairn_error_from_errno(errno), errno, "cannot create '%s'", tmp);
	if (cairn_fs_write_all(fd, data, len) != CAIRN_OK || fsync(fd) != 0) {
		int err = errno;
		close(fd);
		unlink(tmp);
		return cairn_error_set_errno(CAIRN_EIO, err, "cannot write '%s'", tmp);
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		int err = errno;
		unlink(tmp);
		return cairn_error_set_errno(CAIRN_EIO, err, "cannot replace '%s'", path);
	}
	return cairn_fs_fsync_parent(path);
}

int cairn_fs_check_private_file(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return cairn_error_set_errno(cairn_error_from_errno(errno), errno, "%s", path);
	if (!S_ISREG(st.st_mode))
		return cairn_error_set(CAIRN_EINVALID, "%s: not a regular file", path);
	if ((st.st_mode & 077) != 0)
		return cairn_error_set(CAIRN_EINVALID, "%s: readable or writable by group or others (mode %03o); chmod 600 it",
			path, (unsigned)(st.st_mode & 0777));
	return CAIRN_OK;
}

/* Reads `fd` to its end into a NUL-terminated buffer; closes fd. */
static int read_all(char **out, size_t *out_len, int fd, const char *path)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (buf == NULL) {
			close(fd);
			return cairn_error_set(CAIRN_ENOMEM, "out of memory reading '%s'", path);
		}
		if (len + 1 >= cap) {
			char *grown = realloc(buf, cap * 2);
			if (grown == NULL)
				free(buf);
			buf = grown;
			cap *= 2;
			continue;
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;
			free(buf);
			close(fd);
			return cairn_error_set_errno(CAIRN_EIO, err, "cannot read '%s'", path);
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	*out = buf;
	if (out_len)
		*out_len = len;
	return CAIRN_OK;
}

int cairn_fs_read_file(char **out, size_t *out_len, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cairn_error_set_errno(cairn_error_from_errno(errno), errno, "cannot open '%s'", path);
	return read_all(out, out_len, fd, path);
}

int cairn_fs_read_regular_at(char **out, size_t *out_len, int dir_fd, const char *name, const char *path)
{
	struct stat st;
	int fd = cairn_fault_openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ELOOP)
		return cairn_error_set(CAIRN_EINVALID, "'%s' is a symbolic link", path);
	if (fd < 0)
		return cairn_error_set_errno(cairn_error_from_errno(errno), errno, "cannot open '%s'", path);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return cairn_error_set(CAIRN_EINVALID, "'%s' is not a regular file", path);
	}
	return read_all(out, out_len, fd, path);
}

int cairn_fs_read_regular_file(char **out, size_t *out_len, const char *path)
{
	return cairn_fs_read_regular_at(out, out_len, AT_FDCWD, path, path);
}

int cairn_fs_next_entry(struct dirent **out, DIR *dir, const char *path)
{
	for (;;) {
		errno = 0;
		struct dirent *e = readdir(dir);
		if (e == NULL) {
			*out = NULL;
			return errno == 0 ? CAIRN_OK : cairn_error_set_errno(CAIRN_EIO, errno, "cannot list '%s'", path);
		}
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			*out = e;
			return CAIRN_OK;
		}
	}
}

int cairn_fs_remove_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? CAIRN_OK
			: cairn_error_set_errno(CAIRN_EIO, errno, "cannot stat '%s'", path);
	if (S_ISDIR(st.st_mode)) {
		/* ENOENT anywhere below: another remover got there first (a delete
		 * clearing leftovers while retention removes one), and absence is
		 * the goal. */
		DIR *dir = opendir(path);
		if (dir == NULL)
			return errno == ENOENT ? CAIRN_OK
				: cairn_error_set_errno(CAIRN_EIO, errno, "cannot open directory '%s'", path);
		/* Removes all it can and returns the first error: one entry that
		 * cannot be removed leaves no more behind than itself. */
		struct dirent *entry;
		int rc = CAIRN_OK, listed;
		while ((listed = cairn_fs_next_entry(&entry, dir, path)) == CAIRN_OK && entry != NULL) {
			char child[PATH_MAX];
			int child_rc = snprintf(child, sizeof(child), "%s/%s", path, entry->d_name) >= (int)sizeof(child)
				? cairn_error_set(CAIRN_EINVALID, "path too long under '%s'", path)
				: cairn_fs_remove_tree(child);
			if (rc == CAIRN_OK)
				rc = child_rc;
		}
		if (rc == CAIRN_OK)
			rc = listed;
		closedir(dir);
		if (rc != CAIRN_OK)
			return rc;
		if (cairn_fault_rmdir(path) != 0 && errno != ENOENT)
			return cairn_error_set_errno(CAIRN_EIO, errno, "cannot remove directory '%s'", path);
		return CAIRN_OK;
	}
	if (unlink(path) != 0 && errno != ENOENT)
		return cairn_error_set_errno(CAIRN_EIO, errno, "cannot remove '%s'", path);
	return CAIRN_OK;
}

bool cairn_fs_is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool cairn_fs_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

int cairn_fs_check_writable_dir(const char *dir)
{
	int rc = cairn_fs_mkdir_p(dir);
	if (rc != CAIRN_OK)
		return rc;
	char probe[PATH_MAX];
	if (snprintf(probe, sizeof(probe), "%s/.cairn-write-test.%ld", dir, (long)getpid()) >= (int)sizeof(probe))
		return cairn_error_set(CAIRN_EINVALID, "path too long: '%s'", dir);
	int fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return cairn_error_set_errno(CAIRN_EIO, errno, "directory '%s' is not writable", dir);
	int ok = cairn_fs_write_all(fd, "x", 1) == CAIRN_OK && fsync(fd) == 0;
	int err = errno;
	close(fd);
	unlink(probe);
	if (!ok)
		return cairn_error_set_errno(CAIRN_EIO, err, "directory '%s' is not writable", dir);
	return CAIRN_OK;
}

static int lock_fd(int fd, short type)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
	return fcntl(fd, F_OFD_SETLK, &fl);
}

int cairn_fs_lock_acquire(cairn_fs_lock **out, const char *lock_path)
{
	int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return cairn_error_set_errno(cairn_error_from_errno(errno), errno,
			"cannot open lock file '%s'", lock_path);
	if (lock_fd(fd, F_WRLCK) != 0) {
		int err = errno;
		char holder[32] = "";
		ssize_t n = pread(fd, holder, sizeof(holder) - 1, 0);
		holder[n > 0 ? n : 0] = '\0';
		holder[strcspn(holder, "\n")] = '\0';
		close(fd);
		if (err == EAGAIN || err == EACCES)
			return cairn_error_set(CAIRN_EBUSY, "'%s' is locked by another running cairn (pid %s)",
				lock_path, holder[0] ? holder : "unknown");
		return cairn_error_set_errno(CAIRN_EIO, err, "cannot lock '%s'", lock_path);
	}
	char pid[32];
	int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || cairn_fs_pwrite_all(fd, pid, (size_t)n, 0) != CAIRN_OK) {
		int err = errno;
		close(fd);
		return cairn_error_set_errno(CAIRN_EIO, err, "cannot write lock file '%s'", lock_path);
	}
	cairn_fs_lock *lock = malloc(sizeof(*lock));
	char *path_copy = strdup(lock_path);
	if (lock == NULL || path_copy == NULL) {
		free(lock);
		free(path_copy);
		close(fd);
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	}
	lock->fd = fd;
	lock->path = path_copy;
	*out = lock;
	return CAIRN_OK;
}

void cairn_fs_lock_release(cairn_fs_lock *lock)
{
	if (lock == NULL)
		return;
	close(lock->fd); /* closing the description drops the lock */
	free(lock->path);
	free(lock);
}

bool cairn_fs_lock_is_held(const char *lock_path)
{
	int fd = open(lock_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
	bool held = fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
	close(fd);
	return held;
}
