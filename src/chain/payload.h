/*
 * payload.h: block payloads with outputs ("PayloadWithOutputs"): miner
 * data, coinbase output, and the ordered (transaction, output) pairs, with
 * their three Merkle hashes.  chainweb-format.md sections 6 and 10.2.
 *
 *   transactionsHash = root([in(0x0017, minerData), in(0x0013, tx_0), ...])
 *   outputsHash      = root([in(0x0018, coinbase),  in(0x0014, out_0), ...])
 *   payloadHash      = root([tree(transactionsHash), tree(outputsHash)])
 *
 * Transactions and outputs are opaque bytes here (Pact JSON texts in
 * practice).  A cairn_payload owns all its bytes in one allocation; the
 * slices point into it.  The `hashes` member holds the hashes as given by
 * the source (JSON, binary) or as computed (cairn_payload_create);
 * cairn_payload_verify recomputes and compares them.
 *
 * The binary form is Chainweb's PayloadWithOutputs encoding, used by the
 * stores: u64 BE count, then per transaction u64 BE length + bytes of the
 * transaction and of its output, then u64 BE length + bytes of the miner
 * data and of the coinbase, then payloadHash, transactionsHash, outputsHash.
 */
#ifndef CAIRN_CHAIN_PAYLOAD_H
#define CAIRN_CHAIN_PAYLOAD_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/digest.h"

typedef struct cairn_payload_hashes {
	uint8_t transactions[CAIRN_HASH_LEN];
	uint8_t outputs[CAIRN_HASH_LEN];
	uint8_t payload[CAIRN_HASH_LEN];
} cairn_payload_hashes;

typedef struct cairn_payload {
	cairn_slice miner_data;
	cairn_slice coinbase;
	size_t tx_count;
	const cairn_slice *transactions; /* tx_count entries */
	const cairn_slice *outputs;      /* tx_count entries, outputs[i] belongs to transactions[i] */
	cairn_payload_hashes hashes;
	void *storage;                   /* private: owns every byte above */
} cairn_payload;

/* Initialises an empty payload (safe to free). */
void cairn_payload_init(cairn_payload *p);

/* Releases a payload's storage and re-initialises it. */
void cairn_payload_free(cairn_payload *p);

/* Builds a payload from copies of the given bytes and computes its hashes. */
int cairn_payload_create(cairn_payload *out, cairn_slice miner_data, cairn_slice coinbase,
	size_t tx_count, const cairn_slice *transactions, const cairn_slice *outputs);

/* Computes the three hashes of p's contents (ignores p->hashes). */
void cairn_payload_compute_hashes(cairn_payload_hashes *out, const cairn_payload *p);

/* Recomputes the hashes and compares them with p->hashes and, when
 * `header_payload_hash` is not NULL, with a header's payloadHash.
 * CAIRN_EINVALID names the first differing hash. */
int cairn_payload_verify(const cairn_payload *p, const uint8_t *header_payload_hash);

/* Chainweb's binary form; *out is malloc'd and owned by the caller. */
int cairn_payload_encode(uint8_t **out, size_t *out_len, const cairn_payload *p);

/* Parses the binary form; rejects truncated input, lengths beyond the
 * input and trailing bytes.  Hashes are taken as stored. */
int cairn_payload_decode(cairn_payload *out, const uint8_t *data, size_t len);

/* The JSON object form (section 10.2); *out is owned by the caller. */
int cairn_payload_to_json(json_object **out, const cairn_payload *p);

/* Parses the JSON object form; hashes are taken as stored. */
int cairn_payload_from_json(cairn_payload *out, json_object *obj);

#endif
