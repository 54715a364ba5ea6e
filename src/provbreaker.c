/*-------------------------------------------------------------------------
 * provbreaker.c
 *	  The providers' circuit breakers: a table in shared memory, asked by
 *	  routing before any key of a provider is, told of every call's
 *	  outcome, and shown by aigov.provider_breakers().
 *
 * A key's breaker sees that key's calls; a provider's sees the calls of
 * all its keys, so an outage of the provider opens it after
 * aigov.breaker_failures failures in a row even when they are spread over
 * many keys, and then no key of the provider is tried until its half-open
 * probe succeeds.  What counts is fallback.c's to say: availability
 * failures and 403s, never rate limits nor billing.  The settings are the
 * keys' (aigov.breaker_failures, aigov.breaker_cooldown,
 * aigov.breaker_max_cooldown).  A fixed table with one spinlock: entries
 * are made on a provider's first call and never removed; the work under
 * the lock is a name comparison per entry and the breaker's arithmetic.
 *
 * IDENTIFICATION
 *	  src/provbreaker.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "pgutil.h"
#include "provbreaker.h"
#include "quota.h"
#include "shmem.h"

#define PROVIDER_NAME_LEN 128

typedef struct ProviderBreaker
{
	char		provider[PROVIDER_NAME_LEN];
	AigovBreaker breaker;
} ProviderBreaker;

typedef struct ProviderBreakers
{
	slock_t		mutex;
	int			n;
	ProviderBreaker entries[AIGOV_MAX_PROVIDER_BREAKERS];
} ProviderBreakers;

static ProviderBreakers *table = NULL;
static bool full_logged = false;

PG_FUNCTION_INFO_V1(aigov_provider_breakers);

Size
AigovProviderBreakersShmemSize(void)
{
	return sizeof(ProviderBreakers);
}

/* Called under AddinShmemInitLock. */
void
AigovProviderBreakersShmemInit(void)
{
	bool		found;

	table = ShmemInitStruct("aigov provider breakers", sizeof(ProviderBreakers),
							&found);
	if (!found)
	{
		memset(table, 0, sizeof(ProviderBreakers));
		SpinLockInit(&table->mutex);
	}
}

static void
breaker_config(AigovBreakerConfig *cfg)
{
	aigov_breaker_default_config(cfg);
	cfg->consecutive_failures = aigov_breaker_failures;
	cfg->cooldown_us = (int64) aigov_breaker_cooldown_ms * 1000;
	cfg->max_cooldown_us = (int64) aigov_breaker_max_cooldown_ms * 1000;
}

/*
 * find_locked
 *		The provider's breaker, made if create and there is room; NULL
 *		otherwise.  Caller holds the mutex.  A name too long for an entry
 *		has no breaker.
 */
static AigovBreaker *
find_locked(const char *provider, bool create, const AigovBreakerConfig *cfg)
{
	ProviderBreaker *e;

	if (strlen(provider) >= PROVIDER_NAME_LEN)
		return NULL;
	for (int i = 0; i < table->n; i++)
		if (strcmp(table->entries[i].provider, provider) == 0)
			return &table->entries[i].breaker;
	if (!create || table->n >= AIGOV_MAX_PROVIDER_BREAKERS)
		return NULL;
	e = &table->entries[table->n++];
	strlcpy(e->provider, provider, sizeof(e->provider));
	aigov_breaker_init(&e->breaker, cfg);
	return &e->breaker;
}

/*
 * AigovProviderBreakerAllows
 *		Whether the provider's breaker lets a call through now; asking may
 *		hand the caller the half-open probe.  When it refuses,
 *		*retry_at_us is when it will let one through.
 */
bool
AigovProviderBreakerAllows(const char *provider, int64 now_us, int64 *retry_at_us)
{
	AigovBreakerConfig cfg;
	AigovBreaker *b;
	AigovBreakerDecision decision = AIGOV_BREAKER_ALLOW;
	bool		full;

	*retry_at_us = now_us;
	if (table == NULL || provider == NULL)
		return true;
	breaker_config(&cfg);
	SpinLockAcquire(&table->mutex);
	b = find_locked(provider, true, &cfg);
	full = (b == NULL);
	if (b != NULL)
	{
		aigov_breaker_configure(b, &cfg);
		decision = aigov_breaker_allow(b, now_us, retry_at_us);
	}
	SpinLockRelease(&table->mutex);
	if (full && !full_logged)
	{
		full_logged = true;
		ereport(LOG,
				(errmsg("aigov provider \"%s\" has no circuit breaker of its own", provider),
				 errdetail("Shared memory holds breakers for %d providers with names shorter than %d bytes.",
						   AIGOV_MAX_PROVIDER_BREAKERS, PROVIDER_NAME_LEN)));
	}
	return decision != AIGOV_BREAKER_DENY;
}

/*
 * AigovProviderBreakerRecord
 *		Tells the provider's breaker how one call ended.
 */
void
AigovProviderBreakerRecord(const char *provider, AigovBreakerOutcome outcome,
						   int64 now_us)
{
	AigovBreakerConfig cfg;
	AigovBreaker *b;

	if (table == NULL || provider == NULL)
		return;
	breaker_config(&cfg);
	SpinLockAcquire(&table->mutex);
	b = find_locked(provider, outcome != AIGOV_BREAKER_NEUTRAL, &cfg);
	if (b != NULL)
		aigov_breaker_record(b, outcome, now_us);
	SpinLockRelease(&table->mutex);
}

/*
 * aigov_provider_breakers
 *		aigov.provider_breakers(): the breaker of each provider called since
 *		the server started, copied out under the lock and turned into rows
 *		without it.
 */
Datum
aigov_provider_breakers(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo;
	ProviderBreaker *copy;
	int			n;
	int64		now_us = AigovNowUs();

	AigovShmemCheckAttached();
	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	copy = palloc(sizeof(ProviderBreaker) * AIGOV_MAX_PROVIDER_BREAKERS);
	SpinLockAcquire(&table->mutex);
	n = table->n;
	memcpy(copy, table->entries, sizeof(ProviderBreaker) * n);
	SpinLockRelease(&table->mutex);

	for (int i = 0; i < n; i++)
		AigovPutBreakerRow(rsinfo, CStringGetTextDatum(copy[i].provider),
						   &copy[i].breaker, now_us);
	return (Datum) 0;
}

/*
 * AigovPutBreakerRow
 *		Adds one row of aigov.key_breakers() or aigov.provider_breakers()
 *		to rsinfo's tuplestore: the subject (key id or provider name), then
 *		the breaker's state, failures in a row, recent outcomes, openings
 *		and, while open, when it may half-open.
 */
void
AigovPutBreakerRow(ReturnSetInfo *rsinfo, Datum subject, const AigovBreaker *b,
				   int64 now_us)
{
	AigovBreakerState state = aigov_breaker_state(b, now_us);
	Datum		values[7];
	bool		nulls[7] = {false, false, false, false, false, false, true};
	int32		ok;
	int32		bad;

	aigov_breaker_window(b, now_us, &ok, &bad);
	values[0] = subject;
	values[1] = CStringGetTextDatum(aigov_breaker_state_name(state));
	values[2] = Int32GetDatum(b->consecutive);
	values[3] = Int32GetDatum(ok);
	values[4] = Int32GetDatum(bad);
	values[5] = Int64GetDatum(b->opened_total);
	if (state == AIGOV_BREAKER_OPEN)
	{
		values[6] = TimestampTzGetDatum(AigovFromUnixUs(b->opened_at_us +
														b->cooldown_us));
		nulls[6] = false;
	}
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}
