/*-------------------------------------------------------------------------
 * test_fmt.c
 *	  Unit tests of the protocol value formats (fmt.c).
 *
 * IDENTIFICATION
 *	  emulator/test/test_fmt.c
 *-------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fmt.h"

#define MS(x)	((int64_t) (x) * 1000)
#define SEC(x)	((int64_t) (x) * 1000000)

static void
check_go(int64_t us, const char *want)
{
	char		buf[64];

	emu_fmt_go_duration(buf, sizeof(buf), us);
	assert_string_equal(buf, want);
}

/* The values seen in real OpenAI captures and docs. */
static void
test_go_duration_captured_values(void **state)
{
	(void) state;
	check_go(0, "0s");
	check_go(MS(1), "1ms");
	check_go(MS(5), "5ms");
	check_go(MS(20), "20ms");
	check_go(MS(120), "120ms");
	check_go(MS(8640), "8.64s");
	check_go(SEC(360), "6m0s");
}

static void
test_go_duration_rounding_and_units(void **state)
{
	(void) state;
	check_go(-5, "0s");
	check_go(499, "0s");		/* below half a millisecond */
	check_go(1200, "1ms");		/* 1.2 ms of refill reads "1ms" */
	check_go(1500, "2ms");
	check_go(MS(999), "999ms");
	check_go(999600, "1s");		/* rounds up into seconds */
	check_go(SEC(1), "1s");
	check_go(MS(1146), "1.146s");
	check_go(MS(1100), "1.1s");
	check_go(MS(20000), "20s");
	check_go(MS(86400), "1m26.4s");
	check_go(SEC(432), "7m12s");
	check_go(SEC(3600), "1h0m0s");
	check_go(SEC(86400), "24h0m0s");
	check_go(SEC(3600 + 61) + MS(500), "1h1m1.5s");
}

static void
test_wait_text(void **state)
{
	char		buf[64];

	(void) state;
	emu_fmt_wait_text(buf, sizeof(buf), MS(84));
	assert_string_equal(buf, "84ms");
	emu_fmt_wait_text(buf, sizeof(buf), SEC(432));
	assert_string_equal(buf, "7m12s");
	/* from an hour up: hours and minutes, rounded up */
	emu_fmt_wait_text(buf, sizeof(buf), SEC(6 * 3600 + 12 * 60));
	assert_string_equal(buf, "6h12m");
	emu_fmt_wait_text(buf, sizeof(buf), SEC(6 * 3600 + 11 * 60) + 1);
	assert_string_equal(buf, "6h12m");
	emu_fmt_wait_text(buf, sizeof(buf), SEC(86400));
	assert_string_equal(buf, "24h0m");
}

static void
test_seconds_frac(void **state)
{
	char		buf[64];

	(void) state;
	emu_fmt_seconds_frac(buf, sizeof(buf), SEC(20));
	assert_string_equal(buf, "20s");
	emu_fmt_seconds_frac(buf, sizeof(buf), 20706170);
	assert_string_equal(buf, "20.70617s");
	emu_fmt_seconds_frac(buf, sizeof(buf), 38200000);
	assert_string_equal(buf, "38.2s");
	emu_fmt_seconds_frac(buf, sizeof(buf), -1);
	assert_string_equal(buf, "0s");
}

static void
test_rfc3339(void **state)
{
	char		buf[64];

	(void) state;
	emu_fmt_rfc3339(buf, sizeof(buf), 0);
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	/* the timestamp of the Anthropic capture */
	emu_fmt_rfc3339(buf, sizeof(buf), 1755780059);
	assert_string_equal(buf, "2025-08-21T12:40:59Z");
	emu_fmt_rfc3339(buf, sizeof(buf), 951782400);	/* leap day 2000 */
	assert_string_equal(buf, "2000-02-29T00:00:00Z");
}

static void
test_round_thousand(void **state)
{
	(void) state;
	assert_int_equal(emu_round_thousand(0), 0);
	assert_int_equal(emu_round_thousand(-10), 0);
	assert_int_equal(emu_round_thousand(499), 0);
	assert_int_equal(emu_round_thousand(500), 1000);
	assert_int_equal(emu_round_thousand(79996), 80000);
	assert_int_equal(emu_round_thousand(79499), 79000);
	assert_int_equal(emu_round_thousand(80000), 80000);
}

static void
test_grouped_and_ceil(void **state)
{
	char		buf[64];

	(void) state;
	emu_fmt_grouped(buf, sizeof(buf), 40000);
	assert_string_equal(buf, "40,000");
	emu_fmt_grouped(buf, sizeof(buf), 50);
	assert_string_equal(buf, "50");
	emu_fmt_grouped(buf, sizeof(buf), 1234567);
	assert_string_equal(buf, "1,234,567");
	emu_fmt_grouped(buf, sizeof(buf), 100000);
	assert_string_equal(buf, "100,000");
	emu_fmt_grouped(buf, sizeof(buf), -1234);
	assert_string_equal(buf, "-1,234");
	assert_int_equal(emu_ceil_div(0, 4), 0);
	assert_int_equal(emu_ceil_div(1, 4), 1);
	assert_int_equal(emu_ceil_div(8, 4), 2);
	assert_int_equal(emu_ceil_div(9, 4), 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_go_duration_captured_values),
		cmocka_unit_test(test_go_duration_rounding_and_units),
		cmocka_unit_test(test_wait_text),
		cmocka_unit_test(test_seconds_frac),
		cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_round_thousand),
		cmocka_unit_test(test_grouped_and_ceil),
	};

	return cmocka_run_group_tests_name("emulator fmt", tests, NULL, NULL);
}
