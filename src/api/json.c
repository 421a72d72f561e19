/*
 * json.c: JSON responses for endpoint handlers.
 *
 * Output is compact (no whitespace) and leaves '/' unescaped, like
 * chainweb-node's aeson encoding.  The serialized text is copied once into
 * the response, which the server frees after sending.
 */
#include "api/api.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

void cairn_api_respond_json(cairn_http_response *res, int status, struct json_object *json)
{
	size_t len = 0;
	const char *text = json == NULL ? NULL
		: json_object_to_json_string_length(json, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	char *copy = text ? malloc(len + 1) : NULL;
	if (copy != NULL)
		memcpy(copy, text, len + 1);
	json_object_put(json);
	if (copy == NULL) {
		cairn_http_respond_text(res, 500, "internal error: out of memory");
		return;
	}
	cairn_http_respond_owned(res, status, CAIRN_HTTP_JSON, copy, len);
}
