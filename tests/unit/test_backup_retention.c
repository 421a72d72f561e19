/* The retention policy on a backup directory of hand-made backups (status
 * files only): keepLast counts successful backups, a failed backup goes
 * once a newer success supersedes it and stays otherwise, maxAge spares
 * the newest success, backups in progress and entries that are not cairn
 * backups are never touched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "backup/catalog.h"
#include "backup/retention.h"
#include "store_fixture.h"
#include "util/error.h"
#include "util/fs.h"

#define DAY_MS (86400ull * 1000)
#define NOW_MS (1800000000000ull)

static void make(const char *dir, uint64_t id, const char *status)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%llu", dir, (unsigned long long)id);
	assert_int_equal(cairn_fs_mkdir_p(path), CAIRN_OK);
	strcat(path, "/status");
	assert_int_equal(cairn_fs_write_atomic(path, status, strlen(status)), CAIRN_OK);
}

static bool present(const char *dir, uint64_t id)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%llu", dir, (unsigned long long)id);
	return cairn_fs_exists(path);
}

static void apply(const char *dir, int keep_last, double max_age_days, size_t expect_removed)
{
	cairn_backup_retention policy = CAIRN_BACKUP_RETENTION_INIT;
	policy.keep_last = keep_last;
	policy.max_age_seconds = max_age_days * 86400;
	size_t removed = 99;
	assert_int_equal(cairn_backup_retention_apply(&removed, dir, &policy, NOW_MS), CAIRN_OK);
	assert_int_equal(removed, expect_removed);
}

static void test_keep_last_and_failed(void **state)
{
	char dir[PATH_MAX], other[PATH_MAX + 64];
	store_fixture_path(dir, sizeof(dir), state, "backups");
	uint64_t t = NOW_MS - 10 * DAY_MS;
	make(dir, t + 1, "backup-failed\n");      /* older than the newest success: superseded */
	make(dir, t + 2, "backup-done\n");
	make(dir, t + 3, "backup-done\n");
	make(dir, t + 4, "backup-in-progress\n"); /* never touched */
	make(dir, t + 5, "backup-done\n");
	make(dir, t + 6, "backup-done\n");
	make(dir, t + 7, "backup-failed\n");      /* newer than every success: stays */
	snprintf(other, sizeof(other), "%s/keep-me", dir);
	assert_int_equal(cairn_fs_mkdir_p(other), CAIRN_OK);
	snprintf(other, sizeof(other), "%s/123", dir); /* an id, but no status: not a backup */
	assert_int_equal(cairn_fs_mkdir_p(other), CAIRN_OK);
	apply(dir, 2, 0, 3);
	assert_false(present(dir, t + 1));
	assert_false(present(dir, t + 2));
	assert_false(present(dir, t + 3));
	assert_true(present(dir, t + 4));
	assert_true(present(dir, t + 5));
	assert_true(present(dir, t + 6));
	assert_true(present(dir, t + 7));
	assert_true(cairn_fs_exists(other));
	apply(dir, 2, 0, 0); /* stable */
}

static void test_max_age_spares_the_newest_success(void **state)
{
	char dir[PATH_MAX];
	store_fixture_path(dir, sizeof(dir), state, "backups");
	make(dir, NOW_MS - 30 * DAY_MS, "backup-done\n");
	make(dir, NOW_MS - 20 * DAY_MS, "backup-done\n");
	make(dir, NOW_MS - 15 * DAY_MS, "backup-failed\n");
	apply(dir, 0, 14, 2);
	assert_true(present(dir, NOW_MS - 20 * DAY_MS));
	make(dir, NOW_MS - 1 * DAY_MS, "backup-done\n");
	make(dir, NOW_MS - 2 * DAY_MS, "backup-done\n");
	apply(dir, 0, 14, 1);
	assert_false(present(dir, NOW_MS - 20 * DAY_MS));
	assert_true(present(dir, NOW_MS - 2 * DAY_MS));
	cairn_backup_retention none = CAIRN_BACKUP_RETENTION_INIT;
	assert_false(cairn_backup_retention_is_set(&none));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		STORE_TEST(test_keep_last_and_failed),
		STORE_TEST(test_max_age_spares_the_newest_success),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
