/*
 * bench_header.c: single-core throughput of header hashing, validation and
 * mining, on a braided development chain (20 chains, degree 3, 318-byte
 * headers) produced in memory before timing.
 *
 * Figures are per CPU-second of one thread, one "name value" pair per line
 * for bench/header/run:
 *   hash_per_s      block hashes recomputed (22 SHA-512/256 each: 9 input
 *                   leaves and 13 inner nodes; 17 once header.c's per-thread
 *                   memo holds the 5 leaves that repeat between headers)
 *   pow_per_s       PoW hashes (one BLAKE2s-256 of 286 bytes each)
 *   validate_per_s  binary decode + full validation (hash, PoW, parent
 *                   link, adjacents, DA, weight, fork state)
 *   mine_per_s      blocks built and solved (about 16 PoW hashes each)
 *
 * Usage: bench_header [HEIGHTS]   (default 500 heights = 10 000 headers)
 */
#include "chain/genesis.h"
#include "chain/mining.h"
#include "chain/validate.h"
#include "util/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHAINS 20

/* CPU seconds of this thread: `openssl speed` also reports CPU time, so
 * the comparison holds on a machine shared with other work. */
static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_header: %s: %s\n", what, cairn_error_last());
	exit(1);
}

typedef struct chainset {
	size_t heights;
	cairn_header *h;                                  /* [height][chain] */
	uint8_t (*bin)[CAIRN_HEADER_MAX_BYTES];           /* binary forms */
} chainset;

static cairn_header *at(chainset *s, size_t height, uint32_t chain)
{
	return &s->h[height * CHAINS + chain];
}

static void adjacent_parents(const cairn_header *out[3], chainset *s, size_t height, uint32_t chain)
{
	const uint8_t *adj = cairn_graph_adjacents(&cairn_graph_twenty, chain);
	for (int i = 0; i < 3; i++)
		out[i] = at(s, height - 1, adj[i]);
}

/* Produces the chain set; returns the seconds spent building and solving. */
static double produce(chainset *s)
{
	const cairn_version *v = &cairn_version_development;
	uint8_t payload_hash[CAIRN_HASH_LEN] = {0};
	for (uint32_t c = 0; c < CHAINS; c++)
		if (cairn_genesis_header(at(s, 0, c), v, c) != CAIRN_OK)
			die("genesis");
	double start = now();
	for (size_t height = 1; height <= s->heights; height++) {
		for (uint32_t c = 0; c < CHAINS; c++) {
			const cairn_header *adj[3];
			adjacent_parents(adj, s, height, c);
			payload_hash[0] = (uint8_t)c;
			cairn_header *h = at(s, height, c);
			if (cairn_mining_make_child(h, at(s, height - 1, c), adj, 3, payload_hash,
				    v->genesis_time_us + (int64_t)height * 1000000) != CAIRN_OK ||
			    cairn_mining_solve(h, 1u << 20, NULL) != CAIRN_OK)
				die("mining");
		}
	}
	return now() - start;
}

/* One pass over every mined header; returns the header count. */
typedef size_t (*pass_fn)(chainset *s);

static size_t run_hash(chainset *s)
{
	uint8_t out[CAIRN_HASH_LEN];
	for (size_t height = 1; height <= s->heights; height++)
		for (uint32_t c = 0; c < CHAINS; c++)
			if (cairn_header_compute_hash(out, at(s, height, c)) != CAIRN_OK ||
			    memcmp(out, at(s, height, c)->hash, CAIRN_HASH_LEN) != 0)
				die("hash");
	return s->heights * CHAINS;
}

static size_t run_pow(chainset *s)
{
	uint8_t out[CAIRN_HASH_LEN];
	for (size_t height = 1; height <= s->heights; height++)
		for (uint32_t c = 0; c < CHAINS; c++)
			if (cairn_header_pow_hash(out, at(s, height, c)) != CAIRN_OK ||
			    !cairn_pow_meets_target(out, at(s, height, c)->target))
				die("pow");
	return s->heights * CHAINS;
}

static size_t run_validate(chainset *s)
{
	for (size_t height = 1; height <= s->heights; height++) {
		for (uint32_t c = 0; c < CHAINS; c++) {
			cairn_header h;
			const cairn_header *adj[3];
			if (cairn_header_decode(&h, s->bin[height * CHAINS + c], CAIRN_HEADER_MAX_BYTES) != CAIRN_OK)
				die("decode");
			adjacent_parents(adj, s, height, c);
			if (cairn_header_validate(NULL, &h, at(s, height - 1, c), adj, 3) != CAIRN_OK)
				die("validate");
		}
	}
	return s->heights * CHAINS;
}

/* Headers per second of `pass`, after one warm-up pass, over at least two
 * seconds of repeated passes. */
static double rate(chainset *s, pass_fn pass)
{
	pass(s);
	size_t n = 0;
	double start = now(), elapsed;
	do {
		n += pass(s);
		elapsed = now() - start;
	} while (elapsed < 2.0);
	return (double)n / elapsed;
}

int main(int argc, char **argv)
{
	chainset s = {argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 500, NULL, NULL};
	if (s.heights < 1) {
		fprintf(stderr, "usage: bench_header [HEIGHTS >= 1]\n");
		return 2;
	}
	size_t total = (s.heights + 1) * CHAINS, mined = s.heights * CHAINS;
	s.h = calloc(total, sizeof(cairn_header));
	s.bin = calloc(total, CAIRN_HEADER_MAX_BYTES);
	if (!s.h || !s.bin)
		die("memory");
	double mine_s = produce(&s);
	for (size_t i = 0; i < total; i++) {
		size_t len;
		if (cairn_header_encode(s.bin[i], &len, &s.h[i]) != CAIRN_OK)
			die("encode");
	}

	double hash_rate = rate(&s, run_hash), pow_rate = rate(&s, run_pow), validate_rate = rate(&s, run_validate);
	printf("headers %zu\n", mined);
	printf("sha512_256_per_header 22\n");
	printf("blake2s_per_header 1\n");
	printf("hash_per_s %.0f\n", hash_rate);
	printf("pow_per_s %.0f\n", pow_rate);
	printf("validate_per_s %.0f\n", validate_rate);
	printf("mine_per_s %.0f\n", (double)mined / mine_s);
	free(s.h);
	free(s.bin);
	return 0;
}
