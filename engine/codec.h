/*
 * codec.h — column codecs: how one chunk's timestamps or values become
 * bytes (FORMAT.md §6, "Codecs").
 *
 * Every column is passed as an array of 64-bit words: timestamps as int64
 * cast to uint64, float64 values as their IEEE-754 bit patterns (so NaN
 * payloads and -0.0 survive), int64 values cast to uint64, bools as 0/1.
 * The value count is not part of the encoding: the chunk's index entry
 * stores it and the decoder is told.  So are the column's first and last
 * words (a timestamp column's tmin and tmax, a value column's first and
 * last statistics), which some codecs use instead of storing them again.
 *
 * Encoders write at most codec->bound(n) bytes into `out` and return the
 * number written, or CODEC_NA when the codec cannot represent this input
 * (a constant codec given two different values, more values than a packed
 * codec takes); then nothing useful is in `out`.  Decoders are safe on any
 * input: they never read outside [in, in+len) and return -1 when the bytes
 * cannot be n values of their codec (stream ends early, impossible field,
 * disagreement with the ends they were told), 0 on success.
 *
 * Codec ids are stored on disk and never reused.  A codec declares the
 * columns it may encode; a segment reader refuses a chunk whose codec does
 * not fit its column.
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
    CODEC_RAW = 5,         /* any word: 8 bytes each, little-endian */
    CODEC_CONST = 6,       /* values: every one equals the first; 0 bytes */
    CODEC_TS_LINEAR = 7,   /* timestamps: a line from tmin to tmax plus packed residuals */
    CODEC_F64_DECIMAL = 8, /* float64: decimal integers, packed, with patches */
    CODEC_I64_PACK = 9,    /* int64: packed frame of reference / deltas */
    CODEC_MAX_ID = 9
};

/* The columns a codec may encode (codec.columns is a mask of these). */
#define CODEC_COL_TS 1u   /* a timestamp column */
#define CODEC_COL_F64 2u  /* the values of a float64 series */
#define CODEC_COL_I64 4u  /* the values of an int64 series */
#define CODEC_COL_BOOL 8u /* the values of a bool series */

/* encode()'s answer when the codec does not apply to the input. */
#define CODEC_NA ((size_t)-1)

/* What the decoder is told besides the bytes: the column's first and last
 * word as the chunk's index entry records them. */
typedef struct codec_ends {
    uint64_t first, last;
} codec_ends;

/* The moments of a float64 column, for aggregates that need no single
 * value (stddev): of the values that are not NaN, their number, mean and
 * sum of squared deviations from the mean (m2).  An infinity among them
 * makes m2 NaN. */
typedef struct codec_moments {
    uint64_t n;
    double mean, m2;
} codec_moments;

typedef struct codec {
    uint8_t id;
    const char *name;
    unsigned columns; /* CODEC_COL_* */
    size_t (*bound)(size_t n);
    size_t (*encode)(const uint64_t *in, size_t n, uint8_t *out);
    int (*decode)(const uint8_t *in, size_t len, size_t n, const codec_ends *ends, uint64_t *out);
    /* Optional (NULL when absent), float64 columns only: the moments of the
     * n values decode() would give, without producing them; scratch has
     * room for n words.  Safe on any input like decode(), and -1 on the
     * same inputs. */
    int (*moments)(const uint8_t *in, size_t len, size_t n, const codec_ends *ends,
                   uint64_t *scratch, codec_moments *out);
} codec;

/* The codec with this id, or NULL for an unknown id. */
const codec *codec_get(unsigned id);

/* The column mask for a series type's values (STRATA_F64 ...), or
 * CODEC_COL_TS for type 0. */
unsigned codec_column(uint8_t type);

/* The individual codecs (codec_get() returns these). */
extern const codec codec_ts_dod;
extern const codec codec_f64_gorilla;
extern const codec codec_i64_delta;
extern const codec codec_bool_bits;
extern const codec codec_raw;
extern const codec codec_const;
extern const codec codec_ts_linear;
extern const codec codec_f64_decimal;
extern const codec codec_i64_pack;

#endif
