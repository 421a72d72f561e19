/*
 * bench_fanout.c: event-stream fan-out latency of the real HTTP server.
 *
 * The serving process starts the server from src/http with one route that
 * answers with an event stream of a topic (as the updates endpoints do) and
 * publishes events at a steady rate: each event is created and published
 * exactly as the node does for a block.  A child process, the load
 * generator, holds every subscriber connection in one epoll loop, reads with
 * a large buffer and records for each event the earliest arrival of its
 * first byte and the latest arrival of its last byte over all subscribers
 * (CLOCK_MONOTONIC, shared by both processes).  Per event the serving side
 * then knows:
 *   last   publish -> the last subscriber has the whole event
 *   first  publish -> the first subscriber has its first byte
 *   busy   how long the publishing call kept the caller
 *   cpu    CPU time per event of the serving process (all its threads)
 *          and of the load generator, from the first event to the last
 * The first WARMUP events are sent but not counted (CPU times count them).
 *
 * The reference, measured in the same run with the same client and the same
 * bytes on the wire (the HTTP chunks cairn sends), is the simplest possible
 * server: one blocking write(2) per connection in a loop.
 *
 *   bench_fanout [subscribers [events [event_bytes [period_ms [servers]]]]]
 *       defaults 10000 40 1200 100 both; servers: both, cairn or reference
 * With CAIRN_BENCH_HEADER=1 the column header is printed first;
 * CAIRN_BENCH_THREADS sets the server's thread count.
 *
 *   bench_fanout --node PORT PATH SUBSCRIBERS SECONDS
 * is the load generator alone, against a running node: it prints the
 * arrivals of every event of SECONDS (see run_node_client), for
 * bench/stream/run to match with the node's debug trace of each publish.
 */
#include "http/server.h"
#include "http/stream.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WARMUP 3
#define READ_BUFFER (256 * 1024)
#define READY_BATCH 4096
#define STALL_MS 20000

typedef struct settings {
	int subscribers;
	int events; /* counted events; WARMUP more are sent first */
	size_t event_bytes;
	int period_ms;
} settings;

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_fanout: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void write_all(int fd, const void *buf, size_t len)
{
	for (const char *p = buf; len > 0;) {
		ssize_t n = write(fd, p, len);
		if (n <= 0)
			die("pipe write");
		p += n;
		len -= (size_t)n;
	}
}

static void read_all(int fd, void *buf, size_t len)
{
	for (char *p = buf; len > 0;) {
		ssize_t n = read(fd, p, len);
		if (n <= 0)
			die("pipe read");
		p += n;
		len -= (size_t)n;
	}
}

/* CPU time (user and system) of the calling process so far. */
static int64_t cpu_ns(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
		((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

typedef struct pipes {
	int to_client[2];
	int to_server[2];
} pipes;

/* ---- the load generator ---- */

/* Events are told apart by the first KEY_BYTES bytes of their data (the
 * serving side's debug trace prints the same bytes), so the load generator
 * needs no knowledge of the server: subscribers that join while events
 * flow, as on a node, are matched event by event. */
#define KEY_BYTES 96
#define CAPTURE (KEY_BYTES + 96) /* chunk size line, "event:NAME\ndata:", the key */
#define MAX_EVENTS 100000

/* One subscriber's position in its byte stream.  Events end with "\n\n"
 * (no event contains a blank line, and chunk framing never makes one);
 * after an event, its chunk's closing CRLF is skipped before the next
 * event's first byte is noted. */
typedef struct subscriber {
	int fd;
	int next;          /* index of the event expected next; -1 before the first */
	bool streaming;    /* the response head has been read */
	bool started;      /* a byte of the current event has arrived */
	bool newline;      /* the last byte seen was '\n' */
	uint8_t skip;      /* framing bytes still to skip */
	uint16_t captured;
	uint32_t head;     /* the last four head bytes, to find the blank line */
	size_t bytes;      /* of the current event, framing included */
	int64_t started_at;
	char capture[CAPTURE]; /* the current event's first bytes */
} subscriber;

typedef struct event_stats {
	int64_t first, last; /* earliest first byte, latest last byte */
	int count;           /* subscribers that received it */
	size_t bytes;        /* on the wire */
	int key_len;
	char key[KEY_BYTES];
} event_stats;

/* Events are listed in order of first arrival, which is the publish order
 * for events every subscriber receives, but not for the events published
 * while subscribers join: one that joined late may have the newer of two
 * events before anyone has the older.  So a subscriber stepping back in
 * the list is only noted, and counted as out of order at the end when both
 * events reached every subscriber. */
typedef struct step_back {
	int from, to; /* indexes in the event list */
} step_back;

typedef struct arrivals {
	event_stats *events; /* in order of first arrival */
	int count;
	long complete;       /* events received, over all subscribers */
	step_back *steps;
	long step_count, step_room;
} arrivals;

static size_t scan_head(subscriber *s, const char *buf, size_t n)
{
	static const char ok[] = "HTTP/1.1 200 ";
	if (s->head == 0 && (n < sizeof(ok) - 1 || memcmp(buf, ok, sizeof(ok) - 1) != 0)) {
		fprintf(stderr, "bench_fanout: a subscriber was refused: %.*s\n", (int)(n < 40 ? n : 40), buf);
		exit(1);
	}
	size_t i = 0;
	while (i < n && !s->streaming) {
		s->head = s->head << 8 | (uint8_t)buf[i++];
		s->streaming = s->head == 0x0d0a0d0a;
	}
	return i;
}

static void note_step_back(arrivals *a, int from, int to)
{
	if (a->step_count == a->step_room) {
		a->step_room = a->step_room ? 2 * a->step_room : 1024;
		a->steps = realloc(a->steps, (size_t)a->step_room * sizeof(*a->steps));
		if (a->steps == NULL)
			die("out of memory");
	}
	a->steps[a->step_count++] = (step_back){from, to};
}

/* Events `subscribers` subscribers received in another order than published. */
static long out_of_order(const arrivals *a, int subscribers)
{
	long n = 0;
	for (long i = 0; i < a->step_count; i++)
		n += a->events[a->steps[i].from].count == subscribers && a->events[a->steps[i].to].count == subscribers;
	return n;
}

/* The event with this key: the expected one, else found or added. */
static event_stats *find_event(arrivals *a, subscriber *s, const char *key, int len)
{
	int k = s->next;
	bool expected = k >= 0 && k < a->count && a->events[k].key_len == len && memcmp(a->events[k].key, key, len) == 0;
	if (!expected) {
		for (k = 0; k < a->count; k++)
			if (a->events[k].key_len == len && memcmp(a->events[k].key, key, len) == 0)
				break;
		if (k == a->count) {
			if (a->count == MAX_EVENTS) {
				fprintf(stderr, "bench_fanout: more than %d distinct events\n", MAX_EVENTS);
				exit(1);
			}
			a->events[a->count++] = (event_stats){.key_len = len};
			memcpy(a->events[k].key, key, len);
		}
		if (s->next > 0 && k < s->next - 1)
			note_step_back(a, s->next - 1, k);
	}
	s->next = k + 1;
	return &a->events[k];
}

static void event_ended(subscriber *s, arrivals *a, int64_t t)
{
	const char *data = memmem(s->capture, s->captured, "data:", 5);
	if (data == NULL) {
		fprintf(stderr, "bench_fanout: an event without data\n");
		exit(1);
	}
	data += 5;
	const char *end = s->capture + s->captured;
	const char *nl = memchr(data, '\n', (size_t)(end - data));
	int len = (int)((nl ? nl : end) - data);
	event_stats *e = find_event(a, s, data, len < KEY_BYTES ? len : KEY_BYTES);
	if (e->first == 0 || s->started_at < e->first)
		e->first = s->started_at;
	if (t > e->last)
		e->last = t;
	e->count++;
	e->bytes = s->bytes;
	a->complete++;
	s->started = s->newline = false;
	s->skip = 2;
}

/* Where the current event ends in buf[i, n): the index after its "\n\n",
 * or 0 when it does not end there. */
static size_t event_end(subscriber *s, const char *buf, size_t i, size_t n)
{
	if (s->newline && buf[i] == '\n')
		return i + 1;
	for (;;) {
		const char *nl = memchr(buf + i, '\n', n - i);
		if (nl == NULL) {
			s->newline = false;
			return 0;
		}
		i = (size_t)(nl - buf) + 1;
		if (i == n) {
			s->newline = true;
			return 0;
		}
		if (buf[i] == '\n')
			return i + 1;
	}
}

static void scan(subscriber *s, arrivals *a, const char *buf, size_t n, int64_t t)
{
	size_t i = s->streaming ? 0 : scan_head(s, buf, n);
	while (i < n) {
		if (s->skip > 0) {
			size_t k = n - i < s->skip ? n - i : s->skip;
			s->skip -= (uint8_t)k;
			i += k;
			continue;
		}
		if (!s->started) {
			s->started = true;
			s->started_at = t;
			s->captured = 0;
			s->bytes = 0;
		}
		size_t end = event_end(s, buf, i, n);
		size_t take = (end ? end : n) - i;
		s->bytes += take;
		size_t room = CAPTURE - (size_t)s->captured;
		if (take > room)
			take = room;
		memcpy(s->capture + s->captured, buf + i, take);
		s->captured += (uint16_t)take;
		if (end == 0)
			return;
		event_ended(s, a, t);
		i = end;
	}
}

static int connect_subscriber(int port, const char *path)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		die("connect");
	char request[512];
	int len = snprintf(request, sizeof(request),
		"GET %s HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n", path);
	if (write(fd, request, (size_t)len) != len)
		die("send request");
	return fd;
}

static bool all_streaming(const subscriber *subs, int n)
{
	for (int i = 0; i < n; i++)
		if (!subs[i].streaming)
			return false;
	return true;
}

typedef struct load {
	int ep;
	subscriber *subs;
	int n;
	arrivals a;
} load;

/* Connects every subscriber and reads until each has its response head. */
static void connect_all(load *l, int port, const char *path, int n)
{
	l->n = n;
	l->subs = calloc((size_t)n, sizeof(*l->subs));
	l->a = (arrivals){.events = calloc(MAX_EVENTS, sizeof(event_stats))};
	l->ep = epoll_create1(0);
	for (int i = 0; i < n; i++) {
		l->subs[i].fd = connect_subscriber(port, path);
		l->subs[i].next = -1;
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &l->subs[i]};
		epoll_ctl(l->ep, EPOLL_CTL_ADD, l->subs[i].fd, &ev);
	}
}

/* Reads ready sockets until every subscriber streams (wanted_events < 0),
 * `wanted_events` events were received, or `until` (monotonic ns, 0: never)
 * passes; a silence of STALL_MS fails. */
static void receive(load *l, long wanted_events, int64_t until)
{
	static struct epoll_event ready[READY_BATCH];
	static char buf[READ_BUFFER];
	arrivals *a = &l->a;
	while (wanted_events < 0 ? !all_streaming(l->subs, l->n) : a->complete < wanted_events) {
		if (until != 0 && now_ns() >= until)
			return;
		int k = epoll_wait(l->ep, ready, READY_BATCH, STALL_MS);
		if (k <= 0) {
			int waiting = 0;
			for (int i = 0; i < l->n; i++)
				waiting += !l->subs[i].streaming;
			fprintf(stderr, "bench_fanout: subscribers stalled: %d without a response head, %ld of %ld events\n",
				waiting, a->complete, wanted_events);
			exit(1);
		}
		for (int j = 0; j < k; j++) {
			subscriber *s = ready[j].data.ptr;
			ssize_t got = read(s->fd, buf, sizeof(buf));
			if (got <= 0)
				die("a subscriber connection closed");
			scan(s, a, buf, (size_t)got, now_ns());
		}
	}
}

static void disconnect_all(load *l)
{
	struct linger abort_close = {1, 0}; /* no TIME_WAIT: runs follow each other */
	for (int i = 0; i < l->n; i++) {
		setsockopt(l->subs[i].fd, SOL_SOCKET, SO_LINGER, &abort_close, sizeof(abort_close));
		close(l->subs[i].fd);
	}
	close(l->ep);
	free(l->subs);
	free(l->a.events);
	free(l->a.steps);
}

/* The child of the in-process benchmark: reports when every subscriber
 * streams, then the CPU time it spent and the arrivals of all events. */
static void run_client(pipes *p, const settings *cfg)
{
	prctl(PR_SET_NAME, "bench-client");
	int64_t port;
	read_all(p->to_client[0], &port, sizeof(port));
	int total = cfg->events + WARMUP;
	load l;
	connect_all(&l, (int)port, "/events", cfg->subscribers);
	receive(&l, -1, 0);
	write_all(p->to_server[1], &l.a.complete, sizeof(l.a.complete)); /* every subscriber streams */
	int64_t cpu = cpu_ns();
	receive(&l, (long)cfg->subscribers * total, 0);
	cpu = cpu_ns() - cpu;
	long disorder = out_of_order(&l.a, cfg->subscribers);
	if (l.a.count != total || disorder != 0) {
		fprintf(stderr, "bench_fanout: %d distinct events, %ld out of order\n", l.a.count, disorder);
		exit(1);
	}
	write_all(p->to_server[1], &cpu, sizeof(cpu));
	for (int k = 0; k < total; k++) {
		write_all(p->to_server[1], &l.a.events[k].first, sizeof(int64_t));
		write_all(p->to_server[1], &l.a.events[k].last, sizeof(int64_t));
	}
	disconnect_all(&l);
	exit(0);
}

/* Against a running node: `subscribers` connections to `path`, then every
 * event of the next `seconds`, one line each:
 *   event FIRST_NS LAST_NS SUBSCRIBERS BYTES KEY
 * (CLOCK_MONOTONIC), after "streaming NS" and before "out_of_order N". */
static int run_node_client(int port, const char *path, int subscribers, double seconds)
{
	load l;
	connect_all(&l, port, path, subscribers);
	receive(&l, -1, 0);
	int64_t streaming = now_ns();
	int first_counted = l.a.count; /* events under way while subscribers joined are left out */
	int64_t cpu = cpu_ns();
	receive(&l, LONG_MAX, streaming + (int64_t)(seconds * 1e9));
	cpu = cpu_ns() - cpu;
	printf("streaming %lld\n", (long long)streaming);
	printf("client_cpu_ns %lld\n", (long long)cpu);
	for (int k = first_counted; k < l.a.count; k++) {
		event_stats *e = &l.a.events[k];
		printf("event %lld %lld %d %zu %.*s\n", (long long)e->first, (long long)e->last, e->count, e->bytes,
			e->key_len, e->key);
	}
	printf("out_of_order %ld\n", out_of_order(&l.a, subscribers));
	disconnect_all(&l);
	return 0;
}

static pid_t start_client(pipes *p, const settings *cfg)
{
	if (pipe(p->to_client) != 0 || pipe(p->to_server) != 0)
		die("pipe");
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(p->to_client[1]);
		close(p->to_server[0]);
		run_client(p, cfg);
	}
	close(p->to_client[0]); /* the client's ends: its exit is then an end of file here */
	close(p->to_server[1]);
	return pid;
}

static void finish_client(pipes *p, pid_t pid)
{
	int status;
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench_fanout: the load generator failed\n");
		exit(1);
	}
	close(p->to_client[1]);
	close(p->to_server[0]);
}

/* ---- the serving side ---- */

typedef struct figures {
	double last_p50, last_p99, last_max, first_p50; /* ms */
	double busy_p50;                                  /* us */
	double server_cpu, client_cpu;                    /* ms per event */
} figures;

typedef struct publisher {
	void (*publish)(struct publisher *self, const char *data, size_t len);
} publisher;

static int compare_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static double percentile(int64_t *v, int n, double q)
{
	qsort(v, (size_t)n, sizeof(*v), compare_i64);
	int i = (int)(q * (n - 1) + 0.5);
	return (double)v[i];
}

/* The data of event `seq`: {"seq":N,"pad":"xx...x"}, so that the SSE event
 * ("event:BlockHeader\ndata:...\n\n") is `event_bytes` long. */
static size_t event_data(char *out, size_t event_bytes, int seq)
{
	size_t len = event_bytes - strlen("event:BlockHeader\ndata:\n\n");
	int head = snprintf(out, len, "{\"seq\":%d,\"pad\":\"", seq);
	memset(out + head, 'x', len - (size_t)head - 2);
	memcpy(out + len - 2, "\"}", 2);
	return len;
}

/* Publishes at a steady rate to a started client; returns the figures. */
static figures measure(pipes *p, const settings *cfg, publisher *pub)
{
	long ready;
	read_all(p->to_server[0], &ready, sizeof(ready));
	int total = cfg->events + WARMUP;
	int64_t *published = calloc((size_t)total, sizeof(int64_t));
	int64_t *busy = calloc((size_t)total, sizeof(int64_t));
	char *data = malloc(cfg->event_bytes);
	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	int64_t server_cpu = cpu_ns(), client_cpu;
	for (int k = 0; k < total; k++) {
		next.tv_nsec += (long)cfg->period_ms * 1000000;
		next.tv_sec += next.tv_nsec / 1000000000;
		next.tv_nsec %= 1000000000;
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
		published[k] = now_ns();
		pub->publish(pub, data, event_data(data, cfg->event_bytes, k));
		busy[k] = now_ns() - published[k];
	}
	int64_t *first = malloc((size_t)total * sizeof(int64_t)), *last = malloc((size_t)total * sizeof(int64_t));
	read_all(p->to_server[0], &client_cpu, sizeof(client_cpu));
	server_cpu = cpu_ns() - server_cpu;
	for (int k = 0; k < total; k++) {
		read_all(p->to_server[0], &first[k], sizeof(int64_t));
		read_all(p->to_server[0], &last[k], sizeof(int64_t));
	}
	int n = cfg->events;
	for (int k = 0; k < n; k++) {
		first[k] = first[k + WARMUP] - published[k + WARMUP];
		last[k] = last[k + WARMUP] - published[k + WARMUP];
		busy[k] = busy[k + WARMUP];
	}
	figures f = {percentile(last, n, 0.5) / 1e6, percentile(last, n, 0.99) / 1e6, percentile(last, n, 1.0) / 1e6,
		percentile(first, n, 0.5) / 1e6, percentile(busy, n, 0.5) / 1e3, (double)server_cpu / total / 1e6,
		(double)client_cpu / total / 1e6};
	free(published), free(busy), free(data), free(first), free(last);
	return f;
}

/* cairn: the server from src/http, one topic, events created per publish. */
typedef struct topic_publisher {
	publisher base;
	cairn_http_topic *topic;
} topic_publisher;

static void publish_to_topic(publisher *self, const char *data, size_t len)
{
	cairn_http_event *event;
	if (cairn_http_event_create(&event, "BlockHeader", data, len) != CAIRN_OK) {
		fprintf(stderr, "bench_fanout: %s\n", cairn_error_last());
		exit(1);
	}
	cairn_http_topic_publish(((topic_publisher *)self)->topic, event);
	cairn_http_event_unref(event);
}

static void events_handler(cairn_http_response *res, const cairn_http_request *req, void *ctx)
{
	(void)req;
	cairn_http_respond_stream(res, ctx);
}

static void check(int rc)
{
	if (rc != CAIRN_OK) {
		fprintf(stderr, "bench_fanout: %s\n", cairn_error_last());
		exit(1);
	}
}

static figures bench_cairn(const settings *cfg)
{
	pipes p;
	pid_t pid = start_client(&p, cfg);
	topic_publisher pub = {{publish_to_topic}, NULL};
	cairn_http_router *router;
	cairn_http_server *server;
	cairn_http_server_options opts = CAIRN_HTTP_SERVER_OPTIONS_INIT;
	opts.idle_timeout_s = 0;
	const char *threads = getenv("CAIRN_BENCH_THREADS");
	opts.threads = threads ? (unsigned)atoi(threads) : 0;
	check(cairn_http_topic_create(&pub.topic, NULL));
	check(cairn_http_router_create(&router, "development"));
	check(cairn_http_router_add(router, CAIRN_HTTP_GET, "/events", events_handler, pub.topic));
	check(cairn_http_server_start(&server, router, &opts));
	int64_t port = cairn_http_server_port(server);
	write_all(p.to_client[1], &port, sizeof(port));
	figures f = measure(&p, cfg, &pub.base);
	finish_client(&p, pid);
	cairn_http_server_free(server);
	cairn_http_router_free(router);
	cairn_http_topic_free(pub.topic);
	return f;
}

/* The reference: accepted sockets, one blocking write of the chunk per socket. */
typedef struct write_loop {
	publisher base;
	int *fds;
	int count;
	char *chunk;
} write_loop;

static void publish_by_write(publisher *self, const char *data, size_t len)
{
	write_loop *w = (write_loop *)self;
	size_t sse = strlen("event:BlockHeader\ndata:\n\n") + len;
	int n = sprintf(w->chunk, "%zx\r\nevent:BlockHeader\ndata:%.*s\n\n\r\n", sse, (int)len, data);
	for (int i = 0; i < w->count; i++)
		if (write(w->fds[i], w->chunk, (size_t)n) != n)
			die("reference write");
}

static figures bench_reference(const settings *cfg)
{
	pipes p;
	pid_t pid = start_client(&p, cfg);
	int listener = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	socklen_t sl = sizeof(sa);
	if (bind(listener, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(listener, SOMAXCONN) != 0 ||
	    getsockname(listener, (struct sockaddr *)&sa, &sl) != 0)
		die("reference listener");
	int64_t port = ntohs(sa.sin_port);
	write_all(p.to_client[1], &port, sizeof(port));
	write_loop w = {{publish_by_write}, calloc((size_t)cfg->subscribers, sizeof(int)), cfg->subscribers,
		malloc(cfg->event_bytes + 64)};
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
				   "Transfer-Encoding: chunked\r\n\r\n";
	for (int i = 0; i < w.count; i++) {
		w.fds[i] = accept(listener, NULL, NULL);
		if (w.fds[i] < 0 || write(w.fds[i], head, sizeof(head) - 1) != (ssize_t)sizeof(head) - 1)
			die("reference accept");
	}
	figures f = measure(&p, cfg, &w.base);
	finish_client(&p, pid);
	for (int i = 0; i < w.count; i++)
		close(w.fds[i]);
	free(w.fds);
	free(w.chunk);
	close(listener);
	return f;
}

static void print_row(const settings *cfg, const char *server, const figures *f, const figures *ref)
{
	printf("%11d %6zu  %-10s %8.1f %8.1f %8.1f %9.2f %10.1f %7.1f %7.1f", cfg->subscribers, cfg->event_bytes, server,
		f->last_p50, f->last_p99, f->last_max, f->first_p50, f->busy_p50, f->server_cpu, f->client_cpu);
	if (ref != NULL)
		printf(" %9.2fx", f->last_p50 / ref->last_p50);
	printf("\n");
}

static void raise_descriptor_limit(int subscribers)
{
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)subscribers + 512 > rl.rlim_cur) {
		fprintf(stderr, "bench_fanout: %d subscribers need more than the %llu open files allowed\n",
			subscribers, (unsigned long long)rl.rlim_cur);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--node") == 0) {
		int subscribers = argc > 4 ? atoi(argv[4]) : 0;
		double seconds = argc > 5 ? atof(argv[5]) : 0;
		if (argc != 6 || atoi(argv[2]) <= 0 || argv[3][0] != '/' || subscribers <= 0 || seconds <= 0) {
			fprintf(stderr, "usage: bench_fanout --node PORT PATH SUBSCRIBERS SECONDS\n");
			return 2;
		}
		raise_descriptor_limit(subscribers);
		return run_node_client(atoi(argv[2]), argv[3], subscribers, seconds);
	}
	settings cfg = {
		argc > 1 ? atoi(argv[1]) : 10000,
		argc > 2 ? atoi(argv[2]) : 40,
		argc > 3 ? (size_t)atol(argv[3]) : 1200,
		argc > 4 ? atoi(argv[4]) : 100,
	};
	const char *servers = argc > 5 ? argv[5] : "both";
	bool cairn = strcmp(servers, "reference") != 0, reference = strcmp(servers, "cairn") != 0;
	if (cfg.subscribers <= 0 || cfg.events <= 0 || cfg.event_bytes < 64 || cfg.event_bytes > 1000000 ||
	    cfg.period_ms <= 0 || !(cairn || reference)) {
		fprintf(stderr, "usage: bench_fanout [subscribers [events [event_bytes [period_ms "
				"[both|cairn|reference]]]]]\n");
		return 2;
	}
	raise_descriptor_limit(cfg.subscribers);
	cairn_log_set_level(CAIRN_LOG_WARN);
	const char *header = getenv("CAIRN_BENCH_HEADER");
	if (header != NULL && strcmp(header, "1") == 0) {
		printf("%11s %6s  %-10s %8s %8s %8s %9s %10s %15s %10s\n", "", "event", "", "last", "last", "last", "first",
			"publish", "cpu ms/event", "ratio");
		printf("%11s %6s  %-10s %8s %8s %8s %9s %10s %7s %7s %10s\n", "subscribers", "bytes", "server", "p50 ms",
			"p99 ms", "max ms", "p50 ms", "busy us", "server", "client", "last p50");
		fflush(stdout);
	}
	figures ref = {0}, own = {0};
	if (reference)
		ref = bench_reference(&cfg);
	if (cairn)
		own = bench_cairn(&cfg);
	if (reference)
		print_row(&cfg, "write loop", &ref, NULL);
	if (cairn)
		print_row(&cfg, "cairn", &own, reference ? &ref : NULL);
	return 0;
}
