/*
 * retention.h: which backups to keep, applied by the manager after every
 * job that ends (scheduled or requested through the API).
 *
 * Only cairn backups whose id is a time (UNIX milliseconds, as cairn makes
 * them) are ever considered (catalog.h); anything else in the directory is
 * left alone.  A backup in progress is never removed, and neither is the
 * newest successful backup, whatever its age.  Then:
 *   - successful backups beyond the newest keep_last are removed;
 *   - finished backups (successful or failed) older than max_age are removed;
 *   - a failed backup older than the newest successful one is removed: that
 *     success supersedes it.  Failed backups newer than every success stay
 *     (they say that backups are failing now) and never count toward
 *     keep_last.
 */
#ifndef CAIRN_BACKUP_RETENTION_H
#define CAIRN_BACKUP_RETENTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cairn_backup_retention {
	int keep_last;          /* successful backups kept; 0: no limit */
	double max_age_seconds; /* 0: no limit */
} cairn_backup_retention;

#define CAIRN_BACKUP_RETENTION_INIT {0, 0.0}

/* True when the policy can remove anything: either limit is set. */
bool cairn_backup_retention_is_set(const cairn_backup_retention *policy);

/* Applies the policy to `directory` at time now_ms (UNIX milliseconds);
 * *out_removed counts the backups removed.  Stops at the first removal
 * that fails. */
int cairn_backup_retention_apply(size_t *out_removed, const char *directory, const cairn_backup_retention *policy,
	uint64_t now_ms);

#endif
