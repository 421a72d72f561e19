/* Unit tests for node/recovery through the node core, on real files: a lost
 * Pact database is rebuilt row for row, one ahead of the chain database is
 * rolled back, one behind is replayed, one of another chain database is
 * refused, a chain database that was removed takes its Pact databases with
 * it, and a stored block that does not validate stops the start-up with
 * its chain, height and reason. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "node/node.h"
#include "node_fixture.h"
#include "store/chaindb.h"
#include "store/pactdb.h"
#include "store_fixture.h"

#define BLOCKS 8

static cairn_node *open_node(void **state, const char *name)
{
	char dir[PATH_MAX];
	cairn_config cfg;
	assert_int_equal(cairn_config_init(&cfg), CAIRN_OK);
	free(cfg.chainweb_version);
	free(cfg.database_directory);
	cfg.chainweb_version = strdup("test-singleton");
	cfg.database_directory = strdup(store_fixture_path(dir, sizeof(dir), state, name));
	cfg.block_rate = 0;
	cairn_node *node = NULL;
	int rc = cairn_node_open(&node, &cfg);
	cairn_config_free(&cfg);
	return rc == CAIRN_OK ? node : NULL;
}

static int node_header_at(cairn_header *out, void *ctx, uint32_t chain, uint64_t height)
{
	cairn_payload p;
	bool has;
	cairn_payload_init(&p);
	int rc = cairn_node_load_block(out, &p, &has, ctx, chain, height);
	cairn_payload_free(&p);
	return rc;
}

static void build_block(cairn_header *h, cairn_payload *p, cairn_node *node, uint64_t parent_height)
{
	node_fixture_block(h, p, cairn_node_version(node), node_header_at, node, 0, parent_height, 4,
		node_fixture_now_us());
}

/* A node on `name` whose chain has BLOCKS blocks after genesis, closed. */
static void make_chain(void **state, const char *name)
{
	cairn_node *node = open_node(state, name);
	assert_non_null(node);
	for (uint64_t height = 0; height < BLOCKS; height++) {
		cairn_header h;
		cairn_payload p;
		build_block(&h, &p, node, height);
		if (cairn_node_commit_block(node, &h, &p, 0) != CAIRN_OK)
			fail_msg("%s", cairn_error_last());
		cairn_payload_free(&p);
	}
	cairn_node_close(node);
}

/* A summary of the Pact state: last block, its endingtxid and the
 * balances of the workload's accounts. */
typedef struct pact_summary {
	uint64_t height, endingtxid;
	uint8_t hash[CAIRN_HASH_LEN];
	char rows[CAIRN_PACT_ACCOUNT_COUNT][256];
} pact_summary;

static void summarize(pact_summary *s, cairn_node *node)
{
	memset(s, 0, sizeof(*s));
	cairn_pactdb *db = cairn_node_pactdb(node, 0);
	assert_int_equal(cairn_pactdb_last_block(&s->height, s->hash, &s->endingtxid, db), CAIRN_OK);
	for (unsigned i = 0; i < CAIRN_PACT_ACCOUNT_COUNT; i++) {
		char *row;
		if (cairn_pactdb_read_row(&row, NULL, db, CAIRN_PACTDB_COIN_TABLE, cairn_pact_account_name(i)) == CAIRN_OK) {
			snprintf(s->rows[i], sizeof(s->rows[i]), "%s", row);
			free(row);
		}
	}
}

static void summarize_closed(pact_summary *s, void **state, const char *name)
{
	cairn_node *node = open_node(state, name);
	assert_non_null(node);
	summarize(s, node);
	cairn_node_close(node);
}

static const char *pact_path(char *buf, size_t size, void **state, const char *name)
{
	char dir[PATH_MAX];
	assert_int_equal(cairn_pactdb_path(buf, size, store_fixture_path(dir, sizeof(dir), state, name), 0), CAIRN_OK);
	return buf;
}

static void remove_pact(void **state, const char *name)
{
	char path[PATH_MAX], file[PATH_MAX + 8];
	pact_path(path, sizeof(path), state, name);
	static const char *const suffixes[] = {"", "-wal", "-shm"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(file, sizeof(file), "%s%s", path, suffixes[i]);
		unlink(file);
	}
}

static cairn_pactdb *open_pact(void **state, const char *name)
{
	char path[PATH_MAX];
	cairn_pactdb *db;
	cairn_pactdb_options opts = CAIRN_PACTDB_OPTIONS_INIT;
	assert_int_equal(cairn_pactdb_open(&db, pact_path(path, sizeof(path), state, name), &opts), CAIRN_OK);
	return db;
}

static void test_lost_pact_database_is_rebuilt(void **state)
{
	make_chain(state, "db");
	pact_summary before, after;
	summarize_closed(&before, state, "db");
	assert_int_equal(before.height, BLOCKS);
	remove_pact(state, "db");
	summarize_closed(&after, state, "db");
	assert_memory_equal(&before, &after, sizeof(before));
}

static void test_pact_ahead_is_rolled_back(void **state)
{
	make_chain(state, "db");
	pact_summary before, after;
	summarize_closed(&before, state, "db");
	cairn_pactdb *db = open_pact(state, "db");
	uint8_t hash[CAIRN_HASH_LEN];
	store_fixture_hash(hash, 0xee, BLOCKS + 1, 0);
	cairn_pactdb_write w = {CAIRN_PACTDB_COIN_TABLE, "k:intruder", "{\"balance\":1.0}", 15};
	cairn_pactdb_tx tx = {NULL, &w, 1};
	cairn_pactdb_block extra = {BLOCKS + 1, hash, &tx, 1};
	assert_int_equal(cairn_pactdb_apply_block(db, &extra), CAIRN_OK);
	cairn_pactdb_close(db);
	summarize_closed(&after, state, "db");
	assert_memory_equal(&before, &after, sizeof(before));
}

static void test_pact_behind_is_replayed(void **state)
{
	make_chain(state, "db");
	pact_summary before, after;
	summarize_closed(&before, state, "db");
	cairn_pactdb *db = open_pact(state, "db");
	assert_int_equal(cairn_pactdb_rollback_above(db, 2), CAIRN_OK);
	cairn_pactdb_close(db);
	summarize_closed(&after, state, "db");
	assert_memory_equal(&before, &after, sizeof(before));
}

static void test_foreign_pact_database_is_refused(void **state)
{
	make_chain(state, "db");
	make_chain(state, "other");
	char mine[PATH_MAX], theirs[PATH_MAX];
	remove_pact(state, "db");
	assert_int_equal(rename(pact_path(theirs, sizeof(theirs), state, "other"), pact_path(mine, sizeof(mine), state, "db")), 0);
	assert_null(open_node(state, "db"));
	assert_non_null(strstr(cairn_error_last(), "does not hold the stored block"));
}

static void test_removed_chain_database_takes_pact_along(void **state)
{
	make_chain(state, "db");
	char path[PATH_MAX], dir[PATH_MAX];
	assert_int_equal(cairn_chaindb_path(path, sizeof(path), store_fixture_path(dir, sizeof(dir), state, "db")),
		CAIRN_OK);
	assert_int_equal(cairn_fs_remove_tree(path), CAIRN_OK);
	pact_summary after;
	summarize_closed(&after, state, "db");
	assert_int_equal(after.height, 0);
}

static void test_invalid_stored_block_stops_start_up(void **state)
{
	make_chain(state, "db");
	cairn_node *node = open_node(state, "db");
	assert_non_null(node);
	cairn_header h;
	cairn_payload p;
	build_block(&h, &p, node, BLOCKS);
	h.nonce++; /* the stored hash no longer matches */
	uint8_t header[CAIRN_HEADER_MAX_BYTES], *body;
	size_t header_len, body_len;
	assert_int_equal(cairn_header_encode(header, &header_len, &h), CAIRN_OK);
	assert_int_equal(cairn_payload_encode(&body, &body_len, &p), CAIRN_OK);
	cairn_chaindb_block b = {0, BLOCKS + 1, h.hash, header, header_len, h.payload_hash, body, body_len};
	assert_int_equal(cairn_chaindb_put_block(cairn_node_chaindb(node), &b), CAIRN_OK);
	free(body);
	cairn_payload_free(&p);
	cairn_node_close(node);
	assert_null(open_node(state, "db"));
	char expected[64];
	snprintf(expected, sizeof(expected), "stored block at chain 0 height %d: hash:", BLOCKS + 1);
	if (strstr(cairn_error_last(), expected) == NULL)
		fail_msg("unexpected error: %s", cairn_error_last());
}

int main(void)
{
	cairn_log_set_level(CAIRN_LOG_WARN);
	const struct CMUnitTest tests[] = {
		STORE_TEST(test_lost_pact_database_is_rebuilt),
		STORE_TEST(test_pact_ahead_is_rolled_back),
		STORE_TEST(test_pact_behind_is_replayed),
		STORE_TEST(test_foreign_pact_database_is_refused),
		STORE_TEST(test_removed_chain_database_takes_pact_along),
		STORE_TEST(test_invalid_stored_block_stops_start_up),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
