/*-------------------------------------------------------------------------
 * json_schema.c
 *	  Compiling a JSON Schema (draft 2020-12): the supported keywords,
 *	  their values, patterns, "$ref" resolution and the refusal of "$ref"
 *	  cycles that consume no input.
 *
 * A schema that uses a keyword this file does not know is refused with
 * the keyword's name rather than half-checked: a tenant must never believe
 * a reply was held to a rule nobody checked.  Validation is in
 * json_schema_validate.c, pattern translation in json_schema_pattern.c.
 *
 * IDENTIFICATION
 *	  src/json_schema.c
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_schema_int.h"

#define DRAFT_2020_12	"https://json-schema.org/draft/2020-12/schema"

typedef struct Compiler
{
	AigovJsonSchema *s;
	AigovSchemaError *err;
	AigovSchemaStatus status;
	char		path[240];		/* the schema location being compiled */
	size_t		path_len;
	bool		path_cut;		/* the path did not fit */
} Compiler;

typedef bool (*KeywordFn) (Compiler *c, SchemaNode *n, const char *key,
						   json_t *v, int depth);

typedef struct Keyword
{
	const char *name;
	KeywordFn	fn;
} Keyword;

static SchemaNode *compile_node(Compiler *c, json_t *js, int depth,
								bool is_root);
static bool fail(Compiler *c, AigovSchemaStatus st, const char *keyword,
				 const char *fmt,...) __attribute__((format(printf, 4, 5)));

/* Records the first failure; returns false so callers can return it. */
static bool
fail(Compiler *c, AigovSchemaStatus st, const char *keyword,
	 const char *fmt,...)
{
	va_list		ap;

	if (c->status != AIGOV_SCHEMA_OK)
		return false;
	c->status = st;
	snprintf(c->err->keyword, sizeof(c->err->keyword), "%s",
			 keyword ? keyword : "");
	snprintf(c->err->location, sizeof(c->err->location), "#%s%s",
			 c->path, c->path_cut ? "..." : "");
	va_start(ap, fmt);
	vsnprintf(c->err->message, sizeof(c->err->message), fmt, ap);
	va_end(ap);
	return false;
}

/* Allocates zeroed memory that is freed with the schema; NULL if none. */
static void *
salloc(Compiler *c, size_t size)
{
	AigovJsonSchema *s = c->s;
	void	   *p;

	if (s->nallocs == s->allocs_cap)
	{
		size_t		cap = s->allocs_cap ? s->allocs_cap * 2 : 64;
		void	  **a = realloc(s->allocs, cap * sizeof(void *));

		if (a == NULL)
			return NULL;
		s->allocs = a;
		s->allocs_cap = cap;
	}
	p = calloc(1, size ? size : 1);
	if (p != NULL)
		s->allocs[s->nallocs++] = p;
	else
		fail(c, AIGOV_SCHEMA_TOO_LARGE, NULL, "out of memory");
	return p;
}

/*
 * path_push
 *		Appends a JSON pointer segment (escaped) to the schema location and
 *		returns the length to restore with path_pop().
 */
static size_t
path_push(Compiler *c, const char *seg)
{
	size_t		old = c->path_len;

	if (c->path_cut || c->path_len + 2 >= sizeof(c->path))
	{
		c->path_cut = true;
		return old;
	}
	c->path[c->path_len++] = '/';
	for (; *seg != '\0'; seg++)
	{
		const char *esc = *seg == '~' ? "~0" : *seg == '/' ? "~1" : NULL;
		size_t		need = esc ? 2 : 1;

		if (c->path_len + need + 1 >= sizeof(c->path))
		{
			c->path_cut = true;
			break;
		}
		if (esc)
		{
			memcpy(c->path + c->path_len, esc, 2);
			c->path_len += 2;
		}
		else
			c->path[c->path_len++] = *seg;
	}
	c->path[c->path_len] = '\0';
	return old;
}

static void
path_pop(Compiler *c, size_t old)
{
	c->path_len = old;
	c->path[old] = '\0';
	c->path_cut = false;
}

/* A non-negative integer keyword value (2.0 counts); -1 if it is not. */
static int64_t
count_value(const json_t *v)
{
	if (json_is_integer(v))
		return json_integer_value(v) >= 0 ? (int64_t) json_integer_value(v) : -1;
	if (json_is_real(v))
	{
		double		d = json_real_value(v);

		if (d >= 0 && d <= 9007199254740992.0 && d == floor(d))
			return (int64_t) d;
	}
	return -1;
}

/*
 * Compiles the subschema v of keyword key (whose name the path holds
 * already) at segment seg, if any.
 */
static SchemaNode *
sub(Compiler *c, const char *key, const char *seg, json_t *v, int depth)
{
	size_t		old = c->path_len;
	SchemaNode *n;

	if (seg != NULL)
		path_push(c, seg);
	n = compile_node(c, v, depth + 1, false);
	path_pop(c, old);
	return n;
}

static bool
kw_type(Compiler *c, SchemaNode *n, const char *key, json_t *v, int depth)
{
	static const char *const names[] = {
		"null", "boolean", "object", "array", "number", "integer", "string"
	};
	json_t	   *one = v;
	size_t		i = 0;

	if (json_is_array(v) && json_array_size(v) == 0)
		return fail(c, AIGOV_SCHEMA_MALFORMED, key,
					"\"type\" must not be an empty array");
	if (!json_is_string(v) && !json_is_array(v))
		return fail(c, AIGOV_SCHEMA_MALFORMED, key,
					"\"type\" must be a string or an array of strings");
	do
	{
		const char *t;
		unsigned	bit = 0;

		if (json_is_array(v))
			one = json_array_get(v, i);
		t = json_string_value(one);
		for (int k = 0; t != NULL && k < 7; k++)
			if (strcmp(t, names[k]) == 0)
				bit = 1u << k;
		if (bit == 0)
			return fail(c, AIGOV_SCHEMA_MALFORMED, key,
						"\"type\" names an unknown type");
		if (n->types & bit)
			return fail(c, AIGOV_SCHEMA_MALFORMED, key,
						"\"type\" names a type twice");
		n->types |= bit;
	} while (json_is_array(v) && ++i < json_array_size(v));
	return true;
}

static bool
kw_properties(Compiler *c, SchemaNode *n, const char *key, json_t *v,
			  int depth)
{
	const char *name;
	json_t	   *sv;
	size_t		i = 0;

	if (!json_is_object(v))
		return fail(c, AIGOV_SCHEMA_MALFORMED, key,
					"\"properties\" must be an object");
	n->properties = v;
	n->props.n = json_object_size(v);
	n->props.items = salloc(c, n->props.n * sizeof(SchemaNode *));
	n->prop_names = salloc(c, n->props.n * sizeof(char *));
	if (n->props.items == NULL || n->prop_names == NULL)
		return false;
	json_object_foreach(v, name, sv)
	{
		n->prop_names[i] = name;
		if ((n->props.items[i++] = sub(c, key, name, sv, depth)) == NULL)
			return false;
	}
	return true;
}

/* Compiles a pattern; NULL (with the failure recorded) if it cannot be. */
static SchemaPattern *
compile_pattern(Compiler *c, const char *key, const char *src)
{
	AigovJsonSchema *s = c->s;
	SchemaPattern *p;
	char		ere[AIGOV_SCHEMA_MAX_PATTERN * 4];
	char		why[128];
	AigovSchemaStatus st;
	SchemaPattern **grown;
	int			rc;

	if (strlen(src) > AIGOV_SCHEMA_MAX_PATTERN)
	{
		fail(c, AIGOV_SCHEMA_TOO_LARGE, key,
			 "pattern is longer than %d bytes", AIGOV_SCHEMA_MAX_PATTERN);
		return NULL;
	}
	st = aigov_schema_pattern_translate(src, ere, sizeof(ere), why, sizeof(why));
	if (st != AIGOV_SCHEMA_OK)
	{
		fail(c, st, key, "pattern \"%s\" %s", src, why);
		return NULL;
	}
	p = salloc(c, sizeof(SchemaPattern));
	grown = realloc(s->all_patterns, (s->npatterns + 1) * sizeof(*grown));
	if (p == NULL || grown == NULL)
	{
		if (grown != NULL)
			s->all_patterns = grown;
		fail(c, AIGOV_SCHEMA_TOO_LARGE, key, "out of memory");
		return NULL;
	}
	s->all_patterns = grown;
	rc = regcomp(&p->re, ere, REG_EXTENDED | REG_NOSUB);
	if (rc != 0)
	{
		regerror(rc, &p->re, why, sizeof(why));
		fail(c, AIGOV_SCHEMA_MALFORMED, key,
			 "pattern \"%s\" cannot be compiled: %s", src, why);
		return NULL;
	}
	p->source = src;
	s->all_patterns[s->npatterns++] = p;
	return p;
}

static bool
kw_pattern_properties(Compiler *c, SchemaNode *n, const char *key,
					  json_t *v, int depth)
{
	const char *name;
	json_t	   *sv;
	size_t		i = 0;

	if (!json_is_object(v))
		return fail(c, AIGOV_SCHEMA_MALFORMED, key,
					"\"patternProperties\" must be an object");
	n->npatterns = json_object_size(v);
	n->patterns = salloc(c, n->npatterns * sizeof(SchemaPattern *));
	n->pattern_nodes = salloc(c, n->npatterns * sizeof(SchemaNode *));
	if (n->patterns == NULL || n->pattern_nodes == NULL)
		return false;
	json_object_foreach(v, name, sv)
	{
		n->patterns[i] = compile_pattern(c, key, name);
		if (n->patterns[i] == NULL)
			return false;
		if ((n->pattern_nodes[i++] = sub(c, key, name, sv, depth)) == NULL)
			return false;
	}
	return true;
}

/* additionalProperties, propertyNames, items, not: one subschema. */
static bool
kw_single(Compiler *c, SchemaNode *n, const char *key, json_t *v, int depth)
{
	SchemaNode *s = sub(c, key, NULL, v, depth);

	if (s == NULL)
		return false;
	if (strcmp(key, "additionalProperties") == 0)
		n->additional = s;
	else if (strcmp(key, "propertyNames") == 0)
		n->property_names = s;
	else if (strcmp(key, "items") == 0)
		n->items = s;
	else
		n->not_ = s;
	return true;
}

/* prefixItems, allOf, anyOf, oneOf: a non-empty array of subschemas. */
static bool
kw_list(Compiler *c, SchemaNode *n, const char *key, json_t *v, int depth)
{
	SchemaList *l = strcmp(key, "prefixItems") == 0 ? &n->prefix :
		strcmp(key, "allOf") == 0 ? &n->all_of :
		strcmp(key, "anyOf") == 0 ? &n->any_of : &n->one_of;
	size_t		i;
	json_t	   *sv;

	if (!json_is_array(v) || json_array_size(v) == 0)
		return fail(c, AIGOV_SCHEMA_MALFORMED, key,
					"\"%s\" must be a non-empty array of schemas", key);
	l->n = json_array_size(v);
	l->items = salloc(c, l->n * sizeof(SchemaNode *));
	if (l->items == NULL)
		return false;
	json_array_foreach(v, i, sv)
	{
		char		idx[24];

		snprintf(idx, sizeof(idx), "%zu", i);
		if ((l->items[i] = sub(c, key, idx, sv, depth)) == NULL)
			return false;
	}
	return true;
}

static bool
kw_required(Compiler *c, SchemaNode *n, const char *key, json_t *v, int depth)
{
	size_t		i;
	json_t	   *sv;

	if (!json_is_array(v))
		return fail(c, AIGOV_SCHEMA_MALFORMED, key,
					"\"required\" must be an array of strings");
	n->nrequired = json_array_size(v);
	n->required = salloc(c, n->nrequired * sizeof(char *));
	if (n->required == NULL)
		return false;
	json_array_foreach(v, i, sv)
	{
		if (!json_is_string(sv))
			return fail(c, AIGOV_SCHEMA_MALFORMED, key,
						"\"required\" must be an array of strings");
		n->required[i] = json_string_value(sv);
	}
	return true;
}

/* minLength, maxLength, minItems, maxItems, minProperties, maxProperties */
static bool
kw_count(Compiler *c, SchemaNode *n, const char *key, json_t *v, int depth)
{
	int64_t		value = count_value(v);

	if (value < 0)
		return fail(c, AIGOV_SCHEMA_MALFORMED, key,
					"\"%s\" must be a non-negative integer", key);
	if (strcmp(key, "minLength") == 0)
		n->min_len = value;
	else if (strcmp(key, "maxLength") == 0)
		n->max_len = value;
	else if (strcmp(key, "minItems") == 0)
		n->min_items = value;
	else if (strcmp(key, "maxItems") == 0)
		n->max_items = value;
	else if (strcmp(key, "minProperties") == 0)
		n->min_props = value;
	else
		n->max_props = value;
	return true;
}

/* minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf */
static bool
kw_bound(Compiler *c, SchemaNode *n, const char *key, json_t *v, int depth)
{
	if (!json_is_number(v))
		return fail(c, AIGOV_SCHEMA_MALFORMED, key,
					"\"%s\" must be a number", key);
	if (strcmp(key, "minimum") == 0)
		n->minimum = v;
	else if (strcmp(key, "maximum") == 0)
		n->maximum = v;
	else if (strcmp(key, "exclusiveMinimum") == 0)
		n->ex_minimum = v;
	else if (strcmp(key, "exclusiveMaximum") == 0)
		n->ex_maximum = v;
	else
	{
		if (json_number_value(v) <= 0)
			return fail(c, AIGOV_SCHEMA_MALFORMED, key,
						"\"multipleOf\" must be greater than 0");
		n->multiple_of = v;
	}
	return true;
}

static bool
kw_misc(Compiler *c, SchemaNode *n, const char *key, json_t *v, int depth)
{
	if (strcmp(key, "uniqueItems") == 0)
	{
		if (!json_is_boolean(v))
			return fail(c, AIGOV_SCHEMA_MALFORMED, key,
						"\"uniqueItems\" must be a boolean");
		n->unique = json_is_true(v);
	}
	else if (strcmp(key, "enum") == 0)
	{
		if (!json_is_array(v))
			return fail(c, AIGOV_SCHEMA_MALFORMED, key,
						"\"enum\" must be an array");
		n->enum_values = v;
	}
	else if (strcmp(key, "const") == 0)
		n->const_value = v;
	else if (strcmp(key, "pattern") == 0)
	{
		if (!json_is_string(v))
			return fail(c, AIGOV_SCHEMA_MALFORMED, key,
						"\"pattern\" must be a string");
		n->pattern = compile_pattern(c, key, json_string_value(v));
		return n->pattern != NULL;
	}
	return true;
}

static bool
kw_ref(Compiler *c, SchemaNode *n, const char *key, json_t *v, int depth)
{
	const char *ref = json_string_value(v);

	if (ref == NULL)
		return fail(c, AIGOV_SCHEMA_MALFORMED, key, "\"$ref\" must be a string");
	if (ref[0] != '#')
		return fail(c, AIGOV_SCHEMA_UNSUPPORTED, key,
					"\"$ref\" \"%s\" is not within this document; only \"#\" and \"#/...\" JSON pointers are supported",
					ref);
	if (ref[1] != '\0' && ref[1] != '/')
		return fail(c, AIGOV_SCHEMA_UNSUPPORTED, key,
					"\"$ref\" \"%s\" names an anchor; only \"#\" and \"#/...\" JSON pointers are supported",
					ref);
	n->ref = ref;
	n->ref_at = salloc(c, c->path_len + 1);
	if (n->ref_at == NULL)
		return false;
	memcpy(n->ref_at, c->path, c->path_len + 1);
	return true;
}

static bool
kw_defs(Compiler *c, SchemaNode *n, const char *key, json_t *v, int depth)
{
	const char *name;
	json_t	   *sv;

	if (!json_is_object(v))
		return fail(c, AIGOV_SCHEMA_MALFORMED, key, "\"$defs\" must be an object");
	json_object_foreach(v, name, sv)
	{
		if (sub(c, key, name, sv, depth) == NULL)
			return false;
	}
	return true;
}

/* Annotations: checked for their type, then ignored. */
static bool
kw_note(Compiler *c, SchemaNode *n, const char *key, json_t *v, int depth)
{
	bool		ok = true;

	if (strcmp(key, "examples") == 0)
		ok = json_is_array(v);
	else if (strcmp(key, "deprecated") == 0 || strcmp(key, "readOnly") == 0 ||
			 strcmp(key, "writeOnly") == 0)
		ok = json_is_boolean(v);
	else if (strcmp(key, "default") != 0)
		ok = json_is_string(v);
	if (!ok)
		return fail(c, AIGOV_SCHEMA_MALFORMED, key,
					"\"%s\" has a value of the wrong type", key);
	return true;
}

static const Keyword keywords[] = {
	{"type", kw_type}, {"properties", kw_properties},
	{"required", kw_required}, {"additionalProperties", kw_single},
	{"patternProperties", kw_pattern_properties},
	{"propertyNames", kw_single},
	{"minProperties", kw_count}, {"maxProperties", kw_count},
	{"items", kw_single}, {"prefixItems", kw_list},
	{"minItems", kw_count}, {"maxItems", kw_count},
	{"uniqueItems", kw_misc}, {"enum", kw_misc}, {"const", kw_misc},
	{"anyOf", kw_list}, {"allOf", kw_list}, {"oneOf", kw_list},
	{"not", kw_single}, {"$ref", kw_ref}, {"$defs", kw_defs},
	{"minLength", kw_count}, {"maxLength", kw_count},
	{"pattern", kw_misc},
	{"minimum", kw_bound}, {"maximum", kw_bound},
	{"exclusiveMinimum", kw_bound}, {"exclusiveMaximum", kw_bound},
	{"multipleOf", kw_bound},
	{"$schema", NULL}, {"$id", NULL}, {"$comment", kw_note},
	{"title", kw_note}, {"description", kw_note}, {"default", kw_note},
	{"examples", kw_note}, {"deprecated", kw_note}, {"readOnly", kw_note},
	{"writeOnly", kw_note}, {"format", kw_note},
};

#define NKEYWORDS (sizeof(keywords) / sizeof(keywords[0]))

/* "$schema" and "$id": accepted at the document's root only. */
static bool
root_keyword(Compiler *c, const char *key, json_t *v, bool is_root)
{
	const char *s = json_string_value(v);

	if (s == NULL)
		return fail(c, AIGOV_SCHEMA_MALFORMED, key,
					"\"%s\" must be a string", key);
	if (!is_root)
		return fail(c, AIGOV_SCHEMA_UNSUPPORTED, key,
					"\"%s\" is supported only at the root of the schema", key);
	if (strcmp(key, "$schema") == 0 &&
		strcmp(s, DRAFT_2020_12) != 0 && strcmp(s, DRAFT_2020_12 "#") != 0)
		return fail(c, AIGOV_SCHEMA_UNSUPPORTED, key,
					"\"$schema\" \"%s\" is not draft 2020-12", s);
	return true;
}

/*
 * compile_node
 *		Compiles one subschema (an object or a boolean) and everything
 *		below it; NULL, with the failure recorded, if it cannot be.
 */
static SchemaNode *
compile_node(Compiler *c, json_t *js, int depth, bool is_root)
{
	AigovJsonSchema *s = c->s;
	SchemaNode *n;
	const char *key;
	json_t	   *v;

	if (depth > AIGOV_SCHEMA_MAX_NESTING)
	{
		fail(c, AIGOV_SCHEMA_TOO_LARGE, NULL,
			 "subschemas are nested more than %d deep", AIGOV_SCHEMA_MAX_NESTING);
		return NULL;
	}
	if (s->nnodes >= AIGOV_SCHEMA_MAX_NODES)
	{
		fail(c, AIGOV_SCHEMA_TOO_LARGE, NULL,
			 "the schema has more than %d subschemas", AIGOV_SCHEMA_MAX_NODES);
		return NULL;
	}
	if (!json_is_object(js) && !json_is_boolean(js))
	{
		fail(c, AIGOV_SCHEMA_MALFORMED, NULL,
			 "a schema must be an object or a boolean");
		return NULL;
	}
	if ((n = salloc(c, sizeof(SchemaNode))) == NULL)
		return NULL;
	s->nodes[s->nnodes++] = n;
	n->src = js;
	n->boolean = json_is_object(js) ? -1 : json_is_true(js);
	n->min_props = n->max_props = n->min_items = n->max_items = -1;
	n->min_len = n->max_len = -1;

	json_object_foreach(js, key, v)
	{
		size_t		k;
		size_t		old;
		bool		ok;

		for (k = 0; k < NKEYWORDS; k++)
			if (strcmp(key, keywords[k].name) == 0)
				break;
		old = path_push(c, key);
		if (k == NKEYWORDS)
			ok = fail(c, AIGOV_SCHEMA_UNSUPPORTED, key,
					  "keyword \"%s\" is not supported", key);
		else if (keywords[k].fn == NULL)
			ok = root_keyword(c, key, v, is_root);
		else
			ok = keywords[k].fn(c, n, key, v, depth);
		path_pop(c, old);
		if (!ok)
			return NULL;
	}
	return n;
}

/* Decodes %XX escapes of a URI fragment in place; false if malformed. */
static bool
percent_decode(char *s)
{
	char	   *out = s;

	for (; *s != '\0'; s++)
	{
		if (*s == '%')
		{
			unsigned	x;

			if (sscanf(s + 1, "%2x", &x) != 1 || x == 0 ||
				s[1] == '\0' || s[2] == '\0')
				return false;
			*out++ = (char) x;
			s += 2;
		}
		else
			*out++ = *s;
	}
	*out = '\0';
	return true;
}

/* The value a "#/..." pointer names in the document, or NULL. */
static json_t *
resolve_pointer(json_t *doc, const char *ref)
{
	char		buf[1024];
	char	   *seg;
	json_t	   *cur = doc;

	if (strlen(ref) >= sizeof(buf))
		return NULL;
	strcpy(buf, ref + 1);
	if (!percent_decode(buf))
		return NULL;
	seg = buf;
	while (cur != NULL && *seg == '/')
	{
		char	   *end = strchr(seg + 1, '/');
		char	   *r,
				   *w;

		if (end != NULL)
			*end = '\0';
		for (r = w = seg + 1; *r != '\0'; r++)
		{
			if (r[0] == '~' && (r[1] == '0' || r[1] == '1'))
				*w++ = *++r == '0' ? '~' : '/';
			else if (r[0] == '~')
				return NULL;
			else
				*w++ = *r;
		}
		*w = '\0';
		if (json_is_object(cur))
			cur = json_object_get(cur, seg + 1);
		else if (json_is_array(cur))
		{
			char	   *stop;
			unsigned long idx = strtoul(seg + 1, &stop, 10);

			cur = (seg[1] == '\0' || *stop != '\0' ||
				   (seg[1] == '0' && seg[2] != '\0')) ? NULL :
				json_array_get(cur, idx);
		}
		else
			cur = NULL;
		if (end == NULL)
			break;
		*end = '/';
		seg = end;
	}
	return cur;
}

/* Resolves every "$ref", compiling targets no walk reached. */
static bool
resolve_refs(Compiler *c)
{
	AigovJsonSchema *s = c->s;

	for (size_t i = 0; i < s->nnodes; i++)
	{
		SchemaNode *n = s->nodes[i];
		json_t	   *target;

		if (n->ref == NULL)
			continue;
		target = resolve_pointer(s->document, n->ref);
		snprintf(c->path, sizeof(c->path), "%s", n->ref_at);
		c->path_len = strlen(c->path);
		if (target == NULL)
			return fail(c, AIGOV_SCHEMA_MALFORMED, "$ref",
						"\"$ref\" \"%s\" names nothing in the schema", n->ref);
		for (size_t j = 0; j < s->nnodes && n->ref_target == NULL; j++)
			if (s->nodes[j]->src == target)
				n->ref_target = s->nodes[j];
		if (n->ref_target == NULL)
		{
			snprintf(c->path, sizeof(c->path), "%s", n->ref + 1);
			c->path_len = strlen(c->path);
			n->ref_target = compile_node(c, target, 1, false);
			if (n->ref_target == NULL)
				return false;
		}
	}
	return true;
}

/*
 * True if n reaches itself through checks of the same instance; *at is
 * then the "$ref" that closes the cycle.
 */
static bool
in_place_cycle(SchemaNode *n, SchemaNode **at)
{
	SchemaList *lists[3] = {&n->all_of, &n->any_of, &n->one_of};

	if (n->mark == 2)
		return false;
	if (n->mark == 1)
		return true;
	n->mark = 1;
	if (n->ref_target && in_place_cycle(n->ref_target, at))
	{
		if (*at == NULL)
			*at = n;
		return true;
	}
	if (n->not_ && in_place_cycle(n->not_, at))
		return true;
	for (int l = 0; l < 3; l++)
		for (size_t i = 0; i < lists[l]->n; i++)
			if (in_place_cycle(lists[l]->items[i], at))
				return true;
	n->mark = 2;
	return false;
}

AigovSchemaStatus
aigov_json_schema_compile(json_t *schema, AigovJsonSchema **out,
						  AigovSchemaError *err)
{
	Compiler	c;
	AigovJsonSchema *s = calloc(1, sizeof(AigovJsonSchema));

	memset(err, 0, sizeof(*err));
	memset(&c, 0, sizeof(c));
	c.err = err;
	c.s = s;
	*out = NULL;
	if (s == NULL ||
		(s->nodes = calloc(AIGOV_SCHEMA_MAX_NODES, sizeof(SchemaNode *))) == NULL)
	{
		free(s);
		snprintf(err->message, sizeof(err->message), "out of memory");
		return AIGOV_SCHEMA_TOO_LARGE;
	}
	s->document = json_incref(schema);
	s->root = compile_node(&c, schema, 0, true);
	if (s->root != NULL && resolve_refs(&c))
	{
		for (size_t i = 0; i < s->nnodes; i++)
		{
			SchemaNode *at = NULL;

			if (in_place_cycle(s->nodes[i], &at))
			{
				/* every in-place cycle passes through a "$ref" */
				snprintf(c.path, sizeof(c.path), "%s", at ? at->ref_at : "");
				c.path_len = strlen(c.path);
				fail(&c, AIGOV_SCHEMA_MALFORMED, "$ref",
					 "\"$ref\" makes a cycle that checks the same value forever");
				break;
			}
		}
	}
	if (c.status != AIGOV_SCHEMA_OK)
	{
		aigov_json_schema_free(s);
		return c.status;
	}
	*out = s;
	return AIGOV_SCHEMA_OK;
}

void
aigov_json_schema_free(AigovJsonSchema *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->npatterns; i++)
		regfree(&s->all_patterns[i]->re);
	for (size_t i = 0; i < s->nallocs; i++)
		free(s->allocs[i]);
	free(s->all_patterns);
	free(s->allocs);
	free(s->nodes);
	json_decref(s->document);
	free(s);
}

const char *
aigov_schema_status_name(AigovSchemaStatus status)
{
	switch (status)
	{
		case AIGOV_SCHEMA_OK:
			return "ok";
		case AIGOV_SCHEMA_UNSUPPORTED:
			return "unsupported";
		case AIGOV_SCHEMA_MALFORMED:
			return "malformed";
		case AIGOV_SCHEMA_TOO_LARGE:
			return "too large";
	}
	return "unknown";
}

const char *const *
aigov_json_schema_keywords(void)
{
	static const char *names[NKEYWORDS + 1];

	if (names[0] == NULL)
		for (size_t k = 0; k < NKEYWORDS; k++)
			names[k] = keywords[k].name;
	return names;
}
