/*
 * fuzz_payload.c: libFuzzer target for the payload decoders, binary (the
 * stores' format) and JSON.  Properties: no crash, leak or out-of-bounds
 * access; an accepted binary payload re-encodes to the same bytes and
 * survives a JSON round trip unchanged.
 */
#include "chain/json.h"
#include "chain/payload.h"

#include <stdlib.h>
#include <string.h>

static void check_json_round_trip(const cairn_payload *p)
{
	json_object *obj;
	cairn_payload back;
	uint8_t *a, *b;
	size_t alen, blen;
	if (cairn_payload_to_json(&obj, p) != 0 || cairn_payload_from_json(&back, obj) != 0)
		abort();
	if (cairn_payload_encode(&a, &alen, p) != 0 || cairn_payload_encode(&b, &blen, &back) != 0 ||
	    alen != blen || memcmp(a, b, alen) != 0)
		abort();
	free(a);
	free(b);
	cairn_payload_free(&back);
	json_object_put(obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cairn_payload p;
	if (cairn_payload_decode(&p, data, size) == 0) {
		uint8_t *out;
		size_t len;
		if (cairn_payload_encode(&out, &len, &p) != 0 || len != size || memcmp(out, data, size) != 0)
			abort();
		free(out);
		cairn_payload_verify(&p, NULL);
		check_json_round_trip(&p);
		cairn_payload_free(&p);
	}
	json_object *obj;
	if (cairn_json_parse(&obj, (const char *)data, size) == 0) {
		if (cairn_payload_from_json(&p, obj) == 0) {
			check_json_round_trip(&p);
			cairn_payload_free(&p);
		}
		json_object_put(obj);
	}
	return 0;
}
