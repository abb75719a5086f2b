/*
 * bench_query.c — the four TSBS-style fleet queries, in-process (the
 * embedded use: prepare, step through every row, finalize), and a full
 * scan that chunk statistics cannot answer.  The database is the fleet
 * workload (--trucks=200 by default, the peers' default scale) ingested and
 * closed like `strata ingest` does, so its resting state is what a user
 * gets.
 *
 *   BM_Q1_LastPerTruck     SELECT last(*) FROM readings GROUP BY name
 *   BM_Q2_HourlyMeanOne    mean(fuel_consumption) of truck_0, hourly, one day
 *   BM_Q3_HourlyMaxFleet   max(velocity) of every truck, hourly, by fleet
 *   BM_Q4_RawOneHour       velocity of truck_0 for the middle hour
 *   BM_FullScanStddev      stddev(velocity) over every point (decodes all)
 *
 * counters: rows and sum (the same row count and value sum the peers'
 * scripts print as CHECK lines, so answers can be compared), and for the
 * scan points_per_second.
 */
#include "bench/gbench.h"
#include "bench/workload.h"

#include "strata.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1704110400000000000LL /* 2024-01-01T12:00:00Z */
#define HOUR 3600000000000LL

static int64_t trucks = 200;
static char *dir;
static strata_db *db;
static char q2[512], q3[512], q4[512];
static const char *q1 = "SELECT last(*) FROM readings GROUP BY name";
static const char *qscan = "SELECT stddev(velocity) FROM readings";

static int run_query(gb_state *st, const char *text, double *sum, int64_t *rows)
{
    strata_query *q;
    if (strata_query_prepare(db, text, &q) != STRATA_OK) {
        gb_skip_with_error(st, strata_errmsg(db));
        return -1;
    }
    int rc;
    *sum = 0;
    *rows = 0;
    int n = strata_query_column_count(q);
    while ((rc = strata_query_step(q)) == STRATA_ROW) {
        (*rows)++;
        for (int i = 1; i < n; i++) {
            int t = strata_query_column_type(q, i);
            if (t == STRATA_COL_F64 || t == STRATA_COL_I64)
                *sum += strata_query_column_f64(q, i);
        }
    }
    strata_query_finalize(q);
    if (rc != STRATA_DONE) {
        gb_skip_with_error(st, strata_errmsg(db));
        return -1;
    }
    return 0;
}

static void bench(gb_state *st, const char *text)
{
    double sum = 0;
    int64_t rows = 0;
    while (gb_loop(st))
        if (run_query(st, text, &sum, &rows))
            return;
    gb_counter_set(st, "rows", (double)rows, 0);
    gb_counter_set(st, "sum", sum, 0);
}

static void bm_q1(gb_state *st)
{
    bench(st, q1);
}
static void bm_q2(gb_state *st)
{
    bench(st, q2);
}
static void bm_q3(gb_state *st)
{
    bench(st, q3);
}
static void bm_q4(gb_state *st)
{
    bench(st, q4);
}

static void bm_scan(gb_state *st)
{
    bench(st, qscan);
    gb_set_items_processed(st, gb_iterations(st) * trucks * 8640);
}

static int build_db(void)
{
    wl_text t;
    if (wl_fleet_text(trucks, &t))
        return -1;
    dir = wl_tmpdir();
    strata_options o;
    strata_options_init(&o);
    o.create_if_missing = 1;
    if (strata_db_open(dir, &o, &db) != STRATA_OK)
        return -1;
    strata_batch *b;
    strata_batch_new(db, &b);
    const char *p = t.text, *end = t.text + t.len;
    size_t lines = 0;
    int rc = 0;
    while (p < end && !rc) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        strata_lp_error e;
        rc = strata_batch_add_lp(b, p, len, STRATA_PRECISION_NS, 0, &e);
        p += len + 1;
        if (++lines % 100000 == 0 || p >= end) {
            rc |= strata_db_write(db, b);
            strata_batch_clear(b);
        }
    }
    strata_batch_free(b);
    wl_text_free(&t);
    rc |= strata_db_close(db); /* the resting state, as after `strata ingest` */
    strata_options_init(&o);
    o.read_only = 1;
    return rc || strata_db_open(dir, &o, &db) != STRATA_OK ? -1 : 0;
}

int main(int argc, char **argv)
{
    gb_flag_int("trucks", &trucks, "fleet size (20 = small, 200 = default scale)");
    int rc = gb_init(argc, argv);
    if (rc != GB_CONTINUE)
        return rc;
    if (build_db()) {
        fprintf(stderr, "bench_query: cannot build the database: %s\n", strata_errmsg(NULL));
        return 1;
    }
    int64_t t1 = T0 + 24 * HOUR, q4a = T0 + 12 * HOUR;
    snprintf(q2, sizeof q2,
             "SELECT mean(fuel_consumption) FROM readings WHERE name = 'truck_0' AND time >= %lld "
             "AND time < %lld GROUP BY time(1h)",
             (long long)T0, (long long)t1);
    snprintf(q3, sizeof q3,
             "SELECT max(velocity) FROM readings WHERE time >= %lld AND time < %lld GROUP BY "
             "time(1h), fleet",
             (long long)T0, (long long)t1);
    snprintf(q4, sizeof q4,
             "SELECT velocity FROM readings WHERE name = 'truck_0' AND time >= %lld AND time < %lld",
             (long long)q4a, (long long)(q4a + HOUR));
    gb_context_addf("workload", "fleet, %lld trucks x 1 day, 10 s, ingested then closed",
                    (long long)trucks);
    gb_bench *b;
    b = gb_bench_register("BM_Q1_LastPerTruck", bm_q1);
    gb_bench_unit(b, GB_US);
    b = gb_bench_register("BM_Q2_HourlyMeanOne", bm_q2);
    gb_bench_unit(b, GB_US);
    b = gb_bench_register("BM_Q3_HourlyMaxFleet", bm_q3);
    gb_bench_unit(b, GB_US);
    b = gb_bench_register("BM_Q4_RawOneHour", bm_q4);
    gb_bench_unit(b, GB_US);
    b = gb_bench_register("BM_FullScanStddev", bm_scan);
    gb_bench_unit(b, GB_MS);
    rc = gb_run();
    strata_db_close(db);
    wl_rmrf(dir);
    free(dir);
    return rc;
}
