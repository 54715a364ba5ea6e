/*-------------------------------------------------------------------------
 * router_learn.c
 *	  What each finished call teaches a key's state (router.h): the
 *	  reservation settled, the reply's rate-limit headers folded into the
 *	  shadow buckets, a 429's window emptied, limits learned or inferred,
 *	  and the success meter they are inferred from.
 *
 * The rules are in router.c's banner.  The caller holds the key's lock.
 *
 * IDENTIFICATION
 *	  src/router_learn.c
 *-------------------------------------------------------------------------
 */
#include "router.h"
#include "router_int.h"

#include <stddef.h>

#include "satmath.h"

/*
 * meter_roll
 *		Advance the success meter's one-minute windows to now.  A clock that
 *		went backwards restarts it.
 */
static void
meter_roll(AigovKeyState *key, int64_t now_us)
{
	int64_t		since = aigov_sat_sub(now_us, key->meter_start_us);

	if (key->meter_start_us == 0 || since < 0)
	{
		key->meter_start_us = now_us;
		key->meter_req_cur = key->meter_req_prev = 0;
		key->meter_tok_cur = key->meter_tok_prev = 0;
		return;
	}
	if (since < AIGOV_USECS_PER_MINUTE)
		return;
	if (since < 2 * AIGOV_USECS_PER_MINUTE)
	{
		key->meter_req_prev = key->meter_req_cur;
		key->meter_tok_prev = key->meter_tok_cur;
	}
	else
		key->meter_req_prev = key->meter_tok_prev = 0;
	key->meter_req_cur = key->meter_tok_cur = 0;
	key->meter_start_us = aigov_sat_add(key->meter_start_us,
										since - since % AIGOV_USECS_PER_MINUTE);
}

/* Successes over the last minute: previous window pro rata, plus current. */
static int64_t
meter_estimate(const AigovKeyState *key, int64_t cur, int64_t prev,
			   int64_t now_us)
{
	int64_t		left = AIGOV_USECS_PER_MINUTE -
		aigov_sat_sub(now_us, key->meter_start_us);

	if (left < 0)
		left = 0;
	return aigov_sat_add(cur, aigov_bucket_muldiv(prev, left,
												  AIGOV_USECS_PER_MINUTE, false));
}

/*
 * infer_limit
 *		A 429 on an axis whose limit nobody told us (no configuration, no
 *		header): take the rate that did succeed over the last minute as the
 *		limit (or cut the previous guess by 1/8 if that is lower), so the
 *		key is paced from now on instead of probed by bursts.  With no
 *		success observed yet there is nothing to infer from.
 */
static void
infer_limit(int64_t *inferred, int64_t cfg, int64_t learned,
			int64_t observed)
{
	int64_t		v = observed;

	if (cfg > 0 || learned > 0 || observed <= 0)
		return;
	if (*inferred > 0)
	{
		int64_t		cut = *inferred - max64(1, *inferred /
											AIGOV_ROUTER_INFER_CUT_DIV);

		if (cut < v)
			v = cut;
	}
	*inferred = max64(1, v);
}
static void
release_inflight(AigovKeyState *key, const AigovKeyTicket *ticket)
{
	if (key->inflight_requests > 0)
		key->inflight_requests--;
	if (ticket != NULL)
	{
		key->inflight_tokens = aigov_sat_sub(key->inflight_tokens,
											 ticket->est_tokens);
		if (key->inflight_tokens < 0)
			key->inflight_tokens = 0;
	}
}

/*
 * fold_axis
 *		Fold one axis of a report into its shadow.
 *
 * The provider counted `remaining` when it admitted the ticket's request,
 * which we date at the send.  Since then its bucket has refilled by the
 * elapsed time, and every reservation we made after this one (younger)
 * has been or will be charged on top.  So its balance now is about
 * remaining + refill - younger; if the headers were instead computed when
 * the response left, the two terms over-count about equally at a steady
 * send rate.  Bad news sets the shadow to that at once; good news closes
 * a quarter of the gap, or all of it once the reset the provider announced
 * last time has passed.
 */
static void
fold_axis(AigovBucket *shadow, int64_t remaining, int64_t prev_reset_at_us,
		  int64_t younger, int64_t sent_at_us, int64_t now_us)
{
	int64_t		limit = shadow->limit;
	int64_t		elapsed;
	int64_t		est;
	int64_t		have;

	if (limit <= 0 || remaining < 0)
		return;
	elapsed = max64(0, aigov_sat_sub(now_us, sent_at_us));
	est = aigov_sat_add(remaining,
						aigov_bucket_muldiv(elapsed, limit, shadow->period_us,
											false));
	est = aigov_sat_sub(est, max64(0, younger));
	if (est > limit)
		est = limit;

	have = aigov_bucket_balance(shadow, now_us);
	if (est < have)
		aigov_bucket_set_remaining(shadow, est, now_us);
	else if (est > have)
	{
		int64_t		gap = aigov_sat_sub(est, have);

		if (prev_reset_at_us > 0 && now_us >= prev_reset_at_us)
			aigov_bucket_give_back(shadow, gap, now_us);
		else
			aigov_bucket_give_back(shadow, gap / AIGOV_ROUTER_GOOD_NEWS_DIV,
								   now_us);
	}
}

/*
 * aigov_router_fold_report
 *		Fold a response's rate-limit report into the key: adopt reported
 *		limits (capped by configuration), correct the shadows, keep the
 *		report for telemetry.
 *
 * ticket is the reservation the response belongs to; NULL (headers
 * without a job) assumes everything in flight is uncounted and no refill.
 */
void
aigov_router_fold_report(AigovKeyState *key, const AigovKeyTicket *ticket,
						 const AigovRateReport *report, int64_t now_us)
{
	int64_t		younger_req;
	int64_t		younger_tok;
	int64_t		sent_at;

	if (report == NULL)
		return;
	if (ticket != NULL)
	{
		younger_req = aigov_sat_sub(key->reserved_requests_total,
									ticket->req_seq);
		younger_tok = aigov_sat_sub(key->reserved_tokens_total,
									ticket->tok_seq);
		sent_at = ticket->sent_at_us;
	}
	else
	{
		younger_req = key->inflight_requests;
		younger_tok = key->inflight_tokens;
		sent_at = now_us;
	}

	if (report->req_limit > 0)
		key->learned_rpm = report->req_limit;
	if (report->tok_limit > 0)
		key->learned_tpm = report->tok_limit;
	aigov_router_apply_limits(key, now_us);

	fold_axis(&key->req_min, report->req_remaining,
			  key->last_report.req_reset_at_us, younger_req, sent_at, now_us);
	fold_axis(&key->tok_min, report->tok_remaining,
			  key->last_report.tok_reset_at_us, younger_tok, sent_at, now_us);

	key->last_report = *report;
	key->last_report_at_us = now_us;
}

/* Settle the token reservation with what the provider charged. */
static void
reconcile_tokens(AigovKeyState *key, int64_t est_tokens, int64_t charged,
				 int64_t now_us)
{
	AigovBucket *b[3];

	b[0] = &key->tok_min;
	b[1] = &key->tok_day;
	b[2] = &key->tok_pace;
	for (int i = 0; i < 3; i++)
	{
		if (charged > est_tokens)
			aigov_bucket_force_take(b[i], charged - est_tokens, now_us);
		else if (charged < est_tokens)
			aigov_bucket_give_back(b[i], est_tokens - charged, now_us);
	}
}

/*
 * aigov_router_complete
 *		A reserved job succeeded.
 *
 * charged_tokens is what the provider's limiter counted for it, which is
 * protocol-specific (OpenAI charges its own estimate, max_tokens included,
 * at admission; Anthropic charges input tokens); < 0 keeps the estimate.
 * report (NULL if the response had no rate-limit headers) is folded in.
 * Grows the slow-start window and the latency estimate.
 */
void
aigov_router_complete(AigovKeyState *key, const AigovKeyTicket *ticket,
					  int64_t charged_tokens, const AigovRateReport *report,
					  int64_t now_us)
{
	release_inflight(key, ticket);
	if (ticket != NULL && charged_tokens >= 0)
		reconcile_tokens(key, ticket->est_tokens, charged_tokens, now_us);
	aigov_router_fold_report(key, ticket, report, now_us);

	meter_roll(key, now_us);
	key->meter_req_cur = aigov_sat_add(key->meter_req_cur, 1);
	key->meter_tok_cur = aigov_sat_add(key->meter_tok_cur,
									   charged_tokens >= 0 ? charged_tokens :
									   ticket != NULL ? ticket->est_tokens : 0);

	/* an inferred limit that held for a minute is probed upward */
	if ((key->inferred_rpm > 0 || key->inferred_tpm > 0) &&
		aigov_sat_sub(now_us, key->inferred_at_us) >= AIGOV_USECS_PER_MINUTE)
	{
		if (key->inferred_rpm > 0)
			key->inferred_rpm += max64(1, key->inferred_rpm /
									   AIGOV_ROUTER_PROBE_UP_DIV);
		if (key->inferred_tpm > 0)
			key->inferred_tpm += max64(1, key->inferred_tpm /
									   AIGOV_ROUTER_PROBE_UP_DIV);
		key->inferred_at_us = now_us;
		aigov_router_apply_limits(key, now_us);
	}

	if (key->cwnd_milli < key->ssthresh_milli)
		key->cwnd_milli += 1000;
	else
	{
		/* +1/cwnd per success, i.e. +1 per round trip; rounded */
		int64_t		w = max64(1, key->cwnd_milli);

		key->cwnd_milli += max64(1, (1000000 + w / 2) / w);
	}
	if (key->cwnd_milli > (int64_t) AIGOV_ROUTER_MAX_CWND * 1000)
		key->cwnd_milli = (int64_t) AIGOV_ROUTER_MAX_CWND * 1000;

	if (ticket != NULL)
	{
		int64_t		sample = max64(0, aigov_sat_sub(now_us,
													ticket->sent_at_us));

		if (key->latency_ewma_us == 0)
			key->latency_ewma_us = sample;
		else
			key->latency_ewma_us += (sample - key->latency_ewma_us) / 8;
	}
	key->completed_total++;
}

/* Bad news from a 429: nothing left on this shadow right now. */
static bool
empty_shadow(AigovBucket *b, int64_t now_us)
{
	if (b->limit <= 0)
		return false;
	if (aigov_bucket_balance(b, now_us) > 0)
		aigov_bucket_set_remaining(b, 0, now_us);
	return true;
}

/*
 * aigov_router_on_rate_limited
 *		A reserved job got a 429 of kind `which`.
 *
 * The report (if any) is folded in, then the named shadow is emptied, and
 * the key is held back until retry_at_us (Retry-After / reset / body
 * hint).  Without a usable hint (retry_at_us <= now), a key whose emptied
 * shadow has a known limit is scheduled by that shadow's refill; otherwise
 * it waits AIGOV_ROUTER_MINUTE_RETRY_US, or AIGOV_ROUTER_DAILY_RETRY_US
 * for a daily limit.  The reservation is not refunded (providers count
 * refused requests toward some limits; the fold corrects it).  The
 * slow-start window halves, once per round trip: 429s for requests sent
 * before the last cut do not cut again.
 */
void
aigov_router_on_rate_limited(AigovKeyState *key, const AigovKeyTicket *ticket,
							 AigovRouterLimit which, int64_t retry_at_us,
							 const AigovRateReport *report, int64_t now_us)
{
	bool		scheduled = false;
	bool		new_loss = ticket == NULL || ticket->req_seq > key->cwnd_cut_seq;

	release_inflight(key, ticket);
	aigov_router_fold_report(key, ticket, report, now_us);

	/*
	 * No header has told us the limit this 429 is about: infer it from what
	 * succeeded in the last minute (once per round trip).
	 */
	if (new_loss)
	{
		meter_roll(key, now_us);
		if (which == AIGOV_ROUTER_LIMIT_REQUESTS ||
			which == AIGOV_ROUTER_LIMIT_UNKNOWN)
			infer_limit(&key->inferred_rpm, key->cfg_rpm, key->learned_rpm,
						meter_estimate(key, key->meter_req_cur,
									   key->meter_req_prev, now_us));
		else if (which == AIGOV_ROUTER_LIMIT_TOKENS)
			infer_limit(&key->inferred_tpm, key->cfg_tpm, key->learned_tpm,
						meter_estimate(key, key->meter_tok_cur,
									   key->meter_tok_prev, now_us));
		key->inferred_at_us = now_us;
		aigov_router_apply_limits(key, now_us);
	}

	switch (which)
	{
		case AIGOV_ROUTER_LIMIT_REQUESTS:
			scheduled = empty_shadow(&key->req_min, now_us);
			break;
		case AIGOV_ROUTER_LIMIT_TOKENS:
			scheduled = empty_shadow(&key->tok_min, now_us);
			break;
		case AIGOV_ROUTER_LIMIT_DAILY:
			(void) empty_shadow(&key->req_day, now_us);
			(void) empty_shadow(&key->tok_day, now_us);
			break;
		case AIGOV_ROUTER_LIMIT_UNKNOWN:
			scheduled = empty_shadow(&key->req_min, now_us);
			scheduled |= empty_shadow(&key->tok_min, now_us);
			break;
	}

	if (retry_at_us <= now_us)
	{
		if (which == AIGOV_ROUTER_LIMIT_DAILY)
			retry_at_us = aigov_sat_add(now_us, AIGOV_ROUTER_DAILY_RETRY_US);
		else if (!scheduled)
			retry_at_us = aigov_sat_add(now_us, AIGOV_ROUTER_MINUTE_RETRY_US);
		else
			retry_at_us = 0;
	}
	if (retry_at_us > key->exhausted_until_us)
		key->exhausted_until_us = retry_at_us;

	if (new_loss)
	{
		key->ssthresh_milli = max64(key->cwnd_milli / 2, 1000);
		key->cwnd_milli = key->ssthresh_milli;
		key->cwnd_cut_seq = key->reserved_requests_total;
	}
	key->rate_limited_total++;
}

/*
 * aigov_router_release
 *		A reserved job ended some other way (5xx, timeout, connection
 *		error, cancelled).  refund = true gives the reservation back, for
 *		when the request certainly never reached the provider.
 */
void
aigov_router_release(AigovKeyState *key, const AigovKeyTicket *ticket,
					 bool refund, int64_t now_us)
{
	release_inflight(key, ticket);
	if (refund && ticket != NULL)
	{
		aigov_bucket_give_back(&key->req_min, 1, now_us);
		aigov_bucket_give_back(&key->req_day, 1, now_us);
		aigov_bucket_give_back(&key->req_pace, 1, now_us);
		aigov_bucket_give_back(&key->tok_min, ticket->est_tokens, now_us);
		aigov_bucket_give_back(&key->tok_day, ticket->est_tokens, now_us);
		aigov_bucket_give_back(&key->tok_pace, ticket->est_tokens, now_us);
	}
}

/*
 * aigov_router_utilisation_ppm
 *		The key's worst utilisation over its known axes, in ppm (in-flight
 *		reservations included; above 1,000,000 while in debt).
 */
int64_t
aigov_router_utilisation_ppm(const AigovKeyState *key, int64_t now_us)
{
	int64_t		u = 0;

	u = max64(u, aigov_bucket_utilisation_ppm(&key->req_min, now_us));
	u = max64(u, aigov_bucket_utilisation_ppm(&key->tok_min, now_us));
	u = max64(u, aigov_bucket_utilisation_ppm(&key->req_day, now_us));
	u = max64(u, aigov_bucket_utilisation_ppm(&key->tok_day, now_us));
	return u;
}

/*
 * aigov_router_add_load
 *		Add this key's minute buckets to a provider's aggregate for the
 *		throttle.  Disabled keys and unknown limits add nothing.
 */
void
aigov_router_add_load(const AigovKeyState *key, int64_t now_us,
					  AigovThrottleLoad *load)
{
	if (key->disabled)
		return;
	if (key->req_min.limit > 0)
	{
		load->req_limit = aigov_sat_add(load->req_limit, key->req_min.limit);
		load->req_used = aigov_sat_add(load->req_used,
									   aigov_sat_sub(key->req_min.limit,
													 aigov_bucket_balance(&key->req_min,
																		  now_us)));
	}
	if (key->tok_min.limit > 0)
	{
		load->tok_limit = aigov_sat_add(load->tok_limit, key->tok_min.limit);
		load->tok_used = aigov_sat_add(load->tok_used,
									   aigov_sat_sub(key->tok_min.limit,
													 aigov_bucket_balance(&key->tok_min,
																		  now_us)));
	}
}
