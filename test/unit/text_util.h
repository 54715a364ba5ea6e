/*-------------------------------------------------------------------------
 * text_util.h
 *	  The clean-text predicate shared by test_translate.c and
 *	  test/fuzz/fuzz_translate.c.
 *
 * translate.c promises that a detail it writes can go into an ereport
 * message as is; the unit tests check that on chosen inputs, the fuzz
 * target on every input, and both must mean the same thing by "clean".
 * Header-only, because each of them is linked alone (test/unit/Makefile,
 * test/fuzz/Makefile), so the function is static inline.
 *
 * IDENTIFICATION
 *	  test/unit/text_util.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_TEXT_UTIL_H
#define AIGOV_TEXT_UTIL_H

#include <stdbool.h>

/*
 * True if the NUL-terminated s is valid UTF-8 (no overlong two-byte lead,
 * nothing past U+10FFFF's lead byte) without control characters.
 */
static inline bool
clean_text(const char *s)
{
	const unsigned char *p = (const unsigned char *) s;

	while (*p)
	{
		int			n;

		if (*p < 0x20 || *p == 0x7f)
			return false;
		if (*p < 0x80)
			n = 0;
		else if (*p >= 0xc2 && *p <= 0xdf)
			n = 1;
		else if (*p >= 0xe0 && *p <= 0xef)
			n = 2;
		else if (*p >= 0xf0 && *p <= 0xf4)
			n = 3;
		else
			return false;
		p++;
		for (int i = 0; i < n; i++, p++)
			if ((*p & 0xc0) != 0x80)
				return false;
	}
	return true;
}

#endif							/* AIGOV_TEXT_UTIL_H */
