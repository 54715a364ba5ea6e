/*-------------------------------------------------------------------------
 * throttle.h
 *	  Adaptive throttle (layer 3): provider-wide pacing above the 70% knee.
 *
 * Input: the aggregate state of one provider's keys (used and limit per
 * axis, summed from the keys' shadow buckets).  Output: the share of the
 * provider's refill rate that may be dispatched, and from it the earliest
 * time the next job may go.  The law is a static, smooth function of the
 * aggregate fill; see docs/algorithms.md for why it is not a PID loop.
 *
 * IDENTIFICATION
 *	  src/throttle.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_THROTTLE_H
#define AIGOV_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>

#define AIGOV_THROTTLE_PPM					INT64_C(1000000)
#define AIGOV_THROTTLE_DEFAULT_KNEE_PCT		70
#define AIGOV_THROTTLE_DEFAULT_FLOOR_PCT	50

/* Aggregate of a provider's keys, per minute (see aigov_router_add_load). */
typedef struct AigovThrottleLoad
{
	int64_t		req_used;		/* requests used (in-flight included) */
	int64_t		req_limit;		/* sum of known request limits; 0 none */
	int64_t		tok_used;
	int64_t		tok_limit;
} AigovThrottleLoad;

typedef struct AigovThrottle
{
	int32_t		knee_pct;		/* utilisation where shaping starts */
	int32_t		floor_pct;		/* rate share allowed at 100% utilisation */
	int64_t		period_us;		/* window of the limits in the load */
	int64_t		req_tat_us;		/* next dispatch allowed, request axis */
	int64_t		tok_tat_us;		/* next dispatch allowed, token axis */
} AigovThrottle;

typedef enum AigovThrottleStatus
{
	AIGOV_THROTTLE_OK = 0,		/* dispatch now */
	AIGOV_THROTTLE_WAIT			/* not before *not_before_us */
} AigovThrottleStatus;

extern void aigov_throttle_init(AigovThrottle *th, int32_t knee_pct,
								int32_t floor_pct);
extern void aigov_throttle_load_init(AigovThrottleLoad *load);
extern int64_t aigov_throttle_load_ppm(const AigovThrottleLoad *load);
extern int64_t aigov_throttle_fraction_ppm(int64_t load_ppm, int32_t knee_pct,
										   int32_t floor_pct);
extern AigovThrottleStatus aigov_throttle_check(const AigovThrottle *th,
												const AigovThrottleLoad *load,
												int64_t est_tokens,
												int64_t now_us,
												int64_t *not_before_us);
extern void aigov_throttle_note_dispatch(AigovThrottle *th,
										 const AigovThrottleLoad *load,
										 int64_t est_tokens, int64_t now_us);
extern int64_t aigov_throttle_interval_us(const AigovThrottle *th,
										  const AigovThrottleLoad *load,
										  int64_t est_tokens);

#endif							/* AIGOV_THROTTLE_H */
