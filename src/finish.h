/*-------------------------------------------------------------------------
 * finish.h
 *	  What a finished provider call means: classified, settled on its key
 *	  and tenant, and turned into its job's completion record.
 *
 * IDENTIFICATION
 *	  src/finish.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_FINISH_H
#define AIGOV_FINISH_H

#include "postgres.h"

#include "job.h"

extern int	aigov_max_attempts;

extern void AigovFinishJob(AigovJob *job, TimestampTz *next_due);
extern void AigovAbandonJob(AigovJob *job);

#endif							/* AIGOV_FINISH_H */
