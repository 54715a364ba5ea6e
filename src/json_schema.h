/*-------------------------------------------------------------------------
 * json_schema.h
 *	  A JSON Schema (draft 2020-12) validator over jansson, for the schemas
 *	  of structured-output requests.
 *
 * Pure C, no postgres.h.  A schema is compiled once: every keyword is
 * checked against the supported set (anything else refuses the schema
 * with the keyword's name), patterns are compiled, "$ref"s are resolved
 * within the document and "$ref" cycles that consume no input are
 * refused.  The compiled schema then validates any number of instances.
 * Compiling and validating are bounded in size, depth and work, since
 * schemas come from tenants (docs/structured-output.md lists the limits).
 *
 * IDENTIFICATION
 *	  src/json_schema.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_JSON_SCHEMA_H
#define AIGOV_JSON_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

/* jansson's value type (C11 allows the same typedef twice) */
typedef struct json_t json_t;

/* Limits on a tenant's schema and on the work of one validation. */
#define AIGOV_SCHEMA_MAX_NODES		4096	/* subschemas in one document */
#define AIGOV_SCHEMA_MAX_NESTING	64	/* subschemas nested in one another */
#define AIGOV_SCHEMA_MAX_PATTERN	1024	/* bytes of one pattern */
#define AIGOV_SCHEMA_MAX_DEPTH		256 /* nested checks of one validation */
#define AIGOV_SCHEMA_MAX_STEPS		1000000 /* checks of one validation */

typedef enum AigovSchemaStatus
{
	AIGOV_SCHEMA_OK = 0,
	AIGOV_SCHEMA_UNSUPPORTED,	/* a keyword (or a form of it) we do not
								 * implement */
	AIGOV_SCHEMA_MALFORMED,		/* not a valid schema */
	AIGOV_SCHEMA_TOO_LARGE		/* over one of the limits above */
} AigovSchemaStatus;

/* Why a schema was refused. */
typedef struct AigovSchemaError
{
	char		keyword[64];	/* the keyword at fault; "" if none */
	char		location[256];	/* where: "#" and the JSON pointer */
	char		message[256];	/* what is wrong, one sentence, no period */
} AigovSchemaError;

typedef enum AigovSchemaResult
{
	AIGOV_SCHEMA_VALID = 0,
	AIGOV_SCHEMA_INVALID,		/* the instance does not conform */
	AIGOV_SCHEMA_LIMIT			/* validation stopped at a depth or work limit */
} AigovSchemaResult;

typedef struct AigovJsonSchema AigovJsonSchema;

/*
 * aigov_json_schema_compile
 *		Compiles a schema (an object or a boolean).  On success *out holds
 *		the compiled schema, which keeps a reference to `schema`; free it
 *		with aigov_json_schema_free().  On failure *out is NULL and *err
 *		says why.
 */
extern AigovSchemaStatus aigov_json_schema_compile(json_t *schema,
												   AigovJsonSchema **out,
												   AigovSchemaError *err);

/*
 * aigov_json_schema_validate
 *		Validates an instance.  Unless valid, msg (of msglen bytes) gets
 *		"<instance JSON pointer>: <reason>" naming the keyword, for the
 *		first failure found.  Allocates nothing.
 */
extern AigovSchemaResult aigov_json_schema_validate(const AigovJsonSchema *schema,
													const json_t *instance,
													char *msg, size_t msglen);

extern void aigov_json_schema_free(AigovJsonSchema *schema);

extern const char *aigov_schema_status_name(AigovSchemaStatus status);

/* The keywords compile accepts, NULL-terminated, in the order docs list. */
extern const char *const *aigov_json_schema_keywords(void);

/* JSON equality: numbers by value (1 == 1.0), objects without order. */
extern bool aigov_json_equal(const json_t *a, const json_t *b);

#endif							/* AIGOV_JSON_SCHEMA_H */
