/*
 * merkle.c: implementation of merkle.h.
 *
 * Invariant of the builder: pending roots are stored bottom-up by insertion
 * order with strictly decreasing subtree heights, i.e. the binary digits of
 * the leaf count.  Adding a leaf merges equal heights like a binary carry;
 * the final root folds the remaining roots right to left, which yields the
 * RFC 6962 shape (the unit test checks it against the recursive definition).
 */
#include "chain/merkle.h"

#include <string.h>

/* Header fields are at most 32 bytes: they are hashed from one contiguous
 * buffer, which saves a digest update per leaf on the validation path. */
#define SMALL_INPUT 64

void cairn_merkle_input_hash(uint8_t out[CAIRN_HASH_LEN], uint16_t tag, const void *data, size_t len)
{
	uint8_t buf[3 + SMALL_INPUT] = {0x00, (uint8_t)(tag >> 8), (uint8_t)tag};
	if (len <= SMALL_INPUT) {
		if (len > 0)
			memcpy(buf + 3, data, len);
		const cairn_slice part = {buf, 3 + len};
		cairn_sha512_256(out, &part, 1);
		return;
	}
	const cairn_slice parts[2] = {{buf, 3}, {data, len}};
	cairn_sha512_256(out, parts, 2);
}

void cairn_merkle_untagged_hash(uint8_t out[CAIRN_HASH_LEN], const void *data, size_t len)
{
	static const uint8_t prefix[1] = {0x00};
	const cairn_slice parts[2] = {{prefix, 1}, {data, len}};
	cairn_sha512_256(out, parts, 2);
}

void cairn_merkle_inner_hash(uint8_t out[CAIRN_HASH_LEN], const uint8_t left[CAIRN_HASH_LEN],
	const uint8_t right[CAIRN_HASH_LEN])
{
	uint8_t buf[1 + 2 * CAIRN_HASH_LEN];
	buf[0] = 0x01;
	memcpy(buf + 1, left, CAIRN_HASH_LEN);
	memcpy(buf + 1 + CAIRN_HASH_LEN, right, CAIRN_HASH_LEN);
	const cairn_slice part = {buf, sizeof(buf)};
	cairn_sha512_256(out, &part, 1);
}

void cairn_merkle_init(cairn_merkle *m)
{
	m->depth = 0;
}

void cairn_merkle_add_node(cairn_merkle *m, const uint8_t node[CAIRN_HASH_LEN])
{
	uint8_t carry[CAIRN_HASH_LEN];
	uint8_t level = 0;
	memcpy(carry, node, CAIRN_HASH_LEN);
	while (m->depth > 0 && m->level[m->depth - 1] == level) {
		m->depth--;
		cairn_merkle_inner_hash(carry, m->pending[m->depth], carry);
		level++;
	}
	memcpy(m->pending[m->depth], carry, CAIRN_HASH_LEN);
	m->level[m->depth] = level;
	m->depth++;
}

void cairn_merkle_add_input(cairn_merkle *m, uint16_t tag, const void *data, size_t len)
{
	uint8_t node[CAIRN_HASH_LEN];
	cairn_merkle_input_hash(node, tag, data, len);
	cairn_merkle_add_node(m, node);
}

void cairn_merkle_root(uint8_t out[CAIRN_HASH_LEN], cairn_merkle *m)
{
	if (m->depth == 0) {
		cairn_sha512_256(out, NULL, 0);
		return;
	}
	size_t i = m->depth - 1;
	memcpy(out, m->pending[i], CAIRN_HASH_LEN);
	while (i-- > 0)
		cairn_merkle_inner_hash(out, m->pending[i], out);
}
