/*
 * tmath.h — floors of times that never overflow: division rounding towards
 * minus infinity (in 64 or 128 bits), and the bucket of width w that holds
 * a time.
 * Times near INT64_MIN have a bucket whose start lies below it: that start
 * is reported as INT64_MIN (the first bucket, in every use here).
 */
#ifndef STRATA_TMATH_H
#define STRATA_TMATH_H

#include <stdint.h>

/* floor(a / b) for b > 0, in 128 bits (for times already moved by an
 * offset, which may leave int64). */
static inline __int128 t_floor_div128(__int128 a, int64_t b)
{
    __int128 q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* floor(a / b) for b > 0. */
static inline int64_t t_floor_div(int64_t a, int64_t b)
{
    return (int64_t)t_floor_div128(a, b);
}

/* The largest multiple of w (> 0) not above t, or INT64_MIN when that lies
 * below INT64_MIN. */
static inline int64_t t_floor_to(int64_t t, int64_t w)
{
    __int128 r = t_floor_div128(t, w) * w;
    return r < INT64_MIN ? INT64_MIN : (int64_t)r;
}

#endif
