/*-------------------------------------------------------------------------
 * throttle.c
 *	  Adaptive throttle: a static pacing law over a provider's aggregate
 *	  bucket fill.
 *
 * The controlled quantity is the fill of the provider's buckets (the sum of
 * its keys' shadow buckets).  A bucket already integrates the difference
 * between what we send and what it refills, so a proportional law on its
 * fill is enough to drive it back to the knee without steady-state error;
 * an integral term would add a second integrator (overshoot, wind-up while
 * the demand is below the limit) and a derivative term would amplify the
 * step changes that header corrections cause.  Hence:
 *
 *	  u <= knee:  share = 1                (no shaping; keys pace themselves)
 *	  u >  knee:  share = 1 - (1 - floor) * s^2,  s = (u - knee) / (1 - knee)
 *
 * u is utilisation (used / limit, the worse of the two axes), share the
 * fraction of the aggregate refill rate that may be dispatched.  The
 * quadratic starts with zero slope at the knee (no kink, so no chatter
 * around it) and reaches `floor` when the buckets are empty.  Above the
 * knee, dispatches are spaced cost / (share * rate) apart, with no burst.
 *
 * Integer only (parts per million); the caller holds the provider lock.
 *
 * IDENTIFICATION
 *	  src/throttle.c
 *-------------------------------------------------------------------------
 */
#include "throttle.h"

#include "bucket.h"

#define PPM		AIGOV_THROTTLE_PPM

static int64_t
clamp_pct(int32_t pct, int32_t lo, int32_t hi)
{
	return pct < lo ? lo : pct > hi ? hi : pct;
}

/*
 * aigov_throttle_init
 *		Set up a throttle with no pending spacing.  knee_pct is clamped to
 *		[0, 99], floor_pct to [1, 100].
 */
void
aigov_throttle_init(AigovThrottle *th, int32_t knee_pct, int32_t floor_pct)
{
	th->knee_pct = (int32_t) clamp_pct(knee_pct, 0, 99);
	th->floor_pct = (int32_t) clamp_pct(floor_pct, 1, 100);
	th->period_us = AIGOV_USECS_PER_MINUTE;
	th->req_tat_us = INT64_MIN;
	th->tok_tat_us = INT64_MIN;
}

void
aigov_throttle_load_init(AigovThrottleLoad *load)
{
	load->req_used = 0;
	load->req_limit = 0;
	load->tok_used = 0;
	load->tok_limit = 0;
}

static int64_t
axis_ppm(int64_t used, int64_t limit)
{
	if (limit <= 0 || used <= 0)
		return 0;
	return aigov_bucket_muldiv(used, PPM, limit, false);
}

/*
 * aigov_throttle_load_ppm
 *		Aggregate utilisation: the worse of the two axes, in ppm (may
 *		exceed 1,000,000 while buckets are in debt).  0 with no known limit.
 */
int64_t
aigov_throttle_load_ppm(const AigovThrottleLoad *load)
{
	int64_t		r = axis_ppm(load->req_used, load->req_limit);
	int64_t		t = axis_ppm(load->tok_used, load->tok_limit);

	return r > t ? r : t;
}

/*
 * aigov_throttle_fraction_ppm
 *		The controller law: share of the refill rate allowed at utilisation
 *		load_ppm.  Non-increasing in load_ppm, 1,000,000 up to the knee,
 *		floor_pct at and beyond 100%.
 */
int64_t
aigov_throttle_fraction_ppm(int64_t load_ppm, int32_t knee_pct,
							int32_t floor_pct)
{
	int64_t		knee = clamp_pct(knee_pct, 0, 99) * 10000;
	int64_t		floor = clamp_pct(floor_pct, 1, 100) * 10000;
	int64_t		s;
	int64_t		s2;

	if (load_ppm <= knee)
		return PPM;
	s = load_ppm >= PPM ? PPM :
		aigov_bucket_muldiv(load_ppm - knee, PPM, PPM - knee, false);
	s2 = aigov_bucket_muldiv(s, s, PPM, false);
	return PPM - aigov_bucket_muldiv(PPM - floor, s2, PPM, false);
}

/* Spacing one axis needs for `cost` at `share` of `limit` per period. */
static int64_t
axis_interval(int64_t cost, int64_t limit, int64_t period_us, int64_t share)
{
	if (limit <= 0 || cost <= 0)
		return 0;
	return aigov_bucket_muldiv(aigov_bucket_muldiv(cost, period_us, limit,
												   true),
							   PPM, share, true);
}

/*
 * aigov_throttle_interval_us
 *		How long a dispatch of est_tokens holds the provider back at the
 *		current load: 0 at or below the knee.
 */
int64_t
aigov_throttle_interval_us(const AigovThrottle *th,
						   const AigovThrottleLoad *load, int64_t est_tokens)
{
	int64_t		share = aigov_throttle_fraction_ppm(aigov_throttle_load_ppm(load),
													th->knee_pct,
													th->floor_pct);
	int64_t		r;
	int64_t		t;

	if (share >= PPM)
		return 0;
	r = axis_interval(1, load->req_limit, th->period_us, share);
	t = axis_interval(est_tokens, load->tok_limit, th->period_us, share);
	return r > t ? r : t;
}

/*
 * Longest wait a pending spacing may still impose: one full-cost interval
 * at the floor share.  Anything beyond is a clock that went backwards and
 * is cut, so a clock step never parks a provider.
 */
static int64_t
max_pending(const AigovThrottle *th)
{
	return aigov_bucket_muldiv(th->period_us, 100, th->floor_pct, true);
}

static int64_t
pending_until(const AigovThrottle *th, int64_t tat, int64_t now_us)
{
	int64_t		cap = max_pending(th);

	if (tat <= now_us)
		return now_us;
	if (now_us > INT64_MAX - cap || tat - now_us > cap)
		return now_us > INT64_MAX - cap ? INT64_MAX : now_us + cap;
	return tat;
}

/*
 * aigov_throttle_check
 *		May a job of est_tokens be dispatched to this provider now?
 *		Changes nothing.
 *
 * At or below the knee always OK.  Above it, OK once the spacing left by
 * the previous dispatch has elapsed; otherwise WAIT with *not_before_us.
 */
AigovThrottleStatus
aigov_throttle_check(const AigovThrottle *th, const AigovThrottleLoad *load,
					 int64_t est_tokens, int64_t now_us,
					 int64_t *not_before_us)
{
	int64_t		share = aigov_throttle_fraction_ppm(aigov_throttle_load_ppm(load),
													th->knee_pct,
													th->floor_pct);
	int64_t		t = now_us;
	int64_t		a;

	(void) est_tokens;			/* the spacing is charged after a dispatch */
	*not_before_us = now_us;
	if (share >= PPM)
		return AIGOV_THROTTLE_OK;
	if (load->req_limit > 0)
	{
		a = pending_until(th, th->req_tat_us, now_us);
		t = a > t ? a : t;
	}
	if (load->tok_limit > 0)
	{
		a = pending_until(th, th->tok_tat_us, now_us);
		t = a > t ? a : t;
	}
	if (t <= now_us)
		return AIGOV_THROTTLE_OK;
	*not_before_us = t;
	return AIGOV_THROTTLE_WAIT;
}

/*
 * aigov_throttle_note_dispatch
 *		Record that a job of est_tokens was dispatched now: above the knee
 *		the next one is pushed back by its spacing; at or below the knee any
 *		pending spacing is forgotten.
 */
void
aigov_throttle_note_dispatch(AigovThrottle *th, const AigovThrottleLoad *load,
							 int64_t est_tokens, int64_t now_us)
{
	int64_t		share = aigov_throttle_fraction_ppm(aigov_throttle_load_ppm(load),
													th->knee_pct,
													th->floor_pct);
	int64_t		base;
	int64_t		iv;

	if (share >= PPM)
	{
		th->req_tat_us = now_us;
		th->tok_tat_us = now_us;
		return;
	}

	base = pending_until(th, th->req_tat_us, now_us);
	iv = axis_interval(1, load->req_limit, th->period_us, share);
	th->req_tat_us = base > INT64_MAX - iv ? INT64_MAX : base + iv;

	base = pending_until(th, th->tok_tat_us, now_us);
	iv = axis_interval(est_tokens, load->tok_limit, th->period_us, share);
	th->tok_tat_us = base > INT64_MAX - iv ? INT64_MAX : base + iv;
}
