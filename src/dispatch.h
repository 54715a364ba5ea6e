/*-------------------------------------------------------------------------
 * dispatch.h
 *	  The libcurl multi pipeline of one dispatcher worker.
 *
 * IDENTIFICATION
 *	  src/dispatch.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_DISPATCH_H
#define AIGOV_DISPATCH_H

#include "postgres.h"

#include "lib/ilist.h"

#include "api_style.h"
#include "protocol.h"
#include "quota.h"

/*
 * One job of this worker, from its claim until its completion is written.
 * Allocated by worker.c; the transfer fields belong to dispatch.c while the
 * job is on the wire.
 */
typedef struct AigovJob
{
	dlist_node	node;			/* in worker.c's lists */
	dlist_node	wire_node;		/* in dispatch.c's list while on the wire */

	/* from the claim */
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
	int64		charge_tokens;	/* what the chosen key's limiter will count */
	char	   *workload_class;
	char	   *tenant_group;	/* NULL = none */
	TimestampTz deadline;		/* 0 = none */
	bool		admitted;		/* the tenant was charged for it already */
	bool		deferred;		/* it waited in the queue before (not_before
								 * later than its creation) */
	AigovTenantLimits tenant_limits;

	/* admission and routing (quota.c) */
	AigovTenantEntry *tenant_shared;
	AigovKeyEntry *key_shared;
	AigovKeyTicket ticket;
	bool		admitted_now;	/* charged by this dispatch */
	void	   *route_key;		/* worker.c's cached key, until sent */

	/* routing */
	int64		key_id;
	char	   *provider;
	char	   *key_label;
	AigovApiStyle style;

	/* transfer (dispatch.c) */
	void	   *easy;			/* CURL * */
	void	   *headers;		/* struct curl_slist * */
	char	   *request_body;	/* malloc'd when translated, else = body */
	bool		request_body_owned;
	char	   *response;		/* malloc'd */
	size_t		response_len;
	size_t		response_cap;
	bool		response_overflow;
	AigovRateHeaders rate;
	int64		header_clock_us;	/* arrival of the first header */
	TimestampTz started_at;
	TimestampTz finished_at;
	int			transport_error;	/* AigovTransportError */
	long		http_status;	/* 0 if no HTTP response */
	char		transport_message[128];
} AigovJob;

extern int	aigov_request_timeout_ms;
extern int	aigov_connect_timeout_ms;
extern int	aigov_max_response_bytes;
extern int	aigov_max_connections;

extern void AigovDispatchDefineGucs(void);
extern void AigovDispatchStart(void);
extern void AigovDispatchStop(void);
extern void AigovDispatchApplySettings(void);
extern void AigovDispatchSend(AigovJob *job, const char *url,
							  const char *auth_header,
							  const char *extra_header);
extern int	AigovDispatchInFlight(void);
extern bool AigovDispatchWait(long timeout_ms, dlist_head *done);
extern void AigovDispatchAbortAll(dlist_head *aborted);
extern void AigovDispatchReleaseTransfer(AigovJob *job);

#endif							/* AIGOV_DISPATCH_H */
