/*-------------------------------------------------------------------------
 * test_json_schema_suite.c
 *	  The official JSON Schema Test Suite (draft 2020-12) against the
 *	  validator of src/json_schema*.c.
 *
 * Reads every file of test/fixtures/json-schema-test-suite/draft2020-12/,
 * one cmocka test per file.  For each group: a schema that compiles must
 * give the suite's verdict on every one of its tests; a schema that is
 * refused must be refused as unsupported (never as malformed: the suite's
 * schemas are valid), and the keyword named must occur in the schema.
 * Refused groups are counted as skipped, by keyword, and listed by name;
 * groups with remote references are listed apart.  Files whose keyword
 * the validator does not implement are named in skipped_files[] with the
 * reason; every group of them must be refused, so the list cannot go
 * stale.  The counts are printed at the end.
 *
 * IDENTIFICATION
 *	  test/unit/test_json_schema_suite.c
 *-------------------------------------------------------------------------
 */
#include <dirent.h>
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

#define SUITE_DIR AIGOV_TEST_DIR "/fixtures/json-schema-test-suite/draft2020-12"

/* Whole files of keywords the validator refuses, and why. */
static const struct
{
	const char *file;
	const char *reason;
}			skipped_files[] = {
	{"anchor.json", "$anchor: plain-name fragments are not supported"},
	{"contains.json", "contains is not supported"},
	{"maxContains.json", "maxContains (with contains) is not supported"},
	{"minContains.json", "minContains (with contains) is not supported"},
	{"content.json", "contentMediaType/contentEncoding/contentSchema are not supported"},
	{"defs.json", "its one group validates against the remote draft 2020-12 metaschema"},
	{"dependentRequired.json", "dependentRequired is not supported"},
	{"dependentSchemas.json", "dependentSchemas is not supported"},
	{"dynamicRef.json", "$dynamicRef/$dynamicAnchor are not supported"},
	{"if-then-else.json", "if/then/else are not supported"},
	{"unevaluatedItems.json", "unevaluatedItems is not supported"},
	{"unevaluatedProperties.json", "unevaluatedProperties is not supported"},
	{"vocabulary.json", "$vocabulary and custom metaschemas are not supported"},
	{"refRemote.json", "remote references are not supported"},
};

#define NSKIPPED_FILES (sizeof(skipped_files) / sizeof(skipped_files[0]))

/* Skip counts per refusing keyword, over all files. */
typedef struct KeywordCount
{
	char		keyword[64];
	int			groups;
} KeywordCount;

static KeywordCount skip_counts[64];
static int	nskip_counts;
static int	total_passed,
			total_skipped,
			total_remote,
			total_tests;

static const char *
skip_reason(const char *file)
{
	for (size_t i = 0; i < NSKIPPED_FILES; i++)
		if (strcmp(skipped_files[i].file, file) == 0)
			return skipped_files[i].reason;
	return NULL;
}

static void
count_skip(const char *keyword)
{
	for (int i = 0; i < nskip_counts; i++)
		if (strcmp(skip_counts[i].keyword, keyword) == 0)
		{
			skip_counts[i].groups++;
			return;
		}
	if (nskip_counts < 64)
	{
		snprintf(skip_counts[nskip_counts].keyword, 64, "%s", keyword);
		skip_counts[nskip_counts++].groups = 1;
	}
}

/* Runs one group; returns its failures (0 when passed or refused). */
static int
run_group(const char *file, json_t *group, int *passed, int *skipped)
{
	const char *desc = json_string_value(json_object_get(group, "description"));
	json_t	   *schema = json_object_get(group, "schema");
	json_t	   *tests = json_object_get(group, "tests");
	char	   *text = json_dumps(schema, JSON_ENCODE_ANY | JSON_COMPACT);
	bool		remote = text && strstr(text, "http://localhost:1234") != NULL;
	AigovJsonSchema *s;
	AigovSchemaError err;
	AigovSchemaStatus st = aigov_json_schema_compile(schema, &s, &err);
	int			failures = 0;
	size_t		i;
	json_t	   *t;

	if (st != AIGOV_SCHEMA_OK)
	{
		char		quoted[80];

		snprintf(quoted, sizeof(quoted), "\"%s\"", err.keyword);
		if (st != AIGOV_SCHEMA_UNSUPPORTED || err.keyword[0] == '\0' ||
			text == NULL || strstr(text, quoted) == NULL)
		{
			print_error("%s: \"%s\": refused as %s (%s at %s: %s)\n", file, desc,
						aigov_schema_status_name(st), err.keyword,
						err.location, err.message);
			failures++;
		}
		else
		{
			printf("# skipped %s: \"%s\": %s%s\n", file, desc,
				   remote ? "remote reference; " : "", err.message);
			if (remote)
				total_remote++;
			count_skip(remote ? "remote $ref" : err.keyword);
			(*skipped)++;
		}
		free(text);
		return failures;
	}
	free(text);
	json_array_foreach(tests, i, t)
	{
		char		msg[512];
		bool		want = json_is_true(json_object_get(t, "valid"));
		AigovSchemaResult r = aigov_json_schema_validate(s, json_object_get(t, "data"),
														 msg, sizeof(msg));

		total_tests++;
		if ((r == AIGOV_SCHEMA_VALID) != want || r == AIGOV_SCHEMA_LIMIT ||
			(r == AIGOV_SCHEMA_INVALID && msg[0] == '\0'))
		{
			print_error("%s: \"%s\" / \"%s\": expected %s, got %s (%s)\n", file,
						desc, json_string_value(json_object_get(t, "description")),
						want ? "valid" : "invalid",
						r == AIGOV_SCHEMA_VALID ? "valid" : "invalid", msg);
			failures++;
		}
	}
	aigov_json_schema_free(s);
	if (failures == 0)
		(*passed)++;
	return failures;
}

static void
test_file(void **state)
{
	const char *file = *state;
	char		path[512];
	json_error_t jerr;
	json_t	   *groups;
	json_t	   *g;
	size_t		i;
	int			failures = 0,
				passed = 0,
				skipped = 0;
	const char *reason = skip_reason(file);

	snprintf(path, sizeof(path), "%s/%s", SUITE_DIR, file);
	groups = json_load_file(path, JSON_ALLOW_NUL, &jerr);
	if (groups == NULL)
		fail_msg("%s: %s (line %d)", path, jerr.text, jerr.line);
	assert_true(json_is_array(groups) && json_array_size(groups) > 0);
	json_array_foreach(groups, i, g)
		failures += run_group(file, g, &passed, &skipped);
	json_decref(groups);
	total_passed += passed;
	total_skipped += skipped;
	printf("# %s: %d groups passed, %d skipped%s%s\n", file, passed, skipped,
		   reason ? ": " : "", reason ? reason : "");
	assert_int_equal(failures, 0);
	/* a file on the skip list has nothing that compiles: the list is true */
	if (reason != NULL)
		assert_int_equal(passed, 0);
	else
		assert_true(passed > 0);
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

int
main(void)
{
	DIR		   *dir = opendir(SUITE_DIR);
	struct dirent *de;
	char	   *files[256];
	struct CMUnitTest tests[256];
	int			n = 0;
	int			rc;

	if (dir == NULL)
	{
		fprintf(stderr, "cannot open %s\n", SUITE_DIR);
		return 1;
	}
	while ((de = readdir(dir)) != NULL && n < 256)
	{
		size_t		len = strlen(de->d_name);

		if (len > 5 && strcmp(de->d_name + len - 5, ".json") == 0)
			files[n++] = strdup(de->d_name);
	}
	closedir(dir);
	qsort(files, n, sizeof(char *), by_name);
	for (int i = 0; i < n; i++)
	{
		memset(&tests[i], 0, sizeof(tests[i]));
		tests[i].name = files[i];
		tests[i].test_func = test_file;
		tests[i].initial_state = files[i];
	}
	/* every file on the skip list exists, so none is listed by mistake */
	for (size_t k = 0; k < NSKIPPED_FILES; k++)
	{
		bool		found = false;

		for (int i = 0; i < n; i++)
			found = found || strcmp(files[i], skipped_files[k].file) == 0;
		if (!found)
		{
			fprintf(stderr, "skip list names a missing file %s\n", skipped_files[k].file);
			return 1;
		}
	}
	rc = _cmocka_run_group_tests("json_schema_suite", tests, n, NULL, NULL);
	printf("# suite: %d groups passed (%d tests), %d skipped (%d with remote references)\n",
		   total_passed, total_tests, total_skipped, total_remote);
	for (int i = 0; i < nskip_counts; i++)
		printf("# skipped because of %s: %d groups\n", skip_counts[i].keyword,
			   skip_counts[i].groups);
	for (int i = 0; i < n; i++)
		free(files[i]);
	return rc;
}
