/*-------------------------------------------------------------------------
 * test_quota.c
 *	  Unit tests of the token buckets and admission (quota.c).
 *
 * Time is driven by hand: every call gets an explicit microsecond clock.
 *
 * IDENTIFICATION
 *	  emulator/test/test_quota.c
 *-------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "quota.h"

#define SEC(x)	((int64_t) (x) * 1000000)
#define T0		SEC(1000)		/* an arbitrary monotonic origin */

static void
no_limits(int64_t l[EMU_DIM_COUNT])
{
	for (int d = 0; d < EMU_DIM_COUNT; d++)
		l[d] = EMU_UNLIMITED;
}

/* A bucket starts full and refills continuously, capped at its limit. */
static void
test_bucket_refill_continuous(void **state)
{
	EmuBucket	b;

	(void) state;
	emu_bucket_init(&b, 60, EMU_MINUTE_US, T0);
	assert_true(emu_bucket_level(&b, T0) == 60.0);
	emu_bucket_take(&b, T0, 60);
	assert_true(emu_bucket_level(&b, T0) == 0.0);
	/* 60 per minute is one per second, in fractions in between */
	assert_true(emu_bucket_level(&b, T0 + 500000) == 0.5);
	assert_true(emu_bucket_level(&b, T0 + SEC(1)) == 1.0);
	assert_true(emu_bucket_level(&b, T0 + SEC(30)) == 30.0);
	/* never above the limit */
	assert_true(emu_bucket_level(&b, T0 + SEC(600)) == 60.0);
}

/* Window edges: exactly one window after emptying it is full again. */
static void
test_bucket_window_edges(void **state)
{
	EmuBucket	b;

	(void) state;
	emu_bucket_init(&b, 600, EMU_MINUTE_US, T0);
	emu_bucket_take(&b, T0, 600);
	assert_int_equal(emu_bucket_full_us(&b, T0), EMU_MINUTE_US);
	assert_int_equal(emu_bucket_full_us(&b, T0 + EMU_MINUTE_US - 1), 1);
	assert_int_equal(emu_bucket_full_us(&b, T0 + EMU_MINUTE_US), 0);
	/* one request of 600 RPM takes 100 ms to come back */
	emu_bucket_take(&b, T0 + EMU_MINUTE_US, 1);
	assert_int_equal(emu_bucket_full_us(&b, T0 + EMU_MINUTE_US), 100000);
	/* waits: available now, later, or never */
	assert_int_equal(emu_bucket_wait_us(&b, T0 + EMU_MINUTE_US, 599), 0);
	assert_int_equal(emu_bucket_wait_us(&b, T0 + EMU_MINUTE_US, 600), 100000);
	assert_int_equal(emu_bucket_wait_us(&b, T0 + EMU_MINUTE_US, 601),
					 EMU_WAIT_NEVER);
}

/* A clock that goes backwards neither refills nor breaks the bucket. */
static void
test_bucket_clock_backwards(void **state)
{
	EmuBucket	b;

	(void) state;
	emu_bucket_init(&b, 60, EMU_MINUTE_US, T0);
	emu_bucket_take(&b, T0, 30);
	assert_true(emu_bucket_level(&b, T0 - SEC(10)) == 30.0);
	assert_true(emu_bucket_level(&b, T0 + SEC(1)) == 31.0);
}

/* Unlimited buckets always admit and report nothing. */
static void
test_bucket_unlimited(void **state)
{
	EmuBucket	b;

	(void) state;
	emu_bucket_init(&b, EMU_UNLIMITED, EMU_MINUTE_US, T0);
	assert_false(emu_bucket_limited(&b));
	emu_bucket_take(&b, T0, 1e12);
	assert_int_equal(emu_bucket_wait_us(&b, T0, 1e12), 0);
	assert_int_equal(emu_bucket_full_us(&b, T0), 0);
}

/* Changing a limit keeps the amount used. */
static void
test_bucket_set_limit(void **state)
{
	EmuBucket	b;

	(void) state;
	emu_bucket_init(&b, 60, EMU_MINUTE_US, T0);
	emu_bucket_take(&b, T0, 10);
	emu_bucket_set_limit(&b, 120, T0);
	assert_true(emu_bucket_level(&b, T0) == 110.0);
	emu_bucket_set_limit(&b, 5, T0);
	assert_true(emu_bucket_level(&b, T0) == -5.0);
	/* refill speed follows the new limit: 5 per minute */
	assert_true(emu_bucket_level(&b, T0 + SEC(60)) == 0.0);
	emu_bucket_set_limit(&b, EMU_UNLIMITED, T0);
	assert_false(emu_bucket_limited(&b));
	emu_bucket_set_limit(&b, 7, T0);
	assert_true(emu_bucket_level(&b, T0) == 7.0);
}

/*
 * Azure's sub-windowed RPM: 600 RPM on 10 s windows holds 100 requests,
 * so a burst of 101 is refused although the minute would fit, and the
 * 101st passes 100 ms later.  Limit changes give the window its share.
 */
static void
test_rpm_sub_window(void **state)
{
	int64_t		l[EMU_DIM_COUNT];
	EmuQuota	q;
	EmuAdmit	a;
	EmuQuotaView v;

	(void) state;
	no_limits(l);
	l[EMU_DIM_RPM] = 600;
	l[EMU_DIM_TPM] = 100000;
	emu_quota_init(&q, l, T0);
	emu_quota_set_rpm_window(&q, l, SEC(10), T0);
	emu_quota_view(&q, T0, &v);
	assert_int_equal(v.limit[EMU_DIM_RPM], 100);
	assert_int_equal(v.limit[EMU_DIM_TPM], 100000);
	for (int i = 0; i < 100; i++)
		assert_int_equal(emu_quota_admit(&q, T0, 1, &a), EMU_ADMIT_OK);
	assert_int_equal(emu_quota_admit(&q, T0, 1, &a), EMU_ADMIT_LIMITED);
	assert_int_equal(a.dim, EMU_DIM_RPM);
	assert_int_equal(a.limit, 100);
	/* the same rate as 600 RPM: one request per 100 ms */
	assert_int_equal(a.wait_us, 100000);
	assert_int_equal(emu_quota_admit(&q, T0 + 100000, 1, &a), EMU_ADMIT_OK);
	/* a full window back after 10 s, not 60 */
	emu_quota_view(&q, T0 + 100000, &v);
	assert_int_equal(v.reset_us[EMU_DIM_RPM], SEC(10));

	/* a changed RPM is re-scaled; a small one still admits one per window */
	l[EMU_DIM_RPM] = 6;
	emu_quota_set_limits(&q, l, T0 + SEC(20));
	emu_quota_view(&q, T0 + SEC(20), &v);
	assert_int_equal(v.limit[EMU_DIM_RPM], 1);
	assert_int_equal(emu_quota_bucket_limit(&q, EMU_DIM_RPM, 5), 1);
	assert_int_equal(emu_quota_bucket_limit(&q, EMU_DIM_RPM, 0), 0);
	assert_int_equal(emu_quota_bucket_limit(&q, EMU_DIM_RPM, EMU_UNLIMITED),
					 EMU_UNLIMITED);
	assert_int_equal(emu_quota_bucket_limit(&q, EMU_DIM_TPM, 7), 7);
	/* setting the same limits again changes nothing */
	emu_quota_set_limits(&q, l, T0 + SEC(20));
	emu_quota_view(&q, T0 + SEC(20), &v);
	assert_int_equal(v.limit[EMU_DIM_RPM], 1);

	/* the minute window is the default and leaves limits alone */
	emu_quota_init(&q, l, T0);
	assert_int_equal(q.rpm_window_us, EMU_MINUTE_US);
	assert_int_equal(emu_quota_bucket_limit(&q, EMU_DIM_RPM, 5), 5);
}

/* RPM: the request axis runs out while tokens remain. */
static void
test_admit_rpm(void **state)
{
	int64_t		l[EMU_DIM_COUNT];
	EmuQuota	q;
	EmuAdmit	a;

	(void) state;
	no_limits(l);
	l[EMU_DIM_RPM] = 3;
	l[EMU_DIM_TPM] = 1000;
	emu_quota_init(&q, l, T0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(emu_quota_admit(&q, T0, 10, &a), EMU_ADMIT_OK);
	assert_int_equal(emu_quota_admit(&q, T0, 10, &a), EMU_ADMIT_LIMITED);
	assert_int_equal(a.dim, EMU_DIM_RPM);
	assert_int_equal(a.violated, 1u << EMU_DIM_RPM);
	assert_int_equal(a.limit, 3);
	assert_int_equal(a.used, 3);
	assert_int_equal(a.requested, 1);
	assert_int_equal(a.wait_us, SEC(20));	/* 3 per minute: one per 20 s */
	assert_int_equal(a.retry_us, SEC(20));
	assert_int_equal(a.minute_wait_us, SEC(20));
	/* the refused request charged nothing */
	assert_true(emu_bucket_level(&q.b[EMU_DIM_TPM], T0) == 970.0);
	/* 20 s later exactly one more passes */
	assert_int_equal(emu_quota_admit(&q, T0 + SEC(20), 10, &a), EMU_ADMIT_OK);
	assert_int_equal(emu_quota_admit(&q, T0 + SEC(20), 10, &a), EMU_ADMIT_LIMITED);
}

/* TPM: the token axis runs out while requests remain. */
static void
test_admit_tpm(void **state)
{
	int64_t		l[EMU_DIM_COUNT];
	EmuQuota	q;
	EmuAdmit	a;

	(void) state;
	no_limits(l);
	l[EMU_DIM_RPM] = 1000;
	l[EMU_DIM_TPM] = 50000;
	emu_quota_init(&q, l, T0);
	assert_int_equal(emu_quota_admit(&q, T0, 47949, &a), EMU_ADMIT_OK);
	assert_int_equal(a.tokens, 47949);
	assert_int_equal(emu_quota_admit(&q, T0, 3006, &a), EMU_ADMIT_LIMITED);
	assert_int_equal(a.dim, EMU_DIM_TPM);
	assert_int_equal(a.limit, 50000);
	assert_int_equal(a.used, 47949);
	assert_int_equal(a.requested, 3006);
	/* 955 tokens missing at 50000/min: 1.146 s, the documented example */
	assert_int_equal(a.wait_us, 1146000);
	/* a smaller request still fits: the axes are independent */
	assert_int_equal(emu_quota_admit(&q, T0, 2000, &a), EMU_ADMIT_OK);
}

/* A request larger than the whole bucket never fits. */
static void
test_admit_too_large(void **state)
{
	int64_t		l[EMU_DIM_COUNT];
	EmuQuota	q;
	EmuAdmit	a;

	(void) state;
	no_limits(l);
	l[EMU_DIM_TPM] = 30000;
	emu_quota_init(&q, l, T0);
	assert_int_equal(emu_quota_admit(&q, T0, 34307, &a), EMU_ADMIT_TOO_LARGE);
	assert_int_equal(a.dim, EMU_DIM_TPM);
	assert_int_equal(a.limit, 30000);
	assert_int_equal(a.requested, 34307);
	assert_true(a.retry_us == EMU_WAIT_NEVER);
	/* nothing was charged */
	assert_true(emu_bucket_level(&q.b[EMU_DIM_TPM], T0) == 30000.0);
	assert_int_equal(emu_quota_admit(&q, T0, 30000, &a), EMU_ADMIT_OK);
}

/* Daily limits: separate window, reported before minute ones. */
static void
test_admit_daily(void **state)
{
	int64_t		l[EMU_DIM_COUNT];
	EmuQuota	q;
	EmuAdmit	a;

	(void) state;
	no_limits(l);
	l[EMU_DIM_RPM] = 600;
	l[EMU_DIM_RPD] = 200;
	emu_quota_init(&q, l, T0);
	for (int i = 0; i < 200; i++)
		assert_int_equal(emu_quota_admit(&q, T0 + i * 200000, 1, &a), EMU_ADMIT_OK);
	assert_int_equal(emu_quota_admit(&q, T0 + SEC(40), 1, &a), EMU_ADMIT_LIMITED);
	assert_int_equal(a.dim, EMU_DIM_RPD);
	assert_int_equal(a.violated, 1u << EMU_DIM_RPD);

	/*
	 * RPD 200 refills one request per 7m12s; 40 s of it have passed since the
	 * bucket was emptied from full, so 392 s remain.
	 */
	assert_true(a.wait_us >= SEC(392) - 2 && a.wait_us <= SEC(392) + 2);
	assert_int_equal(a.minute_wait_us, 0);
	/* the minute bucket itself is fine: it is not the reason */
	assert_true(emu_bucket_level(&q.b[EMU_DIM_RPM], T0 + SEC(40)) >= 1.0);
	assert_int_equal(emu_quota_admit(&q, T0 + SEC(40) + SEC(391), 1, &a),
					 EMU_ADMIT_LIMITED);
	assert_int_equal(emu_quota_admit(&q, T0 + SEC(432), 1, &a), EMU_ADMIT_OK);
}

/* TPD with both minute and day exhausted: day named, retry = the longer. */
static void
test_admit_tpd_and_tpm(void **state)
{
	int64_t		l[EMU_DIM_COUNT];
	EmuQuota	q;
	EmuAdmit	a;

	(void) state;
	no_limits(l);
	l[EMU_DIM_TPM] = 1000;
	l[EMU_DIM_TPD] = 1000;
	emu_quota_init(&q, l, T0);
	assert_int_equal(emu_quota_admit(&q, T0, 1000, &a), EMU_ADMIT_OK);
	assert_int_equal(emu_quota_admit(&q, T0, 100, &a), EMU_ADMIT_LIMITED);
	assert_int_equal(a.dim, EMU_DIM_TPD);
	assert_int_equal(a.violated, (1u << EMU_DIM_TPD) | (1u << EMU_DIM_TPM));
	assert_int_equal(a.minute_wait_us, SEC(6)); /* 100 of 1000/min */
	assert_int_equal(a.retry_us, SEC(8640));	/* 100 of 1000/day */
	assert_int_equal(a.dim_limit[EMU_DIM_TPM], 1000);
	assert_int_equal(a.dim_limit[EMU_DIM_RPM], EMU_UNLIMITED);
}

/* Anthropic: input charged at admission, output after, OTPM may go in debt. */
static void
test_admit_input_output(void **state)
{
	int64_t		l[EMU_DIM_COUNT];
	EmuQuota	q;
	EmuAdmit	a;

	(void) state;
	no_limits(l);
	l[EMU_DIM_ITPM] = 1000;
	l[EMU_DIM_OTPM] = 100;
	emu_quota_init(&q, l, T0);
	assert_int_equal(emu_quota_admit(&q, T0, 300, &a), EMU_ADMIT_OK);
	assert_true(emu_bucket_level(&q.b[EMU_DIM_ITPM], T0) == 700.0);
	/* output is not charged at admission, whatever max_tokens was */
	assert_true(emu_bucket_level(&q.b[EMU_DIM_OTPM], T0) == 100.0);
	emu_quota_charge_output(&q, T0, 160);
	assert_true(emu_bucket_level(&q.b[EMU_DIM_OTPM], T0) == -60.0);
	assert_int_equal(emu_quota_admit(&q, T0, 10, &a), EMU_ADMIT_LIMITED);
	assert_int_equal(a.dim, EMU_DIM_OTPM);
	/* back to 1 token: 61 tokens at 100/min */
	assert_int_equal(a.wait_us, 36600000);
	/* ITPM too large */
	assert_int_equal(emu_quota_admit(&q, T0, 1001, &a), EMU_ADMIT_TOO_LARGE);
	assert_int_equal(a.dim, EMU_DIM_ITPM);
}

static void
test_admit_billing(void **state)
{
	int64_t		l[EMU_DIM_COUNT];
	EmuQuota	q;
	EmuAdmit	a;

	(void) state;
	no_limits(l);
	l[EMU_DIM_RPM] = 10;
	emu_quota_init(&q, l, T0);
	q.insufficient_quota = true;
	assert_int_equal(emu_quota_admit(&q, T0, 1, &a), EMU_ADMIT_BILLING);
	assert_true(emu_bucket_level(&q.b[EMU_DIM_RPM], T0) == 10.0);
	q.insufficient_quota = false;
	assert_int_equal(emu_quota_admit(&q, T0, 1, &a), EMU_ADMIT_OK);
}

/* A limit of 0 refuses forever (Gemini "limit: 0"). */
static void
test_admit_zero_limit(void **state)
{
	int64_t		l[EMU_DIM_COUNT];
	EmuQuota	q;
	EmuAdmit	a;

	(void) state;
	no_limits(l);
	l[EMU_DIM_RPM] = 0;
	emu_quota_init(&q, l, T0);
	assert_int_equal(emu_quota_admit(&q, T0 + SEC(3600), 0, &a), EMU_ADMIT_LIMITED);
	assert_true(a.retry_us == EMU_WAIT_NEVER);
}

/* The view: floor remaining, time to full, unlimited flagged. */
static void
test_view(void **state)
{
	int64_t		l[EMU_DIM_COUNT];
	EmuQuota	q;
	EmuAdmit	a;
	EmuQuotaView v;

	(void) state;
	no_limits(l);
	l[EMU_DIM_RPM] = 500;
	l[EMU_DIM_TPM] = 200000;
	l[EMU_DIM_RPD] = 10000;
	emu_quota_init(&q, l, T0);
	assert_int_equal(emu_quota_admit(&q, T0, 4, &a), EMU_ADMIT_OK);
	emu_quota_view(&q, T0, &v);
	assert_true(v.limited[EMU_DIM_RPM]);
	assert_false(v.limited[EMU_DIM_ITPM]);
	assert_int_equal(v.remaining[EMU_DIM_RPM], 499);
	assert_int_equal(v.reset_us[EMU_DIM_RPM], 120000);	/* "120ms" */
	assert_int_equal(v.remaining[EMU_DIM_TPM], 199996);
	assert_int_equal(v.reset_us[EMU_DIM_TPM], 1200);	/* "1ms" */
	assert_int_equal(v.remaining[EMU_DIM_RPD], 9999);
	/* half-way through the refill remaining rounds down */
	emu_quota_view(&q, T0 + 60000, &v);
	assert_int_equal(v.remaining[EMU_DIM_RPM], 499);
	assert_int_equal(v.reset_us[EMU_DIM_RPM], 60000);
	emu_quota_fill(&q, T0);
	emu_quota_view(&q, T0, &v);
	assert_int_equal(v.remaining[EMU_DIM_RPM], 500);
	assert_int_equal(v.reset_us[EMU_DIM_RPM], 0);
}

static void
test_set_limits(void **state)
{
	int64_t		l[EMU_DIM_COUNT];
	EmuQuota	q;
	EmuAdmit	a;

	(void) state;
	no_limits(l);
	l[EMU_DIM_RPM] = 1;
	emu_quota_init(&q, l, T0);
	assert_int_equal(emu_quota_admit(&q, T0, 0, &a), EMU_ADMIT_OK);
	assert_int_equal(emu_quota_admit(&q, T0, 0, &a), EMU_ADMIT_LIMITED);
	l[EMU_DIM_RPM] = 3;
	emu_quota_set_limits(&q, l, T0);
	assert_int_equal(emu_quota_admit(&q, T0, 0, &a), EMU_ADMIT_OK);
	assert_int_equal(emu_quota_admit(&q, T0, 0, &a), EMU_ADMIT_OK);
	assert_int_equal(emu_quota_admit(&q, T0, 0, &a), EMU_ADMIT_LIMITED);
	assert_true(emu_dim_is_daily(EMU_DIM_TPD));
	assert_false(emu_dim_is_daily(EMU_DIM_OTPM));
	assert_int_equal(emu_dim_window_us(EMU_DIM_RPD), EMU_DAY_US);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_refill_continuous),
		cmocka_unit_test(test_bucket_window_edges),
		cmocka_unit_test(test_bucket_clock_backwards),
		cmocka_unit_test(test_bucket_unlimited),
		cmocka_unit_test(test_bucket_set_limit),
		cmocka_unit_test(test_rpm_sub_window),
		cmocka_unit_test(test_admit_rpm),
		cmocka_unit_test(test_admit_tpm),
		cmocka_unit_test(test_admit_too_large),
		cmocka_unit_test(test_admit_daily),
		cmocka_unit_test(test_admit_tpd_and_tpm),
		cmocka_unit_test(test_admit_input_output),
		cmocka_unit_test(test_admit_billing),
		cmocka_unit_test(test_admit_zero_limit),
		cmocka_unit_test(test_view),
		cmocka_unit_test(test_set_limits),
	};

	return cmocka_run_group_tests_name("emulator quota", tests, NULL, NULL);
}
