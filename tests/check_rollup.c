/*
 * check_rollup.c — downsampling rollups (compaction/rollup.c) and their use
 * by queries (query/exec.c).
 *
 * Two databases get the same points through the C API: "R" with rollup
 * tiers of 1 min and 1 h, "P" with none (plain).  The data: three devices
 * reporting every 2 s (dense: 1-minute rows), 10 s (1-hour rows only) and
 * 5 min (too sparse for rows while raw data is kept forever, with the
 * density threshold lowered to 20 points a bucket for the test), each with a
 * decimal float (NaN now and then), an int64 (one device near 2^62, so that
 * hourly sums overflow) and a bool, with random gaps.
 *
 *  - every rollup row equals chunk statistics computed from the raw points
 *    of its bucket, bit for bit, and the density rule holds;
 *  - queries (buckets of 1 min to 1 day, unaligned ranges, groups, and
 *    aggregates rollups cannot answer) give the same answers on R and P,
 *    and EXPLAIN shows rollup rows were used where they can be;
 *  - late points and deletes: answers stay equal before the flush, after
 *    it (rollups stale), and after compaction (rebuilt), and after reopen;
 *  - per-tier retention: with raw data kept 1 day and hourly rollups
 *    forever, hourly answers over the whole range still equal P's; the
 *    1-minute tier's retention drops its old segments;
 *  - tier settings: validation, storage across reopen, removal;
 *  - a device dense on some days and sparse on others, its rollups merged
 *    into 7-day windows: answers still equal P's;
 *  - `strata compact` killed (SIGKILL) at random moments while it builds
 *    rollups: after recovery the answers still equal P's (no row lost or
 *    counted twice), verify passes, and a later compaction finishes.
 */
#define _GNU_SOURCE
#include "tests/testutil.h"

#include "compaction/rollup.h"
#include "engine/db.h"
#include "strata.h"

#include <check.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SEC INT64_C(1000000000)
#define MIN (60 * SEC)
#define HOUR (3600 * SEC)
#define DAY (86400 * SEC)
#define TBASE INT64_C(1709251400000000000) /* 2024-03-01T00:03:20Z: not on a bucket edge */
#define TDAY0 INT64_C(1709251200000000000) /* 2024-03-01T00:00:00Z */

static const strata_rollup_tier TIERS[] = {{MIN, 0}, {HOUR, 0}};

static strata_db *open_db(const char *dir, const strata_rollup_tier *tiers, size_t n,
                          int64_t raw_retention)
{
    strata_options o;
    strata_options_init(&o);
    o.create_if_missing = 1;
    o.no_compaction = 1;
    o.rollup_tiers = tiers;
    o.nrollup_tiers = n;
    o.retention_ns = raw_retention;
    strata_db *db = NULL;
    rollup_set_min_points(20); /* the test's devices: 2 s dense, 10 s hourly */
    int rc = strata_db_open(dir, &o, &db);
    ck_assert_msg(rc == STRATA_OK, "open %s: %s", dir, strata_errmsg(NULL));
    return db;
}

static strata_db *open_plain(const char *dir)
{
    static const strata_rollup_tier none[1];
    return open_db(dir, none, 0, 0);
}

typedef struct dev {
    const char *name, *site;
    int64_t step;
    int64_t ibase;
} dev;

static const dev DEVS[] = {
    {"d0", "s0", 2 * SEC, 1000},
    {"d1", "s0", 10 * SEC, INT64_C(1) << 62},
    {"d2", "s1", 300 * SEC, -50},
};

/* The same points into every database of dbs: [from, to) of each device. */
static void fill(strata_db **dbs, size_t ndb, int64_t from, int64_t to, uint64_t seed)
{
    strata_batch *b[2];
    for (size_t k = 0; k < ndb; k++)
        ck_assert_int_eq(strata_batch_new(dbs[k], &b[k]), STRATA_OK);
    for (size_t d = 0; d < sizeof DEVS / sizeof DEVS[0]; d++) {
        uint64_t rs = seed * 7919 + d;
        double temp = d == 1 ? -150.0 : 200.0 + (double)d; /* d1 below zero */
        size_t inbatch = 0;
        for (int64_t t = from; t < to; t += DEVS[d].step) {
            uint64_t r = tu_rand(&rs);
            if (r % 50 == 0)
                continue; /* a lost report */
            if ((t - TBASE) % DAY >= 5 * HOUR && (t - TBASE) % DAY < 6 * HOUR + 17 * MIN && d == 1)
                continue; /* an outage */
            temp += (double)((int)(r >> 8) % 7 - 3) / 10.0;
            double tv = round(temp * 10) / 10;
            if (r % 997 == 1)
                tv = NAN;
            int64_t iv = DEVS[d].ibase + (int64_t)((r >> 20) % 1000);
            int bv = (r >> 40) & 1;
            int64_t ts = t + (d == 0 ? (int64_t)((r >> 30) % 1000) * 1000000 : 0);
            for (size_t k = 0; k < ndb; k++) {
                int rc = strata_batch_point(b[k], "m", ts);
                rc |= strata_batch_tag(b[k], "device", DEVS[d].name);
                rc |= strata_batch_tag(b[k], "site", DEVS[d].site);
                rc |= strata_batch_f64(b[k], "temp", tv);
                rc |= strata_batch_i64(b[k], "cnt", iv);
                rc |= strata_batch_bool(b[k], "on", bv);
                TU_CHECK(rc == STRATA_OK, "batch: %s", strata_errmsg(NULL));
            }
            if (++inbatch == 4000) {
                for (size_t k = 0; k < ndb; k++) {
                    ck_assert_int_eq(strata_db_write(dbs[k], b[k]), STRATA_OK);
                    strata_batch_clear(b[k]);
                }
                inbatch = 0;
            }
        }
        for (size_t k = 0; k < ndb; k++) {
            ck_assert_int_eq(strata_db_write(dbs[k], b[k]), STRATA_OK);
            strata_batch_clear(b[k]);
        }
    }
    for (size_t k = 0; k < ndb; k++)
        strata_batch_free(b[k]);
}

/* ---- query answers -------------------------------------------------------------- */

typedef struct answer {
    size_t rows, cols;
    int *type;
    double *f;
    int64_t *i;
    char *explain;
} answer;

static void answer_free(answer *a)
{
    free(a->type);
    free(a->f);
    free(a->i);
    free(a->explain);
    memset(a, 0, sizeof *a);
}

static answer run(strata_db *db, const char *text)
{
    answer a = {0};
    strata_query *q = NULL;
    int rc = strata_query_prepare(db, text, &q);
    ck_assert_msg(rc == STRATA_OK, "%s: %s", text, strata_errmsg(db));
    a.cols = (size_t)strata_query_column_count(q);
    size_t cap = 0;
    while ((rc = strata_query_step(q)) == STRATA_ROW) {
        if ((a.rows + 1) * a.cols > cap) {
            cap = cap ? 2 * cap : 64 * a.cols;
            a.type = realloc(a.type, cap * sizeof *a.type);
            a.f = realloc(a.f, cap * sizeof *a.f);
            a.i = realloc(a.i, cap * sizeof *a.i);
        }
        for (size_t c = 0; c < a.cols; c++) {
            size_t k = a.rows * a.cols + c;
            a.type[k] = strata_query_column_type(q, (int)c);
            a.f[k] = a.type[k] == STRATA_COL_F64 ? strata_query_column_f64(q, (int)c) : 0;
            a.i[k] = a.type[k] == STRATA_COL_I64 || a.type[k] == STRATA_COL_TIME ||
                             a.type[k] == STRATA_COL_BOOL
                         ? strata_query_column_i64(q, (int)c)
                         : 0;
        }
        a.rows++;
    }
    ck_assert_msg(rc == STRATA_DONE, "%s: %s", text, strata_errmsg(db));
    const char *ex = strata_query_explain(q);
    a.explain = strdup(ex ? ex : "");
    strata_query_finalize(q);
    return a;
}

/* R's and P's answers to text agree (floats to 1e-9 relative: sums add in
 * another order); returns R's EXPLAIN text. */
static char *same_answers(strata_db *r, strata_db *p, const char *text)
{
    answer x = run(r, text), y = run(p, text);
    ck_assert_msg(x.rows == y.rows && x.cols == y.cols, "%s: %zu x %zu rows vs %zu x %zu", text,
                  x.rows, x.cols, y.rows, y.cols);
    for (size_t k = 0; k < x.rows * x.cols; k++) {
        TU_CHECK(x.type[k] == y.type[k], "%s: row %zu col %zu: type %d vs %d", text,
                      k / x.cols, k % x.cols, x.type[k], y.type[k]);
        if (x.type[k] == STRATA_COL_F64) {
            double a = x.f[k], b = y.f[k];
            int ok = (isnan(a) && isnan(b)) || a == b ||
                     fabs(a - b) <= 1e-9 * fmax(1.0, fmax(fabs(a), fabs(b)));
            TU_CHECK(ok, "%s: row %zu col %zu: %.17g vs %.17g", text, k / x.cols,
                          k % x.cols, a, b);
        } else {
            TU_CHECK(x.i[k] == y.i[k], "%s: row %zu col %zu: %lld vs %lld", text,
                          k / x.cols, k % x.cols, (long long)x.i[k], (long long)y.i[k]);
        }
    }
    char *ex = x.explain;
    x.explain = NULL;
    answer_free(&x);
    answer_free(&y);
    return ex;
}

static uint64_t rollup_rows_used(const char *explain)
{
    const char *p = strstr(explain, "rollups: ");
    return p ? strtoull(p + 9, NULL, 10) : 0;
}

static const char *const QUERIES[] = {
    "SELECT mean(temp), min(temp), max(temp), count(temp), sum(temp) FROM m GROUP BY time(1h), device",
    "SELECT first(temp), last(temp), spread(temp) FROM m GROUP BY time(1h), device",
    "SELECT sum(cnt), mean(cnt), min(cnt), max(cnt), count(cnt) FROM m GROUP BY time(1h), device",
    "SELECT count(on), sum(on), first(on), last(on), min(on), max(on) FROM m GROUP BY time(1h), device",
    "SELECT mean(temp), max(cnt) FROM m GROUP BY time(1m), device",
    "SELECT mean(temp), count(cnt) FROM m GROUP BY time(5m), site",
    "SELECT mean(temp), min(temp), sum(cnt) FROM m GROUP BY time(1d), site",
    "SELECT mean(temp), count(temp), first(temp), last(temp) FROM m",
    "SELECT first(temp), last(cnt) FROM m GROUP BY device",
    "SELECT mean(temp), sum(on) FROM m WHERE time >= '2024-03-01T03:17:23Z' AND time < "
    "'2024-03-02T21:00:01Z' GROUP BY time(2h), device",
    "SELECT max(temp), count(on) FROM m WHERE time >= '2024-03-01T00:00:10Z' AND time < "
    "'2024-03-03T00:00:00Z'",
    "SELECT mean(temp) FROM m WHERE time >= '2024-03-01T00:00:00Z' GROUP BY time(90s)",
    "SELECT stddev(temp), mean(temp) FROM m GROUP BY time(1h), device",
    "SELECT max(temp) FROM m GROUP BY time(1h), device",
    "SELECT min(cnt) FROM m GROUP BY time(1h), device",
    "SELECT last(temp) FROM m GROUP BY time(1h)",
    "SELECT first(temp) FROM m GROUP BY time(2h)",
    "SELECT mean(temp) FROM m GROUP BY time(1h), device fill(none)",
    "SELECT mean(temp) FROM m WHERE device = 'd0' GROUP BY time(30m)",
    "SELECT mean(temp) FROM m WHERE temp > 200 GROUP BY time(1h)",
};
#define NQ (sizeof QUERIES / sizeof QUERIES[0])

/* Each of the n queries agrees; *used: the rollup rows R's answers read. */
static void agree_on(strata_db *r, strata_db *p, const char *const *q, size_t n, uint64_t *used)
{
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        char *ex = same_answers(r, p, q[i]);
        total += rollup_rows_used(ex);
        free(ex);
    }
    if (used)
        *used = total;
}

/* Every query of QUERIES agrees. */
static void all_agree(strata_db *r, strata_db *p, uint64_t *used)
{
    agree_on(r, p, QUERIES, NQ, used);
}

/* ---- rows against raw data --------------------------------------------------------- */

/* Every row of every live rollup of db equals the statistics of the raw
 * points of its bucket (db has raw data for all of it); *rows: how many
 * rows were checked, per width index of TIERS. */
static void rows_match_raw(strata_db *db, uint64_t rows[2], uint64_t *absent)
{
    view *v = db_view_get(db);
    ck_assert_ptr_nonnull(v->rolls);
    uint64_t nseries = 0;
    ck_assert_int_eq(strata_series_count(db, &nseries), STRATA_OK);
    roll_rows rr = {0};
    int64_t *ts = malloc(400000 * sizeof *ts);
    uint64_t *vals = malloc(400000 * sizeof *vals);
    strata_value *sv = malloc(400000 * sizeof *sv);
    for (size_t i = 0; i < v->rolls->n; i++) {
        const roll *ro = &v->rolls->x[i];
        ck_assert_int_eq(ro->stale, 0);
        int wi = ro->width == MIN ? 0 : 1;
        for (uint32_t sid = 0; sid < nseries; sid++) {
            int got = ro->r ? roll_read(ro->r, sid, &rr, ROLL_ALL) : 0;
            ck_assert_int_ge(got, 0);
            strata_series s;
            ck_assert_int_eq(strata_series_get(db, sid, &s), STRATA_OK);
            /* the raw points of the rollup's range */
            strata_iter *it;
            ck_assert_int_eq(strata_iter_open(db, sid, ro->first, ro->last + 1, &it), STRATA_OK);
            size_t n = 0, k;
            int rc;
            while ((rc = strata_iter_next_block(it, ts + n, sv + n, 400000 - n, &k)) ==
                   STRATA_ROW)
                n += k;
            ck_assert_int_eq(rc, STRATA_DONE);
            strata_iter_close(it);
            for (size_t j = 0; j < n; j++) {
                if (s.type == STRATA_F64)
                    memcpy(&vals[j], &sv[j].f64, 8);
                else if (s.type == STRATA_I64)
                    vals[j] = (uint64_t)sv[j].i64;
                else
                    vals[j] = (uint64_t)sv[j].boolean;
            }
            if (!got) {
                /* absent: only a series too sparse for rows (1 h: d2 only) */
                int64_t buckets = 0, last = INT64_MIN;
                for (size_t j = 0; j < n; j++) {
                    int64_t b = ts[j] - (ts[j] % ro->width);
                    buckets += b != last;
                    last = b;
                }
                ck_assert_msg(n == 0 || n < (size_t)20 * (size_t)buckets,
                              "series %u: %zu points in %lld buckets but no rollup rows", sid, n,
                              (long long)buckets);
                (*absent)++;
                continue;
            }
            ck_assert_uint_eq(rr.nraw, 0);
            ck_assert_uint_eq(rr.type, s.type);
            roll_rows want = {0};
            ck_assert_int_eq(roll_rows_compute(&want, s.type, ro->width, ts, vals, n), STRATA_OK);
            ck_assert_uint_eq(rr.n, want.n);
            size_t q = 0; /* points (ascending) before bucket j's end */
            for (size_t j = 0; j < rr.n; j++) {
                TU_CHECK(rr.bucket[j] == want.bucket[j], "series %u row %zu: bucket %lld vs %lld",
                         sid, j, (long long)rr.bucket[j], (long long)want.bucket[j]);
                for (int c = 0; c < ROLL_NSTATS; c++)
                    TU_CHECK(rr.col[c][j] == want.col[c][j],
                                  "series %u bucket %lld stat %d: %llx vs %llx", sid,
                                  (long long)rr.bucket[j], c, (unsigned long long)rr.col[c][j],
                                  (unsigned long long)want.col[c][j]);
                /* and the count is the points inside the bucket, counted
                 * here independently of roll_rows_compute() */
                while (q < n && ts[q] < rr.bucket[j])
                    q++;
                size_t cnt = 0;
                for (; q < n && ts[q] < rr.bucket[j] + ro->width; q++)
                    cnt++;
                TU_CHECK(rr.col[ROLL_COUNT][j] == cnt, "series %u bucket %lld: count %llu vs %zu",
                         sid, (long long)rr.bucket[j], (unsigned long long)rr.col[ROLL_COUNT][j],
                         cnt);
            }
            rows[wi] += rr.n;
            roll_rows_free(&want);
        }
    }
    roll_rows_free(&rr);
    free(ts);
    free(vals);
    free(sv);
    view_unref(v);
}

/* ---- tests ---------------------------------------------------------------------- */

START_TEST(rows_equal_raw_statistics)
{
    char *dir = tu_tmpdir();
    char *pr = tu_path(dir, "r");
    strata_db *r = open_db(pr, TIERS, 2, 0);
    fill(&r, 1, TBASE, TBASE + 2 * DAY + 2 * HOUR, 1);
    ck_assert_int_eq(strata_db_compact(r), STRATA_OK);
    strata_stats st;
    ck_assert_int_eq(strata_db_stats(r, &st), STRATA_OK);
    /* two closed days, two tiers: merged or not, at least one each */
    ck_assert_uint_ge(st.rollup_segments, 2);
    ck_assert_uint_eq(st.rollups_stale, 0);
    uint64_t rows[2] = {0, 0}, absent = 0;
    rows_match_raw(r, rows, &absent);
    /* 1 min: only d0 (30 points a minute) has rows; 1 h: d0 and d1 */
    ck_assert_uint_gt(rows[0], 2 * 3 * 1400);
    ck_assert_uint_gt(rows[1], 2 * 3 * 2 * 23);
    ck_assert_uint_gt(absent, 0);
    ck_assert_int_eq(strata_db_close(r), STRATA_OK);
    /* reopened: the same rollups, still valid */
    r = open_db(pr, NULL, 0, 0);
    ck_assert_int_eq(strata_db_stats(r, &st), STRATA_OK);
    ck_assert_uint_ge(st.rollup_segments, 2);
    uint64_t rows2[2] = {0, 0};
    absent = 0;
    rows_match_raw(r, rows2, &absent);
    ck_assert_uint_eq(rows2[0], rows[0]);
    ck_assert_uint_eq(rows2[1], rows[1]);
    ck_assert_int_eq(strata_db_close(r), STRATA_OK);
    tu_rmrf(dir);
    free(pr);
    free(dir);
}
END_TEST

START_TEST(queries_agree_with_raw)
{
    char *dir = tu_tmpdir();
    char *pr = tu_path(dir, "r"), *pp = tu_path(dir, "p");
    strata_db *dbs[2] = {open_db(pr, TIERS, 2, 0), open_plain(pp)};
    fill(dbs, 2, TBASE, TBASE + 2 * DAY + 2 * HOUR, 2);
    ck_assert_int_eq(strata_db_compact(dbs[0]), STRATA_OK);
    ck_assert_int_eq(strata_db_compact(dbs[1]), STRATA_OK);
    strata_stats st;
    ck_assert_int_eq(strata_db_stats(dbs[1], &st), STRATA_OK);
    ck_assert_uint_eq(st.rollup_segments, 0);
    uint64_t used = 0;
    all_agree(dbs[0], dbs[1], &used);
    ck_assert_uint_gt(used, 1000);
    /* an hourly mean over the closed days reads rollup rows, not chunks */
    char *ex = same_answers(dbs[0], dbs[1],
                            "SELECT mean(temp) FROM m WHERE time >= '2024-03-01T00:00:00Z' AND "
                            "time < '2024-03-03T00:00:00Z' GROUP BY time(1h), device");
    /* d0 and d1 from hourly rows; d2 (too sparse for rows) raw */
    ck_assert_msg(rollup_rows_used(ex) == 2 * 48, "%s", ex);
    ck_assert_ptr_nonnull(strstr(ex, "1h (") );
    free(ex);
    /* stddev cannot come from rollups */
    ex = same_answers(dbs[0], dbs[1], "SELECT stddev(temp) FROM m GROUP BY time(1h)");
    ck_assert_uint_eq(rollup_rows_used(ex), 0);
    free(ex);
    /* a minute grid reads minute rows (d0 only) */
    ex = same_answers(dbs[0], dbs[1],
                      "SELECT max(temp) FROM m WHERE time >= '2024-03-01T00:00:00Z' AND "
                      "time < '2024-03-03T00:00:00Z' GROUP BY time(10m), device");
    ck_assert_msg(rollup_rows_used(ex) >= 2 * 1400, "%s", ex);
    free(ex);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(strata_db_close(dbs[i]), STRATA_OK);
    tu_rmrf(dir);
    free(pr);
    free(pp);
    free(dir);
}
END_TEST

START_TEST(late_data_and_deletes)
{
    char *dir = tu_tmpdir();
    char *pr = tu_path(dir, "r"), *pp = tu_path(dir, "p");
    strata_db *dbs[2] = {open_db(pr, TIERS, 2, 0), open_plain(pp)};
    fill(dbs, 2, TBASE, TBASE + 2 * DAY + 2 * HOUR, 3);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(strata_db_compact(dbs[i]), STRATA_OK);
    /* late points into day 2, some replacing stored ones: in the head */
    fill(dbs, 2, TBASE + DAY + 10 * HOUR, TBASE + DAY + 10 * HOUR + 20 * MIN, 99);
    all_agree(dbs[0], dbs[1], NULL);
    /* flushed: the rollups of day 2 are stale, the others still used */
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(strata_db_flush(dbs[i]), STRATA_OK);
    strata_stats st;
    ck_assert_int_eq(strata_db_stats(dbs[0], &st), STRATA_OK);
    ck_assert_uint_gt(st.rollups_stale, 0);
    uint64_t used = 0;
    all_agree(dbs[0], dbs[1], &used);
    ck_assert_uint_gt(used, 0);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(strata_db_compact(dbs[i]), STRATA_OK);
    ck_assert_int_eq(strata_db_stats(dbs[0], &st), STRATA_OK);
    ck_assert_uint_eq(st.rollups_stale, 0);
    all_agree(dbs[0], dbs[1], NULL);
    uint64_t rows[2] = {0, 0}, absent = 0;
    rows_match_raw(dbs[0], rows, &absent);
    /* deletes: a device over part of a day, and all of another device */
    uint64_t n = 0;
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(strata_delete_device(dbs[i], "d0", NULL, TBASE + 3 * HOUR + 7 * MIN,
                                              TBASE + DAY + 2 * HOUR, &n),
                         STRATA_OK);
        ck_assert_uint_eq(n, 3);
        ck_assert_int_eq(strata_delete_device(dbs[i], "d1", "m", INT64_MIN, INT64_MAX, &n),
                         STRATA_OK);
    }
    all_agree(dbs[0], dbs[1], NULL);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(strata_db_compact(dbs[i]), STRATA_OK);
    all_agree(dbs[0], dbs[1], &used);
    ck_assert_uint_gt(used, 0);
    rows_match_raw(dbs[0], rows, &absent);
    /* reopened */
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(strata_db_close(dbs[i]), STRATA_OK);
    dbs[0] = open_db(pr, NULL, 0, 0);
    dbs[1] = open_db(pp, NULL, 0, 0);
    all_agree(dbs[0], dbs[1], NULL);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(strata_db_close(dbs[i]), STRATA_OK);
    tu_rmrf(dir);
    free(pr);
    free(pp);
    free(dir);
}
END_TEST

START_TEST(tier_retention)
{
    char *dir = tu_tmpdir();
    char *pr = tu_path(dir, "r"), *pp = tu_path(dir, "p");
    /* raw kept 1 day, 1 min rollups 2 days, 1 h forever */
    static const strata_rollup_tier tiers[] = {{MIN, 2 * DAY}, {HOUR, 0}};
    strata_db *dbs[2] = {open_db(pr, tiers, 2, DAY), open_plain(pp)};
    for (int day = 0; day < 5; day++) {
        fill(dbs, 2, TBASE + day * DAY, TBASE + (day + 1) * DAY, 10 + (uint64_t)day);
        ck_assert_int_eq(strata_db_compact(dbs[0]), STRATA_OK);
    }
    fill(dbs, 2, TBASE + 5 * DAY, TBASE + 5 * DAY + HOUR, 20);
    ck_assert_int_eq(strata_db_compact(dbs[0]), STRATA_OK);
    /* raw data of the first days is gone from R: a grid rollups cannot
     * serve (90 s) finds nothing there */
    answer a = run(dbs[0], "SELECT count(temp) FROM m WHERE time < '2024-03-03T00:00:00Z' GROUP "
                           "BY time(90s) fill(none)");
    ck_assert_uint_eq(a.rows, 0);
    answer_free(&a);
    /* hourly answers (and coarser) over everything still equal P's: the
     * 5-minute device has hourly rows too, raw data not being kept
     * forever */
    const char *const q[] = {
        "SELECT mean(temp), min(temp), max(temp), count(temp), sum(cnt), first(on), last(on) "
        "FROM m GROUP BY time(1h), device",
        "SELECT mean(temp), count(cnt) FROM m GROUP BY time(1d), site",
        "SELECT count(temp), sum(on) FROM m",
        "SELECT last(temp) FROM m GROUP BY device",
        "SELECT first(temp), last(cnt) FROM m WHERE time < '2024-03-03T00:00:00Z' GROUP BY device",
    };
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        char *ex = same_answers(dbs[0], dbs[1], q[i]);
        /* (the newest last() is in raw data: the index answers it) */
        ck_assert_msg(rollup_rows_used(ex) > 0 || strstr(q[i], "last(temp)"), "%s", ex);
        free(ex);
    }
    /* a field asked for an aggregate rollups keep and for one they do not:
     * the first still comes from rollups where raw data is gone (as when
     * asked alone), the second from what raw data is left */
    answer x = run(dbs[0], "SELECT count(temp), stddev(temp) FROM m GROUP BY time(1d)");
    answer y = run(dbs[1], "SELECT count(temp), stddev(temp) FROM m GROUP BY time(1d)");
    ck_assert_uint_eq(x.rows, y.rows);
    ck_assert_uint_eq(x.cols, 3);
    int expired_days = 0;
    for (size_t k = 0; k < x.rows; k++) {
        ck_assert_int_eq(x.i[k * 3 + 1], y.i[k * 3 + 1]);
        ck_assert_int_gt(x.i[k * 3 + 1], 0);
        if (x.type[k * 3 + 2] == STRATA_COL_F64)
            ck_assert_msg(fabs(x.f[k * 3 + 2] - y.f[k * 3 + 2]) <= 1e-9 * fabs(y.f[k * 3 + 2]),
                          "day %zu: stddev %.17g vs %.17g", k, x.f[k * 3 + 2], y.f[k * 3 + 2]);
        else
            expired_days++;
    }
    ck_assert_int_ge(expired_days, 3);
    answer_free(&x);
    answer_free(&y);
    /* 1 min rollups are kept 2 days behind the frontier only */
    view *v = db_view_get(dbs[0]);
    int64_t oldest_min = INT64_MAX, oldest_hour = INT64_MAX;
    for (size_t i = 0; v->rolls && i < v->rolls->n; i++) {
        const roll *ro = &v->rolls->x[i];
        int64_t *o = ro->width == MIN ? &oldest_min : &oldest_hour;
        *o = ro->first < *o ? ro->first : *o;
    }
    view_unref(v);
    ck_assert_int_eq(oldest_hour, TDAY0);
    ck_assert_int_ge(oldest_min, TDAY0 + 2 * DAY);
    ck_assert_int_lt(oldest_min, INT64_MAX);
    /* with a raw retention a series needs 4 points a bucket for rows: the
     * 5-minute device has hourly rows, no minute rows */
    strata_series d2;
    ck_assert_int_eq(strata_series_find(dbs[0], "m,device=d2,site=s1 temp", &d2), STRATA_OK);
    v = db_view_get(dbs[0]);
    roll_rows rr = {0};
    int minute_rows = 0, hour_rows = 0;
    for (size_t i = 0; v->rolls && i < v->rolls->n; i++) {
        const roll *ro = &v->rolls->x[i];
        int got = ro->r ? roll_read(ro->r, (uint32_t)d2.id, &rr, ROLL_ALL) : 0;
        ck_assert_int_ge(got, 0);
        if (got && ro->width == MIN)
            minute_rows += (int)rr.n;
        if (got && ro->width == HOUR)
            hour_rows += (int)rr.n;
    }
    roll_rows_free(&rr);
    view_unref(v);
    ck_assert_int_eq(minute_rows, 0);
    ck_assert_int_gt(hour_rows, 3 * 24);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(strata_db_close(dbs[i]), STRATA_OK);
    tu_rmrf(dir);
    free(pr);
    free(pp);
    free(dir);
}
END_TEST

START_TEST(tier_settings)
{
    char *dir = tu_tmpdir();
    char *pr = tu_path(dir, "r");
    strata_options o;
    strata_options_init(&o);
    o.create_if_missing = 1;
    o.no_compaction = 1;
    strata_db *db = NULL;
    /* bad tiers are refused with a message */
    static const strata_rollup_tier bad1[] = {{7 * SEC, 0}};           /* does not divide 1 d */
    static const strata_rollup_tier bad2[] = {{HOUR, 0}, {MIN, 0}};    /* descending */
    static const strata_rollup_tier bad3[] = {{SEC / 2, 0}};           /* under 1 s */
    static const strata_rollup_tier bad4[] = {{MIN, -5}};              /* retention */
    const strata_rollup_tier *bad[] = {bad1, bad2, bad3, bad4};
    size_t nbad[] = {1, 2, 1, 1};
    for (int i = 0; i < 4; i++) {
        o.rollup_tiers = bad[i];
        o.nrollup_tiers = nbad[i];
        ck_assert_int_eq(strata_db_open(pr, &o, &db) & 0xff, STRATA_MISUSE);
        ck_assert_ptr_null(db);
        ck_assert_ptr_nonnull(strstr(strata_errmsg(NULL), "rollup"));
        tu_rmrf(pr);
    }
    /* the default for a new database: 1 min and 1 h, forever */
    o.rollup_tiers = NULL;
    ck_assert_int_eq(strata_db_open(pr, &o, &db), STRATA_OK);
    strata_rollup_tier t[STRATA_MAX_ROLLUP_TIERS];
    size_t n = 9;
    ck_assert_int_eq(strata_db_get_rollup_tiers(db, t, &n), STRATA_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(t[0].width_ns, MIN);
    ck_assert_int_eq(t[1].width_ns, HOUR);
    ck_assert_int_eq(t[0].retention_ns, 0);
    fill(&db, 1, TBASE, TBASE + DAY + HOUR, 5);
    ck_assert_int_eq(strata_db_compact(db), STRATA_OK);
    strata_stats st;
    ck_assert_int_eq(strata_db_stats(db, &st), STRATA_OK);
    ck_assert_uint_ge(st.rollup_segments, 2);
    ck_assert_int_eq(strata_db_set_rollup_tiers(db, bad2, 2) & 0xff, STRATA_MISUSE);
    /* only the hourly tier, kept 30 days: the 1 min rollups go */
    static const strata_rollup_tier hourly[] = {{HOUR, 30 * DAY}};
    ck_assert_int_eq(strata_db_set_rollup_tiers(db, hourly, 1), STRATA_OK);
    ck_assert_int_eq(strata_db_compact(db), STRATA_OK);
    view *v = db_view_get(db);
    ck_assert_ptr_nonnull(v->rolls);
    for (size_t i = 0; i < v->rolls->n; i++)
        ck_assert_int_eq(v->rolls->x[i].width, HOUR);
    view_unref(v);
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    o.rollup_tiers = NULL;
    ck_assert_int_eq(strata_db_open(pr, &o, &db), STRATA_OK);
    ck_assert_int_eq(strata_db_get_rollup_tiers(db, t, &n), STRATA_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(t[0].retention_ns, 30 * DAY);
    /* none: every rollup goes at the next compaction */
    ck_assert_int_eq(strata_db_set_rollup_tiers(db, NULL, 0), STRATA_OK);
    ck_assert_int_eq(strata_db_compact(db), STRATA_OK);
    ck_assert_int_eq(strata_db_stats(db, &st), STRATA_OK);
    ck_assert_uint_eq(st.rollup_segments, 0);
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    tu_rmrf(dir);
    free(pr);
    free(dir);
}
END_TEST

/* A device dense on some days and sparse on others, over three weeks: its
 * rollups have rows in some partitions and none in others, and merging
 * them into 7-day windows must keep both right. */
START_TEST(merged_windows)
{
    char *dir = tu_tmpdir();
    char *pr = tu_path(dir, "r"), *pp = tu_path(dir, "p");
    strata_db *dbs[2] = {open_db(pr, TIERS, 2, 0), open_plain(pp)};
    strata_batch *b[2];
    for (int k = 0; k < 2; k++)
        ck_assert_int_eq(strata_batch_new(dbs[k], &b[k]), STRATA_OK);
    uint64_t rs = 77;
    double temp = 20;
    size_t inbatch = 0;
    for (int day = 0; day < 22; day++) {
        int64_t step = day % 10 < 3 ? 2 * SEC : 300 * SEC;
        for (int64_t t = TDAY0 + day * DAY; t < TDAY0 + (day + 1) * DAY; t += step) {
            uint64_t r = tu_rand(&rs);
            temp += (double)((int)(r % 7) - 3) / 10.0;
            for (int k = 0; k < 2; k++) {
                int rc = strata_batch_point(b[k], "v", t);
                rc |= strata_batch_tag(b[k], "device", "x");
                rc |= strata_batch_f64(b[k], "temp", round(temp * 10) / 10);
                TU_CHECK(rc == STRATA_OK, "batch: %s", strata_errmsg(NULL));
            }
            if (++inbatch == 5000) {
                for (int k = 0; k < 2; k++) {
                    ck_assert_int_eq(strata_db_write(dbs[k], b[k]), STRATA_OK);
                    strata_batch_clear(b[k]);
                }
                inbatch = 0;
            }
        }
        for (int k = 0; k < 2; k++) {
            ck_assert_int_eq(strata_db_write(dbs[k], b[k]), STRATA_OK);
            strata_batch_clear(b[k]);
        }
        if (day % 4 == 3) /* rollups built as the days close, then merged */
            ck_assert_int_eq(strata_db_compact(dbs[0]), STRATA_OK);
    }
    for (int k = 0; k < 2; k++)
        strata_batch_free(b[k]);
    ck_assert_int_eq(strata_db_compact(dbs[0]), STRATA_OK);
    /* some rollups now span a 7-day window */
    view *v = db_view_get(dbs[0]);
    int wide = 0;
    for (size_t i = 0; v->rolls && i < v->rolls->n; i++)
        wide += v->rolls->x[i].last - v->rolls->x[i].first >= 7 * DAY - 1;
    view_unref(v);
    ck_assert_int_gt(wide, 0);
    const char *const q[] = {
        "SELECT mean(temp), count(temp), max(temp) FROM v GROUP BY time(1h)",
        "SELECT min(temp), last(temp) FROM v GROUP BY time(1m) fill(none)",
        "SELECT count(temp), first(temp) FROM v GROUP BY time(1d)",
        "SELECT sum(temp) FROM v",
    };
    uint64_t used = 0;
    agree_on(dbs[0], dbs[1], q, sizeof q / sizeof q[0], &used);
    ck_assert_uint_gt(used, 0);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(strata_db_close(dbs[i]), STRATA_OK);
    tu_rmrf(dir);
    free(pr);
    free(pp);
    free(dir);
}
END_TEST

/* ---- killed while building ------------------------------------------------------- */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static pid_t spawn_compact(const char *db)
{
    pid_t pid = tu_fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        const char *bin = getenv("STRATA_BIN");
        execl(bin ? bin : "build/strata", "strata", "compact", db, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void copy_db(const char *from, const char *to)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -a '%s' '%s'", to, from, to);
    ck_assert_int_eq(system(cmd), 0);
}

static void count_problem(void *ctx, const char *msg)
{
    fprintf(stderr, "verify: %s\n", msg);
    (*(int *)ctx)++;
}

START_TEST(killed_while_building)
{
    char *dir = tu_tmpdir();
    char *pr = tu_path(dir, "r"), *pp = tu_path(dir, "p"), *pw = tu_path(dir, "w");
    strata_db *dbs[2] = {open_db(pr, TIERS, 2, 0), open_plain(pp)};
    fill(dbs, 2, TBASE, TBASE + 2 * DAY + 2 * HOUR, 7);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(strata_db_close(dbs[i]), STRATA_OK);
    strata_db *p = open_db(pp, NULL, 0, 0);
    /* how long one compaction takes here (the CLI builds with the
     * default density: the 1 s device gets hourly rows) */
    copy_db(pr, pw);
    double t0 = now_s();
    int st;
    pid_t pid = spawn_compact(pw);
    ck_assert(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    double took = now_s() - t0;
    uint64_t seed = 4242;
    int killed = 0;
    double budget = now_s() + 12;
    for (int iter = 0; iter < 30 && now_s() < budget; iter++) {
        copy_db(pr, pw);
        pid = spawn_compact(pw);
        usleep((useconds_t)(tu_rand(&seed) % (uint64_t)(took * 1e6 + 1)));
        kill(pid, SIGKILL);
        ck_assert(waitpid(pid, &st, 0) == pid);
        killed += WIFSIGNALED(st);
        strata_db *w = open_db(pw, NULL, 0, 0); /* recovery */
        all_agree(w, p, NULL);
        ck_assert_int_eq(strata_db_close(w), STRATA_OK);
        int problems = 0;
        uint64_t n = 0;
        ck_assert_int_eq(strata_verify(pw, count_problem, &problems, &n), STRATA_OK);
        ck_assert_uint_eq(n, 0);
        if (iter % 3 == 0) {
            w = open_db(pw, NULL, 0, 0);
            ck_assert_int_eq(strata_db_compact(w), STRATA_OK);
            strata_stats ss;
            ck_assert_int_eq(strata_db_stats(w, &ss), STRATA_OK);
            ck_assert_uint_eq(ss.rollups_stale, 0);
            ck_assert_uint_gt(ss.rollup_segments, 0);
            uint64_t used = 0;
            all_agree(w, p, &used);
            ck_assert_uint_gt(used, 0);
            ck_assert_int_eq(strata_db_close(w), STRATA_OK);
        }
    }
    fprintf(stderr, "rollup kill: %d killed (one compaction %.0f ms)\n", killed, took * 1e3);
    ck_assert_int_gt(killed, 0);
    ck_assert_int_eq(strata_db_close(p), STRATA_OK);
    tu_rmrf(dir);
    free(pr);
    free(pp);
    free(pw);
    free(dir);
}
END_TEST

/* Points in 1677 (near INT64_MIN) and in 2024: compaction builds the rollups
 * of both ends (a bucket whose start lies below INT64_MIN starts there; the
 * floor to the bucket overflowed, which the sanitizer pass catches), and
 * every point stays countable.  Found by tests/fuzz/fuzz_ops. */
START_TEST(extreme_times)
{
    char *dir = tu_tmpdir();
    strata_rollup_tier tiers[2] = {{60000000000LL, 0}, {3600000000000LL, 0}};
    strata_db *db = open_db(dir, tiers, 2, 0);
    strata_batch *b;
    ck_assert_int_eq(strata_batch_new(db, &b), STRATA_OK);
    const int64_t starts[2] = {INT64_MIN + 1, 1704067200000000000LL};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 8; i++) {
            ck_assert_int_eq(strata_batch_point(b, "m", starts[k] + i * 1000000000LL), STRATA_OK);
            ck_assert_int_eq(strata_batch_f64(b, "x", i), STRATA_OK);
        }
    ck_assert_int_eq(strata_db_write(db, b), STRATA_OK);
    strata_batch_free(b);
    ck_assert_int_eq(strata_db_compact(db), STRATA_OK);
    strata_stats st;
    ck_assert_int_eq(strata_db_stats(db, &st), STRATA_OK);
    ck_assert_uint_ge(st.rollup_segments, 1);
    strata_query *q;
    ck_assert_int_eq(strata_query_prepare(db, "SELECT count(x), sum(x) FROM m", &q), STRATA_OK);
    ck_assert_int_eq(strata_query_step(q), STRATA_ROW);
    ck_assert_int_eq(strata_query_column_i64(q, 1), 16);
    ck_assert(strata_query_column_f64(q, 2) == 56.0);
    strata_query_finalize(q);
    strata_db_close(db);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

Suite *rollup_suite(void); /* found by the runner (suites.h) */

Suite *rollup_suite(void)
{
    Suite *s = suite_create("rollup");
    TCase *tc = tcase_create("rollup");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, rows_equal_raw_statistics);
    tcase_add_test(tc, queries_agree_with_raw);
    tcase_add_test(tc, late_data_and_deletes);
    tcase_add_test(tc, tier_retention);
    tcase_add_test(tc, tier_settings);
    tcase_add_test(tc, merged_windows);
    tcase_add_test(tc, killed_while_building);
    tcase_add_test(tc, extreme_times);
    suite_add_tcase(s, tc);
    return s;
}
