/*-------------------------------------------------------------------------
 * completion.c
 *	  A dispatcher's completion records and their grouped write.
 *
 * A record is the values of one aigov._completion_row; a group of them is
 * passed to aigov._complete() as one array of that composite type, built
 * in memory.  An earlier form passed a JSON array of objects: parsing it
 * into jsonb and reading it back field by field was about a third of the
 * dispatchers' time per job.  Replies and errors still go in as text and
 * become jsonb in SQL, so a reply PostgreSQL refuses fails that group's
 * write (and the worker retries its jobs one by one) instead of the worker.
 *
 * IDENTIFICATION
 *	  src/completion.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/resowner.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "completion.h"

/* The field names of aigov._completion_row, in AigovCompletionField order. */
static const char *const field_names[CF_COUNT] = {
	"id", "tenant_id", "state", "attempts", "failures", "admitted",
	"not_before", "response", "raw_response", "error_class", "error",
	"prompt_tokens", "completion_tokens", "key_id", "provider", "model",
	"has_attempt", "http_status", "latency_ms", "started_at", "finished_at",
	"est_tokens", "limit_requests", "remaining_requests", "reset_requests",
	"limit_tokens", "remaining_tokens", "reset_tokens", "retry_after"
};

/* The row type as last resolved, and the plan that takes its array. */
static Oid	row_type = InvalidOid;
static SPIPlanPtr complete_plan = NULL;

AigovCompletion *
AigovCompletionBegin(int64 job_id, const char *tenant_id, const char *state,
					 int attempts, int failures)
{
	AigovCompletion *c = palloc(sizeof(AigovCompletion));

	c->job_id = job_id;
	c->tenant_id = pstrdup(tenant_id);
	for (int i = 0; i < CF_COUNT; i++)
	{
		c->values[i] = (Datum) 0;
		c->nulls[i] = true;
	}
	AigovCompletionInt8(c, CF_ID, job_id, true);
	AigovCompletionText(c, CF_TENANT_ID, tenant_id);
	AigovCompletionText(c, CF_STATE, state);
	AigovCompletionInt4(c, CF_ATTEMPTS, attempts, true);
	AigovCompletionInt4(c, CF_FAILURES, failures, true);
	return c;
}

void
AigovCompletionText(AigovCompletion *c, AigovCompletionField f, const char *value)
{
	c->nulls[f] = (value == NULL);
	c->values[f] = value != NULL ? CStringGetTextDatum(value) : (Datum) 0;
}

void
AigovCompletionInt8(AigovCompletion *c, AigovCompletionField f, int64 value,
					bool present)
{
	c->nulls[f] = !present;
	c->values[f] = present ? Int64GetDatum(value) : (Datum) 0;
}

void
AigovCompletionInt4(AigovCompletion *c, AigovCompletionField f, int32 value,
					bool present)
{
	c->nulls[f] = !present;
	c->values[f] = present ? Int32GetDatum(value) : (Datum) 0;
}

void
AigovCompletionBool(AigovCompletion *c, AigovCompletionField f, bool value)
{
	c->nulls[f] = false;
	c->values[f] = BoolGetDatum(value);
}

void
AigovCompletionFloat8(AigovCompletion *c, AigovCompletionField f, double value)
{
	c->nulls[f] = false;
	c->values[f] = Float8GetDatum(value);
}

void
AigovCompletionTimestamp(AigovCompletion *c, AigovCompletionField f,
						 TimestampTz value, bool present)
{
	c->nulls[f] = !present;
	c->values[f] = present ? TimestampTzGetDatum(value) : (Datum) 0;
}

/*
 * resolve_row_type
 *		Finds aigov._completion_row (its OID changes if the extension is
 *		dropped and created again while the worker runs) and checks that
 *		its fields are the ones this build writes.  Caller is in a
 *		transaction.
 */
static void
resolve_row_type(void)
{
	Oid			nsp = get_namespace_oid("aigov", false);
	Oid			typ;
	TupleDesc	td;

	typ = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
						  CStringGetDatum("_completion_row"),
						  ObjectIdGetDatum(nsp));
	if (!OidIsValid(typ))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("type aigov._completion_row does not exist"),
				 errhint("Update the aigov extension to the version of its library.")));
	if (typ == row_type && complete_plan != NULL)
		return;

	td = lookup_rowtype_tupdesc(typ, -1);
	for (int i = 0; i < CF_COUNT; i++)
	{
		if (td->natts != CF_COUNT ||
			strcmp(NameStr(TupleDescAttr(td, i)->attname), field_names[i]) != 0)
		{
			ReleaseTupleDesc(td);
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("type aigov._completion_row does not match the aigov library"),
					 errdetail("Field %d should be \"%s\".", i + 1, field_names[i]),
					 errhint("Update the aigov extension to the version of its library.")));
		}
	}
	ReleaseTupleDesc(td);

	if (complete_plan != NULL)
	{
		SPI_freeplan(complete_plan);
		complete_plan = NULL;
	}
	{
		Oid			argtypes[2];
		SPIPlanPtr	plan;

		argtypes[0] = get_array_type(typ);
		argtypes[1] = INT4OID;
		plan = SPI_prepare("SELECT aigov._complete($1, $2)", 2, argtypes);
		if (plan == NULL)
			elog(ERROR, "could not prepare the completion write: %s",
				 SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "could not keep the completion write's plan");
		complete_plan = plan;
	}
	row_type = typ;
}

/* Writes the group.  May ereport. */
static void
write_group(List *records)
{
	int			n = list_length(records);
	Datum	   *elems = palloc(sizeof(Datum) * n);
	TupleDesc	td;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Datum		args[2];
	ListCell   *lc;
	int			i = 0;
	int			ret;

	resolve_row_type();
	td = lookup_rowtype_tupdesc(row_type, -1);
	foreach(lc, records)
	{
		AigovCompletion *c = (AigovCompletion *) lfirst(lc);
		HeapTuple	tuple = heap_form_tuple(td, c->values, c->nulls);

		elems[i++] = heap_copy_tuple_as_datum(tuple, td);
		heap_freetuple(tuple);
	}
	ReleaseTupleDesc(td);
	get_typlenbyvalalign(row_type, &typlen, &typbyval, &typalign);

	args[0] = PointerGetDatum(construct_array(elems, n, row_type, typlen,
											  typbyval, typalign));
	args[1] = Int32GetDatum(MyProcPid);
	ret = SPI_execute_plan(complete_plan, args, NULL, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not write completions: %s", SPI_result_code_string(ret));
}

char *
AigovCompletionTryWrite(List *records)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	char	   *volatile failure = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		write_group(records);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		failure = pstrdup(edata->message);
		FreeErrorData(edata);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
	return failure;
}
