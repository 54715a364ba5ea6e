/*-------------------------------------------------------------------------
 * provbreaker.h
 *	  One circuit breaker per provider, in shared memory, beside each
 *	  key's own (quota.c).
 *
 * IDENTIFICATION
 *	  src/provbreaker.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_PROVBREAKER_H
#define AIGOV_PROVBREAKER_H

#include "postgres.h"

#include "funcapi.h"

#include "breaker.h"

/* Providers with a breaker; a provider beyond these has none. */
#define AIGOV_MAX_PROVIDER_BREAKERS 64

extern Size AigovProviderBreakersShmemSize(void);
extern void AigovProviderBreakersShmemInit(void);
extern bool AigovProviderBreakerAllows(const char *provider, int64 now_us,
									   int64 *retry_at_us);
extern void AigovPutBreakerRow(ReturnSetInfo *rsinfo, Datum subject,
							   const AigovBreaker *b, int64 now_us);
extern void AigovProviderBreakerRecord(const char *provider,
									   AigovBreakerOutcome outcome,
									   int64 now_us);

#endif							/* AIGOV_PROVBREAKER_H */
