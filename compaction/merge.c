/*
 * merge.c — one new segment from several old ones (see compact.h).
 *
 * Series are visited in ascending id across all inputs (each input's
 * series table is sorted).  For one series, every input holding it is
 * decoded whole (the inputs are sorted, one point per timestamp), then a
 * k-way merge keeps, for equal timestamps, the value of the newest input
 * (the one with the highest segment id: it was flushed later and holds the
 * later write, FORMAT.md §2.5).  The merged points go to segw_add, which
 * cuts chunks on the grid of the output's range and picks codecs per chunk,
 * so many small chunks of late-data segments become full-size ones.
 *
 * Memory: one series' points in the output range, twice.  Runs where one
 * input is alone below the others are copied in blocks.
 *
 * Reuse: a chunk the writer cuts whose points are exactly those of one
 * input chunk (same first and last time, same count, the same times and
 * value bits, compared) is copied as stored instead of encoded again: the
 * bytes chunk_encode would produce, since an input of the current format
 * was encoded by the same function from the same points.  Inputs of an
 * older format, and inputs that lost points to tombstones, offer none.
 *
 * Deletes: an input's points under a tombstone that applies to it (its id
 * below the horizon) are left out, so the output, whose id may be above
 * the horizon, no longer holds them (compact.c then drops tombstones that
 * no live segment needs).
 *
 * Recovery: the output is not live until compact.c commits it; a crash in
 * here leaves an orphan file that the next open deletes.
 */
#include "compaction/compact.h"

#include "engine/alloc.h"
#include "engine/db.h"
#include "engine/err.h"
#include "engine/segment_format.h"
#include "strata.h"

#include <stdlib.h>
#include <string.h>

typedef struct arr {
    int64_t *ts;
    uint64_t *v;
    size_t n, cap, pos;
} arr;

static int arr_reserve(arr *a, size_t more)
{
    if (a->n + more <= a->cap)
        return 0;
    size_t cap = a->cap ? a->cap : 1024;
    while (cap < a->n + more)
        cap *= 2;
    int64_t *ts = st_realloc(a->ts, cap * sizeof *ts);
    if (!ts)
        return -1;
    a->ts = ts;
    uint64_t *v = st_realloc(a->v, cap * sizeof *v);
    if (!v)
        return -1;
    a->v = v;
    a->cap = cap;
    return 0;
}

/* An input chunk that the writer may copy: its points start at src[src].ts[at]. */
typedef struct cand {
    int64_t tmin;
    uint32_t src;
    size_t at;
    chunk_meta m;
} cand;

typedef struct reuse_ctx {
    const arr *src;
    seg_reader *const *rd; /* the reader of each src */
    cand *c;
    size_t n, cap;
} reuse_ctx;

static int cand_push(reuse_ctx *ru, uint32_t src, size_t at, const chunk_meta *m)
{
    if (ru->n == ru->cap) {
        size_t cap = ru->cap ? 2 * ru->cap : 256;
        cand *c = st_realloc(ru->c, cap * sizeof *c);
        if (!c)
            return -1;
        ru->c = c;
        ru->cap = cap;
    }
    ru->c[ru->n++] = (cand){m->tmin, src, at, *m};
    return 0;
}

static int by_tmin(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    return x->tmin < y->tmin ? -1 : x->tmin > y->tmin;
}

/* segw_reuse_fn over the candidates (sorted by tmin). */
static int reuse_chunk(void *ctx, const int64_t *ts, const uint64_t *v, size_t n, chunk_meta *m,
                       const uint8_t **data)
{
    const reuse_ctx *ru = ctx;
    size_t lo = 0, hi = ru->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ru->c[mid].tmin < ts[0])
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < ru->n && ru->c[i].tmin == ts[0]; i++) {
        const cand *c = &ru->c[i];
        const arr *a = &ru->src[c->src];
        if (c->m.st.count != n || c->m.tmax != ts[n - 1] ||
            memcmp(a->ts + c->at, ts, n * sizeof *ts) != 0 ||
            memcmp(a->v + c->at, v, n * sizeof *v) != 0)
            continue;
        *m = c->m;
        *data = segr_chunk_data(ru->rd[c->src], &c->m);
        return 1;
    }
    return 0;
}

/* Append every point of the series at cursor c to a; with ru, its chunks
 * become candidates for reuse (as input number src). */
static int read_series(const seg_reader *r, seg_cursor *c, arr *a, reuse_ctx *ru, uint32_t src)
{
    chunk_meta m;
    int rc;
    while ((rc = segr_next_chunk(c, &m)) == STRATA_ROW) {
        if (arr_reserve(a, m.st.count) || (ru && cand_push(ru, src, a->n, &m)))
            return st_err(STRATA_NOMEM, "out of memory compacting");
        rc = segr_decode(r, &m, a->ts + a->n, a->v + a->n);
        if (rc != STRATA_OK)
            return rc;
        if (a->n && a->ts[a->n] <= a->ts[a->n - 1])
            return st_err(STRATA_CORRUPT_SEGMENT, "%s: series %u: chunks overlap in time",
                          segr_path(r), c->sid);
        a->n += m.st.count;
    }
    return rc == STRATA_DONE ? STRATA_OK : rc;
}

/* Leave out of a[from, n) the points that tombstones t[0..nt) delete
 * from segment r (those with a horizon above its id, FORMAT.md §2.5). */
static void drop_deleted(const seg_reader *r, const man_tomb *t, size_t nt, arr *a, size_t from)
{
    uint64_t id = segr_info(r)->id;
    size_t keep = from;
    for (size_t i = from; i < a->n; i++) {
        int gone = 0;
        for (size_t k = 0; k < nt && !gone; k++)
            gone = id < t[k].horizon && a->ts[i] >= t[k].from && a->ts[i] <= t[k].to;
        if (!gone) {
            a->ts[keep] = a->ts[i];
            a->v[keep++] = a->v[i];
        }
    }
    a->n = keep;
}

/* k-way merge of src[0..k) (older first) into out; the newest wins ties. */
static int merge_sources(arr *src, size_t k, arr *out)
{
    size_t total = 0;
    for (size_t i = 0; i < k; i++)
        total += src[i].n;
    out->n = 0;
    if (arr_reserve(out, total))
        return st_err(STRATA_NOMEM, "out of memory compacting");
    for (;;) {
        size_t best = SIZE_MAX, ties = 0;
        int64_t bt = 0;
        for (size_t i = 0; i < k; i++) {
            arr *s = &src[i];
            if (s->pos == s->n)
                continue;
            int64_t t = s->ts[s->pos];
            if (best == SIZE_MAX || t < bt) {
                best = i;
                bt = t;
                ties = 0;
            } else if (t == bt) {
                best = i; /* newer */
                ties++;
            }
        }
        if (best == SIZE_MAX)
            break;
        if (ties) {
            out->ts[out->n] = bt;
            out->v[out->n++] = src[best].v[src[best].pos];
            for (size_t i = 0; i < k; i++)
                if (src[i].pos < src[i].n && src[i].ts[src[i].pos] == bt)
                    src[i].pos++;
            continue;
        }
        int lim_set = 0;
        int64_t lim = 0;
        for (size_t i = 0; i < k; i++)
            if (i != best && src[i].pos < src[i].n && (!lim_set || src[i].ts[src[i].pos] < lim)) {
                lim = src[i].ts[src[i].pos];
                lim_set = 1;
            }
        arr *b = &src[best];
        size_t end = b->pos + 1;
        if (!lim_set)
            end = b->n;
        else
            while (end < b->n && b->ts[end] < lim)
                end++;
        size_t take = end - b->pos;
        memcpy(out->ts + out->n, b->ts + b->pos, take * sizeof *out->ts);
        memcpy(out->v + out->n, b->v + b->pos, take * sizeof *out->v);
        out->n += take;
        b->pos = end;
    }
    return STRATA_OK;
}

int compact_merge_series(seg_reader *const *in, size_t n, uint32_t sid,
                         const struct view *tombs_of, int64_t **ts, uint64_t **v, size_t *np,
                         uint8_t *type)
{
    *ts = NULL;
    *v = NULL;
    *np = 0;
    *type = 0;
    arr *src = st_calloc(n + 1, sizeof *src);
    arr out = {0};
    if (!src)
        return st_err(STRATA_NOMEM, "out of memory merging series %u", sid);
    int rc = STRATA_OK;
    size_t k = 0;
    for (size_t i = 0; i < n && rc == STRATA_OK; i++) {
        seg_cursor c;
        if (!segr_find(in[i], sid, &c))
            continue;
        rc = read_series(in[i], &c, &src[k], NULL, 0);
        size_t nt = 0;
        const man_tomb *t = tombs_of ? view_tombs_for(tombs_of, sid, &nt) : NULL;
        if (rc == STRATA_OK && nt)
            drop_deleted(in[i], t, nt, &src[k], 0);
        if (rc == STRATA_OK && k && c.type != *type)
            rc = st_err(STRATA_CORRUPT_SEGMENT,
                        "%s: series %u has type %u here but %u in an older segment",
                        segr_path(in[i]), sid, c.type, *type);
        *type = c.type;
        k++;
    }
    if (rc == STRATA_OK)
        rc = merge_sources(src, k, &out);
    for (size_t i = 0; i < k; i++) {
        st_free(src[i].ts);
        st_free(src[i].v);
    }
    st_free(src);
    if (rc != STRATA_OK) {
        st_free(out.ts);
        st_free(out.v);
        return rc;
    }
    *ts = out.ts;
    *v = out.v;
    *np = out.n;
    return STRATA_OK;
}

int compact_merge(seg_reader *const *in, size_t n, const char *path, uint64_t id,
                  int64_t part_first, int64_t part_last, const struct view *tombs_of,
                  const atomic_int *stop, seg_info *info)
{
    uint32_t *next = st_calloc(n + 1, sizeof *next); /* each input's next series */
    arr *src = st_calloc(n + 1, sizeof *src);
    seg_reader **rd = st_calloc(n + 1, sizeof *rd); /* the input of each src */
    reuse_ctx ru = {src, rd, NULL, 0, 0};
    arr out = {0};
    seg_writer *w = NULL;
    int rc = STRATA_OK;
    if (!next || !src || !rd) {
        rc = st_err(STRATA_NOMEM, "out of memory compacting");
        goto done;
    }
    rc = segw_open(path, id, part_first, part_last, &w);
    if (rc != STRATA_OK)
        goto done;
    segw_set_reuse(w, reuse_chunk, &ru);
    for (;;) {
        if (stop && atomic_load(stop)) {
            rc = st_err(STRATA_BUSY, "compaction abandoned: the database is closing");
            break;
        }
        /* the smallest series id not yet written */
        uint64_t sid = UINT64_MAX;
        for (size_t i = 0; i < n; i++) {
            seg_cursor c;
            if (next[i] < segr_info(in[i])->nseries && segr_series_at(in[i], next[i], &c) &&
                c.sid < sid)
                sid = c.sid;
        }
        if (sid == UINT64_MAX)
            break;
        size_t k = 0;
        uint8_t type = 0;
        for (size_t i = 0; i < n && rc == STRATA_OK; i++) {
            seg_cursor c;
            if (next[i] >= segr_info(in[i])->nseries || !segr_series_at(in[i], next[i], &c) ||
                c.sid != sid)
                continue;
            next[i]++;
            src[k].n = src[k].pos = 0;
            rd[k] = in[i];
            size_t first_cand = ru.n;
            int current = segr_version(in[i]) == SEG_VERSION;
            rc = read_series(in[i], &c, &src[k], current ? &ru : NULL, (uint32_t)k);
            size_t nt = 0, had = src[k].n;
            const man_tomb *t = tombs_of ? view_tombs_for(tombs_of, c.sid, &nt) : NULL;
            if (rc == STRATA_OK && nt)
                drop_deleted(in[i], t, nt, &src[k], 0);
            if (src[k].n != had) /* its chunks no longer match its points */
                ru.n = first_cand;
            if (rc == STRATA_OK && k && c.type != type)
                rc = st_err(STRATA_CORRUPT_SEGMENT,
                            "%s: series %u has type %u here but %u in an older segment",
                            segr_path(in[i]), c.sid, c.type, type);
            type = c.type;
            k++;
        }
        if (rc == STRATA_OK)
            rc = merge_sources(src, k, &out);
        qsort(ru.c, ru.n, sizeof *ru.c, by_tmin);
        if (rc == STRATA_OK)
            rc = segw_add(w, (uint32_t)sid, type, out.ts, out.v, out.n);
        ru.n = 0;
        if (rc != STRATA_OK)
            break;
    }
    if (rc == STRATA_OK) {
        rc = segw_finish(w, info);
        w = NULL;
    }
done:
    segw_abort(w);
    for (size_t i = 0; src && i < n; i++) {
        st_free(src[i].ts);
        st_free(src[i].v);
    }
    st_free(src);
    st_free(rd);
    st_free(ru.c);
    st_free(next);
    st_free(out.ts);
    st_free(out.v);
    return rc;
}
