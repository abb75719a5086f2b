/*
 * devopsgen.h — the devops workload behind `strata gen devops`: the Time
 * Series Benchmark Suite's devops "cpu" measurement, as its cpu-only use
 * case generates it.
 *
 * N hosts, each with the ten TSBS tags — hostname (host_<i>), region,
 * datacenter (a zone of the region), rack (0..99), os, arch, team, service
 * (0..19), service_version (0..1), service_environment — drawn once from
 * the seed.  Every interval each host writes one `cpu` line with the ten
 * fields usage_user, usage_system, usage_idle, usage_nice, usage_iowait,
 * usage_irq, usage_softirq, usage_steal, usage_guest, usage_guest_nice.  As
 * in TSBS, each field is a random walk clamped to [0, 100] with standard
 * normal steps, starting uniformly in [0, 100].
 *
 * Precision: TSBS prints the walk's full doubles, which no collector
 * reports.  Here each value is what a collector derives from /proc/stat
 * tick counters: with USER_HZ = 100 and a 10-CPU host, a 10 s interval
 * holds 10,000 ticks, so a percentage is a whole number of ticks / 100,
 * printed with two decimals (58.13).  That resolution is kept whatever the
 * interval.
 *
 * Rows are time-major (all hosts at t0, then all at t1, ...), timestamps in
 * ns.  The PRNG is genrand.h: the same options give the same bytes on any
 * platform.  Host i draws its tags and walk from stream i of the seed.
 */
#ifndef STRATA_DEVOPSGEN_H
#define STRATA_DEVOPSGEN_H

#include <stdint.h>
#include <stdio.h>

#define DEVOPSGEN_NFIELDS 10
#define DEVOPSGEN_MAX_HOSTS 1000000

extern const char *const devopsgen_fields[DEVOPSGEN_NFIELDS];

typedef struct devopsgen_opts {
    int64_t hosts;      /* 1 .. DEVOPSGEN_MAX_HOSTS */
    int64_t span_s;     /* at least one interval; steps = span_s / interval_s */
    int64_t interval_s; /* >= 1 */
    int64_t start_ns;   /* first timestamp */
    int64_t seed;
} devopsgen_opts;

/* 100 hosts, 1 day, 10 s, 2024-01-01T12:00:00Z, seed 42. */
void devopsgen_opts_init(devopsgen_opts *o /* OUT */);

/* NULL when the options are usable, else why not (a static string). */
const char *devopsgen_invalid(const devopsgen_opts *o);

/* Lines per host: span_s / interval_s. */
int64_t devopsgen_steps(const devopsgen_opts *o);

/* Write the data set as line protocol to `out` (buffered; `out` is not
 * flushed or closed).  *lines and *values get the counts written (0 on
 * failure).  Returns STRATA_OK; STRATA_MISUSE for invalid options;
 * STRATA_NOMEM; STRATA_IOERR when a write failed (errno says why). */
int devopsgen_write(const devopsgen_opts *o, FILE *out, uint64_t *lines /* OUT */,
                    uint64_t *values /* OUT */);

/* FILE.meta.json beside the data: the parameters and counts as JSON.
 * Returns 0, or -1 with errno set. */
int devopsgen_write_meta(const char *path, const devopsgen_opts *o, uint64_t lines,
                         uint64_t values);

#endif
