/*
 * upload.c: sending a finished backup to its remote (remote.h).
 *
 * Workers (the remote's parallelism, 4 by default) take the manifest's
 * files in order; each file is one object, a multipart upload inside the
 * client when large.  Every object is checked twice: the client compares
 * the store's echo of each part with what it sent, and the SHA-256 of the
 * bytes sent must equal the one the key or the local manifest promises.
 * The first failure stops the other workers at their next file.
 *
 * Nothing uploaded is ever overwritten: a key already present with the
 * expected size is skipped.  For a content key that is the object itself;
 * for a backup's own file it can only be an earlier, interrupted upload of
 * the same immutable local file (PUTs are atomic: an object is whole or
 * absent), so a retry sends exactly what is missing.
 */
#include "backup/remote.h"
#include "backup/files.h"
#include "backup/manifest.h"
#include "backup/status.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/workers.h"

#define HASH_CACHE ".remote-hashes"
#define REMOTE_LOCK ".remote-lock"

/* ---- the remote's settings ---- */

static char *dup_or_null(const char *s, bool *failed)
{
	char *copy = s ? strdup(s) : NULL;
	*failed |= s != NULL && copy == NULL;
	return copy;
}

int cairn_backup_remote_dup(cairn_backup_remote **out, const cairn_backup_remote *remote)
{
	cairn_backup_remote *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	bool failed = false;
	*r = *remote;
	r->s3.endpoint = dup_or_null(remote->s3.endpoint, &failed);
	r->s3.region = dup_or_null(remote->s3.region, &failed);
	r->s3.bucket = dup_or_null(remote->s3.bucket, &failed);
	r->s3.access_key_id = dup_or_null(remote->s3.access_key_id, &failed);
	r->s3.secret_access_key = dup_or_null(remote->s3.secret_access_key, &failed);
	r->s3.session_token = dup_or_null(remote->s3.session_token, &failed);
	r->prefix = dup_or_null(remote->prefix ? remote->prefix : "", &failed);
	r->url = dup_or_null(remote->url ? remote->url : "", &failed);
	if (failed) {
		cairn_backup_remote_free(r);
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	}
	*out = r;
	return CAIRN_OK;
}

void cairn_backup_remote_free(cairn_backup_remote *r)
{
	if (r == NULL)
		return;
	free((char *)r->s3.endpoint);
	free((char *)r->s3.region);
	free((char *)r->s3.bucket);
	free((char *)r->s3.access_key_id);
	free((char *)r->s3.secret_access_key);
	free((char *)r->s3.session_token);
	free((char *)r->prefix);
	free((char *)r->url);
	free(r);
}

int cairn_backup_remote_lock(cairn_fs_lock **out, const char *directory, double wait_seconds)
{
	char path[PATH_MAX];
	int rc = cairn_backup__job_path(path, sizeof(path), directory, REMOTE_LOCK);
	double deadline = cairn_clock_now() + wait_seconds;
	/* every attempt but the last may find the lock held: only the last one's answer counts */
	while (rc == CAIRN_OK) {
		rc = cairn_fs_lock_acquire(out, path);
		if (rc != CAIRN_EBUSY || cairn_clock_now() >= deadline)
			break;
		cairn_clock_sleep(0.1);
		rc = CAIRN_OK;
	}
	return rc == CAIRN_OK ? CAIRN_OK : cairn_error_prefix(rc, "remote operations of '%s'", directory);
}

/* ---- the hash cache ---- */

typedef struct cached_hash {
	uint64_t dev, ino, size;
	int64_t mtime_ns;
	char sha256[CAIRN_S3_SHA256_HEX];
} cached_hash;

typedef struct hash_cache {
	cached_hash *old;   /* read from the file */
	size_t old_count;
	cached_hash *used;  /* this upload's table files: what is written back */
	size_t used_count;
} hash_cache;

static int64_t mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* A missing or damaged cache only costs hashing again. */
static void cache_load(hash_cache *c, const char *directory, size_t files)
{
	char path[PATH_MAX], *text = NULL;
	c->used = calloc(files ? files : 1, sizeof(*c->used));
	if (cairn_backup__job_path(path, sizeof(path), directory, HASH_CACHE) != CAIRN_OK || !cairn_fs_exists(path) ||
	    cairn_fs_read_file(&text, NULL, path) != CAIRN_OK)
		return;
	size_t lines = 0;
	for (const char *p = text; *p; p++)
		lines += *p == '\n';
	c->old = calloc(lines ? lines : 1, sizeof(*c->old));
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); c->old && line; line = strtok_r(NULL, "\n", &save)) {
		cached_hash h;
		if (sscanf(line, "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNd64 " %64s", &h.dev, &h.ino, &h.size,
		    &h.mtime_ns, h.sha256) == 5 && strlen(h.sha256) == 64 && c->old_count < lines)
			c->old[c->old_count++] = h;
	}
	free(text);
}

static const cached_hash *cache_find(const hash_cache *c, const struct stat *st)
{
	for (size_t i = 0; i < c->old_count; i++) {
		const cached_hash *h = &c->old[i];
		if (h->dev == (uint64_t)st->st_dev && h->ino == (uint64_t)st->st_ino && h->size == (uint64_t)st->st_size &&
		    h->mtime_ns == mtime_ns(st))
			return h;
	}
	return NULL;
}

static void cache_save(const hash_cache *c, const char *directory)
{
	char path[PATH_MAX];
	size_t cap = c->used_count * 128 + 1, len = 0;
	char *text = malloc(cap);
	for (size_t i = 0; text && i < c->used_count; i++) {
		const cached_hash *h = &c->used[i];
		if (h->sha256[0] == '\0')
			continue;
		len += (size_t)snprintf(text + len, cap - len, "%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRId64 " %s\n", h->dev,
			h->ino, h->size, h->mtime_ns, h->sha256);
	}
	if (text && cairn_backup__job_path(path, sizeof(path), directory, HASH_CACHE) == CAIRN_OK &&
	    cairn_fs_write_atomic(path, text, len) != CAIRN_OK)
		cairn_log_warn("remote", "cannot save the table file hashes: %s", cairn_error_last());
	free(text);
}

/* ---- one upload ---- */

typedef struct upload_run {
	const cairn_backup_remote *remote;
	const cairn_backup_upload_options *opts;
	cairn_s3 *s3;
	const char *id;
	char root[PATH_MAX];
	cairn_backup_manifest local;
	cairn_remote_manifest manifest; /* objects in the local manifest's order */
	hash_cache cache;
	pthread_mutex_t lock; /* guards the report */
	cairn_backup_upload_report *report;
} upload_run;

static bool is_table_file(const char *path)
{
	size_t len = strlen(path);
	return strncmp(path, "0/rocksDb/", 10) == 0 && len > 4 && strcmp(path + len - 4, ".sst") == 0;
}

static void count_progress(void *ctx, uint64_t bytes)
{
	const upload_run *run = ctx;
	if (run->opts->on_progress)
		run->opts->on_progress(run->opts->ctx, bytes);
}

/* The SHA-256 of table file `i`: the manifest's, the cache's or hashed now. */
static int table_hash(char *sha256, upload_run *run, size_t i, const char *path)
{
	const cairn_backup_manifest_file *f = &run->local.files[i];
	struct stat st;
	if (stat(path, &st) != 0)
		return cairn_error_set_errno(cairn_error_from_errno(errno), errno, "cannot stat '%s'", path);
	cached_hash *slot = &run->cache.used[i];
	*slot = (cached_hash){(uint64_t)st.st_dev, (uint64_t)st.st_ino, (uint64_t)st.st_size, mtime_ns(&st), ""};
	const cached_hash *hit = cache_find(&run->cache, &st);
	if (f->sha256[0] != '\0')
		snprintf(sha256, CAIRN_S3_SHA256_HEX, "%s", f->sha256);
	else if (hit != NULL)
		snprintf(sha256, CAIRN_S3_SHA256_HEX, "%s", hit->sha256);
	else {
		cairn_backup_file_digest d;
		int rc = cairn_backup__hash_file(&d, path, false); /* pages shared with the live database stay */
		if (rc != CAIRN_OK)
			return rc;
		snprintf(sha256, CAIRN_S3_SHA256_HEX, "%s", d.sha256);
		pthread_mutex_lock(&run->lock);
		run->report->bytes_hashed += d.size;
		pthread_mutex_unlock(&run->lock);
	}
	snprintf(slot->sha256, sizeof(slot->sha256), "%s", sha256);
	return CAIRN_OK;
}

static int upload_file(void *ctx, size_t i)
{
	upload_run *run = ctx;
	const cairn_backup_manifest_file *f = &run->local.files[i];
	cairn_remote_object *o = &run->manifest.objects[i];
	char path[PATH_MAX], key[CAIRN_REMOTE_KEY_MAX], sha256[CAIRN_S3_SHA256_HEX] = "", sent[CAIRN_S3_SHA256_HEX];
	bool content = is_table_file(f->path);
	int rc = cairn_backup__job_path(path, sizeof(path), run->root, f->path);
	if (rc == CAIRN_OK && content)
		rc = table_hash(sha256, run, i, path);
	else if (rc == CAIRN_OK)
		snprintf(sha256, sizeof(sha256), "%s", f->sha256);
	if (rc == CAIRN_OK && strlen(sha256) != 64)
		rc = cairn_error_set(CAIRN_EINVALID, "the backup's manifest lists no SHA-256");
	char rel[CAIRN_REMOTE_KEY_MAX];
	if (rc == CAIRN_OK)
		rc = content ? cairn_remote_object_key(rel, sizeof(rel), sha256)
			: cairn_remote_file_key(rel, sizeof(rel), run->id, f->path);
	if (rc == CAIRN_OK)
		rc = cairn_remote_key(key, sizeof(key), run->remote->prefix, rel);
	if (rc == CAIRN_OK && ((o->key = strdup(rel)) == NULL || (o->path = strdup(f->path)) == NULL))
		rc = cairn_error_set(CAIRN_ENOMEM, "out of memory");
	if (rc != CAIRN_OK)
		return cairn_error_prefix(rc, "%s", f->path);
	o->size = f->size;
	snprintf(o->sha256, sizeof(o->sha256), "%s", sha256);
	uint64_t stored = 0;
	int found = cairn_s3_head(&stored, run->s3, key);
	if (found == CAIRN_OK && stored == f->size) {
		pthread_mutex_lock(&run->lock);
		run->report->objects_reused++;
		run->report->bytes_reused += f->size;
		pthread_mutex_unlock(&run->lock);
		return CAIRN_OK;
	}
	if (found != CAIRN_OK && found != CAIRN_ENOTFOUND)
		return cairn_error_prefix(found, "%s", f->path);
	cairn_s3_transfer t = {count_progress, run};
	rc = cairn_s3_put_file(sent, run->s3, key, path, &t);
	if (rc == CAIRN_OK && strcmp(sent, sha256) != 0)
		rc = cairn_error_set(CAIRN_EIO, "the bytes sent hash to %s, not %s (the file changed)", sent, sha256);
	if (rc != CAIRN_OK)
		return cairn_error_prefix(rc, "%s", f->path);
	pthread_mutex_lock(&run->lock);
	run->report->objects_sent++;
	run->report->bytes_sent += f->size;
	pthread_mutex_unlock(&run->lock);
	return CAIRN_OK;
}

static int upload_objects(upload_run *run)
{
	/* every slot filled by its worker: the manifest is written in the local order */
	run->manifest.objects = calloc(run->local.file_count ? run->local.file_count : 1, sizeof(cairn_remote_object));
	if (run->manifest.objects == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	run->manifest.count = run->manifest.capacity = run->local.file_count;
	cairn_workers_options workers = CAIRN_WORKERS_OPTIONS_INIT;
	workers.parallelism = run->remote->s3.parallelism;
	workers.cancel = run->opts->cancel;
	return cairn_workers_run(run->local.file_count, upload_file, run, &workers);
}

static int put_marker(upload_run *run, bool remove)
{
	char rel[CAIRN_REMOTE_KEY_MAX], key[CAIRN_REMOTE_KEY_MAX], text[256], host[128] = "";
	int rc = cairn_remote_marker_key(rel, sizeof(rel), run->id);
	if (rc == CAIRN_OK)
		rc = cairn_remote_key(key, sizeof(key), run->remote->prefix, rel);
	if (rc == CAIRN_OK && remove)
		return cairn_s3_delete(run->s3, key);
	gethostname(host, sizeof(host) - 1);
	int n = snprintf(text, sizeof(text), "{\"id\":\"%s\",\"host\":\"%s\",\"pid\":%ld,\"startedAt\":%lld}\n", run->id,
		host, (long)getpid(), (long long)time(NULL) * 1000);
	return rc == CAIRN_OK ? cairn_s3_put_buffer(run->s3, key, text, (size_t)n) : rc;
}

static int put_manifest(upload_run *run, const char *local_text)
{
	cairn_remote_manifest *m = &run->manifest;
	snprintf(m->id, sizeof(m->id), "%s", run->id);
	snprintf(m->chainweb_version, sizeof(m->chainweb_version), "%s", run->local.chainweb_version);
	m->completed_at = run->local.completed_at;
	m->uploaded_at = (uint64_t)time(NULL) * 1000;
	m->pact_included = run->local.pact_included;
	m->cut_height = cairn_backup__cut_height(&run->local.cut);
	if ((m->backup_manifest = strdup(local_text)) == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	char *text = NULL, rel[CAIRN_REMOTE_KEY_MAX], key[CAIRN_REMOTE_KEY_MAX];
	size_t len = 0;
	int rc = cairn_remote_manifest_encode(&text, &len, m);
	if (rc == CAIRN_OK)
		rc = cairn_remote_manifest_key(rel, sizeof(rel), run->id);
	if (rc == CAIRN_OK)
		rc = cairn_remote_key(key, sizeof(key), run->remote->prefix, rel);
	if (rc == CAIRN_OK)
		rc = cairn_s3_put_buffer(run->s3, key, text, len);
	free(text);
	return rc == CAIRN_OK ? CAIRN_OK : cairn_error_prefix(rc, "the remote manifest");
}

/* The local backup must be finished: status backup-done and a manifest. */
static int read_local(upload_run *run, char **text, const char *directory)
{
	char path[PATH_MAX], *status = NULL;
	cairn_backup_state state = CAIRN_BACKUP_FAILED;
	int rc = cairn_backup__job_path(run->root, sizeof(run->root), directory, run->id);
	if (rc == CAIRN_OK)
		rc = cairn_backup__job_path(path, sizeof(path), run->root, "status");
	if (rc == CAIRN_OK && (cairn_fs_read_file(&status, NULL, path) != CAIRN_OK ||
	    cairn_backup__parse_status(&state, status) != CAIRN_OK || state != CAIRN_BACKUP_DONE))
		rc = cairn_error_set(CAIRN_ENOTFOUND, "backup %s in '%s' is not a finished backup", run->id, directory);
	free(status);
	if (rc == CAIRN_OK)
		rc = cairn_backup__job_path(path, sizeof(path), run->root, "manifest.json");
	if (rc == CAIRN_OK)
		rc = cairn_backup__manifest_read(&run->local, path);
	return rc == CAIRN_OK ? cairn_fs_read_file(text, NULL, path) : rc;
}

static bool already_complete(upload_run *run)
{
	cairn_remote_manifest m;
	if (cairn_remote_manifest_fetch(&m, run->s3, run->remote->prefix, run->id) != CAIRN_OK)
		return false;
	run->report->objects_reused = m.count;
	run->report->bytes_reused = cairn_remote_manifest_bytes(&m);
	cairn_remote_manifest_free(&m);
	return true;
}

static int upload_steps(upload_run *run, const char *directory)
{
	char *local_text = NULL;
	int rc = read_local(run, &local_text, directory);
	run->report->files = run->local.file_count;
	if (rc == CAIRN_OK && (run->report->already_complete = already_complete(run)))
		rc = put_marker(run, true); /* a leftover of an upload killed after its manifest */
	else if (rc == CAIRN_OK) {
		cache_load(&run->cache, directory, run->local.file_count);
		rc = run->cache.used ? put_marker(run, false) : cairn_error_set(CAIRN_ENOMEM, "out of memory");
		if (rc == CAIRN_OK)
			rc = upload_objects(run);
		if (run->cache.used)
			cache_save(&run->cache, directory);
		if (rc == CAIRN_OK)
			rc = put_manifest(run, local_text);
		if (rc == CAIRN_OK)
			rc = put_marker(run, true);
	}
	free(local_text);
	return rc;
}

int cairn_backup_upload(cairn_backup_upload_report *out, const cairn_backup_remote *remote, const char *directory,
	const char *id, const cairn_backup_upload_options *opts)
{
	memset(out, 0, sizeof(*out));
	double t0 = cairn_clock_now();
	if (!cairn_remote_id_is_valid(id))
		return cairn_error_set(CAIRN_EINVALID, "'%s' is not a backup id ([A-Za-z0-9_-]{1,64})", id);
	upload_run *run = calloc(1, sizeof(*run));
	if (run == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	run->remote = remote;
	run->opts = opts;
	run->id = id;
	run->report = out;
	pthread_mutex_init(&run->lock, NULL);
	cairn_s3_options s3opts = remote->s3;
	s3opts.cancel = opts->cancel;
	cairn_fs_lock *lock = NULL;
	int rc = opts->locked ? CAIRN_OK : cairn_backup_remote_lock(&lock, directory, 600);
	if (rc == CAIRN_OK)
		rc = cairn_s3_create(&run->s3, &s3opts);
	if (rc == CAIRN_OK)
		rc = upload_steps(run, directory);
	cairn_fs_lock_release(lock);
	cairn_s3_free(run->s3);
	cairn_backup__manifest_free(&run->local);
	cairn_remote_manifest_free(&run->manifest);
	free(run->cache.old);
	free(run->cache.used);
	pthread_mutex_destroy(&run->lock);
	free(run);
	out->seconds = cairn_clock_now() - t0;
	if (rc != CAIRN_OK)
		return cairn_error_prefix(rc, "upload of backup %s to %s", id, remote->url);
	cairn_log_info("remote", "backup %s uploaded to %s in %.2f s: %" PRIu64 " objects, %.1f MB sent, %" PRIu64
		" objects (%.1f MB) already stored%s", id, remote->url, out->seconds, out->objects_sent,
		(double)out->bytes_sent / 1e6, out->objects_reused, (double)out->bytes_reused / 1e6,
		out->already_complete ? " (the backup was complete there)" : "");
	return CAIRN_OK;
}

int cairn_backup_remote_retention(cairn_remote_removal *out, const cairn_backup_remote *remote,
	const char *directory, bool locked)
{
	memset(out, 0, sizeof(*out));
	if (remote->retention.keep_last <= 0 && remote->retention.max_age_seconds <= 0)
		return CAIRN_OK;
	cairn_fs_lock *lock = NULL;
	cairn_s3 *s3 = NULL;
	int rc = locked ? CAIRN_OK : cairn_backup_remote_lock(&lock, directory, 600);
	if (rc == CAIRN_OK)
		rc = cairn_s3_create(&s3, &remote->s3);
	if (rc == CAIRN_OK)
		rc = cairn_remote_retention_apply(out, s3, remote->prefix, &remote->retention,
			(uint64_t)time(NULL) * 1000);
	cairn_s3_free(s3);
	cairn_fs_lock_release(lock);
	if (rc == CAIRN_OK && out->backups > 0)
		cairn_log_info("remote", "remote retention: %zu backups and %zu objects (%.1f MB) removed from %s",
			out->backups, out->objects, (double)out->bytes / 1e6, remote->url);
	return rc;
}
