/*-------------------------------------------------------------------------
 * test_translate.c
 *	  cmocka tests of src/translate.c: request translation between the
 *	  OpenAI, Anthropic and Gemini dialects and response normalisation.
 *
 * Most cases are data: the JSON files in test/fixtures/translate/ (see the README
 * there) hold inputs and the exact expected outputs.  The C tests add what
 * data cannot express: byte-exact pass-through, round trips through a
 * provider reply, the recorded OpenAI captures (read straight from their
 * YAML), NULL arguments, detail overflow and sanitising.
 *
 * IDENTIFICATION
 *	  test/unit/test_translate.c
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "translate.h"
#include "text_util.h"

#ifndef AIGOV_TEST_DIR
#error "AIGOV_TEST_DIR must be the absolute path of test/"
#endif

#define FIXTURES AIGOV_TEST_DIR "/fixtures/translate/"
#define CAPTURES AIGOV_TEST_DIR "/fixtures/openai-captures/"


/* ---------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------
 */

static char *
read_whole_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *buf;
	long		n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
		fseek(f, 0, SEEK_SET) != 0)
	{
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t) n + 1);
	if (buf != NULL && fread(buf, 1, (size_t) n, f) != (size_t) n)
	{
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf != NULL)
	{
		buf[n] = '\0';
		if (len)
			*len = (size_t) n;
	}
	return buf;
}

static json_t *
load_fixture(const char *name)
{
	char		path[1024];
	json_error_t err;
	json_t	   *j;

	snprintf(path, sizeof(path), "%s%s", FIXTURES, name);
	j = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
	if (j == NULL)
		fail_msg("cannot load %s: %s (line %d)", path, err.text, err.line);
	return j;
}

static AigovApiStyle
style_from(const char *s)
{
	if (s != NULL && strcmp(s, "anthropic") == 0)
		return AIGOV_API_ANTHROPIC;
	if (s != NULL && strcmp(s, "gemini") == 0)
		return AIGOV_API_GEMINI;
	if (s != NULL && strcmp(s, "openai") == 0)
		return AIGOV_API_OPENAI;
	fail_msg("unknown api style \"%s\" in fixture", s ? s : "(null)");
	return AIGOV_API_OPENAI;
}

/* The text a case feeds in: "raw" verbatim, or "input" serialised. */
static char *
case_body(const json_t *c, size_t *len)
{
	json_t	   *raw = json_object_get(c, "raw");
	char	   *s;

	if (json_is_string(raw))
	{
		*len = json_string_length(raw);
		s = malloc(*len + 1);
		assert_non_null(s);
		memcpy(s, json_string_value(raw), *len + 1);
		return s;
	}
	s = json_dumps(json_object_get(c, "input"), JSON_COMPACT | JSON_ENCODE_ANY);
	assert_non_null(s);
	*len = strlen(s);
	return s;
}

/* Compare a JSON text with an expected tree; print both when they differ. */
static int
check_json(const char *name, const char *actual, const json_t *expect)
{
	json_error_t err;
	json_t	   *a = json_loads(actual, JSON_REJECT_DUPLICATES, &err);
	int			bad = 0;

	if (a == NULL)
	{
		print_error("[%s] output is not valid JSON (%s): %s\n", name, err.text,
					actual);
		return 1;
	}
	if (!json_equal(a, expect))
	{
		char	   *e = json_dumps(expect, JSON_COMPACT | JSON_SORT_KEYS);
		char	   *g = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS);

		print_error("[%s] body mismatch\n  expected: %s\n  actual:   %s\n",
					name, e, g);
		free(e);
		free(g);
		bad = 1;
	}
	json_decref(a);
	return bad;
}

/* Check status and detail expectations common to both directions. */
static int
check_common(const char *name, const json_t *c, AigovTranslateStatus st,
			 const char *detail)
{
	const char *want = json_string_value(json_object_get(c, "status"));
	const char *exact = json_string_value(json_object_get(c, "detail"));
	const char *part = json_string_value(json_object_get(c, "detail_contains"));
	int			bad = 0;

	if (want == NULL)
		fail_msg("[%s] fixture lacks a status", name);
	if (strcmp(aigov_translate_status_name(st), want) != 0)
	{
		print_error("[%s] status %s, expected %s (detail: %s)\n", name,
					aigov_translate_status_name(st), want, detail);
		bad = 1;
	}
	if (exact != NULL && strcmp(exact, detail) != 0)
	{
		print_error("[%s] detail \"%s\", expected \"%s\"\n", name, detail, exact);
		bad = 1;
	}
	if (part != NULL && strstr(detail, part) == NULL)
	{
		print_error("[%s] detail \"%s\" lacks \"%s\"\n", name, detail, part);
		bad = 1;
	}
	if (st != AIGOV_TRANSLATE_OK && detail[0] == '\0')
	{
		print_error("[%s] a failure must explain itself in detail\n", name);
		bad = 1;
	}
	return bad;
}

static int
run_request_case(const json_t *c)
{
	const char *name = json_string_value(json_object_get(c, "name"));
	AigovApiStyle target = style_from(json_string_value(json_object_get(c, "target")));
	json_t	   *dmt = json_object_get(c, "default_max_tokens");
	json_t	   *expect = json_object_get(c, "expect");
	const char *path = json_string_value(json_object_get(c, "path"));
	AigovTranslateOptions opts;
	AigovTranslatedRequest out;
	AigovTranslateStatus st;
	char	   *body;
	size_t		len;
	int			bad;

	opts.default_max_tokens = dmt ? json_integer_value(dmt) : 1024;
	opts.allow_degraded = json_is_true(json_object_get(c, "degraded"));
	body = case_body(c, &len);
	st = aigov_translate_request(target, body, len,
								 json_string_value(json_object_get(c, "model_override")),
								 &opts, &out);
	bad = check_common(name, c, st, out.detail);
	if (st == AIGOV_TRANSLATE_OK)
	{
		if (out.body == NULL)
		{
			print_error("[%s] OK without a body\n", name);
			bad = 1;
		}
		else if (expect == NULL)
			fail_msg("[%s] fixture for an OK case lacks expect", name);
		else
			bad |= check_json(name, out.body, expect);
		if (path != NULL && strcmp(path, out.path) != 0)
		{
			print_error("[%s] path \"%s\", expected \"%s\"\n", name, out.path, path);
			bad = 1;
		}
	}
	else if (out.body != NULL || out.path[0] != '\0')
	{
		print_error("[%s] a failure must leave body NULL and path empty\n", name);
		bad = 1;
	}
	aigov_translate_request_free(&out);
	free(body);
	return bad;
}

static int
run_response_case(const json_t *c)
{
	const char *name = json_string_value(json_object_get(c, "name"));
	AigovApiStyle source = style_from(json_string_value(json_object_get(c, "source")));
	json_t	   *expect = json_object_get(c, "expect");
	json_t	   *pt = json_object_get(c, "prompt_tokens");
	json_t	   *ct = json_object_get(c, "completion_tokens");
	const char *fr = json_string_value(json_object_get(c, "finish_reason"));
	AigovNormalisedResponse out;
	AigovTranslateStatus st;
	char	   *body;
	size_t		len;
	int			bad;

	body = case_body(c, &len);
	st = aigov_translate_response(source, body, len,
								  json_string_value(json_object_get(c, "model")),
								  &out);
	bad = check_common(name, c, st, out.detail);
	if (st == AIGOV_TRANSLATE_OK)
	{
		if (out.body == NULL)
		{
			print_error("[%s] OK without a body\n", name);
			bad = 1;
		}
		else if (expect != NULL)
			bad |= check_json(name, out.body, expect);
		if (pt != NULL && json_integer_value(pt) != out.prompt_tokens)
		{
			print_error("[%s] prompt_tokens %lld, expected %lld\n", name,
						(long long) out.prompt_tokens,
						(long long) json_integer_value(pt));
			bad = 1;
		}
		if (ct != NULL && json_integer_value(ct) != out.completion_tokens)
		{
			print_error("[%s] completion_tokens %lld, expected %lld\n", name,
						(long long) out.completion_tokens,
						(long long) json_integer_value(ct));
			bad = 1;
		}
		if (fr != NULL && strcmp(fr, out.finish_reason) != 0)
		{
			print_error("[%s] finish_reason \"%s\", expected \"%s\"\n", name,
						out.finish_reason, fr);
			bad = 1;
		}
	}
	else if (out.body != NULL || out.prompt_tokens != -1 ||
			 out.completion_tokens != -1 || out.finish_reason[0] != '\0')
	{
		print_error("[%s] a failure must leave no body and unknown counts\n", name);
		bad = 1;
	}
	aigov_translate_response_free(&out);
	free(body);
	return bad;
}

/* Run every case of a fixture file; all cases run even after a failure. */
static void
run_fixture(const char *file, int (*run) (const json_t *))
{
	json_t	   *cases = load_fixture(file);
	size_t		i;
	json_t	   *c;
	int			failures = 0;

	assert_true(json_is_array(cases));
	assert_true(json_array_size(cases) > 0);
	json_array_foreach(cases, i, c)
		failures += run(c);
	json_decref(cases);
	if (failures > 0)
		fail_msg("%d of %zu cases in %s failed", failures, i, file);
}

/* Translate a JSON tree (serialised here) and return the output tree. */
static json_t *
translate_tree(AigovApiStyle target, const json_t *req, bool degraded,
			   AigovTranslateStatus want)
{
	AigovTranslateOptions opts = {1024, degraded};
	AigovTranslatedRequest out;
	char	   *text = json_dumps(req, JSON_COMPACT);
	json_t	   *res = NULL;
	AigovTranslateStatus st;

	assert_non_null(text);
	st = aigov_translate_request(target, text, strlen(text), NULL, &opts, &out);
	if (st != want)
		fail_msg("status %s, expected %s: %s", aigov_translate_status_name(st),
				 aigov_translate_status_name(want), out.detail);
	if (st == AIGOV_TRANSLATE_OK)
	{
		res = json_loads(out.body, 0, NULL);
		assert_non_null(res);
	}
	aigov_translate_request_free(&out);
	free(text);
	return res;
}

/* Normalise a provider reply tree and return the chat.completion tree. */
static json_t *
normalise_tree(AigovApiStyle source, const json_t *reply)
{
	AigovNormalisedResponse out;
	char	   *text = json_dumps(reply, JSON_COMPACT);
	json_t	   *res;

	assert_non_null(text);
	assert_int_equal(aigov_translate_response(source, text, strlen(text),
											  "m", &out), AIGOV_TRANSLATE_OK);
	res = json_loads(out.body, 0, NULL);
	assert_non_null(res);
	aigov_translate_response_free(&out);
	free(text);
	return res;
}

static json_t *
path_get(json_t *j, const char *path)
{
	/* "a.0.b" walks objects by key and arrays by index */
	char		buf[256];
	char	   *save = NULL;
	char	   *tok;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok && j; tok = strtok_r(NULL, ".", &save))
	{
		if (json_is_array(j))
			j = json_array_get(j, (size_t) strtoul(tok, NULL, 10));
		else
			j = json_object_get(j, tok);
	}
	return j;
}

static void
assert_json_eq(json_t *a, json_t *b, const char *what)
{
	if (a == NULL || b == NULL || !json_equal(a, b))
	{
		char	   *sa = a ? json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
		char	   *sb = b ? json_dumps(b, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

		print_error("%s: %s != %s\n", what, sa ? sa : "(missing)",
					sb ? sb : "(missing)");
		free(sa);
		free(sb);
		fail_msg("%s differs", what);
	}
}

static void
assert_path_str(json_t *j, const char *path, const char *want)
{
	const char *got = json_string_value(path_get(j, path));

	if (got == NULL || strcmp(got, want) != 0)
		fail_msg("%s is \"%s\", expected \"%s\"", path, got ? got : "(missing)",
				 want);
}


/* ---------------------------------------------------------------------
 * Fixture-driven tests
 * ---------------------------------------------------------------------
 */

static void
test_requests_anthropic(void **state)
{
	run_fixture("req_anthropic.json", run_request_case);
}

static void
test_requests_gemini(void **state)
{
	run_fixture("req_gemini.json", run_request_case);
}

static void
test_requests_openai(void **state)
{
	run_fixture("req_openai.json", run_request_case);
}

static void
test_refusals(void **state)
{
	run_fixture("refusals.json", run_request_case);
}

static void
test_bad_requests(void **state)
{
	run_fixture("bad_requests.json", run_request_case);
}

static void
test_responses_anthropic(void **state)
{
	run_fixture("resp_anthropic.json", run_response_case);
}

static void
test_responses_gemini(void **state)
{
	run_fixture("resp_gemini.json", run_response_case);
}

static void
test_responses_openai(void **state)
{
	run_fixture("resp_openai.json", run_response_case);
}


/* ---------------------------------------------------------------------
 * Pass-through, arguments, detail handling
 * ---------------------------------------------------------------------
 */

/* Without an override the OpenAI body is copied byte for byte. */
static void
test_openai_passthrough_is_byte_exact(void **state)
{
	const char *body = "{ \"model\" : \"gpt-5-nano\",\n  \"messages\": [{\"role\":\"user\",\"content\":\"Hi \\u00e9\"}],\n  \"seed\": 1.0e0 }";
	AigovTranslatedRequest out;
	AigovNormalisedResponse resp;
	const char *reply = "{\"choices\":[{\"message\":{\"content\":\"x\"},\"finish_reason\":\"length\"}],\n \"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}";

	assert_int_equal(aigov_translate_request(AIGOV_API_OPENAI, body, strlen(body),
											 NULL, NULL, &out),
					 AIGOV_TRANSLATE_OK);
	assert_string_equal(out.body, body);
	assert_string_equal(out.path, "/v1/chat/completions");
	assert_string_equal(out.detail, "");
	aigov_translate_request_free(&out);
	assert_null(out.body);

	/* an empty override keeps the body's model, and the bytes */
	assert_int_equal(aigov_translate_request(AIGOV_API_OPENAI, body, strlen(body),
											 "", NULL, &out),
					 AIGOV_TRANSLATE_OK);
	assert_string_equal(out.body, body);
	aigov_translate_request_free(&out);

	assert_int_equal(aigov_translate_response(AIGOV_API_OPENAI, reply, strlen(reply),
											  NULL, &resp),
					 AIGOV_TRANSLATE_OK);
	assert_string_equal(resp.body, reply);
	assert_string_equal(resp.finish_reason, "length");
	assert_int_equal(resp.prompt_tokens, 3);
	assert_int_equal(resp.completion_tokens, 4);
	aigov_translate_response_free(&resp);
	assert_null(resp.body);
}

/* The input need not be NUL-terminated: only len bytes are read. */
static void
test_input_is_length_bounded(void **state)
{
	const char	text[] = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}GARBAGE";
	size_t		len = strlen(text) - strlen("GARBAGE");
	char	   *copy = malloc(len);
	AigovTranslatedRequest out;

	/* a heap copy without terminator lets ASan catch any over-read */
	assert_non_null(copy);
	memcpy(copy, text, len);
	assert_int_equal(aigov_translate_request(AIGOV_API_ANTHROPIC, copy, len,
											 NULL, NULL, &out),
					 AIGOV_TRANSLATE_OK);
	aigov_translate_request_free(&out);
	assert_int_equal(aigov_translate_request(AIGOV_API_OPENAI, copy, len,
											 NULL, NULL, &out),
					 AIGOV_TRANSLATE_OK);
	assert_int_equal(strlen(out.body), len);
	assert_memory_equal(out.body, text, len);
	aigov_translate_request_free(&out);
	free(copy);
}

/* opts == NULL: default max_tokens 4096 and no degradation. */
static void
test_null_options_use_defaults(void **state)
{
	const char *body = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
	const char *seeded = "{\"model\":\"m\",\"seed\":1,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
	AigovTranslatedRequest out;
	json_t	   *j;

	assert_int_equal(aigov_translate_request(AIGOV_API_ANTHROPIC, body, strlen(body),
											 NULL, NULL, &out),
					 AIGOV_TRANSLATE_OK);
	j = json_loads(out.body, 0, NULL);
	assert_int_equal(json_integer_value(json_object_get(j, "max_tokens")),
					 AIGOV_TRANSLATE_DEFAULT_MAX_TOKENS);
	json_decref(j);
	aigov_translate_request_free(&out);

	assert_int_equal(aigov_translate_request(AIGOV_API_ANTHROPIC, seeded,
											 strlen(seeded), NULL, NULL, &out),
					 AIGOV_TRANSLATE_UNSUPPORTED);
	assert_null(out.body);
}

static void
test_null_and_invalid_arguments(void **state)
{
	const char *body = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
	AigovTranslatedRequest out;
	AigovNormalisedResponse resp;

	assert_int_equal(aigov_translate_request(AIGOV_API_GEMINI, NULL, 0, NULL, NULL, &out),
					 AIGOV_TRANSLATE_BAD_JSON);
	assert_null(out.body);
	assert_true(out.detail[0] != '\0');
	assert_int_equal(aigov_translate_request(AIGOV_API_GEMINI, body, strlen(body),
											 NULL, NULL, NULL),
					 AIGOV_TRANSLATE_BAD_JSON);
	assert_int_equal(aigov_translate_request((AigovApiStyle) 99, body, strlen(body),
											 NULL, NULL, &out),
					 AIGOV_TRANSLATE_UNSUPPORTED);
	assert_null(out.body);

	assert_int_equal(aigov_translate_response(AIGOV_API_GEMINI, NULL, 0, NULL, &resp),
					 AIGOV_TRANSLATE_BAD_JSON);
	assert_null(resp.body);
	assert_int_equal(aigov_translate_response(AIGOV_API_GEMINI, body, strlen(body),
											  NULL, NULL),
					 AIGOV_TRANSLATE_BAD_JSON);
	assert_int_equal(aigov_translate_response((AigovApiStyle) -1, body, strlen(body),
											  NULL, &resp),
					 AIGOV_TRANSLATE_UNSUPPORTED);

	/* the free functions are NULL-safe and idempotent */
	aigov_translate_request_free(NULL);
	aigov_translate_response_free(NULL);
	aigov_translate_response_free(&resp);
	aigov_translate_response_free(&resp);
}

static void
test_invalid_override_and_long_model(void **state)
{
	const char *body = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
	char		longmodel[600];
	AigovTranslatedRequest out;

	assert_int_equal(aigov_translate_request(AIGOV_API_ANTHROPIC, body, strlen(body),
											 "bad\xff", NULL, &out),
					 AIGOV_TRANSLATE_BAD_JSON);
	assert_non_null(strstr(out.detail, "UTF-8"));

	memset(longmodel, 'g', sizeof(longmodel) - 1);
	longmodel[sizeof(longmodel) - 1] = '\0';
	assert_int_equal(aigov_translate_request(AIGOV_API_GEMINI, body, strlen(body),
											 longmodel, NULL, &out),
					 AIGOV_TRANSLATE_BAD_JSON);
	assert_non_null(strstr(out.detail, "too long"));
	assert_string_equal(out.path, "");

	/* a name that just fits: 15 + 480 + 16 < 512 */
	longmodel[480] = '\0';
	assert_int_equal(aigov_translate_request(AIGOV_API_GEMINI, body, strlen(body),
											 longmodel, NULL, &out),
					 AIGOV_TRANSLATE_OK);
	assert_int_equal(strlen(out.path), 15 + 480 + 16);
	aigov_translate_request_free(&out);
}

static void
test_status_names(void **state)
{
	assert_string_equal(aigov_translate_status_name(AIGOV_TRANSLATE_OK), "ok");
	assert_string_equal(aigov_translate_status_name(AIGOV_TRANSLATE_BAD_JSON), "bad_json");
	assert_string_equal(aigov_translate_status_name(AIGOV_TRANSLATE_UNSUPPORTED), "unsupported");
	assert_string_equal(aigov_translate_status_name(AIGOV_TRANSLATE_BAD_RESPONSE), "bad_response");
	assert_string_equal(aigov_translate_status_name(AIGOV_TRANSLATE_NO_MEMORY), "no_memory");
	assert_string_equal(aigov_translate_status_name((AigovTranslateStatus) 42), "unknown");
}

/* Many ignored fields: the list is cut with "..." and stays in bounds. */
static void
test_detail_overflow_is_marked(void **state)
{
	json_t	   *req = json_pack("{s:s,s:[{s:s,s:s}]}", "model", "m", "messages",
								"role", "user", "content", "x");
	AigovTranslateOptions opts = {100, true};
	AigovTranslatedRequest out;
	char	   *text;
	char		key[64];
	size_t		n;

	for (int i = 0; i < 40; i++)
	{
		/* multi-byte names, so a cut in the middle would show */
		snprintf(key, sizeof(key), "field_\xc3\xa9t\xc3\xa9_%02d", i);
		json_object_set_new(req, key, json_true());
	}
	text = json_dumps(req, JSON_COMPACT);
	assert_int_equal(aigov_translate_request(AIGOV_API_GEMINI, text, strlen(text),
											 NULL, &opts, &out),
					 AIGOV_TRANSLATE_OK);
	n = strlen(out.detail);
	assert_true(n < sizeof(out.detail));
	assert_true(n > 100);
	assert_string_equal(out.detail + n - 4, ",...");
	assert_non_null(strstr(out.detail, "field_\xc3\xa9t\xc3\xa9_00:ignored,"));
	assert_null(strstr(out.detail, "_39:"));
	assert_true(clean_text(out.detail));
	aigov_translate_request_free(&out);
	free(text);
	json_decref(req);
}

/* Details quote raw input; they must still be clean UTF-8 text. */
static void
test_detail_is_sanitised(void **state)
{
	const char	bad_utf8[] = "{\"model\":\"m\",\n\"x\":\xed\xa0\x80\x01}";
	AigovTranslatedRequest out;
	AigovNormalisedResponse resp;
	json_t	   *req;
	char	   *text;
	char		name[200];

	assert_int_equal(aigov_translate_request(AIGOV_API_ANTHROPIC, bad_utf8,
											 sizeof(bad_utf8) - 1, NULL, NULL, &out),
					 AIGOV_TRANSLATE_BAD_JSON);
	assert_true(clean_text(out.detail));
	assert_int_equal(aigov_translate_response(AIGOV_API_GEMINI, bad_utf8,
											  sizeof(bad_utf8) - 1, NULL, &resp),
					 AIGOV_TRANSLATE_BAD_JSON);
	assert_true(clean_text(resp.detail));

	/* a long multi-byte role name is quoted, truncated, and stays valid */
	memset(name, 0, sizeof(name));
	for (int i = 0; i < 60; i++)
		memcpy(name + 3 * i, "\xe2\x82\xac", 3);	/* the euro sign */
	name[180] = '\n';
	req = json_pack("{s:s,s:[{s:s,s:s}]}", "model", "m", "messages",
					"role", name, "content", "x");
	text = json_dumps(req, JSON_COMPACT);
	assert_int_equal(aigov_translate_request(AIGOV_API_GEMINI, text, strlen(text),
											 NULL, NULL, &out),
					 AIGOV_TRANSLATE_BAD_JSON);
	assert_non_null(strstr(out.detail, "\xe2\x82\xac"));
	assert_true(clean_text(out.detail));
	free(text);
	json_decref(req);
}

/* A previous result's body must not survive into the next call. */
static void
test_out_is_reinitialised(void **state)
{
	const char *good = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"foo\":1}";
	const char *bad = "[]";
	AigovTranslatedRequest out;

	assert_int_equal(aigov_translate_request(AIGOV_API_ANTHROPIC, good, strlen(good),
											 NULL, NULL, &out),
					 AIGOV_TRANSLATE_OK);
	assert_string_equal(out.detail, "foo:ignored");
	aigov_translate_request_free(&out);
	assert_int_equal(aigov_translate_request(AIGOV_API_ANTHROPIC, bad, strlen(bad),
											 NULL, NULL, &out),
					 AIGOV_TRANSLATE_BAD_JSON);
	assert_null(out.body);
	assert_string_equal(out.path, "");
	assert_non_null(strstr(out.detail, "object"));
	assert_int_equal(aigov_translate_request(AIGOV_API_ANTHROPIC, good, strlen(good),
											 NULL, NULL, &out),
					 AIGOV_TRANSLATE_OK);
	assert_string_equal(out.detail, "foo:ignored");
	aigov_translate_request_free(&out);
}


/* ---------------------------------------------------------------------
 * Allocation failures
 * ---------------------------------------------------------------------
 */

static long alloc_budget;		/* jansson allocations left; < 0: unlimited */

static void *
failing_malloc(size_t n)
{
	if (alloc_budget == 0)
		return NULL;
	if (alloc_budget > 0)
		alloc_budget--;
	return malloc(n);
}

/*
 * Let the k-th jansson allocation fail, for every k until the call
 * succeeds: each attempt must report NO_MEMORY (never crash, leak or
 * claim the input is bad), and the last one must succeed.
 */
static void
check_oom_sweep(bool request, AigovApiStyle style, const char *text)
{
	long		k;

	for (k = 0; k < 100000; k++)
	{
		AigovTranslateStatus st;
		AigovTranslatedRequest rq;
		AigovNormalisedResponse rs;
		AigovTranslateOptions opts = {100, true};
		char	   *body;
		char	   *detail;

		alloc_budget = k;
		json_set_alloc_funcs(failing_malloc, free);
		if (request)
			st = aigov_translate_request(style, text, strlen(text), NULL, &opts, &rq);
		else
			st = aigov_translate_response(style, text, strlen(text), "m", &rs);
		json_set_alloc_funcs(malloc, free);
		body = request ? rq.body : rs.body;
		detail = request ? rq.detail : rs.detail;
		if (st == AIGOV_TRANSLATE_OK)
		{
			assert_non_null(body);
			free(body);
			break;
		}
		assert_null(body);

		/*
		 * jansson's parser reports some allocation failures as syntax errors
		 * (a known limitation, see translate.c), so a parse step may say
		 * BAD_JSON; every other step must say NO_MEMORY.
		 */
		if (st == AIGOV_TRANSLATE_BAD_JSON &&
			(strstr(detail, "is not valid JSON") != NULL ||
			 strstr(detail, "is not a JSON object") != NULL))
			continue;
		if (st != AIGOV_TRANSLATE_NO_MEMORY)
			fail_msg("allocation %ld failing gave %s: %s", k,
					 aigov_translate_status_name(st), detail);
		assert_string_equal(detail, "out of memory");
	}
	assert_true(k > 10);		/* the sweep did exercise failures */
	assert_true(k < 100000);
}

static void
test_out_of_memory_is_reported(void **state)
{
	const char *req =
		"{\"model\":\"m\",\"user\":\"u\",\"seed\":1,\"stop\":\"x\",\"temperature\":1.5,"
		"\"response_format\":{\"type\":\"json_object\"},\"foo\":1,"
		"\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"description\":\"d\","
		"\"parameters\":{\"type\":\"object\"},\"strict\":true}}],"
		"\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"f\"}},"
		"\"parallel_tool_calls\":false,"
		"\"messages\":[{\"role\":\"system\",\"content\":\"s\"},"
		"{\"role\":\"user\",\"name\":\"n\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"},"
		"{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,AAAA\"}},"
		"{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://e.com/a.png\",\"detail\":\"low\"}}]},"
		"{\"role\":\"assistant\",\"content\":\"ok\",\"tool_calls\":[{\"id\":\"c.1\",\"type\":\"function\","
		"\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"}}]},"
		"{\"role\":\"tool\",\"tool_call_id\":\"c.1\",\"content\":\"{\\\"r\\\":2}\"},"
		"{\"role\":\"tool\",\"tool_call_id\":\"c.1\",\"content\":\"plain\"},"
		"{\"role\":\"user\",\"content\":\"more\"}]}";
	const char *schema_req =
		"{\"model\":\"m\",\"max_tokens\":5,\"top_p\":0.5,\"frequency_penalty\":0.1,"
		"\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"schema\":{\"type\":\"object\"}}},"
		"\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],\"tool_choice\":\"required\","
		"\"messages\":[{\"role\":\"developer\",\"content\":\"only\"}]}";
	const char *anthropic =
		"{\"id\":\"msg\",\"type\":\"message\",\"model\":\"c\",\"content\":["
		"{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"text\",\"text\":\"b\"},{\"type\":\"mystery\"},"
		"{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{\"x\":[1,2]}}],"
		"\"stop_reason\":\"pause_turn\",\"usage\":{\"input_tokens\":1,\"output_tokens\":2,"
		"\"cache_read_input_tokens\":3}}";
	const char *gemini =
		"{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"},{\"functionCall\":{\"name\":\"f\",\"args\":{\"k\":1}}},"
		"{\"inlineData\":{}}]},\"finishReason\":\"OTHER\"},{\"content\":{\"parts\":[{\"text\":\"b\"}]}}],"
		"\"usageMetadata\":{\"promptTokenCount\":1,\"candidatesTokenCount\":2,\"thoughtsTokenCount\":3},"
		"\"responseId\":\"r\",\"modelVersion\":\"g\"}";
	const char *blocked = "{\"promptFeedback\":{\"blockReason\":\"OTHER\"}}";
	const char *openai = "{\"choices\":[{\"message\":{\"content\":\"x\"},\"finish_reason\":\"stop\"}]}";

	check_oom_sweep(true, AIGOV_API_ANTHROPIC, req);
	check_oom_sweep(true, AIGOV_API_GEMINI, req);
	check_oom_sweep(true, AIGOV_API_ANTHROPIC, schema_req);
	check_oom_sweep(true, AIGOV_API_GEMINI, schema_req);
	check_oom_sweep(true, AIGOV_API_OPENAI, req);
	check_oom_sweep(false, AIGOV_API_ANTHROPIC, anthropic);
	check_oom_sweep(false, AIGOV_API_GEMINI, gemini);
	check_oom_sweep(false, AIGOV_API_GEMINI, blocked);
	check_oom_sweep(false, AIGOV_API_OPENAI, openai);
}


/* ---------------------------------------------------------------------
 * Round trips: OpenAI request -> provider reply -> OpenAI -> provider
 * ---------------------------------------------------------------------
 */

/*
 * Append the normalised assistant message and a tool result for its first
 * call to the conversation; returns the call id.
 */
static const char *
continue_conversation(json_t *conv, json_t *completion, const char *result)
{
	json_t	   *msg = path_get(completion, "choices.0.message");
	const char *id = json_string_value(path_get(msg, "tool_calls.0.id"));
	json_t	   *msgs = json_object_get(conv, "messages");

	assert_non_null(id);
	assert_int_equal(json_array_append(msgs, msg), 0);
	assert_int_equal(json_array_append_new(msgs,
										   json_pack("{s:s,s:s,s:s}", "role", "tool",
													 "tool_call_id", id,
													 "content", result)), 0);
	return id;
}

static void
test_round_trip_anthropic(void **state)
{
	json_t	   *fx = load_fixture("round_trip.json");
	json_t	   *conv = json_deep_copy(json_object_get(fx, "conversation"));
	json_t	   *reply = json_object_get(fx, "anthropic_reply");
	json_t	   *req;
	json_t	   *completion;
	const char *id;

	/* first leg: the OpenAI request as Anthropic sees it */
	req = translate_tree(AIGOV_API_ANTHROPIC, conv, false, AIGOV_TRANSLATE_OK);
	assert_path_str(req, "system", "You are a weather bot.");
	assert_int_equal(json_integer_value(json_object_get(req, "max_tokens")), 500);
	assert_json_eq(path_get(req, "tools.0.input_schema"),
				   path_get(conv, "tools.0.function.parameters"), "input_schema");
	json_decref(req);

	/* the reply (docs/providers.md §3.4 shape) back to OpenAI */
	completion = normalise_tree(AIGOV_API_ANTHROPIC, reply);
	assert_path_str(completion, "choices.0.finish_reason", "tool_calls");
	assert_path_str(completion, "choices.0.message.content",
					"I'll check the weather in Paris.");
	assert_path_str(completion, "choices.0.message.tool_calls.0.function.arguments",
					"{\"city\":\"Paris\"}");
	assert_int_equal(json_integer_value(path_get(completion, "usage.total_tokens")), 470);

	/* second leg: the conversation continues with the tool result */
	id = continue_conversation(conv, completion, "18C and sunny");
	assert_string_equal(id, "toolu_01A09q90qw90lq917835lq9");
	req = translate_tree(AIGOV_API_ANTHROPIC, conv, false, AIGOV_TRANSLATE_OK);
	assert_int_equal(json_array_size(json_object_get(req, "messages")), 3);
	assert_path_str(req, "messages.1.role", "assistant");
	assert_path_str(req, "messages.1.content.0.text", "I'll check the weather in Paris.");
	assert_path_str(req, "messages.1.content.1.type", "tool_use");
	assert_path_str(req, "messages.1.content.1.id", id);
	assert_path_str(req, "messages.1.content.1.name", "get_weather");
	assert_json_eq(path_get(req, "messages.1.content.1.input"),
				   path_get(reply, "content.1.input"), "tool_use input");
	assert_path_str(req, "messages.2.role", "user");
	assert_path_str(req, "messages.2.content.0.type", "tool_result");
	assert_path_str(req, "messages.2.content.0.tool_use_id", id);
	assert_path_str(req, "messages.2.content.0.content", "18C and sunny");
	json_decref(req);

	/* the same conversation can fall back to Gemini: the name is found */
	req = translate_tree(AIGOV_API_GEMINI, conv, false, AIGOV_TRANSLATE_OK);
	assert_path_str(req, "contents.1.role", "model");
	assert_path_str(req, "contents.1.parts.1.functionCall.name", "get_weather");
	assert_path_str(req, "contents.2.parts.0.functionResponse.name", "get_weather");
	assert_path_str(req, "contents.2.parts.0.functionResponse.response.output",
					"18C and sunny");
	json_decref(req);

	json_decref(completion);
	json_decref(conv);
	json_decref(fx);
}

static void
test_round_trip_gemini(void **state)
{
	json_t	   *fx = load_fixture("round_trip.json");
	json_t	   *conv = json_deep_copy(json_object_get(fx, "conversation"));
	json_t	   *reply = json_object_get(fx, "gemini_reply");
	json_t	   *req;
	json_t	   *completion;
	const char *id;

	req = translate_tree(AIGOV_API_GEMINI, conv, false, AIGOV_TRANSLATE_OK);
	assert_path_str(req, "systemInstruction.parts.0.text", "You are a weather bot.");
	assert_int_equal(json_integer_value(path_get(req, "generationConfig.maxOutputTokens")), 500);
	assert_json_eq(path_get(req, "tools.0.functionDeclarations.0.parametersJsonSchema"),
				   path_get(conv, "tools.0.function.parameters"), "parametersJsonSchema");
	assert_path_str(req, "toolConfig.functionCallingConfig.mode", "AUTO");
	json_decref(req);

	/* the reply (docs/providers.md §4.3 shape, no call id) back to OpenAI */
	completion = normalise_tree(AIGOV_API_GEMINI, reply);
	assert_path_str(completion, "id", "abc123");
	assert_path_str(completion, "model", "gemini-2.5-flash");
	assert_path_str(completion, "choices.0.finish_reason", "tool_calls");
	assert_true(json_is_null(path_get(completion, "choices.0.message.content")));
	assert_int_equal(json_integer_value(path_get(completion, "usage.completion_tokens")), 6);

	id = continue_conversation(conv, completion, "{\"temp_c\": 18}");
	assert_string_equal(id, "call_0");
	req = translate_tree(AIGOV_API_GEMINI, conv, false, AIGOV_TRANSLATE_OK);
	assert_int_equal(json_array_size(json_object_get(req, "contents")), 3);
	assert_path_str(req, "contents.1.role", "model");
	assert_json_eq(path_get(req, "contents.1.parts.0.functionCall"),
				   path_get(reply, "candidates.0.content.parts.0.functionCall"),
				   "functionCall");
	assert_path_str(req, "contents.2.role", "user");
	assert_path_str(req, "contents.2.parts.0.functionResponse.name", "get_weather");
	assert_int_equal(json_integer_value(
										path_get(req, "contents.2.parts.0.functionResponse.response.temp_c")), 18);
	json_decref(req);

	/* and the generated id is acceptable to Anthropic on fallback */
	req = translate_tree(AIGOV_API_ANTHROPIC, conv, false, AIGOV_TRANSLATE_OK);
	assert_path_str(req, "messages.1.content.0.id", "call_0");
	assert_path_str(req, "messages.2.content.0.tool_use_id", "call_0");
	json_decref(req);

	json_decref(completion);
	json_decref(conv);
	json_decref(fx);
}


/* ---------------------------------------------------------------------
 * The recorded OpenAI captures (YAML cassettes)
 * ---------------------------------------------------------------------
 */

static int
indent_of(const char *line)
{
	int			n = 0;

	while (line[n] == ' ')
		n++;
	return n;
}

/* Length of the line at p, without its newline. */
static size_t
line_len(const char *p)
{
	const char *nl = strchr(p, '\n');

	return nl ? (size_t) (nl - p) : strlen(p);
}

static const char *
next_line(const char *p)
{
	const char *nl = strchr(p, '\n');

	return nl ? nl + 1 : NULL;
}

static bool
blank_line(const char *p)
{
	size_t		n = line_len(p);

	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\r')
			return false;
	return true;
}

static void
put_utf8(char **o, unsigned long cp)
{
	unsigned char *u = (unsigned char *) *o;

	if (cp < 0x80)
		*u++ = (unsigned char) cp;
	else if (cp < 0x800)
	{
		*u++ = (unsigned char) (0xc0 | (cp >> 6));
		*u++ = (unsigned char) (0x80 | (cp & 0x3f));
	}
	else if (cp < 0x10000)
	{
		*u++ = (unsigned char) (0xe0 | (cp >> 12));
		*u++ = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
		*u++ = (unsigned char) (0x80 | (cp & 0x3f));
	}
	else
	{
		*u++ = (unsigned char) (0xf0 | (cp >> 18));
		*u++ = (unsigned char) (0x80 | ((cp >> 12) & 0x3f));
		*u++ = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
		*u++ = (unsigned char) (0x80 | (cp & 0x3f));
	}
	*o = (char *) u;
}

static unsigned long
hex_value(const char *p, int digits)
{
	char		buf[9];

	memcpy(buf, p, (size_t) digits);
	buf[digits] = '\0';
	return strtoul(buf, NULL, 16);
}

/* A YAML double-quoted scalar on one line (the cassettes' other style). */
static char *
yaml_double_quoted(const char *p)
{
	size_t		n = line_len(p);
	char	   *res = malloc(n + 1);
	char	   *o = res;
	size_t		i;

	assert_non_null(res);
	assert_true(p[0] == '"');
	for (i = 1; i < n && p[i] != '"'; i++)
	{
		if (p[i] != '\\')
		{
			*o++ = p[i];
			continue;
		}
		i++;
		assert_true(i < n);
		switch (p[i])
		{
			case 'n':
				*o++ = '\n';
				break;
			case 't':
				*o++ = '\t';
				break;
			case 'r':
				*o++ = '\r';
				break;
			case '"':
			case '\\':
			case '/':
				*o++ = p[i];
				break;
			case 'x':
				assert_true(i + 2 < n);
				put_utf8(&o, hex_value(p + i + 1, 2));
				i += 2;
				break;
			case 'u':
				assert_true(i + 4 < n);
				put_utf8(&o, hex_value(p + i + 1, 4));
				i += 4;
				break;
			case 'U':
				assert_true(i + 8 < n);
				put_utf8(&o, hex_value(p + i + 1, 8));
				i += 8;
				break;
			default:
				fail_msg("unhandled YAML escape \\%c", p[i]);
		}
	}
	/* multi-line double-quoted scalars do not occur in the cassettes */
	assert_true(i < n);
	*o = '\0';
	return res;
}

/* A YAML literal block scalar ("|", "|-", "|+") under a key at key_indent. */
static char *
yaml_block(const char *indicator, const char *first, int key_indent)
{
	char		chomp = (indicator[1] == '-' || indicator[1] == '+') ? indicator[1] : 0;
	const char *p;
	int			content_indent = -1;
	size_t		cap = strlen(first) + 1;
	char	   *res = malloc(cap);
	size_t		n = 0;

	assert_non_null(res);
	for (p = first; p != NULL && *p != '\0'; p = next_line(p))
	{
		size_t		len = line_len(p);

		if (blank_line(p))
		{
			res[n++] = '\n';
			continue;
		}
		if (content_indent < 0)
			content_indent = indent_of(p);
		if (indent_of(p) < content_indent || content_indent <= key_indent)
			break;
		memcpy(res + n, p + content_indent, len - (size_t) content_indent);
		n += len - (size_t) content_indent;
		res[n++] = '\n';
	}
	/* the blank lines before the next key are content only for "|+" */
	if (chomp != '+')
	{
		while (n > 0 && res[n - 1] == '\n')
			n--;
		if (chomp == 0)
			res[n++] = '\n';
	}
	res[n] = '\0';
	return res;
}

/*
 * The body of the "request:" or "response:" section of a cassette's first
 * interaction, decoded from whichever scalar style it uses.
 */
static char *
cassette_body(const char *yaml, const char *section)
{
	const char *p;
	int			sec_indent = -1;

	for (p = yaml; p != NULL; p = next_line(p))
	{
		int			ind = indent_of(p);
		size_t		n = line_len(p);

		if (sec_indent < 0)
		{
			if (n == (size_t) ind + strlen(section) &&
				strncmp(p + ind, section, strlen(section)) == 0)
				sec_indent = ind;
			continue;
		}
		if (!blank_line(p) && ind <= sec_indent)
			break;				/* section ended without a body */
		if (strncmp(p + ind, "body:", 5) == 0)
		{
			const char *v = p + ind + 5;

			while (*v == ' ')
				v++;
			if (*v == '|')
				return yaml_block(v, next_line(p), ind);
			if (*v == '"')
				return yaml_double_quoted(v);
			fail_msg("unhandled YAML scalar style in %s body", section);
		}
	}
	fail_msg("no %s body found", section);
	return NULL;
}

typedef struct Capture
{
	const char *file;
	const char *anthropic;		/* expected request status per target */
	const char *gemini;
	const char *response;		/* expected OpenAI normalisation status */
} Capture;

static const Capture captures[] = {
	{"azure-chat-basic.yaml", "ok", "ok", "ok"},
	{"chat-audio-to-text.yaml", "unsupported", "ok", "ok"},
	{"chat-bad-request.yaml", "bad_json", "bad_json", "bad_response"},
	{"chat-basic.yaml", "ok", "ok", "ok"},
	{"chat-detailed-usage.yaml", "unsupported", "unsupported", "ok"},
	{"chat-image-to-text.yaml", "ok", "ok", "ok"},
	{"chat-json-mode.yaml", "unsupported", "ok", "ok"},
	{"chat-multimodal.yaml", "ok", "unsupported", "ok"},
	{"chat-multiturn.yaml", "ok", "ok", "ok"},
	{"chat-no-messages.yaml", "bad_json", "bad_json", "bad_response"},
	{"chat-openai-agents-python.yaml", "ok", "ok", "ok"},
	{"chat-parallel-tools.yaml", "ok", "ok", "ok"},
	{"chat-reasoning.yaml", "ok", "ok", "ok"},
	{"chat-streaming-detailed-usage.yaml", "unsupported", "unsupported", "bad_json"},
	{"chat-streaming-web-search.yaml", "unsupported", "unsupported", "bad_json"},
	{"chat-streaming.yaml", "unsupported", "unsupported", "bad_json"},
	{"chat-text-to-audio.yaml", "unsupported", "unsupported", "ok"},
	{"chat-text-to-image-tool.yaml", "ok", "ok", "ok"},
	{"chat-tools.yaml", "ok", "ok", "ok"},
	{"chat-unknown-model.yaml", "ok", "ok", "bad_response"},
	{"chat-web-search.yaml", "unsupported", "unsupported", "ok"},
	{NULL, NULL, NULL, NULL}
};

/* Load one capture's request (parsed) and response (text). */
static json_t *
load_capture(const char *file, char **response)
{
	char		path[1024];
	char	   *yaml;
	char	   *req;
	json_t	   *j;

	snprintf(path, sizeof(path), "%s%s", CAPTURES, file);
	yaml = read_whole_file(path, NULL);
	if (yaml == NULL)
		fail_msg("cannot read %s", path);
	req = cassette_body(yaml, "request:");
	*response = cassette_body(yaml, "response:");
	j = json_loads(req, 0, NULL);
	if (j == NULL)
		fail_msg("%s: request body is not JSON", file);
	free(req);
	free(yaml);
	return j;
}

/*
 * Every capture's request goes through every target with the expected
 * status (the OpenAI one byte for byte), and every response through the
 * OpenAI normaliser.
 */
static void
test_openai_captures_all(void **state)
{
	int			failures = 0;
	int			seen = 0;

	for (const Capture *cap = captures; cap->file; cap++)
	{
		char	   *resp;
		json_t	   *req = load_capture(cap->file, &resp);
		char	   *text = json_dumps(req, JSON_COMPACT);
		AigovTranslateOptions opts = {1024, false};
		AigovTranslatedRequest out;
		AigovNormalisedResponse nr;
		AigovTranslateStatus st;

		seen++;
		st = aigov_translate_request(AIGOV_API_OPENAI, text, strlen(text),
									 NULL, &opts, &out);
		if (st != AIGOV_TRANSLATE_OK || strcmp(out.body, text) != 0)
		{
			print_error("[%s] openai pass-through failed: %s\n", cap->file, out.detail);
			failures++;
		}
		aigov_translate_request_free(&out);

		st = aigov_translate_request(AIGOV_API_ANTHROPIC, text, strlen(text),
									 NULL, &opts, &out);
		if (strcmp(aigov_translate_status_name(st), cap->anthropic) != 0)
		{
			print_error("[%s] anthropic: %s (%s), expected %s\n", cap->file,
						aigov_translate_status_name(st), out.detail, cap->anthropic);
			failures++;
		}
		aigov_translate_request_free(&out);

		st = aigov_translate_request(AIGOV_API_GEMINI, text, strlen(text),
									 NULL, &opts, &out);
		if (strcmp(aigov_translate_status_name(st), cap->gemini) != 0)
		{
			print_error("[%s] gemini: %s (%s), expected %s\n", cap->file,
						aigov_translate_status_name(st), out.detail, cap->gemini);
			failures++;
		}
		aigov_translate_request_free(&out);

		st = aigov_translate_response(AIGOV_API_OPENAI, resp, strlen(resp),
									  NULL, &nr);
		if (strcmp(aigov_translate_status_name(st), cap->response) != 0)
		{
			print_error("[%s] response: %s (%s), expected %s\n", cap->file,
						aigov_translate_status_name(st), nr.detail, cap->response);
			failures++;
		}
		else if (st == AIGOV_TRANSLATE_OK)
		{
			/* usage and finish_reason as an independent reading finds them */
			json_t	   *r = json_loads(resp, 0, NULL);
			json_t	   *u = json_object_get(r, "usage");

			if (strcmp(nr.body, resp) != 0 ||
				nr.prompt_tokens != json_integer_value(json_object_get(u, "prompt_tokens")) ||
				nr.completion_tokens != json_integer_value(json_object_get(u, "completion_tokens")) ||
				strcmp(nr.finish_reason,
					   json_string_value(path_get(r, "choices.0.finish_reason"))) != 0)
			{
				print_error("[%s] response fields differ\n", cap->file);
				failures++;
			}
			json_decref(r);
		}
		aigov_translate_response_free(&nr);
		free(text);
		free(resp);
		json_decref(req);
	}
	assert_int_equal(seen, 21);
	assert_int_equal(failures, 0);
}

/* Spot checks on what the captures translate to. */
static void
test_openai_captures_content(void **state)
{
	char	   *resp;
	json_t	   *req;
	json_t	   *a;
	json_t	   *g;
	AigovNormalisedResponse nr;

	/* chat-basic: the response's numbers, read from the YAML */
	req = load_capture("chat-basic.yaml", &resp);
	assert_int_equal(aigov_translate_response(AIGOV_API_OPENAI, resp, strlen(resp),
											  NULL, &nr), AIGOV_TRANSLATE_OK);
	assert_int_equal(nr.prompt_tokens, 8);
	assert_int_equal(nr.completion_tokens, 377);
	assert_string_equal(nr.finish_reason, "stop");
	aigov_translate_response_free(&nr);
	a = translate_tree(AIGOV_API_ANTHROPIC, req, false, AIGOV_TRANSLATE_OK);
	assert_path_str(a, "messages.0.content", "Hello!");
	assert_path_str(a, "model", "gpt-5-nano");
	json_decref(a);
	free(resp);
	json_decref(req);

	/* azure (double-quoted YAML): the body decodes with its escapes */
	req = load_capture("azure-chat-basic.yaml", &resp);
	assert_int_equal(aigov_translate_response(AIGOV_API_OPENAI, resp, strlen(resp),
											  NULL, &nr), AIGOV_TRANSLATE_OK);
	assert_int_equal(nr.prompt_tokens, 8);
	assert_int_equal(nr.completion_tokens, 271);
	assert_non_null(strstr(nr.body, "you\xe2\x80\x99re"));
	aigov_translate_response_free(&nr);
	free(resp);
	json_decref(req);

	/* chat-tools: the response's tool call, the request's tool schema */
	req = load_capture("chat-tools.yaml", &resp);
	assert_int_equal(aigov_translate_response(AIGOV_API_OPENAI, resp, strlen(resp),
											  NULL, &nr), AIGOV_TRANSLATE_OK);
	assert_string_equal(nr.finish_reason, "tool_calls");
	aigov_translate_response_free(&nr);
	a = translate_tree(AIGOV_API_ANTHROPIC, req, false, AIGOV_TRANSLATE_OK);
	g = translate_tree(AIGOV_API_GEMINI, req, false, AIGOV_TRANSLATE_OK);
	assert_json_eq(path_get(a, "tools.0.input_schema"),
				   path_get(req, "tools.0.function.parameters"), "input_schema");
	assert_path_str(a, "tool_choice.type", "auto");
	assert_json_eq(path_get(g, "tools.0.functionDeclarations.0.parametersJsonSchema"),
				   path_get(req, "tools.0.function.parameters"), "parametersJsonSchema");
	assert_path_str(g, "toolConfig.functionCallingConfig.mode", "AUTO");
	json_decref(a);
	json_decref(g);
	free(resp);
	json_decref(req);

	/* chat-openai-agents-python: structured output keeps its schema */
	req = load_capture("chat-openai-agents-python.yaml", &resp);
	a = translate_tree(AIGOV_API_ANTHROPIC, req, false, AIGOV_TRANSLATE_OK);
	g = translate_tree(AIGOV_API_GEMINI, req, false, AIGOV_TRANSLATE_OK);
	assert_path_str(a, "output_config.format.type", "json_schema");
	assert_json_eq(path_get(a, "output_config.format.schema"),
				   path_get(req, "response_format.json_schema.schema"), "schema");
	assert_json_eq(path_get(g, "generationConfig.responseJsonSchema"),
				   path_get(req, "response_format.json_schema.schema"), "schema");
	assert_path_str(g, "generationConfig.responseMimeType", "application/json");
	assert_true(json_is_string(json_object_get(a, "system")));
	json_decref(a);
	json_decref(g);
	free(resp);
	json_decref(req);

	/* chat-image-to-text: the PNG data URL becomes inline base64 */
	req = load_capture("chat-image-to-text.yaml", &resp);
	a = translate_tree(AIGOV_API_ANTHROPIC, req, false, AIGOV_TRANSLATE_OK);
	g = translate_tree(AIGOV_API_GEMINI, req, false, AIGOV_TRANSLATE_OK);
	assert_path_str(a, "messages.0.content.1.source.type", "base64");
	assert_path_str(a, "messages.0.content.1.source.media_type", "image/png");
	assert_path_str(g, "contents.0.parts.1.inlineData.mimeType", "image/png");
	assert_true(strncmp(json_string_value(path_get(g, "contents.0.parts.1.inlineData.data")),
						"iVBORw0KGgo", 11) == 0);
	json_decref(a);
	json_decref(g);
	free(resp);
	json_decref(req);

	/* chat-text-to-image-tool: a forced tool and max_completion_tokens */
	req = load_capture("chat-text-to-image-tool.yaml", &resp);
	a = translate_tree(AIGOV_API_ANTHROPIC, req, false, AIGOV_TRANSLATE_OK);
	g = translate_tree(AIGOV_API_GEMINI, req, false, AIGOV_TRANSLATE_OK);
	assert_path_str(a, "tool_choice.type", "tool");
	assert_path_str(a, "tool_choice.name", "generate_image");
	assert_int_equal(json_integer_value(json_object_get(a, "max_tokens")), 150);
	assert_path_str(g, "toolConfig.functionCallingConfig.allowedFunctionNames.0",
					"generate_image");
	json_decref(a);
	json_decref(g);
	free(resp);
	json_decref(req);

	/* chat-streaming: the SSE body is kept whole by the "|+" block */
	req = load_capture("chat-streaming.yaml", &resp);
	assert_true(strncmp(resp, "data: {", 7) == 0);
	assert_non_null(strstr(resp, "data: [DONE]\n"));
	free(resp);
	json_decref(req);

}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requests_anthropic),
		cmocka_unit_test(test_requests_gemini),
		cmocka_unit_test(test_requests_openai),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_responses_anthropic),
		cmocka_unit_test(test_responses_gemini),
		cmocka_unit_test(test_responses_openai),
		cmocka_unit_test(test_openai_passthrough_is_byte_exact),
		cmocka_unit_test(test_input_is_length_bounded),
		cmocka_unit_test(test_null_options_use_defaults),
		cmocka_unit_test(test_null_and_invalid_arguments),
		cmocka_unit_test(test_invalid_override_and_long_model),
		cmocka_unit_test(test_status_names),
		cmocka_unit_test(test_detail_overflow_is_marked),
		cmocka_unit_test(test_detail_is_sanitised),
		cmocka_unit_test(test_out_is_reinitialised),
		cmocka_unit_test(test_out_of_memory_is_reported),
		cmocka_unit_test(test_round_trip_anthropic),
		cmocka_unit_test(test_round_trip_gemini),
		cmocka_unit_test(test_openai_captures_all),
		cmocka_unit_test(test_openai_captures_content),
	};

	return cmocka_run_group_tests_name("translate", tests, NULL, NULL);
}
