/*-------------------------------------------------------------------------
 * bucket.h
 *	  Continuous-refill token buckets (GCRA) as exact integer arithmetic.
 *
 * One AigovBucket models one quota axis: "limit units per period", e.g.
 * 600 requests per minute or 2,000,000 tokens per day.  The bucket holds
 * at most `limit` units and refills continuously at limit/period.  State is
 * a fixed-size struct without pointers, so it can live in shared memory;
 * every function takes the clock as an explicit `now_us` argument; nothing
 * allocates and nothing locks (the caller holds whatever lock guards the
 * struct).
 *
 * IDENTIFICATION
 *	  src/bucket.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_BUCKET_H
#define AIGOV_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

#define AIGOV_USECS_PER_MINUTE	INT64_C(60000000)
#define AIGOV_USECS_PER_DAY		INT64_C(86400000000)

/*
 * Clock readings that go backwards by at most this much are treated as "the
 * same instant" (several processes read the clock before queueing for the
 * same lock).  A larger backward step is a clock change: the bucket then
 * shifts its state back by the same amount, as if time had stood still.
 */
#define AIGOV_BUCKET_CLOCK_SLACK_US	INT64_C(1000000)

/*
 * GCRA state.  The theoretical arrival time (TAT) is the instant at which
 * the bucket would be full again; it is tat_us + tat_frac / limit
 * microseconds, so each unit advances it by exactly period/limit without
 * rounding drift.  TAT <= now means a full bucket; TAT = now + period means
 * an empty one; beyond that the bucket is in debt (force_take).
 *
 * limit <= 0 means "no limit on this axis": every take succeeds and the
 * other fields are ignored.
 */
typedef struct AigovBucket
{
	int64_t		limit;			/* units per period; <= 0: unlimited */
	int64_t		period_us;		/* > 0 */
	int64_t		tat_us;			/* whole microseconds of the TAT */
	int64_t		tat_frac;		/* plus tat_frac/limit us, in [0, limit) */
	int64_t		last_us;		/* latest clock reading seen */
} AigovBucket;

typedef enum AigovBucketResult
{
	AIGOV_BUCKET_OK = 0,		/* taken (or would be taken) now */
	AIGOV_BUCKET_WAIT,			/* fits at *available_at_us, not before */
	AIGOV_BUCKET_NEVER			/* cost exceeds the limit: never fits */
} AigovBucketResult;

extern bool aigov_bucket_init(AigovBucket *b, int64_t limit, int64_t period_us);
extern bool aigov_bucket_set_limit(AigovBucket *b, int64_t limit,
								   int64_t period_us, int64_t now_us);

extern AigovBucketResult aigov_bucket_available_at(const AigovBucket *b,
												   int64_t cost,
												   int64_t now_us,
												   int64_t *available_at_us);
extern AigovBucketResult aigov_bucket_available_at_burst(const AigovBucket *b,
														 int64_t cost,
														 int64_t burst,
														 int64_t now_us,
														 int64_t *available_at_us);
extern AigovBucketResult aigov_bucket_try_take(AigovBucket *b, int64_t cost,
											   int64_t now_us,
											   int64_t *available_at_us);
extern void aigov_bucket_force_take(AigovBucket *b, int64_t cost,
									int64_t now_us);
extern void aigov_bucket_give_back(AigovBucket *b, int64_t cost,
								   int64_t now_us);
extern void aigov_bucket_set_remaining(AigovBucket *b, int64_t remaining,
									   int64_t now_us);

extern int64_t aigov_bucket_remaining(const AigovBucket *b, int64_t now_us);
extern int64_t aigov_bucket_balance(const AigovBucket *b, int64_t now_us);
extern int64_t aigov_bucket_utilisation_ppm(const AigovBucket *b,
											int64_t now_us);
extern int64_t aigov_bucket_full_at(const AigovBucket *b, int64_t now_us);

/* a * b / c without intermediate overflow; saturates at INT64_MAX */
extern int64_t aigov_bucket_muldiv(int64_t a, int64_t b, int64_t c,
								   bool round_up);

#endif							/* AIGOV_BUCKET_H */
