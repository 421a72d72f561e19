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
 * With CAIRN_BENCH_HEADER=1 the column header is printed first.
 */
#include "http/server.h"
#include "http/stream.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <errno.h>
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

/* ---- the load generator (child process) ---- */

/* One subscriber's position in its byte stream.  Events end with "\n\n"
 * (no event contains a blank line, and chunk framing never makes one);
 * after an event, its chunk's closing CRLF is skipped before the next
 * event's first byte is noted. */
typedef struct subscriber {
	int fd;
	int events;     /* complete events received */
	bool streaming; /* the response head has been read */
	bool started;   /* a byte of event `events` has arrived */
	bool newline;   /* the last byte seen was '\n' */
	uint8_t skip;   /* framing bytes still to skip */
	uint32_t head;  /* the last four head bytes, to find the blank line */
} subscriber;

typedef struct arrivals {
	int64_t *first; /* per event: earliest first byte */
	int64_t *last;  /* per event: latest last byte */
	long complete;  /* events received, over all subscribers */
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

static void event_started(subscriber *s, arrivals *a, int64_t t)
{
	s->started = true;
	if (a->first[s->events] == 0 || t < a->first[s->events])
		a->first[s->events] = t;
}

static void event_ended(subscriber *s, arrivals *a, int64_t t)
{
	if (t > a->last[s->events])
		a->last[s->events] = t;
	a->complete++;
	s->events++;
	s->started = s->newline = false;
	s->skip = 2;
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
		if (!s->started)
			event_started(s, a, t);
		if (s->newline && buf[i] == '\n') {
			event_ended(s, a, t);
			i++;
			continue;
		}
		const char *nl = memchr(buf + i, '\n', n - i);
		if (nl == NULL) {
			s->newline = false;
			return;
		}
		i = (size_t)(nl - buf) + 1;
		s->newline = true;
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
	static const char request[] = "GET /events HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n";
	if (write(fd, request, sizeof(request) - 1) != (ssize_t)sizeof(request) - 1)
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

/* Reads ready sockets until `done` says so; a silence of STALL_MS fails. */
static void receive(int ep, subscriber *subs, int n, arrivals *a, long wanted_events)
{
	static struct epoll_event ready[READY_BATCH];
	static char buf[READ_BUFFER];
	while (wanted_events < 0 ? !all_streaming(subs, n) : a->complete < wanted_events) {
		int k = epoll_wait(ep, ready, READY_BATCH, STALL_MS);
		if (k <= 0) {
			fprintf(stderr, "bench_fanout: subscribers stalled with %ld of %ld events\n", a->complete,
				wanted_events);
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

static void run_client(pipes *p, const settings *cfg)
{
	prctl(PR_SET_NAME, "bench-client");
	int64_t port;
	read_all(p->to_client[0], &port, sizeof(port));
	int n = cfg->subscribers, total = cfg->events + WARMUP;
	subscriber *subs = calloc((size_t)n, sizeof(*subs));
	arrivals a = {calloc((size_t)total, sizeof(int64_t)), calloc((size_t)total, sizeof(int64_t)), 0};
	int ep = epoll_create1(0);
	for (int i = 0; i < n; i++) {
		subs[i].fd = connect_subscriber((int)port);
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &subs[i]};
		epoll_ctl(ep, EPOLL_CTL_ADD, subs[i].fd, &ev);
	}
	receive(ep, subs, n, &a, -1);
	write_all(p->to_server[1], &a.complete, sizeof(a.complete)); /* every subscriber streams */
	int64_t cpu = cpu_ns();
	receive(ep, subs, n, &a, (long)n * total);
	cpu = cpu_ns() - cpu;
	write_all(p->to_server[1], &cpu, sizeof(cpu));
	write_all(p->to_server[1], a.first, (size_t)total * sizeof(int64_t));
	write_all(p->to_server[1], a.last, (size_t)total * sizeof(int64_t));
	struct linger abort_close = {1, 0}; /* no TIME_WAIT: runs follow each other */
	for (int i = 0; i < n; i++) {
		setsockopt(subs[i].fd, SOL_SOCKET, SO_LINGER, &abort_close, sizeof(abort_close));
		close(subs[i].fd);
	}
	exit(0);
}

static pid_t start_client(pipes *p, const settings *cfg)
{
	if (pipe(p->to_client) != 0 || pipe(p->to_server) != 0)
		die("pipe");
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0)
		run_client(p, cfg);
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
	close(p->to_client[0]), close(p->to_client[1]), close(p->to_server[0]), close(p->to_server[1]);
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
	read_all(p->to_server[0], first, (size_t)total * sizeof(int64_t));
	read_all(p->to_server[0], last, (size_t)total * sizeof(int64_t));
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
