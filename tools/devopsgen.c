/*
 * devopsgen.c — the devops cpu generator (see devopsgen.h): host tags, the
 * clamped random walks, tick quantization and the buffered writer.
 * Single-threaded, no state between calls.  Walks are kept in whole ticks
 * (1/100 of a percent) as doubles, so every operation on them is exact
 * after the one rounding of each step to ticks.
 */
#include "tools/devopsgen.h"

#include "engine/alloc.h"
#include "strata.h"
#include "tools/genrand.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

const char *const devopsgen_fields[DEVOPSGEN_NFIELDS] = {
    "usage_user",   "usage_system", "usage_idle",    "usage_nice",  "usage_iowait",
    "usage_irq",    "usage_softirq", "usage_steal",  "usage_guest", "usage_guest_nice"};

/* TSBS's devops tag values (internal/inputs devops generator). */
static const struct region {
    const char *name;
    const char *zones[3];
    int nzones;
} regions[] = {
    {"us-east-1", {"us-east-1a", "us-east-1b", "us-east-1c"}, 3},
    {"us-west-1", {"us-west-1a", "us-west-1b"}, 2},
    {"us-west-2", {"us-west-2a", "us-west-2b", "us-west-2c"}, 3},
    {"eu-west-1", {"eu-west-1a", "eu-west-1b", "eu-west-1c"}, 3},
    {"eu-central-1", {"eu-central-1a", "eu-central-1b"}, 2},
    {"ap-southeast-1", {"ap-southeast-1a", "ap-southeast-1b"}, 2},
    {"ap-southeast-2", {"ap-southeast-2a", "ap-southeast-2b"}, 2},
    {"ap-northeast-1", {"ap-northeast-1a", "ap-northeast-1c"}, 2},
    {"sa-east-1", {"sa-east-1a", "sa-east-1b", "sa-east-1c"}, 3},
};
static const char *const oses[] = {"Ubuntu16.10", "Ubuntu16.04LTS", "Ubuntu15.10"};
static const char *const arches[] = {"x64", "x86"};
static const char *const teams[] = {"SF", "NYC", "LON", "CHI"};
static const char *const environments[] = {"production", "staging", "test"};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define NS_PER_S INT64_C(1000000000)
#define TICKS_MAX 10000.0 /* 100 % in ticks of 0.01 % */
#define TAGS_MAX 256
#define OUT_BUF (1u << 20)
#define OUT_RESERVE 1024 /* one line at the worst widths */

struct host {
    genrand rng;
    double ticks[DEVOPSGEN_NFIELDS]; /* whole numbers in [0, TICKS_MAX] */
    size_t tags_len;
    char tags[TAGS_MAX]; /* "cpu,hostname=...,service_environment=... " */
};

static void host_init(struct host *h, int64_t i, int64_t seed)
{
    genrand *r = &h->rng;
    genrand_seed(r, seed, (uint64_t)i);
    const struct region *reg = &regions[genrand_below(r, NELEM(regions))];
    const char *zone = reg->zones[genrand_below(r, (uint64_t)reg->nzones)];
    int rack = (int)genrand_below(r, 100);
    const char *os = oses[genrand_below(r, NELEM(oses))];
    const char *arch = arches[genrand_below(r, NELEM(arches))];
    const char *team = teams[genrand_below(r, NELEM(teams))];
    int service = (int)genrand_below(r, 20);
    int version = (int)genrand_below(r, 2);
    const char *env = environments[genrand_below(r, NELEM(environments))];
    h->tags_len = (size_t)snprintf(
        h->tags, sizeof h->tags,
        "cpu,hostname=host_%lld,region=%s,datacenter=%s,rack=%d,os=%s,arch=%s,team=%s,"
        "service=%d,service_version=%d,service_environment=%s ",
        (long long)i, reg->name, zone, rack, os, arch, team, service, version, env);
    for (int f = 0; f < DEVOPSGEN_NFIELDS; f++)
        h->ticks[f] = (double)genrand_below(r, (uint64_t)TICKS_MAX + 1);
}

/* One step of every walk: +N(0, 1) percent, rounded to ticks, clamped. */
static void host_step(struct host *h)
{
    for (int f = 0; f < DEVOPSGEN_NFIELDS; f++) {
        double t = h->ticks[f] + rint(genrand_normal(&h->rng) * 100.0);
        h->ticks[f] = t < 0.0 ? 0.0 : t > TICKS_MAX ? TICKS_MAX : t;
    }
}

/* ticks / 100 with two decimals: 5813 -> "58.13". */
static char *put_ticks(char *p, double ticks)
{
    unsigned v = (unsigned)ticks;
    p += snprintf(p, 16, "%u.%02u", v / 100, v % 100);
    return p;
}

void devopsgen_opts_init(devopsgen_opts *o)
{
    o->hosts = 100;
    o->span_s = 86400;
    o->interval_s = 10;
    o->start_ns = INT64_C(1704110400000000000); /* 2024-01-01T12:00:00Z */
    o->seed = 42;
}

const char *devopsgen_invalid(const devopsgen_opts *o)
{
    if (o->hosts < 1 || o->hosts > DEVOPSGEN_MAX_HOSTS)
        return "the host count must be between 1 and 1000000";
    if (o->interval_s < 1 || o->interval_s > INT64_MAX / NS_PER_S)
        return "the interval must be at least 1 s (and fit in int64 ns)";
    if (o->span_s < o->interval_s)
        return "the span must be at least one interval";
    int64_t last, end;
    if (__builtin_mul_overflow(devopsgen_steps(o), o->interval_s * NS_PER_S, &last) ||
        __builtin_add_overflow(o->start_ns, last, &end))
        return "the timestamps do not fit in int64 nanoseconds";
    return NULL;
}

int64_t devopsgen_steps(const devopsgen_opts *o)
{
    return o->interval_s > 0 ? o->span_s / o->interval_s : 0;
}

int devopsgen_write(const devopsgen_opts *o, FILE *out, uint64_t *lines, uint64_t *values)
{
    *lines = *values = 0;
    if (devopsgen_invalid(o))
        return STRATA_MISUSE;
    struct host *hosts = st_calloc((size_t)o->hosts, sizeof *hosts);
    char *buf = st_malloc(OUT_BUF);
    int rc = STRATA_OK, err = 0;
    if (!hosts || !buf) {
        rc = STRATA_NOMEM;
        goto done;
    }
    for (int64_t i = 0; i < o->hosts; i++)
        host_init(&hosts[i], i, o->seed);
    int64_t steps = devopsgen_steps(o), step_ns = o->interval_s * NS_PER_S;
    size_t len = 0;
    for (int64_t k = 0; k < steps && !err; k++) {
        char ts[24];
        int ts_len = snprintf(ts, sizeof ts, " %lld\n", (long long)(o->start_ns + k * step_ns));
        for (int64_t i = 0; i < o->hosts && !err; i++) {
            struct host *h = &hosts[i];
            host_step(h);
            char *p = buf + len;
            memcpy(p, h->tags, h->tags_len);
            p += h->tags_len;
            for (int f = 0; f < DEVOPSGEN_NFIELDS; f++) {
                if (f)
                    *p++ = ',';
                size_t n = strlen(devopsgen_fields[f]);
                memcpy(p, devopsgen_fields[f], n);
                p += n;
                *p++ = '=';
                p = put_ticks(p, h->ticks[f]);
            }
            memcpy(p, ts, (size_t)ts_len);
            len = (size_t)(p + ts_len - buf);
            if (len > OUT_BUF - OUT_RESERVE || (k == steps - 1 && i == o->hosts - 1)) {
                errno = 0;
                if (fwrite(buf, 1, len, out) != len)
                    err = errno ? errno : EIO;
                len = 0;
            }
        }
    }
    if (err) {
        rc = STRATA_IOERR;
    } else {
        *lines = (uint64_t)steps * (uint64_t)o->hosts;
        *values = *lines * DEVOPSGEN_NFIELDS;
    }
done:
    st_free(buf);
    st_free(hosts);
    if (err)
        errno = err;
    return rc;
}

int devopsgen_write_meta(const char *path, const devopsgen_opts *o, uint64_t lines,
                         uint64_t values)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int64_t steps = devopsgen_steps(o), step_ns = o->interval_s * NS_PER_S;
    fprintf(f,
            "{\n \"generator\": \"strata gen devops\",\n \"format\": \"lp\",\n"
            " \"hosts\": %lld,\n \"span_s\": %lld,\n \"interval_s\": %lld,\n \"seed\": %lld,\n"
            " \"start_ns\": %lld,\n \"end_ns\": %lld,\n \"last_ts_ns\": %lld,\n"
            " \"lines\": %llu,\n \"values\": %llu,\n \"series\": %lld,\n \"fields\": [\n",
            (long long)o->hosts, (long long)o->span_s, (long long)o->interval_s,
            (long long)o->seed, (long long)o->start_ns, (long long)(o->start_ns + steps * step_ns),
            (long long)(o->start_ns + (steps - 1) * step_ns), (unsigned long long)lines,
            (unsigned long long)values, (long long)(o->hosts * DEVOPSGEN_NFIELDS));
    for (int i = 0; i < DEVOPSGEN_NFIELDS; i++)
        fprintf(f, "  \"%s\"%s\n", devopsgen_fields[i], i + 1 < DEVOPSGEN_NFIELDS ? "," : "");
    fputs(" ]\n}\n", f);
    bool bad = ferror(f);
    if (fclose(f) != 0 || bad)
        return -1;
    return 0;
}
