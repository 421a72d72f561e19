/*
 * server_body.h: request bodies and reader responses on libmicrohttpd
 * (internal to src/http, used by server.c only).
 */
#ifndef CAIRN_HTTP_SERVER_BODY_H
#define CAIRN_HTTP_SERVER_BODY_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

#include "http/message.h"
#include "http/pacer.h"

/* A request body being collected, at most CAIRN_HTTP_MAX_BODY bytes. */
typedef struct cairn_http__body {
	char *data; /* NUL-terminated once collected */
	size_t len, capacity;
	bool too_large; /* the rest was discarded: the answer is a 413 */
} cairn_http__body;

/* Appends a piece (allocating the body on the first one); false when out
 * of memory. */
bool cairn_http__body_append(cairn_http__body **body, const char *data, size_t len);

void cairn_http__body_free(cairn_http__body *body);

/* Points the request at the body (NULL: none) and at the connection's
 * headers. */
void cairn_http__request_attach(cairn_http_request *req, const cairn_http__body *body,
	struct MHD_Connection *connection);

/* A libmicrohttpd response reading res->reader on `connection`, paced by
 * `pacer` when the reader has a rate; the response then owns the reader
 * (res no longer does).  NULL when it cannot be made (res still owns the
 * reader and releases it). */
struct MHD_Response *cairn_http__reader_response(cairn_http_response *res, struct MHD_Connection *connection,
	cairn_http__pacer *pacer);

#endif
