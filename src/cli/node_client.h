/*
 * node_client.h: HTTP requests from the client CLI to a running node's
 * management API (libcurl).
 *
 * A client holds the node's base URL ("http://127.0.0.1:1848") and the API
 * token, sent as `X-Auth-Token` on every request (both of the node's APIs
 * accept it).  Requests are synchronous, one at a time, with a connect
 * timeout; redirects are not followed, so the token never leaves for
 * another host.
 *
 * Failures are sorted by what the caller must tell the operator:
 * CAIRN_EIO means the node could not be reached (refused, timed out, cut
 * off mid-answer); a reached node's status code, 401 included, is the
 * caller's to judge.  The message of cairn_error_last() names the URL and
 * curl's reason.
 */
#ifndef CAIRN_CLI_NODE_CLIENT_H
#define CAIRN_CLI_NODE_CLIENT_H

#include <stddef.h>

typedef struct cairn_node_client cairn_node_client;

/* `base_url` is "http://HOST:PORT" (a trailing '/' is dropped); `token`
 * may be NULL (no token header).  Both are copied. */
int cairn_node_client_create(cairn_node_client **out, const char *base_url, const char *token);
void cairn_node_client_free(cairn_node_client *c);

const char *cairn_node_client_base(const cairn_node_client *c);

/* An answer: the status code and the body, NUL-terminated (owned by the
 * caller: cairn_node_response_clear). */
typedef struct cairn_node_response {
	long status;
	char *body;
	size_t len;
} cairn_node_response;

void cairn_node_response_clear(cairn_node_response *r);

/* Sends `method` to `target`: a path ("/v2/db/backups", appended to the
 * base) or an absolute URL on the same node, as the API's links give
 * them.  `body` (may be NULL) is sent with `content_type`.  Bodies longer
 * than 64 MB are refused (CAIRN_EIO). */
int cairn_node_client_request(cairn_node_response *out, cairn_node_client *c, const char *method,
	const char *target, const char *content_type, const char *body);

/* Streams the body of GET `target` to `sink` (called with each piece as it
 * arrives; a non-zero return aborts the transfer and is returned).  The
 * status is in *out_status; only a 200's body goes to the sink, and any
 * other answer's first bytes are kept in `error_text` (of `error_size`
 * bytes) for the operator.  CAIRN_EIO when the node cannot be reached or
 * the stream is cut off before its end. */
typedef int (*cairn_node_sink)(void *ctx, const char *data, size_t len);
int cairn_node_client_download(long *out_status, char *error_text, size_t error_size, cairn_node_client *c,
	const char *target, cairn_node_sink sink, void *ctx);

#endif
