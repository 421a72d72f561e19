/*
 * test_remote_lock.c: <backup-directory>/.remote-lock waits for its holder.
 *
 * cairn_backup_remote_lock() must keep trying for `wait_seconds` while another
 * holder has the lock (a `cairn backup upload` while the node's job uploads),
 * and give up with CAIRN_EBUSY only after that.  The other holder here is a
 * second open file description in this process: OFD locks conflict between
 * descriptions, not only between processes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup/remote.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fs.h"

static char dir[] = "/tmp/cairn-unit-remote-lock-XXXXXX";

static void *release_later(void *arg)
{
	cairn_clock_sleep(0.6);
	cairn_fs_lock_release(arg);
	return NULL;
}

static cairn_fs_lock *hold(void)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/.remote-lock", dir);
	cairn_fs_lock *lock = NULL;
	assert_int_equal(cairn_fs_lock_acquire(&lock, path), CAIRN_OK);
	return lock;
}

static void test_waits_for_the_holder(void **state)
{
	(void)state;
	cairn_fs_lock *held = hold();
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, release_later, held), 0);
	double t0 = cairn_clock_now();
	cairn_fs_lock *lock = NULL;
	assert_int_equal(cairn_backup_remote_lock(&lock, dir, 10), CAIRN_OK);
	assert_true(cairn_clock_now() - t0 >= 0.5);
	assert_non_null(lock);
	pthread_join(t, NULL);
	cairn_fs_lock_release(lock);
}

static void test_gives_up_after_the_wait(void **state)
{
	(void)state;
	cairn_fs_lock *held = hold();
	double t0 = cairn_clock_now();
	cairn_fs_lock *lock = NULL;
	assert_int_equal(cairn_backup_remote_lock(&lock, dir, 0.5), CAIRN_EBUSY);
	assert_true(cairn_clock_now() - t0 >= 0.5);
	assert_non_null(strstr(cairn_error_last(), "locked by another running cairn"));
	cairn_fs_lock_release(held);
}

int main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_waits_for_the_holder),
		cmocka_unit_test(test_gives_up_after_the_wait),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	char path[256];
	snprintf(path, sizeof(path), "%s/.remote-lock", dir);
	unlink(path);
	rmdir(dir);
	return failed;
}
