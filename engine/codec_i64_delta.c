/*
 * codec_i64_delta.c — CODEC_I64_DELTA: int64 columns as zigzag deltas in
 * LEB128 varints, FORMAT.md §6.3.
 *
 * Encoding, a byte stream (varints as in FORMAT.md §1, varint.h):
 *
 *   varint(zz(v[0]))
 *   for i >= 1:  varint(zz(v[i] - v[i-1]))
 *
 * zz() is zigzag; the difference is taken in uint64 (wrapping) and read as
 * int64, so INT64_MIN after INT64_MAX costs one small varint.  Equivalently
 * every value is a delta from the previous one, with v[-1] = 0.
 *
 * Invariants: the decoder accepts non-minimal varints but rejects (returns
 * -1) a varint longer than 10 bytes or above 2^64 - 1, a stream that ends
 * before n values, and bytes left after the n-th value.
 */
#include "engine/bitstream.h"
#include "engine/codec.h"
#include "engine/varint.h"

static size_t delta_bound(size_t n)
{
    return n * VARINT_MAX;
}

static size_t delta_encode(const uint64_t *in, size_t n, uint8_t *out)
{
    uint8_t *p = out;
    uint64_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        put_varint(&p, zigzag_enc((int64_t)(in[i] - prev)));
        prev = in[i];
    }
    return (size_t)(p - out);
}

static uint64_t le64_load(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

/* The low 7 bits of each byte of w, packed into 56 bits (byte 0 lowest). */
static uint64_t pack7x8(uint64_t w)
{
    uint64_t x = w & 0x7f7f7f7f7f7f7f7full;
    x = ((x & 0x7f007f007f007f00ull) >> 1) | (x & 0x007f007f007f007full);
    x = ((x & 0x3fff00003fff0000ull) >> 2) | (x & 0x00003fff00003fffull);
    return ((x & 0x0fffffff00000000ull) >> 4) | (x & 0x000000000fffffffull);
}

/* One varint with VARINT_MAX bytes known to be readable; -1 when it is
 * longer than that or overflows 64 bits.  The first 8 bytes are handled as
 * one word: the first byte without a continuation bit ends the varint. */
static int get_varint_unchecked(const uint8_t **p, uint64_t *v)
{
    const uint8_t *q = *p;
    uint64_t w = le64_load(q);
    uint64_t stops = ~w & 0x8080808080808080ull;
    if (BIT_LIKELY(stops)) {
        unsigned bits = (unsigned)__builtin_ctzll(stops) + 1; /* through the last byte */
        *p = q + bits / 8;
        *v = pack7x8(bits == 64 ? w : w & ((1ull << bits) - 1));
        return 0;
    }
    uint64_t r = pack7x8(w) | (uint64_t)(q[8] & 0x7f) << 56;
    if (!(q[8] & 0x80)) {
        *p = q + 9;
        *v = r;
        return 0;
    }
    if (q[9] > 1)
        return -1; /* the tenth byte holds bit 63 only */
    *p = q + 10;
    *v = r | (uint64_t)q[9] << 63;
    return 0;
}

static int delta_decode(const uint8_t *in, size_t len, size_t n, const codec_ends *ends,
                        uint64_t *out)
{
    (void)ends;
    const uint8_t *p = in, *end = in + len;
    uint64_t v = 0;
    size_t i = 0;
    while (i < n && end - p >= VARINT_MAX) {
        uint64_t u = *p;
        if (BIT_LIKELY(u < 0x80))
            p++;
        else if (get_varint_unchecked(&p, &u))
            return -1;
        v += (uint64_t)zigzag_dec(u);
        out[i++] = v;
    }
    for (; i < n; i++) {
        uint64_t u;
        if (get_varint(&p, end, &u))
            return -1;
        v += (uint64_t)zigzag_dec(u);
        out[i] = v;
    }
    return p == end ? 0 : -1;
}

const codec codec_i64_delta = {
    .id = CODEC_I64_DELTA,
    .name = "i64-delta",
    .columns = CODEC_COL_I64,
    .bound = delta_bound,
    .encode = delta_encode,
    .decode = delta_decode,
};
