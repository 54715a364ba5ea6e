/*-------------------------------------------------------------------------
 * test_request_fields.c
 *	  cmocka tests of the chat-completions field allow-list and the checks
 *	  of "stream" and "n" (src/request_fields.c).
 *
 * IDENTIFICATION
 *	  test/unit/test_request_fields.c
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "request_fields.h"

static AigovFieldStatus
check(const char *name, AigovJsonType type, const char *number, int64_t *n)
{
	return aigov_request_field_check(name, strlen(name), type, number, n);
}

static void
test_allowed_fields(void **state)
{
	const char *const *f = aigov_request_fields();
	int			count = 0;

	(void) state;
	for (; *f != NULL; f++, count++)
	{
		int64_t		n = 1;
		AigovJsonType t = AIGOV_JSON_STRING;
		const char *num = NULL;

		if (strcmp(*f, "stream") == 0)
			t = AIGOV_JSON_FALSE;
		if (strcmp(*f, "n") == 0)
		{
			t = AIGOV_JSON_INTEGER;
			num = "1";
		}
		assert_int_equal(check(*f, t, num, &n), AIGOV_FIELD_OK);
	}
	assert_int_equal(count, 21);
}

/* What would change a call's cost or destination is refused. */
static void
test_unknown_fields(void **state)
{
	static const char *const refused[] = {
		"store", "metadata", "service_tier", "audio", "modalities",
		"web_search_options", "prediction", "functions", "function_call",
		"stream_options", "Model", "model ", "", "x"
	};

	(void) state;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		assert_int_equal(check(refused[i], AIGOV_JSON_NULL, NULL, NULL),
						 AIGOV_FIELD_UNKNOWN);
	/* a name is its bytes: no prefix match, no NUL-terminated reading */
	assert_int_equal(aigov_request_field_check("modelx", 5, AIGOV_JSON_STRING,
											   NULL, NULL), AIGOV_FIELD_OK);
	assert_int_equal(aigov_request_field_check("mode", 4, AIGOV_JSON_STRING,
											   NULL, NULL), AIGOV_FIELD_UNKNOWN);
	assert_int_equal(aigov_request_field_check(NULL, 0, AIGOV_JSON_STRING,
											   NULL, NULL), AIGOV_FIELD_UNKNOWN);
}

static void
test_stream(void **state)
{
	(void) state;
	assert_int_equal(check("stream", AIGOV_JSON_TRUE, NULL, NULL), AIGOV_FIELD_STREAM);
	assert_int_equal(check("stream", AIGOV_JSON_FALSE, NULL, NULL), AIGOV_FIELD_OK);
	assert_int_equal(check("stream", AIGOV_JSON_STRING, NULL, NULL),
					 AIGOV_FIELD_BAD_STREAM);
	assert_int_equal(check("stream", AIGOV_JSON_NULL, NULL, NULL), AIGOV_FIELD_OK);
	assert_int_equal(check("stream", AIGOV_JSON_INTEGER, "1", NULL),
					 AIGOV_FIELD_BAD_STREAM);
}

static void
test_n(void **state)
{
	int64_t		n = 0;

	(void) state;
	assert_int_equal(check("n", AIGOV_JSON_INTEGER, "1", &n), AIGOV_FIELD_OK);
	assert_int_equal(n, 1);
	assert_int_equal(check("n", AIGOV_JSON_INTEGER, "16", &n), AIGOV_FIELD_OK);
	assert_int_equal(n, AIGOV_REQUEST_MAX_N);

	n = 5;
	assert_int_equal(check("n", AIGOV_JSON_INTEGER, "17", &n), AIGOV_FIELD_BAD_N);
	assert_int_equal(check("n", AIGOV_JSON_INTEGER, "0", &n), AIGOV_FIELD_BAD_N);
	assert_int_equal(check("n", AIGOV_JSON_INTEGER, "-1", &n), AIGOV_FIELD_BAD_N);
	assert_int_equal(check("n", AIGOV_JSON_INTEGER, "99999999999999999999999", &n),
					 AIGOV_FIELD_BAD_N);
	assert_int_equal(check("n", AIGOV_JSON_INTEGER, "2.0", &n), AIGOV_FIELD_BAD_N);
	assert_int_equal(check("n", AIGOV_JSON_INTEGER, "", &n), AIGOV_FIELD_BAD_N);
	assert_int_equal(check("n", AIGOV_JSON_INTEGER, NULL, &n), AIGOV_FIELD_BAD_N);
	assert_int_equal(check("n", AIGOV_JSON_REAL, "2.5", &n), AIGOV_FIELD_BAD_N);
	assert_int_equal(check("n", AIGOV_JSON_STRING, NULL, &n), AIGOV_FIELD_BAD_N);
	assert_int_equal(n, 5);		/* untouched by refusals */
	assert_int_equal(check("n", AIGOV_JSON_NULL, NULL, &n), AIGOV_FIELD_OK);
	assert_int_equal(n, 5);		/* null: the caller's default stays */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed_fields),
		cmocka_unit_test(test_unknown_fields),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_n),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
