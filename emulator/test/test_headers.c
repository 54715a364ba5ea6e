/*-------------------------------------------------------------------------
 * test_headers.c
 *	  Unit tests of the providers' rate-limit headers (headers.c).
 *
 * IDENTIFICATION
 *	  emulator/test/test_headers.c
 *-------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "headers.h"

#define SEC(x)	((int64_t) (x) * 1000000)
/* 2025-08-21T12:40:59Z plus a quarter second */
#define WALL	(SEC(1755780059) + 250000)

static void
blank_view(EmuQuotaView *v)
{
	memset(v, 0, sizeof(*v));
	for (int d = 0; d < EMU_DIM_COUNT; d++)
		v->limit[d] = EMU_UNLIMITED;
}

static void
set_dim(EmuQuotaView *v, EmuDim d, int64_t limit, int64_t rem, int64_t reset)
{
	v->limited[d] = true;
	v->limit[d] = limit;
	v->remaining[d] = rem;
	v->reset_us[d] = reset;
}

static void
assert_header(const EmuHeaders *hs, const char *name, const char *want)
{
	const char *v = emu_headers_get(hs, name);

	if (v == NULL)
		fail_msg("header %s missing", name);
	assert_string_equal(v, want);
}

/* The exact header set of the chat-basic capture. */
static void
test_openai_headers(void **state)
{
	EmuQuotaView v;
	EmuHeaders	hs;

	(void) state;
	blank_view(&v);
	set_dim(&v, EMU_DIM_RPM, 500, 499, 120000);
	set_dim(&v, EMU_DIM_TPM, 200000, 199996, 1200);
	set_dim(&v, EMU_DIM_RPD, 10000, 9999, SEC(8640));
	emu_headers_clear(&hs);
	emu_headers_ratelimit(EMU_PROVIDER_OPENAI, &v, WALL, &hs);
	assert_int_equal(hs.n, 6);
	assert_header(&hs, "x-ratelimit-limit-requests", "500");
	assert_header(&hs, "x-ratelimit-remaining-requests", "499");
	assert_header(&hs, "x-ratelimit-reset-requests", "120ms");
	assert_header(&hs, "x-ratelimit-limit-tokens", "200000");
	assert_header(&hs, "x-ratelimit-remaining-tokens", "199996");
	assert_header(&hs, "x-ratelimit-reset-tokens", "1ms");
	/* names are exact, lower case */
	assert_string_equal(hs.h[0].name, "x-ratelimit-limit-requests");
}

/* Only configured families appear; daily ones never do. */
static void
test_openai_partial_and_minutes_only(void **state)
{
	EmuQuotaView v;
	EmuHeaders	hs;

	(void) state;
	blank_view(&v);
	set_dim(&v, EMU_DIM_TPM, 60000, 0, SEC(360));
	set_dim(&v, EMU_DIM_TPD, 100, 0, SEC(86400));
	emu_headers_clear(&hs);
	emu_headers_ratelimit(EMU_PROVIDER_OPENAI, &v, WALL, &hs);
	assert_int_equal(hs.n, 3);
	assert_null(emu_headers_get(&hs, "x-ratelimit-limit-requests"));
	assert_header(&hs, "x-ratelimit-reset-tokens", "6m0s");
	assert_header(&hs, "X-RateLimit-Remaining-Tokens", "0");
	blank_view(&v);
	emu_headers_clear(&hs);
	emu_headers_ratelimit(EMU_PROVIDER_OPENAI, &v, WALL, &hs);
	assert_int_equal(hs.n, 0);
}

/* Anthropic: RFC 3339 resets, rounded tokens, combined family. */
static void
test_anthropic_headers(void **state)
{
	EmuQuotaView v;
	EmuHeaders	hs;

	(void) state;
	blank_view(&v);
	set_dim(&v, EMU_DIM_RPM, 1000, 999, 60000);
	set_dim(&v, EMU_DIM_ITPM, 80000, 79612, 290000);
	set_dim(&v, EMU_DIM_OTPM, 16000, 15400, 2 * SEC(1));
	emu_headers_clear(&hs);
	emu_headers_ratelimit(EMU_PROVIDER_ANTHROPIC, &v, WALL, &hs);
	assert_int_equal(hs.n, 12);
	assert_header(&hs, "anthropic-ratelimit-requests-limit", "1000");
	/* request counts are exact */
	assert_header(&hs, "anthropic-ratelimit-requests-remaining", "999");
	/* 12:40:59.25 + 0.06 s, rounded up to the second */
	assert_header(&hs, "anthropic-ratelimit-requests-reset", "2025-08-21T12:41:00Z");
	assert_header(&hs, "anthropic-ratelimit-input-tokens-limit", "80000");
	assert_header(&hs, "anthropic-ratelimit-input-tokens-remaining", "80000");
	assert_header(&hs, "anthropic-ratelimit-input-tokens-reset", "2025-08-21T12:41:00Z");
	assert_header(&hs, "anthropic-ratelimit-output-tokens-limit", "16000");
	assert_header(&hs, "anthropic-ratelimit-output-tokens-remaining", "15000");
	assert_header(&hs, "anthropic-ratelimit-output-tokens-reset", "2025-08-21T12:41:02Z");
	/* combined = input + output, reset = the later one */
	assert_header(&hs, "anthropic-ratelimit-tokens-limit", "96000");
	assert_header(&hs, "anthropic-ratelimit-tokens-remaining", "95000");
	assert_header(&hs, "anthropic-ratelimit-tokens-reset", "2025-08-21T12:41:02Z");
}

/* A full bucket resets "now"; with only ITPM the combined family is it. */
static void
test_anthropic_full_and_single(void **state)
{
	EmuQuotaView v;
	EmuHeaders	hs;

	(void) state;
	blank_view(&v);
	set_dim(&v, EMU_DIM_ITPM, 40000, 40000, 0);
	emu_headers_clear(&hs);
	emu_headers_ratelimit(EMU_PROVIDER_ANTHROPIC, &v, SEC(1755780059), &hs);
	assert_int_equal(hs.n, 6);
	assert_header(&hs, "anthropic-ratelimit-input-tokens-reset", "2025-08-21T12:40:59Z");
	assert_header(&hs, "anthropic-ratelimit-tokens-limit", "40000");
	assert_null(emu_headers_get(&hs, "anthropic-ratelimit-requests-limit"));
	assert_null(emu_headers_get(&hs, "anthropic-ratelimit-output-tokens-limit"));
}

/* Gemini sends no rate-limit headers at all. */
static void
test_gemini_none(void **state)
{
	EmuQuotaView v;
	EmuHeaders	hs;

	(void) state;
	blank_view(&v);
	set_dim(&v, EMU_DIM_RPM, 5, 0, SEC(12));
	set_dim(&v, EMU_DIM_TPM, 250000, 10, SEC(12));
	emu_headers_clear(&hs);
	emu_headers_ratelimit(EMU_PROVIDER_GEMINI, &v, WALL, &hs);
	assert_int_equal(hs.n, 0);
}

static void
test_retry_headers(void **state)
{
	EmuAdmit	a;
	EmuHeaders	hs;

	(void) state;
	memset(&a, 0, sizeof(a));
	a.status = EMU_ADMIT_LIMITED;
	a.retry_us = 1146000;
	emu_headers_clear(&hs);
	emu_headers_retry(EMU_PROVIDER_OPENAI, &a, true, &hs);
	assert_header(&hs, "retry-after", "2");
	assert_header(&hs, "retry-after-ms", "1146");
	emu_headers_clear(&hs);
	emu_headers_retry(EMU_PROVIDER_OPENAI, &a, false, &hs);
	assert_int_equal(hs.n, 1);
	emu_headers_clear(&hs);
	emu_headers_retry(EMU_PROVIDER_ANTHROPIC, &a, true, &hs);
	assert_int_equal(hs.n, 1);
	assert_header(&hs, "retry-after", "2");
	/* sub-second waits still say 1, never 0 */
	a.retry_us = 20000;
	emu_headers_clear(&hs);
	emu_headers_retry(EMU_PROVIDER_ANTHROPIC, &a, true, &hs);
	assert_header(&hs, "retry-after", "1");
	/* Gemini: the hint is in the body */
	emu_headers_clear(&hs);
	emu_headers_retry(EMU_PROVIDER_GEMINI, &a, true, &hs);
	assert_int_equal(hs.n, 0);
	/* billing and too-large: waiting does not help, no header */
	a.status = EMU_ADMIT_BILLING;
	emu_headers_clear(&hs);
	emu_headers_retry(EMU_PROVIDER_OPENAI, &a, true, &hs);
	emu_headers_retry(EMU_PROVIDER_ANTHROPIC, &a, true, &hs);
	a.status = EMU_ADMIT_TOO_LARGE;
	emu_headers_retry(EMU_PROVIDER_OPENAI, &a, true, &hs);
	assert_int_equal(hs.n, 0);
	/* never-fitting waits are capped at a day */
	a.status = EMU_ADMIT_LIMITED;
	a.retry_us = EMU_WAIT_NEVER;
	emu_headers_retry(EMU_PROVIDER_ANTHROPIC, &a, true, &hs);
	assert_header(&hs, "retry-after", "86400");
	assert_int_equal(emu_retry_after_seconds(0), 1);
	assert_int_equal(emu_retry_after_seconds(SEC(20)), 20);
	assert_int_equal(emu_retry_after_seconds(SEC(20) + 1), 21);
}

/* Azure: the capture's four headers, no reset headers. */
static void
test_azure_headers(void **state)
{
	EmuQuotaView v;
	EmuHeaders	hs;

	(void) state;
	blank_view(&v);
	set_dim(&v, EMU_DIM_RPM, 100, 99, 100000);
	set_dim(&v, EMU_DIM_TPM, 100000, 99998, 1200);
	emu_headers_clear(&hs);
	emu_headers_ratelimit(EMU_PROVIDER_AZURE, &v, WALL, &hs);
	assert_int_equal(hs.n, 4);
	assert_header(&hs, "x-ratelimit-limit-requests", "100");
	assert_header(&hs, "x-ratelimit-remaining-requests", "99");
	assert_header(&hs, "x-ratelimit-limit-tokens", "100000");
	assert_header(&hs, "x-ratelimit-remaining-tokens", "99998");
	assert_null(emu_headers_get(&hs, "x-ratelimit-reset-requests"));
	assert_null(emu_headers_get(&hs, "x-ratelimit-reset-tokens"));
}

/* Sentinel mode: the token family becomes -1/-1/0; requests stay. */
static void
test_sentinel_headers(void **state)
{
	EmuQuotaView v;
	EmuHeaders	hs;

	(void) state;
	blank_view(&v);
	set_dim(&v, EMU_DIM_RPM, 100, 99, 100000);
	set_dim(&v, EMU_DIM_TPM, 100000, 99998, 1200);
	emu_headers_clear(&hs);
	emu_headers_ratelimit(EMU_PROVIDER_AZURE, &v, WALL, &hs);
	emu_headers_sentinel(EMU_PROVIDER_AZURE, &hs);
	assert_int_equal(hs.n, 5);
	assert_header(&hs, "x-ratelimit-limit-requests", "100");
	assert_header(&hs, "x-ratelimit-remaining-requests", "99");
	assert_header(&hs, "x-ratelimit-limit-tokens", "-1");
	assert_header(&hs, "x-ratelimit-remaining-tokens", "-1");
	assert_header(&hs, "x-ratelimit-reset-tokens", "0");

	/* OpenAI: the reset header is replaced, not doubled */
	emu_headers_clear(&hs);
	emu_headers_ratelimit(EMU_PROVIDER_OPENAI, &v, WALL, &hs);
	emu_headers_sentinel(EMU_PROVIDER_OPENAI, &hs);
	assert_int_equal(hs.n, 6);
	assert_header(&hs, "x-ratelimit-reset-requests", "100ms");
	assert_header(&hs, "x-ratelimit-limit-tokens", "-1");
	assert_header(&hs, "x-ratelimit-reset-tokens", "0");

	/* the other dialects have no such family */
	emu_headers_clear(&hs);
	emu_headers_sentinel(EMU_PROVIDER_GEMINI, &hs);
	emu_headers_sentinel(EMU_PROVIDER_ANTHROPIC, &hs);
	assert_int_equal(hs.n, 0);
}

/* Azure 429s always carry both retry headers; never-fitting says a day. */
static void
test_azure_retry_headers(void **state)
{
	EmuAdmit	a;
	EmuHeaders	hs;

	(void) state;
	memset(&a, 0, sizeof(a));
	a.status = EMU_ADMIT_LIMITED;
	a.retry_us = 5200000;
	emu_headers_clear(&hs);
	/* with_ms is the OpenAI switch: Azure ignores it */
	emu_headers_retry(EMU_PROVIDER_AZURE, &a, false, &hs);
	assert_int_equal(hs.n, 2);
	assert_header(&hs, "retry-after", "6");
	assert_header(&hs, "retry-after-ms", "5200");
	a.status = EMU_ADMIT_TOO_LARGE;
	a.retry_us = EMU_WAIT_NEVER;
	emu_headers_clear(&hs);
	emu_headers_retry(EMU_PROVIDER_AZURE, &a, true, &hs);
	assert_header(&hs, "retry-after", "86400");
	assert_header(&hs, "retry-after-ms", "86400000");
}

static void
test_header_list_limits(void **state)
{
	EmuHeaders	hs;

	(void) state;
	emu_headers_clear(&hs);
	for (int i = 0; i < EMU_MAX_HEADERS + 5; i++)
		emu_headers_add(&hs, "x-h", "%d", i);
	assert_int_equal(hs.n, EMU_MAX_HEADERS);
	assert_string_equal(emu_headers_get(&hs, "X-H"), "0");
	assert_null(emu_headers_get(&hs, "x-other"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_openai_headers),
		cmocka_unit_test(test_openai_partial_and_minutes_only),
		cmocka_unit_test(test_anthropic_headers),
		cmocka_unit_test(test_anthropic_full_and_single),
		cmocka_unit_test(test_gemini_none),
		cmocka_unit_test(test_retry_headers),
		cmocka_unit_test(test_azure_headers),
		cmocka_unit_test(test_sentinel_headers),
		cmocka_unit_test(test_azure_retry_headers),
		cmocka_unit_test(test_header_list_limits),
	};

	return cmocka_run_group_tests_name("emulator headers", tests, NULL, NULL);
}
