/*
 * index.h: the manager's in-memory catalogue of job details, in id order
 * (internal to src/backup).
 *
 * Loaded once when the manager opens (from the catalogue of the directory
 * and each backup's record), then kept in step by the manager: a job's
 * detail is put when it starts and when it ends, an entry is dropped when
 * the manager removes a backup, and entries whose directory vanished
 * (retention, `cairn backup delete`) are pruned after every job.  Lookups
 * are binary searches, so a detail or a page costs the same with 10,000
 * backups as with ten.  Not thread-safe: the manager's mutex guards it.
 */
#ifndef CAIRN_BACKUP_INDEX_H
#define CAIRN_BACKUP_INDEX_H

#include <stddef.h>

#include "backup/backup.h"

typedef struct cairn_backup_index {
	cairn_backup_detail *items;
	size_t count, capacity;
} cairn_backup_index;

/* Fills the index from the backup directory (open as dir_fd). */
int cairn_backup__index_load(cairn_backup_index *idx, int dir_fd, const char *directory);

/* Inserts `d`, or replaces the entry of its id. */
int cairn_backup__index_put(cairn_backup_index *idx, const cairn_backup_detail *d);

/* The entry of `id`, or NULL. */
cairn_backup_detail *cairn_backup__index_find(cairn_backup_index *idx, const char *id);

/* The newest restorable backup that includes Pact state when `with_pact`
 * (any restorable one otherwise), or NULL. */
const cairn_backup_detail *cairn_backup__index_last_restorable(const cairn_backup_index *idx, bool with_pact);

void cairn_backup__index_drop(cairn_backup_index *idx, const char *id);

/* Drops the entries whose directory no longer exists. */
void cairn_backup__index_prune(cairn_backup_index *idx, int dir_fd);

/* One page, as cairn_backup_page describes. */
int cairn_backup__index_page(cairn_backup_detail **out, size_t *out_count, char out_next[CAIRN_BACKUP_ID_MAX + 1],
	const cairn_backup_index *idx, const cairn_backup_page_options *opts);

void cairn_backup__index_free(cairn_backup_index *idx);

#endif
