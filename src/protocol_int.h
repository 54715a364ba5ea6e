/*-------------------------------------------------------------------------
 * protocol_int.h
 *	  Private interface of the protocol_*.c files.
 *
 * protocol.h is the public face (header lines, classification, usage, the
 * scalar parsers).  This header is what the files behind it share: the
 * SSE reader, the JSON and text helpers, the rate-limit window setters,
 * the status-code fallback, and each dialect's entry points.  Only
 * src/protocol_*.c and the unit tests that exercise these internals
 * include it.
 *
 * Split of the work:
 *	  protocol_common.c	   header lines, classes, classify and usage entry
 *	  protocol_time.c	   Go durations, decimals, RFC 3339, HTTP dates,
 *						   Pacific midnight, UTC month boundary
 *	  protocol_sse.c	   Server-Sent Events reader
 *	  protocol_text.c	   matching, cleaned messages, prose hints, JSON
 *	  protocol_openai.c, protocol_anthropic.c, protocol_gemini.c
 *						   one dialect each
 *
 * IDENTIFICATION
 *	  src/protocol_int.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_PROTOCOL_INT_H
#define AIGOV_PROTOCOL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "protocol.h"

/*
 * jansson values are passed as "struct json_t" so that this header stays
 * free of third-party includes.
 */
struct json_t;

/* one Server-Sent Event: name and the byte range of its data lines */
typedef struct AigovSseEvent
{
	const char *name;			/* "message" when no "event:" field */
	size_t		name_len;
	const char *data;			/* first byte of the first data line */
	size_t		data_span;		/* up to the end of the last data line */
	int			data_lines;		/* 0 = event without data */
} AigovSseEvent;

/* protocol_sse.c */
extern bool aigov_protocol_looks_like_sse(const AigovRateHeaders *h,
										  const char *body, size_t len);
extern bool aigov_protocol_sse_next(const char *body, size_t len,
									size_t *pos, AigovSseEvent *ev);
extern struct json_t *aigov_protocol_sse_json(const AigovSseEvent *ev);
extern bool aigov_protocol_sse_data_is(const AigovSseEvent *ev,
									   const char *literal);

/* protocol_text.c: JSON */
extern struct json_t *aigov_protocol_json_parse(const char *s, size_t len);
extern const char *aigov_protocol_json_str(struct json_t *obj,
										   const char *key);
extern bool aigov_protocol_json_code(struct json_t *obj, const char *key,
									 char *buf, size_t buflen);
extern bool aigov_protocol_json_int(struct json_t *obj, const char *key,
									int64_t *out);

/* protocol_text.c: text and messages */
extern const char *aigov_protocol_memcasestr(const char *hay, size_t hlen,
											 const char *needle);
extern bool aigov_protocol_contains(const char *s, const char *needle);
extern int64_t aigov_protocol_duration_after(const char *text,
											 const char *marker);
extern int64_t aigov_protocol_seconds_after(const char *text,
											const char *marker);
extern bool aigov_protocol_ci_equal(const char *a, size_t alen,
									const char *lit);
extern void aigov_protocol_set_message(AigovClassification *out,
									   const char *msg, size_t len);
extern void aigov_protocol_set_not_json(AigovClassification *out,
										size_t len);
extern void aigov_protocol_set_code(AigovClassification *out,
									const char *code);

/* protocol_common.c */
extern void aigov_protocol_window_count(AigovRateWindow *w, bool is_limit,
										const char *val, size_t vlen);
extern void aigov_protocol_window_reset(AigovRateWindow *w,
										int64_t reset_at_us);
extern AigovErrorClass aigov_protocol_status_class(int http_status);


/* dialect entry points (protocol_openai.c, _anthropic.c, _gemini.c) */
extern bool aigov_protocol_openai_header(const char *name, size_t nlen,
										 const char *val, size_t vlen,
										 int64_t now_us, AigovRateHeaders *h);
extern bool aigov_protocol_anthropic_header(const char *name, size_t nlen,
											const char *val, size_t vlen,
											int64_t now_us,
											AigovRateHeaders *h);
extern void aigov_protocol_openai_classify(int http_status,
										   const AigovRateHeaders *h,
										   const char *body, size_t len,
										   int64_t now_us,
										   AigovClassification *out);
extern void aigov_protocol_anthropic_classify(int http_status,
											  const AigovRateHeaders *h,
											  const char *body, size_t len,
											  int64_t now_us,
											  AigovClassification *out);
extern void aigov_protocol_gemini_classify(int http_status,
										   const AigovRateHeaders *h,
										   const char *body, size_t len,
										   int64_t now_us,
										   AigovClassification *out);
extern bool aigov_protocol_openai_usage(const char *body, size_t len,
										AigovUsage *out);
extern bool aigov_protocol_anthropic_usage(const char *body, size_t len,
										   AigovUsage *out);
extern bool aigov_protocol_gemini_usage(const char *body, size_t len,
										AigovUsage *out);

/* ASCII lower case of c, as an unsigned char value. */
static inline int
lower_ascii(char c)
{
	unsigned char u = (unsigned char) c;

	return (u >= 'A' && u <= 'Z') ? u + ('a' - 'A') : u;
}

static inline bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* HTTP optional whitespace (RFC 9110 OWS) */
static inline bool
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Does a[0..alen) start with the lower-case literal lit, ignoring case? */
static inline bool
ci_prefix(const char *a, size_t alen, const char *lit)
{
	size_t		n = strlen(lit);

	return alen >= n && aigov_protocol_ci_equal(a, n, lit);
}

#endif							/* AIGOV_PROTOCOL_INT_H */
