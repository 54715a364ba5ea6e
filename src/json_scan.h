/*-------------------------------------------------------------------------
 * json_scan.h
 *	  A validating JSON scanner that builds no tree, in pure C.
 *
 * A dispatcher reads every success reply once to learn that it is one and
 * what usage it reports; building a jansson tree for that cost more than
 * the rest of the classification together.  aigov_json_scan() checks the
 * whole text and reads the few members the caller names.  It answers
 * only when it is sure that jansson (as aigov_protocol_json_parse() calls
 * it) would load the same text: whenever it is not (a key with escapes,
 * a number jansson might find too large, deep nesting, anything
 * invalid), it returns false and the caller parses with jansson, which
 * then has the last word, as it always had.
 *
 * IDENTIFICATION
 *	  src/json_scan.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_JSON_SCAN_H
#define AIGOV_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum AigovJsonType
{
	AIGOV_JSON_ABSENT = 0,
	AIGOV_JSON_OBJECT,
	AIGOV_JSON_ARRAY,
	AIGOV_JSON_STRING,
	AIGOV_JSON_INTEGER,
	AIGOV_JSON_REAL,
	AIGOV_JSON_TRUE,
	AIGOV_JSON_FALSE,
	AIGOV_JSON_NULL
} AigovJsonType;

/* How deep a member's path may reach, in object keys. */
#define AIGOV_JSON_SCAN_MAX_PATH 4
/* How many members one scan may read. */
#define AIGOV_JSON_SCAN_MAX_MEMBERS 16

/*
 * A member to read: path lists the keys from the top-level object down,
 * ending with NULL (an empty path names the top-level value itself).
 * The scan fills type, and integer when type is AIGOV_JSON_INTEGER.
 */
typedef struct AigovJsonMember
{
	const char *path[AIGOV_JSON_SCAN_MAX_PATH + 1];
	AigovJsonType type;
	int64_t		integer;
} AigovJsonMember;

/*
 * True when text[0..len) is one JSON object or array, jansson would load
 * it with JSON_REJECT_DUPLICATES, and the scanner is sure of both; the
 * members are then filled in.  False otherwise: the members are then
 * undefined and the caller must parse the text itself.
 */
extern bool aigov_json_scan(const char *text, size_t len,
							AigovJsonMember *members, int nmembers);

#endif							/* AIGOV_JSON_SCAN_H */
