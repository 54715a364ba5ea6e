/*-------------------------------------------------------------------------
 * satmath.h
 *	  Saturating 64-bit signed addition and subtraction.
 *
 * Clocks, token counts and sequence numbers in the pure files are int64_t
 * values that may come from a provider (a huge retry hint, a garbage
 * counter).  Sums and differences of them clamp at INT64_MIN / INT64_MAX
 * instead of overflowing, which would be undefined behaviour.
 *
 * Pure C, <stdint.h> only: safe to include from any file.
 *
 * IDENTIFICATION
 *	  src/satmath.h
 *-------------------------------------------------------------------------
 */
#ifndef AIGOV_SATMATH_H
#define AIGOV_SATMATH_H

#include <stdint.h>

/* a + b, clamped to [INT64_MIN, INT64_MAX]. */
static inline int64_t
aigov_sat_add(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	if (b < 0 && a < INT64_MIN - b)
		return INT64_MIN;
	return a + b;
}

/*
 * a - b, clamped to [INT64_MIN, INT64_MAX].  -INT64_MIN does not exist,
 * so that one subtrahend is handled before negating.
 */
static inline int64_t
aigov_sat_sub(int64_t a, int64_t b)
{
	if (b == INT64_MIN)
		return a >= 0 ? INT64_MAX : a - INT64_MIN;
	return aigov_sat_add(a, -b);
}

#endif							/* AIGOV_SATMATH_H */
