/*-------------------------------------------------------------------------
 * hostcheck.c
 *	  Where provider calls may go: addresses and the special-purpose ranges
 *	  that are never "public", the entries of aigov.allowed_hosts, and the
 *	  host part of a provider's base URL.
 *
 * An address is public unless it falls in one of the special-purpose
 * ranges of the IANA registries (loopback, private, shared CGNAT space,
 * link-local, documentation, benchmarking, multicast, reserved, unique
 * local and the like).  An IPv4-mapped IPv6 address is judged, and
 * matched, as the IPv4 address it carries; NAT64 and 6to4 addresses are
 * judged by the IPv4 address they embed.
 *
 * A list allows an address when one of its address or network entries
 * contains it, or when the address is public and the list is empty or
 * names the keyword "public".  Host-name entries are matched against the
 * host of the URL, not against addresses: listing a name trusts whatever
 * it resolves to.
 *
 * IDENTIFICATION
 *	  src/hostcheck.c
 *-------------------------------------------------------------------------
 */
#include "hostcheck.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One special-purpose range: family, network bytes, prefix length. */
typedef struct SpecialRange
{
	int			family;
	uint8_t		net[16];
	int			bits;
} SpecialRange;

/* Never public (IANA IPv4 and IPv6 Special-Purpose Address Registries). */
static const SpecialRange special_ranges[] = {
	{4, {0}, 8},				/* "this network" */
	{4, {10}, 8},				/* private */
	{4, {100, 64}, 10},			/* shared address space (CGNAT) */
	{4, {127}, 8},				/* loopback */
	{4, {169, 254}, 16},		/* link-local, cloud metadata */
	{4, {172, 16}, 12},			/* private */
	{4, {192, 0, 0}, 24},		/* IETF protocol assignments */
	{4, {192, 0, 2}, 24},		/* documentation */
	{4, {192, 88, 99}, 24},		/* 6to4 relay anycast */
	{4, {192, 168}, 16},		/* private */
	{4, {198, 18}, 15},			/* benchmarking */
	{4, {198, 51, 100}, 24},	/* documentation */
	{4, {203, 0, 113}, 24},		/* documentation */
	{4, {224}, 4},				/* multicast */
	{4, {240}, 4},				/* reserved, broadcast */
	{6, {0}, 96},				/* unspecified, loopback, IPv4-compatible */
	{6, {0, 0x64, 0xff, 0x9b, 0, 1}, 48},	/* local-use NAT64 */
	{6, {0x01, 0x00}, 64},		/* discard-only */
	{6, {0x20, 0x01, 0x00, 0x00}, 23},	/* IETF protocol assignments */
	{6, {0x20, 0x01, 0x0d, 0xb8}, 32},	/* documentation */
	{6, {0x3f, 0xff}, 20},		/* documentation */
	{6, {0xfc}, 7},				/* unique local */
	{6, {0xfe, 0x80}, 10},		/* link-local */
	{6, {0xfe, 0xc0}, 10},		/* site-local (deprecated) */
	{6, {0xff}, 8},				/* multicast */
};

/* True if the first `bits` bits of a and b are equal. */
static bool
prefix_equal(const uint8_t *a, const uint8_t *b, int bits)
{
	int			whole = bits / 8;
	int			rest = bits % 8;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[whole] ^ b[whole]) & (uint8_t) (0xff << (8 - rest))) == 0;
}

/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as the IPv4 address. */
static AigovAddr
unmapped(const AigovAddr *addr)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	AigovAddr	out = *addr;

	if (addr->family == 6 && memcmp(addr->bytes, mapped, 12) == 0)
	{
		memset(&out, 0, sizeof(out));
		out.family = 4;
		memcpy(out.bytes, addr->bytes + 12, 4);
	}
	return out;
}

/*
 * aigov_addr_parse
 *		Reads a numeric IPv4 or IPv6 address, optionally in brackets; no
 *		zone id, no shorthand IPv4 forms.  False if text is not one.
 */
bool
aigov_addr_parse(const char *text, AigovAddr *out)
{
	char		buf[64];
	size_t		len = strlen(text);

	memset(out, 0, sizeof(*out));
	if (len >= 2 && text[0] == '[' && text[len - 1] == ']')
	{
		text++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, out->bytes) == 1)
	{
		out->family = 4;
		return true;
	}
	if (inet_pton(AF_INET6, buf, out->bytes) == 1)
	{
		out->family = 6;
		return true;
	}
	memset(out, 0, sizeof(*out));
	return false;
}

/* Writes an address in its usual text form into buf. */
void
aigov_addr_format(const AigovAddr *addr, char *buf, size_t len)
{
	if (len == 0)
		return;
	if (inet_ntop(addr->family == 4 ? AF_INET : AF_INET6, addr->bytes, buf,
				  (socklen_t) len) == NULL)
		buf[0] = '\0';
}

/*
 * aigov_addr_is_public
 *		False if the address is in a special-purpose range; NAT64
 *		(64:ff9b::/96) and 6to4 (2002::/16) addresses are judged by the
 *		IPv4 address they carry.
 */
bool
aigov_addr_is_public(const AigovAddr *addr)
{
	static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b};
	AigovAddr	a = unmapped(addr);

	if (a.family == 6 && memcmp(a.bytes, nat64, 12) == 0)
	{
		AigovAddr	v4 = {.family = 4};

		memcpy(v4.bytes, a.bytes + 12, 4);
		return aigov_addr_is_public(&v4);
	}
	if (a.family == 6 && a.bytes[0] == 0x20 && a.bytes[1] == 0x02)
	{
		AigovAddr	v4 = {.family = 4};

		memcpy(v4.bytes, a.bytes + 2, 4);
		return aigov_addr_is_public(&v4);
	}
	for (size_t i = 0; i < sizeof(special_ranges) / sizeof(special_ranges[0]); i++)
	{
		const SpecialRange *r = &special_ranges[i];

		if (r->family == a.family && prefix_equal(a.bytes, r->net, r->bits))
			return false;
	}
	return a.family == 4 || a.family == 6;
}

/*
 * host_name_check
 *		Lower-cases a host name in place and drops one trailing dot; false
 *		if it is not made of dot-separated labels of letters, digits,
 *		hyphens and underscores (a label neither starting nor ending with a
 *		hyphen), or if its last label is all digits (a shorthand IPv4
 *		address, which resolvers read as an address).
 */
static bool
host_name_check(char *name)
{
	size_t		len = strlen(name);
	size_t		label = 0;
	bool		all_digits = true;

	if (len > 0 && name[len - 1] == '.')
		name[--len] = '\0';
	if (len == 0 || len > AIGOV_HOST_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) name[i];

		if (c == '.')
		{
			if (label == 0 || label > 63 || name[i - 1] == '-')
				return false;
			label = 0;
			all_digits = true;
			continue;
		}
		if ((!isalnum(c) && c != '-' && c != '_') || (c == '-' && label == 0))
			return false;
		if (!isdigit(c))
			all_digits = false;
		name[i] = (char) tolower(c);
		label++;
	}
	return label > 0 && label <= 63 && name[len - 1] != '-' && !all_digits;
}

/* Reads "address/prefix" into a network entry; false if it is not one. */
static bool
parse_cidr(const char *text, AigovHostEntry *e)
{
	const char *slash = strchr(text, '/');
	char		addr[64];
	size_t		alen;
	char	   *end;
	long		bits;
	int			max;

	if (slash == NULL)
	{
		if (!aigov_addr_parse(text, &e->addr))
			return false;
		e->addr = unmapped(&e->addr);
		e->prefix = e->addr.family == 4 ? 32 : 128;
		return true;
	}
	alen = (size_t) (slash - text);
	if (alen == 0 || alen >= sizeof(addr) || !isdigit((unsigned char) slash[1]))
		return false;
	memcpy(addr, text, alen);
	addr[alen] = '\0';
	if (!aigov_addr_parse(addr, &e->addr))
		return false;
	bits = strtol(slash + 1, &end, 10);
	max = e->addr.family == 4 ? 32 : 128;
	if (*end != '\0' || bits < 0 || bits > max)
		return false;
	e->prefix = (int) bits;
	if (e->addr.family == 6 && e->prefix >= 96)
	{
		AigovAddr	v4 = unmapped(&e->addr);

		if (v4.family == 4)
		{
			e->addr = v4;
			e->prefix -= 96;
		}
	}
	/* keep only the network part, so matching compares prefixes */
	for (int b = e->prefix; b < (e->addr.family == 4 ? 32 : 128); b++)
		e->addr.bytes[b / 8] &= (uint8_t) ~(0x80 >> (b % 8));
	return true;
}

/* Reads one entry of the list; false (with err) if it is not valid. */
static bool
parse_entry(const char *tok, AigovHostEntry *e, char *err, size_t errlen)
{
	memset(e, 0, sizeof(*e));
	if (strcasecmp(tok, "public") == 0)
	{
		e->kind = AIGOV_HOST_PUBLIC;
		return true;
	}
	if (strchr(tok, ':') != NULL || strchr(tok, '/') != NULL ||
		aigov_addr_parse(tok, &e->addr))
	{
		e->kind = AIGOV_HOST_CIDR;
		if (parse_cidr(tok, e))
			return true;
		snprintf(err, errlen, "\"%s\" is not a valid address or network", tok);
		return false;
	}
	e->kind = AIGOV_HOST_NAME;
	if (strncmp(tok, "*.", 2) == 0)
	{
		e->kind = AIGOV_HOST_SUFFIX;
		tok += 2;
	}
	if (strlen(tok) <= AIGOV_HOST_NAME_MAX + 1)
	{
		strcpy(e->name, tok);
		if (host_name_check(e->name))
			return true;
	}
	snprintf(err, errlen, "\"%s\" is not a valid host name, address or network", tok);
	return false;
}

/*
 * aigov_hostlist_parse
 *		Reads aigov.allowed_hosts: entries separated by commas or spaces,
 *		each the keyword "public", a host name, "*." and a domain, an
 *		address, or an address with a /prefix.  Returns one malloc'd block
 *		(free() it), or NULL with a sentence in err.
 */
AigovHostList *
aigov_hostlist_parse(const char *text, char *err, size_t errlen)
{
	AigovHostList *list = calloc(1, sizeof(AigovHostList) +
								 AIGOV_HOSTLIST_MAX * sizeof(AigovHostEntry));
	const char *p = text != NULL ? text : "";

	if (list == NULL)
	{
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	while (*p != '\0')
	{
		char		tok[AIGOV_HOST_NAME_MAX + 8];
		size_t		len = 0;

		while (*p == ',' || isspace((unsigned char) *p))
			p++;
		if (*p == '\0')
			break;
		while (p[len] != '\0' && p[len] != ',' && !isspace((unsigned char) p[len]))
			len++;
		if (len >= sizeof(tok))
		{
			snprintf(err, errlen, "an entry is longer than %d bytes",
					 (int) sizeof(tok) - 1);
			free(list);
			return NULL;
		}
		memcpy(tok, p, len);
		tok[len] = '\0';
		p += len;
		if (list->n == AIGOV_HOSTLIST_MAX)
		{
			snprintf(err, errlen, "the list has more than %d entries",
					 AIGOV_HOSTLIST_MAX);
			free(list);
			return NULL;
		}
		if (!parse_entry(tok, &list->entries[list->n], err, errlen))
		{
			free(list);
			return NULL;
		}
		list->n++;
	}
	return list;
}

/*
 * aigov_hostlist_allows_addr
 *		True if an address or network entry contains addr, or if addr is
 *		public and the list is empty (or NULL) or names "public".
 */
bool
aigov_hostlist_allows_addr(const AigovHostList *list, const AigovAddr *addr)
{
	AigovAddr	a = unmapped(addr);
	bool		public_listed = (list == NULL || list->n == 0);

	for (int i = 0; list != NULL && i < list->n; i++)
	{
		const AigovHostEntry *e = &list->entries[i];

		if (e->kind == AIGOV_HOST_PUBLIC)
			public_listed = true;
		else if (e->kind == AIGOV_HOST_CIDR && e->addr.family == a.family &&
				 prefix_equal(a.bytes, e->addr.bytes, e->prefix))
			return true;
	}
	return public_listed && aigov_addr_is_public(&a);
}

/*
 * aigov_hostlist_names_host
 *		True if a host-name entry names host (compared without case, a
 *		trailing dot ignored); "*.example.com" names every host below
 *		example.com but not example.com itself.
 */
bool
aigov_hostlist_names_host(const AigovHostList *list, const char *host)
{
	char		name[AIGOV_HOST_NAME_MAX + 2];
	size_t		len;

	if (list == NULL || host == NULL || strlen(host) > AIGOV_HOST_NAME_MAX + 1)
		return false;
	strcpy(name, host);
	if (!host_name_check(name))
		return false;
	len = strlen(name);
	for (int i = 0; i < list->n; i++)
	{
		const AigovHostEntry *e = &list->entries[i];
		size_t		elen = strlen(e->name);

		if (e->kind == AIGOV_HOST_NAME && strcmp(name, e->name) == 0)
			return true;
		if (e->kind == AIGOV_HOST_SUFFIX && len > elen + 1 &&
			name[len - elen - 1] == '.' && strcmp(name + len - elen, e->name) == 0)
			return true;
	}
	return false;
}

/* Reads ":port" (1..65535) up to the end of the authority. */
static bool
port_ok(const char *p, const char *end)
{
	long		port = 0;

	if (p == end)
		return true;
	if (*p != ':' || p + 1 == end || end - p > 6)
		return false;
	for (p++; p < end; p++)
	{
		if (!isdigit((unsigned char) *p))
			return false;
		port = port * 10 + (*p - '0');
	}
	return port >= 1 && port <= 65535;
}

/*
 * aigov_url_host
 *		The host of an http or https URL: lower case, an IPv6 address
 *		without its brackets.  Refuses what libcurl could read differently
 *		from us: user information, percent-encoding, backslashes, zone ids.
 */
AigovUrlHostStatus
aigov_url_host(const char *url, char *host, size_t hostlen)
{
	const char *p;
	const char *end;
	const char *hend;
	size_t		len;

	if (hostlen > 0)
		host[0] = '\0';
	if (strncasecmp(url, "http://", 7) == 0)
		p = url + 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		p = url + 8;
	else
		return AIGOV_URL_HOST_BAD_SCHEME;
	end = p + strcspn(p, "/?#");
	if (memchr(p, '@', (size_t) (end - p)) != NULL)
		return AIGOV_URL_HOST_USERINFO;
	if (*p == '[')
	{
		AigovAddr	a;
		char		buf[64];

		hend = memchr(p, ']', (size_t) (end - p));
		if (hend == NULL || (size_t) (hend - p - 1) >= sizeof(buf))
			return AIGOV_URL_HOST_BAD_HOST;
		memcpy(buf, p + 1, (size_t) (hend - p - 1));
		buf[hend - p - 1] = '\0';
		if (!aigov_addr_parse(buf, &a) || a.family != 6)
			return AIGOV_URL_HOST_BAD_HOST;
		if (!port_ok(hend + 1, end))
			return AIGOV_URL_HOST_BAD_PORT;
		if (strlen(buf) >= hostlen)
			return AIGOV_URL_HOST_TOO_LONG;
		for (char *c = buf; *c; c++)
			*c = (char) tolower((unsigned char) *c);
		strcpy(host, buf);
		return AIGOV_URL_HOST_OK;
	}
	hend = p;
	while (hend < end && *hend != ':')
	{
		unsigned char c = (unsigned char) *hend;

		if (!isalnum(c) && c != '.' && c != '-' && c != '_')
			return AIGOV_URL_HOST_BAD_HOST;
		hend++;
	}
	len = (size_t) (hend - p);
	if (len == 0)
		return AIGOV_URL_HOST_BAD_HOST;
	if (!port_ok(hend, end))
		return AIGOV_URL_HOST_BAD_PORT;
	if (len > AIGOV_HOST_NAME_MAX || len >= hostlen)
		return AIGOV_URL_HOST_TOO_LONG;
	for (size_t i = 0; i < len; i++)
		host[i] = (char) tolower((unsigned char) p[i]);
	host[len] = '\0';
	return AIGOV_URL_HOST_OK;
}

/* A sentence fragment for an error detail. */
const char *
aigov_url_host_status_text(AigovUrlHostStatus status)
{
	switch (status)
	{
		case AIGOV_URL_HOST_OK:
			return "the host is valid";
		case AIGOV_URL_HOST_BAD_SCHEME:
			return "the URL does not start with http:// or https://";
		case AIGOV_URL_HOST_USERINFO:
			return "the URL carries a user name or password before its host";
		case AIGOV_URL_HOST_BAD_HOST:
			return "the host is empty or has characters a host name or address cannot have";
		case AIGOV_URL_HOST_BAD_PORT:
			return "the port is not a number from 1 to 65535";
		case AIGOV_URL_HOST_TOO_LONG:
			return "the host name is longer than 253 bytes";
	}
	return "the host is not valid";
}
