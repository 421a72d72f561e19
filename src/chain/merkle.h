/*
 * merkle.h: Chainweb's Merkle log (the merkle-log package's tree with
 * Chainweb's tags), chainweb-format.md section 4.
 *
 * A tree is built from leaves in order.  A leaf is either
 *   - an input node: bytes b hashed as H(0x00 || tag_be16 || b) (tagged) or
 *     H(0x00 || b) (untagged, used only for genesis parents), or
 *   - a tree node: a 32-byte root of another tree (a block hash, a
 *     transactions hash) used as the node hash as-is.
 * Inner nodes are H(0x01 || left || right); the shape is RFC 6962's (the left
 * subtree holds the largest power of two strictly below the leaf count).  The
 * root of the empty tree is H("") and a one-leaf tree's root is its leaf.
 * H is SHA-512/256.
 *
 * The builder is streaming: it keeps one pending root per level (at most 64),
 * so a tree of any size is hashed without allocation.
 */
#ifndef CAIRN_CHAIN_MERKLE_H
#define CAIRN_CHAIN_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "chain/digest.h"

/* Chainweb's tags (Chainweb.MerkleUniverse), hashed big-endian. */
enum {
	CAIRN_TAG_CHAIN_ID = 0x0002,
	CAIRN_TAG_BLOCK_HEIGHT = 0x0003,
	CAIRN_TAG_BLOCK_WEIGHT = 0x0004,
	CAIRN_TAG_FEATURE_FLAGS = 0x0006,
	CAIRN_TAG_BLOCK_CREATION_TIME = 0x0007,
	CAIRN_TAG_CHAINWEB_VERSION = 0x0008,
	CAIRN_TAG_HASH_TARGET = 0x0011,
	CAIRN_TAG_TRANSACTION = 0x0013,
	CAIRN_TAG_TRANSACTION_OUTPUT = 0x0014,
	CAIRN_TAG_MINER_DATA = 0x0017,
	CAIRN_TAG_COINBASE_OUTPUT = 0x0018,
	CAIRN_TAG_EPOCH_START_TIME = 0x0019,
	CAIRN_TAG_BLOCK_NONCE = 0x0020,
};

#define CAIRN_MERKLE_MAX_LEVELS 64

typedef struct cairn_merkle {
	uint8_t pending[CAIRN_MERKLE_MAX_LEVELS][CAIRN_HASH_LEN];
	uint8_t level[CAIRN_MERKLE_MAX_LEVELS]; /* subtree height of each pending root */
	size_t depth;
} cairn_merkle;

/* Node hash of a tagged input leaf: H(0x00 || tag_be16 || data). */
void cairn_merkle_input_hash(uint8_t out[CAIRN_HASH_LEN], uint16_t tag, const void *data, size_t len);

/* Node hash of an untagged input leaf: H(0x00 || data). */
void cairn_merkle_untagged_hash(uint8_t out[CAIRN_HASH_LEN], const void *data, size_t len);

/* Inner node hash: H(0x01 || left || right). */
void cairn_merkle_inner_hash(uint8_t out[CAIRN_HASH_LEN], const uint8_t left[CAIRN_HASH_LEN],
	const uint8_t right[CAIRN_HASH_LEN]);

void cairn_merkle_init(cairn_merkle *m);

/* Appends a leaf whose node hash is already known (a tree node, or the
 * result of one of the *_hash functions above). */
void cairn_merkle_add_node(cairn_merkle *m, const uint8_t node[CAIRN_HASH_LEN]);

/* Appends a tagged input leaf. */
void cairn_merkle_add_input(cairn_merkle *m, uint16_t tag, const void *data, size_t len);

/* Writes the root of the leaves added so far; `m` must be re-initialised
 * before it is used again. */
void cairn_merkle_root(uint8_t out[CAIRN_HASH_LEN], cairn_merkle *m);

#endif
