/*-------------------------------------------------------------------------
 * schema.h
 *	  Deterministic JSON instances of a JSON Schema, conforming or not.
 *
 * IDENTIFICATION
 *	  emulator/schema.h
 *-------------------------------------------------------------------------
 */
#ifndef EMU_SCHEMA_H
#define EMU_SCHEMA_H

#include <stdbool.h>

#include <jansson.h>

extern json_t *emu_schema_instance(json_t *schema, const char *text,
								   bool conforming);

#endif							/* EMU_SCHEMA_H */
