/* Unit tests for backup jobs (src/backup/job.c) on real stores while a
 * producer commits blocks: a finished backup holds exactly one cut in every
 * store, its manifest lists every file with the right size and checksum,
 * a Pact state ahead of the checkpoint is rolled back to its cut, and
 * failures (no store, a Pact state behind the cut, a full file system, a
 * stop request) end as backup-failed with a reason and no data left. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "backup_fixture.h"
#include "backup/files.h"
#include "util/base64url.h"

static json_object *read_manifest(const test_node *n, const char *id)
{
	char path[PATH_MAX];
	json_object *m = json_object_from_file(fixture_backup_path(path, n, id, "manifest.json"));
	if (m == NULL)
		fail_msg("cannot parse %s", path);
	return m;
}

static json_object *member(json_object *obj, const char *key)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(obj, key, &v))
		fail_msg("manifest has no '%s'", key);
	return v;
}

/* Every listed file exists with its size; files with a checksum have it. */
static void expect_files_as_listed(const test_node *n, const char *id, json_object *manifest,
	int *linked, int *hashed)
{
	json_object *files = member(manifest, "files");
	*linked = *hashed = 0;
	for (size_t i = 0; i < json_object_array_length(files); i++) {
		json_object *f = json_object_array_get_idx(files, i);
		char path[PATH_MAX];
		fixture_backup_path(path, n, id, json_object_get_string(member(f, "path")));
		struct stat st;
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal((uint64_t)st.st_size, json_object_get_uint64(member(f, "size")));
		json_object *sha = NULL;
		if (json_object_object_get_ex(f, "sha256", &sha)) {
			cairn_backup_file_digest d;
			assert_int_equal(cairn_backup__hash_file(&d, path, false), CAIRN_OK);
			assert_string_equal(d.sha256, json_object_get_string(sha));
			(*hashed)++;
		} else {
			assert_true(json_object_get_boolean(member(f, "linked")));
			assert_non_null(strstr(path, ".sst"));
			(*linked)++;
		}
	}
}

/* The checkpoint opens and its cut is the manifest's. */
static cairn_chaindb_cut expect_checkpoint_cut(const test_node *n, const char *id, json_object *manifest)
{
	char root[PATH_MAX], path[PATH_MAX];
	fixture_join(root, n->backup_dir, id);
	assert_int_equal(cairn_chaindb_path(path, sizeof(path), root), CAIRN_OK);
	cairn_chaindb_options opts = CAIRN_CHAINDB_OPTIONS_INIT;
	opts.read_only = true;
	opts.create_if_missing = false;
	cairn_chaindb *db = NULL;
	if (cairn_chaindb_open(&db, path, &opts) != CAIRN_OK)
		fail_msg("checkpoint: %s", cairn_error_last());
	cairn_chaindb_cut cut;
	assert_int_equal(cairn_chaindb_get_cut(&cut, db), CAIRN_OK);
	cairn_chaindb_close(db);
	json_object *hashes = member(member(manifest, "cut"), "hashes");
	for (uint32_t c = 0; c < FIXTURE_CHAINS; c++) {
		char chain[8], hash[64];
		snprintf(chain, sizeof(chain), "%u", c);
		json_object *entry = member(hashes, chain);
		assert_true(cut.present[c]);
		assert_int_equal(cut.height[c], json_object_get_uint64(member(entry, "height")));
		cairn_base64url_encode(hash, cut.hash[c], 32);
		assert_string_equal(hash, json_object_get_string(member(entry, "hash")));
	}
	return cut;
}

static char *query(sqlite3 *conn, const char *sql)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(conn, sql, -1, &s, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(conn));
	char *v = sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL
		? strdup((const char *)sqlite3_column_text(s, 0)) : strdup("");
	sqlite3_finalize(s);
	return v;
}

/* Every Pact copy is intact and ends exactly at the cut's block. */
static void expect_pact_at_cut(const test_node *n, const char *id, const cairn_chaindb_cut *cut)
{
	for (uint32_t c = 0; c < FIXTURE_CHAINS; c++) {
		char root[PATH_MAX], path[PATH_MAX], expect[32];
		fixture_join(root, n->backup_dir, id);
		assert_int_equal(cairn_pactdb_path(path, sizeof(path), root, c), CAIRN_OK);
		sqlite3 *conn;
		assert_int_equal(sqlite3_open_v2(path, &conn, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
		char *check = query(conn, "PRAGMA integrity_check");
		assert_string_equal(check, "ok");
		free(check);
		char *height = query(conn, "SELECT max(blockheight) FROM BlockHistory");
		snprintf(expect, sizeof(expect), "%llu", (unsigned long long)cut->height[c]);
		assert_string_equal(height, expect);
		free(height);
		sqlite3_stmt *s;
		assert_int_equal(sqlite3_prepare_v2(conn, "SELECT hash FROM BlockHistory ORDER BY blockheight DESC LIMIT 1",
			-1, &s, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(s), SQLITE_ROW);
		assert_int_equal(sqlite3_column_bytes(s, 0), 32);
		assert_memory_equal(sqlite3_column_blob(s, 0), cut->hash[c], 32);
		sqlite3_finalize(s);
		sqlite3_close(conn);
	}
}

static void expect_status(const test_node *n, const char *id, const char *status)
{
	char path[PATH_MAX];
	char *text = fixture_read_text(fixture_backup_path(path, n, id, "status"));
	char expect[64];
	snprintf(expect, sizeof(expect), "%s\n", status);
	assert_string_equal(text, expect);
	free(text);
}

/* A failed job: status, a reason containing `reason`, and nothing else. */
static void expect_failed(const test_node *n, const char *id, const char *reason)
{
	char path[PATH_MAX];
	expect_status(n, id, "backup-failed");
	char *text = fixture_read_text(fixture_backup_path(path, n, id, "failure"));
	if (strstr(text, reason) == NULL)
		fail_msg("failure '%s' does not say '%s'", text, reason);
	free(text);
	assert_false(cairn_fs_exists(fixture_backup_path(path, n, id, "0")));
	assert_false(cairn_fs_exists(fixture_backup_path(path, n, id, "manifest.json")));
}

static void test_backup_without_pact_while_producing(void **state)
{
	test_node n;
	fixture_open(&n, state, 50);
	cairn_backup_manager *m = fixture_manager(&n, 0);
	fixture_start_producer(&n);
	char id[CAIRN_BACKUP_ID_MAX + 1];
	assert_int_equal(fixture_backup(id, m, false), CAIRN_BACKUP_DONE);
	assert_int_equal(fixture_stop_producer(&n), 0);
	expect_status(&n, id, "backup-done");
	json_object *manifest = read_manifest(&n, id);
	assert_false(json_object_get_boolean(member(manifest, "pactIncluded")));
	assert_string_equal(json_object_get_string(member(manifest, "id")), id);
	assert_string_equal(json_object_get_string(member(member(manifest, "versions"), "rocksdb")), "7.8.3");
	int linked, hashed;
	expect_files_as_listed(&n, id, manifest, &linked, &hashed);
	assert_true(linked > 0); /* the flush before the lock made a table file */
	assert_true(hashed >= 3); /* CURRENT, MANIFEST, OPTIONS at least */
	expect_checkpoint_cut(&n, id, manifest);
	char path[PATH_MAX];
	assert_false(cairn_fs_exists(fixture_backup_path(path, &n, id, "0/sqlite")));
	json_object_put(manifest);
	cairn_backup_manager_close(m);
	fixture_close(&n);
}

static void test_backup_with_pact_while_producing(void **state)
{
	test_node n;
	fixture_open(&n, state, 300);
	cairn_backup_manager *m = fixture_manager(&n, 2);
	fixture_start_producer(&n);
	for (int round = 0; round < 3; round++) {
		char id[CAIRN_BACKUP_ID_MAX + 1];
		assert_int_equal(fixture_backup(id, m, true), CAIRN_BACKUP_DONE);
		json_object *manifest = read_manifest(&n, id);
		assert_true(json_object_get_boolean(member(manifest, "pactIncluded")));
		int linked, hashed;
		expect_files_as_listed(&n, id, manifest, &linked, &hashed);
		assert_true(hashed >= 3 + FIXTURE_CHAINS);
		cairn_chaindb_cut cut = expect_checkpoint_cut(&n, id, manifest);
		expect_pact_at_cut(&n, id, &cut);
		json_object_put(manifest);
	}
	assert_int_equal(fixture_stop_producer(&n), 0);
	cairn_backup_manager_close(m);
	fixture_close(&n);
}

/* Opens the stores with the backup directory on a tmpfs of `size`; skips
 * the test where mounting is not permitted (it needs root). */
static void open_with_tmpfs_backups(test_node *n, void **state, int rounds, const char *size)
{
	fixture_open(n, state, rounds);
	assert_int_equal(cairn_fs_mkdir_p(n->backup_dir), CAIRN_OK);
	if (mount("cairn-test", n->backup_dir, "tmpfs", 0, size) != 0) {
		fixture_close(n);
		skip();
	}
}

/* A backup directory on another file system: the checkpoint is staged next
 * to the ChainDB and copied out, so every file has a checksum. */
static void test_backup_to_another_file_system(void **state)
{
	test_node n;
	open_with_tmpfs_backups(&n, state, 100, "size=64m");
	cairn_backup_manager *m = fixture_manager(&n, 0);
	fixture_start_producer(&n);
	char id[CAIRN_BACKUP_ID_MAX + 1];
	cairn_backup_state st = fixture_backup(id, m, true);
	fixture_stop_producer(&n);
	json_object *manifest = st == CAIRN_BACKUP_DONE ? read_manifest(&n, id) : NULL;
	int linked = -1, hashed = 0;
	if (manifest != NULL) {
		expect_files_as_listed(&n, id, manifest, &linked, &hashed);
		cairn_chaindb_cut cut = expect_checkpoint_cut(&n, id, manifest);
		expect_pact_at_cut(&n, id, &cut);
		json_object_put(manifest);
	}
	char staged[PATH_MAX];
	fixture_join(staged, n.staging, id);
	bool staging_left = cairn_fs_exists(staged);
	cairn_backup_manager_close(m);
	umount(n.backup_dir);
	fixture_close(&n);
	assert_int_equal(st, CAIRN_BACKUP_DONE);
	assert_int_equal(linked, 0);
	assert_true(hashed > 0);
	assert_false(staging_left);
}

/* A file system too small for the backup: failed, reason recorded,
 * data removed; the stores go on committing. */
static void test_full_file_system_fails_the_job(void **state)
{
	test_node n;
	open_with_tmpfs_backups(&n, state, 1500, "size=1m");
	cairn_backup_manager *m = fixture_manager(&n, 0);
	fixture_start_producer(&n);
	char id[CAIRN_BACKUP_ID_MAX + 1];
	cairn_backup_state st = fixture_backup(id, m, true);
	char path[PATH_MAX];
	char *reason = fixture_read_text(fixture_backup_path(path, &n, id, "failure"));
	char *status = fixture_read_text(fixture_backup_path(path, &n, id, "status"));
	bool data_left = cairn_fs_exists(fixture_backup_path(path, &n, id, "0"));
	uint64_t before = atomic_load(&n.heights[0]);
	while (atomic_load(&n.heights[0]) < before + 10 && n.producer_failures == 0)
		usleep(1000);
	int failures = fixture_stop_producer(&n);
	cairn_backup_manager_close(m);
	umount(n.backup_dir);
	fixture_close(&n);
	assert_int_equal(st, CAIRN_BACKUP_FAILED);
	assert_string_equal(status, "backup-failed\n");
	if (strstr(reason, "No space left on device") == NULL)
		fail_msg("reason: %s", reason);
	assert_false(data_left);
	assert_int_equal(failures, 0);
	free(reason);
	free(status);
}

static void test_job_without_chaindb_fails(void **state)
{
	test_node n;
	fixture_open(&n, state, 5);
	n.attach_chaindb = false;
	cairn_backup_manager *m = fixture_manager(&n, 0);
	char id[CAIRN_BACKUP_ID_MAX + 1];
	assert_int_equal(fixture_backup(id, m, false), CAIRN_BACKUP_FAILED);
	expect_failed(&n, id, "prepare: no chain database is attached");
	cairn_backup_manager_close(m);
	fixture_close(&n);
}

/* A Pact state behind the cut is refused, not recorded. */
static void test_pact_behind_the_cut_fails(void **state)
{
	test_node n;
	fixture_open(&n, state, 5);
	assert_int_equal(fixture_put_chaindb(&n, 2, 5), CAIRN_OK);
	cairn_backup_manager *m = fixture_manager(&n, 0);
	char id[CAIRN_BACKUP_ID_MAX + 1];
	assert_int_equal(fixture_backup(id, m, true), CAIRN_BACKUP_FAILED);
	expect_failed(&n, id, "agreement: Pact state of chain 2 is at height 4, behind the checkpoint's cut at height 5");
	/* without Pact the same stores back up fine */
	assert_int_equal(fixture_backup(id, m, false), CAIRN_BACKUP_DONE);
	cairn_backup_manager_close(m);
	fixture_close(&n);
}

/* A Pact state ahead of the checkpoint (as when blocks commit between the
 * checkpoint and the snapshots) is copied and rolled back to the cut. */
static void test_pact_ahead_of_the_cut_is_rolled_back(void **state)
{
	test_node n;
	fixture_open(&n, state, 5);
	for (uint64_t h = 5; h < 8; h++)
		assert_int_equal(fixture_apply_pact(&n, 2, h), CAIRN_OK);
	cairn_backup_manager *m = fixture_manager(&n, 0);
	char id[CAIRN_BACKUP_ID_MAX + 1];
	assert_int_equal(fixture_backup(id, m, true), CAIRN_BACKUP_DONE);
	json_object *manifest = read_manifest(&n, id);
	int linked, hashed;
	expect_files_as_listed(&n, id, manifest, &linked, &hashed);
	cairn_chaindb_cut cut = expect_checkpoint_cut(&n, id, manifest);
	assert_int_equal(cut.height[2], 4);
	expect_pact_at_cut(&n, id, &cut);
	json_object_put(manifest);
	uint64_t live;
	assert_int_equal(cairn_pactdb_last_block(&live, NULL, NULL, n.pact[2]), CAIRN_OK);
	assert_int_equal(live, 7); /* the live state is untouched */
	cairn_backup_manager_close(m);
	fixture_close(&n);
}

typedef struct closer {
	cairn_backup_manager *m;
	atomic_bool called;
} closer;

static void *close_manager(void *arg)
{
	closer *c = arg;
	atomic_store(&c->called, true);
	cairn_backup_manager_close(c->m);
	return NULL;
}

/* Closing the manager stops a running job: failed, "stopped", no data,
 * and every snapshot ended (the Pact handles close cleanly after). */
static void test_close_stops_a_running_job(void **state)
{
	test_node n;
	fixture_open(&n, state, 20);
	cairn_backup_manager *m = fixture_manager(&n, 0);
	fixture_gate(&n, true);
	cairn_backup_request req = {true, CAIRN_BACKUP_MANUAL};
	char id[CAIRN_BACKUP_ID_MAX + 1];
	bool started;
	assert_int_equal(cairn_backup_start(id, &started, m, &req), CAIRN_OK);
	fixture_wait_at_gate(&n);
	closer c = {m, false};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, close_manager, &c), 0);
	while (!atomic_load(&c.called))
		usleep(1000);
	usleep(100000); /* close() sets the stop flag first thing */
	fixture_gate(&n, false);
	pthread_join(t, NULL);
	expect_failed(&n, id, "stopped: the node is shutting down");
	fixture_close(&n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		STORE_TEST(test_backup_without_pact_while_producing),
		STORE_TEST(test_backup_with_pact_while_producing),
		STORE_TEST(test_backup_to_another_file_system),
		STORE_TEST(test_full_file_system_fails_the_job),
		STORE_TEST(test_job_without_chaindb_fails),
		STORE_TEST(test_pact_behind_the_cut_fails),
		STORE_TEST(test_pact_ahead_of_the_cut_is_rolled_back),
		STORE_TEST(test_close_stops_a_running_job),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
