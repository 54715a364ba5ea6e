/*-------------------------------------------------------------------------
 * reroute.h
 *	  The fallback orchestrator in the worker: the cache of aigov.compat
 *	  and the planning of a job its own model cannot take in time.
 *
 * IDENTIFICATION
 *	  src/reroute.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_REROUTE_H
#define AIGOV_REROUTE_H

#include "postgres.h"

#include "job.h"

typedef enum AigovFallbackResult
{
	AIGOV_FALLBACK_NOT_TAKEN,	/* the job waits or fails as without one */
	AIGOV_FALLBACK_ROUTED,		/* reserved on an alternative's key */
	AIGOV_FALLBACK_FAIL			/* no alternative: fail fast (*why) */
} AigovFallbackResult;

extern void AigovCompatCacheLoad(void);
extern bool AigovFallbackSoon(const AigovJob *job, int64 now_us,
							  int64 not_before_us);
extern AigovFallbackResult AigovFallbackPlan(AigovJob *job, int64 now_us,
											 int64 free_at_us,
											 bool unavailable, char **why);

#endif							/* AIGOV_REROUTE_H */
