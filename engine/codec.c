/*
 * codec.c — the codec table: maps the on-disk codec id (FORMAT.md §6) to
 * its implementation.  Ids are never reused; an unknown id is NULL so that
 * a reader can report a chunk it cannot decode instead of guessing.
 */
#include "engine/codec.h"

#include "strata.h"

static const codec *const codecs[CODEC_MAX_ID + 1] = {
    [CODEC_TS_DOD] = &codec_ts_dod,         [CODEC_F64_GORILLA] = &codec_f64_gorilla,
    [CODEC_I64_DELTA] = &codec_i64_delta,   [CODEC_BOOL_BITS] = &codec_bool_bits,
    [CODEC_RAW] = &codec_raw,               [CODEC_CONST] = &codec_const,
    [CODEC_TS_LINEAR] = &codec_ts_linear,   [CODEC_F64_DECIMAL] = &codec_f64_decimal,
    [CODEC_I64_PACK] = &codec_i64_pack,
};

const codec *codec_get(unsigned id)
{
    return id <= CODEC_MAX_ID ? codecs[id] : NULL;
}

unsigned codec_column(uint8_t type)
{
    switch (type) {
    case STRATA_F64: return CODEC_COL_F64;
    case STRATA_I64: return CODEC_COL_I64;
    case STRATA_BOOL: return CODEC_COL_BOOL;
    default: return CODEC_COL_TS;
    }
}
