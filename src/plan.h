/*-------------------------------------------------------------------------
 * plan.h
 *	  Planning a claimed job: its deadline, its tenant's quota (layer 1)
 *	  and a key with headroom (layer 2).
 *
 * IDENTIFICATION
 *	  src/plan.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_PLAN_H
#define AIGOV_PLAN_H

#include "postgres.h"

#include "job.h"

/* What planning one claim's jobs learned, for the next claim's size. */
typedef struct AigovPlanCycle
{
	TimestampTz next_due;		/* earliest not_before given to a job */

	/*
	 * Earliest time a key frees up, when planning deferred a job for lack of
	 * one (INT64_MAX: none was deferred so).
	 */
	int64		route_blocked_until;

	/*
	 * A job found no key and could not be booked out of the way (it had
	 * waited before, or its keys' limits are unknown): claims came too early,
	 * and claiming more before a key frees up would only churn the queue.
	 * (Jobs booked a slot moved out of the way: the claims may go on down the
	 * queue.)
	 */
	bool		claims_early;
} AigovPlanCycle;

extern void AigovPlanCycleInit(AigovPlanCycle *cycle, TimestampTz next_due);
extern bool AigovPlanJob(AigovJob *job, AigovPlanCycle *cycle);
extern bool AigovPlanRouteOn(AigovJob *job, char *model, const char *provider,
							 int64 now_us);

#endif							/* AIGOV_PLAN_H */
