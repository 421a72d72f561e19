/* Unit tests for chain/header, chain/merkle, chain/event and chain/json:
 * the worked example of chainweb-format.md section 4.4 leaf by leaf, every
 * SSE sample of tests/fixtures/mainnet-sse-samples.txt (hash, powHash,
 * target, payload hashes), other real mainnet headers, exact round trips
 * between the binary, base64url and JSON forms, and rejection of malformed
 * input with a message naming the problem. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/event.h"
#include "chain/header.h"
#include "chain/json.h"
#include "chain/merkle.h"
#include "util/base64url.h"
#include "util/error.h"

#include "fixtures.h"
#include "util/hex.h"

/* The chain 6 header of the first SSE sample (mainnet01, height 1 554 652). */
static const char sample_header[] =
	"{\"creationTime\":1619037443761924,\"parent\":\"qaUtvtXk75nXsWM9l6vkeGkQilZfE_YgzWkZm-7tLyE\","
	"\"height\":1554652,\"hash\":\"okI4V9Pez5-UPw4nys2Nk9iIPz3-n30HCag5_NQptlo\",\"chainId\":6,"
	"\"weight\":\"d8mOCoZeFpajAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"featureFlags\":0,"
	"\"epochStart\":1619035890499046,\"adjacents\":{\"1\":\"OTcNZsNMA-TZ9RTlfWqegFiE0ZkBYcy3JCzh23gmm9Y\","
	"\"8\":\"nznrNdU8RWatTVlS8yTaVaxk8CT1ZjR4ZWta7GAaMDk\",\"9\":\"CanRK_wW8RjyA1X9xSEQCXymsnk3VERAJtAB2abrY_M\"},"
	"\"payloadHash\":\"cT86RaKJUyCZXKB3gYqX9A9SNway-lUBrHSvNr7_SaM\",\"chainwebVersion\":\"mainnet01\","
	"\"target\":\"zklwTetkWv91YxYIRmXCt6kUHpEBpiN8gwcAAAAAAAA\",\"nonce\":\"3399765038640884059\"}";

static int parse_header(cairn_header *out, const char *text)
{
	json_object *obj;
	int rc = cairn_json_parse(&obj, text, strlen(text));
	if (rc != CAIRN_OK)
		return rc;
	rc = cairn_header_from_json(out, obj);
	json_object_put(obj);
	return rc;
}

static void assert_hex(const uint8_t *bytes, size_t n, const char *expected)
{
	char text[2 * 300 + 1];
	cairn_hex_encode(text, bytes, n);
	assert_string_equal(text, expected);
}

static void le(uint8_t *out, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = (uint8_t)(v >> (8 * i));
}

/* chainweb-format.md section 4.4. */
static void test_worked_example(void **state)
{
	(void)state;
	cairn_header h;
	assert_int_equal(parse_header(&h, sample_header), CAIRN_OK);
	uint8_t n[14][CAIRN_HASH_LEN], b[8];
	le(b, h.feature_flags, 8);
	cairn_merkle_input_hash(n[0], CAIRN_TAG_FEATURE_FLAGS, b, 8);
	assert_hex(n[0], 32, "16475fc94fb08f5bf8604ca474612b0e4cfd4f5c74b51bd9c323d868468fa024");
	le(b, (uint64_t)h.creation_time_us, 8);
	assert_hex(b, 8, "04a7b68781c00500");
	cairn_merkle_input_hash(n[1], CAIRN_TAG_BLOCK_CREATION_TIME, b, 8);
	assert_hex(n[1], 32, "6029a797940931c434f2edd4a3fd1761cd0a5ba708e056ef88f6ada22e4fed5a");
	memcpy(n[2], h.parent, 32);
	assert_hex(n[2], 32, "a9a52dbed5e4ef99d7b1633d97abe47869108a565f13f620cd69199beeed2f21");
	cairn_merkle_input_hash(n[3], CAIRN_TAG_HASH_TARGET, h.target, 32);
	assert_hex(n[3], 32, "6955832fbe66efc25721e49073d09c8a59feebd6d60c5da93c73fc7e54a233c8");
	memcpy(n[4], h.payload_hash, 32);
	assert_hex(n[4], 32, "713f3a45a2895320995ca077818a97f40f523706b2fa5501ac74af36beff49a3");
	le(b, h.chain_id, 4);
	cairn_merkle_input_hash(n[5], CAIRN_TAG_CHAIN_ID, b, 4);
	assert_hex(n[5], 32, "6223f34c8f6a0caee125cdfeaee31397f60ab3ef679ab97e292426fd74fcfd77");
	cairn_merkle_input_hash(n[6], CAIRN_TAG_BLOCK_WEIGHT, h.weight, 32);
	assert_hex(n[6], 32, "19659a84a314aab2565bfc6f011919b43fdf2d24162070a129528845544c0dea");
	le(b, h.height, 8);
	cairn_merkle_input_hash(n[7], CAIRN_TAG_BLOCK_HEIGHT, b, 8);
	assert_hex(n[7], 32, "0391976bfce53b229b71e92cff859913f74dddd20c3b4ef5fbcc711db618a995");
	le(b, h.version_code, 4);
	cairn_merkle_input_hash(n[8], CAIRN_TAG_CHAINWEB_VERSION, b, 4);
	assert_hex(n[8], 32, "df30a2f8c98086c47b5bf25ee04ff242f95b5bd00bfdb7753cd2a056be341f3a");
	le(b, (uint64_t)h.epoch_start_us, 8);
	cairn_merkle_input_hash(n[9], CAIRN_TAG_EPOCH_START_TIME, b, 8);
	assert_hex(n[9], 32, "9a94bd8096f46110e232941effb1b72669f7d131568b7864430f0afa51147e0a");
	le(b, h.nonce, 8);
	assert_hex(b, 8, "5b69fb374a642e2f");
	cairn_merkle_input_hash(n[10], CAIRN_TAG_BLOCK_NONCE, b, 8);
	assert_hex(n[10], 32, "1f41f069dbba98bd0c96f290e56c0c3ad64e0c37422b5f3bec831c01c53db76e");
	assert_int_equal(h.adjacents[0].chain, 1);
	assert_int_equal(h.adjacents[1].chain, 8);
	assert_int_equal(h.adjacents[2].chain, 9);
	for (int i = 0; i < 3; i++)
		memcpy(n[11 + i], h.adjacents[i].hash, 32);
	assert_hex(n[11], 32, "39370d66c34c03e4d9f514e57d6a9e805884d1990161ccb7242ce1db78269bd6");
	assert_hex(n[12], 32, "9f39eb35d53c4566ad4d5952f324da55ac64f024f5663478656b5aec601a3039");
	assert_hex(n[13], 32, "09a9d12bfc16f118f20355fdc52110097ca6b2793754444026d001d9a6eb63f3");

	uint8_t a[CAIRN_HASH_LEN], c[CAIRN_HASH_LEN], left[CAIRN_HASH_LEN], right[CAIRN_HASH_LEN];
	cairn_merkle_inner_hash(a, n[0], n[1]);
	cairn_merkle_inner_hash(c, n[2], n[3]);
	cairn_merkle_inner_hash(left, a, c);
	cairn_merkle_inner_hash(a, n[4], n[5]);
	cairn_merkle_inner_hash(c, n[6], n[7]);
	cairn_merkle_inner_hash(right, a, c);
	uint8_t n0_7[CAIRN_HASH_LEN];
	cairn_merkle_inner_hash(n0_7, left, right);
	assert_hex(n0_7, 32, "bd5f082bfbb3f88b99ba26d355a158783a1869fb341128d0d459f6b443030989");
	uint8_t n8_11[CAIRN_HASH_LEN], n12_13[CAIRN_HASH_LEN], n8_13[CAIRN_HASH_LEN], root[CAIRN_HASH_LEN];
	cairn_merkle_inner_hash(a, n[8], n[9]);
	cairn_merkle_inner_hash(c, n[10], n[11]);
	cairn_merkle_inner_hash(n8_11, a, c);
	assert_hex(n8_11, 32, "38b41f325c6fc089945b6819d68618e6b3565cfdf92a4998b7bb61a38566ddfe");
	cairn_merkle_inner_hash(n12_13, n[12], n[13]);
	assert_hex(n12_13, 32, "6186b95d44d0b220863f1927285bd3b9e6dc5f8002f1032ac443d176a36e03cf");
	cairn_merkle_inner_hash(n8_13, n8_11, n12_13);
	assert_hex(n8_13, 32, "b4bd3262b0c94a44031bce08d01acfdd0f12de1dc9fe97fd157f8cf267387170");
	cairn_merkle_inner_hash(root, n0_7, n8_13);
	assert_hex(root, 32, "a2423857d3decf9f943f0e27cacd8d93d8883f3dfe9f7d0709a839fcd429b65a");
	assert_memory_equal(root, h.hash, 32);

	/* the streaming builder and the header function agree */
	cairn_merkle m;
	cairn_merkle_init(&m);
	for (int i = 0; i < 14; i++)
		cairn_merkle_add_node(&m, n[i]);
	cairn_merkle_root(a, &m);
	assert_memory_equal(a, root, 32);
	assert_int_equal(cairn_header_compute_hash(a, &h), CAIRN_OK);
	assert_memory_equal(a, root, 32);

	/* work bytes and the PoW hash */
	uint8_t bin[CAIRN_HEADER_MAX_BYTES], pow[CAIRN_HASH_LEN];
	size_t len;
	assert_int_equal(cairn_header_encode(bin, &len, &h), CAIRN_OK);
	assert_int_equal(len, 318);
	assert_hex(bin, 286,
		"000000000000000004a7b68781c00500a9a52dbed5e4ef99d7b1633d97abe478"
		"69108a565f13f620cd69199beeed2f2103000100000039370d66c34c03e4d9f5"
		"14e57d6a9e805884d1990161ccb7242ce1db78269bd6080000009f39eb35d53c"
		"4566ad4d5952f324da55ac64f024f5663478656b5aec601a30390900000009a9"
		"d12bfc16f118f20355fdc52110097ca6b2793754444026d001d9a6eb63f3ce49"
		"704deb645aff756316084665c2b7a9141e9101a6237c8307000000000000713f"
		"3a45a2895320995ca077818a97f40f523706b2fa5501ac74af36beff49a30600"
		"000077c98e0a865e1696a3000000000000000000000000000000000000000000"
		"0000dcb817000000000005000000e6bd212b81c005005b69fb374a642e2f");
	assert_int_equal(cairn_header_pow_hash(pow, &h), CAIRN_OK);
	assert_hex(pow, 32, "7751c1c32c3da4d333ff10502d24f412d1bffce08e8564b1e006000000000000");
	char hex[CAIRN_HEX256_LEN];
	cairn_event_hex256(hex, pow);
	assert_string_equal(hex, "00000000000006e0b164858ee0fcbfd112f4242d5010ff33d3a43d2cc3c15177");
	assert_true(cairn_pow_meets_target(pow, h.target));
	assert_false(cairn_pow_meets_target(h.target, pow));
	assert_true(cairn_pow_meets_target(h.target, h.target));
}

/* The root of n leaves by the recursive RFC 6962 definition. */
static void recursive_root(uint8_t out[CAIRN_HASH_LEN], uint8_t (*leaves)[CAIRN_HASH_LEN], size_t n)
{
	if (n == 1) {
		memcpy(out, leaves[0], CAIRN_HASH_LEN);
		return;
	}
	size_t k = 1;
	while (k * 2 < n)
		k *= 2;
	uint8_t l[CAIRN_HASH_LEN], r[CAIRN_HASH_LEN];
	recursive_root(l, leaves, k);
	recursive_root(r, leaves + k, n - k);
	cairn_merkle_inner_hash(out, l, r);
}

static void test_merkle_shapes(void **state)
{
	(void)state;
	uint8_t leaves[40][CAIRN_HASH_LEN], a[CAIRN_HASH_LEN], b[CAIRN_HASH_LEN];
	cairn_merkle m;
	cairn_merkle_init(&m);
	cairn_merkle_root(a, &m);
	assert_hex(a, 4, "c672b8d1"); /* H("") */
	for (size_t n = 1; n <= 40; n++) {
		cairn_merkle_init(&m);
		for (size_t i = 0; i < n; i++) {
			uint8_t v = (uint8_t)i;
			cairn_merkle_input_hash(leaves[i], CAIRN_TAG_TRANSACTION, &v, 1);
			cairn_merkle_add_node(&m, leaves[i]);
		}
		cairn_merkle_root(a, &m);
		recursive_root(b, leaves, n);
		assert_memory_equal(a, b, CAIRN_HASH_LEN);
	}
	/* SHA-512/256("abc") */
	const cairn_slice abc = {(const uint8_t *)"abc", 3};
	cairn_sha512_256(a, &abc, 1);
	assert_hex(a, 32, "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23");
}

/* Every SSE sample reproduces hash, powHash, target and payload hashes. */
static void test_sse_samples(void **state)
{
	(void)state;
	size_t len, events = 0, payloads = 0;
	char *text = read_fixture(&len, "mainnet-sse-samples.txt");
	assert_non_null(text);
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (strncmp(line, "data:", 5) != 0)
			continue;
		json_object *obj;
		cairn_event e;
		assert_int_equal(cairn_json_parse(&obj, line + 5, strlen(line + 5)), CAIRN_OK);
		assert_int_equal(cairn_event_from_json(&e, obj), CAIRN_OK);
		uint8_t hash[CAIRN_HASH_LEN], pow[CAIRN_HASH_LEN];
		assert_int_equal(cairn_header_compute_hash(hash, &e.header), CAIRN_OK);
		assert_memory_equal(hash, e.header.hash, CAIRN_HASH_LEN);
		assert_int_equal(cairn_header_pow_hash(pow, &e.header), CAIRN_OK);
		assert_memory_equal(pow, e.pow_hash, CAIRN_HASH_LEN);
		assert_memory_equal(e.target, e.header.target, CAIRN_HASH_LEN);
		assert_true(cairn_pow_meets_target(pow, e.header.target));
		if (e.has_payload) {
			assert_int_equal(cairn_payload_verify(&e.payload, e.header.payload_hash), CAIRN_OK);
			assert_int_equal(e.payload.tx_count, e.tx_count);
			payloads++;
		}
		/* rebuilding the event gives the same JSON, key order included */
		json_object *again;
		assert_int_equal(cairn_event_to_json(&again, &e.header, e.tx_count,
					 e.has_payload ? &e.payload : NULL), CAIRN_OK);
		cairn_event e2;
		assert_int_equal(cairn_event_from_json(&e2, again), CAIRN_OK);
		assert_memory_equal(&e2.header, &e.header, sizeof(e.header));
		assert_memory_equal(e2.pow_hash, e.pow_hash, CAIRN_HASH_LEN);
		cairn_event_free(&e2);
		json_object_put(again);
		cairn_event_free(&e);
		json_object_put(obj);
		events++;
	}
	assert_int_equal(events, 4);
	assert_int_equal(payloads, 2);
	free(text);
}

/* Other real mainnet headers: chain 0 height 25 (base64url binary, its
 * featureFlags above 2^63 from the pre-1.7 extra nonce), chain 0 height
 * 731 382 (JSON). */
static void test_other_mainnet_headers(void **state)
{
	(void)state;
	const char *b64 =
		"2obwvkGlOdmF4pwCGJYFALZ_p7XTbbGGHJwX6IfNfbyS_ZXc_qpCF3-DAzuinfn8AwACAAAABm80lWv8r5nwpzp86TGE7oYmhJ4w"
		"g4jr58KJV0JqhLkDAAAAMsqHenmTRs42OVDB28oP_5MZCm8RaqDSVDrsVsTo2X0FAAAAVbogma-GMmPtrxF86kEzn8Zw4jkLxeXS"
		"tekPprJXMLX_________________________________________HxuaJVObWH6lOxWF8Pfb8qhJ1EWoGQfn9qS_bse4MGJLAAAA"
		"ACcAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAGQAAAAAAAAAFAAAAGMwmAhiWBQAAAAAAAAAAADedKudagBsCqroA-Kyu"
		"X8rw0COfvV_rd5St3PVfFiSP";
	cairn_header h;
	uint8_t hash[CAIRN_HASH_LEN];
	assert_int_equal(cairn_header_from_base64(&h, b64, strlen(b64)), CAIRN_OK);
	assert_int_equal(h.height, 25);
	assert_true(h.feature_flags == 15652723681697760986ull);
	assert_int_equal(cairn_header_compute_hash(hash, &h), CAIRN_OK);
	assert_memory_equal(hash, h.hash, CAIRN_HASH_LEN);
	char again[CAIRN_HEADER_BASE64_MAX];
	assert_int_equal(cairn_header_to_base64(again, &h), CAIRN_OK);
	assert_string_equal(again, b64);
	json_object *obj;
	assert_int_equal(cairn_header_to_json(&obj, &h), CAIRN_OK);
	assert_non_null(strstr(cairn_json_text(obj), "\"featureFlags\":15652723681697760986"));
	cairn_header back;
	assert_int_equal(cairn_header_from_json(&back, obj), CAIRN_OK);
	assert_memory_equal(&back, &h, sizeof(h));
	json_object_put(obj);

	assert_int_equal(parse_header(&h,
		"{\"creationTime\": 1594319266887602,\"parent\": \"aSIkDjuJQGGOwJW-60T_1WRK9KPJm1rz63a4SW8WtSc\","
		"\"height\": 731382,\"hash\": \"Ua_pSMMo-szlMpXMuSYWTcVlaSIf01TxJvBCmFkmhBM\",\"chainId\": 0,"
		"\"weight\": \"xo3dabqEYpUPAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"featureFlags\": 0,"
		"\"epochStart\": 1594316109999615,\"adjacents\": {\"2\": \"KuuujcD6yeZ9jRXwlRE0ed5dHc3x_akIz1REmKXuDtk\","
		"\"5\": \"qFU32Qmlj-syzuZ2awCvyoW6Jex3TQqGTzd-Dchn1gc\",\"3\": \"Lgu1FgiCw4qPpptoVRmijn8WKG2OcAUAp1Ha7KFbrWg\"},"
		"\"payloadHash\": \"MV079yClHYSYBW74WySK-15AUVQg8QMKHJZbtzTCbgA\",\"chainwebVersion\": \"mainnet01\","
		"\"target\": \"DOordl9cgfs4ZTBdFnbjRW5th-hW-pL33DIAAAAAAAA\",\"nonce\": \"149742924667593745\"}"),
		CAIRN_OK);
	assert_int_equal(cairn_header_compute_hash(hash, &h), CAIRN_OK);
	assert_memory_equal(hash, h.hash, CAIRN_HASH_LEN);
}

/* binary -> JSON -> binary and JSON text -> header -> JSON text are exact,
 * for the real headers of the validation fixture. */
static void test_round_trips(void **state)
{
	(void)state;
	size_t len;
	char *text = read_fixture(&len, "mainnet-header-triples.txt");
	assert_non_null(text);
	size_t count = 0;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		char *b64 = strchr(line, ' ');
		if (line[0] == '#' || !b64)
			continue;
		b64++;
		cairn_header h, back;
		assert_int_equal(cairn_header_from_base64(&h, b64, strlen(b64)), CAIRN_OK);
		json_object *obj, *obj2;
		assert_int_equal(cairn_header_to_json(&obj, &h), CAIRN_OK);
		char *json = strdup(cairn_json_text(obj));
		assert_int_equal(cairn_json_parse(&obj2, json, strlen(json)), CAIRN_OK);
		assert_int_equal(cairn_header_from_json(&back, obj2), CAIRN_OK);
		assert_memory_equal(&back, &h, sizeof(h));
		assert_string_equal(cairn_json_text(obj2), json);
		char again[CAIRN_HEADER_BASE64_MAX];
		assert_int_equal(cairn_header_to_base64(again, &back), CAIRN_OK);
		assert_string_equal(again, b64);
		free(json);
		json_object_put(obj);
		json_object_put(obj2);
		count++;
	}
	assert_int_equal(count, 35);
	free(text);
}

/* The historic featureFlags value above 2^63 (mainnet chain 7, height
 * 318 265, parent of a fixture header) survives JSON exactly. */
static void test_feature_flags_above_2_63(void **state)
{
	(void)state;
	cairn_header h;
	assert_int_equal(parse_header(&h, sample_header), CAIRN_OK);
	h.feature_flags = 13587439086007832832ull;
	json_object *obj;
	assert_int_equal(cairn_header_to_json(&obj, &h), CAIRN_OK);
	const char *text = cairn_json_text(obj);
	assert_non_null(strstr(text, "\"featureFlags\":13587439086007832832,"));
	cairn_header back;
	assert_int_equal(parse_header(&back, text), CAIRN_OK);
	assert_true(back.feature_flags == 13587439086007832832ull);
	json_object_put(obj);
}

/* Replaces the first occurrence of `from` in the sample header. */
static int parse_variant(cairn_header *out, const char *from, const char *to)
{
	char text[2048];
	const char *at = strstr(sample_header, from);
	assert_non_null(at);
	snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - sample_header), sample_header, to, at + strlen(from));
	return parse_header(out, text);
}

static void expect_rejected(const char *from, const char *to, const char *needle)
{
	cairn_header h;
	assert_int_equal(parse_variant(&h, from, to), CAIRN_EINVALID);
	if (!strstr(cairn_error_last(), needle))
		fail_msg("replacing %s by %s: '%s' lacks '%s'", from, to, cairn_error_last(), needle);
}

static void test_json_rejections(void **state)
{
	(void)state;
	expect_rejected("\"featureFlags\":0", "\"featureFlags\":18446744073709551616", "64 bits");
	expect_rejected("\"featureFlags\":0", "\"featureFlags\":-1", "featureFlags");
	expect_rejected("\"featureFlags\":0", "\"featureFlags\":1.0", "featureFlags");
	expect_rejected("\"featureFlags\":0", "\"featureFlags\":\"0\"", "featureFlags");
	expect_rejected("\"nonce\":\"3399765038640884059\"", "\"nonce\":3399765038640884059", "nonce");
	expect_rejected("\"nonce\":\"3399765038640884059\"", "\"nonce\":\"03399765038640884059\"", "nonce");
	expect_rejected("\"nonce\":\"3399765038640884059\"", "\"nonce\":\"18446744073709551616\"", "nonce");
	expect_rejected("\"height\":1554652", "\"height\":\"1554652\"", "height");
	expect_rejected("\"chainId\":6", "\"chainId\":4294967296", "chainId");
	expect_rejected("\"creationTime\":1619037443761924", "\"creationTime\":9223372036854775808",
		"creationTime");
	expect_rejected("\"chainwebVersion\":\"mainnet01\"", "\"chainwebVersion\":\"mainnet02\"", "mainnet02");
	expect_rejected("\"target\":\"zklwTetkWv91YxYIRmXCt6kUHpEBpiN8gwcAAAAAAAA\"", "\"target\":\"zklw\"",
		"target");
	expect_rejected("\"hash\":\"okI4V9Pez5-UPw4nys2Nk9iIPz3-n30HCag5_NQptlo\",", "", "hash: missing");
	expect_rejected("\"1\":", "\"01\":", "adjacents");
	expect_rejected("\"1\":", "\"x\":", "adjacents");
	/* a repeated key keeps its last value, as in Chainweb's JSON decoder */
	cairn_header dup;
	assert_int_equal(parse_variant(&dup, "\"1\":", "\"8\":"), CAIRN_OK);
	assert_int_equal(dup.adjacent_count, 2);
	expect_rejected("\"adjacents\":{", "\"adjacents\":{\"2\":\"OTcNZsNMA-TZ9RTlfWqegFiE0ZkBYcy3JCzh23gmm9Y\",",
		"at most 3");
	expect_rejected("\"adjacents\":{", "\"adjacents\":[],\"x\":{", "adjacents");
	/* not JSON, or JSON with trailing text */
	cairn_header h;
	json_object *obj;
	assert_int_equal(parse_header(&h, "{\"a\":"), CAIRN_EINVALID);
	assert_int_equal(cairn_json_parse(&obj, "{} x", 4), CAIRN_EINVALID);
	assert_int_equal(cairn_json_parse(&obj, "{\"a\":1} // c", 12), CAIRN_EINVALID);
	assert_int_equal(cairn_json_parse(&obj, "[-9223372036854775809]", 22), CAIRN_EINVALID);
	assert_int_equal(cairn_json_parse(&obj, "[\"18446744073709551616\"]", 24), CAIRN_OK);
	json_object_put(obj);
	/* adjacents in any key order are sorted numerically */
	assert_int_equal(parse_variant(&h, "\"1\":\"OTcNZsNMA-TZ9RTlfWqegFiE0ZkBYcy3JCzh23gmm9Y\",", ""), CAIRN_OK);
	assert_int_equal(h.adjacent_count, 2);
	assert_int_equal(parse_header(&h, sample_header), CAIRN_OK);
	cairn_header reordered;
	assert_int_equal(parse_variant(&reordered, "\"adjacents\":{\"1\":\"OTcNZsNMA-TZ9RTlfWqegFiE0ZkBYcy3JCzh23gmm9Y\","
		"\"8\":\"nznrNdU8RWatTVlS8yTaVaxk8CT1ZjR4ZWta7GAaMDk\",\"9\":\"CanRK_wW8RjyA1X9xSEQCXymsnk3VERAJtAB2abrY_M\"}",
		"\"adjacents\":{\"9\":\"CanRK_wW8RjyA1X9xSEQCXymsnk3VERAJtAB2abrY_M\","
		"\"1\":\"OTcNZsNMA-TZ9RTlfWqegFiE0ZkBYcy3JCzh23gmm9Y\",\"8\":\"nznrNdU8RWatTVlS8yTaVaxk8CT1ZjR4ZWta7GAaMDk\"}"),
		CAIRN_OK);
	assert_memory_equal(&reordered, &h, sizeof(h));
}

static void test_binary_rejections(void **state)
{
	(void)state;
	cairn_header h;
	assert_int_equal(parse_header(&h, sample_header), CAIRN_OK);
	uint8_t bin[CAIRN_HEADER_MAX_BYTES + 8];
	size_t len;
	assert_int_equal(cairn_header_encode(bin, &len, &h), CAIRN_OK);
	cairn_header out;
	for (size_t cut = 0; cut < len; cut++)
		assert_int_equal(cairn_header_decode(&out, bin, cut), CAIRN_EINVALID);
	bin[len] = 0;
	assert_int_equal(cairn_header_decode(&out, bin, len + 1), CAIRN_EINVALID);
	assert_non_null(strstr(cairn_error_last(), "trailing"));
	/* four adjacents */
	bin[48] = 4;
	assert_int_equal(cairn_header_decode(&out, bin, len), CAIRN_EINVALID);
	assert_non_null(strstr(cairn_error_last(), "adjacents"));
	bin[48] = 3;
	/* unsorted and duplicate adjacent chain ids: chains 1, 8, 9 -> 9, 8, 9 / 8, 8, 9 */
	bin[50] = 9;
	assert_int_equal(cairn_header_decode(&out, bin, len), CAIRN_EINVALID);
	assert_non_null(strstr(cairn_error_last(), "ascending"));
	bin[50] = 8;
	assert_int_equal(cairn_header_decode(&out, bin, len), CAIRN_EINVALID);
	bin[50] = 1;
	assert_int_equal(cairn_header_decode(&out, bin, len), CAIRN_OK);
	/* base64url of the wrong size or alphabet */
	assert_int_equal(cairn_header_from_base64(&out, "AAAA", 4), CAIRN_EINVALID);
	assert_int_equal(cairn_header_from_base64(&out, "!!!!", 4), CAIRN_EINVALID);
	/* a hand-built header with too many adjacents is refused, not overrun */
	h.adjacent_count = 7;
	assert_int_equal(cairn_header_encode(bin, &len, &h), CAIRN_EINVALID);
	assert_int_equal(cairn_header_compute_hash(bin, &h), CAIRN_EINVALID);
	json_object *obj;
	assert_int_equal(cairn_header_to_json(&obj, &h), CAIRN_EINVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_worked_example),
		cmocka_unit_test(test_merkle_shapes),
		cmocka_unit_test(test_sse_samples),
		cmocka_unit_test(test_other_mainnet_headers),
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_feature_flags_above_2_63),
		cmocka_unit_test(test_json_rejections),
		cmocka_unit_test(test_binary_rejections),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
