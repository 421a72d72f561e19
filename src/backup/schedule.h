/*
 * schedule.h: scheduled backups, "set and forget".
 *
 * The node runs the schedule on one of its workers (node.c): every
 * `interval_seconds` from its start, at a fixed cadence (a slow job does
 * not push later ones back), it calls cairn_backup_schedule_tick.  A tick
 * starts an ordinary job through cairn_backup_start: the same ids, the
 * same single flight (a tick that finds a job running starts nothing and
 * says so in the log), visible through check-backup, and followed by the
 * manager's retention.
 */
#ifndef CAIRN_BACKUP_SCHEDULE_H
#define CAIRN_BACKUP_SCHEDULE_H

#include <stdbool.h>

#include "backup/backup.h"

typedef struct cairn_backup_schedule_options {
	double interval_seconds; /* > 0 */
	bool include_pact;
} cairn_backup_schedule_options;

#define CAIRN_BACKUP_SCHEDULE_OPTIONS_INIT {0.0, false}

/* One tick: starts a job on `m`, or logs the running job it found. */
void cairn_backup_schedule_tick(cairn_backup_manager *m, const cairn_backup_schedule_options *opts);

#endif
