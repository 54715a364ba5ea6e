/*-------------------------------------------------------------------------
 * context_fit.c
 *	  Whether a request's estimated prompt plus its output budget fits a
 *	  model's context window (see context_fit.h for the rule).
 *
 * Pure C: no postgres.h, no allocation.
 *
 * IDENTIFICATION
 *	  src/context_fit.c
 *-------------------------------------------------------------------------
 */
#include "context_fit.h"

#include "satmath.h"

int64_t
aigov_context_prompt_floor(int64_t est_tokens)
{
	int64_t		scale = 100 + AIGOV_CONTEXT_OVERCOUNT_PCT;

	if (est_tokens <= 0)
		return 0;
	/* est * 100 / scale without overflow: split est into quotient and rest */
	return (est_tokens / scale) * 100 + (est_tokens % scale) * 100 / scale;
}

bool
aigov_fits_context(int64_t est_tokens, int64_t max_tokens,
				   int32_t context_window)
{
	int64_t		output = max_tokens > 0 ? max_tokens : 1;

	if (context_window <= 0)
		return true;
	return aigov_sat_add(aigov_context_prompt_floor(est_tokens), output) <=
		(int64_t) context_window;
}
