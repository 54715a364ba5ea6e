/*-------------------------------------------------------------------------
 * api_style.h
 *	  The provider API dialects aigov speaks, shared by the pure modules.
 *
 * The names match aigov.providers.api_style in SQL.  The list below is
 * the one place a new dialect is named: each entry has its descriptor,
 * aigov_provider_<ident>, in its protocol_<ident>.c.
 *
 * IDENTIFICATION
 *	  src/api_style.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_API_STYLE_H
#define AIGOV_API_STYLE_H

#include <stdbool.h>

/* X(enum constant, SQL name, descriptor suffix) */
#define AIGOV_API_STYLES(X) \
	X(AIGOV_API_OPENAI, "openai", openai) \
	X(AIGOV_API_ANTHROPIC, "anthropic", anthropic) \
	X(AIGOV_API_GEMINI, "gemini", gemini) \
	X(AIGOV_API_AZURE, "azure", azure)

#define AIGOV_API_STYLE_ENUM(style, name, ident) style,
typedef enum AigovApiStyle
{
	AIGOV_API_STYLES(AIGOV_API_STYLE_ENUM)
	AIGOV_API_STYLE_COUNT
} AigovApiStyle;
#undef AIGOV_API_STYLE_ENUM

/* The SQL name of a style, and the style of a name (false if none). */
extern const char *aigov_protocol_style_name(AigovApiStyle style);
extern bool aigov_protocol_style_from_name(const char *name,
										   AigovApiStyle *out);

#endif							/* AIGOV_API_STYLE_H */
