/*-------------------------------------------------------------------------
 * fuzz_translate.c
 *	  libFuzzer target for src/translate.c.
 *
 * The first input byte picks the options (allow_degraded, whether to pass
 * a model override, default max_tokens on or off); the rest is fed as a
 * request body to all three targets and as a reply body to all three
 * sources.  Besides the sanitizers' findings, it aborts when a result
 * breaks the API contract: an OK without a body, a failure with one, a
 * body that is not a JSON object, or a detail that is not clean UTF-8.
 *
 * Build (clang): clang -g -O1 -fsanitize=fuzzer,address,undefined
 *	  -Isrc test/fuzz/fuzz_translate.c src/translate.c -ljansson
 *
 * IDENTIFICATION
 *	  test/fuzz/fuzz_translate.c
 *-------------------------------------------------------------------------
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "translate.h"
#include "../unit/text_util.h"	/* clean_text(), as the unit tests mean it */

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(AigovTranslateStatus st, const char *body, const char *detail,
	  size_t detail_size)
{
	json_t	   *j;

	if (memchr(detail, '\0', detail_size) == NULL || !clean_text(detail))
		abort();
	if ((st == AIGOV_TRANSLATE_OK) != (body != NULL))
		abort();
	if (st != AIGOV_TRANSLATE_OK && detail[0] == '\0')
		abort();
	if (body == NULL)
		return;
	j = json_loads(body, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(j))
		abort();
	json_decref(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const AigovApiStyle styles[] = {
		AIGOV_API_OPENAI, AIGOV_API_ANTHROPIC, AIGOV_API_GEMINI
	};
	AigovTranslateOptions opts;
	const char *body;
	const char *override;

	if (size == 0)
		return 0;
	opts.allow_degraded = (data[0] & 1) != 0;
	opts.default_max_tokens = (data[0] & 2) ? 0 : 1024;
	override = (data[0] & 4) ? "models/gemini 2.5/x" : NULL;
	body = (const char *) data + 1;
	size--;

	for (int i = 0; i < 3; i++)
	{
		AigovTranslatedRequest rq;
		AigovNormalisedResponse rs;
		AigovTranslateStatus st;

		st = aigov_translate_request(styles[i], body, size, override, &opts, &rq);
		check(st, rq.body, rq.detail, sizeof(rq.detail));
		if (st == AIGOV_TRANSLATE_OK && rq.path[0] != '/')
			abort();
		aigov_translate_request_free(&rq);

		st = aigov_translate_response(styles[i], body, size, "m", &rs);
		check(st, rs.body, rs.detail, sizeof(rs.detail));
		if (memchr(rs.finish_reason, '\0', sizeof(rs.finish_reason)) == NULL)
			abort();
		if (st == AIGOV_TRANSLATE_OK &&
			(rs.prompt_tokens < -1 || rs.completion_tokens < -1))
			abort();
		aigov_translate_response_free(&rs);
	}
	return 0;
}
