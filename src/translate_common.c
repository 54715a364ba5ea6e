/*-------------------------------------------------------------------------
 * translate_common.c
 *	  Helpers shared by every file of the translator: failures and notes,
 *	  UTF-8 checks, a growable buffer, JSON loading, and the pieces of a
 *	  normalised OpenAI chat.completion.
 *
 * Request translation and reply normalisation both keep their state in a
 * TxCtx: the first failure wins and fills the caller's detail buffer;
 * notes ("feature:what was done") collect in the context and become the
 * detail of an OK result.  See translate_int.h for the split of the
 * translator into files.
 *
 * IDENTIFICATION
 *	  src/translate_common.c
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "translate_int.h"


/* ---------------------------------------------------------------------
 * Small utilities
 * ---------------------------------------------------------------------
 */

/* The api style's name, as used in detail messages. */
const char *
aigov_tx_style_name(AigovApiStyle s)
{
	return aigov_protocol_style_name(s);
}

/*
 * Length of the well-formed UTF-8 sequence at p (1-4), or 0 if p does not
 * start one.  Same rules as PostgreSQL's pg_utf8_islegal: no overlongs,
 * no surrogates, nothing above U+10FFFF.
 */
static size_t
utf8_seq_len(const unsigned char *p)
{
	size_t		need;
	unsigned char lo = 0x80;
	unsigned char hi = 0xbf;

	if (*p < 0x80)
		return 1;
	if (*p >= 0xc2 && *p <= 0xdf)
		need = 1;
	else if (*p >= 0xe0 && *p <= 0xef)
	{
		need = 2;
		if (*p == 0xe0)
			lo = 0xa0;
		else if (*p == 0xed)
			hi = 0x9f;
	}
	else if (*p >= 0xf0 && *p <= 0xf4)
	{
		need = 3;
		if (*p == 0xf0)
			lo = 0x90;
		else if (*p == 0xf4)
			hi = 0x8f;
	}
	else
		return 0;
	/* a NUL terminator fails these tests, so we never read past it */
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i <= need; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return need + 1;
}

/* Is the NUL-terminated string s well-formed UTF-8? */
bool
aigov_tx_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *) s;

	while (*p)
	{
		size_t		n = utf8_seq_len(p);

		if (n == 0)
			return false;
		p += n;
	}
	return true;
}

/*
 * Make a detail buffer safe to hand to ereport: replace control characters
 * and invalid UTF-8 (jansson error texts quote raw input, and truncation
 * may split a sequence) with '?'.
 */
void
aigov_tx_sanitise_text(char *s)
{
	unsigned char *p = (unsigned char *) s;

	while (*p)
	{
		size_t		n = utf8_seq_len(p);

		if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7f)))
		{
			*p++ = '?';
			continue;
		}
		p += n;
	}
}

/*
 * Append n bytes to sb, keeping it NUL-terminated; false when out of
 * memory (sb is then unchanged).  The caller frees sb->data.
 */
bool
aigov_tx_sb_add(StrBuf *sb, const char *s, size_t n)
{
	if (n > SIZE_MAX - sb->len - 1)
		return false;
	if (sb->len + n + 1 > sb->cap)
	{
		size_t		ncap = sb->cap ? sb->cap : 64;
		char	   *p;

		while (ncap < sb->len + n + 1)
		{
			if (ncap > SIZE_MAX / 2)
			{
				ncap = sb->len + n + 1;
				break;
			}
			ncap *= 2;
		}
		p = realloc(sb->data, ncap);
		if (p == NULL)
			return false;
		sb->data = p;
		sb->cap = ncap;
	}
	if (n > 0)
		memcpy(sb->data + sb->len, s, n);
	sb->len += n;
	sb->data[sb->len] = '\0';
	return true;
}


/* ---------------------------------------------------------------------
 * Failures and notes
 * ---------------------------------------------------------------------
 */

/*
 * Record a failure (only the first one is kept) and return false, so that
 * callers can write "return aigov_tx_fail(...)".
 */
bool
aigov_tx_fail(TxCtx *cx, AigovTranslateStatus st, const char *fmt,...)
{
	va_list		ap;

	if (cx->status == AIGOV_TRANSLATE_OK)
	{
		cx->status = st;
		va_start(ap, fmt);
		vsnprintf(cx->detail, cx->detail_size, fmt, ap);
		va_end(ap);
	}
	return false;
}

/*
 * Append "feature:what" to the notes unless already there.  Notes never
 * fail: when the buffer is full the list ends with "...".
 */
void
aigov_tx_note(TxCtx *cx, const char *feature, const char *what)
{
	char		tok[96];
	size_t		tlen;
	const char *p;
	size_t		room;

	snprintf(tok, sizeof(tok), "%.60s:%s", feature, what);
	tlen = strlen(tok);
	/* commas inside a field name would make the list ambiguous */
	for (size_t i = 0; i < tlen; i++)
		if (tok[i] == ',')
			tok[i] = '_';

	for (p = strstr(cx->notes, tok); p != NULL; p = strstr(p + 1, tok))
	{
		bool		start_ok = (p == cx->notes || p[-1] == ',');
		bool		end_ok = (p[tlen] == '\0' || p[tlen] == ',');

		if (start_ok && end_ok)
			return;
	}
	if (cx->notes_full)
		return;
	/* keep 4 bytes for ",..." and 1 for the terminator */
	room = sizeof(cx->notes) - cx->notes_len - 5;
	if (tlen + 1 > room)
	{
		memcpy(cx->notes + cx->notes_len, ",...", 5);
		cx->notes_len += 4;
		cx->notes_full = true;
		return;
	}
	if (cx->notes_len > 0)
		cx->notes[cx->notes_len++] = ',';
	memcpy(cx->notes + cx->notes_len, tok, tlen + 1);
	cx->notes_len += tlen;
}

/*
 * A feature without an exact equivalent in the target: approximate it
 * (and note it) when allowed, otherwise refuse the translation.
 */
bool
aigov_tx_degrade(TxCtx *cx, const char *feature, const char *what,
				 const char *why)
{
	if (cx->allow_degraded)
	{
		aigov_tx_note(cx, feature, what);
		return true;
	}
	return aigov_tx_fail(cx, AIGOV_TRANSLATE_UNSUPPORTED,
						 "%s: %s (with allow_degraded: %s)",
						 feature, why, what);
}


/* ---------------------------------------------------------------------
 * JSON input
 * ---------------------------------------------------------------------
 */

/*
 * Did json_loadb fail for lack of memory?  jansson 2.14 says so with
 * json_error_out_of_memory, except when its lexer buffer cannot be set up:
 * it then returns NULL with the error still empty.
 *
 * XXX: a few allocation failures inside jansson's lexer surface as syntax
 * errors, which we can only report as BAD_JSON.
 */
static bool
load_failed_for_memory(const json_error_t *jerr)
{
	return json_error_code(jerr) == json_error_out_of_memory ||
		jerr->text[0] == '\0';
}

/*
 * load_object
 *		Parses a body that must be a JSON object.  On failure records why in
 *		cx (naming the body as `what`) and returns NULL; the caller owns the
 *		returned reference.
 */
json_t *
aigov_tx_load_object(TxCtx *cx, const char *text, size_t len, const char *what)
{
	json_error_t jerr;
	json_t	   *in;

	if (text == NULL)
	{
		aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON, "%s body is missing",
					  what);
		return NULL;
	}
	in = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (in == NULL)
	{
		if (load_failed_for_memory(&jerr))
			oom(cx);
		else
			aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
						  "%s body is not valid JSON: %s",
						  what, jerr.text);
		return NULL;
	}
	if (!json_is_object(in))
	{
		aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON,
					  "%s body is not a JSON object", what);
		json_decref(in);
		return NULL;
	}
	return in;
}

/*
 * Parse text that must hold a JSON object (tool-call arguments).
 * Blank text means "no arguments", i.e. {}.  Returns NULL (with the failure
 * recorded) when it does not hold an object.
 */
json_t *
aigov_tx_parse_object_text(TxCtx *cx, const char *s, size_t n,
						   const char *what)
{
	json_error_t jerr;
	json_t	   *v;
	size_t		i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			break;
	if (i == n)
	{
		v = json_object();
		if (v == NULL)
			oom(cx);
		return v;
	}
	v = json_loadb(s, n, JSON_REJECT_DUPLICATES, &jerr);
	if (v == NULL && load_failed_for_memory(&jerr))
	{
		oom(cx);
		return NULL;
	}
	if (!json_is_object(v))
	{
		json_decref(v);
		aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_JSON, "%s is not a JSON object",
					  what);
		return NULL;
	}
	return v;
}


/* ---------------------------------------------------------------------
 * Pieces of a normalised reply
 * ---------------------------------------------------------------------
 */

/*
 * Read a token count: absent/null -> -1; a non-negative integer within
 * MAX_TOKEN_COUNT -> its value; anything else is a bad reply.
 */
bool
aigov_tx_read_count(TxCtx *cx, const json_t *obj, const char *key,
					int64_t *val)
{
	json_t	   *v = get(obj, key);

	*val = -1;
	if (v == NULL)
		return true;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		json_integer_value(v) > MAX_TOKEN_COUNT)
		return aigov_tx_fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE,
							 "usage field %s is not a valid token count", key);
	*val = (int64_t) json_integer_value(v);
	return true;
}

/* Copy a finish reason into the reply (truncating if it must). */
void
aigov_tx_set_finish(AigovNormalisedResponse *out, const char *fr)
{
	snprintf(out->finish_reason, sizeof(out->finish_reason), "%s", fr);
}

/* One tool call in OpenAI shape; arguments is the JSON text of args. */
bool
aigov_tx_push_tool_call(TxCtx *cx, json_t *calls, json_t *id, json_t *name,
						const json_t *args)
{
	char	   *text;
	json_t	   *call;

	if (args != NULL)
		text = json_dumps(args, JSON_COMPACT | JSON_ENCODE_ANY);
	else if ((text = malloc(3)) != NULL)
		memcpy(text, "{}", 3);
	if (text == NULL)
	{
		json_decref(id);
		return oom(cx);
	}
	call = json_pack("{s:o,s:s,s:{s:O,s:s}}", "id", id, "type", "function",
					 "function", "name", name, "arguments", text);
	free(text);
	return push(cx, calls, call);
}

/*
 * A choice: message {role, content, tool_calls?}.  content is the text, or
 * null when the reply is only tool calls (as OpenAI does).
 */
json_t *
aigov_tx_make_choice(TxCtx *cx, size_t index, const StrBuf *text,
					 json_t *calls,
					 const char *finish)
{
	json_t	   *msg;
	json_t	   *content;

	if (text->len > 0)
		content = str_n(text->data, text->len);
	else if (json_array_size(calls) > 0)
		content = json_null();
	else
		content = json_string("");
	msg = json_pack("{s:s,s:o}", "role", "assistant", "content", content);
	if (msg != NULL && json_array_size(calls) > 0 &&
		json_object_set(msg, "tool_calls", calls) != 0)
	{
		json_decref(msg);
		msg = NULL;
	}
	if (msg == NULL)
	{
		oom(cx);
		return NULL;
	}
	return json_pack("{s:I,s:o,s:s}", "index", (json_int_t) index,
					 "message", msg, "finish_reason", finish);
}

/*
 * The chat.completion envelope.  usage is included when both counts are
 * known; cached and reasoning details when the provider reports them.
 */
json_t *
aigov_tx_make_completion(TxCtx *cx, const json_t *in, const char *id_key,
						 const char *model_key, const char *model,
						 json_t *choices,
						 const AigovNormalisedResponse *out, int64_t cached,
						 int64_t reasoning)
{
	const char *id = json_string_value(get(in, id_key));
	const char *m = json_string_value(get(in, model_key));
	json_t	   *root;
	json_t	   *usage;

	if (m == NULL)
		m = model ? model : "";
	root = json_pack("{s:s,s:s,s:i,s:s,s:O}",
					 "id", id ? id : AIGOV_TRANSLATE_FALLBACK_ID,
					 "object", "chat.completion", "created", 0,
					 "model", m, "choices", choices);
	if (root == NULL)
	{
		oom(cx);
		return NULL;
	}
	if (out->prompt_tokens < 0 || out->completion_tokens < 0)
		return root;
	usage = json_pack("{s:I,s:I,s:I}",
					  "prompt_tokens", (json_int_t) out->prompt_tokens,
					  "completion_tokens", (json_int_t) out->completion_tokens,
					  "total_tokens",
					  (json_int_t) out->prompt_tokens +
					  (json_int_t) out->completion_tokens);
	if (usage != NULL && cached >= 0 &&
		json_object_set_new(usage, "prompt_tokens_details",
							json_pack("{s:I}", "cached_tokens",
									  (json_int_t) cached)) != 0)
	{
		json_decref(usage);
		usage = NULL;
	}
	if (usage != NULL && reasoning >= 0 &&
		json_object_set_new(usage, "completion_tokens_details",
							json_pack("{s:I}", "reasoning_tokens",
									  (json_int_t) reasoning)) != 0)
	{
		json_decref(usage);
		usage = NULL;
	}
	if (!put(cx, root, "usage", usage))
	{
		json_decref(root);
		return NULL;
	}
	return root;
}
