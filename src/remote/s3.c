/*
 * s3.c: the S3 client's core: the client object, one signed request over
 * libcurl with its retries, the shared rate limit and cancellation.  The
 * object operations are in s3_object.c, multipart uploads in
 * s3_multipart.c, the XML readers in s3_xml.c, signing in sigv4.c.
 *
 * Design:
 *   - One libcurl easy handle per attempt: no handle is shared between
 *     threads, so any number of threads may call the client at once.
 *   - What is signed is what is sent: the Host header is set explicitly,
 *     the path and the query are encoded once by sigv4.c and put into the
 *     URL as encoded, and every header cairn adds is signed (libcurl's own
 *     Accept, Expect and Content-Length are not, as in every SDK).
 *   - Retries: a connection failure, 5xx or 429 is tried again after
 *     retry_base * 2^(attempt-1) seconds (capped at 20 s), with full jitter
 *     in its upper half so that parallel parts do not retry in lockstep.
 *     Any other 4xx ends the call at once, naming the store's error code
 *     and message.  Each attempt is signed afresh (a new x-amz-date).
 *   - A GET that delivered bytes to a sink and then failed resumes with
 *     "Range: bytes=N-" and "If-Match: <ETag>", so no byte reaches the sink
 *     twice and a changed object fails rather than mixing two versions.
 *   - Rate limit: every chunk read from or written to the network first
 *     takes its bytes from one token bucket shared by all transfers of the
 *     client (util/ratelimit.h, with no burst), then sleeps until they are
 *     due.
 *   - Cancellation: read, write and progress callbacks check the flag, so
 *     a transfer ends within one buffer (64 KiB); sleeps check it every
 *     50 ms.  The call then returns CAIRN_ESTATE.
 */
#include <curl/curl.h>
#include <errno.h>
#include <libxml/parser.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "remote/s3_internal.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"
#include "util/ratelimit.h"

#define RESP_MAX_DEFAULT (64 * 1024)

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_rc;

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? CAIRN_OK : CAIRN_ERROR;
	xmlInitParser();
}

bool s3_cancelled(const cairn_s3 *s3)
{
	return s3->cancel && atomic_load(s3->cancel);
}

/* The client's cancel flag (unless the call ignores it) or the call's own
 * stop flag. */
static bool stopped(const cairn_s3 *s3, const s3_call *c)
{
	return (!c->ignore_cancel && s3_cancelled(s3)) || (c->stop && atomic_load(c->stop));
}

static char *dup_or_null(const char *s, bool *oom)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		*oom = true;
	return d;
}

/* Sets base_url, host and path_prefix from the endpoint and addressing. */
static int endpoint_setup(cairn_s3 *s3, const cairn_s3_options *o)
{
	char *ep = NULL;
	if (o->endpoint) {
		ep = strdup(o->endpoint);
	} else if (asprintf(&ep, "https://s3.%s.amazonaws.com", s3->region) < 0) {
		ep = NULL;
	}
	if (!ep)
		return cairn_error_set(CAIRN_ENOMEM, "s3: out of memory");
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *query = NULL;
	int rc = CAIRN_OK;
	if (!u || curl_url_set(u, CURLUPART_URL, ep, 0) != CURLUE_OK ||
		curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
		curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		rc = cairn_error_set(CAIRN_EINVALID, "s3: endpoint \"%s\" is not a URL (http://host:port)", ep);
	} else if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
		rc = cairn_error_set(CAIRN_EINVALID, "s3: endpoint \"%s\": the scheme must be http or https", ep);
	} else if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK ||
		   (curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK && strcmp(path, "/") != 0)) {
		rc = cairn_error_set(CAIRN_EINVALID, "s3: endpoint \"%s\" must have no path or query", ep);
	}
	if (rc == CAIRN_OK) {
		(void)curl_url_get(u, CURLUPART_PORT, &port, 0); /* only when given explicitly */
		const char *vhost = o->path_style ? "" : s3->bucket;
		const char *dot = o->path_style ? "" : ".";
		if (asprintf(&s3->host, "%s%s%s%s%s", vhost, dot, host, port ? ":" : "", port ? port : "") < 0 ||
			asprintf(&s3->base_url, "%s://%s", scheme, s3->host) < 0 ||
			asprintf(&s3->path_prefix, "%s%s", o->path_style ? "/" : "", o->path_style ? s3->bucket : "") < 0)
			rc = cairn_error_set(CAIRN_ENOMEM, "s3: out of memory");
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_free(query);
	curl_url_cleanup(u);
	free(ep);
	return rc;
}

static bool bucket_name_ok(const char *b)
{
	size_t n = strlen(b);
	if (n < 3 || n > 63)
		return false;
	for (const char *p = b; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_'))
			return false;
	return true;
}

int cairn_s3_create(cairn_s3 **out, const cairn_s3_options *o)
{
	pthread_once(&global_once, global_init);
	if (global_rc != CAIRN_OK)
		return cairn_error_set(CAIRN_ERROR, "s3: libcurl failed to initialise");
	if (!o->bucket || !o->bucket[0])
		return cairn_error_set(CAIRN_EINVALID, "s3: no bucket given");
	if (!bucket_name_ok(o->bucket))
		return cairn_error_set(CAIRN_EINVALID,
			"s3: bad bucket name \"%s\" (3 to 63 characters: a-z 0-9 . - _)", o->bucket);
	if (!o->access_key_id || !o->access_key_id[0])
		return cairn_error_set(CAIRN_EINVALID, "s3: no access key id (AWS_ACCESS_KEY_ID)");
	if (!o->secret_access_key || !o->secret_access_key[0])
		return cairn_error_set(CAIRN_EINVALID, "s3: no secret access key (AWS_SECRET_ACCESS_KEY)");
	if (o->parallelism < 0 || o->parallelism > 256)
		return cairn_error_set(CAIRN_EINVALID, "s3: parallelism %d is out of range 1..256", o->parallelism);
	if (o->max_attempts < 0 || o->max_attempts > 100)
		return cairn_error_set(CAIRN_EINVALID, "s3: max_attempts %d is out of range 1..100", o->max_attempts);
	if (o->list_page_size < 0 || o->list_page_size > 1000)
		return cairn_error_set(CAIRN_EINVALID, "s3: list page size %d is out of range 1..1000", o->list_page_size);
	cairn_s3 *s3 = calloc(1, sizeof(*s3));
	if (!s3)
		return cairn_error_set(CAIRN_ENOMEM, "s3: out of memory");
	bool oom = false;
	s3->region = dup_or_null(o->region && o->region[0] ? o->region : "us-east-1", &oom);
	s3->bucket = dup_or_null(o->bucket, &oom);
	s3->access_key_id = dup_or_null(o->access_key_id, &oom);
	s3->secret_access_key = dup_or_null(o->secret_access_key, &oom);
	s3->session_token = o->session_token && o->session_token[0] ? dup_or_null(o->session_token, &oom) : NULL;
	s3->part_size = o->part_size ? o->part_size : 64ull << 20;
	s3->parallelism = o->parallelism ? o->parallelism : 4;
	s3->max_attempts = o->max_attempts ? o->max_attempts : 5;
	s3->list_page_size = o->list_page_size ? o->list_page_size : 1000;
	s3->retry_base_seconds = (o->retry_base_ms ? o->retry_base_ms : 200) / 1000.0;
	s3->checksum_sha256 = o->checksum_sha256;
	s3->cancel = o->cancel;
	if (!oom && cairn_ratelimit_create(&s3->limit, o->rate_limit_bps, 1) != CAIRN_OK)
		oom = true;
	int rc = oom ? cairn_error_set(CAIRN_ENOMEM, "s3: out of memory") : endpoint_setup(s3, o);
	if (rc != CAIRN_OK) {
		cairn_s3_free(s3);
		return rc;
	}
	*out = s3;
	return CAIRN_OK;
}

void cairn_s3_free(cairn_s3 *s3)
{
	if (!s3)
		return;
	free(s3->base_url);
	free(s3->host);
	free(s3->path_prefix);
	free(s3->region);
	free(s3->bucket);
	free(s3->access_key_id);
	if (s3->secret_access_key) {
		explicit_bzero(s3->secret_access_key, strlen(s3->secret_access_key));
		free(s3->secret_access_key);
	}
	free(s3->session_token);
	cairn_ratelimit_free(s3->limit);
	free(s3);
}

int cairn_s3_url_parse(char **out_bucket, char **out_prefix, const char *url)
{
	if (!url || strncmp(url, "s3://", 5) != 0)
		return cairn_error_set(CAIRN_EINVALID, "\"%s\" is not an s3:// URL (s3://bucket/prefix)", url ? url : "");
	const char *b = url + 5;
	const char *slash = strchr(b, '/');
	size_t blen = slash ? (size_t)(slash - b) : strlen(b);
	char *bucket = strndup(b, blen);
	if (!bucket)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	if (!bucket_name_ok(bucket)) {
		free(bucket);
		return cairn_error_set(CAIRN_EINVALID, "\"%s\": bad bucket name (3 to 63 characters: a-z 0-9 . - _)", url);
	}
	const char *p = slash ? slash + 1 : "";
	size_t plen = strlen(p);
	while (plen > 0 && p[plen - 1] == '/')
		plen--;
	if (p[0] == '/' || strstr(p, "//") || memchr(p, '\\', plen)) {
		free(bucket);
		return cairn_error_set(CAIRN_EINVALID, "\"%s\": the prefix has an empty path segment", url);
	}
	char *prefix = strndup(p, plen);
	if (!prefix) {
		free(bucket);
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	}
	*out_bucket = bucket;
	*out_prefix = prefix;
	return CAIRN_OK;
}

/* Sleeps up to `seconds`, waking every 50 ms to check the cancel flag.
 * false when cancelled. */
static bool sleep_cancellable(const cairn_s3 *s3, const s3_call *c, double seconds)
{
	double end = cairn_clock_now() + seconds;
	for (;;) {
		if (stopped(s3, c))
			return false;
		double left = end - cairn_clock_now();
		if (left <= 0)
			return true;
		cairn_clock_sleep(left < 0.05 ? left : 0.05);
	}
}

/* Takes n bytes from the shared bucket and sleeps until they are due;
 * false when cancelled. */
static bool rate_wait(cairn_s3 *s3, const s3_call *c, size_t n)
{
	return sleep_cancellable(s3, c, cairn_ratelimit_take(s3->limit, n));
}

/* Per-attempt transfer state shared by the libcurl callbacks. */
typedef struct xfer {
	cairn_s3 *s3;
	s3_call *c;
	uint64_t sent;       /* request body bytes given to libcurl in this attempt */
	uint64_t reported;   /* bytes reported to on_progress over all attempts */
	uint64_t delivered;  /* 2xx body bytes given to the sink over all attempts */
	uint64_t resume_from;/* bytes already delivered when this attempt began */
	bool body_started;   /* this attempt's 2xx body has begun */
	uint64_t skip;       /* bytes of this answer to drop (a 200 to a resumed GET) */
	uint64_t range_start;/* Content-Range start of a 206, or UINT64_MAX */
	bool bad_range;      /* a 206 that starts elsewhere than resume_from */
	uint64_t range_total;/* the size in a 416's "bytes * /N", or UINT64_MAX */
	bool cancelled;
	int sink_rc;
	bool resp_overflow;
} xfer;

static void progress(xfer *x, uint64_t position)
{
	const cairn_s3_transfer *t = x->c->t;
	if (position > x->reported) {
		if (t && t->on_progress)
			t->on_progress(t->ctx, position - x->reported);
		x->reported = position;
	}
}

static size_t read_cb(char *buf, size_t size, size_t nitems, void *ud)
{
	xfer *x = ud;
	s3_call *c = x->c;
	size_t want = size * nitems;
	uint64_t left = c->length - x->sent;
	if (want > left)
		want = (size_t)left;
	if (want == 0)
		return 0;
	if (!rate_wait(x->s3, c, want)) {
		x->cancelled = true;
		return CURL_READFUNC_ABORT;
	}
	if (c->fd >= 0) {
		ssize_t r;
		do
			r = pread(c->fd, buf, want, (off_t)(c->offset + x->sent));
		while (r < 0 && errno == EINTR);
		if (r <= 0) {
			x->sink_rc = cairn_error_set_errno(CAIRN_EIO, r < 0 ? errno : EIO,
				"reading the file to upload at offset %llu", (unsigned long long)(c->offset + x->sent));
			return CURL_READFUNC_ABORT;
		}
		want = (size_t)r;
	} else {
		memcpy(buf, (const char *)c->body + x->sent, want);
	}
	x->sent += want;
	progress(x, x->sent);
	return want;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *ud)
{
	xfer *x = ud;
	s3_call *c = x->c;
	size_t n = size * nmemb;
	if (c->sink && c->status >= 200 && c->status < 300) {
		if (!x->body_started) {
			/* A resumed GET: a 206 must start where the last one broke
			 * off; a store that ignored Range sends it all again. */
			x->body_started = true;
			if (x->resume_from > 0 && c->status == 206 && x->range_start != x->resume_from) {
				x->bad_range = true;
				return 0;
			}
			if (x->resume_from > 0 && c->status == 200)
				x->skip = x->resume_from;
		}
		size_t off = 0;
		if (x->skip) {
			off = x->skip < n ? (size_t)x->skip : n;
			x->skip -= off;
		}
		if (off < n) {
			if (!rate_wait(x->s3, c, n - off)) {
				x->cancelled = true;
				return 0;
			}
			int rc = c->sink(c->sink_ctx, data + off, n - off);
			if (rc != 0) {
				x->sink_rc = rc;
				return 0;
			}
			x->delivered += n - off;
			progress(x, x->delivered);
		}
		return n;
	}
	size_t max = c->resp_max ? c->resp_max : RESP_MAX_DEFAULT;
	if (c->resp_len + n > max) {
		x->resp_overflow = true;
		return 0;
	}
	char *r = realloc(c->resp, c->resp_len + n + 1);
	if (!r)
		return 0;
	memcpy(r + c->resp_len, data, n);
	c->resp = r;
	c->resp_len += n;
	r[c->resp_len] = '\0';
	return n;
}

static void copy_trimmed(char *dst, size_t cap, const char *v, size_t len)
{
	while (len > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
		len--;
	if (len >= cap)
		len = cap - 1;
	memcpy(dst, v, len);
	dst[len] = '\0';
}

static size_t header_cb(char *data, size_t size, size_t nitems, void *ud)
{
	xfer *x = ud;
	s3_call *c = x->c;
	size_t n = size * nitems;
	if (n > 5 && strncmp(data, "HTTP/", 5) == 0) {
		/* A new answer (after a 100 Continue too): forget the last one's headers. */
		const char *sp = memchr(data, ' ', n);
		c->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		c->etag[0] = c->checksum_sha256[0] = '\0';
		c->has_length = false;
		x->range_start = x->range_total = UINT64_MAX;
		return n;
	}
	const char *colon = memchr(data, ':', n);
	if (!colon)
		return n;
	size_t nl = (size_t)(colon - data);
	const char *v = colon + 1;
	size_t vl = n - nl - 1;
	char tmp[64];
	if (nl == 4 && strncasecmp(data, "ETag", 4) == 0) {
		copy_trimmed(c->etag, sizeof(c->etag), v, vl);
	} else if (nl == 21 && strncasecmp(data, "x-amz-checksum-sha256", 21) == 0) {
		copy_trimmed(c->checksum_sha256, sizeof(c->checksum_sha256), v, vl);
	} else if (nl == 14 && strncasecmp(data, "Content-Length", 14) == 0) {
		copy_trimmed(tmp, sizeof(tmp), v, vl);
		char *end = NULL;
		c->content_length = strtoull(tmp, &end, 10);
		c->has_length = end && end != tmp && *end == '\0';
	} else if (nl == 13 && strncasecmp(data, "Content-Range", 13) == 0) {
		copy_trimmed(tmp, sizeof(tmp), v, vl);
		unsigned long long start;
		if (sscanf(tmp, "bytes %llu-", &start) == 1)
			x->range_start = start;
		else if (sscanf(tmp, "bytes */%llu", &start) == 1)
			x->range_total = start;
	}
	return n;
}

static int xferinfo_cb(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)dt, (void)dn, (void)ut, (void)un;
	xfer *x = ud;
	if (stopped(x->s3, x->c)) {
		x->cancelled = true;
		return 1;
	}
	return 0;
}

/* Adds "Name: value" to both the curl list and the signed pairs. */
typedef struct hdrs {
	struct curl_slist *list;
	cairn_sigv4_pair pairs[12];
	char *owned[12];
	size_t n;
	bool oom;
} hdrs;

static void hdr_add(hdrs *h, const char *name, const char *value, bool sign)
{
	char *line = NULL;
	if (asprintf(&line, "%s: %s", name, value) < 0) {
		h->oom = true;
		return;
	}
	struct curl_slist *l = curl_slist_append(h->list, line);
	if (!l) {
		free(line);
		h->oom = true;
		return;
	}
	h->list = l;
	if (sign && h->n < sizeof(h->pairs) / sizeof(h->pairs[0])) {
		line[strlen(name)] = '\0';
		h->pairs[h->n] = (cairn_sigv4_pair){line, line + strlen(name) + 2};
		h->owned[h->n++] = line;
	} else {
		free(line);
	}
}

static void hdrs_free(hdrs *h)
{
	curl_slist_free_all(h->list);
	for (size_t i = 0; i < h->n; i++)
		free(h->owned[i]);
}

static void amz_now(char out[17])
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

void s3_call_reset(s3_call *c)
{
	free(c->resp);
	c->resp = NULL;
	c->resp_len = 0;
}

static const char *empty_sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

typedef enum { ATTEMPT_DONE, ATTEMPT_RETRY } attempt_result;

/* One attempt.  Sets *rc and returns whether to try again. */
static attempt_result attempt(int *rc, cairn_s3 *s3, s3_call *c, xfer *x, const char *path, const char *url)
{
	char date[17];
	amz_now(date);
	const char *payload = c->payload_hash ? c->payload_hash : empty_sha256;
	hdrs h = {0};
	hdr_add(&h, "Host", s3->host, true);
	hdr_add(&h, "x-amz-date", date, true);
	hdr_add(&h, "x-amz-content-sha256", payload, true);
	if (s3->session_token)
		hdr_add(&h, "x-amz-security-token", s3->session_token, true);
	if (c->content_md5)
		hdr_add(&h, "Content-MD5", c->content_md5, true);
	if (c->send_sha256)
		hdr_add(&h, "x-amz-checksum-sha256", c->send_sha256, true);
	if (c->checksum_algorithm)
		hdr_add(&h, "x-amz-checksum-algorithm", c->checksum_algorithm, true);
	if (c->content_type)
		hdr_add(&h, "Content-Type", c->content_type, true);
	else if (strcmp(c->method, "POST") == 0)
		h.list = curl_slist_append(h.list, "Content-Type:"); /* no form type of libcurl's own */
	char range[64];
	if (c->sink && x->delivered > 0) {
		snprintf(range, sizeof(range), "bytes=%llu-", (unsigned long long)x->delivered);
		hdr_add(&h, "Range", range, true);
		if (c->etag[0])
			hdr_add(&h, "If-Match", c->etag, true);
	}
	cairn_sigv4_request req = {c->method, path, c->query, c->n_query, h.pairs, h.n, payload};
	cairn_sigv4_credentials cred = {s3->access_key_id, s3->secret_access_key, s3->region, "s3"};
	char *auth = NULL;
	if (!h.oom && cairn_sigv4_authorization(&auth, &req, &cred, date) == CAIRN_OK)
		hdr_add(&h, "Authorization", auth, false);
	free(auth);
	CURL *e = curl_easy_init();
	if (h.oom || !auth || !e) {
		hdrs_free(&h);
		curl_easy_cleanup(e);
		*rc = cairn_error_set(CAIRN_ENOMEM, "s3 %s %s: out of memory", c->op, c->key ? c->key : "");
		return ATTEMPT_DONE;
	}
	s3_call_reset(c);
	c->status = 0;
	x->sent = 0;
	x->skip = 0;
	x->resume_from = x->delivered;
	x->body_started = false;
	x->bad_range = false;
	x->sink_rc = 0;
	x->resp_overflow = false;
	x->range_start = x->range_total = UINT64_MAX;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h.list);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 10L);
	/* A transfer slower than 1 KiB/s for 60 s is a dead connection. */
	uint64_t rate = cairn_ratelimit_rate(s3->limit);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, rate && rate < 1024 ? 1L : 1024L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
	curl_easy_setopt(e, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	if (strcmp(c->method, "HEAD") == 0) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else if (strcmp(c->method, "PUT") == 0) {
		curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)c->length);
		curl_easy_setopt(e, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(e, CURLOPT_READDATA, x);
	} else if (strcmp(c->method, "POST") == 0) {
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->length);
		curl_easy_setopt(e, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(e, CURLOPT_READDATA, x);
	} else if (strcmp(c->method, "GET") != 0) {
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, c->method);
	}
	CURLcode cc = curl_easy_perform(e);
	char curl_err[256];
	snprintf(curl_err, sizeof(curl_err), "%s", curl_easy_strerror(cc));
	curl_easy_cleanup(e);
	hdrs_free(&h);
	const char *key = c->key ? c->key : "";
	if (x->cancelled || (cc == CURLE_ABORTED_BY_CALLBACK && stopped(s3, c))) {
		*rc = cairn_error_set(CAIRN_ESTATE, "s3 %s %s: cancelled", c->op, key);
		return ATTEMPT_DONE;
	}
	if (x->sink_rc != 0) {
		*rc = x->sink_rc;
		if (c->fd >= 0 && c->sink == NULL)
			cairn_error_prefix(0, "s3 %s %s", c->op, key);
		return ATTEMPT_DONE;
	}
	if (x->resp_overflow) {
		*rc = cairn_error_set(CAIRN_EINVALID, "s3 %s %s: the store's answer is larger than %zu bytes", c->op, key,
			c->resp_max ? c->resp_max : (size_t)RESP_MAX_DEFAULT);
		return ATTEMPT_DONE;
	}
	if (x->bad_range) {
		*rc = cairn_error_set(CAIRN_EIO, "s3 %s %s: the store resumed at another offset than byte %llu", c->op,
			key, (unsigned long long)x->resume_from);
		return ATTEMPT_DONE;
	}
	if (cc == CURLE_OK && c->status >= 200 && c->status < 300) {
		*rc = CAIRN_OK;
		return ATTEMPT_DONE;
	}
	if (cc == CURLE_OK && c->status == 416 && x->resume_from > 0 && x->range_total == x->resume_from) {
		/* The connection broke after the last byte: nothing is missing. */
		*rc = CAIRN_OK;
		return ATTEMPT_DONE;
	}
	if (cc != CURLE_OK && c->status == 0) {
		*rc = cairn_error_set(CAIRN_EIO, "s3 %s %s: %s", c->op, key, curl_err);
		return ATTEMPT_RETRY;
	}
	if (c->status < 200) {
		/* Only an interim answer came (100 Continue to the Expect header libcurl sends before a large
		 * body), then the connection ended: the store went away mid-request.  Say so, with libcurl's
		 * reason, rather than report an HTTP error that never came. */
		*rc = cairn_error_set(CAIRN_EIO, "s3 %s %s: the store closed the connection after HTTP %ld, "
			"before its answer: %s", c->op, key, c->status, cc != CURLE_OK ? curl_err : "no final status");
		return ATTEMPT_RETRY;
	}
	if (cc != CURLE_OK && c->status >= 200 && c->status < 300) {
		/* The answer broke off mid-body: retry (a GET resumes). */
		*rc = cairn_error_set(CAIRN_EIO, "s3 %s %s: %s", c->op, key, curl_err);
		return ATTEMPT_RETRY;
	}
	char *code = NULL, *message = NULL;
	bool have = s3_xml_error(&code, &message, c->resp, c->resp_len) == CAIRN_OK;
	const char *fallback = c->status == 404 ? "NotFound" : "HTTP error";
	*rc = c->status == 404 ? CAIRN_ENOTFOUND : CAIRN_EIO; /* ESTATE means cancelled, so not for 412 */
	if (c->status == 400 || c->status == 403 || c->status == 405 || c->status == 411 || c->status == 416)
		*rc = CAIRN_EINVALID;
	/* No error document: a transfer error (the answer cut off) says more than "no message". */
	cairn_error_set(0, "s3 %s %s: %s: %s (HTTP %ld)", c->op, key, have ? code : fallback,
		have && message[0] ? message : cc != CURLE_OK ? curl_err : "no message", c->status);
	free(code);
	free(message);
	if (c->status >= 500 || c->status == 429) {
		*rc = CAIRN_EIO;
		return ATTEMPT_RETRY;
	}
	return ATTEMPT_DONE;
}

int s3_perform(cairn_s3 *s3, s3_call *c)
{
	char *path = NULL, *enc_path = NULL, *query = NULL, *url = NULL;
	const char *key = c->key ? c->key : "";
	int rc = CAIRN_OK;
	if (asprintf(&path, "%s/%s", s3->path_prefix, key) < 0)
		path = NULL;
	if (!path || cairn_sigv4_uri_encode(&enc_path, path, true) != CAIRN_OK ||
		cairn_sigv4_canonical_query(&query, c->query, c->n_query) != CAIRN_OK ||
		asprintf(&url, "%s%s%s%s", s3->base_url, enc_path, query[0] ? "?" : "", query) < 0) {
		url = NULL;
		rc = cairn_error_set(CAIRN_ENOMEM, "s3 %s %s: out of memory", c->op, key);
	}
	xfer x = {.s3 = s3, .c = c, .range_start = UINT64_MAX, .range_total = UINT64_MAX};
	c->etag[0] = '\0';
	for (int i = 1; rc == CAIRN_OK && i <= s3->max_attempts; i++) {
		if (stopped(s3, c)) {
			rc = cairn_error_set(CAIRN_ESTATE, "s3 %s %s: cancelled", c->op, key);
			break;
		}
		/* A resumed GET keeps the first answer's ETag for If-Match. */
		char keep_etag[S3_ETAG_MAX];
		snprintf(keep_etag, sizeof(keep_etag), "%s", c->etag);
		if (attempt(&rc, s3, c, &x, path, url) == ATTEMPT_DONE)
			break;
		if (c->sink && x.delivered > 0 && !c->etag[0])
			snprintf(c->etag, sizeof(c->etag), "%s", keep_etag);
		if (i == s3->max_attempts) {
			cairn_error_prefix(0, "after %d tries", i);
			break;
		}
		double d = s3->retry_base_seconds * (double)(1u << (i - 1 < 16 ? i - 1 : 16));
		if (d > 20)
			d = 20;
		d = d / 2 + d / 2 * ((double)random() / (double)RAND_MAX);
		cairn_log_debug("s3", "%s (try %d of %d, again in %.2f s)", cairn_error_last(), i, s3->max_attempts, d);
		if (!sleep_cancellable(s3, c, d)) {
			rc = cairn_error_set(CAIRN_ESTATE, "s3 %s %s: cancelled", c->op, key);
			break;
		}
		rc = CAIRN_OK;
	}
	free(path);
	free(enc_path);
	free(query);
	free(url);
	return rc;
}
