/*-------------------------------------------------------------------------
 * alerts.c
 *	  Utilisation alerts at 70% and 90%: the worker stage that evaluates
 *	  every key, tenant and provider aggregate, and writes one
 *	  aigov.alert_events row and one NOTIFY aigov_alert per change of
 *	  level.
 *
 * Worker 0 runs AigovAlertsEvaluate() in its cycle transaction every
 * AIGOV_ALERT_INTERVAL_MS.  It reads aigov._utilisation (a view over
 * aigov.key_state() and aigov.tenant_state()), applies the rule of
 * alertrule.c to the level each subject and axis was at, and keeps the new
 * level in a shared hash table, so a restarted worker does not alert again
 * for a crossing it already reported; after a server restart the levels
 * start at none, and a subject still over a threshold alerts once more.
 *
 * Lock order: the level table's LWLock alone, never held across SPI.
 *
 * IDENTIFICATION
 *	  src/alerts.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "alertrule.h"
#include "alerts.h"
#include "pgutil.h"
#include "quota.h"
#include "telemetry.h"

/* Provider aggregates the level table holds beyond keys and tenants. */
#define ALERT_PROVIDER_SLOTS	256

/*
 * A subject: 'k'ey (its label), 't'enant or 'p'rovider.  XXX: a label or
 * provider name longer than the subject field is cut, so two such names
 * sharing a prefix would share levels.
 */
typedef struct AigovAlertSubject
{
	char		kind;
	char		subject[AIGOV_TENANT_ID_MAX];
} AigovAlertSubject;

typedef struct AigovAlertLevels
{
	AigovAlertSubject key;		/* hash key */
	uint8		level[AIGOV_TELEMETRY_AXES];
} AigovAlertLevels;

/* One row of aigov._utilisation, copied out of SPI. */
typedef struct AlertReading
{
	char	   *kind;
	char	   *subject;
	char	   *axis;
	double		utilisation;	/* percent */
	int			axis_index;
} AlertReading;

static HTAB *level_table = NULL;
static LWLock *level_lock = NULL;
static SPIPlanPtr read_plan = NULL;
static SPIPlanPtr write_plan = NULL;

static long
level_table_size(void)
{
	return (long) aigov_max_keys + aigov_max_tenants + ALERT_PROVIDER_SLOTS;
}

Size
AigovAlertsShmemSize(void)
{
	return hash_estimate_size(level_table_size(), sizeof(AigovAlertLevels));
}

/*
 * AigovAlertsShmemInit
 *		Attaches the level table; called from the shmem startup hook with
 *		AddinShmemInitLock held.
 */
void
AigovAlertsShmemInit(void)
{
	HASHCTL		info;

	/* lock 4 of the tranche: 0-2 belong to shmem.c and quota.c, 3 to fairq.c */
	level_lock = &(GetNamedLWLockTranche("aigov"))[4].lock;
	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(AigovAlertSubject);
	info.entrysize = sizeof(AigovAlertLevels);
	level_table = ShmemInitHash("aigov alert levels", level_table_size(),
								level_table_size(), &info,
								HASH_ELEM | HASH_BLOBS);
}

static int
axis_index(const char *axis)
{
	for (int a = 0; a < AIGOV_TELEMETRY_AXES; a++)
		if (strcmp(axis, aigov_telemetry_axis_name((AigovTelemetryAxis) a)) == 0)
			return a;
	elog(ERROR, "unknown quota axis \"%s\"", axis);
	return -1;					/* keep the compiler quiet */
}

/*
 * swap_level
 *		Stores a reading's new level and returns the one it replaces.
 *		When the table is full the reading is treated as level none, so a
 *		subject without a slot never alerts rather than alerting at every
 *		evaluation.
 */
static int
swap_level(const AlertReading *r, int64 ppm, int *next)
{
	AigovAlertSubject key;
	AigovAlertLevels *entry;
	bool		found;
	int			previous;

	memset(&key, 0, sizeof(key));
	key.kind = r->kind[0];
	strlcpy(key.subject, r->subject, sizeof(key.subject));
	LWLockAcquire(level_lock, LW_EXCLUSIVE);
	entry = hash_search(level_table, &key, HASH_ENTER_NULL, &found);
	if (entry == NULL)
	{
		LWLockRelease(level_lock);
		*next = AIGOV_ALERT_LEVEL_NONE;
		return AIGOV_ALERT_LEVEL_NONE;
	}
	if (!found)
		memset(entry->level, 0, sizeof(entry->level));
	previous = entry->level[r->axis_index];
	*next = aigov_alert_level_next(previous, ppm);
	entry->level[r->axis_index] = (uint8) *next;
	LWLockRelease(level_lock);
	return previous;
}

/*
 * write_alert
 *		Inserts the alert row of one change of level and sends its NOTIFY
 *		(delivered at commit).  Caller is connected to SPI.
 */
static void
write_alert(const AlertReading *r, int previous, int level)
{
	Oid			argtypes[8] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT4OID,
	INT4OID, FLOAT8OID, TEXTOID};
	Datum		args[8];
	int			ret;

	args[0] = CStringGetTextDatum(aigov_alert_severity(previous, level));
	args[1] = CStringGetTextDatum(r->kind);
	args[2] = CStringGetTextDatum(r->subject);
	args[3] = CStringGetTextDatum(r->axis);
	args[4] = Int32GetDatum(level);
	args[5] = Int32GetDatum(previous);
	args[6] = Float8GetDatum(r->utilisation);
	if (level > previous)
		args[7] = CStringGetTextDatum(psprintf("%s \"%s\" reached %d%% of its %s quota (%.1f%%)",
											   r->kind, r->subject, level,
											   r->axis, r->utilisation));
	else
		args[7] = CStringGetTextDatum(psprintf("%s \"%s\" fell under %d%% of its %s quota (%.1f%%)",
											   r->kind, r->subject,
											   previous - AIGOV_ALERT_CLEAR_MARGIN,
											   r->axis, r->utilisation));
	AigovKeepPlan(&write_plan,
				  "SELECT aigov._raise_utilisation_alert($1, $2, $3, $4, $5, $6,"
				  " $7, $8)", 8, argtypes);
	ret = SPI_execute_plan(write_plan, args, NULL, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not write alert: %s", SPI_result_code_string(ret));
}

/*
 * read_utilisation
 *		The rows of aigov._utilisation, copied into the caller's context.
 *		Caller is connected to SPI.
 */
static List *
read_utilisation(MemoryContext cxt)
{
	static const char *const names[] = {"kind", "subject", "axis", "utilisation"};
	int			cols[4];
	List	   *rows = NIL;
	int			ret;

	AigovKeepPlan(&read_plan,
				  "SELECT u.kind, u.subject, u.axis, u.utilisation"
				  " FROM aigov._utilisation u"
				  " ORDER BY u.kind, u.subject, u.axis", 0, NULL);
	ret = SPI_execute_plan(read_plan, NULL, NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read utilisation: %s", SPI_result_code_string(ret));
	AigovColumnsLookup(SPI_tuptable->tupdesc, names, 4, cols);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		MemoryContext old = MemoryContextSwitchTo(cxt);
		AlertReading *r = palloc(sizeof(AlertReading));
		bool		isnull;

		r->kind = AigovGetText(tuple, desc, cols[0]);
		r->subject = AigovGetText(tuple, desc, cols[1]);
		r->axis = AigovGetText(tuple, desc, cols[2]);
		r->utilisation = DatumGetFloat8(SPI_getbinval(tuple, desc, cols[3], &isnull));
		r->axis_index = axis_index(r->axis);
		rows = lappend(rows, r);
		MemoryContextSwitchTo(old);
	}
	return rows;
}

/*
 * evaluate
 *		One evaluation: every reading against its stored level.
 */
static void
evaluate(MemoryContext cxt)
{
	List	   *rows = read_utilisation(cxt);
	ListCell   *lc;

	foreach(lc, rows)
	{
		AlertReading *r = lfirst(lc);
		int64		ppm = (int64) (r->utilisation * 10000.0);
		int			level;
		int			previous = swap_level(r, ppm, &level);

		/*
		 * XXX: the level is stored before the row is written; if the cycle
		 * transaction then fails, this change goes unreported.
		 */
		if (level != previous)
			write_alert(r, previous, level);
	}
}

/*
 * AigovAlertsEvaluate
 *		The alert stage of worker 0's cycle transaction.  Runs in a
 *		subtransaction: an error is logged as a WARNING and the cycle goes
 *		on.  Caller is in a transaction and connected to SPI.
 */
void
AigovAlertsEvaluate(void)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	MemoryContext work = AllocSetContextCreate(cxt, "aigov alerts",
											   ALLOCSET_SMALL_SIZES);

	if (level_table == NULL)
		return;
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		evaluate(work);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		ereport(WARNING,
				(errmsg("could not evaluate utilisation alerts: %s", edata->message)));
		FreeErrorData(edata);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
	MemoryContextDelete(work);
}
