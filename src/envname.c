/*-------------------------------------------------------------------------
 * envname.c
 *	  Which environment variables an "env:NAME" secret may name.
 *
 * aigov.secret_env_names is a list of patterns separated by commas or
 * spaces; a pattern is a variable name in which "*" stands for any run of
 * characters, empty included.  Matching is case-sensitive, as variable
 * names are.  An empty list allows no name at all.
 *
 * IDENTIFICATION
 *	  src/envname.c
 *-------------------------------------------------------------------------
 */
#include "envname.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* A letter, digit or underscore: what a portable variable name holds. */
static bool
name_char(char c)
{
	return isalnum((unsigned char) c) || c == '_';
}

/*
 * aigov_env_name_valid
 *		True if name is a portable environment variable name: letters,
 *		digits and underscores, not starting with a digit, at most
 *		AIGOV_ENV_NAME_MAX bytes.
 */
bool
aigov_env_name_valid(const char *name)
{
	size_t		len = strlen(name);

	if (len == 0 || len > AIGOV_ENV_NAME_MAX || isdigit((unsigned char) name[0]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!name_char(name[i]))
			return false;
	return true;
}

/* True if name[0..nlen) matches pattern[0..plen), "*" matching any run. */
static bool
glob_match(const char *pat, size_t plen, const char *name, size_t nlen)
{
	size_t		p = 0,
				n = 0;
	size_t		star = (size_t) -1,
				mark = 0;

	while (n < nlen)
	{
		if (p < plen && pat[p] == '*')
		{
			star = p++;
			mark = n;
		}
		else if (p < plen && pat[p] == name[n])
		{
			p++;
			n++;
		}
		else if (star != (size_t) -1)
		{
			p = star + 1;
			n = ++mark;
		}
		else
			return false;
	}
	while (p < plen && pat[p] == '*')
		p++;
	return p == plen;
}

/* The next pattern of the list: its start and length; false at the end. */
static bool
next_pattern(const char **cursor, const char **start, size_t *len)
{
	const char *p = *cursor;

	while (*p == ',' || isspace((unsigned char) *p))
		p++;
	if (*p == '\0')
	{
		*cursor = p;
		return false;
	}
	*start = p;
	while (*p != '\0' && *p != ',' && !isspace((unsigned char) *p))
		p++;
	*len = (size_t) (p - *start);
	*cursor = p;
	return true;
}

/*
 * aigov_env_patterns_valid
 *		True if every pattern is made of name characters and "*"; else
 *		false with a sentence in err.
 */
bool
aigov_env_patterns_valid(const char *patterns, char *err, size_t errlen)
{
	const char *cursor = patterns != NULL ? patterns : "";
	const char *start;
	size_t		len;

	while (next_pattern(&cursor, &start, &len))
	{
		for (size_t i = 0; i < len; i++)
		{
			if (!name_char(start[i]) && start[i] != '*')
			{
				snprintf(err, errlen,
						 "pattern \"%.*s\" has a character other than letters, digits, \"_\" and \"*\"",
						 (int) (len > 64 ? 64 : len), start);
				return false;
			}
		}
		if (len > AIGOV_ENV_NAME_MAX)
		{
			snprintf(err, errlen, "a pattern is longer than %d bytes",
					 AIGOV_ENV_NAME_MAX);
			return false;
		}
	}
	return true;
}

/*
 * aigov_env_name_allowed
 *		True if name is a valid variable name that one of the patterns
 *		matches.
 */
bool
aigov_env_name_allowed(const char *patterns, const char *name)
{
	const char *cursor = patterns != NULL ? patterns : "";
	const char *start;
	size_t		len;

	if (name == NULL || !aigov_env_name_valid(name))
		return false;
	while (next_pattern(&cursor, &start, &len))
		if (glob_match(start, len, name, strlen(name)))
			return true;
	return false;
}
