/* Unit tests for chain/payload: the hashes of real payloads (the mainnet01
 * genesis payload of chains 10-19, six transactions, and the two block
 * payloads of the SSE samples), JSON and binary round trips, and rejection
 * of malformed binary and JSON input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/json.h"
#include "chain/payload.h"
#include "util/base64url.h"
#include "util/error.h"

#include "fixtures.h"

static void load_genesis_payload(cairn_payload *p)
{
	size_t len;
	char *text = read_fixture(&len, "mainnet01-genesis-payload-10.json");
	assert_non_null(text);
	json_object *obj;
	assert_int_equal(cairn_json_parse(&obj, text, len), CAIRN_OK);
	assert_int_equal(cairn_payload_from_json(p, obj), CAIRN_OK);
	json_object_put(obj);
	free(text);
}

static void assert_b64(const uint8_t hash[CAIRN_HASH_LEN], const char *expected)
{
	char text[44];
	cairn_base64url_encode(text, hash, CAIRN_HASH_LEN);
	assert_string_equal(text, expected);
}

static void test_genesis_payload_hashes(void **state)
{
	(void)state;
	cairn_payload p;
	load_genesis_payload(&p);
	assert_int_equal(p.tx_count, 6);
	cairn_payload_hashes h;
	cairn_payload_compute_hashes(&h, &p);
	/* the payload hash of chains 10-19 in chainweb-format.md section 7 */
	assert_b64(h.payload, "i-MN4AoxsaPds4M_MzwNSUygAkGnPZoCDvahfckowt4");
	assert_memory_equal(h.transactions, p.hashes.transactions, CAIRN_HASH_LEN);
	assert_memory_equal(h.outputs, p.hashes.outputs, CAIRN_HASH_LEN);
	uint8_t header_hash[CAIRN_HASH_LEN];
	memcpy(header_hash, h.payload, CAIRN_HASH_LEN);
	assert_int_equal(cairn_payload_verify(&p, header_hash), CAIRN_OK);
	header_hash[0] ^= 1;
	assert_int_equal(cairn_payload_verify(&p, header_hash), CAIRN_EINVALID);
	assert_non_null(strstr(cairn_error_last(), "header payloadHash"));
	cairn_payload_free(&p);
}

static void test_changed_transaction_changes_hashes(void **state)
{
	(void)state;
	cairn_payload p;
	load_genesis_payload(&p);
	((uint8_t *)p.transactions[3].data)[10] ^= 1;
	assert_int_equal(cairn_payload_verify(&p, NULL), CAIRN_EINVALID);
	assert_non_null(strstr(cairn_error_last(), "transactionsHash"));
	((uint8_t *)p.transactions[3].data)[10] ^= 1;
	((uint8_t *)p.outputs[5].data)[0] ^= 1;
	assert_int_equal(cairn_payload_verify(&p, NULL), CAIRN_EINVALID);
	assert_non_null(strstr(cairn_error_last(), "outputsHash"));
	cairn_payload_free(&p);
}

static void test_binary_round_trip(void **state)
{
	(void)state;
	cairn_payload p, q;
	load_genesis_payload(&p);
	uint8_t *bin, *again;
	size_t len, len2;
	assert_int_equal(cairn_payload_encode(&bin, &len, &p), CAIRN_OK);
	assert_int_equal(cairn_payload_decode(&q, bin, len), CAIRN_OK);
	assert_int_equal(q.tx_count, p.tx_count);
	for (size_t i = 0; i < p.tx_count; i++) {
		assert_int_equal(q.transactions[i].len, p.transactions[i].len);
		assert_memory_equal(q.transactions[i].data, p.transactions[i].data, p.transactions[i].len);
		assert_memory_equal(q.outputs[i].data, p.outputs[i].data, p.outputs[i].len);
	}
	assert_memory_equal(&q.hashes, &p.hashes, sizeof(p.hashes));
	assert_int_equal(cairn_payload_verify(&q, NULL), CAIRN_OK);
	assert_int_equal(cairn_payload_encode(&again, &len2, &q), CAIRN_OK);
	assert_int_equal(len2, len);
	assert_memory_equal(again, bin, len);
	cairn_payload_free(&q);
	/* every truncation and one trailing byte are rejected */
	for (size_t cut = 0; cut < len; cut += 97)
		assert_int_equal(cairn_payload_decode(&q, bin, cut), CAIRN_EINVALID);
	assert_int_equal(cairn_payload_decode(&q, bin, len - 1), CAIRN_EINVALID);
	uint8_t *longer = malloc(len + 1);
	memcpy(longer, bin, len);
	longer[len] = 0;
	assert_int_equal(cairn_payload_decode(&q, longer, len + 1), CAIRN_EINVALID);
	/* a length field pointing past the end */
	bin[8] = 0x7f;
	assert_int_equal(cairn_payload_decode(&q, bin, len), CAIRN_EINVALID);
	/* a transaction count that cannot fit */
	memset(bin, 0xff, 8);
	assert_int_equal(cairn_payload_decode(&q, bin, len), CAIRN_EINVALID);
	free(longer);
	free(bin);
	free(again);
	cairn_payload_free(&p);
}

static void test_json_round_trip_and_create(void **state)
{
	(void)state;
	cairn_payload p, q;
	load_genesis_payload(&p);
	json_object *obj;
	assert_int_equal(cairn_payload_to_json(&obj, &p), CAIRN_OK);
	size_t len;
	char *text = read_fixture(&len, "mainnet01-genesis-payload-10.json");
	assert_non_null(text);
	assert_int_equal(strlen(cairn_json_text(obj)) + 1, len);
	assert_memory_equal(cairn_json_text(obj), text, len - 1);
	json_object_put(obj);
	free(text);

	assert_int_equal(cairn_payload_create(&q, p.miner_data, p.coinbase, p.tx_count, p.transactions, p.outputs),
		CAIRN_OK);
	assert_memory_equal(&q.hashes, &p.hashes, sizeof(p.hashes));
	cairn_payload_free(&q);
	cairn_payload_free(&p);
	cairn_payload_free(&p); /* freeing twice is harmless after re-initialisation */
}

static void test_empty_payload(void **state)
{
	(void)state;
	cairn_payload p;
	const cairn_slice none = {NULL, 0};
	assert_int_equal(cairn_payload_create(&p, none, none, 0, NULL, NULL), CAIRN_OK);
	uint8_t *bin;
	size_t len;
	assert_int_equal(cairn_payload_encode(&bin, &len, &p), CAIRN_OK);
	assert_int_equal(len, 8 + 16 + 96);
	cairn_payload q;
	assert_int_equal(cairn_payload_decode(&q, bin, len), CAIRN_OK);
	assert_int_equal(cairn_payload_verify(&q, p.hashes.payload), CAIRN_OK);
	free(bin);
	cairn_payload_free(&p);
	cairn_payload_free(&q);
}

static void check_bad_json(const char *text, const char *needle)
{
	json_object *obj;
	cairn_payload p;
	assert_int_equal(cairn_json_parse(&obj, text, strlen(text)), CAIRN_OK);
	assert_int_equal(cairn_payload_from_json(&p, obj), CAIRN_EINVALID);
	if (!strstr(cairn_error_last(), needle))
		fail_msg("'%s' lacks '%s'", cairn_error_last(), needle);
	json_object_put(obj);
}

static void test_malformed_json(void **state)
{
	(void)state;
	const char *h = "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"";
	char text[1024];
	check_bad_json("{}", "transactions");
	snprintf(text, sizeof(text),
		"{\"transactions\":[[\"QQ\"]],\"minerData\":\"\",\"coinbase\":\"\",\"transactionsHash\":%s,"
		"\"outputsHash\":%s,\"payloadHash\":%s}", h, h, h);
	check_bad_json(text, "transactions[0]");
	snprintf(text, sizeof(text),
		"{\"transactions\":[[\"QQ\",\"Q\"]],\"minerData\":\"\",\"coinbase\":\"\",\"transactionsHash\":%s,"
		"\"outputsHash\":%s,\"payloadHash\":%s}", h, h, h);
	check_bad_json(text, "transactions[0][1]");
	snprintf(text, sizeof(text),
		"{\"transactions\":[],\"minerData\":\"!!\",\"coinbase\":\"\",\"transactionsHash\":%s,"
		"\"outputsHash\":%s,\"payloadHash\":%s}", h, h, h);
	check_bad_json(text, "minerData");
	snprintf(text, sizeof(text),
		"{\"transactions\":[],\"minerData\":\"\",\"coinbase\":\"\",\"transactionsHash\":%s,"
		"\"outputsHash\":\"QQ\",\"payloadHash\":%s}", h, h);
	check_bad_json(text, "outputsHash");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_genesis_payload_hashes),
		cmocka_unit_test(test_changed_transaction_changes_hashes),
		cmocka_unit_test(test_binary_round_trip),
		cmocka_unit_test(test_json_round_trip_and_create),
		cmocka_unit_test(test_empty_payload),
		cmocka_unit_test(test_malformed_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
