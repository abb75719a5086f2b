/*
 * exec.c — executing a planned query (see query.h), one group at a time.
 *
 * Aggregates: for every tag set of the group and every field the SELECT
 * aggregates, the series is read through iter_open_ex(); each chunk that
 * lies inside one bucket, that nothing else overlaps, and whose statistics
 * every aggregate of that field can use is taken from its index entry
 * (never decoded).  Such a chunk for stddev (with any of the aggregates
 * statistics answer) is taken from its statistics plus the moments of its
 * values: from the statistics when its values are all equal, else computed
 * by its value codec without decoding (exact integer sums for
 * f64-decimal); for aggregates that need no times, its values alone are
 * decoded.  Those reads happen after the iterator's offers, in order, each
 * chunk's bytes prefetched a few chunks ahead (a full scan is otherwise
 * bound by memory latency).  The other points are read and fed in blocks.  When
 * the WHERE clause tests field values, every point must be seen, so rows
 * are assembled per tag set (fields joined on time) and nothing is taken
 * from statistics.
 *
 * Rollups: a field entry whose aggregates rollup rows can all give (the
 * plan gives a field asked for others too a second entry, read raw) takes
 * whole rollup buckets where valid rollups cover them, the widest tier
 * first, and the raw series elsewhere.
 *
 * Raw fields: per tag set a cursor joins the selected (and condition)
 * fields on time; the group's cursors are merged by time through a heap.
 */
#include "query/query.h"

#include "compaction/rollup.h"
#include "engine/alloc.h"
#include "engine/err.h"
#include "engine/segment.h"
#include "engine/segment_format.h"
#include "engine/tmath.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FBUF 512

/* ---- per tag set: fields joined on time ---------------------------------------- */

typedef struct fstream {
    strata_iter *it;
    uint8_t type;
    int64_t ts[FBUF];
    uint64_t v[FBUF];
    size_t n, pos;
    int done;
} fstream;

typedef struct tcur {
    size_t t; /* index into q->tagsets */
    fstream *fs; /* one per field, it == NULL when the tag set lacks it */
    int64_t ts;  /* the current row */
    uint64_t *v; /* per field */
    uint8_t *has;
    int done;
} tcur;

struct rawcur {
    tcur *c;
    size_t n;
    size_t *heap, nheap;
};

static double bits_f(uint8_t type, uint64_t b)
{
    if (type == STRATA_F64) {
        double d;
        memcpy(&d, &b, sizeof d);
        return d;
    }
    return type == STRATA_I64 ? (double)(int64_t)b : (double)(b & 1);
}

static void note_stats(strata_query *q, strata_iter *it)
{
    iter_stats s;
    iter_get_stats(it, &s);
    q->st.chunks += s.chunks;
    q->st.chunks_summarized += s.chunks_summarized;
    q->st.points_summarized += s.points_summarized;
    q->st.chunks_decoded += s.chunks_decoded;
    q->st.points_decoded += s.points_decoded;
    q->st.head_points += s.head_points;
    q->series_read++;
}

static int fs_fill(strata_query *q, fstream *f)
{
    if (f->done || f->pos < f->n)
        return STRATA_OK;
    int rc = iter_next_raw(f->it, f->ts, f->v, FBUF, &f->n);
    f->pos = 0;
    if (rc == STRATA_DONE) {
        f->done = 1;
        note_stats(q, f->it);
        strata_iter_close(f->it);
        f->it = NULL;
        return STRATA_OK;
    }
    return rc == STRATA_ROW ? STRATA_OK : rc;
}

static void tcur_free(strata_query *q, tcur *c)
{
    if (!c->fs)
        return;
    for (size_t f = 0; f < q->nfields; f++)
        if (c->fs[f].it) {
            note_stats(q, c->fs[f].it);
            strata_iter_close(c->fs[f].it);
        }
    st_free(c->fs);
    st_free(c->v);
    st_free(c->has);
    memset(c, 0, sizeof *c);
}

static int tcur_open(strata_query *q, tcur *c, size_t t)
{
    memset(c, 0, sizeof *c);
    c->t = t;
    c->fs = st_calloc(q->nfields, sizeof *c->fs);
    c->v = st_calloc(q->nfields + 1, sizeof *c->v);
    c->has = st_calloc(q->nfields + 1, 1);
    if (!c->fs || !c->v || !c->has)
        return st_err(STRATA_NOMEM, "out of memory running a query");
    for (size_t f = 0; f < q->nfields; f++) {
        uint32_t sid = q->sid[t * q->nfields + f];
        c->fs[f].done = 1;
        if (sid == CAT_NONE)
            continue;
        c->fs[f].type = q->stype[t * q->nfields + f];
        int rc = iter_open_ex(q->db, sid, q->tmin, q->tmax, NULL, NULL, &c->fs[f].it);
        if (rc != STRATA_OK)
            return rc;
        c->fs[f].done = 0;
    }
    return STRATA_OK;
}

static int cond_holds(const strata_query *q, const tcur *c)
{
    const q_ast *a = &q->a;
    for (size_t i = 0; i < a->nfconds; i++) {
        size_t f = q->cond_field[i];
        if (!c->has[f])
            return 0;
        double x = bits_f(c->fs[f].type, c->v[f]), y = a->fconds[i].value;
        int ok = 0;
        switch (a->fconds[i].op) {
        case CMP_EQ: ok = x == y; break;
        case CMP_NE: ok = x != y; break;
        case CMP_LT: ok = x < y; break;
        case CMP_LE: ok = x <= y; break;
        case CMP_GT: ok = x > y; break;
        case CMP_GE: ok = x >= y; break;
        }
        if (!ok)
            return 0;
    }
    return 1;
}

/* Advance c to its next row that passes the conditions and has a selected
 * value; c->done at the end. */
static int tcur_next(strata_query *q, tcur *c)
{
    for (;;) {
        int64_t t = INT64_MAX;
        int any = 0;
        for (size_t f = 0; f < q->nfields; f++) {
            fstream *s = &c->fs[f];
            int rc = fs_fill(q, s);
            if (rc != STRATA_OK)
                return rc;
            if (!s->done && (!any || s->ts[s->pos] < t)) {
                t = s->ts[s->pos];
                any = 1;
            }
        }
        if (!any) {
            c->done = 1;
            return STRATA_OK;
        }
        int sel = 0;
        for (size_t f = 0; f < q->nfields; f++) {
            fstream *s = &c->fs[f];
            c->has[f] = !s->done && s->ts[s->pos] == t;
            if (c->has[f]) {
                c->v[f] = s->v[s->pos++];
                sel |= f < q->nsel_fields;
            }
        }
        if (sel && cond_holds(q, c)) {
            c->ts = t;
            return STRATA_OK;
        }
    }
}

/* ---- aggregates -------------------------------------------------------------------- */

typedef struct actx {
    strata_query *q;
    agg_state *st; /* nb x nex */
    size_t field;
    uint8_t type;
    int values_ok; /* every aggregate of this field works without times */
    uint64_t *vbuf; /* room for one chunk's values */
} actx;

static size_t bucket_of(const strata_query *q, int64_t ts)
{
    if (!q->width)
        return 0;
    return (size_t)(((__int128)ts - q->b0) / q->width);
}

/* The moments of a chunk's values from its statistics alone, when they
 * tell them: every value NaN, or all the others equal.  1 when they do. */
static int moments_from_stats(uint8_t type, const chunk_meta *m, codec_moments *out)
{
    const chunk_stats *st = &m->st;
    uint64_t nums = st->count - st->nan_count;
    *out = (codec_moments){0, 0, 0};
    if (type == STRATA_F64) {
        double lo, hi;
        memcpy(&lo, &st->min, sizeof lo);
        memcpy(&hi, &st->max, sizeof hi);
        if (nums && lo != hi)
            return 0;
        if (nums)
            *out = (codec_moments){nums, lo, isinf(lo) ? NAN : 0};
        return 1;
    }
    if (type != STRATA_I64 || st->min != st->max)
        return 0;
    *out = (codec_moments){st->count, (double)(int64_t)st->min, 0};
    return 1;
}

/* A chunk taken whole, to be read once the series' offers are over. */
typedef struct qchunk {
    chunk_meta m;
    const struct seg_reader *r;
    size_t b;    /* its bucket */
    int moments; /* stddev and statistics: segr_value_moments; else values */
} qchunk;

/* Statistics for every aggregate of the field, and moments for stddev. */
static void add_moments(strata_query *q, agg_state *row, size_t field, uint8_t type,
                        const chunk_meta *m, const codec_moments *mo)
{
    for (size_t e = 0; e < q->nex; e++)
        if (q->ex_field[e] == field) {
            agg_add_stats(&row[e], type, m);
            if (q->ex[e].agg == AGG_STDDEV)
                agg_add_moments(&row[e], mo->n, mo->mean, mo->m2);
        }
}

/* iter_chunk_fn: a chunk that lies in one bucket is taken from its
 * statistics when every aggregate of this field can use them; or, when the
 * others can and the rest are stddev, from its statistics and the moments
 * of its values (from the statistics, or computed by the value codec
 * without decoding: exact integer sums for f64-decimal); or else, if none
 * of the aggregates needs times, from its value column alone. */
static int take_chunk(void *arg, const chunk_meta *m, const struct seg_reader *r)
{
    actx *c = arg;
    strata_query *q = c->q;
    size_t b = bucket_of(q, m->tmin);
    if (b != bucket_of(q, m->tmax))
        return 0;
    agg_state *row = &c->st[b * q->nex];
    int stats_ok = 1, moments_ok = 1;
    for (size_t e = 0; e < q->nex; e++)
        if (q->ex_field[e] == c->field && !agg_from_stats_ok(q->ex[e].agg, c->type, &m->st)) {
            stats_ok = 0;
            moments_ok &= q->ex[e].agg == AGG_STDDEV;
        }
    if (stats_ok) {
        for (size_t e = 0; e < q->nex; e++)
            if (q->ex_field[e] == c->field)
                agg_add_stats(&row[e], c->type, m);
        return 1;
    }
    codec_moments mo;
    if (moments_ok && moments_from_stats(c->type, m, &mo)) {
        add_moments(q, row, c->field, c->type, m, &mo);
        return 1;
    }
    int use_moments = moments_ok && chunk_has_moments(c->type, m);
    if (!use_moments && !c->values_ok)
        return 0;
    /* its bytes are read after the offers, a few chunks ahead of use */
    if (q->nlater == q->later_cap) {
        size_t cap = q->later_cap ? 2 * q->later_cap : 64;
        qchunk *l = st_realloc(q->later, cap * sizeof *l);
        if (!l)
            return -st_err(STRATA_NOMEM, "out of memory running a query");
        q->later = l;
        q->later_cap = cap;
    }
    q->later[q->nlater++] = (qchunk){*m, r, b, use_moments};
    return 1;
}

/* Read the chunks take_chunk() kept for later: the moments of their values
 * (stddev with statistics) or their values, prefetching a few ahead. */
static int read_later(actx *c)
{
    strata_query *q = c->q;
    enum { AHEAD = 4 };
    int rc = STRATA_OK;
    if (q->nlater && !q->vbuf && !(q->vbuf = st_malloc(SEG_CHUNK_MAX * sizeof *q->vbuf)))
        rc = st_err(STRATA_NOMEM, "out of memory running a query");
    c->vbuf = q->vbuf;
    for (size_t k = 0; k < q->nlater && k < AHEAD; k++)
        segr_prefetch(q->later[k].r, &q->later[k].m);
    for (size_t k = 0; k < q->nlater && rc == STRATA_OK; k++) {
        if (k + AHEAD < q->nlater)
            segr_prefetch(q->later[k + AHEAD].r, &q->later[k + AHEAD].m);
        const qchunk *x = &q->later[k];
        agg_state *row = &c->st[x->b * q->nex];
        if (x->moments) {
            codec_moments mo;
            rc = segr_value_moments(x->r, &x->m, c->vbuf, &mo);
            if (rc == STRATA_OK)
                add_moments(q, row, c->field, c->type, &x->m, &mo);
            q->moment_chunks++;
            q->moment_points += x->m.st.count;
            continue;
        }
        rc = segr_decode_values(x->r, &x->m, c->vbuf);
        for (size_t e = 0; e < q->nex && rc == STRATA_OK; e++)
            if (q->ex_field[e] == c->field)
                rc = agg_add_block(&row[e], q->ex[e].agg, c->type, NULL, c->vbuf, x->m.st.count);
        q->values_only++;
        q->values_only_points += x->m.st.count;
    }
    q->nlater = 0;
    return rc;
}

static void series_end(strata_query *q, agg_state *st, size_t field, size_t blo, size_t bhi)
{
    for (size_t e = 0; e < q->nex; e++) {
        agg_kind k = q->ex[e].agg;
        if (q->ex_field[e] != field || (k != AGG_INTEGRAL && k != AGG_RATE && k != AGG_DERIVATIVE))
            continue;
        for (size_t b = blo; b <= bhi && b < q->nb; b++)
            agg_series_end(&st[b * q->nex + e], k);
    }
}

/* The points of series sid with lo <= ts < hi from raw data (segments
 * and heads), whole chunks taken by take_chunk where they can be. */
static int feed_raw(strata_query *q, actx *c, uint32_t sid, int64_t lo, int64_t hi, size_t *blo,
                    size_t *bhi)
{
    agg_state *st = c->st;
    size_t f = c->field;
    strata_iter *it = NULL;
    q->nlater = 0;
    int rc = iter_open_ex(q->db, sid, lo, hi, take_chunk, c, &it);
    if (rc == STRATA_OK)
        rc = read_later(c);
    if (rc != STRATA_OK) {
        if (it)
            strata_iter_close(it);
        return rc;
    }
    int64_t ts[FBUF];
    uint64_t v[FBUF];
    size_t n;
    while ((rc = iter_next_raw(it, ts, v, FBUF, &n)) == STRATA_ROW) {
        rc = STRATA_OK;
        /* runs of points in one bucket go in as blocks */
        for (size_t i = 0; i < n && rc == STRATA_OK;) {
            size_t b = bucket_of(q, ts[i]), j = i + 1;
            while (j < n && bucket_of(q, ts[j]) == b)
                j++;
            *blo = b < *blo ? b : *blo;
            *bhi = b > *bhi ? b : *bhi;
            for (size_t e = 0; e < q->nex && rc == STRATA_OK; e++)
                if (q->ex_field[e] == f)
                    rc = agg_add_block(&st[b * q->nex + e], q->ex[e].agg, c->type, ts + i, v + i,
                                       j - i);
            i = j;
        }
        if (rc != STRATA_OK)
            break;
    }
    note_stats(q, it);
    strata_iter_close(it);
    return rc == STRATA_DONE ? STRATA_OK : rc;
}

/* ---- rollups (compaction/rollup.h) ---------------------------------------------- */

/* Can every aggregate of field f be answered from rollup rows?  (The plan
 * gives a field's other aggregates a field entry of their own.) */
static int rollup_aggs_ok(const strata_query *q, size_t f)
{
    for (size_t e = 0; e < q->nex; e++)
        if (q->ex_field[e] == f && !agg_from_rollups_ok(q->ex[e].agg))
            return 0;
    return 1;
}

/* Whole rollup buckets of width w fit in the query's buckets. */
static int tier_fits(const strata_query *q, int64_t w)
{
    return q->width == 0 || (q->width % w == 0 && t_floor_to(q->b0, w) == q->b0);
}

/* Do the heads in view v (frozen) or the active one hold points of sid in
 * [lo, hi]? (Their points are not in any rollup yet.) */
static int head_touches(strata_query *q, const view *v, uint32_t sid, int64_t lo, int64_t hi)
{
    int64_t a, b;
    head_series *hs = v->frozen ? head_get(v->frozen, sid) : NULL;
    if (hs) {
        head_series_bounds(hs, &a, &b);
        if (a <= hi && b >= lo)
            return 1;
    }
    strata_db *db = q->db;
    int touch = 0;
    pthread_rwlock_rdlock(&db->head_lock);
    hs = head_get(db->active, sid);
    if (hs) {
        head_series_bounds(hs, &a, &b);
        touch = a <= hi && b >= lo;
    }
    pthread_rwlock_unlock(&db->head_lock);
    return touch;
}

typedef struct rctx {
    const view *v;
    unsigned mask; /* the statistics the field's aggregates use */
    int64_t widths[MAN_MAX_TIERS]; /* the valid rollups' widths, widest first */
    size_t nw;
    roll_rows rows[MAN_MAX_TIERS]; /* one per width (feed_range recurses) */
} rctx;

static int by_first_roll(const void *a, const void *b)
{
    const roll *x = *(const roll *const *)a, *y = *(const roll *const *)b;
    return x->first < y->first ? -1 : x->first > y->first;
}

/* Feed the rows with x <= bucket < y. */
static void feed_rows_between(strata_query *q, actx *c, const roll_rows *r, int64_t x, int64_t y)
{
    for (size_t i = 0; i < r->n; i++) {
        if (r->bucket[i] < x || r->bucket[i] >= y)
            continue;
        chunk_meta m;
        roll_rows_meta(r, i, &m);
        size_t b = bucket_of(q, m.tmin);
        int64_t hi = (int64_t)r->col[ROLL_SUM_HI][i];
        for (size_t e = 0; e < q->nex; e++)
            if (q->ex_field[e] == c->field) {
                agg_add_stats(&c->st[b * q->nex + e], c->type, &m);
                if (hi && m.st.count > m.st.nan_count)
                    c->st[b * q->nex + e].isum += (__int128)hi * ((__int128)1 << 64);
            }
        q->rollup_rows++;
        q->rollup_points += m.st.count;
    }
}

static int64_t ceil_w(int64_t t, int64_t w)
{
    int64_t f = t_floor_to(t, w);
    return f < t ? f + w : f;
}

/* [lo, hi) of series sid: from valid rollups of the ti-th width on (widest
 * first) where they answer, the gaps from finer ones, then raw data.
 * Ranges are whole partitions, far from the int64 limits, except lo/hi. */
static int feed_range(strata_query *q, actx *c, rctx *x, uint32_t sid, int64_t lo, int64_t hi,
                      size_t ti, size_t *blo, size_t *bhi)
{
    if (lo >= hi)
        return STRATA_OK;
    while (ti < x->nw && !tier_fits(q, x->widths[ti]))
        ti++;
    if (ti == x->nw)
        return feed_raw(q, c, sid, lo, hi, blo, bhi);
    int64_t w = x->widths[ti];
    roll_rows *rows = &x->rows[ti];
    const rollset *rs = x->v->rolls;
    const roll *sel[64];
    size_t ns = 0;
    for (size_t i = 0; i < rs->n && ns < 64; i++) {
        const roll *r = &rs->x[i];
        if (r->width == w && !r->stale && r->last >= lo && r->first < hi)
            sel[ns++] = r;
    }
    qsort(sel, ns, sizeof sel[0], by_first_roll);
    int64_t cur = lo;
    int rc = STRATA_OK;
    for (size_t i = 0; i < ns && rc == STRATA_OK; i++) {
        const roll *r = sel[i];
        /* the whole buckets of r inside [cur, hi) */
        int64_t a = ceil_w(r->first > cur ? r->first : cur, w);
        int64_t b = t_floor_to(r->last < hi - 1 ? r->last + 1 : hi, w);
        if (a >= b || !r->r || head_touches(q, x->v, sid, a, b - 1))
            continue; /* (an empty rollup has no rows: every series raw) */
        int got = roll_read(r->r, sid, rows, x->mask);
        if (got < 0)
            return -got;
        if (!got || rows->type != c->type)
            continue; /* absent: this range is read raw */
        q->rollup_segs++;
        /* the pieces of [a, b) between the ranges it sends to raw data */
        int64_t p = a;
        for (size_t k = 0; k <= rows->nraw && rc == STRATA_OK; k++) {
            int64_t end = b;
            if (k < rows->nraw) {
                if (rows->raw_hi[k] < p)
                    continue;
                end = t_floor_to(rows->raw_lo[k], w);
                end = end < b ? end : b;
            }
            if (end > p) {
                rc = feed_range(q, c, x, sid, cur, p, ti + 1, blo, bhi);
                feed_rows_between(q, c, rows, p, end);
                cur = end;
            }
            if (k < rows->nraw)
                p = rows->raw_hi[k] >= b - 1 ? b : ceil_w(rows->raw_hi[k] + 1, w);
            if (p >= b)
                break;
        }
    }
    return rc == STRATA_OK ? feed_range(q, c, x, sid, cur, hi, ti + 1, blo, bhi) : rc;
}

static int feed_series(strata_query *q, agg_state *st, size_t t, size_t f)
{
    uint32_t sid = q->sid[t * q->nfields + f];
    if (sid == CAT_NONE)
        return STRATA_OK;
    actx c = {q, st, f, q->stype[t * q->nfields + f], 1, NULL};
    for (size_t e = 0; e < q->nex; e++)
        if (q->ex_field[e] == f && agg_needs_time(q->ex[e].agg))
            c.values_ok = 0;
    size_t blo = SIZE_MAX, bhi = 0;
    int rc;
    view *v = db_view_get(q->db);
    if (v->rolls && rollup_aggs_ok(q, f)) {
        rctx x = {.v = v, .mask = 1u << ROLL_NANS};
        for (size_t e = 0; e < q->nex; e++) {
            if (q->ex_field[e] != f)
                continue;
            switch (q->ex[e].agg) {
            case AGG_SUM:
            case AGG_MEAN: x.mask |= 1u << ROLL_SUM | 1u << ROLL_SUM_HI; break;
            /* agg_add_stats() takes the pairs together: an unread minimum
             * (zero) would count as a value for the maximum */
            case AGG_MIN:
            case AGG_MAX:
            case AGG_SPREAD: x.mask |= 1u << ROLL_MIN | 1u << ROLL_MAX; break;
            case AGG_FIRST:
            case AGG_LAST:
                x.mask |= 1u << ROLL_FIRST | 1u << ROLL_FIRST_T | 1u << ROLL_LAST |
                          1u << ROLL_LAST_T;
                break;
            default: break;
            }
        }
        for (size_t i = 0; i < v->rolls->n; i++) {
            int64_t w = v->rolls->x[i].width;
            size_t k = 0;
            while (k < x.nw && x.widths[k] != w)
                k++;
            if (k == x.nw && x.nw < MAN_MAX_TIERS)
                x.widths[x.nw++] = w;
        }
        for (size_t i = 1; i < x.nw; i++) /* widest first */
            for (size_t k = i; k > 0 && x.widths[k] > x.widths[k - 1]; k--) {
                int64_t tmp = x.widths[k];
                x.widths[k] = x.widths[k - 1];
                x.widths[k - 1] = tmp;
            }
        /* a range bounded by the data (no time condition) extends to
         * whole buckets: nothing lies between them and the data */
        int64_t lo = q->tmin, hi = q->tmax;
        if (q->width && !q->a.has_tmin)
            lo = q->b0;
        if (q->width && !q->a.has_tmax) {
            __int128 end = (__int128)q->b0 + (__int128)q->nb * q->width;
            hi = end > INT64_MAX ? INT64_MAX : (int64_t)end;
        }
        rc = feed_range(q, &c, &x, sid, lo, hi, 0, &blo, &bhi);
        for (size_t i = 0; i < MAN_MAX_TIERS; i++)
            roll_rows_free(&x.rows[i]);
    } else {
        rc = feed_raw(q, &c, sid, q->tmin, q->tmax, &blo, &bhi);
    }
    view_unref(v);
    if (blo != SIZE_MAX)
        series_end(q, st, f, blo, bhi);
    return rc;
}

/* With field conditions: join the tag set's fields on time, feed rows. */
static int feed_rows(strata_query *q, agg_state *st, size_t t)
{
    tcur c;
    int rc = tcur_open(q, &c, t);
    size_t blo = SIZE_MAX, bhi = 0;
    while (rc == STRATA_OK && (rc = tcur_next(q, &c)) == STRATA_OK && !c.done) {
        size_t b = bucket_of(q, c.ts);
        blo = b < blo ? b : blo;
        bhi = b > bhi ? b : bhi;
        for (size_t e = 0; e < q->nex && rc == STRATA_OK; e++) {
            size_t f = q->ex_field[e];
            if (c.has[f])
                rc = agg_add(&st[b * q->nex + e], q->ex[e].agg, c.fs[f].type, c.ts, c.v[f]);
        }
    }
    if (blo != SIZE_MAX)
        for (size_t f = 0; f < q->nsel_fields; f++)
            series_end(q, st, f, blo, bhi);
    tcur_free(q, &c);
    return rc;
}

static int is_selector_query(const strata_query *q, agg_kind k)
{
    for (size_t e = 0; e < q->nex; e++)
        if (q->ex[e].agg != k)
            return 0;
    return 1;
}

/* FILL(linear): each run [s, t) of empty buckets gets, per value, the
 * straight line between buckets s - 1 and t when both exist and hold a
 * value.  One pass over the buckets, whatever the runs' lengths. */
static void fill_linear(strata_query *q)
{
    for (size_t s = 0; s < q->nb;) {
        if (q->present[s]) {
            s++;
            continue;
        }
        size_t t = s;
        while (t < q->nb && !q->present[t])
            t++;
        for (size_t e = 0; s > 0 && t < q->nb && e < q->nex; e++) {
            const agg_value *x = &q->vals[(s - 1) * q->nex + e], *y = &q->vals[t * q->nex + e];
            if (x->type == STRATA_COL_NULL || y->type == STRATA_COL_NULL)
                continue;
            double xv = x->type == STRATA_COL_F64 ? x->f : (double)x->i;
            double yv = y->type == STRATA_COL_F64 ? y->f : (double)y->i;
            for (size_t b = s; b < t; b++) {
                agg_value *v = &q->vals[b * q->nex + e];
                if (v->type != STRATA_COL_NULL)
                    continue;
                double frac = (double)(b - (s - 1)) / (double)(t - (s - 1));
                v->type = STRATA_COL_F64;
                v->f = xv + (yv - xv) * frac;
            }
        }
        s = t;
    }
}

static void apply_fill(strata_query *q)
{
    q_ast *a = &q->a;
    if (!q->width || a->fill == FILL_NULL || a->fill == FILL_NONE)
        return;
    if (a->fill == FILL_LINEAR) {
        fill_linear(q);
        return;
    }
    for (size_t e = 0; e < q->nex; e++) {
        for (size_t b = 0; b < q->nb; b++) {
            agg_value *v = &q->vals[b * q->nex + e];
            if (v->type != STRATA_COL_NULL || q->present[b])
                continue;
            if (a->fill == FILL_VALUE) {
                int rt = agg_result_type(q->ex[e].agg, q->ftypes[q->ex_field[e]]);
                if (rt == STRATA_COL_I64 && a->fill_value == (double)(int64_t)a->fill_value) {
                    v->type = STRATA_COL_I64;
                    v->i = (int64_t)a->fill_value;
                } else {
                    v->type = STRATA_COL_F64;
                    v->f = a->fill_value;
                }
            } else if (b > 0) { /* FILL_PREVIOUS */
                *v = q->vals[(b - 1) * q->nex + e];
            }
        }
    }
}

/* last() alone, one bucket: each series' newest chunk entry answers it
 * (iter_series_last); 1 when it did, 0 when the series must be read. */
static int feed_last(strata_query *q, agg_state *st, size_t t, size_t f, int *rc)
{
    uint32_t sid = q->sid[t * q->nfields + f];
    if (sid == CAT_NONE)
        return 1;
    int64_t ts;
    uint64_t v;
    int r = iter_series_last(q->db, sid, q->tmin, q->tmax, &ts, &v);
    if (r < 0) {
        *rc = -r;
        return 1;
    }
    if (r == 2)
        return 0;
    if (r == 0) {
        /* none in raw data: the rollups may still have one (raw data
         * expired); a point in raw data is newer than any in rollups */
        view *vw = db_view_get(q->db);
        int rolls = vw->rolls != NULL;
        view_unref(vw);
        if (rolls)
            return 0;
    }
    q->series_read++;
    q->last_fast++;
    for (size_t e = 0; e < q->nex && r == 1 && *rc == STRATA_OK; e++)
        if (q->ex_field[e] == f)
            *rc = agg_add(&st[e], AGG_LAST, q->stype[t * q->nfields + f], ts, v);
    return 1;
}

static int load_agg_group(strata_query *q, const qgroup *g)
{
    size_t cells = q->nb * q->nex;
    agg_state *st = st_calloc(cells ? cells : 1, sizeof *st);
    if (!st)
        return st_err(STRATA_NOMEM, "out of memory: %zu buckets x %zu columns", q->nb, q->nex);
    int rc = STRATA_OK;
    int last_only = !q->width && !q->a.nfconds && is_selector_query(q, AGG_LAST);
    for (size_t k = 0; k < g->n && rc == STRATA_OK; k++) {
        size_t t = g->tagsets[k];
        if (q->a.nfconds) {
            rc = feed_rows(q, st, t);
        } else {
            for (size_t f = 0; f < q->nsel_fields && rc == STRATA_OK; f++)
                if (!(last_only && feed_last(q, st, t, f, &rc)) && rc == STRATA_OK)
                    rc = feed_series(q, st, t, f);
        }
    }
    if (rc == STRATA_OK) {
        st_free(q->vals);
        st_free(q->present);
        st_free(q->btime);
        q->vals = st_calloc(cells ? cells : 1, sizeof *q->vals);
        q->present = st_calloc(q->nb ? q->nb : 1, 1);
        q->btime = st_calloc(q->nb ? q->nb : 1, sizeof *q->btime);
        if (!q->vals || !q->present || !q->btime)
            rc = st_err(STRATA_NOMEM, "out of memory running a query");
    }
    int last_sel = is_selector_query(q, AGG_LAST), first_sel = is_selector_query(q, AGG_FIRST);
    for (size_t b = 0; b < q->nb && rc == STRATA_OK; b++) {
        /* in 128 bits: b * width alone may pass int64 when the buckets
         * span most of it; the bucket's start does not */
        q->btime[b] = q->width ? (int64_t)((__int128)q->b0 + (__int128)b * q->width) : q->b0;
        int64_t sel_t = last_sel ? INT64_MIN : INT64_MAX;
        for (size_t e = 0; e < q->nex; e++) {
            agg_state *s = &st[b * q->nex + e];
            if (s->count) {
                q->present[b] = 1;
                if (last_sel && s->last_t > sel_t)
                    sel_t = s->last_t;
                if (first_sel && s->first_t < sel_t)
                    sel_t = s->first_t;
            }
            agg_final(s, &q->ex[e], &q->vals[b * q->nex + e]);
        }
        if (!q->width && q->present[b] && (last_sel || first_sel))
            q->btime[b] = sel_t; /* a selector without time buckets: the point's time */
    }
    for (size_t i = 0; i < cells; i++)
        agg_free(&st[i]);
    st_free(st);
    if (rc == STRATA_OK)
        apply_fill(q);
    q->bpos = 0;
    q->emitted = 0;
    return rc;
}

/* The next bucket row of the loaded group; 0 when the group is done. */
static int next_agg_row(strata_query *q, const qgroup *g)
{
    q_ast *a = &q->a;
    while (q->bpos < q->nb) {
        if (a->limit && q->emitted >= (size_t)a->limit)
            return 0;
        size_t b = a->desc ? q->nb - 1 - q->bpos : q->bpos;
        q->bpos++;
        if (!q->present[b] && (a->fill == FILL_NONE || !q->width))
            continue;
        q->row[0] = (qcell){STRATA_COL_TIME, 0, q->btime[b], NULL};
        for (size_t c = 0; c < q->ngcols; c++)
            q->row[1 + c] = (qcell){STRATA_COL_TEXT, 0, 0, g->vals[c]};
        for (size_t e = 0; e < q->nex; e++) {
            const agg_value *v = &q->vals[b * q->nex + e];
            q->row[1 + q->ngcols + e] = (qcell){v->type, v->f, v->i, NULL};
        }
        q->emitted++;
        return 1;
    }
    return 0;
}

/* ---- raw rows -------------------------------------------------------------------- */

static int heap_less(const rawcur *r, size_t a, size_t b)
{
    const tcur *x = &r->c[r->heap[a]], *y = &r->c[r->heap[b]];
    return x->ts < y->ts || (x->ts == y->ts && x->t < y->t);
}

static void heap_down(rawcur *r, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < r->nheap && heap_less(r, l, m))
            m = l;
        if (l + 1 < r->nheap && heap_less(r, l + 1, m))
            m = l + 1;
        if (m == i)
            return;
        size_t tmp = r->heap[i];
        r->heap[i] = r->heap[m];
        r->heap[m] = tmp;
        i = m;
    }
}

static void raw_free(strata_query *q)
{
    if (!q->cur)
        return;
    for (size_t i = 0; i < q->cur->n; i++)
        tcur_free(q, &q->cur->c[i]);
    st_free(q->cur->c);
    st_free(q->cur->heap);
    st_free(q->cur);
    q->cur = NULL;
}

static int open_raw_group(strata_query *q, const qgroup *g)
{
    raw_free(q);
    rawcur *r = st_calloc(1, sizeof *r);
    if (!r)
        return st_err(STRATA_NOMEM, "out of memory running a query");
    q->cur = r;
    r->c = st_calloc(g->n + 1, sizeof *r->c);
    r->heap = st_calloc(g->n + 1, sizeof *r->heap);
    if (!r->c || !r->heap)
        return st_err(STRATA_NOMEM, "out of memory running a query");
    r->n = g->n;
    for (size_t k = 0; k < g->n; k++) {
        int rc = tcur_open(q, &r->c[k], g->tagsets[k]);
        if (rc == STRATA_OK)
            rc = tcur_next(q, &r->c[k]);
        if (rc != STRATA_OK)
            return rc;
        if (!r->c[k].done)
            r->heap[r->nheap++] = k;
    }
    for (size_t i = r->nheap; i-- > 0;)
        heap_down(r, i);
    return STRATA_OK;
}

static void fill_raw_row(strata_query *q, const qgroup *g, int64_t ts, const qcell *vals)
{
    q->row[0] = (qcell){STRATA_COL_TIME, 0, ts, NULL};
    for (size_t c = 0; c < q->ngcols; c++)
        q->row[1 + c] = (qcell){STRATA_COL_TEXT, 0, 0, g->vals[c]};
    for (size_t e = 0; e < q->nex; e++)
        q->row[1 + q->ngcols + e] = vals[q->ex_field[e]];
}

static void cell_of(qcell *out, uint8_t type, uint64_t bits)
{
    if (type == STRATA_F64) {
        out->type = STRATA_COL_F64;
        memcpy(&out->f, &bits, sizeof out->f);
    } else {
        out->type = type == STRATA_I64 ? STRATA_COL_I64 : STRATA_COL_BOOL;
        out->i = type == STRATA_I64 ? (int64_t)bits : (int64_t)(bits & 1);
    }
}

/* The next merged row of the group (ascending); 0 at the end. */
static int next_raw_merged(strata_query *q, int64_t *ts, qcell *vals, int *rc)
{
    rawcur *r = q->cur;
    *rc = STRATA_OK;
    if (!r->nheap)
        return 0;
    tcur *c = &r->c[r->heap[0]];
    *ts = c->ts;
    for (size_t f = 0; f < q->nsel_fields; f++) {
        vals[f] = (qcell){STRATA_COL_NULL, 0, 0, NULL};
        if (c->has[f])
            cell_of(&vals[f], c->fs[f].type, c->v[f]);
    }
    *rc = tcur_next(q, c);
    if (*rc != STRATA_OK)
        return 0;
    if (c->done)
        r->heap[0] = r->heap[--r->nheap];
    heap_down(r, 0);
    return 1;
}

static int next_raw_row(strata_query *q, const qgroup *g, int *rc)
{
    q_ast *a = &q->a;
    *rc = STRATA_OK;
    if (a->limit && q->emitted >= (size_t)a->limit)
        return 0;
    if (!a->desc) {
        qcell *vals = q->row + q->ncols; /* scratch after the row */
        int64_t ts;
        if (!next_raw_merged(q, &ts, vals, rc))
            return 0;
        fill_raw_row(q, g, ts, vals);
        q->emitted++;
        return 1;
    }
    if (q->rpos == 0) /* serve the buffered group backwards */
        return 0;
    q->rpos--;
    fill_raw_row(q, g, q->rts[q->rpos], &q->rvals[q->rpos * q->nsel_fields]);
    q->emitted++;
    return 1;
}

/* DESC: read the whole group, then serve it from the end. */
static int buffer_raw_group(strata_query *q)
{
    q->rn = 0;
    int64_t ts;
    int rc;
    qcell *vals = q->row + q->ncols;
    while (next_raw_merged(q, &ts, vals, &rc)) {
        if (q->rn == q->rcap) {
            size_t cap = q->rcap ? q->rcap * 2 : 1024;
            int64_t *t = st_realloc(q->rts, cap * sizeof *t);
            if (t)
                q->rts = t;
            qcell *v = st_realloc(q->rvals, cap * (q->nsel_fields ? q->nsel_fields : 1) * sizeof *v);
            if (v)
                q->rvals = v;
            if (!t || !v)
                return st_err(STRATA_NOMEM, "out of memory ordering rows by time DESC");
            q->rcap = cap;
        }
        q->rts[q->rn] = ts;
        memcpy(&q->rvals[q->rn * q->nsel_fields], vals, q->nsel_fields * sizeof *vals);
        q->rn++;
    }
    q->rpos = q->rn;
    return rc;
}

/* ---- stepping ------------------------------------------------------------------ */

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* Remember the failure of a step (code, extended code, message). */
static int fail(strata_query *q, int rc)
{
    q->err = rc;
    q->err_ext = st_errcode();
    const char *m = st_errmsg();
    q->errmsg = st_strndup(m, strlen(m));
    return rc;
}

int query_exec_step(strata_query *q)
{
    if (q->err)
        return st_err(q->err_ext ? q->err_ext : q->err, "%s",
                      q->errmsg ? q->errmsg : "the query failed earlier");
    if (q->finished)
        return STRATA_DONE;
    double t0 = now_ms();
    int rc = STRATA_OK, got = 0;
    if (!q->row || q->ncols == 0) {
        q->finished = 1;
        return STRATA_DONE;
    }
    while (!got && rc == STRATA_OK) {
        if (!q->loaded) {
            if (q->gi >= q->ngroups || q->nb == 0) {
                q->finished = 1;
                break;
            }
            const qgroup *g = &q->groups[q->gi];
            q->emitted = 0;
            if (q->raw) {
                rc = open_raw_group(q, g);
                if (rc == STRATA_OK && q->a.desc)
                    rc = buffer_raw_group(q);
            } else {
                rc = load_agg_group(q, g);
            }
            q->loaded = 1;
            continue;
        }
        const qgroup *g = &q->groups[q->gi];
        got = q->raw ? next_raw_row(q, g, &rc) : next_agg_row(q, g);
        if (!got && rc == STRATA_OK) {
            q->loaded = 0;
            q->gi++;
            if (q->raw)
                raw_free(q);
        }
    }
    q->exec_ms += now_ms() - t0;
    if (rc != STRATA_OK)
        return fail(q, rc);
    if (got) {
        q->rows_out++;
        return STRATA_ROW;
    }
    return STRATA_DONE;
}

void query_exec_free(strata_query *q)
{
    raw_free(q);
    st_free(q->errmsg);
    st_free(q->later);
    st_free(q->vbuf);
    st_free(q->vals);
    st_free(q->present);
    st_free(q->btime);
    st_free(q->rts);
    st_free(q->rvals);
}
