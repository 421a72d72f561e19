/*
 * pactdb_snapshot.c: consistent copies of a live PactDB file for backups
 * (the snapshot part of pactdb.h).
 *
 * snapshot_begin opens a read transaction on a connection of its own while
 * no block is being applied, and reads, from the WAL-index header in shared
 * memory, mxFrame (the last commit frame of the WAL: the snapshot is "the
 * main file + WAL frames 1..mxFrame") and nBackfill (frames already copied
 * into the main file).  snapshot_copy then runs with writers active.
 *
 * Why copying the files is correct (CAIRN_PACTDB_COPY_FILES).  SQLite's WAL
 * protocol (sqlite.org/walformat.html, wal.c) guarantees, while our read
 * transaction lives:
 *
 *   Case nBackfill < mxFrame: the reader holds a read-mark slot 1..N whose
 *   mark is <= mxFrame.  (a) A checkpointer never backfills beyond the
 *   smallest mark held, so it writes into the main file only pages that
 *   occur in WAL frames <= mxFrame, each with a version from those frames,
 *   and it truncates the main file only after backfilling the whole WAL,
 *   i.e. never below the snapshot's size.  (b) A writer restarts the WAL
 *   (rewriting it from frame 1) only with an exclusive lock on every slot
 *   1..N, so frames 1..mxFrame stay intact; new commits append after them.
 *   Therefore every page of the main file that is not in frames 1..mxFrame
 *   is stable, and the pages that are may be torn in our copy.  We copy the
 *   main file (any torn page included), copy the WAL prefix up to frame
 *   mxFrame exactly, open the copy (SQLite recovers its WAL, whose checksum
 *   chain ends at our last frame, a commit frame) and checkpoint it in full:
 *   every page of frames 1..mxFrame is rewritten with its latest version
 *   <= mxFrame, which overwrites all torn pages, and the file is truncated
 *   to the snapshot's size.  The result is exactly the snapshot.
 *
 *   Case nBackfill == mxFrame (WAL empty or fully checkpointed): the reader
 *   takes slot 0 and reads the main file alone.  A checkpointer needs slot 0
 *   exclusively to backfill, so the main file does not change at all; the
 *   WAL may be restarted and is not needed.  We copy the main file only.
 *
 * The WAL-index is read under the handle's mutex: no apply_block is in
 * flight (no frames appended, no WAL restart by a writer or its
 * autocheckpoint) and cairn_pactdb_checkpoint restarts the WAL only under
 * that mutex, so mxFrame cannot move.  A concurrent passive checkpoint can
 * only raise nBackfill towards mxFrame, which never misleads: reading
 * nBackfill < mxFrame means it was below at BEGIN too (slot 1..N); reading
 * them equal while we in fact hold slot 1..N with mark mxFrame means the
 * main file already holds every frame of the snapshot, and no checkpoint
 * can go past our mark, so the main file alone is exact and stable.  The
 * index is read through SQLite's own mapping of the -shm file
 * (xShmMap on the connection's file): opening and closing another
 * descriptor on the -shm file would drop the process's POSIX locks.  The
 * copy reads through the descriptors the handle keeps open for its
 * lifetime, with copy_file_range (in-kernel, reflinks where the file system
 * has them) and a read/write loop where the kernel refuses.  Its header
 * copies must agree and its salt must match the WAL file's header; if
 * anything about the shared memory is unexpected the snapshot falls back to
 * the backup API method.
 *
 * CAIRN_PACTDB_COPY_BACKUP_API copies with sqlite3_backup_step(-1) from the
 * pinned read transaction: correct by SQLite's contract, about half the
 * speed (bench/store).
 *
 * WAL growth: while the snapshot lives, checkpoints stop at mxFrame and
 * the WAL cannot restart, so it grows by what is committed during the copy,
 * and the first checkpoint after snapshot_end folds that backlog.  That
 * checkpoint must not be a block commit's: its autocheckpoint would fold
 * megabytes and fsync twice inside the commit.  So while any snapshot of
 * the handle lives, the committing connection's autocheckpoint is off (it
 * could not pass the snapshot's mark anyway), and the last snapshot_end
 * folds the backlog itself (on the caller's thread: a backup's) before
 * turning it back on.  SQLite's autocheckpoint fires on the WAL's length,
 * not on what is left to fold, and the folded WAL stays long until a
 * writer restarts it, so the autocheckpoint comes back that far above the
 * WAL's length and returns to its level once a checkpoint sees the WAL
 * short (cairn_pactdb__set_valve): at its plain level every commit would
 * checkpoint, with two fsyncs, until the restart.  The background
 * checkpointer skips a file whose backlog is being folded rather than wait
 * for it (one thread serves every chain, and while it waited the other
 * WALs would grow).  Callers keep snapshots short: a backup takes each
 * chain's when that chain's copy starts (backup/job.c).  The copy syncs
 * each chunk it writes (cairn_fs_sync_written: fs.c has the reason and
 * the figures), so the commits' own fsyncs never wait for more than one
 * chunk of it.
 *
 * Output: everything is written to "<dest>.partial" (and its -wal), fsynced,
 * renamed to dest, and the directory fsynced; any failure removes the
 * partial files.
 */
#include "store/pactdb_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/ratelimit.h"

#define WAL_HEADER_LEN 32
#define WAL_FRAME_HEADER_LEN 24
#define WAL_MAGIC 0x377f0682u /* low bit: checksum byte order */
#define WAL_INDEX_VERSION 3007000u
#define WAL_INDEX_REGION 32768

/* The start of the WAL-index (walformat.html): two copies of the 48-byte
 * header, then the checkpoint info whose first field is nBackfill.  Fields
 * are in the host's byte order. */
enum {
	IDX_VERSION = 0,
	IDX_IS_INIT = 12,
	IDX_MX_FRAME = 16,
	IDX_SALT = 32,
	IDX_HEADER_LEN = 48,
	IDX_N_BACKFILL = 96,
	IDX_PREFIX_LEN = 100,
};

struct cairn_pactdb_snapshot {
	cairn_pactdb *db;
	sqlite3 *conn; /* its open read transaction pins the snapshot */
	bool has_block;
	uint64_t height;
	uint8_t hash[CAIRN_PACTDB_HASH_LEN];
	bool files_usable;   /* the WAL-index was read and understood */
	uint32_t wal_frames; /* frames 1..wal_frames belong to the snapshot */
	uint64_t wal_bytes;  /* bytes of the WAL that hold them (0: none needed) */
	cairn_pactdb_copy_watch watch;
};

static uint32_t host_u32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t big_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Copies the first IDX_PREFIX_LEN bytes of the connection's WAL-index. */
static bool read_wal_index(uint8_t *out, sqlite3 *conn)
{
	sqlite3_file *file = NULL;
	if (sqlite3_file_control(conn, "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK
	    || file == NULL || file->pMethods == NULL || file->pMethods->iVersion < 2
	    || file->pMethods->xShmMap == NULL)
		return false;
	void volatile *region = NULL;
	if (file->pMethods->xShmMap(file, 0, WAL_INDEX_REGION, 0, &region) != SQLITE_OK || region == NULL)
		return false;
	const volatile uint8_t *src = region;
	for (size_t i = 0; i < IDX_PREFIX_LEN; i++)
		out[i] = src[i];
	return true;
}

/* Decides which WAL frames the snapshot needs (see the top comment).
 * Returns false when the shared memory or WAL header is not as expected. */
static bool locate_wal_frames(cairn_pactdb_snapshot *snap)
{
	uint8_t idx[IDX_PREFIX_LEN], wal[WAL_HEADER_LEN];
	if (!read_wal_index(idx, snap->conn) || memcmp(idx, idx + IDX_HEADER_LEN, IDX_HEADER_LEN) != 0
	    || host_u32(idx + IDX_VERSION) != WAL_INDEX_VERSION || idx[IDX_IS_INIT] != 1)
		return false;
	uint32_t mx_frame = host_u32(idx + IDX_MX_FRAME);
	uint32_t n_backfill = host_u32(idx + IDX_N_BACKFILL);
	if (n_backfill > mx_frame)
		return false;
	if (n_backfill == mx_frame) {
		snap->wal_frames = 0;
		snap->wal_bytes = 0;
		return true;
	}
	if (pread(snap->db->wal_fd, wal, sizeof(wal), 0) != (ssize_t)sizeof(wal)
	    || (big_u32(wal) & ~1u) != WAL_MAGIC || memcmp(wal + 16, idx + IDX_SALT, 8) != 0)
		return false;
	uint32_t page_size = big_u32(wal + 8);
	snap->wal_frames = mx_frame;
	snap->wal_bytes = WAL_HEADER_LEN + (uint64_t)mx_frame * (WAL_FRAME_HEADER_LEN + page_size);
	return true;
}

/* Opens the read transaction on the handle's idle snapshot connection (or a
 * new one when another snapshot holds it); the transaction starts at its
 * first read, the last block. */
static int pin(cairn_pactdb_snapshot *snap)
{
	cairn_pactdb *db = snap->db;
	snap->conn = db->snapshot_conn;
	db->snapshot_conn = NULL;
	int rc = snap->conn != NULL ? CAIRN_OK : cairn_pactdb__open_aux(&snap->conn, db, true);
	if (rc != CAIRN_OK)
		return rc;
	int step = sqlite3_exec(snap->conn, "BEGIN", NULL, NULL, NULL);
	sqlite3_stmt *s = NULL;
	if (step == SQLITE_OK)
		step = sqlite3_prepare_v2(snap->conn,
			"SELECT blockheight, hash, endingtxid FROM BlockHistory ORDER BY blockheight DESC LIMIT 1",
			-1, &s, NULL);
	if (step != SQLITE_OK)
		return cairn_pactdb__sqlite_error(snap->conn, step, "begin snapshot");
	int found = cairn_pactdb__last_block(&snap->height, snap->hash, NULL, s);
	sqlite3_finalize(s);
	if (found != CAIRN_OK && found != CAIRN_ENOTFOUND)
		return found;
	snap->has_block = found == CAIRN_OK;
	snap->files_usable = locate_wal_frames(snap);
	if (!snap->files_usable)
		cairn_log_warn("pactdb", "'%s': WAL-index not usable, snapshot copies use the backup API", db->path);
	return CAIRN_OK;
}

/* Ends the read transaction and keeps the connection for the next snapshot
 * (or closes it when the handle already has one).  Called under db->lock. */
static void unpin(cairn_pactdb_snapshot *snap)
{
	if (snap->conn == NULL)
		return;
	if (sqlite3_get_autocommit(snap->conn) == 0)
		sqlite3_exec(snap->conn, "COMMIT", NULL, NULL, NULL);
	if (snap->db->snapshot_conn == NULL)
		snap->db->snapshot_conn = snap->conn;
	else
		sqlite3_close(snap->conn);
}

int cairn_pactdb_snapshot_begin(cairn_pactdb_snapshot **out, cairn_pactdb *db)
{
	if (db->read_only)
		return cairn_error_set(CAIRN_EINVALID, "pactdb: '%s' is open read-only", db->path);
	cairn_pactdb_snapshot *snap = calloc(1, sizeof(*snap));
	if (snap == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "pactdb: out of memory");
	snap->db = db;
	pthread_mutex_lock(&db->lock);
	int rc = pin(snap);
	if (rc == CAIRN_OK && db->snapshots++ == 0)
		sqlite3_wal_autocheckpoint(db->conn, 0); /* see "WAL growth" above */
	else if (rc != CAIRN_OK)
		unpin(snap);
	pthread_mutex_unlock(&db->lock);
	if (rc != CAIRN_OK) {
		free(snap);
		return cairn_error_prefix(rc, "snapshot of '%s'", db->path);
	}
	*out = snap;
	return CAIRN_OK;
}

int cairn_pactdb_snapshot_last_block(uint64_t *out_height, uint8_t *out_hash,
	const cairn_pactdb_snapshot *snap)
{
	if (!snap->has_block)
		return cairn_error_set(CAIRN_ENOTFOUND, "pactdb: snapshot has no blocks");
	*out_height = snap->height;
	if (out_hash != NULL)
		memcpy(out_hash, snap->hash, CAIRN_PACTDB_HASH_LEN);
	return CAIRN_OK;
}

uint64_t cairn_pactdb_snapshot_bytes(const cairn_pactdb_snapshot *snap)
{
	struct stat st;
	uint64_t main_bytes = fstat(snap->db->db_fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	return main_bytes + snap->wal_bytes;
}

void cairn_pactdb_snapshot_watch(cairn_pactdb_snapshot *snap, const cairn_pactdb_copy_watch *watch)
{
	snap->watch = *watch;
}

void cairn_pactdb_snapshot_end(cairn_pactdb_snapshot *snap)
{
	if (snap == NULL)
		return;
	cairn_pactdb *db = snap->db;
	pthread_mutex_lock(&db->lock);
	unpin(snap);
	bool last = --db->snapshots == 0;
	pthread_mutex_unlock(&db->lock);
	free(snap);
	if (!last)
		return;
	/* Fold the backlog here, on the caller's thread, before the commits'
	 * autocheckpoint comes back; a failure only leaves it to them. */
	int wal_frames = 0;
	if (cairn_pactdb__checkpoint(db, true, &wal_frames) != CAIRN_OK)
		cairn_log_debug("pactdb", "'%s': checkpoint after a snapshot: %s", db->path, cairn_error_last());
	pthread_mutex_lock(&db->lock);
	if (db->snapshots == 0)
		cairn_pactdb__set_valve(db, wal_frames);
	pthread_mutex_unlock(&db->lock);
}

/* ---- copying ---- */

typedef struct copy_paths {
	char dest[PATH_MAX];
	char partial[PATH_MAX];
	char partial_wal[PATH_MAX];
	char partial_shm[PATH_MAX];
	char partial_journal[PATH_MAX];
	char dest_wal[PATH_MAX];
} copy_paths;

static int suffixed(char *out, const char *base, const char *suffix)
{
	if (snprintf(out, PATH_MAX, "%s%s", base, suffix) >= PATH_MAX)
		return cairn_error_set(CAIRN_EINVALID, "pactdb: destination path too long: '%s'", base);
	return CAIRN_OK;
}

static int make_paths(copy_paths *p, const char *dest)
{
	int rc = suffixed(p->dest, dest, "");
	if (rc == CAIRN_OK)
		rc = suffixed(p->partial, dest, ".partial");
	if (rc == CAIRN_OK)
		rc = suffixed(p->partial_wal, p->partial, "-wal");
	if (rc == CAIRN_OK)
		rc = suffixed(p->partial_shm, p->partial, "-shm");
	if (rc == CAIRN_OK)
		rc = suffixed(p->partial_journal, p->partial, "-journal");
	if (rc == CAIRN_OK)
		rc = suffixed(p->dest_wal, dest, "-wal");
	return rc;
}

static void remove_partial(const copy_paths *p)
{
	unlink(p->partial);
	unlink(p->partial_wal);
	unlink(p->partial_shm);
	unlink(p->partial_journal);
}

#define READ_BUFFER_LEN ((size_t)1 << 20)

/* Copies through `buf` (READ_BUFFER_LEN bytes) from *offset; returns bytes
 * copied (0 at end of file) or -1 with errno set. */
static ssize_t copy_by_reading(int in, int out, off_t *offset, size_t len, uint8_t *buf)
{
	ssize_t n = pread(in, buf, len < READ_BUFFER_LEN ? len : READ_BUFFER_LEN, *offset);
	if (n <= 0)
		return n;
	if (cairn_fs_write_all(out, buf, (size_t)n) != CAIRN_OK) /* errno kept */
		return -1;
	*offset += n;
	return n;
}

/* Copies one chunk from *offset: in the kernel (copy_file_range: no user
 * space copy, reflinks where the file system has them) or, where it
 * refuses, through `*buf` (allocated on first need).  Returns bytes copied,
 * 0 at end of file, -1 with errno set. */
static ssize_t copy_chunk(int in, int out, off_t *offset, size_t want, uint8_t **buf)
{
	for (;;) {
		ssize_t n = *buf == NULL ? cairn_fault_copy_file_range(in, offset, out, NULL, want, 0)
			: copy_by_reading(in, out, offset, want, *buf);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		bool kernel_refused = *buf == NULL && (errno == EXDEV || errno == EINVAL || errno == ENOSYS
			|| errno == EOPNOTSUPP || errno == EPERM);
		if (!kernel_refused || (*buf = malloc(READ_BUFFER_LEN)) == NULL)
			return -1;
	}
}

/* Copies up to `limit` bytes of `in` from offset 0 to `out`, stopping early
 * at end of file; sets *copied. */
static int copy_range(uint64_t *copied, int in, int out, uint64_t limit, const char *what,
	const cairn_pactdb_copy_watch *w)
{
	off_t offset = 0;
	uint8_t *buf = NULL;
	int rc = CAIRN_OK;
	size_t chunk = (size_t)cairn_ratelimit_chunk(w->limit, CAIRN_FS_COPY_CHUNK);
	size_t unsynced = 0;
	*copied = 0;
	while (*copied < limit) {
		if (w->cancel != NULL && atomic_load(w->cancel)) {
			rc = cairn_error_set(CAIRN_ESTATE, "copy %s: cancelled", what);
			break;
		}
		size_t want = limit - *copied < chunk ? (size_t)(limit - *copied) : chunk;
		ssize_t n = copy_chunk(in, out, &offset, want, &buf);
		if (n < 0) {
			rc = cairn_error_set_errno(cairn_error_from_errno(errno), errno, "copy %s", what);
			break;
		}
		if (n == 0)
			break;
		unsynced += (size_t)n;
		if (unsynced >= chunk) {
			if (cairn_fs_sync_written(out) != CAIRN_OK) {
				rc = cairn_error_set_errno(CAIRN_EIO, errno, "fsync %s", what);
				break;
			}
			unsynced = 0;
		}
		*copied += (uint64_t)n;
		if (w->progress != NULL)
			atomic_fetch_add(w->progress, (uint64_t)n);
		cairn_ratelimit_wait(w->limit, (uint64_t)n);
	}
	free(buf);
	return rc;
}

static int create_file(int *fd, const char *path)
{
	*fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (*fd < 0)
		return cairn_error_set_errno(cairn_error_from_errno(errno), errno, "cannot create '%s'", path);
	return CAIRN_OK;
}

/* Copies `limit` bytes (UINT64_MAX: to end of file) of `in` into a new
 * file; a WAL prefix must be there whole. */
static int copy_to_new_file(uint64_t *copied, int in, const char *path, uint64_t limit, bool exact,
	const cairn_pactdb_copy_watch *w)
{
	int out;
	int rc = create_file(&out, path);
	if (rc != CAIRN_OK)
		return rc;
	rc = copy_range(copied, in, out, limit, path, w);
	if (close(out) != 0 && rc == CAIRN_OK)
		rc = cairn_error_set_errno(cairn_error_from_errno(errno), errno, "write '%s'", path);
	if (rc == CAIRN_OK && exact && *copied != limit)
		rc = cairn_error_set(CAIRN_EIO, "WAL shorter (%llu bytes) than the snapshot needs (%llu)",
			(unsigned long long)*copied, (unsigned long long)limit);
	return rc;
}

/* Opens the copy and folds its WAL into the main file.  The first read runs
 * WAL recovery (a checkpoint on a connection that has not read yet does
 * nothing); the FULL checkpoint then reports how many frames recovery
 * accepted: all of them, or the copied WAL's checksum chain broke and the
 * copy is refused.  Closing the only connection deletes the WAL.
 * synchronous=OFF: the result is fsynced once, at the end. */
static int checkpoint_copy(const char *path, const cairn_pactdb_snapshot *snap)
{
	sqlite3 *conn = NULL;
	int rc = sqlite3_open_v2(path, &conn, SQLITE_OPEN_READWRITE, NULL);
	int log = -1, done = -1;
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(conn, "PRAGMA synchronous = OFF; SELECT count(*) FROM sqlite_master",
			NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_wal_checkpoint_v2(conn, "main", SQLITE_CHECKPOINT_FULL, &log, &done);
	int result = rc == SQLITE_OK ? CAIRN_OK : cairn_pactdb__sqlite_error(conn, rc, "checkpoint copy");
	if (result == CAIRN_OK && (log != (int)snap->wal_frames || done != log))
		result = cairn_error_set(CAIRN_EIO, "copy recovered %d of %u WAL frames, checkpointed %d",
			log, snap->wal_frames, done);
	if (sqlite3_close(conn) != SQLITE_OK && result == CAIRN_OK)
		result = cairn_error_set(CAIRN_EIO, "close copy '%s'", path);
	return result;
}

static int copy_files(const cairn_pactdb_snapshot *snap, const copy_paths *p, cairn_pactdb_copy_stats *st)
{
	double t0 = cairn_clock_now();
	int rc = copy_to_new_file(&st->db_bytes, snap->db->db_fd, p->partial, UINT64_MAX, false, &snap->watch);
	if (rc == CAIRN_OK && snap->wal_frames > 0)
		rc = copy_to_new_file(&st->wal_bytes, snap->db->wal_fd, p->partial_wal, snap->wal_bytes, true,
			&snap->watch);
	double t1 = cairn_clock_now();
	st->copy_seconds = t1 - t0;
	if (rc != CAIRN_OK || snap->wal_frames == 0)
		return rc;
	st->wal_frames = snap->wal_frames;
	rc = checkpoint_copy(p->partial, snap);
	st->checkpoint_seconds = cairn_clock_now() - t1;
	return rc;
}

static int copy_backup_api(const cairn_pactdb_snapshot *snap, const copy_paths *p, cairn_pactdb_copy_stats *st)
{
	double t0 = cairn_clock_now();
	int fd;
	int rc = create_file(&fd, p->partial); /* fails cleanly where SQLite would only say "cannot open" */
	if (rc != CAIRN_OK)
		return rc;
	close(fd);
	sqlite3 *dest = NULL;
	int src = sqlite3_open_v2(p->partial, &dest, SQLITE_OPEN_READWRITE, NULL);
	if (src == SQLITE_OK)
		src = sqlite3_exec(dest, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF", NULL, NULL, NULL);
	sqlite3_backup *backup = src == SQLITE_OK ? sqlite3_backup_init(dest, "main", snap->conn, "main") : NULL;
	if (backup != NULL) {
		src = sqlite3_backup_step(backup, -1);
		src = sqlite3_backup_finish(backup) == SQLITE_OK && src == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(dest);
	} else if (src == SQLITE_OK) {
		src = sqlite3_errcode(dest);
	}
	rc = src == SQLITE_OK ? CAIRN_OK : cairn_pactdb__sqlite_error(dest, src, "backup step");
	if (sqlite3_close(dest) != SQLITE_OK && rc == CAIRN_OK)
		rc = cairn_error_set(CAIRN_EIO, "close copy '%s'", p->partial);
	st->copy_seconds = cairn_clock_now() - t0;
	return rc;
}

/* fsyncs the finished copy, moves it under its name, fsyncs the directory. */
static int publish(const copy_paths *p, cairn_pactdb_copy_stats *st)
{
	double t0 = cairn_clock_now();
	struct stat sb;
	int rc = cairn_fs_fsync_path(p->partial);
	if (rc == CAIRN_OK && (cairn_fs_exists(p->partial_wal) || cairn_fs_exists(p->partial_journal)))
		rc = cairn_error_set(CAIRN_EIO, "copy '%s' still has a WAL or journal", p->partial);
	/* SQLite ignores a failed unlink of the -shm index when it closes the
	 * copy: left there, it would sit in the backup unlisted */
	if (rc == CAIRN_OK && unlink(p->partial_shm) != 0 && errno != ENOENT)
		rc = cairn_error_set_errno(CAIRN_EIO, errno, "cannot remove '%s'", p->partial_shm);
	if (rc == CAIRN_OK && stat(p->partial, &sb) == 0)
		st->result_bytes = (uint64_t)sb.st_size;
	if (rc == CAIRN_OK && rename(p->partial, p->dest) != 0)
		rc = cairn_error_set_errno(cairn_error_from_errno(errno), errno, "cannot rename to '%s'", p->dest);
	if (rc == CAIRN_OK)
		rc = cairn_fs_fsync_parent(p->dest);
	st->sync_seconds = cairn_clock_now() - t0;
	return rc;
}

int cairn_pactdb_snapshot_copy(const cairn_pactdb_snapshot *snap, const char *dest_path,
	cairn_pactdb_copy_method method, cairn_pactdb_copy_stats *stats)
{
	cairn_pactdb_copy_stats local;
	cairn_pactdb_copy_stats *st = stats != NULL ? stats : &local;
	memset(st, 0, sizeof(*st));
	copy_paths p;
	int rc = make_paths(&p, dest_path);
	if (rc != CAIRN_OK)
		return rc;
	/* SQLite would apply a WAL found next to the copy, whatever wrote it */
	if (cairn_fs_exists(p.dest) || cairn_fs_exists(p.dest_wal))
		return cairn_error_set(CAIRN_EEXISTS, "pactdb: copy destination '%s' (or its -wal) already exists",
			p.dest);
	remove_partial(&p); /* leftovers of an interrupted copy */
	st->method = method == CAIRN_PACTDB_COPY_FILES && snap->files_usable ? CAIRN_PACTDB_COPY_FILES
		: CAIRN_PACTDB_COPY_BACKUP_API;
	rc = st->method == CAIRN_PACTDB_COPY_FILES ? copy_files(snap, &p, st) : copy_backup_api(snap, &p, st);
	if (rc == CAIRN_OK)
		rc = publish(&p, st);
	if (rc != CAIRN_OK) {
		remove_partial(&p);
		return cairn_error_prefix(rc, "copy '%s' to '%s'", snap->db->path, dest_path);
	}
	return CAIRN_OK;
}
