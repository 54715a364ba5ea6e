/*-------------------------------------------------------------------------
 * telemetry.h
 *	  Live figures of a key's or a tenant's quota axes, for the views.
 *
 * IDENTIFICATION
 *	  src/telemetry.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_TELEMETRY_H
#define AIGOV_TELEMETRY_H

#include <stdbool.h>
#include <stdint.h>

#include "admission.h"
#include "bucket.h"
#include "router.h"

/* The quota axes the views and alerts report, for keys and tenants alike. */
typedef enum AigovTelemetryAxis
{
	AIGOV_TELEMETRY_RPM = 0,	/* requests per minute */
	AIGOV_TELEMETRY_TPM,		/* tokens per minute */
	AIGOV_TELEMETRY_TPD			/* tokens per day */
} AigovTelemetryAxis;

#define AIGOV_TELEMETRY_AXES	3

/* One axis as a view shows it; known false: no limit, the rest is 0. */
typedef struct AigovAxisFigures
{
	bool		known;
	int64_t		limit;			/* per minute or per day */
	int64_t		remaining;		/* what could be taken now, >= 0 */
	int64_t		utilisation_ppm;	/* used share, may pass 1,000,000 */
	int64_t		full_at_us;		/* when the bucket is full again */
} AigovAxisFigures;

typedef struct AigovKeyFigures
{
	AigovAxisFigures axis[AIGOV_TELEMETRY_AXES];
	int64_t		learned_rpm;	/* from headers, else inferred; 0 none */
	int64_t		learned_tpm;
	int64_t		paced_rpm;		/* the pacers' rates; 0 unpaced */
	int64_t		paced_tpm;
} AigovKeyFigures;

extern void aigov_telemetry_bucket(const AigovBucket *b, int64_t now_us,
								   AigovAxisFigures *out);
extern void aigov_telemetry_key(const AigovKeyState *key, int64_t now_us,
								AigovKeyFigures *out);
extern void aigov_telemetry_tenant(const AigovTenantQuota *q, int64_t now_us,
								   AigovAxisFigures out[AIGOV_TELEMETRY_AXES]);
extern const char *aigov_telemetry_axis_name(AigovTelemetryAxis axis);

#endif							/* AIGOV_TELEMETRY_H */
