/*-------------------------------------------------------------------------
 * fuzz_request_fields.c
 *	  libFuzzer target for the allow-list of request body fields and the
 *	  checks of "stream" and "n" (src/request_fields.c).
 *
 * Input layout: byte 0 chooses the mode.
 *
 * - Even: one field.  Byte 1 is the JSON type (its value modulo the
 *	 number of types), byte 2 the length L of the name, the next L bytes
 *	 the name (any bytes, NUL included, in a buffer of exactly L bytes),
 *	 and the rest the number's text, given only for an integer or a real,
 *	 as the enqueue trigger gives it.  Bit 1 of byte 0 passes no place for
 *	 "n".
 * - Odd: a request body.  The rest is loaded with jansson; when it is an
 *	 object, each top-level member is checked as the enqueue trigger
 *	 checks it, with its number printed as text, and "n" collected.
 *
 * Each answer is held to an oracle written independently of the code:
 * UNKNOWN exactly when the name, read as a C string without an embedded
 * NUL, is not one of aigov_request_fields(); for "stream", STREAM for
 * true, OK for false and null, BAD_STREAM otherwise; for "n", OK for null
 * (n untouched) and for an integer written only in digits whose value is
 * 1..AIGOV_REQUEST_MAX_N (n set to it), BAD_N otherwise (n untouched);
 * OK and n untouched for every other listed field.  The list itself must
 * hold "model" and "messages", no name twice, and none of the fields that
 * change a call's cost or destination.  Any difference aborts.
 *
 * IDENTIFICATION
 *	  test/fuzz/fuzz_request_fields.c
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "request_fields.h"
#include "fuzz_util.h"

#define NTYPES ((int) AIGOV_JSON_NULL + 1)
/* a value no check may write into n */
#define N_SENTINEL INT64_C(-77)

/* Fields that would change a call's cost or destination: never listed. */
static const char *const refused[] = {
	"store", "metadata", "service_tier", "audio", "modalities",
	"web_search_options", "prediction", "functions", "function_call",
	"stream_options", NULL
};

/* Is the NUL-terminated s one of the listed fields? */
static bool
listed(const char *s)
{
	for (const char *const *f = aigov_request_fields(); *f != NULL; f++)
		if (strcmp(*f, s) == 0)
			return true;
	return false;
}

/* The list's own promises, checked once. */
static void
check_list(void)
{
	static bool done = false;
	const char *const *f = aigov_request_fields();

	if (done)
		return;
	done = true;
	if (f == NULL || !listed("model") || !listed("messages") ||
		!listed("stream") || !listed("n"))
		abort();
	for (int i = 0; f[i] != NULL; i++)
	{
		if (f[i][0] == '\0')
			abort();
		for (int j = i + 1; f[j] != NULL; j++)
			if (strcmp(f[i], f[j]) == 0)
				abort();
	}
	for (int i = 0; refused[i] != NULL; i++)
		if (listed(refused[i]))
			abort();
}

/* "n" as the oracle reads it: its value, or -1 when it is not valid. */
static int64_t
n_oracle(AigovJsonType type, const char *number)
{
	unsigned long long v;
	char	   *end;

	if (type != AIGOV_JSON_INTEGER || number == NULL || number[0] < '0' ||
		number[0] > '9' || strspn(number, "0123456789") != strlen(number))
		return -1;
	errno = 0;
	v = strtoull(number, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > AIGOV_REQUEST_MAX_N)
		return -1;
	return (int64_t) v;
}

/*
 * Checks one field against the oracle; returns the status.  n points to
 * the caller's count, or is NULL.
 */
static AigovFieldStatus
check_field(const char *name, size_t len, AigovJsonType type,
			const char *number, int64_t *n)
{
	int64_t		before = n != NULL ? *n : 0;
	AigovFieldStatus st = aigov_request_field_check(name, len, type,
													number, n);
	char	   *cname = fuzz_copy_string((const uint8_t *) name, len);
	bool		known = memchr(name, '\0', len) == NULL && listed(cname);
	AigovFieldStatus want = AIGOV_FIELD_OK;
	int64_t		want_n = before;

	if (!known)
		want = AIGOV_FIELD_UNKNOWN;
	else if (strcmp(cname, "stream") == 0)
		want = type == AIGOV_JSON_TRUE ? AIGOV_FIELD_STREAM :
			type == AIGOV_JSON_FALSE || type == AIGOV_JSON_NULL ?
				AIGOV_FIELD_OK : AIGOV_FIELD_BAD_STREAM;
	else if (strcmp(cname, "n") == 0 && type != AIGOV_JSON_NULL)
	{
		int64_t		v = n_oracle(type, number);

		if (v < 0)
			want = AIGOV_FIELD_BAD_N;
		else
			want_n = v;
	}
	free(cname);
	if (st != want)
		abort();
	if (n != NULL && *n != want_n)
		abort();
	return st;
}

/* Even mode: one field from the fuzzer's bytes. */
static void
one_field(const uint8_t *data, size_t size)
{
	AigovJsonType type;
	size_t		len;
	char	   *name;
	char	   *number = NULL;
	int64_t		n = N_SENTINEL;

	if (size < 3)
		return;
	type = (AigovJsonType) (data[1] % NTYPES);
	len = data[2];
	if (size < 3 + len)
		return;
	name = fuzz_copy_exact(data + 3, len);
	if (type == AIGOV_JSON_INTEGER || type == AIGOV_JSON_REAL)
		number = fuzz_copy_string(data + 3 + len, size - 3 - len);
	check_field(name, len, type, number, (data[0] & 2) ? NULL : &n);
	free(number);
	free(name);
}

/* The JSON type jansson gives v, in the scanner's terms. */
static AigovJsonType
type_of(const json_t *v)
{
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

/*
 * Odd mode: every top-level member of a body, as the enqueue trigger walks
 * it.  The count of choices starts at 1 and stays in 1..MAX_N.
 */
static void
body(const uint8_t *data, size_t size)
{
	char	   *text = fuzz_copy_exact(data, size);
	json_t	   *root = json_loadb(text, size, 0, NULL);
	const char *key;
	size_t		klen;
	json_t	   *v;
	int64_t		n = 1;

	free(text);
	if (!json_is_object(root))
	{
		json_decref(root);
		return;
	}
	json_object_keylen_foreach(root, key, klen, v)
	{
		AigovJsonType type = type_of(v);
		char	   *number = NULL;
		char	   *name = fuzz_copy_exact((const uint8_t *) key, klen);

		if (type == AIGOV_JSON_INTEGER)
		{
			number = malloc(32);
			if (number == NULL)
				abort();
			snprintf(number, 32, "%" JSON_INTEGER_FORMAT,
					 json_integer_value(v));
		}
		else if (type == AIGOV_JSON_REAL)
			number = json_dumps(v, JSON_ENCODE_ANY);
		check_field(name, klen, type, number, &n);
		free(number);
		free(name);
	}
	if (n < 1 || n > AIGOV_REQUEST_MAX_N)
		abort();
	json_decref(root);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_list();
	if (size < 1)
		return 0;
	if (data[0] & 1)
		body(data + 1, size - 1);
	else
		one_field(data, size);
	return 0;
}
