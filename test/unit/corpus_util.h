/*-------------------------------------------------------------------------
 * corpus_util.h
 *	  Readers of the token-count references, shared by test_tokens.c and
 *	  test/tokens/report.c.
 *
 * Both measure src/tokens.c against the same files: test/tokens/counts.tsv
 * with the corpus it names, request-counts.tsv with the request bodies,
 * and the recorded OpenAI exchanges.  Reading them in one place keeps the
 * unit test's bounds and the documented measurement about the same data.
 *
 * Header-only (test/unit/Makefile links each test_X.c alone, and report.sh
 * builds report.c alone), so every helper is static inline.  The two
 * includers fail differently: the unit test through cmocka, the report by
 * exiting.  So every failure goes through CORPUS_FAIL(fmt, ...), which an
 * includer may define before including this file; the default prints the
 * message and exits with status 1.
 *
 * Needs jansson, and the declarations of tokens.h.
 *
 * IDENTIFICATION
 *	  test/unit/corpus_util.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_CORPUS_UTIL_H
#define AIGOV_CORPUS_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "tokens.h"

#ifndef CORPUS_FAIL
#define CORPUS_FAIL(...) \
	do { \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
		exit(1); \
	} while (0)
#endif

/* One row of counts.tsv with its text loaded. */
typedef struct Sample
{
	char		kind[32];
	char		file[128];
	size_t		bytes;
	int64_t		o200k;
	int64_t		cl100k;
	char	   *text;			/* exactly bytes long, not NUL-terminated */
} Sample;

/* One row of request-counts.tsv: a body under requests/ and its counts. */
typedef struct RequestCount
{
	char		file[128];
	int64_t		o200k;
	int64_t		cl100k;
} RequestCount;

/*
 * What a recorded exchange says about its prompt: the request body (text
 * and parsed) and the provider's usage.prompt_tokens, each NULL when the
 * exchange lacks it.
 */
typedef struct Capture
{
	char	   *request_text;
	json_t	   *request;
	json_t	   *response;
	const json_t *prompt_tokens;	/* borrowed from response */
	int64_t		limit_tokens;	/* x-ratelimit-limit-tokens, else -1 */
	int64_t		remaining_tokens;	/* x-ratelimit-remaining-tokens, else -1 */
} Capture;

/* A text estimator: ours, or a naive rule it is compared with. */
typedef int64_t (*TextEstimator) (const char *text, size_t len);

/* Read a whole file; the buffer has one extra NUL byte past *len. */
static inline char *
read_file(const char *path, size_t *len)
{
	FILE	   *fp = fopen(path, "rb");
	char	   *buf;
	long		size = 0;

	if (fp == NULL)
		CORPUS_FAIL("cannot open %s", path);
	if (fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) < 0 ||
		fseek(fp, 0, SEEK_SET) != 0)
		CORPUS_FAIL("cannot seek in %s", path);
	buf = malloc((size_t) size + 1);
	if (buf == NULL || fread(buf, 1, (size_t) size, fp) != (size_t) size)
		CORPUS_FAIL("cannot read %s", path);
	fclose(fp);
	buf[size] = '\0';
	*len = (size_t) size;
	return buf;
}

/*
 * Copy len bytes into a buffer of exactly that size, so that ASan reports
 * any read past the end of the text.
 */
static inline char *
exact_copy(const char *src, size_t len)
{
	char	   *buf = malloc(len > 0 ? len : 1);

	if (buf == NULL)
		CORPUS_FAIL("out of memory copying %zu bytes", len);
	memcpy(buf, src, len);
	return buf;
}

/*
 * Read the TSV file at path and split it into its data rows (empty lines
 * skipped), after checking that its first line is header.  The rows point
 * into *text; the caller frees both *text and *rows.
 */
static inline size_t
tsv_rows(const char *path, const char *header, char **text, char ***rows)
{
	size_t		len;
	char	   *save = NULL;
	char	   *line;
	size_t		n = 0;

	*text = read_file(path, &len);
	/* no more rows than bytes, and one slot even for an empty file */
	*rows = malloc((len + 1) * sizeof(char *));
	if (*rows == NULL)
		CORPUS_FAIL("out of memory splitting %s", path);
	line = strtok_r(*text, "\n", &save);
	if (line == NULL || strcmp(line, header) != 0)
		CORPUS_FAIL("%s does not start with the header \"%s\"", path, header);
	while ((line = strtok_r(NULL, "\n", &save)) != NULL)
		(*rows)[n++] = line;
	return n;
}

/*
 * Load dir/counts.tsv and every sample it names into *out; returns the
 * sample count, and the caller frees with free_samples().  A sample whose
 * size differs from its row fails: its counts are stale.
 */
static inline size_t
load_samples(const char *dir, Sample **out)
{
	char		path[1024];
	char	   *tsv;
	char	  **rows;
	size_t		n;
	Sample	   *samples;

	snprintf(path, sizeof(path), "%s/counts.tsv", dir);
	n = tsv_rows(path, "kind\tfile\tbytes\to200k\tcl100k", &tsv, &rows);
	samples = calloc(n > 0 ? n : 1, sizeof(Sample));
	if (samples == NULL)
		CORPUS_FAIL("out of memory loading %s", path);
	for (size_t i = 0; i < n; i++)
	{
		Sample	   *s = &samples[i];
		long long	o200k,
					cl100k;
		size_t		bytes,
					flen;
		char	   *text;

		if (sscanf(rows[i], "%31[^\t]\t%127[^\t]\t%zu\t%lld\t%lld",
				   s->kind, s->file, &bytes, &o200k, &cl100k) != 5)
			CORPUS_FAIL("bad counts.tsv line: %s", rows[i]);
		s->bytes = bytes;
		s->o200k = o200k;
		s->cl100k = cl100k;
		snprintf(path, sizeof(path), "%s/corpus/%s/%s", dir, s->kind, s->file);
		text = read_file(path, &flen);
		if (flen != s->bytes)
			CORPUS_FAIL("%s has %zu bytes, counts.tsv says %zu: run test/tokens/regen-counts.sh",
						path, flen, s->bytes);
		s->text = exact_copy(text, flen);
		free(text);
	}
	free(rows);
	free(tsv);
	*out = samples;
	return n;
}

static inline void
free_samples(Sample *samples, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(samples[i].text);
	free(samples);
}

/*
 * Load the rows of dir/request-counts.tsv into *out (the caller frees it);
 * returns the row count.  The bodies themselves stay on disk.
 */
static inline size_t
load_request_counts(const char *dir, RequestCount **out)
{
	char		path[1024];
	char	   *tsv;
	char	  **rows;
	size_t		n;
	RequestCount *counts;

	snprintf(path, sizeof(path), "%s/request-counts.tsv", dir);
	n = tsv_rows(path, "file\to200k\tcl100k", &tsv, &rows);
	counts = calloc(n > 0 ? n : 1, sizeof(RequestCount));
	if (counts == NULL)
		CORPUS_FAIL("out of memory loading %s", path);
	for (size_t i = 0; i < n; i++)
	{
		long long	o200k,
					cl100k;

		if (sscanf(rows[i], "%127[^\t]\t%lld\t%lld",
				   counts[i].file, &o200k, &cl100k) != 3)
			CORPUS_FAIL("bad request-counts.tsv line: %s", rows[i]);
		counts[i].o200k = o200k;
		counts[i].cl100k = cl100k;
	}
	free(rows);
	free(tsv);
	*out = counts;
	return n;
}

/*
 * The next "body:" of a recorded exchange after *from, as text: either a
 * block scalar ("body: |-" and indented lines) or a double-quoted scalar,
 * whose escapes are those of JSON in these files. NULL when there is none;
 * the caller frees it.
 */
static inline char *
yaml_body(const char **from)
{
	const char *p = strstr(*from, "body: ");
	const char *line;
	size_t		indent = 0;
	char	   *out;
	size_t		used = 0;

	if (p == NULL)
		return NULL;
	p += strlen("body: ");
	if (*p == '"')
	{
		const char *eol = strchr(p, '\n');
		json_t	   *str = json_loadb(p, eol != NULL ? (size_t) (eol - p) : strlen(p),
									 JSON_DECODE_ANY, NULL);

		out = json_is_string(str) ? strdup(json_string_value(str)) : NULL;
		json_decref(str);
		*from = eol != NULL ? eol : p + strlen(p);
		return out;
	}
	if (strncmp(p, "|-\n", 3) != 0)
	{
		*from = p;
		return yaml_body(from);
	}
	line = p + 3;
	while (line[indent] == ' ')
		indent++;
	out = malloc(strlen(line) + 1);
	if (out == NULL)
		CORPUS_FAIL("out of memory reading a recorded body");
	while (*line != '\0')
	{
		const char *end = strchr(line, '\n');
		size_t		n = end != NULL ? (size_t) (end - line) : strlen(line);
		size_t		lead = 0;

		while (lead < n && line[lead] == ' ')
			lead++;
		if (lead < indent && lead < n)
			break;				/* back to a shallower key */
		if (n > indent)
		{
			memcpy(out + used, line + indent, n - indent);
			used += n - indent;
		}
		out[used++] = '\n';
		if (end == NULL)
			break;
		line = end + 1;
	}
	out[used] = '\0';
	*from = line;
	return out;
}

/*
 * The number on the line after a YAML header key (a list of one quoted
 * value), matched without regard to case; -1 when absent.
 */
static inline int64_t
yaml_header_number(const char *yaml, const char *name)
{
	size_t		n = strlen(name);

	for (const char *p = yaml; *p != '\0'; p++)
	{
		if (strncasecmp(p, name, n) == 0 && p[n] == ':')
		{
			const char *v = strchr(p + n, '\n');

			while (v != NULL && *v != '\0' && strchr("\n -\"", *v) != NULL)
				v++;
			return v != NULL && *v >= '0' && *v <= '9' ? strtoll(v, NULL, 10) : -1;
		}
	}
	return -1;
}

/*
 * Read the recorded exchange at path: its first body is the request, the
 * next the response.  Release with free_capture().
 */
static inline void
load_capture(const char *path, Capture *cap)
{
	size_t		len;
	char	   *yaml = read_file(path, &len);
	const char *cursor = yaml;
	char	   *response_text;

	cap->request_text = yaml_body(&cursor);
	response_text = cap->request_text != NULL ? yaml_body(&cursor) : NULL;
	cap->request = cap->request_text != NULL ?
		json_loads(cap->request_text, 0, NULL) : NULL;
	cap->response = response_text != NULL ?
		json_loads(response_text, 0, NULL) : NULL;
	cap->prompt_tokens = json_object_get(json_object_get(cap->response, "usage"),
										 "prompt_tokens");
	cap->limit_tokens = yaml_header_number(yaml, "X-Ratelimit-Limit-Tokens");
	cap->remaining_tokens = yaml_header_number(yaml, "X-Ratelimit-Remaining-Tokens");
	free(response_text);
	free(yaml);
}

static inline void
free_capture(Capture *cap)
{
	json_decref(cap->request);
	json_decref(cap->response);
	free(cap->request_text);
}

/* The estimator under measurement. */
static inline int64_t
our_estimator(const char *text, size_t len)
{
	return aigov_tokens_estimate_text(text, len);
}

/* Plain characters/4, the rule the estimator replaces. */
static inline int64_t
chars_over_4(const char *text, size_t len)
{
	int64_t		chars = 0;

	for (size_t i = 0; i < len; i++)
		if (((unsigned char) text[i] & 0xC0) != 0x80)
			chars++;
	return (chars + 3) / 4;
}

/* ASCII bytes/4 plus one per non-ASCII character, the first rule. */
static inline int64_t
ascii_over_4_plus_non_ascii(const char *text, size_t len)
{
	int64_t		ascii = 0;
	int64_t		other = 0;

	for (size_t i = 0; i < len; i++)
	{
		unsigned char b = (unsigned char) text[i];

		if (b < 0x80)
			ascii++;
		else if ((b & 0xC0) != 0x80)
			other++;
	}
	return (ascii + 3) / 4 + other;
}

#endif							/* AIGOV_CORPUS_UTIL_H */
