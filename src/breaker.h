/*-------------------------------------------------------------------------
 * breaker.h
 *	  Circuit breaker per provider (or per key) for availability failures.
 *
 * Counts only outcomes the caller flags as breaker failures (5xx,
 * overloaded, timeout, connection): a 429 is a schedule, not a failure,
 * and is recorded as AIGOV_BREAKER_NEUTRAL or not at all.
 *
 *	  CLOSED --N consecutive failures, or failure ratio over the window--> OPEN
 *	  OPEN --cool-down elapsed, next allow()--> HALF_OPEN (one probe)
 *	  HALF_OPEN --success--> CLOSED;  --failure--> OPEN (cool-down doubles)
 *
 * Fixed-size, no pointers, explicit clock; the caller holds the lock.
 *
 * IDENTIFICATION
 *	  src/breaker.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_BREAKER_H
#define AIGOV_BREAKER_H

#include <stdbool.h>
#include <stdint.h>

#define AIGOV_BREAKER_SLOTS		10	/* the ratio window in slices */

typedef enum AigovBreakerState
{
	AIGOV_BREAKER_CLOSED = 0,
	AIGOV_BREAKER_OPEN,
	AIGOV_BREAKER_HALF_OPEN
} AigovBreakerState;

typedef enum AigovBreakerOutcome
{
	AIGOV_BREAKER_SUCCESS = 0,	/* the provider answered properly */
	AIGOV_BREAKER_FAILURE,		/* classification.breaker_failure */
	AIGOV_BREAKER_NEUTRAL		/* 429s, other 4xx: says nothing */
} AigovBreakerOutcome;

typedef enum AigovBreakerDecision
{
	AIGOV_BREAKER_ALLOW = 0,	/* send normally */
	AIGOV_BREAKER_PROBE,		/* send this one as the half-open probe */
	AIGOV_BREAKER_DENY			/* not before *retry_at_us */
} AigovBreakerDecision;

typedef struct AigovBreakerConfig
{
	int32_t		consecutive_failures;	/* open after this many in a row */
	int32_t		failure_ratio_pct;	/* or this share of the window ... */
	int32_t		min_requests;	/* ... once it holds this many outcomes */
	int64_t		window_us;		/* ratio window */
	int64_t		cooldown_us;	/* first open period */
	int64_t		max_cooldown_us;	/* cap for the doubling */
} AigovBreakerConfig;

typedef struct AigovBreakerSlot
{
	int64_t		epoch;			/* now / slice width when last written */
	int32_t		successes;
	int32_t		failures;
} AigovBreakerSlot;

typedef struct AigovBreaker
{
	AigovBreakerConfig cfg;
	AigovBreakerState state;
	int32_t		consecutive;	/* failures in a row while closed */
	int64_t		opened_at_us;
	int64_t		cooldown_us;	/* current open period */
	int64_t		probe_at_us;	/* when the probe went out; 0 none */
	int64_t		newest_epoch;
	int64_t		opened_total;	/* telemetry */
	AigovBreakerSlot slots[AIGOV_BREAKER_SLOTS];
} AigovBreaker;

extern void aigov_breaker_default_config(AigovBreakerConfig *cfg);
extern void aigov_breaker_init(AigovBreaker *b, const AigovBreakerConfig *cfg);
extern bool aigov_breaker_configure(AigovBreaker *b,
									const AigovBreakerConfig *cfg);
extern AigovBreakerDecision aigov_breaker_allow(AigovBreaker *b,
												int64_t now_us,
												int64_t *retry_at_us);
extern void aigov_breaker_record(AigovBreaker *b, AigovBreakerOutcome outcome,
								 int64_t now_us);
extern AigovBreakerState aigov_breaker_state(const AigovBreaker *b,
											 int64_t now_us);
extern const char *aigov_breaker_state_name(AigovBreakerState state);
extern void aigov_breaker_window(const AigovBreaker *b, int64_t now_us,
								 int32_t *successes, int32_t *failures);

#endif							/* AIGOV_BREAKER_H */
