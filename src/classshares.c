/*-------------------------------------------------------------------------
 * classshares.c
 *	  The minimum shares of workload classes: GUC aigov.class_shares (its
 *	  check hook turns the pure parser's statuses into messages), and
 *	  aigov._class_plan(), which tells a claim how many jobs to ask of each
 *	  class of a key pool, and in which order.
 *
 * The state across classes lives with the rest of the fair queue in
 * fairq.c; the arithmetic is wclass.c's.  See docs/scheduling.md.
 *
 * IDENTIFICATION
 *	  src/classshares.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "classshares.h"
#include "fairq.h"
#include "wclass.h"

PG_FUNCTION_INFO_V1(aigov_class_plan);

static char *aigov_class_shares = NULL;
static int32 current_shares[AIGOV_NCLASSES] = {50, 30, 20};

/*
 * check_class_shares
 *		Validates aigov.class_shares; the parsed shares go to the assign
 *		hook as malloc'd extra.
 */
static bool
check_class_shares(char **newval, void **extra, GucSource source)
{
	int32		shares[AIGOV_NCLASSES];
	char		bad[128];
	int32	   *copy;

	switch (aigov_class_shares_parse(*newval, shares, bad, sizeof(bad)))
	{
		case AIGOV_CLASS_PARSE_OK:
			break;
		case AIGOV_CLASS_PARSE_SYNTAX:
			GUC_check_errdetail("\"%s\" is not of the form class=percent.", bad);
			GUC_check_errhint("Write for example \"%s\".", AIGOV_CLASS_SHARES_DEFAULT);
			return false;
		case AIGOV_CLASS_PARSE_UNKNOWN:
			GUC_check_errdetail("\"%s\" does not name a workload class.", bad);
			GUC_check_errhint("The workload classes are interactive, background and batch.");
			return false;
		case AIGOV_CLASS_PARSE_DUPLICATE:
			GUC_check_errdetail("\"%s\" gives a class a second share.", bad);
			return false;
		case AIGOV_CLASS_PARSE_RANGE:
			GUC_check_errdetail("\"%s\" is not a share from 1 to 100.", bad);
			return false;
		case AIGOV_CLASS_PARSE_SUM:
			GUC_check_errdetail("The shares add up to more than 100.");
			return false;
		case AIGOV_CLASS_PARSE_NOTHING_LEFT:
			GUC_check_errdetail("The shares leave nothing for a class that is not named.");
			GUC_check_errhint("Name every class, or leave at least 1 for each class not named.");
			return false;
	}
	copy = malloc(sizeof(shares));
	if (copy == NULL)
		return false;
	memcpy(copy, shares, sizeof(shares));
	*extra = copy;
	return true;
}

static void
assign_class_shares(const char *newval, void *extra)
{
	memcpy(current_shares, extra, sizeof(current_shares));
}

/*
 * AigovClassSharesDefineGucs
 *		Defines aigov.class_shares; called from _PG_init.
 */
void
AigovClassSharesDefineGucs(void)
{
	DefineCustomStringVariable("aigov.class_shares",
							   "Sets the minimum share of a key pool's dispatch of each workload class, in percent.",
							   "When several classes have jobs waiting for a model, each gets at "
							   "least its share; what a class does not use goes to the others.",
							   &aigov_class_shares, AIGOV_CLASS_SHARES_DEFAULT,
							   PGC_SIGHUP, 0,
							   check_class_shares, assign_class_shares, NULL);
}

/* The shares in force in this process. */
void
AigovClassSharesGet(int32 shares[AIGOV_NCLASSES])
{
	memcpy(shares, current_shares, sizeof(current_shares));
}

/*
 * aigov_class_plan
 *		aigov._class_plan(model, n): one row per workload class, the class
 *		most behind its share first, with the range of tags its jobs hold
 *		in the pool (lo to hi, both included) and how many of the claim's n
 *		jobs to ask of it.  Internal, for aigov._claim_batch.
 */
Datum
aigov_class_plan(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *model;
	int32		n;
	AigovClassPlan plan;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	model = text_to_cstring(PG_GETARG_TEXT_PP(0));
	n = Max(PG_GETARG_INT32(1), 0);
	AigovFairClassPlan(model, n, &plan);

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < AIGOV_NCLASSES; i++)
	{
		int64		lo = aigov_class_tag_base(plan.order[i]);
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		values[0] = CStringGetTextDatum(aigov_class_name(plan.order[i]));
		values[1] = Int64GetDatum(lo);
		values[2] = Int64GetDatum(lo + (AIGOV_CLASS_TAG_SPAN - 1));
		values[3] = Int32GetDatum(plan.count[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
