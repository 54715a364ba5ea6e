/*-------------------------------------------------------------------------
 * translate_openai.c
 *	  The OpenAI target and source: request passthrough and reply
 *	  validation.
 *
 * aigov speaks OpenAI chat completions, so nothing is translated here:
 * a request goes out byte for byte (re-serialised only for a model
 * override), and a reply is checked for the fields the worker reads and
 * then kept as it came.
 *
 * IDENTIFICATION
 *	  src/translate_openai.c
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "translate_int.h"

/* OpenAI target: pass the body through, applying a model override. */
char *
aigov_tx_passthrough(TxCtx *cx, json_t *in, const char *body, size_t len,
					 const char *override)
{
	char	   *copy;

	if (override != NULL || memchr(body, '\0', len) != NULL)
	{
		if (override != NULL && !put(cx, in, "model", json_string(override)))
			return NULL;
		copy = json_dumps(in, JSON_COMPACT);
		if (copy == NULL)
			oom(cx);
		return copy;
	}
	copy = malloc(len + 1);
	if (copy == NULL)
	{
		oom(cx);
		return NULL;
	}
	memcpy(copy, body, len);
	copy[len] = '\0';
	return copy;
}

/* OpenAI: validate, extract, keep the body as it came. */
bool
aigov_tx_normalise_openai(TxCtx *cx, const json_t *in, const char *body,
						  size_t len,
						  AigovNormalisedResponse *out)
{
	json_t	   *choices = get(in, "choices");
	json_t	   *c0 = json_array_get(choices, 0);
	json_t	   *fr = json_object_get(c0, "finish_reason");
	json_t	   *usage = get(in, "usage");

	if (json_array_size(choices) == 0)
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE,
							 "choices is missing or empty");
	if (!json_is_object(get(c0, "message")))
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE,
							 "choices[0].message is missing");
	if (fr != NULL && !json_is_null(fr) && !json_is_string(fr))
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE,
							 "choices[0].finish_reason is not a string");
	if (usage != NULL && !json_is_object(usage))
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE,
							 "usage is not an object");
	if (!aigov_tx_read_count(cx, usage, "prompt_tokens",
							 &out->prompt_tokens) ||
		!aigov_tx_read_count(cx, usage, "completion_tokens",
							 &out->completion_tokens))
		return false;
	aigov_tx_set_finish(out, json_is_string(fr) ? json_string_value(fr) : "");

	if (memchr(body, '\0', len) != NULL)
		out->body = json_dumps(in, JSON_COMPACT);
	else
	{
		out->body = malloc(len + 1);
		if (out->body != NULL)
		{
			memcpy(out->body, body, len);
			out->body[len] = '\0';
		}
	}
	return out->body != NULL || oom(cx);
}
