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
 * \u and \x escapes, named groups, and non-ASCII characters inside
 * brackets.  Like ECMA-262, "." matches anything but a line break, and a
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

AigovSchemaStatus
aigov_schema_pattern_translate(const char *p, char *ere, size_t erelen,
							   char *why, size_t whylen)
{
	Out			o = {ere, 0, erelen, false};

	ere[0] = '\0';
	why[0] = '\0';
	for (; *p != '\0'; p++)
	{
		char		lit[3];
		const char *e;
		AigovSchemaStatus st;

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
				break;
			case '.':
				put(&o, "[^\n\r]");
				break;
			case '[':
				if ((st = bracket(&p, &o, why, whylen)) != AIGOV_SCHEMA_OK)
					return st;
				break;
			case '(':
				if (p[1] == '?' && p[2] == ':')
					p += 2;
				else if (p[1] == '?')
				{
					snprintf(why, whylen, "uses a lookaround or named group, which is not supported");
					return AIGOV_SCHEMA_UNSUPPORTED;
				}
				putc1(&o, '(');
				break;
			case '*':
			case '+':
			case '?':
			case '}':
				putc1(&o, *p);
				if (p[1] == '?')
					p++;		/* lazy: the same matches exist */
				break;
			default:
				putc1(&o, *p);
				break;
		}
	}
	if (o.full)
	{
		snprintf(why, whylen, "is too long");
		return AIGOV_SCHEMA_TOO_LARGE;
	}
	return AIGOV_SCHEMA_OK;
}
