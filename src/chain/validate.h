/*
 * validate.h: consensus validation of one block header against its parent
 * and adjacent parents, with Chainweb's rules (validateIntrinsic and
 * validateInductive of chainweb-node), and the payload check.
 *
 * A genesis header (height = the genesis height of its chain) is valid iff
 * it equals, field by field, the genesis header built from its version
 * (genesis.h); parent and adjacent parents are not used.
 *
 * Any other header needs its parent and exactly one adjacent parent per
 * neighbour in the graph in force at the parent's height, all already
 * validated.  The checks, in the order failures are reported:
 *   chainwebVersion (known, equal to the parent's and adjacent parents'),
 *   chainId (equal to the parent's, in the graph), height (parent + 1),
 *   parent (the parent's hash), adjacents (the graph's neighbours, hashes
 *   of the given adjacent parents), creationTime (after the parent's, and
 *   after every adjacent parent's once the new DA is active), target and
 *   epochStart (difficulty.h), weight (parent weight + difficulty),
 *   featureFlags (forkstate.h), hash (recomputed) and powHash (meets the
 *   target).
 * The clock check ("not in the future") is the caller's: it needs a clock.
 */
#ifndef CAIRN_CHAIN_VALIDATE_H
#define CAIRN_CHAIN_VALIDATE_H

#include <stddef.h>

#include "chain/header.h"

/* CAIRN_OK when h is valid.  Otherwise CAIRN_EINVALID, a message of the form
 * "FIELD: expected X, found Y" (cairn_error_last), and *bad_field (when not
 * NULL) set to the JSON name of the offending field. */
int cairn_header_validate(const char **bad_field, const cairn_header *h, const cairn_header *parent,
	const cairn_header *const *adjacent_parents, size_t n_adjacent);

#endif
