/*-------------------------------------------------------------------------
 * test_json_schema.c
 *	  cmocka tests of the JSON Schema validator (src/json_schema*.c) beyond
 *	  the official suite: its messages, refusals, limits and pattern
 *	  subset, and of the structured-output checks (src/structured_output.c).
 *
 * IDENTIFICATION
 *	  test/unit/test_json_schema.c
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

#include "json_schema.h"
#include "structured_output.h"

static json_t *
parse(const char *text)
{
	json_error_t e;
	json_t	   *j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);

	if (j == NULL)
		fail_msg("bad JSON in test: %s: %s", e.text, text);
	return j;
}

/* Compiles schema text; fails the test unless it compiles. */
static AigovJsonSchema *
compile_ok(const char *text)
{
	json_t	   *j = parse(text);
	AigovJsonSchema *s;
	AigovSchemaError err;
	AigovSchemaStatus st = aigov_json_schema_compile(j, &s, &err);

	json_decref(j);
	if (st != AIGOV_SCHEMA_OK)
		fail_msg("schema refused (%s at %s: %s): %s", err.keyword, err.location,
				 err.message, text);
	return s;
}

/* The compile status of a schema, with its error. */
static AigovSchemaStatus
compile_err(const char *text, AigovSchemaError *err)
{
	json_t	   *j = parse(text);
	AigovJsonSchema *s;
	AigovSchemaStatus st = aigov_json_schema_compile(j, &s, err);

	json_decref(j);
	assert_true((st == AIGOV_SCHEMA_OK) == (s != NULL));
	aigov_json_schema_free(s);
	return st;
}

/* Validates instance text; returns the result, the message in msg. */
static AigovSchemaResult
validate(AigovJsonSchema *s, const char *instance, char *msg, size_t len)
{
	json_t	   *j = parse(instance);
	AigovSchemaResult r = aigov_json_schema_validate(s, j, msg, len);

	json_decref(j);
	return r;
}

static void
expect_msg(const char *schema, const char *instance, const char *want)
{
	AigovJsonSchema *s = compile_ok(schema);
	char		msg[512];

	assert_int_equal(validate(s, instance, msg, sizeof(msg)), AIGOV_SCHEMA_INVALID);
	assert_string_equal(msg, want);
	aigov_json_schema_free(s);
}

static void
test_messages_name_pointer_and_keyword(void **state)
{
	(void) state;
	expect_msg("{\"properties\":{\"items\":{\"items\":{\"properties\":{\"price\":{\"maximum\":10}}}}}}",
			   "{\"items\":[{\"price\":1},{},{\"price\":12.5}]}",
			   "/items/2/price: 12.5 is above maximum 10");
	expect_msg("{\"type\":\"object\",\"required\":[\"a\"]}", "{}",
			   "(root): required property \"a\" is missing");
	expect_msg("{\"type\":\"string\"}", "3", "(root): integer found, but the type must be string");
	expect_msg("{\"additionalProperties\":false,\"properties\":{\"a\":true}}",
			   "{\"a\":1,\"b~/c\":2}",
			   "(root): property \"b~/c\" is not allowed by additionalProperties");
	expect_msg("{\"additionalProperties\":{\"type\":\"integer\"}}", "{\"a/b\":1.5}",
			   "/a~1b: number found, but the type must be integer");
	expect_msg("{\"minLength\":3}", "\"\\u65e5\\u672c\"",
			   "(root): string of 2 characters is shorter than minLength 3");
	expect_msg("{\"pattern\":\"^\\\\d+$\"}", "\"12a\"",
			   "(root): string does not match pattern \"^\\d+$\"");
	expect_msg("{\"enum\":[1,\"a\",null]}", "2", "(root): value is not one of the 3 values of enum");
	expect_msg("{\"uniqueItems\":true}", "[1,{\"a\":1},{\"a\":1.0}]",
			   "(root): items 1 and 2 are equal, but uniqueItems is true");
	expect_msg("{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":0}]}", "3",
			   "(root): value matches schemas 0 and 1 of oneOf, but exactly one must match");
	expect_msg("{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"null\"}]}", "[]",
			   "(root): value matches none of the 2 schemas of anyOf");
	expect_msg("{\"multipleOf\":0.01}", "0.125", "(root): 0.125 is not a multiple of multipleOf 0.01");
	expect_msg("{\"prefixItems\":[{\"const\":1}],\"items\":false}", "[1,2]",
			   "/1: no value is allowed here (the schema is false)");
}

static void
test_json_semantics(void **state)
{
	AigovJsonSchema *s;
	char		msg[256];
	json_t	   *a = parse("{\"a\":1,\"b\":[1.0,{\"c\":null}]}");
	json_t	   *b = parse("{\"b\":[1,{\"c\":null}],\"a\":1.0}");
	json_t	   *c = parse("{\"b\":[1,{\"c\":false}],\"a\":1.0}");

	(void) state;
	assert_true(aigov_json_equal(a, b));
	assert_false(aigov_json_equal(a, c));
	json_decref(a);
	json_decref(b);
	json_decref(c);

	/* draft 2020-12: 1.0 is an integer */
	s = compile_ok("{\"type\":\"integer\"}");
	assert_int_equal(validate(s, "1.0", msg, sizeof(msg)), AIGOV_SCHEMA_VALID);
	assert_int_equal(validate(s, "1.5", msg, sizeof(msg)), AIGOV_SCHEMA_INVALID);
	aigov_json_schema_free(s);

	/* an integer and a real compare by value at the bounds */
	s = compile_ok("{\"maximum\":9007199254740993}");
	assert_int_equal(validate(s, "9007199254740993", msg, sizeof(msg)), AIGOV_SCHEMA_VALID);
	assert_int_equal(validate(s, "9007199254740994", msg, sizeof(msg)), AIGOV_SCHEMA_INVALID);
	aigov_json_schema_free(s);
}

static void
expect_refusal(const char *schema, AigovSchemaStatus want, const char *keyword,
			   const char *location)
{
	AigovSchemaError err;

	assert_int_equal(compile_err(schema, &err), want);
	assert_string_equal(err.keyword, keyword);
	assert_string_equal(err.location, location);
	assert_true(err.message[0] != '\0');
}

static void
test_refusals(void **state)
{
	(void) state;
	expect_refusal("{\"properties\":{\"a\":{\"contains\":{}}}}", AIGOV_SCHEMA_UNSUPPORTED,
				   "contains", "#/properties/a/contains");
	expect_refusal("{\"items\":{\"if\":true}}", AIGOV_SCHEMA_UNSUPPORTED, "if", "#/items/if");
	expect_refusal("{\"$defs\":{\"x\":{\"$id\":\"x.json\"}}}", AIGOV_SCHEMA_UNSUPPORTED,
				   "$id", "#/$defs/x/$id");
	expect_refusal("{\"$ref\":\"other.json#/a\"}", AIGOV_SCHEMA_UNSUPPORTED, "$ref", "#/$ref");
	expect_refusal("{\"pattern\":\"(?=a)\"}", AIGOV_SCHEMA_UNSUPPORTED, "pattern", "#/pattern");
	expect_refusal("{\"pattern\":\"(a)\\\\1\"}", AIGOV_SCHEMA_UNSUPPORTED, "pattern", "#/pattern");
	expect_refusal("{\"pattern\":\"[\"}", AIGOV_SCHEMA_MALFORMED, "pattern", "#/pattern");
	/* what could make regcomp() blow up is refused */
	expect_refusal("{\"pattern\":\"a++\"}", AIGOV_SCHEMA_MALFORMED, "pattern", "#/pattern");
	expect_refusal("{\"pattern\":\"*a\"}", AIGOV_SCHEMA_MALFORMED, "pattern", "#/pattern");
	expect_refusal("{\"pattern\":\"(ab){2}\"}", AIGOV_SCHEMA_UNSUPPORTED, "pattern", "#/pattern");
	expect_refusal("{\"pattern\":\"a{257}\"}", AIGOV_SCHEMA_UNSUPPORTED, "pattern", "#/pattern");
	expect_refusal("{\"pattern\":\"(((((((((a)))))))))\"}", AIGOV_SCHEMA_UNSUPPORTED,
				   "pattern", "#/pattern");
	expect_refusal("{\"patternProperties\":{\"(a\":true}}", AIGOV_SCHEMA_MALFORMED,
				   "patternProperties", "#/patternProperties");
	expect_refusal("{\"anyOf\":[]}", AIGOV_SCHEMA_MALFORMED, "anyOf", "#/anyOf");
	expect_refusal("{\"items\":[{}]}", AIGOV_SCHEMA_MALFORMED, "", "#/items");
	expect_refusal("{\"multipleOf\":0}", AIGOV_SCHEMA_MALFORMED, "multipleOf", "#/multipleOf");
	expect_refusal("{\"properties\":{\"a\":{\"$ref\":\"#/$defs/nope\"}}}",
				   AIGOV_SCHEMA_MALFORMED, "$ref", "#/properties/a/$ref");
	/* a cycle that checks the same value again and again */
	expect_refusal("{\"$defs\":{\"a\":{\"allOf\":[{\"$ref\":\"#/$defs/b\"}]},"
				   "\"b\":{\"not\":{\"$ref\":\"#/$defs/a\"}}}}",
				   AIGOV_SCHEMA_MALFORMED, "$ref", "#/$defs/b/not/$ref");
	expect_refusal("{\"$ref\":\"#\"}", AIGOV_SCHEMA_MALFORMED, "$ref", "#/$ref");
}

/* A recursive schema that consumes input on each turn is fine. */
static void
test_recursion_through_input(void **state)
{
	AigovJsonSchema *s = compile_ok(
									"{\"type\":\"object\",\"properties\":{\"v\":{\"type\":\"integer\"},"
									"\"kids\":{\"type\":\"array\",\"items\":{\"$ref\":\"#\"}}},"
									"\"required\":[\"v\"],\"additionalProperties\":false}");
	char		msg[256];

	(void) state;
	assert_int_equal(validate(s, "{\"v\":1,\"kids\":[{\"v\":2,\"kids\":[{\"v\":3}]}]}",
							  msg, sizeof(msg)), AIGOV_SCHEMA_VALID);
	assert_int_equal(validate(s, "{\"v\":1,\"kids\":[{\"v\":2,\"kids\":[{\"v\":\"3\"}]}]}",
							  msg, sizeof(msg)), AIGOV_SCHEMA_INVALID);
	assert_string_equal(msg, "/kids/0/kids/0/v: string found, but the type must be integer");
	aigov_json_schema_free(s);
}

/*
 * A tenant's schema cannot make one validation run forever: n definitions
 * that each try the next one twice would take 2^n checks, and stop at the
 * work limit instead; nesting past the limit is refused at compile; deep
 * instances stop at the depth limit.
 */
static void
test_limits(void **state)
{
	char		buf[8192];
	size_t		len = 0;
	AigovJsonSchema *s;
	AigovSchemaError err;
	char		msg[256];
	int			n = 40;

	(void) state;
	len += snprintf(buf + len, sizeof(buf) - len, "{\"$ref\":\"#/$defs/d0\",\"$defs\":{");
	for (int i = 0; i < n; i++)
		len += snprintf(buf + len, sizeof(buf) - len,
						"\"d%d\":{\"anyOf\":[{\"$ref\":\"#/$defs/d%d\"},{\"$ref\":\"#/$defs/d%d\"}]},",
						i, i + 1, i + 1);
	snprintf(buf + len, sizeof(buf) - len, "\"d%d\":false}}", n);
	s = compile_ok(buf);
	assert_int_equal(validate(s, "1", msg, sizeof(msg)), AIGOV_SCHEMA_LIMIT);
	assert_non_null(strstr(msg, "validation stopped"));
	aigov_json_schema_free(s);

	len = 0;
	for (int i = 0; i <= AIGOV_SCHEMA_MAX_NESTING; i++)
		len += snprintf(buf + len, sizeof(buf) - len, "{\"items\":");
	len += snprintf(buf + len, sizeof(buf) - len, "true");
	for (int i = 0; i <= AIGOV_SCHEMA_MAX_NESTING; i++)
		len += snprintf(buf + len, sizeof(buf) - len, "}");
	assert_int_equal(compile_err(buf, &err), AIGOV_SCHEMA_TOO_LARGE);

	s = compile_ok("{\"items\":{\"$ref\":\"#\"}}");
	len = 0;
	for (int i = 0; i < AIGOV_SCHEMA_MAX_DEPTH + 10; i++)
		buf[len++] = '[';
	for (int i = 0; i < AIGOV_SCHEMA_MAX_DEPTH + 10; i++)
		buf[len++] = ']';
	buf[len] = '\0';
	assert_int_equal(validate(s, buf, msg, sizeof(msg)), AIGOV_SCHEMA_LIMIT);
	assert_int_equal(validate(s, "[[[]]]", msg, sizeof(msg)), AIGOV_SCHEMA_VALID);
	aigov_json_schema_free(s);
}

static void
expect_pattern(const char *pattern, const char *instance, bool match)
{
	char		schema[256];
	char		inst[256];
	AigovJsonSchema *s;
	char		msg[256];
	json_t	   *p = json_string(pattern);
	json_t	   *i = json_string(instance);
	char	   *ps = json_dumps(p, JSON_ENCODE_ANY);
	char	   *is = json_dumps(i, JSON_ENCODE_ANY);

	snprintf(schema, sizeof(schema), "{\"pattern\":%s}", ps);
	snprintf(inst, sizeof(inst), "%s", is);
	free(ps);
	free(is);
	json_decref(p);
	json_decref(i);
	s = compile_ok(schema);
	if ((validate(s, inst, msg, sizeof(msg)) == AIGOV_SCHEMA_VALID) != match)
		fail_msg("pattern %s on \"%s\": expected %s", pattern, instance,
				 match ? "a match" : "no match");
	aigov_json_schema_free(s);
}

static void
test_patterns(void **state)
{
	(void) state;
	expect_pattern("\\d{3}-\\d{4}", "call 555-1234 now", true);
	expect_pattern("^\\d{3}$", "12a", false);
	expect_pattern("^[\\w-]+$", "a_b-9", true);
	expect_pattern("^[\\w-]+$", "a b", false);
	expect_pattern("^(?:ab)+?$", "abab", true);
	expect_pattern("^a.c$", "a\nc", false);
	expect_pattern("^a.c$", "abc", true);
	expect_pattern("^[^\\]x]$", "]", false);
	expect_pattern("^[\\]x]$", "]", true);
	expect_pattern("^[a\\-z]$", "-", true);
	expect_pattern("^[a\\-z]$", "b", false);
	expect_pattern("^\\s*\\S+$", "  x", true);
	expect_pattern("^\\$\\.\\(\\)$", "$.()", true);
	expect_pattern("^[\\^]$", "^", true);
	expect_pattern("^a{$", "a{", true);
	expect_pattern("^a{2,3}?$", "aaa", true);
	expect_pattern("^a{2,3}$", "aaaa", false);
	expect_pattern("^(a+)+b$", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaac", false);
}

static void
test_structured_request(void **state)
{
	AigovSchemaStatus st;
	AigovSchemaError err;
	const char *none = "{\"model\":\"m\",\"messages\":[],\"response_format\":{\"type\":\"json_object\"}}";
	const char *ok = "{\"model\":\"m\",\"response_format\":{\"type\":\"json_schema\","
		"\"json_schema\":{\"name\":\"x\",\"schema\":{\"type\":\"object\"}}}}";
	const char *bad = "{\"model\":\"m\",\"response_format\":{\"type\":\"json_schema\","
		"\"json_schema\":{\"name\":\"x\",\"schema\":{\"dependentRequired\":{}}}}}";

	(void) state;
	assert_int_equal(aigov_structured_check_request(none, strlen(none), &st, &err),
					 AIGOV_STRUCTURED_NONE);
	assert_int_equal(aigov_structured_check_request(ok, strlen(ok), &st, &err),
					 AIGOV_STRUCTURED_OK);
	assert_int_equal(aigov_structured_check_request(bad, strlen(bad), &st, &err),
					 AIGOV_STRUCTURED_REFUSED);
	assert_int_equal(st, AIGOV_SCHEMA_UNSUPPORTED);
	assert_string_equal(err.keyword, "dependentRequired");
}

/* A reply whose choices carry the given message objects. */
static AigovStructuredStatus
check_reply(const char *messages, char *msg, size_t len)
{
	const char *body = "{\"model\":\"m\",\"response_format\":{\"type\":\"json_schema\","
		"\"json_schema\":{\"name\":\"x\",\"schema\":{\"type\":\"object\","
		"\"properties\":{\"city\":{\"type\":\"string\"},\"temp\":{\"type\":\"number\",\"maximum\":60}},"
		"\"required\":[\"city\",\"temp\"],\"additionalProperties\":false}}}}";
	char		reply[2048];

	snprintf(reply, sizeof(reply), "{\"object\":\"chat.completion\",\"choices\":[%s]}",
			 messages);
	return aigov_structured_check_reply(body, strlen(body), reply, strlen(reply),
										msg, len);
}

static void
test_structured_reply(void **state)
{
	char		msg[256];
	const char *plain = "{\"model\":\"m\",\"messages\":[]}";
	const char *reply = "{\"choices\":[{\"message\":{\"content\":\"hello\"}}]}";

	(void) state;
	assert_int_equal(aigov_structured_check_reply(plain, strlen(plain), reply,
												  strlen(reply), msg, sizeof(msg)),
					 AIGOV_STRUCTURED_NONE);
	assert_int_equal(check_reply("{\"message\":{\"content\":\"{\\\"city\\\":\\\"Oslo\\\",\\\"temp\\\":4.5}\"}}",
								 msg, sizeof(msg)), AIGOV_STRUCTURED_OK);

	assert_int_equal(check_reply("{\"message\":{\"content\":\"{\\\"city\\\":\\\"Oslo\\\",\\\"temp\\\":99}\"}}",
								 msg, sizeof(msg)), AIGOV_STRUCTURED_MISMATCH);
	assert_string_equal(msg, "the reply does not match the response_format schema: /temp: 99 is above maximum 60");

	/* not JSON: the message gives a position, never the text */
	assert_int_equal(check_reply("{\"message\":{\"content\":\"Sure! Oslo is secretly cold\"}}",
								 msg, sizeof(msg)), AIGOV_STRUCTURED_MISMATCH);
	assert_non_null(strstr(msg, "is not JSON"));
	assert_null(strstr(msg, "secret"));
	assert_null(strstr(msg, "Sure"));

	assert_int_equal(check_reply("{\"message\":{\"content\":null,\"refusal\":\"I cannot\"}}",
								 msg, sizeof(msg)), AIGOV_STRUCTURED_MISMATCH);
	assert_string_equal(msg, "the reply has a refusal instead of content in the schema");
	assert_null(strstr(msg, "cannot"));

	/* a tool call answers no schema */
	assert_int_equal(check_reply("{\"message\":{\"content\":null,\"tool_calls\":[{\"id\":\"c\"}]}}",
								 msg, sizeof(msg)), AIGOV_STRUCTURED_OK);

	/* every choice is checked, and named when there are several */
	assert_int_equal(check_reply("{\"message\":{\"content\":\"{\\\"city\\\":\\\"a\\\",\\\"temp\\\":1}\"}},"
								 "{\"message\":{\"content\":\"{\\\"city\\\":\\\"b\\\",\\\"wrong\\\":true}\"}}",
								 msg, sizeof(msg)), AIGOV_STRUCTURED_MISMATCH);
	assert_string_equal(msg, "choice 1: the reply does not match the response_format schema: (root): required property \"temp\" is missing");

	assert_int_equal(check_reply("", msg, sizeof(msg)), AIGOV_STRUCTURED_MISMATCH);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_messages_name_pointer_and_keyword),
		cmocka_unit_test(test_json_semantics),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_recursion_through_input),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_patterns),
		cmocka_unit_test(test_structured_request),
		cmocka_unit_test(test_structured_reply),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
