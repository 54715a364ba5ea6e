/*-------------------------------------------------------------------------
 * worker.c
 *	  The dispatcher background workers: claim jobs, route them to a key,
 *	  hand them to the curl pipeline (dispatch.c), and write completions.
 *
 * Each worker runs one continuous pipeline.  A cycle transaction writes
 * the completions gathered in the last few milliseconds (grouped: one
 * UPDATE and one INSERT for the whole group) and claims new jobs with FOR
 * UPDATE SKIP LOCKED; it commits before any claimed job goes on the wire,
 * so no transaction is ever open during network I/O.
 *
 * Crash safety: a job is in_flight only while the worker whose pid is in
 * claimed_by is alive.  Every worker requeues in_flight jobs whose worker
 * is gone, at start and every few seconds, so a worker killed at any
 * instant leaves each job final or back in the queue (at-least-once
 * delivery; the job id goes out as an Idempotency-Key header).
 *
 * Bad data never kills a worker: a group of completions that cannot be
 * written is retried one job at a time in subtransactions, and a job that
 * still cannot be written is marked failed with the reason.
 *
 * IDENTIFICATION
 *	  src/worker.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "common/pg_prng.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "aigov.h"
#include "completion.h"
#include "dispatch.h"
#include "protocol.h"
#include "quota.h"
#include "shmem.h"
#include "translate.h"
#include "worker.h"

/* GUCs */
int			aigov_workers = 1;
static char *aigov_database = NULL;
static int	aigov_max_in_flight = 1000;
static int	aigov_claim_batch = 100;
static int	aigov_max_attempts = 5;
static int	aigov_shutdown_grace_ms = 5000;
static int	aigov_flush_interval_ms = 2;
static int	aigov_idle_poll_ms = 1000;
static int	aigov_orphan_check_ms = 5000;

/* Backoff of transient failures: base * 2^n with full jitter, capped. */
#define BACKOFF_BASE_MS		500
#define BACKOFF_CAP_MS		30000

#define USECS_UNIX_TO_PG \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY)

/* A key of the worker's config cache. */
typedef struct CachedKey
{
	int64		key_id;
	char	   *label;
	char	   *secret;
	char	   *provider;
	AigovApiStyle style;
	char	   *base_url;
	char	   *workload_class; /* NULL = any */
	char	   *tenant_group;	/* NULL = any */
	int			weight;
	AigovKeyLimits limits;		/* as configured in aigov.keys */
	AigovKeyEntry *shared;		/* its state in shared memory */
	bool		unusable;		/* disabled by this worker, reload pending */
} CachedKey;

/* One (model, key) pair; the array is sorted by model. */
typedef struct CachedRoute
{
	char	   *model;
	int			key_index;
} CachedRoute;

/* A key to take out of rotation, with an alert. */
typedef struct KeyAction
{
	int64		key_id;
	char	   *reason;
	char	   *error_class;
} KeyAction;

typedef enum RouteResult
{
	ROUTE_OK,
	ROUTE_WAIT,					/* every candidate is exhausted for now */
	ROUTE_NONE					/* no enabled key serves the job */
} RouteResult;

static int	worker_index;
static MemoryContext cache_cxt = NULL;
static MemoryContext jobs_cxt = NULL;
static MemoryContext completions_cxt = NULL;

static CachedKey *keys = NULL;
static int	nkeys = 0;
static CachedRoute *routes = NULL;
static int	nroutes = 0;
static uint64 seen_config_generation = 0;
static uint64 seen_enqueue_generation = 0;

static List *completions = NIL;
static TimestampTz oldest_completion = 0;
static List *key_actions = NIL;
static dlist_head claimed = DLIST_STATIC_INIT(claimed);
static dlist_head ready = DLIST_STATIC_INIT(ready);

/* Earliest time a key frees up, when planning deferred a job for lack of one. */
static int64 route_blocked_until = INT64_MAX;

/*
 * Set when a job found no key and could not be booked out of the way (it
 * had waited before, or its keys' limits are unknown): claims came too
 * early, and claiming more before a key frees up would only churn the
 * queue.  (Jobs booked a slot moved out of the way: the claims may go on
 * down the queue.)
 */
static bool route_claims_early = false;

/*
 * How many jobs the next claim takes.  When jobs that had waited before
 * found no key again, a claim takes what was sent last time (at least
 * one, to probe), so the queue is not churned by jobs claimed only to be
 * put back: a saturated key frees one slot at a time, and every enqueue
 * wakes the worker.  Otherwise it doubles back to aigov.claim_batch.
 */
static int	claim_limit = INT_MAX;

static SPIPlanPtr claim_plan = NULL;
static SPIPlanPtr orphan_plan = NULL;
static SPIPlanPtr expire_plan = NULL;

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

/* ---------- small helpers ---------- */

static int64
to_unix_us(TimestampTz t)
{
	return t + USECS_UNIX_TO_PG;
}

static TimestampTz
from_unix_us(int64 us)
{
	return us - USECS_UNIX_TO_PG;
}

static char *
copy_text(HeapTuple tuple, TupleDesc tupdesc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tuple, tupdesc, col, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

static SPIPlanPtr
keep_plan(SPIPlanPtr *slot, const char *query, int nargs, Oid *argtypes)
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

static void
begin_xact(const char *activity)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "could not connect to SPI");
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, activity);
}

static void
end_xact(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
}

/* ---------- config cache ---------- */

static int
route_cmp(const void *a, const void *b)
{
	return strcmp(((const CachedRoute *) a)->model,
				  ((const CachedRoute *) b)->model);
}

/*
 * resolve_secret
 *		A secret "env:NAME" is read from the server's environment, so keys
 *		need not be stored in the table at all.
 */
static char *
resolve_secret(const char *secret)
{
	if (strncmp(secret, "env:", 4) == 0)
	{
		const char *v = getenv(secret + 4);

		return pstrdup(v != NULL ? v : "");
	}
	return pstrdup(secret);
}

/*
 * load_config
 *		Rebuilds the key and route cache from the configuration tables,
 *		keeping what this worker learned about each key's exhaustion.
 *		Runs inside a transaction connected to SPI.
 */
static void
load_config(void)
{
	MemoryContext old;
	MemoryContext old_cxt = cache_cxt;
	int			ret;

	ret = SPI_execute("SELECT k.key_id, k.label, k.secret, k.provider, p.api_style,"
					  " p.base_url, k.workload_class, k.tenant_group, k.weight, m.model,"
					  " COALESCE(k.rpm_limit, 0)::pg_catalog.int8,"
					  " COALESCE(k.tpm_limit, 0), COALESCE(k.tpd_limit, 0)"
					  " FROM aigov.keys k"
					  " JOIN aigov.providers p ON p.provider OPERATOR(pg_catalog.=) k.provider"
					  " JOIN aigov.models m ON m.provider OPERATOR(pg_catalog.=) k.provider"
					  " WHERE k.enabled AND p.enabled"
					  " ORDER BY m.model, k.key_id", true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read aigov.keys: %s", SPI_result_code_string(ret));

	cache_cxt = AllocSetContextCreate(TopMemoryContext, "aigov config cache",
									  ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cache_cxt);
	keys = palloc0(sizeof(CachedKey) * Max(SPI_processed, 1));
	routes = palloc0(sizeof(CachedRoute) * Max(SPI_processed, 1));
	nkeys = nroutes = 0;

	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	tupdesc = SPI_tuptable->tupdesc;
		bool		isnull;
		int64		key_id = DatumGetInt64(SPI_getbinval(tuple, tupdesc, 1, &isnull));
		int			k;
		char	   *style;

		for (k = 0; k < nkeys; k++)
			if (keys[k].key_id == key_id)
				break;
		if (k == nkeys)
		{
			CachedKey  *key = &keys[nkeys++];
			char	   *secret = copy_text(tuple, tupdesc, 3);

			key->key_id = key_id;
			key->label = copy_text(tuple, tupdesc, 2);
			key->secret = resolve_secret(secret);
			pfree(secret);
			key->provider = copy_text(tuple, tupdesc, 4);
			style = copy_text(tuple, tupdesc, 5);
			key->style = strcmp(style, "anthropic") == 0 ? AIGOV_API_ANTHROPIC :
				strcmp(style, "gemini") == 0 ? AIGOV_API_GEMINI : AIGOV_API_OPENAI;
			key->base_url = copy_text(tuple, tupdesc, 6);
			while (strlen(key->base_url) > 0 &&
				   key->base_url[strlen(key->base_url) - 1] == '/')
				key->base_url[strlen(key->base_url) - 1] = '\0';
			key->workload_class = copy_text(tuple, tupdesc, 7);
			key->tenant_group = copy_text(tuple, tupdesc, 8);
			key->weight = DatumGetInt32(SPI_getbinval(tuple, tupdesc, 9, &isnull));
			key->limits.rpm = DatumGetInt64(SPI_getbinval(tuple, tupdesc, 11, &isnull));
			key->limits.tpm = DatumGetInt64(SPI_getbinval(tuple, tupdesc, 12, &isnull));
			key->limits.tpd = DatumGetInt64(SPI_getbinval(tuple, tupdesc, 13, &isnull));
			key->limits.rpd = 0;
			key->limits.weight = key->weight;
		}
		routes[nroutes].model = copy_text(tuple, tupdesc, 10);
		routes[nroutes].key_index = k;
		nroutes++;
	}
	qsort(routes, nroutes, sizeof(CachedRoute), route_cmp);
	for (int k = 0; k < nkeys; k++)
	{
		/* after the loop: this may run SPI, which replaces SPI_tuptable */
		keys[k].shared = AigovKeyEntryGet(keys[k].key_id, &keys[k].limits);
		SpinLockAcquire(&keys[k].shared->mutex);
		aigov_router_set_disabled(&keys[k].shared->state, false);
		SpinLockRelease(&keys[k].shared->mutex);
	}
	MemoryContextSwitchTo(old);
	if (old_cxt != NULL)
		MemoryContextDelete(old_cxt);
}

/*
 * job_charge
 *		What a job will cost on the token buckets of the keys that may take
 *		it.  OpenAI-style limiters (OpenAI, Azure, Mistral) admit on a
 *		character count of the messages plus the output budget, not on
 *		tokens (tokens.h); the others charge tokens, for which our own
 *		estimate stands.  When both kinds are candidates, the larger, so
 *		whichever key is chosen is not overrun.
 */
static int64
job_charge(const AigovJob *job, const int *cand, int ncand)
{
	bool		by_chars = false;
	bool		by_tokens = false;
	int64		output = Max(job->est_tokens - job->est_prompt_tokens, 0);
	int64		chars = job->charged_prompt_tokens + output;

	for (int i = 0; i < ncand; i++)
	{
		if (keys[cand[i]].style == AIGOV_API_OPENAI)
			by_chars = true;
		else
			by_tokens = true;
	}
	if (by_chars && by_tokens)
		return Max(chars, job->est_tokens);
	return by_chars ? chars : job->est_tokens;
}

/*
 * route_job
 *		Chooses a key for a job (layer 2): among the enabled keys of
 *		providers serving its model whose workload class and tenant group
 *		match and whose breaker lets calls through, at random in proportion
 *		to their headroom on both axes, net of what is in flight.  On OK the
 *		job's cost is reserved on the chosen key.  On WAIT, *wait_until is
 *		the earliest time any candidate will have headroom.
 */
/*
 * book_slot
 *		When a job that found no key may try again.  A job seen for the
 *		first time books the next free slot of the candidate that offers
 *		the earliest one, behind the jobs already waiting for it, so that
 *		waiting jobs come due one pace interval apart rather than all when
 *		the key frees up (each of them would be claimed and put back again).
 *		A job that waited before keeps its place: it waits only for the key.
 *		*booked is false when the job only waits for the key (it waited
 *		before, or the key's limits are unknown and a completion, not time,
 *		will free it).
 */
static int64
book_slot(AigovJob *job, const int *cand, const AigovKeyState *states,
		  const bool *eligible, int ncand, int64 key_free_at, int64 now_us,
		  bool *booked)
{
	int			best = -1;
	int64		best_slot = INT64_MAX;
	int64		slot;
	CachedKey  *key;

	*booked = false;
	if (job->deferred)
		return key_free_at;
	for (int i = 0; i < ncand; i++)
	{
		if (!eligible[i])
			continue;
		slot = aigov_router_next_slot(&states[i], job->charge_tokens, now_us);
		if (slot < best_slot)
		{
			best_slot = slot;
			best = i;
		}
	}
	if (best < 0 || !aigov_router_limits_known(&states[best]))
		return key_free_at;
	key = &keys[cand[best]];
	SpinLockAcquire(&key->shared->mutex);
	slot = aigov_router_book(&key->shared->state, job->charge_tokens, now_us);
	SpinLockRelease(&key->shared->mutex);
	if (slot == INT64_MAX)
		return key_free_at;
	*booked = true;
	return Max(slot, key_free_at);
}

static RouteResult
route_job(AigovJob *job, int64 now_us, CachedKey **chosen, int64 *wait_until,
		  int64 *key_free_at, bool *booked)
{
	CachedRoute probe;
	int			lo = 0,
				hi = nroutes;
	int			cand[256];
	AigovKeyState states[256];
	bool		eligible[256];
	int			ncand = 0;
	int			pick;
	int64		earliest;
	AigovRouterStatus rs;

	*key_free_at = INT64_MAX;
	*booked = false;
	probe.model = job->model;
	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;

		if (route_cmp(&routes[mid], &probe) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*wait_until = INT64_MAX;
	for (int r = lo; r < nroutes && strcmp(routes[r].model, job->model) == 0; r++)
	{
		CachedKey  *key = &keys[routes[r].key_index];
		int64		breaker_retry = 0;
		AigovBreakerDecision bd;

		if (key->unusable || ncand >= (int) lengthof(cand))
			continue;
		if (key->workload_class != NULL &&
			strcmp(key->workload_class, job->workload_class) != 0)
			continue;
		if (key->tenant_group != NULL &&
			(job->tenant_group == NULL ||
			 strcmp(key->tenant_group, job->tenant_group) != 0))
			continue;

		SpinLockAcquire(&key->shared->mutex);
		bd = aigov_breaker_allow(&key->shared->breaker, now_us, &breaker_retry);
		states[ncand] = key->shared->state;
		SpinLockRelease(&key->shared->mutex);
		cand[ncand] = routes[r].key_index;
		eligible[ncand] = (bd != AIGOV_BREAKER_DENY);
		if (!eligible[ncand] && breaker_retry > 0)
			*wait_until = Min(*wait_until, breaker_retry);
		ncand++;
	}
	if (ncand == 0)
		return ROUTE_NONE;
	job->charge_tokens = job_charge(job, cand, ncand);

	for (int attempt = 0; attempt < 3; attempt++)
	{
		/*
		 * The router scales all 64 bits to the keys' total weight:
		 * random() has 31, and two of them left the top bit 0, which
		 * confined every draw to the first half of the total and gave
		 * the first keys in order nearly all the traffic.
		 */
		rs = aigov_router_choose(states, ncand, eligible, job->charge_tokens, now_us,
								 pg_prng_uint64(&pg_global_prng_state),
								 &pick, &earliest);
		if (rs == AIGOV_ROUTER_NEVER)
		{
			/*
			 * Fail the job only if it is bigger than every candidate's
			 * configured limits; otherwise the router's view is transient
			 * (a learned or inferred limit) and the job asks again soon.
			 */
			for (int i = 0; i < ncand; i++)
			{
				const AigovKeyState *k = &states[i];

				if (eligible[i] && !k->disabled &&
					(k->cfg_tpm <= 0 || job->charge_tokens <= k->cfg_tpm) &&
					(k->cfg_tpd <= 0 || job->charge_tokens <= k->cfg_tpd))
				{
					*wait_until = Min(*wait_until, now_us + USECS_PER_SEC);
					break;
				}
			}
			return *wait_until < INT64_MAX ? ROUTE_WAIT : ROUTE_NONE;
		}
		if (rs != AIGOV_ROUTER_OK)
		{
			*key_free_at = Min(*wait_until, earliest);
			*wait_until = book_slot(job, cand, states, eligible, ncand,
									*key_free_at, now_us, booked);
			return ROUTE_WAIT;
		}

		/* Reserve under the lock; another worker may have taken it meanwhile. */
		{
			CachedKey  *key = &keys[cand[pick]];
			int64		at;

			SpinLockAcquire(&key->shared->mutex);
			if (aigov_router_headroom(&key->shared->state, job->charge_tokens, now_us, &at) ==
				AIGOV_ROUTER_OK)
			{
				aigov_router_reserve(&key->shared->state, job->charge_tokens, now_us,
									 &job->ticket);
				SpinLockRelease(&key->shared->mutex);
				*chosen = key;
				return ROUTE_OK;
			}
			states[pick] = key->shared->state;
			SpinLockRelease(&key->shared->mutex);
		}
	}
	*wait_until = Min(*wait_until, now_us + AIGOV_ROUTER_RECHECK_US);
	return ROUTE_WAIT;
}

/* ---------- completions ---------- */

static void
json_key(StringInfo buf, const char *key)
{
	if (buf->len > 1)
		appendStringInfoChar(buf, ',');
	escape_json(buf, key);
	appendStringInfoChar(buf, ':');
}

static void
json_str(StringInfo buf, const char *key, const char *value)
{
	json_key(buf, key);
	if (value == NULL)
		appendStringInfoString(buf, "null");
	else
		escape_json(buf, value);
}

static void
json_int(StringInfo buf, const char *key, int64 value, bool present)
{
	json_key(buf, key);
	if (present)
		appendStringInfo(buf, INT64_FORMAT, value);
	else
		appendStringInfoString(buf, "null");
}

/*
 * begin_record
 *		Starts the completion record of a job, its identity and new state,
 *		in completions_cxt, which the caller has switched to.
 */
static AigovCompletion *
begin_record(AigovJob *job, const char *state, int attempts, int failures)
{
	AigovCompletion *c;

	Assert(CurrentMemoryContext == completions_cxt);
	c = AigovCompletionBegin(job->id, job->tenant_id, state, attempts, failures);
	if (job->admitted_now)
		AigovCompletionBool(c, CF_ADMITTED, true);
	return c;
}

/*
 * queue_completion
 *		Queues a finished record for the next group write.
 */
static void
queue_completion(AigovCompletion *c)
{
	completions = lappend(completions, c);
	if (oldest_completion == 0)
		oldest_completion = GetCurrentTimestamp();
}

/*
 * error_object
 *		The error jsonb of a job: class, message and context, never the
 *		key's secret.
 */
static char *
error_object(const char *cls, const char *message, const char *code,
			 int http_status, AigovJob *job, int attempts)
{
	StringInfoData e;

	initStringInfo(&e);
	appendStringInfoChar(&e, '{');
	json_str(&e, "class", cls);
	json_str(&e, "message", message);
	if (code != NULL && code[0] != '\0')
		json_str(&e, "code", code);
	json_int(&e, "http_status", http_status, http_status > 0);
	if (job->provider != NULL)
		json_str(&e, "provider", job->provider);
	if (job->key_label != NULL)
		json_str(&e, "key", job->key_label);
	json_int(&e, "attempts", attempts, true);
	appendStringInfoChar(&e, '}');
	return e.data;
}

/*
 * complete_without_call
 *		Records the outcome of a job that never reached a provider this time
 *		(expired, unroutable, untranslatable, or waiting for a key): its
 *		claim's attempt is given back.
 */
static void
complete_without_call(AigovJob *job, const char *state, TimestampTz not_before,
					  const char *cls, const char *message)
{
	MemoryContext old = MemoryContextSwitchTo(completions_cxt);
	AigovCompletion *c = begin_record(job, state, job->attempts - 1, job->failures);

	AigovCompletionTimestamp(c, CF_NOT_BEFORE, not_before, not_before != 0);
	if (cls != NULL)
	{
		AigovCompletionText(c, CF_ERROR_CLASS, cls);
		AigovCompletionText(c, CF_ERROR, error_object(cls, message, NULL, 0, job,
													  job->attempts - 1));
	}
	AigovCompletionBool(c, CF_HAS_ATTEMPT, false);
	queue_completion(c);
	MemoryContextSwitchTo(old);
}

/*
 * backoff_until
 *		When a job that failed transiently n times may try again: full
 *		jitter over an exponential window, capped.
 */
static TimestampTz
backoff_until(TimestampTz now, int failures)
{
	int64		window = BACKOFF_BASE_MS;

	for (int i = 1; i < failures && window < BACKOFF_CAP_MS; i++)
		window *= 2;
	window = Min(window, BACKOFF_CAP_MS);
	return now + (int64) pg_prng_uint64_range(&pg_global_prng_state,
											  (uint64) (window / 2), (uint64) window) * 1000;
}

static void
disable_key(AigovJob *job, const char *cls, const char *message)
{
	MemoryContext old = MemoryContextSwitchTo(completions_cxt);
	KeyAction  *a = palloc(sizeof(KeyAction));

	a->key_id = job->key_id;
	a->error_class = pstrdup(cls);
	a->reason = pstrdup(message);
	key_actions = lappend(key_actions, a);
	MemoryContextSwitchTo(old);
	for (int k = 0; k < nkeys; k++)
		if (keys[k].key_id == job->key_id)
			keys[k].unusable = true;
	if (job->key_shared != NULL)
	{
		SpinLockAcquire(&job->key_shared->mutex);
		aigov_router_set_disabled(&job->key_shared->state, true);
		SpinLockRelease(&job->key_shared->mutex);
	}
}

/*
 * rate_report
 *		The provider's report of a key's minute windows, in the router's
 *		terms; false if the reply carried none.
 */
static bool
rate_report(AigovJob *job, AigovRateReport *report)
{
	const AigovRateWindow *tok = job->rate.tokens.present ? &job->rate.tokens :
		&job->rate.input_tokens;

	aigov_router_report_init(report);
	if (!job->rate.requests.present && !tok->present)
		return false;
	if (job->rate.requests.present && !job->rate.requests.sentinel)
	{
		report->req_limit = job->rate.requests.limit;
		report->req_remaining = job->rate.requests.remaining;
		report->req_reset_at_us = job->rate.requests.reset_at_us;
	}
	if (tok->present && !tok->sentinel)
	{
		report->tok_limit = tok->limit;
		report->tok_remaining = tok->remaining;
		report->tok_reset_at_us = tok->reset_at_us;
	}
	return true;
}

/*
 * settle_key
 *		Tells the key's shared state and breaker how its call ended: what
 *		the provider charged, what its headers said, a 429's window.
 */
static void
settle_key(AigovJob *job, const AigovClassification *cls, int64 charged,
		   int64 not_before_us, int64 now_us)
{
	AigovRateReport report;
	bool		has_report = rate_report(job, &report);
	AigovKeyEntry *e = job->key_shared;

	if (e == NULL)
		return;
	SpinLockAcquire(&e->mutex);
	switch (cls->cls)
	{
		case AIGOV_CLASS_SUCCESS:
			aigov_router_complete(&e->state, &job->ticket, charged,
								  has_report ? &report : NULL, now_us);
			break;
		case AIGOV_CLASS_RATE_LIMIT_RPM:
		case AIGOV_CLASS_RATE_LIMIT_TPM:
		case AIGOV_CLASS_RATE_LIMIT_RPD:
		case AIGOV_CLASS_RATE_LIMIT_TPD:
			aigov_router_on_rate_limited(&e->state, &job->ticket,
										 cls->cls == AIGOV_CLASS_RATE_LIMIT_RPM ? AIGOV_ROUTER_LIMIT_REQUESTS :
										 cls->cls == AIGOV_CLASS_RATE_LIMIT_TPM ? AIGOV_ROUTER_LIMIT_TOKENS :
										 AIGOV_ROUTER_LIMIT_DAILY,
										 not_before_us, has_report ? &report : NULL, now_us);
			break;
		default:
			aigov_router_release(&e->state, &job->ticket, false, now_us);
			if (has_report)
				aigov_router_fold_report(&e->state, &job->ticket, &report, now_us);
			break;
	}
	aigov_breaker_record(&e->breaker,
						 cls->cls == AIGOV_CLASS_SUCCESS ? AIGOV_BREAKER_SUCCESS :
						 cls->breaker_failure ? AIGOV_BREAKER_FAILURE :
						 AIGOV_BREAKER_NEUTRAL, now_us);
	SpinLockRelease(&e->mutex);
}

/*
 * record_window
 *		One rate-limit window of a reply's headers into the attempts row:
 *		its limit, remaining and reset fields, which follow each other in
 *		aigov._completion_row from limit_field on.
 */
static void
record_window(AigovCompletion *rec, AigovCompletionField limit_field,
			  const AigovRateWindow *w)
{
	StaticAssertStmt(CF_REMAINING_REQUESTS == CF_LIMIT_REQUESTS + 1 &&
					 CF_RESET_REQUESTS == CF_LIMIT_REQUESTS + 2 &&
					 CF_REMAINING_TOKENS == CF_LIMIT_TOKENS + 1 &&
					 CF_RESET_TOKENS == CF_LIMIT_TOKENS + 2,
					 "a window's fields follow its limit field");
	AigovCompletionInt8(rec, limit_field, w->limit, w->limit >= 0);
	AigovCompletionInt8(rec, limit_field + 1, w->remaining, w->remaining >= 0);
	AigovCompletionTimestamp(rec, limit_field + 2, from_unix_us(w->reset_at_us),
							 w->reset_at_us > 0);
}

/*
 * finish_job
 *		Classifies a finished provider call and queues its completion: the
 *		job's new state and one attempts row.
 */
static void
finish_job(AigovJob *job, TimestampTz *next_due)
{
	AigovClassification cls;
	AigovCompletion *rec;
	MemoryContext old;
	TimestampTz now = GetCurrentTimestamp();
	const char *state;
	const char *cls_name;
	char	   *response = NULL;
	char	   *raw_response = NULL;
	char	   *error = NULL;
	TimestampTz not_before = 0;
	int			failures = job->failures;
	int64		prompt_tokens = -1;
	int64		completion_tokens = -1;
	AigovNormalisedResponse norm;
	bool		norm_owned = false;

	memset(&norm, 0, sizeof(norm));
	norm.prompt_tokens = norm.completion_tokens = -1;
	aigov_protocol_classify(job->style, job->transport_error, (int) job->http_status,
							&job->rate, job->response, job->response_len,
							to_unix_us(now), &cls);
	if (job->transport_error != AIGOV_TRANSPORT_NONE && job->transport_message[0] != '\0' &&
		cls.message[0] == '\0')
		strlcpy(cls.message, job->transport_message, sizeof(cls.message));

	/* OpenAI replies are stored as they came: classify() validated them. */
	if (cls.cls == AIGOV_CLASS_SUCCESS && job->style != AIGOV_API_OPENAI)
	{
		AigovTranslateStatus ts;

		ts = aigov_translate_response(job->style, job->response, job->response_len,
									  job->model, &norm);
		norm_owned = true;
		if (ts != AIGOV_TRANSLATE_OK)
		{
			cls.cls = AIGOV_CLASS_BAD_RESPONSE;
			cls.retryable = true;
			cls.breaker_failure = true;
			snprintf(cls.message, sizeof(cls.message),
					 "could not read the provider's reply: %s",
					 norm.detail[0] ? norm.detail : aigov_translate_status_name(ts));
		}
	}
	cls_name = aigov_protocol_class_name(cls.cls);

	switch (cls.cls)
	{
		case AIGOV_CLASS_SUCCESS:
			state = "succeeded";
			if (job->style == AIGOV_API_OPENAI)
				response = job->response;
			else
			{
				response = norm.body;
				raw_response = job->response;
			}
			prompt_tokens = cls.usage.present ? cls.usage.prompt_tokens : norm.prompt_tokens;
			completion_tokens = cls.usage.present ? cls.usage.completion_tokens : norm.completion_tokens;
			break;

		case AIGOV_CLASS_RATE_LIMIT_RPM:
		case AIGOV_CLASS_RATE_LIMIT_TPM:
		case AIGOV_CLASS_RATE_LIMIT_RPD:
		case AIGOV_CLASS_RATE_LIMIT_TPD:
			/* A schedule, not a failure: wait exactly as long as told. */
			not_before = cls.retry_at_us > 0 ? from_unix_us(cls.retry_at_us)
				: now + AIGOV_PROTOCOL_MINUTE_FALLBACK_US;
			state = "queued";
			break;

		case AIGOV_CLASS_INSUFFICIENT_QUOTA:
			/* The key is out of credit; the job may still go out on another. */
			disable_key(job, cls_name, cls.message);
			state = "queued";
			not_before = now;
			break;

		case AIGOV_CLASS_AUTH:
			disable_key(job, cls_name, cls.message);
			state = "failed";
			error = error_object(cls_name, cls.message, cls.code, 502, job, job->attempts);
			break;

		case AIGOV_CLASS_REQUEST_TOO_LARGE:
			state = "failed";
			error = error_object(cls_name, cls.message, cls.code, 413, job, job->attempts);
			break;

		case AIGOV_CLASS_CLIENT_ERROR:
			state = "failed";
			error = error_object(cls_name, cls.message, cls.code,
								 job->http_status > 0 ? (int) job->http_status : 400, job, job->attempts);
			break;

		default:
			/* overloaded, server_error, timeout, connection, bad_response */
			failures++;
			if (failures >= aigov_max_attempts)
			{
				state = "failed";
				error = error_object(cls_name, cls.message, cls.code,
									 cls.cls == AIGOV_CLASS_TIMEOUT ? 504 : 502, job, job->attempts);
			}
			else
			{
				state = "queued";
				not_before = backoff_until(now, failures);
			}
			break;
	}

	/* A job that could not be sent before its deadline fails fast. */
	if (strcmp(state, "queued") == 0 && job->deadline != 0 && not_before > job->deadline)
	{
		state = "expired";
		error = error_object(cls_name,
							 "the job's deadline passes before the provider allows another call",
							 cls.code, 0, job, job->attempts);
	}
	else if (strcmp(state, "queued") == 0)
		error = error_object(cls_name, cls.message, cls.code,
							 job->http_status > 0 ? (int) job->http_status : 0, job, job->attempts);

	/* Settle the key's reservation and the tenant's estimate. */
	{
		int64		now_us = to_unix_us(now);
		int64		actual = (prompt_tokens >= 0 && completion_tokens >= 0) ?
			prompt_tokens + completion_tokens : -1;

		/* OpenAI charges its own estimate, max_tokens included */
		settle_key(job, &cls,
				   (job->style == AIGOV_API_OPENAI || actual < 0) ? job->charge_tokens : actual,
				   not_before != 0 ? to_unix_us(not_before) : cls.retry_at_us, now_us);
		if (job->tenant_shared != NULL && actual >= 0)
			AigovTenantReconcile(job->tenant_shared, job->est_tokens, actual, now_us);
	}

	old = MemoryContextSwitchTo(completions_cxt);
	rec = begin_record(job, state, job->attempts, failures);
	if (not_before != 0)
	{
		AigovCompletionTimestamp(rec, CF_NOT_BEFORE, not_before, true);
		*next_due = Min(*next_due, not_before);
	}
	AigovCompletionText(rec, CF_RESPONSE, response);
	AigovCompletionText(rec, CF_RAW_RESPONSE, raw_response);
	AigovCompletionText(rec, CF_ERROR_CLASS,
						cls.cls == AIGOV_CLASS_SUCCESS ? NULL : cls_name);
	AigovCompletionText(rec, CF_ERROR, error);
	AigovCompletionInt8(rec, CF_PROMPT_TOKENS, prompt_tokens, prompt_tokens >= 0);
	AigovCompletionInt8(rec, CF_COMPLETION_TOKENS, completion_tokens,
						completion_tokens >= 0);
	AigovCompletionInt8(rec, CF_KEY_ID, job->key_id, true);
	AigovCompletionText(rec, CF_PROVIDER, job->provider);
	AigovCompletionText(rec, CF_MODEL, job->model);

	/* the attempts row */
	AigovCompletionBool(rec, CF_HAS_ATTEMPT, true);
	AigovCompletionInt4(rec, CF_HTTP_STATUS, (int32) job->http_status, job->http_status > 0);
	AigovCompletionFloat8(rec, CF_LATENCY_MS,
						  (double) (job->finished_at - job->started_at) / 1000.0);
	AigovCompletionTimestamp(rec, CF_STARTED_AT, job->started_at, true);
	AigovCompletionTimestamp(rec, CF_FINISHED_AT, job->finished_at, true);
	AigovCompletionInt8(rec, CF_EST_TOKENS, job->est_tokens, true);
	record_window(rec, CF_LIMIT_REQUESTS, &job->rate.requests);
	record_window(rec, CF_LIMIT_TOKENS, &job->rate.tokens);
	AigovCompletionTimestamp(rec, CF_RETRY_AFTER, from_unix_us(cls.retry_at_us),
							 cls.retry_at_us > 0 &&
							 aigov_protocol_class_is_rate_limit(cls.cls));
	queue_completion(rec);
	MemoryContextSwitchTo(old);

	if (norm_owned)
		aigov_translate_response_free(&norm);
}

/*
 * failed_record
 *		The record that replaces a completion that could not be written.
 */
static AigovCompletion *
failed_record(AigovCompletion *c, const char *why)
{
	AigovCompletion *f;
	StringInfoData err;

	f = AigovCompletionBegin(c->job_id, c->tenant_id, "failed", 0, 0);
	/* keep the job's counters as they are */
	f->nulls[CF_ATTEMPTS] = f->nulls[CF_FAILURES] = true;
	AigovCompletionText(f, CF_ERROR_CLASS, "bad_response");
	initStringInfo(&err);
	appendStringInfoString(&err, "{\"class\":\"bad_response\",\"message\":");
	escape_json(&err, psprintf("could not store the provider's reply: %s", why));
	appendStringInfoChar(&err, '}');
	AigovCompletionText(f, CF_ERROR, err.data);
	return f;
}

/*
 * write_completions
 *		Writes every pending completion as one group; if the group fails,
 *		retries each job alone and marks the ones that still fail as
 *		failed with the reason.  Runs inside a transaction.
 */
static void
write_completions(void)
{
	ListCell   *lc;

	if (completions == NIL)
		return;

	if (AigovCompletionTryWrite(completions) != NULL)
	{
		foreach(lc, completions)
		{
			AigovCompletion *c = (AigovCompletion *) lfirst(lc);
			char	   *why = AigovCompletionTryWrite(list_make1(c));

			if (why != NULL)
			{
				ereport(WARNING,
						(errmsg("could not store the result of job " INT64_FORMAT ": %s",
								c->job_id, why)));
				why = AigovCompletionTryWrite(list_make1(failed_record(c, why)));
				if (why != NULL)
					elog(ERROR, "could not mark job " INT64_FORMAT " failed: %s",
						 c->job_id, why);
			}
		}
	}

	/* written (or marked failed): forget them */
	MemoryContextReset(completions_cxt);
	completions = NIL;
	oldest_completion = 0;
}

/*
 * apply_key_actions
 *		Takes keys out of rotation, with one alert row per key disabled.
 */
static void
apply_key_actions(void)
{
	ListCell   *lc;

	foreach(lc, key_actions)
	{
		KeyAction  *a = (KeyAction *) lfirst(lc);
		Oid			argtypes[3] = {INT8OID, TEXTOID, TEXTOID};
		Datum		args[3];
		int			ret;

		args[0] = Int64GetDatum(a->key_id);
		args[1] = CStringGetTextDatum(a->error_class);
		args[2] = CStringGetTextDatum(a->reason);
		ret = SPI_execute_with_args("WITH k AS (UPDATE aigov.keys SET enabled = false,"
									"  disabled_reason = $2 OPERATOR(pg_catalog.||) ': '"
									"  OPERATOR(pg_catalog.||) $3,"
									"  disabled_at = pg_catalog.clock_timestamp()"
									"  WHERE key_id OPERATOR(pg_catalog.=) $1 AND enabled"
									"  RETURNING key_id, provider, label)"
									" INSERT INTO aigov.alert_events"
									" (severity, kind, key_id, provider, message, detail)"
									" SELECT 'critical', 'key_disabled', k.key_id, k.provider,"
									"  'key ' OPERATOR(pg_catalog.||) k.label"
									"  OPERATOR(pg_catalog.||) ' was taken out of rotation: '"
									"  OPERATOR(pg_catalog.||) $2,"
									"  pg_catalog.jsonb_build_object('class', $2, 'message', $3)"
									" FROM k",
									3, argtypes, args, NULL, false, 0);
		if (ret != SPI_OK_INSERT)
			elog(ERROR, "could not disable key: %s", SPI_result_code_string(ret));
	}
}

/* ---------- claims and sweeps ---------- */

/*
 * claim_jobs
 *		Claims up to n due jobs in scheduling order and copies them into
 *		the jobs context.  Returns how many were claimed.
 */
static int
claim_jobs(int n)
{
	Oid			argtypes[2] = {INT4OID, INT4OID};
	Datum		args[2];
	MemoryContext old;
	int			ret;

	args[0] = Int32GetDatum(n);
	args[1] = Int32GetDatum(MyProcPid);
	keep_plan(&claim_plan,
			  "SELECT * FROM aigov._claim_batch($1, $2)",
			  2, argtypes);
	ret = SPI_execute_plan(claim_plan, args, NULL, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not claim queued requests: %s", SPI_result_code_string(ret));

	old = MemoryContextSwitchTo(jobs_cxt);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	tupdesc = SPI_tuptable->tupdesc;
		AigovJob   *job = palloc0(sizeof(AigovJob));
		bool		isnull;
		Datum		d;

		job->id = DatumGetInt64(SPI_getbinval(tuple, tupdesc, 1, &isnull));
		job->tenant_id = copy_text(tuple, tupdesc, 2);
		job->model = copy_text(tuple, tupdesc, 3);
		job->body = copy_text(tuple, tupdesc, 4);
		job->attempts = DatumGetInt32(SPI_getbinval(tuple, tupdesc, 5, &isnull));
		job->failures = DatumGetInt32(SPI_getbinval(tuple, tupdesc, 6, &isnull));
		d = SPI_getbinval(tuple, tupdesc, 7, &isnull);
		job->est_tokens = isnull ? 0 : DatumGetInt64(d);
		job->workload_class = copy_text(tuple, tupdesc, 8);
		d = SPI_getbinval(tuple, tupdesc, 9, &isnull);
		job->deadline = isnull ? 0 : DatumGetTimestampTz(d);
		job->tenant_group = copy_text(tuple, tupdesc, 10);
		job->admitted = DatumGetBool(SPI_getbinval(tuple, tupdesc, 11, &isnull));
		d = SPI_getbinval(tuple, tupdesc, 12, &isnull);
		if (isnull)
		{
			/* the tenant was deleted since: no quota to apply */
			job->admitted = true;
			memset(&job->tenant_limits, 0, sizeof(job->tenant_limits));
		}
		else
		{
			job->tenant_limits.rpm = DatumGetInt64(d);
			job->tenant_limits.tpm = DatumGetInt64(SPI_getbinval(tuple, tupdesc, 13, &isnull));
			job->tenant_limits.tpd = DatumGetInt64(SPI_getbinval(tuple, tupdesc, 14, &isnull));
			job->tenant_limits.soft_limit_pct = DatumGetInt32(SPI_getbinval(tuple, tupdesc, 15, &isnull));
			job->tenant_limits.hard_cap = DatumGetBool(SPI_getbinval(tuple, tupdesc, 16, &isnull));
			job->tenant_limits.weight = DatumGetInt32(SPI_getbinval(tuple, tupdesc, 17, &isnull));
		}

		d = SPI_getbinval(tuple, tupdesc, 18, &isnull);
		job->est_prompt_tokens = isnull ? job->est_tokens : DatumGetInt64(d);
		d = SPI_getbinval(tuple, tupdesc, 19, &isnull);
		job->charged_prompt_tokens = isnull ? job->est_prompt_tokens : DatumGetInt64(d);
		job->charge_tokens = job->est_tokens;
		job->deferred = DatumGetBool(SPI_getbinval(tuple, tupdesc, 20, &isnull));
		dlist_push_tail(&claimed, &job->node);
	}
	MemoryContextSwitchTo(old);
	return (int) SPI_processed;
}

/*
 * requeue_orphans
 *		Puts back in the queue the jobs claimed by dispatchers that no longer
 *		run.  At start-up this worker's own pid counts as gone, since it
 *		holds nothing yet.
 */
static uint64
requeue_orphans(bool at_startup)
{
	Oid			argtypes[3] = {INT4OID, BOOLOID, INT4OID};
	Datum		args[3];
	int			ret;

	args[0] = Int32GetDatum(MyProcPid);
	args[1] = BoolGetDatum(at_startup);
	args[2] = Int32GetDatum(aigov_max_attempts);

	/*
	 * A lost worker counts as a transient failure of its jobs: a job that
	 * crashes every worker that sends it must not crash them forever.
	 */
	keep_plan(&orphan_plan,
			  "SELECT aigov._requeue_orphans($1, $2, $3)",
			  3, argtypes);
	ret = SPI_execute_plan(orphan_plan, args, NULL, false, 0);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not requeue orphaned jobs: %s", SPI_result_code_string(ret));
	{
		bool		isnull;
		int64		n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
													SPI_tuptable->tupdesc, 1, &isnull));

		if (n > 0)
			ereport(LOG,
					(errmsg("aigov dispatcher requeued " INT64_FORMAT " jobs left in flight by a stopped worker",
							n)));
		return (uint64) n;
	}
}

/*
 * expire_overdue
 *		Expires queued jobs whose deadline passed while they waited.
 */
static void
expire_overdue(void)
{
	int			ret;

	keep_plan(&expire_plan,
			  "SELECT aigov._expire_overdue()",
			  0, NULL);
	ret = SPI_execute_plan(expire_plan, NULL, NULL, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not expire jobs: %s", SPI_result_code_string(ret));
}

/* ---------- sending ---------- */

static void
free_job(AigovJob *job)
{
	AigovDispatchReleaseTransfer(job);
	if (job->tenant_id)
		pfree(job->tenant_id);
	if (job->model)
		pfree(job->model);
	if (job->body)
		pfree(job->body);
	if (job->workload_class)
		pfree(job->workload_class);
	if (job->tenant_group)
		pfree(job->tenant_group);
	if (job->provider)
		pfree(job->provider);
	if (job->key_label)
		pfree(job->key_label);
	pfree(job);
}

/*
 * refund_tenant
 *		Gives the tenant back what a job that will never be sent was
 *		charged.
 */
static void
refund_tenant(AigovJob *job, int64 now_us)
{
	if (job->tenant_shared != NULL && (job->admitted || job->admitted_now))
		AigovTenantRefund(job->tenant_shared, job->est_tokens, now_us);
}

/*
 * plan_job
 *		Decides, inside the cycle transaction, whether a claimed job goes
 *		out now: its deadline, its tenant's buckets (layer 1: a job not yet
 *		charged is charged now, or waits for the moment the buckets allow
 *		it), and a key with headroom (layer 2).  A job that cannot go gets
 *		its completion record instead and is freed.  Returns true if the
 *		job is ready to send.
 */
static bool
plan_job(AigovJob *job, TimestampTz *next_due)
{
	TimestampTz now = GetCurrentTimestamp();
	int64		now_us = to_unix_us(now);
	CachedKey  *key = NULL;
	int64		wait_until;
	int64		key_free_at;
	bool		booked;

	if (job->deadline != 0 && job->deadline < now)
	{
		if (job->admitted && job->tenant_limits.rpm > 0)
		{
			job->tenant_shared = AigovTenantEntryGet(job->tenant_id, &job->tenant_limits);
			refund_tenant(job, now_us);
		}
		complete_without_call(job, "expired", 0, "deadline",
							  "the job's deadline passed before it could be sent");
		free_job(job);
		return false;
	}

	if (job->tenant_limits.rpm > 0)
		job->tenant_shared = AigovTenantEntryGet(job->tenant_id, &job->tenant_limits);
	if (!job->admitted && job->tenant_shared != NULL)
	{
		AigovAdmitResult res;

		switch (AigovTenantAdmit(job->tenant_shared, job->est_tokens, now_us, &res))
		{
			case AIGOV_ADMIT_OK:
				job->admitted_now = true;
				AigovNoteSoftWarnings(job->tenant_id, job->tenant_shared, res.soft_warn);
				break;
			case AIGOV_ADMIT_WAIT:
				{
					/* book its future slot: no herd when the quota refills */
					int64		at = AigovTenantScheduleAhead(job->tenant_shared,
															  job->est_tokens, now_us, &res);

					if (at == 0)
						break;	/* became NEVER: handled below */
					job->admitted_now = true;
					if (job->deadline != 0 && from_unix_us(at) > job->deadline)
					{
						AigovTenantRefund(job->tenant_shared, job->est_tokens, now_us);
						job->admitted_now = false;
						complete_without_call(job, "expired", 0, aigov_admission_axis_name(res.axis),
											  "the tenant's quota allows the job only after its deadline");
					}
					else
					{
						complete_without_call(job, "queued", from_unix_us(at), NULL, NULL);
						*next_due = Min(*next_due, from_unix_us(at));
					}
					free_job(job);
					return false;
				}
			case AIGOV_ADMIT_NEVER:
				complete_without_call(job, "failed", 0, "tenant_quota",
									  psprintf("the job's %lld estimated tokens exceed the %s limit of tenant \"%s\"",
											   (long long) job->est_tokens,
											   aigov_admission_axis_name(res.axis), job->tenant_id));
				free_job(job);
				return false;
		}
	}

	switch (route_job(job, now_us, &key, &wait_until, &key_free_at, &booked))
	{
		case ROUTE_NONE:
			refund_tenant(job, now_us);
			complete_without_call(job, "failed", 0, "no_route",
								  psprintf("no enabled key serves model \"%s\" for workload class \"%s\" with room for %lld tokens",
										   job->model, job->workload_class,
										   (long long) job->est_tokens));
			free_job(job);
			return false;
		case ROUTE_WAIT:
			key_free_at = Min(key_free_at, wait_until);
			route_blocked_until = Min(route_blocked_until, key_free_at);
			if (!booked)
				route_claims_early = true;
			/* a job with a deadline does not wait behind the others' bookings */
			if (job->deadline != 0 && from_unix_us(wait_until) > job->deadline)
				wait_until = key_free_at;
			if (job->deadline != 0 && from_unix_us(wait_until) > job->deadline)
			{
				refund_tenant(job, now_us);
				complete_without_call(job, "expired", 0, "deadline",
									  "every key serving the job is exhausted past its deadline");
			}
			else
			{
				complete_without_call(job, "queued", from_unix_us(wait_until), NULL, NULL);
				*next_due = Min(*next_due, from_unix_us(wait_until));
			}
			free_job(job);
			return false;
		case ROUTE_OK:
			break;
	}
	job->key_shared = key->shared;
	job->route_key = key;
	return true;
}

/*
 * start_job
 *		Translates a planned job's body for its key's provider and puts it
 *		on the wire.  Runs after the claim committed.
 */
static void
start_job(AigovJob *job)
{
	CachedKey  *key = (CachedKey *) job->route_key;
	char		url[1024];
	char	   *auth;
	const char *extra = NULL;
	MemoryContext old;

	old = MemoryContextSwitchTo(jobs_cxt);
	job->key_id = key->key_id;
	job->provider = pstrdup(key->provider);
	job->key_label = pstrdup(key->label);
	job->style = key->style;
	MemoryContextSwitchTo(old);

	if (key->style == AIGOV_API_OPENAI)
	{
		job->request_body = job->body;
		job->request_body_owned = false;
		snprintf(url, sizeof(url), "%s/v1/chat/completions", key->base_url);
	}
	else
	{
		AigovTranslateOptions opts;
		AigovTranslatedRequest tr;
		AigovTranslateStatus ts;

		memset(&opts, 0, sizeof(opts));
		memset(&tr, 0, sizeof(tr));
		opts.default_max_tokens = aigov_default_max_tokens;
		opts.allow_degraded = false;
		ts = aigov_translate_request(key->style, job->body, strlen(job->body),
									 NULL, &opts, &tr);
		if (ts != AIGOV_TRANSLATE_OK)
		{
			SpinLockAcquire(&job->key_shared->mutex);
			aigov_router_release(&job->key_shared->state, &job->ticket, true,
								 to_unix_us(GetCurrentTimestamp()));
			SpinLockRelease(&job->key_shared->mutex);
			complete_without_call(job, "failed", 0, "unsupported",
								  psprintf("the request cannot be sent to provider \"%s\": %s",
										   key->provider,
										   tr.detail[0] ? tr.detail : aigov_translate_status_name(ts)));
			aigov_translate_request_free(&tr);
			free_job(job);
			return;
		}
		job->request_body = tr.body;
		job->request_body_owned = true;
		tr.body = NULL;
		snprintf(url, sizeof(url), "%s%s", key->base_url, tr.path);
		aigov_translate_request_free(&tr);
	}

	switch (key->style)
	{
		case AIGOV_API_ANTHROPIC:
			auth = psprintf("x-api-key: %s", key->secret);
			extra = "anthropic-version: 2023-06-01";
			break;
		case AIGOV_API_GEMINI:
			auth = psprintf("x-goog-api-key: %s", key->secret);
			break;
		default:
			auth = psprintf("Authorization: Bearer %s", key->secret);
			break;
	}
	AigovDispatchSend(job, url, auth, extra);
	/* curl copied the header; do not leave the secret lying around */
	explicit_bzero(auth, strlen(auth));
	pfree(auth);
}

/* ---------- the main loop ---------- */

/*
 * extension_installed
 *		Whether aigov exists in this database yet.
 */
static bool
extension_installed(void)
{
	bool		installed;

	begin_xact("aigov: checking for the extension");
	if (SPI_execute("SELECT 1 FROM pg_catalog.pg_extension"
					" WHERE extname OPERATOR(pg_catalog.=) 'aigov'", true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read pg_extension");
	installed = SPI_processed > 0;
	end_xact();
	return installed;
}

static void
register_slot(void)
{
	AigovWorkerSlot *slot = &AigovState->slots[worker_index];

	LWLockAcquire(AigovState->lock, LW_EXCLUSIVE);
	slot->pid = MyProcPid;
	slot->latch = MyLatch;
	pg_atomic_write_u64(&slot->in_flight, 0);
	pg_atomic_write_u64(&slot->claimed, 0);
	pg_atomic_write_u64(&slot->completed, 0);
	pg_atomic_write_u64(&slot->config_reloads, 0);
	LWLockRelease(AigovState->lock);
}

#define MY_SLOT (&AigovState->slots[worker_index])

static void
unregister_slot(int code, Datum arg)
{
	if (AigovState == NULL)
		return;
	LWLockAcquire(AigovState->lock, LW_EXCLUSIVE);
	if (AigovState->slots[worker_index].pid == MyProcPid)
	{
		AigovState->slots[worker_index].pid = 0;
		AigovState->slots[worker_index].latch = NULL;
	}
	LWLockRelease(AigovState->lock);
}

/*
 * AigovWorkerMain
 *		Entry point of a dispatcher worker.
 */
void
AigovWorkerMain(Datum main_arg)
{
	dlist_head	done;
	TimestampTz next_poll = 0;
	TimestampTz next_orphan_check = 0;
	TimestampTz next_expiry = 0;
	TimestampTz drain_until = 0;
	bool		work_maybe = true;
	bool		draining = false;

	worker_index = DatumGetInt32(main_arg);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();

	if (AigovState == NULL)
		elog(ERROR, "aigov shared memory is not initialized");
	register_slot();
	before_shmem_exit(unregister_slot, (Datum) 0);

	BackgroundWorkerInitializeConnection(aigov_database, NULL, 0);
	pgstat_report_appname("aigov dispatcher");
	srandom((unsigned int) (MyProcPid ^ GetCurrentTimestamp()));

	jobs_cxt = AllocSetContextCreate(TopMemoryContext, "aigov dispatch jobs",
									 ALLOCSET_DEFAULT_SIZES);
	completions_cxt = AllocSetContextCreate(TopMemoryContext, "aigov dispatch cycle",
											ALLOCSET_DEFAULT_SIZES);

	/* Wait for the extension to be created in the served database. */
	while (!extension_installed())
	{
		ereport(DEBUG1, (errmsg("aigov is not installed in database \"%s\" yet",
								aigov_database)));
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 1000, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ShutdownRequestPending)
			proc_exit(1);
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
	}

	AigovDispatchStart();
	dlist_init(&done);

	/* Read the generation before the snapshot, so no change falls between. */
	seen_config_generation = pg_atomic_read_u64(&AigovState->config_generation);
	begin_xact("aigov: starting");
	requeue_orphans(true);
	load_config();
	end_xact();
	next_orphan_check = GetCurrentTimestamp() + (int64) aigov_orphan_check_ms * 1000;

	for (;;)
	{
		TimestampTz now;
		TimestampTz next_due = DT_NOEND;
		int			free_slots;
		int			threshold;
		bool		want_claim;
		bool		flush_due;
		bool		need_reload;
		bool		sweep_orphans;
		bool		sweep_expired;
		long		timeout;
		uint64		gen;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			AigovDispatchApplySettings();
			pg_atomic_fetch_add_u64(&MY_SLOT->config_reloads, 1);
		}

		now = GetCurrentTimestamp();

		/* Classify what finished on the wire. */
		while (!dlist_is_empty(&done))
		{
			AigovJob   *job = dlist_container(AigovJob, node, dlist_pop_head_node(&done));

			finish_job(job, &next_due);
			free_job(job);
			pg_atomic_fetch_add_u64(&MY_SLOT->completed, 1);
		}

		gen = pg_atomic_read_u64(&AigovState->enqueue_generation);
		if (gen != seen_enqueue_generation)
		{
			seen_enqueue_generation = gen;
			work_maybe = true;
		}
		gen = pg_atomic_read_u64(&AigovState->config_generation);
		need_reload = (gen != seen_config_generation);
		if (now >= next_poll)
		{
			/* the deadline is spent: the next one is set anew */
			work_maybe = true;
			next_poll = now + (int64) aigov_idle_poll_ms * 1000;
		}

		if (ShutdownRequestPending && !draining)
		{
			draining = true;
			drain_until = now + (int64) aigov_shutdown_grace_ms * 1000;
		}
		if (draining && now >= drain_until && AigovDispatchInFlight() > 0)
		{
			dlist_head	aborted;

			/* Out of time: put what is still on the wire back in the queue. */
			dlist_init(&aborted);
			AigovDispatchAbortAll(&aborted);
			while (!dlist_is_empty(&aborted))
			{
				AigovJob   *job = dlist_container(AigovJob, node, dlist_pop_head_node(&aborted));

				if (job->key_shared != NULL)
				{
					SpinLockAcquire(&job->key_shared->mutex);
					aigov_router_release(&job->key_shared->state, &job->ticket, false,
										 to_unix_us(now));
					SpinLockRelease(&job->key_shared->mutex);
				}
				complete_without_call(job, "queued", 0, NULL, NULL);
				free_job(job);
			}
		}

		free_slots = aigov_max_in_flight - AigovDispatchInFlight();
		threshold = Max(1, Min(aigov_claim_batch, aigov_max_in_flight / 8));
		want_claim = !draining && work_maybe && free_slots >= threshold;
		flush_due = completions != NIL &&
			(list_length(completions) >= aigov_claim_batch ||
			 now >= oldest_completion + (int64) aigov_flush_interval_ms * 1000 ||
			 AigovDispatchInFlight() == 0 || want_claim || draining);
		sweep_orphans = now >= next_orphan_check;
		/* reload now and then too: a restore loads config with triggers off */
		if (sweep_orphans)
			need_reload = true;
		sweep_expired = worker_index == 0 && now >= next_expiry;

		if (flush_due || want_claim || need_reload || sweep_orphans ||
			sweep_expired || key_actions != NIL)
		{
			int			asked = Min(Min(aigov_claim_batch, claim_limit), free_slots);
			int			got = 0;

			begin_xact("aigov: dispatch cycle");
			if (key_actions != NIL)
				apply_key_actions();
			key_actions = NIL;
			if (completions != NIL)
				write_completions();
			if (need_reload)
			{
				seen_config_generation = gen;
				load_config();
			}
			if (sweep_orphans)
			{
				requeue_orphans(false);
				next_orphan_check = now + (int64) aigov_orphan_check_ms * 1000;
			}
			if (sweep_expired)
			{
				expire_overdue();
				next_expiry = now + USECS_PER_SEC;
			}
			if (want_claim)
				got = claim_jobs(asked);

			/* Admission and routing, still inside the transaction. */
			route_blocked_until = INT64_MAX;
			route_claims_early = false;
			{
				dlist_mutable_iter iter;

				dlist_foreach_modify(iter, &claimed)
				{
					AigovJob   *job = dlist_container(AigovJob, node, iter.cur);

					dlist_delete(&job->node);
					if (plan_job(job, &next_due))
						dlist_push_tail(&ready, &job->node);
				}
			}
			/* jobs that cannot go now return to the queue in this same transaction */
			if (completions != NIL)
				write_completions();
			end_xact();
			pg_atomic_fetch_add_u64(&MY_SLOT->claimed, got);

			if (want_claim && got < asked)
			{
				work_maybe = false;
				next_poll = now + (int64) aigov_idle_poll_ms * 1000;
			}

			/*
			 * Nothing went out and jobs that could not be booked out of the
			 * way found no key: claiming more before a key frees up would
			 * only churn the queue.  (Jobs booked a slot moved out of the
			 * way: the next claim goes on down the queue.)
			 */
			if (got > 0 && dlist_is_empty(&ready) && route_blocked_until < INT64_MAX &&
				route_claims_early)
			{
				work_maybe = false;
				next_poll = Min(next_poll, Max(from_unix_us(route_blocked_until), now));
			}
			if (got > 0)
			{
				int			sent = 0;
				dlist_iter	it;

				dlist_foreach(it, &ready)
					sent++;
				if (route_claims_early)
					claim_limit = Max(1, sent);
				else
					claim_limit = claim_limit >= aigov_claim_batch / 2 ? INT_MAX : claim_limit * 2;
			}

			/* Only now, with the claim committed, do jobs go on the wire. */
			while (!dlist_is_empty(&ready))
			{
				AigovJob   *job = dlist_container(AigovJob, node, dlist_pop_head_node(&ready));

				start_job(job);
			}
		}

		if (draining && AigovDispatchInFlight() == 0 && completions == NIL)
			break;

		if (next_due < next_poll)
			next_poll = Max(next_due, now);

		/* Sleep until something needs doing. */
		now = GetCurrentTimestamp();
		if (completions != NIL)
			timeout = Max(0, (oldest_completion + (int64) aigov_flush_interval_ms * 1000 - now) / 1000);
		else if (work_maybe && !draining &&
				 aigov_max_in_flight - AigovDispatchInFlight() >= threshold)
			timeout = 0;
		else
			timeout = Max(0, (Min(next_poll, next_orphan_check) - now + 999) / 1000);
		if (draining)
			timeout = Min(timeout, 10);

		pg_atomic_write_u64(&MY_SLOT->in_flight, AigovDispatchInFlight());
		AigovDispatchWait(timeout, &done);
	}

	AigovDispatchStop();
	ereport(LOG, (errmsg("aigov dispatcher %d stopped", worker_index)));
	/* exit code 1: the postmaster restarts a worker stopped on its own */
	proc_exit(1);
}
