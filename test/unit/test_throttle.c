/*-------------------------------------------------------------------------
 * test_throttle.c
 *	  cmocka tests of the adaptive throttle (src/throttle.c): the load,
 *	  the PI rule's step response, its anti-windup, the integral's use
 *	  (rejecting another client's spending), and the class ordering.
 *
 * The closed-loop tests drive a simulated provider bucket (AigovBucket,
 * 600 requests a minute) with a simulated clock in 1 ms steps.
 *
 * IDENTIFICATION
 *	  test/unit/test_throttle.c
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "bucket.h"
#include "throttle.h"

#define MIN_US	AIGOV_USECS_PER_MINUTE
#define SEC_US	INT64_C(1000000)
#define T0		INT64_C(1700000000000000)
#define PPM		INT64_C(1000000)
#define RPM		600
#define STEP_US	1000

/* A closed loop: one provider bucket, offered demand per class. */
typedef struct Loop
{
	AigovThrottle th;
	AigovBucket b;
	int64_t		t;
	int64_t		offer_ppm[AIGOV_THROTTLE_NCLASSES]; /* offered, ppm of RPM */
	int64_t		other_ppm;		/* another client's spending */
	int64_t		acc[AIGOV_THROTTLE_NCLASSES];	/* arrivals, in ppm of a job */
	int64_t		other_acc;
	int64_t		queued[AIGOV_THROTTLE_NCLASSES];
	int64_t		retry[AIGOV_THROTTLE_NCLASSES];
	int64_t		sent[AIGOV_THROTTLE_NCLASSES];
	int64_t		refused;		/* the bucket said no: a provider 429 */
	int64_t		waited_interactive; /* interactive jobs held back */
	int64_t		max_u;
} Loop;

static void
loop_init(Loop *lp, int64_t fill_pct)
{
	memset(lp, 0, sizeof(*lp));
	aigov_throttle_init(&lp->th, AIGOV_THROTTLE_DEFAULT_KNEE_PCT);
	aigov_bucket_init(&lp->b, RPM, MIN_US);
	aigov_bucket_set_remaining(&lp->b, RPM - RPM * fill_pct / 100, T0);
	lp->t = T0;
}

static void
loop_load(const Loop *lp, AigovThrottleLoad *l)
{
	aigov_throttle_load_init(l);
	l->req_limit = RPM;
	l->req_used = RPM - aigov_bucket_balance(&lp->b, lp->t);
}

/* Runs the loop for `us`. */
static void
loop_run(Loop *lp, int64_t us)
{
	int64_t		end = lp->t + us;

	for (; lp->t < end; lp->t += STEP_US)
	{
		AigovThrottleLoad l;
		int64_t		nb;

		lp->other_acc += lp->other_ppm * RPM / 60000;
		while (lp->other_acc >= PPM)
		{
			lp->other_acc -= PPM;
			aigov_bucket_force_take(&lp->b, 1, lp->t);
		}
		for (int c = 0; c < AIGOV_THROTTLE_NCLASSES; c++)
		{
			lp->acc[c] += lp->offer_ppm[c] * RPM / 60000;
			lp->queued[c] += lp->acc[c] / PPM;
			lp->acc[c] %= PPM;
			while (lp->queued[c] > 0 && lp->t >= lp->retry[c])
			{
				loop_load(lp, &l);
				if (aigov_throttle_admit(&lp->th, &l, c, 0, lp->t, &nb) !=
					AIGOV_THROTTLE_OK)
				{
					assert_true(nb > lp->t);
					lp->retry[c] = nb;
					if (c == AIGOV_THROTTLE_INTERACTIVE)
						lp->waited_interactive++;
					break;
				}
				aigov_throttle_charge(&lp->th, c, 0, lp->t);
				if (aigov_bucket_try_take(&lp->b, 1, lp->t, &nb) !=
					AIGOV_BUCKET_OK)
					lp->refused++;
				lp->queued[c]--;
				lp->sent[c]++;
			}
		}
		loop_load(lp, &l);
		/* the worker's tick: every 100 ms, demand or not */
		if ((lp->t - T0) % 100000 == 0)
			aigov_throttle_update(&lp->th, &l, lp->t);
		if (aigov_throttle_load_ppm(&l) > lp->max_u)
			lp->max_u = aigov_throttle_load_ppm(&l);
	}
}

static int64_t
loop_u(const Loop *lp)
{
	AigovThrottleLoad l;

	loop_load(lp, &l);
	return aigov_throttle_load_ppm(&l);
}

static int64_t
total_sent(const Loop *lp)
{
	return lp->sent[0] + lp->sent[1] + lp->sent[2];
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
test_class_names(void **state)
{
	(void) state;
	assert_int_equal(aigov_throttle_class("batch"), AIGOV_THROTTLE_BATCH);
	assert_int_equal(aigov_throttle_class("background"), AIGOV_THROTTLE_BACKGROUND);
	assert_int_equal(aigov_throttle_class("interactive"), AIGOV_THROTTLE_INTERACTIVE);
	assert_int_equal(aigov_throttle_class("nonsense"), AIGOV_THROTTLE_INTERACTIVE);
	assert_int_equal(aigov_throttle_class(NULL), AIGOV_THROTTLE_INTERACTIVE);
	assert_string_equal(aigov_throttle_class_name(AIGOV_THROTTLE_BATCH), "batch");
}

/* At or below the knee nothing is paced and the level is 0. */
static void
test_below_knee_disengaged(void **state)
{
	AigovThrottle th;
	AigovThrottleLoad l = {.req_used = 420, .req_limit = 600,
	.tok_used = 0, .tok_limit = 60000};
	int64_t		nb;

	(void) state;
	aigov_throttle_init(&th, 70);
	for (int i = 0; i < 1000; i++)
	{
		assert_int_equal(aigov_throttle_admit(&th, &l, AIGOV_THROTTLE_BATCH,
											  5000, T0 + i, &nb),
						 AIGOV_THROTTLE_OK);
		assert_int_equal(nb, T0 + i);
		aigov_throttle_charge(&th, AIGOV_THROTTLE_BATCH, 5000, T0 + i);
	}
	assert_false(th.engaged);
	assert_int_equal(aigov_throttle_level_ppm(&th), 0);
	assert_int_equal(aigov_throttle_share_ppm(&th, AIGOV_THROTTLE_BATCH), PPM);

	/* no known limit: never engaged, whatever the use */
	aigov_throttle_load_init(&l);
	l.req_used = 1000000;
	aigov_throttle_update(&th, &l, T0 + MIN_US);
	assert_false(th.engaged);
}

/*
 * The proportional term: 1% above the knee takes Kp * 1/30 off the rate
 * at once; the spacing of one request is the refill interval divided by
 * the share.
 */
static void
test_proportional_and_spacing(void **state)
{
	AigovThrottle th;
	AigovThrottleLoad l = {.req_used = 462, .req_limit = 600,
	.tok_used = 0, .tok_limit = 0};
	int64_t		nb;

	(void) state;
	aigov_throttle_init(&th, 70);
	aigov_throttle_update(&th, &l, T0);
	/* u = 77%: e = -0.07/0.3 = -233333 ppm; rate = 1 - 2 * 0.2333 */
	assert_true(th.engaged);
	assert_int_equal(th.rate_ppm, PPM - 466666);
	/* one request of 600/min at that share: 100 ms / 0.5333 */
	assert_int_equal(aigov_throttle_admit(&th, &l, AIGOV_THROTTLE_INTERACTIVE,
										  0, T0, &nb), AIGOV_THROTTLE_OK);
	/* not charged (the job found no key): the next one may go */
	assert_int_equal(aigov_throttle_admit(&th, &l, AIGOV_THROTTLE_INTERACTIVE,
										  0, T0, &nb), AIGOV_THROTTLE_OK);
	aigov_throttle_charge(&th, AIGOV_THROTTLE_INTERACTIVE, 0, T0);
	assert_int_equal(th.cls[AIGOV_THROTTLE_INTERACTIVE].released, 1);
	assert_int_equal(aigov_throttle_admit(&th, &l, AIGOV_THROTTLE_INTERACTIVE,
										  0, T0, &nb), AIGOV_THROTTLE_WAIT);
	assert_in_range(nb - T0, 187400, 187600);

	/*
	 * a second waiting job gets the same slot: held jobs come due together,
	 * and the claim takes them in their fair order
	 */
	assert_int_equal(aigov_throttle_admit(&th, &l, AIGOV_THROTTLE_INTERACTIVE,
										  0, T0, &nb), AIGOV_THROTTLE_WAIT);
	assert_in_range(nb - T0, 187400, 187600);
	/* far in debt: the floor */
	l.req_used = 900;
	aigov_throttle_update(&th, &l, T0);
	assert_int_equal(th.rate_ppm, AIGOV_THROTTLE_MIN_RATE_PPM);
}

/*
 * Step response: an idle provider (bucket full) gets 1.5x its quota of
 * demand for 5 minutes.  Nothing is refused, the fill never runs far past
 * the knee, settles at it, and the send rate settles at the refill rate.
 */
static void
test_step_response(void **state)
{
	Loop		lp;
	int64_t		before;
	int64_t		u;

	(void) state;
	loop_init(&lp, 0);
	lp.offer_ppm[AIGOV_THROTTLE_INTERACTIVE] = 1500000;
	loop_run(&lp, 3 * MIN_US);
	before = total_sent(&lp);
	loop_run(&lp, 2 * MIN_US);
	u = loop_u(&lp);
	printf("# step: max u %.3f, u at 5 min %.3f, sent in minutes 4-5 %lld\n",
		   lp.max_u / 1e6, u / 1e6, (long long) (total_sent(&lp) - before));
	assert_int_equal(lp.refused, 0);
	assert_true(lp.max_u < 850000);
	assert_in_range(u, 680000, 720000);
	/* 2 minutes at the refill rate is 1200 */
	assert_in_range(total_sent(&lp) - before, 1170, 1205);
}

/*
 * Anti-windup, top: minutes of idle leave the integral at 1 (no stored
 * credit), so the first update above the knee slows at once.  A naive
 * integral would sit at 1 + 10 min / Ti here and release a burst.
 */
static void
test_anti_windup_idle(void **state)
{
	Loop		lp;

	(void) state;
	loop_init(&lp, 0);
	loop_run(&lp, 10 * MIN_US);
	assert_int_equal(lp.th.integral_ppm, PPM);
	assert_false(lp.th.engaged);
	{
		AigovThrottleLoad l = {.req_used = 450, .req_limit = 600};

		aigov_throttle_update(&lp.th, &l, lp.t);
		assert_true(lp.th.engaged);
		assert_true(lp.th.rate_ppm < PPM);
	}
}

/*
 * Anti-windup, bottom: while the output is pinned at the floor the
 * integral stops, so once the fill falls under the knee the rate comes
 * back at once, not after unwinding minutes of error.  Far in debt the
 * proportional term alone pins the output and the integral never moves;
 * a little above the knee it stops where the output reaches the floor.
 */
static void
test_anti_windup_overload(void **state)
{
	AigovThrottle th;
	AigovThrottleLoad l = {.req_used = 720, .req_limit = 600};
	int64_t		t = T0;

	(void) state;
	aigov_throttle_init(&th, 70);
	for (; t < T0 + 10 * MIN_US; t += 100000)
		aigov_throttle_update(&th, &l, t);
	assert_int_equal(th.integral_ppm, PPM);
	assert_int_equal(th.rate_ppm, AIGOV_THROTTLE_MIN_RATE_PPM);

	/* u = 80%: e = -1/3, P = -2/3; I stops at floor + 2/3 */
	l.req_used = 480;
	for (int64_t end = t + 10 * MIN_US; t < end; t += 100000)
		aigov_throttle_update(&th, &l, t);
	assert_int_equal(th.rate_ppm, AIGOV_THROTTLE_MIN_RATE_PPM);
	assert_in_range(th.integral_ppm, 900000, 930000);

	/* 10 points under the knee: e = 1/3, the rate is back at once */
	l.req_used = 360;
	aigov_throttle_update(&th, &l, t);
	assert_int_equal(th.rate_ppm, PPM);
	for (int64_t end = t + 20 * SEC_US; t < end; t += 100000)
		aigov_throttle_update(&th, &l, t);
	assert_int_equal(th.integral_ppm, PPM);
	assert_false(th.engaged);
}

/*
 * The integral's use: another client spends 30% of the key.  P alone
 * would settle 4.5 points above the knee (rate 0.7 = 1 + Kp e); the
 * integral brings the fill back to the knee, with no refusal.
 */
static void
test_integral_rejects_other_client(void **state)
{
	Loop		lp;
	int64_t		u;

	(void) state;
	loop_init(&lp, 0);
	lp.offer_ppm[AIGOV_THROTTLE_INTERACTIVE] = 1500000;
	lp.other_ppm = 300000;
	loop_run(&lp, 6 * MIN_US);
	u = loop_u(&lp);
	printf("# other client: u %.3f, integral %.3f\n", u / 1e6,
		   lp.th.integral_ppm / 1e6);
	assert_int_equal(lp.refused, 0);
	assert_in_range(u, 685000, 715000);
	assert_in_range(lp.th.integral_ppm, 600000, 800000);
}

/*
 * Class ordering: interactive offers 60% of the quota, background 30%,
 * batch 100%.  Interactive is never held back; background gets what is
 * left; batch keeps its floor, and the total stays at the refill rate.
 */
static void
test_class_ordering(void **state)
{
	Loop		lp;
	int64_t		s[AIGOV_THROTTLE_NCLASSES];
	int64_t		w0;

	(void) state;
	loop_init(&lp, 70);
	lp.offer_ppm[AIGOV_THROTTLE_INTERACTIVE] = 600000;
	lp.offer_ppm[AIGOV_THROTTLE_BACKGROUND] = 300000;
	lp.offer_ppm[AIGOV_THROTTLE_BATCH] = 1000000;
	loop_run(&lp, 2 * MIN_US);
	for (int c = 0; c < AIGOV_THROTTLE_NCLASSES; c++)
		s[c] = lp.sent[c];
	w0 = lp.waited_interactive;
	loop_run(&lp, 2 * MIN_US);
	for (int c = 0; c < AIGOV_THROTTLE_NCLASSES; c++)
		s[c] = lp.sent[c] - s[c];
	printf("# classes over 2 min: interactive %lld, background %lld, batch %lld, level %.3f\n",
		   (long long) s[0], (long long) s[1], (long long) s[2],
		   aigov_throttle_level_ppm(&lp.th) / 1e6);
	assert_int_equal(lp.refused, 0);
	/* interactive: all it offered (720 in 2 min) */
	assert_in_range(s[AIGOV_THROTTLE_INTERACTIVE], 715, 725);
	assert_true(lp.waited_interactive - w0 <= 5);
	/* background before batch; batch keeps at least its floor (60) */
	assert_true(s[AIGOV_THROTTLE_BACKGROUND] > s[AIGOV_THROTTLE_BATCH]);
	assert_true(s[AIGOV_THROTTLE_BATCH] >= 50);
	assert_in_range(s[0] + s[1] + s[2], 1140, 1210);
	assert_true(aigov_throttle_share_ppm(&lp.th, AIGOV_THROTTLE_BATCH) <=
				aigov_throttle_share_ppm(&lp.th, AIGOV_THROTTLE_BACKGROUND));
	assert_true(aigov_throttle_level_ppm(&lp.th) > 500000);

	/* demand stops: the throttle lets go */
	for (int c = 0; c < AIGOV_THROTTLE_NCLASSES; c++)
		lp.offer_ppm[c] = 0;
	lp.queued[1] = lp.queued[2] = 0;
	loop_run(&lp, MIN_US);
	assert_false(lp.th.engaged);
	assert_int_equal(aigov_throttle_level_ppm(&lp.th), 0);
}

/*
 * With no interactive work seen, background and batch still leave the
 * interactive reserve free; interactive may use the whole output.
 */
static void
test_interactive_reserve(void **state)
{
	AigovThrottle th;
	AigovThrottleLoad l = {.req_used = 426, .req_limit = 600};

	(void) state;
	aigov_throttle_init(&th, 70);
	aigov_throttle_update(&th, &l, T0);
	assert_true(th.engaged);
	assert_int_equal(aigov_throttle_share_ppm(&th, AIGOV_THROTTLE_INTERACTIVE),
					 th.rate_ppm);
	assert_int_equal(aigov_throttle_share_ppm(&th, AIGOV_THROTTLE_BACKGROUND),
					 th.rate_ppm - AIGOV_THROTTLE_INTERACTIVE_RESERVE_PPM);
	assert_int_equal(aigov_throttle_share_ppm(&th, AIGOV_THROTTLE_BATCH),
					 th.rate_ppm - AIGOV_THROTTLE_INTERACTIVE_RESERVE_PPM);
	assert_int_equal(aigov_throttle_level_ppm(&th),
					 AIGOV_THROTTLE_PPM - th.rate_ppm +
					 AIGOV_THROTTLE_INTERACTIVE_RESERVE_PPM);
}

/* A clock that steps back parks no class for longer than one period. */
static void
test_clock_backwards(void **state)
{
	AigovThrottle th;
	AigovThrottleLoad l = {.req_used = 599, .req_limit = 600};
	int64_t		nb;

	(void) state;
	aigov_throttle_init(&th, 70);
	(void) aigov_throttle_admit(&th, &l, AIGOV_THROTTLE_BATCH, 0,
								T0 + 3600 * SEC_US, &nb);
	aigov_throttle_charge(&th, AIGOV_THROTTLE_BATCH, 0, T0 + 3600 * SEC_US);
	assert_int_equal(aigov_throttle_admit(&th, &l, AIGOV_THROTTLE_BATCH, 0, T0,
										  &nb), AIGOV_THROTTLE_WAIT);
	assert_true(nb <= T0 + MIN_US);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_class_names),
		cmocka_unit_test(test_below_knee_disengaged),
		cmocka_unit_test(test_proportional_and_spacing),
		cmocka_unit_test(test_step_response),
		cmocka_unit_test(test_anti_windup_idle),
		cmocka_unit_test(test_anti_windup_overload),
		cmocka_unit_test(test_integral_rejects_other_client),
		cmocka_unit_test(test_class_ordering),
		cmocka_unit_test(test_interactive_reserve),
		cmocka_unit_test(test_clock_backwards),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
