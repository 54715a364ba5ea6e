/*-------------------------------------------------------------------------
 * protocol_common.c
 *	  Dialect-independent parts of provider reply parsing.
 *
 * Owns the header-line splitter, the headers every dialect shares
 * (retry-after-ms, retry-after, x-should-retry, content-type, date), the
 * class names, the final "what does this class mean" step of
 * classification, the scalar parsers (Go durations, RFC 3339, HTTP-dates,
 * decimals), the US Pacific midnight clock, and the small JSON, SSE and
 * text helpers the dialect files share.
 *
 * Nothing here allocates except jansson inside the JSON helpers, whose
 * results the dialect files release before returning.  The header path
 * (aigov_protocol_header_line and everything it calls) never allocates:
 * libcurl's header callback must not.
 *
 * IDENTIFICATION
 *	  src/protocol_common.c
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "protocol.h"
#include "satmath.h"

#define NS_PER_US	INT64_C(1000)
#define NS_PER_SEC	INT64_C(1000000000)
#define SECS_PER_DAY	INT64_C(86400)
#define SECS_PER_HOUR	INT64_C(3600)

static const char *const class_names[AIGOV_CLASS_COUNT] = {
	"success",
	"rate_limit_rpm",
	"rate_limit_tpm",
	"rate_limit_rpd",
	"rate_limit_tpd",
	"insufficient_quota",
	"request_too_large",
	"overloaded",
	"server_error",
	"timeout",
	"connection",
	"client_error",
	"auth",
	"bad_response"
};

/* ---------------------------------------------------------------- text */

static inline int
lower_ascii(char c)
{
	unsigned char u = (unsigned char) c;

	return (u >= 'A' && u <= 'Z') ? u + ('a' - 'A') : u;
}

static inline bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static inline bool
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Case-insensitive comparison of a byte range with a NUL-terminated
 * lower-case literal.
 */
bool
aigov_protocol_ci_equal(const char *a, size_t alen, const char *lit)
{
	size_t		n = strlen(lit);

	if (alen != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower_ascii(a[i]) != lower_ascii(lit[i]))
			return false;
	return true;
}

static bool
ci_prefix(const char *a, size_t alen, const char *lit)
{
	size_t		n = strlen(lit);

	return alen >= n && aigov_protocol_ci_equal(a, n, lit);
}

/*
 * Case-insensitive search of a NUL-terminated needle in a byte range.
 * Naive on purpose: needles are short and haystacks are error messages.
 */
const char *
aigov_protocol_memcasestr(const char *hay, size_t hlen, const char *needle)
{
	size_t		n = strlen(needle);

	if (hay == NULL || n > hlen)
		return NULL;
	for (size_t i = 0; i + n <= hlen; i++)
	{
		size_t		j = 0;

		while (j < n && lower_ascii(hay[i + j]) == lower_ascii(needle[j]))
			j++;
		if (j == n)
			return hay + i;
	}
	return NULL;
}

/* NULL-tolerant case-insensitive "s contains needle" for JSON strings. */
bool
aigov_protocol_contains(const char *s, const char *needle)
{
	return s != NULL &&
		aigov_protocol_memcasestr(s, strlen(s), needle) != NULL;
}

/* ------------------------------------------------------- scalar parsers */

/*
 * Parse "digits[.digits]" at s[*i..len) as a multiple of unit_ns.
 * At least one digit is required, before or after the point (as Go's
 * time.ParseDuration demands).  Fraction digits finer than a nanosecond
 * are consumed and dropped.  Returns nanoseconds, or -1 on syntax error
 * or overflow; advances *i past the number.
 */
static int64_t
scaled_number_ns(const char *s, size_t len, size_t *i, int64_t unit_ns)
{
	int64_t		ipart = 0;
	int64_t		frac = 0;
	int64_t		scale = unit_ns;
	bool		digits = false;

	while (*i < len && is_digit(s[*i]))
	{
		int			d = s[*i] - '0';

		if (ipart > (INT64_MAX - d) / 10)
			return -1;
		ipart = ipart * 10 + d;
		digits = true;
		(*i)++;
	}
	if (*i < len && s[*i] == '.')
	{
		(*i)++;
		while (*i < len && is_digit(s[*i]))
		{
			scale /= 10;
			frac += (s[*i] - '0') * scale;
			digits = true;
			(*i)++;
		}
	}
	if (!digits)
		return -1;
	if (ipart > (INT64_MAX - frac) / unit_ns)
		return -1;
	return ipart * unit_ns + frac;
}

/* Nanoseconds to microseconds, rounding up: never retry too early. */
static int64_t
ns_to_us_ceil(int64_t ns)
{
	return ns / NS_PER_US + (ns % NS_PER_US != 0 ? 1 : 0);
}

/*
 * Parse a non-negative decimal ("6", "1.5", "12.25") counted in unit_us
 * and return it in microseconds (rounded up), or -1 if malformed.
 * Used for retry-after (seconds), retry-after-ms and Mistral's reset.
 */
int64_t
aigov_protocol_parse_decimal(const char *s, size_t len, int64_t unit_us)
{
	size_t		i = 0;
	int64_t		ns;

	if (s == NULL || len == 0 || unit_us <= 0 ||
		unit_us > INT64_MAX / NS_PER_US)
		return -1;
	ns = scaled_number_ns(s, len, &i, unit_us * NS_PER_US);
	if (ns < 0 || i != len)
		return -1;
	return ns_to_us_ceil(ns);
}

/*
 * Parse a Go time.Duration string ("1m26.4s", "120ms", "6m0s", "0s", "0")
 * into microseconds, rounding sub-microsecond remainders up.  Units are
 * h, m, s, ms, us, µs and ns, as in Go, case-sensitive.  Negative
 * durations never make sense as a wait, so they are rejected along with
 * everything malformed or beyond int64 nanoseconds: the result is then -1.
 */
int64_t
aigov_protocol_parse_go_duration(const char *s, size_t len)
{
	size_t		i = 0;
	int64_t		total = 0;

	if (s == NULL || len == 0)
		return -1;
	if (s[0] == '+')
		i++;
	if (len - i == 1 && s[i] == '0')
		return 0;
	if (i == len)
		return -1;
	while (i < len)
	{
		size_t		numend = i;
		size_t		k = i;
		int64_t		unit;
		int64_t		v;

		while (numend < len && (is_digit(s[numend]) || s[numend] == '.'))
			numend++;
		if (numend == len)
			return -1;			/* a number without its unit */
		/* "ms" before "m", as Go does */
		if (s[numend] == 'n' && numend + 1 < len && s[numend + 1] == 's')
			unit = 1, i = numend + 2;
		else if (s[numend] == 'u' && numend + 1 < len && s[numend + 1] == 's')
			unit = NS_PER_US, i = numend + 2;
		else if (numend + 2 < len && s[numend + 2] == 's' &&
				 (((unsigned char) s[numend] == 0xC2 &&
				   (unsigned char) s[numend + 1] == 0xB5) ||
				  ((unsigned char) s[numend] == 0xCE &&
				   (unsigned char) s[numend + 1] == 0xBC)))
			unit = NS_PER_US, i = numend + 3;	/* U+00B5 micro, U+03BC mu */
		else if (s[numend] == 'm' && numend + 1 < len && s[numend + 1] == 's')
			unit = INT64_C(1000000), i = numend + 2;
		else if (s[numend] == 's')
			unit = NS_PER_SEC, i = numend + 1;
		else if (s[numend] == 'm')
			unit = 60 * NS_PER_SEC, i = numend + 1;
		else if (s[numend] == 'h')
			unit = 3600 * NS_PER_SEC, i = numend + 1;
		else
			return -1;
		v = scaled_number_ns(s, numend, &k, unit);
		if (v < 0 || k != numend)
			return -1;			/* "ms" alone, ".s", "1.2.3s" */
		if (total > INT64_MAX - v)
			return -1;
		total += v;
	}
	return ns_to_us_ceil(total);
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t		era;
	int64_t		yoe;
	int64_t		doy;
	int64_t		doe;

	y -= (m <= 2);
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Inverse of days_from_civil. */
static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t		era;
	int64_t		doe;
	int64_t		yoe;
	int64_t		doy;
	int64_t		mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int) (doy - (153 * mp + 2) / 5 + 1);
	*m = (int) (mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int
days_in_month(int64_t y, int m)
{
	static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool		leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return (m == 2 && leap) ? 29 : dim[m - 1];
}

static bool
fixed_digits(const char *s, size_t n, int *out)
{
	int			v = 0;

	for (size_t i = 0; i < n; i++)
	{
		if (!is_digit(s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/* Unix microseconds of a UTC calendar time, or -1 before the epoch. */
static int64_t
civil_to_us(int64_t y, int mo, int d, int h, int mi, int se, int64_t off_s,
			int64_t frac_us)
{
	int64_t		secs;

	secs = days_from_civil(y, mo, d) * SECS_PER_DAY + (int64_t) h * 3600 +
		(int64_t) mi * 60 + se - off_s;
	if (secs < 0)
		return -1;
	return secs * AIGOV_USECS_PER_SEC + frac_us;
}

/*
 * Parse an RFC 3339 timestamp ("2025-08-21T12:40:59Z",
 * "2025-08-21T12:40:59.123456+02:00") into unix microseconds.  'T', 't'
 * and ' ' separate date and time (RFC 3339 §5.6 note); fractions finer
 * than a microsecond are dropped.  Returns -1 if malformed, out of range,
 * or before 1970 (providers never send such times, and -1 is our
 * "malformed" answer).
 */
int64_t
aigov_protocol_parse_rfc3339(const char *s, size_t len)
{
	int			y, mo, d, h, mi, se;
	int64_t		frac = 0;
	int64_t		off = 0;
	size_t		i;

	if (s == NULL || len < 20)
		return -1;
	if (!fixed_digits(s, 4, &y) || s[4] != '-' ||
		!fixed_digits(s + 5, 2, &mo) || s[7] != '-' ||
		!fixed_digits(s + 8, 2, &d) ||
		(s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
		!fixed_digits(s + 11, 2, &h) || s[13] != ':' ||
		!fixed_digits(s + 14, 2, &mi) || s[16] != ':' ||
		!fixed_digits(s + 17, 2, &se))
		return -1;
	i = 19;
	if (s[i] == '.')
	{
		int64_t		scale = AIGOV_USECS_PER_SEC;
		size_t		start = ++i;

		while (i < len && is_digit(s[i]))
		{
			scale /= 10;
			frac += (s[i] - '0') * scale;
			i++;
		}
		if (i == start)
			return -1;
	}
	if (i >= len)
		return -1;
	if (s[i] == 'Z' || s[i] == 'z')
		i++;
	else if (s[i] == '+' || s[i] == '-')
	{
		int			oh, om;

		if (len - i < 6 || !fixed_digits(s + i + 1, 2, &oh) ||
			s[i + 3] != ':' || !fixed_digits(s + i + 4, 2, &om) ||
			oh > 23 || om > 59)
			return -1;
		off = (int64_t) (oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
		i += 6;
	}
	else
		return -1;
	if (i != len)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) ||
		h > 23 || mi > 59 || se > 60)
		return -1;
	return civil_to_us(y, mo, d, h, mi, se, off, frac);
}

/*
 * Parse an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), the only
 * HTTP-date form servers may generate (RFC 9110 §5.6.7); the obsolete
 * RFC 850 and asctime forms are not accepted.  The weekday is optional
 * and not checked.  Returns unix microseconds or -1.
 */
int64_t
aigov_protocol_parse_http_date(const char *s, size_t len)
{
	static const char *const months[12] = {
		"jan", "feb", "mar", "apr", "may", "jun",
		"jul", "aug", "sep", "oct", "nov", "dec"
	};
	size_t		i = 0;
	int			d, mo = 0, y, h, mi, se;

	if (s == NULL)
		return -1;
	/* optional "Sun, " */
	while (i < len && s[i] != ',' && !is_digit(s[i]))
		i++;
	if (i < len && s[i] == ',')
		i++;
	while (i < len && s[i] == ' ')
		i++;
	/* "06 Nov 1994 08:49:37 GMT" is exactly 24 bytes */
	if (len - i != 24)
		return -1;
	s += i;
	if (!fixed_digits(s, 2, &d) || s[2] != ' ' || s[6] != ' ' ||
		!fixed_digits(s + 7, 4, &y) || s[11] != ' ' ||
		!fixed_digits(s + 12, 2, &h) || s[14] != ':' ||
		!fixed_digits(s + 15, 2, &mi) || s[17] != ':' ||
		!fixed_digits(s + 18, 2, &se) || s[20] != ' ' ||
		!aigov_protocol_ci_equal(s + 21, 3, "gmt"))
		return -1;
	for (int k = 0; k < 12; k++)
		if (aigov_protocol_ci_equal(s + 3, 3, months[k]))
			mo = k + 1;
	if (mo == 0 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
		mi > 59 || se > 60)
		return -1;
	return civil_to_us(y, mo, d, h, mi, se, 0, 0);
}

/* Floor division for possibly negative numerators. */
static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t		q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Day number of the n-th Sunday (n >= 1) of month m in year y. */
static int64_t
nth_sunday(int64_t y, int m, int n)
{
	int64_t		first = days_from_civil(y, m, 1);
	/* 1970-01-01 was a Thursday: weekday 0 = Sunday */
	int64_t		wd = ((first % 7) + 7 + 4) % 7;

	return first + (7 - wd) % 7 + (int64_t) 7 * (n - 1);
}

/*
 * The next midnight in America/Los_Angeles strictly after now_us, which
 * is when Gemini's per-day quotas reset.  Rather than depend on a tz
 * database, it applies the US rule in force since 2007: Pacific Daylight
 * Time (UTC-7) from 02:00 local on the second Sunday of March until 02:00
 * local on the first Sunday of November, Pacific Standard Time (UTC-8)
 * otherwise.  Both changes happen at 02:00, so a local midnight is never
 * ambiguous.  If Congress changes the rule, this function must follow.
 */
int64_t
aigov_protocol_next_pacific_midnight_us(int64_t now_us)
{
	int64_t		now_s;
	int64_t		y;
	int			m, d;
	int64_t		dst_start, dst_end;
	int64_t		off;
	int64_t		local_day;
	int64_t		next_day;

	/* far-future clocks: no meaningful calendar, just add a day */
	if (now_us < 0 || now_us > INT64_C(253402300799) * AIGOV_USECS_PER_SEC)
		return aigov_sat_add(now_us, SECS_PER_DAY * AIGOV_USECS_PER_SEC);
	now_s = floor_div(now_us, AIGOV_USECS_PER_SEC);
	civil_from_days(floor_div(now_s, SECS_PER_DAY), &y, &m, &d);
	/* transition instants in UTC: 02:00 PST = 10:00Z, 02:00 PDT = 09:00Z */
	dst_start = nth_sunday(y, 3, 2) * SECS_PER_DAY + 10 * SECS_PER_HOUR;
	dst_end = nth_sunday(y, 11, 1) * SECS_PER_DAY + 9 * SECS_PER_HOUR;
	off = (now_s >= dst_start && now_s < dst_end) ?
		-7 * SECS_PER_HOUR : -8 * SECS_PER_HOUR;

	local_day = floor_div(now_s + off, SECS_PER_DAY);
	next_day = local_day + 1;
	/* offset in force at 00:00 local of next_day */
	civil_from_days(next_day, &y, &m, &d);
	off = (next_day > nth_sunday(y, 3, 2) && next_day <= nth_sunday(y, 11, 1))
		? -7 * SECS_PER_HOUR : -8 * SECS_PER_HOUR;
	return (next_day * SECS_PER_DAY - off) * AIGOV_USECS_PER_SEC;
}

/*
 * 00:00 UTC on the first day of the month after now_us: when Anthropic's
 * spend cap lifts, and our guess for Mistral's monthly budget.
 */
int64_t
aigov_protocol_next_utc_month_us(int64_t now_us)
{
	int64_t		y;
	int			m, d;

	if (now_us < 0 || now_us > INT64_C(253402300799) * AIGOV_USECS_PER_SEC)
		return aigov_sat_add(now_us, 31 * SECS_PER_DAY * AIGOV_USECS_PER_SEC);
	civil_from_days(floor_div(floor_div(now_us, AIGOV_USECS_PER_SEC),
							  SECS_PER_DAY), &y, &m, &d);
	if (++m > 12)
		m = 1, y++;
	return days_from_civil(y, m, 1) * SECS_PER_DAY * AIGOV_USECS_PER_SEC;
}

/* ------------------------------------------------------------- headers */

/*
 * Parse a header count: a non-negative integer, or Azure's -1 sentinel
 * which we return as -2 so the caller can tell it from garbage (-1).
 */
static int64_t
parse_count(const char *s, size_t len)
{
	int64_t		v = 0;

	if (len == 2 && s[0] == '-' && s[1] == '1')
		return -2;
	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++)
	{
		if (!is_digit(s[i]) || v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/*
 * Fold a limit or remaining header value into an axis.  Garbage is
 * ignored; Azure's "-1" marks the axis as a sentinel, whose reset is then
 * meaningless whichever order the headers come in.
 */
void
aigov_protocol_window_count(AigovRateWindow *w, bool is_limit,
							const char *val, size_t vlen)
{
	int64_t		v = parse_count(val, vlen);

	if (v == -1)
		return;
	w->present = true;
	if (v == -2)
	{
		w->sentinel = true;
		w->reset_at_us = 0;
		v = -1;
	}
	if (is_limit)
		w->limit = v;
	else
		w->remaining = v;
}

/* Fold an absolute reset time into an axis (ignored on sentinel axes). */
void
aigov_protocol_window_reset(AigovRateWindow *w, int64_t reset_at_us)
{
	if (reset_at_us < 0)
		return;
	w->present = true;
	if (!w->sentinel)
		w->reset_at_us = reset_at_us;
}

static void
window_init(AigovRateWindow *w)
{
	w->present = false;
	w->limit = -1;
	w->remaining = -1;
	w->reset_at_us = 0;
	w->sentinel = false;
}

/* Reset *h to "nothing known". */
void
aigov_protocol_headers_init(AigovRateHeaders *h)
{
	memset(h, 0, sizeof(*h));
	window_init(&h->requests);
	window_init(&h->tokens);
	window_init(&h->input_tokens);
	window_init(&h->output_tokens);
	window_init(&h->tokens_month);
}

/* Headers every dialect understands. */
static bool
common_header(const char *name, size_t nlen, const char *val, size_t vlen,
			  int64_t now_us, AigovRateHeaders *h)
{
	int64_t		v;

	if (aigov_protocol_ci_equal(name, nlen, "retry-after-ms"))
	{
		v = aigov_protocol_parse_decimal(val, vlen, 1000);
		if (v >= 0)
		{
			h->retry_after_us = aigov_sat_add(now_us, v);
			h->retry_after_from_ms = true;
		}
		return true;
	}
	if (aigov_protocol_ci_equal(name, nlen, "retry-after"))
	{
		/* the millisecond form is more precise: it wins in any order */
		if (h->retry_after_from_ms)
			return true;
		v = aigov_protocol_parse_decimal(val, vlen, AIGOV_USECS_PER_SEC);
		if (v >= 0)
			h->retry_after_us = aigov_sat_add(now_us, v);
		else if ((v = aigov_protocol_parse_http_date(val, vlen)) >= 0)
			h->retry_after_us = v;
		return true;
	}
	if (aigov_protocol_ci_equal(name, nlen, "x-should-retry"))
	{
		if (aigov_protocol_ci_equal(val, vlen, "true"))
			h->should_retry_set = h->should_retry = true;
		else if (aigov_protocol_ci_equal(val, vlen, "false"))
		{
			h->should_retry_set = true;
			h->should_retry = false;
		}
		return true;
	}
	if (aigov_protocol_ci_equal(name, nlen, "content-type"))
	{
		h->event_stream = ci_prefix(val, vlen, "text/event-stream");
		return true;
	}
	if (aigov_protocol_ci_equal(name, nlen, "date"))
	{
		v = aigov_protocol_parse_http_date(val, vlen);
		if (v >= 0)
			h->server_date_us = v;
		return true;
	}
	return false;
}

/*
 * Fold one raw header line, exactly as libcurl's header callback passes
 * it ("Name: value\r\n", not NUL-terminated), into *h.
 *
 * Names are case-insensitive; surrounding whitespace and the line end are
 * trimmed.  A status line ("HTTP/1.1 200 OK") starts a new response and
 * resets *h, so the headers of a 100 Continue or of a followed redirect
 * never describe the final reply.  The blank end-of-headers line,
 * obsolete folded continuation lines, unknown headers and malformed
 * values are ignored.  now_us (the arrival time) turns relative durations
 * into absolute times.  Never allocates, never fails; safe on any bytes.
 */
void
aigov_protocol_header_line(AigovApiStyle style, const char *line, size_t len,
						   int64_t now_us, AigovRateHeaders *h)
{
	size_t		colon;
	size_t		nlen;
	size_t		vstart;
	size_t		vend;

	if (line == NULL || h == NULL)
		return;
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len == 0 || is_ows(line[0]))
		return;
	if (ci_prefix(line, len, "http/"))
	{
		aigov_protocol_headers_init(h);
		return;
	}
	for (colon = 0; colon < len && line[colon] != ':'; colon++)
		;
	if (colon == len)
		return;
	nlen = colon;
	while (nlen > 0 && is_ows(line[nlen - 1]))
		nlen--;
	if (nlen == 0)
		return;
	vstart = colon + 1;
	while (vstart < len && is_ows(line[vstart]))
		vstart++;
	vend = len;
	while (vend > vstart && is_ows(line[vend - 1]))
		vend--;

	if (common_header(line, nlen, line + vstart, vend - vstart, now_us, h))
		return;
	switch (style)
	{
		case AIGOV_API_OPENAI:
			(void) aigov_protocol_openai_header(line, nlen, line + vstart,
												vend - vstart, now_us, h);
			break;
		case AIGOV_API_ANTHROPIC:
			(void) aigov_protocol_anthropic_header(line, nlen, line + vstart,
												   vend - vstart, now_us, h);
			break;
		case AIGOV_API_GEMINI:
			/* Gemini sends no rate-limit headers (PROTOCOLS §4.1) */
			break;
	}
}

/* ------------------------------------------------------ class metadata */

/* The SQL-visible name of a class ("rate_limit_rpm", ...); "unknown" if
 * out of range. */
const char *
aigov_protocol_class_name(AigovErrorClass c)
{
	if ((int) c < 0 || (int) c >= AIGOV_CLASS_COUNT)
		return "unknown";
	return class_names[c];
}

/* Inverse of aigov_protocol_class_name(); false if name is unknown. */
bool
aigov_protocol_class_from_name(const char *name, AigovErrorClass *out)
{
	if (name == NULL)
		return false;
	for (int i = 0; i < AIGOV_CLASS_COUNT; i++)
		if (strcmp(name, class_names[i]) == 0)
		{
			*out = (AigovErrorClass) i;
			return true;
		}
	return false;
}

bool
aigov_protocol_class_is_rate_limit(AigovErrorClass c)
{
	return c == AIGOV_CLASS_RATE_LIMIT_RPM || c == AIGOV_CLASS_RATE_LIMIT_TPM ||
		c == AIGOV_CLASS_RATE_LIMIT_RPD || c == AIGOV_CLASS_RATE_LIMIT_TPD;
}

/*
 * The class an HTTP status implies when the body says nothing more.
 * 503 is a plain server error here; the dialects promote it to
 * "overloaded" when the body says so.  408 is the server giving up on
 * reading our request, which is a timeout as far as we are concerned.
 */
AigovErrorClass
aigov_protocol_status_class(int http_status)
{
	if (http_status >= 200 && http_status <= 299)
		return AIGOV_CLASS_SUCCESS;
	if (http_status >= 300 && http_status <= 399)
		return AIGOV_CLASS_CLIENT_ERROR;	/* a redirect we did not follow:
											 * a wrong base_url */
	switch (http_status)
	{
		case 401:
		case 403:
			return AIGOV_CLASS_AUTH;
		case 402:
			return AIGOV_CLASS_INSUFFICIENT_QUOTA;
		case 408:
			return AIGOV_CLASS_TIMEOUT;
		case 413:
			return AIGOV_CLASS_REQUEST_TOO_LARGE;
		case 429:
			return AIGOV_CLASS_RATE_LIMIT_RPM;
		case 529:
			return AIGOV_CLASS_OVERLOADED;
		default:
			break;
	}
	if (http_status >= 400 && http_status <= 499)
		return AIGOV_CLASS_CLIENT_ERROR;
	if (http_status >= 500 && http_status <= 599)
		return AIGOV_CLASS_SERVER_ERROR;
	return AIGOV_CLASS_BAD_RESPONSE;
}

/* ------------------------------------------------------- text for output */

static bool
is_key_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c == '-' || c == '_' || c == '*';
}

/*
 * Does src[i..len) start something that looks like a credential?  OpenAI
 * echoes a masked key in its 401 message ("Incorrect API key provided:
 * sk-proj-****abcd"); Anthropic keys start "sk-ant-", Google keys "AIza".
 * Returns the length of the token to drop, or 0.
 */
static size_t
key_like_token(const char *src, size_t len, size_t i)
{
	size_t		j;

	if (i > 0 && is_key_char((unsigned char) src[i - 1]))
		return 0;				/* not at a token start */
	if (!(len - i >= 3 && src[i] == 's' && src[i + 1] == 'k' &&
		  (src[i + 2] == '-' || src[i + 2] == '_')) &&
		!(len - i >= 4 && memcmp(src + i, "AIza", 4) == 0))
		return 0;
	for (j = i; j < len && is_key_char((unsigned char) src[j]); j++)
		;
	/* "sk-" followed by a short word is prose, not a key */
	return (j - i >= 8) ? j - i : 0;
}

/*
 * Copy src into dst (capacity cap, always NUL-terminated) as valid UTF-8:
 * control characters become spaces, invalid bytes '?', key-like tokens
 * "[redacted]" when redact is set.  Stops before a character that does
 * not fit, never splitting a multi-byte sequence.
 */
static void
copy_clean(char *dst, size_t cap, const char *src, size_t len, bool redact)
{
	size_t		o = 0;
	size_t		i = 0;

	if (cap == 0)
		return;
	while (i < len)
	{
		unsigned char c = (unsigned char) src[i];
		size_t		n = 1;
		size_t		skip;

		if (redact && (skip = key_like_token(src, len, i)) > 0)
		{
			static const char red[] = "[redacted]";

			if (o + sizeof(red) - 1 > cap - 1)
				break;
			memcpy(dst + o, red, sizeof(red) - 1);
			o += sizeof(red) - 1;
			i += skip;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			n = 2;
		else if (c >= 0xE0 && c <= 0xEF)
			n = 3;
		else if (c >= 0xF0 && c <= 0xF4)
			n = 4;
		if (n > 1)
		{
			bool		ok = (i + n <= len);

			for (size_t k = 1; ok && k < n; k++)
				ok = ((unsigned char) src[i + k] & 0xC0) == 0x80;
			/* reject overlongs and surrogates that the loop lets through */
			if (ok && n == 3)
				ok = !(c == 0xE0 && (unsigned char) src[i + 1] < 0xA0) &&
					!(c == 0xED && (unsigned char) src[i + 1] >= 0xA0);
			if (ok && n == 4)
				ok = !(c == 0xF0 && (unsigned char) src[i + 1] < 0x90) &&
					!(c == 0xF4 && (unsigned char) src[i + 1] >= 0x90);
			if (!ok)
				n = 1, c = '?';
		}
		else if (c >= 0x80)
			c = '?';
		else if (c < 0x20 || c == 0x7F)
			c = ' ';
		if (o + n > cap - 1)
			break;
		if (n == 1)
			dst[o] = (char) c;
		else
			memcpy(dst + o, src + i, n);
		o += n;
		i += n;
	}
	dst[o] = '\0';
}

/* Set out->message from a provider message (see copy_clean). */
void
aigov_protocol_set_message(AigovClassification *out, const char *msg,
						   size_t len)
{
	if (msg != NULL)
		copy_clean(out->message, sizeof(out->message), msg, len, true);
}

/* Set out->code from a provider code, type or quota id. */
void
aigov_protocol_set_code(AigovClassification *out, const char *code)
{
	if (code != NULL)
		copy_clean(out->code, sizeof(out->code), code, strlen(code), true);
}

/*
 * Find marker (case-insensitive) in a NUL-terminated message and parse
 * the Go-style duration right after it ("try again in 1.146s." ->
 * 1146000).  A sentence's closing period is not part of the duration.
 * Returns microseconds or -1.
 */
int64_t
aigov_protocol_duration_after(const char *text, const char *marker)
{
	const char *p;
	size_t		n = 0;

	if (text == NULL)
		return -1;
	p = aigov_protocol_memcasestr(text, strlen(text), marker);
	if (p == NULL)
		return -1;
	p += strlen(marker);
	while (*p == ' ')
		p++;
	while (p[n] != '\0' &&
		   (is_digit(p[n]) || p[n] == '.' ||
			(p[n] >= 'a' && p[n] <= 'z') ||
			(unsigned char) p[n] == 0xC2 || (unsigned char) p[n] == 0xB5 ||
			(unsigned char) p[n] == 0xCE || (unsigned char) p[n] == 0xBC))
		n++;
	while (n > 0 && p[n - 1] == '.')
		n--;
	return aigov_protocol_parse_go_duration(p, n);
}

/*
 * Find marker in a NUL-terminated message and parse the decimal number of
 * seconds after it ("retry after 6 seconds" -> 6000000).  Returns
 * microseconds or -1.
 */
int64_t
aigov_protocol_seconds_after(const char *text, const char *marker)
{
	const char *p;
	size_t		n = 0;

	if (text == NULL)
		return -1;
	p = aigov_protocol_memcasestr(text, strlen(text), marker);
	if (p == NULL)
		return -1;
	p += strlen(marker);
	while (*p == ' ')
		p++;
	while (is_digit(p[n]) || p[n] == '.')
		n++;
	while (n > 0 && p[n - 1] == '.')
		n--;
	return aigov_protocol_parse_decimal(p, n, AIGOV_USECS_PER_SEC);
}

/* ---------------------------------------------------------------- JSON */

/*
 * Parse a byte range as a JSON object or array.  Returns a new reference
 * the caller must json_decref(), or NULL if the bytes are not JSON.
 */
struct json_t *
aigov_protocol_json_parse(const char *s, size_t len)
{
	json_error_t err;

	if (s == NULL || len == 0)
		return NULL;
	return json_loadb(s, len, JSON_REJECT_DUPLICATES, &err);
}

/* obj[key] if obj is an object and the member a string, else NULL. */
const char *
aigov_protocol_json_str(struct json_t *obj, const char *key)
{
	return json_is_object(obj) ?
		json_string_value(json_object_get(obj, key)) : NULL;
}

/*
 * Copy obj[key] into buf when it is a string or an integer (providers
 * disagree: OpenAI "rate_limit_exceeded", Azure "429", Gemini 429).
 */
bool
aigov_protocol_json_code(struct json_t *obj, const char *key, char *buf,
						 size_t buflen)
{
	json_t	   *v;

	if (!json_is_object(obj) || buflen == 0)
		return false;
	v = json_object_get(obj, key);
	if (json_is_string(v))
		copy_clean(buf, buflen, json_string_value(v), json_string_length(v),
				   true);
	else if (json_is_integer(v))
		snprintf(buf, buflen, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else
		return false;
	return buf[0] != '\0';
}

/* obj[key] as a non-negative integer. */
bool
aigov_protocol_json_int(struct json_t *obj, const char *key, int64_t *out)
{
	json_t	   *v;

	if (!json_is_object(obj))
		return false;
	v = json_object_get(obj, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*out = (int64_t) json_integer_value(v);
	return true;
}

/* ----------------------------------------------------------------- SSE */

/*
 * Is this body a Server-Sent Events stream?  Trust the Content-Type when
 * we have it; otherwise sniff, since no JSON document starts with an SSE
 * field name or comment.
 */
bool
aigov_protocol_looks_like_sse(const AigovRateHeaders *h, const char *body,
							  size_t len)
{
	size_t		i = 0;

	if (h != NULL && h->event_stream)
		return true;
	if (body == NULL)
		return false;
	if (len >= 3 && memcmp(body, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	while (i < len && (body[i] == ' ' || body[i] == '\t' ||
					   body[i] == '\r' || body[i] == '\n'))
		i++;
	return ci_prefix(body + i, len - i, "data:") ||
		ci_prefix(body + i, len - i, "event:") ||
		(i < len && body[i] == ':');
}

/*
 * One line of [p, end): returns its length without the line end and sets
 * *next past the line end (\n, \r\n or \r, as SSE allows).
 */
static size_t
next_line(const char *p, const char *end, const char **next)
{
	const char *q = p;

	while (q < end && *q != '\n' && *q != '\r')
		q++;
	*next = q;
	if (q < end && *q == '\r')
	{
		*next = q + 1;
		if (*next < end && **next == '\n')
			(*next)++;
	}
	else if (q < end)
		*next = q + 1;
	return (size_t) (q - p);
}

/* Split an SSE line into field name and value (one leading space off). */
static void
split_field(const char *line, size_t len, size_t *flen, const char **val,
			size_t *vlen)
{
	size_t		c = 0;

	while (c < len && line[c] != ':')
		c++;
	*flen = c;
	if (c == len)
	{
		*val = line + len;
		*vlen = 0;
		return;
	}
	c++;
	if (c < len && line[c] == ' ')
		c++;
	*val = line + c;
	*vlen = len - c;
}

/*
 * Iterate the events of an SSE body: returns the event starting at *pos
 * and advances *pos, or false at the end.  An event is dispatched on a
 * blank line, or at the end of the body (a stream cut short still yields
 * its last event; the dialects detect truncation by the missing terminal
 * event).  Comment lines and unknown fields are skipped.
 */
bool
aigov_protocol_sse_next(const char *body, size_t len, size_t *pos,
						AigovSseEvent *ev)
{
	const char *p;
	const char *end;
	bool		any = false;

	if (body == NULL || *pos >= len)
		return false;
	p = body + *pos;
	end = body + len;
	ev->name = "message";
	ev->name_len = 7;
	ev->data = NULL;
	ev->data_span = 0;
	ev->data_lines = 0;
	while (p < end)
	{
		const char *next;
		size_t		ll = next_line(p, end, &next);
		size_t		flen;
		const char *val;
		size_t		vlen;

		if (ll == 0)
		{
			p = next;
			if (any)
				break;
			continue;
		}
		if (p[0] != ':')
		{
			split_field(p, ll, &flen, &val, &vlen);
			if (aigov_protocol_ci_equal(p, flen, "event"))
			{
				ev->name = val;
				ev->name_len = vlen;
				any = true;
			}
			else if (aigov_protocol_ci_equal(p, flen, "data"))
			{
				if (ev->data_lines == 0)
					ev->data = val;
				ev->data_span = (size_t) (val + vlen - ev->data);
				ev->data_lines++;
				any = true;
			}
		}
		p = next;
	}
	*pos = (size_t) (p - body);
	return any;
}

/* Reader state for feeding multi-line SSE data to jansson. */
typedef struct SseReader
{
	const char *p;				/* next unread byte of the current value */
	const char *vend;			/* end of the current value */
	const char *scan;			/* start of the next line to look at */
	const char *end;			/* end of the event's data span */
	bool		pending_nl;		/* emit the '\n' joining two values */
} SseReader;

/*
 * json_load_callback reader: yields the values of the event's data lines
 * joined by '\n', as the SSE spec assembles them, without copying the
 * body.
 */
static size_t
sse_reader(void *buffer, size_t buflen, void *arg)
{
	SseReader  *r = arg;
	char	   *out = buffer;
	size_t		o = 0;

	while (o < buflen)
	{
		bool		found = false;

		if (r->pending_nl)
		{
			out[o++] = '\n';
			r->pending_nl = false;
			continue;
		}
		if (r->p < r->vend)
		{
			size_t		n = (size_t) (r->vend - r->p);

			if (n > buflen - o)
				n = buflen - o;
			memcpy(out + o, r->p, n);
			o += n;
			r->p += n;
			continue;
		}
		while (r->scan < r->end)
		{
			const char *line = r->scan;
			const char *next;
			size_t		ll = next_line(line, r->end, &next);
			size_t		flen;
			const char *val;
			size_t		vlen;

			r->scan = next;
			if (ll == 0 || line[0] == ':')
				continue;
			split_field(line, ll, &flen, &val, &vlen);
			if (aigov_protocol_ci_equal(line, flen, "data"))
			{
				r->p = val;
				r->vend = val + vlen;
				r->pending_nl = true;
				found = true;
				break;
			}
		}
		if (!found)
			break;
	}
	return o;
}

/*
 * Parse an event's data as JSON (a new reference, or NULL).  The usual
 * single data line is parsed in place; several lines are streamed to
 * jansson through sse_reader.
 */
struct json_t *
aigov_protocol_sse_json(const AigovSseEvent *ev)
{
	SseReader	r;
	json_error_t err;
	const char *first_end;

	if (ev->data_lines == 0)
		return NULL;
	if (ev->data_lines == 1)
		return aigov_protocol_json_parse(ev->data, ev->data_span);
	r.end = ev->data + ev->data_span;
	r.p = ev->data;
	r.vend = ev->data + next_line(ev->data, r.end, &first_end);
	r.scan = first_end;
	r.pending_nl = false;
	return json_load_callback(sse_reader, &r, JSON_REJECT_DUPLICATES, &err);
}

/* Is the event's data exactly the literal (e.g. OpenAI's "[DONE]")? */
bool
aigov_protocol_sse_data_is(const AigovSseEvent *ev, const char *literal)
{
	size_t		n = ev->data_span;

	while (n > 0 && is_ows(ev->data[n - 1]))
		n--;
	return ev->data_lines == 1 && n == strlen(literal) &&
		memcmp(ev->data, literal, n) == 0;
}

/* -------------------------------------------------------- classification */

/*
 * The action flags of a class, and the fallbacks every dialect shares:
 * rate-limit classes always get a retry time in the future (minute
 * classes now + 1 s, daily ones now + 1 h, see protocol.h), provider-side
 * failures take the retry-after header as their hint, and x-should-retry
 * overrides "retryable" except for rate limits, whose schedule the body
 * already told us, and for the classes that say the key or the request
 * is at fault.
 */
static void
finish(const AigovRateHeaders *h, int64_t now_us, AigovClassification *out)
{
	AigovErrorClass c = out->cls;

	out->retryable = false;
	out->key_unusable = false;
	out->breaker_failure = false;
	switch (c)
	{
		case AIGOV_CLASS_SUCCESS:
			out->retry_at_us = 0;
			return;
		case AIGOV_CLASS_RATE_LIMIT_RPM:
		case AIGOV_CLASS_RATE_LIMIT_TPM:
			out->retryable = true;
			if (out->retry_at_us <= now_us)
				out->retry_at_us =
					aigov_sat_add(now_us, AIGOV_PROTOCOL_MINUTE_FALLBACK_US);
			return;
		case AIGOV_CLASS_RATE_LIMIT_RPD:
		case AIGOV_CLASS_RATE_LIMIT_TPD:
			out->retryable = true;
			if (out->retry_at_us <= now_us)
				out->retry_at_us =
					aigov_sat_add(now_us, AIGOV_PROTOCOL_DAILY_FALLBACK_US);
			return;
		case AIGOV_CLASS_INSUFFICIENT_QUOTA:
		case AIGOV_CLASS_AUTH:
			out->key_unusable = true;
			return;
		case AIGOV_CLASS_REQUEST_TOO_LARGE:
			out->retry_at_us = 0;
			return;
		case AIGOV_CLASS_OVERLOADED:
		case AIGOV_CLASS_SERVER_ERROR:
		case AIGOV_CLASS_TIMEOUT:
		case AIGOV_CLASS_CONNECTION:
			out->retryable = true;
			out->breaker_failure = true;
			break;
		case AIGOV_CLASS_CLIENT_ERROR:
			out->retry_at_us = 0;
			break;
		case AIGOV_CLASS_BAD_RESPONSE:
			out->retryable = true;
			break;
	}
	if (out->retryable && out->retry_at_us == 0 && h != NULL &&
		h->retry_after_us > now_us)
		out->retry_at_us = h->retry_after_us;
	/* only the classes that broke out of the switch above get here */
	if (h != NULL && h->should_retry_set)
	{
		out->retryable = h->should_retry;
		if (!out->retryable)
			out->retry_at_us = 0;
	}
}

/*
 * Classify one provider reply.  transport_error is an AigovTransportError;
 * a timeout or connection failure wins over whatever status was seen.  A
 * truncated transfer with a success (or no) status is a bad_response; with
 * an error status the status and headers still tell what happened, so the
 * partial body is classified as usual.  h may be NULL (no headers).  *out
 * is fully overwritten.  Never allocates anything the caller must free.
 */
void
aigov_protocol_classify(AigovApiStyle style, int transport_error,
						int http_status, const AigovRateHeaders *h,
						const char *body, size_t body_len, int64_t now_us,
						AigovClassification *out)
{
	AigovRateHeaders none;

	memset(out, 0, sizeof(*out));
	if (h == NULL)
	{
		aigov_protocol_headers_init(&none);
		h = &none;
	}
	if (body == NULL)
		body_len = 0;

	if (transport_error == AIGOV_TRANSPORT_TIMEOUT)
	{
		out->cls = AIGOV_CLASS_TIMEOUT;
		aigov_protocol_set_code(out, "timeout");
	}
	else if (transport_error != AIGOV_TRANSPORT_NONE &&
			 transport_error != AIGOV_TRANSPORT_TRUNCATED)
	{
		out->cls = AIGOV_CLASS_CONNECTION;
		aigov_protocol_set_code(out, "connection");
	}
	else if (http_status < 200 || http_status > 599 ||
			 (transport_error == AIGOV_TRANSPORT_TRUNCATED &&
			  http_status <= 299))
	{
		out->cls = AIGOV_CLASS_BAD_RESPONSE;
		aigov_protocol_set_code(out, transport_error ? "truncated" :
								"bad_status");
	}
	else
	{
		switch (style)
		{
			case AIGOV_API_ANTHROPIC:
				aigov_protocol_anthropic_classify(http_status, h, body,
												  body_len, now_us, out);
				break;
			case AIGOV_API_GEMINI:
				aigov_protocol_gemini_classify(http_status, h, body,
											   body_len, now_us, out);
				break;
			case AIGOV_API_OPENAI:
			default:
				aigov_protocol_openai_classify(http_status, h, body,
											   body_len, now_us, out);
				break;
		}
	}
	finish(h, now_us, out);
}

/*
 * Extract token usage from a success body in the provider's own shape
 * (JSON or SSE).  Returns out->present; *out is zeroed when absent.
 */
bool
aigov_protocol_parse_usage(AigovApiStyle style, const char *body, size_t len,
						   AigovUsage *out)
{
	memset(out, 0, sizeof(*out));
	if (body == NULL || len == 0)
		return false;
	switch (style)
	{
		case AIGOV_API_ANTHROPIC:
			return aigov_protocol_anthropic_usage(body, len, out);
		case AIGOV_API_GEMINI:
			return aigov_protocol_gemini_usage(body, len, out);
		case AIGOV_API_OPENAI:
		default:
			return aigov_protocol_openai_usage(body, len, out);
	}
}

/*
 * Message for a body that is not JSON (an HTML error page from a proxy,
 * say): its first bytes, cleaned, are still better than nothing.
 */
void
aigov_protocol_set_raw_message(AigovClassification *out, const char *body,
							   size_t len)
{
	if (body != NULL && len > 0)
		copy_clean(out->message, sizeof(out->message), body,
				   len < sizeof(out->message) ? len : sizeof(out->message),
				   true);
}
