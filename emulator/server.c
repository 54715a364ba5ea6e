/*-------------------------------------------------------------------------
 * server.c
 *	  The HTTP side of the emulator (libmicrohttpd glue).
 *
 * libmicrohttpd runs a small pool of threads, each with its own epoll
 * loop.  A request is answered in the thread that received it; one that
 * must wait (injected latency) or never be answered (a hang) is suspended
 * and handed to a single timer thread, which resumes it when due.  So
 * thousands of slow requests cost a heap entry each, never a thread.
 *
 * Azure OpenAI is routed by path (/openai/deployments/{deployment}/...)
 * and answers with its own headers (region, apim-request-id, deployment
 * name); its RPM bucket is sub-windowed (see emu_quota_set_rpm_window).
 *
 * Locking: each key has one mutex guarding its buckets, limits and faults;
 * it is held only for the bucket arithmetic, never during JSON work.
 * Counters are atomics.  The timer has its own mutex; it never takes a key
 * mutex, and a key mutex is never held while taking the timer's.
 *
 * IDENTIFICATION
 *	  emulator/server.c
 *-------------------------------------------------------------------------
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "buf.h"
#include "config.h"
#include "headers.h"
#include "idem.h"
#include "quota.h"
#include "reply.h"
#include "server.h"
#include "stats.h"

/* How often hung connections are checked for a client that gave up. */
#define HANG_POLL_US	(100 * INT64_C(1000))
/* Connections resumed per pass of the timer (a stack array). */
#define TIMER_BATCH		512

typedef struct EmuKey
{
	EmuKeyConfig *cfg;			/* label, secret, provider: immutable */
	pthread_mutex_t lock;		/* guards quota, limits, faults */
	EmuQuota	quota;
	int64_t		limits[EMU_DIM_COUNT];
	EmuFaults	faults;
	_Atomic int64_t stat[EMU_STAT_COUNT];
} EmuKey;

typedef enum ConnKind
{
	CK_NOT_FOUND = 0,
	CK_ADMIN,
	CK_PROVIDER
} ConnKind;

typedef enum ConnState
{
	CS_BODY = 0,				/* receiving the body */
	CS_WAIT,					/* suspended until the timer resumes it */
	CS_READY,					/* response prepared, send on next call */
	CS_CLOSE					/* close without answering */
} ConnState;

typedef enum Action
{
	ACT_RESPOND = 0,
	ACT_RESET,
	ACT_HANG,
	ACT_TRUNCATE,
	ACT_OVERSIZE,				/* the reply padded to fault_bytes */
	ACT_BIG_HEADERS,			/* fault_bytes of extra header lines */
	ACT_DRIP					/* one byte every fault_ms */
} Action;

/* Per-request state, from the first callback to the completion callback. */
typedef struct EmuConn
{
	ConnKind	kind;
	ConnState	state;
	EmuProvider provider;
	EmuKey	   *key;
	bool		counted;		/* in the concurrency figures */
	bool		no_key;			/* no credential at all */
	bool		too_big;
	bool		is_get;
	const char *secret;			/* as sent (MHD's memory) */
	const char *idem;			/* Idempotency-Key (MHD's memory) */
	char		path_model[EMU_MODEL_MAX];
	bool		stream_path;
	char		admin_path[32];
	EmuBuf		body;
	/* the prepared answer */
	Action		act;
	int64_t		fault_bytes;	/* ACT_OVERSIZE, ACT_BIG_HEADERS */
	int64_t		fault_ms;		/* ACT_DRIP */
	int			status;
	EmuBuf		resp;
	bool		html;
	bool		success;
	bool		rl_headers;		/* add the provider's rate-limit headers */
	bool		no_rl_headers;	/* fault: omit them */
	bool		sentinel;		/* fault: token headers say -1 */
	const char *api_version;	/* Azure ?api-version= (MHD's memory) */
	int64_t		retry_after_s;	/* -1: none */
	int64_t		retry_after_ms; /* -1: none */
	int64_t		output_charge;	/* Anthropic OTPM, charged when sent */
	EmuUsage	usage;
	int64_t		t_start_us;
	char		request_id[40];
	char		apim_id[40];	/* Azure apim-request-id */
} EmuConn;

typedef struct TimerEntry
{
	int64_t		due_us;
	struct MHD_Connection *conn;
} TimerEntry;

typedef struct HangEntry
{
	int64_t		due_us;
	struct MHD_Connection *conn;
	EmuConn    *x;
	int			fd;
} HangEntry;

typedef struct EmuServer
{
	struct MHD_Daemon *daemon;
	EmuConfig  *cfg;
	EmuKey	   *keys;
	int			n_keys;
	int		   *slots;			/* secret hash table: key index or -1 */
	size_t		slot_mask;
	EmuIdemSet *idem;
	_Atomic uint64_t seq;
	_Atomic int64_t current;
	_Atomic int64_t peak;
	_Atomic int64_t unauthorized;
	_Atomic uint64_t rng_threads;
	int			port;
	/* timer */
	pthread_t	timer;
	bool		timer_started;
	pthread_mutex_t tlock;
	pthread_cond_t tcond;
	bool		stopping;
	TimerEntry *heap;
	size_t		heap_n;
	size_t		heap_cap;
	HangEntry  *hangs;
	size_t		hang_n;
	size_t		hang_cap;
} EmuServer;

static EmuServer srv;

/* --request-log: one line per provider request, or -1 (see log_request) */
static int	request_log_fd = -1;

static _Thread_local uint64_t rng_state;

/* ----------------------------------------------------------------------
 * small helpers
 * ----------------------------------------------------------------------
 */

static int64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t
wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static uint64_t
mix64(uint64_t x)
{
	x += UINT64_C(0x9E3779B97F4A7C15);
	x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
	return x ^ (x >> 31);
}

/* Uniform double in [0,1) from a per-thread xorshift generator. */
static double
rng_double(void)
{
	uint64_t	x;

	if (rng_state == 0)
		rng_state = mix64(srv.cfg->seed ^
						  (atomic_fetch_add(&srv.rng_threads, 1) + 1) *
						  UINT64_C(0x2545F4914F6CDD1D)) | 1;
	x = rng_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return (double) ((x * UINT64_C(0x2545F4914F6CDD1D)) >> 11) /
		9007199254740992.0;
}

static void
stat_add(EmuKey *k, EmuStat s, int64_t n)
{
	if (k != NULL)
		atomic_fetch_add_explicit(&k->stat[s], n, memory_order_relaxed);
}

/* Raise *peak to at least v. */
static void
raise_peak(_Atomic int64_t *peak, int64_t v)
{
	int64_t		p = atomic_load_explicit(peak, memory_order_relaxed);

	while (v > p &&
		   !atomic_compare_exchange_weak_explicit(peak, &p, v,
												  memory_order_relaxed,
												  memory_order_relaxed))
		;
}

/* A UUID-shaped id (as Azure's request ids are) from a sequence number. */
static void
uuid_of(char *buf, size_t len, uint64_t seq)
{
	uint64_t	a = mix64(seq ^ UINT64_C(0x5851F42D4C957F2D));
	uint64_t	b = mix64(a);

	snprintf(buf, len, "%08" PRIx64 "-%04" PRIx64 "-4%03" PRIx64 "-%04" PRIx64
			 "-%012" PRIx64, a >> 32, (a >> 16) & 0xffff, a & 0xfff,
			 0x8000 | ((b >> 48) & 0x3fff), b & UINT64_C(0xffffffffffff));
}

static size_t
str_hash(const char *s)
{
	return (size_t) emu_idem_hash(s, strlen(s));
}

static EmuKey *
find_key(const char *secret)
{
	size_t		i;

	if (secret == NULL || secret[0] == '\0')
		return NULL;
	for (i = str_hash(secret) & srv.slot_mask; srv.slots[i] >= 0;
		 i = (i + 1) & srv.slot_mask)
		if (strcmp(srv.keys[srv.slots[i]].cfg->secret, secret) == 0)
			return &srv.keys[srv.slots[i]];
	return NULL;
}

static EmuKey *
find_label(const char *label)
{
	for (int i = 0; label != NULL && i < srv.n_keys; i++)
		if (strcmp(srv.keys[i].cfg->label, label) == 0)
			return &srv.keys[i];
	return NULL;
}

/* ----------------------------------------------------------------------
 * timer thread: resumes delayed connections and watches hung ones
 * ----------------------------------------------------------------------
 */

static void
heap_swap(size_t a, size_t b)
{
	TimerEntry	t = srv.heap[a];

	srv.heap[a] = srv.heap[b];
	srv.heap[b] = t;
}

/* Add a suspended connection to be resumed at due_us.  Takes tlock. */
static bool
timer_add(struct MHD_Connection *conn, int64_t due_us)
{
	size_t		i;
	bool		wake;

	pthread_mutex_lock(&srv.tlock);
	if (srv.stopping)
	{
		/* the timer is gone: the caller answers at once */
		pthread_mutex_unlock(&srv.tlock);
		return false;
	}
	if (srv.heap_n == srv.heap_cap)
	{
		size_t		ncap = srv.heap_cap ? srv.heap_cap * 2 : 1024;
		TimerEntry *nh = realloc(srv.heap, ncap * sizeof(TimerEntry));

		if (nh == NULL)
		{
			pthread_mutex_unlock(&srv.tlock);
			return false;
		}
		srv.heap = nh;
		srv.heap_cap = ncap;
	}
	i = srv.heap_n++;
	srv.heap[i].due_us = due_us;
	srv.heap[i].conn = conn;
	while (i > 0 && srv.heap[(i - 1) / 2].due_us > srv.heap[i].due_us)
	{
		heap_swap(i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	wake = (i == 0);
	if (wake)
		pthread_cond_signal(&srv.tcond);
	pthread_mutex_unlock(&srv.tlock);
	return true;
}

/* Remove the heap's top.  Caller holds tlock. */
static void
heap_pop(void)
{
	size_t		i = 0;

	srv.heap[0] = srv.heap[--srv.heap_n];
	for (;;)
	{
		size_t		l = 2 * i + 1;
		size_t		r = l + 1;
		size_t		m = i;

		if (l < srv.heap_n && srv.heap[l].due_us < srv.heap[m].due_us)
			m = l;
		if (r < srv.heap_n && srv.heap[r].due_us < srv.heap[m].due_us)
			m = r;
		if (m == i)
			break;
		heap_swap(i, m);
		i = m;
	}
}

/* Park a hung connection until its client gives up or hang_max passes. */
static bool
hang_add(struct MHD_Connection *conn, EmuConn *x, int fd, int64_t due_us)
{
	pthread_mutex_lock(&srv.tlock);
	if (srv.stopping)
	{
		pthread_mutex_unlock(&srv.tlock);
		return false;
	}
	if (srv.hang_n == srv.hang_cap)
	{
		size_t		ncap = srv.hang_cap ? srv.hang_cap * 2 : 64;
		HangEntry  *nh = realloc(srv.hangs, ncap * sizeof(HangEntry));

		if (nh == NULL)
		{
			pthread_mutex_unlock(&srv.tlock);
			return false;
		}
		srv.hangs = nh;
		srv.hang_cap = ncap;
	}
	srv.hangs[srv.hang_n].due_us = due_us;
	srv.hangs[srv.hang_n].conn = conn;
	srv.hangs[srv.hang_n].x = x;
	srv.hangs[srv.hang_n].fd = fd;
	srv.hang_n++;
	pthread_cond_signal(&srv.tcond);
	pthread_mutex_unlock(&srv.tlock);
	return true;
}

/*
 * Find hung connections whose client closed (or whose time is up) and
 * resume them so that they get closed.  Caller holds tlock.  The poll
 * runs with the lock held; it never blocks (timeout 0).
 */
static void
check_hangs(int64_t now, struct MHD_Connection **out, size_t *nout,
			size_t maxout)
{
	struct pollfd pfd[256];

	for (size_t base = 0; base < srv.hang_n;)
	{
		size_t		n = srv.hang_n - base;
		size_t		keep = base;

		if (n > 256)
			n = 256;
		for (size_t i = 0; i < n; i++)
		{
			pfd[i].fd = srv.hangs[base + i].fd;
			pfd[i].events = POLLRDHUP;
			pfd[i].revents = 0;
		}
		if (poll(pfd, n, 0) < 0)
			memset(pfd, 0, sizeof(pfd));
		for (size_t i = 0; i < n; i++)
		{
			HangEntry  *h = &srv.hangs[base + i];
			bool		gone = (pfd[i].revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;

			if ((gone || h->due_us <= now || srv.stopping) && *nout < maxout)
			{
				h->x->state = CS_CLOSE;
				out[(*nout)++] = h->conn;
			}
			else
				srv.hangs[keep++] = *h;
		}
		/* close the gap left by the removed entries */
		memmove(&srv.hangs[keep], &srv.hangs[base + n],
				(srv.hang_n - base - n) * sizeof(HangEntry));
		srv.hang_n -= (base + n) - keep;
		base = keep;
	}
}

static void *
timer_main(void *arg)
{
	struct MHD_Connection *due[TIMER_BATCH];

	(void) arg;
	pthread_mutex_lock(&srv.tlock);
	for (;;)
	{
		int64_t		now = mono_us();
		size_t		n = 0;
		int64_t		next;

		while (srv.heap_n > 0 && n < TIMER_BATCH &&
			   (srv.heap[0].due_us <= now || srv.stopping))
		{
			due[n++] = srv.heap[0].conn;
			heap_pop();
		}
		if (srv.hang_n > 0 && n < TIMER_BATCH)
			check_hangs(now, due, &n, TIMER_BATCH);
		if (n > 0)
		{
			/* resume outside the lock: MHD takes its own locks */
			pthread_mutex_unlock(&srv.tlock);
			for (size_t i = 0; i < n; i++)
				MHD_resume_connection(due[i]);
			pthread_mutex_lock(&srv.tlock);
			continue;
		}
		if (srv.stopping)
			break;
		next = INT64_MAX;
		if (srv.heap_n > 0)
			next = srv.heap[0].due_us;
		if (srv.hang_n > 0 && now + HANG_POLL_US < next)
			next = now + HANG_POLL_US;
		if (next == INT64_MAX)
			pthread_cond_wait(&srv.tcond, &srv.tlock);
		else
		{
			struct timespec ts;

			ts.tv_sec = next / 1000000;
			ts.tv_nsec = (long) (next % 1000000) * 1000;
			pthread_cond_timedwait(&srv.tcond, &srv.tlock, &ts);
		}
	}
	pthread_mutex_unlock(&srv.tlock);
	return NULL;
}

/* ----------------------------------------------------------------------
 * responses
 * ----------------------------------------------------------------------
 */

typedef struct TruncBody
{
	char	   *data;
	size_t		cut;
} TruncBody;

/* Send the first "cut" bytes, then fail so MHD closes the connection. */
static ssize_t
trunc_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	TruncBody  *t = cls;
	size_t		n;

	if (pos >= t->cut)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	n = t->cut - (size_t) pos;
	if (n > max)
		n = max;
	memcpy(buf, t->data + pos, n);
	return (ssize_t) n;
}

static void
trunc_free(void *cls)
{
	TruncBody  *t = cls;

	free(t->data);
	free(t);
}

/*
 * An oversized reply: the JSON reply with its closing brace replaced by a
 * padding member, so that the whole is still valid JSON of "total" bytes.
 * Generated as it is sent: the emulator holds only the reply.
 */
typedef struct PadBody
{
	char	   *data;
	size_t		cut;			/* bytes of data before its last '}' */
	uint64_t	total;
} PadBody;

#define PAD_OPEN	",\"emu_padding\":\""
#define PAD_CLOSE	"\"}"

static ssize_t
pad_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	PadBody    *p = cls;
	uint64_t	open_end = p->cut + strlen(PAD_OPEN);
	uint64_t	pad_end = p->total - strlen(PAD_CLOSE);
	size_t		n = 0;

	while (n < max && pos < p->total)
	{
		if (pos < p->cut)
			buf[n] = p->data[pos];
		else if (pos < open_end)
			buf[n] = PAD_OPEN[pos - p->cut];
		else if (pos < pad_end)
			buf[n] = 'x';
		else
			buf[n] = PAD_CLOSE[pos - pad_end];
		n++;
		pos++;
	}
	return n > 0 ? (ssize_t) n : MHD_CONTENT_READER_END_OF_STREAM;
}

/*
 * A slow drip: the reply one byte at a time, fault_ms apart.  Between
 * bytes the connection is suspended and handed to the timer, so a drip
 * holds no thread; when the server stops, the rest is dropped.
 */
typedef struct DripBody
{
	char	   *data;
	size_t		len;
	struct MHD_Connection *conn;
	int64_t		every_us;
	int64_t		next_us;		/* when the next byte may go */
} DripBody;

static ssize_t
drip_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	DripBody   *d = cls;
	int64_t		now = mono_us();

	if (pos >= d->len)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (srv.stopping)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (now < d->next_us)
	{
		MHD_suspend_connection(d->conn);
		if (!timer_add(d->conn, d->next_us))
		{
			MHD_resume_connection(d->conn);
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
		return 0;
	}
	buf[0] = d->data[pos];
	d->next_us = now + d->every_us;
	return max > 0 ? 1 : 0;
}

static void
body_free(void *cls)
{
	/* PadBody and DripBody both start with their malloc'd data */
	char	  **data = cls;

	free(*data);
	free(cls);
}

/*
 * Oversized headers go straight to the socket: libmicrohttpd keeps a
 * response's headers in the connection's small memory pool, which they
 * would not fit.  Writes the status line, the usual headers, fault_bytes
 * of padding header lines and the reply, then closes.  Blocks this
 * connection's thread while the client reads (at most a few seconds: a
 * client that stops reading is given up on).
 */
static enum MHD_Result
send_big_headers(struct MHD_Connection *conn, EmuConn *x, const char *data,
				 size_t len)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	EmuBuf		b;
	char		line[1024];
	size_t		off = 0;
	int			idle_ms = 0;

	if (ci == NULL)
		return MHD_NO;
	emu_buf_init(&b);
	emu_buf_printf(&b, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				   "Content-Length: %zu\r\nConnection: close\r\n", len);
	memset(line, 'x', sizeof(line));
	for (int64_t i = 0; (int64_t) b.len < x->fault_bytes; i++)
		emu_buf_printf(&b, "x-emu-padding-%" PRId64 ": %.*s\r\n", i, 960, line);
	emu_buf_puts(&b, "\r\n");
	emu_buf_append(&b, data, len);
	while (!b.oom && off < b.len && idle_ms < 5000)
	{
		struct pollfd pfd = {.fd = ci->connect_fd, .events = POLLOUT};
		ssize_t		n;

		if (poll(&pfd, 1, 100) <= 0)
		{
			idle_ms += 100;
			continue;
		}
		n = send(ci->connect_fd, b.data + off, b.len - off, MSG_NOSIGNAL);
		if (n <= 0 && errno != EAGAIN && errno != EINTR)
			break;				/* the client gave up */
		if (n > 0)
			off += (size_t) n;
	}
	emu_buf_free(&b);
	return MHD_NO;				/* libmicrohttpd closes the connection */
}

static void
add_header(struct MHD_Response *r, const char *name, const char *value)
{
	MHD_add_response_header(r, name, value);
}

/* The response of an oversized reply; NULL (data freed) on failure. */
static struct MHD_Response *
pad_response(EmuConn *x, char *data, size_t len)
{
	PadBody    *p = malloc(sizeof(PadBody));
	struct MHD_Response *r;
	size_t		cut = len;

	while (cut > 0 && data[cut - 1] != '}')
		cut--;
	if (p == NULL || cut == 0)
	{
		free(p);
		free(data);
		return NULL;
	}
	p->data = data;
	p->cut = cut - 1;
	p->total = (uint64_t) x->fault_bytes;
	if (p->total < p->cut + strlen(PAD_OPEN) + strlen(PAD_CLOSE))
		p->total = p->cut + strlen(PAD_OPEN) + strlen(PAD_CLOSE);
	r = MHD_create_response_from_callback(p->total, 64 * 1024, pad_reader, p,
										  body_free);
	if (r == NULL)
		body_free(p);
	return r;
}

/* The response of a slow drip; NULL (data freed) on failure. */
static struct MHD_Response *
drip_response(struct MHD_Connection *conn, EmuConn *x, char *data, size_t len)
{
	DripBody   *d = malloc(sizeof(DripBody));
	struct MHD_Response *r;

	if (d == NULL)
	{
		free(data);
		return NULL;
	}
	d->data = data;
	d->len = len;
	d->conn = conn;
	d->every_us = x->fault_ms * 1000;
	d->next_us = 0;				/* the first byte goes at once */
	r = MHD_create_response_from_callback(len, 1024, drip_reader, d,
										  body_free);
	if (r == NULL)
		body_free(d);
	return r;
}

/*
 * Queue the prepared answer of x.  Rate-limit headers are computed now
 * (after any injected latency), which is also when Anthropic's output
 * tokens are charged.
 */
static enum MHD_Result
send_prepared(struct MHD_Connection *conn, EmuConn *x)
{
	struct MHD_Response *r;
	EmuHeaders	hs;
	enum MHD_Result ret;
	char		num[32];
	size_t		len;
	char	   *data;

	x->state = CS_CLOSE;
	if (x->act == ACT_RESET)
	{
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);

		/* linger 0: close() sends RST instead of FIN */
		if (ci != NULL)
		{
			struct linger lg = {1, 0};

			setsockopt(ci->connect_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		}
		return MHD_NO;
	}

	emu_headers_clear(&hs);
	if (x->key != NULL && (x->rl_headers || x->output_charge > 0))
	{
		EmuQuotaView v;
		int64_t		now = mono_us();

		pthread_mutex_lock(&x->key->lock);
		if (x->output_charge > 0)
			emu_quota_charge_output(&x->key->quota, now, x->output_charge);
		emu_quota_view(&x->key->quota, now, &v);
		pthread_mutex_unlock(&x->key->lock);
		if (x->output_charge > 0)
			stat_add(x->key, EMU_STAT_TOKENS_CHARGED, x->output_charge);
		if (x->rl_headers && !x->no_rl_headers)
		{
			emu_headers_ratelimit(x->provider, &v, wall_us(), &hs);
			if (x->sentinel)
				emu_headers_sentinel(x->provider, &hs);
		}
	}
	if (x->retry_after_s >= 0)
		emu_headers_add(&hs, "retry-after", "%" PRId64, x->retry_after_s);
	if (x->retry_after_ms >= 0)
		emu_headers_add(&hs, "retry-after-ms", "%" PRId64, x->retry_after_ms);

	data = emu_buf_steal(&x->resp, &len);
	if (data == NULL)
		return MHD_NO;
	if (x->act == ACT_BIG_HEADERS)
	{
		ret = send_big_headers(conn, x, data, len);
		free(data);
		return ret;
	}
	if (x->act == ACT_OVERSIZE || x->act == ACT_DRIP)
	{
		r = x->act == ACT_OVERSIZE ? pad_response(x, data, len) :
			drip_response(conn, x, data, len);
		if (r == NULL)
			return MHD_NO;
	}
	else if (x->act == ACT_TRUNCATE)
	{
		TruncBody  *t = malloc(sizeof(TruncBody));

		if (t == NULL)
		{
			free(data);
			return MHD_NO;
		}
		t->data = data;
		t->cut = len / 2;
		r = MHD_create_response_from_callback(len, 4096, trunc_reader, t,
											  trunc_free);
		if (r == NULL)
			trunc_free(t);
	}
	else
	{
		r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
		if (r == NULL)
			free(data);
	}
	if (r == NULL)
		return MHD_NO;

	add_header(r, "Content-Type", x->html ? "text/html" :
			   x->provider == EMU_PROVIDER_GEMINI ?
			   "application/json; charset=UTF-8" : "application/json");
	for (int i = 0; i < hs.n; i++)
		add_header(r, hs.h[i].name, hs.h[i].value);
	if (x->kind == CK_PROVIDER && x->provider == EMU_PROVIDER_OPENAI)
	{
		add_header(r, "x-request-id", x->request_id);
		add_header(r, "openai-version", "2020-10-01");
		snprintf(num, sizeof(num), "%" PRId64,
				 (mono_us() - x->t_start_us) / 1000);
		add_header(r, "openai-processing-ms", num);
	}
	else if (x->kind == CK_PROVIDER && x->provider == EMU_PROVIDER_ANTHROPIC)
	{
		add_header(r, "request-id", x->request_id);
		add_header(r, "anthropic-organization-id", srv.cfg->anthropic_org);
	}
	else if (x->kind == CK_PROVIDER && x->provider == EMU_PROVIDER_AZURE)
	{
		/* the set of a recorded Azure reply */
		add_header(r, "x-request-id", x->request_id);
		add_header(r, "apim-request-id", x->apim_id);
		add_header(r, "x-ms-region", srv.cfg->azure_region);
		add_header(r, "x-content-type-options", "nosniff");
		add_header(r, "strict-transport-security",
				   "max-age=31536000; includeSubDomains; preload");
		if (x->path_model[0] != '\0')
			add_header(r, "x-ms-deployment-name", x->path_model);
		if (x->status == 200)
		{
			add_header(r, "azureml-model-session", "emu-20250930181259");
			add_header(r, "x-ms-rai-invoked", "true");
		}
	}
	ret = MHD_queue_response(conn, (unsigned int) x->status, r);
	MHD_destroy_response(r);

	if (ret == MHD_YES && x->success && x->key != NULL)
	{
		stat_add(x->key, EMU_STAT_SUCCESSES, 1);
		stat_add(x->key, EMU_STAT_PROMPT_TOKENS, x->usage.prompt_tokens);
		stat_add(x->key, EMU_STAT_COMPLETION_TOKENS, x->usage.completion_tokens);
		if (x->idem != NULL)
			emu_idem_insert(srv.idem, x->idem, strlen(x->idem));
	}
	return ret;
}

/* Prepare a plain JSON answer (admin API, unknown URLs). */
static enum MHD_Result
respond_json(struct MHD_Connection *conn, EmuConn *x, int status,
			 EmuBuf *body)
{
	emu_buf_free(&x->resp);
	x->resp = *body;
	emu_buf_init(body);
	x->status = status;
	x->act = ACT_RESPOND;
	return send_prepared(conn, x);
}

static enum MHD_Result
respond_text(struct MHD_Connection *conn, EmuConn *x, int status,
			 const char *json)
{
	EmuBuf		b;

	emu_buf_init(&b);
	emu_buf_puts(&b, json);
	return respond_json(conn, x, status, &b);
}

/* A provider-shaped error answered at once (no latency, no faults). */
static enum MHD_Result
respond_error(struct MHD_Connection *conn, EmuConn *x, EmuErrKind kind,
			  int status, const char *detail)
{
	emu_buf_reset(&x->resp);
	x->status = emu_error_body(x->provider, kind, status, detail,
							   x->request_id, &x->resp, &x->html);
	x->act = ACT_RESPOND;
	if (x->status >= 500)
		stat_add(x->key, EMU_STAT_SERVER_ERRORS, 1);
	else if (kind != EMU_ERR_NO_KEY && kind != EMU_ERR_BAD_KEY)
		stat_add(x->key, EMU_STAT_CLIENT_ERRORS, 1);
	return send_prepared(conn, x);
}

/* ----------------------------------------------------------------------
 * admin API
 * ----------------------------------------------------------------------
 */

static void
admin_error(EmuBuf *b, const char *msg)
{
	emu_buf_reset(b);
	emu_buf_puts(b, "{\"error\":");
	emu_buf_json_str(b, msg, strlen(msg));
	emu_buf_puts(b, "}");
}

static void
snapshot_key(EmuKey *k, EmuStatsSnap *s, int64_t now)
{
	s->label = k->cfg->label;
	s->provider = k->cfg->provider;
	for (int i = 0; i < EMU_STAT_COUNT; i++)
		s->c[i] = atomic_load_explicit(&k->stat[i], memory_order_relaxed);
	pthread_mutex_lock(&k->lock);
	emu_quota_view(&k->quota, now, &s->view);
	s->insufficient_quota = k->quota.insufficient_quota;
	pthread_mutex_unlock(&k->lock);
}

static int
admin_stats(EmuBuf *b)
{
	EmuStatsSnap *snaps = calloc((size_t) srv.n_keys, sizeof(EmuStatsSnap));
	EmuStatsGlobal g;
	int64_t		now = mono_us();

	if (snaps == NULL)
	{
		admin_error(b, "out of memory");
		return 500;
	}
	for (int i = 0; i < srv.n_keys; i++)
		snapshot_key(&srv.keys[i], &snaps[i], now);
	g.unauthorized = atomic_load(&srv.unauthorized);
	g.peak_concurrent = atomic_load(&srv.peak);
	g.current_concurrent = atomic_load(&srv.current);
	g.idempotency_keys = (int64_t) emu_idem_count(srv.idem);
	emu_stats_render(snaps, srv.n_keys, &g, b);
	free(snaps);
	return 200;
}

/*
 * Zero the statistics (and forget the Idempotency-Keys); with
 * {"buckets":true} also refill every bucket.  Peaks restart from the
 * current concurrency, which is not reset.
 */
static int
admin_reset(json_t *body, EmuBuf *b)
{
	bool		buckets = json_is_true(json_object_get(body, "buckets"));
	int64_t		now = mono_us();

	for (int i = 0; i < srv.n_keys; i++)
	{
		EmuKey	   *k = &srv.keys[i];

		for (int s = 0; s < EMU_STAT_COUNT; s++)
		{
			if (s == EMU_STAT_CURRENT_CONCURRENT)
				continue;
			atomic_store(&k->stat[s], s == EMU_STAT_PEAK_CONCURRENT ?
						 atomic_load(&k->stat[EMU_STAT_CURRENT_CONCURRENT]) : 0);
		}
		if (buckets)
		{
			pthread_mutex_lock(&k->lock);
			emu_quota_fill(&k->quota, now);
			pthread_mutex_unlock(&k->lock);
		}
	}
	atomic_store(&srv.unauthorized, 0);
	atomic_store(&srv.peak, atomic_load(&srv.current));
	emu_idem_clear(srv.idem);
	emu_buf_printf(b, "{\"ok\":true,\"buckets\":%s}", buckets ? "true" : "false");
	return 200;
}

/* Does a faults/keys selector pick key k? */
static bool
selected(json_t *body, EmuKey *k)
{
	const char *label = json_string_value(json_object_get(body, "key"));
	const char *prov = json_string_value(json_object_get(body, "provider"));

	if (label == NULL)
		label = json_string_value(json_object_get(body, "label"));
	if (label != NULL)
		return strcmp(label, k->cfg->label) == 0;
	if (prov != NULL)
		return strcmp(prov, emu_provider_name(k->cfg->provider)) == 0;
	return true;
}

static int
admin_faults_get(EmuBuf *b)
{
	emu_buf_puts(b, "{");
	for (int i = 0; i < srv.n_keys; i++)
	{
		EmuKey	   *k = &srv.keys[i];
		EmuFaults	f;

		pthread_mutex_lock(&k->lock);
		f = k->faults;
		pthread_mutex_unlock(&k->lock);
		if (i > 0)
			emu_buf_puts(b, ",");
		emu_buf_json_str(b, k->cfg->label, strlen(k->cfg->label));
		emu_buf_puts(b, ":");
		emu_faults_render(&f, b);
	}
	emu_buf_puts(b, "}");
	return 200;
}

/*
 * Set faults on the selected keys: {"key":label} | {"provider":name} |
 * {"all":true} (or no selector: all).  {"clear":true} zeroes them before
 * the other fields are merged in.  All-or-nothing: every selected key is
 * validated before any changes.
 */
static int
admin_faults_post(json_t *body, EmuBuf *b)
{
	char		err[256];
	bool		clear = json_is_true(json_object_get(body, "clear"));
	const char *prov = json_string_value(json_object_get(body, "provider"));
	EmuProvider dummy;
	int			n = 0;
	EmuFaults	zero;

	memset(&zero, 0, sizeof(zero));
	if (!json_is_object(body))
	{
		admin_error(b, "body must be a JSON object");
		return 400;
	}
	if (prov != NULL && !emu_provider_from_name(prov, &dummy))
	{
		admin_error(b, "unknown provider");
		return 400;
	}
	/* validate once against a blank set */
	if (!emu_faults_apply_json(body, &zero, err, sizeof(err)))
	{
		admin_error(b, err);
		return 400;
	}
	for (int i = 0; i < srv.n_keys; i++)
		if (selected(body, &srv.keys[i]))
			n++;
	if (n == 0)
	{
		admin_error(b, "no key matches the selector");
		return 404;
	}
	emu_buf_puts(b, "{\"ok\":true,\"keys\":[");
	n = 0;
	for (int i = 0; i < srv.n_keys; i++)
	{
		EmuKey	   *k = &srv.keys[i];
		EmuFaults	f;
		bool		ok;

		if (!selected(body, k))
			continue;
		pthread_mutex_lock(&k->lock);
		f = k->faults;
		if (clear)
			memset(&f, 0, sizeof(f));
		ok = emu_faults_apply_json(body, &f, err, sizeof(err));
		if (ok)
			k->faults = f;
		pthread_mutex_unlock(&k->lock);
		if (!ok)
		{
			admin_error(b, err);
			return 400;
		}
		if (n++ > 0)
			emu_buf_puts(b, ",");
		emu_buf_json_str(b, k->cfg->label, strlen(k->cfg->label));
	}
	emu_buf_puts(b, "]}");
	return 200;
}

static int
admin_keys_get(EmuBuf *b)
{
	emu_buf_puts(b, "{");
	for (int i = 0; i < srv.n_keys; i++)
	{
		EmuKey	   *k = &srv.keys[i];
		int64_t		lim[EMU_DIM_COUNT];
		bool		iq;

		pthread_mutex_lock(&k->lock);
		memcpy(lim, k->limits, sizeof(lim));
		iq = k->quota.insufficient_quota;
		pthread_mutex_unlock(&k->lock);
		if (i > 0)
			emu_buf_puts(b, ",");
		emu_buf_json_str(b, k->cfg->label, strlen(k->cfg->label));
		emu_buf_printf(b, ":{\"provider\":\"%s\",",
					   emu_provider_name(k->cfg->provider));
		emu_limits_render(lim, k->cfg->provider, b);
		emu_buf_printf(b, ",\"insufficient_quota\":%s}", iq ? "true" : "false");
	}
	emu_buf_puts(b, "}");
	return 200;
}

/*
 * Change one key at run time: {"key":label, "rpm":120, "tpm":null,
 * "insufficient_quota":true, "refill":true}.  Used amounts carry over to
 * the new limits; "refill" fills every bucket afterwards.
 */
static int
admin_keys_post(json_t *body, EmuBuf *b)
{
	const char *label = json_string_value(json_object_get(body, "key"));
	EmuKey	   *k;
	json_t	   *iq;
	char		err[256];
	int64_t		lim[EMU_DIM_COUNT];
	const char *f;
	json_t	   *v;

	if (label == NULL)
		label = json_string_value(json_object_get(body, "label"));
	k = find_label(label);
	if (k == NULL)
	{
		admin_error(b, "unknown key label (give \"key\")");
		return 404;
	}
	json_object_foreach(body, f, v)
	{
		if (strcmp(f, "key") != 0 && strcmp(f, "label") != 0 &&
			strcmp(f, "insufficient_quota") != 0 && strcmp(f, "refill") != 0 &&
			strcmp(f, "rpm") != 0 && strcmp(f, "tpm") != 0 &&
			strcmp(f, "itpm") != 0 && strcmp(f, "otpm") != 0 &&
			strcmp(f, "rpd") != 0 && strcmp(f, "tpd") != 0)
		{
			snprintf(err, sizeof(err), "unknown field \"%s\"", f);
			admin_error(b, err);
			return 400;
		}
	}
	iq = json_object_get(body, "insufficient_quota");
	if (iq != NULL && !json_is_boolean(iq))
	{
		admin_error(b, "\"insufficient_quota\" must be true or false");
		return 400;
	}
	if (json_is_true(iq) && k->cfg->provider == EMU_PROVIDER_AZURE)
	{
		admin_error(b, "\"insufficient_quota\" does not apply to azure keys");
		return 400;
	}
	pthread_mutex_lock(&k->lock);
	memcpy(lim, k->limits, sizeof(lim));
	if (!emu_limits_apply_json(body, k->cfg->provider, lim, err, sizeof(err)))
	{
		pthread_mutex_unlock(&k->lock);
		admin_error(b, err);
		return 400;
	}
	memcpy(k->limits, lim, sizeof(lim));
	emu_quota_set_limits(&k->quota, lim, mono_us());
	if (iq != NULL)
		k->quota.insufficient_quota = json_is_true(iq);
	if (json_is_true(json_object_get(body, "refill")))
		emu_quota_fill(&k->quota, mono_us());
	pthread_mutex_unlock(&k->lock);
	emu_buf_puts(b, "{\"ok\":true}");
	return 200;
}

static bool
is_loopback(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *) sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6)
	{
		const struct in6_addr *a = &((const struct sockaddr_in6 *) sa)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) ||
			(IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

static enum MHD_Result
handle_admin(struct MHD_Connection *conn, EmuConn *x)
{
	EmuBuf		b;
	json_t	   *body = NULL;
	int			status;
	const char *p = x->admin_path;

	emu_buf_init(&b);
	if (!is_loopback(conn))
		return respond_text(conn, x, 403, "{\"error\":\"admin API is loopback only\"}");
	if (!x->is_get)
	{
		json_error_t jerr;

		if (x->body.len == 0)
			body = json_object();
		else
			body = json_loadb(x->body.data, x->body.len, 0, &jerr);
		if (!json_is_object(body))
		{
			json_decref(body);
			return respond_text(conn, x, 400, "{\"error\":\"body must be a JSON object\"}");
		}
	}
	if (strcmp(p, "health") == 0)
	{
		emu_buf_puts(&b, "{\"ok\":true}");
		status = 200;
	}
	else if (strcmp(p, "stats") == 0 && x->is_get)
		status = admin_stats(&b);
	else if (strcmp(p, "reset") == 0 && !x->is_get)
		status = admin_reset(body, &b);
	else if (strcmp(p, "faults") == 0)
		status = x->is_get ? admin_faults_get(&b) : admin_faults_post(body, &b);
	else if (strcmp(p, "keys") == 0)
		status = x->is_get ? admin_keys_get(&b) : admin_keys_post(body, &b);
	else
	{
		admin_error(&b, "unknown admin endpoint or method");
		status = 404;
	}
	json_decref(body);
	return respond_json(conn, x, status, &b);
}

/* ----------------------------------------------------------------------
 * provider requests
 * ----------------------------------------------------------------------
 */

/* Pick what to do with an admitted request from the key's fault rates. */
static Action
pick_fault(const EmuFaults *f, bool *error, bool *malformed)
{
	double		u;
	double		acc;

	*error = *malformed = false;
	if (emu_faults_rate_sum(f) <= 0.0)
		return ACT_RESPOND;
	u = rng_double();
	if (u < (acc = f->hang_rate))
		return ACT_HANG;
	if (u < (acc += f->reset_rate))
		return ACT_RESET;
	if (u < (acc += f->error_rate))
	{
		*error = true;
		return ACT_RESPOND;
	}
	if (u < (acc += f->malformed_rate))
	{
		*malformed = true;
		return ACT_RESPOND;
	}
	if (u < (acc += f->truncated_rate))
		return ACT_TRUNCATE;
	if (u < (acc += f->oversized_rate))
		return ACT_OVERSIZE;
	if (u < (acc += f->big_headers_rate))
		return ACT_BIG_HEADERS;
	if (u < acc + f->drip_rate)
		return ACT_DRIP;
	return ACT_RESPOND;
}

/* Answer now, or suspend until the latency has passed. */
static enum MHD_Result
deliver(struct MHD_Connection *conn, EmuConn *x, const EmuFaults *f)
{
	int64_t		delay_us = f->latency_ms * 1000;

	if (f->jitter_ms > 0)
		delay_us += (int64_t) (rng_double() * (double) (f->jitter_ms * 1000 + 1));
	if (x->act == ACT_HANG)
	{
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);

		x->state = CS_WAIT;
		MHD_suspend_connection(conn);
		if (ci == NULL ||
			!hang_add(conn, x, ci->connect_fd,
					  mono_us() + srv.cfg->hang_max_ms * 1000))
		{
			x->state = CS_CLOSE;
			MHD_resume_connection(conn);
		}
		return MHD_YES;
	}
	if (delay_us <= 0)
		return send_prepared(conn, x);
	x->state = CS_READY;
	MHD_suspend_connection(conn);
	if (!timer_add(conn, mono_us() + delay_us))
		MHD_resume_connection(conn);
	return MHD_YES;
}

/*
 * emu_server_set_request_log
 *		Where log_request writes (an fd opened O_APPEND), or -1 for nowhere.
 *		Set before emu_server_start.
 */
void
emu_server_set_request_log(int fd)
{
	request_log_fd = fd;
}

/*
 * log_request
 *		Appends "<key label>\t<Idempotency-Key>\n" for a provider request
 *		received whole ("-" for a missing key or header), so a test can
 *		count the calls each job made.  One write() per line, so the lines
 *		of concurrent threads never interleave; the key is cut at 200 bytes
 *		and control characters become '?'.
 */
static void
log_request(const EmuConn *x)
{
	char		line[EMU_LABEL_MAX + 256];
	size_t		n = 0;
	const char *label = x->key != NULL ? x->key->cfg->label : "-";
	const char *idem = x->idem != NULL && x->idem[0] != '\0' ? x->idem : "-";

	if (request_log_fd < 0)
		return;
	for (const char *p = label; *p != '\0' && n < EMU_LABEL_MAX; p++)
		line[n++] = *p;
	line[n++] = '\t';
	for (size_t i = 0; idem[i] != '\0' && i < 200; i++)
		line[n++] = (unsigned char) idem[i] < 0x20 || idem[i] == 0x7f ? '?' : idem[i];
	line[n++] = '\n';
	if (write(request_log_fd, line, n) < 0)
		return;					/* a test's log; the request goes on */
}

static enum MHD_Result
handle_provider(struct MHD_Connection *conn, EmuConn *x)
{
	EmuKey	   *k = x->key;
	EmuRequest	req;
	EmuParseStatus ps;
	char		err[512];
	int64_t		max_out;
	int64_t		charge;
	EmuFaults	f;
	EmuAdmit	a;
	EmuAdmitStatus st;
	bool		inject_error;
	bool		malformed;

	log_request(x);

	/*
	 * Azure routes on api-version before it looks at the key: without one the
	 * path does not exist (404), a malformed one is a 400.
	 */
	if (x->provider == EMU_PROVIDER_AZURE &&
		!emu_azure_api_version_ok(x->api_version))
	{
		bool		missing = x->api_version == NULL ||
			x->api_version[0] == '\0';

		stat_add(k, EMU_STAT_REQUESTS, 1);
		return respond_error(conn, x, missing ? EMU_ERR_NO_API_VERSION :
							 EMU_ERR_BAD_API_VERSION, 0, NULL);
	}
	if (k == NULL)
	{
		atomic_fetch_add(&srv.unauthorized, 1);
		return respond_error(conn, x, x->no_key ? EMU_ERR_NO_KEY : EMU_ERR_BAD_KEY,
							 0, x->secret);
	}
	stat_add(k, EMU_STAT_REQUESTS, 1);
	x->rl_headers = true;
	pthread_mutex_lock(&k->lock);
	f = k->faults;
	pthread_mutex_unlock(&k->lock);
	x->no_rl_headers = f.no_ratelimit_headers;
	x->sentinel = f.sentinel_headers;

	if (x->provider == EMU_PROVIDER_ANTHROPIC &&
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "anthropic-version") == NULL)
		return respond_error(conn, x, EMU_ERR_INVALID, 0,
							 "anthropic-version: header is required");
	if (x->too_big)
		return respond_error(conn, x, EMU_ERR_TOO_BIG, 0, NULL);
	if (x->stream_path)
		return respond_error(conn, x, EMU_ERR_INVALID, 0,
							 "streamGenerateContent is not supported by the emulator");

	ps = emu_request_parse(x->provider, x->body.data ? x->body.data : "",
						   x->body.len, x->path_model, &req, err, sizeof(err));
	if (ps != EMU_PARSE_OK)
		return respond_error(conn, x, ps == EMU_PARSE_BAD_JSON ?
							 EMU_ERR_BAD_JSON : EMU_ERR_INVALID, 0, err);
	if (!emu_config_model_allowed(srv.cfg, k->cfg, req.model, &max_out))
	{
		enum MHD_Result r = respond_error(conn, x, EMU_ERR_MODEL, 0, req.model);

		emu_request_free(&req);
		return r;
	}
	if (max_out > 0 && req.max_tokens > max_out)
	{
		enum MHD_Result r;

		snprintf(err, sizeof(err), "max_tokens is too large: %" PRId64
				 ". This model supports at most %" PRId64
				 " completion tokens.", req.max_tokens, max_out);
		r = respond_error(conn, x, EMU_ERR_INVALID, 0, err);
		emu_request_free(&req);
		return r;
	}
	if (emu_context_exceeded(x->provider, req.prompt_tokens, req.max_tokens,
							 emu_config_context_window(srv.cfg, x->provider,
													   req.model),
							 err, sizeof(err)))
	{
		enum MHD_Result r = respond_error(conn, x, EMU_ERR_CONTEXT, 0, err);

		emu_request_free(&req);
		return r;
	}
	if (x->idem != NULL && emu_idem_contains(srv.idem, x->idem, strlen(x->idem)))
		stat_add(k, EMU_STAT_DUPLICATES, 1);

	charge = emu_request_charge(x->provider, &req, srv.cfg->openai_charge);
	pthread_mutex_lock(&k->lock);
	st = emu_quota_admit(&k->quota, mono_us(), charge, &a);
	pthread_mutex_unlock(&k->lock);

	if (st != EMU_ADMIT_OK)
	{
		EmuLimitCtx lc;

		lc.model = req.model;
		lc.org = srv.cfg->org;
		lc.anthropic_org = srv.cfg->anthropic_org;
		lc.gemini_free_tier = k->cfg->free_tier;
		lc.request_id = x->request_id;
		lc.wall_now_us = wall_us();
		lc.api_version = x->api_version;
		lc.azure_tier = srv.cfg->azure_tier;
		emu_buf_reset(&x->resp);
		emu_ratelimit_body(x->provider, &a, &lc, &x->resp);
		emu_request_free(&req);
		x->status = 429;
		x->act = ACT_RESPOND;
		if (st == EMU_ADMIT_BILLING)
			stat_add(k, EMU_STAT_INSUFFICIENT_QUOTA, 1);
		else if (st == EMU_ADMIT_TOO_LARGE)
			stat_add(k, EMU_STAT_TOO_LARGE, 1);
		else
			stat_add(k, (EmuStat) (EMU_STAT_RL_RPM + a.dim), 1);
		if (!f.no_retry_after)
		{
			EmuHeaders	rh;
			const char *v;

			emu_headers_clear(&rh);
			emu_headers_retry(x->provider, &a, srv.cfg->openai_retry_after_ms, &rh);
			if ((v = emu_headers_get(&rh, "retry-after")) != NULL)
				x->retry_after_s = strtoll(v, NULL, 10);
			if ((v = emu_headers_get(&rh, "retry-after-ms")) != NULL)
				x->retry_after_ms = strtoll(v, NULL, 10);
		}
		return send_prepared(conn, x);
	}

	stat_add(k, EMU_STAT_TOKENS_CHARGED, charge);
	x->act = pick_fault(&f, &inject_error, &malformed);
	if (x->act == ACT_HANG)
		stat_add(k, EMU_STAT_HANGS, 1);
	else if (x->act == ACT_RESET)
		stat_add(k, EMU_STAT_RESETS, 1);
	else if (inject_error)
	{
		int			status = emu_faults_error_status(&f, x->provider);

		emu_buf_reset(&x->resp);
		x->status = emu_error_body(x->provider, status == 403 ?
								   EMU_ERR_FORBIDDEN : EMU_ERR_SERVER, status,
								   NULL, x->request_id, &x->resp, &x->html);
		stat_add(k, status == 403 ? EMU_STAT_CLIENT_ERRORS :
				 EMU_STAT_SERVER_ERRORS, 1);
	}
	else
	{
		EmuReplyOpts o;

		o.nonconforming = f.nonconforming_json;
		o.nonjson = f.nonjson_structured;
		o.seq = atomic_fetch_add_explicit(&srv.seq, 1, memory_order_relaxed);
		o.created = wall_us() / 1000000;
		emu_buf_reset(&x->resp);
		if (!emu_reply_build(x->provider, &req, &o, &x->resp, &x->usage))
		{
			emu_request_free(&req);
			return MHD_NO;
		}
		x->status = 200;
		if (x->provider == EMU_PROVIDER_ANTHROPIC)
			x->output_charge = x->usage.completion_tokens;
		if (malformed)
		{
			emu_reply_malform(&x->resp);
			stat_add(k, EMU_STAT_MALFORMED, 1);
		}
		else if (x->act == ACT_TRUNCATE)
			stat_add(k, EMU_STAT_TRUNCATED, 1);
		else if (x->act == ACT_OVERSIZE)
		{
			x->fault_bytes = emu_faults_oversized_bytes(&f);
			stat_add(k, EMU_STAT_OVERSIZED, 1);
		}
		else if (x->act == ACT_BIG_HEADERS)
		{
			x->fault_bytes = emu_faults_big_headers_bytes(&f);
			stat_add(k, EMU_STAT_BIG_HEADERS, 1);
		}
		else if (x->act == ACT_DRIP)
		{
			x->fault_ms = emu_faults_drip_ms(&f);
			stat_add(k, EMU_STAT_DRIPS, 1);
		}
		else
			x->success = true;
	}
	emu_request_free(&req);
	return deliver(conn, x, &f);
}

/* ----------------------------------------------------------------------
 * libmicrohttpd callbacks
 * ----------------------------------------------------------------------
 */

/* Route a new request and identify its key from the headers. */
static EmuConn *
conn_new(struct MHD_Connection *conn, const char *url, const char *method)
{
	EmuConn    *x = calloc(1, sizeof(EmuConn));
	const char *secret = NULL;

	if (x == NULL)
		return NULL;
	emu_buf_init(&x->body);
	emu_buf_init(&x->resp);
	x->retry_after_s = x->retry_after_ms = -1;
	x->is_get = strcmp(method, "GET") == 0;
	x->t_start_us = mono_us();
	snprintf(x->request_id, sizeof(x->request_id), "req_emu%016" PRIx64,
			 mix64(atomic_fetch_add_explicit(&srv.seq, 1, memory_order_relaxed) ^
				   UINT64_C(0x5851F42D4C957F2D)));

	if (strncmp(url, "/admin/", 7) == 0)
	{
		x->kind = CK_ADMIN;
		snprintf(x->admin_path, sizeof(x->admin_path), "%s", url + 7);
		return x;
	}
	if (x->is_get)
		return x;				/* CK_NOT_FOUND */
	if (strcmp(url, "/v1/chat/completions") == 0)
	{
		const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
													   "Authorization");

		x->kind = CK_PROVIDER;
		x->provider = EMU_PROVIDER_OPENAI;
		if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0)
			secret = auth + 7;
	}
	else if (strcmp(url, "/v1/messages") == 0)
	{
		x->kind = CK_PROVIDER;
		x->provider = EMU_PROVIDER_ANTHROPIC;
		secret = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "x-api-key");
	}
	else if (strncmp(url, "/v1beta/models/", 15) == 0 ||
			 strncmp(url, "/v1/models/", 11) == 0)
	{
		const char *m = strstr(url, "/models/") + 8;
		const char *colon = strrchr(m, ':');

		if (colon == NULL || (strcmp(colon, ":generateContent") != 0 &&
							  strcmp(colon, ":streamGenerateContent") != 0))
			return x;
		x->kind = CK_PROVIDER;
		x->provider = EMU_PROVIDER_GEMINI;
		x->stream_path = strcmp(colon, ":streamGenerateContent") == 0;
		snprintf(x->path_model, sizeof(x->path_model), "%.*s",
				 (int) (colon - m), m);
		secret = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "x-goog-api-key");
		if (secret == NULL)
			secret = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "key");
	}
	else if (strncmp(url, "/openai/deployments/", 20) == 0)
	{
		const char *d = url + 20;
		const char *slash = strchr(d, '/');

		if (slash == NULL || slash == d ||
			strcmp(slash, "/chat/completions") != 0 ||
			(size_t) (slash - d) >= sizeof(x->path_model))
			return x;
		x->kind = CK_PROVIDER;
		x->provider = EMU_PROVIDER_AZURE;
		snprintf(x->path_model, sizeof(x->path_model), "%.*s",
				 (int) (slash - d), d);
		/* only the key header: Entra bearer tokens are not emulated */
		secret = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "api-key");
		x->api_version = MHD_lookup_connection_value(conn,
													 MHD_GET_ARGUMENT_KIND,
													 "api-version");
		uuid_of(x->request_id, sizeof(x->request_id),
				atomic_fetch_add_explicit(&srv.seq, 1, memory_order_relaxed));
		uuid_of(x->apim_id, sizeof(x->apim_id),
				atomic_fetch_add_explicit(&srv.seq, 1, memory_order_relaxed));
	}
	else
		return x;

	x->secret = secret;
	x->no_key = secret == NULL || secret[0] == '\0';
	x->key = find_key(secret);
	if (x->key != NULL && x->key->cfg->provider != x->provider)
		x->key = NULL;			/* a key of another provider is unknown here */
	x->idem = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Idempotency-Key");
	x->counted = true;
	raise_peak(&srv.peak, atomic_fetch_add(&srv.current, 1) + 1);
	if (x->key != NULL)
		raise_peak(&x->key->stat[EMU_STAT_PEAK_CONCURRENT],
				   atomic_fetch_add(&x->key->stat[EMU_STAT_CURRENT_CONCURRENT], 1) + 1);
	return x;
}

static enum MHD_Result
access_handler(void *cls, struct MHD_Connection *conn, const char *url,
			   const char *method, const char *version,
			   const char *upload_data, size_t *upload_data_size,
			   void **con_cls)
{
	EmuConn    *x = *con_cls;

	(void) cls;
	(void) version;
	if (x == NULL)
	{
		x = conn_new(conn, url, method);
		if (x == NULL)
			return MHD_NO;
		*con_cls = x;
		return MHD_YES;
	}
	switch (x->state)
	{
		case CS_BODY:
			if (*upload_data_size > 0)
			{
				if (x->too_big ||
					x->body.len + *upload_data_size > (size_t) srv.cfg->max_body_bytes)
					x->too_big = true;
				else
					emu_buf_append(&x->body, upload_data, *upload_data_size);
				*upload_data_size = 0;
				return MHD_YES;
			}
			if (x->body.oom)
				return MHD_NO;
			if (x->kind == CK_ADMIN)
				return handle_admin(conn, x);
			if (x->kind == CK_PROVIDER)
				return handle_provider(conn, x);
			x->provider = EMU_PROVIDER_OPENAI;
			{
				EmuBuf		b;

				emu_buf_init(&b);
				emu_buf_puts(&b, "{\"error\":{\"message\":\"Unknown request URL: ");
				emu_buf_puts(&b, method);
				emu_buf_puts(&b, " ");
				/* the URL is echoed inside a JSON string */
				for (const char *p = url; *p && p - url < 200; p++)
					if (*p != '"' && *p != '\\' && (unsigned char) *p >= 0x20)
						emu_buf_append(&b, p, 1);
				emu_buf_puts(&b, "\",\"type\":\"invalid_request_error\","
							 "\"param\":null,\"code\":\"unknown_url\"}}");
				return respond_json(conn, x, 404, &b);
			}
		case CS_READY:
			return send_prepared(conn, x);
		case CS_WAIT:
			/* resumed early (e.g. out of memory in the timer): close */
		case CS_CLOSE:
		default:
			return MHD_NO;
	}
}

static void
request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
				  enum MHD_RequestTerminationCode toe)
{
	EmuConn    *x = *con_cls;

	(void) cls;
	(void) conn;
	(void) toe;
	if (x == NULL)
		return;
	if (x->counted)
	{
		atomic_fetch_sub(&srv.current, 1);
		if (x->key != NULL)
			atomic_fetch_sub(&x->key->stat[EMU_STAT_CURRENT_CONCURRENT], 1);
	}
	emu_buf_free(&x->body);
	emu_buf_free(&x->resp);
	free(x);
	*con_cls = NULL;
}

/* ----------------------------------------------------------------------
 * start and stop
 * ----------------------------------------------------------------------
 */

/*
 * Build the keys from "cfg" (which must outlive the server) and start
 * listening on host:port (port 0: any free port).  Returns false with
 * "err" set on failure.
 */
bool
emu_server_start(EmuConfig *cfg, const char *host, int port, int threads,
				 char *err, size_t errlen)
{
	struct sockaddr_in sa;
	pthread_condattr_t ca;
	size_t		nslots = 16;
	int64_t		now = mono_us();
	const union MHD_DaemonInfo *di;

	memset(&srv, 0, sizeof(srv));
	srv.cfg = cfg;
	srv.n_keys = cfg->n_keys;
	srv.keys = calloc((size_t) cfg->n_keys, sizeof(EmuKey));
	while (nslots < (size_t) cfg->n_keys * 2)
		nslots *= 2;
	srv.slots = malloc(nslots * sizeof(int));
	srv.idem = emu_idem_create();
	if (srv.keys == NULL || srv.slots == NULL || srv.idem == NULL)
	{
		snprintf(err, errlen, "out of memory");
		return false;
	}
	srv.slot_mask = nslots - 1;
	for (size_t i = 0; i < nslots; i++)
		srv.slots[i] = -1;
	for (int i = 0; i < cfg->n_keys; i++)
	{
		EmuKey	   *k = &srv.keys[i];
		size_t		s;

		k->cfg = &cfg->keys[i];
		pthread_mutex_init(&k->lock, NULL);
		memcpy(k->limits, k->cfg->limits, sizeof(k->limits));
		emu_quota_init(&k->quota, k->limits, now);
		if (k->cfg->provider == EMU_PROVIDER_AZURE)
			emu_quota_set_rpm_window(&k->quota, k->limits,
									 cfg->azure_rpm_window_s * EMU_USEC_PER_SEC,
									 now);
		k->quota.insufficient_quota = k->cfg->insufficient_quota;
		k->faults = k->cfg->faults;
		for (s = str_hash(k->cfg->secret) & srv.slot_mask; srv.slots[s] >= 0;
			 s = (s + 1) & srv.slot_mask)
			;
		srv.slots[s] = i;
	}

	pthread_mutex_init(&srv.tlock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&srv.tcond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&srv.timer, NULL, timer_main, NULL) != 0)
	{
		snprintf(err, errlen, "could not start the timer thread");
		return false;
	}
	srv.timer_started = true;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t) port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
	{
		snprintf(err, errlen, "invalid listen address \"%s\" (IPv4 expected)", host);
		return false;
	}
	srv.daemon = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD |
								  MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO |
								  MHD_USE_ERROR_LOG,
								  (uint16_t) port, NULL, NULL,
								  access_handler, NULL,
								  MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &sa,
								  MHD_OPTION_THREAD_POOL_SIZE, (unsigned int) threads,
								  MHD_OPTION_CONNECTION_LIMIT, (unsigned int) 60000,
								  MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int) 8192,
								  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) 0,
								  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) 32768,
								  MHD_OPTION_NOTIFY_COMPLETED, request_completed, NULL,
								  MHD_OPTION_END);
	if (srv.daemon == NULL)
	{
		snprintf(err, errlen, "could not listen on %s:%d: %s", host, port,
				 errno ? strerror(errno) : "libmicrohttpd failed to start");
		return false;
	}
	di = MHD_get_daemon_info(srv.daemon, MHD_DAEMON_INFO_BIND_PORT);
	srv.port = di != NULL ? di->port : port;
	return true;
}

int
emu_server_port(void)
{
	return srv.port;
}

/*
 * Stop: resume every suspended connection (they close), wait briefly for
 * them to finish, then stop the daemon.  libmicrohttpd forbids stopping
 * with suspended connections.
 */
void
emu_server_stop(void)
{
	if (srv.timer_started)
	{
		pthread_mutex_lock(&srv.tlock);
		srv.stopping = true;
		/* delayed answers go out now, hung connections are closed */
		pthread_cond_signal(&srv.tcond);
		pthread_mutex_unlock(&srv.tlock);
		pthread_join(srv.timer, NULL);
		srv.timer_started = false;
	}
	if (srv.daemon != NULL)
	{
		for (int i = 0; i < 200 && atomic_load(&srv.current) > 0; i++)
			usleep(10000);
		MHD_stop_daemon(srv.daemon);
		srv.daemon = NULL;
	}
	for (int i = 0; i < srv.n_keys; i++)
		pthread_mutex_destroy(&srv.keys[i].lock);
	free(srv.keys);
	free(srv.slots);
	free(srv.heap);
	free(srv.hangs);
	emu_idem_destroy(srv.idem);
	srv.keys = NULL;
	srv.slots = NULL;
	srv.heap = NULL;
	srv.hangs = NULL;
	srv.idem = NULL;
	srv.n_keys = 0;
}
