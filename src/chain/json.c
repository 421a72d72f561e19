/*
 * json.c: implementation of json.h.
 *
 * The integer range check is a lexical scan, not a parser: outside string
 * literals, every maximal run of '-', digits, '.', 'e', 'E', '+' is a number
 * token (JSON's other tokens contain none of these characters), and an
 * integer token must lie in [-2^63, 2^64-1], the union of json-c's int64 and
 * uint64 ranges.  The grammar itself is left entirely to json-c.
 */
#include "chain/json.h"
#include "util/base64url.h"
#include "util/error.h"

#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_number_char(char c)
{
	return is_digit(c) || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

/* Whether the decimal digits[0..n) (no sign) are at most `limit`, both
 * without leading zeros. */
static bool digits_at_most(const char *digits, size_t n, const char *limit)
{
	size_t limit_len = strlen(limit);
	while (n > 1 && digits[0] == '0') {
		digits++;
		n--;
	}
	if (n != limit_len)
		return n < limit_len;
	return memcmp(digits, limit, n) <= 0;
}

static bool integer_token_fits(const char *token, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (token[i] == '.' || token[i] == 'e' || token[i] == 'E')
			return true; /* a floating-point literal: json-c reports its type */
	if (n > 0 && token[0] == '-')
		return digits_at_most(token + 1, n - 1, "9223372036854775808");
	return digits_at_most(token, n, "18446744073709551615");
}

static int check_integer_ranges(const char *text, size_t len)
{
	bool in_string = false;
	for (size_t i = 0; i < len; i++) {
		if (in_string) {
			if (text[i] == '\\')
				i++;
			else if (text[i] == '"')
				in_string = false;
			continue;
		}
		if (text[i] == '"') {
			in_string = true;
			continue;
		}
		if (!is_number_char(text[i]))
			continue;
		size_t start = i;
		while (i < len && is_number_char(text[i]))
			i++;
		if (!integer_token_fits(text + start, i - start))
			return cairn_error_set(CAIRN_EINVALID,
				"integer at offset %zu does not fit in 64 bits", start);
		i--;
	}
	return CAIRN_OK;
}

int cairn_json_parse(json_object **out, const char *text, size_t len)
{
	if (len > INT_MAX)
		return cairn_error_set(CAIRN_EINVALID, "JSON text too long (%zu bytes)", len);
	if (memchr(text, '\0', len))
		return cairn_error_set(CAIRN_EINVALID, "NUL byte in JSON text");
	int rc = check_integer_ranges(text, len);
	if (rc != CAIRN_OK)
		return rc;
	json_tokener *tok = json_tokener_new();
	if (!tok)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory parsing JSON");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	json_object *obj = json_tokener_parse_ex(tok, text, (int)len);
	enum json_tokener_error err = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (err == json_tokener_continue)
		return cairn_error_set(CAIRN_EINVALID, "incomplete JSON text");
	if (err != json_tokener_success)
		return cairn_error_set(CAIRN_EINVALID, "invalid JSON at offset %zu: %s", end,
			json_tokener_error_desc(err));
	for (size_t i = end; i < len; i++) {
		if (strchr(" \t\r\n", text[i]) == NULL) {
			json_object_put(obj);
			return cairn_error_set(CAIRN_EINVALID, "unexpected text after JSON at offset %zu", i);
		}
	}
	*out = obj;
	return CAIRN_OK;
}

const char *cairn_json_text(json_object *obj)
{
	return json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

int cairn_json_member(json_object **out, json_object *obj, const char *key)
{
	if (!json_object_is_type(obj, json_type_object))
		return cairn_error_set(CAIRN_EINVALID, "expected a JSON object holding '%s'", key);
	if (!json_object_object_get_ex(obj, key, out))
		return cairn_error_set(CAIRN_EINVALID, "%s: missing", key);
	return CAIRN_OK;
}

/* An integer member: *value its int64 reading (saturated), *unsigned_value
 * its uint64 reading (0 for negatives). */
static int get_integer(int64_t *value, uint64_t *unsigned_value, json_object *obj, const char *key)
{
	json_object *v;
	int rc = cairn_json_member(&v, obj, key);
	if (rc != CAIRN_OK)
		return rc;
	if (!json_object_is_type(v, json_type_int))
		return cairn_error_set(CAIRN_EINVALID, "%s: expected an integer", key);
	*value = json_object_get_int64(v);
	*unsigned_value = json_object_get_uint64(v);
	return CAIRN_OK;
}

int cairn_json_get_u64(uint64_t *out, json_object *obj, const char *key)
{
	int64_t s;
	int rc = get_integer(&s, out, obj, key);
	if (rc == CAIRN_OK && s < 0)
		return cairn_error_set(CAIRN_EINVALID, "%s: expected an unsigned 64-bit integer", key);
	return rc;
}

int cairn_json_get_i64(int64_t *out, json_object *obj, const char *key)
{
	uint64_t u;
	int rc = get_integer(out, &u, obj, key);
	if (rc == CAIRN_OK && *out == INT64_MAX && u != (uint64_t)INT64_MAX)
		return cairn_error_set(CAIRN_EINVALID, "%s: expected a signed 64-bit integer", key);
	return rc;
}

int cairn_json_get_u32(uint32_t *out, json_object *obj, const char *key)
{
	uint64_t v;
	int rc = cairn_json_get_u64(&v, obj, key);
	if (rc != CAIRN_OK)
		return rc;
	if (v > UINT32_MAX)
		return cairn_error_set(CAIRN_EINVALID, "%s: %llu does not fit in 32 bits", key,
			(unsigned long long)v);
	*out = (uint32_t)v;
	return CAIRN_OK;
}

int cairn_json_get_string(const char **out, size_t *len, json_object *obj, const char *key)
{
	json_object *v;
	int rc = cairn_json_member(&v, obj, key);
	if (rc != CAIRN_OK)
		return rc;
	if (!json_object_is_type(v, json_type_string))
		return cairn_error_set(CAIRN_EINVALID, "%s: expected a string", key);
	*out = json_object_get_string(v);
	*len = (size_t)json_object_get_string_len(v);
	return CAIRN_OK;
}

int cairn_json_get_decoded(uint8_t *out, size_t n, json_object *obj, const char *key, cairn_json_decoder decode)
{
	const char *s;
	size_t len;
	int rc = cairn_json_get_string(&s, &len, obj, key);
	if (rc != CAIRN_OK)
		return rc;
	rc = decode(out, n, s, len);
	return rc == CAIRN_OK ? rc : cairn_error_prefix(rc, "%s", key);
}

int cairn_json_get_b64_exact(uint8_t *out, size_t n, json_object *obj, const char *key)
{
	return cairn_json_get_decoded(out, n, obj, key, cairn_base64url_decode_exact);
}

int cairn_json_add(json_object *obj, const char *key, json_object *value)
{
	if (!value)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory building JSON");
	if (json_object_object_add(obj, key, value) != 0) {
		json_object_put(value);
		return cairn_error_set(CAIRN_ENOMEM, "out of memory building JSON");
	}
	return CAIRN_OK;
}

json_object *cairn_json_new_b64(const uint8_t *data, size_t n)
{
	char *text = malloc(cairn_base64url_encoded_len(n) + 1);
	if (!text)
		return NULL;
	cairn_base64url_encode(text, data, n);
	json_object *s = json_object_new_string(text);
	free(text);
	return s;
}

int cairn_json_add_b64(json_object *obj, const char *key, const uint8_t *data, size_t n)
{
	return cairn_json_add(obj, key, cairn_json_new_b64(data, n));
}

int cairn_json_parse_decimal(uint64_t *out, const char *text, size_t len, uint64_t max)
{
	if (len == 0 || len > 20 || (len > 1 && text[0] == '0'))
		return cairn_error_set(CAIRN_EINVALID, "'%.*s' is not a canonical decimal number",
			(int)(len > 24 ? 24 : len), text);
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (!is_digit(text[i]))
			return cairn_error_set(CAIRN_EINVALID, "'%.*s' is not a decimal number",
				(int)(len > 24 ? 24 : len), text);
		unsigned d = (unsigned)(text[i] - '0');
		if (d > max || v > (max - d) / 10)
			return cairn_error_set(CAIRN_EINVALID, "%.*s exceeds %llu", (int)len, text,
				(unsigned long long)max);
		v = v * 10 + d;
	}
	*out = v;
	return CAIRN_OK;
}
