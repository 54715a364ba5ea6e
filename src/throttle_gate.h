/*-------------------------------------------------------------------------
 * throttle_gate.h
 *	  The adaptive throttle (layer 3) in shared memory: one controller per
 *	  provider, asked by the planner before a job is routed.
 *
 * IDENTIFICATION
 *	  src/throttle_gate.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_THROTTLE_GATE_H
#define AIGOV_THROTTLE_GATE_H

#include "postgres.h"

#include "keycache.h"
#include "quota.h"
#include "throttle.h"

/* Longest provider name that gets a controller (bytes, terminator out). */
#define AIGOV_THROTTLE_PROVIDER_MAX		127
/* Keys of a provider's pool whose load a controller remembers. */
#define AIGOV_THROTTLE_MAX_KEYS			64

/* A provider's controller copied out of shared memory, brought up to now. */
typedef struct AigovThrottleCopy
{
	char		provider[AIGOV_THROTTLE_PROVIDER_MAX + 1];
	AigovThrottle th;
	int			nkeys;
	int64		key_id[AIGOV_THROTTLE_MAX_KEYS];
} AigovThrottleCopy;

extern int	aigov_throttle_start_pct;

extern void AigovThrottleDefineGucs(void);
extern Size AigovThrottleShmemSize(void);
extern void AigovThrottleShmemInit(void);

extern bool AigovThrottleGate(AigovCachedKey *const *keys,
							  const AigovKeyState *states, int n,
							  const char *workload_class, int64 charge_tokens,
							  int64 latest_us, int64 now_us,
							  int64 *not_before_us);
extern void AigovThrottleCharge(const char *provider,
								const char *workload_class,
								int64 charge_tokens, int64 now_us);
extern int	AigovThrottleCopyAll(const AigovKeyCopy *keys, int nkeys,
								 int64 now_us, AigovThrottleCopy **out);
extern const AigovThrottleCopy *AigovThrottleFindKey(const AigovThrottleCopy *copies,
													 int n, int64 key_id);

#endif							/* AIGOV_THROTTLE_GATE_H */
