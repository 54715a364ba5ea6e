/*-------------------------------------------------------------------------
 * test_telemetry.c
 *	  cmocka tests of the views' live figures (src/telemetry.c) and of the
 *	  utilisation alert rule (src/alertrule.c).
 *
 * IDENTIFICATION
 *	  test/unit/test_telemetry.c
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "alertrule.h"
#include "telemetry.h"

#define T0		INT64_C(1700000000000000)
#define SEC		INT64_C(1000000)
#define PCT		INT64_C(10000)

static void
test_bucket_unlimited_is_unknown(void **state)
{
	AigovBucket b;
	AigovAxisFigures f;

	(void) state;
	aigov_bucket_init(&b, 0, AIGOV_USECS_PER_MINUTE);
	aigov_telemetry_bucket(&b, T0, &f);
	assert_false(f.known);
	assert_int_equal(f.limit, 0);
	assert_int_equal(f.remaining, 0);
	assert_int_equal(f.utilisation_ppm, 0);
}

static void
test_bucket_figures_follow_takes(void **state)
{
	AigovBucket b;
	AigovAxisFigures f;
	int64_t		limit = 200;
	int64_t		taken = 150;

	(void) state;
	aigov_bucket_init(&b, limit, AIGOV_USECS_PER_MINUTE);
	aigov_telemetry_bucket(&b, T0, &f);
	assert_true(f.known);
	assert_int_equal(f.limit, limit);
	assert_int_equal(f.remaining, limit);
	assert_int_equal(f.utilisation_ppm, 0);
	assert_int_equal(f.full_at_us, T0);

	aigov_bucket_force_take(&b, taken, T0);
	aigov_telemetry_bucket(&b, T0, &f);
	assert_int_equal(f.remaining, limit - taken);
	assert_int_equal(f.utilisation_ppm, taken * 1000000 / limit);
	/* 150 of 200 per minute refill in 45 seconds */
	assert_int_equal(f.full_at_us, T0 + taken * AIGOV_USECS_PER_MINUTE / limit);

	/* half of it has refilled 22.5 s later */
	aigov_telemetry_bucket(&b, T0 + taken * AIGOV_USECS_PER_MINUTE / limit / 2, &f);
	assert_int_equal(f.utilisation_ppm, taken * 1000000 / limit / 2);

	/* in debt: nothing remains, utilisation passes 100% */
	aigov_bucket_force_take(&b, limit, T0);
	aigov_telemetry_bucket(&b, T0, &f);
	assert_int_equal(f.remaining, 0);
	assert_true(f.utilisation_ppm > 1000000);
}

static void
test_key_figures(void **state)
{
	AigovKeyState key;
	AigovKeyFigures f;
	int64_t		rpm = 100;
	int64_t		tpd = 50000;
	AigovKeyTicket ticket;

	(void) state;
	aigov_router_key_init(&key, rpm, 0, 0, tpd, 1);
	aigov_router_key_configure(&key, rpm, 0, 0, tpd, 1, 97, T0);
	aigov_telemetry_key(&key, T0, &f);
	assert_true(f.axis[AIGOV_TELEMETRY_RPM].known);
	assert_int_equal(f.axis[AIGOV_TELEMETRY_RPM].limit, rpm);
	assert_false(f.axis[AIGOV_TELEMETRY_TPM].known);
	assert_true(f.axis[AIGOV_TELEMETRY_TPD].known);
	assert_int_equal(f.axis[AIGOV_TELEMETRY_TPD].limit, tpd);
	assert_int_equal(f.paced_rpm, rpm * 97 / 100);
	assert_int_equal(f.paced_tpm, 0);
	assert_int_equal(f.learned_rpm, 0);

	for (int i = 0; i < 80; i++)
		aigov_router_reserve(&key, 10, T0, &ticket);
	aigov_telemetry_key(&key, T0, &f);
	assert_int_equal(f.axis[AIGOV_TELEMETRY_RPM].remaining, rpm - 80);
	assert_int_equal(f.axis[AIGOV_TELEMETRY_RPM].utilisation_ppm, 80 * PCT);
	assert_int_equal(f.axis[AIGOV_TELEMETRY_TPD].remaining, tpd - 800);
}

static void
test_tenant_figures(void **state)
{
	AigovTenantQuota q;
	AigovAxisFigures f[AIGOV_TELEMETRY_AXES];
	AigovAdmitResult r;

	(void) state;
	aigov_admission_init(&q, 10, 1000, 100000, 80);
	assert_int_equal(aigov_admission_try(&q, 100, T0, &r), AIGOV_ADMIT_OK);
	aigov_telemetry_tenant(&q, T0, f);
	assert_int_equal(f[AIGOV_TELEMETRY_RPM].remaining, 9);
	assert_int_equal(f[AIGOV_TELEMETRY_RPM].utilisation_ppm, 10 * PCT);
	assert_int_equal(f[AIGOV_TELEMETRY_TPM].utilisation_ppm, 10 * PCT);
	assert_int_equal(f[AIGOV_TELEMETRY_TPD].remaining, 100000 - 100);
	assert_string_equal(aigov_telemetry_axis_name(AIGOV_TELEMETRY_RPM), "rpm");
	assert_string_equal(aigov_telemetry_axis_name(AIGOV_TELEMETRY_TPM), "tpm");
	assert_string_equal(aigov_telemetry_axis_name(AIGOV_TELEMETRY_TPD), "tpd");
}

/* One crossing is one change of level; values at a threshold do not flap. */
static void
test_alert_hysteresis(void **state)
{
	static const struct
	{
		int			previous;
		int64_t		pct;
		int			level;
	}			cases[] = {
		{0, 0, 0}, {0, 69, 0}, {0, 70, 70}, {0, 89, 70}, {0, 90, 90},
		{0, 150, 90},
		{70, 69, 70}, {70, 65, 70}, {70, 64, 0}, {70, 90, 90},
		{90, 89, 90}, {90, 85, 90}, {90, 84, 70}, {90, 65, 70}, {90, 64, 0},
	};

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(aigov_alert_level_next(cases[i].previous,
												cases[i].pct * PCT),
						 cases[i].level);
}

/* A walk up and down across both thresholds changes level four times. */
static void
test_alert_walk(void **state)
{
	int			level = 0;
	int			changes = 0;

	(void) state;
	for (int64_t pct = 60; pct <= 95; pct++)
	{
		int			next = aigov_alert_level_next(level, pct * PCT);

		changes += next != level;
		level = next;
		/* a little noise back and forth never flaps */
		next = aigov_alert_level_next(level, (pct - 2) * PCT);
		changes += next != level;
		level = next;
	}
	assert_int_equal(level, 90);
	for (int64_t pct = 95; pct >= 50; pct--)
	{
		int			next = aigov_alert_level_next(level, pct * PCT);

		changes += next != level;
		level = next;
	}
	assert_int_equal(level, 0);
	assert_int_equal(changes, 4);
}

static void
test_alert_severity(void **state)
{
	(void) state;
	assert_string_equal(aigov_alert_severity(0, 70), "warning");
	assert_string_equal(aigov_alert_severity(0, 90), "critical");
	assert_string_equal(aigov_alert_severity(70, 90), "critical");
	assert_string_equal(aigov_alert_severity(90, 70), "info");
	assert_string_equal(aigov_alert_severity(70, 0), "info");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_unlimited_is_unknown),
		cmocka_unit_test(test_bucket_figures_follow_takes),
		cmocka_unit_test(test_key_figures),
		cmocka_unit_test(test_tenant_figures),
		cmocka_unit_test(test_alert_hysteresis),
		cmocka_unit_test(test_alert_walk),
		cmocka_unit_test(test_alert_severity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
