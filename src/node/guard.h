/*
 * guard.h: the storage guard, a worker that watches what the commit path
 * needs from outside the process and reacts before and after it runs out.
 *
 * Every second it:
 *   - reads the free space of the database file system (statvfs).  Below
 *     the configured minimum it pauses the commit path (cairn_commit_pause,
 *     logged once as a WARN with the figures); at or above it again it
 *     lifts the pause (logged as INFO).  RocksDB and SQLite then never meet
 *     a full disk in the ordinary course: only a sudden fill can still fail
 *     a write;
 *   - when the commit path has failed (a store refused a write: full disk,
 *     no descriptors, an I/O error), probes whether the stores could work
 *     again: a 1 MiB file written, fsynced and removed in the database
 *     directory, and enough free descriptors.  Once the probe passes (and
 *     the free space is above the minimum), it asks for a restart in place
 *     (cairn_guard_restart_wanted): the failed handles cannot be used again,
 *     and the start-up recovery is what brings the two stores back to one
 *     cut.  While the probe fails it logs why, at most once a minute.
 */
#ifndef CAIRN_NODE_GUARD_H
#define CAIRN_NODE_GUARD_H

#include <stdbool.h>
#include <stdint.h>

#include "node/commit.h"

typedef struct cairn_guard cairn_guard;

typedef struct cairn_guard_options {
	const char *database_directory;
	uint64_t min_free_bytes; /* 0: never pause for space */
	unsigned free_descriptors; /* the probe's requirement */
} cairn_guard_options;

#define CAIRN_GUARD_OPTIONS_INIT {NULL, 0, 64}

/* Starts the worker over `commit` (borrowed: it must outlive the guard). */
int cairn_guard_start(cairn_guard **out, cairn_commit *commit, const cairn_guard_options *opts);

/* True once the commit path failed and the stores passed the probe. */
bool cairn_guard_restart_wanted(cairn_guard *g);

void cairn_guard_stop(cairn_guard *g);

#endif
