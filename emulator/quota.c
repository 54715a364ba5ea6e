/*-------------------------------------------------------------------------
 * quota.c
 *	  Per-key token buckets and request admission, as pure arithmetic.
 *
 * Every bucket refills continuously (limit / window per microsecond), the
 * way OpenAI and Anthropic describe their limiters: 60 RPM is one request
 * per second, and 200 RPD is one request per 7m12s, which is exactly the
 * wait OpenAI's RPD message quotes.  Clocks are monotonic microseconds
 * passed in by the caller, so tests drive time by hand.  Locking is the
 * caller's job (one mutex per key in server.c).
 *
 * IDENTIFICATION
 *	  emulator/quota.c
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stddef.h>

#include "quota.h"

/*
 * Floating error margins.  Refills are summed in many small steps, so a
 * level meant to be exactly 1.0 can come out as 0.9999999999: a millionth
 * of a token is treated as present.  Likewise a wait computed as
 * 500000.0000001 us must not become 500001.
 */
#define LEVEL_EPSILON	1e-6
#define WAIT_EPSILON	1e-6

/* Order in which dimensions are checked: the first violated is reported. */
static const EmuDim check_order[] = {
	EMU_DIM_RPD, EMU_DIM_TPD, EMU_DIM_RPM, EMU_DIM_TPM, EMU_DIM_ITPM,
	EMU_DIM_OTPM
};

/* Start a bucket full.  limit EMU_UNLIMITED makes it always admit. */
void
emu_bucket_init(EmuBucket *b, int64_t limit, int64_t window_us,
				int64_t now_us)
{
	b->limit = limit < 0 ? EMU_UNLIMITED : limit;
	b->window_us = window_us > 0 ? window_us : EMU_MINUTE_US;
	b->level = b->limit < 0 ? 0.0 : (double) b->limit;
	b->stamp_us = now_us;
}

bool
emu_bucket_limited(const EmuBucket *b)
{
	return b->limit >= 0;
}

/*
 * Add what flowed in since the last refill, capped at the limit.  A clock
 * that went backwards adds nothing and does not move the stamp back.
 */
void
emu_bucket_refill(EmuBucket *b, int64_t now_us)
{
	if (!emu_bucket_limited(b))
		return;
	if (now_us <= b->stamp_us)
		return;
	b->level += (double) (now_us - b->stamp_us) * (double) b->limit /
		(double) b->window_us;
	if (b->level > (double) b->limit)
		b->level = (double) b->limit;
	b->stamp_us = now_us;
}

/* Level after refilling to now_us. */
double
emu_bucket_level(EmuBucket *b, int64_t now_us)
{
	emu_bucket_refill(b, now_us);
	return b->level;
}

/* Microseconds until "units" of level have accumulated from "level". */
static int64_t
time_to_level(const EmuBucket *b, double target)
{
	double		w;

	if (b->level + LEVEL_EPSILON >= target)
		return 0;
	if (b->limit == 0)
		return EMU_WAIT_NEVER;
	w = (target - b->level) * (double) b->window_us / (double) b->limit;
	return (int64_t) ceil(w - WAIT_EPSILON);
}

/*
 * Microseconds until "amount" can be taken: 0 if it can be now,
 * EMU_WAIT_NEVER if it is more than the bucket ever holds.
 */
int64_t
emu_bucket_wait_us(EmuBucket *b, int64_t now_us, double amount)
{
	if (!emu_bucket_limited(b))
		return 0;
	emu_bucket_refill(b, now_us);
	if (amount > (double) b->limit)
		return EMU_WAIT_NEVER;
	return time_to_level(b, amount);
}

/* Microseconds until the bucket is full again (the reset headers). */
int64_t
emu_bucket_full_us(EmuBucket *b, int64_t now_us)
{
	if (!emu_bucket_limited(b))
		return 0;
	emu_bucket_refill(b, now_us);
	return time_to_level(b, (double) b->limit);
}

/* Remove "amount" unconditionally; the level may become negative. */
void
emu_bucket_take(EmuBucket *b, int64_t now_us, double amount)
{
	if (!emu_bucket_limited(b))
		return;
	emu_bucket_refill(b, now_us);
	b->level -= amount;
}

/*
 * Change the limit at run time, keeping what was used: a bucket with 10 of
 * 60 used has 10 of the new limit used.  A bucket that was unlimited starts
 * full.
 */
void
emu_bucket_set_limit(EmuBucket *b, int64_t limit, int64_t now_us)
{
	double		used;

	if (limit < 0)
	{
		emu_bucket_init(b, EMU_UNLIMITED, b->window_us, now_us);
		return;
	}
	if (!emu_bucket_limited(b))
	{
		emu_bucket_init(b, limit, b->window_us, now_us);
		return;
	}
	emu_bucket_refill(b, now_us);
	used = (double) b->limit - b->level;
	b->limit = limit;
	b->level = (double) limit - used;
	if (b->level > (double) limit)
		b->level = (double) limit;
	b->stamp_us = now_us;
}

/* Refill to the brim at once (admin reset). */
void
emu_bucket_fill(EmuBucket *b, int64_t now_us)
{
	if (emu_bucket_limited(b))
		b->level = (double) b->limit;
	b->stamp_us = now_us;
}

/* Window of a dimension: a minute, or a day for RPD/TPD. */
int64_t
emu_dim_window_us(EmuDim d)
{
	return emu_dim_is_daily(d) ? EMU_DAY_US : EMU_MINUTE_US;
}

bool
emu_dim_is_daily(EmuDim d)
{
	return d == EMU_DIM_RPD || d == EMU_DIM_TPD;
}

/* Build a key's buckets, all full.  limits[] uses EMU_UNLIMITED for none. */
void
emu_quota_init(EmuQuota *q, const int64_t limits[EMU_DIM_COUNT],
			   int64_t now_us)
{
	for (int d = 0; d < EMU_DIM_COUNT; d++)
		emu_bucket_init(&q->b[d], limits[d], emu_dim_window_us((EmuDim) d),
						now_us);
	q->insufficient_quota = false;
	q->rpm_window_us = EMU_MINUTE_US;
}

/*
 * What a bucket of dimension d holds for a configured "limit": the limit
 * itself, except for an RPM bucket with a sub-minute window, which holds
 * the window's share of it, rounded up so that a small RPM still admits
 * one request per window.  (Rounding up lets RPMs that are not a multiple
 * of 60 / window through slightly faster; Azure's own ratio is 6 RPM per
 * 1000 TPM, a multiple.)
 */
int64_t
emu_quota_bucket_limit(const EmuQuota *q, EmuDim d, int64_t limit)
{
	if (d != EMU_DIM_RPM || limit <= 0 || q->rpm_window_us >= EMU_MINUTE_US)
		return limit;
	return (limit * q->rpm_window_us + EMU_MINUTE_US - 1) / EMU_MINUTE_US;
}

/*
 * Enforce RPM on windows of "window_us" (at most a minute) instead of a
 * minute: Azure's behaviour, where a burst is refused although the minute
 * total would fit.  Rebuilds the RPM bucket full; limits[] are the
 * configured per-minute limits.
 */
void
emu_quota_set_rpm_window(EmuQuota *q, const int64_t limits[EMU_DIM_COUNT],
						 int64_t window_us, int64_t now_us)
{
	if (window_us <= 0 || window_us > EMU_MINUTE_US)
		window_us = EMU_MINUTE_US;
	q->rpm_window_us = window_us;
	emu_bucket_init(&q->b[EMU_DIM_RPM],
					emu_quota_bucket_limit(q, EMU_DIM_RPM, limits[EMU_DIM_RPM]),
					window_us, now_us);
}

/*
 * Apply new per-minute limits to every bucket (see emu_bucket_set_limit);
 * a sub-windowed RPM bucket gets its share of the new RPM.
 */
void
emu_quota_set_limits(EmuQuota *q, const int64_t limits[EMU_DIM_COUNT],
					 int64_t now_us)
{
	for (int d = 0; d < EMU_DIM_COUNT; d++)
	{
		int64_t		l = emu_quota_bucket_limit(q, (EmuDim) d, limits[d]);

		if (l != q->b[d].limit)
			emu_bucket_set_limit(&q->b[d], l, now_us);
	}
}

void
emu_quota_fill(EmuQuota *q, int64_t now_us)
{
	for (int d = 0; d < EMU_DIM_COUNT; d++)
		emu_bucket_fill(&q->b[d], now_us);
}

/*
 * What a request needs from dimension d: one request, the token charge,
 * or (OTPM, charged after the reply) just a non-empty bucket.
 */
static double
need_of(EmuDim d, int64_t tokens)
{
	switch (d)
	{
		case EMU_DIM_RPM:
		case EMU_DIM_RPD:
		case EMU_DIM_OTPM:
			return 1.0;
		default:
			return (double) tokens;
	}
}

/* Fill limit/used/requested/wait of "out" for dimension d. */
static void
describe(EmuQuota *q, EmuDim d, int64_t now_us, int64_t tokens,
		 EmuAdmit *out)
{
	EmuBucket  *b = &q->b[d];
	double		lvl = emu_bucket_level(b, now_us);
	int64_t		rem = lvl <= 0 ? 0 : (int64_t) floor(lvl);

	if (rem > b->limit)
		rem = b->limit;
	out->dim = d;
	out->limit = b->limit;
	out->used = b->limit - rem;
	out->requested = (int64_t) need_of(d, tokens);
	out->wait_us = emu_bucket_wait_us(b, now_us, need_of(d, tokens));
}

/*
 * Decide whether a request charging "tokens" may pass now.
 *
 * Order: billing state; a charge bigger than a token bucket's capacity
 * (OpenAI's "Request too large", never admitted); then every dimension
 * with a request or token need, day limits first so that a key spent for
 * the day is reported as such even while its minute buckets are empty too.
 * A refused request charges nothing.  An admitted one takes one request
 * from RPM/RPD and the tokens from TPM, ITPM and TPD; OTPM is only required
 * to be non-empty, the output is charged later by emu_quota_charge_output.
 */
EmuAdmitStatus
emu_quota_admit(EmuQuota *q, int64_t now_us, int64_t tokens, EmuAdmit *out)
{
	static const EmuDim token_dims[] = {EMU_DIM_TPM, EMU_DIM_ITPM, EMU_DIM_TPD};
	bool		first = true;

	out->status = EMU_ADMIT_OK;
	out->dim = EMU_DIM_RPM;
	out->violated = 0;
	out->limit = out->used = out->requested = 0;
	out->wait_us = out->retry_us = out->minute_wait_us = 0;
	out->tokens = tokens;
	for (int d = 0; d < EMU_DIM_COUNT; d++)
		out->dim_limit[d] = q->b[d].limit;
	if (tokens < 0)
		tokens = 0;

	if (q->insufficient_quota)
	{
		out->status = EMU_ADMIT_BILLING;
		return out->status;
	}

	for (size_t i = 0; i < sizeof(token_dims) / sizeof(token_dims[0]); i++)
	{
		EmuBucket  *b = &q->b[token_dims[i]];

		if (emu_bucket_limited(b) && tokens > b->limit)
		{
			describe(q, token_dims[i], now_us, tokens, out);
			out->violated = 1u << token_dims[i];
			out->wait_us = out->retry_us = EMU_WAIT_NEVER;
			out->status = EMU_ADMIT_TOO_LARGE;
			return out->status;
		}
	}

	for (size_t i = 0; i < sizeof(check_order) / sizeof(check_order[0]); i++)
	{
		EmuDim		d = check_order[i];
		EmuBucket  *b = &q->b[d];
		int64_t		w;

		if (!emu_bucket_limited(b))
			continue;
		w = emu_bucket_wait_us(b, now_us, need_of(d, tokens));
		if (w == 0)
			continue;
		out->violated |= 1u << d;
		if (w > out->retry_us)
			out->retry_us = w;
		if (!emu_dim_is_daily(d) && w > out->minute_wait_us)
			out->minute_wait_us = w;
		if (first)
		{
			describe(q, d, now_us, tokens, out);
			first = false;
		}
	}
	if (out->violated != 0)
	{
		out->status = EMU_ADMIT_LIMITED;
		return out->status;
	}

	emu_bucket_take(&q->b[EMU_DIM_RPM], now_us, 1.0);
	emu_bucket_take(&q->b[EMU_DIM_RPD], now_us, 1.0);
	emu_bucket_take(&q->b[EMU_DIM_TPM], now_us, (double) tokens);
	emu_bucket_take(&q->b[EMU_DIM_ITPM], now_us, (double) tokens);
	emu_bucket_take(&q->b[EMU_DIM_TPD], now_us, (double) tokens);
	return out->status;
}

/*
 * Charge the output tokens of a finished reply to OTPM (Anthropic charges
 * output when it is produced, not max_tokens up front).  May leave the
 * bucket in debt, which later admissions see as "no room".
 */
void
emu_quota_charge_output(EmuQuota *q, int64_t now_us, int64_t tokens)
{
	if (tokens > 0)
		emu_bucket_take(&q->b[EMU_DIM_OTPM], now_us, (double) tokens);
}

/* Snapshot every bucket for the rate-limit headers and the admin API. */
void
emu_quota_view(EmuQuota *q, int64_t now_us, EmuQuotaView *v)
{
	for (int d = 0; d < EMU_DIM_COUNT; d++)
	{
		EmuBucket  *b = &q->b[d];
		double		lvl;
		int64_t		rem;

		v->limited[d] = emu_bucket_limited(b);
		v->limit[d] = b->limit;
		if (!v->limited[d])
		{
			v->remaining[d] = 0;
			v->reset_us[d] = 0;
			continue;
		}
		lvl = emu_bucket_level(b, now_us);
		rem = lvl <= 0 ? 0 : (int64_t) floor(lvl);
		if (rem > b->limit)
			rem = b->limit;
		v->remaining[d] = rem;
		v->reset_us[d] = emu_bucket_full_us(b, now_us);
	}
}
