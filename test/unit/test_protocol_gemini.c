/*-------------------------------------------------------------------------
 * test_protocol_gemini.c
 *	  cmocka tests of the Gemini dialect.
 *
 * Bodies from docs/providers.md §4.2 (files under test/fixtures/protocols/):
 * per-minute, per-day and zero quotas, several violations at once, the
 * bare Vertex 429, 503/504, invalid keys, success, blocked prompts and
 * streams.
 *
 * IDENTIFICATION
 *	  test/unit/test_protocol_gemini.c
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "protocol.h"

#define S(x)	((int64_t) (x) * AIGOV_USECS_PER_SEC)
#define MS(x)	((int64_t) (x) * 1000)

/* 2025-08-21T12:40:00Z = 05:40 PDT; next Pacific midnight 2025-08-22T07:00Z */
static const int64_t NOW = INT64_C(1755780000) * 1000000;
static const int64_t PACIFIC_MIDNIGHT = INT64_C(1755846000) * 1000000;

/* classify() and the rest speak Gemini at NOW */
#define PT_DIALECT	AIGOV_API_GEMINI
#define PT_NOW		NOW
#include "protocol_test_util.h"

static void
test_minute_quotas(void **state)
{
	AigovClassification c;

	(void) state;
	/* the exact body of §4.2: retryDelay "20s" */
	classify(429, NULL, "gemini-429-rpm.json", &c);
	expect_class(&c, AIGOV_CLASS_RATE_LIMIT_RPM);
	assert_string_equal(c.code, "GenerateRequestsPerMinutePerProjectPerModel-FreeTier");
	assert_int_equal(c.retry_at_us, NOW + S(20));
	assert_true(c.retryable);
	assert_false(c.key_unusable);
	assert_false(c.breaker_failure);
	/* the multi-line message is kept on one line */
	assert_null(strchr(c.message, '\n'));
	assert_non_null(strstr(c.message, "You exceeded your current quota"));

	classify(429, NULL, "gemini-429-tpm.json", &c);
	expect_class(&c, AIGOV_CLASS_RATE_LIMIT_TPM);
	assert_string_equal(c.code, "GenerateContentInputTokensPerModelPerMinute-FreeTier");
	assert_int_equal(c.retry_at_us, NOW + MS(38200));

	/* no RetryInfo: the message's "Please retry in" */
	classify_str(429, NULL,
				 "{\"error\":{\"code\":429,\"status\":\"RESOURCE_EXHAUSTED\","
				 "\"message\":\"Quota exceeded. Please retry in 2.5s.\"}}", &c);
	expect_class(&c, AIGOV_CLASS_RATE_LIMIT_RPM);
	assert_int_equal(c.retry_at_us, NOW + MS(2500));
}

static void
test_daily_quotas(void **state)
{
	AigovClassification c;

	(void) state;

	/*
	 * The trap: a daily 429 with retryDelay "34s".  It waits for Pacific
	 * midnight, not 34 seconds.
	 */
	classify(429, NULL, "gemini-429-daily.json", &c);
	expect_class(&c, AIGOV_CLASS_RATE_LIMIT_RPD);
	assert_string_equal(c.code, "GenerateRequestsPerDayPerProjectPerModel-FreeTier");
	assert_int_equal(c.retry_at_us, PACIFIC_MIDNIGHT);
	assert_true(c.retryable);
	assert_false(c.key_unusable);

	/* a daily violation anywhere in the list wins */
	classify(429, NULL, "gemini-429-multi.json", &c);
	expect_class(&c, AIGOV_CLASS_RATE_LIMIT_RPD);
	assert_string_equal(c.code, "GenerateRequestsPerDayPerProjectPerModel-FreeTier");
	assert_int_equal(c.retry_at_us, PACIFIC_MIDNIGHT);

	classify(429, NULL, "gemini-429-grounding.json", &c);
	expect_class(&c, AIGOV_CLASS_RATE_LIMIT_RPD);

	/* a daily token quota (older docs' TPD) */
	classify_str(429, NULL,
				 "{\"error\":{\"code\":429,\"status\":\"RESOURCE_EXHAUSTED\",\"message\":\"x\","
				 "\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.QuotaFailure\","
				 "\"violations\":[{\"quotaId\":\"GenerateContentInputTokensPerModelPerDay\","
				 "\"quotaValue\":\"1000000\"}]},"
				 "{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"5s\"}]}}",
				 &c);
	expect_class(&c, AIGOV_CLASS_RATE_LIMIT_TPD);
	assert_int_equal(c.retry_at_us, PACIFIC_MIDNIGHT);
}

static void
test_zero_quota(void **state)
{
	AigovClassification c;

	(void) state;
	/* limit 0: waiting never helps, even though it says "PerDay" */
	classify(429, NULL, "gemini-429-zero.json", &c);
	expect_class(&c, AIGOV_CLASS_INSUFFICIENT_QUOTA);
	assert_true(c.key_unusable);
	assert_false(c.retryable);
	assert_int_equal(c.retry_at_us, 0);
	assert_string_equal(c.code, "GenerateRequestsPerDayPerProjectPerModel-FreeTier");

	/* only the prose says so */
	classify(429, NULL, "gemini-429-zero-prose.json", &c);
	expect_class(&c, AIGOV_CLASS_INSUFFICIENT_QUOTA);

	/* "limit: 05" is not zero */
	classify_str(429, NULL,
				 "{\"error\":{\"code\":429,\"status\":\"RESOURCE_EXHAUSTED\","
				 "\"message\":\"Quota exceeded, limit: 05, model: m\"}}", &c);
	expect_class(&c, AIGOV_CLASS_RATE_LIMIT_RPM);
}

static void
test_bare_and_server(void **state)
{
	AigovClassification c;
	AigovRateHeaders h;

	(void) state;
	/* Vertex's bare 429: an RPM limit with the short default */
	classify(429, NULL, "gemini-429-bare.json", &c);
	expect_class(&c, AIGOV_CLASS_RATE_LIMIT_RPM);
	assert_string_equal(c.code, "RESOURCE_EXHAUSTED");
	assert_int_equal(c.retry_at_us, NOW + AIGOV_PROTOCOL_MINUTE_FALLBACK_US);
	/* a retry-after from a proxy in front is still honoured */
	aigov_protocol_headers_init(&h);
	aigov_protocol_header_line(AIGOV_API_GEMINI, "Retry-After: 9\r\n", 16, NOW, &h);
	classify(429, &h, "gemini-429-bare.json", &c);
	assert_int_equal(c.retry_at_us, NOW + S(9));

	classify(503, NULL, "gemini-503.json", &c);
	expect_class(&c, AIGOV_CLASS_OVERLOADED);
	assert_true(c.breaker_failure);
	assert_true(c.retryable);
	assert_string_equal(c.code, "UNAVAILABLE");

	classify(504, NULL, "gemini-504.json", &c);
	expect_class(&c, AIGOV_CLASS_SERVER_ERROR);
	assert_true(c.breaker_failure);
	assert_true(c.retryable);
	assert_string_equal(c.code, "DEADLINE_EXCEEDED");

	classify(500, NULL, "gemini-500.json", &c);
	expect_class(&c, AIGOV_CLASS_SERVER_ERROR);
	assert_string_equal(c.code, "INTERNAL");
}

static void
test_client_side(void **state)
{
	AigovClassification c;

	(void) state;
	/* an invalid key is a 400 on Gemini */
	classify(400, NULL, "gemini-400-key.json", &c);
	expect_class(&c, AIGOV_CLASS_AUTH);
	assert_true(c.key_unusable);
	assert_string_equal(c.code, "API_KEY_INVALID");

	classify(400, NULL, "gemini-400.json", &c);
	expect_class(&c, AIGOV_CLASS_CLIENT_ERROR);
	assert_string_equal(c.code, "INVALID_ARGUMENT");
	assert_false(c.retryable);

	/* a prompt over the model's input limit: no retry, no breaker */
	classify(400, NULL, "gemini-400-context.json", &c);
	expect_class(&c, AIGOV_CLASS_CONTEXT_WINDOW);
	assert_string_equal(c.code, "INVALID_ARGUMENT");
	assert_false(c.retryable);
	assert_false(c.breaker_failure);
	assert_false(c.key_unusable);

	/* PERMISSION_DENIED is not an invalid key: fail, keep the key */
	classify(403, NULL, "gemini-403.json", &c);
	expect_class(&c, AIGOV_CLASS_FORBIDDEN);
	assert_false(c.key_unusable);
	assert_true(c.breaker_failure);

	classify(404, NULL, "gemini-404.json", &c);
	expect_class(&c, AIGOV_CLASS_CLIENT_ERROR);
	assert_string_equal(c.code, "NOT_FOUND");
}

static void
test_success(void **state)
{
	AigovClassification c;
	AigovUsage	u;
	size_t		len;
	char	   *body;

	(void) state;
	classify(200, NULL, "gemini-200.json", &c);
	expect_class(&c, AIGOV_CLASS_SUCCESS);
	/* completion = candidates + thoughts */
	assert_true(c.usage.present);
	assert_int_equal(c.usage.prompt_tokens, 12);
	assert_int_equal(c.usage.completion_tokens, 45);
	assert_int_equal(c.usage.cached_tokens, 4);

	body = fixture("gemini-200.json", &len);
	assert_true(aigov_protocol_parse_usage(AIGOV_API_GEMINI, body, len, &u));
	assert_int_equal(u.completion_tokens, 45);
	free(body);

	/* a refused prompt: definitive, the provider is healthy */
	classify(200, NULL, "gemini-200-blocked.json", &c);
	expect_class(&c, AIGOV_CLASS_CLIENT_ERROR);
	assert_string_equal(c.code, "SAFETY");
	assert_string_equal(c.message, "prompt blocked by the provider: SAFETY");
	assert_false(c.retryable);
	assert_false(c.breaker_failure);

	classify_str(200, NULL, "{\"modelVersion\":\"x\"}", &c);
	expect_class(&c, AIGOV_CLASS_BAD_RESPONSE);
	assert_string_equal(c.code, "no_candidates");
	classify_str(200, NULL, "{\"candidates\":[", &c);
	expect_class(&c, AIGOV_CLASS_BAD_RESPONSE);
	assert_string_equal(c.code, "invalid_json");

	/* streams: SSE, or a JSON array of chunks */
	classify(200, NULL, "gemini-stream.sse", &c);
	expect_class(&c, AIGOV_CLASS_SUCCESS);
	assert_int_equal(c.usage.prompt_tokens, 7);
	assert_int_equal(c.usage.completion_tokens, 5);
	classify(200, NULL, "gemini-stream-truncated.sse", &c);
	expect_class(&c, AIGOV_CLASS_BAD_RESPONSE);
	assert_string_equal(c.code, "truncated_stream");
	classify_str(200, NULL,
				 "[{\"candidates\":[{\"content\":{}}]},"
				 "{\"candidates\":[{\"finishReason\":\"STOP\"}],"
				 "\"usageMetadata\":{\"promptTokenCount\":3,\"candidatesTokenCount\":2}}]",
				 &c);
	expect_class(&c, AIGOV_CLASS_SUCCESS);
	assert_int_equal(c.usage.prompt_tokens, 3);
	classify_str(200, NULL, "[{\"candidates\":[{\"content\":{}}]}]", &c);
	expect_class(&c, AIGOV_CLASS_BAD_RESPONSE);

	/* an error inside a 200 stream */
	classify_str(200, NULL,
				 "data: {\"candidates\":[{\"content\":{}}]}\n\n"
				 "data: {\"error\":{\"code\":503,\"message\":\"The model is overloaded.\","
				 "\"status\":\"UNAVAILABLE\"}}\n\n", &c);
	expect_class(&c, AIGOV_CLASS_OVERLOADED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minute_quotas),
		cmocka_unit_test(test_daily_quotas),
		cmocka_unit_test(test_zero_quota),
		cmocka_unit_test(test_bare_and_server),
		cmocka_unit_test(test_client_side),
		cmocka_unit_test(test_success),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
