/*-------------------------------------------------------------------------
 * fallback.c
 *	  The fallback orchestrator's decisions, apart from the tables and the
 *	  shared state they apply to.
 *
 * A job looks beyond its own model when its keys cannot take it before
 * it would wait longer than its workload class tolerates (interactive 1 s,
 * background 10 s, batch 60 s, and never past its deadline): an open
 * breaker, disabled keys and an exhausted daily quota or credit all show
 * up as a far or unknown time.  A row of aigov.compat is a candidate
 * unless it is the job's own model, or the job asks for structured output
 * or tools and the row is not validated for them.  When no candidate can
 * serve the job now, a latency-sensitive job (interactive, or one whose
 * deadline comes before its model frees up) fails fast; any other waits.
 *
 * Only availability failures count against a provider: 5xx, overloaded,
 * timeouts, connection failures and 403; rate limits and billing 429s
 * never do, and a reply the provider gave (success or a schema mismatch)
 * is a success.
 *
 * IDENTIFICATION
 *	  src/fallback.c
 *-------------------------------------------------------------------------
 */
#include "fallback.h"

#include <string.h>

#include <jansson.h>

static bool
nonempty_array(json_t *doc, const char *name)
{
	json_t	   *v = json_object_get(doc, name);

	return json_is_array(v) && json_array_size(v) > 0;
}

/*
 * aigov_fallback_needs
 *		What an OpenAI chat-completions body asks of its model.  A body that
 *		cannot be read asks for everything (only validated rows may take
 *		it) and returns false.
 */
bool
aigov_fallback_needs(const char *body, size_t len, AigovFallbackNeeds *out)
{
	json_t	   *doc = body != NULL ? json_loadb(body, len, 0, NULL) : NULL;
	json_t	   *rf;

	out->structured = true;
	out->tools = true;
	if (!json_is_object(doc))
	{
		json_decref(doc);
		return false;
	}
	rf = json_object_get(doc, "response_format");
	out->structured = json_is_object(rf) &&
		json_is_string(json_object_get(rf, "type")) &&
		strcmp(json_string_value(json_object_get(rf, "type")), "json_schema") == 0;
	out->tools = nonempty_array(doc, "tools") || nonempty_array(doc, "functions");
	json_decref(doc);
	return true;
}

/*
 * aigov_fallback_tolerance_us
 *		How long a job of the class may wait for its own model's keys before
 *		the orchestrator looks elsewhere.  An unknown class is treated as
 *		interactive.
 */
int64_t
aigov_fallback_tolerance_us(const char *workload_class)
{
	if (workload_class != NULL && strcmp(workload_class, "batch") == 0)
		return AIGOV_FALLBACK_WAIT_BATCH_US;
	if (workload_class != NULL && strcmp(workload_class, "background") == 0)
		return AIGOV_FALLBACK_WAIT_BACKGROUND_US;
	return AIGOV_FALLBACK_WAIT_INTERACTIVE_US;
}

/*
 * aigov_fallback_should_look
 *		Whether a job whose model frees up at free_at_us (INT64_MAX: not
 *		known to) would wait longer than it may.  deadline_us 0: none.
 */
bool
aigov_fallback_should_look(const char *workload_class, int64_t now_us,
						   int64_t free_at_us, int64_t deadline_us)
{
	int64_t		tolerance = aigov_fallback_tolerance_us(workload_class);

	if (deadline_us != 0 && deadline_us - now_us < tolerance)
		tolerance = deadline_us > now_us ? deadline_us - now_us : 0;
	if (free_at_us == INT64_MAX)
		return true;
	return free_at_us > now_us && free_at_us - now_us > tolerance;
}

/*
 * aigov_fallback_latency_sensitive
 *		Whether a job with no alternative fails at once instead of waiting
 *		for its model: interactive jobs, and jobs whose deadline comes
 *		before the model frees up.
 */
bool
aigov_fallback_latency_sensitive(const char *workload_class, int64_t now_us,
								 int64_t free_at_us, int64_t deadline_us)
{
	(void) now_us;
	if (workload_class == NULL || strcmp(workload_class, "interactive") == 0)
		return true;
	return deadline_us != 0 && deadline_us < free_at_us;
}

/*
 * aigov_fallback_row_refusal
 *		Why a compat row may not take the job, or NULL if it may (its
 *		provider's keys, breaker and translation are the glue's to check).
 */
const char *
aigov_fallback_row_refusal(const AigovCompatRow *row,
						   const AigovFallbackNeeds *needs,
						   const char *preferred_model)
{
	if (preferred_model != NULL && strcmp(row->model, preferred_model) == 0)
		return "it is the job's own model";
	if (needs->structured && !(row->structured_output && row->validated))
		return "the job asks for structured output and the row is not validated for it";
	if (needs->tools && !(row->tool_use && row->validated))
		return "the job uses tools and the row is not validated for them";
	return NULL;
}

/*
 * aigov_fallback_provider_outcome
 *		What a call's class tells its provider's breaker.
 */
AigovBreakerOutcome
aigov_fallback_provider_outcome(AigovErrorClass cls)
{
	switch (cls)
	{
		case AIGOV_CLASS_SUCCESS:
		case AIGOV_CLASS_SCHEMA_MISMATCH:
			return AIGOV_BREAKER_SUCCESS;
		case AIGOV_CLASS_SERVER_ERROR:
		case AIGOV_CLASS_OVERLOADED:
		case AIGOV_CLASS_TIMEOUT:
		case AIGOV_CLASS_CONNECTION:
		case AIGOV_CLASS_FORBIDDEN:
			return AIGOV_BREAKER_FAILURE;
		default:
			return AIGOV_BREAKER_NEUTRAL;
	}
}
