/*-------------------------------------------------------------------------
 * fmt.h
 *	  Value formats of the providers' rate-limit protocols.
 *
 * IDENTIFICATION
 *	  emulator/fmt.h
 *-------------------------------------------------------------------------
 */
#ifndef EMU_FMT_H
#define EMU_FMT_H

#include <stddef.h>
#include <stdint.h>

extern size_t emu_fmt_go_duration(char *buf, size_t len, int64_t us);
extern size_t emu_fmt_wait_text(char *buf, size_t len, int64_t us);
extern size_t emu_fmt_seconds_frac(char *buf, size_t len, int64_t us);
extern size_t emu_fmt_rfc3339(char *buf, size_t len, int64_t unix_sec);
extern size_t emu_fmt_grouped(char *buf, size_t len, int64_t v);
extern int64_t emu_round_thousand(int64_t v);
extern int64_t emu_ceil_div(int64_t a, int64_t b);

#endif							/* EMU_FMT_H */
