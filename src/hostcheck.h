/*-------------------------------------------------------------------------
 * hostcheck.h
 *	  Where provider calls may go: IP addresses, the special-purpose
 *	  ranges that are never "public", the entries of aigov.allowed_hosts,
 *	  and the host part of a provider's base URL.
 *
 * Pure C11: no PostgreSQL headers, no allocation except the list that
 * aigov_hostlist_parse() returns (one malloc'd block, freed with free()).
 *
 * IDENTIFICATION
 *	  src/hostcheck.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_HOSTCHECK_H
#define AIGOV_HOSTCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest host name (RFC 1035), without the terminating NUL. */
#define AIGOV_HOST_NAME_MAX 253

/* The most entries aigov.allowed_hosts may have. */
#define AIGOV_HOSTLIST_MAX 64

/* An IPv4 (family 4, bytes[0..3]) or IPv6 (family 6) address. */
typedef struct AigovAddr
{
	int			family;
	uint8_t		bytes[16];
} AigovAddr;

typedef enum AigovHostEntryKind
{
	AIGOV_HOST_PUBLIC,			/* the keyword "public": any public address */
	AIGOV_HOST_NAME,			/* an exact host name */
	AIGOV_HOST_SUFFIX,			/* "*.example.com": any name below it */
	AIGOV_HOST_CIDR				/* an address, or a network with /prefix */
} AigovHostEntryKind;

typedef struct AigovHostEntry
{
	AigovHostEntryKind kind;
	AigovAddr	addr;			/* AIGOV_HOST_CIDR */
	int			prefix;			/* AIGOV_HOST_CIDR: bits that must match */
	char		name[AIGOV_HOST_NAME_MAX + 1];	/* NAME, SUFFIX (lower case;
												 * SUFFIX without "*.") */
} AigovHostEntry;

/* A parsed aigov.allowed_hosts; no entries = any public address. */
typedef struct AigovHostList
{
	int			n;
	AigovHostEntry entries[];
} AigovHostList;

/* What is wrong with a base URL's host. */
typedef enum AigovUrlHostStatus
{
	AIGOV_URL_HOST_OK = 0,
	AIGOV_URL_HOST_BAD_SCHEME,	/* not http:// or https:// */
	AIGOV_URL_HOST_USERINFO,	/* user:password@ before the host */
	AIGOV_URL_HOST_BAD_HOST,	/* empty, or characters a host cannot have */
	AIGOV_URL_HOST_BAD_PORT,	/* a port that is not 1..65535 */
	AIGOV_URL_HOST_TOO_LONG		/* a host name over AIGOV_HOST_NAME_MAX */
} AigovUrlHostStatus;

extern bool aigov_addr_parse(const char *text, AigovAddr *out);
extern void aigov_addr_format(const AigovAddr *addr, char *buf, size_t len);
extern bool aigov_addr_is_public(const AigovAddr *addr);

extern AigovHostList *aigov_hostlist_parse(const char *text, char *err,
										   size_t errlen);
extern bool aigov_hostlist_allows_addr(const AigovHostList *list,
									   const AigovAddr *addr);
extern bool aigov_hostlist_names_host(const AigovHostList *list,
									  const char *host);

extern AigovUrlHostStatus aigov_url_host(const char *url, char *host,
										 size_t hostlen);
extern const char *aigov_url_host_status_text(AigovUrlHostStatus status);

#endif							/* AIGOV_HOSTCHECK_H */
