/*
 * codec_f64_gorilla.c — CODEC_F64_GORILLA: float64 columns as XOR against
 * the previous value (Pelkonen et al., "Gorilla", VLDB 2015, §4.1.2),
 * FORMAT.md §6.2.
 *
 * Works on the raw IEEE-754 bit patterns, so every value round-trips bit for
 * bit (NaN payloads, signalling NaNs, -0.0, denormals); no float arithmetic.
 *
 * Encoding, an MSB-first bit stream (bitstream.h), zero-padded to a byte:
 *
 *   v[0]                       64 bits, raw
 *   for i >= 1, x = v[i] ^ v[i-1]:
 *     x == 0                   '0'
 *     x fits the window        '10'  m bits: x >> tz'
 *     otherwise                '11'  lz:5  ml:6  ml bits: x >> tz
 *
 * lz = min(clz(x), 31), tz = ctz(x), ml = 64 - lz - tz (64 is written as 0).
 * "Fits the window" means a window exists (some earlier value took the '11'
 * form) and lz >= lz', tz >= tz', where (lz', tz') is the window of the last
 * '11' value and m = 64 - lz' - tz'.  A '11' value always sets the window,
 * even when it is no narrower than the old one.
 *
 * Invariants: the window's lz' <= 31 and lz' + tz' <= 63, so m >= 1; the
 * encoder never emits '10' before the first '11'.  The decoder rejects
 * (returns -1) a '10' with no window, a '11' whose lz + ml exceeds 64, a
 * stream that ends before n values, and a buffer one or more whole bytes
 * longer than the stream.  Padding bits are not checked.
 */
#include "engine/bitstream.h"
#include "engine/codec.h"

/* Worst case per value after the first: '11' + 5 + 6 + 64 bits. */
#define GORILLA_MAX_BITS 77

static size_t gorilla_bound(size_t n)
{
    if (n == 0)
        return 0;
    return (64 + (n - 1) * GORILLA_MAX_BITS + 7) / 8;
}

static size_t gorilla_encode(const uint64_t *in, size_t n, uint8_t *out)
{
    if (n == 0)
        return 0;
    bitw w;
    bitw_init(&w, out);
    uint64_t prev = in[0];
    bitw_put(&w, prev, 64);
    /* tz' = 65 makes the first "fits the window" test fail. */
    unsigned plz = 0, ptz = 65, pml = 0;
    for (size_t i = 1; i < n; i++) {
        uint64_t x = in[i] ^ prev;
        prev = in[i];
        if (x == 0) {
            bitw_put(&w, 0, 1);
            continue;
        }
        unsigned lz = (unsigned)__builtin_clzll(x);
        unsigned tz = (unsigned)__builtin_ctzll(x);
        lz = lz > 31 ? 31 : lz;
        if (lz >= plz && tz >= ptz) {
            uint64_t bits = x >> ptz;
            if (pml <= 62) {
                bitw_put(&w, (2ull << pml) | bits, pml + 2);
            } else {
                bitw_put(&w, 2, 2);
                bitw_put(&w, bits, pml);
            }
            continue;
        }
        unsigned ml = 64 - lz - tz;
        uint64_t head = (3u << 11) | (lz << 6) | (ml & 63);
        uint64_t bits = x >> tz;
        if (ml <= 51) {
            bitw_put(&w, (head << ml) | bits, ml + 13);
        } else {
            bitw_put(&w, head, 13);
            bitw_put(&w, bits, ml);
        }
        plz = lz;
        ptz = tz;
        pml = ml;
    }
    return bitw_finish(&w);
}

static int gorilla_decode(const uint8_t *in, size_t len, size_t n, const codec_ends *ends,
                          uint64_t *out)
{
    (void)ends;
    if (n == 0)
        return len == 0 ? 0 : -1;
    bitr r;
    bitr_init(&r, in, len);
    uint64_t v = bitr_get64(&r, 64);
    out[0] = v;
    unsigned ptz = 0, pml = 0; /* pml == 0: no window yet */
    size_t i = 1;
    while (i < n) {
        uint64_t word = bitr_peek(&r);
        if (!(word >> 63)) {
            /* A run of '0' bits is a run of repeats, copied in one go.  Only
             * the top 57 bits of the word are sure to be stream bits. */
            size_t run = word ? (size_t)__builtin_clzll(word) : 64;
            run = run > 57 ? 57 : run;
            run = run > n - i ? n - i : run;
            for (size_t j = 0; j < run; j++)
                out[i + j] = v;
            i += run;
            bitr_skip(&r, (unsigned)run);
            continue;
        }
        /* The header and the bits usually fit in the 57 bits at hand. */
        uint64_t x;
        if (!(word & (1ull << 62))) {
            if (BIT_UNLIKELY(pml == 0))
                return -1;
            if (pml <= 55) {
                x = (word << 2) >> (64 - pml);
                bitr_skip(&r, pml + 2);
            } else {
                bitr_skip(&r, 2);
                x = bitr_get64(&r, pml);
            }
        } else {
            unsigned lz = (unsigned)(word >> 57) & 31;
            unsigned ml = (unsigned)(word >> 51) & 63;
            ml = ml ? ml : 64;
            if (BIT_UNLIKELY(lz + ml > 64))
                return -1;
            ptz = 64 - lz - ml;
            pml = ml;
            if (ml <= 44) {
                x = (word << 13) >> (64 - ml);
                bitr_skip(&r, ml + 13);
            } else {
                bitr_skip(&r, 13);
                x = bitr_get64(&r, ml);
            }
        }
        v ^= x << ptz;
        out[i++] = v;
    }
    return bitr_done(&r);
}

const codec codec_f64_gorilla = {
    .id = CODEC_F64_GORILLA,
    .name = "f64-gorilla",
    .columns = CODEC_COL_F64,
    .bound = gorilla_bound,
    .encode = gorilla_encode,
    .decode = gorilla_decode,
};
