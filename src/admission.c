/*-------------------------------------------------------------------------
 * admission.c
 *	  Tenant admission: three buckets (RPM, TPM, TPD) taken atomically.
 *
 * A request costs one unit of RPM and its estimated tokens of TPM and TPD.
 * Because each bucket only gains room as time passes (when nobody else
 * takes), the first instant at which all three admit a job is exactly the
 * latest of the three individual instants; that is the retry_at the tenant
 * is told, and it is exact, not a guess.
 *
 * Locking is the caller's job: hold the tenant entry's lock across a call.
 *
 * IDENTIFICATION
 *	  src/admission.c
 *-------------------------------------------------------------------------
 */
#include "admission.h"

#include <stddef.h>

static int64_t
axis_cost(AigovAxis axis, int64_t est_tokens)
{
	if (axis == AIGOV_AXIS_RPM)
		return 1;
	return est_tokens > 0 ? est_tokens : 0;
}

static int64_t
axis_period(AigovAxis axis)
{
	return axis == AIGOV_AXIS_TPD ? AIGOV_USECS_PER_DAY : AIGOV_USECS_PER_MINUTE;
}

/*
 * update_soft
 *		Re-arm axes that fell below the hysteresis band, and fire (once)
 *		those at or above soft_limit_pct.  Returns the bits fired now.
 *
 * With fire = false only re-arming happens (used before a take, so that a
 * tenant who has drained back below the band is warned again).
 */
static uint32_t
update_soft(AigovTenantQuota *q, int64_t now_us, bool fire)
{
	uint32_t	fired = 0;
	int64_t		on_ppm;
	int64_t		off_ppm;

	if (q->soft_limit_pct <= 0)
	{
		q->soft_fired = 0;
		return 0;
	}
	on_ppm = (int64_t) q->soft_limit_pct * 10000;
	off_ppm = on_ppm - (int64_t) AIGOV_ADMISSION_SOFT_HYSTERESIS_PCT * 10000;

	for (int a = 0; a < AIGOV_AXIS_COUNT; a++)
	{
		int64_t		u;

		if (q->axis[a].limit <= 0)
			continue;
		u = aigov_bucket_utilisation_ppm(&q->axis[a], now_us);
		if ((q->soft_fired & AIGOV_AXIS_BIT(a)) && u < off_ppm)
			q->soft_fired &= ~AIGOV_AXIS_BIT(a);
		else if (fire && !(q->soft_fired & AIGOV_AXIS_BIT(a)) && u >= on_ppm)
		{
			q->soft_fired |= AIGOV_AXIS_BIT(a);
			fired |= AIGOV_AXIS_BIT(a);
		}
	}
	return fired;
}

/*
 * aigov_admission_init
 *		Set up a tenant with full buckets.  A limit <= 0 means "no limit on
 *		that axis" (a NULL in aigov.tiers / aigov.tenants).
 */
bool
aigov_admission_init(AigovTenantQuota *q, int64_t rpm, int64_t tpm,
					 int64_t tpd, int32_t soft_limit_pct)
{
	bool		ok = true;

	ok &= aigov_bucket_init(&q->axis[AIGOV_AXIS_RPM], rpm,
							AIGOV_USECS_PER_MINUTE);
	ok &= aigov_bucket_init(&q->axis[AIGOV_AXIS_TPM], tpm,
							AIGOV_USECS_PER_MINUTE);
	ok &= aigov_bucket_init(&q->axis[AIGOV_AXIS_TPD], tpd,
							AIGOV_USECS_PER_DAY);
	q->soft_limit_pct = soft_limit_pct;
	q->soft_fired = 0;
	return ok;
}

/*
 * aigov_admission_configure
 *		Apply new limits to a live tenant (configuration reload).
 *
 * Each axis keeps its fill fraction (see aigov_bucket_set_limit), so a
 * tier change neither forgives nor punishes recent use.
 */
void
aigov_admission_configure(AigovTenantQuota *q, int64_t rpm, int64_t tpm,
						  int64_t tpd, int32_t soft_limit_pct, int64_t now_us)
{
	int64_t		limits[AIGOV_AXIS_COUNT];

	limits[AIGOV_AXIS_RPM] = rpm;
	limits[AIGOV_AXIS_TPM] = tpm;
	limits[AIGOV_AXIS_TPD] = tpd;
	for (int a = 0; a < AIGOV_AXIS_COUNT; a++)
		(void) aigov_bucket_set_limit(&q->axis[a], limits[a],
									  axis_period((AigovAxis) a), now_us);
	if (soft_limit_pct != q->soft_limit_pct)
	{
		q->soft_limit_pct = soft_limit_pct;
		q->soft_fired = 0;
	}
}

/*
 * aigov_admission_check
 *		Would a job of est_tokens be admitted now?  Changes nothing.
 *
 * Fills *result (soft_warn is always 0 here) and returns its status.
 */
AigovAdmitStatus
aigov_admission_check(const AigovTenantQuota *q, int64_t est_tokens,
					  int64_t now_us, AigovAdmitResult *result)
{
	int64_t		latest = now_us;

	result->status = AIGOV_ADMIT_OK;
	result->axis = AIGOV_AXIS_NONE;
	result->retry_at_us = now_us;
	result->soft_warn = 0;

	for (int a = 0; a < AIGOV_AXIS_COUNT; a++)
	{
		int64_t		at;
		AigovBucketResult r;

		r = aigov_bucket_available_at(&q->axis[a],
									  axis_cost((AigovAxis) a, est_tokens),
									  now_us, &at);
		if (r == AIGOV_BUCKET_NEVER)
		{
			result->status = AIGOV_ADMIT_NEVER;
			result->axis = (AigovAxis) a;
			result->retry_at_us = INT64_MAX;
			return AIGOV_ADMIT_NEVER;
		}
		/* strictly later wins, so ties name the first axis (rpm, tpm, tpd) */
		if (r == AIGOV_BUCKET_WAIT && at > latest)
		{
			latest = at;
			result->axis = (AigovAxis) a;
		}
	}
	if (latest > now_us)
	{
		result->status = AIGOV_ADMIT_WAIT;
		result->retry_at_us = latest;
	}
	return result->status;
}

/*
 * aigov_admission_try
 *		Admit a job of est_tokens: take one request and est_tokens tokens
 *		from all three axes, or take nothing.
 *
 * On OK, result->soft_warn names the axes whose soft limit this admission
 * crossed (each crossing is reported once).  On WAIT and NEVER nothing is
 * taken; see AigovAdmitResult.
 */
AigovAdmitStatus
aigov_admission_try(AigovTenantQuota *q, int64_t est_tokens, int64_t now_us,
					AigovAdmitResult *result)
{
	(void) update_soft(q, now_us, false);
	if (aigov_admission_check(q, est_tokens, now_us, result) != AIGOV_ADMIT_OK)
		return result->status;

	/* all three fit at this instant, so these takes cannot fail */
	for (int a = 0; a < AIGOV_AXIS_COUNT; a++)
		aigov_bucket_force_take(&q->axis[a],
								axis_cost((AigovAxis) a, est_tokens), now_us);
	result->soft_warn = update_soft(q, now_us, true);
	return AIGOV_ADMIT_OK;
}

/*
 * aigov_admission_admit_or_book
 *		Admits a job now, or books it at the first instant all three
 *		buckets allow it, in one call.
 *
 * Booking takes the job's cost now, into debt, so the next job that has
 * to wait books one interval later: a backlog is spread over the refill
 * instead of every waiting job waking at the same moment.  One call, so
 * that a caller holding the quota's lock decides on one view of it: a
 * reconfiguration between an admission check and a booking cannot turn a
 * "wait" into a job that is sent without being charged.
 *
 * Returns OK (taken now, soft_warn set), WAIT (booked: retry_at_us is the
 * instant the job may go, its cost is taken) or NEVER (nothing taken).
 */
AigovAdmitStatus
aigov_admission_admit_or_book(AigovTenantQuota *q, int64_t est_tokens,
							  int64_t now_us, AigovAdmitResult *result)
{
	if (aigov_admission_try(q, est_tokens, now_us, result) != AIGOV_ADMIT_WAIT)
		return result->status;
	for (int a = 0; a < AIGOV_AXIS_COUNT; a++)
		aigov_bucket_force_take(&q->axis[a],
								axis_cost((AigovAxis) a, est_tokens), now_us);
	return AIGOV_ADMIT_WAIT;
}

/*
 * aigov_admission_reconcile
 *		Correct TPM and TPD once the provider has reported the tokens a job
 *		really used.
 *
 * More than estimated is taken even past the limit (the tokens are spent;
 * the debt delays the tenant's next jobs); fewer is given back.  Returns
 * the soft-warning bits this crossed.
 */
uint32_t
aigov_admission_reconcile(AigovTenantQuota *q, int64_t est_tokens,
						  int64_t actual_tokens, int64_t now_us)
{
	if (est_tokens < 0)
		est_tokens = 0;
	if (actual_tokens < 0)
		actual_tokens = 0;
	(void) update_soft(q, now_us, false);
	for (int a = AIGOV_AXIS_TPM; a <= AIGOV_AXIS_TPD; a++)
	{
		if (actual_tokens > est_tokens)
			aigov_bucket_force_take(&q->axis[a], actual_tokens - est_tokens,
									now_us);
		else if (actual_tokens < est_tokens)
			aigov_bucket_give_back(&q->axis[a], est_tokens - actual_tokens,
								   now_us);
	}
	return update_soft(q, now_us, true);
}

/*
 * aigov_admission_refund
 *		Undo an admission whose job was never sent (no key had headroom, the
 *		job was cancelled before dispatch): give back the request and the
 *		estimated tokens.
 */
void
aigov_admission_refund(AigovTenantQuota *q, int64_t est_tokens,
					   int64_t now_us)
{
	for (int a = 0; a < AIGOV_AXIS_COUNT; a++)
		aigov_bucket_give_back(&q->axis[a],
							   axis_cost((AigovAxis) a, est_tokens), now_us);
	(void) update_soft(q, now_us, false);
}

/*
 * aigov_admission_soft_poll
 *		Re-evaluate soft warnings without taking anything (e.g. from a
 *		periodic sweep); returns the bits fired now.
 */
uint32_t
aigov_admission_soft_poll(AigovTenantQuota *q, int64_t now_us)
{
	return update_soft(q, now_us, true);
}

/*
 * aigov_admission_utilisation_ppm
 *		Used share of one axis in parts per million (0 when unlimited or
 *		for an unknown axis).
 */
int64_t
aigov_admission_utilisation_ppm(const AigovTenantQuota *q, AigovAxis axis,
								int64_t now_us)
{
	if (axis < 0 || axis >= AIGOV_AXIS_COUNT)
		return 0;
	return aigov_bucket_utilisation_ppm(&q->axis[axis], now_us);
}

/*
 * aigov_admission_axis_name
 *		The reason string aigov.submit() reports for an axis.
 */
const char *
aigov_admission_axis_name(AigovAxis axis)
{
	switch (axis)
	{
		case AIGOV_AXIS_RPM:
			return "tenant_rpm";
		case AIGOV_AXIS_TPM:
			return "tenant_tpm";
		case AIGOV_AXIS_TPD:
			return "tenant_tpd";
		case AIGOV_AXIS_NONE:
			break;
	}
	return "none";
}
