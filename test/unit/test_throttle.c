/*-------------------------------------------------------------------------
 * test_throttle.c
 *	  cmocka tests of the adaptive throttle (src/throttle.c).
 *
 * IDENTIFICATION
 *	  test/unit/test_throttle.c
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "bucket.h"
#include "throttle.h"

#define MIN_US	AIGOV_USECS_PER_MINUTE
#define T0		INT64_C(1700000000000000)
#define PPM		INT64_C(1000000)

static int64_t
law(int64_t u)
{
	return aigov_throttle_fraction_ppm(u, 70, 50);
}

static void
test_law_shape(void **state)
{
	int64_t		prev = PPM;

	(void) state;
	assert_int_equal(law(0), PPM);
	assert_int_equal(law(700000), PPM);
	/* smooth at the knee: a hair above it is a hair below 1 */
	assert_true(law(700001) <= PPM && law(700001) > PPM - 10);
	assert_true(law(703000) > 999900);
	/* 1 - 0.5 * ((0.85 - 0.7) / 0.3)^2 = 0.875 */
	assert_int_equal(law(850000), 875000);
	assert_int_equal(law(PPM), 500000);
	assert_int_equal(law(3 * PPM), 500000); /* in debt: stays at the floor */
	/* monotone non-increasing over the whole range */
	for (int64_t u = 0; u <= 1200000; u += 500)
	{
		int64_t		f = law(u);

		assert_true(f <= prev);
		assert_true(f >= 500000 && f <= PPM);
		prev = f;
	}
	/* knee and floor are parameters; silly values are clamped */
	assert_int_equal(aigov_throttle_fraction_ppm(500000, 50, 20), PPM);
	assert_int_equal(aigov_throttle_fraction_ppm(PPM, 50, 20), 200000);
	assert_int_equal(aigov_throttle_fraction_ppm(PPM, 150, 0), 10000);
	assert_int_equal(aigov_throttle_fraction_ppm(PPM, 70, 100), PPM);
}

static void
test_load(void **state)
{
	AigovThrottleLoad l;

	(void) state;
	aigov_throttle_load_init(&l);
	assert_int_equal(aigov_throttle_load_ppm(&l), 0);
	l.req_limit = 600;
	l.req_used = 300;
	l.tok_limit = 60000;
	l.tok_used = 54000;
	assert_int_equal(aigov_throttle_load_ppm(&l), 900000);	/* worse axis */
	l.tok_used = -5;
	assert_int_equal(aigov_throttle_load_ppm(&l), 500000);
}

static void
test_below_knee_no_delay(void **state)
{
	AigovThrottle th;
	AigovThrottleLoad l = {.req_used = 420, .req_limit = 600,
	.tok_used = 0, .tok_limit = 60000};
	int64_t		nb;

	(void) state;
	aigov_throttle_init(&th, AIGOV_THROTTLE_DEFAULT_KNEE_PCT,
						AIGOV_THROTTLE_DEFAULT_FLOOR_PCT);
	for (int i = 0; i < 1000; i++)
	{
		assert_int_equal(aigov_throttle_check(&th, &l, 5000, T0, &nb),
						 AIGOV_THROTTLE_OK);
		assert_int_equal(nb, T0);
		aigov_throttle_note_dispatch(&th, &l, 5000, T0);
	}
	assert_int_equal(aigov_throttle_interval_us(&th, &l, 5000), 0);
}

static void
test_above_knee_spacing(void **state)
{
	AigovThrottle th;
	AigovThrottleLoad l = {.req_used = 510, .req_limit = 600,
	.tok_used = 30000, .tok_limit = 60000};
	int64_t		nb;

	(void) state;
	aigov_throttle_init(&th, 70, 50);
	/* 85% -> share 0.875: one request is 100 ms / 0.875 = 114286 us */
	assert_int_equal(aigov_throttle_interval_us(&th, &l, 0), 114286);
	/* 1000 tokens of 60000/min: 1 s / 0.875, the token axis dominates */
	assert_int_equal(aigov_throttle_interval_us(&th, &l, 1000), 1142858);

	assert_int_equal(aigov_throttle_check(&th, &l, 1000, T0, &nb),
					 AIGOV_THROTTLE_OK);
	aigov_throttle_note_dispatch(&th, &l, 1000, T0);
	assert_int_equal(aigov_throttle_check(&th, &l, 1000, T0, &nb),
					 AIGOV_THROTTLE_WAIT);
	assert_int_equal(nb, T0 + 1142858);
	assert_int_equal(aigov_throttle_check(&th, &l, 1000, T0 + 1142857, &nb),
					 AIGOV_THROTTLE_WAIT);
	assert_int_equal(aigov_throttle_check(&th, &l, 1000, T0 + 1142858, &nb),
					 AIGOV_THROTTLE_OK);

	/* spacing grows with load */
	{
		int64_t		prev = 0;

		for (int64_t used = 421; used <= 660; used += 7)
		{
			int64_t		iv;

			l.req_used = used;
			iv = aigov_throttle_interval_us(&th, &l, 0);
			assert_true(iv >= prev);
			prev = iv;
		}
		assert_int_equal(prev, 200000); /* at the floor: half rate */
	}

	/* falling back below the knee forgets pending spacing */
	l.req_used = 100;
	l.tok_used = 0;
	aigov_throttle_note_dispatch(&th, &l, 1000, T0 + 10);
	l.req_used = 510;
	assert_int_equal(aigov_throttle_check(&th, &l, 1000, T0 + 10, &nb),
					 AIGOV_THROTTLE_OK);
}

static void
test_clock_backwards_capped(void **state)
{
	AigovThrottle th;
	AigovThrottleLoad l = {.req_used = 600, .req_limit = 600,
	.tok_used = 0, .tok_limit = 0};
	int64_t		nb;

	(void) state;
	aigov_throttle_init(&th, 70, 50);
	aigov_throttle_note_dispatch(&th, &l, 0, T0 + 3600 * INT64_C(1000000));
	/* the clock stepped back an hour: wait at most one floor interval */
	assert_int_equal(aigov_throttle_check(&th, &l, 0, T0, &nb),
					 AIGOV_THROTTLE_WAIT);
	assert_true(nb <= T0 + 2 * MIN_US);
}

/*
 * Hold the load at 90% and dispatch whenever allowed for a minute: the
 * rate is the law's share of the refill rate.
 */
static void
test_rate_matches_law(void **state)
{
	AigovThrottle th;
	AigovThrottleLoad l = {.req_used = 540, .req_limit = 600,
	.tok_used = 0, .tok_limit = 0};
	int64_t		nb;
	int			sent = 0;

	(void) state;
	aigov_throttle_init(&th, 70, 50);
	for (int64_t t = T0; t < T0 + MIN_US; t += 1000)
	{
		if (aigov_throttle_check(&th, &l, 0, t, &nb) == AIGOV_THROTTLE_OK)
		{
			aigov_throttle_note_dispatch(&th, &l, 0, t);
			sent++;
		}
	}
	/* share(0.9) = 1 - 0.5 * (2/3)^2 = 0.7778 -> 466.7 of 600 */
	assert_in_range(sent, 464, 468);
}

/*
 * Closed loop: an empty 600/min bucket, unlimited demand, dispatch when the
 * throttle and the bucket both allow.  The fill recovers toward the knee
 * without overshooting below it and without oscillating, and the send
 * rate climbs back to the refill rate.
 */
static void
test_closed_loop_settles_at_knee(void **state)
{
	AigovThrottle th;
	AigovBucket b;
	int64_t		prev_u = 2 * PPM;
	int			sent_last_minute = 0;

	(void) state;
	aigov_throttle_init(&th, 70, 50);
	aigov_bucket_init(&b, 600, MIN_US);
	aigov_bucket_set_remaining(&b, 0, T0);
	for (int64_t t = T0; t < T0 + 6 * MIN_US; t += 1000)
	{
		AigovThrottleLoad l;
		int64_t		nb;
		int64_t		u;

		aigov_throttle_load_init(&l);
		l.req_limit = 600;
		l.req_used = 600 - aigov_bucket_balance(&b, t);
		u = aigov_throttle_load_ppm(&l);
		if ((t - T0) % (10 * 1000000) == 0)
		{
			assert_true(u <= prev_u);	/* monotone recovery */
			assert_true(u >= 690000);	/* never far below the knee */
			prev_u = u;
		}
		if (aigov_throttle_check(&th, &l, 0, t, &nb) == AIGOV_THROTTLE_OK &&
			aigov_bucket_try_take(&b, 1, t, &nb) == AIGOV_BUCKET_OK)
		{
			aigov_throttle_note_dispatch(&th, &l, 0, t);
			if (t >= T0 + 5 * MIN_US)
				sent_last_minute++;
		}
	}
	assert_true(prev_u < 730000);
	assert_true(sent_last_minute >= 590);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_law_shape),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_below_knee_no_delay),
		cmocka_unit_test(test_above_knee_spacing),
		cmocka_unit_test(test_clock_backwards_capped),
		cmocka_unit_test(test_rate_matches_law),
		cmocka_unit_test(test_closed_loop_settles_at_knee),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
