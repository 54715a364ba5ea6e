/*-------------------------------------------------------------------------
 * request_fields.h
 *	  Which top-level fields of an OpenAI chat-completions request aigov
 *	  accepts, and what it makes of "stream" and "n".
 *
 * Pure C, no postgres.h.  The OpenAI and Azure dialects send a job's body
 * to the provider byte for byte, so every field in it reaches the
 * provider: one that costs money or changes where data goes ("store",
 * "service_tier", "audio", "web_search_options", ...) must not slip
 * through.  The enqueue trigger holds each body to this list, field by
 * field; a field not on it is refused there, not dropped later.
 *
 * IDENTIFICATION
 *	  src/request_fields.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_REQUEST_FIELDS_H
#define AIGOV_REQUEST_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json_scan.h"

/* The most choices ("n") one job may ask for. */
#define AIGOV_REQUEST_MAX_N		16

typedef enum AigovFieldStatus
{
	AIGOV_FIELD_OK = 0,
	AIGOV_FIELD_UNKNOWN,		/* not on the list: refused */
	AIGOV_FIELD_STREAM,			/* "stream": true; replies are stored whole */
	AIGOV_FIELD_BAD_STREAM,		/* "stream" is not a boolean */
	AIGOV_FIELD_BAD_N			/* "n" is not an integer in 1..MAX_N */
} AigovFieldStatus;

/*
 * aigov_request_field_check
 *		Checks one top-level field: its name (name[0..len), not
 *		NUL-terminated), its JSON type and, for a number, its text as JSON
 *		wrote it (NULL otherwise).  Sets *n to the field's value when the
 *		field is a valid "n"; leaves it alone otherwise.
 */
extern AigovFieldStatus aigov_request_field_check(const char *name, size_t len,
												  AigovJsonType type,
												  const char *number,
												  int64_t *n);

/* The accepted fields, NULL-terminated, in the order the docs list them. */
extern const char *const *aigov_request_fields(void);

#endif							/* AIGOV_REQUEST_FIELDS_H */
