/*-------------------------------------------------------------------------
 * reply.h
 *	  Request parsing and response bodies of the provider dialects.
 *
 * IDENTIFICATION
 *	  emulator/reply.h
 *-------------------------------------------------------------------------
 */
#ifndef EMU_REPLY_H
#define EMU_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"
#include "emu.h"
#include "quota.h"

/* Bytes of the last user message echoed in the reply. */
#define EMU_ECHO_MAX		200
#define EMU_MODEL_MAX		128
#define EMU_TOOL_NAME_MAX	128

/* What kind of content the reply must carry. */
typedef enum EmuOutKind
{
	EMU_OUT_TEXT = 0,
	EMU_OUT_JSON_OBJECT,		/* JSON mode without a schema */
	EMU_OUT_JSON_SCHEMA,		/* structured output */
	EMU_OUT_TOOL				/* a call of one of the offered tools */
} EmuOutKind;

/* The parts of a request the emulator acts on. */
typedef struct EmuRequest
{
	json_t	   *root;			/* owned; freed by emu_request_free */
	char		model[EMU_MODEL_MAX];
	char		echo[EMU_ECHO_MAX + 1]; /* last user text, truncated */
	int64_t		prompt_tokens;	/* estimate, also reported as usage */
	int64_t		max_tokens;		/* output cap; -1 when absent */
	EmuOutKind	out;
	json_t	   *schema;			/* borrowed from root (JSON_SCHEMA) */
	char		tool_name[EMU_TOOL_NAME_MAX];	/* EMU_OUT_TOOL */
	json_t	   *tool_schema;	/* borrowed; NULL = no parameters */
} EmuRequest;

typedef enum EmuParseStatus
{
	EMU_PARSE_OK = 0,
	EMU_PARSE_BAD_JSON,			/* not JSON, or not an object */
	EMU_PARSE_INVALID			/* JSON, but not a valid request */
} EmuParseStatus;

/* How to charge OpenAI token buckets: prompt + max_tokens, or the max. */
typedef enum EmuChargeMode
{
	EMU_CHARGE_SUM = 0,
	EMU_CHARGE_MAX
} EmuChargeMode;

typedef struct EmuReplyOpts
{
	bool		nonconforming;	/* structured output that breaks its schema */
	uint64_t	seq;			/* makes ids unique */
	int64_t		created;		/* unix seconds for OpenAI "created" */
	bool		nonjson;		/* structured output as plain text */
} EmuReplyOpts;

typedef struct EmuUsage
{
	int64_t		prompt_tokens;
	int64_t		completion_tokens;
} EmuUsage;

/* Error bodies other than rate limits. */
typedef enum EmuErrKind
{
	EMU_ERR_BAD_JSON = 0,		/* 400 */
	EMU_ERR_INVALID,			/* 400, detail = message */
	EMU_ERR_NO_KEY,				/* 401 (Gemini 403) */
	EMU_ERR_BAD_KEY,			/* 401 (Gemini 400 API_KEY_INVALID) */
	EMU_ERR_MODEL,				/* 404, detail = model */
	EMU_ERR_TOO_BIG,			/* 413 (Gemini 400) */
	EMU_ERR_SERVER,				/* status 500, 502, 503 or 529 */
	EMU_ERR_NO_API_VERSION,		/* Azure: 404 without ?api-version */
	EMU_ERR_BAD_API_VERSION,	/* Azure: 400, not YYYY-MM-DD[-preview] */
	EMU_ERR_FORBIDDEN,			/* 403: a valid key refused this request */
	EMU_ERR_CONTEXT				/* 400: over the model's context window,
								 * detail = message (emu_context_message) */
} EmuErrKind;

/* What a 429 body needs besides the admission outcome. */
typedef struct EmuLimitCtx
{
	const char *model;
	const char *org;			/* OpenAI organization id */
	const char *anthropic_org;	/* Anthropic organization uuid */
	bool		gemini_free_tier;
	const char *request_id;
	int64_t		wall_now_us;	/* for Anthropic's "regain access on" */
	const char *api_version;	/* Azure: named in the 429 text */
	const char *azure_tier;		/* Azure: "OpenAI S0" */
} EmuLimitCtx;

extern EmuParseStatus emu_request_parse(EmuProvider p, const char *body,
										size_t len, const char *path_model,
										EmuRequest *req, char *err,
										size_t errlen);
extern void emu_request_free(EmuRequest *req);
extern int64_t emu_request_charge(EmuProvider p, const EmuRequest *req,
								  EmuChargeMode mode);
extern size_t emu_utf8_cut(const char *s, size_t len, size_t max);
extern void emu_reply_text(const EmuRequest *req, char *buf, size_t len);
extern bool emu_reply_build(EmuProvider p, const EmuRequest *req,
							const EmuReplyOpts *o, EmuBuf *out,
							EmuUsage *usage);
extern void emu_reply_malform(EmuBuf *b);
extern int	emu_error_body(EmuProvider p, EmuErrKind kind, int status,
						   const char *detail, const char *request_id,
						   EmuBuf *out, bool *html);
extern bool emu_context_exceeded(EmuProvider p, int64_t prompt,
								 int64_t max_tokens, int64_t window,
								 char *msg, size_t len);
extern void emu_ratelimit_body(EmuProvider p, const EmuAdmit *a,
							   const EmuLimitCtx *c, EmuBuf *out);
extern int64_t emu_gemini_retry_delay_us(const EmuAdmit *a);
extern bool emu_azure_api_version_ok(const char *v);

#endif							/* EMU_REPLY_H */
