/*
 * graph.c: adjacency tables for graph.h.
 *
 * The tables are Chainweb's own numbering (chainweb-format.md section 9);
 * a unit test checks each is symmetric, loop-free and regular.
 */
#include "chain/graph.h"

#include <string.h>

static const uint8_t singleton_adj[1][CAIRN_GRAPH_MAX_DEGREE] = {{0}};
static const uint8_t pair_adj[2][CAIRN_GRAPH_MAX_DEGREE] = {{1}, {0}};
static const uint8_t triangle_adj[3][CAIRN_GRAPH_MAX_DEGREE] = {{1, 2}, {0, 2}, {0, 1}};

static const uint8_t petersen_adj[10][CAIRN_GRAPH_MAX_DEGREE] = {
	{2, 3, 5}, {3, 4, 6}, {0, 4, 7}, {0, 1, 8}, {1, 2, 9},
	{0, 6, 9}, {1, 5, 7}, {2, 6, 8}, {3, 7, 9}, {4, 5, 8},
};

static const uint8_t twenty_adj[20][CAIRN_GRAPH_MAX_DEGREE] = {
	{5, 10, 15}, {6, 11, 16}, {7, 12, 17}, {8, 13, 18}, {9, 14, 19},
	{0, 7, 8},   {1, 8, 9},   {2, 5, 9},   {3, 5, 6},   {4, 6, 7},
	{0, 11, 19}, {1, 10, 12}, {2, 11, 13}, {3, 12, 14}, {4, 13, 15},
	{0, 14, 16}, {1, 15, 17}, {2, 16, 18}, {3, 17, 19}, {4, 10, 18},
};

const cairn_graph cairn_graph_singleton = {"singleton", 1, 0, singleton_adj};
const cairn_graph cairn_graph_pair = {"pair", 2, 1, pair_adj};
const cairn_graph cairn_graph_triangle = {"triangle", 3, 2, triangle_adj};
const cairn_graph cairn_graph_petersen = {"petersen", 10, 3, petersen_adj};
const cairn_graph cairn_graph_twenty = {"twenty", 20, 3, twenty_adj};

const cairn_graph *cairn_graph_by_name(const char *name)
{
	static const cairn_graph *const all[] = {
		&cairn_graph_singleton, &cairn_graph_pair, &cairn_graph_triangle,
		&cairn_graph_petersen, &cairn_graph_twenty,
	};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(all[i]->name, name) == 0)
			return all[i];
	return NULL;
}

bool cairn_graph_are_adjacent(const cairn_graph *g, uint32_t a, uint32_t b)
{
	if (!cairn_graph_has_chain(g, a))
		return false;
	for (uint32_t i = 0; i < g->degree; i++)
		if (g->adjacency[a][i] == b)
			return true;
	return false;
}
