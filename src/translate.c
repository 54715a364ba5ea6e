/*-------------------------------------------------------------------------
 * translate.c
 *	  Request translation (OpenAI -> Anthropic/Gemini) and response
 *	  normalisation (any provider -> OpenAI chat.completion): the public
 *	  entry points, which dispatch by api style.
 *
 * The mapping follows docs/providers.md §1.4, §3.4, §4.3 and the
 * translation/refusal matrix of section 7.  The guiding rule is that a
 * fallback must never quietly weaken a request: what maps exactly is
 * mapped, what can only be approximated needs allow_degraded and is
 * reported, what cannot be honoured is refused (see translate.h).
 *
 * Both directions parse with jansson, build a new jansson tree and dump it
 * compactly; jansson keeps insertion order, so the output is deterministic.
 * Output trees may share (reference) nodes of the input tree, e.g. a
 * tool's JSON schema; nothing here mutates the input tree.
 *
 * The work is spread over the translate_*.c files; translate_int.h lists
 * which file owns what.
 *
 * IDENTIFICATION
 *	  src/translate.c
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "translate_int.h"

/* Instruction that stands in for json_object mode where it has no switch */
#define JSON_MODE_INSTRUCTION \
	"Respond with a single valid JSON object and nothing else."

const char *
aigov_translate_status_name(AigovTranslateStatus s)
{
	switch (s)
	{
		case AIGOV_TRANSLATE_OK:
			return "ok";
		case AIGOV_TRANSLATE_BAD_JSON:
			return "bad_json";
		case AIGOV_TRANSLATE_UNSUPPORTED:
			return "unsupported";
		case AIGOV_TRANSLATE_BAD_RESPONSE:
			return "bad_response";
		case AIGOV_TRANSLATE_NO_MEMORY:
			return "no_memory";
	}
	return "unknown";
}

/*
 * Start a translation: no failure, no notes, and the options (or their
 * defaults when opts is NULL).  detail is the caller's buffer.
 */
static void
ctx_init(TxCtx *cx, AigovApiStyle target, char *detail, size_t detail_size,
		 const AigovTranslateOptions *opts)
{
	memset(cx, 0, sizeof(*cx));
	cx->target = target;
	cx->detail = detail;
	cx->detail_size = detail_size;
	cx->status = AIGOV_TRANSLATE_OK;
	cx->default_max_tokens = opts ? opts->default_max_tokens
		: AIGOV_TRANSLATE_DEFAULT_MAX_TOKENS;
	cx->allow_degraded = opts ? opts->allow_degraded : false;
	detail[0] = '\0';
}


/* ---------------------------------------------------------------------
 * Requests
 * ---------------------------------------------------------------------
 */

/*
 * The model to send: a non-empty override (which must be valid UTF-8),
 * else the body's "model".  *override is set to NULL when it does not
 * apply, so that the passthrough keeps the body as it came.
 */
static bool
resolve_model(TxCtx *cx, const json_t *in, const char **override,
			  const char **model)
{
	if (*override != NULL && (*override)[0] != '\0')
	{
		if (!aigov_tx_utf8_valid(*override))
			return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
								 "model override is not valid UTF-8");
		*model = *override;
	}
	else
	{
		*override = NULL;
		*model = json_string_value(get(in, "model"));
	}
	if (*model == NULL || (*model)[0] == '\0')
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
							 "model is missing or not a string");
	return true;
}

/*
 * Translate the parsed request for Anthropic or Gemini: convert messages,
 * parameters, tools and tool_choice into the target's pieces, then let
 * the target's file assemble them.  Returns the JSON text (malloc'd, the
 * caller's), or NULL with the failure recorded in cx.
 */
static char *
translate_body(TxCtx *cx, const json_t *in, const char *model)
{
	ReqParts	rp = {0};
	GenParams	gp = {0};
	json_t	   *tool_choice = NULL;
	json_t	   *result = NULL;
	char	   *body = NULL;

	rp.system = json_array();
	rp.turns = json_array();
	rp.call_names = json_object();
	rp.tool_names = json_object();
	if (rp.system == NULL || rp.turns == NULL || rp.call_names == NULL ||
		rp.tool_names == NULL)
	{
		oom(cx);
		goto done;
	}

	if (!aigov_tx_convert_messages(cx, get(in, "messages"), &rp) ||
		!aigov_tx_read_params(cx, in, &gp) ||
		!aigov_tx_convert_tools(cx, get(in, "tools"), &rp) ||
		!aigov_tx_convert_tool_choice(cx, in, &rp, &tool_choice))
		goto done;
	if (gp.json_mode && cx->target == AIGOV_API_ANTHROPIC &&
		!aigov_tx_add_text(cx, rp.system, JSON_MODE_INSTRUCTION,
						   strlen(JSON_MODE_INSTRUCTION)))
		goto done;
	if (!aigov_tx_ensure_turns(cx, &rp))
		goto done;
	aigov_tx_note_ignored_fields(cx, in);

	if (cx->target == AIGOV_API_ANTHROPIC)
		result = aigov_tx_build_anthropic(cx, model, &gp, &rp, tool_choice);
	else
		result = aigov_tx_build_gemini(cx, &gp, &rp, tool_choice);
	if (result == NULL)
		goto done;
	body = json_dumps(result, JSON_COMPACT);
	if (body == NULL)
		oom(cx);

done:
	json_decref(rp.system);
	json_decref(rp.turns);
	json_decref(rp.call_names);
	json_decref(rp.tool_names);
	json_decref(rp.tools);
	json_decref(gp.stop);
	json_decref(tool_choice);
	json_decref(result);
	return body;
}

/*
 * aigov_translate_request
 *		Public entry point (see translate.h): parse the body, pick the
 *		model, then pass it through for OpenAI or translate it for
 *		Anthropic or Gemini.  On failure out->body is NULL and out->detail
 *		says why; on success out->detail lists the notes.
 */
AigovTranslateStatus
aigov_translate_request(AigovApiStyle target, const char *openai_body,
						size_t len, const char *model_override,
						const AigovTranslateOptions *opts,
						AigovTranslatedRequest *out)
{
	TxCtx		cx;
	json_t	   *in = NULL;
	const char *model = NULL;

	if (out == NULL)
		return AIGOV_TRANSLATE_BAD_JSON;
	out->body = NULL;
	out->path[0] = '\0';
	ctx_init(&cx, target, out->detail, sizeof(out->detail), opts);

	if (target != AIGOV_API_OPENAI && target != AIGOV_API_ANTHROPIC &&
		target != AIGOV_API_GEMINI)
	{
		aigov_tx_fail(&cx, AIGOV_TRANSLATE_UNSUPPORTED,
					  "unknown target api style %d",
					  (int) target);
		goto done;
	}
	in = aigov_tx_load_object(&cx, openai_body, len, "request");
	if (in == NULL || !resolve_model(&cx, in, &model_override, &model))
		goto done;

	switch (target)
	{
		case AIGOV_API_OPENAI:
			snprintf(out->path, sizeof(out->path), "/v1/chat/completions");
			out->body = aigov_tx_passthrough(&cx, in, openai_body, len,
											 model_override);
			break;
		case AIGOV_API_ANTHROPIC:
			snprintf(out->path, sizeof(out->path), "/v1/messages");
			out->body = translate_body(&cx, in, model);
			break;
		case AIGOV_API_GEMINI:
			if (aigov_tx_gemini_path(&cx, model, out->path, sizeof(out->path)))
				out->body = translate_body(&cx, in, model);
			break;
		default:
			/* refused by the target check above */
			break;
	}

done:
	json_decref(in);
	if (cx.status == AIGOV_TRANSLATE_OK)
		snprintf(out->detail, sizeof(out->detail), "%s", cx.notes);
	else
	{
		free(out->body);
		out->body = NULL;
		out->path[0] = '\0';
	}
	aigov_tx_sanitise_text(out->detail);
	return cx.status;
}

void
aigov_translate_request_free(AigovTranslatedRequest *r)
{
	if (r == NULL)
		return;
	free(r->body);
	r->body = NULL;
}


/* ---------------------------------------------------------------------
 * Replies
 * ---------------------------------------------------------------------
 */

/* An {"error": ...} envelope (all three dialects use one) is a failure. */
static bool
check_error_envelope(TxCtx *cx, const json_t *in)
{
	json_t	   *err = get(in, "error");
	const char *label;
	const char *msg;

	if (err == NULL)
		return true;
	label = json_string_value(get(err, "type"));
	if (label == NULL)
		label = json_string_value(get(err, "status"));
	if (label == NULL)
		label = json_string_value(get(err, "code"));
	msg = json_string_value(get(err, "message"));
	if (msg == NULL && json_is_string(err))
		msg = json_string_value(err);
	return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE,
						 "provider error (%.*s): %s",
						 QUOTE_MAX, label ? label : "unknown",
						 msg ? msg : "no message");
}

/*
 * aigov_translate_response
 *		Public entry point (see translate.h): parse the reply, refuse an
 *		error envelope, then let the source's file validate or rebuild it.
 */
AigovTranslateStatus
aigov_translate_response(AigovApiStyle source, const char *provider_body,
						 size_t len, const char *model,
						 AigovNormalisedResponse *out)
{
	TxCtx		cx;
	json_t	   *in = NULL;

	if (out == NULL)
		return AIGOV_TRANSLATE_BAD_JSON;
	out->body = NULL;
	out->prompt_tokens = -1;
	out->completion_tokens = -1;
	out->finish_reason[0] = '\0';
	ctx_init(&cx, source, out->detail, sizeof(out->detail), NULL);

	if (source != AIGOV_API_OPENAI && source != AIGOV_API_ANTHROPIC &&
		source != AIGOV_API_GEMINI)
	{
		aigov_tx_fail(&cx, AIGOV_TRANSLATE_UNSUPPORTED,
					  "unknown source api style %d",
					  (int) source);
		goto done;
	}
	in = aigov_tx_load_object(&cx, provider_body, len, "reply");
	if (in == NULL)
		goto done;
	if (!check_error_envelope(&cx, in))
		goto done;

	switch (source)
	{
		case AIGOV_API_OPENAI:
			aigov_tx_normalise_openai(&cx, in, provider_body, len, out);
			break;
		case AIGOV_API_ANTHROPIC:
			aigov_tx_normalise_anthropic(&cx, in, model, out);
			break;
		case AIGOV_API_GEMINI:
			aigov_tx_normalise_gemini(&cx, in, model, out);
			break;
		default:
			break;
	}

done:
	json_decref(in);
	if (cx.status == AIGOV_TRANSLATE_OK)
		snprintf(out->detail, sizeof(out->detail), "%s", cx.notes);
	else
	{
		free(out->body);
		out->body = NULL;
		out->prompt_tokens = -1;
		out->completion_tokens = -1;
		out->finish_reason[0] = '\0';
	}
	aigov_tx_sanitise_text(out->detail);
	aigov_tx_sanitise_text(out->finish_reason);
	return cx.status;
}

void
aigov_translate_response_free(AigovNormalisedResponse *r)
{
	if (r == NULL)
		return;
	free(r->body);
	r->body = NULL;
}
