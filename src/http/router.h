/*
 * router.h: maps a method and a raw request path onto a handler.
 *
 * Patterns are absolute paths whose segments are literals or parameters:
 * "/check-backup/{id}".  Every pattern is served twice: at the root and
 * under "/chainweb/0.0/<version>/" for the router's version name.  A
 * Chainweb prefix naming another version, another API version, or nothing
 * after it, is a 404 like any unknown path.
 *
 * Matching works segment by segment on the percent-decoded path, so an
 * escaped slash ("%2F") inside a parameter never splits it.  The router is
 * built once, before the server starts, and is read-only afterwards: lookups
 * from many threads need no locking.
 */
#ifndef CAIRN_HTTP_ROUTER_H
#define CAIRN_HTTP_ROUTER_H

#include "http/message.h"

typedef void (*cairn_http_handler)(cairn_http_response *res, const cairn_http_request *req, void *ctx);

typedef struct cairn_http_router cairn_http_router;

/* `version` is the Chainweb version name accepted in the prefix. */
int cairn_http_router_create(cairn_http_router **out, const char *version);
void cairn_http_router_free(cairn_http_router *router);

/* The version name the router accepts in the Chainweb prefix. */
const char *cairn_http_router_version(const cairn_http_router *router);

/* Registers `handler` for `method` on `pattern`.  A GET handler also serves
 * HEAD.  Returns CAIRN_EINVALID for a malformed pattern, CAIRN_EEXISTS when
 * the method is already registered on an equivalent pattern. */
int cairn_http_router_add(cairn_http_router *router, cairn_http_method method, const char *pattern,
	cairn_http_handler handler, void *ctx);

typedef enum {
	CAIRN_HTTP_ROUTE_FOUND,
	CAIRN_HTTP_ROUTE_NOT_FOUND,          /* 404 */
	CAIRN_HTTP_ROUTE_METHOD_NOT_ALLOWED, /* 405; match.allow lists the methods */
	CAIRN_HTTP_ROUTE_BAD_REQUEST,        /* 400; the reason is in cairn_error_last() */
	CAIRN_HTTP_ROUTE_TOO_LONG,           /* 414 */
} cairn_http_route_result;

typedef struct cairn_http_route_match {
	cairn_http_handler handler;
	void *ctx;
	const char *allow; /* "GET, HEAD" etc., for 405 */
	int endpoint;      /* the route's metrics endpoint id (FOUND and 405); else CAIRN_METRICS_ENDPOINT_OTHER */
	size_t param_count;
	cairn_http_pair params[CAIRN_HTTP_MAX_PARAMS];
} cairn_http_route_match;

/*
 * Resolves `raw_path` (the request target up to '?', still percent-encoded).
 * Decoded segments are written into `scratch` (strlen(raw_path) + 1 bytes
 * suffice; a smaller buffer yields CAIRN_HTTP_ROUTE_TOO_LONG), which must
 * outlive the use of out->params.  Patterns are tried in registration order.
 */
cairn_http_route_result cairn_http_router_match(cairn_http_route_match *out, const cairn_http_router *router,
	cairn_http_method method, const char *raw_path, char *scratch, size_t scratch_size);

#endif
