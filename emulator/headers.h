/*-------------------------------------------------------------------------
 * headers.h
 *	  The rate-limit and retry headers of each provider.
 *
 * IDENTIFICATION
 *	  emulator/headers.h
 *-------------------------------------------------------------------------
 */
#ifndef EMU_HEADERS_H
#define EMU_HEADERS_H

#include <stdbool.h>
#include <stdint.h>

#include "emu.h"
#include "quota.h"

#define EMU_MAX_HEADERS		24
#define EMU_HEADER_NAME_MAX 56
#define EMU_HEADER_VALUE_MAX 48

typedef struct EmuHeader
{
	char		name[EMU_HEADER_NAME_MAX];
	char		value[EMU_HEADER_VALUE_MAX];
} EmuHeader;

/* A small fixed list; adds beyond EMU_MAX_HEADERS are dropped. */
typedef struct EmuHeaders
{
	int			n;
	EmuHeader	h[EMU_MAX_HEADERS];
} EmuHeaders;

extern void emu_headers_clear(EmuHeaders *hs);
extern void emu_headers_add(EmuHeaders *hs, const char *name,
							const char *fmt,...)
			__attribute__((format(printf, 3, 4)));
extern const char *emu_headers_get(const EmuHeaders *hs, const char *name);
extern void emu_headers_ratelimit(EmuProvider p, const EmuQuotaView *v,
								  int64_t wall_now_us, EmuHeaders *hs);
extern void emu_headers_sentinel(EmuProvider p, EmuHeaders *hs);
extern void emu_headers_retry(EmuProvider p, const EmuAdmit *a, bool with_ms,
							  EmuHeaders *hs);
extern int64_t emu_retry_after_seconds(int64_t wait_us);

#endif							/* EMU_HEADERS_H */
