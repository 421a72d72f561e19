/*
 * test_remote_s3_check.c: the S3 client against a loopback server that
 * checks every signature with botocore and injects faults
 * (tests/unit/s3_check_server.py, run with the system python3 that has
 * python3-botocore):
 *   - cairn's Authorization header equals botocore's for a single PUT, the
 *     parts and completion of a multipart upload (query strings), a GET
 *     resumed with Range, ListObjectsV2 pages (continuation token), HEAD,
 *     DELETE, and with a session token;
 *   - a wrong secret fails at once with the store's SignatureDoesNotMatch,
 *     after exactly one request;
 *   - 503 twice then success: three requests; 429 once: two; 403: one;
 *   - a store that echoes a wrong ETag fails the upload (and a multipart
 *     upload is aborted);
 *   - a GET cut off half-way resumes with Range and delivers every byte
 *     once;
 *   - with checksum_sha256, every PUT and part carries
 *     x-amz-checksum-sha256 and the store's echo is what is checked (so a
 *     store whose ETags are not MD5s is fine), and a wrong echo fails;
 *   - cairn_s3_abort_stale_uploads aborts, across pages of
 *     ListMultipartUploads, exactly the uploads under its prefix older
 *     than its limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <openssl/sha.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "remote/s3.h"
#include "s3_fixture.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/hex.h"

static pid_t server_pid;
static int server_port;
static char endpoint[64];

static int group_setup(void **state)
{
	(void)state;
	const char *src = getenv("CAIRN_SOURCE_DIR");
	char script[4096];
	snprintf(script, sizeof(script), "%s/tests/unit/s3_check_server.py", src ? src : ".");
	int fds[2];
	if (pipe(fds) != 0)
		return -1;
	server_pid = fork();
	if (server_pid == 0) {
		setpgid(0, 0);
		/* The server ends with the test, even one a sanitizer aborts. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execl("/usr/bin/python3", "python3", script, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	FILE *in = fdopen(fds[0], "r");
	if (!in || fscanf(in, "%d", &server_port) != 1) {
		fprintf(stderr, "s3_check_server.py did not start (is python3-botocore installed?)\n");
		if (in)
			fclose(in);
		return -1;
	}
	fclose(in);
	snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", server_port);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (server_pid > 0) {
		kill(server_pid, SIGTERM);
		waitpid(server_pid, NULL, 0);
	}
	return 0;
}

static cairn_s3 *client_full(const char *key_id, const char *secret, const char *token, uint64_t part_size,
	int page_size)
{
	cairn_s3_options o = CAIRN_S3_OPTIONS_INIT;
	o.endpoint = endpoint;
	o.bucket = "bkt";
	o.path_style = true;
	o.access_key_id = key_id;
	o.secret_access_key = secret;
	o.session_token = token;
	o.part_size = part_size;
	o.list_page_size = page_size;
	o.retry_base_ms = 10;
	cairn_s3 *s3 = NULL;
	assert_int_equal(cairn_s3_create(&s3, &o), CAIRN_OK);
	return s3;
}

static cairn_s3 *client(void)
{
	return client_full("AKIDCHECK", "check-secret", NULL, 0, 0);
}

static void expect_ok(int rc)
{
	if (rc != CAIRN_OK)
		fprintf(stderr, "error: %s\n", cairn_error_last());
	assert_int_equal(rc, CAIRN_OK);
}

static size_t collect_text(char *data, size_t size, size_t n, void *ud)
{
	char *buf = ud;
	size_t have = strlen(buf), len = size * n;
	if (have + len < 8192) {
		memcpy(buf + have, data, len);
		buf[have + len] = '\0';
	}
	return len;
}

/* The server's counters for `key` ("" for the totals), "name=value" lines. */
static void stats(char out[8192], const char *key)
{
	char url[1024];
	char *enc = curl_easy_escape(NULL, key, 0);
	snprintf(url, sizeof(url), "%s/__stats%s%s", endpoint, key[0] ? "/" : "", enc);
	curl_free(enc);
	out[0] = '\0';
	CURL *e = curl_easy_init();
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect_text);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, out);
	assert_int_equal(curl_easy_perform(e), CURLE_OK);
	curl_easy_cleanup(e);
}

/* The value of `name` in a stats text (static buffer). */
static const char *stat(const char *text, const char *name)
{
	static char value[4096];
	char needle[64];
	snprintf(needle, sizeof(needle), "%s=", name);
	for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, needle, strlen(needle)) == 0) {
			const char *v = line + strlen(needle);
			size_t n = strcspn(v, "\n");
			snprintf(value, sizeof(value), "%.*s", (int)n, v);
			return value;
		}
	}
	return "";
}

static int stat_int(const char *key, const char *name)
{
	char text[8192];
	stats(text, key);
	return atoi(stat(text, name));
}

static int count_keys(void *ctx, const char *key, uint64_t size, bool is_prefix)
{
	(void)key, (void)size, (void)is_prefix;
	(*(int *)ctx)++;
	return 0;
}

static void write_file(char path[64], size_t n)
{
	snprintf(path, 64, "/tmp/cairn-s3c-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	char *buf = malloc(n);
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)(i * 7 + i / 251);
	assert_int_equal(cairn_fs_write_all(fd, buf, n), CAIRN_OK);
	free(buf);
	close(fd);
}

static void test_signatures_match_botocore(void **state)
{
	(void)state;
	int bad_before = stat_int("", "signature_bad");
	int ok_before = stat_int("", "signature_ok");
	cairn_s3 *s3 = client_full("AKIDCHECK", "check-secret", NULL, 64 * 1024, 2);
	/* Single PUT of a key that needs encoding, HEAD, GET, DELETE. */
	const char *key = "sig/a b+c=d&e~f(1)\xc3\xa9";
	expect_ok(cairn_s3_put_buffer(s3, key, "hello", 5));
	char text[8192];
	stats(text, key);
	assert_non_null(strstr(stat(text, "signed"), "content-md5"));
	assert_non_null(strstr(stat(text, "signed"), "x-amz-content-sha256"));
	uint64_t size = 0;
	expect_ok(cairn_s3_head(&size, s3, key));
	assert_int_equal(size, 5);
	char *out = NULL;
	size_t len = 0;
	expect_ok(cairn_s3_get_buffer(&out, &len, s3, key, 100));
	assert_string_equal(out, "hello");
	free(out);
	stats(text, key);
	assert_string_equal(stat(text, "signature_ok"), "3");

	/* Multipart: create, three parts, complete, each with a query. */
	char path[64];
	write_file(path, 3 * 64 * 1024 - 100);
	expect_ok(cairn_s3_put_file(NULL, s3, "sig/multi part", path, NULL));
	unlink(path);
	stats(text, "sig/multi part");
	assert_string_equal(stat(text, "methods"),
		"POST?uploads PUT?partNumber&uploadId PUT?partNumber&uploadId PUT?partNumber&uploadId POST?uploadId");
	assert_string_equal(stat(text, "signature_ok"), "5");

	/* ListObjectsV2 over pages of two: list-type, max-keys, prefix and
	 * continuation-token in the query. */
	expect_ok(cairn_s3_put_buffer(s3, "sig/z1", "1", 1));
	expect_ok(cairn_s3_put_buffer(s3, "sig/z2", "2", 1));
	int n = 0;
	expect_ok(cairn_s3_list(s3, "sig/", NULL, count_keys, &n));
	assert_int_equal(n, 4);
	assert_int_equal(stat_int("", "signature_bad"), bad_before);
	expect_ok(cairn_s3_delete(s3, key));
	assert_int_equal(cairn_s3_head(&size, s3, key), CAIRN_ENOTFOUND);
	cairn_s3_free(s3);
	/* 3 + 5 + 2 PUTs + 2 list pages + DELETE + HEAD, all signed as botocore signs. */
	assert_int_equal(stat_int("", "signature_ok") - ok_before, 14);
	assert_int_equal(stat_int("", "signature_bad"), bad_before);
}

static void test_session_token(void **state)
{
	(void)state;
	cairn_s3 *s3 = client_full("AKIDTOKEN", "token-secret", "check-token", 0, 0);
	expect_ok(cairn_s3_put_buffer(s3, "token/obj", "abc", 3));
	char *out = NULL;
	size_t len = 0;
	expect_ok(cairn_s3_get_buffer(&out, &len, s3, "token/obj", 10));
	assert_string_equal(out, "abc");
	free(out);
	cairn_s3_free(s3);
	char text[8192];
	stats(text, "token/obj");
	assert_string_equal(stat(text, "signature_ok"), "2");
	assert_non_null(strstr(stat(text, "signed"), "x-amz-security-token"));
	/* The same key id without the token: botocore signs with it, so the
	 * server refuses. */
	s3 = client_full("AKIDTOKEN", "token-secret", NULL, 0, 0);
	assert_int_equal(cairn_s3_put_buffer(s3, "token/none", "abc", 3), CAIRN_EINVALID);
	assert_non_null(strstr(cairn_error_last(), "SignatureDoesNotMatch"));
	cairn_s3_free(s3);
}

static void test_wrong_secret_fails_once(void **state)
{
	(void)state;
	cairn_s3 *s3 = client_full("AKIDCHECK", "not-the-secret", NULL, 0, 0);
	assert_int_equal(cairn_s3_put_buffer(s3, "wrong/secret", "abc", 3), CAIRN_EINVALID);
	const char *msg = cairn_error_last();
	assert_non_null(strstr(msg, "wrong/secret"));
	assert_non_null(strstr(msg, "SignatureDoesNotMatch: The request signature we calculated"));
	assert_non_null(strstr(msg, "HTTP 403"));
	cairn_s3_free(s3);
	assert_int_equal(stat_int("wrong/secret", "requests"), 1);
	assert_int_equal(stat_int("wrong/secret", "signature_bad"), 1);
}

static void test_retries(void **state)
{
	(void)state;
	cairn_s3 *s3 = client();
	expect_ok(cairn_s3_put_buffer(s3, "fail503x2/obj", "abc", 3));
	assert_int_equal(stat_int("fail503x2/obj", "requests"), 3);
	expect_ok(cairn_s3_put_buffer(s3, "fail429x1/obj", "abc", 3));
	assert_int_equal(stat_int("fail429x1/obj", "requests"), 2);
	assert_int_equal(cairn_s3_put_buffer(s3, "forbid/obj", "abc", 3), CAIRN_EINVALID);
	assert_non_null(strstr(cairn_error_last(), "AccessDenied: Access Denied (HTTP 403)"));
	assert_int_equal(stat_int("forbid/obj", "requests"), 1);
	cairn_s3_free(s3);

	/* Retries end after max_attempts; the message says how many. */
	cairn_s3_options o = CAIRN_S3_OPTIONS_INIT;
	char closed[64];
	snprintf(closed, sizeof(closed), "http://127.0.0.1:%d", s3_fixture_free_port());
	o.endpoint = closed;
	o.bucket = "bkt";
	o.path_style = true;
	o.access_key_id = "AKIDCHECK";
	o.secret_access_key = "check-secret";
	o.max_attempts = 3;
	o.retry_base_ms = 10;
	assert_int_equal(cairn_s3_create(&s3, &o), CAIRN_OK);
	assert_int_equal(cairn_s3_put_buffer(s3, "k", "abc", 3), CAIRN_EIO);
	assert_non_null(strstr(cairn_error_last(), "after 3 tries"));
	cairn_s3_free(s3);
}

/* The store going away mid-PUT, after its 100 Continue: the message says what happened, with
 * libcurl's reason, instead of an HTTP error that never came; the PUT is retried as any transfer
 * error is. */
static void test_hangup_after_continue(void **state)
{
	(void)state;
	size_t n = (size_t)2 << 20; /* above libcurl's threshold for Expect: 100-continue (1 MiB) */
	char *data = calloc(n, 1);
	assert_non_null(data);
	cairn_s3 *s3 = client();
	int rc = cairn_s3_put_buffer(s3, "hangup/obj", data, n);
	cairn_s3_free(s3);
	free(data);
	const char *msg = cairn_error_last();
	assert_int_equal(rc, CAIRN_EIO);
	assert_non_null(strstr(msg, "s3 put hangup/obj"));
	assert_non_null(strstr(msg, "the store closed the connection after HTTP 100, before its answer: "));
	assert_null(strstr(msg, "no message"));
	assert_non_null(strstr(msg, "after 5 tries"));
}

static void test_wrong_etag(void **state)
{
	(void)state;
	cairn_s3 *s3 = client_full("AKIDCHECK", "check-secret", NULL, 64 * 1024, 0);
	assert_int_equal(cairn_s3_put_buffer(s3, "badetag/obj", "abc", 3), CAIRN_EIO);
	assert_non_null(strstr(cairn_error_last(), "ETag"));
	char path[64];
	write_file(path, 3 * 64 * 1024);
	assert_int_equal(cairn_s3_put_file(NULL, s3, "badetag/multi", path, NULL), CAIRN_EIO);
	assert_non_null(strstr(cairn_error_last(), "ETag"));
	unlink(path);
	char text[8192];
	stats(text, "badetag/multi");
	/* The failed upload was aborted before the call returned. */
	assert_non_null(strstr(stat(text, "methods"), "DELETE?uploadId"));
	assert_null(strstr(stat(text, "methods"), "POST?uploadId"));
	cairn_s3_free(s3);
}

static void test_get_resumes_with_range(void **state)
{
	(void)state;
	cairn_s3 *s3 = client();
	size_t n = 100 * 1000;
	char *data = malloc(n);
	for (size_t i = 0; i < n; i++)
		data[i] = (char)(i % 253);
	expect_ok(cairn_s3_put_buffer(s3, "drop/obj", data, n));
	char *out = NULL;
	size_t len = 0;
	expect_ok(cairn_s3_get_buffer(&out, &len, s3, "drop/obj", n));
	assert_int_equal(len, n);
	assert_memory_equal(out, data, n);
	free(out);
	free(data);
	char text[8192];
	stats(text, "drop/obj");
	assert_string_equal(stat(text, "methods"), "PUT GET GET");
	assert_string_equal(stat(text, "ranges"), "bytes=50000-");
	assert_string_equal(stat(text, "signature_ok"), "3");
	assert_non_null(strstr(stat(text, "signed"), "range"));
	assert_non_null(strstr(stat(text, "signed"), "if-match"));

	/* Cut off after the last byte: the resumed GET finds nothing missing. */
	expect_ok(cairn_s3_put_buffer(s3, "dropend/obj", "0123456789", 10));
	expect_ok(cairn_s3_get_buffer(&out, &len, s3, "dropend/obj", 100));
	assert_string_equal(out, "0123456789");
	free(out);
	stats(text, "dropend/obj");
	assert_string_equal(stat(text, "methods"), "PUT GET GET");
	assert_string_equal(stat(text, "ranges"), "bytes=10-");
	cairn_s3_free(s3);
}

static void test_checksum_sha256(void **state)
{
	(void)state;
	cairn_s3_options o = CAIRN_S3_OPTIONS_INIT;
	o.endpoint = endpoint;
	o.bucket = "bkt";
	o.path_style = true;
	o.access_key_id = "AKIDCHECK";
	o.secret_access_key = "check-secret";
	o.part_size = 64 * 1024;
	o.checksum_sha256 = true;
	cairn_s3 *s3 = NULL;
	expect_ok(cairn_s3_create(&s3, &o));
	/* ETags that are not MD5s: the checksum vouches for the bytes. */
	expect_ok(cairn_s3_put_buffer(s3, "badetag/ck", "abc", 3));
	char path[64];
	write_file(path, 3 * 64 * 1024 + 5);
	expect_ok(cairn_s3_put_file(NULL, s3, "badetag/ck-multi", path, NULL));
	char text[8192];
	stats(text, "badetag/ck-multi");
	assert_non_null(strstr(stat(text, "methods"), "POST?uploadId"));
	assert_string_equal(stat(text, "signature_ok"), "6");
	stats(text, "badetag/ck");
	assert_non_null(strstr(stat(text, "signed"), "x-amz-checksum-sha256"));
	/* A wrong echo fails, single and multipart (then aborted). */
	assert_int_equal(cairn_s3_put_buffer(s3, "badsum/ck", "abc", 3), CAIRN_EIO);
	assert_non_null(strstr(cairn_error_last(), "x-amz-checksum-sha256"));
	assert_int_equal(cairn_s3_put_file(NULL, s3, "badsum/ck-multi", path, NULL), CAIRN_EIO);
	stats(text, "badsum/ck-multi");
	assert_non_null(strstr(stat(text, "methods"), "DELETE?uploadId"));
	unlink(path);
	cairn_s3_free(s3);
}

static void make_upload(const char *key, int age)
{
	char url[1024], text[8192] = "";
	char *enc = curl_easy_escape(NULL, key, 0);
	snprintf(url, sizeof(url), "%s/__make_upload/%s?age=%d", endpoint, enc, age);
	curl_free(enc);
	CURL *e = curl_easy_init();
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect_text);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, text);
	assert_int_equal(curl_easy_perform(e), CURLE_OK);
	curl_easy_cleanup(e);
}

static void test_abort_stale_uploads(void **state)
{
	(void)state;
	/* Five uploads left two days ago (three pages of two), two under
	 * another prefix, one begun a minute ago. */
	for (int i = 0; i < 5; i++) {
		char key[64];
		snprintf(key, sizeof(key), "stale/obj-%d", i);
		make_upload(key, 2 * 86400);
	}
	make_upload("elsewhere/a", 2 * 86400);
	make_upload("elsewhere/b", 2 * 86400);
	make_upload("stale/recent", 60);
	cairn_s3 *s3 = client();
	uint64_t aborted = 99;
	expect_ok(cairn_s3_abort_stale_uploads(&aborted, s3, "stale/", 86400));
	assert_int_equal(aborted, 5);
	for (int i = 0; i < 5; i++) {
		char key[64];
		snprintf(key, sizeof(key), "stale/obj-%d", i);
		assert_int_equal(stat_int(key, "requests"), 1); /* its abort */
	}
	assert_int_equal(stat_int("stale/recent", "requests"), 0);
	assert_int_equal(stat_int("elsewhere/a", "requests"), 0);
	/* Nothing left to abort; the recent one goes when old enough. */
	expect_ok(cairn_s3_abort_stale_uploads(&aborted, s3, "stale/", 86400));
	assert_int_equal(aborted, 0);
	expect_ok(cairn_s3_abort_stale_uploads(&aborted, s3, "stale/", 30));
	assert_int_equal(aborted, 1);
	cairn_s3_free(s3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signatures_match_botocore),
		cmocka_unit_test(test_session_token),
		cmocka_unit_test(test_wrong_secret_fails_once),
		cmocka_unit_test(test_retries),
		cmocka_unit_test(test_hangup_after_continue),
		cmocka_unit_test(test_wrong_etag),
		cmocka_unit_test(test_get_resumes_with_range),
		cmocka_unit_test(test_checksum_sha256),
		cmocka_unit_test(test_abort_stale_uploads),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
