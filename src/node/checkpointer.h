/*
 * checkpointer.h: a thread that checkpoints the Pact databases' WALs in
 * the background (cairn_pactdb_checkpoint), so that committing a block
 * rarely pays for folding the WAL into the database file.
 *
 * The node opens its Pact databases with CAIRN_PACTDB_VALVE_PAGES as the
 * autocheckpoint: the commit path then checkpoints only if this thread
 * falls far behind.  Each round visits every database once; rounds are
 * CAIRN_CHECKPOINTER_INTERVAL_MS apart.  A failing checkpoint is logged
 * (once per failure streak of a database) and retried in the next round:
 * the WAL merely grows until it succeeds.
 */
#ifndef CAIRN_NODE_CHECKPOINTER_H
#define CAIRN_NODE_CHECKPOINTER_H

#include <stddef.h>

#include "store/pactdb.h"

#define CAIRN_CHECKPOINTER_INTERVAL_MS 25

typedef struct cairn_checkpointer cairn_checkpointer;

/* Starts checkpointing dbs[0..n) (borrowed: they must outlive the thread). */
int cairn_checkpointer_start(cairn_checkpointer **out, cairn_pactdb *const *dbs, size_t n);

/* Stops the thread after its current checkpoint and frees. */
void cairn_checkpointer_stop(cairn_checkpointer *cp);

#endif
