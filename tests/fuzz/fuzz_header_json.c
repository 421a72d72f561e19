/*
 * fuzz_header_json.c: libFuzzer target for the JSON header and event
 * decoders (and the strict JSON parser under them).  Properties: no crash,
 * leak or out-of-bounds access; an accepted header re-encodes to JSON that
 * decodes to the same header; an accepted event rebuilds into an event
 * with the same header.
 */
#include "chain/event.h"
#include "chain/header.h"
#include "chain/json.h"

#include <stdlib.h>
#include <string.h>

static void check_header(json_object *obj)
{
	cairn_header h, back;
	json_object *out, *again;
	if (cairn_header_from_json(&h, obj) != 0)
		return;
	if (cairn_header_to_json(&out, &h) != 0)
		abort();
	const char *text = cairn_json_text(out);
	if (cairn_json_parse(&again, text, strlen(text)) != 0 || cairn_header_from_json(&back, again) != 0 ||
	    memcmp(&back, &h, sizeof(h)) != 0)
		abort();
	json_object_put(again);
	json_object_put(out);
}

static void check_event(json_object *obj)
{
	cairn_event e, back;
	json_object *out;
	if (cairn_event_from_json(&e, obj) != 0)
		return;
	if (cairn_event_to_json(&out, &e.header, e.tx_count, e.has_payload ? &e.payload : NULL) != 0 ||
	    cairn_event_from_json(&back, out) != 0 || memcmp(&back.header, &e.header, sizeof(e.header)) != 0)
		abort();
	cairn_payload_verify(&e.payload, e.header.payload_hash);
	cairn_event_free(&back);
	json_object_put(out);
	cairn_event_free(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_object *obj;
	if (cairn_json_parse(&obj, (const char *)data, size) != 0)
		return 0;
	check_header(obj);
	check_event(obj);
	json_object_put(obj);
	return 0;
}
