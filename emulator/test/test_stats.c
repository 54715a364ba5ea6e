/*-------------------------------------------------------------------------
 * test_stats.c
 *	  Unit tests of the statistics JSON (stats.c).
 *
 * IDENTIFICATION
 *	  emulator/test/test_stats.c
 *-------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "stats.h"

static json_int_t
get(json_t *o, const char *a, const char *b)
{
	json_t	   *v = json_object_get(o, a);

	if (b != NULL)
		v = json_object_get(v, b);
	if (!json_is_integer(v))
		fail_msg("%s.%s missing", a, b ? b : "");
	return json_integer_value(v);
}

static void
test_render(void **state)
{
	EmuStatsSnap k[2];
	EmuStatsGlobal g = {3, 42, 7, 11};
	EmuBuf		b;
	json_t	   *j;
	json_t	   *k1;
	json_t	   *tot;

	(void) state;
	memset(k, 0, sizeof(k));
	k[0].label = "k1";
	k[0].provider = EMU_PROVIDER_OPENAI;
	k[1].label = "a\"1";
	k[1].provider = EMU_PROVIDER_ANTHROPIC;
	k[1].insufficient_quota = true;
	for (int s = 0; s < EMU_STAT_COUNT; s++)
	{
		k[0].c[s] = 100 + s;
		k[1].c[s] = 1000 * (s + 1);
	}
	for (int d = 0; d < EMU_DIM_COUNT; d++)
		k[0].view.limit[d] = k[1].view.limit[d] = EMU_UNLIMITED;
	k[0].view.limited[EMU_DIM_RPM] = true;
	k[0].view.limit[EMU_DIM_RPM] = 600;
	k[0].view.remaining[EMU_DIM_RPM] = 599;
	k[0].view.reset_us[EMU_DIM_RPM] = 100000;

	emu_buf_init(&b);
	assert_true(emu_stats_render(k, 2, &g, &b));
	j = json_loadb(b.data, b.len, JSON_REJECT_DUPLICATES, NULL);
	if (j == NULL)
		fail_msg("not JSON: %s", b.data);
	emu_buf_free(&b);

	k1 = json_object_get(json_object_get(j, "keys"), "k1");
	assert_string_equal(json_string_value(json_object_get(k1, "provider")), "openai");
	assert_int_equal(get(k1, "requests", NULL), 100 + EMU_STAT_REQUESTS);
	assert_int_equal(get(k1, "successes", NULL), 100 + EMU_STAT_SUCCESSES);
	assert_int_equal(get(k1, "rate_limited", "rpm"), 100 + EMU_STAT_RL_RPM);
	assert_int_equal(get(k1, "rate_limited", "tpd"), 100 + EMU_STAT_RL_TPD);
	assert_int_equal(get(k1, "rate_limited_total", NULL),
					 6 * 100 + EMU_STAT_RL_RPM + EMU_STAT_RL_TPM + EMU_STAT_RL_ITPM +
					 EMU_STAT_RL_OTPM + EMU_STAT_RL_RPD + EMU_STAT_RL_TPD);
	assert_int_equal(get(k1, "insufficient_quota", NULL), 100 + EMU_STAT_INSUFFICIENT_QUOTA);
	assert_int_equal(get(k1, "server_errors", NULL), 100 + EMU_STAT_SERVER_ERRORS);
	assert_int_equal(get(k1, "resets", NULL), 100 + EMU_STAT_RESETS);
	assert_int_equal(get(k1, "hangs", NULL), 100 + EMU_STAT_HANGS);
	assert_int_equal(get(k1, "tokens_charged", NULL), 100 + EMU_STAT_TOKENS_CHARGED);
	assert_int_equal(get(k1, "prompt_tokens", NULL), 100 + EMU_STAT_PROMPT_TOKENS);
	assert_int_equal(get(k1, "completion_tokens", NULL), 100 + EMU_STAT_COMPLETION_TOKENS);
	assert_int_equal(get(k1, "peak_concurrent", NULL), 100 + EMU_STAT_PEAK_CONCURRENT);
	assert_int_equal(get(k1, "current_concurrent", NULL), 100 + EMU_STAT_CURRENT_CONCURRENT);
	assert_int_equal(get(k1, "duplicates", NULL), 100 + EMU_STAT_DUPLICATES);
	assert_false(json_is_true(json_object_get(k1, "insufficient_quota_state")));
	/* buckets: only the limited ones, reset in ms */
	assert_int_equal(json_object_size(json_object_get(k1, "buckets")), 1);
	assert_int_equal(get(json_object_get(k1, "buckets"), "rpm", "limit"), 600);
	assert_int_equal(get(json_object_get(k1, "buckets"), "rpm", "remaining"), 599);
	assert_int_equal(get(json_object_get(k1, "buckets"), "rpm", "reset_ms"), 100);
	/* labels are escaped */
	assert_true(json_is_true(json_object_get(json_object_get(json_object_get(j, "keys"), "a\"1"),
											 "insufficient_quota_state")));

	tot = json_object_get(j, "totals");
	assert_int_equal(get(tot, "requests", NULL), 100 + 1000);
	assert_int_equal(get(tot, "duplicates", NULL),
					 100 + EMU_STAT_DUPLICATES + 1000 * (EMU_STAT_DUPLICATES + 1));
	/* concurrency totals are process-wide, not sums */
	assert_int_equal(get(tot, "peak_concurrent", NULL), 42);
	assert_int_equal(get(tot, "current_concurrent", NULL), 7);
	assert_int_equal(get(tot, "unauthorized", NULL), 3);
	assert_int_equal(get(tot, "idempotency_keys", NULL), 11);
	json_decref(j);

	assert_string_equal(emu_stat_name(EMU_STAT_HANGS), "hangs");
	assert_string_equal(emu_stat_name(EMU_STAT_COUNT), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render),
	};

	return cmocka_run_group_tests_name("emulator stats", tests, NULL, NULL);
}
