/*-------------------------------------------------------------------------
 * actions.h
 *	  What a finished call asks of the configuration and the alert log,
 *	  written in the next cycle transaction: keys taken out of rotation,
 *	  tenants' soft-limit warnings.
 *
 * IDENTIFICATION
 *	  src/actions.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_ACTIONS_H
#define AIGOV_ACTIONS_H

#include "postgres.h"

#include "quota.h"

extern void AigovActionsInit(void);
extern bool AigovActionsPending(void);
extern void AigovActionDisableKey(int64 key_id, const char *error_class,
								  const char *reason);
extern void AigovActionSoftWarnings(const char *tenant_id,
									AigovTenantEntry *entry, uint32 soft_warn);
extern void AigovActionsApply(void);

#endif							/* AIGOV_ACTIONS_H */
