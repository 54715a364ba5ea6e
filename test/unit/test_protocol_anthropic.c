/*-------------------------------------------------------------------------
 * test_protocol_anthropic.c
 *	  cmocka tests of the Anthropic dialect.
 *
 * Header sample and error bodies from docs/providers.md §3 and §8 (files under
 * test/fixtures/protocols/), one test per row of the §3.3 status table and
 * of the §6 taxonomy, plus streams.
 *
 * IDENTIFICATION
 *	  test/unit/test_protocol_anthropic.c
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

/* 2025-08-21T12:40:00Z, one minute before the sample resets */
static const int64_t NOW = INT64_C(1755780000) * 1000000;

/* feed(), classify() and the rest speak Anthropic at NOW */
#define PT_DIALECT	AIGOV_API_ANTHROPIC
#define PT_NOW		NOW
#include "protocol_test_util.h"

static void
test_headers(void **state)
{
	AigovRateHeaders h;

	(void) state;
	feed_file_raw(&h, "anthropic-headers.txt");
	assert_true(h.any_ratelimit_header);
	assert_int_equal(h.requests.limit, 1000);
	assert_int_equal(h.requests.remaining, 999);
	assert_int_equal(h.requests.reset_at_us, S(1755780059));
	assert_int_equal(h.input_tokens.limit, 80000);
	assert_int_equal(h.input_tokens.remaining, 80000);
	assert_int_equal(h.input_tokens.reset_at_us, S(1755780059));
	assert_int_equal(h.output_tokens.limit, 16000);
	assert_int_equal(h.output_tokens.remaining, 16000);
	assert_int_equal(h.output_tokens.reset_at_us, S(1755780060));
	assert_int_equal(h.tokens.limit, 96000);
	assert_int_equal(h.tokens.remaining, 96000);
	assert_int_equal(h.tokens.reset_at_us, S(1755780059));
	assert_false(h.tokens_month.present);

	/* other families and bad values are ignored */
	feed(&h, "anthropic-ratelimit-unified-5h-reset: 1755780000");
	feed(&h, "anthropic-ratelimit-requests-reset: 1755780000");
	feed(&h, "anthropic-ratelimit-requests-resetx: 2025-08-21T12:50:00Z");
	feed(&h, "anthropic-ratelimit-requests-: 5");
	feed(&h, "anthropic-ratelimit-: 5");
	feed(&h, "anthropic-ratelimit-tokens-remaining: lots");
	assert_int_equal(h.requests.reset_at_us, S(1755780059));
	assert_int_equal(h.tokens.remaining, 96000);

	/* case-insensitive names, offsets in resets */
	feed(&h, "Anthropic-RateLimit-Output-Tokens-Reset: 2025-08-21T14:41:30+02:00");
	assert_int_equal(h.output_tokens.reset_at_us, S(1755780090));
	feed(&h, "retry-after: 13");
	assert_int_equal(h.retry_after_us, NOW + S(13));
}

static void
test_rate_limits(void **state)
{
	AigovRateHeaders h;
	AigovClassification c;

	(void) state;
	/* ITPM with retry-after: retry-after wins */
	feed_file_raw(&h, "anthropic-headers.txt");
	feed(&h, "retry-after: 13");
	classify(429, &h, "anthropic-429-itpm.json", &c);
	expect_class(&c, AIGOV_CLASS_RATE_LIMIT_TPM);
	assert_int_equal(c.retry_at_us, NOW + S(13));
	assert_true(c.retryable);
	assert_false(c.key_unusable);
	assert_false(c.breaker_failure);
	assert_string_equal(c.code, "rate_limit_error");

	/* without retry-after: the reset of the named axis */
	feed_file_raw(&h, "anthropic-headers.txt");
	feed(&h, "anthropic-ratelimit-input-tokens-reset: 2025-08-21T12:40:30Z");
	classify(429, &h, "anthropic-429-itpm.json", &c);
	expect_class(&c, AIGOV_CLASS_RATE_LIMIT_TPM);
	assert_int_equal(c.retry_at_us, S(1755780030));
	classify(429, &h, "anthropic-429-otpm.json", &c);
	expect_class(&c, AIGOV_CLASS_RATE_LIMIT_TPM);
	assert_int_equal(c.retry_at_us, S(1755780060));
	classify(429, &h, "anthropic-429-rpm.json", &c);
	expect_class(&c, AIGOV_CLASS_RATE_LIMIT_RPM);
	assert_int_equal(c.retry_at_us, S(1755780059));
	classify(429, &h, "anthropic-429-old-tokens.json", &c);
	expect_class(&c, AIGOV_CLASS_RATE_LIMIT_TPM);
	assert_int_equal(c.retry_at_us, S(1755780059));

	/*
	 * ramping too fast (synthetic wording): an RPM limit, never mistaken for
	 * a spend cap even without retry-after
	 */
	aigov_protocol_headers_init(&h);
	classify(429, &h, "anthropic-429-acceleration.json", &c);
	expect_class(&c, AIGOV_CLASS_RATE_LIMIT_RPM);
	assert_int_equal(c.retry_at_us, NOW + AIGOV_PROTOCOL_MINUTE_FALLBACK_US);

	/* no headers at all: the one-second default */
	aigov_protocol_headers_init(&h);
	feed(&h, "retry-after: 0");
	classify(429, &h, "anthropic-429-rpm.json", &c);
	expect_class(&c, AIGOV_CLASS_RATE_LIMIT_RPM);
	assert_int_equal(c.retry_at_us, NOW + AIGOV_PROTOCOL_MINUTE_FALLBACK_US);
}

static void
test_spend_cap(void **state)
{
	AigovRateHeaders h;
	AigovClassification c;
	char		body[512];

	(void) state;
	/* the trap: a 429 without retry-after that no wait will fix */
	feed_file_raw(&h, "anthropic-headers.txt");
	classify(429, &h, "anthropic-429-spend-cap.json", &c);
	expect_class(&c, AIGOV_CLASS_INSUFFICIENT_QUOTA);
	assert_true(c.key_unusable);
	assert_false(c.retryable);
	assert_false(c.breaker_failure);
	assert_string_equal(c.code, "enforced_spend_limit_reached");
	/* the key may come back when the message says */
	assert_int_equal(c.retry_at_us, S(1788220800));

	/* without a date in the message: the first of next month, UTC */
	snprintf(body, sizeof(body), "%s",
			 "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\","
			 "\"message\":\"You have reached your API usage limits.\"}}");
	aigov_protocol_classify(AIGOV_API_ANTHROPIC, 0, 429, &h, body,
							strlen(body), NOW, &c);
	expect_class(&c, AIGOV_CLASS_INSUFFICIENT_QUOTA);
	assert_int_equal(c.retry_at_us, S(1756684800));

	/* an unknown rate_limit_error message without retry-after: spend cap */
	classify(429, &h, "anthropic-429-unknown.json", &c);
	expect_class(&c, AIGOV_CLASS_INSUFFICIENT_QUOTA);
	/* ... but with retry-after it is an ordinary limit */
	feed(&h, "retry-after: 5");
	classify(429, &h, "anthropic-429-unknown.json", &c);
	expect_class(&c, AIGOV_CLASS_RATE_LIMIT_RPM);
	assert_int_equal(c.retry_at_us, NOW + S(5));
	/* ... and so it is when a header shows an empty axis */
	feed_file_raw(&h, "anthropic-headers.txt");
	feed(&h, "anthropic-ratelimit-output-tokens-remaining: 0");
	classify(429, &h, "anthropic-429-unknown.json", &c);
	expect_class(&c, AIGOV_CLASS_RATE_LIMIT_TPM);
	assert_int_equal(c.retry_at_us, S(1755780060));

	/* a non-Anthropic 429 (a proxy's text) is not taken for a spend cap */
	aigov_protocol_headers_init(&h);
	aigov_protocol_classify(AIGOV_API_ANTHROPIC, 0, 429, &h, "slow down", 9,
							NOW, &c);
	expect_class(&c, AIGOV_CLASS_RATE_LIMIT_RPM);

	/* the user-set limit is a 400 */
	classify(400, &h, "anthropic-400-user-limit.json", &c);
	expect_class(&c, AIGOV_CLASS_INSUFFICIENT_QUOTA);
	assert_true(c.key_unusable);

	/* prompt plus max_tokens over the window: no retry, no breaker */
	classify(400, &h, "anthropic-400-context-limit.json", &c);
	expect_class(&c, AIGOV_CLASS_CONTEXT_WINDOW);
	assert_false(c.retryable);
	assert_false(c.breaker_failure);
	assert_false(c.key_unusable);
}

static void
test_status_table(void **state)
{
	static const struct
	{
		const char *file;
		int			status;
		AigovErrorClass cls;
		const char *code;
	}			rows[] = {
		{"anthropic-400.json", 400, AIGOV_CLASS_CLIENT_ERROR, "invalid_request_error"},
		{"anthropic-400-prompt-too-long.json", 400, AIGOV_CLASS_CONTEXT_WINDOW, "invalid_request_error"},
		{"anthropic-401.json", 401, AIGOV_CLASS_AUTH, "authentication_error"},
		{"anthropic-402.json", 402, AIGOV_CLASS_INSUFFICIENT_QUOTA, "billing_error"},
		{"anthropic-403.json", 403, AIGOV_CLASS_FORBIDDEN, "permission_error"},
		{"anthropic-404.json", 404, AIGOV_CLASS_CLIENT_ERROR, "not_found_error"},
		{"anthropic-413.json", 413, AIGOV_CLASS_REQUEST_TOO_LARGE, "request_too_large"},
		{"anthropic-500.json", 500, AIGOV_CLASS_SERVER_ERROR, "api_error"},
		{"anthropic-529.json", 529, AIGOV_CLASS_OVERLOADED, "overloaded_error"},
	};
	AigovRateHeaders h;
	AigovClassification c;

	(void) state;
	aigov_protocol_headers_init(&h);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
	{
		classify(rows[i].status, &h, rows[i].file, &c);
		expect_class(&c, rows[i].cls);
		assert_string_equal(c.code, rows[i].code);
		assert_true(c.message[0] != '\0');
	}
	classify(529, &h, "anthropic-529.json", &c);
	assert_true(c.breaker_failure);
	assert_true(c.retryable);
	assert_string_equal(c.message, "Overloaded");
	classify(413, &h, "anthropic-413.json", &c);
	assert_false(c.retryable);
	assert_false(c.breaker_failure);
	/* the CDN's 413 may not even be JSON */
	aigov_protocol_classify(AIGOV_API_ANTHROPIC, 0, 413, &h,
							"<html>413</html>", 16, NOW, &c);
	expect_class(&c, AIGOV_CLASS_REQUEST_TOO_LARGE);
	/* and none of it is kept */
	assert_null(strstr(c.message, "html"));
	assert_string_equal(c.message,
						"the provider's reply is not JSON (16 bytes, not stored)");
}

static void
test_success_and_streams(void **state)
{
	AigovRateHeaders h;
	AigovClassification c;
	AigovUsage	u;
	size_t		len;
	char	   *body;

	(void) state;
	aigov_protocol_headers_init(&h);
	classify(200, &h, "anthropic-200.json", &c);
	expect_class(&c, AIGOV_CLASS_SUCCESS);
	assert_false(c.retryable);
	assert_int_equal(c.retry_at_us, 0);
	/* prompt = input + cache writes + cache reads (docs/providers.md §7) */
	assert_true(c.usage.present);
	assert_int_equal(c.usage.prompt_tokens, 12 + 100 + 2000);
	assert_int_equal(c.usage.completion_tokens, 34);
	assert_int_equal(c.usage.cached_tokens, 2000);

	body = fixture("anthropic-200.json", &len);
	assert_true(aigov_protocol_parse_usage(AIGOV_API_ANTHROPIC, body, len, &u));
	assert_int_equal(u.prompt_tokens, 2112);
	free(body);

	aigov_protocol_classify(AIGOV_API_ANTHROPIC, 0, 200, &h,
							"{\"type\":\"message\"}", 18, NOW, &c);
	expect_class(&c, AIGOV_CLASS_BAD_RESPONSE);
	assert_string_equal(c.code, "no_content");

	/* streams */
	feed(&h, "content-type: text/event-stream");
	classify(200, &h, "anthropic-stream.sse", &c);
	expect_class(&c, AIGOV_CLASS_SUCCESS);
	assert_int_equal(c.usage.prompt_tokens, 35);
	assert_int_equal(c.usage.completion_tokens, 15);
	assert_int_equal(c.usage.cached_tokens, 10);

	body = fixture("anthropic-stream.sse", &len);
	assert_true(aigov_protocol_parse_usage(AIGOV_API_ANTHROPIC, body, len, &u));
	assert_int_equal(u.completion_tokens, 15);
	free(body);

	/* an error event after HTTP 200 is the error it names */
	classify(200, &h, "anthropic-stream-error.sse", &c);
	expect_class(&c, AIGOV_CLASS_OVERLOADED);
	assert_true(c.breaker_failure);
	assert_string_equal(c.code, "overloaded_error");

	classify(200, &h, "anthropic-stream-truncated.sse", &c);
	expect_class(&c, AIGOV_CLASS_BAD_RESPONSE);
	assert_string_equal(c.code, "truncated_stream");
	/* sniffed without content-type too */
	classify(200, NULL, "anthropic-stream-truncated.sse", &c);
	expect_class(&c, AIGOV_CLASS_BAD_RESPONSE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_rate_limits),
		cmocka_unit_test(test_spend_cap),
		cmocka_unit_test(test_status_table),
		cmocka_unit_test(test_success_and_streams),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
