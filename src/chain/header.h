/*
 * header.h: Chainweb block headers: the plain struct, its binary, base64url
 * and JSON forms, the block hash (Merkle log) and the proof-of-work hash.
 * chainweb-format.md sections 2, 3, 4 and 10.1.
 *
 * Invariant of a cairn_header produced by any function here: at most
 * CAIRN_HEADER_MAX_ADJACENTS adjacents, sorted by strictly ascending chain
 * id.  Functions that take a header check this and fail with CAIRN_EINVALID
 * otherwise, so a hand-built header cannot make them read out of bounds.
 * Decoders accept only canonical input (sorted adjacents, exact lengths), so
 * decode followed by encode reproduces the input byte for byte.
 *
 * The struct has no padding and every producer here zeroes unused adjacent
 * slots, so two headers can be compared with memcmp.
 *
 * Nothing here checks consensus rules (validate.h does) or needs a version
 * beyond mapping its code to the JSON name.
 */
#ifndef CAIRN_CHAIN_HEADER_H
#define CAIRN_CHAIN_HEADER_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/digest.h"

#define CAIRN_HEADER_MAX_ADJACENTS 3
#define CAIRN_HEADER_ADJACENT_BYTES 36 /* chain id u32 LE + hash */
#define CAIRN_HEADER_BASE_BYTES 210    /* size without adjacent records */
#define CAIRN_HEADER_MAX_BYTES (CAIRN_HEADER_BASE_BYTES + 3 * CAIRN_HEADER_ADJACENT_BYTES) /* 318 */
/* base64url characters of the largest binary header, plus the NUL. */
#define CAIRN_HEADER_BASE64_MAX 425

typedef struct cairn_adjacent {
	uint32_t chain;
	uint8_t hash[CAIRN_HASH_LEN];
} cairn_adjacent;

typedef struct cairn_header {
	uint64_t feature_flags;    /* fork state: low 32 bits fork number, high 32 bits votes */
	int64_t creation_time_us;  /* microseconds since the POSIX epoch */
	uint8_t parent[CAIRN_HASH_LEN];
	uint8_t target[CAIRN_HASH_LEN];       /* u256, little-endian */
	uint8_t payload_hash[CAIRN_HASH_LEN];
	uint8_t weight[CAIRN_HASH_LEN];       /* u256, little-endian */
	uint64_t height;
	int64_t epoch_start_us;
	uint64_t nonce;
	uint32_t chain_id;
	uint32_t version_code;
	uint8_t hash[CAIRN_HASH_LEN];         /* as stored; cairn_header_compute_hash recomputes */
	uint32_t adjacent_count;
	cairn_adjacent adjacents[CAIRN_HEADER_MAX_ADJACENTS]; /* ascending chain ids */
} cairn_header;

/* The invariant above: at most three adjacents, strictly ascending chain
 * ids.  CAIRN_EINVALID with the reason otherwise. */
int cairn_header_check_adjacents(const cairn_header *h);

/* Bytes of the binary form: 210 + 36 per adjacent (318 for degree 3). */
size_t cairn_header_binary_size(const cairn_header *h);

/* Writes the binary form (section 2) into out; *out_len receives its size. */
int cairn_header_encode(uint8_t out[CAIRN_HEADER_MAX_BYTES], size_t *out_len, const cairn_header *h);

/* Parses a binary header of exactly `len` bytes.  Rejects truncated or
 * oversized input, more than three adjacents and unsorted or duplicate
 * adjacent chain ids. */
int cairn_header_decode(cairn_header *out, const uint8_t *data, size_t len);

/* The base64url (unpadded) text of the binary form. */
int cairn_header_to_base64(char out[CAIRN_HEADER_BASE64_MAX], const cairn_header *h);

/* Parses base64url text (padded or not) of a binary header. */
int cairn_header_from_base64(cairn_header *out, const char *text, size_t len);

/* The block hash: Merkle root of the header's leaves (section 4.3). */
int cairn_header_compute_hash(uint8_t out[CAIRN_HASH_LEN], const cairn_header *h);

/* The proof-of-work hash: BLAKE2s-256 of the binary form without its final
 * hash ("work bytes", section 3). */
int cairn_header_pow_hash(uint8_t out[CAIRN_HASH_LEN], const cairn_header *h);

/* Whether a PoW hash meets a target: both read as little-endian 256-bit
 * numbers, pow <= target. */
bool cairn_pow_meets_target(const uint8_t pow_hash[CAIRN_HASH_LEN], const uint8_t target[CAIRN_HASH_LEN]);

/* The JSON object form (section 10.1); *out is owned by the caller.  Fails
 * for a version code without a known name. */
int cairn_header_to_json(json_object **out, const cairn_header *h);

/* Parses the JSON object form: all thirteen fields, exact integer types
 * (featureFlags up to 2^64-1), nonce as a decimal string, adjacents keyed by
 * canonical decimal chain ids in any order.  Other members are ignored. */
int cairn_header_from_json(cairn_header *out, json_object *obj);

#endif
