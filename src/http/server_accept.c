/*
 * server_accept.c: the listener, the acceptor and the connection book of
 * server_accept.h.
 *
 * Threads: the acceptor thread accepts, refuses and sweeps deadlines; the
 * library's workers report connections opening and closing and requests
 * being read and answered.  `book_lock` guards the book: the list of open
 * connections and the per-address counts.  A connection's `waiting_since`
 * (monotonic ms; -1 while its request is read or its response sent) is
 * atomic: workers set it without the lock.
 *
 * Shutting a connection down from the acceptor races its closing in the
 * library: the sweep holds book_lock (a connection leaves the book under
 * it, when the library reports it closed) and first checks with
 * getpeername() that the descriptor still is that connection's socket, so
 * a descriptor number reused in between is never touched.
 *
 * Memory: each connection's buffer pool and bookkeeping are allocated by
 * this thread and freed by the library's workers.  glibc keeps freed
 * blocks mapped, and a wave of 2,000 connections left the heap 2-4 MB
 * larger each time (idle RSS 32 MB -> 67 MB after twelve waves): once
 * TRIM_AFTER connections have closed since the last time, the thread
 * returns the free pages to the system (malloc_trim), at most once per
 * SWEEP_MS, so the node's memory recovers when a flood ends.
 *
 * Counts per address are taken from the library's notifications, so a
 * burst from one address can overshoot the limit by the connections not
 * yet reported; the library's own per-address limit, set with a margin,
 * backs it up as the global one does.
 */
#include "http/server_accept.h"
#include "util/error.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define ACCEPT_BATCH 64 /* connections accepted between checks for a stop */
#define SWEEP_MS 1000
#define ADDRESS_BUCKETS 1024
#define TRIM_AFTER 256 /* closed connections that make the free heap worth returning */

typedef struct address_count {
	struct address_count *next;
	uint8_t key[16]; /* IPv6, or IPv4-mapped */
	unsigned count;
} address_count;

typedef struct tracked {
	struct tracked *prev, *next;
	int fd;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	uint8_t key[16];
	atomic_llong waiting_since; /* monotonic ms; -1: not waiting for a request */
	bool timed_out;
} tracked;

struct cairn_http__acceptor {
	int listen_fd;
	int stop_fd;     /* eventfd that ends the thread */
	pthread_t thread;
	bool running;
	int port;
	char address[CAIRN_HTTP_PEER_MAX];
	char *node_version;
	struct MHD_Daemon *daemon;
	cairn_http__limits limits;
	int spare_fd;    /* given up to answer a connection when descriptors run out */
	cairn_log_throttle refusals;
	int64_t last_sweep_ms;
	int64_t last_trim_ms;

	pthread_mutex_t book_lock;
	tracked *open;   /* the open connections */
	unsigned open_count;
	unsigned closed_since_trim;
	address_count *by_address[ADDRESS_BUCKETS];
};

static int64_t monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- addresses ---- */

/* Writes `value` in decimal at `p`; returns the end.  Every response
 * formats an address and a timestamp, and printf costs more than the rest
 * of our per-request work. */
static char *put_decimal(char *p, unsigned long long value)
{
	char digits[20];
	int n = 0;
	do {
		digits[n++] = (char)('0' + value % 10);
		value /= 10;
	} while (value != 0);
	while (n > 0)
		*p++ = digits[--n];
	return p;
}

static char *put_ipv4(char *p, const uint8_t octets[4])
{
	for (int i = 0; i < 4; i++) {
		p = put_decimal(p, octets[i]);
		*p++ = i < 3 ? '.' : ':';
	}
	return p;
}

/* "1.2.3.4:5678" or "[::1]:5678" (at most CAIRN_HTTP_PEER_MAX bytes with
 * the NUL); IPv4-mapped IPv6 addresses print as IPv4. */
void cairn_http__format_address(char *out, const struct sockaddr *sa)
{
	char *p = out;
	unsigned port = 0;
	if (sa != NULL && sa->sa_family == AF_INET) {
		const struct sockaddr_in *in4 = (const struct sockaddr_in *)sa;
		p = put_ipv4(p, (const uint8_t *)&in4->sin_addr);
		port = ntohs(in4->sin_port);
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			p = put_ipv4(p, &in6->sin6_addr.s6_addr[12]);
		} else {
			*p++ = '[';
			inet_ntop(AF_INET6, &in6->sin6_addr, p, INET6_ADDRSTRLEN);
			p += strlen(p);
			*p++ = ']';
			*p++ = ':';
		}
		port = ntohs(in6->sin6_port);
	} else {
		*p++ = '?';
		*p++ = ':';
	}
	*put_decimal(p, port) = '\0';
}

static int parse_interface(struct sockaddr_storage *ss, socklen_t *len, const char *interface, int port)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, interface, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*len = sizeof(*in4);
	} else if (inet_pton(AF_INET6, interface, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
	} else {
		return cairn_error_set(CAIRN_EINVALID, "'%s' is not an IPv4 or IPv6 address", interface);
	}
	return CAIRN_OK;
}

static int open_listener(cairn_http__acceptor *s, const char *interface, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int rc = parse_interface(&ss, &len, interface, port);
	if (rc != CAIRN_OK)
		return rc;
	char wanted[CAIRN_HTTP_PEER_MAX];
	cairn_http__format_address(wanted, (struct sockaddr *)&ss);
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return cairn_error_set_errno(CAIRN_EIO, errno, "cannot listen on %s", wanted);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, SOMAXCONN) != 0) {
		int err = errno;
		close(fd);
		if (err == EADDRINUSE)
			return cairn_error_set(CAIRN_EBUSY, "cannot listen on %s: the port is already in use", wanted);
		return cairn_error_set_errno(cairn_error_from_errno(err), err, "cannot listen on %s", wanted);
	}
	len = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &len);
	cairn_http__format_address(s->address, (struct sockaddr *)&ss);
	s->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
		: ((struct sockaddr_in6 *)&ss)->sin6_port);
	s->listen_fd = fd;
	return CAIRN_OK;
}


const char *cairn_http__timestamp(void)
{
	static _Thread_local time_t formatted_second = -1;
	static _Thread_local char timestamp[24];
	time_t now = time(NULL);
	if (now != formatted_second) {
		*put_decimal(timestamp, (unsigned long long)now) = '\0';
		formatted_second = now;
	}
	return timestamp;
}

/* ---- the book ---- */

/* The address of `sa` as 16 bytes (IPv4 mapped into IPv6), for counting. */
static void address_key(uint8_t key[16], const struct sockaddr *sa)
{
	memset(key, 0, 16);
	if (sa != NULL && sa->sa_family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		memcpy(key, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	}
}

static address_count **address_slot(cairn_http__acceptor *a, const uint8_t key[16])
{
	uint32_t h = 2166136261u;
	for (int i = 0; i < 16; i++)
		h = (h ^ key[i]) * 16777619u;
	address_count **p = &a->by_address[h % ADDRESS_BUCKETS];
	while (*p != NULL && memcmp((*p)->key, key, 16) != 0)
		p = &(*p)->next;
	return p;
}

/* Connections open from the address of `key`; with book_lock held. */
static unsigned open_from(cairn_http__acceptor *a, const uint8_t key[16])
{
	address_count *c = *address_slot(a, key);
	return c != NULL ? c->count : 0;
}

static void count_address(cairn_http__acceptor *a, const uint8_t key[16], int delta)
{
	address_count **p = address_slot(a, key);
	if (*p == NULL && delta > 0 && (*p = calloc(1, sizeof(**p))) != NULL)
		memcpy((*p)->key, key, 16);
	if (*p == NULL)
		return;
	(*p)->count += (unsigned)delta;
	if ((*p)->count == 0) {
		address_count *gone = *p;
		*p = gone->next;
		free(gone);
	}
}

static tracked *track(cairn_http__acceptor *a, struct MHD_Connection *connection)
{
	tracked *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	const union MHD_ConnectionInfo *fd = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
	const union MHD_ConnectionInfo *peer = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	t->fd = fd != NULL ? fd->connect_fd : -1;
	if (peer != NULL && peer->client_addr != NULL) {
		t->peer_len = peer->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
			: sizeof(struct sockaddr_in);
		memcpy(&t->peer, peer->client_addr, t->peer_len);
	}
	address_key(t->key, (struct sockaddr *)&t->peer);
	atomic_init(&t->waiting_since, monotonic_ms());
	pthread_mutex_lock(&a->book_lock);
	t->next = a->open;
	if (a->open != NULL)
		a->open->prev = t;
	a->open = t;
	a->open_count++;
	count_address(a, t->key, 1);
	pthread_mutex_unlock(&a->book_lock);
	return t;
}

static void untrack(cairn_http__acceptor *a, tracked *t)
{
	pthread_mutex_lock(&a->book_lock);
	if (t->prev != NULL)
		t->prev->next = t->next;
	else
		a->open = t->next;
	if (t->next != NULL)
		t->next->prev = t->prev;
	a->open_count--;
	a->closed_since_trim++;
	count_address(a, t->key, -1);
	pthread_mutex_unlock(&a->book_lock);
	free(t);
}

void cairn_http__acceptor_on_connection(cairn_http__acceptor *a, struct MHD_Connection *connection,
	void **socket_state, enum MHD_ConnectionNotificationCode code)
{
	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		*socket_state = track(a, connection);
	else if (*socket_state != NULL)
		untrack(a, *socket_state);
}

static void set_waiting(struct MHD_Connection *connection, long long since)
{
	const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	tracked *t = info != NULL ? info->socket_context : NULL;
	if (t != NULL)
		atomic_store(&t->waiting_since, since);
}

void cairn_http__acceptor_request_read(struct MHD_Connection *connection)
{
	set_waiting(connection, -1);
}

void cairn_http__acceptor_request_done(struct MHD_Connection *connection)
{
	set_waiting(connection, monotonic_ms());
}

/* ---- deadlines ---- */

/* True when `fd` still is the socket connected to t's peer. */
static bool same_socket(const tracked *t)
{
	struct sockaddr_storage now;
	socklen_t len = sizeof(now);
	return t->fd >= 0 && getpeername(t->fd, (struct sockaddr *)&now, &len) == 0 && len == t->peer_len &&
		memcmp(&now, &t->peer, len) == 0;
}

/* Answers 408 and shuts the connection down; the library then closes it. */
static void time_out(cairn_http__acceptor *a, tracked *t)
{
	char peer[CAIRN_HTTP_PEER_MAX], body[96], response[512];
	cairn_http__format_address(peer, (struct sockaddr *)&t->peer);
	int body_len = snprintf(body, sizeof(body), "request not received within %u s\n", a->limits.request_timeout_s);
	int len = snprintf(response, sizeof(response),
		"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: " CAIRN_HTTP_TEXT_PLAIN "\r\n"
		"Content-Length: %d\r\nx-peer-addr: %s\r\nx-server-timestamp: %s\r\nx-chainweb-node-version: %s\r\n\r\n%s",
		body_len, peer, cairn_http__timestamp(), a->node_version, body);
	if (len > 0 && (size_t)len < sizeof(response))
		send(t->fd, response, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT);
	shutdown(t->fd, SHUT_RDWR);
	t->timed_out = true;
}

/* Times out the connections whose request is overdue. */
static void sweep(cairn_http__acceptor *a)
{
	int64_t now = monotonic_ms();
	if (a->limits.request_timeout_s == 0 || now - a->last_sweep_ms < SWEEP_MS)
		return;
	a->last_sweep_ms = now;
	int64_t overdue = now - (int64_t)a->limits.request_timeout_s * 1000;
	unsigned closed = 0;
	pthread_mutex_lock(&a->book_lock);
	for (tracked *t = a->open; t != NULL; t = t->next) {
		long long since = atomic_load(&t->waiting_since);
		if (!t->timed_out && since >= 0 && since < overdue && same_socket(t)) {
			time_out(a, t);
			closed++;
		}
	}
	pthread_mutex_unlock(&a->book_lock);
	if (closed > 0)
		cairn_log_warn("http", "%u connections closed with 408: no complete request within %u s", closed,
			a->limits.request_timeout_s);
}

/* Returns the heap's free pages to the system after a wave of closed
 * connections (see the top comment). */
static void trim_memory(cairn_http__acceptor *a)
{
	int64_t now = monotonic_ms();
	if (now - a->last_trim_ms < SWEEP_MS)
		return;
	pthread_mutex_lock(&a->book_lock);
	bool due = a->closed_since_trim >= TRIM_AFTER;
	if (due)
		a->closed_since_trim = 0;
	pthread_mutex_unlock(&a->book_lock);
	if (due) {
		a->last_trim_ms = now;
		malloc_trim(0);
	}
}

/* ---- accepting ---- */

/* Waits until the listener is readable (true) or the thread must stop
 * (false); wakes at least every SWEEP_MS for the deadlines and trimming.  After a failed
 * accept (out of descriptors) it does not watch the listener for 100 ms,
 * so a full descriptor table does not spin the thread. */
static bool wait_for_connection(cairn_http__acceptor *a, bool backoff)
{
	struct pollfd fds[2] = {{.fd = a->stop_fd, .events = POLLIN}, {.fd = a->listen_fd, .events = POLLIN}};
	int n = poll(fds, backoff ? 1 : 2, backoff ? 100 : SWEEP_MS);
	return !(n > 0 && (fds[0].revents & POLLIN));
}

/* Logs a refusal: at most one line a second, counting the others. */
static void log_refusal(cairn_http__acceptor *a, const char *peer, const char *reason)
{
	unsigned long held_back;
	if (cairn_log_throttle_pass(&a->refusals, &held_back))
		cairn_log_warn("http", "connection from %s refused with 503: %s (%lu more since the last report)", peer,
			reason, held_back);
}

/* Answers a connection the server cannot take with a complete 503 of its
 * own, so the client learns why instead of waiting or seeing a reset, and
 * closes it.  What the client sent is read and discarded first: closing
 * with unread input would reset the connection and could lose the answer. */
static void refuse_connection(cairn_http__acceptor *a, int fd, const struct sockaddr *addr, const char *reason)
{
	char peer[CAIRN_HTTP_PEER_MAX];
	cairn_http__format_address(peer, addr);
	char response[1024];
	int len = snprintf(response, sizeof(response),
		"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: " CAIRN_HTTP_TEXT_PLAIN "\r\n"
		"Content-Length: %zu\r\nRetry-After: 1\r\nx-peer-addr: %s\r\nx-server-timestamp: %s\r\n"
		"x-chainweb-node-version: %s\r\n\r\n%s\n",
		strlen(reason) + 1, peer, cairn_http__timestamp(), a->node_version, reason);
	if (len > 0 && (size_t)len < sizeof(response))
		send(fd, response, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT);
	char discard[4096];
	while (recv(fd, discard, sizeof(discard), MSG_DONTWAIT) > 0)
		continue;
	shutdown(fd, SHUT_WR);
	close(fd);
	log_refusal(a, peer, reason);
}

/* With the descriptor table full: gives up the spare descriptor to accept
 * one connection, answers it with 503 and takes the spare back.  False
 * when there was nothing to answer. */
static bool refuse_for_descriptors(cairn_http__acceptor *a)
{
	if (a->spare_fd < 0)
		return false;
	close(a->spare_fd);
	struct sockaddr_storage addr;
	socklen_t len = sizeof(addr);
	int fd = accept4(a->listen_fd, (struct sockaddr *)&addr, &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd >= 0)
		refuse_connection(a, fd, (struct sockaddr *)&addr, "the server is out of file descriptors");
	a->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return fd >= 0;
}

/* Why a new connection from `addr` cannot be taken (into reason), or false. */
static bool over_limit(char *reason, size_t size, cairn_http__acceptor *a, const struct sockaddr *addr)
{
	uint8_t key[16];
	address_key(key, addr);
	pthread_mutex_lock(&a->book_lock);
	unsigned total = a->open_count, from = open_from(a, key);
	pthread_mutex_unlock(&a->book_lock);
	if (total >= a->limits.connections)
		snprintf(reason, size, "the server is at its limit of %u connections", a->limits.connections);
	else if (a->limits.per_address != 0 && from >= a->limits.per_address)
		snprintf(reason, size, "your address has %u connections open, the most one address may have", from);
	else
		return false;
	return true;
}

/* Hands a new connection to the library, or refuses it at a limit. */
static void admit(cairn_http__acceptor *a, int fd, const struct sockaddr *addr, socklen_t len)
{
	char reason[128];
	if (over_limit(reason, sizeof(reason), a, addr)) {
		refuse_connection(a, fd, addr, reason);
		return;
	}
	/* The library closes the socket itself when it cannot take it. */
	if (MHD_add_connection(a->daemon, fd, addr, len) != MHD_YES)
		cairn_log_warn("http", "connection refused: %s", strerror(errno));
}

/* Accepts what is pending (at most a batch, so a stop request is never
 * starved); returns true when accepting failed for lack of resources. */
static bool accept_batch(cairn_http__acceptor *a)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage addr;
		socklen_t len = sizeof(addr);
		int fd = accept4(a->listen_fd, (struct sockaddr *)&addr, &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd >= 0) {
			admit(a, fd, (struct sockaddr *)&addr, len);
			continue;
		}
		int err = errno;
		bool out_of_descriptors = err == EMFILE || err == ENFILE;
		if (out_of_descriptors && refuse_for_descriptors(a))
			continue;
		bool exhausted = out_of_descriptors || err == ENOBUFS || err == ENOMEM;
		if (exhausted)
			cairn_log_warn("http", "cannot accept a connection: %s", strerror(err));
		return exhausted;
	}
	return false;
}

static void *accept_connections(void *arg)
{
	cairn_http__acceptor *a = arg;
	bool backoff = false;
	while (wait_for_connection(a, backoff)) {
		backoff = accept_batch(a);
		sweep(a);
		trim_memory(a);
	}
	return NULL;
}

/* ---- lifecycle ---- */

int cairn_http__acceptor_open(cairn_http__acceptor **out, const char *interface, int port,
	const char *node_version)
{
	cairn_http__acceptor *a = calloc(1, sizeof(*a));
	if (a == NULL || (a->node_version = strdup(node_version)) == NULL) {
		free(a);
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	}
	a->listen_fd = -1;
	a->stop_fd = -1;
	pthread_mutex_init(&a->book_lock, NULL);
	a->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int rc = open_listener(a, interface, port);
	if (rc != CAIRN_OK) {
		cairn_http__acceptor_free(a);
		return rc;
	}
	*out = a;
	return CAIRN_OK;
}

const char *cairn_http__acceptor_address(const cairn_http__acceptor *a)
{
	return a->address;
}

int cairn_http__acceptor_port(const cairn_http__acceptor *a)
{
	return a->port;
}

int cairn_http__acceptor_start(cairn_http__acceptor *a, struct MHD_Daemon *daemon, const cairn_http__limits *limits)
{
	a->daemon = daemon;
	a->limits = *limits;
	a->last_sweep_ms = monotonic_ms();
	a->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (a->stop_fd < 0)
		return cairn_error_set_errno(CAIRN_EIO, errno, "cannot create the acceptor's event descriptor");
	int err = pthread_create(&a->thread, NULL, accept_connections, a);
	if (err != 0)
		return cairn_error_set_errno(CAIRN_EIO, err, "cannot start the acceptor thread");
	a->running = true;
	return CAIRN_OK;
}

void cairn_http__acceptor_stop(cairn_http__acceptor *a)
{
	if (a->running) {
		uint64_t one = 1;
		ssize_t ignored = write(a->stop_fd, &one, sizeof(one));
		(void)ignored;
		pthread_join(a->thread, NULL);
		a->running = false;
	}
	if (a->listen_fd >= 0)
		close(a->listen_fd);
	a->listen_fd = -1;
}

void cairn_http__acceptor_free(cairn_http__acceptor *a)
{
	if (a == NULL)
		return;
	cairn_http__acceptor_stop(a);
	if (a->stop_fd >= 0)
		close(a->stop_fd);
	if (a->spare_fd >= 0)
		close(a->spare_fd);
	for (size_t i = 0; i < ADDRESS_BUCKETS; i++)
		while (a->by_address[i] != NULL) {
			address_count *next = a->by_address[i]->next;
			free(a->by_address[i]);
			a->by_address[i] = next;
		}
	pthread_mutex_destroy(&a->book_lock);
	free(a->node_version);
	free(a);
}
