/*-------------------------------------------------------------------------
 * sfq.c
 *	  Start-time fair queuing: virtual start/finish tags per job.
 *
 * Start-time fair queuing (Goyal, Vin and Cheng, 1996) orders work by the
 * virtual time at which each job would start if every backlogged tenant
 * were served at a rate proportional to its weight.  A tenant that was idle
 * starts at the current virtual time V (it gets no credit for idling); a
 * busy tenant's next job starts where its previous one finished.  Claiming
 * in start-tag order bounds how far any tenant can get ahead of its share
 * by one job, and the tags are computed once, at enqueue, from two
 * integers, so the queue can be an ordinary index.
 *
 * Integer only; saturating.  Locking of the tenant's last finish tag and
 * of V is the caller's job.
 *
 * IDENTIFICATION
 *	  src/sfq.c
 *-------------------------------------------------------------------------
 */
#include "sfq.h"

#include "bucket.h"

/*
 * aigov_sfq_tag
 *		Tag a job of `cost` (estimated tokens; <= 0 counts as 0) for a
 *		tenant of `weight` (<= 0 counts as 1), and advance the tenant's last
 *		finish tag.
 *
 * The increment is rounded up, so any job with a positive cost moves the
 * tenant's clock forward.
 */
AigovSfqTag
aigov_sfq_tag(int64_t virtual_time, int64_t *tenant_last_finish,
			  int64_t cost, int32_t weight)
{
	AigovSfqTag tag;
	int64_t		span;

	if (weight <= 0)
		weight = 1;
	tag.start = virtual_time > *tenant_last_finish ?
		virtual_time : *tenant_last_finish;
	span = aigov_bucket_muldiv(cost, AIGOV_SFQ_SCALE, weight, true);
	tag.finish = tag.start > INT64_MAX - span ? INT64_MAX : tag.start + span;
	*tenant_last_finish = tag.finish;
	return tag;
}

/*
 * aigov_sfq_advance
 *		The new virtual time once a job with start tag `claimed_start` has
 *		been claimed: V never moves backwards.
 */
int64_t
aigov_sfq_advance(int64_t virtual_time, int64_t claimed_start)
{
	return claimed_start > virtual_time ? claimed_start : virtual_time;
}
