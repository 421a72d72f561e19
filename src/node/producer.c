/*
 * producer.c: the block producer of producer.h.
 *
 * The producer is a worker (worker.h) that sleeps until its next slot, so
 * a stop request wakes it at once.  Slots are 1/block_rate apart; when
 * production falls more than a second behind schedule (a slow disk, a
 * paused process) the schedule restarts from now instead of producing a
 * burst.
 */
#include "node/producer.h"
#include "chain/mining.h"
#include "config/config.h"
#include "node/pact.h"
#include "node/worker.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#define MAX_POW_ATTEMPTS (1u << 24)
#define RETRY_SECONDS 1.0

struct cairn_producer {
	cairn_worker *worker;
	cairn_commit *commit;
	const cairn_version *version;
	cairn_producer_options opts;
};

static int64_t wall_clock_us(void)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	return (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

/* The chain with the lowest tip (braided order); false when no chain has one. */
static bool next_chain(uint32_t *chain, uint64_t *height, cairn_producer *p)
{
	bool present[CAIRN_GRAPH_MAX_ORDER];
	uint64_t heights[CAIRN_GRAPH_MAX_ORDER];
	cairn_commit_tips(p->commit, present, heights);
	bool found = false;
	for (uint32_t c = 0; c < cairn_version_latest_graph(p->version)->order; c++)
		if (present[c] && (!found || heights[c] < *height)) {
			*chain = c;
			*height = heights[c];
			found = true;
		}
	return found;
}

/* The unsolved child of the tip of `chain` (at `height`) with its payload. */
static int make_block(cairn_header *h, cairn_payload *payload, cairn_producer *p, uint32_t chain, uint64_t height)
{
	cairn_header parent, adjacent[CAIRN_HEADER_MAX_ADJACENTS];
	const cairn_header *adjacent_ptrs[CAIRN_HEADER_MAX_ADJACENTS];
	int rc = cairn_commit_header_at(&parent, p->commit, chain, height);
	const cairn_graph *g = cairn_version_graph_at(p->version, height);
	for (uint32_t i = 0; rc == CAIRN_OK && i < g->degree; i++) {
		rc = cairn_commit_header_at(&adjacent[i], p->commit, cairn_graph_adjacents(g, chain)[i], height);
		adjacent_ptrs[i] = &adjacent[i];
	}
	int64_t now = wall_clock_us();
	if (rc == CAIRN_OK)
		rc = cairn_pact_make_payload(payload, p->version, chain, height + 1, parent.hash, now,
			p->opts.transactions_per_block);
	if (rc == CAIRN_OK)
		rc = cairn_mining_make_child(h, &parent, adjacent_ptrs, g->degree, payload->hashes.payload, now);
	return rc;
}

static int produce_one(cairn_producer *p)
{
	uint32_t chain;
	uint64_t height;
	if (!next_chain(&chain, &height, p))
		return cairn_error_set(CAIRN_ENOTFOUND, "no chain has a genesis block");
	cairn_header h;
	cairn_payload payload;
	cairn_payload_init(&payload);
	int rc = make_block(&h, &payload, p, chain, height);
	if (rc == CAIRN_OK)
		rc = cairn_mining_solve(&h, MAX_POW_ATTEMPTS, NULL);
	if (rc == CAIRN_OK)
		rc = cairn_commit_block(p->commit, &h, &payload, 0);
	cairn_payload_free(&payload);
	if (rc != CAIRN_OK)
		cairn_error_prefix(rc, "chain %u height %" PRIu64, chain, height + 1);
	return rc;
}

static void report(uint64_t blocks, double seconds)
{
	cairn_log_info("producer", "%" PRIu64 " blocks in %.1f s (%.0f blocks/s)", blocks, seconds,
		(double)blocks / seconds);
}

static void producer_main(cairn_worker *w, void *arg)
{
	cairn_producer *p = arg;
	bool unthrottled = p->opts.block_rate == CAIRN_BLOCK_RATE_MAX;
	double interval = unthrottled ? 0 : 1.0 / p->opts.block_rate;
	double next_slot = cairn_clock_now(), report_start = next_slot;
	uint64_t produced = 0;
	while (cairn_worker_sleep_until(w, next_slot)) {
		double now = cairn_clock_now();
		int rc = cairn_commit_is_running(p->commit) ? produce_one(p) : CAIRN_EBUSY;
		if (rc == CAIRN_OK) {
			produced++;
			next_slot = next_slot + interval < now - 1.0 ? now : next_slot + interval;
		} else {
			/* paused or stopped commits are the guard's to report (guard.h) */
			if (rc != CAIRN_EBUSY && cairn_commit_is_running(p->commit))
				cairn_log_error("producer", "%s; retrying in %.0f s", cairn_error_last(), RETRY_SECONDS);
			next_slot = now + RETRY_SECONDS;
		}
		if (now - report_start >= p->opts.report_seconds) {
			report(produced, now - report_start);
			produced = 0;
			report_start = now;
		}
	}
}

int cairn_producer_start(cairn_producer **out, cairn_commit *commit, const cairn_version *version,
	const cairn_producer_options *opts)
{
	if (!version->has_block_producer)
		return cairn_error_set(CAIRN_EINVALID, "%s has no block producer", version->name);
	if (!(opts->block_rate > 0 || opts->block_rate == CAIRN_BLOCK_RATE_MAX))
		return cairn_error_set(CAIRN_EINVALID, "block rate %g is not positive", opts->block_rate);
	cairn_producer *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	p->commit = commit;
	p->version = version;
	p->opts = *opts;
	int rc = cairn_worker_start(&p->worker, "producer", producer_main, p);
	if (rc != CAIRN_OK) {
		free(p);
		return rc;
	}
	*out = p;
	return CAIRN_OK;
}

void cairn_producer_stop(cairn_producer *p)
{
	if (p == NULL)
		return;
	cairn_worker_stop(p->worker);
	free(p);
}
