/*-------------------------------------------------------------------------
 * wclass.c
 *	  Workload classes in the fair queue: names, tag ranges, the minimum
 *	  shares of aigov.class_shares, and start-time fair queuing across the
 *	  classes of a key pool at claim time.
 *
 * Within a class, tenants share a pool by weight (sfq.c, tags in the
 * class's own range).  Across classes, a claim asks each backlogged class
 * for jobs in proportion to its share: the class with the smallest virtual
 * start goes first, and each job it is given moves it on by cost / share.
 * A class that was idle starts level with the others (no credit), and
 * what a class cannot use the claim hands to the others, so the shares are
 * minimums.  Pure arithmetic; the caller keeps the state and its lock.
 *
 * IDENTIFICATION
 *	  src/wclass.c
 *-------------------------------------------------------------------------
 */
#include "wclass.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "bucket.h"

/* Virtual time per token at a share of one percent. */
#define CLASS_SCALE INT64_C(1000000)

static const char *const class_names[AIGOV_NCLASSES] = {
	"interactive", "background", "batch"
};

/*
 * aigov_class_index
 *		The index of a workload class by name (0 interactive, 1 background,
 *		2 batch), or -1 for anything else.  NULL is interactive, the
 *		column's default.
 */
int
aigov_class_index(const char *name)
{
	if (name == NULL)
		return 0;
	for (int i = 0; i < AIGOV_NCLASSES; i++)
		if (strcmp(name, class_names[i]) == 0)
			return i;
	return -1;
}

const char *
aigov_class_name(int class_index)
{
	if (class_index < 0 || class_index >= AIGOV_NCLASSES)
		return "interactive";
	return class_names[class_index];
}

/*
 * aigov_class_tag_base
 *		The first tag of a class's range; an unknown class is interactive.
 */
int64_t
aigov_class_tag_base(int class_index)
{
	if (class_index < 0 || class_index >= AIGOV_NCLASSES)
		class_index = 0;
	return (int64_t) class_index * AIGOV_CLASS_TAG_SPAN;
}

/*
 * aigov_class_of_tag
 *		The class whose range holds a tag; tags below 0 (none are made) count
 *		as interactive, tags past the last range as batch.
 */
int
aigov_class_of_tag(int64_t tag)
{
	int64_t		c;

	if (tag < 0)
		return 0;
	c = tag / AIGOV_CLASS_TAG_SPAN;
	return c >= AIGOV_NCLASSES ? AIGOV_NCLASSES - 1 : (int) c;
}

static void
set_bad(char *bad, size_t badlen, const char *start, size_t len)
{
	if (bad == NULL || badlen == 0)
		return;
	if (len >= badlen)
		len = badlen - 1;
	memcpy(bad, start, len);
	bad[len] = '\0';
}

/*
 * parse_item
 *		One "name=integer" (spaces allowed around both) from p to end into
 *		shares; the offending text goes to bad.
 */
static AigovClassParse
parse_item(const char *p, const char *end, int32_t shares[AIGOV_NCLASSES],
		   char *bad, size_t badlen)
{
	const char *eq = memchr(p, '=', (size_t) (end - p));
	const char *n0,
			   *n1,
			   *v;
	char		name[16];
	int			c;
	long		value = 0;

	set_bad(bad, badlen, p, (size_t) (end - p));
	if (eq == NULL)
		return AIGOV_CLASS_PARSE_SYNTAX;
	for (n0 = p; n0 < eq && isspace((unsigned char) *n0); n0++)
		;
	for (n1 = eq; n1 > n0 && isspace((unsigned char) n1[-1]); n1--)
		;
	if (n1 == n0 || (size_t) (n1 - n0) >= sizeof(name))
		return n1 == n0 ? AIGOV_CLASS_PARSE_SYNTAX : AIGOV_CLASS_PARSE_UNKNOWN;
	memcpy(name, n0, (size_t) (n1 - n0));
	name[n1 - n0] = '\0';
	for (v = eq + 1; v < end && isspace((unsigned char) *v); v++)
		;
	if (v == end || !isdigit((unsigned char) *v))
		return AIGOV_CLASS_PARSE_SYNTAX;
	for (; v < end && isdigit((unsigned char) *v); v++)
		value = value > 1000 ? value : value * 10 + (*v - '0');
	for (; v < end && isspace((unsigned char) *v); v++)
		;
	if (v != end)
		return AIGOV_CLASS_PARSE_SYNTAX;
	c = aigov_class_index(name);
	if (c < 0)
		return AIGOV_CLASS_PARSE_UNKNOWN;
	if (shares[c] != 0)
		return AIGOV_CLASS_PARSE_DUPLICATE;
	if (value < 1 || value > 100)
		return AIGOV_CLASS_PARSE_RANGE;
	shares[c] = (int32_t) value;
	return AIGOV_CLASS_PARSE_OK;
}

/*
 * aigov_class_shares_parse
 *		Reads "interactive=50,background=30,batch=20": each share a whole
 *		percentage from 1 to 100, their sum at most 100.  A class left out
 *		gets an equal part of what the named ones leave (at least 1).  On
 *		failure, shares is unspecified and bad holds the offending item.
 */
AigovClassParse
aigov_class_shares_parse(const char *text, int32_t shares[AIGOV_NCLASSES],
						 char *bad, size_t badlen)
{
	const char *p = text;
	int			sum = 0;
	int			unnamed = 0;

	memset(shares, 0, sizeof(int32_t) * AIGOV_NCLASSES);
	set_bad(bad, badlen, "", 0);
	if (text == NULL)
		return AIGOV_CLASS_PARSE_SYNTAX;
	for (;;)
	{
		const char *end = strchr(p, ',');
		AigovClassParse r;

		if (end == NULL)
			end = p + strlen(p);
		r = parse_item(p, end, shares, bad, badlen);
		if (r != AIGOV_CLASS_PARSE_OK)
			return r;
		if (*end == '\0')
			break;
		p = end + 1;
	}
	for (int i = 0; i < AIGOV_NCLASSES; i++)
	{
		sum += shares[i];
		unnamed += shares[i] == 0;
	}
	set_bad(bad, badlen, text, strlen(text));
	if (sum > 100)
		return AIGOV_CLASS_PARSE_SUM;
	if (unnamed > 0 && (100 - sum) / unnamed < 1)
		return AIGOV_CLASS_PARSE_NOTHING_LEFT;
	for (int i = 0; i < AIGOV_NCLASSES; i++)
		if (shares[i] == 0)
			shares[i] = (100 - sum) / unnamed;
	set_bad(bad, badlen, "", 0);
	return AIGOV_CLASS_PARSE_OK;
}

/* The virtual time a job of `cost` tokens takes at a share. */
static int64_t
span(int64_t cost, int32_t share)
{
	if (cost < 1)
		cost = 1;
	if (share < 1)
		share = 1;
	return aigov_bucket_muldiv(cost, CLASS_SCALE, share, true);
}

static int64_t
add_sat(int64_t a, int64_t b)
{
	return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/*
 * aigov_class_split
 *		How many of a claim's n jobs to ask of each class, and in which
 *		order: the n picks that fair queuing across the classes would make
 *		if each class's jobs cost its mean so far, all classes backlogged.
 *		The class with the smallest virtual start comes first (interactive
 *		on a tie).  The caller hands what a class cannot use to the next.
 */
void
aigov_class_split(const AigovClassState *state,
				  const int32_t shares[AIGOV_NCLASSES], int n,
				  AigovClassPlan *plan)
{
	int64_t		start[AIGOV_NCLASSES];
	int64_t		step[AIGOV_NCLASSES];
	int			count[AIGOV_NCLASSES] = {0};

	for (int c = 0; c < AIGOV_NCLASSES; c++)
	{
		start[c] = state->pass[c] > state->vclock ? state->pass[c] : state->vclock;
		step[c] = span(state->avg_cost[c], shares[c]);
		plan->order[c] = c;
	}
	/* stable sort of three by start: most behind first */
	for (int i = 1; i < AIGOV_NCLASSES; i++)
		for (int j = i; j > 0 && start[plan->order[j]] < start[plan->order[j - 1]]; j--)
		{
			int			t = plan->order[j];

			plan->order[j] = plan->order[j - 1];
			plan->order[j - 1] = t;
		}
	for (int k = 0; k < n; k++)
	{
		int			best = plan->order[0];

		for (int i = 1; i < AIGOV_NCLASSES; i++)
			if (start[plan->order[i]] < start[best])
				best = plan->order[i];
		count[best]++;
		start[best] = add_sat(start[best], step[best]);
	}
	for (int i = 0; i < AIGOV_NCLASSES; i++)
		plan->count[i] = count[plan->order[i]];
}

/*
 * aigov_class_charge
 *		Records a job of `cost` tokens claimed for a class: the class starts
 *		at the later of its own finish and the clock (an idle class gets no
 *		credit), and moves on by cost / share.  Returns the job's start.
 *		The clock does not move here: a claim charges its jobs class by
 *		class, not in virtual time order, so the caller passes the smallest
 *		start of the claim to aigov_class_settle once it is done.
 */
int64_t
aigov_class_charge(AigovClassState *state,
				   const int32_t shares[AIGOV_NCLASSES], int class_index,
				   int64_t cost)
{
	int64_t		start;
	int64_t    *avg;

	if (class_index < 0 || class_index >= AIGOV_NCLASSES)
		return INT64_MAX;
	if (cost < 1)
		cost = 1;
	start = state->pass[class_index] > state->vclock ?
		state->pass[class_index] : state->vclock;
	state->pass[class_index] = add_sat(start, span(cost, shares[class_index]));
	avg = &state->avg_cost[class_index];
	*avg = *avg == 0 ? cost : *avg + (cost - *avg) / 8;
	if (*avg < 1)
		*avg = 1;
	return start;
}

/*
 * aigov_class_settle
 *		Moves the clock to the smallest start a claim charged (never back).
 */
void
aigov_class_settle(AigovClassState *state, int64_t min_start)
{
	if (min_start != INT64_MAX && min_start > state->vclock)
		state->vclock = min_start;
}
