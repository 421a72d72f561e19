/*
 * pact.h: cairn's synthetic Pact: the payload contents the development
 * producer writes, and the deterministic translation of any payload into
 * the PactDB writes of its block.
 *
 * cairn does not run Pact.  It keeps a Pact-shaped state whose rows grow
 * like a real node's: each block credits its miner with a fixed reward
 * through the coinbase, and each transfer transaction debits its sender and
 * credits its receiver, every change a new version of a row of the coin
 * table ("coin_coin-table", rowdata {"balance":<decimal>,"guard":{...}}).
 *
 * Translation rules (cairn_pact_plan), a function of the payload and the
 * chain's PactDB state before the block, so that PactDB is a deterministic
 * function of the chain and can be rebuilt by replaying payloads:
 *   - a block without payload contents (a header-only import) is an empty
 *     block: no transactions;
 *   - otherwise transaction 0 is the coinbase (txid = the block's first,
 *     never indexed): the account named by the miner data is credited
 *     CAIRN_PACT_BLOCK_REWARD, keeping its stored guard or taking the miner
 *     data's keys and predicate for a new account; miner data that names no
 *     account (the genesis "NoMiner") credits nobody;
 *   - transaction i+1 is payload transaction i.  Its request key is its
 *     "hash" field (base64url, 32 bytes) or, without one, the BLAKE2s-256 of
 *     its bytes; it is recorded in TransactionIndex unless the chain has
 *     seen that key before (then the transaction is a replay and changes
 *     nothing).  A transfer is a command (the "cmd" string) whose
 *     payload.exec.data holds "sender", "receiver" (strings) and "amount"
 *     (a plain decimal number); it applies when the amount is
 *     positive, sender and receiver differ, the sender's balance covers the
 *     amount, the receiver exists or data."receiver-guard" gives its guard,
 *     and no balance overflows.  Anything else writes nothing.
 * Balances are read from PactDB's latest row versions, with the block's own
 * earlier writes taking precedence.  Amounts are exact: units of 10^-12
 * coin (Pact's coin precision) in 64 bits.
 *
 * Request keys: Pact hashes commands with BLAKE2b-256, which OpenSSL 3.0
 * does not offer with a 256-bit output; cairn's synthetic commands use
 * BLAKE2s-256 instead.  Nothing depends on which hash it is.
 */
#ifndef CAIRN_NODE_PACT_H
#define CAIRN_NODE_PACT_H

#include <stddef.h>
#include <stdint.h>

#include "chain/payload.h"
#include "chain/version.h"
#include "store/pactdb.h"

#define CAIRN_PACT_UNITS_PER_COIN 1000000000000ULL /* 10^12 */
#define CAIRN_PACT_BLOCK_REWARD 2304523000000ULL    /* 2.304523 coins */
#define CAIRN_PACT_ACCOUNT_COUNT 64                 /* accounts of the synthetic workload */
#define CAIRN_PACT_DECIMAL_MAX 32                   /* characters of a formatted decimal, NUL included */

/*
 * Builds the payload of the block at (chain, height) whose parent is
 * `parent_hash`: miner data naming one of the workload's accounts, its
 * coinbase output, and `tx_count` transfers from the miner to other
 * accounts with their outputs.  Each transfer moves at most 0.002 coins and
 * at most 1000 transfers are allowed, so the reward just credited always
 * covers them.  Deterministic in its arguments; request keys are unique per
 * (chain, height, index).
 */
int cairn_pact_make_payload(cairn_payload *out, const cairn_version *v, uint32_t chain, uint64_t height,
	const uint8_t parent_hash[CAIRN_HASH_LEN], int64_t creation_time_us, size_t tx_count);

/* A cache of one chain's latest coin rows, so that the commit path reads
 * an account from PactDB once rather than in every block.  It remembers the
 * last block it saw applied and is emptied when the database's last block
 * is another one (a rollback, a replay or a restore happened without it),
 * so it only ever saves reads: translations are the same with or without. */
typedef struct cairn_pact_cache cairn_pact_cache;

int cairn_pact_cache_create(cairn_pact_cache **out);
void cairn_pact_cache_free(cairn_pact_cache *cache);

/* The PactDB writes of one block, computed before anything is written. */
typedef struct cairn_pact_block cairn_pact_block;

/* Translates `payload` (NULL: contents unknown) for the block (height,
 * hash) on top of the current state of `db`, read through `cache` (may be
 * NULL).  Fails only when PactDB cannot be read or memory runs out. */
int cairn_pact_plan(cairn_pact_block **out, cairn_pactdb *db, cairn_pact_cache *cache, uint64_t height,
	const uint8_t block_hash[CAIRN_HASH_LEN], const cairn_payload *payload);

/* Applies a plan to the database it was computed on, in one transaction,
 * and brings `cache` (may be NULL) up to date with it. */
int cairn_pact_apply(cairn_pactdb *db, cairn_pact_cache *cache, const cairn_pact_block *plan);

void cairn_pact_block_free(cairn_pact_block *plan);

/* Plans and applies in one step (replaying stored blocks). */
int cairn_pact_apply_payload(cairn_pactdb *db, uint64_t height, const uint8_t block_hash[CAIRN_HASH_LEN],
	const cairn_payload *payload);

/* Plain decimals ("12", "0.5", "2.304523"; no sign or exponent, at most 12
 * fractional digits) to and from units of 10^-12. */
int cairn_pact_decimal_parse(uint64_t *units, const char *text, size_t len);
void cairn_pact_decimal_format(char out[CAIRN_PACT_DECIMAL_MAX], uint64_t units);

/* The name ("k:<64 hex>") of workload account i < CAIRN_PACT_ACCOUNT_COUNT. */
const char *cairn_pact_account_name(unsigned i);

#endif
