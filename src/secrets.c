/*-------------------------------------------------------------------------
 * secrets.c
 *	  Provider keys' secrets: which server environment variables an
 *	  "env:NAME" secret may read (aigov.secret_env_names), the check when
 *	  a key's secret is written, the workers' resolution of a secret, and
 *	  aigov.set_key_secret().
 *
 * The server's environment holds more than keys (PGDATA, paths, other
 * services' credentials), and whoever writes aigov.keys and
 * aigov.providers could otherwise have any of it sent to a host of their
 * choice.  So only names matching the superuser-only patterns resolve.
 * No message of this file carries a secret or a variable's value; the
 * errors raised while a secret is being written hide their statement from
 * the server log (errhidestmt), since that statement may hold a literal
 * key.
 *
 * IDENTIFICATION
 *	  src/secrets.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/trigger.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/rel.h"

#include "envname.h"
#include "secrets.h"

PG_FUNCTION_INFO_V1(aigov_keys_check_secret);
PG_FUNCTION_INFO_V1(aigov_set_key_secret);

#define ENV_PREFIX "env:"
#define ENV_PREFIX_LEN 4

static char *aigov_secret_env_names = NULL;

static bool
check_env_names(char **newval, void **extra, GucSource source)
{
	char		err[256];

	if (!aigov_env_patterns_valid(*newval, err, sizeof(err)))
	{
		GUC_check_errdetail("%s.", err);
		return false;
	}
	return true;
}

/*
 * AigovSecretsDefineGucs
 *		Defines aigov.secret_env_names.  It widens what the workers read
 *		from the server's environment, so only superusers may change it.
 */
void
AigovSecretsDefineGucs(void)
{
	DefineCustomStringVariable("aigov.secret_env_names",
							   "Sets which environment variables an \"env:NAME\" key secret may name.",
							   "Patterns separated by commas; \"*\" matches any characters. "
							   "Empty allows none.",
							   &aigov_secret_env_names, "AIGOV_KEY_*", PGC_SUSET,
							   GUC_LIST_INPUT, check_env_names, NULL, NULL);
}

/*
 * AigovSecretResolve
 *		The secret a worker sends for a key: a literal as it is, "env:NAME"
 *		as the variable's value.  Returns NULL with a palloc'd reason (no
 *		value in it) when the name is not allowed, or the variable is unset
 *		or empty.  The result is palloc'd in the current context.
 */
char *
AigovSecretResolve(const char *secret, char **reason)
{
	const char *name;
	const char *value;

	*reason = NULL;
	if (strncmp(secret, ENV_PREFIX, ENV_PREFIX_LEN) != 0)
		return pstrdup(secret);
	name = secret + ENV_PREFIX_LEN;
	if (!aigov_env_name_valid(name))
	{
		*reason = pstrdup("the secret does not name a valid environment variable");
		return NULL;
	}
	if (!aigov_env_name_allowed(aigov_secret_env_names, name))
	{
		*reason = psprintf("the environment variable \"%s\" is not allowed by aigov.secret_env_names",
						   name);
		return NULL;
	}
	value = getenv(name);
	if (value == NULL || value[0] == '\0')
	{
		*reason = psprintf("the environment variable \"%s\" is not set in the server's environment",
						   name);
		return NULL;
	}
	return pstrdup(value);
}

/*
 * AigovZeroTextDatum
 *		Zeroes the bytes of a text value held in memory we own (an SPI
 *		result, say) before that memory is released.  A compressed or
 *		out-of-line value holds no plain text and is left alone.
 */
void
AigovZeroTextDatum(Datum value)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(value);

	if (v == NULL || VARATT_IS_EXTERNAL(v) || VARATT_IS_COMPRESSED(v))
		return;
	explicit_bzero(VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
}

/*
 * check_secret
 *		Refuses an "env:" secret whose name is not valid or not allowed.
 *		A literal secret is not looked at.  Errors hide their statement.
 */
static void
check_secret(const char *label, const char *secret)
{
	const char *name;

	if (strncmp(secret, ENV_PREFIX, ENV_PREFIX_LEN) != 0)
		return;
	name = secret + ENV_PREFIX_LEN;
	if (!aigov_env_name_valid(name))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("secret of key \"%s\" does not name a valid environment variable", label),
				 errdetail("After \"env:\", a secret names a variable of letters, digits and underscores."),
				 errhint("Write \"env:\" and a name that aigov.secret_env_names allows, for example \"env:AIGOV_KEY_OPENAI\"."),
				 errhidestmt(true)));
	if (!aigov_env_name_allowed(aigov_secret_env_names, name))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("environment variable \"%s\" is not allowed as the secret of key \"%s\"",
						name, label),
				 errdetail("aigov.secret_env_names is \"%s\".", aigov_secret_env_names),
				 errhint("A superuser can add a pattern that matches it to aigov.secret_env_names."),
				 errhidestmt(true)));
}

/*
 * aigov_keys_check_secret
 *		AFTER INSERT OR UPDATE OF secret row trigger of aigov.keys (after
 *		the table's own checks).
 */
Datum
aigov_keys_check_secret(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	HeapTuple	tuple;
	TupleDesc	tupdesc;
	char	   *label;
	bool		isnull;
	Datum		secret;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event))
		elog(ERROR, "aigov_keys_check_secret must run as an AFTER ROW trigger");
	tuple = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;
	tupdesc = RelationGetDescr(td->tg_relation);
	secret = SPI_getbinval(tuple, tupdesc, SPI_fnumber(tupdesc, "secret"), &isnull);
	if (!isnull)
	{
		text	   *t = DatumGetTextPP(secret);
		size_t		len = VARSIZE_ANY_EXHDR(t);

		if (len >= ENV_PREFIX_LEN &&
			memcmp(VARDATA_ANY(t), ENV_PREFIX, ENV_PREFIX_LEN) == 0)
		{
			label = SPI_getvalue(tuple, tupdesc, SPI_fnumber(tupdesc, "label"));
			/* a name longer than any valid one is checked as an empty one */
			check_secret(label != NULL ? label : "",
						 len > ENV_PREFIX_LEN + AIGOV_ENV_NAME_MAX ? ENV_PREFIX :
						 text_to_cstring(t));
		}
	}
	return PointerGetDatum(NULL);
}

/* Sets the secret of the key labelled label; ERROR if there is none. */
static void
set_secret(Datum label, Datum secret)
{
	Oid			argtypes[2] = {TEXTOID, TEXTOID};
	Datum		args[2] = {label, secret};
	int			ret;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "could not connect to SPI");
	ret = SPI_execute_with_args("UPDATE aigov.keys SET secret = $2"
								" WHERE label OPERATOR(pg_catalog.=) $1",
								2, argtypes, args, NULL, false, 0);
	if (ret != SPI_OK_UPDATE)
		elog(ERROR, "could not update aigov.keys: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("key \"%s\" does not exist", TextDatumGetCString(label)),
				 errhint("Add the key to aigov.keys first; aigov.set_key_secret() only replaces a secret.")));
	SPI_finish();
}

/*
 * aigov_set_key_secret
 *		aigov.set_key_secret(label, secret): replaces a key's secret.  It
 *		runs as its caller, who needs UPDATE on aigov.keys.  A SELECT is
 *		not logged under log_statement = 'mod' or 'ddl', where an UPDATE
 *		is; every error it raises hides the statement from the server log;
 *		and the session's entry of pg_stat_activity is overwritten, so the
 *		call with its secret does not stay there after it returns.
 */
Datum
aigov_set_key_secret(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = CurrentMemoryContext;

	pgstat_report_activity(STATE_RUNNING,
						   "SELECT aigov.set_key_secret(...) -- the arguments are not shown");
	PG_TRY();
	{
		if (PG_ARGISNULL(0))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("label must not be null"),
					 errhint("Pass the label of a key of aigov.keys.")));
		if (PG_ARGISNULL(1))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("secret must not be null"),
					 errhint("Pass the key itself, or \"env:\" and the name of an environment variable.")));
		set_secret(PG_GETARG_DATUM(0), PG_GETARG_DATUM(1));
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		edata->hide_stmt = true;
		ReThrowError(edata);
	}
	PG_END_TRY();
	PG_RETURN_VOID();
}
