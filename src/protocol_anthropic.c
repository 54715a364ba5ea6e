/*-------------------------------------------------------------------------
 * protocol_anthropic.c
 *	  Anthropic Messages API replies.
 *
 * Headers: anthropic-ratelimit-{requests,tokens,input-tokens,
 * output-tokens}-{limit,remaining,reset}, with absolute RFC 3339 resets
 * (docs/providers.md §3.1); retry-after is handled by the common code.
 *
 * Errors: {"type":"error","error":{"type","message","details"?}}.  The
 * traps (§3.3): the spend cap is a 429 rate_limit_error without
 * retry-after that lasts until the first of next month; 529 is a
 * provider-wide overload; 413 comes from the CDN in front of the API.
 *
 * Streams: named SSE events message_start ... message_stop, with "error"
 * events possible after HTTP 200.  A stream without message_stop was cut
 * short (bad_response); an error event is classified like the same error
 * in a plain body.
 *
 * IDENTIFICATION
 *	  src/protocol_anthropic.c
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "protocol_int.h"
#include "protocol_provider.h"

#define HEADER_PREFIX "anthropic-ratelimit-"

typedef enum AnthropicAxis
{
	AXIS_REQUESTS,
	AXIS_TOKENS,
	AXIS_INPUT,
	AXIS_OUTPUT,
	AXIS_NONE
} AnthropicAxis;

static const struct
{
	const char *name;			/* after HEADER_PREFIX */
	AnthropicAxis axis;
}			axes[] = {
	{"requests-", AXIS_REQUESTS},
	{"tokens-", AXIS_TOKENS},
	{"input-tokens-", AXIS_INPUT},
	{"output-tokens-", AXIS_OUTPUT},
};

/* Error type -> the status it stands for inside a 200 stream (§3.3). */
static const struct
{
	const char *type;
	int			status;
}			error_types[] = {
	{"invalid_request_error", 400},
	{"authentication_error", 401},
	{"billing_error", 402},
	{"permission_error", 403},
	{"not_found_error", 404},
	{"conflict_error", 409},
	{"request_too_large", 413},
	{"rate_limit_error", 429},
	{"api_error", 500},
	{"timeout_error", 504},
	{"overloaded_error", 529},
};

static const AigovRateWindow *
window_of(const AigovRateHeaders *h, AnthropicAxis a)
{
	switch (a)
	{
		case AXIS_REQUESTS:
			return &h->requests;
		case AXIS_TOKENS:
			return &h->tokens;
		case AXIS_INPUT:
			return &h->input_tokens;
		case AXIS_OUTPUT:
			return &h->output_tokens;
		default:
			return NULL;
	}
}

/*
 * Fold one anthropic-ratelimit-* header into *h; false if not ours.
 * Other families (unified-*, priority-*) are not axes we schedule on and
 * are ignored.  Allocation-free.
 */
bool
aigov_protocol_anthropic_header(const char *name, size_t nlen,
								const char *val, size_t vlen, int64_t now_us,
								AigovRateHeaders *h)
{
	size_t		plen = strlen(HEADER_PREFIX);

	if (nlen <= plen || !aigov_protocol_ci_equal(name, plen, HEADER_PREFIX))
		return false;
	name += plen;
	nlen -= plen;
	for (size_t i = 0; i < AIGOV_PROTOCOL_LENGTHOF(axes); i++)
	{
		size_t		alen = strlen(axes[i].name);
		AigovRateWindow *w;
		const char *field;
		size_t		flen;

		if (nlen <= alen || !aigov_protocol_ci_equal(name, alen, axes[i].name))
			continue;
		field = name + alen;
		flen = nlen - alen;
		switch (axes[i].axis)
		{
			case AXIS_REQUESTS:
				w = &h->requests;
				break;
			case AXIS_TOKENS:
				w = &h->tokens;
				break;
			case AXIS_INPUT:
				w = &h->input_tokens;
				break;
			default:
				w = &h->output_tokens;
				break;
		}
		if (aigov_protocol_ci_equal(field, flen, "limit"))
			aigov_protocol_window_count(w, true, val, vlen);
		else if (aigov_protocol_ci_equal(field, flen, "remaining"))
			aigov_protocol_window_count(w, false, val, vlen);
		else if (aigov_protocol_ci_equal(field, flen, "reset"))
			aigov_protocol_window_reset(w, aigov_protocol_parse_rfc3339(val, vlen));
		else
			return false;
		h->any_ratelimit_header = true;
		return true;
	}
	return false;
}

/* ------------------------------------------------------------- errors */

typedef struct AnthropicError
{
	const char *message;
	size_t		message_len;
	const char *type;
	const char *error_code;		/* error.details.error_code */
} AnthropicError;

static bool
str_eq(const char *a, const char *b)
{
	return a != NULL && strcmp(a, b) == 0;
}

static void
extract_error(json_t *root, AnthropicError *e)
{
	json_t	   *err = json_object_get(root, "error");
	json_t	   *m;

	memset(e, 0, sizeof(*e));
	if (!json_is_object(err))
		return;
	m = json_object_get(err, "message");
	if (json_is_string(m))
	{
		e->message = json_string_value(m);
		e->message_len = json_string_length(m);
	}
	e->type = aigov_protocol_json_str(err, "type");
	e->error_code = aigov_protocol_json_str(json_object_get(err, "details"),
											"error_code");
}

static int
pseudo_status(const AnthropicError *e)
{
	for (size_t i = 0; i < AIGOV_PROTOCOL_LENGTHOF(error_types); i++)
		if (str_eq(e->type, error_types[i].type))
			return error_types[i].status;
	return 500;
}

/*
 * "You will regain access on 2026-09-01 at 00:00 UTC." -> that instant,
 * or -1 when the message does not say.
 */
static int64_t
regain_time(const char *msg)
{
	const char *p;
	char		buf[32];
	size_t		n;

	if (msg == NULL)
		return -1;
	p = aigov_protocol_memcasestr(msg, strlen(msg), "regain access on ");
	if (p == NULL)
		return -1;
	p += strlen("regain access on ");
	n = strnlen(p, 10);
	if (n < 10)
		return -1;
	if (strncmp(p + 10, " at ", 4) == 0 && strnlen(p + 14, 5) == 5 &&
		p[16] == ':')
		snprintf(buf, sizeof(buf), "%.10sT%.5s:00Z", p, p + 14);
	else
		snprintf(buf, sizeof(buf), "%.10sT00:00:00Z", p);
	return aigov_protocol_parse_rfc3339(buf, strlen(buf));
}

/* The axis whose headers say it is empty, or AXIS_NONE. */
static AnthropicAxis
exhausted_axis(const AigovRateHeaders *h)
{
	if (h->requests.remaining == 0)
		return AXIS_REQUESTS;
	if (h->input_tokens.remaining == 0)
		return AXIS_INPUT;
	if (h->output_tokens.remaining == 0)
		return AXIS_OUTPUT;
	if (h->tokens.remaining == 0)
		return AXIS_TOKENS;
	return AXIS_NONE;
}

/*
 * Sort a 429 (docs/providers.md §3.3, §6).  The spend cap is recognised by its
 * error_code or message; since it is also the only 429 sent without
 * retry-after, a rate_limit_error whose message we do not recognise, that
 * lacks retry-after and whose headers show no empty axis is taken for a
 * spend cap too (with a changed wording, guessing "rate limit" would
 * retry a dead key every second for a month).  Spend caps lift at the
 * time the message names, else on the first of next month (UTC).
 * Minute classes come back at retry-after, else the axis' reset.
 */
static void
classify_429(const AigovRateHeaders *h, const AnthropicError *e,
			 int64_t now_us, AigovClassification *out)
{
	const char *msg = e->message;
	AnthropicAxis axis = AXIS_NONE;
	const AigovRateWindow *w;
	int64_t		t;

	if (str_eq(e->error_code, "enforced_spend_limit_reached") ||
		aigov_protocol_contains(msg, "reached your API usage limits"))
		goto spend_cap;

	if (aigov_protocol_contains(msg, "input tokens per minute"))
		axis = AXIS_INPUT;
	else if (aigov_protocol_contains(msg, "output tokens per minute"))
		axis = AXIS_OUTPUT;
	else if (aigov_protocol_contains(msg, "tokens per minute") ||
			 aigov_protocol_contains(msg, "request tokens has exceeded"))
		axis = AXIS_TOKENS;
	else if (aigov_protocol_contains(msg, "requests per minute") ||
			 aigov_protocol_contains(msg, "acceleration"))
		axis = AXIS_REQUESTS;
	else if ((axis = exhausted_axis(h)) == AXIS_NONE)
	{
		if (h->retry_after_us == 0 && str_eq(e->type, "rate_limit_error"))
			goto spend_cap;
		axis = AXIS_REQUESTS;
	}

	out->cls = (axis == AXIS_REQUESTS) ? AIGOV_CLASS_RATE_LIMIT_RPM :
		AIGOV_CLASS_RATE_LIMIT_TPM;
	w = window_of(h, axis);
	if (h->retry_after_us > now_us)
		out->retry_at_us = h->retry_after_us;
	else if (w != NULL && w->reset_at_us > now_us)
		out->retry_at_us = w->reset_at_us;
	return;

spend_cap:
	out->cls = AIGOV_CLASS_INSUFFICIENT_QUOTA;
	t = regain_time(msg);
	out->retry_at_us = (t > now_us) ? t : aigov_protocol_next_utc_month_us(now_us);
}

static void
classify_error(int status, const AigovRateHeaders *h, json_t *root,
			   const char *body, size_t len, int64_t now_us,
			   AigovClassification *out)
{
	AnthropicError e;

	extract_error(root, &e);
	if (e.message != NULL)
		aigov_protocol_set_message(out, e.message, e.message_len);
	else if (root == NULL)
		aigov_protocol_set_not_json(out, len);
	aigov_protocol_set_code(out, e.error_code != NULL ? e.error_code : e.type);

	out->cls = aigov_protocol_status_class(status);
	if (str_eq(e.type, "overloaded_error"))
		out->cls = AIGOV_CLASS_OVERLOADED;
	else if (str_eq(e.type, "billing_error") ||
			 (status == 400 &&
			  (aigov_protocol_contains(e.message, "specified API usage limits") ||
			   aigov_protocol_contains(e.message, "credit balance is too low"))))
	{
		/* no credit, or a user-set spend limit: no retry will help */
		out->cls = AIGOV_CLASS_INSUFFICIENT_QUOTA;
	}
	else if (str_eq(e.type, "authentication_error"))
		out->cls = AIGOV_CLASS_AUTH;
	else if (str_eq(e.type, "permission_error"))
	{
		/* the key is valid but may not do this: not a reason to disable it */
		out->cls = AIGOV_CLASS_FORBIDDEN;
	}
	else if (str_eq(e.type, "request_too_large"))
		out->cls = AIGOV_CLASS_REQUEST_TOO_LARGE;	/* bytes, not tokens */
	else if (status == 400 &&
			 (aigov_protocol_contains(e.message, "prompt is too long") ||
			  aigov_protocol_contains(e.message, "exceed context limit")))
		out->cls = AIGOV_CLASS_CONTEXT_WINDOW;
	else if (status == 429 || str_eq(e.type, "rate_limit_error"))
		classify_429(h, &e, now_us, out);
}

/* ------------------------------------------------------------- success */

/*
 * Merge an Anthropic usage object into the raw counters (later values
 * win: message_delta carries cumulative counts).
 */
typedef struct RawUsage
{
	int64_t		input,
				output,
				cache_creation,
				cache_read;
	bool		present;
} RawUsage;

static void
merge_usage(json_t *usage, RawUsage *r)
{
	if (!json_is_object(usage))
		return;
	r->present |= aigov_protocol_json_int(usage, "input_tokens", &r->input);
	r->present |= aigov_protocol_json_int(usage, "output_tokens", &r->output);
	(void) aigov_protocol_json_int(usage, "cache_creation_input_tokens",
								   &r->cache_creation);
	(void) aigov_protocol_json_int(usage, "cache_read_input_tokens",
								   &r->cache_read);
}

/*
 * Normalise (docs/providers.md §7): Anthropic's input_tokens excludes cache
 * writes and reads, our prompt_tokens counts all input.
 */
static void
finish_usage(const RawUsage *r, AigovUsage *u)
{
	memset(u, 0, sizeof(*u));
	if (!r->present)
		return;
	u->prompt_tokens = r->input + r->cache_creation + r->cache_read;
	u->completion_tokens = r->output;
	u->cached_tokens = r->cache_read;
	u->present = true;
}

static void
set_bad(AigovClassification *out, const char *code)
{
	out->cls = AIGOV_CLASS_BAD_RESPONSE;
	aigov_protocol_set_code(out, code);
}

/*
 * Walk a Messages stream: returns 1 for a complete stream, 0 for a
 * truncated or empty one, -1 for an undecodable event, 2 when an error
 * event was found (then *err_json holds it, to be released by the caller).
 */
static int
walk_stream(const char *body, size_t len, RawUsage *r, json_t **err_json)
{
	size_t		pos = 0;
	AigovSseEvent ev;
	bool		started = false;
	bool		stopped = false;

	memset(r, 0, sizeof(*r));
	*err_json = NULL;
	while (aigov_protocol_sse_next(body, len, &pos, &ev))
	{
		json_t	   *j;
		const char *type;

		if (ev.data_lines == 0)
			continue;
		j = aigov_protocol_sse_json(&ev);
		if (!json_is_object(j))
		{
			json_decref(j);
			return -1;
		}
		type = aigov_protocol_json_str(j, "type");
		if (str_eq(type, "error") ||
			aigov_protocol_ci_equal(ev.name, ev.name_len, "error"))
		{
			*err_json = j;
			return 2;
		}
		if (str_eq(type, "message_start"))
		{
			started = true;
			merge_usage(json_object_get(json_object_get(j, "message"), "usage"),
						r);
		}
		else if (str_eq(type, "message_delta"))
			merge_usage(json_object_get(j, "usage"), r);
		else if (str_eq(type, "message_stop"))
			stopped = true;
		json_decref(j);
	}
	return (started && stopped) ? 1 : 0;
}

static void
classify_success(const AigovRateHeaders *h, const char *body, size_t len,
				 int64_t now_us, AigovClassification *out)
{
	json_t	   *root;
	RawUsage	r;

	if (aigov_protocol_looks_like_sse(h, body, len))
	{
		json_t	   *err;
		int			rc = walk_stream(body, len, &r, &err);

		if (rc == 2)
		{
			AnthropicError e;

			extract_error(err, &e);
			classify_error(pseudo_status(&e), h, err, NULL, 0, now_us, out);
			json_decref(err);
		}
		else if (rc == 1)
		{
			out->cls = AIGOV_CLASS_SUCCESS;
			finish_usage(&r, &out->usage);
		}
		else
			set_bad(out, rc < 0 ? "invalid_json" : "truncated_stream");
		return;
	}
	root = aigov_protocol_json_parse(body, len);
	if (!json_is_object(root))
	{
		set_bad(out, "invalid_json");
		aigov_protocol_set_not_json(out, len);
	}
	else if (json_is_object(json_object_get(root, "error")))
	{
		AnthropicError e;

		extract_error(root, &e);
		classify_error(pseudo_status(&e), h, root, body, len, now_us, out);
	}
	else if (json_is_array(json_object_get(root, "content")))
	{
		out->cls = AIGOV_CLASS_SUCCESS;
		memset(&r, 0, sizeof(r));
		merge_usage(json_object_get(root, "usage"), &r);
		finish_usage(&r, &out->usage);
	}
	else
		set_bad(out, "no_content");
	json_decref(root);
}

/* Classify an Anthropic reply with an HTTP status in 200..599. */
void
aigov_protocol_anthropic_classify(int http_status, const AigovRateHeaders *h,
								  const char *body, size_t len,
								  int64_t now_us, AigovClassification *out)
{
	json_t	   *root;

	if (http_status >= 200 && http_status <= 299)
	{
		classify_success(h, body, len, now_us, out);
		return;
	}
	root = aigov_protocol_json_parse(body, len);
	classify_error(http_status, h, root, body, len, now_us, out);
	json_decref(root);
}

/*
 * Usage of a Messages body, or of a stream (message_start's input counts
 * plus message_delta's cumulative output).
 */
bool
aigov_protocol_anthropic_usage(const char *body, size_t len, AigovUsage *out)
{
	RawUsage	r;

	if (aigov_protocol_looks_like_sse(NULL, body, len))
	{
		json_t	   *err;

		(void) walk_stream(body, len, &r, &err);
		json_decref(err);
	}
	else
	{
		json_t	   *root = aigov_protocol_json_parse(body, len);

		memset(&r, 0, sizeof(r));
		merge_usage(json_object_get(root, "usage"), &r);
		json_decref(root);
	}
	finish_usage(&r, out);
	return out->present;
}

/* ------------------------------------------------------------ requests */

static AigovTranslateStatus
anthropic_build_request(const char *base_url, const char *model,
						const char *body, size_t len,
						const AigovTranslateOptions *opts,
						AigovWireRequest *out)
{
	return aigov_provider_translated(AIGOV_API_ANTHROPIC, base_url, body, len,
									 opts, out);
}

/*
 * Anthropic: an x-api-key header and the API version every request names;
 * its limiter counts tokens (input at admission, output as produced).
 */
const AigovProvider aigov_provider_anthropic = {
	.style = AIGOV_API_ANTHROPIC,
	.name = "anthropic",
	.auth_prefix = "x-api-key: ",
	.version_header = "anthropic-version: 2023-06-01",
	.charges_characters = false,
	.requests_window_s = 60,
	.openai_replies = false,
	.header = aigov_protocol_anthropic_header,
	.classify = aigov_protocol_anthropic_classify,
	.usage = aigov_protocol_anthropic_usage,
	.build_request = anthropic_build_request,
};
