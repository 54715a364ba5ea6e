/*-------------------------------------------------------------------------
 * headers.c
 *	  The rate-limit and retry headers of each provider.
 *
 * OpenAI: x-ratelimit-{limit,remaining,reset}-{requests,tokens} describing
 * the minute buckets only, resets as relative Go durations.  Anthropic:
 * anthropic-ratelimit-{requests,input-tokens,output-tokens,tokens}-* with
 * absolute RFC 3339 resets and token remainders rounded to thousands, the
 * "tokens" family derived as input + output.  Gemini: none at all.  Azure:
 * the OpenAI limit and remaining headers, but no reset headers, and
 * retry-after-ms beside retry-after on every rate-limit 429.
 *
 * IDENTIFICATION
 *	  emulator/headers.c
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "fmt.h"
#include "headers.h"

/* A retry-after longer than a day is a "never" in disguise. */
#define RETRY_CAP_US	(86400 * INT64_C(1000000))

void
emu_headers_clear(EmuHeaders *hs)
{
	hs->n = 0;
}

void
emu_headers_add(EmuHeaders *hs, const char *name, const char *fmt,...)
{
	va_list		ap;
	EmuHeader  *h;

	if (hs->n >= EMU_MAX_HEADERS)
		return;
	h = &hs->h[hs->n++];
	snprintf(h->name, sizeof(h->name), "%s", name);
	va_start(ap, fmt);
	vsnprintf(h->value, sizeof(h->value), fmt, ap);
	va_end(ap);
}

/* Value of a header by case-insensitive name, or NULL. */
const char *
emu_headers_get(const EmuHeaders *hs, const char *name)
{
	for (int i = 0; i < hs->n; i++)
		if (strcasecmp(hs->h[i].name, name) == 0)
			return hs->h[i].value;
	return NULL;
}

/* Whole seconds to wait, rounded up, at least 1, capped at a day. */
int64_t
emu_retry_after_seconds(int64_t wait_us)
{
	int64_t		s;

	if (wait_us > RETRY_CAP_US)
		wait_us = RETRY_CAP_US;
	s = emu_ceil_div(wait_us, 1000000);
	return s < 1 ? 1 : s;
}

/*
 * One OpenAI family (requests or tokens) from dimension d; Azure sends the
 * same names without the reset header.
 */
static void
openai_family(const EmuQuotaView *v, EmuDim d, const char *fam,
			  bool with_reset, EmuHeaders *hs)
{
	char		name[EMU_HEADER_NAME_MAX];
	char		dur[32];

	if (!v->limited[d])
		return;
	snprintf(name, sizeof(name), "x-ratelimit-limit-%s", fam);
	emu_headers_add(hs, name, "%" PRId64, v->limit[d]);
	snprintf(name, sizeof(name), "x-ratelimit-remaining-%s", fam);
	emu_headers_add(hs, name, "%" PRId64, v->remaining[d]);
	if (!with_reset)
		return;
	emu_fmt_go_duration(dur, sizeof(dur), v->reset_us[d]);
	snprintf(name, sizeof(name), "x-ratelimit-reset-%s", fam);
	emu_headers_add(hs, name, "%s", dur);
}

/* Absolute reset time: now + wait, rounded up to the second. */
static void
rfc3339_after(char *buf, size_t len, int64_t wall_now_us, int64_t wait_us)
{
	int64_t		t = wall_now_us + (wait_us > RETRY_CAP_US ? RETRY_CAP_US : wait_us);

	emu_fmt_rfc3339(buf, len, emu_ceil_div(t, 1000000));
}

/* One Anthropic family; tokens are rounded, requests are exact. */
static void
anthropic_family(const char *fam, int64_t limit, int64_t remaining,
				 int64_t reset_us, bool round, int64_t wall_now_us,
				 EmuHeaders *hs)
{
	char		name[EMU_HEADER_NAME_MAX];
	char		ts[40];

	snprintf(name, sizeof(name), "anthropic-ratelimit-%s-limit", fam);
	emu_headers_add(hs, name, "%" PRId64, limit);
	snprintf(name, sizeof(name), "anthropic-ratelimit-%s-remaining", fam);
	emu_headers_add(hs, name, "%" PRId64,
					round ? emu_round_thousand(remaining) : remaining);
	rfc3339_after(ts, sizeof(ts), wall_now_us, reset_us);
	snprintf(name, sizeof(name), "anthropic-ratelimit-%s-reset", fam);
	emu_headers_add(hs, name, "%s", ts);
}

/*
 * Append the provider's rate-limit headers for the buckets in "v".
 * Families whose limit is absent are left out.  Daily buckets never show:
 * the providers' headers describe the minute windows only.
 */
void
emu_headers_ratelimit(EmuProvider p, const EmuQuotaView *v,
					  int64_t wall_now_us, EmuHeaders *hs)
{
	switch (p)
	{
		case EMU_PROVIDER_OPENAI:
			openai_family(v, EMU_DIM_RPM, "requests", true, hs);
			openai_family(v, EMU_DIM_TPM, "tokens", true, hs);
			break;
		case EMU_PROVIDER_AZURE:

			/*
			 * The requests limit is the RPM bucket's, which is the
			 * sub-window's share when RPM is enforced per 10 s: a real
			 * deployment of 600 RPM was seen sending 100.
			 */
			openai_family(v, EMU_DIM_RPM, "requests", false, hs);
			openai_family(v, EMU_DIM_TPM, "tokens", false, hs);
			break;
		case EMU_PROVIDER_ANTHROPIC:
			{
				bool		in = v->limited[EMU_DIM_ITPM];
				bool		out = v->limited[EMU_DIM_OTPM];

				if (v->limited[EMU_DIM_RPM])
					anthropic_family("requests", v->limit[EMU_DIM_RPM],
									 v->remaining[EMU_DIM_RPM],
									 v->reset_us[EMU_DIM_RPM], false,
									 wall_now_us, hs);
				if (in)
					anthropic_family("input-tokens", v->limit[EMU_DIM_ITPM],
									 v->remaining[EMU_DIM_ITPM],
									 v->reset_us[EMU_DIM_ITPM], true,
									 wall_now_us, hs);
				if (out)
					anthropic_family("output-tokens", v->limit[EMU_DIM_OTPM],
									 v->remaining[EMU_DIM_OTPM],
									 v->reset_us[EMU_DIM_OTPM], true,
									 wall_now_us, hs);
				if (in || out)
				{
					int64_t		lim = 0;
					int64_t		rem = 0;
					int64_t		rst = 0;

					/* combined family = input + output, reset = the later */
					if (in)
					{
						lim += v->limit[EMU_DIM_ITPM];
						rem += v->remaining[EMU_DIM_ITPM];
						rst = v->reset_us[EMU_DIM_ITPM];
					}
					if (out)
					{
						lim += v->limit[EMU_DIM_OTPM];
						rem += v->remaining[EMU_DIM_OTPM];
						if (v->reset_us[EMU_DIM_OTPM] > rst)
							rst = v->reset_us[EMU_DIM_OTPM];
					}
					anthropic_family("tokens", lim, rem, rst, true,
									 wall_now_us, hs);
				}
			}
			break;
		default:
			/* Gemini sends no rate-limit headers */
			break;
	}
}

/* Drop header "name" (case-insensitive) if present. */
static void
headers_remove(EmuHeaders *hs, const char *name)
{
	for (int i = 0; i < hs->n; i++)
	{
		if (strcasecmp(hs->h[i].name, name) == 0)
		{
			memmove(&hs->h[i], &hs->h[i + 1],
					(size_t) (hs->n - i - 1) * sizeof(EmuHeader));
			hs->n--;
			i--;
		}
	}
}

/*
 * The "sentinel" wart: replace the token family by limit -1, remaining -1
 * and reset 0, as Azure has been seen to send (and as an OpenAI-compatible
 * proxy might).  A client must read that as "unknown", not "exhausted".
 * Only the OpenAI-style dialects have such headers; the others are left
 * alone.
 */
void
emu_headers_sentinel(EmuProvider p, EmuHeaders *hs)
{
	if (p != EMU_PROVIDER_OPENAI && p != EMU_PROVIDER_AZURE)
		return;
	headers_remove(hs, "x-ratelimit-limit-tokens");
	headers_remove(hs, "x-ratelimit-remaining-tokens");
	headers_remove(hs, "x-ratelimit-reset-tokens");
	emu_headers_add(hs, "x-ratelimit-limit-tokens", "-1");
	emu_headers_add(hs, "x-ratelimit-remaining-tokens", "-1");
	emu_headers_add(hs, "x-ratelimit-reset-tokens", "0");
}

/*
 * Append the retry headers of a 429.  Rate limits get retry-after in whole
 * seconds (rounded up, so waiting that long always succeeds), and OpenAI
 * also retry-after-ms when "with_ms", which its SDK prefers.  Billing
 * errors and requests that can never fit get none: waiting does not help.
 * Gemini carries its hint in the body (RetryInfo), not in headers.
 * Azure always sends both, and answers a request that can never fit with
 * a day (86400 s), as it does for a deployment without quota.
 */
void
emu_headers_retry(EmuProvider p, const EmuAdmit *a, bool with_ms,
				  EmuHeaders *hs)
{
	int64_t		w;

	if (p == EMU_PROVIDER_AZURE && a->status == EMU_ADMIT_TOO_LARGE)
	{
		emu_headers_add(hs, "retry-after", "%" PRId64, RETRY_CAP_US / 1000000);
		emu_headers_add(hs, "retry-after-ms", "%" PRId64, RETRY_CAP_US / 1000);
		return;
	}
	if (a->status != EMU_ADMIT_LIMITED || p == EMU_PROVIDER_GEMINI)
		return;
	w = a->retry_us > RETRY_CAP_US ? RETRY_CAP_US : a->retry_us;
	emu_headers_add(hs, "retry-after", "%" PRId64, emu_retry_after_seconds(w));
	if (p == EMU_PROVIDER_AZURE || (p == EMU_PROVIDER_OPENAI && with_ms))
		emu_headers_add(hs, "retry-after-ms", "%" PRId64,
						emu_ceil_div(w, 1000) < 1 ? 1 : emu_ceil_div(w, 1000));
}
