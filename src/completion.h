/*-------------------------------------------------------------------------
 * completion.h
 *	  A dispatcher's completion records and their grouped write.
 *
 * IDENTIFICATION
 *	  src/completion.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_COMPLETION_H
#define AIGOV_COMPLETION_H

#include "postgres.h"

#include "nodes/pg_list.h"
#include "utils/timestamp.h"

#include "job.h"

/*
 * The fields of aigov._completion_row, in its order (the SQL type is
 * checked against these names before its first use).  A NULL field keeps
 * the job's column as it is where aigov._complete says so.
 */
typedef enum AigovCompletionField
{
	CF_ID,
	CF_TENANT_ID,
	CF_STATE,
	CF_ATTEMPTS,
	CF_FAILURES,
	CF_ADMITTED,
	CF_NOT_BEFORE,
	CF_RESPONSE,
	CF_RAW_RESPONSE,
	CF_ERROR_CLASS,
	CF_ERROR,
	CF_PROMPT_TOKENS,
	CF_COMPLETION_TOKENS,
	CF_KEY_ID,
	CF_PROVIDER,
	CF_MODEL,
	CF_HAS_ATTEMPT,
	CF_HTTP_STATUS,
	CF_LATENCY_MS,
	CF_STARTED_AT,
	CF_FINISHED_AT,
	CF_EST_TOKENS,
	CF_LIMIT_REQUESTS,
	CF_REMAINING_REQUESTS,
	CF_RESET_REQUESTS,
	CF_LIMIT_TOKENS,
	CF_REMAINING_TOKENS,
	CF_RESET_TOKENS,
	CF_RETRY_AFTER,
	CF_DEGRADED,
	CF_COUNT
} AigovCompletionField;

/* One job's completion: its new state, and its attempts row if it has one. */
typedef struct AigovCompletion
{
	int64		job_id;
	char	   *tenant_id;
	Datum		values[CF_COUNT];
	bool		nulls[CF_COUNT];
} AigovCompletion;

/*
 * A record with its identity and new state, every other field NULL,
 * allocated in the current memory context.
 */
extern AigovCompletion *AigovCompletionBegin(int64 job_id, const char *tenant_id,
											 const char *state, int attempts,
											 int failures);

/* Setters; "present" false (or a NULL string) leaves the field NULL. */
extern void AigovCompletionText(AigovCompletion *c, AigovCompletionField f,
								const char *value);
extern void AigovCompletionInt8(AigovCompletion *c, AigovCompletionField f,
								int64 value, bool present);
extern void AigovCompletionInt4(AigovCompletion *c, AigovCompletionField f,
								int32 value, bool present);
extern void AigovCompletionBool(AigovCompletion *c, AigovCompletionField f,
								bool value);
extern void AigovCompletionFloat8(AigovCompletion *c, AigovCompletionField f,
								  double value);
extern void AigovCompletionTimestamp(AigovCompletion *c, AigovCompletionField f,
									 TimestampTz value, bool present);

/*
 * Writes a list of records with aigov._complete() in a subtransaction.
 * Returns NULL on success, else the error message; the caller's
 * transaction is intact either way.
 */
extern char *AigovCompletionTryWrite(List *records);

/* What a finished provider call leaves in its job and attempts row. */
typedef struct AigovCallRecord
{
	const char *state;			/* the job's new state */
	int			failures;		/* its transient failures after the call */
	TimestampTz not_before;		/* 0: none */
	const char *response;		/* the reply as stored (NULL: none) */
	const char *raw_response;	/* the provider's own, when translated */
	const char *error_class;	/* NULL on success */
	const char *error_message;	/* the job's error; NULL: no error object */
	const char *error_code;		/* the provider's code, if any */
	int			error_http_status;	/* 0: null */
	int64		prompt_tokens;	/* -1: unknown */
	int64		completion_tokens;	/* -1: unknown */
	TimestampTz retry_after;	/* a rate limit's hint; 0: none */
} AigovCallRecord;

/* The pending group: records queued for the next write. */
extern void AigovCompletionsInit(void);
extern int	AigovCompletionsPending(void);
extern TimestampTz AigovCompletionsOldest(void);
extern void AigovCompleteWithoutCall(AigovJob *job, const char *state,
									 TimestampTz not_before, const char *cls,
									 const char *message);
extern void AigovCompleteExpired(AigovJob *job, const char *cls,
								 const char *why, TimestampTz earliest);
extern void AigovCompleteCall(AigovJob *job, const AigovCallRecord *r);
extern void AigovCompletionsWrite(void);

#endif							/* AIGOV_COMPLETION_H */
