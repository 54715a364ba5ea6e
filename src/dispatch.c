/*-------------------------------------------------------------------------
 * dispatch.c
 *	  The libcurl multi pipeline of one dispatcher worker: starts
 *	  transfers, drives them from one wait that also watches the process
 *	  latch, and hands finished jobs back to worker.c.
 *
 * curl's sockets live in an epoll set of our own; that epoll descriptor is
 * one event of a PostgreSQL WaitEventSet next to the latch and postmaster
 * death, so one WaitEventSetWait() sleeps until a socket is ready, a job
 * is enqueued, a signal arrives or curl's timer fires, and the cost per
 * wake-up does not grow with the number of transfers in flight.
 *
 * The curl callbacks never ereport or palloc (a longjmp through libcurl is
 * undefined): the body grows with realloc up to aigov.max_response_bytes
 * and an overflow fails the transfer with CURLE_WRITE_ERROR; the headers
 * of one reply are capped at AIGOV_MAX_RESPONSE_HEADER_BYTES the same
 * way.  Both end the job as response_too_large, never retried.  Since a
 * worker may hold aigov.max_in_flight replies at once, it keeps no more
 * calls in flight than AIGOV_RESPONSE_MEMORY_BUDGET holds replies of
 * aigov.max_response_bytes (AigovDispatchCallBudget).
 *
 * A job's request goes on the wire at most once per transfer.  When a
 * reused keep-alive connection dies before any byte of the reply, libcurl
 * would send the request again on a fresh connection by itself: the
 * provider could then see (and bill) two calls under one aigov.attempts
 * row.  The pre-request callback counts the sends of a transfer and aborts
 * a second one, so the transfer ends as a connection failure and the job
 * is retried, if at all, by aigov's own path, with its own attempts row
 * and backoff.  Connection reuse itself stays on.
 *
 * Every socket a call opens passes the open-socket callback, which
 * refuses an address aigov.allowed_hosts does not allow (egress.c), so a
 * refused call sends nothing, its secret included.  The header list, which
 * holds the secret, is zeroed before it is freed.
 *
 * IDENTIFICATION
 *	  src/dispatch.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include <curl/curl.h>

#if LIBCURL_VERSION_NUM < 0x075000
#error "aigov needs libcurl 7.80 or later (CURLOPT_PREREQFUNCTION)"
#endif

#include "aigov.h"
#include "dispatch.h"
#include "egress.h"

int			aigov_request_timeout_ms = 60000;
int			aigov_connect_timeout_ms = 5000;
int			aigov_max_response_bytes = 1024 * 1024;
int			aigov_max_connections = 4096;

#define EPOLL_BATCH 256

/*
 * What the reply buffers of one worker may take together: calls in flight
 * times aigov.max_response_bytes.  The defaults (1000 calls of 1 MB) fit.
 */
#define AIGOV_RESPONSE_MEMORY_BUDGET	((int64) 1024 * 1024 * 1024)

/*
 * The most header bytes one reply may carry, status line and interim
 * responses included.  Providers send a few kilobytes; a reply past this
 * is not a provider's.
 */
#define AIGOV_MAX_RESPONSE_HEADER_BYTES (64 * 1024)

static CURLM *multi = NULL;
static int	epoll_fd = -1;
static WaitEventSet *wait_set = NULL;
static int	in_flight = 0;
static dlist_head wire = DLIST_STATIC_INIT(wire);
static long curl_timeout_ms = -1;	/* -1: curl wants no timer */

/*
 * Finished easy handles are kept for reuse: curl_easy_init() costs
 * several allocations per job, curl_easy_reset() none.
 */
#define HANDLE_POOL_MAX 4096
static CURL *handle_pool[HANDLE_POOL_MAX];
static int	handle_pool_len = 0;

static CURL *
get_handle(void)
{
	if (handle_pool_len > 0)
	{
		CURL	   *easy = handle_pool[--handle_pool_len];

		curl_easy_reset(easy);
		return easy;
	}
	return curl_easy_init();
}

static void
put_handle(CURL *easy)
{
	if (handle_pool_len < HANDLE_POOL_MAX)
		handle_pool[handle_pool_len++] = easy;
	else
		curl_easy_cleanup(easy);
}
static TimestampTz curl_timer_set_at = 0;

/*
 * AigovDispatchDefineGucs
 *		Defines the GUCs of the HTTP layer.
 */
void
AigovDispatchDefineGucs(void)
{
	DefineCustomIntVariable("aigov.request_timeout",
							"Sets the longest time a provider call may take.",
							NULL, &aigov_request_timeout_ms, 60000, 100, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("aigov.connect_timeout",
							"Sets the longest time to establish a connection to a provider.",
							NULL, &aigov_connect_timeout_ms, 5000, 100, 600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("aigov.max_response_bytes",
							"Sets the largest provider response body a worker accepts.",
							"A larger response fails its job as response_too_large, without a retry.",
							&aigov_max_response_bytes, 1024 * 1024, 1024,
							256 * 1024 * 1024, PGC_SIGHUP, GUC_UNIT_BYTE,
							NULL, NULL, NULL);
	DefineCustomIntVariable("aigov.max_connections",
							"Sets the most connections one worker keeps open to providers.",
							"This is the worker's file-descriptor budget for HTTP.",
							&aigov_max_connections, 4096, 1, 65536,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
}

static int64
wall_clock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* curl callbacks: no palloc, no ereport, no longjmp. */

static size_t
write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	AigovJob   *job = (AigovJob *) userp;
	size_t		n = size * nmemb;

	if (job->response_len + n > (size_t) aigov_max_response_bytes)
	{
		job->response_overflow = true;
		return 0;
	}
	if (job->response_len + n + 1 > job->response_cap)
	{
		size_t		cap = Max(job->response_cap * 2, job->response_len + n + 1);
		char	   *grown;

		/* never more than the cap allows, whatever the doubling says */
		cap = Min(Max(cap, 4096), (size_t) aigov_max_response_bytes + 1);
		grown = realloc(job->response, cap);
		if (grown == NULL)
		{
			job->response_overflow = true;
			return 0;
		}
		job->response = grown;
		job->response_cap = cap;
	}
	memcpy(job->response + job->response_len, data, n);
	job->response_len += n;
	job->response[job->response_len] = '\0';
	return n;
}

static size_t
header_cb(char *line, size_t size, size_t nitems, void *userp)
{
	AigovJob   *job = (AigovJob *) userp;
	size_t		n = size * nitems;

	job->header_bytes += n;
	if (job->header_bytes > AIGOV_MAX_RESPONSE_HEADER_BYTES)
	{
		job->headers_overflow = true;
		return 0;				/* curl fails the transfer */
	}
	if (job->header_clock_us == 0)
		job->header_clock_us = wall_clock_us();
	aigov_protocol_header_line(job->style, line, n, job->header_clock_us,
							   &job->rate);
	return n;
}

/*
 * opensocket_cb
 *		Opens the socket of a connection attempt if aigov.allowed_hosts
 *		allows its address; otherwise notes the refusal on the job and
 *		fails the attempt (curl then tries the host's other addresses).
 */
static curl_socket_t
opensocket_cb(void *clientp, curlsocktype purpose, struct curl_sockaddr *address)
{
	AigovJob   *job = (AigovJob *) clientp;

	if (purpose != CURLSOCKTYPE_IPCXN ||
		!AigovEgressAllowsSockaddr(job->host, &address->addr, job->refused_addr,
								   sizeof(job->refused_addr)))
	{
		job->host_refused = true;
		return CURL_SOCKET_BAD;
	}
	job->host_opened = true;
	return socket(address->family, address->socktype | SOCK_CLOEXEC,
				  address->protocol);
}

/*
 * prereq_cb
 *		Runs each time libcurl is about to send the request, once its
 *		connection is up.  Lets the first send of a transfer through and
 *		aborts any further one, which is libcurl resending the request on
 *		its own after a reused connection died.
 */
static int
prereq_cb(void *clientp, char *conn_primary_ip, char *conn_local_ip,
		  int conn_primary_port, int conn_local_port)
{
	AigovJob   *job = (AigovJob *) clientp;

	if (job->sends++ > 0)
	{
		job->resend_refused = true;
		return CURL_PREREQFUNC_ABORT;
	}
	return CURL_PREREQFUNC_OK;
}

/*
 * free_headers
 *		Zeroes every line of a call's header list (one holds the key's
 *		secret) and frees it.
 */
static void
free_headers(AigovJob *job)
{
	for (struct curl_slist *h = job->headers; h != NULL; h = h->next)
		explicit_bzero(h->data, strlen(h->data));
	curl_slist_free_all((struct curl_slist *) job->headers);
	job->headers = NULL;
}

static int
socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct epoll_event ev;

	if (what == CURL_POLL_REMOVE)
	{
		(void) epoll_ctl(epoll_fd, EPOLL_CTL_DEL, s, NULL);
		curl_multi_assign(multi, s, NULL);
		return 0;
	}

	memset(&ev, 0, sizeof(ev));
	ev.data.fd = s;
	if (what & CURL_POLL_IN)
		ev.events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev.events |= EPOLLOUT;

	if (socketp == NULL)
	{
		if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, s, &ev) != 0 && errno == EEXIST)
			(void) epoll_ctl(epoll_fd, EPOLL_CTL_MOD, s, &ev);
		curl_multi_assign(multi, s, (void *) 1);
	}
	else if (epoll_ctl(epoll_fd, EPOLL_CTL_MOD, s, &ev) != 0 && errno == ENOENT)
		(void) epoll_ctl(epoll_fd, EPOLL_CTL_ADD, s, &ev);
	return 0;
}

static int
timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	curl_timeout_ms = timeout_ms;
	curl_timer_set_at = GetCurrentTimestamp();
	return 0;
}

/*
 * raise_fd_limit
 *		Lifts the soft file-descriptor limit to the hard one: thousands of
 *		provider connections need more than the usual 1024, and these
 *		sockets are outside PostgreSQL's own fd accounting.
 */
static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
	{
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			ereport(LOG,
					(errmsg("could not raise the open-files limit: %m")));
	}
}

/*
 * AigovDispatchStart
 *		Creates the curl multi handle, the epoll set and the wait set.
 *		Called once per worker process.
 */
void
AigovDispatchStart(void)
{
	if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK)
		elog(ERROR, "could not initialize libcurl");

	raise_fd_limit();

	epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (epoll_fd < 0)
		elog(ERROR, "could not create epoll set: %m");

	multi = curl_multi_init();
	if (multi == NULL)
		elog(ERROR, "could not create a curl multi handle");
	curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	AigovDispatchApplySettings();

	wait_set = CreateWaitEventSet(TopMemoryContext, 3);
	AddWaitEventToSet(wait_set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(wait_set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	AddWaitEventToSet(wait_set, WL_SOCKET_READABLE, epoll_fd, NULL, NULL);
}

/*
 * AigovDispatchApplySettings
 *		Applies the connection budget after a configuration reload.
 */
void
AigovDispatchApplySettings(void)
{
	if (multi == NULL)
		return;
	curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long) aigov_max_connections);
	curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long) aigov_max_connections);
}

/*
 * AigovDispatchStop
 *		Releases the multi handle; transfers must be gone already.
 */
void
AigovDispatchStop(void)
{
	while (handle_pool_len > 0)
		curl_easy_cleanup(handle_pool[--handle_pool_len]);
	if (multi != NULL)
		curl_multi_cleanup(multi);
	multi = NULL;
	if (epoll_fd >= 0)
		close(epoll_fd);
	epoll_fd = -1;
}

/*
 * AigovDispatchSend
 *		Puts one job on the wire.  The job's style, request_body and
 *		routing fields must be set; headers are copied by libcurl.  The
 *		secret only ever lives in the header list, never in a message.
 */
void
AigovDispatchSend(AigovJob *job, const char *url, const char *auth_header,
				  const char *extra_header)
{
	CURL	   *easy = get_handle();
	struct curl_slist *headers = NULL;
	char		idem[128];
	CURLMcode	mc;

	if (easy == NULL)
		elog(ERROR, "could not create a curl handle");

	/*
	 * The same for every call of the job, a retry after a crash included, so
	 * a provider can recognise a repeat; the installation's id keeps the key
	 * from repeating when job ids start again in a recreated extension.
	 */
	if (snprintf(idem, sizeof(idem), "Idempotency-Key: aigov-%s-" INT64_FORMAT,
				 job->installation, job->id) >= (int) sizeof(idem))
		elog(ERROR, "Idempotency-Key of job " INT64_FORMAT " does not fit", job->id);
	headers = curl_slist_append(headers, "Content-Type: application/json");
	headers = curl_slist_append(headers, "Expect:");
	headers = curl_slist_append(headers, idem);
	headers = curl_slist_append(headers, auth_header);
	if (extra_header != NULL)
		headers = curl_slist_append(headers, extra_header);
	if (headers == NULL)
		elog(ERROR, "could not build request headers");

	aigov_protocol_headers_init(&job->rate);
	job->easy = easy;
	job->headers = headers;
	job->response = NULL;
	job->response_len = job->response_cap = 0;
	job->response_overflow = false;
	job->header_bytes = 0;
	job->headers_overflow = false;
	job->header_clock_us = 0;
	job->transport_error = AIGOV_TRANSPORT_NONE;
	job->http_status = 0;
	job->transport_message[0] = '\0';
	job->host_refused = job->host_opened = false;
	job->refused_addr[0] = '\0';
	job->sends = 0;
	job->resend_refused = false;
	job->started_at = GetCurrentTimestamp();

	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(easy, CURLOPT_POST, 1L);
	curl_easy_setopt(easy, CURLOPT_POSTFIELDS, job->request_body);
	curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long) strlen(job->request_body));
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, job);
	curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, job);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, job);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long) aigov_request_timeout_ms);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, (long) aigov_connect_timeout_ms);
	curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) aigov_max_response_bytes);
	curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, opensocket_cb);
	curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, job);
	curl_easy_setopt(easy, CURLOPT_PREREQFUNCTION, prereq_cb);
	curl_easy_setopt(easy, CURLOPT_PREREQDATA, job);
	curl_easy_setopt(easy, CURLOPT_USERAGENT, "aigov/" AIGOV_VERSION);

	mc = curl_multi_add_handle(multi, easy);
	if (mc != CURLM_OK)
		elog(ERROR, "could not start a provider call: %s", curl_multi_strerror(mc));
	in_flight++;
	dlist_push_tail(&wire, &job->wire_node);
}

/*
 * AigovDispatchCallBudget
 *		How many calls a worker may keep in flight: the configured number,
 *		lowered so that as many replies of aigov.max_response_bytes fit in
 *		AIGOV_RESPONSE_MEMORY_BUDGET.  Logs a warning once per setting that
 *		is lowered.
 */
int
AigovDispatchCallBudget(int configured)
{
	static int	warned_configured = 0;
	static int	warned_bytes = 0;
	int64		fit = AIGOV_RESPONSE_MEMORY_BUDGET / Max(aigov_max_response_bytes, 1);

	if ((int64) configured <= fit)
		return configured;
	if (warned_configured != configured || warned_bytes != aigov_max_response_bytes)
	{
		ereport(WARNING,
				(errmsg("aigov keeps at most %d calls in flight per worker, not %d",
						(int) fit, configured),
				 errdetail("%d replies of up to %d bytes (aigov.max_response_bytes) would need more than %lld bytes of memory.",
						   configured, aigov_max_response_bytes,
						   (long long) AIGOV_RESPONSE_MEMORY_BUDGET),
				 errhint("Lower \"aigov.max_in_flight\" or \"aigov.max_response_bytes\".")));
		warned_configured = configured;
		warned_bytes = aigov_max_response_bytes;
	}
	return (int) fit;
}

int
AigovDispatchInFlight(void)
{
	return in_flight;
}

/*
 * transport_error_of
 *		Maps a libcurl result to the transport classes of protocol.h.
 */
static int
transport_error_of(AigovJob *job, CURLcode rc)
{
	switch (rc)
	{
		case CURLE_OK:
			return AIGOV_TRANSPORT_NONE;
		case CURLE_OPERATION_TIMEDOUT:
			return AIGOV_TRANSPORT_TIMEOUT;
		case CURLE_FILESIZE_EXCEEDED:
			/* the announced Content-Length is over the cap */
			return AIGOV_TRANSPORT_TOO_LARGE;
		case CURLE_WRITE_ERROR:
		case CURLE_PARTIAL_FILE:
			return AIGOV_TRANSPORT_TRUNCATED;
		case CURLE_ABORTED_BY_CALLBACK:
			/* prereq_cb refused a resend: the connection died first */
			return AIGOV_TRANSPORT_CONNECTION;
		default:
			return AIGOV_TRANSPORT_CONNECTION;
	}
}

/*
 * collect_done
 *		Moves every finished transfer to the done list.
 */
static void
collect_done(dlist_head *done)
{
	CURLMsg    *msg;
	int			left;

	while ((msg = curl_multi_info_read(multi, &left)) != NULL)
	{
		AigovJob   *job = NULL;
		CURL	   *easy;

		if (msg->msg != CURLMSG_DONE)
			continue;
		easy = msg->easy_handle;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **) &job);
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &job->http_status);
		job->transport_error = transport_error_of(job, msg->data.result);
		if (job->response_overflow || job->headers_overflow)
			job->transport_error = AIGOV_TRANSPORT_TOO_LARGE;
		if (job->headers_overflow)
			snprintf(job->transport_message, sizeof(job->transport_message),
					 "response headers exceed %d bytes",
					 AIGOV_MAX_RESPONSE_HEADER_BYTES);
		else if (job->response_overflow ||
				 msg->data.result == CURLE_FILESIZE_EXCEEDED)
			snprintf(job->transport_message, sizeof(job->transport_message),
					 "response exceeds aigov.max_response_bytes (%d bytes)",
					 aigov_max_response_bytes);
		else if (job->resend_refused)
			strlcpy(job->transport_message,
					"connection closed before any reply; the request was not sent again",
					sizeof(job->transport_message));
		else if (msg->data.result != CURLE_OK)
			strlcpy(job->transport_message, curl_easy_strerror(msg->data.result),
					sizeof(job->transport_message));
		job->finished_at = GetCurrentTimestamp();
		if (job->header_clock_us == 0)
			job->header_clock_us = wall_clock_us();
		curl_multi_remove_handle(multi, easy);
		put_handle(easy);
		job->easy = NULL;
		free_headers(job);
		in_flight--;
		dlist_delete(&job->wire_node);
		dlist_push_tail(done, &job->node);
	}
}

/*
 * drive_sockets
 *		Hands every ready socket of the epoll set to curl.
 */
static void
drive_sockets(void)
{
	struct epoll_event events[EPOLL_BATCH];
	int			n;
	int			running;

	do
	{
		n = epoll_wait(epoll_fd, events, EPOLL_BATCH, 0);
		for (int i = 0; i < n; i++)
		{
			int			mask = 0;

			if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				mask |= CURL_CSELECT_IN;
			if (events[i].events & EPOLLOUT)
				mask |= CURL_CSELECT_OUT;
			if (events[i].events & EPOLLERR)
				mask |= CURL_CSELECT_ERR;
			curl_multi_socket_action(multi, events[i].data.fd, mask, &running);
		}
	} while (n == EPOLL_BATCH);
}

/*
 * curl_timer_remaining_ms
 *		Milliseconds until curl's timer fires: 0 if due, -1 if none.
 */
static long
curl_timer_remaining_ms(void)
{
	long		elapsed;

	if (curl_timeout_ms < 0)
		return -1;
	elapsed = (long) TimestampDifferenceMilliseconds(curl_timer_set_at,
													 GetCurrentTimestamp());
	return Max(curl_timeout_ms - elapsed, 0);
}

/*
 * AigovDispatchWait
 *		Sleeps until a socket is ready, curl's timer fires, the latch is set
 *		or timeout_ms passes (bounded so interrupts are seen promptly),
 *		drives curl, and appends finished jobs to done.  Returns true if the
 *		latch was set.
 */
bool
AigovDispatchWait(long timeout_ms, dlist_head *done)
{
	WaitEvent	events[3];
	long		timer = curl_timer_remaining_ms();
	int			nevents;
	bool		latch_set = false;
	int			running;

	if (timer >= 0 && timer < timeout_ms)
		timeout_ms = timer;
	timeout_ms = Min(Max(timeout_ms, 0), 100);

	nevents = WaitEventSetWait(wait_set, timeout_ms, events, lengthof(events),
							   PG_WAIT_EXTENSION);
	for (int i = 0; i < nevents; i++)
	{
		if (events[i].events & WL_LATCH_SET)
		{
			ResetLatch(MyLatch);
			latch_set = true;
		}
		if (events[i].events & WL_SOCKET_READABLE)
			drive_sockets();
	}

	if (curl_timer_remaining_ms() == 0)
	{
		curl_timeout_ms = -1;
		curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
	collect_done(done);
	return latch_set;
}

/*
 * AigovDispatchAbortAll
 *		Cancels every transfer in flight and appends its job to aborted,
 *		for a worker that must stop before they finish.
 */
void
AigovDispatchAbortAll(dlist_head *aborted)
{
	dlist_mutable_iter iter;

	dlist_foreach_modify(iter, &wire)
	{
		AigovJob   *job = dlist_container(AigovJob, wire_node, iter.cur);

		curl_multi_remove_handle(multi, (CURL *) job->easy);
		curl_easy_cleanup((CURL *) job->easy);
		job->easy = NULL;
		free_headers(job);
		in_flight--;
		dlist_delete(&job->wire_node);
		dlist_push_tail(aborted, &job->node);
	}
}

/*
 * AigovDispatchReleaseTransfer
 *		Frees the malloc'd buffers of a finished job.
 */
void
AigovDispatchReleaseTransfer(AigovJob *job)
{
	free(job->response);
	job->response = NULL;
	job->response_len = job->response_cap = 0;
	if (job->request_body_owned)
		free(job->request_body);
	job->request_body = NULL;
	job->request_body_owned = false;
}
