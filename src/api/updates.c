/*
 * updates.c: GET /header/updates and GET /block/updates, the block event
 * streams (chainweb-format.md sections 10.3 and 12).
 *
 * A block listener on the node turns every committed block, once it is
 * durable and in commit order, into one event per topic:
 *   header/updates  event:BlockHeader  data:{"txCount","powHash","header","target"}
 *   block/updates   event:Block        data:{... and "payloadWithOutputs"}
 * Each event is serialized once and the same bytes are queued for every
 * subscriber (http/stream.h); a topic without subscribers is skipped
 * entirely, so an unwatched node spends nothing on events.  The event names
 * are the API documents' (chainweb-node sends BlockHeader on both).  A
 * block whose payload contents are unknown (a header-only import) has no
 * block/updates event: there is no payloadWithOutputs to send.
 *
 * The listener only serializes and queues, never waits: a subscriber that
 * falls behind is dropped by the stream module.  Streams start with the
 * next block (no backfill) and end when the server shuts down.
 */
#include "api/api.h"
#include "chain/event.h"
#include "http/stream.h"
#include "util/log.h"

#include <json-c/json.h>
#include <stdlib.h>

struct cairn_api_updates {
	cairn_node *node;
	cairn_http_topic *headers;
	cairn_http_topic *blocks;
};

static void publish(cairn_http_topic *topic, const char *name, const cairn_header *h, uint64_t tx_count,
	const cairn_payload *payload)
{
	if (cairn_http_topic_subscriber_count(topic) == 0)
		return;
	json_object *obj;
	cairn_http_event *event = NULL;
	int rc = cairn_event_to_json(&obj, h, tx_count, payload);
	if (rc == CAIRN_OK) {
		size_t len = 0;
		const char *text = json_object_to_json_string_length(obj,
			JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
		rc = cairn_http_event_create(&event, name, text, len);
		json_object_put(obj);
	}
	if (rc != CAIRN_OK) {
		cairn_log_warn("http", "%s event of chain %u height %llu not sent: %s", name, h->chain_id,
			(unsigned long long)h->height, cairn_error_last());
		return;
	}
	cairn_http_topic_publish(topic, event);
	cairn_http_event_unref(event);
}

static void on_block(void *ctx, const cairn_header *h, const cairn_payload *payload)
{
	cairn_api_updates *u = ctx;
	publish(u->headers, "BlockHeader", h, payload ? payload->tx_count : 0, NULL);
	if (payload != NULL)
		publish(u->blocks, "Block", h, payload->tx_count, payload);
}

static void header_updates(cairn_http_response *res, const cairn_http_request *req, void *ctx)
{
	(void)req;
	cairn_http_respond_stream(res, ((cairn_api_updates *)ctx)->headers);
}

static void block_updates(cairn_http_response *res, const cairn_http_request *req, void *ctx)
{
	(void)req;
	cairn_http_respond_stream(res, ((cairn_api_updates *)ctx)->blocks);
}

int cairn_api_updates_start(cairn_api_updates **out, cairn_http_router *router, cairn_node *node)
{
	cairn_api_updates *u = calloc(1, sizeof(*u));
	if (u == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	u->node = node;
	int rc = cairn_http_topic_create(&u->headers, NULL);
	if (rc == CAIRN_OK)
		rc = cairn_http_topic_create(&u->blocks, NULL);
	if (rc == CAIRN_OK)
		rc = cairn_http_router_add(router, CAIRN_HTTP_GET, "/header/updates", header_updates, u);
	if (rc == CAIRN_OK)
		rc = cairn_http_router_add(router, CAIRN_HTTP_GET, "/block/updates", block_updates, u);
	if (rc == CAIRN_OK)
		rc = cairn_node_add_block_listener(node, on_block, u);
	if (rc != CAIRN_OK) {
		cairn_http_topic_free(u->headers);
		cairn_http_topic_free(u->blocks);
		free(u);
		return rc;
	}
	*out = u;
	return CAIRN_OK;
}

void cairn_api_updates_free(cairn_api_updates *u)
{
	if (u == NULL)
		return;
	cairn_node_remove_block_listener(u->node, on_block, u);
	cairn_http_topic_free(u->headers);
	cairn_http_topic_free(u->blocks);
	free(u);
}
