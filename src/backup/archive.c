/*
 * archive.c: a finished backup as a zstd-compressed tar stream (archive.h).
 *
 * Pull model.  libarchive writes through a callback that appends to an
 * output buffer; cairn_backup_archive_read drains that buffer and, only
 * when it is empty, feeds libarchive one step: one entry's header, or one
 * chunk (CHUNK bytes) of a file's data, or the closing trailer.  Memory is
 * therefore one chunk, the compressor's own state and what one step
 * produces, whatever the backup's size; nothing touches the disk but the
 * reads of the backup's files.
 *
 * Entries, in this order, under `top_name/`: the directories (the top,
 * 0/, 0/rocksDb/ and 0/sqlite/ when a listed file sits in it), every file
 * the manifest lists in its order, every other regular file at the top of
 * the backup (job records) except temporaries of atomic writes, then
 * manifest.json and last `status`.  A stream cut short therefore extracts
 * to a directory without a backup-done status, which verify and restore
 * refuse.
 *
 * Confinement.  The backup's directory is opened once, without following
 * a link, and every path below it is opened component by component with
 * openat(O_NOFOLLOW): a link anywhere (0/ itself, 0/sqlite, a file) is an
 * error, never followed.  The manifest is read beneath that descriptor
 * (openat, O_NOFOLLOW, regular files only), and the top of the backup is
 * listed through it (/proc/self/fd).
 *
 * Sizes.  Each file's size is fixed when the stream is opened (the
 * manifest's for listed files, fstatat's for the others) and written in
 * its tar header; a file that is no longer a regular file, or whose size
 * differs, shrinks or grows while it is read, ends the stream with
 * CAIRN_EIO naming it.  Every later read returns the same error.
 */
#include "backup/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/backup.h"
#include "backup/files.h"
#include "backup/job.h"
#include "backup/manifest.h"
#include "util/array.h"
#include "util/error.h"
#include "util/fault.h"

#define CHUNK ((size_t)256 << 10)
#define ZSTD_LEVEL "1"
#define TOP_NAME_MAX 128
#define REASON_MAX 512

typedef struct entry {
	char *rel;     /* relative to the backup's directory; "" for the top */
	bool is_dir;
	uint64_t size; /* fixed at open; 0 for directories */
} entry;

struct cairn_backup_archive {
	int dir_fd; /* the backup's directory */
	char top[TOP_NAME_MAX];
	entry *entries;
	size_t entry_count, entry_capacity, next;
	struct archive *writer;
	bool closed; /* the trailer has been written */
	bool discard; /* being closed unread: output is dropped */
	int fd;      /* the file whose data is being fed, or -1 */
	const char *fd_rel;
	uint64_t remaining;
	uint8_t *chunk;
	uint8_t *out;                 /* compressed bytes not yet read */
	size_t out_len, out_pos, out_capacity;
	uint64_t bytes_done, bytes_total;
	int failed;                   /* CAIRN_OK, or the error that ended the stream */
	char reason[REASON_MAX];
};

/* ---- opening files below the backup ---- */

static void fd_path(char out[32], int fd)
{
	snprintf(out, 32, "/proc/self/fd/%d", fd);
}

static int open_error(int err, const char *rel)
{
	if (err == ELOOP)
		return cairn_error_set(CAIRN_EIO, "%s: a symbolic link, not followed", rel[0] ? rel : ".");
	return cairn_error_set_errno(CAIRN_EIO, err, "%s: cannot open", rel[0] ? rel : ".");
}

/* Opens `rel` below `root` one component at a time, never following a
 * link; intermediate components must be directories.  O_NONBLOCK: opening
 * a FIFO planted in the backup must not block (fstat refuses it). */
static int open_beneath(int *out, int root, const char *rel)
{
	int cur = dup(root);
	if (cur < 0)
		return cairn_error_set_errno(CAIRN_EIO, errno, "cannot duplicate a descriptor");
	char part[NAME_MAX + 1];
	for (const char *p = rel; *p != '\0';) {
		size_t len = strcspn(p, "/");
		if (len == 0 || len > NAME_MAX) {
			close(cur);
			return cairn_error_set(CAIRN_EIO, "%s: not a path inside the backup", rel);
		}
		memcpy(part, p, len);
		part[len] = '\0';
		p += len + (p[len] == '/');
		int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (*p != '\0' ? O_DIRECTORY : O_NONBLOCK);
		int next = cairn_fault_openat(cur, part, flags);
		int err = errno;
		close(cur);
		if (next < 0)
			return open_error(err, rel);
		cur = next;
	}
	*out = cur;
	return CAIRN_OK;
}

/* ---- the entry list ---- */

static int add_entry(cairn_backup_archive *a, const char *rel, bool is_dir, uint64_t size)
{
	int rc = cairn_array_reserve(&a->entries, &a->entry_capacity, a->entry_count, sizeof(*a->entries), 64, "archive");
	if (rc != CAIRN_OK)
		return rc;
	entry *e = &a->entries[a->entry_count];
	if ((e->rel = strdup(rel)) == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "archive: out of memory");
	e->is_dir = is_dir;
	e->size = size;
	a->entry_count++;
	a->bytes_total += size;
	return CAIRN_OK;
}

static bool any_under(const cairn_backup_manifest *m, const char *prefix)
{
	for (size_t i = 0; i < m->file_count; i++)
		if (strncmp(m->files[i].path, prefix, strlen(prefix)) == 0)
			return true;
	return false;
}

static int add_data(cairn_backup_archive *a, const cairn_backup_manifest *m)
{
	int rc = add_entry(a, "", true, 0);
	if (rc == CAIRN_OK)
		rc = add_entry(a, "0", true, 0);
	if (rc == CAIRN_OK && any_under(m, "0/rocksDb/"))
		rc = add_entry(a, "0/rocksDb", true, 0);
	if (rc == CAIRN_OK && any_under(m, "0/sqlite/"))
		rc = add_entry(a, "0/sqlite", true, 0);
	for (size_t i = 0; rc == CAIRN_OK && i < m->file_count; i++)
		rc = add_entry(a, m->files[i].path, false, m->files[i].size);
	return rc;
}

static bool is_temporary(const char *name)
{
	return strstr(name, ".tmp.") != NULL; /* cairn_fs_write_atomic's */
}

/* The top's regular files: job records first (sorted), manifest.json,
 * then status. */
static int add_top(cairn_backup_archive *a)
{
	static const char *const last[] = {"manifest.json", "status"};
	char path[32];
	char **names = NULL;
	size_t count = 0;
	fd_path(path, a->dir_fd);
	int rc = cairn_backup__list_files(&names, &count, path);
	for (int pass = 0; rc == CAIRN_OK && pass < 3; pass++) {
		for (size_t i = 0; rc == CAIRN_OK && i < count; i++) {
			bool is_last = strcmp(names[i], last[0]) == 0 || strcmp(names[i], last[1]) == 0;
			if (is_temporary(names[i]) || (pass == 0 ? is_last : strcmp(names[i], last[pass - 1]) != 0))
				continue;
			struct stat st;
			if (fstatat(a->dir_fd, names[i], &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
				rc = cairn_error_set(CAIRN_EIO, "%s: no longer a regular file", names[i]);
			else
				rc = add_entry(a, names[i], false, (uint64_t)st.st_size);
		}
	}
	cairn_backup__free_names(names, count);
	return rc;
}

/* ---- opening ---- */

static int check_top_name(const char *top)
{
	size_t len = strlen(top);
	if (len == 0 || len >= TOP_NAME_MAX || strchr(top, '/') != NULL || strcmp(top, ".") == 0 ||
	    strcmp(top, "..") == 0)
		return cairn_error_set(CAIRN_EINVALID, "'%s' is not a name for the archive's top directory", top);
	return CAIRN_OK;
}

/* Opens <directory>/<id> into a->dir_fd and checks it is complete. */
static int open_backup(cairn_backup_archive *a, const char *directory, const char *id)
{
	if (!cairn_backup_id_is_valid(id))
		return cairn_error_set(CAIRN_ENOTFOUND, "'%s' is not a backup id", id);
	int parent = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (parent < 0)
		return cairn_error_set_errno(errno == ENOENT ? CAIRN_ENOTFOUND : CAIRN_EIO, errno,
			"cannot open the backup directory '%s'", directory);
	/* Only a missing entry is "no backup": an I/O error opening the
	 * directory (or reading its status) is named as one, never a 404. */
	int rc = CAIRN_OK;
	if ((a->dir_fd = cairn_fault_openat(parent, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		rc = errno == ENOENT || errno == ENOTDIR || errno == ELOOP ? CAIRN_ENOTFOUND
			: cairn_error_set_errno(CAIRN_EIO, errno, "cannot open '%s/%s'", directory, id);
	cairn_backup_state state = CAIRN_BACKUP_FAILED;
	if (rc == CAIRN_OK && (rc = cairn_backup__read_status_at(&state, parent, id)) == CAIRN_OK &&
	    state != CAIRN_BACKUP_DONE)
		rc = cairn_error_set(CAIRN_ESTATE, "backup %s is %s, not complete", id, cairn_backup_status_text(state));
	if (rc == CAIRN_ENOTFOUND)
		rc = cairn_error_set(CAIRN_ENOTFOUND, "no backup %s", id);
	close(parent);
	return rc;
}

static int read_manifest(cairn_backup_manifest *m, const cairn_backup_archive *a, const char *id)
{
	int rc = cairn_backup__manifest_read_at(m, a->dir_fd, "manifest.json", "manifest.json");
	if (rc != CAIRN_OK)
		return cairn_error_prefix(CAIRN_ESTATE, "backup %s: manifest.json", id);
	return CAIRN_OK;
}

static la_ssize_t on_write(struct archive *w, void *ctx, const void *data, size_t len)
{
	cairn_backup_archive *a = ctx;
	if (a->discard)
		return (la_ssize_t)len;
	if (a->out_len + len > a->out_capacity) {
		size_t capacity = a->out_capacity * 2 > a->out_len + len ? a->out_capacity * 2 : a->out_len + len;
		uint8_t *grown = realloc(a->out, capacity);
		if (grown == NULL) {
			archive_set_error(w, ENOMEM, "out of memory");
			return -1;
		}
		a->out = grown;
		a->out_capacity = capacity;
	}
	memcpy(a->out + a->out_len, data, len);
	a->out_len += len;
	return (la_ssize_t)len;
}

/* Restricted pax (ustar headers, pax extensions only where a name or size
 * needs them) through zstd at a fast level, on the calling thread: zstd's
 * worker threads would each hold job buffers of several MiB, and one
 * core at level 1 already outruns a network link. */
static int open_writer(cairn_backup_archive *a)
{
	if ((a->writer = archive_write_new()) == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "archive: out of memory");
	if (archive_write_set_format_pax_restricted(a->writer) != ARCHIVE_OK ||
	    archive_write_add_filter_zstd(a->writer) != ARCHIVE_OK ||
	    archive_write_set_filter_option(a->writer, "zstd", "compression-level", ZSTD_LEVEL) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a->writer, 1) != ARCHIVE_OK ||
	    archive_write_open(a->writer, a, NULL, on_write, NULL) != ARCHIVE_OK)
		return cairn_error_set(CAIRN_ERROR, "archive: %s", archive_error_string(a->writer));
	return CAIRN_OK;
}

int cairn_backup_archive_open(cairn_backup_archive **out, const char *directory, const char *id,
	const char *top_name)
{
	int rc = check_top_name(top_name);
	if (rc != CAIRN_OK)
		return rc;
	cairn_backup_archive *a = calloc(1, sizeof(*a));
	if (a == NULL || (a->chunk = malloc(CHUNK)) == NULL) {
		free(a);
		return cairn_error_set(CAIRN_ENOMEM, "archive: out of memory");
	}
	a->dir_fd = a->fd = -1;
	snprintf(a->top, sizeof(a->top), "%s", top_name);
	cairn_backup_manifest m = {0};
	rc = open_backup(a, directory, id);
	if (rc == CAIRN_OK)
		rc = read_manifest(&m, a, id);
	if (rc == CAIRN_OK)
		rc = add_data(a, &m);
	if (rc == CAIRN_OK)
		rc = add_top(a);
	if (rc == CAIRN_OK)
		rc = open_writer(a);
	cairn_backup__manifest_free(&m);
	if (rc != CAIRN_OK) {
		cairn_backup_archive_close(a);
		return rc;
	}
	*out = a;
	return CAIRN_OK;
}

/* ---- streaming ---- */

static int writer_error(cairn_backup_archive *a, const char *what)
{
	return cairn_error_set(CAIRN_EIO, "archive: %s: %s", what, archive_error_string(a->writer));
}

static void end_file(cairn_backup_archive *a)
{
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
}

static int check_kind(const entry *e, const struct stat *st)
{
	const char *rel = e->rel[0] ? e->rel : ".";
	if (e->is_dir != S_ISDIR(st->st_mode) || (!e->is_dir && !S_ISREG(st->st_mode)))
		return cairn_error_set(CAIRN_EIO, "%s: not a %s", rel, e->is_dir ? "directory" : "regular file");
	if (!e->is_dir && (uint64_t)st->st_size != e->size)
		return cairn_error_set(CAIRN_EIO, "%s: %" PRIu64 " bytes, the backup lists %" PRIu64, rel,
			(uint64_t)st->st_size, e->size);
	return CAIRN_OK;
}

static int write_header(cairn_backup_archive *a, const entry *e, const struct stat *st)
{
	char name[TOP_NAME_MAX + PATH_MAX];
	snprintf(name, sizeof(name), "%s%s%s%s", a->top, e->rel[0] ? "/" : "", e->rel, e->is_dir ? "/" : "");
	struct archive_entry *ae = archive_entry_new();
	if (ae == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "archive: out of memory");
	archive_entry_set_pathname(ae, name);
	archive_entry_set_filetype(ae, e->is_dir ? AE_IFDIR : AE_IFREG);
	archive_entry_set_perm(ae, st->st_mode & 0777);
	archive_entry_set_mtime(ae, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
	archive_entry_set_size(ae, (la_int64_t)e->size);
	int rc = archive_write_header(a->writer, ae) == ARCHIVE_OK ? CAIRN_OK : writer_error(a, name);
	archive_entry_free(ae);
	return rc;
}

static int begin_entry(cairn_backup_archive *a, const entry *e)
{
	struct stat st;
	int rc = open_beneath(&a->fd, a->dir_fd, e->rel);
	if (rc == CAIRN_OK && fstat(a->fd, &st) != 0)
		rc = cairn_error_set_errno(CAIRN_EIO, errno, "%s: cannot stat", e->rel);
	if (rc == CAIRN_OK)
		rc = check_kind(e, &st);
	if (rc == CAIRN_OK)
		rc = write_header(a, e, &st);
	a->fd_rel = e->rel;
	a->remaining = e->size;
	if (rc != CAIRN_OK || e->size == 0)
		end_file(a);
	return rc;
}

/* After the listed size: nothing more may follow. */
static int check_end(cairn_backup_archive *a)
{
	char extra;
	ssize_t n = read(a->fd, &extra, 1);
	if (n != 0)
		return cairn_error_set(CAIRN_EIO, "%s: grew while it was archived", a->fd_rel);
	end_file(a);
	return CAIRN_OK;
}

static int feed_chunk(cairn_backup_archive *a)
{
	size_t want = a->remaining < CHUNK ? (size_t)a->remaining : CHUNK;
	ssize_t n = read(a->fd, a->chunk, want);
	if (n < 0 && errno == EINTR)
		return CAIRN_OK;
	if (n < 0)
		return cairn_error_set_errno(CAIRN_EIO, errno, "%s: cannot read", a->fd_rel);
	if (n == 0)
		return cairn_error_set(CAIRN_EIO, "%s: shrank while it was archived", a->fd_rel);
	if (archive_write_data(a->writer, a->chunk, (size_t)n) != n)
		return writer_error(a, a->fd_rel);
	a->remaining -= (uint64_t)n;
	a->bytes_done += (uint64_t)n;
	return a->remaining == 0 ? check_end(a) : CAIRN_OK;
}

/* One step of libarchive's work: a chunk, a header or the trailer. */
static int step(cairn_backup_archive *a)
{
	if (a->fd >= 0)
		return feed_chunk(a);
	if (a->next < a->entry_count)
		return begin_entry(a, &a->entries[a->next++]);
	a->closed = true;
	return archive_write_close(a->writer) == ARCHIVE_OK ? CAIRN_OK : writer_error(a, "closing");
}

static int fail(cairn_backup_archive *a, int rc)
{
	end_file(a);
	a->failed = rc;
	snprintf(a->reason, sizeof(a->reason), "%s", cairn_error_last());
	return rc;
}

int cairn_backup_archive_read(size_t *out_len, cairn_backup_archive *a, char *buf, size_t max)
{
	*out_len = 0;
	if (a->failed != CAIRN_OK)
		return cairn_error_set(a->failed, "%s", a->reason);
	if (max == 0)
		return cairn_error_set(CAIRN_EINVALID, "archive: a read of 0 bytes");
	if (a->out_pos == a->out_len)
		a->out_pos = a->out_len = 0;
	while (a->out_len == 0 && !a->closed) {
		int rc = step(a);
		if (rc != CAIRN_OK)
			return fail(a, rc);
	}
	size_t n = a->out_len - a->out_pos < max ? a->out_len - a->out_pos : max;
	memcpy(buf, a->out + a->out_pos, n);
	a->out_pos += n;
	*out_len = n;
	return CAIRN_OK;
}

uint64_t cairn_backup_archive_bytes_done(const cairn_backup_archive *a)
{
	return a->bytes_done;
}

uint64_t cairn_backup_archive_bytes_total(const cairn_backup_archive *a)
{
	return a->bytes_total;
}

void cairn_backup_archive_close(cairn_backup_archive *a)
{
	if (a == NULL)
		return;
	end_file(a);
	if (a->writer != NULL) {
		/* An abandoned stream is closed into the void: archive_write_fail
		 * would leak the client filter's state and block buffer in
		 * libarchive 3.6.2 (found by LeakSanitizer).  The close pads the
		 * entry in progress with zeros, which zstd swallows at GB/s. */
		a->discard = true;
		if (!a->closed)
			archive_write_close(a->writer);
		archive_write_free(a->writer);
	}
	if (a->dir_fd >= 0)
		close(a->dir_fd);
	for (size_t i = 0; i < a->entry_count; i++)
		free(a->entries[i].rel);
	free(a->entries);
	free(a->chunk);
	free(a->out);
	free(a);
}
