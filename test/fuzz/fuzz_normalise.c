/*-------------------------------------------------------------------------
 * fuzz_normalise.c
 *	  libFuzzer target for the normaliser: any provider's reply turned into
 *	  an OpenAI chat.completion (aigov_translate_response, src/translate*.c).
 *
 * The whole input is a reply body, copied into a buffer of its exact size
 * and normalised as each source dialect's.  Besides the sanitizers'
 * findings, it aborts when a result breaks the contract of translate.h:
 *
 * - an OK carries a body that is a JSON object, a failure none, and a
 *	 failure always says why; every detail is clean UTF-8 text, and the
 *	 finish reason is a NUL-terminated string;
 * - an OK body has a non-empty choices array whose first element has a
 *	 message object, and token counts of -1 (none reported) or more;
 * - an OpenAI reply is kept byte for byte; an Anthropic or Gemini reply
 *	 becomes an object "chat.completion" with created 0;
 * - what the normaliser writes, it reads back as an OpenAI reply with the
 *	 same finish reason and counts (a rebuilt body carries usage only when
 *	 both counts are known; otherwise the reading finds none).
 *
 * IDENTIFICATION
 *	  test/fuzz/fuzz_normalise.c
 *-------------------------------------------------------------------------
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "translate.h"
#include "fuzz_util.h"
#include "../unit/text_util.h"	/* clean_text(), as the unit tests mean it */

/* The result's status against its fields; the parsed body on OK. */
static json_t *
check(AigovTranslateStatus st, const AigovNormalisedResponse *rs)
{
	json_t	   *j;
	json_t	   *choices;

	fuzz_terminated(rs->detail, sizeof(rs->detail));
	fuzz_terminated(rs->finish_reason, sizeof(rs->finish_reason));
	if (!clean_text(rs->detail))
		abort();
	if ((st == AIGOV_TRANSLATE_OK) != (rs->body != NULL))
		abort();
	if (st != AIGOV_TRANSLATE_OK && rs->detail[0] == '\0')
		abort();
	if (rs->body == NULL)
		return NULL;
	if (rs->prompt_tokens < -1 || rs->completion_tokens < -1)
		abort();
	j = json_loads(rs->body, JSON_REJECT_DUPLICATES, NULL);
	choices = json_object_get(j, "choices");
	if (!json_is_object(j) || !json_is_array(choices) ||
		json_array_size(choices) == 0 ||
		!json_is_object(json_object_get(json_array_get(choices, 0), "message")))
		abort();
	return j;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const AigovApiStyle styles[] = {
		AIGOV_API_OPENAI, AIGOV_API_ANTHROPIC, AIGOV_API_GEMINI
	};
	char	   *body = fuzz_copy_exact(data, size);

	for (int i = 0; i < 3; i++)
	{
		AigovNormalisedResponse rs;
		AigovNormalisedResponse again;
		AigovTranslateStatus st;
		json_t	   *j;

		st = aigov_translate_response(styles[i], body, size, "m", &rs);
		j = check(st, &rs);
		if (st != AIGOV_TRANSLATE_OK)
			continue;
		if (styles[i] == AIGOV_API_OPENAI)
		{
			if (strlen(rs.body) != size || memcmp(rs.body, body, size) != 0)
				abort();
		}
		else
		{
			json_t	   *created = json_object_get(j, "created");

			if (!json_is_string(json_object_get(j, "object")) ||
				strcmp(json_string_value(json_object_get(j, "object")),
					   "chat.completion") != 0 ||
				!json_is_integer(created) || json_integer_value(created) != 0)
				abort();
		}

		/* the normalised reply, read again as OpenAI's, says the same */
		st = aigov_translate_response(AIGOV_API_OPENAI, rs.body,
									  strlen(rs.body), "m", &again);
		json_decref(check(st, &again));
		if (st != AIGOV_TRANSLATE_OK ||
			strcmp(again.finish_reason, rs.finish_reason) != 0)
			abort();
		/* a rebuilt body carries usage only when both counts are known */
		if (styles[i] == AIGOV_API_OPENAI ||
			(rs.prompt_tokens >= 0 && rs.completion_tokens >= 0) ?
			(again.prompt_tokens != rs.prompt_tokens ||
			 again.completion_tokens != rs.completion_tokens) :
			(again.prompt_tokens != -1 || again.completion_tokens != -1))
			abort();
		aigov_translate_response_free(&again);
		json_decref(j);
		aigov_translate_response_free(&rs);
	}
	free(body);
	return 0;
}
