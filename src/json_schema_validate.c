/*-------------------------------------------------------------------------
 * json_schema_validate.c
 *	  Validating a JSON value against a compiled JSON Schema, and JSON
 *	  equality as JSON Schema defines it.
 *
 * The first failure found ends the validation and is described as
 * "<instance JSON pointer>: <reason naming the keyword>".  Branches of
 * anyOf, oneOf and not are tried quietly; only the applicator's verdict is
 * described.  Work is bounded: every subschema check and every comparison
 * costs a step, nested checks count toward a depth, and passing either
 * limit ends the validation with AIGOV_SCHEMA_LIMIT.
 *
 * IDENTIFICATION
 *	  src/json_schema_validate.c
 *-------------------------------------------------------------------------
 */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "json_schema_int.h"

typedef struct VCtx
{
	char	   *msg;
	size_t		msglen;
	bool		have_msg;
	int			quiet;			/* > 0: inside a branch tried quietly */
	int			depth;
	int64_t		steps;
	char		path[512];		/* the instance's JSON pointer */
	size_t		path_len;
	bool		path_cut;
} VCtx;

static AigovSchemaResult check(VCtx *v, const SchemaNode *n,
							   const json_t *inst);
static AigovSchemaResult report(VCtx *v, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));

/* Describes the first failure, unless inside a quiet branch. */
static AigovSchemaResult
report(VCtx *v, const char *fmt,...)
{
	va_list		ap;
	int			used;

	if (v->quiet > 0 || v->have_msg || v->msglen == 0)
		return AIGOV_SCHEMA_INVALID;
	v->have_msg = true;
	used = snprintf(v->msg, v->msglen, "%s%s: ",
					v->path_len > 0 ? v->path : "(root)",
					v->path_cut ? "..." : "");
	if (used < 0 || (size_t) used >= v->msglen)
		return AIGOV_SCHEMA_INVALID;
	va_start(ap, fmt);
	vsnprintf(v->msg + used, v->msglen - used, fmt, ap);
	va_end(ap);
	return AIGOV_SCHEMA_INVALID;
}

static size_t
path_push(VCtx *v, const char *seg)
{
	size_t		old = v->path_len;

	if (v->path_cut || v->path_len + 2 >= sizeof(v->path))
	{
		v->path_cut = true;
		return old;
	}
	v->path[v->path_len++] = '/';
	for (; *seg != '\0'; seg++)
	{
		bool		esc = *seg == '~' || *seg == '/';

		if (v->path_len + (esc ? 2 : 1) + 1 >= sizeof(v->path))
		{
			v->path_cut = true;
			break;
		}
		if (esc)
		{
			v->path[v->path_len++] = '~';
			v->path[v->path_len++] = *seg == '~' ? '0' : '1';
		}
		else
			v->path[v->path_len++] = *seg;
	}
	v->path[v->path_len] = '\0';
	return old;
}

static void
path_pop(VCtx *v, size_t old)
{
	v->path_len = old;
	v->path[old] = '\0';
	v->path_cut = false;
}

/* Takes one step; false once the work limit is passed. */
static bool
step(VCtx *v)
{
	return ++v->steps <= AIGOV_SCHEMA_MAX_STEPS;
}

/* A number's text for messages. */
static const char *
num_text(const json_t *j, char *buf, size_t len)
{
	if (json_is_integer(j))
		snprintf(buf, len, "%lld", (long long) json_integer_value(j));
	else
		snprintf(buf, len, "%.15g", json_real_value(j));
	return buf;
}

static long double
num(const json_t *j)
{
	return json_is_integer(j) ? (long double) json_integer_value(j) :
		(long double) json_real_value(j);
}

static bool
is_integral(const json_t *j)
{
	double		d;

	if (json_is_integer(j))
		return true;
	d = json_real_value(j);
	return json_is_real(j) && isfinite(d) && d == floor(d);
}

/* The SCHEMA_T_* bit of an instance (integers are also numbers). */
static unsigned
type_bit(const json_t *j)
{
	switch (json_typeof(j))
	{
		case JSON_OBJECT:
			return SCHEMA_T_OBJECT;
		case JSON_ARRAY:
			return SCHEMA_T_ARRAY;
		case JSON_STRING:
			return SCHEMA_T_STRING;
		case JSON_INTEGER:
		case JSON_REAL:
			return is_integral(j) ? SCHEMA_T_INTEGER : SCHEMA_T_NUMBER;
		case JSON_TRUE:
		case JSON_FALSE:
			return SCHEMA_T_BOOLEAN;
		case JSON_NULL:
			return SCHEMA_T_NULL;
	}
	return 0;
}

static const char *
type_name(unsigned bit)
{
	static const char *const names[] = {
		"null", "boolean", "object", "array", "number", "integer", "string"
	};

	for (int k = 0; k < 7; k++)
		if (bit == (1u << k))
			return names[k];
	return "value";
}

/* JSON equality, each comparison costing a step; false past the limit. */
static bool
equal(const json_t *a, const json_t *b, int64_t *steps)
{
	const char *key;
	json_t	   *va;
	size_t		i;

	if (++*steps > AIGOV_SCHEMA_MAX_STEPS)
		return false;
	if (json_is_number(a) && json_is_number(b))
	{
		if (json_is_integer(a) && json_is_integer(b))
			return json_integer_value(a) == json_integer_value(b);
		return num(a) == num(b);
	}
	if (json_typeof(a) != json_typeof(b))
		return false;
	switch (json_typeof(a))
	{
		case JSON_STRING:
			return json_string_length(a) == json_string_length(b) &&
				memcmp(json_string_value(a), json_string_value(b),
					   json_string_length(a)) == 0;
		case JSON_ARRAY:
			if (json_array_size(a) != json_array_size(b))
				return false;
			json_array_foreach(a, i, va)
			{
				if (!equal(va, json_array_get(b, i), steps))
					return false;
			}
			return true;
		case JSON_OBJECT:
			if (json_object_size(a) != json_object_size(b))
				return false;
			json_object_foreach((json_t *) a, key, va)
			{
				json_t	   *vb = json_object_get(b, key);

				if (vb == NULL || !equal(va, vb, steps))
					return false;
			}
			return true;
		default:
			return true;		/* true, false, null */
	}
}

bool
aigov_json_equal(const json_t *a, const json_t *b)
{
	int64_t		steps = 0;

	return equal(a, b, &steps);
}

/* Code points of a UTF-8 string (jansson holds valid UTF-8). */
static int64_t
code_points(const json_t *s)
{
	const unsigned char *p = (const unsigned char *) json_string_value(s);
	size_t		len = json_string_length(s);
	int64_t		n = 0;

	for (size_t i = 0; i < len; i++)
		if ((p[i] & 0xC0) != 0x80)
			n++;
	return n;
}

static AigovSchemaResult
check_number(VCtx *v, const SchemaNode *n, const json_t *inst)
{
	char		a[40],
				b[40];
	long double x = num(inst);

	if (n->minimum && x < num(n->minimum))
		return report(v, "%s is below minimum %s", num_text(inst, a, 40),
					  num_text(n->minimum, b, 40));
	if (n->maximum && x > num(n->maximum))
		return report(v, "%s is above maximum %s", num_text(inst, a, 40),
					  num_text(n->maximum, b, 40));
	if (n->ex_minimum && x <= num(n->ex_minimum))
		return report(v, "%s is not above exclusiveMinimum %s",
					  num_text(inst, a, 40), num_text(n->ex_minimum, b, 40));
	if (n->ex_maximum && x >= num(n->ex_maximum))
		return report(v, "%s is not below exclusiveMaximum %s",
					  num_text(inst, a, 40), num_text(n->ex_maximum, b, 40));
	if (n->multiple_of)
	{
		bool		ok;

		if (json_is_integer(inst) && json_is_integer(n->multiple_of))
			ok = json_integer_value(inst) % json_integer_value(n->multiple_of) == 0;
		else
		{
			double		q = json_number_value(inst) / json_number_value(n->multiple_of);

			/* a quotient within rounding of an integer counts as one */
			ok = isfinite(q) &&
				fabs(q - nearbyint(q)) <= 2 * DBL_EPSILON * fmax(1.0, fabs(q));
		}
		if (!ok)
			return report(v, "%s is not a multiple of multipleOf %s",
						  num_text(inst, a, 40), num_text(n->multiple_of, b, 40));
	}
	return AIGOV_SCHEMA_VALID;
}

static AigovSchemaResult
check_string(VCtx *v, const SchemaNode *n, const json_t *inst)
{
	int64_t		len = (n->min_len >= 0 || n->max_len >= 0) ? code_points(inst) : 0;

	if (n->min_len >= 0 && len < n->min_len)
		return report(v, "string of %lld characters is shorter than minLength %lld",
					  (long long) len, (long long) n->min_len);
	if (n->max_len >= 0 && len > n->max_len)
		return report(v, "string of %lld characters is longer than maxLength %lld",
					  (long long) len, (long long) n->max_len);
	if (n->pattern && regexec(&n->pattern->re, json_string_value(inst), 0, NULL, 0) != 0)
		return report(v, "string does not match pattern \"%s\"", n->pattern->source);
	return AIGOV_SCHEMA_VALID;
}

static AigovSchemaResult
check_array(VCtx *v, const SchemaNode *n, const json_t *inst)
{
	size_t		size = json_array_size(inst);
	AigovSchemaResult r;

	if (n->min_items >= 0 && (int64_t) size < n->min_items)
		return report(v, "array of %zu items has fewer than minItems %lld",
					  size, (long long) n->min_items);
	if (n->max_items >= 0 && (int64_t) size > n->max_items)
		return report(v, "array of %zu items has more than maxItems %lld",
					  size, (long long) n->max_items);
	for (size_t i = 0; i < size; i++)
	{
		const SchemaNode *s = i < n->prefix.n ? n->prefix.items[i] : n->items;
		char		idx[24];
		size_t		old;

		if (s == NULL)
			continue;
		snprintf(idx, sizeof(idx), "%zu", i);
		old = path_push(v, idx);
		r = check(v, s, json_array_get(inst, i));
		path_pop(v, old);
		if (r != AIGOV_SCHEMA_VALID)
			return r;
	}
	if (n->unique)
	{
		for (size_t i = 0; i < size; i++)
			for (size_t j = i + 1; j < size; j++)
			{
				bool		eq = equal(json_array_get(inst, i),
									   json_array_get(inst, j), &v->steps);

				if (v->steps > AIGOV_SCHEMA_MAX_STEPS)
					return AIGOV_SCHEMA_LIMIT;
				if (eq)
					return report(v, "items %zu and %zu are equal, but uniqueItems is true",
								  i, j);
			}
	}
	return AIGOV_SCHEMA_VALID;
}

/* A property's value against its subschema, under its name in the path. */
static AigovSchemaResult
check_member(VCtx *v, const SchemaNode *s, const char *key, const json_t *val)
{
	size_t		old = path_push(v, key);
	AigovSchemaResult r = check(v, s, val);

	path_pop(v, old);
	return r;
}

static AigovSchemaResult
check_object(VCtx *v, const SchemaNode *n, const json_t *inst)
{
	size_t		size = json_object_size(inst);
	const char *key;
	json_t	   *val;
	AigovSchemaResult r;

	for (size_t i = 0; i < n->nrequired; i++)
		if (json_object_get(inst, n->required[i]) == NULL)
			return report(v, "required property \"%s\" is missing", n->required[i]);
	if (n->min_props >= 0 && (int64_t) size < n->min_props)
		return report(v, "object of %zu properties has fewer than minProperties %lld",
					  size, (long long) n->min_props);
	if (n->max_props >= 0 && (int64_t) size > n->max_props)
		return report(v, "object of %zu properties has more than maxProperties %lld",
					  size, (long long) n->max_props);
	json_object_foreach((json_t *) inst, key, val)
	{
		bool		matched = false;
		json_t	   *kj;

		for (size_t i = 0; i < n->props.n; i++)
			if (strcmp(key, n->prop_names[i]) == 0)
			{
				matched = true;
				if ((r = check_member(v, n->props.items[i], key, val)) != AIGOV_SCHEMA_VALID)
					return r;
			}
		for (size_t i = 0; i < n->npatterns; i++)
		{
			if (!step(v))
				return AIGOV_SCHEMA_LIMIT;
			if (regexec(&n->patterns[i]->re, key, 0, NULL, 0) != 0)
				continue;
			matched = true;
			if ((r = check_member(v, n->pattern_nodes[i], key, val)) != AIGOV_SCHEMA_VALID)
				return r;
		}
		if (!matched && n->additional != NULL)
		{
			if (n->additional->boolean == 0)
				return report(v, "property \"%s\" is not allowed by additionalProperties",
							  key);
			if ((r = check_member(v, n->additional, key, val)) != AIGOV_SCHEMA_VALID)
				return r;
		}
		if (n->property_names != NULL)
		{
			if ((kj = json_string(key)) == NULL)
				return AIGOV_SCHEMA_LIMIT;
			v->quiet++;
			r = check(v, n->property_names, kj);
			v->quiet--;
			json_decref(kj);
			if (r == AIGOV_SCHEMA_INVALID)
				return report(v, "property name \"%s\" does not match propertyNames", key);
			if (r != AIGOV_SCHEMA_VALID)
				return r;
		}
	}
	return AIGOV_SCHEMA_VALID;
}

/* anyOf, oneOf and not: branches tried quietly, then one verdict. */
static AigovSchemaResult
check_branches(VCtx *v, const SchemaNode *n, const json_t *inst)
{
	AigovSchemaResult r = AIGOV_SCHEMA_VALID;
	size_t		first = 0,
				second = 0,
				matches = 0;

	if (n->any_of.n > 0)
	{
		v->quiet++;
		for (size_t i = 0; i < n->any_of.n; i++)
			if ((r = check(v, n->any_of.items[i], inst)) != AIGOV_SCHEMA_INVALID)
				break;
		v->quiet--;
		if (r == AIGOV_SCHEMA_INVALID)
			return report(v, "value matches none of the %zu schemas of anyOf",
						  n->any_of.n);
		if (r != AIGOV_SCHEMA_VALID)
			return r;
	}
	if (n->one_of.n > 0)
	{
		v->quiet++;
		for (size_t i = 0; i < n->one_of.n && matches < 2; i++)
		{
			if ((r = check(v, n->one_of.items[i], inst)) == AIGOV_SCHEMA_LIMIT)
				break;
			if (r == AIGOV_SCHEMA_VALID)
			{
				if (matches++ == 0)
					first = i;
				else
					second = i;
			}
		}
		v->quiet--;
		if (r == AIGOV_SCHEMA_LIMIT)
			return r;
		if (matches == 0)
			return report(v, "value matches none of the %zu schemas of oneOf",
						  n->one_of.n);
		if (matches > 1)
			return report(v, "value matches schemas %zu and %zu of oneOf, but exactly one must match",
						  first, second);
	}
	if (n->not_ != NULL)
	{
		v->quiet++;
		r = check(v, n->not_, inst);
		v->quiet--;
		if (r == AIGOV_SCHEMA_VALID)
			return report(v, "value matches the schema of not");
		if (r != AIGOV_SCHEMA_INVALID)
			return r;
	}
	return AIGOV_SCHEMA_VALID;
}

/*
 * check
 *		Validates inst against one subschema, keyword by keyword, and
 *		stops at the first failure.
 */
static AigovSchemaResult
check(VCtx *v, const SchemaNode *n, const json_t *inst)
{
	AigovSchemaResult r = AIGOV_SCHEMA_VALID;
	unsigned	bit = type_bit(inst);

	if (!step(v) || v->depth >= AIGOV_SCHEMA_MAX_DEPTH)
		return AIGOV_SCHEMA_LIMIT;
	if (n->boolean >= 0)
		return n->boolean ? AIGOV_SCHEMA_VALID :
			report(v, "no value is allowed here (the schema is false)");
	v->depth++;
	if (n->types != 0 && (n->types & bit) == 0 &&
		!(bit == SCHEMA_T_INTEGER && (n->types & SCHEMA_T_NUMBER)))
		r = report(v, "%s found, but the type must be %s%s", type_name(bit),
				   type_name(n->types & -n->types),
				   (n->types & (n->types - 1)) ? " or another listed type" : "");
	else if (n->const_value != NULL && !equal(inst, n->const_value, &v->steps))
		r = v->steps > AIGOV_SCHEMA_MAX_STEPS ? AIGOV_SCHEMA_LIMIT :
			report(v, "value is not the const value");
	else if (n->enum_values != NULL)
	{
		size_t		i,
					count = json_array_size(n->enum_values);

		for (i = 0; i < count; i++)
			if (equal(inst, json_array_get(n->enum_values, i), &v->steps))
				break;
		if (v->steps > AIGOV_SCHEMA_MAX_STEPS)
			r = AIGOV_SCHEMA_LIMIT;
		else if (i == count)
			r = report(v, "value is not one of the %zu values of enum", count);
	}
	if (r == AIGOV_SCHEMA_VALID)
	{
		if (bit == SCHEMA_T_NUMBER || bit == SCHEMA_T_INTEGER)
			r = check_number(v, n, inst);
		else if (bit == SCHEMA_T_STRING)
			r = check_string(v, n, inst);
		else if (bit == SCHEMA_T_ARRAY)
			r = check_array(v, n, inst);
		else if (bit == SCHEMA_T_OBJECT)
			r = check_object(v, n, inst);
	}
	for (size_t i = 0; r == AIGOV_SCHEMA_VALID && i < n->all_of.n; i++)
		r = check(v, n->all_of.items[i], inst);
	if (r == AIGOV_SCHEMA_VALID && n->ref_target != NULL)
		r = check(v, n->ref_target, inst);
	if (r == AIGOV_SCHEMA_VALID)
		r = check_branches(v, n, inst);
	v->depth--;
	return r;
}

AigovSchemaResult
aigov_json_schema_validate(const AigovJsonSchema *schema, const json_t *inst,
						   char *msg, size_t msglen)
{
	VCtx		v;
	AigovSchemaResult r;

	memset(&v, 0, sizeof(v));
	v.msg = msg;
	v.msglen = msglen;
	if (msglen > 0)
		msg[0] = '\0';
	r = check(&v, schema->root, inst);
	if (r == AIGOV_SCHEMA_LIMIT && msglen > 0)
		snprintf(msg, msglen,
				 "%s%s: validation stopped: the schema needs more than %d checks or %d nested checks for this value",
				 v.path_len > 0 ? v.path : "(root)", v.path_cut ? "..." : "",
				 AIGOV_SCHEMA_MAX_STEPS, AIGOV_SCHEMA_MAX_DEPTH);
	return r;
}
