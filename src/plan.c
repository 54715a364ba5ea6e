/*-------------------------------------------------------------------------
 * plan.c
 *	  Planning a claimed job inside the claim's transaction: does it go
 *	  out now, and on which key?
 *
 * In order: a job past its deadline expires; a job its tenant has not been
 * charged for is admitted against the tenant's buckets or booked at the
 * first instant they allow (layer 1); then a key is chosen among those
 * serving its model, in proportion to their headroom on requests and
 * tokens net of what is in flight, and the job's cost is reserved on it
 * (layer 2).  A job with no key free now books the next free slot of the
 * key that offers the earliest one, if it is near, so that waiting jobs
 * come due one pace interval apart; further slots are left to the queue's
 * fair order.  A job its model cannot take in time may go to an
 * alternative model of aigov.compat instead (layer 4, reroute.c); the
 * providers' breakers (provbreaker.c) are asked before their keys'.  A
 * job that cannot go gets its completion record (back to the queue with a
 * not_before, or a final state with the reason) and is freed.  Key state
 * is reached only through quota.c.
 *
 * IDENTIFICATION
 *	  src/plan.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/pg_prng.h"

#include "completion.h"
#include "keycache.h"
#include "pgutil.h"
#include "plan.h"
#include "protocol.h"
#include "provbreaker.h"
#include "reroute.h"
#include "throttle_gate.h"

/* How far ahead a job may book a key's slot. */
#define AIGOV_BOOK_HORIZON_US	INT64CONST(200000)

typedef enum RouteResult
{
	ROUTE_OK,
	ROUTE_WAIT,					/* every candidate is exhausted for now */
	ROUTE_THROTTLED,			/* the provider's throttle holds it back */
	ROUTE_NONE					/* no enabled key serves the job */
} RouteResult;

/* The keys a job may go to, with their states as last seen. */
typedef struct Candidates
{
	AigovCachedKey *key[AIGOV_MAX_CANDIDATES];
	AigovKeyState state[AIGOV_MAX_CANDIDATES];
	bool		eligible[AIGOV_MAX_CANDIDATES]; /* its breaker lets calls
												 * through */
	int			n;
	int64		breaker_retry_us;	/* earliest a refusing breaker allows */
} Candidates;

void
AigovPlanCycleInit(AigovPlanCycle *cycle, TimestampTz next_due)
{
	cycle->next_due = next_due;
	cycle->route_blocked_until = INT64_MAX;
	cycle->claims_early = false;
}

/*
 * refund_tenant
 *		Gives the tenant back what a job that will never be sent was
 *		charged.
 */
static void
refund_tenant(AigovJob *job, int64 now_us)
{
	if (job->tenant_shared != NULL && (job->admitted || job->admitted_now))
		AigovTenantRefund(job->tenant_shared, job->est_tokens, now_us);
}

/*
 * job_charge
 *		What a job will cost on the token buckets of the keys that may take
 *		it.  Character-counting limiters (OpenAI's, Azure's) admit on a
 *		count of the messages' characters plus the output budget, not on
 *		tokens (tokens.h); the others charge tokens, for which our own
 *		estimate stands.  When both kinds are candidates, the larger, so
 *		whichever key is chosen is not overrun.
 */
static int64
job_charge(const AigovJob *job, const Candidates *c)
{
	bool		by_chars = false;
	bool		by_tokens = false;
	int64		output = Max(job->est_tokens - job->est_prompt_tokens, 0);
	int64		chars = job->charged_prompt_tokens + output;

	for (int i = 0; i < c->n; i++)
	{
		if (aigov_protocol_charges_characters(c->key[i]->style))
			by_chars = true;
		else
			by_tokens = true;
	}
	if (by_chars && by_tokens)
		return Max(chars, job->est_tokens);
	return by_chars ? chars : job->est_tokens;
}

/*
 * gather_candidates
 *		The keys serving the job's model whose workload class and tenant
 *		group match, with a snapshot of each and its breaker's verdict.
 */
static void
gather_candidates(AigovJob *job, int64 now_us, Candidates *c)
{
	AigovCachedKey *all[AIGOV_MAX_CANDIDATES];
	int			nall = AigovKeyCacheCandidates(job->model, all, AIGOV_MAX_CANDIDATES);
	int			open = 0;

	c->n = 0;
	c->breaker_retry_us = INT64_MAX;
	for (int i = 0; i < nall; i++)
	{
		AigovCachedKey *key = all[i];
		int64		retry = 0;

		if (job->route_provider != NULL && strcmp(key->provider, job->route_provider) != 0)
			continue;
		if (key->workload_class != NULL &&
			strcmp(key->workload_class, job->workload_class) != 0)
			continue;
		if (key->tenant_group != NULL &&
			(job->tenant_group == NULL ||
			 strcmp(key->tenant_group, job->tenant_group) != 0))
			continue;
		c->key[c->n] = key;

		/*
		 * The provider's breaker (provbreaker.c) first: its refusal must not
		 * spend the key's half-open probe.  The router never reads the state
		 * of a key that is not eligible.
		 */
		if (AigovProviderBreakerAllows(key->provider, now_us, &retry))
			c->eligible[c->n] = AigovKeySnapshot(key->shared, now_us,
												 &c->state[c->n], &retry);
		else
		{
			memset(&c->state[c->n], 0, sizeof(AigovKeyState));
			c->eligible[c->n] = false;
		}
		if (!c->eligible[c->n] && retry > 0)
		{
			c->breaker_retry_us = Min(c->breaker_retry_us, retry);
			open++;
		}
		c->n++;
	}
	job->breaker_blocked = (c->n > 0 && open == c->n);
}

/*
 * book_slot
 *		When a job that found no key may try again.  A job seen for the
 *		first time books the next free slot of the candidate that offers
 *		the earliest one, behind the jobs already waiting for it.  A job
 *		that waited before keeps its place: it waits only for the key.
 *		*booked is false when the job only waits for the key (it waited
 *		before, the slot is further than AIGOV_BOOK_HORIZON_US away, or the
 *		key's limits are unknown and a completion, not time, will free it).
 */
static int64
book_slot(const AigovJob *job, const Candidates *c, int64 key_free_at,
		  int64 now_us, bool *booked)
{
	int			best = -1;
	int64		best_slot = INT64_MAX;
	int64		slot;

	*booked = false;
	if (job->deferred || job->route_provider != NULL)
		return key_free_at;
	for (int i = 0; i < c->n; i++)
	{
		if (!c->eligible[i])
			continue;
		slot = aigov_router_next_slot(&c->state[i], job->charge_tokens, now_us);
		if (slot < best_slot)
		{
			best_slot = slot;
			best = i;
		}
	}
	if (best < 0 || !aigov_router_limits_known(&c->state[best]))
		return key_free_at;

	/*
	 * Beyond the horizon, the job waits in the queue instead: a booking fixes
	 * the order of service, and the fair order of the queue
	 * (docs/scheduling.md) must decide it for jobs enqueued later.
	 */
	if (best_slot > now_us + AIGOV_BOOK_HORIZON_US)
		return key_free_at;
	slot = AigovKeyBook(c->key[best]->shared, job->charge_tokens, now_us);
	if (slot == INT64_MAX)
		return key_free_at;
	*booked = true;
	return Max(slot, key_free_at);
}

/*
 * never_fits_configured
 *		Whether the job is bigger than every eligible candidate's configured
 *		limits.  A router "never" for a smaller job comes from a learned or
 *		inferred limit, which is transient: such a job asks again soon.
 */
static bool
never_fits_configured(const AigovJob *job, const Candidates *c)
{
	for (int i = 0; i < c->n; i++)
	{
		const AigovKeyState *k = &c->state[i];

		if (c->eligible[i] && !k->disabled &&
			(k->cfg_tpm <= 0 || job->charge_tokens <= k->cfg_tpm) &&
			(k->cfg_tpd <= 0 || job->charge_tokens <= k->cfg_tpd))
			return false;
	}
	return true;
}

/*
 * route_job
 *		Chooses a key for a job (layer 2) and reserves the job's cost on it.
 *		On WAIT, *wait_until is when the job may try again and *key_free_at
 *		the earliest time any candidate will have headroom.
 */
static RouteResult
route_job(AigovJob *job, int64 now_us, AigovCachedKey **chosen,
		  int64 *wait_until, int64 *key_free_at, bool *booked)
{
	Candidates	c;
	int			pick;
	int64		earliest;
	int64		throttled_until;
	AigovRouterStatus rs;

	*key_free_at = INT64_MAX;
	*booked = false;
	gather_candidates(job, now_us, &c);
	*wait_until = c.breaker_retry_us;
	if (c.n == 0)
		return ROUTE_NONE;
	job->charge_tokens = job_charge(job, &c);
	if (!AigovThrottleGate(c.key, c.state, c.n, job->workload_class,
						   job->charge_tokens,
						   job->deadline != 0 ? AigovToUnixUs(job->deadline) : INT64_MAX,
						   now_us, &throttled_until))
	{
		*wait_until = throttled_until;
		return ROUTE_THROTTLED;
	}

	for (int attempt = 0; attempt < 3; attempt++)
	{
		/*
		 * The router scales all 64 bits to the keys' total weight: random()
		 * has 31, and two of them left the top bit 0, which confined every
		 * draw to the first half of the total and gave the first keys in
		 * order nearly all the traffic.
		 */
		rs = aigov_router_choose(c.state, c.n, c.eligible, job->charge_tokens,
								 now_us, pg_prng_uint64(&pg_global_prng_state),
								 &pick, &earliest);
		if (rs == AIGOV_ROUTER_NEVER)
		{
			if (!never_fits_configured(job, &c))
				*wait_until = Min(*wait_until, now_us + USECS_PER_SEC);
			return *wait_until < INT64_MAX ? ROUTE_WAIT : ROUTE_NONE;
		}
		if (rs != AIGOV_ROUTER_OK)
		{
			*key_free_at = Min(*wait_until, earliest);
			*wait_until = book_slot(job, &c, *key_free_at, now_us, booked);
			return ROUTE_WAIT;
		}
		/* another worker may have taken the headroom since the snapshot */
		if (AigovKeyReserve(c.key[pick]->shared, job->charge_tokens, now_us,
							&job->ticket, &c.state[pick]))
		{
			AigovThrottleCharge(c.key[pick]->provider, job->workload_class,
								job->charge_tokens, now_us);
			*chosen = c.key[pick];
			return ROUTE_OK;
		}
	}
	*wait_until = Min(*wait_until, now_us + AIGOV_ROUTER_RECHECK_US);
	return ROUTE_WAIT;
}

/*
 * admit_tenant
 *		Layer 1 for a job its tenant has not been charged for: taken now,
 *		or booked at the first instant the tenant's buckets allow it, or
 *		refused for good.  Returns true if the job goes on to routing;
 *		otherwise its completion is queued.
 */
static bool
admit_tenant(AigovJob *job, int64 now_us, AigovPlanCycle *cycle)
{
	AigovAdmitResult res;
	TimestampTz at;

	switch (AigovTenantAdmitOrBook(job->tenant_shared, job->est_tokens, now_us, &res))
	{
		case AIGOV_ADMIT_OK:
			job->admitted_now = true;
			AigovNoteSoftWarnings(job->tenant_id, job->tenant_shared, res.soft_warn);
			return true;
		case AIGOV_ADMIT_WAIT:
			/* booked: no herd when the quota refills */
			job->admitted_now = true;
			at = AigovFromUnixUs(Max(res.retry_at_us, now_us));
			if (job->deadline != 0 && at > job->deadline)
			{
				AigovTenantRefund(job->tenant_shared, job->est_tokens, now_us);
				job->admitted_now = false;
				AigovCompleteExpired(job, aigov_admission_axis_name(res.axis),
									 "the tenant's quota allows the job only after its deadline",
									 at);
			}
			else
			{
				AigovCompleteWithoutCall(job, "queued", at, NULL, NULL);
				cycle->next_due = Min(cycle->next_due, at);
			}
			return false;
		case AIGOV_ADMIT_NEVER:
			AigovCompleteWithoutCall(job, "failed", 0, "tenant_quota",
									 psprintf("the job's %lld estimated tokens exceed the %s limit of tenant \"%s\"",
											  (long long) job->est_tokens,
											  aigov_admission_axis_name(res.axis),
											  job->tenant_id));
			return false;
	}
	return false;
}

/*
 * defer_for_key
 *		Queues a job that found no key free now, to try again when one is,
 *		or expires it if that is past its deadline.
 */
static void
defer_for_key(AigovJob *job, int64 now_us, int64 wait_until, int64 key_free_at,
			  bool booked, AigovPlanCycle *cycle)
{
	TimestampTz at;

	/* no key has room to give: only breakers hold the job back */
	bool		breakers_only = key_free_at == INT64_MAX;

	key_free_at = Min(key_free_at, wait_until);
	cycle->route_blocked_until = Min(cycle->route_blocked_until, key_free_at);
	if (!booked)
		cycle->claims_early = true;
	/* a job with a deadline does not wait behind the others' bookings */
	if (job->deadline != 0 && AigovFromUnixUs(wait_until) > job->deadline)
		wait_until = key_free_at;
	at = AigovFromUnixUs(wait_until);
	if (job->deadline != 0 && at > job->deadline)
	{
		refund_tenant(job, now_us);
		AigovCompleteExpired(job, "deadline",
							 breakers_only ?
							 "every key serving the job has its circuit breaker open past its deadline" :
							 "every key serving the job is exhausted past its deadline",
							 at);
	}
	else
	{
		AigovCompleteWithoutCall(job, "queued", at, NULL, NULL);
		cycle->next_due = Min(cycle->next_due, at);
	}
}

/*
 * route_or_defer
 *		Layer 2 for an admitted job: reserves a key for it, or queues its
 *		completion (waiting for a key, or failed for want of one).  Returns
 *		true if the job is ready to send.
 */
static bool
route_or_defer(AigovJob *job, int64 now_us, AigovPlanCycle *cycle)
{
	AigovCachedKey *key = NULL;
	int64		wait_until;
	int64		key_free_at;
	bool		booked;
	RouteResult rr = route_job(job, now_us, &key, &wait_until, &key_free_at, &booked);
	int64		free_at = rr == ROUTE_NONE ? INT64_MAX : Min(key_free_at, wait_until);
	char	   *why;

	/*
	 * layer 4: an alternative model of aigov.compat (reroute.c).  A job the
	 * throttle holds back waits: the throttle spreads a provider's load, and
	 * sending the job elsewhere would only move the burst.
	 */
	if (rr != ROUTE_OK && rr != ROUTE_THROTTLED)
		switch (AigovFallbackPlan(job, now_us, free_at,
								  rr == ROUTE_NONE || job->breaker_blocked, &why))
		{
			case AIGOV_FALLBACK_ROUTED:
				return true;
			case AIGOV_FALLBACK_FAIL:
				refund_tenant(job, now_us);
				AigovCompleteWithoutCall(job, "failed", AigovFromUnixUs(free_at),
										 "no_compatible_fallback", why);
				return false;
			case AIGOV_FALLBACK_NOT_TAKEN:
				break;
		}
	switch (rr)
	{
		case ROUTE_NONE:
			refund_tenant(job, now_us);
			AigovCompleteWithoutCall(job, "failed", 0, "no_route",
									 psprintf("no enabled key serves model \"%s\" for workload class \"%s\"%s with room for %lld tokens",
											  job->model, job->workload_class,
											  job->tenant_group == NULL ? "" :
											  psprintf(" and tenant group \"%s\"", job->tenant_group),
											  (long long) job->est_tokens));
			return false;
		case ROUTE_WAIT:
			defer_for_key(job, now_us, wait_until, key_free_at, booked, cycle);
			return false;
		case ROUTE_THROTTLED:

			/*
			 * Waits in the queue (not a failure, not a provider 429), as a
			 * job that found no key does: the worker then claims one job at a
			 * time until the throttle releases, so the backlog is not claimed
			 * and held wholesale.  Held wholesale, jobs came due in the order
			 * they were held, not in their fair order, and tenants' weights
			 * were lost (t/014_fairness.pl).
			 */
			defer_for_key(job, now_us, wait_until, wait_until, false, cycle);
			return false;
		case ROUTE_OK:
			break;
	}
	job->key_shared = key->shared;
	job->route_key = key;
	return true;
}

/*
 * AigovPlanRouteOn
 *		Routes a job on one provider's keys of another model (an
 *		alternative of aigov.compat), with no booking if none is free now.
 *		On success the job carries that model (allocated by the caller in
 *		the job's context) and its key is reserved; otherwise it is as it
 *		was.
 */
bool
AigovPlanRouteOn(AigovJob *job, char *model, const char *provider, int64 now_us)
{
	char	   *own = job->model;
	AigovCachedKey *key = NULL;
	int64		wait_until;
	int64		key_free_at;
	bool		booked;
	bool		ok;

	job->model = model;
	job->route_provider = provider;
	ok = route_job(job, now_us, &key, &wait_until, &key_free_at, &booked) == ROUTE_OK;
	job->route_provider = NULL;
	if (!ok)
	{
		job->model = own;
		return false;
	}
	job->key_shared = key->shared;
	job->route_key = key;
	return true;
}

/*
 * AigovPlanJob
 *		Decides whether a claimed job goes out now (see the file's banner).
 *		Runs inside the cycle transaction (tenant entries may read SPI),
 *		allocating in the job's context.  A job that cannot go gets its
 *		completion record and is freed; returns true if the job is ready
 *		to send, with its key reserved.
 */
bool
AigovPlanJob(AigovJob *job, AigovPlanCycle *cycle)
{
	MemoryContext old = MemoryContextSwitchTo(job->cxt);
	int64		now_us = AigovNowUs();
	bool		ready = false;

	if (job->tenant_limits.rpm > 0)
		job->tenant_shared = AigovTenantEntryGet(job->tenant_id, &job->tenant_limits);

	if (job->deadline != 0 && job->deadline < AigovFromUnixUs(now_us))
	{
		refund_tenant(job, now_us);
		AigovCompleteWithoutCall(job, "expired", 0, "deadline",
								 "the job's deadline passed before it could be sent");
	}
	else if (job->admitted || job->tenant_shared == NULL ||
			 admit_tenant(job, now_us, cycle))
		ready = route_or_defer(job, now_us, cycle);

	MemoryContextSwitchTo(old);
	if (!ready)
		AigovJobFree(job);
	return ready;
}
