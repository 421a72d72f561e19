/*
 * server_policy.h: checks every request passes before it is routed
 * (internal to src/http, used by server.c only).
 *
 * Against DNS rebinding and cross-site requests from a browser on the
 * operator's machine:
 *   - `Host` must name the node: an IP address literal (with or without a
 *     port), `localhost`, or one of the configured names; otherwise 421.
 *     A web page that rebinds its own name to 127.0.0.1 still sends that
 *     name, so it reaches nothing.
 *   - A request that changes state (any method but GET, HEAD and OPTIONS)
 *     carrying an `Origin` whose host is not one of those is refused with
 *     403: browsers send Origin on every cross-site POST.
 * And the framing HTTP/1.1 requires: a request without `Host` (HTTP/1.1),
 * or with both `Content-Length` and `Transfer-Encoding`, is a 400; a
 * header field longer than CAIRN_HTTP_MAX_FIELD is a 431.
 */
#ifndef CAIRN_HTTP_SERVER_POLICY_H
#define CAIRN_HTTP_SERVER_POLICY_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

#include "http/message.h"

typedef struct cairn_http__policy {
	bool check_host;          /* false: Host and Origin are not checked */
	const char *extra_hosts;  /* comma-separated names also accepted; NULL or "": none */
} cairn_http__policy;

/* 0 when the request may be routed; otherwise its status (400, 403, 421
 * or 431) with a one-line reason in reason[size]. */
int cairn_http__policy_check(char *reason, size_t size, const cairn_http__policy *policy,
	struct MHD_Connection *connection, cairn_http_method method, bool http11);

#endif
