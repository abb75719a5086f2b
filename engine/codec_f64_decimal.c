/*
 * codec_f64_decimal.c — CODEC_F64_DECIMAL: float64 columns as decimal
 * integers, FORMAT.md §6.8.  Our own implementation of the idea of ALP
 * (Afroozeh, Kuffó, Boncz, "ALP: Adaptive Lossless floating-Point
 * Compression", SIGMOD 2024) and of decimal conversion as VictoriaMetrics
 * does it: readings from decimal instruments (21.4, 1013.2, 48.13572) are
 * integers once scaled by a power of ten.
 *
 *   column := h:u8 f:u8 pack(N[0..n)) [E:varint (gap:varint x:varint)*E]
 *
 *   h: bits 0-4 e, bit 5 zero, bit 6 exceptions follow (E >= 1), bit 7
 *      N[0] is not in the pack: it is round(first * 10^(e-f)), from the
 *      `first` the decoder is told
 *   value i = dec(N[i]) = ((double)N[i] * 10^f) * 10^-e     (0 <= f <= e <= 22)
 *
 * with 10^f exact and 10^-e the double nearest to it, each product rounded
 * to nearest (IEEE-754 binary64), |N[i]| < 2^51.  The N are one pack
 * (pack.h): frame of reference, deltas or deltas of deltas, bit-packed.
 * Values that dec() does not reproduce bit for bit (NaN, infinities, -0.0,
 * a value with more digits than the chunk's, one the products round the
 * wrong way) are exceptions: E of them, each at p = previous p + 1 + gap,
 * whose bits are dec(N[p]) XOR rotr(x, 1).  The encoder puts the nearest
 * decimal in N[p] when there is one, so x holds only the few bits that
 * differ; for NaN and the like N[p] repeats its neighbour.
 *
 * Choosing e and f (per chunk, on up to 32 sampled values): D, the number
 * of decimals, balances digits against exceptions; then e >= D, f = e - D
 * is the pair whose products reproduce the most samples (the scaled
 * integer is N = round(v * 10^D) whatever e is).  The encoder answers
 * CODEC_NA when most samples are not decimals or exceptions would exceed
 * 4 plus a quarter of the chunk.
 *
 * Decoding is the pack's unpacking and running sums, then one branch-free
 * pass that turns N into doubles four at a time (the integer-to-double
 * conversion is the exact magic-number trick, valid for |N| < 2^51, which
 * the same pass checks), then the patches.  The moments of a column (for
 * stddev) need no doubles at all: exact integer sums, then the exceptions.
 *
 * Invariants: e <= 22, f <= e, every N in [-2^51, 2^51), exceptions at
 * increasing positions below n with x != 0, and nothing after them.
 */
#include "engine/codec.h"
#include "engine/pack.h"
#include "engine/varint.h"

#include <math.h>
#include <string.h>

#define DEC_MAX_E 22
#define DEC_MAX_DIGITS 18
#define DEC_SAMPLES 32
#define MAGIC_D 6755399441055744.0 /* 1.5 * 2^52 */

static const double F10[DEC_MAX_E + 1] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};
static const double IF10[DEC_MAX_E + 1] = {
    1e-0,  1e-1,  1e-2,  1e-3,  1e-4,  1e-5,  1e-6,  1e-7,  1e-8,  1e-9,  1e-10, 1e-11,
    1e-12, 1e-13, 1e-14, 1e-15, 1e-16, 1e-17, 1e-18, 1e-19, 1e-20, 1e-21, 1e-22,
};

static inline double u2d(uint64_t u)
{
    double d;
    memcpy(&d, &u, 8);
    return d;
}

static inline uint64_t d2u(double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    return u;
}

static inline uint64_t rotl1(uint64_t x)
{
    return x << 1 | x >> 63;
}

static inline uint64_t rotr1(uint64_t x)
{
    return x >> 1 | x << 63;
}

#define HDR_E 0x1fu   /* the exponent e */
#define HDR_FMA 0x20u /* value = the product corrected by two FMAs; no f byte */
#define HDR_EXC 0x40u /* exceptions follow the pack */
#define HDR_N0 0x80u  /* N[0] is not stored: it is `first` scaled by 10^D */

static inline uint64_t dec(int64_t n, unsigned e, unsigned f)
{
    return d2u((double)n * F10[f] * IF10[e]);
}

/* v * 10^d rounded to the nearest integer, when |v * 10^d| < 2^51. */
static inline int scaled(double v, unsigned d, int64_t *n)
{
    double t = v * F10[d];
    if (!(fabs(t) < 0x1p51))
        return -1;
    *n = (int64_t)((t + MAGIC_D) - MAGIC_D); /* round half to even */
    return 0;
}

/* The fewest decimals (0..DEC_MAX_DIGITS) that hold v exactly, by correctly
 * rounded division; -1 when none does (NaN, infinities, -0.0, too many
 * digits). */
static int digits(uint64_t bits)
{
    double v = u2d(bits);
    for (unsigned d = 0; d <= DEC_MAX_DIGITS; d++) {
        int64_t n;
        if (scaled(v, d, &n))
            return -1;
        if (d2u((double)n / F10[d]) == bits)
            return (int)d;
    }
    return -1;
}

/* Pick D, e, f from a sample of the values; -1 when decimals do not suit. */
static int choose(const uint64_t *in, size_t n, unsigned *D, unsigned *e, unsigned *f)
{
    int dig[DEC_SAMPLES];
    uint64_t val[DEC_SAMPLES];
    size_t ns = n < DEC_SAMPLES ? n : DEC_SAMPLES, good = 0;
    /* sample k is value k * n / ns; seen[d] counts the samples of d digits */
    sample_even sp = sample_even_start(n, ns);
    unsigned seen[DEC_MAX_DIGITS + 1] = {0};
    for (size_t k = 0; k < ns; k++, sample_even_next(&sp)) {
        val[k] = in[sp.at];
        dig[k] = digits(val[k]);
        good += dig[k] >= 0;
        if (dig[k] >= 0)
            seen[dig[k]]++;
    }
    if (2 * good < ns)
        return -1;
    /* Each digit costs about 3.3 bits per value; a value with more digits
     * than the chunk's is an exception of about 8 bytes.  Candidates: the
     * digit counts seen, fewest first (so the fewest wins a tie); above[d]
     * is how many samples are not decimals of at most d digits. */
    long best_cost = -1;
    unsigned bestD = 0;
    size_t above = ns - good;
    for (unsigned d = DEC_MAX_DIGITS + 1; d-- > 0;)
        above += seen[d];
    for (unsigned d = 0; d <= DEC_MAX_DIGITS; d++) {
        above -= seen[d];
        if (!seen[d])
            continue;
        long cost = 332L * (long)d * (long)ns + 6400L * (long)above;
        if (best_cost < 0 || cost < best_cost) {
            best_cost = cost;
            bestD = d;
        }
    }
    /* The pair (e, f = e - D) whose products reproduce the most samples;
     * e = 14 first, which suits most digit counts best (its 10^-14 happens
     * to be very close to the real number). */
    size_t best_hits = 0, want = 0;
    unsigned beste = bestD;
    for (size_t k = 0; k < ns; k++)
        want += dig[k] >= 0 && (unsigned)dig[k] <= bestD;
    for (unsigned c = bestD; c <= DEC_MAX_E + 1 && best_hits < want; c++) {
        unsigned ee = c == bestD ? (bestD <= 14 ? 14 : bestD) : c - 1;
        if (c > bestD && (ee == 14 || ee < bestD))
            continue;
        size_t hits = 0;
        for (size_t k = 0; k < ns; k++) {
            int64_t v;
            if (dig[k] >= 0 && (unsigned)dig[k] <= bestD && !scaled(u2d(val[k]), bestD, &v) &&
                dec(v, ee, ee - bestD) == val[k])
                hits++;
        }
        if (hits > best_hits) {
            best_hits = hits;
            beste = ee;
        }
    }
    *D = bestD;
    *e = beste;
    *f = beste - bestD;
    return 0;
}

/* Working space for the integers, after the room an encoding may need. */
static size_t enc_max(size_t n)
{
    return 2 + pack_bound(n) + VARINT_MAX + (4 + n / 4) * (2 + VARINT_MAX);
}

static size_t decimal_bound(size_t n)
{
    return n == 0 ? 0 : enc_max(n) + 8 + 8 * n;
}

/* The value of N in the column's rule: with fma, q = N * 10^-e corrected
 * by the exact remainder N - q * 10^e (the error-free FMA step of
 * Markstein's division), else the two products. */
static inline uint64_t value_of(int64_t v, int fma_rule, unsigned e, unsigned f)
{
    if (!fma_rule)
        return dec(v, e, f);
    double n = (double)v, q = n * IF10[e];
    return d2u(fma(fma(-q, F10[e], n), IF10[e], q));
}

/* The integer that values not near a decimal take before the first one
 * that is: the first value the rule reproduces, scaled (0 when none). */
static int64_t first_fill(const uint64_t *in, size_t n, unsigned D, int fma_rule, unsigned e,
                          unsigned f)
{
    int64_t v;
    for (size_t i = 0; i < n; i++)
        if (!scaled(u2d(in[i]), D, &v) && value_of(v, fma_rule, e, f) == in[i])
            return v;
    return 0;
}

/* Fill N[0..n) with the decimals of the values at D digits; returns how
 * many values the rule does not reproduce.  Values not near a decimal
 * repeat the previous integer (at the start, fill) to keep the pack
 * small: N depends on the rule only through fill. */
static size_t scale_all(const uint64_t *in, size_t n, unsigned D, int fma_rule, unsigned e,
                        unsigned f, uint64_t *N, int64_t fill)
{
    size_t nexc = 0;
    int64_t v;
    for (size_t i = 0; i < n; i++) {
        if (scaled(u2d(in[i]), D, &v))
            v = fill;
        else
            fill = v;
        N[i] = (uint64_t)v;
        nexc += value_of(v, fma_rule, e, f) != in[i];
    }
    return nexc;
}

/* How many values of N the rule does not reproduce, counting up to limit. */
static size_t count_exceptions(const uint64_t *in, size_t n, const uint64_t *N, int fma_rule,
                               unsigned e, unsigned f, size_t limit)
{
    size_t nexc = 0;
    for (size_t i = 0; i < n && nexc < limit; i++)
        nexc += value_of((int64_t)N[i], fma_rule, e, f) != in[i];
    return nexc;
}

static size_t decimal_encode(const uint64_t *in, size_t n, uint8_t *out)
{
    if (n == 0)
        return 0;
    unsigned D, e, f;
    if (n > PACK_MAX_VALUES || choose(in, n, &D, &e, &f))
        return CODEC_NA;
    uintptr_t at = ((uintptr_t)(out + enc_max(n)) + 7) & ~(uintptr_t)7;
    uint64_t *N = (uint64_t *)at;
    /* The plain products decode on any CPU at full speed; the corrected
     * product when the plain one would leave more exceptions (most values
     * with three or more decimals). */
    int fma_rule = 0;
    int64_t fill = first_fill(in, n, D, 0, e, f);
    size_t nexc = scale_all(in, n, D, 0, e, f, N, fill);
    if (nexc > 0) {
        /* the corrected rule's integers are these unless its fill differs;
         * it is taken only with fewer exceptions */
        int64_t ffill = first_fill(in, n, D, 1, D, 0);
        size_t fexc = ffill == fill ? count_exceptions(in, n, N, 1, D, 0, nexc)
                                    : scale_all(in, n, D, 1, D, 0, N, ffill);
        if (fexc < nexc) {
            fma_rule = 1;
            e = D;
            f = 0;
            nexc = fexc;
        } else if (ffill != fill) {
            scale_all(in, n, D, 0, e, f, N, fill);
        }
    }
    if (nexc > 4 + n / 4)
        return CODEC_NA;
    int64_t n0;
    int implied = !scaled(u2d(in[0]), D, &n0) && (uint64_t)n0 == N[0];
    uint8_t *p = out;
    *p++ = (uint8_t)(e | (fma_rule ? HDR_FMA : 0) | (nexc ? HDR_EXC : 0) | (implied ? HDR_N0 : 0));
    if (!fma_rule)
        *p++ = (uint8_t)f;
    p += pack_encode(N, n, 0, implied, p);
    if (nexc)
        put_varint(&p, nexc);
    size_t prev = 0;
    int first = 1;
    for (size_t i = 0; i < n && nexc; i++) { /* scale_all counted them all */
        uint64_t d = value_of((int64_t)N[i], fma_rule, e, f);
        if (d == in[i])
            continue;
        put_varint(&p, first ? i : i - prev - 1);
        put_varint(&p, rotl1(d ^ in[i]));
        prev = i;
        first = 0;
    }
    return (size_t)(p - out);
}

/* A column's header: the rule, e and f, where the pack starts, and N[0]
 * when it is implied by `first`. */
typedef struct dec_head {
    unsigned h, e, f, hl;
    int64_t n0;
} dec_head;

static int read_head(const uint8_t *in, size_t len, const codec_ends *ends, dec_head *d)
{
    if (len < 1)
        return -1;
    d->h = in[0];
    d->e = d->h & HDR_E;
    d->f = 0;
    d->hl = d->h & HDR_FMA ? 1 : 2;
    d->n0 = 0;
    if (d->e > DEC_MAX_E || len < d->hl)
        return -1;
    if (!(d->h & HDR_FMA) && (d->f = in[1]) > d->e)
        return -1;
    if ((d->h & HDR_N0) && (!ends || scaled(u2d(ends->first), d->e - d->f, &d->n0)))
        return -1;
    return 0;
}

/* The exception list after the pack: E, then (gap, x) pairs. */
typedef struct exc_list {
    const uint8_t *p, *end;
    uint64_t left;
    size_t pos, n;
    int started;
} exc_list;

static int exc_open(exc_list *x, unsigned h, const uint8_t *p, const uint8_t *end, size_t n)
{
    *x = (exc_list){p, end, 0, 0, n, 0};
    if ((h & HDR_EXC) && (get_varint(&x->p, end, &x->left) || x->left == 0 || x->left > n))
        return -1;
    return 0;
}

/* 1 and the next exception's position and x, 0 after the last one (when
 * the column ends there), -1 when the list is damaged. */
static int exc_next(exc_list *x, size_t *pos, uint64_t *bits)
{
    if (x->left == 0)
        return x->p == x->end ? 0 : -1;
    uint64_t gap;
    if (get_varint(&x->p, x->end, &gap) || get_varint(&x->p, x->end, bits) || *bits == 0)
        return -1;
    if (x->started && gap >= x->n - x->pos - 1)
        return -1;
    x->pos = x->started ? x->pos + 1 + gap : gap;
    if (x->pos >= x->n)
        return -1;
    x->started = 1;
    x->left--;
    *pos = x->pos;
    return 1;
}

static int decimal_decode(const uint8_t *in, size_t len, size_t n, const codec_ends *ends,
                          uint64_t *out)
{
    if (n == 0)
        return len == 0 ? 0 : -1;
    dec_head d;
    if (read_head(in, len, ends, &d))
        return -1;
    pack_to_f64 to = {(d.h & HDR_FMA) != 0, d.h & HDR_FMA ? F10[d.e] : F10[d.f], IF10[d.e]};
    long used =
        pack_decode_f64(in + d.hl, len - d.hl, n, (d.h & HDR_N0) != 0, (uint64_t)d.n0, &to, out);
    exc_list x;
    if (used < 0 || exc_open(&x, d.h, in + d.hl + used, in + len, n))
        return -1;
    size_t pos;
    uint64_t bits;
    int r;
    while ((r = exc_next(&x, &pos, &bits)) == 1)
        out[pos] ^= rotr1(bits);
    return r;
}

/* Moments without decoding: every value that is not an exception is
 * N * 10^-D exactly as far as the mean and the squared deviations care
 * (D = e - f; dec() is that number correctly rounded, or within an ulp of
 * it), so the integers are summed exactly (pack_sums_of) and turned into a
 * mean and m2 once; the exceptions (NaN, infinities, -0.0, other values)
 * are decoded one by one and merged in (Chan et al.'s pairwise update). */
static int decimal_moments(const uint8_t *in, size_t len, size_t n, const codec_ends *ends,
                           uint64_t *N, codec_moments *out)
{
    *out = (codec_moments){0, 0, 0};
    if (n == 0)
        return len == 0 ? 0 : -1;
    dec_head d;
    if (read_head(in, len, ends, &d))
        return -1;
    long used = pack_decode(in + d.hl, len - d.hl, n, (d.h & HDR_N0) != 0, (uint64_t)d.n0, N);
    pack_sums ps;
    exc_list x;
    if (used < 0 || pack_sums_of(N, n, &ps) || exc_open(&x, d.h, in + d.hl + used, in + len, n))
        return -1;
    /* the exceptions leave the sums and go to a Welford partial */
    uint64_t k = n, en = 0;
    double emean = 0, em2 = 0;
    int inf = 0, fma_rule = (d.h & HDR_FMA) != 0, r;
    size_t pos;
    uint64_t bits;
    while ((r = exc_next(&x, &pos, &bits)) == 1) {
        __int128 dv = (__int128)(int64_t)N[pos] - ps.ref;
        ps.s1 -= dv;
        ps.s2 -= (unsigned __int128)(dv * dv);
        k--;
        double v = u2d(value_of((int64_t)N[pos], fma_rule, d.e, d.f) ^ rotr1(bits));
        if (isnan(v))
            continue;
        if (isinf(v)) {
            inf = 1;
            v = 0;
        }
        en++;
        double delta = v - emean;
        emean += delta / (double)en;
        em2 += delta * (v - emean);
    }
    if (r < 0)
        return -1;
    double mean = emean, m2 = em2;
    if (k) {
        /* s1 = q k + r with 0 <= r < k: s1^2 / k = q s1 + q r + r^2 / k, so
         * m2 = s2 - q s1 - q r - r^2 / k with the first three exact */
        __int128 q, rem;
        if (ps.s1 >= INT64_MIN && ps.s1 <= INT64_MAX) { /* the usual case: 64-bit division */
            int64_t s1 = (int64_t)ps.s1, q64 = s1 / (int64_t)k;
            q = q64;
            rem = s1 - q64 * (int64_t)k;
        } else {
            q = ps.s1 / (__int128)k;
            rem = ps.s1 - q * (__int128)k;
        }
        if (rem < 0) {
            q--;
            rem += (__int128)k;
        }
        __int128 m2i = (__int128)ps.s2 - q * ps.s1 - q * rem;
        double scale = F10[d.e - d.f], dr = (double)rem, fr = dr / (double)k;
        double imean = ((double)(ps.ref + (int64_t)q) + fr) / scale;
        double im2 = ((double)m2i - dr * fr) / (scale * scale);
        im2 = im2 < 0 ? 0 : im2;
        if (en) {
            double nt = (double)(k + en), delta = emean - imean;
            mean = imean + delta * (double)en / nt;
            m2 = im2 + em2 + delta * delta * (double)k * (double)en / nt;
        } else {
            mean = imean;
            m2 = im2;
        }
    }
    out->n = k + en;
    out->mean = mean;
    out->m2 = inf ? NAN : m2;
    return 0;
}

const codec codec_f64_decimal = {
    .id = CODEC_F64_DECIMAL,
    .name = "f64-decimal",
    .columns = CODEC_COL_F64,
    .bound = decimal_bound,
    .encode = decimal_encode,
    .decode = decimal_decode,
    .moments = decimal_moments,
};
