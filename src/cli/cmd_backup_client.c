/*
 * cmd_backup_client.c: `cairn backup start|status|stop|events|list|delete`
 * (and the setup of `download`, backup_download.c) against a running
 * node's backup management API (docs/api.md).
 *
 * Which API.  The node serves the same jobs in two shapes.  The client
 * speaks the Rackspace Cloud Backup v2 one (/v2/{project_id}/backups): its
 * detail carries the live counters a progress bar needs (bytes searched of
 * bytes in the database), and it alone has events, stop (PATCH) and
 * delete, and a paged list.  Only the download link comes from the
 * Scalingo shape (/api/databases/{db}/backups/{id}/archive), which is the
 * only one that has it.  The token goes as X-Auth-Token, which both accept.
 *
 * Where the node is.  --node URL; otherwise the service address of the
 * node's configuration (--config-file, the node's own YAML, read with the
 * node's loader: serviceApi.interface and serviceApi.port, a wildcard interface
 * reached on loopback); otherwise the embedded default,
 * http://127.0.0.1:1848.  The database name in the paths is --database,
 * else the configuration's managementApi.databaseName, else the node's
 * Chainweb version as its /info tells it (the node's own default).
 *
 * The token.  --token-file FILE (its first token line, as the node reads
 * its own token file), else the environment's CAIRN_TOKEN.  A token file
 * that group or others may read is refused, as the node refuses its own:
 * a token that others can read is no longer a secret, and a warning is
 * easily missed in scripts.
 *
 * Exit status: 0 done; 1 failed (the job failed, was stopped or skipped;
 * the node answered an error such as 404 or 409; the download failed);
 * 2 usage; 3 the node cannot be reached, or refused the token (401, 403),
 * or no usable token was given.  `start --wait` of a job that ends
 * completed_with_errors exits 0 with a warning: the backup is complete
 * and restorable (the error is in a later step such as retention).
 *
 * Output: results on standard output (--json: the API's JSON, one
 * document); progress, state changes and errors on standard error.
 */
#include "backup/backup.h"
#include "cli/backup_client.h"
#include "cli/backup_common.h"
#include "cli/commands.h"
#include "util/error.h"
#include "util/progress.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POLL_SECONDS 0.25
#define LIST_PAGE 1000
#define TOKEN_MAX 4096

const char cairn_backup_client_usage[] =
	"Against a running node's management API:\n"
	"       cairn backup start [--pact] [--wait] [CLIENT OPTIONS]\n"
	"       cairn backup status [ID] [CLIENT OPTIONS]\n"
	"       cairn backup stop ID [--wait] [CLIENT OPTIONS]\n"
	"       cairn backup events ID [CLIENT OPTIONS]\n"
	"       cairn backup download ID [-o FILE] [CLIENT OPTIONS]\n"
	"       cairn backup list [CLIENT OPTIONS]\n"
	"       cairn backup delete ID [CLIENT OPTIONS]\n"
	"\n"
	"  start     start a backup (--pact: with the Pact state); --wait follows it to\n"
	"            its end with a progress bar on a terminal, plain lines otherwise.\n"
	"  status    one backup's detail, or (no ID) every backup, one line each.\n"
	"  stop      ask a running backup to stop; --wait until it has ended.\n"
	"  events    a backup's events, oldest first.\n"
	"  download  a completed backup as FILE (default <database>-<ID>.tar.zst; '-' for\n"
	"            standard output), written under a temporary name and renamed when\n"
	"            complete; restore it with cairn backup restore FILE.\n"
	"  list      every backup, newest first; delete removes one that has ended.\n"
	"\n"
	"Client options:\n"
	"  --node URL          the node (default: the service address of --config-file,\n"
	"                      else http://127.0.0.1:1848)\n"
	"  --config-file FILE  the node's configuration, to find its address and name\n"
	"  --token-file FILE   an API token (first token line; the file must be private:\n"
	"                      chmod 600), else the environment variable CAIRN_TOKEN\n"
	"  --database NAME     the database name of the API's paths (default: the\n"
	"                      configuration's managementApi.databaseName, else the\n"
	"                      node's Chainweb version)\n"
	"  --json              print the API's JSON instead of text\n"
	"Client exit status: 0 done, 1 failed (job failed, stopped or skipped; an error\n"
	"answer; download failed), 2 usage, 3 node not reachable or token refused.\n"
	"start --wait of a job that ends completed_with_errors exits 0 with a warning.\n";

typedef struct client_args {
	const char *command;
	const char *id;
	const char *node, *config_file, *token_file, *database, *output;
	bool json, pact, wait;
} client_args;

void cairn_backup_client_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("cairn backup: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void cairn_backup_client_bytes(char *out, size_t size, double bytes)
{
	static const char *const units[] = {"B", "kB", "MB", "GB", "TB"};
	size_t i = 0;
	while (bytes >= 1000.0 && i + 1 < sizeof(units) / sizeof(units[0])) {
		bytes /= 1000.0;
		i++;
	}
	snprintf(out, size, i == 0 ? "%.0f %s" : "%.1f %s", bytes, units[i]);
}

static int usage_error(const char *fmt, const char *what)
{
	return cairn_backup_usage_error(NULL, fmt, what);
}

bool cairn_backup_client_handles(int argc, char **argv)
{
	static const char *const always[] = {"start", "status", "stop", "events", "download"};
	if (argc < 2)
		return false;
	for (size_t i = 0; i < sizeof(always) / sizeof(always[0]); i++)
		if (strcmp(argv[1], always[i]) == 0)
			return true;
	if (strcmp(argv[1], "list") != 0 && strcmp(argv[1], "delete") != 0)
		return false;
	for (int i = 2; i < argc; i++)
		if (strcmp(argv[i], "--backup-directory") == 0 || strcmp(argv[i], "--remote") == 0 ||
			strncmp(argv[i], "--remote=", 9) == 0)
			return false;
	return true;
}

/* ---- arguments ---- */

static int parse(client_args *a, int argc, char **argv)
{
	memset(a, 0, sizeof(*a));
	a->command = argv[1];
	const cairn_backup_option options[] = {
		{"--node", NULL, &a->node, NULL},
		{"--config-file", NULL, &a->config_file, NULL},
		{"--token-file", NULL, &a->token_file, NULL},
		{"--database", NULL, &a->database, NULL},
		{"-o", "--output", &a->output, NULL},
		{"--json", NULL, NULL, &a->json},
		{"--pact", NULL, NULL, &a->pact},
		{"--wait", NULL, NULL, &a->wait},
		{NULL, NULL, NULL, NULL},
	};
	int positionals;
	int parsed = cairn_backup_parse_args(&a->id, &positionals, 1, NULL, options, NULL, argc, argv);
	if (parsed != CAIRN_EXIT_OK)
		return parsed;
	bool start = strcmp(a->command, "start") == 0, stop = strcmp(a->command, "stop") == 0;
	bool status = strcmp(a->command, "status") == 0, list = strcmp(a->command, "list") == 0;
	if ((start || list) && a->id != NULL)
		return usage_error("%s takes no ID", a->command);
	if (!start && !list && !status && a->id == NULL)
		return usage_error("%s needs a backup ID", a->command);
	if (a->id != NULL && !cairn_backup_id_is_valid(a->id))
		return usage_error("'%s' is not a backup id", a->id);
	if (a->pact && !start)
		return usage_error("--pact is an option of start, not of %s", a->command);
	if (a->wait && !start && !stop)
		return usage_error("--wait is an option of start and stop, not of %s", a->command);
	if (a->output != NULL && strcmp(a->command, "download") != 0)
		return usage_error("-o is an option of download, not of %s", a->command);
	if (a->node != NULL && a->config_file != NULL)
		return usage_error("%s", "give --node or --config-file, not both");
	return CAIRN_EXIT_OK;
}

/* ---- the node ---- */

int cairn_backup_client_call(cairn_node_response *out, cairn_backup_client *c, const char *method,
	const char *target, const char *content_type, const char *body, long expected)
{
	if (cairn_node_client_request(out, c->http, method, target, content_type, body) != CAIRN_OK) {
		cairn_backup_client_fail("cannot reach the node at %s: %s", cairn_node_client_base(c->http),
			cairn_error_last());
		return CAIRN_EXIT_UNREACHABLE;
	}
	if (out->status == expected || (expected == 201 && out->status == 200))
		return CAIRN_EXIT_OK;
	char *text = out->body;
	text[strcspn(text, "\r\n")] = '\0';
	int status = CAIRN_EXIT_FAILURE;
	if (out->status == 401 || out->status == 403) {
		cairn_backup_client_fail("the node at %s refused the token (%ld): %s", cairn_node_client_base(c->http),
			out->status, text);
		status = CAIRN_EXIT_UNREACHABLE;
	} else if (out->status == 404 && strstr(text, "database") != NULL) {
		cairn_backup_client_fail("%s (give --database NAME)", text);
	} else {
		cairn_backup_client_fail("%s %s: %ld %s", method, target, out->status, text);
	}
	cairn_node_response_clear(out);
	return status;
}

/* The answer's JSON; NULL (the message printed) when it is none. */
static json_object *parse_json(const cairn_node_response *r)
{
	json_object *obj = json_tokener_parse(r->body);
	if (obj == NULL)
		cairn_backup_client_fail("the node's answer is not JSON: %.80s", r->body);
	return obj;
}

int cairn_backup_client_get_json(json_object **out, cairn_backup_client *c, const char *target, bool optional)
{
	cairn_node_response r;
	int status = cairn_backup_client_call(&r, c, "GET", target, NULL, NULL, 200);
	if (status != CAIRN_EXIT_OK)
		return status;
	*out = optional ? json_tokener_parse(r.body) : parse_json(&r);
	cairn_node_response_clear(&r);
	return *out != NULL || optional ? CAIRN_EXIT_OK : CAIRN_EXIT_FAILURE;
}

static int get_json(json_object **out, cairn_backup_client *c, const char *target)
{
	return cairn_backup_client_get_json(out, c, target, false);
}

/* The node's Chainweb version, from its /info (no token needed). */
static int discover_database(cairn_backup_client *c)
{
	json_object *info, *version;
	int status = get_json(&info, c, "/info");
	if (status != CAIRN_EXIT_OK)
		return status;
	if (!json_object_object_get_ex(info, "nodeVersion", &version) || !json_object_is_type(version, json_type_string)) {
		cairn_backup_client_fail("the node's /info names no nodeVersion: give --database NAME");
		status = CAIRN_EXIT_FAILURE;
	} else {
		snprintf(c->database, sizeof(c->database), "%s", json_object_get_string(version));
	}
	json_object_put(info);
	return status;
}

static int connect_client(cairn_backup_client *c, const client_args *a)
{
	char url[600] = "", token[TOKEN_MAX];
	memset(c, 0, sizeof(*c));
	c->json = a->json;
	c->terminal = cairn_progress_stderr_is_terminal();
	if (a->node != NULL)
		snprintf(url, sizeof(url), "%s", a->node);
	else {
		int status = cairn_backup_client_locate(url, sizeof(url), c->database, sizeof(c->database), a->config_file);
		if (status != CAIRN_EXIT_OK)
			return status;
	}
	if (a->database != NULL)
		snprintf(c->database, sizeof(c->database), "%s", a->database);
	if (strpbrk(c->database, "/?#% ") != NULL)
		return usage_error("'%s' is not a database name", c->database);
	int status = cairn_backup_client_token(token, sizeof(token), a->token_file);
	if (status != CAIRN_EXIT_OK)
		return status;
	int rc = cairn_node_client_create(&c->http, url, token);
	memset(token, 0, sizeof(token));
	if (rc == CAIRN_EINVALID)
		return usage_error("%s", cairn_error_last());
	if (rc != CAIRN_OK) {
		cairn_backup_client_fail("%s", cairn_error_last());
		return CAIRN_EXIT_FAILURE;
	}
	return c->database[0] == '\0' ? discover_database(c) : CAIRN_EXIT_OK;
}

/* ---- reading details ---- */

static const char *str_of(json_object *obj, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static uint64_t u64_of(json_object *obj, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_int))
		return 0;
	return json_object_get_uint64(v);
}

static bool has_int(json_object *obj, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(obj, key, &v) && json_object_is_type(v, json_type_int);
}

static const char *error_reason(json_object *detail)
{
	json_object *errors;
	const char *reason = NULL;
	if (json_object_object_get_ex(detail, "errors", &errors))
		reason = str_of(errors, "reason");
	return reason != NULL && reason[0] != '\0' ? reason : NULL;
}

static void print_json(json_object *obj)
{
	printf("%s\n", json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(stdout);
}

static void backups_path(char *out, size_t size, const cairn_backup_client *c, const char *id, const char *rest)
{
	snprintf(out, size, "/v2/%s/backups%s%s%s", c->database, id ? "/" : "", id ? id : "", rest ? rest : "");
}

static int get_detail(json_object **out, cairn_backup_client *c, const char *id)
{
	char path[400];
	backups_path(path, sizeof(path), c, id, NULL);
	return get_json(out, c, path);
}

static void print_detail(json_object *d)
{
	char done[32], total[32], rate[32];
	const char *state = str_of(d, "state"), *reason = error_reason(d);
	cairn_backup_client_bytes(done, sizeof(done), (double)u64_of(d, "bytes_backed_up"));
	cairn_backup_client_bytes(total, sizeof(total), (double)u64_of(d, "bytes_in_db"));
	cairn_backup_client_bytes(rate, sizeof(rate), (double)u64_of(d, "bandwidth_avg_bps"));
	printf("id:          %s\n", str_of(d, "id") ? str_of(d, "id") : "?");
	printf("state:       %s\n", state ? state : "?");
	printf("started:     %s\n", str_of(d, "started_time") ? str_of(d, "started_time") : "-");
	printf("ended:       %s\n", str_of(d, "ended_time") ? str_of(d, "ended_time") : "-");
	if (has_int(d, "snapshot_id"))
		printf("cut height:  %" PRIu64 "\n", u64_of(d, "snapshot_id"));
	else
		printf("cut height:  -\n");
	printf("files:       %" PRIu64 " searched, %" PRIu64 " backed up\n", u64_of(d, "files_searched"),
		u64_of(d, "files_backed_up"));
	printf("bytes:       %s backed up; %s in the database\n", done, total);
	printf("rate:        %s/s\n", rate);
	printf("restorable:  %s\n", json_object_get_boolean(json_object_object_get(d, "restorable")) ? "yes" : "no");
	if (reason != NULL)
		printf("error:       %s\n", reason);
}

static void print_line(json_object *d)
{
	char size[32] = "-", height[32] = "-";
	const char *state = str_of(d, "state"), *started = str_of(d, "started_time");
	if (json_object_get_boolean(json_object_object_get(d, "restorable")))
		cairn_backup_client_bytes(size, sizeof(size), (double)u64_of(d, "bytes_in_db"));
	if (has_int(d, "snapshot_id"))
		snprintf(height, sizeof(height), "%" PRIu64, u64_of(d, "snapshot_id"));
	printf("%-20s %-28s %-22s %12s  %s\n", str_of(d, "id") ? str_of(d, "id") : "?", started ? started : "-",
		state ? state : "?", size, height);
}

/* ---- start, stop and --wait ---- */

static bool is_terminal_state(const char *state)
{
	static const char *const ended[] = {"completed", "completed_with_errors", "failed", "stopped", "skipped"};
	for (size_t i = 0; state != NULL && i < sizeof(ended) / sizeof(ended[0]); i++)
		if (strcmp(state, ended[i]) == 0)
			return true;
	return false;
}

static void sleep_seconds(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	nanosleep(&ts, NULL);
}

/* Follows backup `id` to its end: a line per state, the counters as a
 * progress display while it copies.  *out is its last detail. */
static int follow(json_object **out, cairn_backup_client *c, const char *id)
{
	cairn_progress *progress = cairn_progress_create(c->terminal);
	char last_state[40] = "";
	bool showing = false;
	int status;
	for (;;) {
		json_object *d;
		status = get_detail(&d, c, id);
		if (status != CAIRN_EXIT_OK)
			break;
		const char *state = str_of(d, "state");
		state = state != NULL ? state : "?";
		uint64_t done = u64_of(d, "bytes_searched"), total = u64_of(d, "bytes_in_db");
		bool ended = is_terminal_state(state);
		if (strcmp(state, last_state) != 0) {
			if (showing) {
				if (ended && strncmp(state, "completed", 9) == 0)
					cairn_progress_set(progress, total > done ? total : done, total);
				cairn_progress_end(progress);
				showing = false;
			}
			fprintf(stderr, "backup %s: %s\n", id, state);
			snprintf(last_state, sizeof(last_state), "%s", state);
		}
		if (!ended && (strcmp(state, "in_progress") == 0 || strcmp(state, "stop_requested") == 0)) {
			if (!showing) {
				char what[64];
				snprintf(what, sizeof(what), "backup %s", id);
				cairn_progress_begin(progress, what, total, CAIRN_PROGRESS_BYTES);
				showing = true;
			}
			cairn_progress_set(progress, done, total);
		}
		if (ended) {
			*out = d;
			break;
		}
		json_object_put(d);
		sleep_seconds(POLL_SECONDS);
	}
	if (showing)
		cairn_progress_end(progress);
	cairn_progress_free(progress);
	return status;
}

/* The end of a followed job: its detail printed, the exit status from its
 * state; `wanted` is the state that counts as done besides completed. */
static int report_end(cairn_backup_client *c, json_object *d, const char *wanted)
{
	const char *id = str_of(d, "id"), *state = str_of(d, "state"), *reason = error_reason(d);
	int status = CAIRN_EXIT_FAILURE;
	if (strcmp(state, "completed") == 0 || (wanted != NULL && strcmp(state, wanted) == 0)) {
		status = CAIRN_EXIT_OK;
	} else if (strcmp(state, "completed_with_errors") == 0) {
		fprintf(stderr, "cairn backup: warning: backup %s completed with errors; it is restorable: %s\n", id,
			reason ? reason : "(no reason given)");
		status = CAIRN_EXIT_OK;
	} else {
		cairn_backup_client_fail("backup %s %s%s%s", id, state, reason ? ": " : "", reason ? reason : "");
	}
	if (c->json) {
		print_json(d);
	} else if (strncmp(state, "completed", 9) == 0) {
		char size[32];
		cairn_backup_client_bytes(size, sizeof(size), (double)u64_of(d, "bytes_in_db"));
		printf("backup %s %s: cut height %" PRIu64 ", %s, %" PRIu64 " files\n", id, state,
			u64_of(d, "snapshot_id"), size, u64_of(d, "files_searched"));
	} else {
		printf("backup %s %s\n", id, state);
	}
	return status;
}

static int run_start(cairn_backup_client *c, const client_args *a)
{
	char path[400], body[80];
	backups_path(path, sizeof(path), c, NULL, NULL);
	snprintf(body, sizeof(body), "{\"state\": \"start_requested\", \"backupPact\": %s}", a->pact ? "true" : "false");
	cairn_node_response r;
	int status = cairn_backup_client_call(&r, c, "POST", path, "application/json", body, 201);
	if (status != CAIRN_EXIT_OK)
		return status;
	bool started = r.status == 201;
	json_object *d = parse_json(&r);
	cairn_node_response_clear(&r);
	if (d == NULL)
		return CAIRN_EXIT_FAILURE;
	char id[CAIRN_BACKUP_ID_MAX + 1];
	snprintf(id, sizeof(id), "%s", str_of(d, "id") ? str_of(d, "id") : "");
	if (!cairn_backup_id_is_valid(id)) {
		json_object_put(d);
		cairn_backup_client_fail("the node's answer names no backup id");
		return CAIRN_EXIT_FAILURE;
	}
	if (!started)
		fprintf(stderr, "cairn backup: backup %s was already running; nothing new started\n", id);
	if (!a->wait) {
		if (c->json)
			print_json(d);
		else
			printf("backup %s %s%s\n", id, started ? "started" : "running", started && a->pact ? " (with Pact)" : "");
		json_object_put(d);
		return CAIRN_EXIT_OK;
	}
	json_object_put(d);
	if (!c->json)
		fprintf(stderr, "backup %s %s%s\n", id, started ? "started" : "running", started && a->pact ? " (with Pact)" : "");
	status = follow(&d, c, id);
	if (status != CAIRN_EXIT_OK)
		return status;
	status = report_end(c, d, NULL);
	json_object_put(d);
	return status;
}

/* METHOD on backup `id`, answered 204 No Content; the exit status. */
static int send_no_content(cairn_backup_client *c, const char *method, const char *id, const char *content_type,
	const char *body)
{
	char path[400];
	backups_path(path, sizeof(path), c, id, NULL);
	cairn_node_response r;
	int status = cairn_backup_client_call(&r, c, method, path, content_type, body, 204);
	if (status == CAIRN_EXIT_OK)
		cairn_node_response_clear(&r);
	return status;
}

static int run_stop(cairn_backup_client *c, const client_args *a)
{
	int status = send_no_content(c, "PATCH", a->id, "application/json-patch+json",
		"[{\"op\": \"replace\", \"path\": \"/state\", \"value\": \"stop_requested\"}]");
	if (status != CAIRN_EXIT_OK)
		return status;
	json_object *d;
	if (!a->wait) {
		if (!c->json) {
			printf("backup %s: stop requested\n", a->id);
			return CAIRN_EXIT_OK;
		}
		status = get_detail(&d, c, a->id);
	} else {
		status = follow(&d, c, a->id);
		if (status == CAIRN_EXIT_OK) {
			status = report_end(c, d, "stopped");
			json_object_put(d);
			return status;
		}
	}
	if (status == CAIRN_EXIT_OK) {
		print_json(d);
		json_object_put(d);
	}
	return status;
}

/* ---- status, events, list, delete ---- */

/* Every backup, newest first, following the list's `next` links. */
static int list_all(json_object **out, cairn_backup_client *c)
{
	char first[400];
	snprintf(first, sizeof(first), "/v2/%s/backups?limit=%d&sort_dir=desc", c->database, LIST_PAGE);
	json_object *all = json_object_new_array();
	char *target = strdup(first);
	int status = target != NULL ? CAIRN_EXIT_OK : CAIRN_EXIT_FAILURE;
	while (status == CAIRN_EXIT_OK && target != NULL) {
		json_object *page, *backups, *links;
		status = get_json(&page, c, target);
		free(target);
		target = NULL;
		if (status != CAIRN_EXIT_OK)
			break;
		if (!json_object_object_get_ex(page, "backups", &backups) || !json_object_is_type(backups, json_type_array)) {
			cairn_backup_client_fail("the node's list has no backups array");
			status = CAIRN_EXIT_FAILURE;
		} else {
			for (size_t i = 0; i < json_object_array_length(backups); i++)
				json_object_array_add(all, json_object_get(json_object_array_get_idx(backups, i)));
		}
		if (status == CAIRN_EXIT_OK && json_object_object_get_ex(page, "links", &links) &&
			json_object_is_type(links, json_type_array))
			for (size_t i = 0; i < json_object_array_length(links); i++) {
				json_object *link = json_object_array_get_idx(links, i);
				const char *rel = str_of(link, "rel"), *href = str_of(link, "href");
				if (rel != NULL && href != NULL && strcmp(rel, "next") == 0)
					target = strdup(href);
			}
		json_object_put(page);
	}
	free(target);
	if (status != CAIRN_EXIT_OK) {
		json_object_put(all);
		return status;
	}
	*out = all;
	return CAIRN_EXIT_OK;
}

static int run_list(cairn_backup_client *c, const client_args *a)
{
	(void)a;
	json_object *all;
	int status = list_all(&all, c);
	if (status != CAIRN_EXIT_OK)
		return status;
	if (c->json) {
		print_json(all);
	} else {
		printf("%-20s %-28s %-22s %12s  %s\n", "ID", "STARTED (UTC)", "STATE", "SIZE", "CUT HEIGHT");
		for (size_t i = 0; i < json_object_array_length(all); i++)
			print_line(json_object_array_get_idx(all, i));
	}
	json_object_put(all);
	return CAIRN_EXIT_OK;
}

static int run_status(cairn_backup_client *c, const client_args *a)
{
	if (a->id == NULL)
		return run_list(c, a);
	json_object *d;
	int status = get_detail(&d, c, a->id);
	if (status != CAIRN_EXIT_OK)
		return status;
	if (c->json)
		print_json(d);
	else
		print_detail(d);
	json_object_put(d);
	return CAIRN_EXIT_OK;
}

static int run_events(cairn_backup_client *c, const client_args *a)
{
	char path[400];
	backups_path(path, sizeof(path), c, a->id, "/events");
	json_object *body, *events;
	int status = get_json(&body, c, path);
	if (status != CAIRN_EXIT_OK)
		return status;
	if (c->json) {
		print_json(body);
	} else if (json_object_object_get_ex(body, "events", &events) && json_object_is_type(events, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(events); i++) {
			json_object *e = json_object_array_get_idx(events, i);
			const char *type = str_of(e, "type"), *time = str_of(e, "time");
			printf("%3" PRIu64 "  %-28s %s", u64_of(e, "index"), time ? time : "-", type ? type : "?");
			if (type != NULL && strcmp(type, "backup_progress") == 0) {
				char done[32], total[32];
				cairn_backup_client_bytes(done, sizeof(done), (double)u64_of(e, "bytes_completed"));
				cairn_backup_client_bytes(total, sizeof(total), (double)u64_of(e, "total_bytes"));
				printf("  %s of %s", done, total);
			}
			printf("\n");
		}
	} else {
		cairn_backup_client_fail("the node's answer has no events array");
		status = CAIRN_EXIT_FAILURE;
	}
	json_object_put(body);
	return status;
}

static int run_delete(cairn_backup_client *c, const client_args *a)
{
	int status = send_no_content(c, "DELETE", a->id, NULL, NULL);
	if (status != CAIRN_EXIT_OK)
		return status;
	if (c->json)
		printf("{\"id\":\"%s\",\"deleted\":true}\n", a->id);
	else
		printf("deleted %s\n", a->id);
	return CAIRN_EXIT_OK;
}

static int run_download(cairn_backup_client *c, const client_args *a)
{
	return cairn_backup_client_download(c, a->id, a->output);
}

static const struct {
	const char *name;
	int (*run)(cairn_backup_client *c, const client_args *a);
} commands[] = {
	{"start", run_start},
	{"status", run_status},
	{"stop", run_stop},
	{"events", run_events},
	{"download", run_download},
	{"list", run_list},
	{"delete", run_delete},
};

int cairn_cmd_backup_client(int argc, char **argv)
{
	client_args a;
	int status = parse(&a, argc, argv);
	if (status != CAIRN_EXIT_OK)
		return status;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(a.command, commands[i].name) != 0)
			continue;
		cairn_backup_client c;
		status = connect_client(&c, &a);
		if (status == CAIRN_EXIT_OK)
			status = commands[i].run(&c, &a);
		cairn_node_client_free(c.http);
		return status;
	}
	return usage_error("unknown subcommand '%s'", a.command);
}
