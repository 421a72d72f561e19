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
 *   - One cut: the RocksDB checkpoint defines it, the Pact snapshots are
 *     taken under the commit lock after it (so they hold at least that cut)
 *     and every Pact copy is rolled back to end exactly at it.  The lock is
 *     held only for the snapshots, about a millisecond (job.c).
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
} cairn_backup_options;

#define CAIRN_BACKUP_OPTIONS_INIT {NULL, 0, CAIRN_BACKUP_RETENTION_INIT}

/* Job states.  The Chainweb API shows PREPARING and COPYING as
 * backup-in-progress; the phases are kept apart for logs and for a richer
 * management API. */
typedef enum cairn_backup_state {
	CAIRN_BACKUP_PREPARING, /* before and during the consistency point */
	CAIRN_BACKUP_COPYING,   /* copying, checksumming and syncing */
	CAIRN_BACKUP_DONE,
	CAIRN_BACKUP_FAILED,
} cairn_backup_state;

/* Chainweb's name of a state, which is also the text of a status file:
 * backup-in-progress, backup-done or backup-failed. */
const char *cairn_backup_status_text(cairn_backup_state state);

typedef struct cairn_backup_request {
	bool include_pact; /* back up every chain's Pact state too */
} cairn_backup_request;

#define CAIRN_BACKUP_REQUEST_INIT {false}

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
 * and sets *out_started to false instead.  Fails only when the job cannot
 * even be created (its directory or status file cannot be written). */
int cairn_backup_start(char *out_id, bool *out_started, cairn_backup_manager *m,
	const cairn_backup_request *req);

/* The state of backup `id`; CAIRN_ENOTFOUND for an invalid id or one that
 * names no backup. */
int cairn_backup_state_of(cairn_backup_state *out, cairn_backup_manager *m, const char *id);

/* Waits until no job runs. */
void cairn_backup_wait_idle(cairn_backup_manager *m);

#endif
