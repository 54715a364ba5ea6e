/*-------------------------------------------------------------------------
 * pgutil.c
 *	  Small PostgreSQL helpers every glue file needs: kept SPI plans,
 *	  reading SPI results by column name, and worker transactions.
 *
 * IDENTIFICATION
 *	  src/pgutil.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "pgutil.h"

/*
 * AigovKeepPlan
 *		Prepares a query once per process and keeps its plan in *slot.
 *		Caller is connected to SPI.
 */
SPIPlanPtr
AigovKeepPlan(SPIPlanPtr *slot, const char *query, int nargs, Oid *argtypes)
{
	if (*slot == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare(query, nargs, argtypes);

		if (plan == NULL)
			elog(ERROR, "could not prepare query: %s",
				 SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "could not keep query plan");
		*slot = plan;
	}
	return *slot;
}

void
AigovColumnsLookup(TupleDesc tupdesc, const char *const *names, int ncolumns,
				   int *numbers)
{
	for (int i = 0; i < ncolumns; i++)
	{
		numbers[i] = SPI_fnumber(tupdesc, names[i]);
		if (numbers[i] <= 0)
			elog(ERROR, "result has no column \"%s\"", names[i]);
	}
}

/* A text column as a palloc'd C string in the current context, or NULL. */
char *
AigovGetText(HeapTuple tuple, TupleDesc tupdesc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tuple, tupdesc, col, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

int64
AigovGetInt64(HeapTuple tuple, TupleDesc tupdesc, int col, int64 if_null)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tuple, tupdesc, col, &isnull);

	return isnull ? if_null : DatumGetInt64(d);
}

int32
AigovGetInt32(HeapTuple tuple, TupleDesc tupdesc, int col, int32 if_null)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tuple, tupdesc, col, &isnull);

	return isnull ? if_null : DatumGetInt32(d);
}

bool
AigovGetBool(HeapTuple tuple, TupleDesc tupdesc, int col, bool if_null)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tuple, tupdesc, col, &isnull);

	return isnull ? if_null : DatumGetBool(d);
}

TimestampTz
AigovGetTimestamp(HeapTuple tuple, TupleDesc tupdesc, int col,
				  TimestampTz if_null)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tuple, tupdesc, col, &isnull);

	return isnull ? if_null : DatumGetTimestampTz(d);
}

/*
 * The memory context the caller was in when its transaction began: commit
 * leaves CurrentMemoryContext at TopMemoryContext, where anything the
 * caller allocates next would live as long as the process.
 */
static MemoryContext xact_caller_cxt = NULL;

/*
 * AigovBeginXact
 *		Starts a worker transaction connected to SPI, with a snapshot, and
 *		reports the activity.
 */
void
AigovBeginXact(const char *activity)
{
	xact_caller_cxt = CurrentMemoryContext;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "could not connect to SPI");
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, activity);
}

/*
 * AigovEndXact
 *		Commits the transaction AigovBeginXact started and returns to the
 *		caller's memory context.
 */
void
AigovEndXact(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
	if (xact_caller_cxt != NULL)
		MemoryContextSwitchTo(xact_caller_cxt);
	xact_caller_cxt = NULL;
}
