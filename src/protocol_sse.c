/*-------------------------------------------------------------------------
 * protocol_sse.c
 *	  A reader of Server-Sent Events bodies.
 *
 * aigov does not stream, but a provider may answer with an event stream
 * anyway (a proxy that forces it, or an error reported as an "error"
 * event).  The dialect files walk such a body event by event with
 * aigov_protocol_sse_next(), which only points into the body, and parse
 * an event's data with aigov_protocol_sse_json().
 *
 * IDENTIFICATION
 *	  src/protocol_sse.c
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include <jansson.h>

#include "protocol_int.h"


/*
 * Is this body a Server-Sent Events stream?  Trust the Content-Type when
 * we have it; otherwise sniff, since no JSON document starts with an SSE
 * field name or comment.
 */
bool
aigov_protocol_looks_like_sse(const AigovRateHeaders *h, const char *body,
							  size_t len)
{
	size_t		i = 0;

	if (h != NULL && h->event_stream)
		return true;
	if (body == NULL)
		return false;
	if (len >= 3 && memcmp(body, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	while (i < len && (body[i] == ' ' || body[i] == '\t' ||
					   body[i] == '\r' || body[i] == '\n'))
		i++;
	return ci_prefix(body + i, len - i, "data:") ||
		ci_prefix(body + i, len - i, "event:") ||
		(i < len && body[i] == ':');
}

/*
 * One line of [p, end): returns its length without the line end and sets
 * *next past the line end (\n, \r\n or \r, as SSE allows).
 */
static size_t
next_line(const char *p, const char *end, const char **next)
{
	const char *q = p;

	while (q < end && *q != '\n' && *q != '\r')
		q++;
	*next = q;
	if (q < end && *q == '\r')
	{
		*next = q + 1;
		if (*next < end && **next == '\n')
			(*next)++;
	}
	else if (q < end)
		*next = q + 1;
	return (size_t) (q - p);
}

/* Split an SSE line into field name and value (one leading space off). */
static void
split_field(const char *line, size_t len, size_t *flen, const char **val,
			size_t *vlen)
{
	size_t		c = 0;

	while (c < len && line[c] != ':')
		c++;
	*flen = c;
	if (c == len)
	{
		*val = line + len;
		*vlen = 0;
		return;
	}
	c++;
	if (c < len && line[c] == ' ')
		c++;
	*val = line + c;
	*vlen = len - c;
}

/*
 * Iterate the events of an SSE body: returns the event starting at *pos
 * and advances *pos, or false at the end.  An event is dispatched on a
 * blank line, or at the end of the body (a stream cut short still yields
 * its last event; the dialects detect truncation by the missing terminal
 * event).  Comment lines and unknown fields are skipped.
 */
bool
aigov_protocol_sse_next(const char *body, size_t len, size_t *pos,
						AigovSseEvent *ev)
{
	const char *p;
	const char *end;
	bool		any = false;

	if (body == NULL || *pos >= len)
		return false;
	p = body + *pos;
	end = body + len;
	ev->name = "message";
	ev->name_len = 7;
	ev->data = NULL;
	ev->data_span = 0;
	ev->data_lines = 0;
	while (p < end)
	{
		const char *next;
		size_t		ll = next_line(p, end, &next);
		size_t		flen;
		const char *val;
		size_t		vlen;

		if (ll == 0)
		{
			p = next;
			if (any)
				break;
			continue;
		}
		if (p[0] != ':')
		{
			split_field(p, ll, &flen, &val, &vlen);
			if (aigov_protocol_ci_equal(p, flen, "event"))
			{
				ev->name = val;
				ev->name_len = vlen;
				any = true;
			}
			else if (aigov_protocol_ci_equal(p, flen, "data"))
			{
				if (ev->data_lines == 0)
					ev->data = val;
				ev->data_span = (size_t) (val + vlen - ev->data);
				ev->data_lines++;
				any = true;
			}
		}
		p = next;
	}
	*pos = (size_t) (p - body);
	return any;
}

/* Reader state for feeding multi-line SSE data to jansson. */
typedef struct SseReader
{
	const char *p;				/* next unread byte of the current value */
	const char *vend;			/* end of the current value */
	const char *scan;			/* start of the next line to look at */
	const char *end;			/* end of the event's data span */
	bool		pending_nl;		/* emit the '\n' joining two values */
} SseReader;

/*
 * json_load_callback reader: yields the values of the event's data lines
 * joined by '\n', as the SSE spec assembles them, without copying the
 * body.
 */
static size_t
sse_reader(void *buffer, size_t buflen, void *arg)
{
	SseReader  *r = arg;
	char	   *out = buffer;
	size_t		o = 0;

	while (o < buflen)
	{
		bool		found = false;

		if (r->pending_nl)
		{
			out[o++] = '\n';
			r->pending_nl = false;
			continue;
		}
		if (r->p < r->vend)
		{
			size_t		n = (size_t) (r->vend - r->p);

			if (n > buflen - o)
				n = buflen - o;
			memcpy(out + o, r->p, n);
			o += n;
			r->p += n;
			continue;
		}
		while (r->scan < r->end)
		{
			const char *line = r->scan;
			const char *next;
			size_t		ll = next_line(line, r->end, &next);
			size_t		flen;
			const char *val;
			size_t		vlen;

			r->scan = next;
			if (ll == 0 || line[0] == ':')
				continue;
			split_field(line, ll, &flen, &val, &vlen);
			if (aigov_protocol_ci_equal(line, flen, "data"))
			{
				r->p = val;
				r->vend = val + vlen;
				r->pending_nl = true;
				found = true;
				break;
			}
		}
		if (!found)
			break;
	}
	return o;
}

/*
 * Parse an event's data as JSON (a new reference, or NULL).  The usual
 * single data line is parsed in place; several lines are streamed to
 * jansson through sse_reader.
 */
struct json_t *
aigov_protocol_sse_json(const AigovSseEvent *ev)
{
	SseReader	r;
	json_error_t err;
	const char *first_end;

	if (ev->data_lines == 0)
		return NULL;
	if (ev->data_lines == 1)
		return aigov_protocol_json_parse(ev->data, ev->data_span);
	r.end = ev->data + ev->data_span;
	r.p = ev->data;
	r.vend = ev->data + next_line(ev->data, r.end, &first_end);
	r.scan = first_end;
	r.pending_nl = false;
	return json_load_callback(sse_reader, &r, JSON_REJECT_DUPLICATES, &err);
}

/* Is the event's data exactly the literal (e.g. OpenAI's "[DONE]")? */
bool
aigov_protocol_sse_data_is(const AigovSseEvent *ev, const char *literal)
{
	size_t		n = ev->data_span;

	while (n > 0 && is_ows(ev->data[n - 1]))
		n--;
	return ev->data_lines == 1 && n == strlen(literal) &&
		memcmp(ev->data, literal, n) == 0;
}
