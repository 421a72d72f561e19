/* Unit tests for src/metrics: the text exposition writer (HELP/TYPE lines,
 * label and HELP escaping, number forms, histogram buckets) and the
 * process-wide registry (endpoint ids, backup outcomes, exact counts under
 * concurrent increments). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"
#include "metrics/text.h"
#include "util/error.h"

/* The text written by `fn`, NUL-terminated; the caller frees it. */
static char *render(void (*fn)(cairn_metrics_text *t))
{
	cairn_metrics_text *t;
	assert_int_equal(cairn_metrics_text_create(&t), CAIRN_OK);
	fn(t);
	char *text;
	size_t len;
	assert_int_equal(cairn_metrics_text_take(&text, &len, t), CAIRN_OK);
	assert_int_equal(strlen(text), len);
	return text;
}

static void write_escapes(cairn_metrics_text *t)
{
	cairn_metrics_text_family(t, "x_total", CAIRN_METRICS_COUNTER, "a \"quoted\" back\\slash\nsecond line");
	cairn_metrics_label labels[] = {{"path", "C:\\dir \"q\"\nnext"}, {"code", "200"}};
	cairn_metrics_text_sample_u64(t, "x_total", labels, 2, 18446744073709551615ULL);
}

static void test_escaping(void **state)
{
	(void)state;
	char *text = render(write_escapes);
	assert_string_equal(text,
		"# HELP x_total a \"quoted\" back\\\\slash\\nsecond line\n"
		"# TYPE x_total counter\n"
		"x_total{path=\"C:\\\\dir \\\"q\\\"\\nnext\",code=\"200\"} 18446744073709551615\n");
	free(text);
}

static void write_numbers(cairn_metrics_text *t)
{
	cairn_metrics_text_family(t, "g", CAIRN_METRICS_GAUGE, "numbers");
	cairn_metrics_text_sample(t, "g", NULL, 0, 42);
	cairn_metrics_text_sample(t, "g", NULL, 0, -3);
	cairn_metrics_text_sample(t, "g", NULL, 0, 0.1);
	cairn_metrics_text_sample(t, "g", NULL, 0, 1796515036.0041659);
	cairn_metrics_text_sample(t, "g", NULL, 0, INFINITY);
	cairn_metrics_text_sample(t, "g", NULL, 0, -INFINITY);
	cairn_metrics_text_sample(t, "g", NULL, 0, NAN);
}

static void test_numbers(void **state)
{
	(void)state;
	char *text = render(write_numbers);
	assert_string_equal(text,
		"# HELP g numbers\n# TYPE g gauge\n"
		"g 42\ng -3\ng 0.1\ng 1796515036.0041659\ng +Inf\ng -Inf\ng NaN\n");
	free(text);
}

static void write_histogram(cairn_metrics_text *t)
{
	static const double bounds[] = {0.005, 0.25, 1};
	static const uint64_t counts[] = {2, 0, 3, 1}; /* per bucket; the last above 1 */
	cairn_metrics_label label = {"job", "a\"b"};
	cairn_metrics_text_family(t, "h_seconds", CAIRN_METRICS_HISTOGRAM, "a histogram");
	cairn_metrics_text_histogram(t, "h_seconds", &label, 1, bounds, counts, 3, 7.5);
}

static void test_histogram(void **state)
{
	(void)state;
	char *text = render(write_histogram);
	assert_string_equal(text,
		"# HELP h_seconds a histogram\n# TYPE h_seconds histogram\n"
		"h_seconds_bucket{job=\"a\\\"b\",le=\"0.005\"} 2\n"
		"h_seconds_bucket{job=\"a\\\"b\",le=\"0.25\"} 2\n"
		"h_seconds_bucket{job=\"a\\\"b\",le=\"1\"} 5\n"
		"h_seconds_bucket{job=\"a\\\"b\",le=\"+Inf\"} 6\n"
		"h_seconds_sum{job=\"a\\\"b\"} 7.5\n"
		"h_seconds_count{job=\"a\\\"b\"} 6\n");
	free(text);
}

static void write_registry(cairn_metrics_text *t)
{
	cairn_metrics_write(t);
}

/* The line of `text` that starts with `prefix`, or NULL. */
static const char *line_of(const char *text, const char *prefix)
{
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, prefix, strlen(prefix)) == 0)
			return p;
	return NULL;
}

static void assert_line(const char *text, const char *line)
{
	const char *found = line_of(text, line);
	if (found == NULL || (found[strlen(line)] != '\n'))
		fail_msg("no line \"%s\" in:\n%s", line, text);
}

static void test_registry(void **state)
{
	(void)state;
	int a = cairn_metrics_http_endpoint("/check-backup/{id}");
	int b = cairn_metrics_http_endpoint("/cut");
	assert_true(a > CAIRN_METRICS_ENDPOINT_OTHER && b > CAIRN_METRICS_ENDPOINT_OTHER && a != b);
	assert_int_equal(cairn_metrics_http_endpoint("/check-backup/{id}"), a);
	cairn_metrics_http_request(a, 404);
	cairn_metrics_http_request(a, 404);
	cairn_metrics_http_request(b, 200);
	cairn_metrics_http_request(CAIRN_METRICS_ENDPOINT_OTHER, 414);
	cairn_metrics_http_request(b, 99);   /* not a status: ignored */
	cairn_metrics_http_request(1000, 200); /* no such endpoint: other */
	cairn_metrics_auth_rejected(CAIRN_METRICS_AUTH_INVALID);

	cairn_metrics_block_committed(3, 0.0005); /* on a bound: counted in its bucket (le) */
	cairn_metrics_block_committed(3, 0.002);
	cairn_metrics_block_committed(25, 3); /* no such chain: only timed */

	cairn_metrics_backup_ended("completed", 12, 1000, 1700000000.5);
	cairn_metrics_backup_ended("failed", 0.2, 10, 1800000000);
	cairn_metrics_backup_ended("skipped", 0, 0, 1800000001);
	cairn_metrics_backup_ended("in_progress", 1, 1, 1900000000); /* not terminal: ignored */
	cairn_metrics_backup_success_at(1600000000); /* older: no effect */
	cairn_metrics_upload_bytes_add(5);
	cairn_metrics_upload_bytes_add(6);
	cairn_metrics_upload_failed();
	cairn_metrics_remote_newest_set(1700000000);
	assert_true(cairn_metrics_remote_newest() == 1700000000);

	char *text = render(write_registry);
	assert_line(text, "cairn_http_requests_total{endpoint=\"/check-backup/{id}\",code=\"404\"} 2");
	assert_line(text, "cairn_http_requests_total{endpoint=\"/cut\",code=\"200\"} 1");
	assert_line(text, "cairn_http_requests_total{endpoint=\"other\",code=\"414\"} 1");
	assert_line(text, "cairn_http_requests_total{endpoint=\"other\",code=\"200\"} 1");
	assert_null(line_of(text, "cairn_http_requests_total{endpoint=\"/cut\",code=\"99\"}"));
	assert_line(text, "cairn_http_auth_rejected_total{reason=\"invalid_token\"} 1");
	assert_line(text, "cairn_http_auth_rejected_total{reason=\"missing_token\"} 0");
	assert_line(text, "cairn_blocks_committed_total{chain=\"3\"} 2");
	assert_null(line_of(text, "cairn_blocks_committed_total{chain=\"0\"}"));
	assert_line(text, "cairn_block_commit_duration_seconds_bucket{le=\"0.00025\"} 0");
	assert_line(text, "cairn_block_commit_duration_seconds_bucket{le=\"0.0005\"} 1");
	assert_line(text, "cairn_block_commit_duration_seconds_bucket{le=\"0.0025\"} 2");
	assert_line(text, "cairn_block_commit_duration_seconds_bucket{le=\"2.5\"} 2");
	assert_line(text, "cairn_block_commit_duration_seconds_bucket{le=\"+Inf\"} 3");
	assert_line(text, "cairn_block_commit_duration_seconds_count 3");
	assert_line(text, "cairn_backup_jobs_total{state=\"completed\"} 1");
	assert_line(text, "cairn_backup_jobs_total{state=\"failed\"} 1");
	assert_line(text, "cairn_backup_jobs_total{state=\"skipped\"} 1");
	assert_line(text, "cairn_backup_jobs_total{state=\"stopped\"} 0");
	assert_line(text, "cairn_backup_duration_seconds_count 2"); /* the skipped job did not run */
	assert_line(text, "cairn_backup_duration_seconds_sum 12.2");
	assert_line(text, "cairn_backup_duration_seconds_bucket{le=\"10\"} 1");
	assert_line(text, "cairn_backup_duration_seconds_bucket{le=\"30\"} 2");
	assert_line(text, "cairn_backup_bytes_total 1010");
	assert_line(text, "cairn_backup_last_success_timestamp_seconds 1700000000.5");
	assert_line(text, "cairn_backup_upload_bytes_total 11");
	assert_line(text, "cairn_backup_upload_failures_total 1");
	free(text);
}

#define THREADS 4
#define PER_THREAD 100000

static void *hammer(void *arg)
{
	int endpoint = *(int *)arg;
	for (int i = 0; i < PER_THREAD; i++) {
		cairn_metrics_http_request(endpoint, 201);
		cairn_metrics_block_committed(7, 0.001);
	}
	return NULL;
}

static void test_concurrent_counts_are_exact(void **state)
{
	(void)state;
	int endpoint = cairn_metrics_http_endpoint("/concurrent");
	pthread_t threads[THREADS];
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, hammer, &endpoint), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(threads[i], NULL);
	char *text = render(write_registry);
	assert_line(text, "cairn_http_requests_total{endpoint=\"/concurrent\",code=\"201\"} 400000");
	assert_line(text, "cairn_blocks_committed_total{chain=\"7\"} 400000");
	free(text);
}

static void test_endpoint_table_is_bounded(void **state)
{
	(void)state;
	char pattern[32];
	int last = 0;
	for (int i = 0; i < CAIRN_METRICS_MAX_ENDPOINTS + 10; i++) {
		snprintf(pattern, sizeof(pattern), "/p%d", i);
		last = cairn_metrics_http_endpoint(pattern);
	}
	assert_int_equal(last, CAIRN_METRICS_ENDPOINT_OTHER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_concurrent_counts_are_exact),
		cmocka_unit_test(test_endpoint_table_is_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
