/*
 * chaindb.c: ChainDB on RocksDB's C API (chaindb.h).
 *
 * Key encoding (one column family; the first byte names the record kind, and
 * integers are big-endian so that byte order is numeric order):
 *
 *   'M'                              -> u32 format version || version name
 *   'H' || block hash (32)           -> binary header
 *   'P' || payload hash (32)         -> payload with outputs
 *   'R' || chain u32 || height u64   -> block hash (32)      rank index
 *   'C' || chain u32                 -> height u64 || block hash (32)   cut
 *
 * So one chain's rank entries are adjacent and ascend by height, and the
 * cut of all chains is one short range scan.  A payload shared by two blocks
 * is simply written twice with the same bytes.
 *
 * Durability.  A block is one WriteBatch through the WAL, so it appears whole
 * or not at all after any crash (RocksDB replays the WAL up to the last
 * intact batch: kPointInTimeRecovery).  By default the batch is written into
 * the WAL file (write(2), in the kernel's page cache) but not fsynced: a
 * killed process loses nothing, an OS crash or power loss loses at most the
 * blocks since the last cairn_chaindb_sync() and leaves an earlier,
 * consistent cut.  The node calls cairn_chaindb_sync() as a group commit
 * (periodically and before it reports anything durable, such as a backup).
 * sync_every_block makes each put_block fsync the WAL instead: bench/store
 * measured 2,400 blocks/s with it against 31,000 without (8 KB payloads,
 * 2-core VM), so an fsync per block would eat the whole commit budget of a
 * producer targeting 2,000 blocks/s before PactDB gets any.  Losing the
 * last blocks on power loss is harmless here: PactDB is rolled back to the
 * ChainDB cut at start-up and the producer simply continues from that cut.
 *
 * Options.  A shared LRU block cache (64 MiB by default) with Bloom filters,
 * because headers and payloads are read by random hash; LZ4 for upper levels
 * and ZSTD for the bottommost level (Debian's librocksdb links snappy, lz4,
 * zstd, zlib and bz2); at most 256 open table files; 16 MiB write buffers,
 * which bound the live WAL that a checkpoint has to copy while the commit
 * lock is held (a checkpoint of 1.2 GB: 24-27 ms with a full write buffer,
 * 3-9 ms after cairn_chaindb_flush).
 *
 * Compaction.  Universal (tiered) compaction, not RocksDB's default leveled
 * one, so that a remote upload after some new blocks re-sends little: each
 * table file goes to the remote once, under its SHA-256, so every table file
 * a compaction writes is uploaded again by the next backup.  Headers and
 * payloads are keyed by hash, so new blocks spread over the whole key range:
 * under leveled compaction every L0 compaction rewrites the whole base level
 * and each compaction below rewrites about ten table files of the next
 * level, i.e. some ten times the new data per level.  bench/remote/backups
 * (a settled database, twelve backups each after 1% more blocks): leveled
 * rewrote all 235 MB of table files at every fourth or fifth flush (each
 * backup flushes once), forever.  Universal compaction merges the newest
 * sorted runs with each other and reaches an older, larger run only when the
 * newer ones add up to about its size (size_ratio 1%), so a table file of the
 * old data is rewritten about once each time the chain database doubles;
 * after one merge of the fill's runs it rewrote 8 MB per backup with the
 * default 4 sorted runs before a compaction, 3.5 MB with
 * UNIVERSAL_RUNS_TRIGGER 8: with 4, each new flush was merged at once into
 * the third-newest run; with 8, small runs pile up and merge by size.
 * Nothing is ever deleted or overwritten here but the 20 cut entries, so
 * what RocksDB counts as space amplification (newer runs against the
 * oldest) is new data, not garbage: UNIVERSAL_SIZE_AMP_PERCENT (400, default
 * 200) leaves the full rewrite it would trigger to the size-ratio rule.  Reads stay cheap: lookups
 * by hash cost one Bloom filter probe per sorted run, and the number of runs
 * is bounded by UNIVERSAL_RUNS_TRIGGER plus the levels (writes slow down
 * only at 20 level-0 runs).
 * The commit rate did not drop (bench/produce/run, 20 s at --block-rate max,
 * four back-to-back pairs on a loaded machine: leveled 596-907 blocks/s,
 * universal 648-1101; docs/backups.md).  The compaction style is not part of the format: a
 * database written with either opens with the other (each level holds one
 * sorted run of non-overlapping files either way), and Chainweb's key layout
 * and table format are unchanged.
 *
 * Writes are serialized by a mutex that also guards the in-memory copy of
 * the cut heights used to check that each chain grows by one; reads go
 * straight to RocksDB and are safe from any thread.
 *
 * A failed write is final for the handle.  RocksDB leaves the file writer
 * of a failed append in an error state, and any later Append, Flush or
 * Sync on it trips an assertion in Debian's librocksdb (built with
 * assertions on) and aborts the process.  So the first error of put_block,
 * sync or flush is kept (`failure`, set once under write_lock, read
 * without it through `failed`), and every later one of those calls, and
 * every checkpoint, returns it without calling RocksDB.  A checkpoint's own
 * failure is not kept: it is mostly the target's file system.  Only a new handle (a
 * restart of the node, which recovers) writes again.  Sync checks the flag
 * without the lock, so it may race one failing put_block; that is safe
 * because RocksDB syncs WAL files through SyncWithoutFlush, the one entry
 * the assertion spares.
 */
#include "store/chaindb.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

#define FORMAT_VERSION 1u
#define WRITE_BUFFER_BYTES ((size_t)16 << 20)
#define MANIFEST_BYTES ((size_t)4 << 20)
#define UNIVERSAL_SIZE_AMP_PERCENT 400
#define UNIVERSAL_RUNS_TRIGGER 8

enum {
	KIND_META = 'M',
	KIND_HEADER = 'H',
	KIND_PAYLOAD = 'P',
	KIND_RANK = 'R',
	KIND_CUT = 'C',
};

#define LOG_LEVEL_FATAL 4 /* rocksdb::InfoLogLevel::FATAL_LEVEL; the C API has no name for it */

#define HASH_KEY_LEN (1 + CAIRN_CHAINDB_HASH_LEN)
#define RANK_KEY_LEN (1 + 4 + 8)
#define CUT_KEY_LEN (1 + 4)
#define CUT_VALUE_LEN (8 + CAIRN_CHAINDB_HASH_LEN)

struct cairn_chaindb {
	rocksdb_t *db;
	rocksdb_options_t *options;
	rocksdb_block_based_table_options_t *table_options;
	rocksdb_cache_t *cache;
	rocksdb_readoptions_t *read_options;
	rocksdb_writeoptions_t *write_options;
	char *version;
	pthread_mutex_t write_lock;
	atomic_bool failed;
	char failure[512]; /* the first failed write's error, once `failed` */
	bool tip_present[CAIRN_CHAINDB_MAX_CHAINS]; /* guarded by write_lock */
	uint64_t tip_height[CAIRN_CHAINDB_MAX_CHAINS];
};

struct cairn_chaindb_rank_iter {
	rocksdb_iterator_t *iter;
	rocksdb_readoptions_t *read_options;
	uint8_t upper_bound[CUT_KEY_LEN]; /* must outlive the iterator */
	bool started;
};

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void hash_key(uint8_t *key, char kind, const uint8_t *hash)
{
	key[0] = (uint8_t)kind;
	memcpy(key + 1, hash, CAIRN_CHAINDB_HASH_LEN);
}

static void rank_key(uint8_t *key, uint32_t chain, uint64_t height)
{
	key[0] = KIND_RANK;
	put_u32(key + 1, chain);
	put_u64(key + 5, height);
}

static void cut_key(uint8_t *key, uint32_t chain)
{
	key[0] = KIND_CUT;
	put_u32(key + 1, chain);
}

/* Converts a RocksDB error string (freeing it) into a cairn error. */
static int rocks_error(char *err, const char *what)
{
	int rc = cairn_error_set(CAIRN_EIO, "chaindb: %s: %s", what, err);
	rocksdb_free(err);
	return rc;
}

int cairn_chaindb_path(char *buf, size_t size, const char *database_dir)
{
	int n = snprintf(buf, size, "%s/0/rocksDb", database_dir);
	if (n < 0 || (size_t)n >= size)
		return cairn_error_set(CAIRN_EINVALID, "database directory path too long: '%s'", database_dir);
	return CAIRN_OK;
}

static void configure(cairn_chaindb *db, const cairn_chaindb_options *opts)
{
	db->options = rocksdb_options_create();
	db->table_options = rocksdb_block_based_options_create();
	db->cache = rocksdb_cache_create_lru(opts->block_cache_bytes);
	rocksdb_block_based_options_set_block_cache(db->table_options, db->cache);
	rocksdb_block_based_options_set_filter_policy(db->table_options,
		rocksdb_filterpolicy_create_bloom(10));
	rocksdb_options_set_block_based_table_factory(db->options, db->table_options);
	rocksdb_options_set_create_if_missing(db->options, opts->create_if_missing);
	rocksdb_options_set_max_open_files(db->options, opts->max_open_files);
	rocksdb_options_set_compression(db->options, rocksdb_lz4_compression);
	rocksdb_options_set_bottommost_compression(db->options, rocksdb_zstd_compression);
	rocksdb_options_set_write_buffer_size(db->options, WRITE_BUFFER_BYTES);
	rocksdb_options_set_max_background_jobs(db->options, 2);
	rocksdb_options_set_compaction_style(db->options, rocksdb_universal_compaction);
	rocksdb_universal_compaction_options_t *uco = rocksdb_universal_compaction_options_create();
	rocksdb_universal_compaction_options_set_max_size_amplification_percent(uco, UNIVERSAL_SIZE_AMP_PERCENT);
	rocksdb_options_set_universal_compaction_options(db->options, uco); /* copied */
	rocksdb_options_set_level0_file_num_compaction_trigger(db->options, UNIVERSAL_RUNS_TRIGGER);
	rocksdb_universal_compaction_options_destroy(uco);
	rocksdb_options_set_wal_recovery_mode(db->options, rocksdb_point_in_time_recovery);
	rocksdb_options_set_keep_log_file_num(db->options, 4);
	/* RocksDB's own LOG: the options header and fatal errors only.  Its
	 * writer aborts on any line after a failed one (see "A failed write"
	 * above), and with a full disk the lines that follow are error lines;
	 * cairn logs every error RocksDB returns instead. */
	rocksdb_options_set_info_log_level(db->options, LOG_LEVEL_FATAL);
	rocksdb_options_set_stats_dump_period_sec(db->options, 0);
	rocksdb_options_set_max_manifest_file_size(db->options, MANIFEST_BYTES);
	db->read_options = rocksdb_readoptions_create();
	db->write_options = rocksdb_writeoptions_create();
	rocksdb_writeoptions_set_sync(db->write_options, opts->sync_every_block);
}

/* Reads key into a malloc'd buffer; CAIRN_ENOTFOUND when absent. */
static int get_value(uint8_t **out, size_t *out_len, cairn_chaindb *db,
	const uint8_t *key, size_t key_len, const char *what)
{
	char *err = NULL;
	rocksdb_pinnableslice_t *slice = rocksdb_get_pinned(db->db, db->read_options,
		(const char *)key, key_len, &err);
	if (err != NULL)
		return rocks_error(err, what);
	if (slice == NULL)
		return cairn_error_set(CAIRN_ENOTFOUND, "chaindb: %s: not found", what);
	size_t len;
	const char *value = rocksdb_pinnableslice_value(slice, &len);
	uint8_t *copy = malloc(len > 0 ? len : 1);
	if (copy == NULL) {
		rocksdb_pinnableslice_destroy(slice);
		return cairn_error_set(CAIRN_ENOMEM, "chaindb: %s: out of memory", what);
	}
	memcpy(copy, value, len);
	rocksdb_pinnableslice_destroy(slice);
	*out = copy;
	*out_len = len;
	return CAIRN_OK;
}

static int write_meta(cairn_chaindb *db, const char *version)
{
	size_t name_len = strlen(version);
	uint8_t *value = malloc(4 + name_len);
	if (value == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "chaindb: out of memory");
	put_u32(value, FORMAT_VERSION);
	memcpy(value + 4, version, name_len);
	const char key = KIND_META;
	char *err = NULL;
	rocksdb_writeoptions_t *sync = rocksdb_writeoptions_create();
	rocksdb_writeoptions_set_sync(sync, 1);
	rocksdb_put(db->db, sync, &key, 1, (const char *)value, 4 + name_len, &err);
	rocksdb_writeoptions_destroy(sync);
	free(value);
	if (err != NULL)
		return rocks_error(err, "write meta record");
	db->version = strdup(version);
	return db->version ? CAIRN_OK : cairn_error_set(CAIRN_ENOMEM, "chaindb: out of memory");
}

/* Checks the meta record against the expected version, or writes it into a
 * new, empty database. */
static int check_meta(cairn_chaindb *db, const char *path, const char *version, bool read_only)
{
	const uint8_t key = KIND_META;
	uint8_t *value;
	size_t len;
	int rc = get_value(&value, &len, db, &key, 1, "read meta record");
	if (rc == CAIRN_ENOTFOUND) {
		if (read_only || version == NULL)
			return cairn_error_set(CAIRN_EINVALID, "'%s' is not a cairn chain database (no meta record)", path);
		return write_meta(db, version);
	}
	if (rc != CAIRN_OK)
		return rc;
	if (len < 4 || get_u32(value) != FORMAT_VERSION) {
		free(value);
		return cairn_error_set(CAIRN_EINVALID, "'%s' has an unsupported chain database format (expected %u)",
			path, FORMAT_VERSION);
	}
	db->version = strndup((const char *)value + 4, len - 4);
	free(value);
	if (db->version == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "chaindb: out of memory");
	if (version != NULL && strcmp(version, db->version) != 0)
		return cairn_error_set(CAIRN_EINVALID,
			"'%s' was written for chainweb version '%s', not '%s'", path, db->version, version);
	return CAIRN_OK;
}

static int load_tips(cairn_chaindb *db)
{
	cairn_chaindb_cut cut;
	int rc = cairn_chaindb_get_cut(&cut, db);
	if (rc != CAIRN_OK)
		return rc;
	memcpy(db->tip_present, cut.present, sizeof(db->tip_present));
	memcpy(db->tip_height, cut.height, sizeof(db->tip_height));
	return CAIRN_OK;
}

/* RocksDB creates the directory and its LOG file even when it then refuses
 * to open, so absence is detected before it touches anything. */
static int require_existing(const char *path)
{
	char current[PATH_MAX];
	if (snprintf(current, sizeof(current), "%s/CURRENT", path) >= (int)sizeof(current))
		return cairn_error_set(CAIRN_EINVALID, "chain database path too long: '%s'", path);
	if (!cairn_fs_exists(current))
		return cairn_error_set(CAIRN_ENOTFOUND, "no chain database at '%s'", path);
	return CAIRN_OK;
}

int cairn_chaindb_open(cairn_chaindb **out, const char *path, const cairn_chaindb_options *opts)
{
	if (opts->version == NULL && !opts->read_only)
		return cairn_error_set(CAIRN_EINVALID, "chaindb: a chainweb version is required to open '%s'", path);
	int rc = opts->read_only || !opts->create_if_missing ? require_existing(path)
		: cairn_fs_mkdir_p(path);
	if (rc != CAIRN_OK)
		return rc;
	cairn_chaindb *db = calloc(1, sizeof(*db));
	if (db == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "chaindb: out of memory");
	pthread_mutex_init(&db->write_lock, NULL);
	atomic_init(&db->failed, false);
	configure(db, opts);
	char *err = NULL;
	db->db = opts->read_only ? rocksdb_open_for_read_only(db->options, path, 0, &err)
		: rocksdb_open(db->options, path, &err);
	if (err != NULL) {
		rc = cairn_error_set(CAIRN_EIO, "cannot open chain database '%s': %s", path, err);
		rocksdb_free(err);
	}
	if (rc == CAIRN_OK)
		rc = check_meta(db, path, opts->version, opts->read_only);
	if (rc == CAIRN_OK)
		rc = load_tips(db);
	if (rc != CAIRN_OK) {
		cairn_chaindb_close(db);
		return rc;
	}
	cairn_log_info("chaindb", "opened '%s' (version %s%s)", path, db->version,
		opts->read_only ? ", read-only" : "");
	*out = db;
	return CAIRN_OK;
}

void cairn_chaindb_close(cairn_chaindb *db)
{
	if (db == NULL)
		return;
	if (db->db != NULL)
		rocksdb_close(db->db);
	rocksdb_readoptions_destroy(db->read_options);
	rocksdb_writeoptions_destroy(db->write_options);
	rocksdb_options_destroy(db->options);
	rocksdb_block_based_options_destroy(db->table_options);
	rocksdb_cache_destroy(db->cache);
	pthread_mutex_destroy(&db->write_lock);
	free(db->version);
	free(db);
}

const char *cairn_chaindb_version(const cairn_chaindb *db)
{
	return db->version;
}

static int check_block(const cairn_chaindb *db, const cairn_chaindb_block *b)
{
	if (b->chain >= CAIRN_CHAINDB_MAX_CHAINS)
		return cairn_error_set(CAIRN_EINVALID, "chaindb: chain %u out of range", b->chain);
	if (b->hash == NULL || b->payload_hash == NULL || (b->header == NULL && b->header_len > 0)
	    || (b->payload == NULL && b->payload_len > 0))
		return cairn_error_set(CAIRN_EINVALID, "chaindb: incomplete block for chain %u", b->chain);
	if (db->tip_present[b->chain] && b->height != db->tip_height[b->chain] + 1)
		return cairn_error_set(CAIRN_EINVALID,
			"chaindb: block at height %llu does not extend chain %u (cut height %llu)",
			(unsigned long long)b->height, b->chain, (unsigned long long)db->tip_height[b->chain]);
	return CAIRN_OK;
}

static void batch_block(rocksdb_writebatch_t *batch, const cairn_chaindb_block *b)
{
	uint8_t header_key[HASH_KEY_LEN], payload_key[HASH_KEY_LEN];
	uint8_t rkey[RANK_KEY_LEN], ckey[CUT_KEY_LEN], cut_value[CUT_VALUE_LEN];
	hash_key(header_key, KIND_HEADER, b->hash);
	hash_key(payload_key, KIND_PAYLOAD, b->payload_hash);
	rank_key(rkey, b->chain, b->height);
	cut_key(ckey, b->chain);
	put_u64(cut_value, b->height);
	memcpy(cut_value + 8, b->hash, CAIRN_CHAINDB_HASH_LEN);
	rocksdb_writebatch_put(batch, (const char *)header_key, sizeof(header_key),
		(const char *)b->header, b->header_len);
	rocksdb_writebatch_put(batch, (const char *)payload_key, sizeof(payload_key),
		(const char *)b->payload, b->payload_len);
	rocksdb_writebatch_put(batch, (const char *)rkey, sizeof(rkey),
		(const char *)b->hash, CAIRN_CHAINDB_HASH_LEN);
	rocksdb_writebatch_put(batch, (const char *)ckey, sizeof(ckey),
		(const char *)cut_value, sizeof(cut_value));
}

/* Keeps the first write error (with write_lock held); returns rc. */
static int record_failure(cairn_chaindb *db, int rc)
{
	if (!atomic_load(&db->failed)) {
		snprintf(db->failure, sizeof(db->failure), "%s", cairn_error_last());
		atomic_store(&db->failed, true);
	}
	return rc;
}

static int refuse_after_failure(const cairn_chaindb *db)
{
	return cairn_error_set(CAIRN_EIO, "chaindb: refused after an earlier write failure (%s)", db->failure);
}

const char *cairn_chaindb_failure(cairn_chaindb *db)
{
	return atomic_load(&db->failed) ? db->failure : NULL;
}

int cairn_chaindb_put_block(cairn_chaindb *db, const cairn_chaindb_block *block)
{
	pthread_mutex_lock(&db->write_lock);
	int rc = atomic_load(&db->failed) ? refuse_after_failure(db) : check_block(db, block);
	if (rc == CAIRN_OK) {
		rocksdb_writebatch_t *batch = rocksdb_writebatch_create();
		batch_block(batch, block);
		char *err = NULL;
		rocksdb_write(db->db, db->write_options, batch, &err);
		rocksdb_writebatch_destroy(batch);
		if (err != NULL) {
			rc = record_failure(db, rocks_error(err, "write block"));
		} else {
			db->tip_present[block->chain] = true;
			db->tip_height[block->chain] = block->height;
		}
	}
	pthread_mutex_unlock(&db->write_lock);
	return rc;
}

/* The error of a failed write-class call: kept as the handle's failure. */
static int failed_write(cairn_chaindb *db, char *err, const char *what)
{
	int rc = rocks_error(err, what);
	pthread_mutex_lock(&db->write_lock);
	record_failure(db, rc);
	pthread_mutex_unlock(&db->write_lock);
	return rc;
}

int cairn_chaindb_sync(cairn_chaindb *db)
{
	if (atomic_load(&db->failed))
		return refuse_after_failure(db);
	char *err = NULL;
	rocksdb_flush_wal(db->db, 1, &err);
	return err != NULL ? failed_write(db, err, "sync WAL") : CAIRN_OK;
}

int cairn_chaindb_flush(cairn_chaindb *db)
{
	if (atomic_load(&db->failed))
		return refuse_after_failure(db);
	char *err = NULL;
	rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
	rocksdb_flushoptions_set_wait(fo, 1);
	rocksdb_flush(db->db, fo, &err);
	rocksdb_flushoptions_destroy(fo);
	return err != NULL ? failed_write(db, err, "flush memtable") : CAIRN_OK;
}

int cairn_chaindb_get_header(uint8_t **out, size_t *out_len, cairn_chaindb *db, const uint8_t *hash)
{
	uint8_t key[HASH_KEY_LEN];
	hash_key(key, KIND_HEADER, hash);
	return get_value(out, out_len, db, key, sizeof(key), "header");
}

int cairn_chaindb_get_payload(uint8_t **out, size_t *out_len, cairn_chaindb *db,
	const uint8_t *payload_hash)
{
	uint8_t key[HASH_KEY_LEN];
	hash_key(key, KIND_PAYLOAD, payload_hash);
	return get_value(out, out_len, db, key, sizeof(key), "payload");
}

int cairn_chaindb_hash_at(uint8_t *out_hash, cairn_chaindb *db, uint32_t chain, uint64_t height)
{
	uint8_t key[RANK_KEY_LEN];
	rank_key(key, chain, height);
	uint8_t *value;
	size_t len;
	int rc = get_value(&value, &len, db, key, sizeof(key), "rank entry");
	if (rc != CAIRN_OK)
		return rc;
	if (len != CAIRN_CHAINDB_HASH_LEN) {
		free(value);
		return cairn_error_set(CAIRN_EIO, "chaindb: corrupt rank entry for chain %u height %llu",
			chain, (unsigned long long)height);
	}
	memcpy(out_hash, value, CAIRN_CHAINDB_HASH_LEN);
	free(value);
	return CAIRN_OK;
}

/* An iterator over [lower, upper) whose bound lives in `upper` (kept by the
 * caller for the iterator's lifetime); it reads one implicit snapshot. */
static rocksdb_iterator_t *range_iterator(rocksdb_readoptions_t **ro_out, cairn_chaindb *db,
	const uint8_t *lower, size_t lower_len, const uint8_t *upper, size_t upper_len)
{
	rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
	rocksdb_readoptions_set_iterate_upper_bound(ro, (const char *)upper, upper_len);
	rocksdb_iterator_t *it = rocksdb_create_iterator(db->db, ro);
	rocksdb_iter_seek(it, (const char *)lower, lower_len);
	*ro_out = ro;
	return it;
}

static int iterator_status(rocksdb_iterator_t *it, const char *what)
{
	char *err = NULL;
	rocksdb_iter_get_error(it, &err);
	return err != NULL ? rocks_error(err, what) : CAIRN_OK;
}

int cairn_chaindb_check_tables(uint64_t *out_records, cairn_chaindb *db, void (*step)(void *ctx, uint64_t records),
	void *ctx)
{
	rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
	rocksdb_readoptions_set_verify_checksums(ro, 1);
	rocksdb_readoptions_set_fill_cache(ro, 0);
	rocksdb_iterator_t *it = rocksdb_create_iterator(db->db, ro);
	uint64_t records = 0;
	for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it))
		if ((++records & 0xffff) == 0 && step != NULL)
			step(ctx, records);
	int rc = iterator_status(it, "read every record");
	rocksdb_iter_destroy(it);
	rocksdb_readoptions_destroy(ro);
	*out_records = records;
	return rc;
}

static int parse_cut_entry(cairn_chaindb_cut *out, const char *key, size_t key_len,
	const char *value, size_t value_len)
{
	if (key_len != CUT_KEY_LEN || value_len != CUT_VALUE_LEN)
		return cairn_error_set(CAIRN_EIO, "chaindb: corrupt cut entry");
	uint32_t chain = get_u32((const uint8_t *)key + 1);
	if (chain >= CAIRN_CHAINDB_MAX_CHAINS)
		return cairn_error_set(CAIRN_EIO, "chaindb: cut entry for chain %u out of range", chain);
	out->present[chain] = true;
	out->height[chain] = get_u64((const uint8_t *)value);
	memcpy(out->hash[chain], value + 8, CAIRN_CHAINDB_HASH_LEN);
	return CAIRN_OK;
}

int cairn_chaindb_get_cut(cairn_chaindb_cut *out, cairn_chaindb *db)
{
	memset(out, 0, sizeof(*out));
	const uint8_t lower = KIND_CUT, upper = KIND_CUT + 1;
	rocksdb_readoptions_t *ro;
	rocksdb_iterator_t *it = range_iterator(&ro, db, &lower, 1, &upper, 1);
	int rc = CAIRN_OK;
	for (; rc == CAIRN_OK && rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
		size_t key_len, value_len;
		const char *key = rocksdb_iter_key(it, &key_len);
		const char *value = rocksdb_iter_value(it, &value_len);
		rc = parse_cut_entry(out, key, key_len, value, value_len);
	}
	if (rc == CAIRN_OK)
		rc = iterator_status(it, "read cut");
	rocksdb_iter_destroy(it);
	rocksdb_readoptions_destroy(ro);
	return rc;
}

int cairn_chaindb_rank_iter_create(cairn_chaindb_rank_iter **out, cairn_chaindb *db,
	uint32_t chain, uint64_t from_height)
{
	if (chain >= CAIRN_CHAINDB_MAX_CHAINS)
		return cairn_error_set(CAIRN_EINVALID, "chaindb: chain %u out of range", chain);
	cairn_chaindb_rank_iter *it = calloc(1, sizeof(*it));
	if (it == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "chaindb: out of memory");
	uint8_t lower[RANK_KEY_LEN];
	rank_key(lower, chain, from_height);
	it->upper_bound[0] = KIND_RANK;
	put_u32(it->upper_bound + 1, chain + 1);
	it->iter = range_iterator(&it->read_options, db, lower, sizeof(lower),
		it->upper_bound, sizeof(it->upper_bound));
	*out = it;
	return CAIRN_OK;
}

int cairn_chaindb_rank_iter_next(uint64_t *height, uint8_t *hash, cairn_chaindb_rank_iter *it)
{
	if (it->started)
		rocksdb_iter_next(it->iter);
	it->started = true;
	if (!rocksdb_iter_valid(it->iter)) {
		int rc = iterator_status(it->iter, "iterate rank index");
		return rc != CAIRN_OK ? rc : CAIRN_ENOTFOUND;
	}
	size_t key_len, value_len;
	const char *key = rocksdb_iter_key(it->iter, &key_len);
	const char *value = rocksdb_iter_value(it->iter, &value_len);
	if (key_len != RANK_KEY_LEN || value_len != CAIRN_CHAINDB_HASH_LEN)
		return cairn_error_set(CAIRN_EIO, "chaindb: corrupt rank entry");
	*height = get_u64((const uint8_t *)key + 5);
	memcpy(hash, value, CAIRN_CHAINDB_HASH_LEN);
	return CAIRN_OK;
}

void cairn_chaindb_rank_iter_free(cairn_chaindb_rank_iter *it)
{
	if (it == NULL)
		return;
	rocksdb_iter_destroy(it->iter);
	rocksdb_readoptions_destroy(it->read_options);
	free(it);
}

int cairn_chaindb_checkpoint(cairn_chaindb *db, const char *target_dir)
{
	if (cairn_fs_exists(target_dir))
		return cairn_error_set(CAIRN_EEXISTS, "checkpoint target '%s' already exists", target_dir);
	if (atomic_load(&db->failed))
		return refuse_after_failure(db);
	char *err = NULL;
	rocksdb_checkpoint_t *cp = rocksdb_checkpoint_object_create(db->db, &err);
	if (err != NULL)
		return rocks_error(err, "create checkpoint object");
	/* A log size threshold of UINT64_MAX never forces a memtable flush: the
	 * live WAL is copied into the checkpoint instead. */
	rocksdb_checkpoint_create(cp, target_dir, UINT64_MAX, &err);
	rocksdb_checkpoint_object_destroy(cp);
	if (err != NULL) {
		int rc = cairn_error_set(CAIRN_EIO, "cannot create checkpoint '%s': %s", target_dir, err);
		rocksdb_free(err);
		return rc;
	}
	return cairn_fs_fsync_parent(target_dir);
}
