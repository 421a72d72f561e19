/*
 * catalog.h: the backups in a backup directory, read from disk without
 * the node: for `cairn backup list` and `delete`, and for retention.
 *
 * A cairn backup is an entry of the backup directory whose name is a valid
 * id (cairn_backup_id_is_valid), that is a directory (not a link) and that
 * holds a status file naming a state.  Nothing else is ever listed or
 * removed.
 *
 * Running.  A backup is running when its status is backup-in-progress and
 * the backup directory's lock (<directory>/.lock, held by the node that
 * owns the directory) is held.  A node that dies leaves its job in
 * progress but releases the lock with its last descriptor, so a crashed
 * job's leftovers are never "running"; the next node to open the
 * directory marks them failed.
 */
#ifndef CAIRN_BACKUP_CATALOG_H
#define CAIRN_BACKUP_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backup/backup.h"

typedef struct cairn_backup_info {
	char id[CAIRN_BACKUP_ID_MAX + 1];
	bool has_time;           /* the id is UNIX milliseconds, as cairn makes them */
	uint64_t time_ms;
	cairn_backup_state state;
	bool running;
	bool pact_included;      /* from the manifest (done backups) */
	bool has_cut;            /* done backups with a readable manifest */
	uint64_t cut_height;
	uint64_t bytes;          /* the manifest's total; 0 without one */
} cairn_backup_info;

/* The backups in `directory`, oldest id first (numeric ids by value, then
 * others by name).  Release with free(). */
int cairn_backup_list(cairn_backup_info **out, size_t *out_count, const char *directory);

/* "2024-05-01T12:00:00.123Z" from UNIX milliseconds (25 bytes). */
void cairn_backup_format_time(char out[32], uint64_t time_ms);

/* Removes backup `id` (validated first): renamed out of sight to
 * ".deleting-<id>" and then removed, so an interrupted delete never leaves
 * a half-removed backup that lists as done.  Refuses a running backup
 * (CAIRN_EBUSY); CAIRN_ENOTFOUND when `id` names no backup.  Leftovers of
 * interrupted deletes are removed too. */
int cairn_backup_delete(const char *directory, const char *id);

#endif
