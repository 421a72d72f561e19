/*
 * u256.c: implementation of u256.h.
 *
 * Every operation is written once over digit arrays of any length (mp_*)
 * and wrapped for the two fixed widths.  Division follows Knuth, TAOCP
 * vol. 2, 4.3.1, algorithm D, with 32-bit digits and 64-bit intermediates:
 * normalise so the divisor's top digit has its high bit set, estimate each
 * quotient digit from the top two remainder digits (at most two too large),
 * multiply-subtract, and add back in the rare case the estimate was one too
 * large.  The unit test checks q*b + r == a and r < b on many operands.
 */
#include "chain/u256.h"
#include "util/error.h"

#include <stdio.h>
#include <string.h>

#define MAX_DIGITS 16

static size_t mp_used(const uint32_t *x, size_t n)
{
	while (n > 0 && x[n - 1] == 0)
		n--;
	return n;
}

static int mp_cmp(const uint32_t *a, const uint32_t *b, size_t n)
{
	for (size_t i = n; i-- > 0;)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return 0;
}

static bool mp_add(uint32_t *out, const uint32_t *a, const uint32_t *b, size_t n)
{
	uint64_t carry = 0;
	for (size_t i = 0; i < n; i++) {
		carry += (uint64_t)a[i] + b[i];
		out[i] = (uint32_t)carry;
		carry >>= 32;
	}
	return carry != 0;
}

/* Divides the m-digit u by the single digit v: q (m digits), returns u % v. */
static uint32_t mp_div_digit(uint32_t *q, const uint32_t *u, size_t m, uint32_t v)
{
	uint64_t rem = 0;
	for (size_t j = m; j-- > 0;) {
		uint64_t cur = rem << 32 | u[j];
		q[j] = (uint32_t)(cur / v);
		rem = cur % v;
	}
	return (uint32_t)rem;
}

/* Shifts x[0..n) left by s < 32 bits into out[0..n], out[n] taking the
 * overflow. */
static void mp_shl(uint32_t *out, const uint32_t *x, size_t n, unsigned s)
{
	out[n] = s ? x[n - 1] >> (32 - s) : 0;
	for (size_t i = n - 1; i > 0; i--)
		out[i] = x[i] << s | (s ? x[i - 1] >> (32 - s) : 0);
	out[0] = x[0] << s;
}

/* Knuth D for m >= n >= 2 significant digits: q[0..m-n], r[0..n). */
static void mp_div_long(uint32_t *q, uint32_t *r, const uint32_t *u, size_t m, const uint32_t *v, size_t n)
{
	uint32_t un[MAX_DIGITS + 1], vn[MAX_DIGITS + 1];
	unsigned s = (unsigned)__builtin_clz(v[n - 1]);
	mp_shl(vn, v, n, s);
	mp_shl(un, u, m, s);
	for (size_t j = m - n + 1; j-- > 0;) {
		uint64_t top = (uint64_t)un[j + n] << 32 | un[j + n - 1];
		uint64_t qhat = top / vn[n - 1];
		uint64_t rhat = top % vn[n - 1];
		while (qhat >> 32 || qhat * vn[n - 2] > (rhat << 32 | un[j + n - 2])) {
			qhat--;
			rhat += vn[n - 1];
			if (rhat >> 32)
				break;
		}
		int64_t borrow = 0, t;
		for (size_t i = 0; i < n; i++) {
			uint64_t p = qhat * vn[i];
			t = (int64_t)un[i + j] - borrow - (int64_t)(p & 0xffffffffu);
			un[i + j] = (uint32_t)t;
			borrow = (int64_t)(p >> 32) - (t >> 32);
		}
		t = (int64_t)un[j + n] - borrow;
		un[j + n] = (uint32_t)t;
		q[j] = (uint32_t)qhat;
		if (t < 0) {
			q[j]--;
			uint64_t carry = 0;
			for (size_t i = 0; i < n; i++) {
				carry += (uint64_t)un[i + j] + vn[i];
				un[i + j] = (uint32_t)carry;
				carry >>= 32;
			}
			un[j + n] += (uint32_t)carry;
		}
	}
	for (size_t i = 0; i < n; i++)
		r[i] = un[i] >> s | (s ? un[i + 1] << (32 - s) : 0);
}

/* q = a / b, r = a % b over `digits`-digit numbers; q and r may be NULL or
 * alias the inputs. */
static int mp_divmod(uint32_t *q, uint32_t *r, const uint32_t *a, const uint32_t *b, size_t digits)
{
	uint32_t qq[MAX_DIGITS] = {0}, rr[MAX_DIGITS] = {0};
	size_t m = mp_used(a, digits), n = mp_used(b, digits);
	if (n == 0)
		return cairn_error_set(CAIRN_EINVALID, "division by zero");
	if (mp_cmp(a, b, digits) < 0)
		memcpy(rr, a, digits * sizeof(uint32_t));
	else if (n == 1)
		rr[0] = mp_div_digit(qq, a, m, b[0]);
	else
		mp_div_long(qq, rr, a, m, b, n);
	if (q)
		memcpy(q, qq, digits * sizeof(uint32_t));
	if (r)
		memcpy(r, rr, digits * sizeof(uint32_t));
	return CAIRN_OK;
}

void cairn_u256_from_le(cairn_u256 *out, const uint8_t in[CAIRN_U256_BYTES])
{
	for (int i = 0; i < 8; i++)
		out->d[i] = (uint32_t)in[4 * i] | (uint32_t)in[4 * i + 1] << 8 |
			(uint32_t)in[4 * i + 2] << 16 | (uint32_t)in[4 * i + 3] << 24;
}

void cairn_u256_to_le(uint8_t out[CAIRN_U256_BYTES], const cairn_u256 *x)
{
	for (int i = 0; i < 8; i++)
		for (int k = 0; k < 4; k++)
			out[4 * i + k] = (uint8_t)(x->d[i] >> (8 * k));
}

void cairn_u256_from_u64(cairn_u256 *out, uint64_t v)
{
	memset(out, 0, sizeof(*out));
	out->d[0] = (uint32_t)v;
	out->d[1] = (uint32_t)(v >> 32);
}

void cairn_u256_max(cairn_u256 *out)
{
	memset(out->d, 0xff, sizeof(out->d));
}

bool cairn_u256_is_zero(const cairn_u256 *x)
{
	return mp_used(x->d, 8) == 0;
}

int cairn_u256_cmp(const cairn_u256 *a, const cairn_u256 *b)
{
	return mp_cmp(a->d, b->d, 8);
}

int cairn_u256_cmp_le(const uint8_t a[CAIRN_U256_BYTES], const uint8_t b[CAIRN_U256_BYTES])
{
	for (int i = CAIRN_U256_BYTES - 1; i >= 0; i--)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return 0;
}

bool cairn_u256_add(cairn_u256 *out, const cairn_u256 *a, const cairn_u256 *b)
{
	return mp_add(out->d, a->d, b->d, 8);
}

bool cairn_u256_sub(cairn_u256 *out, const cairn_u256 *a, const cairn_u256 *b)
{
	int64_t borrow = 0;
	for (int i = 0; i < 8; i++) {
		int64_t t = (int64_t)a->d[i] - b->d[i] - borrow;
		out->d[i] = (uint32_t)t;
		borrow = t < 0;
	}
	return borrow != 0;
}

int cairn_u256_divmod(cairn_u256 *q, cairn_u256 *r, const cairn_u256 *a, const cairn_u256 *b)
{
	return mp_divmod(q ? q->d : NULL, r ? r->d : NULL, a->d, b->d, 8);
}

void cairn_u256_to_decimal(char out[CAIRN_U256_DECIMAL_MAX], const cairn_u256 *x)
{
	uint32_t n[8];
	uint32_t chunks[9]; /* base 10^9, least significant first */
	size_t count = 0;
	memcpy(n, x->d, sizeof(n));
	do
		chunks[count++] = mp_div_digit(n, n, 8, 1000000000u);
	while (mp_used(n, 8) > 0);
	int len = snprintf(out, CAIRN_U256_DECIMAL_MAX, "%u", chunks[count - 1]);
	for (size_t i = count - 1; i-- > 0;)
		len += snprintf(out + len, (size_t)(CAIRN_U256_DECIMAL_MAX - len), "%09u", chunks[i]);
}

void cairn_u512_from_u256(cairn_u512 *out, const cairn_u256 *x)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->d, x->d, sizeof(x->d));
}

void cairn_u512_low(cairn_u256 *out, const cairn_u512 *x)
{
	memmove(out->d, x->d, sizeof(out->d));
}

bool cairn_u512_is_zero(const cairn_u512 *x)
{
	return mp_used(x->d, 16) == 0;
}

void cairn_u512_mul(cairn_u512 *out, const cairn_u256 *a, const cairn_u256 *b)
{
	uint32_t acc[16] = {0};
	for (int i = 0; i < 8; i++) {
		uint64_t carry = 0;
		for (int j = 0; j < 8; j++) {
			carry += (uint64_t)a->d[i] * b->d[j] + acc[i + j];
			acc[i + j] = (uint32_t)carry;
			carry >>= 32;
		}
		acc[i + 8] = (uint32_t)carry;
	}
	memcpy(out->d, acc, sizeof(acc));
}

void cairn_u512_add(cairn_u512 *out, const cairn_u512 *a, const cairn_u512 *b)
{
	mp_add(out->d, a->d, b->d, 16);
}

int cairn_u512_divmod(cairn_u512 *q, cairn_u512 *r, const cairn_u512 *a, const cairn_u512 *b)
{
	return mp_divmod(q ? q->d : NULL, r ? r->d : NULL, a->d, b->d, 16);
}
