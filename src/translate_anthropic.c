/*-------------------------------------------------------------------------
 * translate_anthropic.c
 *	  The Anthropic Messages API: request assembly and reply
 *	  normalisation.
 *
 * translate_messages.c and translate_params.c have already turned the
 * OpenAI request into Anthropic-shaped pieces; this file puts them into
 * a /v1/messages body.  In the other direction it rebuilds an Anthropic
 * message as an OpenAI chat.completion (docs/providers.md §3.4, §7).
 *
 * IDENTIFICATION
 *	  src/translate_anthropic.c
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "translate_int.h"


/* ---------------------------------------------------------------------
 * Request
 * ---------------------------------------------------------------------
 */

/*
 * tool_choice mode (see parse_tool_choice in translate_params.c) and
 * parallel_tool_calls -> Anthropic tool_choice.  *out is left NULL when
 * Anthropic's default (auto, parallel) is what was asked for; otherwise the
 * caller owns it.
 */
bool
aigov_tx_anthropic_tool_choice(TxCtx *cx, const char *mode, json_t *fname,
							   const json_t *ptc, json_t **out)
{
	const char *atype;
	bool		serial = json_is_false(ptc);

	if (mode == NULL && !serial)
		return true;			/* Anthropic's default is auto + parallel */
	if (mode == NULL || strcmp(mode, "auto") == 0)
		atype = "auto";
	else if (strcmp(mode, "none") == 0)
		atype = "none";
	else if (strcmp(mode, "required") == 0)
		atype = "any";
	else
		atype = "tool";
	*out = json_pack("{s:s}", "type", atype);
	if (*out == NULL)
		return oom(cx);
	if (fname != NULL && json_object_set(*out, "name", fname) != 0)
		return oom(cx);
	/* the flags are inverse: parallel_tool_calls=false -> disable=true */
	if (serial && strcmp(atype, "none") != 0 &&
		!put(cx, *out, "disable_parallel_tool_use", json_true()))
		return false;
	return true;
}

/*
 * Assemble the /v1/messages body from the translated pieces.  Returns a
 * new tree the caller owns, or NULL with the failure recorded.
 */
json_t *
aigov_tx_build_anthropic(TxCtx *cx, const char *model, const GenParams *gp,
						 ReqParts *rp, json_t *tool_choice)
{
	json_t	   *root = json_object();
	size_t		i;
	json_t	   *turn;

	if (root == NULL)
	{
		oom(cx);
		return NULL;
	}
	if (!put(cx, root, "model", json_string(model)))
		goto err;

	if (gp->max_tokens != NULL)
	{
		if (!put_opt(cx, root, "max_tokens", gp->max_tokens))
			goto err;
	}
	else if (cx->default_max_tokens > 0)
	{
		if (!put(cx, root, "max_tokens", json_integer(cx->default_max_tokens)))
			goto err;
	}
	else
	{
		aigov_tx_fail(cx, AIGOV_TRANSLATE_UNSUPPORTED,
					  "max_tokens: required by anthropic and no default is configured");
		goto err;
	}

	/* one system text goes as a plain string, several as text blocks */
	if (json_array_size(rp->system) == 1)
	{
		if (!put(cx, root, "system",
				 json_incref(json_object_get(json_array_get(rp->system, 0), "text"))))
			goto err;
	}
	else if (json_array_size(rp->system) > 1)
	{
		if (!put(cx, root, "system", json_incref(rp->system)))
			goto err;
	}

	/* a single text block reads better (and is equivalent) as a string */
	json_array_foreach(rp->turns, i, turn)
	{
		json_t	   *blocks = json_object_get(turn, "content");
		json_t	   *b0 = json_array_get(blocks, 0);

		if (json_array_size(blocks) == 1 &&
			strcmp(json_string_value(json_object_get(b0, "type")), "text") == 0 &&
			!put(cx, turn, "content", json_incref(json_object_get(b0, "text"))))
			goto err;
	}
	if (!put(cx, root, "messages", json_incref(rp->turns)))
		goto err;

	if (gp->temperature != NULL &&
		!put(cx, root, "temperature",
			 gp->clamp_temperature ? json_real(1.0) : json_incref(gp->temperature)))
		goto err;
	if (!put_opt(cx, root, "top_p", gp->top_p) ||
		!put_opt(cx, root, "stop_sequences", gp->stop) ||
		!put_opt(cx, root, "tools", rp->tools) ||
		!put_opt(cx, root, "tool_choice", tool_choice))
		goto err;
	if (gp->schema != NULL &&
		!put(cx, root, "output_config",
			 json_pack("{s:{s:s,s:O}}", "format", "type", "json_schema",
					   "schema", gp->schema)))
		goto err;
	if (gp->user != NULL &&
		!put(cx, root, "metadata", json_pack("{s:O}", "user_id", gp->user)))
		goto err;
	return root;
err:
	json_decref(root);
	return NULL;
}


/* ---------------------------------------------------------------------
 * Reply
 * ---------------------------------------------------------------------
 */

/* Anthropic stop_reason -> OpenAI finish_reason; unknown ones are noted. */
static const char *
anthropic_finish(TxCtx *cx, const char *stop)
{
	if (strcmp(stop, "end_turn") == 0 || strcmp(stop, "stop_sequence") == 0)
		return "stop";
	if (strcmp(stop, "max_tokens") == 0 ||
		strcmp(stop, "model_context_window_exceeded") == 0)
		return "length";
	if (strcmp(stop, "tool_use") == 0)
		return "tool_calls";
	if (strcmp(stop, "refusal") == 0)
		return "content_filter";
	/* pause_turn (server tools, which aigov never sends) and future values */
	aigov_tx_note(cx, stop, "mapped_to_stop");
	return "stop";
}

/* Is the reply shaped like an Anthropic message? */
static bool
check_reply(TxCtx *cx, const char *type, const json_t *content,
			const char *stop, const json_t *usage)
{
	if (type != NULL && strcmp(type, "message") != 0)
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE,
							 "reply type is \"%.*s\", not \"message\"",
							 QUOTE_MAX, type);
	if (!json_is_array(content))
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE,
							 "content is missing");
	if (stop == NULL)
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE,
							 "stop_reason is missing");
	if (usage != NULL && !json_is_object(usage))
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE,
							 "usage is not an object");
	return true;
}

/*
 * Walk the reply's content blocks: text is appended to *text, tool_use
 * blocks become OpenAI tool calls in calls.  Thinking is left out (it is
 * not part of a chat.completion); any other block type is noted.
 */
static bool
read_content(TxCtx *cx, const json_t *content, StrBuf *text, json_t *calls)
{
	size_t		i;
	json_t	   *blk;

	json_array_foreach(content, i, blk)
	{
		const char *bt = json_string_value(get(blk, "type"));

		if (bt == NULL)
			return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE,
								 "content[%zu].type is missing", i);
		if (strcmp(bt, "text") == 0)
		{
			json_t	   *t = get(blk, "text");

			if (!json_is_string(t))
				return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE,
									 "content[%zu].text is not a string", i);
			if (!aigov_tx_sb_add(text, json_string_value(t),
								 json_string_length(t)))
				return oom(cx);
		}
		else if (strcmp(bt, "tool_use") == 0)
		{
			json_t	   *id = get(blk, "id");
			json_t	   *name = get(blk, "name");

			if (!json_is_string(id) || !json_is_string(name))
				return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE,
									 "content[%zu] tool_use lacks id or name",
									 i);
			if (!aigov_tx_push_tool_call(cx, calls, json_incref(id), name,
										 get(blk, "input")))
				return false;
		}
		else if (strcmp(bt, "thinking") != 0 &&
				 strcmp(bt, "redacted_thinking") != 0)
			/* reasoning is not part of a chat.completion; others are noted */
			aigov_tx_note(cx, bt, "ignored");
	}
	return true;
}

/*
 * Rebuild an Anthropic message as an OpenAI chat.completion in out->body
 * (malloc'd, the caller's), with its usage and finish reason.
 */
bool
aigov_tx_normalise_anthropic(TxCtx *cx, const json_t *in, const char *model,
							 AigovNormalisedResponse *out)
{
	json_t	   *content = get(in, "content");
	const char *stop = json_string_value(get(in, "stop_reason"));
	json_t	   *usage = get(in, "usage");
	json_t	   *calls = json_array();
	json_t	   *choices = json_array();
	json_t	   *root = NULL;
	StrBuf		text = {0};
	int64_t		input,
				cache_w,
				cache_r;
	bool		ok = false;

	if (calls == NULL || choices == NULL)
	{
		oom(cx);
		goto done;
	}
	if (!check_reply(cx, json_string_value(get(in, "type")), content, stop,
					 usage) ||
		!read_content(cx, content, &text, calls))
		goto done;

	/* Anthropic's input_tokens excludes cache reads and writes */
	if (!aigov_tx_read_count(cx, usage, "input_tokens", &input) ||
		!aigov_tx_read_count(cx, usage, "cache_creation_input_tokens",
							 &cache_w) ||
		!aigov_tx_read_count(cx, usage, "cache_read_input_tokens", &cache_r) ||
		!aigov_tx_read_count(cx, usage, "output_tokens",
							 &out->completion_tokens))
		goto done;
	if (input >= 0)
		out->prompt_tokens = input + (cache_w > 0 ? cache_w : 0) +
			(cache_r > 0 ? cache_r : 0);
	aigov_tx_set_finish(out, anthropic_finish(cx, stop));

	if (!push(cx, choices, aigov_tx_make_choice(cx, 0, &text, calls,
												out->finish_reason)))
		goto done;
	root = aigov_tx_make_completion(cx, in, "id", "model", model, choices, out,
									cache_r > 0 ? cache_r : 0, -1);
	if (root == NULL)
		goto done;
	out->body = json_dumps(root, JSON_COMPACT);
	ok = out->body != NULL || oom(cx);
done:
	free(text.data);
	json_decref(calls);
	json_decref(choices);
	json_decref(root);
	return ok;
}
