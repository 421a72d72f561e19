/*
 * hex.c: implementation of hex.h.  One encoder and one decoder serve both
 * byte orders through a stride.
 */
#include "util/hex.h"
#include "util/error.h"

#include <stdbool.h>

static void encode(char *out, const uint8_t *in, size_t n, bool reversed)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		uint8_t b = in[reversed ? n - 1 - i : i];
		out[2 * i] = digits[b >> 4];
		out[2 * i + 1] = digits[b & 15];
	}
	out[2 * n] = '\0';
}

int cairn_hex_digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int decode(uint8_t *out, size_t n, const char *text, size_t len, bool reversed)
{
	if (len != 2 * n)
		return cairn_error_set(CAIRN_EINVALID, "expected %zu hex digits, found %zu", 2 * n, len);
	for (size_t i = 0; i < n; i++) {
		int hi = cairn_hex_digit_value(text[2 * i]), lo = cairn_hex_digit_value(text[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return cairn_error_set(CAIRN_EINVALID, "invalid hex digit near offset %zu", 2 * i);
		out[reversed ? n - 1 - i : i] = (uint8_t)(hi << 4 | lo);
	}
	return CAIRN_OK;
}

void cairn_hex_encode(char *out, const uint8_t *in, size_t n)
{
	encode(out, in, n, false);
}

void cairn_hex_encode_reversed(char *out, const uint8_t *in, size_t n)
{
	encode(out, in, n, true);
}

int cairn_hex_decode(uint8_t *out, size_t n, const char *text, size_t len)
{
	return decode(out, n, text, len, false);
}

int cairn_hex_decode_reversed(uint8_t *out, size_t n, const char *text, size_t len)
{
	return decode(out, n, text, len, true);
}
