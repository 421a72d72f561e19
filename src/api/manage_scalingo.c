/*
 * manage_scalingo.c: the backup management API in the shape of Scalingo's
 * database backups, under /api/databases/{db}/.
 *
 *   GET  backups                   {"database_backups": [...]}, newest first
 *   POST backups                   no body, or {"backupPact": bool}: 201 with
 *                                  {"database_backup": ...}, 200 with the running one
 *   GET  backups/{id}              {"database_backup": ...}
 *   GET  backups/{id}/archive      {"download_url": ...}: a link that needs no
 *                                  other credential, for this backup, until it expires
 *   GET  backups/{id}/download     ?token=...: the backup as a .tar.zst stream
 *
 * The download needs no API token but its link token (manage_link.c), which
 * is checked before the backup is even opened: a bad token gets a 403 and
 * no byte of data.  The archive is produced while it is sent
 * (backup/archive.h): one piece per call of the server's reader, so memory
 * stays bounded and a client that goes away costs only the close.  With
 * backup.rateLimit the body is paced by the server (reader rate_bps): the
 * connection is parked between pieces, no worker waits.
 */
#include "api/manage.h"
#include "metrics/metrics.h"
#include "backup/archive.h"
#include "util/log.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LIST_CHUNK 500

static json_object *wrapped(const cairn_manage_base *base, const cairn_backup_detail *d)
{
	json_object *body = json_object_new_object();
	json_object_object_add(body, "database_backup", cairn_manage_render_database_backup(base, d));
	return body;
}

/* Appends every backup, newest first, a page at a time. */
static int append_all(json_object *list, const cairn_manage_base *base, const cairn_manage *m)
{
	cairn_backup_page_options opts = CAIRN_BACKUP_PAGE_OPTIONS_INIT;
	char next[CAIRN_BACKUP_ID_MAX + 1] = "";
	opts.limit = LIST_CHUNK;
	opts.marker_inclusive = true;
	do {
		cairn_backup_detail *page;
		size_t count;
		opts.marker = next[0] != '\0' ? next : NULL;
		int rc = cairn_backup_page(&page, &count, next, m->backups, &opts);
		if (rc != CAIRN_OK)
			return rc;
		for (size_t i = 0; i < count; i++)
			json_object_array_add(list, cairn_manage_render_database_backup(base, &page[i]));
		free(page);
	} while (next[0] != '\0');
	return CAIRN_OK;
}

static void list_backups(cairn_http_response *res, const cairn_http_request *req, void *ctx)
{
	cairn_manage_base base;
	if (!cairn_manage_enter(&base, res, req, ctx, "db"))
		return;
	json_object *list = json_object_new_array();
	if (append_all(list, &base, ctx) != CAIRN_OK) {
		json_object_put(list);
		cairn_http_respond_text(res, 500, "%s", cairn_error_last());
		return;
	}
	json_object *body = json_object_new_object();
	json_object_object_add(body, "database_backups", list);
	cairn_api_respond_json(res, 200, body);
}

static void create_backup(cairn_http_response *res, const cairn_http_request *req, void *ctx)
{
	cairn_manage_base base;
	bool include_pact, started;
	cairn_backup_detail d;
	if (!cairn_manage_enter(&base, res, req, ctx, "db"))
		return;
	if (cairn_manage_parse_create(&include_pact, req->body, req->body_len, false) != CAIRN_OK) {
		cairn_manage_respond_bad_body(res);
		return;
	}
	if (cairn_manage_start_job(&d, &started, res, ctx, include_pact))
		cairn_api_respond_json(res, started ? 201 : 200, wrapped(&base, &d));
}

static void show_backup(cairn_http_response *res, const cairn_http_request *req, void *ctx)
{
	cairn_manage_base base;
	cairn_backup_detail d;
	if (cairn_manage_enter(&base, res, req, ctx, "db") && cairn_manage_lookup(&d, res, req, ctx))
		cairn_api_respond_json(res, 200, wrapped(&base, &d));
}

static bool is_complete(const cairn_backup_detail *d)
{
	return d->state == CAIRN_BACKUP_DONE || d->state == CAIRN_BACKUP_DONE_WITH_ERRORS;
}

static void download_link(cairn_http_response *res, const cairn_http_request *req, void *ctx)
{
	cairn_manage *m = ctx;
	cairn_manage_base base;
	cairn_backup_detail d;
	if (!cairn_manage_enter(&base, res, req, m, "db") || !cairn_manage_lookup(&d, res, req, m))
		return;
	if (!is_complete(&d)) {
		cairn_http_respond_text(res, 409, "backup %s is %s: only a completed backup can be downloaded", d.id,
			cairn_backup_state_name(d.state));
		return;
	}
	char token[CAIRN_MANAGE_LINK_TOKEN_MAX], url[900];
	cairn_manage_link_token(token, &m->key, m->database, d.id, (int64_t)time(NULL) + m->link_seconds);
	snprintf(url, sizeof(url), "%s/api/databases/%s/backups/%s/download?token=%s", base.origin, m->database, d.id,
		token);
	json_object *body = json_object_new_object();
	json_object_object_add(body, "download_url", json_object_new_string(url));
	cairn_api_respond_json(res, 200, body);
}

static const char *link_refusal(cairn_manage_link_check check)
{
	switch (check) {
	case CAIRN_MANAGE_LINK_MALFORMED:
		return "malformed download token";
	case CAIRN_MANAGE_LINK_FORGED:
		return "invalid download token for this backup";
	case CAIRN_MANAGE_LINK_EXPIRED:
		return "download link expired: ask /archive for a new one";
	case CAIRN_MANAGE_LINK_VALID:
		break;
	}
	return NULL;
}

/* Refuses (403) unless the request's ?token= is a valid link of backup `id`. */
static bool check_link(cairn_http_response *res, const cairn_http_request *req, const cairn_manage *m,
	const char *id)
{
	const char *token;
	const char *reason = "missing download token";
	if (cairn_http_request_query(&token, req, "token") && token != NULL)
		reason = link_refusal(cairn_manage_link_verify(&m->key, m->database, id, token, (int64_t)time(NULL)));
	if (reason == NULL)
		return true;
	cairn_metrics_auth_rejected(CAIRN_METRICS_AUTH_LINK);
	cairn_log_warn("manage", "refused a download of backup %s from %s: %s", id, req->peer, reason);
	cairn_http_respond_text(res, 403, "%s", reason);
	return false;
}

typedef struct download {
	cairn_backup_archive *archive;
	char id[CAIRN_BACKUP_ID_MAX + 1];
	char peer[CAIRN_HTTP_PEER_MAX];
	uint64_t sent;
	bool failed;
} download;

static long download_read(void *ctx, char *buf, size_t max)
{
	download *dl = ctx;
	size_t n;
	if (cairn_backup_archive_read(&n, dl->archive, buf, max) != CAIRN_OK) {
		cairn_log_error("manage", "download of backup %s to %s cut off: %s", dl->id, dl->peer, cairn_error_last());
		dl->failed = true;
		return -1;
	}
	dl->sent += n;
	return (long)n;
}

static void download_free(void *ctx)
{
	download *dl = ctx;
	uint64_t done = cairn_backup_archive_bytes_done(dl->archive), total = cairn_backup_archive_bytes_total(dl->archive);
	if (!dl->failed)
		cairn_log_info("manage", "download of backup %s to %s ended: %llu compressed bytes sent, %llu of %llu bytes archived",
			dl->id, dl->peer, (unsigned long long)dl->sent, (unsigned long long)done, (unsigned long long)total);
	cairn_backup_archive_close(dl->archive);
	free(dl);
}

static int open_download(download **out, const cairn_manage *m, const char *id, const char *peer)
{
	download *dl = calloc(1, sizeof(*dl));
	if (dl == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	snprintf(dl->id, sizeof(dl->id), "%s", id);
	snprintf(dl->peer, sizeof(dl->peer), "%s", peer);
	int rc = cairn_backup_archive_open(&dl->archive, cairn_backup_manager_directory(m->backups), id, id);
	if (rc != CAIRN_OK) {
		free(dl);
		return rc;
	}
	*out = dl;
	return CAIRN_OK;
}

static void respond_archive(cairn_http_response *res, download *dl, const cairn_backup_detail *d,
	const char *database, uint64_t rate_bps)
{
	char name[160], disposition[CAIRN_HTTP_HEADER_VALUE_MAX];
	cairn_manage_backup_name(name, sizeof(name), d, database);
	snprintf(disposition, sizeof(disposition), "attachment; filename=\"%s.tar.zst\"", name);
	cairn_http_body_reader reader = {download_read, download_free, dl, -1, rate_bps};
	cairn_http_respond_reader(res, 200, "application/zstd", &reader);
	cairn_http_response_add_header(res, "Content-Disposition", disposition);
}

static void download_archive(cairn_http_response *res, const cairn_http_request *req, void *ctx)
{
	cairn_manage *m = ctx;
	const char *db = cairn_http_request_param(req, "db"), *id = cairn_http_request_param(req, "id");
	cairn_backup_detail d;
	if (strcmp(db, m->database) != 0) {
		cairn_http_respond_text(res, 404, "no such database: this node serves \"%s\"", m->database);
		return;
	}
	if (!cairn_backup_id_is_valid(id)) {
		cairn_http_respond_text(res, 404, "no such backup");
		return;
	}
	if (!check_link(res, req, m, id) || !cairn_manage_lookup(&d, res, req, m))
		return;
	download *dl;
	int rc = open_download(&dl, m, id, req->peer);
	if (rc == CAIRN_ENOTFOUND)
		cairn_http_respond_text(res, 404, "no such backup");
	else if (rc == CAIRN_ESTATE)
		cairn_http_respond_text(res, 409, "%s", cairn_error_last());
	else if (rc != CAIRN_OK)
		cairn_http_respond_text(res, 500, "%s", cairn_error_last());
	else {
		cairn_log_info("manage", "download of backup %s to %s started", id, req->peer);
		respond_archive(res, dl, &d, m->database, m->rate_limit_bps);
	}
}

static const cairn_manage_route routes[] = {
	{CAIRN_HTTP_GET, "/api/databases/{db}/backups", list_backups},
	{CAIRN_HTTP_POST, "/api/databases/{db}/backups", create_backup},
	{CAIRN_HTTP_GET, "/api/databases/{db}/backups/{id}", show_backup},
	{CAIRN_HTTP_GET, "/api/databases/{db}/backups/{id}/archive", download_link},
	{CAIRN_HTTP_GET, "/api/databases/{db}/backups/{id}/download", download_archive},
};

int cairn_manage_scalingo_register(cairn_http_router *router, cairn_manage *m)
{
	return cairn_manage_add_routes(router, routes, sizeof(routes) / sizeof(routes[0]), m);
}
