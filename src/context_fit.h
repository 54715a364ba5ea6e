/*-------------------------------------------------------------------------
 * context_fit.h
 *	  Whether a request can fit in a model's context window, judged from
 *	  aigov's token estimate (src/tokens.c).
 *
 * A model's context window bounds its input and output together: the
 * prompt's tokens plus the output the request allows (max_tokens) must
 * not exceed it.  aigov only has an estimate of the prompt, which can
 * over-count real text by up to about a fifth (docs/token-estimation.md),
 * so a prompt is judged too large only when even the smallest size the
 * estimate allows for does not fit: no request a provider would accept
 * is refused.  A request judged to fit may still be refused by the
 * provider (the error class context_window).
 *
 * Used by the enqueue check (context_window.c) and meant for the router
 * choosing among compatible models.
 *
 * Pure C, <stdint.h>/<stdbool.h> only.
 *
 * IDENTIFICATION
 *	  src/context_fit.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_CONTEXT_FIT_H
#define AIGOV_CONTEXT_FIT_H

#include <stdbool.h>
#include <stdint.h>

/*
 * How much the token estimate may exceed a prompt's real token count, in
 * percent: the worst text sample of docs/token-estimation.md is over-counted
 * by 22.4%, rounded up.
 */
#define AIGOV_CONTEXT_OVERCOUNT_PCT 25

/*
 * The smallest real prompt size an estimate of est_tokens allows for:
 * est_tokens * 100 / (100 + AIGOV_CONTEXT_OVERCOUNT_PCT), rounded down;
 * 0 for est_tokens <= 0.
 */
extern int64_t aigov_context_prompt_floor(int64_t est_tokens);

/*
 * true unless the request is surely too large for the window:
 * aigov_context_prompt_floor(est_tokens) plus the output budget exceeds
 * context_window.  The output budget is max_tokens when > 0; a request
 * without one (max_tokens <= 0) still needs room for one output token.
 * A context_window <= 0 is unknown and everything fits.  No overflow for
 * any input.
 */
extern bool aigov_fits_context(int64_t est_tokens, int64_t max_tokens,
							   int32_t context_window);

#endif							/* AIGOV_CONTEXT_FIT_H */
