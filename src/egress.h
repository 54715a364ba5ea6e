/*-------------------------------------------------------------------------
 * egress.h
 *	  Where provider calls may go: aigov.allowed_hosts, checked when a
 *	  provider row is written and on every address a call connects to.
 *
 * IDENTIFICATION
 *	  src/egress.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_EGRESS_H
#define AIGOV_EGRESS_H

#include "postgres.h"

#include <sys/socket.h>

#include "job.h"

extern void AigovEgressDefineGucs(void);
extern bool AigovEgressAllowsSockaddr(const char *host,
									  const struct sockaddr *sa,
									  char *addr_text, size_t addr_len);
extern char *AigovEgressUrlHost(const char *url);
extern void AigovEgressFailJob(AigovJob *job);

#endif							/* AIGOV_EGRESS_H */
