/*
 * server.c: server.h on libmicrohttpd; with server_body.c (request bodies,
 * reader responses) the only file that includes it.
 *
 * Threads: MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL with a pool of
 * worker threads, and one acceptor thread of ours on a listening socket we
 * bind ourselves (so a busy port gets a precise message and port 0 a known
 * result).  The acceptor hands each connection to the pool, which spreads
 * them evenly over the workers (by descriptor number).  Left to accept on a
 * shared socket themselves, the workers take connections in bursts: with
 * wrk's 100 connections one worker often got them all, and the rate and
 * p99 latency varied twofold from run to run.
 *
 * poll(2), not epoll: the epoll loop of libmicrohttpd 0.9.75 (MHD_epoll in
 * daemon.c, unchanged up to 1.0.1) drains its epoll set in a loop "while
 * epoll_wait returned MAX_EVENTS (128) events", and every round waits with
 * the loop's full timeout: after exactly 128 events it blocks again, with
 * no timeout when no connection has one, before it processes the
 * connections it already knows are ready.  A burst of connections (10,000
 * subscribers connecting at once) left the last ones waiting for their
 * response head until unrelated traffic arrived.  The poll loop has no
 * such second wait.  Its cost per round grows with the connections in the
 * poll set, but a connection leaves the set while suspended, so event
 * streams, the only long-lived connections in numbers, cost it nothing;
 * the health-check rate and p99 of bench/http did not change measurably.
 *
 * Request phases: the library calls the access handler once when the
 * headers are complete, again for each piece of body, and a last time with
 * no data.  Responses are queued only on that last call: a response queued
 * on the first call makes the library refuse to read further and close the
 * connection, which defeats keep-alive (measured with wrk: under a third of
 * the rate, at four times the CPU per request).
 * The per-request pointer starts as &request_new (from the request-line
 * callback) and becomes &request_reading after the first call, or a body
 * once one arrives; a target longer than CAIRN_HTTP_MAX_TARGET is marked
 * &request_too_long at the request line and answered 414.
 *
 * In-flight accounting: a request is in flight from its request line (the
 * URI log callback) to its completion callback; the library guarantees the
 * second once the first ran.  Shutdown waits on `idle` for the count to
 * reach zero.
 *
 * Event streams: a stream response is a callback response of unknown
 * size, so the library sends the head (chunked for HTTP/1.1) and then asks
 * the reader for the body.  The library calls the reader only once the
 * whole head is written; on that first call the reader parks the
 * connection (suspend, allowed from a reader) and hands its socket to the
 * fan-out threads (fanout.h), which write the events from then on.  When
 * the stream is over the fan-out resumes the connection, and the reader's
 * second call ends the body: cleanly (the library writes the terminating
 * chunk) or with an error (the library cuts the connection).  A connection
 * is never suspended while the library stops: shutdown stops the fan-out,
 * which hands every connection back, before it stops the library.
 *
 * Capacity and deadlines: the acceptor (server_accept.c) answers the
 * connections beyond the limits itself, with a canned 503, and times out
 * requests that do not arrive in time; this file tells it when a request
 * has been read and when its response is done.
 *
 * Locks: the server lock only guards the idle wait; the fan-out and the
 * topics lock their own state.
 */
#include "http/server.h"
#include "http/fanout.h"
#include "http/pacer.h"
#include "http/server_accept.h"
#include "http/server_body.h"
#include "http/server_policy.h"
#include "http/stream.h"
#include "metrics/metrics.h"
#include "util/error.h"
#include "util/log.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define STREAM_BLOCK_SIZE 256 /* allocated with each stream response; the fan-out writes the body */
/* The per-connection buffer pool: room for a target split into about 500
 * query arguments and for a header field of twice CAIRN_HTTP_MAX_FIELD,
 * so that those get cairn's own 400 or 431 (server_policy.c) instead of the
 * library closing the connection unanswered when its pool runs out.  It
 * is most of what an idle event stream costs: 2,000 streams measured 14 KB
 * of RSS each with 16 KiB, 22 KB with 32 KiB, 38 KB with 64 KiB. */
#define CONNECTION_MEMORY (32 * 1024)
#define MIN_CONNECTIONS 16
#define MAX_THREADS 16
#define LIBRARY_LIMIT_MARGIN 64 /* connections accepted but not yet counted */

typedef struct stream_conn stream_conn;

struct cairn_http_server {
	const cairn_http_router *router;
	struct MHD_Daemon *daemon;
	cairn_http__acceptor *acceptor; /* the listener and the connection book */
	char *node_version;
	atomic_bool draining;
	atomic_uint in_flight;
	unsigned connection_limit;
	cairn_http__policy policy;
	char *extra_hosts;

	pthread_mutex_t lock; /* guards idle waits */
	pthread_cond_t idle;  /* broadcast when in_flight reaches zero */
	cairn_http_fanout *fanout;
	atomic_bool streams_closed;
	cairn_http__pacer *pacer; /* resumes the connections of paced bodies */
};

struct stream_conn {
	cairn_http_server *server;
	struct MHD_Connection *connection;
	cairn_http_subscriber *subscriber;
	int fd;       /* the connection's socket */
	bool handed;  /* the fan-out took the socket (first reader call) */
	bool clean;   /* the fan-out ended the stream cleanly (set before the resume) */
	char peer[CAIRN_HTTP_PEER_MAX];
};

static char request_new, request_reading, request_too_long;

/* True for the per-request markers, false for a collected body. */
static bool is_marker(const void *state)
{
	return state == &request_new || state == &request_reading || state == &request_too_long;
}

static void format_peer(char *out, struct MHD_Connection *connection)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	cairn_http__format_address(out, info ? info->client_addr : NULL);
}

/* ---- request accounting ---- */

static void *on_request_line(void *cls, const char *uri, struct MHD_Connection *connection)
{
	(void)connection;
	cairn_http_server *s = cls;
	atomic_fetch_add_explicit(&s->in_flight, 1, memory_order_relaxed);
	return strlen(uri) > CAIRN_HTTP_MAX_TARGET ? &request_too_long : &request_new;
}

static void on_request_done(void *cls, struct MHD_Connection *connection, void **request_state,
	enum MHD_RequestTerminationCode code)
{
	(void)code;
	cairn_http_server *s = cls;
	cairn_http__acceptor_request_done(connection);
	if (!is_marker(*request_state))
		cairn_http__body_free(*request_state);
	if (atomic_fetch_sub_explicit(&s->in_flight, 1, memory_order_acq_rel) != 1)
		return;
	/* Broadcast under the lock so a waiter between its check and its wait cannot miss it. */
	pthread_mutex_lock(&s->lock);
	pthread_cond_broadcast(&s->idle);
	pthread_mutex_unlock(&s->lock);
}

/* ---- event streams ---- */

/* The fan-out is done with the connection: wake it for the reader's last call. */
static void stream_done(void *ctx, bool clean)
{
	stream_conn *sc = ctx;
	sc->clean = clean;
	MHD_resume_connection(sc->connection);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	(void)buf;
	(void)max;
	stream_conn *sc = cls;
	if (sc->handed)
		return sc->clean ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
	/* Park first: the fan-out may resume the connection as soon as it has it. */
	sc->handed = true;
	MHD_suspend_connection(sc->connection);
	if (cairn_http_fanout_add(sc->server->fanout, sc->subscriber, sc->fd, sc->peer, stream_done, sc) != CAIRN_OK)
		stream_done(sc, true); /* shutting down: end the stream now */
	return 0;
}

static void stream_free(void *cls)
{
	stream_conn *sc = cls;
	cairn_http_subscriber_free(sc->subscriber);
	free(sc);
}

static struct MHD_Response *open_stream(cairn_http_server *s, struct MHD_Connection *connection,
	const char *peer, bool chunked, cairn_http_topic *topic)
{
	if (atomic_load(&s->streams_closed)) {
		cairn_error_set(CAIRN_EBUSY, "the server is shutting down");
		return NULL;
	}
	stream_conn *sc = calloc(1, sizeof(*sc));
	if (sc == NULL) {
		cairn_error_set(CAIRN_ENOMEM, "out of memory");
		return NULL;
	}
	const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
	sc->server = s;
	sc->connection = connection;
	sc->fd = info ? info->connect_fd : -1;
	snprintf(sc->peer, sizeof(sc->peer), "%s", peer);
	if (sc->fd < 0 || cairn_http_subscriber_open(&sc->subscriber, topic, chunked) != CAIRN_OK) {
		if (sc->fd < 0)
			cairn_error_set(CAIRN_EIO, "the connection has no socket");
		free(sc);
		return NULL;
	}
	struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK_SIZE,
		stream_read, sc, stream_free);
	if (r == NULL) {
		stream_free(sc);
		cairn_error_set(CAIRN_ENOMEM, "out of memory");
	}
	return r;
}

/* New streams are refused; open ones end once their events are sent. */
static void close_streams(cairn_http_server *s)
{
	atomic_store(&s->streams_closed, true);
	cairn_http_fanout_close(s->fanout);
}

/* ---- responses ---- */

static struct MHD_Response *body_response(cairn_http_response *res)
{
	static const enum MHD_ResponseMemoryMode modes[] = {
		[CAIRN_HTTP_BODY_STATIC] = MHD_RESPMEM_PERSISTENT,
		[CAIRN_HTTP_BODY_OWNED] = MHD_RESPMEM_MUST_FREE,
		[CAIRN_HTTP_BODY_INLINE] = MHD_RESPMEM_MUST_COPY,
	};
	struct MHD_Response *r = MHD_create_response_from_buffer(res->body_len, (void *)res->body,
		modes[res->body_kind]);
	if (r != NULL && res->body_kind == CAIRN_HTTP_BODY_OWNED)
		res->body_kind = CAIRN_HTTP_BODY_STATIC; /* the library frees it now */
	return r;
}

static bool add_headers(cairn_http_server *s, struct MHD_Response *r, const char *peer,
	const cairn_http_response *res)
{
	bool ok = MHD_add_response_header(r, "x-peer-addr", peer) == MHD_YES &&
		MHD_add_response_header(r, "x-server-timestamp", cairn_http__timestamp()) == MHD_YES &&
		MHD_add_response_header(r, "x-chainweb-node-version", s->node_version) == MHD_YES;
	if (ok && res->content_type)
		ok = MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, res->content_type) == MHD_YES;
	if (ok && res->allow)
		ok = MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, res->allow) == MHD_YES;
	if (ok && res->stream)
		ok = MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache") == MHD_YES;
	for (size_t i = 0; ok && i < res->extra_count; i++)
		ok = MHD_add_response_header(r, res->extra[i].name, res->extra[i].value) == MHD_YES;
	if (ok && atomic_load_explicit(&s->draining, memory_order_relaxed))
		ok = MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close") == MHD_YES;
	return ok;
}

static ssize_t no_body(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)cls;
	(void)pos;
	(void)buf;
	(void)max;
	return MHD_CONTENT_READER_END_OF_STREAM;
}

/* The response to HEAD of a stream, in place of `r` (an empty body): the
 * head GET gets but of unknown length, never "Content-Length: 0".  It is
 * framed as an HTTP/1.0 server would (no chunks, the connection closes
 * after it): for HTTP/1.1 the library (0.9.75) would otherwise frame an
 * unknown length as chunked and follow the head with a terminating chunk,
 * which a HEAD response must not carry. */
static struct MHD_Response *head_of_stream(struct MHD_Response *r)
{
	if (r != NULL)
		MHD_destroy_response(r);
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64, no_body, NULL, NULL);
	if (r != NULL && MHD_set_response_options(r, MHD_RF_HTTP_1_0_SERVER, MHD_RO_END) != MHD_YES) {
		MHD_destroy_response(r);
		r = NULL;
	}
	return r;
}

/* `chunked`: the client speaks HTTP/1.1, so a stream is sent in chunks
 * (the library decides the same way); HTTP/1.0 streams end by closing. */
static enum MHD_Result send_response(cairn_http_server *s, struct MHD_Connection *connection,
	const cairn_http_request *req, bool chunked, cairn_http_response *res)
{
	struct MHD_Response *r = NULL;
	/* HEAD gets the stream's head from an empty body: on a chunked callback
	 * response the library (0.9.75) would follow the head with a
	 * terminating chunk, corrupting the connection. */
	bool stream = res->stream != NULL && req->method != CAIRN_HTTP_HEAD;
	if (stream && (r = open_stream(s, connection, req->peer, chunked, res->stream)) == NULL)
		cairn_http_respond_text(res, 503, "%s", cairn_error_last());
	if (r == NULL && res->body_kind == CAIRN_HTTP_BODY_READER)
		r = cairn_http__reader_response(res, connection, s->pacer);
	else if (r == NULL)
		r = body_response(res);
	if (res->stream != NULL && !stream)
		r = head_of_stream(r);
	enum MHD_Result ok = MHD_NO;
	if (r != NULL && add_headers(s, r, req->peer, res))
		ok = MHD_queue_response(connection, (unsigned)res->status, r);
	if (r != NULL)
		MHD_destroy_response(r);
	cairn_http_response_release(res);
	if (ok != MHD_YES)
		cairn_log_warn("http", "cannot send a response to %s; closing the connection", req->peer);
	return ok;
}

/* ---- dispatch ---- */

typedef struct query_collector {
	cairn_http_request *req;
	char *cursor, *end;
	bool too_long;
	int rc;
} query_collector;

static int decode_into(const char **out, query_collector *qc, const char *in, size_t len)
{
	if ((size_t)(qc->end - qc->cursor) < len + 1) {
		qc->too_long = true;
		return CAIRN_EINVALID;
	}
	size_t n;
	int rc = cairn_http_decode_component(qc->cursor, &n, in, len, true);
	if (rc == CAIRN_OK) {
		*out = qc->cursor;
		qc->cursor += n + 1;
	}
	return rc;
}

static enum MHD_Result collect_query_arg(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
	const char *value, size_t value_size)
{
	(void)kind;
	query_collector *qc = cls;
	cairn_http_request *req = qc->req;
	if (req->query_count == CAIRN_HTTP_MAX_QUERY) {
		qc->rc = cairn_error_set(CAIRN_EINVALID, "too many query arguments (at most %d)", CAIRN_HTTP_MAX_QUERY);
		return MHD_NO;
	}
	cairn_http_pair *pair = &req->query[req->query_count];
	pair->value = NULL;
	qc->rc = decode_into(&pair->name, qc, key, key_size);
	if (qc->rc == CAIRN_OK && value != NULL)
		qc->rc = decode_into(&pair->value, qc, value, value_size);
	if (qc->rc != CAIRN_OK)
		return MHD_NO;
	req->query_count++;
	return MHD_YES;
}

static void respond_too_long(cairn_http_response *res)
{
	cairn_http_respond_text(res, 414, "request target too long (at most %d bytes)", CAIRN_HTTP_MAX_TARGET);
}

/* Routes and runs the handler; answers routing and query errors itself.
 * Returns the route's metrics endpoint id (metrics.h). */
static int dispatch(cairn_http_server *s, cairn_http_response *res, cairn_http_request *req,
	struct MHD_Connection *connection, const char *url, const char *method_name, char *scratch, size_t size)
{
	cairn_http_route_match match;
	switch (cairn_http_router_match(&match, s->router, req->method, url, scratch, size)) {
	case CAIRN_HTTP_ROUTE_FOUND:
		break;
	case CAIRN_HTTP_ROUTE_NOT_FOUND:
		if (strncmp(url, "/chainweb/", strlen("/chainweb/")) == 0)
			cairn_http_respond_text(res, 404, "not found: %s (this node serves /chainweb/0.0/%s/...)",
				url, cairn_http_router_version(s->router));
		else
			cairn_http_respond_text(res, 404, "not found: %s", url);
		return match.endpoint;
	case CAIRN_HTTP_ROUTE_METHOD_NOT_ALLOWED:
		cairn_http_respond_text(res, 405, "method %s not allowed on %s (allowed: %s)", method_name, url, match.allow);
		res->allow = match.allow;
		return match.endpoint;
	case CAIRN_HTTP_ROUTE_BAD_REQUEST:
		cairn_http_respond_text(res, 400, "bad request: %s", cairn_error_last());
		return match.endpoint;
	case CAIRN_HTTP_ROUTE_TOO_LONG:
		respond_too_long(res);
		return match.endpoint;
	}
	size_t used = strlen(url) + 1;
	query_collector qc = {req, scratch + used, scratch + size, false, CAIRN_OK};
	MHD_get_connection_values_n(connection, MHD_GET_ARGUMENT_KIND, collect_query_arg, &qc);
	if (qc.too_long) {
		respond_too_long(res);
		return match.endpoint;
	}
	if (qc.rc != CAIRN_OK) {
		cairn_http_respond_text(res, 400, "bad request: %s", cairn_error_last());
		return match.endpoint;
	}
	req->param_count = match.param_count;
	memcpy(req->params, match.params, sizeof(match.params));
	match.handler(res, req, match.ctx);
	return match.endpoint;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *connection, const char *url,
	const char *method, const char *version, const char *upload_data, size_t *upload_data_size,
	void **request_state)
{
	if (*request_state == &request_new) {
		*request_state = &request_reading;
		return MHD_YES;
	}
	if (*upload_data_size > 0 && *request_state == &request_too_long) {
		*upload_data_size = 0; /* discarded: the answer is a 414 */
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		cairn_http__body *body = *request_state == &request_reading ? NULL : *request_state;
		bool ok = cairn_http__body_append(&body, upload_data, *upload_data_size);
		*request_state = body != NULL ? (void *)body : (void *)&request_reading;
		*upload_data_size = 0;
		return ok ? MHD_YES : MHD_NO;
	}
	cairn_http_server *s = cls;
	cairn_http__acceptor_request_read(connection);
	const cairn_http__body *body = is_marker(*request_state) ? NULL : *request_state;
	char peer[CAIRN_HTTP_PEER_MAX];
	format_peer(peer, connection);
	cairn_http_request req = {.method = cairn_http_method_parse(method), .peer = peer};
	cairn_http__request_attach(&req, body, connection);
	static const char no_response[] = "internal error: the endpoint produced no response\n";
	cairn_http_response res = {0};
	cairn_http_respond_static(&res, 500, CAIRN_HTTP_TEXT_PLAIN, no_response, sizeof(no_response) - 1);
	char scratch[CAIRN_HTTP_MAX_TARGET + 2]; /* a decoded target of at most MAX bytes and its NULs */
	char reason[256];
	int endpoint = CAIRN_METRICS_ENDPOINT_OTHER;
	int refused = cairn_http__policy_check(reason, sizeof(reason), &s->policy, connection, req.method,
		strcmp(version, MHD_HTTP_VERSION_1_0) != 0);
	if (*request_state == &request_too_long)
		respond_too_long(&res);
	else if (refused != 0)
		cairn_http_respond_text(&res, refused, "%s", reason);
	else if (body != NULL && body->too_large)
		cairn_http_respond_text(&res, 413, "request body too large (at most %d bytes)", CAIRN_HTTP_MAX_BODY);
	else
		endpoint = dispatch(s, &res, &req, connection, url, method, scratch, sizeof(scratch));
	cairn_metrics_http_request(endpoint, res.status);
	cairn_log_debug("http", "%s %.200s %d %s", method, url, res.status, peer);
	return send_response(s, connection, &req, strcmp(version, MHD_HTTP_VERSION_1_0) != 0, &res);
}

/* ---- library hooks ---- */

static size_t keep_escaped(void *cls, struct MHD_Connection *connection, char *s)
{
	(void)cls;
	(void)connection;
	return strlen(s);
}

static void log_from_library(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char line[512];
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\r\n")] = '\0';
	cairn_log_debug("http", "libmicrohttpd: %s", line);
}

static void on_library_panic(void *cls, const char *file, unsigned int line, const char *reason)
{
	(void)cls;
	cairn_log_error("http", "libmicrohttpd failure at %s:%u: %s", file, line, reason ? reason : "");
	abort();
}

/* ---- connections ---- */

static void on_connection(void *cls, struct MHD_Connection *connection, void **socket_state,
	enum MHD_ConnectionNotificationCode code)
{
	cairn_http_server *s = cls;
	cairn_http__acceptor_on_connection(s->acceptor, connection, socket_state, code);
}

/* ---- lifecycle ---- */

static unsigned worker_threads(unsigned requested)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned n = requested ? requested : (cpus > 0 ? (unsigned)cpus : 1);
	return n > MAX_THREADS ? MAX_THREADS : n;
}

/* Connections served at once: the open-file limit less the descriptors
 * reserved for the rest of the process, or the configured maximum when
 * lower (0 when fewer than MIN_CONNECTIONS are left).  Each event stream
 * is one connection. */
static unsigned connection_limit(const cairn_http_server_options *opts, unsigned long long *files)
{
	struct rlimit rl;
	unsigned limit;
	*files = 0;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) {
		limit = 65536;
	} else {
		*files = rl.rlim_cur;
		rlim_t usable = rl.rlim_cur > opts->reserved_fds ? rl.rlim_cur - opts->reserved_fds : 0;
		limit = usable > 1000000 ? 1000000 : usable < MIN_CONNECTIONS ? 0 : (unsigned)usable;
	}
	return opts->max_connections != 0 && opts->max_connections < limit ? opts->max_connections : limit;
}

static int start_daemon(cairn_http_server *s, const cairn_http_server_options *opts)
{
	MHD_set_panic_func(on_library_panic, NULL);
	unsigned threads = worker_threads(opts->threads);
	unsigned long long files;
	s->connection_limit = connection_limit(opts, &files);
	if (s->connection_limit == 0)
		return cairn_error_set(CAIRN_EINVALID, "the open-file limit (%llu) leaves fewer than %d descriptors for "
			"connections once %u are reserved for the stores: raise it (ulimit -n, LimitNOFILE=)", files,
			MIN_CONNECTIONS, opts->reserved_fds);
	/* The acceptor enforces the limit (with a 503).  The library's own,
	 * split evenly over its workers, only backs it up: the margin absorbs
	 * an uneven split and connections the workers have not counted yet. */
	unsigned library_limit = s->connection_limit + s->connection_limit / 4 + LIBRARY_LIMIT_MARGIN;
	unsigned per_ip = opts->max_connections_per_address == 0 ? 0
		: opts->max_connections_per_address + opts->max_connections_per_address / 4 + LIBRARY_LIMIT_MARGIN;
	s->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_ALLOW_SUSPEND_RESUME |
			MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ERROR_LOG,
		0, NULL, NULL, on_request, s,
		MHD_OPTION_EXTERNAL_LOGGER, log_from_library, NULL, /* first, so it sees every message */
		MHD_OPTION_THREAD_POOL_SIZE, threads,
		MHD_OPTION_CONNECTION_LIMIT, library_limit,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
		MHD_OPTION_CONNECTION_TIMEOUT, opts->idle_timeout_s,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
		MHD_OPTION_URI_LOG_CALLBACK, on_request_line, s,
		MHD_OPTION_NOTIFY_COMPLETED, on_request_done, s,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
		MHD_OPTION_UNESCAPE_CALLBACK, keep_escaped, NULL,
		MHD_OPTION_END);
	if (s->daemon == NULL)
		return cairn_error_set(CAIRN_ERROR, "cannot start the HTTP server on %s (see debug log)",
			cairn_http__acceptor_address(s->acceptor));
	cairn_log_info("http", "at most %u connections, event streams included (open-file limit %llu); %u threads",
		s->connection_limit, files, threads);
	cairn_http__limits limits = {s->connection_limit, opts->max_connections_per_address, opts->request_timeout_s};
	cairn_log_info("http", "at most %u connections from one address (0: no limit); a request must arrive within "
		"%u s (0: no limit)", limits.per_address, limits.request_timeout_s);
	return cairn_http__acceptor_start(s->acceptor, s->daemon, &limits);
}

int cairn_http_server_start(cairn_http_server **out, const cairn_http_router *router,
	const cairn_http_server_options *opts)
{
	cairn_http_server_options defaults = CAIRN_HTTP_SERVER_OPTIONS_INIT;
	if (opts == NULL)
		opts = &defaults;
	cairn_http_server *s = calloc(1, sizeof(*s));
	if (s == NULL || (s->node_version = strdup(opts->node_version)) == NULL) {
		free(s);
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	}
	s->router = router;
	atomic_init(&s->draining, false);
	atomic_init(&s->in_flight, 0);
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&s->idle, &attr);
	pthread_condattr_destroy(&attr);
	atomic_init(&s->streams_closed, false);
	s->policy.check_host = opts->check_host;
	s->extra_hosts = strdup(opts->allowed_hosts != NULL ? opts->allowed_hosts : "");
	s->policy.extra_hosts = s->extra_hosts;
	int rc = s->extra_hosts != NULL ? CAIRN_OK : cairn_error_set(CAIRN_ENOMEM, "out of memory");
	if (rc == CAIRN_OK)
		rc = cairn_http__acceptor_open(&s->acceptor, opts->interface, opts->port, opts->node_version);
	if (rc == CAIRN_OK)
		rc = cairn_http_fanout_start(&s->fanout, worker_threads(opts->threads));
	if (rc == CAIRN_OK)
		rc = cairn_http__pacer_start(&s->pacer);
	if (rc == CAIRN_OK)
		rc = start_daemon(s, opts);
	if (rc != CAIRN_OK) {
		cairn_http_server_free(s);
		return rc;
	}
	*out = s;
	return CAIRN_OK;
}

const char *cairn_http_server_address(const cairn_http_server *server)
{
	return cairn_http__acceptor_address(server->acceptor);
}

int cairn_http_server_port(const cairn_http_server *server)
{
	return cairn_http__acceptor_port(server->acceptor);
}

unsigned cairn_http_server_in_flight(const cairn_http_server *server)
{
	return atomic_load(&((cairn_http_server *)server)->in_flight);
}

void cairn_http_server_begin_drain(cairn_http_server *server)
{
	atomic_store(&server->draining, true);
}

/* Waits until no request is in flight or the grace period ends; returns the count left. */
static unsigned wait_idle(cairn_http_server *s, int64_t grace_ms)
{
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	int64_t ns = deadline.tv_nsec + (grace_ms > 0 ? grace_ms : 0) % 1000 * 1000000;
	deadline.tv_sec += (grace_ms > 0 ? grace_ms : 0) / 1000 + ns / 1000000000;
	deadline.tv_nsec = ns % 1000000000;
	pthread_mutex_lock(&s->lock);
	while (atomic_load(&s->in_flight) > 0 && pthread_cond_timedwait(&s->idle, &s->lock, &deadline) == 0)
		continue;
	pthread_mutex_unlock(&s->lock);
	return atomic_load(&s->in_flight);
}

unsigned cairn_http_server_shutdown(cairn_http_server *server, int64_t grace_ms)
{
	if (server->acceptor != NULL)
		cairn_http__acceptor_stop(server->acceptor);
	if (server->daemon == NULL)
		return 0;
	close_streams(server);
	unsigned left = wait_idle(server, grace_ms);
	cairn_http_fanout_stop(server->fanout); /* hands every parked connection back */
	cairn_http__pacer_stop(server->pacer);  /* resumes every paced one */
	MHD_stop_daemon(server->daemon);
	server->daemon = NULL;
	return left;
}

void cairn_http_server_free(cairn_http_server *server)
{
	if (server == NULL)
		return;
	cairn_http_server_shutdown(server, 0);
	cairn_http_fanout_free(server->fanout);
	cairn_http__pacer_free(server->pacer);
	cairn_http__acceptor_free(server->acceptor);
	pthread_cond_destroy(&server->idle);
	pthread_mutex_destroy(&server->lock);
	free(server->node_version);
	free(server->extra_hosts);
	free(server);
}
