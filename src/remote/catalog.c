/*
 * catalog.c: listing, deleting and retention of remote backups
 * (catalog.h).
 *
 * Everything here is derived from listings of the store, nothing is cached:
 * a remote may be written by a node and read or pruned by `cairn backup`
 * commands on other machines.  Removal order is the reverse of an upload's:
 * the manifest goes first (the backup stops being complete, so nobody
 * starts a restore of a backup that is losing its files), then its own
 * files, then its upload marker, then unreferenced content objects.
 *
 * Content objects are collected only when no uploads/ marker exists.  On
 * one machine the uploads and the deletions of a backup directory also
 * take <backup-directory>/.remote-lock (upload.c, the CLI), so a
 * collection never runs while an upload of that node does; the markers
 * cover uploads from elsewhere that started before the collection looked.
 * A collection also aborts multipart uploads older than a day, which only
 * a crash leaves behind (and which the store keeps and bills).
 */
#include "remote/catalog.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/array.h"
#include "util/error.h"
#include "util/log.h"

/* Multipart uploads older than this were left by a crash: an upload that
 * fails aborts its own, and none takes a day. */
#define STALE_MULTIPART_SECONDS 86400

/* ---- listing ---- */

typedef struct id_list {
	cairn_remote_info *items;
	size_t count, capacity;
	size_t skip;          /* length of the listed prefix */
	bool markers;         /* listing uploads/: set `uploading` */
} id_list;

static cairn_remote_info *find(id_list *l, const char *id)
{
	for (size_t i = 0; i < l->count; i++)
		if (strcmp(l->items[i].id, id) == 0)
			return &l->items[i];
	return NULL;
}

static bool numeric_id(uint64_t *out, const char *id)
{
	size_t len = strlen(id);
	if (len == 0 || len > 19 || strspn(id, "0123456789") != len)
		return false;
	*out = strtoull(id, NULL, 10);
	return true;
}

static int add_id(id_list *l, const char *id)
{
	cairn_remote_info *found = find(l, id);
	if (found != NULL) {
		found->uploading |= l->markers;
		return CAIRN_OK;
	}
	int rc = cairn_array_reserve(&l->items, &l->capacity, l->count, sizeof(*l->items), 16, NULL);
	if (rc != CAIRN_OK)
		return rc;
	cairn_remote_info *info = &l->items[l->count++];
	memset(info, 0, sizeof(*info));
	snprintf(info->id, sizeof(info->id), "%s", id);
	info->has_time = numeric_id(&info->time_ms, id);
	info->uploading = l->markers;
	return CAIRN_OK;
}

/* "<prefix>/backups/<id>/" (a common prefix) or "<prefix>/uploads/<id>". */
static int on_entry(void *ctx, const char *key, uint64_t size, bool is_prefix)
{
	(void)size;
	id_list *l = ctx;
	if (strlen(key) <= l->skip)
		return CAIRN_OK;
	char id[CAIRN_REMOTE_ID_MAX + 2];
	snprintf(id, sizeof(id), "%s", key + l->skip);
	size_t len = strlen(id);
	if (is_prefix && len > 0 && id[len - 1] == '/')
		id[len - 1] = '\0';
	return cairn_remote_id_is_valid(id) && is_prefix != l->markers ? add_id(l, id) : CAIRN_OK;
}

static int compare_info(const void *a, const void *b)
{
	const cairn_remote_info *x = a, *y = b;
	if (x->has_time != y->has_time)
		return x->has_time ? -1 : 1;
	if (x->has_time && x->time_ms != y->time_ms)
		return x->time_ms < y->time_ms ? -1 : 1;
	return strcmp(x->id, y->id);
}

static int list_under(id_list *l, cairn_s3 *s3, const char *prefix, const char *what, bool markers)
{
	char key[CAIRN_REMOTE_KEY_MAX];
	int rc = cairn_remote_key(key, sizeof(key), prefix, what);
	l->skip = strlen(key);
	l->markers = markers;
	return rc == CAIRN_OK ? cairn_s3_list(s3, key, markers ? NULL : "/", on_entry, l) : rc;
}

int cairn_remote_list(cairn_remote_info **out, size_t *out_count, cairn_s3 *s3, const char *prefix)
{
	id_list l = {0};
	int rc = list_under(&l, s3, prefix, "backups/", false);
	if (rc == CAIRN_OK)
		rc = list_under(&l, s3, prefix, "uploads/", true);
	for (size_t i = 0; rc == CAIRN_OK && i < l.count; i++) {
		cairn_remote_manifest m;
		int found = cairn_remote_manifest_fetch(&m, s3, prefix, l.items[i].id);
		if (found == CAIRN_ENOTFOUND)
			continue;
		if (found != CAIRN_OK) {
			/* an unreadable manifest is reported, never mistaken for a complete backup */
			cairn_log_warn("remote", "%s", cairn_error_last());
			continue;
		}
		l.items[i].complete = true;
		l.items[i].pact_included = m.pact_included;
		l.items[i].cut_height = m.cut_height;
		l.items[i].bytes = cairn_remote_manifest_bytes(&m);
		cairn_remote_manifest_free(&m);
	}
	if (rc != CAIRN_OK) {
		free(l.items);
		return cairn_error_prefix(rc, "list the store");
	}
	if (l.count > 1)
		qsort(l.items, l.count, sizeof(*l.items), compare_info);
	*out = l.items;
	*out_count = l.count;
	return CAIRN_OK;
}

/* ---- removal ---- */

typedef struct key_list {
	char **keys;
	uint64_t *sizes;
	size_t count, capacity;
} key_list;

static int on_key(void *ctx, const char *key, uint64_t size, bool is_prefix)
{
	key_list *l = ctx;
	if (is_prefix)
		return CAIRN_OK;
	if (l->count == l->capacity) {
		size_t capacity = l->capacity ? l->capacity * 2 : 64;
		char **keys = realloc(l->keys, capacity * sizeof(*keys));
		if (keys != NULL)
			l->keys = keys;
		uint64_t *sizes = keys ? realloc(l->sizes, capacity * sizeof(*sizes)) : NULL;
		if (sizes == NULL)
			return cairn_error_set(CAIRN_ENOMEM, "out of memory");
		l->sizes = sizes;
		l->capacity = capacity;
	}
	if ((l->keys[l->count] = strdup(key)) == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	l->sizes[l->count++] = size;
	return CAIRN_OK;
}

static void key_list_free(key_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->keys[i]);
	free(l->keys);
	free(l->sizes);
	memset(l, 0, sizeof(*l));
}

static int list_keys(key_list *out, cairn_s3 *s3, const char *prefix, const char *relative)
{
	char key[CAIRN_REMOTE_KEY_MAX];
	int rc = cairn_remote_key(key, sizeof(key), prefix, relative);
	return rc == CAIRN_OK ? cairn_s3_list(s3, key, NULL, on_key, out) : rc;
}

static int delete_relative(cairn_s3 *s3, const char *prefix, const char *relative)
{
	char key[CAIRN_REMOTE_KEY_MAX];
	int rc = cairn_remote_key(key, sizeof(key), prefix, relative);
	return rc == CAIRN_OK ? cairn_s3_delete(s3, key) : rc;
}

/* Manifest first, then the backup's files, then its marker. */
static int remove_backup(cairn_s3 *s3, const char *prefix, const char *id)
{
	char rel[CAIRN_REMOTE_KEY_MAX];
	key_list files = {0};
	int rc = cairn_remote_manifest_key(rel, sizeof(rel), id);
	if (rc == CAIRN_OK)
		rc = delete_relative(s3, prefix, rel);
	if (rc == CAIRN_OK && snprintf(rel, sizeof(rel), "backups/%s/", id) > 0)
		rc = list_keys(&files, s3, prefix, rel);
	for (size_t i = 0; rc == CAIRN_OK && i < files.count; i++)
		rc = cairn_s3_delete(s3, files.keys[i]);
	key_list_free(&files);
	if (rc == CAIRN_OK)
		rc = cairn_remote_marker_key(rel, sizeof(rel), id);
	if (rc == CAIRN_OK)
		rc = delete_relative(s3, prefix, rel);
	if (rc == CAIRN_OK)
		cairn_log_info("remote", "backup %s removed from the store", id);
	return rc == CAIRN_OK ? CAIRN_OK : cairn_error_prefix(rc, "remove backup %s", id);
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The full keys every complete backup names, sorted. */
static int referenced_keys(key_list *out, cairn_s3 *s3, const char *prefix, const cairn_remote_info *list,
	size_t count)
{
	int rc = CAIRN_OK;
	for (size_t i = 0; rc == CAIRN_OK && i < count; i++) {
		cairn_remote_manifest m;
		if (!list[i].complete)
			continue;
		if ((rc = cairn_remote_manifest_fetch(&m, s3, prefix, list[i].id)) != CAIRN_OK)
			break;
		for (size_t j = 0; rc == CAIRN_OK && j < m.count; j++) {
			char key[CAIRN_REMOTE_KEY_MAX];
			rc = cairn_remote_key(key, sizeof(key), prefix, m.objects[j].key);
			if (rc == CAIRN_OK)
				rc = on_key(out, key, m.objects[j].size, false);
		}
		cairn_remote_manifest_free(&m);
	}
	if (rc == CAIRN_OK && out->count > 1)
		qsort(out->keys, out->count, sizeof(*out->keys), compare_strings);
	return rc;
}

int cairn_remote_collect(cairn_remote_removal *out, cairn_s3 *s3, const char *prefix)
{
	cairn_remote_info *list = NULL;
	size_t count = 0;
	key_list referenced = {0}, stored = {0};
	int rc = cairn_remote_list(&list, &count, s3, prefix);
	for (size_t i = 0; rc == CAIRN_OK && i < count; i++)
		out->objects_kept |= list[i].uploading;
	if (rc == CAIRN_OK && !out->objects_kept)
		rc = referenced_keys(&referenced, s3, prefix, list, count);
	if (rc == CAIRN_OK && !out->objects_kept)
		rc = list_keys(&stored, s3, prefix, "objects/sha256/");
	for (size_t i = 0; rc == CAIRN_OK && i < stored.count; i++) {
		if (bsearch(&stored.keys[i], referenced.keys, referenced.count, sizeof(char *), compare_strings) != NULL)
			continue;
		rc = cairn_s3_delete(s3, stored.keys[i]);
		if (rc == CAIRN_OK) {
			out->objects++;
			out->bytes += stored.sizes[i];
		}
	}
	uint64_t aborted = 0;
	if (rc == CAIRN_OK && cairn_s3_abort_stale_uploads(&aborted, s3, prefix, STALE_MULTIPART_SECONDS) != CAIRN_OK)
		cairn_log_warn("remote", "multipart uploads left by a crash are not cleared: %s", cairn_error_last());
	else if (aborted > 0)
		cairn_log_info("remote", "%" PRIu64 " multipart uploads older than a day (left by a crash) aborted", aborted);
	if (rc == CAIRN_OK && out->objects_kept)
		cairn_log_info("remote", "an upload is in progress: unreferenced content objects are kept until a later "
			"deletion");
	else if (rc == CAIRN_OK && out->objects > 0)
		cairn_log_info("remote", "%zu content objects (%.1f MB) no backup refers to removed", out->objects,
			(double)out->bytes / 1e6);
	key_list_free(&referenced);
	key_list_free(&stored);
	free(list);
	return rc == CAIRN_OK ? CAIRN_OK : cairn_error_prefix(rc, "collect unreferenced objects");
}

static const cairn_remote_info *newest_complete(const cairn_remote_info *list, size_t count)
{
	for (size_t i = count; i-- > 0;)
		if (list[i].complete)
			return &list[i];
	return NULL;
}

int cairn_remote_delete(cairn_remote_removal *out, cairn_s3 *s3, const char *prefix, const char *id)
{
	memset(out, 0, sizeof(*out));
	if (!cairn_remote_id_is_valid(id))
		return cairn_error_set(CAIRN_EINVALID, "'%s' is not a backup id ([A-Za-z0-9_-]{1,64})", id);
	cairn_remote_info *list = NULL;
	size_t count = 0;
	int rc = cairn_remote_list(&list, &count, s3, prefix);
	const cairn_remote_info *target = NULL;
	for (size_t i = 0; rc == CAIRN_OK && i < count; i++)
		if (strcmp(list[i].id, id) == 0)
			target = &list[i];
	if (rc == CAIRN_OK && target == NULL)
		rc = cairn_error_set(CAIRN_ENOTFOUND, "no backup %s in the store", id);
	if (rc == CAIRN_OK && target == newest_complete(list, count))
		rc = cairn_error_set(CAIRN_ESTATE, "backup %s is the newest complete backup in the store: it is kept", id);
	if (rc == CAIRN_OK)
		rc = remove_backup(s3, prefix, id);
	free(list);
	if (rc == CAIRN_OK)
		out->backups = 1;
	return rc == CAIRN_OK ? cairn_remote_collect(out, s3, prefix) : rc;
}

int cairn_remote_retention_apply(cairn_remote_removal *out, cairn_s3 *s3, const char *prefix,
	const cairn_remote_retention *policy, uint64_t now_ms)
{
	memset(out, 0, sizeof(*out));
	if (policy->keep_last <= 0 && policy->max_age_seconds <= 0)
		return CAIRN_OK;
	cairn_remote_info *list = NULL;
	size_t count = 0;
	int rc = cairn_remote_list(&list, &count, s3, prefix);
	size_t newer = 0;
	for (size_t i = count; rc == CAIRN_OK && i-- > 0;) {
		const cairn_remote_info *b = &list[i];
		if (!b->complete || !b->has_time)
			continue;
		bool too_old = policy->max_age_seconds > 0 && now_ms > b->time_ms &&
			(double)(now_ms - b->time_ms) > policy->max_age_seconds * 1000.0;
		bool beyond = policy->keep_last > 0 && newer >= (size_t)policy->keep_last;
		if (newer++ == 0 || !(too_old || beyond))
			continue; /* the newest complete backup always stays */
		rc = remove_backup(s3, prefix, b->id);
		out->backups += rc == CAIRN_OK;
	}
	free(list);
	if (rc == CAIRN_OK && out->backups > 0)
		rc = cairn_remote_collect(out, s3, prefix);
	return rc == CAIRN_OK ? CAIRN_OK : cairn_error_prefix(rc, "remote retention");
}
