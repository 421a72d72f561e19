/*
 * recovery.c: start-up recovery of recovery.h.
 *
 * The validated-cut file has one line per chain with a block:
 * "<chain> <height> <hash, base64url>".  Anything unreadable in it is
 * ignored with a warning: the only cost is validating more blocks.
 */
#include "node/recovery.h"
#include "node/pact.h"
#include "node/worker.h"
#include "util/base64url.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROGRESS_SECONDS 5.0
#define HASH_TEXT 44

typedef struct stored_tips {
	bool present[CAIRN_GRAPH_MAX_ORDER];
	uint64_t height[CAIRN_GRAPH_MAX_ORDER];
	uint32_t chains;
} stored_tips;

static void load_tips(stored_tips *t, cairn_commit *c, const cairn_version *v)
{
	cairn_commit_tips(c, t->present, t->height);
	t->chains = cairn_version_latest_graph(v)->order;
}

static int marker_path(char *buf, size_t size, const char *database_dir)
{
	int n = snprintf(buf, size, "%s/0/validated-cut", database_dir);
	return n < 0 || (size_t)n >= size
		? cairn_error_set(CAIRN_EINVALID, "database directory path too long: '%s'", database_dir) : CAIRN_OK;
}

/* ---- replay ---- */

typedef struct progress {
	const char *what;
	uint32_t chain;
	uint64_t done, total;
	double last_report;
} progress;

static void progress_step(progress *p)
{
	p->done++;
	double now = cairn_clock_now();
	if (now - p->last_report >= PROGRESS_SECONDS) {
		cairn_log_info("recovery", "chain %u: %s %" PRIu64 " of %" PRIu64 " blocks", p->chain, p->what,
			p->done, p->total);
		p->last_report = now;
	}
}

static int replay(cairn_commit *c, cairn_pactdb *db, uint32_t chain, uint64_t from, uint64_t to)
{
	progress pr = {"replayed", chain, 0, to - from + 1, cairn_clock_now()};
	int rc = CAIRN_OK;
	for (uint64_t height = from; rc == CAIRN_OK && height <= to; height++) {
		cairn_header h;
		cairn_payload payload;
		bool has_payload = false;
		cairn_payload_init(&payload);
		rc = cairn_commit_load_block(&h, &payload, &has_payload, c, chain, height);
		if (rc == CAIRN_OK)
			rc = cairn_pact_apply_payload(db, height, h.hash, has_payload ? &payload : NULL);
		cairn_payload_free(&payload);
		progress_step(&pr);
	}
	if (rc == CAIRN_OK)
		cairn_log_info("recovery", "chain %u: Pact state rebuilt from height %" PRIu64 " to %" PRIu64,
			chain, from, to);
	return rc;
}

/* Checks that the Pact database recorded the stored block at `height`. */
static int check_same_block(cairn_commit *c, cairn_pactdb *db, uint32_t chain, uint64_t height)
{
	cairn_header h;
	uint8_t pact_hash[CAIRN_HASH_LEN];
	int rc = cairn_pactdb_block_hash_at(pact_hash, db, height);
	if (rc == CAIRN_OK)
		rc = cairn_commit_header_at(&h, c, chain, height);
	if (rc == CAIRN_ENOTFOUND || (rc == CAIRN_OK && memcmp(h.hash, pact_hash, CAIRN_HASH_LEN) != 0))
		return cairn_error_set(CAIRN_EINVALID, "chain %u: the Pact database does not hold the stored block "
			"at height %" PRIu64 " (it belongs to another chain database; remove it to rebuild it)",
			chain, height);
	return rc;
}

static int reconcile_chain(cairn_commit *c, const cairn_version *v, cairn_pactdb *db, uint32_t chain,
	bool present, uint64_t tip)
{
	uint64_t last = 0, genesis = 0;
	int rc = cairn_pactdb_last_block(&last, NULL, NULL, db);
	bool has_blocks = rc == CAIRN_OK;
	if (rc != CAIRN_OK && rc != CAIRN_ENOTFOUND)
		return rc;
	if (!present)
		return has_blocks ? cairn_error_set(CAIRN_EINVALID, "chain %u: the Pact database has blocks, the chain "
			"database none (remove the Pact database to rebuild it)", chain) : CAIRN_OK;
	if (has_blocks && last > tip) {
		cairn_log_info("recovery", "chain %u: Pact state at height %" PRIu64 " is ahead of the chain database "
			"(%" PRIu64 "): rolling back", chain, last, tip);
		if ((rc = cairn_pactdb_rollback_above(db, tip)) != CAIRN_OK)
			return rc;
		last = tip;
	}
	if (has_blocks && (rc = check_same_block(c, db, chain, last)) != CAIRN_OK)
		return rc;
	if (!has_blocks && (rc = cairn_version_genesis_height(&genesis, v, chain)) != CAIRN_OK)
		return rc;
	uint64_t from = has_blocks ? last + 1 : genesis;
	return from <= tip ? replay(c, db, chain, from, tip) : CAIRN_OK;
}

/* ---- validation ---- */

/* Moves the first height to validate of the chain a marker line names
 * above the block it names, if the chain database holds that block. */
static void apply_marker_line(uint64_t *from, cairn_commit *c, const stored_tips *t, const char *line)
{
	unsigned chain;
	unsigned long long height;
	char text[HASH_TEXT + 1];
	uint8_t hash[CAIRN_HASH_LEN];
	cairn_header stored;
	if (sscanf(line, "%u %llu %44s", &chain, &height, text) != 3 || chain >= t->chains || !t->present[chain] ||
	    cairn_base64url_decode_exact(hash, CAIRN_HASH_LEN, text, strlen(text)) != CAIRN_OK ||
	    cairn_commit_header_at(&stored, c, chain, height) != CAIRN_OK ||
	    memcmp(stored.hash, hash, CAIRN_HASH_LEN) != 0)
		return;
	from[chain] = height + 1;
}

static void read_marker(uint64_t *from, cairn_commit *c, const stored_tips *t, const char *database_dir)
{
	char path[PATH_MAX], *text = NULL;
	size_t len;
	if (marker_path(path, sizeof(path), database_dir) != CAIRN_OK || !cairn_fs_exists(path))
		return;
	if (cairn_fs_read_file(&text, &len, path) != CAIRN_OK) {
		cairn_log_warn("recovery", "%s: ignored", cairn_error_last());
		return;
	}
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		apply_marker_line(from, c, t, line);
	free(text);
}

static int validate_block(cairn_commit *c, uint32_t chain, uint64_t height)
{
	cairn_header h;
	cairn_payload payload;
	bool has_payload = false;
	cairn_payload_init(&payload);
	int rc = cairn_commit_load_block(&h, &payload, &has_payload, c, chain, height);
	if (rc == CAIRN_OK && (h.chain_id != chain || h.height != height))
		rc = cairn_error_set(CAIRN_EINVALID, "the rank index names a block of chain %u height %" PRIu64,
			h.chain_id, h.height);
	if (rc == CAIRN_OK)
		rc = cairn_commit_verify_block(c, &h, has_payload ? &payload : NULL);
	cairn_payload_free(&payload);
	return rc != CAIRN_OK ? cairn_error_prefix(rc, "stored block at chain %u height %" PRIu64, chain, height) : rc;
}

/* Validates every chain's blocks from from[chain] to its tip, level by
 * level, as they were committed. */
static int validate_ranges(cairn_commit *c, const stored_tips *t, const uint64_t *from)
{
	uint64_t low = UINT64_MAX, high = 0, total = 0;
	for (uint32_t chain = 0; chain < t->chains; chain++)
		if (t->present[chain] && from[chain] <= t->height[chain]) {
			low = from[chain] < low ? from[chain] : low;
			high = t->height[chain] > high ? t->height[chain] : high;
			total += t->height[chain] - from[chain] + 1;
		}
	progress pr = {"validated", 0, 0, total, cairn_clock_now()};
	double start = pr.last_report;
	int rc = CAIRN_OK;
	for (uint64_t height = low; rc == CAIRN_OK && total > 0 && height <= high; height++)
		for (uint32_t chain = 0; rc == CAIRN_OK && chain < t->chains; chain++)
			if (t->present[chain] && height >= from[chain] && height <= t->height[chain]) {
				pr.chain = chain;
				rc = validate_block(c, chain, height);
				progress_step(&pr);
			}
	if (rc == CAIRN_OK && total > 0)
		cairn_log_info("recovery", "validated %" PRIu64 " stored blocks in %.2f s", total,
			cairn_clock_now() - start);
	return rc;
}

int cairn_recovery_mark_validated(cairn_commit *commit, const cairn_version *version, const char *database_dir)
{
	stored_tips t;
	load_tips(&t, commit, version);
	char path[PATH_MAX], text[CAIRN_GRAPH_MAX_ORDER * 96] = "";
	size_t len = 0;
	int rc = marker_path(path, sizeof(path), database_dir);
	for (uint32_t chain = 0; rc == CAIRN_OK && chain < t.chains; chain++) {
		cairn_header h;
		if (!t.present[chain] || (rc = cairn_commit_header_at(&h, commit, chain, t.height[chain])) != CAIRN_OK)
			continue;
		char hash[HASH_TEXT];
		cairn_base64url_encode(hash, h.hash, CAIRN_HASH_LEN);
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%u %" PRIu64 " %s\n", chain, h.height, hash);
	}
	if (rc == CAIRN_OK)
		rc = cairn_fs_write_atomic(path, text, len);
	return rc != CAIRN_OK ? cairn_error_prefix(rc, "record the validated cut") : rc;
}

/* Checks that the Pact databases recorded the validated blocks. */
static int check_pact_ranges(cairn_commit *c, cairn_pactdb *const *pactdbs, const stored_tips *t,
	const uint64_t *from)
{
	int rc = CAIRN_OK;
	for (uint32_t chain = 0; chain < t->chains; chain++)
		for (uint64_t height = from[chain]; rc == CAIRN_OK && t->present[chain] && height <= t->height[chain]; height++)
			rc = check_same_block(c, pactdbs[chain], chain, height);
	return rc;
}

/* Blocks are validated before any of them is replayed into PactDB, so an
 * invalid stored block never reaches the Pact state. */
int cairn_recovery_run(cairn_commit *commit, const cairn_version *version, cairn_pactdb *const *pactdbs,
	const char *database_dir)
{
	stored_tips t;
	load_tips(&t, commit, version);
	uint64_t from[CAIRN_GRAPH_MAX_ORDER] = {0};
	int rc = CAIRN_OK;
	for (uint32_t chain = 0; rc == CAIRN_OK && chain < t.chains; chain++)
		rc = cairn_version_genesis_height(&from[chain], version, chain);
	if (rc == CAIRN_OK) {
		read_marker(from, commit, &t, database_dir);
		rc = validate_ranges(commit, &t, from);
	}
	for (uint32_t chain = 0; rc == CAIRN_OK && chain < t.chains; chain++)
		rc = reconcile_chain(commit, version, pactdbs[chain], chain, t.present[chain], t.height[chain]);
	if (rc == CAIRN_OK)
		rc = check_pact_ranges(commit, pactdbs, &t, from);
	if (rc == CAIRN_OK)
		rc = cairn_recovery_mark_validated(commit, version, database_dir);
	return rc != CAIRN_OK ? cairn_error_prefix(rc, "recovery") : rc;
}
