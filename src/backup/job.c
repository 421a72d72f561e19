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
 *   Pact commit   (with Pact only) after the checkpoint, the commit lock
 *                 is taken and released: the node commits a block to the
 *                 ChainDB and then to PactDB under that lock, so taking it
 *                 once waits out any commit the checkpoint caught
 *                 half-way; the open groups of blocks (pactdb.h) are then
 *                 committed, so every Pact snapshot taken from then on
 *                 holds at least the checkpoint's block of its chain.  A
 *                 backup without Pact never takes the lock.
 *   agreement     each chain's Pact state must hold the cut's block of its
 *                 chain or more on top of it; anything else (behind,
 *                 another block at that height) fails the backup rather
 *                 than record a state that never existed.  Checked on the
 *                 live files here, and again on each snapshot.
 *   rocksdb       every RocksDB file is listed in the manifest.  Files
 *                 RocksDB copied (MANIFEST, CURRENT, OPTIONS, the WAL)
 *                 are hashed.  Table files (*.sst) are hard links to the
 *                 live database's immutable files and are not read: hashing
 *                 them would cost ~0.6 s per GB of CPU and page cache and
 *                 turn a ~20 ms backup into seconds.  RocksDB protects them
 *                 with a checksum in every block and footer, verified on
 *                 every read, and their names are never reused
 *                 (docs/backups.md).
 *   pact          the chains are copied in parallel (at most `parallelism`
 *                 at a time, paced together by backup.rateLimit): each
 *                 chain's snapshot is taken when its copy starts and ended
 *                 as soon as the copy is written (a snapshot holds its
 *                 file's WAL back, see publish_pact), the copy rolled back
 *                 to the cut (cairn_pactdb_rollback_above: exact, Pact state
 *                 is versioned by txid) and checked to end at the cut's
 *                 block; then hashed from the page cache and dropped from
 *                 it.
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
#include <time.h>
#include <unistd.h>

#include "backup/files.h"
#include "backup/manifest.h"
#include "store/chaindb.h"
#include "store/pactdb.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/ratelimit.h"

#define REASON_MAX 1024
#define DISCARD_ATTEMPTS 3 /* removals of a failed job's data before it is left to the operator */
#define FULL_BELOW ((uint64_t)1 << 20) /* free bytes under which a failure names a full file system */

typedef struct pact_chain {
	uint32_t chain;
	cairn_pactdb *db;
	uint64_t expected;           /* bytes announced to the progress before the copy */
	cairn_pactdb_snapshot *snap; /* taken when its copy starts; NULL once ended */
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
	cairn_ratelimit *limit; /* backup.rateLimit, shared by the copies; NULL: none */
	cairn_backup_manifest manifest;
} job_run;

static double ms(double seconds)
{
	return seconds * 1000.0;
}

static int path_join(char *buf, const char *dir, const char *name)
{
	return cairn_backup__job_path(buf, PATH_MAX, dir, name);
}

/* ---- steps ---- */

static int stopped(const job_run *run)
{
	if (atomic_load(&run->job->stop_requested))
		return cairn_error_set(CAIRN_ESTATE, "stopped: requested through the management API");
	if (!atomic_load(run->job->stop))
		return CAIRN_OK;
	return cairn_error_set(CAIRN_ERROR, "stopped: the node is shutting down");
}

static int make_dir(const char *path)
{
	if (cairn_fault_mkdir(path, 0755) != 0)
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

/* Under the commit lock: nothing.  Taking it waits out a commit that the
 * checkpoint caught half-way (in the ChainDB, not yet in PactDB). */
static int note_lock_taken(void *arg)
{
	job_run *run = arg;
	run->manifest.timings.lock_wait = cairn_clock_now() - run->lock_called;
	return CAIRN_OK;
}

/* Makes every block of the checkpoint visible to Pact snapshots: the node
 * writes a block to the ChainDB and then to PactDB under the commit lock,
 * so once the lock has been taken after the checkpoint, PactDB holds every
 * block of it; committing the open groups (pactdb.h) then publishes them.
 * Every snapshot taken from then on holds at least the checkpoint's block
 * of its chain.  Lists the chains with a Pact file and announces their
 * sizes to the progress. */
static int commit_pact_groups(job_run *run)
{
	const cairn_backup_source *src = run->job->source;
	cairn_backup_timings *t = &run->manifest.timings;
	run->lock_called = cairn_clock_now();
	int rc = src->with_commit_lock(src->ctx, note_lock_taken, run);
	t->lock_hold = cairn_clock_now() - run->lock_called - t->lock_wait;
	for (uint32_t c = 0; rc == CAIRN_OK && c < CAIRN_CHAINDB_MAX_CHAINS; c++) {
		cairn_pactdb *db = src->pactdb(src->ctx, c);
		if (db == NULL)
			continue;
		if ((rc = cairn_pactdb_commit(db, 0)) != CAIRN_OK)
			break;
		pact_chain *slot = &run->chains[run->chain_count++];
		slot->chain = c;
		slot->db = db;
		slot->expected = cairn_pactdb_file_bytes(db);
		cairn_backup__job_expect(run->job, slot->expected);
	}
	if (rc == CAIRN_OK && run->chain_count == 0)
		rc = cairn_error_set(CAIRN_ENOTFOUND, "no Pact database is attached");
	return rc;
}

/* With Pact, publishes the checkpoint's blocks in every Pact file
 * (commit_pact_groups); each file's snapshot is taken when its copy starts
 * (copy_chain), so that a snapshot, which holds the file's WAL back (no
 * checkpoint can pass it, the WAL cannot restart), lives only as long as
 * its own copy: snapshots of every chain taken at once lived until the
 * last copy ended, and the WALs they held back made the node's commits
 * slow (bench/backup: longest commit 200-300 ms against 50-90 ms under
 * backup.rateLimit).  A snapshot holding blocks above the cut is rolled
 * back to it after the copy. */
static int publish_pact(job_run *run)
{
	const cairn_backup_timings *t = &run->manifest.timings;
	int rc = CAIRN_OK;
	if (run->job->request.include_pact)
		rc = commit_pact_groups(run);
	char pact[128] = "no Pact, commit lock not taken";
	if (run->job->request.include_pact)
		snprintf(pact, sizeof(pact), "%u Pact files committed after the commit lock: waited %.1f ms for it",
			run->chain_count, ms(t->lock_wait));
	if (rc == CAIRN_OK)
		cairn_log_info("backup", "backup %s: consistency point: checkpoint %.1f ms after a %.1f ms memtable flush, "
			"cut read in %.1f ms; %s", run->job->id, ms(t->checkpoint), ms(t->flush), ms(t->cut), pact);
	if (rc == CAIRN_OK)
		cairn_backup__job_enter(run->job, CAIRN_BACKUP_COPYING, "backup_in_progress");
	return rc;
}

/* A Pact state behind the cut (`state`: where it is); when the handle lost
 * a group of blocks that the chain database holds (a failed commit, maybe
 * this job's own), its failure says why. */
static int behind_cut(const pact_chain *slot, const char *state, uint64_t cut_height)
{
	const char *failure = cairn_pactdb_failure(slot->db);
	return cairn_error_set(CAIRN_EIO, "Pact state of chain %u %s, behind the checkpoint's cut at height %llu%s%s",
		slot->chain, state, (unsigned long long)cut_height, failure != NULL ? ": " : "",
		failure != NULL ? failure : "");
}

/* A chain's Pact state (its snapshot, or the live file before the copy
 * takes one) must hold the cut's block of its chain, or more blocks on top
 * of it (*ahead: the copy is rolled back to the cut). */
static int chain_agrees(bool *ahead, const job_run *run, const pact_chain *slot)
{
	const cairn_chaindb_cut *cut = &run->manifest.cut;
	uint64_t height;
	uint8_t hash[CAIRN_PACTDB_HASH_LEN];
	int found = slot->snap != NULL ? cairn_pactdb_snapshot_last_block(&height, hash, slot->snap)
		: cairn_pactdb_last_block(&height, hash, NULL, slot->db);
	uint32_t c = slot->chain;
	*ahead = false;
	if (found != CAIRN_OK && found != CAIRN_ENOTFOUND)
		return found;
	if (found != CAIRN_OK && !cut->present[c])
		return CAIRN_OK;
	if (found != CAIRN_OK)
		return behind_cut(slot, "has no block", cut->height[c]);
	if (!cut->present[c])
		return cairn_error_set(CAIRN_EIO, "Pact state of chain %u is at height %llu, the checkpoint's cut has "
			"no block of that chain", c, (unsigned long long)height);
	if (height < cut->height[c]) {
		char state[48];
		snprintf(state, sizeof(state), "is at height %llu", (unsigned long long)height);
		return behind_cut(slot, state, cut->height[c]);
	}
	*ahead = height > cut->height[c];
	if (!*ahead && memcmp(hash, cut->hash[c], sizeof(hash)) != 0)
		return cairn_error_set(CAIRN_EIO, "Pact state of chain %u holds another block at height %llu than the "
			"chain database", c, (unsigned long long)height);
	return CAIRN_OK;
}

/* Fails early on a Pact state behind the cut or on another fork; each
 * copy checks its snapshot again. */
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
	if (rc == CAIRN_OK)
		cairn_backup__job_count(run->job, !linked, digest.size);
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

static uint64_t file_size(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct stat st;
	return path_join(path, dir, name) == CAIRN_OK && stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
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
		cairn_backup__job_expect(run->job, file_size(run->checkpoint, names[i]));
	for (size_t i = 0; rc == CAIRN_OK && i < count; i++)
		rc = rocksdb_file(run, names[i]);
	cairn_backup__free_names(names, count);
	if (rc == CAIRN_OK)
		cairn_backup__job_progress(run->job);
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
	/* SQLite ignores a failed unlink of the -shm index at close: removed
	 * here, or the backup would hold a file its manifest does not list */
	if (rc == CAIRN_OK && snprintf(wal, sizeof(wal), "%s-shm", path) < (int)sizeof(wal) && unlink(wal) != 0 &&
	    errno != ENOENT)
		rc = cairn_error_set_errno(CAIRN_EIO, errno, "cannot remove '%s'", wal);
	if (rc == CAIRN_OK)
		rc = cairn_fs_fsync_path(path);
	return rc == CAIRN_OK ? CAIRN_OK : cairn_error_prefix(rc, "roll back '%s' to the cut", path);
}

/* Pins the chain's committed state, which holds at least the cut's block
 * (commit_pact_groups), and announces what it holds beyond the estimate. */
static int take_snapshot(job_run *run, pact_chain *slot)
{
	int rc = cairn_pactdb_snapshot_begin(&slot->snap, slot->db);
	if (rc == CAIRN_OK)
		rc = chain_agrees(&slot->ahead, run, slot);
	if (rc != CAIRN_OK)
		return rc;
	uint64_t bytes = cairn_pactdb_snapshot_bytes(slot->snap);
	if (bytes > slot->expected)
		cairn_backup__job_expect(run->job, bytes - slot->expected);
	cairn_pactdb_copy_watch watch = {&run->job->copying, &run->job->cancel, run->limit};
	cairn_pactdb_snapshot_watch(slot->snap, &watch);
	return CAIRN_OK;
}

static int copy_chain(job_run *run, pact_chain *slot)
{
	char dest[PATH_MAX];
	int rc = stopped(run);
	if (rc == CAIRN_OK)
		rc = cairn_pactdb_path(dest, sizeof(dest), run->root, slot->chain);
	if (rc == CAIRN_OK)
		rc = take_snapshot(run, slot);
	if (rc == CAIRN_OK)
		rc = cairn_pactdb_snapshot_copy(slot->snap, dest, CAIRN_PACTDB_COPY_FILES, &slot->stats);
	atomic_fetch_sub(&run->job->copying, slot->stats.db_bytes + slot->stats.wal_bytes);
	cairn_pactdb_snapshot_end(slot->snap); /* the WAL may be checkpointed again */
	slot->snap = NULL;
	double t0 = cairn_clock_now();
	if (rc == CAIRN_OK && slot->ahead)
		rc = roll_back_copy(run, slot, dest);
	double t1 = cairn_clock_now();
	if (rc == CAIRN_OK)
		rc = cairn_backup__hash_file(&slot->digest, dest, true);
	if (rc == CAIRN_OK) {
		cairn_backup__job_count(run->job, true, slot->digest.size);
		cairn_backup__job_progress(run->job);
	}
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
	int rc = cairn_ratelimit_create(&run->limit, run->job->rate_limit_bps, 0);
	if (rc != CAIRN_OK)
		return rc;
	while (started + 1 < wanted && pthread_create(&helpers[started], NULL, copy_worker, run) == 0)
		started++;
	copy_worker(run); /* this thread copies too */
	for (unsigned i = 0; i < started; i++)
		pthread_join(helpers[i], NULL);
	cairn_ratelimit_free(run->limit);
	run->limit = NULL;
	rc = collect_pact_files(run);
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
	{"Pact commit", publish_pact},
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

/* Ends what the failed job holds and records the failure: STOPPED for a
 * stop requested through the management API, else FAILED. */
static cairn_backup_state fail(job_run *run, const char *reason)
{
	cairn_backup_state state = atomic_load(&run->job->stop_requested) ? CAIRN_BACKUP_STOPPED : CAIRN_BACKUP_FAILED;
	for (uint32_t i = 0; i < run->chain_count; i++) {
		cairn_pactdb_snapshot_end(run->chains[i].snap);
		run->chains[i].snap = NULL;
	}
	if (run->staged)
		cairn_fs_remove_tree(run->checkpoint);
	if (state == CAIRN_BACKUP_STOPPED)
		cairn_log_warn("backup", "backup %s stopped: %s; its data removed", run->job->id, reason);
	else
		cairn_log_error("backup", "backup %s failed: %s", run->job->id, reason);
	if (state == CAIRN_BACKUP_FAILED)
		cairn_backup__job_error(run->job, "backup_failed", "", "io", reason);
	/* A transient error (an EIO, an interrupted call) must not leave the
	 * partial data behind for good: the removal is tried again a few times
	 * before it is given up and logged. */
	int discarded = cairn_backup__discard(run->root);
	for (int attempt = 1; discarded != CAIRN_OK && attempt < DISCARD_ATTEMPTS; attempt++) {
		cairn_log_warn("backup", "backup %s: removing its data: %s; trying again", run->job->id,
			cairn_error_last());
		nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
		discarded = cairn_backup__discard(run->root);
	}
	if (discarded != CAIRN_OK)
		cairn_log_error("backup", "backup %s: removing its data: %s", run->job->id, cairn_error_last());
	if (cairn_backup__mark(run->root, state, reason) != CAIRN_OK)
		cairn_log_error("backup", "backup %s: recording the failure: %s", run->job->id, cairn_error_last());
	return state;
}

cairn_backup_state cairn_backup__job_run(cairn_backup_job *job)
{
	job_run *run = calloc(1, sizeof(*run));
	if (run == NULL || cairn_backup__job_path(run->root, sizeof(run->root), job->directory, job->id) != CAIRN_OK) {
		cairn_log_error("backup", "backup %s failed: out of memory", job->id);
		free(run);
		return CAIRN_BACKUP_FAILED;
	}
	run->job = job;
	atomic_init(&run->next_chain, 0);
	atomic_init(&run->copy_failed, false);
	cairn_backup__job_enter(job, CAIRN_BACKUP_PREPARING, "backup_preparing");
	int rc = run_steps(run);
	cairn_backup_state outcome = CAIRN_BACKUP_DONE;
	if (rc == CAIRN_OK) {
		log_done(run);
		cairn_backup__job_sealed(job, cairn_backup__cut_height(&run->manifest.cut),
			cairn_backup__manifest_bytes(&run->manifest));
	} else {
		char reason[REASON_MAX];
		snprintf(reason, sizeof(reason), "%s", cairn_error_last());
		note_full_file_system(reason, sizeof(reason), run->root);
		outcome = fail(run, reason);
	}
	cairn_backup__manifest_free(&run->manifest);
	free(run);
	return outcome;
}
