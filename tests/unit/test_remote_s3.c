/*
 * test_remote_s3.c: every call of remote/s3.h against a real
 * S3-compatible server (s3rver on loopback, tests/unit/s3_fixture.h):
 * round trips of buffers and files (single PUT and multipart with small
 * parts in parallel), HEAD, missing keys, listing with a delimiter and
 * across pages, deletion, awkward key names, progress, the shared rate
 * limit and cancellation.
 *
 * By hand against another store (docs/backups.md, "Testing against MinIO
 * or AWS"): with CAIRN_S3_TEST_BUCKET set, the fixture uses that bucket
 * and the AWS_* credentials instead of starting s3rver, under a prefix of
 * its own that it empties at the end.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <openssl/sha.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "remote/s3.h"
#include "s3_fixture.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/hex.h"

static s3_fixture server;

static int group_setup(void **state)
{
	(void)state;
	return s3_fixture_start(&server) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	s3_fixture_stop(&server);
	return 0;
}

/* `k` under the run's prefix ("" with s3rver); 16 results live at once. */
static const char *K(const char *k)
{
	static char pool[16][1200];
	static int next;
	char *out = pool[next++ % 16];
	snprintf(out, 1200, "%s%s", server.prefix, k);
	return out;
}

static cairn_s3 *client_with(cairn_s3_options *o)
{
	s3_fixture_options(&server, o);
	o->retry_base_ms = 20;
	cairn_s3 *s3 = NULL;
	int rc = cairn_s3_create(&s3, o);
	if (rc != CAIRN_OK)
		fprintf(stderr, "create: %s\n", cairn_error_last());
	assert_int_equal(rc, CAIRN_OK);
	return s3;
}

static cairn_s3 *client(void)
{
	cairn_s3_options o = CAIRN_S3_OPTIONS_INIT;
	return client_with(&o);
}

static void expect_ok(int rc)
{
	if (rc != CAIRN_OK)
		fprintf(stderr, "error: %s\n", cairn_error_last());
	assert_int_equal(rc, CAIRN_OK);
}

/* A temporary file of n pseudo-random bytes; its SHA-256 in hex. */
static void make_file(char path[64], char sha_hex[65], size_t n, unsigned seed)
{
	snprintf(path, 64, "/tmp/cairn-s3-file-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	uint8_t *buf = malloc(n ? n : 1);
	assert_non_null(buf);
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < n; i++) {
		x = x * 1664525u + 1013904223u;
		buf[i] = (uint8_t)(x >> 24);
	}
	assert_int_equal(cairn_fs_write_all(fd, buf, n), CAIRN_OK);
	close(fd);
	uint8_t md[32];
	SHA256(buf, n, md);
	cairn_hex_encode(sha_hex, md, 32);
	free(buf);
}

static void file_sha(char sha_hex[65], const char *path)
{
	char *data = NULL;
	size_t len = 0;
	expect_ok(cairn_fs_read_file(&data, &len, path));
	uint8_t md[32];
	SHA256((uint8_t *)data, len, md);
	cairn_hex_encode(sha_hex, md, 32);
	free(data);
}

static void test_buffer_round_trip(void **state)
{
	(void)state;
	cairn_s3 *s3 = client();
	const char *text = "{\"backup\":1}";
	expect_ok(cairn_s3_put_buffer(s3, K("buf/manifest.json"), text, strlen(text)));
	uint64_t size = 0;
	expect_ok(cairn_s3_head(&size, s3, K("buf/manifest.json")));
	assert_int_equal(size, strlen(text));
	char *out = NULL;
	size_t len = 0;
	expect_ok(cairn_s3_get_buffer(&out, &len, s3, K("buf/manifest.json"), 1024));
	assert_int_equal(len, strlen(text));
	assert_string_equal(out, text);
	free(out);
	/* Larger than max: refused, nothing returned. */
	out = NULL;
	assert_int_equal(cairn_s3_get_buffer(&out, &len, s3, K("buf/manifest.json"), 4), CAIRN_EINVALID);
	assert_null(out);
	assert_non_null(strstr(cairn_error_last(), "larger than 4 bytes"));
	/* An empty object. */
	expect_ok(cairn_s3_put_buffer(s3, K("buf/empty"), "", 0));
	expect_ok(cairn_s3_head(&size, s3, K("buf/empty")));
	assert_int_equal(size, 0);
	expect_ok(cairn_s3_get_buffer(&out, &len, s3, K("buf/empty"), 10));
	assert_int_equal(len, 0);
	assert_string_equal(out, "");
	free(out);
	/* Overwrite, then delete; deleting again succeeds. */
	expect_ok(cairn_s3_put_buffer(s3, K("buf/manifest.json"), "x", 1));
	expect_ok(cairn_s3_head(&size, s3, K("buf/manifest.json")));
	assert_int_equal(size, 1);
	expect_ok(cairn_s3_delete(s3, K("buf/manifest.json")));
	expect_ok(cairn_s3_delete(s3, K("buf/manifest.json")));
	assert_int_equal(cairn_s3_head(&size, s3, K("buf/manifest.json")), CAIRN_ENOTFOUND);
	cairn_s3_free(s3);
}

static void test_virtual_host_style(void **state)
{
	(void)state;
	if (server.external)
		skip(); /* the store named by the environment decides its addressing */
	cairn_s3_options o = CAIRN_S3_OPTIONS_INIT;
	s3_fixture_options(&server, &o);
	char ep[64];
	snprintf(ep, sizeof(ep), "http://s3.localhost:%d", server.port);
	o.endpoint = ep;
	o.path_style = false; /* http://cairn-test.s3.localhost:PORT/key */
	cairn_s3 *s3 = NULL;
	expect_ok(cairn_s3_create(&s3, &o));
	expect_ok(cairn_s3_put_buffer(s3, "vhost/obj", "via the host name", 17));
	cairn_s3_free(s3);
	/* The same object, seen path-style. */
	s3 = client();
	char *out = NULL;
	size_t len = 0;
	expect_ok(cairn_s3_get_buffer(&out, &len, s3, "vhost/obj", 100));
	assert_string_equal(out, "via the host name");
	free(out);
	cairn_s3_free(s3);
}

static void test_missing_key(void **state)
{
	(void)state;
	cairn_s3 *s3 = client();
	uint64_t size = 7;
	assert_int_equal(cairn_s3_head(&size, s3, K("no/such/key")), CAIRN_ENOTFOUND);
	assert_int_equal(size, 7);
	char *out = NULL;
	size_t len = 0;
	assert_int_equal(cairn_s3_get_buffer(&out, &len, s3, K("no/such/key"), 100), CAIRN_ENOTFOUND);
	assert_non_null(strstr(cairn_error_last(), "no/such/key"));
	assert_non_null(strstr(cairn_error_last(), "NoSuchKey"));
	char path[64] = "/tmp/cairn-s3-get-XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	unlink(path);
	assert_int_equal(cairn_s3_get_file(NULL, s3, K("no/such/key"), path, NULL), CAIRN_ENOTFOUND);
	assert_int_equal(access(path, F_OK), -1); /* the failed download left no file */
	cairn_s3_free(s3);
}

typedef struct progress_sum {
	atomic_ullong bytes;
} progress_sum;

static void on_progress(void *ctx, uint64_t bytes)
{
	atomic_fetch_add(&((progress_sum *)ctx)->bytes, bytes);
}

static void round_trip_file(cairn_s3 *s3, const char *key, size_t n, unsigned seed)
{
	char path[64], sha[65], sent[CAIRN_S3_SHA256_HEX], got[CAIRN_S3_SHA256_HEX], back[65];
	make_file(path, sha, n, seed);
	progress_sum p = {0};
	cairn_s3_transfer t = {on_progress, &p};
	expect_ok(cairn_s3_put_file(sent, s3, key, path, &t));
	assert_string_equal(sent, sha);
	assert_int_equal(atomic_load(&p.bytes), n);
	uint64_t size = 0;
	expect_ok(cairn_s3_head(&size, s3, key));
	assert_int_equal(size, n);
	char out[80];
	snprintf(out, sizeof(out), "%s.back", path);
	atomic_store(&p.bytes, 0);
	expect_ok(cairn_s3_get_file(got, s3, key, out, &t));
	assert_string_equal(got, sha);
	assert_int_equal(atomic_load(&p.bytes), n);
	file_sha(back, out);
	assert_string_equal(back, sha);
	/* get_file never overwrites. */
	assert_int_equal(cairn_s3_get_file(got, s3, key, out, NULL), CAIRN_EEXISTS);
	unlink(out);
	unlink(path);
}

static void test_file_single_put(void **state)
{
	(void)state;
	cairn_s3 *s3 = client();
	round_trip_file(s3, K("files/small.bin"), 200 * 1000, 1);
	round_trip_file(s3, K("files/zero.bin"), 0, 2);
	cairn_s3_free(s3);
}

static void test_file_multipart(void **state)
{
	(void)state;
	/* s3rver takes parts of any size; real stores want 5 MiB but the last. */
	size_t part = server.external ? 5u << 20 : 64u << 10;
	cairn_s3_options o = CAIRN_S3_OPTIONS_INIT;
	o.part_size = part;
	o.parallelism = 3;
	cairn_s3 *s3 = client_with(&o);
	/* 10 parts, the last one short; then exactly two parts. */
	int before = s3_fixture_log_count(&server, "Stored part");
	round_trip_file(s3, K("files/multi.bin"), 9 * part + 1234, 3);
	if (!server.external)
		assert_int_equal(s3_fixture_log_count(&server, "Stored part") - before, 10);
	round_trip_file(s3, K("files/two.bin"), 2 * part, 4);
	if (!server.external)
		assert_int_equal(s3_fixture_log_count(&server, "Stored part") - before, 12);
	/* At most part_size: one PUT. */
	round_trip_file(s3, K("files/one.bin"), part, 5);
	if (!server.external)
		assert_int_equal(s3_fixture_log_count(&server, "Stored part") - before, 12);
	cairn_s3_free(s3);
	/* With x-amz-checksum-sha256 too (s3rver ignores it and the ETags
	 * decide; AWS and MinIO check it and echo it). */
	o.checksum_sha256 = true;
	s3 = client_with(&o);
	round_trip_file(s3, K("files/multi-sha.bin"), 3 * part + 7, 6);
	round_trip_file(s3, K("files/single-sha.bin"), 1000, 7);
	cairn_s3_free(s3);
}

static void test_awkward_keys(void **state)
{
	(void)state;
	cairn_s3 *s3 = client();
	const char *keys[] = {"odd/a b+c=d&e;f", "odd/tilde~and%percent", "odd/\xc3\xbc\xe1\x88\xb4", "odd/x(1)!*'"};
	for (size_t i = 0; i < 4; i++) {
		expect_ok(cairn_s3_put_buffer(s3, K(keys[i]), keys[i], strlen(keys[i])));
		char *out = NULL;
		size_t len = 0;
		expect_ok(cairn_s3_get_buffer(&out, &len, s3, K(keys[i]), 1000));
		assert_string_equal(out, keys[i]);
		free(out);
	}
	assert_int_equal(cairn_s3_put_buffer(s3, K(""), "x", 1), CAIRN_EINVALID);
	cairn_s3_free(s3);
}

typedef struct listing {
	char keys[64][64];
	uint64_t sizes[64];
	bool prefix[64];
	int n;
	int stop_after;
} listing;

static int collect(void *ctx, const char *key, uint64_t size, bool is_prefix)
{
	listing *l = ctx;
	assert_true(l->n < 64);
	assert_memory_equal(key, server.prefix, strlen(server.prefix));
	snprintf(l->keys[l->n], 64, "%s", key + strlen(server.prefix));
	l->sizes[l->n] = size;
	l->prefix[l->n] = is_prefix;
	l->n++;
	return l->stop_after && l->n == l->stop_after ? 42 : 0;
}

static void test_list(void **state)
{
	(void)state;
	cairn_s3_options o = CAIRN_S3_OPTIONS_INIT;
	o.list_page_size = 3; /* 11 keys: four pages */
	cairn_s3 *s3 = client_with(&o);
	char key[64];
	for (int i = 0; i < 8; i++) {
		snprintf(key, sizeof(key), "ls/obj-%02d", i);
		expect_ok(cairn_s3_put_buffer(s3, K(key), key, (size_t)i));
	}
	expect_ok(cairn_s3_put_buffer(s3, K("ls/sub/a"), "a", 1));
	expect_ok(cairn_s3_put_buffer(s3, K("ls/sub/b"), "bb", 2));
	expect_ok(cairn_s3_put_buffer(s3, K("ls/zz"), "zzz", 3));
	expect_ok(cairn_s3_put_buffer(s3, K("lsx"), "no", 2));

	listing l = {0};
	expect_ok(cairn_s3_list(s3, K("ls/"), NULL, collect, &l));
	assert_int_equal(l.n, 11);
	for (int i = 0; i < 8; i++) {
		snprintf(key, sizeof(key), "ls/obj-%02d", i);
		assert_string_equal(l.keys[i], key);
		assert_int_equal(l.sizes[i], i);
		assert_false(l.prefix[i]);
	}
	assert_string_equal(l.keys[8], "ls/sub/a");
	assert_string_equal(l.keys[9], "ls/sub/b");
	assert_int_equal(l.sizes[9], 2);
	assert_string_equal(l.keys[10], "ls/zz");

	memset(&l, 0, sizeof(l));
	expect_ok(cairn_s3_list(s3, K("ls/"), "/", collect, &l));
	assert_int_equal(l.n, 10);
	assert_string_equal(l.keys[8], "ls/sub/");
	assert_true(l.prefix[8]);
	assert_int_equal(l.sizes[8], 0);
	assert_string_equal(l.keys[9], "ls/zz");

	/* A callback's non-zero return stops the listing and is returned. */
	memset(&l, 0, sizeof(l));
	l.stop_after = 5;
	assert_int_equal(cairn_s3_list(s3, K("ls/"), NULL, collect, &l), 42);
	assert_int_equal(l.n, 5);

	memset(&l, 0, sizeof(l));
	expect_ok(cairn_s3_list(s3, K("nothing-here/"), NULL, collect, &l));
	assert_int_equal(l.n, 0);
	cairn_s3_free(s3);
}

static atomic_bool cancel_flag;

static void *cancel_later(void *arg)
{
	(void)arg;
	cairn_clock_sleep(0.3);
	atomic_store(&cancel_flag, true);
	return NULL;
}

static void test_rate_limit_and_cancel(void **state)
{
	(void)state;
	atomic_store(&cancel_flag, false);
	cairn_s3_options o = CAIRN_S3_OPTIONS_INIT;
	o.rate_limit_bps = 1024 * 1024;
	o.cancel = &cancel_flag;
	cairn_s3 *s3 = client_with(&o);
	char path[64], sha[65];
	/* 512 KiB at 1 MiB/s: at least 0.4 s (the first chunk may go at once). */
	make_file(path, sha, 512 * 1024, 5);
	double t0 = cairn_clock_now();
	expect_ok(cairn_s3_put_file(NULL, s3, K("rate/half.bin"), path, NULL));
	double took = cairn_clock_now() - t0;
	assert_true(took >= 0.4);
	unlink(path);

	/* 8 MiB at 1 MiB/s, cancelled after 0.3 s: ends long before 8 s. */
	make_file(path, sha, 8 * 1024 * 1024, 6);
	pthread_t th;
	pthread_create(&th, NULL, cancel_later, NULL);
	t0 = cairn_clock_now();
	assert_int_equal(cairn_s3_put_file(NULL, s3, K("rate/cancelled.bin"), path, NULL), CAIRN_ESTATE);
	took = cairn_clock_now() - t0;
	pthread_join(th, NULL);
	assert_true(took < 4.0);
	assert_non_null(strstr(cairn_error_last(), "cancelled"));
	uint64_t size;
	assert_int_equal(cairn_s3_head(&size, s3, K("rate/cancelled.bin")), CAIRN_ESTATE); /* still cancelled */
	unlink(path);
	cairn_s3_free(s3);

	/* A multipart upload cancelled part-way fails the same way. */
	atomic_store(&cancel_flag, false);
	o.part_size = 256 * 1024;
	o.parallelism = 2;
	s3 = client_with(&o);
	make_file(path, sha, 8 * 1024 * 1024, 8);
	pthread_create(&th, NULL, cancel_later, NULL);
	t0 = cairn_clock_now();
	assert_int_equal(cairn_s3_put_file(NULL, s3, K("rate/multi-cancelled.bin"), path, NULL), CAIRN_ESTATE);
	took = cairn_clock_now() - t0;
	pthread_join(th, NULL);
	assert_true(took < 4.0);
	assert_non_null(strstr(cairn_error_last(), "cancelled"));
	atomic_store(&cancel_flag, false);
	assert_int_equal(cairn_s3_head(&size, s3, K("rate/multi-cancelled.bin")), CAIRN_ENOTFOUND);
	unlink(path);
	cairn_s3_free(s3);

	/* The same through a download. */
	atomic_store(&cancel_flag, false);
	s3 = client_with(&(cairn_s3_options)CAIRN_S3_OPTIONS_INIT);
	make_file(path, sha, 4 * 1024 * 1024, 7);
	expect_ok(cairn_s3_put_file(NULL, s3, K("rate/get.bin"), path, NULL));
	unlink(path);
	cairn_s3_free(s3);
	o = (cairn_s3_options)CAIRN_S3_OPTIONS_INIT;
	o.rate_limit_bps = 1024 * 1024;
	o.cancel = &cancel_flag;
	s3 = client_with(&o);
	char *out = NULL;
	size_t len = 0;
	pthread_create(&th, NULL, cancel_later, NULL);
	assert_int_equal(cairn_s3_get_buffer(&out, &len, s3, K("rate/get.bin"), 8 << 20), CAIRN_ESTATE);
	pthread_join(th, NULL);
	assert_null(out);
	cairn_s3_free(s3);
}

/* Only a store that checks signatures can show this: s3rver accepts any
 * well-formed signature (test_remote_s3_check proves it on loopback). */
static void test_wrong_secret_external(void **state)
{
	(void)state;
	if (!server.external)
		skip();
	cairn_s3_options o = CAIRN_S3_OPTIONS_INIT;
	s3_fixture_options(&server, &o);
	o.secret_access_key = "not-the-secret";
	cairn_s3 *s3 = NULL;
	expect_ok(cairn_s3_create(&s3, &o));
	assert_int_not_equal(cairn_s3_put_buffer(s3, K("wrong-secret"), "x", 1), CAIRN_OK);
	assert_non_null(strstr(cairn_error_last(), "SignatureDoesNotMatch"));
	cairn_s3_free(s3);
}

static void test_options_and_urls(void **state)
{
	(void)state;
	cairn_s3 *s3 = NULL;
	cairn_s3_options o = CAIRN_S3_OPTIONS_INIT;
	assert_int_equal(cairn_s3_create(&s3, &o), CAIRN_EINVALID);
	assert_non_null(strstr(cairn_error_last(), "bucket"));
	o.bucket = "b-1";
	assert_int_equal(cairn_s3_create(&s3, &o), CAIRN_EINVALID);
	assert_non_null(strstr(cairn_error_last(), "AWS_ACCESS_KEY_ID"));
	o.access_key_id = "k";
	assert_int_equal(cairn_s3_create(&s3, &o), CAIRN_EINVALID);
	assert_non_null(strstr(cairn_error_last(), "AWS_SECRET_ACCESS_KEY"));
	o.secret_access_key = "s";
	o.endpoint = "ftp://127.0.0.1:21";
	assert_int_equal(cairn_s3_create(&s3, &o), CAIRN_EINVALID);
	o.endpoint = "http://127.0.0.1:9000/some/path";
	assert_int_equal(cairn_s3_create(&s3, &o), CAIRN_EINVALID);
	o.endpoint = "not a url";
	assert_int_equal(cairn_s3_create(&s3, &o), CAIRN_EINVALID);
	o.endpoint = NULL; /* AWS */
	expect_ok(cairn_s3_create(&s3, &o));
	cairn_s3_free(s3);
	o.bucket = "Bad_Bucket!";
	assert_int_equal(cairn_s3_create(&s3, &o), CAIRN_EINVALID);

	char *b = NULL, *p = NULL;
	expect_ok(cairn_s3_url_parse(&b, &p, "s3://bucket/some/prefix/"));
	assert_string_equal(b, "bucket");
	assert_string_equal(p, "some/prefix");
	free(b);
	free(p);
	expect_ok(cairn_s3_url_parse(&b, &p, "s3://my.bucket"));
	assert_string_equal(b, "my.bucket");
	assert_string_equal(p, "");
	free(b);
	free(p);
	expect_ok(cairn_s3_url_parse(&b, &p, "s3://bkt/"));
	assert_string_equal(p, "");
	free(b);
	free(p);
	const char *bad[] = {"", "bucket/prefix", "http://bucket/x", "s3://", "s3:///prefix", "s3://b/x", "s3://bkt//x",
		"s3://bkt/a//b", "s3://UPPER/x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cairn_s3_url_parse(&b, &p, bad[i]), CAIRN_EINVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_options_and_urls),
		cmocka_unit_test(test_buffer_round_trip),
		cmocka_unit_test(test_virtual_host_style),
		cmocka_unit_test(test_missing_key),
		cmocka_unit_test(test_file_single_put),
		cmocka_unit_test(test_file_multipart),
		cmocka_unit_test(test_awkward_keys),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_rate_limit_and_cancel),
		cmocka_unit_test(test_wrong_secret_external),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
