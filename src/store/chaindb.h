/*
 * chaindb.h: the chain database (RocksDB) at <database-directory>/0/rocksDb.
 *
 * It stores, as opaque bytes, block headers by block hash and payloads (with
 * outputs) by payload hash, plus a rank index (chain, height) -> block hash
 * for the winning branch of every chain and the current cut (per chain: the
 * height and hash of its tip).  A meta record names the chainweb version the
 * database was written for; opening it for another version is refused.
 *
 * Invariants, maintained because every block is written by ONE atomic batch
 * (header, rank entry, payload, cut entry):
 *   - the cut entry of a chain names a block whose header, rank entry and
 *     payload are present;
 *   - the rank index of a chain is contiguous: it holds exactly the heights
 *     from the chain's first stored block up to its cut height.
 * The key encoding, durability policy and options are documented in
 * chaindb.c.
 */
#ifndef CAIRN_STORE_CHAINDB_H
#define CAIRN_STORE_CHAINDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/graph.h"

#define CAIRN_CHAINDB_HASH_LEN 32
#define CAIRN_CHAINDB_MAX_CHAINS CAIRN_GRAPH_MAX_ORDER

typedef struct cairn_chaindb cairn_chaindb;

typedef struct cairn_chaindb_options {
	/* Chainweb version name.  Recorded when the database is created and
	 * compared on every later open (mismatch: CAIRN_EINVALID).  May be NULL
	 * only with read_only, to accept whatever the database records. */
	const char *version;
	bool create_if_missing;   /* create the directory and database if absent */
	bool read_only;           /* open without writing anything (checkpoints) */
	bool sync_every_block;    /* fsync the WAL in every put_block (see chaindb.c) */
	size_t block_cache_bytes; /* shared LRU cache for data blocks */
	int max_open_files;       /* table files kept open at most */
} cairn_chaindb_options;

#define CAIRN_CHAINDB_OPTIONS_INIT {NULL, true, false, false, (size_t)64 << 20, 256}

/* Writes "<database_dir>/0/rocksDb" into buf. */
int cairn_chaindb_path(char *buf, size_t size, const char *database_dir);

/* Opens (or creates) the database in directory `path`. */
int cairn_chaindb_open(cairn_chaindb **out, const char *path, const cairn_chaindb_options *opts);

void cairn_chaindb_close(cairn_chaindb *db);

/* The chainweb version name recorded in the database. */
const char *cairn_chaindb_version(const cairn_chaindb *db);

typedef struct cairn_chaindb_block {
	uint32_t chain;
	uint64_t height;
	const uint8_t *hash;         /* CAIRN_CHAINDB_HASH_LEN bytes */
	const uint8_t *header;       /* binary header, stored as given */
	size_t header_len;
	const uint8_t *payload_hash; /* CAIRN_CHAINDB_HASH_LEN bytes */
	const uint8_t *payload;      /* payload with outputs, stored as given */
	size_t payload_len;
} cairn_chaindb_block;

/* Stores a block and makes it the tip of its chain, atomically.  The height
 * must be the chain's cut height + 1, or anything for a chain's first block
 * (genesis heights differ between chains); otherwise CAIRN_EINVALID. */
int cairn_chaindb_put_block(cairn_chaindb *db, const cairn_chaindb_block *block);

/* Makes every put_block so far durable (fsyncs the WAL): the group commit
 * that pairs with sync_every_block = false. */
int cairn_chaindb_sync(cairn_chaindb *db);

/* Writes the memtable to a table file and starts a new WAL, waiting until
 * done.  Call it before taking the commit lock for a checkpoint: the
 * checkpoint then copies a live WAL holding only what was written since. */
int cairn_chaindb_flush(cairn_chaindb *db);

/* The error of the handle's first failed write (put_block, sync, flush),
 * or NULL.  After one, those calls and checkpoints fail at once without
 * reaching RocksDB (chaindb.c): the handle must be closed and reopened. */
const char *cairn_chaindb_failure(cairn_chaindb *db);

/* Header or payload bytes by hash, malloc'd into *out (release with free()).
 * CAIRN_ENOTFOUND when absent. */
int cairn_chaindb_get_header(uint8_t **out, size_t *out_len, cairn_chaindb *db, const uint8_t *hash);
int cairn_chaindb_get_payload(uint8_t **out, size_t *out_len, cairn_chaindb *db,
	const uint8_t *payload_hash);

/* The hash of the winning block at (chain, height); CAIRN_ENOTFOUND when none. */
int cairn_chaindb_hash_at(uint8_t *out_hash, cairn_chaindb *db, uint32_t chain, uint64_t height);

typedef struct cairn_chaindb_cut {
	bool present[CAIRN_CHAINDB_MAX_CHAINS]; /* false: the chain has no block yet */
	uint64_t height[CAIRN_CHAINDB_MAX_CHAINS];
	uint8_t hash[CAIRN_CHAINDB_MAX_CHAINS][CAIRN_CHAINDB_HASH_LEN];
} cairn_chaindb_cut;

/* The current cut of all chains, read at one consistent point. */
int cairn_chaindb_get_cut(cairn_chaindb_cut *out, cairn_chaindb *db);

/* Ascending iteration over one chain's rank index, from a height on.  The
 * iterator reads one consistent point in time (later writes are not seen). */
typedef struct cairn_chaindb_rank_iter cairn_chaindb_rank_iter;

int cairn_chaindb_rank_iter_create(cairn_chaindb_rank_iter **out, cairn_chaindb *db,
	uint32_t chain, uint64_t from_height);

/* The next (height, hash); CAIRN_ENOTFOUND after the last one. */
int cairn_chaindb_rank_iter_next(uint64_t *height, uint8_t *hash, cairn_chaindb_rank_iter *it);

void cairn_chaindb_rank_iter_free(cairn_chaindb_rank_iter *it);

/* Reads every record of the database once, with RocksDB's block checksums
 * verified and without filling the block cache: a table file with a
 * damaged block fails here with RocksDB's reason, which names the file.
 * *out_records counts the records read (for a progress display, `step`
 * is called every 65536 records with that count, when not NULL). */
int cairn_chaindb_check_tables(uint64_t *out_records, cairn_chaindb *db, void (*step)(void *ctx, uint64_t records),
	void *ctx);

/* Creates a RocksDB checkpoint in `target_dir` (which must not exist; its
 * parent must): table files are hard-linked on the same file system and
 * copied otherwise; the live WAL is copied, the memtable is never flushed.
 * The WAL copy (and its fsync) is most of the cost, up to the 16 MB write
 * buffer: call cairn_chaindb_flush() first, outside the commit lock.
 * The checkpoint holds every block whose put_block returned before the call
 * (blocks written concurrently may or may not be in it, each one whole; the
 * node calls it under its commit lock to pin the cut).  It is a complete
 * database that opens with read_only, or normally after a restore.  The
 * checkpoint directory and its entry in the parent are fsynced. */
int cairn_chaindb_checkpoint(cairn_chaindb *db, const char *target_dir);

#endif
