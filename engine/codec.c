/*
 * codec.c — the codec table: maps the on-disk codec id (FORMAT.md §6) to
 * its implementation.  Ids are never reused; an unknown id is NULL so that
 * a reader can report a chunk it cannot decode instead of guessing.
 */
#include "engine/codec.h"

static const codec *const codecs[CODEC_MAX_ID + 1] = {
    [CODEC_TS_DOD] = &codec_ts_dod,
    [CODEC_F64_GORILLA] = &codec_f64_gorilla,
    [CODEC_I64_DELTA] = &codec_i64_delta,
    [CODEC_BOOL_BITS] = &codec_bool_bits,
};

const codec *codec_get(unsigned id)
{
    return id <= CODEC_MAX_ID ? codecs[id] : NULL;
}
