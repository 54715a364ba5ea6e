/*-------------------------------------------------------------------------
 * throttle_gate.c
 *	  The adaptive throttle (layer 3) in shared memory: one controller
 *	  (throttle.c) per provider, the GUC aigov.throttle_start_pct, and the
 *	  gate the planner asks before it routes a job.
 *
 * The gate sums the minute buckets of the job's candidate keys (the
 * provider's pool for its model, as the planner just saw them), steps the
 * provider's controller with that load and asks it whether a job of the
 * job's workload class may be released now; once the job is reserved on
 * a key, AigovThrottleCharge moves its class's pacer on.  A job held back
 * goes back to the queue with a retry time; it is not a failure and not a
 * provider 429.
 * The controller remembers the keys of the last pool it saw, so the views
 * can bring its state up to the present from the keys' live buckets.
 *
 * The table is a fixed array of AIGOV_THROTTLE_MAX_PROVIDERS entries,
 * found by a linear scan (a handful of providers); its shape is guarded by
 * the last LWLock of aigov's tranche, an entry's controller by its
 * spinlock, held for one pure call.  Entries are never removed while the
 * server runs.  A provider beyond the table, or with a name longer than
 * AIGOV_THROTTLE_PROVIDER_MAX bytes, is not throttled.
 *
 * Lock order: the table's LWLock, then one entry's spinlock; no key lock
 * while either is held (the gate is given the keys' snapshots).
 *
 * IDENTIFICATION
 *	  src/throttle_gate.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/guc.h"

#include "router.h"
#include "throttle_gate.h"

#define AIGOV_THROTTLE_MAX_PROVIDERS	64
/* Index of the table's lock in aigov's LWLock tranche (src/shmem.c). */
#define AIGOV_THROTTLE_LOCK_INDEX		5

typedef struct ThrottleEntry
{
	char		provider[AIGOV_THROTTLE_PROVIDER_MAX + 1];	/* "" = free */
	slock_t		mutex;			/* guards everything below */
	AigovThrottle th;
	int			nkeys;
	int64		key_id[AIGOV_THROTTLE_MAX_KEYS];
} ThrottleEntry;

typedef struct ThrottleTable
{
	int			n;				/* entries in use, under the LWLock */
	ThrottleEntry entry[FLEXIBLE_ARRAY_MEMBER];
} ThrottleTable;

int			aigov_throttle_start_pct = AIGOV_THROTTLE_DEFAULT_KNEE_PCT;

static ThrottleTable *table = NULL;
static LWLock *table_lock = NULL;

void
AigovThrottleDefineGucs(void)
{
	DefineCustomIntVariable("aigov.throttle_start_pct",
							"Sets the aggregate utilisation of a provider's keys above which aigov slows the release of batch, then background jobs.",
							"100 turns the provider throttle off.",
							&aigov_throttle_start_pct,
							AIGOV_THROTTLE_DEFAULT_KNEE_PCT, 1, 100,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
}

Size
AigovThrottleShmemSize(void)
{
	return add_size(offsetof(ThrottleTable, entry),
					mul_size(sizeof(ThrottleEntry), AIGOV_THROTTLE_MAX_PROVIDERS));
}

/*
 * AigovThrottleShmemInit
 *		Attaches to (or creates) the table; called from the shmem startup
 *		hook with AddinShmemInitLock held.
 */
void
AigovThrottleShmemInit(void)
{
	bool		found;

	table_lock = &(GetNamedLWLockTranche("aigov"))[AIGOV_THROTTLE_LOCK_INDEX].lock;
	table = ShmemInitStruct("aigov throttles", AigovThrottleShmemSize(), &found);
	if (!found)
		memset(table, 0, AigovThrottleShmemSize());
}

static ThrottleEntry *
scan(const char *provider)
{
	for (int i = 0; i < table->n; i++)
		if (strcmp(table->entry[i].provider, provider) == 0)
			return &table->entry[i];
	return NULL;
}

/*
 * find_or_add
 *		The provider's entry, created on first use; NULL when the table is
 *		full (that provider is then not throttled).
 */
static ThrottleEntry *
find_or_add(const char *provider)
{
	ThrottleEntry *e;

	LWLockAcquire(table_lock, LW_SHARED);
	e = scan(provider);
	LWLockRelease(table_lock);
	if (e != NULL)
		return e;

	LWLockAcquire(table_lock, LW_EXCLUSIVE);
	e = scan(provider);
	if (e == NULL && table->n < AIGOV_THROTTLE_MAX_PROVIDERS)
	{
		e = &table->entry[table->n];
		SpinLockInit(&e->mutex);
		aigov_throttle_init(&e->th, aigov_throttle_start_pct);
		e->nkeys = 0;
		strlcpy(e->provider, provider, sizeof(e->provider));
		table->n++;
	}
	LWLockRelease(table_lock);
	return e;
}

/*
 * AigovThrottleGate
 *		May a job of workload_class costing charge_tokens be released now
 *		to the provider of these candidate keys (all of one provider, as
 *		the planner gathered them)?  False with *not_before_us when the
 *		provider's throttle holds it back.  A job whose retry time would
 *		be past latest_us (its deadline) is released: the throttle shapes
 *		traffic, it does not expire jobs.
 */
bool
AigovThrottleGate(AigovCachedKey *const *keys, const AigovKeyState *states,
				  int n, const char *workload_class, int64 charge_tokens,
				  int64 latest_us, int64 now_us, int64 *not_before_us)
{
	const char *provider;
	ThrottleEntry *e;
	AigovThrottleLoad load;
	AigovThrottleStatus st;

	*not_before_us = now_us;
	if (n <= 0 || table == NULL || aigov_throttle_start_pct >= 100)
		return true;
	provider = keys[0]->provider;
	if (strlen(provider) > AIGOV_THROTTLE_PROVIDER_MAX ||
		(e = find_or_add(provider)) == NULL)
		return true;

	aigov_throttle_load_init(&load);
	for (int i = 0; i < n; i++)
		if (strcmp(keys[i]->provider, provider) == 0)
			aigov_router_add_load(&states[i], now_us, &load);

	SpinLockAcquire(&e->mutex);
	aigov_throttle_set_knee(&e->th, aigov_throttle_start_pct);
	st = aigov_throttle_admit(&e->th, &load,
							  aigov_throttle_class(workload_class),
							  charge_tokens, now_us, not_before_us);
	e->nkeys = 0;
	for (int i = 0; i < n && e->nkeys < AIGOV_THROTTLE_MAX_KEYS; i++)
		if (strcmp(keys[i]->provider, provider) == 0)
			e->key_id[e->nkeys++] = keys[i]->key_id;
	SpinLockRelease(&e->mutex);

	return st == AIGOV_THROTTLE_OK || *not_before_us > latest_us;
}

/*
 * AigovThrottleCharge
 *		A job the gate let through was reserved on a key of `provider`:
 *		charge it to its class's pacer.  A job that found no key after the
 *		gate is not charged, so it does not hold back the next one.
 */
void
AigovThrottleCharge(const char *provider, const char *workload_class,
					int64 charge_tokens, int64 now_us)
{
	ThrottleEntry *e;

	if (table == NULL || aigov_throttle_start_pct >= 100 ||
		strlen(provider) > AIGOV_THROTTLE_PROVIDER_MAX)
		return;
	LWLockAcquire(table_lock, LW_SHARED);
	e = scan(provider);
	LWLockRelease(table_lock);
	if (e == NULL)
		return;
	SpinLockAcquire(&e->mutex);
	aigov_throttle_charge(&e->th, aigov_throttle_class(workload_class),
						  charge_tokens, now_us);
	SpinLockRelease(&e->mutex);
}

/*
 * AigovThrottleCopyAll
 *		Copies every provider's controller into a palloc'd array and steps
 *		each copy with the live load of the keys it remembers (from `keys`,
 *		the caller's copies of the key table), so the figures are those of
 *		now even when no job asked lately.  Changes nothing in shared
 *		memory.  Returns how many.
 */
int
AigovThrottleCopyAll(const AigovKeyCopy *keys, int nkeys, int64 now_us,
					 AigovThrottleCopy **out)
{
	AigovThrottleCopy *copies;
	int			n;

	if (table == NULL)
	{
		*out = palloc(sizeof(AigovThrottleCopy));
		return 0;
	}
	LWLockAcquire(table_lock, LW_SHARED);
	n = table->n;
	copies = palloc(sizeof(AigovThrottleCopy) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		ThrottleEntry *e = &table->entry[i];

		strlcpy(copies[i].provider, e->provider, sizeof(copies[i].provider));
		SpinLockAcquire(&e->mutex);
		copies[i].th = e->th;
		copies[i].nkeys = e->nkeys;
		memcpy(copies[i].key_id, e->key_id, sizeof(int64) * e->nkeys);
		SpinLockRelease(&e->mutex);
	}
	LWLockRelease(table_lock);

	for (int i = 0; i < n; i++)
	{
		AigovThrottleLoad load;

		aigov_throttle_load_init(&load);
		for (int k = 0; k < nkeys; k++)
			for (int j = 0; j < copies[i].nkeys; j++)
				if (keys[k].key_id == copies[i].key_id[j])
					aigov_router_add_load(&keys[k].state, now_us, &load);
		aigov_throttle_set_knee(&copies[i].th, aigov_throttle_start_pct);
		aigov_throttle_update(&copies[i].th, &load, now_us);
		if (aigov_throttle_start_pct >= 100)
			copies[i].th.engaged = false;	/* switched off */
	}
	*out = copies;
	return n;
}

/*
 * AigovThrottleFindKey
 *		The copy whose pool holds key_id; NULL if none does.
 */
const AigovThrottleCopy *
AigovThrottleFindKey(const AigovThrottleCopy *copies, int n, int64 key_id)
{
	for (int i = 0; i < n; i++)
		for (int j = 0; j < copies[i].nkeys; j++)
			if (copies[i].key_id[j] == key_id)
				return &copies[i];
	return NULL;
}
