/*-------------------------------------------------------------------------
 * buf.c
 *	  Growable byte buffer with JSON string escaping.
 *
 * Response bodies are written straight into one of these with printf-style
 * calls: it is much cheaper than building a jansson tree and dumping it,
 * which matters at tens of thousands of replies per second.
 *
 * IDENTIFICATION
 *	  emulator/buf.c
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "emu.h"

static const char *const provider_names[EMU_PROVIDER_COUNT] = {
	"openai", "anthropic", "gemini", "azure"
};

static const char *const dim_names[EMU_DIM_COUNT] = {
	"rpm", "tpm", "itpm", "otpm", "rpd", "tpd"
};

/* Name of a provider as used in the config file and the admin API. */
const char *
emu_provider_name(EmuProvider p)
{
	if ((int) p < 0 || p >= EMU_PROVIDER_COUNT)
		return "unknown";
	return provider_names[p];
}

/* Inverse of emu_provider_name; false for an unknown name. */
bool
emu_provider_from_name(const char *name, EmuProvider *out)
{
	for (int i = 0; i < EMU_PROVIDER_COUNT; i++)
	{
		if (strcmp(name, provider_names[i]) == 0)
		{
			*out = (EmuProvider) i;
			return true;
		}
	}
	return false;
}

/* Lower-case name of a quota dimension ("rpm", "itpm", ...). */
const char *
emu_dim_name(EmuDim d)
{
	if ((int) d < 0 || d >= EMU_DIM_COUNT)
		return "unknown";
	return dim_names[d];
}

void
emu_buf_init(EmuBuf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->oom = false;
}

/*
 * Make room for "extra" more bytes plus the terminating NUL.  Returns false
 * (and sets oom) when memory runs out.
 */
bool
emu_buf_reserve(EmuBuf *b, size_t extra)
{
	size_t		need;
	size_t		ncap;
	char	   *nd;

	if (b->oom)
		return false;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return true;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need)
		ncap *= 2;
	nd = realloc(b->data, ncap);
	if (nd == NULL)
	{
		b->oom = true;
		return false;
	}
	b->data = nd;
	b->cap = ncap;
	return true;
}

void
emu_buf_append(EmuBuf *b, const char *s, size_t n)
{
	if (!emu_buf_reserve(b, n))
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
emu_buf_puts(EmuBuf *b, const char *s)
{
	emu_buf_append(b, s, strlen(s));
}

void
emu_buf_printf(EmuBuf *b, const char *fmt,...)
{
	va_list		ap;
	int			n;

	if (!emu_buf_reserve(b, 128))
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
	{
		b->oom = true;
		return;
	}
	if ((size_t) n >= b->cap - b->len)
	{
		if (!emu_buf_reserve(b, (size_t) n))
			return;
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t) n;
}

/*
 * Append s[0..n) as a quoted JSON string.  The input is assumed to be
 * UTF-8 (it comes from jansson, which validates); only the characters JSON
 * requires are escaped.
 */
void
emu_buf_json_str(EmuBuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	/* worst case every byte becomes \u00XX */
	if (!emu_buf_reserve(b, n * 6 + 2))
		return;
	b->data[b->len++] = '"';
	for (size_t i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) s[i];

		switch (c)
		{
			case '"':
				b->data[b->len++] = '\\';
				b->data[b->len++] = '"';
				break;
			case '\\':
				b->data[b->len++] = '\\';
				b->data[b->len++] = '\\';
				break;
			case '\n':
				b->data[b->len++] = '\\';
				b->data[b->len++] = 'n';
				break;
			case '\r':
				b->data[b->len++] = '\\';
				b->data[b->len++] = 'r';
				break;
			case '\t':
				b->data[b->len++] = '\\';
				b->data[b->len++] = 't';
				break;
			default:
				if (c < 0x20)
				{
					b->data[b->len++] = '\\';
					b->data[b->len++] = 'u';
					b->data[b->len++] = '0';
					b->data[b->len++] = '0';
					b->data[b->len++] = hex[c >> 4];
					b->data[b->len++] = hex[c & 15];
				}
				else
					b->data[b->len++] = (char) c;
				break;
		}
	}
	b->data[b->len++] = '"';
	b->data[b->len] = '\0';
}

/*
 * Hand the buffer's memory to the caller (who frees it with free()) and
 * leave the buffer empty.  Returns NULL after an allocation failure.
 */
char *
emu_buf_steal(EmuBuf *b, size_t *len)
{
	char	   *d = b->data;

	if (b->oom)
	{
		free(b->data);
		d = NULL;
	}
	else if (d == NULL)
	{
		d = malloc(1);
		if (d != NULL)
			d[0] = '\0';
	}
	if (len != NULL)
		*len = b->oom ? 0 : b->len;
	emu_buf_init(b);
	return d;
}

/* Empty the buffer but keep its memory. */
void
emu_buf_reset(EmuBuf *b)
{
	b->len = 0;
	b->oom = false;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void
emu_buf_free(EmuBuf *b)
{
	free(b->data);
	emu_buf_init(b);
}
