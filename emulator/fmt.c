/*-------------------------------------------------------------------------
 * fmt.c
 *	  Value formats of the providers' rate-limit protocols.
 *
 * OpenAI writes relative Go-style durations ("120ms", "8.64s", "6m0s"),
 * Anthropic absolute RFC 3339 times and thousands-rounded token counts,
 * Gemini protobuf Durations.  All functions are pure and write at most
 * "len" bytes (always NUL-terminated when len > 0), returning the length of
 * the text they wanted to write, as snprintf does.
 *
 * IDENTIFICATION
 *	  emulator/fmt.c
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fmt.h"

/* Ceiling of a/b for a >= 0, b > 0. */
int64_t
emu_ceil_div(int64_t a, int64_t b)
{
	if (a <= 0)
		return 0;
	return (a + b - 1) / b;
}

/*
 * Write "sec.frac" seconds where frac holds "digits" decimal places,
 * trailing zeros trimmed (and the dot too when nothing is left).
 */
static size_t
fmt_frac_seconds(char *buf, size_t len, int64_t whole, int64_t frac,
				 int digits, const char *suffix)
{
	char		fr[16];
	int			n;

	if (frac == 0)
		return (size_t) snprintf(buf, len, "%" PRId64 "%s", whole, suffix);
	snprintf(fr, sizeof(fr), "%0*" PRId64, digits, frac);
	n = (int) strlen(fr);
	while (n > 0 && fr[n - 1] == '0')
		fr[--n] = '\0';
	return (size_t) snprintf(buf, len, "%" PRId64 ".%s%s", whole, fr, suffix);
}

/*
 * Go's time.Duration.String() at millisecond precision, the form OpenAI
 * uses in x-ratelimit-reset-*: "0s", "1ms", "120ms", "8.64s", "1m26.4s",
 * "6m0s", "24h0m0s".  The value is rounded to the nearest millisecond (a
 * capture shows 1.2 ms of refill reported as "1ms").  Negative values
 * print as "0s".
 */
size_t
emu_fmt_go_duration(char *buf, size_t len, int64_t us)
{
	int64_t		ms;
	int64_t		h;
	int64_t		m;
	int64_t		s;
	int64_t		frac;
	char		sec[32];

	if (us <= 0)
		return (size_t) snprintf(buf, len, "0s");
	ms = (us + 500) / 1000;
	if (ms == 0)
		return (size_t) snprintf(buf, len, "0s");
	if (ms < 1000)
		return (size_t) snprintf(buf, len, "%" PRId64 "ms", ms);
	h = ms / 3600000;
	m = (ms / 60000) % 60;
	s = (ms / 1000) % 60;
	frac = ms % 1000;
	fmt_frac_seconds(sec, sizeof(sec), s, frac, 3, "s");
	if (h > 0)
		return (size_t) snprintf(buf, len, "%" PRId64 "h%" PRId64 "m%s",
								 h, m, sec);
	if (m > 0)
		return (size_t) snprintf(buf, len, "%" PRId64 "m%s", m, sec);
	return (size_t) snprintf(buf, len, "%s", sec);
}

/*
 * The "Please try again in {dur}" text of OpenAI 429 bodies.  Same as the
 * Go form below one hour; from one hour up the real messages drop the
 * seconds ("6h12m"), so we round up to the minute and do the same.
 */
size_t
emu_fmt_wait_text(char *buf, size_t len, int64_t us)
{
	int64_t		mins;

	if (us < 3600 * INT64_C(1000000))
		return emu_fmt_go_duration(buf, len, us);
	mins = emu_ceil_div(us, 60 * INT64_C(1000000));
	return (size_t) snprintf(buf, len, "%" PRId64 "h%" PRId64 "m",
							 mins / 60, mins % 60);
}

/*
 * Seconds with up to microsecond digits and an "s" suffix, trailing zeros
 * trimmed: "20s", "20.70617s".  Gemini's "Please retry in ...s." text.
 */
size_t
emu_fmt_seconds_frac(char *buf, size_t len, int64_t us)
{
	if (us < 0)
		us = 0;
	return fmt_frac_seconds(buf, len, us / 1000000, us % 1000000, 6, "s");
}

/* RFC 3339 UTC time at second precision: "2025-08-21T12:40:59Z". */
size_t
emu_fmt_rfc3339(char *buf, size_t len, int64_t unix_sec)
{
	time_t		t = (time_t) unix_sec;
	struct tm	tm;

	if (gmtime_r(&t, &tm) == NULL)
		return (size_t) snprintf(buf, len, "1970-01-01T00:00:00Z");
	return (size_t) snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ",
							 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
							 tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* An integer with thousands separators, as in "40,000 input tokens". */
size_t
emu_fmt_grouped(char *buf, size_t len, int64_t v)
{
	char		digits[32];
	char		out[48];
	int			nd;
	int			o = 0;
	int			start = 0;

	snprintf(digits, sizeof(digits), "%" PRId64, v);
	nd = (int) strlen(digits);
	if (digits[0] == '-')
	{
		out[o++] = '-';
		start = 1;
	}
	for (int i = start; i < nd; i++)
	{
		if (i > start && (nd - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = digits[i];
	}
	out[o] = '\0';
	return (size_t) snprintf(buf, len, "%s", out);
}

/*
 * Anthropic's token "-remaining" headers are rounded to the nearest
 * thousand (half rounds up).  Negative inputs give 0.
 */
int64_t
emu_round_thousand(int64_t v)
{
	if (v <= 0)
		return 0;
	return ((v + 500) / 1000) * 1000;
}
