/*-------------------------------------------------------------------------
 * report.c
 *	  Prints the measured error of src/tokens.c as Markdown tables.
 *
 * Built and run by report.sh; its output is the measurement section of
 * docs/token-estimation.md. Reads counts.tsv and the corpus, the request
 * bodies with request-counts.tsv, and the recorded OpenAI exchanges, and
 * compares the estimator (and two naive rules, for scale) with the exact
 * counts. With --speed it prints the estimator's throughput instead, which
 * depends on the machine and so stays out of the docs; with --fit it refits
 * the feature costs of tokens.c to the corpus and prints them.
 *
 * It includes tokens.c itself, not its header, to reach the scanner's
 * feature counts for --fit.  The files are read by test/unit/corpus_util.h,
 * the same readers test_tokens.c checks its bounds with.
 *
 * IDENTIFICATION
 *	  test/tokens/report.c
 *-------------------------------------------------------------------------
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "tokens.c"
#include "../unit/corpus_util.h"		/* the readers test_tokens.c uses */

/* the most samples --fit takes: its design matrix is static */
#define MAX_SAMPLES 1000
#define MAX_KINDS 32

/* A sample's exact count in vocabulary 0 (o200k_base) or 1 (cl100k_base). */
static int64_t
reference(const Sample *s, int vocab)
{
	return vocab == 0 ? s->o200k : s->cl100k;
}

/* Error statistics of one estimator on one kind against one vocabulary. */
typedef struct Stats
{
	double		mean;
	double		mean_abs;
	double		worst;
} Stats;

static Stats
stats(const Sample *samples, size_t n, const char *kind, int vocab,
	  TextEstimator estimate)
{
	Stats		st = {0, 0, 0};
	int			count = 0;

	for (size_t i = 0; i < n; i++)
	{
		double		err;

		if (kind != NULL && strcmp(samples[i].kind, kind) != 0)
			continue;
		err = (double) (estimate(samples[i].text, samples[i].bytes) -
						reference(&samples[i], vocab)) /
			(double) reference(&samples[i], vocab);
		st.mean += err;
		st.mean_abs += err < 0 ? -err : err;
		if ((err < 0 ? -err : err) > (st.worst < 0 ? -st.worst : st.worst))
			st.worst = err;
		count++;
	}
	if (count > 0)
	{
		st.mean /= count;
		st.mean_abs /= count;
	}
	return st;
}

static void
corpus_tables(const Sample *samples, size_t n)
{
	const char *kinds[MAX_KINDS] = {NULL};
	size_t		nkinds = 0;

	for (size_t i = 0; i < n; i++)
	{
		bool		seen = false;

		for (size_t k = 0; k < nkinds; k++)
			seen |= strcmp(kinds[k], samples[i].kind) == 0;
		if (!seen && nkinds < MAX_KINDS)
			kinds[nkinds++] = samples[i].kind;
	}

	printf("Relative error of `aigov_tokens_estimate_text` per sample, by kind of text:\n"
		   "signed mean (bias), mean of the absolute error, and the worst sample.\n\n");
	printf("| kind | samples | bytes | o200k tokens | o200k bias | o200k mean abs | o200k worst "
		   "| cl100k bias | cl100k mean abs | cl100k worst |\n");
	printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (size_t k = 0; k <= nkinds; k++)
	{
		const char *kind = k < nkinds ? kinds[k] : NULL;
		Stats		o = stats(samples, n, kind, 0, our_estimator);
		Stats		c = stats(samples, n, kind, 1, our_estimator);
		int			count = 0;
		size_t		bytes = 0;
		long long	tokens = 0;

		for (size_t i = 0; i < n; i++)
			if (kind == NULL || strcmp(samples[i].kind, kind) == 0)
			{
				count++;
				bytes += samples[i].bytes;
				tokens += samples[i].o200k;
			}
		printf("| %s | %d | %zu | %lld | %+.1f%% | %.1f%% | %+.1f%% | %+.1f%% | %.1f%% | %+.1f%% |\n",
			   kind != NULL ? kind : "**all**", count, bytes, tokens,
			   100 * o.mean, 100 * o.mean_abs, 100 * o.worst,
			   100 * c.mean, 100 * c.mean_abs, 100 * c.worst);
	}

	printf("\nThe same samples under the two naive rules, against o200k "
		   "(mean abs / worst):\n\n");
	printf("| kind | characters/4 | ASCII bytes/4 + 1 per non-ASCII character | aigov |\n");
	printf("|---|---:|---:|---:|\n");
	for (size_t k = 0; k <= nkinds; k++)
	{
		const char *kind = k < nkinds ? kinds[k] : NULL;
		Stats		a = stats(samples, n, kind, 0, chars_over_4);
		Stats		b = stats(samples, n, kind, 0, ascii_over_4_plus_non_ascii);
		Stats		c = stats(samples, n, kind, 0, our_estimator);

		printf("| %s | %.1f%% / %+.1f%% | %.1f%% / %+.1f%% | %.1f%% / %+.1f%% |\n",
			   kind != NULL ? kind : "**all**",
			   100 * a.mean_abs, 100 * a.worst, 100 * b.mean_abs, 100 * b.worst,
			   100 * c.mean_abs, 100 * c.worst);
	}
}

static int64_t
estimate_request(const char *body, AigovTokensStatus *status)
{
	AigovTokenEstimate est;

	*status = aigov_tokens_estimate_request(body, strlen(body), &est);
	return est.prompt_tokens;
}

static void
request_table(const char *dir)
{
	RequestCount *rows;
	size_t		n = load_request_counts(dir, &rows);

	printf("\nWhole request bodies (`test/tokens/requests/`): `prompt_tokens` of\n"
		   "`aigov_tokens_estimate_request` against the same accounting done with exact\n"
		   "counts of every text (`request-counts.tsv`).\n\n");
	printf("| request | o200k reference | estimate | error |\n|---|---:|---:|---:|\n");
	for (size_t i = 0; i < n; i++)
	{
		char		path[1024];
		char	   *body;
		size_t		blen;
		AigovTokensStatus status;
		int64_t		est;

		snprintf(path, sizeof(path), "%s/requests/%s", dir, rows[i].file);
		body = read_file(path, &blen);
		est = estimate_request(body, &status);
		printf("| %s | %lld | %lld | %+.1f%% |\n", rows[i].file,
			   (long long) rows[i].o200k, (long long) est,
			   100.0 * (double) (est - rows[i].o200k) / (double) rows[i].o200k);
		free(body);
	}
	free(rows);
}

static const char *
media_of(const json_t *request)
{
	size_t		i,
				j;
	json_t	   *message,
			   *part;

	json_array_foreach(json_object_get(request, "messages"), i, message)
	{
		json_array_foreach(json_object_get(message, "content"), j, part)
		{
			const char *type = json_string_value(json_object_get(part, "type"));

			if (type != NULL && strcmp(type, "text") != 0)
				return type;
		}
	}
	return NULL;
}

static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static void
captures_table(const char *captures)
{
	DIR		   *dir = opendir(captures);
	struct dirent *entry;
	char	   *names[256];
	size_t		n = 0;

	if (dir == NULL)
	{
		fprintf(stderr, "cannot open %s\n", captures);
		exit(1);
	}
	while ((entry = readdir(dir)) != NULL && n < 256)
		if (strstr(entry->d_name, ".yaml") != NULL)
			names[n++] = strdup(entry->d_name);
	closedir(dir);
	qsort(names, n, sizeof(char *), compare_names);

	printf("\nRecorded OpenAI exchanges (`test/fixtures/openai-captures/`): the provider's\n"
		   "own `usage.prompt_tokens` against the estimate of the recorded request body.\n"
		   "Exchanges without a reported count (errors, streams without usage) are left out.\n\n");
	printf("| exchange | model | provider count | estimate | error | note |\n"
		   "|---|---|---:|---:|---:|---|\n");
	for (size_t i = 0; i < n; i++)
	{
		char		path[1024];
		Capture		cap;

		snprintf(path, sizeof(path), "%s/%s", captures, names[i]);
		load_capture(path, &cap);
		if (json_is_object(cap.request) && json_is_integer(cap.prompt_tokens))
		{
			AigovTokensStatus status;
			int64_t		est = estimate_request(cap.request_text, &status);
			long long	real = json_integer_value(cap.prompt_tokens);
			const char *media = media_of(cap.request);

			printf("| %s | %s | %lld | %lld | %+.1f%% | %s%s |\n", names[i],
				   json_string_value(json_object_get(cap.request, "model")), real,
				   (long long) est, 100.0 * (double) (est - real) / (double) real,
				   media != NULL ? "has " : "tested", media != NULL ? media : "");
		}
		free_capture(&cap);
		free(names[i]);
	}
}

/* Throughput of the text estimator over the corpus, repeated. */
static void
speed(const Sample *samples, size_t n)
{
	size_t		bytes = 0;
	int64_t		sink = 0;
	struct timespec t0,
				t1;
	double		secs;
	int			rounds = 200;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int r = 0; r < rounds; r++)
		for (size_t i = 0; i < n; i++)
		{
			sink += aigov_tokens_estimate_text(samples[i].text, samples[i].bytes);
			bytes += samples[i].bytes;
		}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("%zu bytes in %.3f s: %.0f MB/s, %.2f us per sample (checksum %lld)\n",
		   bytes, secs, (double) bytes / secs / 1e6,
		   secs * 1e6 / ((double) rounds * (double) n), (long long) sink);
}

/* Names of the features of tokens.c, for --fit. */
static const char *const feature_names[TF_COUNT] = {
	[TF_WORD] = "TF_WORD",
	[TF_WORD_LONG] = "TF_WORD_LONG",
	[TF_BLOB_CHAR] = "TF_BLOB_CHAR",
	[TF_LATIN] = "TF_LATIN",
	[TF_CYR_WORD] = "TF_CYR_WORD",
	[TF_CYR_LETTER] = "TF_CYR_LETTER",
	[TF_ALPHA_WORD] = "TF_ALPHA_WORD",
	[TF_ALPHA_LETTER] = "TF_ALPHA_LETTER",
	[TF_HAN_ZH] = "TF_HAN_ZH",
	[TF_HAN_JA] = "TF_HAN_JA",
	[TF_KANA] = "TF_KANA",
	[TF_HANGUL_WORD] = "TF_HANGUL_WORD",
	[TF_HANGUL] = "TF_HANGUL",
	[TF_DIGIT_GROUP] = "TF_DIGIT_GROUP",
	[TF_PUNCT_RUN] = "TF_PUNCT_RUN",
	[TF_PUNCT_CHAR] = "TF_PUNCT_CHAR",
	[TF_CJK_PUNCT] = "TF_CJK_PUNCT",
	[TF_SYMBOL] = "TF_SYMBOL",
	[TF_EMOJI] = "TF_EMOJI",
	[TF_JOINER] = "TF_JOINER",
	[TF_SPACE_RUN] = "TF_SPACE_RUN",
	[TF_NEWLINE_RUN] = "TF_NEWLINE_RUN",
	[TF_INVALID] = "TF_INVALID",
};

/*
 * Costs set from what o200k_base does with the piece alone, held at their
 * current value while the others are fitted (see feature_cost in tokens.c).
 */
static bool
feature_is_fixed(int f)
{
	return f == TF_DIGIT_GROUP || f == TF_NEWLINE_RUN || f == TF_JOINER ||
		f == TF_INVALID || f == TF_CJK_PUNCT || f == TF_EMOJI ||
		f == TF_HANGUL || f == TF_CYR_LETTER;
}

/*
 * Refit the free feature costs to the corpus: non-negative least squares of
 * the relative error against o200k_base, by coordinate descent on the
 * normal equations. Prints a feature_cost initializer to paste into
 * tokens.c, rounded to 5 thousandths, and the error it would give.
 */
static void
fit(const Sample *samples, size_t n)
{
	static double x[MAX_SAMPLES][TF_COUNT];
	double		b[MAX_SAMPLES];
	double		ata[TF_COUNT][TF_COUNT] = {{0}};
	double		atb[TF_COUNT] = {0};
	double		w[TF_COUNT];
	double		sum_abs = 0;

	if (n > MAX_SAMPLES)
	{
		fprintf(stderr, "--fit takes at most %d samples, the corpus has %zu\n",
				MAX_SAMPLES, n);
		exit(1);
	}
	for (size_t i = 0; i < n; i++)
	{
		TokensCounts acc;
		double		fixed = 0;

		memset(&acc, 0, sizeof(acc));
		scan_text((const unsigned char *) samples[i].text, samples[i].bytes, &acc);
		if (acc.n[TF_KANA] * 4 >= acc.n[TF_HAN_ZH])
		{
			acc.n[TF_HAN_JA] += acc.n[TF_HAN_ZH];
			acc.n[TF_HAN_ZH] = 0;
		}
		for (int f = 0; f < TF_COUNT; f++)
		{
			x[i][f] = (double) acc.n[f] / (double) samples[i].o200k;
			if (feature_is_fixed(f))
				fixed += x[i][f] * feature_cost[f] / 1000.0;
		}
		b[i] = 1.0 - fixed;
	}
	for (int f = 0; f < TF_COUNT; f++)
	{
		w[f] = feature_is_fixed(f) ? feature_cost[f] / 1000.0 : 0;
		for (size_t i = 0; i < n; i++)
			atb[f] += x[i][f] * b[i];
		for (int g = 0; g < TF_COUNT; g++)
			for (size_t i = 0; i < n; i++)
				ata[f][g] += x[i][f] * x[i][g];
	}
	for (int iter = 0; iter < 20000; iter++)
		for (int f = 0; f < TF_COUNT; f++)
		{
			double		r = atb[f];

			if (feature_is_fixed(f) || ata[f][f] == 0)
				continue;
			for (int g = 0; g < TF_COUNT; g++)
				if (g != f && !feature_is_fixed(g))
					r -= ata[f][g] * w[g];
			w[f] = r > 0 ? r / ata[f][f] : 0;
		}

	printf("static const int32_t feature_cost[TF_COUNT] = {\n");
	for (int f = 0; f < TF_COUNT; f++)
	{
		int			milli = feature_is_fixed(f) ? feature_cost[f] :
			(int) (w[f] * 200 + 0.5) * 5;

		printf("\t[%s] = %d,%s\n", feature_names[f], milli,
			   feature_is_fixed(f) ? "\t\t/* fixed */" : "");
		w[f] = milli / 1000.0;
	}
	printf("};\n");
	for (size_t i = 0; i < n; i++)
	{
		double		pred = 0;

		for (int f = 0; f < TF_COUNT; f++)
			pred += x[i][f] * w[f];
		sum_abs += pred > 1 ? pred - 1 : 1 - pred;
	}
	printf("/* mean absolute error over %zu samples: %.1f%% */\n", n, 100 * sum_abs / n);
}

/* The fixed costs of the request accounting, from tokens.h. */
static void
constants_table(void)
{
	printf("\nFixed costs of the request accounting (`src/tokens.h`), in tokens:\n\n");
	printf("| constant | tokens |\n|---|---:|\n");
	printf("| `AIGOV_TOKENS_PER_MESSAGE` | %d |\n", AIGOV_TOKENS_PER_MESSAGE);
	printf("| `AIGOV_TOKENS_REPLY_PRIMING` | %d |\n", AIGOV_TOKENS_REPLY_PRIMING);
	printf("| `AIGOV_TOKENS_PER_NAME` | %d |\n", AIGOV_TOKENS_PER_NAME);
	printf("| `AIGOV_TOKENS_PER_TOOL_CALL` | %d |\n", AIGOV_TOKENS_PER_TOOL_CALL);
	printf("| `AIGOV_TOKENS_TOOLS_BASE` | %d |\n", AIGOV_TOKENS_TOOLS_BASE);
	printf("| `AIGOV_TOKENS_PER_TOOL` | %d |\n", AIGOV_TOKENS_PER_TOOL);
	printf("| `AIGOV_TOKENS_RESPONSE_SCHEMA` | %d |\n", AIGOV_TOKENS_RESPONSE_SCHEMA);
	printf("| `AIGOV_TOKENS_IMAGE_LOW` | %d |\n", AIGOV_TOKENS_IMAGE_LOW);
	printf("| `AIGOV_TOKENS_IMAGE_HIGH` | %d |\n", AIGOV_TOKENS_IMAGE_HIGH);
}

int
main(int argc, char **argv)
{
	Sample	   *samples;
	size_t		n;

	if (argc < 3)
	{
		fprintf(stderr, "usage: report TOKENS_DIR CAPTURES_DIR [--speed|--fit]\n");
		return 2;
	}
	n = load_samples(argv[1], &samples);
	if (argc > 3 && strcmp(argv[3], "--speed") == 0)
		speed(samples, n);
	else if (argc > 3 && strcmp(argv[3], "--fit") == 0)
		fit(samples, n);
	else
	{
		corpus_tables(samples, n);
		request_table(argv[1]);
		constants_table();
		captures_table(argv[2]);
	}
	free_samples(samples, n);
	return 0;
}
