/*
 * pactdb_write.c: the write side of PactDB (pactdb.h): blocks applied in
 * groups, commits, and roll-backs.  The handle, its statements and its
 * table cache are pactdb.c's (pactdb_internal.h).  apply_block, commit and
 * rollback_above hold the handle's mutex throughout; close commits an open
 * group once no other thread uses the handle.
 *
 * A block is checked whole before anything is written (its height follows
 * the last block, every write names a table a block may write), then each
 * transaction's writes get the txid next_txid + its index in the block;
 * BlockHistory's endingtxid is the first txid after the block.  A table's
 * first write at a height records a VersionedTableMutation row, a table
 * that does not exist yet is created and its VersionedTableCreation row
 * written (pactdb.c, "Invariants").
 *
 * Groups: with group_blocks > 1, apply_block leaves its transaction open
 * so that the next blocks join it, and commits once it holds group_blocks
 * blocks; cairn_pactdb_commit commits it earlier, and rollback_above and
 * close commit an open group first.  A block rewrites mostly the same
 * B-tree pages as the one before (the right edges of BlockHistory,
 * TransactionIndex and the versioned tables, and the accounts it touches),
 * so a group writes each page to the WAL once instead of once per block.
 * The handle's own reads see every applied block; other connections, and
 * snapshots, see committed groups only.  A failing block rolls back its
 * whole group, and the handle then stands at the last committed block: the
 * caller must treat the failure as losing the group (the node stops
 * committing and rebuilds at restart, as for any Pact failure).
 * Durability does not change: a commit was never fsynced (NORMAL), so a
 * group is no weaker than its blocks.
 *
 * Roll-back: rollback_above(h) runs in a transaction of its own (after
 * committing an open group) and is exact by the invariants: drop the tables
 * created above h, delete the rows with txid >= endingtxid(h) from the
 * tables mutated above h, and delete the bookkeeping above h.  The table
 * cache is dropped afterwards, since it may name dropped tables.
 *
 * A failed commit of a group is recorded once in the handle (`failure`,
 * then the atomic `failed`, so cairn_pactdb_failure reads it without the
 * mutex): the file then lacks blocks the caller took for applied, and the
 * node must stop committing (pactdb.h).
 */
#include "store/pactdb_internal.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

static int check_block(const cairn_pactdb *db, const cairn_pactdb_block *b)
{
	if (db->read_only)
		return cairn_error_set(CAIRN_EINVALID, "pactdb: '%s' is open read-only", db->path);
	if (b->hash == NULL)
		return cairn_error_set(CAIRN_EINVALID, "pactdb: block without hash");
	if (db->has_block && b->height != db->last_height + 1)
		return cairn_error_set(CAIRN_EINVALID, "pactdb: block at height %llu does not follow %llu",
			(unsigned long long)b->height, (unsigned long long)db->last_height);
	for (size_t i = 0; i < b->ntxs; i++)
		for (size_t j = 0; j < b->txs[i].nwrites; j++) {
			const cairn_pactdb_write *w = &b->txs[i].writes[j];
			if (w->table == NULL || !cairn_pactdb__valid_table_name(w->table) || w->rowkey == NULL
			    || w->rowdata == NULL || w->rowdata_len > INT_MAX)
				return cairn_error_set(CAIRN_EINVALID, "pactdb: invalid write %zu of transaction %zu (table '%s')",
					j, i, w->table ? w->table : "(null)");
		}
	return CAIRN_OK;
}

static int insert_row(cairn_pactdb *db, const cairn_pactdb_write *w, uint64_t txid, uint64_t height)
{
	pactdb_table *t;
	int rc = cairn_pactdb__find_table(&t, db, w->table, &height);
	if (rc != CAIRN_OK)
		return rc;
	if (!t->mutation_marked) {
		sqlite3_stmt *m = db->stmt[STMT_MARK_MUTATION];
		sqlite3_bind_text(m, 1, t->name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(m, 2, (sqlite3_int64)height);
		rc = cairn_pactdb__run(db, m, "record table mutation");
		if (rc != CAIRN_OK)
			return rc;
		t->mutation_marked = true;
	}
	sqlite3_bind_text(t->insert_row, 1, w->rowkey, -1, SQLITE_STATIC);
	sqlite3_bind_int64(t->insert_row, 2, (sqlite3_int64)txid);
	sqlite3_bind_blob(t->insert_row, 3, w->rowdata, (int)w->rowdata_len, SQLITE_STATIC);
	return cairn_pactdb__run(db, t->insert_row, "insert row");
}

static int index_tx(cairn_pactdb *db, const uint8_t *hash, uint64_t height)
{
	sqlite3_stmt *s = db->stmt[STMT_INSERT_TX];
	sqlite3_bind_blob(s, 1, hash, CAIRN_PACTDB_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)height);
	return cairn_pactdb__run(db, s, "index transaction");
}

static int write_block(cairn_pactdb *db, const cairn_pactdb_block *b)
{
	for (pactdb_table *t = db->tables; t != NULL; t = t->next)
		t->mutation_marked = false;
	int rc = CAIRN_OK;
	for (size_t i = 0; rc == CAIRN_OK && i < b->ntxs; i++) {
		const cairn_pactdb_tx *tx = &b->txs[i];
		if (tx->hash != NULL)
			rc = index_tx(db, tx->hash, b->height);
		for (size_t j = 0; rc == CAIRN_OK && j < tx->nwrites; j++)
			rc = insert_row(db, &tx->writes[j], db->next_txid + i, b->height);
	}
	if (rc != CAIRN_OK)
		return rc;
	sqlite3_stmt *s = db->stmt[STMT_INSERT_BLOCK];
	sqlite3_bind_int64(s, 1, (sqlite3_int64)b->height);
	sqlite3_bind_blob(s, 2, b->hash, CAIRN_PACTDB_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)(db->next_txid + b->ntxs));
	return cairn_pactdb__run(db, s, "insert block history");
}

static bool group_open(const cairn_pactdb *db)
{
	return !sqlite3_get_autocommit(db->conn);
}

/* Rolls the open transaction back; the handle then stands at the last
 * committed block.  The statement cache may name tables the rollback
 * removed. */
static void abort_group(cairn_pactdb *db)
{
	if (group_open(db))
		sqlite3_step(db->stmt[STMT_ROLLBACK]);
	sqlite3_reset(db->stmt[STMT_ROLLBACK]);
	cairn_pactdb__forget_tables(db);
	db->group_size = 0;
	if (cairn_pactdb__load_last_block(db) != CAIRN_OK)
		cairn_log_error("pactdb", "'%s': cannot read the last block after a rollback", db->path);
}

int cairn_pactdb__commit_group(cairn_pactdb *db)
{
	if (!group_open(db))
		return CAIRN_OK;
	int rc = cairn_pactdb__run(db, db->stmt[STMT_COMMIT], "commit");
	if (rc != CAIRN_OK) {
		if (!atomic_load(&db->failed)) {
			snprintf(db->failure, sizeof(db->failure), "'%s': %u applied blocks lost: %s", db->path,
				db->group_size, cairn_error_last());
			atomic_store(&db->failed, true);
		}
		abort_group(db);
	}
	db->group_size = 0;
	return rc;
}

static int open_group(cairn_pactdb *db)
{
	if (group_open(db))
		return CAIRN_OK;
	db->group_opened = cairn_clock_now();
	return cairn_pactdb__run(db, db->stmt[STMT_BEGIN], "begin");
}

/* Runs `body` in a transaction of its own (after committing an open group). */
static int in_transaction(cairn_pactdb *db, int (*body)(cairn_pactdb *, const void *), const void *arg)
{
	int rc = cairn_pactdb__commit_group(db);
	if (rc == CAIRN_OK)
		rc = open_group(db);
	if (rc == CAIRN_OK && (rc = body(db, arg)) != CAIRN_OK)
		abort_group(db);
	return rc == CAIRN_OK ? cairn_pactdb__commit_group(db) : rc;
}

/* Writes a checked block into the open group (opening one if needed). */
static int add_to_group(cairn_pactdb *db, const cairn_pactdb_block *block)
{
	int rc = open_group(db);
	if (rc == CAIRN_OK)
		rc = write_block(db, block);
	if (rc != CAIRN_OK) {
		abort_group(db);
		return rc;
	}
	db->has_block = true;
	db->last_height = block->height;
	db->next_txid += block->ntxs;
	return ++db->group_size >= db->group_limit ? cairn_pactdb__commit_group(db) : CAIRN_OK;
}

int cairn_pactdb_apply_block(cairn_pactdb *db, const cairn_pactdb_block *block)
{
	pthread_mutex_lock(&db->lock);
	int rc = check_block(db, block);
	if (rc == CAIRN_OK)
		rc = add_to_group(db, block);
	pthread_mutex_unlock(&db->lock);
	if (rc != CAIRN_OK)
		cairn_error_prefix(rc, "apply block %llu to '%s'", (unsigned long long)block->height, db->path);
	return rc;
}

const char *cairn_pactdb_failure(cairn_pactdb *db)
{
	return atomic_load(&db->failed) ? db->failure : NULL;
}

int cairn_pactdb_commit(cairn_pactdb *db, double min_age_seconds)
{
	pthread_mutex_lock(&db->lock);
	int rc = CAIRN_OK;
	if (group_open(db) && cairn_clock_now() - db->group_opened >= min_age_seconds)
		rc = cairn_pactdb__commit_group(db);
	pthread_mutex_unlock(&db->lock);
	if (rc != CAIRN_OK)
		cairn_error_prefix(rc, "commit blocks to '%s'", db->path);
	return rc;
}

/* The first txid written above `height`: endingtxid(height), or 0 when the
 * height is below the first block. */
static int txid_above(uint64_t *out, cairn_pactdb *db, uint64_t height)
{
	sqlite3_stmt *s = db->stmt[STMT_BLOCK_AT];
	sqlite3_bind_int64(s, 1, (sqlite3_int64)height);
	int step = sqlite3_step(s);
	*out = step == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(s, 1) : 0;
	sqlite3_reset(s);
	return step == SQLITE_ROW || step == SQLITE_DONE ? CAIRN_OK
		: cairn_pactdb__sqlite_error(db->conn, step, "read endingtxid");
}

/* The table names returned by `select_sql` bound to `height`, collected
 * first because SQLite refuses to drop a table while a statement reads. */
static int list_tables(char ***out, size_t *count, cairn_pactdb *db, const char *select_sql,
	uint64_t height)
{
	*out = NULL;
	*count = 0;
	sqlite3_stmt *sel;
	int rc = cairn_pactdb__prepare(db, &sel, select_sql);
	if (rc != CAIRN_OK)
		return rc;
	sqlite3_bind_int64(sel, 1, (sqlite3_int64)height);
	char **names = NULL;
	size_t n = 0;
	int step;
	while (rc == CAIRN_OK && (step = sqlite3_step(sel)) == SQLITE_ROW) {
		char **grown = realloc(names, (n + 1) * sizeof(*names));
		char *name = strdup((const char *)sqlite3_column_text(sel, 0));
		if (grown != NULL)
			names = grown;
		if (grown == NULL || name == NULL) {
			free(name);
			rc = cairn_error_set(CAIRN_ENOMEM, "pactdb: out of memory");
		} else {
			names[n++] = name;
		}
	}
	if (rc == CAIRN_OK && step != SQLITE_DONE)
		rc = cairn_pactdb__sqlite_error(db->conn, step, "list tables");
	sqlite3_finalize(sel);
	*out = names;
	*count = n;
	return rc;
}

/* Runs `fmt` (SQL naming a table as %1$s, with at most one parameter, bound
 * to `txid`) on every table `select_sql` lists for `height`. */
static int for_each_table(cairn_pactdb *db, const char *select_sql, uint64_t height,
	const char *fmt, uint64_t txid)
{
	char **names;
	size_t n;
	int rc = list_tables(&names, &n, db, select_sql, height);
	for (size_t i = 0; i < n; i++) {
		char *sql = rc == CAIRN_OK ? cairn_pactdb__table_sql(fmt, names[i]) : NULL;
		sqlite3_stmt *s = NULL;
		if (rc == CAIRN_OK)
			rc = sql == NULL ? cairn_error_set(CAIRN_ENOMEM, "pactdb: out of memory")
				: cairn_pactdb__prepare(db, &s, sql);
		if (rc == CAIRN_OK && sqlite3_bind_parameter_count(s) > 0)
			sqlite3_bind_int64(s, 1, (sqlite3_int64)txid);
		if (rc == CAIRN_OK)
			rc = cairn_pactdb__run(db, s, "roll back table");
		sqlite3_finalize(s);
		free(sql);
		free(names[i]);
	}
	free(names);
	return rc;
}

static int rollback_body(cairn_pactdb *db, const void *arg)
{
	uint64_t height = *(const uint64_t *)arg, txid;
	int rc = txid_above(&txid, db, height);
	if (rc == CAIRN_OK)
		rc = for_each_table(db, "SELECT tablename FROM VersionedTableCreation WHERE createBlockheight > ?1",
			height, "DROP TABLE IF EXISTS [%1$s]", 0);
	if (rc == CAIRN_OK)
		rc = for_each_table(db, "SELECT DISTINCT tablename FROM VersionedTableMutation WHERE blockheight > ?1"
			" AND tablename NOT IN (SELECT tablename FROM VersionedTableCreation WHERE createBlockheight > ?1)",
			height, "DELETE FROM [%1$s] WHERE txid >= ?1", txid);
	char sql[512];
	snprintf(sql, sizeof(sql),
		"DELETE FROM VersionedTableCreation WHERE createBlockheight > %1$llu;"
		"DELETE FROM VersionedTableMutation WHERE blockheight > %1$llu;"
		"DELETE FROM TransactionIndex WHERE blockheight > %1$llu;"
		"DELETE FROM BlockHistory WHERE blockheight > %1$llu;", (unsigned long long)height);
	if (rc == CAIRN_OK)
		rc = cairn_pactdb__exec(db, sql, "delete history");
	return rc;
}

int cairn_pactdb_rollback_above(cairn_pactdb *db, uint64_t height)
{
	if (height > INT64_MAX)
		return cairn_error_set(CAIRN_EINVALID, "pactdb: height %llu out of range", (unsigned long long)height);
	pthread_mutex_lock(&db->lock);
	int rc = CAIRN_OK;
	if (db->read_only)
		rc = cairn_error_set(CAIRN_EINVALID, "pactdb: '%s' is open read-only", db->path);
	else if (db->has_block && height < db->last_height)
		rc = in_transaction(db, rollback_body, &height);
	if (rc == CAIRN_OK) {
		cairn_pactdb__forget_tables(db);
		rc = cairn_pactdb__load_last_block(db);
	}
	pthread_mutex_unlock(&db->lock);
	if (rc == CAIRN_OK)
		cairn_log_info("pactdb", "'%s' rolled back above height %llu", db->path, (unsigned long long)height);
	return rc;
}
