/*-------------------------------------------------------------------------
 * protocol_time.c
 *	  Scalar parsers and clocks for provider replies: Go durations,
 *	  decimals, RFC 3339 and HTTP dates, the next US Pacific midnight and
 *	  the next UTC month boundary.
 *
 * Providers announce waits and resets as "1m30s" (OpenAI), RFC 3339
 * timestamps (Anthropic), plain or HTTP-date retry-after values, or not
 * at all (daily quotas reset at midnight Pacific time).  Everything here
 * is pure arithmetic on byte ranges: no allocation, no locale, no libc
 * time zone, so the header callback may call it.  Results are
 * microseconds; see each function for what it returns on bad input.
 *
 * IDENTIFICATION
 *	  src/protocol_time.c
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "protocol_int.h"
#include "satmath.h"

#define NS_PER_US	INT64_C(1000)
#define NS_PER_SEC	INT64_C(1000000000)
#define SECS_PER_DAY	INT64_C(86400)
#define SECS_PER_HOUR	INT64_C(3600)

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
	int			y,
				mo,
				d,
				h,
				mi,
				se;
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
		int			oh,
					om;

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
	int			d,
				mo = 0,
				y,
				h,
				mi,
				se;

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
	int			m,
				d;
	int64_t		dst_start,
				dst_end;
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
	int			m,
				d;

	if (now_us < 0 || now_us > INT64_C(253402300799) * AIGOV_USECS_PER_SEC)
		return aigov_sat_add(now_us, 31 * SECS_PER_DAY * AIGOV_USECS_PER_SEC);
	civil_from_days(floor_div(floor_div(now_us, AIGOV_USECS_PER_SEC),
							  SECS_PER_DAY), &y, &m, &d);
	if (++m > 12)
		m = 1, y++;
	return days_from_civil(y, m, 1) * SECS_PER_DAY * AIGOV_USECS_PER_SEC;
}
