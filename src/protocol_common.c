/*-------------------------------------------------------------------------
 * protocol_common.c
 *	  Dialect-independent parts of provider reply parsing: header lines,
 *	  error classes, and the classify and usage entry points.
 *
 * Owns the header-line splitter, the headers every dialect shares
 * (retry-after-ms, retry-after, x-should-retry, content-type, date), the
 * rate-limit window fields, the class names, the status-code fallback,
 * and the final "what does this class mean" step of classification.
 * The scalar parsers live in protocol_time.c, the SSE reader in
 * protocol_sse.c, the text and JSON helpers in protocol_text.c.
 *
 * Nothing here allocates: the body goes to the dialect files, which
 * release whatever jansson built before they return.  The header path
 * (aigov_protocol_header_line and everything it calls) never allocates:
 * libcurl's header callback must not.
 *
 * IDENTIFICATION
 *	  src/protocol_common.c
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "protocol_int.h"
#include "protocol_provider.h"
#include "satmath.h"

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
	"bad_response",
	"forbidden",
	"response_too_large",
	"schema_mismatch",
	"context_window"
};

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
	const AigovProvider *provider;
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
	/* a dialect without rate-limit headers of its own (Gemini) has none */
	provider = aigov_provider(style);
	if (provider->header != NULL)
		(void) provider->header(line, nlen, line + vstart, vend - vstart,
								now_us, h);
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
		return AIGOV_CLASS_CLIENT_ERROR;	/* a redirect we did not follow: a
											 * wrong base_url */
	switch (http_status)
	{
		case 401:
			return AIGOV_CLASS_AUTH;
		case 403:
			return AIGOV_CLASS_FORBIDDEN;
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
		case AIGOV_CLASS_CONTEXT_WINDOW:
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
		case AIGOV_CLASS_FORBIDDEN:
			/* a valid key refused: the breaker's business, not a disable */
			out->breaker_failure = true;
			out->retry_at_us = 0;
			return;
		case AIGOV_CLASS_RESPONSE_TOO_LARGE:
			/* a provider's misbehaviour, but another call is billed again */
			out->breaker_failure = true;
			out->retry_at_us = 0;
			return;
		case AIGOV_CLASS_SCHEMA_MISMATCH:
			/* set after classification (structured_output.c), never here */
			out->retry_at_us = 0;
			return;
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
 * a timeout, a reply over the size caps or a connection failure wins over
 * whatever status was seen.  A
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
	else if (transport_error == AIGOV_TRANSPORT_TOO_LARGE)
	{
		out->cls = AIGOV_CLASS_RESPONSE_TOO_LARGE;
		aigov_protocol_set_code(out, "response_too_large");
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
		aigov_provider(style)->classify(http_status, h, body, body_len,
										now_us, out);
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
	return aigov_provider(style)->usage(body, len, out);
}
