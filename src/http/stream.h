/*
 * stream.h: server-sent event streams: shared events, topics, subscribers.
 *
 * An event is serialized once, already framed as one HTTP chunk
 * ("<hex size>\r\nevent:NAME\ndata:DATA\n\n\r\n"), into an immutable,
 * reference-counted buffer: no copy, no allocation and no formatting per
 * subscriber, ever.
 *
 * A topic keeps its last queue_limit events in a ring, numbered by a
 * sequence.  Publishing stores one reference in the ring and wakes the
 * topic's feeds; it never touches a subscriber, so it costs the same for
 * one subscriber or ten thousand, and the caller (the node's commit path)
 * never waits for fan-out.
 *
 * A subscriber is a cursor into that sequence: the next event it has to
 * send and how many of its bytes are already sent.  A feed is one
 * fan-out thread's mirror of a topic: on each wake-up the thread copies
 * the new event references under the topic lock once, then serves all of
 * its subscribers of the topic from the mirror without locking.  A
 * subscriber more than queue_limit events behind has overflowed: it is
 * dropped, never waited for, and must reconnect.
 *
 * Closing a topic ends every stream once the events already published are
 * sent, and refuses new subscribers.
 *
 * Threads: events and topics may be used from any thread.  A subscriber is
 * used by one thread at a time (handed over with a lock); a feed belongs
 * to the thread that opened it.  The wake hook of a feed runs under the
 * topic lock and must not call back into this module.  Topics are
 * reference-counted by their subscribers and feeds, so
 * cairn_http_topic_free may be called while streams are still draining.
 */
#ifndef CAIRN_HTTP_STREAM_H
#define CAIRN_HTTP_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

typedef struct cairn_http_event cairn_http_event;
typedef struct cairn_http_topic cairn_http_topic;
typedef struct cairn_http_subscriber cairn_http_subscriber;
typedef struct cairn_http_feed cairn_http_feed;

/* Serializes one event.  `name` must be non-empty; neither it nor the `len`
 * bytes of `data` may contain CR, LF or NUL (CAIRN_EINVALID otherwise).
 * The new event has one reference. */
int cairn_http_event_create(cairn_http_event **out, const char *name, const char *data, size_t len);
cairn_http_event *cairn_http_event_ref(cairn_http_event *event);
void cairn_http_event_unref(cairn_http_event *event);
/* The event as a server-sent event, without the chunk framing. */
const char *cairn_http_event_bytes(const cairn_http_event *event, size_t *len);

typedef struct cairn_http_topic_options {
	size_t queue_limit; /* events a subscriber may have pending before it is dropped */
} cairn_http_topic_options;

#define CAIRN_HTTP_TOPIC_OPTIONS_INIT {64}

int cairn_http_topic_create(cairn_http_topic **out, const cairn_http_topic_options *opts);

/* Closes the topic and drops the caller's reference. */
void cairn_http_topic_free(cairn_http_topic *topic);

/* Queues `event` for every subscriber and returns how many there are; the
 * fan-out threads deliver it.  The caller keeps its own reference. */
size_t cairn_http_topic_publish(cairn_http_topic *topic, cairn_http_event *event);

/* Ends every stream of the topic once its queue is sent; refuses new subscribers. */
void cairn_http_topic_close(cairn_http_topic *topic);

size_t cairn_http_topic_subscriber_count(cairn_http_topic *topic);

/* ---- delivery side, used by the server's fan-out threads ---- */

/* Subscribes to every event published from now on.  `chunked` selects the
 * wire form: HTTP chunks, or the bare events of an HTTP/1.0 stream that
 * ends by closing.  CAIRN_EBUSY when the topic is closed. */
int cairn_http_subscriber_open(cairn_http_subscriber **out, cairn_http_topic *topic, bool chunked);

/* Unsubscribes and releases the subscriber. */
void cairn_http_subscriber_free(cairn_http_subscriber *sub);

cairn_http_topic *cairn_http_subscriber_topic(const cairn_http_subscriber *sub);

/* Mirrors `topic` for the calling thread; `wake(ctx)` is called, under the
 * topic lock, whenever the topic publishes or closes. */
int cairn_http_feed_open(cairn_http_feed **out, cairn_http_topic *topic, void (*wake)(void *ctx), void *ctx);
void cairn_http_feed_close(cairn_http_feed *feed);

/* Takes the references of the events published since the last sync.  True
 * once the topic is closed (no event follows then). */
bool cairn_http_feed_sync(cairn_http_feed *feed);

typedef enum {
	CAIRN_HTTP_PENDING_NONE,     /* everything synced is sent */
	CAIRN_HTTP_PENDING_DATA,     /* iov holds bytes to send */
	CAIRN_HTTP_PENDING_OVERFLOW, /* fell more than queue_limit events behind */
} cairn_http_pending;

/* Points `iov` (at most `max` entries, *count set) at the bytes `sub` has
 * yet to send, as of the last sync of `feed`, which mirrors its topic. */
cairn_http_pending cairn_http_subscriber_pending(struct iovec *iov, int *count, int max,
	const cairn_http_subscriber *sub, const cairn_http_feed *feed);

/* Records that the first `sent` bytes of the last pending() were sent. */
void cairn_http_subscriber_advance(cairn_http_subscriber *sub, const cairn_http_feed *feed, size_t sent);

#endif
