/*-------------------------------------------------------------------------
 * json_scan.c
 *	  A validating JSON scanner that builds no tree, in pure C.
 *
 * Recursive descent over RFC 8259 with the rules jansson adds when
 * aigov_protocol_json_parse() calls it: the top level is an object or an
 * array, strings are valid UTF-8 without U+0000, surrogate escapes come in
 * pairs, no object repeats a key.  Where jansson's verdict depends on
 * something this file does not model (escaped keys, integers beyond 18
 * digits, reals near the limits of a double, nesting past MAX_DEPTH, more
 * keys open at once than MAX_KEYS) the scan gives up and returns false:
 * it may send a valid text to jansson, never pass one jansson refuses.
 * test/unit/test_json_scan.c checks that against jansson itself.
 *
 * IDENTIFICATION
 *	  src/json_scan.c
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "json_scan.h"

#define MAX_DEPTH 64
#define MAX_KEYS 256			/* keys of all the objects open at once */
#define MAX_INTEGER_DIGITS 18	/* always within int64_t */
#define MAX_DECIMAL_EXPONENT 300	/* a double holds about 1e308 */

typedef uint32_t MemberMask;

typedef struct KeySpan
{
	const unsigned char *start;
	size_t		len;
} KeySpan;

typedef struct Scanner
{
	const unsigned char *p;
	const unsigned char *end;
	AigovJsonMember *members;
	int			nmembers;
	int			depth;
	int			nkeys;
	KeySpan		keys[MAX_KEYS];
} Scanner;

static bool scan_value(Scanner *s, MemberMask mask, int level);

static void
skip_whitespace(Scanner *s)
{
	while (s->p < s->end &&
		   (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static const char *
path_key(const AigovJsonMember *m, int level)
{
	return level < AIGOV_JSON_SCAN_MAX_PATH ? m->path[level] : NULL;
}

/* Record the value at this level for the members whose path ends here. */
static void
note_value(Scanner *s, MemberMask mask, int level, AigovJsonType type,
		   int64_t integer)
{
	for (int i = 0; mask != 0 && i < s->nmembers; i++)
	{
		if ((mask & ((MemberMask) 1 << i)) && path_key(&s->members[i], level) == NULL)
		{
			s->members[i].type = type;
			s->members[i].integer = integer;
		}
	}
}

static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Reads the four hex digits of a \u escape at s->p; -1 if they are not. */
static long
read_hex4(Scanner *s)
{
	long		code = 0;

	if (s->end - s->p < 4)
		return -1;
	for (int i = 0; i < 4; i++)
	{
		int			h = hex_value(s->p[i]);

		if (h < 0)
			return -1;
		code = code * 16 + h;
	}
	s->p += 4;
	return code;
}

/* One escape after the backslash; false if jansson would refuse it. */
static bool
scan_escape(Scanner *s)
{
	long		code;

	if (s->p >= s->end)
		return false;
	switch (*s->p++)
	{
		case '"':
		case '\\':
		case '/':
		case 'b':
		case 'f':
		case 'n':
		case 'r':
		case 't':
			return true;
		case 'u':
			break;
		default:
			return false;
	}
	code = read_hex4(s);
	if (code <= 0)				/* invalid, or U+0000 */
		return false;
	if (code >= 0xDC00 && code <= 0xDFFF)
		return false;			/* a low surrogate first */
	if (code >= 0xD800 && code <= 0xDBFF)
	{
		if (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u')
			return false;
		s->p += 2;
		code = read_hex4(s);
		if (code < 0xDC00 || code > 0xDFFF)
			return false;
	}
	return true;
}

/*
 * One UTF-8 sequence of two or more bytes at s->p: the shortest form of a
 * scalar value (no surrogates, nothing beyond U+10FFFF).
 */
static bool
scan_utf8(Scanner *s)
{
	unsigned char c = *s->p;
	unsigned char lo = 0x80;
	unsigned char hi = 0xBF;
	int			more;

	if (c >= 0xC2 && c <= 0xDF)
		more = 1;
	else if (c >= 0xE0 && c <= 0xEF)
	{
		more = 2;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	}
	else if (c >= 0xF0 && c <= 0xF4)
	{
		more = 3;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	}
	else
		return false;
	if (s->end - s->p <= more)
		return false;
	if (s->p[1] < lo || s->p[1] > hi)
		return false;
	for (int i = 2; i <= more; i++)
		if (s->p[i] < 0x80 || s->p[i] > 0xBF)
			return false;
	s->p += more + 1;
	return true;
}

/*
 * A string at s->p (on its opening quote).  Its raw bytes, quotes
 * excluded, go to *span; *escaped tells whether it holds escapes.
 */
static bool
scan_string(Scanner *s, KeySpan *span, bool *escaped)
{
	s->p++;
	span->start = s->p;
	*escaped = false;
	while (s->p < s->end)
	{
		unsigned char c = *s->p;

		if (c == '"')
		{
			span->len = (size_t) (s->p - span->start);
			s->p++;
			return true;
		}
		if (c == '\\')
		{
			s->p++;
			*escaped = true;
			if (!scan_escape(s))
				return false;
		}
		else if (c < 0x20)
			return false;
		else if (c < 0x80)
			s->p++;
		else if (!scan_utf8(s))
			return false;
	}
	return false;
}

static bool
is_digit(Scanner *s)
{
	return s->p < s->end && *s->p >= '0' && *s->p <= '9';
}

/* A number at s->p; *type and *integer say what it is. */
static bool
scan_number(Scanner *s, AigovJsonType *type, int64_t *integer)
{
	bool		negative = false;
	int			digits = 0;		/* of the integer part, leading zero not
								 * counted */
	int64_t		value = 0;
	bool		real = false;

	if (*s->p == '-')
	{
		negative = true;
		s->p++;
	}
	if (!is_digit(s))
		return false;
	if (*s->p == '0')
		s->p++;
	else
	{
		while (is_digit(s))
		{
			if (++digits <= MAX_INTEGER_DIGITS)
				value = value * 10 + (*s->p - '0');
			s->p++;
		}
	}
	if (s->p < s->end && *s->p == '.')
	{
		s->p++;
		if (!is_digit(s))
			return false;
		while (is_digit(s))
			s->p++;
		real = true;
	}
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E'))
	{
		bool		exp_negative = false;
		int			exponent = 0;

		s->p++;
		if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
			exp_negative = (*s->p++ == '-');
		if (!is_digit(s))
			return false;
		while (is_digit(s))
		{
			if (exponent <= MAX_DECIMAL_EXPONENT * 10)
				exponent = exponent * 10 + (*s->p - '0');
			s->p++;
		}
		/* overflow is jansson's error; underflow too near to call */
		if (digits + (exp_negative ? -exponent : exponent) > MAX_DECIMAL_EXPONENT ||
			(exp_negative && exponent > MAX_DECIMAL_EXPONENT))
			return false;
		real = true;
	}
	if (real)
	{
		if (digits > MAX_DECIMAL_EXPONENT)
			return false;
		*type = AIGOV_JSON_REAL;
		*integer = 0;
		return true;
	}
	if (digits > MAX_INTEGER_DIGITS)
		return false;
	*type = AIGOV_JSON_INTEGER;
	*integer = negative ? -value : value;
	return true;
}

static bool
scan_literal(Scanner *s, const char *word)
{
	size_t		n = strlen(word);

	if ((size_t) (s->end - s->p) < n || memcmp(s->p, word, n) != 0)
		return false;
	s->p += n;
	return true;
}

typedef enum Separator
{
	SEP_BAD,					/* neither: not JSON */
	SEP_NEXT,					/* a comma, consumed */
	SEP_CLOSE					/* the container's closing bracket, consumed */
} Separator;

/* What follows a member or an element (after optional whitespace). */
static Separator
after_item(Scanner *s, unsigned char close)
{
	skip_whitespace(s);
	if (s->p >= s->end)
		return SEP_BAD;
	if (*s->p == close)
	{
		s->p++;
		return SEP_CLOSE;
	}
	if (*s->p != ',')
		return SEP_BAD;
	s->p++;
	return SEP_NEXT;
}

/* The members of mask whose path continues with this key. */
static MemberMask
members_below(Scanner *s, MemberMask mask, int level, const KeySpan *key)
{
	MemberMask	below = 0;

	for (int i = 0; mask != 0 && i < s->nmembers; i++)
	{
		const char *k;

		if (!(mask & ((MemberMask) 1 << i)))
			continue;
		k = path_key(&s->members[i], level);
		if (k != NULL && strlen(k) == key->len && memcmp(k, key->start, key->len) == 0)
			below |= (MemberMask) 1 << i;
	}
	return below;
}

static bool
scan_object(Scanner *s, MemberMask mask, int level)
{
	int			first_key = s->nkeys;

	s->p++;
	skip_whitespace(s);
	if (s->p < s->end && *s->p == '}')
	{
		s->p++;
		return true;
	}
	for (;;)
	{
		KeySpan		key;
		bool		escaped;

		if (s->p >= s->end || *s->p != '"' || !scan_string(s, &key, &escaped) || escaped)
			return false;
		for (int i = first_key; i < s->nkeys; i++)
			if (s->keys[i].len == key.len &&
				memcmp(s->keys[i].start, key.start, key.len) == 0)
				return false;	/* a repeated key */
		if (s->nkeys == MAX_KEYS)
			return false;
		s->keys[s->nkeys++] = key;

		skip_whitespace(s);
		if (s->p >= s->end || *s->p != ':')
			return false;
		s->p++;
		if (!scan_value(s, members_below(s, mask, level, &key), level + 1))
			return false;
		switch (after_item(s, '}'))
		{
			case SEP_BAD:
				return false;
			case SEP_CLOSE:
				s->nkeys = first_key;
				return true;
			case SEP_NEXT:
				skip_whitespace(s);
				break;
		}
	}
}

static bool
scan_array(Scanner *s)
{
	s->p++;
	skip_whitespace(s);
	if (s->p < s->end && *s->p == ']')
	{
		s->p++;
		return true;
	}
	for (;;)
	{
		/* paths run through objects only: no member lies in an array */
		if (!scan_value(s, 0, 0))
			return false;
		switch (after_item(s, ']'))
		{
			case SEP_BAD:
				return false;
			case SEP_CLOSE:
				return true;
			case SEP_NEXT:
				break;
		}
	}
}

/*
 * One value (after optional whitespace).  mask holds the members whose
 * path led here, level how many keys that took.
 */
static bool
scan_value(Scanner *s, MemberMask mask, int level)
{
	AigovJsonType type;
	int64_t		integer = 0;
	bool		ok;

	skip_whitespace(s);
	if (s->p >= s->end)
		return false;
	switch (*s->p)
	{
		case '{':
		case '[':
			if (++s->depth > MAX_DEPTH)
				return false;
			if (*s->p == '{')
			{
				type = AIGOV_JSON_OBJECT;
				ok = scan_object(s, mask, level);
			}
			else
			{
				type = AIGOV_JSON_ARRAY;
				ok = scan_array(s);
			}
			s->depth--;
			break;
		case '"':
			{
				KeySpan		span;
				bool		escaped;

				type = AIGOV_JSON_STRING;
				ok = scan_string(s, &span, &escaped);
				break;
			}
		case 't':
			type = AIGOV_JSON_TRUE;
			ok = scan_literal(s, "true");
			break;
		case 'f':
			type = AIGOV_JSON_FALSE;
			ok = scan_literal(s, "false");
			break;
		case 'n':
			type = AIGOV_JSON_NULL;
			ok = scan_literal(s, "null");
			break;
		default:
			ok = scan_number(s, &type, &integer);
			break;
	}
	if (ok)
		note_value(s, mask, level, type, integer);
	return ok;
}

bool
aigov_json_scan(const char *text, size_t len, AigovJsonMember *members,
				int nmembers)
{
	Scanner		s;

	if (text == NULL || nmembers < 0 || nmembers > AIGOV_JSON_SCAN_MAX_MEMBERS)
		return false;
	s.p = (const unsigned char *) text;
	s.end = s.p + len;
	s.members = members;
	s.nmembers = nmembers;
	s.depth = 0;
	s.nkeys = 0;
	for (int i = 0; i < nmembers; i++)
	{
		members[i].type = AIGOV_JSON_ABSENT;
		members[i].integer = 0;
	}

	skip_whitespace(&s);
	if (s.p >= s.end || (*s.p != '{' && *s.p != '['))
		return false;
	if (!scan_value(&s, nmembers > 0 ? (MemberMask) ((1ULL << nmembers) - 1) : 0, 0))
		return false;
	skip_whitespace(&s);
	return s.p == s.end;
}
