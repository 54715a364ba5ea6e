/*-------------------------------------------------------------------------
 * test_admission.c
 *	  cmocka tests of tenant admission (src/admission.c).
 *
 * IDENTIFICATION
 *	  test/unit/test_admission.c
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "admission.h"

#define MIN_US	AIGOV_USECS_PER_MINUTE
#define DAY_US	AIGOV_USECS_PER_DAY
#define T0		INT64_C(1700000000000000)
#define SEC		INT64_C(1000000)

static int64_t
left(const AigovTenantQuota *q, AigovAxis a, int64_t now)
{
	return aigov_bucket_remaining(&q->axis[a], now);
}

static void
test_all_or_nothing(void **state)
{
	AigovTenantQuota q;
	AigovAdmitResult r;

	(void) state;
	assert_true(aigov_admission_init(&q, 10, 1000, 5000, 0));
	for (int i = 0; i < 5; i++)
	{
		assert_int_equal(aigov_admission_try(&q, 200, T0, &r), AIGOV_ADMIT_OK);
		assert_int_equal(r.axis, AIGOV_AXIS_NONE);
		assert_int_equal(r.retry_at_us, T0);
	}
	assert_int_equal(left(&q, AIGOV_AXIS_RPM, T0), 5);
	assert_int_equal(left(&q, AIGOV_AXIS_TPM, T0), 0);
	assert_int_equal(left(&q, AIGOV_AXIS_TPD, T0), 4000);

	/* TPM is out: nothing at all is taken from RPM or TPD */
	assert_int_equal(aigov_admission_try(&q, 200, T0, &r), AIGOV_ADMIT_WAIT);
	assert_int_equal(r.axis, AIGOV_AXIS_TPM);
	assert_int_equal(left(&q, AIGOV_AXIS_RPM, T0), 5);
	assert_int_equal(left(&q, AIGOV_AXIS_TPD, T0), 4000);

	/* exact: 200 tokens at 1000/min refill in 12 s */
	assert_int_equal(r.retry_at_us, T0 + 12 * SEC);
	assert_int_equal(aigov_admission_try(&q, 200, T0 + 12 * SEC - 1, &r),
					 AIGOV_ADMIT_WAIT);
	assert_int_equal(r.retry_at_us, T0 + 12 * SEC);
	assert_int_equal(aigov_admission_try(&q, 200, T0 + 12 * SEC, &r),
					 AIGOV_ADMIT_OK);
	/* 5 left + 2 refilled in 12 s at 10/min - 1 taken */
	assert_int_equal(left(&q, AIGOV_AXIS_RPM, T0 + 12 * SEC), 6);
}

static void
test_binding_axis_and_exact_retry(void **state)
{
	AigovTenantQuota q;
	AigovAdmitResult r;

	(void) state;
	aigov_admission_init(&q, 2, 300, 0, 0); /* no daily limit */
	assert_int_equal(aigov_admission_try(&q, 150, T0, &r), AIGOV_ADMIT_OK);
	assert_int_equal(aigov_admission_try(&q, 150, T0, &r), AIGOV_ADMIT_OK);

	/* RPM frees in 30 s, 200 TPM tokens in 40 s: TPM binds at 40 s */
	assert_int_equal(aigov_admission_check(&q, 200, T0, &r), AIGOV_ADMIT_WAIT);
	assert_int_equal(r.axis, AIGOV_AXIS_TPM);
	assert_int_equal(r.retry_at_us, T0 + 40 * SEC);

	/* 10 tokens free in 2 s, but RPM binds at 30 s */
	assert_int_equal(aigov_admission_check(&q, 10, T0, &r), AIGOV_ADMIT_WAIT);
	assert_int_equal(r.axis, AIGOV_AXIS_RPM);
	assert_int_equal(r.retry_at_us, T0 + 30 * SEC);

	/* check changed nothing; at the retry instant all three admit */
	assert_int_equal(aigov_admission_try(&q, 200, T0 + 40 * SEC - 1, &r),
					 AIGOV_ADMIT_WAIT);
	assert_int_equal(aigov_admission_try(&q, 200, T0 + 40 * SEC, &r),
					 AIGOV_ADMIT_OK);

	/* equal times name the first axis */
	aigov_admission_init(&q, 1, 100, 0, 0);
	aigov_admission_try(&q, 100, T0, &r);
	assert_int_equal(aigov_admission_check(&q, 100, T0, &r), AIGOV_ADMIT_WAIT);
	assert_int_equal(r.axis, AIGOV_AXIS_RPM);
	assert_int_equal(r.retry_at_us, T0 + MIN_US);
}

static void
test_never(void **state)
{
	AigovTenantQuota q;
	AigovAdmitResult r;

	(void) state;
	aigov_admission_init(&q, 10, 1000, 800, 0);
	assert_int_equal(aigov_admission_try(&q, 1001, T0, &r), AIGOV_ADMIT_NEVER);
	assert_int_equal(r.axis, AIGOV_AXIS_TPM);
	assert_int_equal(r.retry_at_us, INT64_MAX);
	assert_int_equal(aigov_admission_try(&q, 900, T0, &r), AIGOV_ADMIT_NEVER);
	assert_int_equal(r.axis, AIGOV_AXIS_TPD);
	/* nothing was taken */
	assert_int_equal(left(&q, AIGOV_AXIS_RPM, T0), 10);
	assert_int_equal(left(&q, AIGOV_AXIS_TPM, T0), 1000);
	/* NEVER wins even when another axis would make it WAIT */
	aigov_admission_try(&q, 800, T0, &r);
	assert_int_equal(aigov_admission_try(&q, 900, T0, &r), AIGOV_ADMIT_NEVER);
}

static void
test_day_limit(void **state)
{
	AigovTenantQuota q;
	AigovAdmitResult r;

	(void) state;
	aigov_admission_init(&q, 0, 0, 1000, 0);	/* only a daily cap */
	assert_int_equal(aigov_admission_try(&q, 1000, T0, &r), AIGOV_ADMIT_OK);
	assert_int_equal(aigov_admission_try(&q, 1, T0, &r), AIGOV_ADMIT_WAIT);
	assert_int_equal(r.axis, AIGOV_AXIS_TPD);
	/* one token per 86.4 s */
	assert_int_equal(r.retry_at_us, T0 + 86400000);
	assert_int_equal(aigov_admission_try(&q, 500, T0, &r), AIGOV_ADMIT_WAIT);
	assert_int_equal(r.retry_at_us, T0 + DAY_US / 2);
	assert_string_equal(aigov_admission_axis_name(r.axis), "tenant_tpd");
	/* unlimited axes never block */
	for (int i = 0; i < 1000; i++)
		assert_int_equal(aigov_admission_try(&q, 0, T0, &r), AIGOV_ADMIT_OK);
}

static void
test_soft_warning_edges(void **state)
{
	AigovTenantQuota q;
	AigovAdmitResult r;
	int			warnings = 0;
	int64_t		now = T0;

	(void) state;
	aigov_admission_init(&q, 100, 0, 0, 80);
	for (int i = 1; i <= 100; i++)
	{
		assert_int_equal(aigov_admission_try(&q, 0, now, &r), AIGOV_ADMIT_OK);
		if (i < 80)
			assert_int_equal(r.soft_warn, 0);
		else if (i == 80)
			assert_int_equal(r.soft_warn, AIGOV_AXIS_BIT(AIGOV_AXIS_RPM));
		else
			assert_int_equal(r.soft_warn, 0);	/* once per crossing */
	}

	/* fall to 77% (inside the hysteresis band), climb back: no new warning */
	now += 23 * 600000;			/* 23 requests refilled: 77 used */
	assert_int_equal(aigov_admission_utilisation_ppm(&q, AIGOV_AXIS_RPM, now),
					 770000);
	for (int i = 0; i < 3; i++)
	{
		aigov_admission_try(&q, 0, now, &r);
		warnings += r.soft_warn != 0;
	}
	assert_int_equal(warnings, 0);

	/* fall below 75%: re-armed; crossing 80% again warns exactly once */
	now += 10 * 600000;			/* 70 used */
	for (int i = 0; i < 15; i++)
	{
		aigov_admission_try(&q, 0, now, &r);
		warnings += r.soft_warn != 0;
		if (r.soft_warn)
			assert_int_equal(i, 9); /* the 80th request in use */
	}
	assert_int_equal(warnings, 1);

	/* the poll re-arms and fires without taking anything */
	aigov_admission_init(&q, 100, 0, 0, 50);
	for (int i = 0; i < 60; i++)
		aigov_admission_try(&q, 0, T0, &r);
	assert_int_equal(aigov_admission_soft_poll(&q, T0), 0); /* fired already */
	assert_int_equal(aigov_admission_soft_poll(&q, T0 + 20 * 600000), 0);	/* re-armed at 40% */
	aigov_admission_configure(&q, 50, 0, 0, 50, T0 + 20 * 600000);
	/* 40% stays 40%; limit change alone does not cross */
	assert_int_equal(aigov_admission_soft_poll(&q, T0 + 20 * 600000), 0);

	/* soft_limit_pct 0: never */
	aigov_admission_init(&q, 10, 0, 0, 0);
	for (int i = 0; i < 10; i++)
	{
		aigov_admission_try(&q, 0, T0, &r);
		assert_int_equal(r.soft_warn, 0);
	}
}

static void
test_soft_warning_per_axis(void **state)
{
	AigovTenantQuota q;
	AigovAdmitResult r;

	(void) state;
	aigov_admission_init(&q, 100, 1000, 100000, 90);
	assert_int_equal(aigov_admission_try(&q, 950, T0, &r), AIGOV_ADMIT_OK);
	assert_int_equal(r.soft_warn, AIGOV_AXIS_BIT(AIGOV_AXIS_TPM));
	/* reconcile pushes TPD over 90% of 100000? no: TPM already fired */
	assert_int_equal(aigov_admission_reconcile(&q, 950, 960, T0), 0);
	/* a reconcile that crosses upward warns */
	aigov_admission_init(&q, 100, 1000, 100000, 90);
	aigov_admission_try(&q, 500, T0, &r);
	assert_int_equal(r.soft_warn, 0);
	assert_int_equal(aigov_admission_reconcile(&q, 500, 950, T0),
					 AIGOV_AXIS_BIT(AIGOV_AXIS_TPM));
}

static void
test_reconcile_and_refund(void **state)
{
	AigovTenantQuota q;
	AigovAdmitResult r;

	(void) state;
	aigov_admission_init(&q, 100, 10000, 100000, 0);
	aigov_admission_try(&q, 4000, T0, &r);
	/* used 1000 of the 4000 estimated */
	aigov_admission_reconcile(&q, 4000, 1000, T0);
	assert_int_equal(left(&q, AIGOV_AXIS_TPM, T0), 9000);
	assert_int_equal(left(&q, AIGOV_AXIS_TPD, T0), 99000);
	assert_int_equal(left(&q, AIGOV_AXIS_RPM, T0), 99);

	/* used more than the limit: debt, paid back before the next job */
	aigov_admission_try(&q, 9000, T0, &r);
	aigov_admission_reconcile(&q, 9000, 12000, T0);
	assert_int_equal(aigov_bucket_balance(&q.axis[AIGOV_AXIS_TPM], T0), -3000);
	assert_int_equal(aigov_admission_try(&q, 1, T0, &r), AIGOV_ADMIT_WAIT);
	assert_int_equal(r.axis, AIGOV_AXIS_TPM);
	/* 3001 tokens at 10000/min = 18.006 s */
	assert_int_equal(r.retry_at_us, T0 + 18006000);
	assert_true(aigov_admission_utilisation_ppm(&q, AIGOV_AXIS_TPM, T0) > 1000000);

	/* refund undoes an admission entirely */
	aigov_admission_init(&q, 5, 500, 5000, 0);
	aigov_admission_try(&q, 300, T0, &r);
	aigov_admission_refund(&q, 300, T0);
	assert_int_equal(left(&q, AIGOV_AXIS_RPM, T0), 5);
	assert_int_equal(left(&q, AIGOV_AXIS_TPM, T0), 500);
	assert_int_equal(left(&q, AIGOV_AXIS_TPD, T0), 5000);
	/* negative inputs are treated as zero */
	aigov_admission_reconcile(&q, -5, -7, T0);
	assert_int_equal(left(&q, AIGOV_AXIS_TPM, T0), 500);
}

static void
test_configure_keeps_fraction(void **state)
{
	AigovTenantQuota q;
	AigovAdmitResult r;

	(void) state;
	aigov_admission_init(&q, 100, 1000, 10000, 0);
	for (int i = 0; i < 50; i++)
		aigov_admission_try(&q, 10, T0, &r);
	aigov_admission_configure(&q, 1000, 1000, 0, 0, T0);
	assert_int_equal(left(&q, AIGOV_AXIS_RPM, T0), 500);
	assert_int_equal(left(&q, AIGOV_AXIS_TPM, T0), 500);
	assert_int_equal(q.axis[AIGOV_AXIS_TPD].limit, 0);
	assert_int_equal(aigov_admission_try(&q, 500, T0, &r), AIGOV_ADMIT_OK);
}

static void
test_axis_names(void **state)
{
	(void) state;
	assert_string_equal(aigov_admission_axis_name(AIGOV_AXIS_RPM), "tenant_rpm");
	assert_string_equal(aigov_admission_axis_name(AIGOV_AXIS_TPM), "tenant_tpm");
	assert_string_equal(aigov_admission_axis_name(AIGOV_AXIS_TPD), "tenant_tpd");
	assert_string_equal(aigov_admission_axis_name(AIGOV_AXIS_NONE), "none");
	assert_string_equal(aigov_admission_axis_name((AigovAxis) 42), "none");
	assert_int_equal(aigov_admission_utilisation_ppm(NULL, (AigovAxis) 42, T0), 0);
}

/* A tenant at steady 2x demand is admitted exactly at its RPM, no more. */
static void
test_sustained_rate_exact(void **state)
{
	AigovTenantQuota q;
	AigovAdmitResult r;
	int			admitted = 0;

	(void) state;
	aigov_admission_init(&q, 120, 0, 0, 0);
	/* offer one request every 250 ms for 10 minutes */
	for (int64_t t = 0; t < 10 * MIN_US; t += 250000)
		admitted += aigov_admission_try(&q, 0, T0 + t, &r) == AIGOV_ADMIT_OK;

	/*
	 * The full bucket (120) plus the refill until the last offer at 599.75 s
	 * (1199 whole requests at 2/s): every unit is used, none twice.
	 */
	assert_int_equal(admitted, 120 + 1199);
}

/*
 * Admit-or-book decides in one call: a job that fits is taken, one that
 * must wait is booked (its cost taken, the next one booked behind it),
 * and one that can never fit takes nothing.  The worker holds the quota's
 * lock around this one call, so a limit lowered by another process can
 * only be seen before or after it, never between a "wait" and its booking.
 */
static void
test_admit_or_book(void **state)
{
	AigovTenantQuota q;
	AigovAdmitResult r;

	(void) state;
	aigov_admission_init(&q, 100, 1000, 0, 0);
	assert_int_equal(aigov_admission_admit_or_book(&q, 600, T0, &r), AIGOV_ADMIT_OK);
	assert_int_equal(r.retry_at_us, T0);
	assert_int_equal(left(&q, AIGOV_AXIS_TPM, T0), 400);

	/* 600 more: 200 missing, refilled in 12 s; booked there, cost taken */
	assert_int_equal(aigov_admission_admit_or_book(&q, 600, T0, &r), AIGOV_ADMIT_WAIT);
	assert_int_equal(r.axis, AIGOV_AXIS_TPM);
	assert_int_equal(r.retry_at_us, T0 + 12 * SEC);
	assert_int_equal(aigov_bucket_balance(&q.axis[AIGOV_AXIS_TPM], T0), -200);
	assert_int_equal(left(&q, AIGOV_AXIS_RPM, T0), 98);

	/* the next one books behind it: 800 missing, 48 s */
	assert_int_equal(aigov_admission_admit_or_book(&q, 600, T0, &r), AIGOV_ADMIT_WAIT);
	assert_int_equal(r.retry_at_us, T0 + 48 * SEC);

	/* the limit is lowered below the job: never, and nothing is taken */
	aigov_admission_configure(&q, 100, 500, 0, 0, T0);
	{
		int64_t		rpm_before = left(&q, AIGOV_AXIS_RPM, T0);
		int64_t		tpm_before = aigov_bucket_balance(&q.axis[AIGOV_AXIS_TPM], T0);

		assert_int_equal(aigov_admission_admit_or_book(&q, 600, T0, &r),
						 AIGOV_ADMIT_NEVER);
		assert_int_equal(r.axis, AIGOV_AXIS_TPM);
		assert_int_equal(r.retry_at_us, INT64_MAX);
		assert_int_equal(left(&q, AIGOV_AXIS_RPM, T0), rpm_before);
		assert_int_equal(aigov_bucket_balance(&q.axis[AIGOV_AXIS_TPM], T0), tpm_before);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_or_nothing),
		cmocka_unit_test(test_binding_axis_and_exact_retry),
		cmocka_unit_test(test_never),
		cmocka_unit_test(test_day_limit),
		cmocka_unit_test(test_soft_warning_edges),
		cmocka_unit_test(test_soft_warning_per_axis),
		cmocka_unit_test(test_reconcile_and_refund),
		cmocka_unit_test(test_configure_keeps_fraction),
		cmocka_unit_test(test_axis_names),
		cmocka_unit_test(test_sustained_rate_exact),
		cmocka_unit_test(test_admit_or_book),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
