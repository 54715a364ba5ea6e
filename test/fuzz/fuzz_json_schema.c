/*-------------------------------------------------------------------------
 * fuzz_json_schema.c
 *	  libFuzzer target for the JSON Schema validator (src/json_schema*.c).
 *
 * Input layout: a schema's JSON text, a NUL byte, then an instance's JSON
 * text (any JSON value, NULs in strings allowed).  Without the NUL the
 * whole input is the schema and the instance is null.  A schema that
 * compiles validates the instance twice; the promises checked are that
 * compiling and validating end (within the validator's limits), that both
 * validations agree, that a failure always comes with a message and a
 * success with none, and that JSON equality holds for a value with itself.
 * Any difference aborts.
 *
 * IDENTIFICATION
 *	  test/fuzz/fuzz_json_schema.c
 *-------------------------------------------------------------------------
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json_schema.h"
#include "fuzz_util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t		slen = nul ? (size_t) (nul - data) : size;
	char	   *stext = fuzz_copy_exact(data, slen);
	json_t	   *schema = json_loadb(stext, slen, JSON_DECODE_ANY, NULL);
	json_t	   *inst = NULL;
	AigovJsonSchema *s = NULL;
	AigovSchemaError err;
	char		m1[256],
				m2[256];

	free(stext);
	if (schema == NULL)
		return 0;
	if (nul != NULL)
	{
		char	   *itext = fuzz_copy_exact(nul + 1, size - slen - 1);

		inst = json_loadb(itext, size - slen - 1, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
		free(itext);
	}
	if (inst == NULL)
		inst = json_null();
	if (!aigov_json_equal(schema, schema) || !aigov_json_equal(inst, inst))
		abort();
	if (aigov_json_schema_compile(schema, &s, &err) == AIGOV_SCHEMA_OK)
	{
		AigovSchemaResult r1 = aigov_json_schema_validate(s, inst, m1, sizeof(m1));
		AigovSchemaResult r2 = aigov_json_schema_validate(s, inst, m2, sizeof(m2));

		if (r1 != r2 || strcmp(m1, m2) != 0)
			abort();
		if ((r1 == AIGOV_SCHEMA_VALID) != (m1[0] == '\0'))
			abort();
		aigov_json_schema_free(s);
	}
	else if (s != NULL || err.message[0] == '\0' || err.location[0] != '#')
		abort();
	json_decref(inst);
	json_decref(schema);
	return 0;
}
