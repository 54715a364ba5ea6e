/*-------------------------------------------------------------------------
 * fairq.c
 *	  Start-time fair queuing state in shared memory: the virtual clock V
 *	  of each key pool (a model), and the last finish tag of each tenant
 *	  in each pool; the glue between PostgreSQL and the pure tags of
 *	  sfq.c.
 *
 * The enqueue trigger asks for a job's start tag (AigovFairTag), which it
 * stores in aigov.requests.vstart; the claim reads each pool's queue in
 * that order, and the worker that claimed a job advances its pool's V to
 * the job's tag (AigovFairAdvance).  See docs/scheduling.md.
 *
 * Each workload class of a pool has a clock and tenants of its own, and
 * its tags lie in a range of their own (wclass.h), so that a claim reads
 * one class of a pool as one range of requests_queued_idx.  Across the
 * classes, a pool's class entry keeps the state of wclass.c that gives
 * each class its minimum share of the claims (AigovFairClassPlan, charged
 * by AigovFairAdvance and AigovFairSettle).
 *
 * One shared hash table holds every kind of entry, keyed by (pool, class,
 * tenant); a class clock's entry has an empty tenant, and the pool's class
 * entry the class AIGOV_NCLASSES.  The table's shape is
 * guarded by one LWLock; an entry's value by its spinlock, held for one
 * pure call.  Entries are never removed while the server runs.
 *
 * Shared memory does not survive a restart, so the first use of a pool
 * rebuilds it from the queue: V is the smallest start tag among its queued
 * jobs, and each tenant's last finish tag the largest finish tag among its
 * queued jobs.  A job in flight at the restart keeps its tag when it is
 * requeued.
 *
 * Lock order: the table's LWLock, then one entry's spinlock; never two
 * spinlocks at once, and no SPI call while either is held.
 *
 * IDENTIFICATION
 *	  src/fairq.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"

#include "classshares.h"
#include "fairq.h"
#include "quota.h"
#include "roles.h"
#include "sfq.h"
#include "shmem.h"
#include "wclass.h"

/* The class of a pool's entry for the state across its classes. */
#define POOL_CLASSES_ENTRY AIGOV_NCLASSES

typedef struct AigovFairKey
{
	char		pool[AIGOV_POOL_NAME_MAX];
	int32		wclass;			/* workload class, or POOL_CLASSES_ENTRY */
	char		tenant_id[AIGOV_TENANT_ID_MAX]; /* "" for the class's clock */
} AigovFairKey;

typedef struct AigovFairEntry
{
	AigovFairKey key;			/* hash key */
	slock_t		mutex;
	int64		value;			/* V, or the tenant's last finish tag */
	AigovClassState classes;	/* in the pool's class entry only */
} AigovFairEntry;

/* A tenant's state rebuilt from the queue. */
typedef struct RebuiltTenant
{
	char	   *tenant_id;
	int64		last_finish;
} RebuiltTenant;

static HTAB *fair_table = NULL;
static LWLock *fair_lock = NULL;

/*
 * The pool whose claimed jobs this backend is charging, and the smallest
 * class start among them (AigovFairAdvance, AigovFairSettle).
 */
static AigovFairEntry *charging = NULL;
static int64 charging_min = INT64_MAX;

/*
 * Room for two pools per tenant and a pool per key, in each class, and a
 * class entry per pool.
 */
static long
fair_entries(void)
{
	return (long) AIGOV_NCLASSES * (2L * aigov_max_tenants + aigov_max_keys) +
		aigov_max_keys;
}

Size
AigovFairShmemSize(void)
{
	return hash_estimate_size(fair_entries(), sizeof(AigovFairEntry));
}

/*
 * AigovFairShmemInit
 *		Attaches the shared hash table; called from the shmem startup hook
 *		with AddinShmemInitLock held.
 */
void
AigovFairShmemInit(void)
{
	HASHCTL		info;
	LWLockPadded *locks = GetNamedLWLockTranche("aigov");

	/* locks 0 to 2 belong to shmem.c and quota.c */
	fair_lock = &locks[3].lock;
	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(AigovFairKey);
	info.entrysize = sizeof(AigovFairEntry);
	fair_table = ShmemInitHash("aigov fair queues", fair_entries(),
							   fair_entries(), &info, HASH_ELEM | HASH_BLOBS);
}

static void
make_key(AigovFairKey *key, const char *model, int wclass,
		 const char *tenant_id)
{
	memset(key, 0, sizeof(*key));
	strlcpy(key->pool, model, sizeof(key->pool));
	key->wclass = wclass;
	if (tenant_id != NULL)
	{
		if (strlen(tenant_id) >= sizeof(key->tenant_id))
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("tenant id of %zu bytes is longer than %d bytes",
							strlen(tenant_id), (int) sizeof(key->tenant_id) - 1),
					 errhint("Give the tenant a shorter id; aigov.tenants allows 200 bytes.")));
		strlcpy(key->tenant_id, tenant_id, sizeof(key->tenant_id));
	}
}

/*
 * enter
 *		Finds or creates an entry with the given initial value.  Caller
 *		holds the table's LWLock exclusively.  A full table is an error.
 */
static AigovFairEntry *
enter(const AigovFairKey *key, int64 initial, bool *found)
{
	AigovFairEntry *entry = hash_search(fair_table, key, HASH_ENTER_NULL, found);

	if (entry == NULL)
	{
		LWLockRelease(fair_lock);
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("too many tenant queues for aigov's shared memory"),
				 errdetail("Fair queuing keeps an entry per key pool and per tenant using it."),
				 errhint("Raise \"aigov.max_tenants\" and restart the server.")));
	}
	if (!*found)
	{
		SpinLockInit(&entry->mutex);
		entry->value = initial;
		memset(&entry->classes, 0, sizeof(entry->classes));
	}
	return entry;
}

/*
 * read_queue
 *		A class of the pool as its queued jobs say: returns the smallest
 *		start tag (the class's first tag with no queued job) and fills the tenants' last finish tags,
 *		palloc'd in the caller's context.  A job's span is computed with its
 *		tenant's weight of now.  Runs as the extension's owner, whom the
 *		queue's row-level security does not filter.
 */
static int64
read_queue(const char *model, int wclass, RebuiltTenant **tenants,
		   int *ntenants)
{
	Oid			argtypes[3] = {TEXTOID, INT8OID, INT8OID};
	Datum		args[3];
	AigovUserSwitch saved;
	MemoryContext caller = CurrentMemoryContext;
	int64		vmin = INT64_MAX;
	int			ret;

	args[0] = CStringGetTextDatum(model);
	args[1] = Int64GetDatum(aigov_class_tag_base(wclass));
	args[2] = Int64GetDatum(aigov_class_tag_base(wclass) +
							(AIGOV_CLASS_TAG_SPAN - 1));
	AigovBecomeOwner(&saved);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "could not connect to SPI");
	ret = SPI_execute_with_args("SELECT q.tenant_id, pg_catalog.min(q.vstart),"
								" pg_catalog.max(q.vstart OPERATOR(pg_catalog.+)"
								"  (GREATEST(q.est_tokens, 0) OPERATOR(pg_catalog.*) 1000000"
								"   OPERATOR(pg_catalog.+) w.w OPERATOR(pg_catalog.-) 1)"
								"  OPERATOR(pg_catalog./) w.w)"
								" FROM aigov.requests q"
								" LEFT JOIN aigov.tenants t ON t.tenant_id OPERATOR(pg_catalog.=) q.tenant_id"
								" LEFT JOIN aigov.tiers tr ON tr.tier OPERATOR(pg_catalog.=) t.tier,"
								" LATERAL (SELECT GREATEST(COALESCE(tr.weight, 1), 1)::pg_catalog.int8 AS w) w"
								" WHERE q.state OPERATOR(pg_catalog.=) 'queued'"
								" AND q.model OPERATOR(pg_catalog.=) $1"
								" AND q.vstart OPERATOR(pg_catalog.>=) $2"
								" AND q.vstart OPERATOR(pg_catalog.<=) $3"
								" GROUP BY q.tenant_id",
								3, argtypes, args, NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read the queue of model \"%s\": %s",
			 model, SPI_result_code_string(ret));
	*ntenants = (int) SPI_processed;
	*tenants = MemoryContextAllocZero(caller, sizeof(RebuiltTenant) * Max(1, SPI_processed));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	tupdesc = SPI_tuptable->tupdesc;
		bool		isnull;
		int64		first;

		(*tenants)[i].tenant_id =
			MemoryContextStrdup(caller, TextDatumGetCString(SPI_getbinval(tuple, tupdesc, 1, &isnull)));
		first = DatumGetInt64(SPI_getbinval(tuple, tupdesc, 2, &isnull));
		vmin = Min(vmin, first);
		(*tenants)[i].last_finish = DatumGetInt64(SPI_getbinval(tuple, tupdesc, 3, &isnull));
	}
	SPI_finish();
	AigovRestoreUser(&saved);
	return vmin == INT64_MAX ? aigov_class_tag_base(wclass) : vmin;
}

/*
 * pool_entry
 *		The clock entry of a class of the pool; the first use since the
 *		server started rebuilds it from the queue (see the file's banner).
 */
static AigovFairEntry *
pool_entry(const char *model, int wclass)
{
	AigovFairKey key;
	AigovFairEntry *entry;
	RebuiltTenant *tenants;
	int			ntenants;
	int64		vmin;
	bool		found;

	AigovShmemCheckAttached();
	make_key(&key, model, wclass, NULL);
	LWLockAcquire(fair_lock, LW_SHARED);
	entry = hash_search(fair_table, &key, HASH_FIND, NULL);
	LWLockRelease(fair_lock);
	if (entry != NULL)
		return entry;

	vmin = read_queue(model, wclass, &tenants, &ntenants);
	LWLockAcquire(fair_lock, LW_EXCLUSIVE);
	entry = enter(&key, vmin, &found);
	if (!found)
	{
		for (int i = 0; i < ntenants; i++)
		{
			AigovFairKey tkey;
			AigovFairEntry *t;
			bool		tfound;

			if (strlen(tenants[i].tenant_id) >= sizeof(tkey.tenant_id))
				continue;		/* never enqueued: make_key refuses it */
			make_key(&tkey, model, wclass, tenants[i].tenant_id);
			t = enter(&tkey, tenants[i].last_finish, &tfound);
			if (tfound && t->value < tenants[i].last_finish)
				t->value = tenants[i].last_finish;
		}
	}
	LWLockRelease(fair_lock);
	return entry;
}

/*
 * AigovFairTag
 *		The virtual start tag of a job of `cost` (estimated tokens) that a
 *		tenant of tier weight `weight` enqueues for `model`'s key pool in a
 *		workload class; the tenant's last finish tag in the class moves past
 *		it.  Runs inside a transaction (the first use of a pool's class
 *		reads the queue through SPI).
 */
int64
AigovFairTag(const char *model, const char *workload_class,
			 const char *tenant_id, int64 cost, int32 weight)
{
	int			wclass = Max(aigov_class_index(workload_class), 0);
	int64		last = aigov_class_tag_base(wclass) + (AIGOV_CLASS_TAG_SPAN - 1);
	AigovFairEntry *pool = pool_entry(model, wclass);
	AigovFairEntry *tenant;
	AigovFairKey key;
	AigovSfqTag tag;
	int64		vtime;
	bool		found;

	make_key(&key, model, wclass, tenant_id);
	LWLockAcquire(fair_lock, LW_SHARED);
	tenant = hash_search(fair_table, &key, HASH_FIND, NULL);
	LWLockRelease(fair_lock);
	if (tenant == NULL)
	{
		/* an idle tenant starts at V: 0 is never past it */
		LWLockAcquire(fair_lock, LW_EXCLUSIVE);
		tenant = enter(&key, 0, &found);
		LWLockRelease(fair_lock);
	}

	SpinLockAcquire(&pool->mutex);
	vtime = pool->value;
	SpinLockRelease(&pool->mutex);

	SpinLockAcquire(&tenant->mutex);
	tag = aigov_sfq_tag(vtime, &tenant->value, cost, weight);
	SpinLockRelease(&tenant->mutex);

	/* a tag never leaves its class's range (see docs/scheduling.md) */
	return Min(tag.start, last);
}

/*
 * classes_entry
 *		The pool's entry for the state across its classes, made empty on
 *		its first use.
 */
static AigovFairEntry *
classes_entry(const char *model)
{
	AigovFairKey key;
	AigovFairEntry *entry;
	bool		found;

	AigovShmemCheckAttached();
	make_key(&key, model, POOL_CLASSES_ENTRY, NULL);
	LWLockAcquire(fair_lock, LW_SHARED);
	entry = hash_search(fair_table, &key, HASH_FIND, NULL);
	LWLockRelease(fair_lock);
	if (entry == NULL)
	{
		LWLockAcquire(fair_lock, LW_EXCLUSIVE);
		entry = enter(&key, 0, &found);
		LWLockRelease(fair_lock);
	}
	return entry;
}

/*
 * AigovFairSettle
 *		Ends the charging of one pool's claimed jobs: the pool's clock
 *		across classes moves to the smallest class start among them.  Call
 *		after the last job of a claim; AigovFairAdvance calls it when the
 *		pool changes.
 */
void
AigovFairSettle(void)
{
	if (charging == NULL)
		return;
	SpinLockAcquire(&charging->mutex);
	aigov_class_settle(&charging->classes, charging_min);
	SpinLockRelease(&charging->mutex);
	charging = NULL;
	charging_min = INT64_MAX;
}

/*
 * AigovFairAdvance
 *		Moves the clock of the job's class in its pool to the start tag of
 *		the job just claimed (never backwards), and charges the job's cost
 *		to its class's share of the pool.  Runs inside the claim's
 *		transaction; the claim calls AigovFairSettle after its last job.
 */
void
AigovFairAdvance(const char *model, int64 claimed_start, int64 cost)
{
	int			wclass = aigov_class_of_tag(claimed_start);
	AigovFairEntry *pool;
	AigovFairEntry *classes;
	int32		shares[AIGOV_NCLASSES];
	int64		start;

	if (model == NULL)
		return;
	pool = pool_entry(model, wclass);
	SpinLockAcquire(&pool->mutex);
	pool->value = aigov_sfq_advance(pool->value, claimed_start);
	SpinLockRelease(&pool->mutex);

	classes = classes_entry(model);
	if (classes != charging)
		AigovFairSettle();
	charging = classes;
	AigovClassSharesGet(shares);
	SpinLockAcquire(&classes->mutex);
	start = aigov_class_charge(&classes->classes, shares, wclass, cost);
	SpinLockRelease(&classes->mutex);
	charging_min = Min(charging_min, start);
}

/*
 * AigovFairClassPlan
 *		How many of n jobs a claim asks of each class of the pool, and in
 *		which order (wclass.c), under aigov.class_shares.
 */
void
AigovFairClassPlan(const char *model, int n, AigovClassPlan *plan)
{
	AigovFairEntry *classes = classes_entry(model);
	AigovClassState state;
	int32		shares[AIGOV_NCLASSES];

	SpinLockAcquire(&classes->mutex);
	state = classes->classes;
	SpinLockRelease(&classes->mutex);
	AigovClassSharesGet(shares);
	aigov_class_split(&state, shares, n, plan);
}
