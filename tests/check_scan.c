/*
 * check_scan.c — aggregates that read chunks without decoding them: the
 * exact integer sums of packed integers (pack_sums_of), the moments of an
 * f64-decimal column (its codec's moments entry point, chunk_value_moments)
 * against the same column decoded and aggregated independently here, on
 * adversarial columns (exceptions, NaN payloads, infinities, -0.0, mixed
 * decimal exponents, integers near the codec's limits, damaged bytes); then
 * stddev through queries over a database of decimal chunks and one of
 * Gorilla-only chunks of the same data, against values computed here;
 * a failed step that stays failed; and EXPLAIN's time range.
 */
#include "tests/testutil.h"

#include "engine/chunk.h"
#include "engine/codec.h"
#include "engine/pack.h"
#include "engine/segment_format.h"
#include "strata.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t f2u(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static double u2f(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* ---- pack_sums_of ------------------------------------------------------------------ */

static void check_sums(const uint64_t *x, size_t m, const char *what)
{
    __int128 s1 = 0, s2 = 0;
    int64_t ref = (int64_t)x[0];
    int bad = 0;
    for (size_t i = 0; i < m; i++) {
        int64_t v = (int64_t)x[i];
        bad |= v < -((int64_t)1 << 51) || v >= ((int64_t)1 << 51);
        __int128 d = (__int128)v - ref;
        s1 += d;
        s2 += d * d;
    }
    pack_sums ps;
    int rc = pack_sums_of(x, m, &ps);
    TU_CHECK(rc == (bad ? -1 : 0), "%s m=%zu: rc %d, out of range %d", what, m, rc, bad);
    if (bad)
        return;
    TU_CHECK(ps.ref == ref && ps.s1 == s1 && ps.s2 == (unsigned __int128)s2, "%s m=%zu: sums", what,
             m);
}

START_TEST(test_pack_sums)
{
    enum { N = PACK_MAX_VALUES };
    static uint64_t x[N];
    uint64_t seed = 7;
    const int64_t lim = (int64_t)1 << 51, near = (int64_t)1 << 24;
    for (int kind = 0; kind < 9; kind++) {
        for (size_t i = 0; i < N; i++) {
            uint64_t r = tu_rand(&seed);
            int64_t v;
            switch (kind) {
            case 0: v = (int64_t)(r % 2001) - 1000; break;
            case 1: v = 123456789 + (int64_t)(r % (2 * (uint64_t)near)) - near; break;
            case 2: v = (int64_t)(r % (2 * (uint64_t)near + 3)) - near - 1; break; /* the edge */
            case 3: v = (int64_t)(r % (2 * (uint64_t)lim)) - lim; break;           /* anything */
            case 4: v = i % 2 ? lim - 1 : -lim; break;                             /* extremes */
            case 5: v = lim - 1 - (int64_t)(r % 1000); break;                      /* near 2^51 */
            case 6: v = -lim + (int64_t)(r % 1000); break;
            case 7: v = (int64_t)(r % ((uint64_t)1 << 36)) - ((int64_t)1 << 35); break;
            default: v = i == N / 2 ? lim : (int64_t)(r % 100); break; /* one outside */
            }
            x[i] = (uint64_t)v;
        }
        for (int simd = 1; simd >= 0; simd--) {
            pack_set_simd(simd);
            char what[32];
            snprintf(what, sizeof what, "kind %d simd %d", kind, simd);
            for (size_t m = 1; m <= N; m = m < 40 ? m + 1 : m * 2 + 1)
                check_sums(x, m, what);
            check_sums(x, N, what);
            if (kind == 8)
                check_sums(x + N / 2, 1, what); /* the word outside first */
        }
        pack_set_simd(1);
    }
}
END_TEST

/* ---- moments of f64-decimal columns ------------------------------------------------ */

/* The moments of decoded values, independently: long double two-pass. */
typedef struct ref_mom {
    uint64_t n;
    int inf;
    long double mean, m2, maxabs;
} ref_mom;

static ref_mom reference(const uint64_t *v, size_t n)
{
    ref_mom r = {0, 0, 0, 0, 0};
    long double sum = 0;
    for (size_t i = 0; i < n; i++) {
        double d = u2f(v[i]);
        if (isnan(d))
            continue;
        r.n++; /* infinities count as numbers */
        r.inf |= isinf(d);
        if (isinf(d))
            continue;
        sum += d;
        r.maxabs = fabsl(d) > r.maxabs ? fabsl(d) : r.maxabs;
    }
    if (!r.n || r.inf)
        return r;
    r.mean = sum / (long double)r.n;
    for (size_t i = 0; i < n; i++) {
        double d = u2f(v[i]);
        if (!isnan(d))
            r.m2 += ((long double)d - r.mean) * ((long double)d - r.mean);
    }
    return r;
}

/* got agrees with the reference: equal counts, and mean and m2 within what
 * the doubles themselves can tell (a stored double is within half an ulp of
 * its decimal, which moves each deviation by that much). */
static void check_moments(const codec_moments *got, const uint64_t *v, size_t n, const char *what)
{
    ref_mom r = reference(v, n);
    TU_CHECK(got->n == r.n, "%s: n %llu, expected %llu", what, (unsigned long long)got->n,
             (unsigned long long)r.n);
    if (r.inf) {
        TU_CHECK(isnan(got->m2), "%s: an infinity, m2 %g", what, got->m2);
        return;
    }
    if (!r.n || r.m2 > 0x1p1000L)
        return; /* (damaged bytes decode to anything: m2 beyond a double's range) */
    long double ulp = r.maxabs * 2.3e-16L;
    long double tol_mean = 4 * ulp + 1e-300L;
    long double tol_m2 = 1e-12L * r.m2 + 4 * ulp * sqrtl((long double)r.n * r.m2) + 1e-300L;
    TU_CHECK(fabsl((long double)got->mean - r.mean) <= tol_mean, "%s: mean %.17g, expected %.17Lg",
             what, got->mean, r.mean);
    TU_CHECK(fabsl((long double)got->m2 - r.m2) <= tol_m2, "%s: m2 %.17g, expected %.17Lg", what,
             got->m2, r.m2);
}

/* Encode v[0..n) with f64-decimal (when it takes them) and compare the
 * moments with the decoded values; then every truncation and some byte
 * flips: moments fail exactly when decoding fails, and agree when both
 * succeed. */
static void moments_case(const uint64_t *v, size_t n, const char *what, uint64_t *seed)
{
    static uint8_t enc[8 * 8192 * 4];
    static uint64_t dec[8192], scratch[8192];
    size_t len = codec_f64_decimal.encode(v, n, enc);
    if (len == CODEC_NA)
        return;
    codec_ends ends = {v[0], v[n - 1]};
    codec_moments mo;
    TU_CHECK(codec_f64_decimal.moments(enc, len, n, &ends, scratch, &mo) == 0, "%s n=%zu", what, n);
    char w[96];
    snprintf(w, sizeof w, "%s n=%zu", what, n);
    check_moments(&mo, v, n, w);
    for (size_t cut = 0; cut < len; cut += 1 + len / 16) {
        int d = codec_f64_decimal.decode(enc, cut, n, &ends, dec);
        int m = codec_f64_decimal.moments(enc, cut, n, &ends, scratch, &mo);
        TU_CHECK((d < 0) == (m < 0), "%s: %zu of %zu bytes: decode %d, moments %d", w, cut, len, d,
                 m);
    }
    for (int k = 0; k < 24 && len; k++) {
        size_t at = (size_t)(tu_rand(seed) % len);
        uint8_t old = enc[at];
        enc[at] ^= (uint8_t)(1u << (tu_rand(seed) % 8));
        int d = codec_f64_decimal.decode(enc, len, n, &ends, dec);
        int m = codec_f64_decimal.moments(enc, len, n, &ends, scratch, &mo);
        TU_CHECK((d < 0) == (m < 0), "%s: flip at %zu: decode %d, moments %d", w, at, d, m);
        if (d == 0) {
            snprintf(w, sizeof w, "%s n=%zu flip %zu", what, n, at);
            check_moments(&mo, dec, n, w);
        }
        enc[at] = old;
    }
}

START_TEST(test_decimal_moments)
{
    enum { N = 8192 };
    static uint64_t v[N];
    static const uint64_t specials[] = {
        0x7ff8000000000000ull, 0x7ff8000000000123ull, 0xfff0000000000001ull, /* NaNs */
        0x7ff0000000000000ull, 0xfff0000000000000ull,                        /* ±Inf */
        0x8000000000000000ull, 0x0000000000000001ull,                        /* -0.0, denormal */
    };
    uint64_t seed = 42;
    for (int kind = 0; kind < 12; kind++) {
        double x = 45.12345;
        for (size_t i = 0; i < N; i++) {
            uint64_t r = tu_rand(&seed);
            double d;
            switch (kind) {
            case 0: /* a decimal random walk (fleet-like), 5 decimals */
                x += (double)(int64_t)(r % 201 - 100) * 1e-5;
                d = round(x * 1e5) / 1e5;
                break;
            case 1: /* 1 decimal, a NaN (with payloads) now and then */
                d = r % 40 == 0 ? u2f(specials[r % 3]) : (double)(int64_t)(r % 2001 - 1000) / 10;
                break;
            case 2: /* every special now and then */
                d = r % 30 == 0 ? u2f(specials[r % 7]) : (double)(int64_t)(r % 20001) / 100;
                break;
            case 3: /* mixed exponents: 1, 3 and 6 decimals */
                d = (double)(int64_t)(r % 2000001 - 1000000) / (i % 3 == 0   ? 10.0
                                                                : i % 3 == 1 ? 1e3
                                                                             : 1e6);
                break;
            case 4: /* 17 significant digits among 2-decimal values */
                d = r % 9 == 0 ? (double)(r % 100000000000000000ull) / 1e16
                               : (double)(int64_t)(r % 10001) / 100;
                break;
            case 5: /* near the integer limit 2^51 */
                d = (double)(((int64_t)1 << 51) - 1 - (int64_t)(r % 5)) * (i % 2 ? 1.0 : -1.0);
                break;
            case 6: /* large offset, tiny spread: cancellation territory */
                d = 1e9 + (double)(int64_t)(r % 11) / 100;
                break;
            case 7: /* spread around 2^24 integers: the fast sums' edge */
                d = (double)((int64_t)(r % (1u << 25)) - (1 << 24)) / 1000;
                break;
            case 8: /* -0.0 and 0.0 */ d = r % 2 ? -0.0 : 0.0; break;
            case 9: /* mostly exceptions: binary fractions */
                d = ldexp((double)(r >> 11), -60);
                break;
            case 10: /* an infinity in decimals */
                d = i == N / 3 ? INFINITY : (double)(int64_t)(r % 1001) / 10;
                break;
            default: /* integers */ d = (double)(int64_t)(r % 1000001) - 500000; break;
            }
            v[i] = f2u(d);
        }
        for (unsigned orders = 1; orders <= 7; orders += 6) {
            pack_set_orders(orders);
            for (int simd = 1; simd >= 0; simd--) {
                pack_set_simd(simd);
                char what[64];
                snprintf(what, sizeof what, "kind %d orders %u simd %d", kind, orders, simd);
                for (size_t n = 1; n <= N; n = n < 12 ? n + 1 : n * 3)
                    moments_case(v, n, what, &seed);
                moments_case(v + 1, N - 1, what, &seed);
            }
        }
        pack_set_orders(7);
        pack_set_simd(1);
    }
}
END_TEST

/* chunk_value_moments: a whole chunk (checksum, codecs) as encoded by the
 * writer; a damaged chunk fails as decoding does. */
START_TEST(test_chunk_moments)
{
    enum { N = 2000 };
    static int64_t ts[N];
    static uint64_t v[N], dec[N], scratch[N];
    uint8_t *out = malloc(chunk_bound(STRATA_F64, N));
    uint64_t seed = 5;
    for (size_t i = 0; i < N; i++) {
        ts[i] = 1704110400000000000LL + (int64_t)i * 10000000000LL;
        uint64_t r = tu_rand(&seed);
        v[i] = i % 97 == 3 ? 0x7ff8000000000000ull : f2u((double)(int64_t)(r % 100001) / 1000);
    }
    chunk_meta m;
    size_t len = chunk_encode(STRATA_F64, ts, v, N, CHUNK_BEST, out, &m);
    ck_assert_uint_eq(m.val_codec, CODEC_F64_DECIMAL);
    ck_assert(chunk_has_moments(STRATA_F64, &m));
    ck_assert(!chunk_has_moments(STRATA_I64, &m));
    codec_moments mo;
    ck_assert_int_eq(chunk_value_moments(&m, out, scratch, &mo), 0);
    ck_assert_int_eq(chunk_decode_values(&m, out, dec), 0);
    check_moments(&mo, dec, N, "chunk");
    out[len / 2] ^= 1;
    ck_assert_int_eq(chunk_value_moments(&m, out, scratch, &mo), -1);
    ck_assert_int_eq(chunk_decode_values(&m, out, dec), -1);
    /* Gorilla-only chunks have no moments entry point */
    chunk_encode(STRATA_F64, ts, v, N, CHUNK_CLASSIC, out, &m);
    ck_assert(!chunk_has_moments(STRATA_F64, &m));
    free(out);
}
END_TEST

/* ---- through queries --------------------------------------------------------------- */

#define T0 1704110400000000000LL /* 2024-01-01T12:00:00Z */
#define STEP 10000000000LL
#define NPTS (2 * 8640)
#define NSER 5

static const char *ser_name[NSER] = {"walk", "nan", "mixed", "inf", "flat"};

static double value_of(int s, size_t i, uint64_t r)
{
    switch (s) {
    case 0:
        return round((50.0 + 30.0 * sin((double)i / 300.0)) * 100) / 100 +
               (double)(int64_t)(r % 7) / 100;
    case 1:
        return i % 53 == 0 ? u2f(0x7ff8000000000000ull | (r & 0xffff))
                           : (double)(int64_t)(r % 1001) / 10;
    case 2: /* mixed exponents and -0.0 */
        return i % 11 == 0  ? -0.0
               : i % 7 == 0 ? (double)(int64_t)(r % 1000001) / 1e6
                            : (double)(int64_t)(r % 101) / 10;
    case 3: return i == 1000 ? INFINITY : (double)(int64_t)(r % 501) / 10;
    default: /* long constant stretches (const chunks), NaN hours */
        return (i / 360) % 5 == 4 ? NAN : (double)(i / 1000) * 1.5;
    }
}

static double vals[NSER][NPTS];

static char *make_db(int policy)
{
    char *dir = tu_tmpdir();
    strata_options o;
    strata_options_init(&o);
    o.create_if_missing = 1;
    strata_db *w;
    chunk_force_policy(policy);
    ck_assert_int_eq(strata_db_open(dir, &o, &w), STRATA_OK);
    strata_batch *b;
    ck_assert_int_eq(strata_batch_new(w, &b), STRATA_OK);
    uint64_t seed = 11;
    for (size_t i = 0; i < NPTS; i++) {
        TU_CHECK(strata_batch_point(b, "m", T0 + (int64_t)i * STEP) == STRATA_OK &&
                     strata_batch_tag(b, "dev", "d0") == STRATA_OK,
                 "point");
        for (int s = 0; s < NSER; s++) {
            vals[s][i] = value_of(s, i, tu_rand(&seed));
            TU_CHECK(strata_batch_f64(b, ser_name[s], vals[s][i]) == STRATA_OK, "value");
        }
    }
    ck_assert_int_eq(strata_db_write(w, b), STRATA_OK);
    strata_batch_free(b);
    ck_assert_int_eq(strata_db_close(w), STRATA_OK);
    chunk_force_policy(-1);
    return dir;
}

static strata_db *open_ro(const char *dir)
{
    strata_options o;
    strata_options_init(&o);
    o.read_only = 1;
    strata_db *db;
    ck_assert_int_eq(strata_db_open(dir, &o, &db), STRATA_OK);
    return db;
}

/* stddev of series s over [lo, hi) points, independently: NULL (-1) for
 * fewer than 2 numbers, NaN with an infinity among them. */
static double expect_stddev(int s, size_t lo, size_t hi, int *null)
{
    long double sum = 0, m2 = 0;
    size_t n = 0;
    int inf = 0;
    for (size_t i = lo; i < hi; i++)
        if (!isnan(vals[s][i])) {
            n++;
            inf |= isinf(vals[s][i]);
            sum += vals[s][i];
        }
    *null = n < 2;
    if (n < 2 || inf)
        return NAN;
    long double mean = sum / n;
    for (size_t i = lo; i < hi; i++)
        if (!isnan(vals[s][i]))
            m2 += ((long double)vals[s][i] - mean) * ((long double)vals[s][i] - mean);
    return (double)sqrtl(m2 / (n - 1));
}

/* Every series' stddev per hour and over everything, against the model. */
static void check_stddevs(strata_db *db, const char *which)
{
    for (int grouped = 0; grouped < 2; grouped++) {
        char text[256];
        snprintf(text, sizeof text, "SELECT stddev(*) FROM m%s",
                 grouped ? " GROUP BY time(1h)" : "");
        strata_query *q;
        ck_assert_int_eq(strata_query_prepare(db, text, &q), STRATA_OK);
        ck_assert_int_eq(strata_query_column_count(q), 1 + NSER);
        size_t row = 0;
        while (strata_query_step(q) == STRATA_ROW) {
            size_t lo = grouped ? row * 360 : 0, hi = grouped ? lo + 360 : NPTS;
            for (int c = 1; c <= NSER; c++) {
                const char *name = strata_query_column_name(q, c); /* stddev(<field>) */
                int s = 0;
                while (s < NSER && strncmp(name + 7, ser_name[s], strlen(ser_name[s])))
                    s++;
                ck_assert_int_lt(s, NSER);
                int null;
                double e = expect_stddev(s, lo, hi, &null);
                int t = strata_query_column_type(q, c);
                TU_CHECK(null ? t == STRATA_COL_NULL : t == STRATA_COL_F64,
                         "%s %s row %zu %s: type %d", which, text, row, name, t);
                if (null)
                    continue;
                double got = strata_query_column_f64(q, c);
                TU_CHECK((isnan(e) && isnan(got)) || fabs(got - e) <= 1e-9 * fmax(1.0, fabs(e)),
                         "%s %s row %zu %s: %.17g, expected %.17g", which, text, row, name, got, e);
            }
            row++;
        }
        ck_assert_uint_eq(row, grouped ? NPTS / 360 : 1);
        strata_query_finalize(q);
    }
}

static char *explain(strata_db *db, const char *text)
{
    strata_query *q;
    ck_assert_int_eq(strata_query_prepare(db, text, &q), STRATA_OK);
    size_t cap = 1 << 14, len = 0;
    char *all = calloc(cap, 1);
    while (strata_query_step(q) == STRATA_ROW) {
        const char *line = strata_query_column_text(q, 0);
        len += (size_t)snprintf(all + len, cap - len, "%s\n", line);
        ck_assert_uint_lt(len, cap);
    }
    strata_query_finalize(q);
    return all;
}

START_TEST(test_stddev_queries)
{
    char *best = make_db(CHUNK_BEST), *classic = make_db(CHUNK_CLASSIC);
    strata_db *a = open_ro(best), *b = open_ro(classic);
    check_stddevs(a, "per-chunk codecs");
    check_stddevs(b, "Gorilla only");
    /* the decimal database answered from integer sums, the other decoded */
    char *ea = explain(a, "EXPLAIN SELECT stddev(*) FROM m");
    char *eb = explain(b, "EXPLAIN SELECT stddev(*) FROM m");
    const char *s = strstr(ea, "stddev: ");
    ck_assert_msg(s && atoi(s + 8) > 0 && strstr(ea, "exact integer sums"), "%s", ea);
    ck_assert_msg(!strstr(eb, "exact integer sums"), "%s", eb);
    free(ea);
    free(eb);
    strata_db_close(a);
    strata_db_close(b);
    tu_rmrf(best);
    tu_rmrf(classic);
    free(best);
    free(classic);
}
END_TEST

/* A step that failed (a damaged chunk) fails again, the same way. */
START_TEST(test_failed_step_sticks)
{
    char *dir = make_db(CHUNK_BEST);
    char *seg = tu_path(dir, "seg/0000000000000001.seg");
    size_t len;
    char *bytes = tu_read_file(seg, &len);
    ck_assert_ptr_nonnull(bytes);
    ck_assert_uint_gt(len, SEG_HEADER_SIZE + 8);
    bytes[SEG_HEADER_SIZE + 2] ^= 0x10; /* in the first chunk's data */
    tu_write_file(seg, bytes, len);
    strata_db *db = open_ro(dir);
    strata_query *q;
    ck_assert_int_eq(strata_query_prepare(db, "SELECT median(*) FROM m", &q), STRATA_OK);
    int rc = strata_query_step(q);
    ck_assert_int_eq(rc, STRATA_CORRUPT);
    char *msg = strdup(strata_errmsg(db));
    ck_assert_msg(strstr(msg, "checksum mismatch"), "%s", msg);
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(strata_query_step(q), rc);
        ck_assert_str_eq(strata_errmsg(db), msg);
    }
    strata_query_finalize(q);
    strata_db_close(db);
    free(msg);
    free(bytes);
    free(seg);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* EXPLAIN's time range: bounded by the data, it ends at the last point
 * (inclusive), not one nanosecond after it; an explicit bound as given. */
START_TEST(test_explain_range)
{
    char *dir = make_db(CHUNK_BEST);
    strata_db *db = open_ro(dir);
    char *e = explain(db, "EXPLAIN SELECT mean(walk) FROM m GROUP BY time(1h)");
    ck_assert_msg(strstr(e, "time range [2024-01-01T12:00:00Z, 2024-01-03T11:59:50Z]: 48 "
                            "bucket(s) of 1h"),
                  "%s", e);
    free(e);
    e = explain(db, "EXPLAIN SELECT mean(walk) FROM m WHERE time >= '2024-01-01T13:00:00Z' AND "
                    "time < '2024-01-01T15:00:00Z'");
    ck_assert_msg(strstr(e, "time range [2024-01-01T13:00:00Z, 2024-01-01T15:00:00Z)\n"), "%s", e);
    free(e);
    e = explain(db, "EXPLAIN SELECT mean(walk) FROM m WHERE time <= '2024-01-01T15:00:00Z'");
    ck_assert_msg(strstr(e, "time range [-inf, 2024-01-01T15:00:00Z]\n"), "%s", e);
    free(e);
    e = explain(db, "EXPLAIN SELECT mean(walk) FROM m");
    ck_assert_msg(strstr(e, "time range [-inf, +inf)\n"), "%s", e);
    free(e);
    strata_db_close(db);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

Suite *scan_suite(void); /* collected by run_tests.c */

Suite *scan_suite(void)
{
    Suite *s = suite_create("scan");
    TCase *t = tcase_create("scan");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, test_pack_sums);
    tcase_add_test(t, test_decimal_moments);
    tcase_add_test(t, test_chunk_moments);
    tcase_add_test(t, test_stddev_queries);
    tcase_add_test(t, test_failed_step_sticks);
    tcase_add_test(t, test_explain_range);
    suite_add_tcase(s, t);
    return s;
}
