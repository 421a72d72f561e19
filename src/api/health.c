/*
 * health.c: GET /health-check.
 *
 * Bodies and statuses are chainweb-node's, byte for byte: load balancers
 * match on them.  During a shutdown drain the node still serves everything
 * else; only the health check fails, so balancers move traffic away before
 * the listener closes.
 */
#include "api/api.h"

static const char healthy[] = "Health check OK.\n";
static const char draining[] = "Failed health check due to service drain.\n";

static void health_check(cairn_http_response *res, const cairn_http_request *req, void *ctx)
{
	(void)req;
	if (cairn_node_is_draining(ctx))
		cairn_http_respond_static(res, 503, CAIRN_HTTP_TEXT_PLAIN, draining, sizeof(draining) - 1);
	else
		cairn_http_respond_static(res, 200, CAIRN_HTTP_TEXT_PLAIN, healthy, sizeof(healthy) - 1);
}

int cairn_api_health_register(cairn_http_router *router, cairn_node *node)
{
	return cairn_http_router_add(router, CAIRN_HTTP_GET, "/health-check", health_check, node);
}
