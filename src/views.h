/*-------------------------------------------------------------------------
 * views.h
 *	  Set-returning functions over the live state in shared memory.
 *
 * IDENTIFICATION
 *	  src/views.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_VIEWS_H
#define AIGOV_VIEWS_H

#include "postgres.h"

#include "fmgr.h"

extern Datum aigov_key_state(PG_FUNCTION_ARGS);
extern Datum aigov_tenant_state(PG_FUNCTION_ARGS);
extern Datum aigov_throttle_state(PG_FUNCTION_ARGS);

#endif							/* AIGOV_VIEWS_H */
