/*-------------------------------------------------------------------------
 * jansson_compat.h
 *	  Keeps jansson's json_object() from resolving to PostgreSQL's.
 *
 * The postgres executable exports a function named json_object (the SQL
 * function of that name), and the dynamic linker binds a shared library's
 * undefined json_object to it before libjansson's.  The Makefile
 * force-includes this header into every file of the extension, so calls
 * to json_object() go to aigov_json_new_object() instead, which builds the
 * object inside libjansson.  Unit tests and the emulator, which never load
 * into postgres, call jansson directly.
 *
 * IDENTIFICATION
 *	  src/jansson_compat.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_JANSSON_COMPAT_H
#define AIGOV_JANSSON_COMPAT_H

#include <jansson.h>

extern json_t *aigov_json_new_object(void);

#define json_object() aigov_json_new_object()

#endif							/* AIGOV_JANSSON_COMPAT_H */
