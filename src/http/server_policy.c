/*
 * server_policy.c: the request checks of server_policy.h.
 *
 * A host is compared without its port and without case.  IP literals are
 * accepted whatever their value: a browser reaching the node by address
 * sends that address, which no rebinding can forge, and cross-site writes
 * are caught by the Origin check, not by Host.
 */
#include "http/server_policy.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define HOST_MAX 256

/* The host part of "host", "host:port", "[v6]" or "[v6]:port" into out
 * (brackets kept off); false when malformed. */
static bool host_part(char out[HOST_MAX], const char *value, size_t len)
{
	const char *end = value + len;
	if (len > 0 && value[0] == '[') {
		const char *close = memchr(value, ']', len);
		if (close == NULL || (close + 1 != end && close[1] != ':'))
			return false;
		value++;
		end = close;
	} else {
		const char *colon = memchr(value, ':', len);
		if (colon != NULL)
			end = colon;
	}
	size_t n = (size_t)(end - value);
	if (n == 0 || n >= HOST_MAX)
		return false;
	memcpy(out, value, n);
	out[n] = '\0';
	return true;
}

static bool is_ip_literal(const char *host)
{
	unsigned char addr[16];
	return inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
}

static bool is_configured(const char *host, const char *extra)
{
	size_t n = strlen(host);
	for (const char *p = extra; p != NULL && *p != '\0';) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		while (len > 0 && *p == ' ')
			p++, len--;
		while (len > 0 && p[len - 1] == ' ')
			len--;
		if (len == n && strncasecmp(p, host, n) == 0)
			return true;
		p = comma ? comma + 1 : NULL;
	}
	return false;
}

static bool host_allowed(const cairn_http__policy *policy, const char *value, size_t len)
{
	char host[HOST_MAX];
	return host_part(host, value, len) &&
		(is_ip_literal(host) || strcasecmp(host, "localhost") == 0 || is_configured(host, policy->extra_hosts));
}

/* An Origin is "scheme://host[:port]" (or "null", never allowed). */
static bool origin_allowed(const cairn_http__policy *policy, const char *origin)
{
	const char *sep = strstr(origin, "://");
	if (sep == NULL)
		return false;
	const char *authority = sep + 3;
	return host_allowed(policy, authority, strcspn(authority, "/"));
}

static bool changes_state(cairn_http_method method)
{
	return method != CAIRN_HTTP_GET && method != CAIRN_HTTP_HEAD && method != CAIRN_HTTP_OPTIONS;
}

static enum MHD_Result measure_field(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
	const char *value, size_t value_size)
{
	(void)kind;
	(void)key;
	(void)value;
	size_t *longest = cls;
	if (key_size + value_size > *longest)
		*longest = key_size + value_size;
	return MHD_YES;
}

int cairn_http__policy_check(char *reason, size_t size, const cairn_http__policy *policy,
	struct MHD_Connection *connection, cairn_http_method method, bool http11)
{
	size_t longest = 0;
	MHD_get_connection_values_n(connection, MHD_HEADER_KIND, measure_field, &longest);
	if (longest > CAIRN_HTTP_MAX_FIELD) {
		snprintf(reason, size, "request header field too large (at most %d bytes)", CAIRN_HTTP_MAX_FIELD);
		return 431;
	}
	const char *host = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	const char *origin = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Origin");
	if (MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH) != NULL &&
	    MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL) {
		snprintf(reason, size, "bad request: both Content-Length and Transfer-Encoding");
		return 400;
	}
	if (host == NULL && http11) {
		snprintf(reason, size, "bad request: an HTTP/1.1 request needs a Host header");
		return 400;
	}
	if (!policy->check_host)
		return 0;
	if (host != NULL && !host_allowed(policy, host, strlen(host))) {
		snprintf(reason, size, "misdirected request: Host '%.100s' is not a name of this node "
			"(serviceApi.allowedHosts)", host);
		return 421;
	}
	if (origin != NULL && changes_state(method) && !origin_allowed(policy, origin)) {
		snprintf(reason, size, "cross-origin request refused: Origin '%.100s' is not this node", origin);
		return 403;
	}
	return 0;
}
