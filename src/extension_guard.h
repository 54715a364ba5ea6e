/*-------------------------------------------------------------------------
 * extension_guard.h
 *	  A background worker's view of the extension it serves: waiting for
 *	  CREATE EXTENSION, and locking the extension before any of its tables.
 *
 * IDENTIFICATION
 *	  src/extension_guard.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_EXTENSION_GUARD_H
#define AIGOV_EXTENSION_GUARD_H

extern void AigovWaitForExtension(void);
extern void AigovLockExtension(void);

#endif							/* AIGOV_EXTENSION_GUARD_H */
