/*-------------------------------------------------------------------------
 * send.c
 *	  Putting a planned job on the wire: its request in its key's provider
 *	  dialect (protocol.h says how each provider wants it addressed,
 *	  authenticated and worded), handed to the curl pipeline.
 *
 * Runs after the claim committed, outside any transaction.  A job whose
 * request the provider cannot take (a feature its dialect cannot carry)
 * gives its key's reservation back and fails with the reason.  The key's
 * secret exists only in the header line built here, which curl copies; it
 * is zeroed at once.
 *
 * IDENTIFICATION
 *	  src/send.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "aigov.h"
#include "completion.h"
#include "dispatch.h"
#include "keycache.h"
#include "protocol.h"
#include "send.h"
#include "translate.h"

/*
 * AigovSendJob
 *		Builds a planned job's request for its key's provider and starts
 *		the call; a job that cannot be sent is completed and freed.
 */
void
AigovSendJob(AigovJob *job)
{
	const AigovCachedKey *key = job->route_key;
	MemoryContext old = MemoryContextSwitchTo(job->cxt);
	AigovTranslateOptions opts;
	AigovWireRequest wire;
	AigovTranslateStatus ts;
	char	   *auth;

	job->key_id = key->key_id;
	job->provider = pstrdup(key->provider);
	job->key_label = pstrdup(key->label);
	job->style = key->style;
	job->host = key->host != NULL ? pstrdup(key->host) : NULL;
	job->route_key = NULL;		/* the cache may be rebuilt from here on */

	memset(&opts, 0, sizeof(opts));
	opts.default_max_tokens = aigov_default_max_tokens;
	opts.allow_degraded = false;
	ts = aigov_protocol_build_request(key->style, key->base_url, job->model,
									  job->body, strlen(job->body), &opts, &wire);
	if (ts != AIGOV_TRANSLATE_OK)
	{
		AigovKeyRelease(job->key_shared, &job->ticket, true, AigovNowUs());
		AigovCompleteWithoutCall(job, "failed", 0, "unsupported",
								 psprintf("the request cannot be sent to provider \"%s\": %s",
										  job->provider,
										  wire.detail[0] ? wire.detail :
										  aigov_translate_status_name(ts)));
		aigov_protocol_wire_free(&wire);
		MemoryContextSwitchTo(old);
		AigovJobFree(job);
		return;
	}
	if (wire.body != NULL)
	{
		job->request_body = wire.body;
		job->request_body_owned = true;
		wire.body = NULL;
	}
	else
	{
		job->request_body = job->body;
		job->request_body_owned = false;
	}

	auth = psprintf("%s%s", aigov_protocol_auth_prefix(key->style), key->secret);
	AigovDispatchSend(job, wire.url, auth, aigov_protocol_version_header(key->style));
	/* curl copied the header; do not leave the secret lying around */
	explicit_bzero(auth, strlen(auth));
	pfree(auth);
	aigov_protocol_wire_free(&wire);
	MemoryContextSwitchTo(old);
}
