/*
 * codec_raw.c — CODEC_RAW: every word as 8 little-endian bytes, FORMAT.md
 * §6.5.  The fallback that bounds every column at 8 bytes per value (the
 * bit-stream codecs can exceed it on random input); timestamps, float64
 * and int64 columns.
 *
 * Invariants: the decoder accepts exactly 8n bytes and nothing else.
 */
#include "engine/codec.h"
#include "engine/varint.h"

static size_t raw_bound(size_t n)
{
    return 8 * n;
}

static size_t raw_encode(const uint64_t *in, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i++)
        store_u64(out + 8 * i, in[i]);
    return 8 * n;
}

static int raw_decode(const uint8_t *in, size_t len, size_t n, const codec_ends *ends,
                      uint64_t *out)
{
    (void)ends;
    if (n > SIZE_MAX / 8 || len != 8 * n)
        return -1;
    for (size_t i = 0; i < n; i++)
        out[i] = load_u64(in + 8 * i);
    return 0;
}

const codec codec_raw = {
    .id = CODEC_RAW,
    .name = "raw",
    .columns = CODEC_COL_TS | CODEC_COL_F64 | CODEC_COL_I64,
    .bound = raw_bound,
    .encode = raw_encode,
    .decode = raw_decode,
};
