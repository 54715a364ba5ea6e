/*-------------------------------------------------------------------------
 * structured_output.h
 *	  The JSON schema of a request's response_format, checked when the job
 *	  is enqueued and held against the reply before the job may succeed.
 *
 * Pure C, no postgres.h.  A request asks for structured output with
 * "response_format": {"type": "json_schema", "json_schema": {"schema":
 * ...}}.  At enqueue the schema must compile (json_schema.h); after a
 * successful call, the content of every choice (in the OpenAI shape that
 * every reply is normalised to) must be JSON that conforms to it.
 *
 * IDENTIFICATION
 *	  src/structured_output.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_STRUCTURED_OUTPUT_H
#define AIGOV_STRUCTURED_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>

#include "json_schema.h"

typedef enum AigovStructuredStatus
{
	AIGOV_STRUCTURED_NONE = 0,	/* the request asks for no JSON schema */
	AIGOV_STRUCTURED_OK,		/* the schema compiles / the reply conforms */
	AIGOV_STRUCTURED_REFUSED,	/* the schema is refused (see the error) */
	AIGOV_STRUCTURED_MISMATCH	/* the reply does not conform */
} AigovStructuredStatus;

/*
 * aigov_structured_check_request
 *		Compiles the response_format schema of a request body (JSON text,
 *		body_len bytes).  NONE if it asks for none (or is not a JSON
 *		object: the body's other checks refuse that); REFUSED with *st and
 *		*err filled when the schema cannot be used.
 */
extern AigovStructuredStatus aigov_structured_check_request(const char *body,
															size_t body_len,
															AigovSchemaStatus *st,
															AigovSchemaError *err);

/*
 * aigov_structured_check_reply
 *		Holds a successful reply (an OpenAI chat.completion, reply_len
 *		bytes) to the response_format schema of its request body.  On
 *		MISMATCH, msg (msglen bytes) says why, in words that never quote
 *		the reply's content beyond the JSON pointer of the failure.
 *		Choices that call tools are not held to the schema.
 */
extern AigovStructuredStatus aigov_structured_check_reply(const char *body,
														  size_t body_len,
														  const char *reply,
														  size_t reply_len,
														  char *msg,
														  size_t msglen);

#endif							/* AIGOV_STRUCTURED_OUTPUT_H */
