/*
 * stream_fixture.h: the real server with an event-stream route, and a
 * minimal blocking client that de-chunks what it receives, for the unit
 * tests of event streams.  Include after cmocka.h.
 */
#ifndef CAIRN_TESTS_STREAM_FIXTURE_H
#define CAIRN_TESTS_STREAM_FIXTURE_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/server.h"
#include "http/stream.h"

typedef struct fixture {
	cairn_http_router *router;
	cairn_http_server *server;
	cairn_http_topic *topic;
} fixture;

static inline void events_handler(cairn_http_response *res, const cairn_http_request *req, void *ctx)
{
	(void)req;
	cairn_http_respond_stream(res, ctx);
}

static inline void plain_handler(cairn_http_response *res, const cairn_http_request *req, void *ctx)
{
	(void)req;
	(void)ctx;
	cairn_http_respond_static(res, 200, CAIRN_HTTP_TEXT_PLAIN, "plain\n", 6);
}

/* A server with GET /events (a stream of the fixture's topic) and GET
 * /plain; max_connections 0 means the default. */
static inline fixture *start_with(size_t queue_limit, unsigned max_connections)
{
	fixture *f = calloc(1, sizeof(*f));
	cairn_http_topic_options topts = CAIRN_HTTP_TOPIC_OPTIONS_INIT;
	topts.queue_limit = queue_limit;
	assert_int_equal(cairn_http_topic_create(&f->topic, &topts), CAIRN_OK);
	assert_int_equal(cairn_http_router_create(&f->router, "development"), CAIRN_OK);
	assert_int_equal(cairn_http_router_add(f->router, CAIRN_HTTP_GET, "/events", events_handler, f->topic), CAIRN_OK);
	assert_int_equal(cairn_http_router_add(f->router, CAIRN_HTTP_GET, "/plain", plain_handler, NULL), CAIRN_OK);
	cairn_http_server_options opts = CAIRN_HTTP_SERVER_OPTIONS_INIT;
	opts.threads = 2;
	opts.max_connections = max_connections;
	assert_int_equal(cairn_http_server_start(&f->server, f->router, &opts), CAIRN_OK);
	return f;
}

static inline fixture *start(size_t queue_limit)
{
	return start_with(queue_limit, 0);
}

static inline void stop(fixture *f)
{
	cairn_http_server_free(f->server);
	cairn_http_topic_free(f->topic);
	cairn_http_router_free(f->router);
	free(f);
}

/* ---- a minimal blocking client ---- */

typedef struct client {
	int fd;
	char *raw;      /* received, not yet consumed */
	size_t raw_len;
	char *body;     /* de-chunked body */
	size_t body_len, body_cap;
	bool ended;     /* the terminating chunk arrived */
} client;

static inline client *client_connect(fixture *f, int rcvbuf)
{
	client *c = calloc(1, sizeof(*c));
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(c->fd >= 0);
	if (rcvbuf > 0)
		setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	struct timeval tv = {.tv_sec = 20};
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cairn_http_server_port(f->server))};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return c;
}

static inline void client_send(client *c, const char *text)
{
	assert_int_equal(send(c->fd, text, strlen(text), MSG_NOSIGNAL), (ssize_t)strlen(text));
}

/* Receives more bytes; false at end of stream. */
static inline bool client_fill(client *c)
{
	char buf[65536];
	ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
	assert_true(n >= 0); /* a timeout fails the test rather than hanging it */
	if (n == 0)
		return false;
	c->raw = realloc(c->raw, c->raw_len + (size_t)n + 1);
	memcpy(c->raw + c->raw_len, buf, (size_t)n);
	c->raw_len += (size_t)n;
	c->raw[c->raw_len] = '\0';
	return true;
}

static inline void consume(client *c, size_t n)
{
	memmove(c->raw, c->raw + n, c->raw_len - n);
	c->raw_len -= n;
	c->raw[c->raw_len] = '\0';
}

/* Returns the response head (malloc'd) and keeps what follows it. */
static inline char *client_head(client *c)
{
	char *end;
	while (c->raw == NULL || (end = strstr(c->raw, "\r\n\r\n")) == NULL)
		assert_true(client_fill(c));
	size_t len = (size_t)(end - c->raw) + 4;
	char *head = strndup(c->raw, len);
	consume(c, len);
	return head;
}

/* De-chunks what has arrived; true when a whole chunk was taken. */
static inline bool take_chunk(client *c)
{
	char *eol = c->raw ? strstr(c->raw, "\r\n") : NULL;
	if (eol == NULL)
		return false;
	size_t size = strtoul(c->raw, NULL, 16);
	size_t header = (size_t)(eol - c->raw) + 2;
	if (c->raw_len < header + size + 2)
		return false;
	if (c->body_len + size + 1 > c->body_cap) {
		c->body_cap = 2 * (c->body_len + size + 1);
		c->body = realloc(c->body, c->body_cap);
	}
	memcpy(c->body + c->body_len, c->raw + header, size);
	c->body_len += size;
	c->body[c->body_len] = '\0';
	consume(c, header + size + 2);
	c->ended = size == 0;
	return true;
}

/* Reads until the body holds `want` bytes, the stream ends, or the peer closes. */
static inline void client_read_body(client *c, size_t want)
{
	while (c->body_len < want && !c->ended) {
		if (take_chunk(c))
			continue;
		if (!client_fill(c))
			return;
	}
}

static inline void client_close(client *c)
{
	close(c->fd);
	free(c->raw);
	free(c->body);
	free(c);
}

static inline client *subscribe(fixture *f, int rcvbuf, char **head_out)
{
	client *c = client_connect(f, rcvbuf);
	client_send(c, "GET /events HTTP/1.1\r\nHost: test\r\n\r\n");
	char *head = client_head(c);
	assert_non_null(strstr(head, "HTTP/1.1 200"));
	if (head_out)
		*head_out = head;
	else
		free(head);
	return c;
}

static inline void wait_for_subscribers(fixture *f, size_t n)
{
	for (int i = 0; i < 2000 && cairn_http_topic_subscriber_count(f->topic) != n; i++)
		usleep(5000);
	assert_int_equal(cairn_http_topic_subscriber_count(f->topic), n);
}

static inline cairn_http_event *make_event(const char *name, size_t data_len, char fill)
{
	char *data = malloc(data_len + 1);
	memset(data, fill, data_len);
	cairn_http_event *ev;
	assert_int_equal(cairn_http_event_create(&ev, name, data, data_len), CAIRN_OK);
	free(data);
	return ev;
}

#endif
