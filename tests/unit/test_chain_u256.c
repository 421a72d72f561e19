/* Unit tests for chain/u256: byte order, decimal text, division against
 * values computed independently with exact integers, and the identity
 * q*b + r == a, r < b on many operands of every size. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "chain/u256.h"
#include "util/base64url.h"
#include "util/error.h"
#include "util/hex.h"

/* A number from its little-endian bytes in some text form. */
static cairn_u256 decode(const char *text, int (*decoder)(uint8_t *, size_t, const char *, size_t))
{
	uint8_t le[32];
	assert_int_equal(decoder(le, 32, text, strlen(text)), CAIRN_OK);
	cairn_u256 x;
	cairn_u256_from_le(&x, le);
	return x;
}

static cairn_u256 from_b64(const char *text)
{
	return decode(text, cairn_base64url_decode_exact);
}

static cairn_u256 from_hex(const char *text)
{
	return decode(text, cairn_hex_decode_reversed);
}

static void assert_decimal(const cairn_u256 *x, const char *expected)
{
	char text[CAIRN_U256_DECIMAL_MAX];
	cairn_u256_to_decimal(text, x);
	assert_string_equal(text, expected);
}

static cairn_u256 difficulty(const cairn_u256 *target)
{
	cairn_u256 max, q;
	cairn_u256_max(&max);
	assert_int_equal(cairn_u256_divmod(&q, NULL, &max, target), CAIRN_OK);
	return q;
}

static void test_byte_order_and_decimal(void **state)
{
	(void)state;
	cairn_u256 w = from_b64("d8mOCoZeFpajAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	assert_decimal(&w, "3017634219499629496695");
	uint8_t le[32];
	cairn_u256_to_le(le, &w);
	assert_int_equal(le[0], 0x77);
	cairn_u256 zero, max;
	cairn_u256_from_u64(&zero, 0);
	assert_decimal(&zero, "0");
	cairn_u256_max(&max);
	assert_decimal(&max,
		"115792089237316195423570985008687907853269984665640564039457584007913129639935");
	cairn_u256 t = from_b64("zklwTetkWv91YxYIRmXCt6kUHpEBpiN8gwcAAAAAAAA");
	cairn_u256 h = from_hex("00000000000007837c23a601911e14a9b7c2654608166375ff5a64eb4d7049ce");
	assert_int_equal(cairn_u256_cmp(&t, &h), 0);
}

/* difficulty = floor((2^256 - 1) / target) for the two mainnet samples and
 * the header Chainweb derived the 20-chain initial target from. */
static void test_difficulty_of_mainnet_targets(void **state)
{
	(void)state;
	cairn_u256 t = from_b64("zklwTetkWv91YxYIRmXCt6kUHpEBpiN8gwcAAAAAAAA");
	cairn_u256 d = difficulty(&t);
	assert_decimal(&d, "9590272266733846");
	t = from_b64("tvH4nBuGx3opw-50T8-i6ECi68IgpFLOjAcAAAAAAAA");
	d = difficulty(&t);
	assert_decimal(&d, "9544022817185683");
	t = from_b64("DOordl9cgfs4ZTBdFnbjRW5th-hW-pL33DIAAAAAAAA");
	d = difficulty(&t);
	assert_decimal(&d, "1416695392226224");
	cairn_u256 max;
	cairn_u256_max(&max);
	d = difficulty(&max);
	assert_decimal(&d, "1");
}

/* Relations stated next to Chainweb's initial targets of the 20-chain
 * transition: mainnet's is 4x the target of mainnet block 731382 on chain 0,
 * and testnet04's divided by mainnet's is 8893. */
static void test_twenty_chain_initial_targets(void **state)
{
	(void)state;
	cairn_u256 base = from_b64("DOordl9cgfs4ZTBdFnbjRW5th-hW-pL33DIAAAAAAAA");
	cairn_u256 four = base;
	assert_false(cairn_u256_add(&four, &four, &four));
	assert_false(cairn_u256_add(&four, &four, &four));
	cairn_u256 mainnet = from_hex("000000000000cb73de4be95ba21db5b9178dd85974c194e3ee05717dd8afa830");
	assert_int_equal(cairn_u256_cmp(&four, &mainnet), 0);
	cairn_u256 testnet = from_hex("000000001b9bf15be43824bae4c4f17722572883f7b53ed2e8c6ba9596249235");
	cairn_u256 q;
	assert_int_equal(cairn_u256_divmod(&q, NULL, &testnet, &mainnet), CAIRN_OK);
	assert_decimal(&q, "8893");
}

static void test_known_quotients(void **state)
{
	(void)state;
	cairn_u256 q, r;
	cairn_u256 a = from_hex("123456789abcdef0fedcba98765432100f1e2d3c4b5a69788796a5b4c3d2e1f0");
	cairn_u256 b = from_hex("0000000000000000000000000000000000000000fedcba987654321001234567");
	assert_int_equal(cairn_u256_divmod(&q, &r, &a, &b), CAIRN_OK);
	cairn_u256 eq = from_hex("0000000000000000000000001249249249249238ec539782a69cbc1642796fc8");
	cairn_u256 er = from_hex("000000000000000000000000000000000000000040b34656b57b5c4b397e0078");
	assert_int_equal(cairn_u256_cmp(&q, &eq), 0);
	assert_int_equal(cairn_u256_cmp(&r, &er), 0);

	cairn_u256 max, three;
	cairn_u256_max(&max);
	cairn_u256_from_u64(&three, 3);
	assert_int_equal(cairn_u256_divmod(&q, NULL, &max, &three), CAIRN_OK);
	assert_decimal(&q, "38597363079105398474523661669562635951089994888546854679819194669304376546645");

	cairn_u256 zero;
	cairn_u256_from_u64(&zero, 0);
	assert_int_equal(cairn_u256_divmod(&q, &r, &a, &zero), CAIRN_EINVALID);
}

static void test_wide_multiply_divide(void **state)
{
	(void)state;
	/* (2^256-1) * (2^200 + 12345) / (2^255 + 1) */
	cairn_u256 max, f, g;
	cairn_u256_max(&max);
	cairn_u256_from_u64(&f, 12345);
	f.d[6] |= 1u << 8; /* 2^200 */
	cairn_u256_from_u64(&g, 1);
	g.d[7] = 1u << 31;
	cairn_u512 p, d, q;
	cairn_u512_mul(&p, &max, &f);
	cairn_u512_from_u256(&d, &g);
	assert_int_equal(cairn_u512_divmod(&q, NULL, &p, &d), CAIRN_OK);
	cairn_u256 low;
	cairn_u512_low(&low, &q);
	cairn_u256 expected = from_hex("0000000000000200000000000000000000000000000000000000000000006071");
	assert_int_equal(cairn_u256_cmp(&low, &expected), 0);
	for (int i = 8; i < 16; i++)
		assert_int_equal(q.d[i], 0);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t next_random(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

/* A random number with a random count of significant digits, sometimes
 * with all-ones or all-zeros digits to reach the rare correction steps. */
static void random_u512(cairn_u512 *x, int max_digits)
{
	memset(x, 0, sizeof(*x));
	int digits = 1 + (int)(next_random() % (uint32_t)max_digits);
	for (int i = 0; i < digits; i++) {
		uint32_t kind = next_random() % 8;
		x->d[i] = kind == 0 ? 0xffffffffu : kind == 1 ? 0 : kind == 2 ? 0x80000000u : next_random();
	}
	if (x->d[digits - 1] == 0)
		x->d[digits - 1] = 1;
}

static void test_division_identity(void **state)
{
	(void)state;
	for (int iter = 0; iter < 20000; iter++) {
		cairn_u512 a, b, q, r;
		random_u512(&a, 16);
		random_u512(&b, 1 + (int)(next_random() % 16));
		assert_int_equal(cairn_u512_divmod(&q, &r, &a, &b), CAIRN_OK);
		/* r < b */
		int cmp = 0;
		for (int i = 15; i >= 0 && cmp == 0; i--)
			if (r.d[i] != b.d[i])
				cmp = r.d[i] < b.d[i] ? -1 : 1;
		assert_int_equal(cmp, -1);
		/* q*b + r == a, computed digit by digit over 1024 bits */
		uint64_t prod[32] = {0};
		for (int i = 0; i < 16; i++) {
			uint64_t carry = 0;
			for (int j = 0; j < 16; j++) {
				uint64_t t = (uint64_t)q.d[i] * b.d[j] + prod[i + j] + carry;
				prod[i + j] = (uint32_t)t;
				carry = t >> 32;
			}
			prod[i + 16] += carry;
		}
		uint64_t carry = 0;
		for (int i = 0; i < 32; i++) {
			uint64_t t = prod[i] + (i < 16 ? r.d[i] : 0) + carry;
			assert_int_equal((uint32_t)t, i < 16 ? a.d[i] : 0);
			carry = t >> 32;
		}
	}
}

static void test_add_sub_carry(void **state)
{
	(void)state;
	cairn_u256 max, one, out;
	cairn_u256_max(&max);
	cairn_u256_from_u64(&one, 1);
	assert_true(cairn_u256_add(&out, &max, &one));
	assert_true(cairn_u256_is_zero(&out));
	assert_true(cairn_u256_sub(&out, &out, &one));
	assert_int_equal(cairn_u256_cmp(&out, &max), 0);
	assert_false(cairn_u256_sub(&out, &max, &one));
	assert_int_equal(cairn_u256_cmp(&out, &max), -1);
	uint8_t a[32] = {0}, b[32] = {0};
	a[31] = 1;
	b[0] = 0xff;
	assert_int_equal(cairn_u256_cmp_le(a, b), 1);
	assert_int_equal(cairn_u256_cmp_le(b, a), -1);
	assert_int_equal(cairn_u256_cmp_le(a, a), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_byte_order_and_decimal),
		cmocka_unit_test(test_difficulty_of_mainnet_targets),
		cmocka_unit_test(test_twenty_chain_initial_targets),
		cmocka_unit_test(test_known_quotients),
		cmocka_unit_test(test_wide_multiply_divide),
		cmocka_unit_test(test_division_identity),
		cmocka_unit_test(test_add_sub_carry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
