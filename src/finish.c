/*-------------------------------------------------------------------------
 * finish.c
 *	  What a finished provider call means: the reply classified in its
 *	  provider's dialect (protocol.h), normalised to an OpenAI completion
 *	  when it is another dialect's, its consequences decided (outcome.c),
 *	  settled on the key (quota.c) and the tenant, and its job's completion
 *	  queued (completion.c).
 *
 * Runs outside any transaction, between cycles; everything it allocates
 * lives in the job's context or the pending group's, so nothing outlives
 * the job or its record.
 *
 * IDENTIFICATION
 *	  src/finish.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/pg_prng.h"

#include "actions.h"
#include "completion.h"
#include "egress.h"
#include "fallback.h"
#include "finish.h"
#include "outcome.h"
#include "pgutil.h"
#include "protocol.h"
#include "provbreaker.h"
#include "reroute.h"
#include "structured_output.h"
#include "translate.h"

int			aigov_max_attempts = 5;

/* A reply, classified and read. */
typedef struct ReadReply
{
	AigovClassification cls;
	AigovNormalisedResponse norm;	/* another dialect's success, as OpenAI's */
	bool		norm_owned;
	const char *response;		/* what the job stores */
	const char *raw_response;	/* the provider's own, when translated */
	int64		prompt_tokens;	/* -1: unknown */
	int64		completion_tokens;
} ReadReply;

/*
 * check_schema
 *		Holds a successful reply to the job's response_format schema, if
 *		it has one: a reply that does not conform becomes a
 *		schema_mismatch, whose message is the validator's, and is not
 *		kept (it must never be mistaken for the job's answer).
 */
static void
check_schema(AigovJob *job, ReadReply *r)
{
	char		msg[sizeof(r->cls.message)];
	size_t		len;

	if (job->body == NULL || r->response == NULL)
		return;
	len = r->response == job->response ? job->response_len : strlen(r->response);
	if (aigov_structured_check_reply(job->body, strlen(job->body), r->response, len,
									 msg, sizeof(msg)) != AIGOV_STRUCTURED_MISMATCH)
		return;
	r->cls.cls = AIGOV_CLASS_SCHEMA_MISMATCH;
	r->cls.retryable = false;
	r->cls.breaker_failure = false;
	strlcpy(r->cls.message, msg, sizeof(r->cls.message));
	r->response = r->raw_response = NULL;
}

/*
 * read_reply
 *		Classifies a finished call and, for a success in another dialect,
 *		normalises the reply; a reply that cannot be read becomes a
 *		bad_response.
 */
static void
read_reply(AigovJob *job, int64 now_us, ReadReply *r)
{
	AigovClassification *cls = &r->cls;

	memset(&r->norm, 0, sizeof(r->norm));
	r->norm.prompt_tokens = r->norm.completion_tokens = -1;
	r->norm_owned = false;
	r->response = r->raw_response = NULL;
	r->prompt_tokens = r->completion_tokens = -1;

	aigov_protocol_classify(job->style, job->transport_error, (int) job->http_status,
							&job->rate, job->response, job->response_len, now_us, cls);
	if (job->transport_error != AIGOV_TRANSPORT_NONE &&
		job->transport_message[0] != '\0' && cls->message[0] == '\0')
		strlcpy(cls->message, job->transport_message, sizeof(cls->message));
	if (cls->cls != AIGOV_CLASS_SUCCESS)
		return;

	/* OpenAI-dialect replies are stored as they came: classify() read them */
	if (aigov_protocol_reply_is_openai(job->style))
		r->response = job->response;
	else
	{
		AigovTranslateStatus ts;

		ts = aigov_translate_response(job->style, job->response, job->response_len,
									  job->model, &r->norm);
		r->norm_owned = true;
		if (ts != AIGOV_TRANSLATE_OK)
		{
			cls->cls = AIGOV_CLASS_BAD_RESPONSE;
			cls->retryable = true;
			cls->breaker_failure = true;
			snprintf(cls->message, sizeof(cls->message),
					 "could not read the provider's reply: %s",
					 r->norm.detail[0] ? r->norm.detail : aigov_translate_status_name(ts));
			return;
		}
		r->response = r->norm.body;
		r->raw_response = job->response;
	}
	r->prompt_tokens = cls->usage.present ? cls->usage.prompt_tokens : r->norm.prompt_tokens;
	r->completion_tokens = cls->usage.present ? cls->usage.completion_tokens :
		r->norm.completion_tokens;
	check_schema(job, r);
}

/*
 * rate_report
 *		The provider's report of a key's minute windows, in the router's
 *		terms; false if the reply carried none.
 */
static bool
rate_report(const AigovJob *job, AigovRateReport *report)
{
	const AigovRateWindow *tok = job->rate.tokens.present ? &job->rate.tokens :
		&job->rate.input_tokens;

	aigov_router_report_init(report);
	if (!job->rate.requests.present && !tok->present)
		return false;
	if (job->rate.requests.present && !job->rate.requests.sentinel)
	{
		/* the router counts requests per minute */
		int64		per_minute = 60 / Max(aigov_protocol_requests_window_s(job->style), 1);

		report->req_limit = job->rate.requests.limit > 0 ?
			Min(job->rate.requests.limit, PG_INT64_MAX / per_minute) * per_minute :
			job->rate.requests.limit;
		report->req_remaining = job->rate.requests.remaining > 0 ?
			Min(job->rate.requests.remaining, PG_INT64_MAX / per_minute) * per_minute :
			job->rate.requests.remaining;
		report->req_reset_at_us = job->rate.requests.reset_at_us;
	}
	if (tok->present && !tok->sentinel)
	{
		report->tok_limit = tok->limit;
		report->tok_remaining = tok->remaining;
		report->tok_reset_at_us = tok->reset_at_us;
	}
	return true;
}

/*
 * settle
 *		Tells the key how its call ended and corrects the tenant's buckets
 *		with the tokens the provider reported; a soft limit this crosses is
 *		alerted in the next cycle.
 */
static void
settle(AigovJob *job, const ReadReply *r, const AigovOutcome *o, int64 now_us)
{
	AigovKeySettlement s;
	AigovRateReport report;
	int64		actual = (r->prompt_tokens >= 0 && r->completion_tokens >= 0) ?
		r->prompt_tokens + r->completion_tokens : -1;

	if (job->key_shared != NULL)
	{
		s.effect = o->key_effect;
		s.limit = o->limit;
		/* a character-counting limiter charges its own estimate */
		s.charged_tokens = (aigov_protocol_charges_characters(job->style) || actual < 0) ?
			job->charge_tokens : actual;
		s.retry_at_us = o->key_retry_at_us;
		s.report = rate_report(job, &report) ? &report : NULL;
		s.breaker = o->breaker;
		AigovKeySettle(job->key_shared, &job->ticket, &s, now_us);
	}
	if (job->tenant_shared != NULL && actual >= 0)
		AigovActionSoftWarnings(job->tenant_id, job->tenant_shared,
								AigovTenantReconcile(job->tenant_shared, job->est_tokens,
													 actual, now_us));
}

/*
 * AigovFinishJob
 *		Classifies a finished call, settles it and queues its completion:
 *		the job's new state and one attempts row.  The caller frees the job.
 */
void
AigovFinishJob(AigovJob *job, TimestampTz *next_due)
{
	MemoryContext old = MemoryContextSwitchTo(job->cxt);
	int64		now_us = AigovNowUs();
	ReadReply	r;
	AigovOutcomeInput in;
	AigovOutcome o;
	AigovCallRecord rec;
	const char *cls_name;

	if (job->host_refused && !job->host_opened &&
		job->transport_error == AIGOV_TRANSPORT_CONNECTION)
	{
		/* no byte went out: not the provider's failure, nor the key's */
		AigovEgressFailJob(job);
		MemoryContextSwitchTo(old);
		return;
	}
	read_reply(job, now_us, &r);
	cls_name = aigov_protocol_class_name(r.cls.cls);

	in.cls = r.cls.cls;
	in.retry_at_us = r.cls.retry_at_us;
	in.http_status = (int) job->http_status;
	in.breaker_failure = r.cls.breaker_failure;
	in.failures = job->failures;
	in.max_attempts = aigov_max_attempts;
	in.deadline_us = job->deadline != 0 ? AigovToUnixUs(job->deadline) : 0;
	in.now_us = now_us;
	in.random = pg_prng_uint64(&pg_global_prng_state);
	aigov_outcome_decide(&in, &o);
	/* a rate limit longer than the job may wait: plan it again now (layer 4) */
	if (o.state == AIGOV_JOB_QUEUED && aigov_protocol_class_is_rate_limit(r.cls.cls) &&
		AigovFallbackSoon(job, now_us, o.not_before_us))
		o.not_before_us = now_us;

	if (o.disable_key)
	{
		/* the operator's view; the error context names the job */
		ereport(LOG,
				(errmsg("aigov key \"%s\" of provider \"%s\" is taken out of rotation: %s",
						job->key_label, job->provider, cls_name),
				 errdetail("The provider said: %s", r.cls.message)));
		AigovActionDisableKey(job->key_id, cls_name, r.cls.message);
	}
	settle(job, &r, &o, now_us);
	AigovProviderBreakerRecord(job->provider,
							   aigov_fallback_provider_outcome(r.cls.cls), now_us);

	memset(&rec, 0, sizeof(rec));
	rec.state = aigov_job_state_name(o.state);
	rec.failures = o.failures;
	rec.not_before = o.not_before_us != 0 ? AigovFromUnixUs(o.not_before_us) : 0;
	if (rec.not_before != 0)
		*next_due = Min(*next_due, rec.not_before);
	rec.response = r.response;
	rec.raw_response = r.raw_response;
	if (r.cls.cls != AIGOV_CLASS_SUCCESS)
	{
		rec.error_class = cls_name;
		rec.error_message = o.deadline_passed ?
			"the job's deadline passes before the provider allows another call" :
			r.cls.message;
		rec.error_code = r.cls.code;
		rec.error_http_status = o.error_http_status;
	}
	rec.prompt_tokens = r.prompt_tokens;
	rec.completion_tokens = r.completion_tokens;
	if (r.cls.retry_at_us > 0 && aigov_protocol_class_is_rate_limit(r.cls.cls))
		rec.retry_after = AigovFromUnixUs(r.cls.retry_at_us);
	AigovCompleteCall(job, &rec);

	if (r.norm_owned)
		aigov_translate_response_free(&r.norm);
	MemoryContextSwitchTo(old);
}

/*
 * AigovAbandonJob
 *		Puts a job that was still on the wire when its worker had to stop
 *		back in the queue, giving its key the reservation back.  The call
 *		may have reached the provider, so it keeps its attempt and its
 *		attempts row (class "abandoned"); no failure is counted, since the
 *		stop was ours.  The caller frees the job.
 */
void
AigovAbandonJob(AigovJob *job)
{
	AigovCallRecord rec;

	if (job->key_shared != NULL)
		AigovKeyRelease(job->key_shared, &job->ticket, false, AigovNowUs());
	if (job->finished_at == 0)
		job->finished_at = GetCurrentTimestamp();
	memset(&rec, 0, sizeof(rec));
	rec.state = "queued";
	rec.failures = job->failures;
	rec.error_class = "abandoned";
	rec.error_message = "the worker stopped while this call was in flight; the job went back to the queue";
	rec.prompt_tokens = -1;
	rec.completion_tokens = -1;
	AigovCompleteCall(job, &rec);
}
