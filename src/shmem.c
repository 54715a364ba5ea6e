/*-------------------------------------------------------------------------
 * shmem.c
 *	  aigov's shared memory: worker slots, wake-ups and the generation
 *	  counters that tell workers to look at the queue or reload config.
 *
 * Wake-ups are sent from a transaction callback at commit, so a worker is
 * never woken before the rows it should see are visible.  The callback is
 * registered once per backend, on first use.
 *
 * Lock order: AigovState->lock only; never held while calling out.
 *
 * IDENTIFICATION
 *	  src/shmem.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/shmem.h"

#include "aigov.h"
#include "alerts.h"
#include "fairq.h"
#include "provbreaker.h"
#include "quota.h"
#include "shmem.h"
#include "throttle_gate.h"

AigovShared *AigovState = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* Per-backend: what this transaction did that workers must hear of. */
static bool xact_callback_registered = false;
static bool xact_enqueued = false;
static bool xact_config_changed = false;

static Size
aigov_state_size(void)
{
	return add_size(offsetof(AigovShared, slots),
					mul_size(sizeof(AigovWorkerSlot), aigov_workers));
}

static void
aigov_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(add_size(add_size(add_size(add_size(aigov_state_size(),
															   AigovQuotaShmemSize()),
													  AigovFairShmemSize()),
											 AigovAlertsShmemSize()),
									AigovThrottleShmemSize()));
	RequestAddinShmemSpace(AigovProviderBreakersShmemSize());

	/*
	 * 0: worker slots; 1: tenant table; 2: key table; 3: fair queues; 4:
	 * alert levels; 5: provider throttles
	 */
	RequestNamedLWLockTranche("aigov", 6);
}

static void
aigov_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	AigovState = ShmemInitStruct("aigov shared state", aigov_state_size(), &found);
	if (!found)
	{
		memset(AigovState, 0, aigov_state_size());
		AigovState->lock = &(GetNamedLWLockTranche("aigov"))->lock;
		pg_atomic_init_u64(&AigovState->config_generation, 1);
		pg_atomic_init_u64(&AigovState->enqueue_generation, 1);
		AigovState->nslots = aigov_workers;
		for (int i = 0; i < aigov_workers; i++)
		{
			pg_atomic_init_u64(&AigovState->slots[i].in_flight, 0);
			pg_atomic_init_u64(&AigovState->slots[i].claimed, 0);
			pg_atomic_init_u64(&AigovState->slots[i].completed, 0);
			pg_atomic_init_u64(&AigovState->slots[i].config_reloads, 0);
		}
	}
	AigovQuotaShmemInit();
	AigovFairShmemInit();
	AigovAlertsShmemInit();
	AigovThrottleShmemInit();
	AigovProviderBreakersShmemInit();
	LWLockRelease(AddinShmemInitLock);
}

/*
 * AigovShmemInit
 *		Installs the shared-memory hooks; called from _PG_init.
 */
void
AigovShmemInit(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = aigov_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = aigov_shmem_startup;
}

/*
 * AigovShmemCheckAttached
 *		Raises 55000 if aigov's shared memory is missing (the library was
 *		not preloaded).
 */
void
AigovShmemCheckAttached(void)
{
	if (AigovState == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("aigov shared memory is not initialized"),
				 errhint("Add aigov to shared_preload_libraries and restart the server.")));
}

/*
 * AigovWakeWorkers
 *		Sets the latch of every running dispatcher.  Reads the slots without
 *		the lock: a stale latch pointer only causes a spurious wake-up of a
 *		process latch, which every waiter tolerates.
 */
void
AigovWakeWorkers(void)
{
	if (AigovState == NULL)
		return;
	for (int i = 0; i < AigovState->nslots; i++)
	{
		Latch	   *latch = AigovState->slots[i].latch;

		if (latch != NULL && AigovState->slots[i].pid != 0)
			SetLatch(latch);
	}
}

static void
aigov_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (AigovState != NULL && (xact_enqueued || xact_config_changed))
			{
				if (xact_config_changed)
					pg_atomic_fetch_add_u64(&AigovState->config_generation, 1);
				if (xact_enqueued)
					pg_atomic_fetch_add_u64(&AigovState->enqueue_generation, 1);
				AigovWakeWorkers();
			}
			xact_enqueued = xact_config_changed = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			xact_enqueued = xact_config_changed = false;
			break;
		default:
			break;
	}
}

static void
ensure_xact_callback(void)
{
	if (!xact_callback_registered)
	{
		RegisterXactCallback(aigov_xact_callback, NULL);
		xact_callback_registered = true;
	}
}

/*
 * AigovNoteEnqueue
 *		Remembers that this transaction enqueued jobs; the workers are woken
 *		when it commits.
 */
void
AigovNoteEnqueue(void)
{
	ensure_xact_callback();
	xact_enqueued = true;
}

/*
 * AigovNoteConfigChange
 *		Remembers that this transaction changed configuration tables; the
 *		workers reload them when it commits.
 */
void
AigovNoteConfigChange(void)
{
	ensure_xact_callback();
	xact_config_changed = true;
}
