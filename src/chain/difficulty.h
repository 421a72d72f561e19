/*
 * difficulty.h: difficulty, weight and the difficulty adjustment (DA) that
 * fixes each block's target and epoch start, chainweb-format.md section 5,
 * following chainweb-node's powTarget/epochStart exactly.
 *
 * For a child of parent p with adjacent parents A and creation time t
 * (w = the version's window, or a tenth of it while p.height <= window):
 *   - "last in epoch": (p.height + 1) mod w == 0.  Otherwise the child
 *     copies p's target and epochStart.
 *   - At an epoch boundary with the new DA (child height >= old_da_fork):
 *       target = floor(avg over a in {p} + A of
 *                ceil((a.creationTime - a.epochStart) * a.target / (w * blockDelay)))
 *       epochStart = p.creationTime
 *   - With the legacy DA (child height < old_da_fork):
 *       target = maxTarget div ceil((maxTarget / p.target) * blockDelay * w / (T - p.epochStart))
 *       epochStart = T, where T = t while p.height < old_target_fork, else
 *       p.creationTime.
 *   - Emergency DA (p.height < slow_epoch_fork, mainnet below 80 000): when
 *     t - p.epochStart > 5 * blockDelay * window, the target is adjusted as
 *     at a boundary while the epoch start is kept.
 *   - The block after the first block of a chain added by a graph change
 *     (p.height = genesis height + 1 > 1) starts a new epoch at
 *     p.creationTime; so does height 2 on recap-development.
 * Intermediate values are exact; results are reduced modulo 2^256 where
 * Chainweb converts them to its Word256 type (which wraps, so its
 * "min maxTarget" never clamps).
 *
 * Versions with window 0 (cairn's local networks) use a fixed target: every
 * block copies its parent's target and epoch start.
 */
#ifndef CAIRN_CHAIN_DIFFICULTY_H
#define CAIRN_CHAIN_DIFFICULTY_H

#include <stddef.h>
#include <stdint.h>

#include "chain/header.h"
#include "chain/u256.h"
#include "chain/version.h"

/* floor((2^256 - 1) / target); CAIRN_EINVALID for a zero target. */
int cairn_difficulty_from_target(cairn_u256 *out, const uint8_t target[CAIRN_HASH_LEN]);

/* weight = parent_weight + difficulty(target) mod 2^256 (the block weight of
 * a child with `target`). */
int cairn_weight_next(uint8_t out[CAIRN_HASH_LEN], const uint8_t parent_weight[CAIRN_HASH_LEN],
	const uint8_t target[CAIRN_HASH_LEN]);

/* Chainweb's `adjust`: ceil(delta_us * target / (window * block_delay_us)). */
int cairn_da_adjust(cairn_u256 *out, const cairn_u256 *target, int64_t delta_us, uint32_t window,
	int64_t block_delay_us);

/* Chainweb's `legacyAdjust`:
 * maxTarget div ceil((maxTarget / target) * block_delay_us * window / delta_us). */
int cairn_da_legacy_adjust(cairn_u256 *out, const cairn_u256 *target, int64_t delta_us, uint32_t window,
	int64_t block_delay_us);

/* The target and epoch start of the child of `parent` created at
 * `creation_time_us`; `adjacent_parents` are the child's adjacent parents
 * (any order; only used by the new DA).  CAIRN_EINVALID when Chainweb's
 * arithmetic would fail (a zero target or epoch duration). */
int cairn_da_next(uint8_t target[CAIRN_HASH_LEN], int64_t *epoch_start_us, const cairn_version *v,
	const cairn_header *parent, const cairn_header *const *adjacent_parents, size_t n_adjacent,
	int64_t creation_time_us);

#endif
