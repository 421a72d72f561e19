/*
 * digest.c: implementation of digest.h.
 *
 * The EVP_MD objects are fetched once (pthread_once) and kept for the life of
 * the process.  Each thread lazily creates one EVP_MD_CTX per algorithm;
 * thread-specific keys' destructors free them when the thread exits.  A
 * context re-initialised with the digest it already holds keeps its provider
 * state, so a hash costs no allocation: one shared context alternating
 * between SHA-512/256 and BLAKE2s-256 reallocated that state on every switch.
 */
#include "chain/digest.h"
#include "util/base64url.h"
#include "util/error.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static EVP_MD *sha512_256_md;
static EVP_MD *blake2s_256_md;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static pthread_key_t sha512_256_key;
static pthread_key_t blake2s_256_key;
static _Thread_local EVP_MD_CTX *sha512_256_ctx;
static _Thread_local EVP_MD_CTX *blake2s_256_ctx;

static void fail(const char *what)
{
	char reason[256];
	ERR_error_string_n(ERR_get_error(), reason, sizeof(reason));
	fprintf(stderr, "cairn: OpenSSL cannot %s: %s\n", what, reason);
	abort();
}

static void free_ctx(void *ctx)
{
	EVP_MD_CTX_free(ctx);
}

static void init_digests(void)
{
	sha512_256_md = EVP_MD_fetch(NULL, "SHA512-256", NULL);
	blake2s_256_md = EVP_MD_fetch(NULL, "BLAKE2S-256", NULL);
	if (!sha512_256_md || !blake2s_256_md)
		fail("provide SHA-512/256 and BLAKE2s-256");
	if (pthread_key_create(&sha512_256_key, free_ctx) != 0 ||
		pthread_key_create(&blake2s_256_key, free_ctx) != 0)
		fail("create a thread key for digest contexts");
}

/* Initialises *ctx (this thread's context for md, created on first use and
 * registered with key for freeing at thread exit). */
static EVP_MD_CTX *begin(EVP_MD_CTX **ctx, EVP_MD *const *md, const pthread_key_t *key)
{
	pthread_once(&init_once, init_digests);
	if (!*ctx) {
		*ctx = EVP_MD_CTX_new();
		if (!*ctx || pthread_setspecific(*key, *ctx) != 0)
			fail("allocate a digest context");
	}
	if (!EVP_DigestInit_ex2(*ctx, *md, NULL))
		fail("initialise a digest");
	return *ctx;
}

static void finish(EVP_MD_CTX *ctx, uint8_t out[CAIRN_HASH_LEN])
{
	unsigned int len = 0;
	if (!EVP_DigestFinal_ex(ctx, out, &len) || len != CAIRN_HASH_LEN)
		fail("finish a digest");
}

void cairn_sha512_256(uint8_t out[CAIRN_HASH_LEN], const cairn_slice *parts, size_t n)
{
	EVP_MD_CTX *ctx = begin(&sha512_256_ctx, &sha512_256_md, &sha512_256_key);
	for (size_t i = 0; i < n; i++)
		if (parts[i].len > 0 && !EVP_DigestUpdate(ctx, parts[i].data, parts[i].len))
			fail("hash data");
	finish(ctx, out);
}

void cairn_blake2s_256(uint8_t out[CAIRN_HASH_LEN], const void *data, size_t len)
{
	EVP_MD_CTX *ctx = begin(&blake2s_256_ctx, &blake2s_256_md, &blake2s_256_key);
	if (!EVP_DigestUpdate(ctx, data, len))
		fail("hash data");
	finish(ctx, out);
}

int cairn_hash_expect(const char *field, const uint8_t expected[CAIRN_HASH_LEN],
	const uint8_t found[CAIRN_HASH_LEN])
{
	if (memcmp(expected, found, CAIRN_HASH_LEN) == 0)
		return CAIRN_OK;
	char e[44], f[44];
	cairn_base64url_encode(e, expected, CAIRN_HASH_LEN);
	cairn_base64url_encode(f, found, CAIRN_HASH_LEN);
	return cairn_error_set(CAIRN_EINVALID, "%s: expected %s, found %s", field, e, f);
}
