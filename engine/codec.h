/*
 * codec.h — column codecs: how one chunk's timestamps or values become
 * bytes (FORMAT.md §6, "Codecs").
 *
 * Every column is passed as an array of 64-bit words: timestamps as int64
 * cast to uint64, float64 values as their IEEE-754 bit patterns (so NaN
 * payloads and -0.0 survive), int64 values cast to uint64, bools as 0/1.
 * The value count is not part of the encoding: the chunk header stores it
 * and the decoder is told.
 *
 * Encoders write at most codec->bound(n) bytes into `out` and return the
 * number written.  Decoders are safe on any input: they never read outside
 * [in, in+len) and return -1 when the bytes cannot be n values of their
 * codec (stream ends early, impossible field), 0 on success.
 *
 * Codec ids are stored on disk and never reused.
 */
#ifndef STRATA_CODEC_H
#define STRATA_CODEC_H

#include <stddef.h>
#include <stdint.h>

enum codec_id {
    CODEC_TS_DOD = 1,      /* timestamps: delta-of-delta, Gorilla-style buckets */
    CODEC_F64_GORILLA = 2, /* float64: Gorilla XOR */
    CODEC_I64_DELTA = 3,   /* int64: delta + zigzag + LEB128 varint */
    CODEC_BOOL_BITS = 4,   /* bool: one bit per value */
    CODEC_MAX_ID = 4
};

typedef struct codec {
    uint8_t id;
    const char *name;
    size_t (*bound)(size_t n);
    size_t (*encode)(const uint64_t *in, size_t n, uint8_t *out);
    int (*decode)(const uint8_t *in, size_t len, size_t n, uint64_t *out);
} codec;

/* The codec with this id, or NULL for an unknown id. */
const codec *codec_get(unsigned id);

/* The individual codecs (codec_get() returns these). */
extern const codec codec_ts_dod;
extern const codec codec_f64_gorilla;
extern const codec codec_i64_delta;
extern const codec codec_bool_bits;

#endif
