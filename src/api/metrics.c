/*
 * metrics.c: GET /metrics, the node's metrics in the Prometheus text
 * exposition format (version 0.0.4), served at the root and under the
 * Chainweb prefix like every route.  Registered only with metrics.enabled,
 * so without it /metrics is a 404 like any unknown path.
 *
 * A scrape writes the event-driven families kept by src/metrics
 * (cairn_metrics_write) and then the values read at the moment of the
 * scrape, through the node's accessors: the cut, WAL and file-system
 * sizes (stat and statvfs, never the stores), the newest restorable
 * backup.  Each family's lines stay together, as the format requires.
 * The page is built in memory (a few KiB) and sent in one response.
 *
 * When the management API is on, /metrics takes its tokens (X-Auth-Token
 * or Authorization: Bearer) and answers 401 like it without one: the page
 * names backup times and sizes, which that API guards.  Without the
 * management API it is open, like the rest of the service API, which binds
 * to loopback by default.
 */
#include "api/api.h"
#include "metrics/metrics.h"
#include "metrics/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct cairn_api_metrics {
	cairn_node *node;
	const cairn_api_manage *manage; /* NULL: no token required */
	double schedule_interval;
	double started; /* UNIX time the service started: the process's start, within milliseconds */
};

static double unix_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void gauge(cairn_metrics_text *t, const char *name, const char *help, double value)
{
	cairn_metrics_text_family(t, name, CAIRN_METRICS_GAUGE, help);
	cairn_metrics_text_sample(t, name, NULL, 0, value);
}

static void write_build(cairn_metrics_text *t, cairn_node *node)
{
	cairn_metrics_text_family(t, "cairn_build_info", CAIRN_METRICS_GAUGE,
		"Always 1; the labels name cairn's version and the Chainweb version the node runs.");
	cairn_metrics_label labels[] = {{"version", CAIRN_VERSION}, {"chainweb_version", cairn_node_version(node)->name}};
	cairn_metrics_text_sample(t, "cairn_build_info", labels, 2, 1);
}

static void write_cut(cairn_metrics_text *t, cairn_node *node)
{
	cairn_node_cut cut;
	cairn_node_get_cut(&cut, node);
	uint64_t sum = 0;
	cairn_metrics_text_family(t, "cairn_chain_height", CAIRN_METRICS_GAUGE,
		"Height of each chain's latest reported (durable) block.");
	for (uint32_t chain = 0; chain < CAIRN_GRAPH_MAX_ORDER; chain++) {
		if (!cut.present[chain])
			continue;
		char number[12];
		snprintf(number, sizeof(number), "%u", chain);
		cairn_metrics_label label = {"chain", number};
		cairn_metrics_text_sample_u64(t, "cairn_chain_height", &label, 1, cut.height[chain]);
		sum += cut.height[chain];
	}
	cairn_metrics_text_family(t, "cairn_cut_height", CAIRN_METRICS_GAUGE,
		"Height of the current cut: the sum of the chains' heights, as GET /cut reports it.");
	cairn_metrics_text_sample_u64(t, "cairn_cut_height", NULL, 0, sum);
}

static void write_storage(cairn_metrics_text *t, const cairn_node_storage *s)
{
	gauge(t, "cairn_chaindb_wal_bytes", "Size of the chain database's write-ahead logs (RocksDB).",
		(double)s->chaindb_wal_bytes);
	cairn_metrics_text_family(t, "cairn_pact_wal_bytes", CAIRN_METRICS_GAUGE,
		"Size of each chain's Pact state write-ahead log (SQLite -wal file).");
	for (uint32_t chain = 0; chain < s->chains; chain++) {
		char number[12];
		snprintf(number, sizeof(number), "%u", chain);
		cairn_metrics_label label = {"chain", number};
		cairn_metrics_text_sample_u64(t, "cairn_pact_wal_bytes", &label, 1, s->pact_wal_bytes[chain]);
	}
	if (s->has_database_fs) {
		gauge(t, "cairn_database_filesystem_free_bytes",
			"Bytes available to cairn on the database directory's file system.", (double)s->database_free_bytes);
		gauge(t, "cairn_database_filesystem_size_bytes", "Size of the database directory's file system.",
			(double)s->database_size_bytes);
	}
	if (s->has_backup_fs) {
		gauge(t, "cairn_backup_filesystem_free_bytes",
			"Bytes available to cairn on the backup directory's file system.", (double)s->backup_free_bytes);
		gauge(t, "cairn_backup_filesystem_size_bytes", "Size of the backup directory's file system.",
			(double)s->backup_size_bytes);
	}
}

/* The newest restorable backup here and in remote storage: its time (0
 * when none) and, when there is one, its age. */
static void write_newest(cairn_metrics_text *t, cairn_node *node, double now)
{
	double local = 0;
	cairn_backup_detail d;
	cairn_backup_manager *backups = cairn_node_backups(node);
	if (backups != NULL && cairn_backup_newest_restorable(&d, backups) == CAIRN_OK)
		local = (double)d.created_us / 1e6;
	double remote = cairn_metrics_remote_newest();
	cairn_metrics_label where[] = {{"location", "local"}, {"location", "remote"}};
	double times[] = {local, remote};
	cairn_metrics_text_family(t, "cairn_backup_newest_restorable_timestamp_seconds", CAIRN_METRICS_GAUGE,
		"UNIX time the newest restorable backup was taken, in the backup directory (local) and in remote "
		"storage (remote); 0 when there is none.");
	for (int i = 0; i < 2; i++)
		cairn_metrics_text_sample(t, "cairn_backup_newest_restorable_timestamp_seconds", &where[i], 1, times[i]);
	cairn_metrics_text_family(t, "cairn_backup_newest_restorable_age_seconds", CAIRN_METRICS_GAUGE,
		"Age of the newest restorable backup, local and remote; absent where there is none.");
	for (int i = 0; i < 2; i++)
		if (times[i] > 0)
			cairn_metrics_text_sample(t, "cairn_backup_newest_restorable_age_seconds", &where[i], 1,
				now > times[i] ? now - times[i] : 0);
}

static void get_metrics(cairn_http_response *res, const cairn_http_request *req, void *ctx)
{
	cairn_api_metrics *m = ctx;
	if (m->manage != NULL && !cairn_api_manage_authorize(res, req, m->manage))
		return;
	cairn_metrics_text *t;
	if (cairn_metrics_text_create(&t) != CAIRN_OK) {
		cairn_http_respond_text(res, 500, "%s", cairn_error_last());
		return;
	}
	cairn_node_storage storage;
	cairn_node_get_storage(&storage, m->node);
	write_build(t, m->node);
	gauge(t, "process_start_time_seconds", "UNIX time the process started.", m->started);
	cairn_metrics_write(t);
	write_cut(t, m->node);
	write_storage(t, &storage);
	gauge(t, "cairn_backup_schedule_interval_seconds", "Seconds between scheduled backups; 0 when none are "
		"scheduled.", m->schedule_interval);
	write_newest(t, m->node, unix_now());
	char *text;
	size_t len;
	if (cairn_metrics_text_take(&text, &len, t) != CAIRN_OK) {
		cairn_http_respond_text(res, 500, "%s", cairn_error_last());
		return;
	}
	cairn_http_respond_owned(res, 200, CAIRN_METRICS_CONTENT_TYPE, text, len);
}

int cairn_api_metrics_start(cairn_api_metrics **out, cairn_http_router *router, cairn_node *node,
	const cairn_config *cfg, const cairn_api_manage *manage)
{
	cairn_api_metrics *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	m->node = node;
	m->manage = manage;
	m->schedule_interval = cfg->backup_schedule_interval;
	m->started = unix_now();
	int rc = cairn_http_router_add(router, CAIRN_HTTP_GET, "/metrics", get_metrics, m);
	if (rc != CAIRN_OK) {
		free(m);
		return rc;
	}
	*out = m;
	return CAIRN_OK;
}

void cairn_api_metrics_free(cairn_api_metrics *metrics)
{
	free(metrics);
}
