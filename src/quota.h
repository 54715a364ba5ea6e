/*-------------------------------------------------------------------------
 * quota.h
 *	  Tenant buckets and key states in shared memory.
 *
 * IDENTIFICATION
 *	  src/quota.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_QUOTA_H
#define AIGOV_QUOTA_H

#include "postgres.h"

#include "storage/spin.h"

#include "admission.h"
#include "breaker.h"
#include "outcome.h"
#include "router.h"

/*
 * tenants.tenant_id is at most 200 bytes (tenants_tenant_id_check counts
 * bytes, not characters); the hash key holds it with its terminator.  A
 * longer id is refused, never cut: two ids cut to one prefix would share
 * one entry's buckets.
 */
#define AIGOV_TENANT_ID_MAX 208

/* A tenant's effective quota, from aigov.tenants and its tier. */
typedef struct AigovTenantLimits
{
	int64		rpm;
	int64		tpm;
	int64		tpd;
	int32		soft_limit_pct;
	bool		hard_cap;
	int32		weight;
	int32		max_priority;	/* the tier's; checked at enqueue only */
} AigovTenantLimits;

typedef struct AigovTenantEntry
{
	char		tenant_id[AIGOV_TENANT_ID_MAX]; /* hash key */
	slock_t		mutex;			/* guards everything below */
	uint64		config_generation;	/* limits applied at this generation */
	AigovTenantQuota quota;
	int64		admitted;		/* counters since the server started */
	int64		rejected;
	int64		deferred;
} AigovTenantEntry;

/* A key's configured limits, from aigov.keys (0 = learn from headers). */
typedef struct AigovKeyLimits
{
	int64		rpm;
	int64		tpm;
	int64		rpd;
	int64		tpd;
	int32		weight;
} AigovKeyLimits;

typedef struct AigovKeyEntry
{
	int64		key_id;			/* hash key */
	slock_t		mutex;			/* guards everything below */
	uint64		config_generation;
	AigovKeyState state;
	AigovBreaker breaker;
} AigovKeyEntry;

extern int	aigov_max_tenants;
extern int	aigov_max_keys;
extern int	aigov_key_pace_pct;
extern int	aigov_breaker_failures;
extern int	aigov_breaker_cooldown_ms;
extern int	aigov_breaker_max_cooldown_ms;

extern void AigovQuotaDefineGucs(void);
extern Size AigovQuotaShmemSize(void);
extern void AigovQuotaShmemInit(void);

extern int64 AigovNowUs(void);

extern AigovTenantEntry *AigovTenantEntryGet(const char *tenant_id,
											 const AigovTenantLimits *limits);
extern AigovAdmitStatus AigovTenantAdmit(AigovTenantEntry *entry,
										 int64 est_tokens, int64 now_us,
										 AigovAdmitResult *result);
extern int64 AigovTenantScheduleAhead(AigovTenantEntry *entry,
									  int64 est_tokens, int64 now_us,
									  AigovAdmitResult *result);
extern AigovAdmitStatus AigovTenantAdmitOrBook(AigovTenantEntry *entry,
											   int64 est_tokens, int64 now_us,
											   AigovAdmitResult *result);
extern AigovTenantEntry *AigovTenantFind(const char *tenant_id);
extern uint32 AigovTenantReconcile(AigovTenantEntry *entry, int64 est_tokens,
								   int64 actual_tokens, int64 now_us);
extern void AigovTenantRefund(AigovTenantEntry *entry, int64 est_tokens,
							  int64 now_us);
extern void AigovTenantCount(AigovTenantEntry *entry, bool rejected,
							 bool deferred);

extern void AigovNoteSoftWarnings(const char *tenant_id,
								  AigovTenantEntry *entry, uint32 soft_warn);

/* How a finished call settles on its key (finish.c fills it). */
typedef struct AigovKeySettlement
{
	AigovKeyEffect effect;
	AigovRouterLimit limit;		/* AIGOV_KEY_RATE_LIMITED: which window */
	int64		charged_tokens; /* AIGOV_KEY_COMPLETE: what the call cost */
	int64		retry_at_us;	/* when the key may take the job again */
	const AigovRateReport *report;	/* the reply's windows; NULL none */
	AigovBreakerOutcome breaker;
} AigovKeySettlement;

extern AigovKeyEntry *AigovKeyEntryGet(int64 key_id,
									   const AigovKeyLimits *limits);
extern bool AigovKeySnapshot(AigovKeyEntry *entry, int64 now_us,
							 AigovKeyState *state, int64 *breaker_retry_us);
extern bool AigovKeyReserve(AigovKeyEntry *entry, int64 tokens, int64 now_us,
							AigovKeyTicket *ticket, AigovKeyState *state);
extern int64 AigovKeyBook(AigovKeyEntry *entry, int64 tokens, int64 now_us);
extern void AigovKeyRelease(AigovKeyEntry *entry, const AigovKeyTicket *ticket,
							bool refund, int64 now_us);
extern void AigovKeySettle(AigovKeyEntry *entry, const AigovKeyTicket *ticket,
						   const AigovKeySettlement *settlement, int64 now_us);
extern void AigovKeySetDisabled(AigovKeyEntry *entry, bool disabled);

typedef void (*AigovKeyBreakerFn) (int64 key_id, const AigovBreaker *breaker,
								   void *arg);
extern void AigovKeyBreakersForEach(AigovKeyBreakerFn fn, void *arg);

/* Copies for the views and the alerts (telemetry.c computes the figures). */
typedef struct AigovKeyCopy
{
	int64		key_id;
	AigovKeyState state;
	AigovBreaker breaker;
} AigovKeyCopy;

typedef struct AigovTenantCopy
{
	char		tenant_id[AIGOV_TENANT_ID_MAX];
	AigovTenantQuota quota;
	int64		admitted;
	int64		rejected;
	int64		deferred;
} AigovTenantCopy;

extern int	AigovKeyCopyAll(AigovKeyCopy **out);
extern int	AigovTenantCopyAll(AigovTenantCopy **out);
extern bool AigovTenantCopyOne(const char *tenant_id, AigovTenantCopy *copy);

#endif							/* AIGOV_QUOTA_H */
