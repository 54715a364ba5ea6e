/*-------------------------------------------------------------------------
 * test_json_scan.c
 *	  cmocka tests of the tree-less JSON scanner (src/json_scan.c).
 *
 * The scanner's promise is one-sided: when it says yes, jansson (loading
 * with JSON_REJECT_DUPLICATES, as the classifier does) says yes too and
 * reads the same members.  So most tests here put both to the same text:
 * every fixture of test/fixtures and every recorded OpenAI exchange (where
 * the two must also agree on "no"), every mutation of a byte of those
 * bodies, every Unicode code point raw and escaped, every pair of bytes.
 *
 * IDENTIFICATION
 *	  test/unit/test_json_scan.c
 *-------------------------------------------------------------------------
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "json_scan.h"

#define CORPUS_FAIL(...) fail_msg(__VA_ARGS__)
#include "corpus_util.h"

#define FIXTURE_DIRS_N 2
static const char *const fixture_dirs[FIXTURE_DIRS_N] = {
	AIGOV_TEST_DIR "/fixtures/protocols",
	AIGOV_TEST_DIR "/fixtures/translate",
};

#define CAPTURES_DIR AIGOV_TEST_DIR "/fixtures/openai-captures"

/* what the classifier reads of an OpenAI-style success */
enum
{
	M_ROOT, M_CHOICES, M_USAGE, M_PROMPT, M_COMPLETION, M_CACHED, M_ERROR, M_N
};

static void
completion_members(AigovJsonMember *m)
{
	static const AigovJsonMember init[M_N] = {
		[M_ROOT] = {.path = {NULL}},
		[M_CHOICES] = {.path = {"choices", NULL}},
		[M_USAGE] = {.path = {"usage", NULL}},
		[M_PROMPT] = {.path = {"usage", "prompt_tokens", NULL}},
		[M_COMPLETION] = {.path = {"usage", "completion_tokens", NULL}},
		[M_CACHED] = {.path = {"usage", "prompt_tokens_details", "cached_tokens", NULL}},
		[M_ERROR] = {.path = {"error", NULL}},
	};

	memcpy(m, init, sizeof(init));
}

static bool
scan(const char *text, size_t len, AigovJsonMember *m)
{
	/* exactly len bytes, so ASan sees any read past them */
	char	   *copy = exact_copy(text, len);
	bool		ok;

	completion_members(m);
	ok = aigov_json_scan(copy, len, m, M_N);
	free(copy);
	return ok;
}

static bool
scan_str(const char *text)
{
	AigovJsonMember m[M_N];

	return scan(text, strlen(text), m);
}

static json_t *
jansson_load(const char *text, size_t len)
{
	json_error_t err;

	return json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
}

static AigovJsonType
jansson_type(const json_t *v)
{
	switch (v == NULL ? -1 : (int) json_typeof(v))
	{
		case JSON_OBJECT:
			return AIGOV_JSON_OBJECT;
		case JSON_ARRAY:
			return AIGOV_JSON_ARRAY;
		case JSON_STRING:
			return AIGOV_JSON_STRING;
		case JSON_INTEGER:
			return AIGOV_JSON_INTEGER;
		case JSON_REAL:
			return AIGOV_JSON_REAL;
		case JSON_TRUE:
			return AIGOV_JSON_TRUE;
		case JSON_FALSE:
			return AIGOV_JSON_FALSE;
		case JSON_NULL:
			return AIGOV_JSON_NULL;
		default:
			return AIGOV_JSON_ABSENT;
	}
}

/* The member at path in jansson's tree, or NULL. */
static json_t *
jansson_member(json_t *root, const AigovJsonMember *m)
{
	json_t	   *v = root;

	for (int i = 0; i < AIGOV_JSON_SCAN_MAX_PATH && m->path[i] != NULL; i++)
		v = json_is_object(v) ? json_object_get(v, m->path[i]) : NULL;
	return v;
}

/*
 * The promise: if the scanner accepts text, jansson loads it and finds
 * every member as the scanner read it.  With must_agree, jansson's
 * refusal must be the scanner's too.  Returns the scanner's verdict.
 */
static bool
check_against_jansson(const char *what, const char *text, size_t len,
					  bool must_agree)
{
	AigovJsonMember m[M_N];
	bool		ok = scan(text, len, m);
	json_t	   *root = jansson_load(text, len);

	if (ok && root == NULL)
		fail_msg("%s: the scanner accepts what jansson refuses", what);
	if (must_agree && !ok && root != NULL)
		fail_msg("%s: the scanner gives up on a text jansson loads", what);
	if (ok)
	{
		for (int i = 0; i < M_N; i++)
		{
			json_t	   *v = jansson_member(root, &m[i]);

			if (m[i].type != jansson_type(v))
				fail_msg("%s: member %d is of type %d, jansson says %d",
						 what, i, (int) m[i].type, (int) jansson_type(v));
			if (m[i].type == AIGOV_JSON_INTEGER &&
				m[i].integer != (int64_t) json_integer_value(v))
				fail_msg("%s: member %d reads %lld, jansson %lld", what, i,
						 (long long) m[i].integer, (long long) json_integer_value(v));
		}
	}
	json_decref(root);
	return ok;
}

static void
test_reads_members(void **state)
{
	const char *text =
		" {\"id\":\"x\",\"choices\":[{\"usage\":{\"prompt_tokens\":99}}],"
		"\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":-3,"
		"\"prompt_tokens_details\":{\"cached_tokens\":7, \"x\": [1, 2.5e3, true, null]},"
		"\"total_tokens\":9.0},\"nested\":{\"usage\":{\"prompt_tokens\":5}}}\n";
	AigovJsonMember m[M_N];

	(void) state;
	assert_true(scan(text, strlen(text), m));
	assert_int_equal(m[M_ROOT].type, AIGOV_JSON_OBJECT);
	assert_int_equal(m[M_CHOICES].type, AIGOV_JSON_ARRAY);
	assert_int_equal(m[M_USAGE].type, AIGOV_JSON_OBJECT);
	assert_int_equal(m[M_PROMPT].type, AIGOV_JSON_INTEGER);
	assert_int_equal(m[M_PROMPT].integer, 12);	/* not the ones deeper down */
	assert_int_equal(m[M_COMPLETION].type, AIGOV_JSON_INTEGER);
	assert_int_equal(m[M_COMPLETION].integer, -3);
	assert_int_equal(m[M_CACHED].integer, 7);
	assert_int_equal(m[M_ERROR].type, AIGOV_JSON_ABSENT);
	check_against_jansson("members", text, strlen(text), true);

	/* a path through a non-object finds nothing */
	assert_true(scan_str("{\"usage\":[{\"prompt_tokens\":1}],\"choices\":\"no\"}"));
	text = "{\"usage\":[{\"prompt_tokens\":1}],\"choices\":\"no\"}";
	assert_true(scan(text, strlen(text), m));
	assert_int_equal(m[M_PROMPT].type, AIGOV_JSON_ABSENT);
	assert_int_equal(m[M_CHOICES].type, AIGOV_JSON_STRING);

	/* each type, as jansson names it */
	assert_true(scan_str("[]"));
	text = "{\"usage\":{\"prompt_tokens\":1.0,\"completion_tokens\":1e2},\"error\":null,"
		"\"choices\":false}";
	assert_true(scan(text, strlen(text), m));
	assert_int_equal(m[M_PROMPT].type, AIGOV_JSON_REAL);
	assert_int_equal(m[M_COMPLETION].type, AIGOV_JSON_REAL);
	assert_int_equal(m[M_ERROR].type, AIGOV_JSON_NULL);
	assert_int_equal(m[M_CHOICES].type, AIGOV_JSON_FALSE);
	check_against_jansson("types", text, strlen(text), true);
}

/* Texts jansson loads; the scanner must too, and read them alike. */
static const char *const accepted[] = {
	"{}", "[]", " \t\r\n[ ] \n", "[{}]", "[[[[]]]]",
	"{\"a\":{\"a\":{\"a\":1}}}",	/* the same key in nested objects */
	"[{\"a\":1},{\"a\":2}]",	/* and in sibling objects */
	"[0,-0,1,-1,10,0.5,-0.5,1e5,1E+5,1e-5,123456789012345678,-123456789012345678]",
	"[1.5e299, 1e-300]",
	"[\"\",\"\\\"\\\\\\/\\b\\f\\n\\r\\t\",\"\\u0041\\u00e9\\uFFFF\",\"\\ud83d\\ude00\"]",
	"[\"caf\xc3\xa9\",\"\xe2\x82\xac\",\"\xf0\x9f\x98\x80\",\"\xef\xbf\xbf\",\"\xf4\x8f\xbf\xbf\"]",
	"[true,false,null]",
	"{\"choices\":[],\"usage\":{\"prompt_tokens\":0,\"completion_tokens\":0}}",
	"{\"\":1}",
};

/* Texts the scanner must leave to jansson (most jansson refuses too). */
static const char *const refused[] = {
	"", " ", "1", "\"x\"", "true", "null",	/* empty, or not a container */
	"{", "}", "[", "]", "{]", "[}", "{\"a\"}", "{\"a\":}", "{\"a\" 1}", "{a:1}",
	"{\"a\":1,}", "[1,]", "[,1]", "[1 2]", "{\"a\":1 \"b\":2}", "{}{}", "{} x",
	"{'a':1}", "[01]", "[1.]", "[.5]", "[+1]", "[1e]", "[1e+]", "[-]", "[--1]",
	"[0x10]", "[NaN]", "[Infinity]", "[tru]", "[nul]", "[True]", "[truex]",
	"[1234567890123456789]",	/* may not fit: jansson decides */
	"[1e400]", "[1e309]", "[-1e400]", "[1.5e1000000000000]",
	"{\"a\":1,\"a\":2}",		/* repeated key */
	"{\"a\":{},\"b\":[],\"a\":null}",
	"{\"\\u0061\":1}",			/* escaped key */
	"[\"\\u0000\"]", "[\"\\x\"]", "[\"\\u12\"]", "[\"\\u12G4\"]", "[\"\\\"]",
	"[\"\\ud83d\"]", "[\"\\ud83dx\"]", "[\"\\ud83d\\u0041\"]", "[\"\\ude00\"]",
	"[\"\\ude00\\ud83d\"]",
	"[\"a\nb\"]", "[\"a\tb\"]", "[\"\x01\"]", "[\"\x1f\"]", /* raw control */
	"[\"\xc3\"]", "[\"\xc3\x28\"]", "[\"\xc0\xaf\"]", "[\"\xc1\xbf\"]", /* UTF-8 */
	"[\"\xe0\x80\xaf\"]", "[\"\xed\xa0\x80\"]", "[\"\xed\xbf\xbf\"]",
	"[\"\xf0\x80\x80\xaf\"]", "[\"\xf4\x90\x80\x80\"]", "[\"\xf5\x80\x80\x80\"]",
	"[\"\xff\"]", "[\"\x80\"]", "[\"\xe2\x82\"]", "\xef\xbb\xbf{}",
	"[\"abc", "[\"abc\\",
};

static void
test_verdicts(void **state)
{
	char		deep[300];
	char		many[8192];
	size_t		n = 0;

	(void) state;
	for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++)
	{
		if (!scan_str(accepted[i]))
			fail_msg("refused: %s", accepted[i]);
		check_against_jansson(accepted[i], accepted[i], strlen(accepted[i]), true);
	}
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
	{
		if (scan_str(refused[i]))
			fail_msg("accepted: %s", refused[i]);
		check_against_jansson(refused[i], refused[i], strlen(refused[i]), false);
	}
	/* an embedded NUL byte */
	assert_false(check_against_jansson("NUL", "[\"a\0b\"]", 7, false));
	assert_false(check_against_jansson("NUL", "[1]\0", 4, false));

	/* nesting: 64 levels are scanned, deeper is left to jansson */
	memset(deep, '[', 64);
	memset(deep + 64, ']', 64);
	assert_true(check_against_jansson("64 deep", deep, 128, true));
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	assert_false(check_against_jansson("100 deep", deep, 200, false));

	/* many keys in one object: past the scanner's table, jansson decides */
	n += (size_t) snprintf(many + n, sizeof(many) - n, "{");
	for (int i = 0; i < 300; i++)
		n += (size_t) snprintf(many + n, sizeof(many) - n, "%s\"k%d\":%d", i ? "," : "", i, i);
	n += (size_t) snprintf(many + n, sizeof(many) - n, "}");
	assert_false(check_against_jansson("300 keys", many, n, false));
	{
		json_t	   *loaded = jansson_load(many, n);

		assert_non_null(loaded);
		json_decref(loaded);
	}
}

/* Calls fn for every body of the fixtures and the recorded exchanges. */
typedef void (*BodyCheck) (const char *what, const char *text, size_t len);

static int
for_each_body(BodyCheck fn)
{
	int			n = 0;

	for (int d = 0; d < FIXTURE_DIRS_N; d++)
	{
		DIR		   *dir = opendir(fixture_dirs[d]);
		struct dirent *e;

		assert_non_null(dir);
		while ((e = readdir(dir)) != NULL)
		{
			char		path[1024];
			size_t		len;
			char	   *text;

			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", fixture_dirs[d], e->d_name);
			text = read_file(path, &len);
			fn(e->d_name, text, len);
			free(text);
			n++;
		}
		closedir(dir);
	}
	{
		DIR		   *dir = opendir(CAPTURES_DIR);
		struct dirent *e;

		assert_non_null(dir);
		while ((e = readdir(dir)) != NULL)
		{
			char		path[1024];
			size_t		len;
			char	   *yaml;
			const char *cursor;
			char	   *body;

			if (strstr(e->d_name, ".yaml") == NULL)
				continue;
			snprintf(path, sizeof(path), "%s/%s", CAPTURES_DIR, e->d_name);
			yaml = read_file(path, &len);
			cursor = yaml;
			/* the request's body, then the response's */
			while ((body = yaml_body(&cursor)) != NULL)
			{
				fn(e->d_name, body, strlen(body));
				free(body);
				n++;
			}
			free(yaml);
		}
		closedir(dir);
	}
	return n;
}

static int	accepted_bodies;

/* Real bodies: the two agree both ways, and on every member. */
static void
agree_on_body(const char *what, const char *text, size_t len)
{
	/*
	 * The fixtures hold edge cases the scanner leaves to jansson on purpose
	 * (escaped keys, 19-digit integers); the recorded exchanges are what
	 * providers send, and there the two must agree both ways.
	 */
	if (check_against_jansson(what, text, len, strstr(what, ".yaml") != NULL))
		accepted_bodies++;
}

static void
test_agrees_on_recorded_bodies(void **state)
{
	(void) state;
	accepted_bodies = 0;
	assert_true(for_each_body(agree_on_body) >= 100);
	/* most are JSON; the SSE streams and header files are not */
	assert_true(accepted_bodies >= 80);
}

/* bytes that make or break JSON, put at every position of a body */
static const unsigned char mutations[] = {
	'"', '\\', '{', '}', '[', ']', ',', ':', '0', '1', '-', '+', '.', 'e',
	'u', 'n', ' ', '\n', 0x00, 0x01, 0x1f, 0x7f, 0x80, 0xbf, 0xc0, 0xc3,
	0xe0, 0xed, 0xf0, 0xf4, 0xf5, 0xff,
};

/*
 * Bounded to stay a unit test (test/fuzz/fuzz_protocol.c explores the
 * rest): MUTATED_POSITIONS positions per body of up to 8 kB, the first
 * bytes and a fixed pseudo-random choice of the others.
 */
#define MUTATED_POSITIONS 48

static void
mutate_body(const char *what, const char *text, size_t len)
{
	char	   *buf;
	uint32_t	lcg = (uint32_t) len;
	AigovJsonMember members[M_N];

	memset(members, 0, sizeof(members));
	/* the few large bodies (images as base64) would only cost time */
	if (len > 8192 || !scan(text, len, members))
		return;
	buf = malloc(len + 1);
	assert_non_null(buf);
	for (int i = 0; i < MUTATED_POSITIONS; i++)
	{
		size_t		pos;

		lcg = lcg * 1664525u + 1013904223u;
		pos = i < 8 ? (size_t) i % len : (size_t) (lcg >> 8) % len;
		/* replaced */
		memcpy(buf, text, len);
		for (size_t k = 0; k < sizeof(mutations); k++)
		{
			buf[pos] = (char) mutations[k];
			check_against_jansson(what, buf, len, false);
		}
		/* deleted */
		memcpy(buf, text, pos);
		memcpy(buf + pos, text + pos + 1, len - pos - 1);
		check_against_jansson(what, buf, len - 1, false);
		/* doubled */
		memcpy(buf, text, pos + 1);
		memcpy(buf + pos + 1, text + pos, len - pos);
		check_against_jansson(what, buf, len + 1, false);
	}
	free(buf);
}

static void
test_mutations_never_fool_it(void **state)
{
	(void) state;
	assert_true(for_each_body(mutate_body) > 0);
}

static size_t
utf8_encode(uint32_t cp, char *out)
{
	if (cp < 0x80)
	{
		out[0] = (char) cp;
		return 1;
	}
	if (cp < 0x800)
	{
		out[0] = (char) (0xC0 | (cp >> 6));
		out[1] = (char) (0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000)
	{
		out[0] = (char) (0xE0 | (cp >> 12));
		out[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char) (0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char) (0xF0 | (cp >> 18));
	out[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char) (0x80 | (cp & 0x3F));
	return 4;
}

/*
 * Every code point, raw (surrogates too, which UTF-8 forbids) and as
 * escapes (a lone surrogate, a pair for the rest): both must agree.
 */
static void
test_every_code_point(void **state)
{
	(void) state;

	/*
	 * beyond the BMP every 7th (both ends included): the UTF-8 forms of those
	 * are also covered by test_every_byte_pair
	 */
	for (uint32_t cp = 0; cp <= 0x10FFFF; cp += (cp < 0xFFFF || cp >= 0x10FFF8) ? 1 : 7)
	{
		char		buf[32];
		size_t		n = 0;
		char		what[32];

		snprintf(what, sizeof(what), "U+%04X", (unsigned) cp);
		buf[n++] = '[';
		buf[n++] = '"';
		n += utf8_encode(cp, buf + n);
		buf[n++] = '"';
		buf[n++] = ']';
		/* raw control characters and the quote/backslash are not strings */
		check_against_jansson(what, buf, n, cp >= 0x20 && cp != '"' && cp != '\\');

		if (cp > 0xFFFF)
			n = (size_t) snprintf(buf, sizeof(buf), "[\"\\u%04X\\u%04x\"]",
								  (unsigned) (0xD800 + ((cp - 0x10000) >> 10)),
								  (unsigned) (0xDC00 + ((cp - 0x10000) & 0x3FF)));
		else
			n = (size_t) snprintf(buf, sizeof(buf), "[\"\\u%04x\"]", (unsigned) cp);
		check_against_jansson(what, buf, n, true);
	}
}

/* Every two bytes in a string, then every two after a lead byte. */
static void
test_every_byte_pair(void **state)
{
	(void) state;
	for (int a = 0; a < 256; a++)
		for (int b = 0; b < 256; b++)
		{
			char		buf[8] = {'[', '"', (char) a, (char) b, '"', ']'};
			char		what[32];

			snprintf(what, sizeof(what), "%02x %02x", a, b);
			check_against_jansson(what, buf, 6, a >= 0x20 && a != '\\');
			if (a >= 0xE0)
			{
				char		buf3[8] = {'[', '"', (char) a, (char) b, (char) 0x80, '"', ']'};
				char		buf4[9] = {'[', '"', (char) a, (char) b, (char) 0x80, (char) 0x80, '"', ']'};

				check_against_jansson(what, buf3, 7, true);
				check_against_jansson(what, buf4, 8, true);
			}
		}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_members),
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_agrees_on_recorded_bodies),
		cmocka_unit_test(test_mutations_never_fool_it),
		cmocka_unit_test(test_every_code_point),
		cmocka_unit_test(test_every_byte_pair),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
