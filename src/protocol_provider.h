/*-------------------------------------------------------------------------
 * protocol_provider.h
 *	  The descriptor each provider's protocol_<style>.c fills in: how the
 *	  provider is addressed and authenticated, what its limiter charges,
 *	  how its requests are worded and its replies read.
 *
 * Private to the protocol files: the rest of aigov goes through the
 * functions of protocol.h, which look the descriptor up by api style
 * (protocol.c).  Adding a provider is one protocol_<style>.c with its
 * descriptor and one line in api_style.h's list.
 *
 * IDENTIFICATION
 *	  src/protocol_provider.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_PROTOCOL_PROVIDER_H
#define AIGOV_PROTOCOL_PROVIDER_H

#include "protocol.h"
#include "translate.h"

typedef struct AigovProvider
{
	AigovApiStyle style;
	const char *name;			/* aigov.providers.api_style */
	const char *auth_prefix;	/* the credential header up to the secret */
	const char *version_header; /* a header every request carries; NULL */

	/*
	 * Its limiter admits on a count of the prompt's characters plus the
	 * output budget (tokens.h), not on tokens.
	 */
	bool		charges_characters;

	/* Its replies are OpenAI chat completions, stored as they come. */
	bool		openai_replies;

	/*
	 * The window its requests headers count, in seconds: a limit of 100 over
	 * 10 s is 600 a minute to the router.
	 */
	int			requests_window_s;

	/* One response header of its dialect; NULL: none beyond the common. */
	bool		(*header) (const char *name, size_t nlen, const char *val,
						   size_t vlen, int64_t now_us, AigovRateHeaders *h);

	/* A reply with an HTTP status in 200..599. */
	void		(*classify) (int http_status, const AigovRateHeaders *h,
							 const char *body, size_t len, int64_t now_us,
							 AigovClassification *out);

	/* Token usage of a success body. */
	bool		(*usage) (const char *body, size_t len, AigovUsage *out);

	/* The request's address and body (see aigov_protocol_build_request). */
	AigovTranslateStatus (*build_request) (const char *base_url,
										   const char *model,
										   const char *body, size_t len,
										   const AigovTranslateOptions *opts,
										   AigovWireRequest *out);
} AigovProvider;

#define AIGOV_PROVIDER_EXTERN(style, name, ident) \
	extern const AigovProvider aigov_provider_##ident;
AIGOV_API_STYLES(AIGOV_PROVIDER_EXTERN)
#undef AIGOV_PROVIDER_EXTERN

extern const AigovProvider *aigov_provider(AigovApiStyle style);

/* Joins base_url and path into out->url; false (and detail) if too long. */
extern bool aigov_provider_set_url(AigovWireRequest *out, const char *base_url,
								   const char *path);

/* Requests translated by translate.h for the target style. */
extern AigovTranslateStatus aigov_provider_translated(AigovApiStyle style,
													  const char *base_url,
													  const char *body,
													  size_t len,
													  const AigovTranslateOptions *opts,
													  AigovWireRequest *out);

#endif							/* AIGOV_PROTOCOL_PROVIDER_H */
