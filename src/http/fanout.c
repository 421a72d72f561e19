/*
 * fanout.c: fanout.h with one epoll loop per thread.
 *
 * Each thread owns its streams outright: only the thread reads or writes
 * their state and sockets, so the write path takes no lock.  A stream
 * reaches its thread through the thread's inbox (under the thread's lock)
 * and an eventfd wake-up; the topics it follows wake the thread through
 * the same eventfd.  On each wake-up the thread adopts its inbox, then,
 * per topic it serves, syncs its feed once (one topic lock) and writes
 * what is pending to every stream of that topic.
 *
 * Sockets are registered edge-triggered for input, output and the peer's
 * hang-up, once, at adoption.  An idle socket therefore costs nothing: no
 * epoll_ctl per event and no wake-up until the client sends, leaves, or
 * frees space in a socket that was full.  A stream whose socket is full
 * just stays behind: its cursor does not move, the next writable edge or
 * wake-up resumes it, and a publish that leaves it more than queue_limit
 * events behind drops it.
 *
 * Invariants:
 *  - a stream is in exactly one place: its thread's inbox, or the stream
 *    list of its thread's feed for its topic (and then in the epoll set).
 *  - a feed is open exactly while some stream of its thread follows its
 *    topic; idle feeds are released only between passes over the lists.
 *  - `done` runs once per adopted stream, after the socket left the epoll
 *    set; the stream is freed right after.
 *  - streams ended while walking a list are only ever the current element.
 */
#include "http/fanout.h"
#include "http/list.h"
#include "http/message.h"
#include "metrics/metrics.h"
#include "util/error.h"
#include "util/log.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_THREADS 16
#define EVENT_BATCH 256
#define IOV_BATCH 16            /* events written by one sendmsg */
#define DISCARD_LIMIT (64 * 1024) /* bytes read from a client per wake-up before it is cut off */
/* A stream socket's send buffer (Linux doubles it for its bookkeeping).
 * Left to autotuning it grows to tcp_wmem's maximum, 4 MB by default: 200
 * subscribers that never read held 3 MB of kernel memory each before they
 * were dropped, 14 s after they stopped at 40 blocks/s.  Capped, a stalled
 * client holds at most this (and its share of the queue_limit events) and
 * is dropped a few seconds sooner; a reader keeping up never fills it. */
#define STREAM_SNDBUF (64 * 1024)

typedef struct worker worker;

typedef struct topic_feed {
	cairn_http_link link; /* in worker->feeds */
	cairn_http_feed *feed;
	cairn_http_topic *topic;
	cairn_http_link *streams;
	bool final; /* synced for the last time (topic closed, or fan-out closing): streams end once sent */
} topic_feed;

typedef struct stream {
	cairn_http_link link; /* in the inbox, then in feed->streams */
	cairn_http_subscriber *sub;
	topic_feed *feed;
	int fd;
	cairn_http_stream_done done;
	void *ctx;
	char peer[CAIRN_HTTP_PEER_MAX];
} stream;

struct worker {
	cairn_http_fanout *fanout;
	pthread_t thread;
	bool running;
	int epoll_fd, wake_fd;
	atomic_uint streams;    /* adopted or in the inbox, for balancing */
	pthread_mutex_t lock;   /* guards inbox */
	cairn_http_link *inbox;
	cairn_http_link *feeds; /* the thread's own */
};

struct cairn_http_fanout {
	pthread_mutex_t lock; /* orders additions against closing */
	atomic_bool closing, stopping;
	unsigned count;
	worker workers[MAX_THREADS];
};

static void wake_worker(void *ctx)
{
	worker *w = ctx;
	uint64_t one = 1;
	ssize_t ignored = write(w->wake_fd, &one, sizeof(one)); /* fails only when the counter is saturated */
	(void)ignored;
}

/* ---- ending streams and feeds ---- */

static void release_stream(worker *w, stream *s, bool clean)
{
	atomic_fetch_sub_explicit(&w->streams, 1, memory_order_relaxed);
	s->done(s->ctx, clean);
	free(s);
}

static void end_stream(worker *w, stream *s, bool clean)
{
	epoll_ctl(w->epoll_fd, EPOLL_CTL_DEL, s->fd, NULL);
	cairn_http_list_remove(&s->feed->streams, &s->link);
	release_stream(w, s, clean);
}

static void release_feed_if_idle(worker *w, topic_feed *f)
{
	if (f->streams != NULL)
		return;
	cairn_http_list_remove(&w->feeds, &f->link);
	cairn_http_feed_close(f->feed);
	free(f);
}

/* ---- writing ---- */

/* Dropped subscribers come in floods when clients stall together: one
 * line a second, counting the rest. */
static void log_drop(const char *peer)
{
	static cairn_log_throttle throttle = CAIRN_LOG_THROTTLE_INIT;
	unsigned long held_back;
	if (cairn_log_throttle_pass(&throttle, &held_back))
		cairn_log_warn("http", "event stream to %s dropped: the client fell too far behind (%lu more dropped "
			"since the last report)", peer, held_back);
}

/* Writes what `s` has pending until it is all sent or the socket is full. */
static void send_pending(worker *w, stream *s)
{
	struct iovec iov[IOV_BATCH];
	int count;
	for (;;) {
		switch (cairn_http_subscriber_pending(iov, &count, IOV_BATCH, s->sub, s->feed->feed)) {
		case CAIRN_HTTP_PENDING_NONE:
			if (s->feed->final)
				end_stream(w, s, true);
			return;
		case CAIRN_HTTP_PENDING_OVERFLOW:
			cairn_metrics_stream_dropped();
			log_drop(s->peer);
			end_stream(w, s, false);
			return;
		case CAIRN_HTTP_PENDING_DATA:
			break;
		}
		struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)count};
		ssize_t sent = sendmsg(s->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (sent < 0 && errno == EINTR)
			continue;
		if (sent < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				end_stream(w, s, false); /* the client is gone */
			return;
		}
		cairn_http_subscriber_advance(s->sub, s->feed->feed, (size_t)sent);
	}
}

/* Syncs every feed of the thread and writes to every stream.  Once the
 * fan-out is closing, each feed is synced one last time: what a stream
 * has to send before it ends is then fixed, whichever path (this one or
 * a writable socket) finds it sent. */
static void deliver(worker *w)
{
	bool closing = atomic_load(&w->fanout->closing);
	cairn_http_link *next;
	for (cairn_http_link *l = w->feeds; l; l = next) {
		next = l->next;
		topic_feed *f = CAIRN_HTTP_CONTAINER(l, topic_feed, link);
		if (!f->final)
			f->final = cairn_http_feed_sync(f->feed) || closing;
		cairn_http_link *next_stream;
		for (cairn_http_link *sl = f->streams; sl; sl = next_stream) {
			next_stream = sl->next;
			send_pending(w, CAIRN_HTTP_CONTAINER(sl, stream, link));
		}
		release_feed_if_idle(w, f);
	}
}

/* Reads and discards what the client sent; false when it closed or failed. */
static bool discard_input(int fd)
{
	char buf[4096];
	for (size_t total = 0; total < DISCARD_LIMIT;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0)
			total += (size_t)n;
		else if (n < 0 && errno == EINTR)
			continue;
		else
			return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
	}
	return false;
}

static void on_socket(worker *w, stream *s, uint32_t events)
{
	topic_feed *f = s->feed;
	if ((events & (EPOLLERR | EPOLLHUP)) || ((events & (EPOLLIN | EPOLLRDHUP)) && !discard_input(s->fd)))
		end_stream(w, s, false);
	else if (events & EPOLLOUT)
		send_pending(w, s);
	release_feed_if_idle(w, f);
}

/* ---- adopting streams ---- */

static topic_feed *feed_for(worker *w, cairn_http_topic *topic)
{
	for (cairn_http_link *l = w->feeds; l; l = l->next) {
		topic_feed *f = CAIRN_HTTP_CONTAINER(l, topic_feed, link);
		if (f->topic == topic)
			return f;
	}
	topic_feed *f = calloc(1, sizeof(*f));
	if (f == NULL || cairn_http_feed_open(&f->feed, topic, wake_worker, w) != CAIRN_OK) {
		free(f);
		return NULL;
	}
	f->topic = topic;
	cairn_http_list_push(&w->feeds, &f->link);
	return f;
}

/* Disables send coalescing (the library may have left the socket corked),
 * caps the send buffer and registers the socket. */
static bool watch_socket(worker *w, stream *s)
{
	int on = 1, off = 0, sndbuf = STREAM_SNDBUF;
	setsockopt(s->fd, IPPROTO_TCP, TCP_CORK, &off, sizeof(off));
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = s};
	return epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, s->fd, &ev) == 0;
}

static cairn_http_link *take_inbox(worker *w)
{
	pthread_mutex_lock(&w->lock);
	cairn_http_link *inbox = w->inbox;
	w->inbox = NULL;
	pthread_mutex_unlock(&w->lock);
	return inbox;
}

static void adopt_inbox(worker *w)
{
	cairn_http_link *next;
	for (cairn_http_link *l = take_inbox(w); l; l = next) {
		next = l->next;
		stream *s = CAIRN_HTTP_CONTAINER(l, stream, link);
		topic_feed *f = feed_for(w, cairn_http_subscriber_topic(s->sub));
		if (f == NULL || !watch_socket(w, s)) {
			cairn_log_warn("http", "cannot serve the event stream to %s: out of resources", s->peer);
			release_stream(w, s, false);
			continue;
		}
		s->feed = f;
		cairn_http_list_push(&f->streams, &s->link);
	}
}

/* ---- threads ---- */

/* Cuts every stream of the thread, adopted or not, and releases its feeds. */
static void cut_everything(worker *w)
{
	cairn_http_link *next;
	for (cairn_http_link *l = take_inbox(w); l; l = next) {
		next = l->next;
		release_stream(w, CAIRN_HTTP_CONTAINER(l, stream, link), false);
	}
	while (w->feeds != NULL) {
		topic_feed *f = CAIRN_HTTP_CONTAINER(w->feeds, topic_feed, link);
		while (f->streams != NULL)
			end_stream(w, CAIRN_HTTP_CONTAINER(f->streams, stream, link), false);
		release_feed_if_idle(w, f);
	}
}

static void *run_worker(void *arg)
{
	worker *w = arg;
	pthread_setname_np(pthread_self(), "cairn-stream");
	struct epoll_event ready[EVENT_BATCH];
	for (;;) {
		int n = epoll_wait(w->epoll_fd, ready, EVENT_BATCH, -1);
		bool woken = false;
		for (int i = 0; i < n; i++) {
			if (ready[i].data.ptr == NULL)
				woken = true;
			else
				on_socket(w, ready[i].data.ptr, ready[i].events);
		}
		if (!woken)
			continue;
		uint64_t count;
		ssize_t ignored = read(w->wake_fd, &count, sizeof(count));
		(void)ignored;
		if (atomic_load(&w->fanout->stopping))
			break;
		adopt_inbox(w);
		deliver(w);
	}
	cut_everything(w);
	return NULL;
}

static int start_worker(worker *w)
{
	w->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	w->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	if (w->epoll_fd < 0 || w->wake_fd < 0 || epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, w->wake_fd, &ev) != 0)
		return cairn_error_set_errno(CAIRN_EIO, errno, "cannot set up an event-stream thread");
	int err = pthread_create(&w->thread, NULL, run_worker, w);
	if (err != 0)
		return cairn_error_set_errno(CAIRN_EIO, err, "cannot start an event-stream thread");
	w->running = true;
	return CAIRN_OK;
}

int cairn_http_fanout_start(cairn_http_fanout **out, unsigned threads)
{
	cairn_http_fanout *fanout = calloc(1, sizeof(*fanout));
	if (fanout == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	pthread_mutex_init(&fanout->lock, NULL);
	atomic_init(&fanout->closing, false);
	atomic_init(&fanout->stopping, false);
	fanout->count = threads == 0 ? 1 : threads > MAX_THREADS ? MAX_THREADS : threads;
	for (unsigned i = 0; i < fanout->count; i++) {
		worker *w = &fanout->workers[i];
		w->fanout = fanout;
		w->epoll_fd = w->wake_fd = -1;
		atomic_init(&w->streams, 0);
		pthread_mutex_init(&w->lock, NULL);
	}
	int rc = CAIRN_OK;
	for (unsigned i = 0; i < fanout->count && rc == CAIRN_OK; i++)
		rc = start_worker(&fanout->workers[i]);
	if (rc != CAIRN_OK) {
		cairn_http_fanout_free(fanout);
		return rc;
	}
	*out = fanout;
	return CAIRN_OK;
}

static worker *least_busy(cairn_http_fanout *fanout)
{
	worker *best = &fanout->workers[0];
	for (unsigned i = 1; i < fanout->count; i++)
		if (atomic_load_explicit(&fanout->workers[i].streams, memory_order_relaxed) <
		    atomic_load_explicit(&best->streams, memory_order_relaxed))
			best = &fanout->workers[i];
	return best;
}

int cairn_http_fanout_add(cairn_http_fanout *fanout, cairn_http_subscriber *sub, int fd, const char *peer,
	cairn_http_stream_done done, void *ctx)
{
	stream *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	*s = (stream){.sub = sub, .fd = fd, .done = done, .ctx = ctx};
	snprintf(s->peer, sizeof(s->peer), "%s", peer);
	pthread_mutex_lock(&fanout->lock);
	worker *w = atomic_load(&fanout->closing) ? NULL : least_busy(fanout);
	if (w != NULL) {
		atomic_fetch_add_explicit(&w->streams, 1, memory_order_relaxed);
		pthread_mutex_lock(&w->lock);
		cairn_http_list_push(&w->inbox, &s->link);
		pthread_mutex_unlock(&w->lock);
	}
	pthread_mutex_unlock(&fanout->lock);
	if (w == NULL) {
		free(s);
		return cairn_error_set(CAIRN_EBUSY, "the server is shutting down");
	}
	wake_worker(w);
	return CAIRN_OK;
}

static void wake_all(cairn_http_fanout *fanout)
{
	for (unsigned i = 0; i < fanout->count; i++)
		if (fanout->workers[i].running)
			wake_worker(&fanout->workers[i]);
}

void cairn_http_fanout_close(cairn_http_fanout *fanout)
{
	pthread_mutex_lock(&fanout->lock);
	atomic_store(&fanout->closing, true);
	pthread_mutex_unlock(&fanout->lock);
	wake_all(fanout);
}

void cairn_http_fanout_stop(cairn_http_fanout *fanout)
{
	cairn_http_fanout_close(fanout);
	atomic_store(&fanout->stopping, true);
	wake_all(fanout);
	for (unsigned i = 0; i < fanout->count; i++) {
		worker *w = &fanout->workers[i];
		if (w->running)
			pthread_join(w->thread, NULL);
		w->running = false;
	}
}

void cairn_http_fanout_free(cairn_http_fanout *fanout)
{
	if (fanout == NULL)
		return;
	cairn_http_fanout_stop(fanout);
	for (unsigned i = 0; i < fanout->count; i++) {
		worker *w = &fanout->workers[i];
		if (w->epoll_fd >= 0)
			close(w->epoll_fd);
		if (w->wake_fd >= 0)
			close(w->wake_fd);
		pthread_mutex_destroy(&w->lock);
	}
	pthread_mutex_destroy(&fanout->lock);
	free(fanout);
}
