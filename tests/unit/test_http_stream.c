/* Unit tests for http/stream on the real server over loopback: events fan
 * out to every subscriber in order, a subscriber that stops reading is
 * dropped without slowing the others, closing a topic or shutting the
 * server down ends every stream cleanly, and shutdown lets a request in
 * flight finish.  The test is the publisher; clients are raw sockets. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http/server.h"
#include "http/stream.h"
#include "stream_fixture.h"

/* ---- tests ---- */

static void test_event_wire_format(void **state)
{
	(void)state;
	cairn_http_event *ev;
	assert_int_equal(cairn_http_event_create(&ev, "BlockHeader", "{\"a\":1}", 7), CAIRN_OK);
	size_t len;
	const char *bytes = cairn_http_event_bytes(ev, &len);
	assert_int_equal(len, strlen("event:BlockHeader\ndata:{\"a\":1}\n\n"));
	assert_memory_equal(bytes, "event:BlockHeader\ndata:{\"a\":1}\n\n", len);
	cairn_http_event_unref(ev);
	assert_int_equal(cairn_http_event_create(&ev, "Block", "a\nb", 3), CAIRN_EINVALID);
	assert_int_equal(cairn_http_event_create(&ev, "Bad\nName", "x", 1), CAIRN_EINVALID);
	assert_int_equal(cairn_http_event_create(&ev, "", "x", 1), CAIRN_EINVALID);
}

static void test_events_reach_every_subscriber_in_order(void **state)
{
	(void)state;
	fixture *f = start(16);
	char *head;
	client *a = subscribe(f, 0, &head);
	client *b = subscribe(f, 0, NULL);
	wait_for_subscribers(f, 2);
	assert_non_null(strstr(head, "Content-Type: text/event-stream\r\n"));
	assert_non_null(strstr(head, "Transfer-Encoding: chunked\r\n"));
	assert_non_null(strstr(head, "x-chainweb-node-version: " CAIRN_VERSION "\r\n"));
	struct sockaddr_in local;
	socklen_t len = sizeof(local);
	getsockname(a->fd, (struct sockaddr *)&local, &len);
	char expected_peer[64];
	snprintf(expected_peer, sizeof(expected_peer), "x-peer-addr: 127.0.0.1:%u\r\n", ntohs(local.sin_port));
	assert_non_null(strstr(head, expected_peer));
	free(head);

	const char *const payloads[] = {"{\"height\":1}", "{\"height\":2}", "{\"height\":3}"};
	char expected[256] = "";
	for (int i = 0; i < 3; i++) {
		cairn_http_event *ev;
		assert_int_equal(cairn_http_event_create(&ev, "BlockHeader", payloads[i], strlen(payloads[i])), CAIRN_OK);
		assert_int_equal(cairn_http_topic_publish(f->topic, ev), 2);
		cairn_http_event_unref(ev);
		snprintf(expected + strlen(expected), sizeof(expected) - strlen(expected),
			"event:BlockHeader\ndata:%s\n\n", payloads[i]);
	}
	client_read_body(a, strlen(expected));
	client_read_body(b, strlen(expected));
	assert_string_equal(a->body, expected);
	assert_string_equal(b->body, expected);
	client_close(a);
	client_close(b);
	stop(f);
}

static void test_subscriber_that_stops_reading_is_dropped(void **state)
{
	(void)state;
	fixture *f = start(4);
	client *slow = subscribe(f, 4096, NULL);
	client *fast = subscribe(f, 0, NULL);
	wait_for_subscribers(f, 2);
	/* 256 events of 64 KiB: far more than the kernel buffers of the slow
	 * client hold.  The fast client takes each event before the next. */
	const size_t size = 64 * 1024, count = 256;
	size_t event_len = 0;
	for (size_t i = 0; i < count; i++) {
		cairn_http_event *ev = make_event("BlockHeader", size, (char)('a' + i % 26));
		cairn_http_event_bytes(ev, &event_len);
		cairn_http_topic_publish(f->topic, ev);
		cairn_http_event_unref(ev);
		client_read_body(fast, (i + 1) * event_len);
		assert_int_equal(fast->body_len, (i + 1) * event_len);
	}
	assert_int_equal(fast->body[fast->body_len - 3], 'a' + (count - 1) % 26);
	wait_for_subscribers(f, 1);
	/* The slow client finds the stream cut short, not terminated cleanly. */
	client_read_body(slow, count * event_len);
	assert_false(slow->ended);
	assert_true(slow->body_len < count * event_len);
	client_close(slow);
	client_close(fast);
	stop(f);
}

static void test_topic_close_ends_streams_and_refuses_new_ones(void **state)
{
	(void)state;
	fixture *f = start(8);
	client *c = subscribe(f, 0, NULL);
	wait_for_subscribers(f, 1);
	cairn_http_event *ev = make_event("BlockHeader", 10, 'x');
	cairn_http_topic_publish(f->topic, ev);
	cairn_http_topic_close(f->topic);
	size_t len;
	cairn_http_event_bytes(ev, &len);
	client_read_body(c, len + 1);
	assert_true(c->ended); /* what was queued is sent, then the terminating chunk */
	assert_int_equal(c->body_len, len);
	cairn_http_event_unref(ev);

	client *late = client_connect(f, 0);
	client_send(late, "GET /events HTTP/1.1\r\nHost: test\r\n\r\n");
	char *head = client_head(late);
	assert_non_null(strstr(head, "HTTP/1.1 503"));
	assert_non_null(strstr(head, "x-server-timestamp: "));
	free(head);
	client_close(late);
	client_close(c);
	stop(f);
}

static void test_shutdown_ends_streams(void **state)
{
	(void)state;
	fixture *f = start(8);
	client *a = subscribe(f, 0, NULL);
	client *b = subscribe(f, 0, NULL);
	wait_for_subscribers(f, 2);
	assert_int_equal(cairn_http_server_shutdown(f->server, 5000), 0);
	client_read_body(a, 1);
	client_read_body(b, 1);
	assert_true(a->ended);
	assert_true(b->ended);
	wait_for_subscribers(f, 0);
	client_close(a);
	client_close(b);
	stop(f);
}

typedef struct shutdown_call {
	cairn_http_server *server;
	unsigned left;
} shutdown_call;

static void *shutdown_thread(void *arg)
{
	shutdown_call *call = arg;
	call->left = cairn_http_server_shutdown(call->server, 10000);
	return NULL;
}

static void test_shutdown_lets_a_request_in_flight_finish(void **state)
{
	(void)state;
	fixture *f = start(8);
	client *c = client_connect(f, 0);
	client_send(c, "GET /plain HTTP/1.1\r\nHost: test\r\n");
	for (int i = 0; i < 2000 && cairn_http_server_in_flight(f->server) == 0; i++)
		usleep(5000);
	assert_int_equal(cairn_http_server_in_flight(f->server), 1);
	shutdown_call call = {f->server, 99};
	pthread_t thread;
	pthread_create(&thread, NULL, shutdown_thread, &call);
	usleep(100000); /* the shutdown is now waiting for this request */
	client_send(c, "\r\n");
	char *head = client_head(c);
	assert_non_null(strstr(head, "HTTP/1.1 200"));
	free(head);
	pthread_join(thread, NULL);
	assert_int_equal(call.left, 0);
	client_close(c);
	stop(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_wire_format),
		cmocka_unit_test(test_events_reach_every_subscriber_in_order),
		cmocka_unit_test(test_subscriber_that_stops_reading_is_dropped),
		cmocka_unit_test(test_topic_close_ends_streams_and_refuses_new_ones),
		cmocka_unit_test(test_shutdown_ends_streams),
		cmocka_unit_test(test_shutdown_lets_a_request_in_flight_finish),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
