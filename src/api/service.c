/*
 * service.c: the service API server: one router for the node's version,
 * every endpoint group registered on it (the backup group only when the
 * backup API is enabled, the management API and /metrics only when they
 * are), one HTTP server.
 *
 * The router is read-only once the server starts and is freed only after
 * the server has stopped, so handlers never race with its teardown.  The
 * event streams stop being fed before the server stops, so no block event
 * is queued once shutdown has begun closing the streams.
 */
#include "api/api.h"
#include "http/server.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

struct cairn_api_service {
	cairn_http_router *router;
	cairn_api_updates *updates;
	cairn_api_manage *manage;
	cairn_api_metrics *metrics;
	cairn_http_server *server;
};

typedef int (*endpoint_group)(cairn_http_router *router, cairn_node *node);

static const endpoint_group endpoint_groups[] = {
	cairn_api_health_register,
	cairn_api_info_register,
	cairn_api_cut_register,
};

static int register_endpoints(cairn_http_router *router, cairn_node *node)
{
	for (size_t i = 0; i < sizeof(endpoint_groups) / sizeof(endpoint_groups[0]); i++) {
		int rc = endpoint_groups[i](router, node);
		if (rc != CAIRN_OK)
			return rc;
	}
	return CAIRN_OK;
}

static void service_free(cairn_api_service *service)
{
	cairn_api_updates_free(service->updates);
	cairn_http_server_free(service->server);
	cairn_api_manage_free(service->manage);
	cairn_api_metrics_free(service->metrics);
	cairn_http_router_free(service->router);
	free(service);
}

static bool is_loopback(const char *interface)
{
	struct in_addr in4;
	return strcmp(interface, "::1") == 0 || (inet_pton(AF_INET, interface, &in4) == 1 && (ntohl(in4.s_addr) >> 24) == 127);
}

/* make-backup and check-backup take no token: reachable from other
 * machines, anyone there can start Pact backups in a loop. */
static void warn_if_exposed(const cairn_config *cfg)
{
	if (cfg->backup_api_enabled && !is_loopback(cfg->service_interface))
		cairn_log_warn("http", "the backup API (make-backup, check-backup, no tokens) is reachable on %s, not only "
			"on loopback: anyone who can reach this address can start backups; bind to 127.0.0.1 or put a "
			"proxy with authentication in front", cfg->service_interface);
}

int cairn_api_service_start(cairn_api_service **out, cairn_node *node, const cairn_config *cfg)
{
	cairn_api_service *service = calloc(1, sizeof(*service));
	if (service == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	int rc = cairn_http_router_create(&service->router, cairn_node_version(node)->name);
	if (rc == CAIRN_OK)
		rc = register_endpoints(service->router, node);
	if (rc == CAIRN_OK)
		rc = cairn_api_updates_start(&service->updates, service->router, node);
	if (rc == CAIRN_OK && cfg->backup_api_enabled)
		rc = cairn_api_backup_register(service->router, node);
	if (rc == CAIRN_OK && cfg->management_api_enabled)
		rc = cairn_api_manage_start(&service->manage, service->router, node, cfg);
	if (rc == CAIRN_OK && cfg->metrics_enabled)
		rc = cairn_api_metrics_start(&service->metrics, service->router, node, cfg, service->manage);
	if (rc == CAIRN_OK) {
		cairn_http_server_options opts = CAIRN_HTTP_SERVER_OPTIONS_INIT;
		opts.interface = cfg->service_interface;
		opts.port = cfg->service_port;
		opts.reserved_fds = cairn_node_reserved_descriptors(node);
		opts.request_timeout_s = (unsigned)cfg->request_timeout;
		opts.check_host = true;
		opts.allowed_hosts = cfg->allowed_hosts;
		opts.max_connections_per_address = (unsigned)cfg->max_connections_per_address;
		rc = cairn_http_server_start(&service->server, service->router, &opts);
	}
	if (rc != CAIRN_OK) {
		service_free(service);
		return rc;
	}
	cairn_log_always("http", "listening on %s", cairn_http_server_address(service->server));
	warn_if_exposed(cfg);
	*out = service;
	return CAIRN_OK;
}

const char *cairn_api_service_address(const cairn_api_service *service)
{
	return cairn_http_server_address(service->server);
}

void cairn_api_service_begin_drain(cairn_api_service *service)
{
	cairn_http_server_begin_drain(service->server);
}

void cairn_api_service_stop(cairn_api_service *service, int64_t grace_ms)
{
	cairn_api_updates_free(service->updates);
	service->updates = NULL;
	unsigned cut_off = cairn_http_server_shutdown(service->server, grace_ms);
	if (cut_off > 0)
		cairn_log_warn("http", "stopped with %u requests still in flight", cut_off);
	else
		cairn_log_info("http", "stopped");
	service_free(service);
}
