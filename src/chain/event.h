/*
 * event.h: the JSON object of one header/updates or block/updates event
 * (Chainweb's HeaderUpdate, chainweb-format.md section 10.3):
 *
 *   {"txCount": n, "powHash": "<64 hex>", "header": {header object},
 *    "payloadWithOutputs": {payload object},   (block/updates only)
 *    "target": "<64 hex>"}
 *
 * powHash and target are the PoW hash and the target read as little-endian
 * numbers and printed big-endian in lowercase hex (section 3).  Building an
 * event computes powHash from the header; parsing keeps the values as given
 * so a verifier can compare them with recomputed ones.
 */
#ifndef CAIRN_CHAIN_EVENT_H
#define CAIRN_CHAIN_EVENT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "chain/header.h"
#include "chain/payload.h"

#define CAIRN_HEX256_LEN 65 /* 64 hex digits and the NUL */

typedef struct cairn_event {
	cairn_header header;
	uint64_t tx_count;
	uint8_t pow_hash[CAIRN_HASH_LEN]; /* as given, little-endian */
	uint8_t target[CAIRN_HASH_LEN];   /* as given, little-endian */
	bool has_payload;
	cairn_payload payload;            /* valid when has_payload */
} cairn_event;

/* The hex form of a 256-bit little-endian value (powHash, target). */
void cairn_event_hex256(char out[CAIRN_HEX256_LEN], const uint8_t value[CAIRN_HASH_LEN]);

/* Builds the event object of header h; `payload` is NULL for header/updates
 * events.  *out is owned by the caller. */
int cairn_event_to_json(json_object **out, const cairn_header *h, uint64_t tx_count,
	const cairn_payload *payload);

/* Parses an event object; release it with cairn_event_free. */
int cairn_event_from_json(cairn_event *out, json_object *obj);

void cairn_event_free(cairn_event *e);

#endif
