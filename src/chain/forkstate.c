/*
 * forkstate.c: implementation of forkstate.h.
 *
 * The producer follows the validation rules of the child's height.
 * (chainweb-node's own newForkState classifies by the parent's height, which
 * differs at the first count block; a block produced that way with a fresh
 * vote there would fail validation, so cairn never produces one.)
 */
#include "chain/forkstate.h"
#include "util/error.h"

static uint32_t fork_number(uint64_t flags)
{
	return (uint32_t)flags;
}

static uint32_t fork_votes(uint64_t flags)
{
	return (uint32_t)(flags >> 32);
}

static uint64_t fork_state(uint32_t number, uint32_t votes)
{
	return (uint64_t)votes << 32 | number;
}

static bool is_epoch_start(uint64_t height)
{
	return height % CAIRN_FORK_EPOCH_LENGTH == 0;
}

static bool is_vote_block(uint64_t height)
{
	return height % CAIRN_FORK_EPOCH_LENGTH < CAIRN_FORK_EPOCH_LENGTH - CAIRN_FORK_VOTE_COUNT_LENGTH;
}

/* round(votes / 1000), ties to even, times 3 >= 2 * 14 280. */
static bool votes_decide(uint32_t votes)
{
	uint64_t q = votes / CAIRN_FORK_VOTE_STEP, r = votes % CAIRN_FORK_VOTE_STEP;
	if (r > CAIRN_FORK_VOTE_STEP / 2 || (r == CAIRN_FORK_VOTE_STEP / 2 && q % 2 == 1))
		q++;
	return q * 3 >= (uint64_t)(CAIRN_FORK_EPOCH_LENGTH - CAIRN_FORK_VOTE_COUNT_LENGTH) * 2;
}

static uint32_t counted_votes(const cairn_header *parent, const cairn_header *const *adjacent, size_t n)
{
	uint32_t sum = fork_votes(parent->feature_flags);
	for (size_t i = 0; i < n; i++)
		sum += fork_votes(adjacent[i]->feature_flags);
	return sum / (uint32_t)(n + 1);
}

static uint32_t expected_number(const cairn_header *parent, uint64_t height)
{
	uint32_t pn = fork_number(parent->feature_flags);
	return is_epoch_start(height) && votes_decide(fork_votes(parent->feature_flags)) ? pn + 1 : pn;
}

uint64_t cairn_fork_state_next(const cairn_version *v, const cairn_header *parent,
	const cairn_header *const *adjacent_parents, size_t n_adjacent)
{
	uint64_t height = parent->height + 1;
	uint32_t vote = fork_number(parent->feature_flags) < v->fork_number ? CAIRN_FORK_VOTE_STEP : 0;
	uint32_t votes;
	if (is_epoch_start(height))
		votes = vote;
	else if (is_vote_block(height))
		votes = fork_votes(parent->feature_flags) + vote;
	else
		votes = counted_votes(parent, adjacent_parents, n_adjacent);
	return fork_state(expected_number(parent, height), votes);
}

int cairn_fork_state_check(const cairn_version *v, const cairn_header *h, const cairn_header *parent,
	const cairn_header *const *adjacent_parents, size_t n_adjacent)
{
	if (h->height < v->fork_state_fork)
		return CAIRN_OK;
	uint32_t number = fork_number(h->feature_flags), votes = fork_votes(h->feature_flags);
	uint32_t expected = expected_number(parent, h->height);
	if (number != expected)
		return cairn_error_set(CAIRN_EINVALID, "featureFlags: fork number %u, expected %u", number, expected);
	uint32_t base;
	if (is_epoch_start(h->height))
		base = 0;
	else if (is_vote_block(h->height))
		base = fork_votes(parent->feature_flags);
	else {
		uint32_t counted = counted_votes(parent, adjacent_parents, n_adjacent);
		if (votes != counted)
			return cairn_error_set(CAIRN_EINVALID, "featureFlags: fork votes %u, expected the count %u",
				votes, counted);
		return CAIRN_OK;
	}
	if (votes != base && votes != base + CAIRN_FORK_VOTE_STEP)
		return cairn_error_set(CAIRN_EINVALID, "featureFlags: fork votes %u, expected %u or %u", votes,
			base, base + CAIRN_FORK_VOTE_STEP);
	return CAIRN_OK;
}
