/*
 * job.h: one backup job and the files that record its state (internal to
 * src/backup; the manager creates jobs and runs each on its own thread).
 */
#ifndef CAIRN_BACKUP_JOB_H
#define CAIRN_BACKUP_JOB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backup/backup.h"
#include "backup/record.h"
#include "backup/status.h"

typedef struct cairn_backup_job {
	char id[CAIRN_BACKUP_ID_MAX + 1];
	cairn_backup_request request;
	const cairn_backup_source *source;
	const char *directory;    /* the backup directory */
	int parallelism;          /* > 0 */
	const atomic_bool *stop;  /* set when the node shuts down */
	uint64_t rate_limit_bps;  /* Pact copies' speed limit; 0: none */
	double started_at;        /* monotonic seconds at cairn_backup_start */
	_Atomic int state;        /* cairn_backup_state */
	atomic_bool stop_requested; /* through the management API: ends STOPPED */
	atomic_bool cancel;       /* stop_requested or the node's stop: copies end early */
	_Atomic uint64_t copying; /* bytes of Pact copies in flight, written so far */
	double copy_started;      /* monotonic seconds when COPYING began; 0 before */
	_Atomic uint64_t uploaded; /* bytes sent to the remote so far */
	double upload_started, upload_ended; /* monotonic seconds; 0 before */
	pthread_mutex_t lock;     /* guards record */
	cairn_backup_record record;
} cairn_backup_job;

/* ---- the job's record, kept as it runs (progress.c) ---- */

/* A job of `id` for `req`, in state QUEUED with its event recorded (not
 * yet saved).  Release with cairn_backup__job_free. */
int cairn_backup__job_create(cairn_backup_job **out, const char *id, const cairn_backup_request *req);
void cairn_backup__job_free(cairn_backup_job *job);

/* Moves the job to `state`, records `event` and saves the record before
 * anyone can read the state.  Terminal states set ended_us; PREPARING
 * sets started_us. */
void cairn_backup__job_enter(cairn_backup_job *job, cairn_backup_state state, const char *event);

/* One file examined (`bytes` of it); `written` when its bytes were
 * written into the backup rather than linked. */
void cairn_backup__job_count(cairn_backup_job *job, bool written, uint64_t bytes);

/* Adds to the bytes the job will examine. */
void cairn_backup__job_expect(cairn_backup_job *job, uint64_t bytes);

/* Records a backup_progress event with the counters as they are. */
void cairn_backup__job_progress(cairn_backup_job *job);

/* Records an error (reason: the detail's one-word reason). */
void cairn_backup__job_error(cairn_backup_job *job, const char *reason, const char *path, const char *type,
	const char *description);

/* A sealed backup's cut and size: it is restorable. */
void cairn_backup__job_sealed(cairn_backup_job *job, uint64_t cut_height, uint64_t size);

/* Asks the job to stop: STOP_REQUESTED at once, recorded and saved;
 * CAIRN_ESTATE when it has already ended. */
int cairn_backup__job_request_stop(cairn_backup_job *job);

/* The upload to the remote: its start, bytes as they are sent (from any
 * thread) and its end, which fixes the detail's upload counters. */
void cairn_backup__job_upload_begin(cairn_backup_job *job);
void cairn_backup__job_upload_add(void *job, uint64_t bytes);
void cairn_backup__job_upload_end(cairn_backup_job *job);

/* The live detail: counters include the Pact bytes in flight. */
void cairn_backup__job_describe(cairn_backup_detail *out, cairn_backup_job *job);

/* Copies of the job's events and errors (release with free()). */
int cairn_backup__job_events(cairn_backup_event **out, size_t *out_count, cairn_backup_job *job);
int cairn_backup__job_errors(cairn_backup_error **out, size_t *out_count, cairn_backup_job *job);

/* Runs the job to its end and returns the outcome: DONE with status
 * backup-done, or FAILED (the error recorded) or STOPPED, with status
 * backup-failed, the reason in `failure` and its data removed.  The
 * caller enters the terminal state (after retention, which may turn DONE
 * into DONE_WITH_ERRORS).  <directory>/<id> and its backup-in-progress
 * status exist already. */
cairn_backup_state cairn_backup__job_run(cairn_backup_job *job);

#endif
