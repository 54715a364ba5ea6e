/*-------------------------------------------------------------------------
 * aigov.h
 *	  Declarations shared by aigov's PostgreSQL glue files.
 *
 * Pure modules (bucket, tokens, protocol_*, ...) never include this file:
 * it pulls in postgres.h.
 *
 * IDENTIFICATION
 *	  src/aigov.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_H
#define AIGOV_H

#include "postgres.h"

#include "utils/jsonb.h"

#ifndef AIGOV_VERSION
#error "AIGOV_VERSION must be defined by the Makefile"
#endif

/* Per-module initialisation, called once from _PG_init. */
extern void AigovEnqueueInit(void);
extern void AigovShmemInit(void);
extern void AigovWorkerInit(void);

/* GUCs owned by worker.c that size shared memory. */
extern int	aigov_workers;

/* GUCs owned by enqueue.c, read by functions.c. */
extern int	aigov_max_body_bytes;
extern int	aigov_default_max_tokens;

/* The enqueue path's validation, shared by the trigger and submit(). */
struct AigovTenantLimits;
extern int64 AigovValidateJob(const char *tenant_id, Jsonb *body,
							  const char *task_type, const char *workload_class,
							  char **model_out, struct AigovTenantLimits *limits,
							  int64 *prompt_out, int64 *charged_prompt_out);
extern void AigovCheckPriority(const char *tenant_id, int32 priority,
							   const struct AigovTenantLimits *limits);
extern bool aigov_submit_admitted;

/* Job states as stored in aigov.requests.state. */
#define AIGOV_STATE_QUEUED		"queued"
#define AIGOV_STATE_IN_FLIGHT	"in_flight"

#endif							/* AIGOV_H */
