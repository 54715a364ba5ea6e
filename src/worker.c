/*-------------------------------------------------------------------------
 * worker.c
 *	  The dispatcher background workers: their settings, and the loop that
 *	  runs each worker's pipeline.
 *
 * The pipeline, in the order a job travels it:
 *	  claim (claim.c) -> plan: tenant quota and key (plan.c) ->
 *	  send (send.c, dispatch.c) -> finish (finish.c) ->
 *	  write the completions (completion.c, actions.c)
 * and, in dispatcher 0, between cycles and in a transaction of its own:
 *	  move finished jobs to the history (retention.c)
 * and, in worker 0 once a second, the utilisation alerts (alerts.c).
 * A cycle transaction writes the completions gathered in the last few
 * milliseconds, claims new jobs with FOR UPDATE SKIP LOCKED and plans
 * them; it commits before any claimed job goes on the wire, so no
 * transaction is ever open during network I/O.
 *
 * Crash safety: a job is in_flight only while the worker whose pid is in
 * claimed_by is alive.  Every worker requeues in_flight jobs whose worker
 * is gone, at start and every few seconds, so a worker killed at any
 * instant leaves each job final or back in the queue (at-least-once
 * delivery; the installation and job ids go out as an Idempotency-Key
 * header), and the requeue records each lost call in aigov.attempts.
 *
 * Memory: each job lives in a context of its own (job.c) and each loop
 * iteration in "aigov dispatch cycle", reset at the top of the next one,
 * so a worker's memory stays flat however many calls it makes.
 *
 * IDENTIFICATION
 *	  src/worker.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <malloc.h>

#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "actions.h"
#include "alerts.h"
#include "aigov.h"
#include "claim.h"
#include "completion.h"
#include "dispatch.h"
#include "extension_guard.h"
#include "finish.h"
#include "job.h"
#include "keycache.h"
#include "pgutil.h"
#include "plan.h"
#include "retention.h"
#include "send.h"
#include "shmem.h"
#include "worker.h"

/* GUCs */
int			aigov_workers = 1;
static char *aigov_database = NULL;
static int	aigov_max_in_flight = 1000;
static int	aigov_claim_batch = 100;
static int	aigov_shutdown_grace_ms = 5000;
static int	aigov_flush_interval_ms = 2;
static int	aigov_idle_poll_ms = 1000;
static int	aigov_orphan_check_ms = 5000;

/* What the loop carries from one iteration to the next. */
typedef struct WorkerLoop
{
	dlist_head	done;			/* calls finished on the wire */
	TimestampTz next_poll;		/* look for due jobs by then */
	TimestampTz next_orphan_check;
	TimestampTz next_expiry;
	TimestampTz next_retention; /* dispatcher 0's retention stage */
	TimestampTz next_alert_check;	/* worker 0: utilisation alerts */
	TimestampTz drain_until;	/* a stopping worker's grace ends */
	bool		work_maybe;		/* jobs may be waiting to be claimed */
	bool		draining;
	uint64		seen_config_generation;
	uint64		seen_enqueue_generation;

	/*
	 * How many jobs the next claim takes.  When jobs that had waited before
	 * found no key again, a claim takes what was sent last time (at least
	 * one, to probe), so the queue is not churned by jobs claimed only to be
	 * put back: a saturated key frees one slot at a time, and every enqueue
	 * wakes the worker.  Otherwise it doubles back to aigov.claim_batch.
	 */
	int			claim_limit;
} WorkerLoop;

/* What one iteration has to do in a cycle transaction. */
typedef struct CycleWork
{
	bool		want_claim;
	bool		flush_due;
	bool		need_reload;
	bool		sweep_orphans;
	bool		sweep_expired;
	bool		check_alerts;	/* worker 0: evaluate utilisation alerts */
	int			max_in_flight;	/* aigov.max_in_flight, within the memory
								 * budget of replies (dispatch.c) */
	int			free_slots;
	int			threshold;		/* free slots worth a claim */
	uint64		config_generation;
} CycleWork;

static int	worker_index;
static MemoryContext cycle_cxt = NULL;

/* The job a log line is about, for the error context callback. */
static int64 context_job_id = 0;

#define MY_SLOT (&AigovState->slots[worker_index])

/*
 * AigovWorkerInit
 *		Defines the worker GUCs and registers the dispatcher workers.
 */
void
AigovWorkerInit(void)
{
	BackgroundWorker worker;

	DefineCustomStringVariable("aigov.database",
							   "Sets the database whose queue the dispatcher workers serve.",
							   NULL, &aigov_database, "postgres",
							   PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("aigov.workers",
							"Sets the number of dispatcher background workers.",
							NULL, &aigov_workers, 1, 0, 64,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("aigov.max_in_flight",
							"Sets the most provider calls one worker keeps in flight.",
							NULL, &aigov_max_in_flight, 1000, 1, 100000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("aigov.claim_batch",
							"Sets the most jobs one worker claims per transaction.",
							NULL, &aigov_claim_batch, 100, 1, 10000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("aigov.max_attempts",
							"Sets how many transient failures (5xx, timeouts, connection errors) a job survives.",
							"Rate-limit replies are schedules, not failures, and do not count.",
							&aigov_max_attempts, 5, 1, 1000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("aigov.shutdown_grace",
							"Sets how long a stopping worker lets calls in flight finish.",
							"Calls still in flight then are abandoned and their jobs requeued.",
							&aigov_shutdown_grace_ms, 5000, 0, 600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("aigov.flush_interval",
							"Sets how long completions may wait to be written as one group.",
							NULL, &aigov_flush_interval_ms, 2, 0, 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("aigov.idle_poll_interval",
							"Sets how often an idle worker looks for jobs that became due.",
							"New jobs wake the workers at once; this only catches scheduled ones.",
							&aigov_idle_poll_ms, 1000, 10, 60 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("aigov.orphan_check_interval",
							"Sets how often workers requeue jobs left in flight by a worker that died.",
							NULL, &aigov_orphan_check_ms, 5000, 100, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	AigovDispatchDefineGucs();

	for (int i = 0; i < aigov_workers; i++)
	{
		memset(&worker, 0, sizeof(worker));
		worker.bgw_flags = BGWORKER_SHMEM_ACCESS |
			BGWORKER_BACKEND_DATABASE_CONNECTION;
		worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
		worker.bgw_restart_time = 1;
		snprintf(worker.bgw_library_name, BGW_MAXLEN, "aigov");
		snprintf(worker.bgw_function_name, BGW_MAXLEN, "AigovWorkerMain");
		snprintf(worker.bgw_name, BGW_MAXLEN, "aigov dispatcher %d", i);
		snprintf(worker.bgw_type, BGW_MAXLEN, "aigov dispatcher");
		worker.bgw_main_arg = Int32GetDatum(i);
		RegisterBackgroundWorker(&worker);
	}
}

/* ---------- the worker's process ---------- */

/*
 * job_error_context
 *		Names the job a worker's log line is about (never its key's secret).
 */
static void
job_error_context(void *arg)
{
	if (context_job_id != 0)
		errcontext("while dispatching request " INT64_FORMAT, context_job_id);
}

static void
register_slot(void)
{
	AigovWorkerSlot *slot = MY_SLOT;

	LWLockAcquire(AigovState->lock, LW_EXCLUSIVE);
	slot->pid = MyProcPid;
	slot->latch = MyLatch;
	pg_atomic_write_u64(&slot->in_flight, 0);
	pg_atomic_write_u64(&slot->claimed, 0);
	pg_atomic_write_u64(&slot->completed, 0);
	pg_atomic_write_u64(&slot->config_reloads, 0);
	LWLockRelease(AigovState->lock);
}

static void
unregister_slot(int code, Datum arg)
{
	if (AigovState == NULL)
		return;
	LWLockAcquire(AigovState->lock, LW_EXCLUSIVE);
	if (MY_SLOT->pid == MyProcPid)
	{
		MY_SLOT->pid = 0;
		MY_SLOT->latch = NULL;
	}
	LWLockRelease(AigovState->lock);
}

/*
 * start_worker
 *		Everything before the loop: signals, the shared slot, the database
 *		connection, memory contexts, the curl pipeline, the jobs a previous
 *		incarnation left in flight and the key cache.
 */
static void
start_worker(WorkerLoop *loop)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();

	if (AigovState == NULL)
		elog(ERROR, "aigov shared memory is not initialized");
	register_slot();
	before_shmem_exit(unregister_slot, (Datum) 0);

	BackgroundWorkerInitializeConnection(aigov_database, NULL, 0);
	pgstat_report_appname("aigov dispatcher");

	cycle_cxt = AllocSetContextCreate(TopMemoryContext, "aigov dispatch cycle",
									  ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(cycle_cxt);
	AigovJobsInit();
	AigovCompletionsInit();
	AigovActionsInit();

	AigovWaitForExtension();
	AigovDispatchStart();

	memset(loop, 0, sizeof(*loop));
	dlist_init(&loop->done);
	loop->work_maybe = true;
	loop->claim_limit = INT_MAX;
	/* dispatcher 0 runs the retention stage, from its first iteration */
	loop->next_retention = worker_index == 0 ? 0 : DT_NOEND;

	/* Read the generation before the snapshot, so no change falls between. */
	loop->seen_config_generation = pg_atomic_read_u64(&AigovState->config_generation);
	AigovBeginXact("aigov: starting");
	AigovLockExtension();
	AigovRequeueOrphans(true, aigov_max_attempts);
	AigovKeyCacheLoad();
	AigovEndXact();
	loop->next_orphan_check = GetCurrentTimestamp() + (int64) aigov_orphan_check_ms * 1000;

	/*
	 * The first evaluation waits one interval, so a worker that restarts in a
	 * loop does not evaluate (and notify) on every start.
	 */
	loop->next_alert_check = GetCurrentTimestamp() + (int64) AIGOV_ALERT_INTERVAL_MS * 1000;
}

/* ---------- one iteration ---------- */

/*
 * begin_iteration
 *		Frees the last iteration's memory and serves interrupts and
 *		configuration reloads.
 */
static void
begin_iteration(void)
{
	MemoryContextSwitchTo(cycle_cxt);
	MemoryContextReset(cycle_cxt);
	CHECK_FOR_INTERRUPTS();
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
		AigovDispatchApplySettings();
		pg_atomic_fetch_add_u64(&MY_SLOT->config_reloads, 1);
	}
}

/*
 * finish_calls
 *		Finishes every call that came off the wire: its completion is
 *		queued and the job freed.
 */
static void
finish_calls(WorkerLoop *loop, TimestampTz *next_due)
{
	while (!dlist_is_empty(&loop->done))
	{
		AigovJob   *job = dlist_container(AigovJob, node,
										  dlist_pop_head_node(&loop->done));

		context_job_id = job->id;
		AigovFinishJob(job, next_due);
		context_job_id = 0;
		AigovJobFree(job);
		pg_atomic_fetch_add_u64(&MY_SLOT->completed, 1);
	}
}

/*
 * abandon_calls
 *		When a stopping worker's grace has run out, puts what is still on
 *		the wire back in the queue.
 */
static void
abandon_calls(void)
{
	dlist_head	aborted;

	dlist_init(&aborted);
	AigovDispatchAbortAll(&aborted);
	while (!dlist_is_empty(&aborted))
	{
		AigovJob   *job = dlist_container(AigovJob, node, dlist_pop_head_node(&aborted));

		AigovAbandonJob(job);
		AigovJobFree(job);
	}
}

/*
 * decide_work
 *		What this iteration must do in a transaction: write completions,
 *		claim, reload the key cache, sweep orphans and overdue jobs.  Also
 *		notes enqueues and the idle poll, and starts draining on SIGTERM.
 */
static void
decide_work(WorkerLoop *loop, TimestampTz now, CycleWork *w)
{
	uint64		gen;

	gen = pg_atomic_read_u64(&AigovState->enqueue_generation);
	if (gen != loop->seen_enqueue_generation)
	{
		loop->seen_enqueue_generation = gen;
		loop->work_maybe = true;
	}
	w->config_generation = pg_atomic_read_u64(&AigovState->config_generation);
	w->need_reload = (w->config_generation != loop->seen_config_generation);
	if (now >= loop->next_poll)
	{
		/* the deadline is spent: the next one is set anew */
		loop->work_maybe = true;
		loop->next_poll = now + (int64) aigov_idle_poll_ms * 1000;
	}
	if (ShutdownRequestPending && !loop->draining)
	{
		loop->draining = true;
		loop->drain_until = now + (int64) aigov_shutdown_grace_ms * 1000;
	}
	if (loop->draining && now >= loop->drain_until && AigovDispatchInFlight() > 0)
		abandon_calls();

	w->max_in_flight = AigovDispatchCallBudget(aigov_max_in_flight);
	w->free_slots = w->max_in_flight - AigovDispatchInFlight();
	w->threshold = Max(1, Min(aigov_claim_batch, w->max_in_flight / 8));
	w->want_claim = !loop->draining && loop->work_maybe && w->free_slots >= w->threshold;
	w->flush_due = AigovCompletionsPending() > 0 &&
		(AigovCompletionsPending() >= aigov_claim_batch ||
		 now >= AigovCompletionsOldest() + (int64) aigov_flush_interval_ms * 1000 ||
		 AigovDispatchInFlight() == 0 || w->want_claim || loop->draining);
	w->sweep_orphans = now >= loop->next_orphan_check;
	/* reload now and then too: a restore loads config with triggers off */
	if (w->sweep_orphans)
		w->need_reload = true;
	w->sweep_expired = worker_index == 0 && now >= loop->next_expiry;
	w->check_alerts = worker_index == 0 && now >= loop->next_alert_check;
}

/*
 * plan_claimed
 *		Plans every claimed job, moving those that go out now to ready.
 */
static void
plan_claimed(dlist_head *claimed, dlist_head *ready, AigovPlanCycle *plan)
{
	while (!dlist_is_empty(claimed))
	{
		AigovJob   *job = dlist_container(AigovJob, node, dlist_pop_head_node(claimed));

		context_job_id = job->id;
		if (AigovPlanJob(job, plan))
			dlist_push_tail(ready, &job->node);
		context_job_id = 0;
	}
}

/*
 * pace_claims
 *		Sizes the next claim from what this one achieved (see claim_limit),
 *		and stops claiming until a key frees up when claims only churn the
 *		queue.
 */
static void
pace_claims(WorkerLoop *loop, const AigovPlanCycle *plan, int got, int sent,
			TimestampTz now)
{
	if (got == 0)
		return;

	/*
	 * Nothing went out and jobs that could not be booked out of the way found
	 * no key: claiming more before a key frees up would only churn the queue.
	 */
	if (sent == 0 && plan->route_blocked_until < INT64_MAX && plan->claims_early)
	{
		loop->work_maybe = false;
		loop->next_poll = Min(loop->next_poll,
							  Max(AigovFromUnixUs(plan->route_blocked_until), now));
	}
	if (plan->claims_early)
		loop->claim_limit = Max(1, sent);
	else
		loop->claim_limit = loop->claim_limit >= aigov_claim_batch / 2 ?
			INT_MAX : loop->claim_limit * 2;
}

/*
 * reload_if_config_moved
 *		Reloads the key cache when a configuration change committed since
 *		it was loaded.  The claim's snapshot is newer than the cache's, so
 *		a job enqueued just after a new key or model committed can be
 *		claimed before the cycle that would have reloaded for it; planning
 *		it against the old cache fails it as no_route.  Reading the
 *		generation after the claim and reloading in this same transaction
 *		under a snapshot taken after the claim's gives the plan a cache at
 *		least as new as the claimed jobs.
 */
static void
reload_if_config_moved(WorkerLoop *loop)
{
	uint64		gen = pg_atomic_read_u64(&AigovState->config_generation);

	if (gen == loop->seen_config_generation)
		return;
	loop->seen_config_generation = gen;
	/* the cache reads with the active snapshot: the cycle's is too old */
	PushActiveSnapshot(GetTransactionSnapshot());
	AigovKeyCacheLoad();
	PopActiveSnapshot();
}

/*
 * run_cycle
 *		One cycle transaction, then the sends: applies queued actions,
 *		writes completions, reloads and sweeps when due, claims and plans
 *		jobs (those that cannot go now return to the queue in the same
 *		transaction), commits, and only then puts the planned jobs on the
 *		wire.
 */
static void
run_cycle(WorkerLoop *loop, const CycleWork *w, TimestampTz now,
		  TimestampTz *next_due)
{
	dlist_head	claimed = DLIST_STATIC_INIT(claimed);
	dlist_head	ready = DLIST_STATIC_INIT(ready);
	AigovPlanCycle plan;
	int			asked = Min(Min(aigov_claim_batch, loop->claim_limit), w->free_slots);
	int			got = 0;
	int			sent = 0;

	AigovBeginXact("aigov: dispatch cycle");
	AigovLockExtension();
	AigovActionsApply();
	AigovCompletionsWrite();
	if (w->need_reload)
	{
		loop->seen_config_generation = w->config_generation;
		AigovKeyCacheLoad();
	}
	if (w->sweep_orphans)
	{
		AigovRequeueOrphans(false, aigov_max_attempts);
		loop->next_orphan_check = now + (int64) aigov_orphan_check_ms * 1000;
	}
	if (w->sweep_expired)
	{
		AigovExpireOverdue();
		loop->next_expiry = now + USECS_PER_SEC;
	}
	if (w->check_alerts)
	{
		AigovAlertsEvaluate();
		loop->next_alert_check = now + (int64) AIGOV_ALERT_INTERVAL_MS * 1000;
	}
	if (w->want_claim)
		got = AigovClaimJobs(asked, &claimed);
	if (got > 0)
		reload_if_config_moved(loop);
	AigovPlanCycleInit(&plan, *next_due);
	plan_claimed(&claimed, &ready, &plan);
	*next_due = plan.next_due;
	AigovCompletionsWrite();
	AigovEndXact();
	pg_atomic_fetch_add_u64(&MY_SLOT->claimed, got);

	/*
	 * Reply buffers and libcurl's and jansson's allocations come from malloc,
	 * whose free pages stay with the process until trimmed.
	 */
	if (w->sweep_orphans)
		(void) malloc_trim(0);

	if (w->want_claim && got < asked)
	{
		loop->work_maybe = false;
		loop->next_poll = now + (int64) aigov_idle_poll_ms * 1000;
	}

	/* Only now, with the claim committed, do jobs go on the wire. */
	while (!dlist_is_empty(&ready))
	{
		AigovJob   *job = dlist_container(AigovJob, node, dlist_pop_head_node(&ready));

		context_job_id = job->id;
		AigovSendJob(job);
		context_job_id = 0;
		sent++;
	}
	pace_claims(loop, &plan, got, sent, now);
}

/*
 * sleep_until_needed
 *		Waits on the wire, the latch and the clock until something needs
 *		doing: a completion group to flush, room to claim, a due poll.
 */
static void
sleep_until_needed(WorkerLoop *loop, const CycleWork *w, TimestampTz next_due)
{
	TimestampTz now;
	long		timeout;

	if (next_due < loop->next_poll)
		loop->next_poll = Max(next_due, GetCurrentTimestamp());

	now = GetCurrentTimestamp();
	if (AigovCompletionsPending() > 0)
		timeout = Max(0, (AigovCompletionsOldest() +
						  (int64) aigov_flush_interval_ms * 1000 - now) / 1000);
	else if (loop->work_maybe && !loop->draining &&
			 w->max_in_flight - AigovDispatchInFlight() >= w->threshold)
		timeout = 0;
	else
		timeout = Max(0, (Min(Min(loop->next_poll, loop->next_orphan_check),
							  loop->next_retention) - now + 999) / 1000);
	if (loop->draining)
		timeout = Min(timeout, 10);

	pg_atomic_write_u64(&MY_SLOT->in_flight, AigovDispatchInFlight());
	AigovDispatchWait(timeout, &loop->done);
}

/*
 * AigovWorkerMain
 *		Entry point of a dispatcher worker: the pipeline, once per
 *		iteration, until a shutdown has drained the wire.
 */
void
AigovWorkerMain(Datum main_arg)
{
	WorkerLoop	loop;
	ErrorContextCallback errcallback;

	worker_index = DatumGetInt32(main_arg);
	start_worker(&loop);

	errcallback.callback = job_error_context;
	errcallback.arg = NULL;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;

	for (;;)
	{
		TimestampTz now;
		TimestampTz next_due = DT_NOEND;
		CycleWork	work;

		begin_iteration();
		finish_calls(&loop, &next_due);
		now = GetCurrentTimestamp();
		decide_work(&loop, now, &work);
		if (work.flush_due || work.want_claim || work.need_reload ||
			work.sweep_orphans || work.sweep_expired || work.check_alerts ||
			AigovActionsPending())
			run_cycle(&loop, &work, now, &next_due);
		if (worker_index == 0 && !loop.draining && now >= loop.next_retention)
			loop.next_retention = AigovRetentionStage(now);
		if (loop.draining && AigovDispatchInFlight() == 0 &&
			AigovCompletionsPending() == 0)
			break;
		sleep_until_needed(&loop, &work, next_due);
	}

	error_context_stack = errcallback.previous;
	AigovDispatchStop();
	ereport(LOG, (errmsg("aigov dispatcher %d stopped", worker_index)));
	/* exit code 1: the postmaster restarts a worker stopped on its own */
	proc_exit(1);
}
