/*
 * cut.c: GET /cut, the node's current cut as Chainweb's CutHashes object
 * (chainweb-format.md section 10.4):
 *
 *   {"hashes":{"0":{"height":H,"hash":"<b64>"},...},"origin":null,
 *    "weight":"<b64 of the 32-byte LE sum of the weights>",
 *    "height":<sum of the heights>,"instance":"<version>","id":"<b64>"}
 *
 * The cut is one copy taken at one instant (cairn_node_get_cut), so the
 * object is consistent: every hash, height and weight belongs to the same
 * cut, and only durable blocks appear.  Chains without a block yet are
 * omitted.  `id` is the SHA-512/256 of the block hashes concatenated in
 * chain order (chainweb-node hashes them in its map's order; clients treat
 * it as opaque).  `origin` is null on the service API.  Query arguments,
 * including chainweb's ?maxheight, are ignored.
 */
#include "api/api.h"
#include "chain/digest.h"
#include "chain/json.h"
#include "chain/u256.h"

#include <json-c/json.h>
#include <stdio.h>

static json_object *chain_entry(uint64_t height, const uint8_t hash[CAIRN_HASH_LEN])
{
	json_object *entry = json_object_new_object();
	json_object_object_add(entry, "height", json_object_new_uint64(height));
	cairn_json_add_b64(entry, "hash", hash, CAIRN_HASH_LEN);
	return entry;
}

static json_object *cut_json(const cairn_node_cut *cut, const char *instance)
{
	json_object *hashes = json_object_new_object();
	cairn_u256 weight, w;
	cairn_u256_from_u64(&weight, 0);
	uint64_t height = 0;
	cairn_slice parts[CAIRN_GRAPH_MAX_ORDER];
	size_t n = 0;
	for (uint32_t chain = 0; chain < CAIRN_GRAPH_MAX_ORDER; chain++) {
		if (!cut->present[chain])
			continue;
		char key[16];
		snprintf(key, sizeof(key), "%u", chain);
		json_object_object_add(hashes, key, chain_entry(cut->height[chain], cut->hash[chain]));
		cairn_u256_from_le(&w, cut->weight[chain]);
		cairn_u256_add(&weight, &weight, &w);
		height += cut->height[chain];
		parts[n++] = (cairn_slice){cut->hash[chain], CAIRN_HASH_LEN};
	}
	uint8_t weight_le[CAIRN_HASH_LEN], id[CAIRN_HASH_LEN];
	cairn_u256_to_le(weight_le, &weight);
	cairn_sha512_256(id, parts, n);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "hashes", hashes);
	json_object_object_add(o, "origin", NULL);
	cairn_json_add_b64(o, "weight", weight_le, CAIRN_HASH_LEN);
	json_object_object_add(o, "height", json_object_new_uint64(height));
	json_object_object_add(o, "instance", json_object_new_string(instance));
	cairn_json_add_b64(o, "id", id, CAIRN_HASH_LEN);
	return o;
}

static void get_cut(cairn_http_response *res, const cairn_http_request *req, void *ctx)
{
	(void)req;
	cairn_node *node = ctx;
	cairn_node_cut cut;
	cairn_node_get_cut(&cut, node);
	cairn_api_respond_json(res, 200, cut_json(&cut, cairn_node_version(node)->name));
}

int cairn_api_cut_register(cairn_http_router *router, cairn_node *node)
{
	return cairn_http_router_add(router, CAIRN_HTTP_GET, "/cut", get_cut, node);
}
