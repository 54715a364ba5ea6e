/*-------------------------------------------------------------------------
 * job.h
 *	  One job of a dispatcher worker, from its claim until its completion
 *	  is queued for writing.
 *
 * The pipeline's stages each own a part of the struct: claim.c fills the
 * claimed columns, plan.c admission and routing, send.c the provider's
 * request, dispatch.c the transfer, finish.c reads the outcome.  Every
 * allocation a job makes lives in its own memory context, deleted with
 * the job, so nothing allocated for one job outlives it.
 *
 * IDENTIFICATION
 *	  src/job.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_JOB_H
#define AIGOV_JOB_H

#include "postgres.h"

#include "lib/ilist.h"
#include "utils/timestamp.h"

#include "api_style.h"
#include "protocol.h"
#include "quota.h"

struct AigovCachedKey;

typedef struct AigovJob
{
	dlist_node	node;			/* in the worker's lists */
	dlist_node	wire_node;		/* in dispatch.c's list while on the wire */
	MemoryContext cxt;			/* everything below that is palloc'd */

	/* from the claim (claim.c) */
	int64		id;
	char	   *tenant_id;
	char	   *model;
	char	   *body;			/* the OpenAI-style request, as JSON text */
	int			attempts;		/* provider calls including this one */
	int			failures;		/* earlier transient failures */
	int64		est_tokens;		/* our estimate: prompt + output budget */
	int64		est_prompt_tokens;	/* the prompt's share of est_tokens */
	int64		charged_prompt_tokens;	/* the prompt as a character-based
										 * limiter counts it */
	char	   *workload_class;
	char	   *tenant_group;	/* NULL = none */
	char	   *installation;	/* the installation's id, for the
								 * Idempotency-Key */
	TimestampTz deadline;		/* 0 = none */
	bool		admitted;		/* the tenant was charged for it already */
	bool		deferred;		/* it waited in the queue before (not_before
								 * later than its creation) */
	AigovTenantLimits tenant_limits;
	char	   *task_type;
	bool		fallback_allowed;	/* it may go to an alternative of
									 * aigov.compat */

	/* admission and routing (plan.c) */
	AigovTenantEntry *tenant_shared;
	AigovKeyEntry *key_shared;
	AigovKeyTicket ticket;
	int64		charge_tokens;	/* what the chosen key's limiter will count */
	bool		admitted_now;	/* charged by this dispatch */
	const struct AigovCachedKey *route_key; /* valid until sent */
	const char *route_provider; /* routing on one provider's keys only (an
								 * alternative); NULL = any */
	bool		breaker_blocked;	/* every key of the model is behind an
									 * open breaker */
	bool		degraded;		/* served by an alternative: model is the
								 * alternative's */

	/* the key it went out on, copied (send.c) */
	int64		key_id;
	char	   *provider;
	char	   *key_label;
	AigovApiStyle style;
	char	   *host;			/* the base URL's host; NULL if unreadable */

	/* transfer (dispatch.c) */
	void	   *easy;			/* CURL * */
	void	   *headers;		/* struct curl_slist * */
	char	   *request_body;	/* malloc'd when translated, else = body */
	bool		request_body_owned;
	char	   *response;		/* malloc'd */
	size_t		response_len;
	size_t		response_cap;
	bool		response_overflow;
	size_t		header_bytes;	/* of this reply so far */
	bool		headers_overflow;	/* over the header cap */
	AigovRateHeaders rate;
	int64		header_clock_us;	/* arrival of the first header */
	TimestampTz started_at;
	TimestampTz finished_at;
	int			transport_error;	/* AigovTransportError */
	long		http_status;	/* 0 if no HTTP response */
	char		transport_message[128];
	bool		host_refused;	/* aigov.allowed_hosts refused an address */
	bool		host_opened;	/* and allowed one: a connect failure is then
								 * the network's */
	char		refused_addr[64];	/* the last address it refused */
	int			sends;			/* times libcurl was about to send it */
	bool		resend_refused; /* a second send was aborted */
} AigovJob;

extern void AigovJobsInit(void);
extern AigovJob *AigovJobNew(void);
extern void AigovJobFree(AigovJob *job);
extern int64 AigovJobsLive(void);

#endif							/* AIGOV_JOB_H */
