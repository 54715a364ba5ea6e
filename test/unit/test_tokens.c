/*-------------------------------------------------------------------------
 * test_tokens.c
 *	  cmocka tests of the token estimator (src/tokens.c).
 *
 * The estimator is checked against exact BPE counts committed beside it:
 * test/tokens/counts.tsv (every corpus sample, per kind of text, within a
 * bound per kind), test/tokens/request-counts.tsv (whole request bodies) and
 * the usage.prompt_tokens of the recorded OpenAI exchanges in
 * test/fixtures/openai-captures/. The bounds come from the measurement in
 * docs/token-estimation.md plus a small margin, so an estimator that drifts
 * (or a corpus edited without regen-counts.sh) fails here. The rest are
 * unit tests of edge cases and of every status of the request estimator.
 *
 * IDENTIFICATION
 *	  test/unit/test_tokens.c
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

#include "tokens.h"

/* the corpus readers fail the running test, not the whole binary */
#define CORPUS_FAIL(...) fail_msg(__VA_ARGS__)
#include "corpus_util.h"

#define TOKENS_DIR AIGOV_TEST_DIR "/tokens"
#define CAPTURES_DIR AIGOV_TEST_DIR "/fixtures/openai-captures"

/*
 * Per kind of text: the largest relative error allowed on any one sample
 * and on the kind's mean absolute error, against o200k_base. Measured
 * (docs/token-estimation.md) plus a few points.
 */
typedef struct KindBound
{
	const char *kind;
	double		worst;
	double		mean;
} KindBound;

static const KindBound kind_bounds[] = {
	{"english", 0.12, 0.06},
	{"code", 0.15, 0.09},
	{"json", 0.18, 0.08},
	{"encoded", 0.25, 0.10},
	{"chinese", 0.25, 0.12},
	{"japanese", 0.25, 0.15},
	{"korean", 0.25, 0.14},
	{"russian", 0.15, 0.11},
	{"european", 0.25, 0.14},
	{"mixed", 0.20, 0.10},
	{"other", 0.30, 0.15},
};

#define N_KINDS (sizeof(kind_bounds) / sizeof(kind_bounds[0]))
#define MIN_SAMPLES_PER_KIND 8

/* Request bodies against their reference accounting. */
#define REQUEST_BOUND 0.15

/* Recorded exchanges: relative bound, or this many tokens for tiny prompts. */
#define CAPTURE_BOUND 0.30
#define CAPTURE_SLACK 4
#define MIN_CAPTURES 8

static const KindBound *
find_bound(const char *kind)
{
	for (size_t k = 0; k < N_KINDS; k++)
		if (strcmp(kind_bounds[k].kind, kind) == 0)
			return &kind_bounds[k];
	return NULL;
}

/*
 * Check an estimator against the per-kind bounds: returns the number of
 * kinds it fails, and reports each failure when verbose.
 */
static int
kinds_failed(const Sample *samples, size_t n, TextEstimator estimate,
			 bool verbose)
{
	int			failed = 0;

	for (size_t k = 0; k < N_KINDS; k++)
	{
		const KindBound *b = &kind_bounds[k];
		double		sum_abs = 0;
		int			count = 0;
		bool		bad = false;

		for (size_t i = 0; i < n; i++)
		{
			double		err;

			if (strcmp(samples[i].kind, b->kind) != 0)
				continue;
			err = (double) (estimate(samples[i].text, samples[i].bytes) -
							samples[i].o200k) / (double) samples[i].o200k;
			sum_abs += err < 0 ? -err : err;
			count++;
			if (err > b->worst || err < -b->worst)
			{
				bad = true;
				if (verbose)
					print_error("%s/%s: estimate off by %+.1f%% (bound %.0f%%)\n",
								b->kind, samples[i].file, 100 * err,
								100 * b->worst);
			}
		}
		if (count > 0 && sum_abs / count > b->mean)
		{
			bad = true;
			if (verbose)
				print_error("%s: mean error %.1f%% (bound %.0f%%)\n",
							b->kind, 100 * sum_abs / count, 100 * b->mean);
		}
		failed += bad;
	}
	return failed;
}

/* The corpus is whole: known kinds, enough samples, counts up to date. */
static void
test_corpus_is_complete(void **state)
{
	Sample	   *samples;
	size_t		n = load_samples(TOKENS_DIR, &samples);

	for (size_t i = 0; i < n; i++)
	{
		if (find_bound(samples[i].kind) == NULL)
			fail_msg("kind \"%s\" has no bound in test_tokens.c", samples[i].kind);
		assert_true(samples[i].bytes >= 100 && samples[i].bytes <= 12000);
		assert_true(samples[i].o200k > 0 && samples[i].cl100k > 0);
	}
	for (size_t k = 0; k < N_KINDS; k++)
	{
		int			count = 0;

		for (size_t i = 0; i < n; i++)
			count += strcmp(samples[i].kind, kind_bounds[k].kind) == 0;
		if (count < MIN_SAMPLES_PER_KIND)
			fail_msg("kind \"%s\" has %d samples", kind_bounds[k].kind, count);
	}
	free_samples(samples, n);
}

/* Every sample within its kind's bound, and no kind biased on average. */
static void
test_corpus_within_bounds(void **state)
{
	Sample	   *samples;
	size_t		n = load_samples(TOKENS_DIR, &samples);
	double		sum = 0;

	assert_int_equal(kinds_failed(samples, n, our_estimator, true), 0);
	for (size_t i = 0; i < n; i++)
		sum += (double) (aigov_tokens_estimate_text(samples[i].text, samples[i].bytes) -
						 samples[i].o200k) / (double) samples[i].o200k;
	assert_true(sum / n < 0.05 && sum / n > -0.05);
	free_samples(samples, n);
}

/*
 * The bounds have teeth: the naive rules fail them, characters/4 on
 * Chinese and Japanese in particular, so reverting the estimator to either
 * would fail test_corpus_within_bounds.
 */
static void
test_bounds_reject_naive_rules(void **state)
{
	Sample	   *samples;
	size_t		n = load_samples(TOKENS_DIR, &samples);
	Sample	   *cjk = malloc(n * sizeof(Sample));
	size_t		ncjk = 0;

	assert_non_null(cjk);
	for (size_t i = 0; i < n; i++)
		if (strcmp(samples[i].kind, "chinese") == 0 ||
			strcmp(samples[i].kind, "japanese") == 0)
			cjk[ncjk++] = samples[i];
	assert_int_equal(kinds_failed(cjk, ncjk, chars_over_4, false), 2);
	assert_true(kinds_failed(samples, n, chars_over_4, false) >= 6);
	assert_true(kinds_failed(samples, n, ascii_over_4_plus_non_ascii, false) >= 6);
	free(cjk);
	free_samples(samples, n);
}

/* Estimate a request held in a NUL-terminated string; must be OK. */
static AigovTokenEstimate
estimate_ok(const char *json)
{
	AigovTokenEstimate est;
	size_t		len = strlen(json);
	char	   *buf = exact_copy(json, len);
	AigovTokensStatus status = aigov_tokens_estimate_request(buf, len, &est);

	free(buf);
	if (status != AIGOV_TOKENS_OK)
		fail_msg("status %d (%s) for %s", status,
				 aigov_tokens_status_message(status), json);
	return est;
}

static int64_t
text(const char *s)
{
	return aigov_tokens_estimate_text(s, strlen(s));
}

/* Whole request bodies against their reference counts. */
static void
test_requests_within_bounds(void **state)
{
	RequestCount *rows;
	size_t		n = load_request_counts(TOKENS_DIR, &rows);

	for (size_t i = 0; i < n; i++)
	{
		char		path[512];
		char	   *body;
		size_t		blen;
		AigovTokenEstimate est;
		double		err;

		snprintf(path, sizeof(path), TOKENS_DIR "/requests/%s", rows[i].file);
		body = read_file(path, &blen);
		est = estimate_ok(body);
		free(body);
		err = (double) (est.prompt_tokens - rows[i].o200k) / (double) rows[i].o200k;
		if (err > REQUEST_BOUND || err < -REQUEST_BOUND)
			fail_msg("%s: prompt estimate %lld, reference %lld (%+.1f%%)",
					 rows[i].file, (long long) est.prompt_tokens,
					 (long long) rows[i].o200k, 100 * err);
	}
	assert_true(n >= 7);
	free(rows);
}

/* Does the request send anything but text (images, audio)? */
static bool
has_media(const json_t *request)
{
	size_t		i,
				j;
	json_t	   *message,
			   *part;

	json_array_foreach(json_object_get(request, "messages"), i, message)
	{
		const json_t *content = json_object_get(message, "content");

		if (!json_is_array(content))
			continue;
		json_array_foreach(content, j, part)
		{
			const char *type = json_string_value(json_object_get(part, "type"));

			if (type == NULL || strcmp(type, "text") != 0)
				return true;
		}
	}
	return false;
}

/*
 * Calls check(name, capture) for every recorded exchange and returns how
 * many of them it accepted (returned true for).
 */
typedef bool (*CaptureCheck) (const char *name, const Capture *cap);

static int
for_each_capture(CaptureCheck check)
{
	DIR		   *dir = opendir(CAPTURES_DIR);
	struct dirent *entry;
	int			checked = 0;

	assert_non_null(dir);
	while ((entry = readdir(dir)) != NULL)
	{
		char		path[512];
		Capture		cap;

		if (strstr(entry->d_name, ".yaml") == NULL)
			continue;
		snprintf(path, sizeof(path), CAPTURES_DIR "/%s", entry->d_name);
		load_capture(path, &cap);
		if (check(entry->d_name, &cap))
			checked++;
		free_capture(&cap);
	}
	closedir(dir);
	return checked;
}

/*
 * Real provider counts: every recorded text-only exchange whose response
 * reports usage.prompt_tokens. Exchanges with images or audio are left out:
 * their cost depends on the media, which the body does not describe (the
 * docs compare them separately).
 */
static bool
check_prompt_count(const char *name, const Capture *cap)
{
	AigovTokenEstimate est;
	int64_t		real;
	int64_t		diff;

	if (!json_is_object(cap->request) || !json_is_integer(cap->prompt_tokens) ||
		has_media(cap->request))
		return false;
	est = estimate_ok(cap->request_text);
	real = json_integer_value(cap->prompt_tokens);
	diff = est.prompt_tokens - real;
	if ((diff > CAPTURE_SLACK || diff < -CAPTURE_SLACK) &&
		(diff > CAPTURE_BOUND * real || diff < -CAPTURE_BOUND * real))
		fail_msg("%s: estimate %lld, provider counted %lld",
				 name, (long long) est.prompt_tokens, (long long) real);
	return true;
}

static void
test_captures_within_bounds(void **state)
{
	assert_true(for_each_capture(check_prompt_count) >= MIN_CAPTURES);
}

/*
 * Every recorded exchange came from a fresh minute window, so limit minus
 * remaining tokens is what the provider's limiter charged for that one
 * request.  The character-based model (tokens.h) must reproduce it within
 * CHARGE_SLACK tokens or CHARGE_BOUND of it: the router reserves this
 * figure (plus the output budget) on OpenAI-style keys.
 */
#define CHARGE_SLACK 3
#define MIN_CHARGED_CAPTURES 15
#define CHARGE_BOUND 0.10

static bool
check_charge(const char *name, const Capture *cap)
{
	AigovTokenEstimate est;
	int64_t		real;
	int64_t		diff;

	if (!json_is_object(cap->request) || cap->limit_tokens <= 0 ||
		cap->remaining_tokens < 0 ||
		aigov_tokens_estimate_request(cap->request_text, strlen(cap->request_text),
									  &est) != AIGOV_TOKENS_OK)
		return false;
	real = cap->limit_tokens - cap->remaining_tokens;
	diff = est.charged_prompt_tokens - real;
	if ((diff > CHARGE_SLACK || diff < -CHARGE_SLACK) &&
		(diff > CHARGE_BOUND * real || diff < -CHARGE_BOUND * real))
		fail_msg("%s: modelled charge %lld, provider charged %lld",
				 name, (long long) est.charged_prompt_tokens, (long long) real);
	return true;
}

static void
test_capture_charges(void **state)
{
	assert_true(for_each_capture(check_charge) >= MIN_CHARGED_CAPTURES);
}

/* Empty and trivial texts. */
static void
test_text_basics(void **state)
{
	assert_int_equal(aigov_tokens_estimate_text(NULL, 0), 0);
	assert_int_equal(aigov_tokens_estimate_text(NULL, 10), 0);
	assert_int_equal(aigov_tokens_estimate_text("abc", 0), 0);
	assert_int_equal(text("a"), 1);
	assert_true(text(" ") >= 1 && text(" ") <= 2);
	assert_int_equal(text("\n"), 1);
	assert_int_equal(text("Hello"), 1);
	assert_int_equal(text("hello world"), 2);
	/* nine one-token words (o200k_base: 9) */
	assert_true(text("The quick brown fox jumps over the lazy dog") >= 8 &&
				text("The quick brown fox jumps over the lazy dog") <= 10);
	/* digits go in groups of three, one token each */
	assert_int_equal(text("123456789"), 3);
	assert_int_equal(text("1234567890"), 4);
	/* an embedded NUL does not end the text */
	assert_int_equal(aigov_tokens_estimate_text("ab\0cd ef gh", 11),
					 aigov_tokens_estimate_text("ab cd ef gh", 11));
}

/* CJK and other scripts cost far more per byte-quarter than ASCII prose. */
static void
test_text_scripts(void **state)
{
	/* 20 ideographs: about three-quarters of a token each */
	const char *zh = "令牌桶算法既能限制平均速率又允许突发流量";

	/* 20 kana and kanji */
	const char *ja = "データベースの索引は本の索引のようなもの";
	int64_t		nzh = text(zh);
	int64_t		nja = text(ja);

	assert_true(nzh >= 12 && nzh <= 20);
	assert_true(nja >= 12 && nja <= 24);
	/* characters/4 would say 5 */
	assert_true(nzh > 2 * chars_over_4(zh, strlen(zh)));
	/* emoji: about two tokens each, joiners one */
	assert_true(text("\xF0\x9F\x98\x84") >= 2 && text("\xF0\x9F\x98\x84") <= 3);
	assert_true(text("\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9") >= 5);
}

/* Invalid UTF-8 is counted byte by byte and never read past the end. */
static void
test_text_invalid_utf8(void **state)
{
	static const struct
	{
		const char *bytes;
		size_t		len;
	}			cases[] = {
		{"\xFF", 1},
		{"\xFF\xFE\xFD\xFC", 4},
		{"\xC0\xAF", 2},		/* overlong "/" */
		{"\xED\xA0\x80", 3},	/* surrogate */
		{"\xF4\x90\x80\x80", 4},	/* beyond U+10FFFF */
		{"\x80\x80\x80", 3},	/* stray continuation bytes */
		{"\xE4\xB8", 2},		/* truncated at the end */
		{"\xF0\x9F\x98", 3},	/* truncated 4-byte sequence */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		char	   *buf = exact_copy(cases[i].bytes, cases[i].len);
		int64_t		n = aigov_tokens_estimate_text(buf, cases[i].len);

		assert_true(n >= (int64_t) cases[i].len);
		assert_true(n <= 2 * (int64_t) cases[i].len);
		free(buf);
	}
	/* a truncated sequence after valid text, in an exact-size buffer */
	{
		const char *s = "abc \xE4\xB8\xAD\xE6";
		char	   *buf = exact_copy(s, strlen(s));

		assert_true(aigov_tokens_estimate_text(buf, strlen(s)) >= 3);
		free(buf);
	}
}

/* Long and repetitive input: linear, no overflow, no pathologies. */
static void
test_text_large(void **state)
{
	size_t		len = 4 * 1024 * 1024;
	char	   *buf = malloc(len);
	int64_t		n;

	assert_non_null(buf);
	for (size_t i = 0; i < len; i += 2)
	{
		buf[i] = 'a' + (char) (i / 2 % 26);
		buf[i + 1] = ' ';
	}
	n = aigov_tokens_estimate_text(buf, len);
	/* two million one-letter words */
	assert_true(n > 1800000 && n < 2200000);
	/* twice the text, twice the tokens, within rounding */
	assert_true(llabs(aigov_tokens_estimate_text(buf, len / 2) * 2 - n) <= 2);
	memset(buf, ' ', len);
	n = aigov_tokens_estimate_text(buf, len);
	assert_true(n > 0 && n < (int64_t) len / 4);
	memset(buf, '=', len);
	n = aigov_tokens_estimate_text(buf, len);
	assert_true(n > 0 && n < (int64_t) len / 4);
	free(buf);
}

/* Check one request's status, and that *out is reset as documented. */
static void
expect_status(const char *json, AigovTokensStatus expected, int bad_index)
{
	AigovTokenEstimate est = {12345, 12345, 12345, 12345};
	size_t		len = json != NULL ? strlen(json) : 0;
	char	   *buf = json != NULL ? exact_copy(json, len) : NULL;
	AigovTokensStatus status = aigov_tokens_estimate_request(buf, len, &est);

	free(buf);
	if (status != expected)
		fail_msg("status %d, expected %d, for %s", status, expected,
				 json != NULL ? json : "NULL");
	assert_int_equal(est.bad_message_index, bad_index);
	if (expected != AIGOV_TOKENS_OK)
	{
		assert_int_equal(est.prompt_tokens, 0);
		assert_int_equal(est.max_output_tokens, -1);
	}
}

#define MSG "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]"

static void
test_request_statuses(void **state)
{
	expect_status(NULL, AIGOV_TOKENS_BAD_JSON, -1);
	expect_status("", AIGOV_TOKENS_BAD_JSON, -1);
	expect_status("{", AIGOV_TOKENS_BAD_JSON, -1);
	expect_status("{\"model\":\"m\"," MSG "} x", AIGOV_TOKENS_BAD_JSON, -1);
	expect_status("{\"model\":\"m\",\"model\":\"n\"," MSG "}", AIGOV_TOKENS_BAD_JSON, -1);

	expect_status("[]", AIGOV_TOKENS_NOT_OBJECT, -1);
	expect_status("42", AIGOV_TOKENS_NOT_OBJECT, -1);
	expect_status("\"text\"", AIGOV_TOKENS_NOT_OBJECT, -1);
	expect_status("null", AIGOV_TOKENS_NOT_OBJECT, -1);

	expect_status("{" MSG "}", AIGOV_TOKENS_NO_MODEL, -1);
	expect_status("{\"model\":42," MSG "}", AIGOV_TOKENS_NO_MODEL, -1);
	expect_status("{\"model\":\"\"," MSG "}", AIGOV_TOKENS_NO_MODEL, -1);
	expect_status("{\"model\":null," MSG "}", AIGOV_TOKENS_NO_MODEL, -1);

	expect_status("{\"model\":\"m\"}", AIGOV_TOKENS_NO_MESSAGES, -1);
	expect_status("{\"model\":\"m\",\"messages\":[]}", AIGOV_TOKENS_NO_MESSAGES, -1);
	expect_status("{\"model\":\"m\",\"messages\":{}}", AIGOV_TOKENS_NO_MESSAGES, -1);
	expect_status("{\"model\":\"m\",\"messages\":\"hi\"}", AIGOV_TOKENS_NO_MESSAGES, -1);

	expect_status("{\"model\":\"m\",\"messages\":[\"hi\"]}", AIGOV_TOKENS_BAD_MESSAGE, 0);
	expect_status("{\"model\":\"m\",\"messages\":[{\"role\":\"user\"},"
				  "{\"role\":\"user\"},{\"content\":\"no role\"}]}",
				  AIGOV_TOKENS_BAD_MESSAGE, 2);
	expect_status("{\"model\":\"m\",\"messages\":[{\"role\":\"user\"},{\"role\":5}]}",
				  AIGOV_TOKENS_BAD_MESSAGE, 1);
	expect_status("{\"model\":\"m\",\"messages\":[{\"role\":\"\"}]}",
				  AIGOV_TOKENS_BAD_MESSAGE, 0);
	/* a bad message is reported before a bad budget */
	expect_status("{\"model\":\"m\",\"max_tokens\":0,\"messages\":[null]}",
				  AIGOV_TOKENS_BAD_MESSAGE, 0);

	expect_status("{\"model\":\"m\"," MSG ",\"max_tokens\":0}", AIGOV_TOKENS_BAD_MAX_TOKENS, -1);
	expect_status("{\"model\":\"m\"," MSG ",\"max_tokens\":-5}", AIGOV_TOKENS_BAD_MAX_TOKENS, -1);
	expect_status("{\"model\":\"m\"," MSG ",\"max_tokens\":1.5}", AIGOV_TOKENS_BAD_MAX_TOKENS, -1);
	expect_status("{\"model\":\"m\"," MSG ",\"max_tokens\":100.0}", AIGOV_TOKENS_BAD_MAX_TOKENS, -1);
	expect_status("{\"model\":\"m\"," MSG ",\"max_tokens\":\"100\"}", AIGOV_TOKENS_BAD_MAX_TOKENS, -1);
	expect_status("{\"model\":\"m\"," MSG ",\"max_tokens\":true}", AIGOV_TOKENS_BAD_MAX_TOKENS, -1);
	expect_status("{\"model\":\"m\"," MSG ",\"max_completion_tokens\":0}",
				  AIGOV_TOKENS_BAD_MAX_TOKENS, -1);
	/* both are checked, even when the preferred one is fine */
	expect_status("{\"model\":\"m\"," MSG ",\"max_completion_tokens\":10,\"max_tokens\":-1}",
				  AIGOV_TOKENS_BAD_MAX_TOKENS, -1);
	/* an integer beyond 64 bits cannot even be parsed */
	expect_status("{\"model\":\"m\"," MSG ",\"max_tokens\":99999999999999999999}",
				  AIGOV_TOKENS_BAD_JSON, -1);

	expect_status("{\"model\":\"m\"," MSG "}", AIGOV_TOKENS_OK, -1);
	expect_status("{\"model\":\"m\"," MSG ",\"max_tokens\":null}", AIGOV_TOKENS_OK, -1);

	/* out may be NULL */
	assert_int_equal(aigov_tokens_estimate_request("[]", 2, NULL), AIGOV_TOKENS_NOT_OBJECT);
	assert_int_equal(aigov_tokens_estimate_request("{\"model\":\"m\"," MSG "}",
												   strlen("{\"model\":\"m\"," MSG "}"), NULL),
					 AIGOV_TOKENS_OK);
}

/* max_completion_tokens wins over max_tokens; -1 when neither is given. */
static void
test_request_budget(void **state)
{
	AigovTokenEstimate est;

	est = estimate_ok("{\"model\":\"m\"," MSG "}");
	assert_int_equal(est.max_output_tokens, -1);
	est = estimate_ok("{\"model\":\"m\"," MSG ",\"max_tokens\":300}");
	assert_int_equal(est.max_output_tokens, 300);
	est = estimate_ok("{\"model\":\"m\"," MSG ",\"max_completion_tokens\":200}");
	assert_int_equal(est.max_output_tokens, 200);
	est = estimate_ok("{\"model\":\"m\"," MSG ",\"max_tokens\":300,\"max_completion_tokens\":200}");
	assert_int_equal(est.max_output_tokens, 200);
	est = estimate_ok("{\"model\":\"m\"," MSG ",\"max_completion_tokens\":null,\"max_tokens\":300}");
	assert_int_equal(est.max_output_tokens, 300);
	est = estimate_ok("{\"model\":\"m\"," MSG ",\"max_tokens\":9223372036854775807}");
	assert_int_equal(est.max_output_tokens, INT64_MAX);
	assert_int_equal(est.bad_message_index, -1);
}

/* aigov_tokens_total: the reservation, saturating. */
static void
test_total(void **state)
{
	AigovTokenEstimate est = {100, 50, -1, 0};

	assert_int_equal(aigov_tokens_total(&est, 4096), 150);
	est.max_output_tokens = -1;
	assert_int_equal(aigov_tokens_total(&est, 4096), 4196);
	assert_int_equal(aigov_tokens_total(&est, -7), 100);
	est.max_output_tokens = INT64_MAX;
	assert_int_equal(aigov_tokens_total(&est, 4096), INT64_MAX);
	est.max_output_tokens = INT64_MAX - 100;
	assert_int_equal(aigov_tokens_total(&est, 4096), INT64_MAX);
	est.max_output_tokens = INT64_MAX - 101;
	assert_int_equal(aigov_tokens_total(&est, 4096), INT64_MAX - 1);
	assert_int_equal(aigov_tokens_total(NULL, 4096), 0);

	est = estimate_ok("{\"model\":\"m\"," MSG ",\"max_tokens\":9223372036854775807}");
	assert_int_equal(aigov_tokens_total(&est, 0), INT64_MAX);
}

/* The accounting of messages: framing, roles, contents, names. */
static void
test_request_messages(void **state)
{
	int64_t		one = AIGOV_TOKENS_PER_MESSAGE + text("user") + text("Hello there");
	AigovTokenEstimate est;

	est = estimate_ok("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello there\"}]}");
	assert_int_equal(est.prompt_tokens, AIGOV_TOKENS_REPLY_PRIMING + one);

	/* N messages cost N times one, plus the priming once */
	est = estimate_ok("{\"model\":\"m\",\"messages\":["
					  "{\"role\":\"user\",\"content\":\"Hello there\"},"
					  "{\"role\":\"user\",\"content\":\"Hello there\"},"
					  "{\"role\":\"user\",\"content\":\"Hello there\"}]}");
	assert_int_equal(est.prompt_tokens, AIGOV_TOKENS_REPLY_PRIMING + 3 * one);

	/* a name costs its text plus one */
	est = estimate_ok("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"name\":\"alice_01\",\"content\":\"Hello there\"}]}");
	assert_int_equal(est.prompt_tokens, AIGOV_TOKENS_REPLY_PRIMING + one +
					 AIGOV_TOKENS_PER_NAME + text("alice_01"));

	/* null and absent content cost only the framing and role */
	est = estimate_ok("{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"content\":null},{\"role\":\"assistant\"}]}");
	assert_int_equal(est.prompt_tokens, AIGOV_TOKENS_REPLY_PRIMING +
					 2 * (AIGOV_TOKENS_PER_MESSAGE + text("assistant")));

	/* content of another type is taken as its JSON text */
	est = estimate_ok("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":{\"a\":[1,2]}}]}");
	assert_int_equal(est.prompt_tokens, AIGOV_TOKENS_REPLY_PRIMING +
					 AIGOV_TOKENS_PER_MESSAGE + text("user") + text("{\"a\":[1,2]}"));

	/* CJK content is counted as CJK, not as escaped ASCII */
	est = estimate_ok("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\\u4ee4\\u724c\\u6876\"}]}");
	assert_int_equal(est.prompt_tokens, AIGOV_TOKENS_REPLY_PRIMING +
					 AIGOV_TOKENS_PER_MESSAGE + text("user") + text("令牌桶"));
}

/* Content arrays: text parts, images by detail, other parts as JSON. */
static void
test_request_content_parts(void **state)
{
	int64_t		base = AIGOV_TOKENS_REPLY_PRIMING + AIGOV_TOKENS_PER_MESSAGE + text("user");
	AigovTokenEstimate est;

	est = estimate_ok("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":["
					  "{\"type\":\"text\",\"text\":\"What is in this picture?\"},"
					  "{\"type\":\"text\",\"text\":\"Answer briefly.\"}]}]}");
	assert_int_equal(est.prompt_tokens, base + text("What is in this picture?") +
					 text("Answer briefly."));

	est = estimate_ok("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":["
					  "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://x/a.png\",\"detail\":\"low\"}}]}]}");
	assert_int_equal(est.prompt_tokens, base + AIGOV_TOKENS_IMAGE_LOW);

	est = estimate_ok("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":["
					  "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://x/a.png\",\"detail\":\"high\"}},"
					  "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://x/b.png\",\"detail\":\"auto\"}},"
					  "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,iVBORw0KGgo=\"}},"
					  "{\"type\":\"image_url\",\"image_url\":\"https://x/legacy.png\"}]}]}");
	assert_int_equal(est.prompt_tokens, base + 4 * AIGOV_TOKENS_IMAGE_HIGH);

	/* other parts, and text parts without a text string, by their JSON */
	est = estimate_ok("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":["
					  "{\"type\":\"input_audio\",\"input_audio\":{\"data\":\"UklGRiQAAABXQVZF\",\"format\":\"wav\"}},"
					  "{\"type\":\"text\",\"text\":7},"
					  "\"bare string\"]}]}");
	assert_int_equal(est.prompt_tokens, base +
					 text("{\"type\":\"input_audio\",\"input_audio\":{\"data\":\"UklGRiQAAABXQVZF\",\"format\":\"wav\"}}") +
					 text("{\"type\":\"text\",\"text\":7}") +
					 text("\"bare string\""));

	/* an empty array is no content */
	est = estimate_ok("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[]}]}");
	assert_int_equal(est.prompt_tokens, base);
}

/* Assistant tool calls and legacy function calls. */
static void
test_request_tool_calls(void **state)
{
	int64_t		base = AIGOV_TOKENS_REPLY_PRIMING + AIGOV_TOKENS_PER_MESSAGE + text("assistant");
	int64_t		call1 = AIGOV_TOKENS_PER_TOOL_CALL + text("get_weather") +
		text("{\"city\":\"Leeds\",\"unit\":\"celsius\"}");
	int64_t		call2 = AIGOV_TOKENS_PER_TOOL_CALL + text("get_time") + text("{}");
	AigovTokenEstimate est;

	est = estimate_ok("{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
					  "{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
					  "\"arguments\":\"{\\\"city\\\":\\\"Leeds\\\",\\\"unit\\\":\\\"celsius\\\"}\"}},"
					  "{\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":\"get_time\",\"arguments\":\"{}\"}}]}]}");
	assert_int_equal(est.prompt_tokens, base + call1 + call2);

	/* a call of another type counts by its JSON */
	est = estimate_ok("{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"tool_calls\":["
					  "{\"type\":\"custom\",\"custom\":{\"name\":\"grep\",\"input\":\"TODO\"}}]}]}");
	assert_int_equal(est.prompt_tokens, base + AIGOV_TOKENS_PER_TOOL_CALL +
					 text("{\"type\":\"custom\",\"custom\":{\"name\":\"grep\",\"input\":\"TODO\"}}"));

	est = estimate_ok("{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"content\":null,"
					  "\"function_call\":{\"name\":\"get_time\",\"arguments\":\"{}\"}}]}");
	assert_int_equal(est.prompt_tokens, base + call2);

	/* the tool's answer is a message like any other */
	est = estimate_ok("{\"model\":\"m\",\"messages\":[{\"role\":\"tool\",\"tool_call_id\":\"call_2\",\"content\":\"09:41\"}]}");
	assert_int_equal(est.prompt_tokens, AIGOV_TOKENS_REPLY_PRIMING +
					 AIGOV_TOKENS_PER_MESSAGE + text("tool") + text("09:41"));
}

/* Tool definitions and response schemas. */
static void
test_request_tools_and_schema(void **state)
{
	int64_t		base = AIGOV_TOKENS_REPLY_PRIMING + AIGOV_TOKENS_PER_MESSAGE +
		text("user") + text("hi");
	const char *params = "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"},"
		"\"days\":{\"type\":\"integer\",\"maximum\":14}},\"required\":[\"city\"]}";
	int64_t		weather = text("get_forecast") + text("Forecast for a city.") + text(params);
	char		body[2048];
	AigovTokenEstimate est;

	snprintf(body, sizeof(body),
			 "{\"model\":\"m\"," MSG ",\"tools\":[{\"type\":\"function\",\"function\":"
			 "{\"name\":\"get_forecast\",\"description\":\"Forecast for a city.\",\"parameters\":%s}}]}",
			 params);
	est = estimate_ok(body);
	assert_int_equal(est.prompt_tokens, base + AIGOV_TOKENS_TOOLS_BASE +
					 AIGOV_TOKENS_PER_TOOL + weather);

	/* two tools: the preamble once; a non-function tool by its JSON */
	snprintf(body, sizeof(body),
			 "{\"model\":\"m\"," MSG ",\"tools\":[{\"type\":\"function\",\"function\":"
			 "{\"name\":\"get_forecast\",\"description\":\"Forecast for a city.\",\"parameters\":%s}},"
			 "{\"type\":\"web_search\"}]}",
			 params);
	est = estimate_ok(body);
	assert_int_equal(est.prompt_tokens, base + AIGOV_TOKENS_TOOLS_BASE +
					 2 * AIGOV_TOKENS_PER_TOOL + weather + text("{\"type\":\"web_search\"}"));

	/* legacy functions, no parameters */
	est = estimate_ok("{\"model\":\"m\"," MSG ",\"functions\":[{\"name\":\"now\"}]}");
	assert_int_equal(est.prompt_tokens, base + AIGOV_TOKENS_TOOLS_BASE +
					 AIGOV_TOKENS_PER_TOOL + text("now"));

	/* an empty tools array costs nothing */
	est = estimate_ok("{\"model\":\"m\"," MSG ",\"tools\":[]}");
	assert_int_equal(est.prompt_tokens, base);

	snprintf(body, sizeof(body),
			 "{\"model\":\"m\"," MSG ",\"response_format\":{\"type\":\"json_schema\","
			 "\"json_schema\":{\"name\":\"forecast\",\"strict\":true,\"schema\":%s}}}",
			 params);
	est = estimate_ok(body);
	assert_int_equal(est.prompt_tokens, base + AIGOV_TOKENS_RESPONSE_SCHEMA + text(params));

	/* json_object mode has no schema to count */
	est = estimate_ok("{\"model\":\"m\"," MSG ",\"response_format\":{\"type\":\"json_object\"}}");
	assert_int_equal(est.prompt_tokens, base);

	/* real numbers are written back compactly, not as 0.10000000000000001 */
	est = estimate_ok("{\"model\":\"m\"," MSG ",\"response_format\":{\"type\":\"json_schema\","
					  "\"json_schema\":{\"schema\":{\"minimum\":0.1}}}}");
	assert_int_equal(est.prompt_tokens, base + AIGOV_TOKENS_RESPONSE_SCHEMA +
					 text("{\"minimum\":0.1}"));
	assert_true(text("{\"minimum\":0.1}") < text("{\"minimum\":0.10000000000000001}"));
}

/* A long string in a JSON part is scanned in place, whatever its length. */
static void
test_request_long_json_text(void **state)
{
	size_t		n = 100000;
	size_t		cap = n + 256;
	char	   *body = malloc(cap);
	char	   *data = malloc(n + 1);
	char	   *part = malloc(n + 128);
	AigovTokenEstimate est;
	int64_t		base = AIGOV_TOKENS_REPLY_PRIMING + AIGOV_TOKENS_PER_MESSAGE + text("user");

	assert_non_null(body);
	assert_non_null(data);
	assert_non_null(part);
	for (size_t i = 0; i < n; i++)
		data[i] = "abcdefghij"[i % 10];
	data[n] = '\0';
	snprintf(body, cap, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
			 "[{\"type\":\"file\",\"file\":{\"file_data\":\"%s\"}}]}]}", data);
	snprintf(part, n + 128, "{\"type\":\"file\",\"file\":{\"file_data\":\"%s\"}}", data);
	est = estimate_ok(body);
	/* a chunk boundary may split one word: allow a token either way */
	assert_true(llabs(est.prompt_tokens - (base + text(part))) <= 1);
	free(part);
	free(data);
	free(body);
}

static void
test_status_messages(void **state)
{
	for (int s = AIGOV_TOKENS_OK; s <= AIGOV_TOKENS_BAD_MAX_TOKENS; s++)
	{
		const char *m = aigov_tokens_status_message((AigovTokensStatus) s);
		size_t		len = strlen(m);

		assert_true(len > 0);
		/* error message style: starts lowercase, no trailing period */
		assert_true(m[0] == '"' || (m[0] >= 'a' && m[0] <= 'z'));
		assert_true(m[len - 1] != '.');
		for (int t = AIGOV_TOKENS_OK; t < s; t++)
			assert_string_not_equal(m, aigov_tokens_status_message((AigovTokensStatus) t));
	}
	assert_string_equal(aigov_tokens_status_message((AigovTokensStatus) 99),
						"unknown token estimation status");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus_is_complete),
		cmocka_unit_test(test_corpus_within_bounds),
		cmocka_unit_test(test_bounds_reject_naive_rules),
		cmocka_unit_test(test_requests_within_bounds),
		cmocka_unit_test(test_captures_within_bounds),
		cmocka_unit_test(test_text_basics),
		cmocka_unit_test(test_text_scripts),
		cmocka_unit_test(test_text_invalid_utf8),
		cmocka_unit_test(test_text_large),
		cmocka_unit_test(test_request_statuses),
		cmocka_unit_test(test_request_budget),
		cmocka_unit_test(test_total),
		cmocka_unit_test(test_request_messages),
		cmocka_unit_test(test_request_content_parts),
		cmocka_unit_test(test_request_tool_calls),
		cmocka_unit_test(test_request_tools_and_schema),
		cmocka_unit_test(test_request_long_json_text),
		cmocka_unit_test(test_status_messages),
		cmocka_unit_test(test_capture_charges),
	};

	return cmocka_run_group_tests_name("tokens", tests, NULL, NULL);
}
