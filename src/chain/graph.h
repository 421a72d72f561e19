/*
 * graph.h: the chain graphs of Chainweb, with Chainweb's chain numbering.
 *
 * A graph is immutable static data: `order` chains numbered 0..order-1, each
 * with exactly `degree` neighbours, stored sorted ascending in `adjacency`
 * (row c holds the neighbours of chain c).  Graphs are compared by pointer.
 */
#ifndef CAIRN_CHAIN_GRAPH_H
#define CAIRN_CHAIN_GRAPH_H

#include <stdbool.h>
#include <stdint.h>

#define CAIRN_GRAPH_MAX_ORDER 20
#define CAIRN_GRAPH_MAX_DEGREE 3

typedef struct cairn_graph {
	const char *name;
	uint32_t order;
	uint32_t degree;
	const uint8_t (*adjacency)[CAIRN_GRAPH_MAX_DEGREE]; /* [order][degree], sorted */
} cairn_graph;

extern const cairn_graph cairn_graph_singleton;
extern const cairn_graph cairn_graph_pair;
extern const cairn_graph cairn_graph_triangle;
extern const cairn_graph cairn_graph_petersen;
extern const cairn_graph cairn_graph_twenty;

/* Returns NULL for an unknown name. */
const cairn_graph *cairn_graph_by_name(const char *name);

static inline bool cairn_graph_has_chain(const cairn_graph *g, uint32_t chain)
{
	return chain < g->order;
}

/* The sorted neighbours of `chain` (g->degree of them); chain must be in g. */
static inline const uint8_t *cairn_graph_adjacents(const cairn_graph *g, uint32_t chain)
{
	return g->adjacency[chain];
}

bool cairn_graph_are_adjacent(const cairn_graph *g, uint32_t a, uint32_t b);

#endif
