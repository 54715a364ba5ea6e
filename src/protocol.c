/*-------------------------------------------------------------------------
 * protocol.c
 *	  The provider registry: each api style's descriptor (filled in by its
 *	  protocol_<style>.c), and the public entry points that look it up.
 *
 * Pure C, no postgres.h.
 *
 * IDENTIFICATION
 *	  src/protocol.c
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol_provider.h"

#define AIGOV_PROVIDER_ENTRY(style, name, ident) [style] = &aigov_provider_##ident,
static const AigovProvider *const providers[AIGOV_API_STYLE_COUNT] = {
	AIGOV_API_STYLES(AIGOV_PROVIDER_ENTRY)
};
#undef AIGOV_PROVIDER_ENTRY

/*
 * aigov_provider
 *		The descriptor of a style; an unknown style is treated as OpenAI's
 *		dialect, the one every OpenAI-compatible service speaks.
 */
const AigovProvider *
aigov_provider(AigovApiStyle style)
{
	if ((int) style < 0 || (int) style >= AIGOV_API_STYLE_COUNT)
		return providers[AIGOV_API_OPENAI];
	return providers[style];
}

const char *
aigov_protocol_style_name(AigovApiStyle style)
{
	return aigov_provider(style)->name;
}

bool
aigov_protocol_style_from_name(const char *name, AigovApiStyle *out)
{
	if (name == NULL)
		return false;
	for (int i = 0; i < AIGOV_API_STYLE_COUNT; i++)
	{
		if (strcmp(providers[i]->name, name) == 0)
		{
			*out = (AigovApiStyle) i;
			return true;
		}
	}
	return false;
}

const char *
aigov_protocol_auth_prefix(AigovApiStyle style)
{
	return aigov_provider(style)->auth_prefix;
}

const char *
aigov_protocol_version_header(AigovApiStyle style)
{
	return aigov_provider(style)->version_header;
}

bool
aigov_protocol_charges_characters(AigovApiStyle style)
{
	return aigov_provider(style)->charges_characters;
}

bool
aigov_protocol_reply_is_openai(AigovApiStyle style)
{
	return aigov_provider(style)->openai_replies;
}

int
aigov_protocol_requests_window_s(AigovApiStyle style)
{
	return aigov_provider(style)->requests_window_s;
}

AigovTranslateStatus
aigov_protocol_build_request(AigovApiStyle style, const char *base_url,
							 const char *model, const char *body, size_t len,
							 const AigovTranslateOptions *opts,
							 AigovWireRequest *out)
{
	out->body = NULL;
	out->url[0] = '\0';
	out->detail[0] = '\0';
	return aigov_provider(style)->build_request(base_url, model, body, len,
												opts, out);
}

void
aigov_protocol_wire_free(AigovWireRequest *w)
{
	if (w == NULL)
		return;
	free(w->body);
	w->body = NULL;
}

bool
aigov_provider_set_url(AigovWireRequest *out, const char *base_url,
					   const char *path)
{
	int			n = snprintf(out->url, sizeof(out->url), "%s%s", base_url, path);

	if (n < 0 || (size_t) n >= sizeof(out->url))
	{
		out->url[0] = '\0';
		snprintf(out->detail, sizeof(out->detail),
				 "the request URL would be longer than %zu bytes",
				 sizeof(out->url) - 1);
		return false;
	}
	return true;
}

/*
 * aigov_provider_translated
 *		A request whose body translate.h words for the target dialect, sent
 *		to base_url joined with the path the translation names.
 */
AigovTranslateStatus
aigov_provider_translated(AigovApiStyle style, const char *base_url,
						  const char *body, size_t len,
						  const AigovTranslateOptions *opts,
						  AigovWireRequest *out)
{
	AigovTranslatedRequest tr;
	AigovTranslateStatus ts;

	memset(&tr, 0, sizeof(tr));
	ts = aigov_translate_request(style, body, len, NULL, opts, &tr);
	if (ts != AIGOV_TRANSLATE_OK)
	{
		snprintf(out->detail, sizeof(out->detail), "%s", tr.detail);
		aigov_translate_request_free(&tr);
		return ts;
	}
	if (!aigov_provider_set_url(out, base_url, tr.path))
	{
		aigov_translate_request_free(&tr);
		return AIGOV_TRANSLATE_UNSUPPORTED;
	}
	out->body = tr.body;
	tr.body = NULL;
	aigov_translate_request_free(&tr);
	return AIGOV_TRANSLATE_OK;
}
