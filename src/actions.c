/*-------------------------------------------------------------------------
 * actions.c
 *	  What a finished call asks of the configuration and the alert log:
 *	  keys taken out of rotation (with an alert), tenants' soft-limit
 *	  warnings found when a reply's usage is reconciled.
 *
 * Calls finish outside any transaction, so these are queued, in a context
 * of their own, and applied at the start of the next cycle transaction,
 * before the completions that caused them are written.
 *
 * IDENTIFICATION
 *	  src/actions.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "actions.h"
#include "keycache.h"

typedef enum ActionKind
{
	ACTION_DISABLE_KEY,
	ACTION_SOFT_WARNINGS
} ActionKind;

typedef struct Action
{
	ActionKind	kind;
	int64		key_id;			/* ACTION_DISABLE_KEY */
	char	   *error_class;
	char	   *reason;
	char	   *tenant_id;		/* ACTION_SOFT_WARNINGS */
	AigovTenantEntry *tenant;
	uint32		soft_warn;
} Action;

static MemoryContext actions_cxt = NULL;
static List *actions = NIL;

void
AigovActionsInit(void)
{
	if (actions_cxt == NULL)
		actions_cxt = AllocSetContextCreate(TopMemoryContext, "aigov actions",
											ALLOCSET_SMALL_SIZES);
}

bool
AigovActionsPending(void)
{
	return actions != NIL;
}

/*
 * AigovActionDisableKey
 *		Takes a key out of rotation at once (this worker's cache and the
 *		key's shared state) and queues the table update and its alert.
 */
void
AigovActionDisableKey(int64 key_id, const char *error_class, const char *reason)
{
	MemoryContext old = MemoryContextSwitchTo(actions_cxt);
	Action	   *a = palloc0(sizeof(Action));

	a->kind = ACTION_DISABLE_KEY;
	a->key_id = key_id;
	a->error_class = pstrdup(error_class);
	a->reason = pstrdup(reason);
	actions = lappend(actions, a);
	MemoryContextSwitchTo(old);
	AigovKeyCacheMarkUnusable(key_id);
}

/*
 * AigovActionSoftWarnings
 *		Queues one alert per soft limit a tenant just crossed; nothing when
 *		soft_warn is 0.
 */
void
AigovActionSoftWarnings(const char *tenant_id, AigovTenantEntry *entry,
						uint32 soft_warn)
{
	MemoryContext old;
	Action	   *a;

	if (soft_warn == 0)
		return;
	old = MemoryContextSwitchTo(actions_cxt);
	a = palloc0(sizeof(Action));
	a->kind = ACTION_SOFT_WARNINGS;
	a->tenant_id = pstrdup(tenant_id);
	a->tenant = entry;
	a->soft_warn = soft_warn;
	actions = lappend(actions, a);
	MemoryContextSwitchTo(old);
}

/* Disables a key in aigov.keys with one alert row, if still enabled. */
static void
disable_key(const Action *a)
{
	Oid			argtypes[3] = {INT8OID, TEXTOID, TEXTOID};
	Datum		args[3];
	int			ret;

	args[0] = Int64GetDatum(a->key_id);
	args[1] = CStringGetTextDatum(a->error_class);
	args[2] = CStringGetTextDatum(a->reason);
	ret = SPI_execute_with_args("WITH k AS (UPDATE aigov.keys SET enabled = false,"
								"  disabled_reason = $2 OPERATOR(pg_catalog.||) ': '"
								"  OPERATOR(pg_catalog.||) $3,"
								"  disabled_at = pg_catalog.clock_timestamp()"
								"  WHERE key_id OPERATOR(pg_catalog.=) $1 AND enabled"
								"  RETURNING key_id, provider, label)"
								" INSERT INTO aigov.alert_events"
								" (severity, kind, key_id, provider, message, detail)"
								" SELECT 'critical', 'key_disabled', k.key_id, k.provider,"
								"  'key ' OPERATOR(pg_catalog.||) k.label"
								"  OPERATOR(pg_catalog.||) ' was taken out of rotation: '"
								"  OPERATOR(pg_catalog.||) $2,"
								"  pg_catalog.jsonb_build_object('class', $2, 'message', $3)"
								" FROM k",
								3, argtypes, args, NULL, false, 0);
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "could not disable key: %s", SPI_result_code_string(ret));
}

/*
 * AigovActionsApply
 *		Applies every queued action.  Runs inside a transaction connected
 *		to SPI; the queue is emptied whatever happens, since a failed apply
 *		rolls back the whole cycle and a key's call will fail again.
 */
void
AigovActionsApply(void)
{
	List	   *todo = actions;
	ListCell   *lc;

	actions = NIL;
	foreach(lc, todo)
	{
		Action	   *a = (Action *) lfirst(lc);

		if (a->kind == ACTION_DISABLE_KEY)
			disable_key(a);
		else
			AigovNoteSoftWarnings(a->tenant_id, a->tenant, a->soft_warn);
	}
	MemoryContextReset(actions_cxt);
}
