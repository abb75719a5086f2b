/*
 * codec_ts_dod.c — CODEC_TS_DOD: int64 nanosecond timestamps as
 * delta-of-delta with Gorilla-style buckets, FORMAT.md §6.1.
 *
 * Any sequence round-trips exactly: negative, equal, decreasing, and the
 * full int64 range.  Differences are taken in uint64 (wrapping), so the
 * encoder never overflows and the decoder undoes it by wrapping back.
 *
 * Encoding, an MSB-first bit stream (bitstream.h), zero-padded to a byte;
 * zz() is zigzag (varint.h) of the wrapped difference read as int64:
 *
 *   ts[0]                      64 bits, raw two's complement
 *   if n > 1, z = zz(ts[1] - ts[0]):
 *                              L:7 = bit width of z (0..64), then L bits of z
 *   for i >= 2, z = zz((ts[i] - ts[i-1]) - (ts[i-1] - ts[i-2])):
 *     z == 0                   '0'
 *     z < 2^12                 '10'   12 bits
 *     z < 2^24                 '110'  24 bits
 *     z < 2^40                 '1110' 40 bits
 *     otherwise                '1111' 64 bits
 *
 * Invariants: the encoder always picks the smallest bucket, but the decoder
 * accepts a value in any bucket wide enough for it.  The decoder rejects
 * (returns -1) L > 64, a stream that ends before n values, and a buffer one
 * or more whole bytes longer than the stream.  Padding bits are not checked.
 */
#include "engine/bitstream.h"
#include "engine/codec.h"
#include "engine/varint.h"

static size_t ts_bound(size_t n)
{
    if (n == 0)
        return 0;
    size_t bits = 64;
    if (n > 1)
        bits += 7 + 64;
    if (n > 2)
        bits += (n - 2) * (4 + 64);
    return (bits + 7) / 8;
}

static uint64_t zz(uint64_t d)
{
    return zigzag_enc((int64_t)d);
}

static uint64_t unzz(uint64_t z)
{
    return (uint64_t)zigzag_dec(z);
}

static size_t ts_encode(const uint64_t *in, size_t n, uint8_t *out)
{
    if (n == 0)
        return 0;
    bitw w;
    bitw_init(&w, out);
    bitw_put(&w, in[0], 64);
    if (n > 1) {
        uint64_t z = zz(in[1] - in[0]);
        unsigned L = bit_width(z);
        bitw_put(&w, L, 7);
        if (L)
            bitw_put(&w, z, L);
    }
    uint64_t prev_delta = n > 1 ? in[1] - in[0] : 0;
    for (size_t i = 2; i < n; i++) {
        uint64_t delta = in[i] - in[i - 1];
        uint64_t z = zz(delta - prev_delta);
        prev_delta = delta;
        if (z == 0)
            bitw_put(&w, 0, 1);
        else if (z < (1ull << 12))
            bitw_put(&w, (2ull << 12) | z, 14);
        else if (z < (1ull << 24))
            bitw_put(&w, (6ull << 24) | z, 27);
        else if (z < (1ull << 40))
            bitw_put(&w, (14ull << 40) | z, 44);
        else {
            bitw_put(&w, 15, 4);
            bitw_put(&w, z, 64);
        }
    }
    return bitw_finish(&w);
}

static int ts_decode(const uint8_t *in, size_t len, size_t n, const codec_ends *ends,
                     uint64_t *out)
{
    (void)ends;
    if (n == 0)
        return len == 0 ? 0 : -1;
    bitr r;
    bitr_init(&r, in, len);
    uint64_t ts = bitr_get64(&r, 64);
    out[0] = ts;
    if (n == 1)
        return bitr_done(&r);
    unsigned L = (unsigned)bitr_get(&r, 7);
    if (L > 64)
        return -1;
    uint64_t delta = L ? unzz(bitr_get64(&r, L)) : 0;
    ts += delta;
    out[1] = ts;
    size_t i = 2;
    while (i < n) {
        uint64_t word = bitr_peek(&r);
        /* A run of '0' bits: equal deltas, no per-value branches.  Only the
         * top 57 bits of the word are sure to be stream bits. */
        unsigned zeros = word ? (unsigned)__builtin_clzll(word) : 64;
        if (zeros) {
            size_t run = zeros > 57 ? 57 : zeros;
            if (run > n - i)
                run = n - i;
            for (size_t j = 0; j < run; j++)
                out[i + j] = ts + (j + 1) * delta;
            ts += run * delta;
            i += run;
            bitr_skip(&r, (unsigned)run);
            continue;
        }
        uint64_t z;
        if (!(word & (1ull << 62))) {
            z = (word >> 50) & 0xfff;
            bitr_skip(&r, 14);
        } else if (!(word & (1ull << 61))) {
            z = (word >> 37) & 0xffffff;
            bitr_skip(&r, 27);
        } else if (!(word & (1ull << 60))) {
            z = (word >> 20) & 0xffffffffffull;
            bitr_skip(&r, 44);
        } else {
            bitr_skip(&r, 4);
            z = bitr_get64(&r, 64);
        }
        delta += unzz(z);
        ts += delta;
        out[i++] = ts;
    }
    return bitr_done(&r);
}

const codec codec_ts_dod = {
    .id = CODEC_TS_DOD,
    .name = "ts-dod",
    .columns = CODEC_COL_TS,
    .bound = ts_bound,
    .encode = ts_encode,
    .decode = ts_decode,
};
