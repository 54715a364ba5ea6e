/*-------------------------------------------------------------------------
 * fuzz_protocol.c
 *	  libFuzzer target for the classifier: every provider's reply, its
 *	  headers, body and transport outcome, turned into an error class
 *	  (src/protocol_*.c), and the usage it reports.
 *
 * Input layout: byte 0 picks the transport outcome (byte0 / 3 % 5, where
 * 4 is a code the classifier does not know), bytes 1-2 the HTTP status
 * (big-endian, modulo 700, so nonsense statuses occur too); the rest is
 * header lines up to the first empty line, then the body.  Every API
 * style (Azure's too) folds the same headers and classifies the same
 * body, and the scalar parsers get the body's first bytes.  Each header
 * line and the body are copied into buffers of their exact size, so ASan
 * reports any read past the length we pass.  Invariants of the
 * classification are checked and abort on violation, and so is the
 * promise of src/json_scan.c on the classifier's own member list (the
 * scanner alone is fuzz_json_scan's).
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
#include "fuzz_util.h"

/*
 * The provider's side failing: these always count toward the breaker.
 * Other classes may too (a refusal of the key's access), but never a
 * success, a rate limit, or a key taken out of rotation.
 */
static bool
breaker_class(AigovErrorClass cls)
{
	return cls == AIGOV_CLASS_OVERLOADED || cls == AIGOV_CLASS_SERVER_ERROR ||
		cls == AIGOV_CLASS_TIMEOUT || cls == AIGOV_CLASS_CONNECTION;
}

static void
check(const AigovClassification *c)
{
	size_t		ml = strnlen(c->message, sizeof(c->message));
	size_t		cl = strnlen(c->code, sizeof(c->code));

	if (ml >= sizeof(c->message) || cl >= sizeof(c->code))
		abort();				/* not NUL-terminated */
	if (!fuzz_valid_utf8(c->message, ml) || !fuzz_valid_utf8(c->code, cl))
		abort();
	for (size_t i = 0; i < ml; i++)
		if ((unsigned char) c->message[i] < 0x20)
			abort();			/* control characters are blanked */
	if ((int) c->cls < 0 || (int) c->cls >= AIGOV_CLASS_COUNT)
		abort();
	if (c->cls == AIGOV_CLASS_SUCCESS && (c->retry_at_us != 0 || c->retryable))
		abort();
	if (aigov_protocol_class_is_rate_limit(c->cls) &&
		(c->retry_at_us <= FUZZ_NOW_US || !c->retryable))
		abort();
	if (c->key_unusable && c->retryable)
		abort();
	if (!c->breaker_failure && breaker_class(c->cls))
		abort();
	if (c->breaker_failure &&
		(c->cls == AIGOV_CLASS_SUCCESS || aigov_protocol_class_is_rate_limit(c->cls) ||
		 c->cls == AIGOV_CLASS_AUTH || c->key_unusable))
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
	bcopy = fuzz_copy_exact(body, blen);
	check_scan(bcopy, blen);

	for (int style = AIGOV_API_OPENAI; style < AIGOV_API_STYLE_COUNT; style++)
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
			char	   *line = fuzz_copy_exact(q, ll);

			aigov_protocol_header_line((AigovApiStyle) style, line, ll, FUZZ_NOW_US, &h);
			free(line);
			q += ll;
		}
		aigov_protocol_classify((AigovApiStyle) style, transport, status, &h,
								bcopy, blen, FUZZ_NOW_US, &c);
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
