/*
 * codec_const.c — CODEC_CONST: a value column whose words are all equal
 * costs no bytes at all, FORMAT.md §6.5.  The value is the chunk's `first`
 * statistic, which the index entry stores anyway (for float64 as stored,
 * NaN payload and sign included); the decoder is told it.
 *
 * Invariants: the encoder answers CODEC_NA unless every word equals the
 * first; the decoder accepts only len 0, and only when the first and last
 * it is told are equal.
 */
#include "engine/codec.h"

static size_t const_bound(size_t n)
{
    (void)n;
    return 0;
}

static size_t const_encode(const uint64_t *in, size_t n, uint8_t *out)
{
    (void)out;
    for (size_t i = 1; i < n; i++)
        if (in[i] != in[0])
            return CODEC_NA;
    return 0;
}

static int const_decode(const uint8_t *in, size_t len, size_t n, const codec_ends *ends,
                        uint64_t *out)
{
    (void)in;
    if (len != 0)
        return -1;
    if (n == 0)
        return 0;
    if (!ends || ends->first != ends->last)
        return -1;
    for (size_t i = 0; i < n; i++)
        out[i] = ends->first;
    return 0;
}

const codec codec_const = {
    .id = CODEC_CONST,
    .name = "const",
    .columns = CODEC_COL_F64 | CODEC_COL_I64 | CODEC_COL_BOOL,
    .bound = const_bound,
    .encode = const_encode,
    .decode = const_decode,
};
