/*-------------------------------------------------------------------------
 * keycache.c
 *	  A dispatcher's cache of the key pool: which enabled keys serve which
 *	  model, with their providers' addresses, dialects and secrets.
 *
 * The configuration tables are the source of truth.  The cache is rebuilt
 * when their generation moves (a trigger bumps it) and every few seconds
 * (a restore loads configuration with triggers off); the shared state of
 * each key (its buckets and breaker) survives a rebuild, since it lives in
 * shared memory keyed by key_id.  A secret "env:NAME" is read from the
 * server's environment when the cache is built, if aigov.secret_env_names
 * allows the name (secrets.c); a key whose secret cannot be had is taken
 * out of rotation with the reason.  Secrets are zeroed before the cache's
 * memory is released, and so is the copy in the SPI result they came from.
 *
 * IDENTIFICATION
 *	  src/keycache.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "utils/memutils.h"

#include "actions.h"
#include "egress.h"
#include "keycache.h"
#include "pgutil.h"
#include "protocol.h"
#include "reroute.h"
#include "secrets.h"

/* One (model, key) pair; the array is sorted by model. */
typedef struct CachedRoute
{
	char	   *model;
	int			key_index;
} CachedRoute;

static MemoryContext cache_cxt = NULL;
static AigovCachedKey *keys = NULL;
static int	nkeys = 0;
static CachedRoute *routes = NULL;
static int	nroutes = 0;

static const char *const config_columns[] = {
	"key_id", "label", "secret", "provider", "api_style", "base_url",
	"workload_class", "tenant_group", "weight", "model",
	"rpm_limit", "tpm_limit", "tpd_limit"
};

enum
{
	COL_KEY_ID, COL_LABEL, COL_SECRET, COL_PROVIDER, COL_API_STYLE,
	COL_BASE_URL, COL_WORKLOAD_CLASS, COL_TENANT_GROUP, COL_WEIGHT,
	COL_MODEL, COL_RPM, COL_TPM, COL_TPD, NCOLUMNS
};

static int
route_cmp(const void *a, const void *b)
{
	return strcmp(((const CachedRoute *) a)->model,
				  ((const CachedRoute *) b)->model);
}

/* Zeroes the secrets of the current cache before its memory goes. */
static void
forget_secrets(void)
{
	for (int k = 0; k < nkeys; k++)
		if (keys[k].secret != NULL)
			explicit_bzero(keys[k].secret, strlen(keys[k].secret));
}

/*
 * read_key
 *		Fills a new cached key from a configuration row.  A secret that
 *		cannot be had leaves the key unusable, with the reason (which
 *		holds no secret) in refused_reason.
 */
static void
read_key(AigovCachedKey *key, HeapTuple tuple, TupleDesc tupdesc,
		 const int *col)
{
	char	   *secret = AigovGetText(tuple, tupdesc, col[COL_SECRET]);
	char	   *style = AigovGetText(tuple, tupdesc, col[COL_API_STYLE]);
	size_t		len;

	key->key_id = AigovGetInt64(tuple, tupdesc, col[COL_KEY_ID], 0);
	key->label = AigovGetText(tuple, tupdesc, col[COL_LABEL]);
	key->secret = AigovSecretResolve(secret != NULL ? secret : "",
									 &key->refused_reason);
	if (key->secret == NULL)
	{
		key->secret = pstrdup("");
		key->unusable = true;
	}
	if (secret != NULL)
	{
		explicit_bzero(secret, strlen(secret));
		pfree(secret);
	}
	key->provider = AigovGetText(tuple, tupdesc, col[COL_PROVIDER]);
	if (!aigov_protocol_style_from_name(style, &key->style))
		key->style = AIGOV_API_OPENAI;	/* the table's CHECK allows no other */
	key->base_url = AigovGetText(tuple, tupdesc, col[COL_BASE_URL]);
	len = strlen(key->base_url);
	while (len > 0 && key->base_url[len - 1] == '/')
		key->base_url[--len] = '\0';
	key->host = AigovEgressUrlHost(key->base_url);
	key->workload_class = AigovGetText(tuple, tupdesc, col[COL_WORKLOAD_CLASS]);
	key->tenant_group = AigovGetText(tuple, tupdesc, col[COL_TENANT_GROUP]);
	key->limits.rpm = AigovGetInt64(tuple, tupdesc, col[COL_RPM], 0);
	key->limits.tpm = AigovGetInt64(tuple, tupdesc, col[COL_TPM], 0);
	key->limits.tpd = AigovGetInt64(tuple, tupdesc, col[COL_TPD], 0);
	key->limits.rpd = 0;
	key->limits.weight = AigovGetInt32(tuple, tupdesc, col[COL_WEIGHT], 1);
}

/*
 * AigovKeyCacheLoad
 *		Rebuilds the key and route cache from the configuration tables.
 *		Runs inside a transaction connected to SPI; may ereport.
 */
void
AigovKeyCacheLoad(void)
{
	MemoryContext old;
	MemoryContext old_cxt = cache_cxt;
	int			col[NCOLUMNS];
	int			ret;

	ret = SPI_execute("SELECT k.key_id, k.label, k.secret, k.provider, p.api_style,"
					  " p.base_url, k.workload_class, k.tenant_group, k.weight, m.model,"
					  " COALESCE(k.rpm_limit, 0)::pg_catalog.int8 AS rpm_limit,"
					  " COALESCE(k.tpm_limit, 0) AS tpm_limit,"
					  " COALESCE(k.tpd_limit, 0) AS tpd_limit"
					  " FROM aigov.keys k"
					  " JOIN aigov.providers p ON p.provider OPERATOR(pg_catalog.=) k.provider"
					  " JOIN aigov.models m ON m.provider OPERATOR(pg_catalog.=) k.provider"
					  " WHERE k.enabled AND p.enabled"
					  " ORDER BY m.model, k.key_id", true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read aigov.keys: %s", SPI_result_code_string(ret));
	AigovColumnsLookup(SPI_tuptable->tupdesc, config_columns, NCOLUMNS, col);

	if (old_cxt != NULL)
		forget_secrets();
	cache_cxt = AllocSetContextCreate(TopMemoryContext, "aigov config cache",
									  ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cache_cxt);
	keys = palloc0(sizeof(AigovCachedKey) * Max(SPI_processed, 1));
	routes = palloc0(sizeof(CachedRoute) * Max(SPI_processed, 1));
	nkeys = nroutes = 0;

	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	tupdesc = SPI_tuptable->tupdesc;
		int64		key_id = AigovGetInt64(tuple, tupdesc, col[COL_KEY_ID], 0);
		int			k;
		bool		isnull;
		Datum		secret;

		for (k = 0; k < nkeys; k++)
			if (keys[k].key_id == key_id)
				break;
		if (k == nkeys)
			read_key(&keys[nkeys++], tuple, tupdesc, col);
		/* SPI frees its result unzeroed: wipe the secret there now */
		secret = SPI_getbinval(tuple, tupdesc, col[COL_SECRET], &isnull);
		if (!isnull)
			AigovZeroTextDatum(secret);
		routes[nroutes].model = AigovGetText(tuple, tupdesc, col[COL_MODEL]);
		routes[nroutes].key_index = k;
		nroutes++;
	}
	qsort(routes, nroutes, sizeof(CachedRoute), route_cmp);
	for (int k = 0; k < nkeys; k++)
	{
		/* after the loop: this may run SPI, which replaces SPI_tuptable */
		keys[k].shared = AigovKeyEntryGet(keys[k].key_id, &keys[k].limits);
		AigovKeySetDisabled(keys[k].shared, false);
	}
	MemoryContextSwitchTo(old);
	if (old_cxt != NULL)
		MemoryContextDelete(old_cxt);
	/* the fallback's compatibility matrix moves with the keys */
	AigovCompatCacheLoad();
	for (int k = 0; k < nkeys; k++)
	{
		AigovCachedKey *key = &keys[k];

		if (key->refused_reason == NULL)
			continue;
		ereport(LOG,
				(errmsg("aigov key \"%s\" of provider \"%s\" is taken out of rotation: %s",
						key->label, key->provider, key->refused_reason)));
		AigovActionDisableKey(key->key_id, "secret", key->refused_reason);
	}
}

/*
 * AigovKeyCacheCandidates
 *		The keys that serve a model (enabled, not taken out of rotation by
 *		this worker), up to max; returns how many.  The pointers stay valid
 *		until the next AigovKeyCacheLoad.
 */
int
AigovKeyCacheCandidates(const char *model, AigovCachedKey **out, int max)
{
	CachedRoute probe;
	int			lo = 0,
				hi = nroutes;
	int			n = 0;

	probe.model = (char *) model;
	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;

		if (route_cmp(&routes[mid], &probe) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (int r = lo; r < nroutes && strcmp(routes[r].model, model) == 0; r++)
	{
		AigovCachedKey *key = &keys[routes[r].key_index];

		if (key->unusable || n >= max)
			continue;
		out[n++] = key;
	}
	return n;
}

/*
 * AigovKeyCacheMarkUnusable
 *		Stops this worker choosing a key until the cache is rebuilt (the
 *		key is being disabled in the table).
 */
void
AigovKeyCacheMarkUnusable(int64 key_id)
{
	for (int k = 0; k < nkeys; k++)
		if (keys[k].key_id == key_id)
			keys[k].unusable = true;
}
