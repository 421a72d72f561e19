/*
 * metrics.h: the process's event-driven metrics: counters and histograms
 * that the layers increment as things happen, and their exposition.
 *
 * A leaf module (it depends only on util), so any layer may record: the
 * commit path, the HTTP server, the backup engine, the upload code.  The
 * state is process-wide, like a node's single /metrics page: one process
 * runs one node.  Recording never blocks and never fails: every value is a
 * C11 atomic updated with relaxed ordering (one atomic add per HTTP
 * request, two per committed block), and every label set is fixed in
 * advance (chains by number, HTTP endpoints by route pattern, backup
 * states by name), so the exposition has bounded cardinality and needs no
 * lock.  Values are recorded whether or not /metrics is enabled; the
 * option only decides whether they are served.
 *
 * Values that are cheaper to read when scraped (the cut, WAL sizes, the
 * newest restorable backup, free space) are not kept
 * here: the /metrics handler (src/api/metrics.c) reads them from the node
 * and writes them with text.h next to cairn_metrics_write's output.
 */
#ifndef CAIRN_METRICS_METRICS_H
#define CAIRN_METRICS_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "metrics/text.h"

#define CAIRN_METRICS_MAX_CHAINS 20     /* as CAIRN_GRAPH_MAX_ORDER */
#define CAIRN_METRICS_MAX_ENDPOINTS 63  /* route patterns, besides "other" */
#define CAIRN_METRICS_ENDPOINT_OTHER 0  /* requests that matched no route */

/* ---- the node ---- */

/* A block of `chain` committed, `seconds` after its commit was asked for
 * (the wait for the commit lock included). */
void cairn_metrics_block_committed(uint32_t chain, double seconds);

/* ---- HTTP ---- */

/* The endpoint id of route `pattern` ("/check-backup/{id}"), registering
 * it on first use; the same pattern always gets the same id.  Beyond
 * CAIRN_METRICS_MAX_ENDPOINTS patterns, CAIRN_METRICS_ENDPOINT_OTHER. */
int cairn_metrics_http_endpoint(const char *pattern);

/* A response with `status` (100..599) sent for a request to `endpoint`. */
void cairn_metrics_http_request(int endpoint, int status);

typedef enum cairn_metrics_auth_reason {
	CAIRN_METRICS_AUTH_MISSING, /* no token */
	CAIRN_METRICS_AUTH_INVALID, /* a token that is not loaded */
	CAIRN_METRICS_AUTH_LINK,    /* a download link that is malformed, forged or expired */
	CAIRN_METRICS_AUTH_REASONS
} cairn_metrics_auth_reason;

/* A request refused for its credentials (401 or 403). */
void cairn_metrics_auth_rejected(cairn_metrics_auth_reason reason);

/* An event-stream subscriber opened (+1) or closed (-1). */
void cairn_metrics_stream_subscribers_add(int delta);

/* An event-stream subscriber dropped for falling too far behind. */
void cairn_metrics_stream_dropped(void);

/* ---- backups ---- */

/* A backup job reached terminal state `state` (its management API name:
 * "completed", "completed_with_errors", "failed", "stopped", "skipped");
 * `seconds` is how long it ran and `bytes` what it backed up.  Skipped
 * jobs never ran: they are counted, but not observed in the duration
 * histogram.  A completed job (with or without errors) also moves the
 * last-success time to `end_unix_seconds`. */
void cairn_metrics_backup_ended(const char *state, double seconds, uint64_t bytes, double end_unix_seconds);

/* The last successful backup ended at `unix_seconds` unless a later one
 * is already known (the backup manager seeds it from the catalogue when
 * it opens, so a restart does not reset it). */
void cairn_metrics_backup_success_at(double unix_seconds);

/* Uploads to remote storage: bytes sent, failed uploads, and the creation
 * time of the newest backup known complete there. */
void cairn_metrics_upload_bytes_add(uint64_t bytes);
void cairn_metrics_upload_failed(void);
void cairn_metrics_remote_newest_set(double unix_seconds);

/* The newest remote backup's time; 0 when none is known. */
double cairn_metrics_remote_newest(void);

/* ---- exposition ---- */

/* Writes every family kept here, each with its HELP and TYPE lines. */
void cairn_metrics_write(cairn_metrics_text *t);

#endif
