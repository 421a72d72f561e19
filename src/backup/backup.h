/*
 * backup.h: consistent, durable backups of the node's stores, one job at a
 * time, each on its own thread.
 *
 * The engine knows nothing of HTTP and nothing of the node: it reaches the
 * stores through a cairn_backup_source (a function that runs code under the
 * node's commit lock, and the stores), which the node fills in.
 *
 * A backup of id ID is the directory <directory>/ID:
 *   status                  backup-in-progress | backup-done | backup-failed
 *   failure                 the reason, one line (failed jobs only)
 *   manifest.json           what the backup holds (done jobs only; manifest.c)
 *   0/rocksDb/              RocksDB checkpoint of the chain database
 *   0/sqlite/pact-v1-chain-N.sqlite   every chain's Pact state (with Pact)
 * so the directory is itself a database directory a node can start from.
 *
 * Guarantees:
 *   - One cut: the RocksDB checkpoint defines it; after it the commit lock
 *     is taken once and every chain's open Pact group committed, so each
 *     Pact snapshot, taken when its chain's copy starts, holds at least that
 *     cut, and every Pact copy is rolled back to end exactly at it (job.c).
 *   - Done means durable: every file and directory of the backup has been
 *     fsynced, then manifest.json, then status is replaced atomically.
 *   - Failure is a state: any error ends the job as failed with a reason;
 *     jobs a previous process left in progress become failed ("interrupted")
 *     when the manager opens, with their partial data removed.
 *   - Ids are UNIX time in milliseconds, strictly greater than every id in
 *     the directory, even within one millisecond and across restarts.
 *   - While a job runs, starting another returns the running job's id.
 *   - Client-supplied ids are checked against [A-Za-z0-9_-]{1,64} before
 *     anything touches the file system, and are opened only relative to the
 *     backup directory's descriptor, never following symbolic links.
 * The manager holds an exclusive lock on <directory>/.lock: one process
 * owns a backup directory.  After every job it applies the retention
 * policy (retention.h), on the job's thread, before another job can start.
 */
#ifndef CAIRN_BACKUP_BACKUP_H
#define CAIRN_BACKUP_BACKUP_H

#include <stdbool.h>
#include <stdint.h>

#include "backup/retention.h"

struct cairn_chaindb;
struct cairn_pactdb;

#define CAIRN_BACKUP_ID_MAX 64 /* characters of an id, without the NUL */

/* Where a job takes its data from; filled in by the node. */
typedef struct cairn_backup_source {
	void *ctx;
	/* Runs fn(arg) with no block being committed; returns fn's result. */
	int (*with_commit_lock)(void *ctx, int (*fn)(void *arg), void *arg);
	/* The chain database; NULL while none is attached (jobs then fail). */
	struct cairn_chaindb *(*chaindb)(void *ctx);
	/* The Pact database of `chain`, NULL when the chain has none. */
	struct cairn_pactdb *(*pactdb)(void *ctx, uint32_t chain);
	/* A directory on the chain database's file system, used only when the
	 * backup directory is on another one: the checkpoint is hard-linked
	 * there under the lock and copied out after it (job.c).  NULL: the
	 * checkpoint then copies across file systems under the lock. */
	const char *staging_directory;
} cairn_backup_source;

typedef struct cairn_backup_options {
	const char *directory; /* the backup directory; created if missing */
	int parallelism;       /* Pact files copied at once; 0: number of cores */
	cairn_backup_retention retention; /* applied after every job (retention.h) */
	uint64_t rate_limit_bps; /* Pact copies' speed limit, bytes per second; 0: none */
	const struct cairn_backup_remote *remote; /* remote.h; NULL: none.  Copied.  With upload_always,
	                                             each job uploads its sealed backup (then the remote's
	                                             retention runs); a failed upload ends the job
	                                             DONE_WITH_ERRORS with an "upload" error */
} cairn_backup_options;

#define CAIRN_BACKUP_OPTIONS_INIT {NULL, 0, CAIRN_BACKUP_RETENTION_INIT, 0, NULL}

/* Job states, with the management API's names (cairn_backup_state_name).
 * The Chainweb API shows them as three words (cairn_backup_status_text):
 * DONE and DONE_WITH_ERRORS read backup-done; FAILED, STOPPED and SKIPPED
 * read backup-failed; the rest read backup-in-progress. */
typedef enum cairn_backup_state {
	CAIRN_BACKUP_QUEUED,           /* "queued": created, not started yet */
	CAIRN_BACKUP_PREPARING,        /* "preparing": flush, checkpoint, snapshots */
	CAIRN_BACKUP_COPYING,          /* "in_progress": copying, checksumming, syncing */
	CAIRN_BACKUP_STOP_REQUESTED,   /* "stop_requested": ends STOPPED within a second */
	CAIRN_BACKUP_DONE,             /* "completed" */
	CAIRN_BACKUP_DONE_WITH_ERRORS, /* "completed_with_errors": complete and restorable, a later step failed */
	CAIRN_BACKUP_FAILED,           /* "failed": its data removed */
	CAIRN_BACKUP_STOPPED,          /* "stopped": its data removed */
	CAIRN_BACKUP_SKIPPED,          /* "skipped": a scheduled job that did not run */
} cairn_backup_state;

/* Chainweb's name of a state: backup-in-progress, backup-done or
 * backup-failed. */
const char *cairn_backup_status_text(cairn_backup_state state);

/* The management API's name of a state: "queued", "in_progress", ... */
const char *cairn_backup_state_name(cairn_backup_state state);

/* True for DONE, DONE_WITH_ERRORS, FAILED, STOPPED and SKIPPED. */
bool cairn_backup_state_is_terminal(cairn_backup_state state);

typedef enum cairn_backup_method {
	CAIRN_BACKUP_MANUAL,   /* requested through an API */
	CAIRN_BACKUP_PERIODIC, /* started by the schedule */
} cairn_backup_method;

typedef struct cairn_backup_request {
	bool include_pact; /* back up every chain's Pact state too */
	cairn_backup_method method;
} cairn_backup_request;

#define CAIRN_BACKUP_REQUEST_INIT {false, CAIRN_BACKUP_MANUAL}

typedef struct cairn_backup_manager cairn_backup_manager;

/* True when `id` matches [A-Za-z0-9_-]{1,64}. */
bool cairn_backup_id_is_valid(const char *id);

/* Opens the backup directory (creating it if needed), locks it, fails the
 * jobs an earlier process left in progress and finds the id floor.  The
 * source is copied; the stores it reaches must outlive the manager. */
int cairn_backup_manager_open(cairn_backup_manager **out, const cairn_backup_source *source,
	const cairn_backup_options *opts);

/* Stops a running job (it ends as failed, "stopped", after the Pact file
 * copies in flight finish), waits for it and releases the directory.  Call
 * it before the stores close. */
void cairn_backup_manager_close(cairn_backup_manager *m);

/* Starts a job and writes its id into out_id (CAIRN_BACKUP_ID_MAX + 1
 * bytes); *out_started is true.  While a job runs, writes that job's id
 * and sets *out_started to false instead.  A periodic request does not run
 * while a job runs, nor when the cut has not moved since the newest
 * restorable backup that holds what it asks for: it is then recorded as a
 * job of its own in state SKIPPED, whose id is written (*out_started
 * false).  Fails only when the job cannot even be created (its directory
 * or status file cannot be written). */
int cairn_backup_start(char *out_id, bool *out_started, cairn_backup_manager *m,
	const cairn_backup_request *req);

/* The state of backup `id`; CAIRN_ENOTFOUND for an invalid id or one that
 * names no backup. */
int cairn_backup_state_of(cairn_backup_state *out, cairn_backup_manager *m, const char *id);

/* Waits until no job runs. */
void cairn_backup_wait_idle(cairn_backup_manager *m);

/* The backup directory the manager owns. */
const char *cairn_backup_manager_directory(const cairn_backup_manager *m);

/* Creates the backup directory again, and takes its lock, when it was
 * removed or replaced since the manager opened it (logged); also done
 * before every job.  A no-op while a job runs.  The node calls it every
 * second, so a second node is refused the directory as before. */
void cairn_backup_manager_check_directory(cairn_backup_manager *m);

/* ---- the management view of jobs ---- */

#define CAIRN_BACKUP_REASON_MAX 64       /* an error reason: "unable_to_process_some_files" */
#define CAIRN_BACKUP_DIAGNOSTICS_MAX 512 /* one line */

/* Everything known about one job; counters are live while it runs.
 * Times are UNIX microseconds, 0 while unknown. */
typedef struct cairn_backup_detail {
	char id[CAIRN_BACKUP_ID_MAX + 1];
	cairn_backup_state state;
	cairn_backup_method method;
	bool include_pact;
	uint64_t created_us;  /* when the job was created (its id's time for cairn's ids) */
	uint64_t started_us;  /* when it left QUEUED */
	uint64_t ended_us;    /* when it reached a terminal state */
	bool has_cut;         /* the consistency point is known */
	uint64_t cut_height;  /* the cut's height, as GET /cut sums it */
	uint64_t files_searched, files_backed_up;
	uint64_t bytes_searched, bytes_backed_up;
	uint64_t bytes_in_db;        /* the live stores' size when the job began */
	uint64_t bandwidth_avg_bps;  /* bytes_backed_up over the time spent copying */
	uint64_t size_on_disk;       /* bytes the backup occupies (its manifest's total once done) */
	bool restorable;             /* complete, and its manifest reads back and checks */
	uint64_t upload_bytes;       /* bytes sent to the remote (live during the upload) */
	uint64_t upload_bandwidth_bps; /* upload_bytes over the time spent uploading */
	size_t error_count;
	char reason[CAIRN_BACKUP_REASON_MAX];           /* "" without errors */
	char diagnostics[CAIRN_BACKUP_DIAGNOSTICS_MAX]; /* "" without errors */
} cairn_backup_detail;

/* The detail of job `id`; CAIRN_ENOTFOUND for an invalid id or one that
 * names no backup.  Answered from memory: cheap with 10,000 backups. */
int cairn_backup_describe(cairn_backup_detail *out, cairn_backup_manager *m, const char *id);

/* The newest restorable backup (with or without Pact); CAIRN_ENOTFOUND
 * when there is none.  Answered from memory. */
int cairn_backup_newest_restorable(cairn_backup_detail *out, cairn_backup_manager *m);

typedef struct cairn_backup_page_options {
	const char *marker;    /* NULL: from the first job in the order */
	bool marker_inclusive; /* the page starts at the marker (else just after it) */
	size_t limit;          /* > 0 */
	bool newest_first;     /* descending ids (else ascending) */
} cairn_backup_page_options;

#define CAIRN_BACKUP_PAGE_OPTIONS_INIT {NULL, false, 100, true}

/* One page of jobs in id order; *out_next is the id of the job that would
 * start the next page ("" when this page is the last).  A marker naming
 * no job is CAIRN_ENOTFOUND.  Release *out with free(). */
int cairn_backup_page(cairn_backup_detail **out, size_t *out_count, char out_next[CAIRN_BACKUP_ID_MAX + 1],
	cairn_backup_manager *m, const cairn_backup_page_options *opts);

/* An event of a job's life, recorded durably as it happens (they survive a
 * restart).  type: backup_queued, backup_preparing, backup_in_progress,
 * backup_progress (with the byte counts), backup_stop_request,
 * backup_completed, backup_failed, backup_stopped or backup_skipped. */
typedef struct cairn_backup_event {
	uint64_t time_us;
	char type[32];
	uint64_t bytes_completed, bytes_remaining, total_bytes; /* backup_progress only */
} cairn_backup_event;

/* The events of job `id`, oldest first; release *out with free(). */
int cairn_backup_events(cairn_backup_event **out, size_t *out_count, cairn_backup_manager *m, const char *id);

/* One error of a job: what failed and where. */
typedef struct cairn_backup_error {
	char path[256];         /* the file or step concerned ("" when none) */
	char type[32];          /* "io", "retention", "stopped", "interrupted", ... */
	char description[512];
} cairn_backup_error;

/* The errors of job `id` in the order they happened (index = position);
 * none for a job without errors.  Release *out with free(). */
int cairn_backup_errors(cairn_backup_error **out, size_t *out_count, cairn_backup_manager *m, const char *id);

/* Asks running job `id` to stop: it is STOP_REQUESTED at once and ends
 * STOPPED within a second, its partial data removed.  CAIRN_ENOTFOUND for
 * no such job; CAIRN_ESTATE (with the reason) when it has already ended. */
int cairn_backup_stop(cairn_backup_manager *m, const char *id);

/* Removes finished backup `id` as cairn_backup_delete does, keeping the
 * manager's view in step.  CAIRN_EBUSY while it runs, CAIRN_ENOTFOUND when
 * there is no such backup. */
int cairn_backup_remove(cairn_backup_manager *m, const char *id);

#endif
