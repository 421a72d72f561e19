/*
 * genesis.h: the genesis block of each chain of a version, built from the
 * version definition alone (chainweb-format.md section 7).
 *
 * A genesis header has the parent genesisParent(version, chain), adjacent
 * hashes genesisParent(version, j) for the neighbours j in the graph at its
 * height, weight 0, nonce 0, featureFlags 0, creationTime = epochStart = the
 * version's genesis time, the version's genesis target, and the genesis
 * payload hash.  For mainnet01, testnet04 and recap-development the payload
 * hash is version data (their payload contents are not needed); for cairn's
 * local networks (development, test-singleton) the genesis payload itself is
 * built here, deterministically:
 *   minerData = {"account":"NoMiner","predicate":"<","public-keys":[]}
 *   coinbase  = {"gas":0,"result":{"status":"success","data":"NO_COINBASE"},
 *                "reqKey":"<genesisParent, base64url>","logs":null,
 *                "metaData":null,"continuation":null,"txId":null}
 *   no transactions.
 */
#ifndef CAIRN_CHAIN_GENESIS_H
#define CAIRN_CHAIN_GENESIS_H

#include <stdint.h>

#include "chain/header.h"
#include "chain/payload.h"
#include "chain/version.h"

/* genesisParent = root([u("CHAINWEB_GENESIS"), u(code u32 LE), u(chain u32 LE)])
 * with untagged input leaves. */
void cairn_genesis_parent(uint8_t out[CAIRN_HASH_LEN], uint32_t version_code, uint32_t chain);

/* The genesis header of `chain` (hash computed).  CAIRN_ENOTFOUND when the
 * chain does not exist in the version. */
int cairn_genesis_header(cairn_header *out, const cairn_version *v, uint32_t chain);

/* The genesis payload of `chain` for versions whose genesis payload cairn
 * builds (development, test-singleton); CAIRN_ENOTFOUND otherwise. */
int cairn_genesis_payload(cairn_payload *out, const cairn_version *v, uint32_t chain);

#endif
