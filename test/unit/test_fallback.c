/*-------------------------------------------------------------------------
 * test_fallback.c
 *	  cmocka tests of the fallback orchestrator's decisions
 *	  (src/fallback.c).
 *
 * IDENTIFICATION
 *	  test/unit/test_fallback.c
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "fallback.h"

#define SEC INT64_C(1000000)

static bool
needs_of(const char *body, AigovFallbackNeeds *n)
{
	return aigov_fallback_needs(body, strlen(body), n);
}

static void
test_needs(void **state)
{
	AigovFallbackNeeds n;

	(void) state;
	assert_true(needs_of("{\"model\":\"m\",\"messages\":[]}", &n));
	assert_false(n.structured);
	assert_false(n.tools);
	assert_true(needs_of("{\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{}}}", &n));
	assert_true(n.structured);
	assert_false(n.tools);
	/* json_object mode is not a schema */
	assert_true(needs_of("{\"response_format\":{\"type\":\"json_object\"}}", &n));
	assert_false(n.structured);
	assert_true(needs_of("{\"tools\":[{\"type\":\"function\"}]}", &n));
	assert_true(n.tools);
	assert_true(needs_of("{\"tools\":[]}", &n));
	assert_false(n.tools);
	assert_true(needs_of("{\"functions\":[{\"name\":\"f\"}]}", &n));
	assert_true(n.tools);
	/* unreadable: asks for everything */
	assert_false(needs_of("[1,2", &n));
	assert_true(n.structured);
	assert_true(n.tools);
	assert_false(aigov_fallback_needs(NULL, 0, &n));
	assert_true(n.structured);
}

static void
test_tolerance(void **state)
{
	int64_t		now = 1000 * SEC;

	(void) state;
	assert_true(aigov_fallback_tolerance_us("interactive") <
				aigov_fallback_tolerance_us("background"));
	assert_true(aigov_fallback_tolerance_us("background") <
				aigov_fallback_tolerance_us("batch"));
	assert_int_equal(aigov_fallback_tolerance_us(NULL),
					 aigov_fallback_tolerance_us("interactive"));
	assert_int_equal(aigov_fallback_tolerance_us("nonsense"),
					 aigov_fallback_tolerance_us("interactive"));

	/* within the tolerance: wait; beyond it, or unknown: look */
	assert_false(aigov_fallback_should_look("interactive", now,
											now + AIGOV_FALLBACK_WAIT_INTERACTIVE_US, 0));
	assert_true(aigov_fallback_should_look("interactive", now,
										   now + AIGOV_FALLBACK_WAIT_INTERACTIVE_US + 1, 0));
	assert_true(aigov_fallback_should_look("batch", now, INT64_MAX, 0));
	assert_false(aigov_fallback_should_look("batch", now,
											now + AIGOV_FALLBACK_WAIT_BATCH_US, 0));
	assert_true(aigov_fallback_should_look("batch", now,
										   now + AIGOV_FALLBACK_WAIT_BATCH_US + 1, 0));
	/* a free time already passed never looks */
	assert_false(aigov_fallback_should_look("interactive", now, now - SEC, 0));
	/* a deadline nearer than the tolerance shortens it */
	assert_true(aigov_fallback_should_look("batch", now, now + 3 * SEC, now + 2 * SEC));
	assert_false(aigov_fallback_should_look("batch", now, now + 2 * SEC, now + 3 * SEC));
	/* a deadline already passed: any wait is too long */
	assert_true(aigov_fallback_should_look("batch", now, now + 1, now - SEC));
}

static void
test_latency_sensitive(void **state)
{
	int64_t		now = 1000 * SEC;

	(void) state;
	assert_true(aigov_fallback_latency_sensitive("interactive", now, now + 100 * SEC, 0));
	assert_true(aigov_fallback_latency_sensitive(NULL, now, now + 100 * SEC, 0));
	assert_false(aigov_fallback_latency_sensitive("batch", now, now + 100 * SEC, 0));
	assert_false(aigov_fallback_latency_sensitive("background", now, now + 100 * SEC,
												  now + 200 * SEC));
	/* max_wait shorter than the wait */
	assert_true(aigov_fallback_latency_sensitive("batch", now, now + 100 * SEC,
												 now + 50 * SEC));
}

static void
test_row_refusal(void **state)
{
	AigovCompatRow row = {"b", "claude", 1, false, false, false};
	AigovFallbackNeeds plain = {false, false};
	AigovFallbackNeeds structured = {true, false};
	AigovFallbackNeeds tools = {false, true};

	(void) state;
	assert_null(aigov_fallback_row_refusal(&row, &plain, "gpt"));
	assert_non_null(aigov_fallback_row_refusal(&row, &plain, "claude"));
	assert_non_null(aigov_fallback_row_refusal(&row, &structured, "gpt"));
	assert_non_null(aigov_fallback_row_refusal(&row, &tools, "gpt"));
	/* the capability alone is not enough: it must be validated */
	row.structured_output = true;
	row.tool_use = true;
	assert_non_null(aigov_fallback_row_refusal(&row, &structured, "gpt"));
	assert_non_null(aigov_fallback_row_refusal(&row, &tools, "gpt"));
	row.validated = true;
	assert_null(aigov_fallback_row_refusal(&row, &structured, "gpt"));
	assert_null(aigov_fallback_row_refusal(&row, &tools, "gpt"));
	row.tool_use = false;
	assert_non_null(aigov_fallback_row_refusal(&row, &tools, "gpt"));
	assert_null(aigov_fallback_row_refusal(&row, &structured, NULL));
}

static void
test_provider_outcome(void **state)
{
	(void) state;
	assert_int_equal(aigov_fallback_provider_outcome(AIGOV_CLASS_SUCCESS), AIGOV_BREAKER_SUCCESS);
	assert_int_equal(aigov_fallback_provider_outcome(AIGOV_CLASS_SCHEMA_MISMATCH),
					 AIGOV_BREAKER_SUCCESS);
	assert_int_equal(aigov_fallback_provider_outcome(AIGOV_CLASS_SERVER_ERROR),
					 AIGOV_BREAKER_FAILURE);
	assert_int_equal(aigov_fallback_provider_outcome(AIGOV_CLASS_OVERLOADED),
					 AIGOV_BREAKER_FAILURE);
	assert_int_equal(aigov_fallback_provider_outcome(AIGOV_CLASS_TIMEOUT), AIGOV_BREAKER_FAILURE);
	assert_int_equal(aigov_fallback_provider_outcome(AIGOV_CLASS_CONNECTION),
					 AIGOV_BREAKER_FAILURE);
	assert_int_equal(aigov_fallback_provider_outcome(AIGOV_CLASS_FORBIDDEN),
					 AIGOV_BREAKER_FAILURE);
	/* rate limits and billing never move it */
	for (AigovErrorClass c = AIGOV_CLASS_RATE_LIMIT_RPM; c <= AIGOV_CLASS_INSUFFICIENT_QUOTA; c++)
		assert_int_equal(aigov_fallback_provider_outcome(c), AIGOV_BREAKER_NEUTRAL);
	assert_int_equal(aigov_fallback_provider_outcome(AIGOV_CLASS_AUTH), AIGOV_BREAKER_NEUTRAL);
	assert_int_equal(aigov_fallback_provider_outcome(AIGOV_CLASS_CLIENT_ERROR),
					 AIGOV_BREAKER_NEUTRAL);
	assert_int_equal(aigov_fallback_provider_outcome(AIGOV_CLASS_REQUEST_TOO_LARGE),
					 AIGOV_BREAKER_NEUTRAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_needs),
		cmocka_unit_test(test_tolerance),
		cmocka_unit_test(test_latency_sensitive),
		cmocka_unit_test(test_row_refusal),
		cmocka_unit_test(test_provider_outcome),
	};

	return cmocka_run_group_tests_name("fallback", tests, NULL, NULL);
}
