/*-------------------------------------------------------------------------
 * breaker.c
 *	  Circuit breaker: closed / open / half-open over availability failures.
 *
 * Only outcomes flagged as breaker failures count (the error classifier
 * sets the flag for 5xx, overloaded, timeouts and connection errors).
 * Rate limiting is handled by the router's shadow buckets, never here: a
 * breaker that opened on 429s would shed traffic that the quota could
 * still carry and stay shut after the window reset.
 *
 * The breaker trips on N consecutive failures (a hard outage shows up in
 * a few requests even at low traffic) or on a failure ratio over a sliding
 * window once it holds enough outcomes (a flaky provider that fails one
 * call in two never produces a long run).  The window is a ring of slices,
 * so it needs no timestamps per outcome.  After a cool-down one probe goes
 * through; its success closes the breaker, its failure reopens it with a
 * doubled cool-down (capped), so a provider that stays down is probed
 * less and less often.
 *
 * Fixed-size state, explicit clock, no allocation; caller holds the lock.
 *
 * IDENTIFICATION
 *	  src/breaker.c
 *-------------------------------------------------------------------------
 */
#include "breaker.h"

#include <stddef.h>

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t		q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

static void clear_window(AigovBreaker *b);

static int64_t
add_us(int64_t a, int64_t b)
{
	return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/*
 * aigov_breaker_default_config
 *		5 failures in a row, or at least half of 20+ outcomes in the last
 *		minute, open the breaker for 30 s, doubling up to 5 minutes.
 */
void
aigov_breaker_default_config(AigovBreakerConfig *cfg)
{
	cfg->consecutive_failures = 5;
	cfg->failure_ratio_pct = 50;
	cfg->min_requests = 20;
	cfg->window_us = INT64_C(60000000);
	cfg->cooldown_us = INT64_C(30000000);
	cfg->max_cooldown_us = INT64_C(300000000);
}

/*
 * aigov_breaker_init
 *		A closed breaker with an empty window.  Fields of cfg that are <= 0
 *		take the defaults; cfg NULL takes them all.
 */
void
aigov_breaker_init(AigovBreaker *b, const AigovBreakerConfig *cfg)
{
	AigovBreakerConfig def;

	aigov_breaker_default_config(&def);
	b->cfg = def;
	if (cfg != NULL)
	{
		if (cfg->consecutive_failures > 0)
			b->cfg.consecutive_failures = cfg->consecutive_failures;
		if (cfg->failure_ratio_pct > 0)
			b->cfg.failure_ratio_pct = cfg->failure_ratio_pct;
		if (cfg->min_requests > 0)
			b->cfg.min_requests = cfg->min_requests;
		if (cfg->window_us > 0)
			b->cfg.window_us = cfg->window_us;
		if (cfg->cooldown_us > 0)
			b->cfg.cooldown_us = cfg->cooldown_us;
		if (cfg->max_cooldown_us > 0)
			b->cfg.max_cooldown_us = cfg->max_cooldown_us;
	}
	if (b->cfg.max_cooldown_us < b->cfg.cooldown_us)
		b->cfg.max_cooldown_us = b->cfg.cooldown_us;
	b->state = AIGOV_BREAKER_CLOSED;
	b->consecutive = 0;
	b->opened_at_us = 0;
	b->cooldown_us = b->cfg.cooldown_us;
	b->probe_at_us = 0;
	b->newest_epoch = INT64_MIN;
	b->opened_total = 0;
	clear_window(b);
}

/*
 * aigov_breaker_configure
 *		Applies new settings (a reload) to a breaker in use, keeping its
 *		state, its window and its run of failures.  Fields <= 0 take the
 *		defaults, as in init.  The current open period is brought within the
 *		new cool-down bounds, so a breaker opened under a long cool-down
 *		follows a shortened one at once.  Returns whether anything changed.
 */
bool
aigov_breaker_configure(AigovBreaker *b, const AigovBreakerConfig *cfg)
{
	AigovBreaker fresh;
	bool		changed;

	aigov_breaker_init(&fresh, cfg);
	changed = fresh.cfg.consecutive_failures != b->cfg.consecutive_failures ||
		fresh.cfg.failure_ratio_pct != b->cfg.failure_ratio_pct ||
		fresh.cfg.min_requests != b->cfg.min_requests ||
		fresh.cfg.window_us != b->cfg.window_us ||
		fresh.cfg.cooldown_us != b->cfg.cooldown_us ||
		fresh.cfg.max_cooldown_us != b->cfg.max_cooldown_us;
	if (!changed)
		return false;
	if (fresh.cfg.window_us != b->cfg.window_us)
	{
		clear_window(b);
		b->newest_epoch = INT64_MIN;
	}
	b->cfg = fresh.cfg;
	if (b->cooldown_us < b->cfg.cooldown_us)
		b->cooldown_us = b->cfg.cooldown_us;
	if (b->cooldown_us > b->cfg.max_cooldown_us)
		b->cooldown_us = b->cfg.max_cooldown_us;
	if (b->state == AIGOV_BREAKER_CLOSED &&
		b->consecutive >= b->cfg.consecutive_failures)
		b->consecutive = b->cfg.consecutive_failures - 1;
	return true;
}

static int64_t
slice_us(const AigovBreaker *b)
{
	int64_t		w = b->cfg.window_us / AIGOV_BREAKER_SLOTS;

	return w < 1 ? 1 : w;
}

/* Epoch of `now`; a clock that went backwards keeps writing the newest. */
static int64_t
epoch_of(const AigovBreaker *b, int64_t now_us)
{
	int64_t		e = floor_div(now_us, slice_us(b));

	return e < b->newest_epoch ? b->newest_epoch : e;
}

static void
clear_window(AigovBreaker *b)
{
	for (int i = 0; i < AIGOV_BREAKER_SLOTS; i++)
	{
		b->slots[i].epoch = INT64_MIN;
		b->slots[i].successes = 0;
		b->slots[i].failures = 0;
	}
}

/*
 * aigov_breaker_window
 *		Outcomes counted in the sliding window ending now.
 */
void
aigov_breaker_window(const AigovBreaker *b, int64_t now_us,
					 int32_t *successes, int32_t *failures)
{
	int64_t		e = epoch_of(b, now_us);

	*successes = 0;
	*failures = 0;
	for (int i = 0; i < AIGOV_BREAKER_SLOTS; i++)
	{
		const AigovBreakerSlot *s = &b->slots[i];

		if (s->epoch != INT64_MIN && s->epoch <= e &&
			s->epoch > e - AIGOV_BREAKER_SLOTS)
		{
			*successes += s->successes;
			*failures += s->failures;
		}
	}
}

static void
count(AigovBreaker *b, bool failure, int64_t now_us)
{
	int64_t		e = epoch_of(b, now_us);
	AigovBreakerSlot *s = &b->slots[(int) (((e % AIGOV_BREAKER_SLOTS) +
											AIGOV_BREAKER_SLOTS) %
										   AIGOV_BREAKER_SLOTS)];

	b->newest_epoch = e;
	if (s->epoch != e)
	{
		s->epoch = e;
		s->successes = 0;
		s->failures = 0;
	}
	if (failure)
	{
		if (s->failures < INT32_MAX)
			s->failures++;
	}
	else if (s->successes < INT32_MAX)
		s->successes++;
}

static void
trip(AigovBreaker *b, int64_t now_us, int64_t cooldown_us)
{
	b->state = AIGOV_BREAKER_OPEN;
	b->opened_at_us = now_us;
	b->cooldown_us = cooldown_us;
	b->probe_at_us = 0;
	b->consecutive = 0;
	b->opened_total++;
}

/*
 * aigov_breaker_allow
 *		May a request go to this provider now?
 *
 * CLOSED: ALLOW.  OPEN: DENY until the cool-down has passed; the first call
 * after it moves to HALF_OPEN and returns PROBE.  HALF_OPEN: DENY while the
 * probe is out; if no verdict came within a cool-down (the worker died),
 * or the probe ended neutral, the next call gets a new PROBE.  *retry_at_us
 * is when to ask again (now unless DENY).
 */
AigovBreakerDecision
aigov_breaker_allow(AigovBreaker *b, int64_t now_us, int64_t *retry_at_us)
{
	*retry_at_us = now_us;
	switch (b->state)
	{
		case AIGOV_BREAKER_CLOSED:
			return AIGOV_BREAKER_ALLOW;

		case AIGOV_BREAKER_OPEN:
			/* a clock stepped back must not stretch the cool-down */
			if (b->opened_at_us > now_us)
				b->opened_at_us = now_us;
			if (now_us < add_us(b->opened_at_us, b->cooldown_us))
			{
				*retry_at_us = add_us(b->opened_at_us, b->cooldown_us);
				return AIGOV_BREAKER_DENY;
			}
			b->state = AIGOV_BREAKER_HALF_OPEN;
			b->probe_at_us = now_us;
			return AIGOV_BREAKER_PROBE;

		case AIGOV_BREAKER_HALF_OPEN:
			if (b->probe_at_us > now_us)
				b->probe_at_us = now_us;
			if (b->probe_at_us != 0 &&
				now_us < add_us(b->probe_at_us, b->cooldown_us))
			{
				*retry_at_us = add_us(b->probe_at_us, b->cooldown_us);
				return AIGOV_BREAKER_DENY;
			}
			b->probe_at_us = now_us;
			return AIGOV_BREAKER_PROBE;
	}
	return AIGOV_BREAKER_ALLOW;
}

/*
 * aigov_breaker_record
 *		Count one outcome.
 *
 * NEUTRAL never counts (and frees the half-open probe slot).  While OPEN,
 * outcomes of requests sent before the breaker opened are ignored.  In
 * HALF_OPEN any success closes (the provider answered) with a clean window,
 * any failure reopens with a doubled cool-down.
 */
void
aigov_breaker_record(AigovBreaker *b, AigovBreakerOutcome outcome,
					 int64_t now_us)
{
	int32_t		ok;
	int32_t		bad;

	if (outcome == AIGOV_BREAKER_NEUTRAL)
	{
		if (b->state == AIGOV_BREAKER_HALF_OPEN)
			b->probe_at_us = 0;
		return;
	}

	switch (b->state)
	{
		case AIGOV_BREAKER_OPEN:
			return;

		case AIGOV_BREAKER_HALF_OPEN:
			if (outcome == AIGOV_BREAKER_SUCCESS)
			{
				b->state = AIGOV_BREAKER_CLOSED;
				b->consecutive = 0;
				b->probe_at_us = 0;
				b->cooldown_us = b->cfg.cooldown_us;
				clear_window(b);
				count(b, false, now_us);
			}
			else
			{
				int64_t		next = b->cooldown_us > b->cfg.max_cooldown_us / 2 ?
					b->cfg.max_cooldown_us : b->cooldown_us * 2;

				trip(b, now_us, next);
			}
			return;

		case AIGOV_BREAKER_CLOSED:
			break;
	}

	count(b, outcome == AIGOV_BREAKER_FAILURE, now_us);
	if (outcome == AIGOV_BREAKER_SUCCESS)
	{
		b->consecutive = 0;
		return;
	}
	if (b->consecutive < INT32_MAX)
		b->consecutive++;
	aigov_breaker_window(b, now_us, &ok, &bad);
	if (b->consecutive >= b->cfg.consecutive_failures ||
		((int64_t) ok + bad >= b->cfg.min_requests &&
		 (int64_t) bad * 100 >= (int64_t) b->cfg.failure_ratio_pct * (ok + bad)))
		trip(b, now_us, b->cfg.cooldown_us);
}

/*
 * aigov_breaker_state
 *		The state as of now (OPEN reads as HALF_OPEN once its cool-down has
 *		passed, before any allow() call moves it).
 */
AigovBreakerState
aigov_breaker_state(const AigovBreaker *b, int64_t now_us)
{
	if (b->state == AIGOV_BREAKER_OPEN &&
		now_us >= add_us(b->opened_at_us, b->cooldown_us))
		return AIGOV_BREAKER_HALF_OPEN;
	return b->state;
}

const char *
aigov_breaker_state_name(AigovBreakerState state)
{
	switch (state)
	{
		case AIGOV_BREAKER_CLOSED:
			return "closed";
		case AIGOV_BREAKER_OPEN:
			return "open";
		case AIGOV_BREAKER_HALF_OPEN:
			return "half_open";
	}
	return "unknown";
}
