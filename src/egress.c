/*-------------------------------------------------------------------------
 * egress.c
 *	  Where provider calls may go: the GUC aigov.allowed_hosts, the check
 *	  of a provider's base_url when its row is written, and the check of
 *	  every address a call connects to (dispatch.c's open-socket callback).
 *
 * The write-time check catches mistakes early; the call-time check is the
 * one that holds, because a host name may resolve elsewhere later and a
 * restore loads aigov.providers with triggers off.  A call refused at
 * connect time sends nothing, so the key's secret never leaves: its job
 * fails as host_not_allowed, without a retry, without touching the key's
 * breaker, and the key stays in rotation.
 *
 * The parsed list lives in the GUC's "extra" (malloc'd by the check hook,
 * freed by the GUC machinery), so the curl callback reads it without
 * palloc or ereport.
 *
 * IDENTIFICATION
 *	  src/egress.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <netdb.h>
#include <netinet/in.h>

#include "commands/trigger.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/rel.h"

#include "completion.h"
#include "egress.h"
#include "hostcheck.h"
#include "pgutil.h"
#include "quota.h"

PG_FUNCTION_INFO_V1(aigov_providers_check_url);

static char *aigov_allowed_hosts = NULL;
static const AigovHostList *allowed_list = NULL;

static bool
check_allowed_hosts(char **newval, void **extra, GucSource source)
{
	char		err[256];
	AigovHostList *list = aigov_hostlist_parse(*newval, err, sizeof(err));

	if (list == NULL)
	{
		GUC_check_errdetail("%s.", err);
		return false;
	}
	*extra = list;
	return true;
}

static void
assign_allowed_hosts(const char *newval, void *extra)
{
	allowed_list = (const AigovHostList *) extra;
}

/*
 * AigovEgressDefineGucs
 *		Defines aigov.allowed_hosts.  It decides where the workers send
 *		the keys, so only superusers may change it.
 */
void
AigovEgressDefineGucs(void)
{
	DefineCustomStringVariable("aigov.allowed_hosts",
							   "Sets the hosts, addresses and networks provider calls may go to.",
							   "Empty allows any public address; loopback, private, link-local "
							   "and other special-purpose addresses must be listed.",
							   &aigov_allowed_hosts, "", PGC_SUSET, GUC_LIST_INPUT,
							   check_allowed_hosts, assign_allowed_hosts, NULL);
}

/* A sockaddr as an AigovAddr; false for a family other than IPv4/IPv6. */
static bool
addr_of(const struct sockaddr *sa, AigovAddr *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET)
	{
		out->family = 4;
		memcpy(out->bytes, &((const struct sockaddr_in *) sa)->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6)
	{
		out->family = 6;
		memcpy(out->bytes, &((const struct sockaddr_in6 *) sa)->sin6_addr, 16);
		return true;
	}
	return false;
}

/*
 * AigovEgressAllowsSockaddr
 *		True if a call to host (NULL: a URL we could not read) may connect
 *		to sa under the current aigov.allowed_hosts; the address is written
 *		to addr_text.  Runs inside a curl callback: no palloc, no ereport.
 */
bool
AigovEgressAllowsSockaddr(const char *host, const struct sockaddr *sa,
						  char *addr_text, size_t addr_len)
{
	AigovAddr	addr;

	if (addr_len > 0)
		addr_text[0] = '\0';
	if (!addr_of(sa, &addr))
		return false;
	aigov_addr_format(&addr, addr_text, addr_len);
	if (host != NULL && aigov_hostlist_names_host(allowed_list, host))
		return true;
	return aigov_hostlist_allows_addr(allowed_list, &addr);
}

/*
 * AigovEgressUrlHost
 *		The host of a base URL as the checks read it, palloc'd in the
 *		current context; NULL if the URL has none we accept (its calls are
 *		then judged by their addresses alone).
 */
char *
AigovEgressUrlHost(const char *url)
{
	char		host[AIGOV_HOST_NAME_MAX + 1];

	if (aigov_url_host(url, host, sizeof(host)) != AIGOV_URL_HOST_OK)
		return NULL;
	return pstrdup(host);
}

/*
 * refuse_address
 *		Raises the error for an address aigov.allowed_hosts does not allow;
 *		host is the URL's host name, NULL when the URL names the address.
 */
static void
refuse_address(const char *provider, const char *host, const AigovAddr *addr)
{
	char		text[64];
	const char *why;

	aigov_addr_format(addr, text, sizeof(text));
	why = aigov_addr_is_public(addr) ?
		"aigov.allowed_hosts is not empty and does not list \"public\", so it allows only what it lists." :
		"Loopback, private, link-local and other special-purpose addresses are allowed only when aigov.allowed_hosts lists them.";
	if (host == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("address \"%s\" of provider \"%s\" is not allowed by aigov.allowed_hosts",
						text, provider),
				 errdetail_internal("%s", why),
				 errhint("A superuser can add the address, or a network that contains it, to aigov.allowed_hosts.")));
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("host \"%s\" of provider \"%s\" resolves to \"%s\", which aigov.allowed_hosts does not allow",
					host, provider, text),
			 errdetail("%s  Every address of a host name must be allowed, unless aigov.allowed_hosts lists the name.",
					   why),
			 errhint("A superuser can add the host name, the address or a network that contains it to aigov.allowed_hosts.")));
}

/*
 * check_name
 *		Resolves a host name and checks every address it has.  A name that
 *		does not resolve now is accepted with a warning: the check at call
 *		time decides.
 */
static void
check_name(const char *provider, const char *host)
{
	struct addrinfo hints;
	struct addrinfo *res = NULL;
	int			rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc != 0)
	{
		ereport(WARNING,
				(errmsg("could not resolve host \"%s\" of provider \"%s\"",
						host, provider),
				 errdetail("The resolver said: %s.  The provider is accepted; every address its calls connect to is checked against aigov.allowed_hosts.",
						   gai_strerror(rc))));
		return;
	}
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
	{
		AigovAddr	addr;

		if (addr_of(ai->ai_addr, &addr) &&
			!aigov_hostlist_allows_addr(allowed_list, &addr))
		{
			freeaddrinfo(res);
			refuse_address(provider, host, &addr);
		}
	}
	freeaddrinfo(res);
}

/*
 * check_url
 *		Refuses a base URL whose host aigov.allowed_hosts does not allow.
 *		A URL that is not http(s) at all is left to the table's CHECK.
 */
static void
check_url(const char *provider, const char *url)
{
	char		host[AIGOV_HOST_NAME_MAX + 1];
	AigovUrlHostStatus st = aigov_url_host(url, host, sizeof(host));
	AigovAddr	addr;

	if (st == AIGOV_URL_HOST_BAD_SCHEME)
		return;
	if (st != AIGOV_URL_HOST_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("base_url of provider \"%s\" has no host aigov can check", provider),
				 errdetail("In the base URL, %s.", aigov_url_host_status_text(st)),
				 errhint("Write the URL as http(s)://host[:port][/path], the host a name or an address.")));
	if (aigov_hostlist_names_host(allowed_list, host))
		return;
	if (aigov_addr_parse(host, &addr))
	{
		if (!aigov_hostlist_allows_addr(allowed_list, &addr))
			refuse_address(provider, NULL, &addr);
		return;
	}
	check_name(provider, host);
}

/*
 * aigov_providers_check_url
 *		AFTER INSERT OR UPDATE OF base_url row trigger of aigov.providers:
 *		after the table's CHECKs, so a URL that is not one at all gets the
 *		CHECK's error.
 */
Datum
aigov_providers_check_url(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	HeapTuple	tuple;
	TupleDesc	tupdesc;
	char	   *provider;
	char	   *url;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event))
		elog(ERROR, "aigov_providers_check_url must run as an AFTER ROW trigger");
	tuple = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;
	tupdesc = RelationGetDescr(td->tg_relation);
	provider = SPI_getvalue(tuple, tupdesc, SPI_fnumber(tupdesc, "provider"));
	url = SPI_getvalue(tuple, tupdesc, SPI_fnumber(tupdesc, "base_url"));
	if (url != NULL)
		check_url(provider != NULL ? provider : "", url);
	return PointerGetDatum(NULL);
}

/*
 * AigovEgressFailJob
 *		Completes a job whose every address was refused at connect time:
 *		nothing was sent, so the key's reservation and request are given
 *		back, its breaker sees nothing, and the job fails at once (another
 *		attempt would go to the same place).  The job's error names the
 *		provider, not the address; the server log has the address.
 */
void
AigovEgressFailJob(AigovJob *job)
{
	if (job->key_shared != NULL)
		AigovKeyRelease(job->key_shared, &job->ticket, true, AigovNowUs());
	ereport(LOG,
			(errmsg("aigov refused to connect to address \"%s\" of provider \"%s\"",
					job->refused_addr, job->provider),
			 errdetail("aigov.allowed_hosts does not allow it.")));
	AigovCompleteWithoutCall(job, "failed", 0, "host_not_allowed",
							 psprintf("the address of provider \"%s\" is not allowed by aigov.allowed_hosts",
									  job->provider));
}
