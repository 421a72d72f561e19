/*
 * event.c: implementation of event.h.  Key order follows the events of
 * mainnet nodes (tests/fixtures/mainnet-sse-samples.txt).
 */
#include "chain/event.h"
#include "chain/json.h"
#include "util/error.h"
#include "util/hex.h"

#include <string.h>

void cairn_event_hex256(char out[CAIRN_HEX256_LEN], const uint8_t value[CAIRN_HASH_LEN])
{
	cairn_hex_encode_reversed(out, value, CAIRN_HASH_LEN);
}

static int add_hex(json_object *o, const char *key, const uint8_t value[CAIRN_HASH_LEN])
{
	char hex[CAIRN_HEX256_LEN];
	cairn_event_hex256(hex, value);
	return cairn_json_add(o, key, json_object_new_string(hex));
}

int cairn_event_to_json(json_object **out, const cairn_header *h, uint64_t tx_count,
	const cairn_payload *payload)
{
	uint8_t pow[CAIRN_HASH_LEN];
	json_object *header = NULL, *body = NULL;
	int rc;
	if ((rc = cairn_header_pow_hash(pow, h)) != CAIRN_OK ||
	    (rc = cairn_header_to_json(&header, h)) != CAIRN_OK)
		return rc;
	if (payload && (rc = cairn_payload_to_json(&body, payload)) != CAIRN_OK) {
		json_object_put(header);
		return rc;
	}
	json_object *o = json_object_new_object();
	if (!o) {
		json_object_put(header);
		json_object_put(body);
		return cairn_error_set(CAIRN_ENOMEM, "out of memory building JSON");
	}
	if ((rc = cairn_json_add(o, "txCount", json_object_new_uint64(tx_count))) != CAIRN_OK ||
	    (rc = add_hex(o, "powHash", pow)) != CAIRN_OK ||
	    (rc = cairn_json_add(o, "header", header)) != CAIRN_OK ||
	    (body && (rc = cairn_json_add(o, "payloadWithOutputs", body)) != CAIRN_OK) ||
	    (rc = add_hex(o, "target", h->target)) != CAIRN_OK) {
		json_object_put(o);
		return rc;
	}
	*out = o;
	return CAIRN_OK;
}

int cairn_event_from_json(cairn_event *out, json_object *obj)
{
	cairn_event e;
	memset(&e, 0, sizeof(e));
	cairn_payload_init(&e.payload);
	json_object *header = NULL, *body = NULL;
	int rc;
	if ((rc = cairn_json_member(&header, obj, "header")) != CAIRN_OK)
		return rc;
	if ((rc = cairn_header_from_json(&e.header, header)) != CAIRN_OK)
		return cairn_error_prefix(rc, "header");
	if ((rc = cairn_json_get_u64(&e.tx_count, obj, "txCount")) != CAIRN_OK ||
	    (rc = cairn_json_get_decoded(e.pow_hash, CAIRN_HASH_LEN, obj, "powHash",
		     cairn_hex_decode_reversed)) != CAIRN_OK ||
	    (rc = cairn_json_get_decoded(e.target, CAIRN_HASH_LEN, obj, "target",
		     cairn_hex_decode_reversed)) != CAIRN_OK)
		return rc;
	e.has_payload = json_object_object_get_ex(obj, "payloadWithOutputs", &body);
	if (e.has_payload && (rc = cairn_payload_from_json(&e.payload, body)) != CAIRN_OK)
		return cairn_error_prefix(rc, "payloadWithOutputs");
	*out = e;
	return CAIRN_OK;
}

void cairn_event_free(cairn_event *e)
{
	cairn_payload_free(&e->payload);
	e->has_payload = false;
}
