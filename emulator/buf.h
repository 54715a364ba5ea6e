/*-------------------------------------------------------------------------
 * buf.h
 *	  Growable byte buffer with JSON string escaping.
 *
 * IDENTIFICATION
 *	  emulator/buf.h
 *-------------------------------------------------------------------------
 */
#ifndef EMU_BUF_H
#define EMU_BUF_H

#include <stdbool.h>
#include <stddef.h>

/*
 * A heap buffer that is always NUL-terminated once anything was appended.
 * An allocation failure sets "oom" and makes every later append a no-op, so
 * builders check once at the end instead of after every call.
 */
typedef struct EmuBuf
{
	char	   *data;
	size_t		len;
	size_t		cap;
	bool		oom;
} EmuBuf;

extern void emu_buf_init(EmuBuf *b);
extern bool emu_buf_reserve(EmuBuf *b, size_t extra);
extern void emu_buf_append(EmuBuf *b, const char *s, size_t n);
extern void emu_buf_puts(EmuBuf *b, const char *s);
extern void emu_buf_printf(EmuBuf *b, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));
extern void emu_buf_json_str(EmuBuf *b, const char *s, size_t n);
extern char *emu_buf_steal(EmuBuf *b, size_t *len);
extern void emu_buf_reset(EmuBuf *b);
extern void emu_buf_free(EmuBuf *b);

#endif							/* EMU_BUF_H */
