/*
 * api.h: the Chainweb service API: endpoint groups over the node core, and
 * the service that serves them.
 *
 * Each endpoint group (one source file each) registers its routes on a
 * router with the node as context; handlers read everything through
 * node/node.h.  cairn_api_service_start builds the router for the node's
 * version, registers every group and starts the HTTP server.
 *
 * Adding an endpoint group: write src/api/<group>.c with a
 * cairn_api_<group>_register function, declare it here and call it from
 * register_endpoints() in service.c.  A group with state (the event
 * streams) has a start/free pair that service.c calls itself.
 */
#ifndef CAIRN_API_API_H
#define CAIRN_API_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "http/router.h"
#include "node/node.h"

struct json_object;

typedef struct cairn_api_service cairn_api_service;

/* Serves the API of `node` on the configured interface and port; logs
 * "listening on ADDRESS" once the port is bound. */
int cairn_api_service_start(cairn_api_service **out, cairn_node *node, const cairn_config *cfg);

/* The bound address, e.g. "127.0.0.1:1848". */
const char *cairn_api_service_address(const cairn_api_service *service);

/* Connections close after their next response from now on. */
void cairn_api_service_begin_drain(cairn_api_service *service);

/* Stops accepting, ends event streams, lets requests in flight finish for
 * at most `grace_ms`, then stops and frees the service. */
void cairn_api_service_stop(cairn_api_service *service, int64_t grace_ms);

/* Endpoint groups. */
int cairn_api_health_register(cairn_http_router *router, cairn_node *node); /* GET /health-check */
int cairn_api_info_register(cairn_http_router *router, cairn_node *node);   /* GET /info */
int cairn_api_cut_register(cairn_http_router *router, cairn_node *node);    /* GET /cut */

/* GET /header/updates and GET /block/updates: event streams fed by a block
 * listener on the node, so unlike the groups above they have state. */
typedef struct cairn_api_updates cairn_api_updates;

int cairn_api_updates_start(cairn_api_updates **out, cairn_http_router *router, cairn_node *node);

/* Stops feeding the streams (the node's listener is removed before this
 * returns) and closes them once their queued events are sent. */
void cairn_api_updates_free(cairn_api_updates *u);

/* POST /make-backup, GET /check-backup/{backupId}; only with the backup API enabled */
int cairn_api_backup_register(cairn_http_router *router, cairn_node *node);

/* The backup management API (Rackspace Cloud Backup v2 and Scalingo
 * shapes, docs/api.md): only with managementApi.enabled.  Loads the tokens
 * and the link secret, then registers both route tables; the context must
 * outlive the server. */
typedef struct cairn_api_manage cairn_api_manage;

int cairn_api_manage_start(cairn_api_manage **out, cairn_http_router *router, cairn_node *node,
	const cairn_config *cfg);
void cairn_api_manage_free(cairn_api_manage *api);

/* Answers 401 as the management API does, and returns false, unless the
 * request carries one of its tokens (counted in the metrics when not). */
bool cairn_api_manage_authorize(cairn_http_response *res, const cairn_http_request *req,
	const cairn_api_manage *api);

/* GET /metrics: the Prometheus text format (src/api/metrics.c); only with
 * metrics.enabled.  Reads the node and, when `manage` is not NULL,
 * requires its tokens.  The context must outlive the server. */
typedef struct cairn_api_metrics cairn_api_metrics;

int cairn_api_metrics_start(cairn_api_metrics **out, cairn_http_router *router, cairn_node *node,
	const cairn_config *cfg, const cairn_api_manage *manage);
void cairn_api_metrics_free(cairn_api_metrics *metrics);

/* Sends `json` (consumed) as a compact application/json body with `status`. */
void cairn_api_respond_json(cairn_http_response *res, int status, struct json_object *json);

#endif
