/*
 * manage_rackspace.c: the backup management API in the shape of Rackspace
 * Cloud Backup v2, under /v2/{project_id}/.
 *
 *   GET    backups                 list: marker, limit (1..1000, default 100),
 *                                  sort_dir (desc, the default, or asc); "links"
 *                                  holds "next" while more follow
 *   POST   backups                 {"state": "start_requested", "backupPact": bool}:
 *                                  201 with the new job, 200 with the running one
 *   GET    backups/{id}            the detail object (seed 003)
 *   PATCH  backups/{id}            JSON Patch of /state to stop_requested: 204
 *   DELETE backups/{id}            removes a finished backup: 204
 *   GET    backups/{id}/events     the job's events, oldest first
 *   GET    backups/{id}/errors     count, reason, diagnostics and the list
 *   GET    agents/{id}             this node, which the detail's "agent" names
 *   GET    configurations/{id}     "manual" or "scheduled", which "configuration" names
 * The list's marker is the id of the first backup of the page, as the
 * "next" link gives it; a marker naming no backup is a 400.
 */
#include "api/manage.h"
#include "util/log.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LIST_LIMIT_MAX 1000

static int parse_limit(size_t *out, const cairn_http_request *req)
{
	const char *value;
	*out = 100;
	if (!cairn_http_request_query(&value, req, "limit"))
		return CAIRN_OK;
	char *end = NULL;
	long n = value != NULL && *value >= '0' && *value <= '9' ? strtol(value, &end, 10) : -1;
	if (n < 1 || n > LIST_LIMIT_MAX || *end != '\0')
		return cairn_error_set(CAIRN_EINVALID, "limit: expected an integer from 1 to %d", LIST_LIMIT_MAX);
	*out = (size_t)n;
	return CAIRN_OK;
}

static int parse_page_options(cairn_backup_page_options *opts, const cairn_http_request *req)
{
	const char *value;
	opts->marker_inclusive = true;
	if (cairn_http_request_query(&value, req, "marker")) {
		if (value == NULL || !cairn_backup_id_is_valid(value))
			return cairn_error_set(CAIRN_EINVALID, "marker: expected a backup id");
		opts->marker = value;
	}
	if (cairn_http_request_query(&value, req, "sort_dir")) {
		if (value != NULL && strcmp(value, "asc") == 0)
			opts->newest_first = false;
		else if (value == NULL || strcmp(value, "desc") != 0)
			return cairn_error_set(CAIRN_EINVALID, "sort_dir: expected asc or desc");
	}
	return parse_limit(&opts->limit, req);
}

static json_object *next_link(const cairn_manage_base *base, const cairn_backup_page_options *opts,
	const char *next)
{
	char href[700];
	snprintf(href, sizeof(href), "%s/v2/%s/backups?marker=%s&limit=%zu&sort_dir=%s", base->origin,
		base->database, next, opts->limit, opts->newest_first ? "desc" : "asc");
	json_object *link = json_object_new_object();
	json_object_object_add(link, "href", json_object_new_string(href));
	json_object_object_add(link, "rel", json_object_new_string("next"));
	return link;
}

static void list_backups(cairn_http_response *res, const cairn_http_request *req, void *ctx)
{
	cairn_manage *m = ctx;
	cairn_manage_base base;
	if (!cairn_manage_enter(&base, res, req, m, "project_id"))
		return;
	cairn_backup_page_options opts = CAIRN_BACKUP_PAGE_OPTIONS_INIT;
	if (parse_page_options(&opts, req) != CAIRN_OK) {
		cairn_manage_respond_bad_body(res);
		return;
	}
	cairn_backup_detail *page;
	size_t count;
	char next[CAIRN_BACKUP_ID_MAX + 1];
	int rc = cairn_backup_page(&page, &count, next, m->backups, &opts);
	if (rc == CAIRN_ENOTFOUND) {
		cairn_http_respond_text(res, 400, "marker: no backup %s", opts.marker);
		return;
	}
	if (rc != CAIRN_OK) {
		cairn_http_respond_text(res, 500, "%s", cairn_error_last());
		return;
	}
	json_object *body = json_object_new_object();
	json_object *list = json_object_new_array();
	json_object *links = json_object_new_array();
	for (size_t i = 0; i < count; i++)
		json_object_array_add(list, cairn_manage_render_detail(&base, &page[i]));
	if (next[0] != '\0')
		json_object_array_add(links, next_link(&base, &opts, next));
	free(page);
	json_object_object_add(body, "backups", list);
	json_object_object_add(body, "links", links);
	cairn_api_respond_json(res, 200, body);
}

static void respond_detail(cairn_http_response *res, int status, const cairn_manage_base *base,
	const cairn_backup_detail *d)
{
	if (status == 201) {
		char location[600];
		snprintf(location, sizeof(location), "%s/v2/%s/backups/%s", base->origin, base->database, d->id);
		cairn_api_respond_json(res, status, cairn_manage_render_detail(base, d));
		cairn_http_response_add_header(res, "Location", location);
		return;
	}
	cairn_api_respond_json(res, status, cairn_manage_render_detail(base, d));
}

static void create_backup(cairn_http_response *res, const cairn_http_request *req, void *ctx)
{
	cairn_manage *m = ctx;
	cairn_manage_base base;
	bool include_pact, started;
	cairn_backup_detail d;
	if (!cairn_manage_enter(&base, res, req, m, "project_id"))
		return;
	if (cairn_manage_parse_create(&include_pact, req->body, req->body_len, true) != CAIRN_OK) {
		cairn_manage_respond_bad_body(res);
		return;
	}
	if (cairn_manage_start_job(&d, &started, res, m, include_pact))
		respond_detail(res, started ? 201 : 200, &base, &d);
}

static void show_backup(cairn_http_response *res, const cairn_http_request *req, void *ctx)
{
	cairn_manage_base base;
	cairn_backup_detail d;
	if (cairn_manage_enter(&base, res, req, ctx, "project_id") && cairn_manage_lookup(&d, res, req, ctx))
		respond_detail(res, 200, &base, &d);
}

static bool is_json_patch(const cairn_http_request *req)
{
	const char *type = cairn_http_request_header(req, "Content-Type");
	static const char expected[] = "application/json-patch+json";
	return type != NULL && strncasecmp(type, expected, sizeof(expected) - 1) == 0
		&& (type[sizeof(expected) - 1] == '\0' || type[sizeof(expected) - 1] == ';');
}

/* The answer to a stop or a delete: 204, 409 when the job's state forbids
 * it (with the engine's reason), 404 when the backup has gone since. */
static void answer_change(cairn_http_response *res, const cairn_http_request *req, int rc, const char *id,
	const char *done)
{
	if (rc == CAIRN_OK) {
		cairn_log_info("manage", "backup %s: %s by %s", id, done, req->peer);
		cairn_http_respond_static(res, 204, NULL, "", 0);
	} else if (rc == CAIRN_ESTATE || rc == CAIRN_EBUSY) {
		cairn_http_respond_text(res, 409, "%s", cairn_error_last());
	} else if (rc == CAIRN_ENOTFOUND) {
		cairn_http_respond_text(res, 404, "no such backup");
	} else {
		cairn_http_respond_text(res, 500, "%s", cairn_error_last());
	}
}

static void patch_backup(cairn_http_response *res, const cairn_http_request *req, void *ctx)
{
	cairn_manage *m = ctx;
	cairn_manage_base base;
	cairn_backup_detail d;
	if (!cairn_manage_enter(&base, res, req, m, "project_id") || !cairn_manage_lookup(&d, res, req, m))
		return;
	if (!is_json_patch(req)) {
		cairn_http_respond_text(res, 415, "Content-Type: expected application/json-patch+json");
		return;
	}
	if (cairn_manage_parse_stop_patch(req->body, req->body_len) != CAIRN_OK) {
		cairn_manage_respond_bad_body(res);
		return;
	}
	answer_change(res, req, cairn_backup_stop(m->backups, d.id), d.id, "stop requested");
}

static void delete_backup(cairn_http_response *res, const cairn_http_request *req, void *ctx)
{
	cairn_manage *m = ctx;
	cairn_manage_base base;
	cairn_backup_detail d;
	if (!cairn_manage_enter(&base, res, req, m, "project_id") || !cairn_manage_lookup(&d, res, req, m))
		return;
	answer_change(res, req, cairn_backup_remove(m->backups, d.id), d.id, "deleted");
}

static void show_events(cairn_http_response *res, const cairn_http_request *req, void *ctx)
{
	cairn_manage *m = ctx;
	cairn_manage_base base;
	cairn_backup_detail d;
	cairn_backup_event *events;
	size_t count;
	if (!cairn_manage_enter(&base, res, req, m, "project_id") || !cairn_manage_lookup(&d, res, req, m))
		return;
	if (cairn_backup_events(&events, &count, m->backups, d.id) != CAIRN_OK) {
		cairn_http_respond_text(res, 500, "%s", cairn_error_last());
		return;
	}
	cairn_api_respond_json(res, 200, cairn_manage_render_events(&base, d.id, events, count));
	free(events);
}

static void show_errors(cairn_http_response *res, const cairn_http_request *req, void *ctx)
{
	cairn_manage *m = ctx;
	cairn_manage_base base;
	cairn_backup_detail d;
	cairn_backup_error *errors;
	size_t count;
	if (!cairn_manage_enter(&base, res, req, m, "project_id") || !cairn_manage_lookup(&d, res, req, m))
		return;
	if (cairn_backup_errors(&errors, &count, m->backups, d.id) != CAIRN_OK) {
		cairn_http_respond_text(res, 500, "%s", cairn_error_last());
		return;
	}
	cairn_api_respond_json(res, 200, cairn_manage_render_errors(&base, &d, errors, count));
	free(errors);
}

static void show_agent(cairn_http_response *res, const cairn_http_request *req, void *ctx)
{
	cairn_manage *m = ctx;
	cairn_manage_base base;
	if (!cairn_manage_enter(&base, res, req, m, "project_id"))
		return;
	const char *id = cairn_http_request_param(req, "id");
	if (strcmp(id, m->agent_id) != 0) {
		cairn_http_respond_text(res, 404, "no such agent: this node is %s", m->agent_id);
		return;
	}
	json_object *body = json_object_new_object();
	json_object_object_add(body, "id", json_object_new_string(m->agent_id));
	json_object_object_add(body, "name", json_object_new_string("cairn"));
	json_object_object_add(body, "version", json_object_new_string(CAIRN_VERSION));
	json_object_object_add(body, "project_id", json_object_new_string(m->database));
	json_object_object_add(body, "backup_directory",
		json_object_new_string(cairn_backup_manager_directory(m->backups)));
	cairn_api_respond_json(res, 200, body);
}

static json_object *schedule_of(const cairn_manage *m, bool scheduled)
{
	json_object *schedule = json_object_new_object();
	json_object_object_add(schedule, "interval_seconds",
		json_object_new_double(scheduled ? m->schedule_interval : 0));
	json_object_object_add(schedule, "backup_pact", json_object_new_boolean(scheduled && m->schedule_pact));
	return schedule;
}

static void show_configuration(cairn_http_response *res, const cairn_http_request *req, void *ctx)
{
	cairn_manage *m = ctx;
	cairn_manage_base base;
	if (!cairn_manage_enter(&base, res, req, m, "project_id"))
		return;
	const char *id = cairn_http_request_param(req, "id");
	bool scheduled = strcmp(id, "scheduled") == 0;
	if (!scheduled && strcmp(id, "manual") != 0) {
		cairn_http_respond_text(res, 404, "no such configuration: expected manual or scheduled");
		return;
	}
	json_object *retention = json_object_new_object();
	json_object_object_add(retention, "keep_last", json_object_new_int(m->retention_keep_last));
	json_object_object_add(retention, "max_age_seconds", json_object_new_double(m->retention_max_age));
	json_object *body = json_object_new_object();
	json_object_object_add(body, "id", json_object_new_string(id));
	json_object_object_add(body, "enabled", json_object_new_boolean(!scheduled || m->schedule_interval > 0));
	json_object_object_add(body, "schedule", schedule_of(m, scheduled));
	json_object_object_add(body, "retention", retention);
	cairn_api_respond_json(res, 200, body);
}

static const cairn_manage_route routes[] = {
	{CAIRN_HTTP_GET, "/v2/{project_id}/backups", list_backups},
	{CAIRN_HTTP_POST, "/v2/{project_id}/backups", create_backup},
	{CAIRN_HTTP_GET, "/v2/{project_id}/backups/{id}", show_backup},
	{CAIRN_HTTP_PATCH, "/v2/{project_id}/backups/{id}", patch_backup},
	{CAIRN_HTTP_DELETE, "/v2/{project_id}/backups/{id}", delete_backup},
	{CAIRN_HTTP_GET, "/v2/{project_id}/backups/{id}/events", show_events},
	{CAIRN_HTTP_GET, "/v2/{project_id}/backups/{id}/errors", show_errors},
	{CAIRN_HTTP_GET, "/v2/{project_id}/agents/{id}", show_agent},
	{CAIRN_HTTP_GET, "/v2/{project_id}/configurations/{id}", show_configuration},
};

int cairn_manage_rackspace_register(cairn_http_router *router, cairn_manage *m)
{
	return cairn_manage_add_routes(router, routes, sizeof(routes) / sizeof(routes[0]), m);
}
