/*
 * manage.h: the backup management API's own modules, shared by the
 * manage_*.c files of src/api and by their tests; the service sees only
 * cairn_api_manage_start/free (api.h).
 *
 * Two published APIs are served over one job catalogue, the backup
 * manager's (backup/backup.h): Rackspace Cloud Backup v2 under
 * /v2/{project_id}/ (manage_rackspace.c) and Scalingo's database backups
 * under /api/databases/{db}/ (manage_scalingo.c).  Both share:
 *   manage_auth.c    API tokens: loaded at start, compared in constant time
 *   manage_link.c    the node's link secret and the expiring download tokens
 *   manage_body.c    strict JSON request bodies (create, JSON Patch)
 *   manage_render.c  job values as each API's JSON objects
 *   manage.c         the shared context, routing helpers and registration
 * Every module here is pure over its inputs except manage.c and the two
 * API files, which call the backup manager; none of them touches a store.
 */
#ifndef CAIRN_API_MANAGE_H
#define CAIRN_API_MANAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api.h"
#include "backup/backup.h"

struct json_object;

/* ---- tokens (manage_auth.c) ---- */

typedef struct cairn_manage_tokens cairn_manage_tokens;

/* Loads the token file: one token per line, blank lines and lines starting
 * with '#' ignored, surrounding spaces and a trailing CR dropped.  Refuses
 * a file that is missing, not a regular file, readable or writable by
 * group or others, or that holds no token (CAIRN_EINVALID with the path
 * and the reason). */
int cairn_manage_tokens_load(cairn_manage_tokens **out, const char *path);
void cairn_manage_tokens_free(cairn_manage_tokens *tokens);

/* True when `token` (of `len` bytes) is one of the loaded tokens.  The time
 * taken depends only on the number of loaded tokens: each comparison is
 * between SHA-256 digests, in constant time, and every token is compared. */
bool cairn_manage_tokens_match(const cairn_manage_tokens *tokens, const char *token, size_t len);

/* The token a request carries: `X-Auth-Token: T` (Rackspace) or
 * `Authorization: Bearer T` (Scalingo).  False when it carries neither. */
bool cairn_manage_request_token(const char **out, size_t *out_len, const cairn_http_request *req);

/* ---- download links (manage_link.c) ---- */

#define CAIRN_MANAGE_KEY_BYTES 32
#define CAIRN_MANAGE_LINK_TOKEN_MAX 96 /* "EXPIRY.BASE64URL(HMAC)" with its NUL */

typedef struct cairn_manage_key {
	uint8_t secret[CAIRN_MANAGE_KEY_BYTES];
} cairn_manage_key;

/* Reads the link secret at `path`, or creates it (random, mode 0600,
 * written atomically and fsynced) when there is none.  A key file of the
 * wrong size or readable by group or others is refused. */
int cairn_manage_key_load_or_create(cairn_manage_key *out, const char *path);

/* The link token of backup `id` of `database`, valid until UNIX second
 * `expires`: "EXPIRES.MAC" where MAC is the base64url HMAC-SHA256, keyed by
 * the secret, over "cairn-download-v1\n" DATABASE "\n" ID "\n" EXPIRES. */
void cairn_manage_link_token(char out[CAIRN_MANAGE_LINK_TOKEN_MAX], const cairn_manage_key *key,
	const char *database, const char *id, int64_t expires);

typedef enum {
	CAIRN_MANAGE_LINK_VALID,
	CAIRN_MANAGE_LINK_MALFORMED, /* not EXPIRES.MAC */
	CAIRN_MANAGE_LINK_FORGED,    /* the MAC does not match this database, backup and expiry */
	CAIRN_MANAGE_LINK_EXPIRED,   /* genuine, but `now` is past its expiry */
} cairn_manage_link_check;

/* Checks a link token for backup `id` of `database` at UNIX second `now`;
 * the MAC is compared in constant time. */
cairn_manage_link_check cairn_manage_link_verify(const cairn_manage_key *key, const char *database,
	const char *id, const char *token, int64_t now);

/* A stable id for this node, derived from the link secret, formatted as a
 * UUID (36 characters and the NUL). */
void cairn_manage_agent_id(char out[37], const cairn_manage_key *key);

/* ---- request bodies (manage_body.c) ---- */

/* The create body.  Rackspace (`require_state`): an object with "state":
 * "start_requested" and an optional boolean "backupPact".  Scalingo: no
 * body, or an object with an optional boolean "backupPact".  Anything
 * else is CAIRN_EINVALID with a reason naming the field. */
int cairn_manage_parse_create(bool *out_include_pact, const char *body, size_t len, bool require_state);

/* A JSON Patch that stops a job: exactly one operation, {"op": "replace",
 * "path": "/state", "value": "stop_requested"}.  Anything else is
 * CAIRN_EINVALID with a reason naming the member at fault. */
int cairn_manage_parse_stop_patch(const char *body, size_t len);

/* ---- rendering (manage_render.c) ---- */

/* Where the links of a response point: "http://HOST" from the request's
 * Host header ("" when it has none: links are then absolute paths) and
 * the database name both APIs put in their paths. */
typedef struct cairn_manage_base {
	char origin[300];
	const char *database;
	const char *agent_id;
} cairn_manage_base;

/* "2014-08-05T18:22:22.238641Z" (microseconds, UTC); digits = 6 or 3. */
void cairn_manage_format_time(char out[40], uint64_t time_us, int digits);

/* The Scalingo name of a backup: YYYYMMDDHHMMSS_<db> of its creation, UTC. */
void cairn_manage_backup_name(char *out, size_t size, const cairn_backup_detail *d, const char *database);

/* Rackspace: the backup detail object (seed 003), the events and the
 * errors resources.  NULL when out of memory. */
struct json_object *cairn_manage_render_detail(const cairn_manage_base *base, const cairn_backup_detail *d);
struct json_object *cairn_manage_render_events(const cairn_manage_base *base, const char *id,
	const cairn_backup_event *events, size_t count);
struct json_object *cairn_manage_render_errors(const cairn_manage_base *base, const cairn_backup_detail *d,
	const cairn_backup_error *errors, size_t count);

/* Scalingo: the database backup object (seed 004). */
struct json_object *cairn_manage_render_database_backup(const cairn_manage_base *base,
	const cairn_backup_detail *d);

/* Scalingo's status of a state: scheduled, running, done or error. */
const char *cairn_manage_scalingo_status(cairn_backup_state state);

/* ---- the shared context and helpers (manage.c) ---- */

typedef struct cairn_manage {
	cairn_backup_manager *backups;
	const char *database;       /* project_id and db: the configured name or the Chainweb version */
	cairn_manage_tokens *tokens;
	cairn_manage_key key;
	char agent_id[37];
	int link_seconds;
	uint64_t rate_limit_bps;    /* backup.rateLimit: archive downloads are sent at most this fast; 0: no limit */
	/* the configurations that jobs name (GET /v2/{p}/configurations/{id}) */
	double schedule_interval;
	bool schedule_pact;
	int retention_keep_last;
	double retention_max_age;
	char *database_owned;
} cairn_manage;

/* Answers 401 (with WWW-Authenticate: Bearer, logged with the peer) and
 * returns false unless the request carries a loaded token. */
bool cairn_manage_authorize(cairn_http_response *res, const cairn_http_request *req, const cairn_manage *m);

/* Authorizes the request, then checks path parameter `param` (project_id
 * or db) against the database name: 404 when another.  On success fills
 * `base` for the response's links and returns true. */
bool cairn_manage_enter(cairn_manage_base *base, cairn_http_response *res, const cairn_http_request *req,
	const cairn_manage *m, const char *param);

/* The detail of path parameter "id"; answers 404 (no such backup, or an
 * id check-backup would refuse) or 500 and returns false otherwise. */
bool cairn_manage_lookup(cairn_backup_detail *out, cairn_http_response *res, const cairn_http_request *req,
	const cairn_manage *m);

/* Starts a job (or finds the running one) and describes it; *out_started
 * is false when a job was already running.  Answers 500 and returns false
 * when the job cannot be created. */
bool cairn_manage_start_job(cairn_backup_detail *out, bool *out_started, cairn_http_response *res,
	const cairn_manage *m, bool include_pact);

/* Answers 400 with the reason of the last error (a body parser's). */
void cairn_manage_respond_bad_body(cairn_http_response *res);

typedef struct cairn_manage_route {
	cairn_http_method method;
	const char *pattern;
	cairn_http_handler handler;
} cairn_manage_route;

/* Registers `count` routes with `m` as their context. */
int cairn_manage_add_routes(cairn_http_router *router, const cairn_manage_route *routes, size_t count,
	cairn_manage *m);

/* Route tables of the two APIs. */
int cairn_manage_rackspace_register(cairn_http_router *router, cairn_manage *m);
int cairn_manage_scalingo_register(cairn_http_router *router, cairn_manage *m);

#endif
