/*-------------------------------------------------------------------------
 * claim.c
 *	  A dispatcher's queue operations: claiming due jobs (FOR UPDATE SKIP
 *	  LOCKED, in aigov._claim_batch), requeueing the jobs of workers that
 *	  died, and expiring queued jobs whose deadline passed.
 *
 * Each runs inside the worker's cycle transaction, through a plan kept for
 * the life of the process.  Claimed rows are read by column name, so the
 * SQL function's result may gain columns without the library misreading
 * them.  Each claimed row carries the installation's id (for the
 * Idempotency-Key), read by the same statement, so a job never goes out
 * under the id of an extension dropped since.
 *
 * A claim takes each key pool's jobs in the order of their virtual start
 * tags within each workload class, the classes by their minimum shares
 * (docs/scheduling.md), and advances the pool's virtual clocks to the tag
 * of each job it took.
 *
 * Every call has its aigov.attempts row: the worker writes it with the
 * call's result, and when a worker dies with calls in flight, the requeue
 * of its jobs writes one per job as worker_lost (aigov._requeue_orphans).
 *
 * IDENTIFICATION
 *	  src/claim.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"

#include "claim.h"
#include "fairq.h"
#include "job.h"
#include "pgutil.h"

static SPIPlanPtr claim_plan = NULL;
static SPIPlanPtr orphan_plan = NULL;
static SPIPlanPtr expire_plan = NULL;

static const char *const claim_columns[] = {
	"id", "tenant_id", "model", "body", "attempts", "failures", "est_tokens",
	"workload_class", "deadline", "tenant_group", "admitted", "rpm", "tpm",
	"tpd", "soft_limit_pct", "hard_cap", "weight", "est_prompt_tokens",
	"est_charged_prompt_tokens", "deferred", "installation", "vstart",
	"task_type", "fallback"
};

enum
{
	COL_ID, COL_TENANT_ID, COL_MODEL, COL_BODY, COL_ATTEMPTS, COL_FAILURES,
	COL_EST_TOKENS, COL_WORKLOAD_CLASS, COL_DEADLINE, COL_TENANT_GROUP,
	COL_ADMITTED, COL_RPM, COL_TPM, COL_TPD, COL_SOFT_LIMIT_PCT, COL_HARD_CAP,
	COL_WEIGHT, COL_EST_PROMPT_TOKENS, COL_EST_CHARGED_PROMPT_TOKENS,
	COL_DEFERRED, COL_INSTALLATION, COL_VSTART, COL_TASK_TYPE, COL_FALLBACK,
	NCOLUMNS
};

/*
 * read_tenant_limits
 *		The claimed job's tenant quota; a tenant deleted since the job was
 *		enqueued has none, and its job counts as admitted.
 */
static void
read_tenant_limits(AigovJob *job, HeapTuple tuple, TupleDesc tupdesc,
				   const int *col)
{
	bool		isnull;

	(void) SPI_getbinval(tuple, tupdesc, col[COL_RPM], &isnull);
	memset(&job->tenant_limits, 0, sizeof(job->tenant_limits));
	if (isnull)
	{
		job->admitted = true;
		return;
	}
	job->tenant_limits.rpm = AigovGetInt64(tuple, tupdesc, col[COL_RPM], 0);
	job->tenant_limits.tpm = AigovGetInt64(tuple, tupdesc, col[COL_TPM], 0);
	job->tenant_limits.tpd = AigovGetInt64(tuple, tupdesc, col[COL_TPD], 0);
	job->tenant_limits.soft_limit_pct =
		AigovGetInt32(tuple, tupdesc, col[COL_SOFT_LIMIT_PCT], 0);
	job->tenant_limits.hard_cap = AigovGetBool(tuple, tupdesc, col[COL_HARD_CAP], false);
	job->tenant_limits.weight = AigovGetInt32(tuple, tupdesc, col[COL_WEIGHT], 1);
}

/* A job from one claimed row, in its own context. */
static AigovJob *
read_job(HeapTuple tuple, TupleDesc tupdesc, const int *col)
{
	AigovJob   *job = AigovJobNew();
	MemoryContext old = MemoryContextSwitchTo(job->cxt);

	job->id = AigovGetInt64(tuple, tupdesc, col[COL_ID], 0);
	job->tenant_id = AigovGetText(tuple, tupdesc, col[COL_TENANT_ID]);
	job->model = AigovGetText(tuple, tupdesc, col[COL_MODEL]);
	job->body = AigovGetText(tuple, tupdesc, col[COL_BODY]);
	job->attempts = AigovGetInt32(tuple, tupdesc, col[COL_ATTEMPTS], 0);
	job->failures = AigovGetInt32(tuple, tupdesc, col[COL_FAILURES], 0);
	job->est_tokens = AigovGetInt64(tuple, tupdesc, col[COL_EST_TOKENS], 0);
	job->workload_class = AigovGetText(tuple, tupdesc, col[COL_WORKLOAD_CLASS]);
	job->deadline = AigovGetTimestamp(tuple, tupdesc, col[COL_DEADLINE], 0);
	job->tenant_group = AigovGetText(tuple, tupdesc, col[COL_TENANT_GROUP]);
	job->admitted = AigovGetBool(tuple, tupdesc, col[COL_ADMITTED], false);
	read_tenant_limits(job, tuple, tupdesc, col);
	job->est_prompt_tokens = AigovGetInt64(tuple, tupdesc, col[COL_EST_PROMPT_TOKENS],
										   job->est_tokens);
	job->charged_prompt_tokens =
		AigovGetInt64(tuple, tupdesc, col[COL_EST_CHARGED_PROMPT_TOKENS],
					  job->est_prompt_tokens);
	job->charge_tokens = job->est_tokens;
	job->deferred = AigovGetBool(tuple, tupdesc, col[COL_DEFERRED], false);
	job->installation = AigovGetText(tuple, tupdesc, col[COL_INSTALLATION]);
	job->task_type = AigovGetText(tuple, tupdesc, col[COL_TASK_TYPE]);
	job->fallback_allowed = AigovGetBool(tuple, tupdesc, col[COL_FALLBACK], true);
	if (job->installation == NULL)
		elog(ERROR, "aigov._claim_batch returned no installation id");
	MemoryContextSwitchTo(old);
	return job;
}

/*
 * AigovClaimJobs
 *		Claims up to n due jobs in the queue's order and appends them to
 *		claimed.  Returns how many were claimed.
 */
int
AigovClaimJobs(int n, dlist_head *claimed)
{
	Oid			argtypes[2] = {INT4OID, INT4OID};
	Datum		args[2];
	int			col[NCOLUMNS];
	int			ret;
	SPITupleTable *tuptable;
	uint64		nclaimed;

	args[0] = Int32GetDatum(n);
	args[1] = Int32GetDatum(MyProcPid);
	AigovKeepPlan(&claim_plan, "SELECT * FROM aigov._claim_batch($1, $2)",
				  2, argtypes);
	ret = SPI_execute_plan(claim_plan, args, NULL, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not claim queued requests: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
		return 0;

	/* kept: the first claim from a pool may read the queue through SPI */
	tuptable = SPI_tuptable;
	nclaimed = SPI_processed;
	AigovColumnsLookup(tuptable->tupdesc, claim_columns, NCOLUMNS, col);
	for (uint64 i = 0; i < nclaimed; i++)
	{
		AigovJob   *job = read_job(tuptable->vals[i], tuptable->tupdesc, col);

		/* the job's pool has served up to its start tag (fairq.c) */
		AigovFairAdvance(job->model,
						 AigovGetInt64(tuptable->vals[i], tuptable->tupdesc,
									   col[COL_VSTART], 0),
						 job->est_tokens);
		dlist_push_tail(claimed, &job->node);
	}
	AigovFairSettle();
	return (int) nclaimed;
}

/*
 * AigovRequeueOrphans
 *		Puts back in the queue the jobs claimed by dispatchers that no longer
 *		run.  At start-up this worker's own pid counts as gone, since it
 *		holds nothing yet.  Returns how many jobs were requeued.
 */
uint64
AigovRequeueOrphans(bool at_startup, int max_attempts)
{
	Oid			argtypes[3] = {INT4OID, BOOLOID, INT4OID};
	Datum		args[3];
	int64		n;
	int			ret;

	args[0] = Int32GetDatum(MyProcPid);
	args[1] = BoolGetDatum(at_startup);
	args[2] = Int32GetDatum(max_attempts);

	/*
	 * A lost worker counts as a transient failure of its jobs: a job that
	 * crashes every worker that sends it must not crash them forever.
	 */
	AigovKeepPlan(&orphan_plan, "SELECT aigov._requeue_orphans($1, $2, $3)",
				  3, argtypes);
	ret = SPI_execute_plan(orphan_plan, args, NULL, false, 0);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not requeue orphaned jobs: %s", SPI_result_code_string(ret));
	n = AigovGetInt64(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, 0);
	if (n > 0)
		ereport(LOG,
				(errmsg("aigov dispatcher requeued " INT64_FORMAT " jobs left in flight by a stopped worker",
						n)));
	return (uint64) n;
}

/*
 * AigovExpireOverdue
 *		Expires queued jobs whose deadline passed while they waited.
 */
void
AigovExpireOverdue(void)
{
	int			ret;

	AigovKeepPlan(&expire_plan, "SELECT aigov._expire_overdue()", 0, NULL);
	ret = SPI_execute_plan(expire_plan, NULL, NULL, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not expire jobs: %s", SPI_result_code_string(ret));
}
