/*-------------------------------------------------------------------------
 * server.h
 *	  The HTTP side of the emulator (libmicrohttpd glue).
 *
 * IDENTIFICATION
 *	  emulator/server.h
 *-------------------------------------------------------------------------
 */
#ifndef EMU_SERVER_H
#define EMU_SERVER_H

#include <stddef.h>

#include "config.h"

extern bool emu_server_start(EmuConfig *cfg, const char *host, int port,
							 int threads, char *err, size_t errlen);
extern int	emu_server_port(void);
extern void emu_server_set_request_log(int fd);
extern void emu_server_stop(void);

#endif							/* EMU_SERVER_H */
