/*-------------------------------------------------------------------------
 * shmem.h
 *	  aigov's shared memory: worker slots, wake-ups and config generation.
 *
 * IDENTIFICATION
 *	  src/shmem.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_SHMEM_H
#define AIGOV_SHMEM_H

#include "postgres.h"

#include "port/atomics.h"
#include "storage/latch.h"
#include "storage/lwlock.h"

/* One slot per dispatcher worker, indexed by its bgw_main_arg. */
typedef struct AigovWorkerSlot
{
	pid_t		pid;			/* 0 while the worker is not running */
	Latch	   *latch;			/* its process latch, for wake-ups */
	/* written by the worker alone, read by aigov.worker_status() */
	pg_atomic_uint64 in_flight;
	pg_atomic_uint64 claimed;
	pg_atomic_uint64 completed;
	pg_atomic_uint64 config_reloads;
} AigovWorkerSlot;

typedef struct AigovShared
{
	LWLock	   *lock;			/* guards the slots' shape */
	pg_atomic_uint64 config_generation; /* bumped when config tables change */
	pg_atomic_uint64 enqueue_generation;	/* bumped when jobs are enqueued */
	int			nslots;
	AigovWorkerSlot slots[FLEXIBLE_ARRAY_MEMBER];
} AigovShared;

extern AigovShared *AigovState;

extern void AigovShmemCheckAttached(void);
extern void AigovWakeWorkers(void);
extern void AigovNoteEnqueue(void);
extern void AigovNoteConfigChange(void);

#endif							/* AIGOV_SHMEM_H */
