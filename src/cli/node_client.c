/*
 * node_client.c: the client CLI's HTTP requests (node_client.h).
 *
 * Invariants:
 *   - Every request goes to the configured base URL: an absolute URL from
 *     an answer (a `next` link, a download link) contributes its path and
 *     query only, so neither the token nor a request ever goes to a host
 *     named by the answer.
 *   - Redirects are not followed, for the same reason.
 *   - An answer's body is held in memory only for API calls, bounded at
 *     64 MB; a download streams to its sink.
 *   - A download whose stream ends before its end (the chunked encoding
 *     unfinished, as when the node cuts it off on an error) is CAIRN_EIO:
 *     curl reports it, and the caller never presents it as complete.
 */
#include "cli/node_client.h"
#include "util/error.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BODY_MAX (64u << 20)
#define CONNECT_TIMEOUT_SECONDS 10L
#define API_TIMEOUT_SECONDS 60L

struct cairn_node_client {
	CURL *curl;
	char *base;
	char *token_header;
};

int cairn_node_client_create(cairn_node_client **out, const char *base_url, const char *token)
{
	static bool initialized;
	if (!initialized) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return cairn_error_set(CAIRN_ERROR, "cannot initialize libcurl");
		initialized = true;
	}
	if (strncmp(base_url, "http://", 7) != 0 && strncmp(base_url, "https://", 8) != 0)
		return cairn_error_set(CAIRN_EINVALID, "node URL '%s' must start with http:// or https://", base_url);
	cairn_node_client *c = calloc(1, sizeof(*c));
	if (c == NULL || (c->base = strdup(base_url)) == NULL)
		goto nomem;
	size_t n = strlen(c->base);
	while (n > 0 && c->base[n - 1] == '/')
		c->base[--n] = '\0';
	if (token != NULL) {
		size_t size = strlen(token) + sizeof("X-Auth-Token: ");
		if ((c->token_header = malloc(size)) == NULL)
			goto nomem;
		snprintf(c->token_header, size, "X-Auth-Token: %s", token);
	}
	if ((c->curl = curl_easy_init()) == NULL)
		goto nomem;
	*out = c;
	return CAIRN_OK;
nomem:
	cairn_node_client_free(c);
	return cairn_error_set(CAIRN_ENOMEM, "out of memory");
}

void cairn_node_client_free(cairn_node_client *c)
{
	if (c == NULL)
		return;
	if (c->curl != NULL)
		curl_easy_cleanup(c->curl);
	if (c->token_header != NULL) {
		memset(c->token_header, 0, strlen(c->token_header));
		free(c->token_header);
	}
	free(c->base);
	free(c);
}

const char *cairn_node_client_base(const cairn_node_client *c)
{
	return c->base;
}

void cairn_node_response_clear(cairn_node_response *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* The URL of `target` on this node: base + path (and query). */
static char *url_of(const cairn_node_client *c, const char *target)
{
	const char *scheme = strstr(target, "://");
	if (scheme != NULL && strchr(target, '/') > scheme) {
		const char *path = strchr(scheme + 3, '/');
		target = path != NULL ? path : "/";
	}
	size_t size = strlen(c->base) + strlen(target) + 2;
	char *url = malloc(size);
	if (url != NULL)
		snprintf(url, size, "%s%s%s", c->base, target[0] == '/' ? "" : "/", target);
	return url;
}

typedef struct collected {
	char *data;
	size_t len, cap;
	bool too_long;
} collected;

static size_t collect(char *ptr, size_t size, size_t nmemb, void *ctx)
{
	collected *b = ctx;
	size_t n = size * nmemb;
	if (b->len + n > BODY_MAX) {
		b->too_long = true;
		return 0;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *grown = realloc(b->data, cap);
		if (grown == NULL)
			return 0;
		b->data = grown;
		b->cap = cap;
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* Sets what every request shares; *headers must be freed by the caller. */
static int prepare(struct curl_slist **headers, cairn_node_client *c, const char *url, const char *content_type)
{
	CURL *h = c->curl;
	curl_easy_reset(h);
	*headers = NULL;
	if (c->token_header != NULL)
		*headers = curl_slist_append(*headers, c->token_header);
	if (content_type != NULL) {
		char line[200];
		snprintf(line, sizeof(line), "Content-Type: %s", content_type);
		*headers = curl_slist_append(*headers, line);
	}
	*headers = curl_slist_append(*headers, "Accept: application/json");
	if (*headers == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, *headers);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_SECONDS);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_USERAGENT, "cairn/" CAIRN_VERSION);
	return CAIRN_OK;
}

static int transfer_error(CURLcode code, const char *url, const char *detail)
{
	return cairn_error_set(CAIRN_EIO, "%s: %s", url, detail[0] != '\0' ? detail : curl_easy_strerror(code));
}

int cairn_node_client_request(cairn_node_response *out, cairn_node_client *c, const char *method,
	const char *target, const char *content_type, const char *body)
{
	memset(out, 0, sizeof(*out));
	char *url = url_of(c, target);
	if (url == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	struct curl_slist *headers;
	int rc = prepare(&headers, c, url, content_type);
	collected got = {0};
	char detail[CURL_ERROR_SIZE] = "";
	if (rc == CAIRN_OK) {
		CURL *h = c->curl;
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
		if (strcmp(method, "POST") == 0 || strcmp(method, "PATCH") == 0) {
			curl_easy_setopt(h, CURLOPT_POSTFIELDS, body != NULL ? body : "");
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)(body != NULL ? strlen(body) : 0));
		}
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &got);
		curl_easy_setopt(h, CURLOPT_TIMEOUT, API_TIMEOUT_SECONDS);
		curl_easy_setopt(h, CURLOPT_ERRORBUFFER, detail);
		CURLcode code = curl_easy_perform(h);
		if (got.too_long)
			rc = cairn_error_set(CAIRN_EIO, "%s: the answer is longer than %u bytes", url, BODY_MAX);
		else if (code != CURLE_OK)
			rc = transfer_error(code, url, detail);
		else
			curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
	}
	curl_slist_free_all(headers);
	free(url);
	if (rc != CAIRN_OK) {
		free(got.data);
		return rc;
	}
	if (got.data == NULL && (got.data = calloc(1, 1)) == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	out->body = got.data;
	out->len = got.len;
	return CAIRN_OK;
}

typedef struct streamed {
	CURL *curl;
	cairn_node_sink sink;
	void *ctx;
	int sink_rc;
	char *error_text;
	size_t error_size, error_len;
} streamed;

static size_t stream_piece(char *ptr, size_t size, size_t nmemb, void *ctx)
{
	streamed *s = ctx;
	size_t n = size * nmemb;
	long status = 0;
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		size_t room = s->error_size > s->error_len + 1 ? s->error_size - s->error_len - 1 : 0;
		size_t take = n < room ? n : room;
		memcpy(s->error_text + s->error_len, ptr, take);
		s->error_len += take;
		s->error_text[s->error_len] = '\0';
		return n;
	}
	s->sink_rc = s->sink(s->ctx, ptr, n);
	return s->sink_rc == CAIRN_OK ? n : 0;
}

int cairn_node_client_download(long *out_status, char *error_text, size_t error_size, cairn_node_client *c,
	const char *target, cairn_node_sink sink, void *ctx)
{
	*out_status = 0;
	if (error_size > 0)
		error_text[0] = '\0';
	char *url = url_of(c, target);
	if (url == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	struct curl_slist *headers;
	int rc = prepare(&headers, c, url, NULL);
	if (rc == CAIRN_OK) {
		streamed s = {c->curl, sink, ctx, CAIRN_OK, error_text, error_size, 0};
		char detail[CURL_ERROR_SIZE] = "";
		CURL *h = c->curl;
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, stream_piece);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
		curl_easy_setopt(h, CURLOPT_ERRORBUFFER, detail);
		/* no overall timeout for a stream of any size, but not a stalled one */
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, API_TIMEOUT_SECONDS);
		CURLcode code = curl_easy_perform(h);
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, out_status);
		if (s.sink_rc != CAIRN_OK)
			rc = s.sink_rc;
		else if (code != CURLE_OK)
			rc = transfer_error(code, url, detail);
	}
	curl_slist_free_all(headers);
	free(url);
	return rc;
}
