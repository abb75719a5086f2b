/*
 * pack.h — "pack", the bit-packed integer block shared by the codecs
 * ts-linear, f64-decimal and i64-pack (FORMAT.md §6.6).
 *
 * A pack holds m 64-bit words x[0..m) (wrapping two's-complement
 * arithmetic, so every sequence is representable).  The encoder picks an
 * order o (0: the values, 1: their deltas, 2: deltas of deltas), subtracts
 * the smallest residual (frame of reference) and bit-packs the rest in
 * miniblocks of 32 with one width each; the few residuals that do not fit
 * their miniblock's width keep their high bits in an exception list
 * (patched frame of reference).  A miniblock of equal residuals has width
 * 0 and costs nothing but its width field.
 *
 * Decoding is built for speed: every miniblock starts on a byte boundary
 * (32 values of w bits are 4w bytes), and is unpacked by a kernel
 * specialised for its width, with constant shifts and no branches.
 *
 * Both functions are pure; the decoder never reads outside [in, in+len).
 */
#ifndef STRATA_PACK_H
#define STRATA_PACK_H

#include <stddef.h>
#include <stdint.h>

#define PACK_MINIBLOCK 32
#define PACK_MAX_VALUES 8192 /* the most values in one pack (a chunk's limit) */

/* Even sampling: positions j * n / ns (rounded down) for j = 0, 1, ...,
 * ns - 1 (1 <= ns <= n), stepped without a division per sample.
 *   sample_even sp = sample_even_start(n, ns);
 *   for (j...) { use sp.at; sample_even_next(&sp); } */
typedef struct sample_even {
    size_t at, rem, step, rstep, ns;
} sample_even;

static inline sample_even sample_even_start(size_t n, size_t ns)
{
    return (sample_even){0, 0, n / ns, n % ns, ns};
}

static inline void sample_even_next(sample_even *sp)
{
    sp->at += sp->step;
    sp->rem += sp->rstep;
    if (sp->rem >= sp->ns) {
        sp->rem -= sp->ns;
        sp->at++;
    }
}

/* The most bytes pack_encode() writes for m values. */
size_t pack_bound(size_t m);

/* Encode the m words z[i] = x[i] - i * slope (wrapping; slope 0 packs x
 * itself), 1 <= m <= PACK_MAX_VALUES, into out (room: pack_bound(m)).
 * When x0_known is set, z[0] = x[0] is not stored: the decoder is told it.
 * Returns the bytes written. */
size_t pack_encode(const uint64_t *x, size_t m, uint64_t slope, int x0_known, uint8_t *out);

/* Decode the m words z[0..m) (1 <= m <= PACK_MAX_VALUES) of the pack at
 * the start of in[0..len) into out; x0 is z[0] when x0_known (as for the
 * encoder).
 * Returns the number of bytes the pack occupies, or -1 when the bytes are
 * not a valid pack of m values (truncated, impossible field). */
long pack_decode(const uint8_t *in, size_t len, size_t m, int x0_known, uint64_t x0,
                 uint64_t *out);

/* Benchmarks: the orders the encoder may choose from, bit o for order o
 * (order 0 is always allowed); 7, all of them, by default.  1 gives the
 * frame-of-reference packs alone, ALP's layout.  Not thread-safe. */
void pack_set_orders(unsigned mask);

/* Tests: 0 makes the decoders use their portable code even where the CPU
 * has AVX2 and FMA; 1 (the default) uses those when it has them.  Both
 * produce the same words.  Not thread-safe: call before decoding. */
void pack_set_simd(int on);

/* How pack_decode_f64 turns the decoded integers N into float64 bits; every
 * operation is IEEE-754 binary64, rounded to nearest. */
typedef struct pack_to_f64 {
    int fma;       /* q = N * m2, then fma(fma(-q, m1, N), m2, q); else (N * m1) * m2 */
    double m1, m2;
} pack_to_f64;

/* As pack_decode, then every integer, which must lie in [-2^51, 2^51)
 * (else -1), converted as `to` says, in the same pass. */
long pack_decode_f64(const uint8_t *in, size_t len, size_t m, int x0_known, uint64_t x0,
                     const pack_to_f64 *to, uint64_t *out);

/* Exact sums of m >= 1 integers x[i] (int64 words) relative to the first:
 * with d[i] = x[i] - x[0], s1 = sum d[i] and s2 = sum d[i]^2, no rounding
 * (aggregates over f64-decimal columns without converting the integers). */
typedef struct pack_sums {
    int64_t ref;          /* x[0] */
    __int128 s1;          /* sum of d[i] */
    unsigned __int128 s2; /* sum of d[i]^2 */
} pack_sums;

/* The sums of x[0..m), 1 <= m <= PACK_MAX_VALUES, every x[i] in
 * [-2^51, 2^51) (the integers pack_decode_f64 converts): 0, or -1 when one
 * lies outside. */
int pack_sums_of(const uint64_t *x, size_t m, pack_sums *out /* OUT */);

#endif
