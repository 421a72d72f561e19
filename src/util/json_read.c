/*
 * json_read.c: members of untrusted JSON documents (json_read.h).
 */
#include "util/json_read.h"

#include <string.h>

json_object *cairn_json_read_member(json_object *obj, const char *key, json_type type)
{
	json_object *value = NULL;
	if (!json_object_object_get_ex(obj, key, &value) || !json_object_is_type(value, type))
		return NULL;
	if (type == json_type_string && strlen(json_object_get_string(value)) != (size_t)json_object_get_string_len(value))
		return NULL;
	return value;
}

bool cairn_json_read_u64(uint64_t *out, json_object *obj, const char *key)
{
	json_object *value = cairn_json_read_member(obj, key, json_type_int);
	if (value == NULL)
		return false;
	*out = json_object_get_uint64(value);
	return json_object_get_int64(value) >= 0; /* negative numbers read as 0 */
}
