/*-------------------------------------------------------------------------
 * test_outcome.c
 *	  cmocka tests of what a finished call means for its job and key
 *	  (src/outcome.c), one case per error class and per rule.
 *
 * IDENTIFICATION
 *	  test/unit/test_outcome.c
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "outcome.h"

#define T0		INT64_C(1700000000000000)
#define SEC		INT64_C(1000000)

/* A call of class cls by a job that failed `failures` times before. */
static AigovOutcomeInput
call(AigovErrorClass cls, int http_status, int failures)
{
	AigovOutcomeInput in;

	in.cls = cls;
	in.retry_at_us = 0;
	in.http_status = http_status;
	in.breaker_failure = (cls == AIGOV_CLASS_OVERLOADED ||
						  cls == AIGOV_CLASS_SERVER_ERROR ||
						  cls == AIGOV_CLASS_TIMEOUT ||
						  cls == AIGOV_CLASS_CONNECTION ||
						  cls == AIGOV_CLASS_FORBIDDEN ||
						  cls == AIGOV_CLASS_RESPONSE_TOO_LARGE);
	in.failures = failures;
	in.max_attempts = 5;
	in.deadline_us = 0;
	in.now_us = T0;
	in.random = 0;
	return in;
}

static void
test_success(void **state)
{
	AigovOutcomeInput in = call(AIGOV_CLASS_SUCCESS, 200, 2);
	AigovOutcome out;

	(void) state;
	aigov_outcome_decide(&in, &out);
	assert_int_equal(out.state, AIGOV_JOB_SUCCEEDED);
	assert_int_equal(out.failures, 2);
	assert_int_equal(out.not_before_us, 0);
	assert_int_equal(out.error_http_status, 0);
	assert_false(out.disable_key);
	assert_int_equal(out.key_effect, AIGOV_KEY_COMPLETE);
	assert_int_equal(out.breaker, AIGOV_BREAKER_SUCCESS);
	assert_string_equal(aigov_job_state_name(out.state), "succeeded");
}

/* A 429 waits exactly as long as told and is not a failure. */
static void
test_rate_limits_are_schedules(void **state)
{
	static const struct
	{
		AigovErrorClass cls;
		AigovRouterLimit limit;
	}			cases[] = {
		{AIGOV_CLASS_RATE_LIMIT_RPM, AIGOV_ROUTER_LIMIT_REQUESTS},
		{AIGOV_CLASS_RATE_LIMIT_TPM, AIGOV_ROUTER_LIMIT_TOKENS},
		{AIGOV_CLASS_RATE_LIMIT_RPD, AIGOV_ROUTER_LIMIT_DAILY},
		{AIGOV_CLASS_RATE_LIMIT_TPD, AIGOV_ROUTER_LIMIT_DAILY},
	};

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		AigovOutcomeInput in = call(cases[i].cls, 429, 4);
		AigovOutcome out;

		in.retry_at_us = T0 + 7 * SEC;
		in.max_attempts = 5;
		aigov_outcome_decide(&in, &out);
		assert_int_equal(out.state, AIGOV_JOB_QUEUED);
		assert_int_equal(out.failures, 4);	/* one short of max: unmoved */
		assert_int_equal(out.not_before_us, T0 + 7 * SEC);
		assert_int_equal(out.error_http_status, 429);
		assert_int_equal(out.key_effect, AIGOV_KEY_RATE_LIMITED);
		assert_int_equal(out.limit, cases[i].limit);
		assert_int_equal(out.breaker, AIGOV_BREAKER_NEUTRAL);
		assert_int_equal(out.key_retry_at_us, T0 + 7 * SEC);
		assert_false(out.disable_key);
	}
}

/* A 429 without a hint probes again after the minute fallback. */
static void
test_rate_limit_without_hint(void **state)
{
	AigovOutcomeInput in = call(AIGOV_CLASS_RATE_LIMIT_TPM, 429, 0);
	AigovOutcome out;

	(void) state;
	aigov_outcome_decide(&in, &out);
	assert_int_equal(out.not_before_us, T0 + AIGOV_PROTOCOL_MINUTE_FALLBACK_US);
}

static void
test_insufficient_quota_moves_to_another_key(void **state)
{
	AigovOutcomeInput in = call(AIGOV_CLASS_INSUFFICIENT_QUOTA, 429, 1);
	AigovOutcome out;

	(void) state;
	aigov_outcome_decide(&in, &out);
	assert_int_equal(out.state, AIGOV_JOB_QUEUED);
	assert_int_equal(out.not_before_us, T0);
	assert_int_equal(out.failures, 1);
	assert_true(out.disable_key);
	assert_int_equal(out.key_effect, AIGOV_KEY_RELEASE);
	assert_int_equal(out.breaker, AIGOV_BREAKER_NEUTRAL);
}

static void
test_auth_fails_and_disables(void **state)
{
	AigovOutcomeInput in = call(AIGOV_CLASS_AUTH, 401, 0);
	AigovOutcome out;

	(void) state;
	aigov_outcome_decide(&in, &out);
	assert_int_equal(out.state, AIGOV_JOB_FAILED);
	assert_int_equal(out.error_http_status, 502);
	assert_true(out.disable_key);
	assert_int_equal(out.breaker, AIGOV_BREAKER_NEUTRAL);
}

static void
test_permanent_request_errors(void **state)
{
	AigovOutcomeInput in;
	AigovOutcome out;

	(void) state;
	in = call(AIGOV_CLASS_REQUEST_TOO_LARGE, 429, 0);
	aigov_outcome_decide(&in, &out);
	assert_int_equal(out.state, AIGOV_JOB_FAILED);
	assert_int_equal(out.error_http_status, 413);
	assert_false(out.disable_key);

	/* too large for the model's window: failed at once, breaker untouched */
	in = call(AIGOV_CLASS_CONTEXT_WINDOW, 400, 0);
	aigov_outcome_decide(&in, &out);
	assert_int_equal(out.state, AIGOV_JOB_FAILED);
	assert_int_equal(out.error_http_status, 413);
	assert_false(out.disable_key);
	assert_int_equal(out.breaker, AIGOV_BREAKER_NEUTRAL);

	in = call(AIGOV_CLASS_CLIENT_ERROR, 422, 0);
	aigov_outcome_decide(&in, &out);
	assert_int_equal(out.state, AIGOV_JOB_FAILED);
	assert_int_equal(out.error_http_status, 422);

	/* no status (a redirect we did not follow, say): reported as 400 */
	in = call(AIGOV_CLASS_CLIENT_ERROR, 0, 0);
	aigov_outcome_decide(&in, &out);
	assert_int_equal(out.error_http_status, 400);
	assert_int_equal(out.key_effect, AIGOV_KEY_RELEASE);
	assert_int_equal(out.breaker, AIGOV_BREAKER_NEUTRAL);
}

/* Transient failures back off, count, and fail at max_attempts. */
static void
test_transient_failures(void **state)
{
	static const AigovErrorClass classes[] = {
		AIGOV_CLASS_OVERLOADED, AIGOV_CLASS_SERVER_ERROR,
		AIGOV_CLASS_TIMEOUT, AIGOV_CLASS_CONNECTION,
		AIGOV_CLASS_BAD_RESPONSE
	};

	(void) state;
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
	{
		AigovOutcomeInput in = call(classes[i], 503, 0);
		AigovOutcome out;

		aigov_outcome_decide(&in, &out);
		assert_int_equal(out.state, AIGOV_JOB_QUEUED);
		assert_int_equal(out.failures, 1);
		assert_in_range(out.not_before_us, T0 + AIGOV_OUTCOME_BACKOFF_BASE_US / 2,
						T0 + AIGOV_OUTCOME_BACKOFF_BASE_US);
		assert_int_equal(out.key_effect, AIGOV_KEY_RELEASE);
		assert_int_equal(out.breaker,
						 classes[i] == AIGOV_CLASS_BAD_RESPONSE ?
						 AIGOV_BREAKER_NEUTRAL : AIGOV_BREAKER_FAILURE);

		in.failures = 4;		/* the fifth failure of max_attempts 5 */
		aigov_outcome_decide(&in, &out);
		assert_int_equal(out.state, AIGOV_JOB_FAILED);
		assert_int_equal(out.failures, 5);
		assert_int_equal(out.not_before_us, 0);
		assert_int_equal(out.error_http_status,
						 classes[i] == AIGOV_CLASS_TIMEOUT ? 504 : 502);
	}
}

/* The classifier's breaker flag decides, so a bad reply can count too. */
static void
test_breaker_follows_classifier(void **state)
{
	AigovOutcomeInput in = call(AIGOV_CLASS_BAD_RESPONSE, 200, 0);
	AigovOutcome out;

	(void) state;
	in.breaker_failure = true;
	aigov_outcome_decide(&in, &out);
	assert_int_equal(out.breaker, AIGOV_BREAKER_FAILURE);
}

static void
test_backoff_window(void **state)
{
	(void) state;
	/* failures 1, 2, 3: windows 0.5 s, 1 s, 2 s; jitter in [w/2, w] */
	assert_int_equal(aigov_outcome_backoff_us(1, 0), 250000);
	assert_int_equal(aigov_outcome_backoff_us(1, 250000), 500000);
	assert_int_equal(aigov_outcome_backoff_us(1, 250001), 250000);
	assert_int_equal(aigov_outcome_backoff_us(2, 0), 500000);
	assert_int_equal(aigov_outcome_backoff_us(3, UINT64_MAX) <= 2000000, 1);
	/* capped however many failures, without overflow */
	assert_int_equal(aigov_outcome_backoff_us(1000, 0), AIGOV_OUTCOME_BACKOFF_CAP_US / 2);
	assert_true(aigov_outcome_backoff_us(1000, UINT64_MAX) <= AIGOV_OUTCOME_BACKOFF_CAP_US);
	assert_true(aigov_outcome_backoff_us(0, 12345) <= AIGOV_OUTCOME_BACKOFF_BASE_US);
}

/* A job whose next allowed call is past its deadline expires now. */
static void
test_deadline(void **state)
{
	AigovOutcomeInput in = call(AIGOV_CLASS_RATE_LIMIT_RPM, 429, 0);
	AigovOutcome out;

	(void) state;
	in.retry_at_us = T0 + 30 * SEC;
	in.deadline_us = T0 + 10 * SEC;
	aigov_outcome_decide(&in, &out);
	assert_int_equal(out.state, AIGOV_JOB_EXPIRED);
	assert_true(out.deadline_passed);
	assert_int_equal(out.not_before_us, 0);
	assert_int_equal(out.error_http_status, 0);
	/* the key still learns the 429's window */
	assert_int_equal(out.key_effect, AIGOV_KEY_RATE_LIMITED);
	assert_int_equal(out.key_retry_at_us, T0 + 30 * SEC);
	assert_string_equal(aigov_job_state_name(out.state), "expired");

	/* exactly at the deadline still runs */
	in.retry_at_us = T0 + 10 * SEC;
	aigov_outcome_decide(&in, &out);
	assert_int_equal(out.state, AIGOV_JOB_QUEUED);
	assert_false(out.deadline_passed);

	/* a final state is never turned into expired */
	in = call(AIGOV_CLASS_AUTH, 401, 0);
	in.deadline_us = T0 - SEC;
	aigov_outcome_decide(&in, &out);
	assert_int_equal(out.state, AIGOV_JOB_FAILED);

	/* a transient failure whose backoff ends after the deadline */
	in = call(AIGOV_CLASS_SERVER_ERROR, 500, 0);
	in.deadline_us = T0 + 1;
	aigov_outcome_decide(&in, &out);
	assert_int_equal(out.state, AIGOV_JOB_EXPIRED);
	assert_int_equal(out.failures, 1);
}

/*
 * A 403 fails the job and counts against the key's breaker, but leaves the
 * key in rotation: one tenant's forbidden request must not take a shared
 * key away from everyone.
 */
static void
test_forbidden_fails_without_disabling(void **state)
{
	AigovOutcomeInput in = call(AIGOV_CLASS_FORBIDDEN, 403, 0);
	AigovOutcome out;

	(void) state;
	aigov_outcome_decide(&in, &out);
	assert_int_equal(out.state, AIGOV_JOB_FAILED);
	assert_false(out.disable_key);
	assert_int_equal(out.error_http_status, 502);
	assert_int_equal(out.failures, 0);
	assert_int_equal(out.not_before_us, 0);
	assert_int_equal(out.key_effect, AIGOV_KEY_RELEASE);
	assert_int_equal(out.breaker, AIGOV_BREAKER_FAILURE);
}

/*
 * A reply over the size cap fails at its first occurrence: a retry would
 * be billed again.  Contrast with bad_response, which is retried.
 */
static void
test_response_too_large_is_not_retried(void **state)
{
	AigovOutcomeInput in = call(AIGOV_CLASS_RESPONSE_TOO_LARGE, 200, 0);
	AigovOutcome out;

	(void) state;
	aigov_outcome_decide(&in, &out);
	assert_int_equal(out.state, AIGOV_JOB_FAILED);
	assert_int_equal(out.failures, 0);
	assert_int_equal(out.error_http_status, 502);
	assert_false(out.disable_key);
	assert_int_equal(out.breaker, AIGOV_BREAKER_FAILURE);

	in = call(AIGOV_CLASS_BAD_RESPONSE, 200, 0);
	aigov_outcome_decide(&in, &out);
	assert_int_equal(out.state, AIGOV_JOB_QUEUED);
}

/*
 * A reply that misses its schema fails at once, whatever the earlier
 * failures: the call was served and billed, so the key is charged as for
 * a success, and the breaker does not move.
 */
static void
test_schema_mismatch_fails_at_once(void **state)
{
	AigovOutcomeInput in = call(AIGOV_CLASS_SCHEMA_MISMATCH, 200, 1);
	AigovOutcome out;

	(void) state;
	aigov_outcome_decide(&in, &out);
	assert_int_equal(out.state, AIGOV_JOB_FAILED);
	assert_int_equal(out.failures, 1);
	assert_int_equal(out.not_before_us, 0);
	assert_int_equal(out.error_http_status, 502);
	assert_false(out.disable_key);
	assert_int_equal(out.key_effect, AIGOV_KEY_COMPLETE);
	assert_int_equal(out.breaker, AIGOV_BREAKER_NEUTRAL);
}

/* Every class has a decision and a state name. */
static void
test_every_class(void **state)
{
	(void) state;
	for (int c = 0; c < AIGOV_CLASS_COUNT; c++)
	{
		AigovOutcomeInput in = call((AigovErrorClass) c, 500, 0);
		AigovOutcome out;

		aigov_outcome_decide(&in, &out);
		assert_true(out.state >= AIGOV_JOB_QUEUED && out.state <= AIGOV_JOB_EXPIRED);
		assert_non_null(aigov_job_state_name(out.state));
		if (out.state == AIGOV_JOB_QUEUED)
			assert_true(out.not_before_us >= T0);
		else
			assert_int_equal(out.not_before_us, 0);
	}
	assert_string_equal(aigov_job_state_name(AIGOV_JOB_QUEUED), "queued");
	assert_string_equal(aigov_job_state_name(AIGOV_JOB_FAILED), "failed");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_success),
		cmocka_unit_test(test_rate_limits_are_schedules),
		cmocka_unit_test(test_rate_limit_without_hint),
		cmocka_unit_test(test_insufficient_quota_moves_to_another_key),
		cmocka_unit_test(test_auth_fails_and_disables),
		cmocka_unit_test(test_permanent_request_errors),
		cmocka_unit_test(test_transient_failures),
		cmocka_unit_test(test_breaker_follows_classifier),
		cmocka_unit_test(test_backoff_window),
		cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_forbidden_fails_without_disabling),
		cmocka_unit_test(test_response_too_large_is_not_retried),
		cmocka_unit_test(test_schema_mismatch_fails_at_once),
		cmocka_unit_test(test_every_class),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
