/*
 * iter.h — reading one series over a time range, merged from every source
 * that holds it (segments, the head being flushed, the active head).
 * Internal entry points for the CLI and, later, the query layer: they
 * return raw 64-bit values instead of strata_value.
 */
#ifndef STRATA_ITER_H
#define STRATA_ITER_H

#include "engine/chunk.h"
#include "strata.h"

#include <stddef.h>
#include <stdint.h>

/* Up to cap points; *n == 0 and STRATA_DONE at the end, else STRATA_ROW. */
int iter_next_raw(strata_iter *it, int64_t *ts /* OUT */, uint64_t *v /* OUT */, size_t cap,
                  size_t *n /* OUT */);
uint8_t iter_type(const strata_iter *it);

/* Offered a chunk (its index entry, and the segment holding it) that lies
 * wholly in the range and whose time span no other source touches: return
 * 1 when the caller has dealt with it — from its statistics, or by decoding
 * it itself (segr_decode_values) — and its points are then not produced;
 * 0 to have them read; a negative value (-STRATA_*) to fail the open. */
struct seg_reader;
typedef int (*iter_chunk_fn)(void *ctx, const chunk_meta *m, const struct seg_reader *r);

/* strata_iter_open, plus fn (may be NULL): every eligible chunk is offered
 * before this returns. */
int iter_open_ex(strata_db *db, uint64_t series_id, int64_t from, int64_t to, iter_chunk_fn fn,
                 void *ctx, strata_iter **it /* OUT */);

typedef struct iter_stats {
    uint64_t chunks;            /* chunks of segments in the range */
    uint64_t chunks_summarized; /* taken from their statistics */
    uint64_t points_summarized;
    uint64_t chunks_decoded;
    uint64_t points_decoded;
    uint64_t head_points; /* points copied from the head(s) */
} iter_stats;

void iter_get_stats(const strata_iter *it, iter_stats *out /* OUT */);

/* The last point of series sid with from <= ts < to, from index entries
 * alone (each segment's newest chunk of the series): 1 and *ts, *v set;
 * 0 when there is none; 2 when it cannot be told this way (the series has
 * unflushed points, or a newest chunk straddles `to`); <0 an error. */
int iter_series_last(strata_db *db, uint32_t sid, int64_t from, int64_t to, int64_t *ts /* OUT */,
                     uint64_t *v /* OUT */);

/* The earliest and latest timestamp stored for series sid (heads, segment
 * indexes and valid rollups; the points themselves when tombstones may
 * have removed some).  1 when it has any point, 0 when none, <0 (the
 * STRATA_* code negated, message set) when an index or rollup is damaged. */
int iter_series_bounds(strata_db *db, uint32_t sid, int64_t *lo /* OUT */, int64_t *hi /* OUT */);

#endif
