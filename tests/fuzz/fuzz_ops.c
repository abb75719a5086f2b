/*
 * fuzz_ops.c — libFuzzer target: the input is a program of operations on a
 * fresh database, so that writes, late and duplicate points, flushes,
 * compaction (merges, tiers, rollups, retention), deletes, gap searches,
 * queries and reopening meet in orders no test lists.  One byte picks an
 * operation; the bytes after it are its arguments (times from a small grid
 * around 2024-01-01, so that points collide, go late and cross
 * partitions).  Any result codes, but no crash, leak, undefined behaviour
 * or hang; at the end every series must still be readable by a query.
 * Seeds: seeds/ops.  Run by `make fuzz`.
 */
#include "tests/fuzz/common.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

#define T0 1704067200000000000LL /* 2024-01-01T00:00:00Z */
#define MIN 60000000000LL

static char base[] = "/tmp/strata-fuzz-ops.XXXXXX";
static long runs;

typedef struct prog {
    const uint8_t *p, *end;
} prog;

static unsigned byte(prog *g)
{
    return g->p < g->end ? *g->p++ : 0;
}

/* A time on a grid of minutes and hours within about 12 days of T0, or
 * one of the extremes. */
static int64_t when(prog *g)
{
    unsigned a = byte(g), b = byte(g);
    if (a == 255)
        return b & 1 ? INT64_MAX : INT64_MIN;
    return T0 + (int64_t)(a % 64) * 4 * 60 * MIN + (int64_t)b * MIN - 30 * MIN;
}

static strata_db *open_db(const char *dir)
{
    strata_options o;
    strata_options_init(&o);
    o.create_if_missing = 1;
    o.sync = STRATA_SYNC_NONE;
    o.no_compaction = 1;
    o.device_tag = "device";
    strata_db *db = NULL;
    if (strata_db_open(dir, &o, &db) != STRATA_OK) {
        fprintf(stderr, "fuzz_ops: open: %s\n", strata_errmsg(NULL));
        abort(); /* a database this target wrote itself must open */
    }
    return db;
}

static void write_points(strata_db *db, prog *g)
{
    strata_batch *b;
    if (strata_batch_new(db, &b))
        return;
    unsigned k = byte(g) % 24 + 1;
    static const double special[] = {0.0, -0.0, 1.5, 1e300, -7.25, 4.9e-324};
    for (unsigned i = 0; i < k; i++) {
        unsigned dev = byte(g), kind = byte(g);
        char dv[8];
        snprintf(dv, sizeof dv, "d%u", dev % 4);
        if (strata_batch_point(b, dev & 4 ? "m" : "n", when(g)) ||
            strata_batch_tag(b, "device", dv))
            continue;
        unsigned v = byte(g);
        if (kind % 3 == 0)
            (void)strata_batch_f64(b, "x", v == 255 ? NAN : special[v % 6] + (double)(v / 6) * 0.1);
        else if (kind % 3 == 1)
            (void)strata_batch_i64(b, "y", (int64_t)v * (v & 1 ? -1000003 : 7));
        else
            (void)strata_batch_bool(b, "z", (int)(v & 1));
    }
    (void)strata_db_write(db, b);
    strata_batch_free(b);
}

static void gaps(strata_db *db, prog *g)
{
    strata_gaps_options o;
    strata_gaps_options_init(&o);
    unsigned f = byte(g);
    if (f & 1)
        o.from_ns = when(g);
    if (f & 2)
        o.to_ns = when(g);
    if (f & 4)
        o.interval_ns = (int64_t)byte(g) * MIN / 4;
    if (f & 8)
        o.tolerance = 1.0 + byte(g) / 16.0;
    o.device = f & 16 ? "d1" : NULL;
    o.measurement = f & 32 ? "m" : NULL;
    strata_gaps *s;
    if (strata_gaps_open(db, &o, &s) != STRATA_OK)
        return;
    strata_gap gap;
    for (int i = 0; i < 5000 && strata_gaps_next(s, &gap) == STRATA_ROW; i++)
        ;
    strata_gaps_close(s);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (!mkdtemp(base))
        exit(1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    char dir[300], cmd[400];
    snprintf(dir, sizeof dir, "%s/db%ld", base, runs++);
    strata_db *db = open_db(dir);
    prog g = {d, d + n};
    static const char *qs[] = {
        "SELECT last(*) FROM m GROUP BY device",
        "SELECT mean(x), max(y), count(z), stddev(x) FROM m GROUP BY time(1h), device FILL(linear)",
        "SELECT x, y, z FROM m WHERE device = 'd1' ORDER BY time DESC LIMIT 20",
        "SELECT percentile(x, 90), spread(y), rate(y) FROM m GROUP BY time(1d)",
        "SELECT count(*) FROM n GROUP BY *"};
    for (int ops = 0; g.p < g.end && ops < 64; ops++) {
        unsigned op = byte(&g) % 10;
        switch (op) {
        case 0:
        case 1: write_points(db, &g); break;
        case 2: (void)strata_db_flush(db); break;
        case 3: (void)strata_db_compact(db); break;
        case 4: {
            uint64_t ids[3] = {byte(&g) % 8, byte(&g) % 8, byte(&g) % 8};
            int64_t from = when(&g), to = when(&g);
            (void)strata_delete(db, ids, 1 + byte(&g) % 3, from, to);
            break;
        }
        case 5: {
            char dv[8];
            snprintf(dv, sizeof dv, "d%u", byte(&g) % 5);
            uint64_t ns;
            int64_t from = when(&g), to = when(&g);
            (void)strata_delete_device(db, dv, byte(&g) & 1 ? "m" : NULL, from, to, &ns);
            break;
        }
        case 6: gaps(db, &g); break;
        case 7: fz_query(db, qs[byte(&g) % 5], 5000); break;
        case 8: {
            static const int64_t widths[] = {1000000000LL, MIN, 60 * MIN, 24 * 60 * MIN, 7 * MIN};
            strata_rollup_tier t[2] = {{widths[byte(&g) % 5], (int64_t)byte(&g) * 60 * MIN},
                                       {widths[byte(&g) % 5], (int64_t)byte(&g) * 60 * MIN}};
            (void)strata_db_set_rollup_tiers(db, t, byte(&g) % 3);
            break;
        }
        default:
            if (byte(&g) & 1) {
                (void)strata_db_set_retention(db, (int64_t)byte(&g) * 60 * MIN);
            } else {
                strata_db_close(db);
                db = open_db(dir);
            }
            break;
        }
    }
    for (size_t i = 0; i < sizeof qs / sizeof *qs; i++)
        fz_query(db, qs[i], 5000);
    strata_db_close(db);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd))
        exit(1);
    return 0;
}
