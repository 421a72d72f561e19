/*
 * base64url.h: RFC 4648 section 5 base64 ("-" and "_"), the text form of
 * every hash, target, weight and opaque byte string in Chainweb's JSON.
 *
 * Encoding never emits "=" padding.  Decoding accepts both the unpadded form
 * and the padded one (Chainweb pads before decoding), and is canonical: it
 * rejects characters outside the alphabet, impossible lengths, misplaced
 * padding and non-zero trailing bits, so decode(encode(x)) == x and every
 * accepted text has exactly one byte string.
 */
#ifndef CAIRN_UTIL_BASE64URL_H
#define CAIRN_UTIL_BASE64URL_H

#include <stddef.h>
#include <stdint.h>

/* Characters of the unpadded encoding of `n` bytes (without the NUL). */
size_t cairn_base64url_encoded_len(size_t n);

/* Writes the unpadded encoding of in[0..n) and a NUL; `out` holds
 * cairn_base64url_encoded_len(n) + 1 characters. */
void cairn_base64url_encode(char *out, const uint8_t *in, size_t n);

/* Decodes text[0..len) into out (capacity `cap`); *out_len receives the byte
 * count.  CAIRN_EINVALID for malformed text or when it does not fit. */
int cairn_base64url_decode(uint8_t *out, size_t cap, size_t *out_len, const char *text, size_t len);

/* Decodes text that must hold exactly `n` bytes (a 32-byte hash, ...). */
int cairn_base64url_decode_exact(uint8_t *out, size_t n, const char *text, size_t len);

/* Decodes into a malloc'd buffer (*out, freed by the caller; never NULL on
 * success, even for empty input). */
int cairn_base64url_decode_alloc(uint8_t **out, size_t *out_len, const char *text, size_t len);

#endif
