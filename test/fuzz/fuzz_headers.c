/*-------------------------------------------------------------------------
 * fuzz_headers.c
 *	  libFuzzer target for the rate-limit header parsers of every provider
 *	  (src/protocol_common.c and each protocol_<style>.c) and the scalar
 *	  parsers and clocks of src/protocol_time.c.
 *
 * Input layout: bytes 0-7 are a clock (big-endian, folded into the years
 * 1970-9999); the rest is header lines, one per '\n', each handed to the
 * header callback of every API style in a buffer of its exact size, as
 * libcurl hands them (not NUL-terminated).  Checked besides the
 * sanitizers' findings:
 *
 * - every axis is either untouched or holds counts >= -1 and a reset time
 *	 >= 0 (0 on Azure's sentinel axes); retry-after and Date are >= 0;
 * - a line folded twice leaves what it left folded once;
 * - a status line resets everything, as a fresh start does;
 * - the scalar parsers answer -1 or a value >= 0 on the line's bytes;
 * - the clock, printed as an HTTP date, an RFC 3339 time with an offset
 *	 and a Go duration, parses back to itself;
 * - the next Pacific midnight and the next UTC month agree with libc's
 *	 gmtime_r and localtime_r under the POSIX rule "PST8PDT,M3.2.0,M11.1.0".
 *
 * IDENTIFICATION
 *	  test/fuzz/fuzz_headers.c
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "protocol.h"
#include "fuzz_util.h"

#define MAX_CLOCK_S INT64_C(253402300799)	/* 9999-12-31T23:59:59Z */
#define USECS INT64_C(1000000)

static void
check_window(const AigovRateWindow *w)
{
	if (!w->present)
	{
		if (w->limit != -1 || w->remaining != -1 || w->reset_at_us != 0 ||
			w->sentinel)
			abort();
		return;
	}
	if (w->limit < -1 || w->remaining < -1 || w->reset_at_us < 0)
		abort();
	if (w->sentinel && w->reset_at_us != 0)
		abort();
}

static void
check_headers(const AigovRateHeaders *h)
{
	check_window(&h->requests);
	check_window(&h->tokens);
	check_window(&h->input_tokens);
	check_window(&h->output_tokens);
	check_window(&h->tokens_month);
	if (h->retry_after_us < 0 || h->server_date_us < 0)
		abort();
	if (h->should_retry && !h->should_retry_set)
		abort();
}

/* The same header state?  Field by field: padding may differ. */
static bool
window_equal(const AigovRateWindow *a, const AigovRateWindow *b)
{
	return a->present == b->present && a->limit == b->limit &&
		a->remaining == b->remaining && a->reset_at_us == b->reset_at_us &&
		a->sentinel == b->sentinel;
}

static bool
headers_equal(const AigovRateHeaders *a, const AigovRateHeaders *b)
{
	return window_equal(&a->requests, &b->requests) &&
		window_equal(&a->tokens, &b->tokens) &&
		window_equal(&a->input_tokens, &b->input_tokens) &&
		window_equal(&a->output_tokens, &b->output_tokens) &&
		window_equal(&a->tokens_month, &b->tokens_month) &&
		a->retry_after_us == b->retry_after_us &&
		a->retry_after_from_ms == b->retry_after_from_ms &&
		a->should_retry_set == b->should_retry_set &&
		a->should_retry == b->should_retry &&
		a->any_ratelimit_header == b->any_ratelimit_header &&
		a->event_stream == b->event_stream &&
		a->server_date_us == b->server_date_us;
}

/* The scalar parsers answer -1 (malformed) or a non-negative value. */
static void
check_scalars(const char *s, size_t n)
{
	if (aigov_protocol_parse_go_duration(s, n) < -1 ||
		aigov_protocol_parse_rfc3339(s, n) < -1 ||
		aigov_protocol_parse_http_date(s, n) < -1 ||
		aigov_protocol_parse_decimal(s, n, 1) < -1 ||
		aigov_protocol_parse_decimal(s, n, 1000) < -1 ||
		aigov_protocol_parse_decimal(s, n, USECS) < -1)
		abort();
}

/* Parse buf (not NUL-terminated, exact size) with f; abort unless want. */
static void
expect_parse(int64_t (*f) (const char *, size_t), const char *text,
			 int64_t want)
{
	size_t		n = strlen(text);
	char	   *c = fuzz_copy_exact((const uint8_t *) text, n);

	if (f(c, n) != want)
		abort();
	free(c);
}

/* The clock printed in each format the parsers read must parse back. */
static void
check_round_trips(int64_t now_us, unsigned frac_digits, int off_min)
{
	time_t		t = (time_t) (now_us / USECS);
	struct tm	tm;
	char		buf[128];
	char		frac[16];
	int64_t		us = now_us % USECS;
	int64_t		frac_us;
	int64_t		scale = 1;
	int64_t		d;
	time_t		local;

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	expect_parse(aigov_protocol_parse_http_date, buf, (int64_t) t * USECS);

	/*
	 * part of the clock as a Go duration (hours, minutes, seconds.micros),
	 * within the 292 years int64 nanoseconds hold
	 */
	d = now_us % (INT64_C(9000000000) * USECS);
	snprintf(buf, sizeof(buf), "%lldh%lldm%lld.%06llds",
			 (long long) (d / (3600 * USECS)),
			 (long long) (d / (60 * USECS) % 60),
			 (long long) (d / USECS % 60), (long long) (d % USECS));
	expect_parse(aigov_protocol_parse_go_duration, buf, d);

	/* RFC 3339 with 0-6 fraction digits and a numeric offset */
	frac_digits %= 7;
	for (unsigned i = frac_digits; i < 6; i++)
		scale *= 10;
	frac_us = us / scale * scale;
	snprintf(frac, sizeof(frac), ".%06lld", (long long) us);
	frac[frac_digits == 0 ? 0 : frac_digits + 1] = '\0';
	local = t + (time_t) off_min * 60;
	if (local < 0 || local > MAX_CLOCK_S)
		return;
	gmtime_r(&local, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%c%02d:%02d",
			 frac, off_min < 0 ? '-' : '+', abs(off_min) / 60,
			 abs(off_min) % 60);
	expect_parse(aigov_protocol_parse_rfc3339, buf,
				 (int64_t) t * USECS + frac_us);
}

/* Same calendar day (or month) of two broken-down times. */
static bool
same_day(const struct tm *a, const struct tm *b)
{
	return a->tm_year == b->tm_year && a->tm_yday == b->tm_yday;
}

/*
 * The next Pacific midnight is a local 00:00:00 with no other local
 * midnight between now and it; the next UTC month likewise.
 */
static void
check_clocks(int64_t now_us)
{
	time_t		now_s = (time_t) (now_us / USECS);
	int64_t		pm = aigov_protocol_next_pacific_midnight_us(now_us);
	int64_t		um = aigov_protocol_next_utc_month_us(now_us);
	time_t		t;
	struct tm	a;
	struct tm	b;

	if (pm <= now_us || pm % USECS != 0 || um <= now_us || um % USECS != 0)
		abort();
	t = (time_t) (pm / USECS);
	localtime_r(&t, &a);
	if (a.tm_hour != 0 || a.tm_min != 0 || a.tm_sec != 0)
		abort();
	t -= 1;
	localtime_r(&t, &a);
	localtime_r(&now_s, &b);
	if (!same_day(&a, &b))
		abort();

	t = (time_t) (um / USECS);
	gmtime_r(&t, &a);
	if (a.tm_mday != 1 || a.tm_hour != 0 || a.tm_min != 0 || a.tm_sec != 0)
		abort();
	t -= 1;
	gmtime_r(&t, &a);
	gmtime_r(&now_s, &b);
	if (a.tm_year != b.tm_year || a.tm_mon != b.tm_mon)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool tz_set = false;
	uint64_t	clock = 0;
	int64_t		now_us;
	const uint8_t *p;
	const uint8_t *end = data + size;
	AigovRateHeaders h[AIGOV_API_STYLE_COUNT];

	if (size < 8)
		return 0;
	if (!tz_set)
	{
		/* the rule next_pacific_midnight applies, without a tz database */
		setenv("TZ", "PST8PDT,M3.2.0,M11.1.0", 1);
		tzset();
		tz_set = true;
	}
	for (int i = 0; i < 8; i++)
		clock = (clock << 8) | data[i];
	now_us = (int64_t) (clock % (uint64_t) ((MAX_CLOCK_S + 1) * USECS));
	check_round_trips(now_us, data[0], (int) (clock % 1439) - 719);
	check_clocks(now_us);

	for (int s = 0; s < AIGOV_API_STYLE_COUNT; s++)
		aigov_protocol_headers_init(&h[s]);
	for (p = data + 8; p < end;)
	{
		const uint8_t *nl = memchr(p, '\n', (size_t) (end - p));
		size_t		ll = nl ? (size_t) (nl - p) + 1 : (size_t) (end - p);
		char	   *line = fuzz_copy_exact(p, ll);

		check_scalars(line, ll);
		for (int s = 0; s < AIGOV_API_STYLE_COUNT; s++)
		{
			AigovRateHeaders once;
			AigovRateHeaders fresh;

			aigov_protocol_header_line((AigovApiStyle) s, line, ll,
									   FUZZ_NOW_US, &h[s]);
			check_headers(&h[s]);
			once = h[s];
			aigov_protocol_header_line((AigovApiStyle) s, line, ll,
									   FUZZ_NOW_US, &h[s]);
			if (!headers_equal(&once, &h[s]))
				abort();
			/* a status line starts a new response */
			aigov_protocol_headers_init(&fresh);
			if (ll >= 5 && strncasecmp(line, "http/", 5) == 0 &&
				!headers_equal(&fresh, &h[s]))
				abort();
		}
		free(line);
		p += ll;
	}
	return 0;
}
