/*
 * base64url.c: implementation of base64url.h.
 *
 * Padding is accepted the way Chainweb accepts it: the text is completed with
 * "=" to a multiple of four characters before decoding, so "QQ", "QQ=" and
 * "QQ==" all decode to "A", while "Q" (a lone 6-bit group) never does.
 */
#include "util/base64url.h"
#include "util/error.h"

#include <stdlib.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t cairn_base64url_encoded_len(size_t n)
{
	return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

void cairn_base64url_encode(char *out, const uint8_t *in, size_t n)
{
	size_t i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		*out++ = alphabet[v >> 18];
		*out++ = alphabet[(v >> 12) & 63];
		*out++ = alphabet[(v >> 6) & 63];
		*out++ = alphabet[v & 63];
	}
	if (n - i == 1) {
		*out++ = alphabet[in[i] >> 2];
		*out++ = alphabet[(in[i] & 3) << 4];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];
		*out++ = alphabet[v >> 10];
		*out++ = alphabet[(v >> 4) & 63];
		*out++ = alphabet[(v & 15) << 2];
	}
	*out = '\0';
}

static int sextet(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* Length of `text` without its padding, or (size_t)-1 when the text cannot
 * be a base64url encoding. */
static size_t unpadded_length(const char *text, size_t len)
{
	size_t pads = 0;
	while (len > 0 && pads < 2 && text[len - 1] == '=') {
		len--;
		pads++;
	}
	size_t rest = len % 4;
	if (rest == 1 || pads > (4 - rest) % 4)
		return (size_t)-1;
	return len;
}

int cairn_base64url_decode(uint8_t *out, size_t cap, size_t *out_len, const char *text, size_t len)
{
	size_t chars = unpadded_length(text, len);
	if (chars == (size_t)-1)
		return cairn_error_set(CAIRN_EINVALID, "invalid base64url length %zu", len);
	size_t bytes = chars / 4 * 3 + (chars % 4 == 0 ? 0 : chars % 4 - 1);
	if (bytes > cap)
		return cairn_error_set(CAIRN_EINVALID, "base64url text holds %zu bytes, at most %zu expected",
			bytes, cap);
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;
	for (size_t i = 0; i < chars; i++) {
		int v = sextet(text[i]);
		if (v < 0)
			return cairn_error_set(CAIRN_EINVALID, "invalid base64url character at offset %zu", i);
		acc = (acc << 6 | (uint32_t)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		return cairn_error_set(CAIRN_EINVALID, "non-canonical base64url: trailing bits are not zero");
	*out_len = n;
	return CAIRN_OK;
}

int cairn_base64url_decode_exact(uint8_t *out, size_t n, const char *text, size_t len)
{
	size_t got;
	int rc = cairn_base64url_decode(out, n, &got, text, len);
	if (rc != CAIRN_OK)
		return rc;
	if (got != n)
		return cairn_error_set(CAIRN_EINVALID, "base64url text holds %zu bytes, %zu expected", got, n);
	return CAIRN_OK;
}

int cairn_base64url_decode_alloc(uint8_t **out, size_t *out_len, const char *text, size_t len)
{
	size_t cap = len / 4 * 3 + 3;
	uint8_t *buf = malloc(cap);
	if (!buf)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory decoding %zu base64url characters", len);
	int rc = cairn_base64url_decode(buf, cap, out_len, text, len);
	if (rc != CAIRN_OK) {
		free(buf);
		return rc;
	}
	*out = buf;
	return CAIRN_OK;
}
