/*
 * record.h: a job's record, everything the management view knows about
 * it (internal to src/backup).
 *
 * The record is the job's detail, its events and its errors.  The running
 * job's record lives in memory (guarded by its job's lock) and is written
 * to <root>/job.json atomically at every change of state, before that
 * state is reported anywhere: a restart therefore finds every state event
 * that was ever shown.  Progress events are written with the next state
 * event.  A record read back is checked field by field; one that does not
 * parse is ignored (the backup then reads as its status file says), never
 * trusted half-way.
 */
#ifndef CAIRN_BACKUP_RECORD_H
#define CAIRN_BACKUP_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "backup/backup.h"

#define CAIRN_BACKUP__RECORD_FILE "job.json"

typedef struct cairn_backup_record {
	cairn_backup_detail detail;
	cairn_backup_event *events;
	size_t event_count, event_capacity;
	cairn_backup_error *errors;
	size_t error_count, error_capacity;
} cairn_backup_record;

/* Appends an event of `type` at time_us (a state event, or
 * "backup_progress" with the detail's byte counts). */
int cairn_backup__record_event(cairn_backup_record *r, const char *type, uint64_t time_us);

/* Appends an error; the first one also sets the detail's reason and
 * diagnostics, and error_count follows. */
int cairn_backup__record_error(cairn_backup_record *r, const char *reason, const char *path, const char *type,
	const char *description);

/* Writes the record to <root>/job.json atomically (fsynced). */
int cairn_backup__record_save(const cairn_backup_record *r, const char *root);

/* Reads entry `id`'s record through the backup directory's descriptor
 * without following links; CAIRN_ENOTFOUND when there is none, CAIRN_EINVALID
 * when it does not parse. */
int cairn_backup__record_load(cairn_backup_record *out, int dir_fd, const char *id);

/* Copies events and errors of `r` into fresh arrays (release with free()). */
int cairn_backup__record_copy_events(cairn_backup_event **out, size_t *out_count, const cairn_backup_record *r);
int cairn_backup__record_copy_errors(cairn_backup_error **out, size_t *out_count, const cairn_backup_record *r);

void cairn_backup__record_free(cairn_backup_record *r);

#endif
