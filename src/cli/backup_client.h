/*
 * backup_client.h: `cairn backup start|status|stop|events|download|list|
 * delete` against a running node's management API (cmd_backup_client.c),
 * dispatched from `cairn backup` (cmd_backup.c).
 */
#ifndef CAIRN_CLI_BACKUP_CLIENT_H
#define CAIRN_CLI_BACKUP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "cli/node_client.h"

#include <json-c/json.h>

/* Exit status of the client commands besides 0, 1 and 2 (commands.h):
 * the node could not be reached, or refused the token. */
#define CAIRN_EXIT_UNREACHABLE 3

/* The usage lines and text of the client commands, for `cairn backup --help`. */
extern const char cairn_backup_client_usage[];

/* True when `cairn backup argv[1] ...` is a client command: start, status,
 * stop, events and download always; list and delete unless given
 * --backup-directory (their offline forms) or --remote. */
bool cairn_backup_client_handles(int argc, char **argv);

/* Runs one (argv[0] = "backup", argv[1] = the command); returns the exit status. */
int cairn_cmd_backup_client(int argc, char **argv);

/* ---- shared by cmd_backup_client.c and backup_download.c ---- */

typedef struct cairn_backup_client {
	cairn_node_client *http;
	char database[256];
	bool json;
	bool terminal; /* stderr is a terminal: progress bars */
} cairn_backup_client;

/* Sends a request and judges the answer: the exit status to return when it
 * is not `expected` (the message already printed), or 0 with the answer
 * in *out (cleared by the caller). */
int cairn_backup_client_call(cairn_node_response *out, cairn_backup_client *c, const char *method,
	const char *target, const char *content_type, const char *body, long expected);

/* GET `target`, answered 200 with JSON: the exit status, the message
 * printed; the JSON in *out (released by the caller).  When `optional`,
 * an answer that is not JSON is no failure: *out is NULL. */
int cairn_backup_client_get_json(json_object **out, cairn_backup_client *c, const char *target, bool optional);

/* Prints "cairn backup: ..." on stderr. */
void cairn_backup_client_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "1.2 GB" */
void cairn_backup_client_bytes(char *out, size_t size, double bytes);

/* The node's URL ("http://HOST:PORT") from the configuration file `path`
 * (NULL: the embedded defaults), and its managementApi.databaseName into
 * `database` when the file sets one (left alone otherwise).  The exit
 * status; the message printed (backup_client_connect.c). */
int cairn_backup_client_locate(char *url, size_t url_size, char *database, size_t db_size, const char *path);

/* The API token: the first token line of `token_file` (which must be
 * private to its owner), else $CAIRN_TOKEN.  The exit status (3 when there
 * is none usable); the message printed. */
int cairn_backup_client_token(char *out, size_t size, const char *token_file);

/* `cairn backup download ID [-o FILE]` (backup_download.c). */
int cairn_backup_client_download(cairn_backup_client *c, const char *id, const char *output);

#endif
