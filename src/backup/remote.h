/*
 * remote.h: copies of backups in an S3-compatible object store: upload
 * (upload.c), verification and download for a restore (fetch.c).  The
 * store's layout and manifests are src/remote/catalog.h's; this is the
 * glue between a local backup and them.
 *
 * Incremental.  RocksDB table files are immutable and never renamed, so
 * each is uploaded once under its SHA-256 (objects/sha256/...) and every
 * later backup that holds it refers to the same object.  Everything else
 * (the SQLite files, MANIFEST, OPTIONS, CURRENT, the WAL) is uploaded whole
 * under the backup's own prefix.  A backup's table files are hard links to
 * the live database's, and the local manifest lists no checksum for them:
 * they are hashed before the upload (the key must be known first), and the
 * hashes are cached in <backup-directory>/.remote-hashes by (device,
 * inode, size, modification time), so a table file shared by many backups
 * is hashed once.  The bytes sent are hashed again on the way and must
 * match, so a file that changed in between is an error, never a wrong
 * object.
 *
 * Order.  An uploads/<id> marker first; then every object, those already
 * present (HEAD, same size) skipped, so a retried upload sends only what
 * is missing; then the remote manifest; then the marker is removed.  A
 * backup is complete in the store exactly when its manifest is there.
 *
 * Exclusion.  Uploads, remote deletions and remote retention of one backup
 * directory hold <backup-directory>/.remote-lock (an advisory lock that
 * dies with its process), so a collection of unreferenced objects never
 * runs while an upload that may count on them does.
 */
#ifndef CAIRN_BACKUP_REMOTE_H
#define CAIRN_BACKUP_REMOTE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "remote/catalog.h"
#include "remote/s3.h"
#include "util/fs.h"
#include "util/progress.h"

/* A configured remote.  Strings are borrowed by whoever fills it in;
 * cairn_backup_remote_dup makes an owned copy. */
typedef struct cairn_backup_remote {
	cairn_s3_options s3;  /* bucket, endpoint, credentials, part size, parallelism, rate */
	const char *prefix;   /* "" or "some/prefix" */
	const char *url;      /* "s3://bucket/prefix", for messages */
	bool upload_always;   /* every job uploads its backup once sealed */
	cairn_remote_retention retention;
} cairn_backup_remote;

int cairn_backup_remote_dup(cairn_backup_remote **out, const cairn_backup_remote *remote);
void cairn_backup_remote_free(cairn_backup_remote *remote);

/* Takes <directory>/.remote-lock, waiting up to `wait_seconds` for another
 * holder.  CAIRN_EBUSY when it stays held. */
int cairn_backup_remote_lock(cairn_fs_lock **out, const char *directory, double wait_seconds);

typedef struct cairn_backup_upload_options {
	const atomic_bool *cancel;               /* NULL: never cancelled */
	void (*on_progress)(void *ctx, uint64_t bytes); /* bytes sent, from any thread */
	void *ctx;
	bool locked;                             /* the caller holds .remote-lock already */
} cairn_backup_upload_options;

#define CAIRN_BACKUP_UPLOAD_OPTIONS_INIT {NULL, NULL, NULL, false}

typedef struct cairn_backup_upload_report {
	uint64_t files;                       /* files of the backup */
	uint64_t objects_sent, bytes_sent;    /* uploaded now */
	uint64_t objects_reused, bytes_reused; /* already in the store */
	uint64_t bytes_hashed;                /* table files hashed (cache misses) */
	bool already_complete;                /* the store held the whole backup before */
	double seconds;
} cairn_backup_upload_report;

/* Uploads finished backup <directory>/<id>. */
int cairn_backup_upload(cairn_backup_upload_report *out, const cairn_backup_remote *remote, const char *directory,
	const char *id, const cairn_backup_upload_options *opts);

/* Applies the remote's retention under .remote-lock (taken unless
 * `locked`). */
int cairn_backup_remote_retention(cairn_remote_removal *out, const cairn_backup_remote *remote,
	const char *directory, bool locked);

/* ---- reading a remote backup (fetch.c) ---- */

typedef void (*cairn_backup_remote_problem_fn)(void *ctx, const char *problem);

typedef struct cairn_backup_remote_report {
	uint64_t objects, bytes;  /* named by the manifest, read and hashed */
	uint64_t problems;
	double seconds;
} cairn_backup_remote_report;

/* Reads every object of remote backup `id`, streamed through SHA-256 and
 * never saved, and checks its size and checksum against the manifest.
 * CAIRN_OK when the checks ran (out->problems counts what they found). */
int cairn_backup_remote_check(cairn_backup_remote_report *out, const cairn_backup_remote *remote, const char *id,
	cairn_progress *progress, cairn_backup_remote_problem_fn on_problem, void *ctx);

typedef struct cairn_backup_fetch_report {
	uint64_t objects, bytes;        /* downloaded now */
	uint64_t objects_kept, bytes_kept; /* already there from an interrupted fetch, checked */
	double seconds;
} cairn_backup_fetch_report;

/* Downloads remote backup `id` into `dir` as a finished local backup
 * (status, manifest.json, 0/...), in parallel, each file's SHA-256 checked
 * against the remote manifest.  Files an interrupted fetch left in `dir`
 * are kept when their size and checksum match, else fetched again; the
 * status file is written last, so `dir` reads as a backup only when
 * complete.  CAIRN_EINVALID (naming the object) when an object's size or
 * checksum differs from the manifest's. */
int cairn_backup_fetch(cairn_backup_fetch_report *out, const cairn_backup_remote *remote, const char *id,
	const char *dir, cairn_progress *progress);

#endif
