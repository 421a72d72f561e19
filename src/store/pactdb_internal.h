/*
 * pactdb_internal.h: what pactdb.c shares with pactdb_write.c (the
 * statements, the table cache, the last block) and with pactdb_snapshot.c
 * (the handle's open descriptors and its mutex).  Not for other modules.
 * Every function taking a cairn_pactdb here expects the caller to hold the
 * handle's mutex (or to be its only user, at open and close).
 */
#ifndef CAIRN_STORE_PACTDB_INTERNAL_H
#define CAIRN_STORE_PACTDB_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <sqlite3.h>

#include "store/pactdb.h"

/* A versioned table's cached statements (pactdb.c, "Statements"). */
typedef struct pactdb_table pactdb_table;
struct pactdb_table {
	pactdb_table *next;
	char *name;
	sqlite3_stmt *insert_row;
	sqlite3_stmt *read_row;
	bool mutation_marked; /* VersionedTableMutation row written for the block being applied */
};

enum pactdb_stmt {
	STMT_BEGIN,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_INSERT_BLOCK,
	STMT_INSERT_TX,
	STMT_MARK_MUTATION,
	STMT_MARK_CREATION,
	STMT_LAST_BLOCK,
	STMT_BLOCK_AT,
	STMT_TX_HEIGHT,
	STMT_TABLE_EXISTS,
	STMT_COUNT
};

struct cairn_pactdb {
	pthread_mutex_t lock; /* serializes every use of conn and of the fields below */
	sqlite3 *conn;
	sqlite3_stmt *stmt[STMT_COUNT];
	pactdb_table *tables; /* cached statements of versioned tables, a list */
	char *path;
	bool read_only;
	/* Descriptors on the database and WAL files, opened after SQLite's and
	 * closed after it: closing any descriptor of a file drops the process's
	 * POSIX locks on it, so they live exactly as long as the handle. */
	int db_fd;
	int wal_fd;
	/* The last applied block, kept in step with BlockHistory. */
	bool has_block;
	uint64_t last_height;
	uint64_t next_txid;
	/* The open group (pactdb_write.c): blocks in it, and when it began. */
	unsigned group_limit;
	unsigned group_size;
	double group_opened;
	int snapshots; /* live snapshots; close requires none */
	int autocheckpoint_pages; /* the commit's autocheckpoint, held at 0 while snapshots live */
	/* Set (under the mutex) when the last snapshot ended with a WAL longer
	 * than autocheckpoint_pages: the autocheckpoint then stands that far
	 * above the WAL's length until a checkpoint sees the WAL short again
	 * (pactdb_snapshot.c, "WAL growth"). */
	atomic_bool valve_raised;
	/* An idle read-only connection kept for the next snapshot, so that
	 * snapshot_begin (under the commit lock) does not open one; NULL while
	 * a snapshot uses it. */
	sqlite3 *snapshot_conn;
	/* The connection of cairn_pactdb_checkpoint, opened on first use and
	 * guarded by its own mutex so checkpoints never wait for apply_block. */
	pthread_mutex_t checkpoint_lock;
	sqlite3 *checkpoint_conn;
	/* Set once a group of applied blocks could not be committed (they are
	 * rolled back: the file no longer holds blocks the chain database
	 * holds); `failure` is written before `failed` is set, and never again. */
	char failure[256];
	atomic_bool failed;
};

/* Opens a connection of the handle's file for snapshots or checkpoints,
 * with WAL recovery done (its first read). */
int cairn_pactdb__open_aux(sqlite3 **out, const cairn_pactdb *db, bool read_only);

/* Reads the last block (height, hash, endingtxid) on `conn` with the
 * caller's prepared statement; CAIRN_ENOTFOUND when BlockHistory is empty. */
int cairn_pactdb__last_block(uint64_t *height, uint8_t *hash, uint64_t *endingtxid,
	sqlite3_stmt *last_block_stmt);

/* Steps a statement that returns no row, then resets it. */
int cairn_pactdb__run(cairn_pactdb *db, sqlite3_stmt *stmt, const char *what);

/* Runs SQL without results on the handle's connection. */
int cairn_pactdb__exec(cairn_pactdb *db, const char *sql, const char *what);

/* Prepares a statement kept for the handle's lifetime. */
int cairn_pactdb__prepare(cairn_pactdb *db, sqlite3_stmt **out, const char *sql);

/* A name a block may write: not empty, at most 255 bytes, no ']', not
 * SQLite's own nor one of the bookkeeping tables. */
bool cairn_pactdb__valid_table_name(const char *name);

/* Formats SQL naming one table: `fmt` refers to the name as %1$s, inside
 * brackets (valid names contain no ']').  malloc'd; NULL when out of memory. */
char *cairn_pactdb__table_sql(const char *fmt, const char *table);

/* Finds a versioned table in the cache, or caches it; with `create_at`
 * non-NULL a missing table is created and its creation recorded at
 * *create_at, otherwise a missing table is CAIRN_ENOTFOUND. */
int cairn_pactdb__find_table(pactdb_table **out, cairn_pactdb *db, const char *name,
	const uint64_t *create_at);

/* Drops the table cache (after a failed transaction or dropped tables). */
void cairn_pactdb__forget_tables(cairn_pactdb *db);

/* Reloads has_block, last_height and next_txid from BlockHistory. */
int cairn_pactdb__load_last_block(cairn_pactdb *db);

/* Commits the open group, if any (pactdb_write.c); a failure rolls it back
 * and records it in `failure`. */
int cairn_pactdb__commit_group(cairn_pactdb *db);

/* Formats a SQLite failure on `conn` as a cairn error (CAIRN_EIO, or the
 * closest code for full disks, permissions and missing files). */
int cairn_pactdb__sqlite_error(sqlite3 *conn, int rc, const char *what);

/* cairn_pactdb_checkpoint, which skips the step when another thread is
 * checkpointing the file; `wait`: waits for that thread and runs it.
 * Sets *wal_frames (may be NULL) to the WAL's length after the step. */
int cairn_pactdb__checkpoint(cairn_pactdb *db, bool wait, int *wal_frames);

/* Turns the commits' autocheckpoint back on, under the mutex and with no
 * snapshot live: at autocheckpoint_pages, or that far above a WAL of
 * `wal_frames` that is already longer (SQLite's autocheckpoint fires on
 * the WAL's length, not on what is left to fold: at its plain level, every
 * commit would checkpoint, with two fsyncs, until the WAL restarts). */
void cairn_pactdb__set_valve(cairn_pactdb *db, int wal_frames);

#endif
