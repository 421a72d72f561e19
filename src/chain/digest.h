/*
 * digest.h: the two hash functions of Chainweb, computed by OpenSSL.
 *
 * SHA-512/256 (FIPS 180-4, its own initial value) builds every Merkle tree:
 * block hashes and payload hashes.  BLAKE2s-256 (unkeyed) is the proof of
 * work.  The algorithms are fetched once per process and every thread keeps
 * one reusable EVP context, freed when the thread exits, so a hash costs no
 * allocation.  All functions are thread-safe.
 *
 * If OpenSSL cannot provide either algorithm (a broken installation), the
 * first use prints the reason and aborts: no header can be checked without
 * them.
 */
#ifndef CAIRN_CHAIN_DIGEST_H
#define CAIRN_CHAIN_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define CAIRN_HASH_LEN 32

/* A read-only view of bytes owned elsewhere. */
typedef struct cairn_slice {
	const uint8_t *data;
	size_t len;
} cairn_slice;

/* SHA-512/256 of the concatenation of parts[0..n). */
void cairn_sha512_256(uint8_t out[CAIRN_HASH_LEN], const cairn_slice *parts, size_t n);

/* BLAKE2s-256 of data[0..len). */
void cairn_blake2s_256(uint8_t out[CAIRN_HASH_LEN], const void *data, size_t len);

/* CAIRN_OK when the two 32-byte values are equal; otherwise CAIRN_EINVALID
 * with the message "FIELD: expected <base64url>, found <base64url>". */
int cairn_hash_expect(const char *field, const uint8_t expected[CAIRN_HASH_LEN],
	const uint8_t found[CAIRN_HASH_LEN]);

#endif
