/* Unit tests for node/commit on real RocksDB and SQLite files: blocks
 * commit in order and reach listeners and the cut only after publication;
 * invalid blocks (wrong parent, bad proof of work, payload that does not
 * match, another version, a time too far ahead, a fork, missing adjacent
 * parents) are refused with the reason and leave both stores untouched; a
 * stored block is CAIRN_EEXISTS; a header without payload is stored
 * without contents; the commit lock excludes commits. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/genesis.h"
#include "node/commit.h"
#include "node_fixture.h"
#include "store_fixture.h"

#define MAX_SEEN 64

typedef struct fixture {
	store_fixture dir; /* first: store_fixture_path reads it */
	const cairn_version *version;
	cairn_chaindb *chaindb;
	cairn_pactdb *pactdbs[CAIRN_GRAPH_MAX_ORDER];
	uint32_t chains;
	cairn_commit *commit;
	pthread_mutex_t seen_lock;
	size_t seen;
	cairn_header seen_headers[MAX_SEEN];
	bool seen_payload[MAX_SEEN];
} fixture;

static void on_block(void *ctx, const cairn_header *h, const cairn_payload *payload)
{
	fixture *f = ctx;
	pthread_mutex_lock(&f->seen_lock);
	if (f->seen < MAX_SEEN) {
		f->seen_payload[f->seen] = payload != NULL;
		f->seen_headers[f->seen++] = *h;
	}
	pthread_mutex_unlock(&f->seen_lock);
}

static void open_stores(fixture *f, void **state)
{
	char path[PATH_MAX];
	cairn_chaindb_options copts = CAIRN_CHAINDB_OPTIONS_INIT;
	copts.version = f->version->name;
	assert_int_equal(cairn_chaindb_path(path, sizeof(path), f->dir.dir), CAIRN_OK);
	assert_int_equal(cairn_chaindb_open(&f->chaindb, path, &copts), CAIRN_OK);
	f->chains = cairn_version_latest_graph(f->version)->order;
	cairn_pactdb_options popts = CAIRN_PACTDB_OPTIONS_INIT;
	for (uint32_t c = 0; c < f->chains; c++) {
		assert_int_equal(cairn_pactdb_path(path, sizeof(path), f->dir.dir, c), CAIRN_OK);
		assert_int_equal(cairn_pactdb_open(&f->pactdbs[c], path, &popts), CAIRN_OK);
	}
	assert_int_equal(cairn_commit_create(&f->commit, f->version, f->chaindb, f->pactdbs), CAIRN_OK);
	assert_int_equal(cairn_commit_add_listener(f->commit, on_block, f), CAIRN_OK);
	for (uint32_t c = 0; c < f->chains; c++)
		assert_int_equal(cairn_commit_genesis(f->commit, c), CAIRN_OK);
	(void)state;
}

static int setup(void **state, const cairn_version *version)
{
	if (store_fixture_setup(state) != 0)
		return -1;
	fixture *f = calloc(1, sizeof(*f));
	memcpy(&f->dir, *state, sizeof(f->dir));
	free(*state);
	f->version = version;
	pthread_mutex_init(&f->seen_lock, NULL);
	*state = f;
	open_stores(f, state);
	return 0;
}

static int setup_singleton(void **state)
{
	return setup(state, &cairn_version_test_singleton);
}

static int setup_development(void **state)
{
	return setup(state, &cairn_version_development);
}

static int teardown(void **state)
{
	fixture *f = *state;
	cairn_commit_free(f->commit);
	for (uint32_t c = 0; c < f->chains; c++)
		cairn_pactdb_close(f->pactdbs[c]);
	cairn_chaindb_close(f->chaindb);
	pthread_mutex_destroy(&f->seen_lock);
	store_fixture *dir = malloc(sizeof(*dir));
	memcpy(dir, &f->dir, sizeof(*dir));
	free(f);
	*state = dir;
	return store_fixture_teardown(state);
}

static int commit_header_at(cairn_header *out, void *ctx, uint32_t chain, uint64_t height)
{
	return cairn_commit_header_at(out, ((fixture *)ctx)->commit, chain, height);
}

static void next_block(cairn_header *h, cairn_payload *p, fixture *f, uint32_t chain, uint64_t parent_height)
{
	node_fixture_block(h, p, f->version, commit_header_at, f, chain, parent_height, 3, node_fixture_now_us());
}

static void commit_next(fixture *f, uint32_t chain, uint64_t parent_height)
{
	cairn_header h;
	cairn_payload p;
	next_block(&h, &p, f, chain, parent_height);
	if (cairn_commit_block(f->commit, &h, &p, 0) != CAIRN_OK)
		fail_msg("%s", cairn_error_last());
	assert_null(p.storage); /* moved into the commit path */
	cairn_payload_free(&p);
}

/* The stores' tips of chain 0: ChainDB cut height and PactDB last block. */
static void expect_tips(fixture *f, uint64_t height)
{
	cairn_chaindb_cut cut;
	assert_int_equal(cairn_chaindb_get_cut(&cut, f->chaindb), CAIRN_OK);
	assert_int_equal(cut.height[0], height);
	uint64_t pact;
	assert_int_equal(cairn_pactdb_last_block(&pact, NULL, NULL, f->pactdbs[0]), CAIRN_OK);
	assert_int_equal(pact, height);
}

static void test_blocks_are_published_in_order(void **state)
{
	fixture *f = *state;
	for (uint64_t height = 0; height < 5; height++)
		commit_next(f, 0, height);
	cairn_commit_flush(f->commit);
	expect_tips(f, 5);
	assert_int_equal(f->seen, 6);
	for (size_t i = 0; i < f->seen; i++) {
		assert_int_equal(f->seen_headers[i].height, i);
		assert_true(f->seen_payload[i]);
	}
	cairn_node_cut cut;
	cairn_commit_get_cut(&cut, f->commit);
	assert_true(cut.present[0]);
	assert_int_equal(cut.height[0], 5);
	assert_memory_equal(cut.hash[0], f->seen_headers[5].hash, CAIRN_HASH_LEN);
	assert_memory_equal(cut.weight[0], f->seen_headers[5].weight, CAIRN_HASH_LEN);
}

/* Commits `h` expecting refusal with a message containing `reason`; the
 * stores must stay at `height`. */
static void expect_refused(fixture *f, const cairn_header *h, cairn_payload *p, unsigned flags, int code,
	const char *reason, uint64_t height)
{
	int rc = cairn_commit_block(f->commit, h, p, flags);
	if (rc != code || strstr(cairn_error_last(), reason) == NULL)
		fail_msg("expected %d '%s', got %d '%s'", code, reason, rc, cairn_error_last());
	expect_tips(f, height);
}

static void test_invalid_blocks_leave_no_trace(void **state)
{
	fixture *f = *state;
	commit_next(f, 0, 0);
	cairn_header h, bad;
	cairn_payload p, other;
	next_block(&h, &p, f, 0, 1);

	bad = h;
	bad.parent[0] ^= 1;
	node_fixture_resolve(&bad);
	expect_refused(f, &bad, &p, 0, CAIRN_EINVALID, "parent:", 1);

	bad = h;
	bad.nonce++;
	expect_refused(f, &bad, &p, 0, CAIRN_EINVALID, "hash:", 1);

	bad = h;
	memset(bad.target, 0, CAIRN_HASH_LEN);
	bad.target[0] = 1;
	cairn_header_compute_hash(bad.hash, &bad);
	expect_refused(f, &bad, &p, 0, CAIRN_EINVALID, "target", 1);

	/* Another payload than the header names. */
	assert_int_equal(cairn_pact_make_payload(&other, f->version, 0, 2, h.parent, h.creation_time_us, 1), CAIRN_OK);
	expect_refused(f, &h, &other, 0, CAIRN_EINVALID, "payload", 1);
	cairn_payload_free(&other);

	bad = h;
	bad.version_code = cairn_version_development.code;
	expect_refused(f, &bad, &p, 0, CAIRN_EINVALID, "chainwebVersion: expected test-singleton", 1);

	bad = h;
	bad.creation_time_us = node_fixture_now_us() + 3600LL * 1000000;
	node_fixture_resolve(&bad);
	expect_refused(f, &bad, &p, 0, CAIRN_EINVALID, "creationTime", 1);

	bad = h;
	bad.height = 3;
	node_fixture_resolve(&bad);
	expect_refused(f, &bad, &p, 0, CAIRN_EINVALID, "parent: no block at height 2", 1);

	assert_int_equal(cairn_commit_block(f->commit, &h, &p, 0), CAIRN_OK);
	expect_tips(f, 2);
	cairn_payload_free(&p);
}

static void test_stored_blocks_and_forks(void **state)
{
	fixture *f = *state;
	cairn_header h, fork;
	cairn_payload p, q;
	next_block(&h, &p, f, 0, 0);
	next_block(&fork, &q, f, 0, 0);
	fork.creation_time_us += 1;
	node_fixture_resolve(&fork);
	assert_int_equal(cairn_commit_block(f->commit, &h, &p, 0), CAIRN_OK);
	cairn_payload_free(&p);
	expect_refused(f, &h, NULL, 0, CAIRN_EEXISTS, "already stored", 1);
	expect_refused(f, &fork, &q, 0, CAIRN_EINVALID, "forks are not supported", 1);
	cairn_payload_free(&q);
}

static void test_header_without_payload(void **state)
{
	fixture *f = *state;
	cairn_header h;
	cairn_payload p;
	next_block(&h, &p, f, 0, 0);
	assert_int_equal(cairn_commit_block(f->commit, &h, NULL, CAIRN_NODE_COMMIT_HISTORICAL), CAIRN_OK);
	cairn_payload_free(&p);
	cairn_commit_flush(f->commit);
	assert_false(f->seen_payload[1]);
	cairn_header stored;
	cairn_payload contents;
	bool has = true;
	cairn_payload_init(&contents);
	assert_int_equal(cairn_commit_load_block(&stored, &contents, &has, f->commit, 0, 1), CAIRN_OK);
	assert_false(has);
	assert_memory_equal(stored.hash, h.hash, CAIRN_HASH_LEN);
	/* The genesis block has its contents. */
	assert_int_equal(cairn_commit_load_block(&stored, &contents, &has, f->commit, 0, 0), CAIRN_OK);
	assert_true(has);
	assert_int_equal(cairn_commit_verify_block(f->commit, &stored, &contents), CAIRN_OK);
	cairn_payload_free(&contents);
	expect_tips(f, 1);
}

typedef struct lock_probe {
	fixture *f;
	pthread_t committer;
	bool committed_inside;
} lock_probe;

static void *commit_thread(void *arg)
{
	commit_next(arg, 0, 0);
	return NULL;
}

static int under_lock(void *arg)
{
	lock_probe *probe = arg;
	pthread_create(&probe->committer, NULL, commit_thread, probe->f);
	struct timespec pause = {0, 50 * 1000000};
	nanosleep(&pause, NULL);
	cairn_chaindb_cut cut;
	cairn_chaindb_get_cut(&cut, probe->f->chaindb);
	probe->committed_inside = cut.height[0] != 0;
	return 42;
}

static void test_commit_lock_excludes_commits(void **state)
{
	fixture *f = *state;
	lock_probe probe = {.f = f};
	assert_int_equal(cairn_commit_with_lock(f->commit, under_lock, &probe), 42);
	assert_false(probe.committed_inside);
	pthread_join(probe.committer, NULL);
	expect_tips(f, 1);
}

static void test_braided_chains_need_adjacent_parents(void **state)
{
	fixture *f = *state;
	commit_next(f, 0, 0);
	commit_next(f, 5, 0);
	commit_next(f, 10, 0);
	/* Chain 0 at height 2 needs chains 5, 10 and 15 at height 1. */
	cairn_header parent, adjacent[3], h;
	const cairn_header *adj[3];
	assert_int_equal(cairn_commit_header_at(&parent, f->commit, 0, 1), CAIRN_OK);
	static const uint32_t neighbours[3] = {5, 10, 15};
	for (int i = 0; i < 3; i++) {
		if (cairn_commit_header_at(&adjacent[i], f->commit, neighbours[i], 1) != CAIRN_OK)
			assert_int_equal(cairn_commit_header_at(&adjacent[i], f->commit, neighbours[i], 0), CAIRN_OK);
		adj[i] = &adjacent[i];
	}
	cairn_payload p;
	assert_int_equal(cairn_pact_make_payload(&p, f->version, 0, 2, parent.hash, node_fixture_now_us(), 1), CAIRN_OK);
	assert_int_equal(cairn_mining_make_child(&h, &parent, adj, 3, p.hashes.payload, node_fixture_now_us()),
		CAIRN_OK);
	assert_int_equal(cairn_mining_solve(&h, 1u << 24, NULL), CAIRN_OK);
	expect_refused(f, &h, &p, 0, CAIRN_EINVALID, "adjacents: no block at height 1 on neighbour chain 15", 1);
	cairn_payload_free(&p);
	commit_next(f, 15, 0);
	for (uint32_t c = 0; c < f->chains; c++)
		if (c != 0 && c != 5 && c != 10 && c != 15)
			commit_next(f, c, 0);
	for (uint32_t c = 0; c < f->chains; c++)
		commit_next(f, c, 1);
	cairn_commit_flush(f->commit);
	assert_int_equal(f->seen, 20 + 40);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_blocks_are_published_in_order, setup_singleton, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_blocks_leave_no_trace, setup_singleton, teardown),
		cmocka_unit_test_setup_teardown(test_stored_blocks_and_forks, setup_singleton, teardown),
		cmocka_unit_test_setup_teardown(test_header_without_payload, setup_singleton, teardown),
		cmocka_unit_test_setup_teardown(test_commit_lock_excludes_commits, setup_singleton, teardown),
		cmocka_unit_test_setup_teardown(test_braided_chains_need_adjacent_parents, setup_development, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
