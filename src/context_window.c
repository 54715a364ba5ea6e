/*-------------------------------------------------------------------------
 * context_window.c
 *	  Refuses at enqueue a job that cannot fit in its model's context
 *	  window: the PostgreSQL face of context_fit.c.
 *
 * Called by AigovValidateJob (enqueue.c), so aigov.submit() and a plain
 * INSERT into aigov.requests are refused alike.  The window is the
 * largest context_window among the enabled providers serving the model.
 *
 * IDENTIFICATION
 *	  src/context_window.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "context_fit.h"
#include "context_window.h"

/*
 * AigovCheckContextWindow
 *		Raises program_limit_exceeded (54000) when the estimated prompt
 *		plus max_output_tokens (<= 0: none given) is surely larger than
 *		context_window (see context_fit.h for the margin).
 */
void
AigovCheckContextWindow(const char *model, int64 prompt_tokens,
						int64 max_output_tokens, int32 context_window)
{
	if (aigov_fits_context(prompt_tokens, max_output_tokens, context_window))
		return;
	if (max_output_tokens > 0)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("request does not fit in the context window of model \"%s\"",
						model),
				 errdetail("The prompt is estimated at %lld tokens and max_tokens is %lld; the model's context window is %d tokens.",
						   (long long) prompt_tokens,
						   (long long) max_output_tokens, context_window),
				 errhint("Shorten the messages or lower max_tokens, or use a model with a larger context_window.")));
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("request does not fit in the context window of model \"%s\"",
					model),
			 errdetail("The prompt is estimated at %lld tokens; the model's context window is %d tokens.",
					   (long long) prompt_tokens, context_window),
			 errhint("Shorten the messages, or use a model with a larger context_window.")));
}
