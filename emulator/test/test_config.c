/*-------------------------------------------------------------------------
 * test_config.c
 *	  Unit tests of configuration, fault and limit parsing (config.c).
 *
 * IDENTIFICATION
 *	  emulator/test/test_config.c
 *-------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"

static void
parse_ok(const char *text, EmuConfig *cfg)
{
	char		err[512];

	if (!emu_config_parse(text, strlen(text), cfg, err, sizeof(err)))
		fail_msg("config rejected: %s", err);
}

static void
parse_bad(const char *text, const char *msg_part)
{
	EmuConfig	cfg;
	char		err[512];

	assert_false(emu_config_parse(text, strlen(text), &cfg, err, sizeof(err)));
	if (strstr(err, msg_part) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, msg_part);
	assert_null(cfg.keys);
}

static void
test_full_config(void **state)
{
	EmuConfig	cfg;
	EmuKeyConfig *k;
	int64_t		max_out;

	(void) state;
	parse_ok("{\"org\":\"org-x\",\"openai_charge\":\"max\",\"openai_retry_after_ms\":false,"
			 "\"hang_max_ms\":5000,\"seed\":42,\"comment\":\"ignored\","
			 "\"faults\":{\"latency_ms\":5},"
			 "\"models\":[{\"name\":\"gpt-4o-mini\",\"provider\":\"openai\",\"max_output_tokens\":16384},"
			 "{\"name\":\"claude-x\",\"provider\":\"anthropic\",\"context_window\":200000}],"
			 "\"keys\":["
			 "{\"secret\":\"sk-test-1\",\"label\":\"k1\",\"provider\":\"openai\",\"rpm\":600,"
			 "\"tpm\":60000,\"rpd\":1000,\"tpd\":null,\"insufficient_quota\":false},"
			 "{\"secret\":\"sk-ant\",\"label\":\"a1\",\"provider\":\"anthropic\",\"rpm\":50,"
			 "\"itpm\":40000,\"otpm\":8000,\"models\":[\"claude-y\"],"
			 "\"faults\":{\"error_rate\":0.25,\"error_status\":529,\"latency_ms\":100}},"
			 "{\"secret\":\"gem\",\"label\":\"g1\",\"provider\":\"gemini\",\"free_tier\":true,"
			 "\"insufficient_quota\":true}]}", &cfg);
	assert_int_equal(cfg.n_keys, 3);
	assert_string_equal(cfg.org, "org-x");
	assert_int_equal(cfg.openai_charge, EMU_CHARGE_MAX);
	assert_false(cfg.openai_retry_after_ms);
	assert_int_equal(cfg.hang_max_ms, 5000);
	assert_int_equal(cfg.seed, 42);
	k = &cfg.keys[0];
	assert_string_equal(k->label, "k1");
	assert_int_equal(k->provider, EMU_PROVIDER_OPENAI);
	assert_int_equal(k->limits[EMU_DIM_RPM], 600);
	assert_int_equal(k->limits[EMU_DIM_TPM], 60000);
	assert_int_equal(k->limits[EMU_DIM_RPD], 1000);
	assert_int_equal(k->limits[EMU_DIM_TPD], EMU_UNLIMITED);
	assert_int_equal(k->limits[EMU_DIM_ITPM], EMU_UNLIMITED);
	/* top-level faults apply to every key, the key's own on top */
	assert_int_equal(k->faults.latency_ms, 5);
	k = &cfg.keys[1];
	assert_int_equal(k->limits[EMU_DIM_ITPM], 40000);
	assert_int_equal(k->limits[EMU_DIM_OTPM], 8000);
	assert_int_equal(k->faults.latency_ms, 100);
	assert_int_equal(k->faults.error_status, 529);
	assert_true(k->faults.error_rate == 0.25);
	assert_true(cfg.keys[2].free_tier);
	assert_true(cfg.keys[2].insufficient_quota);

	/* model lists: global per provider, or the key's own */
	assert_true(emu_config_model_allowed(&cfg, &cfg.keys[0], "gpt-4o-mini", &max_out));
	assert_int_equal(max_out, 16384);
	assert_false(emu_config_model_allowed(&cfg, &cfg.keys[0], "gpt-9", &max_out));
	assert_true(emu_config_model_allowed(&cfg, &cfg.keys[1], "claude-y", &max_out));
	assert_false(emu_config_model_allowed(&cfg, &cfg.keys[1], "claude-x", &max_out));
	/* no gemini models listed: anything goes */
	assert_true(emu_config_model_allowed(&cfg, &cfg.keys[2], "gemini-any", &max_out));
	assert_int_equal(max_out, -1);
	/* context windows: per provider and model, -1 when not configured */
	assert_int_equal(emu_config_context_window(&cfg, EMU_PROVIDER_ANTHROPIC,
											   "claude-x"), 200000);
	assert_int_equal(emu_config_context_window(&cfg, EMU_PROVIDER_OPENAI,
											   "claude-x"), -1);
	assert_int_equal(emu_config_context_window(&cfg, EMU_PROVIDER_OPENAI,
											   "gpt-4o-mini"), -1);
	emu_config_free(&cfg);
}

static void
test_defaults(void **state)
{
	EmuConfig	cfg;

	(void) state;
	parse_ok("{\"keys\":[{\"secret\":\"s\",\"label\":\"l\",\"provider\":\"openai\"}]}", &cfg);
	assert_int_equal(cfg.openai_charge, EMU_CHARGE_SUM);
	assert_true(cfg.openai_retry_after_ms);
	assert_string_equal(cfg.org, "org-emulator");
	for (int d = 0; d < EMU_DIM_COUNT; d++)
		assert_int_equal(cfg.keys[0].limits[d], EMU_UNLIMITED);
	assert_int_equal(emu_faults_error_status(&cfg.keys[0].faults, EMU_PROVIDER_OPENAI), 500);
	assert_int_equal(emu_faults_error_status(&cfg.keys[0].faults, EMU_PROVIDER_ANTHROPIC), 529);
	assert_int_equal(emu_faults_error_status(&cfg.keys[0].faults, EMU_PROVIDER_GEMINI), 503);
	emu_config_free(&cfg);
}

/* Azure deployments: RPM and TPM only, and the dialect's own settings. */
static void
test_azure_config(void **state)
{
	EmuConfig	cfg;
	int64_t		max_out;

	(void) state;
	parse_ok("{\"keys\":[{\"secret\":\"s\",\"label\":\"l\",\"provider\":\"azure\"}]}", &cfg);
	assert_string_equal(cfg.azure_region, "East US 2");
	assert_string_equal(cfg.azure_tier, "OpenAI S0");
	assert_int_equal(cfg.azure_rpm_window_s, 10);
	assert_int_equal(emu_faults_error_status(&cfg.keys[0].faults, EMU_PROVIDER_AZURE), 500);
	emu_config_free(&cfg);

	parse_ok("{\"azure_region\":\"Sweden Central\",\"azure_tier\":\"AIServices S0\","
			 "\"azure_rpm_window_s\":60,"
			 "\"models\":[{\"name\":\"gpt-4o-dep\",\"provider\":\"azure\",\"max_output_tokens\":100}],"
			 "\"keys\":[{\"secret\":\"s\",\"label\":\"l\",\"provider\":\"azure\",\"rpm\":600,"
			 "\"tpm\":100000,\"faults\":{\"sentinel_headers\":true}},"
			 "{\"secret\":\"t\",\"label\":\"o\",\"provider\":\"openai\"}]}", &cfg);
	assert_string_equal(cfg.azure_region, "Sweden Central");
	assert_string_equal(cfg.azure_tier, "AIServices S0");
	assert_int_equal(cfg.azure_rpm_window_s, 60);
	assert_int_equal(cfg.keys[0].provider, EMU_PROVIDER_AZURE);
	assert_int_equal(cfg.keys[0].limits[EMU_DIM_RPM], 600);
	assert_int_equal(cfg.keys[0].limits[EMU_DIM_TPM], 100000);
	assert_true(cfg.keys[0].faults.sentinel_headers);
	/* deployments are the azure models; other providers' lists are apart */
	assert_true(emu_config_model_allowed(&cfg, &cfg.keys[0], "gpt-4o-dep", &max_out));
	assert_int_equal(max_out, 100);
	assert_false(emu_config_model_allowed(&cfg, &cfg.keys[0], "gpt-4o", &max_out));
	assert_true(emu_config_model_allowed(&cfg, &cfg.keys[1], "gpt-4o", &max_out));
	emu_config_free(&cfg);
}

static void
test_bad_configs(void **state)
{
	(void) state;
	parse_bad("{", "invalid JSON");
	parse_bad("[]", "JSON object");
	parse_bad("{\"keys\":[]}", "non-empty");
	parse_bad("{\"keys\":[{\"secret\":\"s\",\"label\":\"l\",\"provider\":\"bedrock\"}]}", "provider");
	parse_bad("{\"keys\":[{\"secret\":\"s\",\"label\":\"l\",\"provider\":\"azure\",\"rpd\":5}]}",
			  "\"rpd\" does not apply to azure");
	parse_bad("{\"keys\":[{\"secret\":\"s\",\"label\":\"l\",\"provider\":\"azure\",\"itpm\":5}]}",
			  "\"itpm\" does not apply to azure");
	parse_bad("{\"keys\":[{\"secret\":\"s\",\"label\":\"l\",\"provider\":\"azure\","
			  "\"insufficient_quota\":true}]}", "insufficient_quota does not apply");
	parse_bad("{\"azure_rpm_window_s\":5,\"keys\":[{\"secret\":\"s\",\"label\":\"l\",\"provider\":\"azure\"}]}",
			  "azure_rpm_window_s");
	parse_bad("{\"keys\":[{\"secret\":\"s\",\"label\":\"l\",\"provider\":\"anthropic\",\"tpm\":5}]}",
			  "\"tpm\" does not apply to anthropic");
	parse_bad("{\"keys\":[{\"secret\":\"s\",\"label\":\"l\",\"provider\":\"openai\",\"itpm\":5}]}",
			  "\"itpm\" does not apply");
	parse_bad("{\"keys\":[{\"secret\":\"s\",\"label\":\"l\",\"provider\":\"openai\",\"rpm\":-1}]}",
			  "non-negative");
	parse_bad("{\"keys\":[{\"secret\":\"s\",\"label\":\"l\",\"provider\":\"openai\",\"rpm\":1.5}]}",
			  "non-negative");
	parse_bad("{\"keys\":[{\"secret\":\"s\",\"label\":\"l\",\"provider\":\"openai\",\"rmp\":1}]}",
			  "unknown field \"rmp\"");
	parse_bad("{\"keys\":[{\"secret\":\"s\",\"label\":\"l\",\"provider\":\"openai\"},"
			  "{\"secret\":\"t\",\"label\":\"l\",\"provider\":\"openai\"}]}", "duplicate key label");
	parse_bad("{\"keys\":[{\"secret\":\"s\",\"label\":\"l\",\"provider\":\"openai\"},"
			  "{\"secret\":\"s\",\"label\":\"m\",\"provider\":\"openai\"}]}", "duplicate secret");
	parse_bad("{\"keys\":[{\"label\":\"l\",\"provider\":\"openai\"}]}", "\"secret\"");
	parse_bad("{\"keyz\":1,\"keys\":[{\"secret\":\"s\",\"label\":\"l\",\"provider\":\"openai\"}]}",
			  "unknown top-level field \"keyz\"");
	parse_bad("{\"openai_charge\":\"both\",\"keys\":[{\"secret\":\"s\",\"label\":\"l\",\"provider\":\"openai\"}]}",
			  "openai_charge");
	parse_bad("{\"keys\":[{\"secret\":\"s\",\"label\":\"l\",\"provider\":\"openai\",\"models\":[\"a\",2]}]}",
			  "models[]");
	parse_bad("{\"keys\":[{\"secret\":\"s\",\"label\":\"l\",\"provider\":\"openai\","
			  "\"faults\":{\"error_rate\":2}}]}", "between 0 and 1");
}

static void
test_faults_apply(void **state)
{
	EmuFaults	f;
	char		err[256];
	json_t	   *j;

	(void) state;
	memset(&f, 0, sizeof(f));
	j = json_loads("{\"key\":\"k1\",\"clear\":true,\"latency_ms\":1000,\"jitter_ms\":50,"
				   "\"error_rate\":0.1,\"error_status\":502,\"reset_rate\":0.1,\"hang_rate\":0.1,"
				   "\"malformed_rate\":0.1,\"truncated_rate\":0.1,\"no_ratelimit_headers\":true,"
				   "\"no_retry_after\":true,\"nonconforming_json\":true,"
				   "\"nonjson_structured\":true}", 0, NULL);
	assert_true(emu_faults_apply_json(j, &f, err, sizeof(err)));
	json_decref(j);
	assert_int_equal(f.latency_ms, 1000);
	assert_int_equal(f.jitter_ms, 50);
	assert_int_equal(f.error_status, 502);
	assert_true(f.hang_rate == 0.1 && f.truncated_rate == 0.1);
	assert_true(f.no_ratelimit_headers && f.no_retry_after && f.nonconforming_json);
	assert_true(f.nonjson_structured);

	/* merging keeps what is not mentioned */
	j = json_loads("{\"latency_ms\":0}", 0, NULL);
	assert_true(emu_faults_apply_json(j, &f, err, sizeof(err)));
	json_decref(j);
	assert_int_equal(f.latency_ms, 0);
	assert_int_equal(f.jitter_ms, 50);

	/* failures leave the faults untouched */
	j = json_loads("{\"reset_rate\":0.6,\"hang_rate\":0.6}", 0, NULL);
	assert_false(emu_faults_apply_json(j, &f, err, sizeof(err)));
	assert_non_null(strstr(err, "more than 1"));
	json_decref(j);
	assert_true(f.reset_rate == 0.1);
	j = json_loads("{\"error_status\":404}", 0, NULL);
	assert_false(emu_faults_apply_json(j, &f, err, sizeof(err)));
	json_decref(j);
	j = json_loads("{\"latency\":5}", 0, NULL);
	assert_false(emu_faults_apply_json(j, &f, err, sizeof(err)));
	assert_non_null(strstr(err, "unknown fault \"latency\""));
	json_decref(j);
	j = json_loads("{\"no_ratelimit_headers\":1}", 0, NULL);
	assert_false(emu_faults_apply_json(j, &f, err, sizeof(err)));
	json_decref(j);
	assert_true(f.no_ratelimit_headers);
}

/* The size and pace faults: defaults, bounds, the shared rate budget. */
static void
test_size_and_pace_faults(void **state)
{
	EmuFaults	f;
	EmuBuf		b;
	char		err[256];
	json_t	   *j;

	(void) state;
	memset(&f, 0, sizeof(f));
	assert_int_equal(emu_faults_oversized_bytes(&f), EMU_OVERSIZED_BYTES);
	assert_int_equal(emu_faults_big_headers_bytes(&f), EMU_BIG_HEADERS_BYTES);
	assert_int_equal(emu_faults_drip_ms(&f), EMU_DRIP_MS);

	j = json_loads("{\"oversized_rate\":0.2,\"oversized_bytes\":5000,"
				   "\"big_headers_rate\":0.3,\"big_headers_bytes\":70000,"
				   "\"drip_rate\":0.5,\"drip_ms\":20,\"error_rate\":0,"
				   "\"error_status\":403}", 0, NULL);
	assert_true(emu_faults_apply_json(j, &f, err, sizeof(err)));
	json_decref(j);
	assert_int_equal(emu_faults_oversized_bytes(&f), 5000);
	assert_int_equal(emu_faults_big_headers_bytes(&f), 70000);
	assert_int_equal(emu_faults_drip_ms(&f), 20);
	assert_int_equal(f.error_status, 403);
	assert_true(emu_faults_rate_sum(&f) > 0.99 && emu_faults_rate_sum(&f) < 1.01);

	/* the new rates share the budget of 1 with the old ones */
	j = json_loads("{\"reset_rate\":0.1}", 0, NULL);
	assert_false(emu_faults_apply_json(j, &f, err, sizeof(err)));
	assert_non_null(strstr(err, "more than 1"));
	json_decref(j);

	/* sizes are bounded */
	j = json_loads("{\"oversized_bytes\":1073741825}", 0, NULL);
	assert_false(emu_faults_apply_json(j, &f, err, sizeof(err)));
	assert_non_null(strstr(err, "oversized_bytes"));
	json_decref(j);
	j = json_loads("{\"big_headers_bytes\":-1}", 0, NULL);
	assert_false(emu_faults_apply_json(j, &f, err, sizeof(err)));
	json_decref(j);
	assert_int_equal(emu_faults_oversized_bytes(&f), 5000);

	emu_buf_init(&b);
	emu_faults_render(&f, &b);
	assert_non_null(strstr(b.data, "\"oversized_rate\":0.2,\"oversized_bytes\":5000"));
	assert_non_null(strstr(b.data, "\"drip_rate\":0.5,\"drip_ms\":20"));
	emu_buf_free(&b);
}

static void
test_limits_apply_and_render(void **state)
{
	int64_t		l[EMU_DIM_COUNT];
	char		err[256];
	json_t	   *j;
	EmuBuf		b;
	EmuFaults	f;

	(void) state;
	for (int d = 0; d < EMU_DIM_COUNT; d++)
		l[d] = EMU_UNLIMITED;
	j = json_loads("{\"key\":\"a1\",\"rpm\":7,\"otpm\":100,\"itpm\":null,\"refill\":true}", 0, NULL);
	assert_true(emu_limits_apply_json(j, EMU_PROVIDER_ANTHROPIC, l, err, sizeof(err)));
	assert_false(emu_limits_apply_json(j, EMU_PROVIDER_OPENAI, l, err, sizeof(err)));
	json_decref(j);
	assert_int_equal(l[EMU_DIM_RPM], 7);
	assert_int_equal(l[EMU_DIM_OTPM], 100);
	assert_int_equal(l[EMU_DIM_ITPM], EMU_UNLIMITED);
	emu_buf_init(&b);
	emu_limits_render(l, EMU_PROVIDER_ANTHROPIC, &b);
	assert_string_equal(b.data, "\"rpm\":7,\"itpm\":null,\"otpm\":100,\"rpd\":null,\"tpd\":null");
	emu_buf_reset(&b);
	memset(&f, 0, sizeof(f));
	f.latency_ms = 3;
	f.error_rate = 0.5;
	emu_faults_render(&f, &b);
	j = json_loads(b.data, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "latency_ms")), 3);
	assert_true(json_real_value(json_object_get(j, "error_rate")) == 0.5);
	assert_true(json_is_false(json_object_get(j, "nonconforming_json")));
	assert_true(json_is_false(json_object_get(j, "nonjson_structured")));
	assert_true(json_is_false(json_object_get(j, "sentinel_headers")));
	json_decref(j);
	emu_buf_free(&b);
}

static void
test_load_file(void **state)
{
	EmuConfig	cfg;
	char		err[512];
	char		path[] = "/tmp/emu_cfg_XXXXXX";
	int			fd = mkstemp(path);
	FILE	   *f;

	(void) state;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("{\"keys\":[{\"secret\":\"s\",\"label\":\"l\",\"provider\":\"gemini\",\"rpm\":5}]}", f);
	fclose(f);
	assert_true(emu_config_load(path, &cfg, err, sizeof(err)));
	assert_int_equal(cfg.keys[0].limits[EMU_DIM_RPM], 5);
	emu_config_free(&cfg);
	remove(path);
	assert_false(emu_config_load(path, &cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "could not open"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_config),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_azure_config),
		cmocka_unit_test(test_bad_configs),
		cmocka_unit_test(test_faults_apply),
		cmocka_unit_test(test_size_and_pace_faults),
		cmocka_unit_test(test_limits_apply_and_render),
		cmocka_unit_test(test_load_file),
	};

	return cmocka_run_group_tests_name("emulator config", tests, NULL, NULL);
}
