/*-------------------------------------------------------------------------
 * response_format.c
 *	  Refuses, at enqueue, a request whose response_format JSON schema
 *	  aigov could not hold the reply to.
 *
 * The schema is compiled by the pure validator (structured_output.c,
 * json_schema.c); this file turns its verdict into PostgreSQL errors:
 * 0A000 for a keyword (or a form of one) that is not supported, 22023
 * for a schema that is not valid, 54000 for one over the validator's
 * limits.  Each names the keyword and where it is in the schema.
 *
 * IDENTIFICATION
 *	  src/response_format.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "response_format.h"
#include "structured_output.h"

/*
 * AigovCheckResponseFormat
 *		Raises an error if the request body (JSON text of len bytes) asks
 *		for a JSON schema that the validator refuses.  Can ereport; frees
 *		everything it allocates before it does.
 */
void
AigovCheckResponseFormat(const char *body, size_t len)
{
	AigovSchemaStatus st;
	AigovSchemaError err;

	if (aigov_structured_check_request(body, len, &st, &err) !=
		AIGOV_STRUCTURED_REFUSED)
		return;
	switch (st)
	{
		case AIGOV_SCHEMA_UNSUPPORTED:
			if (strncmp(err.message, "keyword ", 8) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("JSON schema keyword \"%s\" of response_format is not supported",
								err.keyword),
						 errdetail("It is at \"%s\" in the schema.", err.location),
						 errhint("Remove it, or express the constraint with the supported keywords (see \"Structured output\" in the documentation).")));
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("JSON schema keyword \"%s\" of response_format is used in a way that is not supported",
							err.keyword),
					 errdetail("At \"%s\" in the schema: %s.", err.location, err.message),
					 errhint("See \"Structured output\" in the documentation for what each keyword supports.")));
			break;
		case AIGOV_SCHEMA_TOO_LARGE:
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("JSON schema of response_format is too large"),
					 errdetail("At \"%s\" in the schema: %s.", err.location, err.message),
					 errhint("Simplify the schema; the limits are listed under \"Structured output\" in the documentation.")));
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 err.keyword[0] != '\0' ?
					 errmsg("JSON schema of response_format has an invalid \"%s\"",
							err.keyword) :
					 errmsg("JSON schema of response_format is invalid"),
					 errdetail("At \"%s\" in the schema: %s.", err.location, err.message)));
			break;
	}
}
