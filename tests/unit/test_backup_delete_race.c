/* Deletes that meet: a delete through the management API (which also
 * clears every ".deleting-*" leftover) while retention removes another
 * backup of the same directory without the manager's lock.  Both walk the
 * same ".deleting-<id>" tree at once; each must succeed and the tree must
 * be gone.  Found by the crash harness as a DELETE answered 500. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "backup/catalog.h"
#include "store_fixture.h"
#include "util/error.h"
#include "util/fs.h"

#define FILES 1000
#define ROUNDS 3

static void make_tree(const char *root)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/0/rocksDb", root);
	assert_int_equal(cairn_fs_mkdir_p(path), CAIRN_OK);
	for (int i = 0; i < FILES; i++) {
		snprintf(path, sizeof(path), "%s/0/rocksDb/%06d.sst", root, i);
		FILE *f = fopen(path, "w"); /* no fsync: only the tree's shape matters here */
		assert_non_null(f);
		fclose(f);
	}
}

typedef struct remover {
	const char *path;
	int rc;
} remover;

static void *remove_tree(void *arg)
{
	remover *r = arg;
	r->rc = cairn_fs_remove_tree(r->path);
	return NULL;
}

static void test_two_removals_of_one_tree_both_succeed(void **state)
{
	char tree[PATH_MAX];
	store_fixture_path(tree, sizeof(tree), state, ".deleting-1800000000000");
	for (int round = 0; round < ROUNDS; round++) {
		make_tree(tree);
		remover a = {tree, -1}, b = {tree, -1};
		pthread_t ta, tb;
		assert_int_equal(pthread_create(&ta, NULL, remove_tree, &a), 0);
		assert_int_equal(pthread_create(&tb, NULL, remove_tree, &b), 0);
		pthread_join(ta, NULL);
		pthread_join(tb, NULL);
		if (a.rc != CAIRN_OK || b.rc != CAIRN_OK)
			fail_msg("round %d: %d %d: %s", round, a.rc, b.rc, cairn_error_last());
		assert_false(cairn_fs_exists(tree));
	}
}

typedef struct deleter {
	const char *directory, *id;
	int rc;
} deleter;

static void *delete_backup(void *arg)
{
	deleter *d = arg;
	d->rc = cairn_backup_delete(d->directory, d->id);
	return NULL;
}

static void make_backup(const char *dir, const char *id)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", dir, id);
	make_tree(path);
	strcat(path, "/status");
	assert_int_equal(cairn_fs_write_atomic(path, "backup-done\n", 12), CAIRN_OK);
}

/* Two deletes of different backups: the second clears the first's
 * ".deleting-" tree while the first is still removing it. */
static void test_two_deletes_in_one_directory_both_succeed(void **state)
{
	char dir[PATH_MAX];
	store_fixture_path(dir, sizeof(dir), state, "backups");
	for (int round = 0; round < ROUNDS; round++) {
		make_backup(dir, "1800000000001");
		make_backup(dir, "1800000000002");
		deleter a = {dir, "1800000000001", -1}, b = {dir, "1800000000002", -1};
		pthread_t ta, tb;
		assert_int_equal(pthread_create(&ta, NULL, delete_backup, &a), 0);
		assert_int_equal(pthread_create(&tb, NULL, delete_backup, &b), 0);
		pthread_join(ta, NULL);
		pthread_join(tb, NULL);
		if (a.rc != CAIRN_OK || b.rc != CAIRN_OK)
			fail_msg("round %d: %d %d: %s", round, a.rc, b.rc, cairn_error_last());
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		STORE_TEST(test_two_removals_of_one_tree_both_succeed),
		STORE_TEST(test_two_deletes_in_one_directory_both_succeed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
