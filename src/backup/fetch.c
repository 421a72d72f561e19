/*
 * fetch.c: reading a backup back from its remote (remote.h): the streamed
 * check of `cairn backup verify s3://...` and the download of a restore.
 *
 * Downloads go into a directory laid out exactly as a local backup, so the
 * existing verify and restore run on it unchanged: the remote manifest's
 * embedded local manifest is written back as manifest.json, every object
 * is fetched to its path (parallel workers, the remote's parallelism) with
 * its SHA-256 computed as it arrives, and `status` (backup-done) is written
 * last, after everything is fsynced.  A directory without that status is
 * an unfinished download: its files are kept only when their size and
 * SHA-256 still match the manifest.
 *
 * Nothing from the store is trusted: the manifest's keys and paths were
 * checked when it was read (catalog.h), and a file whose bytes differ from
 * the manifest is removed and named in the error.
 */
#include "backup/remote.h"
#include "backup/files.h"
#include "backup/manifest.h"
#include "backup/status.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/fs.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/workers.h"

typedef struct fetch_run {
	const cairn_backup_remote *remote;
	cairn_s3 *s3;
	cairn_remote_manifest manifest;
	const char *dir;
	bool save;                 /* download into dir (else only check) */
	cairn_progress *progress;
	cairn_backup_remote_problem_fn on_problem;
	void *ctx;
	pthread_mutex_t lock;      /* guards everything below, the progress display and the callback */
	uint64_t objects, bytes, objects_kept, bytes_kept, problems;
} fetch_run;

/* ---- streamed hashing ---- */

typedef struct hash_sink {
	EVP_MD_CTX *md;
	uint64_t size;
	fetch_run *run;
} hash_sink;

static int hash_bytes(void *ctx, const void *data, size_t len)
{
	hash_sink *s = ctx;
	if (!EVP_DigestUpdate(s->md, data, len))
		return cairn_error_set(CAIRN_ERROR, "SHA-256 failed");
	s->size += len;
	pthread_mutex_lock(&s->run->lock);
	cairn_progress_add(s->run->progress, len);
	pthread_mutex_unlock(&s->run->lock);
	return CAIRN_OK;
}

static void progress_bytes(void *ctx, uint64_t bytes)
{
	fetch_run *run = ctx;
	pthread_mutex_lock(&run->lock);
	cairn_progress_add(run->progress, bytes);
	pthread_mutex_unlock(&run->lock);
}

static void problem(fetch_run *run, const char *fmt, const char *path, const char *detail)
{
	char text[1200];
	snprintf(text, sizeof(text), fmt, path, detail);
	pthread_mutex_lock(&run->lock);
	run->problems++;
	if (run->on_problem)
		run->on_problem(run->ctx, text);
	pthread_mutex_unlock(&run->lock);
}

/* Streams object `o` through SHA-256; a mismatch is a problem, not an error. */
static int check_object(fetch_run *run, const cairn_remote_object *o)
{
	char key[CAIRN_REMOTE_KEY_MAX], hex[CAIRN_S3_SHA256_HEX], sizes[96];
	uint8_t digest[32];
	hash_sink sink = {EVP_MD_CTX_new(), 0, run};
	int rc = sink.md && EVP_DigestInit_ex(sink.md, EVP_sha256(), NULL) ? CAIRN_OK
		: cairn_error_set(CAIRN_ENOMEM, "out of memory");
	if (rc == CAIRN_OK)
		rc = cairn_remote_key(key, sizeof(key), run->remote->prefix, o->key);
	if (rc == CAIRN_OK)
		rc = cairn_s3_get(run->s3, key, hash_bytes, &sink, NULL);
	if (rc == CAIRN_OK && EVP_DigestFinal_ex(sink.md, digest, NULL))
		cairn_hex_encode(hex, digest, sizeof(digest));
	EVP_MD_CTX_free(sink.md);
	if (rc == CAIRN_ENOTFOUND) {
		problem(run, "%s: object %s is missing from the store", o->path, o->key);
		return CAIRN_OK;
	}
	if (rc != CAIRN_OK)
		return cairn_error_prefix(rc, "%s", o->path);
	pthread_mutex_lock(&run->lock);
	run->objects++;
	run->bytes += sink.size;
	pthread_mutex_unlock(&run->lock);
	snprintf(sizes, sizeof(sizes), "%" PRIu64 " bytes, the manifest lists %" PRIu64, sink.size, o->size);
	if (sink.size != o->size)
		problem(run, "%s: object of another size than the manifest's: %s", o->path, sizes);
	else if (strcmp(hex, o->sha256) != 0)
		problem(run, "%s: object %s has another SHA-256 than the manifest lists (corrupted in the store)", o->path,
			o->key);
	return CAIRN_OK;
}

/* ---- downloading ---- */

/* A file left by an interrupted download that still matches is kept. */
static bool already_fetched(fetch_run *run, const cairn_remote_object *o, const char *path)
{
	struct stat st;
	cairn_backup_file_digest d;
	if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != o->size ||
	    cairn_backup__hash_file(&d, path, true) != CAIRN_OK || strcmp(d.sha256, o->sha256) != 0)
		return false;
	pthread_mutex_lock(&run->lock);
	run->objects_kept++;
	run->bytes_kept += o->size;
	cairn_progress_add(run->progress, o->size);
	pthread_mutex_unlock(&run->lock);
	return true;
}

static int fetch_object(fetch_run *run, const cairn_remote_object *o)
{
	char key[CAIRN_REMOTE_KEY_MAX], path[PATH_MAX], sha[CAIRN_S3_SHA256_HEX];
	int rc = cairn_remote_key(key, sizeof(key), run->remote->prefix, o->key);
	if (rc == CAIRN_OK)
		rc = cairn_backup__job_path(path, sizeof(path), run->dir, o->path);
	if (rc != CAIRN_OK || already_fetched(run, o, path))
		return rc;
	if (unlink(path) != 0 && errno != ENOENT)
		return cairn_error_set_errno(CAIRN_EIO, errno, "cannot remove '%s'", path);
	cairn_s3_transfer t = {progress_bytes, run};
	rc = cairn_s3_get_file(sha, run->s3, key, path, &t);
	struct stat st;
	if (rc == CAIRN_OK && (stat(path, &st) != 0 || (uint64_t)st.st_size != o->size))
		rc = cairn_error_set(CAIRN_EINVALID, "object %s has another size than the manifest lists (%" PRIu64 ")",
			o->key, o->size);
	else if (rc == CAIRN_OK && strcmp(sha, o->sha256) != 0)
		rc = cairn_error_set(CAIRN_EINVALID, "object %s has another SHA-256 than the manifest lists (corrupted "
			"in the store)", o->key);
	if (rc != CAIRN_OK) {
		unlink(path);
		return cairn_error_prefix(rc, "%s", o->path);
	}
	pthread_mutex_lock(&run->lock);
	run->objects++;
	run->bytes += o->size;
	pthread_mutex_unlock(&run->lock);
	return CAIRN_OK;
}

static int run_object(void *ctx, size_t i)
{
	fetch_run *run = ctx;
	const cairn_remote_object *o = &run->manifest.objects[i];
	return run->save ? fetch_object(run, o) : check_object(run, o);
}

static int run_workers(fetch_run *run)
{
	cairn_workers_options opts = CAIRN_WORKERS_OPTIONS_INIT;
	opts.parallelism = run->remote->s3.parallelism;
	cairn_progress_begin(run->progress, run->save ? "downloading" : "checking",
		cairn_remote_manifest_bytes(&run->manifest), CAIRN_PROGRESS_BYTES);
	int rc = cairn_workers_run(run->manifest.count, run_object, run, &opts);
	cairn_progress_end(run->progress);
	return rc;
}

/* Reads backup `id`'s manifest, runs `step` on it and releases the run
 * (its counters stay readable); the seconds it all took in *seconds. */
static int perform(double *seconds, fetch_run *run, const cairn_backup_remote *remote, const char *id,
	int (*step)(fetch_run *run))
{
	double t0 = cairn_clock_now();
	run->remote = remote;
	pthread_mutex_init(&run->lock, NULL);
	int rc = cairn_s3_create(&run->s3, &remote->s3);
	if (rc == CAIRN_OK)
		rc = cairn_remote_manifest_fetch(&run->manifest, run->s3, remote->prefix, id);
	if (rc == CAIRN_OK)
		rc = step(run);
	cairn_remote_manifest_free(&run->manifest);
	cairn_s3_free(run->s3);
	pthread_mutex_destroy(&run->lock);
	*seconds = cairn_clock_now() - t0;
	return rc;
}

int cairn_backup_remote_check(cairn_backup_remote_report *out, const cairn_backup_remote *remote, const char *id,
	cairn_progress *progress, cairn_backup_remote_problem_fn on_problem, void *ctx)
{
	memset(out, 0, sizeof(*out));
	fetch_run run = {.progress = progress, .on_problem = on_problem, .ctx = ctx};
	int rc = perform(&out->seconds, &run, remote, id, run_workers);
	out->objects = run.objects;
	out->bytes = run.bytes;
	out->problems = run.problems;
	return rc;
}

/* The local manifest, the directories, then the objects; fsynced; status. */
static int download(fetch_run *run)
{
	static const char *const dirs[] = {"0", "0/rocksDb", "0/sqlite"};
	char path[PATH_MAX];
	int rc = cairn_fs_mkdir_p(run->dir);
	/* no longer a finished backup until this download is */
	if (rc == CAIRN_OK && (rc = cairn_backup__job_path(path, sizeof(path), run->dir, "status")) == CAIRN_OK &&
	    unlink(path) != 0 && errno != ENOENT)
		rc = cairn_error_set_errno(CAIRN_EIO, errno, "cannot remove '%s'", path);
	for (size_t i = 0; rc == CAIRN_OK && i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if ((rc = cairn_backup__job_path(path, sizeof(path), run->dir, dirs[i])) == CAIRN_OK)
			rc = cairn_fs_mkdir_p(path);
	if (rc == CAIRN_OK)
		rc = cairn_backup__job_path(path, sizeof(path), run->dir, "manifest.json");
	if (rc == CAIRN_OK)
		rc = cairn_fs_write_atomic(path, run->manifest.backup_manifest, strlen(run->manifest.backup_manifest));
	cairn_backup_manifest local = {0};
	if (rc == CAIRN_OK && (rc = cairn_backup__manifest_read(&local, path)) == CAIRN_OK &&
	    local.file_count != run->manifest.count)
		rc = cairn_error_set(CAIRN_EINVALID, "the remote manifest names %zu objects, its backup's manifest %zu files",
			run->manifest.count, local.file_count);
	/* a backup without Pact has no 0/sqlite: one left behind would not
	 * verify, so a failed removal fails the fetch */
	if (rc == CAIRN_OK && !local.pact_included && (rc = cairn_backup__job_path(path, sizeof(path), run->dir,
	    "0/sqlite")) == CAIRN_OK && cairn_fault_rmdir(path) != 0)
		rc = cairn_error_set_errno(CAIRN_EIO, errno, "cannot remove directory '%s'", path);
	cairn_backup__manifest_free(&local);
	if (rc == CAIRN_OK)
		rc = run_workers(run);
	for (size_t i = 0; rc == CAIRN_OK && i < run->manifest.count; i++)
		if ((rc = cairn_backup__job_path(path, sizeof(path), run->dir, run->manifest.objects[i].path)) == CAIRN_OK)
			rc = cairn_fs_fsync_path(path);
	for (size_t i = 0; rc == CAIRN_OK && i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if ((rc = cairn_backup__job_path(path, sizeof(path), run->dir, dirs[i])) == CAIRN_OK && cairn_fs_exists(path))
			rc = cairn_fs_fsync_path(path);
	return rc == CAIRN_OK ? cairn_backup__mark(run->dir, CAIRN_BACKUP_DONE, NULL) : rc;
}

int cairn_backup_fetch(cairn_backup_fetch_report *out, const cairn_backup_remote *remote, const char *id,
	const char *dir, cairn_progress *progress)
{
	memset(out, 0, sizeof(*out));
	fetch_run run = {.dir = dir, .save = true, .progress = progress};
	int rc = perform(&out->seconds, &run, remote, id, download);
	out->objects = run.objects;
	out->bytes = run.bytes;
	out->objects_kept = run.objects_kept;
	out->bytes_kept = run.bytes_kept;
	if (rc == CAIRN_OK)
		cairn_log_info("remote", "backup %s downloaded from %s in %.2f s: %" PRIu64 " objects, %.1f MB (%" PRIu64
			" objects, %.1f MB kept from an interrupted download)", id, remote->url, out->seconds, out->objects,
			(double)out->bytes / 1e6, out->objects_kept, (double)out->bytes_kept / 1e6);
	return rc == CAIRN_OK ? CAIRN_OK : cairn_error_prefix(rc, "download of backup %s from %s", id, remote->url);
}
