/*
 * index.c: the in-memory catalogue of job details (index.h).
 *
 * A backup without a record (made before records existed, or whose record
 * does not parse) is described from its status and manifest alone.  The
 * status file decides between the three words: a record whose state reads
 * otherwise (a crash between the record's write and the status's) yields
 * to it.
 */
#include "backup/index.h"
#include "backup/catalog.h"
#include "backup/id.h"
#include "backup/record.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/array.h"
#include "util/error.h"

/* The first position whose id is not before `id`. */
static size_t lower_bound(const cairn_backup_index *idx, const char *id)
{
	size_t lo = 0, hi = idx->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cairn_backup__id_compare(idx->items[mid].id, id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int cairn_backup__index_put(cairn_backup_index *idx, const cairn_backup_detail *d)
{
	size_t at = lower_bound(idx, d->id);
	if (at < idx->count && strcmp(idx->items[at].id, d->id) == 0) {
		idx->items[at] = *d;
		return CAIRN_OK;
	}
	int rc = cairn_array_reserve(&idx->items, &idx->capacity, idx->count, sizeof(*idx->items), 64, "backup index");
	if (rc != CAIRN_OK)
		return rc;
	memmove(&idx->items[at + 1], &idx->items[at], (idx->count - at) * sizeof(*idx->items));
	idx->items[at] = *d;
	idx->count++;
	return CAIRN_OK;
}

cairn_backup_detail *cairn_backup__index_find(cairn_backup_index *idx, const char *id)
{
	size_t at = lower_bound(idx, id);
	return at < idx->count && strcmp(idx->items[at].id, id) == 0 ? &idx->items[at] : NULL;
}

static void remove_at(cairn_backup_index *idx, size_t at)
{
	memmove(&idx->items[at], &idx->items[at + 1], (idx->count - at - 1) * sizeof(*idx->items));
	idx->count--;
}

void cairn_backup__index_drop(cairn_backup_index *idx, const char *id)
{
	cairn_backup_detail *d = cairn_backup__index_find(idx, id);
	if (d != NULL)
		remove_at(idx, (size_t)(d - idx->items));
}

void cairn_backup__index_prune(cairn_backup_index *idx, int dir_fd)
{
	size_t kept = 0;
	for (size_t i = 0; i < idx->count; i++) {
		struct stat st;
		if (fstatat(dir_fd, idx->items[i].id, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
			idx->items[kept++] = idx->items[i];
	}
	idx->count = kept;
}

/* The detail of one listed backup: its record where it agrees with the
 * status file, else what the status and manifest say. */
static void detail_of(cairn_backup_detail *d, const cairn_backup_info *info, int dir_fd)
{
	cairn_backup_record r;
	bool loaded = cairn_backup__record_load(&r, dir_fd, info->id) == CAIRN_OK;
	bool recorded = loaded &&
		strcmp(cairn_backup_status_text(r.detail.state), cairn_backup_status_text(info->state)) == 0;
	if (recorded)
		*d = r.detail;
	if (loaded)
		cairn_backup__record_free(&r);
	if (!recorded) {
		memset(d, 0, sizeof(*d));
		snprintf(d->id, sizeof(d->id), "%s", info->id);
		d->state = info->state;
		d->created_us = info->has_time ? info->time_ms * 1000 : 0;
		d->started_us = d->created_us;
		d->include_pact = info->pact_included;
		d->has_cut = info->has_cut;
		d->cut_height = info->cut_height;
		d->bytes_in_db = info->bytes;
	}
	d->size_on_disk = info->bytes;
	d->restorable = info->has_cut && (d->state == CAIRN_BACKUP_DONE || d->state == CAIRN_BACKUP_DONE_WITH_ERRORS);
}

const cairn_backup_detail *cairn_backup__index_last_restorable(const cairn_backup_index *idx, bool with_pact)
{
	for (size_t i = idx->count; i-- > 0;) {
		const cairn_backup_detail *d = &idx->items[i];
		bool completed = d->state == CAIRN_BACKUP_DONE || d->state == CAIRN_BACKUP_DONE_WITH_ERRORS;
		if (completed && d->restorable && (d->include_pact || !with_pact))
			return d;
	}
	return NULL;
}

int cairn_backup__index_load(cairn_backup_index *idx, int dir_fd, const char *directory)
{
	cairn_backup_info *list = NULL;
	size_t count = 0;
	int rc = cairn_backup_list(&list, &count, directory);
	for (size_t i = 0; rc == CAIRN_OK && i < count; i++) {
		cairn_backup_detail d;
		detail_of(&d, &list[i], dir_fd);
		rc = cairn_backup__index_put(idx, &d);
	}
	free(list);
	return rc;
}

int cairn_backup__index_page(cairn_backup_detail **out, size_t *out_count, char out_next[CAIRN_BACKUP_ID_MAX + 1],
	const cairn_backup_index *idx, const cairn_backup_page_options *opts)
{
	/* positions run 0..count-1 in the page's own order */
	size_t start = 0;
	if (opts->marker != NULL) {
		size_t at = lower_bound(idx, opts->marker);
		if (at == idx->count || strcmp(idx->items[at].id, opts->marker) != 0)
			return cairn_error_set(CAIRN_ENOTFOUND, "marker %s names no backup", opts->marker);
		start = (opts->newest_first ? idx->count - 1 - at : at) + (opts->marker_inclusive ? 0 : 1);
	}
	size_t n = start < idx->count ? idx->count - start : 0;
	n = n < opts->limit ? n : opts->limit;
	*out = malloc(n ? n * sizeof(**out) : 1);
	if (*out == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "backup index: out of memory");
	for (size_t i = 0; i < n; i++) {
		size_t pos = start + i;
		(*out)[i] = idx->items[opts->newest_first ? idx->count - 1 - pos : pos];
	}
	*out_count = n;
	size_t next = start + n;
	out_next[0] = '\0';
	if (next < idx->count)
		snprintf(out_next, CAIRN_BACKUP_ID_MAX + 1, "%s",
			idx->items[opts->newest_first ? idx->count - 1 - next : next].id);
	return CAIRN_OK;
}

void cairn_backup__index_free(cairn_backup_index *idx)
{
	free(idx->items);
	memset(idx, 0, sizeof(*idx));
}
