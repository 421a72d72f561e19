/* Support code shared by the backup tests: a small stand-in for the node
 * built from the real stores (a RocksDB ChainDB and one SQLite PactDB per
 * chain in a database directory), a commit lock, a producer thread that
 * commits blocks to both stores under that lock as the node does, and the
 * cairn_backup_source that reaches them.  The commit lock can be held shut
 * (a gate) to keep a job at its consistency point. */
#ifndef CAIRN_TESTS_BACKUP_FIXTURE_H
#define CAIRN_TESTS_BACKUP_FIXTURE_H

#include <json-c/json.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

#include "backup/backup.h"
#include "store/chaindb.h"
#include "store/pactdb.h"
#include "store_fixture.h"
#include "util/error.h"

#define FIXTURE_CHAINS 4
#define FIXTURE_VERSION "development"
#define FIXTURE_PAYLOAD 2000

typedef struct test_node {
	char db_dir[PATH_MAX], backup_dir[PATH_MAX], staging[PATH_MAX];
	cairn_chaindb *chaindb;
	cairn_pactdb *pact[FIXTURE_CHAINS];
	bool attach_chaindb;
	pthread_mutex_t commit_lock;
	pthread_mutex_t gate_lock;
	pthread_cond_t gate_changed;
	bool gate_closed;   /* with_commit_lock waits while true */
	int gate_waiters;   /* jobs waiting at the gate */
	pthread_t producer;
	bool producing;
	atomic_bool stop;
	atomic_uint_fast64_t heights[FIXTURE_CHAINS]; /* blocks committed per chain */
	int producer_failures;
} test_node;

static inline void fixture_block_hash(uint8_t *out, uint32_t chain, uint64_t height)
{
	store_fixture_hash(out, 0xd1, chain, height);
}

/* Block (chain, height) in the ChainDB only. */
static inline int fixture_put_chaindb(test_node *n, uint32_t chain, uint64_t height)
{
	uint8_t hash[32], payload_hash[32], header[318], payload[FIXTURE_PAYLOAD];
	fixture_block_hash(hash, chain, height);
	store_fixture_hash(payload_hash, 0xd2, chain, height);
	memset(header, (int)height, sizeof(header));
	memset(payload, (int)(height * 7 + chain), sizeof(payload));
	cairn_chaindb_block b = {chain, height, hash, header, sizeof(header), payload_hash, payload, sizeof(payload)};
	return cairn_chaindb_put_block(n->chaindb, &b);
}

/* Block (chain, height) in the PactDB only: one write to the coin table. */
static inline int fixture_apply_pact(test_node *n, uint32_t chain, uint64_t height)
{
	uint8_t hash[32];
	fixture_block_hash(hash, chain, height);
	char key[32], value[64];
	snprintf(key, sizeof(key), "acct-%llu", (unsigned long long)(height % 50));
	snprintf(value, sizeof(value), "{\"balance\":%llu}", (unsigned long long)height);
	cairn_pactdb_write w = {CAIRN_PACTDB_COIN_TABLE, key, value, strlen(value)};
	cairn_pactdb_tx tx = {NULL, &w, 1};
	cairn_pactdb_block pb = {height, hash, &tx, 1};
	return cairn_pactdb_apply_block(n->pact[chain], &pb);
}

/* Block (chain, height) in both stores: ChainDB first, then PactDB, as the
 * commit path does.  The caller holds the commit lock. */
static inline int fixture_commit(test_node *n, uint32_t chain, uint64_t height)
{
	int rc = fixture_put_chaindb(n, chain, height);
	return rc == CAIRN_OK ? fixture_apply_pact(n, chain, height) : rc;
}

/* One block on every chain, under the commit lock. */
static inline int fixture_commit_round(test_node *n)
{
	int rc = CAIRN_OK;
	pthread_mutex_lock(&n->commit_lock);
	for (uint32_t c = 0; rc == CAIRN_OK && c < FIXTURE_CHAINS; c++) {
		uint64_t h = atomic_load(&n->heights[c]);
		rc = fixture_commit(n, c, h);
		if (rc == CAIRN_OK)
			atomic_store(&n->heights[c], h + 1);
	}
	pthread_mutex_unlock(&n->commit_lock);
	return rc;
}

static inline void *fixture_produce(void *arg)
{
	test_node *n = arg;
	while (!atomic_load(&n->stop)) {
		if (fixture_commit_round(n) != CAIRN_OK) {
			n->producer_failures++;
			return NULL;
		}
		usleep(200);
	}
	return NULL;
}

/* ---- the source ---- */

static inline int fixture_with_commit_lock(void *ctx, int (*fn)(void *), void *arg)
{
	test_node *n = ctx;
	pthread_mutex_lock(&n->gate_lock);
	n->gate_waiters++;
	pthread_cond_broadcast(&n->gate_changed);
	while (n->gate_closed)
		pthread_cond_wait(&n->gate_changed, &n->gate_lock);
	n->gate_waiters--;
	pthread_mutex_unlock(&n->gate_lock);
	pthread_mutex_lock(&n->commit_lock);
	int rc = fn(arg);
	pthread_mutex_unlock(&n->commit_lock);
	return rc;
}

static inline struct cairn_chaindb *fixture_chaindb(void *ctx)
{
	test_node *n = ctx;
	return n->attach_chaindb ? n->chaindb : NULL;
}

static inline struct cairn_pactdb *fixture_pactdb(void *ctx, uint32_t chain)
{
	test_node *n = ctx;
	return chain < FIXTURE_CHAINS ? n->pact[chain] : NULL;
}

static inline cairn_backup_source fixture_source(test_node *n)
{
	cairn_backup_source s = {n, fixture_with_commit_lock, fixture_chaindb, fixture_pactdb, n->staging};
	return s;
}

static inline void fixture_gate(test_node *n, bool closed)
{
	pthread_mutex_lock(&n->gate_lock);
	n->gate_closed = closed;
	pthread_cond_broadcast(&n->gate_changed);
	pthread_mutex_unlock(&n->gate_lock);
}

/* Waits until a job stands at the closed gate. */
static inline void fixture_wait_at_gate(test_node *n)
{
	pthread_mutex_lock(&n->gate_lock);
	while (n->gate_waiters == 0)
		pthread_cond_wait(&n->gate_changed, &n->gate_lock);
	pthread_mutex_unlock(&n->gate_lock);
}

/* ---- lifecycle ---- */

/* "<dir>/<name>" into buf (PATH_MAX bytes). */
static inline const char *fixture_join(char *buf, const char *dir, const char *name)
{
	if (snprintf(buf, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX)
		abort();
	return buf;
}

/* Opens the stores in <fixture>/db with `rounds` blocks on every chain;
 * backups go to <fixture>/backups unless backup_dir is set later. */
static inline void fixture_open(test_node *n, void **state, int rounds)
{
	memset(n, 0, sizeof(*n));
	store_fixture_path(n->db_dir, sizeof(n->db_dir), state, "db");
	store_fixture_path(n->backup_dir, sizeof(n->backup_dir), state, "backups");
	fixture_join(n->staging, n->db_dir, "0/backup-staging");
	char path[PATH_MAX];
	cairn_chaindb_options copts = CAIRN_CHAINDB_OPTIONS_INIT;
	copts.version = FIXTURE_VERSION;
	if (cairn_chaindb_path(path, sizeof(path), n->db_dir) != CAIRN_OK
	    || cairn_chaindb_open(&n->chaindb, path, &copts) != CAIRN_OK)
		fail_msg("chaindb: %s", cairn_error_last());
	for (uint32_t c = 0; c < FIXTURE_CHAINS; c++) {
		cairn_pactdb_options popts = CAIRN_PACTDB_OPTIONS_INIT;
		if (cairn_pactdb_path(path, sizeof(path), n->db_dir, c) != CAIRN_OK
		    || cairn_pactdb_open(&n->pact[c], path, &popts) != CAIRN_OK)
			fail_msg("pactdb %u: %s", c, cairn_error_last());
		atomic_init(&n->heights[c], 0);
	}
	n->attach_chaindb = true;
	atomic_init(&n->stop, false);
	pthread_mutex_init(&n->commit_lock, NULL);
	pthread_mutex_init(&n->gate_lock, NULL);
	pthread_cond_init(&n->gate_changed, NULL);
	for (int r = 0; r < rounds; r++)
		if (fixture_commit_round(n) != CAIRN_OK)
			fail_msg("commit: %s", cairn_error_last());
}

static inline void fixture_start_producer(test_node *n)
{
	atomic_store(&n->stop, false);
	if (pthread_create(&n->producer, NULL, fixture_produce, n) != 0)
		fail_msg("cannot start the producer");
	n->producing = true;
}

/* Stops the producer; returns the failures it had. */
static inline int fixture_stop_producer(test_node *n)
{
	if (n->producing) {
		atomic_store(&n->stop, true);
		pthread_join(n->producer, NULL);
		n->producing = false;
	}
	return n->producer_failures;
}

static inline void fixture_close(test_node *n)
{
	fixture_stop_producer(n);
	for (uint32_t c = 0; c < FIXTURE_CHAINS; c++)
		cairn_pactdb_close(n->pact[c]);
	cairn_chaindb_close(n->chaindb);
	pthread_cond_destroy(&n->gate_changed);
	pthread_mutex_destroy(&n->gate_lock);
	pthread_mutex_destroy(&n->commit_lock);
}

static inline cairn_backup_manager *fixture_manager(test_node *n, int parallelism)
{
	cairn_backup_source src = fixture_source(n);
	cairn_backup_options opts = CAIRN_BACKUP_OPTIONS_INIT;
	opts.directory = n->backup_dir;
	opts.parallelism = parallelism;
	cairn_backup_manager *m = NULL;
	if (cairn_backup_manager_open(&m, &src, &opts) != CAIRN_OK)
		fail_msg("backup manager: %s", cairn_error_last());
	return m;
}

/* Starts a job, waits for it and returns its final state; the id in `id`. */
static inline cairn_backup_state fixture_backup(char *id, cairn_backup_manager *m, bool pact)
{
	cairn_backup_request req = CAIRN_BACKUP_REQUEST_INIT;
	req.include_pact = pact;
	bool started = false;
	if (cairn_backup_start(id, &started, m, &req) != CAIRN_OK)
		fail_msg("start: %s", cairn_error_last());
	if (!started)
		fail_msg("a job was already running");
	cairn_backup_wait_idle(m);
	cairn_backup_state state;
	if (cairn_backup_state_of(&state, m, id) != CAIRN_OK)
		fail_msg("state of %s: %s", id, cairn_error_last());
	return state;
}

/* "<backup_dir>/<id>/<name>" into buf. */
static inline const char *fixture_backup_path(char *buf, const test_node *n, const char *id, const char *name)
{
	if (snprintf(buf, PATH_MAX, "%s/%s/%s", n->backup_dir, id, name) >= PATH_MAX)
		abort();
	return buf;
}

/* The whole of a small text file, or "" when it cannot be read. */
static inline char *fixture_read_text(const char *path)
{
	char *text = NULL;
	if (cairn_fs_read_file(&text, NULL, path) != CAIRN_OK)
		return strdup("");
	return text;
}

#endif
