/*
 * header.c: implementation of header.h.
 *
 * The binary layout (section 2) puts the adjacent record fourth; the Merkle
 * leaves (section 4.3) put the adjacent hashes last.  Both orders are
 * written out once here, in cairn_header_encode/decode and
 * cairn_header_compute_hash.  All integers are little-endian; the only
 * big-endian values (Merkle tags) live in merkle.c.
 */
#include "chain/header.h"
#include "chain/json.h"
#include "chain/merkle.h"
#include "chain/u256.h"
#include "chain/version.h"
#include "util/base64url.h"
#include "util/error.h"

#include <stdio.h>
#include <string.h>

_Static_assert(sizeof(cairn_header) == 320, "cairn_header must have no padding");

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int bytes)
{
	uint64_t v = 0;
	for (int i = bytes - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int cairn_header_check_adjacents(const cairn_header *h)
{
	const cairn_adjacent *adj = h->adjacents;
	uint32_t count = h->adjacent_count;
	if (count > CAIRN_HEADER_MAX_ADJACENTS)
		return cairn_error_set(CAIRN_EINVALID, "adjacents: %u records, at most %d allowed",
			count, CAIRN_HEADER_MAX_ADJACENTS);
	for (uint32_t i = 1; i < count; i++)
		if (adj[i - 1].chain >= adj[i].chain)
			return cairn_error_set(CAIRN_EINVALID,
				"adjacents: chain ids not strictly ascending (%u then %u)",
				adj[i - 1].chain, adj[i].chain);
	return CAIRN_OK;
}

size_t cairn_header_binary_size(const cairn_header *h)
{
	return CAIRN_HEADER_BASE_BYTES + (size_t)h->adjacent_count * CAIRN_HEADER_ADJACENT_BYTES;
}

/* Offsets of the fields that follow the adjacent record, relative to it. */
enum {
	OFF_TARGET = 0,
	OFF_PAYLOAD = 32,
	OFF_CHAIN = 64,
	OFF_WEIGHT = 68,
	OFF_HEIGHT = 100,
	OFF_VERSION = 108,
	OFF_EPOCH = 112,
	OFF_NONCE = 120,
	OFF_HASH = 128,
	ADJ_START = 50,
};

int cairn_header_encode(uint8_t out[CAIRN_HEADER_MAX_BYTES], size_t *out_len, const cairn_header *h)
{
	int rc = cairn_header_check_adjacents(h);
	if (rc != CAIRN_OK)
		return rc;
	put_le(out, h->feature_flags, 8);
	put_le(out + 8, (uint64_t)h->creation_time_us, 8);
	memcpy(out + 16, h->parent, 32);
	put_le(out + 48, h->adjacent_count, 2);
	uint8_t *p = out + ADJ_START;
	for (uint32_t i = 0; i < h->adjacent_count; i++, p += CAIRN_HEADER_ADJACENT_BYTES) {
		put_le(p, h->adjacents[i].chain, 4);
		memcpy(p + 4, h->adjacents[i].hash, 32);
	}
	memcpy(p + OFF_TARGET, h->target, 32);
	memcpy(p + OFF_PAYLOAD, h->payload_hash, 32);
	put_le(p + OFF_CHAIN, h->chain_id, 4);
	memcpy(p + OFF_WEIGHT, h->weight, 32);
	put_le(p + OFF_HEIGHT, h->height, 8);
	put_le(p + OFF_VERSION, h->version_code, 4);
	put_le(p + OFF_EPOCH, (uint64_t)h->epoch_start_us, 8);
	put_le(p + OFF_NONCE, h->nonce, 8);
	memcpy(p + OFF_HASH, h->hash, 32);
	*out_len = cairn_header_binary_size(h);
	return CAIRN_OK;
}

int cairn_header_decode(cairn_header *out, const uint8_t *data, size_t len)
{
	if (len < ADJ_START)
		return cairn_error_set(CAIRN_EINVALID, "binary header truncated: %zu bytes", len);
	uint32_t count = (uint32_t)get_le(data + 48, 2);
	if (count > CAIRN_HEADER_MAX_ADJACENTS)
		return cairn_error_set(CAIRN_EINVALID, "binary header has %u adjacents, at most %d allowed",
			count, CAIRN_HEADER_MAX_ADJACENTS);
	size_t expected = CAIRN_HEADER_BASE_BYTES + (size_t)count * CAIRN_HEADER_ADJACENT_BYTES;
	if (len != expected)
		return cairn_error_set(CAIRN_EINVALID, "binary header %s: %zu bytes, %zu expected for %u adjacents",
			len < expected ? "truncated" : "has trailing bytes", len, expected, count);
	cairn_header h;
	memset(&h, 0, sizeof(h));
	h.feature_flags = get_le(data, 8);
	h.creation_time_us = (int64_t)get_le(data + 8, 8);
	memcpy(h.parent, data + 16, 32);
	h.adjacent_count = count;
	const uint8_t *p = data + ADJ_START;
	for (uint32_t i = 0; i < count; i++, p += CAIRN_HEADER_ADJACENT_BYTES) {
		h.adjacents[i].chain = (uint32_t)get_le(p, 4);
		memcpy(h.adjacents[i].hash, p + 4, 32);
	}
	int rc = cairn_header_check_adjacents(&h);
	if (rc != CAIRN_OK)
		return rc;
	memcpy(h.target, p + OFF_TARGET, 32);
	memcpy(h.payload_hash, p + OFF_PAYLOAD, 32);
	h.chain_id = (uint32_t)get_le(p + OFF_CHAIN, 4);
	memcpy(h.weight, p + OFF_WEIGHT, 32);
	h.height = get_le(p + OFF_HEIGHT, 8);
	h.version_code = (uint32_t)get_le(p + OFF_VERSION, 4);
	h.epoch_start_us = (int64_t)get_le(p + OFF_EPOCH, 8);
	h.nonce = get_le(p + OFF_NONCE, 8);
	memcpy(h.hash, p + OFF_HASH, 32);
	*out = h;
	return CAIRN_OK;
}

int cairn_header_to_base64(char out[CAIRN_HEADER_BASE64_MAX], const cairn_header *h)
{
	uint8_t bin[CAIRN_HEADER_MAX_BYTES];
	size_t len;
	int rc = cairn_header_encode(bin, &len, h);
	if (rc == CAIRN_OK)
		cairn_base64url_encode(out, bin, len);
	return rc;
}

int cairn_header_from_base64(cairn_header *out, const char *text, size_t len)
{
	uint8_t bin[CAIRN_HEADER_MAX_BYTES];
	size_t n;
	int rc = cairn_base64url_decode(bin, sizeof(bin), &n, text, len);
	if (rc != CAIRN_OK)
		return cairn_error_prefix(rc, "binary header");
	return cairn_header_decode(out, bin, n);
}

/* Leaf hashes of the fields that repeat from header to header are
 * remembered per thread: the version never changes, a chain's id and feature
 * flags rarely, and its target and epoch start once per epoch.  Each hit
 * saves one SHA-512/256 call of the 22 a degree-3 header costs.  The table
 * is direct-mapped and keyed by the tag and the whole input, so a slot
 * reused by another input is a miss, never a wrong hash. */
#define LEAF_MEMO_SLOTS 128

typedef struct leaf_memo {
	uint16_t tag;  /* 0, no tag, marks an empty slot */
	uint8_t len;
	uint8_t data[CAIRN_HASH_LEN];
	uint8_t hash[CAIRN_HASH_LEN];
} leaf_memo;

static _Thread_local leaf_memo leaf_memos[LEAF_MEMO_SLOTS];

static void add_repeating_input(cairn_merkle *m, uint16_t tag, const uint8_t *data, size_t len)
{
	uint32_t mix = 2166136261u ^ tag; /* FNV-1a */
	for (size_t i = 0; i < len; i++)
		mix = (mix ^ data[i]) * 16777619u;
	leaf_memo *slot = &leaf_memos[mix % LEAF_MEMO_SLOTS];
	if (slot->tag != tag || slot->len != len || memcmp(slot->data, data, len) != 0) {
		cairn_merkle_input_hash(slot->hash, tag, data, len);
		slot->tag = tag;
		slot->len = (uint8_t)len;
		memcpy(slot->data, data, len);
	}
	cairn_merkle_add_node(m, slot->hash);
}

int cairn_header_compute_hash(uint8_t out[CAIRN_HASH_LEN], const cairn_header *h)
{
	int rc = cairn_header_check_adjacents(h);
	if (rc != CAIRN_OK)
		return rc;
	uint8_t b[8];
	cairn_merkle m;
	cairn_merkle_init(&m);
	put_le(b, h->feature_flags, 8);
	add_repeating_input(&m, CAIRN_TAG_FEATURE_FLAGS, b, 8);
	put_le(b, (uint64_t)h->creation_time_us, 8);
	cairn_merkle_add_input(&m, CAIRN_TAG_BLOCK_CREATION_TIME, b, 8);
	cairn_merkle_add_node(&m, h->parent);
	add_repeating_input(&m, CAIRN_TAG_HASH_TARGET, h->target, 32);
	cairn_merkle_add_node(&m, h->payload_hash);
	put_le(b, h->chain_id, 4);
	add_repeating_input(&m, CAIRN_TAG_CHAIN_ID, b, 4);
	cairn_merkle_add_input(&m, CAIRN_TAG_BLOCK_WEIGHT, h->weight, 32);
	put_le(b, h->height, 8);
	cairn_merkle_add_input(&m, CAIRN_TAG_BLOCK_HEIGHT, b, 8);
	put_le(b, h->version_code, 4);
	add_repeating_input(&m, CAIRN_TAG_CHAINWEB_VERSION, b, 4);
	put_le(b, (uint64_t)h->epoch_start_us, 8);
	add_repeating_input(&m, CAIRN_TAG_EPOCH_START_TIME, b, 8);
	put_le(b, h->nonce, 8);
	cairn_merkle_add_input(&m, CAIRN_TAG_BLOCK_NONCE, b, 8);
	for (uint32_t i = 0; i < h->adjacent_count; i++)
		cairn_merkle_add_node(&m, h->adjacents[i].hash);
	cairn_merkle_root(out, &m);
	return CAIRN_OK;
}

int cairn_header_pow_hash(uint8_t out[CAIRN_HASH_LEN], const cairn_header *h)
{
	uint8_t bin[CAIRN_HEADER_MAX_BYTES];
	size_t len;
	int rc = cairn_header_encode(bin, &len, h);
	if (rc == CAIRN_OK)
		cairn_blake2s_256(out, bin, len - CAIRN_HASH_LEN);
	return rc;
}

bool cairn_pow_meets_target(const uint8_t pow_hash[CAIRN_HASH_LEN], const uint8_t target[CAIRN_HASH_LEN])
{
	return cairn_u256_cmp_le(pow_hash, target) <= 0;
}

static int adjacents_to_json(json_object **out, const cairn_header *h)
{
	json_object *adj = json_object_new_object();
	if (!adj)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory building JSON");
	for (uint32_t i = 0; i < h->adjacent_count; i++) {
		char key[11];
		snprintf(key, sizeof(key), "%u", h->adjacents[i].chain);
		int rc = cairn_json_add_b64(adj, key, h->adjacents[i].hash, 32);
		if (rc != CAIRN_OK) {
			json_object_put(adj);
			return rc;
		}
	}
	*out = adj;
	return CAIRN_OK;
}

int cairn_header_to_json(json_object **out, const cairn_header *h)
{
	int rc = cairn_header_check_adjacents(h);
	if (rc != CAIRN_OK)
		return rc;
	const cairn_version *v = cairn_version_by_code(h->version_code);
	if (!v)
		return cairn_error_set(CAIRN_EINVALID, "chainwebVersion: unknown version code 0x%08x",
			h->version_code);
	json_object *adj = NULL;
	if ((rc = adjacents_to_json(&adj, h)) != CAIRN_OK)
		return rc;
	json_object *o = json_object_new_object();
	if (!o) {
		json_object_put(adj);
		return cairn_error_set(CAIRN_ENOMEM, "out of memory building JSON");
	}
	char nonce[21];
	snprintf(nonce, sizeof(nonce), "%llu", (unsigned long long)h->nonce);
	/* Key order of current chainweb-node releases. */
	if ((rc = cairn_json_add(o, "nonce", json_object_new_string(nonce))) != CAIRN_OK ||
	    (rc = cairn_json_add(o, "creationTime", json_object_new_int64(h->creation_time_us))) != CAIRN_OK ||
	    (rc = cairn_json_add_b64(o, "parent", h->parent, 32)) != CAIRN_OK ||
	    (rc = cairn_json_add(o, "adjacents", adj)) != CAIRN_OK ||
	    (rc = cairn_json_add_b64(o, "target", h->target, 32)) != CAIRN_OK ||
	    (rc = cairn_json_add_b64(o, "payloadHash", h->payload_hash, 32)) != CAIRN_OK ||
	    (rc = cairn_json_add(o, "chainId", json_object_new_int64(h->chain_id))) != CAIRN_OK ||
	    (rc = cairn_json_add_b64(o, "weight", h->weight, 32)) != CAIRN_OK ||
	    (rc = cairn_json_add(o, "height", json_object_new_uint64(h->height))) != CAIRN_OK ||
	    (rc = cairn_json_add(o, "chainwebVersion", json_object_new_string(v->name))) != CAIRN_OK ||
	    (rc = cairn_json_add(o, "epochStart", json_object_new_int64(h->epoch_start_us))) != CAIRN_OK ||
	    (rc = cairn_json_add(o, "featureFlags", json_object_new_uint64(h->feature_flags))) != CAIRN_OK ||
	    (rc = cairn_json_add_b64(o, "hash", h->hash, 32)) != CAIRN_OK) {
		json_object_put(o);
		return rc;
	}
	*out = o;
	return CAIRN_OK;
}

static int adjacents_from_json(cairn_header *h, json_object *obj)
{
	json_object *adj = NULL;
	int rc = cairn_json_member(&adj, obj, "adjacents");
	if (rc != CAIRN_OK)
		return rc;
	if (!json_object_is_type(adj, json_type_object))
		return cairn_error_set(CAIRN_EINVALID, "adjacents: expected an object");
	if (json_object_object_length(adj) > CAIRN_HEADER_MAX_ADJACENTS)
		return cairn_error_set(CAIRN_EINVALID, "adjacents: %d entries, at most %d allowed",
			json_object_object_length(adj), CAIRN_HEADER_MAX_ADJACENTS);
	uint32_t n = 0;
	json_object_object_foreach(adj, key, value) {
		(void)value;
		uint64_t chain;
		if (cairn_json_parse_decimal(&chain, key, strlen(key), UINT32_MAX) != CAIRN_OK)
			return cairn_error_prefix(CAIRN_EINVALID, "adjacents: key");
		uint32_t at = n++;
		while (at > 0 && h->adjacents[at - 1].chain > chain) {
			h->adjacents[at] = h->adjacents[at - 1];
			at--;
		}
		if (at > 0 && h->adjacents[at - 1].chain == chain)
			return cairn_error_set(CAIRN_EINVALID, "adjacents: chain %llu appears twice",
				(unsigned long long)chain);
		h->adjacents[at].chain = (uint32_t)chain;
		if ((rc = cairn_json_get_b64_exact(h->adjacents[at].hash, 32, adj, key)) != CAIRN_OK)
			return cairn_error_prefix(rc, "adjacents");
	}
	h->adjacent_count = n;
	return CAIRN_OK;
}

static int nonce_from_json(uint64_t *out, json_object *obj)
{
	const char *s;
	size_t len;
	int rc = cairn_json_get_string(&s, &len, obj, "nonce");
	if (rc == CAIRN_OK && (rc = cairn_json_parse_decimal(out, s, len, UINT64_MAX)) != CAIRN_OK)
		return cairn_error_prefix(rc, "nonce");
	return rc;
}

static int version_from_json(uint32_t *out, json_object *obj)
{
	const char *name;
	size_t len;
	int rc = cairn_json_get_string(&name, &len, obj, "chainwebVersion");
	if (rc != CAIRN_OK)
		return rc;
	const cairn_version *v = strlen(name) == len ? cairn_version_by_name(name) : NULL;
	if (!v)
		return cairn_error_set(CAIRN_EINVALID, "chainwebVersion: unknown version '%.40s'", name);
	*out = v->code;
	return CAIRN_OK;
}

int cairn_header_from_json(cairn_header *out, json_object *obj)
{
	cairn_header h;
	memset(&h, 0, sizeof(h));
	int rc;
	if ((rc = cairn_json_get_u64(&h.feature_flags, obj, "featureFlags")) != CAIRN_OK ||
	    (rc = cairn_json_get_i64(&h.creation_time_us, obj, "creationTime")) != CAIRN_OK ||
	    (rc = cairn_json_get_b64_exact(h.parent, 32, obj, "parent")) != CAIRN_OK ||
	    (rc = adjacents_from_json(&h, obj)) != CAIRN_OK ||
	    (rc = cairn_json_get_b64_exact(h.target, 32, obj, "target")) != CAIRN_OK ||
	    (rc = cairn_json_get_b64_exact(h.payload_hash, 32, obj, "payloadHash")) != CAIRN_OK ||
	    (rc = cairn_json_get_u32(&h.chain_id, obj, "chainId")) != CAIRN_OK ||
	    (rc = cairn_json_get_b64_exact(h.weight, 32, obj, "weight")) != CAIRN_OK ||
	    (rc = cairn_json_get_u64(&h.height, obj, "height")) != CAIRN_OK ||
	    (rc = version_from_json(&h.version_code, obj)) != CAIRN_OK ||
	    (rc = cairn_json_get_i64(&h.epoch_start_us, obj, "epochStart")) != CAIRN_OK ||
	    (rc = nonce_from_json(&h.nonce, obj)) != CAIRN_OK ||
	    (rc = cairn_json_get_b64_exact(h.hash, 32, obj, "hash")) != CAIRN_OK)
		return rc;
	*out = h;
	return CAIRN_OK;
}
