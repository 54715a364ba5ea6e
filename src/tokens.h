/*-------------------------------------------------------------------------
 * tokens.h
 *	  Token estimation of chat-completion requests, in pure C.
 *
 * The estimate is what aigov reserves in the token buckets when a job is
 * enqueued, before any provider has counted the prompt. The method and its
 * measured error are in docs/token-estimation.md.
 *
 * IDENTIFICATION
 *	  src/tokens.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_TOKENS_H
#define AIGOV_TOKENS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Fixed costs of the request accounting, in tokens. test/tokens/count.mjs
 * reads these lines to build its reference counts, so keep each one a plain
 * "#define NAME number". Where they come from is in docs/token-estimation.md:
 * the framing costs were calibrated on the recorded OpenAI exchanges in
 * test/fixtures/openai-captures/ (gpt-5-nano): with exact counts of the
 * texts they reproduce the provider's usage.prompt_tokens of every
 * one-message request there.
 *
 * Every message costs its role, its content and this framing; the reply is
 * primed with one more token; a message's name costs one token beyond its
 * text. (OpenAI's published rule for gpt-4o is 3 per message and 3 for the
 * reply: one token more for a single message, fewer for long chats.)
 */
#define AIGOV_TOKENS_PER_MESSAGE 4
#define AIGOV_TOKENS_REPLY_PRIMING 1
#define AIGOV_TOKENS_PER_NAME 1
/* An assistant tool call: its name and arguments plus this framing. */
#define AIGOV_TOKENS_PER_TOOL_CALL 3
/*
 * Tool definitions: each tool's name, description and parameters' JSON text,
 * plus framing per tool, plus the block's preamble once. The preamble is what
 * the captures show beyond the tools' own text.
 */
#define AIGOV_TOKENS_TOOLS_BASE 70
#define AIGOV_TOKENS_PER_TOOL 8
/*
 * A response_format json_schema: the schema's JSON text plus this. The JSON
 * text already over-counts what the provider bills for a schema.
 */
#define AIGOV_TOKENS_RESPONSE_SCHEMA 0
/*
 * Images cannot be sized without fetching them. OpenAI bills a low-detail
 * image 85 tokens on gpt-4o, and a 1024x1024 high-detail one 765 (85 plus
 * 170 per 512-pixel tile); "auto" and a missing detail are taken as high.
 */
#define AIGOV_TOKENS_IMAGE_LOW 85
#define AIGOV_TOKENS_IMAGE_HIGH 765

/*
 * OpenAI-style limiters (OpenAI, Azure OpenAI, Mistral) do not tokenise a
 * request to admit it: they charge a character-based estimate.  aigov
 * models it as the bytes of the messages' texts (not their roles, tool
 * definitions, a response schema or encoded audio) over four, rounded up,
 * plus this much per message, plus the image costs above.  Fitted on the
 * recorded exchanges, each made in a fresh window, so limit minus
 * remaining tokens is one request's charge: a one-message "Hello!" moved
 * remaining-tokens by 4.  The output budget is not part of this figure;
 * the router adds it (OpenAI documents it as charged, though the
 * recorded max_completion_tokens requests were not charged for it).
 */
#define AIGOV_CHARGE_PER_MESSAGE 2

/* Estimated BPE tokens of one UTF-8 text (never negative; 0 for empty). */
extern int64_t aigov_tokens_estimate_text(const char *utf8, size_t len);

typedef enum AigovTokensStatus
{
	AIGOV_TOKENS_OK = 0,
	AIGOV_TOKENS_BAD_JSON,		/* not parseable JSON */
	AIGOV_TOKENS_NOT_OBJECT,	/* top level is not an object */
	AIGOV_TOKENS_NO_MODEL,		/* "model" missing or not a non-empty string */
	AIGOV_TOKENS_NO_MESSAGES,	/* "messages" missing, not an array, or empty */
	AIGOV_TOKENS_BAD_MESSAGE,	/* a message is not an object / has no string
								 * role */
	AIGOV_TOKENS_BAD_MAX_TOKENS /* max_tokens / max_completion_tokens not a
								 * positive integer */
} AigovTokensStatus;

typedef struct AigovTokenEstimate
{
	int64_t		prompt_tokens;	/* messages + tools + response_format schema +
								 * overheads */
	int64_t		max_output_tokens;	/* max_completion_tokens, else max_tokens,
									 * else -1 when absent */
	int			bad_message_index;	/* index of the offending message for
									 * BAD_MESSAGE, else -1 */
	int64_t		charged_prompt_tokens;	/* the prompt as a provider's
										 * character-based limiter counts it
										 * (see AIGOV_CHARGE_PER_MESSAGE) */
} AigovTokenEstimate;

/*
 * Validate and estimate an OpenAI chat-completions request body given as
 * JSON text. On any status *out is fully set: prompt_tokens 0 and
 * max_output_tokens -1 unless the status is AIGOV_TOKENS_OK.
 */
extern AigovTokensStatus aigov_tokens_estimate_request(const char *json,
													   size_t len,
													   AigovTokenEstimate *out);

/*
 * The tokens to reserve for a validated request: prompt plus the output
 * budget (max_output_tokens, or default_output_tokens when it is -1),
 * saturating at INT64_MAX instead of overflowing.
 */
extern int64_t aigov_tokens_total(const AigovTokenEstimate *est,
								  int64_t default_output_tokens);

/* A short lowercase English description of a status, for error details. */
extern const char *aigov_tokens_status_message(AigovTokensStatus status);

#endif							/* AIGOV_TOKENS_H */
