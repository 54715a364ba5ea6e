/*-------------------------------------------------------------------------
 * outcome.c
 *	  What a finished provider call means for its job and its key.
 *
 * The rules (docs/algorithms.md, "After a call"):
 *   - a rate limit is a schedule, not a failure: the job waits exactly as
 *     long as the provider says (or a short probe when it says nothing) and
 *     its failure count does not move;
 *   - a key out of credit is taken out of rotation and the job goes back
 *     to the queue at once, for another key;
 *   - a key that fails authentication (401, or a provider's invalid-key
 *     code) is taken out of rotation and the job fails (another key of the
 *     same account would fail the same way);
 *   - a 403 (forbidden: a valid key without access to this) fails the job
 *     and counts toward the key's breaker, but never disables the key: a
 *     shared key must not leave rotation for everyone over one request;
 *   - a reply over aigov.max_response_bytes (or with headers over the
 *     header cap) fails the job at once: another call would be billed
 *     again and most likely be as large;
 *   - a request too large or refused as malformed fails at once;
 *   - a reply whose content does not conform to the job's response_format
 *     schema fails the job at once: the same model on the same provider
 *     would most likely answer alike, and the call was billed; the key
 *     is charged as for a success and its breaker is not moved (the
 *     provider is up; its model answered badly);
 *   - overloads, 5xx, timeouts, connection failures and unreadable replies
 *     are transient: the job retries after a jittered exponential backoff
 *     until aigov.max_attempts of them, then fails;
 *   - a job whose next allowed call falls after its deadline expires now,
 *     instead of waiting to expire.
 * Only what the classifier marks as the provider's failure (5xx, overload,
 * timeouts, connection failures, 403s, oversized replies) moves the
 * breaker; rate limits never do.
 *
 * IDENTIFICATION
 *	  src/outcome.c
 *-------------------------------------------------------------------------
 */
#include "outcome.h"

#include "satmath.h"

/*
 * aigov_outcome_backoff_us
 *		How long a job that failed transiently `failures` times waits:
 *		uniformly in [w/2, w] for w = base * 2^(failures-1), capped.  The
 *		jitter keeps the jobs of one outage from coming back together.
 */
int64_t
aigov_outcome_backoff_us(int failures, uint64_t random)
{
	int64_t		window = AIGOV_OUTCOME_BACKOFF_BASE_US;
	uint64_t	span;

	for (int i = 1; i < failures && window < AIGOV_OUTCOME_BACKOFF_CAP_US; i++)
		window *= 2;
	if (window > AIGOV_OUTCOME_BACKOFF_CAP_US)
		window = AIGOV_OUTCOME_BACKOFF_CAP_US;
	span = (uint64_t) (window - window / 2) + 1;
	return window / 2 + (int64_t) (random % span);
}

/* The router's window of a rate-limit class. */
static AigovRouterLimit
limit_of(AigovErrorClass cls)
{
	switch (cls)
	{
		case AIGOV_CLASS_RATE_LIMIT_RPM:
			return AIGOV_ROUTER_LIMIT_REQUESTS;
		case AIGOV_CLASS_RATE_LIMIT_TPM:
			return AIGOV_ROUTER_LIMIT_TOKENS;
		default:
			return AIGOV_ROUTER_LIMIT_DAILY;
	}
}

/* The job's side: state, failures, not_before and the error's status. */
static void
decide_job(const AigovOutcomeInput *in, AigovOutcome *out)
{
	switch (in->cls)
	{
		case AIGOV_CLASS_SUCCESS:
			out->state = AIGOV_JOB_SUCCEEDED;
			break;

		case AIGOV_CLASS_RATE_LIMIT_RPM:
		case AIGOV_CLASS_RATE_LIMIT_TPM:
		case AIGOV_CLASS_RATE_LIMIT_RPD:
		case AIGOV_CLASS_RATE_LIMIT_TPD:
			out->state = AIGOV_JOB_QUEUED;
			out->not_before_us = in->retry_at_us > 0 ? in->retry_at_us :
				aigov_sat_add(in->now_us, AIGOV_PROTOCOL_MINUTE_FALLBACK_US);
			out->error_http_status = in->http_status;
			break;

		case AIGOV_CLASS_INSUFFICIENT_QUOTA:
			out->state = AIGOV_JOB_QUEUED;
			out->not_before_us = in->now_us;
			out->error_http_status = in->http_status;
			out->disable_key = true;
			break;

		case AIGOV_CLASS_AUTH:
			out->state = AIGOV_JOB_FAILED;
			out->error_http_status = 502;
			out->disable_key = true;
			break;

		case AIGOV_CLASS_REQUEST_TOO_LARGE:
		case AIGOV_CLASS_CONTEXT_WINDOW:
			out->state = AIGOV_JOB_FAILED;
			out->error_http_status = 413;
			break;

		case AIGOV_CLASS_FORBIDDEN:
		case AIGOV_CLASS_RESPONSE_TOO_LARGE:
		case AIGOV_CLASS_SCHEMA_MISMATCH:
			out->state = AIGOV_JOB_FAILED;
			out->error_http_status = 502;
			break;

		case AIGOV_CLASS_CLIENT_ERROR:
			out->state = AIGOV_JOB_FAILED;
			out->error_http_status = in->http_status > 0 ? in->http_status : 400;
			break;

		default:
			/* overloaded, server_error, timeout, connection, bad_response */
			out->failures = in->failures + 1;
			if (out->failures >= in->max_attempts)
			{
				out->state = AIGOV_JOB_FAILED;
				out->error_http_status = in->cls == AIGOV_CLASS_TIMEOUT ? 504 : 502;
			}
			else
			{
				out->state = AIGOV_JOB_QUEUED;
				out->not_before_us =
					aigov_sat_add(in->now_us,
								  aigov_outcome_backoff_us(out->failures, in->random));
				out->error_http_status = in->http_status;
			}
			break;
	}

	if (out->state == AIGOV_JOB_QUEUED && in->deadline_us != 0 &&
		out->not_before_us > in->deadline_us)
	{
		out->state = AIGOV_JOB_EXPIRED;
		out->deadline_passed = true;
		out->error_http_status = 0;
		out->not_before_us = 0;
	}
}

/* The key's side: how its reservation settles and what its breaker sees. */
static void
decide_key(const AigovOutcomeInput *in, AigovOutcome *out)
{
	/* a reply that missed its schema was still served, and billed */
	if (in->cls == AIGOV_CLASS_SUCCESS || in->cls == AIGOV_CLASS_SCHEMA_MISMATCH)
		out->key_effect = AIGOV_KEY_COMPLETE;
	else if (aigov_protocol_class_is_rate_limit(in->cls))
	{
		out->key_effect = AIGOV_KEY_RATE_LIMITED;
		out->limit = limit_of(in->cls);
	}
	else
		out->key_effect = AIGOV_KEY_RELEASE;

	if (in->cls == AIGOV_CLASS_SUCCESS)
		out->breaker = AIGOV_BREAKER_SUCCESS;
	else if (in->breaker_failure)
		out->breaker = AIGOV_BREAKER_FAILURE;
	else
		out->breaker = AIGOV_BREAKER_NEUTRAL;
}

/*
 * aigov_outcome_decide
 *		The consequences of one finished call; see the file's banner.
 *		`failures` is carried over unchanged except by transient failures.
 */
void
aigov_outcome_decide(const AigovOutcomeInput *in, AigovOutcome *out)
{
	out->state = AIGOV_JOB_QUEUED;
	out->failures = in->failures;
	out->not_before_us = 0;
	out->error_http_status = 0;
	out->deadline_passed = false;
	out->disable_key = false;
	out->limit = AIGOV_ROUTER_LIMIT_UNKNOWN;
	decide_job(in, out);
	decide_key(in, out);

	/*
	 * The key may take the job again when the job may run, else when the
	 * provider said (a key disabled with a hint of its return).
	 */
	out->key_retry_at_us = out->not_before_us != 0 ? out->not_before_us :
		in->retry_at_us;
}

const char *
aigov_job_state_name(AigovJobState state)
{
	switch (state)
	{
		case AIGOV_JOB_QUEUED:
			return "queued";
		case AIGOV_JOB_SUCCEEDED:
			return "succeeded";
		case AIGOV_JOB_FAILED:
			return "failed";
		case AIGOV_JOB_EXPIRED:
			return "expired";
	}
	return "failed";
}
