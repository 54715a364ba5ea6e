/*-------------------------------------------------------------------------
 * keycache.h
 *	  A dispatcher's cache of the key pool: which enabled keys serve which
 *	  model, with their providers' addresses and dialects.
 *
 * IDENTIFICATION
 *	  src/keycache.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_KEYCACHE_H
#define AIGOV_KEYCACHE_H

#include "postgres.h"

#include "api_style.h"
#include "quota.h"

/* The most keys one model's jobs choose among. */
#define AIGOV_MAX_CANDIDATES 256

typedef struct AigovCachedKey
{
	int64		key_id;
	char	   *label;
	char	   *secret;			/* resolved; zeroed when the cache goes */
	char	   *provider;
	AigovApiStyle style;
	char	   *base_url;		/* without a trailing slash */
	char	   *host;			/* base_url's host; NULL if unreadable */
	char	   *workload_class; /* NULL = any */
	char	   *tenant_group;	/* NULL = any */
	AigovKeyLimits limits;		/* as configured in aigov.keys */
	AigovKeyEntry *shared;		/* its state in shared memory */
	bool		unusable;		/* disabled by this worker, reload pending */
	char	   *refused_reason; /* why its secret cannot be had; NULL = it can */
} AigovCachedKey;

extern void AigovKeyCacheLoad(void);
extern int	AigovKeyCacheCandidates(const char *model,
									AigovCachedKey **keys, int max);
extern void AigovKeyCacheMarkUnusable(int64 key_id);

#endif							/* AIGOV_KEYCACHE_H */
