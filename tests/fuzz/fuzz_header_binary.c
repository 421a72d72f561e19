/*
 * fuzz_header_binary.c: libFuzzer target for the binary and base64url
 * header decoders.  Properties: decoding never reads out of bounds or
 * crashes; an accepted input re-encodes to the same bytes; its JSON form
 * (when its version is known) decodes back to the same header; hashing and
 * validation (without parents) never crash.
 */
#include "chain/header.h"
#include "chain/json.h"
#include "chain/validate.h"

#include <stdlib.h>
#include <string.h>

static void check_json_round_trip(const cairn_header *h)
{
	json_object *obj, *again;
	if (cairn_header_to_json(&obj, h) != 0)
		return;
	const char *text = cairn_json_text(obj);
	cairn_header back;
	if (cairn_json_parse(&again, text, strlen(text)) != 0 || cairn_header_from_json(&back, again) != 0 ||
	    memcmp(&back, h, sizeof(back)) != 0)
		abort();
	json_object_put(again);
	json_object_put(obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cairn_header h;
	if (cairn_header_decode(&h, data, size) == 0) {
		uint8_t out[CAIRN_HEADER_MAX_BYTES], hash[CAIRN_HASH_LEN];
		size_t len;
		if (cairn_header_encode(out, &len, &h) != 0 || len != size || memcmp(out, data, size) != 0)
			abort();
		if (cairn_header_compute_hash(hash, &h) != 0 || cairn_header_pow_hash(hash, &h) != 0)
			abort();
		check_json_round_trip(&h);
		cairn_header_validate(NULL, &h, NULL, NULL, 0);
		cairn_header_validate(NULL, &h, &h, NULL, 0);
	}
	if (cairn_header_from_base64(&h, (const char *)data, size) == 0) {
		char text[CAIRN_HEADER_BASE64_MAX];
		if (cairn_header_to_base64(text, &h) != 0)
			abort();
	}
	return 0;
}
