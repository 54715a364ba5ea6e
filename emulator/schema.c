/*-------------------------------------------------------------------------
 * schema.c
 *	  Deterministic JSON instances of a JSON Schema, conforming or not.
 *
 * A structured-output or tool-call reply must be JSON that satisfies the
 * schema the request carried.  We build the simplest such value: the first
 * enum/const, every property, minimum-sized arrays, numbers at their lower
 * bound or 0, and the reply text in the first free-form string so a test
 * can still tell which job got which answer.  Both JSON Schema (OpenAI,
 * Anthropic, Gemini responseJsonSchema) and Gemini's OpenAPI subset
 * (upper-case types) are read.  Recursion is bounded: optional parts are
 * dropped past a few levels, so self-referencing schemas terminate.
 *
 * IDENTIFICATION
 *	  emulator/schema.c
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "schema.h"

/* Beyond this depth optional properties and array items are left out. */
#define SHALLOW_DEPTH	4
/* Hard stop against pathological schemas. */
#define MAX_DEPTH		24

typedef struct GenCtx
{
	json_t	   *root;
	const char *text;
	bool		text_used;
} GenCtx;

typedef enum SchemaType
{
	ST_ANY = 0,
	ST_OBJECT,
	ST_ARRAY,
	ST_STRING,
	ST_INTEGER,
	ST_NUMBER,
	ST_BOOLEAN,
	ST_NULL
} SchemaType;

static json_t *gen(GenCtx *c, json_t *s, int depth, const char *name);

static SchemaType
type_from_name(const char *t)
{
	static const struct
	{
		const char *name;
		SchemaType	type;
	}			names[] = {
		{"object", ST_OBJECT}, {"array", ST_ARRAY}, {"string", ST_STRING},
		{"integer", ST_INTEGER}, {"number", ST_NUMBER},
		{"boolean", ST_BOOLEAN}, {"null", ST_NULL}
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(t, names[i].name) == 0)
			return names[i].type;
	return ST_ANY;
}

/*
 * Follow local "$ref"s ("#/$defs/x", "#/definitions/x", "#/properties/..")
 * against the root schema.  An unresolvable reference yields NULL, which
 * the generator treats as "anything".
 */
static json_t *
resolve(GenCtx *c, json_t *s)
{
	for (int hops = 0; hops < 16 && json_is_object(s); hops++)
	{
		const char *ref = json_string_value(json_object_get(s, "$ref"));
		char		seg[256];
		json_t	   *cur;

		if (ref == NULL)
			return s;
		if (ref[0] != '#')
			return NULL;
		cur = c->root;
		ref++;
		while (*ref == '/' && cur != NULL)
		{
			size_t		n = 0;

			ref++;
			while (*ref != '\0' && *ref != '/' && n + 1 < sizeof(seg))
			{
				/* JSON Pointer escapes: ~1 is '/', ~0 is '~' */
				if (ref[0] == '~' && ref[1] == '1')
				{
					seg[n++] = '/';
					ref += 2;
				}
				else if (ref[0] == '~' && ref[1] == '0')
				{
					seg[n++] = '~';
					ref += 2;
				}
				else
					seg[n++] = *ref++;
			}
			seg[n] = '\0';
			cur = json_object_get(cur, seg);
		}
		s = cur;
	}
	return json_is_object(s) ? s : NULL;
}

/* The schema's type; a list of types gives its first non-null member. */
static SchemaType
type_of(json_t *s)
{
	json_t	   *t;

	if (s == NULL)
		return ST_ANY;
	t = json_object_get(s, "type");
	if (json_is_string(t))
		return type_from_name(json_string_value(t));
	if (json_is_array(t))
	{
		size_t		i;
		json_t	   *e;
		SchemaType	first = ST_ANY;

		json_array_foreach(t, i, e)
		{
			SchemaType	st;

			if (!json_is_string(e))
				continue;
			st = type_from_name(json_string_value(e));
			if (st != ST_NULL && st != ST_ANY)
				return st;
			if (first == ST_ANY)
				first = st;
		}
		return first;
	}
	if (json_object_get(s, "properties") != NULL)
		return ST_OBJECT;
	if (json_object_get(s, "items") != NULL ||
		json_object_get(s, "prefixItems") != NULL)
		return ST_ARRAY;
	return ST_ANY;
}

/* Number of UTF-8 code points in s. */
static size_t
utf8_len(const char *s)
{
	size_t		n = 0;

	for (; *s; s++)
		if (((unsigned char) *s & 0xC0) != 0x80)
			n++;
	return n;
}

/* Byte offset of the "cp"-th code point of s (or its length). */
static size_t
utf8_offset(const char *s, size_t cp)
{
	size_t		i = 0;

	for (; s[i] != '\0'; i++)
	{
		if (((unsigned char) s[i] & 0xC0) != 0x80)
		{
			if (cp == 0)
				return i;
			cp--;
		}
	}
	return i;
}

static bool
get_number(json_t *s, const char *key, double *out)
{
	json_t	   *v = json_object_get(s, key);

	if (!json_is_number(v))
		return false;
	*out = json_number_value(v);
	return true;
}

static json_t *
gen_string(GenCtx *c, json_t *s, const char *name)
{
	static const struct
	{
		const char *format;
		const char *value;
	}			formats[] = {
		{"date-time", "2025-01-01T00:00:00Z"}, {"date", "2025-01-01"},
		{"time", "00:00:00Z"}, {"email", "echo@example.com"},
		{"uri", "https://example.com/"}, {"url", "https://example.com/"},
		{"uuid", "00000000-0000-4000-8000-000000000000"},
		{"ipv4", "127.0.0.1"}, {"ipv6", "::1"}, {"hostname", "example.com"},
		{"duration", "PT1S"}
	};
	const char *format = json_string_value(json_object_get(s, "format"));
	const char *val = NULL;
	char		tmp[1024];
	double		minl = 0;
	double		maxl = -1;
	size_t		len;
	json_t	   *out;

	if (format != NULL)
		for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
			if (strcmp(format, formats[i].format) == 0)
				val = formats[i].value;
	if (val == NULL)
	{
		if (!c->text_used)
		{
			val = c->text;
			c->text_used = true;
		}
		else
			val = name != NULL ? name : "value";
	}
	snprintf(tmp, sizeof(tmp), "%s", val);
	get_number(s, "minLength", &minl);
	if (!get_number(s, "maxLength", &maxl))
		maxl = -1;
	if (maxl >= 0)
		tmp[utf8_offset(tmp, (size_t) maxl)] = '\0';
	len = strlen(tmp);
	for (size_t cps = utf8_len(tmp); (double) cps < minl && len + 1 < sizeof(tmp); cps++)
	{
		tmp[len++] = '.';
		tmp[len] = '\0';
	}
	out = json_string(tmp);
	return out != NULL ? out : json_null();
}

/*
 * The value closest to 0 within [minimum, maximum], honouring the
 * exclusive bounds (draft 6+ numeric form).
 */
static json_t *
gen_number(json_t *s, bool integer)
{
	double		lo = -INFINITY;
	double		hi = INFINITY;
	double		v;
	double		x;

	if (get_number(s, "minimum", &x))
		lo = integer ? ceil(x) : x;
	if (get_number(s, "exclusiveMinimum", &x))
	{
		double		e = integer ? floor(x) + 1 : x;

		if (e > lo)
			lo = e;
	}
	if (get_number(s, "maximum", &x))
		hi = integer ? floor(x) : x;
	if (get_number(s, "exclusiveMaximum", &x))
	{
		double		e = integer ? ceil(x) - 1 : x;

		if (e < hi)
			hi = e;
	}
	v = 0;
	if (v < lo)
		v = lo;
	if (v > hi)
		v = hi;
	/* a non-integer exclusive bound reached: step inside it */
	if (!integer && json_is_number(json_object_get(s, "exclusiveMinimum")) &&
		v <= lo)
		v = isfinite(hi) ? (lo + hi) / 2 : lo + 1;
	else if (!integer &&
			 json_is_number(json_object_get(s, "exclusiveMaximum")) && v >= hi)
		v = isfinite(lo) ? (lo + hi) / 2 : hi - 1;
	if (integer)
		return json_integer((json_int_t) v);
	return json_real(v);
}

static json_t *
gen_object(GenCtx *c, json_t *s, int depth)
{
	json_t	   *obj = json_object();
	json_t	   *props = json_object_get(s, "properties");
	json_t	   *req = json_object_get(s, "required");
	const char *k;
	json_t	   *sub;
	size_t		i;
	json_t	   *e;

	if (obj == NULL)
		return json_null();
	json_object_foreach(props, k, sub)
	{
		bool		required = false;

		json_array_foreach(req, i, e)
		{
			if (json_is_string(e) && strcmp(json_string_value(e), k) == 0)
				required = true;
		}
		if (!required && depth >= SHALLOW_DEPTH)
			continue;
		json_object_set_new(obj, k, gen(c, sub, depth + 1, k));
	}
	/* required names without a property schema: any value will do */
	json_array_foreach(req, i, e)
	{
		const char *name = json_string_value(e);

		if (name != NULL && json_object_get(obj, name) == NULL)
			json_object_set_new(obj, name, gen(c, NULL, depth + 1, name));
	}
	return obj;
}

static json_t *
gen_array(GenCtx *c, json_t *s, int depth)
{
	json_t	   *arr = json_array();
	json_t	   *items = json_object_get(s, "items");
	json_t	   *prefix = json_object_get(s, "prefixItems");
	double		minv = 0;
	double		maxv = -1;
	size_t		n;

	if (arr == NULL)
		return json_null();
	get_number(s, "minItems", &minv);
	if (!get_number(s, "maxItems", &maxv))
		maxv = -1;
	n = (size_t) minv;
	if (n == 0 && depth < SHALLOW_DEPTH)
		n = 1;
	if (json_is_array(prefix) && json_array_size(prefix) > n &&
		depth < SHALLOW_DEPTH)
		n = json_array_size(prefix);
	if (maxv >= 0 && (double) n > maxv)
		n = (size_t) maxv;
	for (size_t i = 0; i < n; i++)
	{
		json_t	   *sub = items;

		if (json_is_array(prefix) && i < json_array_size(prefix))
			sub = json_array_get(prefix, i);
		else if (!json_is_object(items))
			sub = NULL;
		json_array_append_new(arr, gen(c, sub, depth + 1, NULL));
	}
	return arr;
}

/* First alternative of anyOf/oneOf that is not just {"type":"null"}. */
static json_t *
pick_alternative(GenCtx *c, json_t *alts)
{
	size_t		i;
	json_t	   *e;

	json_array_foreach(alts, i, e)
	{
		json_t	   *r = resolve(c, e);

		if (type_of(r) != ST_NULL)
			return e;
	}
	return json_array_get(alts, 0);
}

static json_t *
gen(GenCtx *c, json_t *s, int depth, const char *name)
{
	json_t	   *v;

	if (depth > MAX_DEPTH)
		return json_null();
	s = resolve(c, s);
	if (s == NULL)
		return gen_string(c, NULL, name);
	if ((v = json_object_get(s, "const")) != NULL)
		return json_deep_copy(v);
	v = json_object_get(s, "enum");
	if (json_is_array(v) && json_array_size(v) > 0)
		return json_deep_copy(json_array_get(v, 0));
	v = json_object_get(s, "anyOf");
	if (!json_is_array(v) || json_array_size(v) == 0)
		v = json_object_get(s, "oneOf");
	if (json_is_array(v) && json_array_size(v) > 0 &&
		type_of(s) == ST_ANY)
		return gen(c, pick_alternative(c, v), depth + 1, name);
	v = json_object_get(s, "allOf");
	if (json_is_array(v) && json_array_size(v) > 0 && type_of(s) == ST_ANY)
		return gen(c, json_array_get(v, 0), depth + 1, name);

	switch (type_of(s))
	{
		case ST_OBJECT:
			return gen_object(c, s, depth);
		case ST_ARRAY:
			return gen_array(c, s, depth);
		case ST_INTEGER:
			return gen_number(s, true);
		case ST_NUMBER:
			return gen_number(s, false);
		case ST_BOOLEAN:
			return json_true();
		case ST_NULL:
			return json_null();
		case ST_STRING:
		case ST_ANY:
		default:
			return gen_string(c, s, name);
	}
}

/*
 * Valid JSON that does not satisfy the schema: for an object schema, an
 * object with an unexpected property and its first declared property of
 * the wrong type (the other required ones missing); for anything else, an
 * object where something else was expected.
 */
static json_t *
nonconforming(GenCtx *c, json_t *s)
{
	json_t	   *obj = json_object();
	json_t	   *props;
	void	   *it;

	if (obj == NULL)
		return json_null();
	json_object_set_new(obj, "unexpected_field", json_string(c->text));
	s = resolve(c, s);
	if (type_of(s) != ST_OBJECT)
		return obj;
	props = json_object_get(s, "properties");
	it = json_object_iter(props);
	if (it != NULL)
	{
		json_t	   *sub = resolve(c, json_object_iter_value(it));

		json_object_set_new(obj, json_object_iter_key(it),
							type_of(sub) == ST_STRING ? json_integer(12345) :
							json_string("wrong type"));
	}
	return obj;
}

/*
 * A new reference to a deterministic instance of "schema" (NULL schema:
 * a string).  "text" goes into the first free-form string.  With
 * "conforming" false the result is valid JSON that violates the schema.
 * The caller owns the result.
 */
json_t *
emu_schema_instance(json_t *schema, const char *text, bool conforming)
{
	GenCtx		c;

	c.root = schema;
	c.text = text != NULL ? text : "";
	c.text_used = false;
	if (!conforming)
		return nonconforming(&c, schema);
	return gen(&c, schema, 0, NULL);
}
