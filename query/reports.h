/*
 * reports.h — a device's report times: the union of the timestamps of a set
 * of series over [from, to), in ascending order without repeats, as a
 * stream of evenly spaced runs.
 *
 * Chunks whose index entry proves them evenly spaced (CODEC_TS_LINEAR with
 * an empty time column: every timestamp is tmin + i (tmax - tmin)/(n - 1))
 * and that no other source of their series overlaps become runs without
 * being decoded; the rest of each series is read through its iterator
 * (decoded, merged, de-duplicated) and cut into runs of equal deltas.
 * Series whose runs coincide (the fields of one measurement, written
 * together) merge run by run; otherwise point by point.
 */
#ifndef STRATA_QUERY_REPORTS_H
#define STRATA_QUERY_REPORTS_H

#include "strata.h"

#include <stddef.h>
#include <stdint.h>

/* Times t0 + i step for 0 <= i < n; n >= 1, step > 0 when n > 1. */
typedef struct rep_run {
    int64_t t0;
    uint64_t step;
    uint64_t n;
} rep_run;

static inline int64_t rep_run_last(const rep_run *r)
{
    return (int64_t)((uint64_t)r->t0 + (r->n - 1) * r->step);
}

typedef struct rep_stats {
    uint64_t chunks_indexed, chunks_decoded, points_decoded, head_points;
} rep_stats;

typedef struct reports reports;

/* Open the union of series sids[0..n) over [from, to) (to == INT64_MAX: no
 * upper bound).  The data is seen as of this call.  What it reads is added
 * to *st as it goes and at reports_close() (st must outlive the stream). */
int reports_open(strata_db *db, const uint32_t *sids, size_t n, int64_t from, int64_t to,
                 rep_stats *st, reports **out /* OUT */);
/* STRATA_ROW and the next run (a run that continues the previous one is
 * joined to it), STRATA_DONE, or an error. */
int reports_next(reports *r, rep_run *out /* OUT */);
void reports_close(reports *r);

#endif
