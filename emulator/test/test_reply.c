/*-------------------------------------------------------------------------
 * test_reply.c
 *	  Unit tests of request parsing, reply, error and 429 bodies (reply.c)
 *	  and of the schema instances they embed (schema.c).
 *
 * Every body is parsed back with jansson and checked field by field.
 *
 * IDENTIFICATION
 *	  emulator/test/test_reply.c
 *-------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "reply.h"
#include "schema.h"

#define SEC(x)	((int64_t) (x) * 1000000)

/* Parse a request that must be valid. */
static void
parse_ok(EmuProvider p, const char *body, const char *model, EmuRequest *r)
{
	char		err[256];
	EmuParseStatus st = emu_request_parse(p, body, strlen(body), model, r,
										  err, sizeof(err));

	if (st != EMU_PARSE_OK)
		fail_msg("parse failed: %s", err);
}

/* Build the reply of a valid request and return it parsed. */
static json_t *
reply_json(EmuProvider p, const char *body, const char *model,
		   bool nonconforming, EmuUsage *u)
{
	EmuRequest	r;
	EmuReplyOpts o = {nonconforming, 17, 1755133833, false};
	EmuBuf		b;
	json_t	   *j;
	json_error_t e;

	parse_ok(p, body, model, &r);
	emu_buf_init(&b);
	assert_true(emu_reply_build(p, &r, &o, &b, u));
	j = json_loadb(b.data, b.len, JSON_REJECT_DUPLICATES, &e);
	if (j == NULL)
		fail_msg("reply is not JSON: %s: %s", e.text, b.data);
	emu_buf_free(&b);
	emu_request_free(&r);
	return j;
}

static const char *
sval(json_t *j, const char *path)
{
	/* dotted path with numeric array indexes */
	char		buf[256];
	char	   *save;
	char	   *tok;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok && j; tok = strtok_r(NULL, ".", &save))
		j = (tok[0] >= '0' && tok[0] <= '9') ? json_array_get(j, (size_t) atoi(tok)) :
			json_object_get(j, tok);
	return json_string_value(j);
}

static json_int_t
ival(json_t *j, const char *path)
{
	char		buf[256];
	char	   *save;
	char	   *tok;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok && j; tok = strtok_r(NULL, ".", &save))
		j = (tok[0] >= '0' && tok[0] <= '9') ? json_array_get(j, (size_t) atoi(tok)) :
			json_object_get(j, tok);
	if (!json_is_integer(j))
		fail_msg("%s is not an integer", path);
	return json_integer_value(j);
}

static const char *WEATHER_SCHEMA =
"{\"type\":\"object\",\"properties\":{"
"\"city\":{\"type\":\"string\"},"
"\"days\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":7},"
"\"unit\":{\"type\":\"string\",\"enum\":[\"celsius\",\"fahrenheit\"]},"
"\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"minItems\":2}},"
"\"required\":[\"city\",\"days\",\"unit\",\"tags\"],\"additionalProperties\":false}";

/* Check an instance of WEATHER_SCHEMA. */
static void
assert_weather(json_t *v, const char *text)
{
	assert_true(json_is_object(v));
	assert_int_equal(json_object_size(v), 4);
	assert_string_equal(json_string_value(json_object_get(v, "city")), text);
	assert_int_equal(json_integer_value(json_object_get(v, "days")), 1);
	assert_string_equal(json_string_value(json_object_get(v, "unit")), "celsius");
	assert_int_equal(json_array_size(json_object_get(v, "tags")), 2);
}

static void
test_openai_text_reply(void **state)
{
	EmuUsage	u;
	json_t	   *j;

	(void) state;
	j = reply_json(EMU_PROVIDER_OPENAI,
				   "{\"model\":\"gpt-5-nano\",\"messages\":["
				   "{\"role\":\"system\",\"content\":\"be brief\"},"
				   "{\"role\":\"user\",\"content\":\"first\"},"
				   "{\"role\":\"assistant\",\"content\":\"ok\"},"
				   "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"job 17\"}]}]}",
				   NULL, false, &u);
	assert_string_equal(sval(j, "object"), "chat.completion");
	assert_string_equal(sval(j, "model"), "gpt-5-nano");
	assert_int_equal(ival(j, "created"), 1755133833);
	assert_string_equal(sval(j, "choices.0.message.role"), "assistant");
	assert_string_equal(sval(j, "choices.0.message.content"), "echo: job 17");
	assert_string_equal(sval(j, "choices.0.finish_reason"), "stop");
	assert_true(strncmp(sval(j, "id"), "chatcmpl-", 9) == 0);
	/* chars: 8+5+2+6 = 21 -> 6 tokens, + 2 per message * 4 */
	assert_int_equal(ival(j, "usage.prompt_tokens"), 14);
	assert_int_equal(u.prompt_tokens, 14);
	/* "echo: job 17" is 12 bytes -> 3 tokens */
	assert_int_equal(ival(j, "usage.completion_tokens"), 3);
	assert_int_equal(ival(j, "usage.total_tokens"), 17);
	assert_int_equal(ival(j, "usage.prompt_tokens_details.cached_tokens"), 0);
	assert_int_equal(u.completion_tokens, 3);
	json_decref(j);
}

/* The capture's "Hello!" charges 4 tokens (200000 -> 199996). */
static void
test_estimate_and_charge(void **state)
{
	EmuRequest	r;

	(void) state;
	parse_ok(EMU_PROVIDER_OPENAI, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello!\"}]}",
			 NULL, &r);
	assert_int_equal(r.prompt_tokens, 4);
	assert_int_equal(r.max_tokens, -1);
	assert_int_equal(emu_request_charge(EMU_PROVIDER_OPENAI, &r, EMU_CHARGE_SUM), 4);
	emu_request_free(&r);

	parse_ok(EMU_PROVIDER_OPENAI, "{\"model\":\"m\",\"max_completion_tokens\":100,"
			 "\"messages\":[{\"role\":\"user\",\"content\":\"Hello!\"}]}", NULL, &r);
	assert_int_equal(r.max_tokens, 100);
	assert_int_equal(emu_request_charge(EMU_PROVIDER_OPENAI, &r, EMU_CHARGE_SUM), 104);
	assert_int_equal(emu_request_charge(EMU_PROVIDER_OPENAI, &r, EMU_CHARGE_MAX), 100);
	emu_request_free(&r);

	/* Anthropic charges the input only */
	parse_ok(EMU_PROVIDER_ANTHROPIC, "{\"model\":\"c\",\"max_tokens\":1000,\"system\":\"abcd\","
			 "\"messages\":[{\"role\":\"user\",\"content\":\"Hello!\"}]}", NULL, &r);
	assert_int_equal(r.prompt_tokens, 3 + 4);
	assert_int_equal(emu_request_charge(EMU_PROVIDER_ANTHROPIC, &r, EMU_CHARGE_SUM), 7);
	emu_request_free(&r);

	/* Gemini: prompt + maxOutputTokens */
	parse_ok(EMU_PROVIDER_GEMINI, "{\"contents\":[{\"parts\":[{\"text\":\"Hello!\"}]}],"
			 "\"generationConfig\":{\"maxOutputTokens\":50}}", "gemini-2.5-flash", &r);
	assert_int_equal(r.prompt_tokens, 4);
	assert_int_equal(emu_request_charge(EMU_PROVIDER_GEMINI, &r, EMU_CHARGE_SUM), 54);
	assert_string_equal(r.model, "gemini-2.5-flash");
	emu_request_free(&r);
}

/* The echo is cut at 200 bytes on a character boundary. */
static void
test_echo_truncation(void **state)
{
	EmuRequest	r;
	char		body[1024];
	char		text[400];

	(void) state;
	/* 199 x 'a' then a 2-byte character: cutting at 200 would split it */
	memset(text, 'a', 199);
	strcpy(text + 199, "\xc3\xa9tail");
	snprintf(body, sizeof(body), "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}]}", text);
	parse_ok(EMU_PROVIDER_OPENAI, body, NULL, &r);
	assert_int_equal(strlen(r.echo), 199);
	emu_request_free(&r);
	memset(text, 'b', 300);
	text[300] = '\0';
	snprintf(body, sizeof(body), "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}]}", text);
	parse_ok(EMU_PROVIDER_OPENAI, body, NULL, &r);
	assert_int_equal(strlen(r.echo), EMU_ECHO_MAX);
	emu_request_free(&r);
	assert_int_equal(emu_utf8_cut("ab\xc3\xa9", 4, 3), 2);
	assert_int_equal(emu_utf8_cut("abc", 3, 10), 3);
}

/* A small output cap cuts the text: finish_reason length. */
static void
test_max_tokens_cap(void **state)
{
	EmuUsage	u;
	json_t	   *j;

	(void) state;
	j = reply_json(EMU_PROVIDER_OPENAI, "{\"model\":\"m\",\"max_tokens\":2,"
				   "\"messages\":[{\"role\":\"user\",\"content\":\"a long question\"}]}",
				   NULL, false, &u);
	assert_string_equal(sval(j, "choices.0.message.content"), "echo: a ");
	assert_string_equal(sval(j, "choices.0.finish_reason"), "length");
	assert_int_equal(u.completion_tokens, 2);
	json_decref(j);
	j = reply_json(EMU_PROVIDER_ANTHROPIC, "{\"model\":\"c\",\"max_tokens\":1,"
				   "\"messages\":[{\"role\":\"user\",\"content\":\"xyz\"}]}",
				   NULL, false, &u);
	assert_string_equal(sval(j, "stop_reason"), "max_tokens");
	assert_int_equal(ival(j, "usage.output_tokens"), 1);
	json_decref(j);
	j = reply_json(EMU_PROVIDER_GEMINI, "{\"contents\":[{\"parts\":[{\"text\":\"xyz\"}]}],"
				   "\"generationConfig\":{\"maxOutputTokens\":1}}", "g", false, &u);
	assert_string_equal(sval(j, "candidates.0.finishReason"), "MAX_TOKENS");
	json_decref(j);
}

static void
test_openai_structured_and_tools(void **state)
{
	EmuUsage	u;
	json_t	   *j;
	json_t	   *inner;
	char		body[2048];

	(void) state;
	snprintf(body, sizeof(body), "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"job 5\"}],"
			 "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"w\","
			 "\"strict\":true,\"schema\":%s}}}", WEATHER_SCHEMA);
	j = reply_json(EMU_PROVIDER_OPENAI, body, NULL, false, &u);
	inner = json_loads(sval(j, "choices.0.message.content"), 0, NULL);
	assert_weather(inner, "echo: job 5");
	json_decref(inner);
	json_decref(j);

	/* the per-key switch: valid JSON that violates the schema */
	j = reply_json(EMU_PROVIDER_OPENAI, body, NULL, true, &u);
	inner = json_loads(sval(j, "choices.0.message.content"), 0, NULL);
	assert_non_null(inner);
	assert_non_null(json_object_get(inner, "unexpected_field"));
	assert_true(json_is_integer(json_object_get(inner, "city")));
	assert_null(json_object_get(inner, "days"));
	json_decref(inner);
	json_decref(j);

	/* the other switch: the content is plain text, not JSON */
	{
		EmuRequest	r;
		EmuReplyOpts o = {false, 18, 1755133833, true};
		EmuBuf		b;

		parse_ok(EMU_PROVIDER_OPENAI, body, NULL, &r);
		emu_buf_init(&b);
		assert_true(emu_reply_build(EMU_PROVIDER_OPENAI, &r, &o, &b, &u));
		j = json_loadb(b.data, b.len, JSON_REJECT_DUPLICATES, NULL);
		assert_non_null(j);
		assert_string_equal(sval(j, "choices.0.message.content"), "echo: job 5");
		assert_null(json_loads(sval(j, "choices.0.message.content"), 0, NULL));
		json_decref(j);
		emu_buf_free(&b);
		emu_request_free(&r);
	}

	/* json_object mode */
	j = reply_json(EMU_PROVIDER_OPENAI, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"q\"}],"
				   "\"response_format\":{\"type\":\"json_object\"}}", NULL, false, &u);
	inner = json_loads(sval(j, "choices.0.message.content"), 0, NULL);
	assert_string_equal(json_string_value(json_object_get(inner, "echo")), "echo: q");
	json_decref(inner);
	json_decref(j);

	/* tools: a call of the forced tool, arguments a JSON string */
	snprintf(body, sizeof(body), "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"job 6\"}],"
			 "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"other\",\"parameters\":{}}},"
			 "{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":%s}}],"
			 "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}}}",
			 WEATHER_SCHEMA);
	j = reply_json(EMU_PROVIDER_OPENAI, body, NULL, false, &u);
	assert_string_equal(sval(j, "choices.0.finish_reason"), "tool_calls");
	assert_true(json_is_null(json_object_get(json_object_get(json_array_get(json_object_get(j, "choices"), 0), "message"), "content")));
	assert_string_equal(sval(j, "choices.0.message.tool_calls.0.type"), "function");
	assert_string_equal(sval(j, "choices.0.message.tool_calls.0.function.name"), "get_weather");
	assert_true(strncmp(sval(j, "choices.0.message.tool_calls.0.id"), "call_", 5) == 0);
	inner = json_loads(sval(j, "choices.0.message.tool_calls.0.function.arguments"), 0, NULL);
	assert_weather(inner, "echo: job 6");
	json_decref(inner);
	json_decref(j);
}

/* After a tool result the model answers in text unless forced. */
static void
test_tool_result_turn(void **state)
{
	EmuUsage	u;
	json_t	   *j;

	(void) state;
	j = reply_json(EMU_PROVIDER_OPENAI, "{\"model\":\"m\",\"tools\":[{\"type\":\"function\","
				   "\"function\":{\"name\":\"f\"}}],\"messages\":["
				   "{\"role\":\"user\",\"content\":\"job 9\"},"
				   "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\","
				   "\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
				   "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"sunny\"}]}",
				   NULL, false, &u);
	assert_string_equal(sval(j, "choices.0.message.content"), "echo: job 9");
	assert_string_equal(sval(j, "choices.0.finish_reason"), "stop");
	json_decref(j);
	j = reply_json(EMU_PROVIDER_ANTHROPIC, "{\"model\":\"c\",\"max_tokens\":50,"
				   "\"tools\":[{\"name\":\"f\",\"input_schema\":{\"type\":\"object\"}}],\"messages\":["
				   "{\"role\":\"user\",\"content\":\"job 9\"},"
				   "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{}}]},"
				   "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t\",\"content\":\"sunny\"}]}]}",
				   NULL, false, &u);
	assert_string_equal(sval(j, "content.0.type"), "text");
	assert_string_equal(sval(j, "content.0.text"), "echo: job 9");
	json_decref(j);
	/* tool_choice none: text */
	j = reply_json(EMU_PROVIDER_OPENAI, "{\"model\":\"m\",\"tool_choice\":\"none\",\"tools\":[{\"type\":\"function\","
				   "\"function\":{\"name\":\"f\"}}],\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
				   NULL, false, &u);
	assert_string_equal(sval(j, "choices.0.message.content"), "echo: x");
	json_decref(j);
}

static void
test_anthropic_replies(void **state)
{
	EmuUsage	u;
	json_t	   *j;
	char		body[2048];

	(void) state;
	j = reply_json(EMU_PROVIDER_ANTHROPIC, "{\"model\":\"claude-x\",\"max_tokens\":100,"
				   "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"job 17\"}]}]}",
				   NULL, false, &u);
	assert_string_equal(sval(j, "type"), "message");
	assert_string_equal(sval(j, "role"), "assistant");
	assert_string_equal(sval(j, "model"), "claude-x");
	assert_true(strncmp(sval(j, "id"), "msg_", 4) == 0);
	assert_string_equal(sval(j, "content.0.type"), "text");
	assert_string_equal(sval(j, "content.0.text"), "echo: job 17");
	assert_string_equal(sval(j, "stop_reason"), "end_turn");
	assert_true(json_is_null(json_object_get(j, "stop_sequence")));
	assert_int_equal(ival(j, "usage.input_tokens"), 4);
	assert_int_equal(ival(j, "usage.output_tokens"), 3);
	assert_int_equal(ival(j, "usage.cache_read_input_tokens"), 0);
	json_decref(j);

	/* structured output (GA output_config.format) */
	snprintf(body, sizeof(body), "{\"model\":\"c\",\"max_tokens\":500,\"messages\":[{\"role\":\"user\","
			 "\"content\":\"job 3\"}],\"output_config\":{\"format\":{\"type\":\"json_schema\",\"schema\":%s}}}",
			 WEATHER_SCHEMA);
	j = reply_json(EMU_PROVIDER_ANTHROPIC, body, NULL, false, &u);
	{
		json_t	   *inner = json_loads(sval(j, "content.0.text"), 0, NULL);

		assert_weather(inner, "echo: job 3");
		json_decref(inner);
	}
	json_decref(j);

	/* tools: tool_use block with an object input */
	snprintf(body, sizeof(body), "{\"model\":\"c\",\"max_tokens\":500,\"messages\":[{\"role\":\"user\","
			 "\"content\":\"job 4\"}],\"tools\":[{\"name\":\"get_weather\",\"input_schema\":%s}]}",
			 WEATHER_SCHEMA);
	j = reply_json(EMU_PROVIDER_ANTHROPIC, body, NULL, false, &u);
	assert_string_equal(sval(j, "stop_reason"), "tool_use");
	assert_string_equal(sval(j, "content.0.type"), "tool_use");
	assert_string_equal(sval(j, "content.0.name"), "get_weather");
	assert_true(strncmp(sval(j, "content.0.id"), "toolu_", 6) == 0);
	assert_weather(json_object_get(json_array_get(json_object_get(j, "content"), 0), "input"),
				   "echo: job 4");
	json_decref(j);
}

static void
test_gemini_replies(void **state)
{
	EmuUsage	u;
	json_t	   *j;
	json_t	   *inner;
	char		body[2048];

	(void) state;
	j = reply_json(EMU_PROVIDER_GEMINI, "{\"systemInstruction\":{\"parts\":[{\"text\":\"sys\"}]},"
				   "\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"job 17\"}]}]}",
				   "gemini-2.5-flash", false, &u);
	assert_string_equal(sval(j, "candidates.0.content.role"), "model");
	assert_string_equal(sval(j, "candidates.0.content.parts.0.text"), "echo: job 17");
	assert_string_equal(sval(j, "candidates.0.finishReason"), "STOP");
	assert_string_equal(sval(j, "modelVersion"), "gemini-2.5-flash");
	assert_int_equal(ival(j, "usageMetadata.promptTokenCount"), 1 + 2 + 2 + 2);
	assert_int_equal(ival(j, "usageMetadata.candidatesTokenCount"), 3);
	assert_int_equal(ival(j, "usageMetadata.totalTokenCount"), 10);
	json_decref(j);

	/* OpenAPI-subset schema with upper-case types */
	j = reply_json(EMU_PROVIDER_GEMINI, "{\"contents\":[{\"parts\":[{\"text\":\"job 8\"}]}],"
				   "\"generationConfig\":{\"responseMimeType\":\"application/json\","
				   "\"responseSchema\":{\"type\":\"OBJECT\",\"properties\":{\"answer\":{\"type\":\"STRING\"},"
				   "\"score\":{\"type\":\"NUMBER\"}},\"required\":[\"answer\",\"score\"]}}}",
				   "g", false, &u);
	inner = json_loads(sval(j, "candidates.0.content.parts.0.text"), 0, NULL);
	assert_string_equal(json_string_value(json_object_get(inner, "answer")), "echo: job 8");
	assert_true(json_is_number(json_object_get(inner, "score")));
	json_decref(inner);
	json_decref(j);

	/* function call with object args */
	snprintf(body, sizeof(body), "{\"contents\":[{\"parts\":[{\"text\":\"job 2\"}]}],"
			 "\"tools\":[{\"functionDeclarations\":[{\"name\":\"get_weather\",\"parametersJsonSchema\":%s}]}]}",
			 WEATHER_SCHEMA);
	j = reply_json(EMU_PROVIDER_GEMINI, body, "g", false, &u);
	assert_string_equal(sval(j, "candidates.0.content.parts.0.functionCall.name"), "get_weather");
	assert_weather(json_object_get(json_object_get(json_array_get(json_object_get(json_object_get(
																								  json_array_get(json_object_get(j, "candidates"), 0), "content"), "parts"), 0), "functionCall"), "args"),
				   "echo: job 2");
	json_decref(j);
}

static void
check_invalid(EmuProvider p, const char *body, EmuParseStatus want,
			  const char *msg_part)
{
	EmuRequest	r;
	char		err[256];

	assert_int_equal(emu_request_parse(p, body, strlen(body), "g", &r, err, sizeof(err)), want);
	if (msg_part != NULL && strstr(err, msg_part) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, msg_part);
}

static void
test_invalid_requests(void **state)
{
	(void) state;
	check_invalid(EMU_PROVIDER_OPENAI, "{not json", EMU_PARSE_BAD_JSON, NULL);
	check_invalid(EMU_PROVIDER_OPENAI, "[1,2]", EMU_PARSE_BAD_JSON, NULL);
	check_invalid(EMU_PROVIDER_OPENAI, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
				  EMU_PARSE_INVALID, "model");
	check_invalid(EMU_PROVIDER_OPENAI, "{\"model\":\"m\",\"messages\":[]}",
				  EMU_PARSE_INVALID, "messages");
	check_invalid(EMU_PROVIDER_OPENAI, "{\"model\":\"m\",\"max_tokens\":0,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
				  EMU_PARSE_INVALID, "max_tokens");
	check_invalid(EMU_PROVIDER_OPENAI, "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
				  EMU_PARSE_INVALID, "stream");
	check_invalid(EMU_PROVIDER_ANTHROPIC, "{\"model\":\"c\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
				  EMU_PARSE_INVALID, "max_tokens: Field required");
	check_invalid(EMU_PROVIDER_ANTHROPIC, "{\"model\":\"c\",\"max_tokens\":5,\"messages\":[{\"role\":\"system\",\"content\":\"x\"}]}",
				  EMU_PARSE_INVALID, "roles");
	check_invalid(EMU_PROVIDER_GEMINI, "{\"contents\":[]}", EMU_PARSE_INVALID, "contents");
	check_invalid(EMU_PROVIDER_GEMINI, "{\"model\":1,\"model\":2}", EMU_PARSE_BAD_JSON, NULL);
}

/* Build an error body, check status and parse it. */
static json_t *
error_json(EmuProvider p, EmuErrKind k, int status, const char *detail, int want)
{
	EmuBuf		b;
	bool		html;
	json_t	   *j;

	emu_buf_init(&b);
	assert_int_equal(emu_error_body(p, k, status, detail, "req_1", &b, &html), want);
	assert_false(html);
	j = json_loadb(b.data, b.len, 0, NULL);
	if (j == NULL)
		fail_msg("not JSON: %s", b.data);
	emu_buf_free(&b);
	return j;
}

/* Over the context window: each provider's rule and its refusal text. */
static void
test_context_window(void **state)
{
	char		msg[512];
	json_t	   *j;

	(void) state;
	assert_false(emu_context_exceeded(EMU_PROVIDER_OPENAI, 900, 100, 1000,
									  msg, sizeof(msg)));
	assert_true(emu_context_exceeded(EMU_PROVIDER_OPENAI, 901, 100, 1000,
									 msg, sizeof(msg)));
	assert_non_null(strstr(msg, "maximum context length is 1000 tokens"));
	assert_non_null(strstr(msg, "901 in the messages, 100 in the completion"));
	assert_true(emu_context_exceeded(EMU_PROVIDER_AZURE, 1001, -1, 1000,
									 msg, sizeof(msg)));
	/* Anthropic: the prompt alone, or prompt plus max_tokens */
	assert_true(emu_context_exceeded(EMU_PROVIDER_ANTHROPIC, 1001, 10, 1000,
									 msg, sizeof(msg)));
	assert_string_equal(msg, "prompt is too long: 1001 tokens > 1000 maximum");
	assert_true(emu_context_exceeded(EMU_PROVIDER_ANTHROPIC, 999, 10, 1000,
									 msg, sizeof(msg)));
	assert_non_null(strstr(msg, "exceed context limit: 999 + 10 > 1000"));
	/* Gemini counts the input only */
	assert_false(emu_context_exceeded(EMU_PROVIDER_GEMINI, 1000, 500, 1000,
									  msg, sizeof(msg)));
	assert_true(emu_context_exceeded(EMU_PROVIDER_GEMINI, 1001, 0, 1000,
									 msg, sizeof(msg)));
	assert_string_equal(msg, "The input token count (1001) exceeds the maximum "
						"number of tokens allowed (1000).");
	/* no window configured */
	assert_false(emu_context_exceeded(EMU_PROVIDER_OPENAI, INT64_MAX / 2, 5,
									  -1, msg, sizeof(msg)));

	/* the error bodies, in each provider's shape */
	j = error_json(EMU_PROVIDER_OPENAI, EMU_ERR_CONTEXT, 0, "too long", 400);
	assert_string_equal(sval(j, "error.code"), "context_length_exceeded");
	assert_string_equal(sval(j, "error.message"), "too long");
	json_decref(j);
	j = error_json(EMU_PROVIDER_AZURE, EMU_ERR_CONTEXT, 0, "too long", 400);
	assert_string_equal(sval(j, "error.code"), "context_length_exceeded");
	json_decref(j);
	j = error_json(EMU_PROVIDER_ANTHROPIC, EMU_ERR_CONTEXT, 0, "too long", 400);
	assert_string_equal(sval(j, "error.type"), "invalid_request_error");
	assert_string_equal(sval(j, "error.message"), "too long");
	json_decref(j);
	j = error_json(EMU_PROVIDER_GEMINI, EMU_ERR_CONTEXT, 0, "too long", 400);
	assert_string_equal(sval(j, "error.status"), "INVALID_ARGUMENT");
	json_decref(j);
}

static void
test_error_bodies(void **state)
{
	json_t	   *j;
	EmuBuf		b;
	bool		html;

	(void) state;
	j = error_json(EMU_PROVIDER_OPENAI, EMU_ERR_BAD_KEY, 0, "sk-test-secret-1234", 401);
	assert_string_equal(sval(j, "error.code"), "invalid_api_key");
	assert_string_equal(sval(j, "error.type"), "invalid_request_error");
	/* the secret is masked */
	assert_null(strstr(sval(j, "error.message"), "secret"));
	assert_non_null(strstr(sval(j, "error.message"), "sk-****1234"));
	json_decref(j);
	j = error_json(EMU_PROVIDER_OPENAI, EMU_ERR_MODEL, 0, "gpt-x", 404);
	assert_string_equal(sval(j, "error.code"), "model_not_found");
	json_decref(j);
	j = error_json(EMU_PROVIDER_OPENAI, EMU_ERR_SERVER, 503, NULL, 503);
	assert_string_equal(sval(j, "error.type"), "service_unavailable_error");
	json_decref(j);
	j = error_json(EMU_PROVIDER_OPENAI, EMU_ERR_SERVER, 500, NULL, 500);
	assert_string_equal(sval(j, "error.type"), "server_error");
	json_decref(j);

	j = error_json(EMU_PROVIDER_ANTHROPIC, EMU_ERR_SERVER, 529, NULL, 529);
	assert_string_equal(sval(j, "type"), "error");
	assert_string_equal(sval(j, "error.type"), "overloaded_error");
	assert_string_equal(sval(j, "error.message"), "Overloaded");
	assert_string_equal(sval(j, "request_id"), "req_1");
	json_decref(j);
	j = error_json(EMU_PROVIDER_ANTHROPIC, EMU_ERR_BAD_KEY, 0, "x", 401);
	assert_string_equal(sval(j, "error.type"), "authentication_error");
	json_decref(j);
	j = error_json(EMU_PROVIDER_ANTHROPIC, EMU_ERR_MODEL, 0, "claude-x", 404);
	assert_string_equal(sval(j, "error.type"), "not_found_error");
	json_decref(j);
	j = error_json(EMU_PROVIDER_ANTHROPIC, EMU_ERR_INVALID, 0, "bad thing", 400);
	assert_string_equal(sval(j, "error.message"), "bad thing");
	json_decref(j);

	j = error_json(EMU_PROVIDER_GEMINI, EMU_ERR_BAD_KEY, 0, "x", 400);
	assert_string_equal(sval(j, "error.status"), "INVALID_ARGUMENT");
	assert_string_equal(sval(j, "error.details.0.reason"), "API_KEY_INVALID");
	assert_int_equal(ival(j, "error.code"), 400);
	json_decref(j);
	j = error_json(EMU_PROVIDER_GEMINI, EMU_ERR_NO_KEY, 0, NULL, 403);
	assert_string_equal(sval(j, "error.status"), "PERMISSION_DENIED");
	json_decref(j);
	j = error_json(EMU_PROVIDER_GEMINI, EMU_ERR_SERVER, 503, NULL, 503);
	assert_string_equal(sval(j, "error.status"), "UNAVAILABLE");
	json_decref(j);
	j = error_json(EMU_PROVIDER_GEMINI, EMU_ERR_MODEL, 0, "gemini-x", 404);
	assert_string_equal(sval(j, "error.status"), "NOT_FOUND");
	assert_non_null(strstr(sval(j, "error.message"), "models/gemini-x"));
	json_decref(j);

	/* 502 is an HTML page from the CDN, for every provider */
	emu_buf_init(&b);
	assert_int_equal(emu_error_body(EMU_PROVIDER_ANTHROPIC, EMU_ERR_SERVER, 502, NULL,
									"r", &b, &html), 502);
	assert_true(html);
	assert_non_null(strstr(b.data, "502 Bad Gateway"));
	emu_buf_free(&b);
}

static json_t *
limit_json(EmuProvider p, const EmuAdmit *a)
{
	EmuLimitCtx c = {"gpt-4o", "org-abc", "1234-uuid", false, "req_9",
	SEC(1755780059), "2024-10-21", "OpenAI S0"};
	EmuBuf		b;
	json_t	   *j;

	emu_buf_init(&b);
	emu_ratelimit_body(p, a, &c, &b);
	j = json_loadb(b.data, b.len, 0, NULL);
	if (j == NULL)
		fail_msg("not JSON: %s", b.data);
	emu_buf_free(&b);
	return j;
}

static EmuAdmit
admit(EmuAdmitStatus st, EmuDim d, int64_t limit, int64_t used, int64_t req,
	  int64_t wait)
{
	EmuAdmit	a;

	memset(&a, 0, sizeof(a));
	a.status = st;
	a.dim = d;
	a.violated = 1u << d;
	a.limit = limit;
	a.dim_limit[d] = limit;
	a.used = used;
	a.requested = req;
	a.wait_us = a.retry_us = wait;
	if (d != EMU_DIM_RPD && d != EMU_DIM_TPD)
		a.minute_wait_us = wait;
	return a;
}

static void
test_openai_429_bodies(void **state)
{
	EmuAdmit	a;
	json_t	   *j;

	(void) state;
	a = admit(EMU_ADMIT_LIMITED, EMU_DIM_TPM, 50000, 47949, 3006, 1146000);
	j = limit_json(EMU_PROVIDER_OPENAI, &a);
	assert_string_equal(sval(j, "error.message"),
						"Rate limit reached for gpt-4o in organization org-abc on tokens per min (TPM): "
						"Limit 50000, Used 47949, Requested 3006. Please try again in 1.146s. "
						"Visit https://platform.openai.com/account/rate-limits to learn more.");
	assert_string_equal(sval(j, "error.type"), "tokens");
	assert_string_equal(sval(j, "error.code"), "rate_limit_exceeded");
	assert_true(json_is_null(json_object_get(json_object_get(j, "error"), "param")));
	json_decref(j);

	a = admit(EMU_ADMIT_LIMITED, EMU_DIM_RPM, 3, 3, 1, SEC(20));
	j = limit_json(EMU_PROVIDER_OPENAI, &a);
	assert_non_null(strstr(sval(j, "error.message"), "on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s."));
	assert_string_equal(sval(j, "error.type"), "requests");
	json_decref(j);

	a = admit(EMU_ADMIT_LIMITED, EMU_DIM_RPD, 200, 200, 1, SEC(432));
	j = limit_json(EMU_PROVIDER_OPENAI, &a);
	assert_non_null(strstr(sval(j, "error.message"), "on requests per day (RPD): Limit 200, Used 200, Requested 1. Please try again in 7m12s."));
	json_decref(j);

	a = admit(EMU_ADMIT_LIMITED, EMU_DIM_TPD, 1000, 1000, 10, SEC(6 * 3600 + 12 * 60));
	j = limit_json(EMU_PROVIDER_OPENAI, &a);
	assert_non_null(strstr(sval(j, "error.message"), "tokens per day (TPD)"));
	assert_non_null(strstr(sval(j, "error.message"), "try again in 6h12m."));
	json_decref(j);

	a = admit(EMU_ADMIT_TOO_LARGE, EMU_DIM_TPM, 30000, 0, 34307, EMU_WAIT_NEVER);
	j = limit_json(EMU_PROVIDER_OPENAI, &a);
	assert_non_null(strstr(sval(j, "error.message"),
						   "Request too large for gpt-4o in organization org-abc on tokens per min (TPM): "
						   "Limit 30000, Requested 34307. The input or output tokens must be reduced"));
	assert_null(strstr(sval(j, "error.message"), "Used"));
	json_decref(j);

	a = admit(EMU_ADMIT_BILLING, EMU_DIM_RPM, 0, 0, 0, 0);
	j = limit_json(EMU_PROVIDER_OPENAI, &a);
	assert_string_equal(sval(j, "error.type"), "insufficient_quota");
	assert_string_equal(sval(j, "error.code"), "insufficient_quota");
	assert_non_null(strstr(sval(j, "error.message"), "You exceeded your current quota"));
	json_decref(j);
}

static void
test_anthropic_429_bodies(void **state)
{
	EmuAdmit	a;
	json_t	   *j;

	(void) state;
	a = admit(EMU_ADMIT_LIMITED, EMU_DIM_ITPM, 40000, 40000, 100, SEC(1));
	j = limit_json(EMU_PROVIDER_ANTHROPIC, &a);
	assert_string_equal(sval(j, "type"), "error");
	assert_string_equal(sval(j, "error.type"), "rate_limit_error");
	assert_string_equal(sval(j, "request_id"), "req_9");
	assert_non_null(strstr(sval(j, "error.message"),
						   "This request would exceed the rate limit for your organization (1234-uuid) of 40,000 input tokens per minute."));
	json_decref(j);
	a = admit(EMU_ADMIT_LIMITED, EMU_DIM_OTPM, 8000, 8000, 1, SEC(1));
	j = limit_json(EMU_PROVIDER_ANTHROPIC, &a);
	assert_non_null(strstr(sval(j, "error.message"), "of 8,000 output tokens per minute."));
	json_decref(j);
	a = admit(EMU_ADMIT_LIMITED, EMU_DIM_RPM, 50, 50, 1, SEC(1));
	j = limit_json(EMU_PROVIDER_ANTHROPIC, &a);
	assert_non_null(strstr(sval(j, "error.message"), "of 50 requests per minute."));
	json_decref(j);
	/* spend cap: regain on the first of next month */
	a = admit(EMU_ADMIT_BILLING, EMU_DIM_RPM, 0, 0, 0, 0);
	j = limit_json(EMU_PROVIDER_ANTHROPIC, &a);
	assert_string_equal(sval(j, "error.details.error_code"), "enforced_spend_limit_reached");
	assert_non_null(strstr(sval(j, "error.message"), "You will regain access on 2025-09-01 at 00:00 UTC."));
	json_decref(j);
}

static void
test_gemini_429_bodies(void **state)
{
	EmuAdmit	a;
	json_t	   *j;
	json_t	   *viol;

	(void) state;
	a = admit(EMU_ADMIT_LIMITED, EMU_DIM_RPM, 5, 5, 1, 20706170);
	j = limit_json(EMU_PROVIDER_GEMINI, &a);
	assert_int_equal(ival(j, "error.code"), 429);
	assert_string_equal(sval(j, "error.status"), "RESOURCE_EXHAUSTED");
	assert_string_equal(sval(j, "error.details.0.@type"), "type.googleapis.com/google.rpc.Help");
	assert_string_equal(sval(j, "error.details.1.@type"), "type.googleapis.com/google.rpc.QuotaFailure");
	assert_string_equal(sval(j, "error.details.1.violations.0.quotaId"),
						"GenerateRequestsPerMinutePerProjectPerModel");
	assert_string_equal(sval(j, "error.details.1.violations.0.quotaValue"), "5");
	assert_string_equal(sval(j, "error.details.1.violations.0.quotaDimensions.model"), "gpt-4o");
	assert_string_equal(sval(j, "error.details.2.@type"), "type.googleapis.com/google.rpc.RetryInfo");
	assert_string_equal(sval(j, "error.details.2.retryDelay"), "21s");
	assert_non_null(strstr(sval(j, "error.message"), "Please retry in 20.70617s."));
	assert_non_null(strstr(sval(j, "error.message"), "limit: 5, model: gpt-4o"));
	json_decref(j);

	/* daily quota: PerDay id but a short retryDelay (the trap) */
	a = admit(EMU_ADMIT_LIMITED, EMU_DIM_RPD, 100, 100, 1, SEC(864));
	j = limit_json(EMU_PROVIDER_GEMINI, &a);
	assert_string_equal(sval(j, "error.details.1.violations.0.quotaId"),
						"GenerateRequestsPerDayPerProjectPerModel");
	assert_int_equal(emu_gemini_retry_delay_us(&a), SEC(1 + 864 % 59));
	assert_string_equal(sval(j, "error.details.2.retryDelay"), "39s");
	json_decref(j);

	/* several violations in one body, each with its own limit */
	a = admit(EMU_ADMIT_LIMITED, EMU_DIM_RPD, 100, 100, 1, SEC(864));
	a.violated |= (1u << EMU_DIM_RPM) | (1u << EMU_DIM_TPM);
	a.dim_limit[EMU_DIM_RPM] = 5;
	a.dim_limit[EMU_DIM_TPM] = 250000;
	a.minute_wait_us = SEC(12);
	j = limit_json(EMU_PROVIDER_GEMINI, &a);
	viol = json_object_get(json_array_get(json_object_get(json_object_get(j, "error"), "details"), 1), "violations");
	assert_int_equal(json_array_size(viol), 3);
	assert_string_equal(sval(j, "error.details.1.violations.0.quotaValue"), "5");
	assert_string_equal(sval(j, "error.details.1.violations.1.quotaId"),
						"GenerateContentInputTokensPerModelPerMinute");
	assert_string_equal(sval(j, "error.details.1.violations.1.quotaValue"), "250000");
	assert_string_equal(sval(j, "error.details.1.violations.2.quotaValue"), "100");
	assert_string_equal(sval(j, "error.details.2.retryDelay"), "12s");
	json_decref(j);

	/* free tier names and billing's limit 0 */
	a = admit(EMU_ADMIT_BILLING, EMU_DIM_RPM, 0, 0, 0, 0);
	j = limit_json(EMU_PROVIDER_GEMINI, &a);
	assert_string_equal(sval(j, "error.details.1.violations.0.quotaValue"), "0");
	assert_string_equal(sval(j, "error.details.1.violations.0.quotaId"),
						"GenerateRequestsPerDayPerProjectPerModel-FreeTier");
	json_decref(j);
}

/*
 * Azure's 429: string code "429", no type, the dimension in the prose,
 * and a wait in whole seconds that matches retry-after.
 */
static void
test_azure_429_bodies(void **state)
{
	EmuAdmit	a;
	json_t	   *j;
	json_t	   *e;

	(void) state;
	a = admit(EMU_ADMIT_LIMITED, EMU_DIM_TPM, 100000, 99000, 3000, 5200000);
	j = limit_json(EMU_PROVIDER_AZURE, &a);
	assert_string_equal(sval(j, "error.code"), "429");
	e = json_object_get(j, "error");
	assert_int_equal(json_object_size(e), 2);
	assert_null(json_object_get(e, "type"));
	assert_string_equal(sval(j, "error.message"),
						"Requests to the ChatCompletions_Create Operation under Azure "
						"OpenAI API version 2024-10-21 have exceeded token rate limit "
						"of your current OpenAI S0 pricing tier. Please retry after 6 "
						"seconds. Please go here: https://aka.ms/oai/quotaincrease if "
						"you would like to further increase the default rate limit.");
	json_decref(j);

	a = admit(EMU_ADMIT_LIMITED, EMU_DIM_RPM, 100, 100, 1, 300000);
	j = limit_json(EMU_PROVIDER_AZURE, &a);
	assert_non_null(strstr(sval(j, "error.message"),
						   "have exceeded call rate limit of your current OpenAI S0 "
						   "pricing tier. Please retry after 1 second. "));
	json_decref(j);

	/* both lacking: RPM is named, the wait covers both */
	a = admit(EMU_ADMIT_LIMITED, EMU_DIM_RPM, 100, 100, 1, SEC(1));
	a.violated |= 1u << EMU_DIM_TPM;
	a.retry_us = SEC(9);
	j = limit_json(EMU_PROVIDER_AZURE, &a);
	assert_non_null(strstr(sval(j, "error.message"), "call rate limit"));
	assert_non_null(strstr(sval(j, "error.message"), "retry after 9 seconds."));
	json_decref(j);

	/* never fits: the zero-quota figure */
	a = admit(EMU_ADMIT_TOO_LARGE, EMU_DIM_TPM, 50, 0, 2004, EMU_WAIT_NEVER);
	j = limit_json(EMU_PROVIDER_AZURE, &a);
	assert_non_null(strstr(sval(j, "error.message"),
						   "token rate limit of your current OpenAI S0 pricing tier. "
						   "Please retry after 86400 seconds."));
	json_decref(j);
}

/* The Azure body is the OpenAI one plus the content filter results. */
static void
test_azure_reply(void **state)
{
	EmuUsage	u;
	EmuRequest	r;
	json_t	   *j;

	(void) state;
	/* the capture's request: the deployment, not "model", names it */
	j = reply_json(EMU_PROVIDER_AZURE,
				   "{\"messages\":[{\"content\":\"Hello!\",\"role\":\"user\"}],"
				   "\"model\":\"something-else\"}", "gpt-5-nano", false, &u);
	assert_string_equal(sval(j, "object"), "chat.completion");
	assert_string_equal(sval(j, "model"), "gpt-5-nano");
	assert_string_equal(sval(j, "choices.0.message.content"), "echo: Hello!");
	assert_string_equal(sval(j, "choices.0.finish_reason"), "stop");
	assert_true(json_is_object(json_object_get(json_array_get(json_object_get(j, "choices"), 0),
											   "content_filter_results")));
	assert_int_equal(ival(j, "prompt_filter_results.0.prompt_index"), 0);
	assert_true(json_is_object(json_object_get(json_array_get(json_object_get(j, "prompt_filter_results"), 0),
											   "content_filter_results")));
	assert_null(json_object_get(j, "service_tier"));
	assert_true(json_is_null(json_object_get(j, "system_fingerprint")));
	/* "Hello!" is 4 tokens, as in the capture */
	assert_int_equal(ival(j, "usage.prompt_tokens"), 4);
	assert_int_equal(u.prompt_tokens, 4);
	json_decref(j);

	/* model is optional; tools answer as OpenAI does (arguments a string) */
	j = reply_json(EMU_PROVIDER_AZURE,
				   "{\"messages\":[{\"role\":\"user\",\"content\":\"weather\"}],"
				   "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
				   "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}}]}",
				   "dep-1", false, &u);
	assert_string_equal(sval(j, "model"), "dep-1");
	assert_string_equal(sval(j, "choices.0.finish_reason"), "tool_calls");
	assert_string_equal(sval(j, "choices.0.message.tool_calls.0.function.name"), "get_weather");
	assert_non_null(sval(j, "choices.0.message.tool_calls.0.function.arguments"));
	assert_true(json_is_object(json_object_get(json_array_get(json_object_get(j, "choices"), 0),
											   "content_filter_results")));
	json_decref(j);

	/* admission charge as OpenAI's: prompt estimate + max_tokens */
	parse_ok(EMU_PROVIDER_AZURE,
			 "{\"messages\":[{\"role\":\"user\",\"content\":\"Hello!\"}],\"max_tokens\":100}",
			 "d", &r);
	assert_int_equal(emu_request_charge(EMU_PROVIDER_AZURE, &r, EMU_CHARGE_SUM), 104);
	assert_int_equal(emu_request_charge(EMU_PROVIDER_AZURE, &r, EMU_CHARGE_MAX), 100);
	emu_request_free(&r);
}

/* Azure's own error envelope, and the api-version shape. */
static void
test_azure_errors(void **state)
{
	EmuBuf		b;
	bool		html;
	json_t	   *j;

	(void) state;
	emu_buf_init(&b);
	assert_int_equal(emu_error_body(EMU_PROVIDER_AZURE, EMU_ERR_BAD_KEY, 0, "x",
									"r", &b, &html), 401);
	j = json_loadb(b.data, b.len, 0, NULL);
	assert_string_equal(sval(j, "error.code"), "401");
	assert_non_null(strstr(sval(j, "error.message"), "invalid subscription key"));
	json_decref(j);
	emu_buf_reset(&b);
	assert_int_equal(emu_error_body(EMU_PROVIDER_AZURE, EMU_ERR_NO_KEY, 0, NULL,
									"r", &b, &html), 401);
	j = json_loadb(b.data, b.len, 0, NULL);
	assert_string_equal(sval(j, "error.code"), "401");
	assert_non_null(strstr(sval(j, "error.message"), "missing subscription key"));
	json_decref(j);
	emu_buf_reset(&b);
	assert_int_equal(emu_error_body(EMU_PROVIDER_AZURE, EMU_ERR_MODEL, 0, "nope",
									"r", &b, &html), 404);
	j = json_loadb(b.data, b.len, 0, NULL);
	assert_string_equal(sval(j, "error.code"), "DeploymentNotFound");
	json_decref(j);
	emu_buf_reset(&b);
	assert_int_equal(emu_error_body(EMU_PROVIDER_AZURE, EMU_ERR_NO_API_VERSION, 0,
									NULL, "r", &b, &html), 404);
	assert_string_equal(b.data, "{\"error\":{\"code\":\"404\",\"message\":\"Resource not found\"}}");
	emu_buf_reset(&b);
	assert_int_equal(emu_error_body(EMU_PROVIDER_AZURE, EMU_ERR_BAD_API_VERSION, 0,
									NULL, "r", &b, &html), 400);
	j = json_loadb(b.data, b.len, 0, NULL);
	assert_string_equal(sval(j, "error.code"), "BadRequest");
	json_decref(j);
	emu_buf_reset(&b);
	/* body validation is the OpenAI model's, in OpenAI's shape */
	assert_int_equal(emu_error_body(EMU_PROVIDER_AZURE, EMU_ERR_INVALID, 0,
									"bad", "r", &b, &html), 400);
	j = json_loadb(b.data, b.len, 0, NULL);
	assert_string_equal(sval(j, "error.type"), "invalid_request_error");
	json_decref(j);
	emu_buf_reset(&b);
	assert_int_equal(emu_error_body(EMU_PROVIDER_AZURE, EMU_ERR_SERVER, 503, NULL,
									"r", &b, &html), 503);
	assert_false(html);
	j = json_loadb(b.data, b.len, 0, NULL);
	assert_string_equal(sval(j, "error.code"), "ServiceUnavailable");
	json_decref(j);
	emu_buf_free(&b);

	assert_true(emu_azure_api_version_ok("2024-10-21"));
	assert_true(emu_azure_api_version_ok("2024-12-01-preview"));
	assert_false(emu_azure_api_version_ok(NULL));
	assert_false(emu_azure_api_version_ok(""));
	assert_false(emu_azure_api_version_ok("2024-10"));
	assert_false(emu_azure_api_version_ok("2024-10-21x"));
	assert_false(emu_azure_api_version_ok("2024-10-21-beta"));
	assert_false(emu_azure_api_version_ok("v1"));
}

static void
test_malform(void **state)
{
	EmuBuf		b;

	(void) state;
	emu_buf_init(&b);
	emu_buf_puts(&b, "{\"a\":{\"b\":1}}");
	emu_reply_malform(&b);
	assert_null(json_loadb(b.data, b.len, 0, NULL));
	assert_string_equal(b.data, "{\"a\":{\"b\":1,");
	emu_buf_free(&b);
}

/* schema.c edge cases */
static void
test_schema_instances(void **state)
{
	json_t	   *s;
	json_t	   *v;

	(void) state;
	/* $ref into $defs, nullable unions, formats, bounds */
	s = json_loads("{\"type\":\"object\",\"$defs\":{\"P\":{\"type\":\"object\","
				   "\"properties\":{\"when\":{\"type\":\"string\",\"format\":\"date-time\"},"
				   "\"n\":{\"type\":\"integer\",\"exclusiveMinimum\":10},"
				   "\"x\":{\"type\":\"number\",\"maximum\":-2.5},"
				   "\"ok\":{\"type\":\"boolean\"},"
				   "\"code\":{\"type\":\"string\",\"minLength\":12,\"maxLength\":14},"
				   "\"short\":{\"type\":\"string\",\"maxLength\":3},"
				   "\"c\":{\"const\":\"fixed\"}},"
				   "\"required\":[\"when\",\"n\",\"x\",\"ok\",\"code\",\"short\",\"c\"]}},"
				   "\"properties\":{\"p\":{\"$ref\":\"#/$defs/P\"},"
				   "\"maybe\":{\"anyOf\":[{\"type\":\"null\"},{\"type\":\"integer\",\"minimum\":3}]},"
				   "\"t\":{\"type\":[\"null\",\"string\"]}},"
				   "\"required\":[\"p\",\"maybe\",\"t\"]}", 0, NULL);
	v = emu_schema_instance(s, "hello", true);
	assert_string_equal(json_string_value(json_object_get(json_object_get(v, "p"), "when")),
						"2025-01-01T00:00:00Z");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(v, "p"), "n")), 11);
	assert_true(json_real_value(json_object_get(json_object_get(v, "p"), "x")) == -2.5);
	assert_true(json_is_true(json_object_get(json_object_get(v, "p"), "ok")));
	/* the text goes into the first free string, padded to minLength */
	assert_string_equal(json_string_value(json_object_get(json_object_get(v, "p"), "code")),
						"hello.......");
	assert_string_equal(json_string_value(json_object_get(json_object_get(v, "p"), "short")),
						"sho");
	assert_string_equal(json_string_value(json_object_get(json_object_get(v, "p"), "c")), "fixed");
	assert_int_equal(json_integer_value(json_object_get(v, "maybe")), 3);
	assert_string_equal(json_string_value(json_object_get(v, "t")), "t");
	json_decref(v);
	json_decref(s);

	/* a self-referencing schema terminates */
	s = json_loads("{\"$ref\":\"#/definitions/node\",\"definitions\":{\"node\":{\"type\":\"object\","
				   "\"properties\":{\"name\":{\"type\":\"string\"},\"children\":{\"type\":\"array\","
				   "\"items\":{\"$ref\":\"#/definitions/node\"}}},\"required\":[\"name\",\"children\"]}}}",
				   0, NULL);
	v = emu_schema_instance(s, "root", true);
	assert_string_equal(json_string_value(json_object_get(v, "name")), "root");
	assert_true(json_is_array(json_object_get(v, "children")));
	json_decref(v);
	json_decref(s);

	/* maxItems 0, top-level non-object, NULL schema */
	s = json_loads("{\"type\":\"array\",\"maxItems\":0}", 0, NULL);
	v = emu_schema_instance(s, "x", true);
	assert_int_equal(json_array_size(v), 0);
	json_decref(v);
	v = emu_schema_instance(s, "x", false);
	assert_true(json_is_object(v));
	json_decref(v);
	json_decref(s);
	v = emu_schema_instance(NULL, "plain", true);
	assert_string_equal(json_string_value(v), "plain");
	json_decref(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_openai_text_reply),
		cmocka_unit_test(test_estimate_and_charge),
		cmocka_unit_test(test_echo_truncation),
		cmocka_unit_test(test_max_tokens_cap),
		cmocka_unit_test(test_openai_structured_and_tools),
		cmocka_unit_test(test_tool_result_turn),
		cmocka_unit_test(test_anthropic_replies),
		cmocka_unit_test(test_gemini_replies),
		cmocka_unit_test(test_invalid_requests),
		cmocka_unit_test(test_context_window),
		cmocka_unit_test(test_error_bodies),
		cmocka_unit_test(test_openai_429_bodies),
		cmocka_unit_test(test_anthropic_429_bodies),
		cmocka_unit_test(test_gemini_429_bodies),
		cmocka_unit_test(test_azure_429_bodies),
		cmocka_unit_test(test_azure_reply),
		cmocka_unit_test(test_azure_errors),
		cmocka_unit_test(test_malform),
		cmocka_unit_test(test_schema_instances),
	};

	return cmocka_run_group_tests_name("emulator reply", tests, NULL, NULL);
}
