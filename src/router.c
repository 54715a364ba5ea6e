/*-------------------------------------------------------------------------
 * router.c
 *	  Per-key quota state, pacing and weighted key choice; router_learn.c
 *	  holds what each call's outcome teaches the key.
 *
 * Each key keeps a shadow of every provider bucket we know of (requests and
 * tokens per minute; requests and tokens per day when configured).  A job
 * is reserved against the shadows when it is sent, so "remaining" is always
 * net of what is in flight.  Every response's rate-limit headers are folded
 * back in: bad news (the provider has less than we think) is believed at
 * once, good news only a quarter at a time, unless the provider's own
 * announced reset has passed.
 *
 * A second pair of buckets, the pacers, run at pace_pct (97% by default)
 * of the minute limits.  A pacer may run ahead of its rate by a whole
 * bucket while the shadow is more than 30% full; below that knee its
 * allowed burst shrinks in proportion, down to 2% of the bucket when the
 * shadow is empty.  So a fresh key absorbs a burst, a busy key settles into
 * evenly spaced sends at pace_pct of its limit, and nothing is sent that
 * the shadow says would be refused.
 *
 * Keys whose limits are unknown (no configuration, no headers yet) are
 * driven by a TCP-like window on requests in flight: start at 2, grow by
 * one per success (doubling per round trip) up to the threshold and by
 * 1/window beyond, halve on a 429 (once per round trip).  The first
 * response with limit headers switches the key to shadow buckets.  A
 * provider that never sends headers (Gemini) is switched by its first 429
 * instead: the successes of the last minute become an inferred limit (cut
 * by 1/8 on each later 429, raised by 1/32 after each quiet minute), so
 * the key is paced rather than probed by bursts at every reset.
 *
 * Weights use doubles (routing is a preference, not an accounting);
 * everything that decides whether a key may be used is integer.
 *
 * The caller holds the key's lock; aigov_router_choose reads several keys
 * and expects them not to change during the call.
 *
 * IDENTIFICATION
 *	  src/router.c
 *-------------------------------------------------------------------------
 */
#include "router.h"
#include "router_int.h"

#include <stddef.h>

#include "satmath.h"

/* The limit in force: the configured one, capped by what the provider says. */
static int64_t
effective_limit(int64_t cfg, int64_t learned)
{
	if (cfg > 0 && learned > 0)
		return cfg < learned ? cfg : learned;
	if (cfg > 0)
		return cfg;
	return learned > 0 ? learned : 0;
}

static int64_t
paced_limit(int64_t limit, int32_t pct)
{
	int64_t		p;

	if (limit <= 0)
		return 0;
	p = aigov_bucket_muldiv(limit, pct, 100, false);
	return p < 1 ? 1 : p;
}

static void
set_bucket(AigovBucket *b, int64_t limit, int64_t period_us, int64_t now_us)
{
	if (b->limit != limit || b->period_us != period_us)
		(void) aigov_bucket_set_limit(b, limit, period_us, now_us);
}

/* Bring every bucket's limit in line with configuration and learning. */
void
aigov_router_apply_limits(AigovKeyState *key, int64_t now_us)
{
	/* what the headers say beats what we inferred from 429s */
	set_bucket(&key->req_min,
			   effective_limit(key->cfg_rpm, key->learned_rpm > 0 ?
							   key->learned_rpm : key->inferred_rpm),
			   AIGOV_USECS_PER_MINUTE, now_us);
	set_bucket(&key->tok_min,
			   effective_limit(key->cfg_tpm, key->learned_tpm > 0 ?
							   key->learned_tpm : key->inferred_tpm),
			   AIGOV_USECS_PER_MINUTE, now_us);
	set_bucket(&key->req_day, key->cfg_rpd > 0 ? key->cfg_rpd : 0,
			   AIGOV_USECS_PER_DAY, now_us);
	set_bucket(&key->tok_day, key->cfg_tpd > 0 ? key->cfg_tpd : 0,
			   AIGOV_USECS_PER_DAY, now_us);
	set_bucket(&key->req_pace, paced_limit(key->req_min.limit, key->pace_pct),
			   AIGOV_USECS_PER_MINUTE, now_us);
	set_bucket(&key->tok_pace, paced_limit(key->tok_min.limit, key->pace_pct),
			   AIGOV_USECS_PER_MINUTE, now_us);
}

static int32_t
clamp_pace(int32_t pct)
{
	if (pct <= 0)
		return AIGOV_ROUTER_DEFAULT_PACE_PCT;
	return pct > 100 ? 100 : pct;
}

/*
 * aigov_router_report_init
 *		Mark every field of a report absent.
 */
void
aigov_router_report_init(AigovRateReport *report)
{
	report->req_limit = -1;
	report->req_remaining = -1;
	report->req_reset_at_us = 0;
	report->tok_limit = -1;
	report->tok_remaining = -1;
	report->tok_reset_at_us = 0;
}

/*
 * aigov_router_key_init
 *		Set up a key with full buckets.  Limits <= 0 are unknown: the minute
 *		ones are then learned from headers (slow start until then), the
 *		daily ones are not enforced.
 */
void
aigov_router_key_init(AigovKeyState *key, int64_t rpm, int64_t tpm,
					  int64_t rpd, int64_t tpd, int32_t weight)
{
	key->cfg_rpm = rpm > 0 ? rpm : 0;
	key->cfg_tpm = tpm > 0 ? tpm : 0;
	key->cfg_rpd = rpd > 0 ? rpd : 0;
	key->cfg_tpd = tpd > 0 ? tpd : 0;
	key->weight = weight;
	key->pace_pct = AIGOV_ROUTER_DEFAULT_PACE_PCT;
	key->disabled = false;
	key->learned_rpm = 0;
	key->learned_tpm = 0;
	key->inferred_rpm = 0;
	key->inferred_tpm = 0;
	key->inferred_at_us = 0;
	key->meter_start_us = 0;
	key->meter_req_cur = 0;
	key->meter_req_prev = 0;
	key->meter_tok_cur = 0;
	key->meter_tok_prev = 0;

	(void) aigov_bucket_init(&key->req_min, key->cfg_rpm,
							 AIGOV_USECS_PER_MINUTE);
	(void) aigov_bucket_init(&key->tok_min, key->cfg_tpm,
							 AIGOV_USECS_PER_MINUTE);
	(void) aigov_bucket_init(&key->req_day, key->cfg_rpd, AIGOV_USECS_PER_DAY);
	(void) aigov_bucket_init(&key->tok_day, key->cfg_tpd, AIGOV_USECS_PER_DAY);
	(void) aigov_bucket_init(&key->req_pace,
							 paced_limit(key->cfg_rpm, key->pace_pct),
							 AIGOV_USECS_PER_MINUTE);
	(void) aigov_bucket_init(&key->tok_pace,
							 paced_limit(key->cfg_tpm, key->pace_pct),
							 AIGOV_USECS_PER_MINUTE);

	aigov_router_report_init(&key->last_report);
	key->last_report_at_us = 0;
	key->inflight_requests = 0;
	key->inflight_tokens = 0;
	key->reserved_requests_total = 0;
	key->reserved_tokens_total = 0;
	key->cwnd_milli = (int64_t) AIGOV_ROUTER_INITIAL_CWND * 1000;
	key->ssthresh_milli = (int64_t) AIGOV_ROUTER_MAX_CWND * 1000;
	key->cwnd_cut_seq = 0;
	key->latency_ewma_us = 0;
	key->exhausted_until_us = 0;
	key->rate_limited_total = 0;
	key->completed_total = 0;
	key->booked_until_us = 0;
}

/*
 * aigov_router_key_configure
 *		Apply a configuration change to a live key.  Buckets keep their fill
 *		fraction; learned limits still cap configured ones.  pace_pct <= 0
 *		means the default.
 */
void
aigov_router_key_configure(AigovKeyState *key, int64_t rpm, int64_t tpm,
						   int64_t rpd, int64_t tpd, int32_t weight,
						   int32_t pace_pct, int64_t now_us)
{
	key->cfg_rpm = rpm > 0 ? rpm : 0;
	key->cfg_tpm = tpm > 0 ? tpm : 0;
	key->cfg_rpd = rpd > 0 ? rpd : 0;
	key->cfg_tpd = tpd > 0 ? tpd : 0;
	key->weight = weight;
	key->pace_pct = clamp_pace(pace_pct);
	aigov_router_apply_limits(key, now_us);
}

void
aigov_router_set_disabled(AigovKeyState *key, bool disabled)
{
	key->disabled = disabled;
}

/*
 * aigov_router_limits_known
 *		True once a minute limit (requests or tokens) is configured,
 *		learned from headers or inferred from 429s; until then the key runs
 *		on its slow-start window.
 */
bool
aigov_router_limits_known(const AigovKeyState *key)
{
	return key->req_min.limit > 0 || key->tok_min.limit > 0;
}

/*
 * pace_at
 *		When may `cost` pass this pacer, given its shadow's fill?
 *
 * The pacer may run `burst` units ahead of its rate: a whole paced bucket
 * while the shadow has at least the knee share left, shrinking linearly
 * to AIGOV_ROUTER_MIN_BURST_PCT of it as the shadow empties.  The burst is
 * never below the job's own cost, or a big job could never pass.  The
 * shadow only fills with time, so the burst used here (from now) is a
 * lower bound for later instants and the returned time is safe.
 */
static AigovBucketResult
pace_at(const AigovBucket *pacer, const AigovBucket *shadow, int64_t cost,
		int64_t now_us, int64_t *at)
{
	int64_t		lp = pacer->limit;
	int64_t		knee;
	int64_t		left;
	int64_t		burst;

	*at = now_us;
	if (lp <= 0 || shadow->limit <= 0 || cost <= 0)
		return AIGOV_BUCKET_OK;
	left = aigov_bucket_remaining(shadow, now_us);
	knee = aigov_bucket_muldiv(shadow->limit, AIGOV_ROUTER_KNEE_PCT, 100, true);
	if (knee <= 0 || left >= knee)
		burst = lp;
	else
	{
		int64_t		bmin = aigov_bucket_muldiv(lp, AIGOV_ROUTER_MIN_BURST_PCT,
											   100, false);

		if (bmin < 1)
			bmin = 1;
		burst = bmin + aigov_bucket_muldiv(lp - bmin, left, knee, false);
	}
	if (burst < cost)
		burst = cost;
	return aigov_bucket_available_at_burst(pacer, cost, burst, now_us, at);
}

static int64_t
cwnd_requests(const AigovKeyState *key)
{
	int64_t		w = key->cwnd_milli / 1000;

	return w < 1 ? 1 : w;
}

/*
 * aigov_router_headroom
 *		Can this key take a job of est_tokens now, and if not, when?
 *		Changes nothing.
 *
 * OK: yes (*available_at_us = now).  WAIT: not before *available_at_us
 * (exact for the shadows and the 429 back-off, conservative for the pacer;
 * for a key limited only by its slow-start window it is a hint to ask
 * again, since the real trigger is a completion).  NEVER: est_tokens is
 * above one of the key's token limits.  DISABLED: the key is disabled.
 * Both of the latter set *available_at_us = INT64_MAX.
 */
AigovRouterStatus
aigov_router_headroom(const AigovKeyState *key, int64_t est_tokens,
					  int64_t now_us, int64_t *available_at_us)
{
	const AigovBucket *shadows[4];
	int64_t		costs[4];
	int64_t		t = now_us;
	int64_t		at;

	if (est_tokens < 0)
		est_tokens = 0;
	*available_at_us = INT64_MAX;
	if (key->disabled)
		return AIGOV_ROUTER_DISABLED;

	shadows[0] = &key->req_min;
	costs[0] = 1;
	shadows[1] = &key->tok_min;
	costs[1] = est_tokens;
	shadows[2] = &key->req_day;
	costs[2] = 1;
	shadows[3] = &key->tok_day;
	costs[3] = est_tokens;
	for (int i = 0; i < 4; i++)
	{
		if (aigov_bucket_available_at(shadows[i], costs[i], now_us, &at) ==
			AIGOV_BUCKET_NEVER)
			return AIGOV_ROUTER_NEVER;
		t = max64(t, at);
	}

	t = max64(t, key->exhausted_until_us);
	(void) pace_at(&key->req_pace, &key->req_min, 1, now_us, &at);
	t = max64(t, at);
	(void) pace_at(&key->tok_pace, &key->tok_min, est_tokens, now_us, &at);
	t = max64(t, at);

	if (!aigov_router_limits_known(key) &&
		key->inflight_requests >= cwnd_requests(key))
	{
		/* expect the next completion after latency / in-flight */
		int64_t		hint = key->latency_ewma_us / max64(1, key->inflight_requests);

		t = max64(t, aigov_sat_add(now_us,
								   max64(hint, AIGOV_ROUTER_RECHECK_US)));
	}

	*available_at_us = t;
	return t <= now_us ? AIGOV_ROUTER_OK : AIGOV_ROUTER_WAIT;
}

/* Share of one shadow left after taking `cost`, in [0, 1]; -1 if unknown. */
static double
share_left(const AigovBucket *b, int64_t cost, int64_t now_us)
{
	int64_t		left;
	double		f;

	if (b->limit <= 0)
		return -1.0;
	left = aigov_sat_sub(aigov_bucket_balance(b, now_us), cost);
	if (left <= 0)
		return 0.0;
	f = (double) left / (double) b->limit;
	return f > 1.0 ? 1.0 : f;
}

/*
 * aigov_router_weight
 *		Routing weight of this key for a job of est_tokens: the smallest
 *		share left on any known axis after the job (in-flight reservations
 *		already deducted), mapped so that AIGOV_ROUTER_RESERVE_PCT (10%) left,
 *		i.e. 90% utilisation, weighs 0 and a fresh window weighs 1, times
 *		the key's static weight.
 *
 * A key with unknown limits uses its free slow-start window as the share.
 * Disabled, backed-off and standby (weight <= 0) keys weigh 0.
 */
double
aigov_router_weight(const AigovKeyState *key, int64_t est_tokens,
					int64_t now_us)
{
	const AigovBucket *shadows[4];
	int64_t		costs[4];
	double		f = 1.0;
	double		reserve = AIGOV_ROUTER_RESERVE_PCT / 100.0;

	if (key->disabled || key->weight <= 0 || key->exhausted_until_us > now_us)
		return 0.0;
	if (est_tokens < 0)
		est_tokens = 0;

	shadows[0] = &key->req_min;
	costs[0] = 1;
	shadows[1] = &key->tok_min;
	costs[1] = est_tokens;
	shadows[2] = &key->req_day;
	costs[2] = 1;
	shadows[3] = &key->tok_day;
	costs[3] = est_tokens;
	for (int i = 0; i < 4; i++)
	{
		double		s = share_left(shadows[i], costs[i], now_us);

		if (s >= 0.0 && s < f)
			f = s;
	}
	if (!aigov_router_limits_known(key))
	{
		int64_t		w = cwnd_requests(key);
		double		s = (double) (w - key->inflight_requests - 1) / (double) w;

		if (s < f)
			f = s;
	}
	if (f <= reserve)
		return 0.0;
	return (f - reserve) / (1.0 - reserve) * (double) key->weight;
}

/*
 * aigov_router_choose
 *		Pick a key for a job of est_tokens among keys[0..nkeys-1] for which
 *		eligible[i] is true (NULL: all), at random in proportion to
 *		aigov_router_weight, among those with headroom now.
 *
 * random_u64 is the caller's random draw (tests pass a fixed sequence).
 * OK: *chosen is the index, *earliest_available_at_us = now.  If keys have
 * headroom but all weigh 0 (all near 90% or standby), one of them is picked
 * uniformly.  WAIT: no key now; *earliest_available_at_us is the earliest
 * instant any candidate will have headroom.  NEVER: no candidate can ever
 * take the job (all disabled, or the job exceeds every key's limits);
 * *earliest_available_at_us = INT64_MAX.  *chosen is -1 unless OK.
 */
AigovRouterStatus
aigov_router_choose(const AigovKeyState *keys, int nkeys,
					const bool *eligible, int64_t est_tokens, int64_t now_us,
					uint64_t random_u64, int *chosen,
					int64_t *earliest_available_at_us)
{
	double		total = 0.0;
	int			nready = 0;
	int			last_positive = -1;
	int64_t		earliest = INT64_MAX;
	int64_t		at;

	*chosen = -1;
	for (int i = 0; i < nkeys; i++)
	{
		AigovRouterStatus st;

		if (eligible != NULL && !eligible[i])
			continue;
		st = aigov_router_headroom(&keys[i], est_tokens, now_us, &at);
		if (st == AIGOV_ROUTER_OK)
		{
			double		w = aigov_router_weight(&keys[i], est_tokens, now_us);

			nready++;
			if (w > 0.0)
			{
				total += w;
				last_positive = i;
			}
		}
		else if (st == AIGOV_ROUTER_WAIT && at < earliest)
			earliest = at;
	}

	if (nready == 0)
	{
		*earliest_available_at_us = earliest;
		return earliest == INT64_MAX ? AIGOV_ROUTER_NEVER : AIGOV_ROUTER_WAIT;
	}
	*earliest_available_at_us = now_us;

	if (total > 0.0)
	{
		/* 53 random bits -> [0, 1), scaled to the total weight */
		double		target = (double) (random_u64 >> 11) *
			(1.0 / 9007199254740992.0) * total;
		double		cum = 0.0;

		for (int i = 0; i < nkeys; i++)
		{
			double		w;

			if (eligible != NULL && !eligible[i])
				continue;
			if (aigov_router_headroom(&keys[i], est_tokens, now_us, &at) !=
				AIGOV_ROUTER_OK)
				continue;
			w = aigov_router_weight(&keys[i], est_tokens, now_us);
			if (w <= 0.0)
				continue;
			cum += w;
			if (target < cum)
			{
				*chosen = i;
				return AIGOV_ROUTER_OK;
			}
		}
		/* rounding left target == total: the last positive key */
		*chosen = last_positive;
		return AIGOV_ROUTER_OK;
	}
	else
	{
		int			pick = (int) (random_u64 % (uint64_t) nready);

		for (int i = 0; i < nkeys; i++)
		{
			if (eligible != NULL && !eligible[i])
				continue;
			if (aigov_router_headroom(&keys[i], est_tokens, now_us, &at) !=
				AIGOV_ROUTER_OK)
				continue;
			if (pick-- == 0)
			{
				*chosen = i;
				return AIGOV_ROUTER_OK;
			}
		}
	}
	/* not reached: nready keys were found above */
	return AIGOV_ROUTER_WAIT;
}

/*
 * pace_interval
 *		How far apart the pacers let jobs of est_tokens go on this key: the
 *		larger of one request's and est_tokens' share of the paced minute.
 *		0 when the key's limits are unknown (its slow-start window, not
 *		time, decides when the next job goes).
 */
static int64_t
pace_interval(const AigovKeyState *key, int64_t est_tokens)
{
	int64_t		interval = 0;

	if (key->req_pace.limit > 0)
		interval = aigov_bucket_muldiv(key->req_pace.period_us, 1,
									   key->req_pace.limit, true);
	if (key->tok_pace.limit > 0 && est_tokens > 0)
		interval = max64(interval,
						 aigov_bucket_muldiv(key->tok_pace.period_us, est_tokens,
											 key->tok_pace.limit, true));
	return interval;
}

int64_t
aigov_router_next_slot(const AigovKeyState *key, int64_t est_tokens,
					   int64_t now_us)
{
	int64_t		at;
	AigovRouterStatus st = aigov_router_headroom(key, est_tokens, now_us, &at);

	if (st != AIGOV_ROUTER_OK && st != AIGOV_ROUTER_WAIT)
		return INT64_MAX;
	return max64(at, key->booked_until_us);
}

int64_t
aigov_router_book(AigovKeyState *key, int64_t est_tokens, int64_t now_us)
{
	int64_t		slot = aigov_router_next_slot(key, est_tokens, now_us);

	if (slot == INT64_MAX)
		return slot;
	key->booked_until_us = aigov_sat_add(slot, pace_interval(key, est_tokens));
	return slot;
}

/*
 * aigov_router_reserve
 *		Charge a job of est_tokens to the key as it is sent: one request and
 *		est_tokens on every shadow and pacer, one more in flight.
 *
 * Unconditional (the caller checked headroom under the same lock); fills
 * *ticket, which the job keeps until complete / on_rate_limited / release.
 */
void
aigov_router_reserve(AigovKeyState *key, int64_t est_tokens, int64_t now_us,
					 AigovKeyTicket *ticket)
{
	if (est_tokens < 0)
		est_tokens = 0;
	aigov_bucket_force_take(&key->req_min, 1, now_us);
	aigov_bucket_force_take(&key->tok_min, est_tokens, now_us);
	aigov_bucket_force_take(&key->req_day, 1, now_us);
	aigov_bucket_force_take(&key->tok_day, est_tokens, now_us);
	aigov_bucket_force_take(&key->req_pace, 1, now_us);
	aigov_bucket_force_take(&key->tok_pace, est_tokens, now_us);

	key->inflight_requests++;
	key->inflight_tokens = aigov_sat_add(key->inflight_tokens, est_tokens);
	key->reserved_requests_total =
		aigov_sat_add(key->reserved_requests_total, 1);
	key->reserved_tokens_total = aigov_sat_add(key->reserved_tokens_total,
											   est_tokens);

	ticket->sent_at_us = now_us;
	ticket->est_tokens = est_tokens;
	ticket->req_seq = key->reserved_requests_total;
	ticket->tok_seq = key->reserved_tokens_total;
}
