/*-------------------------------------------------------------------------
 * envname.h
 *	  Which environment variables an "env:NAME" secret may name: the
 *	  patterns of aigov.secret_env_names.
 *
 * Pure C11, no allocation.
 *
 * IDENTIFICATION
 *	  src/envname.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_ENVNAME_H
#define AIGOV_ENVNAME_H

#include <stdbool.h>
#include <stddef.h>

/* The longest variable name an "env:" secret may name. */
#define AIGOV_ENV_NAME_MAX 255

extern bool aigov_env_name_valid(const char *name);
extern bool aigov_env_patterns_valid(const char *patterns, char *err,
									 size_t errlen);
extern bool aigov_env_name_allowed(const char *patterns, const char *name);

#endif							/* AIGOV_ENVNAME_H */
