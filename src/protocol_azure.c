/*-------------------------------------------------------------------------
 * protocol_azure.c
 *	  Azure OpenAI: how a deployment is addressed and authenticated.
 *
 * Azure serves OpenAI's models under its own addresses: a chat request
 * goes to {base_url}/openai/deployments/{deployment}/chat/completions with
 * an api-version query parameter, and the key travels in an "api-key"
 * header.  aigov names the deployment by the job's model (a model row of
 * an Azure provider is a deployment name); the api-version is the one a
 * "?api-version=..." query of the provider's base_url names, else
 * AIGOV_AZURE_API_VERSION.
 *
 * Everything else is OpenAI's dialect (docs/providers.md §2): the body goes
 * out unchanged, replies are chat completions (with content-filter fields
 * OpenAI does not send), the rate-limit headers have OpenAI's names
 * without the reset headers, and 429s carry retry-after-ms and a body
 * whose prose says which limit ("token rate limit", "call rate limit"),
 * all of which protocol_openai.c reads.  Its limiter charges the prompt's
 * characters and max_tokens at admission, as OpenAI's does.  Azure
 * enforces a deployment's requests per minute on 10-second windows, and
 * its x-ratelimit-*-requests headers count that window (a 600-a-minute
 * deployment reports a limit of 100), so the router reads them as a
 * sixth of a minute.
 *
 * IDENTIFICATION
 *	  src/protocol_azure.c
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "protocol_int.h"
#include "protocol_provider.h"

/* The GA api-version of the chat completions API aigov was tested with. */
#define AIGOV_AZURE_API_VERSION "2024-10-21"

/*
 * api_version_of
 *		The api-version a base_url's query names, copied to buf; the default
 *		when it names none.  *base_len is the length of the URL before its
 *		query, without trailing slashes.  False when the named version does
 *		not fit buf: it is refused, never cut or replaced by the default.
 */
static bool
api_version_of(const char *base_url, size_t *base_len, char *buf, size_t size)
{
	const char *query = strchr(base_url, '?');
	const char *p;
	size_t		n;

	n = query != NULL ? (size_t) (query - base_url) : strlen(base_url);
	while (n > 0 && base_url[n - 1] == '/')
		n--;
	*base_len = n;
	snprintf(buf, size, "%s", AIGOV_AZURE_API_VERSION);
	if (query == NULL)
		return true;
	for (p = query + 1; *p != '\0';)
	{
		size_t		plen = strcspn(p, "&");

		if (plen > 12 && strncmp(p, "api-version=", 12) == 0)
		{
			size_t		vlen = plen - 12;

			if (vlen >= size)
				return false;
			memcpy(buf, p + 12, vlen);
			buf[vlen] = '\0';
			return true;
		}
		p += plen;
		if (*p == '&')
			p++;
	}
	return true;
}

/* Appends s to buf at *pos, percent-escaping all but unreserved bytes. */
static bool
append_escaped(char *buf, size_t size, size_t *pos, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++)
	{
		unsigned char c = (unsigned char) *s;
		bool		plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';

		if (*pos + (plain ? 1 : 3) >= size)
			return false;
		if (plain)
			buf[(*pos)++] = (char) c;
		else
		{
			buf[(*pos)++] = '%';
			buf[(*pos)++] = hex[c >> 4];
			buf[(*pos)++] = hex[c & 15];
		}
	}
	buf[*pos] = '\0';
	return true;
}

/*
 * azure_build_request
 *		The deployment's chat URL; the body goes out unchanged (Azure reads
 *		the deployment from the URL and ignores the body's model).
 */
static AigovTranslateStatus
azure_build_request(const char *base_url, const char *model, const char *body,
					size_t len, const AigovTranslateOptions *opts,
					AigovWireRequest *out)
{
	char		url[sizeof(out->url)];
	char		version[64];
	size_t		base_len;
	size_t		pos;
	int			n;

	if (model == NULL || model[0] == '\0')
	{
		snprintf(out->detail, sizeof(out->detail),
				 "an Azure request needs a deployment (the job's model)");
		return AIGOV_TRANSLATE_BAD_JSON;
	}
	if (!api_version_of(base_url, &base_len, version, sizeof(version)))
	{
		snprintf(out->detail, sizeof(out->detail),
				 "the api-version of the provider's base_url is longer than %zu bytes",
				 sizeof(version) - 1);
		return AIGOV_TRANSLATE_UNSUPPORTED;
	}
	n = snprintf(url, sizeof(url), "%.*s/openai/deployments/",
				 (int) base_len, base_url);
	if (n < 0 || (size_t) n >= sizeof(url))
		goto too_long;
	pos = (size_t) n;
	if (!append_escaped(url, sizeof(url), &pos, model))
		goto too_long;
	n = snprintf(url + pos, sizeof(url) - pos, "/chat/completions?api-version=");
	if (n < 0 || pos + (size_t) n >= sizeof(url))
		goto too_long;
	pos += (size_t) n;
	if (!append_escaped(url, sizeof(url), &pos, version))
		goto too_long;
	memcpy(out->url, url, pos + 1);
	return AIGOV_TRANSLATE_OK;

too_long:
	snprintf(out->detail, sizeof(out->detail),
			 "the deployment URL would be longer than %zu bytes",
			 sizeof(out->url) - 1);
	return AIGOV_TRANSLATE_UNSUPPORTED;
}

const AigovProvider aigov_provider_azure = {
	.style = AIGOV_API_AZURE,
	.name = "azure",
	.auth_prefix = "api-key: ",
	.version_header = NULL,
	.charges_characters = true,
	.requests_window_s = 10,
	.openai_replies = true,
	.header = aigov_protocol_openai_header,
	.classify = aigov_protocol_openai_classify,
	.usage = aigov_protocol_openai_usage,
	.build_request = azure_build_request,
};
