/*-------------------------------------------------------------------------
 * fuzz_tokens.c
 *	  libFuzzer target for the token estimator (src/tokens.c).
 *
 * The whole input is given, in a buffer of its exact size, to the text
 * estimator (as any bytes, valid UTF-8 or not) and to the request
 * estimator (as a chat request body).  Besides the sanitizers' findings,
 * it aborts when a result breaks the contract of tokens.h:
 *
 * - a text's estimate is 0 for no bytes, at least 1 for some, and never
 *	 more than two tokens a byte (the dearest piece, a lone whitespace
 *	 character, costs about 1.5);
 * - a request is OK only if jansson loads it as an object; an OK has a
 *	 prompt of at least the reply priming, a charged prompt >= 0 and a
 *	 budget of -1 or more than 0; a failure has a prompt of 0 and no
 *	 budget, and a bad-message index exactly when a message is bad;
 * - the total with a default budget is the prompt plus the budget, and
 *	 every status has a message.
 *
 * IDENTIFICATION
 *	  test/fuzz/fuzz_tokens.c
 *-------------------------------------------------------------------------
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tokens.h"
#include "fuzz_util.h"

static void
check_request(const char *body, size_t len)
{
	AigovTokenEstimate e;
	AigovTokensStatus st = aigov_tokens_estimate_request(body, len, &e);
	const char *msg = aigov_tokens_status_message(st);
	int64_t		total = aigov_tokens_total(&e, 100);
	int64_t		budget;

	if (msg == NULL || msg[0] == '\0' ||
		strcmp(msg, "unknown token estimation status") == 0)
		abort();
	if ((st == AIGOV_TOKENS_BAD_MESSAGE) != (e.bad_message_index >= 0))
		abort();
	if (st != AIGOV_TOKENS_OK)
	{
		if (e.prompt_tokens != 0 || e.max_output_tokens != -1 || total != 100)
			abort();
		return;
	}
	{
		json_t	   *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);

		if (!json_is_object(j))
			abort();
		json_decref(j);
	}
	if (e.prompt_tokens < AIGOV_TOKENS_REPLY_PRIMING ||
		e.charged_prompt_tokens < 0 ||
		(e.max_output_tokens != -1 && e.max_output_tokens <= 0))
		abort();
	budget = e.max_output_tokens > 0 ? e.max_output_tokens : 100;
	if (total != e.prompt_tokens + budget && total != INT64_MAX)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *text = fuzz_copy_exact(data, size);
	int64_t		t = aigov_tokens_estimate_text(text, size);

	if (t < 0 || (size == 0) != (t == 0) || t > 2 * (int64_t) size)
		abort();
	check_request(text, size);
	free(text);
	return 0;
}
