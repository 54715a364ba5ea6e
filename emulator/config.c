/*-------------------------------------------------------------------------
 * config.c
 *	  The emulator's JSON configuration, fault switches and key updates.
 *
 * The file is read once at start-up; faults and limits change later via
 * the admin API, which reuses the same field parsers so that the file and
 * the API accept exactly the same names.  Unknown fields are errors (a typo
 * must not silently leave a key unlimited); fields starting with "_" or
 * named "comment" are ignored.
 *
 * IDENTIFICATION
 *	  emulator/config.c
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

/* Largest request body accepted by default (Anthropic's is 32 MB). */
#define DEFAULT_MAX_BODY	(INT64_C(32) * 1024 * 1024)
/* How long a "hang" holds a connection at most (the client closes first). */
#define DEFAULT_HANG_MAX_MS (INT64_C(10) * 60 * 1000)

static bool
fail(char *err, size_t errlen, const char *fmt, const char *a, const char *b)
{
	snprintf(err, errlen, fmt, a ? a : "", b ? b : "");
	return false;
}

static bool
ignored_field(const char *k)
{
	return k[0] == '_' || strcmp(k, "comment") == 0;
}

/* Index of a limit field name, or -1. */
static int
limit_field(const char *k)
{
	for (int d = 0; d < EMU_DIM_COUNT; d++)
		if (strcmp(k, emu_dim_name((EmuDim) d)) == 0)
			return d;
	return -1;
}

/*
 * Whether a provider has dimension d.  Anthropic splits TPM in two; Azure
 * assigns only TPM and RPM to a deployment (it has no daily quotas).
 */
static bool
provider_has_dim(EmuProvider p, EmuDim d)
{
	if (p == EMU_PROVIDER_ANTHROPIC)
		return d != EMU_DIM_TPM;
	if (p == EMU_PROVIDER_AZURE)
		return d == EMU_DIM_RPM || d == EMU_DIM_TPM;
	return d != EMU_DIM_ITPM && d != EMU_DIM_OTPM;
}

/*
 * Apply the limit fields (rpm, tpm, itpm, otpm, rpd, tpd) found in "obj"
 * to limits[]: a non-negative integer sets a limit, null removes it.
 * Other fields are left for the caller.  Fails on a bad value or a
 * dimension the provider does not have.
 */
bool
emu_limits_apply_json(json_t *obj, EmuProvider p,
					  int64_t limits[EMU_DIM_COUNT], char *err, size_t errlen)
{
	const char *k;
	json_t	   *v;

	json_object_foreach(obj, k, v)
	{
		int			d = limit_field(k);

		if (d < 0)
			continue;
		if (!provider_has_dim(p, (EmuDim) d))
			return fail(err, errlen, "limit \"%s\" does not apply to %s keys "
						"(Anthropic uses itpm/otpm, Azure only rpm/tpm, the "
						"others tpm)", k, emu_provider_name(p));
		if (json_is_null(v))
			limits[d] = EMU_UNLIMITED;
		else if (json_is_integer(v) && json_integer_value(v) >= 0)
			limits[d] = (int64_t) json_integer_value(v);
		else
			return fail(err, errlen, "limit \"%s\" must be a non-negative "
						"integer or null%s", k, NULL);
	}
	return true;
}

static bool
read_rate(json_t *v, const char *k, double *out, char *err, size_t errlen)
{
	double		x;

	if (!json_is_number(v))
		return fail(err, errlen, "fault \"%s\" must be a number%s", k, NULL);
	x = json_number_value(v);
	if (x < 0.0 || x > 1.0)
		return fail(err, errlen, "fault \"%s\" must be between 0 and 1%s", k, NULL);
	*out = x;
	return true;
}

static bool
read_bytes(json_t *v, const char *k, int64_t max, int64_t *out, char *err,
		   size_t errlen)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		json_integer_value(v) > max)
		return fail(err, errlen, "fault \"%s\" must be a number of bytes "
					"between 0 (the default) and %s", k,
					max == EMU_MAX_OVERSIZED_BYTES ? "1073741824" : "16777216");
	*out = (int64_t) json_integer_value(v);
	return true;
}

static bool
read_ms(json_t *v, const char *k, int64_t *out, char *err, size_t errlen)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		json_integer_value(v) > INT64_C(3600000))
		return fail(err, errlen, "fault \"%s\" must be an integer number of "
					"milliseconds between 0 and 3600000%s", k, NULL);
	*out = (int64_t) json_integer_value(v);
	return true;
}

static bool
read_bool(json_t *v, const char *k, bool *out, char *err, size_t errlen)
{
	if (!json_is_boolean(v))
		return fail(err, errlen, "\"%s\" must be true or false%s", k, NULL);
	*out = json_is_true(v);
	return true;
}

/*
 * Merge the fault fields of "obj" into *f.  Selector fields of the admin
 * API (key, label, provider, all, clear) are skipped.  Fails on an
 * unknown field, a bad value, or rates adding up to more than 1; *f is
 * unchanged on failure.
 */
bool
emu_faults_apply_json(json_t *obj, EmuFaults *f, char *err, size_t errlen)
{
	EmuFaults	n = *f;
	const char *k;
	json_t	   *v;
	bool		ok = true;

	if (!json_is_object(obj))
		return fail(err, errlen, "faults must be a JSON object%s%s", NULL, NULL);
	json_object_foreach(obj, k, v)
	{
		if (ignored_field(k) || strcmp(k, "key") == 0 ||
			strcmp(k, "label") == 0 || strcmp(k, "provider") == 0 ||
			strcmp(k, "all") == 0 || strcmp(k, "clear") == 0)
			continue;
		if (strcmp(k, "latency_ms") == 0)
			ok = read_ms(v, k, &n.latency_ms, err, errlen);
		else if (strcmp(k, "jitter_ms") == 0)
			ok = read_ms(v, k, &n.jitter_ms, err, errlen);
		else if (strcmp(k, "error_rate") == 0)
			ok = read_rate(v, k, &n.error_rate, err, errlen);
		else if (strcmp(k, "reset_rate") == 0)
			ok = read_rate(v, k, &n.reset_rate, err, errlen);
		else if (strcmp(k, "hang_rate") == 0)
			ok = read_rate(v, k, &n.hang_rate, err, errlen);
		else if (strcmp(k, "malformed_rate") == 0)
			ok = read_rate(v, k, &n.malformed_rate, err, errlen);
		else if (strcmp(k, "truncated_rate") == 0)
			ok = read_rate(v, k, &n.truncated_rate, err, errlen);
		else if (strcmp(k, "oversized_rate") == 0)
			ok = read_rate(v, k, &n.oversized_rate, err, errlen);
		else if (strcmp(k, "oversized_bytes") == 0)
			ok = read_bytes(v, k, EMU_MAX_OVERSIZED_BYTES, &n.oversized_bytes,
							err, errlen);
		else if (strcmp(k, "big_headers_rate") == 0)
			ok = read_rate(v, k, &n.big_headers_rate, err, errlen);
		else if (strcmp(k, "big_headers_bytes") == 0)
			ok = read_bytes(v, k, EMU_MAX_BIG_HEADERS_BYTES,
							&n.big_headers_bytes, err, errlen);
		else if (strcmp(k, "drip_rate") == 0)
			ok = read_rate(v, k, &n.drip_rate, err, errlen);
		else if (strcmp(k, "drip_ms") == 0)
			ok = read_ms(v, k, &n.drip_ms, err, errlen);
		else if (strcmp(k, "no_ratelimit_headers") == 0)
			ok = read_bool(v, k, &n.no_ratelimit_headers, err, errlen);
		else if (strcmp(k, "no_retry_after") == 0)
			ok = read_bool(v, k, &n.no_retry_after, err, errlen);
		else if (strcmp(k, "nonconforming_json") == 0)
			ok = read_bool(v, k, &n.nonconforming_json, err, errlen);
		else if (strcmp(k, "nonjson_structured") == 0)
			ok = read_bool(v, k, &n.nonjson_structured, err, errlen);
		else if (strcmp(k, "sentinel_headers") == 0)
			ok = read_bool(v, k, &n.sentinel_headers, err, errlen);
		else if (strcmp(k, "error_status") == 0)
		{
			json_int_t	s = json_integer_value(v);

			if (!json_is_integer(v) ||
				(s != 0 && s != 403 && s != 500 && s != 502 && s != 503 &&
				 s != 529))
				ok = fail(err, errlen, "fault \"error_status\" must be 403, "
						  "500, 502, 503 or 529%s%s", NULL, NULL);
			else
				n.error_status = (int) s;
		}
		else
			ok = fail(err, errlen, "unknown fault \"%s\"%s", k, NULL);
		if (!ok)
			return false;
	}
	if (emu_faults_rate_sum(&n) > 1.0 + 1e-9)
		return fail(err, errlen, "fault rates add up to more than 1%s%s",
					NULL, NULL);
	*f = n;
	return true;
}

/* The share of admitted requests that get some fault. */
double
emu_faults_rate_sum(const EmuFaults *f)
{
	return f->error_rate + f->reset_rate + f->hang_rate + f->malformed_rate +
		f->truncated_rate + f->oversized_rate + f->big_headers_rate +
		f->drip_rate;
}

int64_t
emu_faults_oversized_bytes(const EmuFaults *f)
{
	return f->oversized_bytes > 0 ? f->oversized_bytes : EMU_OVERSIZED_BYTES;
}

int64_t
emu_faults_big_headers_bytes(const EmuFaults *f)
{
	return f->big_headers_bytes > 0 ? f->big_headers_bytes :
		EMU_BIG_HEADERS_BYTES;
}

int64_t
emu_faults_drip_ms(const EmuFaults *f)
{
	return f->drip_ms > 0 ? f->drip_ms : EMU_DRIP_MS;
}

/* Status of injected errors: the configured one or the provider's usual. */
int
emu_faults_error_status(const EmuFaults *f, EmuProvider p)
{
	if (f->error_status != 0)
		return f->error_status;
	switch (p)
	{
		case EMU_PROVIDER_ANTHROPIC:
			return 529;
		case EMU_PROVIDER_GEMINI:
			return 503;
		default:
			return 500;
	}
}

static bool
copy_string(json_t *v, const char *k, char *dst, size_t dstlen, char *err,
			size_t errlen)
{
	if (!json_is_string(v) || json_string_length(v) == 0)
		return fail(err, errlen, "\"%s\" must be a non-empty string%s", k, NULL);
	if (json_string_length(v) >= dstlen)
		return fail(err, errlen, "\"%s\" is too long%s", k, NULL);
	memcpy(dst, json_string_value(v), json_string_length(v) + 1);
	return true;
}

static bool
parse_key(json_t *o, json_t *global_faults, EmuKeyConfig *key, char *err,
		  size_t errlen)
{
	json_t	   *v;
	const char *k;
	char		sub[256];

	for (int d = 0; d < EMU_DIM_COUNT; d++)
		key->limits[d] = EMU_UNLIMITED;
	if (!json_is_object(o))
		return fail(err, errlen, "each key must be a JSON object%s%s", NULL, NULL);
	if (!copy_string(json_object_get(o, "secret"), "secret", key->secret,
					 sizeof(key->secret), err, errlen))
		return false;
	if (!copy_string(json_object_get(o, "label"), "label", key->label,
					 sizeof(key->label), err, errlen))
		return false;
	v = json_object_get(o, "provider");
	if (!json_is_string(v) ||
		!emu_provider_from_name(json_string_value(v), &key->provider))
		return fail(err, errlen, "key \"%s\": provider must be \"openai\", "
					"\"anthropic\", \"gemini\" or \"azure\"%s", key->label,
					NULL);
	if (!emu_limits_apply_json(o, key->provider, key->limits, sub, sizeof(sub)))
		return fail(err, errlen, "key \"%s\": %s", key->label, sub);
	if (global_faults != NULL &&
		!emu_faults_apply_json(global_faults, &key->faults, sub, sizeof(sub)))
		return fail(err, errlen, "faults: %s%s", sub, NULL);

	json_object_foreach(o, k, v)
	{
		if (ignored_field(k) || limit_field(k) >= 0 ||
			strcmp(k, "secret") == 0 || strcmp(k, "label") == 0 ||
			strcmp(k, "provider") == 0)
			continue;
		if (strcmp(k, "insufficient_quota") == 0 || strcmp(k, "free_tier") == 0)
		{
			if (!read_bool(v, k, strcmp(k, "free_tier") == 0 ? &key->free_tier :
						   &key->insufficient_quota, sub, sizeof(sub)))
				return fail(err, errlen, "key \"%s\": %s", key->label, sub);
			/* Azure bills the subscription: no per-deployment quota error */
			if (key->insufficient_quota && key->provider == EMU_PROVIDER_AZURE)
				return fail(err, errlen, "key \"%s\": insufficient_quota does "
							"not apply to azure keys%s", key->label, NULL);
		}
		else if (strcmp(k, "faults") == 0)
		{
			if (!emu_faults_apply_json(v, &key->faults, sub, sizeof(sub)))
				return fail(err, errlen, "key \"%s\": %s", key->label, sub);
		}
		else if (strcmp(k, "models") == 0)
		{
			size_t		i;
			json_t	   *m;

			if (!json_is_array(v))
				return fail(err, errlen, "key \"%s\": models must be an array",
							key->label, NULL);
			key->models = calloc(json_array_size(v) + 1, sizeof(*key->models));
			if (key->models == NULL)
				return fail(err, errlen, "out of memory%s%s", NULL, NULL);
			json_array_foreach(v, i, m)
			{
				if (!copy_string(m, "models[]", key->models[i], EMU_MODEL_MAX,
								 sub, sizeof(sub)))
					return fail(err, errlen, "key \"%s\": %s", key->label, sub);
			}
			key->n_models = (int) json_array_size(v);
		}
		else
			return fail(err, errlen, "key \"%s\": unknown field \"%s\"",
						key->label, k);
	}
	return true;
}

static bool
parse_model(json_t *o, EmuModelConfig *m, char *err, size_t errlen)
{
	json_t	   *v;

	m->max_output_tokens = -1;
	m->context_window = -1;
	if (!copy_string(json_object_get(o, "name"), "models[].name", m->name,
					 sizeof(m->name), err, errlen))
		return false;
	v = json_object_get(o, "provider");
	if (!json_is_string(v) ||
		!emu_provider_from_name(json_string_value(v), &m->provider))
		return fail(err, errlen, "model \"%s\": provider must be \"openai\", "
					"\"anthropic\", \"gemini\" or \"azure\"%s", m->name,
					NULL);
	v = json_object_get(o, "max_output_tokens");
	if (v != NULL)
	{
		if (!json_is_integer(v) || json_integer_value(v) < 1)
			return fail(err, errlen, "model \"%s\": max_output_tokens must be "
						"a positive integer%s", m->name, NULL);
		m->max_output_tokens = (int64_t) json_integer_value(v);
	}
	v = json_object_get(o, "context_window");
	if (v != NULL)
	{
		if (!json_is_integer(v) || json_integer_value(v) < 1)
			return fail(err, errlen, "model \"%s\": context_window must be "
						"a positive integer%s", m->name, NULL);
		m->context_window = (int64_t) json_integer_value(v);
	}
	return true;
}

/* The context window configured for a provider's model; -1 when none. */
int64_t
emu_config_context_window(const EmuConfig *cfg, EmuProvider p,
						  const char *model)
{
	for (int i = 0; i < cfg->n_models; i++)
		if (cfg->models[i].provider == p &&
			strcmp(cfg->models[i].name, model) == 0)
			return cfg->models[i].context_window;
	return -1;
}

static bool
parse_top(json_t *root, EmuConfig *cfg, char *err, size_t errlen)
{
	json_t	   *keys = json_object_get(root, "keys");
	json_t	   *models = json_object_get(root, "models");
	json_t	   *faults = json_object_get(root, "faults");
	const char *k;
	json_t	   *v;
	size_t		i;

	json_object_foreach(root, k, v)
	{
		if (ignored_field(k) || strcmp(k, "keys") == 0 ||
			strcmp(k, "models") == 0 || strcmp(k, "faults") == 0)
			continue;
		if (strcmp(k, "org") == 0)
		{
			if (!copy_string(v, k, cfg->org, sizeof(cfg->org), err, errlen))
				return false;
		}
		else if (strcmp(k, "anthropic_org") == 0)
		{
			if (!copy_string(v, k, cfg->anthropic_org,
							 sizeof(cfg->anthropic_org), err, errlen))
				return false;
		}
		else if (strcmp(k, "openai_charge") == 0)
		{
			const char *s = json_string_value(v);

			if (s != NULL && strcmp(s, "sum") == 0)
				cfg->openai_charge = EMU_CHARGE_SUM;
			else if (s != NULL && strcmp(s, "max") == 0)
				cfg->openai_charge = EMU_CHARGE_MAX;
			else
				return fail(err, errlen, "openai_charge must be \"sum\" or "
							"\"max\"%s%s", NULL, NULL);
		}
		else if (strcmp(k, "openai_retry_after_ms") == 0)
		{
			if (!read_bool(v, k, &cfg->openai_retry_after_ms, err, errlen))
				return false;
		}
		else if (strcmp(k, "hang_max_ms") == 0 || strcmp(k, "max_body_bytes") == 0)
		{
			if (!json_is_integer(v) || json_integer_value(v) < 1)
				return fail(err, errlen, "\"%s\" must be a positive integer%s",
							k, NULL);
			if (k[0] == 'h')
				cfg->hang_max_ms = (int64_t) json_integer_value(v);
			else
				cfg->max_body_bytes = (int64_t) json_integer_value(v);
		}
		else if (strcmp(k, "azure_region") == 0)
		{
			if (!copy_string(v, k, cfg->azure_region,
							 sizeof(cfg->azure_region), err, errlen))
				return false;
		}
		else if (strcmp(k, "azure_tier") == 0)
		{
			if (!copy_string(v, k, cfg->azure_tier, sizeof(cfg->azure_tier),
							 err, errlen))
				return false;
		}
		else if (strcmp(k, "azure_rpm_window_s") == 0)
		{
			json_int_t	w = json_integer_value(v);

			/* the windows Azure documents, or a plain minute */
			if (!json_is_integer(v) || (w != 1 && w != 10 && w != 60))
				return fail(err, errlen, "\"azure_rpm_window_s\" must be 1, "
							"10 or 60%s%s", NULL, NULL);
			cfg->azure_rpm_window_s = (int64_t) w;
		}
		else if (strcmp(k, "seed") == 0)
		{
			if (!json_is_integer(v))
				return fail(err, errlen, "\"seed\" must be an integer%s%s",
							NULL, NULL);
			cfg->seed = (uint64_t) json_integer_value(v);
		}
		else
			return fail(err, errlen, "unknown top-level field \"%s\"%s", k, NULL);
	}

	if (!json_is_array(keys) || json_array_size(keys) == 0)
		return fail(err, errlen, "\"keys\" must be a non-empty array%s%s",
					NULL, NULL);
	cfg->keys = calloc(json_array_size(keys), sizeof(EmuKeyConfig));
	if (cfg->keys == NULL)
		return fail(err, errlen, "out of memory%s%s", NULL, NULL);
	json_array_foreach(keys, i, v)
	{
		if (!parse_key(v, faults, &cfg->keys[i], err, errlen))
		{
			cfg->n_keys = (int) i + 1;
			return false;
		}
		cfg->n_keys = (int) i + 1;
		for (size_t j = 0; j < i; j++)
		{
			if (strcmp(cfg->keys[j].label, cfg->keys[i].label) == 0)
				return fail(err, errlen, "duplicate key label \"%s\"%s",
							cfg->keys[i].label, NULL);
			if (strcmp(cfg->keys[j].secret, cfg->keys[i].secret) == 0)
				return fail(err, errlen, "key \"%s\": duplicate secret%s",
							cfg->keys[i].label, NULL);
		}
	}
	if (models != NULL)
	{
		if (!json_is_array(models))
			return fail(err, errlen, "\"models\" must be an array%s%s", NULL, NULL);
		cfg->models = calloc(json_array_size(models) + 1, sizeof(EmuModelConfig));
		if (cfg->models == NULL)
			return fail(err, errlen, "out of memory%s%s", NULL, NULL);
		json_array_foreach(models, i, v)
		{
			if (!parse_model(v, &cfg->models[i], err, errlen))
				return false;
			cfg->n_models = (int) i + 1;
		}
	}
	return true;
}

/*
 * Parse a configuration document into *cfg.  On failure *cfg is freed and
 * "err" names the offending field.
 */
bool
emu_config_parse(const char *text, size_t len, EmuConfig *cfg, char *err,
				 size_t errlen)
{
	json_error_t jerr;
	json_t	   *root;
	bool		ok;

	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->org, sizeof(cfg->org), "org-emulator");
	snprintf(cfg->anthropic_org, sizeof(cfg->anthropic_org),
			 "00000000-0000-4000-8000-000000000000");
	cfg->openai_charge = EMU_CHARGE_SUM;
	cfg->openai_retry_after_ms = true;
	cfg->hang_max_ms = DEFAULT_HANG_MAX_MS;
	cfg->max_body_bytes = DEFAULT_MAX_BODY;
	cfg->seed = 1;
	snprintf(cfg->azure_region, sizeof(cfg->azure_region), "East US 2");
	snprintf(cfg->azure_tier, sizeof(cfg->azure_tier), "OpenAI S0");
	cfg->azure_rpm_window_s = 10;

	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
	{
		snprintf(err, errlen, "invalid JSON at line %d: %s", jerr.line, jerr.text);
		return false;
	}
	if (!json_is_object(root))
		ok = fail(err, errlen, "the configuration must be a JSON object%s%s",
				  NULL, NULL);
	else
		ok = parse_top(root, cfg, err, errlen);
	json_decref(root);
	if (!ok)
		emu_config_free(cfg);
	return ok;
}

/* Read and parse a configuration file. */
bool
emu_config_load(const char *path, EmuConfig *cfg, char *err, size_t errlen)
{
	FILE	   *f = fopen(path, "rb");
	char	   *text;
	long		n;
	bool		ok;

	memset(cfg, 0, sizeof(*cfg));
	if (f == NULL)
	{
		snprintf(err, errlen, "could not open \"%s\": %s", path, strerror(errno));
		return false;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
		fseek(f, 0, SEEK_SET) != 0)
	{
		snprintf(err, errlen, "could not read \"%s\": %s", path, strerror(errno));
		fclose(f);
		return false;
	}
	text = malloc((size_t) n + 1);
	if (text == NULL || fread(text, 1, (size_t) n, f) != (size_t) n)
	{
		snprintf(err, errlen, "could not read \"%s\"", path);
		free(text);
		fclose(f);
		return false;
	}
	fclose(f);
	ok = emu_config_parse(text, (size_t) n, cfg, err, errlen);
	free(text);
	return ok;
}

void
emu_config_free(EmuConfig *cfg)
{
	for (int i = 0; i < cfg->n_keys; i++)
		free(cfg->keys[i].models);
	free(cfg->keys);
	free(cfg->models);
	cfg->keys = NULL;
	cfg->models = NULL;
	cfg->n_keys = cfg->n_models = 0;
}

/*
 * Whether "key" may use "model", and the model's output cap (-1: none).
 * A key's own model list decides when it has one; otherwise the global
 * list of the key's provider does, when that provider has any entry;
 * otherwise every model is accepted.
 */
bool
emu_config_model_allowed(const EmuConfig *cfg, const EmuKeyConfig *key,
						 const char *model, int64_t *max_out)
{
	bool		any_global = false;
	bool		in_global = false;
	bool		in_key = false;

	*max_out = -1;
	for (int i = 0; i < cfg->n_models; i++)
	{
		if (cfg->models[i].provider != key->provider)
			continue;
		any_global = true;
		if (strcmp(cfg->models[i].name, model) == 0)
		{
			in_global = true;
			*max_out = cfg->models[i].max_output_tokens;
		}
	}
	if (key->models != NULL)
	{
		for (int i = 0; i < key->n_models; i++)
			if (strcmp(key->models[i], model) == 0)
				in_key = true;
		return in_key;
	}
	return !any_global || in_global;
}

/* The faults as a JSON object (admin GET /admin/faults). */
void
emu_faults_render(const EmuFaults *f, EmuBuf *out)
{
	emu_buf_printf(out, "{\"latency_ms\":%" PRId64 ",\"jitter_ms\":%" PRId64
				   ",\"error_rate\":%g,\"error_status\":%d,\"reset_rate\":%g"
				   ",\"hang_rate\":%g,\"malformed_rate\":%g,\"truncated_rate\":%g"
				   ",\"oversized_rate\":%g,\"oversized_bytes\":%" PRId64
				   ",\"big_headers_rate\":%g,\"big_headers_bytes\":%" PRId64
				   ",\"drip_rate\":%g,\"drip_ms\":%" PRId64
				   ",\"no_ratelimit_headers\":%s,\"no_retry_after\":%s"
				   ",\"nonconforming_json\":%s,\"nonjson_structured\":%s"
				   ",\"sentinel_headers\":%s}",
				   f->latency_ms, f->jitter_ms, f->error_rate, f->error_status,
				   f->reset_rate, f->hang_rate, f->malformed_rate,
				   f->truncated_rate, f->oversized_rate,
				   emu_faults_oversized_bytes(f), f->big_headers_rate,
				   emu_faults_big_headers_bytes(f), f->drip_rate,
				   emu_faults_drip_ms(f),
				   f->no_ratelimit_headers ? "true" : "false",
				   f->no_retry_after ? "true" : "false",
				   f->nonconforming_json ? "true" : "false",
				   f->nonjson_structured ? "true" : "false",
				   f->sentinel_headers ? "true" : "false");
}

/*
 * The limits a provider has, as JSON members "rpm":600,... (null when
 * unlimited), without braces.
 */
void
emu_limits_render(const int64_t limits[EMU_DIM_COUNT], EmuProvider p,
				  EmuBuf *out)
{
	bool		first = true;

	for (int d = 0; d < EMU_DIM_COUNT; d++)
	{
		if (!provider_has_dim(p, (EmuDim) d))
			continue;
		if (limits[d] < 0)
			emu_buf_printf(out, "%s\"%s\":null", first ? "" : ",",
						   emu_dim_name((EmuDim) d));
		else
			emu_buf_printf(out, "%s\"%s\":%" PRId64, first ? "" : ",",
						   emu_dim_name((EmuDim) d), limits[d]);
		first = false;
	}
}
