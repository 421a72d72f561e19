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
 */
#include "http/server_body.h"

#include <stdlib.h>
#include <string.h>

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

static ssize_t read_body(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	cairn_http_body_reader *r = cls;
	long n = r->read(r->ctx, buf, max);
	if (n < 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : (ssize_t)n;
}

static void free_body(void *cls)
{
	cairn_http_body_reader *r = cls;
	if (r->free != NULL)
		r->free(r->ctx);
	free(r);
}

struct MHD_Response *cairn_http__reader_response(cairn_http_response *res)
{
	cairn_http_body_reader *copy = malloc(sizeof(*copy));
	if (copy == NULL)
		return NULL;
	*copy = res->reader;
	uint64_t size = res->reader.length >= 0 ? (uint64_t)res->reader.length : MHD_SIZE_UNKNOWN;
	struct MHD_Response *r = MHD_create_response_from_callback(size, READ_BLOCK, read_body, copy, free_body);
	if (r == NULL) {
		free(copy);
		return NULL;
	}
	res->body_kind = CAIRN_HTTP_BODY_STATIC; /* the library's now */
	memset(&res->reader, 0, sizeof(res->reader));
	return r;
}
