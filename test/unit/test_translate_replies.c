/*-------------------------------------------------------------------------
 * test_translate_replies.c
 *	  cmocka tests of reply normalisation (src/translate*.c) on the
 *	  provider reply fixtures of test/fixtures/protocols/, which restate
 *	  the documented Anthropic and Gemini reply shapes.
 *
 * Each fixture goes through aigov_translate_response() and the result is
 * checked against an independent reading of the same fixture: the text
 * and tool calls read from the reply with jansson, and the token counts
 * as the protocol layer's own usage parser (src/protocol*.c) finds them.
 *
 * IDENTIFICATION
 *	  test/unit/test_translate_replies.c
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

#include "protocol.h"
#include "translate.h"

#define PROTOCOLS AIGOV_TEST_DIR "/fixtures/protocols/"

typedef struct Reply
{
	char	   *text;			/* the fixture as read */
	json_t	   *in;				/* the fixture, parsed */
	json_t	   *out;			/* the normalised chat.completion */
	AigovNormalisedResponse nr;
	AigovUsage	usage;			/* the protocol layer's reading */
} Reply;

/* Read, normalise and parse one fixture. */
static void
load_reply(AigovApiStyle style, const char *file, Reply *r)
{
	char		path[1024];
	json_error_t err;

	snprintf(path, sizeof(path), "%s%s", PROTOCOLS, file);
	r->in = json_load_file(path, 0, &err);
	if (r->in == NULL)
		fail_msg("%s: %s", file, err.text);
	r->text = json_dumps(r->in, JSON_COMPACT);
	assert_non_null(r->text);
	assert_int_equal(aigov_translate_response(style, r->text, strlen(r->text),
											  "fallback-model", &r->nr),
					 AIGOV_TRANSLATE_OK);
	r->out = json_loads(r->nr.body, 0, &err);
	if (r->out == NULL)
		fail_msg("%s: normalised reply is not JSON: %s", file, err.text);
	memset(&r->usage, 0, sizeof(r->usage));
	(void) aigov_protocol_parse_usage(style, r->text, strlen(r->text),
									  &r->usage);
}

static void
free_reply(Reply *r)
{
	aigov_translate_response_free(&r->nr);
	json_decref(r->in);
	json_decref(r->out);
	free(r->text);
}

static json_t *
message_of(const Reply *r, size_t choice)
{
	return json_object_get(json_array_get(json_object_get(r->out, "choices"),
										  choice), "message");
}

/* The normalised usage agrees with the protocol layer's and the fields. */
static void
check_usage(const Reply *r)
{
	json_t	   *u = json_object_get(r->out, "usage");

	assert_true(r->usage.present);
	assert_int_equal(r->nr.prompt_tokens, r->usage.prompt_tokens);
	assert_int_equal(r->nr.completion_tokens, r->usage.completion_tokens);
	assert_int_equal(json_integer_value(json_object_get(u, "prompt_tokens")),
					 r->usage.prompt_tokens);
	assert_int_equal(json_integer_value(json_object_get(u, "completion_tokens")),
					 r->usage.completion_tokens);
	assert_int_equal(json_integer_value(json_object_get(u, "total_tokens")),
					 r->usage.prompt_tokens + r->usage.completion_tokens);
}

/*
 * An OpenAI tool call matches a provider call: same name, and arguments
 * (a JSON string) that parse to the provider's argument object.
 */
static void
check_call(const json_t *call, const char *name, const json_t *args)
{
	json_t	   *fn = json_object_get(call, "function");
	const char *text = json_string_value(json_object_get(fn, "arguments"));
	json_t	   *parsed;

	assert_string_equal(json_string_value(json_object_get(call, "type")),
						"function");
	assert_string_equal(json_string_value(json_object_get(fn, "name")), name);
	assert_non_null(text);
	parsed = json_loads(text, 0, NULL);
	assert_non_null(parsed);
	assert_true(json_equal(parsed, args));
	json_decref(parsed);
}

/* Anthropic: text and a tool_use block become content and tool_calls. */
static void
test_anthropic_tool_use_reply(void **state)
{
	Reply		r;
	json_t	   *content;
	json_t	   *msg;
	json_t	   *calls;
	size_t		i;
	json_t	   *blk;
	size_t		ncalls = 0;

	(void) state;
	load_reply(AIGOV_API_ANTHROPIC, "anthropic-200.json", &r);
	content = json_object_get(r.in, "content");
	msg = message_of(&r, 0);
	calls = json_object_get(msg, "tool_calls");

	assert_string_equal(json_string_value(json_object_get(msg, "role")),
						"assistant");
	assert_string_equal(r.nr.finish_reason, "tool_calls");
	assert_string_equal(json_string_value(json_object_get(r.out, "id")),
						json_string_value(json_object_get(r.in, "id")));
	assert_string_equal(json_string_value(json_object_get(r.out, "model")),
						json_string_value(json_object_get(r.in, "model")));
	json_array_foreach(content, i, blk)
	{
		const char *type = json_string_value(json_object_get(blk, "type"));

		if (strcmp(type, "text") == 0)
			assert_string_equal(json_string_value(json_object_get(msg, "content")),
								json_string_value(json_object_get(blk, "text")));
		else if (strcmp(type, "tool_use") == 0)
		{
			json_t	   *call = json_array_get(calls, ncalls++);

			assert_string_equal(json_string_value(json_object_get(call, "id")),
								json_string_value(json_object_get(blk, "id")));
			check_call(call, json_string_value(json_object_get(blk, "name")),
					   json_object_get(blk, "input"));
		}
	}
	assert_true(ncalls > 0);
	assert_int_equal(json_array_size(calls), ncalls);
	check_usage(&r);
	free_reply(&r);
}

/* Gemini: a plain text reply, thinking tokens counted as output. */
static void
test_gemini_text_reply(void **state)
{
	Reply		r;
	json_t	   *parts;

	(void) state;
	load_reply(AIGOV_API_GEMINI, "gemini-200.json", &r);
	parts = json_object_get(json_object_get(json_array_get(json_object_get(r.in, "candidates"), 0),
											"content"), "parts");
	assert_string_equal(json_string_value(json_object_get(message_of(&r, 0), "content")),
						json_string_value(json_object_get(json_array_get(parts, 0), "text")));
	assert_null(json_object_get(message_of(&r, 0), "tool_calls"));
	assert_string_equal(r.nr.finish_reason, "stop");
	assert_string_equal(json_string_value(json_object_get(r.out, "id")),
						json_string_value(json_object_get(r.in, "responseId")));
	check_usage(&r);
	free_reply(&r);
}

/*
 * Gemini: function calls without ids become tool_calls with made-up ids,
 * in order, and STOP after calls reads as tool_calls.
 */
static void
test_gemini_function_call_reply(void **state)
{
	Reply		r;
	json_t	   *parts;
	json_t	   *calls;
	size_t		i;
	json_t	   *part;
	size_t		ncalls = 0;

	(void) state;
	load_reply(AIGOV_API_GEMINI, "gemini-200-function-call.json", &r);
	parts = json_object_get(json_object_get(json_array_get(json_object_get(r.in, "candidates"), 0),
											"content"), "parts");
	calls = json_object_get(message_of(&r, 0), "tool_calls");
	json_array_foreach(parts, i, part)
	{
		json_t	   *fc = json_object_get(part, "functionCall");
		char		id[32];

		if (fc == NULL)
			continue;
		snprintf(id, sizeof(id), "call_%zu", ncalls);
		assert_string_equal(json_string_value(json_object_get(json_array_get(calls, ncalls), "id")),
							id);
		check_call(json_array_get(calls, ncalls),
				   json_string_value(json_object_get(fc, "name")),
				   json_object_get(fc, "args"));
		ncalls++;
	}
	assert_true(ncalls > 1);
	assert_int_equal(json_array_size(calls), ncalls);
	assert_string_equal(json_string_value(json_object_get(message_of(&r, 0), "content")),
						json_string_value(json_object_get(json_array_get(parts, 0), "text")));
	assert_string_equal(r.nr.finish_reason, "tool_calls");
	check_usage(&r);
	free_reply(&r);
}

/* Gemini: a prompt blocked before any candidate is a content filter. */
static void
test_gemini_blocked_reply(void **state)
{
	Reply		r;

	(void) state;
	load_reply(AIGOV_API_GEMINI, "gemini-200-blocked.json", &r);
	assert_int_equal(json_array_size(json_object_get(r.out, "choices")), 1);
	assert_string_equal(r.nr.finish_reason, "content_filter");
	assert_non_null(strstr(r.nr.detail, "blockReason:"));
	assert_non_null(strstr(r.nr.detail,
						   json_string_value(json_object_get(json_object_get(r.in, "promptFeedback"),
															 "blockReason"))));
	free_reply(&r);
}

/* Error envelopes of every dialect are failures, never a completion. */
static void
test_error_replies(void **state)
{
	static const struct
	{
		AigovApiStyle style;
		const char *file;
	}			cases[] = {
		{AIGOV_API_OPENAI, "openai-400-context.json"},
		{AIGOV_API_ANTHROPIC, "anthropic-400-prompt-too-long.json"},
		{AIGOV_API_ANTHROPIC, "anthropic-400-context-limit.json"},
		{AIGOV_API_GEMINI, "gemini-400-context.json"},
	};

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		char		path[1024];
		json_t	   *in;
		char	   *text;
		AigovNormalisedResponse nr;

		snprintf(path, sizeof(path), "%s%s", PROTOCOLS, cases[i].file);
		in = json_load_file(path, 0, NULL);
		assert_non_null(in);
		text = json_dumps(in, JSON_COMPACT);
		assert_int_equal(aigov_translate_response(cases[i].style, text,
												  strlen(text), NULL, &nr),
						 AIGOV_TRANSLATE_BAD_RESPONSE);
		assert_null(nr.body);
		assert_non_null(strstr(nr.detail, "provider error"));
		free(text);
		json_decref(in);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_anthropic_tool_use_reply),
		cmocka_unit_test(test_gemini_text_reply),
		cmocka_unit_test(test_gemini_function_call_reply),
		cmocka_unit_test(test_gemini_blocked_reply),
		cmocka_unit_test(test_error_replies),
	};

	return cmocka_run_group_tests_name("translate_replies", tests, NULL, NULL);
}
