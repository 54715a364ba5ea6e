/*-------------------------------------------------------------------------
 * fallback.h
 *	  The fallback orchestrator's decisions: when a job looks beyond its
 *	  own model, which row of aigov.compat may take it, what a job whose
 *	  model is out of reach does when none can, and which call outcomes
 *	  count against a provider's breaker.
 *
 * Pure C: no postgres.h.  The glue (reroute.c) reads the table, asks
 * translation and routing, and writes the job's record.
 *
 * IDENTIFICATION
 *	  src/fallback.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_FALLBACK_H
#define AIGOV_FALLBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "breaker.h"
#include "protocol.h"

/* How long each workload class may wait for its own model's keys. */
#define AIGOV_FALLBACK_WAIT_INTERACTIVE_US	INT64_C(1000000)
#define AIGOV_FALLBACK_WAIT_BACKGROUND_US	INT64_C(10000000)
#define AIGOV_FALLBACK_WAIT_BATCH_US		INT64_C(60000000)

/* What a job's body asks of the model that serves it. */
typedef struct AigovFallbackNeeds
{
	bool		structured;		/* response_format of type json_schema */
	bool		tools;			/* a non-empty tools (or functions) list */
} AigovFallbackNeeds;

/* One row of aigov.compat, as the glue caches it. */
typedef struct AigovCompatRow
{
	const char *provider;
	const char *model;
	int32_t		rank;
	bool		structured_output;
	bool		tool_use;
	bool		validated;
} AigovCompatRow;

extern bool aigov_fallback_needs(const char *body, size_t len,
								 AigovFallbackNeeds *out);
extern int64_t aigov_fallback_tolerance_us(const char *workload_class);
extern bool aigov_fallback_should_look(const char *workload_class,
									   int64_t now_us, int64_t free_at_us,
									   int64_t deadline_us);
extern bool aigov_fallback_latency_sensitive(const char *workload_class,
											 int64_t now_us,
											 int64_t free_at_us,
											 int64_t deadline_us);
extern const char *aigov_fallback_row_refusal(const AigovCompatRow *row,
											  const AigovFallbackNeeds *needs,
											  const char *preferred_model);
extern AigovBreakerOutcome aigov_fallback_provider_outcome(AigovErrorClass cls);

#endif							/* AIGOV_FALLBACK_H */
