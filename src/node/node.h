/*
 * node.h: the node core: one object that owns the node's state below the
 * service API.
 *
 * The node owns the database directory (and its LOCK file, so two cairn
 * processes never share one), and is where the chain database, the Pact
 * state databases, the block producer and the event hub attach.  The HTTP
 * layer sits above it and reads what it serves through the accessors here,
 * never from the stores.
 *
 * Lifecycle, driven by `cairn node`:
 *   cairn_node_open        lock and prepare the database directory
 *   (the service starts listening)
 *   cairn_node_begin_drain health-check turns 503; everything else still works
 *   (the service stops: no request is running any more)
 *   cairn_node_close       stop background work, close stores, unlock
 * Accessors are safe from any thread between open and close.
 */
#ifndef CAIRN_NODE_NODE_H
#define CAIRN_NODE_NODE_H

#include <stdbool.h>
#include <stdint.h>

#include "backup/backup.h"
#include "chain/version.h"
#include "config/config.h"

typedef struct cairn_node cairn_node;

/*
 * Opens the node described by `cfg` (copied; the caller may free it): logs
 * the effective settings, creates the database directory if needed and
 * locks it.  A directory locked by another running cairn is CAIRN_EBUSY with
 * a message naming the lock holder.
 */
int cairn_node_open(cairn_node **out, const cairn_config *cfg);

/* Stops background work, closes the stores and releases the lock. */
void cairn_node_close(cairn_node *node);

const cairn_version *cairn_node_version(const cairn_node *node);

/* The graph of the chains the node currently runs: the version's graph at
 * the highest block height of the current cut (chainweb-format.md 10.5). */
const cairn_graph *cairn_node_current_graph(const cairn_node *node);

/* ---- attachments for the backup engine (wired in node.c) ---- */

struct cairn_chaindb;
struct cairn_pactdb;

/* Runs fn(arg) with the commit lock held: no block commits while it runs, so
 * everything fn reads from the stores is one cut.  Returns fn's result. */
int cairn_node_with_commit_lock(cairn_node *node, int (*fn)(void *arg), void *arg);

/* The chain database, or NULL before it is attached. */
struct cairn_chaindb *cairn_node_chaindb(cairn_node *node);

/* The Pact state database of `chain`, or NULL when the chain has none. */
struct cairn_pactdb *cairn_node_pactdb(cairn_node *node, uint32_t chain);

/* The backup manager, or NULL when no backup directory is configured.
 * Created at open (after the stores attach), closed first at close. */
cairn_backup_manager *cairn_node_backups(cairn_node *node);

/* Marks the node as shutting down; health checks fail from now on. */
void cairn_node_begin_drain(cairn_node *node);
bool cairn_node_is_draining(const cairn_node *node);

#endif
