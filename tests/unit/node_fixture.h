/* Support code shared by the node tests: building solved blocks on top of
 * committed ones, as the producer does, with headers looked up through a
 * callback (the commit path's or the node's). */
#ifndef CAIRN_TESTS_NODE_FIXTURE_H
#define CAIRN_TESTS_NODE_FIXTURE_H

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "chain/mining.h"
#include "node/pact.h"
#include "util/error.h"

/* Reads the committed header at (chain, height) into out. */
typedef int (*node_fixture_header_at)(cairn_header *out, void *ctx, uint32_t chain, uint64_t height);

static inline int64_t node_fixture_now_us(void)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	return (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

/* The solved child, created at `time_us`, of the block at `parent_height`
 * on `chain`, with a producer payload of `txs` transfers. */
static inline void node_fixture_block(cairn_header *h, cairn_payload *p, const cairn_version *v,
	node_fixture_header_at at, void *ctx, uint32_t chain, uint64_t parent_height, size_t txs, int64_t time_us)
{
	cairn_header parent, adjacent[CAIRN_HEADER_MAX_ADJACENTS];
	const cairn_header *adjacent_ptrs[CAIRN_HEADER_MAX_ADJACENTS];
	if (at(&parent, ctx, chain, parent_height) != CAIRN_OK)
		fail_msg("no parent: %s", cairn_error_last());
	const cairn_graph *g = cairn_version_graph_at(v, parent_height);
	for (uint32_t i = 0; i < g->degree; i++) {
		if (at(&adjacent[i], ctx, cairn_graph_adjacents(g, chain)[i], parent_height) != CAIRN_OK)
			fail_msg("no adjacent parent: %s", cairn_error_last());
		adjacent_ptrs[i] = &adjacent[i];
	}
	if (cairn_pact_make_payload(p, v, chain, parent_height + 1, parent.hash, time_us, txs) != CAIRN_OK ||
	    cairn_mining_make_child(h, &parent, adjacent_ptrs, g->degree, p->hashes.payload, time_us) != CAIRN_OK ||
	    cairn_mining_solve(h, 1u << 24, NULL) != CAIRN_OK)
		fail_msg("cannot build a block: %s", cairn_error_last());
}

/* Re-solves h after a field changed (another nonce, another time). */
static inline void node_fixture_resolve(cairn_header *h)
{
	h->nonce = 0;
	if (cairn_mining_solve(h, 1u << 24, NULL) != CAIRN_OK)
		fail_msg("cannot solve: %s", cairn_error_last());
}

#endif
