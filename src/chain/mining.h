/*
 * mining.h: building and solving new headers, for a block producer.
 *
 * cairn_mining_make_child derives every consensus field of a child from its
 * parent and adjacent parents exactly as validate.h checks them: height,
 * chain, version, adjacents (the graph at the parent's height), target and
 * epoch start (difficulty.h), weight, featureFlags (forkstate.h); the caller
 * supplies the payload hash and a creation time.  cairn_mining_solve then
 * searches nonces.  Both are pure: no clock, no I/O.
 *
 * On cairn's local networks the target needs about 16 BLAKE2s attempts, so a
 * block costs roughly 16 PoW hashes plus one block hash.
 */
#ifndef CAIRN_CHAIN_MINING_H
#define CAIRN_CHAIN_MINING_H

#include <stddef.h>
#include <stdint.h>

#include "chain/header.h"

/* Builds the unsolved child (nonce 0, hash unset) of `parent`.
 * `adjacent_parents` must hold, in any order, the latest header of each
 * neighbour of the parent's chain in the graph at the parent's height (the
 * producer's braiding).  The creation time is raised when needed to one
 * microsecond after the latest of the parent and adjacent parents, which
 * validation requires.  CAIRN_EINVALID when a neighbour is missing or the
 * parents disagree on version. */
int cairn_mining_make_child(cairn_header *out, const cairn_header *parent,
	const cairn_header *const *adjacent_parents, size_t n_adjacent,
	const uint8_t payload_hash[CAIRN_HASH_LEN], int64_t creation_time_us);

/* Tries nonces h->nonce, h->nonce + 1, ... (at most max_attempts of them)
 * until the PoW hash meets h->target, then stores the nonce and the block
 * hash in h.  *attempts (when not NULL) receives the number of PoW hashes
 * computed.  CAIRN_ENOTFOUND when no nonce in the range works. */
int cairn_mining_solve(cairn_header *h, uint64_t max_attempts, uint64_t *attempts);

#endif
