/*-------------------------------------------------------------------------
 * fuzz_util.h
 *	  What the libFuzzer targets of test/fuzz/ share: exact-size copies,
 *	  a UTF-8 check, the fixed clock, and a main() that replays files when
 *	  a target is built without libFuzzer.
 *
 * Header-only, because each target is linked alone, so the helpers are
 * static inline.  A target calls abort() when an invariant breaks; under
 * libFuzzer that is a crash with its input saved as a reproducer.
 *
 * IDENTIFICATION
 *	  test/fuzz/fuzz_util.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_FUZZ_UTIL_H
#define AIGOV_FUZZ_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 2025-08-21T12:40:00Z, the clock every target passes as "now" */
#define FUZZ_NOW_US (INT64_C(1755780000) * 1000000)

/*
 * A malloc'd copy of p[0..n) of exactly n bytes (one byte when n is 0), so
 * that ASan reports any read past the length the code under test is given.
 * The caller frees it.
 */
static inline char *
fuzz_copy_exact(const uint8_t *p, size_t n)
{
	char	   *c = malloc(n > 0 ? n : 1);

	if (c == NULL)
		abort();
	if (n > 0)
		memcpy(c, p, n);
	return c;
}

/* A malloc'd, NUL-terminated copy of p[0..n); the caller frees it. */
static inline char *
fuzz_copy_string(const uint8_t *p, size_t n)
{
	char	   *c = malloc(n + 1);

	if (c == NULL)
		abort();
	if (n > 0)
		memcpy(c, p, n);
	c[n] = '\0';
	return c;
}

/*
 * Is [s, s+n) valid UTF-8 (shortest forms, no surrogates, nothing past
 * U+10FFFF)?  What PostgreSQL accepts in text and jsonb.
 */
static inline bool
fuzz_valid_utf8(const char *s, size_t n)
{
	size_t		i = 0;

	while (i < n)
	{
		unsigned char c = (unsigned char) s[i];
		unsigned char lo = 0x80;
		unsigned char hi = 0xBF;
		size_t		k;

		if (c < 0x80)
			k = 1;
		else if (c >= 0xC2 && c <= 0xDF)
			k = 2;
		else if (c >= 0xE0 && c <= 0xEF)
		{
			k = 3;
			if (c == 0xE0)
				lo = 0xA0;
			else if (c == 0xED)
				hi = 0x9F;
		}
		else if (c >= 0xF0 && c <= 0xF4)
		{
			k = 4;
			if (c == 0xF0)
				lo = 0x90;
			else if (c == 0xF4)
				hi = 0x8F;
		}
		else
			return false;
		if (i + k > n)
			return false;
		for (size_t j = 1; j < k; j++)
		{
			unsigned char t = (unsigned char) s[i + j];

			if (t < (j == 1 ? lo : 0x80) || t > (j == 1 ? hi : 0xBF))
				return false;
		}
		i += k;
	}
	return true;
}

/* A fixed-size field that must hold a NUL-terminated string: its length. */
static inline size_t
fuzz_terminated(const char *field, size_t size)
{
	size_t		n = strnlen(field, size);

	if (n >= size)
		abort();				/* not NUL-terminated */
	return n;
}

#ifdef AIGOV_FUZZ_STANDALONE
/*
 * Replay inputs without libFuzzer (any compiler): ./fuzz_x_replay FILE...
 * Each file is one input, read into a buffer of its exact size.
 */
int
main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
	{
		FILE	   *f = fopen(argv[i], "rb");
		uint8_t    *buf;
		long		n;

		if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
			fseek(f, 0, SEEK_SET) != 0)
		{
			perror(argv[i]);
			return 1;
		}
		buf = malloc(n > 0 ? (size_t) n : 1);
		if (buf == NULL || fread(buf, 1, (size_t) n, f) != (size_t) n)
			return 1;
		fclose(f);
		LLVMFuzzerTestOneInput(buf, (size_t) n);
		free(buf);
		printf("%s: ok\n", argv[i]);
	}
	return 0;
}
#endif

#endif							/* AIGOV_FUZZ_UTIL_H */
