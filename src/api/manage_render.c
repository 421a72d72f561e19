/*
 * manage_render.c: backup jobs as the JSON objects of the two APIs.
 *
 * Pure functions from the engine's values (cairn_backup_detail, events,
 * errors) to json-c objects.  Field names and value types are those of the
 * published documents: Rackspace Cloud Backup v2 (seed 003) for the detail,
 * Scalingo (seed 004) for the database backup.  Values not known yet are
 * JSON null (times, the snapshot before the cut is taken), never a made-up
 * zero.  Every link is built from `base`, so it resolves on the server the
 * client asked.
 */
#include "api/manage.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void cairn_manage_format_time(char out[40], uint64_t time_us, int digits)
{
	time_t seconds = (time_t)(time_us / 1000000);
	unsigned fraction = (unsigned)(time_us % 1000000);
	struct tm tm;
	gmtime_r(&seconds, &tm);
	size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
	if (digits == 3)
		snprintf(out + n, 40 - n, ".%03uZ", fraction / 1000);
	else
		snprintf(out + n, 40 - n, ".%06uZ", fraction);
}

void cairn_manage_backup_name(char *out, size_t size, const cairn_backup_detail *d, const char *database)
{
	time_t seconds = (time_t)(d->created_us / 1000000);
	struct tm tm;
	gmtime_r(&seconds, &tm);
	char stamp[16];
	strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
	snprintf(out, size, "%s_%s", stamp, database);
}

static json_object *time_or_null(uint64_t time_us, int digits)
{
	if (time_us == 0)
		return NULL;
	char text[40];
	cairn_manage_format_time(text, time_us, digits);
	return json_object_new_string(text);
}

static json_object *u64(uint64_t value)
{
	return json_object_new_uint64(value);
}

static json_object *link(const char *href, const char *rel)
{
	json_object *obj = json_object_new_object();
	json_object_object_add(obj, "href", json_object_new_string(href));
	json_object_object_add(obj, "rel", json_object_new_string(rel));
	return obj;
}

/* A one-element "links" array: BASE/v2/DATABASE/SUFFIX. */
static json_object *links_of(const cairn_manage_base *base, const char *suffix, const char *rel)
{
	char href[600];
	snprintf(href, sizeof(href), "%s/v2/%s/%s", base->origin, base->database, suffix);
	json_object *links = json_object_new_array();
	json_object_array_add(links, link(href, rel));
	return links;
}

static json_object *reference(const cairn_manage_base *base, const char *kind, const char *id)
{
	char suffix[128];
	snprintf(suffix, sizeof(suffix), "%s/%s", kind, id);
	json_object *obj = json_object_new_object();
	json_object_object_add(obj, "id", json_object_new_string(id));
	json_object_object_add(obj, "links", links_of(base, suffix, "full"));
	return obj;
}

static const char *configuration_id(cairn_backup_method method)
{
	return method == CAIRN_BACKUP_PERIODIC ? "scheduled" : "manual";
}

static json_object *errors_summary(const cairn_manage_base *base, const cairn_backup_detail *d)
{
	char suffix[128];
	snprintf(suffix, sizeof(suffix), "backups/%s/errors", d->id);
	json_object *obj = json_object_new_object();
	json_object_object_add(obj, "count", u64(d->error_count));
	json_object_object_add(obj, "reason", json_object_new_string(d->reason));
	json_object_object_add(obj, "diagnostics", json_object_new_string(d->diagnostics));
	json_object_object_add(obj, "links", links_of(base, suffix, "full"));
	return obj;
}

static json_object *detail_links(const cairn_manage_base *base, const char *id)
{
	char self[600], events[620];
	snprintf(self, sizeof(self), "%s/v2/%s/backups/%s", base->origin, base->database, id);
	snprintf(events, sizeof(events), "%s/events", self);
	json_object *links = json_object_new_array();
	json_object_array_add(links, link(self, "self"));
	json_object_array_add(links, link(events, "events"));
	return links;
}

static void add_counters(json_object *obj, const cairn_backup_detail *d)
{
	json_object_object_add(obj, "files_searched", u64(d->files_searched));
	json_object_object_add(obj, "files_backed_up", u64(d->files_backed_up));
	json_object_object_add(obj, "bytes_searched", u64(d->bytes_searched));
	json_object_object_add(obj, "bytes_backed_up", u64(d->bytes_backed_up));
	json_object_object_add(obj, "bytes_in_db", u64(d->bytes_in_db));
	json_object_object_add(obj, "bandwidth_avg_bps", u64(d->bandwidth_avg_bps));
	json_object_object_add(obj, "upload_bytes", u64(d->upload_bytes));
	json_object_object_add(obj, "upload_bandwidth_bps", u64(d->upload_bandwidth_bps));
}

json_object *cairn_manage_render_detail(const cairn_manage_base *base, const cairn_backup_detail *d)
{
	json_object *obj = json_object_new_object();
	if (obj == NULL)
		return NULL;
	json_object_object_add(obj, "project_id", json_object_new_string(base->database));
	json_object_object_add(obj, "id", json_object_new_string(d->id));
	json_object_object_add(obj, "agent", reference(base, "agents", base->agent_id));
	json_object_object_add(obj, "configuration", reference(base, "configurations", configuration_id(d->method)));
	json_object_object_add(obj, "state", json_object_new_string(cairn_backup_state_name(d->state)));
	json_object_object_add(obj, "started_time", time_or_null(d->started_us, 6));
	json_object_object_add(obj, "ended_time", time_or_null(d->ended_us, 6));
	json_object_object_add(obj, "snapshot_id", d->has_cut ? u64(d->cut_height) : NULL);
	json_object_object_add(obj, "errors", errors_summary(base, d));
	add_counters(obj, d);
	json_object_object_add(obj, "restorable", json_object_new_boolean(d->restorable));
	json_object_object_add(obj, "links", detail_links(base, d->id));
	return obj;
}

static json_object *render_event(size_t index, const cairn_backup_event *e)
{
	json_object *obj = json_object_new_object();
	json_object_object_add(obj, "index", u64(index));
	json_object_object_add(obj, "type", json_object_new_string(e->type));
	json_object_object_add(obj, "time", time_or_null(e->time_us, 6));
	if (strcmp(e->type, "backup_progress") == 0) {
		json_object_object_add(obj, "bytes_completed", u64(e->bytes_completed));
		json_object_object_add(obj, "bytes_remaining", u64(e->bytes_remaining));
		json_object_object_add(obj, "total_bytes", u64(e->total_bytes));
	}
	return obj;
}

/* "links": self (SUFFIX of the backup) and the backup itself. */
static json_object *resource_links(const cairn_manage_base *base, const char *id, const char *suffix)
{
	char backup[600], self[620];
	snprintf(backup, sizeof(backup), "%s/v2/%s/backups/%s", base->origin, base->database, id);
	snprintf(self, sizeof(self), "%s/%s", backup, suffix);
	json_object *links = json_object_new_array();
	json_object_array_add(links, link(self, "self"));
	json_object_array_add(links, link(backup, "backup"));
	return links;
}

/* {"backup_id": id} and an empty list for the caller to fill and add. */
static json_object *history_object(json_object **out_list, const char *id)
{
	json_object *obj = json_object_new_object();
	*out_list = json_object_new_array();
	if (obj == NULL || *out_list == NULL) {
		json_object_put(obj);
		json_object_put(*out_list);
		return NULL;
	}
	json_object_object_add(obj, "backup_id", json_object_new_string(id));
	return obj;
}

json_object *cairn_manage_render_events(const cairn_manage_base *base, const char *id,
	const cairn_backup_event *events, size_t count)
{
	json_object *list, *obj = history_object(&list, id);
	if (obj == NULL)
		return NULL;
	for (size_t i = 0; i < count; i++)
		json_object_array_add(list, render_event(i, &events[i]));
	json_object_object_add(obj, "events", list);
	json_object_object_add(obj, "links", resource_links(base, id, "events"));
	return obj;
}

static json_object *render_error(size_t index, const cairn_backup_error *e)
{
	json_object *obj = json_object_new_object();
	json_object_object_add(obj, "index", u64(index));
	json_object_object_add(obj, "path", json_object_new_string(e->path));
	json_object_object_add(obj, "type", json_object_new_string(e->type));
	json_object_object_add(obj, "description", json_object_new_string(e->description));
	return obj;
}

json_object *cairn_manage_render_errors(const cairn_manage_base *base, const cairn_backup_detail *d,
	const cairn_backup_error *errors, size_t count)
{
	json_object *list, *obj = history_object(&list, d->id);
	if (obj == NULL)
		return NULL;
	for (size_t i = 0; i < count; i++)
		json_object_array_add(list, render_error(i, &errors[i]));
	json_object_object_add(obj, "count", u64(count));
	json_object_object_add(obj, "reason", json_object_new_string(d->reason));
	json_object_object_add(obj, "diagnostics", json_object_new_string(d->diagnostics));
	json_object_object_add(obj, "list", list);
	json_object_object_add(obj, "links", resource_links(base, d->id, "errors"));
	return obj;
}

const char *cairn_manage_scalingo_status(cairn_backup_state state)
{
	switch (state) {
	case CAIRN_BACKUP_QUEUED:
		return "scheduled";
	case CAIRN_BACKUP_PREPARING:
	case CAIRN_BACKUP_COPYING:
	case CAIRN_BACKUP_STOP_REQUESTED:
		return "running";
	case CAIRN_BACKUP_DONE:
	case CAIRN_BACKUP_DONE_WITH_ERRORS:
		return "done";
	case CAIRN_BACKUP_FAILED:
	case CAIRN_BACKUP_STOPPED:
	case CAIRN_BACKUP_SKIPPED:
		break;
	}
	return "error";
}

json_object *cairn_manage_render_database_backup(const cairn_manage_base *base, const cairn_backup_detail *d)
{
	json_object *obj = json_object_new_object();
	if (obj == NULL)
		return NULL;
	char name[160];
	cairn_manage_backup_name(name, sizeof(name), d, base->database);
	json_object_object_add(obj, "id", json_object_new_string(d->id));
	json_object_object_add(obj, "created_at", time_or_null(d->created_us, 3));
	json_object_object_add(obj, "started_at", time_or_null(d->started_us, 3));
	json_object_object_add(obj, "name", json_object_new_string(name));
	json_object_object_add(obj, "size", u64(d->size_on_disk));
	json_object_object_add(obj, "upload_bytes", u64(d->upload_bytes));
	json_object_object_add(obj, "upload_bandwidth_bps", u64(d->upload_bandwidth_bps));
	json_object_object_add(obj, "status", json_object_new_string(cairn_manage_scalingo_status(d->state)));
	json_object_object_add(obj, "database_id", json_object_new_string(base->database));
	json_object_object_add(obj, "method", json_object_new_string(
		d->method == CAIRN_BACKUP_PERIODIC ? "periodic" : "manual"));
	return obj;
}
