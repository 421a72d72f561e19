/* Unit tests for node/pact: decimals; the producer's payloads (deterministic,
 * hash-consistent, bounded); and the translation on real PactDB files:
 * the coinbase credits the miner, transfers conserve coins, replayed request
 * keys and unfunded transfers change nothing, a block without contents is
 * empty, and the account cache never changes what is written, even after
 * the database was rolled back behind its back. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/genesis.h"
#include "node/pact.h"
#include "store_fixture.h"
#include "util/error.h"

#define ACCOUNTS CAIRN_PACT_ACCOUNT_COUNT

static const cairn_version *version = &cairn_version_test_singleton;

/* ---- decimals ---- */

static void expect_decimal(const char *text, uint64_t units, const char *formatted)
{
	uint64_t parsed;
	assert_int_equal(cairn_pact_decimal_parse(&parsed, text, strlen(text)), CAIRN_OK);
	assert_true(parsed == units);
	char out[CAIRN_PACT_DECIMAL_MAX];
	cairn_pact_decimal_format(out, units);
	assert_string_equal(out, formatted);
}

static void test_decimals(void **state)
{
	(void)state;
	expect_decimal("0", 0, "0.0");
	expect_decimal("5", 5 * CAIRN_PACT_UNITS_PER_COIN, "5.0");
	expect_decimal("2.304523", CAIRN_PACT_BLOCK_REWARD, "2.304523");
	expect_decimal("0.000000000001", 1, "0.000000000001");
	expect_decimal("18446744.073709551615", UINT64_MAX, "18446744.073709551615");
	static const char *const bad[] = {"", "-1", "+1", ".5", "1.", "1e5", "1.0000000000001", "0x10", "1 ",
		"18446744.073709551616", "99999999", "184467440737"};
	uint64_t parsed;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cairn_pact_decimal_parse(&parsed, bad[i], strlen(bad[i])), CAIRN_EINVALID);
}

/* ---- producing ---- */

static void make_payload(cairn_payload *p, uint64_t height, size_t txs)
{
	uint8_t parent[CAIRN_HASH_LEN];
	memset(parent, (int)height, sizeof(parent));
	assert_int_equal(cairn_pact_make_payload(p, version, 0, height, parent, 1700000000000000, txs), CAIRN_OK);
}

static void test_payloads_are_deterministic_and_consistent(void **state)
{
	(void)state;
	cairn_payload a, b;
	make_payload(&a, 7, 10);
	make_payload(&b, 7, 10);
	assert_int_equal(a.tx_count, 10);
	assert_memory_equal(&a.hashes, &b.hashes, sizeof(a.hashes));
	assert_int_equal(cairn_payload_verify(&a, a.hashes.payload), CAIRN_OK);
	for (size_t i = 0; i < a.tx_count; i++) {
		assert_int_equal(a.transactions[i].len, b.transactions[i].len);
		assert_memory_equal(a.transactions[i].data, b.transactions[i].data, a.transactions[i].len);
		assert_non_null(memmem(a.outputs[i].data, a.outputs[i].len, "\"TRANSFER\"", 10));
	}
	cairn_payload_free(&b);
	make_payload(&b, 8, 10);
	assert_memory_not_equal(a.hashes.payload, b.hashes.payload, CAIRN_HASH_LEN);
	cairn_payload_free(&a);
	cairn_payload_free(&b);
	make_payload(&a, 1, 0);
	assert_int_equal(a.tx_count, 0);
	cairn_payload_free(&a);
	uint8_t parent[CAIRN_HASH_LEN] = {0};
	assert_int_equal(cairn_pact_make_payload(&a, version, 0, 1, parent, 0, 1001), CAIRN_EINVALID);
}

/* ---- translating ---- */

static cairn_pactdb *open_db(void **state, const char *name)
{
	char path[PATH_MAX];
	cairn_pactdb *db;
	cairn_pactdb_options opts = CAIRN_PACTDB_OPTIONS_INIT;
	assert_int_equal(cairn_pactdb_open(&db, store_fixture_path(path, sizeof(path), state, name), &opts), CAIRN_OK);
	return db;
}

static void block_hash(uint8_t out[CAIRN_HASH_LEN], uint64_t height)
{
	store_fixture_hash(out, 0xb1, height, 0);
}

static void apply(cairn_pactdb *db, cairn_pact_cache *cache, uint64_t height, const cairn_payload *p)
{
	uint8_t hash[CAIRN_HASH_LEN];
	block_hash(hash, height);
	cairn_pact_block *plan;
	if (cairn_pact_plan(&plan, db, cache, height, hash, p) != CAIRN_OK || cairn_pact_apply(db, cache, plan) != CAIRN_OK)
		fail_msg("block %" PRIu64 ": %s", height, cairn_error_last());
	cairn_pact_block_free(plan);
}

/* The balance of account i, 0 when it has no row. */
static uint64_t balance(cairn_pactdb *db, unsigned i)
{
	char *row;
	int rc = cairn_pactdb_read_row(&row, NULL, db, CAIRN_PACTDB_COIN_TABLE, cairn_pact_account_name(i));
	if (rc == CAIRN_ENOTFOUND)
		return 0;
	assert_int_equal(rc, CAIRN_OK);
	const char *start = strstr(row, "\"balance\":");
	assert_non_null(start);
	start += strlen("\"balance\":");
	uint64_t units;
	assert_int_equal(cairn_pact_decimal_parse(&units, start, strcspn(start, ",}")), CAIRN_OK);
	free(row);
	return units;
}

static uint64_t total_balance(cairn_pactdb *db)
{
	uint64_t sum = 0;
	for (unsigned i = 0; i < ACCOUNTS; i++)
		sum += balance(db, i);
	return sum;
}

static uint64_t count_rows(void **state, const char *name, const char *sql)
{
	char path[PATH_MAX];
	sqlite3 *db;
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_open_v2(store_fixture_path(path, sizeof(path), state, name), &db,
		SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	uint64_t n = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return n;
}

static void test_blocks_credit_and_transfer(void **state)
{
	cairn_pactdb *db = open_db(state, "pact.sqlite");
	for (uint64_t h = 1; h <= 5; h++) {
		cairn_payload p;
		make_payload(&p, h, 4);
		apply(db, NULL, h, &p);
		cairn_payload_free(&p);
		assert_true(total_balance(db) == h * CAIRN_PACT_BLOCK_REWARD);
	}
	uint64_t last, endingtxid;
	assert_int_equal(cairn_pactdb_last_block(&last, NULL, &endingtxid, db), CAIRN_OK);
	assert_int_equal(last, 5);
	assert_int_equal(endingtxid, 5 * 5); /* coinbase and four transfers per block */
	cairn_pactdb_close(db);
	assert_int_equal(count_rows(state, "pact.sqlite", "SELECT count(*) FROM TransactionIndex"), 20);
	assert_int_equal(count_rows(state, "pact.sqlite", "SELECT count(*) FROM [coin_coin-table]"), 5 * 9);
}

/* A payload with the given transactions and the miner data of `from`. */
static void custom_payload(cairn_payload *out, const cairn_payload *from, size_t n, const cairn_slice *txs)
{
	assert_int_equal(cairn_payload_create(out, from->miner_data, from->coinbase, n, txs, from->outputs), CAIRN_OK);
}

static void test_replays_and_unfunded_transfers_change_nothing(void **state)
{
	cairn_pactdb *db = open_db(state, "pact.sqlite");
	cairn_payload first, second, replay;
	make_payload(&first, 1, 3);
	apply(db, NULL, 1, &first);
	/* Block 2 repeats block 1's transactions: only its coinbase counts. */
	make_payload(&second, 2, 3);
	custom_payload(&replay, &second, first.tx_count, first.transactions);
	apply(db, NULL, 2, &replay);
	cairn_payload_free(&replay);
	assert_true(total_balance(db) == 2 * CAIRN_PACT_BLOCK_REWARD);
	/* Block 3: a transfer from an account without coins, and bytes that are no JSON. */
	static const char unfunded[] = "{\"hash\":\"" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "\",\"sigs\":[],"
		"\"cmd\":\"{\\\"payload\\\":{\\\"exec\\\":{\\\"data\\\":{\\\"sender\\\":\\\"k:nobody\\\","
		"\\\"receiver\\\":\\\"k:somebody\\\",\\\"receiver-guard\\\":{\\\"keys\\\":[],\\\"pred\\\":\\\"keys-all\\\"},"
		"\\\"amount\\\":1.0}}}}\"}";
	static const char garbage[] = "not json at all";
	const cairn_slice txs[2] = {{(const uint8_t *)unfunded, sizeof(unfunded) - 1},
		{(const uint8_t *)garbage, sizeof(garbage) - 1}};
	cairn_payload third, odd;
	make_payload(&third, 3, 2);
	custom_payload(&odd, &third, 2, txs);
	apply(db, NULL, 3, &odd);
	assert_true(total_balance(db) == 3 * CAIRN_PACT_BLOCK_REWARD);
	uint64_t height;
	uint8_t zero[CAIRN_HASH_LEN] = {0};
	assert_int_equal(cairn_pactdb_tx_height(&height, db, zero), CAIRN_OK); /* indexed all the same */
	assert_int_equal(height, 3);
	/* Block 4 has no contents: an empty block. */
	uint64_t before, after;
	assert_int_equal(cairn_pactdb_last_block(&height, NULL, &before, db), CAIRN_OK);
	apply(db, NULL, 4, NULL);
	assert_int_equal(cairn_pactdb_last_block(&height, NULL, &after, db), CAIRN_OK);
	assert_int_equal(height, 4);
	assert_int_equal(after, before);
	cairn_pactdb_close(db);
	assert_int_equal(count_rows(state, "pact.sqlite", "SELECT count(*) FROM TransactionIndex"), 3 + 2);
	cairn_payload_free(&first);
	cairn_payload_free(&second);
	cairn_payload_free(&third);
	cairn_payload_free(&odd);
}

static void expect_same_rows(void **state, const char *a, const char *b)
{
	static const char count[] = "SELECT count(*) FROM [coin_coin-table]";
	assert_int_equal(count_rows(state, a, count), count_rows(state, b, count));
	char pa[PATH_MAX], pb[PATH_MAX], sql[2 * PATH_MAX + 64];
	sqlite3 *db;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	snprintf(sql, sizeof(sql), "ATTACH '%s' AS a; ATTACH '%s' AS b;", store_fixture_path(pa, sizeof(pa), state, a),
		store_fixture_path(pb, sizeof(pb), state, b));
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM (SELECT rowkey, txid, rowdata FROM a.[coin_coin-table]"
		" EXCEPT SELECT rowkey, txid, rowdata FROM b.[coin_coin-table])", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(s, 0), 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
}

static void test_cache_never_changes_a_translation(void **state)
{
	cairn_pactdb *cached = open_db(state, "cached.sqlite"), *plain = open_db(state, "plain.sqlite");
	cairn_pact_cache *cache;
	assert_int_equal(cairn_pact_cache_create(&cache), CAIRN_OK);
	cairn_payload p[13];
	for (uint64_t h = 1; h <= 12; h++) {
		make_payload(&p[h], h, 6);
		apply(cached, cache, h, &p[h]);
		apply(plain, NULL, h, &p[h]);
	}
	/* Roll the cached database back behind the cache's back, then re-apply. */
	assert_int_equal(cairn_pactdb_rollback_above(cached, 9), CAIRN_OK);
	for (uint64_t h = 10; h <= 12; h++)
		apply(cached, cache, h, &p[h]);
	for (uint64_t h = 1; h <= 12; h++)
		cairn_payload_free(&p[h]);
	for (unsigned i = 0; i < ACCOUNTS; i++)
		assert_true(balance(cached, i) == balance(plain, i));
	cairn_pact_cache_free(cache);
	cairn_pactdb_close(cached);
	cairn_pactdb_close(plain);
	expect_same_rows(state, "cached.sqlite", "plain.sqlite");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decimals),
		cmocka_unit_test(test_payloads_are_deterministic_and_consistent),
		STORE_TEST(test_blocks_credit_and_transfer),
		STORE_TEST(test_replays_and_unfunded_transfers_change_nothing),
		STORE_TEST(test_cache_never_changes_a_translation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
