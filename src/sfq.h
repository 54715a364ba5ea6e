/*-------------------------------------------------------------------------
 * sfq.h
 *	  Start-time fair queuing tags for the job queue.
 *
 * Each job is tagged at enqueue with a virtual start and finish time:
 *	  start  = max(V, the tenant's last finish tag)
 *	  finish = start + cost * AIGOV_SFQ_SCALE / weight
 * and workers claim jobs in start-tag order from an index, so tenants share
 * the dispatch capacity in proportion to their weights without anyone
 * scanning the queue.  V is the start tag of the job most recently claimed.
 *
 * IDENTIFICATION
 *	  src/sfq.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_SFQ_H
#define AIGOV_SFQ_H

#include <stdint.h>

/*
 * Virtual time units per token at weight 1.  Large enough that a weight up
 * to a million still advances a one-token job by at least one unit, small
 * enough that a million-token job at weight 1 moves only 10^12: a virtual
 * clock in int64 lasts for 10^7 such jobs per tenant.
 */
#define AIGOV_SFQ_SCALE		INT64_C(1000000)

typedef struct AigovSfqTag
{
	int64_t		start;
	int64_t		finish;
} AigovSfqTag;

extern AigovSfqTag aigov_sfq_tag(int64_t virtual_time,
								 int64_t *tenant_last_finish,
								 int64_t cost, int32_t weight);
extern int64_t aigov_sfq_advance(int64_t virtual_time,
								 int64_t claimed_start);

#endif							/* AIGOV_SFQ_H */
