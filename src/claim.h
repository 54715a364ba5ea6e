/*-------------------------------------------------------------------------
 * claim.h
 *	  A dispatcher's queue operations: claiming due jobs, requeueing the
 *	  jobs of workers that died, expiring overdue ones.
 *
 * IDENTIFICATION
 *	  src/claim.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_CLAIM_H
#define AIGOV_CLAIM_H

#include "postgres.h"

#include "lib/ilist.h"

extern int	AigovClaimJobs(int n, dlist_head *claimed);
extern uint64 AigovRequeueOrphans(bool at_startup, int max_attempts);
extern void AigovExpireOverdue(void);

#endif							/* AIGOV_CLAIM_H */
