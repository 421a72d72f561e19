/*
 * restore.h: restoring one backup into a database directory a node can
 * start from (cairn backup restore).
 *
 * Crash safety by staging.  Everything is written into the staging
 * directory <DIR>.restoring (a sibling of DIR, so on the same file
 * system): every file copied by the kernel (copy_file_range, as cp does)
 * and checked against the manifest's size, then everything written back
 * at once (syncfs),
 * then every file and directory of the staging tree fsynced.  Only then is the staging directory renamed to DIR, one atomic
 * rename, and DIR's parent fsynced.  So DIR is either what it was before,
 * absent, or the complete restore: an interrupted restore never leaves a
 * DIR that looks complete.  A later restore removes the staging leftovers
 * and starts again.
 *
 * Exclusion.  The restore holds <DIR>.restoring/LOCK for its whole run,
 * and the file comes along with the rename, as DIR/LOCK, the node's lock
 * file: a second restore, or a node started on DIR before the restore has
 * exited, is refused.  A DIR whose LOCK a running node holds is refused.
 *
 * An existing DIR.  An empty DIR is replaced.  A non-empty one is refused
 * unless `force`; then it is renamed to <DIR>.replaced-<UTC time> just
 * before the staging directory takes its name, and kept: removing it is
 * the operator's decision (the report names it).
 *
 * Checksums are verification's business: by default the whole backup is
 * verified just before the copy (--no-verify skips it and trusts the
 * backup), so the copy does not hash the bytes a second time; hashing on
 * the way cost 0.3 s per 150 MB here, twice the copy itself.
 *
 * Copies, not links.  The restored files are copies, never hard links to
 * the backup's: the backup's table files are themselves links to the live
 * database's, and a node running on the restored directory must share no
 * inode with either (a byte changed through one would change the others).
 *
 * Without Pact the backup restores the chain database only; the node
 * creates empty Pact databases at its first start and rebuilds them from
 * the chain (recovery.h), so it comes back consistent either way.  The
 * node also validates every restored block at that start: the restored
 * directory has no record of validated blocks.
 */
#ifndef CAIRN_BACKUP_RESTORE_H
#define CAIRN_BACKUP_RESTORE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "backup/verify.h"

typedef struct cairn_backup_restore_options {
	bool force;                          /* move a non-empty DIR aside */
	bool verify;                         /* full verification first */
	cairn_progress *progress;            /* NULL: no progress display */
	cairn_backup_problem_fn on_problem;  /* problems verification finds */
	void *ctx;
	bool move;                           /* rename the backup's files rather than copy them: only for a
	                                        private download on DIR's file system (fetch.c), which the
	                                        restore consumes */
} cairn_backup_restore_options;

#define CAIRN_BACKUP_RESTORE_OPTIONS_INIT {false, true, NULL, NULL, NULL, false}

typedef struct cairn_backup_restore_report {
	bool verified;                   /* verification ran: `verify` holds its report */
	cairn_backup_verify_report verify;
	uint64_t files, bytes;           /* copied */
	double seconds;                  /* the copy, from staging to the rename */
	char replaced[PATH_MAX];         /* where a forced restore moved DIR's contents; "" if nowhere */
} cairn_backup_restore_report;

/* Restores the backup at `backup_path` into `database_dir`.  Refusals:
 * CAIRN_EBUSY (a node or another restore holds the directory),
 * CAIRN_EEXISTS (not empty, no force), CAIRN_EINVALID (verification found
 * problems, or a copied file differs from the manifest). */
int cairn_backup_restore(cairn_backup_restore_report *out, const char *backup_path, const char *database_dir,
	const cairn_backup_restore_options *opts);

#endif
