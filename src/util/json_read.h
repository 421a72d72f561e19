/*
 * json_read.h: reading members of JSON documents that nothing vouches for
 * (manifests read back from disk or from a remote store).
 *
 * Both readers trust nothing: a member of another type is absent, a string
 * holding a NUL is absent (C would see only its beginning), and a negative
 * number is not an unsigned one (json-c reads it as 0).  They report by
 * returning NULL or false and set no message, so that a reader can check
 * many members and name them in one reason; chain/json.h has the strict
 * getters of the chain codecs, which fail with a message per field.
 */
#ifndef CAIRN_UTIL_JSON_READ_H
#define CAIRN_UTIL_JSON_READ_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

/* Member `key` of `obj` when it has `type`, else NULL. */
json_object *cairn_json_read_member(json_object *obj, const char *key, json_type type);

/* Member `key` as an unsigned 64-bit integer; false when absent, not an
 * integer, or negative. */
bool cairn_json_read_u64(uint64_t *out, json_object *obj, const char *key);

#endif
