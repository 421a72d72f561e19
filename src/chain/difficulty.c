/*
 * difficulty.c: implementation of difficulty.h.
 *
 * Chainweb computes with exact rationals and converts results to Word256
 * with `ceiling`/`floor`; here numerators and denominators are exact 512-bit
 * products (a 256-bit target times a 64-bit duration, or maxTarget times
 * window * blockDelay), so one integer division with a remainder test gives
 * the same result.  A negative duration (impossible between validated
 * headers) is carried through the same way Chainweb does: the ceiling of a
 * negative number, reduced modulo 2^256.
 */
#include "chain/difficulty.h"
#include "util/error.h"

#include <string.h>

int cairn_difficulty_from_target(cairn_u256 *out, const uint8_t target[CAIRN_HASH_LEN])
{
	cairn_u256 t, max;
	cairn_u256_from_le(&t, target);
	cairn_u256_max(&max);
	if (cairn_u256_divmod(out, NULL, &max, &t) != CAIRN_OK)
		return cairn_error_set(CAIRN_EINVALID, "target: zero target has no difficulty");
	return CAIRN_OK;
}

int cairn_weight_next(uint8_t out[CAIRN_HASH_LEN], const uint8_t parent_weight[CAIRN_HASH_LEN],
	const uint8_t target[CAIRN_HASH_LEN])
{
	cairn_u256 d, w;
	int rc = cairn_difficulty_from_target(&d, target);
	if (rc != CAIRN_OK)
		return rc;
	cairn_u256_from_le(&w, parent_weight);
	cairn_u256_add(&w, &w, &d);
	cairn_u256_to_le(out, &w);
	return CAIRN_OK;
}

static void u512_from_u64(cairn_u512 *out, uint64_t v)
{
	cairn_u256 x;
	cairn_u256_from_u64(&x, v);
	cairn_u512_from_u256(out, &x);
}

/* a * b for 64-bit a, b as a 256-bit number. */
static void product_u64(cairn_u256 *out, uint64_t a, uint64_t b)
{
	cairn_u256 x, y;
	cairn_u512 p;
	cairn_u256_from_u64(&x, a);
	cairn_u256_from_u64(&y, b);
	cairn_u512_mul(&p, &x, &y);
	cairn_u512_low(out, &p);
}

/* a - b with Int64's wrap-around, as Chainweb's time spans behave; plain
 * subtraction could overflow on hostile headers. */
static int64_t time_span(int64_t a, int64_t b)
{
	return (int64_t)((uint64_t)a - (uint64_t)b);
}

static uint64_t magnitude(int64_t v)
{
	return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

/* ceiling(sign * num / den) reduced modulo 2^256, as Chainweb's
 * `ceiling :: Rational -> Word256` does. */
static int ceiling_mod_2_256(cairn_u256 *out, const cairn_u512 *num, const cairn_u512 *den, bool negative)
{
	cairn_u512 q, r, one;
	if (cairn_u512_divmod(&q, &r, num, den) != CAIRN_OK)
		return CAIRN_EINVALID;
	if (!negative && !cairn_u512_is_zero(&r)) {
		u512_from_u64(&one, 1);
		cairn_u512_add(&q, &q, &one);
	}
	cairn_u512_low(out, &q);
	if (negative) {
		cairn_u256 zero;
		cairn_u256_from_u64(&zero, 0);
		cairn_u256_sub(out, &zero, out);
	}
	return CAIRN_OK;
}

int cairn_da_adjust(cairn_u256 *out, const cairn_u256 *target, int64_t delta_us, uint32_t window,
	int64_t block_delay_us)
{
	cairn_u256 delta, epoch;
	cairn_u512 num, den;
	cairn_u256_from_u64(&delta, magnitude(delta_us));
	cairn_u512_mul(&num, &delta, target);
	product_u64(&epoch, window, magnitude(block_delay_us));
	cairn_u512_from_u256(&den, &epoch);
	if (ceiling_mod_2_256(out, &num, &den, delta_us < 0) != CAIRN_OK)
		return cairn_error_set(CAIRN_EINVALID, "target: zero epoch length (window %u)", window);
	return CAIRN_OK;
}

int cairn_da_legacy_adjust(cairn_u256 *out, const cairn_u256 *target, int64_t delta_us, uint32_t window,
	int64_t block_delay_us)
{
	cairn_u256 max, epoch, delta, new_diff;
	cairn_u512 num, den;
	cairn_u256_max(&max);
	product_u64(&epoch, window, magnitude(block_delay_us));
	cairn_u512_mul(&num, &max, &epoch);
	cairn_u256_from_u64(&delta, magnitude(delta_us));
	cairn_u512_mul(&den, target, &delta);
	if (ceiling_mod_2_256(&new_diff, &num, &den, delta_us < 0) != CAIRN_OK)
		return cairn_error_set(CAIRN_EINVALID,
			"target: legacy difficulty adjustment over a zero target or zero epoch duration");
	if (cairn_u256_divmod(out, NULL, &max, &new_diff) != CAIRN_OK)
		return cairn_error_set(CAIRN_EINVALID, "target: legacy difficulty adjustment to a zero difficulty");
	return CAIRN_OK;
}

static uint32_t effective_window(const cairn_version *v, const cairn_header *parent)
{
	if (parent->height <= v->window)
		return v->window / 10 > 0 ? v->window / 10 : 1;
	return v->window;
}

/* floor(avg over {parent} + adjacent parents of adjust(a)). */
static int new_da(cairn_u256 *out, const cairn_version *v, uint32_t w, const cairn_header *parent,
	const cairn_header *const *adjacent, size_t n)
{
	cairn_u512 sum, term, count;
	memset(&sum, 0, sizeof(sum));
	for (size_t i = 0; i <= n; i++) {
		const cairn_header *a = i == 0 ? parent : adjacent[i - 1];
		cairn_u256 t, adjusted;
		cairn_u256_from_le(&t, a->target);
		int rc = cairn_da_adjust(&adjusted, &t, time_span(a->creation_time_us, a->epoch_start_us), w,
			v->block_delay_us);
		if (rc != CAIRN_OK)
			return rc;
		cairn_u512_from_u256(&term, &adjusted);
		cairn_u512_add(&sum, &sum, &term);
	}
	u512_from_u64(&count, n + 1);
	cairn_u512_divmod(&sum, NULL, &sum, &count);
	cairn_u512_low(out, &sum);
	return CAIRN_OK;
}

static int adjusted_target(cairn_u256 *out, const cairn_version *v, uint32_t w, const cairn_header *parent,
	const cairn_header *const *adjacent, size_t n, int64_t epoch_time_us)
{
	if (parent->height + 1 >= v->old_da_fork)
		return new_da(out, v, w, parent, adjacent, n);
	cairn_u256 t;
	cairn_u256_from_le(&t, parent->target);
	return cairn_da_legacy_adjust(out, &t, time_span(epoch_time_us, parent->epoch_start_us), w,
		v->block_delay_us);
}

static bool starts_new_chain_epoch(const cairn_version *v, const cairn_header *parent)
{
	uint64_t genesis;
	if (v->fake_first_epoch_start && parent->height == 1)
		return true;
	return parent->height > 1 && cairn_version_genesis_height(&genesis, v, parent->chain_id) == CAIRN_OK &&
		parent->height == genesis + 1;
}

int cairn_da_next(uint8_t target[CAIRN_HASH_LEN], int64_t *epoch_start_us, const cairn_version *v,
	const cairn_header *parent, const cairn_header *const *adjacent_parents, size_t n_adjacent,
	int64_t creation_time_us)
{
	if (v->window == 0) {
		memcpy(target, parent->target, CAIRN_HASH_LEN);
		*epoch_start_us = parent->epoch_start_us;
		return CAIRN_OK;
	}
	uint32_t w = effective_window(v, parent);
	bool last_in_epoch = (parent->height + 1) % w == 0;
	bool old_target = parent->height < v->old_target_fork;
	int64_t epoch_time = old_target ? creation_time_us : parent->creation_time_us;
	bool slow_epoch = parent->height < v->slow_epoch_fork &&
		time_span(creation_time_us, parent->epoch_start_us) > 5 * v->block_delay_us * (int64_t)v->window;
	if (last_in_epoch || slow_epoch) {
		cairn_u256 t;
		int rc = adjusted_target(&t, v, w, parent, adjacent_parents, n_adjacent, epoch_time);
		if (rc != CAIRN_OK)
			return rc;
		cairn_u256_to_le(target, &t);
	} else {
		memcpy(target, parent->target, CAIRN_HASH_LEN);
	}
	if (starts_new_chain_epoch(v, parent))
		*epoch_start_us = parent->creation_time_us;
	else if (last_in_epoch)
		*epoch_start_us = epoch_time;
	else
		*epoch_start_us = parent->epoch_start_us;
	return CAIRN_OK;
}
