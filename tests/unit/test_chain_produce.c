/* Unit tests for chain/mining: chains produced in braided order validate
 * end to end.
 *   - development: genesis plus 15 heights on all 20 chains (300 mined
 *     blocks with payloads), about 16 PoW attempts per block;
 *   - test-singleton: a chain without adjacents;
 *   - mainnet01 rules on chains 0-9 for 150 heights with uneven block
 *     times: legacy difficulty adjustment with the block's own time,
 *     epochs of 12 then 120 blocks, and an emergency adjustment after a
 *     six-hour gap;
 *   - recap-development rules on 20 chains for 130 heights (graph change
 *     and new chains at height 60, new DA from height 13), checked up to
 *     the proof of work, which is too expensive to solve there. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/genesis.h"
#include "chain/mining.h"
#include "chain/u256.h"
#include "chain/validate.h"
#include "util/error.h"

#define MAX_HEIGHT 151
#define MAX_CHAINS 20

typedef struct network {
	const cairn_version *v;
	cairn_header *blocks; /* [height][chain] */
	bool solve;
	uint64_t mined, attempts;
} network;

static cairn_header *block(network *n, uint64_t height, uint32_t chain)
{
	return &n->blocks[height * MAX_CHAINS + chain];
}

/* A payload unique to (chain, height) with one transaction. */
static void make_payload(cairn_payload *p, uint32_t chain, uint64_t height)
{
	char miner[64], coinbase[64], tx[64], out[64];
	snprintf(miner, sizeof(miner), "{\"account\":\"miner-%u\"}", chain);
	snprintf(coinbase, sizeof(coinbase), "{\"coinbase\":%llu}", (unsigned long long)height);
	snprintf(tx, sizeof(tx), "{\"transfer\":%u}", chain);
	snprintf(out, sizeof(out), "{\"result\":%llu}", (unsigned long long)height);
	const cairn_slice m = {(const uint8_t *)miner, strlen(miner)}, c = {(const uint8_t *)coinbase, strlen(coinbase)};
	const cairn_slice t = {(const uint8_t *)tx, strlen(tx)}, o = {(const uint8_t *)out, strlen(out)};
	assert_int_equal(cairn_payload_create(p, m, c, 1, &t, &o), CAIRN_OK);
}

/* Produces and validates the block of `chain` at `height`. */
static void produce(network *n, uint32_t chain, uint64_t height, int64_t creation_time)
{
	const cairn_version *v = n->v;
	cairn_header *parent = block(n, height - 1, chain);
	const cairn_graph *g = cairn_version_graph_at(v, height - 1);
	const cairn_header *adj[3];
	for (uint32_t i = 0; i < g->degree; i++)
		adj[i] = block(n, height - 1, cairn_graph_adjacents(g, chain)[i]);
	cairn_payload p;
	make_payload(&p, chain, height);
	cairn_header *h = block(n, height, chain);
	if (cairn_mining_make_child(h, parent, adj, g->degree, p.hashes.payload, creation_time) != CAIRN_OK)
		fail_msg("chain %u height %llu: %s", chain, (unsigned long long)height, cairn_error_last());
	const char *field = NULL;
	if (n->solve) {
		uint64_t attempts;
		if (cairn_mining_solve(h, 1000, &attempts) != CAIRN_OK)
			fail_msg("chain %u height %llu: %s", chain, (unsigned long long)height, cairn_error_last());
		n->attempts += attempts;
		if (cairn_header_validate(&field, h, parent, adj, g->degree) != CAIRN_OK)
			fail_msg("chain %u height %llu: %s", chain, (unsigned long long)height, cairn_error_last());
	} else {
		assert_int_equal(cairn_header_compute_hash(h->hash, h), CAIRN_OK);
		if (cairn_header_validate(&field, h, parent, adj, g->degree) != CAIRN_OK &&
		    strcmp(field, "powHash") != 0)
			fail_msg("chain %u height %llu: %s", chain, (unsigned long long)height, cairn_error_last());
	}
	assert_int_equal(cairn_payload_verify(&p, h->payload_hash), CAIRN_OK);
	cairn_payload_free(&p);
	n->mined++;
}

/* Builds genesis blocks and `heights` more heights in braided order: every
 * chain at height h before any at h + 1.  time_of(h) gives the creation
 * time offset of height h from the genesis time. */
static void run_network(network *n, uint64_t heights, int64_t (*time_of)(uint64_t))
{
	const cairn_version *v = n->v;
	const cairn_graph *latest = cairn_version_latest_graph(v);
	n->blocks = calloc((heights + 1) * MAX_CHAINS, sizeof(cairn_header));
	assert_non_null(n->blocks);
	for (uint64_t h = 0; h <= heights; h++) {
		for (uint32_t c = 0; c < latest->order; c++) {
			uint64_t genesis;
			assert_int_equal(cairn_version_genesis_height(&genesis, v, c), CAIRN_OK);
			if (h < genesis)
				continue;
			if (h == genesis) {
				assert_int_equal(cairn_genesis_header(block(n, h, c), v, c), CAIRN_OK);
				assert_int_equal(cairn_header_validate(NULL, block(n, h, c), NULL, NULL, 0), CAIRN_OK);
				continue;
			}
			produce(n, c, h, v->genesis_time_us + time_of(h) + c);
		}
	}
}

static int64_t every_second(uint64_t h)
{
	return (int64_t)h * 1000000;
}

static void test_development_network(void **state)
{
	(void)state;
	network n = {&cairn_version_development, NULL, true, 0, 0};
	run_network(&n, 15, every_second);
	assert_int_equal(n.mined, 300);
	/* a fixed target of maxTarget / 16: about 16 attempts per block */
	double per_block = (double)n.attempts / (double)n.mined;
	assert_true(per_block > 10 && per_block < 24);
	/* weights grow by difficulty 16 per block, the target never moves */
	cairn_header *tip = block(&n, 15, 7), *genesis = block(&n, 0, 7);
	assert_int_equal(tip->weight[0], 15 * 16);
	assert_memory_equal(tip->target, genesis->target, CAIRN_HASH_LEN);
	assert_int_equal(tip->epoch_start_us, genesis->epoch_start_us);
	/* a tampered block is rejected, naming the field */
	cairn_header bad = *tip;
	const cairn_graph *g = &cairn_graph_twenty;
	const cairn_header *adj[3];
	for (int i = 0; i < 3; i++)
		adj[i] = block(&n, 14, cairn_graph_adjacents(g, 7)[i]);
	const char *field = NULL;
	bad.payload_hash[0] ^= 1;
	assert_int_equal(cairn_header_validate(&field, &bad, block(&n, 14, 7), adj, 3), CAIRN_EINVALID);
	assert_string_equal(field, "hash");
	/* the creation time is raised above the parents' when asked for less */
	cairn_header child;
	cairn_payload p;
	make_payload(&p, 7, 16);
	assert_int_equal(cairn_mining_make_child(&child, tip, (const cairn_header *const[]){
		block(&n, 15, 2), block(&n, 15, 5), block(&n, 15, 9)}, 3, p.hashes.payload, 0), CAIRN_OK);
	assert_true(child.creation_time_us > block(&n, 15, 9)->creation_time_us);
	/* a missing neighbour is refused */
	assert_int_equal(cairn_mining_make_child(&child, tip, (const cairn_header *const[]){block(&n, 15, 2)}, 1,
		p.hashes.payload, 0), CAIRN_EINVALID);
	cairn_payload_free(&p);
	free(n.blocks);
}

static void test_singleton_network(void **state)
{
	(void)state;
	network n = {&cairn_version_test_singleton, NULL, true, 0, 0};
	run_network(&n, 50, every_second);
	assert_int_equal(n.mined, 50);
	assert_int_equal(cairn_header_binary_size(block(&n, 50, 0)), 210);
	free(n.blocks);
}

/* Creation times with 20 s blocks, then 40 s blocks, a six-hour gap
 * before height 30 and 30 s blocks after it. */
static int64_t uneven_times(uint64_t h)
{
	const int64_t s = 1000000;
	if (h <= 12)
		return (int64_t)h * 20 * s;
	if (h < 30)
		return 240 * s + (int64_t)(h - 12) * 40 * s;
	return 240 * s + 17 * 40 * s + 6 * 3600 * s + (int64_t)(h - 30) * 30 * s;
}

static void test_mainnet_rules(void **state)
{
	(void)state;
	network n = {&cairn_version_mainnet01, NULL, true, 0, 0};
	run_network(&n, 150, uneven_times);
	assert_int_equal(n.mined, 1500);
	/* the fast first epoch halved the target at height 12 */
	cairn_u256 t11, t12, two, q;
	cairn_u256_from_le(&t11, block(&n, 11, 0)->target);
	cairn_u256_from_le(&t12, block(&n, 12, 0)->target);
	cairn_u256_from_u64(&two, 2);
	cairn_u256_divmod(&q, NULL, &t11, &two);
	assert_int_equal(cairn_u256_cmp(&q, &t12), 0);
	/* the emergency adjustment after the gap restored the maximal target,
	 * keeping the epoch start */
	cairn_u256 t30, max;
	cairn_u256_from_le(&t30, block(&n, 30, 0)->target);
	cairn_u256_max(&max);
	assert_int_equal(cairn_u256_cmp(&t30, &max), 0);
	assert_int_equal(block(&n, 30, 0)->epoch_start_us, block(&n, 29, 0)->epoch_start_us);
	/* epochs of 12 blocks up to height 120, then 120 */
	assert_int_not_equal(block(&n, 120, 0)->epoch_start_us, block(&n, 119, 0)->epoch_start_us);
	assert_int_equal(block(&n, 132, 0)->epoch_start_us, block(&n, 121, 0)->epoch_start_us);
	free(n.blocks);
}

static int64_t thirty_seconds(uint64_t h)
{
	return (int64_t)h * 30000000;
}

static void test_recap_development_rules(void **state)
{
	(void)state;
	network n = {&cairn_version_recap_development, NULL, false, 0, 0};
	run_network(&n, 130, thirty_seconds);
	assert_int_equal(n.mined, 10 * 130 + 10 * 70);
	/* chain 0 switches to twenty-graph adjacents after height 60 */
	assert_int_equal(block(&n, 60, 0)->adjacents[0].chain, 2);
	assert_int_equal(block(&n, 61, 0)->adjacents[1].chain, 10);
	/* a new chain starts its first epoch at its first mined block */
	assert_int_equal(block(&n, 62, 15)->epoch_start_us, block(&n, 61, 15)->creation_time_us);
	/* the first epoch restarts at height 2 */
	assert_int_equal(block(&n, 2, 3)->epoch_start_us, block(&n, 1, 3)->creation_time_us);
	free(n.blocks);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_development_network),
		cmocka_unit_test(test_singleton_network),
		cmocka_unit_test(test_mainnet_rules),
		cmocka_unit_test(test_recap_development_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
