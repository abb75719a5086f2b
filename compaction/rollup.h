/*
 * rollup.h — downsampling rollups: per series, per bucket of a tier's
 * width, the statistics a chunk entry carries (count, NaN count, sum, min,
 * max, first, last and the times of first and last), stored as ordinary
 * segment files (FORMAT.md §5.10) and listed in the manifest apart from
 * the raw segments (§7.2 tags 14-18).
 *
 * Key space of a rollup segment: raw series s, statistic k is the series
 * key s << 4 | k (so series ids of 2^28 and above get no rollups and are
 * always read raw).  All statistic columns of a series share the bucket
 * start times.  Key s << 4 | ROLL_RAW lists ranges of the segment in which
 * series s has no rows and must be read raw: one row per range, time = its
 * first nanosecond, value = its last.
 *
 * What a live, non-stale rollup of width w over [first, last] promises,
 * as of the manifest edit that added it, tombstones applied:
 *   - a series with no key in it: nothing (read raw data there);
 *   - a series with keys: outside its raw ranges, the buckets holding
 *     points are exactly its rows, with exactly those statistics.
 * A rollup with no keys at all has no file (manifest size 0).  Any later
 * flush or delete touching the range marks it stale in its own manifest
 * edit, and readers see the stale mark before the new data.
 *
 * Density: while raw data is kept forever a series gets rows only with
 * min_points (ROLL_MIN_POINTS) or more points per non-empty bucket on
 * average; with a raw retention, with ROLL_MIN_POINTS_RETAINED (the
 * summaries outlive the raw data).  Most sparse series are settled from
 * the chunk index alone.
 *
 * Building (rollup_pass, first in compact_run): for each tier, the raw
 * segment ranges before the frontier's partition that valid rollups do not
 * cover, and stale rollups, are rebuilt from the raw segments — merged
 * newest-wins with tombstones applied, as compaction merges — replacing
 * the tier's rollups they overlap.  Buckets below raw_gone_before (raw data
 * retention removed) keep the replaced rollups' rows, less buckets that a
 * delete newer than that rollup covers wholly.  Then valid rollups merge
 * into wider ranges on the raw tiers' windows, and each tier's retention
 * drops whole rollups.  Long work holds views without the frozen head.
 */
#ifndef STRATA_ROLLUP_H
#define STRATA_ROLLUP_H

#include "engine/chunk.h"
#include "engine/segment.h"

#include <stddef.h>
#include <stdint.h>

struct strata_db;
struct man_state;

enum roll_stat {
    ROLL_COUNT = 0,   /* int64 */
    ROLL_NANS = 1,    /* int64, float64 series only */
    ROLL_SUM_HI = 2,  /* int64 series only: the exact 128-bit sum is
                         ROLL_SUM (as int64) + ROLL_SUM_HI * 2^64 */
    ROLL_SUM = 3,     /* float64 for float64 series, else int64 */
    ROLL_MIN = 4,     /* the series' type, as chunk statistics (chunk.h) */
    ROLL_MAX = 5,
    ROLL_FIRST = 6,
    ROLL_LAST = 7,
    ROLL_FIRST_T = 8, /* int64: first point's time minus the bucket start */
    ROLL_LAST_T = 9,
    ROLL_NSTATS = 10,
    ROLL_RAW = 15 /* ranges to read raw (above) */
};

#define ROLL_MAX_SID ((1u << 28) - 1)
#define ROLL_KEY(sid, k) ((uint32_t)(sid) << 4 | (uint32_t)(k))

/* With raw data kept forever, a series gets rollup rows in a range only if
 * it has at least this many points per non-empty bucket on average: about
 * four chunks' worth (SEG_CHUNK_TARGET), below which the chunks'
 * statistics answer a bucket about as fast and the rows would only cost
 * disk space. */
#define ROLL_MIN_POINTS 1024
/* With a raw retention, rollups are what remains of expired data, so any
 * series that a row summarises gets rows: at least this many points per
 * non-empty bucket on average (a row of one point would be the point,
 * stored at several times its size: such a tier of such a series keeps
 * nothing the raw retention does not). */
#define ROLL_MIN_POINTS_RETAINED 4
/* Tests: use n instead of ROLL_MIN_POINTS (0 restores it).  Not
 * thread-safe: call while nothing compacts. */
void rollup_set_min_points(unsigned n);

/* One series' rows (ascending bucket start) and raw ranges. */
typedef struct roll_rows {
    uint8_t type; /* the raw series' type */
    size_t n, cap;
    int64_t *bucket;
    uint64_t *col[ROLL_NSTATS];
    size_t nraw, rawcap;
    int64_t *raw_lo, *raw_hi;
} roll_rows;

void roll_rows_free(roll_rows *r);
/* Append the rows of n sorted points of a series of this type for buckets
 * of width w (aligned to multiples of w from the epoch). */
int roll_rows_compute(roll_rows *r, uint8_t type, int64_t w, const int64_t *ts,
                      const uint64_t *v, size_t n);
/* The chunk-like summary of row i (times and statistics), as the query
 * layer feeds chunk entries to its aggregates; an int64 sum that does not
 * fit 64 bits is flagged SEG_STAT_SUM_OVERFLOW, with ROLL_SUM_HI to add. */
void roll_rows_meta(const roll_rows *r, size_t i, chunk_meta *m /* OUT */);
/* Read series sid from rollup segment sr into r (emptied first): 1 when the
 * segment has any key of it, 0 when not, or an error (<0, negated code).
 * Only the statistics in mask (bit k: column k; the count is always read)
 * are decoded, the others read as zero. */
#define ROLL_ALL ((1u << ROLL_NSTATS) - 1)
int roll_read(const seg_reader *sr, uint32_t sid, roll_rows *r, unsigned mask);

/* The first and last point time of series sid's rows in rollup sr: 1 and
 * *lo, *hi set; 0 when it has no rows; <0 an error (negated code). */
int roll_bounds(const seg_reader *sr, uint32_t sid, int64_t *lo /* OUT */, int64_t *hi /* OUT */);

/* STRATA_OK when these tiers may be used with this partition width, else
 * STRATA_MISUSE with a message saying why not. */
struct strata_rollup_tier;
int rollup_tiers_check(int64_t partition_ns, const struct strata_rollup_tier *t, size_t n);
/* At open: store these tiers if they differ from the stored ones. */
int rollup_open_settings(struct strata_db *db, const struct strata_rollup_tier *t, size_t n);

/* Build, merge and expire rollups (see above).  Caller holds compact_mu.
 * background: merge only when it pays (compact.h).  *did: whether
 * anything changed. */
int rollup_pass(struct strata_db *db, int background, int *did);
/* Ids of the live, valid rollups whose range meets [lo, hi] (an array from
 * st_malloc, *n of them; NULL when none). */
int rollup_overlapping(const struct man_state *st, int64_t lo, int64_t hi, uint64_t **ids,
                       size_t *n);
/* Under man_mu, before publishing a change of the data in [lo, hi] (a
 * flush, a delete): a view whose overlapping rollups are marked stale as
 * the manifest now says.  -1 when out of memory. */
int rollup_publish_stale(struct strata_db *db);

#endif
