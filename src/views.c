/*-------------------------------------------------------------------------
 * views.c
 *	  aigov.key_state(), aigov.tenant_state() and aigov.throttle_state():
 *	  the live figures of keys, tenants and provider throttles in shared
 *	  memory, as rows for the views.
 *
 * Each function copies the entries it reports out of shared memory (one
 * spinlock section per entry, quota.c), then computes the figures
 * (telemetry.c) and builds the tuples with no lock held.  Read-only: no
 * breaker is asked for a probe, no bucket is refilled.
 *
 * IDENTIFICATION
 *	  src/views.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "breaker.h"
#include "pgutil.h"
#include "quota.h"
#include "roles.h"
#include "shmem.h"
#include "telemetry.h"
#include "throttle_gate.h"
#include "views.h"

PG_FUNCTION_INFO_V1(aigov_key_state);
PG_FUNCTION_INFO_V1(aigov_tenant_state);
PG_FUNCTION_INFO_V1(aigov_throttle_state);

#define KEY_STATE_NATTS		27
#define THROTTLE_STATE_NATTS	10
#define TENANT_STATE_NATTS	16
/* Columns per axis: limit, remaining, utilisation %, reset_at. */
#define AXIS_NATTS			4

/*
 * put_axis
 *		Writes one axis's four columns from values[first]; an axis without
 *		a limit is four NULLs.
 */
static void
put_axis(Datum *values, bool *nulls, int first, const AigovAxisFigures *f)
{
	for (int i = 0; i < AXIS_NATTS; i++)
		nulls[first + i] = !f->known;
	if (!f->known)
		return;
	values[first] = Int64GetDatum(f->limit);
	values[first + 1] = Int64GetDatum(f->remaining);
	values[first + 2] = Float8GetDatum((double) f->utilisation_ppm / 10000.0);
	values[first + 3] = TimestampTzGetDatum(AigovFromUnixUs(f->full_at_us));
}

/* A count or rate that is 0 for "none" becomes NULL. */
static void
put_positive(Datum *values, bool *nulls, int i, int64 v)
{
	values[i] = Int64GetDatum(v);
	nulls[i] = v <= 0;
}

static void
put_time(Datum *values, bool *nulls, int i, int64 us)
{
	values[i] = TimestampTzGetDatum(AigovFromUnixUs(us));
	nulls[i] = us <= 0;
}

/*
 * key_row
 *		One row of aigov.key_state() from a copy of a key's entry.
 */
/* A share in ppm as a percentage. */
static Datum
ppm_pct(int64 ppm)
{
	return Float8GetDatum((double) ppm / 10000.0);
}

static void
key_row(const AigovKeyCopy *k, const AigovThrottleCopy *th, int64 now_us,
		Datum *values, bool *nulls)
{
	AigovKeyFigures f;
	const AigovKeyState *s = &k->state;

	aigov_telemetry_key(s, now_us, &f);
	memset(nulls, 0, sizeof(bool) * KEY_STATE_NATTS);
	values[0] = Int64GetDatum(k->key_id);
	values[1] = BoolGetDatum(s->disabled);
	for (int a = 0; a < AIGOV_TELEMETRY_AXES; a++)
		put_axis(values, nulls, 2 + a * AXIS_NATTS, &f.axis[a]);
	put_positive(values, nulls, 14, f.learned_rpm);
	put_positive(values, nulls, 15, f.learned_tpm);
	put_positive(values, nulls, 16, f.paced_rpm);
	put_positive(values, nulls, 17, f.paced_tpm);
	values[18] = Int32GetDatum(s->inflight_requests);
	values[19] = Int64GetDatum(s->inflight_tokens);
	values[20] = CStringGetTextDatum(
									 aigov_breaker_state_name(aigov_breaker_state(&k->breaker, now_us)));
	values[21] = Int64GetDatum(k->breaker.opened_total);
	put_time(values, nulls, 22,
			 s->exhausted_until_us > now_us ? s->exhausted_until_us : 0);
	values[23] = Int64GetDatum(s->rate_limited_total);
	values[24] = Int64GetDatum(s->completed_total);
	put_time(values, nulls, 25, s->last_report_at_us);
	/* the level of the throttle whose pool the key is in */
	nulls[26] = th == NULL;
	if (th != NULL)
		values[26] = Float8GetDatum((double) aigov_throttle_level_ppm(&th->th) / 1e6);
}

/*
 * aigov_key_state
 *		aigov.key_state(): one row per key that has state in shared memory
 *		(a key some worker has used since the server started).  Reports
 *		every key: it is meant for operators, and grants decide who calls
 *		it (docs/security.md).
 */
Datum
aigov_key_state(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	AigovKeyCopy *keys;
	AigovThrottleCopy *ths;
	int			n;
	int			nth;
	int64		now_us;

	AigovShmemCheckAttached();
	InitMaterializedSRF(fcinfo, 0);
	n = AigovKeyCopyAll(&keys);
	now_us = AigovNowUs();
	nth = AigovThrottleCopyAll(keys, n, now_us, &ths);
	for (int i = 0; i < n; i++)
	{
		Datum		values[KEY_STATE_NATTS];
		bool		nulls[KEY_STATE_NATTS];

		key_row(&keys[i], AigovThrottleFindKey(ths, nth, keys[i].key_id),
				now_us, values, nulls);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	pfree(ths);
	pfree(keys);
	return (Datum) 0;
}

/*
 * aigov_throttle_state
 *		aigov.throttle_state(): one row per provider throttle and workload
 *		class, brought up to now with the live load of its keys (see
 *		AigovThrottleCopyAll).  Meant for operators, like key_state().
 */
Datum
aigov_throttle_state(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	AigovKeyCopy *keys;
	AigovThrottleCopy *ths;
	int			n;
	int			nth;
	int64		now_us;

	AigovShmemCheckAttached();
	InitMaterializedSRF(fcinfo, 0);
	n = AigovKeyCopyAll(&keys);
	now_us = AigovNowUs();
	nth = AigovThrottleCopyAll(keys, n, now_us, &ths);
	for (int i = 0; i < nth; i++)
	{
		const AigovThrottle *th = &ths[i].th;

		for (int c = 0; c < AIGOV_THROTTLE_NCLASSES; c++)
		{
			Datum		values[THROTTLE_STATE_NATTS];
			bool		nulls[THROTTLE_STATE_NATTS] = {0};

			values[0] = CStringGetTextDatum(ths[i].provider);
			values[1] = CStringGetTextDatum(aigov_throttle_class_name(c));
			values[2] = BoolGetDatum(th->engaged);
			values[3] = ppm_pct(th->load_ppm);
			values[4] = ppm_pct(th->rate_ppm);
			values[5] = ppm_pct(aigov_throttle_share_ppm(th, c));
			values[6] = ppm_pct(th->cls[c].rate_ppm);
			values[7] = Int64GetDatum(th->cls[c].released);
			values[8] = Int64GetDatum(th->cls[c].held);
			values[9] = Float8GetDatum((double) aigov_throttle_level_ppm(th) / 1e6);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	pfree(ths);
	pfree(keys);
	return (Datum) 0;
}

static void
tenant_row(const AigovTenantCopy *t, int64 now_us, Datum *values, bool *nulls)
{
	AigovAxisFigures f[AIGOV_TELEMETRY_AXES];

	aigov_telemetry_tenant(&t->quota, now_us, f);
	memset(nulls, 0, sizeof(bool) * TENANT_STATE_NATTS);
	values[0] = CStringGetTextDatum(t->tenant_id);
	for (int a = 0; a < AIGOV_TELEMETRY_AXES; a++)
		put_axis(values, nulls, 1 + a * AXIS_NATTS, &f[a]);
	values[13] = Int64GetDatum(t->admitted);
	values[14] = Int64GetDatum(t->rejected);
	values[15] = Int64GetDatum(t->deferred);
}

/*
 * copy_acting_tenants
 *		Copies the entries of the tenants the current role acts for: all
 *		of them for a role that acts for every tenant, else those of
 *		aigov.acting_tenants() that have an entry.
 */
static int
copy_acting_tenants(AigovTenantCopy **out)
{
	bool		all;
	Datum		arr = AigovActingTenants(GetUserId(), &all);
	Datum	   *ids;
	int			nids;
	int			n = 0;

	if (all)
		return AigovTenantCopyAll(out);
	deconstruct_array(DatumGetArrayTypeP(arr), TEXTOID, -1, false,
					  TYPALIGN_INT, &ids, NULL, &nids);
	*out = palloc(sizeof(AigovTenantCopy) * Max(nids, 1));
	for (int i = 0; i < nids; i++)
		if (AigovTenantCopyOne(TextDatumGetCString(ids[i]), &(*out)[n]))
			n++;
	return n;
}

/*
 * aigov_tenant_state
 *		aigov.tenant_state(): one row per tenant that has buckets in shared
 *		memory and that the calling role acts for.
 */
Datum
aigov_tenant_state(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	AigovTenantCopy *tenants;
	int			n;
	int64		now_us;

	AigovShmemCheckAttached();
	InitMaterializedSRF(fcinfo, 0);
	n = copy_acting_tenants(&tenants);
	now_us = AigovNowUs();
	for (int i = 0; i < n; i++)
	{
		Datum		values[TENANT_STATE_NATTS];
		bool		nulls[TENANT_STATE_NATTS];

		tenant_row(&tenants[i], now_us, values, nulls);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	pfree(tenants);
	return (Datum) 0;
}
