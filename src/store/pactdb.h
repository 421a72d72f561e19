/*
 * pactdb.h: the Pact state of one chain, a SQLite file in WAL mode at
 * <database-directory>/0/sqlite/pact-v1-chain-<N>.sqlite, shaped like
 * chainweb-node's: BlockHistory, TransactionIndex, VersionedTableCreation,
 * VersionedTableMutation and versioned tables (rowkey, txid, rowdata, hash)
 * such as the coin table "coin_coin-table", where every write adds a row
 * version and nothing is overwritten.
 *
 * Transaction ids.  Txids number the transactions of the chain from 0 with
 * no gaps: the i-th transaction of a block (counting from 0) gets txid
 * start + i, where start is the previous block's endingtxid (0 for the
 * chain's first block), and a block's endingtxid is start + its number of
 * transactions, i.e. the next free txid.  Every row version written by a
 * transaction carries its txid, so "the state after block h" is exactly the
 * rows with txid < endingtxid(h).  A transaction writes a row at most once:
 * a second write to the same row in one transaction replaces the first,
 * as Pact keeps only a transaction's last write.
 *
 * One handle per file per process: the handle keeps descriptors on the
 * database and WAL files open for snapshot copies (pactdb_snapshot.c), and
 * closing a second descriptor would drop SQLite's POSIX locks.  A handle may
 * be used from any thread; calls are serialized by its mutex.
 */
#ifndef CAIRN_STORE_PACTDB_H
#define CAIRN_STORE_PACTDB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAIRN_PACTDB_HASH_LEN 32

/* The coin contract's table, named as Pact names user tables: module_table. */
#define CAIRN_PACTDB_COIN_TABLE "coin_coin-table"

typedef struct cairn_pactdb cairn_pactdb;

typedef struct cairn_pactdb_options {
	bool create_if_missing;
	bool read_only;
	/* synchronous=FULL (fsync the WAL at every block) instead of NORMAL;
	 * see pactdb.c for why NORMAL is the default. */
	bool synchronous_full;
	/* WAL length (pages, > 0) at which a committing block checkpoints the
	 * WAL itself: SQLite's autocheckpoint.  With a background thread calling
	 * cairn_pactdb_checkpoint, set it high (CAIRN_PACTDB_VALVE_PAGES): it is
	 * then only the valve that bounds the WAL when that thread falls behind. */
	int wal_autocheckpoint_pages;
	/* Blocks per SQLite transaction (>= 1).  Above 1, a block's transaction
	 * stays open for the next blocks until it holds this many or
	 * cairn_pactdb_commit ends it (pactdb_write.c, "Groups"). */
	unsigned group_blocks;
} cairn_pactdb_options;

#define CAIRN_PACTDB_OPTIONS_INIT {true, false, false, 1000, 1}

/* wal_autocheckpoint_pages for files checkpointed in the background (32 MB
 * of 4 KB pages). */
#define CAIRN_PACTDB_VALVE_PAGES 8192

/* Writes "<database_dir>/0/sqlite/pact-v1-chain-<chain>.sqlite" into buf. */
int cairn_pactdb_path(char *buf, size_t size, const char *database_dir, uint32_t chain);

/* Opens the file (creating it, its directory and the schema if needed). */
int cairn_pactdb_open(cairn_pactdb **out, const char *path, const cairn_pactdb_options *opts);

/* Closes the handle; every snapshot of it must have ended. */
void cairn_pactdb_close(cairn_pactdb *db);

typedef struct cairn_pactdb_write {
	const char *table;   /* versioned table, e.g. CAIRN_PACTDB_COIN_TABLE */
	const char *rowkey;
	const char *rowdata; /* JSON text */
	size_t rowdata_len;
} cairn_pactdb_write;

typedef struct cairn_pactdb_tx {
	const uint8_t *hash; /* request key, CAIRN_PACTDB_HASH_LEN bytes; NULL: not indexed (coinbase) */
	const cairn_pactdb_write *writes;
	size_t nwrites;
} cairn_pactdb_tx;

typedef struct cairn_pactdb_block {
	uint64_t height;
	const uint8_t *hash; /* CAIRN_PACTDB_HASH_LEN bytes */
	const cairn_pactdb_tx *txs;
	size_t ntxs;
} cairn_pactdb_block;

/* Applies a block in one SQLite transaction, or as part of the open group
 * (group_blocks): its BlockHistory row, a
 * TransactionIndex row per indexed transaction, a row version per write
 * (creating a table on its first write, recorded in VersionedTableCreation)
 * and the VersionedTableMutation bookkeeping.  The height must be the last
 * block's + 1 (any height for the first block); otherwise CAIRN_EINVALID
 * and nothing changes.  A failure while writing rolls back the whole open
 * group: the handle then stands at the last committed block. */
int cairn_pactdb_apply_block(cairn_pactdb *db, const cairn_pactdb_block *block);

/* Commits the open group of blocks if it began at least min_age_seconds
 * ago (0: whatever its age), so that other connections see its blocks. */
int cairn_pactdb_commit(cairn_pactdb *db, double min_age_seconds);

/* Why the handle lost applied blocks (a group commit failed and was rolled
 * back, whoever committed it: the commit path, the checkpointer or a
 * backup), or NULL.  The file then lags the chain database: the node must
 * stop committing and rebuild the Pact state (a restart does). */
const char *cairn_pactdb_failure(cairn_pactdb *db);

/* The latest version of a row, malloc'd and NUL-terminated (release with
 * free()); CAIRN_ENOTFOUND when the table or row does not exist. */
int cairn_pactdb_read_row(char **out, size_t *out_len, cairn_pactdb *db,
	const char *table, const char *rowkey);

/* The bytes of the file and its WAL now: about what a snapshot copies. */
uint64_t cairn_pactdb_file_bytes(cairn_pactdb *db);

/* The last applied block; CAIRN_ENOTFOUND when none.  out_hash or
 * out_endingtxid may be NULL. */
int cairn_pactdb_last_block(uint64_t *out_height, uint8_t *out_hash, uint64_t *out_endingtxid,
	cairn_pactdb *db);

/* The hash of the block applied at `height`; CAIRN_ENOTFOUND when none. */
int cairn_pactdb_block_hash_at(uint8_t *out_hash, cairn_pactdb *db, uint64_t height);

/* The height of the block that indexed a transaction; CAIRN_ENOTFOUND when none. */
int cairn_pactdb_tx_height(uint64_t *out_height, cairn_pactdb *db, const uint8_t *tx_hash);

/* Removes, in one transaction, everything written by blocks above `height`:
 * row versions with txid >= endingtxid(height), tables created above it,
 * and their BlockHistory, TransactionIndex and mutation records.  A height
 * below the first block empties the state; at or above the last block it
 * changes nothing. */
int cairn_pactdb_rollback_above(cairn_pactdb *db, uint64_t height);

/* One step of background checkpointing, on a connection of its own: copies
 * WAL frames into the file without blocking apply_block, and restarts a
 * long WAL when only a short tail is left (briefly taking the writer lock,
 * never waiting for it).  Meant for a thread that calls it every few tens
 * of milliseconds for each file whose handle was opened with
 * wal_autocheckpoint_pages = CAIRN_PACTDB_VALVE_PAGES: apply_block then
 * rarely pays for checkpoints (1.5-2.2x more blocks/s in bench/store).
 * Returns at once (CAIRN_OK) when another thread is checkpointing the file,
 * as a backup does when its snapshot ends (pactdb_snapshot.c).
 * The restart needs a moment between two commits; a writer that never
 * pauses leaves none, and then the valve folds the short tail and restarts
 * the WAL from apply_block (the node commits its chains in turn, so each
 * file does pause). */
int cairn_pactdb_checkpoint(cairn_pactdb *db);

/* ---- Snapshots for backups (pactdb_snapshot.c) ---- */

typedef struct cairn_pactdb_snapshot cairn_pactdb_snapshot;

/* Pins the committed state of the file (an open group's blocks are not in
 * it: call cairn_pactdb_commit first) with a read transaction on a
 * connection of its own.  Cheap (well under a millisecond), and safe while
 * blocks are applied.  Writers continue unblocked afterwards, without
 * checkpointing the WAL while any snapshot of the handle lives
 * (pactdb_snapshot.c): keep snapshots short-lived. */
int cairn_pactdb_snapshot_begin(cairn_pactdb_snapshot **out, cairn_pactdb *db);

/* The last block in the snapshot; CAIRN_ENOTFOUND when it has none. */
int cairn_pactdb_snapshot_last_block(uint64_t *out_height, uint8_t *out_hash,
	const cairn_pactdb_snapshot *snap);

typedef enum cairn_pactdb_copy_method {
	CAIRN_PACTDB_COPY_FILES,      /* kernel file copy of the pinned pages, then checkpoint */
	CAIRN_PACTDB_COPY_BACKUP_API, /* sqlite3_backup_step(-1) from the pinned read transaction */
} cairn_pactdb_copy_method;

typedef struct cairn_pactdb_copy_stats {
	cairn_pactdb_copy_method method; /* the one used */
	uint64_t db_bytes;               /* main-file bytes copied */
	uint64_t wal_frames;             /* WAL frames copied and checkpointed into the copy */
	uint64_t wal_bytes;
	uint64_t result_bytes;           /* size of the finished file */
	double copy_seconds;             /* copying files (or the backup step) */
	double checkpoint_seconds;       /* folding the WAL frames into the copy */
	double sync_seconds;             /* fsync of the result and its directory */
} cairn_pactdb_copy_stats;

/* Writes the snapshot's state to `dest_path` as one self-contained SQLite
 * file (no -wal needed), fsynced with its directory entry.  The file appears
 * under its name only when complete: on any error (ENOSPC, EACCES, a vanished
 * directory...) a negative code and message are returned and no partial file
 * is left.  `dest_path` must not exist.  stats may be NULL. */
int cairn_pactdb_snapshot_copy(const cairn_pactdb_snapshot *snap, const char *dest_path,
	cairn_pactdb_copy_method method, cairn_pactdb_copy_stats *stats);

/* Bytes a copy of the snapshot reads: the main file and the WAL frames it
 * needs. */
uint64_t cairn_pactdb_snapshot_bytes(const cairn_pactdb_snapshot *snap);

/* Watches and paces the file copy (CAIRN_PACTDB_COPY_FILES) of a snapshot:
 * bytes are added to *progress as they are written, *cancel is read
 * between chunks (a set flag ends the copy with CAIRN_ESTATE, no partial
 * file left), and `limit` paces the copy so that a backup leaves the disk
 * to the node (one bucket may pace several copies: their sum keeps to its
 * rate).  Chunks are at most an eighth of a second's worth at that rate,
 * so a cancel takes effect within that. */
typedef struct cairn_pactdb_copy_watch {
	_Atomic uint64_t *progress;   /* NULL: not counted */
	const _Atomic bool *cancel;   /* NULL: not cancellable */
	struct cairn_ratelimit *limit; /* NULL: not paced */
} cairn_pactdb_copy_watch;

#define CAIRN_PACTDB_COPY_WATCH_INIT {NULL, NULL, NULL}

/* Applies `watch` (copied) to later copies of the snapshot. */
void cairn_pactdb_snapshot_watch(cairn_pactdb_snapshot *snap, const cairn_pactdb_copy_watch *watch);

/* Ends the read transaction, letting the WAL be checkpointed and restarted;
 * the last snapshot of the handle to end folds what was committed while
 * snapshots lived (a checkpoint, on the calling thread) and turns the
 * commits' autocheckpoint back on.  Never call it under the commit lock. */
void cairn_pactdb_snapshot_end(cairn_pactdb_snapshot *snap);

#endif
