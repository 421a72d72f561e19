/*
 * checkpointer.h: a thread that checkpoints the Pact databases' WALs in
 * the background (cairn_pactdb_checkpoint), so that committing a block
 * rarely pays for folding the WAL into the database file, and that ends
 * groups of blocks (cairn_pactdb_commit) once they are
 * CAIRN_CHECKPOINTER_GROUP_MS old, so that other connections (backups, an
 * operator's sqlite3) never see a chain's Pact state lag by much more.
 *
 * The node opens its Pact databases with CAIRN_PACTDB_VALVE_PAGES as the
 * autocheckpoint: the commit path then checkpoints only if this thread
 * falls far behind.  Each round visits every database once; rounds are
 * CAIRN_CHECKPOINTER_INTERVAL_MS apart.  A failing checkpoint is logged
 * (once per failure streak of a database) and retried in the next round:
 * the WAL merely grows until it succeeds.  A failing commit has lost its
 * group (pactdb.h); the node's next block on that chain then fails and the
 * node stops committing until a restart rebuilds the state.
 */
#ifndef CAIRN_NODE_CHECKPOINTER_H
#define CAIRN_NODE_CHECKPOINTER_H

#include <stddef.h>

#include "store/pactdb.h"

#define CAIRN_CHECKPOINTER_INTERVAL_MS 25
#define CAIRN_CHECKPOINTER_GROUP_MS 500
/* Blocks per Pact transaction of a handle this thread checkpoints
 * (pactdb.h, "Groups"), ended earlier when older than
 * CAIRN_CHECKPOINTER_GROUP_MS.  At 2,000 blocks/s over 20 chains a chain
 * gets 100 blocks/s, about 20 per 200 ms group. */
#define CAIRN_CHECKPOINTER_GROUP_BLOCKS 64

typedef struct cairn_checkpointer cairn_checkpointer;

/* Starts checkpointing dbs[0..n) (borrowed: they must outlive the thread). */
int cairn_checkpointer_start(cairn_checkpointer **out, cairn_pactdb *const *dbs, size_t n);

/* Stops the thread after its current checkpoint and frees. */
void cairn_checkpointer_stop(cairn_checkpointer *cp);

#endif
