/*
 * check_delete.c — deleting points: strata_delete(), strata_delete_device()
 * and `strata delete`.
 *
 * Every test keeps its own model of what should be stored (an array per
 * series of present/absent points) and compares the database with it
 * point by point: through iterators, through aggregate queries (so chunk
 * statistics cannot stand in for a chunk a tombstone touches), after a
 * reopen, and through the CLI's dump.
 */
#include "tests/testutil.h"

#include "strata.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define SEC 1000000000LL
#define NPTS 3000 /* per series: 10 s apart, across chunk and partition edges */
#define T0 (1704067200LL * SEC) /* 2024-01-01T00:00:00Z */

static int background = 0; /* the compaction thread runs (else only
                              strata_db_compact compacts) */

static strata_db *open_db(const char *dir, int read_only)
{
    strata_options o;
    strata_options_init(&o);
    o.create_if_missing = !read_only;
    o.read_only = read_only;
    o.sync = STRATA_SYNC_NONE;
    o.device_tag = "dev";
    o.partition_ns = 6 * 3600 * SEC; /* NPTS span 8.3 h: two partitions */
    o.no_compaction = !background;
    strata_db *db;
    int rc = strata_db_open(dir, &o, &db);
    ck_assert_msg(rc == STRATA_OK, "open %s: %s", dir, strata_errmsg(NULL));
    return db;
}

/* Series: m,dev=<d> x and y for the devices below (x float, y int). */
static const char *const devices[] = {"d0", "d 1,=odd", "d2"};
#define NDEV 3
#define NSER (2 * NDEV)

typedef struct model {
    uint8_t present[NSER][NPTS];
} model;

static int64_t ts_of(int i)
{
    return T0 + (int64_t)i * 10 * SEC;
}

static double xval(int d, int i)
{
    return d * 1000 + i * 0.5;
}

static void write_range(strata_db *db, int lo, int hi, model *m)
{
    strata_batch *b;
    ck_assert_int_eq(strata_batch_new(db, &b), STRATA_OK);
    for (int i = lo; i < hi; i++)
        for (int d = 0; d < NDEV; d++) {
            ck_assert_int_eq(strata_batch_point(b, "m", ts_of(i)), STRATA_OK);
            ck_assert_int_eq(strata_batch_tag(b, "dev", devices[d]), STRATA_OK);
            ck_assert_int_eq(strata_batch_f64(b, "x", xval(d, i)), STRATA_OK);
            ck_assert_int_eq(strata_batch_i64(b, "y", (int64_t)d * 100000 + i), STRATA_OK);
            m->present[2 * d][i] = m->present[2 * d + 1][i] = 1;
        }
    ck_assert_int_eq(strata_db_write(db, b), STRATA_OK);
    strata_batch_free(b);
}

static uint64_t sid_of(strata_db *db, int d, int field_y)
{
    char key[64];
    char esc[32];
    size_t k = 0;
    for (const char *p = devices[d]; *p; p++) {
        if (*p == ',' || *p == '=' || *p == ' ')
            esc[k++] = '\\';
        esc[k++] = *p;
    }
    esc[k] = '\0';
    snprintf(key, sizeof key, "m,dev=%s %s", esc, field_y ? "y" : "x");
    strata_series s;
    int rc = strata_series_find(db, key, &s);
    ck_assert_msg(rc == STRATA_OK, "find %s: %s", key, strata_errmsg(db));
    return s.id;
}

/* Every series through an iterator, against the model. */
static void check_points(strata_db *db, const model *m, const char *when)
{
    for (int d = 0; d < NDEV; d++)
        for (int f = 0; f < 2; f++) {
            strata_iter *it;
            ck_assert_int_eq(strata_iter_open(db, sid_of(db, d, f), INT64_MIN, INT64_MAX, &it),
                             STRATA_OK);
            int i = 0;
            int64_t ts;
            strata_value v;
            int rc;
            while ((rc = strata_iter_next(it, &ts, &v)) == STRATA_ROW) {
                while (i < NPTS && !m->present[2 * d + f][i])
                    i++;
                TU_CHECK(i < NPTS && ts == ts_of(i), "%s: dev %d field %d: point at %lld not "
                         "expected (next expected index %d)", when, d, f, (long long)ts, i);
                TU_CHECK(f ? v.i64 == (int64_t)d * 100000 + i : v.f64 == xval(d, i),
                         "%s: dev %d field %d: wrong value at index %d", when, d, f, i);
                i++;
            }
            ck_assert_int_eq(rc, STRATA_DONE);
            while (i < NPTS && !m->present[2 * d + f][i])
                i++;
            ck_assert_msg(i == NPTS, "%s: dev %d field %d: points missing from index %d", when,
                          d, f, i);
            strata_iter_close(it);
        }
}

/* count and sum of x per device per hour through the query layer, which
 * answers whole chunks from their statistics when it may. */
static void check_query(strata_db *db, const model *m, const char *when)
{
    for (int d = 0; d < NDEV; d++) {
        char text[256];
        snprintf(text, sizeof text,
                 "SELECT count(x), sum(x) FROM m WHERE dev = '%s' AND time >= %lld AND "
                 "time < %lld GROUP BY time(1h) FILL(none)",
                 d == 1 ? "d 1,=odd" : devices[d], (long long)T0, (long long)ts_of(NPTS));
        strata_query *q;
        int rc = strata_query_prepare(db, text, &q);
        ck_assert_msg(rc == STRATA_OK, "%s: %s", text, strata_errmsg(db));
        long cnt[16] = {0};
        double sum[16] = {0};
        for (int i = 0; i < NPTS; i++)
            if (m->present[2 * d][i]) {
                cnt[i / 360]++;
                sum[i / 360] += xval(d, i);
            }
        int rows = 0;
        while ((rc = strata_query_step(q)) == STRATA_ROW) {
            int64_t t = strata_query_column_i64(q, 0);
            int h = (int)((t - T0) / (3600 * SEC));
            ck_assert_int_ge(h, 0);
            ck_assert_int_lt(h, 16);
            TU_CHECK(strata_query_column_i64(q, 1) == cnt[h], "%s: dev %d hour %d: count %lld, "
                     "want %ld", when, d, h, (long long)strata_query_column_i64(q, 1), cnt[h]);
            TU_CHECK(strata_query_column_f64(q, 2) == sum[h], "%s: dev %d hour %d: sum %.17g, "
                     "want %.17g", when, d, h, strata_query_column_f64(q, 2), sum[h]);
            rows++;
        }
        ck_assert_int_eq(rc, STRATA_DONE);
        int want_rows = 0;
        for (int h = 0; h < 16; h++)
            want_rows += cnt[h] > 0;
        ck_assert_int_eq(rows, want_rows);
        strata_query_finalize(q);
    }
}

static void hide(model *m, int series, int lo, int hi)
{
    for (int i = lo; i < hi; i++)
        m->present[series][i] = 0;
}

START_TEST(test_delete_series_and_device)
{
    char *dir = tu_tmpdir();
    strata_db *db = open_db(dir, 0);
    static model m;
    memset(&m, 0, sizeof m);
    write_range(db, 0, 2000, &m);
    ck_assert_int_eq(strata_db_flush(db), STRATA_OK);
    write_range(db, 2000, 2500, &m); /* still in the head at the delete */

    /* one series, a range inside chunks and across the partition edge */
    uint64_t x0 = sid_of(db, 0, 0);
    ck_assert_int_eq(strata_delete(db, &x0, 1, ts_of(1234), ts_of(2345)), STRATA_OK);
    hide(&m, 0, 1234, 2345);
    check_points(db, &m, "after a series delete");
    check_query(db, &m, "after a series delete");

    /* a device (escaped tag value), all of time: both of its fields */
    uint64_t n = 0;
    ck_assert_int_eq(strata_delete_device(db, "d 1,=odd", NULL, INT64_MIN, INT64_MAX, &n),
                     STRATA_OK);
    ck_assert_uint_eq(n, 2);
    hide(&m, 2, 0, NPTS);
    hide(&m, 3, 0, NPTS);
    /* another measurement narrows to nothing; an unknown device matches none */
    ck_assert_int_eq(strata_delete_device(db, "d2", "other", INT64_MIN, INT64_MAX, &n),
                     STRATA_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(strata_delete_device(db, "nobody", NULL, INT64_MIN, INT64_MAX, &n),
                     STRATA_OK);
    ck_assert_uint_eq(n, 0);
    check_points(db, &m, "after a device delete");

    /* points written after a delete are kept, also inside its range */
    write_range(db, 2500, NPTS, &m);
    strata_batch *b;
    ck_assert_int_eq(strata_batch_new(db, &b), STRATA_OK);
    for (int i = 1300; i < 1310; i++) {
        ck_assert_int_eq(strata_batch_point(b, "m", ts_of(i)), STRATA_OK);
        ck_assert_int_eq(strata_batch_tag(b, "dev", "d0"), STRATA_OK);
        ck_assert_int_eq(strata_batch_f64(b, "x", xval(0, i)), STRATA_OK);
        m.present[0][i] = 1;
    }
    ck_assert_int_eq(strata_db_write(db, b), STRATA_OK);
    strata_batch_free(b);
    check_points(db, &m, "after writing into a deleted range");
    check_query(db, &m, "after writing into a deleted range");
    ck_assert_int_eq(strata_db_flush(db), STRATA_OK);
    check_points(db, &m, "after a flush");
    strata_stats st;
    ck_assert_int_eq(strata_db_stats(db, &st), STRATA_OK);
    ck_assert_uint_eq(st.tombstones, 3); /* x of d0, x and y of "d 1,=odd" */

    /* compaction applies the deletes: the points stay gone, the
     * tombstones go, and so do the bytes of a deleted device */
    uint64_t bytes_before = st.segment_bytes;
    ck_assert_int_eq(strata_db_compact(db), STRATA_OK);
    check_points(db, &m, "after compaction");
    check_query(db, &m, "after compaction");
    ck_assert_int_eq(strata_db_stats(db, &st), STRATA_OK);
    ck_assert_uint_eq(st.tombstones, 0);
    ck_assert_uint_lt(st.segment_bytes, bytes_before);
    strata_db_close(db);

    db = open_db(dir, 1);
    check_points(db, &m, "after a reopen (read-only)");
    check_query(db, &m, "after a reopen (read-only)");
    strata_db_close(db);
    db = open_db(dir, 0);
    check_points(db, &m, "after a reopen");
    ck_assert_int_eq(strata_db_stats(db, &st), STRATA_OK);
    ck_assert_uint_eq(st.tombstones, 0);
    strata_db_close(db);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* A delete racing compaction and a delete of everything: whatever runs
 * when, the points stay gone and every tombstone is applied in the end. */
START_TEST(test_delete_with_compaction)
{
    char *dir = tu_tmpdir();
    background = 1;
    strata_db *db = open_db(dir, 0);
    static model m;
    memset(&m, 0, sizeof m);
    for (int k = 0; k < 6; k++) { /* six overlapping segments */
        write_range(db, k * 400, k * 400 + 900 < NPTS ? k * 400 + 900 : NPTS, &m);
        ck_assert_int_eq(strata_db_flush(db), STRATA_OK);
    }
    uint64_t ids[NSER];
    for (int d = 0; d < NDEV; d++)
        for (int f = 0; f < 2; f++)
            ids[2 * d + f] = sid_of(db, d, f);
    for (int k = 0; k < 5; k++) {
        int lo = 97 * k * k % NPTS, hi = lo + 150 + 60 * k;
        hi = hi < NPTS ? hi : NPTS;
        ck_assert_int_eq(strata_delete(db, &ids[k % NSER], 1, ts_of(lo), ts_of(hi)), STRATA_OK);
        hide(&m, k % NSER, lo, hi);
        if (k % 2)
            ck_assert_int_eq(strata_db_compact(db), STRATA_OK);
        check_points(db, &m, "deletes between compactions");
    }
    ck_assert_int_eq(strata_db_compact(db), STRATA_OK);
    check_points(db, &m, "after the last compaction");
    check_query(db, &m, "after the last compaction");
    /* everything of every series */
    ck_assert_int_eq(strata_delete(db, ids, NSER, INT64_MIN, INT64_MAX), STRATA_OK);
    memset(&m, 0, sizeof m);
    check_points(db, &m, "after deleting everything");
    ck_assert_int_eq(strata_db_compact(db), STRATA_OK);
    check_points(db, &m, "after compacting everything away");
    strata_stats st;
    ck_assert_int_eq(strata_db_stats(db, &st), STRATA_OK);
    ck_assert_uint_eq(st.tombstones, 0);
    strata_db_close(db);
    char *out, *err;
    ck_assert_int_eq(tu_cli(ARGS("verify", dir), NULL, &out, &err), 0);
    free(out);
    free(err);
    db = open_db(dir, 0);
    check_points(db, &m, "after a reopen");
    strata_db_close(db);
    background = 0;
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* Tombstones whose points retention dropped are forgotten too. */
START_TEST(test_delete_then_retention)
{
    char *dir = tu_tmpdir();
    strata_db *db = open_db(dir, 0);
    static model m;
    memset(&m, 0, sizeof m);
    write_range(db, 0, NPTS, &m);
    ck_assert_int_eq(strata_db_flush(db), STRATA_OK);
    uint64_t x0 = sid_of(db, 0, 0);
    ck_assert_int_eq(strata_delete(db, &x0, 1, ts_of(10), ts_of(20)), STRATA_OK);
    strata_stats st;
    ck_assert_int_eq(strata_db_stats(db, &st), STRATA_OK);
    ck_assert_uint_eq(st.tombstones, 1);
    /* keep 2 h behind the newest point: the first 6 h partition expires,
     * and with it every point the tombstone deleted */
    ck_assert_int_eq(strata_db_set_retention(db, 2 * 3600 * SEC), STRATA_OK);
    ck_assert_int_eq(strata_db_compact(db), STRATA_OK);
    ck_assert_int_eq(strata_db_stats(db, &st), STRATA_OK);
    ck_assert_uint_eq(st.tombstones, 0);
    for (int s = 0; s < NSER; s++)
        hide(&m, s, 0, 6 * 360); /* the first partition: 6 h of 10 s points */
    check_points(db, &m, "after retention");
    strata_db_close(db);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(test_delete_errors)
{
    char *dir = tu_tmpdir();
    strata_db *db = open_db(dir, 0);
    static model m;
    write_range(db, 0, 10, &m);
    uint64_t id = 0, bad = 999;
    ck_assert_int_eq(strata_delete(NULL, &id, 1, 0, 1), STRATA_MISUSE);
    ck_assert_int_eq(strata_delete(db, &bad, 1, 0, INT64_MAX), STRATA_NOTFOUND);
    ck_assert_int_eq(strata_delete(db, &id, 1, 5, 5), STRATA_MISUSE);
    ck_assert_int_eq(strata_delete(db, NULL, 1, 0, INT64_MAX), STRATA_MISUSE);
    ck_assert_int_eq(strata_delete(db, &id, 0, 0, INT64_MAX), STRATA_OK);
    ck_assert_int_eq(strata_delete_device(db, "", NULL, 0, INT64_MAX, NULL), STRATA_MISUSE);
    strata_db_close(db);
    db = open_db(dir, 1);
    ck_assert_int_eq(strata_delete(db, &id, 1, 0, INT64_MAX) & 0xff, STRATA_MISUSE);
    strata_db_close(db);
    /* nothing was deleted by any of those */
    db = open_db(dir, 1);
    check_points(db, &m, "after refused deletes");
    strata_db_close(db);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(test_delete_cli)
{
    char *dir = tu_tmpdir(), *lp = tu_path(dir, "in.lp"), *db = tu_path(dir, "db");
    static const char text[] = "m,dev=a x=1 10\nm,dev=a x=2 20\nm,dev=a x=3 30\n"
                               "m,dev=b x=4 10\nm,dev=b y=5i 20\nn,dev=b x=6 10\n";
    tu_write_file(lp, text, strlen(text));
    char *out, *err;
    ck_assert_int_eq(tu_cli(ARGS("ingest", db, "--device-tag", "dev", "--quiet", lp), NULL,
                            &out, &err), 0);
    free(out);
    free(err);
    /* bad command lines: exit 2, nothing changes */
    const char *const *bad[] = {
        ARGS("delete", db),
        ARGS("delete", db, "--series", "m,dev=a x", "--device", "a"),
        ARGS("delete", db, "--series", "m,dev=a x", "--measurement", "m"),
        ARGS("delete", db, "--device", "a", "--from", "30", "--to", "20"),
        ARGS("delete", db, "--device", "a", "--from", "yesterday"),
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(tu_cli(bad[i], NULL, &out, &err), 2);
        ck_assert_ptr_nonnull(strstr(err, "strata: "));
        free(out);
        free(err);
    }
    /* an unknown key: exit 1, nothing deleted, even of the good key */
    ck_assert_int_eq(tu_cli(ARGS("delete", db, "--series", "m,dev=a x", "--series",
                                 "m,dev=zz x"), NULL, &out, &err), 1);
    ck_assert_ptr_nonnull(strstr(err, "no series 'm,dev=zz x'"));
    free(out);
    free(err);
    ck_assert_int_eq(tu_cli(ARGS("delete", db, "--series", "m,dev=a x", "--from", "20", "--to",
                                 "30"), NULL, &out, &err), 0);
    ck_assert_str_eq(out, "deleted the points of 1 series in the time range\n");
    free(out);
    free(err);
    ck_assert_int_eq(tu_cli(ARGS("delete", db, "--device", "b", "--measurement", "m"), NULL,
                            &out, &err), 0);
    ck_assert_str_eq(out, "deleted the points of 2 series\n");
    free(out);
    free(err);
    ck_assert_int_eq(tu_cli(ARGS("dump", db), NULL, &out, &err), 0);
    ck_assert_str_eq(out, "m,dev=a x=1 10\nm,dev=a x=3 30\nn,dev=b x=6 10\n");
    free(out);
    free(err);
    ck_assert_int_eq(tu_cli(ARGS("verify", db), NULL, &out, &err), 0);
    free(out);
    free(err);
    /* inspect reports the deletes compaction has not applied yet */
    ck_assert_int_eq(tu_cli(ARGS("inspect", db), NULL, &out, &err), 0);
    ck_assert_ptr_nonnull(strstr(out, "deletes       3 tombstone(s) not yet applied"));
    free(out);
    free(err);
    ck_assert_int_eq(tu_cli(ARGS("inspect", db, "--format", "json"), NULL, &out, &err), 0);
    ck_assert_ptr_nonnull(strstr(out, "\"tombstones\": 3,"));
    free(out);
    free(err);
    ck_assert_int_eq(tu_cli(ARGS("compact", db), NULL, &out, &err), 0);
    free(out);
    free(err);
    ck_assert_int_eq(tu_cli(ARGS("inspect", db), NULL, &out, &err), 0);
    ck_assert_ptr_null(strstr(out, "deletes"));
    free(out);
    free(err);
    ck_assert_int_eq(tu_cli(ARGS("dump", db), NULL, &out, &err), 0);
    ck_assert_str_eq(out, "m,dev=a x=1 10\nm,dev=a x=3 30\nn,dev=b x=6 10\n");
    free(out);
    free(err);
    tu_rmrf(dir);
    free(lp);
    free(db);
    free(dir);
}
END_TEST

Suite *delete_suite(void); /* found by the runner (suites.h) */

Suite *delete_suite(void)
{
    Suite *s = suite_create("delete");
    TCase *t = tcase_create("delete");
    tcase_add_test(t, test_delete_series_and_device);
    tcase_add_test(t, test_delete_with_compaction);
    tcase_add_test(t, test_delete_then_retention);
    tcase_add_test(t, test_delete_errors);
    tcase_add_test(t, test_delete_cli);
    suite_add_tcase(s, t);
    return s;
}
