/*
 * server_accept.h: the listener, the acceptor thread and the connection
 * book of the HTTP server (internal to src/http, used by server.c only).
 *
 * The acceptor binds the listening socket itself, accepts connections and
 * hands them to libmicrohttpd, or answers them with a complete 503 of its
 * own: beyond the server's connection limit, beyond the per-address limit,
 * or when descriptors run out.  It keeps a book of the open connections
 * (from the library's connection notifications): the count per address,
 * and when each began waiting for its current request.  A connection whose
 * request (head and body) has not fully arrived within the request timeout
 * of its opening, or of the end of its previous response, is answered 408
 * and shut down: one byte every few seconds no longer holds a connection
 * forever.  An idle keep-alive connection is therefore closed after the
 * request timeout too.
 */
#ifndef CAIRN_HTTP_SERVER_ACCEPT_H
#define CAIRN_HTTP_SERVER_ACCEPT_H

#include <microhttpd.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "http/message.h"

typedef struct cairn_http__acceptor cairn_http__acceptor;

typedef struct cairn_http__limits {
	unsigned connections;       /* open at once, all addresses */
	unsigned per_address;       /* open at once from one IP address; 0: no limit */
	unsigned request_timeout_s; /* to receive a whole request; 0: none */
} cairn_http__limits;

/* Binds and listens on interface:port (0 picks a port). */
int cairn_http__acceptor_open(cairn_http__acceptor **out, const char *interface, int port,
	const char *node_version);

/* "127.0.0.1:41234" or "[::1]:41234", and the port, as bound. */
const char *cairn_http__acceptor_address(const cairn_http__acceptor *a);
int cairn_http__acceptor_port(const cairn_http__acceptor *a);

/* Starts the thread that accepts into `daemon` within `limits`. */
int cairn_http__acceptor_start(cairn_http__acceptor *a, struct MHD_Daemon *daemon, const cairn_http__limits *limits);

/* Ends the thread and closes the listener: new connections are refused. */
void cairn_http__acceptor_stop(cairn_http__acceptor *a);

/* Stops (if needed) and frees; the library must have stopped. */
void cairn_http__acceptor_free(cairn_http__acceptor *a);

/* The library's connection notification (MHD_OPTION_NOTIFY_CONNECTION). */
void cairn_http__acceptor_on_connection(cairn_http__acceptor *a, struct MHD_Connection *connection,
	void **socket_state, enum MHD_ConnectionNotificationCode code);

/* The connection's request has fully arrived: its deadline no longer runs. */
void cairn_http__acceptor_request_read(struct MHD_Connection *connection);

/* Its response is sent: the deadline of the next request starts now. */
void cairn_http__acceptor_request_done(struct MHD_Connection *connection);

/* "1.2.3.4:5678" or "[::1]:5678" (CAIRN_HTTP_PEER_MAX bytes with the NUL). */
void cairn_http__format_address(char *out, const struct sockaddr *sa);

/* The value of x-server-timestamp (UNIX seconds), formatted once per second and thread. */
const char *cairn_http__timestamp(void);

#endif
