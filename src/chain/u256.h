/*
 * u256.h: unsigned 256-bit integers (targets, weights, difficulties, PoW
 * values) and the 512-bit intermediates the difficulty adjustment needs.
 *
 * Numbers are arrays of 32-bit digits, least significant first; Chainweb's
 * wire form is 32 little-endian bytes (cairn_u256_from_le/to_le).  Division
 * is Knuth's algorithm D, so dividing 2^256-1 by a target (once per
 * validated header) costs tens of nanoseconds.  Functions take pointers to
 * their operands and allow the output to alias any input.
 */
#ifndef CAIRN_CHAIN_U256_H
#define CAIRN_CHAIN_U256_H

#include <stdbool.h>
#include <stdint.h>

#define CAIRN_U256_BYTES 32
/* Characters of the longest decimal form (78 digits) plus the NUL. */
#define CAIRN_U256_DECIMAL_MAX 79

typedef struct cairn_u256 {
	uint32_t d[8];
} cairn_u256;

typedef struct cairn_u512 {
	uint32_t d[16];
} cairn_u512;

void cairn_u256_from_le(cairn_u256 *out, const uint8_t in[CAIRN_U256_BYTES]);
void cairn_u256_to_le(uint8_t out[CAIRN_U256_BYTES], const cairn_u256 *x);
void cairn_u256_from_u64(cairn_u256 *out, uint64_t v);

/* 2^256 - 1, Chainweb's maxTarget. */
void cairn_u256_max(cairn_u256 *out);

bool cairn_u256_is_zero(const cairn_u256 *x);

/* -1, 0 or 1 as a < b, a == b, a > b. */
int cairn_u256_cmp(const cairn_u256 *a, const cairn_u256 *b);

/* The same comparison on the 32-byte little-endian forms. */
int cairn_u256_cmp_le(const uint8_t a[CAIRN_U256_BYTES], const uint8_t b[CAIRN_U256_BYTES]);

/* out = a + b mod 2^256; returns true on overflow. */
bool cairn_u256_add(cairn_u256 *out, const cairn_u256 *a, const cairn_u256 *b);

/* out = a - b mod 2^256; returns true on borrow (a < b). */
bool cairn_u256_sub(cairn_u256 *out, const cairn_u256 *a, const cairn_u256 *b);

/* q = a / b, r = a % b (either may be NULL).  CAIRN_EINVALID when b is 0. */
int cairn_u256_divmod(cairn_u256 *q, cairn_u256 *r, const cairn_u256 *a, const cairn_u256 *b);

/* Decimal text, e.g. "3017634219499629496695". */
void cairn_u256_to_decimal(char out[CAIRN_U256_DECIMAL_MAX], const cairn_u256 *x);

void cairn_u512_from_u256(cairn_u512 *out, const cairn_u256 *x);

/* The low 256 bits (x mod 2^256). */
void cairn_u512_low(cairn_u256 *out, const cairn_u512 *x);

bool cairn_u512_is_zero(const cairn_u512 *x);

/* out = a * b (exact). */
void cairn_u512_mul(cairn_u512 *out, const cairn_u256 *a, const cairn_u256 *b);

/* out = a + b mod 2^512. */
void cairn_u512_add(cairn_u512 *out, const cairn_u512 *a, const cairn_u512 *b);

/* q = a / b, r = a % b (either may be NULL).  CAIRN_EINVALID when b is 0. */
int cairn_u512_divmod(cairn_u512 *q, cairn_u512 *r, const cairn_u512 *a, const cairn_u512 *b);

#endif
