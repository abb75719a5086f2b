/*
 * check_query.c — the query layer against answers computed independently
 * in this file from a model of the data (every series as a map from time
 * to its last written value): every aggregate, over buckets that cross
 * chunk and partition edges, with data split between segments and the
 * in-memory head, out of order and duplicated; tag and field conditions,
 * grouping, FILL, ORDER BY, LIMIT, raw rows, EXPLAIN, NaN handling, and bad
 * queries with their error text.
 *
 * Float results are compared with a relative tolerance of 1e-9 (sums in a
 * different order round differently); counts, minima, maxima, first, last,
 * medians and percentiles exactly.  Expected sums use long double.
 */
#include "tests/testutil.h"

#include "engine/catalog.h"
#include "query/index.h"

#include "strata.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NDEV 4
#define HOUR 3600000000000LL
#define DAY (24 * HOUR)
#define T0 (1704110400000000000LL) /* 2024-01-01T12:00:00Z */

/* ---- the model ---------------------------------------------------------------- */

typedef struct pt {
    int64_t ts;
    double v;     /* float field f; int field i as double; bool b as 0/1 */
    uint64_t seq; /* write order */
} pt;

typedef struct mseries {
    pt *p;
    size_t n, cap;
} mseries;

/* [device][field]: f (float64), i (int64), b (bool) */
static mseries model[NDEV][3];
static const char *dev_grp[NDEV] = {"a", "a", "b", "b"};
static char *dbdir;
static strata_db *db;
static uint64_t seq;

static void m_put(mseries *s, int64_t ts, double v)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->p = realloc(s->p, s->cap * sizeof *s->p);
    }
    s->p[s->n++] = (pt){ts, v, seq++};
}

static int cmp_pt(const void *a, const void *b)
{
    const pt *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sort by time; of several writes of one timestamp keep the last. */
static void m_settle(mseries *s)
{
    qsort(s->p, s->n, sizeof *s->p, cmp_pt);
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (i + 1 < s->n && s->p[i + 1].ts == s->p[i].ts)
            continue;
        s->p[k++] = s->p[i];
    }
    s->n = k;
}

static double fval(int d, int64_t k)
{
    /* decimal-looking values, a NaN now and then on device 3 */
    if (d == 3 && k % 97 == 5)
        return NAN;
    return round((20.0 + 10.0 * sin((double)k / 37.0 + d) + (double)(k % 7) * 0.1) * 10.0) / 10.0;
}

/* One point into the model and, when b is given, into the batch. */
static void point(strata_batch *b, int d, int64_t ts, int64_t k)
{
    double f = fval(d, k);
    int64_t iv = (k * 7919 + d) % 1000 - 300;
    int bv = (k + d) % 3 == 0;
    m_put(&model[d][0], ts, f);
    m_put(&model[d][1], ts, (double)iv);
    m_put(&model[d][2], ts, bv);
    if (!b)
        return;
    char dev[8];
    snprintf(dev, sizeof dev, "d%d", d);
    TU_CHECK(strata_batch_point(b, "m", ts) == STRATA_OK &&
                 strata_batch_tag(b, "dev", dev) == STRATA_OK &&
                 strata_batch_tag(b, "grp", dev_grp[d]) == STRATA_OK &&
                 strata_batch_f64(b, "f", f) == STRATA_OK &&
                 strata_batch_i64(b, "i", iv) == STRATA_OK &&
                 strata_batch_bool(b, "b", bv) == STRATA_OK,
             "adding a point");
}

/* Three days of 10 s data (devices 0-2), 7 s data with gaps (device 3),
 * out of order and rewritten in places; with a database, the first part is
 * flushed to segments and the rest written to the log only. */
static void generate(strata_db *wdb)
{
    strata_batch *b = NULL;
    if (wdb)
        ck_assert_int_eq(strata_batch_new(wdb, &b), STRATA_OK);
    uint64_t rnd = 99;
    for (int64_t k = 0; k < 3 * 8640; k++) {
        for (int d = 0; d < 3; d++)
            point(b, d, T0 + k * 10000000000LL, k);
        if (k % 3 == 0 && (k / 1000) % 3 != 1)
            point(b, 3, T0 + k * 7000000000LL + 1000000, k);
        if (k % 5000 == 4999 && wdb) {
            ck_assert_int_eq(strata_db_write(wdb, b), STRATA_OK);
            strata_batch_clear(b);
            if (k < 20000)
                ck_assert_int_eq(strata_db_flush(wdb), STRATA_OK);
        }
    }
    /* late, out-of-order rewrites into flushed time ranges */
    for (int r = 0; r < 500; r++) {
        int64_t k = (int64_t)(tu_rand(&rnd) % 20000);
        int d = (int)(tu_rand(&rnd) % 3);
        point(b, d, T0 + k * 10000000000LL, k + 1000000);
    }
    if (wdb) {
        ck_assert_int_eq(strata_db_write(wdb, b), STRATA_OK);
        strata_batch_free(b);
    }
}

/* Once: a child process writes the database and dies without closing it
 * (its unflushed part stays in the log); this process builds the model. */
static void setup_once(void)
{
    dbdir = tu_tmpdir();
    pid_t pid = tu_fork();
    if (pid == 0) {
        strata_options o;
        strata_options_init(&o);
        o.create_if_missing = 1;
        o.sync = STRATA_SYNC_ALWAYS;
        strata_db *w;
        if (strata_db_open(dbdir, &o, &w) != STRATA_OK)
            _exit(1);
        generate(w);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    generate(NULL);
    for (int d = 0; d < NDEV; d++)
        for (int f = 0; f < 3; f++)
            m_settle(&model[d][f]);
}

static void teardown_once(void)
{
    if (!getenv("KEEPDB"))
        tu_rmrf(dbdir);
    free(dbdir);
    for (int d = 0; d < NDEV; d++)
        for (int f = 0; f < 3; f++) {
            free(model[d][f].p);
            memset(&model[d][f], 0, sizeof model[d][f]);
        }
}

/* Per test (in its own process): open read-only; the log's points are
 * replayed into the head. */
static void open_db(void)
{
    strata_options o;
    strata_options_init(&o);
    o.read_only = 1;
    ck_assert_int_eq(strata_db_open(dbdir, &o, &db), STRATA_OK);
    strata_stats st;
    strata_db_stats(db, &st);
    ck_assert_uint_gt(st.head_points, 0);
    ck_assert_uint_gt(st.segments, 1);
}

static void close_db(void)
{
    strata_db_close(db);
    db = NULL;
}

/* ---- independent aggregates ------------------------------------------------------ */

enum { A_COUNT, A_SUM, A_MEAN, A_MIN, A_MAX, A_FIRST, A_LAST, A_SPREAD, A_STDDEV, A_MEDIAN,
       A_P90, A_INTEGRAL, A_DERIV, A_RATE };

typedef struct exp_val {
    int null;
    double v;
} exp_val;

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Aggregate the points of the given series (each in time order) that fall
 * in [lo, hi). */
static exp_val expect(int agg, mseries *const *ss, int nss, int64_t lo, int64_t hi)
{
    long double sum = 0, area = 0, deriv = 0;
    double *vals = malloc(200000 * sizeof *vals);
    size_t n = 0, count = 0;
    int64_t ft = 0, lt = 0;
    double fv = 0, lv = 0;
    int have = 0, nderiv = 0;
    for (int s = 0; s < nss; s++) {
        int64_t pt_ = 0, first_t = 0;
        double pv = 0, first_v = 0, inc = 0;
        int sh = 0;
        for (size_t i = 0; i < ss[s]->n; i++) {
            const pt *p = &ss[s]->p[i];
            if (p->ts < lo || p->ts >= hi)
                continue;
            count++;
            if (!have || p->ts < ft)
                ft = p->ts, fv = p->v;
            if (!have || p->ts >= lt)
                lt = p->ts, lv = p->v;
            have = 1;
            if (isnan(p->v))
                continue;
            vals[n++] = p->v;
            sum += p->v;
            if (sh) {
                area += (long double)(p->v + pv) / 2 * (long double)(p->ts - pt_);
                inc += p->v >= pv ? p->v - pv : p->v;
            } else {
                first_t = p->ts;
                first_v = p->v;
            }
            sh = 1;
            pt_ = p->ts;
            pv = p->v;
        }
        if (sh && pt_ > first_t) {
            deriv += (agg == A_RATE ? inc : pv - first_v) / (long double)(pt_ - first_t);
            nderiv++;
        }
    }
    exp_val r = {1, 0};
    if (agg == A_COUNT) {
        r = (exp_val){0, (double)count};
    } else if (agg == A_FIRST && have) {
        r = (exp_val){0, fv};
    } else if (agg == A_LAST && have) {
        r = (exp_val){0, lv};
    } else if (n) {
        qsort(vals, n, sizeof *vals, cmp_d);
        switch (agg) {
        case A_SUM: r = (exp_val){0, (double)sum}; break;
        case A_MEAN: r = (exp_val){0, (double)(sum / n)}; break;
        case A_MIN: r = (exp_val){0, vals[0]}; break;
        case A_MAX: r = (exp_val){0, vals[n - 1]}; break;
        case A_SPREAD: r = (exp_val){0, vals[n - 1] - vals[0]}; break;
        case A_MEDIAN:
            r = (exp_val){0, n % 2 ? vals[n / 2] : (vals[n / 2 - 1] + vals[n / 2]) / 2};
            break;
        case A_P90: {
            size_t rank = (size_t)ceil(0.9 * (double)n);
            r = (exp_val){0, vals[rank ? rank - 1 : 0]};
            break;
        }
        case A_STDDEV:
            if (n >= 2) {
                long double mean = sum / n, m2 = 0;
                for (size_t i = 0; i < n; i++)
                    m2 += ((long double)vals[i] - mean) * ((long double)vals[i] - mean);
                r = (exp_val){0, (double)sqrtl(m2 / (n - 1))};
            }
            break;
        case A_INTEGRAL: r = (exp_val){0, (double)(area / 1e9L)}; break;
        case A_DERIV:
        case A_RATE:
            if (nderiv)
                r = (exp_val){0, (double)(deriv * 1e9L)};
            break;
        }
    }
    free(vals);
    return r;
}

static const char *agg_sql[] = {"count", "sum",  "mean",   "min",       "max",
                                "first", "last", "spread", "stddev",    "median",
                                "percentile", "integral", "derivative", "rate"};

static void check_value(const char *what, int exact, exp_val e, strata_query *q, int col)
{
    int t = strata_query_column_type(q, col);
    if (e.null) {
        TU_CHECK(t == STRATA_COL_NULL, "%s: expected null, got type %d (%g)", what, t,
                 strata_query_column_f64(q, col));
        return;
    }
    TU_CHECK(t != STRATA_COL_NULL, "%s: expected %.17g, got null", what, e.v);
    double got = strata_query_column_f64(q, col);
    if (exact)
        TU_CHECK(got == e.v || (isnan(got) && isnan(e.v)), "%s: expected %.17g, got %.17g", what,
                 e.v, got);
    else
        TU_CHECK(fabs(got - e.v) <= 1e-9 * fmax(1.0, fabs(e.v)), "%s: expected %.17g, got %.17g",
                 what, e.v, got);
}

static strata_query *prepare(const char *text)
{
    strata_query *q;
    int rc = strata_query_prepare(db, text, &q);
    ck_assert_msg(rc == STRATA_OK, "prepare %s: %s", text, strata_errmsg(db));
    return q;
}

/* Every aggregate of field fi over hourly buckets (with an offset) for one
 * device, over a range that crosses partition and flush boundaries. */
static void hourly_all_aggs(int d, int fi, int64_t offset)
{
    static const char *fields[] = {"f", "i", "b"};
    int64_t lo = T0 + 5 * HOUR + 1234, hi = T0 + 40 * HOUR + 99;
    for (int agg = 0; agg <= A_RATE; agg++) {
        if (fi == 2 && agg >= A_SPREAD && agg != A_COUNT)
            continue; /* bools: count/sum/mean/min/max/first/last only */
        char text[512];
        snprintf(text, sizeof text,
                 "SELECT %s(%s%s) FROM m WHERE dev = 'd%d' AND time >= %lld AND time < %lld "
                 "GROUP BY time(1h, %lldm)",
                 agg_sql[agg], fields[fi], agg == A_P90 ? ", 90" : "", d, (long long)lo,
                 (long long)hi, (long long)(offset / 60000000000LL));
        strata_query *q = prepare(text);
        mseries *ss[1] = {&model[d][fi]};
        int64_t b = lo - ((lo - offset) % HOUR + HOUR) % HOUR;
        int rows = 0;
        while (strata_query_step(q) == STRATA_ROW) {
            int64_t t = strata_query_column_i64(q, 0);
            TU_CHECK(t == b, "%s: bucket %lld, expected %lld", text, (long long)t, (long long)b);
            int64_t blo = b < lo ? lo : b, bhi = b + HOUR > hi ? hi : b + HOUR;
            exp_val e = expect(agg, ss, 1, blo, bhi);
            char what[700];
            snprintf(what, sizeof what, "%s @%lld", text, (long long)b);
            int exact = agg == A_COUNT || agg == A_MIN || agg == A_MAX || agg == A_FIRST ||
                        agg == A_LAST || agg == A_MEDIAN || agg == A_P90 ||
                        (fi != 0 && agg == A_SUM);
            check_value(what, exact, e, q, 1);
            b += HOUR;
            rows++;
        }
        ck_assert_int_eq(rows, (int)((hi - 1 - (lo - ((lo - offset) % HOUR + HOUR) % HOUR)) / HOUR) + 1);
        strata_query_finalize(q);
    }
}

START_TEST(test_every_aggregate_hourly)
{
    for (int d = 0; d < NDEV; d++)
        hourly_all_aggs(d, 0, 0);
    hourly_all_aggs(0, 1, 0);
    hourly_all_aggs(2, 2, 0);
    hourly_all_aggs(3, 0, 15 * 60000000000LL);
    hourly_all_aggs(1, 1, 45 * 60000000000LL);
}
END_TEST

/* Grouped by a tag over several devices, and by everything. */
START_TEST(test_group_by_tags)
{
    strata_query *q = prepare("SELECT mean(f), max(i), count(b) FROM m WHERE time >= '2024-01-02T00:00:00Z' "
                              "AND time < '2024-01-02T06:00:00Z' GROUP BY time(2h), grp");
    ck_assert_int_eq(strata_query_column_count(q), 5);
    ck_assert_str_eq(strata_query_column_name(q, 1), "grp");
    ck_assert_str_eq(strata_query_column_name(q, 2), "mean(f)");
    int64_t lo = T0 + 12 * HOUR;
    int rows = 0;
    while (strata_query_step(q) == STRATA_ROW) {
        const char *g = strata_query_column_text(q, 1);
        int64_t b = strata_query_column_i64(q, 0);
        mseries *f[2], *i[2], *bb[2];
        int n = 0;
        for (int d = 0; d < NDEV; d++)
            if (!strcmp(dev_grp[d], g)) {
                f[n] = &model[d][0];
                i[n] = &model[d][1];
                bb[n++] = &model[d][2];
            }
        check_value("grouped mean", 0, expect(A_MEAN, f, n, b, b + 2 * HOUR), q, 2);
        check_value("grouped max", 1, expect(A_MAX, i, n, b, b + 2 * HOUR), q, 3);
        check_value("grouped count", 1, expect(A_COUNT, bb, n, b, b + 2 * HOUR), q, 4);
        TU_CHECK(b >= lo && b < lo + 6 * HOUR, "bucket out of range");
        rows++;
    }
    ck_assert_int_eq(rows, 2 * 3);
    strata_query_finalize(q);

    q = prepare("SELECT count(f) FROM m GROUP BY *");
    ck_assert_int_eq(strata_query_column_count(q), 4); /* time, dev, grp, count */
    int d = 0;
    while (strata_query_step(q) == STRATA_ROW) {
        char dev[8];
        snprintf(dev, sizeof dev, "d%d", d);
        ck_assert_str_eq(strata_query_column_text(q, 1), dev);
        ck_assert_str_eq(strata_query_column_text(q, 2), dev_grp[d]);
        ck_assert_int_eq(strata_query_column_i64(q, 3), (int64_t)model[d][0].n);
        d++;
    }
    ck_assert_int_eq(d, NDEV);
    strata_query_finalize(q);
}
END_TEST

START_TEST(test_tag_and_field_conditions)
{
    struct {
        const char *where;
        int devs[NDEV];
    } cases[] = {
        {"dev = 'd1'", {0, 1, 0, 0}},       {"dev != 'd1'", {1, 0, 1, 1}},
        {"dev =~ /d[02]/", {1, 0, 1, 0}},   {"dev !~ /^d[02]$/", {0, 1, 0, 1}},
        {"grp = 'b' AND dev != 'd3'", {0, 0, 1, 0}}, {"nosuchtag = ''", {1, 1, 1, 1}},
        {"dev = 'nope'", {0, 0, 0, 0}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char text[256];
        snprintf(text, sizeof text, "SELECT sum(i) FROM m WHERE %s", cases[c].where);
        strata_query *q = prepare(text);
        mseries *ss[NDEV];
        int n = 0;
        for (int d = 0; d < NDEV; d++)
            if (cases[c].devs[d])
                ss[n++] = &model[d][1];
        if (n) {
            ck_assert_int_eq(strata_query_step(q), STRATA_ROW);
            check_value(text, 1, expect(A_SUM, ss, n, INT64_MIN, INT64_MAX), q, 1);
        }
        ck_assert_int_eq(strata_query_step(q), STRATA_DONE);
        strata_query_finalize(q);
    }
    /* a field condition filters points, here on another field of the row */
    strata_query *q = prepare("SELECT count(f), sum(f) FROM m WHERE dev = 'd0' AND i > 200");
    size_t n = 0;
    long double sum = 0;
    for (size_t k = 0; k < model[0][0].n; k++) {
        /* rows are joined on time: the i of the same timestamp */
        const pt *fp = &model[0][0].p[k];
        for (size_t j = 0; j < model[0][1].n; j++)
            if (model[0][1].p[j].ts == fp->ts) {
                if (model[0][1].p[j].v > 200) {
                    n++;
                    sum += fp->v;
                }
                break;
            }
    }
    ck_assert_int_eq(strata_query_step(q), STRATA_ROW);
    ck_assert_int_eq(strata_query_column_i64(q, 1), (int64_t)n);
    check_value("sum where i > 200", 0, (exp_val){0, (double)sum}, q, 2);
    strata_query_finalize(q);
}
END_TEST

/* FILL, ORDER BY DESC, LIMIT, empty ranges. */
START_TEST(test_fill_order_limit)
{
    /* device 3 has gaps of several hours: (k / 1000) % 3 == 1 */
    const char *base = "SELECT max(f) FROM m WHERE dev = 'd3' AND time >= '2024-01-01T12:00:00Z' AND "
                       "time < '2024-01-03T12:00:00Z' GROUP BY time(1h)";
    char text[512];
    const char *fills[] = {"", " FILL(none)", " FILL(null)", " FILL(-1)", " FILL(previous)",
                           " FILL(linear)"};
    int nulls[6], rows[6];
    double lin_sum = 0, val[6][48];
    int isnull[6][48];
    for (int k = 0; k < 6; k++) {
        snprintf(text, sizeof text, "%s%s", base, fills[k]);
        strata_query *q = prepare(text);
        nulls[k] = rows[k] = 0;
        while (strata_query_step(q) == STRATA_ROW) {
            ck_assert_int_lt(rows[k], 48);
            int t = strata_query_column_type(q, 1), i = rows[k]++;
            isnull[k][i] = t == STRATA_COL_NULL;
            if (t == STRATA_COL_NULL) {
                nulls[k]++;
                continue;
            }
            double v = val[k][i] = strata_query_column_f64(q, 1);
            if (k == 3 && v == -1)
                nulls[k]++;
            if (k == 5)
                lin_sum += v;
        }
        strata_query_finalize(q);
    }
    /* FILL(linear): each empty bucket on the line between the nearest
     * buckets with values (FILL(null)'s rows) on either side */
    for (int i = 0; i < 48; i++) {
        if (!isnull[2][i]) {
            TU_CHECK(!isnull[5][i] && val[5][i] == val[2][i], "linear, bucket %d kept", i);
            continue;
        }
        int l = i, r = i;
        while (l >= 0 && isnull[2][l])
            l--;
        while (r < 48 && isnull[2][r])
            r++;
        if (l < 0 || r >= 48) {
            TU_CHECK(isnull[5][i], "linear, bucket %d outside the known range", i);
            continue;
        }
        double want = val[2][l] + (val[2][r] - val[2][l]) * ((double)(i - l) / (double)(r - l));
        TU_CHECK(!isnull[5][i] && val[5][i] == want, "linear, bucket %d: %.17g, want %.17g", i,
                 val[5][i], want);
    }
    /* the same with ten empty years in front: one run of 87,000 buckets
     * stays NULL (no value before it), the day is filled as above */
    strata_query *lq =
        prepare("SELECT max(f) FROM m WHERE dev = 'd3' AND time >= '2014-01-01T12:00:00Z' "
                "AND time < '2024-01-03T12:00:00Z' GROUP BY time(1h) FILL(linear)");
    int64_t at = 0, lead = (T0 - 1388577600000000000LL) / HOUR;
    while (strata_query_step(lq) == STRATA_ROW) {
        int nul = strata_query_column_type(lq, 1) == STRATA_COL_NULL;
        if (at < lead)
            TU_CHECK(nul, "ten years before: bucket %lld", (long long)at);
        else
            TU_CHECK(at - lead < 48 && nul == isnull[5][at - lead] &&
                         (nul || strata_query_column_f64(lq, 1) == val[5][at - lead]),
                     "ten years before: bucket %lld of the day", (long long)(at - lead));
        at++;
    }
    ck_assert_int_eq(at, lead + 48);
    strata_query_finalize(lq);
    ck_assert_int_eq(rows[0], 48);
    ck_assert_int_gt(nulls[0], 0);
    ck_assert_int_eq(nulls[0], nulls[2]);
    ck_assert_int_eq(rows[1], 48 - nulls[0]);
    ck_assert_int_eq(nulls[1], 0);
    ck_assert_int_eq(nulls[3], nulls[0]);
    ck_assert_int_eq(nulls[4], 0);
    ck_assert_int_eq(rows[5], 48);
    ck_assert_int_eq(nulls[5], 0); /* interior gaps interpolated */
    ck_assert(isfinite(lin_sum));

    /* ORDER BY time DESC LIMIT 3: the last three buckets, newest first */
    strata_query *q = prepare("SELECT count(f) FROM m WHERE dev = 'd0' AND time >= '2024-01-01T12:00:00Z' AND "
                              "time < '2024-01-02T12:00:00Z' GROUP BY time(1h) ORDER BY time DESC LIMIT 3");
    int64_t want = T0 + 23 * HOUR;
    int r = 0;
    while (strata_query_step(q) == STRATA_ROW) {
        ck_assert_int_eq(strata_query_column_i64(q, 0), want);
        want -= HOUR;
        r++;
    }
    ck_assert_int_eq(r, 3);
    strata_query_finalize(q);
    /* empty ranges give no rows */
    q = prepare("SELECT mean(f) FROM m WHERE time >= '2030-01-01T00:00:00Z'");
    ck_assert_int_eq(strata_query_step(q), STRATA_DONE);
    strata_query_finalize(q);
    q = prepare("SELECT mean(f) FROM m WHERE time >= 100 AND time < 100 GROUP BY time(1h)");
    ck_assert_int_eq(strata_query_step(q), STRATA_DONE);
    strata_query_finalize(q);
    q = prepare("SELECT mean(f) FROM nosuchmeasurement GROUP BY time(1h)");
    ck_assert_int_eq(strata_query_step(q), STRATA_DONE);
    strata_query_finalize(q);
}
END_TEST

/* Raw rows: fields joined on time, groups merged by time, DESC, LIMIT. */
START_TEST(test_raw_rows)
{
    strata_query *q = prepare("SELECT f, i, b FROM m WHERE dev = 'd1' AND time >= '2024-01-02T00:00:00Z' "
                              "AND time < '2024-01-02T01:00:00Z'");
    ck_assert_int_eq(strata_query_column_count(q), 4);
    size_t k = 0;
    while (k < model[1][0].n && model[1][0].p[k].ts < T0 + 12 * HOUR)
        k++;
    int rows = 0;
    while (strata_query_step(q) == STRATA_ROW) {
        TU_CHECK(strata_query_column_i64(q, 0) == model[1][0].p[k].ts, "raw time");
        TU_CHECK(strata_query_column_f64(q, 1) == model[1][0].p[k].v, "raw f");
        TU_CHECK(strata_query_column_type(q, 2) == STRATA_COL_I64 &&
                     strata_query_column_i64(q, 2) == (int64_t)model[1][1].p[k].v,
                 "raw i");
        TU_CHECK(strata_query_column_type(q, 3) == STRATA_COL_BOOL &&
                     strata_query_column_i64(q, 3) == (int64_t)model[1][2].p[k].v,
                 "raw b");
        k++;
        rows++;
    }
    ck_assert_int_eq(rows, 360);
    strata_query_finalize(q);
    /* DESC LIMIT per group */
    q = prepare("SELECT f FROM m WHERE dev =~ /d[01]/ GROUP BY dev ORDER BY time DESC LIMIT 2");
    int n = 0;
    while (strata_query_step(q) == STRATA_ROW) {
        int d = strata_query_column_text(q, 1)[1] - '0';
        const mseries *s = &model[d][0];
        ck_assert_int_eq(strata_query_column_i64(q, 0), s->p[s->n - 1 - (size_t)(n % 2)].ts);
        n++;
    }
    ck_assert_int_eq(n, 4);
    strata_query_finalize(q);
    /* merged over devices: times never decrease */
    q = prepare("SELECT f FROM m WHERE time < '2024-01-01T13:00:00Z'");
    int64_t prev = INT64_MIN;
    n = 0;
    while (strata_query_step(q) == STRATA_ROW) {
        int64_t t = strata_query_column_i64(q, 0);
        TU_CHECK(t >= prev, "raw merge out of order");
        prev = t;
        n++;
    }
    size_t want = 0;
    for (int d = 0; d < NDEV; d++)
        for (size_t i = 0; i < model[d][0].n; i++)
            want += model[d][0].p[i].ts < T0 + HOUR;
    ck_assert_int_eq(n, (int)want);
    strata_query_finalize(q);
}
END_TEST

/* last(*) per device: the time is the point's; values the newest. */
START_TEST(test_last_per_device)
{
    strata_query *q = prepare("SELECT last(*) FROM m GROUP BY dev");
    ck_assert_int_eq(strata_query_column_count(q), 5); /* time dev last(b) last(f) last(i) */
    ck_assert_str_eq(strata_query_column_name(q, 2), "last(b)");
    int d = 0;
    while (strata_query_step(q) == STRATA_ROW) {
        const mseries *f = &model[d][0], *i = &model[d][1];
        ck_assert_int_eq(strata_query_column_i64(q, 0), f->p[f->n - 1].ts);
        double want = f->p[f->n - 1].v, got = strata_query_column_f64(q, 3);
        ck_assert(got == want || (isnan(got) && isnan(want)));
        ck_assert_int_eq(strata_query_column_i64(q, 4), (int64_t)i->p[i->n - 1].v);
        d++;
    }
    ck_assert_int_eq(d, NDEV);
    strata_query_finalize(q);
    /* bounded: the last point before a time */
    q = prepare("SELECT last(f) FROM m WHERE dev = 'd0' AND time < '2024-01-02T00:00:05Z'");
    ck_assert_int_eq(strata_query_step(q), STRATA_ROW);
    ck_assert_int_eq(strata_query_column_i64(q, 0), T0 + 12 * HOUR);
    strata_query_finalize(q);
}
END_TEST

/* EXPLAIN: an hourly mean over a day is answered from chunk statistics. */
START_TEST(test_explain_metadata)
{
    strata_query *q = prepare("EXPLAIN SELECT mean(f) FROM m WHERE dev = 'd0' AND "
                              "time >= '2024-01-01T12:00:00Z' AND time < '2024-01-02T12:00:00Z' GROUP BY time(1h)");
    ck_assert_int_eq(strata_query_column_count(q), 1);
    ck_assert_str_eq(strata_query_column_name(q, 0), "plan");
    char all[8192] = "";
    while (strata_query_step(q) == STRATA_ROW) {
        strcat(all, strata_query_column_text(q, 0));
        strcat(all, "\n");
    }
    strata_query_finalize(q);
    ck_assert_msg(strstr(all, "24 bucket(s) of 1h"), "%s", all);
    const char *ex = strstr(all, "answered from statistics");
    ck_assert_msg(ex, "%s", all);
    /* "... N chunk(s) in range; M answered from statistics": M > 0 */
    const char *semi = strstr(all, "in range; ");
    ck_assert_ptr_nonnull(semi);
    ck_assert_msg(atoi(semi + 10) > 0, "no chunk answered from statistics:\n%s", all);
}
END_TEST

START_TEST(test_bad_queries)
{
    struct {
        const char *q, *msg;
    } bad[] = {
        {"SELEC mean(f) FROM m", "line 1, column 1: expected select"},
        {"SELECT mean(f) FROM", "line 1, column 20: expected a measurement name"},
        {"SELECT foo(f) FROM m", "unknown function 'foo'"},
        {"SELECT mean(f), f FROM m", "cannot mix aggregates and raw fields"},
        {"SELECT f FROM m GROUP BY time(1h)", "GROUP BY time() needs aggregates"},
        {"SELECT mean(f) FROM m WHERE dev = 'x' OR dev = 'y'", "OR is not supported"},
        {"SELECT mean(f) FROM m WHERE time > 'yesterday'", "is not a time"},
        {"SELECT mean(f) FROM m\n  WHERE dev =~ /[/", "bad regular expression"},
        {"SELECT mean(f) FROM m GROUP BY time(1x)", "unknown duration unit 'x'"},
        {"SELECT mean(f) FROM m GROUP BY time(1ms)", "buckets (limit"},
        /* under the bucket limit, but 1.7 M buckets x 5 aggregates */
        {"SELECT mean(f), max(f), min(f), sum(f), count(f) FROM m WHERE time >= 0 AND "
         "time < 1000000000000000000 GROUP BY time(10m)",
         "buckets of 5 aggregates: 2225 MiB of aggregate state (limit 512 MiB)"},
        {"SELECT percentile(f, 101) FROM m", "percentile needs a number from 0 to 100"},
        {"SELECT stddev(b) FROM m", "applies to numbers, not to bool fields"},
        {"SELECT mean(f) FROM m LIMIT 0", "LIMIT takes a positive integer"},
        {"SELECT mean(f) FROM m FILL(sideways)", "FILL takes none, null, previous, linear"},
        {"SELECT mean(f) FROM m WHERE dev = 'x", "unterminated string"},
        {"SELECT mean(f) FROM m extra", "unexpected 'extra' after the query"},
        {"SELECT mean(f) FROM m\nWHERE time != 5", "line 2, column 12: time != is not supported"},
        {"SELECT min(time) FROM m", "line 1, column 12: aggregates take a field, not time"},
        {"SELECT f, time FROM m", "line 1, column 11: time is not a field"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        strata_query *q = NULL;
        int rc = strata_query_prepare(db, bad[i].q, &q);
        ck_assert_msg(rc != STRATA_OK, "accepted: %s", bad[i].q);
        ck_assert_ptr_null(q);
        ck_assert_msg(strstr(strata_errmsg(db), bad[i].msg), "%s\n  got: %s\n  want: %s", bad[i].q,
                      strata_errmsg(db), bad[i].msg);
    }
}
END_TEST

/* Tag-set keys as only a damaged (checksum-valid) catalog or log record can
 * hold them: the tag index must take any bytes without reading or writing
 * outside them (found by tests/fuzz/fuzz_meta: a tag without '=' ran its
 * value span backwards).  A tag without '=' gets an empty value. */
START_TEST(test_damaged_keys)
{
    static const struct {
        const char *key;
        uint32_t mlen;
        const char *tag, *value; /* the first tag, or NULL */
    } keys[] = {
        {"m,k\\=v", 1, "k=v", ""}, /* the '=' escaped: no value */
        {"m,a", 1, "a", ""},       {"m,", 1, "", ""},        {"m,a=1,b", 1, "a", "1"},
        {"m,a=\\", 1, "a", "\\"},  {"m\\,x", 3, NULL, NULL}, {"m,,=,", 1, "", ""},
        {"\\", 1, NULL, NULL},
    };
    char *dir = tu_tmpdir(), *path = tu_path(dir, "catalog");
    catalog *c;
    ck_assert_int_eq(catalog_open(path, 0, 1, 0, &c), STRATA_OK);
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        uint32_t tid, sid;
        ck_assert_int_eq(
            catalog_add_tagset(c, keys[i].key, strlen(keys[i].key), keys[i].mlen, &tid), STRATA_OK);
        ck_assert_int_eq(catalog_add_series(c, tid, "f", 1, STRATA_F64, &sid), STRATA_OK);
    }
    qindex *x = qindex_new();
    ck_assert_ptr_nonnull(x);
    ck_assert_int_eq(qindex_update(x, c), STRATA_OK);
    for (uint32_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        const qtagset *t = qindex_tagset(x, i);
        ck_assert_ptr_nonnull(t);
        if (!keys[i].tag)
            continue;
        ck_assert_uint_ge(t->ntags, 1);
        TU_CHECK(!strcmp(t->tags[0].k, keys[i].tag) && !strcmp(t->tags[0].v, keys[i].value),
                 "key %u: tag '%s'='%s'", i, t->tags[0].k, t->tags[0].v);
    }
    qindex_free(x);
    catalog_close(c);
    tu_rmrf(dir);
    free(path);
    free(dir);
}
END_TEST

/* A database of its own in a new directory, holding x = v[i] at ts[i] of
 * measurement m. */
static strata_db *scratch_db(char **dir, const int64_t *ts, const double *v, int n)
{
    *dir = tu_tmpdir();
    strata_options o;
    strata_options_init(&o);
    o.create_if_missing = 1;
    strata_db *d;
    ck_assert_int_eq(strata_db_open(*dir, &o, &d), STRATA_OK);
    strata_batch *b;
    ck_assert_int_eq(strata_batch_new(d, &b), STRATA_OK);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(strata_batch_point(b, "m", ts[i]), STRATA_OK);
        ck_assert_int_eq(strata_batch_f64(b, "x", v[i]), STRATA_OK);
    }
    ck_assert_int_eq(strata_db_write(d, b), STRATA_OK);
    strata_batch_free(b);
    return d;
}

/* Daily buckets from the first whole day that int64 time holds (1677) to
 * 2024: 126,474 buckets whose starts span most of int64 (b * width alone
 * overflowed; the sanitizer pass catches a regression), answered alike
 * from raw chunks and, after compaction, from rollups.  A point before that
 * day would need a bucket starting before INT64_MIN: the query says so.
 * Found by tests/fuzz/fuzz_ops. */
START_TEST(test_buckets_across_int64)
{
    char *dir;
    const int64_t day = 86400000000000LL, first = -9223286400000000000LL; /* a day multiple */
    const int64_t ts[2] = {first + 1, 1704067200000000000LL};
    const double v[2] = {1, 2};
    ck_assert_int_eq(first % day, 0);
    ck_assert_int_lt(first, INT64_MIN + day); /* the first whole day */
    strata_db *d = scratch_db(&dir, ts, v, 2);
    for (int pass = 0; pass < 2; pass++) { /* raw, then after compaction */
        if (pass)
            ck_assert_int_eq(strata_db_compact(d), STRATA_OK);
        strata_query *q;
        ck_assert_int_eq(strata_query_prepare(d, "SELECT count(x) FROM m GROUP BY time(1d)", &q),
                         STRATA_OK);
        int64_t rows = 0, total = 0, prev = INT64_MIN;
        while (strata_query_step(q) == STRATA_ROW) {
            int64_t t = strata_query_column_i64(q, 0);
            TU_CHECK(rows == 0 ? t == first : t - prev == day, "pass %d: bucket %lld at %lld", pass,
                     (long long)rows, (long long)t);
            prev = t;
            rows++;
            total += strata_query_column_i64(q, 1);
        }
        strata_query_finalize(q);
        ck_assert_int_eq(total, 2);
        ck_assert_int_eq(rows, (int64_t)(((__int128)ts[1] - first) / day + 1));
    }
    strata_db_close(d);
    tu_rmrf(dir);
    free(dir);
    /* one point earlier, at INT64_MIN + 1: no bucket can hold it */
    const int64_t early[1] = {INT64_MIN + 1};
    d = scratch_db(&dir, early, v, 1);
    strata_query *q = NULL;
    ck_assert_int_ne(strata_query_prepare(d, "SELECT count(x) FROM m GROUP BY time(1d)", &q),
                     STRATA_OK);
    ck_assert_ptr_null(q);
    ck_assert_msg(strstr(strata_errmsg(d), "start the time range at -9223286400000000000 or later"),
                  "%s", strata_errmsg(d));
    strata_db_close(d);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* percentile() of float values beyond any integer type: the value comes
 * back as a float, unchanged (its conversion to an integer, which the
 * sanitizer pass's float-cast-overflow check catches, is not made).
 * Found by tests/fuzz/fuzz_ops. */
START_TEST(test_percentile_huge_floats)
{
    char *dir;
    const int64_t ts[4] = {T0, T0 + 1, T0 + 2, T0 + 3};
    const double v[4] = {1e300, -1e300, 5.5, 3e19};
    strata_db *d = scratch_db(&dir, ts, v, 4);
    static const struct {
        const char *q;
        double want;
    } cases[] = {{"SELECT percentile(x, 100) FROM m", 1e300},
                 {"SELECT percentile(x, 0) FROM m", -1e300},
                 {"SELECT percentile(x, 75) FROM m", 3e19}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        strata_query *q;
        ck_assert_int_eq(strata_query_prepare(d, cases[i].q, &q), STRATA_OK);
        ck_assert_int_eq(strata_query_step(q), STRATA_ROW);
        ck_assert_int_eq(strata_query_column_type(q, 1), STRATA_COL_F64);
        TU_CHECK(strata_query_column_f64(q, 1) == cases[i].want, "%s: %.17g", cases[i].q,
                 strata_query_column_f64(q, 1));
        strata_query_finalize(q);
    }
    strata_db_close(d);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

Suite *query_suite(void); /* collected by run_tests.c */

Suite *query_suite(void)
{
    Suite *s = suite_create("query");
    TCase *t = tcase_create("query");
    tcase_add_unchecked_fixture(t, setup_once, teardown_once);
    tcase_add_checked_fixture(t, open_db, close_db);
    tcase_add_test(t, test_every_aggregate_hourly);
    tcase_add_test(t, test_group_by_tags);
    tcase_add_test(t, test_tag_and_field_conditions);
    tcase_add_test(t, test_fill_order_limit);
    tcase_add_test(t, test_raw_rows);
    tcase_add_test(t, test_last_per_device);
    tcase_add_test(t, test_explain_metadata);
    tcase_add_test(t, test_bad_queries);
    suite_add_tcase(s, t);
    TCase *k = tcase_create("keys");
    tcase_add_test(k, test_damaged_keys);
    tcase_add_test(k, test_buckets_across_int64);
    tcase_add_test(k, test_percentile_huge_floats);
    suite_add_tcase(s, k);
    return s;
}
