/*
 * pyrandom.c — CPython-compatible `random.Random` (see pyrandom.h): the
 * MT19937 generator with init_by_array seeding, and the few derived methods
 * the Python tools use, each written to make the same underlying calls in
 * the same order as CPython, so every draw consumes the same 32-bit words.
 *
 * Floating-point expressions are evaluated exactly as Python writes them
 * (one IEEE operation at a time, left to right); fused multiply-add would
 * change low bits, so contraction is off for this file.
 */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "tools/pyrandom.h"

#include <assert.h>
#include <math.h>

#define MT_M 397
#define MT_UPPER 0x80000000u
#define MT_LOWER 0x7fffffffu
#define MT_MATRIX_A 0x9908b0dfu

static void init_genrand(pyrandom *r, uint32_t s)
{
    r->mt[0] = s;
    for (int i = 1; i < PYRANDOM_N; i++)
        r->mt[i] = 1812433253u * (r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) + (uint32_t)i;
    r->mti = PYRANDOM_N;
}

/* The reference init_by_array: mixes every key word into the state, then
 * scrambles once more, and forces a non-zero state via mt[0]. */
static void init_by_array(pyrandom *r, const uint32_t *key, int len)
{
    uint32_t *mt = r->mt;
    init_genrand(r, 19650218u);
    int i = 1, j = 0;
    for (int k = PYRANDOM_N > len ? PYRANDOM_N : len; k > 0; k--) {
        mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1664525u)) + key[j] + (uint32_t)j;
        i++;
        j++;
        if (i >= PYRANDOM_N) {
            mt[0] = mt[PYRANDOM_N - 1];
            i = 1;
        }
        if (j >= len)
            j = 0;
    }
    for (int k = PYRANDOM_N - 1; k > 0; k--) {
        mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1566083941u)) - (uint32_t)i;
        i++;
        if (i >= PYRANDOM_N) {
            mt[0] = mt[PYRANDOM_N - 1];
            i = 1;
        }
    }
    mt[0] = 0x80000000u;
}

void pyrandom_seed_u128(pyrandom *r, uint64_t seed_hi, uint64_t seed_lo)
{
    uint32_t key[4] = {(uint32_t)seed_lo, (uint32_t)(seed_lo >> 32), (uint32_t)seed_hi,
                       (uint32_t)(seed_hi >> 32)};
    int len = 4;
    while (len > 1 && key[len - 1] == 0)
        len--;
    init_by_array(r, key, len);
    r->have_gauss_next = 0;
    r->gauss_next = 0.0;
}

void pyrandom_seed(pyrandom *r, int64_t seed)
{
    uint64_t mag = seed < 0 ? 0 - (uint64_t)seed : (uint64_t)seed;
    pyrandom_seed_u128(r, 0, mag);
}

static void regenerate(pyrandom *r)
{
    uint32_t *mt = r->mt;
    int k;
    for (k = 0; k < PYRANDOM_N - MT_M; k++) {
        uint32_t y = (mt[k] & MT_UPPER) | (mt[k + 1] & MT_LOWER);
        mt[k] = mt[k + MT_M] ^ (y >> 1) ^ ((y & 1u) ? MT_MATRIX_A : 0u);
    }
    for (; k < PYRANDOM_N - 1; k++) {
        uint32_t y = (mt[k] & MT_UPPER) | (mt[k + 1] & MT_LOWER);
        mt[k] = mt[k + (MT_M - PYRANDOM_N)] ^ (y >> 1) ^ ((y & 1u) ? MT_MATRIX_A : 0u);
    }
    uint32_t y = (mt[PYRANDOM_N - 1] & MT_UPPER) | (mt[0] & MT_LOWER);
    mt[PYRANDOM_N - 1] = mt[MT_M - 1] ^ (y >> 1) ^ ((y & 1u) ? MT_MATRIX_A : 0u);
    r->mti = 0;
}

/* genrand_uint32, inlined into the callers below: it is the hot path. */
static inline uint32_t next_u32(pyrandom *r)
{
    if (__builtin_expect(r->mti >= PYRANDOM_N, 0))
        regenerate(r);
    uint32_t y = r->mt[r->mti++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

uint32_t pyrandom_u32(pyrandom *r)
{
    return next_u32(r);
}

double pyrandom_random(pyrandom *r)
{
    uint32_t a = next_u32(r) >> 5;
    uint32_t b = next_u32(r) >> 6;
    return ((double)a * 67108864.0 + (double)b) * (1.0 / 9007199254740992.0);
}

uint64_t pyrandom_getrandbits(pyrandom *r, int k)
{
    if (k <= 0)
        return 0;
    if (k <= 32)
        return next_u32(r) >> (32 - k);
    uint64_t lo = next_u32(r);
    uint64_t hi = next_u32(r) >> (64 - k);
    return hi << 32 | lo;
}

uint64_t pyrandom_randbelow(pyrandom *r, uint64_t n)
{
    assert(n >= 1);
    int k = 64 - __builtin_clzll(n); /* n.bit_length(), n >= 1 */
    uint64_t v = pyrandom_getrandbits(r, k);
    while (v >= n)
        v = pyrandom_getrandbits(r, k);
    return v;
}

int64_t pyrandom_randrange(pyrandom *r, int64_t start, int64_t stop)
{
    uint64_t width = (uint64_t)stop - (uint64_t)start;
    return (int64_t)((uint64_t)start + pyrandom_randbelow(r, width));
}

int64_t pyrandom_randint(pyrandom *r, int64_t a, int64_t b)
{
    uint64_t width = (uint64_t)b - (uint64_t)a + 1;
    return (int64_t)((uint64_t)a + pyrandom_randbelow(r, width));
}

size_t pyrandom_choice(pyrandom *r, size_t n)
{
    return (size_t)pyrandom_randbelow(r, n);
}

double pyrandom_uniform(pyrandom *r, double a, double b)
{
    return a + (b - a) * pyrandom_random(r);
}

double pyrandom_gauss(pyrandom *r, double mu, double sigma)
{
    double z;
    if (r->have_gauss_next) {
        z = r->gauss_next;
        r->have_gauss_next = 0;
    } else {
        double x2pi = pyrandom_random(r) * (2.0 * M_PI);
        double g2rad = sqrt(-2.0 * log(1.0 - pyrandom_random(r)));
        z = cos(x2pi) * g2rad;
        /* Python calls cos() and sin() separately; the volatile copy keeps
         * the compiler from merging them into one sincos() call, which need
         * not round the same way in every libm. */
        volatile double x2pi_again = x2pi;
        r->gauss_next = sin(x2pi_again) * g2rad;
        r->have_gauss_next = 1;
    }
    return mu + z * sigma;
}
