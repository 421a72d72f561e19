/*
 * server.h: the HTTP server: a listener, worker threads and the router.
 *
 * The server owns all contact with the HTTP library.  For every request it
 * builds a cairn_http_request, runs the routed handler (or answers 400, 404,
 * 405 or 414 itself) and sends the response with the headers every cairn
 * response carries, errors included:
 *   x-peer-addr              the client's address and port as seen here
 *   x-server-timestamp       UNIX seconds
 *   x-chainweb-node-version  options.node_version
 * Request bodies are read and discarded: no endpoint takes one.
 *
 * Capacity: at most `max_connections` connections at once, by default the
 * open-file limit less `reserved_fds`, the descriptors the rest of the
 * process may hold (each event stream holds one connection).  A limit that
 * leaves fewer than 16 connections is refused at start.  At most
 * `max_connections_per_address` come from one IP address, and a request
 * (head and body) must arrive within `request_timeout_s` of the
 * connection's opening or of the previous response (else 408 and a close;
 * server_accept.h).  A connection beyond the limit, or one arriving when descriptors
 * run out, gets a complete 503 from the server itself and is closed: never
 * a silent close or a hang.  The limit is logged at start.
 *
 * Event streams are written by the fan-out threads of fanout.h once their
 * response head is sent.
 *
 * Shutdown is graceful and bounded: cairn_http_server_begin_drain() makes
 * every later response close its connection; cairn_http_server_shutdown()
 * stops accepting, ends every event stream, lets requests already in flight
 * (those whose request line has arrived) finish until the deadline, then
 * closes whatever remains.
 */
#ifndef CAIRN_HTTP_SERVER_H
#define CAIRN_HTTP_SERVER_H

#include <stdint.h>

#include "http/router.h"

typedef struct cairn_http_server cairn_http_server;

typedef struct cairn_http_server_options {
	const char *interface;     /* IPv4 or IPv6 literal */
	int port;                  /* 0 picks a free port */
	unsigned threads;          /* worker threads; 0 means one per online CPU */
	unsigned idle_timeout_s;   /* close connections idle this long; 0 never */
	const char *node_version;  /* value of x-chainweb-node-version */
	unsigned max_connections;  /* 0: as many as the open-file limit allows */
	unsigned reserved_fds;     /* descriptors left to the rest of the process */
	unsigned max_connections_per_address; /* from one IP address; 0: no limit */
	unsigned request_timeout_s; /* a whole request must arrive within this; 0: no limit */
	bool check_host;           /* refuse foreign Host and cross-origin writes (server_policy.h) */
	const char *allowed_hosts; /* comma-separated names accepted besides IP literals and localhost */
} cairn_http_server_options;

#define CAIRN_HTTP_SERVER_OPTIONS_INIT {"127.0.0.1", 0, 0, 30, CAIRN_VERSION, 0, 256, 0, 10, false, NULL}

/* Binds, listens and starts serving `router`, which must outlive the server.
 * A port already in use is CAIRN_EBUSY with a message naming the address. */
int cairn_http_server_start(cairn_http_server **out, const cairn_http_router *router,
	const cairn_http_server_options *opts);

/* The bound address, "127.0.0.1:41234" or "[::1]:41234", and port. */
const char *cairn_http_server_address(const cairn_http_server *server);
int cairn_http_server_port(const cairn_http_server *server);

/* Requests between their request line and their completion (streams included). */
unsigned cairn_http_server_in_flight(const cairn_http_server *server);

/* From now on every response carries "Connection: close". */
void cairn_http_server_begin_drain(cairn_http_server *server);

/* Stops accepting, closes every event stream, waits until no request is in
 * flight or `grace_ms` milliseconds have passed, then stops the workers.
 * Returns the number of requests still in flight when it stopped them. */
unsigned cairn_http_server_shutdown(cairn_http_server *server, int64_t grace_ms);

/* Shuts down without grace if still running, then frees. */
void cairn_http_server_free(cairn_http_server *server);

#endif
