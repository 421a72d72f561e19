/*
 * json.h: strict JSON parsing and typed field access for the chain codecs
 * (headers, payloads, events), on top of json-c.
 *
 * json-c alone is too lenient for consensus data in two ways this module
 * closes: integer literals beyond 64 bits are silently saturated (so
 * 18446744073709551616 would read as 2^64-1), and trailing text after a
 * document is ignored.  cairn_json_parse rejects both, and runs the tokener
 * in strict mode (no comments, no leading zeros, no single quotes).
 *
 * The getters fail with CAIRN_EINVALID and a message naming the field
 * ("height: expected an unsigned 64-bit integer").
 */
#ifndef CAIRN_CHAIN_JSON_H
#define CAIRN_CHAIN_JSON_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

/* Parses exactly one JSON document from text[0..len); *out is owned by the
 * caller (json_object_put). */
int cairn_json_parse(json_object **out, const char *text, size_t len);

/* Compact serialisation of `obj` (no spaces), valid until obj is freed. */
const char *cairn_json_text(json_object *obj);

/* The member `key` of object `obj`, or CAIRN_EINVALID when it is missing. */
int cairn_json_member(json_object **out, json_object *obj, const char *key);

int cairn_json_get_u64(uint64_t *out, json_object *obj, const char *key);
int cairn_json_get_i64(int64_t *out, json_object *obj, const char *key);
int cairn_json_get_u32(uint32_t *out, json_object *obj, const char *key);

/* A string member; *out stays valid while obj lives. */
int cairn_json_get_string(const char **out, size_t *len, json_object *obj, const char *key);

/* A decoder of text into exactly n bytes, such as cairn_base64url_decode_exact
 * or cairn_hex_decode_reversed. */
typedef int (*cairn_json_decoder)(uint8_t *out, size_t n, const char *text, size_t len);

/* A string member decoded into exactly n bytes. */
int cairn_json_get_decoded(uint8_t *out, size_t n, json_object *obj, const char *key, cairn_json_decoder decode);

/* A string member holding base64url of exactly n bytes. */
int cairn_json_get_b64_exact(uint8_t *out, size_t n, json_object *obj, const char *key);

/* A new JSON string holding base64url of data[0..n), or NULL when out of
 * memory. */
json_object *cairn_json_new_b64(const uint8_t *data, size_t n);

/* Adds `key` with a base64url string of data[0..n). */
int cairn_json_add_b64(json_object *obj, const char *key, const uint8_t *data, size_t n);

/* Adds `key` with a value, taking ownership of `value` (even on failure). */
int cairn_json_add(json_object *obj, const char *key, json_object *value);

/* Parses a canonical unsigned decimal (no sign, no leading zeros) that
 * fits in `max`. */
int cairn_json_parse_decimal(uint64_t *out, const char *text, size_t len, uint64_t max);

#endif
