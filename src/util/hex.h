/*
 * hex.h: lowercase hexadecimal text of byte strings.
 *
 * The "reversed" forms print a little-endian number (a 256-bit target or PoW
 * value stored as 32 LE bytes) most significant byte first, which is how
 * Chainweb's event streams show `powHash` and `target`.
 */
#ifndef CAIRN_UTIL_HEX_H
#define CAIRN_UTIL_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Writes 2n lowercase hex digits and a NUL. */
void cairn_hex_encode(char *out, const uint8_t *in, size_t n);

/* Like cairn_hex_encode, bytes in reverse order. */
void cairn_hex_encode_reversed(char *out, const uint8_t *in, size_t n);

/* The value 0-15 of one hex digit (either case), or -1. */
int cairn_hex_digit_value(char c);

/* Decodes exactly 2n hex digits (either case) of text[0..len) into out[0..n).
 * CAIRN_EINVALID for a wrong length or a non-hex character. */
int cairn_hex_decode(uint8_t *out, size_t n, const char *text, size_t len);

/* Like cairn_hex_decode, storing the bytes in reverse order. */
int cairn_hex_decode_reversed(uint8_t *out, size_t n, const char *text, size_t len);

#endif
