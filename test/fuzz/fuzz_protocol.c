/*-------------------------------------------------------------------------
 * fuzz_protocol.c
 *	  libFuzzer target for the provider reply parsers (src/protocol_*.c).
 *
 * Input layout: byte 0 picks the transport outcome (byte0 / 3 % 5, where
 * 4 is a code the classifier does not know), bytes 1-2 the HTTP status
 * (big-endian, modulo 700, so nonsense statuses occur too); the rest is
 * header lines up to the first empty line, then the body.  Every API
 * style folds the same headers and classifies the same body, and the
 * scalar parsers get the body's first bytes.  Each header line and the
 * body are copied into buffers of their exact size, so ASan reports any
 * read past the length we pass.  Invariants of the classification are
 * checked and abort on violation, and so is the promise of
 * src/json_scan.c: a body it accepts, jansson loads with the same members.
 *
 * Build with the Makefile beside this file (clang, -fsanitize=fuzzer), or
 * with -DAIGOV_FUZZ_STANDALONE and any compiler to replay files.
 *
 * IDENTIFICATION
 *	  test/fuzz/fuzz_protocol.c
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json_scan.h"
#include "protocol.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 2025-08-21T12:40:00Z */
static const int64_t NOW = INT64_C(1755780000) * 1000000;

static char *
copy_exact(const uint8_t *p, size_t n)
{
	char	   *c = malloc(n > 0 ? n : 1);

	if (c == NULL)
		abort();
	if (n > 0)
		memcpy(c, p, n);
	return c;
}

/* Is [s, s+n) valid UTF-8?  The message must be, to become jsonb. */
static int
valid_utf8(const char *s, size_t n)
{
	size_t		i = 0;

	while (i < n)
	{
		unsigned char c = (unsigned char) s[i];
		size_t		k;

		if (c < 0x80)
			k = 1;
		else if (c >= 0xC2 && c <= 0xDF)
			k = 2;
		else if (c >= 0xE0 && c <= 0xEF)
			k = 3;
		else if (c >= 0xF0 && c <= 0xF4)
			k = 4;
		else
			return 0;
		if (i + k > n)
			return 0;
		for (size_t j = 1; j < k; j++)
			if (((unsigned char) s[i + j] & 0xC0) != 0x80)
				return 0;
		i += k;
	}
	return 1;
}

static void
check(const AigovClassification *c)
{
	size_t		ml = strnlen(c->message, sizeof(c->message));
	size_t		cl = strnlen(c->code, sizeof(c->code));

	if (ml >= sizeof(c->message) || cl >= sizeof(c->code))
		abort();				/* not NUL-terminated */
	if (!valid_utf8(c->message, ml) || !valid_utf8(c->code, cl))
		abort();
	for (size_t i = 0; i < ml; i++)
		if ((unsigned char) c->message[i] < 0x20)
			abort();			/* control characters are blanked */
	if ((int) c->cls < 0 || (int) c->cls >= AIGOV_CLASS_COUNT)
		abort();
	if (c->cls == AIGOV_CLASS_SUCCESS && (c->retry_at_us != 0 || c->retryable))
		abort();
	if (aigov_protocol_class_is_rate_limit(c->cls) &&
		(c->retry_at_us <= NOW || !c->retryable))
		abort();
	if (c->key_unusable && c->retryable)
		abort();
	if (c->breaker_failure !=
		(c->cls == AIGOV_CLASS_OVERLOADED || c->cls == AIGOV_CLASS_SERVER_ERROR ||
		 c->cls == AIGOV_CLASS_TIMEOUT || c->cls == AIGOV_CLASS_CONNECTION))
		abort();
	if (c->retry_at_us < 0)
		abort();
	if (c->usage.present && c->cls != AIGOV_CLASS_SUCCESS)
		abort();
}

/* What json_scan.c accepts, jansson must load, with the same members. */
static void
check_scan(const char *body, size_t len)
{
	AigovJsonMember m[3] = {
		{.path = {NULL}},
		{.path = {"choices", NULL}},
		{.path = {"usage", "prompt_tokens", NULL}},
	};
	json_t	   *root;
	json_t	   *prompt;

	if (!aigov_json_scan(body, len, m, 3))
		return;
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	if (root == NULL)
		abort();
	prompt = json_object_get(json_object_get(root, "usage"), "prompt_tokens");
	if ((m[0].type == AIGOV_JSON_OBJECT) != json_is_object(root) ||
		(m[1].type == AIGOV_JSON_ARRAY) != json_is_array(json_object_get(root, "choices")) ||
		(m[2].type == AIGOV_JSON_INTEGER) != json_is_integer(prompt) ||
		(json_is_integer(prompt) && m[2].integer != json_integer_value(prompt)))
		abort();
	json_decref(root);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int			transport;
	int			status;
	const uint8_t *p;
	const uint8_t *end;
	const uint8_t *body;
	char	   *bcopy;
	size_t		blen;

	if (size < 3)
		return 0;
	transport = (data[0] / 3) % 5;
	status = ((data[1] << 8) | data[2]) % 700;
	p = data + 3;
	end = data + size;

	/* headers end at the first empty line ("\n\n" or "\r\n\r\n") */
	body = p;
	while (body < end)
	{
		const uint8_t *nl = memchr(body, '\n', (size_t) (end - body));
		size_t		ll;

		if (nl == NULL)
		{
			body = end;
			break;
		}
		ll = (size_t) (nl - body);
		body = nl + 1;
		if (ll == 0 || (ll == 1 && nl[-1] == '\r'))
			break;
	}
	blen = (size_t) (end - body);
	bcopy = copy_exact(body, blen);
	check_scan(bcopy, blen);

	for (int style = AIGOV_API_OPENAI; style <= AIGOV_API_GEMINI; style++)
	{
		AigovRateHeaders h;
		AigovClassification c;
		AigovUsage	u;
		const uint8_t *q = p;

		aigov_protocol_headers_init(&h);
		while (q < body)
		{
			const uint8_t *nl = memchr(q, '\n', (size_t) (body - q));
			size_t		ll = nl ? (size_t) (nl - q) + 1 : (size_t) (body - q);
			char	   *line = copy_exact(q, ll);

			aigov_protocol_header_line((AigovApiStyle) style, line, ll, NOW, &h);
			free(line);
			q += ll;
		}
		aigov_protocol_classify((AigovApiStyle) style, transport, status, &h,
								bcopy, blen, NOW, &c);
		check(&c);
		(void) aigov_protocol_class_name(c.cls);
		if (aigov_protocol_parse_usage((AigovApiStyle) style, bcopy, blen, &u) !=
			u.present)
			abort();
	}

	/* the scalar parsers on the body's first bytes */
	{
		size_t		n = blen < 64 ? blen : 64;

		(void) aigov_protocol_parse_go_duration(bcopy, n);
		(void) aigov_protocol_parse_rfc3339(bcopy, n);
		(void) aigov_protocol_parse_http_date(bcopy, n);
		(void) aigov_protocol_parse_decimal(bcopy, n, 1000);
	}
	free(bcopy);
	return 0;
}

#ifdef AIGOV_FUZZ_STANDALONE
/* Replay inputs without libFuzzer: ./fuzz_protocol_replay FILE... */
int
main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
	{
		FILE	   *f = fopen(argv[i], "rb");
		uint8_t    *buf;
		long		n;

		if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
			fseek(f, 0, SEEK_SET) != 0)
		{
			perror(argv[i]);
			return 1;
		}
		buf = malloc(n > 0 ? (size_t) n : 1);
		if (buf == NULL || fread(buf, 1, (size_t) n, f) != (size_t) n)
			return 1;
		fclose(f);
		LLVMFuzzerTestOneInput(buf, (size_t) n);
		free(buf);
	}
	return 0;
}
#endif
