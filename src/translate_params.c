/*-------------------------------------------------------------------------
 * translate_params.c
 *	  OpenAI generation parameters, tools and tool_choice, checked and
 *	  mapped for the Anthropic and Gemini targets.
 *
 * What a target honours exactly is passed on (through GenParams or
 * ReqParts, assembled by translate_anthropic.c and translate_gemini.c),
 * what it can only approximate needs allow_degraded and is noted, and
 * what it cannot honour is refused (docs/providers.md §7).
 *
 * IDENTIFICATION
 *	  src/translate_params.c
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "translate_int.h"

/*
 * Request fields this module interprets; any other top-level field is
 * dropped for non-OpenAI targets and reported as "<field>:ignored".
 */
static const char *const consumed_keys[] = {
	"model", "messages", "max_tokens", "max_completion_tokens",
	"temperature", "top_p", "stop", "n", "seed", "stream", "stream_options",
	"tools", "tool_choice", "parallel_tool_calls", "response_format",
	"frequency_penalty", "presence_penalty", "logprobs", "top_logprobs",
	"logit_bias", "audio", "modalities", "web_search_options", "functions",
	"function_call", "reasoning_effort", NULL
};


/* ---------------------------------------------------------------------
 * Tools
 * ---------------------------------------------------------------------
 */

/* tools[] -> Anthropic tools / one Gemini functionDeclarations tool. */
bool
aigov_tx_convert_tools(TxCtx *cx, const json_t *tools, ReqParts *rp)
{
	size_t		ti;
	json_t	   *tool;
	json_t	   *decls = NULL;

	if (tools == NULL)
		return true;
	if (!json_is_array(tools))
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
							 "tools is not an array");
	if (json_array_size(tools) == 0)
		return true;

	rp->has_tools = true;
	rp->tools = json_array();
	if (rp->tools == NULL)
		return oom(cx);
	if (cx->target == AIGOV_API_GEMINI)
	{
		decls = json_array();
		if (!push(cx, rp->tools, json_pack("{s:o}", "functionDeclarations", decls)))
			return false;
	}

	json_array_foreach(tools, ti, tool)
	{
		const char *type = json_string_value(get(tool, "type"));
		json_t	   *fn = get(tool, "function");
		json_t	   *name = get(fn, "name");
		json_t	   *desc = get(fn, "description");
		json_t	   *params = get(fn, "parameters");
		json_t	   *strict = get(fn, "strict");
		json_t	   *out;

		if (type == NULL)
			return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
								 "tools[%zu].type is missing", ti);
		if (strcmp(type, "function") != 0)
			return aigov_tx_fail(cx, AIGOV_TRANSLATE_UNSUPPORTED,
								 "tools[%zu]: tool type \"%.*s\" is not supported by %s",
								 ti, QUOTE_MAX, type,
								 aigov_tx_style_name(cx->target));
		if (!json_is_string(name) || json_string_length(name) == 0)
			return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
								 "tools[%zu].function.name is missing", ti);
		if (desc != NULL && !json_is_string(desc))
			return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
								 "tools[%zu].function.description is not a string", ti);
		if (params != NULL && !json_is_object(params))
			return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
								 "tools[%zu].function.parameters is not an object", ti);
		if (strict != NULL && !json_is_boolean(strict))
			return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
								 "tools[%zu].function.strict is not a boolean",
								 ti);
		if (json_object_set(rp->tool_names, json_string_value(name), json_true()) != 0)
			return oom(cx);

		out = json_pack("{s:O}", "name", name);
		if (out == NULL)
			return oom(cx);
		if (!push(cx, cx->target == AIGOV_API_ANTHROPIC ? rp->tools : decls, out))
			return false;
		if (desc != NULL && json_object_set(out, "description", desc) != 0)
			return oom(cx);
		if (cx->target == AIGOV_API_ANTHROPIC)
		{
			/* input_schema is mandatory for Anthropic */
			if (!put(cx, out, "input_schema",
					 params ? json_incref(params)
					 : json_pack("{s:s,s:{}}", "type", "object", "properties")))
				return false;
			if (json_is_true(strict) && !put(cx, out, "strict", json_true()))
				return false;
		}
		else
		{
			if (params != NULL &&
				json_object_set(out, "parametersJsonSchema", params) != 0)
				return oom(cx);

			/*
			 * Gemini has no per-function switch guaranteeing schema-valid
			 * arguments.
			 */
			if (json_is_true(strict) &&
				!aigov_tx_degrade(cx, "tools.strict", "dropped",
								  "gemini cannot guarantee schema-valid tool arguments"))
				return false;
		}
	}
	return true;
}

/*
 * Validate tool_choice and parallel_tool_calls, and reduce tool_choice to
 * *mode ("none", "auto", "required" or "function"; NULL when absent) and,
 * for "function", the tool's name in *fname (borrowed from the input).
 */
static bool
parse_tool_choice(TxCtx *cx, const json_t *tc, const json_t *ptc,
				  const char **mode, json_t **fname)
{
	*mode = NULL;
	*fname = NULL;
	if (ptc != NULL && !json_is_boolean(ptc))
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
							 "parallel_tool_calls is not a boolean");
	if (json_is_string(tc))
	{
		*mode = json_string_value(tc);
		if (strcmp(*mode, "none") != 0 && strcmp(*mode, "auto") != 0 &&
			strcmp(*mode, "required") != 0)
			return aigov_tx_fail(cx, AIGOV_TRANSLATE_UNSUPPORTED,
								 "tool_choice \"%.*s\" is not supported",
								 QUOTE_MAX, *mode);
	}
	else if (json_is_object(tc))
	{
		const char *type = json_string_value(get(tc, "type"));

		if (type == NULL || strcmp(type, "function") != 0)
			return aigov_tx_fail(cx, AIGOV_TRANSLATE_UNSUPPORTED,
								 "tool_choice of type \"%.*s\" is not supported",
								 QUOTE_MAX, type ? type : "(missing)");
		*fname = get(get(tc, "function"), "name");
		if (!json_is_string(*fname))
			return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
								 "tool_choice.function.name is missing");
		*mode = "function";
	}
	else if (tc != NULL)
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
							 "tool_choice must be a string or an object");
	return true;
}

/*
 * tool_choice and parallel_tool_calls -> Anthropic tool_choice / Gemini
 * toolConfig.  *out is left NULL when nothing needs sending; otherwise the
 * caller owns it.
 */
bool
aigov_tx_convert_tool_choice(TxCtx *cx, const json_t *in, const ReqParts *rp,
							 json_t **out)
{
	json_t	   *ptc = get(in, "parallel_tool_calls");
	const char *mode;			/* none, auto, required, function */
	json_t	   *fname;

	*out = NULL;
	if (!parse_tool_choice(cx, get(in, "tool_choice"), ptc, &mode, &fname))
		return false;

	if (!rp->has_tools)
	{
		/* as OpenAI: forcing a tool call needs tools; none/auto are moot */
		if (mode != NULL && (strcmp(mode, "required") == 0 ||
							 strcmp(mode, "function") == 0))
			return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
								 "tool_choice \"%s\" requires tools", mode);
		return true;
	}
	if (fname != NULL &&
		json_object_get(rp->tool_names, json_string_value(fname)) == NULL)
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
							 "tool_choice names \"%.*s\", which is not in tools",
							 QUOTE_MAX, json_string_value(fname));

	if (cx->target == AIGOV_API_ANTHROPIC)
		return aigov_tx_anthropic_tool_choice(cx, mode, fname, ptc, out);
	return aigov_tx_gemini_tool_config(cx, mode, fname, ptc, out);
}


/* ---------------------------------------------------------------------
 * Generation parameters
 * ---------------------------------------------------------------------
 */

/* Read an optional number field; false (with failure) if wrong type. */
static bool
opt_number(TxCtx *cx, const json_t *in, const char *key, json_t **out)
{
	*out = get(in, key);
	if (*out != NULL && !json_is_number(*out))
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
							 "%s is not a number", key);
	return true;
}

/* A penalty that is absent or zero needs no equivalent. */
static bool
penalty(TxCtx *cx, const json_t *in, const char *key, json_t **out)
{
	if (!opt_number(cx, in, key, out))
		return false;
	if (*out != NULL && json_number_value(*out) == 0.0)
		*out = NULL;
	if (*out != NULL && cx->target == AIGOV_API_ANTHROPIC)
	{
		*out = NULL;
		return aigov_tx_degrade(cx, key, "dropped",
								"anthropic has no sampling penalties");
	}
	return true;
}

/*
 * The refusals no option can lift: streaming, audio output, non-text
 * modalities, web search and legacy function calling.
 */
static bool
read_refusals(TxCtx *cx, const json_t *in)
{
	json_t	   *v;
	const char *tname = aigov_tx_style_name(cx->target);

	v = get(in, "stream");
	if (v != NULL && !json_is_boolean(v))
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
							 "stream is not a boolean");
	if (json_is_true(v))
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_UNSUPPORTED,
							 "stream: aigov does not stream replies from %s",
							 tname);
	if (get(in, "audio") != NULL)
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_UNSUPPORTED,
							 "audio: audio output is not supported by %s",
							 tname);
	v = get(in, "modalities");
	if (v != NULL)
	{
		size_t		i;
		json_t	   *m;

		if (!json_is_array(v))
			return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
								 "modalities is not an array");
		json_array_foreach(v, i, m)
		{
			if (!json_is_string(m) || strcmp(json_string_value(m), "text") != 0)
				return aigov_tx_fail(cx, AIGOV_TRANSLATE_UNSUPPORTED,
									 "modalities: only text output is supported by %s",
									 tname);
		}
	}
	if (get(in, "web_search_options") != NULL)
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_UNSUPPORTED,
							 "web_search_options: web search is not supported by %s", tname);
	if (get(in, "functions") != NULL || get(in, "function_call") != NULL)
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_UNSUPPORTED,
							 "functions: legacy function calling is not supported; use tools");
	return true;
}

/* max_completion_tokens (or max_tokens), temperature and top_p. */
static bool
read_limits(TxCtx *cx, const json_t *in, GenParams *gp)
{
	json_t	   *v;

	/* max_completion_tokens is the current name and wins over max_tokens */
	v = get(in, "max_completion_tokens");
	if (v == NULL)
		v = get(in, "max_tokens");
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 1))
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
							 "max_completion_tokens/max_tokens must be a positive integer");
	gp->max_tokens = v;

	if (!opt_number(cx, in, "temperature", &gp->temperature))
		return false;
	if (gp->temperature != NULL)
	{
		double		t = json_number_value(gp->temperature);

		if (t < 0.0 || t > 2.0)
			return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
								 "temperature must be between 0 and 2");
		/* OpenAI's range is 0..2, Anthropic's 0..1 */
		if (cx->target == AIGOV_API_ANTHROPIC && t > 1.0)
		{
			if (!aigov_tx_degrade(cx, "temperature", "clamped",
								  "anthropic accepts at most 1.0"))
				return false;
			gp->clamp_temperature = true;
		}
	}
	return opt_number(cx, in, "top_p", &gp->top_p);
}

/*
 * stop: a string or an array of strings, always handed on as an array.
 * gp->stop then holds a reference the caller drops.
 */
static bool
read_stop(TxCtx *cx, const json_t *in, GenParams *gp)
{
	json_t	   *v = get(in, "stop");

	if (json_is_string(v))
	{
		gp->stop = json_pack("[O]", v);
		if (gp->stop == NULL)
			return oom(cx);
	}
	else if (json_is_array(v))
	{
		size_t		i;
		json_t	   *s;

		json_array_foreach(v, i, s)
		{
			if (!json_is_string(s))
				return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
									 "stop[%zu] is not a string", i);
		}
		if (json_array_size(v) > 0)
			gp->stop = json_incref(v);
	}
	else if (v != NULL)
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
							 "stop must be a string or an array of strings");
	return true;
}

/* n, seed and the sampling penalties. */
static bool
read_sampling(TxCtx *cx, const json_t *in, GenParams *gp)
{
	json_t	   *v;
	bool		anthropic = cx->target == AIGOV_API_ANTHROPIC;

	v = get(in, "n");
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 1))
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
							 "n must be a positive integer");
	if (v != NULL && json_integer_value(v) > 1)
	{
		/* returning fewer choices than asked for would break the caller */
		if (anthropic)
			return aigov_tx_fail(cx, AIGOV_TRANSLATE_UNSUPPORTED,
								 "n: anthropic returns a single choice");
		gp->n = v;
	}

	v = get(in, "seed");
	if (v != NULL && !json_is_integer(v))
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
							 "seed is not an integer");
	if (v != NULL)
	{
		if (anthropic)
		{
			if (!aigov_tx_degrade(cx, "seed", "dropped",
								  "anthropic has no seed, so sampling is not reproducible"))
				return false;
		}
		else
			gp->seed = v;
	}

	return penalty(cx, in, "frequency_penalty", &gp->frequency_penalty) &&
		penalty(cx, in, "presence_penalty", &gp->presence_penalty);
}

/*
 * logprobs and logit_bias, which no target returns or honours,
 * reasoning_effort, which neither has with the same meaning, and user.
 */
static bool
read_extras(TxCtx *cx, const json_t *in, GenParams *gp)
{
	json_t	   *v;

	/*
	 * Anthropic's thinking budget and Gemini's thinking config are counted in
	 * tokens and change what the reply holds: no faithful equivalent.
	 */
	v = get(in, "reasoning_effort");
	if (v != NULL && !json_is_string(v))
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
							 "reasoning_effort is not a string");
	if (v != NULL &&
		!aigov_tx_degrade(cx, "reasoning_effort", "dropped",
						  "the reasoning effort has no equivalent on this provider"))
		return false;

	/* the normalised reply carries no logprobs */
	v = get(in, "logprobs");
	if (v != NULL && !json_is_boolean(v))
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
							 "logprobs is not a boolean");
	if (json_is_true(v) &&
		!aigov_tx_degrade(cx, "logprobs", "dropped",
						  "log probabilities are not returned from this provider"))
		return false;
	v = get(in, "logit_bias");
	if (v != NULL && !json_is_object(v))
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
							 "logit_bias is not an object");
	if (json_object_size(v) > 0 &&
		!aigov_tx_degrade(cx, "logit_bias", "dropped",
						  "token ids are OpenAI-specific"))
		return false;

	v = get(in, "user");
	if (v != NULL && !json_is_string(v))
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
							 "user is not a string");
	gp->user = v;
	return true;
}

/* response_format: text, json_object or json_schema. */
static bool
read_response_format(TxCtx *cx, const json_t *in, GenParams *gp)
{
	json_t	   *rf = get(in, "response_format");
	const char *type;

	if (rf == NULL)
		return true;
	type = json_string_value(get(rf, "type"));
	if (type == NULL)
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
							 "response_format.type is missing");
	if (strcmp(type, "json_schema") == 0)
	{
		gp->schema = get(get(rf, "json_schema"), "schema");
		if (!json_is_object(gp->schema))
			return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
								 "response_format.json_schema.schema is missing");
	}
	else if (strcmp(type, "json_object") == 0)
	{
		/* Anthropic has no JSON-only switch; an instruction is weaker */
		if (cx->target == AIGOV_API_ANTHROPIC &&
			!aigov_tx_degrade(cx, "response_format.json_object", "instructed",
							  "anthropic has no JSON mode"))
			return false;
		gp->json_mode = true;
	}
	else if (strcmp(type, "text") != 0)
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_UNSUPPORTED,
							 "response_format type \"%.*s\" is not supported",
							 QUOTE_MAX, type);
	return true;
}

/*
 * Read and check the request's generation parameters into gp, in the
 * order that decides which failure is reported: refusals that no option
 * can lift first, then each field as OpenAI documents it.  On failure gp
 * may already hold a stop reference, which the caller still drops.
 */
bool
aigov_tx_read_params(TxCtx *cx, const json_t *in, GenParams *gp)
{
	memset(gp, 0, sizeof(*gp));
	return read_refusals(cx, in) &&
		read_limits(cx, in, gp) &&
		read_stop(cx, in, gp) &&
		read_sampling(cx, in, gp) &&
		read_extras(cx, in, gp) &&
		read_response_format(cx, in, gp);
}

/* List the top-level fields the target will not see. */
void
aigov_tx_note_ignored_fields(TxCtx *cx, const json_t *in)
{
	const char *key;
	json_t	   *val;

	json_object_foreach((json_t *) in, key, val)
	{
		bool		known = false;

		if (json_is_null(val))
			continue;
		for (int i = 0; consumed_keys[i] != NULL; i++)
			if (strcmp(key, consumed_keys[i]) == 0)
				known = true;
		if (strcmp(key, "user") == 0 && cx->target == AIGOV_API_ANTHROPIC)
			known = true;		/* becomes metadata.user_id */
		if (!known)
			aigov_tx_note(cx, key, "ignored");
	}
}
