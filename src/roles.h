/*-------------------------------------------------------------------------
 * roles.h
 *	  Which database roles act for which tenants, and running as the
 *	  extension's owner.
 *
 * IDENTIFICATION
 *	  src/roles.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_ROLES_H
#define AIGOV_ROLES_H

#include "postgres.h"

/* Members of this role act for every tenant; it holds no privileges. */
#define AIGOV_ADMIN_ROLE "aigov_admin"

/* The user and security context to go back to after running as owner. */
typedef struct AigovUserSwitch
{
	Oid			userid;
	int			sec_context;
} AigovUserSwitch;

extern Oid	AigovOwner(void);
extern void AigovBecomeOwner(AigovUserSwitch *saved);
extern void AigovRestoreUser(const AigovUserSwitch *saved);

extern bool AigovRoleActsForAll(Oid roleid);
extern bool AigovRoleActsFor(Oid roleid, const char *tenant_id);
extern void AigovCheckActsFor(Oid roleid, const char *tenant_id);
extern Datum AigovActingTenants(Oid roleid, bool *isnull);

#endif							/* AIGOV_ROLES_H */
