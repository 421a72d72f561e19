/* Unit tests for the backup manager (src/backup/manager.c): ids are valid
 * or refused before any file is touched, strictly increase over many jobs
 * and across reopening, one job runs at a time, jobs an earlier process
 * left in progress become failed, and one process owns a directory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "backup_fixture.h"

static void test_id_validation(void **state)
{
	(void)state;
	const char *valid[] = {"1648665437000", "a", "A-b_9", NULL};
	const char *invalid[] = {"", ".", "..", "../etc", "/etc/passwd", "a/b", "a.b", "a b", "caf\xc3\xa9",
		"1648665437000\n", ".lock", NULL};
	for (size_t i = 0; valid[i] != NULL; i++)
		assert_true(cairn_backup_id_is_valid(valid[i]));
	for (size_t i = 0; invalid[i] != NULL; i++)
		assert_false(cairn_backup_id_is_valid(invalid[i]));
	char longest[66];
	memset(longest, '7', 64);
	longest[64] = '\0';
	assert_true(cairn_backup_id_is_valid(longest));
	longest[64] = '7';
	longest[65] = '\0';
	assert_false(cairn_backup_id_is_valid(longest));
}

static uint64_t id_value(const char *id)
{
	assert_int_equal(strspn(id, "0123456789"), strlen(id));
	return strtoull(id, NULL, 10);
}

/* 1,000 quick jobs: every id is greater than the one before (many start
 * within the same millisecond), every job is done, and ids go on growing
 * after the manager is reopened. */
static void test_ids_increase_over_many_jobs_and_reopening(void **state)
{
	test_node n;
	fixture_open(&n, state, 2);
	cairn_backup_manager *m = fixture_manager(&n, 0);
	uint64_t previous = 0;
	char id[CAIRN_BACKUP_ID_MAX + 1];
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(fixture_backup(id, m, false), CAIRN_BACKUP_DONE);
		uint64_t value = id_value(id);
		if (value <= previous)
			fail_msg("id %s after %" PRIu64, id, previous);
		previous = value;
	}
	assert_int_equal(strlen(id), 13);
	cairn_backup_manager_close(m);
	m = fixture_manager(&n, 0);
	assert_int_equal(fixture_backup(id, m, false), CAIRN_BACKUP_DONE);
	assert_true(id_value(id) > previous);
	cairn_backup_manager_close(m);
	fixture_close(&n);
}

/* An id from the future in the directory raises the floor. */
static void test_ids_pass_every_numeric_name(void **state)
{
	test_node n;
	fixture_open(&n, state, 1);
	char path[PATH_MAX];
	store_fixture_path(path, sizeof(path), state, "backups/99999999999990");
	assert_int_equal(cairn_fs_mkdir_p(path), CAIRN_OK);
	cairn_backup_manager *m = fixture_manager(&n, 0);
	char id[CAIRN_BACKUP_ID_MAX + 1];
	assert_int_equal(fixture_backup(id, m, false), CAIRN_BACKUP_DONE);
	assert_string_equal(id, "99999999999991");
	cairn_backup_manager_close(m);
	fixture_close(&n);
}

typedef struct starter {
	cairn_backup_manager *m;
	char id[CAIRN_BACKUP_ID_MAX + 1];
	bool started;
	int rc;
} starter;

static void *start_backup(void *arg)
{
	starter *s = arg;
	cairn_backup_request req = {true, CAIRN_BACKUP_MANUAL}; /* with Pact: the job stops at the closed gate */
	s->rc = cairn_backup_start(s->id, &s->started, s->m, &req);
	return NULL;
}

/* While a job runs, every start request gets its id and starts nothing. */
static void test_single_flight(void **state)
{
	enum { STARTERS = 16 };
	test_node n;
	fixture_open(&n, state, 3);
	cairn_backup_manager *m = fixture_manager(&n, 0);
	fixture_gate(&n, true);
	starter s[STARTERS];
	pthread_t threads[STARTERS];
	for (int i = 0; i < STARTERS; i++) {
		s[i] = (starter){.m = m};
		assert_int_equal(pthread_create(&threads[i], NULL, start_backup, &s[i]), 0);
	}
	for (int i = 0; i < STARTERS; i++)
		pthread_join(threads[i], NULL);
	fixture_wait_at_gate(&n); /* the job waits for the commit lock */
	int started = 0;
	for (int i = 0; i < STARTERS; i++) {
		assert_int_equal(s[i].rc, CAIRN_OK);
		assert_string_equal(s[i].id, s[0].id);
		started += s[i].started;
	}
	assert_int_equal(started, 1);
	cairn_backup_state st;
	assert_int_equal(cairn_backup_state_of(&st, m, s[0].id), CAIRN_OK);
	assert_int_equal(st, CAIRN_BACKUP_PREPARING);
	assert_int_equal(cairn_backup_start(s[0].id, &s[0].started, m, &(cairn_backup_request){false}), CAIRN_OK);
	assert_false(s[0].started); /* a request without Pact gets the running job's id too */
	assert_string_equal(s[0].id, s[1].id);
	fixture_gate(&n, false);
	cairn_backup_wait_idle(m);
	assert_int_equal(cairn_backup_state_of(&st, m, s[0].id), CAIRN_OK);
	assert_int_equal(st, CAIRN_BACKUP_DONE);
	char id[CAIRN_BACKUP_ID_MAX + 1];
	assert_int_equal(fixture_backup(id, m, false), CAIRN_BACKUP_DONE);
	assert_true(id_value(id) > id_value(s[0].id));
	cairn_backup_manager_close(m);
	fixture_close(&n);
}

static void write_file(const char *path, const char *text)
{
	assert_int_equal(cairn_fs_write_atomic(path, text, strlen(text)), CAIRN_OK);
}

/* Jobs an earlier process left in progress (with partial data, or before
 * their status existed) become failed "interrupted" with their data gone;
 * finished backups and foreign directories are left alone. */
static void test_interrupted_jobs_become_failed(void **state)
{
	test_node n;
	fixture_open(&n, state, 1);
	char path[PATH_MAX];
	const char *files[][2] = {
		{"backups/1700000000001/status", "backup-in-progress\n"},
		{"backups/1700000000001/0/rocksDb/000007.sst", "partial"},
		{"backups/1700000000001/0/sqlite/pact-v1-chain-0.sqlite.partial", "partial"},
		{"backups/1700000000002/status.tmp.4242", "backup-in"},
		{"backups/1700000000003/status", "backup-done\n"},
		{"backups/1700000000003/manifest.json", "{}"},
		{"backups/notes/README", "operator's notes"},
		{"db/0/backup-staging/1700000000001/CURRENT", "MANIFEST-000001\n"},
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		store_fixture_path(path, sizeof(path), state, files[i][0]);
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", path);
		*strrchr(dir, '/') = '\0';
		assert_int_equal(cairn_fs_mkdir_p(dir), CAIRN_OK);
		write_file(path, files[i][1]);
	}
	cairn_backup_manager *m = fixture_manager(&n, 0);
	cairn_backup_state st;
	const char *interrupted[] = {"1700000000001", "1700000000002"};
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(cairn_backup_state_of(&st, m, interrupted[i]), CAIRN_OK);
		assert_int_equal(st, CAIRN_BACKUP_FAILED);
		char *reason = fixture_read_text(fixture_backup_path(path, &n, interrupted[i], "failure"));
		assert_string_equal(reason, "interrupted\n");
		free(reason);
		assert_false(cairn_fs_exists(fixture_backup_path(path, &n, interrupted[i], "0")));
	}
	assert_false(cairn_fs_exists(fixture_backup_path(path, &n, "1700000000002", "status.tmp.4242")));
	assert_false(cairn_fs_exists(n.staging));
	assert_int_equal(cairn_backup_state_of(&st, m, "1700000000003"), CAIRN_OK);
	assert_int_equal(st, CAIRN_BACKUP_DONE);
	assert_true(cairn_fs_exists(fixture_backup_path(path, &n, "1700000000003", "manifest.json")));
	assert_int_equal(cairn_backup_state_of(&st, m, "notes"), CAIRN_ENOTFOUND);
	assert_true(cairn_fs_exists(fixture_backup_path(path, &n, "notes", "README")));
	cairn_backup_manager_close(m);
	fixture_close(&n);
}

/* Hostile ids reach nothing outside the backup directory: a sentinel
 * status outside it, reachable by traversal or through a symbolic link,
 * is never reported. */
static void test_hostile_ids_are_not_found(void **state)
{
	test_node n;
	fixture_open(&n, state, 1);
	char path[PATH_MAX], target[PATH_MAX];
	store_fixture_path(path, sizeof(path), state, "outside/status");
	assert_int_equal(cairn_fs_mkdir_p(store_fixture_path(target, sizeof(target), state, "outside")), CAIRN_OK);
	write_file(path, "backup-done\n");
	cairn_backup_manager *m = fixture_manager(&n, 0);
	assert_int_equal(symlink(target, store_fixture_path(path, sizeof(path), state, "backups/evil")), 0);
	const char *ids[] = {"../outside", "..", ".", "", "/etc/passwd", "%2E%2E", "evil", "evil/", "evil/.",
		"1700000000000/../../outside", "nonexistent", NULL};
	for (size_t i = 0; ids[i] != NULL; i++) {
		cairn_backup_state st;
		if (cairn_backup_state_of(&st, m, ids[i]) != CAIRN_ENOTFOUND)
			fail_msg("id '%s' was found", ids[i]);
	}
	/* a status that is a symbolic link is not followed either */
	store_fixture_path(path, sizeof(path), state, "backups/1700000000005");
	assert_int_equal(cairn_fs_mkdir_p(path), CAIRN_OK);
	store_fixture_path(target, sizeof(target), state, "outside/status");
	assert_int_equal(symlink(target, store_fixture_path(path, sizeof(path), state, "backups/1700000000005/status")), 0);
	cairn_backup_state st;
	assert_int_equal(cairn_backup_state_of(&st, m, "1700000000005"), CAIRN_ENOTFOUND);
	cairn_backup_manager_close(m);
	fixture_close(&n);
}

/* One process owns a backup directory. */
static void test_directory_is_locked(void **state)
{
	test_node n;
	fixture_open(&n, state, 1);
	cairn_backup_manager *m = fixture_manager(&n, 0);
	cairn_backup_source src = fixture_source(&n);
	cairn_backup_options opts = CAIRN_BACKUP_OPTIONS_INIT;
	opts.directory = n.backup_dir;
	cairn_backup_manager *second = NULL;
	assert_int_equal(cairn_backup_manager_open(&second, &src, &opts), CAIRN_EBUSY);
	assert_non_null(strstr(cairn_error_last(), "is in use"));
	cairn_backup_manager_close(m);
	second = fixture_manager(&n, 0);
	cairn_backup_manager_close(second);
	fixture_close(&n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_id_validation),
		STORE_TEST(test_ids_increase_over_many_jobs_and_reopening),
		STORE_TEST(test_ids_pass_every_numeric_name),
		STORE_TEST(test_single_flight),
		STORE_TEST(test_interrupted_jobs_become_failed),
		STORE_TEST(test_hostile_ids_are_not_found),
		STORE_TEST(test_directory_is_locked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
