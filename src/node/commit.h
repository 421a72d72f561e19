/*
 * commit.h: the commit path.  Every block, produced or imported, enters
 * the stores here, one at a time.
 *
 * One commit lock serializes commits.  Under it a block is
 *   1. validated with the chain model (validate.h): its parent is the tip
 *      of its chain, its adjacent parents are the blocks at the parent's
 *      height on the neighbour chains; both come from a table of the recent
 *      headers of every chain, falling back to the chain database;
 *   2. checked against its payload (payload hashes and the header's
 *      payloadHash) when it carries one;
 *   3. translated into its Pact writes (pact.h), reading the chain's state;
 *   4. written to the chain database in one batch (header, rank, payload,
 *      cut), then to the chain's Pact database in one transaction;
 *   5. queued for publication.
 * Steps 1-3 write nothing, so an invalid block leaves no trace.  A failure
 * in step 4 after the chain database has the block leaves the Pact
 * database one block behind; the commit path then refuses every further
 * block, and the next start-up replays the block into PactDB (recovery.h).
 *
 * Blocks are never checked against the clock under the lock: a block more
 * than CAIRN_COMMIT_MAX_FUTURE_US ahead of the wall clock is refused before
 * it, unless it is historical data.
 *
 * Publication and durability.  Both stores write without fsync: a commit
 * reaches the operating system's page cache (RocksDB's log and SQLite's
 * WAL are written by write(2) before the commit returns), so a killed
 * process loses nothing.  A publishing thread takes everything committed
 * so far as one group, fsyncs the chain database's log once for the group,
 * and only then moves the published cut and calls the block listeners, in
 * commit order.  So whatever the node reports, as an event or in the cut,
 * is on disk in the chain database, which is the source of truth: a power
 * loss may take back committed blocks that were not yet reported, and the
 * Pact databases' last blocks, which the next start-up rebuilds from the
 * chain database.  The group fsync costs one fsync per group instead of one
 * per block (bench/store: 2,400 blocks/s with an fsync per block against
 * 31,000 without); bench/produce's bare loop uses the same policy, and
 * shows that the Pact transaction of each block, not the fsync, bounds the
 * commit rate.
 *
 * Forks are not supported: a block must extend the tip of its chain.  A
 * block already stored at its height is CAIRN_EEXISTS; another block at a
 * stored height is invalid.
 *
 * Genesis blocks enter like any other block (validation compares them with
 * the version's genesis).  A block whose adjacent parent is the missing
 * genesis block of a neighbour chain (mainnet01's chains 10-19, added by a
 * graph change at height 852054) first commits that genesis block.
 */
#ifndef CAIRN_NODE_COMMIT_H
#define CAIRN_NODE_COMMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "chain/header.h"
#include "chain/payload.h"
#include "chain/version.h"
#include "node/node.h"
#include "store/chaindb.h"
#include "store/pactdb.h"

#define CAIRN_COMMIT_MAX_FUTURE_US (30LL * 1000000) /* allowed clock skew */
#define CAIRN_COMMIT_MAX_LISTENERS 8

typedef struct cairn_commit cairn_commit;

/* Attaches the commit path to open stores (borrowed: they must outlive it);
 * `pactdbs` has one handle per chain of the version's largest graph.  Loads
 * the tips of the stored chains and starts the publishing thread. */
int cairn_commit_create(cairn_commit **out, const cairn_version *version, cairn_chaindb *chaindb,
	cairn_pactdb *const *pactdbs);

/* Publishes what is committed, stops the publishing thread and frees.
 * No commit may run concurrently. */
void cairn_commit_free(cairn_commit *c);

/* The commit of cairn_node_commit_block (flags CAIRN_NODE_COMMIT_*). */
int cairn_commit_block(cairn_commit *c, const cairn_header *header, cairn_payload *payload, unsigned flags);

/* Commits the genesis block of `chain` (with its payload when the version
 * builds it) unless the chain already has a block. */
int cairn_commit_genesis(cairn_commit *c, uint32_t chain);

/* Waits until every block committed before the call is published. */
void cairn_commit_flush(cairn_commit *c);

int cairn_commit_with_lock(cairn_commit *c, int (*fn)(void *arg), void *arg);

/* Refuses commits (CAIRN_EBUSY, naming `reason`) until called with NULL. */
void cairn_commit_pause(cairn_commit *c, const char *reason);

typedef enum cairn_commit_state {
	CAIRN_COMMIT_RUNNING,
	CAIRN_COMMIT_PAUSED, /* cairn_commit_pause */
	CAIRN_COMMIT_FAILED  /* a storage failure: only a restart commits again */
} cairn_commit_state;

/* True while commits are accepted: the state RUNNING, read without a lock
 * (once per block by the producer). */
bool cairn_commit_is_running(cairn_commit *c);

/* The state, and its reason (empty while running) into reason[size]. */
cairn_commit_state cairn_commit_state_of(cairn_commit *c, char *reason, size_t size);

/* The published cut (cairn_node_get_cut). */
void cairn_commit_get_cut(cairn_node_cut *out, cairn_commit *c);

int cairn_commit_add_listener(cairn_commit *c, cairn_node_block_listener fn, void *ctx);
void cairn_commit_remove_listener(cairn_commit *c, cairn_node_block_listener fn, void *ctx);

/* The committed tips: present[chain] and height[chain] for every chain of
 * the version's largest graph. */
void cairn_commit_tips(cairn_commit *c, bool present[CAIRN_GRAPH_MAX_ORDER],
	uint64_t height[CAIRN_GRAPH_MAX_ORDER]);

/* The committed header at (chain, height); CAIRN_ENOTFOUND when none. */
int cairn_commit_header_at(cairn_header *out, cairn_commit *c, uint32_t chain, uint64_t height);

/* Reads the stored block at (chain, height): its header and, when its
 * contents are stored, its payload (*has_payload).  The payload is the
 * caller's to free. */
int cairn_commit_load_block(cairn_header *header, cairn_payload *payload, bool *has_payload, cairn_commit *c,
	uint32_t chain, uint64_t height);

/* Validates a stored block again, exactly as the commit path validated it:
 * header against its stored parent and adjacent parents, payload against
 * the header.  CAIRN_EINVALID with the reason when it does not hold. */
int cairn_commit_verify_block(cairn_commit *c, const cairn_header *header, const cairn_payload *payload);

#endif
