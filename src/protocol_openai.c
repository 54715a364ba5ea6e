/*-------------------------------------------------------------------------
 * protocol_openai.c
 *	  OpenAI-style replies: OpenAI itself, Azure OpenAI and Mistral.
 *
 * Headers: x-ratelimit-{limit,remaining,reset}-{requests,tokens}, whose
 * resets are relative Go durations and describe only the minute window
 * (docs/providers.md §1.1); Azure sends the same names without resets and
 * sometimes -1 sentinels (§2); Mistral's token-only ratelimitbysize-*
 * family (§5.1) folds into the tokens axis, its monthly budget into
 * tokens_month.
 *
 * Errors: the {"error":{message,type,code}} envelope.  Azure's 429 puts
 * the axis in its prose and "429" in code; Mistral's envelope is at the
 * top level with string codes "1300"/"3505".  The body is the only place
 * a daily limit, "Request too large" or a billing problem shows up.
 *
 * Streams (text/event-stream): "data: {chunk}" lines ending with
 * "data: [DONE]".  A stream whose chunks all parse and that ends with
 * [DONE] is a success; a stream without [DONE] was cut short and is a
 * bad_response; an error object inside the stream is classified like the
 * same error in a plain body.
 *
 * IDENTIFICATION
 *	  src/protocol_openai.c
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include <jansson.h>

#include "json_scan.h"
#include "protocol_int.h"
#include "protocol_provider.h"
#include "satmath.h"

typedef enum HeaderField
{
	FIELD_LIMIT,
	FIELD_REMAINING,
	FIELD_RESET_DURATION,		/* Go duration, relative */
	FIELD_RESET_SECONDS			/* integer seconds, relative (Mistral) */
} HeaderField;

typedef enum HeaderAxis
{
	AXIS_REQUESTS,
	AXIS_TOKENS,
	AXIS_TOKENS_MONTH
} HeaderAxis;

static const struct
{
	const char *name;
	HeaderAxis	axis;
	HeaderField field;
}			rate_headers[] = {
	{"x-ratelimit-limit-requests", AXIS_REQUESTS, FIELD_LIMIT},
	{"x-ratelimit-remaining-requests", AXIS_REQUESTS, FIELD_REMAINING},
	{"x-ratelimit-reset-requests", AXIS_REQUESTS, FIELD_RESET_DURATION},
	{"x-ratelimit-limit-tokens", AXIS_TOKENS, FIELD_LIMIT},
	{"x-ratelimit-remaining-tokens", AXIS_TOKENS, FIELD_REMAINING},
	{"x-ratelimit-reset-tokens", AXIS_TOKENS, FIELD_RESET_DURATION},
	{"ratelimitbysize-limit", AXIS_TOKENS, FIELD_LIMIT},
	{"ratelimitbysize-remaining", AXIS_TOKENS, FIELD_REMAINING},
	{"ratelimitbysize-reset", AXIS_TOKENS, FIELD_RESET_SECONDS},
	{"x-ratelimitbysize-limit-minute", AXIS_TOKENS, FIELD_LIMIT},
	{"x-ratelimitbysize-remaining-minute", AXIS_TOKENS, FIELD_REMAINING},
	{"x-ratelimitbysize-limit-month", AXIS_TOKENS_MONTH, FIELD_LIMIT},
	{"x-ratelimitbysize-remaining-month", AXIS_TOKENS_MONTH, FIELD_REMAINING},
};

/* Error codes that mean "no money / no quota": waiting never helps. */
static const char *const insufficient_codes[] = {
	"insufficient_quota",
	"credit_balance_exhausted",
	"organization_spend_limit_exceeded",
	"project_spend_limit_exceeded",
	"organization_usage_limit_exceeded",
	"billing_hard_limit_reached",
};

/*
 * Fold one OpenAI-dialect rate-limit header into *h; false if the name is
 * not one of ours.  Part of the allocation-free header path.
 */
bool
aigov_protocol_openai_header(const char *name, size_t nlen, const char *val,
							 size_t vlen, int64_t now_us, AigovRateHeaders *h)
{
	for (size_t i = 0; i < AIGOV_PROTOCOL_LENGTHOF(rate_headers); i++)
	{
		AigovRateWindow *w;
		int64_t		d;

		if (!aigov_protocol_ci_equal(name, nlen, rate_headers[i].name))
			continue;
		switch (rate_headers[i].axis)
		{
			case AXIS_REQUESTS:
				w = &h->requests;
				break;
			case AXIS_TOKENS:
				w = &h->tokens;
				break;
			default:
				w = &h->tokens_month;
				break;
		}
		h->any_ratelimit_header = true;
		switch (rate_headers[i].field)
		{
			case FIELD_LIMIT:
			case FIELD_REMAINING:
				aigov_protocol_window_count(w, rate_headers[i].field == FIELD_LIMIT,
											val, vlen);
				break;
			case FIELD_RESET_DURATION:

				/*
				 * A Go duration; OpenAI-compatible servers that send plain
				 * seconds ("6", "0.5") are understood too.
				 */
				d = aigov_protocol_parse_go_duration(val, vlen);
				if (d < 0)
					d = aigov_protocol_parse_decimal(val, vlen,
													 AIGOV_USECS_PER_SEC);
				if (d >= 0)
					aigov_protocol_window_reset(w, aigov_sat_add(now_us, d));
				break;
			case FIELD_RESET_SECONDS:
				d = aigov_protocol_parse_decimal(val, vlen, AIGOV_USECS_PER_SEC);
				if (d >= 0)
					aigov_protocol_window_reset(w, aigov_sat_add(now_us, d));
				break;
		}
		return true;
	}
	return false;
}

/* ------------------------------------------------------------- errors */

typedef struct OpenAIError
{
	const char *message;		/* NUL-terminated (jansson), or NULL */
	size_t		message_len;
	const char *type;
	char		code[64];		/* string or integer code, "" if none */
} OpenAIError;

static bool
str_eq(const char *a, const char *b)
{
	return a != NULL && strcmp(a, b) == 0;
}

/*
 * Pull message, type and code out of whichever envelope the body uses:
 * {"error":{...}} (OpenAI, Azure), {"error":"text"} (some proxies) or the
 * top-level {"object":"error","message":...} of Mistral.
 */
static void
extract_error(json_t *root, OpenAIError *e)
{
	json_t	   *err;

	memset(e, 0, sizeof(*e));
	if (!json_is_object(root))
		return;
	err = json_object_get(root, "error");
	if (json_is_string(err))
	{
		e->message = json_string_value(err);
		e->message_len = json_string_length(err);
		return;
	}
	if (!json_is_object(err))
	{
		if (json_object_get(root, "message") == NULL)
			return;
		err = root;				/* Mistral */
	}
	if (json_is_string(json_object_get(err, "message")))
	{
		e->message = json_string_value(json_object_get(err, "message"));
		e->message_len = json_string_length(json_object_get(err, "message"));
	}
	e->type = aigov_protocol_json_str(err, "type");
	(void) aigov_protocol_json_code(err, "code", e->code, sizeof(e->code));
}

static bool
is_insufficient(const OpenAIError *e)
{
	for (size_t i = 0; i < AIGOV_PROTOCOL_LENGTHOF(insufficient_codes); i++)
		if (strcmp(e->code, insufficient_codes[i]) == 0 ||
			str_eq(e->type, insufficient_codes[i]))
			return true;
	return false;
}

/* The HTTP status an error found inside a 2xx body stands for. */
static int
pseudo_status(const OpenAIError *e)
{
	if (is_insufficient(e) || strcmp(e->code, "rate_limit_exceeded") == 0 ||
		strcmp(e->code, "slow_down") == 0 ||
		str_eq(e->type, "rate_limit_exceeded") || str_eq(e->type, "tokens") ||
		str_eq(e->type, "requests"))
		return 429;
	if (strcmp(e->code, "server_is_overloaded") == 0 ||
		str_eq(e->type, "service_unavailable_error"))
		return 503;
	if (str_eq(e->type, "authentication_error") ||
		strcmp(e->code, "invalid_api_key") == 0)
		return 401;
	if (str_eq(e->type, "invalid_request_error"))
		return 400;
	return 500;
}

/* Does the message name the requests axis (OpenAI, Azure prose)? */
static bool
says_requests(const char *msg)
{
	return aigov_protocol_contains(msg, "per min (RPM)") ||
		aigov_protocol_contains(msg, "requests per min") ||
		aigov_protocol_contains(msg, "exceeded call rate limit");
}

/* Does the message name the tokens axis? */
static bool
says_tokens(const char *msg)
{
	return aigov_protocol_contains(msg, "per min (TPM)") ||
		aigov_protocol_contains(msg, "tokens per min") ||
		aigov_protocol_contains(msg, "exceeded token rate limit");
}

static bool
names_axis(const OpenAIError *e)
{
	return says_requests(e->message) || says_tokens(e->message) ||
		str_eq(e->type, "tokens") || str_eq(e->type, "requests");
}

/*
 * The minute class of a rate-limit 429: the prose first, then OpenAI's
 * error type, then an empty token axis in the headers (Mistral's limits
 * are token-denominated).  Otherwise (Mistral's "1300 rate_limited", a
 * bare 429, an unknown message) the requests axis is the conservative
 * reading.
 */
static AigovErrorClass
minute_class(const AigovRateHeaders *h, const OpenAIError *e)
{
	if (says_requests(e->message))
		return AIGOV_CLASS_RATE_LIMIT_RPM;
	if (says_tokens(e->message) || str_eq(e->type, "tokens"))
		return AIGOV_CLASS_RATE_LIMIT_TPM;
	if (str_eq(e->type, "requests"))
		return AIGOV_CLASS_RATE_LIMIT_RPM;
	if (h->tokens.present && h->tokens.remaining == 0)
		return AIGOV_CLASS_RATE_LIMIT_TPM;
	return AIGOV_CLASS_RATE_LIMIT_RPM;
}

/*
 * Sort a 429 into its class (docs/providers.md §1.3, §2, §5.2, §6) and find when
 * to come back.  Minute classes take their hint from retry-after-ms, then
 * retry-after, then the body ("try again in 1.146s", Azure's "retry after
 * 6 seconds"), then the axis' reset header.  Daily classes ignore the
 * headers, which only describe the minute window, and trust the body's
 * "try again in 6h12m" alone.  A minute-class hint of a day or more
 * (Azure's "86400 seconds", a deployment with effectively no quota) makes
 * the class daily.  "slow_down" (ramping too fast) is treated as an RPM
 * limit with the short default retry: the right reaction, slowing down,
 * is the throttle's job, and the key itself is not exhausted.
 */
static void
classify_429(const AigovRateHeaders *h, const OpenAIError *e, int64_t now_us,
			 AigovClassification *out)
{
	const char *msg = e->message;
	const AigovRateWindow *axis;
	int64_t		d;
	int64_t		hint = 0;

	if (is_insufficient(e))
	{
		out->cls = AIGOV_CLASS_INSUFFICIENT_QUOTA;
		return;
	}
	if (aigov_protocol_contains(msg, "request too large"))
	{
		out->cls = AIGOV_CLASS_REQUEST_TOO_LARGE;
		return;
	}
	if (strcmp(e->code, "slow_down") == 0 || str_eq(e->type, "slow_down"))
	{
		out->cls = AIGOV_CLASS_RATE_LIMIT_RPM;
		out->retry_at_us = h->retry_after_us;
		return;
	}
	if (strcmp(e->code, "3505") == 0 ||
		str_eq(e->type, "service_tier_capacity_exceeded") ||
		(!names_axis(e) && (aigov_protocol_contains(msg, "capacity") ||
							aigov_protocol_contains(msg, "high demand"))))
	{
		/*
		 * Mistral's capacity 429, and Azure's "system capacity" 429 (whose
		 * wording docs/providers.md §2 does not pin down, hence the loose
		 * match on a message that names no quota axis): a provider overload,
		 * not our quota.
		 */
		out->cls = AIGOV_CLASS_OVERLOADED;
		return;
	}

	/* daily windows: the headers describe the minute window, ignore them */
	if (aigov_protocol_contains(msg, "per day (RPD)") ||
		aigov_protocol_contains(msg, "requests per day"))
		out->cls = AIGOV_CLASS_RATE_LIMIT_RPD;
	else if (aigov_protocol_contains(msg, "per day (TPD)") ||
			 aigov_protocol_contains(msg, "tokens per day"))
		out->cls = AIGOV_CLASS_RATE_LIMIT_TPD;
	if (out->cls == AIGOV_CLASS_RATE_LIMIT_RPD ||
		out->cls == AIGOV_CLASS_RATE_LIMIT_TPD)
	{
		d = aigov_protocol_duration_after(msg, "try again in");
		if (d > 0)
			out->retry_at_us = aigov_sat_add(now_us, d);
		return;
	}

	if (!names_axis(e) && h->tokens_month.present &&
		h->tokens_month.remaining == 0)
	{
		/*
		 * Mistral's monthly token budget is spent.  We assume it renews with
		 * the calendar month (UTC); nothing documents it.
		 */
		out->cls = AIGOV_CLASS_RATE_LIMIT_TPD;
		out->retry_at_us = aigov_protocol_next_utc_month_us(now_us);
		return;
	}
	out->cls = minute_class(h, e);
	axis = (out->cls == AIGOV_CLASS_RATE_LIMIT_TPM) ? &h->tokens : &h->requests;

	d = aigov_protocol_duration_after(msg, "try again in");
	if (d <= 0)
		d = aigov_protocol_seconds_after(msg, "retry after");	/* Azure */
	if (h->retry_after_us > now_us)
		hint = h->retry_after_us;
	else if (d > 0)
		hint = aigov_sat_add(now_us, d);
	else if (axis->reset_at_us > now_us)
		hint = axis->reset_at_us;
	out->retry_at_us = hint;
	if (hint != 0 && hint - now_us >= AIGOV_PROTOCOL_DAILY_HINT_US)
		out->cls = (out->cls == AIGOV_CLASS_RATE_LIMIT_TPM) ?
			AIGOV_CLASS_RATE_LIMIT_TPD : AIGOV_CLASS_RATE_LIMIT_RPD;
}

/* Classify a non-2xx status (or an error found inside a 2xx body). */
static void
classify_error(int status, const AigovRateHeaders *h, json_t *root,
			   const char *body, size_t len, int64_t now_us,
			   AigovClassification *out)
{
	OpenAIError e;

	extract_error(root, &e);
	if (e.message != NULL)
		aigov_protocol_set_message(out, e.message, e.message_len);
	else if (root == NULL)
		aigov_protocol_set_not_json(out, len);
	aigov_protocol_set_code(out, e.code[0] != '\0' ? e.code : e.type);

	out->cls = aigov_protocol_status_class(status);
	if (status == 429)
		classify_429(h, &e, now_us, out);
	else if (is_insufficient(&e))
		out->cls = AIGOV_CLASS_INSUFFICIENT_QUOTA;
	else if (status >= 500 &&
			 (strcmp(e.code, "server_is_overloaded") == 0 ||
			  str_eq(e.type, "service_unavailable_error") ||
			  strcmp(e.code, "3505") == 0 ||
			  aigov_protocol_contains(e.message, "overloaded")))
		out->cls = AIGOV_CLASS_OVERLOADED;
	else if (status == 503 && strcmp(e.code, "slow_down") == 0)
	{
		/* the pre-2024 form of "ramping too fast" */
		out->cls = AIGOV_CLASS_RATE_LIMIT_RPM;
		out->retry_at_us = h->retry_after_us;
	}
	else if (status == 400 &&
			 (strcmp(e.code, "context_length_exceeded") == 0 ||
			  aigov_protocol_contains(e.message, "maximum context length")))
	{
		/* too big for this model: another model may take it, a retry not */
		out->cls = AIGOV_CLASS_CONTEXT_WINDOW;
	}
}

/* ------------------------------------------------------------- success */

/* Read an OpenAI/Mistral usage object; false if it carries no counts. */
static bool
usage_from(json_t *usage, AigovUsage *u)
{
	bool		got = false;

	if (!json_is_object(usage))
		return false;
	got |= aigov_protocol_json_int(usage, "prompt_tokens", &u->prompt_tokens);
	got |= aigov_protocol_json_int(usage, "completion_tokens",
								   &u->completion_tokens);
	(void) aigov_protocol_json_int(json_object_get(usage, "prompt_tokens_details"),
								   "cached_tokens", &u->cached_tokens);
	if (got)
		u->present = true;
	return got;
}

/* Is this chunk or body an error envelope rather than a completion? */
static bool
has_error(json_t *j)
{
	json_t	   *err;

	if (!json_is_object(j) || json_is_array(json_object_get(j, "choices")))
		return false;
	err = json_object_get(j, "error");
	return json_is_object(err) || json_is_string(err) ||
		str_eq(aigov_protocol_json_str(j, "object"), "error");
}

static void
set_bad(AigovClassification *out, const char *code)
{
	out->cls = AIGOV_CLASS_BAD_RESPONSE;
	aigov_protocol_set_code(out, code);
}

/* A text/event-stream success body: see the file banner. */
static void
classify_stream(const AigovRateHeaders *h, const char *body, size_t len,
				int64_t now_us, AigovClassification *out)
{
	size_t		pos = 0;
	AigovSseEvent ev;
	bool		done = false;
	int			chunks = 0;
	AigovUsage	u;

	memset(&u, 0, sizeof(u));
	while (aigov_protocol_sse_next(body, len, &pos, &ev))
	{
		json_t	   *j;

		if (ev.data_lines == 0)
			continue;
		if (aigov_protocol_sse_data_is(&ev, "[DONE]"))
		{
			done = true;
			continue;
		}
		j = aigov_protocol_sse_json(&ev);
		if (j == NULL)
		{
			set_bad(out, "invalid_json");
			return;
		}
		if (has_error(j) ||
			aigov_protocol_ci_equal(ev.name, ev.name_len, "error"))
		{
			OpenAIError e;

			extract_error(j, &e);
			classify_error(pseudo_status(&e), h, j, NULL, 0, now_us, out);
			json_decref(j);
			return;
		}
		if (json_is_array(json_object_get(j, "choices")))
			chunks++;
		(void) usage_from(json_object_get(j, "usage"), &u);
		json_decref(j);
	}
	if (chunks > 0 && done)
	{
		out->cls = AIGOV_CLASS_SUCCESS;
		out->usage = u;
	}
	else
		set_bad(out, chunks > 0 ? "truncated_stream" : "empty_stream");
}

/*
 * The common success, a completion object with its choices, read without
 * a tree (json_scan.h): true if the body is one, with out->usage read as
 * usage_from() reads it.  False sends the body to jansson.
 */
static bool
scan_completion(const char *body, size_t len, AigovClassification *out)
{
	enum
	{
		ROOT, CHOICES, PROMPT, COMPLETION, CACHED, NMEMBERS
	};
	AigovJsonMember m[NMEMBERS] = {
		[ROOT] = {.path = {NULL}},
		[CHOICES] = {.path = {"choices", NULL}},
		[PROMPT] = {.path = {"usage", "prompt_tokens", NULL}},
		[COMPLETION] = {.path = {"usage", "completion_tokens", NULL}},
		[CACHED] = {.path = {"usage", "prompt_tokens_details", "cached_tokens", NULL}},
	};
	AigovUsage *u = &out->usage;

	if (!aigov_json_scan(body, len, m, NMEMBERS) ||
		m[ROOT].type != AIGOV_JSON_OBJECT || m[CHOICES].type != AIGOV_JSON_ARRAY)
		return false;
	out->cls = AIGOV_CLASS_SUCCESS;
	if (m[PROMPT].type == AIGOV_JSON_INTEGER && m[PROMPT].integer >= 0)
	{
		u->prompt_tokens = m[PROMPT].integer;
		u->present = true;
	}
	if (m[COMPLETION].type == AIGOV_JSON_INTEGER && m[COMPLETION].integer >= 0)
	{
		u->completion_tokens = m[COMPLETION].integer;
		u->present = true;
	}
	if (m[CACHED].type == AIGOV_JSON_INTEGER && m[CACHED].integer >= 0)
		u->cached_tokens = m[CACHED].integer;
	return true;
}

static void
classify_success(const AigovRateHeaders *h, const char *body, size_t len,
				 int64_t now_us, AigovClassification *out)
{
	json_t	   *root;

	if (aigov_protocol_looks_like_sse(h, body, len))
	{
		classify_stream(h, body, len, now_us, out);
		return;
	}
	if (scan_completion(body, len, out))
		return;
	root = aigov_protocol_json_parse(body, len);
	if (!json_is_object(root))
	{
		set_bad(out, "invalid_json");
		aigov_protocol_set_not_json(out, len);
	}
	else if (json_is_array(json_object_get(root, "choices")))
	{
		out->cls = AIGOV_CLASS_SUCCESS;
		(void) usage_from(json_object_get(root, "usage"), &out->usage);
	}
	else if (has_error(root))
	{
		OpenAIError e;

		extract_error(root, &e);
		classify_error(pseudo_status(&e), h, root, body, len, now_us, out);
	}
	else
		set_bad(out, "no_choices");
	json_decref(root);
}

/*
 * Classify an OpenAI/Azure/Mistral reply with an HTTP status in 200..599.
 * Sets cls, retry_at_us (0 = let the common code choose), message, code
 * and usage; aigov_protocol_classify() derives the action flags.
 */
void
aigov_protocol_openai_classify(int http_status, const AigovRateHeaders *h,
							   const char *body, size_t len, int64_t now_us,
							   AigovClassification *out)
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
 * Usage of an OpenAI-style success body: the "usage" member, or in a
 * stream the last chunk that carries one (with include_usage, a final
 * chunk with empty choices).
 */
bool
aigov_protocol_openai_usage(const char *body, size_t len, AigovUsage *out)
{
	json_t	   *root;

	if (aigov_protocol_looks_like_sse(NULL, body, len))
	{
		size_t		pos = 0;
		AigovSseEvent ev;

		while (aigov_protocol_sse_next(body, len, &pos, &ev))
		{
			json_t	   *j;

			if (ev.data_lines == 0 || aigov_protocol_sse_data_is(&ev, "[DONE]"))
				continue;
			j = aigov_protocol_sse_json(&ev);
			(void) usage_from(json_object_get(j, "usage"), out);
			json_decref(j);
		}
		return out->present;
	}
	root = aigov_protocol_json_parse(body, len);
	(void) usage_from(json_object_get(root, "usage"), out);
	json_decref(root);
	return out->present;
}

/* ------------------------------------------------------------ requests */

/*
 * openai_build_request
 *		OpenAI's chat endpoint takes the job's body as it is.
 */
static AigovTranslateStatus
openai_build_request(const char *base_url, const char *model, const char *body,
					 size_t len, const AigovTranslateOptions *opts,
					 AigovWireRequest *out)
{
	return aigov_provider_set_url(out, base_url, "/v1/chat/completions") ?
		AIGOV_TRANSLATE_OK : AIGOV_TRANSLATE_UNSUPPORTED;
}

/*
 * OpenAI (and any service that speaks its dialect): a bearer token; its
 * limiter charges the prompt's characters and max_tokens at admission.
 */
const AigovProvider aigov_provider_openai = {
	.style = AIGOV_API_OPENAI,
	.name = "openai",
	.auth_prefix = "Authorization: Bearer ",
	.version_header = NULL,
	.charges_characters = true,
	.requests_window_s = 60,
	.openai_replies = true,
	.header = aigov_protocol_openai_header,
	.classify = aigov_protocol_openai_classify,
	.usage = aigov_protocol_openai_usage,
	.build_request = openai_build_request,
};
