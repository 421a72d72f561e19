/*
 * schedule.h: scheduled backups, "set and forget".
 *
 * A thread starts a job every `interval_seconds` through
 * cairn_backup_start, so a scheduled job is an ordinary job: the same ids,
 * the same single flight (a tick that finds a job running starts nothing
 * and says so in the log), visible through check-backup, and followed by
 * the manager's retention.  Ticks keep a fixed cadence from the moment the
 * schedule starts (the first backup one interval after it), so a slow job
 * does not push the later ones back.
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

typedef struct cairn_backup_schedule cairn_backup_schedule;

/* Starts the schedule on `m`, which must outlive it. */
int cairn_backup_schedule_start(cairn_backup_schedule **out, cairn_backup_manager *m,
	const cairn_backup_schedule_options *opts);

/* Stops the thread (a job it started goes on; the manager stops that).
 * NULL is accepted. */
void cairn_backup_schedule_stop(cairn_backup_schedule *s);

#endif
