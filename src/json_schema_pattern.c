/*-------------------------------------------------------------------------
 * json_schema_pattern.c
 *	  The subset of ECMA-262 regular expressions that JSON Schema patterns
 *	  may use here, translated to POSIX extended expressions for regcomp().
 *
 * Supported: literals, ".", "^", "$", "|", groups "(...)" and "(?:...)",
 * the quantifiers "*", "+", "?", "{n}", "{n,}", "{n,m}" (a lazy "?" after
 * one is dropped: whether a match exists does not depend on it), bracket
 * expressions with ranges and negation, the classes \d \D \w \W \s \S
 * (\d \w \s also inside brackets), \t \n \r \f \v and escaped punctuation.
 * Refused as unsupported: lookaround, back-references, \b \B, \p{...},
 * \u and \x escapes, named groups, non-ASCII characters inside brackets,
 * and what could make regcomp() build an automaton of exponential size:
 * counted repetition of a group, bounds over AIGOV_SCHEMA_MAX_REPEAT, and
 * groups nested over AIGOV_SCHEMA_MAX_GROUPS deep (a quantifier after a
 * quantifier is an ECMA-262 syntax error, and refused as such).  Like ECMA-262, "." matches anything but a line break, and a
 * pattern matches anywhere in the string unless anchored.
 *
 * IDENTIFICATION
 *	  src/json_schema_pattern.c
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "json_schema_int.h"

typedef struct Out
{
	char	   *buf;
	size_t		len;
	size_t		cap;
	bool		full;
} Out;

static void
put(Out *o, const char *s)
{
	size_t		n = strlen(s);

	if (o->len + n + 1 > o->cap)
	{
		o->full = true;
		return;
	}
	memcpy(o->buf + o->len, s, n + 1);
	o->len += n;
}

static void
putc1(Out *o, char ch)
{
	char		s[2] = {ch, '\0'};

	put(o, s);
}

/* The ERE for an escape outside brackets; NULL if unsupported. */
static const char *
escape_outside(char e, char lit[3])
{
	switch (e)
	{
		case 'd':
			return "[0-9]";
		case 'D':
			return "[^0-9]";
		case 'w':
			return "[A-Za-z0-9_]";
		case 'W':
			return "[^A-Za-z0-9_]";
		case 's':
			return "[[:space:]]";
		case 'S':
			return "[^[:space:]]";
		case 't':
			return "\t";
		case 'n':
			return "\n";
		case 'r':
			return "\r";
		case 'f':
			return "\f";
		case 'v':
			return "\v";
	}
	if (e != '\0' && strchr(".^$|?*+()[]{}\\", e) != NULL)
	{
		lit[0] = '\\';
		lit[1] = e;
		lit[2] = '\0';
		return lit;
	}
	if (e != '\0' && strchr("/-,:=!<>'\"#&%@~`;", e) != NULL)
	{
		lit[0] = e;
		lit[1] = '\0';
		return lit;
	}
	return NULL;
}

/* A bracket expression, from '[' to its ']', which *pp is left on. */
static AigovSchemaStatus
bracket(const char **pp, Out *o, char *why, size_t whylen)
{
	const char *p = *pp + 1;	/* after '[' */
	bool		neg = false;
	bool		close = false,
				dash = false,
				caret = false;
	Out			body = {0};
	char		items[512];

	items[0] = '\0';
	body.buf = items;
	body.cap = sizeof(items);
	if (*p == '^')
	{
		neg = true;
		p++;
	}
	if (*p == ']')
	{
		snprintf(why, whylen, "uses an empty bracket expression");
		return AIGOV_SCHEMA_UNSUPPORTED;
	}
	for (; *p != ']'; p++)
	{
		char		ch = *p;

		if (ch == '\0')
		{
			snprintf(why, whylen, "has an unterminated bracket expression");
			return AIGOV_SCHEMA_MALFORMED;
		}
		if ((unsigned char) ch >= 0x80)
		{
			snprintf(why, whylen, "has a non-ASCII character in a bracket expression");
			return AIGOV_SCHEMA_UNSUPPORTED;
		}
		if (ch == '\\')
		{
			char		e = *++p;

			if (e == 'd' || e == 'w' || e == 's')
			{
				put(&body, e == 'd' ? "0-9" : e == 'w' ? "A-Za-z0-9_" : "[:space:]");
				continue;
			}
			if (e == 't' || e == 'n' || e == 'r' || e == 'f' || e == 'v')
				ch = e == 't' ? '\t' : e == 'n' ? '\n' : e == 'r' ? '\r' :
					e == 'f' ? '\f' : '\v';
			else if (e != '\0' && strchr(".^$|?*+()[]{}\\/-,:", e) != NULL)
				ch = e;
			else
			{
				snprintf(why, whylen, "uses the escape \\%c in a bracket expression", e);
				return AIGOV_SCHEMA_UNSUPPORTED;
			}
		}
		else if (p[1] == '-' && p[2] != ']' && p[2] != '\0')
		{
			/* a range of two plain characters */
			if (strchr("[]\\^-", p[2]) != NULL || strchr("[^-", ch) != NULL ||
				(unsigned char) p[2] >= 0x80)
			{
				snprintf(why, whylen, "uses a range this validator does not support");
				return AIGOV_SCHEMA_UNSUPPORTED;
			}
			putc1(&body, ch);
			putc1(&body, '-');
			putc1(&body, p[2]);
			p += 2;
			continue;
		}
		if (ch == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '='))
		{
			snprintf(why, whylen, "uses a POSIX class inside a bracket expression");
			return AIGOV_SCHEMA_UNSUPPORTED;
		}
		if (ch == ']')
			close = true;
		else if (ch == '-')
			dash = true;
		else if (ch == '^')
			caret = true;
		else
			putc1(&body, ch);
	}
	*pp = p;
	if (!neg && !close && !dash && body.len == 0)
	{
		put(o, "\\^");			/* a bracket of just a caret */
		return AIGOV_SCHEMA_OK;
	}
	put(o, neg ? "[^" : "[");
	if (close)
		putc1(o, ']');
	put(o, items);
	if (caret)
		putc1(o, '^');
	if (dash)
		putc1(o, '-');
	putc1(o, ']');
	if (body.full)
		o->full = true;
	return AIGOV_SCHEMA_OK;
}

/* What came last, for the quantifier rules. */
typedef enum Prev
{
	PREV_NOTHING,				/* start, "(" or "|": nothing to repeat */
	PREV_ATOM,					/* a character, class, bracket or "." */
	PREV_GROUP,					/* a ")" */
	PREV_QUANT					/* a quantifier */
} Prev;

static AigovSchemaStatus
refuse(AigovSchemaStatus st, char *why, size_t whylen, const char *text)
{
	snprintf(why, whylen, "%s", text);
	return st;
}

/*
 * A "{n}", "{n,}" or "{n,m}" at p: its length, or 0 if it is not one (then
 * the brace is a literal, as ECMA-262 reads it).  *max gets its largest
 * bound.
 */
static size_t
counted(const char *p, long *max)
{
	const char *q = p + 1;
	long		lo = 0,
				hi = -1;

	if (*q < '0' || *q > '9')
		return 0;
	for (; *q >= '0' && *q <= '9'; q++)
		lo = lo < 100000 ? lo * 10 + (*q - '0') : lo;
	if (*q == ',')
	{
		q++;
		if (*q >= '0' && *q <= '9')
			for (hi = 0; *q >= '0' && *q <= '9'; q++)
				hi = hi < 100000 ? hi * 10 + (*q - '0') : hi;
	}
	else
		hi = lo;
	if (*q != '}')
		return 0;
	*max = hi > lo ? hi : lo;
	return (size_t) (q - p) + 1;
}

/*
 * aigov_schema_pattern_translate
 *		Translates an ECMA-262 pattern of the supported subset into a POSIX
 *		extended expression (ere, erelen bytes).  On refusal, why says what
 *		is wrong, as the end of a sentence starting with the pattern.
 *		Repetition is bounded so that regcomp() stays small: no quantifier
 *		after a quantifier, counted repetition ("{n,m}", bounds up to
 *		AIGOV_SCHEMA_MAX_REPEAT) of single atoms only, and groups nested at
 *		most AIGOV_SCHEMA_MAX_GROUPS deep.
 */
AigovSchemaStatus
aigov_schema_pattern_translate(const char *p, char *ere, size_t erelen,
							   char *why, size_t whylen)
{
	Out			o = {ere, 0, erelen, false};
	Prev		prev = PREV_NOTHING;
	int			depth = 0;

	ere[0] = '\0';
	why[0] = '\0';
	for (; *p != '\0'; p++)
	{
		char		lit[3];
		const char *e;
		AigovSchemaStatus st;
		size_t		n = 0;
		long		max = 0;

		switch (*p)
		{
			case '\\':
				if ((e = escape_outside(p[1], lit)) == NULL)
				{
					snprintf(why, whylen, "uses the escape \\%c, which is not supported",
							 p[1] ? p[1] : ' ');
					return AIGOV_SCHEMA_UNSUPPORTED;
				}
				put(&o, e);
				p++;
				prev = PREV_ATOM;
				break;
			case '.':
				put(&o, "[^\n\r]");
				prev = PREV_ATOM;
				break;
			case '[':
				if ((st = bracket(&p, &o, why, whylen)) != AIGOV_SCHEMA_OK)
					return st;
				prev = PREV_ATOM;
				break;
			case '(':
				if (p[1] == '?' && p[2] == ':')
					p += 2;
				else if (p[1] == '?')
					return refuse(AIGOV_SCHEMA_UNSUPPORTED, why, whylen,
								  "uses a lookaround or named group, which is not supported");
				if (++depth > AIGOV_SCHEMA_MAX_GROUPS)
					return refuse(AIGOV_SCHEMA_UNSUPPORTED, why, whylen,
								  "nests groups too deep");
				putc1(&o, '(');
				prev = PREV_NOTHING;
				break;
			case ')':
				if (--depth < 0)
					return refuse(AIGOV_SCHEMA_MALFORMED, why, whylen,
								  "has an unmatched \")\"");
				putc1(&o, ')');
				prev = PREV_GROUP;
				break;
			case '|':
				putc1(&o, '|');
				prev = PREV_NOTHING;
				break;
			case '^':
			case '$':
				putc1(&o, *p);
				prev = PREV_NOTHING;
				break;
			case '{':
				if ((n = counted(p, &max)) == 0)
				{
					put(&o, "\\{"); /* a literal brace */
					prev = PREV_ATOM;
					break;
				}
				if (prev == PREV_GROUP)
					return refuse(AIGOV_SCHEMA_UNSUPPORTED, why, whylen,
								  "repeats a group a counted number of times, which is not supported");
				if (max > AIGOV_SCHEMA_MAX_REPEAT)
					return refuse(AIGOV_SCHEMA_UNSUPPORTED, why, whylen,
								  "repeats more times than this validator supports");
				/* FALLTHROUGH */
			case '*':
			case '+':
			case '?':
				if (prev != PREV_ATOM && prev != PREV_GROUP)
					return refuse(AIGOV_SCHEMA_MALFORMED, why, whylen,
								  "has a quantifier with nothing to repeat");
				if (*p == '{')
				{
					for (size_t i = 0; i < n; i++)
						putc1(&o, p[i]);
					p += n - 1;
				}
				else
					putc1(&o, *p);
				if (p[1] == '?')
					p++;		/* lazy: the same matches exist */
				prev = PREV_QUANT;
				break;
			default:
				putc1(&o, *p);
				prev = PREV_ATOM;
				break;
		}
	}
	if (depth != 0)
		return refuse(AIGOV_SCHEMA_MALFORMED, why, whylen, "has an unmatched \"(\"");
	if (o.full)
		return refuse(AIGOV_SCHEMA_TOO_LARGE, why, whylen, "is too long");
	return AIGOV_SCHEMA_OK;
}
