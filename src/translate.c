/*-------------------------------------------------------------------------
 * translate.c
 *	  Request translation (OpenAI -> Anthropic/Gemini) and response
 *	  normalisation (any provider -> OpenAI chat.completion).
 *
 * The mapping follows PROTOCOLS.md sections 1.4, 3.4, 4.3 and the
 * translation/refusal matrix of section 7.  The guiding rule is that a
 * fallback must never quietly weaken a request: what maps exactly is
 * mapped, what can only be approximated needs allow_degraded and is
 * reported, what cannot be honoured is refused (see translate.h).
 *
 * Both directions parse with jansson, build a new jansson tree and dump it
 * compactly; jansson keeps insertion order, so the output is deterministic.
 * Output trees may share (reference) nodes of the input tree, e.g. a
 * tool's JSON schema; nothing here mutates the input tree.
 *
 * IDENTIFICATION
 *	  src/translate.c
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Which kind of OpenAI message a content field belongs to. */
typedef enum MsgKind
{
	MSG_SYSTEM,
	MSG_USER,
	MSG_ASSISTANT,
	MSG_TOOL
} MsgKind;

static const char *const kind_names[] = {"system", "user", "assistant", "tool"};

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
	"function_call", NULL
};

/* Instruction that stands in for json_object mode where it has no switch */
#define JSON_MODE_INSTRUCTION \
	"Respond with a single valid JSON object and nothing else."


/* ---------------------------------------------------------------------
 * Small utilities
 * ---------------------------------------------------------------------
 */

static const char *
style_name(AigovApiStyle s)
{
	switch (s)
	{
		case AIGOV_API_OPENAI:
			return "openai";
		case AIGOV_API_ANTHROPIC:
			return "anthropic";
		case AIGOV_API_GEMINI:
			return "gemini";
		default:
			break;
	}
	return "unknown";
}

const char *
aigov_translate_status_name(AigovTranslateStatus s)
{
	switch (s)
	{
		case AIGOV_TRANSLATE_OK:
			return "ok";
		case AIGOV_TRANSLATE_BAD_JSON:
			return "bad_json";
		case AIGOV_TRANSLATE_UNSUPPORTED:
			return "unsupported";
		case AIGOV_TRANSLATE_BAD_RESPONSE:
			return "bad_response";
		case AIGOV_TRANSLATE_NO_MEMORY:
			return "no_memory";
	}
	return "unknown";
}

/* ASCII case-insensitive prefix test on a counted string. */
static bool
has_prefix_ci(const char *s, size_t len, const char *prefix)
{
	size_t		plen = strlen(prefix);

	if (len < plen)
		return false;
	for (size_t i = 0; i < plen; i++)
	{
		unsigned char a = (unsigned char) s[i];
		unsigned char b = (unsigned char) prefix[i];

		if (a >= 'A' && a <= 'Z')
			a = (unsigned char) (a - 'A' + 'a');
		if (a != b)
			return false;
	}
	return true;
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

static bool
utf8_valid(const char *s)
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
static void
sanitise_text(char *s)
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

static bool
sb_add(StrBuf *sb, const char *s, size_t n)
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

static void
ctx_init(TxCtx *cx, AigovApiStyle target, char *detail, size_t detail_size,
		 const AigovTranslateOptions *opts)
{
	memset(cx, 0, sizeof(*cx));
	cx->target = target;
	cx->detail = detail;
	cx->detail_size = detail_size;
	cx->status = AIGOV_TRANSLATE_OK;
	cx->default_max_tokens = opts ? opts->default_max_tokens
		: AIGOV_TRANSLATE_DEFAULT_MAX_TOKENS;
	cx->allow_degraded = opts ? opts->allow_degraded : false;
	detail[0] = '\0';
}

/*
 * Record a failure (only the first one is kept) and return false, so that
 * callers can write "return fail(...)".
 */
static bool
fail(TxCtx *cx, AigovTranslateStatus st, const char *fmt,...)
__attribute__((format(printf, 3, 4)));

static bool
fail(TxCtx *cx, AigovTranslateStatus st, const char *fmt,...)
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

static bool
oom(TxCtx *cx)
{
	return fail(cx, AIGOV_TRANSLATE_NO_MEMORY, "out of memory");
}

/*
 * Append "feature:what" to the notes unless already there.  Notes never
 * fail: when the buffer is full the list ends with "...".
 */
static void
note(TxCtx *cx, const char *feature, const char *what)
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
static bool
degrade(TxCtx *cx, const char *feature, const char *what, const char *why)
{
	if (cx->allow_degraded)
	{
		note(cx, feature, what);
		return true;
	}
	return fail(cx, AIGOV_TRANSLATE_UNSUPPORTED,
				"%s: %s (with allow_degraded: %s)",
				feature, why, what);
}

/* Object member, with JSON null read as absent. */
static json_t *
get(const json_t *obj, const char *key)
{
	json_t	   *v = json_object_get(obj, key);

	return json_is_null(v) ? NULL : v;
}

/* json_object_set_new that reports allocation failure; steals val. */
static bool
put(TxCtx *cx, json_t *obj, const char *key, json_t *val)
{
	if (obj == NULL || json_object_set_new(obj, key, val) != 0)
		return oom(cx);
	return true;
}

/* json_array_append_new that reports allocation failure; steals val. */
static bool
push(TxCtx *cx, json_t *arr, json_t *val)
{
	if (arr == NULL || json_array_append_new(arr, val) != 0)
		return oom(cx);
	return true;
}

static json_t *
str_n(const char *s, size_t n)
{
	return json_stringn(s, n);
}

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
static json_t *
load_object(TxCtx *cx, const char *text, size_t len, const char *what)
{
	json_error_t jerr;
	json_t	   *in;

	if (text == NULL)
	{
		fail(cx, AIGOV_TRANSLATE_BAD_JSON, "%s body is missing", what);
		return NULL;
	}
	in = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (in == NULL)
	{
		if (load_failed_for_memory(&jerr))
			oom(cx);
		else
			fail(cx, AIGOV_TRANSLATE_BAD_JSON, "%s body is not valid JSON: %s",
				 what, jerr.text);
		return NULL;
	}
	if (!json_is_object(in))
	{
		fail(cx, AIGOV_TRANSLATE_BAD_JSON, "%s body is not a JSON object", what);
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
static json_t *
parse_object_text(TxCtx *cx, const char *s, size_t n, const char *what)
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
		fail(cx, AIGOV_TRANSLATE_BAD_JSON, "%s is not a JSON object", what);
		return NULL;
	}
	return v;
}


/* ---------------------------------------------------------------------
 * Request translation: messages
 * ---------------------------------------------------------------------
 */

/* A text block in the target's shape. */
static json_t *
text_block(TxCtx *cx, const char *s, size_t n)
{
	json_t	   *t = str_n(s, n);

	if (t == NULL)
		return NULL;
	if (cx->target == AIGOV_API_ANTHROPIC)
		return json_pack("{s:s,s:o}", "type", "text", "text", t);
	return json_pack("{s:o}", "text", t);
}

/* Append a non-empty text block; the targets reject empty text blocks. */
static bool
add_text(TxCtx *cx, json_t *blocks, const char *s, size_t n)
{
	if (n == 0)
		return true;
	return push(cx, blocks, text_block(cx, s, n));
}

/*
 * Split a "data:<mime>[;...];base64,<data>" URL.  Only base64 data URLs
 * are accepted, since both targets want base64 payloads.
 */
static bool
split_data_url(const char *url, size_t len,
			   const char **mime, size_t *mime_len,
			   const char **data, size_t *data_len)
{
	const char *header;
	const char *comma;
	const char *semi;
	size_t		hlen;

	if (!has_prefix_ci(url, len, "data:"))
		return false;
	header = url + 5;
	comma = memchr(header, ',', len - 5);
	if (comma == NULL)
		return false;
	hlen = (size_t) (comma - header);
	if (hlen < 7 || !has_prefix_ci(comma - 7, 7, ";base64"))
		return false;
	semi = memchr(header, ';', hlen);
	*mime = header;
	*mime_len = (size_t) (semi - header);
	*data = comma + 1;
	*data_len = len - (size_t) (*data - url);
	return *mime_len > 0 && *data_len > 0;
}

/* image_url content part -> Anthropic image block / Gemini part. */
static bool
add_image(TxCtx *cx, json_t *blocks, const json_t *part, size_t mi, size_t pi)
{
	json_t	   *iu = get(part, "image_url");
	json_t	   *urlv;
	const char *url;
	size_t		ulen;
	const char *mime;
	const char *data;
	size_t		mime_len;
	size_t		data_len;
	json_t	   *detail;
	json_t	   *blk;

	/* some clients send the URL as a bare string */
	urlv = json_is_string(iu) ? iu : get(iu, "url");
	if (!json_is_string(urlv))
		return fail(cx, AIGOV_TRANSLATE_BAD_JSON,
					"messages[%zu].content[%zu].image_url.url is missing", mi, pi);
	url = json_string_value(urlv);
	ulen = json_string_length(urlv);

	detail = get(iu, "detail");
	if (json_is_string(detail) && strcmp(json_string_value(detail), "auto") != 0)
		note(cx, "image_url.detail", "ignored");

	if (split_data_url(url, ulen, &mime, &mime_len, &data, &data_len))
	{
		if (cx->target == AIGOV_API_ANTHROPIC)
			blk = json_pack("{s:s,s:{s:s,s:s%,s:s%}}", "type", "image",
							"source", "type", "base64",
							"media_type", mime, mime_len,
							"data", data, data_len);
		else
			blk = json_pack("{s:{s:s%,s:s%}}", "inlineData",
							"mimeType", mime, mime_len,
							"data", data, data_len);
		return push(cx, blocks, blk);
	}
	if (has_prefix_ci(url, ulen, "http://") || has_prefix_ci(url, ulen, "https://"))
	{
		if (cx->target == AIGOV_API_ANTHROPIC)
			return push(cx, blocks,
						json_pack("{s:s,s:{s:s,s:O}}", "type", "image",
								  "source", "type", "url", "url", urlv));

		/*
		 * Gemini only reads inline data or uploaded files; the closest we
		 * can do is tell the model where the image is.
		 */
		if (!degrade(cx, "image_url", "sent_as_text",
					 "gemini cannot fetch remote image URLs"))
			return false;
		{
			StrBuf		sb = {0};
			bool		ok;

			ok = sb_add(&sb, "[image: ", 8) && sb_add(&sb, url, ulen) &&
				sb_add(&sb, "]", 1);
			ok = ok && add_text(cx, blocks, sb.data, sb.len);
			free(sb.data);
			return ok || oom(cx);
		}
	}
	return fail(cx, AIGOV_TRANSLATE_UNSUPPORTED,
				"messages[%zu].content[%zu].image_url: only base64 data: URLs and http(s) URLs are supported",
				mi, pi);
}

/* input_audio content part -> Gemini inline audio (Anthropic has none). */
static bool
add_audio(TxCtx *cx, json_t *blocks, const json_t *part, size_t mi, size_t pi)
{
	json_t	   *ia = get(part, "input_audio");
	json_t	   *data = get(ia, "data");
	json_t	   *format = get(ia, "format");
	StrBuf		mime = {0};
	bool		ok;

	if (cx->target != AIGOV_API_GEMINI)
		return fail(cx, AIGOV_TRANSLATE_UNSUPPORTED,
					"messages[%zu].content[%zu]: audio input is not supported by %s",
					mi, pi, style_name(cx->target));
	if (!json_is_string(data) || !json_is_string(format) ||
		json_string_length(format) == 0)
		return fail(cx, AIGOV_TRANSLATE_BAD_JSON,
					"messages[%zu].content[%zu].input_audio needs data and format",
					mi, pi);
	if (!sb_add(&mime, "audio/", 6) ||
		!sb_add(&mime, json_string_value(format), json_string_length(format)))
	{
		free(mime.data);
		return oom(cx);
	}
	ok = push(cx, blocks, json_pack("{s:{s:s%,s:O}}", "inlineData",
									"mimeType", mime.data, mime.len,
									"data", data));
	free(mime.data);
	return ok;
}

/*
 * Convert an OpenAI message content (string, array of parts, or null) into
 * target blocks appended to "blocks".  Which part types are legal depends
 * on the message kind, as in OpenAI.
 */
static bool
convert_content(TxCtx *cx, const json_t *content, MsgKind kind, size_t mi,
				json_t *blocks)
{
	size_t		pi;
	json_t	   *part;

	if (content == NULL)
	{
		if (kind == MSG_ASSISTANT)
			return true;
		return fail(cx, AIGOV_TRANSLATE_BAD_JSON,
					"messages[%zu].content is missing", mi);
	}
	if (json_is_string(content))
		return add_text(cx, blocks, json_string_value(content),
						json_string_length(content));
	if (!json_is_array(content))
		return fail(cx, AIGOV_TRANSLATE_BAD_JSON,
					"messages[%zu].content must be a string or an array", mi);

	json_array_foreach(content, pi, part)
	{
		const char *type = json_string_value(get(part, "type"));
		json_t	   *text;

		if (type == NULL)
			return fail(cx, AIGOV_TRANSLATE_BAD_JSON,
						"messages[%zu].content[%zu].type is missing", mi, pi);
		if (strcmp(type, "text") == 0 ||
			(strcmp(type, "refusal") == 0 && kind == MSG_ASSISTANT))
		{
			text = get(part, type);
			if (!json_is_string(text))
				return fail(cx, AIGOV_TRANSLATE_BAD_JSON,
							"messages[%zu].content[%zu].%s is not a string",
							mi, pi, type);
			if (!add_text(cx, blocks, json_string_value(text),
						  json_string_length(text)))
				return false;
		}
		else if (strcmp(type, "image_url") == 0 && kind == MSG_USER)
		{
			if (!add_image(cx, blocks, part, mi, pi))
				return false;
		}
		else if (strcmp(type, "input_audio") == 0 && kind == MSG_USER)
		{
			if (!add_audio(cx, blocks, part, mi, pi))
				return false;
		}
		else
			return fail(cx, AIGOV_TRANSLATE_UNSUPPORTED,
						"messages[%zu].content[%zu]: part type \"%.*s\" in a %s message is not supported",
						mi, pi, QUOTE_MAX, type, kind_names[kind]);
	}
	return true;
}

/*
 * Concatenate the text of a tool message's content (a string or text
 * parts) into sb.
 */
static bool
content_text(TxCtx *cx, const json_t *content, size_t mi, StrBuf *sb)
{
	size_t		pi;
	json_t	   *part;

	if (json_is_string(content))
		return sb_add(sb, json_string_value(content),
					  json_string_length(content)) || oom(cx);
	if (!json_is_array(content))
		return fail(cx, AIGOV_TRANSLATE_BAD_JSON,
					"messages[%zu].content must be a string or an array", mi);
	json_array_foreach(content, pi, part)
	{
		const char *type = json_string_value(get(part, "type"));
		json_t	   *text = get(part, "text");

		if (type == NULL || strcmp(type, "text") != 0)
			return fail(cx, AIGOV_TRANSLATE_UNSUPPORTED,
						"messages[%zu].content[%zu]: only text parts are supported in a tool message",
						mi, pi);
		if (!json_is_string(text))
			return fail(cx, AIGOV_TRANSLATE_BAD_JSON,
						"messages[%zu].content[%zu].text is not a string", mi, pi);
		if (!sb_add(sb, json_string_value(text), json_string_length(text)))
			return oom(cx);
	}
	return true;
}

/*
 * Append blocks as a turn of the given role, merging into the previous turn
 * when it has the same role: Anthropic wants strictly alternating roles
 * and all tool_result blocks of one step in one user message; Gemini
 * wants all functionResponse parts of one step in one turn.  Steals blocks.
 */
static bool
append_turn(TxCtx *cx, json_t *turns, const char *role, json_t *blocks)
{
	const char *key = cx->target == AIGOV_API_ANTHROPIC ? "content" : "parts";
	size_t		n = json_array_size(turns);
	json_t	   *last;

	if (blocks == NULL)
		return oom(cx);
	if (json_array_size(blocks) == 0)
	{
		json_decref(blocks);
		return true;
	}
	last = n > 0 ? json_array_get(turns, n - 1) : NULL;
	if (last != NULL &&
		strcmp(json_string_value(json_object_get(last, "role")), role) == 0)
	{
		int			rc = json_array_extend(json_object_get(last, key), blocks);

		json_decref(blocks);
		return rc == 0 || oom(cx);
	}
	return push(cx, turns, json_pack("{s:s,s:o}", "role", role, key, blocks));
}

/*
 * Anthropic tool_use ids must match [a-zA-Z0-9_-]+; replace anything else
 * with '_' (applied identically to tool_use and tool_result ids, so pairs
 * stay matched).
 */
static json_t *
anthropic_tool_id(const json_t *id)
{
	size_t		n = json_string_length(id);
	char	   *s = malloc(n + 1);
	json_t	   *r;

	if (s == NULL)
		return NULL;
	memcpy(s, json_string_value(id), n + 1);
	for (size_t i = 0; i < n; i++)
	{
		char		c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '-'))
			s[i] = '_';
	}
	r = json_stringn(s, n);
	free(s);
	return r;
}

/* An assistant message's tool_calls -> tool_use blocks / functionCall parts. */
static bool
convert_tool_calls(TxCtx *cx, const json_t *calls, size_t mi, ReqParts *rp,
				   json_t *blocks)
{
	size_t		ci;
	json_t	   *call;

	if (!json_is_array(calls))
		return fail(cx, AIGOV_TRANSLATE_BAD_JSON,
					"messages[%zu].tool_calls is not an array", mi);
	json_array_foreach(calls, ci, call)
	{
		json_t	   *id = get(call, "id");
		const char *type = json_string_value(get(call, "type"));
		json_t	   *fn = get(call, "function");
		json_t	   *name = get(fn, "name");
		json_t	   *args = get(fn, "arguments");
		json_t	   *input;
		char		what[96];

		if (!json_is_string(id) || json_string_length(id) == 0)
			return fail(cx, AIGOV_TRANSLATE_BAD_JSON,
						"messages[%zu].tool_calls[%zu].id is missing", mi, ci);
		if (type != NULL && strcmp(type, "function") != 0)
			return fail(cx, AIGOV_TRANSLATE_UNSUPPORTED,
						"messages[%zu].tool_calls[%zu]: type \"%.*s\" is not supported",
						mi, ci, QUOTE_MAX, type);
		if (!json_is_string(name) || json_string_length(name) == 0)
			return fail(cx, AIGOV_TRANSLATE_BAD_JSON,
						"messages[%zu].tool_calls[%zu].function.name is missing",
						mi, ci);
		snprintf(what, sizeof(what),
				 "messages[%zu].tool_calls[%zu].function.arguments", mi, ci);
		if (args == NULL)
			input = parse_object_text(cx, "", 0, what);
		else if (json_is_string(args))
			input = parse_object_text(cx, json_string_value(args),
									  json_string_length(args), what);
		else if (json_is_object(args))
			input = json_incref(args);
		else
			return fail(cx, AIGOV_TRANSLATE_BAD_JSON, "%s is not a JSON string",
						what);
		if (input == NULL)
			return false;

		if (cx->target == AIGOV_API_ANTHROPIC)
		{
			json_t	   *tid = anthropic_tool_id(id);

			if (tid == NULL)
			{
				json_decref(input);
				return oom(cx);
			}
			if (!push(cx, blocks,
					  json_pack("{s:s,s:o,s:O,s:o}", "type", "tool_use",
								"id", tid, "name", name, "input", input)))
				return false;
		}
		else
		{
			if (!push(cx, blocks,
					  json_pack("{s:{s:O,s:o}}", "functionCall",
								"name", name, "args", input)))
				return false;
			/* Gemini matches responses by name: remember id -> name */
			if (json_object_set(rp->call_names, json_string_value(id), name) != 0)
				return oom(cx);
		}
	}
	return true;
}

/* A tool message -> Anthropic tool_result block / Gemini functionResponse. */
static bool
convert_tool_message(TxCtx *cx, const json_t *msg, size_t mi, ReqParts *rp,
					 json_t *blocks)
{
	json_t	   *id = get(msg, "tool_call_id");
	json_t	   *content = get(msg, "content");
	StrBuf		sb = {0};
	bool		ok = false;

	if (!json_is_string(id) || json_string_length(id) == 0)
		return fail(cx, AIGOV_TRANSLATE_BAD_JSON,
					"messages[%zu].tool_call_id is missing", mi);
	if (content != NULL && !content_text(cx, content, mi, &sb))
		goto done;
	if (!sb_add(&sb, "", 0))	/* make sb.data non-NULL */
	{
		oom(cx);
		goto done;
	}

	if (cx->target == AIGOV_API_ANTHROPIC)
	{
		json_t	   *tid = anthropic_tool_id(id);
		json_t	   *blk;

		if (tid == NULL)
		{
			oom(cx);
			goto done;
		}
		blk = json_pack("{s:s,s:o}", "type", "tool_result", "tool_use_id", tid);
		if (blk != NULL && sb.len > 0 &&
			json_object_set_new(blk, "content", str_n(sb.data, sb.len)) != 0)
		{
			json_decref(blk);
			blk = NULL;
		}
		ok = push(cx, blocks, blk);
	}
	else
	{
		json_t	   *name = json_object_get(rp->call_names, json_string_value(id));
		json_t	   *response;
		json_error_t jerr;

		if (name == NULL)
		{
			fail(cx, AIGOV_TRANSLATE_BAD_JSON,
				 "messages[%zu].tool_call_id \"%.*s\" matches no earlier tool call",
				 mi, QUOTE_MAX, json_string_value(id));
			goto done;
		}

		/*
		 * functionResponse.response must be an object: a tool that returned
		 * a JSON object is passed as such, anything else is wrapped as
		 * {"output": text}.
		 */
		response = json_loadb(sb.data, sb.len, JSON_REJECT_DUPLICATES, &jerr);
		if (!json_is_object(response))
		{
			json_decref(response);
			response = json_pack("{s:s%}", "output", sb.data, sb.len);
		}
		if (response == NULL)
		{
			oom(cx);
			goto done;
		}
		ok = push(cx, blocks,
				  json_pack("{s:{s:O,s:o}}", "functionResponse",
							"name", name, "response", response));
	}
done:
	free(sb.data);
	return ok;
}

/* Walk messages[], filling rp->system and rp->turns. */
static bool
convert_messages(TxCtx *cx, const json_t *messages, ReqParts *rp)
{
	size_t		mi;
	json_t	   *msg;
	bool		anthropic = cx->target == AIGOV_API_ANTHROPIC;

	if (!json_is_array(messages))
		return fail(cx, AIGOV_TRANSLATE_BAD_JSON,
					"messages is missing or not an array");
	if (json_array_size(messages) == 0)
		return fail(cx, AIGOV_TRANSLATE_BAD_JSON, "messages is empty");

	json_array_foreach(messages, mi, msg)
	{
		const char *role;
		json_t	   *content;
		json_t	   *blocks;
		json_t	   *calls;

		if (!json_is_object(msg))
			return fail(cx, AIGOV_TRANSLATE_BAD_JSON,
						"messages[%zu] is not an object", mi);
		role = json_string_value(get(msg, "role"));
		if (role == NULL)
			return fail(cx, AIGOV_TRANSLATE_BAD_JSON,
						"messages[%zu].role is missing or not a string", mi);
		content = get(msg, "content");
		if (json_is_string(get(msg, "name")))
			note(cx, "messages.name", "ignored");

		if (strcmp(role, "system") == 0 || strcmp(role, "developer") == 0)
		{
			/*
			 * Both targets take one system prompt ahead of the conversation;
			 * an instruction given mid-conversation loses its position.
			 */
			if (rp->seen_turn &&
				!degrade(cx, "system", "moved_to_top",
						 "a system message after the first turn has no equivalent position"))
				return false;
			if (!convert_content(cx, content, MSG_SYSTEM, mi, rp->system))
				return false;
			continue;
		}

		rp->seen_turn = true;
		blocks = json_array();
		if (blocks == NULL)
			return oom(cx);
		if (strcmp(role, "user") == 0)
		{
			if (!convert_content(cx, content, MSG_USER, mi, blocks))
				goto fail_blocks;
			if (!append_turn(cx, rp->turns, "user", blocks))
				return false;
		}
		else if (strcmp(role, "assistant") == 0)
		{
			if (!convert_content(cx, content, MSG_ASSISTANT, mi, blocks))
				goto fail_blocks;
			calls = get(msg, "tool_calls");
			if (calls != NULL &&
				!convert_tool_calls(cx, calls, mi, rp, blocks))
				goto fail_blocks;

			/*
			 * XXX: a trailing assistant message is a prefill for Anthropic
			 * (the reply continues it) but a completed turn for OpenAI.
			 */
			if (!append_turn(cx, rp->turns, anthropic ? "assistant" : "model",
							 blocks))
				return false;
		}
		else if (strcmp(role, "tool") == 0)
		{
			if (!convert_tool_message(cx, msg, mi, rp, blocks))
				goto fail_blocks;
			if (!append_turn(cx, rp->turns, "user", blocks))
				return false;
		}
		else if (strcmp(role, "function") == 0)
		{
			json_decref(blocks);
			return fail(cx, AIGOV_TRANSLATE_UNSUPPORTED,
						"messages[%zu]: role \"function\" (legacy function calling) is not supported",
						mi);
		}
		else
		{
			json_decref(blocks);
			return fail(cx, AIGOV_TRANSLATE_BAD_JSON,
						"messages[%zu].role \"%.*s\" is unknown",
						mi, QUOTE_MAX, role);
		}
		continue;
fail_blocks:
		json_decref(blocks);
		return false;
	}
	return true;
}


/* ---------------------------------------------------------------------
 * Request translation: tools and parameters
 * ---------------------------------------------------------------------
 */

/* tools[] -> Anthropic tools / one Gemini functionDeclarations tool. */
static bool
convert_tools(TxCtx *cx, const json_t *tools, ReqParts *rp)
{
	size_t		ti;
	json_t	   *tool;
	json_t	   *decls = NULL;

	if (tools == NULL)
		return true;
	if (!json_is_array(tools))
		return fail(cx, AIGOV_TRANSLATE_BAD_JSON, "tools is not an array");
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
			return fail(cx, AIGOV_TRANSLATE_BAD_JSON,
						"tools[%zu].type is missing", ti);
		if (strcmp(type, "function") != 0)
			return fail(cx, AIGOV_TRANSLATE_UNSUPPORTED,
						"tools[%zu]: tool type \"%.*s\" is not supported by %s",
						ti, QUOTE_MAX, type, style_name(cx->target));
		if (!json_is_string(name) || json_string_length(name) == 0)
			return fail(cx, AIGOV_TRANSLATE_BAD_JSON,
						"tools[%zu].function.name is missing", ti);
		if (desc != NULL && !json_is_string(desc))
			return fail(cx, AIGOV_TRANSLATE_BAD_JSON,
						"tools[%zu].function.description is not a string", ti);
		if (params != NULL && !json_is_object(params))
			return fail(cx, AIGOV_TRANSLATE_BAD_JSON,
						"tools[%zu].function.parameters is not an object", ti);
		if (strict != NULL && !json_is_boolean(strict))
			return fail(cx, AIGOV_TRANSLATE_BAD_JSON,
						"tools[%zu].function.strict is not a boolean", ti);
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
				!degrade(cx, "tools.strict", "dropped",
						 "gemini cannot guarantee schema-valid tool arguments"))
				return false;
		}
	}
	return true;
}

/*
 * tool_choice and parallel_tool_calls -> Anthropic tool_choice / Gemini
 * toolConfig.  *out is left NULL when nothing needs sending.
 */
static bool
convert_tool_choice(TxCtx *cx, const json_t *in, const ReqParts *rp,
					json_t **out)
{
	json_t	   *tc = get(in, "tool_choice");
	json_t	   *ptc = get(in, "parallel_tool_calls");
	const char *mode = NULL;	/* none, auto, required, function */
	json_t	   *fname = NULL;
	bool		anthropic = cx->target == AIGOV_API_ANTHROPIC;

	*out = NULL;
	if (ptc != NULL && !json_is_boolean(ptc))
		return fail(cx, AIGOV_TRANSLATE_BAD_JSON,
					"parallel_tool_calls is not a boolean");
	if (json_is_string(tc))
	{
		mode = json_string_value(tc);
		if (strcmp(mode, "none") != 0 && strcmp(mode, "auto") != 0 &&
			strcmp(mode, "required") != 0)
			return fail(cx, AIGOV_TRANSLATE_UNSUPPORTED,
						"tool_choice \"%.*s\" is not supported",
						QUOTE_MAX, mode);
	}
	else if (json_is_object(tc))
	{
		const char *type = json_string_value(get(tc, "type"));

		if (type == NULL || strcmp(type, "function") != 0)
			return fail(cx, AIGOV_TRANSLATE_UNSUPPORTED,
						"tool_choice of type \"%.*s\" is not supported",
						QUOTE_MAX, type ? type : "(missing)");
		fname = get(get(tc, "function"), "name");
		if (!json_is_string(fname))
			return fail(cx, AIGOV_TRANSLATE_BAD_JSON,
						"tool_choice.function.name is missing");
		mode = "function";
	}
	else if (tc != NULL)
		return fail(cx, AIGOV_TRANSLATE_BAD_JSON,
					"tool_choice must be a string or an object");

	if (!rp->has_tools)
	{
		/* as OpenAI: forcing a tool call needs tools; none/auto are moot */
		if (mode != NULL && (strcmp(mode, "required") == 0 ||
							 strcmp(mode, "function") == 0))
			return fail(cx, AIGOV_TRANSLATE_BAD_JSON,
						"tool_choice \"%s\" requires tools", mode);
		return true;
	}
	if (fname != NULL &&
		json_object_get(rp->tool_names, json_string_value(fname)) == NULL)
		return fail(cx, AIGOV_TRANSLATE_BAD_JSON,
					"tool_choice names \"%.*s\", which is not in tools",
					QUOTE_MAX, json_string_value(fname));

	if (anthropic)
	{
		const char *atype;
		bool		serial = json_is_false(ptc);

		if (mode == NULL && !serial)
			return true;		/* Anthropic's default is auto + parallel */
		if (mode == NULL || strcmp(mode, "auto") == 0)
			atype = "auto";
		else if (strcmp(mode, "none") == 0)
			atype = "none";
		else if (strcmp(mode, "required") == 0)
			atype = "any";
		else
			atype = "tool";
		*out = json_pack("{s:s}", "type", atype);
		if (*out == NULL)
			return oom(cx);
		if (fname != NULL && json_object_set(*out, "name", fname) != 0)
			return oom(cx);
		/* the flags are inverse: parallel_tool_calls=false -> disable=true */
		if (serial && strcmp(atype, "none") != 0 &&
			!put(cx, *out, "disable_parallel_tool_use", json_true()))
			return false;
		return true;
	}
	else
	{
		const char *gmode;
		json_t	   *fcc;

		/* Gemini may always return several calls; it has no switch */
		if (json_is_false(ptc) && (mode == NULL || strcmp(mode, "none") != 0) &&
			!degrade(cx, "parallel_tool_calls", "ignored",
					 "gemini cannot be limited to one tool call per turn"))
			return false;
		if (mode == NULL)
			return true;
		if (strcmp(mode, "none") == 0)
			gmode = "NONE";
		else if (strcmp(mode, "auto") == 0)
			gmode = "AUTO";
		else
			gmode = "ANY";
		fcc = json_pack("{s:s}", "mode", gmode);
		if (fcc == NULL)
			return oom(cx);
		*out = json_pack("{s:o}", "functionCallingConfig", fcc);
		if (*out == NULL)
			return oom(cx);
		if (fname != NULL &&
			!put(cx, fcc, "allowedFunctionNames", json_pack("[O]", fname)))
			return false;
		return true;
	}
}

/* Read an optional number field; false (with failure) if wrong type. */
static bool
opt_number(TxCtx *cx, const json_t *in, const char *key, json_t **out)
{
	*out = get(in, key);
	if (*out != NULL && !json_is_number(*out))
		return fail(cx, AIGOV_TRANSLATE_BAD_JSON, "%s is not a number", key);
	return true;
}

/* Set key in obj to a borrowed value (incref'd), if present. */
static bool
put_opt(TxCtx *cx, json_t *obj, const char *key, json_t *val)
{
	if (val == NULL)
		return true;
	return put(cx, obj, key, json_incref(val));
}

/*
 * The generation parameters, validated and (where the target lacks them)
 * approximated or refused.  Values are borrowed from the input.
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
		return degrade(cx, key, "dropped", "anthropic has no sampling penalties");
	}
	return true;
}

static bool
read_params(TxCtx *cx, const json_t *in, GenParams *gp)
{
	json_t	   *v;
	json_t	   *rf;
	bool		anthropic = cx->target == AIGOV_API_ANTHROPIC;
	const char *tname = style_name(cx->target);

	memset(gp, 0, sizeof(*gp));

	/* refusals that no option can lift come first */
	v = get(in, "stream");
	if (v != NULL && !json_is_boolean(v))
		return fail(cx, AIGOV_TRANSLATE_BAD_JSON, "stream is not a boolean");
	if (json_is_true(v))
		return fail(cx, AIGOV_TRANSLATE_UNSUPPORTED,
					"stream: aigov does not stream replies from %s", tname);
	if (get(in, "audio") != NULL)
		return fail(cx, AIGOV_TRANSLATE_UNSUPPORTED,
					"audio: audio output is not supported by %s", tname);
	v = get(in, "modalities");
	if (v != NULL)
	{
		size_t		i;
		json_t	   *m;

		if (!json_is_array(v))
			return fail(cx, AIGOV_TRANSLATE_BAD_JSON, "modalities is not an array");
		json_array_foreach(v, i, m)
		{
			if (!json_is_string(m) || strcmp(json_string_value(m), "text") != 0)
				return fail(cx, AIGOV_TRANSLATE_UNSUPPORTED,
							"modalities: only text output is supported by %s",
							tname);
		}
	}
	if (get(in, "web_search_options") != NULL)
		return fail(cx, AIGOV_TRANSLATE_UNSUPPORTED,
					"web_search_options: web search is not supported by %s", tname);
	if (get(in, "functions") != NULL || get(in, "function_call") != NULL)
		return fail(cx, AIGOV_TRANSLATE_UNSUPPORTED,
					"functions: legacy function calling is not supported; use tools");

	/* max_completion_tokens is the current name and wins over max_tokens */
	v = get(in, "max_completion_tokens");
	if (v == NULL)
		v = get(in, "max_tokens");
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 1))
		return fail(cx, AIGOV_TRANSLATE_BAD_JSON,
					"max_completion_tokens/max_tokens must be a positive integer");
	gp->max_tokens = v;

	if (!opt_number(cx, in, "temperature", &gp->temperature))
		return false;
	if (gp->temperature != NULL)
	{
		double		t = json_number_value(gp->temperature);

		if (t < 0.0 || t > 2.0)
			return fail(cx, AIGOV_TRANSLATE_BAD_JSON,
						"temperature must be between 0 and 2");
		/* OpenAI's range is 0..2, Anthropic's 0..1 */
		if (anthropic && t > 1.0)
		{
			if (!degrade(cx, "temperature", "clamped",
						 "anthropic accepts at most 1.0"))
				return false;
			gp->clamp_temperature = true;
		}
	}
	if (!opt_number(cx, in, "top_p", &gp->top_p))
		return false;

	v = get(in, "stop");
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
				return fail(cx, AIGOV_TRANSLATE_BAD_JSON,
							"stop[%zu] is not a string", i);
		}
		if (json_array_size(v) > 0)
			gp->stop = json_incref(v);
	}
	else if (v != NULL)
		return fail(cx, AIGOV_TRANSLATE_BAD_JSON,
					"stop must be a string or an array of strings");

	v = get(in, "n");
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 1))
		return fail(cx, AIGOV_TRANSLATE_BAD_JSON, "n must be a positive integer");
	if (v != NULL && json_integer_value(v) > 1)
	{
		/* returning fewer choices than asked for would break the caller */
		if (anthropic)
			return fail(cx, AIGOV_TRANSLATE_UNSUPPORTED,
						"n: anthropic returns a single choice");
		gp->n = v;
	}

	v = get(in, "seed");
	if (v != NULL && !json_is_integer(v))
		return fail(cx, AIGOV_TRANSLATE_BAD_JSON, "seed is not an integer");
	if (v != NULL)
	{
		if (anthropic)
		{
			if (!degrade(cx, "seed", "dropped",
						 "anthropic has no seed, so sampling is not reproducible"))
				return false;
		}
		else
			gp->seed = v;
	}

	if (!penalty(cx, in, "frequency_penalty", &gp->frequency_penalty) ||
		!penalty(cx, in, "presence_penalty", &gp->presence_penalty))
		return false;

	/* the normalised reply carries no logprobs */
	v = get(in, "logprobs");
	if (v != NULL && !json_is_boolean(v))
		return fail(cx, AIGOV_TRANSLATE_BAD_JSON, "logprobs is not a boolean");
	if (json_is_true(v) &&
		!degrade(cx, "logprobs", "dropped",
				 "log probabilities are not returned from this provider"))
		return false;
	v = get(in, "logit_bias");
	if (v != NULL && !json_is_object(v))
		return fail(cx, AIGOV_TRANSLATE_BAD_JSON, "logit_bias is not an object");
	if (json_object_size(v) > 0 &&
		!degrade(cx, "logit_bias", "dropped", "token ids are OpenAI-specific"))
		return false;

	v = get(in, "user");
	if (v != NULL && !json_is_string(v))
		return fail(cx, AIGOV_TRANSLATE_BAD_JSON, "user is not a string");
	gp->user = v;

	rf = get(in, "response_format");
	if (rf != NULL)
	{
		const char *type = json_string_value(get(rf, "type"));

		if (type == NULL)
			return fail(cx, AIGOV_TRANSLATE_BAD_JSON,
						"response_format.type is missing");
		if (strcmp(type, "json_schema") == 0)
		{
			gp->schema = get(get(rf, "json_schema"), "schema");
			if (!json_is_object(gp->schema))
				return fail(cx, AIGOV_TRANSLATE_BAD_JSON,
							"response_format.json_schema.schema is missing");
		}
		else if (strcmp(type, "json_object") == 0)
		{
			/* Anthropic has no JSON-only switch; an instruction is weaker */
			if (anthropic &&
				!degrade(cx, "response_format.json_object", "instructed",
						 "anthropic has no JSON mode"))
				return false;
			gp->json_mode = true;
		}
		else if (strcmp(type, "text") != 0)
			return fail(cx, AIGOV_TRANSLATE_UNSUPPORTED,
						"response_format type \"%.*s\" is not supported",
						QUOTE_MAX, type);
	}
	return true;
}

/* List the top-level fields the target will not see. */
static void
note_ignored_fields(TxCtx *cx, const json_t *in)
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
			note(cx, key, "ignored");
	}
}


/* ---------------------------------------------------------------------
 * Request translation: assembly per target
 * ---------------------------------------------------------------------
 */

/*
 * With no user/assistant content left (e.g. a lone developer message,
 * which OpenAI answers), the instructions must travel as the user turn.
 */
static bool
ensure_turns(TxCtx *cx, ReqParts *rp)
{
	if (json_array_size(rp->turns) > 0)
		return true;
	if (json_array_size(rp->system) == 0)
		return fail(cx, AIGOV_TRANSLATE_BAD_JSON,
					"messages contain no content to send");
	if (!degrade(cx, "system", "sent_as_user",
				 "the conversation has no user turn"))
		return false;
	if (!append_turn(cx, rp->turns, "user", json_incref(rp->system)))
		return false;
	json_decref(rp->system);
	rp->system = json_array();
	return rp->system != NULL || oom(cx);
}

static json_t *
build_anthropic(TxCtx *cx, const char *model, const GenParams *gp,
				ReqParts *rp, json_t *tool_choice)
{
	json_t	   *root = json_object();
	size_t		i;
	json_t	   *turn;

	if (root == NULL)
	{
		oom(cx);
		return NULL;
	}
	if (!put(cx, root, "model", json_string(model)))
		goto err;

	if (gp->max_tokens != NULL)
	{
		if (!put_opt(cx, root, "max_tokens", gp->max_tokens))
			goto err;
	}
	else if (cx->default_max_tokens > 0)
	{
		if (!put(cx, root, "max_tokens", json_integer(cx->default_max_tokens)))
			goto err;
	}
	else
	{
		fail(cx, AIGOV_TRANSLATE_UNSUPPORTED,
			 "max_tokens: required by anthropic and no default is configured");
		goto err;
	}

	/* one system text goes as a plain string, several as text blocks */
	if (json_array_size(rp->system) == 1)
	{
		if (!put(cx, root, "system",
				 json_incref(json_object_get(json_array_get(rp->system, 0), "text"))))
			goto err;
	}
	else if (json_array_size(rp->system) > 1)
	{
		if (!put(cx, root, "system", json_incref(rp->system)))
			goto err;
	}

	/* a single text block reads better (and is equivalent) as a string */
	json_array_foreach(rp->turns, i, turn)
	{
		json_t	   *blocks = json_object_get(turn, "content");
		json_t	   *b0 = json_array_get(blocks, 0);

		if (json_array_size(blocks) == 1 &&
			strcmp(json_string_value(json_object_get(b0, "type")), "text") == 0 &&
			!put(cx, turn, "content", json_incref(json_object_get(b0, "text"))))
			goto err;
	}
	if (!put(cx, root, "messages", json_incref(rp->turns)))
		goto err;

	if (gp->temperature != NULL &&
		!put(cx, root, "temperature",
			 gp->clamp_temperature ? json_real(1.0) : json_incref(gp->temperature)))
		goto err;
	if (!put_opt(cx, root, "top_p", gp->top_p) ||
		!put_opt(cx, root, "stop_sequences", gp->stop) ||
		!put_opt(cx, root, "tools", rp->tools) ||
		!put_opt(cx, root, "tool_choice", tool_choice))
		goto err;
	if (gp->schema != NULL &&
		!put(cx, root, "output_config",
			 json_pack("{s:{s:s,s:O}}", "format", "type", "json_schema",
					   "schema", gp->schema)))
		goto err;
	if (gp->user != NULL &&
		!put(cx, root, "metadata", json_pack("{s:O}", "user_id", gp->user)))
		goto err;
	return root;
err:
	json_decref(root);
	return NULL;
}

static json_t *
build_gemini(TxCtx *cx, const GenParams *gp, ReqParts *rp, json_t *tool_config)
{
	json_t	   *root = json_object();
	json_t	   *gc = json_object();

	if (root == NULL || gc == NULL)
	{
		oom(cx);
		goto err;
	}
	if (!put(cx, root, "contents", json_incref(rp->turns)))
		goto err;
	if (json_array_size(rp->system) > 0 &&
		!put(cx, root, "systemInstruction",
			 json_pack("{s:O}", "parts", rp->system)))
		goto err;
	if (!put_opt(cx, root, "tools", rp->tools) ||
		!put_opt(cx, root, "toolConfig", tool_config))
		goto err;

	if (!put_opt(cx, gc, "maxOutputTokens", gp->max_tokens) ||
		!put_opt(cx, gc, "temperature", gp->temperature) ||
		!put_opt(cx, gc, "topP", gp->top_p) ||
		!put_opt(cx, gc, "stopSequences", gp->stop) ||
		!put_opt(cx, gc, "candidateCount", gp->n) ||
		!put_opt(cx, gc, "seed", gp->seed) ||
		!put_opt(cx, gc, "frequencyPenalty", gp->frequency_penalty) ||
		!put_opt(cx, gc, "presencePenalty", gp->presence_penalty))
		goto err;
	if ((gp->schema != NULL || gp->json_mode) &&
		!put(cx, gc, "responseMimeType", json_string("application/json")))
		goto err;
	if (!put_opt(cx, gc, "responseJsonSchema", gp->schema))
		goto err;
	if (json_object_size(gc) > 0 &&
		!put(cx, root, "generationConfig", json_incref(gc)))
		goto err;
	json_decref(gc);
	return root;
err:
	json_decref(gc);
	json_decref(root);
	return NULL;
}

/* Percent-escape a model name into the Gemini path. */
static bool
gemini_path(TxCtx *cx, const char *model, char *path, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *prefix = "/v1beta/models/";
	const char *suffix = ":generateContent";
	size_t		n;

	/* accept both "gemini-2.5-flash" and the resource name "models/..." */
	if (strncmp(model, "models/", 7) == 0)
		model += 7;
	if (*model == '\0')
		return fail(cx, AIGOV_TRANSLATE_BAD_JSON, "model is empty");
	n = strlen(prefix);
	memcpy(path, prefix, n);
	for (const unsigned char *p = (const unsigned char *) model; *p; p++)
	{
		bool		plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			(*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
			*p == '_' || *p == '~';

		if (n + (plain ? 1 : 3) + strlen(suffix) + 1 > size)
			return fail(cx, AIGOV_TRANSLATE_BAD_JSON, "model name is too long");
		if (plain)
			path[n++] = (char) *p;
		else
		{
			path[n++] = '%';
			path[n++] = hex[*p >> 4];
			path[n++] = hex[*p & 15];
		}
	}
	memcpy(path + n, suffix, strlen(suffix) + 1);
	return true;
}

/* OpenAI target: pass the body through, applying a model override. */
static char *
passthrough(TxCtx *cx, json_t *in, const char *body, size_t len,
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

AigovTranslateStatus
aigov_translate_request(AigovApiStyle target, const char *openai_body,
						size_t len, const char *model_override,
						const AigovTranslateOptions *opts,
						AigovTranslatedRequest *out)
{
	TxCtx		cx;
	json_t	   *in = NULL;
	json_t	   *result = NULL;
	json_t	   *tool_choice = NULL;
	const char *model;
	ReqParts	rp = {0};
	GenParams	gp = {0};

	if (out == NULL)
		return AIGOV_TRANSLATE_BAD_JSON;
	out->body = NULL;
	out->path[0] = '\0';
	ctx_init(&cx, target, out->detail, sizeof(out->detail), opts);

	if (target != AIGOV_API_OPENAI && target != AIGOV_API_ANTHROPIC &&
		target != AIGOV_API_GEMINI)
	{
		fail(&cx, AIGOV_TRANSLATE_UNSUPPORTED, "unknown target api style %d",
			 (int) target);
		goto done;
	}
	in = load_object(&cx, openai_body, len, "request");
	if (in == NULL)
		goto done;
	if (model_override != NULL && model_override[0] != '\0')
	{
		if (!utf8_valid(model_override))
		{
			fail(&cx, AIGOV_TRANSLATE_BAD_JSON,
				 "model override is not valid UTF-8");
			goto done;
		}
		model = model_override;
	}
	else
	{
		model_override = NULL;
		model = json_string_value(get(in, "model"));
	}
	if (model == NULL || model[0] == '\0')
	{
		fail(&cx, AIGOV_TRANSLATE_BAD_JSON, "model is missing or not a string");
		goto done;
	}

	if (target == AIGOV_API_OPENAI)
	{
		snprintf(out->path, sizeof(out->path), "/v1/chat/completions");
		out->body = passthrough(&cx, in, openai_body, len, model_override);
		goto done;
	}

	if (target == AIGOV_API_ANTHROPIC)
		snprintf(out->path, sizeof(out->path), "/v1/messages");
	else if (!gemini_path(&cx, model, out->path, sizeof(out->path)))
		goto done;

	rp.system = json_array();
	rp.turns = json_array();
	rp.call_names = json_object();
	rp.tool_names = json_object();
	if (rp.system == NULL || rp.turns == NULL || rp.call_names == NULL ||
		rp.tool_names == NULL)
	{
		oom(&cx);
		goto done;
	}

	if (!convert_messages(&cx, get(in, "messages"), &rp) ||
		!read_params(&cx, in, &gp) ||
		!convert_tools(&cx, get(in, "tools"), &rp) ||
		!convert_tool_choice(&cx, in, &rp, &tool_choice))
		goto done;
	if (gp.json_mode && cx.target == AIGOV_API_ANTHROPIC &&
		!add_text(&cx, rp.system, JSON_MODE_INSTRUCTION,
				  strlen(JSON_MODE_INSTRUCTION)))
		goto done;
	if (!ensure_turns(&cx, &rp))
		goto done;
	note_ignored_fields(&cx, in);

	if (target == AIGOV_API_ANTHROPIC)
		result = build_anthropic(&cx, model, &gp, &rp, tool_choice);
	else
		result = build_gemini(&cx, &gp, &rp, tool_choice);
	if (result == NULL)
		goto done;
	out->body = json_dumps(result, JSON_COMPACT);
	if (out->body == NULL)
		oom(&cx);

done:
	json_decref(rp.system);
	json_decref(rp.turns);
	json_decref(rp.call_names);
	json_decref(rp.tool_names);
	json_decref(rp.tools);
	json_decref(gp.stop);
	json_decref(tool_choice);
	json_decref(result);
	json_decref(in);
	if (cx.status == AIGOV_TRANSLATE_OK)
		snprintf(out->detail, sizeof(out->detail), "%s", cx.notes);
	else
	{
		free(out->body);
		out->body = NULL;
		out->path[0] = '\0';
	}
	sanitise_text(out->detail);
	return cx.status;
}

void
aigov_translate_request_free(AigovTranslatedRequest *r)
{
	if (r == NULL)
		return;
	free(r->body);
	r->body = NULL;
}


/* ---------------------------------------------------------------------
 * Response normalisation
 * ---------------------------------------------------------------------
 */

/*
 * Read a token count: absent/null -> -1; a non-negative integer within
 * MAX_TOKEN_COUNT -> its value; anything else is a bad reply.
 */
static bool
read_count(TxCtx *cx, const json_t *obj, const char *key, int64_t *val)
{
	json_t	   *v = get(obj, key);

	*val = -1;
	if (v == NULL)
		return true;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		json_integer_value(v) > MAX_TOKEN_COUNT)
		return fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE,
					"usage field %s is not a valid token count", key);
	*val = (int64_t) json_integer_value(v);
	return true;
}

/* An {"error": ...} envelope (all three dialects use one) is a failure. */
static bool
check_error_envelope(TxCtx *cx, const json_t *in)
{
	json_t	   *err = get(in, "error");
	const char *label;
	const char *msg;

	if (err == NULL)
		return true;
	label = json_string_value(get(err, "type"));
	if (label == NULL)
		label = json_string_value(get(err, "status"));
	if (label == NULL)
		label = json_string_value(get(err, "code"));
	msg = json_string_value(get(err, "message"));
	if (msg == NULL && json_is_string(err))
		msg = json_string_value(err);
	return fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE, "provider error (%.*s): %s",
				QUOTE_MAX, label ? label : "unknown",
				msg ? msg : "no message");
}

static void
set_finish(AigovNormalisedResponse *out, const char *fr)
{
	snprintf(out->finish_reason, sizeof(out->finish_reason), "%s", fr);
}

/* OpenAI: validate, extract, keep the body as it came. */
static bool
normalise_openai(TxCtx *cx, const json_t *in, const char *body, size_t len,
				 AigovNormalisedResponse *out)
{
	json_t	   *choices = get(in, "choices");
	json_t	   *c0 = json_array_get(choices, 0);
	json_t	   *fr = json_object_get(c0, "finish_reason");
	json_t	   *usage = get(in, "usage");

	if (json_array_size(choices) == 0)
		return fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE,
					"choices is missing or empty");
	if (!json_is_object(get(c0, "message")))
		return fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE,
					"choices[0].message is missing");
	if (fr != NULL && !json_is_null(fr) && !json_is_string(fr))
		return fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE,
					"choices[0].finish_reason is not a string");
	if (usage != NULL && !json_is_object(usage))
		return fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE, "usage is not an object");
	if (!read_count(cx, usage, "prompt_tokens", &out->prompt_tokens) ||
		!read_count(cx, usage, "completion_tokens", &out->completion_tokens))
		return false;
	set_finish(out, json_is_string(fr) ? json_string_value(fr) : "");

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

/* One tool call in OpenAI shape; arguments is the JSON text of args. */
static bool
push_tool_call(TxCtx *cx, json_t *calls, json_t *id, json_t *name,
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
static json_t *
make_choice(TxCtx *cx, size_t index, const StrBuf *text, json_t *calls,
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
static json_t *
make_completion(TxCtx *cx, const json_t *in, const char *id_key,
				const char *model_key, const char *model, json_t *choices,
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

static const char *
anthropic_finish(TxCtx *cx, const char *stop)
{
	if (strcmp(stop, "end_turn") == 0 || strcmp(stop, "stop_sequence") == 0)
		return "stop";
	if (strcmp(stop, "max_tokens") == 0 ||
		strcmp(stop, "model_context_window_exceeded") == 0)
		return "length";
	if (strcmp(stop, "tool_use") == 0)
		return "tool_calls";
	if (strcmp(stop, "refusal") == 0)
		return "content_filter";
	/* pause_turn (server tools, which aigov never sends) and future values */
	note(cx, stop, "mapped_to_stop");
	return "stop";
}

static bool
normalise_anthropic(TxCtx *cx, const json_t *in, const char *model,
					AigovNormalisedResponse *out)
{
	json_t	   *content = get(in, "content");
	const char *type = json_string_value(get(in, "type"));
	const char *stop = json_string_value(get(in, "stop_reason"));
	json_t	   *usage = get(in, "usage");
	json_t	   *calls = json_array();
	json_t	   *choices = json_array();
	json_t	   *root = NULL;
	StrBuf		text = {0};
	size_t		i;
	json_t	   *blk;
	int64_t		input,
				cache_w,
				cache_r;
	bool		ok = false;

	if (calls == NULL || choices == NULL)
	{
		oom(cx);
		goto done;
	}
	if (type != NULL && strcmp(type, "message") != 0)
	{
		fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE,
			 "reply type is \"%.*s\", not \"message\"", QUOTE_MAX, type);
		goto done;
	}
	if (!json_is_array(content))
	{
		fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE, "content is missing");
		goto done;
	}
	if (stop == NULL)
	{
		fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE, "stop_reason is missing");
		goto done;
	}
	if (usage != NULL && !json_is_object(usage))
	{
		fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE, "usage is not an object");
		goto done;
	}

	json_array_foreach(content, i, blk)
	{
		const char *bt = json_string_value(get(blk, "type"));

		if (bt == NULL)
		{
			fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE,
				 "content[%zu].type is missing", i);
			goto done;
		}
		if (strcmp(bt, "text") == 0)
		{
			json_t	   *t = get(blk, "text");

			if (!json_is_string(t))
			{
				fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE,
					 "content[%zu].text is not a string", i);
				goto done;
			}
			if (!sb_add(&text, json_string_value(t), json_string_length(t)))
			{
				oom(cx);
				goto done;
			}
		}
		else if (strcmp(bt, "tool_use") == 0)
		{
			json_t	   *id = get(blk, "id");
			json_t	   *name = get(blk, "name");

			if (!json_is_string(id) || !json_is_string(name))
			{
				fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE,
					 "content[%zu] tool_use lacks id or name", i);
				goto done;
			}
			if (!push_tool_call(cx, calls, json_incref(id), name,
								get(blk, "input")))
				goto done;
		}
		else if (strcmp(bt, "thinking") != 0 &&
				 strcmp(bt, "redacted_thinking") != 0)
			/* reasoning is not part of a chat.completion; others are noted */
			note(cx, bt, "ignored");
	}

	/* Anthropic's input_tokens excludes cache reads and writes */
	if (!read_count(cx, usage, "input_tokens", &input) ||
		!read_count(cx, usage, "cache_creation_input_tokens", &cache_w) ||
		!read_count(cx, usage, "cache_read_input_tokens", &cache_r) ||
		!read_count(cx, usage, "output_tokens", &out->completion_tokens))
		goto done;
	if (input >= 0)
		out->prompt_tokens = input + (cache_w > 0 ? cache_w : 0) +
			(cache_r > 0 ? cache_r : 0);
	set_finish(out, anthropic_finish(cx, stop));

	if (!push(cx, choices, make_choice(cx, 0, &text, calls, out->finish_reason)))
		goto done;
	root = make_completion(cx, in, "id", "model", model, choices, out,
						   cache_r > 0 ? cache_r : 0, -1);
	if (root == NULL)
		goto done;
	out->body = json_dumps(root, JSON_COMPACT);
	ok = out->body != NULL || oom(cx);
done:
	free(text.data);
	json_decref(calls);
	json_decref(choices);
	json_decref(root);
	return ok;
}

static const char *
gemini_finish(TxCtx *cx, const char *reason, bool has_calls)
{
	static const char *const filtered[] = {
		"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
		"IMAGE_SAFETY", NULL
	};

	if (reason == NULL || strcmp(reason, "STOP") == 0)
		/* Gemini says STOP after function calls; OpenAI says tool_calls */
		return has_calls ? "tool_calls" : "stop";
	if (strcmp(reason, "MAX_TOKENS") == 0)
		return "length";
	for (int i = 0; filtered[i] != NULL; i++)
		if (strcmp(reason, filtered[i]) == 0)
			return "content_filter";
	/* MALFORMED_FUNCTION_CALL, OTHER, ...: keep a trace of it */
	note(cx, reason, "mapped_to_stop");
	return has_calls ? "tool_calls" : "stop";
}

/* One Gemini candidate -> one choice. */
static bool
gemini_candidate(TxCtx *cx, const json_t *cand, size_t index, int *next_call,
				 json_t *choices)
{
	json_t	   *parts = get(get(cand, "content"), "parts");
	json_t	   *reason = get(cand, "finishReason");
	json_t	   *calls = json_array();
	StrBuf		text = {0};
	size_t		i;
	json_t	   *part;
	bool		ok = false;

	if (calls == NULL)
		return oom(cx);
	if (!json_is_object(cand))
	{
		fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE,
			 "candidates[%zu] is not an object", index);
		goto done;
	}
	if (parts != NULL && !json_is_array(parts))
	{
		fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE,
			 "candidates[%zu].content.parts is not an array", index);
		goto done;
	}
	if (reason != NULL && !json_is_string(reason))
	{
		fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE,
			 "candidates[%zu].finishReason is not a string", index);
		goto done;
	}

	/*
	 * XXX: Gemini 3 wants thoughtSignature parts echoed on the next turn;
	 * an OpenAI message has nowhere to keep them, so they are lost here.
	 */
	json_array_foreach(parts, i, part)
	{
		json_t	   *t = get(part, "text");
		json_t	   *fc = get(part, "functionCall");

		if (json_is_string(t))
		{
			/* thought summaries are reasoning, not the answer */
			if (json_is_true(get(part, "thought")))
				continue;
			if (!sb_add(&text, json_string_value(t), json_string_length(t)))
			{
				oom(cx);
				goto done;
			}
		}
		else if (fc != NULL)
		{
			json_t	   *name = get(fc, "name");
			json_t	   *id = get(fc, "id");
			json_t	   *args = get(fc, "args");
			char		gen[32];

			if (!json_is_string(name))
			{
				fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE,
					 "candidates[%zu].content.parts[%zu].functionCall.name is missing",
					 index, i);
				goto done;
			}
			/* older Gemini versions send no call id: make one up */
			if (json_is_string(id))
				id = json_incref(id);
			else
			{
				snprintf(gen, sizeof(gen), "call_%d", (*next_call)++);
				id = json_string(gen);
			}
			if (!push_tool_call(cx, calls, id, name, args))
				goto done;
		}
		else if (json_object_size(part) > 0)
		{
			const char *key = json_object_iter_key(json_object_iter(part));

			note(cx, key ? key : "part", "ignored");
		}
	}
	ok = push(cx, choices,
			  make_choice(cx, index, &text, calls,
						  gemini_finish(cx, json_string_value(reason),
										json_array_size(calls) > 0)));
done:
	free(text.data);
	json_decref(calls);
	return ok;
}

static bool
normalise_gemini(TxCtx *cx, const json_t *in, const char *model,
				 AigovNormalisedResponse *out)
{
	json_t	   *cands = get(in, "candidates");
	json_t	   *usage = get(in, "usageMetadata");
	json_t	   *choices = json_array();
	json_t	   *root = NULL;
	int			next_call = 0;
	size_t		i;
	json_t	   *cand;
	const char *fr;
	int64_t		prompt,
				cand_tokens,
				thoughts,
				cached = -1;
	bool		ok = false;

	if (choices == NULL)
		return oom(cx);
	if (cands != NULL && !json_is_array(cands))
	{
		fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE, "candidates is not an array");
		goto done;
	}
	if (usage != NULL && !json_is_object(usage))
	{
		fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE, "usageMetadata is not an object");
		goto done;
	}
	if (json_array_size(cands) == 0)
	{
		/* a blocked prompt: HTTP 200, no candidates, a block reason */
		const char *block = json_string_value(get(get(in, "promptFeedback"),
												  "blockReason"));
		StrBuf		empty = {0};

		if (block == NULL)
		{
			fail(cx, AIGOV_TRANSLATE_BAD_RESPONSE,
				 "reply has no candidates and no promptFeedback.blockReason");
			goto done;
		}
		note(cx, "blockReason", block);
		if (!push(cx, choices, make_choice(cx, 0, &empty, NULL, "content_filter")))
			goto done;
	}
	json_array_foreach(cands, i, cand)
	{
		if (!gemini_candidate(cx, cand, i, &next_call, choices))
			goto done;
	}

	/* proto3 JSON omits zero counts, so absent fields count as 0 */
	if (!read_count(cx, usage, "promptTokenCount", &prompt) ||
		!read_count(cx, usage, "candidatesTokenCount", &cand_tokens) ||
		!read_count(cx, usage, "thoughtsTokenCount", &thoughts) ||
		!read_count(cx, usage, "cachedContentTokenCount", &cached))
		goto done;
	if (usage != NULL)
	{
		out->prompt_tokens = prompt > 0 ? prompt : 0;
		thoughts = thoughts > 0 ? thoughts : 0;
		out->completion_tokens = (cand_tokens > 0 ? cand_tokens : 0) + thoughts;
		cached = cached > 0 ? cached : 0;
	}
	else
		thoughts = -1;
	fr = json_string_value(json_object_get(json_array_get(choices, 0),
										   "finish_reason"));
	set_finish(out, fr ? fr : "");
	root = make_completion(cx, in, "responseId", "modelVersion", model,
						   choices, out, cached, thoughts);
	if (root == NULL)
		goto done;
	out->body = json_dumps(root, JSON_COMPACT);
	ok = out->body != NULL || oom(cx);
done:
	json_decref(choices);
	json_decref(root);
	return ok;
}

AigovTranslateStatus
aigov_translate_response(AigovApiStyle source, const char *provider_body,
						 size_t len, const char *model,
						 AigovNormalisedResponse *out)
{
	TxCtx		cx;
	json_t	   *in = NULL;

	if (out == NULL)
		return AIGOV_TRANSLATE_BAD_JSON;
	out->body = NULL;
	out->prompt_tokens = -1;
	out->completion_tokens = -1;
	out->finish_reason[0] = '\0';
	ctx_init(&cx, source, out->detail, sizeof(out->detail), NULL);

	if (source != AIGOV_API_OPENAI && source != AIGOV_API_ANTHROPIC &&
		source != AIGOV_API_GEMINI)
	{
		fail(&cx, AIGOV_TRANSLATE_UNSUPPORTED, "unknown source api style %d",
			 (int) source);
		goto done;
	}
	in = load_object(&cx, provider_body, len, "reply");
	if (in == NULL)
		goto done;
	if (!check_error_envelope(&cx, in))
		goto done;

	switch (source)
	{
		case AIGOV_API_OPENAI:
			normalise_openai(&cx, in, provider_body, len, out);
			break;
		case AIGOV_API_ANTHROPIC:
			normalise_anthropic(&cx, in, model, out);
			break;
		case AIGOV_API_GEMINI:
			normalise_gemini(&cx, in, model, out);
			break;
		default:
			break;
	}

done:
	json_decref(in);
	if (cx.status == AIGOV_TRANSLATE_OK)
		snprintf(out->detail, sizeof(out->detail), "%s", cx.notes);
	else
	{
		free(out->body);
		out->body = NULL;
		out->prompt_tokens = -1;
		out->completion_tokens = -1;
		out->finish_reason[0] = '\0';
	}
	sanitise_text(out->detail);
	sanitise_text(out->finish_reason);
	return cx.status;
}

void
aigov_translate_response_free(AigovNormalisedResponse *r)
{
	if (r == NULL)
		return;
	free(r->body);
	r->body = NULL;
}
