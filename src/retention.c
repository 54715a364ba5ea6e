/*-------------------------------------------------------------------------
 * retention.c
 *	  History and retention: the GUCs, the workers' retention stage and
 *	  aigov.run_retention().
 *
 * The work itself is SQL, in aigov._retention_step (see the install
 * script): one step moves up to aigov.retention_batch jobs that have been
 * final for aigov.history_after, with their attempts rows, from
 * aigov.requests and aigov.attempts into the day-partitioned history
 * tables, creates the partitions it needs and drops those older than
 * aigov.retention.  This file decides when steps run and with which
 * settings.
 *
 * Dispatcher 0 runs one step every aigov.retention_interval, in a short
 * transaction of its own, never inside the cycle transaction that claims
 * and completes jobs; while steps come back full it runs the next one at
 * its next iteration, so a backlog drains in small transactions between
 * dispatch cycles.  A failed step (a lock the history tables could not
 * get within lock_timeout, say) is logged and tried again at the next
 * interval: it never stops the worker.
 *
 * Both run as the extension's owner, so the partitions they create belong
 * to it whoever calls.
 *
 * IDENTIFICATION
 *	  src/retention.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/guc.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "extension_guard.h"
#include "pgutil.h"
#include "retention.h"
#include "roles.h"

PG_FUNCTION_INFO_V1(aigov_run_retention);

/* GUCs */
static int	aigov_retention_s = 7 * 86400;
static int	aigov_history_after_s = 300;
static int	aigov_retention_batch = 1000;
static int	aigov_retention_interval_ms = 10000;

/*
 * How long after a job cancelled in flight its call may still write an
 * attempts row, beyond aigov.request_timeout: the worker's flush and a
 * margin.
 */
#define IN_FLIGHT_GRACE_MARGIN_MS 60000

/* What one step did, in the order of aigov._retention_step's columns. */
#define RETENTION_NCOLS 6

typedef struct RetentionCounts
{
	int64		v[RETENTION_NCOLS];
} RetentionCounts;

enum
{
	RC_MOVED_JOBS, RC_MOVED_ATTEMPTS, RC_PURGED_JOBS, RC_PURGED_ATTEMPTS,
	RC_CREATED, RC_DROPPED
};

static SPIPlanPtr step_plan = NULL;

/*
 * AigovRetentionDefineGucs
 *		Defines the history and retention settings.
 */
void
AigovRetentionDefineGucs(void)
{
	DefineCustomIntVariable("aigov.retention",
							"Sets how long finished jobs and their attempts stay in the history.",
							"Day partitions whose rows are all older are dropped.",
							&aigov_retention_s, 7 * 86400, 3600, INT_MAX,
							PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("aigov.history_after",
							"Sets how long a finished job stays in aigov.requests before it moves to the history.",
							NULL, &aigov_history_after_s, 300, 0, INT_MAX,
							PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("aigov.retention_batch",
							"Sets how many jobs one retention step moves in one transaction.",
							NULL, &aigov_retention_batch, 1000, 1, 100000,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("aigov.retention_interval",
							"Sets how often a dispatcher runs the retention pass; 0 turns it off.",
							"While a pass finds more to move, it goes on between dispatch cycles.",
							&aigov_retention_interval_ms, 10000, 0, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
}

/* An interval of ms milliseconds. */
static Datum
interval_ms(int64 ms)
{
	Interval   *iv = palloc0(sizeof(Interval));

	iv->time = ms * 1000;
	return PointerGetDatum(iv);
}

/*
 * in_flight_grace_ms
 *		How much longer a job cancelled in flight stays in the queue: its
 *		call may end as late as aigov.request_timeout after it went out.
 */
static int64
in_flight_grace_ms(void)
{
	const char *timeout = GetConfigOption("aigov.request_timeout", true, false);

	return (timeout != NULL ? strtol(timeout, NULL, 10) : 0) + IN_FLIGHT_GRACE_MARGIN_MS;
}

/*
 * retention_step
 *		Runs one aigov._retention_step with the current settings and reads
 *		what it did.  Caller is connected to SPI and runs as the owner.
 */
static void
retention_step(RetentionCounts *counts)
{
	Oid			argtypes[4] = {INTERVALOID, INTERVALOID, INT4OID, INTERVALOID};
	Datum		args[4];
	int			ret;

	args[0] = interval_ms((int64) aigov_history_after_s * 1000);
	args[1] = interval_ms((int64) aigov_retention_s * 1000);
	args[2] = Int32GetDatum(aigov_retention_batch);
	args[3] = interval_ms(in_flight_grace_ms());
	AigovKeepPlan(&step_plan,
				  "SELECT * FROM aigov._retention_step($1, $2, $3, $4)",
				  4, argtypes);
	ret = SPI_execute_plan(step_plan, args, NULL, false, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not run the retention step: %s", SPI_result_code_string(ret));
	for (int i = 0; i < RETENTION_NCOLS; i++)
		counts->v[i] = (i == RC_CREATED || i == RC_DROPPED) ?
			AigovGetInt32(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1, 0) :
			AigovGetInt64(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1, 0);
}

/* Whether a step took a full batch, so more may be waiting. */
static bool
step_was_full(const RetentionCounts *counts)
{
	return counts->v[RC_MOVED_JOBS] + counts->v[RC_PURGED_JOBS] >= aigov_retention_batch;
}

/*
 * AigovRetentionStage
 *		The dispatcher's retention stage: one step in a transaction of its
 *		own.  Returns when the next step is due: at once while steps come
 *		back full, else after aigov.retention_interval (never, when 0).
 */
TimestampTz
AigovRetentionStage(TimestampTz now)
{
	MemoryContext cxt = CurrentMemoryContext;
	RetentionCounts counts;
	volatile bool more = false;
	AigovUserSwitch saved;

	if (aigov_retention_interval_ms <= 0)
		return now + (int64) 60 * USECS_PER_SEC;

	PG_TRY();
	{
		AigovBeginXact("aigov: retention pass");
		AigovLockExtension();
		AigovBecomeOwner(&saved);
		retention_step(&counts);
		AigovRestoreUser(&saved);
		AigovEndXact();
		more = step_was_full(&counts);
		if (counts.v[RC_CREATED] > 0 || counts.v[RC_DROPPED] > 0)
			ereport(LOG,
					(errmsg("aigov retention created " INT64_FORMAT " and dropped " INT64_FORMAT " history partitions",
							counts.v[RC_CREATED], counts.v[RC_DROPPED])));
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		/* aborting puts the user and SPI back as they were */
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		MemoryContextSwitchTo(cxt);
		pgstat_report_activity(STATE_IDLE, NULL);
		ereport(WARNING,
				(errcode(edata->sqlerrcode),
				 errmsg("aigov retention step failed: %s", edata->message),
				 errdetail("The step is tried again in %d ms.", aigov_retention_interval_ms)));
		FreeErrorData(edata);
		more = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);

	return more ? now : now + (int64) aigov_retention_interval_ms * 1000;
}

/*
 * aigov_run_retention
 *		aigov.run_retention(): runs steps until one comes back short, in
 *		the caller's transaction, and returns what they did together.
 */
Datum
aigov_run_retention(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	RetentionCounts total;
	RetentionCounts step;
	Datum		values[RETENTION_NCOLS];
	bool		nulls[RETENTION_NCOLS] = {false};
	AigovUserSwitch saved;

	InitMaterializedSRF(fcinfo, 0);
	memset(&total, 0, sizeof(total));

	AigovBecomeOwner(&saved);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "could not connect to SPI");
	do
	{
		CHECK_FOR_INTERRUPTS();
		retention_step(&step);
		for (int i = 0; i < RETENTION_NCOLS; i++)
			total.v[i] += step.v[i];
	} while (step_was_full(&step));
	SPI_finish();
	AigovRestoreUser(&saved);

	for (int i = 0; i < RETENTION_NCOLS; i++)
		values[i] = (i == RC_CREATED || i == RC_DROPPED) ?
			Int32GetDatum((int32) total.v[i]) : Int64GetDatum(total.v[i]);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}
