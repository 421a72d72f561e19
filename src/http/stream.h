/*
 * stream.h: server-sent event streams: shared events, topics, subscribers.
 *
 * An event is serialized once ("event:NAME\ndata:DATA\n\n") into an
 * immutable, reference-counted buffer.  A topic fans each published event
 * out to its subscribers by pushing one reference into each subscriber's
 * bounded queue: no copy, no allocation and no formatting per subscriber.
 *
 * A subscriber is one streaming connection.  The server drains its queue
 * into the connection; when the queue is empty the subscriber parks the
 * connection through its `suspend` hook, and the next publish (or a close)
 * wakes it through `resume`.  Both hooks run under the subscriber's lock,
 * so a suspend and the resume that answers it can never cross.
 *
 * The publisher never waits for a subscriber: a subscriber whose queue is
 * full when an event arrives is marked overflowed and its connection is
 * dropped at once through the `drop` hook (a full queue is never parked:
 * typically the connection is blocked on a full socket); it must reconnect.  Closing a topic (or the server) ends every
 * stream after the events already queued.
 *
 * Locks: topic before subscriber; hooks are called with the subscriber lock
 * held and must not call back into this module.  Topics are
 * reference-counted by their subscribers, so cairn_http_topic_free may be
 * called while connections are still draining.
 */
#ifndef CAIRN_HTTP_STREAM_H
#define CAIRN_HTTP_STREAM_H

#include <stdbool.h>
#include <stddef.h>

typedef struct cairn_http_event cairn_http_event;
typedef struct cairn_http_topic cairn_http_topic;
typedef struct cairn_http_subscriber cairn_http_subscriber;

/* Serializes one event.  `name` must be non-empty; neither it nor the `len`
 * bytes of `data` may contain CR, LF or NUL (CAIRN_EINVALID otherwise).
 * The new event has one reference. */
int cairn_http_event_create(cairn_http_event **out, const char *name, const char *data, size_t len);
cairn_http_event *cairn_http_event_ref(cairn_http_event *event);
void cairn_http_event_unref(cairn_http_event *event);
/* The wire bytes of the event. */
const char *cairn_http_event_bytes(const cairn_http_event *event, size_t *len);

typedef struct cairn_http_topic_options {
	size_t queue_limit; /* events a subscriber may have pending before it is dropped */
} cairn_http_topic_options;

#define CAIRN_HTTP_TOPIC_OPTIONS_INIT {64}

int cairn_http_topic_create(cairn_http_topic **out, const cairn_http_topic_options *opts);

/* Closes the topic and drops the caller's reference. */
void cairn_http_topic_free(cairn_http_topic *topic);

/* Queues `event` for every subscriber; returns how many received it.  The
 * caller keeps its own reference. */
size_t cairn_http_topic_publish(cairn_http_topic *topic, cairn_http_event *event);

/* Ends every stream of the topic once its queue is sent; refuses new subscribers. */
void cairn_http_topic_close(cairn_http_topic *topic);

size_t cairn_http_topic_subscriber_count(cairn_http_topic *topic);

/* ---- subscriber side, used by the server for each streaming connection ---- */

typedef struct cairn_http_stream_hooks {
	void (*suspend)(void *ctx); /* park the connection: nothing to send */
	void (*resume)(void *ctx);  /* wake a parked connection */
	void (*drop)(void *ctx);    /* disconnect now; the connection is not parked */
	void *ctx;
} cairn_http_stream_hooks;

/* Subscribes to `topic`.  CAIRN_EBUSY when the topic is closed. */
int cairn_http_subscriber_open(cairn_http_subscriber **out, cairn_http_topic *topic,
	const cairn_http_stream_hooks *hooks);

typedef enum {
	CAIRN_HTTP_STREAM_DATA,     /* bytes were copied */
	CAIRN_HTTP_STREAM_WAIT,     /* nothing queued; the suspend hook was called */
	CAIRN_HTTP_STREAM_END,      /* closed and fully sent */
	CAIRN_HTTP_STREAM_OVERFLOW, /* fell queue_limit events behind: drop the connection */
} cairn_http_stream_status;

/* Copies up to `max` queued bytes into `buf`; *len is the count. */
cairn_http_stream_status cairn_http_subscriber_read(size_t *len, cairn_http_subscriber *sub,
	char *buf, size_t max);

/* Ends the stream once its queue is sent, waking a parked connection. */
void cairn_http_subscriber_close(cairn_http_subscriber *sub);

/* Unsubscribes and releases everything still queued. */
void cairn_http_subscriber_free(cairn_http_subscriber *sub);

#endif
