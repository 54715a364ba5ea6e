/*-------------------------------------------------------------------------
 * translate_gemini.c
 *	  The Gemini generateContent API: request path and assembly, and
 *	  reply normalisation.
 *
 * translate_messages.c and translate_params.c have already turned the
 * OpenAI request into Gemini-shaped pieces; this file puts them into a
 * generateContent body and builds its path.  In the other direction it
 * rebuilds a Gemini reply, every candidate a choice, as an OpenAI
 * chat.completion (docs/providers.md §4.3, §7).
 *
 * IDENTIFICATION
 *	  src/translate_gemini.c
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
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
 * parallel_tool_calls -> Gemini toolConfig.  *out is left NULL when no
 * mode was asked for; otherwise the caller owns it.
 */
bool
aigov_tx_gemini_tool_config(TxCtx *cx, const char *mode, json_t *fname,
							const json_t *ptc, json_t **out)
{
	const char *gmode;
	json_t	   *fcc;

	/* Gemini may always return several calls; it has no switch */
	if (json_is_false(ptc) && (mode == NULL || strcmp(mode, "none") != 0) &&
		!aigov_tx_degrade(cx, "parallel_tool_calls", "ignored",
						  "gemini cannot be limited to one tool call per turn"))
		return false;
	if (mode == NULL)
		return true;
	if (strcmp(mode, "none") == 0)
		gmode = "NONE";
	else if (strcmp(mode, "auto") == 0)
		gmode = "AUTO";
	else
		gmode = "ANY";
	fcc = json_pack("{s:s}", "mode", gmode);
	if (fcc == NULL)
		return oom(cx);
	*out = json_pack("{s:o}", "functionCallingConfig", fcc);
	if (*out == NULL)
		return oom(cx);
	if (fname != NULL &&
		!put(cx, fcc, "allowedFunctionNames", json_pack("[O]", fname)))
		return false;
	return true;
}

/*
 * Assemble the generateContent body from the translated pieces.  Returns
 * a new tree the caller owns, or NULL with the failure recorded.
 */
json_t *
aigov_tx_build_gemini(TxCtx *cx, const GenParams *gp, ReqParts *rp,
					  json_t *tool_config)
{
	json_t	   *root = json_object();
	json_t	   *gc = json_object();

	if (root == NULL || gc == NULL)
	{
		oom(cx);
		goto err;
	}
	if (!put(cx, root, "contents", json_incref(rp->turns)))
		goto err;
	if (json_array_size(rp->system) > 0 &&
		!put(cx, root, "systemInstruction",
			 json_pack("{s:O}", "parts", rp->system)))
		goto err;
	if (!put_opt(cx, root, "tools", rp->tools) ||
		!put_opt(cx, root, "toolConfig", tool_config))
		goto err;

	if (!put_opt(cx, gc, "maxOutputTokens", gp->max_tokens) ||
		!put_opt(cx, gc, "temperature", gp->temperature) ||
		!put_opt(cx, gc, "topP", gp->top_p) ||
		!put_opt(cx, gc, "stopSequences", gp->stop) ||
		!put_opt(cx, gc, "candidateCount", gp->n) ||
		!put_opt(cx, gc, "seed", gp->seed) ||
		!put_opt(cx, gc, "frequencyPenalty", gp->frequency_penalty) ||
		!put_opt(cx, gc, "presencePenalty", gp->presence_penalty))
		goto err;
	if ((gp->schema != NULL || gp->json_mode) &&
		!put(cx, gc, "responseMimeType", json_string("application/json")))
		goto err;
	if (!put_opt(cx, gc, "responseJsonSchema", gp->schema))
		goto err;
	if (json_object_size(gc) > 0 &&
		!put(cx, root, "generationConfig", json_incref(gc)))
		goto err;
	json_decref(gc);
	return root;
err:
	json_decref(gc);
	json_decref(root);
	return NULL;
}

/* Percent-escape a model name into the Gemini path. */
bool
aigov_tx_gemini_path(TxCtx *cx, const char *model, char *path, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *prefix = "/v1beta/models/";
	const char *suffix = ":generateContent";
	size_t		n;

	/* accept both "gemini-2.5-flash" and the resource name "models/..." */
	if (strncmp(model, "models/", 7) == 0)
		model += 7;
	if (*model == '\0')
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON, "model is empty");
	n = strlen(prefix);
	memcpy(path, prefix, n);
	for (const unsigned char *p = (const unsigned char *) model; *p; p++)
	{
		bool		plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			(*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
			*p == '_' || *p == '~';

		if (n + (plain ? 1 : 3) + strlen(suffix) + 1 > size)
			return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
								 "model name is too long");
		if (plain)
			path[n++] = (char) *p;
		else
		{
			path[n++] = '%';
			path[n++] = hex[*p >> 4];
			path[n++] = hex[*p & 15];
		}
	}
	memcpy(path + n, suffix, strlen(suffix) + 1);
	return true;
}


/* ---------------------------------------------------------------------
 * Reply
 * ---------------------------------------------------------------------
 */

/*
 * Gemini finishReason -> OpenAI finish_reason; unknown ones are noted.
 * has_calls: the candidate holds function calls.
 */
static const char *
gemini_finish(TxCtx *cx, const char *reason, bool has_calls)
{
	static const char *const filtered[] = {
		"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
		"IMAGE_SAFETY", NULL
	};

	if (reason == NULL || strcmp(reason, "STOP") == 0)
		/* Gemini says STOP after function calls; OpenAI says tool_calls */
		return has_calls ? "tool_calls" : "stop";
	if (strcmp(reason, "MAX_TOKENS") == 0)
		return "length";
	for (int i = 0; filtered[i] != NULL; i++)
		if (strcmp(reason, filtered[i]) == 0)
			return "content_filter";
	/* MALFORMED_FUNCTION_CALL, OTHER, ...: keep a trace of it */
	aigov_tx_note(cx, reason, "mapped_to_stop");
	return has_calls ? "tool_calls" : "stop";
}

/* One Gemini candidate -> one choice. */
static bool
gemini_candidate(TxCtx *cx, const json_t *cand, size_t index, int *next_call,
				 json_t *choices)
{
	json_t	   *parts = get(get(cand, "content"), "parts");
	json_t	   *reason = get(cand, "finishReason");
	json_t	   *calls = json_array();
	StrBuf		text = {0};
	size_t		i;
	json_t	   *part;
	bool		ok = false;

	if (calls == NULL)
		return oom(cx);
	if (!json_is_object(cand))
	{
		aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE,
					  "candidates[%zu] is not an object", index);
		goto done;
	}
	if (parts != NULL && !json_is_array(parts))
	{
		aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE,
					  "candidates[%zu].content.parts is not an array", index);
		goto done;
	}
	if (reason != NULL && !json_is_string(reason))
	{
		aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE,
					  "candidates[%zu].finishReason is not a string", index);
		goto done;
	}

	/*
	 * XXX: Gemini 3 wants thoughtSignature parts echoed on the next turn; an
	 * OpenAI message has nowhere to keep them, so they are lost here.
	 */
	json_array_foreach(parts, i, part)
	{
		json_t	   *t = get(part, "text");
		json_t	   *fc = get(part, "functionCall");

		if (json_is_string(t))
		{
			/* thought summaries are reasoning, not the answer */
			if (json_is_true(get(part, "thought")))
				continue;
			if (!aigov_tx_sb_add(&text, json_string_value(t),
								 json_string_length(t)))
			{
				oom(cx);
				goto done;
			}
		}
		else if (fc != NULL)
		{
			json_t	   *name = get(fc, "name");
			json_t	   *id = get(fc, "id");
			json_t	   *args = get(fc, "args");
			char		gen[32];

			if (!json_is_string(name))
			{
				aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE,
							  "candidates[%zu].content.parts[%zu].functionCall.name is missing",
							  index, i);
				goto done;
			}
			/* older Gemini versions send no call id: make one up */
			if (json_is_string(id))
				id = json_incref(id);
			else
			{
				snprintf(gen, sizeof(gen), "call_%d", (*next_call)++);
				id = json_string(gen);
			}
			if (!aigov_tx_push_tool_call(cx, calls, id, name, args))
				goto done;
		}
		else if (json_object_size(part) > 0)
		{
			const char *key = json_object_iter_key(json_object_iter(part));

			aigov_tx_note(cx, key ? key : "part", "ignored");
		}
	}
	ok = push(cx, choices,
			  aigov_tx_make_choice(cx, index, &text, calls,
								   gemini_finish(cx, json_string_value(reason),
												 json_array_size(calls) > 0)));
done:
	free(text.data);
	json_decref(calls);
	return ok;
}

/*
 * Rebuild a Gemini reply as an OpenAI chat.completion in out->body
 * (malloc'd, the caller's).  A prompt blocked before any candidate
 * becomes one content_filter choice.
 */
bool
aigov_tx_normalise_gemini(TxCtx *cx, const json_t *in, const char *model,
						  AigovNormalisedResponse *out)
{
	json_t	   *cands = get(in, "candidates");
	json_t	   *usage = get(in, "usageMetadata");
	json_t	   *choices = json_array();
	json_t	   *root = NULL;
	int			next_call = 0;
	size_t		i;
	json_t	   *cand;
	const char *fr;
	int64_t		prompt,
				cand_tokens,
				thoughts,
				cached = -1;
	bool		ok = false;

	if (choices == NULL)
		return oom(cx);
	if (cands != NULL && !json_is_array(cands))
	{
		aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE,
					  "candidates is not an array");
		goto done;
	}
	if (usage != NULL && !json_is_object(usage))
	{
		aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE,
					  "usageMetadata is not an object");
		goto done;
	}
	if (json_array_size(cands) == 0)
	{
		/* a blocked prompt: HTTP 200, no candidates, a block reason */
		const char *block = json_string_value(get(get(in, "promptFeedback"),
												  "blockReason"));
		StrBuf		empty = {0};

		if (block == NULL)
		{
			aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE,
						  "reply has no candidates and no promptFeedback.blockReason");
			goto done;
		}
		aigov_tx_note(cx, "blockReason", block);
		if (!push(cx, choices, aigov_tx_make_choice(cx, 0, &empty, NULL,
													"content_filter")))
			goto done;
	}
	json_array_foreach(cands, i, cand)
	{
		if (!gemini_candidate(cx, cand, i, &next_call, choices))
			goto done;
	}

	/* proto3 JSON omits zero counts, so absent fields count as 0 */
	if (!aigov_tx_read_count(cx, usage, "promptTokenCount", &prompt) ||
		!aigov_tx_read_count(cx, usage, "candidatesTokenCount",
							 &cand_tokens) ||
		!aigov_tx_read_count(cx, usage, "thoughtsTokenCount", &thoughts) ||
		!aigov_tx_read_count(cx, usage, "cachedContentTokenCount", &cached))
		goto done;
	if (usage != NULL)
	{
		out->prompt_tokens = prompt > 0 ? prompt : 0;
		thoughts = thoughts > 0 ? thoughts : 0;
		out->completion_tokens = (cand_tokens > 0 ? cand_tokens : 0) + thoughts;
		cached = cached > 0 ? cached : 0;
	}
	else
		thoughts = -1;
	fr = json_string_value(json_object_get(json_array_get(choices, 0),
										   "finish_reason"));
	aigov_tx_set_finish(out, fr ? fr : "");
	root = aigov_tx_make_completion(cx, in, "responseId", "modelVersion",
									model,
									choices, out, cached, thoughts);
	if (root == NULL)
		goto done;
	out->body = json_dumps(root, JSON_COMPACT);
	ok = out->body != NULL || oom(cx);
done:
	json_decref(choices);
	json_decref(root);
	return ok;
}
