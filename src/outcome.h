/*-------------------------------------------------------------------------
 * outcome.h
 *	  What a finished provider call means for its job: the job's next
 *	  state, when it may run again, the HTTP status its error reports, and
 *	  what the call means for the key that carried it.
 *
 * Pure C, no postgres.h: every decision the worker makes after a call,
 * as one function of the call's classification and the job's counters,
 * so that each error class's consequence is tested directly.
 *
 * IDENTIFICATION
 *	  src/outcome.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_OUTCOME_H
#define AIGOV_OUTCOME_H

#include <stdbool.h>
#include <stdint.h>

#include "breaker.h"
#include "protocol.h"
#include "router.h"

/* Backoff of transient failures: base * 2^(n-1) with jitter, capped. */
#define AIGOV_OUTCOME_BACKOFF_BASE_US	INT64_C(500000)
#define AIGOV_OUTCOME_BACKOFF_CAP_US	INT64_C(30000000)

/* The states a finished call can leave its job in (aigov.requests.state). */
typedef enum AigovJobState
{
	AIGOV_JOB_QUEUED = 0,		/* back in the queue, from not_before on */
	AIGOV_JOB_SUCCEEDED,
	AIGOV_JOB_FAILED,
	AIGOV_JOB_EXPIRED			/* its deadline passes before it may run */
} AigovJobState;

/* What the call's key learns from it (router.h's settlement calls). */
typedef enum AigovKeyEffect
{
	AIGOV_KEY_COMPLETE = 0,		/* a success: charge what it cost */
	AIGOV_KEY_RATE_LIMITED,		/* a 429 of one of its windows */
	AIGOV_KEY_RELEASE			/* anything else: give the reservation back */
} AigovKeyEffect;

typedef struct AigovOutcomeInput
{
	AigovErrorClass cls;		/* the call's classification */
	int64_t		retry_at_us;	/* the classification's hint; 0 none */
	int			http_status;	/* the reply's status; 0 none */
	bool		breaker_failure;	/* the classification's breaker flag */
	int			failures;		/* the job's transient failures before */
	int			max_attempts;	/* aigov.max_attempts */
	int64_t		deadline_us;	/* the job's deadline; 0 none */
	int64_t		now_us;
	uint64_t	random;			/* uniform bits for the backoff's jitter */
} AigovOutcomeInput;

typedef struct AigovOutcome
{
	AigovJobState state;
	int			failures;		/* the job's transient failures after */
	int64_t		not_before_us;	/* when a queued job may run; 0 none */
	int			error_http_status;	/* the status its error reports; 0 null */
	bool		deadline_passed;	/* expired: the next allowed call is past
									 * the deadline */
	bool		disable_key;	/* take the key out of rotation, alert */
	AigovKeyEffect key_effect;
	AigovRouterLimit limit;		/* AIGOV_KEY_RATE_LIMITED: which window */
	AigovBreakerOutcome breaker;	/* what the key's breaker records */
	int64_t		key_retry_at_us;	/* when the key may take the job again */
} AigovOutcome;

extern void aigov_outcome_decide(const AigovOutcomeInput *in,
								 AigovOutcome *out);
extern int64_t aigov_outcome_backoff_us(int failures, uint64_t random);
extern const char *aigov_job_state_name(AigovJobState state);

#endif							/* AIGOV_OUTCOME_H */
