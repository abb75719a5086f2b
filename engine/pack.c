/*
 * pack.c — the bit-packed integer block (see pack.h), FORMAT.md §6.6.
 *
 *   pack := head:u8 [x0:svarint] [d1:svarint] base:svarint
 *           widths data [exceptions]
 *
 *   head       bits 0-1 order o (0..2), bit 2 exceptions present,
 *              bits 3-5 wbits (bits per width field), bit 6 zigzag,
 *              bit 7 zero
 *   residuals  k = m - o of them: o = 0 the values, 1 the deltas, 2 the
 *              deltas of deltas; u = residual - base as an unsigned word,
 *              or zigzag(residual - base) with bit 6
 *   widths     one wbits-bit field per miniblock of 32 residuals, LSB first
 *   data       per miniblock, its residuals' low w bits, LSB first, padded
 *              to a byte: 4w bytes for a full miniblock
 *   exceptions E:varint, then E x (gap:varint, high:varint): residual
 *              p = previous p + 1 + gap gets high << w added
 *
 * The encoder tries the three orders with both mappings (smallest residual
 * as the base, or zigzag around a sampled median) and, per miniblock,
 * every width with the exceptions it implies; it keeps the smallest
 * estimate.  Estimates count one byte per exception gap, which may be two.
 * One pass per order finds its smallest residual and each miniblock's
 * extremes, which give each mapping's size without exceptions (every block
 * at the width of its widest word); the search over widths, most of the
 * encoding's cost, is made only for the (order, mapping) pairs whose
 * quick size comes within a 32nd of the best one.  It records each
 * residual's bit width as a byte and counts the few widths it needs (one
 * SSE2 compare per 16 residuals) instead of filling a histogram.
 *
 * The decoder first prefetches the pack's cache lines (they arrive while
 * the header is read), then unpacks whole miniblocks with kernels
 * specialised per width (constant shifts, one unaligned 64-bit load per
 * value, unrolled; with AVX2, one load broadcast to four lanes per two or
 * four values); the last miniblock, and any whose loads could reach past
 * the end of the input, go through a zero-padded copy.  It then patches
 * the exceptions and undoes the mapping and the order (four lanes of
 * prefix sums with AVX2), turning the integers into doubles on the way for
 * pack_decode_f64.
 *
 * pack_sums_of adds decoded integers exactly: in 64-bit lanes (squares by
 * one 32 x 32-bit multiply) while every difference from the first is below
 * 2^24, which it checks in the same pass, else in 128-bit arithmetic.
 */
#include "engine/pack.h"

#include "engine/varint.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The AVX2 and FMA decoders exist for x86-64 builds (picked at run time);
 * every other build has the portable ones only.  PACK_PORTABLE forces
 * that (a check of the portable build on x86-64). */
#if defined(__x86_64__) && !defined(PACK_PORTABLE)
#define PACK_X86 1
#include <immintrin.h>
#else
#define PACK_X86 0
#endif
#if defined(__SSE2__) && !defined(PACK_PORTABLE)
#define PACK_SSE2 1
#include <emmintrin.h>
#else
#define PACK_SSE2 0
#endif

#define MB PACK_MINIBLOCK
#define HEAD_ORDER 3u
#define HEAD_EXC 4u
#define HEAD_WBITS_SHIFT 3
#define HEAD_ZIGZAG 0x40u
#define HEAD_RESERVED 0x80u

/* The bits of v: 0 for 0.  No branch (zeros are common and irregular in
 * residuals): v | 1 has v's top bit unless v is 0. */
static inline unsigned width_of(uint64_t v)
{
    return 64u - (unsigned)__builtin_clzll(v | 1) - (v == 0);
}

static inline uint64_t le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

/* Residual i of order o (wrapping) of the words z[i] = x[i] - i * slope.
 * The encoder's loops are compiled once per order (ORDER_CALL below), so
 * that o is a constant in each. */
#define ENC_INLINE static inline __attribute__((always_inline))
#define ORDER_CALL(o, f, ...)                                                                      \
    ((o) == 0 ? f(__VA_ARGS__, 0) : (o) == 1 ? f(__VA_ARGS__, 1) : f(__VA_ARGS__, 2))

ENC_INLINE uint64_t residual(const uint64_t *x, uint64_t slope, unsigned o, size_t i)
{
    if (o == 0)
        return x[i] - i * slope;
    if (o == 1)
        return x[i + 1] - x[i] - slope;
    return (x[i + 2] - x[i + 1]) - (x[i + 1] - x[i]);
}

static size_t svarint_len(uint64_t v)
{
    return (size_t)varint_len(zigzag_enc((int64_t)v));
}

size_t pack_bound(size_t m)
{
    size_t nmb = (m + MB - 1) / MB;
    /* head, x0, d1, base; widths of 7 bits; and per value at most 8 bytes
     * of data, or (as an exception the estimate undercounted) less data
     * plus a gap of 2 and a high part of up to 10 bytes; the count. */
    return 1 + 3 * VARINT_MAX + (nmb * 7 + 7) / 8 + 12 * m + 3;
}

/* ---- encoder ---------------------------------------------------------------------- */

typedef struct plan {
    unsigned order;
    int zigzag; /* u = zz(r - base) instead of r - base */
    uint64_t base;
    size_t bytes; /* estimated (an exception gap may take a byte more) */
    int exceptions;
    uint8_t w[PACK_MAX_VALUES / MB];
} plan;

/* How many of a miniblock's residual widths wb[0..32) equal b (1 <= b <=
 * 64; the slots past the block's last residual hold WB_PAD, which is
 * never counted). */
#define WB_PAD 0xffu
static inline unsigned count_width(const uint8_t wb[MB], unsigned b)
{
#if PACK_SSE2
    /* each equal byte is -1: subtracted from zero, 0 or 2 a byte; the sum
     * of absolute differences from zero adds each half's bytes */
    __m128i v = _mm_set1_epi8((char)b), zero = _mm_setzero_si128();
    __m128i lo = _mm_loadu_si128((const __m128i *)(const void *)wb);
    __m128i hi = _mm_loadu_si128((const __m128i *)(const void *)(wb + 16));
    __m128i n = _mm_sub_epi8(_mm_sub_epi8(zero, _mm_cmpeq_epi8(lo, v)), _mm_cmpeq_epi8(hi, v));
    __m128i s = _mm_sad_epu8(n, zero);
    return (unsigned)_mm_cvtsi128_si32(s) + (unsigned)_mm_extract_epi16(s, 4);
#else
    unsigned c = 0;
    for (unsigned i = 0; i < MB; i++)
        c += wb[i] == b;
    return c;
#endif
}

/* The cheapest width for one miniblock of r residuals whose bit widths
 * are wb[0..r) (none wider than maxb; the rest of wb WB_PAD); *cost_bits
 * receives its estimated size (data bits plus exception bytes as bits),
 * *exc whether it has exceptions. */
static unsigned best_width(const uint8_t wb[MB], unsigned maxb, unsigned r, size_t *cost_bits,
                           int *exc)
{
    size_t best = (size_t)r * maxb;
    unsigned bw = maxb;
    /* An exception of residual width b at miniblock width w costs its gap
     * (usually one byte) and its high part, (b - w + 6) / 7 bytes; all of
     * them together ne (their count, the gaps) plus hi (the high parts).
     * From w + 1 to w, residuals of width w + 1 join with one byte each,
     * and the high part of those with b - w a multiple of 7 grows by a
     * byte: cls[k] counts the exceptions with b % 7 == k.  The widths are
     * counted as the loop reaches them: it seldom goes more than a few
     * below maxb. */
    size_t ne = 0, hi = 0, cls[7] = {0};
    for (unsigned w = maxb; w-- > 0;) {
        unsigned nb = w + 1, cnb = count_width(wb, nb);
        hi += cls[nb % 7] + cnb;
        ne += cnb;
        cls[nb % 7] += cnb;
        size_t excbits = (ne + hi) * 8;
        if (excbits >= best)
            break; /* narrower widths only add exceptions */
        size_t c = (size_t)r * w + excbits;
        if (c < best) {
            best = c;
            bw = w;
        }
    }
    *cost_bits = best;
    *exc = bw < maxb;
    return bw;
}

/* The residual mapped to an unsigned word. */
static inline uint64_t mapped(uint64_t r, uint64_t base, int zigzag)
{
    return zigzag ? zigzag_enc((int64_t)(r - base)) : r - base;
}

/* The k-th smallest of s[0..n) (k < n), which it reorders: quickselect
 * around the median of three. */
static int64_t select_kth(int64_t *s, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (hi > lo) {
        size_t mid = lo + (hi - lo) / 2;
        int64_t a = s[lo], b = s[mid], c = s[hi];
        int64_t pv = a < b ? (b < c ? b : a < c ? c : a) : (a < c ? a : b < c ? c : b);
        size_t i = lo, j = hi;
        while (i <= j) {
            while (s[i] < pv)
                i++;
            while (s[j] > pv)
                j--;
            if (i <= j) {
                int64_t t = s[i];
                s[i] = s[j];
                s[j] = t;
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return s[k];
    }
    return s[k];
}

/* The two frames of reference of order o: the smallest residual, and the
 * median of up to 33 sampled residuals (for the zigzag mapping); and in
 * the same pass each miniblock's smallest and largest residual. */
ENC_INLINE int pick_bases_o(const uint64_t *x, uint64_t slope, size_t k, uint64_t *min,
                            uint64_t *median, int64_t *bmin, int64_t *bmax, const unsigned o)
{
    int64_t lo = INT64_MAX;
    for (size_t j = 0, a = 0; a < k; j++, a += MB) {
        size_t e = a + MB < k ? a + MB : k;
        int64_t mn = INT64_MAX, mx = INT64_MIN;
        for (size_t i = a; i < e; i++) {
            int64_t r = (int64_t)residual(x, slope, o, i);
            mn = r < mn ? r : mn;
            mx = r > mx ? r : mx;
        }
        bmin[j] = mn;
        bmax[j] = mx;
        lo = mn < lo ? mn : lo;
    }
    int64_t s[33];
    size_t ns = k < 33 ? k : 33;
    sample_even sp = sample_even_start(k, ns); /* residual j * k / ns */
    for (size_t j = 0; j < ns; j++, sample_even_next(&sp))
        s[j] = (int64_t)residual(x, slope, o, sp.at);
    *min = (uint64_t)lo;
    *median = (uint64_t)select_kth(s, ns, ns / 2);
    return 0;
}

/* Plans for order o with the mappings in want (bit z for p[z]): p[0] the
 * smallest residual as the base, p[1] zigzag around the median; a plan
 * not wanted gets bytes = SIZE_MAX.  want is a constant in each copy. */
ENC_INLINE int make_plans_w(const uint64_t *x, size_t m, uint64_t slope, int x0_known,
                            const uint64_t base[2], plan p[2], const unsigned o,
                            const unsigned want)
{
    size_t k = m - o, nmb = (k + MB - 1) / MB;
    p[0].base = base[0];
    p[1].base = base[1];
    size_t bits[2] = {0, 0}, exc_bytes[2] = {0, 0};
    unsigned maxw[2] = {0, 0};
    for (int z = 0; z < 2; z++) {
        p[z].order = o;
        p[z].zigzag = z;
        p[z].exceptions = 0;
    }
    /* each miniblock's residual widths under both mappings, as bytes:
     * best_width counts the few it needs (no histogram to fill and clear) */
    uint8_t wb[2][MB];
    for (size_t j = 0; j < nmb; j++) {
        size_t lo = j * MB, hi = lo + MB < k ? lo + MB : k;
        unsigned top[2] = {0, 0};
        if (hi - lo < MB)
            memset(wb, WB_PAD, sizeof wb);
        for (size_t i = lo; i < hi; i++) {
            uint64_t r = residual(x, slope, o, i);
            if (want & 1) {
                unsigned b0 = width_of(r - p[0].base);
                wb[0][i - lo] = (uint8_t)b0;
                top[0] = b0 > top[0] ? b0 : top[0];
            }
            if (want & 2) {
                unsigned b1 = width_of(zigzag_enc((int64_t)(r - p[1].base)));
                wb[1][i - lo] = (uint8_t)b1;
                top[1] = b1 > top[1] ? b1 : top[1];
            }
        }
        for (int z = 0; z < 2; z++) {
            if (!(want & 1u << z))
                continue;
            size_t c;
            int e;
            unsigned w = best_width(wb[z], top[z], (unsigned)(hi - lo), &c, &e);
            p[z].w[j] = (uint8_t)w;
            maxw[z] = w > maxw[z] ? w : maxw[z];
            size_t data_bits = (hi - lo) * w;
            bits[z] += (data_bits + 7) / 8 * 8;
            exc_bytes[z] += (c - data_bits) / 8;
            p[z].exceptions |= e;
        }
    }
    for (int z = 0; z < 2; z++) {
        if (!(want & 1u << z)) {
            p[z].bytes = SIZE_MAX;
            continue;
        }
        size_t bytes = 1 + svarint_len(p[z].base) + (nmb * width_of(maxw[z]) + 7) / 8 +
                       bits[z] / 8 + exc_bytes[z];
        if (o >= 1 && !x0_known)
            bytes += svarint_len(x[0]);
        if (o == 2)
            bytes += svarint_len(x[1] - x[0] - slope);
        if (p[z].exceptions)
            bytes += 2;
        p[z].bytes = bytes;
    }
    return 0;
}

/* The OR over one miniblock [lo, hi) of the zigzag mapping's words. */
ENC_INLINE uint64_t zigzag_or_o(const uint64_t *x, uint64_t slope, size_t lo, size_t hi,
                                uint64_t base, const unsigned o)
{
    uint64_t z = 0;
    for (size_t i = lo; i < hi; i++)
        z |= zigzag_enc((int64_t)(residual(x, slope, o, i) - base));
    return z;
}

/* Quick sizes of order o's data bits, exceptions left aside, out[z] for
 * mapping z: each miniblock at the width of its widest word.  Used to
 * skip (order, mapping) pairs that cannot win before their widths are
 * searched.  The widest word comes from the block's extremes (the
 * residuals' smallest and largest, pick_bases_o): r - min grows with r,
 * and the zigzag of r - median is largest at one end, unless r - median
 * leaves int64 there, when the block's words are ORed instead. */
ENC_INLINE size_t quick_bits_o(const uint64_t *x, size_t m, uint64_t slope, const uint64_t base[2],
                               const int64_t *bmin, const int64_t *bmax, size_t out[2],
                               const unsigned o)
{
    size_t k = m - o, bits[2] = {0, 0};
    for (size_t j = 0, lo = 0; lo < k; j++, lo += MB) {
        size_t hi = lo + MB < k ? lo + MB : k;
        uint64_t a = (uint64_t)bmax[j] - base[0], z;
        int64_t dhi, dlo;
        if (!__builtin_sub_overflow(bmax[j], (int64_t)base[1], &dhi) &&
            !__builtin_sub_overflow(bmin[j], (int64_t)base[1], &dlo)) {
            uint64_t zh = zigzag_enc(dhi), zl = zigzag_enc(dlo);
            z = zh > zl ? zh : zl;
        } else {
            z = zigzag_or_o(x, slope, lo, hi, base[1], o);
        }
        bits[0] += (hi - lo) * width_of(a);
        bits[1] += (hi - lo) * width_of(z);
    }
    out[0] = bits[0];
    out[1] = bits[1];
    return 0;
}

static void pick_bases(const uint64_t *x, uint64_t slope, unsigned o, size_t k, uint64_t *min,
                       uint64_t *median, int64_t *bmin, int64_t *bmax)
{
    (void)ORDER_CALL(o, pick_bases_o, x, slope, k, min, median, bmin, bmax);
}

ENC_INLINE int make_plans_o(const uint64_t *x, size_t m, uint64_t slope, int x0_known,
                            const uint64_t base[2], plan p[2], unsigned want, const unsigned o)
{
    return want == 3   ? make_plans_w(x, m, slope, x0_known, base, p, o, 3)
           : want == 1 ? make_plans_w(x, m, slope, x0_known, base, p, o, 1)
                       : make_plans_w(x, m, slope, x0_known, base, p, o, 2);
}

static void make_plans(const uint64_t *x, size_t m, uint64_t slope, int x0_known, unsigned o,
                       const uint64_t base[2], plan p[2], unsigned want)
{
    (void)ORDER_CALL(o, make_plans_o, x, m, slope, x0_known, base, p, want);
}

static void quick_bits(const uint64_t *x, size_t m, uint64_t slope, unsigned o,
                       const uint64_t base[2], const int64_t *bmin, const int64_t *bmax,
                       size_t out[2])
{
    (void)ORDER_CALL(o, quick_bits_o, x, m, slope, base, bmin, bmax, out);
}

/* LSB-first bit writer over bytes. */
typedef struct lsbw {
    uint8_t *p;
    unsigned __int128 acc;
    unsigned n;
} lsbw;

static inline void lsbw_put(lsbw *w, uint64_t v, unsigned k)
{
    if (k == 0)
        return;
    w->acc |= (unsigned __int128)v << w->n;
    w->n += k;
    while (w->n >= 64) {
        store_u64(w->p, (uint64_t)w->acc);
        w->p += 8;
        w->acc >>= 64;
        w->n -= 64;
    }
}

static inline void lsbw_flush(lsbw *w)
{
    while (w->n > 0) {
        *w->p++ = (uint8_t)w->acc;
        w->acc >>= 8;
        w->n = w->n > 8 ? w->n - 8 : 0;
    }
    w->acc = 0;
}

static unsigned allowed_orders = 7;

void pack_set_orders(unsigned mask)
{
    __atomic_store_n(&allowed_orders, mask | 1u, __ATOMIC_RELAXED);
}

/* The miniblocks' bits (after their widths, in bw) and the exception list
 * of plan `best`; returns the end of the output. */
ENC_INLINE uint8_t *write_data_o(const uint64_t *x, uint64_t slope, const plan *best, size_t k,
                                 lsbw *bw, const unsigned o)
{
    size_t nmb = (k + MB - 1) / MB, nexc = 0;
    for (size_t j = 0; j < nmb; j++) {
        unsigned w = best->w[j];
        uint64_t mask = w == 64 ? ~0ull : (1ull << w) - 1;
        size_t lo = j * MB, hi = lo + MB < k ? lo + MB : k;
        if (w == 0) {
            for (size_t i = lo; i < hi; i++)
                nexc += mapped(residual(x, slope, o, i), best->base, best->zigzag) != 0;
            continue;
        }
        /* The miniblock starts on a byte (bw is flushed): its bits LSB
         * first through a 64-bit word, as lsbw_put would write them. */
        uint8_t *q = bw->p;
        uint64_t acc = 0;
        unsigned nb = 0;
        for (size_t i = lo; i < hi; i++) {
            uint64_t u = mapped(residual(x, slope, o, i), best->base, best->zigzag);
            uint64_t v = u & mask;
            nexc += (u & ~mask) != 0;
            acc |= v << nb;
            nb += w;
            if (nb >= 64) {
                store_u64(q, acc);
                q += 8;
                nb -= 64;
                acc = nb ? v >> (w - nb) : 0;
            }
        }
        for (; nb > 0; nb = nb > 8 ? nb - 8 : 0) {
            *q++ = (uint8_t)acc;
            acc >>= 8;
        }
        bw->p = q;
    }
    uint8_t *p = bw->p;
    if (best->exceptions) {
        put_varint(&p, nexc);
        size_t prev = 0;
        int first = 1;
        for (size_t i = 0; i < k; i++) {
            unsigned w = best->w[i / MB];
            uint64_t u = mapped(residual(x, slope, o, i), best->base, best->zigzag);
            if (w == 64 || (u >> w) == 0)
                continue;
            put_varint(&p, first ? i : i - prev - 1);
            put_varint(&p, u >> w);
            prev = i;
            first = 0;
        }
    }
    return p;
}

static uint8_t *write_data(const uint64_t *x, uint64_t slope, const plan *best, size_t k, lsbw *bw,
                           unsigned o)
{
    return ORDER_CALL(o, write_data_o, x, slope, best, k, bw);
}

size_t pack_encode(const uint64_t *x, size_t m, uint64_t slope, int x0_known, uint8_t *out)
{
    /* Candidates in order: (0, smallest), (0, zigzag), (1, zigzag), (1,
     * smallest), (2, zigzag), (2, smallest); the first of equal estimates
     * wins. */
    static const int pref[3][2] = {{0, 1}, {1, 0}, {1, 0}};
    plan plans[3][2];
    plan *best = NULL;
    unsigned orders = __atomic_load_n(&allowed_orders, __ATOMIC_RELAXED);
    /* The width search costs most of the encoding: make it only for the
     * (order, mapping) pairs whose quick size comes within a 32nd of the
     * best quick size; short inputs try all.  Exceptions seldom make a
     * pair win that starts further behind: with an eighth instead (3.8
     * pairs searched per Beijing chunk on average, against 1.7), the
     * chunks of bench_codec came out 0.03 % (Beijing) to 0.08 % (NAB)
     * smaller, and encoding Beijing took a quarter longer. */
    uint64_t bases[3][2];
    size_t quick[3][2], qbest = SIZE_MAX;
    int gate = m >= 4 * MB; /* else every order is tried: no quick bounds */
    int64_t bmin[PACK_MAX_VALUES / MB], bmax[PACK_MAX_VALUES / MB];
    for (unsigned o = 0; o < 3 && o < m; o++) {
        if (o > 0 && !(orders & 1u << o))
            continue;
        pick_bases(x, slope, o, m - o, &bases[o][0], &bases[o][1], bmin, bmax);
        if (!gate)
            continue;
        quick_bits(x, m, slope, o, bases[o], bmin, bmax, quick[o]);
        for (int z = 0; z < 2; z++)
            qbest = quick[o][z] < qbest ? quick[o][z] : qbest;
    }
    for (unsigned o = 0; o < 3 && o < m; o++) {
        if (o > 0 && !(orders & 1u << o))
            continue;
        unsigned want = 3;
        for (unsigned z = 0; gate && z < 2; z++)
            if (quick[o][z] - quick[o][z] / 32 > qbest)
                want &= ~(1u << z);
        if (!want)
            continue;
        make_plans(x, m, slope, x0_known, o, bases[o], plans[o], want);
        for (int j = 0; j < 2; j++) {
            plan *c = &plans[o][pref[o][j]];
            if (!(want & 1u << pref[o][j]))
                continue;
            if (!best || c->bytes < best->bytes)
                best = c;
        }
    }
    unsigned o = best->order;
    size_t k = m - o, nmb = (k + MB - 1) / MB;
    unsigned maxw = 0;
    for (size_t j = 0; j < nmb; j++)
        maxw = best->w[j] > maxw ? best->w[j] : maxw;
    unsigned wbits = width_of(maxw);
    uint8_t *p = out;
    *p++ = (uint8_t)(o | (best->exceptions ? HEAD_EXC : 0) | wbits << HEAD_WBITS_SHIFT |
                     (best->zigzag ? HEAD_ZIGZAG : 0));
    if (o >= 1 && !x0_known)
        put_svarint(&p, (int64_t)x[0]);
    if (o == 2)
        put_svarint(&p, (int64_t)(x[1] - x[0] - slope));
    put_svarint(&p, (int64_t)best->base);
    lsbw bw = {p, 0, 0};
    for (size_t j = 0; j < nmb; j++)
        lsbw_put(&bw, best->w[j], wbits);
    lsbw_flush(&bw);
    p = write_data(x, slope, best, k, &bw, o);
    return (size_t)(p - out);
}

/* ---- decoder ---------------------------------------------------------------------- */

/* 32 values of w bits from p; reads at most 4w + 8 bytes. */
static inline __attribute__((always_inline)) void unpack32(const uint8_t *p, unsigned w,
                                                           uint64_t *out)
{
    const uint64_t mask = w == 64 ? ~0ull : (1ull << w) - 1;
    if (w <= 57) {
#pragma GCC unroll 32
        for (unsigned t = 0; t < MB; t++) {
            unsigned b = t * w;
            out[t] = (le64(p + (b >> 3)) >> (b & 7)) & mask;
        }
    } else {
#pragma GCC unroll 32
        for (unsigned t = 0; t < MB; t++) {
            unsigned b = t * w, s = b & 7;
            uint64_t lo = le64(p + (b >> 3)) >> s;
            uint64_t hi = (uint64_t)p[(b >> 3) + 8] << 1 << (63 - s);
            out[t] = (lo | hi) & mask;
        }
    }
}

#define W8(b) W(b) W(b + 1) W(b + 2) W(b + 3) W(b + 4) W(b + 5) W(b + 6) W(b + 7)

static void unpack32_any(const uint8_t *p, unsigned w, uint64_t *out)
{
    switch (w) {
#define W(n)                                                                                       \
    case n:                                                                                        \
        unpack32(p, n, out);                                                                       \
        break;
        W8(0) W8(8) W8(16) W8(24) W8(32) W8(40) W8(48) W8(56) W(64)
#undef W
    }
}

typedef uint64_t u64x4 __attribute__((vector_size(32)));
typedef double f64x4 __attribute__((vector_size(32)));

#if PACK_X86
/* unpack32 with AVX2 for 1 <= w <= 28: one 64-bit load holds four values
 * (w <= 14) or two (w <= 28); it is broadcast to the four lanes, which
 * shift it each by its value's constant offset. */
__attribute__((target("avx2"), always_inline)) static inline void unpack32_v(const uint8_t *p,
                                                                            unsigned w,
                                                                            uint64_t *out)
{
    const uint64_t mask = (1ull << w) - 1;
    const u64x4 vm = {mask, mask, mask, mask};
#pragma GCC unroll 8
    for (unsigned g = 0; g < MB / 4; g++) {
        u64x4 v, sh;
        if (w <= 14) {
            unsigned b = 4 * g * w, s = b & 7;
            uint64_t x = le64(p + (b >> 3));
            v = (u64x4){x, x, x, x};
            sh = (u64x4){s, s + w, s + 2 * w, s + 3 * w};
        } else {
            unsigned b0 = 4 * g * w, b1 = b0 + 2 * w, s0 = b0 & 7, s1 = b1 & 7;
            uint64_t x0 = le64(p + (b0 >> 3)), x1 = le64(p + (b1 >> 3));
            v = (u64x4){x0, x0, x1, x1};
            sh = (u64x4){s0, s0 + w, s1, s1 + w};
        }
        v = (v >> sh) & vm;
        memcpy(out + 4 * g, &v, sizeof v);
    }
}

__attribute__((target("avx2"))) static void unpack32_avx2(const uint8_t *p, unsigned w,
                                                          uint64_t *out)
{
    switch (w) {
    case 0: {
        /* vector stores: gcc turns a loop into a memset, slow at this size */
        __m256i z = _mm256_setzero_si256(), *o = (__m256i *)(void *)out;
        _mm256_storeu_si256(o, z);
        _mm256_storeu_si256(o + 1, z);
        _mm256_storeu_si256(o + 2, z);
        _mm256_storeu_si256(o + 3, z);
        _mm256_storeu_si256(o + 4, z);
        _mm256_storeu_si256(o + 5, z);
        _mm256_storeu_si256(o + 6, z);
        _mm256_storeu_si256(o + 7, z);
        break;
    }
#define W(n)                                                                                       \
    case n:                                                                                        \
        unpack32_v(p, n, out);                                                                     \
        break;
        W(1) W(2) W(3) W(4) W(5) W(6) W(7) W8(8) W8(16) W(24) W(25) W(26) W(27) W(28)
#undef W
    default: unpack32_any(p, w, out); break;
    }
}

#endif

/* -1: not yet asked; 0: the portable decoders; 1: AVX2 and FMA.  Any
 * thread may set it first, all to the same value (relaxed atomics). */
static int simd = -1;

void pack_set_simd(int on)
{
#if PACK_X86
    int v = on && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    int v = 0 * on;
#endif
    __atomic_store_n(&simd, v, __ATOMIC_RELAXED);
}

#if PACK_X86
static int have_avx2_fma(void)
{
    int v = __atomic_load_n(&simd, __ATOMIC_RELAXED);
    if (v < 0) {
        pack_set_simd(1);
        v = __atomic_load_n(&simd, __ATOMIC_RELAXED);
    }
    return v;
}
#endif

/* Unpack the k residuals into u[0..k); data points at the first
 * miniblock, end is the end of the input.  Returns the end of the data. */
static const uint8_t *unpack_all(const uint8_t *data, const uint8_t *end, const uint8_t *w,
                                 size_t k, uint64_t *u)
{
#if PACK_X86
    void (*unpack)(const uint8_t *, unsigned, uint64_t *) =
        have_avx2_fma() ? unpack32_avx2 : unpack32_any;
#else
    void (*unpack)(const uint8_t *, unsigned, uint64_t *) = unpack32_any;
#endif
    size_t nmb = (k + MB - 1) / MB;
    const uint8_t *p = data;
    for (size_t j = 0; j < nmb; j++) {
        size_t r = j + 1 < nmb ? MB : k - j * MB;
        size_t bytes = (r * w[j] + 7) / 8;
        if (bytes > (size_t)(end - p))
            return NULL;
        if (r == MB && (size_t)(end - p) >= bytes + 9) {
            unpack(p, w[j], u + j * MB);
        } else {
            uint8_t pad[4 * 64 + 9];
            uint64_t tmp[MB];
            memcpy(pad, p, bytes);
            memset(pad + bytes, 0, 9);
            unpack(pad, w[j], tmp);
            memcpy(u + j * MB, tmp, r * sizeof *tmp);
        }
        p += bytes;
    }
    return p;
}

/* The integer-to-double step of pack_decode_f64: none, two products, or
 * the product corrected by two fused multiply-adds (pack.h).  The
 * conversion is the magic-number trick: the bits of 1.5 * 2^52 plus an
 * integer x in [-2^51, 2^51) are the double 1.5 * 2^52 + x, exactly. */
#define CONV_NONE 0
#define CONV_MUL 1
#define CONV_FMA 2
#define MAGIC 0x4338000000000000ull /* 1.5 * 2^52 */
#define MAGIC_D 6755399441055744.0
#define N_LIMIT 0x8000000000000ull /* 2^51 */

static inline uint64_t conv1(uint64_t x, int conv, double m1, double m2, uint64_t *bad)
{
    double d;
    uint64_t y = x + MAGIC;
    *bad |= (x + N_LIMIT) >> 52;
    memcpy(&d, &y, 8);
    d -= MAGIC_D;
    if (conv == CONV_FMA) {
        double q = d * m2;
        d = fma(fma(-q, m1, d), m2, q);
    } else {
        d = d * m1 * m2;
    }
    memcpy(&y, &d, 8);
    return y;
}

/* Undo the mapping and the order in place, and convert: out[o..o+k) hold
 * the unpacked words u and end up as the values (out[0], out[1] from x0
 * and d1).  Returns nonzero when a converted integer was out of range. */
static uint64_t finish_scalar(uint64_t *out, size_t k, unsigned o, int zz, uint64_t base,
                              uint64_t x0, uint64_t d1, int conv, double m1, double m2)
{
    uint64_t *u = out + o, bad = 0;
    if (zz)
        for (size_t i = 0; i < k; i++)
            u[i] = (uint64_t)zigzag_dec(u[i]);
    if (o == 0) {
        for (size_t i = 0; i < k; i++)
            u[i] += base;
    } else if (o == 1) {
        uint64_t v = x0;
        out[0] = v;
        for (size_t i = 0; i < k; i++) {
            v += u[i] + base;
            u[i] = v;
        }
    } else {
        uint64_t v = x0 + d1, d = d1;
        out[0] = x0;
        out[1] = v;
        for (size_t i = 0; i < k; i++) {
            d += u[i] + base;
            v += d;
            u[i] = v;
        }
    }
    if (conv != CONV_NONE)
        for (size_t i = 0; i < k + o; i++)
            out[i] = conv1(out[i], conv, m1, m2, &bad);
    return bad;
}


#if PACK_X86
/* Inclusive prefix sum of four lanes: one in-lane shift, then the low
 * half's total added to the high half (one cross-lane permute). */
__attribute__((target("avx2"), always_inline)) static inline u64x4 scan4(u64x4 v)
{
    __m256i x = (__m256i)v;
    x = _mm256_add_epi64(x, _mm256_slli_si256(x, 8));
    __m256i h = _mm256_permute2x128_si256(x, x, 0x08); /* [0, 0 | x0, x1] */
    x = _mm256_add_epi64(x, _mm256_shuffle_epi32(h, 0xee));
    return (u64x4)x;
}

/* The last lane in all four. */
__attribute__((target("avx2"), always_inline)) static inline u64x4 last4(u64x4 v)
{
    __m256i x = _mm256_permute2x128_si256((__m256i)v, (__m256i)v, 0x11);
    return (u64x4)_mm256_shuffle_epi32(x, 0xee);
}

/* As finish_scalar, four words at a time, with the flags constant so that
 * each combination compiles to its own loop.  Running sums are in-register
 * prefix sums (two shifted adds); the carry of the words before is a
 * broadcast vector whose only loop-carried step is one add.  The caller has
 * proven that every integer is in range, so none is checked here. */
__attribute__((target("avx2,fma"), always_inline)) static inline uint64_t
finish_body(uint64_t *out, size_t k, const unsigned o, const int zz, uint64_t base, uint64_t x0,
            uint64_t d1, const int conv, double m1, double m2)
{
    uint64_t *u = out + o, bad = 0;
    const u64x4 one = {1, 1, 1, 1}, zero = {0, 0, 0, 0}, vb = {base, base, base, base};
    const u64x4 magic = {MAGIC, MAGIC, MAGIC, MAGIC};
    const f64x4 md = {MAGIC_D, MAGIC_D, MAGIC_D, MAGIC_D}, v1 = {m1, m1, m1, m1},
                v2 = {m2, m2, m2, m2};
    if (o >= 1)
        out[0] = x0;
    if (o == 2)
        out[1] = x0 += d1;
    u64x4 cv = {x0, x0, x0, x0}, cd = {d1, d1, d1, d1};
    size_t i = 0;
    for (; i + 4 <= k; i += 4) {
        u64x4 v;
        memcpy(&v, u + i, sizeof v);
        if (zz)
            v = (v >> 1) ^ (zero - (v & one));
        v += vb;
        if (o >= 1) {
            v = scan4(v);
            u64x4 lastv = last4(v);
            if (o == 2) {
                v += cd;
                cd += lastv;
                v = scan4(v);
                lastv = last4(v);
            }
            v += cv;
            cv += lastv;
        }
        if (conv != CONV_NONE) {
            f64x4 d = (f64x4)(v + magic) - md;
            if (conv == CONV_FMA) {
                f64x4 q = d * v2;
                d = _mm256_fmadd_pd(_mm256_fnmadd_pd(q, v1, d), v2, q);
            } else {
                d = d * v1 * v2;
            }
            memcpy(u + i, &d, sizeof d);
        } else {
            memcpy(u + i, &v, sizeof v);
        }
    }
    /* the last few words, carrying on from the vector part */
    x0 = cv[0];
    d1 = cd[0];
    for (; i < k; i++) {
        uint64_t r = (zz ? (uint64_t)zigzag_dec(u[i]) : u[i]) + base;
        if (o == 0) {
            u[i] = r;
        } else if (o == 1) {
            x0 += r;
            u[i] = x0;
        } else {
            d1 += r;
            x0 += d1;
            u[i] = x0;
        }
        if (conv != CONV_NONE)
            u[i] = conv1(u[i], conv, m1, m2, &bad);
    }
    for (unsigned j = 0; conv != CONV_NONE && j < o; j++)
        out[j] = conv1(out[j], conv, m1, m2, &bad);
    return bad;
}

#define FINISH_CONV(o, zz)                                                                         \
    (conv == CONV_NONE  ? finish_body(out, k, o, zz, base, x0, d1, CONV_NONE, m1, m2)              \
     : conv == CONV_MUL ? finish_body(out, k, o, zz, base, x0, d1, CONV_MUL, m1, m2)               \
                        : finish_body(out, k, o, zz, base, x0, d1, CONV_FMA, m1, m2))

__attribute__((target("avx2,fma"))) static uint64_t finish_avx2(uint64_t *out, size_t k, unsigned o,
                                                            int zz, uint64_t base, uint64_t x0,
                                                            uint64_t d1, int conv, double m1,
                                                            double m2)
{
    if (o == 0)
        return zz ? FINISH_CONV(0, 1) : FINISH_CONV(0, 0);
    if (o == 1)
        return zz ? FINISH_CONV(1, 1) : FINISH_CONV(1, 0);
    return zz ? FINISH_CONV(2, 1) : FINISH_CONV(2, 0);
}

static uint64_t abs64(uint64_t v)
{
    return (int64_t)v < 0 ? -v : v;
}

/* 1 when every value of the pack is sure to lie in [-2^51, 2^51): the
 * residuals have at most wmax significant bits (exceptions included). */
static int in_range(size_t k, unsigned o, int zz, uint64_t base, uint64_t x0, uint64_t d1,
                    unsigned wmax)
{
    typedef unsigned __int128 u128;
    if (wmax > 62)
        return 0;
    u128 r = (zz ? (wmax ? (u128)1 << (wmax - 1) : 0) : ((u128)1 << wmax)) + abs64(base);
    u128 lim = (u128)N_LIMIT, b;
    if (o == 0)
        b = r;
    else if (o == 1)
        b = abs64(x0) + (u128)k * r;
    else
        b = abs64(x0) + (u128)k * (abs64(d1) + (u128)k * r);
    return b < lim;
}

#endif

static uint64_t finish(uint64_t *out, size_t k, unsigned o, int zz, uint64_t base, uint64_t x0,
                       uint64_t d1, int conv, double m1, double m2, unsigned wmax)
{
#if PACK_X86
    if (have_avx2_fma() && (conv == CONV_NONE || in_range(k, o, zz, base, x0, d1, wmax)))
        return finish_avx2(out, k, o, zz, base, x0, d1, conv, m1, m2);
#else
    (void)wmax;
#endif
    return finish_scalar(out, k, o, zz, base, x0, d1, conv, m1, m2);
}

static long decode(const uint8_t *in, size_t len, size_t m, int x0_known, uint64_t x0, int conv,
                   double m1, double m2, uint64_t *out)
{
    const uint8_t *p = in, *end = in + len;
    uint8_t head;
    /* the pack's cache lines are loaded while its header is read */
    for (size_t at = 64; at < len; at += 64)
        __builtin_prefetch(in + at, 0, 3);
    if (m == 0 || m > PACK_MAX_VALUES || get_u8(&p, end, &head) || (head & HEAD_RESERVED))
        return -1;
    unsigned o = head & HEAD_ORDER, wbits = (head >> HEAD_WBITS_SHIFT) & 7;
    if (o > 2 || o >= m)
        return -1;
    uint64_t d1 = 0, base;
    int64_t s;
    if (o >= 1 && !x0_known) {
        if (get_svarint(&p, end, &s))
            return -1;
        x0 = (uint64_t)s;
    }
    if (o == 2) {
        if (get_svarint(&p, end, &s))
            return -1;
        d1 = (uint64_t)s;
    }
    if (get_svarint(&p, end, &s))
        return -1;
    base = (uint64_t)s;
    size_t k = m - o, nmb = (k + MB - 1) / MB;
    uint8_t w[PACK_MAX_VALUES / MB];
    unsigned wmax = 0;
    size_t wbytes = (nmb * wbits + 7) / 8;
    if (wbytes > (size_t)(end - p))
        return -1;
    uint64_t acc = 0;
    unsigned have = 0;
    const uint8_t *wp = p;
    for (size_t j = 0; j < nmb; j++) {
        while (have < wbits) {
            acc |= (uint64_t)*wp++ << have;
            have += 8;
        }
        w[j] = (uint8_t)(acc & ((1u << wbits) - 1));
        acc >>= wbits;
        have -= wbits;
        if (w[j] > 64)
            return -1;
        wmax = w[j] > wmax ? w[j] : wmax;
    }
    p += wbytes;
    uint64_t *u = out + o;
    p = unpack_all(p, end, w, k, u);
    if (!p)
        return -1;
    if (head & HEAD_EXC) {
        uint64_t e, gap, high;
        if (get_varint(&p, end, &e) || e == 0 || e > k)
            return -1;
        size_t pos = 0;
        for (uint64_t i = 0; i < e; i++) {
            if (get_varint(&p, end, &gap) || get_varint(&p, end, &high) || high == 0)
                return -1;
            if (i > 0 && gap >= k - pos)
                return -1;
            pos = i == 0 ? gap : pos + 1 + gap;
            if (pos >= k)
                return -1;
            unsigned wj = w[pos / MB], we = wj + width_of(high);
            if (we > 64)
                return -1;
            wmax = we > wmax ? we : wmax;
            u[pos] |= high << wj;
        }
    }
    if (finish(out, k, o, (head & HEAD_ZIGZAG) != 0, base, x0, d1, conv, m1, m2, wmax))
        return -1;
    return (long)(p - in);
}

long pack_decode(const uint8_t *in, size_t len, size_t m, int x0_known, uint64_t x0,
                 uint64_t *out)
{
    return decode(in, len, m, x0_known, x0, CONV_NONE, 0, 0, out);
}

long pack_decode_f64(const uint8_t *in, size_t len, size_t m, int x0_known, uint64_t x0,
                     const pack_to_f64 *to, uint64_t *out)
{
    return decode(in, len, m, x0_known, x0, to->fma ? CONV_FMA : CONV_MUL, to->m1, to->m2, out);
}

/* ---- exact sums ------------------------------------------------------------------- */

/* The fast sums hold while every |x[i] - x[0]| < SUMS_NEAR: squares then fit
 * 32 x 32-bit multiplies and 8192 of them a 64-bit sum. */
#define SUMS_NEAR ((uint64_t)1 << 24)

/* Sums in 64-bit words, wrapping; *far gets a bit at or above 25 set when
 * some x[i] - ref + SUMS_NEAR is not below 2 * SUMS_NEAR. */
static void sums_near(const uint64_t *x, size_t m, uint64_t ref, uint64_t *s1, uint64_t *s2,
                      uint64_t *far)
{
    uint64_t a1 = 0, a2 = 0, o = 0;
    for (size_t i = 0; i < m; i++) {
        uint64_t d = x[i] - ref;
        o |= d + SUMS_NEAR;
        a1 += d;
        a2 += d * d;
    }
    *s1 = a1;
    *s2 = a2;
    *far = o;
}

#if PACK_X86
__attribute__((target("avx2"))) static void sums_near_avx2(const uint64_t *x, size_t m,
                                                           uint64_t ref, uint64_t *s1,
                                                           uint64_t *s2, uint64_t *far)
{
    const __m256i vr = _mm256_set1_epi64x((long long)ref),
                  vb = _mm256_set1_epi64x((long long)SUMS_NEAR);
    __m256i a1 = _mm256_setzero_si256(), a2 = a1, o = a1, b1 = a1, b2 = a1;
    size_t i = 0;
    for (; i + 8 <= m; i += 8) {
        __m256i d = _mm256_sub_epi64(_mm256_loadu_si256((const __m256i *)(const void *)(x + i)), vr);
        __m256i e =
            _mm256_sub_epi64(_mm256_loadu_si256((const __m256i *)(const void *)(x + i + 4)), vr);
        o = _mm256_or_si256(o, _mm256_or_si256(_mm256_add_epi64(d, vb), _mm256_add_epi64(e, vb)));
        a1 = _mm256_add_epi64(a1, d);
        b1 = _mm256_add_epi64(b1, e);
        a2 = _mm256_add_epi64(a2, _mm256_mul_epi32(d, d));
        b2 = _mm256_add_epi64(b2, _mm256_mul_epi32(e, e));
    }
    uint64_t t1, t2, to;
    sums_near(x + i, m - i, ref, &t1, &t2, &to);
    u64x4 v1 = (u64x4)_mm256_add_epi64(a1, b1), v2 = (u64x4)_mm256_add_epi64(a2, b2),
          vo = (u64x4)o;
    *s1 = t1 + v1[0] + v1[1] + v1[2] + v1[3];
    *s2 = t2 + v2[0] + v2[1] + v2[2] + v2[3];
    *far = to | vo[0] | vo[1] | vo[2] | vo[3];
}
#endif

int pack_sums_of(const uint64_t *x, size_t m, pack_sums *out)
{
    int64_t ref = (int64_t)x[0];
    out->ref = ref;
    if (ref > -(int64_t)(N_LIMIT - SUMS_NEAR) && ref < (int64_t)(N_LIMIT - SUMS_NEAR)) {
        uint64_t s1, s2, far;
#if PACK_X86
        if (have_avx2_fma())
            sums_near_avx2(x, m, (uint64_t)ref, &s1, &s2, &far);
        else
#endif
            sums_near(x, m, (uint64_t)ref, &s1, &s2, &far);
        if (!(far >> 25)) { /* every difference near: the 64-bit sums are exact */
            out->s1 = (int64_t)s1;
            out->s2 = s2;
            return 0;
        }
    }
    __int128 a1 = 0;
    unsigned __int128 a2 = 0;
    uint64_t bad = 0;
    for (size_t i = 0; i < m; i++) {
        bad |= (x[i] + N_LIMIT) >> 52;
        __int128 d = (__int128)(int64_t)x[i] - ref;
        unsigned __int128 u = (unsigned __int128)d; /* wraps only for words out of range */
        a1 += d;
        a2 += u * u;
    }
    out->s1 = a1;
    out->s2 = a2;
    return bad ? -1 : 0;
}
