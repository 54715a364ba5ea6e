/*-------------------------------------------------------------------------
 * enqueue.c
 *	  The enqueue path: validation, defaults and token estimation of new
 *	  jobs, done by one BEFORE INSERT trigger on aigov.requests.
 *
 * aigov.submit() inserts through the same trigger, so a plain INSERT (a
 * batch of 10,000 rows, say) is held to exactly the same rules.  The
 * trigger also resets every column the workers own, so an INSERT cannot
 * forge a result.
 *
 * The trigger refuses a tenant the inserting role does not act for
 * (roles.c), then reads the configuration and draws the id as the
 * extension's owner: an inserting role needs no privilege on the
 * configuration tables or the sequence, and sees no other tenant's.
 *
 * IDENTIFICATION
 *	  src/enqueue.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "aigov.h"
#include "context_window.h"
#include "fairq.h"
#include "pgutil.h"
#include "quota.h"
#include "request_fields.h"
#include "response_format.h"
#include "roles.h"
#include "shmem.h"
#include "tokens.h"

PG_FUNCTION_INFO_V1(aigov_requests_before_insert);
PG_FUNCTION_INFO_V1(aigov_estimate_tokens);

int			aigov_max_body_bytes = 1024 * 1024;

/*
 * Set by aigov.submit() around its own INSERT when it has already taken
 * the job's cost from the tenant's buckets; nothing else can set it, so a
 * plain INSERT cannot claim to be admitted.
 */
bool		aigov_submit_admitted = false;
int			aigov_default_max_tokens = 1024;

/* Kept SPI plans; the plan cache revalidates them after DDL. */
static SPIPlanPtr tenant_plan = NULL;
static SPIPlanPtr model_plan = NULL;

/*
 * The tenant and model lookups of the current command, reused across its
 * rows: a 20,000-row INSERT would otherwise run the same two queries
 * 20,000 times, half of its time.  Within one command the rows of
 * aigov.tenants, tiers, models and providers are taken as fixed, as a
 * STABLE function sees them; the next command looks again.  Only
 * successful lookups are kept (a failed one raises an error).
 */
#define LOOKUP_SLOTS 8

typedef struct LookupCache
{
	LocalTransactionId lxid;	/* the command they belong to */
	CommandId	cid;
	int			ntenants;
	char	   *tenant_ids[LOOKUP_SLOTS];
	AigovTenantLimits tenant_limits[LOOKUP_SLOTS];
	int			nmodels;
	char	   *models[LOOKUP_SLOTS];
	int64		output_limits[LOOKUP_SLOTS];
	int32		context_windows[LOOKUP_SLOTS];
	uint32		evictions;		/* picks the slot to reuse when full */
} LookupCache;

static LookupCache lookups;

/* Forget the lookups if they belong to another command. */
static void
lookups_for_this_command(void)
{
	LocalTransactionId lxid = MyProc->lxid;
	CommandId	cid = GetCurrentCommandId(false);

	if (lookups.lxid == lxid && lookups.cid == cid)
		return;
	for (int i = 0; i < lookups.ntenants; i++)
		pfree(lookups.tenant_ids[i]);
	for (int i = 0; i < lookups.nmodels; i++)
		pfree(lookups.models[i]);
	lookups.ntenants = lookups.nmodels = 0;
	lookups.lxid = lxid;
	lookups.cid = cid;
}

static int
lookup_find(char *const *names, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

/* A slot for a new name (the oldest one's when all are taken). */
static int
lookup_slot(int *n, char **names, const char *name)
{
	int			i;

	if (*n < LOOKUP_SLOTS)
		i = (*n)++;
	else
	{
		i = (int) (lookups.evictions++ % LOOKUP_SLOTS);
		pfree(names[i]);
	}
	names[i] = MemoryContextStrdup(TopMemoryContext, name);
	return i;
}

/* Worker-owned columns: NULL on every new row. */
static const char *const worker_owned_columns[] = {
	"finished_at", "key_id", "served_provider", "served_model", "response",
	"raw_response", "error_class", "error", "prompt_tokens",
	"completion_tokens", "claimed_by", "claimed_at"
};

/* Worker-owned counters: zero on every new row. */
static const char *const zeroed_columns[] = {"attempts", "failures"};

#define N_WORKER_OWNED lengthof(worker_owned_columns)
#define N_ZEROED lengthof(zeroed_columns)

/*
 * Numbers of the columns of aigov.requests the trigger reads or sets.
 * Found by name once per command (a search of the row type per column,
 * per row, was a sixth of a large INSERT), for the relation they were
 * found in: no command changes a table's columns while inserting into it.
 */
typedef struct RequestColumns
{
	Oid			relid;
	LocalTransactionId lxid;
	CommandId	cid;
	int			id;
	int			tenant_id;
	int			task_type;
	int			workload_class;
	int			priority;
	int			model;
	int			body;
	int			est_tokens;
	int			est_prompt_tokens;
	int			est_charged_prompt_tokens;
	int			state;
	int			not_before;
	int			deadline;
	int			degraded;
	int			admitted;
	int			vstart;
	int			zeroed[N_ZEROED];
	int			worker_owned[N_WORKER_OWNED];
} RequestColumns;

static RequestColumns request_columns_cache;

/*
 * AigovEnqueueInit
 *		Defines the GUCs of the enqueue path.
 */
void
AigovEnqueueInit(void)
{
	DefineCustomIntVariable("aigov.max_body_bytes",
							"Sets the largest request body, in bytes, that a job may carry.",
							"Larger bodies are refused at enqueue time.",
							&aigov_max_body_bytes,
							1024 * 1024,
							1024,
							64 * 1024 * 1024,
							PGC_SUSET,
							GUC_UNIT_BYTE,
							NULL, NULL, NULL);

	DefineCustomIntVariable("aigov.default_max_tokens",
							"Sets the output budget assumed for a job whose body sets no max_tokens.",
							"It is capped by the model's max_output_tokens and counts toward est_tokens.",
							&aigov_default_max_tokens,
							1024,
							1,
							1000000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);
}

/*
 * column_number
 *		Attribute number of a column of aigov.requests; a missing column is
 *		a broken installation, not a user error.
 */
static int
column_number(TupleDesc tupdesc, const char *name)
{
	int			attnum = SPI_fnumber(tupdesc, name);

	if (attnum <= 0)
		elog(ERROR, "column \"%s\" of aigov.requests is missing", name);
	return attnum;
}

static const RequestColumns *
request_columns(Relation rel)
{
	RequestColumns *c = &request_columns_cache;
	TupleDesc	tupdesc = RelationGetDescr(rel);
	LocalTransactionId lxid = MyProc->lxid;
	CommandId	cid = GetCurrentCommandId(false);

	if (c->relid == RelationGetRelid(rel) && c->lxid == lxid && c->cid == cid)
		return c;
	c->relid = InvalidOid;		/* until every column is found */
	c->id = column_number(tupdesc, "id");
	c->tenant_id = column_number(tupdesc, "tenant_id");
	c->task_type = column_number(tupdesc, "task_type");
	c->workload_class = column_number(tupdesc, "workload_class");
	c->priority = column_number(tupdesc, "priority");
	c->model = column_number(tupdesc, "model");
	c->body = column_number(tupdesc, "body");
	c->est_tokens = column_number(tupdesc, "est_tokens");
	c->est_prompt_tokens = column_number(tupdesc, "est_prompt_tokens");
	c->est_charged_prompt_tokens = column_number(tupdesc, "est_charged_prompt_tokens");
	c->state = column_number(tupdesc, "state");
	c->not_before = column_number(tupdesc, "not_before");
	c->deadline = column_number(tupdesc, "deadline");
	c->degraded = column_number(tupdesc, "degraded");
	c->admitted = column_number(tupdesc, "admitted");
	c->vstart = column_number(tupdesc, "vstart");
	for (int i = 0; i < (int) N_ZEROED; i++)
		c->zeroed[i] = column_number(tupdesc, zeroed_columns[i]);
	for (int i = 0; i < (int) N_WORKER_OWNED; i++)
		c->worker_owned[i] = column_number(tupdesc, worker_owned_columns[i]);
	c->relid = RelationGetRelid(rel);
	c->lxid = lxid;
	c->cid = cid;
	return c;
}

/*
 * report_body_status
 *		Raises the error that matches a token-estimator status.  Never
 *		returns for a status other than AIGOV_TOKENS_OK.
 */
static void
report_body_status(AigovTokensStatus status, const AigovTokenEstimate *est)
{
	switch (status)
	{
		case AIGOV_TOKENS_OK:
			return;
		case AIGOV_TOKENS_NOT_OBJECT:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("request body must be a JSON object"),
					 errhint("Pass an OpenAI chat-completions request such as {\"model\": \"...\", \"messages\": [...]}.")));
			break;
		case AIGOV_TOKENS_NO_MODEL:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("request body has no \"model\""),
					 errdetail("\"model\" must be a non-empty string."),
					 errhint("Name the model to use, for example \"model\": \"gpt-4o-mini\".")));
			break;
		case AIGOV_TOKENS_NO_MESSAGES:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("request body has no \"messages\""),
					 errdetail("\"messages\" must be a non-empty array."),
					 errhint("Add at least one message, for example {\"role\": \"user\", \"content\": \"...\"}.")));
			break;
		case AIGOV_TOKENS_BAD_MESSAGE:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("message %d of the request body is invalid",
							est->bad_message_index),
					 errdetail("Each message must be an object with a string \"role\"."),
					 errhint("Messages are numbered from 0.")));
			break;
		case AIGOV_TOKENS_BAD_MAX_TOKENS:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("request body has an invalid \"max_tokens\""),
					 errdetail("\"max_tokens\" and \"max_completion_tokens\" must be positive integers."),
					 errhint("Remove it to use the model's default output budget.")));
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("request body cannot be read as a chat-completions request"),
					 errdetail("The estimator reports: %s.",
							   aigov_tokens_status_message(status)),
					 errhint("Numbers must fit in 64 bits and keys must not repeat.")));
			break;
	}
}

/*
 * body_model
 *		The "model" string of a jsonb body, palloc'd, or NULL.
 */
static char *
body_model(Jsonb *body)
{
	JsonbValue *v;

	if (!JB_ROOT_IS_OBJECT(body))
		return NULL;
	v = getKeyJsonValueFromContainer(&body->root, "model", 5, NULL);
	if (v == NULL || v->type != jbvString || v->val.string.len == 0)
		return NULL;
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/*
 * estimate_body
 *		Checks a body's size and shape and estimates its prompt tokens.
 *		Raises an error for any bad body.
 */
static void
estimate_body(Jsonb *body, AigovTokenEstimate *est)
{
	char	   *text;
	size_t		len;
	AigovTokensStatus status;

	if (!JB_ROOT_IS_OBJECT(body))
		report_body_status(AIGOV_TOKENS_NOT_OBJECT, est);

	text = JsonbToCString(NULL, &body->root, VARSIZE(body));
	len = strlen(text);
	if (len > (size_t) aigov_max_body_bytes)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("request body of %zu bytes exceeds the limit of %d bytes",
						len, aigov_max_body_bytes),
				 errhint("Shorten the messages, or raise \"aigov.max_body_bytes\".")));

	status = aigov_tokens_estimate_request(text, len, est);
	report_body_status(status, est);
	AigovCheckResponseFormat(text, len);
	pfree(text);
}

/*
 * json_type_of
 *		The JSON type of a jsonb value as the pure checkers name it, and for
 *		a number its text (palloc'd) in *number.
 */
static AigovJsonType
json_type_of(const JsonbValue *v, char **number)
{
	*number = NULL;
	switch (v->type)
	{
		case jbvNull:
			return AIGOV_JSON_NULL;
		case jbvString:
			return AIGOV_JSON_STRING;
		case jbvBool:
			return v->val.boolean ? AIGOV_JSON_TRUE : AIGOV_JSON_FALSE;
		case jbvNumeric:
			*number = DatumGetCString(DirectFunctionCall1(numeric_out,
														  NumericGetDatum(v->val.numeric)));
			return strpbrk(*number, ".eE") != NULL ? AIGOV_JSON_REAL :
				AIGOV_JSON_INTEGER;
		case jbvBinary:
			return JsonContainerIsArray(v->val.binary.data) ? AIGOV_JSON_ARRAY :
				AIGOV_JSON_OBJECT;
		default:
			return AIGOV_JSON_OBJECT;
	}
}

/*
 * check_body_fields
 *		Holds every top-level field of a body to the allow-list of
 *		request_fields.c and returns the number of choices it asks for
 *		("n", 1 when absent).  Raises an error for a field that is not
 *		forwarded, for "stream": true and for a bad "n".
 */
static int64
check_body_fields(Jsonb *body)
{
	JsonbIterator *it = JsonbIteratorInit(&body->root);
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *key = NULL;
	int			keylen = 0;
	int64		n = 1;

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *number;
		AigovJsonType type;
		AigovFieldStatus st;

		if (tok == WJB_KEY)
		{
			key = v.val.string.val;
			keylen = v.val.string.len;
			continue;
		}
		if (tok != WJB_VALUE || key == NULL)
			continue;
		type = json_type_of(&v, &number);
		st = aigov_request_field_check(key, (size_t) keylen, type, number, &n);
		switch (st)
		{
			case AIGOV_FIELD_OK:
				break;
			case AIGOV_FIELD_UNKNOWN:
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("request body field \"%.*s\" is not supported",
								Min(keylen, 64), key),
						 errdetail("OpenAI-style providers receive the body as it is, so aigov accepts only the chat-completions fields listed in its SQL reference."),
						 errhint("Remove the field from the body.")));
				break;
			case AIGOV_FIELD_STREAM:
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("streaming replies are not supported"),
						 errdetail("aigov stores each reply whole; read it with aigov.result() or aigov.wait()."),
						 errhint("Remove \"stream\" from the body, or set it to false.")));
				break;
			case AIGOV_FIELD_BAD_STREAM:
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("request body has an invalid \"stream\""),
						 errdetail("\"stream\" must be false or absent.")));
				break;
			case AIGOV_FIELD_BAD_N:
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("request body has an invalid \"n\""),
						 errdetail("\"n\" must be an integer from 1 to %d.",
								   AIGOV_REQUEST_MAX_N),
						 errhint("Ask for fewer choices, or submit several jobs.")));
				break;
		}
		if (number != NULL)
			pfree(number);
		key = NULL;
	}
	return n;
}

/*
 * check_tenant
 *		Refuses an unknown or disabled tenant and reads its effective
 *		quota (its own overrides, else its tier's).  Caller is connected to
 *		SPI.
 */
static void
check_tenant(const char *tenant_id, AigovTenantLimits *limits)
{
	Datum		arg = CStringGetTextDatum(tenant_id);
	Oid			argtype = TEXTOID;
	HeapTuple	tuple;
	TupleDesc	tupdesc;
	bool		isnull;
	int			ret;

	AigovKeepPlan(&tenant_plan, "SELECT t.enabled, COALESCE(t.rpm, r.rpm)::pg_catalog.int8,"
				  " COALESCE(t.tpm, r.tpm), COALESCE(t.tpd, r.tpd),"
				  " t.soft_limit_pct, t.hard_cap, r.weight, r.max_priority"
				  " FROM aigov.tenants t JOIN aigov.tiers r"
				  " ON r.tier OPERATOR(pg_catalog.=) t.tier"
				  " WHERE t.tenant_id OPERATOR(pg_catalog.=) $1",
				  1, &argtype);

	ret = SPI_execute_plan(tenant_plan, &arg, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not look up tenant: %s", SPI_result_code_string(ret));

	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("tenant \"%s\" does not exist", tenant_id),
				 errhint("Add it to aigov.tenants first.")));

	tuple = SPI_tuptable->vals[0];
	tupdesc = SPI_tuptable->tupdesc;
	if (!DatumGetBool(SPI_getbinval(tuple, tupdesc, 1, &isnull)))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tenant \"%s\" is disabled", tenant_id),
				 errhint("Set enabled = true in aigov.tenants to accept its jobs again.")));

	if (limits != NULL)
	{
		limits->rpm = DatumGetInt64(SPI_getbinval(tuple, tupdesc, 2, &isnull));
		limits->tpm = DatumGetInt64(SPI_getbinval(tuple, tupdesc, 3, &isnull));
		limits->tpd = DatumGetInt64(SPI_getbinval(tuple, tupdesc, 4, &isnull));
		limits->soft_limit_pct = DatumGetInt32(SPI_getbinval(tuple, tupdesc, 5, &isnull));
		limits->hard_cap = DatumGetBool(SPI_getbinval(tuple, tupdesc, 6, &isnull));
		limits->weight = DatumGetInt32(SPI_getbinval(tuple, tupdesc, 7, &isnull));
		limits->max_priority = DatumGetInt32(SPI_getbinval(tuple, tupdesc, 8, &isnull));
	}
}

/*
 * model_output_limit
 *		The largest max_output_tokens among enabled providers serving a
 *		model, and in *context_window the largest context_window among
 *		them.  Refuses a model no enabled provider serves.  Caller is
 *		connected to SPI.
 */
static int64
model_output_limit(const char *model, int32 *context_window)
{
	Datum		arg = CStringGetTextDatum(model);
	Oid			argtype = TEXTOID;
	bool		isnull;
	int64		total;
	Datum		limit;
	int			ret;

	AigovKeepPlan(&model_plan, "SELECT pg_catalog.count(*),"
				  " pg_catalog.max(m.max_output_tokens) FILTER (WHERE p.enabled),"
				  " pg_catalog.max(m.context_window) FILTER (WHERE p.enabled)"
				  " FROM aigov.models m"
				  " JOIN aigov.providers p"
				  " ON p.provider OPERATOR(pg_catalog.=) m.provider"
				  " WHERE m.model OPERATOR(pg_catalog.=) $1",
				  1, &argtype);

	ret = SPI_execute_plan(model_plan, &arg, NULL, true, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not look up model: %s", SPI_result_code_string(ret));

	total = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
										SPI_tuptable->tupdesc, 1, &isnull));
	limit = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2,
						  &isnull);
	if (total == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" is not served by any provider", model),
				 errhint("Add it to aigov.models for an enabled provider.")));
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" is served only by disabled providers", model),
				 errhint("Enable one of its providers in aigov.providers.")));
	*context_window = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0],
												  SPI_tuptable->tupdesc, 3,
												  &isnull));
	return DatumGetInt32(limit);
}

/*
 * text_column
 *		A text column of the new row as a C string, or NULL.
 */
static char *
text_column(HeapTuple tuple, TupleDesc tupdesc, int attnum)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tuple, tupdesc, attnum, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

/*
 * check_workload_class
 *		Refuses a workload class other than the three aigov schedules.
 */
static void
check_workload_class(const char *workload_class)
{
	if (workload_class != NULL &&
		strcmp(workload_class, "interactive") != 0 &&
		strcmp(workload_class, "background") != 0 &&
		strcmp(workload_class, "batch") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid workload class \"%s\"", workload_class),
				 errhint("Use \"interactive\", \"background\" or \"batch\".")));
}

/*
 * AigovValidateJob
 *		Checks everything about a new job that can be wrong: its tenant,
 *		body (its fields included), model, output budget, context window
 *		(context_window.c), task type and workload class.  Returns the
 *		estimated tokens (prompt plus output budget, times the choices
 *		asked for) and the model, and, when asked, the prompt's share of
 *		the estimate and the prompt as a character-based provider limiter
 *		counts it.
 *		Raises an error for anything bad.  Used by the enqueue trigger and,
 *		before it inserts, by aigov.submit(), so that its errors carry no
 *		trigger context.
 */
int64
AigovValidateJob(const char *tenant_id, Jsonb *body, const char *task_type,
				 const char *workload_class, char **model_out,
				 AigovTenantLimits *limits, int64 *prompt_out,
				 int64 *charged_prompt_out)
{
	AigovTokenEstimate est;
	char	   *model;
	int64		output_limit;
	int64		output_budget;
	int64		choices;
	int			ti;
	int			mi;

	check_workload_class(workload_class);
	if (task_type != NULL && task_type[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("task_type must not be empty"),
				 errhint("Omit it to use \"chat\", or name a task type of aigov.compat.")));

	estimate_body(body, &est);
	choices = check_body_fields(body);
	model = body_model(body);
	if (model == NULL)			/* the estimator checked it already */
		elog(ERROR, "request body lost its model");

	lookups_for_this_command();
	ti = lookup_find(lookups.tenant_ids, lookups.ntenants, tenant_id);
	mi = lookup_find(lookups.models, lookups.nmodels, model);
	if (ti < 0 || mi < 0)
	{
		AigovTenantLimits fetched;
		int64		fetched_limit = 0;
		int32		fetched_window = 0;
		AigovUserSwitch saved;

		memset(&fetched, 0, sizeof(fetched));

		/* as the owner: the caller needs no privilege on these tables */
		AigovBecomeOwner(&saved);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "could not connect to SPI");
		if (ti < 0)
			check_tenant(tenant_id, &fetched);
		if (mi < 0)
			fetched_limit = model_output_limit(model, &fetched_window);
		SPI_finish();
		AigovRestoreUser(&saved);
		if (ti < 0)
		{
			ti = lookup_slot(&lookups.ntenants, lookups.tenant_ids, tenant_id);
			lookups.tenant_limits[ti] = fetched;
		}
		if (mi < 0)
		{
			mi = lookup_slot(&lookups.nmodels, lookups.models, model);
			lookups.output_limits[mi] = fetched_limit;
			lookups.context_windows[mi] = fetched_window;
		}
	}
	if (limits != NULL)
		*limits = lookups.tenant_limits[ti];
	output_limit = lookups.output_limits[mi];

	if (est.max_output_tokens > output_limit)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_tokens %lld exceeds the output limit of model \"%s\"",
						(long long) est.max_output_tokens, model),
				 errdetail("The model's largest max_output_tokens is %lld.",
						   (long long) output_limit),
				 errhint("Lower max_tokens to at most %lld.",
						 (long long) output_limit)));

	AigovCheckContextWindow(model, est.prompt_tokens, est.max_output_tokens,
							lookups.context_windows[mi]);

	if (est.max_output_tokens > 0)
		output_budget = est.max_output_tokens;
	else
		output_budget = Min((int64) aigov_default_max_tokens, output_limit);
	/* each of the n choices may use the whole budget (and is billed so) */
	output_budget *= choices;

	*model_out = model;
	if (prompt_out != NULL)
		*prompt_out = est.prompt_tokens;
	if (charged_prompt_out != NULL)
		*charged_prompt_out = est.charged_prompt_tokens;
	return est.prompt_tokens + output_budget;
}

/*
 * AigovCheckPriority
 *		Refuses a priority above the tenant's tier's max_priority (limits
 *		as AigovValidateJob returned them).  Lower priorities only delay
 *		the tenant's own jobs and are not bounded.
 */
void
AigovCheckPriority(const char *tenant_id, int32 priority,
				   const AigovTenantLimits *limits)
{
	if (priority > limits->max_priority)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("priority %d exceeds the limit of tenant \"%s\"",
						priority, tenant_id),
				 errdetail("The tenant's tier allows priorities up to %d.",
						   limits->max_priority),
				 errhint("Lower the priority, or raise max_priority in aigov.tiers.")));
}

/*
 * job_id_sequence
 *		The OID of aigov.requests_id_seq, looked up each time: it is cheap
 *		next to the insert, and stays right across DROP/CREATE EXTENSION.
 */
static Oid
job_id_sequence(void)
{
	Oid			nspid = get_namespace_oid("aigov", false);

	return get_relname_relid("requests_id_seq", nspid);
}

/*
 * aigov_requests_before_insert
 *		BEFORE INSERT ROW trigger of aigov.requests: checks that the
 *		inserting role acts for the job's tenant, validates the job, fills
 *		model and est_tokens, and resets worker-owned columns.  Inside
 *		aigov.submit() it runs as the owner, which acts for every tenant:
 *		submit() checked its caller already.
 */
Datum
aigov_requests_before_insert(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	tupdesc;
	HeapTuple	tuple;
	const RequestColumns *col;
	char	   *tenant_id;
	char	   *model;
	Jsonb	   *body;
	bool		isnull;
	Datum		d;
	int64		est_tokens;
	int64		prompt_tokens;
	int64		charged_prompt_tokens;
	AigovTenantLimits limits;
	AigovUserSwitch saved;
	int			ncols = 0;
	int			colnums[N_WORKER_OWNED + 15];
	Datum		values[N_WORKER_OWNED + 15];
	bool		nulls[N_WORKER_OWNED + 15];

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		elog(ERROR, "aigov_requests_before_insert must run as a BEFORE INSERT row trigger");

	tupdesc = RelationGetDescr(trigdata->tg_relation);
	tuple = trigdata->tg_trigtuple;

	col = request_columns(trigdata->tg_relation);

	/* Ids come from aigov's sequence only, so no two jobs share one. */
	(void) SPI_getbinval(tuple, tupdesc, col->id, &isnull);
	if (!isnull)
		ereport(ERROR,
				(errcode(ERRCODE_GENERATED_ALWAYS),
				 errmsg("cannot insert a value into column \"id\" of aigov.requests"),
				 errdetail("Job ids are assigned by aigov."),
				 errhint("Leave id out of the INSERT.")));

	tenant_id = text_column(tuple, tupdesc, col->tenant_id);
	if (tenant_id == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("tenant_id of a job must not be null"),
				 errhint("Every job belongs to a tenant of aigov.tenants.")));
	AigovCheckActsFor(GetUserId(), tenant_id);

	d = SPI_getbinval(tuple, tupdesc, col->body, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("body of a job must not be null"),
				 errhint("Pass an OpenAI chat-completions request as jsonb.")));
	body = DatumGetJsonbP(d);

	d = SPI_getbinval(tuple, tupdesc, col->deadline, &isnull);
	if (!isnull && DatumGetTimestampTz(d) < GetCurrentTransactionStartTimestamp())
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("deadline \"%s\" is in the past",
						timestamptz_to_str(DatumGetTimestampTz(d))),
				 errhint("Give a deadline after now(), or none.")));

	est_tokens = AigovValidateJob(tenant_id, body,
								  text_column(tuple, tupdesc, col->task_type),
								  text_column(tuple, tupdesc, col->workload_class),
								  &model, &limits, &prompt_tokens, &charged_prompt_tokens);
	d = SPI_getbinval(tuple, tupdesc, col->priority, &isnull);
	AigovCheckPriority(tenant_id, isnull ? 0 : DatumGetInt32(d), &limits);

	colnums[ncols] = col->id;
	AigovBecomeOwner(&saved);
	values[ncols] = DirectFunctionCall1(nextval_oid,
										ObjectIdGetDatum(job_id_sequence()));
	AigovRestoreUser(&saved);
	nulls[ncols++] = false;

	/*
	 * A not_before before the transaction began would put the job ahead of
	 * every job of its priority queued since: it is taken as that start.
	 */
	d = SPI_getbinval(tuple, tupdesc, col->not_before, &isnull);
	if (!isnull && DatumGetTimestampTz(d) < GetCurrentTransactionStartTimestamp())
	{
		colnums[ncols] = col->not_before;
		values[ncols] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
		nulls[ncols++] = false;
	}
	colnums[ncols] = col->model;
	values[ncols] = CStringGetTextDatum(model);
	nulls[ncols++] = false;
	colnums[ncols] = col->est_tokens;
	values[ncols] = Int64GetDatum(est_tokens);
	nulls[ncols++] = false;
	colnums[ncols] = col->est_prompt_tokens;
	values[ncols] = Int64GetDatum(prompt_tokens);
	nulls[ncols++] = false;
	colnums[ncols] = col->est_charged_prompt_tokens;
	values[ncols] = Int64GetDatum(charged_prompt_tokens);
	nulls[ncols++] = false;
	colnums[ncols] = col->state;
	values[ncols] = CStringGetTextDatum(AIGOV_STATE_QUEUED);
	nulls[ncols++] = false;
	for (int i = 0; i < (int) lengthof(zeroed_columns); i++)
	{
		colnums[ncols] = col->zeroed[i];
		values[ncols] = Int32GetDatum(0);
		nulls[ncols++] = false;
	}
	colnums[ncols] = col->degraded;
	values[ncols] = BoolGetDatum(false);
	nulls[ncols++] = false;
	colnums[ncols] = col->admitted;
	values[ncols] = BoolGetDatum(aigov_submit_admitted);
	nulls[ncols++] = false;
	/* its place in its key pool's fair queue (fairq.c) */
	colnums[ncols] = col->vstart;
	values[ncols] = Int64GetDatum(AigovFairTag(model,
											   text_column(tuple, tupdesc, col->workload_class),
											   tenant_id, est_tokens,
											   limits.weight));
	nulls[ncols++] = false;
	for (int i = 0; i < (int) N_WORKER_OWNED; i++)
	{
		colnums[ncols] = col->worker_owned[i];
		values[ncols] = (Datum) 0;
		nulls[ncols++] = true;
	}

	Assert(ncols <= (int) lengthof(colnums));
	tuple = heap_modify_tuple_by_cols(tuple, tupdesc, ncols, colnums,
									  values, nulls);
	AigovNoteEnqueue();
	return PointerGetDatum(tuple);
}

/*
 * aigov_estimate_tokens
 *		SQL aigov.estimate_tokens(body): the prompt-token estimate the
 *		enqueue path would use, without the output budget.
 */
Datum
aigov_estimate_tokens(PG_FUNCTION_ARGS)
{
	Jsonb	   *body = PG_GETARG_JSONB_P(0);
	AigovTokenEstimate est;

	estimate_body(body, &est);
	PG_RETURN_INT64(est.prompt_tokens);
}
