/*
 * router.c: pattern table and path matching for router.h.
 *
 * A route is one pattern string with a handler slot per method; adding a
 * method to an existing pattern fills a slot.  The Allow text of each route
 * is computed when a method is added, so a 405 costs no formatting.
 *
 * Matching first decodes the whole path into segments (rejecting malformed
 * escapes with 400), then strips a valid Chainweb prefix, then compares the
 * remaining segments with each pattern.  Lookups only read the table.
 */
#include "http/router.h"
#include "metrics/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SEGMENTS 16
#define CHAINWEB_ROOT "chainweb"
#define CHAINWEB_API_VERSION "0.0"

typedef struct route {
	char *pattern;
	size_t segment_count;
	char *segments[MAX_SEGMENTS]; /* literal text, or the parameter name when is_param */
	bool is_param[MAX_SEGMENTS];
	cairn_http_handler handlers[CAIRN_HTTP_METHOD_COUNT];
	void *contexts[CAIRN_HTTP_METHOD_COUNT];
	char allow[96];
	int endpoint; /* metrics.h endpoint id of the pattern */
} route;

struct cairn_http_router {
	char *version;
	route *routes;
	size_t count;
};

int cairn_http_router_create(cairn_http_router **out, const char *version)
{
	cairn_http_router *r = calloc(1, sizeof(*r));
	if (r == NULL || (r->version = strdup(version)) == NULL) {
		free(r);
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	}
	*out = r;
	return CAIRN_OK;
}

const char *cairn_http_router_version(const cairn_http_router *router)
{
	return router->version;
}

static void route_free(route *rt)
{
	for (size_t i = 0; i < rt->segment_count; i++)
		free(rt->segments[i]);
	free(rt->pattern);
}

void cairn_http_router_free(cairn_http_router *router)
{
	if (router == NULL)
		return;
	for (size_t i = 0; i < router->count; i++)
		route_free(&router->routes[i]);
	free(router->routes);
	free(router->version);
	free(router);
}

static int parse_pattern(route *rt, const char *pattern)
{
	if (pattern[0] != '/')
		return cairn_error_set(CAIRN_EINVALID, "route pattern '%s' must start with '/'", pattern);
	const char *p = pattern + 1;
	for (;;) {
		size_t len = strcspn(p, "/");
		if (len == 0)
			return cairn_error_set(CAIRN_EINVALID, "route pattern '%s' has an empty segment", pattern);
		if (rt->segment_count == MAX_SEGMENTS)
			return cairn_error_set(CAIRN_EINVALID, "route pattern '%s' has too many segments", pattern);
		bool is_param = p[0] == '{' && len > 2 && p[len - 1] == '}';
		size_t i = rt->segment_count++;
		rt->is_param[i] = is_param;
		rt->segments[i] = is_param ? strndup(p + 1, len - 2) : strndup(p, len);
		if (rt->segments[i] == NULL)
			return cairn_error_set(CAIRN_ENOMEM, "out of memory");
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	size_t params = 0;
	for (size_t i = 0; i < rt->segment_count; i++)
		params += rt->is_param[i];
	if (params > CAIRN_HTTP_MAX_PARAMS)
		return cairn_error_set(CAIRN_EINVALID, "route pattern '%s' has more than %d parameters",
			pattern, CAIRN_HTTP_MAX_PARAMS);
	return CAIRN_OK;
}

static void update_allow(route *rt)
{
	size_t n = 0;
	rt->allow[0] = '\0';
	for (int m = 0; m < CAIRN_HTTP_OTHER; m++) {
		bool allowed = rt->handlers[m] != NULL || (m == CAIRN_HTTP_HEAD && rt->handlers[CAIRN_HTTP_GET]);
		if (!allowed)
			continue;
		const char *name = cairn_http_method_name((cairn_http_method)m);
		if (n + strlen(name) + 3 > sizeof(rt->allow))
			break;
		n += (size_t)snprintf(rt->allow + n, sizeof(rt->allow) - n, "%s%s", n ? ", " : "", name);
	}
}

static int find_or_add_route(route **out, cairn_http_router *router, const char *pattern)
{
	for (size_t i = 0; i < router->count; i++) {
		if (strcmp(router->routes[i].pattern, pattern) == 0) {
			*out = &router->routes[i];
			return CAIRN_OK;
		}
	}
	route *grown = realloc(router->routes, (router->count + 1) * sizeof(*grown));
	if (grown == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	router->routes = grown;
	route *rt = &grown[router->count];
	memset(rt, 0, sizeof(*rt));
	int rc = (rt->pattern = strdup(pattern)) == NULL ? cairn_error_set(CAIRN_ENOMEM, "out of memory")
		: parse_pattern(rt, pattern);
	if (rc != CAIRN_OK) {
		route_free(rt);
		return rc;
	}
	rt->endpoint = cairn_metrics_http_endpoint(pattern);
	router->count++;
	*out = rt;
	return CAIRN_OK;
}

int cairn_http_router_add(cairn_http_router *router, cairn_http_method method, const char *pattern,
	cairn_http_handler handler, void *ctx)
{
	if ((unsigned)method >= CAIRN_HTTP_OTHER || handler == NULL)
		return cairn_error_set(CAIRN_EINVALID, "route %s: invalid method or handler", pattern);
	route *rt = NULL;
	int rc = find_or_add_route(&rt, router, pattern);
	if (rc != CAIRN_OK)
		return rc;
	if (rt->handlers[method] != NULL)
		return cairn_error_set(CAIRN_EEXISTS, "route %s %s is already registered",
			cairn_http_method_name(method), pattern);
	rt->handlers[method] = handler;
	rt->contexts[method] = ctx;
	update_allow(rt);
	return CAIRN_OK;
}

typedef struct decoded_path {
	size_t count;
	const char *segments[MAX_SEGMENTS];
} decoded_path;

/* Splits and decodes; more than MAX_SEGMENTS segments matches nothing. */
static cairn_http_route_result decode_path(decoded_path *out, const char *raw, char *scratch, size_t size)
{
	if (raw[0] != '/') {
		cairn_error_set(CAIRN_EINVALID, "the request target must be a path starting with '/'");
		return CAIRN_HTTP_ROUTE_BAD_REQUEST;
	}
	size_t raw_len = strlen(raw);
	if (raw_len + 1 > size)
		return CAIRN_HTTP_ROUTE_TOO_LONG;
	out->count = 0;
	const char *p = raw + 1;
	for (;;) {
		size_t len = strcspn(p, "/"), decoded;
		if (cairn_http_decode_component(scratch, &decoded, p, len, false) != CAIRN_OK)
			return CAIRN_HTTP_ROUTE_BAD_REQUEST;
		if (out->count == MAX_SEGMENTS)
			return CAIRN_HTTP_ROUTE_NOT_FOUND;
		out->segments[out->count++] = scratch;
		scratch += decoded + 1;
		if (p[len] == '\0')
			return CAIRN_HTTP_ROUTE_FOUND;
		p += len + 1;
	}
}

/* Removes "chainweb/0.0/<version>" when it names this router's version.
 * Returns false for a Chainweb prefix that is wrong or has nothing after it. */
static bool strip_chainweb_prefix(decoded_path *path, const char *version)
{
	if (strcmp(path->segments[0], CHAINWEB_ROOT) != 0)
		return true;
	if (path->count < 4 || strcmp(path->segments[1], CHAINWEB_API_VERSION) != 0 ||
	    strcmp(path->segments[2], version) != 0)
		return false;
	path->count -= 3;
	memmove(path->segments, path->segments + 3, path->count * sizeof(path->segments[0]));
	return true;
}

static bool route_matches(cairn_http_route_match *out, const route *rt, const decoded_path *path)
{
	if (rt->segment_count != path->count)
		return false;
	out->param_count = 0;
	for (size_t i = 0; i < path->count; i++) {
		if (rt->is_param[i])
			out->params[out->param_count++] = (cairn_http_pair){rt->segments[i], path->segments[i]};
		else if (strcmp(rt->segments[i], path->segments[i]) != 0)
			return false;
	}
	return true;
}

/* The handler for `method`, letting a GET handler serve HEAD; NULL if none. */
static cairn_http_handler route_handler(void **ctx, const route *rt, cairn_http_method method)
{
	if ((unsigned)method >= CAIRN_HTTP_OTHER)
		return NULL;
	if (method == CAIRN_HTTP_HEAD && rt->handlers[method] == NULL)
		method = CAIRN_HTTP_GET;
	*ctx = rt->contexts[method];
	return rt->handlers[method];
}

cairn_http_route_result cairn_http_router_match(cairn_http_route_match *out, const cairn_http_router *router,
	cairn_http_method method, const char *raw_path, char *scratch, size_t scratch_size)
{
	memset(out, 0, sizeof(*out));
	decoded_path path;
	cairn_http_route_result result = decode_path(&path, raw_path, scratch, scratch_size);
	if (result != CAIRN_HTTP_ROUTE_FOUND)
		return result;
	if (!strip_chainweb_prefix(&path, router->version))
		return CAIRN_HTTP_ROUTE_NOT_FOUND;
	const char *allow = NULL;
	for (size_t i = 0; i < router->count; i++) {
		const route *rt = &router->routes[i];
		if (!route_matches(out, rt, &path))
			continue;
		out->handler = route_handler(&out->ctx, rt, method);
		if (out->handler != NULL) {
			out->endpoint = rt->endpoint;
			return CAIRN_HTTP_ROUTE_FOUND;
		}
		if (allow == NULL) {
			allow = rt->allow;
			out->endpoint = rt->endpoint;
		}
	}
	out->param_count = 0;
	out->allow = allow;
	return allow ? CAIRN_HTTP_ROUTE_METHOD_NOT_ALLOWED : CAIRN_HTTP_ROUTE_NOT_FOUND;
}
