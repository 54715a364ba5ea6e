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

#include "job.h"

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
extern int	AigovDispatchCallBudget(int configured);
extern bool AigovDispatchWait(long timeout_ms, dlist_head *done);
extern void AigovDispatchAbortAll(dlist_head *aborted);
extern void AigovDispatchReleaseTransfer(AigovJob *job);

#endif							/* AIGOV_DISPATCH_H */
