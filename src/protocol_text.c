/*-------------------------------------------------------------------------
 * protocol_text.c
 *	  Text and JSON helpers the protocol_*.c files share: case-insensitive
 *	  matching, the cleaned and redacted message of a classification, hints
 *	  written in prose, and jansson accessors.
 *
 * Provider error messages end up in aigov.requests and in logs, so every
 * message copied out of a reply goes through copy_clean(): truncated,
 * control characters blanked, and anything that looks like an API key
 * redacted.  Only the JSON helpers allocate (inside jansson); their
 * callers release the result before returning.
 *
 * IDENTIFICATION
 *	  src/protocol_text.c
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "protocol_int.h"

/* ---------------------------------------------------------------- text */

/*
 * Case-insensitive comparison of a byte range with a NUL-terminated
 * lower-case literal.
 */
bool
aigov_protocol_ci_equal(const char *a, size_t alen, const char *lit)
{
	size_t		n = strlen(lit);

	if (alen != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower_ascii(a[i]) != lower_ascii(lit[i]))
			return false;
	return true;
}

/*
 * Case-insensitive search of a NUL-terminated needle in a byte range.
 * Naive on purpose: needles are short and haystacks are error messages.
 */
const char *
aigov_protocol_memcasestr(const char *hay, size_t hlen, const char *needle)
{
	size_t		n = strlen(needle);

	if (hay == NULL || n > hlen)
		return NULL;
	for (size_t i = 0; i + n <= hlen; i++)
	{
		size_t		j = 0;

		while (j < n && lower_ascii(hay[i + j]) == lower_ascii(needle[j]))
			j++;
		if (j == n)
			return hay + i;
	}
	return NULL;
}

/* NULL-tolerant case-insensitive "s contains needle" for JSON strings. */
bool
aigov_protocol_contains(const char *s, const char *needle)
{
	return s != NULL &&
		aigov_protocol_memcasestr(s, strlen(s), needle) != NULL;
}

/* ------------------------------------------------------- text for output */

static bool
is_key_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c == '-' || c == '_' || c == '*';
}

/*
 * Does src[i..len) start something that looks like a credential?  OpenAI
 * echoes a masked key in its 401 message ("Incorrect API key provided:
 * sk-proj-****abcd"); Anthropic keys start "sk-ant-", Google keys "AIza".
 * Returns the length of the token to drop, or 0.
 */
static size_t
key_like_token(const char *src, size_t len, size_t i)
{
	size_t		j;

	if (i > 0 && is_key_char((unsigned char) src[i - 1]))
		return 0;				/* not at a token start */
	if (!(len - i >= 3 && src[i] == 's' && src[i + 1] == 'k' &&
		  (src[i + 2] == '-' || src[i + 2] == '_')) &&
		!(len - i >= 4 && memcmp(src + i, "AIza", 4) == 0))
		return 0;
	for (j = i; j < len && is_key_char((unsigned char) src[j]); j++)
		;
	/* "sk-" followed by a short word is prose, not a key */
	return (j - i >= 8) ? j - i : 0;
}

/*
 * Copy src into dst (capacity cap, always NUL-terminated) as valid UTF-8:
 * control characters become spaces, invalid bytes '?', key-like tokens
 * "[redacted]" when redact is set.  Stops before a character that does
 * not fit, never splitting a multi-byte sequence.
 */
static void
copy_clean(char *dst, size_t cap, const char *src, size_t len, bool redact)
{
	size_t		o = 0;
	size_t		i = 0;

	if (cap == 0)
		return;
	while (i < len)
	{
		unsigned char c = (unsigned char) src[i];
		size_t		n = 1;
		size_t		skip;

		if (redact && (skip = key_like_token(src, len, i)) > 0)
		{
			static const char red[] = "[redacted]";

			if (o + sizeof(red) - 1 > cap - 1)
				break;
			memcpy(dst + o, red, sizeof(red) - 1);
			o += sizeof(red) - 1;
			i += skip;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			n = 2;
		else if (c >= 0xE0 && c <= 0xEF)
			n = 3;
		else if (c >= 0xF0 && c <= 0xF4)
			n = 4;
		if (n > 1)
		{
			bool		ok = (i + n <= len);

			for (size_t k = 1; ok && k < n; k++)
				ok = ((unsigned char) src[i + k] & 0xC0) == 0x80;
			/* reject overlongs and surrogates that the loop lets through */
			if (ok && n == 3)
				ok = !(c == 0xE0 && (unsigned char) src[i + 1] < 0xA0) &&
					!(c == 0xED && (unsigned char) src[i + 1] >= 0xA0);
			if (ok && n == 4)
				ok = !(c == 0xF0 && (unsigned char) src[i + 1] < 0x90) &&
					!(c == 0xF4 && (unsigned char) src[i + 1] >= 0x90);
			if (!ok)
				n = 1, c = '?';
		}
		else if (c >= 0x80)
			c = '?';
		else if (c < 0x20 || c == 0x7F)
			c = ' ';
		if (o + n > cap - 1)
			break;
		if (n == 1)
			dst[o] = (char) c;
		else
			memcpy(dst + o, src + i, n);
		o += n;
		i += n;
	}
	dst[o] = '\0';
}

/* Set out->message from a provider message (see copy_clean). */
void
aigov_protocol_set_message(AigovClassification *out, const char *msg,
						   size_t len)
{
	if (msg != NULL)
		copy_clean(out->message, sizeof(out->message), msg, len, true);
}

/* Set out->code from a provider code, type or quota id. */
void
aigov_protocol_set_code(AigovClassification *out, const char *code)
{
	if (code != NULL)
		copy_clean(out->code, sizeof(out->code), code, strlen(code), true);
}

/*
 * Find marker (case-insensitive) in a NUL-terminated message and parse
 * the Go-style duration right after it ("try again in 1.146s." ->
 * 1146000).  A sentence's closing period is not part of the duration.
 * Returns microseconds or -1.
 */
int64_t
aigov_protocol_duration_after(const char *text, const char *marker)
{
	const char *p;
	size_t		n = 0;

	if (text == NULL)
		return -1;
	p = aigov_protocol_memcasestr(text, strlen(text), marker);
	if (p == NULL)
		return -1;
	p += strlen(marker);
	while (*p == ' ')
		p++;
	while (p[n] != '\0' &&
		   (is_digit(p[n]) || p[n] == '.' ||
			(p[n] >= 'a' && p[n] <= 'z') ||
			(unsigned char) p[n] == 0xC2 || (unsigned char) p[n] == 0xB5 ||
			(unsigned char) p[n] == 0xCE || (unsigned char) p[n] == 0xBC))
		n++;
	while (n > 0 && p[n - 1] == '.')
		n--;
	return aigov_protocol_parse_go_duration(p, n);
}

/*
 * Find marker in a NUL-terminated message and parse the decimal number of
 * seconds after it ("retry after 6 seconds" -> 6000000).  Returns
 * microseconds or -1.
 */
int64_t
aigov_protocol_seconds_after(const char *text, const char *marker)
{
	const char *p;
	size_t		n = 0;

	if (text == NULL)
		return -1;
	p = aigov_protocol_memcasestr(text, strlen(text), marker);
	if (p == NULL)
		return -1;
	p += strlen(marker);
	while (*p == ' ')
		p++;
	while (is_digit(p[n]) || p[n] == '.')
		n++;
	while (n > 0 && p[n - 1] == '.')
		n--;
	return aigov_protocol_parse_decimal(p, n, AIGOV_USECS_PER_SEC);
}

/*
 * Message for a body that is not JSON (an HTML error page from a proxy,
 * an internal admin page behind a wrong base_url): none of its bytes are
 * kept, since whatever answered may not be the provider and its page may
 * hold what the tenant must not read.  The message says only that and the
 * body's size; the HTTP status and the class tell the rest.
 */
void
aigov_protocol_set_not_json(AigovClassification *out, size_t len)
{
	if (len == 0)
		snprintf(out->message, sizeof(out->message),
				 "the provider's reply has no body");
	else
		snprintf(out->message, sizeof(out->message),
				 "the provider's reply is not JSON (%zu bytes, not stored)",
				 len);
	if (out->code[0] == '\0')
		aigov_protocol_set_code(out, "not_json");
}

/* ---------------------------------------------------------------- JSON */

/*
 * Parse a byte range as a JSON object or array.  Returns a new reference
 * the caller must json_decref(), or NULL if the bytes are not JSON.
 */
struct json_t *
aigov_protocol_json_parse(const char *s, size_t len)
{
	json_error_t err;

	if (s == NULL || len == 0)
		return NULL;
	return json_loadb(s, len, JSON_REJECT_DUPLICATES, &err);
}

/* obj[key] if obj is an object and the member a string, else NULL. */
const char *
aigov_protocol_json_str(struct json_t *obj, const char *key)
{
	return json_is_object(obj) ?
		json_string_value(json_object_get(obj, key)) : NULL;
}

/*
 * Copy obj[key] into buf when it is a string or an integer (providers
 * disagree: OpenAI "rate_limit_exceeded", Azure "429", Gemini 429).
 */
bool
aigov_protocol_json_code(struct json_t *obj, const char *key, char *buf,
						 size_t buflen)
{
	json_t	   *v;

	if (!json_is_object(obj) || buflen == 0)
		return false;
	v = json_object_get(obj, key);
	if (json_is_string(v))
		copy_clean(buf, buflen, json_string_value(v), json_string_length(v),
				   true);
	else if (json_is_integer(v))
		snprintf(buf, buflen, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else
		return false;
	return buf[0] != '\0';
}

/* obj[key] as a non-negative integer. */
bool
aigov_protocol_json_int(struct json_t *obj, const char *key, int64_t *out)
{
	json_t	   *v;

	if (!json_is_object(obj))
		return false;
	v = json_object_get(obj, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*out = (int64_t) json_integer_value(v);
	return true;
}
