/*-------------------------------------------------------------------------
 * test_wclass.c
 *	  cmocka tests of workload classes in the fair queue (src/wclass.c):
 *	  names and tag ranges, aigov.class_shares, and minimum shares at
 *	  claim time.
 *
 * IDENTIFICATION
 *	  test/unit/test_wclass.c
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "wclass.h"

static void
test_names_and_ranges(void **state)
{
	(void) state;
	assert_int_equal(aigov_class_index("interactive"), 0);
	assert_int_equal(aigov_class_index("background"), 1);
	assert_int_equal(aigov_class_index("batch"), 2);
	assert_int_equal(aigov_class_index(NULL), 0);
	assert_int_equal(aigov_class_index("Batch"), -1);
	assert_string_equal(aigov_class_name(2), "batch");
	assert_string_equal(aigov_class_name(9), "interactive");
	for (int c = 0; c < AIGOV_NCLASSES; c++)
	{
		int64_t		base = aigov_class_tag_base(c);

		assert_int_equal(aigov_class_of_tag(base), c);
		assert_int_equal(aigov_class_of_tag(base + AIGOV_CLASS_TAG_SPAN - 1), c);
	}
	assert_int_equal(aigov_class_tag_base(0), 0);
	assert_int_equal(aigov_class_of_tag(-5), 0);
	assert_int_equal(aigov_class_of_tag(INT64_MAX), AIGOV_NCLASSES - 1);
}

static void
test_parse(void **state)
{
	int32_t		s[AIGOV_NCLASSES];
	char		bad[64];

	(void) state;
	assert_int_equal(aigov_class_shares_parse(AIGOV_CLASS_SHARES_DEFAULT, s, bad, sizeof(bad)),
					 AIGOV_CLASS_PARSE_OK);
	assert_true(s[0] > s[1] && s[1] > s[2] && s[0] + s[1] + s[2] == 100);
	assert_int_equal(aigov_class_shares_parse(" batch = 10 , interactive=70,background=20", s, bad, sizeof(bad)),
					 AIGOV_CLASS_PARSE_OK);
	assert_int_equal(s[0], 70);
	assert_int_equal(s[1], 20);
	assert_int_equal(s[2], 10);
	/* left-out classes share what is left */
	assert_int_equal(aigov_class_shares_parse("interactive=80", s, bad, sizeof(bad)),
					 AIGOV_CLASS_PARSE_OK);
	assert_int_equal(s[1], 10);
	assert_int_equal(s[2], 10);
	/* shares under 100 in all are relative */
	assert_int_equal(aigov_class_shares_parse("interactive=2,background=1,batch=1", s, bad, sizeof(bad)),
					 AIGOV_CLASS_PARSE_OK);

	assert_int_equal(aigov_class_shares_parse("interactive=50,bulk=50", s, bad, sizeof(bad)),
					 AIGOV_CLASS_PARSE_UNKNOWN);
	assert_string_equal(bad, "bulk=50");
	assert_int_equal(aigov_class_shares_parse("interactive=50,interactive=10", s, bad, sizeof(bad)),
					 AIGOV_CLASS_PARSE_DUPLICATE);
	assert_int_equal(aigov_class_shares_parse("interactive=0", s, bad, sizeof(bad)),
					 AIGOV_CLASS_PARSE_RANGE);
	assert_int_equal(aigov_class_shares_parse("interactive=101", s, bad, sizeof(bad)),
					 AIGOV_CLASS_PARSE_RANGE);
	assert_int_equal(aigov_class_shares_parse("interactive=99999999999999999999", s, bad, sizeof(bad)),
					 AIGOV_CLASS_PARSE_RANGE);
	assert_int_equal(aigov_class_shares_parse("interactive=60,batch=50", s, bad, sizeof(bad)),
					 AIGOV_CLASS_PARSE_SUM);
	assert_int_equal(aigov_class_shares_parse("interactive=60,batch=40", s, bad, sizeof(bad)),
					 AIGOV_CLASS_PARSE_NOTHING_LEFT);
	assert_int_equal(aigov_class_shares_parse("", s, bad, sizeof(bad)),
					 AIGOV_CLASS_PARSE_SYNTAX);
	assert_int_equal(aigov_class_shares_parse("interactive=50,", s, bad, sizeof(bad)),
					 AIGOV_CLASS_PARSE_SYNTAX);
	assert_int_equal(aigov_class_shares_parse("interactive=5x", s, bad, sizeof(bad)),
					 AIGOV_CLASS_PARSE_SYNTAX);
	assert_int_equal(aigov_class_shares_parse("interactive", s, bad, sizeof(bad)),
					 AIGOV_CLASS_PARSE_SYNTAX);
	assert_int_equal(aigov_class_shares_parse(NULL, s, bad, sizeof(bad)),
					 AIGOV_CLASS_PARSE_SYNTAX);
}

/*
 * Runs `claims` claims of n jobs.  avail[c] says how many jobs class c has
 * at each claim (-1: endless); cost[c] is its jobs' cost.  What a class
 * cannot use goes to the next in the plan's order, then round again, as
 * the claim does.  Adds the tokens each class got to tokens[].
 */
static void
run_claims(AigovClassState *st, const int32_t *shares, int claims, int n,
		   const int *avail, const int64_t *cost, int64_t *tokens)
{
	for (int k = 0; k < claims; k++)
	{
		AigovClassPlan plan;
		int			left = 0;
		int			have[AIGOV_NCLASSES];
		int64_t		min_start = INT64_MAX;

		for (int c = 0; c < AIGOV_NCLASSES; c++)
			have[c] = avail[c] < 0 ? n : avail[c];
		aigov_class_split(st, shares, n, &plan);
		for (int round = 0; round < 2; round++)
			for (int i = 0; i < AIGOV_NCLASSES; i++)
			{
				int			c = plan.order[i];
				int			want = (round == 0 ? plan.count[i] : 0) + left;
				int			got = want < have[c] ? want : have[c];

				have[c] -= got;
				left = want - got;
				for (int j = 0; j < got; j++)
				{
					int64_t		start = aigov_class_charge(st, shares, c, cost[c]);

					if (start < min_start)
						min_start = start;
					tokens[c] += cost[c];
				}
			}
		aigov_class_settle(st, min_start);
	}
}

/* Every class backlogged: token shares follow the shares, claims of 1 or 16. */
static void
test_backlogged_shares(void **state)
{
	const int32_t shares[AIGOV_NCLASSES] = {50, 30, 20};
	const int	avail[AIGOV_NCLASSES] = {-1, -1, -1};
	const int64_t cost[AIGOV_NCLASSES] = {100, 300, 800};
	const int	sizes[2] = {1, 16};

	(void) state;
	for (int s = 0; s < 2; s++)
	{
		AigovClassState st;
		int64_t		tokens[AIGOV_NCLASSES] = {0};
		int64_t		total = 0;

		memset(&st, 0, sizeof(st));
		run_claims(&st, shares, 4000 / sizes[s], sizes[s], avail, cost, tokens);
		for (int c = 0; c < AIGOV_NCLASSES; c++)
			total += tokens[c];
		for (int c = 0; c < AIGOV_NCLASSES; c++)
		{
			double		got = 100.0 * tokens[c] / total;

			assert_true(got > shares[c] - 2.0 && got < shares[c] + 2.0);
		}
	}
}

/*
 * Interactive offers less than its share: it gets all it offers, and the
 * rest of the claim goes to the others, which still split it by share.
 */
static void
test_unused_share_flows(void **state)
{
	const int32_t shares[AIGOV_NCLASSES] = {50, 30, 20};
	const int	avail[AIGOV_NCLASSES] = {1, -1, -1};
	const int64_t cost[AIGOV_NCLASSES] = {100, 100, 100};
	AigovClassState st;
	int64_t		tokens[AIGOV_NCLASSES] = {0};
	double		ratio;

	(void) state;
	memset(&st, 0, sizeof(st));
	run_claims(&st, shares, 500, 10, avail, cost, tokens);
	assert_int_equal(tokens[0], 500 * 100);
	assert_int_equal(tokens[0] + tokens[1] + tokens[2], 500 * 10 * 100);
	ratio = (double) tokens[1] / tokens[2];
	assert_true(ratio > 1.4 && ratio < 1.6);
}

/*
 * Batch alone for a long time, then interactive arrives: interactive gets
 * no credit for its idle time (batch keeps its minimum share at once).
 */
static void
test_idle_class_no_credit(void **state)
{
	const int32_t shares[AIGOV_NCLASSES] = {50, 30, 20};
	const int	batch_only[AIGOV_NCLASSES] = {0, 0, -1};
	const int	both[AIGOV_NCLASSES] = {-1, 0, -1};
	const int64_t cost[AIGOV_NCLASSES] = {100, 100, 100};
	AigovClassState st;
	int64_t		tokens[AIGOV_NCLASSES] = {0};

	(void) state;
	memset(&st, 0, sizeof(st));
	run_claims(&st, shares, 1000, 1, batch_only, cost, tokens);
	assert_int_equal(tokens[2], 1000 * 100);
	memset(tokens, 0, sizeof(tokens));
	run_claims(&st, shares, 70, 1, both, cost, tokens);
	/* 50:20 of 70 claims */
	assert_true(tokens[2] >= 19 * 100 && tokens[2] <= 21 * 100);
	assert_true(tokens[0] >= 49 * 100 && tokens[0] <= 51 * 100);
}

/* The plan: most behind first, counts add up to n, ties go to interactive. */
static void
test_plan_order(void **state)
{
	const int32_t shares[AIGOV_NCLASSES] = {50, 30, 20};
	AigovClassState st;
	AigovClassPlan plan;

	(void) state;
	memset(&st, 0, sizeof(st));
	aigov_class_split(&st, shares, 1, &plan);
	assert_int_equal(plan.order[0], 0);
	assert_int_equal(plan.count[0], 1);
	assert_int_equal(plan.count[1] + plan.count[2], 0);
	aigov_class_split(&st, shares, 0, &plan);
	assert_int_equal(plan.count[0] + plan.count[1] + plan.count[2], 0);
	aigov_class_settle(&st, aigov_class_charge(&st, shares, 0, 100));
	aigov_class_split(&st, shares, 10, &plan);
	assert_int_equal(plan.count[0] + plan.count[1] + plan.count[2], 10);
	assert_int_equal(plan.order[2], 0);
	/* bad class index is ignored */
	assert_true(aigov_class_charge(&st, shares, 7, 100) == INT64_MAX);
	assert_true(aigov_class_charge(&st, shares, -1, 100) == INT64_MAX);
	aigov_class_settle(&st, INT64_MAX);
	assert_int_equal(st.vclock, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_and_ranges),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_backlogged_shares),
		cmocka_unit_test(test_unused_share_flows),
		cmocka_unit_test(test_idle_class_no_credit),
		cmocka_unit_test(test_plan_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
