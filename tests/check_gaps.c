/*
 * check_gaps.c — strata_gaps_* and `strata gaps` against gaps computed
 * independently in this file: a naive pass over each device's sorted,
 * de-duplicated report times (every expected report enumerated one by one),
 * with the interval configured or learned (the lower median of the deltas,
 * computed by sorting them).
 *
 * Databases use the device tag `name` and 1 h partitions, so a few hours of
 * 10 s data cross partition and chunk edges.  Cases: holes at chunk and
 * partition edges and inside chunks, data in segments and in the head,
 * shuffled and duplicated writes over several flushes, timestamp jitter
 * within the tolerance, devices silent at the end of the range or absent
 * from it, two measurements at offset phases (their union is the report
 * stream), learned against configured intervals, random cases; that evenly
 * spaced chunks are not decoded; the CLI's three formats byte for byte and
 * its errors for bad flags.
 */
#include "tests/testutil.h"

#include "engine/alloc.h"

#include "strata.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEC 1000000000LL
#define HOUR (3600 * SEC)
#define T0 1704067200000000000LL /* 2024-01-01T00:00:00Z */
#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ---- writing ------------------------------------------------------------------- */

static strata_db *open_db(const char *path)
{
    strata_options o;
    strata_options_init(&o);
    o.create_if_missing = 1;
    o.device_tag = "name";
    o.partition_ns = HOUR;
    strata_db *db;
    ck_assert_msg(strata_db_open(path, &o, &db) == STRATA_OK, "%s", strata_errmsg(NULL));
    return db;
}

/* Write ts[0..n) of device dev, measurement meas, field f (value i). */
static void put(strata_db *db, const char *meas, const char *dev, const char *f, const int64_t *ts,
                size_t n)
{
    strata_batch *b;
    ck_assert_int_eq(strata_batch_new(db, &b), STRATA_OK);
    for (size_t i = 0; i < n; i++) {
        int rc = strata_batch_point(b, meas, ts[i]);
        rc |= strata_batch_tag(b, "name", dev);
        rc |= strata_batch_f64(b, f, (double)(i % 7));
        TU_CHECK(rc == STRATA_OK, "batch: %s", strata_errmsg(NULL));
    }
    ck_assert_msg(strata_db_write(db, b) == STRATA_OK, "%s", strata_errmsg(db));
    strata_batch_free(b);
}

/* ---- the model ------------------------------------------------------------------ */

typedef struct mdev {
    const char *name;
    int64_t *ts; /* every time written, any order, repeats allowed */
    size_t n, cap;
} mdev;

static void m_add(mdev *d, int64_t t)
{
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 1024;
        d->ts = realloc(d->ts, d->cap * sizeof *d->ts);
    }
    d->ts[d->n++] = t;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sort and de-duplicate; returns the count. */
static size_t uniq(int64_t *t, size_t n)
{
    qsort(t, n, sizeof *t, cmp_i64);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!k || t[i] != t[k - 1])
            t[k++] = t[i];
    return k;
}

typedef struct xgap {
    const char *dev;
    int64_t start, end, interval;
    uint64_t missing;
    int kind;
} xgap;

typedef struct xlist {
    xgap *g;
    size_t n, cap;
} xlist;

static void x_add(xlist *l, xgap g)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->g = realloc(l->g, l->cap * sizeof *l->g);
    }
    l->g[l->n++] = g;
}

/* The lower median of the deltas of t[0..n) (sorted, unique): 0 if none. */
static int64_t lower_median(const int64_t *t, size_t n)
{
    if (n < 2)
        return 0;
    uint64_t *d = malloc((n - 1) * sizeof *d);
    for (size_t i = 1; i < n; i++)
        d[i - 1] = (uint64_t)(t[i] - t[i - 1]);
    qsort(d, n - 1, sizeof *d, cmp_u64);
    int64_t m = (int64_t)d[(n - 2) / 2];
    free(d);
    return m;
}

/* The gap from a to b, enumerating the expected reports a + k I < b. */
static void x_gap(xlist *l, const char *dev, int64_t a, int64_t b, int64_t I, double tol,
                  int64_t from, int kind)
{
    long long num = llround(tol * 1e6);
    if ((__int128)(b - a) * 1000000 <= (__int128)I * num)
        return;
    uint64_t total = (uint64_t)((2 * (b - a) + I) / (2 * I)) - 1;
    uint64_t k = 1;
    while (a + (int64_t)k * I < from)
        k++;
    int64_t start = a + (int64_t)k * I;
    if (start >= b)
        return;
    uint64_t missing = total >= k - 1 ? total - (k - 1) : 0;
    if (k > 1 && missing == 0)
        return;
    x_add(l, (xgap){dev, start, b, I, missing, kind});
}

/* Expected gaps of every device (sorted by name), as the rules say.
 * to == INT64_MAX: the range ends at the latest time of any device. */
static xlist expect(mdev *devs, size_t nd, int64_t from, int64_t to, int64_t interval, double tol)
{
    xlist l = {0};
    int64_t latest = INT64_MIN;
    for (size_t i = 0; i < nd; i++) {
        devs[i].n = uniq(devs[i].ts, devs[i].n);
        if (devs[i].n && devs[i].ts[devs[i].n - 1] > latest)
            latest = devs[i].ts[devs[i].n - 1];
    }
    int64_t end = to != INT64_MAX ? to : latest;
    for (size_t i = 0; i < nd; i++) {
        const mdev *d = &devs[i];
        /* the reports considered: the last one before from, then the range */
        int64_t *r = malloc((d->n + 1) * sizeof *r);
        size_t nr = 0, nin = 0;
        int have_prev = 0;
        for (size_t k = 0; k < d->n; k++)
            if (d->ts[k] < from) {
                r[0] = d->ts[k];
                have_prev = 1;
            }
        nr = (size_t)have_prev;
        for (size_t k = 0; k < d->n; k++)
            if (d->ts[k] >= from && d->ts[k] < to) {
                r[nr++] = d->ts[k];
                nin++;
            }
        int64_t I = interval ? interval : lower_median(r, nr);
        if (!I && have_prev && end > from) {
            int64_t w0 = from - (end - from);
            int64_t *w = malloc(d->n * sizeof *w);
            size_t nw = 0;
            for (size_t k = 0; k < d->n; k++)
                if (d->ts[k] >= w0 && d->ts[k] < from)
                    w[nw++] = d->ts[k];
            I = lower_median(w, nw);
            free(w);
        }
        if (I) {
            for (size_t k = 1; k < nr; k++)
                x_gap(&l, d->name, r[k - 1], r[k], I, tol, from, STRATA_GAP_REPORT);
            if (nr && end > r[nr - 1])
                x_gap(&l, d->name, r[nr - 1], end, I, tol, from,
                      nin ? STRATA_GAP_SILENT : STRATA_GAP_ABSENT);
        }
        free(r);
    }
    return l;
}

/* Run the search and compare with the expectation, gap by gap. */
static void check_gaps(strata_db *db, const strata_gaps_options *o, const xlist *x,
                       strata_gaps_stats *st)
{
    strata_gaps *g;
    ck_assert_msg(strata_gaps_open(db, o, &g) == STRATA_OK, "%s", strata_errmsg(db));
    strata_gap gap;
    size_t i = 0;
    int rc;
    while ((rc = strata_gaps_next(g, &gap)) == STRATA_ROW) {
        TU_CHECK(i < x->n, "extra gap %s %lld..%lld (%llu missing)", gap.device,
                 (long long)gap.start_ns, (long long)gap.end_ns, (unsigned long long)gap.missing);
        const xgap *e = &x->g[i++];
        TU_CHECK(!strcmp(gap.device, e->dev) && gap.start_ns == e->start && gap.end_ns == e->end &&
                     gap.missing == e->missing && gap.kind == e->kind &&
                     gap.interval_ns == e->interval,
                 "gap %zu: got %s %lld..%lld missing %llu kind %d interval %lld; "
                 "want %s %lld..%lld missing %llu kind %d interval %lld",
                 i - 1, gap.device, (long long)gap.start_ns, (long long)gap.end_ns,
                 (unsigned long long)gap.missing, gap.kind, (long long)gap.interval_ns, e->dev,
                 (long long)e->start, (long long)e->end, (unsigned long long)e->missing, e->kind,
                 (long long)e->interval);
    }
    ck_assert_msg(rc == STRATA_DONE, "%s", strata_errmsg(db));
    ck_assert_msg(i == x->n, "got %zu gaps, want %zu", i, x->n);
    if (st)
        ck_assert_int_eq(strata_gaps_stats_get(g, st), STRATA_OK);
    strata_gaps_close(g);
}

static strata_gaps_options opts(int64_t from, int64_t to, int64_t interval, double tol)
{
    strata_gaps_options o;
    strata_gaps_options_init(&o);
    o.from_ns = from;
    o.to_ns = to;
    o.interval_ns = interval;
    o.tolerance = tol;
    return o;
}

/* Times from a to b (exclusive) every step, skipping [h0, h1) holes. */
static size_t series(int64_t *out, int64_t a, int64_t b, int64_t step, const int64_t *holes,
                     size_t nholes)
{
    size_t n = 0;
    for (int64_t t = a; t < b; t += step) {
        int skip = 0;
        for (size_t h = 0; h < nholes; h++)
            skip |= t >= holes[2 * h] && t < holes[2 * h + 1];
        if (!skip)
            out[n++] = t;
    }
    return n;
}

/* ---- cases ---------------------------------------------------------------------- */

START_TEST(test_regular_needs_no_decoding)
{
    char *dir = tu_tmpdir(), *path = tu_path(dir, "db");
    strata_db *db = open_db(path);
    static int64_t ts[6 * 360];
    size_t n = series(ts, T0, T0 + 6 * HOUR, 10 * SEC, NULL, 0);
    put(db, "m", "d1", "x", ts, n);
    put(db, "m", "d1", "y", ts, n);
    ck_assert_int_eq(strata_db_flush(db), STRATA_OK);
    mdev d = {"d1", 0, 0, 0};
    for (size_t i = 0; i < n; i++)
        m_add(&d, ts[i]);
    strata_gaps_options o = opts(INT64_MIN, T0 + 7 * HOUR, 10 * SEC, 1.5);
    xlist x = expect(&d, 1, o.from_ns, o.to_ns, o.interval_ns, o.tolerance);
    ck_assert_int_eq(x.n, 1); /* silent for the last hour */
    strata_gaps_stats st;
    check_gaps(db, &o, &x, &st);
    ck_assert_int_eq(st.devices, 1);
    ck_assert_int_eq(st.series, 2);
    ck_assert_uint_gt(st.chunks_indexed, 6);
    ck_assert_int_eq(st.chunks_decoded, 0);
    ck_assert_int_eq(st.points_decoded, 0);
    /* learned: the same, the interval found from the index entries alone */
    o.interval_ns = 0;
    check_gaps(db, &o, &x, &st);
    ck_assert_int_eq(st.chunks_decoded, 0);
    free(x.g);
    free(d.ts);
    strata_db_close(db);
    tu_rmrf(dir);
    free(path);
    free(dir);
}
END_TEST

/* Holes inside chunks, at a partition edge and at chunk edges (2 s data is
 * cut into 15 min chunks); some data left in the head; only the chunk with
 * a hole inside is decoded. */
START_TEST(test_holes_at_edges)
{
    char *dir = tu_tmpdir(), *path = tu_path(dir, "db");
    strata_db *db = open_db(path);
    static const int64_t holes[] = {
        T0 + 600 * SEC,           T0 + 700 * SEC,           /* inside a chunk */
        T0 + HOUR - 30 * SEC,     T0 + HOUR + 20 * SEC,     /* across a partition edge */
        T0 + 2700 * SEC,          T0 + 2702 * SEC,          /* the first of a chunk */
        T0 + 1798 * SEC,          T0 + 1800 * SEC,          /* the last of a chunk */
        T0 + 4 * HOUR + 15 * SEC, T0 + 4 * HOUR + 17 * SEC, /* one, in the head */
    };
    static int64_t ts[5 * 1800];
    size_t n = series(ts, T0, T0 + 4 * HOUR, 2 * SEC, holes, 5);
    put(db, "m", "dev", "v", ts, n);
    ck_assert_int_eq(strata_db_flush(db), STRATA_OK);
    size_t m = series(ts + n, T0 + 4 * HOUR, T0 + 4 * HOUR + 600 * SEC, 2 * SEC, holes, 5);
    put(db, "m", "dev", "v", ts + n, m);
    mdev d = {"dev", 0, 0, 0};
    for (size_t i = 0; i < n + m; i++)
        m_add(&d, ts[i]);
    for (int learned = 0; learned < 2; learned++) {
        strata_gaps_options o = opts(INT64_MIN, INT64_MAX, learned ? 0 : 2 * SEC, 1.5);
        xlist x = expect(&d, 1, o.from_ns, o.to_ns, o.interval_ns, o.tolerance);
        ck_assert_int_eq(x.n, 5);
        ck_assert_int_eq(x.g[0].start, T0 + 600 * SEC);
        ck_assert_int_eq(x.g[0].end, T0 + 700 * SEC);
        ck_assert_int_eq(x.g[0].missing, 50);
        ck_assert_int_eq(x.g[1].missing, 1);
        ck_assert_int_eq(x.g[3].missing, 25);
        strata_gaps_stats st;
        check_gaps(db, &o, &x, &st);
        ck_assert_int_eq(st.chunks_decoded, 1);
        ck_assert_int_eq(st.points_decoded, 400);
        ck_assert_int_eq(st.chunks_indexed, 15);
        ck_assert_int_eq(st.head_points, m);
        /* ranges that start and end inside holes and chunks */
        int64_t cuts[] = {T0 + 650 * SEC, T0 + 605 * SEC, T0 + HOUR, T0 + HOUR + 3 * SEC,
                          T0 + 2 * HOUR + 5 * SEC};
        for (size_t a = 0; a < 5; a++)
            for (size_t b = 0; b < 5; b++) {
                int64_t to = cuts[a] + (int64_t)(b + 1) * 1234 * SEC;
                strata_gaps_options oc = opts(cuts[a], to, o.interval_ns, 1.5);
                xlist y = expect(&d, 1, oc.from_ns, oc.to_ns, oc.interval_ns, 1.5);
                check_gaps(db, &oc, &y, NULL);
                free(y.g);
            }
        free(x.g);
    }
    free(d.ts);
    strata_db_close(db);
    tu_rmrf(dir);
    free(path);
    free(dir);
}
END_TEST

/* Two measurements at offset phases: reports are their union (every 5 s);
 * a hole in one alone is no gap at 5 s x 2.5, a hole in both is; one
 * measurement alone shows its own holes at 10 s. */
START_TEST(test_union_of_measurements)
{
    char *dir = tu_tmpdir(), *path = tu_path(dir, "db");
    strata_db *db = open_db(path);
    static int64_t a[1000], b[1000];
    static const int64_t ha[] = {T0 + 300 * SEC, T0 + 400 * SEC, T0 + 1000 * SEC, T0 + 1100 * SEC};
    static const int64_t hb[] = {T0 + 300 * SEC, T0 + 400 * SEC};
    size_t na = series(a, T0, T0 + 1800 * SEC, 10 * SEC, ha, 2);
    size_t nb = series(b, T0 + 5 * SEC, T0 + 1800 * SEC, 10 * SEC, hb, 1);
    put(db, "readings", "u", "x", a, na);
    put(db, "diagnostics", "u", "y", b, nb);
    ck_assert_int_eq(strata_db_flush(db), STRATA_OK);
    mdev d = {"u", 0, 0, 0};
    for (size_t i = 0; i < na; i++)
        m_add(&d, a[i]);
    for (size_t i = 0; i < nb; i++)
        m_add(&d, b[i]);
    strata_gaps_options o = opts(INT64_MIN, INT64_MAX, 0, 2.5);
    xlist x = expect(&d, 1, o.from_ns, o.to_ns, 0, 2.5);
    ck_assert_int_eq(x.n, 1);
    ck_assert_int_eq(x.g[0].interval, 5 * SEC);
    ck_assert_int_eq(x.g[0].start, T0 + 300 * SEC);
    ck_assert_int_eq(x.g[0].missing, 20);
    check_gaps(db, &o, &x, NULL);
    free(x.g);
    /* one measurement alone: its own holes at 10 s */
    mdev r = {"u", 0, 0, 0};
    for (size_t i = 0; i < na; i++)
        m_add(&r, a[i]);
    o.measurement = "readings";
    x = expect(&r, 1, o.from_ns, o.to_ns, 0, 2.5);
    ck_assert_int_eq(x.n, 2);
    check_gaps(db, &o, &x, NULL);
    free(x.g);
    o.measurement = "nosuch";
    xlist none = {0};
    check_gaps(db, &o, &none, NULL);
    free(d.ts);
    free(r.ts);
    strata_db_close(db);
    tu_rmrf(dir);
    free(path);
    free(dir);
}
END_TEST

/* Series of one device on different strides from the same start (10 s and
 * 15 s), with a hole in both: their union is irregular (deltas of 5 and
 * 10 s) and must be merged time by time. */
START_TEST(test_union_of_strides)
{
    char *dir = tu_tmpdir(), *path = tu_path(dir, "db");
    strata_db *db = open_db(path);
    static int64_t a[1000], b[1000];
    static const int64_t h[] = {T0 + 900 * SEC, T0 + 1200 * SEC};
    size_t na = series(a, T0, T0 + 2 * HOUR, 10 * SEC, h, 1);
    size_t nb = series(b, T0, T0 + 2 * HOUR, 15 * SEC, h, 1);
    put(db, "m", "w", "x", a, na);
    put(db, "m", "w", "y", b, nb);
    ck_assert_int_eq(strata_db_flush(db), STRATA_OK);
    mdev d = {"w", 0, 0, 0};
    for (size_t i = 0; i < na; i++)
        m_add(&d, a[i]);
    for (size_t i = 0; i < nb; i++)
        m_add(&d, b[i]);
    static const int64_t iv[] = {0, 5 * SEC, 10 * SEC};
    for (size_t k = 0; k < 3; k++) {
        strata_gaps_options o = opts(INT64_MIN, INT64_MAX, iv[k], 1.5);
        xlist x = expect(&d, 1, o.from_ns, o.to_ns, iv[k], 1.5);
        ck_assert_uint_ge(x.n, 1);
        check_gaps(db, &o, &x, NULL);
        free(x.g);
    }
    free(d.ts);
    strata_db_close(db);
    tu_rmrf(dir);
    free(path);
    free(dir);
}
END_TEST

/* Shuffled writes with repeats over several flushes (overlapping segments,
 * the rest in the head) give the gaps of the clean stream. */
START_TEST(test_shuffled_duplicates)
{
    char *dir = tu_tmpdir(), *path = tu_path(dir, "db");
    strata_db *db = open_db(path);
    static const int64_t holes[] = {T0 + 1234 * SEC, T0 + 1500 * SEC, T0 + 2 * HOUR,
                                    T0 + 2 * HOUR + 300 * SEC};
    static int64_t ts[3 * 360], w[2 * 3 * 360];
    size_t n = series(ts, T0, T0 + 3 * HOUR, 10 * SEC, holes, 2);
    uint64_t rng = 7;
    size_t nw = 0;
    for (size_t i = 0; i < n; i++) {
        w[nw++] = ts[i];
        if (tu_rand(&rng) % 10 < 3)
            w[nw++] = ts[i];
    }
    for (size_t i = nw - 1; i > 0; i--) {
        size_t j = tu_rand(&rng) % (i + 1);
        int64_t t = w[i];
        w[i] = w[j];
        w[j] = t;
    }
    mdev d = {"s", 0, 0, 0};
    for (size_t off = 0; off < nw; off += 500) {
        size_t k = nw - off < 500 ? nw - off : 500;
        put(db, "m", "s", "v", w + off, k);
        for (size_t i = 0; i < k; i++)
            m_add(&d, w[off + i]);
        if (off + 500 < nw)
            ck_assert_int_eq(strata_db_flush(db), STRATA_OK);
    }
    for (int learned = 0; learned < 2; learned++) {
        strata_gaps_options o = opts(INT64_MIN, INT64_MAX, learned ? 0 : 10 * SEC, 1.5);
        xlist x = expect(&d, 1, o.from_ns, o.to_ns, o.interval_ns, 1.5);
        ck_assert_int_eq(x.n, 2);
        check_gaps(db, &o, &x, NULL);
        free(x.g);
    }
    free(d.ts);
    strata_db_close(db);
    tu_rmrf(dir);
    free(path);
    free(dir);
}
END_TEST

/* Jitter of up to ±2 s on a 10 s interval is no gap at tolerance 1.5; a
 * real hole is, with the learned interval close to 10 s. */
START_TEST(test_jitter)
{
    char *dir = tu_tmpdir(), *path = tu_path(dir, "db");
    strata_db *db = open_db(path);
    static int64_t ts[2000];
    uint64_t rng = 99;
    size_t n = 0;
    for (int64_t i = 0; i < 1000; i++) {
        if (i >= 500 && i < 520)
            continue;
        ts[n++] = T0 + i * 10 * SEC + ((int64_t)(tu_rand(&rng) % 4001) - 2000) * 1000000;
    }
    put(db, "m", "j", "v", ts, n);
    ck_assert_int_eq(strata_db_flush(db), STRATA_OK);
    mdev d = {"j", 0, 0, 0};
    for (size_t i = 0; i < n; i++)
        m_add(&d, ts[i]);
    for (int learned = 0; learned < 2; learned++) {
        strata_gaps_options o = opts(INT64_MIN, INT64_MAX, learned ? 0 : 10 * SEC, 1.5);
        xlist x = expect(&d, 1, o.from_ns, o.to_ns, o.interval_ns, 1.5);
        ck_assert_int_eq(x.n, 1);
        ck_assert_int_eq(x.g[0].missing, 20);
        check_gaps(db, &o, &x, NULL);
        free(x.g);
    }
    free(d.ts);
    strata_db_close(db);
    tu_rmrf(dir);
    free(path);
    free(dir);
}
END_TEST

/* A device silent at the end, one absent from the range (reports before
 * it), one whose reports all come after the range (not listed), and the
 * configured interval finer than the data (every step a gap) against the
 * learned one (none). */
START_TEST(test_silent_absent_learned)
{
    char *dir = tu_tmpdir(), *path = tu_path(dir, "db");
    strata_db *db = open_db(path);
    static int64_t t1[1000], t2[1000], t3[1000], t4[1000];
    size_t n1 = series(t1, T0, T0 + 2 * HOUR, 10 * SEC, NULL, 0);
    size_t n2 = series(t2, T0, T0 + 1 * HOUR, 10 * SEC, NULL, 0);
    size_t n3 = series(t3, T0 + 3 * HOUR, T0 + 4 * HOUR, 10 * SEC, NULL, 0);
    size_t n4 = series(t4, T0, T0 + 2 * HOUR, 60 * SEC, NULL, 0);
    put(db, "m", "a_ok", "v", t1, n1);
    put(db, "m", "b_gone", "v", t2, n2);
    put(db, "m", "c_late", "v", t3, n3);
    put(db, "m", "d_slow", "v", t4, n4);
    ck_assert_int_eq(strata_db_flush(db), STRATA_OK);
    mdev d[4] = {{"a_ok", 0, 0, 0}, {"b_gone", 0, 0, 0}, {"c_late", 0, 0, 0}, {"d_slow", 0, 0, 0}};
    for (size_t i = 0; i < n1; i++)
        m_add(&d[0], t1[i]);
    for (size_t i = 0; i < n2; i++)
        m_add(&d[1], t2[i]);
    for (size_t i = 0; i < n3; i++)
        m_add(&d[2], t3[i]);
    for (size_t i = 0; i < n4; i++)
        m_add(&d[3], t4[i]);
    /* range [1.5 h, 2.5 h): a_ok silent from 2 h, b_gone absent */
    strata_gaps_options o = opts(T0 + 3 * HOUR / 2, T0 + 5 * HOUR / 2, 10 * SEC, 1.5);
    xlist x = expect(d, 4, o.from_ns, o.to_ns, o.interval_ns, 1.5);
    check_gaps(db, &o, &x, NULL);
    ck_assert_int_eq(x.g[0].kind, STRATA_GAP_SILENT);
    ck_assert_int_eq(x.g[0].start, T0 + 2 * HOUR);
    ck_assert_int_eq(x.g[0].missing, 180);
    ck_assert_int_eq(x.g[1].kind, STRATA_GAP_ABSENT);
    ck_assert_int_eq(x.g[1].start, T0 + 3 * HOUR / 2);
    ck_assert_int_eq(x.g[1].missing, 360);
    free(x.g);
    /* learned: b_gone's interval from the hour before the range; d_slow's
     * 60 s steps are no gaps, only its silence after 2 h */
    o.interval_ns = 0;
    x = expect(d, 4, o.from_ns, o.to_ns, 0, 1.5);
    check_gaps(db, &o, &x, NULL);
    ck_assert_int_eq(x.n, 3);
    free(x.g);
    /* configured 10 s: each 60 s step of d_slow misses 5 reports */
    o = opts(T0, T0 + HOUR, 10 * SEC, 1.5);
    o.device = "d_slow";
    xlist y = expect(&d[3], 1, o.from_ns, o.to_ns, o.interval_ns, 1.5);
    ck_assert_int_eq(y.n, 60);
    ck_assert_int_eq(y.g[0].missing, 5);
    check_gaps(db, &o, &y, NULL);
    free(y.g);
    o.interval_ns = 0;
    xlist none = {0};
    check_gaps(db, &o, &none, NULL);
    /* open range: ends at the latest report (c_late's) */
    o = opts(INT64_MIN, INT64_MAX, 10 * SEC, 1.5);
    x = expect(d, 4, o.from_ns, o.to_ns, o.interval_ns, 1.5);
    check_gaps(db, &o, &x, NULL);
    free(x.g);
    /* a tighter tolerance */
    o.tolerance = 1.0;
    x = expect(d, 4, o.from_ns, o.to_ns, o.interval_ns, 1.0);
    check_gaps(db, &o, &x, NULL);
    free(x.g);
    for (int i = 0; i < 4; i++)
        free(d[i].ts);
    strata_db_close(db);
    tu_rmrf(dir);
    free(path);
    free(dir);
}
END_TEST

/* Random devices, holes, flushes and ranges against the model. */
START_TEST(test_random)
{
    uint64_t rng = 12345 + (uint64_t)_i;
    char *dir = tu_tmpdir(), *path = tu_path(dir, "db");
    strata_db *db = open_db(path);
    enum { ND = 3 };
    static char names[ND][8];
    mdev d[ND];
    for (int k = 0; k < ND; k++) {
        snprintf(names[k], sizeof names[k], "r%d", k);
        d[k] = (mdev){names[k], 0, 0, 0};
    }
    int64_t step = (int64_t)(1 + tu_rand(&rng) % 30) * SEC;
    static int64_t buf[4000];
    for (int round = 0; round < 4; round++) {
        for (int k = 0; k < ND; k++) {
            size_t n = 0;
            int64_t t = T0 + round * HOUR + (int64_t)(tu_rand(&rng) % 3) * step;
            while (t < T0 + (round + 1) * HOUR && n < 4000) {
                if (tu_rand(&rng) % 100 >= 3)
                    buf[n++] = t + (tu_rand(&rng) % 4 == 0 ? (int64_t)(tu_rand(&rng) % 1000) : 0);
                t += tu_rand(&rng) % 50 == 0 ? step * (int64_t)(2 + tu_rand(&rng) % 20) : step;
            }
            put(db, k % 2 ? "a" : "b", names[k], "v", buf, n);
            for (size_t i = 0; i < n; i++)
                m_add(&d[k], buf[i]);
        }
        if (tu_rand(&rng) % 4)
            ck_assert_int_eq(strata_db_flush(db), STRATA_OK);
    }
    for (int q = 0; q < 12; q++) {
        int64_t from = q % 3 == 0 ? INT64_MIN : T0 + (int64_t)(tu_rand(&rng) % (4 * 3600)) * SEC;
        int64_t to = q % 4 == 0 ? INT64_MAX
                                : (from == INT64_MIN ? T0 : from) +
                                      (int64_t)(1 + tu_rand(&rng) % (5 * 3600)) * SEC;
        int64_t iv = q % 2 ? 0 : step;
        double tol = q % 5 == 0 ? 2.25 : 1.5;
        strata_gaps_options o = opts(from, to, iv, tol);
        xlist x = expect(d, ND, from, to, iv, tol);
        check_gaps(db, &o, &x, NULL);
        free(x.g);
    }
    for (int k = 0; k < ND; k++)
        free(d[k].ts);
    strata_db_close(db);
    tu_rmrf(dir);
    free(path);
    free(dir);
}
END_TEST

START_TEST(test_bad_options)
{
    char *dir = tu_tmpdir(), *path = tu_path(dir, "db");
    strata_db *db = open_db(path);
    strata_gaps *g = (strata_gaps *)1;
    strata_gaps_options o = opts(INT64_MIN, INT64_MAX, 0, 0.5);
    ck_assert_int_eq(strata_gaps_open(db, &o, &g), STRATA_MISUSE);
    ck_assert_ptr_null(g);
    ck_assert_ptr_nonnull(strstr(strata_errmsg(db), "tolerance"));
    o = opts(INT64_MIN, INT64_MAX, -5, 1.5);
    ck_assert_int_eq(strata_gaps_open(db, &o, &g), STRATA_MISUSE);
    ck_assert_ptr_nonnull(strstr(strata_errmsg(db), "interval"));
    o = opts(T0, T0, 0, 1.5);
    ck_assert_int_eq(strata_gaps_open(db, &o, &g), STRATA_MISUSE);
    ck_assert_ptr_nonnull(strstr(strata_errmsg(db), "before"));
    ck_assert_int_eq(strata_gaps_open(NULL, NULL, &g), STRATA_MISUSE);
    /* an empty database: no rows */
    ck_assert_int_eq(strata_gaps_open(db, NULL, &g), STRATA_OK);
    strata_gap gap;
    ck_assert_int_eq(strata_gaps_next(g, &gap), STRATA_DONE);
    strata_gaps_close(g);
    strata_gaps_close(NULL);
    strata_db_close(db);
    tu_rmrf(dir);
    free(path);
    free(dir);
}
END_TEST

/* The i-th allocation of a search fails, for every i: STRATA_NOMEM (or a
 * complete, correct answer), nothing leaked (the sanitizer build checks),
 * and the database still answers correctly afterwards. */
START_TEST(test_alloc_failure)
{
    char *dir = tu_tmpdir(), *path = tu_path(dir, "db");
    strata_db *db = open_db(path);
    static const int64_t h[] = {T0 + 600 * SEC, T0 + 700 * SEC};
    static int64_t ts[800];
    size_t n = series(ts, T0, T0 + 2 * HOUR, 10 * SEC, h, 1);
    mdev d[2] = {{"a", 0, 0, 0}, {"b", 0, 0, 0}};
    put(db, "m", "a", "v", ts, n / 2);
    put(db, "m", "b", "v", ts, n);
    ck_assert_int_eq(strata_db_flush(db), STRATA_OK);
    put(db, "m", "a", "v", ts + n / 4, n - n / 4); /* overlaps a segment; the rest in the head */
    for (size_t i = 0; i < n; i++) {
        m_add(&d[0], ts[i]);
        m_add(&d[1], ts[i]);
    }
    for (int learned = 0; learned < 2; learned++) {
        strata_gaps_options o = opts(T0 + 650 * SEC, INT64_MAX, learned ? 0 : 10 * SEC, 1.5);
        xlist x = expect(d, 2, o.from_ns, o.to_ns, o.interval_ns, 1.5);
        ck_assert_int_eq(x.n, 2);
        for (long i = 1;; i++) {
            st_alloc_fail_at(i);
            strata_gaps *g = NULL;
            strata_gap gap;
            size_t got = 0;
            int rc = strata_gaps_open(db, &o, &g);
            while (rc == STRATA_OK && (rc = strata_gaps_next(g, &gap)) == STRATA_ROW) {
                TU_CHECK(got < x.n && gap.start_ns == x.g[got].start &&
                             gap.missing == x.g[got].missing,
                         "allocation %ld: gap %zu differs", i, got);
                got++;
                rc = STRATA_OK;
            }
            strata_gaps_close(g);
            long made = st_alloc_fail_at(0);
            TU_CHECK(rc == STRATA_DONE || rc == STRATA_NOMEM, "allocation %ld: %d %s", i, rc,
                     strata_errmsg(db));
            if (rc == STRATA_DONE)
                TU_CHECK(got == x.n, "allocation %ld: %zu gaps", i, got);
            if (made < i)
                break;
            ck_assert_int_lt(i, 100000);
        }
        check_gaps(db, &o, &x, NULL);
        free(x.g);
    }
    free(d[0].ts);
    free(d[1].ts);
    strata_db_close(db);
    tu_rmrf(dir);
    free(path);
    free(dir);
}
END_TEST

/* A damaged chunk whose times must be decoded is STRATA_CORRUPT naming the
 * file; the CLI exits 1 with that message. */
START_TEST(test_corrupt_chunk)
{
    char *dir = tu_tmpdir(), *path = tu_path(dir, "db");
    strata_db *db = open_db(path);
    static int64_t ts[180];
    uint64_t rng = 5;
    for (int i = 0; i < 180; i++) /* irregular: every chunk is decoded */
        ts[i] = T0 + i * 10 * SEC + (int64_t)(tu_rand(&rng) % 1000) * 1000000;
    put(db, "m", "c", "v", ts, 180);
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    char *segdir = tu_path(path, "seg"), *seg = tu_path(segdir, "0000000000000001.seg");
    size_t len;
    char *bytes = tu_read_file(seg, &len);
    ck_assert_msg(bytes != NULL, "no segment file %s", seg);
    bytes[64 + 5] ^= 0x40; /* inside the first chunk's stored bytes */
    tu_write_file(seg, bytes, len);
    free(bytes);
    db = open_db(path);
    strata_gaps_options o = opts(INT64_MIN, INT64_MAX, 10 * SEC, 1.5);
    strata_gaps *g;
    ck_assert_int_eq(strata_gaps_open(db, &o, &g), STRATA_OK);
    strata_gap gap;
    ck_assert_int_eq(strata_gaps_next(g, &gap), STRATA_CORRUPT);
    ck_assert_ptr_nonnull(strstr(strata_errmsg(db), ".seg"));
    ck_assert_int_eq(strata_gaps_next(g, &gap), STRATA_DONE);
    strata_gaps_close(g);
    strata_db_close(db);
    char *out, *err;
    int rc = tu_cli(ARGS("gaps", path), NULL, &out, &err);
    ck_assert_int_eq(rc, 1);
    ck_assert_ptr_nonnull(strstr(err, "checksum mismatch"));
    free(out);
    free(err);
    free(seg);
    free(segdir);
    tu_rmrf(dir);
    free(path);
    free(dir);
}
END_TEST

/* ---- the CLI -------------------------------------------------------------------- */

/* t1 every 10 s for 10 min with reports 2:00-2:50 missing; "t,2" stops at
 * 5:00; the range asked is [0, 10 min). */
static char *cli_db(char **dir)
{
    *dir = tu_tmpdir();
    char *path = tu_path(*dir, "db");
    strata_db *db = open_db(path);
    static const int64_t hole[] = {T0 + 120 * SEC, T0 + 180 * SEC};
    int64_t ts[60];
    size_t n = series(ts, T0, T0 + 600 * SEC, 10 * SEC, hole, 1);
    put(db, "m", "t1", "v", ts, n);
    n = series(ts, T0, T0 + 300 * SEC, 10 * SEC, NULL, 0);
    put(db, "m", "t,2", "v", ts, n);
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    return path;
}

START_TEST(test_cli_formats)
{
    char *dir, *path = cli_db(&dir), *out, *err;
    const char *range[] = {"--from", "2024-01-01T00:00:00Z", "--to", "2024-01-01T00:10:00Z"};
    int rc = tu_cli(ARGS("gaps", path, range[0], range[1], range[2], range[3]), NULL, &out, &err);
    ck_assert_msg(rc == 0, "%s", err);
    ck_assert_str_eq(out, "device  start                 end                   missing  interval"
                          "  kind\n"
                          "------  --------------------  --------------------  -------  --------"
                          "  ------\n"
                          "t,2     2024-01-01T00:05:00Z  2024-01-01T00:10:00Z       30  10s     "
                          "  silent\n"
                          "t1      2024-01-01T00:02:00Z  2024-01-01T00:03:00Z        6  10s     "
                          "  gap\n");
    ck_assert_str_eq(err, "");
    free(out);
    free(err);
    rc = tu_cli(ARGS("gaps", path, range[0], range[1], range[2], range[3], "--format", "csv",
                     "--interval", "10s"),
                NULL, &out, &err);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(out, "device,start,end,missing,interval,kind\n"
                          "\"t,2\",2024-01-01T00:05:00Z,2024-01-01T00:10:00Z,30,10s,silent\n"
                          "t1,2024-01-01T00:02:00Z,2024-01-01T00:03:00Z,6,10s,gap\n");
    free(out);
    free(err);
    rc = tu_cli(ARGS("gaps", path, "--to", "2024-01-01T00:10:00Z", "--format", "json", "--device",
                     "t1", "--interval", "5s", "--tolerance", "2.5"),
                NULL, &out, &err);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(out, "[\n{\"device\": \"t1\", \"start\": \"2024-01-01T00:01:55Z\", \"end\": "
                          "\"2024-01-01T00:03:00Z\", \"missing\": 13, \"interval\": \"5s\", "
                          "\"kind\": \"gap\"}\n]\n");
    free(out);
    free(err);
    rc = tu_cli(ARGS("gaps", path, "--format", "json", "--device", "t1", "--interval", "1m"), NULL,
                &out, &err);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(out, "[]\n");
    free(out);
    free(err);
    rc = tu_cli(ARGS("gaps", path, "--device", "nobody"), NULL, &out, &err);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(err, "strata: warning: no device 'nobody'\n");
    free(out);
    free(err);
    tu_rmrf(dir);
    free(path);
    free(dir);
}
END_TEST

START_TEST(test_cli_errors)
{
    char *dir, *path = cli_db(&dir);
    static const struct {
        const char *a, *b, *msg;
    } bad[] = {
        {"--tolerance", "0.9", "strata: --tolerance: '0.9' is not a number from 1 to 1000000\n"},
        {"--tolerance", "1.5x", "strata: --tolerance: '1.5x' is not a number from 1 to 1000000\n"},
        {"--interval", "10",
         "strata: --interval: '10' is not a positive duration (e.g. 10s, 1m, "
         "1h30m)\n"},
        {"--interval", "0s",
         "strata: --interval: '0s' is not a positive duration (e.g. 10s, 1m, "
         "1h30m)\n"},
        {"--from", "yesterday",
         "strata: --from: 'yesterday' is not a time (RFC 3339 or integer "
         "ns)\n"},
        {"--format", "xml", "strata: --format must be table, csv or json, not 'xml'\n"},
        {"--device", "", "strata: gaps: --device and --measurement need a non-empty name\n"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *out, *err;
        int rc = tu_cli(ARGS("gaps", path, bad[i].a, bad[i].b), NULL, &out, &err);
        ck_assert_msg(rc == 2, "%s %s: exit %d", bad[i].a, bad[i].b, rc);
        ck_assert_str_eq(err, bad[i].msg);
        ck_assert_str_eq(out, "");
        free(out);
        free(err);
    }
    char *out, *err;
    int rc =
        tu_cli(ARGS("gaps", path, "--from", "2024-01-02", "--to", "2024-01-01"), NULL, &out, &err);
    ck_assert_int_eq(rc, 2);
    ck_assert_str_eq(err, "strata: gaps: --from must be before --to\n");
    free(out);
    free(err);
    rc = tu_cli(ARGS("gaps", path, "--bogus"), NULL, &out, &err);
    ck_assert_int_eq(rc, 2);
    ck_assert_ptr_nonnull(strstr(err, "strata: gaps: unknown option '--bogus'\n"));
    free(out);
    free(err);
    rc = tu_cli(ARGS("gaps", path, "--interval"), NULL, &out, &err);
    ck_assert_int_eq(rc, 2);
    ck_assert_ptr_nonnull(strstr(err, "strata: gaps: --interval needs a value\n"));
    free(out);
    free(err);
    rc = tu_cli(ARGS("gaps"), NULL, &out, &err);
    ck_assert_int_eq(rc, 2);
    ck_assert_ptr_nonnull(strstr(err, "give exactly one database directory"));
    free(out);
    free(err);
    char *missing = tu_path(dir, "nope");
    rc = tu_cli(ARGS("gaps", missing), NULL, &out, &err);
    ck_assert_int_eq(rc, 1);
    free(out);
    free(err);
    free(missing);
    rc = tu_cli(ARGS("gaps", "--help"), NULL, &out, &err);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_nonnull(strstr(out, "usage: strata gaps <db>"));
    free(out);
    free(err);
    tu_rmrf(dir);
    free(path);
    free(dir);
}
END_TEST

/* A search from the top of time over a device whose reports lie in 1677
 * and 1969 and are still in memory: the last report before `from` is sought in
 * doubling windows, which could not cover a span wider than INT64_MAX and
 * repeated the widest one forever.  Found by tests/fuzz/fuzz_ops. */
START_TEST(test_from_the_top_of_time)
{
    char *dir = tu_tmpdir(), *path = tu_path(dir, "db");
    strata_db *db = open_db(path);
    /* both reports before 0: the widest window, [from - INT64_MAX, from),
     * holds neither */
    const int64_t ts[2] = {INT64_MIN + 10, -1000000000LL};
    put(db, "m", "d1", "x", ts, 2);
    strata_gaps_options o = opts(INT64_MAX - 1, INT64_MAX, HOUR, 1.5);
    strata_gaps *g;
    ck_assert_int_eq(strata_gaps_open(db, &o, &g), STRATA_OK);
    strata_gap gap;
    int rc, n = 0;
    while ((rc = strata_gaps_next(g, &gap)) == STRATA_ROW) {
        TU_CHECK(!strcmp(gap.device, "d1") && gap.last_ns == ts[1], "gap after %lld",
                 (long long)gap.last_ns);
        n++;
    }
    ck_assert_int_eq(rc, STRATA_DONE);
    ck_assert_int_le(n, 1);
    strata_gaps_close(g);
    strata_db_close(db);
    tu_rmrf(dir);
    free(path);
    free(dir);
}
END_TEST

Suite *gaps_suite(void); /* found by the runner (suites.h) */
Suite *gaps_suite(void)
{
    Suite *s = suite_create("gaps");
    TCase *tc = tcase_create("gaps");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_regular_needs_no_decoding);
    tcase_add_test(tc, test_holes_at_edges);
    tcase_add_test(tc, test_union_of_measurements);
    tcase_add_test(tc, test_union_of_strides);
    tcase_add_test(tc, test_shuffled_duplicates);
    tcase_add_test(tc, test_jitter);
    tcase_add_test(tc, test_silent_absent_learned);
    tcase_add_loop_test(tc, test_random, 0, 6);
    tcase_add_test(tc, test_bad_options);
    tcase_add_test(tc, test_alloc_failure);
    tcase_add_test(tc, test_corrupt_chunk);
    tcase_add_test(tc, test_cli_formats);
    tcase_add_test(tc, test_cli_errors);
    tcase_add_test(tc, test_from_the_top_of_time);
    suite_add_tcase(s, tc);
    return s;
}
