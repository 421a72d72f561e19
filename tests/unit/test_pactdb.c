/* Unit tests for store/pactdb on real SQLite files: the schema has
 * chainweb-node's shape, blocks apply with the documented txids, row
 * versions accumulate, rollback restores an earlier state exactly, and
 * everything survives reopening. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <sys/stat.h>

#include "store/pactdb.h"
#include "store_fixture.h"
#include "util/error.h"

#define COIN CAIRN_PACTDB_COIN_TABLE
#define MAX_TXS 4

/* A block of test data: a coinbase (not indexed) crediting "miner", then
 * `ntxs` transfers each writing two accounts.  Values encode the height so
 * a state can be recomputed. */
typedef struct test_block {
	uint8_t hash[32];
	uint8_t tx_hashes[MAX_TXS][32];
	char rowdata[MAX_TXS + 1][2][64];
	char keys[MAX_TXS + 1][2][32];
	cairn_pactdb_write writes[MAX_TXS + 1][2];
	cairn_pactdb_tx txs[MAX_TXS + 1];
	cairn_pactdb_block b;
} test_block;

static void make_block(test_block *t, uint64_t height, size_t ntxs, const char *table)
{
	memset(t, 0, sizeof(*t));
	store_fixture_hash(t->hash, 0xa1, height, 0);
	for (size_t i = 0; i <= ntxs; i++) {
		size_t nwrites = i == 0 ? 1 : 2;
		for (size_t w = 0; w < nwrites; w++) {
			if (i == 0)
				snprintf(t->keys[i][w], sizeof(t->keys[i][w]), "miner");
			else
				snprintf(t->keys[i][w], sizeof(t->keys[i][w]), "acct-%zu", (i - 1) * 2 + w);
			snprintf(t->rowdata[i][w], sizeof(t->rowdata[i][w]), "{\"balance\":%llu.%zu}",
				(unsigned long long)height, i);
			t->writes[i][w] = (cairn_pactdb_write){
				.table = table, .rowkey = t->keys[i][w],
				.rowdata = t->rowdata[i][w], .rowdata_len = strlen(t->rowdata[i][w]),
			};
		}
		if (i > 0)
			store_fixture_hash(t->tx_hashes[i - 1], 0xa2, height, i);
		t->txs[i] = (cairn_pactdb_tx){
			.hash = i == 0 ? NULL : t->tx_hashes[i - 1], .writes = t->writes[i], .nwrites = nwrites,
		};
	}
	t->b = (cairn_pactdb_block){.height = height, .hash = t->hash, .txs = t->txs, .ntxs = ntxs + 1};
}

static cairn_pactdb *open_with(const char *path, bool read_only, unsigned group_blocks)
{
	cairn_pactdb_options opts = CAIRN_PACTDB_OPTIONS_INIT;
	opts.read_only = read_only;
	opts.group_blocks = group_blocks;
	cairn_pactdb *db = NULL;
	if (cairn_pactdb_open(&db, path, &opts) != CAIRN_OK)
		fail_msg("open %s: %s", path, cairn_error_last());
	return db;
}

static cairn_pactdb *open_db(const char *path, bool read_only)
{
	return open_with(path, read_only, 1);
}

static void apply(cairn_pactdb *db, uint64_t height, size_t ntxs, const char *table)
{
	test_block t;
	make_block(&t, height, ntxs, table);
	if (cairn_pactdb_apply_block(db, &t.b) != CAIRN_OK)
		fail_msg("apply %llu: %s", (unsigned long long)height, cairn_error_last());
}

static void expect_row(cairn_pactdb *db, const char *table, const char *key, const char *value)
{
	char *data = NULL;
	size_t len;
	assert_int_equal(cairn_pactdb_read_row(&data, &len, db, table, key), CAIRN_OK);
	assert_string_equal(data, value);
	assert_int_equal(len, strlen(value));
	free(data);
}

/* Runs one integer query on the file through a separate connection. */
static long long query_int(const char *path, const char *sql)
{
	sqlite3 *conn;
	assert_int_equal(sqlite3_open_v2(path, &conn, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(conn, sql, -1, &s, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(conn));
	long long v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
	sqlite3_finalize(s);
	sqlite3_close(conn);
	return v;
}

static const char *db_path(char *buf, size_t size, void **state)
{
	return store_fixture_path(buf, size, state, "data/0/sqlite/pact-v1-chain-0.sqlite");
}

static void test_path_layout(void **state)
{
	(void)state;
	char buf[128];
	assert_int_equal(cairn_pactdb_path(buf, sizeof(buf), "/var/db", 19), CAIRN_OK);
	assert_string_equal(buf, "/var/db/0/sqlite/pact-v1-chain-19.sqlite");
	assert_int_equal(cairn_pactdb_path(buf, 10, "/var/db", 19), CAIRN_EINVALID);
}

static void test_schema_has_chainweb_shape(void **state)
{
	char path[PATH_MAX];
	cairn_pactdb *db = open_db(db_path(path, sizeof(path), state), false);
	apply(db, 0, 1, COIN);
	static const char *const columns[][2] = {
		{"BlockHistory", "blockheight,hash,endingtxid"},
		{"TransactionIndex", "txhash,blockheight"},
		{"VersionedTableCreation", "tablename,createBlockheight"},
		{"VersionedTableMutation", "tablename,blockheight"},
		{"SYS:KeySets", "rowkey,txid,rowdata,hash"},
		{"SYS:Modules", "rowkey,txid,rowdata,hash"},
		{"SYS:Namespaces", "rowkey,txid,rowdata,hash"},
		{"SYS:Pacts", "rowkey,txid,rowdata,hash"},
		{COIN, "rowkey,txid,rowdata,hash"},
	};
	for (size_t i = 0; i < sizeof(columns) / sizeof(columns[0]); i++) {
		char sql[256];
		snprintf(sql, sizeof(sql),
			"SELECT group_concat(name, ',') = '%s' FROM (SELECT name FROM pragma_table_info('%s') ORDER BY cid)",
			columns[i][1], columns[i][0]);
		if (query_int(path, sql) != 1)
			fail_msg("columns of %s", columns[i][0]);
	}
	assert_int_equal(query_int(path,
		"SELECT count(*) FROM VersionedTableCreation WHERE tablename = 'coin_coin-table' AND createBlockheight = 0"), 1);
	assert_int_equal(query_int(path,
		"SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN ('coin_coin-table_ix', 'transactionIndexByBH')"), 2);
	sqlite3 *conn;
	assert_int_equal(sqlite3_open(path, &conn), SQLITE_OK);
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_prepare_v2(conn, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
	sqlite3_finalize(s);
	sqlite3_close(conn);
	cairn_pactdb_close(db);
}

static void test_apply_assigns_txids_and_indexes(void **state)
{
	char path[PATH_MAX];
	cairn_pactdb *db = open_db(db_path(path, sizeof(path), state), false);
	uint64_t height;
	assert_int_equal(cairn_pactdb_last_block(&height, NULL, NULL, db), CAIRN_ENOTFOUND);
	apply(db, 100, 2, COIN); /* 3 transactions: txids 0, 1, 2 */
	apply(db, 101, 3, COIN); /* 4 transactions: txids 3..6 */
	uint8_t hash[32], expect[32];
	uint64_t ending;
	assert_int_equal(cairn_pactdb_last_block(&height, hash, &ending, db), CAIRN_OK);
	assert_int_equal(height, 101);
	assert_int_equal(ending, 7);
	store_fixture_hash(expect, 0xa1, 101, 0);
	assert_memory_equal(hash, expect, 32);
	assert_int_equal(cairn_pactdb_block_hash_at(hash, db, 100), CAIRN_OK);
	store_fixture_hash(expect, 0xa1, 100, 0);
	assert_memory_equal(hash, expect, 32);
	assert_int_equal(cairn_pactdb_block_hash_at(hash, db, 99), CAIRN_ENOTFOUND);
	assert_int_equal(query_int(path, "SELECT endingtxid FROM BlockHistory WHERE blockheight = 100"), 3);
	/* the second transfer of block 101 is its transaction 2: txid 3 + 2 */
	assert_int_equal(query_int(path,
		"SELECT txid FROM [coin_coin-table] WHERE rowkey = 'acct-2' AND CAST(rowdata AS TEXT) LIKE '%101.2%'"), 5);
	assert_int_equal(query_int(path, "SELECT max(txid) FROM [coin_coin-table]"), 6);
	expect_row(db, COIN, "miner", "{\"balance\":101.0}");
	expect_row(db, COIN, "acct-4", "{\"balance\":101.3}");
	store_fixture_hash(expect, 0xa2, 101, 3);
	assert_int_equal(cairn_pactdb_tx_height(&height, db, expect), CAIRN_OK);
	assert_int_equal(height, 101);
	store_fixture_hash(expect, 0xa2, 102, 1);
	assert_int_equal(cairn_pactdb_tx_height(&height, db, expect), CAIRN_ENOTFOUND);
	assert_int_equal(query_int(path, "SELECT count(*) FROM TransactionIndex"), 5); /* coinbases not indexed */
	assert_int_equal(query_int(path,
		"SELECT count(*) FROM VersionedTableMutation WHERE tablename = 'coin_coin-table'"), 2);
	char *data;
	assert_int_equal(cairn_pactdb_read_row(&data, NULL, db, COIN, "nobody"), CAIRN_ENOTFOUND);
	assert_int_equal(cairn_pactdb_read_row(&data, NULL, db, "user_absent", "x"), CAIRN_ENOTFOUND);
	cairn_pactdb_close(db);
}

static void test_versions_are_never_overwritten(void **state)
{
	char path[PATH_MAX];
	cairn_pactdb *db = open_db(db_path(path, sizeof(path), state), false);
	for (uint64_t h = 0; h < 6; h++)
		apply(db, h, 1, COIN);
	assert_int_equal(query_int(path, "SELECT count(*) FROM [coin_coin-table] WHERE rowkey = 'miner'"), 6);
	assert_int_equal(query_int(path,
		"SELECT count(DISTINCT txid) FROM [coin_coin-table] WHERE rowkey = 'miner'"), 6);
	assert_int_equal(query_int(path,
		"SELECT count(*) FROM [coin_coin-table] WHERE rowkey = 'miner' AND CAST(rowdata AS TEXT) = '{\"balance\":0.0}'"), 1);
	expect_row(db, COIN, "miner", "{\"balance\":5.0}");
	cairn_pactdb_close(db);
}

static void test_refused_blocks_change_nothing(void **state)
{
	char path[PATH_MAX];
	cairn_pactdb *db = open_db(db_path(path, sizeof(path), state), false);
	apply(db, 10, 1, COIN);
	test_block t;
	make_block(&t, 12, 1, COIN);
	assert_int_equal(cairn_pactdb_apply_block(db, &t.b), CAIRN_EINVALID);
	static const char *const bad_tables[] = {"BlockHistory", "blockhistory", "sqlite_master", "a]b", ""};
	for (size_t i = 0; i < sizeof(bad_tables) / sizeof(bad_tables[0]); i++) {
		make_block(&t, 11, 1, bad_tables[i]);
		assert_int_equal(cairn_pactdb_apply_block(db, &t.b), CAIRN_EINVALID);
	}
	/* fails inside SQLite after creating a table: a transaction hash already
	 * indexed by block 10 */
	make_block(&t, 11, 1, "user_fresh");
	store_fixture_hash(t.tx_hashes[0], 0xa2, 10, 1);
	assert_int_equal(cairn_pactdb_apply_block(db, &t.b), CAIRN_EINVALID);
	assert_int_equal(query_int(path, "SELECT count(*) FROM sqlite_master WHERE name = 'user_fresh'"), 0);
	assert_int_equal(query_int(path, "SELECT max(blockheight) FROM BlockHistory"), 10);
	/* and the handle is still usable: the same height applies, creating it */
	apply(db, 11, 1, "user_fresh");
	expect_row(db, "user_fresh", "acct-0", "{\"balance\":11.1}");
	uint64_t ending, height;
	assert_int_equal(cairn_pactdb_last_block(&height, NULL, &ending, db), CAIRN_OK);
	assert_int_equal(ending, 4);
	cairn_pactdb_close(db);
}

static void test_rollback_restores_earlier_state(void **state)
{
	char path[PATH_MAX];
	cairn_pactdb *db = open_db(db_path(path, sizeof(path), state), false);
	for (uint64_t h = 0; h < 10; h++)
		apply(db, h, 2, h == 5 ? "user_late" : COIN);
	apply(db, 10, 1, "SYS:KeySets");

	assert_int_equal(cairn_pactdb_rollback_above(db, 12), CAIRN_OK); /* above the last: no-op */
	assert_int_equal(query_int(path, "SELECT max(blockheight) FROM BlockHistory"), 10);

	assert_int_equal(cairn_pactdb_rollback_above(db, 6), CAIRN_OK);
	expect_row(db, "user_late", "acct-0", "{\"balance\":5.1}"); /* created at 5: kept */
	expect_row(db, COIN, "miner", "{\"balance\":6.0}");
	assert_int_equal(query_int(path, "SELECT count(*) FROM [SYS:KeySets]"), 0);

	assert_int_equal(cairn_pactdb_rollback_above(db, 4), CAIRN_OK);
	char *data;
	assert_int_equal(cairn_pactdb_read_row(&data, NULL, db, "user_late", "acct-0"), CAIRN_ENOTFOUND);
	assert_int_equal(query_int(path, "SELECT count(*) FROM sqlite_master WHERE name LIKE 'user_late%'"), 0);
	expect_row(db, COIN, "miner", "{\"balance\":4.0}");
	assert_int_equal(query_int(path, "SELECT max(txid) FROM [coin_coin-table]"), 14); /* 5 blocks x 3 txs */
	assert_int_equal(query_int(path, "SELECT max(blockheight) FROM TransactionIndex"), 4);
	assert_int_equal(query_int(path, "SELECT max(blockheight) FROM VersionedTableMutation"), 4);
	assert_int_equal(query_int(path, "SELECT count(*) FROM VersionedTableCreation WHERE createBlockheight > 4"), 0);
	uint8_t tx[32];
	uint64_t height, ending;
	store_fixture_hash(tx, 0xa2, 7, 1);
	assert_int_equal(cairn_pactdb_tx_height(&height, db, tx), CAIRN_ENOTFOUND);

	/* the chain continues from the restored state with the right txids */
	apply(db, 5, 2, COIN);
	assert_int_equal(cairn_pactdb_last_block(&height, NULL, &ending, db), CAIRN_OK);
	assert_int_equal(height, 5);
	assert_int_equal(ending, 18);
	test_block t;
	make_block(&t, 7, 1, COIN);
	assert_int_equal(cairn_pactdb_apply_block(db, &t.b), CAIRN_EINVALID);

	/* down to the first block */
	assert_int_equal(cairn_pactdb_rollback_above(db, 0), CAIRN_OK);
	expect_row(db, COIN, "miner", "{\"balance\":0.0}");
	cairn_pactdb_close(db);
}

static void test_rollback_below_first_block_empties(void **state)
{
	char path[PATH_MAX];
	cairn_pactdb *db = open_db(db_path(path, sizeof(path), state), false);
	for (uint64_t h = 852054; h < 852058; h++)
		apply(db, h, 1, COIN);
	assert_int_equal(cairn_pactdb_rollback_above(db, 852053), CAIRN_OK);
	uint64_t height;
	assert_int_equal(cairn_pactdb_last_block(&height, NULL, NULL, db), CAIRN_ENOTFOUND);
	assert_int_equal(query_int(path, "SELECT count(*) FROM [SYS:Pacts]"), 0);
	assert_int_equal(query_int(path, "SELECT count(*) FROM sqlite_master WHERE name = 'coin_coin-table'"), 0);
	apply(db, 0, 1, COIN);
	assert_int_equal(query_int(path, "SELECT min(txid) FROM [coin_coin-table]"), 0);
	cairn_pactdb_close(db);
}

static void test_reopen_persists_and_continues(void **state)
{
	char path[PATH_MAX];
	db_path(path, sizeof(path), state);
	cairn_pactdb *db = open_db(path, false);
	for (uint64_t h = 0; h < 3; h++)
		apply(db, h, 1, COIN);
	cairn_pactdb_close(db);

	db = open_db(path, true);
	expect_row(db, COIN, "acct-1", "{\"balance\":2.1}");
	test_block t;
	make_block(&t, 3, 1, COIN);
	assert_int_equal(cairn_pactdb_apply_block(db, &t.b), CAIRN_EINVALID);
	assert_int_equal(cairn_pactdb_rollback_above(db, 0), CAIRN_EINVALID);
	cairn_pactdb_snapshot *snap;
	assert_int_equal(cairn_pactdb_snapshot_begin(&snap, db), CAIRN_EINVALID);
	cairn_pactdb_close(db);

	db = open_db(path, false);
	uint64_t height, ending;
	assert_int_equal(cairn_pactdb_last_block(&height, NULL, &ending, db), CAIRN_OK);
	assert_int_equal(height, 2);
	assert_int_equal(ending, 6);
	apply(db, 3, 1, COIN);
	assert_int_equal(query_int(path, "SELECT max(txid) FROM [coin_coin-table]"), 7);
	cairn_pactdb_close(db);

	char absent[PATH_MAX];
	cairn_pactdb_options opts = CAIRN_PACTDB_OPTIONS_INIT;
	opts.create_if_missing = false;
	assert_int_equal(cairn_pactdb_open(&db, store_fixture_path(absent, sizeof(absent), state, "none.sqlite"), &opts),
		CAIRN_ENOTFOUND);
	assert_false(cairn_fs_exists(absent));
}

static long long file_bytes(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* Below the valve the committer does not checkpoint, so nothing reaches the
 * main file until cairn_pactdb_checkpoint runs; then the WAL is folded and,
 * once long, restarted, so it stops growing.  An autocheckpoint of 0 is
 * refused. */
static void test_background_checkpoint_folds_and_restarts_wal(void **state)
{
	char path[PATH_MAX], wal[PATH_MAX + 8];
	db_path(path, sizeof(path), state);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	cairn_pactdb_options opts = CAIRN_PACTDB_OPTIONS_INIT;
	opts.wal_autocheckpoint_pages = 0;
	cairn_pactdb *db;
	assert_int_equal(cairn_pactdb_open(&db, path, &opts), CAIRN_EINVALID);
	opts.wal_autocheckpoint_pages = CAIRN_PACTDB_VALVE_PAGES;
	assert_int_equal(cairn_pactdb_open(&db, path, &opts), CAIRN_OK);
	long long empty = file_bytes(path);
	for (uint64_t h = 0; h < 300; h++) /* some 4,000 pages, half the valve */
		apply(db, h, 4, COIN);
	assert_int_equal(file_bytes(path), empty);
	long long grown = file_bytes(wal);
	assert_int_equal(cairn_pactdb_checkpoint(db), CAIRN_OK);
	assert_true(file_bytes(path) > empty);
	for (uint64_t h = 300; h < 900; h++) {
		apply(db, h, 4, COIN);
		if (h % 20 == 0)
			assert_int_equal(cairn_pactdb_checkpoint(db), CAIRN_OK);
	}
	assert_true(file_bytes(wal) <= grown); /* restarted: it was rewritten from its start */
	expect_row(db, COIN, "miner", "{\"balance\":899.0}");
	cairn_pactdb_close(db);
}

static cairn_pactdb *open_grouped(const char *path, unsigned group_blocks)
{
	return open_with(path, false, group_blocks);
}

static long long committed_blocks(const char *path)
{
	return query_int(path, "SELECT count(*) FROM BlockHistory");
}

/* A group stays invisible to other connections until it holds group_blocks
 * blocks or is committed; the handle itself sees every applied block; every
 * block of a group keeps its own mutation record. */
static void test_group_commits_when_full_or_asked(void **state)
{
	char path[PATH_MAX];
	cairn_pactdb_options opts = CAIRN_PACTDB_OPTIONS_INIT;
	opts.group_blocks = 0;
	cairn_pactdb *db;
	assert_int_equal(cairn_pactdb_open(&db, db_path(path, sizeof(path), state), &opts), CAIRN_EINVALID);
	db = open_grouped(path, 4);
	for (uint64_t h = 0; h < 3; h++)
		apply(db, h, 1, COIN);
	assert_int_equal(committed_blocks(path), 0);
	uint64_t height;
	assert_int_equal(cairn_pactdb_last_block(&height, NULL, NULL, db), CAIRN_OK);
	assert_int_equal(height, 2);
	expect_row(db, COIN, "miner", "{\"balance\":2.0}");
	apply(db, 3, 1, COIN);
	assert_int_equal(committed_blocks(path), 4);
	assert_int_equal(query_int(path, "SELECT count(*) FROM VersionedTableMutation"), 4);
	apply(db, 4, 1, COIN);
	assert_int_equal(cairn_pactdb_commit(db, 3600), CAIRN_OK); /* younger than an hour: stays open */
	assert_int_equal(committed_blocks(path), 4);
	assert_int_equal(cairn_pactdb_commit(db, 0), CAIRN_OK);
	assert_int_equal(committed_blocks(path), 5);
	assert_int_equal(cairn_pactdb_commit(db, 0), CAIRN_OK); /* nothing open */
	cairn_pactdb_close(db);
}

/* A block failing inside SQLite rolls back its whole group; the handle
 * stands at the last committed block and continues from there. */
static void test_failing_block_rolls_back_its_group(void **state)
{
	char path[PATH_MAX];
	cairn_pactdb *db = open_grouped(db_path(path, sizeof(path), state), 8);
	apply(db, 0, 1, COIN);
	assert_int_equal(cairn_pactdb_commit(db, 0), CAIRN_OK);
	apply(db, 1, 1, COIN);
	apply(db, 2, 1, "user_fresh");
	test_block t;
	make_block(&t, 3, 1, COIN);
	store_fixture_hash(t.tx_hashes[0], 0xa2, 1, 1); /* already indexed by block 1 */
	assert_int_equal(cairn_pactdb_apply_block(db, &t.b), CAIRN_EINVALID);
	uint64_t height, ending;
	assert_int_equal(cairn_pactdb_last_block(&height, NULL, &ending, db), CAIRN_OK);
	assert_int_equal(height, 0);
	assert_int_equal(ending, 2);
	assert_int_equal(cairn_pactdb_read_row(&(char *){NULL}, NULL, db, "user_fresh", "acct-0"), CAIRN_ENOTFOUND);
	apply(db, 1, 1, COIN);
	assert_int_equal(cairn_pactdb_commit(db, 0), CAIRN_OK);
	assert_int_equal(committed_blocks(path), 2);
	cairn_pactdb_close(db);
}

/* Closing and rolling back commit the open group first; a snapshot pins
 * committed groups only. */
static void test_close_and_rollback_commit_the_group(void **state)
{
	char path[PATH_MAX];
	cairn_pactdb *db = open_grouped(db_path(path, sizeof(path), state), 100);
	for (uint64_t h = 0; h < 3; h++)
		apply(db, h, 1, COIN);
	cairn_pactdb_close(db);
	assert_int_equal(committed_blocks(path), 3);
	db = open_grouped(path, 100);
	apply(db, 3, 1, COIN);
	for (uint64_t expected = 2; expected <= 3; expected++) {
		cairn_pactdb_snapshot *snap;
		assert_int_equal(cairn_pactdb_snapshot_begin(&snap, db), CAIRN_OK);
		uint64_t height;
		assert_int_equal(cairn_pactdb_snapshot_last_block(&height, NULL, snap), CAIRN_OK);
		assert_int_equal(height, expected);
		cairn_pactdb_snapshot_end(snap);
		assert_int_equal(cairn_pactdb_commit(db, 0), CAIRN_OK);
	}
	apply(db, 4, 1, COIN);
	assert_int_equal(cairn_pactdb_rollback_above(db, 3), CAIRN_OK);
	assert_int_equal(committed_blocks(path), 4);
	apply(db, 4, 1, COIN);
	cairn_pactdb_close(db);
	assert_int_equal(committed_blocks(path), 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_layout),
		STORE_TEST(test_schema_has_chainweb_shape),
		STORE_TEST(test_apply_assigns_txids_and_indexes),
		STORE_TEST(test_versions_are_never_overwritten),
		STORE_TEST(test_refused_blocks_change_nothing),
		STORE_TEST(test_rollback_restores_earlier_state),
		STORE_TEST(test_rollback_below_first_block_empties),
		STORE_TEST(test_reopen_persists_and_continues),
		STORE_TEST(test_background_checkpoint_folds_and_restarts_wal),
		STORE_TEST(test_group_commits_when_full_or_asked),
		STORE_TEST(test_failing_block_rolls_back_its_group),
		STORE_TEST(test_close_and_rollback_commit_the_group),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
