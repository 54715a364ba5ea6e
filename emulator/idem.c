/*-------------------------------------------------------------------------
 * idem.c
 *	  A concurrent set of Idempotency-Key values already answered.
 *
 * The gateway sends each job's id as Idempotency-Key; the emulator counts
 * a request whose key was already answered with a success as a duplicate,
 * so tests can prove at-most-once delivery of successes.  Only a 64-bit
 * hash of each key is stored (8 bytes per key: 1e6 keys fit in 16 MB with
 * room to spare; a false duplicate needs a 64-bit collision, about 3e-8 at
 * 1e6 keys).  The table is split into stripes, each an open-addressing
 * table with its own mutex, so threads rarely contend and a resize only
 * stalls one stripe.
 *
 * IDENTIFICATION
 *	  emulator/idem.c
 *-------------------------------------------------------------------------
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "idem.h"

#define STRIPES			64
#define INITIAL_SLOTS	1024	/* per stripe, power of two */

typedef struct Stripe
{
	pthread_mutex_t lock;
	uint64_t   *slots;			/* 0 = empty */
	size_t		mask;			/* slots - 1 */
	size_t		count;
} Stripe;

struct EmuIdemSet
{
	Stripe		stripes[STRIPES];
};

/*
 * FNV-1a over the bytes, then a 64-bit finalizer so that both the stripe
 * (low bits) and the slot (high bits) are well mixed.  Never 0.
 */
uint64_t
emu_idem_hash(const char *key, size_t len)
{
	uint64_t	h = UINT64_C(1469598103934665603);

	for (size_t i = 0; i < len; i++)
	{
		h ^= (unsigned char) key[i];
		h *= UINT64_C(1099511628211);
	}
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	h *= UINT64_C(0xc4ceb9fe1a85ec53);
	h ^= h >> 33;
	return h == 0 ? 1 : h;
}

EmuIdemSet *
emu_idem_create(void)
{
	EmuIdemSet *s = calloc(1, sizeof(EmuIdemSet));

	if (s == NULL)
		return NULL;
	for (int i = 0; i < STRIPES; i++)
	{
		pthread_mutex_init(&s->stripes[i].lock, NULL);
		s->stripes[i].slots = calloc(INITIAL_SLOTS, sizeof(uint64_t));
		if (s->stripes[i].slots == NULL)
		{
			emu_idem_destroy(s);
			return NULL;
		}
		s->stripes[i].mask = INITIAL_SLOTS - 1;
	}
	return s;
}

void
emu_idem_destroy(EmuIdemSet *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < STRIPES; i++)
	{
		free(s->stripes[i].slots);
		pthread_mutex_destroy(&s->stripes[i].lock);
	}
	free(s);
}

/* Slot holding h or the empty slot where it would go (linear probing). */
static size_t
probe(const Stripe *st, uint64_t h)
{
	size_t		i = (size_t) (h >> 20) & st->mask;

	while (st->slots[i] != 0 && st->slots[i] != h)
		i = (i + 1) & st->mask;
	return i;
}

/* Double a stripe's table; false if memory ran out (the set stays valid). */
static bool
grow(Stripe *st)
{
	size_t		nslots = (st->mask + 1) * 2;
	uint64_t   *old = st->slots;
	size_t		oldn = st->mask + 1;
	uint64_t   *nw = calloc(nslots, sizeof(uint64_t));

	if (nw == NULL)
		return false;
	st->slots = nw;
	st->mask = nslots - 1;
	for (size_t i = 0; i < oldn; i++)
		if (old[i] != 0)
			st->slots[probe(st, old[i])] = old[i];
	free(old);
	return true;
}

bool
emu_idem_contains(EmuIdemSet *s, const char *key, size_t len)
{
	uint64_t	h = emu_idem_hash(key, len);
	Stripe	   *st = &s->stripes[h % STRIPES];
	bool		found;

	pthread_mutex_lock(&st->lock);
	found = st->slots[probe(st, h)] == h;
	pthread_mutex_unlock(&st->lock);
	return found;
}

/*
 * Add a key; returns true if it was not there before.  Keeps the load
 * factor at most 1/2 so probes stay short.
 */
bool
emu_idem_insert(EmuIdemSet *s, const char *key, size_t len)
{
	uint64_t	h = emu_idem_hash(key, len);
	Stripe	   *st = &s->stripes[h % STRIPES];
	size_t		i;
	bool		added = false;

	pthread_mutex_lock(&st->lock);
	i = probe(st, h);
	if (st->slots[i] != h)
	{
		if ((st->count + 1) * 2 > st->mask + 1 && grow(st))
			i = probe(st, h);
		/* a failed grow still leaves at least one empty slot */
		if ((st->count + 2) <= st->mask + 1)
		{
			st->slots[i] = h;
			st->count++;
			added = true;
		}
	}
	pthread_mutex_unlock(&st->lock);
	return added;
}

/* Forget every key (admin reset); tables keep their size. */
void
emu_idem_clear(EmuIdemSet *s)
{
	for (int i = 0; i < STRIPES; i++)
	{
		Stripe	   *st = &s->stripes[i];

		pthread_mutex_lock(&st->lock);
		memset(st->slots, 0, (st->mask + 1) * sizeof(uint64_t));
		st->count = 0;
		pthread_mutex_unlock(&st->lock);
	}
}

size_t
emu_idem_count(EmuIdemSet *s)
{
	size_t		n = 0;

	for (int i = 0; i < STRIPES; i++)
	{
		pthread_mutex_lock(&s->stripes[i].lock);
		n += s->stripes[i].count;
		pthread_mutex_unlock(&s->stripes[i].lock);
	}
	return n;
}
