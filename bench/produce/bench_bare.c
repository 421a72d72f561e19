/*
 * bench_bare: the reference for bench/produce, a bare RocksDB-plus-SQLite
 * write loop of the blocks a node produced.
 *
 *   bench_bare <node-database-directory> <work-dir> [blocks-per-transaction] [max-blocks]
 *
 * It loads, untimed, the blocks of a stopped node's database directory in
 * braided order (by height, then chain): from the chain database each
 * block's binary header and payload, from each chain's Pact database the
 * rows that block wrote (its BlockHistory, TransactionIndex and mutation
 * bookkeeping rows, and the row versions of its txid range in every
 * versioned table).  Then, timed, it writes them again into <work-dir>
 * with nothing but the libraries' C APIs:
 *   - RocksDB: one WriteBatch per block holding the header, the payload, a
 *     rank entry and a cut entry (the node's four records and sizes),
 *     written without fsync while a second thread fsyncs the WAL once for
 *     whatever was written since its last fsync: the node's group commit;
 *   - SQLite: one transaction per block in the chain's own file, created
 *     from the node file's schema, WAL mode with synchronous=NORMAL as the
 *     node, and SQLite's default autocheckpoint.  With blocks-per-transaction
 *     N > 1 (default 1), N blocks of a chain share one transaction instead,
 *     as the node's grouped Pact commits do.
 * What the node does besides (producing, mining, validating, translating
 * payloads, reading balances, publishing) is what the ratio measures.
 *
 * Output: "<name> <value>" lines (blocks, seconds, blocks_per_s).
 */
#include <pthread.h>
#include <rocksdb/c.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/header.h"
#include "store/chaindb.h"
#include "store/pactdb.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fs.h"

#define MAX_TABLES 32

/* How a table's rows are assigned to blocks: by a height column, or by the
 * block's txid range [previous endingtxid, endingtxid). */
typedef struct table {
	char *name;
	const char *height_column; /* NULL: by txid range */
	int ncols;
	sqlite3_stmt *select;      /* on the node's file */
	sqlite3_stmt *insert;      /* on the bench's file */
} table;

typedef struct row {
	int table;
	sqlite3_value **values;
} row;

typedef struct block {
	uint32_t chain;
	uint64_t height;
	uint8_t hash[CAIRN_HASH_LEN];
	uint8_t payload_hash[CAIRN_HASH_LEN];
	uint8_t *header, *payload;
	size_t header_len, payload_len;
	row *rows;
	size_t nrows;
} block;

typedef struct pact_file {
	sqlite3 *src, *dst;
	table tables[MAX_TABLES];
	int ntables;
	uint64_t last_endingtxid;
	unsigned open_blocks; /* blocks in the open transaction */
} pact_file;

static const struct {
	const char *table, *column;
} height_columns[] = {
	{"BlockHistory", "blockheight"},
	{"TransactionIndex", "blockheight"},
	{"VersionedTableMutation", "blockheight"},
	{"VersionedTableCreation", "createBlockheight"},
};

static void die(const char *what, const char *why)
{
	fprintf(stderr, "bench_bare: %s: %s\n", what, why);
	exit(1);
}

static void check_cairn(int rc, const char *what)
{
	if (rc != CAIRN_OK)
		die(what, cairn_error_last());
}

static void check_sqlite(sqlite3 *db, int rc, const char *what)
{
	if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
		die(what, sqlite3_errmsg(db));
}

static void check_rocks(char *err, const char *what)
{
	if (err != NULL)
		die(what, err);
}

static void exec(sqlite3 *db, const char *sql)
{
	check_sqlite(db, sqlite3_exec(db, sql, NULL, NULL, NULL), sql);
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s = NULL;
	check_sqlite(db, sqlite3_prepare_v2(db, sql, -1, &s, NULL), sql);
	return s;
}

/* ---- loading (untimed) ---- */

static const char *height_column_of(const char *name)
{
	for (size_t i = 0; i < sizeof(height_columns) / sizeof(height_columns[0]); i++)
		if (strcmp(height_columns[i].table, name) == 0)
			return height_columns[i].column;
	return NULL;
}

static void add_table(pact_file *f, const char *name)
{
	if (f->ntables == MAX_TABLES)
		die(name, "too many tables");
	table *t = &f->tables[f->ntables++];
	t->name = strdup(name);
	t->height_column = height_column_of(name);
	char *sql = t->height_column
		? sqlite3_mprintf("SELECT * FROM [%w] WHERE [%w] = ?1", name, t->height_column)
		: sqlite3_mprintf("SELECT * FROM [%w] WHERE txid >= ?1 AND txid < ?2 ORDER BY txid", name);
	t->select = prepare(f->src, sql);
	sqlite3_free(sql);
	t->ncols = sqlite3_column_count(t->select);
	char marks[4 * 64] = "?";
	for (int i = 1; i < t->ncols && strlen(marks) + 4 < sizeof(marks); i++)
		strcat(marks, ", ?");
	sql = sqlite3_mprintf("INSERT INTO [%w] VALUES (%s)", name, marks);
	t->insert = prepare(f->dst, sql);
	sqlite3_free(sql);
}

/* Creates the node file's schema in the bench's file and prepares the
 * statements of every table. */
static void open_pact_file(pact_file *f, const char *node_dir, const char *work_dir, uint32_t chain)
{
	char src[4096], dst[4096];
	check_cairn(cairn_pactdb_path(src, sizeof(src), node_dir, chain), "pact path");
	check_cairn(cairn_pactdb_path(dst, sizeof(dst), work_dir, chain), "pact path");
	memset(f, 0, sizeof(*f));
	if (sqlite3_open_v2(src, &f->src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		die(src, sqlite3_errmsg(f->src));
	if (sqlite3_open_v2(dst, &f->dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
		die(dst, sqlite3_errmsg(f->dst));
	exec(f->dst, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL");
	sqlite3_stmt *schema = prepare(f->src, "SELECT type, name, sql FROM sqlite_master "
		"WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY type = 'index', rowid");
	while (sqlite3_step(schema) == SQLITE_ROW) {
		exec(f->dst, (const char *)sqlite3_column_text(schema, 2));
		if (strcmp((const char *)sqlite3_column_text(schema, 0), "table") == 0)
			add_table(f, (const char *)sqlite3_column_text(schema, 1));
	}
	sqlite3_finalize(schema);
}

static void append_row(block *b, int table_index, sqlite3_stmt *select, int ncols)
{
	b->rows = realloc(b->rows, (b->nrows + 1) * sizeof(*b->rows));
	row *r = &b->rows[b->nrows++];
	r->table = table_index;
	r->values = malloc((size_t)ncols * sizeof(*r->values));
	if (b->rows == NULL || r->values == NULL)
		die("load", "out of memory");
	for (int i = 0; i < ncols; i++)
		r->values[i] = sqlite3_value_dup(sqlite3_column_value(select, i));
}

static uint64_t endingtxid_at(pact_file *f, uint64_t height)
{
	sqlite3_stmt *s = prepare(f->src, "SELECT endingtxid FROM BlockHistory WHERE blockheight = ?1");
	sqlite3_bind_int64(s, 1, (sqlite3_int64)height);
	if (sqlite3_step(s) != SQLITE_ROW)
		die("BlockHistory", "a block of the chain database has no Pact block");
	uint64_t end = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return end;
}

/* The rows block b wrote to its chain's file. */
static void load_rows(block *b, pact_file *f)
{
	uint64_t start = f->last_endingtxid, end = endingtxid_at(f, b->height);
	for (int i = 0; i < f->ntables; i++) {
		table *t = &f->tables[i];
		sqlite3_reset(t->select);
		if (t->height_column) {
			sqlite3_bind_int64(t->select, 1, (sqlite3_int64)b->height);
		} else {
			sqlite3_bind_int64(t->select, 1, (sqlite3_int64)start);
			sqlite3_bind_int64(t->select, 2, (sqlite3_int64)end);
		}
		while (sqlite3_step(t->select) == SQLITE_ROW)
			append_row(b, i, t->select, t->ncols);
	}
	f->last_endingtxid = end;
}

static void load_block(block *b, cairn_chaindb *db, pact_file *f, uint32_t chain, uint64_t height)
{
	memset(b, 0, sizeof(*b));
	b->chain = chain;
	b->height = height;
	check_cairn(cairn_chaindb_hash_at(b->hash, db, chain, height), "rank");
	check_cairn(cairn_chaindb_get_header(&b->header, &b->header_len, db, b->hash), "header");
	cairn_header h;
	check_cairn(cairn_header_decode(&h, b->header, b->header_len), "header");
	memcpy(b->payload_hash, h.payload_hash, CAIRN_HASH_LEN);
	check_cairn(cairn_chaindb_get_payload(&b->payload, &b->payload_len, db, b->payload_hash), "payload");
	load_rows(b, f);
}

/* Every block of the node's database in braided order, at most max_blocks. */
static size_t load_blocks(block **out, pact_file *files, uint32_t *nchains, const char *node_dir,
	const char *work_dir, size_t max_blocks)
{
	char path[4096];
	check_cairn(cairn_chaindb_path(path, sizeof(path), node_dir), "chaindb path");
	cairn_chaindb_options opts = CAIRN_CHAINDB_OPTIONS_INIT;
	opts.read_only = true;
	cairn_chaindb *db;
	check_cairn(cairn_chaindb_open(&db, path, &opts), "open the node's chain database");
	cairn_chaindb_cut cut;
	check_cairn(cairn_chaindb_get_cut(&cut, db), "cut");
	uint64_t top = 0;
	for (*nchains = 0; *nchains < CAIRN_CHAINDB_MAX_CHAINS && cut.present[*nchains]; (*nchains)++) {
		open_pact_file(&files[*nchains], node_dir, work_dir, *nchains);
		top = cut.height[*nchains] > top ? cut.height[*nchains] : top;
	}
	block *blocks = calloc(max_blocks, sizeof(*blocks));
	size_t n = 0;
	for (uint64_t height = 0; height <= top && n < max_blocks; height++)
		for (uint32_t chain = 0; chain < *nchains && n < max_blocks; chain++)
			if (height <= cut.height[chain])
				load_block(&blocks[n++], db, &files[chain], chain, height);
	cairn_chaindb_close(db);
	*out = blocks;
	return n;
}

/* ---- the timed loop ---- */

/* The group fsync: whenever blocks were written since the last fsync, one
 * fsync of the WAL covers them all (the node's publishing thread). */
typedef struct syncer {
	rocksdb_t *db;
	pthread_mutex_t lock;
	pthread_cond_t written_changed;
	unsigned long written, synced, syncs;
	bool stop;
} syncer;

static void *sync_loop(void *arg)
{
	syncer *s = arg;
	pthread_mutex_lock(&s->lock);
	while (!s->stop || s->synced < s->written) {
		if (s->synced == s->written) {
			pthread_cond_wait(&s->written_changed, &s->lock);
			continue;
		}
		unsigned long target = s->written;
		pthread_mutex_unlock(&s->lock);
		char *err = NULL;
		rocksdb_flush_wal(s->db, 1, &err);
		check_rocks(err, "sync WAL");
		pthread_mutex_lock(&s->lock);
		s->synced = target;
		s->syncs++;
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static void syncer_signal(syncer *s, bool stop)
{
	pthread_mutex_lock(&s->lock);
	s->written += !stop;
	s->stop = stop;
	pthread_cond_signal(&s->written_changed);
	pthread_mutex_unlock(&s->lock);
}

static void put_be(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void write_chain_records(rocksdb_t *db, rocksdb_writeoptions_t *wo, const block *b)
{
	uint8_t hkey[1 + CAIRN_HASH_LEN] = {'H'}, pkey[1 + CAIRN_HASH_LEN] = {'P'};
	uint8_t rkey[13] = {'R'}, ckey[5] = {'C'}, cut[8 + CAIRN_HASH_LEN];
	memcpy(hkey + 1, b->hash, CAIRN_HASH_LEN);
	memcpy(pkey + 1, b->payload_hash, CAIRN_HASH_LEN);
	put_be(rkey + 1, b->chain, 4);
	put_be(rkey + 5, b->height, 8);
	put_be(ckey + 1, b->chain, 4);
	put_be(cut, b->height, 8);
	memcpy(cut + 8, b->hash, CAIRN_HASH_LEN);
	rocksdb_writebatch_t *batch = rocksdb_writebatch_create();
	rocksdb_writebatch_put(batch, (const char *)hkey, sizeof(hkey), (const char *)b->header, b->header_len);
	rocksdb_writebatch_put(batch, (const char *)pkey, sizeof(pkey), (const char *)b->payload, b->payload_len);
	rocksdb_writebatch_put(batch, (const char *)rkey, sizeof(rkey), (const char *)b->hash, CAIRN_HASH_LEN);
	rocksdb_writebatch_put(batch, (const char *)ckey, sizeof(ckey), (const char *)cut, sizeof(cut));
	char *err = NULL;
	rocksdb_write(db, wo, batch, &err);
	rocksdb_writebatch_destroy(batch);
	check_rocks(err, "write block");
}

static void write_pact_rows(pact_file *f, const block *b, unsigned per_transaction)
{
	if (f->open_blocks++ == 0)
		exec(f->dst, "BEGIN IMMEDIATE");
	for (size_t i = 0; i < b->nrows; i++) {
		table *t = &f->tables[b->rows[i].table];
		for (int c = 0; c < t->ncols; c++)
			sqlite3_bind_value(t->insert, c + 1, b->rows[i].values[c]);
		check_sqlite(f->dst, sqlite3_step(t->insert), t->name);
		sqlite3_reset(t->insert);
	}
	if (f->open_blocks == per_transaction) {
		exec(f->dst, "COMMIT");
		f->open_blocks = 0;
	}
}

static rocksdb_t *open_rocks(rocksdb_options_t **options, const char *work_dir)
{
	char path[4096];
	check_cairn(cairn_chaindb_path(path, sizeof(path), work_dir), "chaindb path");
	check_cairn(cairn_fs_mkdir_p(path), "mkdir");
	*options = rocksdb_options_create();
	rocksdb_options_set_create_if_missing(*options, 1);
	char *err = NULL;
	rocksdb_t *db = rocksdb_open(*options, path, &err);
	check_rocks(err, path);
	return db;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: bench_bare <node-database-directory> <work-dir> [blocks-per-transaction] "
			"[max-blocks]\n");
		return 2;
	}
	unsigned per_transaction = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 1;
	size_t max_blocks = argc > 4 ? strtoull(argv[4], NULL, 10) : 100000;
	if (per_transaction == 0 || max_blocks == 0)
		die("arguments", "blocks-per-transaction and max-blocks must be positive");
	static pact_file files[CAIRN_CHAINDB_MAX_CHAINS];
	uint32_t nchains;
	char sqlite_dir[4096];
	snprintf(sqlite_dir, sizeof(sqlite_dir), "%s/0/sqlite", argv[2]);
	check_cairn(cairn_fs_mkdir_p(sqlite_dir), "mkdir");
	block *blocks;
	size_t n = load_blocks(&blocks, files, &nchains, argv[1], argv[2], max_blocks);

	rocksdb_options_t *options;
	syncer s = {.db = open_rocks(&options, argv[2]), .lock = PTHREAD_MUTEX_INITIALIZER,
		.written_changed = PTHREAD_COND_INITIALIZER};
	rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
	pthread_t thread;
	double start = cairn_clock_now();
	pthread_create(&thread, NULL, sync_loop, &s);
	for (size_t i = 0; i < n; i++) {
		write_chain_records(s.db, wo, &blocks[i]);
		write_pact_rows(&files[blocks[i].chain], &blocks[i], per_transaction);
		syncer_signal(&s, false);
	}
	for (uint32_t chain = 0; chain < nchains; chain++)
		if (files[chain].open_blocks > 0)
			exec(files[chain].dst, "COMMIT");
	syncer_signal(&s, true);
	pthread_join(thread, NULL);
	double seconds = cairn_clock_now() - start;

	size_t rows = 0;
	for (size_t i = 0; i < n; i++)
		rows += blocks[i].nrows;
	printf("chains %u\nblocks %zu\nrows_per_block %.1f\nwal_syncs %lu\nseconds %.3f\nblocks_per_s %.0f\n",
		nchains, n, n ? (double)rows / (double)n : 0.0, s.syncs, seconds, (double)n / seconds);
	return 0;
}
