/*-------------------------------------------------------------------------
 * test_protocol_azure.c
 *	  cmocka tests of the provider registry (src/protocol.c): how each api
 *	  style's requests are addressed, authenticated and worded, and Azure
 *	  OpenAI's dialect read through its own descriptor.
 *
 * IDENTIFICATION
 *	  test/unit/test_protocol_azure.c
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

static const int64_t NOW = INT64_C(1755133835) * 1000000;

#define PT_DIALECT	AIGOV_API_AZURE
#define PT_NOW		NOW
#include "protocol_test_util.h"

static const char *const BODY =
"{\"model\":\"gpt-4o\",\"max_tokens\":16,"
"\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

static AigovTranslateStatus
build(AigovApiStyle style, const char *base, const char *model,
	  AigovWireRequest *w)
{
	AigovTranslateOptions opts = {1024, false};

	return aigov_protocol_build_request(style, base, model, BODY, strlen(BODY),
										&opts, w);
}

static void
test_style_names(void **state)
{
	AigovApiStyle s;

	(void) state;
	for (int i = 0; i < AIGOV_API_STYLE_COUNT; i++)
	{
		assert_true(aigov_protocol_style_from_name(aigov_protocol_style_name(i), &s));
		assert_int_equal(s, i);
	}
	assert_true(aigov_protocol_style_from_name("azure", &s));
	assert_int_equal(s, AIGOV_API_AZURE);
	assert_false(aigov_protocol_style_from_name("cohere", &s));
	assert_false(aigov_protocol_style_from_name("Azure", &s));
	assert_false(aigov_protocol_style_from_name(NULL, &s));
}

/* Each style's URL, credential, version header and charging. */
static void
test_requests_per_style(void **state)
{
	AigovWireRequest w;

	(void) state;
	assert_int_equal(build(AIGOV_API_OPENAI, "http://h:1", "gpt-4o", &w), AIGOV_TRANSLATE_OK);
	assert_string_equal(w.url, "http://h:1/v1/chat/completions");
	assert_null(w.body);		/* the job's body goes out unchanged */
	assert_string_equal(aigov_protocol_auth_prefix(AIGOV_API_OPENAI), "Authorization: Bearer ");
	assert_null(aigov_protocol_version_header(AIGOV_API_OPENAI));
	assert_true(aigov_protocol_charges_characters(AIGOV_API_OPENAI));
	assert_true(aigov_protocol_reply_is_openai(AIGOV_API_OPENAI));

	assert_int_equal(build(AIGOV_API_ANTHROPIC, "http://h:1", "claude", &w), AIGOV_TRANSLATE_OK);
	assert_string_equal(w.url, "http://h:1/v1/messages");
	assert_non_null(w.body);
	assert_non_null(strstr(w.body, "\"max_tokens\":16"));
	aigov_protocol_wire_free(&w);
	assert_null(w.body);
	assert_string_equal(aigov_protocol_auth_prefix(AIGOV_API_ANTHROPIC), "x-api-key: ");
	assert_string_equal(aigov_protocol_version_header(AIGOV_API_ANTHROPIC),
						"anthropic-version: 2023-06-01");
	assert_false(aigov_protocol_charges_characters(AIGOV_API_ANTHROPIC));
	assert_false(aigov_protocol_reply_is_openai(AIGOV_API_ANTHROPIC));

	assert_int_equal(build(AIGOV_API_GEMINI, "http://h:1", "gemini-2.5-flash", &w),
					 AIGOV_TRANSLATE_OK);
	assert_string_equal(w.url, "http://h:1/v1beta/models/gpt-4o:generateContent");
	aigov_protocol_wire_free(&w);
	assert_string_equal(aigov_protocol_auth_prefix(AIGOV_API_GEMINI), "x-goog-api-key: ");

	assert_string_equal(aigov_protocol_auth_prefix(AIGOV_API_AZURE), "api-key: ");
	assert_null(aigov_protocol_version_header(AIGOV_API_AZURE));
	assert_true(aigov_protocol_charges_characters(AIGOV_API_AZURE));
	assert_true(aigov_protocol_reply_is_openai(AIGOV_API_AZURE));
	assert_int_equal(aigov_protocol_requests_window_s(AIGOV_API_AZURE), 10);
	assert_int_equal(aigov_protocol_requests_window_s(AIGOV_API_OPENAI), 60);

	/* a request a dialect cannot carry says why */
	{
		const char *streaming = "{\"model\":\"m\",\"stream\":true,"
			"\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
		AigovTranslateOptions opts = {1024, false};

		assert_int_equal(aigov_protocol_build_request(AIGOV_API_ANTHROPIC, "http://h", "m",
													  streaming, strlen(streaming),
													  &opts, &w),
						 AIGOV_TRANSLATE_UNSUPPORTED);
		assert_null(w.body);
		assert_true(w.detail[0] != '\0');
	}
}

/* Azure: the deployment URL, its api-version, escaping and limits. */
static void
test_azure_urls(void **state)
{
	AigovWireRequest w;
	char		base[3000];

	(void) state;
	assert_int_equal(build(AIGOV_API_AZURE, "https://r.openai.azure.com", "gpt-4o", &w),
					 AIGOV_TRANSLATE_OK);
	assert_string_equal(w.url, "https://r.openai.azure.com/openai/deployments/gpt-4o"
						"/chat/completions?api-version=2024-10-21");
	assert_null(w.body);

	/* the base URL's query names the version; slashes before it go */
	assert_int_equal(build(AIGOV_API_AZURE,
						   "http://127.0.0.1:9/?api-version=2025-01-01-preview", "d1", &w),
					 AIGOV_TRANSLATE_OK);
	assert_string_equal(w.url, "http://127.0.0.1:9/openai/deployments/d1"
						"/chat/completions?api-version=2025-01-01-preview");
	assert_int_equal(build(AIGOV_API_AZURE, "http://h?x=1&api-version=2024-06-01&y=2",
						   "d1", &w), AIGOV_TRANSLATE_OK);
	assert_string_equal(w.url, "http://h/openai/deployments/d1"
						"/chat/completions?api-version=2024-06-01");
	/* a query without one keeps the default */
	assert_int_equal(build(AIGOV_API_AZURE, "http://h/prefix?x=1", "d1", &w),
					 AIGOV_TRANSLATE_OK);
	assert_string_equal(w.url, "http://h/prefix/openai/deployments/d1"
						"/chat/completions?api-version=2024-10-21");

	/* the deployment and the version are escaped, never spliced raw */
	assert_int_equal(build(AIGOV_API_AZURE, "http://h?api-version=a b", "my dep/../x?", &w),
					 AIGOV_TRANSLATE_OK);
	assert_string_equal(w.url, "http://h/openai/deployments/my%20dep%2F..%2Fx%3F"
						"/chat/completions?api-version=a%20b");

	/* no deployment; a URL too long for the buffer */
	assert_int_equal(build(AIGOV_API_AZURE, "http://h", "", &w), AIGOV_TRANSLATE_BAD_JSON);
	assert_true(w.detail[0] != '\0');
	memset(base, 'a', sizeof(base) - 1);
	memcpy(base, "http://", 7);
	base[sizeof(base) - 1] = '\0';
	assert_int_equal(build(AIGOV_API_AZURE, base, "d", &w), AIGOV_TRANSLATE_UNSUPPORTED);
	assert_string_equal(w.url, "");
	assert_non_null(strstr(w.detail, "longer"));
	base[2030] = '\0';			/* fits the base, not the deployment */
	assert_int_equal(build(AIGOV_API_AZURE, base, "deployment-name", &w),
					 AIGOV_TRANSLATE_UNSUPPORTED);
}

/*
 * A request URL is never cut: at the boundary of the URL buffer every
 * style either builds the whole URL or refuses with a reason.
 */
static void
test_url_boundaries(void **state)
{
	static const struct
	{
		AigovApiStyle style;
		const char *tail;		/* what the style appends to base_url */
	}			styles[] = {
		{AIGOV_API_OPENAI, "/v1/chat/completions"},
		{AIGOV_API_ANTHROPIC, "/v1/messages"},
		{AIGOV_API_GEMINI, "/v1beta/models/gpt-4o:generateContent"},
		{AIGOV_API_AZURE, "/openai/deployments/m/chat/completions?api-version=2024-10-21"},
	};
	char		base[sizeof(((AigovWireRequest *) 0)->url) + 16];
	const size_t max_url = sizeof(((AigovWireRequest *) 0)->url) - 1;
	AigovWireRequest w;

	(void) state;
	for (size_t i = 0; i < sizeof(styles) / sizeof(styles[0]); i++)
	{
		size_t		base_len = max_url - strlen(styles[i].tail);

		/* exactly the longest URL (Gemini's names the body's model) */
		memset(base, 'a', base_len);
		memcpy(base, "http://", 7);
		base[base_len] = '\0';
		assert_int_equal(build(styles[i].style, base, "m", &w), AIGOV_TRANSLATE_OK);
		assert_int_equal(strlen(w.url), max_url);
		assert_int_equal(strncmp(w.url, base, base_len), 0);
		assert_string_equal(w.url + base_len, styles[i].tail);
		aigov_protocol_wire_free(&w);

		/* one byte more: refused, nothing cut */
		base[base_len] = 'a';
		base[base_len + 1] = '\0';
		assert_int_equal(build(styles[i].style, base, "m", &w),
						 AIGOV_TRANSLATE_UNSUPPORTED);
		assert_string_equal(w.url, "");
		assert_non_null(strstr(w.detail, "longer than 2047 bytes"));
		aigov_protocol_wire_free(&w);
	}
}

/* An api-version too long to keep is refused, not replaced by the default. */
static void
test_azure_long_api_version(void **state)
{
	char		base[256];
	AigovWireRequest w;

	(void) state;
	snprintf(base, sizeof(base), "http://h?api-version=%063d", 7);
	assert_int_equal(build(AIGOV_API_AZURE, base, "d", &w), AIGOV_TRANSLATE_OK);
	assert_non_null(strstr(w.url, "api-version=000"));
	snprintf(base, sizeof(base), "http://h?api-version=%064d", 7);
	assert_int_equal(build(AIGOV_API_AZURE, base, "d", &w),
					 AIGOV_TRANSLATE_UNSUPPORTED);
	assert_string_equal(w.url, "");
	assert_non_null(strstr(w.detail, "api-version"));
	assert_non_null(strstr(w.detail, "longer than 63 bytes"));
}

/* Azure's headers and 429s, read through the azure descriptor. */
static void
test_azure_replies(void **state)
{
	AigovRateHeaders h;
	AigovClassification c;

	(void) state;
	feed_file(&h, "azure-headers.txt");
	assert_true(h.requests.present);
	assert_int_equal(h.requests.limit, 100);
	assert_int_equal(h.requests.remaining, 99);
	assert_int_equal(h.requests.reset_at_us, 0);	/* Azure sends no reset */
	assert_int_equal(h.tokens.limit, 100000);
	assert_int_equal(h.tokens.remaining, 99998);

	aigov_protocol_headers_init(&h);
	feed(&h, "retry-after-ms: 2500");
	feed(&h, "retry-after: 3");
	classify(429, &h, "azure-429-tpm.json", &c);
	expect_class(&c, AIGOV_CLASS_RATE_LIMIT_TPM);
	assert_int_equal(c.retry_at_us, NOW + MS(2500));
	assert_false(c.breaker_failure);

	aigov_protocol_headers_init(&h);
	classify(429, &h, "azure-429-rpm.json", &c);
	expect_class(&c, AIGOV_CLASS_RATE_LIMIT_RPM);

	classify(429, &h, "azure-429-zero-quota.json", &c);
	expect_class(&c, AIGOV_CLASS_RATE_LIMIT_TPD);

	classify_str(200, &h,
				 "{\"id\":\"x\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,"
				 "\"message\":{\"role\":\"assistant\",\"content\":\"ok\"},"
				 "\"finish_reason\":\"stop\",\"content_filter_results\":{}}],"
				 "\"prompt_filter_results\":[],"
				 "\"usage\":{\"prompt_tokens\":8,\"completion_tokens\":2,\"total_tokens\":10}}",
				 &c);
	expect_class(&c, AIGOV_CLASS_SUCCESS);
	assert_true(c.usage.present);
	assert_int_equal(c.usage.prompt_tokens, 8);
	assert_int_equal(c.usage.completion_tokens, 2);

	classify_str(401, &h, "{\"error\":{\"code\":\"401\",\"message\":\"Access denied due to "
				 "invalid subscription key or wrong API endpoint.\"}}", &c);
	expect_class(&c, AIGOV_CLASS_AUTH);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_style_names),
		cmocka_unit_test(test_requests_per_style),
		cmocka_unit_test(test_azure_urls),
		cmocka_unit_test(test_url_boundaries),
		cmocka_unit_test(test_azure_long_api_version),
		cmocka_unit_test(test_azure_replies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
