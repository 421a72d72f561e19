/*
 * stream.c: events, topics, subscribers and feeds for stream.h.
 *
 * Sequence numbers are 64-bit and never wrap.  A topic's ring holds the
 * events numbered [next - queue_limit, next) (fewer at the start) in slot
 * seq % queue_limit; a feed's ring holds the same window as of its last
 * sync, [seen - queue_limit, seen), each slot with its own reference, so
 * a publish that overwrites a topic slot never frees an event a fan-out
 * thread is still writing.
 *
 * Invariants:
 *  - a subscriber's pending events are [cursor, seen) of the feed that
 *    serves it; `offset` bytes of the first are already sent.  More than
 *    queue_limit pending events is an overflow: the older ones are gone.
 *  - a subscriber opened after the feed's last sync has cursor >= seen:
 *    nothing pending until the next sync.
 *  - under the topic lock: the ring, `next`, `closed`, `count` and the list
 *    of feeds.  Each subscriber and each feed holds one topic reference.
 */
#include "http/stream.h"
#include "http/list.h"
#include "metrics/metrics.h"
#include "util/error.h"
#include "util/log.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_EVENT_DATA (64u * 1024 * 1024)
#define TRACED_DATA 96 /* bytes of an event's data in its debug line: enough to tell events apart */

struct cairn_http_event {
	atomic_size_t refs;
	size_t len;     /* the whole chunk */
	size_t sse;     /* where the event starts, after the chunk size line */
	size_t sse_len; /* the event without the chunk framing */
	size_t data;    /* where its data starts */
	char bytes[];
};

struct cairn_http_topic {
	pthread_mutex_t lock;
	atomic_size_t refs; /* the creator's, plus one per subscriber and per feed */
	bool closed;
	size_t queue_limit;
	size_t count; /* subscribers */
	uint64_t next;
	cairn_http_link *feeds;
	cairn_http_event *ring[];
};

struct cairn_http_subscriber {
	cairn_http_topic *topic;
	uint64_t cursor;
	size_t offset;
	bool chunked;
};

struct cairn_http_feed {
	cairn_http_topic *topic;
	cairn_http_link link; /* in topic->feeds */
	void (*wake)(void *ctx);
	void *ctx;
	uint64_t seen;
	cairn_http_event *ring[];
};

/* ---- events ---- */

static char *append(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

int cairn_http_event_create(cairn_http_event **out, const char *name, const char *data, size_t len)
{
	size_t name_len = strlen(name);
	if (name_len == 0 || strpbrk(name, "\r\n") != NULL || memchr(data, '\n', len) || memchr(data, '\r', len) ||
	    memchr(data, '\0', len))
		return cairn_error_set(CAIRN_EINVALID, "an event needs a name, and its name and data must be single lines");
	if (len > MAX_EVENT_DATA || name_len > MAX_EVENT_DATA)
		return cairn_error_set(CAIRN_EINVALID, "event too large (%zu bytes of data)", len);
	size_t sse_len = strlen("event:\ndata:\n\n") + name_len + len;
	char size_line[24];
	int size_len = snprintf(size_line, sizeof(size_line), "%zx\r\n", sse_len);
	cairn_http_event *ev = malloc(sizeof(*ev) + (size_t)size_len + sse_len + 2);
	if (ev == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	char *p = append(ev->bytes, size_line, (size_t)size_len);
	p = append(p, "event:", 6);
	p = append(p, name, name_len);
	p = append(p, "\ndata:", 6);
	ev->data = (size_t)(p - ev->bytes);
	p = append(p, data, len);
	p = append(p, "\n\n\r\n", 4);
	atomic_init(&ev->refs, 1);
	ev->len = (size_t)(p - ev->bytes);
	ev->sse = (size_t)size_len;
	ev->sse_len = sse_len;
	*out = ev;
	return CAIRN_OK;
}

cairn_http_event *cairn_http_event_ref(cairn_http_event *event)
{
	atomic_fetch_add_explicit(&event->refs, 1, memory_order_relaxed);
	return event;
}

void cairn_http_event_unref(cairn_http_event *event)
{
	if (event && atomic_fetch_sub_explicit(&event->refs, 1, memory_order_acq_rel) == 1)
		free(event);
}

const char *cairn_http_event_bytes(const cairn_http_event *event, size_t *len)
{
	*len = event->sse_len;
	return event->bytes + event->sse;
}

/* ---- topics ---- */

int cairn_http_topic_create(cairn_http_topic **out, const cairn_http_topic_options *opts)
{
	cairn_http_topic_options defaults = CAIRN_HTTP_TOPIC_OPTIONS_INIT;
	if (opts == NULL)
		opts = &defaults;
	if (opts->queue_limit == 0 || opts->queue_limit > 65536)
		return cairn_error_set(CAIRN_EINVALID, "a topic's queue limit must be between 1 and 65536");
	cairn_http_topic *t = calloc(1, sizeof(*t) + opts->queue_limit * sizeof(t->ring[0]));
	if (t == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	pthread_mutex_init(&t->lock, NULL);
	atomic_init(&t->refs, 1);
	t->queue_limit = opts->queue_limit;
	*out = t;
	return CAIRN_OK;
}

static void topic_unref(cairn_http_topic *topic)
{
	if (atomic_fetch_sub_explicit(&topic->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (size_t i = 0; i < topic->queue_limit; i++)
		cairn_http_event_unref(topic->ring[i]);
	pthread_mutex_destroy(&topic->lock);
	free(topic);
}

void cairn_http_topic_free(cairn_http_topic *topic)
{
	if (topic == NULL)
		return;
	cairn_http_topic_close(topic);
	topic_unref(topic);
}

/* Topic lock held. */
static void wake_feeds_locked(cairn_http_topic *topic)
{
	for (cairn_http_link *l = topic->feeds; l; l = l->next) {
		cairn_http_feed *feed = CAIRN_HTTP_CONTAINER(l, cairn_http_feed, link);
		feed->wake(feed->ctx);
	}
}

/* One debug line per event: its sequence number, the moment it was
 * published (CLOCK_MONOTONIC, taken before the fan-out threads are woken,
 * so fan-out latency can be measured against it) and how its data starts. */
static void trace_publish(const cairn_http_event *event, uint64_t seq, size_t subscribers, struct timespec now)
{
	size_t data_len = event->sse + event->sse_len - 2 - event->data;
	cairn_log_debug("http", "event %" PRIu64 " published to %zu subscribers at %lld.%09ld: %.*s", seq, subscribers,
		(long long)now.tv_sec, now.tv_nsec, (int)(data_len < TRACED_DATA ? data_len : TRACED_DATA),
		event->bytes + event->data);
}

size_t cairn_http_topic_publish(cairn_http_topic *topic, cairn_http_event *event)
{
	bool tracing = cairn_log_get_level() <= CAIRN_LOG_DEBUG;
	struct timespec now = {0, 0};
	if (tracing)
		clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&topic->lock);
	size_t subscribers = 0;
	uint64_t seq = topic->next;
	bool published = !topic->closed;
	if (published) {
		cairn_http_event **slot = &topic->ring[topic->next++ % topic->queue_limit];
		cairn_http_event_unref(*slot);
		*slot = cairn_http_event_ref(event);
		subscribers = topic->count;
		wake_feeds_locked(topic);
	}
	pthread_mutex_unlock(&topic->lock);
	if (published && tracing)
		trace_publish(event, seq, subscribers, now);
	return subscribers;
}

void cairn_http_topic_close(cairn_http_topic *topic)
{
	pthread_mutex_lock(&topic->lock);
	if (!topic->closed) {
		topic->closed = true;
		wake_feeds_locked(topic);
	}
	pthread_mutex_unlock(&topic->lock);
}

size_t cairn_http_topic_subscriber_count(cairn_http_topic *topic)
{
	pthread_mutex_lock(&topic->lock);
	size_t n = topic->count;
	pthread_mutex_unlock(&topic->lock);
	return n;
}

/* ---- subscribers ---- */

int cairn_http_subscriber_open(cairn_http_subscriber **out, cairn_http_topic *topic, bool chunked)
{
	cairn_http_subscriber *sub = calloc(1, sizeof(*sub));
	if (sub == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	pthread_mutex_lock(&topic->lock);
	bool closed = topic->closed;
	if (!closed) {
		topic->count++;
		atomic_fetch_add_explicit(&topic->refs, 1, memory_order_relaxed);
		sub->cursor = topic->next;
	}
	pthread_mutex_unlock(&topic->lock);
	if (closed) {
		free(sub);
		return cairn_error_set(CAIRN_EBUSY, "the event stream is closed");
	}
	sub->topic = topic;
	sub->chunked = chunked;
	cairn_metrics_stream_subscribers_add(1);
	*out = sub;
	return CAIRN_OK;
}

void cairn_http_subscriber_free(cairn_http_subscriber *sub)
{
	if (sub == NULL)
		return;
	cairn_http_topic *topic = sub->topic;
	pthread_mutex_lock(&topic->lock);
	topic->count--;
	pthread_mutex_unlock(&topic->lock);
	cairn_metrics_stream_subscribers_add(-1);
	free(sub);
	topic_unref(topic);
}

cairn_http_topic *cairn_http_subscriber_topic(const cairn_http_subscriber *sub)
{
	return sub->topic;
}

/* The bytes of `ev` this subscriber sends. */
static struct iovec wire(const cairn_http_subscriber *sub, const cairn_http_event *ev)
{
	if (sub->chunked)
		return (struct iovec){(void *)ev->bytes, ev->len};
	return (struct iovec){(void *)(ev->bytes + ev->sse), ev->sse_len};
}

cairn_http_pending cairn_http_subscriber_pending(struct iovec *iov, int *count, int max,
	const cairn_http_subscriber *sub, const cairn_http_feed *feed)
{
	*count = 0;
	if (sub->cursor >= feed->seen)
		return CAIRN_HTTP_PENDING_NONE;
	size_t limit = sub->topic->queue_limit; /* fixed at creation: no lock needed */
	if (feed->seen - sub->cursor > limit)
		return CAIRN_HTTP_PENDING_OVERFLOW;
	size_t skip = sub->offset;
	for (uint64_t seq = sub->cursor; seq < feed->seen && *count < max; seq++) {
		struct iovec v = wire(sub, feed->ring[seq % limit]);
		v.iov_base = (char *)v.iov_base + skip;
		v.iov_len -= skip;
		skip = 0;
		iov[(*count)++] = v;
	}
	return CAIRN_HTTP_PENDING_DATA;
}

void cairn_http_subscriber_advance(cairn_http_subscriber *sub, const cairn_http_feed *feed, size_t sent)
{
	size_t limit = sub->topic->queue_limit;
	while (sent > 0) {
		size_t left = wire(sub, feed->ring[sub->cursor % limit]).iov_len - sub->offset;
		if (sent < left) {
			sub->offset += sent;
			return;
		}
		sent -= left;
		sub->cursor++;
		sub->offset = 0;
	}
}

/* ---- feeds ---- */

int cairn_http_feed_open(cairn_http_feed **out, cairn_http_topic *topic, void (*wake)(void *ctx), void *ctx)
{
	cairn_http_feed *feed = calloc(1, sizeof(*feed) + topic->queue_limit * sizeof(feed->ring[0]));
	if (feed == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	feed->topic = topic;
	feed->wake = wake;
	feed->ctx = ctx;
	pthread_mutex_lock(&topic->lock);
	atomic_fetch_add_explicit(&topic->refs, 1, memory_order_relaxed);
	feed->seen = topic->next > topic->queue_limit ? topic->next - topic->queue_limit : 0;
	cairn_http_list_push(&topic->feeds, &feed->link);
	pthread_mutex_unlock(&topic->lock);
	*out = feed;
	return CAIRN_OK;
}

void cairn_http_feed_close(cairn_http_feed *feed)
{
	if (feed == NULL)
		return;
	cairn_http_topic *topic = feed->topic;
	pthread_mutex_lock(&topic->lock);
	cairn_http_list_remove(&topic->feeds, &feed->link);
	pthread_mutex_unlock(&topic->lock);
	for (size_t i = 0; i < topic->queue_limit; i++)
		cairn_http_event_unref(feed->ring[i]);
	free(feed);
	topic_unref(topic);
}

bool cairn_http_feed_sync(cairn_http_feed *feed)
{
	cairn_http_topic *topic = feed->topic;
	size_t limit = topic->queue_limit;
	pthread_mutex_lock(&topic->lock);
	uint64_t next = topic->next;
	uint64_t from = next - feed->seen > limit ? next - limit : feed->seen;
	for (uint64_t seq = from; seq < next; seq++) {
		cairn_http_event **slot = &feed->ring[seq % limit];
		cairn_http_event_unref(*slot);
		*slot = cairn_http_event_ref(topic->ring[seq % limit]);
	}
	feed->seen = next;
	bool closed = topic->closed;
	pthread_mutex_unlock(&topic->lock);
	return closed;
}
