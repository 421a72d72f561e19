/*
 * forkstate.h: the fork state carried in a header's featureFlags (the low
 * 32 bits are the fork number, the high 32 bits the fork votes) and its
 * rules, following chainweb-node's Chainweb.ForkState and the fork
 * validation properties.
 *
 * Fork epochs are 14 400 blocks.  At a fork epoch start (height mod 14 400
 * = 0) the votes reset to 0 or to one vote (1000), and the fork number grows
 * by one when the parent's votes decide for it (round(votes / 1000) * 3 >=
 * 2 * 14 280, rounding half to even).  In the 14 280 vote blocks that follow
 * the start, each block keeps its parent's votes or adds one vote.  In the
 * last 120 blocks (count blocks) the votes are the average (integer
 * quotient) of the parent's and the adjacent parents' votes.  All vote
 * arithmetic is 32-bit and wraps, as in Chainweb.
 *
 * The rules apply from the version's fork_state_fork height (mainnet
 * 530 500); before it featureFlags carried arbitrary nonce bytes.
 */
#ifndef CAIRN_CHAIN_FORKSTATE_H
#define CAIRN_CHAIN_FORKSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/header.h"
#include "chain/version.h"

#define CAIRN_FORK_EPOCH_LENGTH 14400
#define CAIRN_FORK_VOTE_COUNT_LENGTH 120
#define CAIRN_FORK_VOTE_STEP 1000

/* The featureFlags a producer gives the child of `parent` at `height`
 * (parent height + 1); it votes for a new fork while the parent's fork
 * number is below v->fork_number. */
uint64_t cairn_fork_state_next(const cairn_version *v, const cairn_header *parent,
	const cairn_header *const *adjacent_parents, size_t n_adjacent);

/* Checks h's featureFlags against its parent and adjacent parents;
 * CAIRN_EINVALID with the reason otherwise.  Always CAIRN_OK below the
 * version's fork_state_fork. */
int cairn_fork_state_check(const cairn_version *v, const cairn_header *h, const cairn_header *parent,
	const cairn_header *const *adjacent_parents, size_t n_adjacent);

#endif
