/*
 * agg.c — the aggregate functions (definitions in agg.h and docs/QUERY.md).
 *
 * Float sums are plain double sums in time order, the same way chunk
 * statistics are summed, so a bucket answered from statistics and one
 * answered from points agree to rounding.  Int sums are exact (128-bit).
 *
 * stddev merges per-block (count, mean, squared deviations) with Chan et
 * al.'s pairwise update; a float64 block gets them from the corrected
 * two-pass algorithm (four lanes), a chunk from its codec (agg_add_moments).
 * An infinity among the values makes the result NaN on every path.
 */
#include "query/agg.h"

#include "engine/alloc.h"
#include "engine/err.h"
#include "engine/segment_format.h"
#include "strata.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void agg_init(agg_state *s)
{
    memset(s, 0, sizeof *s);
}

void agg_reset(agg_state *s)
{
    double *vals = s->vals;
    size_t cap = s->cap;
    memset(s, 0, sizeof *s);
    s->vals = vals;
    s->cap = cap;
}

void agg_free(agg_state *s)
{
    st_free(s->vals);
    memset(s, 0, sizeof *s);
}

static double as_double(uint8_t type, uint64_t bits)
{
    if (type == STRATA_F64) {
        double d;
        memcpy(&d, &bits, sizeof d);
        return d;
    }
    if (type == STRATA_I64)
        return (double)(int64_t)bits;
    return (double)(bits & 1);
}

static void note_first_last(agg_state *s, int64_t ts, uint8_t type, uint64_t bits, int64_t ts_last,
                            uint64_t bits_last)
{
    if (!s->has_first || ts < s->first_t) {
        s->first_t = ts;
        s->first_v = bits;
        s->first_type = type;
    }
    if (!s->has_first || ts_last >= s->last_t) {
        s->last_t = ts_last;
        s->last_v = bits_last;
        s->last_type = type;
    }
    s->has_first = 1;
}

static void note_minmax(agg_state *s, uint8_t type, uint64_t bits, double d)
{
    if (type != STRATA_F64) {
        int64_t i = type == STRATA_I64 ? (int64_t)bits : (int64_t)(bits & 1);
        if (!s->has_minmax || i < s->imin)
            s->imin = i;
        if (!s->has_minmax || i > s->imax)
            s->imax = i;
    }
    if (!s->has_minmax || d < s->min)
        s->min = d;
    if (!s->has_minmax || d > s->max)
        s->max = d;
    s->has_minmax = 1;
}

int agg_add(agg_state *s, agg_kind k, uint8_t type, int64_t ts, uint64_t bits)
{
    double d = as_double(type, bits);
    s->count++;
    note_first_last(s, ts, type, bits, ts, bits);
    if (isnan(d))
        return STRATA_OK;
    s->nnum++;
    if (type == STRATA_F64) {
        s->have_float = 1;
        s->fsum += d;
    } else {
        s->have_int = 1;
        s->isum += type == STRATA_I64 ? (int64_t)bits : (int64_t)(bits & 1);
    }
    note_minmax(s, type, bits, d);
    switch (k) {
    case AGG_STDDEV: {
        s->w_n++;
        double delta = d - s->w_mean;
        s->w_mean += delta / (double)s->w_n;
        s->w_m2 += delta * (d - s->w_mean);
        break;
    }
    case AGG_MEDIAN:
    case AGG_PERCENTILE:
        if (s->nvals == s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 256;
            double *v = st_realloc(s->vals, cap * sizeof *v);
            if (!v)
                return st_err(STRATA_NOMEM, "out of memory computing a %s", agg_name(k));
            s->vals = v;
            s->cap = cap;
        }
        s->vals[s->nvals++] = d;
        break;
    case AGG_INTEGRAL:
    case AGG_DERIVATIVE:
    case AGG_RATE:
        if (!s->s_has) {
            s->s_has = 1;
            s->s_first_t = ts;
            s->s_first_v = d;
        } else {
            double dt = (double)(ts - s->s_prev_t);
            s->area += (d + s->s_prev_v) / 2.0 * dt;
            s->increase += d >= s->s_prev_v ? d - s->s_prev_v : d;
        }
        s->s_prev_t = ts;
        s->s_prev_v = d;
        break;
    default:
        break;
    }
    return STRATA_OK;
}

int agg_from_rollups_ok(agg_kind k)
{
    return k == AGG_COUNT || k == AGG_SUM || k == AGG_MEAN || k == AGG_MIN || k == AGG_MAX ||
           k == AGG_SPREAD || k == AGG_FIRST || k == AGG_LAST;
}

int agg_needs_time(agg_kind k)
{
    return k == AGG_FIRST || k == AGG_LAST || k == AGG_INTEGRAL || k == AGG_RATE ||
           k == AGG_DERIVATIVE;
}

/* Merge a block's mean and squared deviations into the running ones
 * (Chan et al.'s pairwise update). */
static void welford_merge(agg_state *s, uint64_t n, double mean, double m2)
{
    if (!n)
        return;
    uint64_t total = s->w_n + n;
    double delta = mean - s->w_mean, share = (double)n / (double)total;
    s->w_m2 += m2 + delta * delta * (double)s->w_n * share;
    s->w_mean += delta * share;
    s->w_n = total;
}

typedef double f64x4 __attribute__((vector_size(32)));
typedef int64_t i64x4 __attribute__((vector_size(32)));

/* Welford's update over the non-NaN values of d[0..n), one at a time. */
static void welford_run(const double *d, size_t n, uint64_t *nn, double *mean, double *m2)
{
    uint64_t c = 0;
    double mu = 0, q = 0;
    for (size_t i = 0; i < n; i++) {
        if (d[i] != d[i])
            continue;
        c++;
        double delta = d[i] - mu;
        mu += delta / (double)c;
        q += delta * (d[i] - mu);
    }
    *nn = c;
    *mean = mu;
    *m2 = q;
}

/* The number, mean and squared deviations (m2) of the non-NaN float64
 * values v[0..n): the corrected two-pass algorithm (the mean, then the
 * deviations from it with their rounding error taken out), four lanes at a
 * time.  A sum that is not finite (an infinity among the values, or an
 * overflow) goes through Welford's update instead, which makes m2 NaN
 * when there is an infinity. */
static void f64_moments(const uint64_t *v, size_t n, uint64_t *nn, double *mean, double *m2)
{
    const double *d = (const double *)(const void *)v;
    f64x4 s = {0, 0, 0, 0};
    i64x4 c = {0, 0, 0, 0};
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        f64x4 x;
        memcpy(&x, d + i, sizeof x);
        i64x4 ok = x == x;
        s += (f64x4)((i64x4)x & ok);
        c -= ok;
    }
    double sum = (s[0] + s[1]) + (s[2] + s[3]);
    uint64_t cnt = (uint64_t)(c[0] + c[1] + c[2] + c[3]);
    for (size_t j = i; j < n; j++)
        if (d[j] == d[j]) {
            sum += d[j];
            cnt++;
        }
    *nn = cnt;
    *mean = 0;
    *m2 = 0;
    if (!cnt)
        return;
    double mu = sum / (double)cnt;
    if (!isfinite(mu)) {
        welford_run(d, n, nn, mean, m2);
        if (!isfinite(*mean))
            *m2 = NAN;
        return;
    }
    f64x4 a = {0, 0, 0, 0}, b = a, vm = {mu, mu, mu, mu};
    for (i = 0; i + 4 <= n; i += 4) {
        f64x4 x;
        memcpy(&x, d + i, sizeof x);
        f64x4 y = (f64x4)((i64x4)(x - vm) & (x == x));
        a += y;
        b += y * y;
    }
    double s1 = (a[0] + a[1]) + (a[2] + a[3]), s2 = (b[0] + b[1]) + (b[2] + b[3]);
    for (; i < n; i++)
        if (d[i] == d[i]) {
            double y = d[i] - mu;
            s1 += y;
            s2 += y * y;
        }
    double q = s2 - s1 * s1 / (double)cnt;
    *mean = mu + s1 / (double)cnt;
    *m2 = q < 0 ? 0 : q;
}

void agg_add_moments(agg_state *s, uint64_t n, double mean, double m2)
{
    welford_merge(s, n, mean, m2);
}

int agg_add_block(agg_state *s, agg_kind k, uint8_t type, const int64_t *ts, const uint64_t *v,
                  size_t n)
{
    if (!n)
        return STRATA_OK;
    if (k == AGG_INTEGRAL || k == AGG_RATE || k == AGG_DERIVATIVE) {
        for (size_t i = 0; i < n; i++) {
            int rc = agg_add(s, k, type, ts[i], v[i]);
            if (rc != STRATA_OK)
                return rc;
        }
        return STRATA_OK;
    }
    if (ts)
        note_first_last(s, ts[0], type, v[0], ts[n - 1], v[n - 1]);
    s->count += n;
    if (k == AGG_COUNT || k == AGG_FIRST || k == AGG_LAST)
        return STRATA_OK;
    size_t nums = 0;
    if (type == STRATA_F64 && k == AGG_STDDEV) {
        uint64_t nn;
        double mean, m2;
        f64_moments(v, n, &nn, &mean, &m2);
        if (nn)
            s->have_float = 1;
        s->nnum += nn;
        welford_merge(s, nn, mean, m2);
        return STRATA_OK;
    }
    if (type == STRATA_F64) {
        const double *d = (const double *)(const void *)v;
        double sum = 0, mn = INFINITY, mx = -INFINITY;
        for (size_t i = 0; i < n; i++) {
            double x = d[i];
            if (x != x)
                continue; /* NaN */
            nums++;
            sum += x;
            mn = x < mn ? x : mn;
            mx = x > mx ? x : mx;
        }
        if (!nums)
            return STRATA_OK;
        s->have_float = 1;
        s->fsum += sum;
        if (!s->has_minmax || mn < s->min)
            s->min = mn;
        if (!s->has_minmax || mx > s->max)
            s->max = mx;
        s->has_minmax = 1;
    } else {
        __int128 sum = 0;
        int64_t mn = INT64_MAX, mx = INT64_MIN;
        for (size_t i = 0; i < n; i++) {
            int64_t x = type == STRATA_I64 ? (int64_t)v[i] : (int64_t)(v[i] & 1);
            sum += x;
            mn = x < mn ? x : mn;
            mx = x > mx ? x : mx;
        }
        nums = n;
        s->have_int = 1;
        s->isum += sum;
        note_minmax(s, STRATA_I64, (uint64_t)mn, (double)mn);
        note_minmax(s, STRATA_I64, (uint64_t)mx, (double)mx);
        if (k == AGG_STDDEV) {
            double mean = (double)sum / (double)n, m2 = 0;
            for (size_t i = 0; i < n; i++) {
                double x = type == STRATA_I64 ? (double)(int64_t)v[i] : (double)(v[i] & 1);
                m2 += (x - mean) * (x - mean);
            }
            welford_merge(s, n, mean, m2);
        }
    }
    s->nnum += nums;
    if (k == AGG_MEDIAN || k == AGG_PERCENTILE) {
        if (s->nvals + nums > s->cap) {
            size_t cap = s->cap ? s->cap : 256;
            while (cap < s->nvals + nums)
                cap *= 2;
            double *a = st_realloc(s->vals, cap * sizeof *a);
            if (!a)
                return st_err(STRATA_NOMEM, "out of memory computing a %s", agg_name(k));
            s->vals = a;
            s->cap = cap;
        }
        for (size_t i = 0; i < n; i++) {
            double x = as_double(type, v[i]);
            if (x == x)
                s->vals[s->nvals++] = x;
        }
    }
    return STRATA_OK;
}

void agg_series_end(agg_state *s, agg_kind k)
{
    if (!s->s_has)
        return;
    if ((k == AGG_DERIVATIVE || k == AGG_RATE) && s->s_prev_t > s->s_first_t) {
        double span = (double)(s->s_prev_t - s->s_first_t);
        s->deriv += (k == AGG_RATE ? s->increase : s->s_prev_v - s->s_first_v) / span;
        s->deriv_n++;
    }
    s->increase = 0;
    s->s_has = 0;
}

int agg_from_stats_ok(agg_kind k, uint8_t type, const chunk_stats *st)
{
    switch (k) {
    case AGG_COUNT:
    case AGG_FIRST:
    case AGG_LAST:
    case AGG_MIN:
    case AGG_MAX:
    case AGG_SPREAD:
        return 1;
    case AGG_SUM:
    case AGG_MEAN:
        return !(type == STRATA_I64 && (st->flags & SEG_STAT_SUM_OVERFLOW));
    default:
        return 0;
    }
}

void agg_add_stats(agg_state *s, uint8_t type, const chunk_meta *m)
{
    const chunk_stats *st = &m->st;
    s->count += st->count;
    note_first_last(s, m->tmin, type, st->first, m->tmax, st->last);
    uint64_t nums = st->count - st->nan_count;
    if (!nums)
        return;
    s->nnum += nums;
    if (type == STRATA_F64) {
        s->have_float = 1;
        double sum;
        memcpy(&sum, &st->sum, sizeof sum);
        s->fsum += sum;
        note_minmax(s, type, st->min, as_double(type, st->min));
        note_minmax(s, type, st->max, as_double(type, st->max));
    } else {
        s->have_int = 1;
        s->isum += (int64_t)st->sum; /* bool: the number of true values */
        note_minmax(s, type, st->min, as_double(type, st->min));
        note_minmax(s, type, st->max, as_double(type, st->max));
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int agg_result_type(agg_kind k, uint8_t t)
{
    switch (k) {
    case AGG_COUNT: return STRATA_COL_I64;
    case AGG_SUM: return t == STRATA_F64 ? STRATA_COL_F64 : STRATA_COL_I64;
    case AGG_MIN:
    case AGG_MAX:
    case AGG_FIRST:
    case AGG_LAST:
    case AGG_PERCENTILE:
        return t == STRATA_F64 ? STRATA_COL_F64 : t == STRATA_I64 ? STRATA_COL_I64 : STRATA_COL_BOOL;
    case AGG_SPREAD: return t == STRATA_I64 ? STRATA_COL_I64 : STRATA_COL_F64;
    default: return STRATA_COL_F64;
    }
}

const char *agg_type_problem(agg_kind k, uint8_t t)
{
    if (t != STRATA_BOOL || k == AGG_NONE)
        return NULL;
    switch (k) {
    case AGG_COUNT:
    case AGG_SUM:
    case AGG_MEAN:
    case AGG_FIRST:
    case AGG_LAST:
    case AGG_MIN:
    case AGG_MAX:
        return NULL;
    default:
        return "applies to numbers, not to bool fields";
    }
}

static void put_bits(agg_value *out, uint8_t type, uint64_t bits)
{
    if (type == STRATA_F64) {
        out->type = STRATA_COL_F64;
        memcpy(&out->f, &bits, sizeof out->f);
    } else {
        out->type = type == STRATA_I64 ? STRATA_COL_I64 : STRATA_COL_BOOL;
        out->i = type == STRATA_I64 ? (int64_t)bits : (int64_t)(bits & 1);
    }
}

static void put_number(agg_value *out, const agg_state *s, double f, __int128 i, int int_ok)
{
    if (int_ok && !s->have_float && i >= INT64_MIN && i <= INT64_MAX) {
        out->type = STRATA_COL_I64;
        out->i = (int64_t)i;
    } else {
        out->type = STRATA_COL_F64;
        out->f = f;
    }
}

void agg_final(agg_state *s, const q_expr *e, agg_value *out)
{
    memset(out, 0, sizeof *out);
    out->type = STRATA_COL_NULL;
    agg_series_end(s, e->agg);
    if (e->agg == AGG_COUNT) {
        out->type = STRATA_COL_I64;
        out->i = (int64_t)s->count;
        return;
    }
    if (!s->count)
        return;
    double total = s->fsum + (double)s->isum;
    double unit = (double)e->unit_ns;
    switch (e->agg) {
    case AGG_FIRST: put_bits(out, s->first_type, s->first_v); return;
    case AGG_LAST: put_bits(out, s->last_type, s->last_v); return;
    default: break;
    }
    if (!s->nnum)
        return; /* only NaNs */
    switch (e->agg) {
    case AGG_SUM: put_number(out, s, total, s->isum, 1); break;
    case AGG_MEAN:
        out->type = STRATA_COL_F64;
        out->f = total / (double)s->nnum;
        break;
    case AGG_MIN:
        if (!s->have_float && s->first_type == STRATA_BOOL) {
            out->type = STRATA_COL_BOOL;
            out->i = s->imin;
        } else {
            put_number(out, s, s->min, s->imin, 1);
        }
        break;
    case AGG_MAX:
        if (!s->have_float && s->first_type == STRATA_BOOL) {
            out->type = STRATA_COL_BOOL;
            out->i = s->imax;
        } else {
            put_number(out, s, s->max, s->imax, 1);
        }
        break;
    case AGG_SPREAD:
        put_number(out, s, s->max - s->min, (__int128)s->imax - s->imin, 1);
        break;
    case AGG_STDDEV:
        if (s->w_n >= 2) {
            out->type = STRATA_COL_F64;
            out->f = sqrt(s->w_m2 / (double)(s->w_n - 1));
        }
        break;
    case AGG_MEDIAN:
    case AGG_PERCENTILE: {
        qsort(s->vals, s->nvals, sizeof *s->vals, cmp_double);
        size_t n = s->nvals;
        if (e->agg == AGG_MEDIAN) {
            out->type = STRATA_COL_F64;
            out->f = n % 2 ? s->vals[n / 2] : (s->vals[n / 2 - 1] + s->vals[n / 2]) / 2.0;
        } else {
            size_t rank = (size_t)ceil(e->param / 100.0 * (double)n);
            size_t idx = rank ? rank - 1 : 0;
            /* as an integer only for integer fields: a float's value may
             * lie outside any integer type (converting it is undefined) */
            double v = s->vals[idx];
            put_number(out, s, v, s->have_float ? 0 : (__int128)v, 1);
        }
        break;
    }
    case AGG_INTEGRAL:
        out->type = STRATA_COL_F64;
        out->f = s->area / unit;
        break;
    case AGG_DERIVATIVE:
    case AGG_RATE:
        if (s->deriv_n) {
            out->type = STRATA_COL_F64;
            out->f = s->deriv * unit;
        }
        break;
    default: break;
    }
}
