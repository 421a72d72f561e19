/*
 * backup_client_connect.c: where the client CLI finds the node and its
 * token (backup_client.h; the rules are in cmd_backup_client.c's comment).
 *
 * The configuration file is read with the node's own loader
 * (config/config.h), so the client and the node can never disagree on a
 * key; nothing in it is validated beyond parsing, since the client only
 * reads the service address and the database name.  Token buffers are
 * wiped after use.
 */
#include "cli/backup_client.h"
#include "cli/commands.h"
#include "config/config.h"
#include "util/error.h"
#include "util/fs.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cairn_backup_client_locate(char *url, size_t url_size, char *database, size_t db_size, const char *path)
{
	cairn_config cfg;
	int status = CAIRN_EXIT_OK;
	if (cairn_config_init(&cfg) != CAIRN_OK) {
		cairn_backup_client_fail("%s", cairn_error_last());
		return CAIRN_EXIT_FAILURE;
	}
	if (path != NULL && cairn_config_load_file(&cfg, path) != CAIRN_OK) {
		cairn_backup_client_fail("configuration error: %s", cairn_error_last());
		status = CAIRN_EXIT_USAGE;
	} else if (cfg.service_port == 0) {
		cairn_backup_client_fail("%s sets serviceApi.port 0 (a port picked at start): give --node URL", path != NULL ? path : "the configuration");
		status = CAIRN_EXIT_USAGE;
	} else {
		const char *host = cfg.service_interface;
		if (strcmp(host, "0.0.0.0") == 0 || host[0] == '\0')
			host = "127.0.0.1";
		else if (strcmp(host, "::") == 0)
			host = "::1";
		bool v6 = strchr(host, ':') != NULL;
		snprintf(url, url_size, "http://%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "", cfg.service_port);
		if (path != NULL && cfg.management_database_name != NULL)
			snprintf(database, db_size, "%s", cfg.management_database_name);
	}
	cairn_config_free(&cfg);
	return status;
}

/* The first token line of `path` (blank and '#' lines skipped, spaces trimmed). */
static int read_token_file(char *out, size_t size, const char *path)
{
	int rc = cairn_fs_check_private_file(path);
	char *text = NULL;
	size_t len = 0;
	if (rc == CAIRN_OK)
		rc = cairn_fs_read_file(&text, &len, path);
	if (rc != CAIRN_OK) {
		cairn_backup_client_fail("token file: %s", cairn_error_last());
		return CAIRN_EXIT_UNREACHABLE;
	}
	out[0] = '\0';
	for (char *line = text; line != NULL && out[0] == '\0';) {
		char *nl = strchr(line, '\n');
		char *end = nl != NULL ? nl : line + strlen(line);
		while (line < end && isspace((unsigned char)*line))
			line++;
		while (end > line && isspace((unsigned char)end[-1]))
			end--;
		if (end > line && *line != '#' && (size_t)(end - line) < size)
			snprintf(out, size, "%.*s", (int)(end - line), line);
		line = nl != NULL ? nl + 1 : NULL;
	}
	memset(text, 0, len);
	free(text);
	if (out[0] == '\0') {
		cairn_backup_client_fail("token file %s holds no token", path);
		return CAIRN_EXIT_UNREACHABLE;
	}
	return CAIRN_EXIT_OK;
}

/* A token goes into a header line: no control characters. */
static int check_token(const char *token, const char *source)
{
	for (const char *p = token; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			cairn_backup_client_fail("the token of %s holds a control character", source);
			return CAIRN_EXIT_UNREACHABLE;
		}
	return CAIRN_EXIT_OK;
}

int cairn_backup_client_token(char *out, size_t size, const char *token_file)
{
	if (token_file != NULL) {
		int status = read_token_file(out, size, token_file);
		return status == CAIRN_EXIT_OK ? check_token(out, token_file) : status;
	}
	const char *env = getenv("CAIRN_TOKEN");
	if (env == NULL || env[0] == '\0') {
		cairn_backup_client_fail("no API token: give --token-file FILE or set CAIRN_TOKEN");
		return CAIRN_EXIT_UNREACHABLE;
	}
	if (strlen(env) >= size) {
		cairn_backup_client_fail("CAIRN_TOKEN is longer than %zu bytes", size - 1);
		return CAIRN_EXIT_UNREACHABLE;
	}
	snprintf(out, size, "%s", env);
	return check_token(out, "CAIRN_TOKEN");
}
