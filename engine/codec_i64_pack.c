/*
 * codec_i64_pack.c — CODEC_I64_PACK: int64 columns as one pack (pack.h,
 * FORMAT.md §6.6): frame of reference, deltas or deltas of deltas,
 * bit-packed in miniblocks of 32 with exceptions, whichever is smallest.
 * Runs of equal values (or of equal steps) cost only their miniblocks'
 * width fields.  The first value is the chunk's `first` statistic, which
 * the decoder is told, so it is not stored again.
 *
 * Invariants: at most PACK_MAX_VALUES values (the encoder answers
 * CODEC_NA above); the column must be exactly one pack.
 */
#include "engine/codec.h"
#include "engine/pack.h"

static size_t ipack_bound(size_t n)
{
    return n == 0 ? 0 : pack_bound(n);
}

static size_t ipack_encode(const uint64_t *in, size_t n, uint8_t *out)
{
    if (n == 0)
        return 0;
    if (n > PACK_MAX_VALUES)
        return CODEC_NA;
    return pack_encode(in, n, 0, 1, out);
}

static int ipack_decode(const uint8_t *in, size_t len, size_t n, const codec_ends *ends,
                        uint64_t *out)
{
    if (n == 0)
        return len == 0 ? 0 : -1;
    if (!ends)
        return -1;
    return pack_decode(in, len, n, 1, ends->first, out) == (long)len ? 0 : -1;
}

const codec codec_i64_pack = {
    .id = CODEC_I64_PACK,
    .name = "i64-pack",
    .columns = CODEC_COL_I64,
    .bound = ipack_bound,
    .encode = ipack_encode,
    .decode = ipack_decode,
};
