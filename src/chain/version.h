/*
 * version.h: Chainweb versions (networks) and what they fix: the version
 * code hashed into every header, the graph history, block delay, genesis
 * time, heights, targets and payloads, and the heights at which consensus
 * rules changed.
 *
 * Versions are immutable static data, compared by pointer.  The graph
 * history is stored ascending by height; the graph that applies to a block is
 * the one in force at its parent's height (at its own height for a genesis
 * block), chainweb-format.md section 9.
 *
 * Rule changes ("forks") are heights H with Chainweb's meaning of its guards:
 * the old rule applies to heights strictly below H, so 0 means "the new rule
 * from genesis" and CAIRN_FORK_NEVER means "the old rule forever".  Which
 * height a fork is compared with (the parent's or the block's own) is part of
 * each rule and documented in difficulty.h.
 *
 * mainnet01 and testnet04 follow Chainweb exactly.  development and
 * test-singleton are cairn's own local networks: a fixed, easy target (about
 * 16 BLAKE2s attempts per block) and no difficulty adjustment (window 0), and
 * genesis payloads that cairn builds itself (genesis.h).
 */
#ifndef CAIRN_CHAIN_VERSION_H
#define CAIRN_CHAIN_VERSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/graph.h"

typedef struct cairn_graph_epoch {
	uint64_t height; /* first (parent) height at which `graph` applies */
	const cairn_graph *graph;
} cairn_graph_epoch;

#define CAIRN_FORK_NEVER UINT64_MAX

/* Genesis data of a range of chains. */
typedef struct cairn_genesis_spec {
	uint32_t first_chain, last_chain; /* inclusive */
	const char *target;               /* 64 hex digits, most significant first */
	const char *payload_hash;         /* base64url; NULL: built by cairn_genesis_payload() */
} cairn_genesis_spec;

typedef struct cairn_version {
	const char *name;
	uint32_t code;
	const cairn_graph_epoch *graph_history; /* ascending by height */
	size_t graph_history_len;
	int64_t block_delay_us;
	int64_t genesis_time_us;
	uint64_t latest_behavior_height; /* 1 + highest fork or graph-change height */
	int has_block_producer;          /* the development producer may run on it */

	const cairn_genesis_spec *genesis; /* covers every chain of the version */
	size_t genesis_len;

	/* Difficulty adjustment: epochs of `window` blocks (a tenth of it while
	 * the parent height is at most `window`); 0 keeps every target equal to
	 * the genesis target. */
	uint32_t window;
	uint64_t slow_epoch_fork;        /* emergency DA below (parent height) */
	uint64_t old_target_fork;        /* epoch time from the new block below (parent height) */
	uint64_t old_da_fork;            /* legacy DA below (block height) */
	uint64_t fork_state_fork;        /* featureFlags rules from (block height) */
	bool fake_first_epoch_start;     /* recap-development: epoch restarts at height 2 */
	uint32_t fork_number;            /* fork number this release votes towards */
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

/* Whether (chain, height) is the genesis block of `chain`. */
bool cairn_version_is_genesis(const cairn_version *v, uint32_t chain, uint64_t height);

/* The genesis data of `chain`, or CAIRN_ENOTFOUND. */
int cairn_version_genesis_spec(const cairn_genesis_spec **out, const cairn_version *v, uint32_t chain);

#endif
