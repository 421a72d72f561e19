/*
 * bench_stream.c: event fan-out latency of http/stream on the real server.
 *
 * One process serves /events (a topic) and publishes; a child process holds
 * N subscriber connections and reports when every one of them has received
 * the whole event.  Latency is measured from just before
 * cairn_http_topic_publish to the moment the last subscriber has the event
 * (CLOCK_MONOTONIC is shared by both processes).  The reference, measured in
 * the same run with the same client, is the simplest possible server: one
 * write(2) of the same bytes per connection in a loop.
 *
 *   bench_stream [subscribers [rounds [event_bytes]]]     defaults 10000 20 1024
 */
#include "http/server.h"
#include "http/stream.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct pipes {
	int to_child[2];
	int to_parent[2];
} pipes;

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_stream: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void put(int fd, int64_t value)
{
	if (write(fd, &value, sizeof(value)) != (ssize_t)sizeof(value))
		die("pipe write");
}

static int64_t get(int fd)
{
	int64_t value;
	if (read(fd, &value, sizeof(value)) != (ssize_t)sizeof(value))
		die("pipe read");
	return value;
}

/* ---- the client process ---- */

typedef struct subscriber {
	int fd;
	bool streaming;  /* the response head has been read */
	char last[4];    /* the last bytes seen, to find "\r\n\r\n" and "\n\n" across reads */
	long events;     /* complete events received */
} subscriber;

/* Scans received bytes: the head ends at "\r\n\r\n"; each event ends with "\n\n"
 * (the data contains no newline and the chunk framing none twice in a row). */
static void scan(subscriber *s, const char *buf, ssize_t n)
{
	for (ssize_t i = 0; i < n; i++) {
		memmove(s->last, s->last + 1, 3);
		s->last[3] = buf[i];
		if (!s->streaming)
			s->streaming = memcmp(s->last, "\r\n\r\n", 4) == 0;
		else if (s->last[2] == '\n' && s->last[3] == '\n')
			s->events++;
	}
}

static int connect_subscriber(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		die("connect");
	static const char request[] = "GET /events HTTP/1.1\r\nHost: bench\r\n\r\n";
	if (write(fd, request, sizeof(request) - 1) != (ssize_t)sizeof(request) - 1)
		die("send request");
	return fd;
}

/* Reads from ready sockets until every subscriber has `events` events (or the head, for 0). */
static void receive_until(int ep, subscriber *subs, int n, long events)
{
	int done = 0;
	for (int i = 0; i < n; i++)
		done += subs[i].streaming && subs[i].events >= events;
	struct epoll_event ready[256];
	char buf[65536];
	while (done < n) {
		int k = epoll_wait(ep, ready, 256, 10000);
		if (k <= 0)
			die("subscribers stalled");
		for (int j = 0; j < k; j++) {
			subscriber *s = ready[j].data.ptr;
			bool was_done = s->streaming && s->events >= events;
			ssize_t got = read(s->fd, buf, sizeof(buf));
			if (got <= 0)
				die("subscriber connection closed");
			scan(s, buf, got);
			done += !was_done && s->streaming && s->events >= events;
		}
	}
}

static void run_client(pipes *p, int subscribers, int rounds)
{
	int port = (int)get(p->to_child[0]);
	subscriber *subs = calloc((size_t)subscribers, sizeof(*subs));
	int ep = epoll_create1(0);
	for (int i = 0; i < subscribers; i++) {
		subs[i].fd = connect_subscriber(port);
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &subs[i]};
		epoll_ctl(ep, EPOLL_CTL_ADD, subs[i].fd, &ev);
	}
	receive_until(ep, subs, subscribers, 0);
	put(p->to_parent[1], 0); /* every subscriber is streaming */
	for (int r = 1; r <= rounds; r++) {
		int64_t published = get(p->to_child[0]);
		receive_until(ep, subs, subscribers, r);
		put(p->to_parent[1], now_ns() - published);
	}
	for (int i = 0; i < subscribers; i++)
		close(subs[i].fd);
	free(subs);
	exit(0);
}

/* ---- the serving process ---- */

typedef struct result {
	double median_ms, max_ms, publish_us;
} result;

static int compare_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

typedef void (*publish_fn)(void *ctx, const char *bytes, size_t len);

/* Runs the rounds against a started client; returns the figures. */
static result measure(pipes *p, int rounds, const char *bytes, size_t len, publish_fn publish, void *ctx)
{
	get(p->to_parent[0]); /* every subscriber is streaming */
	int64_t *latency = calloc((size_t)rounds, sizeof(*latency));
	int64_t *busy = calloc((size_t)rounds, sizeof(*busy));
	for (int r = 0; r < rounds; r++) {
		usleep(20000);
		int64_t start = now_ns();
		put(p->to_child[1], start);
		publish(ctx, bytes, len);
		busy[r] = now_ns() - start;
		latency[r] = get(p->to_parent[0]);
	}
	qsort(latency, (size_t)rounds, sizeof(*latency), compare_i64);
	qsort(busy, (size_t)rounds, sizeof(*busy), compare_i64);
	result res = {latency[rounds / 2] / 1e6, latency[rounds - 1] / 1e6, busy[rounds / 2] / 1e3};
	free(latency);
	free(busy);
	return res;
}

static pid_t start_client(pipes *p, int subscribers, int rounds)
{
	if (pipe(p->to_child) != 0 || pipe(p->to_parent) != 0)
		die("pipe");
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0)
		run_client(p, subscribers, rounds);
	return pid;
}

static void finish_client(pipes *p, pid_t pid)
{
	int status;
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench_stream: the client process failed\n");
		exit(1);
	}
	close(p->to_child[0]), close(p->to_child[1]), close(p->to_parent[0]), close(p->to_parent[1]);
}

static void events_handler(cairn_http_response *res, const cairn_http_request *req, void *ctx)
{
	(void)req;
	cairn_http_respond_stream(res, ctx);
}

static void publish_to_topic(void *ctx, const char *bytes, size_t len)
{
	(void)bytes;
	(void)len;
	cairn_http_topic_publish(((void **)ctx)[0], ((void **)ctx)[1]);
}

static result bench_cairn(int subscribers, int rounds, cairn_http_event *event)
{
	pipes p;
	pid_t pid = start_client(&p, subscribers, rounds);
	cairn_http_topic *topic;
	cairn_http_router *router;
	cairn_http_server *server;
	cairn_http_topic_options topts = CAIRN_HTTP_TOPIC_OPTIONS_INIT;
	cairn_http_server_options opts = CAIRN_HTTP_SERVER_OPTIONS_INIT;
	opts.idle_timeout_s = 0;
	if (cairn_http_topic_create(&topic, &topts) != CAIRN_OK || cairn_http_router_create(&router, "development") != CAIRN_OK ||
	    cairn_http_router_add(router, CAIRN_HTTP_GET, "/events", events_handler, topic) != CAIRN_OK ||
	    cairn_http_server_start(&server, router, &opts) != CAIRN_OK) {
		fprintf(stderr, "bench_stream: %s\n", cairn_error_last());
		exit(1);
	}
	put(p.to_child[1], cairn_http_server_port(server));
	void *ctx[2] = {topic, event};
	size_t len;
	const char *bytes = cairn_http_event_bytes(event, &len);
	result res = measure(&p, rounds, bytes, len, publish_to_topic, ctx);
	finish_client(&p, pid);
	cairn_http_server_free(server);
	cairn_http_router_free(router);
	cairn_http_topic_free(topic);
	return res;
}

typedef struct plain_server {
	int *fds;
	int count;
} plain_server;

static void publish_by_write(void *ctx, const char *bytes, size_t len)
{
	plain_server *ps = ctx;
	for (int i = 0; i < ps->count; i++)
		if (write(ps->fds[i], bytes, len) != (ssize_t)len)
			die("reference write");
}

static result bench_reference(int subscribers, int rounds, const char *bytes, size_t len)
{
	pipes p;
	pid_t pid = start_client(&p, subscribers, rounds);
	int listener = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	socklen_t sl = sizeof(sa);
	if (bind(listener, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(listener, SOMAXCONN) != 0 ||
	    getsockname(listener, (struct sockaddr *)&sa, &sl) != 0)
		die("reference listener");
	put(p.to_child[1], ntohs(sa.sin_port));
	plain_server ps = {calloc((size_t)subscribers, sizeof(int)), subscribers};
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n";
	for (int i = 0; i < subscribers; i++) {
		ps.fds[i] = accept(listener, NULL, NULL);
		if (ps.fds[i] < 0 || write(ps.fds[i], head, sizeof(head) - 1) != (ssize_t)sizeof(head) - 1)
			die("reference accept");
	}
	result res = measure(&p, rounds, bytes, len, publish_by_write, &ps);
	finish_client(&p, pid);
	for (int i = 0; i < subscribers; i++)
		close(ps.fds[i]);
	free(ps.fds);
	close(listener);
	return res;
}

int main(int argc, char **argv)
{
	int subscribers = argc > 1 ? atoi(argv[1]) : 10000;
	int rounds = argc > 2 ? atoi(argv[2]) : 20;
	size_t event_bytes = argc > 3 ? (size_t)atol(argv[3]) : 1024;
	if (subscribers <= 0 || rounds <= 0 || event_bytes < 64) {
		fprintf(stderr, "usage: bench_stream [subscribers [rounds [event_bytes]]]\n");
		return 2;
	}
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)subscribers + 512 > rl.rlim_cur) {
		fprintf(stderr, "bench_stream: %d subscribers need more than the %llu open files allowed\n",
			subscribers, (unsigned long long)rl.rlim_cur);
		return 1;
	}
	/* An event the size of a block header update on the wire: {"x":"xx...x"} */
	static const char name[] = "BlockHeader";
	size_t data_len = event_bytes - strlen("event:\ndata:\n\n") - strlen(name);
	char *data = malloc(data_len);
	memset(data, 'x', data_len);
	memcpy(data, "{\"x\":\"", 6);
	memcpy(data + data_len - 2, "\"}", 2);
	cairn_http_event *event;
	if (cairn_http_event_create(&event, name, data, data_len) != CAIRN_OK) {
		fprintf(stderr, "bench_stream: %s\n", cairn_error_last());
		return 1;
	}
	size_t len;
	const char *bytes = cairn_http_event_bytes(event, &len);
	result ref = bench_reference(subscribers, rounds, bytes, len);
	result cairn = bench_cairn(subscribers, rounds, event);
	printf("event fan-out: %d subscribers, %zu-byte events, %d rounds, loopback\n", subscribers, len, rounds);
	printf("%-36s %10s %10s %14s %12s\n", "", "median", "max", "per subscriber", "publisher busy");
	printf("%-36s %7.1f ms %7.1f ms %11.2f us %9.0f us\n", "cairn (topic publish -> all received)",
		cairn.median_ms, cairn.max_ms, cairn.median_ms * 1000 / subscribers, cairn.publish_us);
	printf("%-36s %7.1f ms %7.1f ms %11.2f us %9.0f us\n", "reference (one write per socket)",
		ref.median_ms, ref.max_ms, ref.median_ms * 1000 / subscribers, ref.publish_us);
	printf("ratio cairn/reference (median latency): %.2fx\n", cairn.median_ms / ref.median_ms);
	cairn_http_event_unref(event);
	free(data);
	return 0;
}
