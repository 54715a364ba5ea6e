/*-------------------------------------------------------------------------
 * test_protocol_common.c
 *	  cmocka tests of the dialect-independent protocol code.
 *
 * Scalar parsers (Go durations, RFC 3339, HTTP-dates, decimals), the US
 * Pacific midnight clock, the header-line splitter and the headers every
 * dialect shares, class names, transport errors, the action flags, message
 * cleaning and the SSE iterator.  Inputs are copied into buffers of their
 * exact length (no terminating NUL) so that ASan catches any read past
 * the length we pass.
 *
 * IDENTIFICATION
 *	  test/unit/test_protocol_common.c
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

#include <jansson.h>

#include "protocol.h"
#include "protocol_int.h"		/* the SSE reader and JSON helpers */

#define S(x)	((int64_t) (x) * AIGOV_USECS_PER_SEC)
#define MS(x)	((int64_t) (x) * 1000)

/* 2025-08-21T12:40:00Z, a Thursday in PDT */
static const int64_t NOW = INT64_C(1755780000) * 1000000;

/* dup_exact(), feed_as() and expect_class() */
#include "protocol_test_util.h"

/*
 * Run one of the scalar parsers on an exact-length copy of s, so that a
 * read past the length shows under ASan.
 */
static int64_t
parse_exact(int64_t (*parse) (const char *, size_t), const char *s)
{
	size_t		n = strlen(s);
	char	   *p = dup_exact(s, n);
	int64_t		v = parse(p, n);

	free(p);
	return v;
}

static int64_t
dur(const char *s)
{
	return parse_exact(aigov_protocol_parse_go_duration, s);
}

static int64_t
rfc(const char *s)
{
	return parse_exact(aigov_protocol_parse_rfc3339, s);
}

static int64_t
httpdate(const char *s)
{
	return parse_exact(aigov_protocol_parse_http_date, s);
}

static int64_t
dec(const char *s, int64_t unit)
{
	size_t		n = strlen(s);
	char	   *p = dup_exact(s, n);
	int64_t		v = aigov_protocol_parse_decimal(p, n, unit);

	free(p);
	return v;
}

/* One header line of the given dialect at NOW, with CRLF. */
static void
feed(AigovApiStyle style, AigovRateHeaders *h, const char *line)
{
	feed_as(style, NOW, h, line);
}

/* ---------------------------------------------------------------- tests */

static void
test_go_duration_valid(void **state)
{
	(void) state;
	/* samples from docs/providers.md §1.1 and §1.3 */
	assert_int_equal(dur("120ms"), MS(120));
	assert_int_equal(dur("20ms"), MS(20));
	assert_int_equal(dur("1ms"), MS(1));
	assert_int_equal(dur("0s"), 0);
	assert_int_equal(dur("0"), 0);
	assert_int_equal(dur("6m0s"), S(360));
	assert_int_equal(dur("8.64s"), MS(8640));
	assert_int_equal(dur("1s"), S(1));
	assert_int_equal(dur("1.146s"), MS(1146));
	assert_int_equal(dur("84ms"), MS(84));
	assert_int_equal(dur("7m12s"), S(432));
	assert_int_equal(dur("6h12m"), S(6 * 3600 + 12 * 60));
	assert_int_equal(dur("1m26.4s"), MS(86400));
	assert_int_equal(dur("2h45m30.5s"), MS((2 * 3600 + 45 * 60 + 30) * 1000 + 500));
	assert_int_equal(dur("1.5h"), S(5400));
	assert_int_equal(dur(".5s"), MS(500));
	assert_int_equal(dur("1.s"), S(1));
	assert_int_equal(dur("+5s"), S(5));
	assert_int_equal(dur("38.2s"), MS(38200));
	/* sub-microsecond remainders round up: never retry early */
	assert_int_equal(dur("20.70617005s"), 20706171);
	assert_int_equal(dur("500ns"), 1);
	assert_int_equal(dur("1500ns"), 2);
	assert_int_equal(dur("1000ns"), 1);
	assert_int_equal(dur("1us"), 1);
	assert_int_equal(dur("3\xC2\xB5s"), 3); /* micro sign */
	assert_int_equal(dur("3\xCE\xBCs"), 3); /* greek mu */
	/* the largest whole-hour value Go accepts */
	assert_int_equal(dur("2562047h"), INT64_C(2562047) * 3600 * 1000000);
}

static void
test_go_duration_invalid(void **state)
{
	static const char *const bad[] = {
		"", "s", "5", "-5s", "-0", "1.2.3s", "5x", "5 s", " 5s", "5s ",
		"ms", ".s", ".", "1d", "5S", "5M", "abc", "5s5", "1h-1m",
		"99999999999999999999s", "9223372036854775807h", "2562048h",
		"\xC2\xB5s", "1\xC2s", "1\xCEs", "+", "++1s", "0x10s"
	};

	(void) state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		if (dur(bad[i]) != -1)
			fail_msg("\"%s\" parsed as a duration", bad[i]);
	}
	/* the length bounds the parse: "120msXYZ" cut to 5 bytes */
	assert_int_equal(aigov_protocol_parse_go_duration("120msXYZ", 5), MS(120));
	assert_int_equal(aigov_protocol_parse_go_duration("120msXYZ", 4), S(120 * 60));
	assert_int_equal(aigov_protocol_parse_go_duration(NULL, 3), -1);
}

static void
test_rfc3339(void **state)
{
	(void) state;
	assert_int_equal(rfc("2025-08-21T12:40:59Z"), S(1755780059));
	assert_int_equal(rfc("2025-08-21T14:40:59+02:00"), S(1755780059));
	assert_int_equal(rfc("2025-08-21T05:40:59-07:00"), S(1755780059));
	assert_int_equal(rfc("2025-08-21t12:40:59z"), S(1755780059));
	assert_int_equal(rfc("2025-08-21 12:40:59Z"), S(1755780059));
	assert_int_equal(rfc("2025-08-21T12:40:59.5Z"), S(1755780059) + 500000);
	assert_int_equal(rfc("2025-08-21T12:40:59.123456789Z"), S(1755780059) + 123456);
	assert_int_equal(rfc("2024-02-29T23:59:59Z"), S(1709251199));
	assert_int_equal(rfc("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(rfc("2026-09-01T00:00:00Z"), S(1788220800));

	assert_int_equal(rfc("2025-02-29T00:00:00Z"), -1);	/* not a leap year */
	assert_int_equal(rfc("2025-13-01T00:00:00Z"), -1);
	assert_int_equal(rfc("2025-00-01T00:00:00Z"), -1);
	assert_int_equal(rfc("2025-04-31T00:00:00Z"), -1);
	assert_int_equal(rfc("2025-08-21T24:00:00Z"), -1);
	assert_int_equal(rfc("2025-08-21T12:60:00Z"), -1);
	assert_int_equal(rfc("2025-08-21T12:40:59"), -1);	/* no zone */
	assert_int_equal(rfc("2025-08-21T12:40:59ZZ"), -1);
	assert_int_equal(rfc("2025-08-21T12:40:59.Z"), -1);
	assert_int_equal(rfc("2025-08-21T12:40:59+2:00"), -1);
	assert_int_equal(rfc("2025-08-21T12:40:59+02:60"), -1);
	assert_int_equal(rfc("2025-08-21T12:40:59+02:0"), -1);
	assert_int_equal(rfc("2025/08/21T12:40:59Z"), -1);
	assert_int_equal(rfc("1969-12-31T23:59:59Z"), -1);
	assert_int_equal(rfc("1970-01-01T00:30:00+01:00"), -1);
	assert_int_equal(rfc("+025-08-21T12:40:59Z"), -1);
	assert_int_equal(rfc(""), -1);
	/* length bounds the parse */
	assert_int_equal(aigov_protocol_parse_rfc3339("2025-08-21T12:40:59Zjunk", 20),
					 S(1755780059));
}

static void
test_http_date(void **state)
{
	(void) state;
	assert_int_equal(httpdate("Sun, 06 Nov 1994 08:49:37 GMT"), S(784111777));
	assert_int_equal(httpdate("06 Nov 1994 08:49:37 GMT"), S(784111777));
	assert_int_equal(httpdate("Thu, 14 Aug 2025 01:10:35 GMT"), S(1755133835));
	assert_int_equal(httpdate("thu, 14 aug 2025 01:10:35 gmt"), S(1755133835));
	assert_int_equal(httpdate("Thu, 14 Foo 2025 01:10:35 GMT"), -1);
	assert_int_equal(httpdate("Thu, 14 Aug 2025 01:10:35 UTC"), -1);
	assert_int_equal(httpdate("Thu, 32 Aug 2025 01:10:35 GMT"), -1);
	assert_int_equal(httpdate("Thu, 14 Aug 2025 01:10:35"), -1);
	assert_int_equal(httpdate("Sunday, 06-Nov-94 08:49:37 GMT"), -1);
	assert_int_equal(httpdate(""), -1);
}

static void
test_decimal(void **state)
{
	(void) state;
	assert_int_equal(dec("6", AIGOV_USECS_PER_SEC), S(6));
	assert_int_equal(dec("1.5", AIGOV_USECS_PER_SEC), MS(1500));
	assert_int_equal(dec("0", AIGOV_USECS_PER_SEC), 0);
	assert_int_equal(dec("12.25", 1000), 12250);
	assert_int_equal(dec("1.0000001", AIGOV_USECS_PER_SEC), 1000001);
	assert_int_equal(dec("86400", AIGOV_USECS_PER_SEC), S(86400));
	assert_int_equal(dec("", AIGOV_USECS_PER_SEC), -1);
	assert_int_equal(dec("-1", AIGOV_USECS_PER_SEC), -1);
	assert_int_equal(dec("1e3", AIGOV_USECS_PER_SEC), -1);
	assert_int_equal(dec("1 ", AIGOV_USECS_PER_SEC), -1);
	assert_int_equal(dec(".", AIGOV_USECS_PER_SEC), -1);
	assert_int_equal(dec("99999999999999999999", AIGOV_USECS_PER_SEC), -1);
}

static void
test_pacific_midnight(void **state)
{
	static const struct
	{
		int64_t		now_s;
		int64_t		expect_s;
	}			cases[] = {
		/* summer: 05:40 PDT -> 00:00 PDT next day = 07:00Z */
		{1755780000, 1755846000},
		/* 20:00 PDT Aug 21 (03:00Z Aug 22) -> same midnight */
		{1755846000 - 4 * 3600, 1755846000},
		/* exactly at midnight: the next one, a day later */
		{1755846000, 1755846000 + 86400},
		/* Mar 8 23:30 PST -> Mar 9 00:00 PST (still standard) = 08:00Z */
		{1741507200 - 1800, 1741507200},
		/* 01:59:59 PST on the switch day -> Mar 10 00:00 PDT = 07:00Z */
		{1741514399, 1741590000},
		/* 03:00 PDT just after the switch -> same */
		{1741514400, 1741590000},
		/* Nov 1 13:00 PDT -> Nov 2 00:00 PDT = 07:00Z */
		{1762066800 - 11 * 3600, 1762066800},
		/* Nov 2 04:00 PST after fall-back -> Nov 3 00:00 PST = 08:00Z */
		{1762084800, 1762156800},
		/* New Year's Eve noon PST -> Jan 1 08:00Z */
		{1767211200, 1767254400},
	};

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(aigov_protocol_next_pacific_midnight_us(S(cases[i].now_s)),
						 S(cases[i].expect_s));
	/* absurd clocks still move forward */
	assert_true(aigov_protocol_next_pacific_midnight_us(INT64_MAX - 5) == INT64_MAX);
	assert_int_equal(aigov_protocol_next_utc_month_us(NOW), S(1756684800));
	assert_int_equal(aigov_protocol_next_utc_month_us(S(1767211200)),
					 S(1767225600));	/* 2026-01-01T00:00:00Z */
}

static void
test_header_line_splitting(void **state)
{
	AigovRateHeaders h;
	const char	line[] = "X-RateLimit-Remaining-Requests:   42  \r\nGARBAGE";

	(void) state;
	aigov_protocol_headers_init(&h);
	assert_false(h.any_ratelimit_header);
	assert_int_equal(h.requests.limit, -1);
	assert_int_equal(h.requests.remaining, -1);
	assert_int_equal(h.requests.reset_at_us, 0);

	/* case-insensitive, whitespace trimmed, only len bytes read */
	aigov_protocol_header_line(AIGOV_API_OPENAI, line, strlen(line) - 7, NOW, &h);
	assert_true(h.requests.present);
	assert_int_equal(h.requests.remaining, 42);
	assert_true(h.any_ratelimit_header);

	/* lines that are not headers change nothing */
	feed(AIGOV_API_OPENAI, &h, "");
	feed(AIGOV_API_OPENAI, &h, "no colon here");
	feed(AIGOV_API_OPENAI, &h, ": empty name");
	feed(AIGOV_API_OPENAI, &h, " x-ratelimit-remaining-requests: 7");	/* obs-fold */
	feed(AIGOV_API_OPENAI, &h, "x-ratelimit-remaining-requests: 12abc");
	feed(AIGOV_API_OPENAI, &h, "x-ratelimit-remaining-requests: -5");
	feed(AIGOV_API_OPENAI, &h, "x-ratelimit-remaining-requests:");
	aigov_protocol_header_line(AIGOV_API_OPENAI, NULL, 10, NOW, &h);
	assert_int_equal(h.requests.remaining, 42);

	/* a status line starts a new response: 100 Continue leaves no trace */
	feed(AIGOV_API_OPENAI, &h, "retry-after: 5");
	feed(AIGOV_API_OPENAI, &h, "HTTP/1.1 100 Continue");
	assert_false(h.requests.present);
	assert_int_equal(h.requests.remaining, -1);
	assert_int_equal(h.retry_after_us, 0);
	assert_false(h.any_ratelimit_header);
}

static void
test_retry_after(void **state)
{
	AigovRateHeaders h;

	(void) state;
	aigov_protocol_headers_init(&h);
	feed(AIGOV_API_OPENAI, &h, "Retry-After: 20");
	assert_int_equal(h.retry_after_us, NOW + S(20));
	feed(AIGOV_API_OPENAI, &h, "retry-after-ms: 1500.5");
	assert_int_equal(h.retry_after_us, NOW + 1500500);
	/* -ms wins whichever comes last */
	feed(AIGOV_API_OPENAI, &h, "retry-after: 3");
	assert_int_equal(h.retry_after_us, NOW + 1500500);

	aigov_protocol_headers_init(&h);
	feed(AIGOV_API_ANTHROPIC, &h, "retry-after: Thu, 21 Aug 2025 12:41:00 GMT");
	assert_int_equal(h.retry_after_us, S(1755780060));
	feed(AIGOV_API_ANTHROPIC, &h, "retry-after: soon");
	assert_int_equal(h.retry_after_us, S(1755780060));
	feed(AIGOV_API_ANTHROPIC, &h, "retry-after: -4");
	assert_int_equal(h.retry_after_us, S(1755780060));

	/* every dialect reads the shared headers, Gemini included */
	aigov_protocol_headers_init(&h);
	feed(AIGOV_API_GEMINI, &h, "Retry-After: 7");
	feed(AIGOV_API_GEMINI, &h, "x-should-retry: FALSE");
	feed(AIGOV_API_GEMINI, &h, "content-type: text/event-stream; charset=utf-8");
	feed(AIGOV_API_GEMINI, &h, "date: Thu, 21 Aug 2025 12:40:59 GMT");
	assert_int_equal(h.retry_after_us, NOW + S(7));
	assert_true(h.should_retry_set);
	assert_false(h.should_retry);
	assert_true(h.event_stream);
	assert_int_equal(h.server_date_us, S(1755780059));
	/* ... but Gemini has no rate-limit family */
	feed(AIGOV_API_GEMINI, &h, "x-ratelimit-remaining-requests: 3");
	feed(AIGOV_API_GEMINI, &h, "anthropic-ratelimit-requests-remaining: 3");
	assert_false(h.requests.present);
	assert_false(h.any_ratelimit_header);

	feed(AIGOV_API_GEMINI, &h, "x-should-retry: true");
	assert_true(h.should_retry);
	feed(AIGOV_API_GEMINI, &h, "x-should-retry: maybe");
	assert_true(h.should_retry);
	feed(AIGOV_API_GEMINI, &h, "Content-Type: application/json");
	assert_false(h.event_stream);
}

static void
test_dialects_do_not_mix(void **state)
{
	AigovRateHeaders h;

	(void) state;
	aigov_protocol_headers_init(&h);
	feed(AIGOV_API_OPENAI, &h, "anthropic-ratelimit-requests-remaining: 3");
	assert_false(h.requests.present);
	feed(AIGOV_API_ANTHROPIC, &h, "x-ratelimit-remaining-requests: 3");
	assert_false(h.requests.present);
	assert_false(h.any_ratelimit_header);
}

static void
test_class_names(void **state)
{
	static const char *const names[] = {
		"success", "rate_limit_rpm", "rate_limit_tpm", "rate_limit_rpd",
		"rate_limit_tpd", "insufficient_quota", "request_too_large",
		"overloaded", "server_error", "timeout", "connection",
		"client_error", "auth", "bad_response", "forbidden",
		"response_too_large", "schema_mismatch", "context_window"
	};
	AigovErrorClass c;

	(void) state;
	assert_int_equal(sizeof(names) / sizeof(names[0]), AIGOV_CLASS_COUNT);
	for (int i = 0; i < AIGOV_CLASS_COUNT; i++)
	{
		assert_string_equal(aigov_protocol_class_name((AigovErrorClass) i), names[i]);
		assert_true(aigov_protocol_class_from_name(names[i], &c));
		assert_int_equal(c, i);
	}
	assert_string_equal(aigov_protocol_class_name((AigovErrorClass) 99), "unknown");
	assert_string_equal(aigov_protocol_class_name((AigovErrorClass) -1), "unknown");
	assert_false(aigov_protocol_class_from_name("rate_limit", &c));
	assert_false(aigov_protocol_class_from_name(NULL, &c));
	assert_true(aigov_protocol_class_is_rate_limit(AIGOV_CLASS_RATE_LIMIT_TPD));
	assert_false(aigov_protocol_class_is_rate_limit(AIGOV_CLASS_INSUFFICIENT_QUOTA));
}

static void
test_transport_errors(void **state)
{
	AigovClassification c;
	AigovRateHeaders h;
	const char *ok = "{\"choices\":[]}";

	(void) state;
	for (int style = AIGOV_API_OPENAI; style <= AIGOV_API_GEMINI; style++)
	{
		aigov_protocol_classify((AigovApiStyle) style, AIGOV_TRANSPORT_TIMEOUT,
								200, NULL, ok, strlen(ok), NOW, &c);
		assert_int_equal(c.cls, AIGOV_CLASS_TIMEOUT);
		assert_true(c.retryable);
		assert_true(c.breaker_failure);
		assert_false(c.key_unusable);
		assert_string_equal(c.code, "timeout");

		aigov_protocol_classify((AigovApiStyle) style, AIGOV_TRANSPORT_CONNECTION,
								0, NULL, NULL, 0, NOW, &c);
		assert_int_equal(c.cls, AIGOV_CLASS_CONNECTION);
		assert_true(c.retryable);
		assert_true(c.breaker_failure);

		/* a code we do not know is still a transport failure */
		aigov_protocol_classify((AigovApiStyle) style, 99, 0, NULL, NULL, 0,
								NOW, &c);
		assert_int_equal(c.cls, AIGOV_CLASS_CONNECTION);

		/* cut short after a 200: bad response, not the provider's health */
		aigov_protocol_classify((AigovApiStyle) style, AIGOV_TRANSPORT_TRUNCATED,
								200, NULL, ok, 5, NOW, &c);
		assert_int_equal(c.cls, AIGOV_CLASS_BAD_RESPONSE);
		assert_true(c.retryable);
		assert_false(c.breaker_failure);
		assert_string_equal(c.code, "truncated");

		/* over the size caps: whatever the status, never retried */
		aigov_protocol_classify((AigovApiStyle) style, AIGOV_TRANSPORT_TOO_LARGE,
								200, NULL, ok, 5, NOW, &c);
		assert_int_equal(c.cls, AIGOV_CLASS_RESPONSE_TOO_LARGE);
		assert_false(c.retryable);
		assert_false(c.key_unusable);
		assert_true(c.breaker_failure);
		assert_string_equal(c.code, "response_too_large");
		aigov_protocol_classify((AigovApiStyle) style, AIGOV_TRANSPORT_TOO_LARGE,
								503, NULL, NULL, 0, NOW, &c);
		assert_int_equal(c.cls, AIGOV_CLASS_RESPONSE_TOO_LARGE);

		/* nonsense statuses */
		aigov_protocol_classify((AigovApiStyle) style, 0, 0, NULL, NULL, 0, NOW, &c);
		assert_int_equal(c.cls, AIGOV_CLASS_BAD_RESPONSE);
		aigov_protocol_classify((AigovApiStyle) style, 0, 101, NULL, NULL, 0, NOW, &c);
		assert_int_equal(c.cls, AIGOV_CLASS_BAD_RESPONSE);
		aigov_protocol_classify((AigovApiStyle) style, 0, 600, NULL, NULL, 0, NOW, &c);
		assert_int_equal(c.cls, AIGOV_CLASS_BAD_RESPONSE);
	}

	/* a truncated error reply is still classified by its status */
	aigov_protocol_headers_init(&h);
	feed(AIGOV_API_OPENAI, &h, "retry-after: 9");
	aigov_protocol_classify(AIGOV_API_OPENAI, AIGOV_TRANSPORT_TRUNCATED, 429,
							&h, "{\"error\":", 9, NOW, &c);
	assert_int_equal(c.cls, AIGOV_CLASS_RATE_LIMIT_RPM);
	assert_int_equal(c.retry_at_us, NOW + S(9));
}

static void
test_status_only(void **state)
{
	static const struct
	{
		int			status;
		AigovErrorClass cls;
		bool		retryable;
		bool		key_unusable;
		bool		breaker;
	}			rows[] = {
		{301, AIGOV_CLASS_CLIENT_ERROR, false, false, false},
		{400, AIGOV_CLASS_CLIENT_ERROR, false, false, false},
		{401, AIGOV_CLASS_AUTH, false, true, false},
		{402, AIGOV_CLASS_INSUFFICIENT_QUOTA, false, true, false},
		{403, AIGOV_CLASS_FORBIDDEN, false, false, true},
		{404, AIGOV_CLASS_CLIENT_ERROR, false, false, false},
		{408, AIGOV_CLASS_TIMEOUT, true, false, true},
		{413, AIGOV_CLASS_REQUEST_TOO_LARGE, false, false, false},
		{422, AIGOV_CLASS_CLIENT_ERROR, false, false, false},
		{429, AIGOV_CLASS_RATE_LIMIT_RPM, true, false, false},
		{500, AIGOV_CLASS_SERVER_ERROR, true, false, true},
		{502, AIGOV_CLASS_SERVER_ERROR, true, false, true},
		{503, AIGOV_CLASS_SERVER_ERROR, true, false, true},
		{504, AIGOV_CLASS_SERVER_ERROR, true, false, true},
		{529, AIGOV_CLASS_OVERLOADED, true, false, true},
	};
	AigovClassification c;

	(void) state;
	for (int style = AIGOV_API_OPENAI; style <= AIGOV_API_GEMINI; style++)
		for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		{
			aigov_protocol_classify((AigovApiStyle) style, 0, rows[i].status,
									NULL, NULL, 0, NOW, &c);
			if (c.cls != rows[i].cls)
				fail_msg("style %d status %d: %s", style, rows[i].status,
						 aigov_protocol_class_name(c.cls));
			assert_int_equal(c.retryable, rows[i].retryable);
			assert_int_equal(c.key_unusable, rows[i].key_unusable);
			assert_int_equal(c.breaker_failure, rows[i].breaker);
			if (rows[i].status == 429)
				assert_int_equal(c.retry_at_us, NOW + AIGOV_PROTOCOL_MINUTE_FALLBACK_US);
		}
}

static void
test_should_retry_and_hints(void **state)
{
	AigovRateHeaders h;
	AigovClassification c;

	(void) state;
	/* a server error takes retry-after as its hint */
	aigov_protocol_headers_init(&h);
	feed(AIGOV_API_OPENAI, &h, "retry-after: 3");
	aigov_protocol_classify(AIGOV_API_OPENAI, 0, 500, &h, NULL, 0, NOW, &c);
	assert_int_equal(c.cls, AIGOV_CLASS_SERVER_ERROR);
	assert_int_equal(c.retry_at_us, NOW + S(3));

	/* x-should-retry: false stops retries of a server error ... */
	feed(AIGOV_API_OPENAI, &h, "x-should-retry: false");
	aigov_protocol_classify(AIGOV_API_OPENAI, 0, 500, &h, NULL, 0, NOW, &c);
	assert_false(c.retryable);
	assert_int_equal(c.retry_at_us, 0);
	assert_true(c.breaker_failure);
	/* ... but not a rate limit, whose schedule is explicit */
	aigov_protocol_classify(AIGOV_API_OPENAI, 0, 429, &h, NULL, 0, NOW, &c);
	assert_true(c.retryable);

	/* x-should-retry: true makes a client error retryable, not auth */
	aigov_protocol_headers_init(&h);
	feed(AIGOV_API_ANTHROPIC, &h, "x-should-retry: true");
	aigov_protocol_classify(AIGOV_API_ANTHROPIC, 0, 409, &h, NULL, 0, NOW, &c);
	assert_int_equal(c.cls, AIGOV_CLASS_CLIENT_ERROR);
	assert_true(c.retryable);
	aigov_protocol_classify(AIGOV_API_ANTHROPIC, 0, 401, &h, NULL, 0, NOW, &c);
	assert_false(c.retryable);
	assert_true(c.key_unusable);
}

static void
test_message_cleaning(void **state)
{
	AigovClassification c;
	char		body[1024];
	char		msg[600];
	size_t		n;

	(void) state;
	/* control characters become spaces, keys are redacted */
	snprintf(body, sizeof(body),
			 "{\"error\":{\"message\":\"bad\\nkey sk-proj-abcdefghij1234 and "
			 "AIzaSyA1234567890abcdef, sk-ant-api03-XYZXYZXYZ.\\u0007end\","
			 "\"type\":\"invalid_request_error\",\"code\":\"sk-live-0123456789\"}}");
	n = strlen(body);
	aigov_protocol_classify(AIGOV_API_OPENAI, 0, 400, NULL, body, n, NOW, &c);
	assert_string_equal(c.message,
						"bad key [redacted] and [redacted], [redacted]. end");
	assert_string_equal(c.code, "[redacted]");

	/* words that merely start with "sk-" are prose, not keys */
	snprintf(body, sizeof(body),
			 "{\"error\":{\"message\":\"ask-me sk-x desk_top\"}}");
	aigov_protocol_classify(AIGOV_API_OPENAI, 0, 400, NULL, body, strlen(body),
							NOW, &c);
	assert_string_equal(c.message, "ask-me sk-x desk_top");

	/* truncation keeps valid UTF-8: 254 ASCII bytes then a 2-byte char */
	memset(msg, 'a', 254);
	memcpy(msg + 254, "\xC3\xA9tail", 6);
	msg[260] = '\0';
	snprintf(body, sizeof(body), "{\"error\":{\"message\":\"%s\"}}", msg);
	aigov_protocol_classify(AIGOV_API_OPENAI, 0, 400, NULL, body, strlen(body),
							NOW, &c);
	assert_int_equal(strlen(c.message), 254);
	/* 253 ASCII then the 2-byte char fits exactly in 255 */
	memset(msg, 'a', 253);
	memcpy(msg + 253, "\xC3\xA9tail", 6);
	msg[259] = '\0';
	snprintf(body, sizeof(body), "{\"error\":{\"message\":\"%s\"}}", msg);
	aigov_protocol_classify(AIGOV_API_OPENAI, 0, 400, NULL, body, strlen(body),
							NOW, &c);
	assert_int_equal(strlen(c.message), 255);
	assert_memory_equal(c.message + 253, "\xC3\xA9", 2);

	/* a non-JSON body: none of its bytes, only its size */
	aigov_protocol_classify(AIGOV_API_OPENAI, 0, 502, NULL, "bad\xFF\xC3gw\r\n",
							9, NOW, &c);
	assert_string_equal(c.message,
						"the provider's reply is not JSON (9 bytes, not stored)");
	assert_int_equal(c.cls, AIGOV_CLASS_SERVER_ERROR);
}

static void
test_sse_iterator(void **state)
{
	const char	text[] =
		": comment\r\n"
		"event: first\r\n"
		"data: {\"a\":\r\n"
		"data: 1}\r\n"
		"\r\n"
		"id: 7\r"
		"data: [DONE]\r"
		"\r"
		"data: tail-without-blank-line";
	size_t		n = strlen(text);
	char	   *p = dup_exact(text, n);
	size_t		pos = 0;
	AigovSseEvent ev;
	json_t	   *j;

	(void) state;
	assert_true(aigov_protocol_looks_like_sse(NULL, p, n));
	assert_false(aigov_protocol_looks_like_sse(NULL, "{\"data\":1}", 10));
	assert_true(aigov_protocol_looks_like_sse(NULL, "\n\ndata: x", 9));

	assert_true(aigov_protocol_sse_next(p, n, &pos, &ev));
	assert_int_equal(ev.name_len, 5);
	assert_memory_equal(ev.name, "first", 5);
	assert_int_equal(ev.data_lines, 2);
	j = aigov_protocol_sse_json(&ev);
	assert_non_null(j);
	{
		int64_t		a = 0;

		assert_true(aigov_protocol_json_int(j, "a", &a));
		assert_int_equal(a, 1);
	}
	json_decref(j);

	assert_true(aigov_protocol_sse_next(p, n, &pos, &ev));
	assert_int_equal(ev.name_len, 7);
	assert_true(aigov_protocol_sse_data_is(&ev, "[DONE]"));

	assert_true(aigov_protocol_sse_next(p, n, &pos, &ev));
	assert_int_equal(ev.data_lines, 1);
	assert_int_equal(ev.data_span, strlen("tail-without-blank-line"));
	assert_null(aigov_protocol_sse_json(&ev));

	assert_false(aigov_protocol_sse_next(p, n, &pos, &ev));
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_go_duration_valid),
		cmocka_unit_test(test_go_duration_invalid),
		cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_http_date),
		cmocka_unit_test(test_decimal),
		cmocka_unit_test(test_pacific_midnight),
		cmocka_unit_test(test_header_line_splitting),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_dialects_do_not_mix),
		cmocka_unit_test(test_class_names),
		cmocka_unit_test(test_transport_errors),
		cmocka_unit_test(test_status_only),
		cmocka_unit_test(test_should_retry_and_hints),
		cmocka_unit_test(test_message_cleaning),
		cmocka_unit_test(test_sse_iterator),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
