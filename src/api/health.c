/*
 * health.c: GET /health-check.
 *
 * Bodies and statuses are chainweb-node's, byte for byte: load balancers
 * match on them.  During a shutdown drain the node still serves everything
 * else; only the health check fails, so balancers move traffic away before
 * the listener closes.  While blocks cannot be committed (commits paused
 * for free space, or stopped by a storage failure) it answers 503 too,
 * with the reason on one line: the node serves stale data.
 */
#include "api/api.h"

static const char healthy[] = "Health check OK.\n";
static const char draining[] = "Failed health check due to service drain.\n";

static void health_check(cairn_http_response *res, const cairn_http_request *req, void *ctx)
{
	(void)req;
	char reason[512];
	if (cairn_node_is_draining(ctx))
		cairn_http_respond_static(res, 503, CAIRN_HTTP_TEXT_PLAIN, draining, sizeof(draining) - 1);
	else if (!cairn_node_is_healthy(ctx, reason, sizeof(reason)))
		cairn_http_respond_text(res, 503, "Failed health check: blocks cannot be committed: %s", reason);
	else
		cairn_http_respond_static(res, 200, CAIRN_HTTP_TEXT_PLAIN, healthy, sizeof(healthy) - 1);
}

int cairn_api_health_register(cairn_http_router *router, cairn_node *node)
{
	return cairn_http_router_add(router, CAIRN_HTTP_GET, "/health-check", health_check, node);
}
