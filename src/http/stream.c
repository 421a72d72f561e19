/*
 * stream.c: events, topics and subscriber queues for stream.h.
 *
 * Each subscriber owns a ring of event pointers sized once at subscription
 * (queue_limit entries), so publishing costs one lock, one reference count
 * increment and, for a parked connection, one resume per subscriber.  The
 * ring head may be partly sent: `offset` counts its bytes already copied.
 *
 * Invariants, under the subscriber lock:
 *  - `waiting` is true exactly while the connection is parked by our
 *    suspend hook; whoever clears it calls resume once.  Only an empty
 *    queue parks, and the first event queued wakes it.
 *  - an overflowed subscriber receives nothing more; its reader reports
 *    CAIRN_HTTP_STREAM_OVERFLOW and the server drops the connection, which
 *    the drop hook has already cut if it was not parked.
 *  - the drop hook runs while the subscriber is still in its topic's list,
 *    so the connection it names has not been torn down yet.
 *  - a closed subscriber never parks again: it sends what is queued, then ends.
 * The topic list (under the topic lock) holds every open subscriber; each
 * holds one topic reference, released by cairn_http_subscriber_free.
 */
#include "http/stream.h"
#include "http/list.h"
#include "util/error.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cairn_http_event {
	atomic_size_t refs;
	size_t len;
	char bytes[];
};

struct cairn_http_topic {
	pthread_mutex_t lock;
	atomic_size_t refs; /* the creator's, plus one per subscriber */
	bool closed;
	size_t queue_limit;
	size_t count;
	cairn_http_link *subscribers;
};

struct cairn_http_subscriber {
	pthread_mutex_t lock;
	cairn_http_topic *topic;
	cairn_http_link link; /* in topic->subscribers, under the topic lock */
	cairn_http_stream_hooks hooks;
	bool waiting, closed, overflowed;
	size_t capacity, head, count, offset;
	cairn_http_event *ring[];
};

/* ---- events ---- */

int cairn_http_event_create(cairn_http_event **out, const char *name, const char *data, size_t len)
{
	size_t name_len = strlen(name);
	if (name_len == 0 || strpbrk(name, "\r\n") != NULL || memchr(data, '\n', len) || memchr(data, '\r', len) ||
	    memchr(data, '\0', len))
		return cairn_error_set(CAIRN_EINVALID, "an event needs a name, and its name and data must be single lines");
	if (len > INT_MAX / 2)
		return cairn_error_set(CAIRN_EINVALID, "event data too large (%zu bytes)", len);
	static const char format[] = "event:%s\ndata:%.*s\n\n";
	size_t total = strlen("event:\ndata:\n\n") + name_len + len;
	cairn_http_event *ev = malloc(sizeof(*ev) + total + 1);
	if (ev == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	snprintf(ev->bytes, total + 1, format, name, (int)len, data);
	atomic_init(&ev->refs, 1);
	ev->len = total;
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
	*len = event->len;
	return event->bytes;
}

/* ---- topics ---- */

int cairn_http_topic_create(cairn_http_topic **out, const cairn_http_topic_options *opts)
{
	cairn_http_topic_options defaults = CAIRN_HTTP_TOPIC_OPTIONS_INIT;
	if (opts == NULL)
		opts = &defaults;
	if (opts->queue_limit == 0)
		return cairn_error_set(CAIRN_EINVALID, "a topic needs a queue limit of at least 1");
	cairn_http_topic *t = calloc(1, sizeof(*t));
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

/* Clears `waiting` and wakes the connection; subscriber lock held. */
static void wake_locked(cairn_http_subscriber *sub)
{
	if (!sub->waiting)
		return;
	sub->waiting = false;
	sub->hooks.resume(sub->hooks.ctx);
}

static bool enqueue(cairn_http_subscriber *sub, cairn_http_event *event)
{
	pthread_mutex_lock(&sub->lock);
	bool queued = false;
	if (!sub->closed && !sub->overflowed) {
		if (sub->count < sub->capacity) {
			sub->ring[(sub->head + sub->count++) % sub->capacity] = cairn_http_event_ref(event);
			queued = true;
			wake_locked(sub);
		} else {
			sub->overflowed = true;
			sub->hooks.drop(sub->hooks.ctx); /* a full queue is never parked */
		}
	}
	pthread_mutex_unlock(&sub->lock);
	return queued;
}

size_t cairn_http_topic_publish(cairn_http_topic *topic, cairn_http_event *event)
{
	size_t delivered = 0;
	pthread_mutex_lock(&topic->lock);
	if (!topic->closed)
		for (cairn_http_link *l = topic->subscribers; l; l = l->next)
			delivered += enqueue(CAIRN_HTTP_CONTAINER(l, cairn_http_subscriber, link), event);
	pthread_mutex_unlock(&topic->lock);
	return delivered;
}

void cairn_http_topic_close(cairn_http_topic *topic)
{
	pthread_mutex_lock(&topic->lock);
	topic->closed = true;
	for (cairn_http_link *l = topic->subscribers; l; l = l->next)
		cairn_http_subscriber_close(CAIRN_HTTP_CONTAINER(l, cairn_http_subscriber, link));
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

int cairn_http_subscriber_open(cairn_http_subscriber **out, cairn_http_topic *topic,
	const cairn_http_stream_hooks *hooks)
{
	cairn_http_subscriber *sub = calloc(1, sizeof(*sub) + topic->queue_limit * sizeof(sub->ring[0]));
	if (sub == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	pthread_mutex_init(&sub->lock, NULL);
	sub->hooks = *hooks;
	sub->capacity = topic->queue_limit;
	sub->topic = topic;
	pthread_mutex_lock(&topic->lock);
	if (topic->closed) {
		pthread_mutex_unlock(&topic->lock);
		pthread_mutex_destroy(&sub->lock);
		free(sub);
		return cairn_error_set(CAIRN_EBUSY, "the event stream is closed");
	}
	cairn_http_list_push(&topic->subscribers, &sub->link);
	topic->count++;
	atomic_fetch_add_explicit(&topic->refs, 1, memory_order_relaxed);
	pthread_mutex_unlock(&topic->lock);
	*out = sub;
	return CAIRN_OK;
}

/* Copies from the ring head onwards; subscriber lock held. */
static size_t drain_locked(cairn_http_subscriber *sub, char *buf, size_t max)
{
	size_t copied = 0;
	while (sub->count > 0 && copied < max) {
		cairn_http_event *ev = sub->ring[sub->head];
		size_t n = ev->len - sub->offset;
		if (n > max - copied)
			n = max - copied;
		memcpy(buf + copied, ev->bytes + sub->offset, n);
		copied += n;
		sub->offset += n;
		if (sub->offset == ev->len) {
			cairn_http_event_unref(ev);
			sub->head = (sub->head + 1) % sub->capacity;
			sub->count--;
			sub->offset = 0;
		}
	}
	return copied;
}

cairn_http_stream_status cairn_http_subscriber_read(size_t *len, cairn_http_subscriber *sub,
	char *buf, size_t max)
{
	cairn_http_stream_status status;
	pthread_mutex_lock(&sub->lock);
	*len = sub->overflowed ? 0 : drain_locked(sub, buf, max);
	if (sub->overflowed) {
		status = CAIRN_HTTP_STREAM_OVERFLOW;
	} else if (*len > 0) {
		status = CAIRN_HTTP_STREAM_DATA;
	} else if (sub->closed) {
		status = CAIRN_HTTP_STREAM_END;
	} else {
		sub->waiting = true;
		sub->hooks.suspend(sub->hooks.ctx);
		status = CAIRN_HTTP_STREAM_WAIT;
	}
	pthread_mutex_unlock(&sub->lock);
	return status;
}

void cairn_http_subscriber_close(cairn_http_subscriber *sub)
{
	pthread_mutex_lock(&sub->lock);
	sub->closed = true;
	wake_locked(sub);
	pthread_mutex_unlock(&sub->lock);
}

void cairn_http_subscriber_free(cairn_http_subscriber *sub)
{
	if (sub == NULL)
		return;
	cairn_http_topic *topic = sub->topic;
	pthread_mutex_lock(&topic->lock);
	cairn_http_list_remove(&topic->subscribers, &sub->link);
	topic->count--;
	pthread_mutex_unlock(&topic->lock);
	while (sub->count > 0) {
		cairn_http_event_unref(sub->ring[sub->head]);
		sub->head = (sub->head + 1) % sub->capacity;
		sub->count--;
	}
	pthread_mutex_destroy(&sub->lock);
	free(sub);
	topic_unref(topic);
}
