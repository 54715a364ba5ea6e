/*-------------------------------------------------------------------------
 * translate.h
 *	  Translate OpenAI chat-completions requests into the Anthropic and
 *	  Gemini dialects, and normalise every provider's reply into an OpenAI
 *	  chat.completion object.
 *
 * Pure C: no postgres.h, no ereport.  jansson is used inside translate.c
 * only; this interface speaks plain C strings.
 *
 * Memory: every char *body handed back is malloc'd, NUL-terminated, and
 * owned by the caller, who releases it with aigov_translate_request_free()
 * or aigov_translate_response_free() (or free() on the body).  On any
 * status other than AIGOV_TRANSLATE_OK the body is NULL.  The out structs
 * are fully (re)initialised by the translate calls, so they need no set-up,
 * but a previous body must be freed first or it leaks.
 *
 * Refusal policy (docs/providers.md §7): a request feature the target
 * honours exactly is mapped; a feature it can only approximate (seed,
 * penalties, json_object mode for Anthropic, remote images for Gemini, ...)
 * is approximated only when allow_degraded is set, and every approximation
 * is listed in detail; a feature that cannot be honoured at all (streaming,
 * n > 1 on Anthropic, audio output, ...) is always AIGOV_TRANSLATE_UNSUPPORTED.
 * Top-level fields the target has no use for are dropped and listed in
 * detail as "<field>:ignored".  Nothing is dropped silently.
 *
 * Model gating (whether a given Anthropic or Gemini model implements
 * structured output) is not known here: the router consults aigov.compat
 * before choosing a target.
 *
 * IDENTIFICATION
 *	  src/translate.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_TRANSLATE_H
#define AIGOV_TRANSLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api_style.h"

/* max_tokens sent to Anthropic when opts is NULL and the body has none */
#define AIGOV_TRANSLATE_DEFAULT_MAX_TOKENS 4096

/* id of a normalised reply whose provider sent none */
#define AIGOV_TRANSLATE_FALLBACK_ID "chatcmpl-aigov"

typedef enum AigovTranslateStatus
{
	AIGOV_TRANSLATE_OK = 0,
	AIGOV_TRANSLATE_BAD_JSON,	/* not valid JSON, not an object, or a request
								 * field has the wrong type/value */
	AIGOV_TRANSLATE_UNSUPPORTED,	/* a feature the target cannot honour
									 * (detail says which) */
	AIGOV_TRANSLATE_BAD_RESPONSE,	/* provider reply lacks the fields we
									 * need, or is an error envelope */
	AIGOV_TRANSLATE_NO_MEMORY
} AigovTranslateStatus;

typedef struct AigovTranslateOptions
{
	/*
	 * Sent as Anthropic max_tokens when the body has neither max_tokens nor
	 * max_completion_tokens.  <= 0 means "no default": such a request is then
	 * UNSUPPORTED for Anthropic.
	 */
	int64_t		default_max_tokens;

	/*
	 * true: features with no exact equivalent are approximated and listed in
	 * detail; false: they make the translation UNSUPPORTED.
	 */
	bool		allow_degraded;
} AigovTranslateOptions;

typedef struct AigovTranslatedRequest
{
	char	   *body;			/* JSON text for the target (malloc'd) */

	/*
	 * Request path: "/v1/chat/completions", "/v1/messages", or
	 * "/v1beta/models/<model>:generateContent" with the model percent-escaped
	 * (a leading "models/" is stripped first).
	 */
	char		path[512];

	/*
	 * On UNSUPPORTED/BAD_JSON: human text naming the feature or field.  On
	 * OK: comma-separated notes "<feature>:<what was done>", e.g.
	 * "seed:dropped,user:ignored" (empty when the translation is exact).
	 */
	char		detail[256];
} AigovTranslatedRequest;

/*
 * Translate an OpenAI chat-completions request body for the target.
 *
 * openai_body/len: the JSON text (need not be NUL-terminated).
 * model_override: model to use instead of the body's "model"; NULL or ""
 * keeps the body's.  A model is required either way.
 * opts: NULL means { AIGOV_TRANSLATE_DEFAULT_MAX_TOKENS, false }.
 *
 * AIGOV_API_OPENAI: the body passes through unchanged (byte for byte unless
 * a model override forces re-serialisation), including "stream": true --
 * the caller must not send a streaming request it cannot read.
 * AIGOV_API_ANTHROPIC / AIGOV_API_GEMINI: the body is translated;
 * "stream": true is UNSUPPORTED because aigov does not stream yet.
 */
extern AigovTranslateStatus aigov_translate_request(AigovApiStyle target,
													const char *openai_body,
													size_t len,
													const char *model_override,
													const AigovTranslateOptions *opts,
													AigovTranslatedRequest *out);

typedef struct AigovNormalisedResponse
{
	char	   *body;			/* OpenAI chat.completion JSON (malloc'd) */

	/*
	 * prompt_tokens counts all input, cached included; completion_tokens
	 * counts all output, reasoning included (docs/providers.md §7).  -1 when
	 * the reply reports no usage.
	 */
	int64_t		prompt_tokens;
	int64_t		completion_tokens;
	char		finish_reason[32];	/* of choices[0]; "" if null */

	/*
	 * On error: what was wrong (for a provider error envelope, its type and
	 * message).  On OK: comma-separated notes about parts of the reply that
	 * have no OpenAI equivalent and were left out (may be empty).
	 */
	char		detail[256];
} AigovNormalisedResponse;

/*
 * Normalise a provider's (non-streaming, HTTP 200) reply.
 *
 * AIGOV_API_OPENAI: the reply is validated (choices[0].message must exist)
 * and its body is kept byte for byte.  Anthropic and Gemini replies are
 * rebuilt as {id, object:"chat.completion", created:0, model, choices[],
 * usage}.  created is always 0 so that the output is deterministic (the
 * row's finished_at records the time).  model is the one the reply names
 * (Anthropic "model", Gemini "modelVersion"), else the model argument
 * (may be NULL).  Every Gemini candidate becomes a choice; Gemini function
 * calls without an id get "call_<n>", n counting from 0 across the reply.
 * An error envelope ({"error": ...}) is AIGOV_TRANSLATE_BAD_RESPONSE.
 */
extern AigovTranslateStatus aigov_translate_response(AigovApiStyle source,
													 const char *provider_body,
													 size_t len,
													 const char *model,
													 AigovNormalisedResponse *out);

/* Free the body and reset it to NULL; NULL-safe. */
extern void aigov_translate_request_free(AigovTranslatedRequest *r);
extern void aigov_translate_response_free(AigovNormalisedResponse *r);

/* "ok", "bad_json", "unsupported", "bad_response", "no_memory" */
extern const char *aigov_translate_status_name(AigovTranslateStatus s);

#endif							/* AIGOV_TRANSLATE_H */
