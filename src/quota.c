/*-------------------------------------------------------------------------
 * quota.c
 *	  Tenant buckets and key states in shared memory: the glue between
 *	  PostgreSQL and the pure quota arithmetic (admission.c, router.c,
 *	  breaker.c).
 *
 * Both tables are shared hash tables whose shape is guarded by one LWLock
 * each; an entry's state is guarded by its own spinlock, held only for the
 * few instructions of one pure call.  Entries are created on first use and
 * never removed while the server runs, so a pointer to one stays valid.
 *
 * The configuration tables are the source of truth: an entry whose
 * config_generation is older than the current one is reconfigured from
 * the limits its caller read under a fresher snapshot.  After a restart a
 * tenant's daily bucket is rebuilt from aigov.attempts and
 * aigov.attempts_history (where the retention pass moves them), so a
 * restart does not hand out a second day's worth of tokens.
 *
 * Lock order: tenant table lock, then an entry's spinlock (never two
 * spinlocks at once); likewise for keys.  No SPI call while a lock is held.
 * Every spinlock of a tenant or key entry is taken in this file alone: the
 * rest of aigov reaches an entry's state through the functions below, each
 * one locked section around one pure call.
 *
 * IDENTIFICATION
 *	  src/quota.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"

#include "aigov.h"
#include "pgutil.h"
#include "quota.h"
#include "shmem.h"

int			aigov_max_tenants = 10000;
int			aigov_max_keys = 1024;
int			aigov_key_pace_pct = 97;
int			aigov_breaker_failures = 5;
int			aigov_breaker_cooldown_ms = 30000;
int			aigov_breaker_max_cooldown_ms = 300000;

#define MINUTE_US	INT64CONST(60000000)
#define DAY_US		INT64CONST(86400000000)

static HTAB *tenant_table = NULL;
static HTAB *key_table = NULL;
static LWLock *tenant_lock = NULL;
static LWLock *key_lock = NULL;

/*
 * AigovQuotaDefineGucs
 *		Defines the GUCs that size the shared tables.
 */
void
AigovQuotaDefineGucs(void)
{
	DefineCustomIntVariable("aigov.max_tenants",
							"Sets the most tenants whose buckets shared memory holds.",
							NULL, &aigov_max_tenants, 10000, 16, 10000000,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("aigov.key_pace_pct",
							"Sets the share of a key's limits that aigov paces its calls to.",
							"The rest is the margin for estimates that fall short of the provider's count.",
							&aigov_key_pace_pct, 97, 50, 100,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("aigov.breaker_failures",
							"Sets how many availability failures in a row open a key's circuit breaker.",
							NULL, &aigov_breaker_failures, 5, 1, 1000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("aigov.breaker_cooldown",
							"Sets how long an opened circuit breaker refuses calls before its first probe.",
							"Each failed probe doubles it, up to aigov.breaker_max_cooldown.",
							&aigov_breaker_cooldown_ms, 30000, 100, 3600000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("aigov.breaker_max_cooldown",
							"Sets the longest a circuit breaker stays open between probes.",
							NULL, &aigov_breaker_max_cooldown_ms, 300000, 100, 86400000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("aigov.max_keys",
							"Sets the most provider keys whose state shared memory holds.",
							NULL, &aigov_max_keys, 1024, 4, 1000000,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
}

Size
AigovQuotaShmemSize(void)
{
	return add_size(hash_estimate_size(aigov_max_tenants, sizeof(AigovTenantEntry)),
					hash_estimate_size(aigov_max_keys, sizeof(AigovKeyEntry)));
}

/*
 * AigovQuotaShmemInit
 *		Attaches the two shared hash tables; called from the shmem startup
 *		hook with AddinShmemInitLock held.
 */
void
AigovQuotaShmemInit(void)
{
	HASHCTL		info;
	LWLockPadded *locks = GetNamedLWLockTranche("aigov");

	/* lock 0 guards the worker slots (shmem.c) */
	tenant_lock = &locks[1].lock;
	key_lock = &locks[2].lock;

	memset(&info, 0, sizeof(info));
	info.keysize = AIGOV_TENANT_ID_MAX;
	info.entrysize = sizeof(AigovTenantEntry);
	tenant_table = ShmemInitHash("aigov tenants", aigov_max_tenants,
								 aigov_max_tenants, &info,
								 HASH_ELEM | HASH_STRINGS);

	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(int64);
	info.entrysize = sizeof(AigovKeyEntry);
	key_table = ShmemInitHash("aigov keys", aigov_max_keys, aigov_max_keys,
							  &info, HASH_ELEM | HASH_BLOBS);
}

/*
 * AigovNowUs
 *		The clock of every quota decision: unix time in microseconds, the
 *		same in every process.
 */
int64
AigovNowUs(void)
{
	return AigovToUnixUs(GetCurrentTimestamp());
}

/*
 * tokens_spent_today
 *		What a tenant's jobs cost in the last 24 hours, weighted by how much
 *		of each cost a continuously refilling day bucket still remembers.
 *		Caller is connected to SPI.
 */
static int64
tokens_spent_today(const char *tenant_id)
{
	Oid			argtype = TEXTOID;
	Datum		arg = CStringGetTextDatum(tenant_id);
	bool		isnull;
	Datum		d;
	int			ret;

	ret = SPI_execute_with_args("SELECT pg_catalog.sum(COALESCE(a.prompt_tokens"
								"  OPERATOR(pg_catalog.+) a.completion_tokens, a.est_tokens)"
								"  OPERATOR(pg_catalog.*) (1 OPERATOR(pg_catalog.-)"
								"  (extract(epoch FROM (pg_catalog.now() OPERATOR(pg_catalog.-) a.finished_at))"
								"   OPERATOR(pg_catalog./) 86400)))::pg_catalog.int8"
								" FROM (SELECT tenant_id, prompt_tokens, completion_tokens,"
								"  est_tokens, finished_at, error_class FROM aigov.attempts"
								"  UNION ALL SELECT tenant_id, prompt_tokens, completion_tokens,"
								"  est_tokens, finished_at, error_class FROM aigov.attempts_history) a"
								" WHERE a.tenant_id OPERATOR(pg_catalog.=) $1"
								" AND a.finished_at OPERATOR(pg_catalog.>)"
								"  (pg_catalog.now() OPERATOR(pg_catalog.-) interval '1 day')"
								" AND a.error_class OPERATOR(pg_catalog.=) 'success'",
								1, &argtype, &arg, NULL, true, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read today's usage: %s", SPI_result_code_string(ret));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? 0 : DatumGetInt64(d);
}

/*
 * key_spent_today
 *		What a key's calls cost in the last 24 hours (requests and tokens),
 *		weighted like tokens_spent_today.  Tokens are counted as the router
 *		reserved them (the estimate, max_tokens included), which is how
 *		providers charge at admission.  Caller is connected to SPI.
 */
static void
key_spent_today(int64 key_id, int64 *requests, int64 *tokens)
{
	Oid			argtype = INT8OID;
	Datum		arg = Int64GetDatum(key_id);
	bool		isnull;
	Datum		d;
	int			ret;

	ret = SPI_execute_with_args("SELECT pg_catalog.sum(1 OPERATOR(pg_catalog.-) w)::pg_catalog.int8,"
								" pg_catalog.sum(t OPERATOR(pg_catalog.*) (1 OPERATOR(pg_catalog.-) w))::pg_catalog.int8"
								" FROM (SELECT COALESCE(a.est_tokens, a.prompt_tokens OPERATOR(pg_catalog.+)"
								"   a.completion_tokens) AS t,"
								"  extract(epoch FROM (pg_catalog.now() OPERATOR(pg_catalog.-) a.finished_at))"
								"   OPERATOR(pg_catalog./) 86400 AS w"
								"  FROM (SELECT key_id, prompt_tokens, completion_tokens,"
								"   est_tokens, finished_at FROM aigov.attempts"
								"   UNION ALL SELECT key_id, prompt_tokens, completion_tokens,"
								"   est_tokens, finished_at FROM aigov.attempts_history) a"
								"  WHERE a.key_id OPERATOR(pg_catalog.=) $1"
								"  AND a.finished_at OPERATOR(pg_catalog.>)"
								"   (pg_catalog.now() OPERATOR(pg_catalog.-) interval '1 day')) x",
								1, &argtype, &arg, NULL, true, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read a key's usage today: %s", SPI_result_code_string(ret));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	*requests = isnull ? 0 : DatumGetInt64(d);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	*tokens = isnull ? 0 : DatumGetInt64(d);
}

static void
configure_tenant(AigovTenantEntry *entry, const AigovTenantLimits *limits,
				 uint64 generation, int64 now_us)
{
	SpinLockAcquire(&entry->mutex);
	aigov_admission_configure(&entry->quota, limits->rpm, limits->tpm,
							  limits->tpd, limits->soft_limit_pct, now_us);
	entry->config_generation = generation;
	SpinLockRelease(&entry->mutex);
}

/*
 * AigovTenantEntryGet
 *		The shared entry of a tenant, created on first use and brought up
 *		to date with the given limits.  A new entry's daily bucket is
 *		charged with the day's recorded usage (SPI: the caller must be in a
 *		transaction and connected to SPI).  Raises 53200 when the table is
 *		full, 54000 for an id longer than the key.
 */
AigovTenantEntry *
AigovTenantEntryGet(const char *tenant_id, const AigovTenantLimits *limits)
{
	AigovTenantEntry *entry;
	char		key[AIGOV_TENANT_ID_MAX];
	bool		found;
	uint64		generation;
	int64		now_us = AigovNowUs();

	AigovShmemCheckAttached();
	generation = pg_atomic_read_u64(&AigovState->config_generation);
	if (strlen(tenant_id) >= sizeof(key))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("tenant id of %zu bytes is longer than %d bytes",
						strlen(tenant_id), (int) sizeof(key) - 1),
				 errdetail("aigov's shared memory keys tenants by at most %d bytes.",
						   (int) sizeof(key) - 1),
				 errhint("Give the tenant a shorter id; aigov.tenants allows 200 bytes.")));
	memset(key, 0, sizeof(key));
	strlcpy(key, tenant_id, sizeof(key));

	LWLockAcquire(tenant_lock, LW_SHARED);
	entry = hash_search(tenant_table, key, HASH_FIND, NULL);
	LWLockRelease(tenant_lock);

	if (entry == NULL)
	{
		int64		spent = tokens_spent_today(tenant_id);

		LWLockAcquire(tenant_lock, LW_EXCLUSIVE);
		entry = hash_search(tenant_table, key, HASH_ENTER_NULL, &found);
		if (entry == NULL)
		{
			LWLockRelease(tenant_lock);
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("too many tenants for aigov's shared memory"),
					 errhint("Raise \"aigov.max_tenants\" and restart the server.")));
		}
		if (!found)
		{
			SpinLockInit(&entry->mutex);
			aigov_admission_init(&entry->quota, limits->rpm, limits->tpm,
								 limits->tpd, limits->soft_limit_pct);
			entry->config_generation = generation;
			entry->admitted = entry->rejected = entry->deferred = 0;
			if (spent > 0)
				aigov_bucket_force_take(&entry->quota.axis[AIGOV_AXIS_TPD], spent, now_us);
		}
		LWLockRelease(tenant_lock);
	}

	if (entry->config_generation != generation)
		configure_tenant(entry, limits, generation, now_us);
	return entry;
}

/*
 * AigovTenantAdmit
 *		Takes a job's cost from the tenant's three buckets, or says when
 *		they will allow it.
 */
AigovAdmitStatus
AigovTenantAdmit(AigovTenantEntry *entry, int64 est_tokens, int64 now_us,
				 AigovAdmitResult *result)
{
	AigovAdmitStatus status;

	SpinLockAcquire(&entry->mutex);
	status = aigov_admission_try(&entry->quota, est_tokens, now_us, result);
	if (status == AIGOV_ADMIT_OK)
		entry->admitted++;
	SpinLockRelease(&entry->mutex);
	return status;
}

/*
 * AigovTenantScheduleAhead
 *		Books a job that does not fit now into the tenant's buckets at the
 *		first instant it will fit, and returns that instant.  Taking the
 *		cost now (into debt) pushes the next such job one interval later,
 *		so a backlog is spread over the refill instead of every waiting
 *		job waking at the same moment.  Returns 0 if the job can never
 *		fit (result->status is NEVER).
 */
int64
AigovTenantScheduleAhead(AigovTenantEntry *entry, int64 est_tokens,
						 int64 now_us, AigovAdmitResult *result)
{
	int64		at = 0;

	SpinLockAcquire(&entry->mutex);
	if (aigov_admission_check(&entry->quota, est_tokens, now_us, result) != AIGOV_ADMIT_NEVER)
	{
		at = Max(result->retry_at_us, now_us);
		aigov_bucket_force_take(&entry->quota.axis[AIGOV_AXIS_RPM], 1, now_us);
		aigov_bucket_force_take(&entry->quota.axis[AIGOV_AXIS_TPM], est_tokens, now_us);
		aigov_bucket_force_take(&entry->quota.axis[AIGOV_AXIS_TPD], est_tokens, now_us);
		entry->deferred++;
	}
	SpinLockRelease(&entry->mutex);
	return at;
}

/*
 * AigovTenantAdmitOrBook
 *		Admits a job now or books its first allowed instant, on one view of
 *		the tenant's buckets (see aigov_admission_admit_or_book).
 */
AigovAdmitStatus
AigovTenantAdmitOrBook(AigovTenantEntry *entry, int64 est_tokens,
					   int64 now_us, AigovAdmitResult *result)
{
	AigovAdmitStatus status;

	SpinLockAcquire(&entry->mutex);
	status = aigov_admission_admit_or_book(&entry->quota, est_tokens, now_us,
										   result);
	if (status == AIGOV_ADMIT_OK)
		entry->admitted++;
	else if (status == AIGOV_ADMIT_WAIT)
		entry->deferred++;
	SpinLockRelease(&entry->mutex);
	return status;
}

/*
 * AigovTenantFind
 *		The shared entry of a tenant if it has one, without creating it.
 */
AigovTenantEntry *
AigovTenantFind(const char *tenant_id)
{
	AigovTenantEntry *entry;
	char		key[AIGOV_TENANT_ID_MAX];

	if (AigovState == NULL || strlen(tenant_id) >= sizeof(key))
		return NULL;			/* too long: it cannot have an entry */
	memset(key, 0, sizeof(key));
	strlcpy(key, tenant_id, sizeof(key));
	LWLockAcquire(tenant_lock, LW_SHARED);
	entry = hash_search(tenant_table, key, HASH_FIND, NULL);
	LWLockRelease(tenant_lock);
	return entry;
}

/*
 * AigovTenantReconcile
 *		Corrects the tenant's token buckets with what the provider reported.
 *		Returns the soft limits this crossed (AIGOV_AXIS_BITs), for the
 *		caller to alert on.
 */
uint32
AigovTenantReconcile(AigovTenantEntry *entry, int64 est_tokens,
					 int64 actual_tokens, int64 now_us)
{
	uint32		soft_warn;

	SpinLockAcquire(&entry->mutex);
	soft_warn = aigov_admission_reconcile(&entry->quota, est_tokens,
										  actual_tokens, now_us);
	SpinLockRelease(&entry->mutex);
	return soft_warn;
}

/*
 * AigovTenantRefund
 *		Gives back an admission whose job never reached a provider.
 */
void
AigovTenantRefund(AigovTenantEntry *entry, int64 est_tokens, int64 now_us)
{
	SpinLockAcquire(&entry->mutex);
	aigov_admission_refund(&entry->quota, est_tokens, now_us);
	SpinLockRelease(&entry->mutex);
}

void
AigovTenantCount(AigovTenantEntry *entry, bool rejected, bool deferred)
{
	SpinLockAcquire(&entry->mutex);
	if (rejected)
		entry->rejected++;
	if (deferred)
		entry->deferred++;
	SpinLockRelease(&entry->mutex);
}

/*
 * breaker_config
 *		The breaker settings of the GUCs; the ratio window keeps its
 *		defaults (algorithms.md).
 */
static void
breaker_config(AigovBreakerConfig *cfg)
{
	aigov_breaker_default_config(cfg);
	cfg->consecutive_failures = aigov_breaker_failures;
	cfg->cooldown_us = (int64) aigov_breaker_cooldown_ms * 1000;
	cfg->max_cooldown_us = (int64) aigov_breaker_max_cooldown_ms * 1000;
}

/*
 * AigovKeyEntryGet
 *		The shared state of a key, created on first use and reconfigured
 *		when the configuration changed.  A new key with a daily limit is
 *		charged with the day's recorded calls (SPI: the caller must be in a
 *		transaction and connected to SPI).  Raises 53200 when the table is
 *		full, 54000 for an id longer than the key.
 */
AigovKeyEntry *
AigovKeyEntryGet(int64 key_id, const AigovKeyLimits *limits)
{
	AigovKeyEntry *entry;
	bool		found;
	uint64		generation;
	int64		now_us = AigovNowUs();

	AigovShmemCheckAttached();
	generation = pg_atomic_read_u64(&AigovState->config_generation);

	LWLockAcquire(key_lock, LW_SHARED);
	entry = hash_search(key_table, &key_id, HASH_FIND, NULL);
	LWLockRelease(key_lock);

	if (entry == NULL)
	{
		int64		requests = 0;
		int64		tokens = 0;
		AigovBreakerConfig cfg;

		/* a restart must not hand out a second day of a daily quota */
		if (limits->rpd > 0 || limits->tpd > 0)
			key_spent_today(key_id, &requests, &tokens);

		LWLockAcquire(key_lock, LW_EXCLUSIVE);
		entry = hash_search(key_table, &key_id, HASH_ENTER_NULL, &found);
		if (entry == NULL)
		{
			LWLockRelease(key_lock);
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("too many keys for aigov's shared memory"),
					 errhint("Raise \"aigov.max_keys\" and restart the server.")));
		}
		if (!found)
		{
			SpinLockInit(&entry->mutex);
			aigov_router_key_init(&entry->state, limits->rpm, limits->tpm,
								  limits->rpd, limits->tpd, limits->weight);
			aigov_router_key_configure(&entry->state, limits->rpm, limits->tpm,
									   limits->rpd, limits->tpd, limits->weight,
									   aigov_key_pace_pct, now_us);
			breaker_config(&cfg);
			aigov_breaker_init(&entry->breaker, &cfg);
			entry->config_generation = generation;
			if (requests > 0 && limits->rpd > 0)
				aigov_bucket_force_take(&entry->state.req_day, requests, now_us);
			if (tokens > 0 && limits->tpd > 0)
				aigov_bucket_force_take(&entry->state.tok_day, tokens, now_us);
		}
		LWLockRelease(key_lock);
	}

	if (entry->config_generation != generation)
	{
		SpinLockAcquire(&entry->mutex);
		aigov_router_key_configure(&entry->state, limits->rpm, limits->tpm,
								   limits->rpd, limits->tpd, limits->weight,
								   aigov_key_pace_pct, now_us);
		entry->config_generation = generation;
		SpinLockRelease(&entry->mutex);
	}
	return entry;
}

/*
 * AigovKeySnapshot
 *		A copy of a key's state for routing, and whether its breaker lets a
 *		call through now.  Asking the breaker may hand this caller the
 *		half-open probe.  When the breaker refuses, *breaker_retry_us is
 *		when it will let one through (0 unknown).
 */
bool
AigovKeySnapshot(AigovKeyEntry *entry, int64 now_us, AigovKeyState *state,
				 int64 *breaker_retry_us)
{
	AigovBreakerDecision decision;
	AigovBreakerConfig cfg;

	breaker_config(&cfg);
	*breaker_retry_us = 0;
	SpinLockAcquire(&entry->mutex);
	/* a reload's settings reach a breaker in use at its next question */
	aigov_breaker_configure(&entry->breaker, &cfg);
	decision = aigov_breaker_allow(&entry->breaker, now_us, breaker_retry_us);
	*state = entry->state;
	SpinLockRelease(&entry->mutex);
	return decision != AIGOV_BREAKER_DENY;
}

/*
 * AigovKeyReserve
 *		Reserves a job's cost on a key if it still has headroom: another
 *		worker may have taken it since the caller's snapshot.  On failure
 *		*state is refreshed for the caller's next choice.
 */
bool
AigovKeyReserve(AigovKeyEntry *entry, int64 tokens, int64 now_us,
				AigovKeyTicket *ticket, AigovKeyState *state)
{
	int64		at;
	bool		reserved = false;

	SpinLockAcquire(&entry->mutex);
	if (aigov_router_headroom(&entry->state, tokens, now_us, &at) == AIGOV_ROUTER_OK)
	{
		aigov_router_reserve(&entry->state, tokens, now_us, ticket);
		reserved = true;
	}
	else
		*state = entry->state;
	SpinLockRelease(&entry->mutex);
	return reserved;
}

/*
 * AigovKeyBook
 *		Books the key's next free slot for a job that must wait; returns it
 *		(INT64_MAX when the key cannot book).
 */
int64
AigovKeyBook(AigovKeyEntry *entry, int64 tokens, int64 now_us)
{
	int64		slot;

	SpinLockAcquire(&entry->mutex);
	slot = aigov_router_book(&entry->state, tokens, now_us);
	SpinLockRelease(&entry->mutex);
	return slot;
}

/*
 * AigovKeyRelease
 *		Gives back a reservation whose call never completed on the wire;
 *		refund also gives back the request it counted.
 */
void
AigovKeyRelease(AigovKeyEntry *entry, const AigovKeyTicket *ticket,
				bool refund, int64 now_us)
{
	SpinLockAcquire(&entry->mutex);
	aigov_router_release(&entry->state, ticket, refund, now_us);
	SpinLockRelease(&entry->mutex);
}

/*
 * AigovKeySettle
 *		Tells the key's state and breaker how its call ended: what it cost,
 *		what the reply's headers said, a 429's window.
 */
void
AigovKeySettle(AigovKeyEntry *entry, const AigovKeyTicket *ticket,
			   const AigovKeySettlement *s, int64 now_us)
{
	SpinLockAcquire(&entry->mutex);
	switch (s->effect)
	{
		case AIGOV_KEY_COMPLETE:
			aigov_router_complete(&entry->state, ticket, s->charged_tokens,
								  s->report, now_us);
			break;
		case AIGOV_KEY_RATE_LIMITED:
			aigov_router_on_rate_limited(&entry->state, ticket, s->limit,
										 s->retry_at_us, s->report, now_us);
			break;
		case AIGOV_KEY_RELEASE:
			aigov_router_release(&entry->state, ticket, false, now_us);
			if (s->report != NULL)
				aigov_router_fold_report(&entry->state, ticket, s->report, now_us);
			break;
	}
	aigov_breaker_record(&entry->breaker, s->breaker, now_us);
	SpinLockRelease(&entry->mutex);
}

/*
 * AigovKeySetDisabled
 *		Takes a key out of rotation or puts it back.
 */
void
AigovKeySetDisabled(AigovKeyEntry *entry, bool disabled)
{
	SpinLockAcquire(&entry->mutex);
	aigov_router_set_disabled(&entry->state, disabled);
	SpinLockRelease(&entry->mutex);
}

/*
 * AigovKeyBreakersForEach
 *		Calls fn with a copy of each key's breaker, taken under its
 *		spinlock; fn runs outside it (it may allocate) but under the
 *		table's shared lock, so it must not look up keys.
 */
void
AigovKeyBreakersForEach(AigovKeyBreakerFn fn, void *arg)
{
	HASH_SEQ_STATUS seq;
	AigovKeyEntry *entry;

	AigovShmemCheckAttached();
	LWLockAcquire(key_lock, LW_SHARED);
	hash_seq_init(&seq, key_table);
	while ((entry = hash_seq_search(&seq)) != NULL)
	{
		AigovBreaker copy;

		SpinLockAcquire(&entry->mutex);
		copy = entry->breaker;
		SpinLockRelease(&entry->mutex);
		fn(entry->key_id, &copy, arg);
	}
	LWLockRelease(key_lock);
}

/*
 * AigovNoteSoftWarnings
 *		Writes one alert row per soft limit the tenant just crossed.
 *		Caller is connected to SPI.
 */
void
AigovNoteSoftWarnings(const char *tenant_id, AigovTenantEntry *entry,
					  uint32 soft_warn)
{
	for (int axis = 0; axis < AIGOV_AXIS_COUNT; axis++)
	{
		Oid			argtypes[3] = {TEXTOID, TEXTOID, INT4OID};
		Datum		args[3];
		int			ret;

		if ((soft_warn & AIGOV_AXIS_BIT(axis)) == 0)
			continue;
		args[0] = CStringGetTextDatum(tenant_id);
		args[1] = CStringGetTextDatum(aigov_admission_axis_name((AigovAxis) axis));
		args[2] = Int32GetDatum(entry->quota.soft_limit_pct);
		ret = SPI_execute_with_args("INSERT INTO aigov.alert_events"
									" (severity, kind, tenant_id, message, detail)"
									" VALUES ('warning', 'tenant_soft_limit', $1,"
									"  'tenant ' OPERATOR(pg_catalog.||) $1"
									"  OPERATOR(pg_catalog.||) ' crossed '"
									"  OPERATOR(pg_catalog.||) $3"
									"  OPERATOR(pg_catalog.||) '% of its ' OPERATOR(pg_catalog.||) $2"
									"  OPERATOR(pg_catalog.||) ' quota',"
									"  pg_catalog.jsonb_build_object('axis', $2, 'soft_limit_pct', $3))",
									3, argtypes, args, NULL, false, 0);
		if (ret != SPI_OK_INSERT)
			elog(ERROR, "could not write alert: %s", SPI_result_code_string(ret));
	}
}

/*
 * AigovKeyCopyAll
 *		Copies every key's state and breaker into a palloc'd array, for
 *		the views and the alerts; returns how many.  Each entry is copied
 *		under its spinlock, the table under its shared lock; the caller
 *		computes its figures from the copies with no lock held.
 */
int
AigovKeyCopyAll(AigovKeyCopy **out)
{
	HASH_SEQ_STATUS seq;
	AigovKeyEntry *entry;
	AigovKeyCopy *copies;
	long		size;
	int			n = 0;

	AigovShmemCheckAttached();
	LWLockAcquire(key_lock, LW_SHARED);
	size = hash_get_num_entries(key_table);
	copies = palloc(sizeof(AigovKeyCopy) * Max(size, 1));
	hash_seq_init(&seq, key_table);
	while ((entry = hash_seq_search(&seq)) != NULL && n < size)
	{
		copies[n].key_id = entry->key_id;
		SpinLockAcquire(&entry->mutex);
		copies[n].state = entry->state;
		copies[n].breaker = entry->breaker;
		SpinLockRelease(&entry->mutex);
		n++;
	}
	if (entry != NULL)
		hash_seq_term(&seq);
	LWLockRelease(key_lock);
	*out = copies;
	return n;
}

static void
copy_tenant(AigovTenantEntry *entry, AigovTenantCopy *copy)
{
	memcpy(copy->tenant_id, entry->tenant_id, sizeof(copy->tenant_id));
	SpinLockAcquire(&entry->mutex);
	copy->quota = entry->quota;
	copy->admitted = entry->admitted;
	copy->rejected = entry->rejected;
	copy->deferred = entry->deferred;
	SpinLockRelease(&entry->mutex);
}

/*
 * AigovTenantCopyAll
 *		Copies the buckets and counters of every tenant aigov has seen
 *		since the server started, like AigovKeyCopyAll.
 */
int
AigovTenantCopyAll(AigovTenantCopy **out)
{
	HASH_SEQ_STATUS seq;
	AigovTenantEntry *entry;
	AigovTenantCopy *copies;
	long		size;
	int			n = 0;

	AigovShmemCheckAttached();
	LWLockAcquire(tenant_lock, LW_SHARED);
	size = hash_get_num_entries(tenant_table);
	copies = palloc(sizeof(AigovTenantCopy) * Max(size, 1));
	hash_seq_init(&seq, tenant_table);
	while ((entry = hash_seq_search(&seq)) != NULL && n < size)
		copy_tenant(entry, &copies[n++]);
	if (entry != NULL)
		hash_seq_term(&seq);
	LWLockRelease(tenant_lock);
	*out = copies;
	return n;
}

/*
 * AigovTenantCopyOne
 *		Copies one tenant's buckets and counters; false if aigov has not
 *		seen the tenant since the server started.
 */
bool
AigovTenantCopyOne(const char *tenant_id, AigovTenantCopy *copy)
{
	AigovTenantEntry *entry = AigovTenantFind(tenant_id);

	if (entry == NULL)
		return false;
	copy_tenant(entry, copy);
	return true;
}
