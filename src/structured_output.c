/*-------------------------------------------------------------------------
 * structured_output.c
 *	  A request's response_format schema: compiled at enqueue, and held
 *	  against every choice of a successful reply.
 *
 * The schema is compiled once per check (a job's reply is checked once),
 * with the validator of json_schema.c.  Replies whose content is not JSON,
 * or does not conform, or that refuse to answer, are mismatches; the
 * worker turns a mismatch into error_class "schema_mismatch" (finish.c).
 *
 * IDENTIFICATION
 *	  src/structured_output.c
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "structured_output.h"

/* The response_format schema of a parsed body, or NULL. */
static json_t *
body_schema(json_t *body)
{
	json_t	   *rf = json_object_get(body, "response_format");
	const char *type = json_string_value(json_object_get(rf, "type"));

	if (type == NULL || strcmp(type, "json_schema") != 0)
		return NULL;
	return json_object_get(json_object_get(rf, "json_schema"), "schema");
}

/* Parses a body that may ask for a schema; NULL when it cannot. */
static json_t *
load_body(const char *body, size_t body_len)
{
	/* most bodies ask for no schema: skip the parse for them */
	if (memmem(body, body_len, "json_schema", 11) == NULL)
		return NULL;
	return json_loadb(body, body_len, JSON_REJECT_DUPLICATES, NULL);
}

AigovStructuredStatus
aigov_structured_check_request(const char *body, size_t body_len,
							   AigovSchemaStatus *st, AigovSchemaError *err)
{
	json_t	   *root = load_body(body, body_len);
	json_t	   *schema = body_schema(root);
	AigovJsonSchema *compiled = NULL;

	*st = AIGOV_SCHEMA_OK;
	memset(err, 0, sizeof(*err));
	if (schema == NULL)
	{
		json_decref(root);
		return AIGOV_STRUCTURED_NONE;
	}
	*st = aigov_json_schema_compile(schema, &compiled, err);
	aigov_json_schema_free(compiled);
	json_decref(root);
	return *st == AIGOV_SCHEMA_OK ? AIGOV_STRUCTURED_OK : AIGOV_STRUCTURED_REFUSED;
}

/* Holds one choice's message to the schema; true if it conforms. */
static bool
check_choice(const AigovJsonSchema *s, json_t *choice, const char *prefix,
			 char *msg, size_t msglen)
{
	json_t	   *message = json_object_get(choice, "message");
	json_t	   *content = json_object_get(message, "content");
	json_t	   *instance;
	json_error_t jerr;
	char		why[400];
	AigovSchemaResult r;

	if (!json_is_string(content))
	{
		if (json_array_size(json_object_get(message, "tool_calls")) > 0)
			return true;		/* a tool call answers no schema */
		snprintf(msg, msglen, "%sthe reply has %s instead of content in the schema",
				 prefix, json_is_string(json_object_get(message, "refusal")) ?
				 "a refusal" : "no text content");
		return false;
	}
	instance = json_loadb(json_string_value(content), json_string_length(content),
						  JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (instance == NULL)
	{
		/* jansson's text may quote the content: give the position only */
		snprintf(msg, msglen, "%sthe reply's content is not JSON (error at character %d)",
				 prefix, jerr.position);
		return false;
	}
	r = aigov_json_schema_validate(s, instance, why, sizeof(why));
	json_decref(instance);
	if (r == AIGOV_SCHEMA_VALID)
		return true;
	snprintf(msg, msglen, "%sthe reply does not match the response_format schema: %s",
			 prefix, why);
	return false;
}

AigovStructuredStatus
aigov_structured_check_reply(const char *body, size_t body_len,
							 const char *reply, size_t reply_len,
							 char *msg, size_t msglen)
{
	json_t	   *root = load_body(body, body_len);
	json_t	   *schema = body_schema(root);
	json_t	   *doc = NULL;
	json_t	   *choices;
	AigovJsonSchema *compiled = NULL;
	AigovSchemaError err;
	AigovStructuredStatus out = AIGOV_STRUCTURED_OK;

	if (msglen > 0)
		msg[0] = '\0';
	if (schema == NULL)
	{
		json_decref(root);
		return AIGOV_STRUCTURED_NONE;
	}
	if (aigov_json_schema_compile(schema, &compiled, &err) != AIGOV_SCHEMA_OK)
	{
		/* enqueued before schemas were checked: never succeed unchecked */
		snprintf(msg, msglen, "the response_format schema cannot be checked: %s at %s",
				 err.message, err.location);
		out = AIGOV_STRUCTURED_MISMATCH;
	}
	else if ((doc = json_loadb(reply, reply_len, 0, NULL)) == NULL ||
			 !json_is_array(choices = json_object_get(doc, "choices")) ||
			 json_array_size(choices) == 0)
	{
		snprintf(msg, msglen, "the reply has no choices to check against the response_format schema");
		out = AIGOV_STRUCTURED_MISMATCH;
	}
	else
	{
		size_t		n = json_array_size(choices);

		for (size_t i = 0; i < n && out == AIGOV_STRUCTURED_OK; i++)
		{
			char		prefix[32] = "";

			if (n > 1)
				snprintf(prefix, sizeof(prefix), "choice %zu: ", i);
			if (!check_choice(compiled, json_array_get(choices, i), prefix,
							  msg, msglen))
				out = AIGOV_STRUCTURED_MISMATCH;
		}
	}
	json_decref(doc);
	aigov_json_schema_free(compiled);
	json_decref(root);
	return out;
}
