/*-------------------------------------------------------------------------
 * test_sfq.c
 *	  cmocka tests of start-time fair queuing tags (src/sfq.c).
 *
 * IDENTIFICATION
 *	  test/unit/test_sfq.c
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "sfq.h"

static void
test_tag_basics(void **state)
{
	int64_t		last = 0;
	AigovSfqTag t;

	(void) state;
	t = aigov_sfq_tag(1000, &last, 10, 1);
	assert_int_equal(t.start, 1000);	/* idle tenant starts at V */
	assert_int_equal(t.finish, 1000 + 10 * AIGOV_SFQ_SCALE);
	assert_int_equal(last, t.finish);
	/* a backlogged tenant continues from its last finish, whatever V */
	t = aigov_sfq_tag(1000, &last, 10, 1);
	assert_int_equal(t.start, 1000 + 10 * AIGOV_SFQ_SCALE);
	/* weight divides the span, rounding up */
	last = 0;
	t = aigov_sfq_tag(0, &last, 1, 3);
	assert_int_equal(t.finish, (AIGOV_SFQ_SCALE + 2) / 3);
	/* bad weight counts as 1, zero cost spans nothing */
	last = 0;
	t = aigov_sfq_tag(0, &last, 5, 0);
	assert_int_equal(t.finish, 5 * AIGOV_SFQ_SCALE);
	t = aigov_sfq_tag(0, &last, 0, 7);
	assert_int_equal(t.finish, t.start);
	/* saturates instead of wrapping */
	last = INT64_MAX - 5;
	t = aigov_sfq_tag(0, &last, INT64_MAX, 1);
	assert_int_equal(t.finish, INT64_MAX);
	/* V never goes back */
	assert_int_equal(aigov_sfq_advance(50, 40), 50);
	assert_int_equal(aigov_sfq_advance(50, 60), 60);
}

/*
 * Three always-backlogged tenants with weights 1, 2 and 4 and equal jobs:
 * claiming in start-tag order serves them 1:2:4.  A tenant arriving after
 * 700 claims starts at V and gets no credit for having been idle.
 */
static void
test_weighted_share(void **state)
{
	int64_t		last[4] = {0, 0, 0, 0};
	int64_t		next_start[4];
	int			weight[4] = {1, 2, 4, 1};
	int			served[4] = {0, 0, 0, 0};
	int64_t		V = 0;

	(void) state;

	/*
	 * Start tag of the head job of each queue; a backlogged tenant's next job
	 * starts at its last finish.
	 */
	for (int i = 0; i < 3; i++)
		next_start[i] = aigov_sfq_tag(V, &last[i], 100, weight[i]).start;
	next_start[3] = INT64_MAX;	/* not arrived yet */

	for (int n = 0; n < 1400; n++)
	{
		int			pick = 0;

		for (int i = 1; i < 4; i++)
			if (next_start[i] < next_start[pick])
				pick = i;
		V = aigov_sfq_advance(V, next_start[pick]);
		served[pick]++;
		next_start[pick] = aigov_sfq_tag(V, &last[pick], 100,
										 weight[pick]).start;
		if (n == 699)
		{
			/* tenant 3 arrives; its first job starts at V, not at 0 */
			AigovSfqTag t = aigov_sfq_tag(V, &last[3], 100, weight[3]);

			assert_int_equal(t.start, V);
			next_start[3] = t.start;
		}
		if (n == 699)
		{
			assert_in_range(served[0], 95, 105);
			assert_in_range(served[1], 195, 205);
			assert_in_range(served[2], 395, 405);
		}
	}
	/* over the second 700 claims, tenant 3 (weight 1) took 1/8 */
	assert_in_range(served[3], 80, 95);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tag_basics),
		cmocka_unit_test(test_weighted_share),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
