/*
 * metrics.c: metrics.h.
 *
 * Every value is a C11 atomic.  Counters are added to with relaxed
 * ordering: a scrape may see one counter a moment ahead of another, never
 * a torn or lost update.  Doubles (histogram sums, timestamps) are kept as
 * their bit patterns in 64-bit atomics and updated by compare-and-swap.
 * A histogram keeps one count per bucket, not cumulative counts: an
 * observation is one increment, and text.c adds them up when written, so
 * its +Inf bucket and _count always agree.
 *
 * The endpoint table only grows: a pattern's name is stored, then the
 * count published with release ordering, so a reader that loads the count
 * (acquire) sees every name below it.  Registration takes a mutex (routes
 * are registered once, at start-up); recording takes none.
 */
#include "metrics/metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BUCKETS 16
#define STATUS_MIN 100
#define STATUS_COUNT 500 /* 100..599 */
#define ENDPOINT_SLOTS (CAIRN_METRICS_MAX_ENDPOINTS + 1)

typedef struct histogram {
	const double *bounds;
	size_t nbounds;
	_Atomic uint64_t counts[MAX_BUCKETS + 1];
	_Atomic uint64_t sum_bits;
} histogram;

static const double commit_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
	0.25, 0.5, 1, 2.5};
static const double backup_bounds[] = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200,
	21600};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

static const char *const backup_states[] = {"completed", "completed_with_errors", "failed", "stopped", "skipped"};
static const char *const auth_reasons[CAIRN_METRICS_AUTH_REASONS] = {"missing_token", "invalid_token",
	"invalid_link"};

static struct {
	_Atomic uint64_t blocks[CAIRN_METRICS_MAX_CHAINS];
	histogram commit;

	pthread_mutex_t endpoint_lock;
	const char *endpoint_names[ENDPOINT_SLOTS];
	atomic_size_t endpoint_count;
	_Atomic uint64_t requests[ENDPOINT_SLOTS][STATUS_COUNT];
	_Atomic uint64_t auth_rejected[CAIRN_METRICS_AUTH_REASONS];
	_Atomic uint64_t stream_dropped;
	atomic_llong stream_subscribers;

	_Atomic uint64_t backup_jobs[COUNT_OF(backup_states)];
	histogram backup;
	_Atomic uint64_t backup_bytes;
	_Atomic uint64_t last_success_bits;
	_Atomic uint64_t upload_bytes;
	_Atomic uint64_t upload_failures;
	_Atomic uint64_t remote_newest_bits;
} g = {
	.commit = {commit_bounds, COUNT_OF(commit_bounds), {0}, 0},
	.endpoint_lock = PTHREAD_MUTEX_INITIALIZER,
	.endpoint_names = {"other"},
	.endpoint_count = 1,
	.backup = {backup_bounds, COUNT_OF(backup_bounds), {0}, 0},
};

_Static_assert(COUNT_OF(commit_bounds) <= MAX_BUCKETS && COUNT_OF(backup_bounds) <= MAX_BUCKETS,
	"a histogram has more bounds than MAX_BUCKETS");

static uint64_t bits_of(double v)
{
	uint64_t b;
	memcpy(&b, &v, sizeof(b));
	return b;
}

static double double_of(uint64_t b)
{
	double v;
	memcpy(&v, &b, sizeof(v));
	return v;
}

static void add_double(_Atomic uint64_t *slot, double v)
{
	uint64_t old = atomic_load_explicit(slot, memory_order_relaxed);
	while (!atomic_compare_exchange_weak_explicit(slot, &old, bits_of(double_of(old) + v), memory_order_relaxed,
		memory_order_relaxed))
		continue;
}

/* Raises the stored value to `v` unless it is already at least that. */
static void max_double(_Atomic uint64_t *slot, double v)
{
	uint64_t old = atomic_load_explicit(slot, memory_order_relaxed);
	while (double_of(old) < v && !atomic_compare_exchange_weak_explicit(slot, &old, bits_of(v),
		memory_order_relaxed, memory_order_relaxed))
		continue;
}

static void observe(histogram *h, double v)
{
	size_t i = 0;
	while (i < h->nbounds && v > h->bounds[i])
		i++;
	atomic_fetch_add_explicit(&h->counts[i], 1, memory_order_relaxed);
	add_double(&h->sum_bits, v);
}

static void count(_Atomic uint64_t *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static uint64_t load(_Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* ---- recording ---- */

void cairn_metrics_block_committed(uint32_t chain, double seconds)
{
	if (chain < CAIRN_METRICS_MAX_CHAINS)
		count(&g.blocks[chain]);
	observe(&g.commit, seconds);
}

int cairn_metrics_http_endpoint(const char *pattern)
{
	pthread_mutex_lock(&g.endpoint_lock);
	size_t n = atomic_load_explicit(&g.endpoint_count, memory_order_relaxed);
	int id = CAIRN_METRICS_ENDPOINT_OTHER;
	for (size_t i = 1; i < n && id == CAIRN_METRICS_ENDPOINT_OTHER; i++)
		if (strcmp(g.endpoint_names[i], pattern) == 0)
			id = (int)i;
	if (id == CAIRN_METRICS_ENDPOINT_OTHER && n < ENDPOINT_SLOTS && (g.endpoint_names[n] = strdup(pattern)) != NULL) {
		atomic_store_explicit(&g.endpoint_count, n + 1, memory_order_release);
		id = (int)n;
	}
	pthread_mutex_unlock(&g.endpoint_lock);
	return id;
}

void cairn_metrics_http_request(int endpoint, int status)
{
	if (endpoint < 0 || endpoint >= ENDPOINT_SLOTS)
		endpoint = CAIRN_METRICS_ENDPOINT_OTHER;
	if (status >= STATUS_MIN && status < STATUS_MIN + STATUS_COUNT)
		count(&g.requests[endpoint][status - STATUS_MIN]);
}

void cairn_metrics_auth_rejected(cairn_metrics_auth_reason reason)
{
	if ((unsigned)reason < CAIRN_METRICS_AUTH_REASONS)
		count(&g.auth_rejected[reason]);
}

void cairn_metrics_stream_subscribers_add(int delta)
{
	atomic_fetch_add_explicit(&g.stream_subscribers, delta, memory_order_relaxed);
}

void cairn_metrics_stream_dropped(void)
{
	count(&g.stream_dropped);
}

void cairn_metrics_backup_ended(const char *state, double seconds, uint64_t bytes, double end_unix_seconds)
{
	size_t i = 0;
	while (i < COUNT_OF(backup_states) && strcmp(backup_states[i], state) != 0)
		i++;
	if (i == COUNT_OF(backup_states))
		return; /* not a terminal state */
	count(&g.backup_jobs[i]);
	atomic_fetch_add_explicit(&g.backup_bytes, bytes, memory_order_relaxed);
	if (strcmp(state, "skipped") != 0)
		observe(&g.backup, seconds < 0 ? 0 : seconds);
	if (i <= 1) /* completed, completed_with_errors: complete and restorable */
		cairn_metrics_backup_success_at(end_unix_seconds);
}

void cairn_metrics_backup_success_at(double unix_seconds)
{
	max_double(&g.last_success_bits, unix_seconds);
}

void cairn_metrics_upload_bytes_add(uint64_t bytes)
{
	atomic_fetch_add_explicit(&g.upload_bytes, bytes, memory_order_relaxed);
}

void cairn_metrics_upload_failed(void)
{
	count(&g.upload_failures);
}

void cairn_metrics_remote_newest_set(double unix_seconds)
{
	atomic_store_explicit(&g.remote_newest_bits, bits_of(unix_seconds), memory_order_relaxed);
}

double cairn_metrics_remote_newest(void)
{
	return double_of(load(&g.remote_newest_bits));
}

/* ---- exposition ---- */

static void write_histogram(cairn_metrics_text *t, const char *name, histogram *h)
{
	uint64_t counts[MAX_BUCKETS + 1];
	for (size_t i = 0; i <= h->nbounds; i++)
		counts[i] = load(&h->counts[i]);
	cairn_metrics_text_histogram(t, name, NULL, 0, h->bounds, counts, h->nbounds, double_of(load(&h->sum_bits)));
}

static void write_node(cairn_metrics_text *t)
{
	cairn_metrics_text_family(t, "cairn_blocks_committed_total", CAIRN_METRICS_COUNTER,
		"Blocks committed to both stores since the process started, by chain.");
	for (uint32_t chain = 0; chain < CAIRN_METRICS_MAX_CHAINS; chain++) {
		uint64_t n = load(&g.blocks[chain]);
		if (n == 0)
			continue;
		char number[12];
		snprintf(number, sizeof(number), "%u", chain);
		cairn_metrics_label label = {"chain", number};
		cairn_metrics_text_sample_u64(t, "cairn_blocks_committed_total", &label, 1, n);
	}
	cairn_metrics_text_family(t, "cairn_block_commit_duration_seconds", CAIRN_METRICS_HISTOGRAM,
		"Time from a commit request to the block written in both stores, the wait for the commit lock included.");
	write_histogram(t, "cairn_block_commit_duration_seconds", &g.commit);
}

static void write_http(cairn_metrics_text *t)
{
	cairn_metrics_text_family(t, "cairn_http_requests_total", CAIRN_METRICS_COUNTER,
		"HTTP responses sent, by endpoint (the route pattern; other: no route) and status code.");
	size_t endpoints = atomic_load_explicit(&g.endpoint_count, memory_order_acquire);
	for (size_t e = 0; e < endpoints; e++) {
		for (int s = 0; s < STATUS_COUNT; s++) {
			uint64_t n = load(&g.requests[e][s]);
			if (n == 0)
				continue;
			char code[8];
			snprintf(code, sizeof(code), "%d", s + STATUS_MIN);
			cairn_metrics_label labels[] = {{"endpoint", g.endpoint_names[e]}, {"code", code}};
			cairn_metrics_text_sample_u64(t, "cairn_http_requests_total", labels, 2, n);
		}
	}
	cairn_metrics_text_family(t, "cairn_http_auth_rejected_total", CAIRN_METRICS_COUNTER,
		"Requests refused for their credentials (management API and /metrics tokens, download links), by reason.");
	for (int r = 0; r < CAIRN_METRICS_AUTH_REASONS; r++) {
		cairn_metrics_label label = {"reason", auth_reasons[r]};
		cairn_metrics_text_sample_u64(t, "cairn_http_auth_rejected_total", &label, 1, load(&g.auth_rejected[r]));
	}
	cairn_metrics_text_family(t, "cairn_event_stream_subscribers", CAIRN_METRICS_GAUGE,
		"Event-stream subscribers (header/updates and block/updates) connected now.");
	cairn_metrics_text_sample(t, "cairn_event_stream_subscribers", NULL, 0,
		(double)atomic_load_explicit(&g.stream_subscribers, memory_order_relaxed));
	cairn_metrics_text_family(t, "cairn_event_stream_dropped_subscribers_total", CAIRN_METRICS_COUNTER,
		"Event-stream subscribers dropped for falling too far behind.");
	cairn_metrics_text_sample_u64(t, "cairn_event_stream_dropped_subscribers_total", NULL, 0,
		load(&g.stream_dropped));
}

static void write_backups(cairn_metrics_text *t)
{
	cairn_metrics_text_family(t, "cairn_backup_jobs_total", CAIRN_METRICS_COUNTER,
		"Backup jobs that ended since the process started, by final state.");
	for (size_t i = 0; i < COUNT_OF(backup_states); i++) {
		cairn_metrics_label label = {"state", backup_states[i]};
		cairn_metrics_text_sample_u64(t, "cairn_backup_jobs_total", &label, 1, load(&g.backup_jobs[i]));
	}
	cairn_metrics_text_family(t, "cairn_backup_duration_seconds", CAIRN_METRICS_HISTOGRAM,
		"How long backup jobs ran, skipped jobs excluded.");
	write_histogram(t, "cairn_backup_duration_seconds", &g.backup);
	cairn_metrics_text_family(t, "cairn_backup_bytes_total", CAIRN_METRICS_COUNTER,
		"Bytes written into backups by jobs that ended since the process started.");
	cairn_metrics_text_sample_u64(t, "cairn_backup_bytes_total", NULL, 0, load(&g.backup_bytes));
	cairn_metrics_text_family(t, "cairn_backup_last_success_timestamp_seconds", CAIRN_METRICS_GAUGE,
		"UNIX time the last successful backup ended; 0 when there is none.");
	cairn_metrics_text_sample(t, "cairn_backup_last_success_timestamp_seconds", NULL, 0,
		double_of(load(&g.last_success_bits)));
	cairn_metrics_text_family(t, "cairn_backup_upload_bytes_total", CAIRN_METRICS_COUNTER,
		"Bytes of backups uploaded to remote storage.");
	cairn_metrics_text_sample_u64(t, "cairn_backup_upload_bytes_total", NULL, 0, load(&g.upload_bytes));
	cairn_metrics_text_family(t, "cairn_backup_upload_failures_total", CAIRN_METRICS_COUNTER,
		"Uploads of backups to remote storage that failed.");
	cairn_metrics_text_sample_u64(t, "cairn_backup_upload_failures_total", NULL, 0, load(&g.upload_failures));
}

void cairn_metrics_write(cairn_metrics_text *t)
{
	write_node(t);
	write_http(t);
	write_backups(t);
}
