/* Unit tests for util/ratelimit: the waits a token bucket returns at
 * given times (no sleeping, no timing), sharing between takers, the
 * unlimited cases, and one real wait measured against its lower bound. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdint.h>

#include "util/clock.h"
#include "util/error.h"
#include "util/ratelimit.h"

static void test_burst_then_rate(void **state)
{
	(void)state;
	cairn_ratelimit *rl;
	assert_int_equal(cairn_ratelimit_create(&rl, 1000000, 100000), CAIRN_OK);
	assert_true(cairn_ratelimit_take_at(rl, 100000, 10.0) == 0); /* the full bucket */
	double wait = cairn_ratelimit_take_at(rl, 500000, 10.0);
	assert_true(wait > 0.499 && wait < 0.501);
	/* half a second later the debt is paid, nothing more */
	wait = cairn_ratelimit_take_at(rl, 1000000, 10.5);
	assert_true(wait > 0.999 && wait < 1.001);
	/* an idle bucket refills to its burst only */
	assert_true(cairn_ratelimit_take_at(rl, 100000, 100.0) == 0);
	wait = cairn_ratelimit_take_at(rl, 1000, 100.0);
	assert_true(wait > 0.0009 && wait < 0.0011);
	cairn_ratelimit_free(rl);
}

static void test_takers_share_the_rate(void **state)
{
	(void)state;
	cairn_ratelimit *rl;
	assert_int_equal(cairn_ratelimit_create(&rl, 1000, 1000), CAIRN_OK);
	assert_true(cairn_ratelimit_take_at(rl, 1000, 5.0) == 0);
	/* two transfers of 1000 bytes each at the same moment: one second apart */
	double first = cairn_ratelimit_take_at(rl, 1000, 5.0), second = cairn_ratelimit_take_at(rl, 1000, 5.0);
	assert_true(first > 0.999 && first < 1.001);
	assert_true(second > 1.999 && second < 2.001);
	/* a clock read earlier by another thread does not refill twice */
	double third = cairn_ratelimit_take_at(rl, 0, 4.0);
	assert_true(third > 1.999 && third < 2.001);
	cairn_ratelimit_free(rl);
}

static void test_unlimited(void **state)
{
	(void)state;
	cairn_ratelimit *rl;
	assert_int_equal(cairn_ratelimit_create(&rl, 0, 0), CAIRN_OK);
	assert_true(cairn_ratelimit_take_at(rl, UINT64_C(1) << 40, 1.0) == 0);
	assert_int_equal(cairn_ratelimit_chunk(rl, 1 << 20), 1 << 20);
	assert_int_equal(cairn_ratelimit_rate(rl), 0);
	cairn_ratelimit_free(rl);
	assert_true(cairn_ratelimit_take(NULL, 1 << 20) == 0);
	assert_int_equal(cairn_ratelimit_chunk(NULL, 77), 77);
	cairn_ratelimit_free(NULL);
}

static void test_default_burst_and_chunk(void **state)
{
	(void)state;
	cairn_ratelimit *rl;
	assert_int_equal(cairn_ratelimit_create(&rl, 8000000, 0), CAIRN_OK);
	assert_int_equal(cairn_ratelimit_chunk(rl, 16 << 20), 1000000);
	assert_int_equal(cairn_ratelimit_chunk(rl, 4096), 4096);
	assert_true(cairn_ratelimit_take_at(rl, 1000000, 1.0) == 0); /* burst: an eighth of a second */
	assert_true(cairn_ratelimit_take_at(rl, 1, 1.0) > 0);
	cairn_ratelimit_free(rl);
	assert_int_equal(cairn_ratelimit_create(&rl, 100, 0), CAIRN_OK);
	assert_int_equal(cairn_ratelimit_chunk(rl, 1 << 20), 4096);
	cairn_ratelimit_free(rl);
}

static void test_wait_sleeps_at_least_the_debt(void **state)
{
	(void)state;
	cairn_ratelimit *rl;
	assert_int_equal(cairn_ratelimit_create(&rl, 100000, 4096), CAIRN_OK);
	double t0 = cairn_clock_now();
	cairn_ratelimit_wait(rl, 4096);
	cairn_ratelimit_wait(rl, 20000); /* 0.2 s of debt */
	assert_true(cairn_clock_now() - t0 >= 0.19);
	cairn_ratelimit_free(rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_rate),
		cmocka_unit_test(test_takers_share_the_rate),
		cmocka_unit_test(test_unlimited),
		cmocka_unit_test(test_default_burst_and_chunk),
		cmocka_unit_test(test_wait_sleeps_at_least_the_debt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
