/*
 * genesis.c: implementation of genesis.h.
 */
#include "chain/genesis.h"
#include "chain/merkle.h"
#include "util/base64url.h"
#include "util/error.h"
#include "util/hex.h"

#include <stdio.h>
#include <string.h>

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void cairn_genesis_parent(uint8_t out[CAIRN_HASH_LEN], uint32_t version_code, uint32_t chain)
{
	static const char magic[] = "CHAINWEB_GENESIS";
	uint8_t code[4], cid[4], node[CAIRN_HASH_LEN];
	put_le32(code, version_code);
	put_le32(cid, chain);
	cairn_merkle m;
	cairn_merkle_init(&m);
	cairn_merkle_untagged_hash(node, magic, sizeof(magic) - 1);
	cairn_merkle_add_node(&m, node);
	cairn_merkle_untagged_hash(node, code, 4);
	cairn_merkle_add_node(&m, node);
	cairn_merkle_untagged_hash(node, cid, 4);
	cairn_merkle_add_node(&m, node);
	cairn_merkle_root(out, &m);
}

static int local_payload(cairn_payload *out, const cairn_version *v, uint32_t chain)
{
	static const char miner[] = "{\"account\":\"NoMiner\",\"predicate\":\"<\",\"public-keys\":[]}";
	uint8_t parent[CAIRN_HASH_LEN];
	char key[44], coinbase[256];
	cairn_genesis_parent(parent, v->code, chain);
	cairn_base64url_encode(key, parent, CAIRN_HASH_LEN);
	int n = snprintf(coinbase, sizeof(coinbase),
		"{\"gas\":0,\"result\":{\"status\":\"success\",\"data\":\"NO_COINBASE\"},\"reqKey\":\"%s\","
		"\"logs\":null,\"metaData\":null,\"continuation\":null,\"txId\":null}", key);
	const cairn_slice miner_data = {(const uint8_t *)miner, sizeof(miner) - 1};
	const cairn_slice coinbase_data = {(const uint8_t *)coinbase, (size_t)n};
	return cairn_payload_create(out, miner_data, coinbase_data, 0, NULL, NULL);
}

int cairn_genesis_payload(cairn_payload *out, const cairn_version *v, uint32_t chain)
{
	const cairn_genesis_spec *spec;
	uint64_t height;
	int rc;
	if ((rc = cairn_version_genesis_height(&height, v, chain)) != CAIRN_OK ||
	    (rc = cairn_version_genesis_spec(&spec, v, chain)) != CAIRN_OK)
		return rc;
	if (spec->payload_hash)
		return cairn_error_set(CAIRN_ENOTFOUND, "the genesis payload of %s is not built in", v->name);
	return local_payload(out, v, chain);
}

static int genesis_payload_hash(uint8_t out[CAIRN_HASH_LEN], const cairn_version *v, uint32_t chain,
	const cairn_genesis_spec *spec)
{
	if (spec->payload_hash)
		return cairn_base64url_decode_exact(out, CAIRN_HASH_LEN, spec->payload_hash,
			strlen(spec->payload_hash));
	cairn_payload p;
	int rc = local_payload(&p, v, chain);
	if (rc == CAIRN_OK)
		memcpy(out, p.hashes.payload, CAIRN_HASH_LEN);
	cairn_payload_free(&p);
	return rc;
}

int cairn_genesis_header(cairn_header *out, const cairn_version *v, uint32_t chain)
{
	const cairn_genesis_spec *spec;
	cairn_header h;
	memset(&h, 0, sizeof(h));
	int rc;
	if ((rc = cairn_version_genesis_height(&h.height, v, chain)) != CAIRN_OK ||
	    (rc = cairn_version_genesis_spec(&spec, v, chain)) != CAIRN_OK ||
	    (rc = cairn_hex_decode_reversed(h.target, CAIRN_HASH_LEN, spec->target, strlen(spec->target))) != CAIRN_OK ||
	    (rc = genesis_payload_hash(h.payload_hash, v, chain, spec)) != CAIRN_OK)
		return rc;
	const cairn_graph *g = cairn_version_graph_at(v, h.height);
	h.chain_id = chain;
	h.version_code = v->code;
	h.creation_time_us = v->genesis_time_us;
	h.epoch_start_us = v->genesis_time_us;
	cairn_genesis_parent(h.parent, v->code, chain);
	h.adjacent_count = g->degree;
	for (uint32_t i = 0; i < g->degree; i++) {
		h.adjacents[i].chain = cairn_graph_adjacents(g, chain)[i];
		cairn_genesis_parent(h.adjacents[i].hash, v->code, h.adjacents[i].chain);
	}
	if ((rc = cairn_header_compute_hash(h.hash, &h)) != CAIRN_OK)
		return rc;
	*out = h;
	return CAIRN_OK;
}
