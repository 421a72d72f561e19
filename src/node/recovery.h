/*
 * recovery.h: start-up recovery.  After it the two stores agree at the
 * chain database's cut, and every stored block not validated since the
 * last clean start or shutdown has been validated again.
 *
 * The chain database is the source of truth (each block is one atomic
 * batch, so it holds whole blocks up to a cut).  For each chain:
 *   - Pact rows above the cut are rolled back (cairn_pactdb_rollback_above):
 *     the Pact database got ahead when the chain database lost its last
 *     blocks to a power loss;
 *   - a Pact database that is missing (created empty) or behind the cut is
 *     brought up to it by replaying the stored payloads in height order
 *     (pact.h: PactDB is a function of the chain), with a progress line
 *     every few seconds;
 *   - a Pact database whose block at a common height has another hash
 *     belongs to another chain database: recovery refuses it (removing the
 *     file makes the next start rebuild it).
 *
 * Validation: the file <database-directory>/0/validated-cut records, per
 * chain, the height and hash up to which the stored blocks are known
 * valid; it is written (atomically) after recovery and at a clean
 * shutdown.  Recovery first validates the blocks above it (all of them
 * when it is missing or names a block the chain database does not hold,
 * e.g. after a restore from a backup) with the commit path's checks
 * (cairn_commit_verify_block), so an invalid block is found before any
 * replay; after reconciling, it checks that the Pact database recorded
 * the same block at each of those heights.  After a crash this covers
 * every block committed since the last start.
 */
#ifndef CAIRN_NODE_RECOVERY_H
#define CAIRN_NODE_RECOVERY_H

#include "chain/version.h"
#include "node/commit.h"
#include "store/pactdb.h"

/* Reconciles and validates; `pactdbs` holds one handle per chain of the
 * version's largest graph. */
int cairn_recovery_run(cairn_commit *commit, const cairn_version *version, cairn_pactdb *const *pactdbs,
	const char *database_dir);

/* Records the committed cut as validated (at a clean shutdown). */
int cairn_recovery_mark_validated(cairn_commit *commit, const cairn_version *version, const char *database_dir);

#endif
