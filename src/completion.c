/*-------------------------------------------------------------------------
 * completion.c
 *	  A dispatcher's completion records and their grouped write.
 *
 * Records are built here, from a job and what became of it, in the
 * pending group's own memory context; the group is written in the next
 * cycle transaction and its context reset, so a record (and every string
 * built for it) lives exactly until it is written.
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
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "completion.h"
#include "pgutil.h"

/* The field names of aigov._completion_row, in AigovCompletionField order. */
static const char *const field_names[CF_COUNT] = {
	"id", "tenant_id", "state", "attempts", "failures", "admitted",
	"not_before", "response", "raw_response", "error_class", "error",
	"prompt_tokens", "completion_tokens", "key_id", "provider", "model",
	"has_attempt", "http_status", "latency_ms", "started_at", "finished_at",
	"est_tokens", "limit_requests", "remaining_requests", "reset_requests",
	"limit_tokens", "remaining_tokens", "reset_tokens", "retry_after",
	"degraded"
};

/* The row type as last resolved, and the plan that takes its array. */
static Oid	row_type = InvalidOid;
static SPIPlanPtr complete_plan = NULL;

/* The pending group, in its own context, reset once written. */
static MemoryContext pending_cxt = NULL;
static List *pending = NIL;
static TimestampTz pending_since = 0;

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

/* ---------- the pending group ---------- */

/*
 * AigovCompletionsInit
 *		Creates the pending group's context; once per worker.
 */
void
AigovCompletionsInit(void)
{
	if (pending_cxt == NULL)
		pending_cxt = AllocSetContextCreate(TopMemoryContext, "aigov completions",
											ALLOCSET_DEFAULT_SIZES);
}

/* How many records wait for the next write. */
int
AigovCompletionsPending(void)
{
	return list_length(pending);
}

/* When the oldest pending record was queued (0: none is). */
TimestampTz
AigovCompletionsOldest(void)
{
	return pending_since;
}

static void
queue_record(AigovCompletion *c)
{
	pending = lappend(pending, c);
	if (pending_since == 0)
		pending_since = GetCurrentTimestamp();
}

static void
json_key(StringInfo buf, const char *key)
{
	if (buf->len > 1)
		appendStringInfoChar(buf, ',');
	escape_json(buf, key);
	appendStringInfoChar(buf, ':');
}

static void
json_str(StringInfo buf, const char *key, const char *value)
{
	json_key(buf, key);
	if (value == NULL)
		appendStringInfoString(buf, "null");
	else
		escape_json(buf, value);
}

static void
json_int(StringInfo buf, const char *key, int64 value, bool present)
{
	json_key(buf, key);
	if (present)
		appendStringInfo(buf, INT64_FORMAT, value);
	else
		appendStringInfoString(buf, "null");
}

/*
 * error_object
 *		The error jsonb of a job: class, message and context, never the
 *		key's secret.  Allocated in the current context.
 */
static char *
error_object(const char *cls, const char *message, const char *code,
			 int http_status, const AigovJob *job, int attempts)
{
	StringInfoData e;

	initStringInfo(&e);
	appendStringInfoChar(&e, '{');
	json_str(&e, "class", cls);
	json_str(&e, "message", message);
	if (code != NULL && code[0] != '\0')
		json_str(&e, "code", code);
	json_int(&e, "http_status", http_status, http_status > 0);
	if (job->provider != NULL)
		json_str(&e, "provider", job->provider);
	if (job->key_label != NULL)
		json_str(&e, "key", job->key_label);
	json_int(&e, "attempts", attempts, true);
	appendStringInfoChar(&e, '}');
	return e.data;
}

/* Starts a job's record; caller is in pending_cxt. */
static AigovCompletion *
begin_record(const AigovJob *job, const char *state, int attempts, int failures)
{
	AigovCompletion *c;

	c = AigovCompletionBegin(job->id, job->tenant_id, state, attempts, failures);
	if (job->admitted_now)
		AigovCompletionBool(c, CF_ADMITTED, true);
	return c;
}

/*
 * AigovCompleteWithoutCall
 *		Queues the outcome of a job that did not reach a provider this time
 *		(expired, unroutable, untranslatable, or waiting for a key or its
 *		tenant's quota): its claim's attempt is given back.  cls NULL: no
 *		error.
 */
void
AigovCompleteWithoutCall(AigovJob *job, const char *state,
						 TimestampTz not_before, const char *cls,
						 const char *message)
{
	MemoryContext old = MemoryContextSwitchTo(pending_cxt);
	AigovCompletion *c = begin_record(job, state, job->attempts - 1, job->failures);

	AigovCompletionTimestamp(c, CF_NOT_BEFORE, not_before, not_before != 0);
	if (cls != NULL)
	{
		AigovCompletionText(c, CF_ERROR_CLASS, cls);
		AigovCompletionText(c, CF_ERROR, error_object(cls, message, NULL, 0, job,
													  job->attempts - 1));
	}
	AigovCompletionBool(c, CF_HAS_ATTEMPT, false);
	queue_record(c);
	MemoryContextSwitchTo(old);
}

/*
 * utc_text
 *		A timestamp as RFC 3339 in UTC, to the millisecond; palloc'd.
 */
static char *
utc_text(TimestampTz t)
{
	struct pg_tm tt;
	fsec_t		fsec;

	if (timestamp2tm(t, NULL, &tt, &fsec, NULL, NULL) != 0)
		return pstrdup("infinity");
	return psprintf("%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
					tt.tm_year, tt.tm_mon, tt.tm_mday, tt.tm_hour, tt.tm_min,
					tt.tm_sec, (int) (fsec / 1000));
}

/*
 * AigovCompleteExpired
 *		Queues the expiry of a job found unable to go before its deadline,
 *		without waiting for the deadline: `why` says what holds it back
 *		(the tenant's quota, its keys' room, their breakers), and the error
 *		gives the earliest instant it could have gone, in its message and
 *		as earliest_at.  Refunds are the caller's.
 */
void
AigovCompleteExpired(AigovJob *job, const char *cls, const char *why,
					 TimestampTz earliest)
{
	MemoryContext old = MemoryContextSwitchTo(pending_cxt);
	AigovCompletion *c = begin_record(job, "expired", job->attempts - 1, job->failures);
	char	   *at = utc_text(earliest);
	char	   *message = psprintf("%s; the job could have been sent at %s at the earliest, after its deadline %s",
								   why, at, utc_text(job->deadline));
	char	   *err = error_object(cls, message, NULL, 0, job, job->attempts - 1);
	StringInfoData e;

	/* error_object's text ends with its closing brace */
	initStringInfo(&e);
	appendBinaryStringInfo(&e, err, strlen(err) - 1);
	json_str(&e, "earliest_at", at);
	appendStringInfoChar(&e, '}');
	AigovCompletionTimestamp(c, CF_NOT_BEFORE, 0, false);
	AigovCompletionText(c, CF_ERROR_CLASS, cls);
	AigovCompletionText(c, CF_ERROR, e.data);
	AigovCompletionBool(c, CF_HAS_ATTEMPT, false);
	queue_record(c);
	MemoryContextSwitchTo(old);
}

/*
 * record_window
 *		One rate-limit window of a reply's headers into the attempts row:
 *		its limit, remaining and reset fields, which follow each other in
 *		aigov._completion_row from limit_field on.
 */
static void
record_window(AigovCompletion *rec, AigovCompletionField limit_field,
			  const AigovRateWindow *w)
{
	StaticAssertStmt(CF_REMAINING_REQUESTS == CF_LIMIT_REQUESTS + 1 &&
					 CF_RESET_REQUESTS == CF_LIMIT_REQUESTS + 2 &&
					 CF_REMAINING_TOKENS == CF_LIMIT_TOKENS + 1 &&
					 CF_RESET_TOKENS == CF_LIMIT_TOKENS + 2,
					 "a window's fields follow its limit field");
	AigovCompletionInt8(rec, limit_field, w->limit, w->limit >= 0);
	AigovCompletionInt8(rec, limit_field + 1, w->remaining, w->remaining >= 0);
	AigovCompletionTimestamp(rec, limit_field + 2, AigovFromUnixUs(w->reset_at_us),
							 w->reset_at_us > 0);
}

/*
 * AigovCompleteCall
 *		Queues the outcome of a provider call: the job's new state and one
 *		attempts row with the reply's status, latency and rate-limit
 *		windows.
 */
void
AigovCompleteCall(AigovJob *job, const AigovCallRecord *r)
{
	MemoryContext old = MemoryContextSwitchTo(pending_cxt);
	AigovCompletion *rec = begin_record(job, r->state, job->attempts, r->failures);

	AigovCompletionTimestamp(rec, CF_NOT_BEFORE, r->not_before, r->not_before != 0);
	AigovCompletionText(rec, CF_RESPONSE, r->response);
	AigovCompletionText(rec, CF_RAW_RESPONSE, r->raw_response);
	AigovCompletionText(rec, CF_ERROR_CLASS, r->error_class);
	if (r->error_message != NULL)
		AigovCompletionText(rec, CF_ERROR,
							error_object(r->error_class, r->error_message,
										 r->error_code, r->error_http_status,
										 job, job->attempts));
	AigovCompletionInt8(rec, CF_PROMPT_TOKENS, r->prompt_tokens, r->prompt_tokens >= 0);
	AigovCompletionInt8(rec, CF_COMPLETION_TOKENS, r->completion_tokens,
						r->completion_tokens >= 0);
	AigovCompletionInt8(rec, CF_KEY_ID, job->key_id, true);
	AigovCompletionText(rec, CF_PROVIDER, job->provider);
	AigovCompletionText(rec, CF_MODEL, job->model);
	AigovCompletionBool(rec, CF_DEGRADED, job->degraded);

	/* the attempts row */
	AigovCompletionBool(rec, CF_HAS_ATTEMPT, true);
	AigovCompletionInt4(rec, CF_HTTP_STATUS, (int32) job->http_status, job->http_status > 0);
	AigovCompletionFloat8(rec, CF_LATENCY_MS,
						  (double) (job->finished_at - job->started_at) / 1000.0);
	AigovCompletionTimestamp(rec, CF_STARTED_AT, job->started_at, true);
	AigovCompletionTimestamp(rec, CF_FINISHED_AT, job->finished_at, true);
	AigovCompletionInt8(rec, CF_EST_TOKENS, job->est_tokens, true);
	record_window(rec, CF_LIMIT_REQUESTS, &job->rate.requests);
	record_window(rec, CF_LIMIT_TOKENS, &job->rate.tokens);
	AigovCompletionTimestamp(rec, CF_RETRY_AFTER, r->retry_after, r->retry_after != 0);
	queue_record(rec);
	MemoryContextSwitchTo(old);
}

/*
 * failed_record
 *		The record that replaces a completion that could not be written.
 *		With keep_call, it keeps the completion's attempts row, without the
 *		reported usage (an absurd count is one reason a write fails), since
 *		the call was made; without, it is the job's failure alone, the last
 *		resort when even that row cannot be written.
 */
static AigovCompletion *
failed_record(AigovCompletion *c, const char *why, bool keep_call)
{
	AigovCompletion *f;
	StringInfoData err;

	f = AigovCompletionBegin(c->job_id, c->tenant_id, "failed", 0, 0);
	/* keep the job's counters as they are */
	f->nulls[CF_ATTEMPTS] = f->nulls[CF_FAILURES] = true;
	AigovCompletionText(f, CF_ERROR_CLASS, "bad_response");
	initStringInfo(&err);
	appendStringInfoString(&err, "{\"class\":\"bad_response\",\"message\":");
	escape_json(&err, psprintf("could not store the provider's reply: %s", why));
	appendStringInfoChar(&err, '}');
	AigovCompletionText(f, CF_ERROR, err.data);
	if (keep_call && !c->nulls[CF_HAS_ATTEMPT] && DatumGetBool(c->values[CF_HAS_ATTEMPT]))
	{
		/* the call's number, key, provider, model and attempts row */
		f->values[CF_ATTEMPTS] = c->values[CF_ATTEMPTS];
		f->nulls[CF_ATTEMPTS] = c->nulls[CF_ATTEMPTS];
		for (int i = CF_KEY_ID; i < CF_COUNT; i++)
		{
			f->values[i] = c->values[i];
			f->nulls[i] = c->nulls[i];
		}
	}
	return f;
}

/*
 * AigovCompletionsWrite
 *		Writes every pending record as one group; if the group fails,
 *		writes each job alone and marks the ones that still fail as failed
 *		with the reason, keeping their call's attempts row where it can be
 *		written.  Runs inside a transaction connected to SPI.
 */
void
AigovCompletionsWrite(void)
{
	MemoryContext old;
	ListCell   *lc;

	if (pending == NIL)
		return;

	old = MemoryContextSwitchTo(pending_cxt);
	if (AigovCompletionTryWrite(pending) != NULL)
	{
		foreach(lc, pending)
		{
			AigovCompletion *c = (AigovCompletion *) lfirst(lc);
			char	   *why = AigovCompletionTryWrite(list_make1(c));

			if (why != NULL)
			{
				ereport(WARNING,
						(errmsg("could not store the result of job " INT64_FORMAT ": %s",
								c->job_id, why)));
				if (AigovCompletionTryWrite(list_make1(failed_record(c, why, true))) != NULL)
					why = AigovCompletionTryWrite(list_make1(failed_record(c, why, false)));
				else
					why = NULL;
				if (why != NULL)
					elog(ERROR, "could not mark job " INT64_FORMAT " failed: %s",
						 c->job_id, why);
			}
		}
	}
	MemoryContextSwitchTo(old);

	/* written (or marked failed): forget them */
	MemoryContextReset(pending_cxt);
	pending = NIL;
	pending_since = 0;
}
