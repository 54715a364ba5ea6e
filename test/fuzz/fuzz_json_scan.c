/*-------------------------------------------------------------------------
 * fuzz_json_scan.c
 *	  libFuzzer target for the JSON scanner (src/json_scan.c), judged
 *	  against jansson.
 *
 * Input layout: byte 0 is how many members to read (0-16), and each of
 * them takes one more byte b: its depth is (b & 7) % 5 and its path the
 * keys k, k + 1, ... (k = b >> 3) of a small list of names that fuzzed
 * texts are likely to hold;
 * the rest is the text, copied into a buffer of its exact size.  The
 * scanner promises that a text it accepts, jansson loads (as
 * aigov_protocol_json_parse() calls it, duplicates refused) and that the
 * members it fills are what jansson finds at their paths: the same type,
 * and the same value for an integer.  Any difference aborts.
 *
 * IDENTIFICATION
 *	  test/fuzz/fuzz_json_scan.c
 *-------------------------------------------------------------------------
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json_scan.h"
#include "fuzz_util.h"

/* Keys a member's path is made of; "" and a prefix of another included. */
static const char *const keys[] = {
	"a", "b", "", "ab", "choices", "usage", "prompt_tokens", "id"
};

/* The type jansson gives v, in the scanner's terms. */
static AigovJsonType
type_of(const json_t *v)
{
	if (v == NULL)
		return AIGOV_JSON_ABSENT;
	switch (json_typeof(v))
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
	}
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	AigovJsonMember m[AIGOV_JSON_SCAN_MAX_MEMBERS];
	int			n;
	char	   *text;
	size_t		tlen;
	json_t	   *root;

	if (size < 1)
		return 0;
	n = data[0] % (AIGOV_JSON_SCAN_MAX_MEMBERS + 1);
	if (size < 1 + (size_t) n)
		return 0;
	memset(m, 0, sizeof(m));
	for (int i = 0; i < n; i++)
	{
		uint8_t		b = data[1 + i];
		int			depth = (b & 7) % (AIGOV_JSON_SCAN_MAX_PATH + 1);

		/* keys[k], keys[k + 1], ... from k = b >> 3 */
		for (int d = 0; d < depth; d++)
			m[i].path[d] = keys[((b >> 3) + d) % 8];
		m[i].path[depth] = NULL;
	}
	tlen = size - 1 - (size_t) n;
	text = fuzz_copy_exact(data + 1 + n, tlen);

	if (!aigov_json_scan(text, tlen, m, n))
	{
		free(text);
		return 0;
	}
	root = json_loadb(text, tlen, JSON_REJECT_DUPLICATES, NULL);
	if (root == NULL || !(json_is_object(root) || json_is_array(root)))
		abort();
	for (int i = 0; i < n; i++)
	{
		json_t	   *v = root;

		for (int d = 0; v != NULL && m[i].path[d] != NULL; d++)
			v = json_is_object(v) ? json_object_get(v, m[i].path[d]) : NULL;
		if (m[i].type != type_of(v))
			abort();
		if (m[i].type == AIGOV_JSON_INTEGER &&
			m[i].integer != (int64_t) json_integer_value(v))
			abort();
	}
	json_decref(root);
	free(text);
	return 0;
}
