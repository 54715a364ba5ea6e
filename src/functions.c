/*-------------------------------------------------------------------------
 * functions.c
 *	  The SQL-callable API: aigov.submit, aigov.result, aigov.wait and
 *	  aigov.cancel.
 *
 * submit() inserts through aigov.requests, so the enqueue trigger
 * (enqueue.c) validates it exactly as it validates a plain INSERT.
 * result() and wait() share one query; wait() re-runs it on a short latch
 * timeout, each time under a fresh snapshot.
 *
 * Each of the four checks the calling role's tenants first (roles.c), then
 * runs as the extension's owner.  A job of a tenant the caller does not
 * act for is answered exactly as a job that does not exist.
 *
 * A finished job is looked up in aigov.requests and, once it has moved
 * there (retention.c), in aigov.requests_history, by one statement, so
 * its move between the two is never seen half done.
 *
 * IDENTIFICATION
 *	  src/functions.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/wait_event.h"

#include "aigov.h"
#include "pgutil.h"
#include "provbreaker.h"
#include "quota.h"
#include "roles.h"
#include "shmem.h"

PG_FUNCTION_INFO_V1(aigov_submit);
PG_FUNCTION_INFO_V1(aigov_result);
PG_FUNCTION_INFO_V1(aigov_wait);
PG_FUNCTION_INFO_V1(aigov_cancel);
PG_FUNCTION_INFO_V1(aigov_config_changed);
PG_FUNCTION_INFO_V1(aigov_worker_status);
PG_FUNCTION_INFO_V1(aigov_key_breakers);

/* Columns of the result row, in the order of aigov.result's OUT list. */
#define RESULT_NATTS 9

/* Longest pause between two looks at a job in aigov.wait, in ms. */
#define WAIT_MAX_SLEEP_MS 20

static SPIPlanPtr submit_plan = NULL;
static SPIPlanPtr result_plan = NULL;
static SPIPlanPtr cancel_plan = NULL;

/*
 * check_submit_args
 *		Raises the error for a NULL required argument or a negative
 *		max_wait of aigov.submit.
 */
static void
check_submit_args(FunctionCallInfo fcinfo)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("tenant_id must not be null"),
				 errhint("Pass the id of a tenant of aigov.tenants.")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("body must not be null"),
				 errhint("Pass an OpenAI chat-completions request as jsonb.")));
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("task_type must not be null"),
				 errhint("Omit it to use \"chat\".")));
	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("workload_class must not be null"),
				 errhint("Use \"interactive\", \"background\" or \"batch\".")));
	if (!PG_ARGISNULL(4))
	{
		Interval   *max_wait = PG_GETARG_INTERVAL_P(4);

		if (max_wait->month < 0 || max_wait->day < 0 || max_wait->time < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("max_wait \"%s\" must not be negative",
							DatumGetCString(DirectFunctionCall1(interval_out,
																PointerGetDatum(max_wait)))),
					 errhint("Pass a positive interval, or NULL to wait without limit.")));
	}
}

/*
 * refused_datum
 *		The answer of aigov.submit for a job refused by its tenant's quota:
 *		rejected/429, with the axis as reason and, when the quota will
 *		allow it later, retry_at.  A job that can never fit has no retry_at.
 */
static Datum
refused_datum(TupleDesc tupdesc, const AigovAdmitResult *res)
{
	Datum		values[6];
	bool		nulls[6] = {true, false, false, true, false, true};

	values[1] = CStringGetTextDatum("rejected");
	values[2] = Int32GetDatum(429);
	if (res->status == AIGOV_ADMIT_WAIT && res->retry_at_us > 0)
	{
		values[3] = TimestampTzGetDatum(AigovFromUnixUs(res->retry_at_us));
		nulls[3] = false;
	}
	values[4] = CStringGetTextDatum(aigov_admission_axis_name(res->axis));
	return HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls));
}

/*
 * enqueue_job
 *		Inserts the job of aigov.submit through aigov.requests, charged to
 *		its tenant (admitted), and returns its id.  Caller is connected to
 *		SPI; this disconnects.
 */
static int64
enqueue_job(Datum *args, const char *argnulls)
{
	Oid			argtypes[8] = {TEXTOID, JSONBOID, TEXTOID, TEXTOID, INTERVALOID, INT4OID,
	TIMESTAMPTZOID, BOOLOID};
	volatile int ret = 0;
	bool		isnull;
	int64		job_id;

	AigovKeepPlan(&submit_plan,
				  "INSERT INTO aigov.requests"
				  " (tenant_id, body, task_type, workload_class, deadline, priority,"
				  "  not_before, fallback)"
				  " VALUES ($1, $2, $3, $4,"
				  " pg_catalog.now() OPERATOR(pg_catalog.+) $5, $6,"
				  " COALESCE($7, pg_catalog.now()), $8)"
				  " RETURNING id",
				  8, argtypes);
	aigov_submit_admitted = true;
	PG_TRY();
	{
		ret = SPI_execute_plan(submit_plan, args, argnulls, false, 1);
	}
	PG_FINALLY();
	{
		aigov_submit_admitted = false;
	}
	PG_END_TRY();
	if (ret != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "could not enqueue job: %s", SPI_result_code_string(ret));
	job_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
										 SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	return job_id;
}

/*
 * submit_job
 *		The work of aigov.submit once the caller may act for the tenant:
 *		validates, charges the tenant and enqueues.  Runs as the owner.
 */
static Datum
submit_job(FunctionCallInfo fcinfo)
{
	Datum		args[8];
	char		argnulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', 'n', ' '};
	TupleDesc	tupdesc;
	Datum		values[6];
	bool		nulls[6] = {false, false, false, true, true, false};
	int64		job_id;
	char	   *tenant_id;
	char	   *model;
	int64		est_tokens;
	int64		now_us;
	AigovTenantLimits limits;
	AigovTenantEntry *entry;
	AigovAdmitResult res;
	AigovAdmitStatus admit;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);

	/* Validate here too, so that errors carry no trigger context. */
	tenant_id = text_to_cstring(PG_GETARG_TEXT_PP(0));
	est_tokens = AigovValidateJob(tenant_id, PG_GETARG_JSONB_P(1),
								  text_to_cstring(PG_GETARG_TEXT_PP(2)),
								  text_to_cstring(PG_GETARG_TEXT_PP(3)),
								  &model, &limits, NULL, NULL);
	AigovCheckPriority(tenant_id, PG_ARGISNULL(5) ? 0 : PG_GETARG_INT32(5),
					   &limits);

	for (int i = 0; i < 6; i++)
	{
		args[i] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
		if (PG_ARGISNULL(i))
			argnulls[i] = 'n';
	}
	if (PG_ARGISNULL(5))
	{
		args[5] = Int32GetDatum(0);
		argnulls[5] = ' ';
	}
	/* NULL keeps the default: the job may fall back */
	args[7] = BoolGetDatum(PG_ARGISNULL(6) ? true : PG_GETARG_BOOL(6));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "could not connect to SPI");

	/* Layer 1: the tenant's buckets, before any provider is involved. */
	entry = AigovTenantEntryGet(tenant_id, &limits);
	now_us = AigovNowUs();
	admit = AigovTenantAdmit(entry, est_tokens, now_us, &res);
	if (admit == AIGOV_ADMIT_OK)
		AigovNoteSoftWarnings(tenant_id, entry, res.soft_warn);
	else if (admit == AIGOV_ADMIT_NEVER || limits.hard_cap)
	{
		/* refused: nothing is enqueued */
		AigovTenantCount(entry, true, false);
		SPI_finish();
		res.status = admit;
		PG_RETURN_DATUM(refused_datum(tupdesc, &res));
	}
	else
	{
		/*
		 * No hard cap: book the first slot the quota allows and wait for it.
		 * The booking returns 0, not a time, when the job can no longer ever
		 * fit (its tenant's limits were lowered since the admission above);
		 * converting that 0 wrote a not_before of 1970-01-01, which sent the
		 * job out at once without its charge.  Refuse it instead, as when it
		 * never fits.
		 */
		res.retry_at_us = AigovTenantScheduleAhead(entry, est_tokens, now_us, &res);
		if (res.retry_at_us == 0)
		{
			AigovTenantCount(entry, true, false);
			SPI_finish();
			res.status = AIGOV_ADMIT_NEVER;
			PG_RETURN_DATUM(refused_datum(tupdesc, &res));
		}
		args[6] = TimestampTzGetDatum(AigovFromUnixUs(res.retry_at_us));
		argnulls[6] = ' ';
	}

	job_id = enqueue_job(args, argnulls);

	if (admit != AIGOV_ADMIT_OK)
	{
		/* accepted, but it waits in the queue until the quota allows it */
		values[3] = TimestampTzGetDatum(AigovFromUnixUs(res.retry_at_us));
		nulls[3] = false;
		values[4] = CStringGetTextDatum(aigov_admission_axis_name(res.axis));
		nulls[4] = false;
	}
	values[0] = Int64GetDatum(job_id);
	values[1] = CStringGetTextDatum("accepted");
	values[2] = Int32GetDatum(202);
	values[5] = CStringGetTextDatum(psprintf("SELECT * FROM aigov.result(" INT64_FORMAT ")",
											 job_id));

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * aigov_submit
 *		aigov.submit(tenant_id, body, task_type, workload_class, max_wait,
 *		priority, fallback): enqueues one job and answers accepted/202 with a poll
 *		statement.  A tenant the calling role does not act for is refused
 *		before anything is validated or charged.
 */
Datum
aigov_submit(PG_FUNCTION_ARGS)
{
	AigovUserSwitch saved;
	Datum		result;

	check_submit_args(fcinfo);
	AigovCheckActsFor(GetUserId(), text_to_cstring(PG_GETARG_TEXT_PP(0)));

	AigovBecomeOwner(&saved);
	result = submit_job(fcinfo);
	AigovRestoreUser(&saved);
	PG_RETURN_DATUM(result);
}

/*
 * fetch_result
 *		Reads one job's result row into values/nulls (RESULT_NATTS each).
 *		Returns false if the job does not exist or belongs to a tenant not
 *		in tenants (a text[]; NULL, tenants_null, for every tenant).
 *		*is_final tells whether
 *		the job reached a final state, *own_xact whether this transaction
 *		inserted it (and so no worker can see it yet).  Caller is connected
 *		to SPI; the values live in the caller's upper memory context.
 */
static bool
fetch_result(int64 job_id, Datum tenants, bool tenants_null, Datum *values,
			 bool *nulls, bool *is_final, bool *own_xact)
{
	Oid			argtypes[2] = {INT8OID, TEXTARRAYOID};
	Datum		args[2];
	char		argnulls[2] = {' ', ' '};
	HeapTuple	tuple;
	TupleDesc	tupdesc;
	bool		isnull;
	int			ret;

	AigovKeepPlan(&result_plan,
				  "SELECT r.id, r.state,"
				  " CASE r.state"
				  "  WHEN 'queued' THEN 202 WHEN 'in_flight' THEN 202"
				  "  WHEN 'succeeded' THEN 200 WHEN 'rejected' THEN 429"
				  "  WHEN 'expired' THEN 504 WHEN 'cancelled' THEN 499"
				  "  ELSE COALESCE(CASE WHEN (r.error OPERATOR(pg_catalog.->>) 'http_status')"
				  "   OPERATOR(pg_catalog.~) '^[1-5][0-9][0-9]$'"
				  "   THEN (r.error OPERATOR(pg_catalog.->>) 'http_status')::pg_catalog.int4 END, 502)"
				  " END,"
				  " r.response, r.error,"
				  " CASE WHEN r.state OPERATOR(pg_catalog.=) 'queued'"
				  "   AND r.not_before OPERATOR(pg_catalog.>) pg_catalog.clock_timestamp()"
				  "  THEN r.not_before"
				  "  WHEN r.state OPERATOR(pg_catalog.=) 'rejected'"
				  "  THEN (r.error OPERATOR(pg_catalog.->>) 'retry_at')::pg_catalog.timestamptz"
				  "  WHEN (r.error OPERATOR(pg_catalog.->>) 'class')"
				  "   OPERATOR(pg_catalog.=) 'no_compatible_fallback'"
				  "  THEN r.not_before"
				  " END,"
				  " r.served_provider, r.served_model, r.degraded,"
				  " r.state OPERATOR(pg_catalog.<>) ALL (ARRAY['queued', 'in_flight']),"
				  " r.row_xmin"
				  " FROM (SELECT q.id, q.tenant_id, q.state, q.response, q.error,"
				  "  q.not_before, q.served_provider, q.served_model, q.degraded,"
				  "  q.xmin AS row_xmin"
				  "  FROM aigov.requests q WHERE q.id OPERATOR(pg_catalog.=) $1"
				  " UNION ALL"
				  " SELECT h.id, h.tenant_id, h.state, h.response, h.error,"
				  "  h.not_before, h.served_provider, h.served_model, h.degraded,"
				  "  h.xmin"
				  "  FROM aigov.requests_history h WHERE h.id OPERATOR(pg_catalog.=) $1) r"
				  " WHERE ($2 IS NULL"
				  "  OR r.tenant_id OPERATOR(pg_catalog.=) ANY ($2))"
				  " LIMIT 1",
				  2, argtypes);

	args[0] = Int64GetDatum(job_id);
	args[1] = tenants;
	if (tenants_null)
		argnulls[1] = 'n';
	ret = SPI_execute_plan(result_plan, args, argnulls, false, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read job: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
		return false;

	tuple = SPI_tuptable->vals[0];
	tupdesc = SPI_tuptable->tupdesc;
	for (int i = 0; i < RESULT_NATTS; i++)
	{
		values[i] = SPI_getbinval(tuple, tupdesc, i + 1, &nulls[i]);
		if (!nulls[i])
		{
			Form_pg_attribute att = TupleDescAttr(tupdesc, i);

			values[i] = SPI_datumTransfer(values[i], att->attbyval, att->attlen);
		}
	}
	*is_final = DatumGetBool(SPI_getbinval(tuple, tupdesc, RESULT_NATTS + 1, &isnull));
	*own_xact = TransactionIdIsCurrentTransactionId(
													DatumGetTransactionId(SPI_getbinval(tuple, tupdesc, RESULT_NATTS + 2, &isnull)));
	return true;
}

/*
 * report_missing_job
 *		Raises the error for a job id that does not exist, or that belongs
 *		to a tenant the caller does not act for.
 */
static void
report_missing_job(int64 job_id)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("job " INT64_FORMAT " does not exist", job_id),
			 errhint("Use the job_id that aigov.submit() returned.")));
}

/*
 * result_datum
 *		Forms the composite result of aigov.result / aigov.wait.
 */
static Datum
result_datum(FunctionCallInfo fcinfo, Datum *values, bool *nulls)
{
	TupleDesc	tupdesc;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	return HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls));
}

/*
 * aigov_result
 *		aigov.result(job_id): the state of one job.
 */
Datum
aigov_result(PG_FUNCTION_ARGS)
{
	int64		job_id = PG_GETARG_INT64(0);
	Datum		values[RESULT_NATTS];
	bool		nulls[RESULT_NATTS];
	bool		is_final;
	bool		own_xact;
	bool		found;
	bool		all_tenants;
	Datum		tenants = AigovActingTenants(GetUserId(), &all_tenants);
	AigovUserSwitch saved;

	AigovBecomeOwner(&saved);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "could not connect to SPI");
	found = fetch_result(job_id, tenants, all_tenants, values, nulls,
						 &is_final, &own_xact);
	SPI_finish();
	AigovRestoreUser(&saved);
	if (!found)
		report_missing_job(job_id);

	PG_RETURN_DATUM(result_datum(fcinfo, values, nulls));
}

/*
 * aigov_wait
 *		aigov.wait(job_id, timeout): polls the job under fresh snapshots,
 *		sleeping on the latch between looks, until it is final or the
 *		timeout passes.  Needs READ COMMITTED, since a transaction snapshot
 *		would never show the worker's update.
 */
Datum
aigov_wait(PG_FUNCTION_ARGS)
{
	int64		job_id = PG_GETARG_INT64(0);
	Interval   *timeout = PG_GETARG_INTERVAL_P(1);
	Datum		values[RESULT_NATTS];
	bool		nulls[RESULT_NATTS];
	bool		is_final = false;
	bool		own_xact = false;
	TimestampTz deadline;
	long		sleep_ms = 1;
	bool		all_tenants;
	Datum		tenants;
	AigovUserSwitch saved;

	if (timeout->month < 0 || timeout->day < 0 || timeout->time < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("timeout \"%s\" must not be negative",
						DatumGetCString(DirectFunctionCall1(interval_out,
															PointerGetDatum(timeout)))),
				 errhint("Pass a positive interval such as '30 seconds'.")));
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("aigov.wait cannot run in a REPEATABLE READ or SERIALIZABLE transaction"),
				 errdetail("Its snapshot would never show the job finishing."),
				 errhint("Call it in a READ COMMITTED transaction, or poll aigov.result().")));

	deadline = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval,
													   TimestampTzGetDatum(GetCurrentTimestamp()),
													   PointerGetDatum(timeout)));
	tenants = AigovActingTenants(GetUserId(), &all_tenants);
	AigovBecomeOwner(&saved);

	for (;;)
	{
		bool		found;
		long		remaining_ms;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "could not connect to SPI");
		found = fetch_result(job_id, tenants, all_tenants, values, nulls,
							 &is_final, &own_xact);
		SPI_finish();
		if (!found)
			report_missing_job(job_id);
		if (is_final)
			break;
		if (own_xact)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("job " INT64_FORMAT " was submitted in this transaction", job_id),
					 errdetail("No worker can see it before the transaction commits."),
					 errhint("Commit first, then call aigov.wait().")));

		remaining_ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
		if (remaining_ms <= 0)
			break;

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Min(sleep_ms, remaining_ms), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		sleep_ms = Min(sleep_ms * 2, WAIT_MAX_SLEEP_MS);
	}

	AigovRestoreUser(&saved);
	PG_RETURN_DATUM(result_datum(fcinfo, values, nulls));
}

/*
 * aigov_cancel
 *		aigov.cancel(job_id): cancels a job that is queued or in flight.
 *		Returns false if it was already final.  A worker holding the job
 *		finds it no longer in_flight and discards the provider's answer.
 *		Only jobs of the caller's tenants: another's is a missing job.
 */
Datum
aigov_cancel(PG_FUNCTION_ARGS)
{
	int64		job_id = PG_GETARG_INT64(0);
	Oid			argtypes[2] = {INT8OID, TEXTARRAYOID};
	Datum		args[2];
	char		argnulls[2] = {' ', ' '};
	HeapTuple	tuple;
	TupleDesc	tupdesc;
	bool		isnull;
	bool		cancelled;
	bool		all_tenants;
	int			ret;
	AigovUserSwitch saved;

	args[0] = Int64GetDatum(job_id);
	args[1] = AigovActingTenants(GetUserId(), &all_tenants);
	if (all_tenants)
		argnulls[1] = 'n';

	AigovBecomeOwner(&saved);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "could not connect to SPI");
	AigovKeepPlan(&cancel_plan,
				  "WITH job AS (SELECT id, tenant_id, state, admitted, est_tokens"
				  "  FROM aigov.requests WHERE id OPERATOR(pg_catalog.=) $1"
				  "  AND ($2 IS NULL OR tenant_id OPERATOR(pg_catalog.=) ANY ($2))),"
				  " done AS (UPDATE aigov.requests r"
				  "  SET state = 'cancelled', finished_at = pg_catalog.clock_timestamp()"
				  "  FROM job WHERE r.id OPERATOR(pg_catalog.=) job.id"
				  "  AND r.tenant_id OPERATOR(pg_catalog.=) job.tenant_id"
				  "  AND r.state OPERATOR(pg_catalog.=) ANY (ARRAY['queued', 'in_flight'])"
				  "  RETURNING r.id)"
				  " SELECT (SELECT pg_catalog.count(*) FROM job)"
				  "  OPERATOR(pg_catalog.+) (SELECT pg_catalog.count(*)"
				  "  FROM aigov.requests_history h WHERE h.id OPERATOR(pg_catalog.=) $1"
				  "  AND ($2 IS NULL OR h.tenant_id OPERATOR(pg_catalog.=) ANY ($2))),"
				  "  (SELECT pg_catalog.count(*) FROM done),"
				  "  job.tenant_id, job.state, job.admitted, job.est_tokens"
				  " FROM (SELECT 1) one LEFT JOIN job ON true",
				  2, argtypes);
	ret = SPI_execute_plan(cancel_plan, args, argnulls, false, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not cancel job: %s", SPI_result_code_string(ret));
	tuple = SPI_tuptable->vals[0];
	tupdesc = SPI_tuptable->tupdesc;
	if (DatumGetInt64(SPI_getbinval(tuple, tupdesc, 1, &isnull)) == 0)
	{
		SPI_finish();
		report_missing_job(job_id);
	}
	cancelled = DatumGetInt64(SPI_getbinval(tuple, tupdesc, 2, &isnull)) > 0;

	/* A queued job's charge goes back to its tenant: it will never be sent. */
	if (cancelled)
	{
		char	   *state = TextDatumGetCString(SPI_getbinval(tuple, tupdesc, 4, &isnull));
		bool		admitted = DatumGetBool(SPI_getbinval(tuple, tupdesc, 5, &isnull));

		if (strcmp(state, "queued") == 0 && admitted)
		{
			AigovTenantEntry *entry =
				AigovTenantFind(TextDatumGetCString(SPI_getbinval(tuple, tupdesc, 3, &isnull)));
			Datum		est = SPI_getbinval(tuple, tupdesc, 6, &isnull);

			if (entry != NULL && !isnull)
				AigovTenantRefund(entry, DatumGetInt64(est), AigovNowUs());
		}
	}
	SPI_finish();
	AigovRestoreUser(&saved);
	PG_RETURN_BOOL(cancelled);
}

/*
 * aigov_config_changed
 *		AFTER ... FOR EACH STATEMENT trigger of the configuration tables:
 *		the workers reload their cache when this transaction commits.
 */
Datum
aigov_config_changed(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "aigov_config_changed must run as a trigger");
	AigovNoteConfigChange();
	return PointerGetDatum(NULL);
}

/*
 * aigov_worker_status
 *		aigov.worker_status(): one row per dispatcher slot, from shared
 *		memory.  The counters are written by each worker alone.
 */
Datum
aigov_worker_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	AigovShmemCheckAttached();
	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < AigovState->nslots; i++)
	{
		AigovWorkerSlot *slot = &AigovState->slots[i];
		Datum		values[6];
		bool		nulls[6] = {false, false, false, false, false, false};
		pid_t		pid = slot->pid;

		values[0] = Int32GetDatum(i);
		values[1] = Int32GetDatum(pid);
		nulls[1] = (pid == 0);
		values[2] = Int64GetDatum((int64) pg_atomic_read_u64(&slot->in_flight));
		values[3] = Int64GetDatum((int64) pg_atomic_read_u64(&slot->claimed));
		values[4] = Int64GetDatum((int64) pg_atomic_read_u64(&slot->completed));
		values[5] = Int64GetDatum((int64) pg_atomic_read_u64(&slot->config_reloads));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

typedef struct BreakerRows
{
	ReturnSetInfo *rsinfo;
	int64		now_us;
} BreakerRows;

static void
breaker_row(int64 key_id, const AigovBreaker *b, void *arg)
{
	BreakerRows *rows = (BreakerRows *) arg;

	AigovPutBreakerRow(rows->rsinfo, Int64GetDatum(key_id), b, rows->now_us);
}

/*
 * aigov_key_breakers
 *		aigov.key_breakers(): the circuit breaker of each key that has been
 *		used since the server started, from shared memory.
 */
Datum
aigov_key_breakers(PG_FUNCTION_ARGS)
{
	BreakerRows rows;

	InitMaterializedSRF(fcinfo, 0);
	rows.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	rows.now_us = AigovNowUs();
	AigovKeyBreakersForEach(breaker_row, &rows);
	return (Datum) 0;
}
