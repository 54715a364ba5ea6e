/*-------------------------------------------------------------------------
 * throttle.h
 *	  Adaptive throttle (layer 3): a PI controller per provider that paces
 *	  the release of jobs by workload class above the utilisation knee.
 *
 * Input: the aggregate state of one provider's keys (used and limit per
 * axis, summed from the keys' shadow buckets) and the job's class and
 * cost.  Output: release now, or the earliest time to ask again.  See
 * docs/throttling.md for the update rule, its gains and why.
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

/* Proportional gain: rate share lost per unit of normalised error. */
#define AIGOV_THROTTLE_KP_PPM				INT64_C(2000000)
/* Integral time: the integral moves by the error once per this time. */
#define AIGOV_THROTTLE_TI_US				INT64_C(20000000)
/* Lowest release rate of the whole provider, ppm of its refill rate. */
#define AIGOV_THROTTLE_MIN_RATE_PPM			INT64_C(250000)
/* Lowest share left to background and batch, ppm of the refill rate. */
#define AIGOV_THROTTLE_MIN_CLASS_PPM		INT64_C(50000)
/* Share of the refill rate kept free for interactive work when engaged. */
#define AIGOV_THROTTLE_INTERACTIVE_RESERVE_PPM	INT64_C(100000)
/* Time constant of the measured release rate of each class. */
#define AIGOV_THROTTLE_RATE_TAU_US			INT64_C(5000000)
/* How far a class pacer may catch up after a late release (no burst). */
#define AIGOV_THROTTLE_TOLERANCE_US			INT64_C(250000)

/* Workload classes, in the order they keep their share: last one first. */
typedef enum AigovThrottleClassId
{
	AIGOV_THROTTLE_INTERACTIVE = 0,
	AIGOV_THROTTLE_BACKGROUND,
	AIGOV_THROTTLE_BATCH,
	AIGOV_THROTTLE_NCLASSES
} AigovThrottleClassId;

/* Aggregate of a provider's keys, per minute (see aigov_router_add_load). */
typedef struct AigovThrottleLoad
{
	int64_t		req_used;		/* requests used (in-flight included) */
	int64_t		req_limit;		/* sum of known request limits; 0 none */
	int64_t		tok_used;
	int64_t		tok_limit;
} AigovThrottleLoad;

/* One class's pacer and its measured release rate. */
typedef struct AigovThrottleClass
{
	int64_t		tat_us;			/* next release allowed */
	int64_t		rate_ppm;		/* measured release rate, ppm of refill */
	int64_t		released;		/* jobs sent since start */
	int64_t		held;			/* jobs held back since start */
} AigovThrottleClass;

typedef struct AigovThrottle
{
	int32_t		knee_pct;		/* utilisation where shaping starts */
	bool		engaged;		/* above the knee, or not yet recovered */
	int64_t		period_us;		/* window of the limits in the load */
	int64_t		last_us;		/* last update; INT64_MIN before the first */
	int64_t		load_ppm;		/* utilisation at the last update */
	int64_t		req_limit;		/* the load's limits at the last update */
	int64_t		tok_limit;
	int64_t		integral_ppm;	/* I term, in [MIN_RATE, PPM] */
	int64_t		rate_ppm;		/* output: provider release rate */
	AigovThrottleClass cls[AIGOV_THROTTLE_NCLASSES];
} AigovThrottle;

typedef enum AigovThrottleStatus
{
	AIGOV_THROTTLE_OK = 0,		/* release now */
	AIGOV_THROTTLE_WAIT			/* not before *not_before_us */
} AigovThrottleStatus;

extern void aigov_throttle_init(AigovThrottle *th, int32_t knee_pct);
extern void aigov_throttle_set_knee(AigovThrottle *th, int32_t knee_pct);
extern void aigov_throttle_load_init(AigovThrottleLoad *load);
extern int64_t aigov_throttle_load_ppm(const AigovThrottleLoad *load);
extern AigovThrottleClassId aigov_throttle_class(const char *name);
extern const char *aigov_throttle_class_name(AigovThrottleClassId cls);
extern void aigov_throttle_update(AigovThrottle *th,
								  const AigovThrottleLoad *load,
								  int64_t now_us);
extern int64_t aigov_throttle_share_ppm(const AigovThrottle *th,
										AigovThrottleClassId cls);
extern int64_t aigov_throttle_level_ppm(const AigovThrottle *th);
extern AigovThrottleStatus aigov_throttle_admit(AigovThrottle *th,
												const AigovThrottleLoad *load,
												AigovThrottleClassId cls,
												int64_t est_tokens,
												int64_t now_us,
												int64_t *not_before_us);
extern void aigov_throttle_charge(AigovThrottle *th, AigovThrottleClassId cls,
								  int64_t est_tokens, int64_t now_us);

#endif							/* AIGOV_THROTTLE_H */
