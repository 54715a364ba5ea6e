/*-------------------------------------------------------------------------
 * test_idem.c
 *	  Unit tests of the Idempotency-Key set (idem.c).
 *
 * IDENTIFICATION
 *	  emulator/test/test_idem.c
 *-------------------------------------------------------------------------
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "idem.h"

static void
test_insert_contains_clear(void **state)
{
	EmuIdemSet *s = emu_idem_create();

	(void) state;
	assert_non_null(s);
	assert_false(emu_idem_contains(s, "job-1", 5));
	assert_true(emu_idem_insert(s, "job-1", 5));
	assert_false(emu_idem_insert(s, "job-1", 5));
	assert_true(emu_idem_contains(s, "job-1", 5));
	/* the length matters, not just the prefix */
	assert_false(emu_idem_contains(s, "job-12", 6));
	assert_false(emu_idem_contains(s, "job-", 4));
	assert_int_equal(emu_idem_count(s), 1);
	emu_idem_clear(s);
	assert_false(emu_idem_contains(s, "job-1", 5));
	assert_int_equal(emu_idem_count(s), 0);
	assert_true(emu_idem_insert(s, "job-1", 5));
	emu_idem_destroy(s);
	assert_true(emu_idem_hash("", 0) != 0);
}

/* A million keys: all found, none invented, growth keeps working. */
static void
test_million_keys(void **state)
{
	EmuIdemSet *s = emu_idem_create();
	char		k[32];
	int			n;

	(void) state;
	for (int i = 0; i < 1000000; i++)
	{
		n = snprintf(k, sizeof(k), "%d", i);
		assert_true(emu_idem_insert(s, k, (size_t) n));
	}
	assert_int_equal(emu_idem_count(s), 1000000);
	for (int i = 0; i < 1000000; i += 7)
	{
		n = snprintf(k, sizeof(k), "%d", i);
		assert_true(emu_idem_contains(s, k, (size_t) n));
	}
	for (int i = 1000000; i < 1100000; i++)
	{
		n = snprintf(k, sizeof(k), "%d", i);
		assert_false(emu_idem_contains(s, k, (size_t) n));
	}
	emu_idem_destroy(s);
}

typedef struct Worker
{
	EmuIdemSet *s;
	int			base;
	int			added;
} Worker;

static void *
worker(void *arg)
{
	Worker	   *w = arg;
	char		k[32];

	/* every worker inserts the same 20000 keys plus 20000 of its own */
	for (int i = 0; i < 20000; i++)
	{
		int			n = snprintf(k, sizeof(k), "shared-%d", i);

		w->added += emu_idem_insert(w->s, k, (size_t) n);
		n = snprintf(k, sizeof(k), "own-%d-%d", w->base, i);
		w->added += emu_idem_insert(w->s, k, (size_t) n);
	}
	return NULL;
}

/* Concurrent inserts: each shared key is reported new exactly once. */
static void
test_concurrent_inserts(void **state)
{
	EmuIdemSet *s = emu_idem_create();
	pthread_t	t[4];
	Worker		w[4];
	int			total = 0;

	(void) state;
	for (int i = 0; i < 4; i++)
	{
		w[i].s = s;
		w[i].base = i;
		w[i].added = 0;
		pthread_create(&t[i], NULL, worker, &w[i]);
	}
	for (int i = 0; i < 4; i++)
	{
		pthread_join(t[i], NULL);
		total += w[i].added;
	}
	assert_int_equal(total, 20000 + 4 * 20000);
	assert_int_equal(emu_idem_count(s), 100000);
	emu_idem_destroy(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_insert_contains_clear),
		cmocka_unit_test(test_million_keys),
		cmocka_unit_test(test_concurrent_inserts),
	};

	return cmocka_run_group_tests_name("emulator idem", tests, NULL, NULL);
}
