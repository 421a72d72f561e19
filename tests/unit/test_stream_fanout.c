/* Unit tests for the fan-out of event streams and the server's capacity, on
 * the real server over loopback: 2,000 concurrent subscribers all receive
 * the same events in order and, at shutdown, the terminating chunk; an
 * HTTP/1.0 stream gets bare events and ends by closing; a client that
 * leaves is unsubscribed; HEAD on a stream answers the head only; and a
 * connection beyond the server's limit, or arriving when descriptors have
 * run out, gets a complete 503. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <sys/resource.h>

#include "stream_fixture.h"

#define MANY_SUBSCRIBERS 2000

typedef struct shutdown_call {
	cairn_http_server *server;
	unsigned left;
} shutdown_call;

static void *shutdown_thread(void *arg)
{
	shutdown_call *call = arg;
	call->left = cairn_http_server_shutdown(call->server, 120000);
	return NULL;
}

/* Each subscriber holds two descriptors in this process (client and server end). */
static bool allow_descriptors(rlim_t needed)
{
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < needed && rl.rlim_max >= needed) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= needed;
}

/* Event k carries its number; sizes mix header-, block- and oversized events. */
static cairn_http_event *numbered_event(int k)
{
	static const size_t sizes[] = {200, 1200, 3000, 1200, 16 * 1024};
	size_t len = sizes[k % 5];
	char *data = malloc(len);
	memset(data, 'a' + k % 26, len);
	int head = snprintf(data, len, "{\"n\":%d,", k);
	data[head] = 'x'; /* replaces the NUL snprintf left */
	cairn_http_event *ev;
	assert_int_equal(cairn_http_event_create(&ev, "BlockHeader", data, len), CAIRN_OK);
	free(data);
	return ev;
}

static void test_many_subscribers_get_every_event_in_order(void **state)
{
	(void)state;
	if (!allow_descriptors(2 * MANY_SUBSCRIBERS + 256))
		skip(); /* the hard open-file limit is too low for this test */
	fixture *f = start(64);
	client **clients = calloc(MANY_SUBSCRIBERS, sizeof(*clients));
	/* Every tenth client has a small receive buffer. */
	for (int i = 0; i < MANY_SUBSCRIBERS; i++)
		clients[i] = subscribe(f, i % 10 == 0 ? 4096 : 0, NULL);
	wait_for_subscribers(f, MANY_SUBSCRIBERS);

	/* Twenty events: more bytes than a small-buffered client holds before
	 * it reads (its stream waits on a full socket, then resumes), fewer
	 * events than the queue limit (none is dropped).  Clients are read one
	 * after the other, while the server shuts down. */
	const int events = 20;
	size_t expected_len = 0;
	char *expected = NULL;
	for (int k = 0; k < events; k++) {
		cairn_http_event *ev = numbered_event(k);
		size_t len;
		const char *bytes = cairn_http_event_bytes(ev, &len);
		expected = realloc(expected, expected_len + len + 1);
		memcpy(expected + expected_len, bytes, len);
		expected_len += len;
		assert_int_equal(cairn_http_topic_publish(f->topic, ev), MANY_SUBSCRIBERS);
		cairn_http_event_unref(ev);
	}
	expected[expected_len] = '\0';

	shutdown_call call = {f->server, 99};
	pthread_t thread;
	pthread_create(&thread, NULL, shutdown_thread, &call);
	for (int i = 0; i < MANY_SUBSCRIBERS; i++) {
		client_read_body(clients[i], expected_len + 1);
		assert_true(clients[i]->ended);
		assert_int_equal(clients[i]->body_len, expected_len);
		assert_memory_equal(clients[i]->body, expected, expected_len);
		client_close(clients[i]);
	}
	pthread_join(thread, NULL);
	assert_int_equal(call.left, 0);
	wait_for_subscribers(f, 0);
	free(expected);
	free(clients);
	stop(f);
}

static void test_http10_stream_is_bare_and_ends_by_closing(void **state)
{
	(void)state;
	fixture *f = start(8);
	client *c = client_connect(f, 0);
	client_send(c, "GET /events HTTP/1.0\r\n\r\n");
	char *head = client_head(c);
	assert_non_null(strstr(head, " 200 "));
	assert_null(strstr(head, "chunked"));
	assert_non_null(strstr(head, "x-chainweb-node-version: "));
	free(head);
	wait_for_subscribers(f, 1);
	cairn_http_event *a = make_event("BlockHeader", 10, 'a'), *b = make_event("BlockHeader", 5000, 'b');
	cairn_http_topic_publish(f->topic, a);
	cairn_http_topic_publish(f->topic, b);
	cairn_http_topic_close(f->topic);
	size_t alen, blen;
	const char *abytes = cairn_http_event_bytes(a, &alen), *bbytes = cairn_http_event_bytes(b, &blen);
	while (client_fill(c))
		continue;
	assert_int_equal(c->raw_len, alen + blen);
	assert_memory_equal(c->raw, abytes, alen);
	assert_memory_equal(c->raw + alen, bbytes, blen);
	cairn_http_event_unref(a);
	cairn_http_event_unref(b);
	client_close(c);
	stop(f);
}

static void test_client_that_leaves_is_unsubscribed(void **state)
{
	(void)state;
	fixture *f = start(8);
	client *leaving = subscribe(f, 0, NULL);
	client *staying = subscribe(f, 0, NULL);
	wait_for_subscribers(f, 2);
	client_close(leaving);
	wait_for_subscribers(f, 1);
	cairn_http_event *ev = make_event("BlockHeader", 100, 'z');
	assert_int_equal(cairn_http_topic_publish(f->topic, ev), 1);
	size_t len;
	const char *bytes = cairn_http_event_bytes(ev, &len);
	client_read_body(staying, len);
	assert_int_equal(staying->body_len, len);
	assert_memory_equal(staying->body, bytes, len);
	cairn_http_event_unref(ev);
	client_close(staying);
	stop(f);
}

static void test_head_on_a_stream_sends_the_head_only(void **state)
{
	(void)state;
	fixture *f = start(8);
	client *c = client_connect(f, 0);
	client_send(c, "HEAD /events HTTP/1.1\r\nHost: test\r\n\r\n");
	char *head = client_head(c);
	assert_non_null(strstr(head, " 200 OK\r\n"));
	assert_non_null(strstr(head, "Content-Type: text/event-stream\r\n"));
	assert_non_null(strstr(head, "x-chainweb-node-version: "));
	assert_null(strstr(head, "Content-Length"));
	assert_null(strstr(head, "Transfer-Encoding"));
	free(head);
	assert_int_equal(cairn_http_topic_subscriber_count(f->topic), 0);
	assert_false(client_fill(c)); /* nothing follows the head: no chunk, then the close */
	assert_int_equal(c->raw_len, 0);
	client_close(c);
	stop(f);
}

/* The status line of a GET /plain on a new connection; the head is in *head_out when asked. */
static int plain_status(fixture *f, char **head_out)
{
	client *c = client_connect(f, 0);
	client_send(c, "GET /plain HTTP/1.1\r\nHost: test\r\n\r\n");
	char *head = client_head(c);
	int status = atoi(head + strlen("HTTP/1.1 "));
	if (head_out)
		*head_out = head;
	else
		free(head);
	client_close(c);
	return status;
}

static void test_connection_beyond_the_limit_gets_503(void **state)
{
	(void)state;
	fixture *f = start_with(8, 4);
	client *streams[4];
	for (int i = 0; i < 4; i++)
		streams[i] = subscribe(f, 0, NULL);
	wait_for_subscribers(f, 4);
	char *head;
	assert_int_equal(plain_status(f, &head), 503);
	assert_non_null(strstr(head, "Connection: close\r\n"));
	assert_non_null(strstr(head, "x-peer-addr: 127.0.0.1:"));
	assert_non_null(strstr(head, "x-server-timestamp: "));
	assert_non_null(strstr(head, "x-chainweb-node-version: " CAIRN_VERSION "\r\n"));
	free(head);
	/* A stream that ends frees its place. */
	client_close(streams[0]);
	wait_for_subscribers(f, 3);
	int status = 503;
	for (int i = 0; i < 200 && status == 503; i++) {
		status = plain_status(f, NULL);
		if (status == 503)
			usleep(10000);
	}
	assert_int_equal(status, 200);
	for (int i = 1; i < 4; i++)
		client_close(streams[i]);
	stop(f);
}

/* With the descriptor table full, the server still answers: it gives up
 * its spare descriptor to accept the connection and send the 503. */
static void test_connection_without_descriptors_gets_503(void **state)
{
	(void)state;
	fixture *f = start(8);
	enum { MAX_FILLERS = 1 << 20 };
	int *fillers = malloc(MAX_FILLERS * sizeof(int));
	int count = 0;
	while (count < MAX_FILLERS && (fillers[count] = dup(STDERR_FILENO)) >= 0)
		count++;
	assert_true(count > 0 && count < MAX_FILLERS);
	close(fillers[--count]); /* room for the client's socket */
	client *c = client_connect(f, 0);
	client_send(c, "GET /plain HTTP/1.1\r\nHost: test\r\n\r\n");
	char *head = client_head(c);
	for (int i = 0; i < count; i++)
		close(fillers[i]);
	free(fillers);
	assert_true(strncmp(head, "HTTP/1.1 503", 12) == 0);
	assert_non_null(strstr(head, "x-server-timestamp: "));
	free(head);
	while (client_fill(c))
		continue;
	assert_non_null(strstr(c->raw, "out of file descriptors"));
	client_close(c);
	assert_int_equal(plain_status(f, NULL), 200); /* the spare is back */
	stop(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_subscribers_get_every_event_in_order),
		cmocka_unit_test(test_http10_stream_is_bare_and_ends_by_closing),
		cmocka_unit_test(test_client_that_leaves_is_unsubscribed),
		cmocka_unit_test(test_head_on_a_stream_sends_the_head_only),
		cmocka_unit_test(test_connection_beyond_the_limit_gets_503),
		cmocka_unit_test(test_connection_without_descriptors_gets_503),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
