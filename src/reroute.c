/*-------------------------------------------------------------------------
 * reroute.c
 *	  The fallback orchestrator in the worker: the cache of aigov.compat,
 *	  and the plan of a job whose own model cannot take it in time.
 *
 * The cache is rebuilt with the key cache (keycache.c), on every change of
 * the configuration generation; it holds the rows of enabled providers,
 * with each provider's api style, in the order of the choice: task type,
 * then rank, provider and model.  plan.c asks AigovFallbackPlan when
 * routing a job on its own model found no key now.  For a task type that
 * has rows, and a job that did not opt out, when the job's model is
 * unavailable (no enabled key, or its breakers open) or would make it wait
 * longer than its class allows (fallback.c), the rows are tried in order:
 * a row the job's needs refuse, or whose dialect cannot carry the request
 * (translate.h), is skipped with its reason; the first whose provider has
 * a key with headroom and closed breakers for the row's model takes the
 * job, which is then degraded and carries the row's model, in its body
 * too (every dialect reads the model there).  With none, a
 * latency-sensitive job fails fast, naming the reasons; others wait.
 *
 * IDENTIFICATION
 *	  src/reroute.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/memutils.h"

#include "aigov.h"
#include "fallback.h"
#include "pgutil.h"
#include "plan.h"
#include "reroute.h"
#include "translate.h"

typedef struct CachedCompat
{
	char	   *task_type;
	AigovCompatRow row;
	AigovApiStyle style;
} CachedCompat;

static MemoryContext compat_cxt = NULL;
static CachedCompat *compat = NULL;
static int	ncompat = 0;

static const char *const compat_columns[] = {
	"task_type", "provider", "model", "rank", "structured_output",
	"tool_use", "validated", "api_style"
};

enum
{
	COL_TASK_TYPE, COL_PROVIDER, COL_MODEL, COL_RANK, COL_STRUCTURED,
	COL_TOOL_USE, COL_VALIDATED, COL_API_STYLE, NCOLUMNS
};

/*
 * AigovCompatCacheLoad
 *		Rebuilds the cache of aigov.compat.  Runs inside a transaction
 *		connected to SPI, as the key cache's load does.
 */
void
AigovCompatCacheLoad(void)
{
	MemoryContext old;
	int			col[NCOLUMNS];
	int			ret;

	ret = SPI_execute("SELECT c.task_type, c.provider, c.model, c.rank,"
					  " c.structured_output, c.tool_use, c.validated, p.api_style"
					  " FROM aigov.compat c"
					  " JOIN aigov.providers p ON p.provider OPERATOR(pg_catalog.=) c.provider"
					  " WHERE p.enabled"
					  " ORDER BY c.task_type, c.rank, c.provider, c.model", true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read aigov.compat: %s", SPI_result_code_string(ret));
	AigovColumnsLookup(SPI_tuptable->tupdesc, compat_columns, NCOLUMNS, col);

	if (compat_cxt != NULL)
		MemoryContextDelete(compat_cxt);
	compat_cxt = AllocSetContextCreate(TopMemoryContext, "aigov compat cache",
									   ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(compat_cxt);
	compat = palloc0(sizeof(CachedCompat) * Max(SPI_processed, 1));
	ncompat = 0;
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	tupdesc = SPI_tuptable->tupdesc;
		CachedCompat *c = &compat[ncompat++];
		char	   *style = AigovGetText(tuple, tupdesc, col[COL_API_STYLE]);

		c->task_type = AigovGetText(tuple, tupdesc, col[COL_TASK_TYPE]);
		c->row.provider = AigovGetText(tuple, tupdesc, col[COL_PROVIDER]);
		c->row.model = AigovGetText(tuple, tupdesc, col[COL_MODEL]);
		c->row.rank = AigovGetInt32(tuple, tupdesc, col[COL_RANK], 1);
		c->row.structured_output = AigovGetBool(tuple, tupdesc, col[COL_STRUCTURED], false);
		c->row.tool_use = AigovGetBool(tuple, tupdesc, col[COL_TOOL_USE], false);
		c->row.validated = AigovGetBool(tuple, tupdesc, col[COL_VALIDATED], false);
		if (style == NULL || !aigov_protocol_style_from_name(style, &c->style))
			c->style = AIGOV_API_OPENAI;	/* the table's CHECK allows no
											 * other */
	}
	MemoryContextSwitchTo(old);
}

/*
 * translation_refusal
 *		Why the row's dialect cannot carry the job's request for the row's
 *		model, or NULL if it can.  Azure speaks OpenAI's chat dialect.
 */
static char *
translation_refusal(const AigovJob *job, const CachedCompat *c)
{
	AigovTranslateOptions opts;
	AigovTranslatedRequest out;
	AigovTranslateStatus ts;
	AigovApiStyle style = c->style == AIGOV_API_AZURE ? AIGOV_API_OPENAI : c->style;
	char	   *why = NULL;

	memset(&opts, 0, sizeof(opts));
	opts.default_max_tokens = aigov_default_max_tokens;
	opts.allow_degraded = false;
	ts = aigov_translate_request(style, job->body, strlen(job->body),
								 c->row.model, &opts, &out);
	if (ts != AIGOV_TRANSLATE_OK)
		why = psprintf("its dialect cannot carry the request: %s",
					   out.detail[0] ? out.detail : aigov_translate_status_name(ts));
	aigov_translate_request_free(&out);
	return why;
}

/*
 * body_for_model
 *		The job's OpenAI body with "model" set to the alternative's (the
 *		dialects read the model from the body), allocated in the current
 *		context; NULL if it cannot be rewritten, with the reason in *why.
 */
static char *
body_for_model(const AigovJob *job, const char *model, char **why)
{
	AigovTranslatedRequest out;
	AigovTranslateStatus ts;
	char	   *body = NULL;

	ts = aigov_translate_request(AIGOV_API_OPENAI, job->body, strlen(job->body),
								 model, NULL, &out);
	if (ts == AIGOV_TRANSLATE_OK && out.body != NULL)
		body = pstrdup(out.body);
	else
		*why = psprintf("the request's model cannot be rewritten: %s",
						out.detail[0] ? out.detail : aigov_translate_status_name(ts));
	aigov_translate_request_free(&out);
	return body;
}

/*
 * try_rows
 *		Routes the job on the first compat row of its task type that can
 *		serve it now; true if one took it.  Each row passed over adds its
 *		reason to reasons.
 */
static bool
try_rows(AigovJob *job, int first, int64 now_us, StringInfo reasons)
{
	AigovFallbackNeeds needs;

	aigov_fallback_needs(job->body, strlen(job->body), &needs);
	for (int i = first; i < ncompat && strcmp(compat[i].task_type, job->task_type) == 0; i++)
	{
		const CachedCompat *c = &compat[i];
		const char *refused = aigov_fallback_row_refusal(&c->row, &needs, job->model);
		char	   *why = NULL;

		if (refused != NULL && strcmp(c->row.model, job->model) == 0)
			continue;			/* its own model: no reason worth telling */
		if (refused == NULL)
			refused = why = translation_refusal(job, c);
		if (refused == NULL)
		{
			char	   *model = pstrdup(c->row.model);
			char	   *body = body_for_model(job, model, &why);

			if (body != NULL && AigovPlanRouteOn(job, model, c->row.provider, now_us))
			{
				job->body = body;
				return true;
			}
			refused = why != NULL ? why :
				"no key of the provider has headroom now, or its breaker is open";
		}
		appendStringInfo(reasons, "%s%s/%s: %s", reasons->len > 0 ? "; " : "",
						 c->row.provider, c->row.model, refused);
		if (why != NULL)
			pfree(why);
	}
	return false;
}

/*
 * AigovFallbackSoon
 *		Whether a job that a rate limit sends back to the queue until
 *		not_before_us should rather be planned again at once, to fall back:
 *		it may, its task type has alternatives, and the wait is longer than
 *		its class allows (a daily quota's 429 names the next day).
 */
bool
AigovFallbackSoon(const AigovJob *job, int64 now_us, int64 not_before_us)
{
	int64		deadline_us = job->deadline != 0 ? AigovToUnixUs(job->deadline) : 0;
	bool		has_rows = false;

	if (!job->fallback_allowed || job->task_type == NULL || not_before_us <= now_us)
		return false;
	for (int i = 0; i < ncompat && !has_rows; i++)
		has_rows = strcmp(compat[i].task_type, job->task_type) == 0;
	return has_rows &&
		aigov_fallback_should_look(job->workload_class, now_us, not_before_us, deadline_us);
}

/*
 * AigovFallbackPlan
 *		Plans a job its own model cannot take now (see the file's banner).
 *		free_at_us: when the model frees up (INT64_MAX: not known to);
 *		unavailable: it has no enabled key, or every one is behind an open
 *		breaker.  On FAIL, *why is the job's error message.
 */
AigovFallbackResult
AigovFallbackPlan(AigovJob *job, int64 now_us, int64 free_at_us,
				  bool unavailable, char **why)
{
	int64		deadline_us = job->deadline != 0 ? AigovToUnixUs(job->deadline) : 0;
	StringInfoData reasons;
	int			first;

	*why = NULL;
	if (!job->fallback_allowed || job->task_type == NULL || job->model == NULL)
		return AIGOV_FALLBACK_NOT_TAKEN;
	for (first = 0; first < ncompat; first++)
		if (strcmp(compat[first].task_type, job->task_type) == 0)
			break;
	if (first == ncompat)
		return AIGOV_FALLBACK_NOT_TAKEN;	/* no fallback configured */
	if (!unavailable &&
		!aigov_fallback_should_look(job->workload_class, now_us, free_at_us, deadline_us))
		return AIGOV_FALLBACK_NOT_TAKEN;

	initStringInfo(&reasons);
	if (try_rows(job, first, now_us, &reasons))
	{
		job->degraded = true;
		return AIGOV_FALLBACK_ROUTED;
	}
	if (free_at_us == INT64_MAX ||
		!aigov_fallback_latency_sensitive(job->workload_class, now_us, free_at_us,
										  deadline_us))
		return AIGOV_FALLBACK_NOT_TAKEN;
	*why = psprintf("no key of model \"%s\" can take the job before %s, and no compatible alternative for task type \"%s\" can serve it now%s%s",
					job->model, timestamptz_to_str(AigovFromUnixUs(free_at_us)),
					job->task_type, reasons.len > 0 ? ": " : "", reasons.data);
	return AIGOV_FALLBACK_FAIL;
}
