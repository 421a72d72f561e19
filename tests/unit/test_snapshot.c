/* Unit tests for the PactDB snapshot copies (store/pactdb_snapshot.c): with
 * a writer thread committing blocks all the time, every copy passes
 * integrity_check and holds exactly the state at its snapshot, whichever WAL
 * case the snapshot met; the writer keeps committing while snapshots live;
 * copies into missing, read-only or full directories fail cleanly. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/pactdb.h"
#include "store_fixture.h"
#include "util/error.h"

#define COIN CAIRN_PACTDB_COIN_TABLE
#define TXS_PER_BLOCK 5 /* two writes each: 10 row versions per block */

typedef struct writer {
	cairn_pactdb *db;
	pthread_mutex_t commit_lock; /* the node's commit lock */
	pthread_t thread, checkpointer;
	bool background_checkpoints;
	atomic_bool stop;
	atomic_uint_fast64_t blocks; /* blocks committed: heights 0..blocks-1 */
	atomic_uint_fast64_t max_blocks; /* the writer idles from here on */
	atomic_bool running;
	int failures;
} writer;

/* Blocks a writer adds beyond its prefill.  Back-to-back snapshots keep the
 * WAL from restarting, so an unbounded writer on a slow machine would grow
 * it until the disk is full; this bounds it to a few hundred megabytes. */
#define WRITER_MAX_EXTRA_BLOCKS 4000

/* The writer lives in static storage, and the teardown stops it, so a failed
 * assertion (which leaves the test function early) never leaves a thread
 * running on memory that is gone. */
static writer the_writer;

/* Block h: transaction i writes acct-2i and acct-2i+1 with value "h". */
static int apply_block(cairn_pactdb *db, uint64_t h)
{
	uint8_t hash[32], tx_hashes[TXS_PER_BLOCK][32];
	char keys[2 * TXS_PER_BLOCK][16], value[32];
	cairn_pactdb_write writes[2 * TXS_PER_BLOCK];
	cairn_pactdb_tx txs[TXS_PER_BLOCK];
	snprintf(value, sizeof(value), "%llu", (unsigned long long)h);
	store_fixture_hash(hash, 0xc1, h, 0);
	for (int i = 0; i < TXS_PER_BLOCK; i++) {
		for (int w = 0; w < 2; w++) {
			snprintf(keys[2 * i + w], sizeof(keys[0]), "acct-%d", 2 * i + w);
			writes[2 * i + w] = (cairn_pactdb_write){COIN, keys[2 * i + w], value, strlen(value)};
		}
		store_fixture_hash(tx_hashes[i], 0xc2, h, (uint64_t)i);
		txs[i] = (cairn_pactdb_tx){tx_hashes[i], &writes[2 * i], 2};
	}
	cairn_pactdb_block b = {.height = h, .hash = hash, .txs = txs, .ntxs = TXS_PER_BLOCK};
	return cairn_pactdb_apply_block(db, &b);
}

static void *write_blocks(void *arg)
{
	writer *w = arg;
	while (!atomic_load(&w->stop)) {
		if (atomic_load(&w->blocks) >= atomic_load(&w->max_blocks)) {
			usleep(1000);
			continue;
		}
		pthread_mutex_lock(&w->commit_lock);
		uint64_t h = atomic_load(&w->blocks);
		if (apply_block(w->db, h) == CAIRN_OK)
			atomic_store(&w->blocks, h + 1);
		else
			w->failures++;
		pthread_mutex_unlock(&w->commit_lock);
	}
	return NULL;
}

static void *checkpoint_blocks(void *arg)
{
	writer *w = arg;
	while (!atomic_load(&w->stop)) {
		if (cairn_pactdb_checkpoint(w->db) != CAIRN_OK)
			w->failures++;
		usleep(2000);
	}
	return NULL;
}

static cairn_pactdb *open_db(const char *path, int autocheckpoint)
{
	cairn_pactdb_options opts = CAIRN_PACTDB_OPTIONS_INIT;
	opts.wal_autocheckpoint_pages = autocheckpoint;
	cairn_pactdb *db = NULL;
	if (cairn_pactdb_open(&db, path, &opts) != CAIRN_OK)
		fail_msg("open: %s", cairn_error_last());
	return db;
}

/* Opens a database with `prefill` blocks and starts the writer on it, and
 * a background checkpointer when autocheckpoint is the valve. */
static void start_writer(writer *w, void **state, uint64_t prefill, int autocheckpoint)
{
	char path[PATH_MAX];
	memset(w, 0, sizeof(*w));
	w->db = open_db(store_fixture_path(path, sizeof(path), state, "pact.sqlite"), autocheckpoint);
	for (uint64_t h = 0; h < prefill; h++)
		assert_int_equal(apply_block(w->db, h), CAIRN_OK);
	atomic_init(&w->blocks, prefill);
	atomic_init(&w->max_blocks, prefill + WRITER_MAX_EXTRA_BLOCKS);
	atomic_init(&w->stop, false);
	atomic_init(&w->running, true);
	pthread_mutex_init(&w->commit_lock, NULL);
	assert_int_equal(pthread_create(&w->thread, NULL, write_blocks, w), 0);
	w->background_checkpoints = autocheckpoint == CAIRN_PACTDB_VALVE_PAGES;
	if (w->background_checkpoints)
		assert_int_equal(pthread_create(&w->checkpointer, NULL, checkpoint_blocks, w), 0);
}

/* Stops and joins the writer's threads and closes its database; idempotent. */
static void halt_writer(writer *w)
{
	if (!atomic_exchange(&w->running, false))
		return;
	atomic_store(&w->stop, true);
	pthread_join(w->thread, NULL);
	if (w->background_checkpoints)
		pthread_join(w->checkpointer, NULL);
	cairn_pactdb_close(w->db);
	pthread_mutex_destroy(&w->commit_lock);
}

static void stop_writer(writer *w)
{
	halt_writer(w);
	assert_int_equal(w->failures, 0);
}

static int writer_teardown(void **state)
{
	halt_writer(&the_writer);
	return store_fixture_teardown(state);
}

/* Takes a snapshot under the commit lock; returns the blocks committed then. */
static uint64_t begin_snapshot(cairn_pactdb_snapshot **snap, writer *w)
{
	pthread_mutex_lock(&w->commit_lock);
	if (cairn_pactdb_snapshot_begin(snap, w->db) != CAIRN_OK)
		fail_msg("snapshot: %s", cairn_error_last());
	uint64_t blocks = atomic_load(&w->blocks);
	pthread_mutex_unlock(&w->commit_lock);
	uint64_t height;
	assert_int_equal(cairn_pactdb_snapshot_last_block(&height, NULL, *snap), CAIRN_OK);
	assert_int_equal(height, blocks - 1);
	return blocks;
}

/* Waits (bounded) until the writer committed `more` blocks past `blocks`. */
static void wait_for_writer(writer *w, uint64_t blocks, uint64_t more)
{
	uint64_t cap = atomic_load(&w->max_blocks);
	if (cap < blocks + more)
		atomic_store(&w->max_blocks, blocks + more);
	for (int i = 0; i < 60000 && atomic_load(&w->blocks) < blocks + more; i++)
		usleep(1000);
	assert_true(atomic_load(&w->blocks) >= blocks + more);
}

static char *query_text(sqlite3 *conn, const char *sql)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(conn, sql, -1, &s, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(conn));
	char *v = sqlite3_step(s) == SQLITE_ROW ? strdup((const char *)sqlite3_column_text(s, 0)) : NULL;
	sqlite3_finalize(s);
	assert_non_null(v);
	return v;
}

static void expect_query(sqlite3 *conn, const char *sql, const char *expect)
{
	char *v = query_text(conn, sql);
	if (strcmp(v, expect) != 0)
		fail_msg("%s: got '%s', expected '%s'", sql, v, expect);
	free(v);
}

/* The copy is one self-contained, intact file holding exactly `blocks` blocks. */
static void verify_copy(const char *path, uint64_t blocks)
{
	char wal[PATH_MAX + 8], expect[64];
	snprintf(wal, sizeof(wal), "%s-wal", path);
	assert_false(cairn_fs_exists(wal));
	sqlite3 *conn;
	assert_int_equal(sqlite3_open_v2(path, &conn, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	expect_query(conn, "PRAGMA integrity_check", "ok");
	snprintf(expect, sizeof(expect), "%llu", (unsigned long long)blocks - 1);
	expect_query(conn, "SELECT max(blockheight) FROM BlockHistory", expect);
	expect_query(conn, "SELECT CAST(rowdata AS TEXT) FROM [coin_coin-table] WHERE rowkey = 'acct-9'"
		" ORDER BY txid DESC LIMIT 1", expect);
	snprintf(expect, sizeof(expect), "%llu", (unsigned long long)blocks);
	expect_query(conn, "SELECT count(*) FROM BlockHistory", expect);
	snprintf(expect, sizeof(expect), "%llu", (unsigned long long)blocks * 2 * TXS_PER_BLOCK);
	expect_query(conn, "SELECT count(*) FROM [coin_coin-table]", expect);
	snprintf(expect, sizeof(expect), "%llu", (unsigned long long)blocks * TXS_PER_BLOCK);
	expect_query(conn, "SELECT count(*) FROM TransactionIndex", expect);
	sqlite3_close(conn);
}

/* Removes a verified copy and the -wal/-shm files its check left. */
static void remove_copy(const char *path)
{
	char side[PATH_MAX + 8];
	assert_int_equal(unlink(path), 0);
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
}

static void copy_and_verify(const cairn_pactdb_snapshot *snap, const char *dest, uint64_t blocks,
	cairn_pactdb_copy_method method, cairn_pactdb_copy_stats *stats)
{
	if (cairn_pactdb_snapshot_copy(snap, dest, method, stats) != CAIRN_OK)
		fail_msg("copy: %s", cairn_error_last());
	assert_int_equal(stats->method, method);
	verify_copy(dest, blocks);
	remove_copy(dest);
}

static void copies_under_committing_writer(void **state, int autocheckpoint)
{
	writer *w = &the_writer;
	start_writer(w, state, 1000, autocheckpoint);
	char dest[PATH_MAX];
	store_fixture_path(dest, sizeof(dest), state, "copy.sqlite");
	int with_wal = 0;
	for (int i = 0; i < 30; i++) {
		cairn_pactdb_snapshot *snap;
		uint64_t blocks = begin_snapshot(&snap, w);
		if (i % 4 == 3)
			wait_for_writer(w, blocks, 50); /* the snapshot does not hold the writer */
		cairn_pactdb_copy_stats stats;
		cairn_pactdb_copy_method method = i % 5 == 4 ? CAIRN_PACTDB_COPY_BACKUP_API : CAIRN_PACTDB_COPY_FILES;
		copy_and_verify(snap, dest, blocks, method, &stats);
		with_wal += stats.wal_frames > 0;
		cairn_pactdb_snapshot_end(snap);
	}
	assert_true(with_wal > 0);
	stop_writer(w);
}

/* A small autocheckpoint (a block writes about 10 pages) keeps the writer
 * checkpointing every few blocks, during copies too. */
static void test_copies_under_committing_writer(void **state)
{
	copies_under_committing_writer(state, 40);
}

/* The same with a background thread checkpointing (and restarting the WAL
 * whenever it can) all the time instead. */
static void test_copies_under_background_checkpoints(void **state)
{
	copies_under_committing_writer(state, CAIRN_PACTDB_VALVE_PAGES);
}

/* The WAL header's salts, which change whenever the WAL restarts. */
static uint64_t wal_salt(const char *db_path)
{
	char wal[PATH_MAX + 8];
	snprintf(wal, sizeof(wal), "%s-wal", db_path);
	FILE *f = fopen(wal, "rb"); /* the WAL file carries no locks: closing is harmless */
	assert_non_null(f);
	uint8_t header[32];
	assert_int_equal(fread(header, 1, sizeof(header), f), sizeof(header));
	fclose(f);
	uint64_t salt;
	memcpy(&salt, header + 16, sizeof(salt));
	return salt;
}

/* A snapshot taken when the WAL is fully checkpointed reads the main file
 * alone; the writer then restarts the WAL and overwrites its frames, which
 * the copy must not depend on. */
static void test_copy_of_checkpointed_state_survives_wal_restart(void **state)
{
	char path[PATH_MAX], dest[PATH_MAX];
	store_fixture_path(path, sizeof(path), state, "pact.sqlite");
	cairn_pactdb *db = open_db(path, 1000);
	for (uint64_t h = 0; h < 300; h++)
		assert_int_equal(apply_block(db, h), CAIRN_OK);
	sqlite3 *conn;
	assert_int_equal(sqlite3_open(path, &conn), SQLITE_OK);
	expect_query(conn, "SELECT count(*) > 0 FROM sqlite_master", "1"); /* opens the WAL */
	int log = -1, done = -1;
	assert_int_equal(sqlite3_wal_checkpoint_v2(conn, "main", SQLITE_CHECKPOINT_FULL, &log, &done), SQLITE_OK);
	assert_true(log > 0);
	assert_int_equal(done, log);
	sqlite3_close(conn);
	uint64_t salt = wal_salt(path);

	cairn_pactdb_snapshot *snap;
	assert_int_equal(cairn_pactdb_snapshot_begin(&snap, db), CAIRN_OK);
	for (uint64_t h = 300; h < 600; h++)
		assert_int_equal(apply_block(db, h), CAIRN_OK);
	assert_true(wal_salt(path) != salt); /* the WAL did restart under the snapshot */
	cairn_pactdb_copy_stats stats;
	copy_and_verify(snap, store_fixture_path(dest, sizeof(dest), state, "copy.sqlite"), 300,
		CAIRN_PACTDB_COPY_FILES, &stats);
	assert_int_equal(stats.wal_frames, 0);
	cairn_pactdb_snapshot_end(snap);

	/* and with frames in the WAL, the other case (ending the snapshot
	 * folded the WAL: these blocks are new frames) */
	for (uint64_t h = 600; h < 620; h++)
		assert_int_equal(apply_block(db, h), CAIRN_OK);
	assert_int_equal(cairn_pactdb_snapshot_begin(&snap, db), CAIRN_OK);
	for (uint64_t h = 620; h < 700; h++)
		assert_int_equal(apply_block(db, h), CAIRN_OK);
	copy_and_verify(snap, dest, 620, CAIRN_PACTDB_COPY_FILES, &stats);
	assert_true(stats.wal_frames > 0);
	assert_true(stats.result_bytes > 0);
	cairn_pactdb_snapshot_end(snap);
	cairn_pactdb_close(db);
}

/* While a snapshot lives the commits do not checkpoint (they could not
 * pass its mark); ending it folds what they wrote into the main file on
 * the ending thread, before the next commit would: the main file alone
 * then holds every block. */
static void test_snapshot_end_folds_the_wal(void **state)
{
	char path[PATH_MAX], main_only[PATH_MAX];
	store_fixture_path(path, sizeof(path), state, "pact.sqlite");
	cairn_pactdb *db = open_db(path, 10);
	for (uint64_t h = 0; h < 50; h++)
		assert_int_equal(apply_block(db, h), CAIRN_OK);
	cairn_pactdb_snapshot *snap;
	assert_int_equal(cairn_pactdb_snapshot_begin(&snap, db), CAIRN_OK);
	for (uint64_t h = 50; h < 400; h++)
		assert_int_equal(apply_block(db, h), CAIRN_OK);
	cairn_pactdb_snapshot_end(snap);
	/* the main file, without its WAL */
	store_fixture_path(main_only, sizeof(main_only), state, "main-only.sqlite");
	FILE *in = fopen(path, "rb"), *out = fopen(main_only, "wb");
	assert_non_null(in);
	assert_non_null(out);
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	fclose(out);
	sqlite3 *conn;
	assert_int_equal(sqlite3_open(main_only, &conn), SQLITE_OK);
	expect_query(conn, "SELECT max(blockheight) FROM BlockHistory", "399");
	sqlite3_close(conn);
	/* the commits checkpoint again */
	for (uint64_t h = 400; h < 450; h++)
		assert_int_equal(apply_block(db, h), CAIRN_OK);
	cairn_pactdb_close(db);
}

enum { CHAINS = 4 };

typedef struct chain_copy {
	cairn_pactdb_snapshot *snap;
	char dest[PATH_MAX];
	int rc;
} chain_copy;

static void *copy_chain(void *arg)
{
	chain_copy *c = arg;
	c->rc = cairn_pactdb_snapshot_copy(c->snap, c->dest, CAIRN_PACTDB_COPY_FILES, NULL);
	return NULL;
}

/* Snapshots of several chains taken together, copied in parallel threads
 * while the chains move on, each hold their chain's state at the snapshot. */
static void test_parallel_copies_of_many_chains(void **state)
{
	cairn_pactdb *dbs[CHAINS];
	chain_copy copies[CHAINS];
	pthread_t threads[CHAINS];
	for (uint32_t c = 0; c < CHAINS; c++) {
		char path[PATH_MAX], name[64];
		snprintf(name, sizeof(name), "db/0/sqlite/pact-v1-chain-%u.sqlite", c);
		dbs[c] = open_db(store_fixture_path(path, sizeof(path), state, name), 1000);
		for (uint64_t h = 0; h < 200 + c; h++)
			assert_int_equal(apply_block(dbs[c], h), CAIRN_OK);
	}
	for (uint32_t c = 0; c < CHAINS; c++) {
		char name[32];
		snprintf(name, sizeof(name), "copy-%u.sqlite", c);
		store_fixture_path(copies[c].dest, sizeof(copies[c].dest), state, name);
		assert_int_equal(cairn_pactdb_snapshot_begin(&copies[c].snap, dbs[c]), CAIRN_OK);
	}
	for (uint32_t c = 0; c < CHAINS; c++)
		assert_int_equal(pthread_create(&threads[c], NULL, copy_chain, &copies[c]), 0);
	for (uint64_t h = 0; h < 20; h++) /* the chains move on meanwhile */
		for (uint32_t c = 0; c < CHAINS; c++)
			assert_int_equal(apply_block(dbs[c], 200 + c + h), CAIRN_OK);
	for (uint32_t c = 0; c < CHAINS; c++) {
		pthread_join(threads[c], NULL);
		assert_int_equal(copies[c].rc, CAIRN_OK);
		verify_copy(copies[c].dest, 200 + c);
		cairn_pactdb_snapshot_end(copies[c].snap);
		cairn_pactdb_close(dbs[c]);
	}
}

static bool dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	if (d == NULL)
		return false;
	struct dirent *e;
	int entries = 0;
	while ((e = readdir(d)) != NULL)
		entries += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return entries == 0;
}

/* Copies with both methods must fail with a reason (the system's, or
 * SQLite's when it did the writing) and leave `dir` empty.  Returns what
 * went wrong, or NULL, so the caller can undo mounts and flags first. */
static const char *clean_failure_problem(cairn_pactdb_snapshot *snap, const char *dir, const char *reason,
	const char *sqlite_reason)
{
	static _Thread_local char problem[1200];
	char dest[PATH_MAX];
	snprintf(dest, sizeof(dest), "%s/pact-v1-chain-0.sqlite", dir);
	for (int m = 0; m < 2; m++) {
		int rc = cairn_pactdb_snapshot_copy(snap, dest, (cairn_pactdb_copy_method)m, NULL);
		const char *msg = cairn_error_last();
		if (rc >= 0 || (strstr(msg, reason) == NULL && strstr(msg, sqlite_reason) == NULL)) {
			snprintf(problem, sizeof(problem), "method %d: rc %d, '%s' does not say '%s'", m, rc, msg, reason);
			return problem;
		}
		if (cairn_fs_is_dir(dir) && !dir_is_empty(dir))
			return "partial files left behind";
	}
	return NULL;
}

static void expect_no_problem(const char *problem)
{
	if (problem != NULL)
		fail_msg("%s", problem);
}

/* Makes a directory unwritable even for root (immutable flag), or by mode
 * when not root; returns false when neither works here. */
static bool make_unwritable(const char *dir, bool on)
{
	if (geteuid() != 0)
		return chmod(dir, on ? 0555 : 0755) == 0;
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	int flags = 0;
	bool ok = fd >= 0 && ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0;
	flags = on ? flags | FS_IMMUTABLE_FL : flags & ~FS_IMMUTABLE_FL;
	ok = ok && ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static void test_copy_failures_are_clean(void **state)
{
	char path[PATH_MAX], dir[PATH_MAX];
	cairn_pactdb *db = open_db(store_fixture_path(path, sizeof(path), state, "pact.sqlite"), 1000);
	for (uint64_t h = 0; h < 400; h++) /* a few hundred kilobytes */
		assert_int_equal(apply_block(db, h), CAIRN_OK);
	cairn_pactdb_snapshot *snap;
	assert_int_equal(cairn_pactdb_snapshot_begin(&snap, db), CAIRN_OK);

	const char *problem = clean_failure_problem(snap, store_fixture_path(dir, sizeof(dir), state, "vanished"),
		"No such file", "No such file");
	expect_no_problem(problem);

	assert_int_equal(cairn_pactdb_snapshot_copy(snap, path, CAIRN_PACTDB_COPY_FILES, NULL), CAIRN_EEXISTS);

	store_fixture_path(dir, sizeof(dir), state, "readonly");
	assert_int_equal(mkdir(dir, 0755), 0);
	if (make_unwritable(dir, true)) {
		const char *denied = geteuid() == 0 ? "not permitted" : "Permission denied";
		problem = clean_failure_problem(snap, dir, denied, denied);
		assert_true(make_unwritable(dir, false));
		expect_no_problem(problem);
	} else {
		print_message("skipped read-only directory: cannot make '%s' unwritable\n", dir);
	}

	store_fixture_path(dir, sizeof(dir), state, "full");
	assert_int_equal(mkdir(dir, 0755), 0);
	if (mount("tmpfs", dir, "tmpfs", 0, "size=64k") == 0) {
		problem = clean_failure_problem(snap, dir, "No space left", "disk is full");
		assert_int_equal(umount2(dir, MNT_DETACH), 0);
		expect_no_problem(problem);
	} else {
		print_message("skipped full directory: cannot mount a small tmpfs (%s)\n", strerror(errno));
	}
	cairn_pactdb_snapshot_end(snap);
	cairn_pactdb_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		STORE_TEST(test_snapshot_end_folds_the_wal),
		cmocka_unit_test_setup_teardown(test_copies_under_committing_writer, store_fixture_setup, writer_teardown),
		cmocka_unit_test_setup_teardown(test_copies_under_background_checkpoints, store_fixture_setup,
			writer_teardown),
		STORE_TEST(test_copy_of_checkpointed_state_survives_wal_restart),
		STORE_TEST(test_parallel_copies_of_many_chains),
		STORE_TEST(test_copy_failures_are_clean),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
