/*-------------------------------------------------------------------------
 * fuzz_translate.c
 *	  libFuzzer target for the request translators: an OpenAI chat request
 *	  to each target dialect (src/translate*.c), and the wire request each
 *	  provider builds from it (src/protocol.c's registry, Azure included).
 *
 * The first input byte picks the options (allow_degraded, a model override
 * or none, default max_tokens on or off, a short or a very long base URL);
 * the rest is the request body, copied into a buffer of its exact size.
 * Replies are fuzz_normalise's.  Besides the sanitizers' findings, it
 * aborts when a result breaks the API contract of translate.h and
 * protocol.h:
 *
 * - an OK carries a body that is a JSON object, a failure none, and a
 *	 failure always says why; every detail is clean UTF-8 text;
 * - OpenAI passes the body through byte for byte when no model overrides
 *	 it (re-serialised, but the same JSON, when it holds a NUL byte); Anthropic's body has a model, a positive max_tokens and messages;
 *	 Gemini's has contents and a percent-escaped generateContent path;
 * - a wire request's URL is the base URL joined with a path, complete or
 *	 refused (never cut), and its body is the translation's.
 *
 * IDENTIFICATION
 *	  test/fuzz/fuzz_translate.c
 *-------------------------------------------------------------------------
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "protocol.h"
#include "translate.h"
#include "fuzz_util.h"
#include "../unit/text_util.h"	/* clean_text(), as the unit tests mean it */

/* A translation's status against its body and detail. */
static json_t *
check(AigovTranslateStatus st, const char *body, const char *detail,
	  size_t detail_size)
{
	json_t	   *j;

	fuzz_terminated(detail, detail_size);
	if (!clean_text(detail))
		abort();
	if ((st == AIGOV_TRANSLATE_OK) != (body != NULL))
		abort();
	if (st != AIGOV_TRANSLATE_OK && detail[0] == '\0')
		abort();
	if (body == NULL)
		return NULL;
	j = json_loads(body, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(j))
		abort();
	return j;
}

/* Only unreserved characters, '%' escapes and the fixed parts. */
static void
check_gemini_path(const char *path)
{
	static const char prefix[] = "/v1beta/models/";
	static const char suffix[] = ":generateContent";
	size_t		n = strlen(path);
	size_t		pl = sizeof(prefix) - 1;
	size_t		sl = sizeof(suffix) - 1;

	if (n <= pl + sl || strncmp(path, prefix, pl) != 0 ||
		strcmp(path + n - sl, suffix) != 0)
		abort();
	for (size_t i = pl; i < n - sl; i++)
	{
		char		c = path[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
			  c == '~' || c == '%'))
			abort();
	}
}

/* Is the JSON text in[0..len) the value j? */
static bool
same_json(const json_t *j, const char *in, size_t len)
{
	json_t	   *v = json_loadb(in, len, JSON_REJECT_DUPLICATES, NULL);
	bool		same = v != NULL && json_equal(j, v);

	json_decref(v);
	return same;
}

static void
check_request(AigovApiStyle target, const char *in, size_t len,
			  const char *override, const AigovTranslatedRequest *rq,
			  json_t *j)
{
	json_t	   *mt = json_object_get(j, "max_tokens");

	switch (target)
	{
		case AIGOV_API_OPENAI:
			if (strcmp(rq->path, "/v1/chat/completions") != 0)
				abort();
			if (override == NULL && memchr(in, '\0', len) == NULL &&
				(strlen(rq->body) != len || memcmp(rq->body, in, len) != 0))
				abort();
			if (override == NULL && !same_json(j, in, len))
				abort();
			break;
		case AIGOV_API_ANTHROPIC:
			if (strcmp(rq->path, "/v1/messages") != 0 ||
				!json_is_string(json_object_get(j, "model")) ||
				!json_is_integer(mt) || json_integer_value(mt) <= 0 ||
				!json_is_array(json_object_get(j, "messages")))
				abort();
			break;
		case AIGOV_API_GEMINI:
			check_gemini_path(rq->path);
			if (!json_is_array(json_object_get(j, "contents")))
				abort();
			break;
		default:
			abort();
	}
}

/* The wire request of every provider, from the same body. */
static void
check_wire(const char *body, size_t len, const char *base_url,
		   const char *override, const AigovTranslateOptions *opts)
{
	for (int s = 0; s < AIGOV_API_STYLE_COUNT; s++)
	{
		AigovWireRequest w;
		AigovTranslateStatus st;
		const char *model = override != NULL ? override : "m";
		size_t		bl = strlen(base_url);

		st = aigov_protocol_build_request((AigovApiStyle) s, base_url, model,
										  body, len, opts, &w);
		fuzz_terminated(w.url, sizeof(w.url));
		fuzz_terminated(w.detail, sizeof(w.detail));
		if (!clean_text(w.detail))
			abort();
		if (st == AIGOV_TRANSLATE_OK)
		{
			/* the whole base URL, then a path; never cut */
			if (strncmp(w.url, base_url, bl) != 0 || w.url[bl] != '/')
				abort();
		}
		else if (w.body != NULL || w.url[0] != '\0' || w.detail[0] == '\0')
			abort();
		aigov_protocol_wire_free(&w);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const AigovApiStyle styles[] = {
		AIGOV_API_OPENAI, AIGOV_API_ANTHROPIC, AIGOV_API_GEMINI
	};
	static char long_url[2100];
	AigovTranslateOptions opts;
	const char *override;
	const char *base_url;
	char	   *body;

	if (size == 0)
		return 0;
	if (long_url[0] == '\0')
	{
		/* a base URL that leaves no room for the longest path */
		memcpy(long_url, "http://h/", 9);
		memset(long_url + 9, 'p', sizeof(long_url) - 10);
	}
	opts.allow_degraded = (data[0] & 1) != 0;
	opts.default_max_tokens = (data[0] & 2) ? 0 : 1024;
	override = (data[0] & 4) ? "models/gemini 2.5/x" : NULL;
	base_url = (data[0] & 8) ? long_url + (data[0] >> 4) * 16 : "http://h";
	body = fuzz_copy_exact(data + 1, size - 1);
	size--;

	for (int i = 0; i < 3; i++)
	{
		AigovTranslatedRequest rq;
		AigovTranslateStatus st;
		json_t	   *j;

		st = aigov_translate_request(styles[i], body, size, override, &opts, &rq);
		j = check(st, rq.body, rq.detail, sizeof(rq.detail));
		if (st == AIGOV_TRANSLATE_OK)
			check_request(styles[i], body, size, override, &rq, j);
		json_decref(j);
		aigov_translate_request_free(&rq);
	}
	check_wire(body, size, base_url, override, &opts);
	free(body);
	return 0;
}
