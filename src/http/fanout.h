/*
 * fanout.h: the threads that write event streams to their sockets.
 *
 * Once the HTTP library has sent a stream's response head, the server
 * parks the connection in the library and hands its socket to one fan-out
 * thread (the one with the fewest streams).  From then on the thread
 * writes the stream's pre-framed chunks to the socket directly with
 * sendmsg(2), non-blocking, and nothing else touches it: no per-event
 * wake-up, resume or callback of the library, one system call per event
 * and subscriber, as a plain write loop would do.  Bytes the client sends
 * are read and discarded; its closing the connection ends the stream.
 *
 * When the stream is over the thread calls the `done` hook once, from its
 * own thread, and never touches the socket again: `clean` when every event
 * was sent and the stream should end normally (its terminating chunk is
 * the library's to send), false when the connection must be cut (the
 * client left, fell queue_limit events behind, or the fan-out stopped).
 */
#ifndef CAIRN_HTTP_FANOUT_H
#define CAIRN_HTTP_FANOUT_H

#include <stdbool.h>

#include "http/stream.h"

typedef struct cairn_http_fanout cairn_http_fanout;

typedef void (*cairn_http_stream_done)(void *ctx, bool clean);

int cairn_http_fanout_start(cairn_http_fanout **out, unsigned threads);

/* Takes over `fd` to write `sub`'s events to it.  `peer` names the client
 * in log lines.  CAIRN_EBUSY once the fan-out is closing: nothing was taken
 * over and `done` will not be called. */
int cairn_http_fanout_add(cairn_http_fanout *fanout, cairn_http_subscriber *sub, int fd, const char *peer,
	cairn_http_stream_done done, void *ctx);

/* Ends every stream once its pending events are sent; refuses new ones. */
void cairn_http_fanout_close(cairn_http_fanout *fanout);

/* Cuts every stream still open and ends the threads: when it returns, every
 * `done` hook has run. */
void cairn_http_fanout_stop(cairn_http_fanout *fanout);

/* Stops if still running, then frees. */
void cairn_http_fanout_free(cairn_http_fanout *fanout);

#endif
