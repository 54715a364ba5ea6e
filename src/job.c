/*-------------------------------------------------------------------------
 * job.c
 *	  The lifetime of a dispatcher's jobs: each in a memory context of its
 *	  own, under one parent, deleted with the job.
 *
 * A job's memory is everything the pipeline allocates for it (its claimed
 * text columns, its key's name, its error texts); deleting the context
 * frees all of it at once, so a path that forgets a pfree cannot leak.
 * The malloc'd transfer buffers (libcurl's side) are released here too.
 * PostgreSQL keeps freed small contexts on a free list, so a context per
 * job costs a few pointer moves, not a malloc.
 *
 * IDENTIFICATION
 *	  src/job.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "dispatch.h"
#include "job.h"

static MemoryContext jobs_cxt = NULL;
static int64 jobs_live = 0;

/*
 * AigovJobsInit
 *		Creates the parent context of every job; once per worker.
 */
void
AigovJobsInit(void)
{
	if (jobs_cxt == NULL)
		jobs_cxt = AllocSetContextCreate(TopMemoryContext, "aigov dispatch jobs",
										 ALLOCSET_DEFAULT_SIZES);
}

/*
 * AigovJobNew
 *		A zeroed job with its own memory context; the caller switches to
 *		job->cxt to allocate for it.
 */
AigovJob *
AigovJobNew(void)
{
	MemoryContext cxt = AllocSetContextCreate(jobs_cxt, "aigov job",
											  ALLOCSET_SMALL_SIZES);
	AigovJob   *job = MemoryContextAllocZero(cxt, sizeof(AigovJob));

	job->cxt = cxt;
	jobs_live++;
	return job;
}

/*
 * AigovJobFree
 *		Releases a job and everything allocated for it.  The job must be
 *		off the wire.
 */
void
AigovJobFree(AigovJob *job)
{
	AigovDispatchReleaseTransfer(job);
	jobs_live--;
	MemoryContextDelete(job->cxt);
}

/* How many jobs this worker holds (claimed, planned, on the wire, done). */
int64
AigovJobsLive(void)
{
	return jobs_live;
}
