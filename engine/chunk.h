/*
 * chunk.h — one chunk of one series: how its points are grouped (the time
 * grid), its statistics, and its encoding into a timestamp column and a
 * value column (FORMAT.md §5.2, §5.3): the writer tries the codecs that fit
 * each column and keeps the smallest, then LZ4 over both columns when that
 * is smaller still.
 */
#ifndef STRATA_CHUNK_H
#define STRATA_CHUNK_H

#include "engine/codec.h"

#include <stddef.h>
#include <stdint.h>

/* Statistics of a chunk, as 64-bit words in the series' type:
 *   float64: min/max over the non-NaN values (NaN when all are NaN), sum of
 *            the non-NaN values in time order, first/last as stored (any
 *            value, NaN included), nan_count.
 *   int64:   min, max, first, last; sum wraps, with SEG_STAT_SUM_OVERFLOW.
 *   bool:    sum = number of true values; first, last; min/max follow. */
typedef struct chunk_stats {
    uint32_t count;
    uint32_t nan_count;
    uint8_t flags;
    uint64_t min, max, sum, first, last;
} chunk_stats;

typedef struct chunk_meta {
    int64_t tmin, tmax;
    uint64_t data_off;        /* file offset of the chunk's stored bytes */
    uint32_t ts_len, val_len; /* the two columns' lengths (uncompressed) */
    uint32_t zlen;            /* stored bytes when LZ4-compressed, else 0 */
    uint32_t checksum;        /* low 32 bits of XXH3-64 over the stored bytes */
    uint8_t ts_codec, val_codec;
    chunk_stats st;
} chunk_meta;

/* Bytes the chunk occupies in the file. */
static inline uint32_t chunk_stored_len(const chunk_meta *m)
{
    return m->zlen ? m->zlen : m->ts_len + m->val_len;
}

void chunk_stats_compute(uint8_t type, const uint64_t *v, size_t n, chunk_stats *out /* OUT */);

/* The grid width (ns) for cutting sorted timestamps ts[0..n) that lie in a
 * partition of width part_ns into chunks of about SEG_CHUNK_TARGET points;
 * chunk boundaries fall on multiples of it (a cell holding more than
 * SEG_CHUNK_MAX points is split into several chunks by count). */
int64_t chunk_grid(const int64_t *ts, size_t n, int64_t part_ns);
/* Length of the chunk starting at ts[0] (at most n, at most SEG_CHUNK_MAX):
 * the points in the same grid cell. */
size_t chunk_span(const int64_t *ts, size_t n, int64_t grid);

/* Which codecs the writer tries. */
enum chunk_policy {
    CHUNK_BEST = 0,   /* every codec that fits, and LZ4: the smallest wins */
    CHUNK_CLASSIC = 1 /* the version-1 codecs only (ts-dod, f64-gorilla,
                         i64-delta, bool-bits), no LZ4: for comparisons */
};

/* Benchmarks: every chunk_encode() uses this policy whatever it is asked,
 * e.g. CHUNK_CLASSIC for a database of Gorilla-only chunks to compare
 * with; -1 (the default) restores the policy each caller asks for.  Not
 * thread-safe: call while nothing encodes. */
void chunk_force_policy(int policy);
/* The policy chunk_encode() applies when asked for this one. */
int chunk_policy_in_force(int policy);

/* 1 when a chunk of a series of this type may use these codecs. */
int chunk_codecs_fit(uint8_t type, unsigned ts_codec, unsigned val_codec);
/* Room chunk_encode() needs in out for n points (the encoding and its
 * working space). */
size_t chunk_bound(uint8_t type, size_t n);
/* Encode n >= 1 points into out; fills the lengths, codecs, checksum,
 * stats and times of *m (not data_off).  Returns the stored length. */
size_t chunk_encode(uint8_t type, const int64_t *ts, const uint64_t *v, size_t n, int policy,
                    uint8_t *out, chunk_meta *m /* OUT */);
/* Decode the chunk (its chunk_stored_len(m) bytes at data) after checking
 * the checksum: 0 ok, -1 checksum mismatch, -2 the columns do not decode
 * (or disagree with the index), -3 out of memory.  With ts NULL only the
 * values are decoded, with v NULL only the times (the checksum still
 * covers both columns). */
int chunk_decode(const chunk_meta *m, const uint8_t *data, int64_t *ts /* OUT */,
                 uint64_t *v /* OUT */);

/* The same checks and the value column only (its times are not needed,
 * e.g. a chunk that lies in one aggregation bucket). */
int chunk_decode_values(const chunk_meta *m, const uint8_t *data, uint64_t *v /* OUT */);
/* The same checks and the time column only (the values are not needed,
 * e.g. looking for gaps between reports). */
int chunk_decode_times(const chunk_meta *m, const uint8_t *data, int64_t *ts /* OUT */);

/* 1 when chunk_value_moments() can take this chunk of a series of this
 * type: float64 values whose codec computes moments without decoding. */
int chunk_has_moments(uint8_t type, const chunk_meta *m);
/* The same checks as chunk_decode_values and the same answers, and the
 * moments of the values (codec.h) instead of the values; scratch has room
 * for m->st.count words. */
int chunk_value_moments(const chunk_meta *m, const uint8_t *data, uint64_t *scratch,
                        codec_moments *out /* OUT */);

#endif
