/*
 * verify.h: checking one backup, `<backup-directory>/<id>`, without the
 * node, before trusting it (cairn backup verify, and every restore).
 *
 * Checks, in order (--quick stops after the first two):
 *   1. files: every file in the manifest is present, a regular file, of
 *      the listed size, and of the listed SHA-256 where one is listed
 *      (linked RocksDB table files have none: docs/backups.md);
 *   2. nothing unlisted: no file or directory below 0/ that the manifest
 *      does not name;
 *   3. the RocksDB checkpoint opens read-only, records the manifest's
 *      chainweb version and cut, and every record reads back with its
 *      block checksums verified;
 *   4. every header on the winning branch of every chain, from genesis to
 *      the cut, validates with the chain model (cairn_header_validate:
 *      parent, adjacent parents, hashes, PoW, weight; genesis against the
 *      version's), and its payload is present and hashes to the header's
 *      payload hash;
 *   5. with Pact: every SQLite file passes PRAGMA integrity_check and its
 *      last BlockHistory block is the cut's block of its chain.
 * Nothing in the backup is written: RocksDB opens read-only and SQLite
 * files are opened immutable, so no -wal, -shm or LOG file appears.
 *
 * Every problem is reported, each naming the file or the chain and height
 * concerned; checks go on after a problem where they still mean something.
 */
#ifndef CAIRN_BACKUP_VERIFY_H
#define CAIRN_BACKUP_VERIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "util/progress.h"

/* Called once per problem with a one-line description. */
typedef void (*cairn_backup_problem_fn)(void *ctx, const char *problem);

typedef struct cairn_backup_verify_options {
	bool quick;                          /* checks 1 and 2 only */
	cairn_progress *progress;            /* NULL: no progress display */
	cairn_backup_problem_fn on_problem;  /* NULL: problems are only counted */
	void *ctx;
} cairn_backup_verify_options;

#define CAIRN_BACKUP_VERIFY_OPTIONS_INIT {false, NULL, NULL, NULL}

typedef struct cairn_backup_verify_report {
	uint64_t problems;
	uint64_t files;          /* listed in the manifest */
	uint64_t bytes;          /* their total size */
	uint64_t bytes_hashed;   /* read and checksummed */
	uint64_t records;        /* RocksDB records read with checksums verified */
	uint64_t headers;        /* headers validated */
	uint64_t payloads;       /* payloads checked against their header */
	uint32_t pact_files;     /* SQLite files checked */
	bool pact_included;
	uint64_t cut_height;     /* the manifest's */
	double file_seconds;     /* checks 1-2 */
	double header_seconds;   /* check 4 */
	double seconds;          /* everything */
} cairn_backup_verify_report;

/* Verifies the backup at `path`.  CAIRN_OK when the checks ran, whatever
 * they found (out->problems); CAIRN_ENOTFOUND when `path` is no directory. */
int cairn_backup_verify(cairn_backup_verify_report *out, const char *path, const cairn_backup_verify_options *opts);

#endif
