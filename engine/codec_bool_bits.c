/*
 * codec_bool_bits.c — CODEC_BOOL_BITS: bool columns as one bit per value,
 * FORMAT.md §6.4.
 *
 * Encoding: value i is bit 7 - (i % 8) of byte i / 8 (MSB-first, as the
 * other bit streams); the last byte is padded with zero bits, so the stream
 * is exactly ceil(n/8) bytes.  The encoder takes the low bit of each input
 * word (callers pass 0 or 1).
 *
 * Invariants: the decoder produces only 0 and 1 and rejects (returns -1) a
 * buffer whose length is not ceil(n/8).  Padding bits are not checked.
 */
#include "engine/codec.h"

static size_t bits_bound(size_t n)
{
    return n / 8 + (n % 8 != 0);
}

static size_t bits_encode(const uint64_t *in, size_t n, uint8_t *out)
{
    size_t whole = n / 8;
    for (size_t b = 0; b < whole; b++) {
        const uint64_t *v = in + 8 * b;
        unsigned byte = 0;
        for (unsigned j = 0; j < 8; j++)
            byte |= (unsigned)(v[j] & 1) << (7 - j);
        out[b] = (uint8_t)byte;
    }
    if (n % 8) {
        unsigned byte = 0;
        for (unsigned j = 0; j < n % 8; j++)
            byte |= (unsigned)(in[8 * whole + j] & 1) << (7 - j);
        out[whole] = (uint8_t)byte;
    }
    return bits_bound(n);
}

static int bits_decode(const uint8_t *in, size_t len, size_t n, const codec_ends *ends,
                       uint64_t *out)
{
    (void)ends;
    if (len != bits_bound(n))
        return -1;
    size_t whole = n / 8;
    for (size_t b = 0; b < whole; b++) {
        unsigned byte = in[b];
        for (unsigned j = 0; j < 8; j++)
            out[8 * b + j] = (byte >> (7 - j)) & 1;
    }
    for (unsigned j = 0; j < n % 8; j++)
        out[8 * whole + j] = (in[whole] >> (7 - j)) & 1;
    return 0;
}

const codec codec_bool_bits = {
    .id = CODEC_BOOL_BITS,
    .name = "bool-bits",
    .columns = CODEC_COL_BOOL,
    .bound = bits_bound,
    .encode = bits_encode,
    .decode = bits_decode,
};
