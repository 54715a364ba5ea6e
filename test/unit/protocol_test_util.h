/*-------------------------------------------------------------------------
 * protocol_test_util.h
 *	  Fixture reading and header feeding shared by the protocol unit tests.
 *
 * Header-only, because test/unit/Makefile links each test_X.c alone with
 * the pure sources; every helper is static inline, so a test that does not
 * call one draws no unused-function warning under -Werror.
 *
 * Bodies and header lines go to the parsers in buffers of their exact
 * length, without a terminating NUL, so that ASan reports any read past
 * the length they were given.
 *
 * A test of one dialect defines PT_DIALECT (its AigovApiStyle) and PT_NOW
 * (the clock each call passes, in microseconds) before including this
 * file, and gets feed(), feed_file(), feed_file_raw(), classify() and
 * classify_str() bound to them.  Without PT_DIALECT only the
 * dialect-free helpers are defined (test_protocol_common.c feeds several
 * dialects through feed_as()).
 *
 * IDENTIFICATION
 *	  test/unit/protocol_test_util.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_PROTOCOL_TEST_UTIL_H
#define AIGOV_PROTOCOL_TEST_UTIL_H

/* cmocka.h needs these before it */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "protocol.h"

#ifndef AIGOV_TEST_DIR
#error "AIGOV_TEST_DIR must be the absolute path of test/"
#endif

/* A heap copy of exactly n bytes, without a terminating NUL. */
static inline char *
dup_exact(const char *s, size_t n)
{
	char	   *p = malloc(n > 0 ? n : 1);

	assert_non_null(p);
	memcpy(p, s, n);
	return p;
}

/*
 * Read a file into a buffer of exactly its size (no NUL terminator); the
 * caller frees it.  An empty file is allowed here (recorded exchanges may
 * have empty parts); fixture() refuses one.
 */
static inline char *
read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	long		n;
	char	   *buf;

	if (f == NULL)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	assert_int_equal(fseek(f, 0, SEEK_SET), 0);
	buf = malloc(n > 0 ? (size_t) n : 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t) n, f), (size_t) n);
	fclose(f);
	*len = (size_t) n;
	return buf;
}

/*
 * A file of test/fixtures/protocols/, read as read_file() does.  Every
 * fixture has content: an empty one means a broken checkout, not a case.
 */
static inline char *
fixture(const char *name, size_t *len)
{
	char		path[1024];
	char	   *buf;

	snprintf(path, sizeof(path), "%s/fixtures/protocols/%s", AIGOV_TEST_DIR, name);
	buf = read_file(path, len);
	assert_true(*len > 0);
	return buf;
}

/* Feed one header line the way libcurl does: with CRLF, no NUL. */
static inline void
feed_as(AigovApiStyle style, int64_t now, AigovRateHeaders *h,
		const char *line)
{
	size_t		n = strlen(line);
	char	   *p = malloc(n + 2);

	assert_non_null(p);
	memcpy(p, line, n);
	memcpy(p + n, "\r\n", 2);
	aigov_protocol_header_line(style, p, n + 2, now, h);
	free(p);
}

/* Fail with both class names (and what the parser kept) on a mismatch. */
static inline void
expect_class(const AigovClassification *c, AigovErrorClass cls)
{
	if (c->cls != cls)
		fail_msg("got %s, expected %s (code \"%s\", message \"%s\")",
				 aigov_protocol_class_name(c->cls),
				 aigov_protocol_class_name(cls), c->code, c->message);
}

#ifdef PT_DIALECT

#ifndef PT_NOW
#error "define PT_NOW (the tests' clock) along with PT_DIALECT"
#endif

/* One header line of this dialect at PT_NOW, CRLF-terminated. */
static inline void
feed(AigovRateHeaders *h, const char *line)
{
	feed_as(PT_DIALECT, PT_NOW, h, line);
}

/*
 * Reset *h and feed it the header fixture `name`, one line at a time.
 * With keep_lf each line goes straight out of the file buffer with its
 * bare LF, so the parser's handling of LF-only endings is exercised (a
 * last line without LF is not fed); without it each line is re-terminated
 * with CRLF by feed(), as libcurl hands them over (a last line without LF
 * is fed too).
 */
static inline void
feed_lines(AigovRateHeaders *h, const char *name, bool keep_lf)
{
	size_t		len;
	char	   *buf = fixture(name, &len);
	size_t		start = 0;

	aigov_protocol_headers_init(h);
	for (size_t i = 0; i <= len; i++)
	{
		char	   *line;

		if (i < len && buf[i] != '\n')
			continue;
		if (keep_lf && i < len)
			aigov_protocol_header_line(PT_DIALECT, buf + start,
									   i + 1 - start, PT_NOW, h);
		else if (!keep_lf && (i > start || i < len))
		{
			line = malloc(i - start + 1);
			assert_non_null(line);
			memcpy(line, buf + start, i - start);
			line[i - start] = '\0';
			feed(h, line);
			free(line);
		}
		start = i + 1;
	}
	free(buf);
}

/* A header fixture, CRLF-terminated line by line. */
static inline void
feed_file(AigovRateHeaders *h, const char *name)
{
	feed_lines(h, name, false);
}

/* A header fixture, each line with its LF as it stands in the file. */
static inline void
feed_file_raw(AigovRateHeaders *h, const char *name)
{
	feed_lines(h, name, true);
}

/* Classify the body in fixture `name`, with headers h (may be NULL). */
static inline void
classify(int status, const AigovRateHeaders *h, const char *name,
		 AigovClassification *c)
{
	size_t		len;
	char	   *body = fixture(name, &len);

	aigov_protocol_classify(PT_DIALECT, 0, status, h, body, len, PT_NOW, c);
	free(body);
}

/* Classify the body `text`, copied to an exact-length buffer first. */
static inline void
classify_str(int status, const AigovRateHeaders *h, const char *text,
			 AigovClassification *c)
{
	size_t		len = strlen(text);
	char	   *body = dup_exact(text, len);

	aigov_protocol_classify(PT_DIALECT, 0, status, h, body, len, PT_NOW, c);
	free(body);
}

#endif							/* PT_DIALECT */

#endif							/* AIGOV_PROTOCOL_TEST_UTIL_H */
