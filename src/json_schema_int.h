/*-------------------------------------------------------------------------
 * json_schema_int.h
 *	  What the compiler and the validator of JSON Schemas share: the
 *	  compiled form of one subschema.
 *
 * Pure C, no postgres.h.  Every array and string a node points to is
 * either allocated with the schema (and freed with it) or owned by the
 * schema document, which the compiled schema keeps a reference to.
 *
 * IDENTIFICATION
 *	  src/json_schema_int.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_JSON_SCHEMA_INT_H
#define AIGOV_JSON_SCHEMA_INT_H

#include <regex.h>
#include <stdint.h>

#include <jansson.h>

#include "json_schema.h"

/* Bits of SchemaNode.types. */
#define SCHEMA_T_NULL		0x01
#define SCHEMA_T_BOOLEAN	0x02
#define SCHEMA_T_OBJECT		0x04
#define SCHEMA_T_ARRAY		0x08
#define SCHEMA_T_NUMBER		0x10
#define SCHEMA_T_INTEGER	0x20
#define SCHEMA_T_STRING		0x40

typedef struct SchemaPattern
{
	const char *source;			/* as the schema wrote it */
	regex_t		re;
} SchemaPattern;

typedef struct SchemaNode SchemaNode;

typedef struct SchemaList
{
	size_t		n;
	SchemaNode **items;
} SchemaList;

struct SchemaNode
{
	const json_t *src;			/* the schema's JSON */
	int			boolean;		/* -1: an object; 0: false; 1: true */
	unsigned	types;			/* 0: any */

	/* objects */
	const json_t *properties;	/* the "properties" object, or NULL */
	SchemaList	props;			/* its schemas, in its iteration order */
	const char **prop_names;
	size_t		npatterns;		/* patternProperties */
	SchemaPattern **patterns;
	SchemaNode **pattern_nodes;
	SchemaNode *additional;		/* additionalProperties, or NULL */
	SchemaNode *property_names;
	size_t		nrequired;
	const char **required;
	int64_t		min_props;		/* -1: none */
	int64_t		max_props;

	/* arrays */
	SchemaList	prefix;
	SchemaNode *items;
	int64_t		min_items;
	int64_t		max_items;
	bool		unique;

	/* strings */
	int64_t		min_len;
	int64_t		max_len;
	SchemaPattern *pattern;

	/* numbers */
	const json_t *minimum;
	const json_t *maximum;
	const json_t *ex_minimum;
	const json_t *ex_maximum;
	const json_t *multiple_of;

	/* any type */
	const json_t *enum_values;
	const json_t *const_value;	/* NULL: no const */
	SchemaList	all_of;
	SchemaList	any_of;
	SchemaList	one_of;
	SchemaNode *not_;
	const char *ref;			/* "$ref", or NULL */
	char	   *ref_at;			/* where it is, as a JSON pointer */
	SchemaNode *ref_target;

	int			mark;			/* cycle search: 0 new, 1 open, 2 done */
};

struct AigovJsonSchema
{
	json_t	   *document;		/* a reference we hold */
	SchemaNode *root;
	size_t		nnodes;
	SchemaNode **nodes;
	size_t		nallocs;
	size_t		allocs_cap;
	void	  **allocs;			/* everything else malloc'd for it */
	size_t		npatterns;
	SchemaPattern **all_patterns;	/* regfree'd with it */
};

/* json_schema_pattern.c: bounds that keep regcomp() small */
#define AIGOV_SCHEMA_MAX_REPEAT		256 /* largest bound of "{n,m}" */
#define AIGOV_SCHEMA_MAX_GROUPS		8	/* groups nested in one another */

extern AigovSchemaStatus aigov_schema_pattern_translate(const char *ecma,
														char *ere,
														size_t erelen,
														char *why,
														size_t whylen);

#endif							/* AIGOV_JSON_SCHEMA_INT_H */
