/*
 * fleetgen.h — the fleet workload generator behind `strata gen fleet`: a C
 * port of the reference generator shared with the peer benchmarks
 * (gen_fleet.py, TSBS "iot"-style).  For the same options it writes the
 * same bytes as the Python script, line protocol or csv, so data sets made
 * by either tool are interchangeable.
 *
 * The workload: N trucks, tags name=truck_<i>, fleet, driver, model,
 * device_version; one point every interval per truck in each of two
 * measurements, `readings` (7 float fields) and `diagnostics` (2 floats and
 * the integer `status`).  Rows are time-major: all trucks at t0, then all
 * trucks at t1, ...  Each truck draws from its own CPython-compatible PRNG
 * seeded with seed * 1000003 + i; the timestamp jitter from one seeded with
 * seed ^ 0x5EED.
 */
#ifndef STRATA_FLEETGEN_H
#define STRATA_FLEETGEN_H

#include <stdint.h>
#include <stdio.h>

#define FLEETGEN_NFLEETS 4
#define FLEETGEN_NREADINGS 7
#define FLEETGEN_NDIAGNOSTICS 3
#define FLEETGEN_MAX_TRUCKS 1000000
/* 2024-01-01T12:00:00Z: a multiple of 486 h since the epoch, so one day of
 * data falls into a single Prometheus backfill block. */
#define FLEETGEN_DEFAULT_START_NS INT64_C(1704110400000000000)

/* Names in output order, as the meta file lists them. */
extern const char *const fleetgen_fleets[FLEETGEN_NFLEETS];
extern const char *const fleetgen_readings[FLEETGEN_NREADINGS];
extern const char *const fleetgen_diagnostics[FLEETGEN_NDIAGNOSTICS];

typedef enum fleetgen_format {
    FLEETGEN_LP = 0, /* InfluxDB line protocol, ns timestamps */
    FLEETGEN_CSV = 1 /* device,measurement,field,ts_ns,value; one row per value */
} fleetgen_format;

typedef struct fleetgen_opts {
    int64_t trucks;     /* 1 .. FLEETGEN_MAX_TRUCKS */
    int64_t span_s;     /* at least one interval; steps = span_s / interval_s */
    int64_t interval_s; /* >= 1 */
    int64_t start_ns;   /* first nominal timestamp */
    int64_t seed;
    int64_t jitter_ms; /* each timestamp moves by a uniform whole number of ms
                          in [-jitter_ms, jitter_ms]; 2 * jitter_ms < interval */
    fleetgen_format format;
} fleetgen_opts;

/* The defaults of the "default" scale: 200 trucks, 1 day, 10 s, seed 42,
 * FLEETGEN_DEFAULT_START_NS, no jitter, line protocol. */
void fleetgen_opts_init(fleetgen_opts *o /* OUT */);

/* NULL when the options are usable, else why not (a static string).  Also
 * rejects options whose timestamps would overflow int64. */
const char *fleetgen_invalid(const fleetgen_opts *o);

/* Points per truck per measurement: span_s / interval_s. */
int64_t fleetgen_steps(const fleetgen_opts *o);

/* Write the whole data set to `out` (buffered; `out` is not flushed or
 * closed).  *lines gets the line-protocol line count (2 per truck per step,
 * whatever the format) and *values the field-value count (10 per truck per
 * step; in csv, the data rows), both 0 on failure.  Returns STRATA_OK;
 * STRATA_MISUSE for invalid options; STRATA_NOMEM; STRATA_IOERR when a
 * write to `out` failed (errno says why; nothing more is written after the
 * first failure). */
int fleetgen_write(const fleetgen_opts *o, FILE *out, uint64_t *lines /* OUT */,
                   uint64_t *values /* OUT */);

/* How many trucks belong to each fleet, in fleetgen_fleets order. */
void fleetgen_fleet_counts(const fleetgen_opts *o, uint64_t counts[FLEETGEN_NFLEETS] /* OUT */);

/* Python's "%.<prec>f" % x (correctly rounded, ties to even on the exact
 * binary value, "-0.0" for negative values that round to zero), written at
 * p without a terminator; returns the end.  0 <= prec <= 9.  p must have
 * 336 writable bytes: the bytes after the end may be overwritten.  Exposed
 * for the tests. */
char *fleetgen_format_fixed(char *p, double x, int prec);

#endif
