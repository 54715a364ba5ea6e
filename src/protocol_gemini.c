/*-------------------------------------------------------------------------
 * protocol_gemini.c
 *	  Google Gemini API (generateContent) replies.
 *
 * Gemini sends no rate-limit headers (docs/providers.md §4.1): the 429 body is
 * the only signal.  It is a google.rpc.Status whose details may hold a
 * QuotaFailure (violations with quotaId and quotaValue) and a RetryInfo
 * (retryDelay).  The trap (§4.2): a daily-quota 429 still carries a short
 * retryDelay, so the class comes from the quotaId and a daily class
 * waits for the next midnight in US Pacific time, when Google resets
 * per-day quotas, whatever retryDelay says.
 *
 * Success is {"candidates":[...], "usageMetadata":{...}}; a prompt the
 * provider refused has promptFeedback.blockReason and no candidates,
 * which we report as a client_error (code = the block reason): the reply
 * is definitive, retrying the same prompt cannot help, and the provider
 * is healthy.  Streams (alt=sse, or a JSON array of chunks without it)
 * have no terminal marker; a stream is complete when a candidate carries
 * a finishReason, else it was cut short (bad_response).
 *
 * IDENTIFICATION
 *	  src/protocol_gemini.c
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "protocol_int.h"
#include "protocol_provider.h"
#include "satmath.h"

typedef struct GeminiError
{
	const char *message;
	size_t		message_len;
	const char *status;			/* "RESOURCE_EXHAUSTED", ... */
	int64_t		code;			/* error.code, -1 if absent */
	const char *reason;			/* ErrorInfo.reason */
	const char *retry_delay;	/* RetryInfo.retryDelay */
	json_t	   *violations;		/* QuotaFailure.violations (borrowed) */
} GeminiError;

static bool
str_eq(const char *a, const char *b)
{
	return a != NULL && strcmp(a, b) == 0;
}

/* Does a details entry's "@type" name this google.rpc type? */
static bool
detail_is(json_t *d, const char *rpc_type)
{
	const char *t = aigov_protocol_json_str(d, "@type");
	size_t		tl;
	size_t		nl = strlen(rpc_type);

	if (t == NULL)
		return false;
	tl = strlen(t);
	return tl >= nl && strcmp(t + tl - nl, rpc_type) == 0;
}

static void
extract_error(json_t *root, GeminiError *e)
{
	json_t	   *err = json_object_get(root, "error");
	json_t	   *m;
	json_t	   *details;
	size_t		i;
	json_t	   *d;

	memset(e, 0, sizeof(*e));
	e->code = -1;
	if (!json_is_object(err))
		return;
	m = json_object_get(err, "message");
	if (json_is_string(m))
	{
		e->message = json_string_value(m);
		e->message_len = json_string_length(m);
	}
	e->status = aigov_protocol_json_str(err, "status");
	(void) aigov_protocol_json_int(err, "code", &e->code);
	details = json_object_get(err, "details");
	for (i = 0; i < json_array_size(details); i++)
	{
		d = json_array_get(details, i);
		if (detail_is(d, "google.rpc.QuotaFailure") &&
			json_is_array(json_object_get(d, "violations")))
			e->violations = json_object_get(d, "violations");
		else if (detail_is(d, "google.rpc.RetryInfo"))
			e->retry_delay = aigov_protocol_json_str(d, "retryDelay");
		else if (detail_is(d, "google.rpc.ErrorInfo"))
			e->reason = aigov_protocol_json_str(d, "reason");
	}
}

/* quotaValue is a string ("5") in practice; accept a number as well. */
static bool
quota_is_zero(json_t *v)
{
	json_t	   *q = json_object_get(v, "quotaValue");

	if (json_is_string(q))
		return strcmp(json_string_value(q), "0") == 0;
	return json_is_integer(q) && json_integer_value(q) == 0;
}

/* "limit: 0" in the prose (older bodies without QuotaFailure details) */
static bool
message_says_zero(const char *msg)
{
	const char *p;
	size_t		len;

	if (msg == NULL)
		return false;
	len = strlen(msg);
	while ((p = aigov_protocol_memcasestr(msg, len, "limit: 0")) != NULL)
	{
		if (p[8] < '0' || p[8] > '9')
			return true;
		len -= (size_t) (p + 8 - msg);
		msg = p + 8;
	}
	return false;
}

/*
 * Sort a RESOURCE_EXHAUSTED 429.  Precedence: a violation with quota 0
 * (the tier has no quota for this model: insufficient_quota, waiting
 * never helps) beats a daily violation anywhere in the list (park until
 * Pacific midnight), which beats minute violations.  Among minute
 * violations a token one wins, so that the job's size is what gets
 * reconsidered.  No details at all is a plain RPM limit.  Minute classes
 * come back after retryDelay, else the message's "Please retry in 20.7s",
 * else retry-after, else the common one-second default.
 */
static void
classify_429(const AigovRateHeaders *h, const GeminiError *e, int64_t now_us,
			 AigovClassification *out)
{
	size_t		i;
	const char *zero_id = NULL;
	const char *daily_id = NULL;
	bool		daily_tokens = false;
	const char *token_id = NULL;
	const char *request_id = NULL;
	bool		zero = false;
	int64_t		d;

	for (i = 0; i < json_array_size(e->violations); i++)
	{
		json_t	   *v = json_array_get(e->violations, i);
		const char *id = aigov_protocol_json_str(v, "quotaId");
		const char *metric = aigov_protocol_json_str(v, "quotaMetric");
		bool		tokens = aigov_protocol_contains(id, "token") ||
			aigov_protocol_contains(metric, "token");

		if (quota_is_zero(v) && !zero)
		{
			zero = true;
			zero_id = id;
		}
		if (aigov_protocol_contains(id, "PerDay"))
		{
			if (daily_id == NULL)
			{
				daily_id = id;
				daily_tokens = tokens;
			}
		}
		else if (tokens)
		{
			if (token_id == NULL)
				token_id = id;
		}
		else if (request_id == NULL)
			request_id = id != NULL ? id : "";
	}
	if (zero || message_says_zero(e->message))
	{
		out->cls = AIGOV_CLASS_INSUFFICIENT_QUOTA;
		if (zero_id != NULL)
			aigov_protocol_set_code(out, zero_id);
		return;
	}
	if (daily_id != NULL)
	{
		out->cls = daily_tokens ? AIGOV_CLASS_RATE_LIMIT_TPD :
			AIGOV_CLASS_RATE_LIMIT_RPD;
		aigov_protocol_set_code(out, daily_id);
		out->retry_at_us = aigov_protocol_next_pacific_midnight_us(now_us);
		return;
	}
	if (token_id != NULL)
	{
		out->cls = AIGOV_CLASS_RATE_LIMIT_TPM;
		aigov_protocol_set_code(out, token_id);
	}
	else
	{
		out->cls = AIGOV_CLASS_RATE_LIMIT_RPM;
		if (request_id != NULL && request_id[0] != '\0')
			aigov_protocol_set_code(out, request_id);
	}
	d = -1;
	if (e->retry_delay != NULL)
		d = aigov_protocol_parse_go_duration(e->retry_delay,
											 strlen(e->retry_delay));
	if (d <= 0)
		d = aigov_protocol_duration_after(e->message, "retry in");
	if (d > 0)
		out->retry_at_us = aigov_sat_add(now_us, d);
	else if (h->retry_after_us > now_us)
		out->retry_at_us = h->retry_after_us;
}

/*
 * Classify an error status.  Besides the 429 logic: an invalid key is a
 * 400 INVALID_ARGUMENT with ErrorInfo reason API_KEY_INVALID, so it is
 * recognised as auth; 503 UNAVAILABLE ("The model is overloaded") is an
 * overload; 504 DEADLINE_EXCEEDED stays a server_error (the provider gave
 * up, our transfer did not time out), which like a timeout counts toward
 * the breaker and is retried.
 */
static void
classify_error(int status, const AigovRateHeaders *h, json_t *root,
			   const char *body, size_t len, int64_t now_us,
			   AigovClassification *out)
{
	GeminiError e;

	extract_error(root, &e);
	if (e.message != NULL)
		aigov_protocol_set_message(out, e.message, e.message_len);
	else if (root == NULL)
		aigov_protocol_set_not_json(out, len);
	aigov_protocol_set_code(out, e.status);

	out->cls = aigov_protocol_status_class(status);
	if (status == 429 || str_eq(e.status, "RESOURCE_EXHAUSTED"))
		classify_429(h, &e, now_us, out);
	else if (str_eq(e.reason, "API_KEY_INVALID") ||
			 (status == 400 &&
			  aigov_protocol_contains(e.message, "API key not valid")))
	{
		out->cls = AIGOV_CLASS_AUTH;
		aigov_protocol_set_code(out, "API_KEY_INVALID");
	}
	else if (status == 503 &&
			 (str_eq(e.status, "UNAVAILABLE") ||
			  aigov_protocol_contains(e.message, "overloaded")))
		out->cls = AIGOV_CLASS_OVERLOADED;
	else if (status == 400 &&
			 aigov_protocol_contains(e.message, "input token count") &&
			 aigov_protocol_contains(e.message, "exceeds the maximum"))
		out->cls = AIGOV_CLASS_CONTEXT_WINDOW;
}

/* ------------------------------------------------------------- success */

/* Read usageMetadata, normalised as docs/providers.md §7 says. */
static void
usage_from(json_t *um, AigovUsage *u)
{
	int64_t		prompt = 0,
				tool = 0,
				cand = 0,
				thoughts = 0,
				cached = 0;
	bool		got = false;

	if (!json_is_object(um))
		return;
	got |= aigov_protocol_json_int(um, "promptTokenCount", &prompt);
	got |= aigov_protocol_json_int(um, "candidatesTokenCount", &cand);
	(void) aigov_protocol_json_int(um, "toolUsePromptTokenCount", &tool);
	(void) aigov_protocol_json_int(um, "thoughtsTokenCount", &thoughts);
	(void) aigov_protocol_json_int(um, "cachedContentTokenCount", &cached);
	if (!got)
		return;
	/* input = prompt + tool-use prompt; output includes thinking */
	u->prompt_tokens = prompt + tool;
	u->completion_tokens = cand + thoughts;
	u->cached_tokens = cached;
	u->present = true;
}

/* What the chunks of a body add up to. */
typedef struct ChunkState
{
	int			chunks;			/* chunks with candidates */
	bool		finished;		/* a candidate had a finishReason */
	const char *block_reason;	/* promptFeedback.blockReason seen */
	json_t	   *block_owner;	/* keeps block_reason alive */
	json_t	   *error;			/* first chunk carrying "error" (owned) */
	AigovUsage	usage;
} ChunkState;

/* Fold one GenerateContentResponse (j is borrowed) into *st. */
static void
fold_chunk(json_t *j, ChunkState *st)
{
	json_t	   *cands = json_object_get(j, "candidates");
	const char *br;
	size_t		i;
	json_t	   *c;

	if (json_is_object(json_object_get(j, "error")))
	{
		if (st->error == NULL)
			st->error = json_incref(j);
		return;
	}
	if (json_is_array(cands))
	{
		st->chunks++;
		for (i = 0; i < json_array_size(cands); i++)
		{
			c = json_array_get(cands, i);
			if (json_is_string(json_object_get(c, "finishReason")))
				st->finished = true;
		}
	}
	br = aigov_protocol_json_str(json_object_get(j, "promptFeedback"),
								 "blockReason");
	if (br != NULL && st->block_reason == NULL)
	{
		st->block_reason = br;
		st->block_owner = json_incref(j);
	}
	usage_from(json_object_get(j, "usageMetadata"), &st->usage);
}

/*
 * Fold a whole body: SSE events, a JSON array of chunks, or one object.
 * Returns false if some part is not JSON.
 */
static bool
fold_body(const AigovRateHeaders *h, const char *body, size_t len,
		  ChunkState *st, bool *is_stream)
{
	json_t	   *root;

	memset(st, 0, sizeof(*st));
	*is_stream = false;
	if (aigov_protocol_looks_like_sse(h, body, len))
	{
		size_t		pos = 0;
		AigovSseEvent ev;

		*is_stream = true;
		while (aigov_protocol_sse_next(body, len, &pos, &ev))
		{
			json_t	   *j;

			if (ev.data_lines == 0)
				continue;
			j = aigov_protocol_sse_json(&ev);
			if (!json_is_object(j))
			{
				json_decref(j);
				return false;
			}
			fold_chunk(j, st);
			json_decref(j);
		}
		return true;
	}
	root = aigov_protocol_json_parse(body, len);
	if (json_is_array(root))
	{
		size_t		i;
		json_t	   *j;

		*is_stream = true;
		for (i = 0; i < json_array_size(root); i++)
		{
			j = json_array_get(root, i);
			fold_chunk(j, st);
		}
	}
	else if (json_is_object(root))
		fold_chunk(root, st);
	else
	{
		json_decref(root);
		return false;
	}
	json_decref(root);
	return true;
}

static void
release_state(ChunkState *st)
{
	json_decref(st->error);
	json_decref(st->block_owner);
	st->error = st->block_owner = NULL;
}

static void
set_bad(AigovClassification *out, const char *code)
{
	out->cls = AIGOV_CLASS_BAD_RESPONSE;
	aigov_protocol_set_code(out, code);
}

static void
classify_success(const AigovRateHeaders *h, const char *body, size_t len,
				 int64_t now_us, AigovClassification *out)
{
	ChunkState	st;
	bool		stream;

	if (!fold_body(h, body, len, &st, &stream))
	{
		set_bad(out, "invalid_json");
		if (!stream)
			aigov_protocol_set_not_json(out, len);
	}
	else if (st.error != NULL)
	{
		GeminiError e;

		extract_error(st.error, &e);
		classify_error(e.code >= 400 && e.code <= 599 ? (int) e.code : 500,
					   h, st.error, NULL, 0, now_us, out);
	}
	else if (st.block_reason != NULL && st.chunks == 0)
	{
		char		msg[128];

		out->cls = AIGOV_CLASS_CLIENT_ERROR;
		aigov_protocol_set_code(out, st.block_reason);
		snprintf(msg, sizeof(msg), "prompt blocked by the provider: %s",
				 st.block_reason);
		aigov_protocol_set_message(out, msg, strlen(msg));
	}
	else if (st.chunks > 0 && (!stream || st.finished))
	{
		out->cls = AIGOV_CLASS_SUCCESS;
		out->usage = st.usage;
	}
	else
		set_bad(out, st.chunks > 0 ? "truncated_stream" :
				stream ? "empty_stream" : "no_candidates");
	release_state(&st);
}

/* Classify a Gemini reply with an HTTP status in 200..599. */
void
aigov_protocol_gemini_classify(int http_status, const AigovRateHeaders *h,
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
	/* some proxies wrap the Status in a one-element array */
	if (json_is_array(root) && json_array_size(root) == 1)
	{
		json_t	   *inner = json_incref(json_array_get(root, 0));

		json_decref(root);
		root = inner;
	}
	classify_error(http_status, h, root, body, len, now_us, out);
	json_decref(root);
}

/* Usage of a generateContent body or stream: the last usageMetadata. */
bool
aigov_protocol_gemini_usage(const char *body, size_t len, AigovUsage *out)
{
	ChunkState	st;
	bool		stream;

	(void) fold_body(NULL, body, len, &st, &stream);
	*out = st.usage;
	release_state(&st);
	return out->present;
}

/* ------------------------------------------------------------ requests */

static AigovTranslateStatus
gemini_build_request(const char *base_url, const char *model,
					 const char *body, size_t len,
					 const AigovTranslateOptions *opts,
					 AigovWireRequest *out)
{
	return aigov_provider_translated(AIGOV_API_GEMINI, base_url, body, len,
									 opts, out);
}

/*
 * Gemini (the Developer API): an x-goog-api-key header; it sends no
 * rate-limit headers, and its quota counts tokens.
 */
const AigovProvider aigov_provider_gemini = {
	.style = AIGOV_API_GEMINI,
	.name = "gemini",
	.auth_prefix = "x-goog-api-key: ",
	.version_header = NULL,
	.charges_characters = false,
	.requests_window_s = 60,
	.openai_replies = false,
	.header = NULL,
	.classify = aigov_protocol_gemini_classify,
	.usage = aigov_protocol_gemini_usage,
	.build_request = gemini_build_request,
};
