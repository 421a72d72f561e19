/* Unit tests for chain/validate, chain/difficulty and chain/forkstate on
 * real mainnet headers (tests/fixtures/mainnet-header-triples.txt: header,
 * parent and adjacent parents), and on the rules' edge cases: every bit
 * flip is rejected, the difficulty adjustment reproduces Chainweb's own
 * test cases, and the fork-state vote rules. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/difficulty.h"
#include "chain/forkstate.h"
#include "chain/genesis.h"
#include "chain/validate.h"
#include "util/error.h"

#include "fixtures.h"

#define MAX_GROUPS 16

typedef struct group {
	cairn_header header, parent, adjacent[3];
	const cairn_header *adj[3];
} group;

static group groups[MAX_GROUPS];
static size_t group_count;

static void decode_line(cairn_header *out, const char *b64)
{
	int rc = cairn_header_from_base64(out, b64, strlen(b64));
	if (rc != CAIRN_OK)
		fail_msg("fixture header: %s", cairn_error_last());
}

static int load_triples(void **state)
{
	(void)state;
	char path[4096];
	FILE *f = fopen(fixture_path(path, sizeof(path), "mainnet-header-triples.txt"), "r");
	if (!f)
		return -1;
	char line[1024];
	size_t adj = 0;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		group *g = &groups[group_count];
		if (strncmp(line, "header ", 7) == 0) {
			decode_line(&g->header, line + 7);
			adj = 0;
		} else if (strncmp(line, "parent ", 7) == 0) {
			decode_line(&g->parent, line + 7);
		} else if (strncmp(line, "adjacent ", 9) == 0) {
			decode_line(&g->adjacent[adj], line + 9);
			g->adj[adj] = &g->adjacent[adj];
			if (++adj == 3)
				group_count++;
		}
	}
	fclose(f);
	return group_count == 7 ? 0 : -1;
}

static group *group_at_height(uint64_t height)
{
	for (size_t i = 0; i < group_count; i++)
		if (groups[i].header.height == height)
			return &groups[i];
	fail_msg("no fixture header at height %llu", (unsigned long long)height);
	return NULL;
}

static const char *validate_group(const group *g, const cairn_header *h)
{
	const char *field = NULL;
	int rc = cairn_header_validate(&field, h, &g->parent, g->adj, 3);
	return rc == CAIRN_OK ? NULL : field;
}

static void test_real_mainnet_headers_validate(void **state)
{
	(void)state;
	for (size_t i = 0; i < group_count; i++) {
		const group *g = &groups[i];
		const char *field = validate_group(g, &g->header);
		if (field)
			fail_msg("height %llu: %s", (unsigned long long)g->header.height, cairn_error_last());
		/* the weight identity, spelled out */
		uint8_t weight[CAIRN_HASH_LEN];
		assert_int_equal(cairn_weight_next(weight, g->parent.weight, g->header.target), CAIRN_OK);
		assert_memory_equal(weight, g->header.weight, CAIRN_HASH_LEN);
		/* adjacent parents may come in any order */
		const cairn_header *reversed[3] = {g->adj[2], g->adj[1], g->adj[0]};
		assert_int_equal(cairn_header_validate(NULL, &g->header, &g->parent, reversed, 3), CAIRN_OK);
	}
}

/* Flipping any single bit of the binary header is detected: by the decoder
 * (structure), or by validation.  The recomputed hash changes too, except
 * for bits of the stored hash itself and of the adjacent records' chain ids,
 * which the Merkle log does not cover (validation checks them against the
 * chain graph). */
static void test_every_bit_flip_is_rejected(void **state)
{
	(void)state;
	for (size_t gi = 0; gi < group_count; gi++) {
		const group *g = &groups[gi];
		uint8_t bin[CAIRN_HEADER_MAX_BYTES], original[CAIRN_HASH_LEN];
		size_t len;
		assert_int_equal(cairn_header_encode(bin, &len, &g->header), CAIRN_OK);
		memcpy(original, g->header.hash, CAIRN_HASH_LEN);
		for (size_t bit = 0; bit < len * 8; bit++) {
			bin[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			cairn_header h;
			if (cairn_header_decode(&h, bin, len) == CAIRN_OK) {
				assert_non_null(validate_group(g, &h));
				uint8_t hash[CAIRN_HASH_LEN];
				assert_int_equal(cairn_header_compute_hash(hash, &h), CAIRN_OK);
				size_t byte = bit / 8;
				bool unhashed = byte >= len - CAIRN_HASH_LEN ||
					(byte >= 50 && byte < 50 + 3 * 36 && (byte - 50) % 36 < 4);
				assert_true(unhashed == (memcmp(hash, original, CAIRN_HASH_LEN) == 0));
			}
			bin[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
	}
}

static void assert_rejects(const group *g, const cairn_header *h, const cairn_header *parent,
	const char *expected_field)
{
	const char *field = NULL;
	assert_int_equal(cairn_header_validate(&field, h, parent, g->adj, 3), CAIRN_EINVALID);
	assert_non_null(field);
	if (strcmp(field, expected_field) != 0)
		fail_msg("expected a failure in %s, got %s (%s)", expected_field, field, cairn_error_last());
	assert_non_null(strstr(cairn_error_last(), expected_field));
}

static void test_field_failures_are_named(void **state)
{
	(void)state;
	const group *g = group_at_height(6326123);
	cairn_header h = g->header, p = g->parent;
	h.height++;
	assert_rejects(g, &h, &p, "height");
	h = g->header;
	h.chain_id = 1;
	assert_rejects(g, &h, &p, "chainId");
	h = g->header;
	h.weight[3] ^= 1;
	assert_rejects(g, &h, &p, "weight");
	h = g->header;
	h.nonce++;
	assert_rejects(g, &h, &p, "hash");
	h = g->header;
	h.creation_time_us = p.creation_time_us;
	assert_rejects(g, &h, &p, "creationTime");
	h = g->header;
	h.epoch_start_us += 1000000;
	assert_rejects(g, &h, &p, "epochStart");
	h = g->header;
	h.target[0] ^= 1;
	assert_rejects(g, &h, &p, "target");
	h = g->header;
	h.parent[0] ^= 1;
	assert_rejects(g, &h, &p, "parent");
	h = g->header;
	h.adjacents[1].hash[0] ^= 1;
	assert_rejects(g, &h, &p, "adjacents");
	h = g->header;
	h.version_code = 1;
	assert_rejects(g, &h, &p, "chainwebVersion");
	h = g->header;
	h.feature_flags = 1;
	assert_rejects(g, &h, &p, "featureFlags");
	/* a missing parent, and a parent of another height */
	assert_int_equal(cairn_header_validate(NULL, &g->header, NULL, NULL, 0), CAIRN_EINVALID);
	p.height = 10;
	assert_rejects(g, &g->header, &p, "height");
	/* an adjacent parent missing */
	assert_int_equal(cairn_header_validate(NULL, &g->header, &g->parent, g->adj, 2), CAIRN_EINVALID);
}

/* A header whose PoW does not meet its target, with every other field
 * consistent (hash recomputed). */
static void test_insufficient_work_is_rejected(void **state)
{
	(void)state;
	const group *g = group_at_height(6326122);
	cairn_header h = g->header;
	uint8_t pow[CAIRN_HASH_LEN];
	do {
		h.nonce++;
		assert_int_equal(cairn_header_pow_hash(pow, &h), CAIRN_OK);
	} while (cairn_pow_meets_target(pow, h.target));
	assert_int_equal(cairn_header_compute_hash(h.hash, &h), CAIRN_OK);
	assert_rejects(g, &h, &g->parent, "powHash");
}

/* Chainweb's legacyDaValidation cases at mainnet height 600 000. */
static void test_legacy_difficulty_adjustment(void **state)
{
	(void)state;
	const group *g = group_at_height(600000);
	assert_null(validate_group(g, &g->header));
	assert_memory_not_equal(g->header.target, g->parent.target, CAIRN_HASH_LEN);
	cairn_header h = g->header, p = g->parent;
	h.target[0]++;
	assert_rejects(g, &h, &p, "target");
	h = g->header;
	p.epoch_start_us = 0;
	assert_rejects(g, &h, &p, "target");
	p = g->parent;
	p.creation_time_us = 0;
	assert_rejects(g, &h, &p, "target");
}

static void set_times(cairn_header *h, int64_t creation, int64_t epoch_start)
{
	h->creation_time_us = creation;
	h->epoch_start_us = epoch_start;
}

/* Chainweb's daValidation cases: the new DA on a recap-development epoch
 * boundary (parent height 599 999) scales the target by the observed epoch
 * time over the expected 120 * 30 s = 1 h. */
static void test_new_difficulty_adjustment(void **state)
{
	(void)state;
	const int64_t hour = 3600000000;
	const group *g = group_at_height(318266);
	cairn_header p = g->parent, a[3];
	const cairn_header *adj[3];
	p.height = 599999;
	for (int i = 0; i < 3; i++) {
		a[i] = g->adjacent[i];
		memcpy(a[i].target, p.target, CAIRN_HASH_LEN);
		adj[i] = &a[i];
	}
	const struct {
		int64_t parent_time;
		int scale; /* expected target = parent target * scale / 2, rounded up */
	} cases[] = {{hour, 2}, {2 * hour, 4}, {hour / 2, 1}};
	for (size_t c = 0; c < 3; c++) {
		set_times(&p, cases[c].parent_time, 0);
		for (int i = 0; i < 3; i++)
			set_times(&a[i], cases[c].parent_time, 0);
		uint8_t target[CAIRN_HASH_LEN];
		int64_t epoch_start;
		assert_int_equal(cairn_da_next(target, &epoch_start, &cairn_version_recap_development, &p, adj, 3,
					 3 * hour), CAIRN_OK);
		assert_int_equal(epoch_start, cases[c].parent_time);
		cairn_u256 t, expected, two, scale;
		cairn_u512 prod, den;
		cairn_u256_from_le(&t, p.target);
		cairn_u256_from_u64(&scale, (uint64_t)cases[c].scale);
		cairn_u256_from_u64(&two, 2);
		cairn_u512_mul(&prod, &t, &scale);
		cairn_u512_from_u256(&den, &two);
		cairn_u512 q, r;
		assert_int_equal(cairn_u512_divmod(&q, &r, &prod, &den), CAIRN_OK);
		cairn_u512_low(&expected, &q);
		if (!cairn_u512_is_zero(&r)) {
			cairn_u256 one;
			cairn_u256_from_u64(&one, 1);
			cairn_u256_add(&expected, &expected, &one);
		}
		cairn_u256 got;
		cairn_u256_from_le(&got, target);
		assert_int_equal(cairn_u256_cmp(&got, &expected), 0);
	}
	/* inside an epoch the target and epoch start are copied */
	p.height = 599998;
	uint8_t target[CAIRN_HASH_LEN];
	int64_t epoch_start;
	set_times(&p, hour, 77);
	assert_int_equal(cairn_da_next(target, &epoch_start, &cairn_version_recap_development, &p, adj, 3, 3 * hour),
		CAIRN_OK);
	assert_memory_equal(target, p.target, CAIRN_HASH_LEN);
	assert_int_equal(epoch_start, 77);
}

/* Exact arithmetic of the two adjustment functions on small numbers. */
static void test_adjust_arithmetic(void **state)
{
	(void)state;
	cairn_u256 t, out;
	char text[CAIRN_U256_DECIMAL_MAX];
	cairn_u256_from_u64(&t, 1000);
	/* ceil(7 * 1000 / 12) = 584 */
	assert_int_equal(cairn_da_adjust(&out, &t, 7, 3, 4), CAIRN_OK);
	cairn_u256_to_decimal(text, &out);
	assert_string_equal(text, "584");
	/* 2^256-1 div ceil(((2^256-1)/1000) * 12 / 7) */
	assert_int_equal(cairn_da_legacy_adjust(&out, &t, 7, 3, 4), CAIRN_OK);
	cairn_u256_to_decimal(text, &out);
	assert_string_equal(text, "583");
	assert_int_equal(cairn_da_legacy_adjust(&out, &t, 0, 3, 4), CAIRN_EINVALID);
	/* an epoch twice as long as expected doubles a maximal target, which
	 * wraps modulo 2^256 as Chainweb's Word256 does */
	cairn_u256_max(&t);
	assert_int_equal(cairn_da_adjust(&out, &t, 24, 3, 4), CAIRN_OK);
	cairn_u256_to_decimal(text, &out);
	assert_string_equal(text,
		"115792089237316195423570985008687907853269984665640564039457584007913129639934");
	/* a slower epoch under the legacy rule gives a maximal target */
	assert_int_equal(cairn_da_legacy_adjust(&out, &t, 24, 3, 4), CAIRN_OK);
	cairn_u256 max;
	cairn_u256_max(&max);
	assert_int_equal(cairn_u256_cmp(&out, &max), 0);
}

/* Chainweb's forkValidation cases, on the real headers at the end of a
 * fork epoch (count block), its start, and a vote block: fork state of the
 * parent (NULL keeps the real one) and of the header, and the verdict. */
static void test_fork_state_rules(void **state)
{
	(void)state;
	const uint32_t voting = 14400 - 120, decisive = (voting * 2 / 3 + 1) * 1000,
		       indecisive = (voting * 2 / 3 - 1) * 1000;
	const struct {
		uint64_t height;
		bool set_parent;
		uint32_t parent_votes, parent_number, votes, number;
		int expected;
	} cases[] = {
		/* vote block: keep the parent's votes or add one vote (1000) */
		{6326123, false, 0, 0, 1000, 0, CAIRN_OK},
		{6326123, false, 0, 0, 1, 0, CAIRN_EINVALID},
		{6326123, false, 0, 0, 2000, 0, CAIRN_EINVALID},
		{6326123, false, 0, 0, 0, 1, CAIRN_EINVALID},
		{6326123, true, 2000, 10, 0, 10, CAIRN_EINVALID},
		{6326123, true, 2000, 10, 3000, 10, CAIRN_OK},
		{6326123, true, 2000, 10, 2000, 9, CAIRN_EINVALID},
		/* count block: the average over parent and adjacent parents */
		{6321599, true, 1000, 0, 250, 0, CAIRN_OK},
		{6321599, true, 1000, 0, 1000, 0, CAIRN_EINVALID},
		/* epoch start: votes reset, the fork number follows the parent's votes */
		{6321600, true, indecisive, 0, 0, 0, CAIRN_OK},
		{6321600, true, indecisive, 0, 0, 1, CAIRN_EINVALID},
		{6321600, true, decisive, 0, 0, 1, CAIRN_OK},
		{6321600, true, decisive, 0, 1000, 1, CAIRN_OK},
		{6321600, true, decisive, 0, 2000, 1, CAIRN_EINVALID},
		{6321600, true, decisive, 0, 0, 0, CAIRN_EINVALID},
		/* before the fork-state rules anything goes */
		{318266, false, 0, 0, 12345, 67, CAIRN_OK},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const group *g = group_at_height(cases[i].height);
		cairn_header h = g->header, p = g->parent;
		if (cases[i].set_parent)
			p.feature_flags = (uint64_t)cases[i].parent_votes << 32 | cases[i].parent_number;
		h.feature_flags = (uint64_t)cases[i].votes << 32 | cases[i].number;
		int rc = cairn_fork_state_check(&cairn_version_mainnet01, &h, &p, g->adj, 3);
		if (rc != cases[i].expected)
			fail_msg("case %zu: %d (%s)", i, rc, cairn_error_last());
	}
}

static void test_genesis_validation(void **state)
{
	(void)state;
	cairn_header g;
	assert_int_equal(cairn_genesis_header(&g, &cairn_version_mainnet01, 12), CAIRN_OK);
	assert_int_equal(cairn_header_validate(NULL, &g, NULL, NULL, 0), CAIRN_OK);
	const char *field = NULL;
	cairn_header bad = g;
	bad.nonce = 1;
	assert_int_equal(cairn_header_validate(&field, &bad, NULL, NULL, 0), CAIRN_EINVALID);
	assert_string_equal(field, "nonce");
	bad = g;
	bad.weight[0] = 1;
	assert_int_equal(cairn_header_validate(&field, &bad, NULL, NULL, 0), CAIRN_EINVALID);
	assert_string_equal(field, "weight");
	bad = g;
	bad.hash[5] ^= 0x10;
	assert_int_equal(cairn_header_validate(&field, &bad, NULL, NULL, 0), CAIRN_EINVALID);
	assert_string_equal(field, "hash");
	bad = g;
	bad.chain_id = 25;
	assert_int_equal(cairn_header_validate(&field, &bad, NULL, NULL, 0), CAIRN_EINVALID);
	assert_string_equal(field, "chainId");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_mainnet_headers_validate),
		cmocka_unit_test(test_every_bit_flip_is_rejected),
		cmocka_unit_test(test_field_failures_are_named),
		cmocka_unit_test(test_insufficient_work_is_rejected),
		cmocka_unit_test(test_legacy_difficulty_adjustment),
		cmocka_unit_test(test_new_difficulty_adjustment),
		cmocka_unit_test(test_adjust_arithmetic),
		cmocka_unit_test(test_fork_state_rules),
		cmocka_unit_test(test_genesis_validation),
	};
	return cmocka_run_group_tests(tests, load_triples, NULL);
}
