/*-------------------------------------------------------------------------
 * api_style.h
 *	  The provider API dialects aigov speaks, shared by the pure modules.
 *
 * The names match aigov.providers.api_style in SQL.
 *
 * IDENTIFICATION
 *	  src/api_style.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_API_STYLE_H
#define AIGOV_API_STYLE_H

typedef enum AigovApiStyle
{
	AIGOV_API_OPENAI = 0,
	AIGOV_API_ANTHROPIC,
	AIGOV_API_GEMINI
} AigovApiStyle;

#endif							/* AIGOV_API_STYLE_H */
