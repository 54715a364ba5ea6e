/*-------------------------------------------------------------------------
 * bucket.c
 *	  Token buckets (RPM, TPM, TPD) as pure arithmetic on microsecond clocks.
 *
 * A bucket of `limit` units per `period_us` is kept as a GCRA theoretical
 * arrival time (TAT): the instant at which the bucket would be full again.
 * Taking `cost` units moves the TAT forward by cost * period / limit; the
 * take is allowed while the TAT stays within one period of now.  The
 * fractional part of period / limit is carried in tat_frac (units of
 * 1/limit microsecond), so a sequence of takes never drifts: `limit` takes
 * of one unit advance the TAT by exactly `period_us`.
 *
 * Products such as cost * period can exceed 64 bits (a day in microseconds
 * times ten billion tokens), so every scaling goes through a 64x64->128
 * multiply and a 128/64 divide written out in portable C; results that do
 * not fit saturate at INT64_MAX rather than wrap.
 *
 * Owns refill and take; locking is the caller's job (see shmem.c).  Nothing
 * here allocates, blocks or reports errors other than by return value.
 *
 * IDENTIFICATION
 *	  src/bucket.c
 *-------------------------------------------------------------------------
 */
#include "bucket.h"

#include <stddef.h>

#include "satmath.h"

/*
 * mul_div_u64
 *		Compute (a * b) / d and (a * b) % d exactly for d > 0.
 *
 * Returns false (and leaves *q, *r untouched) when the quotient does not
 * fit in 64 bits.  Portable: no compiler 128-bit type is needed.
 */
static bool
mul_div_u64(uint64_t a, uint64_t b, uint64_t d, uint64_t *q, uint64_t *r)
{
	uint64_t	a_lo = a & 0xffffffffu;
	uint64_t	a_hi = a >> 32;
	uint64_t	b_lo = b & 0xffffffffu;
	uint64_t	b_hi = b >> 32;
	uint64_t	p0 = a_lo * b_lo;
	uint64_t	p1 = a_lo * b_hi;
	uint64_t	p2 = a_hi * b_lo;
	uint64_t	p3 = a_hi * b_hi;
	uint64_t	mid = (p0 >> 32) + (p1 & 0xffffffffu) + (p2 & 0xffffffffu);
	uint64_t	lo = (mid << 32) | (p0 & 0xffffffffu);
	uint64_t	hi = p3 + (p1 >> 32) + (p2 >> 32) + (mid >> 32);
	uint64_t	quot = 0;

	if (hi >= d)
		return false;
	if (hi == 0)
	{
		*q = lo / d;
		*r = lo % d;
		return true;
	}

	/*
	 * Restoring long division of hi:lo by d, one bit at a time.  hi < d is
	 * the running remainder; when shifting it left overflows 64 bits the true
	 * value exceeds d, and the wrapped subtraction gives the right remainder.
	 */
	for (int i = 0; i < 64; i++)
	{
		uint64_t	carry = hi >> 63;

		hi = (hi << 1) | (lo >> 63);
		lo <<= 1;
		quot <<= 1;
		if (carry || hi >= d)
		{
			hi -= d;
			quot |= 1;
		}
	}
	*q = quot;
	*r = hi;
	return true;
}

/*
 * aigov_bucket_muldiv
 *		a * b / c for a, b >= 0 and c > 0, rounded down or up.
 *
 * Saturates at INT64_MAX when the result does not fit (or c <= 0);
 * negative a or b count as 0.
 */
int64_t
aigov_bucket_muldiv(int64_t a, int64_t b, int64_t c, bool round_up)
{
	uint64_t	q;
	uint64_t	r;

	if (a <= 0 || b <= 0)
		return 0;
	if (c <= 0)
		return INT64_MAX;
	if (!mul_div_u64((uint64_t) a, (uint64_t) b, (uint64_t) c, &q, &r))
		return INT64_MAX;
	if (round_up && r != 0)
		q++;
	if (q > (uint64_t) INT64_MAX)
		return INT64_MAX;
	return (int64_t) q;
}

/*
 * span_of
 *		How far `units` move the TAT: units * period / limit microseconds,
 *		as a whole part *q and a fraction *r (in 1/limit microseconds).
 *
 * Saturates the whole part (fraction 0) when it does not fit.
 */
static void
span_of(const AigovBucket *b, int64_t units, int64_t *q, int64_t *r)
{
	uint64_t	uq;
	uint64_t	ur;

	if (units <= 0)
	{
		*q = 0;
		*r = 0;
		return;
	}
	if (!mul_div_u64((uint64_t) units, (uint64_t) b->period_us,
					 (uint64_t) b->limit, &uq, &ur) ||
		uq > (uint64_t) INT64_MAX)
	{
		*q = INT64_MAX;
		*r = 0;
		return;
	}
	*q = (int64_t) uq;
	*r = (int64_t) ur;
}

/* Move (*tat, *frac) forward by q + r/limit microseconds. */
static void
tat_add(const AigovBucket *b, int64_t *tat, int64_t *frac, int64_t q,
		int64_t r)
{
	/* both fractions are below limit <= INT64_MAX: the sum fits unsigned */
	uint64_t	f = (uint64_t) *frac + (uint64_t) r;

	if (f >= (uint64_t) b->limit)
	{
		f -= (uint64_t) b->limit;
		q = aigov_sat_add(q, 1);
	}
	*frac = (int64_t) f;
	*tat = aigov_sat_add(*tat, q);
}

/* Move (*tat, *frac) back by q + r/limit microseconds. */
static void
tat_sub(const AigovBucket *b, int64_t *tat, int64_t *frac, int64_t q,
		int64_t r)
{
	int64_t		f = *frac - r;	/* both in [0, limit): no overflow */

	if (f < 0)
	{
		f += b->limit;
		q = aigov_sat_add(q, 1);
	}
	*frac = f;
	*tat = aigov_sat_sub(*tat, q);
}

/*
 * normalise
 *		Fold the clock reading into the bucket and return the instant the
 *		bucket works at.
 *
 * Small backward steps (clock readings taken before waiting for a lock)
 * are treated as the last instant seen, which never admits more than the
 * clock allows.  A large backward step is a clock change: the TAT moves
 * back with it, so the bucket keeps the fill it had ("time stood still")
 * instead of staying blocked until the clock catches up.  Finally a TAT
 * in the past means a full bucket, so it is raised to now: the refill that
 * a full bucket would have discarded is discarded.
 */
static int64_t
normalise(AigovBucket *b, int64_t now_us)
{
	if (now_us < b->last_us)
	{
		uint64_t	back = (uint64_t) b->last_us - (uint64_t) now_us;

		if (back <= (uint64_t) AIGOV_BUCKET_CLOCK_SLACK_US)
			now_us = b->last_us;
		else
		{
			b->tat_us = aigov_sat_sub(b->tat_us,
									  back > (uint64_t) INT64_MAX ?
									  INT64_MAX : (int64_t) back);
			b->last_us = now_us;
		}
	}
	else
		b->last_us = now_us;

	if (b->limit > 0 && b->tat_us < now_us)
	{
		b->tat_us = now_us;
		b->tat_frac = 0;
	}
	return now_us;
}

/*
 * peek
 *		Would `cost` fit in a bucket that may run at most `capacity` units
 *		ahead of its refill?  Works on a normalised bucket at `now_us`.
 *
 * On OK, *new_tat and *new_frac hold the state after the take.  On WAIT,
 * *available_at_us is the first whole microsecond at which it fits.
 */
static AigovBucketResult
peek(const AigovBucket *b, int64_t cost, int64_t capacity, int64_t now_us,
	 int64_t *available_at_us, int64_t *new_tat, int64_t *new_frac)
{
	int64_t		t1 = b->tat_us;
	int64_t		f1 = b->tat_frac;
	int64_t		q;
	int64_t		r;
	int64_t		cq;
	int64_t		cr;
	int64_t		at;

	*available_at_us = now_us;
	*new_tat = t1;
	*new_frac = f1;
	if (b->limit <= 0 || cost <= 0)
		return AIGOV_BUCKET_OK;
	if (cost > capacity)
		return AIGOV_BUCKET_NEVER;

	span_of(b, cost, &q, &r);
	tat_add(b, &t1, &f1, q, r);

	/*
	 * The take fits at the first t with TAT' <= t + capacity_span.  With TAT'
	 * = t1 + f1/limit and capacity_span = cq + cr/limit (both fractions in
	 * [0, limit)), that is t1 - cq, plus one when f1 > cr.
	 */
	span_of(b, capacity, &cq, &cr);
	at = aigov_sat_sub(t1, cq);
	if (f1 > cr)
		at = aigov_sat_add(at, 1);

	*new_tat = t1;
	*new_frac = f1;
	if (at <= now_us)
		return AIGOV_BUCKET_OK;
	*available_at_us = at;
	return AIGOV_BUCKET_WAIT;
}

/*
 * aigov_bucket_init
 *		Set up a full bucket of `limit` units per `period_us`.
 *
 * limit <= 0 makes an unlimited bucket.  Returns false (leaving an
 * unlimited bucket behind) when period_us <= 0.
 */
bool
aigov_bucket_init(AigovBucket *b, int64_t limit, int64_t period_us)
{
	b->limit = limit > 0 ? limit : 0;
	b->period_us = period_us > 0 ? period_us : 1;
	b->tat_us = INT64_MIN;		/* full whatever the clock says */
	b->tat_frac = 0;
	b->last_us = INT64_MIN;
	if (period_us <= 0)
	{
		b->limit = 0;
		return false;
	}
	return true;
}

/*
 * aigov_bucket_set_limit
 *		Change the limit and/or period of a live bucket (configuration
 *		change, or a limit learned from provider headers).
 *
 * The fill fraction is kept: a bucket that was 40% used stays 40% used of
 * the new limit.  In GCRA terms the time debt (TAT - now) is kept when the
 * period is unchanged, and scaled by new/old period otherwise; the
 * moment at which the bucket is full again does not move.  Rounding is
 * toward "more used" (at most one microsecond of refill).  Moving from or
 * to unlimited starts a full bucket.  Returns false for period_us <= 0.
 */
bool
aigov_bucket_set_limit(AigovBucket *b, int64_t limit, int64_t period_us,
					   int64_t now_us)
{
	if (period_us <= 0)
		return false;
	if (limit < 0)
		limit = 0;

	if (b->limit <= 0 || limit == 0)
	{
		b->limit = limit;
		b->period_us = period_us;
		b->tat_us = INT64_MIN;
		b->tat_frac = 0;
		(void) normalise(b, now_us);
		return true;
	}

	now_us = normalise(b, now_us);
	if (limit == b->limit && period_us == b->period_us)
		return true;

	if (period_us == b->period_us)
	{
		/* same debt in microseconds; re-express the fraction in 1/limit */
		int64_t		f = aigov_bucket_muldiv(b->tat_frac, limit, b->limit,
											true);

		if (f >= limit)
		{
			f -= limit;
			b->tat_us = aigov_sat_add(b->tat_us, 1);
		}
		b->tat_frac = f;
	}
	else
	{
		int64_t		debt = aigov_sat_sub(b->tat_us, now_us);

		if (b->tat_frac > 0)
			debt = aigov_sat_add(debt, 1);
		debt = aigov_bucket_muldiv(debt, period_us, b->period_us, true);
		b->tat_us = aigov_sat_add(now_us, debt);
		b->tat_frac = 0;
	}
	b->limit = limit;
	b->period_us = period_us;
	return true;
}

/*
 * aigov_bucket_available_at
 *		Would `cost` units fit now, and if not, from when?  Changes nothing.
 *
 * OK: fits now (*available_at_us = now).  WAIT: fits at *available_at_us,
 * the exact first microsecond, provided nothing else is taken meanwhile.
 * NEVER: cost > limit, it will never fit (*available_at_us = INT64_MAX).
 * A cost <= 0 always fits.
 */
AigovBucketResult
aigov_bucket_available_at(const AigovBucket *b, int64_t cost, int64_t now_us,
						  int64_t *available_at_us)
{
	return aigov_bucket_available_at_burst(b, cost, b->limit, now_us,
										   available_at_us);
}

/*
 * aigov_bucket_available_at_burst
 *		Like aigov_bucket_available_at, but as if the bucket could hold only
 *		`burst` units (it refills at the same rate).
 *
 * Used for pacing: a pacer that may run at most `burst` units ahead of
 * its refill rate.  burst may exceed limit; cost > burst is NEVER.
 */
AigovBucketResult
aigov_bucket_available_at_burst(const AigovBucket *b, int64_t cost,
								int64_t burst, int64_t now_us,
								int64_t *available_at_us)
{
	AigovBucket tmp = *b;
	int64_t		t1;
	int64_t		f1;
	int64_t		at;
	AigovBucketResult res;

	res = peek(&tmp, cost, burst, normalise(&tmp, now_us), &at, &t1, &f1);
	if (res == AIGOV_BUCKET_NEVER)
		at = INT64_MAX;
	else if (res == AIGOV_BUCKET_OK)
		at = now_us;			/* the caller's clock, even if it lagged */
	*available_at_us = at;
	return res;
}

/*
 * aigov_bucket_try_take
 *		Take `cost` units if they fit now; otherwise take nothing and say
 *		when they would fit (see aigov_bucket_available_at).
 */
AigovBucketResult
aigov_bucket_try_take(AigovBucket *b, int64_t cost, int64_t now_us,
					  int64_t *available_at_us)
{
	int64_t		t1;
	int64_t		f1;
	int64_t		at;
	AigovBucketResult res;

	res = peek(b, cost, b->limit, normalise(b, now_us), &at, &t1, &f1);
	if (res == AIGOV_BUCKET_OK)
	{
		b->tat_us = t1;
		b->tat_frac = f1;
		at = now_us;			/* the caller's clock, even if it lagged */
	}
	else if (res == AIGOV_BUCKET_NEVER)
		at = INT64_MAX;
	if (available_at_us != NULL)
		*available_at_us = at;
	return res;
}

/*
 * aigov_bucket_force_take
 *		Take `cost` units unconditionally, going into debt past the limit if
 *		need be (reconciling a response that used more than reserved, or a
 *		reservation the caller already decided to make).
 *
 * The debt is repaid by refill before anything else fits.  Saturates.
 */
void
aigov_bucket_force_take(AigovBucket *b, int64_t cost, int64_t now_us)
{
	int64_t		q;
	int64_t		r;

	(void) normalise(b, now_us);
	if (b->limit <= 0 || cost <= 0)
		return;
	span_of(b, cost, &q, &r);
	tat_add(b, &b->tat_us, &b->tat_frac, q, r);
}

/*
 * aigov_bucket_give_back
 *		Return `cost` units taken earlier (the provider reported fewer
 *		tokens than were reserved).
 *
 * The bucket never holds more than `limit`: what would overflow is
 * dropped.  The result is never more generous than if the smaller amount
 * had been taken in the first place.
 */
void
aigov_bucket_give_back(AigovBucket *b, int64_t cost, int64_t now_us)
{
	int64_t		q;
	int64_t		r;

	now_us = normalise(b, now_us);
	if (b->limit <= 0 || cost <= 0)
		return;
	span_of(b, cost, &q, &r);
	tat_sub(b, &b->tat_us, &b->tat_frac, q, r);
	if (b->tat_us < now_us)
	{
		b->tat_us = now_us;
		b->tat_frac = 0;
	}
}

/*
 * aigov_bucket_set_remaining
 *		Overwrite the fill: `remaining` units are available now.
 *
 * For folding in what a provider reported.  remaining >= limit makes the
 * bucket full; a negative value puts it in debt.
 */
void
aigov_bucket_set_remaining(AigovBucket *b, int64_t remaining, int64_t now_us)
{
	int64_t		q;
	int64_t		r;

	now_us = normalise(b, now_us);
	if (b->limit <= 0)
		return;
	b->tat_us = now_us;
	b->tat_frac = 0;
	if (remaining >= b->limit)
		return;
	span_of(b, aigov_sat_sub(b->limit, remaining), &q, &r);
	tat_add(b, &b->tat_us, &b->tat_frac, q, r);
}

/*
 * aigov_bucket_balance
 *		Units available now, rounded down; negative while in debt.
 *
 * INT64_MAX for an unlimited bucket.
 */
int64_t
aigov_bucket_balance(const AigovBucket *b, int64_t now_us)
{
	AigovBucket tmp = *b;
	int64_t		x;
	uint64_t	q;
	uint64_t	r;
	uint64_t	P;
	uint64_t	L;
	uint64_t	frac;

	if (b->limit <= 0)
		return INT64_MAX;
	now_us = normalise(&tmp, now_us);
	P = (uint64_t) tmp.period_us;
	L = (uint64_t) tmp.limit;
	frac = (uint64_t) tmp.tat_frac;

	/* balance = floor(((now + P - TAT) * L - frac) / P) */
	x = aigov_sat_sub(aigov_sat_add(now_us, tmp.period_us), tmp.tat_us);
	if (x >= 0)
	{
		/* x <= P here, so x * L / P <= L fits */
		if (!mul_div_u64((uint64_t) x, L, P, &q, &r))
			return tmp.limit;
		if (r >= frac)
			return (int64_t) q;
		return (int64_t) q - (int64_t) ((frac - r) / P + ((frac - r) % P != 0));
	}
	else
	{
		uint64_t	neg = x == INT64_MIN ? (uint64_t) INT64_MAX + 1 :
			(uint64_t) (-x);
		uint64_t	s;
		uint64_t	c;

		if (!mul_div_u64(neg, L, P, &q, &r))
			return INT64_MIN;
		s = r + frac;			/* r < P, frac < L: fits */
		c = s / P + (s % P != 0);
		q += c;
		if (q > (uint64_t) INT64_MAX)
			return INT64_MIN;
		return -(int64_t) q;
	}
}

/*
 * aigov_bucket_remaining
 *		Units available now, rounded down, within [0, limit].
 *
 * INT64_MAX for an unlimited bucket.
 */
int64_t
aigov_bucket_remaining(const AigovBucket *b, int64_t now_us)
{
	int64_t		bal = aigov_bucket_balance(b, now_us);

	if (b->limit <= 0)
		return INT64_MAX;
	if (bal < 0)
		return 0;
	return bal > b->limit ? b->limit : bal;
}

/*
 * aigov_bucket_utilisation_ppm
 *		Used share of the bucket in parts per million: 0 when full,
 *		1,000,000 when empty, more while in debt.  0 for unlimited.
 */
int64_t
aigov_bucket_utilisation_ppm(const AigovBucket *b, int64_t now_us)
{
	AigovBucket tmp = *b;

	if (b->limit <= 0)
		return 0;
	now_us = normalise(&tmp, now_us);
	return aigov_bucket_muldiv(aigov_sat_sub(tmp.tat_us, now_us), 1000000,
							   tmp.period_us, false);
}

/*
 * aigov_bucket_full_at
 *		The first microsecond at which the bucket is full again (now if it
 *		already is, or if it is unlimited).
 */
int64_t
aigov_bucket_full_at(const AigovBucket *b, int64_t now_us)
{
	AigovBucket tmp = *b;

	now_us = normalise(&tmp, now_us);
	if (tmp.limit <= 0)
		return now_us;
	return tmp.tat_frac > 0 ? aigov_sat_add(tmp.tat_us, 1) : tmp.tat_us;
}
