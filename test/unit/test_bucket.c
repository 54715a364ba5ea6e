/*-------------------------------------------------------------------------
 * test_bucket.c
 *	  cmocka tests of the GCRA token bucket (src/bucket.c).
 *
 * IDENTIFICATION
 *	  test/unit/test_bucket.c
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "bucket.h"

#define MIN_US	AIGOV_USECS_PER_MINUTE
#define DAY_US	AIGOV_USECS_PER_DAY
#define T0		INT64_C(1700000000000000)	/* a realistic epoch in us */

/* deterministic 64-bit generator (splitmix64) */
static uint64_t
rng_next(uint64_t *s)
{
	uint64_t	z = (*s += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static void
test_init_full(void **state)
{
	AigovBucket b;

	(void) state;
	assert_true(aigov_bucket_init(&b, 600, MIN_US));
	assert_int_equal(aigov_bucket_remaining(&b, T0), 600);
	assert_int_equal(aigov_bucket_balance(&b, T0), 600);
	assert_int_equal(aigov_bucket_utilisation_ppm(&b, T0), 0);
	assert_int_equal(aigov_bucket_full_at(&b, T0), T0);
	/* works at clock 0 and at negative clocks too */
	assert_int_equal(aigov_bucket_remaining(&b, 0), 600);
	assert_false(aigov_bucket_init(&b, 600, 0));
	/* a bad period leaves a harmless unlimited bucket */
	assert_int_equal(aigov_bucket_try_take(&b, 5, T0, NULL), AIGOV_BUCKET_OK);
}

static void
test_exact_refill_and_window_edge(void **state)
{
	AigovBucket b;
	int64_t		at;

	(void) state;
	aigov_bucket_init(&b, 600, MIN_US); /* one request per 100 ms */
	for (int i = 0; i < 600; i++)
		assert_int_equal(aigov_bucket_try_take(&b, 1, T0, &at), AIGOV_BUCKET_OK);
	assert_int_equal(aigov_bucket_remaining(&b, T0), 0);
	assert_int_equal(aigov_bucket_utilisation_ppm(&b, T0), 1000000);

	assert_int_equal(aigov_bucket_try_take(&b, 1, T0, &at), AIGOV_BUCKET_WAIT);
	assert_int_equal(at, T0 + 100000);
	/* one microsecond early is still too early; exactly on time fits */
	assert_int_equal(aigov_bucket_try_take(&b, 1, at - 1, &at), AIGOV_BUCKET_WAIT);
	assert_int_equal(at, T0 + 100000);
	assert_int_equal(aigov_bucket_try_take(&b, 1, T0 + 100000, &at),
					 AIGOV_BUCKET_OK);
	assert_int_equal(at, T0 + 100000);

	/* three units are ready 300 ms after the last take point */
	assert_int_equal(aigov_bucket_available_at(&b, 3, T0 + 100000, &at),
					 AIGOV_BUCKET_WAIT);
	assert_int_equal(at, T0 + 400000);
	/* full again exactly one minute after the bucket was empty at +100ms */
	assert_int_equal(aigov_bucket_full_at(&b, T0 + 100000), T0 + 100000 + MIN_US);
	assert_int_equal(aigov_bucket_remaining(&b, T0 + 100000 + MIN_US), 600);
	assert_int_equal(aigov_bucket_remaining(&b, T0 + 100000 + MIN_US - 1), 599);
	/* refill is capped at the limit */
	assert_int_equal(aigov_bucket_remaining(&b, T0 + 100 * MIN_US), 600);
}

/* 7 per second: the emission interval 142857.142857... us is not whole */
static void
test_no_drift_fractional_interval(void **state)
{
	AigovBucket b;
	int64_t		at;
	const int64_t sec = 1000000;

	(void) state;
	aigov_bucket_init(&b, 7, sec);
	assert_int_equal(aigov_bucket_try_take(&b, 7, T0, &at), AIGOV_BUCKET_OK);
	for (int64_t k = 1; k <= 7000; k++)
	{
		int64_t		expect = T0 + (k * sec + 6) / 7;	/* ceil(k * sec / 7) */
		int64_t		prev = at;

		assert_int_equal(aigov_bucket_try_take(&b, 1, prev, &at),
						 AIGOV_BUCKET_WAIT);
		assert_int_equal(at, expect);
		assert_int_equal(aigov_bucket_available_at(&b, 1, at - 1, &prev),
						 AIGOV_BUCKET_WAIT);
		assert_int_equal(aigov_bucket_try_take(&b, 1, at, NULL), AIGOV_BUCKET_OK);
	}
	/* 7000 single takes moved the TAT by exactly 1000 s: no rounding drift */
	assert_int_equal(aigov_bucket_full_at(&b, T0 + 1000 * sec),
					 T0 + sec + 1000 * sec);
	assert_int_equal(b.tat_frac, 0);

	/* partial refill rounds down */
	aigov_bucket_init(&b, 7, sec);
	aigov_bucket_try_take(&b, 1, T0, NULL);
	assert_int_equal(aigov_bucket_remaining(&b, T0), 6);
	assert_int_equal(aigov_bucket_remaining(&b, T0 + 142857), 6);
	assert_int_equal(aigov_bucket_remaining(&b, T0 + 142858), 7);
}

static void
test_cost_limits(void **state)
{
	AigovBucket b;
	int64_t		at;

	(void) state;
	aigov_bucket_init(&b, 1000, MIN_US);
	assert_int_equal(aigov_bucket_try_take(&b, 1001, T0, &at), AIGOV_BUCKET_NEVER);
	assert_int_equal(at, INT64_MAX);
	assert_int_equal(aigov_bucket_available_at(&b, INT64_MAX, T0, &at),
					 AIGOV_BUCKET_NEVER);
	assert_int_equal(aigov_bucket_remaining(&b, T0), 1000); /* untouched */
	assert_int_equal(aigov_bucket_try_take(&b, 1000, T0, &at), AIGOV_BUCKET_OK);
	/* a cost equal to the limit fits once the bucket is full again */
	assert_int_equal(aigov_bucket_try_take(&b, 1000, T0, &at), AIGOV_BUCKET_WAIT);
	assert_int_equal(at, T0 + MIN_US);
	/* zero and negative costs always fit and take nothing */
	assert_int_equal(aigov_bucket_try_take(&b, 0, T0, &at), AIGOV_BUCKET_OK);
	assert_int_equal(aigov_bucket_try_take(&b, -5, T0, &at), AIGOV_BUCKET_OK);
	assert_int_equal(aigov_bucket_balance(&b, T0), 0);
}

static void
test_unlimited(void **state)
{
	AigovBucket b;
	int64_t		at;

	(void) state;
	aigov_bucket_init(&b, 0, MIN_US);
	assert_int_equal(aigov_bucket_try_take(&b, INT64_MAX, T0, &at), AIGOV_BUCKET_OK);
	assert_int_equal(at, T0);
	aigov_bucket_force_take(&b, INT64_MAX, T0);
	assert_int_equal(aigov_bucket_remaining(&b, T0), INT64_MAX);
	assert_int_equal(aigov_bucket_utilisation_ppm(&b, T0), 0);
	aigov_bucket_init(&b, -3, MIN_US);
	assert_int_equal(b.limit, 0);
}

/* tokens per day: limit * period overflows 64 bits, arithmetic stays exact */
static void
test_day_limit_big_numbers(void **state)
{
	AigovBucket b;
	int64_t		at;
	const int64_t L = INT64_C(10000000000); /* 10^10 tokens/day */

	(void) state;
	aigov_bucket_init(&b, L, DAY_US);
	assert_int_equal(aigov_bucket_try_take(&b, L / 2, T0, &at), AIGOV_BUCKET_OK);
	assert_int_equal(aigov_bucket_remaining(&b, T0), L / 2);
	/* half a day refills exactly half */
	assert_int_equal(aigov_bucket_remaining(&b, T0 + DAY_US / 2), L);
	/* one hour refills L/24, rounded down */
	assert_int_equal(aigov_bucket_remaining(&b, T0 + 3600000000LL),
					 L / 2 + L / 24);
	/* 10^10 / 8.64e10 token per us: 9 us give 1 token, 8 us none */
	assert_int_equal(aigov_bucket_remaining(&b, T0 + 8), L / 2);
	assert_int_equal(aigov_bucket_remaining(&b, T0 + 9), L / 2 + 1);
	/* ask for everything: fits exactly when the first half has refilled */
	assert_int_equal(aigov_bucket_available_at(&b, L, T0, &at), AIGOV_BUCKET_WAIT);
	assert_int_equal(at, T0 + DAY_US / 2);
	assert_int_equal(aigov_bucket_utilisation_ppm(&b, T0), 500000);
}

static void
test_set_limit_keeps_fraction(void **state)
{
	AigovBucket b;

	(void) state;
	aigov_bucket_init(&b, 100, MIN_US);
	aigov_bucket_try_take(&b, 40, T0, NULL);
	assert_true(aigov_bucket_set_limit(&b, 1000, MIN_US, T0));
	assert_int_equal(aigov_bucket_remaining(&b, T0), 600);
	assert_true(aigov_bucket_set_limit(&b, 10, MIN_US, T0));
	assert_int_equal(aigov_bucket_remaining(&b, T0), 6);
	/* the bucket still becomes full at the same moment */
	assert_int_equal(aigov_bucket_full_at(&b, T0), T0 + MIN_US * 40 / 100);

	/* period change: 40% used of 100/min becomes 40% used of 100/2min */
	aigov_bucket_init(&b, 100, MIN_US);
	aigov_bucket_try_take(&b, 40, T0, NULL);
	assert_true(aigov_bucket_set_limit(&b, 100, 2 * MIN_US, T0));
	assert_int_equal(aigov_bucket_remaining(&b, T0), 60);
	assert_int_equal(aigov_bucket_utilisation_ppm(&b, T0), 400000);

	/* fractions are re-expressed, rounding toward "used" */
	aigov_bucket_init(&b, 7, 1000000);
	aigov_bucket_try_take(&b, 1, T0, NULL);
	assert_true(aigov_bucket_set_limit(&b, 3, 1000000, T0));
	assert_true(b.tat_frac >= 0 && b.tat_frac < 3);
	assert_int_equal(aigov_bucket_remaining(&b, T0), 2);	/* 3 * 6/7 = 2.57 */

	/* from unlimited: starts full; to unlimited: everything fits */
	aigov_bucket_init(&b, 0, MIN_US);
	aigov_bucket_force_take(&b, 1000, T0);
	assert_true(aigov_bucket_set_limit(&b, 50, MIN_US, T0));
	assert_int_equal(aigov_bucket_remaining(&b, T0), 50);
	aigov_bucket_try_take(&b, 50, T0, NULL);
	assert_true(aigov_bucket_set_limit(&b, 0, MIN_US, T0));
	assert_int_equal(aigov_bucket_try_take(&b, 1000000, T0, NULL), AIGOV_BUCKET_OK);
	assert_false(aigov_bucket_set_limit(&b, 10, -1, T0));
}

static void
test_give_back(void **state)
{
	AigovBucket a;
	AigovBucket b;

	(void) state;
	/* reserve 1000, use 100: same as having taken 100 */
	aigov_bucket_init(&a, 60000, MIN_US);
	aigov_bucket_init(&b, 60000, MIN_US);
	aigov_bucket_try_take(&a, 5000, T0, NULL);
	aigov_bucket_try_take(&b, 5000, T0, NULL);
	aigov_bucket_try_take(&a, 1000, T0 + 7, NULL);
	aigov_bucket_try_take(&b, 100, T0 + 7, NULL);
	aigov_bucket_give_back(&a, 900, T0 + 1234);
	assert_int_equal(a.tat_us, b.tat_us);
	assert_int_equal(a.tat_frac, b.tat_frac);
	assert_int_equal(aigov_bucket_remaining(&a, T0 + 1234),
					 aigov_bucket_remaining(&b, T0 + 1234));

	/* never more than full */
	aigov_bucket_give_back(&a, 1000000, T0 + 2000);
	assert_int_equal(aigov_bucket_remaining(&a, T0 + 2000), 60000);
	assert_int_equal(aigov_bucket_full_at(&a, T0 + 2000), T0 + 2000);

	/* fractional borrow: 7/s, take 3 then give 2 == take 1 */
	aigov_bucket_init(&a, 7, 1000000);
	aigov_bucket_init(&b, 7, 1000000);
	aigov_bucket_try_take(&a, 3, T0, NULL);
	aigov_bucket_give_back(&a, 2, T0);
	aigov_bucket_try_take(&b, 1, T0, NULL);
	assert_int_equal(a.tat_us, b.tat_us);
	assert_int_equal(a.tat_frac, b.tat_frac);
}

static void
test_force_take_debt(void **state)
{
	AigovBucket b;
	int64_t		at;

	(void) state;
	aigov_bucket_init(&b, 600, MIN_US);
	aigov_bucket_force_take(&b, 900, T0);
	assert_int_equal(aigov_bucket_remaining(&b, T0), 0);
	assert_int_equal(aigov_bucket_balance(&b, T0), -300);
	assert_int_equal(aigov_bucket_utilisation_ppm(&b, T0), 1500000);
	/* the debt of 300 and one more request: 301 * 100 ms */
	assert_int_equal(aigov_bucket_try_take(&b, 1, T0, &at), AIGOV_BUCKET_WAIT);
	assert_int_equal(at, T0 + 301 * 100000);
	assert_int_equal(aigov_bucket_balance(&b, T0 + 300 * 100000), 0);
	assert_int_equal(aigov_bucket_balance(&b, T0 + 300 * 100000 - 1), -1);
}

static void
test_overflow_saturates(void **state)
{
	AigovBucket b;
	int64_t		at;

	(void) state;
	aigov_bucket_init(&b, 1, 1);
	aigov_bucket_force_take(&b, INT64_MAX, T0);
	aigov_bucket_force_take(&b, INT64_MAX, T0);
	assert_int_equal(b.tat_us, INT64_MAX);
	assert_int_equal(aigov_bucket_remaining(&b, T0), 0);
	assert_int_equal(aigov_bucket_try_take(&b, 1, T0, &at), AIGOV_BUCKET_WAIT);
	assert_true(at > T0 + INT64_C(1000000000000000));
	assert_int_equal(aigov_bucket_balance(&b, T0), -(INT64_MAX - T0 - 1));
	assert_int_equal(aigov_bucket_utilisation_ppm(&b, T0), INT64_MAX);

	/*
	 * Huge limit and period with a clock near the end of time: sums saturate
	 * (UBSan would abort on a wrap) and the bucket errs toward "used", never
	 * toward more than the limit.
	 */
	aigov_bucket_init(&b, INT64_MAX, INT64_MAX);
	assert_int_equal(aigov_bucket_try_take(&b, INT64_MAX / 2, INT64_MAX - 10, &at),
					 AIGOV_BUCKET_OK);
	assert_true(aigov_bucket_remaining(&b, INT64_MAX - 10) <=
				INT64_MAX - INT64_MAX / 2);
	aigov_bucket_give_back(&b, INT64_MAX, INT64_MAX - 5);
	assert_true(aigov_bucket_remaining(&b, INT64_MAX - 5) >= 0);
	/* a huge limit and period with a sane clock stay exact */
	aigov_bucket_init(&b, INT64_MAX / 4, INT64_MAX / 8);
	assert_int_equal(aigov_bucket_try_take(&b, INT64_MAX / 8, T0, &at),
					 AIGOV_BUCKET_OK);
	assert_int_equal(aigov_bucket_remaining(&b, T0), INT64_MAX / 4 - INT64_MAX / 8);
	aigov_bucket_give_back(&b, INT64_MAX, T0 + 5);
	assert_int_equal(aigov_bucket_remaining(&b, T0 + 5), INT64_MAX / 4);

	/* clock near the start of time */
	aigov_bucket_init(&b, 10, MIN_US);
	assert_int_equal(aigov_bucket_try_take(&b, 10, INT64_MIN + 5, &at),
					 AIGOV_BUCKET_OK);
	assert_int_equal(aigov_bucket_remaining(&b, INT64_MIN + 5), 0);
	aigov_bucket_set_remaining(&b, INT64_MIN, INT64_MIN + 5);
	assert_int_equal(aigov_bucket_remaining(&b, INT64_MIN + 5), 0);
}

static void
test_clock_small_step_back(void **state)
{
	AigovBucket b;
	int64_t		at;

	(void) state;
	aigov_bucket_init(&b, 600, MIN_US);
	for (int i = 0; i < 600; i++)
		aigov_bucket_try_take(&b, 1, T0 + 10000000, NULL);
	/* a reading half a second older is treated as the newest instant */
	assert_int_equal(aigov_bucket_try_take(&b, 1, T0 + 9500000, &at),
					 AIGOV_BUCKET_WAIT);
	assert_int_equal(at, T0 + 10000000 + 100000);
	assert_int_equal(aigov_bucket_remaining(&b, T0 + 9500000), 0);
	/* and grants nothing extra when the clock moves on */
	assert_int_equal(aigov_bucket_try_take(&b, 1, T0 + 10000000 + 99999, &at),
					 AIGOV_BUCKET_WAIT);
	assert_int_equal(aigov_bucket_try_take(&b, 1, T0 + 10000000 + 100000, &at),
					 AIGOV_BUCKET_OK);
}

static void
test_clock_big_step_back(void **state)
{
	AigovBucket b;
	int64_t		at;

	(void) state;
	aigov_bucket_init(&b, 600, MIN_US);
	for (int i = 0; i < 300; i++)
		aigov_bucket_try_take(&b, 1, T0 + 100 * 1000000LL, NULL);
	/* the clock is set back 50 s: the bucket keeps its fill ... */
	assert_int_equal(aigov_bucket_try_take(&b, 1, T0 + 50 * 1000000LL, &at),
					 AIGOV_BUCKET_OK);
	assert_int_equal(aigov_bucket_remaining(&b, T0 + 50 * 1000000LL), 299);
	/* ... and is not blocked until the clock catches up */
	for (int i = 0; i < 299; i++)
		assert_int_equal(aigov_bucket_try_take(&b, 1, T0 + 50 * 1000000LL, &at),
						 AIGOV_BUCKET_OK);
	assert_int_equal(aigov_bucket_try_take(&b, 1, T0 + 50 * 1000000LL, &at),
					 AIGOV_BUCKET_WAIT);
	assert_int_equal(at, T0 + 50 * 1000000LL + 100000);
}

static void
test_set_remaining(void **state)
{
	AigovBucket b;

	(void) state;
	aigov_bucket_init(&b, 1000, MIN_US);
	aigov_bucket_set_remaining(&b, 10, T0);
	assert_int_equal(aigov_bucket_remaining(&b, T0), 10);
	aigov_bucket_set_remaining(&b, -20, T0);
	assert_int_equal(aigov_bucket_balance(&b, T0), -20);
	aigov_bucket_set_remaining(&b, 5000, T0);
	assert_int_equal(aigov_bucket_remaining(&b, T0), 1000);
	aigov_bucket_set_remaining(&b, 1000, T0);
	assert_int_equal(aigov_bucket_utilisation_ppm(&b, T0), 0);
}

static void
test_burst_capacity(void **state)
{
	AigovBucket b;
	int64_t		at;

	(void) state;
	/* a pacer of 600/min allowed to run 10 units ahead */
	aigov_bucket_init(&b, 600, MIN_US);
	assert_int_equal(aigov_bucket_available_at_burst(&b, 1, 10, T0, &at),
					 AIGOV_BUCKET_OK);
	for (int i = 0; i < 10; i++)
		aigov_bucket_force_take(&b, 1, T0);
	assert_int_equal(aigov_bucket_available_at_burst(&b, 1, 10, T0, &at),
					 AIGOV_BUCKET_WAIT);
	assert_int_equal(at, T0 + 100000);
	/* the full bucket would still allow it */
	assert_int_equal(aigov_bucket_available_at(&b, 1, T0, &at), AIGOV_BUCKET_OK);
	/* burst 1: strict spacing */
	assert_int_equal(aigov_bucket_available_at_burst(&b, 1, 1, T0, &at),
					 AIGOV_BUCKET_WAIT);
	assert_int_equal(at, T0 + 1000000);
	assert_int_equal(aigov_bucket_available_at_burst(&b, 2, 1, T0, &at),
					 AIGOV_BUCKET_NEVER);
	/* a burst above the limit is allowed: 10 + 700 units ahead fit in 800 */
	assert_int_equal(aigov_bucket_available_at_burst(&b, 700, 800, T0, &at),
					 AIGOV_BUCKET_OK);
	/* ... but not in 705: wait for 5 units (500 ms) */
	assert_int_equal(aigov_bucket_available_at_burst(&b, 700, 705, T0, &at),
					 AIGOV_BUCKET_WAIT);
	assert_int_equal(at, T0 + 500000);
}

static void
test_muldiv(void **state)
{
	uint64_t	s = 42;

	(void) state;
	assert_int_equal(aigov_bucket_muldiv(INT64_MAX, INT64_MAX, INT64_MAX, false),
					 INT64_MAX);
	assert_int_equal(aigov_bucket_muldiv(INT64_MAX, 2, 4, false), INT64_MAX / 2);
	assert_int_equal(aigov_bucket_muldiv(INT64_MAX, 3, 2, false), INT64_MAX);
	assert_int_equal(aigov_bucket_muldiv(7, 1, 2, false), 3);
	assert_int_equal(aigov_bucket_muldiv(7, 1, 2, true), 4);
	assert_int_equal(aigov_bucket_muldiv(-7, 1, 2, true), 0);
	assert_int_equal(aigov_bucket_muldiv(7, 1, 0, true), INT64_MAX);
#ifdef __SIZEOF_INT128__
	for (int i = 0; i < 200000; i++)
	{
		int64_t		a = (int64_t) (rng_next(&s) >> (1 + rng_next(&s) % 63));
		int64_t		b = (int64_t) (rng_next(&s) >> (1 + rng_next(&s) % 63));
		int64_t		c = (int64_t) (rng_next(&s) >> (1 + rng_next(&s) % 63));
		unsigned __int128 p;
		unsigned __int128 q;

		if (c == 0)
			c = 1;
		p = (unsigned __int128) a * (unsigned __int128) b;
		q = p / (unsigned __int128) c;
		if (q > (unsigned __int128) INT64_MAX)
			assert_int_equal(aigov_bucket_muldiv(a, b, c, false), INT64_MAX);
		else
		{
			assert_int_equal(aigov_bucket_muldiv(a, b, c, false), (int64_t) q);
			if (p % (unsigned __int128) c != 0 && q < (unsigned __int128) INT64_MAX)
				assert_int_equal(aigov_bucket_muldiv(a, b, c, true),
								 (int64_t) q + 1);
		}
	}
#else
	(void) s;
#endif
}

#ifdef __SIZEOF_INT128__
/*
 * Compare against an independent level-based model: level counts units
 * times period (exact), refills by dt * limit, and admits while level >=
 * cost * period.  Random limits, periods, costs and time steps.
 */
static void
test_random_against_reference(void **state)
{
	uint64_t	s = 7;

	(void) state;
	for (int round = 0; round < 200; round++)
	{
		AigovBucket b;
		int64_t		L = 1 + (int64_t) (rng_next(&s) % 100000);
		int64_t		P = 1 + (int64_t) (rng_next(&s) % (2 * DAY_US));
		__int128	cap;
		__int128	level;
		int64_t		now = T0 + (int64_t) (rng_next(&s) % 1000000);
		int64_t		last = now;

		if (round % 3 == 0)
			L = 1 + (int64_t) (rng_next(&s) % INT64_C(100000000000));
		cap = (__int128) L * P;
		level = cap;
		aigov_bucket_init(&b, L, P);
		for (int step = 0; step < 300; step++)
		{
			int64_t		cost = 1 + (int64_t) (rng_next(&s) % (uint64_t) (L / 3 + 1));
			int64_t		at;
			AigovBucketResult r;
			__int128	need;

			now += (int64_t) (rng_next(&s) % (uint64_t) (P / 5 + 1));
			level += (__int128) (now - last) * L;
			if (level > cap)
				level = cap;
			last = now;

			assert_int_equal(aigov_bucket_remaining(&b, now),
							 (int64_t) (level / P));
			r = aigov_bucket_try_take(&b, cost, now, &at);
			need = (__int128) cost * P;
			if (level >= need)
			{
				assert_int_equal(r, AIGOV_BUCKET_OK);
				level -= need;
			}
			else
			{
				__int128	wait = (need - level + L - 1) / L;

				assert_int_equal(r, AIGOV_BUCKET_WAIT);
				assert_int_equal(at, now + (int64_t) wait);
				/* and at that instant it fits, not one microsecond before */
				assert_int_equal(aigov_bucket_available_at(&b, cost, at - 1, &at),
								 AIGOV_BUCKET_WAIT);
				assert_int_equal(aigov_bucket_available_at(&b, cost,
														   now + (int64_t) wait,
														   &at),
								 AIGOV_BUCKET_OK);
			}
			if (step % 17 == 0)
			{
				int64_t		back = 1 + (int64_t) (rng_next(&s) % (uint64_t) (cost));

				aigov_bucket_give_back(&b, back, now);
				level += (__int128) back * P;
				if (level > cap)
					level = cap;
			}
		}
	}
}
#endif

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_full),
		cmocka_unit_test(test_exact_refill_and_window_edge),
		cmocka_unit_test(test_no_drift_fractional_interval),
		cmocka_unit_test(test_cost_limits),
		cmocka_unit_test(test_unlimited),
		cmocka_unit_test(test_day_limit_big_numbers),
		cmocka_unit_test(test_set_limit_keeps_fraction),
		cmocka_unit_test(test_give_back),
		cmocka_unit_test(test_force_take_debt),
		cmocka_unit_test(test_overflow_saturates),
		cmocka_unit_test(test_clock_small_step_back),
		cmocka_unit_test(test_clock_big_step_back),
		cmocka_unit_test(test_set_remaining),
		cmocka_unit_test(test_burst_capacity),
		cmocka_unit_test(test_muldiv),
#ifdef __SIZEOF_INT128__
		cmocka_unit_test(test_random_against_reference),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
