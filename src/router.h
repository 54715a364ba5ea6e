/*-------------------------------------------------------------------------
 * router.h
 *	  Key state and quota-aware weighted key choice (layer 2).
 *
 * One AigovKeyState per provider key, in shared memory: the limits the
 * administrator configured or the provider's headers taught us, shadow
 * buckets that model the provider's own buckets (corrected by every
 * response), our pacers, in-flight reservations, a slow-start window and
 * inferred limits for keys whose limits are unknown, and the 429 back-off.  No pointers, explicit
 * clock, no allocation, no locking: the caller holds the key's lock (and,
 * for aigov_router_choose, whatever makes the array stable).
 *
 * Life of a job on a key:
 *	  aigov_router_choose() -> aigov_router_reserve() -> send ->
 *	  aigov_router_complete() | aigov_router_on_rate_limited() |
 *	  aigov_router_release()
 * The AigovKeyTicket from reserve travels with the job (worker memory) and
 * lets a response's headers be compared with the state they describe.
 *
 * IDENTIFICATION
 *	  src/router.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_ROUTER_H
#define AIGOV_ROUTER_H

#include <stdbool.h>
#include <stdint.h>

#include "bucket.h"
#include "throttle.h"

/* Pace with GCRA at this share of a key's minute limits. */
#define AIGOV_ROUTER_DEFAULT_PACE_PCT	95
/* Below this remaining share of a minute bucket, the pacer's burst shrinks. */
#define AIGOV_ROUTER_KNEE_PCT			30
/* Burst left to the pacer when the bucket is empty, % of the paced limit. */
#define AIGOV_ROUTER_MIN_BURST_PCT		2
/* Remaining share at which a key's routing weight reaches zero. */
#define AIGOV_ROUTER_RESERVE_PCT		10
/* Good news (provider has more than we thought) closes 1/N of the gap. */
#define AIGOV_ROUTER_GOOD_NEWS_DIV		4
/* Slow start for keys whose limits are unknown: in-flight requests. */
#define AIGOV_ROUTER_INITIAL_CWND		2
#define AIGOV_ROUTER_MAX_CWND			4096
/* 429 without a usable retry time: minute and daily fallbacks. */
#define AIGOV_ROUTER_MINUTE_RETRY_US	INT64_C(1000000)
#define AIGOV_ROUTER_DAILY_RETRY_US		INT64_C(3600000000)
/* Without headers, an inferred limit is raised by 1/N once a quiet minute. */
#define AIGOV_ROUTER_PROBE_UP_DIV		32
/* ... and cut by 1/N (at least) on each new 429. */
#define AIGOV_ROUTER_INFER_CUT_DIV		8
/* Shortest "ask again" hint when only the concurrency window blocks. */
#define AIGOV_ROUTER_RECHECK_US			INT64_C(10000)

/*
 * What one response said about the key's minute windows.  Absent values:
 * limit and remaining -1, reset_at_us 0.  reset_at_us is absolute (same
 * clock as now_us): when the provider's bucket is full again.
 */
typedef struct AigovRateReport
{
	int64_t		req_limit;
	int64_t		req_remaining;
	int64_t		req_reset_at_us;
	int64_t		tok_limit;
	int64_t		tok_remaining;
	int64_t		tok_reset_at_us;
} AigovRateReport;

/* Handed out by aigov_router_reserve(); kept with the job until it ends. */
typedef struct AigovKeyTicket
{
	int64_t		sent_at_us;
	int64_t		est_tokens;
	int64_t		req_seq;		/* key's reservation counters just after */
	int64_t		tok_seq;		/* this reservation was made */
} AigovKeyTicket;

typedef enum AigovRouterStatus
{
	AIGOV_ROUTER_OK = 0,		/* headroom now / a key was chosen */
	AIGOV_ROUTER_WAIT,			/* not now; see available_at */
	AIGOV_ROUTER_NEVER,			/* job larger than a limit / no key ever */
	AIGOV_ROUTER_DISABLED		/* key is disabled */
} AigovRouterStatus;

/* Which limit a 429 named (from the error classification). */
typedef enum AigovRouterLimit
{
	AIGOV_ROUTER_LIMIT_UNKNOWN = 0, /* both minute axes */
	AIGOV_ROUTER_LIMIT_REQUESTS,
	AIGOV_ROUTER_LIMIT_TOKENS,
	AIGOV_ROUTER_LIMIT_DAILY
} AigovRouterLimit;

typedef struct AigovKeyState
{
	/* configuration (aigov.keys); limits 0 = unknown / learn */
	int64_t		cfg_rpm;
	int64_t		cfg_tpm;
	int64_t		cfg_rpd;
	int64_t		cfg_tpd;
	int32_t		weight;			/* static preference; <= 0: standby */
	int32_t		pace_pct;		/* pacing target, % of the minute limits */
	bool		disabled;

	/* limits learned from headers (0 = none yet) */
	int64_t		learned_rpm;
	int64_t		learned_tpm;
	/* limits inferred from 429s while no header gave one (0 = none) */
	int64_t		inferred_rpm;
	int64_t		inferred_tpm;
	int64_t		inferred_at_us; /* last change: probe upward after it */
	/* successes per minute, sliding two-window estimate (for inference) */
	int64_t		meter_start_us;
	int64_t		meter_req_cur;
	int64_t		meter_req_prev;
	int64_t		meter_tok_cur;
	int64_t		meter_tok_prev;

	/* shadows of the provider's buckets; limit 0 = unknown */
	AigovBucket req_min;
	AigovBucket tok_min;
	AigovBucket req_day;
	AigovBucket tok_day;
	/* our pacers: pace_pct of the minute limits */
	AigovBucket req_pace;
	AigovBucket tok_pace;

	/* the provider's last report (telemetry), and when it came */
	AigovRateReport last_report;
	int64_t		last_report_at_us;

	/* in flight; *_total only grow, and date reservations for the fold */
	int32_t		inflight_requests;
	int64_t		inflight_tokens;
	int64_t		reserved_requests_total;
	int64_t		reserved_tokens_total;

	/* slow start / AIMD, thousandths of a request in flight */
	int64_t		cwnd_milli;
	int64_t		ssthresh_milli;
	int64_t		cwnd_cut_seq;	/* reservations before this were cut for */
	int64_t		latency_ewma_us;

	int64_t		exhausted_until_us; /* from a 429; 0 = not exhausted */
	int64_t		rate_limited_total;
	int64_t		completed_total;

	/* jobs waiting for this key come due one pace interval apart up to here */
	int64_t		booked_until_us;
} AigovKeyState;

extern void aigov_router_report_init(AigovRateReport *report);
extern void aigov_router_key_init(AigovKeyState *key, int64_t rpm,
								  int64_t tpm, int64_t rpd, int64_t tpd,
								  int32_t weight);
extern void aigov_router_key_configure(AigovKeyState *key, int64_t rpm,
									   int64_t tpm, int64_t rpd, int64_t tpd,
									   int32_t weight, int32_t pace_pct,
									   int64_t now_us);
extern void aigov_router_set_disabled(AigovKeyState *key, bool disabled);

extern AigovRouterStatus aigov_router_headroom(const AigovKeyState *key,
											   int64_t est_tokens,
											   int64_t now_us,
											   int64_t *available_at_us);
extern double aigov_router_weight(const AigovKeyState *key,
								  int64_t est_tokens, int64_t now_us);
extern AigovRouterStatus aigov_router_choose(const AigovKeyState *keys,
											 int nkeys,
											 const bool *eligible,
											 int64_t est_tokens,
											 int64_t now_us,
											 uint64_t random_u64,
											 int *chosen,
											 int64_t *earliest_available_at_us);

extern void aigov_router_reserve(AigovKeyState *key, int64_t est_tokens,
								 int64_t now_us, AigovKeyTicket *ticket);
extern void aigov_router_complete(AigovKeyState *key,
								  const AigovKeyTicket *ticket,
								  int64_t charged_tokens,
								  const AigovRateReport *report,
								  int64_t now_us);
extern void aigov_router_on_rate_limited(AigovKeyState *key,
										 const AigovKeyTicket *ticket,
										 AigovRouterLimit which,
										 int64_t retry_at_us,
										 const AigovRateReport *report,
										 int64_t now_us);
extern void aigov_router_release(AigovKeyState *key,
								 const AigovKeyTicket *ticket, bool refund,
								 int64_t now_us);
extern void aigov_router_fold_report(AigovKeyState *key,
									 const AigovKeyTicket *ticket,
									 const AigovRateReport *report,
									 int64_t now_us);

/*
 * Waiting jobs: when a job finds no headroom, it waits for the next free
 * slot of a key, after the jobs already waiting for that key, and books
 * it.  next_slot changes nothing; book returns the same instant and moves
 * the key's booking horizon one pace interval on.  INT64_MAX: the key can
 * never take the job (disabled, or the job exceeds a limit).  A booking
 * reserves nothing: it only spreads the waiting jobs' not_before.
 */
extern int64_t aigov_router_next_slot(const AigovKeyState *key,
									  int64_t est_tokens, int64_t now_us);
extern int64_t aigov_router_book(AigovKeyState *key, int64_t est_tokens,
								 int64_t now_us);

extern bool aigov_router_limits_known(const AigovKeyState *key);
extern int64_t aigov_router_utilisation_ppm(const AigovKeyState *key,
											int64_t now_us);
extern void aigov_router_add_load(const AigovKeyState *key, int64_t now_us,
								  AigovThrottleLoad *load);

#endif							/* AIGOV_ROUTER_H */
