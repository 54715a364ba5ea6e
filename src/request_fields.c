/*-------------------------------------------------------------------------
 * request_fields.c
 *	  The allow-list of top-level chat-completions fields, and the checks
 *	  of "stream" and "n".
 *
 * The list is what the OpenAI chat-completions API documents for text
 * generation, minus what aigov cannot honour ("stream", "stream_options")
 * and what would change the cost or the destination of a call behind the
 * operator's back: stored completions ("store", "metadata"), another
 * service tier ("service_tier"), audio output ("audio", "modalities"),
 * web search ("web_search_options"), predicted outputs ("prediction"), and
 * the legacy "functions" API that the translators refuse anyway.  The
 * Anthropic and Gemini translators read the same fields (translate_params.c)
 * and build their own bodies; for them the list changes nothing.
 *
 * IDENTIFICATION
 *	  src/request_fields.c
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "request_fields.h"

static const char *const allowed[] = {
	"model", "messages", "max_tokens", "max_completion_tokens",
	"temperature", "top_p", "n", "stop", "seed", "stream",
	"presence_penalty", "frequency_penalty", "logit_bias", "logprobs",
	"top_logprobs", "response_format", "tools", "tool_choice",
	"parallel_tool_calls", "reasoning_effort", "user", NULL
};

const char *const *
aigov_request_fields(void)
{
	return allowed;
}

static bool
name_is(const char *name, size_t len, const char *lit)
{
	return strlen(lit) == len && memcmp(name, lit, len) == 0;
}

/*
 * n_value
 *		A JSON number's text as an integer in 1..AIGOV_REQUEST_MAX_N, or -1.
 *		Only plain digits count: "2.0" and "2e0" are not integers to the
 *		providers either.
 */
static int64_t
n_value(const char *number)
{
	int64_t		v = 0;

	if (number == NULL || number[0] == '\0')
		return -1;
	for (const char *p = number; *p != '\0'; p++)
	{
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (*p - '0');
		if (v > AIGOV_REQUEST_MAX_N)
			return -1;
	}
	return v >= 1 ? v : -1;
}

AigovFieldStatus
aigov_request_field_check(const char *name, size_t len, AigovJsonType type,
						  const char *number, int64_t *n)
{
	bool		known = false;

	if (name == NULL)
		return AIGOV_FIELD_UNKNOWN;
	for (int i = 0; allowed[i] != NULL && !known; i++)
		known = name_is(name, len, allowed[i]);
	if (!known)
		return AIGOV_FIELD_UNKNOWN;

	if (name_is(name, len, "stream"))
	{
		if (type == AIGOV_JSON_TRUE)
			return AIGOV_FIELD_STREAM;
		/* null is the default, as OpenAI reads it */
		return type == AIGOV_JSON_FALSE || type == AIGOV_JSON_NULL ?
			AIGOV_FIELD_OK : AIGOV_FIELD_BAD_STREAM;
	}
	if (name_is(name, len, "n"))
	{
		int64_t		v = type == AIGOV_JSON_INTEGER ? n_value(number) : -1;

		if (type == AIGOV_JSON_NULL)
			return AIGOV_FIELD_OK;	/* the default, one choice */
		if (v < 0)
			return AIGOV_FIELD_BAD_N;
		if (n != NULL)
			*n = v;
	}
	return AIGOV_FIELD_OK;
}
