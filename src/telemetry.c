/*-------------------------------------------------------------------------
 * telemetry.c
 *	  Live figures of quota axes (limit, remaining, utilisation, next
 *	  reset) computed from copies of key and tenant state.
 *
 * Pure: the caller copies the state out of shared memory under its lock
 * and calls these on the copy, with no lock held.  A key's three axes are
 * its shadows of the provider's buckets (requests and tokens per minute,
 * tokens per day); a tenant's are its admission buckets.
 *
 * IDENTIFICATION
 *	  src/telemetry.c
 *-------------------------------------------------------------------------
 */
#include "telemetry.h"

#include <string.h>

/*
 * aigov_telemetry_bucket
 *		The figures of one bucket at now_us; an unlimited bucket is
 *		reported as not known.
 */
void
aigov_telemetry_bucket(const AigovBucket *b, int64_t now_us,
					   AigovAxisFigures *out)
{
	memset(out, 0, sizeof(*out));
	if (b->limit <= 0)
		return;
	out->known = true;
	out->limit = b->limit;
	out->remaining = aigov_bucket_remaining(b, now_us);
	if (out->remaining < 0)
		out->remaining = 0;
	out->utilisation_ppm = aigov_bucket_utilisation_ppm(b, now_us);
	if (out->utilisation_ppm < 0)
		out->utilisation_ppm = 0;
	out->full_at_us = aigov_bucket_full_at(b, now_us);
}

/*
 * aigov_telemetry_key
 *		A key's figures: its shadow buckets (the limits in force, whether
 *		configured, learned from headers or inferred from 429s), what it
 *		learned, and its pacers' rates.
 */
void
aigov_telemetry_key(const AigovKeyState *key, int64_t now_us,
					AigovKeyFigures *out)
{
	memset(out, 0, sizeof(*out));
	aigov_telemetry_bucket(&key->req_min, now_us, &out->axis[AIGOV_TELEMETRY_RPM]);
	aigov_telemetry_bucket(&key->tok_min, now_us, &out->axis[AIGOV_TELEMETRY_TPM]);
	aigov_telemetry_bucket(&key->tok_day, now_us, &out->axis[AIGOV_TELEMETRY_TPD]);
	out->learned_rpm = key->learned_rpm > 0 ? key->learned_rpm :
		(key->inferred_rpm > 0 ? key->inferred_rpm : 0);
	out->learned_tpm = key->learned_tpm > 0 ? key->learned_tpm :
		(key->inferred_tpm > 0 ? key->inferred_tpm : 0);
	out->paced_rpm = key->req_pace.limit > 0 ? key->req_pace.limit : 0;
	out->paced_tpm = key->tok_pace.limit > 0 ? key->tok_pace.limit : 0;
}

/*
 * aigov_telemetry_tenant
 *		A tenant's figures on its three admission buckets.
 */
void
aigov_telemetry_tenant(const AigovTenantQuota *q, int64_t now_us,
					   AigovAxisFigures out[AIGOV_TELEMETRY_AXES])
{
	aigov_telemetry_bucket(&q->axis[AIGOV_AXIS_RPM], now_us, &out[AIGOV_TELEMETRY_RPM]);
	aigov_telemetry_bucket(&q->axis[AIGOV_AXIS_TPM], now_us, &out[AIGOV_TELEMETRY_TPM]);
	aigov_telemetry_bucket(&q->axis[AIGOV_AXIS_TPD], now_us, &out[AIGOV_TELEMETRY_TPD]);
}

const char *
aigov_telemetry_axis_name(AigovTelemetryAxis axis)
{
	switch (axis)
	{
		case AIGOV_TELEMETRY_RPM:
			return "rpm";
		case AIGOV_TELEMETRY_TPM:
			return "tpm";
		case AIGOV_TELEMETRY_TPD:
			return "tpd";
	}
	return "unknown";
}
