/*
 * validate.c: implementation of validate.h.
 *
 * Each check returns through one of the mismatch_* helpers, which format
 * "FIELD: expected X, found Y" and record the field; the first failing check
 * ends validation.  Cheap field checks run before the two hashes, so a
 * header with a wrong field reports that field rather than only "hash".
 */
#include "chain/validate.h"
#include "chain/difficulty.h"
#include "chain/forkstate.h"
#include "chain/genesis.h"
#include "chain/version.h"
#include "util/error.h"
#include "util/hex.h"

#include <stdio.h>
#include <string.h>

static int fail(const char **bad_field, const char *field)
{
	if (bad_field)
		*bad_field = field;
	return CAIRN_EINVALID;
}

static int mismatch_u64(const char **bad, const char *field, uint64_t expected, uint64_t found)
{
	cairn_error_set(CAIRN_EINVALID, "%s: expected %llu, found %llu", field,
		(unsigned long long)expected, (unsigned long long)found);
	return fail(bad, field);
}

static int mismatch_i64(const char **bad, const char *field, int64_t expected, int64_t found)
{
	cairn_error_set(CAIRN_EINVALID, "%s: expected %lld, found %lld", field, (long long)expected,
		(long long)found);
	return fail(bad, field);
}

/* Compares 32-byte values (shown in base64url, the way JSON shows them). */
static int check_bytes(const char **bad, const char *field, const uint8_t expected[CAIRN_HASH_LEN],
	const uint8_t found[CAIRN_HASH_LEN])
{
	return cairn_hash_expect(field, expected, found) == CAIRN_OK ? CAIRN_OK : fail(bad, field);
}

static int check_adjacent_chains(const char **bad, const cairn_header *h, const cairn_graph *g)
{
	const uint8_t *expected = cairn_graph_adjacents(g, h->chain_id);
	bool same = h->adjacent_count == g->degree;
	for (uint32_t i = 0; same && i < g->degree; i++)
		same = h->adjacents[i].chain == expected[i];
	if (same)
		return CAIRN_OK;
	char want[48] = "", got[48] = ""; /* room for three 32-bit chain ids */
	for (uint32_t i = 0, n = 0; i < g->degree; i++)
		n += (uint32_t)snprintf(want + n, sizeof(want) - n, i ? ",%u" : "%u", expected[i]);
	for (uint32_t i = 0, n = 0; i < h->adjacent_count; i++)
		n += (uint32_t)snprintf(got + n, sizeof(got) - n, i ? ",%u" : "%u", h->adjacents[i].chain);
	cairn_error_set(CAIRN_EINVALID, "adjacents: expected chains [%s] (%s graph), found [%s]", want,
		g->name, got);
	return fail(bad, "adjacents");
}

static int check_genesis(const char **bad, const cairn_version *v, const cairn_header *h)
{
	cairn_header g;
	int rc = cairn_genesis_header(&g, v, h->chain_id);
	if (rc != CAIRN_OK)
		return fail(bad, "chainId");
	if ((rc = check_bytes(bad, "parent", g.parent, h->parent)) != CAIRN_OK ||
	    (rc = check_adjacent_chains(bad, h, cairn_version_graph_at(v, h->height))) != CAIRN_OK)
		return rc;
	for (uint32_t i = 0; i < g.adjacent_count; i++)
		if ((rc = check_bytes(bad, "adjacents", g.adjacents[i].hash, h->adjacents[i].hash)) != CAIRN_OK)
			return rc;
	if ((rc = check_bytes(bad, "target", g.target, h->target)) != CAIRN_OK ||
	    (rc = check_bytes(bad, "payloadHash", g.payload_hash, h->payload_hash)) != CAIRN_OK ||
	    (rc = check_bytes(bad, "weight", g.weight, h->weight)) != CAIRN_OK)
		return rc;
	if (h->creation_time_us != g.creation_time_us)
		return mismatch_i64(bad, "creationTime", g.creation_time_us, h->creation_time_us);
	if (h->epoch_start_us != g.epoch_start_us)
		return mismatch_i64(bad, "epochStart", g.epoch_start_us, h->epoch_start_us);
	if (h->feature_flags != g.feature_flags)
		return mismatch_u64(bad, "featureFlags", g.feature_flags, h->feature_flags);
	if (h->nonce != g.nonce)
		return mismatch_u64(bad, "nonce", g.nonce, h->nonce);
	return check_bytes(bad, "hash", g.hash, h->hash);
}

/* The parent-chain checks: chain id, version, height, parent hash. */
static int check_parent(const char **bad, const cairn_header *h, const cairn_header *parent)
{
	if (!parent) {
		cairn_error_set(CAIRN_EINVALID, "parent: header at height %llu needs its parent",
			(unsigned long long)h->height);
		return fail(bad, "parent");
	}
	if (parent->chain_id != h->chain_id)
		return mismatch_u64(bad, "chainId", parent->chain_id, h->chain_id);
	if (parent->version_code != h->version_code)
		return mismatch_u64(bad, "chainwebVersion", parent->version_code, h->version_code);
	if (h->height != parent->height + 1)
		return mismatch_u64(bad, "height", parent->height + 1, h->height);
	return check_bytes(bad, "parent", parent->hash, h->parent);
}

/* Each adjacent hash names one of the given adjacent parents, one per
 * neighbour, all of the same version. */
static int check_adjacent_parents(const char **bad, const cairn_header *h,
	const cairn_header *const *adjacent, size_t n)
{
	if (n != h->adjacent_count) {
		cairn_error_set(CAIRN_EINVALID, "adjacents: %zu adjacent parents given for %u adjacents", n,
			h->adjacent_count);
		return fail(bad, "adjacents");
	}
	for (uint32_t i = 0; i < h->adjacent_count; i++) {
		const cairn_header *a = NULL;
		for (size_t k = 0; k < n && !a; k++)
			if (adjacent[k]->chain_id == h->adjacents[i].chain)
				a = adjacent[k];
		if (!a) {
			cairn_error_set(CAIRN_EINVALID, "adjacents: no adjacent parent given for chain %u",
				h->adjacents[i].chain);
			return fail(bad, "adjacents");
		}
		int rc = check_bytes(bad, "adjacents", a->hash, h->adjacents[i].hash);
		if (rc != CAIRN_OK)
			return rc;
		if (a->version_code != h->version_code)
			return mismatch_u64(bad, "chainwebVersion", h->version_code, a->version_code);
	}
	return CAIRN_OK;
}

static int check_creation_time(const char **bad, const cairn_version *v, const cairn_header *h,
	const cairn_header *parent, const cairn_header *const *adjacent, size_t n)
{
	int64_t latest = parent->creation_time_us;
	if (h->height >= v->old_da_fork)
		for (size_t i = 0; i < n; i++)
			if (adjacent[i]->creation_time_us > latest)
				latest = adjacent[i]->creation_time_us;
	if (h->creation_time_us > latest)
		return CAIRN_OK;
	cairn_error_set(CAIRN_EINVALID, "creationTime: expected after %lld, found %lld", (long long)latest,
		(long long)h->creation_time_us);
	return fail(bad, "creationTime");
}

static int check_difficulty(const char **bad, const cairn_version *v, const cairn_header *h,
	const cairn_header *parent, const cairn_header *const *adjacent, size_t n)
{
	uint8_t target[CAIRN_HASH_LEN], weight[CAIRN_HASH_LEN];
	int64_t epoch_start;
	int rc = cairn_da_next(target, &epoch_start, v, parent, adjacent, n, h->creation_time_us);
	if (rc != CAIRN_OK)
		return fail(bad, "target");
	if ((rc = check_bytes(bad, "target", target, h->target)) != CAIRN_OK)
		return rc;
	bool legacy = h->height < v->old_da_fork;
	if (h->epoch_start_us != epoch_start || h->epoch_start_us > h->creation_time_us ||
	    (legacy && h->epoch_start_us < parent->epoch_start_us))
		return mismatch_i64(bad, "epochStart", epoch_start, h->epoch_start_us);
	if (cairn_weight_next(weight, parent->weight, h->target) != CAIRN_OK)
		return fail(bad, "target");
	return check_bytes(bad, "weight", weight, h->weight);
}

static int check_hashes(const char **bad, const cairn_header *h)
{
	uint8_t hash[CAIRN_HASH_LEN], pow[CAIRN_HASH_LEN];
	/* Neither can fail: the adjacents were checked on entry. */
	cairn_header_compute_hash(hash, h);
	cairn_header_pow_hash(pow, h);
	int rc = check_bytes(bad, "hash", hash, h->hash);
	if (rc != CAIRN_OK)
		return rc;
	if (cairn_pow_meets_target(pow, h->target))
		return CAIRN_OK;
	char p[65], t[65];
	cairn_hex_encode_reversed(p, pow, CAIRN_HASH_LEN);
	cairn_hex_encode_reversed(t, h->target, CAIRN_HASH_LEN);
	cairn_error_set(CAIRN_EINVALID, "powHash: %s exceeds the target %s", p, t);
	return fail(bad, "powHash");
}

int cairn_header_validate(const char **bad_field, const cairn_header *h, const cairn_header *parent,
	const cairn_header *const *adjacent_parents, size_t n_adjacent)
{
	const cairn_version *v = cairn_version_by_code(h->version_code);
	uint64_t genesis_height;
	if (!v) {
		cairn_error_set(CAIRN_EINVALID, "chainwebVersion: unknown version code 0x%08x", h->version_code);
		return fail(bad_field, "chainwebVersion");
	}
	if (cairn_header_check_adjacents(h) != CAIRN_OK)
		return fail(bad_field, "adjacents");
	if (cairn_version_genesis_height(&genesis_height, v, h->chain_id) != CAIRN_OK)
		return fail(bad_field, "chainId");
	if (h->height == genesis_height)
		return check_genesis(bad_field, v, h);
	int rc;
	if ((rc = check_parent(bad_field, h, parent)) != CAIRN_OK)
		return rc;
	const cairn_graph *g = cairn_version_graph_at(v, parent->height);
	if (!cairn_graph_has_chain(g, h->chain_id)) {
		cairn_error_set(CAIRN_EINVALID, "chainId: chain %u is not in the %s graph at height %llu",
			h->chain_id, g->name, (unsigned long long)parent->height);
		return fail(bad_field, "chainId");
	}
	if ((rc = check_adjacent_chains(bad_field, h, g)) != CAIRN_OK ||
	    (rc = check_adjacent_parents(bad_field, h, adjacent_parents, n_adjacent)) != CAIRN_OK ||
	    (rc = check_creation_time(bad_field, v, h, parent, adjacent_parents, n_adjacent)) != CAIRN_OK ||
	    (rc = check_difficulty(bad_field, v, h, parent, adjacent_parents, n_adjacent)) != CAIRN_OK)
		return rc;
	if (cairn_fork_state_check(v, h, parent, adjacent_parents, n_adjacent) != CAIRN_OK)
		return fail(bad_field, "featureFlags");
	return check_hashes(bad_field, h);
}
