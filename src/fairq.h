/*-------------------------------------------------------------------------
 * fairq.h
 *	  Fair queuing state in shared memory: each key pool's virtual clock
 *	  and each tenant's last finish tag in it.
 *
 * IDENTIFICATION
 *	  src/fairq.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_FAIRQ_H
#define AIGOV_FAIRQ_H

#include "postgres.h"

#include "wclass.h"

/*
 * A key pool is named by its model; names are kept to this many bytes in
 * shared memory (longer names share a pool with any other name that has
 * the same first AIGOV_POOL_NAME_MAX - 1 bytes).
 */
#define AIGOV_POOL_NAME_MAX 96

extern Size AigovFairShmemSize(void);
extern void AigovFairShmemInit(void);
extern int64 AigovFairTag(const char *model, const char *workload_class,
						  const char *tenant_id, int64 cost, int32 weight);
extern void AigovFairAdvance(const char *model, int64 claimed_start,
							 int64 cost);
extern void AigovFairSettle(void);
extern void AigovFairClassPlan(const char *model, int n, AigovClassPlan *plan);

#endif							/* AIGOV_FAIRQ_H */
