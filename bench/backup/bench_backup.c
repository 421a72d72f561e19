/*
 * bench_backup: the backup engine on real stores, each figure next to a
 * reference measured in the same run.
 *
 *   bench_backup <work-dir> <chain-MB>[,<chain-MB>...] <pact-MB> [rounds] [parallelism]
 *
 * 1. ChainDB, for each size: a database of 20 chains filled with
 *    incompressible 64 KB payloads, then a pause until the disk is quiet
 *    (the fill leaves RocksDB compacting for a while).  Each round writes
 *    $CAIRN_BENCH_UNFLUSHED_MB (default 1) more into the memtable, as a
 *    live node would have, and runs a backup without Pact through the
 *    manager, start to done; the reference is a bare
 *    cairn_chaindb_checkpoint of the same database after a flush, the
 *    floor any backup pays.  Then what the job avoids: SHA-256 of the
 *    checkpoint's hard-linked table files.
 * 2. Pact: 8 chains whose files total pact-MB (and a small ChainDB at the
 *    same cut).  The engine's copy rate over the SQLite bytes (the job's
 *    Pact step: copy, checksum, fsync) against `cp` of the same files
 *    followed by `sync`, and against `sqlite3 <db> "VACUUM INTO ..."` run
 *    with the same parallelism, followed by `sync`.  Files are in the page
 *    cache for all three (just written), no writer runs.
 * 3. Live: a producer commits blocks to both stores as fast as it can, each
 *    under the commit lock, while a checkpointer thread folds the Pact WALs
 *    as the node's does ($CAIRN_BENCH_CHECKPOINTER=0: the commits fold
 *    them, every 1000 pages).  Its longest commit (lock wait included) and
 *    the 99th percentile of its commits for 2 s before, during, and 2 s
 *    after a backup with Pact, the lock hold of
 *    the backup's consistency point and the Pact copy rate meanwhile;
 *    $CAIRN_BENCH_LIVE_ROUNDS rounds (default 3) without a limit, then as
 *    many with backup.rateLimit at $CAIRN_BENCH_RATE_LIMIT bytes per second
 *    (default 100 MB/s; 0 skips them), and the medians.
 */
#include <inttypes.h>
#include <limits.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "backup/backup.h"
#include "backup/files.h"
#include "node/checkpointer.h"
#include "store/chaindb.h"
#include "store/pactdb.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

#include "../bench_shell.h"

#define CHAINS 20
#define PACT_CHAINS 8
#define BIG_PAYLOAD ((size_t)64 << 10)
#define LIVE_PAYLOAD ((size_t)8 << 10)
#define ROW_BYTES 1000
#define WRITES_PER_BLOCK 10
#define MAX_ROUNDS 32

static void die(const char *what)
{
	fprintf(stderr, "bench_backup: %s: %s\n", what, cairn_error_last());
	exit(1);
}

static void check(int rc, const char *what)
{
	if (rc != CAIRN_OK)
		die(what);
}

static uint64_t next_random(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

static void fill_random(uint8_t *buf, size_t len, uint64_t *state)
{
	for (size_t i = 0; i + 8 <= len; i += 8) {
		uint64_t v = next_random(state);
		memcpy(buf + i, &v, 8);
	}
}

/* Formats a path into buf (PATH_MAX bytes); too long is fatal. */
static void path_of(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void path_of(char *buf, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, PATH_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= PATH_MAX) {
		fprintf(stderr, "bench_backup: path too long\n");
		exit(1);
	}
}

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), compare_doubles);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The p-quantile (0 < p <= 1) of v[0..n), nearest rank; sorts v. */
static double quantile(double *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), compare_doubles);
	size_t rank = (size_t)(p * (double)n + 0.999999);
	return v[rank > 0 ? rank - 1 : 0];
}

static double maximum(const double *v, int n)
{
	double m = 0;
	for (int i = 0; i < n; i++)
		m = v[i] > m ? v[i] : m;
	return m;
}

/* ---- a node's stores and commit lock ---- */

typedef struct bench_node {
	char dir[PATH_MAX];
	cairn_chaindb *chaindb;
	cairn_pactdb *pact[CHAINS];
	int pact_chains;
	pthread_mutex_t commit_lock;
	uint64_t next_height[CHAINS];
	uint64_t random;
	uint8_t *payload;
	cairn_checkpointer *checkpointer; /* NULL: commits checkpoint the WAL themselves */
	/* the live producer */
	pthread_t producer;
	atomic_bool stop;
	atomic_int phase; /* 0 before, 1 during, 2 after the backup */
	double max_commit[3];
	uint64_t commits[3];
	double *commit_times[3]; /* every commit's duration, for percentiles */
	size_t times_capacity[3];
	/* the longest commit during the backup: its parts and when it started */
	double part[3], longest_parts[3], longest_at;
} bench_node;

static int with_commit_lock(void *ctx, int (*fn)(void *), void *arg)
{
	bench_node *n = ctx;
	pthread_mutex_lock(&n->commit_lock);
	int rc = fn(arg);
	pthread_mutex_unlock(&n->commit_lock);
	return rc;
}

static struct cairn_chaindb *node_chaindb(void *ctx)
{
	return ((bench_node *)ctx)->chaindb;
}

static struct cairn_pactdb *node_pactdb(void *ctx, uint32_t chain)
{
	bench_node *n = ctx;
	return (int)chain < n->pact_chains ? n->pact[chain] : NULL;
}

static void node_open(bench_node *n, const char *work, const char *name, int pact_chains)
{
	memset(n, 0, sizeof(*n));
	path_of(n->dir, "%s/%s", work, name);
	char path[PATH_MAX];
	cairn_chaindb_options copts = CAIRN_CHAINDB_OPTIONS_INIT;
	copts.version = "development";
	check(cairn_chaindb_path(path, sizeof(path), n->dir), "path");
	check(cairn_chaindb_open(&n->chaindb, path, &copts), "open chaindb");
	/* As the node: a checkpointer thread folds the WALs and the commits'
	 * autocheckpoint is only a valve, and blocks are committed in groups
	 * ($CAIRN_BENCH_CHECKPOINTER=0: every 1000 pages in the commit, SQLite's
	 * default, and a transaction per block, as before). */
	const char *env = getenv("CAIRN_BENCH_CHECKPOINTER");
	bool checkpointer = env == NULL || atoi(env) != 0;
	for (int c = 0; c < pact_chains; c++) {
		cairn_pactdb_options popts = CAIRN_PACTDB_OPTIONS_INIT;
		if (checkpointer) {
			popts.wal_autocheckpoint_pages = CAIRN_PACTDB_VALVE_PAGES;
			popts.group_blocks = CAIRN_CHECKPOINTER_GROUP_BLOCKS;
		}
		check(cairn_pactdb_path(path, sizeof(path), n->dir, (uint32_t)c), "path");
		check(cairn_pactdb_open(&n->pact[c], path, &popts), "open pactdb");
	}
	n->pact_chains = pact_chains;
	if (checkpointer && pact_chains > 0)
		check(cairn_checkpointer_start(&n->checkpointer, n->pact, (size_t)pact_chains), "start checkpointer");
	n->random = 0x9e3779b97f4a7c15ULL ^ (uint64_t)pact_chains;
	n->payload = malloc(BIG_PAYLOAD);
	pthread_mutex_init(&n->commit_lock, NULL);
}

static void node_close(bench_node *n)
{
	cairn_checkpointer_stop(n->checkpointer);
	for (int c = 0; c < n->pact_chains; c++)
		cairn_pactdb_close(n->pact[c]);
	cairn_chaindb_close(n->chaindb);
	free(n->payload);
	for (int p = 0; p < 3; p++)
		free(n->commit_times[p]);
	pthread_mutex_destroy(&n->commit_lock);
}

static void block_hash(uint8_t *out, uint32_t chain, uint64_t height, uint8_t tag)
{
	uint64_t state = (height << 8 | chain) * 0x2545f4914f6cdd1dULL + tag + 1;
	fill_random(out, 32, &state);
}

/* Block (chain, next height) in both stores (Pact when the chain has it);
 * the caller holds the commit lock. */
static int commit_block(bench_node *n, uint32_t chain, size_t payload_len)
{
	uint64_t h = n->next_height[chain];
	uint8_t hash[32], payload_hash[32], header[318];
	block_hash(hash, chain, h, 1);
	block_hash(payload_hash, chain, h, 2);
	memset(header, (int)h, sizeof(header));
	fill_random(n->payload, payload_len, &n->random);
	cairn_chaindb_block b = {chain, h, hash, header, sizeof(header), payload_hash, n->payload, payload_len};
	double t0 = cairn_clock_now();
	int rc = cairn_chaindb_put_block(n->chaindb, &b);
	n->part[1] = cairn_clock_now() - t0;
	n->part[2] = 0;
	if (rc == CAIRN_OK && (int)chain < n->pact_chains) {
		char keys[WRITES_PER_BLOCK][24], rows[WRITES_PER_BLOCK][ROW_BYTES];
		cairn_pactdb_write writes[WRITES_PER_BLOCK];
		for (int i = 0; i < WRITES_PER_BLOCK; i++) {
			uint64_t r = next_random(&n->random);
			snprintf(keys[i], sizeof(keys[i]), "k:%07" PRIu64, r % 2000000);
			int len = snprintf(rows[i], sizeof(rows[i]), "{\"balance\":%" PRIu64 ",\"pad\":\"", r % 100000);
			for (int j = len; j < ROW_BYTES - 3; j++)
				rows[i][j] = (char)('a' + next_random(&n->random) % 26);
			memcpy(rows[i] + ROW_BYTES - 3, "\"}", 3);
			writes[i] = (cairn_pactdb_write){CAIRN_PACTDB_COIN_TABLE, keys[i], rows[i], ROW_BYTES - 1};
		}
		cairn_pactdb_tx tx = {hash, writes, WRITES_PER_BLOCK};
		cairn_pactdb_block pb = {h, hash, &tx, 1};
		double t1 = cairn_clock_now();
		rc = cairn_pactdb_apply_block(n->pact[chain], &pb);
		n->part[2] = cairn_clock_now() - t1;
	}
	if (rc == CAIRN_OK)
		n->next_height[chain] = h + 1;
	return rc;
}

static cairn_backup_manager *open_manager(bench_node *n, const char *work, const char *name, int parallelism)
{
	char dir[PATH_MAX], staging[PATH_MAX];
	path_of(dir, "%s/%s", work, name);
	path_of(staging, "%s/0/backup-staging", n->dir);
	cairn_backup_source src = {n, with_commit_lock, node_chaindb, node_pactdb, staging};
	cairn_backup_options opts = CAIRN_BACKUP_OPTIONS_INIT;
	opts.directory = dir;
	opts.parallelism = parallelism;
	cairn_backup_manager *m;
	check(cairn_backup_manager_open(&m, &src, &opts), "open backup manager");
	return m;
}

/* Runs one backup; returns start-to-done seconds and its manifest. */
static double run_backup(json_object **manifest, cairn_backup_manager *m, const char *work, const char *backups,
	bool pact, char *id)
{
	cairn_backup_request req = {pact, CAIRN_BACKUP_MANUAL};
	bool started;
	double t0 = cairn_clock_now();
	check(cairn_backup_start(id, &started, m, &req), "start backup");
	cairn_backup_wait_idle(m);
	double elapsed = cairn_clock_now() - t0;
	cairn_backup_state st;
	check(cairn_backup_state_of(&st, m, id), "backup state");
	if (st != CAIRN_BACKUP_DONE) {
		fprintf(stderr, "bench_backup: backup %s did not finish: see the log above\n", id);
		exit(1);
	}
	char path[PATH_MAX];
	path_of(path, "%s/%s/%s/manifest.json", work, backups, id);
	*manifest = json_object_from_file(path);
	if (*manifest == NULL)
		die("read manifest");
	return elapsed;
}

static double manifest_ms(json_object *manifest, const char *section, const char *key)
{
	json_object *s = NULL, *v = NULL;
	json_object_object_get_ex(manifest, section, &s);
	json_object_object_get_ex(s, key, &v);
	return json_object_get_double(v);
}

/* ---- 1. ChainDB ---- */

static void fill_chaindb(bench_node *n, uint64_t bytes)
{
	uint64_t written = 0;
	for (uint32_t c = 0; written < bytes; c = (c + 1) % CHAINS) {
		check(commit_block(n, c, BIG_PAYLOAD), "fill chaindb");
		written += BIG_PAYLOAD;
	}
	check(cairn_chaindb_flush(n->chaindb), "flush");
}

/* SHA-256 of every table file of a checkpoint: what hashing linked files
 * would add to a backup. */
static double hash_tables(uint64_t *bytes, const char *checkpoint)
{
	char cmd[PATH_MAX + 64];
	snprintf(cmd, sizeof(cmd), "ls '%s' | grep '\\.sst$'", checkpoint);
	FILE *p = popen(cmd, "r");
	char name[256];
	*bytes = 0;
	double t0 = cairn_clock_now();
	while (p != NULL && fgets(name, sizeof(name), p) != NULL) {
		name[strcspn(name, "\n")] = '\0';
		char path[PATH_MAX];
		path_of(path, "%s/%s", checkpoint, name);
		cairn_backup_file_digest d;
		check(cairn_backup__hash_file(&d, path, false), "hash table file");
		*bytes += d.size;
	}
	double elapsed = cairn_clock_now() - t0;
	if (p != NULL)
		pclose(p);
	return elapsed;
}

static void write_more(bench_node *n, uint64_t bytes)
{
	for (uint64_t done = 0; done < bytes; done += BIG_PAYLOAD)
		check(commit_block(n, (uint32_t)(done / BIG_PAYLOAD % CHAINS), BIG_PAYLOAD), "write");
}

/* A bare checkpoint of the live database (removed afterwards), with or
 * without a flush first; returns the checkpoint's own seconds. */
static double bare_checkpoint(bench_node *n, const char *work, bool flush, double *flush_seconds)
{
	char dir[PATH_MAX];
	path_of(dir, "%s/bare-checkpoint", work);
	double t0 = cairn_clock_now();
	if (flush)
		check(cairn_chaindb_flush(n->chaindb), "flush");
	double t1 = cairn_clock_now();
	check(cairn_chaindb_checkpoint(n->chaindb, dir), "checkpoint");
	double t2 = cairn_clock_now();
	*flush_seconds = t1 - t0;
	check(cairn_fs_remove_tree(dir), "remove checkpoint");
	return t2 - t1;
}

/* Bytes written so far to the block device holding `path` (sysfs stat). */
static uint64_t device_written(const char *path)
{
	struct stat st;
	char sys[128];
	unsigned long long v[7] = {0};
	if (stat(path, &st) != 0)
		return 0;
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/stat", major(st.st_dev), minor(st.st_dev));
	FILE *f = fopen(sys, "r");
	if (f == NULL)
		return 0;
	int n = fscanf(f, "%llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]);
	fclose(f);
	return n == 7 ? (uint64_t)v[6] * 512 : 0;
}

/* Waits (at most 120 s) until the disk under `path` writes less than
 * 2 MB/s, so background compactions of a fill do not skew the rounds. */
static void wait_for_quiet_disk(const char *path)
{
	double t0 = cairn_clock_now();
	uint64_t before = device_written(path);
	while (cairn_clock_now() - t0 < 120) {
		sleep(1);
		uint64_t after = device_written(path);
		if (after - before < (2u << 20))
			break;
		before = after;
	}
	printf("  (waited %.0f s for the disk to become quiet)\n", cairn_clock_now() - t0);
}

static uint64_t unflushed_bytes(void)
{
	const char *mb = getenv("CAIRN_BENCH_UNFLUSHED_MB");
	return (uint64_t)((mb ? atof(mb) : 1.0) * (1 << 20));
}

static void bench_chaindb(const char *work, uint64_t mb, int rounds)
{
	bench_node n;
	char name[64], backups[64];
	snprintf(name, sizeof(name), "chain-%" PRIu64, mb);
	snprintf(backups, sizeof(backups), "backups-chain-%" PRIu64, mb);
	node_open(&n, work, name, 0);
	double t0 = cairn_clock_now();
	fill_chaindb(&n, mb << 20);
	uint64_t unflushed = unflushed_bytes();
	printf("chaindb %" PRIu64 " MB: filled in %.1f s, %.0f MB on disk; each round first writes %.1f MB more\n",
		mb, cairn_clock_now() - t0, (double)bench_dir_bytes(n.dir) / 1e6, (double)unflushed / (1 << 20));
	wait_for_quiet_disk(n.dir);
	cairn_backup_manager *m = open_manager(&n, work, backups, 0);
	double total[MAX_ROUNDS], checkpoint[MAX_ROUNDS], cut[MAX_ROUNDS], flush[MAX_ROUNDS], bare[MAX_ROUNDS];
	double bare_flush[MAX_ROUNDS];
	double without_flush[MAX_ROUNDS], ignored, files[MAX_ROUNDS], seal[MAX_ROUNDS];
	char id[CAIRN_BACKUP_ID_MAX + 1];
	for (int r = 0; r < rounds; r++) {
		write_more(&n, unflushed);
		json_object *manifest;
		total[r] = run_backup(&manifest, m, work, backups, false, id) * 1000;
		checkpoint[r] = manifest_ms(manifest, "timings", "checkpointMs");
		cut[r] = manifest_ms(manifest, "timings", "cutMs");
		flush[r] = manifest_ms(manifest, "timings", "flushMs");
		files[r] = manifest_ms(manifest, "timings", "rocksDbFilesMs");
		seal[r] = total[r] - manifest_ms(manifest, "timings", "totalMs");
		json_object_put(manifest);
		write_more(&n, unflushed);
		bare[r] = bare_checkpoint(&n, work, true, &bare_flush[r]) * 1000;
		bare_flush[r] *= 1000;
		write_more(&n, unflushed);
		without_flush[r] = bare_checkpoint(&n, work, false, &ignored) * 1000;
	}
	printf("  backup without Pact, start to done: median %.1f ms, max %.1f ms (target 50 ms)\n",
		median(total, rounds), maximum(total, rounds));
	printf("    of which memtable flush: median %.1f ms; checkpoint: median %.1f ms, max %.1f ms; cut: median %.1f ms "
		"(no commit lock without Pact)\n", median(flush, rounds), median(checkpoint, rounds),
		maximum(checkpoint, rounds), median(cut, rounds));
	printf("    listing and hashing RocksDB files: median %.1f ms; manifest, status and wake-up: median %.1f ms\n",
		median(files, rounds), median(seal, rounds));
	printf("  reference, bare checkpoint after a flush: median %.1f ms (flush %.1f ms); without a flush: median %.1f ms, "
		"max %.1f ms\n", median(bare, rounds), median(bare_flush, rounds), median(without_flush, rounds),
		maximum(without_flush, rounds));
	printf("  ratio backup / (flush + bare checkpoint): %.2f\n",
		median(total, rounds) / (median(bare, rounds) + median(bare_flush, rounds)));
	char rocks[PATH_MAX];
	path_of(rocks, "%s/%s/%s/0/rocksDb", work, backups, id);
	uint64_t bytes;
	double hashing = hash_tables(&bytes, rocks);
	printf("  not done by the job: SHA-256 of the checkpoint's %.0f MB of linked table files: %.0f ms "
		"(%.0f MB/s, %.0fx the backup's median)\n", (double)bytes / 1e6, hashing * 1000,
		(double)bytes / 1e6 / hashing, hashing * 1000 / median(total, rounds));
	cairn_backup_manager_close(m);
	node_close(&n);
}

/* ---- 2. Pact ---- */

static uint64_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static uint64_t pact_bytes(const bench_node *n)
{
	uint64_t total = 0;
	for (int c = 0; c < n->pact_chains; c++) {
		char path[PATH_MAX], wal[PATH_MAX + 8];
		cairn_pactdb_path(path, sizeof(path), n->dir, (uint32_t)c);
		path_of(wal, "%s-wal", path);
		total += file_size(path) + file_size(wal);
	}
	return total;
}

/* Appends to `cmd` the commands that reproduce one reference copy: `cp`
 * of all files, or VACUUM INTO in `par` parallel groups; then `sync`. */
static void reference_command(char *cmd, size_t size, const bench_node *n, const char *out, bool vacuum, int par)
{
	size_t len = (size_t)snprintf(cmd, size, "rm -rf '%s' && mkdir -p '%s' && { ", out, out);
	if (!vacuum)
		len += (size_t)snprintf(cmd + len, size - len, "cp");
	for (int g = 0; g < (vacuum ? par : 1); g++) {
		if (vacuum)
			len += (size_t)snprintf(cmd + len, size - len, "( true");
		for (int c = g; c < n->pact_chains; c += vacuum ? par : 1) {
			char path[PATH_MAX];
			cairn_pactdb_path(path, sizeof(path), n->dir, (uint32_t)c);
			len += (size_t)(vacuum
				? snprintf(cmd + len, size - len, " && sqlite3 '%s' \"VACUUM INTO '%s/%d.sqlite'\"", path, out, c)
				: snprintf(cmd + len, size - len, " '%s'", path));
		}
		if (vacuum)
			len += (size_t)snprintf(cmd + len, size - len, " ) & ");
	}
	snprintf(cmd + len, size - len, vacuum ? "wait; } && sync" : " '%s/'; } && sync", out);
}

static void bench_pact(bench_node *n, cairn_backup_manager *m, const char *work, int rounds, int par)
{
	double engine[MAX_ROUNDS], cp[MAX_ROUNDS], vacuum[MAX_ROUNDS];
	uint64_t sqlite_bytes = 0;
	static char cmd[64 * PATH_MAX];
	char out[PATH_MAX], id[CAIRN_BACKUP_ID_MAX + 1];
	for (int r = 0; r < rounds; r++) {
		json_object *manifest;
		run_backup(&manifest, m, work, "backups-pact", true, id);
		json_object *bytes = NULL, *sqlite = NULL;
		json_object_object_get_ex(manifest, "bytes", &bytes);
		json_object_object_get_ex(bytes, "sqlite", &sqlite);
		sqlite_bytes = json_object_get_uint64(sqlite);
		engine[r] = manifest_ms(manifest, "timings", "pactCopyMs") / 1000;
		json_object_put(manifest);
		path_of(out, "%s/cp-out", work);
		reference_command(cmd, sizeof(cmd), n, out, false, par);
		cp[r] = bench_run_shell(cmd);
		path_of(out, "%s/vacuum-out", work);
		reference_command(cmd, sizeof(cmd), n, out, true, par);
		vacuum[r] = bench_run_shell(cmd);
	}
	double mb = (double)sqlite_bytes / 1e6;
	double e = mb / median(engine, rounds), c = mb / median(cp, rounds), v = mb / median(vacuum, rounds);
	printf("pact: %d files, %.0f MB, parallelism %d, median of %d rounds\n", n->pact_chains, mb, par, rounds);
	printf("  engine (copy, SHA-256, fsync): %.0f MB/s; cp + sync: %.0f MB/s; VACUUM INTO (x%d) + sync: %.0f MB/s\n",
		e, c, par, v);
	printf("  ratio engine / cp: %.2f (target 0.8); engine / VACUUM INTO: %.2f (target 2)\n", e / c, e / v);
}

/* ---- 3. live ---- */

static void record_commit(bench_node *n, int phase, double seconds)
{
	if (n->commits[phase] == n->times_capacity[phase]) {
		size_t capacity = n->times_capacity[phase] ? 2 * n->times_capacity[phase] : 4096;
		double *grown = realloc(n->commit_times[phase], capacity * sizeof(double));
		if (grown == NULL)
			die("out of memory");
		n->commit_times[phase] = grown;
		n->times_capacity[phase] = capacity;
	}
	n->commit_times[phase][n->commits[phase]++] = seconds;
}

static void *produce(void *arg)
{
	bench_node *n = arg;
	uint32_t chain = 0;
	pthread_setname_np(pthread_self(), "producer"); /* for perf and top */
	while (!atomic_load(&n->stop)) {
		double t0 = cairn_clock_now();
		pthread_mutex_lock(&n->commit_lock);
		n->part[0] = cairn_clock_now() - t0;
		int rc = commit_block(n, chain, LIVE_PAYLOAD);
		pthread_mutex_unlock(&n->commit_lock);
		double dt = cairn_clock_now() - t0;
		if (rc != CAIRN_OK)
			die("live commit");
		int phase = atomic_load(&n->phase);
		if (phase == 1 && dt > n->max_commit[1]) {
			memcpy(n->longest_parts, n->part, sizeof(n->part));
			n->longest_at = t0;
		}
		n->max_commit[phase] = dt > n->max_commit[phase] ? dt : n->max_commit[phase];
		record_commit(n, phase, dt);
		chain = (chain + 1) % (uint32_t)n->pact_chains;
	}
	return NULL;
}

/* One live round: returns the longest commit during the backup (seconds)
 * and sets *rate to the backup's Pact copy rate (MB/s) and *p99 to the 99th
 * percentile of its commits (seconds). */
static double live_round(double *rate, double *p99, bench_node *n, cairn_backup_manager *m, const char *work,
	const char *backups, bool verbose)
{
	atomic_store(&n->stop, false);
	atomic_store(&n->phase, 0);
	memset(n->max_commit, 0, sizeof(n->max_commit));
	memset(n->commits, 0, sizeof(n->commits));
	if (pthread_create(&n->producer, NULL, produce, n) != 0)
		die("producer");
	sleep(2);
	double started = cairn_clock_now();
	atomic_store(&n->phase, 1);
	json_object *manifest;
	char id[CAIRN_BACKUP_ID_MAX + 1];
	double during = run_backup(&manifest, m, work, backups, true, id);
	atomic_store(&n->phase, 2);
	sleep(2);
	atomic_store(&n->stop, true);
	pthread_join(n->producer, NULL);
	json_object *bytes = NULL, *sqlite = NULL;
	json_object_object_get_ex(manifest, "bytes", &bytes);
	json_object_object_get_ex(bytes, "sqlite", &sqlite);
	*rate = (double)json_object_get_uint64(sqlite) / 1e6 / (manifest_ms(manifest, "timings", "pactCopyMs") / 1000);
	if (verbose)
		printf("  commit lock at the consistency point: held %.1f ms (target 20 ms), waited %.1f ms for it\n",
			manifest_ms(manifest, "timings", "lockHoldMs"), manifest_ms(manifest, "timings", "lockWaitMs"));
	const char *names[] = {"2 s before", "during", "2 s after"};
	double seconds[] = {2.0, during, 2.0};
	for (int p = 0; p < 3; p++)
		printf("  %-10s: %6.0f blocks/s, longest commit %.1f ms%s, 99th percentile %.1f ms\n", names[p],
			(double)n->commits[p] / seconds[p], n->max_commit[p] * 1000, p == 1 ? " (target 50 ms)" : "",
			quantile(n->commit_times[p], n->commits[p], 0.99) * 1000);
	*p99 = quantile(n->commit_times[1], n->commits[1], 0.99);
	printf("  the longest, %.0f ms into the backup (%.0f ms): lock wait %.1f ms, ChainDB %.1f ms, Pact %.1f ms\n",
		(n->longest_at - started) * 1000, during * 1000, n->longest_parts[0] * 1000, n->longest_parts[1] * 1000,
		n->longest_parts[2] * 1000);
	printf("  Pact copy rate during it: %.0f MB/s\n", *rate);
	json_object_put(manifest);
	return n->max_commit[1];
}

/* Live rounds without a limit (manager `m`), then with `limit` bytes per
 * second (a second manager), $CAIRN_BENCH_LIVE_ROUNDS (default 3) each;
 * medians of the longest commit during the backup and of the copy rate. */
static void bench_live(bench_node *n, cairn_backup_manager *m, const char *work, int par, uint64_t limit)
{
	const char *env = getenv("CAIRN_BENCH_LIVE_ROUNDS");
	int rounds = env != NULL ? atoi(env) : 3;
	rounds = rounds < 1 ? 1 : rounds > MAX_ROUNDS ? MAX_ROUNDS : rounds;
	printf("live: producer at max (%d chains, 8 KB payloads, 10 Pact rows of 1 KB per block), %d rounds each\n",
		n->pact_chains, rounds);
	for (int limited = 0; limited < (limit > 0 ? 2 : 1); limited++) {
		cairn_backup_manager *lm = m;
		const char *backups = "backups-pact";
		if (limited) {
			char dir[PATH_MAX], staging[PATH_MAX];
			path_of(dir, "%s/backups-limited", work);
			path_of(staging, "%s/0/backup-staging", n->dir);
			cairn_backup_source src = {n, with_commit_lock, node_chaindb, node_pactdb, staging};
			cairn_backup_options opts = CAIRN_BACKUP_OPTIONS_INIT;
			opts.directory = dir;
			opts.parallelism = par;
			opts.rate_limit_bps = limit;
			check(cairn_backup_manager_open(&lm, &src, &opts), "open backup manager");
			backups = "backups-limited";
		}
		double longest[MAX_ROUNDS], rate[MAX_ROUNDS], p99[MAX_ROUNDS];
		for (int r = 0; r < rounds; r++) {
			if (limited)
				printf(" with backup.rateLimit %.0f MB/s, round %d:\n", (double)limit / 1e6, r + 1);
			else
				printf(" without a limit, round %d:\n", r + 1);
			longest[r] = live_round(&rate[r], &p99[r], n, lm, work, backups, r == 0);
		}
		printf("  median: longest commit during the backup %.1f ms (target 50 ms), max %.1f ms; "
			"99th percentile %.1f ms; Pact copy %.0f MB/s\n", median(longest, rounds) * 1000,
			maximum(longest, rounds) * 1000, median(p99, rounds) * 1000, median(rate, rounds));
		if (limited)
			cairn_backup_manager_close(lm);
	}
}

static void fill_pact(bench_node *n, uint64_t bytes)
{
	double t0 = cairn_clock_now();
	for (uint64_t i = 0; pact_bytes(n) < bytes; i++)
		for (int k = 0; k < 1000; k++)
			check(commit_block(n, (uint32_t)((i * 1000 + (uint64_t)k) % (uint64_t)n->pact_chains), 512), "fill pact");
	printf("pact: filled %d files to %.0f MB in %.1f s\n", n->pact_chains, (double)pact_bytes(n) / 1e6, cairn_clock_now() - t0);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: bench_backup <work-dir> <chain-MB>[,<chain-MB>...] <pact-MB> [rounds] [parallelism]\n");
		return 2;
	}
	const char *work = argv[1];
	int rounds = argc > 4 ? atoi(argv[4]) : 5;
	int par = argc > 5 ? atoi(argv[5]) : (int)sysconf(_SC_NPROCESSORS_ONLN);
	rounds = rounds < 1 ? 1 : rounds > MAX_ROUNDS ? MAX_ROUNDS : rounds;
	cairn_log_set_level(getenv("CAIRN_BENCH_DEBUG") ? CAIRN_LOG_DEBUG : CAIRN_LOG_WARN);
	for (char *size = strtok(argv[2], ","); size != NULL; size = strtok(NULL, ","))
		if (strtoull(size, NULL, 10) > 0) /* 0: skip the ChainDB part */
			bench_chaindb(work, strtoull(size, NULL, 10), rounds);
	bench_node n;
	node_open(&n, work, "pact", PACT_CHAINS);
	fill_pact(&n, strtoull(argv[3], NULL, 10) << 20);
	cairn_backup_manager *m = open_manager(&n, work, "backups-pact", par);
	bench_pact(&n, m, work, rounds < 3 ? rounds : 3, par);
	const char *limit = getenv("CAIRN_BENCH_RATE_LIMIT");
	bench_live(&n, m, work, par, limit != NULL ? strtoull(limit, NULL, 10) : 100000000);
	cairn_backup_manager_close(m);
	node_close(&n);
	return 0;
}
