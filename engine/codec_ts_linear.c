/*
 * codec_ts_linear.c — CODEC_TS_LINEAR: timestamps as the line from the
 * chunk's first to its last timestamp plus packed residuals, FORMAT.md
 * §6.7.
 *
 *   column := empty                    the line: ts[i] = tmin + i s
 *           | u:u8  pack(z[0..n))      ts[i] = tmin + (z[i] + i s') 10^u
 *
 * The index entry already holds tmin and tmax, and the decoder is told
 * them, so a device that reports on a constant stride costs nothing: with
 * s = (tmax - tmin) / (n - 1) (unsigned, truncating) the column is empty.
 * Otherwise the offsets d[i] = (ts[i] - tmin) / 10^u, in the largest unit
 * 10^u ns (u <= 9) that divides all of them, go into a pack (pack.h) as
 * z[i] = d[i] - i s', s' = d[n-1] / (n - 1), with z[0] = 0 known: clock
 * jitter of whole milliseconds around a stride leaves small z (a frame of
 * reference of a few bits), gaps and irregular sampling leave steps the
 * pack stores as deltas, the large ones as exceptions.
 *
 * All arithmetic wraps in 64 bits, so any sequence of words round-trips.
 * Invariants: an empty column decodes only when (tmax - tmin) is a multiple
 * of n - 1 (n = 1: when tmin = tmax); otherwise u <= 9, 10^u divides
 * tmax - tmin, and the rest is exactly one pack of n values.
 */
#include "engine/codec.h"
#include "engine/pack.h"

#include <string.h>

#define MAX_UNIT 9

static const uint64_t pow10u[MAX_UNIT + 1] = {
    1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000};
static const uint64_t pow5u[MAX_UNIT + 1] = {1,    5,     25,    125,    625,
                                             3125, 15625, 78125, 390625, 1953125};

/* Divisibility by 10^u and exact division without a division per value
 * (a 64-bit divide costs tens of cycles; the encoder tests every offset):
 * 10^u = 2^u 5^u; the low u bits give the first factor, and an odd m
 * divides x exactly when x * m^-1 (mod 2^64) <= (2^64 - 1) / m. */
typedef struct div10 {
    unsigned u;
    uint64_t inv, lim, low;
} div10;

static div10 div10_of(unsigned u)
{
    uint64_t m = pow5u[u], inv = m; /* m * m = 1 (mod 8): 3 bits, doubled by each step */
    for (int i = 0; i < 5; i++)
        inv *= 2 - m * inv;
    return (div10){u, inv, UINT64_MAX / m, (1ull << u) - 1};
}

static inline int div10_divides(const div10 *d, uint64_t x)
{
    return !(x & d->low) && x * d->inv <= d->lim;
}

/* x / 10^u for an x that 10^u divides. */
static inline uint64_t div10_exact(const div10 *d, uint64_t x)
{
    return (x >> d->u) * d->inv;
}

typedef uint64_t u64x2 __attribute__((vector_size(16)));

/* out[i] = t0 + i s, or with add out[i] = t0 + (out[i] + i s) * k: two at
 * a time (the width every x86-64 CPU has) when k is 1. */
static void line(uint64_t *out, size_t n, uint64_t t0, uint64_t s, int add, uint64_t k)
{
    size_t i = 0;
    if (k == 1) {
        u64x2 v = {t0, t0 + s}, step = {2 * s, 2 * s};
        for (; i + 2 <= n; i += 2) {
            u64x2 o = v;
            if (add) {
                memcpy(&o, out + i, sizeof o);
                o += v;
            }
            memcpy(out + i, &o, sizeof o);
            v += step;
        }
    }
    for (; i < n; i++)
        out[i] = t0 + ((add ? out[i] : 0) + i * s) * k;
}

/* Room: the pack, and the offsets as working space after it. */
static size_t linear_bound(size_t n)
{
    return n <= 1 ? 0 : 1 + pack_bound(n) + 8 + 8 * n;
}

static size_t linear_encode(const uint64_t *in, size_t n, uint8_t *out)
{
    if (n <= 1)
        return 0;
    if (n > PACK_MAX_VALUES)
        return CODEC_NA;
    uint64_t s = (in[n - 1] - in[0]) / (n - 1);
    int exact = 1;
    for (size_t i = 0; i < n && exact; i++)
        exact = in[i] == in[0] + i * s;
    if (exact)
        return 0;
    div10 q = div10_of(MAX_UNIT);
    for (size_t i = 1; i < n && q.u > 0; i++)
        while (q.u > 0 && !div10_divides(&q, in[i] - in[0]))
            q = div10_of(q.u - 1);
    uintptr_t at = ((uintptr_t)(out + 1 + pack_bound(n)) + 7) & ~(uintptr_t)7;
    uint64_t *d = (uint64_t *)at;
    for (size_t i = 0; i < n; i++)
        d[i] = div10_exact(&q, in[i] - in[0]);
    out[0] = (uint8_t)q.u;
    return 1 + pack_encode(d, n, d[n - 1] / (n - 1), 1, out + 1);
}

static int linear_decode(const uint8_t *in, size_t len, size_t n, const codec_ends *ends,
                         uint64_t *out)
{
    if (n == 0)
        return len == 0 ? 0 : -1;
    if (!ends)
        return -1;
    uint64_t t0 = ends->first, span = ends->last - t0;
    if (n == 1) {
        out[0] = t0;
        return len == 0 && span == 0 ? 0 : -1;
    }
    if (len == 0) {
        if (span % (n - 1) != 0)
            return -1;
        line(out, n, t0, span / (n - 1), 0, 1);
        return 0;
    }
    unsigned u = in[0];
    if (u > MAX_UNIT || span % pow10u[u] != 0)
        return -1;
    if (pack_decode(in + 1, len - 1, n, 1, 0, out) != (long)(len - 1))
        return -1;
    line(out, n, t0, span / pow10u[u] / (n - 1), 1, pow10u[u]);
    return 0;
}

const codec codec_ts_linear = {
    .id = CODEC_TS_LINEAR,
    .name = "ts-linear",
    .columns = CODEC_COL_TS,
    .bound = linear_bound,
    .encode = linear_encode,
    .decode = linear_decode,
};
