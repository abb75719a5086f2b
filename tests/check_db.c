/*
 * check_db.c — the public API end to end: what goes in comes out bit for
 * bit, before a flush (head), after it (segments), after a reopen (log
 * replay or segments); out-of-order and duplicate points (last write
 * wins); batches are atomic; names are validated; concurrent writers and
 * readers; the memory budget; locks, read-only handles, options; the i-th
 * allocation failing; I/O errors during a flush; damaged segments.
 *
 * Expected values are computed independently in the test (a model: for
 * every series, a map from timestamp to the last value written).
 */
#include "tests/testutil.h"

#include "engine/alloc.h"
#include "engine/db.h"
#include "engine/head.h"
#include "engine/os.h"
#include "strata.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- a model of what the database must hold -------------------------------- */

typedef struct mpoint {
    int64_t ts;
    uint64_t bits;
    uint64_t seq; /* write order */
} mpoint;

typedef struct model {
    mpoint *p;
    size_t n, cap;
    uint64_t seq;
} model;

static void model_add(model *m, int64_t ts, uint64_t bits)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 1024;
        m->p = realloc(m->p, m->cap * sizeof *m->p);
    }
    m->p[m->n++] = (mpoint){ts, bits, m->seq++};
}

static int cmp_mpoint(const void *a, const void *b)
{
    const mpoint *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sort and keep the last write per timestamp. */
static void model_settle(model *m)
{
    qsort(m->p, m->n, sizeof *m->p, cmp_mpoint);
    size_t k = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (i + 1 < m->n && m->p[i + 1].ts == m->p[i].ts)
            continue;
        m->p[k++] = m->p[i];
    }
    m->n = k;
}

static void count_problem(void *ctx, const char *msg)
{
    (void)msg;
    (*(int *)ctx)++;
}

static uint64_t f2b(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static int64_t next_partition_ns; /* for the next open_db() that creates */

static strata_db *open_db(const char *dir, strata_sync sync, size_t budget)
{
    strata_options o;
    strata_options_init(&o);
    o.partition_ns = next_partition_ns;
    next_partition_ns = 0;
    o.create_if_missing = 1;
    o.sync = sync;
    if (budget)
        o.head_budget_bytes = budget;
    strata_db *db;
    int rc = strata_db_open(dir, &o, &db);
    ck_assert_msg(rc == STRATA_OK, "open %s: %s", dir, strata_errmsg(NULL));
    return db;
}

static uint64_t series_id(strata_db *db, const char *key)
{
    strata_series s;
    int rc = strata_series_find(db, key, &s);
    ck_assert_msg(rc == STRATA_OK, "find %s: %s", key, strata_errmsg(db));
    return s.id;
}

/* Compare series `key` over [from, to) with the (settled) model. */
static void expect_series(strata_db *db, const char *key, model *m, int64_t from, int64_t to)
{
    strata_iter *it;
    ck_assert_int_eq(strata_iter_open(db, series_id(db, key), from, to, &it), STRATA_OK);
    strata_series s;
    strata_series_find(db, key, &s);
    size_t k = 0;
    while (k < m->n && m->p[k].ts < from)
        k++;
    int64_t ts;
    strata_value v;
    int rc;
    while ((rc = strata_iter_next(it, &ts, &v)) == STRATA_ROW) {
        TU_CHECK(k < m->n && (m->p[k].ts < to || to == INT64_MAX),
                 "%s: unexpected extra point at %lld", key, (long long)ts);
        TU_CHECK(ts == m->p[k].ts, "%s: point %zu at %lld, expected %lld", key, k, (long long)ts,
                 (long long)m->p[k].ts);
        uint64_t bits = s.type == STRATA_F64   ? f2b(v.f64)
                        : s.type == STRATA_I64 ? (uint64_t)v.i64
                                               : (uint64_t)v.boolean;
        TU_CHECK(bits == m->p[k].bits, "%s at %lld: %016llx, expected %016llx", key,
                 (long long)ts, (unsigned long long)bits, (unsigned long long)m->p[k].bits);
        k++;
    }
    ck_assert_int_eq(rc, STRATA_DONE);
    ck_assert_msg(k == m->n || (m->p[k].ts >= to && to != INT64_MAX), "%s: %zu of %zu points",
                  key, k, m->n);
    strata_iter_close(it);
}

static void write_f64(strata_db *db, strata_batch *b, const char *meas, const char *dev,
                      const char *field, int64_t ts, double v)
{
    TU_CHECK(strata_batch_point(b, meas, ts) == STRATA_OK && strata_batch_tag(b, "device", dev) ==
                 STRATA_OK && strata_batch_f64(b, field, v) == STRATA_OK,
             "adding a point: %s", strata_errmsg(db));
}

/* Copy a live database directory: what a crash at this moment leaves. */
static char *snapshot(const char *dir)
{
    char *copy = tu_tmpdir();
    char cmd[8400];
    snprintf(cmd, sizeof cmd, "cp -a '%s/.' '%s/'", dir, copy);
    ck_assert_int_eq(system(cmd), 0);
    return copy;
}

/* ---- tests --------------------------------------------------------------------- */

/* Every type, special values, several series; read back from the head,
 * from a crash snapshot (log replay), after flush, after reopen. */
START_TEST(test_roundtrip_everywhere)
{
    char *dir = tu_tmpdir();
    /* 30-day partitions: the 4 days written below stay in the head (and
     * the log) until the explicit flush */
    next_partition_ns = 30 * 86400000000000LL;
    strata_db *db = open_db(dir, STRATA_SYNC_ALWAYS, 0);
    strata_batch *b;
    ck_assert_int_eq(strata_batch_new(db, &b), STRATA_OK);
    static const double specials[] = {0.0, -0.0, INFINITY, -INFINITY, 5e-324, 2.2250738585072009e-308,
                                      1.7976931348623157e308, 0.1, 45.12345, -0.533333333333333};
    model mf = {0}, mi = {0}, mb = {0}, mn = {0};
    const int64_t day = 86400000000000LL;
    for (int i = 0; i < 3000; i++) {
        int64_t ts = -day + (int64_t)i * 97000000000LL; /* spans 1969-12-31 .. 1970-01-04 */
        double d = i < 10 ? specials[i] : sin(i) * 1000.0;
        ck_assert_int_eq(strata_batch_point(b, "m", ts), STRATA_OK);
        ck_assert_int_eq(strata_batch_tag(b, "host", "a b,c=d"), STRATA_OK);
        ck_assert_int_eq(strata_batch_f64(b, "f", d), STRATA_OK);
        int64_t iv = i == 0 ? INT64_MIN : i == 1 ? INT64_MAX : (int64_t)i * -7919;
        ck_assert_int_eq(strata_batch_i64(b, "i", iv), STRATA_OK);
        ck_assert_int_eq(strata_batch_bool(b, "b", i % 3 == 0), STRATA_OK);
        model_add(&mf, ts, f2b(d));
        model_add(&mi, ts, (uint64_t)iv);
        model_add(&mb, ts, i % 3 == 0);
        /* a NaN with a payload, in its own series */
        uint64_t nan = 0x7ff0000000000001ull + (uint64_t)i;
        double dn;
        memcpy(&dn, &nan, sizeof dn);
        ck_assert_int_eq(strata_batch_point(b, "m", ts), STRATA_OK);
        ck_assert_int_eq(strata_batch_tag(b, "host", "a b,c=d"), STRATA_OK);
        ck_assert_int_eq(strata_batch_f64(b, "nan", dn), STRATA_OK);
        model_add(&mn, ts, nan);
        if (i % 500 == 499) {
            ck_assert_int_eq(strata_db_write(db, b), STRATA_OK);
            strata_batch_clear(b);
        }
    }
    model_settle(&mf);
    model_settle(&mi);
    model_settle(&mb);
    model_settle(&mn);
    const char *kf = "m,host=a\\ b\\,c\\=d f", *ki = "m,host=a\\ b\\,c\\=d i",
               *kb = "m,host=a\\ b\\,c\\=d b", *kn = "m,host=a\\ b\\,c\\=d nan";
#define ALL(db_)                                                                                   \
    do {                                                                                           \
        expect_series(db_, kf, &mf, INT64_MIN, INT64_MAX);                                         \
        expect_series(db_, ki, &mi, INT64_MIN, INT64_MAX);                                         \
        expect_series(db_, kb, &mb, INT64_MIN, INT64_MAX);                                         \
        expect_series(db_, kn, &mn, INT64_MIN, INT64_MAX);                                         \
    } while (0)
    ALL(db);
    /* a crash now: the copy has only the log */
    char *crash = snapshot(dir);
    strata_db *db2 = open_db(crash, STRATA_SYNC_ALWAYS, 0);
    strata_stats st;
    strata_db_stats(db2, &st);
    ck_assert_uint_eq(st.segments, 0);
    ck_assert_uint_eq(st.replayed_records, 6);
    ALL(db2);
    ck_assert_int_eq(strata_db_close(db2), STRATA_OK);
    /* flush: now in segments, one per partition */
    ck_assert_int_eq(strata_db_flush(db), STRATA_OK);
    strata_db_stats(db, &st);
    ck_assert_uint_eq(st.segments, 2);
    ck_assert_uint_eq(st.head_points, 0);
    ALL(db);
    strata_batch_free(b);
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    db = open_db(dir, STRATA_SYNC_BATCH, 0);
    ALL(db);
    /* ranges: [from, to) */
    expect_series(db, kf, &mf, 0, day);
    expect_series(db, kf, &mf, mf.p[17].ts, mf.p[18].ts);
    expect_series(db, kf, &mf, mf.p[17].ts + 1, mf.p[17].ts + 2);
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    ck_assert_int_eq(strata_db_close(db2 = open_db(crash, STRATA_SYNC_ALWAYS, 0)), STRATA_OK);
#undef ALL
    free(mf.p);
    free(mi.p);
    free(mb.p);
    free(mn.p);
    tu_rmrf(crash);
    free(crash);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* Out of order and duplicates across the head, the frozen head and several
 * segments: last write wins, everywhere. */
START_TEST(test_out_of_order_and_duplicates)
{
    char *dir = tu_tmpdir();
    strata_db *db = open_db(dir, STRATA_SYNC_NONE, 0);
    strata_batch *b;
    strata_batch_new(db, &b);
    model m[4] = {{0}};
    uint64_t seed = 7;
    const char *devs[4] = {"d0", "d1", "d2", "d3"};
    for (int round = 0; round < 6; round++) {
        for (int i = 0; i < 4000; i++) {
            int d = (int)(tu_rand(&seed) % 4);
            /* timestamps on a 10 s grid over 3 days, many repeats */
            int64_t ts = (int64_t)(tu_rand(&seed) % 25920) * 10000000000LL;
            double v = (double)(tu_rand(&seed) % 100000) / 100.0;
            write_f64(db, b, "ooo", devs[d], "v", ts, v);
            model_add(&m[d], ts, f2b(v));
        }
        ck_assert_int_eq(strata_db_write(db, b), STRATA_OK);
        strata_batch_clear(b);
        if (round % 2 == 1)
            ck_assert_int_eq(strata_db_flush(db), STRATA_OK);
    }
    char key[64];
    for (int d = 0; d < 4; d++) {
        model_settle(&m[d]);
        snprintf(key, sizeof key, "ooo,device=%s v", devs[d]);
        expect_series(db, key, &m[d], INT64_MIN, INT64_MAX);
        expect_series(db, key, &m[d], 86400000000000LL, 2 * 86400000000000LL);
    }
    strata_batch_free(b);
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    db = open_db(dir, STRATA_SYNC_NONE, 0);
    for (int d = 0; d < 4; d++) {
        snprintf(key, sizeof key, "ooo,device=%s v", devs[d]);
        expect_series(db, key, &m[d], INT64_MIN, INT64_MAX);
        free(m[d].p);
    }
    strata_db_close(db);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* A batch is applied to the head grouped by series (db_write.c
 * apply_batch); a log replay applies the same record value by value.  Both
 * must hold what the values say in batch order: here series interleaved
 * point by point, several fields a point (three types), times out of order
 * with repeats inside one batch (the last write wins), and one series
 * written under two spellings of its tags in the same batch.  Checked live,
 * after a crash (replay of the unflushed log), and after flush and reopen. */
static void grouping_key(char *key, size_t cap, const char *dev, const char *field)
{
    if (dev)
        snprintf(key, cap, "g,device=%s %s", dev, field);
    else
        snprintf(key, cap, "g,a=1,b=2 %s", field);
}

START_TEST(test_batch_grouping)
{
    char *dir = tu_tmpdir();
    strata_db *db = open_db(dir, STRATA_SYNC_NONE, 0);
    strata_batch *b;
    strata_batch_new(db, &b);
    enum { NDEV = 4, NF = 3 }; /* device 0: tags a=1,b=2 in either order */
    model m[NDEV][NF];
    memset(m, 0, sizeof m);
    const char *devs[NDEV] = {NULL, "d1", "d2", "d3"};
    uint64_t seed = 31;
    for (int round = 0; round < 6; round++) {
        for (int i = 0; i < 3000; i++) {
            int d = (int)(tu_rand(&seed) % NDEV), two = (int)(tu_rand(&seed) % 2);
            int64_t ts = (int64_t)(tu_rand(&seed) % 400) * 1000000000LL;
            int rc = strata_batch_point(b, "g", ts);
            if (d == 0 && two)
                rc |= strata_batch_tag(b, "b", "2") | strata_batch_tag(b, "a", "1");
            else if (d == 0)
                rc |= strata_batch_tag(b, "a", "1") | strata_batch_tag(b, "b", "2");
            else
                rc |= strata_batch_tag(b, "device", devs[d]);
            uint64_t r = tu_rand(&seed);
            double f = (double)(r % 100000) / 8.0;
            int64_t n = (int64_t)(r >> 20) - (1LL << 40);
            if (r % 3 != 0) {
                rc |= strata_batch_f64(b, "f", f);
                model_add(&m[d][0], ts, f2b(f));
            }
            if (r % 5 != 0) {
                rc |= strata_batch_i64(b, "n", n);
                model_add(&m[d][1], ts, (uint64_t)n);
            }
            if (r % 3 == 0 || r % 7 == 0) {
                rc |= strata_batch_bool(b, "on", (int)(r >> 60) & 1);
                model_add(&m[d][2], ts, (r >> 60) & 1);
            }
            TU_CHECK(rc == STRATA_OK, "adding point %d: %s", i, strata_errmsg(db));
        }
        ck_assert_int_eq(strata_db_write(db, b), STRATA_OK);
        strata_batch_clear(b);
    }
    strata_batch_free(b);
    const char *fields[NF] = {"f", "n", "on"};
    char key[64];
    for (int step = 0; step < 3; step++) {
        if (step == 1) { /* a crash: the log replayed value by value */
            char *copy = snapshot(dir);
            strata_db *c = open_db(copy, STRATA_SYNC_NONE, 0);
            for (int d = 0; d < NDEV; d++)
                for (int f = 0; f < NF; f++) {
                    grouping_key(key, sizeof key, devs[d], fields[f]);
                    expect_series(c, key, &m[d][f], INT64_MIN, INT64_MAX);
                }
            ck_assert_int_eq(strata_db_close(c), STRATA_OK);
            tu_rmrf(copy);
            free(copy);
            continue;
        }
        if (step == 2) {
            ck_assert_int_eq(strata_db_flush(db), STRATA_OK);
            ck_assert_int_eq(strata_db_close(db), STRATA_OK);
            db = open_db(dir, STRATA_SYNC_NONE, 0);
        }
        for (int d = 0; d < NDEV; d++)
            for (int f = 0; f < NF; f++) {
                if (step == 0)
                    model_settle(&m[d][f]);
                grouping_key(key, sizeof key, devs[d], fields[f]);
                expect_series(db, key, &m[d][f], INT64_MIN, INT64_MAX);
                expect_series(db, key, &m[d][f], 100000000000LL, 200000000000LL);
            }
    }
    for (int d = 0; d < NDEV; d++)
        for (int f = 0; f < NF; f++)
            free(m[d][f].p);
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

static int count_log_files(const char *dir)
{
    char *wdir = tu_path(dir, "wal");
    DIR *d = opendir(wdir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strlen(e->d_name) > 4 && strcmp(e->d_name + strlen(e->d_name) - 4, ".wal") == 0;
    closedir(d);
    free(wdir);
    return n;
}

/* A freeze does not start a log file: flushes leave one file holding
 * records on both sides of flushed_lsn, and a crash then replays only
 * those above it (the others are in segments), under BATCH and NONE. */
START_TEST(test_freeze_keeps_log_file)
{
    static const strata_sync pols[] = {STRATA_SYNC_BATCH, STRATA_SYNC_NONE};
    for (size_t pi = 0; pi < sizeof pols / sizeof pols[0]; pi++) {
        char *dir = tu_tmpdir();
        strata_db *db = open_db(dir, pols[pi], 0);
        strata_batch *b;
        strata_batch_new(db, &b);
        model m = {0};
        static const int sizes[] = {100, 50, 30};
        int64_t ts = 1700000000000000000LL;
        for (int round = 0; round < 3; round++) {
            for (int i = 0; i < sizes[round]; i++, ts += 1000000000LL) {
                write_f64(db, b, "k", "d0", "v", ts, (double)i + round * 0.5);
                model_add(&m, ts, f2b((double)i + round * 0.5));
            }
            ck_assert_int_eq(strata_db_write(db, b), STRATA_OK);
            strata_batch_clear(b);
            if (round < 2)
                ck_assert_int_eq(strata_db_flush(db), STRATA_OK);
        }
        strata_batch_free(b);
        char *first = tu_path(dir, "wal/0000000000000001.wal");
        TU_CHECK(count_log_files(dir) == 1 && access(first, F_OK) == 0,
                 "policy %d: %d log files after two flushes, want the first one only",
                 (int)pols[pi], count_log_files(dir));
        free(first);
        model_settle(&m);
        char *copy = snapshot(dir);
        strata_db *c = open_db(copy, pols[pi], 0);
        strata_stats st;
        ck_assert_int_eq(strata_db_stats(c, &st), STRATA_OK);
        TU_CHECK(st.replayed_records == 1 && st.head_points == 30,
                 "policy %d: %llu records replayed, %llu points in the head; want 1 and 30",
                 (int)pols[pi], (unsigned long long)st.replayed_records,
                 (unsigned long long)st.head_points);
        expect_series(c, "k,device=d0 v", &m, INT64_MIN, INT64_MAX);
        ck_assert_int_eq(strata_db_close(c), STRATA_OK);
        tu_rmrf(copy);
        free(copy);
        ck_assert_int_eq(strata_db_close(db), STRATA_OK);
        ck_assert_int_eq(count_log_files(dir), 0);
        db = open_db(dir, pols[pi], 0);
        expect_series(db, "k,device=d0 v", &m, INT64_MIN, INT64_MAX);
        ck_assert_int_eq(strata_db_close(db), STRATA_OK);
        free(m.p);
        tu_rmrf(dir);
        free(dir);
    }
}
END_TEST

/* head_collect() against a model (qsort by time and arrival, then the last
 * value of each timestamp) on orders a sort can get wrong: late points in
 * sorted data, descending runs, one timestamp over and over, sawtooths,
 * random, and every small size; and over sub-ranges.  The points go in one
 * at a time or in runs of head_append_run. */
typedef struct tarr {
    int64_t ts;
    uint64_t i;
} tarr;

static int tarr_cmp(const void *a, const void *b)
{
    const tarr *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

static void head_expect(const int64_t *ts, size_t n, int64_t from, int64_t to, int runs)
{
    head *h = head_new(NULL);
    ck_assert_ptr_nonnull(h);
    head_point run[37];
    for (size_t i = 0, k; i < n; i += k) { /* runs: 1, 2, ..., 37, 1, ... points */
        k = runs ? (i % 37) + 1 : 1;
        k = k < n - i ? k : n - i;
        for (size_t j = 0; j < k; j++)
            run[j] = (head_point){ts[i + j], (uint64_t)(i + j)};
        TU_CHECK(head_append_run(h, 3, STRATA_F64, run, (uint32_t)k) == STRATA_OK, "append %zu", i);
    }
    /* the model: (ts, arrival) pairs in range, sorted */
    tarr *mp = malloc((n + 1) * sizeof *mp);
    int64_t *mt = malloc((n + 1) * sizeof *mt);
    uint64_t *mv = malloc((n + 1) * sizeof *mv);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (ts[i] >= from && (ts[i] < to || to == INT64_MAX))
            mp[m++] = (tarr){ts[i], i};
    qsort(mp, m, sizeof *mp, tarr_cmp);
    for (size_t i = 0; i < m; i++) {
        mt[i] = mp[i].ts;
        mv[i] = mp[i].i;
    }
    free(mp);
    size_t w = 0; /* keep the last of each timestamp */
    for (size_t i = 0; i < m; i++) {
        if (i + 1 < m && mt[i + 1] == mt[i])
            continue;
        mt[w] = mt[i];
        mv[w++] = mv[i];
    }
    int64_t *gt;
    uint64_t *gv;
    size_t gn;
    ck_assert_int_eq(head_collect(head_get(h, 3), from, to, &gt, &gv, &gn), STRATA_OK);
    TU_CHECK(gn == w, "n=%zu: %zu points collected, want %zu", n, gn, w);
    for (size_t i = 0; i < w; i++)
        TU_CHECK(gt[i] == mt[i] && gv[i] == mv[i],
                 "n=%zu point %zu: (%lld, write %llu), want (%lld, write %llu)", n, i,
                 (long long)gt[i], (unsigned long long)gv[i], (long long)mt[i],
                 (unsigned long long)mv[i]);
    st_free(gt);
    st_free(gv);
    free(mt);
    free(mv);
    head_free(h);
}

START_TEST(test_head_orders)
{
    enum { N = 20000 };
    static int64_t ts[N];
    uint64_t seed = 99;
    for (int shape = 0; shape < 8; shape++) {
        for (size_t i = 0; i < N; i++) {
            uint64_t r = tu_rand(&seed);
            switch (shape) {
            case 0: /* sorted, then every 500th point late by up to an hour */
                ts[i] = (int64_t)i * 10 - (i % 500 == 499 ? (int64_t)(r % 3600) : 0);
                break;
            case 1: ts[i] = (int64_t)(N - i); break;                  /* descending */
            case 2: ts[i] = 42; break;                                 /* one timestamp */
            case 3: ts[i] = (int64_t)(i % 1000); break;                /* sawtooth */
            case 4: ts[i] = (int64_t)(r % 5000); break;                /* random, repeats */
            case 5: ts[i] = (int64_t)(i / 2) * (i % 2 ? -1 : 1); break; /* outwards */
            case 6: /* a backlog resent: blocks of 300 in order, each block again */
                ts[i] = (int64_t)((i / 600) * 300 + i % 300);
                break;
            default: ts[i] = i < N / 2 ? (int64_t)i : (int64_t)(i - N / 2) * 2; break;
            }
        }
        for (int runs = 0; runs < 2; runs++) {
            head_expect(ts, N, INT64_MIN, INT64_MAX, runs);
            head_expect(ts, N, 100, 4000, runs);
            head_expect(ts, N, 0, INT64_MAX, runs);
        }
    }
    for (size_t n = 1; n <= 40; n++)
        for (int k = 0; k < 20; k++) {
            for (size_t i = 0; i < n; i++)
                ts[i] = (int64_t)(tu_rand(&seed) % (n / 2 + 1));
            head_expect(ts, n, INT64_MIN, INT64_MAX, k % 2);
        }
}
END_TEST

/* Heads drawing on one pool: a freed head's blocks are kept within the
 * pool's limit (blocks in heads plus blocks kept) and the next head reuses
 * them, holding its own points only (reused blocks start empty). */
static void pool_fill(head *h, uint32_t nseries, uint32_t npoints, uint64_t salt)
{
    for (uint32_t i = 0; i < npoints; i++)
        for (uint32_t s = 0; s < nseries; s++)
            TU_CHECK(head_append(h, s, STRATA_I64, (int64_t)i * 10, salt + s * 100000u + i) ==
                         STRATA_OK,
                     "append %u/%u", s, i);
}

static void pool_expect(const head *h, uint32_t nseries, uint32_t npoints, uint64_t salt)
{
    for (uint32_t s = 0; s < nseries; s++) {
        int64_t *ts;
        uint64_t *v;
        size_t n;
        ck_assert_int_eq(head_collect(head_get(h, s), INT64_MIN, INT64_MAX, &ts, &v, &n),
                         STRATA_OK);
        TU_CHECK(n == npoints, "series %u: %zu points, want %u", s, n, npoints);
        for (size_t i = 0; i < n; i++)
            TU_CHECK(ts[i] == (int64_t)i * 10 && v[i] == salt + s * 100000u + i,
                     "series %u point %zu", s, i);
        st_free(ts);
        st_free(v);
    }
}

/* After a round of head_reserve, the appends it covered allocate nothing
 * (a new series, a full block, several series of one round); spares a
 * round left (rewrites of the newest point need no room) serve the next
 * round instead of piling up; a reservation that runs out of memory fails
 * cleanly and a later one completes it. */
START_TEST(test_head_reserve)
{
    head *h = head_new(NULL);
    ck_assert_ptr_nonnull(h);
    /* a new series: its structure and first block */
    head_reserve_begin(h);
    ck_assert_int_eq(head_reserve(h, 7, 6), STRATA_OK);
    st_alloc_fail_at(0);
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(head_append(h, 7, STRATA_F64, i, (uint64_t)i), STRATA_OK);
    ck_assert_int_eq(st_alloc_fail_at(0), 0);
    /* the block (of 6) is full: the next point needs a block of 30;
     * rewrites of the newest point then use none of it */
    head_reserve_begin(h);
    ck_assert_int_eq(head_reserve(h, 7, 4), STRATA_OK);
    ck_assert_int_eq(st_alloc_fail_at(0), 1);
    size_t bytes = head_bytes(h);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(head_append(h, 7, STRATA_F64, 5, (uint64_t)(100 + i)), STRATA_OK);
    head_reserve_begin(h);
    ck_assert_int_eq(head_reserve(h, 7, 4), STRATA_OK);
    ck_assert_int_eq(st_alloc_fail_at(0), 0); /* the spare covers it */
    ck_assert_uint_eq(head_bytes(h), bytes);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(head_append(h, 7, STRATA_F64, 6 + i, (uint64_t)i), STRATA_OK);
    ck_assert_int_eq(st_alloc_fail_at(0), 0);
    /* several new series in one round, one of them past two blocks; the
     * second allocation fails, then the round is made again */
    head_reserve_begin(h);
    st_alloc_fail_at(2);
    int rc = head_reserve(h, 3000, 50);
    if (rc == STRATA_OK)
        rc = head_reserve(h, 9, 1);
    ck_assert_int_eq(rc, STRATA_NOMEM);
    st_alloc_fail_at(0);
    head_reserve_begin(h);
    ck_assert_int_eq(head_reserve(h, 3000, 50), STRATA_OK);
    ck_assert_int_eq(head_reserve(h, 9, 1), STRATA_OK);
    st_alloc_fail_at(0);
    for (int i = 0; i < 50; i++)
        ck_assert_int_eq(head_append(h, 3000, STRATA_I64, i, (uint64_t)i), STRATA_OK);
    ck_assert_int_eq(head_append(h, 9, STRATA_BOOL, 0, 1), STRATA_OK);
    ck_assert_int_eq(st_alloc_fail_at(0), 0);
    ck_assert_uint_eq(head_points(h), 6 + 4 + 50 + 1);
    ck_assert_uint_eq(head_nseries(h), 3);
    head_free(h);
}
END_TEST

START_TEST(test_head_pool)
{
    head_pool *p = head_pool_new(64u << 10);
    ck_assert_ptr_nonnull(p);
    head *a = head_new(p);
    pool_fill(a, 50, 3000, 1);
    size_t a_bytes = head_bytes(a);
    ck_assert_uint_eq(head_pool_kept(p), 0);
    head_free(a);
    size_t kept_a = head_pool_kept(p);
    /* every block kept: the head's bytes less its tables and series (the
     * runs of full blocks are counted, not walked: a miscount shows here
     * and below) */
    ck_assert_uint_gt(kept_a, a_bytes * 9 / 10);
    ck_assert_uint_lt(kept_a, a_bytes);
    head *b = head_new(p);
    pool_fill(b, 50, 3000, 7);
    ck_assert_uint_eq(head_pool_kept(p), 0); /* all of them reused */
    pool_expect(b, 50, 3000, 7);
    /* two heads at once: both sets of blocks are kept, and a third head
     * of a's shape takes a's worth from the pool, carving none */
    a = head_new(p);
    pool_fill(a, 20, 4000, 3);
    size_t a2_bytes = head_bytes(a);
    head_free(a);
    size_t kept_a2 = head_pool_kept(p);
    ck_assert_uint_gt(kept_a2, a2_bytes * 9 / 10);
    head_free(b);
    size_t kept_ab = head_pool_kept(p);
    ck_assert_uint_eq(kept_ab, kept_a2 + kept_a);
    a = head_new(p);
    pool_fill(a, 20, 4000, 9);
    ck_assert_uint_eq(head_pool_kept(p), kept_ab - kept_a2);
    pool_expect(a, 20, 4000, 9);
    /* out of order and rewritten points: the chain holds what was
     * appended, whatever the order */
    b = head_new(p);
    for (int64_t i = 0; i < 1000; i++) {
        ck_assert_int_eq(head_append(b, 77, STRATA_F64, (i * 7919) % 1000, (uint64_t)i), STRATA_OK);
        ck_assert_int_eq(head_append(b, 78, STRATA_F64, i, 1), STRATA_OK);
        ck_assert_int_eq(head_append(b, 78, STRATA_F64, i, 2), STRATA_OK); /* rewrite */
        /* series ending exactly at a block's end, on the first two, one past */
        if (i < 36 + 3 * 126)
            ck_assert_int_eq(head_append(b, 79, STRATA_I64, i, 3), STRATA_OK);
        if (i < 36)
            ck_assert_int_eq(head_append(b, 80, STRATA_I64, i, 4), STRATA_OK);
        if (i < 37)
            ck_assert_int_eq(head_append(b, 81, STRATA_I64, i, 5), STRATA_OK);
    }
    /* blocks of 6, 30, then 126 points (128, 512, 2048 bytes), all taken
     * from the lists: 77 and 78 take 8 of 126, 79 three, 80 none, 81 one */
    size_t b_blocks =
        2 * (128 + 512 + 8 * 2048) + (128 + 512 + 3 * 2048) + (128 + 512) + (128 + 512 + 2048);
    ck_assert_uint_eq(head_pool_kept(p), kept_ab - kept_a2 - b_blocks);
    head_pool_unref(p); /* the heads keep it alive */
    head_free(b);
    ck_assert_uint_eq(head_pool_kept(p), kept_ab - kept_a2);
    head_free(a); /* the last reference: the pool goes (ASan checks the chunks) */
}
END_TEST

/* Line protocol: a tag set remembers the series of each field position of
 * its last line; other orders, types, escaped names and a failed line
 * (whose new series are forgotten) must still land in the right series. */
START_TEST(test_lp_field_positions)
{
    char *dir = tu_tmpdir();
    strata_db *db = open_db(dir, STRATA_SYNC_NONE, 0);
    strata_batch *b;
    strata_batch_new(db, &b);
    strata_lp_error e;
    const char *ok[] = {
        "m,k=a x=1,y=2 1", "m,k=a y=3,x=4 2", "m,k=a x=5,y=6 3",
        "m,k=b y=7,x=8 3", "m,k=a x\\ y=9 4", "m,k=a x=10,y=11 5",
        "m,k=a w=12 6",    "m,k=a z=13 7",    "m,k=a x=14 8",
    };
    const char *bad[] = {"m,k=a x=1i 9", "m,k=a z=1,x=2i 9", "m,k=a w=1,y=true 9"};
    for (size_t i = 0; i < 3; i++)
        TU_CHECK(strata_batch_add_lp(b, ok[i], strlen(ok[i]), STRATA_PRECISION_S, 0, &e) ==
                     STRATA_OK,
                 "%s: %s", ok[i], e.message);
    for (size_t i = 0; i < 2; i++) { /* a type conflict where a remembered series sits */
        ck_assert_int_eq(strata_batch_add_lp(b, bad[i], strlen(bad[i]), STRATA_PRECISION_S, 0, &e),
                         STRATA_ERROR);
        ck_assert_int_eq(strata_extended_errcode(db), STRATA_ERROR_TYPE);
    }
    for (size_t i = 3; i < 9; i++)
        TU_CHECK(strata_batch_add_lp(b, ok[i], strlen(ok[i]), STRATA_PRECISION_S, 0, &e) ==
                     STRATA_OK,
                 "%s: %s", ok[i], e.message);
    ck_assert_int_eq(strata_batch_add_lp(b, bad[2], strlen(bad[2]), STRATA_PRECISION_S, 0, &e),
                     STRATA_ERROR);
    ck_assert_int_eq(strata_db_write(db, b), STRATA_OK);
    strata_batch_free(b);
    struct {
        const char *key;
        int n;
        double v[5];
        int64_t t[5];
    } want[] = {
        {"m,k=a x", 5, {1, 4, 5, 10, 14}, {1, 2, 3, 5, 8}},
        {"m,k=a y", 4, {2, 3, 6, 11}, {1, 2, 3, 5}},
        {"m,k=b x", 1, {8}, {3}},
        {"m,k=b y", 1, {7}, {3}},
        {"m,k=a x\\ y", 1, {9}, {4}},
        {"m,k=a w", 1, {12}, {6}},
        {"m,k=a z", 1, {13}, {7}},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        model m = {0};
        for (int j = 0; j < want[i].n; j++)
            model_add(&m, want[i].t[j] * 1000000000LL, f2b(want[i].v[j]));
        expect_series(db, want[i].key, &m, INT64_MIN, INT64_MAX);
        free(m.p);
    }
    uint64_t n;
    strata_series_count(db, &n);
    ck_assert_uint_eq(n, 7); /* no z from the failed line beyond the one written */
    strata_db_close(db);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* A write is all or nothing; a type conflict names the field. */
START_TEST(test_batch_atomic_type_conflict)
{
    char *dir = tu_tmpdir();
    strata_db *db = open_db(dir, STRATA_SYNC_NONE, 0);
    strata_batch *b, *b2;
    strata_batch_new(db, &b);
    strata_batch_new(db, &b2);
    ck_assert_int_eq(strata_batch_point(b, "m", 1), STRATA_OK);
    ck_assert_int_eq(strata_batch_f64(b, "x", 1.5), STRATA_OK);
    ck_assert_int_eq(strata_batch_has_new_series(b), 1);
    ck_assert_int_eq(strata_db_write(db, b), STRATA_OK);
    strata_batch_clear(b);
    ck_assert_int_eq(strata_batch_has_new_series(b), 0);
    ck_assert_int_eq(strata_batch_point(b, "m", 2), STRATA_OK);
    ck_assert_int_eq(strata_batch_f64(b, "x", 2.5), STRATA_OK); /* known now */
    ck_assert_int_eq(strata_batch_has_new_series(b), 0);
    strata_batch_cancel_point(b);
    /* within one batch: the type is fixed by the first value */
    ck_assert_int_eq(strata_batch_point(b, "m", 2), STRATA_OK);
    ck_assert_int_eq(strata_batch_i64(b, "y", 3), STRATA_OK);
    ck_assert_int_eq(strata_batch_point(b, "m", 3), STRATA_OK);
    ck_assert_int_eq(strata_batch_f64(b, "y", 3.0), STRATA_ERROR);
    ck_assert_int_eq(strata_extended_errcode(db), STRATA_ERROR_TYPE);
    strata_batch_cancel_point(b);
    /* against the database, found when adding */
    ck_assert_int_eq(strata_batch_point(b, "m", 4), STRATA_OK);
    ck_assert_int_eq(strata_batch_i64(b, "x", 4), STRATA_ERROR);
    ck_assert_ptr_nonnull(strstr(strata_errmsg(db), "'x'"));
    strata_batch_cancel_point(b);
    ck_assert_uint_eq(strata_batch_values(b), 1);
    /* against the database, found at write time (another batch created it) */
    ck_assert_int_eq(strata_batch_point(b2, "m", 5), STRATA_OK);
    ck_assert_int_eq(strata_batch_bool(b2, "y", 1), STRATA_OK);
    ck_assert_int_eq(strata_batch_has_new_series(b), 1);
    ck_assert_int_eq(strata_batch_has_new_series(b2), 1);
    ck_assert_int_eq(strata_db_write(db, b), STRATA_OK); /* creates y as int64 */
    ck_assert_int_eq(strata_batch_point(b2, "m", 6), STRATA_OK);
    ck_assert_int_eq(strata_batch_f64(b2, "z", 6.0), STRATA_OK);
    ck_assert_int_eq(strata_db_write(db, b2), STRATA_ERROR);
    ck_assert_int_eq(strata_extended_errcode(db), STRATA_ERROR_TYPE);
    ck_assert_ptr_nonnull(strstr(strata_errmsg(db), "nothing was written"));
    strata_series s;
    ck_assert_int_eq(strata_series_find(db, "m z", &s), STRATA_NOTFOUND);
    uint64_t n;
    strata_series_count(db, &n);
    ck_assert_uint_eq(n, 2);
    strata_batch_free(b);
    strata_batch_free(b2);
    strata_db_close(db);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* strata_db_define: a batch's new series exist before it is written, so a
 * batch filled meanwhile is checked against them point by point. */
START_TEST(test_define_series)
{
    char *dir = tu_tmpdir();
    strata_db *db = open_db(dir, STRATA_SYNC_NONE, 0), *other = NULL;
    strata_batch *b, *b2, *b3;
    strata_batch_new(db, &b);
    strata_batch_new(db, &b2);
    strata_batch_new(db, &b3);
    ck_assert_int_eq(strata_batch_point(b, "m", 1), STRATA_OK);
    ck_assert_int_eq(strata_batch_f64(b, "x", 1.5), STRATA_OK);
    ck_assert_int_eq(strata_batch_bool(b, "q", 1), STRATA_OK);
    /* b3 names w before anything defines it: found at its own define */
    ck_assert_int_eq(strata_batch_point(b3, "m", 2), STRATA_OK);
    ck_assert_int_eq(strata_batch_f64(b3, "v", 2.0), STRATA_OK);
    ck_assert_int_eq(strata_batch_i64(b3, "q", 2), STRATA_OK);
    ck_assert_int_eq(strata_batch_has_new_series(b), 1);
    ck_assert_int_eq(strata_db_define(db, b), STRATA_OK);
    ck_assert_int_eq(strata_batch_has_new_series(b), 0);
    ck_assert_int_eq(strata_db_define(db, b), STRATA_OK); /* nothing left to do */
    strata_series s;
    ck_assert_int_eq(strata_series_find(db, "m x", &s), STRATA_OK);
    ck_assert_int_eq(s.type, STRATA_F64);
    uint64_t n;
    strata_series_count(db, &n);
    ck_assert_uint_eq(n, 2);
    /* the next batch, filled while b is not yet written, sees x's type */
    ck_assert_int_eq(strata_batch_point(b2, "m", 3), STRATA_OK);
    ck_assert_int_eq(strata_batch_i64(b2, "x", 3), STRATA_ERROR);
    ck_assert_int_eq(strata_extended_errcode(db), STRATA_ERROR_TYPE);
    strata_batch_cancel_point(b2);
    ck_assert_int_eq(strata_db_write(db, b), STRATA_OK);
    /* b3: q is bool in the database now; nothing of b3 is created */
    ck_assert_int_eq(strata_db_define(db, b3), STRATA_ERROR);
    ck_assert_int_eq(strata_extended_errcode(db), STRATA_ERROR_TYPE);
    ck_assert_ptr_nonnull(strstr(strata_errmsg(db), "'q'"));
    ck_assert_int_eq(strata_batch_has_new_series(b3), 1);
    ck_assert_int_eq(strata_series_find(db, "m v", &s), STRATA_NOTFOUND);
    ck_assert_int_eq(strata_db_write(db, b3), STRATA_ERROR);
    /* a series defined and never written reaches the log with the next
     * write, and the reopened database has it, without points */
    strata_batch_clear(b2);
    ck_assert_int_eq(strata_batch_point(b2, "m", 4), STRATA_OK);
    ck_assert_int_eq(strata_batch_f64(b2, "only_defined", 4.0), STRATA_OK);
    ck_assert_int_eq(strata_db_define(db, b2), STRATA_OK);
    strata_batch_clear(b);
    ck_assert_int_eq(strata_batch_point(b, "m", 5), STRATA_OK);
    ck_assert_int_eq(strata_batch_f64(b, "x", 5.5), STRATA_OK);
    ck_assert_int_eq(strata_db_write(db, b), STRATA_OK);
    /* misuse */
    ck_assert_int_eq(strata_db_define(NULL, b), STRATA_MISUSE);
    ck_assert_int_eq(strata_db_define(db, NULL), STRATA_MISUSE);
    char *dir2 = tu_tmpdir();
    other = open_db(dir2, STRATA_SYNC_NONE, 0);
    ck_assert_int_eq(strata_db_define(other, b), STRATA_MISUSE);
    strata_db_close(other);
    tu_rmrf(dir2);
    free(dir2);
    strata_batch_free(b);
    strata_batch_free(b2);
    strata_batch_free(b3);
    char *crash = snapshot(dir); /* the log as a crash would leave it */
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    const char *dirs[] = {dir, crash};
    for (int i = 0; i < 2; i++) {
        db = open_db(dirs[i], STRATA_SYNC_NONE, 0);
        ck_assert_int_eq(strata_series_find(db, "m only_defined", &s), STRATA_OK);
        strata_series_count(db, &n);
        ck_assert_uint_eq(n, 3);
        model m = {0};
        model_add(&m, 1, f2b(1.5));
        model_add(&m, 5, f2b(5.5));
        expect_series(db, "m x", &m, INT64_MIN, INT64_MAX);
        free(m.p);
        strata_db_close(db);
    }
    tu_rmrf(crash);
    free(crash);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(test_names_validated)
{
    char *dir = tu_tmpdir();
    strata_db *db = open_db(dir, STRATA_SYNC_NONE, 0);
    strata_batch *b;
    strata_batch_new(db, &b);
    struct {
        const char *m, *k, *v, *f;
        const char *msg;
    } bad[] = {
        {"", NULL, NULL, "f", "empty measurement"},
        {"m", "time", "x", "f", "'time' is reserved"},
        {"m", NULL, NULL, "time", "'time' is reserved"},
        {"m", "k", "", "f", "empty tag value"},
        {"m", "", "v", "f", "empty tag key"},
        {"m\n", NULL, NULL, "f", "newline"},
        {"m", "k", "a\rb", "f", "carriage return"},
        {"#m", NULL, NULL, "f", "starts with '#'"},
        {"m", "k", "v\\", "f", "backslash"},
        {"m", NULL, NULL, "", "empty field name"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(strata_batch_point(b, bad[i].m, 1), STRATA_OK);
        if (bad[i].k)
            ck_assert_int_eq(strata_batch_tag(b, bad[i].k, bad[i].v), STRATA_OK);
        ck_assert_int_eq(strata_batch_f64(b, bad[i].f, 1.0), STRATA_ERROR);
        ck_assert_int_eq(strata_extended_errcode(db), STRATA_ERROR_INPUT);
        ck_assert_msg(strstr(strata_errmsg(db), bad[i].msg), "case %zu: %s", i,
                      strata_errmsg(db));
        strata_batch_cancel_point(b);
    }
    /* duplicate tag keys */
    ck_assert_int_eq(strata_batch_point(b, "m", 1), STRATA_OK);
    strata_batch_tag(b, "k", "1");
    strata_batch_tag(b, "k", "2");
    ck_assert_int_eq(strata_batch_f64(b, "f", 1.0), STRATA_ERROR);
    ck_assert_ptr_nonnull(strstr(strata_errmsg(db), "appears twice"));
    /* order misuse */
    ck_assert_int_eq(strata_batch_tag(b, "k", "v"), STRATA_MISUSE);
    ck_assert_int_eq(strata_batch_point(b, "m", 1), STRATA_OK);
    ck_assert_int_eq(strata_batch_f64(b, "f", 1.0), STRATA_OK);
    ck_assert_int_eq(strata_batch_tag(b, "k", "v"), STRATA_MISUSE);
    ck_assert_int_eq(strata_batch_point(b, "m", 2), STRATA_OK);
    ck_assert_int_eq(strata_db_write(db, b), STRATA_MISUSE); /* point without fields */
    strata_batch_clear(b);
    /* line protocol errors carry the column */
    strata_lp_error e;
    ck_assert_int_eq(strata_batch_add_lp(b, "m,k=v f=1x 5", 12, STRATA_PRECISION_NS, 0, &e),
                     STRATA_ERROR);
    ck_assert_int_eq(strata_extended_errcode(db), STRATA_ERROR_PARSE);
    ck_assert_uint_eq(e.column, 9); /* the value "1x" */
    ck_assert_int_eq(strata_batch_add_lp(b, "m,time=v f=1 5", 14, STRATA_PRECISION_NS, 0, &e),
                     STRATA_ERROR);
    ck_assert_int_eq(strata_batch_add_lp(b, "m f=1,g=2i 5", 12, STRATA_PRECISION_S, 0, &e),
                     STRATA_OK);
    ck_assert_uint_eq(strata_batch_values(b), 2);
    strata_batch_free(b);
    /* a batch of another database */
    char *dir2 = tu_tmpdir();
    strata_db *other = open_db(dir2, STRATA_SYNC_NONE, 0);
    strata_batch_new(other, &b);
    strata_batch_point(b, "m", 1);
    strata_batch_f64(b, "f", 1);
    ck_assert_int_eq(strata_db_write(db, b), STRATA_MISUSE);
    strata_batch_free(b);
    strata_db_close(other);
    strata_db_close(db);
    tu_rmrf(dir);
    tu_rmrf(dir2);
    free(dir);
    free(dir2);
}
END_TEST

typedef struct wthread {
    strata_db *db;
    int id;
    int n;
} wthread;

static void *writer_main(void *arg)
{
    wthread *w = arg;
    strata_batch *b;
    ck_assert_int_eq(strata_batch_new(w->db, &b), STRATA_OK);
    char dev[16];
    snprintf(dev, sizeof dev, "w%d", w->id);
    for (int i = 0; i < w->n; i++) {
        write_f64(w->db, b, "conc", dev, "v", (int64_t)i * 1000000000LL, (double)i + w->id);
        if (i % 100 == 99) {
            ck_assert_int_eq(strata_db_write(w->db, b), STRATA_OK);
            strata_batch_clear(b);
        }
    }
    ck_assert_int_eq(strata_db_write(w->db, b), STRATA_OK);
    strata_batch_free(b);
    return NULL;
}

static void *reader_main(void *arg)
{
    wthread *w = arg;
    /* Read whatever is there: always sorted, no duplicates, values match ts. */
    for (int round = 0; round < 40; round++) {
        uint64_t n;
        strata_series_count(w->db, &n);
        for (uint64_t id = 0; id < n; id++) {
            strata_series s;
            ck_assert_int_eq(strata_series_get(w->db, id, &s), STRATA_OK);
            int wid = s.key[strlen("conc,device=w")] - '0';
            strata_iter *it;
            ck_assert_int_eq(strata_iter_open(w->db, id, INT64_MIN, INT64_MAX, &it), STRATA_OK);
            int64_t ts, prev = INT64_MIN;
            strata_value v;
            int rc;
            while ((rc = strata_iter_next(it, &ts, &v)) == STRATA_ROW) {
                TU_CHECK(ts > prev, "not increasing at %lld", (long long)ts);
                TU_CHECK(v.f64 == (double)(ts / 1000000000LL) + wid, "wrong value at %lld",
                         (long long)ts);
                prev = ts;
            }
            ck_assert_int_eq(rc, STRATA_DONE);
            strata_iter_close(it);
        }
    }
    return NULL;
}

START_TEST(test_concurrent_writers_and_readers)
{
    char *dir = tu_tmpdir();
    strata_db *db = open_db(dir, STRATA_SYNC_BATCH, 1 << 20); /* flushes while running */
    pthread_t t[6];
    wthread w[6];
    for (int i = 0; i < 6; i++) {
        w[i] = (wthread){db, i, 20000};
        pthread_create(&t[i], NULL, i < 4 ? writer_main : reader_main, &w[i]);
    }
    for (int i = 0; i < 6; i++)
        pthread_join(t[i], NULL);
    strata_stats st;
    strata_db_stats(db, &st);
    ck_assert_uint_gt(st.flushes, 1);
    for (int i = 0; i < 4; i++) {
        model m = {0};
        for (int k = 0; k < 20000; k++)
            model_add(&m, (int64_t)k * 1000000000LL, f2b((double)k + i));
        char key[64];
        snprintf(key, sizeof key, "conc,device=w%d v", i);
        expect_series(db, key, &m, INT64_MIN, INT64_MAX);
        free(m.p);
    }
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* The head stays within its budget: flushes happen as it fills. */
START_TEST(test_memory_budget)
{
    char *dir = tu_tmpdir();
    const size_t budget = 2 << 20;
    strata_db *db = open_db(dir, STRATA_SYNC_NONE, budget);
    strata_batch *b;
    strata_batch_new(db, &b);
    char dev[16];
    size_t max_head = 0;
    for (int i = 0; i < 400000; i++) {
        snprintf(dev, sizeof dev, "d%d", i % 100);
        write_f64(db, b, "mem", dev, "v", (int64_t)(i / 100) * 10000000000LL, i);
        if (i % 1000 == 999) {
            ck_assert_int_eq(strata_db_write(db, b), STRATA_OK);
            strata_batch_clear(b);
            strata_stats st;
            strata_db_stats(db, &st);
            if (st.head_bytes > max_head)
                max_head = st.head_bytes;
        }
    }
    strata_stats st;
    strata_db_stats(db, &st);
    ck_assert_uint_ge(st.flushes, 5);
    ck_assert_msg(max_head <= budget + 64 * 1024, "head used %zu bytes, budget %zu", max_head,
                  budget);
    strata_batch_free(b);
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    db = open_db(dir, STRATA_SYNC_NONE, budget);
    model m = {0};
    for (int i = 37; i < 400000; i += 100)
        model_add(&m, (int64_t)(i / 100) * 10000000000LL, f2b(i));
    expect_series(db, "mem,device=d37 v", &m, INT64_MIN, INT64_MAX);
    free(m.p);
    strata_db_close(db);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* Many series growing in step: every batch gives each of 1000 series 36
 * points, filling their first two blocks (6 and 30 points), so the next
 * batch takes all of them across a block boundary at once (to blocks of
 * 126).  The head is frozen before such a batch, never after it has passed
 * the budget; the blocks kept for the next heads stay within it too. */
START_TEST(test_memory_budget_lockstep)
{
    char *dir = tu_tmpdir();
    const size_t budget = 2 << 20;
    strata_db *db = open_db(dir, STRATA_SYNC_NONE, budget);
    strata_batch *b;
    strata_batch_new(db, &b);
    char dev[16];
    size_t max_head = 0, max_total = 0;
    for (int round = 0; round < 30; round++) {
        for (int d = 0; d < 1000; d++) {
            snprintf(dev, sizeof dev, "d%d", d);
            for (int i = 0; i < 36; i++)
                write_f64(db, b, "lock", dev, "v", (int64_t)(round * 36 + i) * 1000000000LL,
                          round + i + d);
        }
        ck_assert_int_eq(strata_db_write(db, b), STRATA_OK);
        strata_batch_clear(b);
        strata_stats st;
        strata_db_stats(db, &st);
        max_head = st.head_bytes > max_head ? st.head_bytes : max_head;
        size_t total = st.head_bytes + st.head_kept_bytes;
        max_total = total > max_total ? total : max_total;
    }
    ck_assert_msg(max_head <= budget, "head used %zu bytes, budget %zu", max_head, budget);
    /* blocks kept for reuse count against the same budget (the heads'
     * tables, about 44 bytes per series each, aside) */
    ck_assert_msg(max_total <= budget + 128 * 1024, "heads and kept blocks %zu bytes, budget %zu",
                  max_total, budget);
    /* after a flush, the flushed head's blocks wait for the next head */
    ck_assert_int_eq(strata_db_flush(db), STRATA_OK);
    strata_stats st;
    strata_db_stats(db, &st);
    ck_assert_uint_eq(st.head_points, 0);
    ck_assert_uint_gt(st.head_kept_bytes, 1000 * 36 * 16);
    ck_assert_uint_le(st.head_kept_bytes, budget);
    strata_batch_free(b);
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    db = open_db(dir, STRATA_SYNC_NONE, budget);
    model m = {0};
    for (int round = 0; round < 30; round++)
        for (int i = 0; i < 36; i++)
            model_add(&m, (int64_t)(round * 36 + i) * 1000000000LL, f2b(round + i + 417));
    expect_series(db, "lock,device=d417 v", &m, INT64_MIN, INT64_MAX);
    free(m.p);
    strata_db_close(db);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(test_locks_readonly_options)
{
    char *dir = tu_tmpdir();
    strata_db *db = open_db(dir, STRATA_SYNC_NONE, 0), *db2;
    strata_options o;
    strata_options_init(&o);
    ck_assert_int_eq(strata_db_open(dir, &o, &db2), STRATA_BUSY);
    ck_assert_int_eq(strata_extended_errcode(NULL), STRATA_BUSY_LOCKED);
    o.read_only = 1;
    ck_assert_int_eq(strata_db_open(dir, &o, &db2), STRATA_BUSY);
    strata_batch *b;
    strata_batch_new(db, &b);
    write_f64(db, b, "m", "d", "v", 5, 1.0);
    ck_assert_int_eq(strata_db_write(db, b), STRATA_OK);
    strata_batch_free(b);
    char *crash = snapshot(dir);
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);

    /* read-only: replays the log in memory, changes no file */
    char cmd[8600];
    snprintf(cmd, sizeof cmd, "cd '%s' && find . -type f | sort | xargs md5sum > /tmp/ro-before-%d",
             crash, (int)getpid());
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_eq(strata_db_open(crash, &o, &db2), STRATA_OK);
    strata_db *db3;
    ck_assert_int_eq(strata_db_open(crash, &o, &db3), STRATA_OK); /* shared */
    model m = {0};
    model_add(&m, 5, f2b(1.0));
    expect_series(db2, "m,device=d v", &m, INT64_MIN, INT64_MAX);
    strata_batch_new(db2, &b);
    write_f64(db2, b, "m", "d", "v", 6, 1.0);
    ck_assert_int_eq(strata_db_write(db2, b), STRATA_MISUSE);
    ck_assert_int_eq(strata_extended_errcode(db2), STRATA_MISUSE_READONLY);
    strata_batch_free(b);
    ck_assert_int_eq(strata_db_close(db2), STRATA_OK);
    ck_assert_int_eq(strata_db_close(db3), STRATA_OK);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && find . -type f | sort | xargs md5sum | cmp -s - /tmp/ro-before-%d",
             crash, (int)getpid());
    ck_assert_msg(system(cmd) == 0, "a read-only open changed files");
    free(m.p);

    /* options */
    strata_options_init(&o);
    o.sync = (strata_sync)9;
    ck_assert_int_eq(strata_db_open(dir, &o, &db2), STRATA_MISUSE);
    strata_options_init(&o);
    o.head_budget_bytes = 1000;
    ck_assert_int_eq(strata_db_open(dir, &o, &db2), STRATA_MISUSE);
    strata_options_init(&o);
    o.partition_ns = 3600000000000LL;
    ck_assert_int_eq(strata_db_open(dir, &o, &db2), STRATA_MISUSE);
    ck_assert_ptr_nonnull(strstr(strata_errmsg(NULL), "cannot change"));
    strata_options_init(&o);
    o.device_tag = "name";
    ck_assert_int_eq(strata_db_open(dir, &o, &db2), STRATA_MISUSE);
    ck_assert_ptr_null(db2);
    /* a device tag given at creation is kept */
    char *dir3 = tu_tmpdir();
    o.create_if_missing = 1;
    ck_assert_int_eq(strata_db_open(dir3, &o, &db2), STRATA_OK);
    ck_assert_int_eq(strata_db_close(db2), STRATA_OK);
    ck_assert_int_eq(strata_db_open(dir3, &o, &db2), STRATA_OK);
    ck_assert_int_eq(strata_db_close(db2), STRATA_OK);
    o.device_tag = NULL;
    ck_assert_int_eq(strata_db_open(dir3, &o, &db2), STRATA_OK);
    ck_assert_int_eq(strata_db_close(db2), STRATA_OK);
    o.device_tag = "device";
    ck_assert_int_eq(strata_db_open(dir3, &o, &db2), STRATA_MISUSE);
    ck_assert_ptr_nonnull(strstr(strata_errmsg(NULL), "uses device tag 'name'"));
    tu_rmrf(dir3);
    free(dir3);
    /* missing and foreign directories */
    strata_options_init(&o);
    char missing[4200];
    snprintf(missing, sizeof missing, "%s/nope", dir);
    ck_assert_int_eq(strata_db_open(missing, &o, &db2), STRATA_NOTFOUND);
    ck_assert_ptr_nonnull(strstr(strata_errmsg(NULL), missing));
    char *foreign = tu_tmpdir();
    char *f = tu_path(foreign, "precious.txt");
    tu_write_file(f, "x", 1);
    o.create_if_missing = 1;
    ck_assert_int_eq(strata_db_open(foreign, &o, &db2), STRATA_MISUSE);
    ck_assert_int_eq(access(f, F_OK), 0);
    free(f);
    tu_rmrf(foreign);
    free(foreign);
    tu_rmrf(crash);
    free(crash);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* Fail the i-th allocation for every i: an error (never a crash or a leak),
 * and whatever was acknowledged is there afterwards. */
START_TEST(test_allocation_failures)
{
    for (long i = 1;; i++) {
        char *dir = tu_tmpdir();
        st_alloc_fail_at(i);
        strata_options o;
        strata_options_init(&o);
        o.create_if_missing = 1;
        o.sync = STRATA_SYNC_NONE;
        strata_db *db = NULL;
        strata_batch *b = NULL;
        int acked = 0, ok = 1;
        int rc = strata_db_open(dir, &o, &db);
        if (rc == STRATA_OK)
            rc = strata_batch_new(db, &b);
        for (int k = 0; k < 3 && rc == STRATA_OK; k++) {
            rc = strata_batch_point(b, "m", k);
            if (rc == STRATA_OK)
                rc = strata_batch_tag(b, "device", "d");
            if (rc == STRATA_OK)
                rc = strata_batch_f64(b, "v", k);
            if (rc == STRATA_OK)
                rc = strata_db_write(db, b);
            if (rc == STRATA_OK)
                acked = k + 1;
            strata_batch_clear(b);
        }
        if (rc == STRATA_OK)
            rc = strata_db_flush(db);
        ok = rc == STRATA_OK;
        if (rc != STRATA_OK)
            ck_assert_msg(rc == STRATA_NOMEM, "allocation %ld: rc %d: %s", i, rc,
                          strata_errmsg(NULL));
        strata_batch_free(b);
        int crc = strata_db_close(db);
        long made = st_alloc_fail_at(0);
        if (crc != STRATA_OK)
            ck_assert_int_eq(crc, STRATA_NOMEM);
        /* everything acknowledged must be readable now */
        if (acked) {
            o.create_if_missing = 0;
            ck_assert_int_eq(strata_db_open(dir, &o, &db), STRATA_OK);
            model m = {0};
            for (int k = 0; k < acked; k++)
                model_add(&m, k, f2b(k));
            strata_series s;
            if (strata_series_find(db, "m,device=d v", &s) == STRATA_OK)
                expect_series(db, "m,device=d v", &m, INT64_MIN, INT64_MAX);
            else
                ck_abort_msg("allocation %ld: acknowledged series missing", i);
            free(m.p);
            strata_db_close(db);
        }
        tu_rmrf(dir);
        free(dir);
        if (ok && made < i)
            break; /* the whole sequence ran without reaching the i-th allocation */
        ck_assert_int_lt(i, 100000);
    }
}
END_TEST

/* 24 series over three partitions, one written backwards, into db;
 * models[i] receives series i's points (settled). */
static void write_split_data(strata_db *db, model *models)
{
    strata_batch *b;
    ck_assert_int_eq(strata_batch_new(db, &b), STRATA_OK);
    for (int d = 0; d < 24; d++) {
        char dev[16];
        snprintf(dev, sizeof dev, "d%02d", d);
        int n = 300 + 97 * d;
        for (int i = 0; i < n; i++) {
            /* series 5 arrives backwards: the head sorts it */
            int j = d == 5 ? n - 1 - i : i;
            int64_t ts = (int64_t)j * (3 * 86400000000000LL / n) + d;
            double v = d % 3 ? round(sin(j / 7.0) * 1000) / 10 : sin(j * 0.37 + d);
            write_f64(db, b, "split", dev, "v", ts, v);
            model_add(&models[d], ts, f2b(v));
        }
        model_settle(&models[d]);
    }
    /* one batch: one flush holds it all, whatever the flush thread's timing */
    ck_assert_int_eq(strata_db_write(db, b), STRATA_OK);
    strata_batch_free(b);
}

static void expect_split_data(strata_db *db, model *models)
{
    for (int d = 0; d < 24; d++) {
        char key[64];
        snprintf(key, sizeof key, "split,device=d%02d v", d);
        expect_series(db, key, &models[d], INT64_MIN, INT64_MAX);
    }
}

/* A database without background compaction (its files are the flushes'). */
static strata_db *open_quiet(const char *dir)
{
    strata_options o;
    strata_options_init(&o);
    o.create_if_missing = 1;
    o.sync = STRATA_SYNC_NONE;
    o.no_compaction = 1;
    strata_db *db;
    ck_assert_int_eq(strata_db_open(dir, &o, &db), STRATA_OK);
    return db;
}

/* A flush that encodes half of its series on a helper thread writes the
 * very files of a flush on one thread. */
START_TEST(test_flush_split_same_files)
{
    char *dirs[2];
    model models[24];
    for (int split = 0; split < 2; split++) {
        memset(models, 0, sizeof models);
        dirs[split] = tu_tmpdir();
        db_flush_set_split(split ? 1 : UINT64_MAX);
        strata_db *db = open_quiet(dirs[split]);
        write_split_data(db, models);
        ck_assert_int_eq(strata_db_flush(db), STRATA_OK);
        expect_split_data(db, models);
        ck_assert_int_eq(strata_db_close(db), STRATA_OK);
        db_flush_set_split(0);
        db = open_quiet(dirs[split]);
        expect_split_data(db, models);
        ck_assert_int_eq(strata_db_close(db), STRATA_OK);
        for (int d = 0; d < 24; d++)
            free(models[d].p);
    }
    int files = 0;
    for (uint64_t id = 1; id < 16; id++) {
        char name[64];
        snprintf(name, sizeof name, "seg/%016llx.seg", (unsigned long long)id);
        char *a = tu_path(dirs[0], name), *b = tu_path(dirs[1], name);
        size_t la = 0, lb = 0;
        char *da = tu_read_file(a, &la), *db = tu_read_file(b, &lb);
        ck_assert_msg((da == NULL) == (db == NULL), "%s in one database only", name);
        if (da) {
            files++;
            ck_assert_msg(la == lb && memcmp(da, db, la) == 0, "%s differs", name);
        }
        free(da);
        free(db);
        free(a);
        free(b);
    }
    ck_assert_int_eq(files, 3);
    for (int split = 0; split < 2; split++) {
        tu_rmrf(dirs[split]);
        free(dirs[split]);
    }
}
END_TEST

/* Fail the i-th allocation of a flush split between two threads, for
 * every i: STRATA_NOMEM (from either thread), and everything is there after
 * a reopen. */
START_TEST(test_flush_split_allocation_failures)
{
    for (long i = 1;; i++) {
        char *dir = tu_tmpdir();
        model models[24];
        memset(models, 0, sizeof models);
        next_partition_ns = 7 * 86400000000000LL; /* one partition: no flush before ours */
        strata_db *db = open_db(dir, STRATA_SYNC_NONE, 0);
        write_split_data(db, models);
        strata_stats st;
        ck_assert_int_eq(strata_db_stats(db, &st), STRATA_OK);
        ck_assert_uint_eq(st.flushes, 0);
        db_flush_set_split(1);
        st_alloc_fail_at(i);
        int rc = strata_db_flush(db);
        long made = st_alloc_fail_at(0);
        db_flush_set_split(0);
        ck_assert_msg(rc == STRATA_OK || rc == STRATA_NOMEM, "allocation %ld: rc %d: %s", i, rc,
                      strata_errmsg(db));
        if (rc == STRATA_NOMEM)
            ck_assert_ptr_nonnull(strstr(strata_errmsg(db), "out of memory"));
        int crc = strata_db_close(db);
        if (crc != STRATA_OK)
            ck_assert_int_eq(crc, STRATA_NOMEM);
        db = open_db(dir, STRATA_SYNC_NONE, 0);
        expect_split_data(db, models);
        ck_assert_int_eq(strata_db_close(db), STRATA_OK);
        for (int d = 0; d < 24; d++)
            free(models[d].p);
        tu_rmrf(dir);
        free(dir);
        if (rc == STRATA_OK && made < i)
            break; /* the flush ran without reaching the i-th allocation */
        ck_assert_int_lt(i, 100000);
    }
}
END_TEST

/* An I/O error during a flush: the handle fails, the data stays in the
 * log, and a reopen has everything. */
/* A write that fails for memory has written nothing, and one that
 * succeeds says so: the head's memory is taken before the record is
 * logged (a record logged but not applied would come back at the next
 * open), and a flush that cannot start after a write is left to the next
 * one.  Each allocation of a sequence fails in turn: batch 1 fills series
 * X's first head block; batch 2 needs X's next block and a new series Y;
 * batch 3, days later, adds to both and ends the partition (a flush
 * starts); after a reopen without failures, exactly the acknowledged
 * batches are there, and a write after a failed one succeeds on the same
 * handle. */
START_TEST(test_allocation_failures_write_nothing)
{
#define DAY3 (3 * 86400 * 1000000000LL)
    static const struct {
        const char *key;
        int64_t ts;
    } pts[3][9] = {
        {{"X", 1}, {"X", 2}, {"X", 3}, {"X", 4}, {"X", 5}, {"X", 6}, {"X", 7}, {"X", 8}},
        {{"X", 9}, {"Y", 9}},
        {{"X", DAY3}, {"X", DAY3 + 1}, {"Y", DAY3}},
    };
    for (long i = 1;; i++) {
        char *dir = tu_tmpdir();
        strata_options o;
        strata_options_init(&o);
        o.create_if_missing = 1;
        o.sync = STRATA_SYNC_NONE;
        o.no_compaction = 1;
        strata_db *db = NULL;
        strata_batch *b = NULL;
        ck_assert_int_eq(strata_db_open(dir, &o, &db), STRATA_OK);
        ck_assert_int_eq(strata_batch_new(db, &b), STRATA_OK);
        st_alloc_fail_at(i);
        int acked[3] = {0, 0, 0}, failed = 0;
        for (int k = 0; k < 3; k++) {
            int rc = STRATA_OK;
            for (int j = 0; j < 9 && pts[k][j].key && rc == STRATA_OK; j++) {
                rc = strata_batch_point(b, "m", pts[k][j].ts);
                if (rc == STRATA_OK)
                    rc = strata_batch_tag(b, "device", pts[k][j].key);
                if (rc == STRATA_OK)
                    rc = strata_batch_f64(b, "v", (double)(10 * k + j));
            }
            if (rc == STRATA_OK)
                rc = strata_db_write(db, b);
            strata_batch_clear(b);
            if (rc == STRATA_OK) {
                acked[k] = 1;
            } else {
                ck_assert_msg(rc == STRATA_NOMEM, "allocation %ld, batch %d: rc %d: %s", i, k + 1,
                              rc, strata_errmsg(db));
                failed++;
            }
        }
        long made = st_alloc_fail_at(0);
        /* one allocation failed at most: the batches after it went through */
        ck_assert_msg(failed <= 1, "allocation %ld: %d writes failed", i, failed);
        for (int k = 0; failed && k < 3; k++)
            if (!acked[k])
                for (int j = k + 1; j < 3; j++)
                    ck_assert_msg(acked[j], "allocation %ld: batch %d failed after batch %d", i,
                                  j + 1, k + 1);
        strata_batch_free(b);
        int crc = strata_db_close(db); /* the background flush may have failed */
        ck_assert_msg(crc == STRATA_OK || crc == STRATA_NOMEM, "allocation %ld: close: %d", i, crc);
        o.create_if_missing = 0;
        ck_assert_int_eq(strata_db_open(dir, &o, &db), STRATA_OK);
        for (int x = 0; x < 2; x++) {
            const char *dev = x ? "Y" : "X";
            model m = {0};
            for (int k = 0; k < 3; k++)
                for (int j = 0; j < 9 && pts[k][j].key; j++)
                    if (acked[k] && !strcmp(pts[k][j].key, dev))
                        model_add(&m, pts[k][j].ts, f2b((double)(10 * k + j)));
            char key[32];
            snprintf(key, sizeof key, "m,device=%s v", dev);
            strata_series s;
            if (strata_series_find(db, key, &s) == STRATA_OK)
                expect_series(db, key, &m, INT64_MIN, INT64_MAX);
            else
                ck_assert_msg(m.n == 0, "allocation %ld: %s missing", i, key);
            free(m.p);
        }
        strata_db_close(db);
        tu_rmrf(dir);
        free(dir);
        if (!failed && made < i)
            break; /* the sequence ran without reaching the i-th allocation */
        ck_assert_int_lt(i, 100000);
    }
#undef DAY3
}
END_TEST

START_TEST(test_io_error_during_flush)
{
    for (long nth = 1; nth <= 6; nth++) {
        char *dir = tu_tmpdir();
        strata_db *db = open_db(dir, STRATA_SYNC_ALWAYS, 0);
        strata_batch *b;
        strata_batch_new(db, &b);
        model m = {0};
        for (int i = 0; i < 1000; i++) {
            write_f64(db, b, "io", "d", "v", (int64_t)i * 1000000000LL, i * 0.5);
            model_add(&m, (int64_t)i * 1000000000LL, f2b(i * 0.5));
        }
        ck_assert_int_eq(strata_db_write(db, b), STRATA_OK);
        strata_batch_clear(b);
        os_fault_inject(OS_OP_WRITE | OS_OP_SYNC, nth, EIO, -1);
        int rc = strata_db_flush(db);
        os_fault_inject(0, 0, 0, 0);
        ck_assert_int_eq(rc, STRATA_IOERR);
        /* the handle refuses writes now, but still reads */
        write_f64(db, b, "io", "d", "v", 5000000000000LL, 1.0);
        ck_assert_int_eq(strata_db_write(db, b), STRATA_IOERR);
        ck_assert_ptr_nonnull(strstr(strata_errmsg(db), "reopen"));
        expect_series(db, "io,device=d v", &m, INT64_MIN, INT64_MAX);
        strata_batch_free(b);
        ck_assert_int_ne(strata_db_close(db), STRATA_OK);
        db = open_db(dir, STRATA_SYNC_ALWAYS, 0);
        expect_series(db, "io,device=d v", &m, INT64_MIN, INT64_MAX);
        ck_assert_int_eq(strata_db_close(db), STRATA_OK);
        uint64_t problems;
        ck_assert_int_eq(strata_verify(dir, count_problem, &(int){0}, &problems),
                         STRATA_OK);
        ck_assert_uint_eq(problems, 0);
        free(m.p);
        tu_rmrf(dir);
        free(dir);
    }
}
END_TEST

/* A damaged segment: open fails naming the file (footer/index), or the
 * read fails naming file and offset (chunk); verify finds it. */
START_TEST(test_damaged_segment)
{
    char *dir = tu_tmpdir();
    strata_db *db = open_db(dir, STRATA_SYNC_NONE, 0);
    strata_batch *b;
    strata_batch_new(db, &b);
    for (int i = 0; i < 2000; i++)
        write_f64(db, b, "dmg", "d", "v", (int64_t)i * 10000000000LL, sin(i));
    ck_assert_int_eq(strata_db_write(db, b), STRATA_OK);
    strata_batch_free(b);
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    char *seg = tu_path(dir, "seg/0000000000000001.seg");
    size_t len;
    char *orig = tu_read_file(seg, &len);
    ck_assert_ptr_nonnull(orig);
    uint64_t problems;
    /* a byte in the chunk data */
    orig[200] ^= 0x10;
    tu_write_file(seg, orig, len);
    ck_assert_int_eq(strata_verify(dir, count_problem, &(int){0}, &problems), STRATA_OK);
    ck_assert_uint_eq(problems, 1);
    db = open_db(dir, STRATA_SYNC_NONE, 0);
    strata_iter *it;
    ck_assert_int_eq(strata_iter_open(db, 0, INT64_MIN, INT64_MAX, &it), STRATA_OK);
    int64_t ts;
    strata_value v;
    int rc;
    while ((rc = strata_iter_next(it, &ts, &v)) == STRATA_ROW)
        ;
    ck_assert_int_eq(rc, STRATA_CORRUPT);
    ck_assert_int_eq(strata_extended_errcode(db), STRATA_CORRUPT_SEGMENT);
    ck_assert_msg(strstr(strata_errmsg(db), "0000000000000001.seg") &&
                      strstr(strata_errmsg(db), "offset"),
                  "%s", strata_errmsg(db));
    strata_iter_close(it);
    strata_db_close(db);
    orig[200] ^= 0x10;
    /* the footer: open fails */
    orig[len - 20] ^= 0x01;
    tu_write_file(seg, orig, len);
    strata_options o;
    strata_options_init(&o);
    ck_assert_int_eq(strata_db_open(dir, &o, &db), STRATA_CORRUPT);
    ck_assert_ptr_nonnull(strstr(strata_errmsg(NULL), "footer"));
    ck_assert_int_eq(strata_verify(dir, count_problem, &(int){0}, &problems), STRATA_OK);
    ck_assert_uint_eq(problems, 1);
    /* truncated */
    tu_write_file(seg, orig, len / 2);
    ck_assert_int_eq(strata_db_open(dir, &o, &db), STRATA_CORRUPT);
    /* missing */
    unlink(seg);
    ck_assert_int_eq(strata_db_open(dir, &o, &db), STRATA_CORRUPT);
    ck_assert_ptr_nonnull(strstr(strata_errmsg(NULL), "missing"));
    free(orig);
    free(seg);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* Points far apart and at the int64 extremes land in the right segments
 * and come back.  Against a frontier of today (INT64_MAX is capped to the
 * wall clock), every partition but the last is cold, so the flush writes
 * its points into the 28-day tier windows compaction would merge them
 * into: one at INT64_MIN, [-28 d, -1 ns], [0, 28 d) with 0, 1 ns and both
 * sides of the first day, and INT64_MAX's own partition. */
START_TEST(test_extreme_timestamps)
{
    char *dir = tu_tmpdir();
    strata_db *db = open_db(dir, STRATA_SYNC_NONE, 0);
    strata_batch *b;
    strata_batch_new(db, &b);
    int64_t ts[] = {INT64_MIN, INT64_MIN + 1, -1, 0, 1, 86399999999999LL, 86400000000000LL,
                    INT64_MAX - 1, INT64_MAX};
    model m = {0};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
        write_f64(db, b, "x", "d", "v", ts[i], (double)i);
        model_add(&m, ts[i], f2b((double)i));
    }
    ck_assert_int_eq(strata_db_write(db, b), STRATA_OK);
    strata_batch_free(b);
    expect_series(db, "x,device=d v", &m, INT64_MIN, INT64_MAX);
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    db = open_db(dir, STRATA_SYNC_NONE, 0);
    expect_series(db, "x,device=d v", &m, INT64_MIN, INT64_MAX);
    expect_series(db, "x,device=d v", &m, -1, 1);
    strata_stats st;
    strata_db_stats(db, &st);
    ck_assert_uint_eq(st.segments, 4);
    strata_db_close(db);
    uint64_t problems;
    ck_assert_int_eq(strata_verify(dir, count_problem, &(int){0}, &problems), STRATA_OK);
    ck_assert_uint_eq(problems, 0);
    free(m.p);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

Suite *db_suite(void); /* collected by run_tests.c */

Suite *db_suite(void)
{
    Suite *s = suite_create("db");
    TCase *t = tcase_create("db");
    tcase_add_test(t, test_roundtrip_everywhere);
    tcase_add_test(t, test_out_of_order_and_duplicates);
    tcase_add_test(t, test_batch_grouping);
    tcase_add_test(t, test_freeze_keeps_log_file);
    tcase_add_test(t, test_head_orders);
    tcase_add_test(t, test_head_reserve);
    tcase_add_test(t, test_head_pool);
    tcase_add_test(t, test_lp_field_positions);
    tcase_add_test(t, test_batch_atomic_type_conflict);
    tcase_add_test(t, test_define_series);
    tcase_add_test(t, test_names_validated);
    tcase_add_test(t, test_concurrent_writers_and_readers);
    tcase_add_test(t, test_memory_budget);
    tcase_add_test(t, test_memory_budget_lockstep);
    tcase_add_test(t, test_locks_readonly_options);
    tcase_add_test(t, test_allocation_failures);
    tcase_add_test(t, test_allocation_failures_write_nothing);
    tcase_add_test(t, test_io_error_during_flush);
    tcase_add_test(t, test_flush_split_same_files);
    tcase_add_test(t, test_flush_split_allocation_failures);
    tcase_add_test(t, test_damaged_segment);
    tcase_add_test(t, test_extreme_timestamps);
    suite_add_tcase(s, t);
    return s;
}
