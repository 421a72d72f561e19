/*
 * job.c: one backup job, from the consistency point to the status file.
 *
 * One cut for everything.  The RocksDB checkpoint defines the backup's cut;
 * every Pact copy is made to end exactly at it:
 *
 *   flush         cairn_chaindb_flush, so the checkpoint copies a short
 *                 live WAL instead of up to a full 16 MB write buffer, and
 *                 the backup shares table files instead of owning a WAL.
 *   checkpoint    taken WITHOUT the commit lock: it holds whole blocks (one
 *                 atomic batch each) up to some cut, which is read from the
 *                 live ChainDB just before and just after (equal: no block
 *                 came in between, so that is the cut) or else from the
 *                 checkpoint itself, opened read-only.
 *   Pact snapshots (with Pact only) under the commit lock, taken AFTER the
 *                 checkpoint: the node commits a block to the ChainDB and
 *                 then to PactDB under that lock, so taking it once waits
 *                 out any commit the checkpoint caught half-way; the open
 *                 groups of blocks (pactdb.h) are then committed outside
 *                 the lock, and every snapshot taken under it holds at
 *                 least the checkpoint's block of its chain.  The
 *                 lock is held for the snapshots only (0.1-0.3 ms each)
 *                 rather than for a checkpoint too, which costs 3-25 ms
 *                 under load (fsyncs of the files it copies); a backup
 *                 without Pact never takes the lock.
 *   agreement     each snapshot's last block must be the cut's block of its
 *                 chain or above it; anything else (behind, another block
 *                 at that height) fails the backup rather than record a
 *                 state that never existed.
 *   rocksdb       every RocksDB file is listed in the manifest.  Files
 *                 RocksDB copied (MANIFEST, CURRENT, OPTIONS, the WAL)
 *                 are hashed.  Table files (*.sst) are hard links to the
 *                 live database's immutable files and are not read: hashing
 *                 them would cost ~0.6 s per GB of CPU and page cache and
 *                 turn a ~20 ms backup into seconds.  RocksDB protects them
 *                 with a checksum in every block and footer, verified on
 *                 every read, and their names are never reused
 *                 (docs/backups.md).
 *   pact          the snapshots are copied in parallel (at most
 *                 `parallelism` at a time) with cairn_pactdb_snapshot_copy,
 *                 each snapshot ended as soon as its copy is written; a copy
 *                 whose snapshot was ahead of the cut is rolled back to it
 *                 (cairn_pactdb_rollback_above: exact, Pact state is
 *                 versioned by txid) and checked to end at the cut's block;
 *                 then hashed from the page cache and dropped from it.
 *   seal          manifest.json written atomically, then status
 *                 "backup-done" atomically.
 *
 * Durability without redundant fsyncs: RocksDB fsyncs table files when it
 * writes them and the checkpoint fsyncs what it copies and its directory
 * (and its entry in 0/, which also covers 0/sqlite); a Pact copy is fsynced
 * with its directory entry before it is published; the manifest's atomic
 * write fsyncs <root>.  Each fsync here costs 0.3-1 ms, more while RocksDB
 * flushes, and a backup without Pact is meant to take tens of ms.
 *
 * The backup directory on another file system: a checkpoint there would
 * copy every table file inside RocksDB (file deletions disabled all along,
 * nothing hashed).  Instead the checkpoint is taken in the source's staging
 * directory (on the ChainDB's file system, so it is hard links and
 * milliseconds) and its files copied out, hashed as they pass; the staging
 * checkpoint is then removed.  Every RocksDB file of such a backup has a
 * checksum.
 *
 * Failure at any step (or a stop request between steps or chains): every
 * snapshot still open is ended, the staging checkpoint and the partial
 * data are removed, the reason is written to `failure` and the status to
 * backup-failed, and the job ends.  The node is never touched beyond the
 * snapshots taken under its commit lock, so it keeps serving and producing
 * whatever happens here.
 */
#include "backup/job.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "backup/files.h"
#include "backup/manifest.h"
#include "store/chaindb.h"
#include "store/pactdb.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

#define REASON_MAX 1024
#define FULL_BELOW ((uint64_t)1 << 20) /* free bytes under which a failure names a full file system */

typedef struct pact_chain {
	uint32_t chain;
	cairn_pactdb_snapshot *snap; /* NULL once ended */
	cairn_pactdb_copy_stats stats;
	cairn_backup_file_digest digest;
	int rc;
	bool ahead;   /* the snapshot holds blocks above the cut: roll the copy back */
	bool skipped; /* not copied: another chain had failed */
	char error[REASON_MAX];
} pact_chain;

typedef struct job_run {
	cairn_backup_job *job;
	cairn_chaindb *chaindb;
	char root[PATH_MAX];       /* <directory>/<id> */
	char rocks[PATH_MAX];      /* <root>/0/rocksDb */
	char checkpoint[PATH_MAX]; /* where the checkpoint is taken: rocks, or in staging */
	bool staged;
	double lock_called;
	pact_chain chains[CAIRN_CHAINDB_MAX_CHAINS];
	uint32_t chain_count;
	atomic_uint next_chain; /* the next chain a copy worker takes */
	atomic_bool copy_failed;
	cairn_backup_manifest manifest;
} job_run;

static double ms(double seconds)
{
	return seconds * 1000.0;
}

static int path_join(char *buf, const char *dir, const char *name)
{
	if (snprintf(buf, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX)
		return cairn_error_set(CAIRN_EINVALID, "path too long: '%s/%s'", dir, name);
	return CAIRN_OK;
}

int cairn_backup__job_path(char *buf, size_t size, const char *directory, const char *id)
{
	if (snprintf(buf, size, "%s/%s", directory, id) >= (int)size)
		return cairn_error_set(CAIRN_EINVALID, "backup path too long: '%s/%s'", directory, id);
	return CAIRN_OK;
}

/* ---- status files ---- */

const char *cairn_backup_status_text(cairn_backup_state state)
{
	switch (state) {
	case CAIRN_BACKUP_DONE: return "backup-done";
	case CAIRN_BACKUP_FAILED: return "backup-failed";
	default: return "backup-in-progress";
	}
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

/* The value of an all-digit name that fits in 64 bits. */
bool cairn_backup__numeric_id(uint64_t *out, const char *name)
{
	size_t len = strspn(name, "0123456789");
	if (len == 0 || len > 19 || name[len] != '\0')
		return false;
	*out = strtoull(name, NULL, 10);
	return true;
}

/* Reads the status of entry `id` of the backup directory without
 * following links; CAIRN_ENOTFOUND when it is no backup. */
int cairn_backup__read_status_at(cairn_backup_state *out, int dir_fd, const char *id)
{
	int dfd = openat(dir_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return cairn_error_set(CAIRN_ENOTFOUND, "no such backup");
	int fd = openat(dfd, "status", O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	close(dfd);
	if (fd < 0)
		return cairn_error_set(CAIRN_ENOTFOUND, "no such backup");
	char text[64];
	ssize_t n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 0)
		return cairn_error_set(CAIRN_ENOTFOUND, "no such backup");
	text[n] = '\0';
	return cairn_backup__parse_status(out, text);
}

/* Last resort on a full disk: rewrite the existing status file's block. */
static int overwrite_in_place(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return cairn_error_set_errno(CAIRN_EIO, errno, "cannot open '%s'", path);
	size_t len = strlen(text);
	bool ok = pwrite(fd, text, len, 0) == (ssize_t)len && ftruncate(fd, (off_t)len) == 0 && fsync(fd) == 0;
	int err = errno;
	close(fd);
	return ok ? CAIRN_OK : cairn_error_set_errno(CAIRN_EIO, err, "cannot rewrite '%s'", path);
}

int cairn_backup__mark(const char *root, cairn_backup_state state, const char *reason)
{
	char path[PATH_MAX], text[REASON_MAX + 2];
	int rc = CAIRN_OK;
	if (state == CAIRN_BACKUP_FAILED) {
		snprintf(text, sizeof(text), "%s\n", reason);
		rc = path_join(path, root, "failure");
		if (rc == CAIRN_OK)
			rc = cairn_fs_write_atomic(path, text, strlen(text));
	}
	snprintf(text, sizeof(text), "%s\n", cairn_backup_status_text(state));
	int status_rc = path_join(path, root, "status");
	if (status_rc == CAIRN_OK)
		status_rc = cairn_fs_write_atomic(path, text, strlen(text));
	if (status_rc != CAIRN_OK && state == CAIRN_BACKUP_FAILED)
		status_rc = overwrite_in_place(path, text);
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
		if (strcmp(names[i], "status") == 0 || strcmp(names[i], "failure") == 0)
			continue;
		rc = path_join(path, root, names[i]);
		if (rc == CAIRN_OK && unlink(path) != 0 && errno != ENOENT)
			rc = cairn_error_set_errno(CAIRN_EIO, errno, "cannot remove '%s'", path);
	}
	cairn_backup__free_names(names, count);
	return rc == CAIRN_OK ? cairn_fs_fsync_path(root) : rc;
}

/* ---- steps ---- */

static int stopped(const job_run *run)
{
	if (!atomic_load(run->job->stop))
		return CAIRN_OK;
	return cairn_error_set(CAIRN_ERROR, "stopped: the node is shutting down");
}

static int make_dir(const char *path)
{
	if (mkdir(path, 0755) != 0)
		return cairn_error_set_errno(cairn_error_from_errno(errno), errno, "cannot create directory '%s'", path);
	return CAIRN_OK;
}

static int device_of(dev_t *out, const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return cairn_error_set_errno(cairn_error_from_errno(errno), errno, "cannot stat '%s'", path);
	*out = st.st_dev;
	return CAIRN_OK;
}

/* Checkpoints go into the staging directory when the backup directory is
 * on another file system than the staging directory's parent, which the
 * node places next to its ChainDB. */
static int choose_checkpoint_dir(job_run *run)
{
	const char *staging = run->job->source->staging_directory;
	char parent[PATH_MAX];
	snprintf(parent, sizeof(parent), "%s", staging);
	char *slash = strrchr(parent, '/');
	if (slash != NULL)
		*slash = '\0';
	dev_t backup_dev = 0, store_dev = 0;
	int rc = device_of(&backup_dev, run->job->directory);
	if (rc == CAIRN_OK)
		rc = device_of(&store_dev, slash == NULL ? "." : parent);
	if (rc != CAIRN_OK)
		return rc;
	run->staged = backup_dev != store_dev;
	if (!run->staged) {
		memcpy(run->checkpoint, run->rocks, sizeof(run->checkpoint));
		return CAIRN_OK;
	}
	rc = cairn_fs_mkdir_p(staging);
	if (rc == CAIRN_OK)
		rc = path_join(run->checkpoint, staging, run->job->id);
	return rc == CAIRN_OK ? cairn_fs_remove_tree(run->checkpoint) : rc;
}

static int prepare(job_run *run)
{
	const cairn_backup_job *job = run->job;
	run->chaindb = job->source->chaindb(job->source->ctx);
	if (run->chaindb == NULL)
		return cairn_error_set(CAIRN_ENOTFOUND, "no chain database is attached");
	char data[PATH_MAX], sqlite[PATH_MAX];
	int rc = cairn_chaindb_path(run->rocks, sizeof(run->rocks), run->root);
	if (rc == CAIRN_OK)
		rc = path_join(data, run->root, "0");
	if (rc == CAIRN_OK)
		rc = make_dir(data);
	if (rc == CAIRN_OK && job->request.include_pact && (rc = path_join(sqlite, data, "sqlite")) == CAIRN_OK)
		rc = make_dir(sqlite);
	if (rc == CAIRN_OK)
		rc = choose_checkpoint_dir(run);
	cairn_backup_manifest *m = &run->manifest;
	m->id = job->id;
	m->chainweb_version = cairn_chaindb_version(run->chaindb);
	m->pact_included = job->request.include_pact;
	m->parallelism = job->parallelism;
	return rc;
}

static int flush_memtable(job_run *run)
{
	double t0 = cairn_clock_now();
	int rc = cairn_chaindb_flush(run->chaindb);
	run->manifest.timings.flush = cairn_clock_now() - t0;
	return rc;
}

/* The checkpoint's exact cut.  The live cut read just before and just
 * after it: when they are equal no block was written in between (a block
 * always raises its chain's height), so that is the checkpoint's cut too;
 * otherwise the checkpoint is opened read-only and asked. */
static int read_checkpoint_cut(job_run *run, const cairn_chaindb_cut *before, const cairn_chaindb_cut *after)
{
	if (memcmp(before, after, sizeof(*before)) == 0) {
		run->manifest.cut = *before;
		return CAIRN_OK;
	}
	cairn_chaindb_options opts = CAIRN_CHAINDB_OPTIONS_INIT;
	opts.create_if_missing = false;
	opts.read_only = true;
	opts.block_cache_bytes = (size_t)1 << 20;
	cairn_chaindb *db = NULL;
	int rc = cairn_chaindb_open(&db, run->checkpoint, &opts);
	if (rc == CAIRN_OK)
		rc = cairn_chaindb_get_cut(&run->manifest.cut, db);
	cairn_chaindb_close(db);
	return rc == CAIRN_OK ? CAIRN_OK : cairn_error_prefix(rc, "read the checkpoint's cut");
}

static int take_checkpoint(job_run *run)
{
	cairn_backup_timings *t = &run->manifest.timings;
	cairn_chaindb_cut before, after;
	double t0 = cairn_clock_now();
	int rc = cairn_chaindb_get_cut(&before, run->chaindb);
	if (rc == CAIRN_OK)
		rc = cairn_chaindb_checkpoint(run->chaindb, run->checkpoint);
	double t1 = cairn_clock_now();
	if (rc == CAIRN_OK)
		rc = cairn_chaindb_get_cut(&after, run->chaindb);
	if (rc == CAIRN_OK)
		rc = read_checkpoint_cut(run, &before, &after);
	t->checkpoint = t1 - t0;
	t->cut = cairn_clock_now() - t1;
	return rc;
}

/* Under the commit lock: a snapshot of every chain that has a Pact file. */
static int begin_snapshots(void *arg)
{
	job_run *run = arg;
	const cairn_backup_source *src = run->job->source;
	double t0 = cairn_clock_now();
	int rc = CAIRN_OK;
	for (uint32_t c = 0; rc == CAIRN_OK && c < CAIRN_CHAINDB_MAX_CHAINS; c++) {
		cairn_pactdb *db = src->pactdb(src->ctx, c);
		if (db == NULL)
			continue;
		pact_chain *slot = &run->chains[run->chain_count];
		slot->chain = c;
		rc = cairn_pactdb_snapshot_begin(&slot->snap, db);
		if (rc == CAIRN_OK)
			run->chain_count++;
		else
			cairn_error_prefix(rc, "chain %u", c);
	}
	run->manifest.timings.lock_wait = t0 - run->lock_called;
	run->manifest.timings.lock_hold = cairn_clock_now() - t0;
	if (rc == CAIRN_OK && run->chain_count == 0)
		rc = cairn_error_set(CAIRN_ENOTFOUND, "no Pact database is attached");
	return rc;
}

static int no_op(void *arg)
{
	(void)arg;
	return CAIRN_OK;
}

/* Makes every block of the checkpoint visible to Pact snapshots.  The node
 * writes a block to the ChainDB and then to PactDB under the commit lock,
 * so once the lock has been taken after the checkpoint, PactDB holds every
 * block of it; committing the open groups (pactdb.h) then publishes them.
 * Done outside the lock: only the cheap pinning of snapshots runs in it. */
static int commit_pact_groups(job_run *run)
{
	const cairn_backup_source *src = run->job->source;
	int rc = src->with_commit_lock(src->ctx, no_op, NULL);
	for (uint32_t c = 0; rc == CAIRN_OK && c < CAIRN_CHAINDB_MAX_CHAINS; c++) {
		cairn_pactdb *db = src->pactdb(src->ctx, c);
		if (db != NULL)
			rc = cairn_pactdb_commit(db, 0);
	}
	return rc;
}

/* Pins the committed Pact state of every chain under the commit lock, after
 * commit_pact_groups: so every snapshot holds at least the checkpoint's
 * block of its chain (and perhaps a few more, which the copy rolls back). */
static int pin_pact(job_run *run)
{
	const cairn_backup_source *src = run->job->source;
	const cairn_backup_timings *t = &run->manifest.timings;
	int rc = CAIRN_OK;
	if (run->job->request.include_pact && (rc = commit_pact_groups(run)) == CAIRN_OK) {
		run->lock_called = cairn_clock_now();
		rc = src->with_commit_lock(src->ctx, begin_snapshots, run);
	}
	char snapshots[128] = "no Pact snapshots, commit lock not taken";
	if (run->job->request.include_pact)
		snprintf(snapshots, sizeof(snapshots), "%u Pact snapshots under the commit lock: held %.1f ms, waited %.1f ms",
			run->chain_count, ms(t->lock_hold), ms(t->lock_wait));
	if (rc == CAIRN_OK)
		cairn_log_info("backup", "backup %s: consistency point: checkpoint %.1f ms after a %.1f ms memtable flush, "
			"cut read in %.1f ms; %s", run->job->id, ms(t->checkpoint), ms(t->flush), ms(t->cut), snapshots);
	atomic_store(&run->job->state, CAIRN_BACKUP_COPYING);
	return rc;
}

/* A snapshot must hold the cut's block of its chain, or more blocks on top
 * of it (*ahead: the copy is rolled back to the cut). */
static int chain_agrees(bool *ahead, const job_run *run, const pact_chain *slot)
{
	const cairn_chaindb_cut *cut = &run->manifest.cut;
	uint64_t height;
	uint8_t hash[CAIRN_PACTDB_HASH_LEN];
	int found = cairn_pactdb_snapshot_last_block(&height, hash, slot->snap);
	uint32_t c = slot->chain;
	*ahead = false;
	if (found != CAIRN_OK && !cut->present[c])
		return CAIRN_OK;
	if (found != CAIRN_OK)
		return cairn_error_set(CAIRN_EIO, "Pact state of chain %u has no block, the checkpoint's cut is at "
			"height %llu", c, (unsigned long long)cut->height[c]);
	if (!cut->present[c])
		return cairn_error_set(CAIRN_EIO, "Pact state of chain %u is at height %llu, the checkpoint's cut has "
			"no block of that chain", c, (unsigned long long)height);
	if (height < cut->height[c])
		return cairn_error_set(CAIRN_EIO, "Pact state of chain %u is at height %llu, behind the checkpoint's "
			"cut at height %llu", c, (unsigned long long)height, (unsigned long long)cut->height[c]);
	*ahead = height > cut->height[c];
	if (!*ahead && memcmp(hash, cut->hash[c], sizeof(hash)) != 0)
		return cairn_error_set(CAIRN_EIO, "Pact state of chain %u holds another block at height %llu than the "
			"chain database", c, (unsigned long long)height);
	return CAIRN_OK;
}

static int check_agreement(job_run *run)
{
	int rc = CAIRN_OK;
	for (uint32_t i = 0; rc == CAIRN_OK && i < run->chain_count; i++)
		rc = chain_agrees(&run->chains[i].ahead, run, &run->chains[i]);
	return rc;
}

static bool is_table_file(const char *name)
{
	size_t len = strlen(name);
	return len > 4 && strcmp(name + len - 4, ".sst") == 0;
}

/* "rocksdb_version=7.8.3" from an OPTIONS file RocksDB wrote. */
static void read_rocksdb_version(cairn_backup_manifest *m, const char *options_path)
{
	char *text;
	if (cairn_fs_read_file(&text, NULL, options_path) != CAIRN_OK)
		return;
	const char *key = strstr(text, "rocksdb_version=");
	if (key != NULL) {
		key += strlen("rocksdb_version=");
		snprintf(m->rocksdb_version, sizeof(m->rocksdb_version), "%.*s", (int)strcspn(key, "\r\n"), key);
	}
	free(text);
}

/* One RocksDB file into the manifest.  Durability: a table file linked
 * from the live database was fsynced by RocksDB when it was written, and
 * the checkpoint fsynced the files it copied and its directory, so only
 * files copied out of a staging checkpoint are fsynced here. */
static int rocksdb_file(job_run *run, const char *name)
{
	char src[PATH_MAX], dst[PATH_MAX], rel[PATH_MAX];
	int rc = path_join(src, run->checkpoint, name);
	if (rc == CAIRN_OK)
		rc = path_join(dst, run->rocks, name);
	if (rc == CAIRN_OK)
		rc = path_join(rel, "0/rocksDb", name);
	if (rc != CAIRN_OK)
		return rc;
	cairn_backup_file_digest digest;
	bool linked = !run->staged && is_table_file(name);
	if (run->staged) {
		rc = cairn_backup__copy_file(&digest, src, dst, CAIRN_BACKUP__COPY_SYNC | CAIRN_BACKUP__COPY_HASH);
	} else if (linked) {
		struct stat st;
		rc = stat(dst, &st) == 0 ? CAIRN_OK : cairn_error_set_errno(CAIRN_EIO, errno, "cannot stat '%s'", dst);
		digest.size = rc == CAIRN_OK ? (uint64_t)st.st_size : 0;
	} else {
		rc = cairn_backup__hash_file(&digest, dst, true);
	}
	if (rc == CAIRN_OK && strncmp(name, "OPTIONS-", 8) == 0)
		read_rocksdb_version(&run->manifest, dst);
	return rc == CAIRN_OK ? cairn_backup__manifest_add(&run->manifest, rel, digest.size,
		linked ? NULL : digest.sha256, linked) : rc;
}

/* A staged checkpoint is copied out into 0/rocksDb, which this job
 * created: it and its entry in 0/ are fsynced here. */
static int sync_copied_out(const job_run *run)
{
	char data[PATH_MAX];
	int rc = cairn_fs_fsync_path(run->rocks);
	if (rc == CAIRN_OK)
		rc = path_join(data, run->root, "0");
	return rc == CAIRN_OK ? cairn_fs_fsync_path(data) : rc;
}

static int rocksdb_files(job_run *run)
{
	double t0 = cairn_clock_now();
	char **names = NULL;
	size_t count = 0;
	int rc = run->staged ? make_dir(run->rocks) : CAIRN_OK;
	if (rc == CAIRN_OK)
		rc = cairn_backup__list_files(&names, &count, run->checkpoint);
	for (size_t i = 0; rc == CAIRN_OK && i < count; i++)
		rc = rocksdb_file(run, names[i]);
	cairn_backup__free_names(names, count);
	if (rc == CAIRN_OK && run->staged)
		rc = cairn_fs_remove_tree(run->checkpoint);
	if (rc == CAIRN_OK && run->staged)
		rc = sync_copied_out(run);
	run->manifest.timings.rocksdb_files = cairn_clock_now() - t0;
	return rc;
}

/* ---- Pact copies ---- */

/* Rolls a copy whose snapshot was ahead back to the cut's block of its
 * chain, checks that it ends there, and fsyncs it (closing the handle
 * folds the WAL into the file and removes it). */
static int roll_back_copy(const job_run *run, const pact_chain *slot, const char *path)
{
	const cairn_chaindb_cut *cut = &run->manifest.cut;
	cairn_pactdb_options opts = CAIRN_PACTDB_OPTIONS_INIT;
	opts.create_if_missing = false;
	cairn_pactdb *db = NULL;
	uint64_t height = 0;
	uint8_t hash[CAIRN_PACTDB_HASH_LEN];
	char wal[PATH_MAX];
	int rc = cairn_pactdb_open(&db, path, &opts);
	if (rc == CAIRN_OK)
		rc = cairn_pactdb_rollback_above(db, cut->height[slot->chain]);
	if (rc == CAIRN_OK)
		rc = cairn_pactdb_last_block(&height, hash, NULL, db);
	cairn_pactdb_close(db);
	if (rc == CAIRN_OK && (height != cut->height[slot->chain] || memcmp(hash, cut->hash[slot->chain], sizeof(hash)) != 0))
		rc = cairn_error_set(CAIRN_EIO, "the copy ends at height %llu, not at the cut's block, after the roll-back",
			(unsigned long long)height);
	if (rc == CAIRN_OK && snprintf(wal, sizeof(wal), "%s-wal", path) < (int)sizeof(wal) && cairn_fs_exists(wal))
		rc = cairn_error_set(CAIRN_EIO, "the rolled-back copy still has a WAL");
	if (rc == CAIRN_OK)
		rc = cairn_fs_fsync_path(path);
	return rc == CAIRN_OK ? CAIRN_OK : cairn_error_prefix(rc, "roll back to the cut");
}

static int copy_chain(job_run *run, pact_chain *slot)
{
	char dest[PATH_MAX];
	int rc = stopped(run);
	if (rc == CAIRN_OK)
		rc = cairn_pactdb_path(dest, sizeof(dest), run->root, slot->chain);
	if (rc == CAIRN_OK)
		rc = cairn_pactdb_snapshot_copy(slot->snap, dest, CAIRN_PACTDB_COPY_FILES, &slot->stats);
	cairn_pactdb_snapshot_end(slot->snap); /* the WAL may be checkpointed again */
	slot->snap = NULL;
	double t0 = cairn_clock_now();
	if (rc == CAIRN_OK && slot->ahead)
		rc = roll_back_copy(run, slot, dest);
	double t1 = cairn_clock_now();
	if (rc == CAIRN_OK)
		rc = cairn_backup__hash_file(&slot->digest, dest, true);
	const cairn_pactdb_copy_stats *st = &slot->stats;
	char rolled_back[64] = "";
	if (slot->ahead)
		snprintf(rolled_back, sizeof(rolled_back), "rolled back to the cut in %.0f ms, ", ms(t1 - t0));
	if (rc == CAIRN_OK)
		cairn_log_debug("backup", "backup %s: chain %u: %.1f MB copied in %.0f ms (%llu WAL frames folded in "
			"%.0f ms, fsync %.0f ms), %sSHA-256 in %.0f ms", run->job->id, slot->chain,
			(double)st->result_bytes / 1e6, ms(st->copy_seconds), (unsigned long long)st->wal_frames,
			ms(st->checkpoint_seconds), ms(st->sync_seconds), rolled_back, ms(cairn_clock_now() - t1));
	return rc;
}

static void *copy_worker(void *arg)
{
	job_run *run = arg;
	for (;;) {
		unsigned i = atomic_fetch_add(&run->next_chain, 1);
		if (i >= run->chain_count)
			return NULL;
		pact_chain *slot = &run->chains[i];
		if (atomic_load(&run->copy_failed)) { /* the job fails anyway */
			cairn_pactdb_snapshot_end(slot->snap);
			slot->snap = NULL;
			slot->skipped = true;
			continue;
		}
		slot->rc = copy_chain(run, slot);
		if (slot->rc != CAIRN_OK) {
			snprintf(slot->error, sizeof(slot->error), "chain %u: %s", slot->chain, cairn_error_last());
			atomic_store(&run->copy_failed, true);
		}
	}
}

/* The first failure (in chain order) becomes the job's error; a skipped
 * chain has rc CAIRN_OK but no file, and only follows a failure. */
static int collect_pact_files(job_run *run)
{
	for (uint32_t i = 0; i < run->chain_count; i++) {
		if (run->chains[i].rc != CAIRN_OK)
			return cairn_error_set(run->chains[i].rc, "%s", run->chains[i].error);
	}
	for (uint32_t i = 0; i < run->chain_count; i++) {
		const pact_chain *slot = &run->chains[i];
		char rel[64];
		snprintf(rel, sizeof(rel), "0/sqlite/pact-v1-chain-%u.sqlite", slot->chain);
		int rc = cairn_backup__manifest_add(&run->manifest, rel, slot->digest.size, slot->digest.sha256, false);
		if (rc != CAIRN_OK)
			return rc;
	}
	return CAIRN_OK;
}

static int copy_pact(job_run *run)
{
	if (!run->job->request.include_pact)
		return CAIRN_OK;
	double t0 = cairn_clock_now();
	pthread_t helpers[CAIRN_CHAINDB_MAX_CHAINS];
	unsigned wanted = (unsigned)run->job->parallelism < run->chain_count
		? (unsigned)run->job->parallelism : run->chain_count;
	unsigned started = 0;
	while (started + 1 < wanted && pthread_create(&helpers[started], NULL, copy_worker, run) == 0)
		started++;
	copy_worker(run); /* this thread copies too */
	for (unsigned i = 0; i < started; i++)
		pthread_join(helpers[i], NULL);
	int rc = collect_pact_files(run);
	run->manifest.timings.pact_copy = cairn_clock_now() - t0;
	return rc;
}

/* ---- sealing ---- */

/* Every file and directory below <root>/0 is durable by now (see the
 * steps); the manifest's atomic write fsyncs <root>, which makes the
 * entry "0" durable too, before the status names the backup done. */
static int seal(job_run *run)
{
	char manifest[PATH_MAX];
	run->manifest.timings.total = cairn_clock_now() - run->job->started_at;
	int rc = path_join(manifest, run->root, "manifest.json");
	if (rc == CAIRN_OK)
		rc = cairn_backup__manifest_write(&run->manifest, manifest);
	if (rc == CAIRN_OK)
		rc = cairn_backup__mark(run->root, CAIRN_BACKUP_DONE, NULL);
	return rc;
}

/* ---- the job ---- */

typedef int (*job_step)(job_run *run);

static const struct {
	const char *name;
	job_step run;
} steps[] = {
	{"prepare", prepare},
	{"flush", flush_memtable},
	{"checkpoint", take_checkpoint},
	{"Pact snapshots", pin_pact},
	{"agreement", check_agreement},
	{"rocksdb files", rocksdb_files},
	{"pact files", copy_pact},
	{"seal", seal},
};

static int run_steps(job_run *run)
{
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		int rc = stopped(run);
		if (rc != CAIRN_OK)
			return rc;
		rc = steps[i].run(run);
		if (rc != CAIRN_OK)
			return cairn_error_prefix(rc, "%s", steps[i].name);
	}
	return CAIRN_OK;
}

static void log_done(const job_run *run)
{
	const cairn_backup_manifest *m = &run->manifest;
	uint64_t total = 0, linked = 0;
	for (size_t i = 0; i < m->file_count; i++) {
		total += m->files[i].size;
		linked += m->files[i].linked ? m->files[i].size : 0;
	}
	cairn_log_info("backup", "backup %s done in %.1f ms%s: %zu files, %.1f MB (%.1f MB written, %.1f MB linked)%s",
		run->job->id, ms(m->timings.total), m->pact_included ? " with Pact" : "", m->file_count,
		(double)total / 1e6, (double)(total - linked) / 1e6, (double)linked / 1e6,
		run->staged ? ", copied from a staging checkpoint" : "");
}

/* Names a full backup file system in the reason: SQLite reports a full
 * disk as "database or disk is full" or even "disk I/O error". */
static void note_full_file_system(char *reason, size_t size, const char *root)
{
	struct statvfs fs;
	size_t len = strlen(reason);
	if (statvfs(root, &fs) == 0 && (uint64_t)fs.f_bavail * fs.f_frsize < FULL_BELOW && len < size)
		snprintf(reason + len, size - len, " (the backup file system is full: %llu KB free)",
			(unsigned long long)((uint64_t)fs.f_bavail * fs.f_frsize / 1024));
}

/* Ends what the failed job holds and records the failure. */
static void fail(job_run *run, const char *reason)
{
	for (uint32_t i = 0; i < run->chain_count; i++) {
		cairn_pactdb_snapshot_end(run->chains[i].snap);
		run->chains[i].snap = NULL;
	}
	if (run->staged)
		cairn_fs_remove_tree(run->checkpoint);
	cairn_log_error("backup", "backup %s failed: %s", run->job->id, reason);
	if (cairn_backup__discard(run->root) != CAIRN_OK)
		cairn_log_error("backup", "backup %s: removing its data: %s", run->job->id, cairn_error_last());
	if (cairn_backup__mark(run->root, CAIRN_BACKUP_FAILED, reason) != CAIRN_OK)
		cairn_log_error("backup", "backup %s: recording the failure: %s", run->job->id, cairn_error_last());
}

void cairn_backup__job_run(cairn_backup_job *job)
{
	job_run *run = calloc(1, sizeof(*run));
	if (run == NULL || cairn_backup__job_path(run->root, sizeof(run->root), job->directory, job->id) != CAIRN_OK) {
		cairn_log_error("backup", "backup %s failed: out of memory", job->id);
		free(run);
		atomic_store(&job->state, CAIRN_BACKUP_FAILED);
		return;
	}
	run->job = job;
	atomic_init(&run->next_chain, 0);
	atomic_init(&run->copy_failed, false);
	int rc = run_steps(run);
	if (rc == CAIRN_OK) {
		log_done(run);
	} else {
		char reason[REASON_MAX];
		snprintf(reason, sizeof(reason), "%s", cairn_error_last());
		note_full_file_system(reason, sizeof(reason), run->root);
		fail(run, reason);
	}
	atomic_store(&job->state, rc == CAIRN_OK ? CAIRN_BACKUP_DONE : CAIRN_BACKUP_FAILED);
	cairn_backup__manifest_free(&run->manifest);
	free(run);
}
