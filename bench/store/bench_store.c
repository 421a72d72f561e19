/*
 * bench_store: throughput of the stores and of their backup primitives,
 * each against a reference measured in the same run.
 *
 *   bench_store <work-dir> [pact-MB] [chain-MB] [rounds]
 *
 * PactDB: apply_block rate (10 writes per block, synchronous NORMAL and
 * FULL); then, on a file of pact-MB with a writer committing 1,000 blocks
 * per second in another thread, the copy rate of snapshot_copy (files and
 * backup API) against `cp` + `sync` of the same file and `sqlite3 VACUUM
 * INTO` + `sync`, the commit lock hold of snapshot_begin, and the longest
 * writer commit before, during and after each copy.  The lock hold for 20
 * chains is measured on 20 files.
 * ChainDB: put_block rate with and without a WAL fsync per block, then the
 * checkpoint time of a chain-MB database against `cp -r` + `sync`.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/chaindb.h"
#include "store/pactdb.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

#include "../bench_shell.h"

#define WRITES_PER_BLOCK 10
#define ROW_BYTES 400
#define ACCOUNTS 1000000u
#define MAX_COMMITS (1u << 24)
#define WRITER_RATE 1000.0

static void die(const char *what)
{
	fprintf(stderr, "bench_store: %s: %s\n", what, cairn_error_last());
	exit(1);
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb3f98ad6a5a3ULL;
	return x ^ (x >> 33);
}

static void fake_hash(uint8_t *out, uint64_t a, uint64_t b)
{
	for (int i = 0; i < 4; i++) {
		uint64_t v = mix(a * 4 + (uint64_t)i + mix(b));
		memcpy(out + 8 * i, &v, 8);
	}
}

static uint64_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* ---- PactDB ---- */

/* Block h writes 10 accounts picked at random among ACCOUNTS, one
 * transaction per two writes, rows of about ROW_BYTES of JSON. */
static int apply_pact_block(cairn_pactdb *db, uint64_t h)
{
	char keys[WRITES_PER_BLOCK][24], rows[WRITES_PER_BLOCK][ROW_BYTES];
	uint8_t hash[32], tx_hashes[WRITES_PER_BLOCK / 2][32];
	cairn_pactdb_write writes[WRITES_PER_BLOCK];
	cairn_pactdb_tx txs[WRITES_PER_BLOCK / 2];
	for (int i = 0; i < WRITES_PER_BLOCK; i++) {
		uint64_t r = mix(h * WRITES_PER_BLOCK + (uint64_t)i);
		snprintf(keys[i], sizeof(keys[i]), "k:%06" PRIu64, r % ACCOUNTS);
		int n = snprintf(rows[i], sizeof(rows[i]),
			"{\"balance\":%" PRIu64 ".%02d,\"guard\":{\"pred\":\"keys-all\",\"keys\":[\"%016" PRIx64 "\"]},\"pad\":\"",
			r % 100000, i, r);
		memset(rows[i] + n, 'x', sizeof(rows[i]) - (size_t)n - 3);
		memcpy(rows[i] + sizeof(rows[i]) - 3, "\"}", 3);
		writes[i] = (cairn_pactdb_write){CAIRN_PACTDB_COIN_TABLE, keys[i], rows[i], strlen(rows[i])};
	}
	for (int t = 0; t < WRITES_PER_BLOCK / 2; t++) {
		fake_hash(tx_hashes[t], h, (uint64_t)t + 1);
		txs[t] = (cairn_pactdb_tx){tx_hashes[t], &writes[2 * t], 2};
	}
	fake_hash(hash, h, 0);
	cairn_pactdb_block b = {.height = h, .hash = hash, .txs = txs, .ntxs = WRITES_PER_BLOCK / 2};
	return cairn_pactdb_apply_block(db, &b);
}

/* How the WAL is checkpointed: by the committing connection every 1000
 * pages (SQLite's default), or by a background thread calling
 * cairn_pactdb_checkpoint every 20 ms with the committer's own
 * checkpoint only as the valve. */
typedef enum { CKPT_IN_WRITER, CKPT_BACKGROUND } ckpt_mode;

#define CHECKPOINT_INTERVAL_US 20000

static cairn_pactdb *open_pact(const char *path, bool full, ckpt_mode mode)
{
	cairn_pactdb_options opts = CAIRN_PACTDB_OPTIONS_INIT;
	opts.synchronous_full = full;
	if (mode == CKPT_BACKGROUND)
		opts.wal_autocheckpoint_pages = CAIRN_PACTDB_VALVE_PAGES;
	cairn_pactdb *db;
	if (cairn_pactdb_open(&db, path, &opts) != CAIRN_OK)
		die("open pact db");
	return db;
}

typedef struct checkpointer {
	cairn_pactdb *db;
	pthread_t thread;
	atomic_bool stop;
} checkpointer;

static void *checkpoint_continuously(void *arg)
{
	checkpointer *c = arg;
	while (!atomic_load(&c->stop)) {
		if (cairn_pactdb_checkpoint(c->db) != CAIRN_OK)
			die("checkpoint");
		usleep(CHECKPOINT_INTERVAL_US);
	}
	return NULL;
}

static void checkpointer_start(checkpointer *c, cairn_pactdb *db, ckpt_mode mode)
{
	c->db = mode == CKPT_BACKGROUND ? db : NULL;
	atomic_init(&c->stop, false);
	if (c->db != NULL)
		pthread_create(&c->thread, NULL, checkpoint_continuously, c);
}

static void checkpointer_stop(checkpointer *c)
{
	atomic_store(&c->stop, true);
	if (c->db != NULL)
		pthread_join(c->thread, NULL);
}

static double apply_rate(const char *dir, bool full, ckpt_mode mode, uint64_t blocks)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/rate-%d-%d.sqlite", dir, full, (int)mode);
	cairn_pactdb *db = open_pact(path, full, mode);
	checkpointer c;
	checkpointer_start(&c, db, mode);
	double t0 = cairn_clock_now();
	for (uint64_t h = 0; h < blocks; h++)
		if (apply_pact_block(db, h) != CAIRN_OK)
			die("apply block");
	double rate = (double)blocks / (cairn_clock_now() - t0);
	checkpointer_stop(&c);
	cairn_pactdb_close(db);
	return rate;
}

static void bench_apply(const char *dir)
{
	enum { BLOCKS = 10000 };
	printf("PactDB apply_block, %d writes per block, %d blocks on a new file\n", WRITES_PER_BLOCK, BLOCKS);
	double normal = apply_rate(dir, false, CKPT_IN_WRITER, BLOCKS);
	double background = apply_rate(dir, false, CKPT_BACKGROUND, BLOCKS);
	double full = apply_rate(dir, true, CKPT_IN_WRITER, BLOCKS);
	printf("  synchronous=NORMAL, checkpoints in the writer:   %6.0f blocks/s\n", normal);
	printf("  synchronous=NORMAL, checkpoints in background:   %6.0f blocks/s (%.2fx)\n", background,
		background / normal);
	printf("  synchronous=FULL, checkpoints in the writer:     %6.0f blocks/s (%.2fx)\n", full, full / normal);
}

typedef struct commit { double end, seconds; } commit;

typedef struct writer {
	cairn_pactdb *db;
	pthread_mutex_t commit_lock;
	pthread_t thread;
	atomic_bool stop;
	uint64_t next_height;
	commit *log; /* written by the writer only; readers stay below `count` */
	atomic_size_t count;
} writer;

/* Commits WRITER_RATE blocks per second (10x the node's per-chain share of
 * its 2,000 blocks/s target), or as many as it can when it falls behind. */
static void *write_continuously(void *arg)
{
	writer *w = arg;
	double next = cairn_clock_now();
	while (!atomic_load(&w->stop)) {
		next += 1.0 / WRITER_RATE;
		double wait = next - cairn_clock_now();
		if (wait > 0)
			usleep((useconds_t)(wait * 1e6));
		double t0 = cairn_clock_now();
		pthread_mutex_lock(&w->commit_lock);
		int rc = apply_pact_block(w->db, w->next_height);
		pthread_mutex_unlock(&w->commit_lock);
		double t1 = cairn_clock_now();
		if (rc != CAIRN_OK)
			die("writer");
		w->next_height++;
		size_t i = atomic_load(&w->count);
		if (i < MAX_COMMITS) {
			w->log[i] = (commit){t1, t1 - t0};
			atomic_store(&w->count, i + 1);
		}
	}
	return NULL;
}

/* Longest commit (including its wait for the commit lock) that ended in
 * [from, to), and how many commits ended there. */
static double longest_commit(const writer *w, double from, double to, size_t *commits)
{
	size_t n = atomic_load(&w->count);
	double longest = 0;
	*commits = 0;
	for (size_t i = 0; i < n; i++)
		if (w->log[i].end >= from && w->log[i].end < to) {
			(*commits)++;
			if (w->log[i].seconds > longest)
				longest = w->log[i].seconds;
		}
	return longest;
}

typedef enum { M_FILES, M_BACKUP_API, M_CP, M_VACUUM, M_COUNT } method;
static const char *const method_names[M_COUNT] = {
	"snapshot_copy (files)", "snapshot_copy (backup API)", "cp + sync", "VACUUM INTO + sync",
};

typedef struct copy_result {
	double seconds, lock_ms, stall_during_ms, stall_after_ms;
	uint64_t source_bytes; /* size of the live file when the copy began */
	size_t commits_during;
	uint64_t wal_after;
	cairn_pactdb_copy_stats stats;
} copy_result;

/* One copy of the live file with method m into `dest` (removed after). */
static copy_result copy_once(writer *w, const char *src, const char *dest, method m)
{
	copy_result r = {0};
	char cmd[2048];
	bench_run_shell("sync");
	r.source_bytes = file_size(src);
	double t0 = cairn_clock_now();
	if (m == M_FILES || m == M_BACKUP_API) {
		cairn_pactdb_snapshot *snap;
		pthread_mutex_lock(&w->commit_lock);
		double l0 = cairn_clock_now();
		if (cairn_pactdb_snapshot_begin(&snap, w->db) != CAIRN_OK)
			die("snapshot begin");
		r.lock_ms = (cairn_clock_now() - l0) * 1e3;
		pthread_mutex_unlock(&w->commit_lock);
		if (cairn_pactdb_snapshot_copy(snap, dest, m == M_FILES ? CAIRN_PACTDB_COPY_FILES
		    : CAIRN_PACTDB_COPY_BACKUP_API, &r.stats) != CAIRN_OK)
			die("snapshot copy");
		cairn_pactdb_snapshot_end(snap);
	} else if (m == M_CP) {
		snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && sync '%s'", src, dest, dest);
		bench_run_shell(cmd);
	} else {
		snprintf(cmd, sizeof(cmd), "sqlite3 '%s' \"VACUUM INTO '%s'\" && sync '%s'", src, dest, dest);
		bench_run_shell(cmd);
	}
	double t1 = cairn_clock_now();
	r.seconds = t1 - t0;
	usleep(2000000); /* the writer's checkpoints catch up after the copy */
	char wal[600];
	snprintf(wal, sizeof(wal), "%s-wal", src);
	r.wal_after = file_size(wal);
	r.stall_during_ms = longest_commit(w, t0, t1, &r.commits_during) * 1e3;
	size_t after;
	r.stall_after_ms = longest_commit(w, t1, t1 + 2, &after) * 1e3;
	unlink(dest);
	return r;
}

static int by_seconds(const void *a, const void *b)
{
	double x = ((const copy_result *)a)->seconds, y = ((const copy_result *)b)->seconds;
	return (x > y) - (x < y);
}

static void build_pact(const char *path, uint64_t mb, uint64_t *blocks)
{
	cairn_pactdb *db = open_pact(path, false, CKPT_IN_WRITER);
	double t0 = cairn_clock_now();
	uint64_t h = 0;
	while (file_size(path) < mb << 20) {
		for (int i = 0; i < 1000; i++, h++)
			if (apply_pact_block(db, h) != CAIRN_OK)
				die("build");
	}
	cairn_pactdb_close(db);
	printf("  built %" PRIu64 " MB PactDB: %" PRIu64 " blocks in %.1f s\n",
		file_size(path) >> 20, h, cairn_clock_now() - t0);
	*blocks = h;
}

static void bench_copies(const char *dir, uint64_t mb, int rounds, ckpt_mode mode)
{
	char src[512], dest[512];
	snprintf(src, sizeof(src), "%s/pact-v1-chain-%d.sqlite", dir, (int)mode);
	snprintf(dest, sizeof(dest), "%s/copy.sqlite", dir);
	writer w = {0};
	build_pact(src, mb, &w.next_height);
	w.db = open_pact(src, false, mode);
	w.log = malloc(sizeof(commit) * MAX_COMMITS);
	pthread_mutex_init(&w.commit_lock, NULL);
	checkpointer c;
	checkpointer_start(&c, w.db, mode);
	pthread_create(&w.thread, NULL, write_continuously, &w);
	usleep(2000000);
	size_t idle_commits;
	double idle_stall = longest_commit(&w, cairn_clock_now() - 2, cairn_clock_now(), &idle_commits) * 1e3;
	printf("  writer alone: %.0f blocks/s, longest commit %.1f ms (2 s window)\n",
		(double)idle_commits / 2, idle_stall);

	copy_result results[M_COUNT][16];
	for (int r = 0; r < rounds; r++)
		for (int m = 0; m < M_COUNT; m++)
			results[m][r] = copy_once(&w, src, dest, (method)m);
	atomic_store(&w.stop, true);
	pthread_join(w.thread, NULL);
	checkpointer_stop(&c);
	cairn_pactdb_close(w.db);

	double median[M_COUNT];
	printf("  %-27s %8s %8s %9s %10s %11s %11s %12s\n", "method (median of rounds)", "seconds", "MB/s",
		"lock ms", "commits", "stall ms", "after ms", "WAL file MB");
	for (int m = 0; m < M_COUNT; m++) {
		qsort(results[m], (size_t)rounds, sizeof(copy_result), by_seconds);
		copy_result *c = &results[m][rounds / 2];
		median[m] = c->seconds;
		printf("  %-27s %8.2f %8.0f %9.3f %10zu %11.1f %11.1f %12.1f\n", method_names[m], c->seconds,
			(double)c->source_bytes / 1048576.0 / c->seconds, c->lock_ms, c->commits_during, c->stall_during_ms,
			c->stall_after_ms, (double)c->wal_after / 1048576.0);
	}
	copy_result *f = &results[M_FILES][rounds / 2];
	printf("  snapshot_copy (files) phases: copy %.2f s (main file %.0f MB, WAL prefix %.1f MB = %llu frames),"
		" WAL fold %.2f s, fsync %.2f s\n", f->stats.copy_seconds, (double)f->stats.db_bytes / 1048576.0,
		(double)f->stats.wal_bytes / 1048576.0, (unsigned long long)f->stats.wal_frames,
		f->stats.checkpoint_seconds, f->stats.sync_seconds);
	printf("  ratio snapshot_copy (files) / cp+sync speed:         %.2f (target >= 0.8)\n",
		median[M_CP] / median[M_FILES]);
	printf("  ratio snapshot_copy (files) / VACUUM INTO speed:     %.2f (target >= 2)\n",
		median[M_VACUUM] / median[M_FILES]);
	printf("  ratio snapshot_copy (files) / backup API speed:      %.2f\n",
		median[M_BACKUP_API] / median[M_FILES]);
	free(w.log);
}

/* ---- ChainDB ---- */

#define PAYLOAD_BYTES 8000

static cairn_chaindb *open_chain(const char *path, bool sync)
{
	cairn_chaindb_options opts = CAIRN_CHAINDB_OPTIONS_INIT;
	opts.version = "development";
	opts.sync_every_block = sync;
	cairn_chaindb *db;
	if (cairn_chaindb_open(&db, path, &opts) != CAIRN_OK)
		die("open chain db");
	return db;
}

/* Writes `blocks` blocks round-robin over 20 chains from block `first`. */
static double put_blocks(cairn_chaindb *db, uint64_t first, uint64_t blocks)
{
	static uint8_t header[318], payload[PAYLOAD_BYTES];
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	double t0 = cairn_clock_now();
	for (uint64_t n = first; n < first + blocks; n++) {
		uint8_t hash[32], payload_hash[32];
		fake_hash(hash, n, 1);
		fake_hash(payload_hash, n, 2);
		memcpy(header, hash, 32);
		for (size_t i = 0; i < sizeof(payload); i += 8) /* base64-like text, as payloads are */
			for (size_t j = 0; j < 8; j++)
				payload[i + j] = (uint8_t)b64[(mix(n * 1024 + i) >> (j * 6)) & 63];
		cairn_chaindb_block b = {
			.chain = (uint32_t)(n % 20), .height = n / 20, .hash = hash,
			.header = header, .header_len = sizeof(header),
			.payload_hash = payload_hash, .payload = payload, .payload_len = sizeof(payload),
		};
		if (cairn_chaindb_put_block(db, &b) != CAIRN_OK)
			die("put block");
	}
	return (double)blocks / (cairn_clock_now() - t0);
}

/* One checkpoint (optionally after a flush, as the backup engine does
 * before taking the lock) against `cp -r` + `sync` of the directory. */
static void checkpoint_once(const char *dir, const char *path, cairn_chaindb *db, uint64_t *n, int r, bool flush)
{
	char cp_dir[512], copy_dir[512], cmd[2048];
	put_blocks(db, *n, 1000); /* some data in the memtable and live WAL, as in operation */
	*n += 1000;
	if (flush && cairn_chaindb_flush(db) != CAIRN_OK)
		die("flush");
	bench_run_shell("sync");
	snprintf(cp_dir, sizeof(cp_dir), "%s/checkpoint-%d-%d", dir, r, flush);
	double t0 = cairn_clock_now();
	if (cairn_chaindb_checkpoint(db, cp_dir) != CAIRN_OK)
		die("checkpoint");
	double cp_ms = (cairn_clock_now() - t0) * 1e3;
	snprintf(copy_dir, sizeof(copy_dir), "%s/copy-%d", dir, r);
	snprintf(cmd, sizeof(cmd), "cp -r '%s' '%s' && sync -f '%s'", path, copy_dir, copy_dir);
	bench_run_shell("sync");
	double ref = bench_run_shell(cmd) * 1e3;
	printf("  checkpoint%s: %6.2f ms; cp -r + sync of the directory: %5.0f ms (%.0fx)\n",
		flush ? " after flush" : "            ", cp_ms, ref, ref / cp_ms);
	cairn_fs_remove_tree(cp_dir);
	cairn_fs_remove_tree(copy_dir);
}

static cairn_chaindb *bench_chaindb(const char *dir, uint64_t mb, int rounds, uint64_t *next_block)
{
	char path[512];
	printf("ChainDB\n");
	snprintf(path, sizeof(path), "%s/sync/0/rocksDb", dir);
	cairn_chaindb *db = open_chain(path, true);
	double synced = put_blocks(db, 0, 2000);
	cairn_chaindb_close(db);
	snprintf(path, sizeof(path), "%s/0/rocksDb", dir);
	db = open_chain(path, false);
	double unsynced = put_blocks(db, 0, 20000);
	printf("  put_block (%d-byte payload): %.0f blocks/s with fsync per block, %.0f blocks/s without"
		" (%.1fx)\n", PAYLOAD_BYTES, synced, unsynced, unsynced / synced);
	uint64_t n = 20000;
	while (bench_dir_bytes(path) < mb << 20) {
		put_blocks(db, n, 20000);
		n += 20000;
	}
	if (cairn_chaindb_sync(db) != CAIRN_OK)
		die("sync");
	printf("  built %" PRIu64 " MB ChainDB (%" PRIu64 " blocks)\n", bench_dir_bytes(path) >> 20, n);
	for (int r = 0; r < rounds; r++) {
		checkpoint_once(dir, path, db, &n, r, false);
		checkpoint_once(dir, path, db, &n, r, true);
	}
	*next_block = n;
	return db;
}

/* Lock hold of a backup's consistency point: the ChainDB checkpoint (after
 * a flush outside the lock) and snapshot_begin on 20 chain files. */
static void bench_lock_hold(const char *dir, cairn_chaindb *chain, uint64_t *next_block)
{
	enum { CHAINS = 20 };
	cairn_pactdb *dbs[CHAINS];
	cairn_pactdb_snapshot *snaps[CHAINS];
	for (int c = 0; c < CHAINS; c++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/lock/pact-v1-chain-%d.sqlite", dir, c);
		dbs[c] = open_pact(path, false, CKPT_IN_WRITER);
		for (uint64_t h = 0; h < 2000; h++)
			if (apply_pact_block(dbs[c], h) != CAIRN_OK)
				die("fill");
	}
	char cp_dir[512];
	snprintf(cp_dir, sizeof(cp_dir), "%s/lock/rocksDb-checkpoint", dir);
	put_blocks(chain, *next_block, 1000);
	*next_block += 1000;
	if (cairn_chaindb_flush(chain) != CAIRN_OK)
		die("flush");
	put_blocks(chain, *next_block, 20); /* written between the flush and the lock */
	*next_block += 20;
	bench_run_shell("sync");
	double t0 = cairn_clock_now();
	if (cairn_chaindb_checkpoint(chain, cp_dir) != CAIRN_OK)
		die("checkpoint");
	double t1 = cairn_clock_now();
	for (int c = 0; c < CHAINS; c++)
		if (cairn_pactdb_snapshot_begin(&snaps[c], dbs[c]) != CAIRN_OK)
			die("snapshot begin");
	double t2 = cairn_clock_now();
	for (int c = 0; c < CHAINS; c++) {
		cairn_pactdb_snapshot_end(snaps[c]);
		cairn_pactdb_close(dbs[c]);
	}
	printf("Commit lock hold of a backup: ChainDB checkpoint %.2f ms + 20 snapshot_begin %.2f ms"
		" = %.2f ms (target <= 20 ms)\n", (t1 - t0) * 1e3, (t2 - t1) * 1e3, (t2 - t0) * 1e3);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench_store <work-dir> [pact-MB] [chain-MB] [rounds]\n");
		return 2;
	}
	const char *dir = argv[1];
	uint64_t pact_mb = argc > 2 ? strtoull(argv[2], NULL, 10) : 500;
	uint64_t chain_mb = argc > 3 ? strtoull(argv[3], NULL, 10) : 1024;
	int rounds = argc > 4 ? atoi(argv[4]) : 3;
	if (rounds < 1 || rounds > 16)
		rounds = 3;
	cairn_log_set_level(CAIRN_LOG_WARN);
	if (cairn_fs_mkdir_p(dir) != CAIRN_OK)
		die("work directory");

	bench_apply(dir);
	uint64_t next_block;
	cairn_chaindb *chain = bench_chaindb(dir, chain_mb, rounds, &next_block);
	bench_lock_hold(dir, chain, &next_block);
	cairn_chaindb_close(chain);
	printf("PactDB copies of a live file, writer committing %.0f blocks/s, checkpoints in background\n", WRITER_RATE);
	bench_copies(dir, pact_mb, rounds, CKPT_BACKGROUND);
	printf("PactDB copies of a live file, writer committing %.0f blocks/s, checkpoints in the writer\n", WRITER_RATE);
	bench_copies(dir, pact_mb, rounds, CKPT_IN_WRITER);
	return 0;
}
