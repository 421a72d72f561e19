/*
 * pactdb_internal.h: what pactdb.c shares with pactdb_snapshot.c, which
 * needs the handle's open descriptors and its mutex.  Not for other modules.
 */
#ifndef CAIRN_STORE_PACTDB_INTERNAL_H
#define CAIRN_STORE_PACTDB_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <sqlite3.h>

#include "store/pactdb.h"

typedef struct pactdb_table pactdb_table;

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
	/* The open group (pactdb.c): blocks in it, and when it began. */
	unsigned group_limit;
	unsigned group_size;
	double group_opened;
	int snapshots; /* live snapshots; close requires none */
	int autocheckpoint_pages; /* the commit's autocheckpoint, held at 0 while snapshots live */
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

/* Formats a SQLite failure on `conn` as a cairn error (CAIRN_EIO, or the
 * closest code for full disks, permissions and missing files). */
int cairn_pactdb__sqlite_error(sqlite3 *conn, int rc, const char *what);

#endif
