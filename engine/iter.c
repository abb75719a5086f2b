/*
 * iter.c — the series iterator: a k-way merge of sorted sources with
 * de-duplication on read.
 *
 * Sources, oldest first: every segment of the iterator's view that holds
 * the series in the range (ascending segment id), then the view's frozen
 * head, then a copy of the active head taken when the iterator opened.
 * Each source is sorted with one point per timestamp.  When several
 * sources have the same timestamp, the newest source's value wins — the
 * same rule as the write path (last write wins), because of two segments
 * that overlap in time the one with the higher id holds the later writes
 * (flushes in order; compaction keeps it so, FORMAT.md §2.5), and the
 * heads are newer than every segment.
 *
 * Segment sources decode one chunk at a time (chunks outside the range are
 * skipped from the index alone), so memory is bounded by one chunk per
 * source.  Runs where one source is alone below all others are copied in
 * blocks.
 *
 * Deletions: a tombstone of the view (FORMAT.md §7.2) hides the series'
 * points in its time span from every segment whose id is below its
 * horizon.  Such a segment source drops those points when it decodes a
 * chunk, and a chunk a tombstone touches is never offered whole.  Heads
 * hold only writes made after any live tombstone (a delete flushes the
 * head first), so they are never filtered.
 */
#include "engine/iter.h"

#include "compaction/rollup.h"

#include "engine/alloc.h"
#include "engine/db.h"
#include "engine/err.h"
#include "engine/segment_format.h"

#include <stddef.h>
#include <string.h>

typedef struct src {
    int64_t *ts;
    uint64_t *v;
    size_t n, pos;
    int is_seg, done;
    /* segment sources: the next chunk, read from the index but not yet
     * decoded (pending), and its lower bound */
    int pending;
    chunk_meta m;
    int64_t bound;
    seg_cursor c;
    seg_reader *r;
    /* planned (chunks offered to the caller): the in-range chunks still to
     * read, in order, instead of walking the index again */
    int planned;
    chunk_meta *todo;
    size_t ntodo, itodo;
    int64_t lo, hi; /* time span of this source's chunks in range */
    uint8_t *ntaken; /* while offering: which todo chunks the caller took */
    /* the series' tombstones (those with a horizon above the segment's id
     * apply): a slice of the view's tombset */
    const man_tomb *tombs;
    size_t ntombs;
} src;

#define NEXT_BUF 256

struct strata_iter {
    strata_db *db;
    view *v;
    uint32_t sid;
    uint8_t type;
    int64_t from, to; /* to == INT64_MAX: no upper bound */
    src *s;
    size_t ns, cap;
    int err;
    size_t nn, npos; /* strata_iter_next()'s place in nts/nv */
    iter_stats stats;
    /* strata_iter_next() serves single points from this block (last: an
     * open clears only what comes before it) */
    int64_t nts[NEXT_BUF];
    uint64_t nv[NEXT_BUF];
};

static int in_range(const strata_iter *it, int64_t t)
{
    return t >= it->from && (t < it->to || it->to == INT64_MAX);
}

/* Bring src to a state where it has a current point, a pending chunk (only
 * its lower bound known), or is done. */
static int advance(strata_iter *it, src *s)
{
    while (!s->done && !s->pending && s->pos >= s->n) {
        if (!s->is_seg) {
            s->done = 1;
            break;
        }
        if (s->planned) {
            if (s->itodo == s->ntodo) {
                s->done = 1;
                break;
            }
            s->m = s->todo[s->itodo++];
            s->pending = 1;
            s->bound = s->m.tmin > it->from ? s->m.tmin : it->from;
            break;
        }
        int rc = segr_next_chunk(&s->c, &s->m);
        if (rc == STRATA_DONE) {
            s->done = 1;
            break;
        }
        if (rc != STRATA_ROW)
            return rc;
        if (s->m.tmax < it->from)
            continue;
        if (s->m.tmin >= it->to && it->to != INT64_MAX) {
            s->done = 1;
            break;
        }
        s->pending = 1;
        s->bound = s->m.tmin > it->from ? s->m.tmin : it->from;
    }
    return STRATA_OK;
}

/* 1 when a tombstone of segment source s hides some of [lo, hi]. */
static int tombs_touch(const src *s, int64_t lo, int64_t hi)
{
    uint64_t id = s->is_seg ? segr_info(s->r)->id : UINT64_MAX;
    for (size_t k = 0; k < s->ntombs; k++) {
        const man_tomb *t = &s->tombs[k];
        if (id < t->horizon && t->from <= hi && t->to >= lo)
            return 1;
    }
    return 0;
}

/* Drop the points of s->ts/v[pos, n) that its tombstones hide. */
static void tombs_filter(src *s)
{
    uint64_t id = segr_info(s->r)->id;
    size_t keep = s->pos;
    for (size_t i = s->pos; i < s->n; i++) {
        int64_t t = s->ts[i];
        int hidden = 0;
        for (size_t k = 0; k < s->ntombs && !hidden; k++)
            hidden = id < s->tombs[k].horizon && t >= s->tombs[k].from && t <= s->tombs[k].to;
        if (!hidden) {
            s->ts[keep] = t;
            s->v[keep] = s->v[i];
            keep++;
        }
    }
    s->n = keep;
}

/* Decode src's pending chunk, keeping the points inside the range. */
static int decode_pending(strata_iter *it, src *s)
{
    if (!s->ts) {
        s->ts = st_malloc(SEG_CHUNK_MAX * sizeof *s->ts);
        s->v = st_malloc(SEG_CHUNK_MAX * sizeof *s->v);
        if (!s->ts || !s->v)
            return st_err(STRATA_NOMEM, "out of memory reading a series");
    }
    int rc = segr_decode(s->r, &s->m, s->ts, s->v);
    if (rc != STRATA_OK)
        return rc;
    it->stats.chunks_decoded++;
    it->stats.points_decoded += s->m.st.count;
    size_t a = 0, b = s->m.st.count;
    while (a < b && s->ts[a] < it->from)
        a++;
    while (b > a && !in_range(it, s->ts[b - 1]))
        b--;
    s->pos = a;
    s->n = b;
    s->pending = 0;
    if (s->ntombs && tombs_touch(s, s->m.tmin, s->m.tmax))
        tombs_filter(s);
    return advance(it, s); /* the chunk may hold nothing in range */
}

/* The smallest timestamp src can produce next (exact unless pending). */
static int64_t src_next(const src *s)
{
    return s->pending ? s->bound : s->ts[s->pos];
}

static int add_src(strata_iter *it, src *s)
{
    if (it->ns == it->cap) {
        size_t cap = it->cap ? 2 * it->cap : 8;
        src *a = st_realloc(it->s, cap * sizeof *a);
        if (!a)
            return st_err(STRATA_NOMEM, "out of memory opening an iterator");
        it->s = a;
        it->cap = cap;
    }
    it->s[it->ns++] = *s;
    return STRATA_OK;
}

static int add_head(strata_iter *it, const head *h)
{
    head_series *hs = h ? head_get(h, it->sid) : NULL;
    if (!hs)
        return STRATA_OK;
    src s = {0};
    int rc = head_collect(hs, it->from, it->to, &s.ts, &s.v, &s.n);
    if (rc != STRATA_OK || s.n == 0)
        return rc;
    rc = add_src(it, &s);
    if (rc != STRATA_OK) {
        st_free(s.ts);
        st_free(s.v);
    }
    return rc;
}

void strata_iter_close(strata_iter *it)
{
    if (!it)
        return;
    for (size_t i = 0; i < it->ns; i++) {
        st_free(it->s[i].ts);
        st_free(it->s[i].v);
        st_free(it->s[i].todo);
        st_free(it->s[i].ntaken); /* left when offering failed part way */
    }
    st_free(it->s);
    view_unref(it->v);
    st_free(it);
}

/* ---- answering chunks from their statistics ----------------------------------- */

static int overlaps_other(const strata_iter *it, size_t self, int64_t lo, int64_t hi)
{
    for (size_t i = 0; i < it->ns; i++) {
        const src *s = &it->s[i];
        if (i == self || s->done || s->hi < lo || s->lo > hi)
            continue;
        if (s->is_seg) {
            /* chunks are in time order: the first ending at or after lo */
            size_t a = 0, b = s->ntodo;
            while (a < b) {
                size_t mid = (a + b) / 2;
                if (s->todo[mid].tmax < lo)
                    a = mid + 1;
                else
                    b = mid;
            }
            if (a < s->ntodo && s->todo[a].tmin <= hi)
                return 1;
        } else {
            size_t a = 0, b = s->n;
            while (a < b) {
                size_t mid = (a + b) / 2;
                if (s->ts[mid] < lo)
                    a = mid + 1;
                else
                    b = mid;
            }
            if (a < s->n && s->ts[a] <= hi)
                return 1;
        }
    }
    return 0;
}

/* Read every segment source's in-range chunk entries once (they become the
 * source's list of chunks to read), then offer each chunk that the merge
 * could take whole — inside the range, no other source holding a point in
 * its time span, so there is nothing to de-duplicate — to fn; those it
 * takes leave the list. */
static int offer_chunks(strata_iter *it, iter_chunk_fn fn, void *ctx)
{
    for (size_t i = 0; i < it->ns; i++) {
        src *s = &it->s[i];
        s->lo = INT64_MAX;
        s->hi = INT64_MIN;
        if (!s->is_seg) {
            if (s->n) {
                s->lo = s->ts[0];
                s->hi = s->ts[s->n - 1];
            }
            continue;
        }
        s->planned = 1;
        s->todo = st_malloc((s->c.left + 1) * sizeof *s->todo);
        if (!s->todo)
            return st_err(STRATA_NOMEM, "out of memory planning a read");
        int r;
        while ((r = segr_next_chunk(&s->c, &s->m)) == STRATA_ROW) {
            if (s->m.tmax < it->from)
                continue;
            if (s->m.tmin >= it->to && it->to != INT64_MAX)
                break;
            s->todo[s->ntodo++] = s->m;
        }
        if (r != STRATA_ROW && r != STRATA_DONE)
            return r;
        if (s->ntodo) {
            s->lo = s->todo[0].tmin;
            s->hi = s->todo[s->ntodo - 1].tmax;
        }
        it->stats.chunks += s->ntodo;
    }
    /* Decide on every chunk against the full lists, then drop the taken
     * ones (a taken chunk still has its points: other sources must still
     * see it as occupying its span). */
    for (size_t i = 0; i < it->ns; i++) {
        src *s = &it->s[i];
        if (!s->is_seg || !s->ntodo)
            continue;
        uint8_t *taken = st_calloc(s->ntodo, 1);
        if (!taken)
            return st_err(STRATA_NOMEM, "out of memory planning a read");
        for (size_t k = 0; k < s->ntodo; k++) {
            const chunk_meta *m = &s->todo[k];
            if (m->tmin < it->from || !in_range(it, m->tmax) ||
                overlaps_other(it, i, m->tmin, m->tmax) ||
                (s->ntombs && tombs_touch(s, m->tmin, m->tmax)))
                continue;
            int took = fn(ctx, m, s->r);
            if (took < 0) {
                st_free(taken);
                return -took;
            }
            if (took) {
                taken[k] = 1;
                it->stats.chunks_summarized++;
                it->stats.points_summarized += m->st.count;
            }
        }
        s->ntaken = taken;
    }
    for (size_t i = 0; i < it->ns; i++) {
        src *s = &it->s[i];
        if (!s->ntaken)
            continue;
        size_t keep = 0;
        for (size_t k = 0; k < s->ntodo; k++)
            if (!s->ntaken[k])
                s->todo[keep++] = s->todo[k];
        s->ntodo = keep;
        st_free(s->ntaken);
        s->ntaken = NULL;
        if (!keep)
            s->done = 1;
    }
    return STRATA_OK;
}

int strata_iter_open(strata_db *db, uint64_t series_id, int64_t from, int64_t to,
                     strata_iter **out)
{
    return iter_open_ex(db, series_id, from, to, NULL, NULL, out);
}

static void widen(int64_t *lo, int64_t *hi, int64_t a, int64_t b)
{
    *lo = a < *lo ? a : *lo;
    *hi = b > *hi ? b : *hi;
}

/* Bounds of a series with tombstones: what the indexes say may have been
 * deleted, so the points themselves are read (deletions are rare). */
static int bounds_by_reading(strata_db *db, uint32_t sid, int64_t *lo, int64_t *hi)
{
    strata_iter *it;
    int rc = iter_open_ex(db, sid, INT64_MIN, INT64_MAX, NULL, NULL, &it);
    if (rc != STRATA_OK)
        return -rc;
    int64_t ts[256];
    uint64_t v[256];
    size_t n;
    while ((rc = iter_next_raw(it, ts, v, 256, &n)) == STRATA_ROW && n > 0) {
        *lo = ts[0] < *lo ? ts[0] : *lo;
        *hi = ts[n - 1] > *hi ? ts[n - 1] : *hi;
    }
    strata_iter_close(it);
    if (rc != STRATA_ROW && rc != STRATA_DONE)
        return -rc;
    return *lo <= *hi;
}

static int raw_bounds(strata_db *db, uint32_t sid, int64_t *lo, int64_t *hi);

/* Raw data and valid rollups (whose raw data may have expired). */
int iter_series_bounds(strata_db *db, uint32_t sid, int64_t *lo, int64_t *hi)
{
    int any = raw_bounds(db, sid, lo, hi);
    if (any < 0)
        return any;
    view *v = db_view_get(db);
    for (size_t i = 0; v->rolls && i < v->rolls->n; i++) {
        int64_t a, b;
        if (v->rolls->x[i].stale || !v->rolls->x[i].r)
            continue;
        int r = roll_bounds(v->rolls->x[i].r, sid, &a, &b);
        if (r < 0) {
            view_unref(v);
            return r;
        }
        if (r > 0) {
            widen(lo, hi, a, b);
            any = 1;
        }
    }
    view_unref(v);
    return any;
}

static int raw_bounds(strata_db *db, uint32_t sid, int64_t *lo, int64_t *hi)
{
    *lo = INT64_MAX;
    *hi = INT64_MIN;
    int64_t a, b;
    pthread_rwlock_rdlock(&db->head_lock);
    view *v = db_view_get(db);
    size_t ntombs;
    view_tombs_for(v, sid, &ntombs);
    if (ntombs) {
        pthread_rwlock_unlock(&db->head_lock);
        view_unref(v);
        return bounds_by_reading(db, sid, lo, hi);
    }
    head_series *hs = head_get(db->active, sid);
    if (hs) {
        head_series_bounds(hs, &a, &b);
        widen(lo, hi, a, b);
    }
    pthread_rwlock_unlock(&db->head_lock);
    if (v->frozen && (hs = head_get(v->frozen, sid)) != NULL) {
        head_series_bounds(hs, &a, &b);
        widen(lo, hi, a, b);
    }
    for (size_t i = 0; i < v->nsegs; i++) {
        seg_cursor c;
        if (!segr_find(v->segs[i], sid, &c))
            continue;
        chunk_meta m;
        /* the first chunk entry, and the last from the reader's cache of
         * last entries (a walk of every entry costs as much as a query) */
        int r = segr_next_chunk(&c, &m);
        if (r == STRATA_ROW)
            widen(lo, hi, m.tmin, m.tmax);
        else if (r != STRATA_DONE) {
            view_unref(v);
            return -r;
        }
        r = segr_last_chunk(v->segs[i], sid, &m);
        if (r < 0) {
            view_unref(v);
            return r;
        }
        if (r == 1)
            *hi = m.tmax > *hi ? m.tmax : *hi;
    }
    view_unref(v);
    return *lo <= *hi;
}

int iter_series_last(strata_db *db, uint32_t sid, int64_t from, int64_t to, int64_t *ts,
                     uint64_t *v)
{
    pthread_rwlock_rdlock(&db->head_lock);
    view *vw = db_view_get(db);
    int in_head = head_get(db->active, sid) != NULL;
    pthread_rwlock_unlock(&db->head_lock);
    size_t ntombs;
    view_tombs_for(vw, sid, &ntombs);
    if (in_head || ntombs || (vw->frozen && head_get(vw->frozen, sid))) {
        view_unref(vw);
        return 2;
    }
    int found = 0;
    for (size_t i = 0; i < vw->nsegs; i++) {
        const seg_info *in = segr_info(vw->segs[i]);
        if (in->tmax < from || (in->tmin >= to && to != INT64_MAX))
            continue;
        chunk_meta m;
        int r = segr_last_chunk(vw->segs[i], sid, &m);
        if (r < 0) {
            view_unref(vw);
            return r;
        }
        if (r == 0 || m.tmax < from)
            continue;
        if (m.tmax >= to && to != INT64_MAX) {
            view_unref(vw);
            return 2; /* its last point in range is inside the chunk */
        }
        if (!found || m.tmax >= *ts) { /* later segments are newer: they win ties */
            *ts = m.tmax;
            *v = m.st.last;
            found = 1;
        }
    }
    view_unref(vw);
    return found;
}

void iter_get_stats(const strata_iter *it, iter_stats *out)
{
    *out = it->stats;
}

int iter_open_ex(strata_db *db, uint64_t series_id, int64_t from, int64_t to, iter_chunk_fn fn,
                 void *ctx, strata_iter **out)
{
    if (!out)
        return st_err(STRATA_MISUSE, "strata_iter_open: NULL output pointer");
    *out = NULL;
    if (!db)
        return st_err(STRATA_MISUSE, "strata_iter_open: NULL database");
    cat_series_info info;
    if (series_id >= CAT_NONE || catalog_series_info(db->cat, (uint32_t)series_id, &info))
        return st_err(STRATA_NOTFOUND, "no series with id %llu", (unsigned long long)series_id);
    strata_iter *it = st_malloc(sizeof *it);
    if (!it)
        return st_err(STRATA_NOMEM, "out of memory opening an iterator");
    memset(it, 0, offsetof(strata_iter, nts));
    it->db = db;
    it->sid = (uint32_t)series_id;
    it->type = info.type;
    it->from = from;
    it->to = to;
    if (from >= to && to != INT64_MAX) {
        it->v = db_view_get(db);
        *out = it;
        return STRATA_OK;
    }
    /* The view and the active head's copy are taken together, so a flush
     * cannot move points between them unseen. */
    pthread_rwlock_rdlock(&db->head_lock);
    it->v = db_view_get(db);
    int rc = add_head(it, db->active);
    pthread_rwlock_unlock(&db->head_lock);
    /* Keep the active head's copy aside: it must come last (newest). */
    src active = {0};
    int have_active = rc == STRATA_OK && it->ns == 1;
    if (have_active)
        active = it->s[--it->ns];
    /* the segments' series-table entries, then their first chunk entries,
     * asked for all at once: their cache misses overlap */
    for (size_t i = 0; i < it->v->nsegs; i++)
        segr_prefetch_series(it->v->segs[i], it->sid);
    for (size_t i = 0; i < it->v->nsegs && rc == STRATA_OK; i++) {
        seg_reader *r = it->v->segs[i];
        const seg_info *in = segr_info(r);
        if (in->tmax < from || (in->tmin >= to && to != INT64_MAX))
            continue;
        src s = {0};
        if (!segr_find(r, it->sid, &s.c))
            continue;
        s.is_seg = 1;
        s.r = r;
        s.tombs = view_tombs_for(it->v, it->sid, &s.ntombs);
        segr_prefetch_index(&s.c);
        rc = add_src(it, &s);
    }
    if (rc == STRATA_OK)
        rc = add_head(it, it->v->frozen);
    if (rc == STRATA_OK && have_active) {
        rc = add_src(it, &active);
        have_active = rc != STRATA_OK;
    }
    if (have_active) {
        st_free(active.ts);
        st_free(active.v);
    }
    for (size_t i = 0; i < it->ns && rc == STRATA_OK; i++)
        if (!it->s[i].is_seg)
            it->stats.head_points += it->s[i].n;
    if (rc == STRATA_OK && fn)
        rc = offer_chunks(it, fn, ctx);
    if (rc != STRATA_OK) {
        strata_iter_close(it);
        return rc;
    }
    *out = it;
    return STRATA_OK;
}

uint8_t iter_type(const strata_iter *it)
{
    return it->type;
}

int iter_next_raw(strata_iter *it, int64_t *ts, uint64_t *v, size_t cap, size_t *n_out)
{
    size_t k = 0;
    *n_out = 0;
    if (it->err)
        return st_err(STRATA_MISUSE, "iterator failed earlier");
    while (k < cap) {
        /* best: the source with the smallest next timestamp.  A pending
         * chunk whose bound is not above the best exact timestamp may hold
         * it: decode it and look again.  Among exact sources holding the
         * same timestamp the newest (highest index) wins. */
        size_t best = SIZE_MAX;
        int64_t bt = 0;
        int rc = STRATA_OK;
        for (;;) {
            best = SIZE_MAX;
            int best_pending = 0;
            for (size_t i = 0; i < it->ns && rc == STRATA_OK; i++) {
                src *s = &it->s[i];
                rc = advance(it, s);
                if (rc != STRATA_OK || s->done)
                    continue;
                int64_t t = src_next(s);
                if (best == SIZE_MAX || t < bt ||
                    (t == bt && (s->pending || !best_pending))) {
                    best = i;
                    bt = t;
                    best_pending = s->pending;
                }
            }
            if (rc == STRATA_OK && best != SIZE_MAX && best_pending) {
                rc = decode_pending(it, &it->s[best]);
                if (rc == STRATA_OK)
                    continue;
            }
            break;
        }
        if (rc != STRATA_OK) {
            it->err = rc;
            return rc;
        }
        if (best == SIZE_MAX)
            break;
        /* lim: the smallest next timestamp of every other source */
        int64_t lim = 0;
        int lim_set = 0;
        for (size_t i = 0; i < it->ns; i++) {
            src *s = &it->s[i];
            if (i != best && !s->done && (!lim_set || src_next(s) < lim)) {
                lim = src_next(s);
                lim_set = 1;
            }
        }
        src *b = &it->s[best];
        if (lim_set && lim == bt) {
            /* The same timestamp in several (decoded) sources: emit the
             * newest, drop it from all. */
            ts[k] = bt;
            v[k++] = b->v[b->pos];
            for (size_t i = 0; i < it->ns; i++) {
                src *s = &it->s[i];
                if (!s->done && !s->pending && s->ts[s->pos] == bt)
                    s->pos++;
            }
            continue;
        }
        /* Copy the run of `best` below lim. */
        size_t end = b->n;
        if (lim_set)
            while (end > b->pos && b->ts[end - 1] >= lim)
                end--;
        size_t take = end - b->pos;
        if (take > cap - k)
            take = cap - k;
        memcpy(ts + k, b->ts + b->pos, take * sizeof *ts);
        memcpy(v + k, b->v + b->pos, take * sizeof *v);
        b->pos += take;
        k += take;
    }
    *n_out = k;
    return k ? STRATA_ROW : STRATA_DONE;
}

static void to_values(uint8_t type, const uint64_t *bits, strata_value *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (type == STRATA_F64)
            memcpy(&out[i].f64, &bits[i], sizeof(double));
        else if (type == STRATA_I64)
            out[i].i64 = (int64_t)bits[i];
        else
            out[i].boolean = (int)(bits[i] & 1);
    }
}

int strata_iter_next(strata_iter *it, int64_t *ts, strata_value *v)
{
    if (!it || !ts || !v)
        return st_err(STRATA_MISUSE, "strata_iter_next: NULL argument");
    if (it->npos == it->nn) {
        int rc = iter_next_raw(it, it->nts, it->nv, NEXT_BUF, &it->nn);
        it->npos = 0;
        if (rc != STRATA_ROW)
            return rc;
    }
    *ts = it->nts[it->npos];
    to_values(it->type, &it->nv[it->npos], v, 1);
    it->npos++;
    return STRATA_ROW;
}

int strata_iter_next_block(strata_iter *it, int64_t *ts, strata_value *v, size_t cap,
                           size_t *n)
{
    if (!it || !ts || !v || !n)
        return st_err(STRATA_MISUSE, "strata_iter_next_block: NULL argument");
    /* strata_value is one word: decode in place through the same array. */
    _Static_assert(sizeof(strata_value) == sizeof(uint64_t), "strata_value is one word");
    uint64_t *raw = (uint64_t *)v;
    size_t got = 0;
    while (it->npos < it->nn && got < cap) { /* left over from strata_iter_next() */
        ts[got] = it->nts[it->npos];
        raw[got++] = it->nv[it->npos++];
    }
    size_t more = 0;
    int rc = STRATA_OK;
    if (got < cap)
        rc = iter_next_raw(it, ts + got, raw + got, cap - got, &more);
    *n = got + more;
    if (rc != STRATA_OK && rc != STRATA_ROW && rc != STRATA_DONE)
        return rc;
    if (it->type == STRATA_BOOL)
        for (size_t i = 0; i < *n; i++) {
            uint64_t b = raw[i];
            v[i].boolean = (int)(b & 1);
        }
    return *n ? STRATA_ROW : STRATA_DONE;
}
