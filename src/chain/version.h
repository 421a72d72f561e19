/*
 * version.h: Chainweb versions (networks) and what they fix: the version
 * code hashed into every header, the graph history, block delay, genesis
 * time and heights.
 *
 * Versions are immutable static data, compared by pointer.  The graph
 * history is stored ascending by height; the graph that applies to a block is
 * the one in force at its parent's height (at its own height for a genesis
 * block), chainweb-format.md section 9.
 */
#ifndef CAIRN_CHAIN_VERSION_H
#define CAIRN_CHAIN_VERSION_H

#include <stddef.h>
#include <stdint.h>

#include "chain/graph.h"

typedef struct cairn_graph_epoch {
	uint64_t height; /* first (parent) height at which `graph` applies */
	const cairn_graph *graph;
} cairn_graph_epoch;

typedef struct cairn_version {
	const char *name;
	uint32_t code;
	const cairn_graph_epoch *graph_history; /* ascending by height */
	size_t graph_history_len;
	int64_t block_delay_us;
	int64_t genesis_time_us;
	uint64_t latest_behavior_height; /* 1 + highest fork or graph-change height */
	int has_block_producer;          /* the development producer may run on it */
} cairn_version;

extern const cairn_version cairn_version_mainnet01;
extern const cairn_version cairn_version_testnet04;
extern const cairn_version cairn_version_development;
extern const cairn_version cairn_version_recap_development;
extern const cairn_version cairn_version_test_singleton;

/* Returns NULL for an unknown name. */
const cairn_version *cairn_version_by_name(const char *name);

/* Returns NULL for an unknown code. */
const cairn_version *cairn_version_by_code(uint32_t code);

/* The names accepted by --chainweb-version, comma separated, for messages. */
const char *cairn_version_supported_names(void);

/* The graph in force at `height`. */
const cairn_graph *cairn_version_graph_at(const cairn_version *v, uint64_t height);

/* The graph with the most chains (the last one in the history). */
const cairn_graph *cairn_version_latest_graph(const cairn_version *v);

/* Height of the genesis block of `chain`: the first history height whose
 * graph contains it.  Returns CAIRN_ENOTFOUND if no graph contains it. */
int cairn_version_genesis_height(uint64_t *out, const cairn_version *v, uint32_t chain);

#endif
