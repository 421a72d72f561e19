/*
 * server_body.c: request bodies and reader responses (server_body.h).
 *
 * Bodies.  The library hands the body over in pieces between the call for
 * the headers and the last call; they are appended to one buffer that
 * grows by doubling up to CAIRN_HTTP_MAX_BODY.  Beyond that the rest is
 * read and dropped (answering before the body is read would close the
 * connection, see server.c), and the request is answered 413.  Requests
 * without a body allocate nothing.
 *
 * Reader responses.  The library's content reader is given a copy of the
 * handler's cairn_http_body_reader; its free callback, which the library
 * calls exactly once when the response is destroyed (also when the client
 * went away mid-body), calls the reader's own free.  A read error returns
 * MHD_CONTENT_READER_END_WITH_ERROR: the library cuts the connection, so a
 * client never takes a truncated body for a whole one.
 *
 * Paced readers (a rate_bps).  Each piece is taken from a token bucket
 * (util/ratelimit.h) of an eighth of a second's worth; while the bucket
 * is in debt the reader suspends the connection, hands it to the pacer to
 * be resumed when the debt is paid, and returns 0 (nothing yet).  A
 * suspended connection leaves the worker's poll set, so a download limited
 * to a few MB/s costs the worker nothing between its pieces.  Once the
 * pacer has stopped (shutdown), the body is sent without pacing.
 */
#include "http/server_body.h"

#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/ratelimit.h"

#define READ_BLOCK ((size_t)64 << 10)

bool cairn_http__body_append(cairn_http__body **body, const char *data, size_t len)
{
	if (*body == NULL && (*body = calloc(1, sizeof(**body))) == NULL)
		return false;
	cairn_http__body *b = *body;
	if (b->too_large || len > CAIRN_HTTP_MAX_BODY - b->len) {
		b->too_large = true;
		return true;
	}
	if (b->len + len + 1 > b->capacity) {
		size_t capacity = b->capacity ? b->capacity : 1024;
		while (capacity < b->len + len + 1)
			capacity *= 2;
		char *grown = realloc(b->data, capacity);
		if (grown == NULL)
			return false;
		b->data = grown;
		b->capacity = capacity;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return true;
}

void cairn_http__body_free(cairn_http__body *body)
{
	if (body == NULL)
		return;
	free(body->data);
	free(body);
}

static const char *lookup_header(const void *ctx, const char *name)
{
	return MHD_lookup_connection_value((struct MHD_Connection *)ctx, MHD_HEADER_KIND, name);
}

void cairn_http__request_attach(cairn_http_request *req, const cairn_http__body *body,
	struct MHD_Connection *connection)
{
	req->header_lookup = lookup_header;
	req->header_ctx = connection;
	if (body != NULL && body->data != NULL) {
		req->body = body->data;
		req->body_len = body->len;
	}
}

typedef struct reader_state {
	cairn_http_body_reader reader;
	struct MHD_Connection *connection;
	cairn_http__pacer *pacer;
	cairn_ratelimit *limit; /* NULL: not paced */
} reader_state;

static ssize_t read_body(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	reader_state *st = cls;
	if (st->limit != NULL) {
		double wait = cairn_ratelimit_take(st->limit, 0); /* the debt of the pieces before */
		if (wait > 0) {
			MHD_suspend_connection(st->connection);
			if (cairn_http__pacer_resume_later(st->pacer, st->connection, wait))
				return 0;
			MHD_resume_connection(st->connection);
			cairn_ratelimit_free(st->limit);
			st->limit = NULL;
		} else {
			max = (size_t)cairn_ratelimit_chunk(st->limit, max);
		}
	}
	long n = st->reader.read(st->reader.ctx, buf, max);
	if (n < 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (n > 0 && st->limit != NULL)
		cairn_ratelimit_take(st->limit, (uint64_t)n);
	return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : (ssize_t)n;
}

static void free_body(void *cls)
{
	reader_state *st = cls;
	if (st->reader.free != NULL)
		st->reader.free(st->reader.ctx);
	cairn_ratelimit_free(st->limit);
	free(st);
}

struct MHD_Response *cairn_http__reader_response(cairn_http_response *res, struct MHD_Connection *connection,
	cairn_http__pacer *pacer)
{
	reader_state *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return NULL;
	st->reader = res->reader;
	st->connection = connection;
	st->pacer = pacer;
	if (res->reader.rate_bps > 0 && pacer != NULL
	    && cairn_ratelimit_create(&st->limit, res->reader.rate_bps, 0) != CAIRN_OK) {
		free(st);
		return NULL;
	}
	uint64_t size = res->reader.length >= 0 ? (uint64_t)res->reader.length : MHD_SIZE_UNKNOWN;
	struct MHD_Response *r = MHD_create_response_from_callback(size, READ_BLOCK, read_body, st, free_body);
	if (r == NULL) {
		cairn_ratelimit_free(st->limit);
		free(st);
		return NULL;
	}
	res->body_kind = CAIRN_HTTP_BODY_STATIC; /* the library's now */
	memset(&res->reader, 0, sizeof(res->reader));
	return r;
}
