/*
 * manage.c: the backup management API's shared context and registration.
 *
 * One context serves both APIs: the backup manager every job lives in
 * (the same one make-backup and check-backup use, so one backup is one job
 * whatever API started or reads it), the loaded tokens, the link secret and
 * the database name that both APIs put in their paths.  It is built before
 * the server starts and is read-only afterwards, so handlers on many
 * threads share it without locking; the manager does its own.
 *
 * Every handler begins with cairn_manage_enter: the token first (so an
 * unauthenticated client learns nothing, not even the database name), then
 * the database name (another is a 404).
 */
#include "api/manage.h"
#include "metrics/metrics.h"
#include "util/log.h"

#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cairn_api_manage {
	cairn_manage m;
};

bool cairn_manage_authorize(cairn_http_response *res, const cairn_http_request *req, const cairn_manage *m)
{
	const char *token;
	size_t len;
	const char *reason = NULL;
	cairn_metrics_auth_reason why = CAIRN_METRICS_AUTH_MISSING;
	if (!cairn_manage_request_token(&token, &len, req)) {
		reason = "missing token: send X-Auth-Token: TOKEN or Authorization: Bearer TOKEN";
	} else if (!cairn_manage_tokens_match(m->tokens, token, len)) {
		reason = "invalid token";
		why = CAIRN_METRICS_AUTH_INVALID;
	}
	if (reason == NULL)
		return true;
	cairn_metrics_auth_rejected(why);
	cairn_log_warn("manage", "refused a %s request from %s: %s", cairn_http_method_name(req->method),
		req->peer, reason);
	cairn_http_respond_text(res, 401, "%s", reason);
	cairn_http_response_add_header(res, "WWW-Authenticate", "Bearer");
	return false;
}

bool cairn_api_manage_authorize(cairn_http_response *res, const cairn_http_request *req,
	const cairn_api_manage *api)
{
	return cairn_manage_authorize(res, req, &api->m);
}

static void fill_base(cairn_manage_base *base, const cairn_http_request *req, const cairn_manage *m)
{
	const char *host = cairn_http_request_header(req, "Host");
	if (host != NULL && strlen(host) < sizeof(base->origin) - 8 && strpbrk(host, "/\\\"<> ") == NULL)
		snprintf(base->origin, sizeof(base->origin), "http://%s", host);
	else
		base->origin[0] = '\0';
	base->database = m->database;
	base->agent_id = m->agent_id;
}

bool cairn_manage_enter(cairn_manage_base *base, cairn_http_response *res, const cairn_http_request *req,
	const cairn_manage *m, const char *param)
{
	if (!cairn_manage_authorize(res, req, m))
		return false;
	const char *name = cairn_http_request_param(req, param);
	if (name == NULL || strcmp(name, m->database) != 0) {
		cairn_http_respond_text(res, 404, "no such database: this node serves \"%s\"", m->database);
		return false;
	}
	fill_base(base, req, m);
	return true;
}

bool cairn_manage_lookup(cairn_backup_detail *out, cairn_http_response *res, const cairn_http_request *req,
	const cairn_manage *m)
{
	int rc = cairn_backup_describe(out, m->backups, cairn_http_request_param(req, "id"));
	if (rc == CAIRN_ENOTFOUND)
		cairn_http_respond_text(res, 404, "no such backup");
	else if (rc != CAIRN_OK)
		cairn_http_respond_text(res, 500, "%s", cairn_error_last());
	return rc == CAIRN_OK;
}

bool cairn_manage_start_job(cairn_backup_detail *out, bool *out_started, cairn_http_response *res,
	const cairn_manage *m, bool include_pact)
{
	cairn_backup_request request = CAIRN_BACKUP_REQUEST_INIT;
	request.include_pact = include_pact;
	char id[CAIRN_BACKUP_ID_MAX + 1];
	int rc = cairn_backup_start(id, out_started, m->backups, &request);
	if (rc == CAIRN_OK)
		rc = cairn_backup_describe(out, m->backups, id);
	if (rc != CAIRN_OK) {
		cairn_log_error("manage", "cannot start a backup: %s", cairn_error_last());
		cairn_http_respond_text(res, 500, "cannot start a backup: %s", cairn_error_last());
		return false;
	}
	return true;
}

void cairn_manage_respond_bad_body(cairn_http_response *res)
{
	cairn_http_respond_text(res, 400, "%s", cairn_error_last());
}

int cairn_manage_add_routes(cairn_http_router *router, const cairn_manage_route *routes, size_t count,
	cairn_manage *m)
{
	for (size_t i = 0; i < count; i++) {
		int rc = cairn_http_router_add(router, routes[i].method, routes[i].pattern, routes[i].handler, m);
		if (rc != CAIRN_OK)
			return rc;
	}
	return CAIRN_OK;
}

static int manage_init(cairn_manage *m, cairn_node *node, const cairn_config *cfg)
{
	m->backups = cairn_node_backups(node);
	if (m->backups == NULL)
		return cairn_error_set(CAIRN_EINVALID, "the management API needs a backup directory (backup.directory)");
	const char *name = cfg->management_database_name ? cfg->management_database_name : cairn_node_version(node)->name;
	if ((m->database_owned = strdup(name)) == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	m->database = m->database_owned;
	if (cfg->management_token_file == NULL)
		return cairn_error_set(CAIRN_EINVALID, "the management API needs managementApi.tokenFile");
	int rc = cairn_manage_tokens_load(&m->tokens, cfg->management_token_file);
	if (rc != CAIRN_OK)
		return rc;
	char key_path[PATH_MAX];
	if (snprintf(key_path, sizeof(key_path), "%s/management-link.key", cfg->database_directory) >= (int)sizeof(key_path))
		return cairn_error_set(CAIRN_EINVALID, "database directory path too long");
	rc = cairn_manage_key_load_or_create(&m->key, key_path);
	if (rc != CAIRN_OK)
		return rc;
	cairn_manage_agent_id(m->agent_id, &m->key);
	m->link_seconds = cfg->management_download_link_seconds;
	m->rate_limit_bps = (uint64_t)cfg->backup_rate_limit;
	m->schedule_interval = cfg->backup_schedule_interval;
	m->schedule_pact = cfg->backup_schedule_pact;
	m->retention_keep_last = cfg->backup_retention_keep_last;
	m->retention_max_age = cfg->backup_retention_max_age;
	return CAIRN_OK;
}

int cairn_api_manage_start(cairn_api_manage **out, cairn_http_router *router, cairn_node *node,
	const cairn_config *cfg)
{
	cairn_api_manage *api = calloc(1, sizeof(*api));
	if (api == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	int rc = manage_init(&api->m, node, cfg);
	if (rc == CAIRN_OK)
		rc = cairn_manage_rackspace_register(router, &api->m);
	if (rc == CAIRN_OK)
		rc = cairn_manage_scalingo_register(router, &api->m);
	if (rc != CAIRN_OK) {
		cairn_api_manage_free(api);
		return rc;
	}
	cairn_log_info("manage", "management API on for database \"%s\" (/v2/%s/backups, /api/databases/%s/backups)",
		api->m.database, api->m.database, api->m.database);
	*out = api;
	return CAIRN_OK;
}

void cairn_api_manage_free(cairn_api_manage *api)
{
	if (api == NULL)
		return;
	cairn_manage_tokens_free(api->m.tokens);
	free(api->m.database_owned);
	free(api);
}
