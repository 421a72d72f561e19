/*
 * job.h: one backup job and the files that record its state (internal to
 * src/backup; the manager creates jobs and runs each on its own thread).
 */
#ifndef CAIRN_BACKUP_JOB_H
#define CAIRN_BACKUP_JOB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backup/backup.h"

typedef struct cairn_backup_job {
	char id[CAIRN_BACKUP_ID_MAX + 1];
	cairn_backup_request request;
	const cairn_backup_source *source;
	const char *directory;    /* the backup directory */
	int parallelism;          /* > 0 */
	const atomic_bool *stop;  /* set when the node shuts down */
	double started_at;        /* monotonic seconds at cairn_backup_start */
	_Atomic int state;        /* cairn_backup_state */
} cairn_backup_job;

/* Runs the job to its end: state DONE with status backup-done, or FAILED
 * with status backup-failed, the reason in `failure` and its data removed.
 * <directory>/<id> and its backup-in-progress status exist already. */
void cairn_backup__job_run(cairn_backup_job *job);

/* Writes "<directory>/<id>" into buf. */
int cairn_backup__job_path(char *buf, size_t size, const char *directory, const char *id);

/* Records `state` in <root>/status atomically (and, for FAILED, `reason`
 * in <root>/failure first).  A failure status that cannot be written
 * atomically (a full disk) overwrites the old status in place. */
int cairn_backup__mark(const char *root, cairn_backup_state state, const char *reason);

/* The state a status file's text names; CAIRN_ENOTFOUND when none. */
int cairn_backup__parse_status(cairn_backup_state *out, const char *text);

/* True (with the value) when `name` is all digits and fits in 64 bits:
 * an id as cairn makes them, UNIX milliseconds. */
bool cairn_backup__numeric_id(uint64_t *out, const char *name);

/* Reads the status of entry `id` of the backup directory open as dir_fd,
 * without following links; CAIRN_ENOTFOUND when it is no backup. */
int cairn_backup__read_status_at(cairn_backup_state *out, int dir_fd, const char *id);

/* Removes everything in <root> but `status` and `failure`. */
int cairn_backup__discard(const char *root);

#endif
