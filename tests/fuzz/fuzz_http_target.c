/*
 * fuzz_http_target.c: libFuzzer target for the request-target handling
 * that is cairn's own on top of libmicrohttpd: the router (percent-decoding
 * segment by segment, the Chainweb prefix, pattern matching with
 * parameters) over every route the node serves, and the decoding of query
 * components.  libmicrohttpd splits the query at '&' and '=' and turns '+'
 * into ' ', with unescaping left to cairn (server.c); the target does the
 * same split here.
 *
 * Properties: no crash or out-of-bounds access on any target; every method
 * gets the same kind of answer for the path (a route found for one method
 * is never "not found" for another); a decoded parameter or query
 * component holds no NUL and is never longer than its source; raw control
 * characters are refused; a scratch buffer one byte short of strlen(path) + 1 is reported
 * as too long, never overrun; a backup id taken from a path is accepted by
 * cairn_backup_id_is_valid only if it is a plain [A-Za-z0-9_-] name.
 */
#include "http/router.h"

#include <stdlib.h>
#include <string.h>

#include "backup/backup.h"
#include "util/error.h"

static const struct {
	cairn_http_method method;
	const char *pattern;
} routes[] = {
	{CAIRN_HTTP_GET, "/health-check"}, {CAIRN_HTTP_GET, "/info"}, {CAIRN_HTTP_GET, "/cut"},
	{CAIRN_HTTP_GET, "/header/updates"}, {CAIRN_HTTP_GET, "/block/updates"},
	{CAIRN_HTTP_POST, "/make-backup"}, {CAIRN_HTTP_GET, "/check-backup/{backupId}"},
	{CAIRN_HTTP_GET, "/v2/{project_id}/backups"}, {CAIRN_HTTP_POST, "/v2/{project_id}/backups"},
	{CAIRN_HTTP_GET, "/v2/{project_id}/backups/{id}"}, {CAIRN_HTTP_PATCH, "/v2/{project_id}/backups/{id}"},
	{CAIRN_HTTP_DELETE, "/v2/{project_id}/backups/{id}"}, {CAIRN_HTTP_GET, "/v2/{project_id}/backups/{id}/events"},
	{CAIRN_HTTP_GET, "/v2/{project_id}/backups/{id}/errors"}, {CAIRN_HTTP_GET, "/v2/{project_id}/agents/{id}"},
	{CAIRN_HTTP_GET, "/v2/{project_id}/configurations/{id}"}, {CAIRN_HTTP_GET, "/api/databases/{db}/backups"},
	{CAIRN_HTTP_POST, "/api/databases/{db}/backups"}, {CAIRN_HTTP_GET, "/api/databases/{db}/backups/{id}"},
	{CAIRN_HTTP_GET, "/api/databases/{db}/backups/{id}/archive"},
	{CAIRN_HTTP_GET, "/api/databases/{db}/backups/{id}/download"},
};

static void handler(cairn_http_response *res, const cairn_http_request *req, void *ctx)
{
	(void)res, (void)req, (void)ctx;
}

static cairn_http_router *router;

static void setup(void)
{
	if (cairn_http_router_create(&router, "development") != CAIRN_OK)
		abort();
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (cairn_http_router_add(router, routes[i].method, routes[i].pattern, handler, NULL) != CAIRN_OK)
			abort();
}

/* Escaped control characters other than NUL decode (as documented in
 * message.h); only the length can be checked here. */
static void check_decoded(const char *text, size_t source_len)
{
	if (strlen(text) > source_len)
		abort();
}

static void check_id(const char *id)
{
	if (cairn_backup_id_is_valid(id) &&
	    (id[0] == '\0' || strlen(id) > 64 || strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		"0123456789_-") != strlen(id)))
		abort();
}

static void fuzz_path(const char *path, size_t len)
{
	size_t size = len + 1;
	char *scratch = malloc(size), *short_scratch = malloc(size > 1 ? size - 1 : 1);
	if (scratch == NULL || short_scratch == NULL)
		abort();
	cairn_http_route_result first = CAIRN_HTTP_ROUTE_NOT_FOUND;
	for (int m = 0; m < CAIRN_HTTP_METHOD_COUNT; m++) {
		cairn_http_route_match match;
		cairn_http_route_result r = cairn_http_router_match(&match, router, (cairn_http_method)m, path, scratch, size);
		if (r == CAIRN_HTTP_ROUTE_TOO_LONG)
			abort(); /* strlen + 1 bytes always suffice */
		bool routed = r == CAIRN_HTTP_ROUTE_FOUND || r == CAIRN_HTTP_ROUTE_METHOD_NOT_ALLOWED;
		if (m == 0)
			first = r;
		else if ((first == CAIRN_HTTP_ROUTE_FOUND || first == CAIRN_HTTP_ROUTE_METHOD_NOT_ALLOWED) != routed ||
			 (first == CAIRN_HTTP_ROUTE_BAD_REQUEST) != (r == CAIRN_HTTP_ROUTE_BAD_REQUEST))
			abort();
		if (r == CAIRN_HTTP_ROUTE_BAD_REQUEST && cairn_error_last()[0] == '\0')
			abort();
		if (r == CAIRN_HTTP_ROUTE_METHOD_NOT_ALLOWED && (match.allow == NULL || match.allow[0] == '\0'))
			abort();
		if (r != CAIRN_HTTP_ROUTE_FOUND)
			continue;
		if (match.handler != handler || match.param_count > CAIRN_HTTP_MAX_PARAMS)
			abort();
		for (size_t i = 0; i < match.param_count; i++) {
			check_decoded(match.params[i].value, len);
			if (strcmp(match.params[i].name, "id") == 0 || strcmp(match.params[i].name, "backupId") == 0)
				check_id(match.params[i].value);
		}
	}
	if (size > 1) {
		cairn_http_route_match match;
		cairn_http_route_result r = cairn_http_router_match(&match, router, CAIRN_HTTP_GET, path, short_scratch,
			size - 1);
		if (path[0] == '/' && r != CAIRN_HTTP_ROUTE_TOO_LONG)
			abort();
	}
	free(short_scratch);
	free(scratch);
}

static void fuzz_component(const char *text, size_t len)
{
	char *out = malloc(len + 1);
	if (out == NULL)
		abort();
	size_t n = 0;
	if (cairn_http_decode_component(out, &n, text, len, true) == CAIRN_OK) {
		if (n > len || strlen(out) != n)
			abort();
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)text[i] < 0x20 || (unsigned char)text[i] >= 0x7f)
				abort();
	} else if (cairn_error_last()[0] == '\0') {
		abort();
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (router == NULL)
		setup();
	if (size > CAIRN_HTTP_MAX_TARGET)
		return 0;
	/* The target as libmicrohttpd hands it over: one NUL-terminated line. */
	char *target = malloc(size + 1);
	if (target == NULL)
		abort();
	memcpy(target, data, size);
	target[size] = '\0';
	char *query = strchr(target, '?');
	if (query != NULL)
		*query++ = '\0';
	fuzz_path(target, strlen(target));
	while (query != NULL) {
		char *next = strchr(query, '&');
		if (next != NULL)
			*next++ = '\0';
		for (char *p = query; *p; p++)
			if (*p == '+')
				*p = ' ';
		char *eq = strchr(query, '=');
		if (eq != NULL) {
			fuzz_component(query, (size_t)(eq - query));
			fuzz_component(eq + 1, strlen(eq + 1));
		} else {
			fuzz_component(query, strlen(query));
		}
		query = next;
	}
	free(target);
	return 0;
}
