/*
 * pactdb.c: PactDB on SQLite (pactdb.h): the schema, opening and
 * closing, the statements and table cache shared with the write side, the
 * reads, and checkpoints.  Applying blocks in groups, commits and
 * roll-backs are in pactdb_write.c; snapshots and copies for backups in
 * pactdb_snapshot.c; what they share in pactdb_internal.h.
 *
 * Schema (the shape of chainweb-node's Pact state):
 *
 *   BlockHistory(blockheight UNIQUE, hash, endingtxid)
 *   TransactionIndex(txhash UNIQUE, blockheight), indexed by blockheight
 *   VersionedTableCreation(tablename, createBlockheight)
 *   VersionedTableMutation(tablename, blockheight)
 *   versioned tables [name](rowkey, txid, rowdata, hash, UNIQUE(rowkey, txid)),
 *     indexed by txid: the system tables SYS:KeySets, SYS:Modules,
 *     SYS:Namespaces, SYS:Pacts are created with the schema, user tables
 *     such as coin_coin-table on their first write.  The `hash` column
 *     (chainweb-node's per-row SHA3 chain) is kept for shape and left NULL.
 *
 * Invariants: BlockHistory heights are contiguous; every row version has a
 * txid below its block's endingtxid; every table written at height h has a
 * VersionedTableMutation (table, h) row; every table created at h has a
 * VersionedTableCreation row.  Hence rollback_above(h) is exact
 * (pactdb_write.c).
 *
 * Durability: WAL mode with synchronous=NORMAL by default.  A commit then
 * appends to the WAL without fsync (the WAL is fsynced at checkpoints), so
 * an OS crash or power loss can lose the last blocks but never corrupts the
 * file: SQLite recovers the WAL up to the last intact commit.  Losing the
 * last blocks is already handled: at start-up the node compares PactDB with
 * the ChainDB cut, rolls PactDB back when it is ahead (ChainDB lost more) and
 * replays blocks from ChainDB when it is behind.  FULL adds an fsync of
 * the WAL per block (bench/store: 1,130 against 1,650 blocks/s with 10
 * writes each) for no state the node could not rebuild.  A killed process
 * loses nothing in either mode.
 *
 * Checkpoints: by default the committing connection checkpoints the WAL
 * every 1000 pages (SQLite's autocheckpoint: PASSIVE, never waiting for
 * readers), paying two fsyncs per checkpoint inside apply_block.  With a
 * thread calling cairn_pactdb_checkpoint and the autocheckpoint raised to a
 * valve, apply_block rarely pays (pactdb.h).  The autocheckpoint is never
 * off: without it a writer that never pauses grows the WAL without bound
 * (the WAL restarts only when a write begins with every frame folded).  journal_size_limit truncates a WAL
 * that grew, e.g. during a backup, when it restarts.
 *
 * Statements: the fixed ones are prepared at open; each versioned table gets
 * its insert and read statements on first use, cached in a list (there are
 * few tables).  The list is dropped whenever a transaction fails or tables
 * are dropped, since it may then name tables that no longer exist.
 */
#include "store/pactdb_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

#define BUSY_TIMEOUT_MS 10000
#define JOURNAL_SIZE_LIMIT (64 << 20)
#define MAX_TABLE_NAME 255
#define RESTART_FRAMES 4096 /* a WAL this long (16 MB of 4 KB pages) is restarted */
#define TAIL_FRAMES 256     /* ...when no more than this is left to fold */
#define PASSIVE_PASSES 4

static const char *const stmt_sql[STMT_COUNT] = {
	[STMT_BEGIN] = "BEGIN IMMEDIATE",
	[STMT_COMMIT] = "COMMIT",
	[STMT_ROLLBACK] = "ROLLBACK",
	[STMT_INSERT_BLOCK] = "INSERT INTO BlockHistory (blockheight, hash, endingtxid) VALUES (?1, ?2, ?3)",
	[STMT_INSERT_TX] = "INSERT INTO TransactionIndex (txhash, blockheight) VALUES (?1, ?2)",
	[STMT_MARK_MUTATION] = "INSERT OR IGNORE INTO VersionedTableMutation (tablename, blockheight) VALUES (?1, ?2)",
	[STMT_MARK_CREATION] = "INSERT OR IGNORE INTO VersionedTableCreation (tablename, createBlockheight) VALUES (?1, ?2)",
	[STMT_LAST_BLOCK] = "SELECT blockheight, hash, endingtxid FROM BlockHistory ORDER BY blockheight DESC LIMIT 1",
	[STMT_BLOCK_AT] = "SELECT hash, endingtxid FROM BlockHistory WHERE blockheight = ?1",
	[STMT_TX_HEIGHT] = "SELECT blockheight FROM TransactionIndex WHERE txhash = ?1",
	[STMT_TABLE_EXISTS] = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1 COLLATE NOCASE",
};

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS BlockHistory"
	" (blockheight UNSIGNED BIGINT NOT NULL, hash BLOB NOT NULL, endingtxid UNSIGNED BIGINT NOT NULL,"
	" CONSTRAINT blockHashConstraint UNIQUE (blockheight));"
	"CREATE TABLE IF NOT EXISTS VersionedTableCreation"
	" (tablename TEXT NOT NULL, createBlockheight UNSIGNED BIGINT NOT NULL,"
	" CONSTRAINT creation_unique UNIQUE (createBlockheight, tablename));"
	"CREATE TABLE IF NOT EXISTS VersionedTableMutation"
	" (tablename TEXT NOT NULL, blockheight UNSIGNED BIGINT NOT NULL,"
	" CONSTRAINT mutation_unique UNIQUE (blockheight, tablename));"
	"CREATE TABLE IF NOT EXISTS TransactionIndex"
	" (txhash BLOB NOT NULL, blockheight UNSIGNED BIGINT NOT NULL,"
	" CONSTRAINT transactionIndexConstraint UNIQUE (txhash));"
	"CREATE INDEX IF NOT EXISTS transactionIndexByBH ON TransactionIndex (blockheight);";

static const char *const system_tables[] = {
	"SYS:KeySets", "SYS:Modules", "SYS:Namespaces", "SYS:Pacts",
};

/* Tables a block may not write: SQLite's own and the bookkeeping above. */
static const char *const reserved_tables[] = {
	"BlockHistory", "TransactionIndex", "VersionedTableCreation", "VersionedTableMutation",
};

int cairn_pactdb__sqlite_error(sqlite3 *conn, int rc, const char *what)
{
	if ((rc & 0xff) == SQLITE_ERROR && conn != NULL) /* callers that kept no code: the connection's */
		rc = sqlite3_extended_errcode(conn);
	int code = CAIRN_EIO;
	switch (rc & 0xff) {
	case SQLITE_NOMEM: code = CAIRN_ENOMEM; break;
	case SQLITE_BUSY:
	case SQLITE_LOCKED: code = CAIRN_EBUSY; break;
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_TOOBIG: code = CAIRN_EINVALID; break;
	default: break;
	}
	const char *msg = conn != NULL ? sqlite3_errmsg(conn) : sqlite3_errstr(rc);
	/* SQLite's messages name no cause ("disk I/O error"); the operating
	 * system's error of its last failed call does */
	int err = conn != NULL ? sqlite3_system_errno(conn) : 0;
	/* SQLITE_CORRUPT too: a page that could not be read (EIO) can surface as
	 * "database disk image is malformed" */
	bool io = (rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_FULL || (rc & 0xff) == SQLITE_CANTOPEN ||
		(rc & 0xff) == SQLITE_CORRUPT;
	if (io && err == 0 && conn != NULL)
		sqlite3_file_control(conn, "main", SQLITE_FCNTL_LAST_ERRNO, &err);
	if (io && err != 0)
		return cairn_error_set(code, "pactdb: %s: %s (%s)", what, msg, strerror(err));
	if (io) /* SQLite kept no errno (a write to the WAL, say): its extended code says which call failed */
		return cairn_error_set(code, "pactdb: %s: %s (SQLite extended code %d)", what, msg,
			conn != NULL ? sqlite3_extended_errcode(conn) : rc);
	return cairn_error_set(code, "pactdb: %s: %s", what, msg);
}

int cairn_pactdb_path(char *buf, size_t size, const char *database_dir, uint32_t chain)
{
	int n = snprintf(buf, size, "%s/0/sqlite/pact-v1-chain-%u.sqlite", database_dir, chain);
	if (n < 0 || (size_t)n >= size)
		return cairn_error_set(CAIRN_EINVALID, "database directory path too long: '%s'", database_dir);
	return CAIRN_OK;
}

int cairn_pactdb__run(cairn_pactdb *db, sqlite3_stmt *stmt, const char *what)
{
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ? CAIRN_OK : cairn_pactdb__sqlite_error(db->conn, rc, what);
}

int cairn_pactdb__exec(cairn_pactdb *db, const char *sql, const char *what)
{
	int rc = sqlite3_exec(db->conn, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? CAIRN_OK : cairn_pactdb__sqlite_error(db->conn, rc, what);
}

int cairn_pactdb__prepare(cairn_pactdb *db, sqlite3_stmt **out, const char *sql)
{
	int rc = sqlite3_prepare_v3(db->conn, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);
	return rc == SQLITE_OK ? CAIRN_OK : cairn_pactdb__sqlite_error(db->conn, rc, "prepare statement");
}

bool cairn_pactdb__valid_table_name(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > MAX_TABLE_NAME || strchr(name, ']') != NULL
	    || strncasecmp(name, "sqlite_", 7) == 0)
		return false;
	for (size_t i = 0; i < sizeof(reserved_tables) / sizeof(reserved_tables[0]); i++)
		if (strcasecmp(name, reserved_tables[i]) == 0)
			return false;
	return true;
}

char *cairn_pactdb__table_sql(const char *fmt, const char *table)
{
	size_t size = strlen(fmt) + 3 * strlen(table) + 1;
	char *sql = malloc(size);
	if (sql != NULL)
		snprintf(sql, size, fmt, table);
	return sql;
}

static int exec_table_sql(cairn_pactdb *db, const char *fmt, const char *table, const char *what)
{
	char *sql = cairn_pactdb__table_sql(fmt, table);
	if (sql == NULL)
		return cairn_error_set(CAIRN_ENOMEM, "pactdb: out of memory");
	int rc = cairn_pactdb__exec(db, sql, what);
	free(sql);
	return rc;
}

static int create_versioned_table(cairn_pactdb *db, const char *name)
{
	return exec_table_sql(db,
		"CREATE TABLE IF NOT EXISTS [%1$s] (rowkey TEXT, txid UNSIGNED BIGINT NOT NULL,"
		" rowdata BLOB NOT NULL, hash BLOB, UNIQUE (rowkey, txid));"
		"CREATE INDEX IF NOT EXISTS [%1$s_ix] ON [%1$s] (txid DESC);",
		name, "create versioned table");
}

static void free_table(pactdb_table *t)
{
	sqlite3_finalize(t->insert_row);
	sqlite3_finalize(t->read_row);
	free(t->name);
	free(t);
}

void cairn_pactdb__forget_tables(cairn_pactdb *db)
{
	while (db->tables != NULL) {
		pactdb_table *next = db->tables->next;
		free_table(db->tables);
		db->tables = next;
	}
}

static int table_exists(bool *exists, cairn_pactdb *db, const char *name)
{
	sqlite3_stmt *s = db->stmt[STMT_TABLE_EXISTS];
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return cairn_pactdb__sqlite_error(db->conn, rc, "look up table");
	*exists = rc == SQLITE_ROW;
	return CAIRN_OK;
}

static int cache_table(pactdb_table **out, cairn_pactdb *db, const char *name)
{
	pactdb_table *t = calloc(1, sizeof(*t));
	char *insert_sql = cairn_pactdb__table_sql(
		"INSERT OR REPLACE INTO [%1$s] (rowkey, txid, rowdata) VALUES (?1, ?2, ?3)", name);
	char *read_sql = cairn_pactdb__table_sql(
		"SELECT rowdata FROM [%1$s] WHERE rowkey = ?1 ORDER BY txid DESC LIMIT 1", name);
	int rc = t && insert_sql && read_sql && (t->name = strdup(name)) != NULL ? CAIRN_OK
		: cairn_error_set(CAIRN_ENOMEM, "pactdb: out of memory");
	if (rc == CAIRN_OK)
		rc = cairn_pactdb__prepare(db, &t->insert_row, insert_sql);
	if (rc == CAIRN_OK)
		rc = cairn_pactdb__prepare(db, &t->read_row, read_sql);
	free(insert_sql);
	free(read_sql);
	if (rc != CAIRN_OK) {
		if (t != NULL)
			free_table(t);
		return rc;
	}
	t->next = db->tables;
	db->tables = t;
	*out = t;
	return CAIRN_OK;
}

int cairn_pactdb__find_table(pactdb_table **out, cairn_pactdb *db, const char *name,
	const uint64_t *create_at)
{
	for (pactdb_table *t = db->tables; t != NULL; t = t->next)
		if (strcmp(t->name, name) == 0) {
			*out = t;
			return CAIRN_OK;
		}
	bool exists = false;
	int rc = table_exists(&exists, db, name);
	if (rc != CAIRN_OK)
		return rc;
	if (!exists && create_at == NULL)
		return cairn_error_set(CAIRN_ENOTFOUND, "pactdb: no table '%s'", name);
	if (!exists) {
		sqlite3_stmt *s = db->stmt[STMT_MARK_CREATION];
		sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)*create_at);
		rc = create_versioned_table(db, name);
		if (rc == CAIRN_OK)
			rc = cairn_pactdb__run(db, s, "record table creation");
		if (rc != CAIRN_OK)
			return rc;
	}
	return cache_table(out, db, name);
}

int cairn_pactdb__load_last_block(cairn_pactdb *db)
{
	uint64_t endingtxid = 0;
	int rc = cairn_pactdb__last_block(&db->last_height, NULL, &endingtxid, db->stmt[STMT_LAST_BLOCK]);
	if (rc != CAIRN_OK && rc != CAIRN_ENOTFOUND)
		return rc; /* named with the operating system's error */
	db->has_block = rc == CAIRN_OK;
	db->next_txid = endingtxid;
	return CAIRN_OK;
}

int cairn_pactdb__last_block(uint64_t *height, uint8_t *hash, uint64_t *endingtxid,
	sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	int result = CAIRN_OK;
	if (rc == SQLITE_ROW) {
		*height = (uint64_t)sqlite3_column_int64(s, 0);
		if (hash != NULL && sqlite3_column_bytes(s, 1) == CAIRN_PACTDB_HASH_LEN)
			memcpy(hash, sqlite3_column_blob(s, 1), CAIRN_PACTDB_HASH_LEN);
		if (endingtxid != NULL)
			*endingtxid = (uint64_t)sqlite3_column_int64(s, 2);
	} else {
		result = rc == SQLITE_DONE ? CAIRN_ENOTFOUND
			: cairn_pactdb__sqlite_error(sqlite3_db_handle(s), rc, "read last block");
	}
	sqlite3_reset(s);
	return result;
}

/* secure_delete is off: Debian builds SQLite with it on, which overwrites
 * the content a DELETE removes.  Pact state is public chain data, so that
 * protects nothing, and it makes a roll-back (a reorg, or a backup's copy
 * rolled back to the cut) write more: deleting the last 100 MB of 1 KB
 * rows dirtied 206 MB with it and 173 MB without (0.50 s against 0.39 s). */
static int configure(cairn_pactdb *db, const cairn_pactdb_options *opts)
{
	char pragmas[256];
	snprintf(pragmas, sizeof(pragmas),
		"PRAGMA synchronous = %s; PRAGMA wal_autocheckpoint = %d; PRAGMA journal_size_limit = %d; "
		"PRAGMA secure_delete = OFF;",
		opts->synchronous_full ? "FULL" : "NORMAL", opts->wal_autocheckpoint_pages, JOURNAL_SIZE_LIMIT);
	sqlite3_busy_timeout(db->conn, BUSY_TIMEOUT_MS);
	int rc = opts->read_only ? CAIRN_OK : cairn_pactdb__exec(db, "PRAGMA journal_mode = WAL", "enable WAL mode");
	if (rc == CAIRN_OK)
		rc = cairn_pactdb__exec(db, pragmas, "configure");
	return rc;
}

static int create_schema(cairn_pactdb *db)
{
	int rc = cairn_pactdb__exec(db, "BEGIN IMMEDIATE", "begin schema");
	if (rc == CAIRN_OK)
		rc = cairn_pactdb__exec(db, schema_sql, "create schema");
	for (size_t i = 0; rc == CAIRN_OK && i < sizeof(system_tables) / sizeof(system_tables[0]); i++)
		rc = create_versioned_table(db, system_tables[i]);
	if (rc == CAIRN_OK)
		return cairn_pactdb__exec(db, "COMMIT", "commit schema");
	sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* Checks the file is in WAL mode (a read-only handle cannot switch it). */
static int require_wal(cairn_pactdb *db)
{
	sqlite3_stmt *s;
	int rc = cairn_pactdb__prepare(db, &s, "PRAGMA journal_mode");
	if (rc != CAIRN_OK)
		return rc;
	bool wal = sqlite3_step(s) == SQLITE_ROW
		&& strcmp((const char *)sqlite3_column_text(s, 0), "wal") == 0;
	sqlite3_finalize(s);
	return wal ? CAIRN_OK : cairn_error_set(CAIRN_EINVALID, "pactdb: '%s' is not in WAL mode", db->path);
}

static int open_descriptors(cairn_pactdb *db)
{
	char wal[PATH_MAX];
	if (snprintf(wal, sizeof(wal), "%s-wal", db->path) >= (int)sizeof(wal))
		return cairn_error_set(CAIRN_EINVALID, "pactdb: path too long: '%s'", db->path);
	db->db_fd = open(db->path, O_RDONLY | O_CLOEXEC);
	if (db->db_fd < 0)
		return cairn_error_set_errno(CAIRN_EIO, errno, "pactdb: cannot open '%s'", db->path);
	db->wal_fd = open(wal, O_RDONLY | O_CLOEXEC);
	if (db->wal_fd < 0)
		return cairn_error_set_errno(CAIRN_EIO, errno, "pactdb: cannot open '%s'", wal);
	return CAIRN_OK;
}

static int prepare_location(const char *path, const cairn_pactdb_options *opts)
{
	if (opts->read_only || !opts->create_if_missing) {
		return cairn_fs_exists(path) ? CAIRN_OK
			: cairn_error_set(CAIRN_ENOTFOUND, "no Pact database at '%s'", path);
	}
	char dir[PATH_MAX];
	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return cairn_error_set(CAIRN_EINVALID, "pactdb: path too long: '%s'", path);
	char *slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return CAIRN_OK;
	*slash = '\0';
	return cairn_fs_mkdir_p(dir);
}

int cairn_pactdb__open_aux(sqlite3 **out, const cairn_pactdb *db, bool read_only)
{
	sqlite3 *conn = NULL;
	int flags = SQLITE_OPEN_FULLMUTEX | (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE);
	int rc = sqlite3_open_v2(db->path, &conn, flags, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(conn, BUSY_TIMEOUT_MS);
		rc = sqlite3_exec(conn, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
	}
	if (rc != SQLITE_OK) {
		int err = cairn_pactdb__sqlite_error(conn, rc, "open connection");
		sqlite3_close(conn);
		return err;
	}
	*out = conn;
	return CAIRN_OK;
}

static int open_connection(cairn_pactdb *db, const cairn_pactdb_options *opts)
{
	int flags = SQLITE_OPEN_NOMUTEX | (opts->read_only ? SQLITE_OPEN_READONLY
		: SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	int rc = sqlite3_open_v2(db->path, &db->conn, flags, NULL);
	if (rc != SQLITE_OK)
		return cairn_pactdb__sqlite_error(db->conn, rc, "open");
	rc = configure(db, opts);
	if (rc == CAIRN_OK && !opts->read_only)
		rc = create_schema(db);
	for (int i = 0; rc == CAIRN_OK && i < STMT_COUNT; i++)
		rc = cairn_pactdb__prepare(db, &db->stmt[i], stmt_sql[i]);
	if (rc == CAIRN_OK)
		rc = require_wal(db);
	if (rc == CAIRN_OK)
		rc = cairn_pactdb__load_last_block(db);
	if (rc == CAIRN_OK && !opts->read_only)
		rc = open_descriptors(db);
	if (rc == CAIRN_OK && !opts->read_only)
		rc = cairn_pactdb__open_aux(&db->snapshot_conn, db, true);
	return rc;
}

int cairn_pactdb_open(cairn_pactdb **out, const char *path, const cairn_pactdb_options *opts)
{
	if (opts->wal_autocheckpoint_pages < 1) /* 0 would let the WAL grow without bound */
		return cairn_error_set(CAIRN_EINVALID, "pactdb: wal_autocheckpoint_pages must be positive");
	if (opts->group_blocks < 1)
		return cairn_error_set(CAIRN_EINVALID, "pactdb: group_blocks must be positive");
	int rc = prepare_location(path, opts);
	if (rc != CAIRN_OK)
		return rc;
	cairn_pactdb *db = calloc(1, sizeof(*db));
	if (db == NULL || (db->path = strdup(path)) == NULL) {
		free(db);
		return cairn_error_set(CAIRN_ENOMEM, "pactdb: out of memory");
	}
	pthread_mutex_init(&db->lock, NULL);
	pthread_mutex_init(&db->checkpoint_lock, NULL);
	db->db_fd = db->wal_fd = -1;
	db->read_only = opts->read_only;
	db->group_limit = opts->group_blocks;
	db->autocheckpoint_pages = opts->wal_autocheckpoint_pages;
	rc = open_connection(db, opts);
	if (rc != CAIRN_OK) {
		cairn_error_prefix(rc, "cannot open Pact database '%s'", path);
		cairn_pactdb_close(db);
		return rc;
	}
	*out = db;
	return CAIRN_OK;
}

void cairn_pactdb_close(cairn_pactdb *db)
{
	if (db == NULL)
		return;
	if (db->snapshots > 0)
		cairn_log_error("pactdb", "closing '%s' with %d live snapshots", db->path, db->snapshots);
	if (db->conn != NULL && cairn_pactdb__commit_group(db) != CAIRN_OK)
		cairn_log_error("pactdb", "closing: %s", cairn_error_last());
	cairn_pactdb__forget_tables(db);
	for (int i = 0; i < STMT_COUNT; i++)
		sqlite3_finalize(db->stmt[i]);
	sqlite3_close(db->snapshot_conn);
	sqlite3_close(db->checkpoint_conn);
	sqlite3_close(db->conn); /* the last: it checkpoints and removes the WAL */
	if (db->db_fd >= 0)
		close(db->db_fd);
	if (db->wal_fd >= 0)
		close(db->wal_fd);
	pthread_mutex_destroy(&db->lock);
	pthread_mutex_destroy(&db->checkpoint_lock);
	free(db->path);
	free(db);
}

static int read_row_locked(char **out, size_t *out_len, cairn_pactdb *db, const char *table,
	const char *rowkey)
{
	pactdb_table *t;
	int rc = cairn_pactdb__find_table(&t, db, table, NULL);
	if (rc != CAIRN_OK)
		return rc;
	sqlite3_bind_text(t->read_row, 1, rowkey, -1, SQLITE_STATIC);
	int step = sqlite3_step(t->read_row);
	if (step == SQLITE_ROW) {
		size_t len = (size_t)sqlite3_column_bytes(t->read_row, 0);
		char *copy = malloc(len + 1);
		if (copy == NULL) {
			rc = cairn_error_set(CAIRN_ENOMEM, "pactdb: out of memory");
		} else {
			memcpy(copy, sqlite3_column_blob(t->read_row, 0), len);
			copy[len] = '\0';
			*out = copy;
			if (out_len != NULL)
				*out_len = len;
		}
	} else {
		rc = step == SQLITE_DONE ? cairn_error_set(CAIRN_ENOTFOUND, "pactdb: no row '%s' in '%s'", rowkey, table)
			: cairn_pactdb__sqlite_error(db->conn, step, "read row");
	}
	sqlite3_reset(t->read_row);
	return rc;
}

int cairn_pactdb_read_row(char **out, size_t *out_len, cairn_pactdb *db, const char *table,
	const char *rowkey)
{
	if (!cairn_pactdb__valid_table_name(table))
		return cairn_error_set(CAIRN_EINVALID, "pactdb: invalid table name '%s'", table);
	pthread_mutex_lock(&db->lock);
	int rc = read_row_locked(out, out_len, db, table, rowkey);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

uint64_t cairn_pactdb_file_bytes(cairn_pactdb *db)
{
	struct stat st;
	uint64_t bytes = 0;
	if (db->db_fd >= 0 && fstat(db->db_fd, &st) == 0)
		bytes += (uint64_t)st.st_size;
	if (db->wal_fd >= 0 && fstat(db->wal_fd, &st) == 0)
		bytes += (uint64_t)st.st_size;
	return bytes;
}

int cairn_pactdb_last_block(uint64_t *out_height, uint8_t *out_hash, uint64_t *out_endingtxid,
	cairn_pactdb *db)
{
	pthread_mutex_lock(&db->lock);
	int rc = cairn_pactdb__last_block(out_height, out_hash, out_endingtxid, db->stmt[STMT_LAST_BLOCK]);
	pthread_mutex_unlock(&db->lock);
	if (rc == CAIRN_ENOTFOUND)
		cairn_error_set(rc, "pactdb: '%s' has no blocks", db->path);
	return rc;
}

/* Steps a statement bound to one key and returns its first row's first
 * column: a hash (into out_hash) or an integer (into out_int). */
static int lookup_locked(uint8_t *out_hash, uint64_t *out_int, cairn_pactdb *db, sqlite3_stmt *s,
	const char *what)
{
	int step = sqlite3_step(s);
	int rc = CAIRN_OK;
	if (step == SQLITE_ROW && out_hash != NULL && sqlite3_column_bytes(s, 0) == CAIRN_PACTDB_HASH_LEN)
		memcpy(out_hash, sqlite3_column_blob(s, 0), CAIRN_PACTDB_HASH_LEN);
	else if (step == SQLITE_ROW && out_int != NULL)
		*out_int = (uint64_t)sqlite3_column_int64(s, 0);
	else if (step == SQLITE_ROW || step == SQLITE_DONE)
		rc = cairn_error_set(step == SQLITE_DONE ? CAIRN_ENOTFOUND : CAIRN_EIO, "pactdb: %s: %s", what,
			step == SQLITE_DONE ? "not found" : "malformed row");
	else
		rc = cairn_pactdb__sqlite_error(db->conn, step, what);
	sqlite3_reset(s);
	return rc;
}

int cairn_pactdb_block_hash_at(uint8_t *out_hash, cairn_pactdb *db, uint64_t height)
{
	pthread_mutex_lock(&db->lock);
	sqlite3_stmt *s = db->stmt[STMT_BLOCK_AT];
	sqlite3_bind_int64(s, 1, (sqlite3_int64)height);
	int rc = lookup_locked(out_hash, NULL, db, s, "block hash");
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int cairn_pactdb_tx_height(uint64_t *out_height, cairn_pactdb *db, const uint8_t *tx_hash)
{
	pthread_mutex_lock(&db->lock);
	sqlite3_stmt *s = db->stmt[STMT_TX_HEIGHT];
	sqlite3_bind_blob(s, 1, tx_hash, CAIRN_PACTDB_HASH_LEN, SQLITE_STATIC);
	int rc = lookup_locked(NULL, out_height, db, s, "transaction height");
	pthread_mutex_unlock(&db->lock);
	return rc;
}

/* One checkpoint step on the checkpoint connection.  PASSIVE passes copy
 * WAL frames into the file without blocking anyone, repeated while they
 * gain on the writer.  The WAL restarts only when a writer starts while
 * every frame is copied, which a writer that never pauses never sees; so
 * when the WAL is long and the passes left a short tail, RESTART folds the
 * tail and restarts it.  RESTART takes the writer lock and the connection
 * has no busy timeout, so it never waits for the writer or for a snapshot's
 * readers.  It runs under the handle's mutex, taken only if free: then it
 * never holds up apply_block in this process, and it cannot reset the
 * WAL-index while snapshot_begin reads it (pactdb_snapshot.c).  Not while
 * a snapshot lives: its reader holds the WAL, so RESTART would end BUSY
 * after folding the tail and fsyncing the file with the writer lock held,
 * stalling apply_block for nothing (40-70 ms seen in bench/backup). */
static int checkpoint_step(int *wal_frames, cairn_pactdb *db)
{
	sqlite3 *conn = db->checkpoint_conn;
	int log = 0, done = 0, rc = SQLITE_OK;
	for (int pass = 0; pass < PASSIVE_PASSES; pass++) {
		rc = sqlite3_wal_checkpoint_v2(conn, "main", SQLITE_CHECKPOINT_PASSIVE, &log, &done);
		if (rc != SQLITE_OK || log - done <= TAIL_FRAMES)
			break;
	}
	bool restart = rc == SQLITE_OK && log >= RESTART_FRAMES && log - done <= TAIL_FRAMES;
	bool lower = rc == SQLITE_OK && atomic_load(&db->valve_raised) && log < db->autocheckpoint_pages;
	if ((restart || lower) && pthread_mutex_trylock(&db->lock) == 0) {
		if (restart && db->snapshots == 0 &&
		    (rc = sqlite3_wal_checkpoint_v2(conn, "main", SQLITE_CHECKPOINT_RESTART, NULL, NULL)) == SQLITE_OK)
			log = 0;
		if (rc == SQLITE_OK && db->snapshots == 0 && log < db->autocheckpoint_pages)
			cairn_pactdb__set_valve(db, log);
		pthread_mutex_unlock(&db->lock);
	}
	*wal_frames = log;
	return rc == SQLITE_BUSY ? SQLITE_OK : rc;
}

void cairn_pactdb__set_valve(cairn_pactdb *db, int wal_frames)
{
	bool raise = wal_frames >= db->autocheckpoint_pages;
	sqlite3_wal_autocheckpoint(db->conn, raise ? wal_frames + db->autocheckpoint_pages : db->autocheckpoint_pages);
	atomic_store(&db->valve_raised, raise);
}

int cairn_pactdb__checkpoint(cairn_pactdb *db, bool wait, int *wal_frames)
{
	int frames = 0;
	if (wal_frames == NULL)
		wal_frames = &frames;
	if (db->read_only)
		return cairn_error_set(CAIRN_EINVALID, "pactdb: '%s' is open read-only", db->path);
	if (!wait && pthread_mutex_trylock(&db->checkpoint_lock) != 0)
		return CAIRN_OK;
	if (wait)
		pthread_mutex_lock(&db->checkpoint_lock);
	int rc = CAIRN_OK;
	if (db->checkpoint_conn == NULL) {
		rc = cairn_pactdb__open_aux(&db->checkpoint_conn, db, false);
		if (rc == CAIRN_OK)
			sqlite3_busy_timeout(db->checkpoint_conn, 0);
	}
	if (rc == CAIRN_OK) {
		int step = checkpoint_step(wal_frames, db);
		if (step != SQLITE_OK)
			rc = cairn_pactdb__sqlite_error(db->checkpoint_conn, step, "checkpoint");
	}
	pthread_mutex_unlock(&db->checkpoint_lock);
	return rc;
}

int cairn_pactdb_checkpoint(cairn_pactdb *db)
{
	return cairn_pactdb__checkpoint(db, false, NULL);
}
