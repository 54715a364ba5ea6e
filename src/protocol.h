/*-------------------------------------------------------------------------
 * protocol.h
 *	  Provider reply parsing: rate-limit headers, error taxonomy, usage.
 *
 * Pure C, no postgres.h: the dispatcher links it, and so do the cmocka
 * tests and the fuzzers.  This is the public face; what the protocol_*.c
 * files share among themselves is in protocol_int.h.  Two phases per HTTP
 * exchange:
 *
 * 1. aigov_protocol_header_line() is called from libcurl's header callback,
 *	  once per raw header line.  It never allocates, never blocks and never
 *	  fails; it folds what it recognises into a fixed-size AigovRateHeaders.
 * 2. After the body has arrived (or the transfer failed),
 *	  aigov_protocol_classify() decides which AigovErrorClass the reply
 *	  belongs to, when the job may be tried again, and whether the key or
 *	  the provider is at fault.  It uses jansson internally and frees
 *	  everything before returning; the caller owns nothing.
 *
 * All times are absolute unix times in microseconds.  Bodies are byte
 * ranges (never assumed NUL-terminated) and may hold arbitrary bytes.
 *
 * IDENTIFICATION
 *	  src/protocol.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_PROTOCOL_H
#define AIGOV_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api_style.h"
#include "translate.h"

#define AIGOV_USECS_PER_SEC		INT64_C(1000000)
#define AIGOV_PROTOCOL_LENGTHOF(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * Fallback waits when a rate-limit reply carries no usable hint.  A minute
 * window refills continuously, so one second is enough to avoid hammering
 * while still probing early; the key's shadow bucket (router) paces the
 * rest.  A daily window without a hint is probed once an hour: waiting for
 * a whole day on a guess would strand the key, retrying sooner would just
 * burn another call on a quota we know is gone.
 */
#define AIGOV_PROTOCOL_MINUTE_FALLBACK_US	(1 * AIGOV_USECS_PER_SEC)
#define AIGOV_PROTOCOL_DAILY_FALLBACK_US	(3600 * AIGOV_USECS_PER_SEC)

/* A hint at least this long turns a minute-class 429 into a daily one. */
#define AIGOV_PROTOCOL_DAILY_HINT_US		(86400 * AIGOV_USECS_PER_SEC)

/* One rate-limit axis as the provider reported it. */
typedef struct AigovRateWindow
{
	bool		present;		/* at least one header of this axis seen */
	int64_t		limit;			/* -1 unknown (Azure's -1 sentinel too) */
	int64_t		remaining;		/* -1 unknown (Azure's -1 sentinel too) */
	int64_t		reset_at_us;	/* when the window is full again; 0 unknown */
	bool		sentinel;		/* Azure sentinel seen: reset is meaningless */
} AigovRateWindow;

/*
 * Everything the header callback learns about one response.  Initialise
 * with aigov_protocol_headers_init(); a status line ("HTTP/...") resets it,
 * so interim 1xx responses and followed redirects leave no trace.
 */
typedef struct AigovRateHeaders
{
	AigovRateWindow requests;	/* x-ratelimit-*-requests, anthropic requests */
	AigovRateWindow tokens;		/* x-ratelimit-*-tokens, anthropic tokens,
								 * Mistral ratelimitbysize-* */
	AigovRateWindow input_tokens;	/* anthropic input-tokens */
	AigovRateWindow output_tokens;	/* anthropic output-tokens */
	AigovRateWindow tokens_month;	/* Mistral x-ratelimitbysize-*-month */
	int64_t		retry_after_us; /* absolute; from retry-after-ms, else
								 * retry-after (seconds or HTTP-date); 0 none */
	bool		retry_after_from_ms;	/* internal: -ms wins in any order */
	bool		should_retry_set;	/* x-should-retry present */
	bool		should_retry;	/* its value */
	bool		any_ratelimit_header;	/* any rate-limit family header seen */
	bool		event_stream;	/* Content-Type: text/event-stream */
	int64_t		server_date_us; /* Date header (clock-skew check); 0 none */
} AigovRateHeaders;

/* What happened to one provider call. */
typedef enum AigovErrorClass
{
	AIGOV_CLASS_SUCCESS = 0,
	AIGOV_CLASS_RATE_LIMIT_RPM,
	AIGOV_CLASS_RATE_LIMIT_TPM,
	AIGOV_CLASS_RATE_LIMIT_RPD,
	AIGOV_CLASS_RATE_LIMIT_TPD,
	AIGOV_CLASS_INSUFFICIENT_QUOTA,
	AIGOV_CLASS_REQUEST_TOO_LARGE,
	AIGOV_CLASS_OVERLOADED,
	AIGOV_CLASS_SERVER_ERROR,
	AIGOV_CLASS_TIMEOUT,
	AIGOV_CLASS_CONNECTION,
	AIGOV_CLASS_CLIENT_ERROR,
	AIGOV_CLASS_AUTH,
	AIGOV_CLASS_BAD_RESPONSE,	/* 2xx with a malformed/truncated body */
	AIGOV_CLASS_FORBIDDEN,		/* 403 that is not an invalid key: the key may
								 * not do this; it stays in rotation */
	AIGOV_CLASS_RESPONSE_TOO_LARGE, /* reply body or headers over our caps:
									 * never retried (it would be billed
									 * again) */
	AIGOV_CLASS_SCHEMA_MISMATCH,	/* a 2xx whose content does not conform to
									 * the request's response_format schema */
	AIGOV_CLASS_CONTEXT_WINDOW	/* the prompt (plus max_tokens) is larger than
								 * the model's context window: never retried
								 * on that model, no breaker input */
} AigovErrorClass;

#define AIGOV_CLASS_COUNT	(AIGOV_CLASS_CONTEXT_WINDOW + 1)

/* Transport outcomes the dispatcher maps libcurl's codes to. */
typedef enum AigovTransportError
{
	AIGOV_TRANSPORT_NONE = 0,	/* an HTTP response arrived */
	AIGOV_TRANSPORT_TIMEOUT,	/* CURLE_OPERATION_TIMEDOUT */
	AIGOV_TRANSPORT_CONNECTION, /* resolve/connect/TLS/send/recv errors */
	AIGOV_TRANSPORT_TRUNCATED,	/* body cut short */
	AIGOV_TRANSPORT_TOO_LARGE	/* body or headers over the size caps */
} AigovTransportError;

/* Token usage in the provider's own counting, normalised (docs/providers.md §7). */
typedef struct AigovUsage
{
	int64_t		prompt_tokens;	/* all input, cached included */
	int64_t		completion_tokens;	/* all output, reasoning included */
	int64_t		cached_tokens;	/* input served from cache */
	bool		present;
} AigovUsage;

typedef struct AigovClassification
{
	AigovErrorClass cls;
	int64_t		retry_at_us;	/* when this job may try this key again; for
								 * key_unusable classes, when the key may come
								 * back if the provider said so; 0 = no hint
								 * (or never) */
	bool		retryable;		/* waiting (or another attempt) can help */
	bool		key_unusable;	/* take the key out of rotation and alert */
	bool		breaker_failure;	/* counts toward the circuit breaker */
	char		message[256];	/* provider's message: truncated, control
								 * characters blanked, key-like tokens
								 * redacted; NUL-terminated.  Only a JSON
								 * reply's own message: no byte of a body that
								 * is not JSON is ever copied */
	char		code[64];		/* provider code/type/quotaId, if any */
	AigovUsage	usage;			/* filled on success when reported */
} AigovClassification;

/* Headers */
extern void aigov_protocol_headers_init(AigovRateHeaders *h);
extern void aigov_protocol_header_line(AigovApiStyle style, const char *line,
									   size_t len, int64_t now_us,
									   AigovRateHeaders *h);

/* Classification */
extern const char *aigov_protocol_class_name(AigovErrorClass c);
extern bool aigov_protocol_class_from_name(const char *name,
										   AigovErrorClass *out);
extern bool aigov_protocol_class_is_rate_limit(AigovErrorClass c);
extern void aigov_protocol_classify(AigovApiStyle style, int transport_error,
									int http_status,
									const AigovRateHeaders *h,
									const char *body, size_t body_len,
									int64_t now_us,
									AigovClassification *out);

/*
 * Requests: how a provider is addressed, authenticated and worded.
 *
 * aigov_protocol_build_request() builds the URL of a chat request to the
 * provider at base_url (no trailing slash) for the job's model, and the
 * body in the provider's dialect: body NULL means the OpenAI-style body
 * goes out unchanged.  On any status but OK, detail says why.  The
 * credential header is auth_prefix followed by the key's secret.
 */
typedef struct AigovWireRequest
{
	char	   *body;			/* malloc'd; NULL: send the job's body */
	char		url[2048];
	char		detail[256];
} AigovWireRequest;

extern AigovTranslateStatus aigov_protocol_build_request(AigovApiStyle style,
														 const char *base_url,
														 const char *model,
														 const char *body,
														 size_t len,
														 const AigovTranslateOptions *opts,
														 AigovWireRequest *out);
extern void aigov_protocol_wire_free(AigovWireRequest *w);
extern const char *aigov_protocol_auth_prefix(AigovApiStyle style);
extern const char *aigov_protocol_version_header(AigovApiStyle style);
extern bool aigov_protocol_charges_characters(AigovApiStyle style);
extern bool aigov_protocol_reply_is_openai(AigovApiStyle style);
extern int	aigov_protocol_requests_window_s(AigovApiStyle style);

/* Usage */
extern bool aigov_protocol_parse_usage(AigovApiStyle style, const char *body,
									   size_t len, AigovUsage *out);

/* Scalar parsers and clocks, exposed for tests and fuzzers */
extern int64_t aigov_protocol_parse_go_duration(const char *s, size_t len);
extern int64_t aigov_protocol_parse_decimal(const char *s, size_t len,
											int64_t unit_us);
extern int64_t aigov_protocol_parse_rfc3339(const char *s, size_t len);
extern int64_t aigov_protocol_parse_http_date(const char *s, size_t len);
extern int64_t aigov_protocol_next_pacific_midnight_us(int64_t now_us);
extern int64_t aigov_protocol_next_utc_month_us(int64_t now_us);

#endif							/* AIGOV_PROTOCOL_H */
