/*-------------------------------------------------------------------------
 * test_context_fit.c
 *	  cmocka tests of src/context_fit.c: the context-window rule, its
 *	  margin for the estimator's over-count, and its arithmetic limits.
 *
 * IDENTIFICATION
 *	  test/unit/test_context_fit.c
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "context_fit.h"

/* The floor undoes exactly the documented over-count, rounding down. */
static void
test_prompt_floor(void **state)
{
	int64_t		scale = 100 + AIGOV_CONTEXT_OVERCOUNT_PCT;

	(void) state;
	assert_int_equal(aigov_context_prompt_floor(0), 0);
	assert_int_equal(aigov_context_prompt_floor(-5), 0);
	/* an estimate that over-counts a prompt by the full margin */
	assert_int_equal(aigov_context_prompt_floor(scale * 1000), 100 * 1000);
	assert_int_equal(aigov_context_prompt_floor(scale * 1000 + 1), 100 * 1000);
	assert_true(aigov_context_prompt_floor(1) <= 1);
	for (int64_t e = 1; e < 5000; e += 7)
	{
		int64_t		f = aigov_context_prompt_floor(e);

		/* f is the largest value with f * scale <= e * 100 */
		assert_true(f * scale <= e * 100);
		assert_true((f + 1) * scale > e * 100);
	}
	/* no overflow at the top of the range */
	assert_true(aigov_context_prompt_floor(INT64_MAX) > 0);
	assert_true(aigov_context_prompt_floor(INT64_MAX) < INT64_MAX);
}

/* Prompt plus output budget against the window, at the boundary. */
static void
test_fits_boundary(void **state)
{
	int32_t		window = 8192;
	int64_t		scale = 100 + AIGOV_CONTEXT_OVERCOUNT_PCT;

	/* an estimate whose floor is exactly 4096 */
	int64_t		est = 4096 * scale / 100;

	(void) state;
	assert_int_equal(aigov_context_prompt_floor(est), 4096);
	assert_true(aigov_fits_context(est, window - 4096, window));
	assert_false(aigov_fits_context(est, window - 4096 + 1, window));
	/* a prompt that fills the window leaves no room even without max_tokens */
	est = (int64_t) window * scale / 100;
	assert_int_equal(aigov_context_prompt_floor(est), window);
	assert_false(aigov_fits_context(est, 0, window));
	assert_false(aigov_fits_context(est, -1, window));
	assert_true(aigov_fits_context(est - 2, 0, window));
	/* an estimate up to the margin over the window is given the benefit */
	assert_true(aigov_fits_context(window, 0, window));
	assert_true(aigov_fits_context(window + window / 10, 0, window));
}

/* Unknown windows, empty prompts and saturating sums. */
static void
test_fits_limits(void **state)
{
	(void) state;
	assert_true(aigov_fits_context(INT64_MAX, INT64_MAX, 0));
	assert_true(aigov_fits_context(INT64_MAX, INT64_MAX, -1));
	assert_true(aigov_fits_context(0, 0, 1));
	assert_false(aigov_fits_context(0, 2, 1));
	assert_false(aigov_fits_context(INT64_MAX, 1, INT32_MAX));
	assert_false(aigov_fits_context(1, INT64_MAX, INT32_MAX));
	assert_false(aigov_fits_context(INT64_MAX, INT64_MAX, INT32_MAX));
	assert_true(aigov_fits_context(0, INT32_MAX, INT32_MAX));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prompt_floor),
		cmocka_unit_test(test_fits_boundary),
		cmocka_unit_test(test_fits_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
