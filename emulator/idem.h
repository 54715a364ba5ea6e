/*-------------------------------------------------------------------------
 * idem.h
 *	  A concurrent set of Idempotency-Key values already answered.
 *
 * IDENTIFICATION
 *	  emulator/idem.h
 *-------------------------------------------------------------------------
 */
#ifndef EMU_IDEM_H
#define EMU_IDEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct EmuIdemSet EmuIdemSet;

extern EmuIdemSet *emu_idem_create(void);
extern void emu_idem_destroy(EmuIdemSet *s);
extern uint64_t emu_idem_hash(const char *key, size_t len);
extern bool emu_idem_contains(EmuIdemSet *s, const char *key, size_t len);
extern bool emu_idem_insert(EmuIdemSet *s, const char *key, size_t len);
extern void emu_idem_clear(EmuIdemSet *s);
extern size_t emu_idem_count(EmuIdemSet *s);

#endif							/* EMU_IDEM_H */
