/*
 * files.c: hashing and copying files for backup jobs (files.h).
 *
 * One loop serves both: it reads the source in chunks, feeds each chunk to
 * SHA-256 and, when copying, writes it out.  Copies made while the node
 * runs sync each chunk they write (cairn_fs_sync_written, the same policy
 * as the PactDB snapshot copies), so the node's commits never wait for
 * more than a chunk of them.
 */
#include "backup/files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"
#include "util/fault.h"
#include "util/fs.h"
#include "util/hex.h"

#define CHUNK CAIRN_FS_COPY_CHUNK

/* Hashes `in` from its start to its end, writing every chunk to `out` too
 * unless out < 0, syncing each whole chunk when `sync` (the caller fsyncs
 * the end).  On failure the message names `what`. */
static int stream(cairn_backup_file_digest *digest, int in, int out, bool sync, const char *what)
{
	uint8_t *buf = malloc(CHUNK);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int rc = CAIRN_OK;
	if (buf == NULL || ctx == NULL || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		rc = cairn_error_set(CAIRN_ENOMEM, "cannot hash '%s': out of memory", what);
	digest->size = 0;
	while (rc == CAIRN_OK) {
		ssize_t n = read(in, buf, CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = cairn_error_set_errno(CAIRN_EIO, errno, "cannot read '%s'", what);
		if (n <= 0)
			break;
		if (!EVP_DigestUpdate(ctx, buf, (size_t)n))
			rc = cairn_error_set(CAIRN_ERROR, "cannot hash '%s'", what);
		else if (out >= 0 && (cairn_fs_write_all(out, buf, (size_t)n) != CAIRN_OK
				|| (sync && (size_t)n == CHUNK && cairn_fs_sync_written(out) != CAIRN_OK)))
			rc = cairn_error_set_errno(cairn_error_from_errno(errno), errno, "cannot write copy of '%s'", what);
		digest->size += (uint64_t)n;
	}
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned md_len = 0;
	if (rc == CAIRN_OK && !EVP_DigestFinal_ex(ctx, md, &md_len))
		rc = cairn_error_set(CAIRN_ERROR, "cannot hash '%s'", what);
	if (rc == CAIRN_OK)
		cairn_hex_encode(digest->sha256, md, md_len);
	EVP_MD_CTX_free(ctx);
	free(buf);
	return rc;
}

static int sync_fd(int fd, const char *path)
{
	if (fsync(fd) != 0)
		return cairn_error_set_errno(CAIRN_EIO, errno, "fsync '%s'", path);
	return CAIRN_OK;
}

/* Never through a symbolic link; a file opened for reading must be a
 * regular file (O_NONBLOCK: a FIFO put in a backup's place opens at once,
 * and is refused, instead of blocking the reader forever). */
static int open_file(int *fd, const char *path, int flags)
{
	bool reading = (flags & O_ACCMODE) == O_RDONLY;
	*fd = open(path, flags | O_CLOEXEC | O_NOFOLLOW | (reading ? O_NONBLOCK : 0), 0644);
	if (*fd < 0 && errno == ELOOP)
		return cairn_error_set(CAIRN_EINVALID, "'%s' is a symbolic link", path);
	if (*fd < 0)
		return cairn_error_set_errno(cairn_error_from_errno(errno), errno, "cannot open '%s'", path);
	struct stat st;
	if (reading && (fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode))) {
		close(*fd);
		return cairn_error_set(CAIRN_EINVALID, "'%s' is not a regular file", path);
	}
	if (reading)
		fcntl(*fd, F_SETFL, fcntl(*fd, F_GETFL) & ~O_NONBLOCK);
	return CAIRN_OK;
}

int cairn_backup__hash_file(cairn_backup_file_digest *out, const char *path, bool drop_cache)
{
	int fd;
	int rc = open_file(&fd, path, O_RDONLY);
	if (rc != CAIRN_OK)
		return rc;
	rc = stream(out, fd, -1, false, path);
	if (rc == CAIRN_OK && drop_cache)
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
	return rc;
}

/* The kernel's copy of `in` into `out`; falls back to reading and writing
 * where the file systems cannot (EXDEV, EINVAL, ENOSYS). */
static int kernel_copy(cairn_backup_file_digest *digest, int in, int out, const char *what)
{
	digest->size = 0;
	digest->sha256[0] = '\0';
	for (;;) {
		ssize_t n = cairn_fault_copy_file_range(in, NULL, out, NULL, CHUNK, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && digest->size == 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS))
			break;
		if (n < 0)
			return cairn_error_set_errno(cairn_error_from_errno(errno), errno, "cannot copy '%s'", what);
		if (n == 0)
			return CAIRN_OK;
		digest->size += (uint64_t)n;
	}
	int rc = stream(digest, in, out, false, what);
	digest->sha256[0] = '\0';
	return rc;
}

int cairn_backup__copy_file(cairn_backup_file_digest *out, const char *src, const char *dst, unsigned flags)
{
	bool sync = flags & CAIRN_BACKUP__COPY_SYNC;
	int in, copy;
	int rc = open_file(&in, src, O_RDONLY);
	if (rc != CAIRN_OK)
		return rc;
	rc = open_file(&copy, dst, O_WRONLY | O_CREAT | O_EXCL);
	if (rc == CAIRN_OK) {
		rc = flags & CAIRN_BACKUP__COPY_HASH ? stream(out, in, copy, sync, src) : kernel_copy(out, in, copy, src);
		if (rc == CAIRN_OK && sync)
			rc = sync_fd(copy, dst);
		if (rc == CAIRN_OK && sync)
			posix_fadvise(copy, 0, 0, POSIX_FADV_DONTNEED);
		if (close(copy) != 0 && rc == CAIRN_OK)
			rc = cairn_error_set_errno(CAIRN_EIO, errno, "cannot write '%s'", dst);
	}
	close(in);
	return rc;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_regular(DIR *d, const struct dirent *e)
{
	struct stat st;
	if (e->d_type != DT_UNKNOWN)
		return e->d_type == DT_REG;
	return fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

int cairn_backup__list_files(char ***out, size_t *out_count, const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return cairn_error_set_errno(cairn_error_from_errno(errno), errno, "cannot list '%s'", dir);
	char **names = NULL;
	size_t count = 0, capacity = 0;
	int rc = CAIRN_OK;
	struct dirent *e;
	while (rc == CAIRN_OK && (rc = cairn_fs_next_entry(&e, d, dir)) == CAIRN_OK && e != NULL) {
		if (!is_regular(d, e))
			continue;
		if (count == capacity) {
			capacity = capacity ? capacity * 2 : 32;
			char **grown = realloc(names, capacity * sizeof(*names));
			if (grown == NULL) {
				rc = cairn_error_set(CAIRN_ENOMEM, "cannot list '%s': out of memory", dir);
				break;
			}
			names = grown;
		}
		if ((names[count] = strdup(e->d_name)) == NULL) {
			rc = cairn_error_set(CAIRN_ENOMEM, "cannot list '%s': out of memory", dir);
			break;
		}
		count++;
	}
	closedir(d);
	if (rc != CAIRN_OK) {
		cairn_backup__free_names(names, count);
		return rc;
	}
	if (count > 1)
		qsort(names, count, sizeof(*names), compare_names);
	*out = names;
	*out_count = count;
	return CAIRN_OK;
}

void cairn_backup__free_names(char **names, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
}
