/*
 * reports.c — the union of several series' timestamps as runs (see
 * reports.h).
 *
 * Each series is a source.  Opening its iterator offers every chunk that
 * lies wholly in the range and that no other source of the series
 * overlaps; the source takes them all (their points leave the iterator's
 * merge) and keeps their index entries, sorted by time:
 *   - evenly spaced by proof (CODEC_TS_LINEAR with an empty time column, or
 *     at most two points, which tmin and tmax give): a run, never decoded;
 *   - otherwise: its time column alone is decoded when the merge reaches it.
 * The iterator still yields the points of the other chunks and of the
 * heads, de-duplicated; none of them lies in the span of a taken chunk.
 *
 * A source's current item is a run: an evenly spaced chunk, or the longest
 * stretch of equal deltas in its decoded buffer that stays below its next
 * taken chunk.  The merge takes the smallest current start t; when every
 * source starting at t has a run of the same step, it emits the common
 * prefix of those runs that stays below every other source's start, else
 * the single time t; each source starting at t drops what was emitted.
 * Emitted runs are coalesced when one continues the previous.
 *
 * Invariants: a source's items are strictly increasing and disjoint; the
 * merge emits strictly increasing times, each once.
 */
#include "query/reports.h"

#include "engine/alloc.h"
#include "engine/codec.h"
#include "engine/err.h"
#include "engine/iter.h"
#include "engine/segment.h"
#include "engine/segment_format.h"

#include <stdlib.h>
#include <string.h>

#define BLOCK 1024

typedef struct taken {
    chunk_meta m;
    const seg_reader *r;
    uint64_t step; /* evenly spaced (by proof): its step; else decode */
    int even;
} taken;

typedef struct rsrc {
    strata_iter *it;
    rep_stats *st;
    taken *tk;
    size_t ntk, cap, itk;
    /* the decoded times of a taken chunk (while from_chunk) */
    int64_t *buf;
    size_t n, pos;
    int from_chunk;
    int64_t *ibuf; /* the iterator's block of points (ipos..in), and values */
    uint64_t *vbuf;
    size_t in, ipos;
    int idone;
    rep_run cur; /* cur.n == 0: none yet */
    int done;
} rsrc;

struct reports {
    rsrc *s;
    size_t ns;
    rep_run pend; /* pend.n == 0: nothing pending */
    int err;
};

/* Offered a chunk (iter_chunk_fn): take it, knowing its times or not. */
static int take_chunk(void *ctx, const chunk_meta *m, const seg_reader *r)
{
    rsrc *s = ctx;
    if (s->ntk == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        taken *a = st_realloc(s->tk, cap * sizeof *a);
        if (!a)
            return -st_err(STRATA_NOMEM, "out of memory reading report times");
        s->tk = a;
        s->cap = cap;
    }
    taken *t = &s->tk[s->ntk++];
    t->m = *m;
    t->r = r;
    uint32_t n = m->st.count;
    uint64_t span = (uint64_t)m->tmax - (uint64_t)m->tmin;
    t->even = n <= 2 || (m->ts_codec == CODEC_TS_LINEAR && m->ts_len == 0 && span % (n - 1) == 0);
    t->step = n >= 2 && t->even ? span / (n - 1) : 0;
    return 1;
}

static int by_tmin(const void *a, const void *b)
{
    const taken *x = a, *y = b;
    return x->m.tmin < y->m.tmin ? -1 : x->m.tmin > y->m.tmin;
}

int reports_open(strata_db *db, const uint32_t *sids, size_t n, int64_t from, int64_t to,
                 rep_stats *st, reports **out)
{
    *out = NULL;
    reports *r = st_calloc(1, sizeof *r);
    if (!r || !(r->s = st_calloc(n ? n : 1, sizeof *r->s))) {
        st_free(r);
        return st_err(STRATA_NOMEM, "out of memory reading report times");
    }
    r->ns = n;
    int rc = STRATA_OK;
    for (size_t i = 0; i < n && rc == STRATA_OK; i++) {
        rsrc *s = &r->s[i];
        s->st = st;
        rc = iter_open_ex(db, sids[i], from, to, take_chunk, s, &s->it);
        if (rc != STRATA_OK)
            break;
        if (s->ntk > 1)
            qsort(s->tk, s->ntk, sizeof *s->tk, by_tmin);
        iter_stats is;
        iter_get_stats(s->it, &is);
        st->head_points += is.head_points;
        for (size_t k = 0; k < s->ntk; k++)
            st->chunks_indexed += s->tk[k].even;
        s->ibuf = st_malloc(BLOCK * sizeof *s->ibuf);
        s->vbuf = st_malloc(BLOCK * sizeof *s->vbuf);
        if (!s->ibuf || !s->vbuf)
            rc = st_err(STRATA_NOMEM, "out of memory reading report times");
    }
    if (rc != STRATA_OK) {
        reports_close(r);
        return rc;
    }
    *out = r;
    return STRATA_OK;
}

void reports_close(reports *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->ns; i++) {
        rsrc *s = &r->s[i];
        if (s->it) { /* what the iterator decoded itself */
            iter_stats is;
            iter_get_stats(s->it, &is);
            s->st->chunks_decoded += is.chunks_decoded;
            s->st->points_decoded += is.points_decoded;
        }
        strata_iter_close(s->it);
        st_free(s->tk);
        if (s->from_chunk)
            st_free(s->buf);
        st_free(s->ibuf);
        st_free(s->vbuf);
    }
    st_free(r->s);
    st_free(r);
}

/* The run of equal deltas in buf starting at pos, below lim (the next
 * taken chunk's start; INT64_MAX: none); pos moves past it. */
static rep_run cut_run(const int64_t *buf, size_t n, size_t *pos, int64_t lim, int has_lim)
{
    size_t a = *pos, b = a + 1;
    rep_run run = {buf[a], 0, 1};
    if (b < n && (!has_lim || buf[b] < lim)) {
        run.step = (uint64_t)buf[b] - (uint64_t)buf[a];
        while (b < n && (!has_lim || buf[b] < lim) &&
               (uint64_t)buf[b] - (uint64_t)buf[b - 1] == run.step)
            b++;
        run.n = b - a;
    }
    *pos = b;
    return run;
}

/* Make s->cur the source's next item (or set s->done). */
static int src_fill(rsrc *s)
{
    while (!s->done && s->cur.n == 0) {
        if (s->from_chunk) {
            if (s->pos < s->n) {
                s->cur = cut_run(s->buf, s->n, &s->pos, 0, 0);
                break;
            }
            st_free(s->buf);
            s->buf = NULL;
            s->from_chunk = 0;
        }
        if (s->ipos == s->in && !s->idone) {
            int rc = iter_next_raw(s->it, s->ibuf, s->vbuf, BLOCK, &s->in);
            if (rc != STRATA_ROW && rc != STRATA_DONE)
                return rc;
            s->ipos = 0;
            s->idone = rc == STRATA_DONE;
        }
        int has_tk = s->itk < s->ntk, has_pt = s->ipos < s->in;
        if (!has_tk && !has_pt) {
            s->done = 1;
            break;
        }
        if (has_tk && (!has_pt || s->tk[s->itk].m.tmin < s->ibuf[s->ipos])) {
            const taken *t = &s->tk[s->itk++];
            if (t->even) {
                s->cur = (rep_run){t->m.tmin, t->step, t->m.st.count};
                break;
            }
            s->buf = st_malloc((size_t)t->m.st.count * sizeof *s->buf);
            if (!s->buf)
                return st_err(STRATA_NOMEM, "out of memory reading report times");
            s->from_chunk = 1;
            int rc = segr_decode_times(t->r, &t->m, s->buf);
            if (rc != STRATA_OK)
                return rc;
            s->n = t->m.st.count;
            s->pos = 0;
            s->st->chunks_decoded++;
            s->st->points_decoded += s->n;
            continue;
        }
        s->cur = cut_run(s->ibuf, s->in, &s->ipos, has_tk ? s->tk[s->itk].m.tmin : 0, has_tk);
    }
    return STRATA_OK;
}

/* Drop the first k times of s->cur. */
static void src_drop(rsrc *s, uint64_t k)
{
    s->cur.t0 = (int64_t)((uint64_t)s->cur.t0 + k * s->cur.step);
    s->cur.n -= k;
}

/* The next run of the union, not coalesced. */
static int merge_next(reports *r, rep_run *out)
{
    int64_t t = 0;
    int any = 0;
    for (size_t i = 0; i < r->ns; i++) {
        rsrc *s = &r->s[i];
        int rc = src_fill(s);
        if (rc != STRATA_OK)
            return rc;
        if (!s->done && (!any || s->cur.t0 < t)) {
            t = s->cur.t0;
            any = 1;
        }
    }
    if (!any)
        return STRATA_DONE;
    /* b: the smallest start after t; the common step and length at t */
    int64_t b = INT64_MAX;
    int has_b = 0, same = 1;
    uint64_t step = 0, len = UINT64_MAX;
    for (size_t i = 0; i < r->ns; i++) {
        const rsrc *s = &r->s[i];
        if (s->done)
            continue;
        if (s->cur.t0 != t) {
            if (s->cur.t0 < b)
                b = s->cur.t0;
            has_b = 1;
            continue;
        }
        if (s->cur.n < 2 || (step && s->cur.step != step))
            same = 0;
        step = s->cur.step;
        len = s->cur.n < len ? s->cur.n : len;
    }
    if (!same)
        len = 1;
    if (len > 1 && has_b) {
        uint64_t below = ((uint64_t)b - (uint64_t)t - 1) / step + 1; /* times in [t, b) */
        len = below < len ? below : len;
    }
    for (size_t i = 0; i < r->ns; i++) {
        rsrc *s = &r->s[i];
        if (!s->done && s->cur.t0 == t)
            src_drop(s, len);
    }
    *out = (rep_run){t, len > 1 ? step : 0, len};
    return STRATA_ROW;
}

/* Append run b to run a when it continues it: 1, else 0. */
static int coalesce(rep_run *a, const rep_run *b)
{
    uint64_t d = (uint64_t)b->t0 - (uint64_t)rep_run_last(a);
    if (a->n == 1 && (b->n == 1 || b->step == d)) {
        a->step = d;
        a->n += b->n;
        return 1;
    }
    if (a->n > 1 && d == a->step && (b->n == 1 || b->step == d)) {
        a->n += b->n;
        return 1;
    }
    return 0;
}

int reports_next(reports *r, rep_run *out)
{
    if (r->err)
        return r->err;
    for (;;) {
        rep_run nx;
        int rc = merge_next(r, &nx);
        if (rc == STRATA_DONE) {
            if (!r->pend.n)
                return STRATA_DONE;
            *out = r->pend;
            r->pend.n = 0;
            return STRATA_ROW;
        }
        if (rc != STRATA_ROW) {
            r->err = rc;
            return rc;
        }
        if (!r->pend.n) {
            r->pend = nx;
            continue;
        }
        if (coalesce(&r->pend, &nx))
            continue;
        *out = r->pend;
        r->pend = nx;
        return STRATA_ROW;
    }
}
