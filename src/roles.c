/*-------------------------------------------------------------------------
 * roles.c
 *	  Tenants bound to roles: which database roles act for which tenants,
 *	  aigov.acting_tenants() for the row-level security policies, and the
 *	  switch to the extension's owner that the SQL API runs under.
 *
 * A role acts for the tenants that aigov.tenant_roles maps to any role it
 * is a member of (pg_has_role's MEMBER, so group roles work).  Superusers,
 * roles with the privileges of the extension's owner (the owner of schema
 * aigov) and members of aigov_admin act for every tenant.
 *
 * submit(), result(), wait() and cancel() are not SECURITY DEFINER: they
 * read the calling role (current_user, as SET ROLE and any SECURITY
 * DEFINER wrapper around them set it) and then switch to the owner
 * themselves, as a SECURITY DEFINER function would, for their statements.
 * A SECURITY DEFINER function has already replaced the caller when its C
 * code runs, and the outer user (the session's SET ROLE) is not the role
 * that called it when the call comes from another function.
 *
 * The mapping is read as the owner, with SPI: roles that act for tenants
 * need no privilege on aigov.tenant_roles.
 *
 * IDENTIFICATION
 *	  src/roles.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "pgutil.h"
#include "roles.h"

PG_FUNCTION_INFO_V1(aigov_acting_tenants);

static SPIPlanPtr acts_for_plan = NULL;
static SPIPlanPtr acting_plan = NULL;

/*
 * The answers of the current command, per role and tenant: an INSERT of
 * 10,000 rows asks once per tenant, not once per row.  The mapping is
 * taken as fixed within one command, as a STABLE function sees it.
 */
#define ACCESS_SLOTS 8

typedef struct AccessCache
{
	LocalTransactionId lxid;
	CommandId	cid;
	Oid			roleid;
	bool		all;			/* roleid acts for every tenant */
	int			n;
	uint32		next;			/* the slot to reuse when all are taken */
	char	   *tenant_ids[ACCESS_SLOTS];
	bool		allowed[ACCESS_SLOTS];
} AccessCache;

static AccessCache access_cache;

/*
 * AigovOwner
 *		The extension's owner: the owner of schema aigov, which the install
 *		script creates as the role that runs CREATE EXTENSION.
 */
Oid
AigovOwner(void)
{
	Oid			nspid = get_namespace_oid("aigov", false);
	HeapTuple	tup;
	Oid			owner;

	tup = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(nspid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for namespace %u", nspid);
	owner = ((Form_pg_namespace) GETSTRUCT(tup))->nspowner;
	ReleaseSysCache(tup);
	return owner;
}

/*
 * AigovBecomeOwner
 *		Runs what follows as the extension's owner, as a SECURITY DEFINER
 *		function would, until AigovRestoreUser.  An error in between needs
 *		no restore: aborting the (sub)transaction puts the user back.
 */
void
AigovBecomeOwner(AigovUserSwitch *saved)
{
	Oid			owner = AigovOwner();

	GetUserIdAndSecContext(&saved->userid, &saved->sec_context);
	SetUserIdAndSecContext(owner,
						   saved->sec_context | SECURITY_LOCAL_USERID_CHANGE);
}

void
AigovRestoreUser(const AigovUserSwitch *saved)
{
	SetUserIdAndSecContext(saved->userid, saved->sec_context);
}

/*
 * AigovRoleActsForAll
 *		Whether a role acts for every tenant: a superuser, a role with the
 *		owner's privileges, or a member of aigov_admin.
 */
bool
AigovRoleActsForAll(Oid roleid)
{
	Oid			admin;

	if (superuser_arg(roleid))
		return true;
	if (has_privs_of_role(roleid, AigovOwner()))
		return true;
	admin = get_role_oid(AIGOV_ADMIN_ROLE, true);
	return OidIsValid(admin) && is_member_of_role(roleid, admin);
}

/*
 * role_mapped_to
 *		Whether aigov.tenant_roles maps the tenant to a role that roleid is
 *		a member of.  Runs the query as the owner.
 */
static bool
role_mapped_to(Oid roleid, const char *tenant_id)
{
	Oid			argtypes[2] = {OIDOID, TEXTOID};
	Datum		args[2];
	AigovUserSwitch saved;
	bool		isnull;
	bool		found;
	int			ret;

	args[0] = ObjectIdGetDatum(roleid);
	args[1] = CStringGetTextDatum(tenant_id);
	AigovBecomeOwner(&saved);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "could not connect to SPI");
	AigovKeepPlan(&acts_for_plan,
				  "SELECT EXISTS (SELECT FROM aigov.tenant_roles t"
				  " JOIN pg_catalog.pg_roles r"
				  " ON r.rolname OPERATOR(pg_catalog.=) t.role_name"
				  " WHERE t.tenant_id OPERATOR(pg_catalog.=) $2"
				  " AND pg_catalog.pg_has_role($1, r.oid, 'MEMBER'))",
				  2, argtypes);
	ret = SPI_execute_plan(acts_for_plan, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read aigov.tenant_roles: %s",
			 SPI_result_code_string(ret));
	found = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
									   SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	AigovRestoreUser(&saved);
	return found;
}

/*
 * AigovRoleActsFor
 *		Whether a role may submit, read and cancel the jobs of a tenant.
 *		Answers are kept for the current command.
 */
bool
AigovRoleActsFor(Oid roleid, const char *tenant_id)
{
	AccessCache *c = &access_cache;
	LocalTransactionId lxid = MyProc->lxid;
	CommandId	cid = GetCurrentCommandId(false);
	int			i;
	bool		allowed;

	if (c->lxid != lxid || c->cid != cid || c->roleid != roleid)
	{
		for (i = 0; i < c->n; i++)
			pfree(c->tenant_ids[i]);
		c->n = 0;
		c->lxid = InvalidLocalTransactionId;	/* until "all" is known */
		c->all = AigovRoleActsForAll(roleid);
		c->lxid = lxid;
		c->cid = cid;
		c->roleid = roleid;
	}
	if (c->all)
		return true;
	for (i = 0; i < c->n; i++)
		if (strcmp(c->tenant_ids[i], tenant_id) == 0)
			return c->allowed[i];

	allowed = role_mapped_to(roleid, tenant_id);
	if (c->n < ACCESS_SLOTS)
		i = c->n++;
	else
	{
		i = (int) (c->next++ % ACCESS_SLOTS);
		pfree(c->tenant_ids[i]);
	}
	c->tenant_ids[i] = MemoryContextStrdup(TopMemoryContext, tenant_id);
	c->allowed[i] = allowed;
	return allowed;
}

/*
 * AigovCheckActsFor
 *		Raises 42501 unless the role acts for the tenant.  The same error
 *		for a tenant that does not exist, so that it reveals nothing.
 */
void
AigovCheckActsFor(Oid roleid, const char *tenant_id)
{
	if (AigovRoleActsFor(roleid, tenant_id))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied for tenant \"%s\"", tenant_id),
			 errdetail("Role \"%s\" does not act for this tenant.",
					   GetUserNameFromId(roleid, false)),
			 errhint("An administrator maps roles to tenants in aigov.tenant_roles.")));
}

/*
 * AigovActingTenants
 *		The tenants a role acts for, as a sorted text[] (empty for none);
 *		*isnull for a role that acts for every tenant.  Runs the query as
 *		the owner; the array is allocated in the caller's context.
 */
Datum
AigovActingTenants(Oid roleid, bool *isnull)
{
	Oid			argtype = OIDOID;
	Datum		arg = ObjectIdGetDatum(roleid);
	AigovUserSwitch saved;
	Datum		result;
	bool		null;
	int			ret;

	*isnull = false;
	if (AigovRoleActsForAll(roleid))
	{
		*isnull = true;
		return (Datum) 0;
	}
	AigovBecomeOwner(&saved);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "could not connect to SPI");
	AigovKeepPlan(&acting_plan,
				  "SELECT COALESCE(pg_catalog.array_agg(DISTINCT t.tenant_id"
				  " ORDER BY t.tenant_id), '{}')"
				  " FROM aigov.tenant_roles t"
				  " JOIN pg_catalog.pg_roles r"
				  " ON r.rolname OPERATOR(pg_catalog.=) t.role_name"
				  " WHERE pg_catalog.pg_has_role($1, r.oid, 'MEMBER')",
				  1, &argtype);
	ret = SPI_execute_plan(acting_plan, &arg, NULL, true, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read aigov.tenant_roles: %s",
			 SPI_result_code_string(ret));
	result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
						   &null);
	result = SPI_datumTransfer(result, false, -1);
	SPI_finish();
	AigovRestoreUser(&saved);
	return result;
}

/*
 * aigov_acting_tenants
 *		SQL aigov.acting_tenants(): the tenants the current role acts for;
 *		NULL when it acts for every tenant.  The row-level security
 *		policies call it as the querying role.
 */
Datum
aigov_acting_tenants(PG_FUNCTION_ARGS)
{
	bool		isnull;
	Datum		tenants = AigovActingTenants(GetUserId(), &isnull);

	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(tenants);
}
