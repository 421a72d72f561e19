/*
 * manage_body.c: the management API's request bodies, parsed strictly.
 *
 * Bodies go through cairn_json_parse (json-c in strict mode: no trailing
 * text, no NUL, valid UTF-8, bounded depth); the server has already
 * refused anything over 64 KiB.  Every member is checked: an unknown name,
 * a wrong type or a wrong value is refused with a reason naming it, so a
 * misspelt "backupPact" never silently means "no Pact".
 */
#include "api/manage.h"
#include "chain/json.h"

#include <json-c/json.h>
#include <string.h>

/* Checks that every member of `obj` is one of `allowed` (NULL-terminated). */
static int check_members(json_object *obj, const char *where, const char *const *allowed)
{
	json_object_object_foreach(obj, key, value) {
		(void)value;
		bool known = false;
		for (size_t i = 0; allowed[i] != NULL && !known; i++)
			known = strcmp(key, allowed[i]) == 0;
		if (!known)
			return cairn_error_set(CAIRN_EINVALID, "%s: unknown member \"%.64s\"", where, key);
	}
	return CAIRN_OK;
}

static int parse_body(json_object **out, const char *body, size_t len)
{
	if (cairn_json_parse(out, body, len) != CAIRN_OK)
		return cairn_error_set(CAIRN_EINVALID, "malformed JSON body: %s", cairn_error_last());
	return CAIRN_OK;
}

/* A string member that must equal `expected`. */
static int expect_string(json_object *obj, const char *where, const char *key, const char *expected)
{
	json_object *value;
	if (!json_object_object_get_ex(obj, key, &value))
		return cairn_error_set(CAIRN_EINVALID, "%s\"%s\": missing, expected \"%s\"", where, key, expected);
	if (!json_object_is_type(value, json_type_string))
		return cairn_error_set(CAIRN_EINVALID, "%s\"%s\": expected the string \"%s\"", where, key, expected);
	if (strcmp(json_object_get_string(value), expected) != 0)
		return cairn_error_set(CAIRN_EINVALID, "%s\"%s\": \"%.64s\" is not supported, expected \"%s\"", where,
			key, json_object_get_string(value), expected);
	return CAIRN_OK;
}

static int create_members(bool *out_include_pact, json_object *obj, bool require_state)
{
	static const char *const rackspace[] = {"state", "backupPact", NULL};
	static const char *const scalingo[] = {"backupPact", NULL};
	if (!json_object_is_type(obj, json_type_object))
		return cairn_error_set(CAIRN_EINVALID, "body: expected a JSON object");
	int rc = check_members(obj, "body", require_state ? rackspace : scalingo);
	if (rc == CAIRN_OK && require_state)
		rc = expect_string(obj, "", "state", "start_requested");
	json_object *pact;
	if (rc == CAIRN_OK && json_object_object_get_ex(obj, "backupPact", &pact)) {
		if (!json_object_is_type(pact, json_type_boolean))
			return cairn_error_set(CAIRN_EINVALID, "\"backupPact\": expected true or false");
		*out_include_pact = json_object_get_boolean(pact);
	}
	return rc;
}

int cairn_manage_parse_create(bool *out_include_pact, const char *body, size_t len, bool require_state)
{
	*out_include_pact = false;
	if (len == 0 && !require_state)
		return CAIRN_OK;
	if (len == 0)
		return cairn_error_set(CAIRN_EINVALID, "body: expected {\"state\": \"start_requested\"}");
	json_object *obj;
	int rc = parse_body(&obj, body, len);
	if (rc != CAIRN_OK)
		return rc;
	rc = create_members(out_include_pact, obj, require_state);
	json_object_put(obj);
	return rc;
}

static int stop_operation(json_object *patch)
{
	static const char *const members[] = {"op", "path", "value", NULL};
	if (!json_object_is_type(patch, json_type_array))
		return cairn_error_set(CAIRN_EINVALID, "body: expected a JSON Patch array");
	if (json_object_array_length(patch) != 1)
		return cairn_error_set(CAIRN_EINVALID,
			"body: expected exactly one operation, [{\"op\": \"replace\", \"path\": \"/state\", \"value\": \"stop_requested\"}]");
	json_object *op = json_object_array_get_idx(patch, 0);
	if (!json_object_is_type(op, json_type_object))
		return cairn_error_set(CAIRN_EINVALID, "/0: expected an operation object");
	int rc = check_members(op, "/0", members);
	if (rc == CAIRN_OK)
		rc = expect_string(op, "/0/", "op", "replace");
	if (rc == CAIRN_OK)
		rc = expect_string(op, "/0/", "path", "/state");
	if (rc == CAIRN_OK)
		rc = expect_string(op, "/0/", "value", "stop_requested");
	return rc;
}

int cairn_manage_parse_stop_patch(const char *body, size_t len)
{
	if (len == 0)
		return cairn_error_set(CAIRN_EINVALID, "body: expected a JSON Patch");
	json_object *patch;
	int rc = parse_body(&patch, body, len);
	if (rc != CAIRN_OK)
		return rc;
	rc = stop_operation(patch);
	json_object_put(patch);
	return rc;
}
