/*
 * genrand.h — the small PRNG of the workload generators that have no
 * reference implementation to match bit for bit (devopsgen.c, flakygen.c;
 * the fleet uses pyrandom.h to match gen_fleet.py).
 *
 * xoshiro256** seeded through splitmix64.  Every derived draw uses integer
 * arithmetic and exactly rounded double operations only (no libm), so a
 * seed gives the same stream on every platform and C library:
 *   - genrand_unit()   53-bit uniform double in [0, 1);
 *   - genrand_below(n) uniform integer in [0, n), by rejection (no bias);
 *   - genrand_normal() approximately standard normal: the sum of 12
 *                      uniforms minus 6 (Irwin–Hall: mean 0, variance 1,
 *                      tails cut at ±6), which needs no log or sqrt.
 * A genrand is a plain value: no allocation; one thread at a time.
 */
#ifndef STRATA_GENRAND_H
#define STRATA_GENRAND_H

#include <stdint.h>

typedef struct genrand {
    uint64_t s[4];
} genrand;

static inline uint64_t genrand_splitmix(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Seed from (seed, stream): different streams of one seed are independent. */
static inline void genrand_seed(genrand *r, int64_t seed, uint64_t stream)
{
    uint64_t x = (uint64_t)seed ^ (stream * UINT64_C(0xD1B54A32D192ED03));
    for (int i = 0; i < 4; i++)
        r->s[i] = genrand_splitmix(&x);
}

static inline uint64_t genrand_next(genrand *r)
{
    uint64_t *s = r->s;
    uint64_t x = s[1] * 5;
    uint64_t result = ((x << 7) | (x >> 57)) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return result;
}

static inline double genrand_unit(genrand *r)
{
    return (double)(genrand_next(r) >> 11) * 0x1.0p-53;
}

/* n >= 1. */
static inline uint64_t genrand_below(genrand *r, uint64_t n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = genrand_next(r);
    while (x >= limit);
    return x % n;
}

/* Uniform integer in [lo, hi], lo <= hi. */
static inline int64_t genrand_range(genrand *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)genrand_below(r, (uint64_t)(hi - lo) + 1);
}

static inline double genrand_normal(genrand *r)
{
    double s = 0;
    for (int i = 0; i < 12; i++)
        s += genrand_unit(r);
    return s - 6.0;
}

#endif
