/*-------------------------------------------------------------------------
 * translate_int.h
 *	  Private interface of the translate_*.c files.
 *
 * translate.h is the public face (plain C strings in, malloc'd JSON text
 * out).  This header is what the files behind it share: the work state
 * (TxCtx), the growable text buffer, the intermediate pieces of a
 * translated request, and the helpers that record failures and notes.
 * Nothing outside src/translate*.c includes it.
 *
 * Split of the work:
 *	  translate.c			 public entry points; dispatch by api style
 *	  translate_common.c	 TxCtx failures and notes, UTF-8, StrBuf, JSON
 *							 loading, reply pieces shared by the normalisers
 *	  translate_messages.c	 OpenAI messages[] -> Anthropic/Gemini turns
 *	  translate_params.c	 generation parameters, tools, tool_choice
 *	  translate_openai.c	 passthrough and OpenAI reply validation
 *	  translate_anthropic.c	 Anthropic request assembly and reply
 *	  translate_gemini.c	 Gemini request assembly, path and reply
 *
 * Every function here records its first failure in the TxCtx and returns
 * false (or NULL); none allocates behind the caller's back except where
 * its comment says who frees the result.
 *
 * IDENTIFICATION
 *	  src/translate_int.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_TRANSLATE_INT_H
#define AIGOV_TRANSLATE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "translate.h"

/* Token counts above this are treated as garbage, which also keeps sums safe */
#define MAX_TOKEN_COUNT (INT64_MAX / 8)

/* Longest input-derived string quoted in a detail message */
#define QUOTE_MAX 64

/* Work state shared by both directions. */
typedef struct TxCtx
{
	AigovApiStyle target;		/* target (request) or source (response) */
	bool		allow_degraded;
	int64_t		default_max_tokens;
	AigovTranslateStatus status;	/* first failure wins */
	char	   *detail;			/* caller's detail buffer */
	size_t		detail_size;
	char		notes[256];		/* comma-separated notes for an OK result */
	size_t		notes_len;
	bool		notes_full;
} TxCtx;

/* Growable byte buffer for concatenated text. */
typedef struct StrBuf
{
	char	   *data;
	size_t		len;
	size_t		cap;
} StrBuf;

/* Intermediate pieces of a translated request. */
typedef struct ReqParts
{
	json_t	   *system;			/* text blocks (Anthropic) or parts (Gemini) */
	json_t	   *turns;			/* messages (Anthropic) or contents (Gemini) */
	json_t	   *call_names;		/* tool_call_id -> function name (Gemini) */
	bool		seen_turn;		/* a non-system message was seen */
	bool		has_tools;
	json_t	   *tools;			/* target-shaped tools, NULL if none */
	json_t	   *tool_names;		/* object used as a set of tool names */
} ReqParts;

/*
 * The generation parameters, validated and (where the target lacks them)
 * approximated or refused.  Values are borrowed from the input, except
 * stop, which holds a reference the caller must drop.
 */
typedef struct GenParams
{
	json_t	   *max_tokens;		/* integer or NULL */
	json_t	   *temperature;
	bool		clamp_temperature;
	json_t	   *top_p;
	json_t	   *stop;			/* array of strings or NULL */
	json_t	   *n;				/* integer > 1 or NULL */
	json_t	   *seed;
	json_t	   *frequency_penalty;
	json_t	   *presence_penalty;
	json_t	   *schema;			/* response_format.json_schema.schema */
	bool		json_mode;		/* response_format json_object */
	json_t	   *user;
} GenParams;

/* translate_common.c: failures, notes, text */
extern bool aigov_tx_fail(TxCtx *cx, AigovTranslateStatus st,
						  const char *fmt,...)
			__attribute__((format(printf, 3, 4)));
extern void aigov_tx_note(TxCtx *cx, const char *feature, const char *what);
extern bool aigov_tx_degrade(TxCtx *cx, const char *feature,
							 const char *what, const char *why);
extern const char *aigov_tx_style_name(AigovApiStyle s);
extern bool aigov_tx_utf8_valid(const char *s);
extern void aigov_tx_sanitise_text(char *s);
extern bool aigov_tx_sb_add(StrBuf *sb, const char *s, size_t n);

/* translate_common.c: JSON input */
extern json_t *aigov_tx_load_object(TxCtx *cx, const char *text, size_t len,
									const char *what);
extern json_t *aigov_tx_parse_object_text(TxCtx *cx, const char *s, size_t n,
										  const char *what);

/* translate_common.c: pieces of a normalised reply */
extern bool aigov_tx_read_count(TxCtx *cx, const json_t *obj,
								const char *key, int64_t *val);
extern void aigov_tx_set_finish(AigovNormalisedResponse *out,
								const char *fr);
extern bool aigov_tx_push_tool_call(TxCtx *cx, json_t *calls, json_t *id,
									json_t *name, const json_t *args);
extern json_t *aigov_tx_make_choice(TxCtx *cx, size_t index,
									const StrBuf *text, json_t *calls,
									const char *finish);
extern json_t *aigov_tx_make_completion(TxCtx *cx, const json_t *in,
										const char *id_key,
										const char *model_key,
										const char *model, json_t *choices,
										const AigovNormalisedResponse *out,
										int64_t cached, int64_t reasoning);

/* translate_messages.c */
extern bool aigov_tx_add_text(TxCtx *cx, json_t *blocks, const char *s,
							  size_t n);
extern bool aigov_tx_convert_messages(TxCtx *cx, const json_t *messages,
									  ReqParts *rp);
extern bool aigov_tx_ensure_turns(TxCtx *cx, ReqParts *rp);

/* translate_params.c */
extern bool aigov_tx_read_params(TxCtx *cx, const json_t *in, GenParams *gp);
extern bool aigov_tx_convert_tools(TxCtx *cx, const json_t *tools,
								   ReqParts *rp);
extern bool aigov_tx_convert_tool_choice(TxCtx *cx, const json_t *in,
										 const ReqParts *rp, json_t **out);
extern void aigov_tx_note_ignored_fields(TxCtx *cx, const json_t *in);

/* translate_openai.c */
extern char *aigov_tx_passthrough(TxCtx *cx, json_t *in, const char *body,
								  size_t len, const char *override);
extern bool aigov_tx_normalise_openai(TxCtx *cx, const json_t *in,
									  const char *body, size_t len,
									  AigovNormalisedResponse *out);

/* translate_anthropic.c */
extern bool aigov_tx_anthropic_tool_choice(TxCtx *cx, const char *mode,
										   json_t *fname, const json_t *ptc,
										   json_t **out);
extern json_t *aigov_tx_build_anthropic(TxCtx *cx, const char *model,
										const GenParams *gp, ReqParts *rp,
										json_t *tool_choice);
extern bool aigov_tx_normalise_anthropic(TxCtx *cx, const json_t *in,
										 const char *model,
										 AigovNormalisedResponse *out);

/* translate_gemini.c */
extern bool aigov_tx_gemini_tool_config(TxCtx *cx, const char *mode,
										json_t *fname, const json_t *ptc,
										json_t **out);
extern bool aigov_tx_gemini_path(TxCtx *cx, const char *model, char *path,
								 size_t size);
extern json_t *aigov_tx_build_gemini(TxCtx *cx, const GenParams *gp,
									 ReqParts *rp, json_t *tool_config);
extern bool aigov_tx_normalise_gemini(TxCtx *cx, const json_t *in,
									  const char *model,
									  AigovNormalisedResponse *out);

/* Out of memory: record it and return false. */
static inline bool
oom(TxCtx *cx)
{
	return aigov_tx_fail(cx, AIGOV_TRANSLATE_NO_MEMORY, "out of memory");
}

/* Object member, with JSON null read as absent. */
static inline json_t *
get(const json_t *obj, const char *key)
{
	json_t	   *v = json_object_get(obj, key);

	return json_is_null(v) ? NULL : v;
}

/* json_object_set_new that reports allocation failure; steals val. */
static inline bool
put(TxCtx *cx, json_t *obj, const char *key, json_t *val)
{
	if (obj == NULL || json_object_set_new(obj, key, val) != 0)
		return oom(cx);
	return true;
}

/* json_array_append_new that reports allocation failure; steals val. */
static inline bool
push(TxCtx *cx, json_t *arr, json_t *val)
{
	if (arr == NULL || json_array_append_new(arr, val) != 0)
		return oom(cx);
	return true;
}

/* Set key in obj to a borrowed value (incref'd), if present. */
static inline bool
put_opt(TxCtx *cx, json_t *obj, const char *key, json_t *val)
{
	if (val == NULL)
		return true;
	return put(cx, obj, key, json_incref(val));
}

/* A JSON string of n bytes (may hold NULs); NULL when out of memory. */
static inline json_t *
str_n(const char *s, size_t n)
{
	return json_stringn(s, n);
}

#endif							/* AIGOV_TRANSLATE_INT_H */
