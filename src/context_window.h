/*-------------------------------------------------------------------------
 * context_window.h
 *	  The enqueue check of a job against its model's context window.
 *
 * IDENTIFICATION
 *	  src/context_window.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_CONTEXT_WINDOW_H
#define AIGOV_CONTEXT_WINDOW_H

extern void AigovCheckContextWindow(const char *model, int64 prompt_tokens,
									int64 max_output_tokens,
									int32 context_window);

#endif							/* AIGOV_CONTEXT_WINDOW_H */
