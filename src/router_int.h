/*-------------------------------------------------------------------------
 * router_int.h
 *	  What router.c and router_learn.c share, private to the two.
 *
 * IDENTIFICATION
 *	  src/router_int.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_ROUTER_INT_H
#define AIGOV_ROUTER_INT_H

#include <stdint.h>

#include "router.h"

static inline int64_t
max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

extern void aigov_router_apply_limits(AigovKeyState *key, int64_t now_us);

#endif							/* AIGOV_ROUTER_INT_H */
