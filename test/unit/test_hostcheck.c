/*-------------------------------------------------------------------------
 * test_hostcheck.c
 *	  cmocka tests of where provider calls may go (src/hostcheck.c) and
 *	  which environment variables "env:" secrets may name (src/envname.c).
 *
 * IDENTIFICATION
 *	  test/unit/test_hostcheck.c
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "envname.h"
#include "hostcheck.h"

static bool
is_public(const char *text)
{
	AigovAddr	a;

	assert_true(aigov_addr_parse(text, &a));
	return aigov_addr_is_public(&a);
}

static void
test_special_ranges_are_not_public(void **state)
{
	static const char *const special[] = {
		"0.0.0.0", "0.1.2.3", "10.0.0.1", "10.255.255.255", "100.64.0.1",
		"100.127.255.254", "127.0.0.1", "127.255.0.1", "169.254.169.254",
		"172.16.0.1", "172.31.255.255", "192.0.0.8", "192.0.2.1",
		"192.88.99.1", "192.168.1.1", "198.18.0.1", "198.19.255.255",
		"198.51.100.7", "203.0.113.9", "224.0.0.1", "239.1.1.1",
		"240.0.0.1", "255.255.255.255",
		"::", "::1", "::127.0.0.1", "::ffff:127.0.0.1", "::ffff:169.254.169.254",
		"::ffff:10.1.2.3", "64:ff9b::a9fe:a9fe", "64:ff9b:1::1", "100::1",
		"2001::1", "2001:db8::1", "3fff::1", "fc00::1", "fd12:3456::1",
		"fe80::1", "febf::1", "fec0::1", "ff02::1", "2002:7f00:1::1",
		"2002:a9fe:a9fe::1",
	};

	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		if (is_public(special[i]))
			fail_msg("%s is taken for public", special[i]);
}

static void
test_public_addresses(void **state)
{
	static const char *const pub[] = {
		"1.1.1.1", "8.8.8.8", "9.255.255.255", "11.0.0.0", "100.63.255.255",
		"100.128.0.0", "126.255.255.255", "128.0.0.0", "169.253.255.255",
		"169.255.0.0", "172.15.255.255", "172.32.0.0", "192.0.1.0",
		"192.167.255.255", "192.169.0.0", "198.17.255.255", "198.20.0.0",
		"223.255.255.255", "2606:4700::1111", "2a00:1450::1",
		"::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1",
		"2001:200::1", "fbff::1",
	};

	for (size_t i = 0; i < sizeof(pub) / sizeof(pub[0]); i++)
		if (!is_public(pub[i]))
			fail_msg("%s is taken for special-purpose", pub[i]);
}

static void
test_addr_parse(void **state)
{
	AigovAddr	a;
	char		buf[64];

	assert_true(aigov_addr_parse("[::1]", &a));
	assert_int_equal(a.family, 6);
	aigov_addr_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, "::1");
	assert_true(aigov_addr_parse("192.0.2.33", &a));
	assert_int_equal(a.family, 4);
	aigov_addr_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, "192.0.2.33");
	/* shorthand and numeric forms are names to us, not addresses */
	assert_false(aigov_addr_parse("127.1", &a));
	assert_false(aigov_addr_parse("2130706433", &a));
	assert_false(aigov_addr_parse("0x7f000001", &a));
	assert_false(aigov_addr_parse("fe80::1%eth0", &a));
	assert_false(aigov_addr_parse("", &a));
	assert_false(aigov_addr_parse("[]", &a));
	assert_false(aigov_addr_parse("localhost", &a));
}

static bool
allows(const AigovHostList *l, const char *text)
{
	AigovAddr	a;

	assert_true(aigov_addr_parse(text, &a));
	return aigov_hostlist_allows_addr(l, &a);
}

static AigovHostList *
parse_ok(const char *text)
{
	char		err[256] = "";
	AigovHostList *l = aigov_hostlist_parse(text, err, sizeof(err));

	if (l == NULL)
		fail_msg("\"%s\" refused: %s", text, err);
	return l;
}

static void
test_empty_list_is_public_only(void **state)
{
	AigovHostList *l = parse_ok("  , ");

	assert_int_equal(l->n, 0);
	assert_true(allows(l, "8.8.8.8"));
	assert_true(allows(l, "2606:4700::1111"));
	assert_false(allows(l, "127.0.0.1"));
	assert_false(allows(l, "169.254.169.254"));
	assert_false(allows(l, "::ffff:127.0.0.1"));
	assert_false(allows(l, "::1"));
	/* NULL is the empty list too */
	assert_true(allows(NULL, "8.8.8.8"));
	assert_false(allows(NULL, "10.0.0.1"));
	free(l);
}

static void
test_listed_addresses_and_networks(void **state)
{
	AigovHostList *l = parse_ok("127.0.0.1, 10.1.0.0/16 fd00::/8,[::1]");

	assert_int_equal(l->n, 4);
	assert_true(allows(l, "127.0.0.1"));
	assert_true(allows(l, "::ffff:127.0.0.1"));
	assert_false(allows(l, "127.0.0.2"));
	assert_true(allows(l, "10.1.255.255"));
	assert_false(allows(l, "10.2.0.0"));
	assert_true(allows(l, "fd12::1"));
	assert_true(allows(l, "::1"));
	assert_false(allows(l, "169.254.169.254"));
	/* a non-empty list without "public" allows only what it lists */
	assert_false(allows(l, "8.8.8.8"));
	free(l);

	l = parse_ok("public 127.0.0.1");
	assert_true(allows(l, "8.8.8.8"));
	assert_true(allows(l, "127.0.0.1"));
	assert_false(allows(l, "127.0.0.2"));
	assert_false(allows(l, "192.168.0.1"));
	free(l);

	/* host bits are dropped; a mapped network is an IPv4 one */
	l = parse_ok("192.168.1.77/24 ::ffff:172.16.0.0/108");
	assert_true(allows(l, "192.168.1.1"));
	assert_false(allows(l, "192.168.2.1"));
	assert_true(allows(l, "172.16.9.9"));
	assert_false(allows(l, "172.32.0.0"));
	free(l);

	l = parse_ok("0.0.0.0/0");
	assert_true(allows(l, "169.254.169.254"));
	assert_false(allows(l, "::1"));
	free(l);
}

static void
test_host_names(void **state)
{
	AigovHostList *l = parse_ok("API.Example.com. *.internal.test");

	assert_int_equal(l->entries[0].kind, AIGOV_HOST_NAME);
	assert_string_equal(l->entries[0].name, "api.example.com");
	assert_int_equal(l->entries[1].kind, AIGOV_HOST_SUFFIX);
	assert_true(aigov_hostlist_names_host(l, "api.example.com"));
	assert_true(aigov_hostlist_names_host(l, "API.EXAMPLE.COM."));
	assert_false(aigov_hostlist_names_host(l, "example.com"));
	assert_false(aigov_hostlist_names_host(l, "xapi.example.com"));
	assert_true(aigov_hostlist_names_host(l, "proxy.internal.test"));
	assert_true(aigov_hostlist_names_host(l, "a.b.internal.test"));
	assert_false(aigov_hostlist_names_host(l, "internal.test"));
	assert_false(aigov_hostlist_names_host(l, "evilinternal.test"));
	assert_false(aigov_hostlist_names_host(l, "127.0.0.1"));
	assert_false(aigov_hostlist_names_host(l, NULL));
	/* names never allow addresses by themselves */
	assert_false(allows(l, "8.8.8.8"));
	free(l);
}

static void
test_bad_lists(void **state)
{
	static const char *const bad[] = {
		"10.0.0.0/33", "::/129", "10.0.0.0/", "/8", "10.0.0.0/x",
		"fe80::1%eth0", "exa mple.com/", "bad!name", "a..b", "-", "*.",
		"127.1", "1.2.3", "*.", "x:y", "[::1", "10.0.0.0/8/8",
	};
	char		err[256];
	char		many[2048] = "";
	char		longname[400];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		AigovHostList *l;

		err[0] = '\0';
		l = aigov_hostlist_parse(bad[i], err, sizeof(err));
		if (l != NULL)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_true(strlen(err) > 0);
	}
	for (int i = 0; i <= AIGOV_HOSTLIST_MAX; i++)
		strcat(many, "10.0.0.1 ");
	assert_null(aigov_hostlist_parse(many, err, sizeof(err)));
	assert_non_null(strstr(err, "more than"));
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_null(aigov_hostlist_parse(longname, err, sizeof(err)));
	/* a 64-byte label is too long for DNS */
	memset(longname, 'a', 64);
	strcpy(longname + 64, ".com");
	assert_null(aigov_hostlist_parse(longname, err, sizeof(err)));
}

static void
expect_host(const char *url, AigovUrlHostStatus want, const char *host)
{
	char		buf[AIGOV_HOST_NAME_MAX + 1];
	AigovUrlHostStatus got = aigov_url_host(url, buf, sizeof(buf));

	if (got != want)
		fail_msg("%s: status %d, expected %d", url, (int) got, (int) want);
	if (host != NULL)
		assert_string_equal(buf, host);
	assert_true(strlen(aigov_url_host_status_text(got)) > 0);
}

static void
test_url_host(void **state)
{
	char		longurl[400];

	expect_host("https://api.openai.com", AIGOV_URL_HOST_OK, "api.openai.com");
	expect_host("HTTP://API.Example.COM:8443/v1?x#y", AIGOV_URL_HOST_OK,
				"api.example.com");
	expect_host("http://127.0.0.1:6379", AIGOV_URL_HOST_OK, "127.0.0.1");
	expect_host("http://[::1]:80/x", AIGOV_URL_HOST_OK, "::1");
	expect_host("http://[FE80::1]", AIGOV_URL_HOST_OK, "fe80::1");
	expect_host("http://169.254.169.254/latest", AIGOV_URL_HOST_OK,
				"169.254.169.254");
	expect_host("ftp://h", AIGOV_URL_HOST_BAD_SCHEME, NULL);
	expect_host("http:/h", AIGOV_URL_HOST_BAD_SCHEME, NULL);
	expect_host("http://api.openai.com@127.0.0.1/", AIGOV_URL_HOST_USERINFO, NULL);
	expect_host("http://u:p@h", AIGOV_URL_HOST_USERINFO, NULL);
	expect_host("http://", AIGOV_URL_HOST_BAD_HOST, NULL);
	expect_host("http://:80", AIGOV_URL_HOST_BAD_HOST, NULL);
	expect_host("http://h%2e.com", AIGOV_URL_HOST_BAD_HOST, NULL);
	expect_host("http://h\\x.com", AIGOV_URL_HOST_BAD_HOST, NULL);
	expect_host("http://[fe80::1%25eth0]", AIGOV_URL_HOST_BAD_HOST, NULL);
	expect_host("http://[127.0.0.1]", AIGOV_URL_HOST_BAD_HOST, NULL);
	expect_host("http://[::1", AIGOV_URL_HOST_BAD_HOST, NULL);
	expect_host("http://h:0", AIGOV_URL_HOST_BAD_PORT, NULL);
	expect_host("http://h:65536", AIGOV_URL_HOST_BAD_PORT, NULL);
	expect_host("http://h:", AIGOV_URL_HOST_BAD_PORT, NULL);
	expect_host("http://h:8x", AIGOV_URL_HOST_BAD_PORT, NULL);
	expect_host("http://[::1]x", AIGOV_URL_HOST_BAD_PORT, NULL);
	strcpy(longurl, "http://");
	memset(longurl + 7, 'a', 300);
	longurl[307] = '\0';
	expect_host(longurl, AIGOV_URL_HOST_TOO_LONG, NULL);
}

static void
test_env_names(void **state)
{
	char		err[256];

	assert_true(aigov_env_name_valid("AIGOV_KEY_OPENAI"));
	assert_true(aigov_env_name_valid("_x1"));
	assert_false(aigov_env_name_valid(""));
	assert_false(aigov_env_name_valid("1ABC"));
	assert_false(aigov_env_name_valid("A-B"));
	assert_false(aigov_env_name_valid("A B"));
	assert_false(aigov_env_name_valid("A=B"));

	assert_true(aigov_env_name_allowed("AIGOV_KEY_*", "AIGOV_KEY_OPENAI"));
	assert_true(aigov_env_name_allowed("AIGOV_KEY_*", "AIGOV_KEY_"));
	assert_false(aigov_env_name_allowed("AIGOV_KEY_*", "PGDATA"));
	assert_false(aigov_env_name_allowed("AIGOV_KEY_*", "aigov_key_x"));
	assert_false(aigov_env_name_allowed("AIGOV_KEY_*", "XAIGOV_KEY_1"));
	assert_false(aigov_env_name_allowed("", "AIGOV_KEY_1"));
	assert_false(aigov_env_name_allowed(NULL, "AIGOV_KEY_1"));
	assert_false(aigov_env_name_allowed("*", "BAD-NAME"));
	assert_true(aigov_env_name_allowed("*", "PGDATA"));
	assert_true(aigov_env_name_allowed("A, *_TOKEN  OPENAI_*_KEY", "OPENAI_PROD_KEY"));
	assert_true(aigov_env_name_allowed("A, *_TOKEN  OPENAI_*_KEY", "GH_TOKEN"));
	assert_true(aigov_env_name_allowed("A, *_TOKEN  OPENAI_*_KEY", "A"));
	assert_false(aigov_env_name_allowed("A, *_TOKEN  OPENAI_*_KEY", "AB"));
	assert_false(aigov_env_name_allowed("A, *_TOKEN  OPENAI_*_KEY", "OPENAI_KEYS"));
	assert_true(aigov_env_name_allowed("A**B*C", "AXXBYYC"));
	assert_false(aigov_env_name_allowed("A*B*C", "AXXBYY"));

	assert_true(aigov_env_patterns_valid("AIGOV_KEY_*, X", err, sizeof(err)));
	assert_true(aigov_env_patterns_valid("", err, sizeof(err)));
	assert_false(aigov_env_patterns_valid("AIGOV-*", err, sizeof(err)));
	assert_non_null(strstr(err, "AIGOV-*"));
	assert_false(aigov_env_patterns_valid("A=B", err, sizeof(err)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_special_ranges_are_not_public),
		cmocka_unit_test(test_public_addresses),
		cmocka_unit_test(test_addr_parse),
		cmocka_unit_test(test_empty_list_is_public_only),
		cmocka_unit_test(test_listed_addresses_and_networks),
		cmocka_unit_test(test_host_names),
		cmocka_unit_test(test_bad_lists),
		cmocka_unit_test(test_url_host),
		cmocka_unit_test(test_env_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
