/*-------------------------------------------------------------------------
 * test_breaker.c
 *	  cmocka tests of the circuit breaker (src/breaker.c).
 *
 * IDENTIFICATION
 *	  test/unit/test_breaker.c
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "breaker.h"

#define T0		INT64_C(1700000000000000)
#define SEC		INT64_C(1000000)

static void
fresh(AigovBreaker *b)
{
	aigov_breaker_init(b, NULL);
}

static void
test_consecutive_failures_open(void **state)
{
	AigovBreaker b;
	int64_t		at;

	(void) state;
	fresh(&b);
	assert_int_equal(b.cfg.consecutive_failures, 5);
	for (int i = 0; i < 4; i++)
	{
		aigov_breaker_record(&b, AIGOV_BREAKER_FAILURE, T0);
		assert_int_equal(aigov_breaker_allow(&b, T0, &at), AIGOV_BREAKER_ALLOW);
	}
	aigov_breaker_record(&b, AIGOV_BREAKER_FAILURE, T0 + 5);
	assert_int_equal(aigov_breaker_state(&b, T0 + 5), AIGOV_BREAKER_OPEN);
	assert_int_equal(aigov_breaker_allow(&b, T0 + 6, &at), AIGOV_BREAKER_DENY);
	assert_int_equal(at, T0 + 5 + 30 * SEC);
	assert_int_equal(b.opened_total, 1);

	/* a success between failures resets the run */
	fresh(&b);
	for (int i = 0; i < 4; i++)
		aigov_breaker_record(&b, AIGOV_BREAKER_FAILURE, T0);
	aigov_breaker_record(&b, AIGOV_BREAKER_SUCCESS, T0);
	for (int i = 0; i < 4; i++)
		aigov_breaker_record(&b, AIGOV_BREAKER_FAILURE, T0);
	assert_int_equal(aigov_breaker_state(&b, T0), AIGOV_BREAKER_CLOSED);
}

/* 429s are schedules: any number of them never trips the breaker */
static void
test_rate_limits_never_trip(void **state)
{
	AigovBreaker b;
	int64_t		at;

	(void) state;
	fresh(&b);
	for (int i = 0; i < 100000; i++)
		aigov_breaker_record(&b, AIGOV_BREAKER_NEUTRAL, T0 + i);
	assert_int_equal(aigov_breaker_state(&b, T0 + 100000), AIGOV_BREAKER_CLOSED);
	assert_int_equal(aigov_breaker_allow(&b, T0 + 100000, &at),
					 AIGOV_BREAKER_ALLOW);
	{
		int32_t		ok;
		int32_t		bad;

		aigov_breaker_window(&b, T0 + 100000, &ok, &bad);
		assert_int_equal(ok + bad, 0);	/* not even counted */
	}
	/* neutral outcomes neither count nor break a run of real failures */
	for (int i = 0; i < 4; i++)
	{
		aigov_breaker_record(&b, AIGOV_BREAKER_FAILURE, T0 + 200000);
		aigov_breaker_record(&b, AIGOV_BREAKER_NEUTRAL, T0 + 200000);
	}
	assert_int_equal(aigov_breaker_state(&b, T0 + 200000), AIGOV_BREAKER_CLOSED);
	aigov_breaker_record(&b, AIGOV_BREAKER_FAILURE, T0 + 200000);
	assert_int_equal(aigov_breaker_state(&b, T0 + 200000), AIGOV_BREAKER_OPEN);
	/* nor a mix of 429s and successes, however much it dominates */
	fresh(&b);
	for (int i = 0; i < 1000; i++)
		aigov_breaker_record(&b, i % 10 ? AIGOV_BREAKER_NEUTRAL :
							 AIGOV_BREAKER_SUCCESS, T0 + i);
	assert_int_equal(aigov_breaker_state(&b, T0 + 1000), AIGOV_BREAKER_CLOSED);
}

static void
test_failure_ratio(void **state)
{
	AigovBreaker b;

	(void) state;
	fresh(&b);
	/* alternate: never two failures in a row, but 50% of 20 */
	for (int i = 0; i < 19; i++)
	{
		aigov_breaker_record(&b, i % 2 ? AIGOV_BREAKER_FAILURE :
							 AIGOV_BREAKER_SUCCESS, T0 + i * SEC);
		assert_int_equal(aigov_breaker_state(&b, T0 + i * SEC),
						 AIGOV_BREAKER_CLOSED);
	}
	aigov_breaker_record(&b, AIGOV_BREAKER_FAILURE, T0 + 19 * SEC);
	assert_int_equal(aigov_breaker_state(&b, T0 + 19 * SEC), AIGOV_BREAKER_OPEN);

	/* a lower ratio stays closed */
	fresh(&b);
	for (int i = 0; i < 300; i++)
		aigov_breaker_record(&b, i % 3 == 0 ? AIGOV_BREAKER_FAILURE :
							 AIGOV_BREAKER_SUCCESS, T0 + i * 100000);
	assert_int_equal(aigov_breaker_state(&b, T0 + 30 * SEC), AIGOV_BREAKER_CLOSED);
}

static void
test_window_slides(void **state)
{
	AigovBreaker b;
	AigovBreakerConfig cfg = {.consecutive_failures = 1000};
	int32_t		ok;
	int32_t		bad;

	(void) state;
	aigov_breaker_init(&b, &cfg);
	for (int i = 0; i < 15; i++)
		aigov_breaker_record(&b, AIGOV_BREAKER_FAILURE, T0);
	for (int i = 0; i < 4; i++)
		aigov_breaker_record(&b, AIGOV_BREAKER_SUCCESS, T0);
	assert_int_equal(aigov_breaker_state(&b, T0), AIGOV_BREAKER_CLOSED);	/* 19 < 20 */
	/* a minute later the old failures have left the window */
	aigov_breaker_window(&b, T0 + 61 * SEC, &ok, &bad);
	assert_int_equal(ok + bad, 0);
	for (int i = 0; i < 10; i++)
		aigov_breaker_record(&b, AIGOV_BREAKER_SUCCESS, T0 + 61 * SEC);
	for (int i = 0; i < 9; i++)
		aigov_breaker_record(&b, AIGOV_BREAKER_FAILURE, T0 + 61 * SEC);
	/* 9 of 19: still under both thresholds */
	assert_int_equal(aigov_breaker_state(&b, T0 + 61 * SEC), AIGOV_BREAKER_CLOSED);
	aigov_breaker_window(&b, T0 + 61 * SEC, &ok, &bad);
	assert_int_equal(ok, 10);
	assert_int_equal(bad, 9);
	/* part-way: slices older than the window drop out one by one */
	aigov_breaker_record(&b, AIGOV_BREAKER_SUCCESS, T0 + 100 * SEC);
	aigov_breaker_window(&b, T0 + 100 * SEC, &ok, &bad);
	assert_int_equal(ok, 11);
	aigov_breaker_window(&b, T0 + 125 * SEC, &ok, &bad);
	assert_int_equal(ok, 1);
	/* a clock that steps back is charged to the newest slice */
	aigov_breaker_record(&b, AIGOV_BREAKER_FAILURE, T0);
	aigov_breaker_window(&b, T0 + 100 * SEC, &ok, &bad);
	assert_int_equal(bad, 10);
}

static void
test_half_open_probe(void **state)
{
	AigovBreaker b;
	int64_t		at;
	int64_t		t;

	(void) state;
	fresh(&b);
	for (int i = 0; i < 5; i++)
		aigov_breaker_record(&b, AIGOV_BREAKER_FAILURE, T0);
	t = T0 + 30 * SEC;
	assert_int_equal(aigov_breaker_allow(&b, t - 1, &at), AIGOV_BREAKER_DENY);
	assert_int_equal(aigov_breaker_state(&b, t), AIGOV_BREAKER_HALF_OPEN);
	assert_int_equal(aigov_breaker_allow(&b, t, &at), AIGOV_BREAKER_PROBE);
	/* only one probe at a time */
	assert_int_equal(aigov_breaker_allow(&b, t + 1, &at), AIGOV_BREAKER_DENY);
	assert_int_equal(at, t + 30 * SEC);
	/* the probe succeeds: closed, with a clean window */
	aigov_breaker_record(&b, AIGOV_BREAKER_SUCCESS, t + 2);
	assert_int_equal(aigov_breaker_state(&b, t + 2), AIGOV_BREAKER_CLOSED);
	assert_int_equal(aigov_breaker_allow(&b, t + 3, &at), AIGOV_BREAKER_ALLOW);
	for (int i = 0; i < 4; i++)
		aigov_breaker_record(&b, AIGOV_BREAKER_FAILURE, t + 4);
	assert_int_equal(aigov_breaker_state(&b, t + 4), AIGOV_BREAKER_CLOSED);
}

static void
test_half_open_failure_backs_off(void **state)
{
	AigovBreaker b;
	int64_t		at;
	int64_t		t = T0;
	int64_t		expect[] = {60, 120, 240, 300, 300};

	(void) state;
	fresh(&b);
	for (int i = 0; i < 5; i++)
		aigov_breaker_record(&b, AIGOV_BREAKER_FAILURE, t);
	t += 30 * SEC;
	for (int round = 0; round < 5; round++)
	{
		assert_int_equal(aigov_breaker_allow(&b, t, &at), AIGOV_BREAKER_PROBE);
		aigov_breaker_record(&b, AIGOV_BREAKER_FAILURE, t);
		assert_int_equal(aigov_breaker_state(&b, t), AIGOV_BREAKER_OPEN);
		assert_int_equal(aigov_breaker_allow(&b, t, &at), AIGOV_BREAKER_DENY);
		assert_int_equal(at, t + expect[round] * SEC);
		t = at;
	}
	/* recovery resets the cool-down */
	assert_int_equal(aigov_breaker_allow(&b, t, &at), AIGOV_BREAKER_PROBE);
	aigov_breaker_record(&b, AIGOV_BREAKER_SUCCESS, t);
	for (int i = 0; i < 5; i++)
		aigov_breaker_record(&b, AIGOV_BREAKER_FAILURE, t);
	aigov_breaker_allow(&b, t, &at);
	assert_int_equal(at, t + 30 * SEC);
}

static void
test_lost_or_neutral_probe(void **state)
{
	AigovBreaker b;
	int64_t		at;
	int64_t		t;

	(void) state;
	fresh(&b);
	for (int i = 0; i < 5; i++)
		aigov_breaker_record(&b, AIGOV_BREAKER_FAILURE, T0);
	t = T0 + 30 * SEC;
	assert_int_equal(aigov_breaker_allow(&b, t, &at), AIGOV_BREAKER_PROBE);
	/* the probe's worker died: after a cool-down another probe goes */
	assert_int_equal(aigov_breaker_allow(&b, t + 30 * SEC - 1, &at),
					 AIGOV_BREAKER_DENY);
	assert_int_equal(aigov_breaker_allow(&b, t + 30 * SEC, &at),
					 AIGOV_BREAKER_PROBE);
	/* a probe answered with a 429 frees the slot at once */
	aigov_breaker_record(&b, AIGOV_BREAKER_NEUTRAL, t + 30 * SEC + 1);
	assert_int_equal(aigov_breaker_state(&b, t + 30 * SEC + 1),
					 AIGOV_BREAKER_HALF_OPEN);
	assert_int_equal(aigov_breaker_allow(&b, t + 30 * SEC + 2, &at),
					 AIGOV_BREAKER_PROBE);
}

static void
test_open_ignores_late_outcomes(void **state)
{
	AigovBreaker b;
	int64_t		at;

	(void) state;
	fresh(&b);
	for (int i = 0; i < 5; i++)
		aigov_breaker_record(&b, AIGOV_BREAKER_FAILURE, T0);
	/* responses of requests sent before the trip change nothing */
	aigov_breaker_record(&b, AIGOV_BREAKER_SUCCESS, T0 + 1);
	aigov_breaker_record(&b, AIGOV_BREAKER_FAILURE, T0 + 2);
	assert_int_equal(aigov_breaker_state(&b, T0 + 3), AIGOV_BREAKER_OPEN);
	assert_int_equal(aigov_breaker_allow(&b, T0 + 3, &at), AIGOV_BREAKER_DENY);
	assert_int_equal(at, T0 + 30 * SEC);
	/* a clock stepped back an hour does not stretch the cool-down */
	assert_int_equal(aigov_breaker_allow(&b, T0 - 3600 * SEC, &at),
					 AIGOV_BREAKER_DENY);
	assert_int_equal(at, T0 - 3600 * SEC + 30 * SEC);
	assert_string_equal(aigov_breaker_state_name(AIGOV_BREAKER_CLOSED), "closed");
	assert_string_equal(aigov_breaker_state_name(AIGOV_BREAKER_OPEN), "open");
	assert_string_equal(aigov_breaker_state_name(AIGOV_BREAKER_HALF_OPEN),
						"half_open");
}

/*
 * A reload applies new settings to a breaker in use: its state and run of
 * failures survive, the open period follows the new cool-down bounds.
 */
static void
test_configure_keeps_state(void **state)
{
	AigovBreaker b;
	AigovBreakerConfig cfg;
	int64_t		at;

	(void) state;
	fresh(&b);
	assert_false(aigov_breaker_configure(&b, NULL));
	for (int i = 0; i < 3; i++)
		aigov_breaker_record(&b, AIGOV_BREAKER_FAILURE, T0);

	/* lowering the threshold below the run: the next failure trips */
	cfg = b.cfg;
	cfg.consecutive_failures = 2;
	assert_true(aigov_breaker_configure(&b, &cfg));
	assert_false(aigov_breaker_configure(&b, &cfg));
	assert_int_equal(aigov_breaker_state(&b, T0), AIGOV_BREAKER_CLOSED);
	aigov_breaker_record(&b, AIGOV_BREAKER_FAILURE, T0 + 1);
	assert_int_equal(aigov_breaker_state(&b, T0 + 1), AIGOV_BREAKER_OPEN);
	assert_int_equal(aigov_breaker_allow(&b, T0 + 2, &at), AIGOV_BREAKER_DENY);
	assert_int_equal(at, T0 + 1 + 30 * SEC);

	/* a shorter cap shortens the open period already running */
	cfg.cooldown_us = 2 * SEC;
	cfg.max_cooldown_us = 4 * SEC;
	assert_true(aigov_breaker_configure(&b, &cfg));
	assert_int_equal(aigov_breaker_state(&b, T0 + 2), AIGOV_BREAKER_OPEN);
	assert_int_equal(aigov_breaker_allow(&b, T0 + 2, &at), AIGOV_BREAKER_DENY);
	assert_int_equal(at, T0 + 1 + 4 * SEC);
	assert_int_equal(aigov_breaker_allow(&b, T0 + 1 + 4 * SEC, &at),
					 AIGOV_BREAKER_PROBE);

	/* failed probes double the cool-down up to the new cap only */
	aigov_breaker_record(&b, AIGOV_BREAKER_FAILURE, T0 + 5 * SEC);
	assert_int_equal(b.cooldown_us, 4 * SEC);
	assert_int_equal(aigov_breaker_allow(&b, T0 + 9 * SEC, &at),
					 AIGOV_BREAKER_PROBE);
	/* a successful probe closes it and the next open starts at 2 s */
	aigov_breaker_record(&b, AIGOV_BREAKER_SUCCESS, T0 + 9 * SEC);
	assert_int_equal(aigov_breaker_state(&b, T0 + 9 * SEC), AIGOV_BREAKER_CLOSED);
	assert_int_equal(b.cooldown_us, 2 * SEC);

	/* a cap below the cool-down is raised to it, as in init */
	cfg.cooldown_us = 10 * SEC;
	cfg.max_cooldown_us = 1 * SEC;
	assert_true(aigov_breaker_configure(&b, &cfg));
	assert_int_equal(b.cfg.max_cooldown_us, 10 * SEC);
	assert_int_equal(b.cooldown_us, 10 * SEC);
	assert_int_equal(b.opened_total, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_consecutive_failures_open),
		cmocka_unit_test(test_rate_limits_never_trip),
		cmocka_unit_test(test_failure_ratio),
		cmocka_unit_test(test_window_slides),
		cmocka_unit_test(test_half_open_probe),
		cmocka_unit_test(test_half_open_failure_backs_off),
		cmocka_unit_test(test_lost_or_neutral_probe),
		cmocka_unit_test(test_open_ignores_late_outcomes),
		cmocka_unit_test(test_configure_keeps_state),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
