/*
 * node.h: the node core: one object that owns the node's state below the
 * service API.
 *
 * The node owns the database directory (and its LOCK file, so two cairn
 * processes never share one), the chain database and the Pact state
 * databases, the commit path every block goes through (commit.h), the
 * block producer and the start-up recovery.  The HTTP layer sits above it
 * and reads what it serves through the accessors here, never from the
 * stores; it learns of new blocks through block listeners.
 *
 * Lifecycle, driven by `cairn node` (and `cairn import`):
 *   cairn_node_open        lock the database directory, open the stores,
 *                          recover (recovery.h), write missing genesis
 *                          blocks, start the producer
 *   (the service starts listening)
 *   cairn_node_begin_drain health-check turns 503; everything else still works
 *   (the service stops: no request is running any more)
 *   cairn_node_close       stop the producer, publish what is committed,
 *                          close the stores, unlock
 * Accessors are safe from any thread between open and close.
 *
 * Reported means durable: a block is streamed to listeners and shown in the
 * cut only after the chain database's log holding it has been fsynced
 * (commit.h), so no crash, not even a power loss, takes back a block the
 * node has reported.
 */
#ifndef CAIRN_NODE_NODE_H
#define CAIRN_NODE_NODE_H

#include <stdbool.h>
#include <stdint.h>

#include "backup/backup.h"
#include "chain/graph.h"
#include "chain/header.h"
#include "chain/payload.h"
#include "chain/version.h"
#include "config/config.h"

typedef struct cairn_node cairn_node;

/*
 * Opens the node described by `cfg` (copied; the caller may free it): logs
 * the effective settings, creates the database directory if needed and
 * locks it, opens the stores, recovers them, writes the genesis blocks of a
 * new chain database and, unless cfg->block_rate is 0 or the version has
 * none, starts the block producer.  A directory locked by another running
 * cairn is CAIRN_EBUSY with a message naming the lock holder; stores that
 * cannot be recovered are refused with the reason.
 */
int cairn_node_open(cairn_node **out, const cairn_config *cfg);

/* Stops background work, closes the stores and releases the lock. */
void cairn_node_close(cairn_node *node);

const cairn_version *cairn_node_version(const cairn_node *node);

/* The graph of the chains the node currently runs: the version's graph at
 * the highest block height of the current cut (chainweb-format.md 10.5). */
const cairn_graph *cairn_node_current_graph(const cairn_node *node);

/* ---- blocks ---- */

/* The current cut: per chain, the latest block the node has reported.
 * Chains without a block yet (on mainnet01, chains 10-19 before the graph
 * change) are absent. */
typedef struct cairn_node_cut {
	bool present[CAIRN_GRAPH_MAX_ORDER];
	uint64_t height[CAIRN_GRAPH_MAX_ORDER];
	uint8_t hash[CAIRN_GRAPH_MAX_ORDER][CAIRN_HASH_LEN];
	uint8_t weight[CAIRN_GRAPH_MAX_ORDER][CAIRN_HASH_LEN]; /* u256, little-endian */
} cairn_node_cut;

/* A copy of the current cut, taken at one instant. */
void cairn_node_get_cut(cairn_node_cut *out, cairn_node *node);

/* Flags of cairn_node_commit_block. */
#define CAIRN_NODE_COMMIT_HISTORICAL 1u /* historical data: no check against the clock */

/* Validates a block and commits it to both stores (commit.h).  `payload`
 * is NULL for a header without payload contents; on success its contents
 * are moved out (the struct is left empty).  CAIRN_EEXISTS when the block
 * is already stored; CAIRN_EINVALID with the reason when it is not valid
 * on top of the stored chains. */
int cairn_node_commit_block(cairn_node *node, const cairn_header *header, cairn_payload *payload,
	unsigned flags);

/* Waits until every block committed so far is durable and reported. */
void cairn_node_flush(cairn_node *node);

/* Reads the committed block at (chain, height): its header and, when its
 * contents are stored, its payload (*has_payload; the caller frees it).
 * CAIRN_ENOTFOUND when the chain has no block there. */
int cairn_node_load_block(cairn_header *header, cairn_payload *payload, bool *has_payload, cairn_node *node,
	uint32_t chain, uint64_t height);

/* Called once per committed block, in commit order, after the block is
 * durable; `payload` is NULL when its contents are unknown.  Listeners run
 * on the node's publishing thread and must not block (the api layer
 * serializes the event and queues it for its subscribers). */
typedef void (*cairn_node_block_listener)(void *ctx, const cairn_header *header, const cairn_payload *payload);

int cairn_node_add_block_listener(cairn_node *node, cairn_node_block_listener fn, void *ctx);

/* After it returns, `fn` is not running and is never called again. */
void cairn_node_remove_block_listener(cairn_node *node, cairn_node_block_listener fn, void *ctx);

/* ---- attachments for the backup engine ---- */

struct cairn_chaindb;
struct cairn_pactdb;

/* Runs fn(arg) with the commit lock held: no block commits while it runs, so
 * everything fn reads from the stores is one cut (blocks committed but not
 * yet reported included: both stores hold them).  Returns fn's result. */
int cairn_node_with_commit_lock(cairn_node *node, int (*fn)(void *arg), void *arg);

/* The chain database (never NULL between open and close). */
struct cairn_chaindb *cairn_node_chaindb(cairn_node *node);

/* The Pact state database of `chain`, or NULL when the version has no
 * such chain. */
struct cairn_pactdb *cairn_node_pactdb(cairn_node *node, uint32_t chain);

/* The backup manager, or NULL when no backup directory is configured.
 * Created at open (after the stores attach), closed first at close. */
cairn_backup_manager *cairn_node_backups(cairn_node *node);

/* ---- storage figures (for /metrics) ---- */

typedef struct cairn_node_storage {
	uint64_t chaindb_wal_bytes;     /* the chain database's write-ahead logs (RocksDB *.log files) */
	uint32_t chains;                /* chains of the version's largest graph: entries below */
	uint64_t pact_wal_bytes[CAIRN_GRAPH_MAX_ORDER]; /* each chain's Pact -wal file; 0 when there is none */
	bool has_database_fs;           /* the database directory's file system could be read */
	uint64_t database_free_bytes, database_size_bytes;
	bool has_backup_fs;             /* a backup directory is configured and its file system could be read */
	uint64_t backup_free_bytes, backup_size_bytes; /* free: available to cairn (not root's reserve) */
} cairn_node_storage;

/* Sizes read from the file system at the moment of the call (stat and
 * statvfs only: no store is touched). */
void cairn_node_get_storage(cairn_node_storage *out, cairn_node *node);

/* Marks the node as shutting down; health checks fail from now on. */
void cairn_node_begin_drain(cairn_node *node);
bool cairn_node_is_draining(const cairn_node *node);

/* File descriptors the stores may hold at once (the open-file limit less
 * this is what connections may use); planned at open from the limit. */
unsigned cairn_node_reserved_descriptors(const cairn_node *node);

/* False, with a one-line reason in reason[size], while blocks cannot be
 * committed: paused for lack of free space, or stopped by a storage
 * failure (node/guard.h). */
bool cairn_node_is_healthy(cairn_node *node, char *reason, size_t size);

/* True once a storage failure stopped the commit path and the stores can
 * be written again: the caller should close the node and open it anew,
 * whose recovery brings the stores back to one cut. */
bool cairn_node_restart_wanted(cairn_node *node);

#endif
