/*
 * flakygen.h — the "flaky uplink" fleet behind `strata gen flaky`: the
 * fleet workload (fleetgen.h) as a server receives it from trucks on a bad
 * mobile network.  The readings are the clean fleet's, byte for byte; only
 * the order in which lines arrive changes, and some arrive more than once:
 *
 *   - late lines: a few live lines (0.2 %) arrive 1..60 intervals late;
 *   - duplicated lines: a few live lines (0.2 %) are sent again 1..60
 *     intervals later (a lost acknowledgement);
 *   - outages: each truck loses its uplink about every 6 hours for 1 to
 *     120 minutes and buffers its lines; on reconnect it resends the
 *     backlog in batches of 30 intervals, half of the trucks newest batch
 *     first, and 5 % of the batches are sent twice;
 *   - reconnect storms: `storms` times over the span a network-wide outage
 *     takes 80 % of the trucks offline at once for 15 to 60 minutes; they
 *     all reconnect in the same interval and resend their backlogs
 *     together, batches of different trucks interleaved.
 * At the end of the span every backlog and every delayed line is sent, so
 * each line of the clean fleet arrives at least once, and every copy is
 * identical: the set of distinct (series, time, value) points is exactly
 * the clean fleet's, and a last-write-wins store ends in the same state.
 *
 * Memory: the backlogs of offline trucks, at most about 360 intervals x
 * 80 % of the trucks x 340 bytes (20 MB for 200 trucks).  The uplink draws
 * come from genrand.h stream 0x1F1A4 of the seed; the readings from the
 * fleet's own generator.  Line protocol only.
 */
#ifndef STRATA_FLAKYGEN_H
#define STRATA_FLAKYGEN_H

#include "tools/fleetgen.h"

#include <stdint.h>
#include <stdio.h>

typedef struct flakygen_opts {
    fleetgen_opts fleet; /* the clean workload; its format must be FLEETGEN_LP */
    int64_t storms;      /* reconnect storms over the span, >= 0 (default 4) */
} flakygen_opts;

typedef struct flakygen_stats {
    uint64_t lines;        /* distinct lines: the clean fleet's */
    uint64_t values;       /* distinct field values */
    uint64_t lines_sent;   /* lines written, copies included */
    uint64_t values_sent;  /* field values written */
    uint64_t late;         /* live lines delayed */
    uint64_t duplicates;   /* extra copies written */
    uint64_t outages;      /* per-truck outages (storms not counted) */
    uint64_t storms;       /* reconnect storms that happened */
    uint64_t max_backlog;  /* most lines buffered by one reconnect */
} flakygen_stats;

/* The fleet's defaults (fleetgen_opts_init) and 4 storms. */
void flakygen_opts_init(flakygen_opts *o /* OUT */);

/* NULL when usable, else why not (a static string). */
const char *flakygen_invalid(const flakygen_opts *o);

/* Write the flaky stream to `out` (not flushed or closed).  Returns
 * STRATA_OK; STRATA_MISUSE for invalid options; STRATA_NOMEM;
 * STRATA_IOERR when a write failed (errno says why).  *st is filled on
 * success and zeroed on failure. */
int flakygen_write(const flakygen_opts *o, FILE *out, flakygen_stats *st /* OUT */);

/* FILE.meta.json: the parameters, the clean fleet's time range and counts
 * (lines, values: distinct) and the uplink's.  0, or -1 with errno set. */
int flakygen_write_meta(const char *path, const flakygen_opts *o, const flakygen_stats *st);

#endif
