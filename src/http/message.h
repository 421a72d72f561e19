/*
 * message.h: the request view and response value that handlers work with.
 *
 * Handlers never see the HTTP library: the server fills a cairn_http_request
 * (method, decoded path parameters, decoded query arguments, peer address)
 * and hands the handler a cairn_http_response to fill with one of the
 * cairn_http_respond_* functions.  Everything a request points to lives until
 * the handler returns; a handler that needs a value later copies it.
 *
 * Query arguments keep the distinction the Chainweb API relies on:
 * `?backupPact` (present, no value: value NULL), `?backupPact=` (present,
 * value "") and an absent argument (cairn_http_request_query returns false).
 */
#ifndef CAIRN_HTTP_MESSAGE_H
#define CAIRN_HTTP_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define CAIRN_HTTP_MAX_PARAMS 4    /* path parameters in one pattern */
#define CAIRN_HTTP_MAX_QUERY 16    /* query arguments in one request */
#define CAIRN_HTTP_MAX_FIELD 8192  /* bytes of one header field (name and value) */
#define CAIRN_HTTP_MAX_TARGET 8192 /* bytes of request target (path and query) */
#define CAIRN_HTTP_PEER_MAX 64     /* "[ipv6]:port" with its NUL */
#define CAIRN_HTTP_MAX_BODY (64 * 1024) /* bytes of request body; more is a 413 before any handler runs */
#define CAIRN_HTTP_MAX_EXTRA_HEADERS 4  /* headers a handler adds to its response */
#define CAIRN_HTTP_HEADER_VALUE_MAX 256 /* bytes of one added header value, with its NUL */

#define CAIRN_HTTP_TEXT_PLAIN "text/plain;charset=utf-8" /* as chainweb-node sends them */
#define CAIRN_HTTP_JSON "application/json;charset=utf-8"

typedef enum {
	CAIRN_HTTP_GET,
	CAIRN_HTTP_HEAD,
	CAIRN_HTTP_POST,
	CAIRN_HTTP_PUT,
	CAIRN_HTTP_DELETE,
	CAIRN_HTTP_PATCH,
	CAIRN_HTTP_OPTIONS,
	CAIRN_HTTP_OTHER, /* any other token; never routed */
	CAIRN_HTTP_METHOD_COUNT,
} cairn_http_method;

cairn_http_method cairn_http_method_parse(const char *name);
const char *cairn_http_method_name(cairn_http_method method);

typedef struct cairn_http_pair {
	const char *name;
	const char *value; /* NULL for a query argument given without '=' */
} cairn_http_pair;

/* Looks up a request header by name, case-insensitively; NULL when absent. */
typedef const char *(*cairn_http_header_lookup)(const void *ctx, const char *name);

typedef struct cairn_http_request {
	cairn_http_method method; /* HEAD requests reach GET handlers as HEAD */
	const char *peer;         /* client address as "1.2.3.4:5678" or "[::1]:5678" */
	size_t param_count;
	cairn_http_pair params[CAIRN_HTTP_MAX_PARAMS];
	size_t query_count;
	cairn_http_pair query[CAIRN_HTTP_MAX_QUERY];
	const char *body;         /* the request body (at most CAIRN_HTTP_MAX_BODY bytes, NUL-terminated); NULL when none */
	size_t body_len;
	cairn_http_header_lookup header_lookup; /* set by the server (or a unit test) */
	const void *header_ctx;
} cairn_http_request;

/* The value of request header `name` (case-insensitive), or NULL. */
const char *cairn_http_request_header(const cairn_http_request *req, const char *name);

/* The decoded value of path parameter `name` ("{id}" in the pattern), or NULL. */
const char *cairn_http_request_param(const cairn_http_request *req, const char *name);

/* True when query argument `name` is present; *value is its decoded value,
 * NULL when it was given without '='.  The first occurrence wins. */
bool cairn_http_request_query(const char **value, const cairn_http_request *req, const char *name);

typedef struct cairn_http_topic cairn_http_topic;

typedef enum {
	CAIRN_HTTP_BODY_STATIC, /* body outlives the server (string literal, static table) */
	CAIRN_HTTP_BODY_OWNED,  /* body was malloc'd; the server frees it */
	CAIRN_HTTP_BODY_INLINE, /* body is res->inline_text */
	CAIRN_HTTP_BODY_READER, /* body is produced while it is sent, by res->reader */
} cairn_http_body_kind;

/* Produces the next piece of a body that is made while it is sent: writes
 * at most `max` bytes into `buf` and returns how many (> 0), 0 at the end
 * of the body, or -1 on an error (the server then cuts the connection, so
 * the client sees a truncated body, never a complete-looking one).  Runs
 * on a server thread, only when the connection can take more, so a slow
 * client costs no memory beyond one piece. */
typedef long (*cairn_http_body_read_fn)(void *ctx, char *buf, size_t max);

typedef struct cairn_http_body_reader {
	cairn_http_body_read_fn read;
	void (*free)(void *ctx); /* called exactly once: after the end, an error, or a client gone mid-body */
	void *ctx;
	long long length;        /* the body's length when known in advance, else -1 */
	uint64_t rate_bps;       /* sent at most this many bytes per second (0: no limit); the connection
	                          * is parked between pieces, no server thread waits */
} cairn_http_body_reader;

typedef struct cairn_http_extra_header {
	const char *name; /* a string literal */
	char value[CAIRN_HTTP_HEADER_VALUE_MAX];
} cairn_http_extra_header;

typedef struct cairn_http_response {
	int status;
	const char *content_type;
	const char *body;
	size_t body_len;
	cairn_http_body_kind body_kind;
	cairn_http_topic *stream; /* non-NULL: an event stream subscribed to this topic */
	const char *allow;        /* Allow header of a 405, set by the server */
	cairn_http_body_reader reader; /* CAIRN_HTTP_BODY_READER only */
	size_t extra_count;
	cairn_http_extra_header extra[CAIRN_HTTP_MAX_EXTRA_HEADERS];
	char inline_text[256];
} cairn_http_response;

/* A body that outlives the server, typically a string literal. */
void cairn_http_respond_static(cairn_http_response *res, int status, const char *content_type,
	const char *body, size_t len);

/* Takes ownership of a malloc'd body (also on failure paths: it is always freed). */
void cairn_http_respond_owned(cairn_http_response *res, int status, const char *content_type,
	char *body, size_t len);

/* A one-line text/plain body: the formatted reason followed by "\n",
 * truncated to fit res->inline_text.  Used for every error response. */
void cairn_http_respond_text(cairn_http_response *res, int status, const char *fmt, ...)
	CAIRN_PRINTF(3, 4);

/* A text/event-stream response: the connection receives every event the
 * topic publishes from now on, until the topic or the server closes. */
void cairn_http_respond_stream(cairn_http_response *res, cairn_http_topic *topic);

/* A body produced while it is sent (see cairn_http_body_reader); the
 * response owns the reader from now on, also when it is never sent. */
void cairn_http_respond_reader(cairn_http_response *res, int status, const char *content_type,
	const cairn_http_body_reader *reader);

/* Adds a response header (`name` a string literal, `value` copied), for
 * example WWW-Authenticate, Location or Content-Disposition.  CAIRN_EINVALID
 * when the value is too long or holds CR or LF; CAIRN_ENOMEM beyond
 * CAIRN_HTTP_MAX_EXTRA_HEADERS. */
int cairn_http_response_add_header(cairn_http_response *res, const char *name, const char *value);

/* Releases what the response owns; the server calls it if it cannot send. */
void cairn_http_response_release(cairn_http_response *res);

/*
 * Percent-decodes one path segment or query component of `len` bytes into
 * `out` (room for len + 1 bytes; the result is NUL-terminated and never
 * longer than the input).  Rejects, with CAIRN_EINVALID and a reason,
 * truncated or non-hex escapes, an escaped NUL, and raw bytes that may not
 * appear in a request target (controls, DEL, non-ASCII, and space unless
 * `allow_space`: query components arrive with '+' already turned into ' ').
 */
int cairn_http_decode_component(char *out, size_t *out_len, const char *in, size_t len, bool allow_space);

#endif
