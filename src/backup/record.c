/*
 * record.c: a job's record in memory and in <root>/job.json (record.h).
 *
 * The file is one JSON object written with json-c: the detail's fields
 * under their own names (the unsigned counters through one table, so
 * writing and reading cannot drift apart), `state` and `method` by name,
 * and the arrays `events` and `errors`.  `restorable` is not stored: it
 * is decided from the manifest whenever the record is read.
 */
#include "backup/record.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup/status.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/fs.h"

#define RECORD_MAX_BYTES ((size_t)4 << 20)

static const struct {
	const char *key;
	size_t offset;
} counters[] = {
	{"created_us", offsetof(cairn_backup_detail, created_us)},
	{"started_us", offsetof(cairn_backup_detail, started_us)},
	{"ended_us", offsetof(cairn_backup_detail, ended_us)},
	{"cut_height", offsetof(cairn_backup_detail, cut_height)},
	{"files_searched", offsetof(cairn_backup_detail, files_searched)},
	{"files_backed_up", offsetof(cairn_backup_detail, files_backed_up)},
	{"bytes_searched", offsetof(cairn_backup_detail, bytes_searched)},
	{"bytes_backed_up", offsetof(cairn_backup_detail, bytes_backed_up)},
	{"bytes_in_db", offsetof(cairn_backup_detail, bytes_in_db)},
	{"bandwidth_avg_bps", offsetof(cairn_backup_detail, bandwidth_avg_bps)},
	{"size_on_disk", offsetof(cairn_backup_detail, size_on_disk)},
	{"upload_bytes", offsetof(cairn_backup_detail, upload_bytes)},
	{"upload_bandwidth_bps", offsetof(cairn_backup_detail, upload_bandwidth_bps)},
};

static uint64_t *counter(cairn_backup_detail *d, size_t i)
{
	return (uint64_t *)((char *)d + counters[i].offset);
}

/* ---- in memory ---- */

static int grow(void **items, size_t *capacity, size_t count, size_t size)
{
	if (count < *capacity)
		return CAIRN_OK;
	size_t wanted = *capacity ? *capacity * 2 : 8;
	void *grown = realloc(*items, wanted * size);
	if (grown == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "backup record: out of memory");
	*items = grown;
	*capacity = wanted;
	return CAIRN_OK;
}

int cairn_backup__record_event(cairn_backup_record *r, const char *type, uint64_t time_us)
{
	int rc = grow((void **)&r->events, &r->event_capacity, r->event_count, sizeof(*r->events));
	if (rc != CAIRN_OK)
		return rc;
	cairn_backup_event *e = &r->events[r->event_count++];
	memset(e, 0, sizeof(*e));
	e->time_us = time_us;
	snprintf(e->type, sizeof(e->type), "%s", type);
	if (strcmp(type, "backup_progress") == 0) {
		const cairn_backup_detail *d = &r->detail;
		e->total_bytes = d->bytes_in_db > d->bytes_searched ? d->bytes_in_db : d->bytes_searched;
		e->bytes_completed = d->bytes_searched;
		e->bytes_remaining = e->total_bytes - e->bytes_completed;
	}
	return CAIRN_OK;
}

int cairn_backup__record_error(cairn_backup_record *r, const char *reason, const char *path, const char *type,
	const char *description)
{
	int rc = grow((void **)&r->errors, &r->error_capacity, r->error_count, sizeof(*r->errors));
	if (rc != CAIRN_OK)
		return rc;
	cairn_backup_error *e = &r->errors[r->error_count++];
	snprintf(e->path, sizeof(e->path), "%s", path);
	snprintf(e->type, sizeof(e->type), "%s", type);
	snprintf(e->description, sizeof(e->description), "%.*s", (int)strcspn(description, "\n"), description);
	cairn_backup_detail *d = &r->detail;
	if (d->error_count == 0) {
		snprintf(d->reason, sizeof(d->reason), "%s", reason);
		snprintf(d->diagnostics, sizeof(d->diagnostics), "%s", e->description);
	}
	d->error_count = r->error_count;
	return CAIRN_OK;
}

static int copy_array(void **out, size_t *out_count, const void *items, size_t count, size_t size)
{
	*out = malloc(count ? count * size : 1);
	if (*out == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "backup record: out of memory");
	if (count > 0)
		memcpy(*out, items, count * size);
	*out_count = count;
	return CAIRN_OK;
}

int cairn_backup__record_copy_events(cairn_backup_event **out, size_t *out_count, const cairn_backup_record *r)
{
	return copy_array((void **)out, out_count, r->events, r->event_count, sizeof(*r->events));
}

int cairn_backup__record_copy_errors(cairn_backup_error **out, size_t *out_count, const cairn_backup_record *r)
{
	return copy_array((void **)out, out_count, r->errors, r->error_count, sizeof(*r->errors));
}

void cairn_backup__record_free(cairn_backup_record *r)
{
	free(r->events);
	free(r->errors);
	memset(r, 0, sizeof(*r));
}

/* ---- on disk ---- */

static void add_string(json_object *o, const char *key, const char *value)
{
	json_object_object_add(o, key, json_object_new_string(value));
}

static void add_u64(json_object *o, const char *key, uint64_t value)
{
	json_object_object_add(o, key, json_object_new_uint64(value));
}

static json_object *events_json(const cairn_backup_record *r)
{
	json_object *list = json_object_new_array();
	for (size_t i = 0; i < r->event_count; i++) {
		const cairn_backup_event *e = &r->events[i];
		json_object *o = json_object_new_object();
		add_u64(o, "time_us", e->time_us);
		add_string(o, "type", e->type);
		add_u64(o, "bytes_completed", e->bytes_completed);
		add_u64(o, "bytes_remaining", e->bytes_remaining);
		add_u64(o, "total_bytes", e->total_bytes);
		json_object_array_add(list, o);
	}
	return list;
}

static json_object *errors_json(const cairn_backup_record *r)
{
	json_object *list = json_object_new_array();
	for (size_t i = 0; i < r->error_count; i++) {
		const cairn_backup_error *e = &r->errors[i];
		json_object *o = json_object_new_object();
		add_string(o, "path", e->path);
		add_string(o, "type", e->type);
		add_string(o, "description", e->description);
		json_object_array_add(list, o);
	}
	return list;
}

int cairn_backup__record_save(const cairn_backup_record *r, const char *root)
{
	const cairn_backup_detail *d = &r->detail;
	json_object *o = json_object_new_object();
	if (o == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "backup record: out of memory");
	add_string(o, "id", d->id);
	add_string(o, "state", cairn_backup_state_name(d->state));
	add_string(o, "method", d->method == CAIRN_BACKUP_PERIODIC ? "periodic" : "manual");
	json_object_object_add(o, "include_pact", json_object_new_boolean(d->include_pact));
	json_object_object_add(o, "has_cut", json_object_new_boolean(d->has_cut));
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
		add_u64(o, counters[i].key, *counter((cairn_backup_detail *)d, i));
	add_string(o, "reason", d->reason);
	add_string(o, "diagnostics", d->diagnostics);
	json_object_object_add(o, "events", events_json(r));
	json_object_object_add(o, "errors", errors_json(r));
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	char path[PATH_MAX];
	int rc = cairn_backup__job_path(path, sizeof(path), root, CAIRN_BACKUP__RECORD_FILE);
	if (rc == CAIRN_OK)
		rc = cairn_fs_write_atomic(path, text, strlen(text));
	json_object_put(o);
	return rc;
}

/* ---- reading back ---- */

static int get(json_object **out, json_object *o, const char *key, json_type type)
{
	if (!json_object_object_get_ex(o, key, out) || !json_object_is_type(*out, type))
		return cairn_error_set(CAIRN_EINVALID, "job record: %s: missing or of the wrong type", key);
	return CAIRN_OK;
}

static int get_text(char *out, size_t size, json_object *o, const char *key)
{
	json_object *v;
	int rc = get(&v, o, key, json_type_string);
	if (rc == CAIRN_OK)
		snprintf(out, size, "%s", json_object_get_string(v));
	return rc;
}

static int get_u64(uint64_t *out, json_object *o, const char *key)
{
	json_object *v;
	int rc = get(&v, o, key, json_type_int);
	if (rc == CAIRN_OK)
		*out = json_object_get_uint64(v);
	return rc;
}

static int get_bool(bool *out, json_object *o, const char *key)
{
	json_object *v;
	int rc = get(&v, o, key, json_type_boolean);
	if (rc == CAIRN_OK)
		*out = json_object_get_boolean(v);
	return rc;
}

static int read_detail(cairn_backup_detail *d, json_object *o)
{
	char state[32], method[16];
	int rc = get_text(d->id, sizeof(d->id), o, "id");
	if (rc == CAIRN_OK && (rc = get_text(state, sizeof(state), o, "state")) == CAIRN_OK)
		rc = cairn_backup__parse_state_name(&d->state, state);
	if (rc == CAIRN_OK && (rc = get_text(method, sizeof(method), o, "method")) == CAIRN_OK)
		d->method = strcmp(method, "periodic") == 0 ? CAIRN_BACKUP_PERIODIC : CAIRN_BACKUP_MANUAL;
	if (rc == CAIRN_OK)
		rc = get_bool(&d->include_pact, o, "include_pact");
	if (rc == CAIRN_OK)
		rc = get_bool(&d->has_cut, o, "has_cut");
	for (size_t i = 0; rc == CAIRN_OK && i < sizeof(counters) / sizeof(counters[0]); i++)
		rc = get_u64(counter(d, i), o, counters[i].key);
	if (rc == CAIRN_OK)
		rc = get_text(d->reason, sizeof(d->reason), o, "reason");
	if (rc == CAIRN_OK)
		rc = get_text(d->diagnostics, sizeof(d->diagnostics), o, "diagnostics");
	return rc;
}

static int read_event(cairn_backup_record *r, json_object *o)
{
	cairn_backup_event e = {0};
	int rc = get_u64(&e.time_us, o, "time_us");
	if (rc == CAIRN_OK)
		rc = get_text(e.type, sizeof(e.type), o, "type");
	if (rc == CAIRN_OK)
		rc = get_u64(&e.bytes_completed, o, "bytes_completed");
	if (rc == CAIRN_OK)
		rc = get_u64(&e.bytes_remaining, o, "bytes_remaining");
	if (rc == CAIRN_OK)
		rc = get_u64(&e.total_bytes, o, "total_bytes");
	if (rc == CAIRN_OK)
		rc = grow((void **)&r->events, &r->event_capacity, r->event_count, sizeof(e));
	if (rc == CAIRN_OK)
		r->events[r->event_count++] = e;
	return rc;
}

static int read_error(cairn_backup_record *r, json_object *o)
{
	cairn_backup_error e;
	int rc = get_text(e.path, sizeof(e.path), o, "path");
	if (rc == CAIRN_OK)
		rc = get_text(e.type, sizeof(e.type), o, "type");
	if (rc == CAIRN_OK)
		rc = get_text(e.description, sizeof(e.description), o, "description");
	if (rc == CAIRN_OK)
		rc = grow((void **)&r->errors, &r->error_capacity, r->error_count, sizeof(e));
	if (rc == CAIRN_OK)
		r->errors[r->error_count++] = e;
	return rc;
}

static int read_list(cairn_backup_record *r, json_object *o, const char *key,
	int (*item)(cairn_backup_record *r, json_object *o))
{
	json_object *list;
	int rc = get(&list, o, key, json_type_array);
	for (size_t i = 0; rc == CAIRN_OK && i < json_object_array_length(list); i++) {
		json_object *e = json_object_array_get_idx(list, i);
		rc = json_object_is_type(e, json_type_object) ? item(r, e)
			: cairn_error_set(CAIRN_EINVALID, "job record: %s: not a list of objects", key);
	}
	return rc;
}

static int read_text_at(char **out, int dir_fd, const char *id)
{
	int dfd = cairn_fault_openat(dir_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int fd = dfd < 0 ? -1
		: cairn_fault_openat(dfd, CAIRN_BACKUP__RECORD_FILE, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	int err = errno;
	if (dfd >= 0)
		close(dfd);
	if (fd < 0 && err != ENOENT && err != ENOTDIR && err != ELOOP)
		return cairn_error_set_errno(CAIRN_EIO, err, "cannot open '%s/" CAIRN_BACKUP__RECORD_FILE "'", id);
	if (fd < 0)
		return cairn_error_set(CAIRN_ENOTFOUND, "backup %s has no job record", id);
	char *text = malloc(RECORD_MAX_BYTES + 1);
	size_t len = 0;
	ssize_t n = 1;
	while (text != NULL && len < RECORD_MAX_BYTES && (n = read(fd, text + len, RECORD_MAX_BYTES - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (text == NULL || n < 0 || len == RECORD_MAX_BYTES) {
		free(text);
		return cairn_error_set(CAIRN_EINVALID, "backup %s: job record unreadable or too large", id);
	}
	text[len] = '\0';
	*out = text;
	return CAIRN_OK;
}

int cairn_backup__record_load(cairn_backup_record *out, int dir_fd, const char *id)
{
	memset(out, 0, sizeof(*out));
	char *text = NULL;
	int rc = read_text_at(&text, dir_fd, id);
	if (rc != CAIRN_OK)
		return rc;
	json_object *o = json_tokener_parse(text);
	free(text);
	rc = o != NULL && json_object_is_type(o, json_type_object) ? read_detail(&out->detail, o)
		: cairn_error_set(CAIRN_EINVALID, "backup %s: job record is not a JSON object", id);
	if (rc == CAIRN_OK)
		rc = read_list(out, o, "events", read_event);
	if (rc == CAIRN_OK)
		rc = read_list(out, o, "errors", read_error);
	if (rc == CAIRN_OK && strcmp(out->detail.id, id) != 0)
		rc = cairn_error_set(CAIRN_EINVALID, "backup %s: job record names backup %s", id, out->detail.id);
	out->detail.error_count = out->error_count;
	json_object_put(o);
	if (rc != CAIRN_OK)
		cairn_backup__record_free(out);
	return rc;
}
