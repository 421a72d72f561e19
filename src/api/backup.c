/*
 * backup.c: POST /make-backup and GET /check-backup/{backupId}, registered
 * only when the backup API is enabled (otherwise both paths are 404).
 *
 * Both are thin: the backup engine (backup/backup.h) does the work and
 * keeps ids safe; here query arguments are read and job states shown as
 * Chainweb's three strings (the engine's status-file texts: the preparing
 * and copying phases are both backup-in-progress).  Success bodies are the bare id or status
 * (no newline), as chainweb-node sends its plain-text values.
 *
 * backupPact: given without a value, or as true or 1, includes the Pact
 * state; false or 0, or no backupPact at all, does not; anything else is a
 * 400 naming the accepted values, so a typo never silently drops Pact.
 */
#include "api/api.h"

#include <stdlib.h>
#include <string.h>

static int parse_backup_pact(bool *out, const cairn_http_request *req)
{
	const char *value;
	*out = false;
	if (!cairn_http_request_query(&value, req, "backupPact"))
		return CAIRN_OK;
	if (value == NULL || strcmp(value, "true") == 0 || strcmp(value, "1") == 0)
		*out = true;
	else if (strcmp(value, "false") != 0 && strcmp(value, "0") != 0)
		return CAIRN_EINVALID;
	return CAIRN_OK;
}

static void make_backup(cairn_http_response *res, const cairn_http_request *req, void *ctx)
{
	cairn_backup_request request = CAIRN_BACKUP_REQUEST_INIT;
	if (parse_backup_pact(&request.include_pact, req) != CAIRN_OK) {
		cairn_http_respond_text(res, 400, "invalid backupPact value: expected no value, true, 1, false or 0");
		return;
	}
	char id[CAIRN_BACKUP_ID_MAX + 1];
	bool started;
	if (cairn_backup_start(id, &started, cairn_node_backups(ctx), &request) != CAIRN_OK) {
		cairn_http_respond_text(res, 500, "%s", cairn_error_last());
		return;
	}
	size_t len = strlen(id);
	char *body = malloc(len + 1);
	if (body == NULL) {
		cairn_http_respond_text(res, 500, "internal error: out of memory");
		return;
	}
	memcpy(body, id, len + 1);
	cairn_http_respond_owned(res, 200, CAIRN_HTTP_TEXT_PLAIN, body, len);
}

static void check_backup(cairn_http_response *res, const cairn_http_request *req, void *ctx)
{
	cairn_backup_state state;
	int rc = cairn_backup_state_of(&state, cairn_node_backups(ctx), cairn_http_request_param(req, "backupId"));
	if (rc == CAIRN_ENOTFOUND) {
		cairn_http_respond_text(res, 404, "no such backup");
		return;
	}
	if (rc != CAIRN_OK) {
		cairn_http_respond_text(res, 500, "%s", cairn_error_last());
		return;
	}
	const char *text = cairn_backup_status_text(state);
	cairn_http_respond_static(res, 200, CAIRN_HTTP_TEXT_PLAIN, text, strlen(text));
}

int cairn_api_backup_register(cairn_http_router *router, cairn_node *node)
{
	if (cairn_node_backups(node) == NULL)
		return cairn_error_set(CAIRN_EINVALID, "the backup API needs a backup directory");
	int rc = cairn_http_router_add(router, CAIRN_HTTP_POST, "/make-backup", make_backup, node);
	if (rc == CAIRN_OK)
		rc = cairn_http_router_add(router, CAIRN_HTTP_GET, "/check-backup/{backupId}", check_backup, node);
	return rc;
}
