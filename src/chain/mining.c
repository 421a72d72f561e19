/*
 * mining.c: implementation of mining.h.
 *
 * The nonce is the last eight bytes of the work bytes (the binary header
 * without its hash), so the search encodes the header once and rewrites only
 * those bytes between BLAKE2s attempts.
 */
#include "chain/mining.h"
#include "chain/difficulty.h"
#include "chain/forkstate.h"
#include "chain/version.h"
#include "util/error.h"

#include <string.h>

static const cairn_header *find_chain(const cairn_header *const *headers, size_t n, uint32_t chain)
{
	for (size_t i = 0; i < n; i++)
		if (headers[i]->chain_id == chain)
			return headers[i];
	return NULL;
}

static int set_adjacents(cairn_header *child, int64_t *latest, const cairn_graph *g,
	const cairn_header *const *adjacent, size_t n)
{
	const uint8_t *neighbours = cairn_graph_adjacents(g, child->chain_id);
	child->adjacent_count = g->degree;
	for (uint32_t i = 0; i < g->degree; i++) {
		const cairn_header *a = find_chain(adjacent, n, neighbours[i]);
		if (!a)
			return cairn_error_set(CAIRN_EINVALID, "no adjacent parent on chain %u for chain %u",
				neighbours[i], child->chain_id);
		if (a->version_code != child->version_code)
			return cairn_error_set(CAIRN_EINVALID, "adjacent parent on chain %u has another version",
				neighbours[i]);
		child->adjacents[i].chain = neighbours[i];
		memcpy(child->adjacents[i].hash, a->hash, CAIRN_HASH_LEN);
		if (a->creation_time_us > *latest)
			*latest = a->creation_time_us;
	}
	return CAIRN_OK;
}

int cairn_mining_make_child(cairn_header *out, const cairn_header *parent,
	const cairn_header *const *adjacent_parents, size_t n_adjacent,
	const uint8_t payload_hash[CAIRN_HASH_LEN], int64_t creation_time_us)
{
	const cairn_version *v = cairn_version_by_code(parent->version_code);
	if (!v)
		return cairn_error_set(CAIRN_EINVALID, "parent has unknown version code 0x%08x", parent->version_code);
	const cairn_graph *g = cairn_version_graph_at(v, parent->height);
	if (!cairn_graph_has_chain(g, parent->chain_id))
		return cairn_error_set(CAIRN_EINVALID, "chain %u is not in the graph at height %llu",
			parent->chain_id, (unsigned long long)parent->height);
	cairn_header c;
	memset(&c, 0, sizeof(c));
	c.chain_id = parent->chain_id;
	c.version_code = parent->version_code;
	c.height = parent->height + 1;
	memcpy(c.parent, parent->hash, CAIRN_HASH_LEN);
	memcpy(c.payload_hash, payload_hash, CAIRN_HASH_LEN);
	int64_t latest = parent->creation_time_us;
	int rc = set_adjacents(&c, &latest, g, adjacent_parents, n_adjacent);
	if (rc != CAIRN_OK)
		return rc;
	c.creation_time_us = creation_time_us > latest ? creation_time_us : latest + 1;
	if ((rc = cairn_da_next(c.target, &c.epoch_start_us, v, parent, adjacent_parents, n_adjacent,
		     c.creation_time_us)) != CAIRN_OK ||
	    (rc = cairn_weight_next(c.weight, parent->weight, c.target)) != CAIRN_OK)
		return rc;
	c.feature_flags = cairn_fork_state_next(v, parent, adjacent_parents, n_adjacent);
	*out = c;
	return CAIRN_OK;
}

int cairn_mining_solve(cairn_header *h, uint64_t max_attempts, uint64_t *attempts)
{
	uint8_t work[CAIRN_HEADER_MAX_BYTES], pow[CAIRN_HASH_LEN];
	size_t len;
	int rc = cairn_header_encode(work, &len, h);
	if (rc != CAIRN_OK)
		return rc;
	size_t work_len = len - CAIRN_HASH_LEN, nonce_at = work_len - 8;
	uint64_t nonce = h->nonce;
	for (uint64_t i = 0; i < max_attempts; i++, nonce++) {
		for (int b = 0; b < 8; b++)
			work[nonce_at + (size_t)b] = (uint8_t)(nonce >> (8 * b));
		cairn_blake2s_256(pow, work, work_len);
		if (cairn_pow_meets_target(pow, h->target)) {
			if (attempts)
				*attempts = i + 1;
			h->nonce = nonce;
			return cairn_header_compute_hash(h->hash, h);
		}
	}
	if (attempts)
		*attempts = max_attempts;
	return cairn_error_set(CAIRN_ENOTFOUND, "no nonce in %llu attempts meets the target",
		(unsigned long long)max_attempts);
}
