/*-------------------------------------------------------------------------
 * throttle.c
 *	  Adaptive throttle: a PI controller over a provider's aggregate bucket
 *	  fill, and the per-class pacers it drives.
 *
 * The controlled quantity is u, the fill of the provider's minute buckets
 * (the worse of requests and tokens, summed over its keys' shadows).  The
 * output is r, the rate at which jobs may be released, as a share of the
 * provider's refill rate.  Each update, with e = (knee - u) / (1 - knee)
 * clamped to [-1, 1]:
 *
 *	  I <- clamp(I + e * dt / Ti, r_min, 1)   unless the output is pinned
 *											  at r_min and e < 0
 *	  r  = clamp(I + Kp * e, r_min, 1)
 *
 * Anti-windup: a provider quota is a token bucket, so "unused rate" is
 * already stored in the bucket; an integral that kept growing while the
 * demand stayed below the limit would add a second store of credit and
 * release it as a burst the moment demand rose.  Hence I never exceeds 1
 * (never more than the refill rate once engaged), never goes below r_min,
 * and stops integrating while the output is pinned at the floor (where the
 * proportional term alone already brakes as hard as allowed).
 *
 * The controller is engaged while u is above the knee or I has not come
 * back to 1; disengaged, nothing is paced (the keys' own pacers shape the
 * traffic).  Engaged, each workload class has a pacer (GCRA): interactive
 * work may use r; background what interactive leaves of r (counting
 * interactive as at least a small reserve, so an interactive job finds
 * room on the keys); batch what both leave; background and batch never
 * below a small floor.  Each
 * class's release rate is measured (exponential average) to make that
 * split.  A job that may not go now gets a retry time: the pacer's next
 * slot, the same for every waiting job of the class, so that they come due
 * together and the claim takes them in their fair order (spread apart,
 * they came due in the order they were held, and tenants lost their
 * weights).  No herd follows: a worker whose jobs were held claims one job
 * at a time until one goes (plan.c).
 *
 * Integer only (parts per million); the caller holds the provider lock.
 *
 * IDENTIFICATION
 *	  src/throttle.c
 *-------------------------------------------------------------------------
 */
#include "throttle.h"

#include <string.h>

#include "bucket.h"

#define PPM		AIGOV_THROTTLE_PPM

static const char *const class_names[AIGOV_THROTTLE_NCLASSES] = {
	"interactive", "background", "batch"
};

static int64_t
clamp64(int64_t v, int64_t lo, int64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* a * b / c for a of either sign, b and c positive; rounds toward zero. */
static int64_t
signed_muldiv(int64_t a, int64_t b, int64_t c)
{
	if (a < 0)
		return -aigov_bucket_muldiv(-a, b, c, false);
	return aigov_bucket_muldiv(a, b, c, false);
}

static void
reset_pacers(AigovThrottle *th, int64_t now_us)
{
	for (int c = 0; c < AIGOV_THROTTLE_NCLASSES; c++)
	{
		th->cls[c].tat_us = now_us;
	}
}

/*
 * aigov_throttle_init
 *		A disengaged throttle: full rate, nothing measured yet.
 */
void
aigov_throttle_init(AigovThrottle *th, int32_t knee_pct)
{
	memset(th, 0, sizeof(*th));
	aigov_throttle_set_knee(th, knee_pct);
	th->period_us = AIGOV_USECS_PER_MINUTE;
	th->last_us = INT64_MIN;
	th->integral_ppm = PPM;
	th->rate_ppm = PPM;
	reset_pacers(th, INT64_MIN);
}

/* knee_pct is clamped to [1, 99]. */
void
aigov_throttle_set_knee(AigovThrottle *th, int32_t knee_pct)
{
	th->knee_pct = (int32_t) clamp64(knee_pct, 1, 99);
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
 * aigov_throttle_class
 *		The class of a workload class name; an unknown name (or NULL) is
 *		interactive, the class that is held back last.
 */
AigovThrottleClassId
aigov_throttle_class(const char *name)
{
	if (name != NULL)
		for (int c = 0; c < AIGOV_THROTTLE_NCLASSES; c++)
			if (strcmp(name, class_names[c]) == 0)
				return (AigovThrottleClassId) c;
	return AIGOV_THROTTLE_INTERACTIVE;
}

const char *
aigov_throttle_class_name(AigovThrottleClassId cls)
{
	return class_names[clamp64(cls, 0, AIGOV_THROTTLE_NCLASSES - 1)];
}

/*
 * aigov_throttle_update
 *		One step of the PI rule for the load seen now (see the banner).
 *		Steps are as long as the time since the last one, at most one
 *		period; a clock that went back makes a step of zero.
 */
void
aigov_throttle_update(AigovThrottle *th, const AigovThrottleLoad *load,
					  int64_t now_us)
{
	int64_t		knee = (int64_t) th->knee_pct * 10000;
	int64_t		dt = 0;
	int64_t		e;
	int64_t		p;
	int64_t		out;

	if (th->last_us != INT64_MIN && now_us > th->last_us)
		dt = now_us - th->last_us > th->period_us ? th->period_us :
			now_us - th->last_us;
	if (th->last_us == INT64_MIN || now_us > th->last_us)
		th->last_us = now_us;
	for (int c = 0; c < AIGOV_THROTTLE_NCLASSES; c++)
		th->cls[c].rate_ppm -= aigov_bucket_muldiv(th->cls[c].rate_ppm,
												   dt < AIGOV_THROTTLE_RATE_TAU_US ? dt : AIGOV_THROTTLE_RATE_TAU_US,
												   AIGOV_THROTTLE_RATE_TAU_US,
												   false);

	th->load_ppm = aigov_throttle_load_ppm(load);
	th->req_limit = load->req_limit;
	th->tok_limit = load->tok_limit;
	if (load->req_limit <= 0 && load->tok_limit <= 0)
	{
		/* nothing known to control: the keys find their limits alone */
		th->integral_ppm = PPM;
		th->rate_ppm = PPM;
		th->engaged = false;
		return;
	}

	e = clamp64(signed_muldiv(knee - th->load_ppm, PPM, PPM - knee), -PPM, PPM);
	p = signed_muldiv(e, AIGOV_THROTTLE_KP_PPM, PPM);
	out = th->integral_ppm + p;

	/*
	 * Anti-windup: no integration while the output is pinned at the floor and
	 * the error pushes it further down; the clamp keeps the integral within
	 * the output's range, so it never stores credit above 1.
	 */
	if (!(out <= AIGOV_THROTTLE_MIN_RATE_PPM && e < 0))
		th->integral_ppm += signed_muldiv(e, dt, AIGOV_THROTTLE_TI_US);
	th->integral_ppm = clamp64(th->integral_ppm, AIGOV_THROTTLE_MIN_RATE_PPM, PPM);
	th->rate_ppm = clamp64(th->integral_ppm + p, AIGOV_THROTTLE_MIN_RATE_PPM, PPM);

	if (th->load_ppm > knee || th->integral_ppm < PPM)
	{
		if (!th->engaged)
			reset_pacers(th, now_us);
		th->engaged = true;
	}
	else if (th->engaged)
	{
		th->engaged = false;
		reset_pacers(th, now_us);
	}
}

/*
 * aigov_throttle_share_ppm
 *		The release rate a class may use now, ppm of the provider's refill
 *		rate: interactive the controller's output; background what
 *		interactive leaves of it, counting interactive as at least
 *		AIGOV_THROTTLE_INTERACTIVE_RESERVE_PPM so that an interactive job
 *		arriving finds the keys with room; batch what both leave.
 *		Background and batch never get less than
 *		AIGOV_THROTTLE_MIN_CLASS_PPM.  PPM when disengaged.
 */
int64_t
aigov_throttle_share_ppm(const AigovThrottle *th, AigovThrottleClassId cls)
{
	int64_t		left = th->rate_ppm;
	int64_t		inter = th->cls[AIGOV_THROTTLE_INTERACTIVE].rate_ppm;

	if (!th->engaged)
		return PPM;
	if (cls == AIGOV_THROTTLE_INTERACTIVE)
		return left;
	left -= inter > AIGOV_THROTTLE_INTERACTIVE_RESERVE_PPM ? inter :
		AIGOV_THROTTLE_INTERACTIVE_RESERVE_PPM;
	for (int c = AIGOV_THROTTLE_BACKGROUND; c < (int) cls && c < AIGOV_THROTTLE_NCLASSES; c++)
		left -= th->cls[c].rate_ppm;
	return clamp64(left, AIGOV_THROTTLE_MIN_CLASS_PPM, th->rate_ppm);
}

/*
 * aigov_throttle_level_ppm
 *		How hard the provider is held back: the share of the refill rate
 *		that batch work, the first to be slowed, may not use.  0 when
 *		disengaged.
 */
int64_t
aigov_throttle_level_ppm(const AigovThrottle *th)
{
	if (!th->engaged)
		return 0;
	return PPM - aigov_throttle_share_ppm(th, AIGOV_THROTTLE_BATCH);
}

/* A job's cost as a share of the binding axis's limit, ppm. */
static int64_t
cost_ppm(const AigovThrottle *th, int64_t est_tokens)
{
	int64_t		r = th->req_limit > 0 ?
		aigov_bucket_muldiv(1, PPM, th->req_limit, true) : 0;
	int64_t		t = th->tok_limit > 0 && est_tokens > 0 ?
		aigov_bucket_muldiv(est_tokens, PPM, th->tok_limit, true) : 0;

	return clamp64(r > t ? r : t, 0, 100 * PPM);
}

/* How far apart the class's pacer spaces jobs of est_tokens now. */
static int64_t
class_interval(const AigovThrottle *th, AigovThrottleClassId cls,
			   int64_t est_tokens)
{
	if (!th->engaged)
		return 0;
	return aigov_bucket_muldiv(cost_ppm(th, est_tokens), th->period_us,
							   aigov_throttle_share_ppm(th, cls), true);
}

static AigovThrottleClass *
class_of(AigovThrottle *th, AigovThrottleClassId cls)
{
	return &th->cls[clamp64(cls, 0, AIGOV_THROTTLE_NCLASSES - 1)];
}

/*
 * aigov_throttle_admit
 *		Updates the controller with the load seen now and decides whether a
 *		job of class cls and est_tokens may be released.  Charges nothing:
 *		the caller calls aigov_throttle_charge once the job is really sent
 *		(a job that then finds no key is not counted).  On WAIT,
 *		*not_before_us is when the job should ask again.
 */
AigovThrottleStatus
aigov_throttle_admit(AigovThrottle *th, const AigovThrottleLoad *load,
					 AigovThrottleClassId cls, int64_t est_tokens,
					 int64_t now_us, int64_t *not_before_us)
{
	AigovThrottleClass *pc = class_of(th, cls);

	(void) est_tokens;
	aigov_throttle_update(th, load, now_us);
	*not_before_us = now_us;
	if (!th->engaged || pc->tat_us <= now_us)
		return AIGOV_THROTTLE_OK;

	/* a pacer far ahead of the clock is a clock that went back: cut it */
	if (pc->tat_us - now_us > th->period_us)
		pc->tat_us = now_us + th->period_us;
	pc->held++;
	*not_before_us = pc->tat_us;
	return AIGOV_THROTTLE_WAIT;
}

/*
 * aigov_throttle_charge
 *		A job of class cls and est_tokens was sent: its class's pacer moves
 *		on by its spacing (from now at the latest, catching up at most
 *		AIGOV_THROTTLE_TOLERANCE_US after a late release), and it counts in
 *		the class's measured rate.  Uses the limits of the last update.
 */
void
aigov_throttle_charge(AigovThrottle *th, AigovThrottleClassId cls,
					  int64_t est_tokens, int64_t now_us)
{
	AigovThrottleClass *pc = class_of(th, cls);
	int64_t		base = pc->tat_us > now_us - AIGOV_THROTTLE_TOLERANCE_US ?
		pc->tat_us : now_us - AIGOV_THROTTLE_TOLERANCE_US;

	pc->tat_us = th->engaged ? base + class_interval(th, cls, est_tokens) :
		now_us;
	pc->rate_ppm += aigov_bucket_muldiv(cost_ppm(th, est_tokens), th->period_us,
										AIGOV_THROTTLE_RATE_TAU_US, false);
	pc->released++;
}
