/* Unit tests for util/base64url and util/hex: RFC 4648 vectors in the URL
 * alphabet, Chainweb's padding rule, canonical decoding, and the reversed
 * hex form used for powHash/target. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "util/base64url.h"
#include "util/error.h"
#include "util/hex.h"

static void check_encode(const char *plain, const char *expected)
{
	char out[64];
	assert_int_equal(cairn_base64url_encoded_len(strlen(plain)), strlen(expected));
	cairn_base64url_encode(out, (const uint8_t *)plain, strlen(plain));
	assert_string_equal(out, expected);
}

static int decode_text(uint8_t *out, size_t *n, const char *text)
{
	return cairn_base64url_decode(out, 64, n, text, strlen(text));
}

static void test_rfc4648_vectors(void **state)
{
	(void)state;
	check_encode("", "");
	check_encode("f", "Zg");
	check_encode("fo", "Zm8");
	check_encode("foo", "Zm9v");
	check_encode("foob", "Zm9vYg");
	check_encode("fooba", "Zm9vYmE");
	check_encode("foobar", "Zm9vYmFy");
	const uint8_t url_chars[] = {0xfb, 0xff, 0xbf};
	char out[8];
	cairn_base64url_encode(out, url_chars, 3);
	assert_string_equal(out, "-_-_");
}

static void test_padding_is_optional(void **state)
{
	(void)state;
	uint8_t out[64];
	size_t n;
	const char *forms[] = {"Zm8", "Zm8=", "Zg", "Zg=", "Zg=="};
	const size_t sizes[] = {2, 2, 1, 1, 1};
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(decode_text(out, &n, forms[i]), CAIRN_OK);
		assert_int_equal(n, sizes[i]);
		assert_int_equal(out[0], 'f');
	}
}

static void test_rejects_malformed(void **state)
{
	(void)state;
	uint8_t out[64];
	size_t n;
	const char *bad[] = {
		"Z",     /* a lone sextet */
		"Zg===", /* too much padding */
		"Zm8==", /* padding beyond a multiple of four */
		"Zm9v=", /* padding after a full group */
		"Zh",    /* non-zero trailing bits */
		"Zm+v",  /* standard alphabet, not URL */
		"Zm/v",
		"Z=g",   /* padding inside */
		"Zm 9v",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(decode_text(out, &n, bad[i]), CAIRN_EINVALID);
		assert_true(strlen(cairn_error_last()) > 0);
	}
	assert_int_equal(cairn_base64url_decode(out, 2, &n, "Zm9v", 4), CAIRN_EINVALID);
}

static void test_decode_exact_and_alloc(void **state)
{
	(void)state;
	uint8_t hash[32];
	const char *text = "okI4V9Pez5-UPw4nys2Nk9iIPz3-n30HCag5_NQptlo";
	assert_int_equal(cairn_base64url_decode_exact(hash, 32, text, strlen(text)), CAIRN_OK);
	assert_int_equal(hash[0], 0xa2);
	assert_int_equal(hash[31], 0x5a);
	assert_int_equal(cairn_base64url_decode_exact(hash, 31, text, strlen(text)), CAIRN_EINVALID);
	assert_int_equal(cairn_base64url_decode_exact(hash, 32, "Zm9v", 4), CAIRN_EINVALID);

	uint8_t *buf = NULL;
	size_t n = 99;
	assert_int_equal(cairn_base64url_decode_alloc(&buf, &n, "", 0), CAIRN_OK);
	assert_non_null(buf);
	assert_int_equal(n, 0);
	free(buf);
	assert_int_equal(cairn_base64url_decode_alloc(&buf, &n, "Zm9vYmFy", 8), CAIRN_OK);
	assert_memory_equal(buf, "foobar", 6);
	free(buf);
}

static void test_round_trip_all_lengths(void **state)
{
	(void)state;
	uint8_t in[40], back[40];
	char text[64];
	for (size_t len = 0; len <= sizeof(in); len++) {
		for (size_t i = 0; i < len; i++)
			in[i] = (uint8_t)(i * 37 + len);
		cairn_base64url_encode(text, in, len);
		size_t n;
		assert_int_equal(cairn_base64url_decode(back, sizeof(back), &n, text, strlen(text)), CAIRN_OK);
		assert_int_equal(n, len);
		assert_memory_equal(back, in, len);
	}
}

static void test_hex_forms(void **state)
{
	(void)state;
	const uint8_t bytes[3] = {0x00, 0xab, 0x7f};
	char out[7];
	cairn_hex_encode(out, bytes, 3);
	assert_string_equal(out, "00ab7f");
	cairn_hex_encode_reversed(out, bytes, 3);
	assert_string_equal(out, "7fab00");
	uint8_t back[3];
	assert_int_equal(cairn_hex_decode_reversed(back, 3, "7FAB00", 6), CAIRN_OK);
	assert_memory_equal(back, bytes, 3);
	assert_int_equal(cairn_hex_decode(back, 3, "00ab7", 5), CAIRN_EINVALID);
	assert_int_equal(cairn_hex_decode(back, 3, "00ab7g", 6), CAIRN_EINVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4648_vectors),
		cmocka_unit_test(test_padding_is_optional),
		cmocka_unit_test(test_rejects_malformed),
		cmocka_unit_test(test_decode_exact_and_alloc),
		cmocka_unit_test(test_round_trip_all_lengths),
		cmocka_unit_test(test_hex_forms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
