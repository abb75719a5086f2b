/*
 * pyrandom.h — a PRNG that reproduces CPython 3.11's `random.Random` bit for
 * bit, so tools ported from Python scripts (the fleet generator) produce the
 * same output for the same seed.
 *
 * What is reproduced, and how CPython defines it:
 *   - the generator is MT19937; Random(n) for an int n seeds it with
 *     init_by_array() over |n| split into 32-bit words, least significant
 *     first (one zero word for n = 0);
 *   - random()         53-bit float from two 32-bit outputs;
 *   - getrandbits(k)   k <= 32: the top k bits of one 32-bit output; up to
 *                      64: the low word first, then the top bits of the next;
 *   - _randbelow(n)    getrandbits(n.bit_length()) until the value is < n;
 *   - randrange(a, b), randint(a, b), choice(): built on _randbelow;
 *   - uniform(a, b)    a + (b - a) * random();
 *   - gauss(mu, sigma) Box-Muller that keeps the second value for the next
 *                      call (3.11's algorithm; 3.12 is the same).
 * Floating-point results are identical only when the C library's log, sin
 * and cos are the ones CPython calls (the same libm).
 *
 * A pyrandom is a plain value: no allocation, no destructor; one thread at
 * a time.
 */
#ifndef STRATA_PYRANDOM_H
#define STRATA_PYRANDOM_H

#include <stddef.h>
#include <stdint.h>

#define PYRANDOM_N 624

typedef struct pyrandom {
    uint32_t mt[PYRANDOM_N];
    int mti;             /* next word of mt[] to temper; N = regenerate */
    int have_gauss_next; /* gauss() holds a second value */
    double gauss_next;
} pyrandom;

/* random.Random(seed) for a seed of up to 128 bits: the magnitude is
 * (seed_hi << 64 | seed_lo); CPython ignores the sign. */
void pyrandom_seed_u128(pyrandom *r, uint64_t seed_hi, uint64_t seed_lo);
/* random.Random(seed) for any int64 seed. */
void pyrandom_seed(pyrandom *r, int64_t seed);

uint32_t pyrandom_u32(pyrandom *r);                                   /* genrand_uint32 */
double pyrandom_random(pyrandom *r);                                  /* [0, 1) */
uint64_t pyrandom_getrandbits(pyrandom *r, int k);                    /* 0 <= k <= 64 */
uint64_t pyrandom_randbelow(pyrandom *r, uint64_t n);                 /* n >= 1; [0, n) */
int64_t pyrandom_randrange(pyrandom *r, int64_t start, int64_t stop); /* start < stop */
/* a <= b, and not the whole int64 range (its width does not fit). */
int64_t pyrandom_randint(pyrandom *r, int64_t a, int64_t b);
double pyrandom_uniform(pyrandom *r, double a, double b);
double pyrandom_gauss(pyrandom *r, double mu, double sigma);
/* choice(seq) for a sequence of n >= 1 items: the index it picks. */
size_t pyrandom_choice(pyrandom *r, size_t n);

#endif
