/*
 * bench_backup_node: the real node (its commit path, checkpointer and
 * backup manager), driven in-process by a producer loop that times every
 * block commit.
 *
 *   bench_backup_node fill <database-dir> <chain-MB> [pad-KB]
 *       Commits valid development blocks, each carrying pad-KB (default
 *       64) of incompressible miner data, until the ChainDB holds chain-MB,
 *       then closes the node cleanly, so `cairn node` starts on it without
 *       validating it again.  (The node validates every block it has not
 *       validated itself, so a database of synthetic records would not do.)
 *
 *   bench_backup_node live <work-dir> <pact-MB> [transactions-per-block]
 *       Fills the Pact files to pact-MB with blocks of 1000 transfers, then
 *       commits blocks of N transfers (default 2, the node's default) as
 *       fast as it can, as the node's producer at `max` does, and, 2 s in,
 *       runs a backup without Pact and then one with Pact.  Prints the commit lock
 *       hold of each consistency point (from the manifests) and the longest
 *       block commit (cairn_node_commit_block, lock wait included) before,
 *       during and 2 s after each backup, next to the rate of blocks.
 */
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup/backup.h"
#include "chain/mining.h"
#include "node/node.h"
#include "node/pact.h"
#include "store/pactdb.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

#include "../bench_shell.h"

#define MAX_POW_ATTEMPTS (1u << 24)

static void check(int rc, const char *what)
{
	if (rc != CAIRN_OK) {
		fprintf(stderr, "bench_backup_node: %s: %s\n", what, cairn_error_last());
		exit(1);
	}
}

static int64_t wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- producing valid blocks ---- */

typedef struct producer {
	cairn_node *node;
	const cairn_version *version;
	uint32_t chains;
	uint64_t height[CAIRN_GRAPH_MAX_ORDER];
	cairn_header recent[CAIRN_GRAPH_MAX_ORDER][2]; /* [c][h % 2]: the headers at the tip and below it */
	size_t pad;                                    /* bytes of padding in the miner data */
	size_t transactions;
	uint64_t random;
	char *padding;
	/* commit timings by phase */
	int phase;
	double longest[8];
	uint64_t commits[8];
	double phase_start[8], phase_end[8];
} producer;

static void remember(producer *p, const cairn_header *h)
{
	p->recent[h->chain_id][h->height % 2] = *h;
	p->height[h->chain_id] = h->height;
}

static void producer_init(producer *p, cairn_node *node, size_t pad, size_t transactions)
{
	memset(p, 0, sizeof(*p));
	p->node = node;
	p->version = cairn_node_version(node);
	p->chains = cairn_version_latest_graph(p->version)->order;
	p->pad = pad;
	p->transactions = transactions;
	p->random = 0x2545f4914f6cdd1dULL;
	p->padding = malloc(pad + 1);
	cairn_node_flush(node);
	cairn_node_cut cut;
	cairn_node_get_cut(&cut, node);
	for (uint32_t c = 0; c < p->chains; c++) {
		for (uint64_t back = 0; back < 2 && back <= cut.height[c]; back++) {
			cairn_header h;
			cairn_payload payload;
			bool has;
			cairn_payload_init(&payload);
			check(cairn_node_load_block(&h, &payload, &has, node, c, cut.height[c] - back), "load block");
			if (has)
				cairn_payload_free(&payload);
			p->recent[c][h.height % 2] = h;
		}
		p->height[c] = cut.height[c];
	}
}

/* The payload the node's producer would make, with `pad` random bytes of
 * base64url text added to the miner data (JSON readers ignore the field). */
static int make_payload(cairn_payload *out, producer *p, uint32_t chain, const cairn_header *parent, int64_t t)
{
	cairn_payload plain;
	cairn_payload_init(&plain);
	int rc = cairn_pact_make_payload(&plain, p->version, chain, parent->height + 1, parent->hash, t, p->transactions);
	if (rc != CAIRN_OK || p->pad == 0) {
		*out = plain;
		return rc;
	}
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	for (size_t i = 0; i < p->pad; i++) {
		p->random ^= p->random << 13;
		p->random ^= p->random >> 7;
		p->random ^= p->random << 17;
		p->padding[i] = alphabet[p->random & 63];
	}
	size_t len = plain.miner_data.len - 1 + p->pad + 10;
	char *miner = malloc(len + 1);
	int n = snprintf(miner, len + 1, "%.*s,\"pad\":\"%.*s\"}", (int)plain.miner_data.len - 1,
		(const char *)plain.miner_data.data, (int)p->pad, p->padding);
	rc = cairn_payload_create(out, (cairn_slice){(const uint8_t *)miner, (size_t)n}, plain.coinbase,
		plain.tx_count, plain.transactions, plain.outputs);
	free(miner);
	cairn_payload_free(&plain);
	return rc;
}

/* Commits one block on the chain with the lowest tip; returns its commit time. */
static double commit_next(producer *p)
{
	uint32_t chain = 0;
	for (uint32_t c = 1; c < p->chains; c++)
		if (p->height[c] < p->height[chain])
			chain = c;
	uint64_t h = p->height[chain];
	const cairn_header *parent = &p->recent[chain][h % 2];
	const cairn_graph *g = cairn_version_graph_at(p->version, h);
	const cairn_header *adjacent[CAIRN_HEADER_MAX_ADJACENTS];
	for (uint32_t i = 0; i < g->degree; i++)
		adjacent[i] = &p->recent[cairn_graph_adjacents(g, chain)[i]][h % 2];
	int64_t t = wall_us();
	cairn_payload payload;
	cairn_header child;
	check(make_payload(&payload, p, chain, parent, t), "payload");
	check(cairn_mining_make_child(&child, parent, adjacent, g->degree, payload.hashes.payload, t), "header");
	check(cairn_mining_solve(&child, MAX_POW_ATTEMPTS, NULL), "solve");
	double t0 = cairn_clock_now();
	check(cairn_node_commit_block(p->node, &child, &payload, 0), "commit");
	double elapsed = cairn_clock_now() - t0;
	cairn_payload_free(&payload);
	remember(p, &child);
	p->longest[p->phase] = elapsed > p->longest[p->phase] ? elapsed : p->longest[p->phase];
	p->commits[p->phase]++;
	return elapsed;
}

/* ---- node set-up ---- */

static void set(char **slot, const char *value)
{
	free(*slot);
	*slot = value ? strdup(value) : NULL;
}

static cairn_node *open_node(cairn_config *cfg, const char *database, const char *backups)
{
	check(cairn_config_init(cfg), "config");
	set(&cfg->database_directory, database);
	set(&cfg->backup_directory, backups);
	cfg->block_rate = 0;
	cfg->log_level = CAIRN_LOG_WARN;
	cairn_log_set_level(getenv("CAIRN_BENCH_DEBUG") ? CAIRN_LOG_DEBUG : CAIRN_LOG_WARN);
	cairn_node *node;
	check(cairn_node_open(&node, cfg), "open node");
	return node;
}

static uint64_t files_bytes(const char *dir, const char *suffix)
{
	char cmd[2 * PATH_MAX];
	snprintf(cmd, sizeof(cmd), "find '%s' -name '*%s' -printf '%%s\\n' | awk '{s+=$1} END {print s+0}'", dir, suffix);
	return bench_shell_number(cmd);
}

static int fill(const char *database, uint64_t mb, size_t pad_kb)
{
	cairn_config cfg;
	cairn_node *node = open_node(&cfg, database, NULL);
	producer p;
	producer_init(&p, node, pad_kb << 10, 2);
	char rocks[PATH_MAX];
	snprintf(rocks, sizeof(rocks), "%s/0/rocksDb", database);
	double t0 = cairn_clock_now();
	uint64_t blocks = 0;
	while (files_bytes(rocks, ".sst") < mb << 20)
		for (int i = 0; i < 256; i++, blocks++)
			commit_next(&p);
	cairn_node_close(node);
	cairn_config_free(&cfg);
	printf("filled %s: %" PRIu64 " blocks of %zu KB padding in %.1f s, ChainDB %.0f MB\n", database, blocks,
		pad_kb, cairn_clock_now() - t0, (double)files_bytes(rocks, "") / 1e6);
	free(p.padding);
	return 0;
}

/* ---- live ---- */

static double manifest_ms(const char *backups, const char *id, const char *key)
{
	char path[PATH_MAX + 96];
	snprintf(path, sizeof(path), "%s/%s/manifest.json", backups, id);
	json_object *m = json_object_from_file(path), *t = NULL, *v = NULL;
	json_object_object_get_ex(m, "timings", &t);
	json_object_object_get_ex(t, key, &v);
	double ms = v ? json_object_get_double(v) : -1;
	json_object_put(m);
	return ms;
}

static void run_for(producer *p, int phase, double seconds)
{
	p->phase = phase;
	p->phase_start[phase] = cairn_clock_now();
	while (cairn_clock_now() - p->phase_start[phase] < seconds)
		commit_next(p);
	p->phase_end[phase] = cairn_clock_now();
}

/* Phase `phase`: commits blocks while a backup runs; returns its id. */
static void run_during_backup(char *id, producer *p, int phase, bool pact)
{
	cairn_backup_manager *m = cairn_node_backups(p->node);
	cairn_backup_request req = {pact, CAIRN_BACKUP_MANUAL};
	bool started;
	p->phase = phase;
	p->phase_start[phase] = cairn_clock_now();
	check(cairn_backup_start(id, &started, m, &req), "start backup");
	cairn_backup_state st = CAIRN_BACKUP_PREPARING;
	while (st == CAIRN_BACKUP_QUEUED || st == CAIRN_BACKUP_PREPARING || st == CAIRN_BACKUP_COPYING) {
		commit_next(p);
		check(cairn_backup_state_of(&st, m, id), "backup state");
	}
	p->phase_end[phase] = cairn_clock_now();
	if (st != CAIRN_BACKUP_DONE) {
		fprintf(stderr, "bench_backup_node: backup %s failed (see the log)\n", id);
		exit(1);
	}
}

static void report_phase(const producer *p, int phase, const char *name)
{
	double seconds = p->phase_end[phase] - p->phase_start[phase];
	printf("    %-14s %6.1f s, %5.0f blocks/s, longest commit %6.1f ms\n", name, seconds,
		(double)p->commits[phase] / seconds, p->longest[phase] * 1000);
}

static int live(const char *work, uint64_t pact_mb, size_t transactions)
{
	char database[PATH_MAX], backups[PATH_MAX], sqlite[PATH_MAX + 16];
	snprintf(database, sizeof(database), "%s/live", work);
	snprintf(backups, sizeof(backups), "%s/live-backups", work);
	snprintf(sqlite, sizeof(sqlite), "%s/0/sqlite", database);
	cairn_config cfg;
	cairn_node *node = open_node(&cfg, database, backups);
	producer p;
	producer_init(&p, node, 0, 1000);
	double t0 = cairn_clock_now();
	p.phase = 7;
	while (files_bytes(sqlite, ".sqlite") + files_bytes(sqlite, "-wal") < pact_mb << 20)
		for (int i = 0; i < 20; i++)
			commit_next(&p);
	p.transactions = transactions;
	printf("live: Pact files filled to %.0f MB in %.0f s; then blocks of %zu transfers, committed as fast "
		"as the loop can\n", (double)files_bytes(sqlite, ".sqlite") / 1e6, cairn_clock_now() - t0, transactions);
	const char *kinds[] = {"without Pact", "with Pact"};
	for (int k = 0; k < 2; k++) {
		char id[CAIRN_BACKUP_ID_MAX + 1];
		int base = 3 * k;
		run_for(&p, base, 2.0);
		run_during_backup(id, &p, base + 1, k == 1);
		run_for(&p, base + 2, 2.0);
		printf("  backup %s: commit lock held %.1f ms for the consistency point (target 20 ms), "
			"waited %.1f ms for it; checkpoint %.1f ms; done in %.0f ms\n", kinds[k],
			manifest_ms(backups, id, "lockHoldMs"), manifest_ms(backups, id, "lockWaitMs"),
			manifest_ms(backups, id, "checkpointMs"), manifest_ms(backups, id, "totalMs"));
		report_phase(&p, base, "2 s before");
		report_phase(&p, base + 1, "during");
		report_phase(&p, base + 2, "2 s after");
		printf("    ratio longest commit during or after / before: %.1f (target: at most 100 ms)\n",
			(p.longest[base + 1] > p.longest[base + 2] ? p.longest[base + 1] : p.longest[base + 2]) / p.longest[base]);
	}
	cairn_node_close(node);
	cairn_config_free(&cfg);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "fill") == 0)
		return fill(argv[2], strtoull(argv[3], NULL, 10), argc > 4 ? strtoull(argv[4], NULL, 10) : 64);
	if (argc >= 4 && strcmp(argv[1], "live") == 0)
		return live(argv[2], strtoull(argv[3], NULL, 10), argc > 4 ? strtoull(argv[4], NULL, 10) : 2);
	fprintf(stderr, "usage: bench_backup_node fill <database-dir> <chain-MB> [pad-KB]\n"
		"       bench_backup_node live <work-dir> <pact-MB> [transactions-per-block]\n");
	return 2;
}
