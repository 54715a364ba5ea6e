/*-------------------------------------------------------------------------
 * admission.h
 *	  Tenant admission (layer 1): RPM, TPM and TPD buckets taken together.
 *
 * A tenant's quota is three AigovBuckets in one fixed-size struct.  A job
 * is admitted only if all three have room for it, and then takes from all
 * three at once; otherwise it takes nothing and the caller learns which
 * axis blocked it and the exact microsecond at which all three will admit
 * it.  Soft warnings are edge-triggered per axis.
 *
 * IDENTIFICATION
 *	  src/admission.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_ADMISSION_H
#define AIGOV_ADMISSION_H

#include <stdbool.h>
#include <stdint.h>

#include "bucket.h"

typedef enum AigovAxis
{
	AIGOV_AXIS_NONE = -1,
	AIGOV_AXIS_RPM = 0,			/* requests per minute */
	AIGOV_AXIS_TPM,				/* tokens per minute */
	AIGOV_AXIS_TPD				/* tokens per day */
} AigovAxis;

#define AIGOV_AXIS_COUNT	3
#define AIGOV_AXIS_BIT(a)	(UINT32_C(1) << (a))

/*
 * A soft warning re-arms once utilisation has fallen this many percentage
 * points below soft_limit_pct, so a tenant hovering at the threshold gets
 * one warning, not one per request.
 */
#define AIGOV_ADMISSION_SOFT_HYSTERESIS_PCT	5

typedef struct AigovTenantQuota
{
	AigovBucket axis[AIGOV_AXIS_COUNT]; /* indexed by AigovAxis */
	int32_t		soft_limit_pct; /* 1..: warn when crossed; <= 0: never */
	uint32_t	soft_fired;		/* AIGOV_AXIS_BIT set: warned, not re-armed */
} AigovTenantQuota;

typedef enum AigovAdmitStatus
{
	AIGOV_ADMIT_OK = 0,			/* taken from all three axes */
	AIGOV_ADMIT_WAIT,			/* nothing taken; retry at retry_at_us */
	AIGOV_ADMIT_NEVER			/* larger than an axis limit: never fits */
} AigovAdmitStatus;

typedef struct AigovAdmitResult
{
	AigovAdmitStatus status;
	AigovAxis	axis;			/* WAIT: the axis that is ready last (the
								 * binding one); NEVER: the first axis too
								 * small; OK: AIGOV_AXIS_NONE */
	int64_t		retry_at_us;	/* OK: now; WAIT: first instant all three
								 * admit; NEVER: INT64_MAX */
	uint32_t	soft_warn;		/* AIGOV_AXIS_BITs whose soft limit this call
								 * crossed upward */
} AigovAdmitResult;

extern bool aigov_admission_init(AigovTenantQuota *q, int64_t rpm,
								 int64_t tpm, int64_t tpd,
								 int32_t soft_limit_pct);
extern void aigov_admission_configure(AigovTenantQuota *q, int64_t rpm,
									  int64_t tpm, int64_t tpd,
									  int32_t soft_limit_pct,
									  int64_t now_us);
extern AigovAdmitStatus aigov_admission_check(const AigovTenantQuota *q,
											  int64_t est_tokens,
											  int64_t now_us,
											  AigovAdmitResult *result);
extern AigovAdmitStatus aigov_admission_try(AigovTenantQuota *q,
											int64_t est_tokens,
											int64_t now_us,
											AigovAdmitResult *result);
extern AigovAdmitStatus aigov_admission_admit_or_book(AigovTenantQuota *q,
													  int64_t est_tokens,
													  int64_t now_us,
													  AigovAdmitResult *result);
extern uint32_t aigov_admission_reconcile(AigovTenantQuota *q,
										  int64_t est_tokens,
										  int64_t actual_tokens,
										  int64_t now_us);
extern void aigov_admission_refund(AigovTenantQuota *q, int64_t est_tokens,
								   int64_t now_us);
extern uint32_t aigov_admission_soft_poll(AigovTenantQuota *q,
										  int64_t now_us);
extern int64_t aigov_admission_utilisation_ppm(const AigovTenantQuota *q,
											   AigovAxis axis,
											   int64_t now_us);
extern const char *aigov_admission_axis_name(AigovAxis axis);

#endif							/* AIGOV_ADMISSION_H */
