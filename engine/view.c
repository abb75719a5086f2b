/*
 * view.c — reference-counted snapshots of the live segments plus the head
 * being flushed (see db.h).  A view is immutable once made; whoever drops
 * the last reference releases its segments (which unmap when their own
 * last reference goes) and its share of the frozen head.
 *
 * The frozen head may be shared by several views (compaction replaces the
 * segment list while a flush is in progress): it carries its own count and
 * is freed with the last view holding it.
 *
 * Every change of db->current is a read-modify-write under view_mu
 * (db_view_freeze, db_view_edit), so a flush, a freeze and a compaction
 * never undo each other's change.
 *
 * Tombstones (deletions, FORMAT.md §7.2) travel with the view, so that a
 * reader sees the segments and the deletions that apply to them as of one
 * moment.  A tombset is shared by reference; every new view takes the
 * current one's unless db_view_tombs() replaces them.  Rollups travel the
 * same way (db_view_rolls), so that a rollup marked stale and the data
 * that made it stale reach readers in the right order (compaction/rollup.c).
 */
#include "engine/db.h"

#include "engine/alloc.h"
#include "engine/err.h"

#include <stdlib.h>
#include <string.h>

static int tomb_cmp(const void *a, const void *b)
{
    const man_tomb *x = a, *y = b;
    if (x->sid != y->sid)
        return x->sid < y->sid ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

int tombset_from(const man_state *st, tombset **out)
{
    *out = NULL;
    if (st->ntombs == 0)
        return 0;
    tombset *t = st_malloc(sizeof *t + st->ntombs * sizeof t->t[0]);
    if (!t) {
        st_err(STRATA_NOMEM, "out of memory reading tombstones");
        return -1;
    }
    atomic_init(&t->refs, 1);
    t->n = st->ntombs;
    memcpy(t->t, st->tombs, st->ntombs * sizeof t->t[0]);
    qsort(t->t, t->n, sizeof t->t[0], tomb_cmp);
    *out = t;
    return 0;
}

void tombset_unref(tombset *t)
{
    if (t && atomic_fetch_sub(&t->refs, 1) == 1)
        st_free(t);
}

void view_set_tombs(view *v, tombset *t)
{
    if (t)
        atomic_fetch_add(&t->refs, 1);
    tombset_unref(v->tombs);
    v->tombs = t;
}

const man_tomb *view_tombs_for(const view *v, uint32_t sid, size_t *n)
{
    *n = 0;
    const tombset *t = v->tombs;
    if (!t)
        return NULL;
    size_t a = 0, b = t->n;
    while (a < b) {
        size_t mid = (a + b) / 2;
        if (t->t[mid].sid < sid)
            a = mid + 1;
        else
            b = mid;
    }
    size_t e = a;
    while (e < t->n && t->t[e].sid == sid)
        e++;
    *n = e - a;
    return *n ? &t->t[a] : NULL;
}

int rollset_from(const man_state *st, const rollset *have, seg_reader **add, size_t nadd,
                 rollset **out)
{
    *out = NULL;
    if (st->nrollups == 0)
        return 0;
    rollset *r = st_calloc(1, sizeof *r + st->nrollups * sizeof r->x[0]);
    if (!r) {
        st_err(STRATA_NOMEM, "out of memory reading rollups");
        return -1;
    }
    atomic_init(&r->refs, 1);
    for (size_t i = 0; i < st->nrollups; i++) {
        const man_rollup *m = &st->rollups[i];
        seg_reader *sr = NULL;
        for (size_t k = 0; have && k < have->n && !sr; k++)
            if (have->x[k].id == m->id)
                sr = have->x[k].r;
        for (size_t k = 0; k < nadd && !sr; k++)
            if (add[k] && segr_info(add[k])->id == m->id)
                sr = add[k];
        if (!sr && m->size) {
            rollset_unref(r);
            st_err(STRATA_CORRUPT_MANIFEST, "rollup segment %llu has no reader",
                   (unsigned long long)m->id);
            return -1;
        }
        if (sr)
            segr_ref(sr);
        r->x[r->n++] =
            (roll){sr, m->id, m->size, m->width_ns, m->part_first, m->part_last, m->stale};
    }
    *out = r;
    return 0;
}

void rollset_unref(rollset *r)
{
    if (!r || atomic_fetch_sub(&r->refs, 1) != 1)
        return;
    for (size_t i = 0; i < r->n; i++)
        if (r->x[i].r)
            segr_unref(r->x[i].r);
    st_free(r);
}

void view_set_rolls(view *v, rollset *r)
{
    if (r)
        atomic_fetch_add(&r->refs, 1);
    rollset_unref(v->rolls);
    v->rolls = r;
}

struct frozen_ref {
    atomic_int refs;
};

static view *make(seg_reader **segs, size_t nsegs, head *frozen, struct frozen_ref *fr)
{
    view *v = st_calloc(1, sizeof *v);
    if (!v)
        return NULL;
    v->segs = st_malloc((nsegs ? nsegs : 1) * sizeof *v->segs);
    if (!v->segs) {
        st_free(v);
        return NULL;
    }
    for (size_t i = 0; i < nsegs; i++) {
        v->segs[i] = segs[i];
        segr_ref(segs[i]);
    }
    v->nsegs = nsegs;
    v->frozen = frozen;
    v->frozen_ref = fr;
    if (fr)
        atomic_fetch_add(&fr->refs, 1);
    atomic_init(&v->refs, 1);
    return v;
}

view *view_new(seg_reader **segs, size_t nsegs, head *frozen)
{
    struct frozen_ref *fr = NULL;
    if (frozen) {
        fr = st_calloc(1, sizeof *fr);
        if (!fr)
            return NULL;
        atomic_init(&fr->refs, 0);
    }
    view *v = make(segs, nsegs, frozen, fr);
    if (!v)
        st_free(fr);
    return v;
}

void view_unref(view *v)
{
    if (!v || atomic_fetch_sub(&v->refs, 1) != 1)
        return;
    for (size_t i = 0; i < v->nsegs; i++)
        segr_unref(v->segs[i]);
    st_free(v->segs);
    if (v->frozen_ref && atomic_fetch_sub(&v->frozen_ref->refs, 1) == 1) {
        head_free(v->frozen);
        st_free(v->frozen_ref);
    }
    tombset_unref(v->tombs);
    rollset_unref(v->rolls);
    st_free(v);
}

view *db_view_get(strata_db *db)
{
    pthread_mutex_lock(&db->view_mu);
    view *v = db->current;
    atomic_fetch_add(&v->refs, 1);
    pthread_mutex_unlock(&db->view_mu);
    return v;
}

view *db_view_segments(strata_db *db)
{
    view *cur = db_view_get(db);
    view *v = make(cur->segs, cur->nsegs, NULL, NULL);
    if (v) {
        view_set_tombs(v, cur->tombs);
        view_set_rolls(v, cur->rolls);
    } else {
        st_err(STRATA_NOMEM, "out of memory taking a view");
    }
    view_unref(cur);
    return v;
}

int db_view_tombs(strata_db *db, tombset *t)
{
    pthread_mutex_lock(&db->view_mu);
    view *old = db->current;
    view *nv = make(old->segs, old->nsegs, old->frozen, old->frozen_ref);
    if (nv) {
        view_set_tombs(nv, t);
        view_set_rolls(nv, old->rolls);
        db->current = nv;
    }
    pthread_mutex_unlock(&db->view_mu);
    if (!nv)
        return -1;
    view_unref(old);
    return 0;
}

int db_view_freeze(strata_db *db, head *frozen)
{
    pthread_mutex_lock(&db->view_mu);
    view *old = db->current;
    view *nv = view_new(old->segs, old->nsegs, frozen);
    if (nv) {
        view_set_tombs(nv, old->tombs);
        view_set_rolls(nv, old->rolls);
        db->current = nv;
    }
    pthread_mutex_unlock(&db->view_mu);
    if (!nv)
        return -1;
    view_unref(old);
    return 0;
}

int db_view_rolls(strata_db *db, rollset *r)
{
    pthread_mutex_lock(&db->view_mu);
    view *old = db->current;
    view *nv = make(old->segs, old->nsegs, old->frozen, old->frozen_ref);
    if (nv) {
        view_set_tombs(nv, old->tombs);
        view_set_rolls(nv, r);
        db->current = nv;
    }
    pthread_mutex_unlock(&db->view_mu);
    if (!nv)
        return -1;
    view_unref(old);
    return 0;
}

static int has_id(const uint64_t *ids, size_t n, uint64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return 1;
    return 0;
}

int db_view_edit(strata_db *db, seg_reader **add, size_t nadd, const uint64_t *remove,
                 size_t nremove, int drop_frozen)
{
    pthread_mutex_lock(&db->view_mu);
    view *old = db->current;
    seg_reader **all = st_malloc((old->nsegs + nadd + 1) * sizeof *all);
    view *nv = NULL;
    if (all) {
        /* both lists ascend by id: merge them */
        size_t n = 0, i = 0, j = 0;
        while (i < old->nsegs || j < nadd) {
            if (j == nadd ||
                (i < old->nsegs && segr_info(old->segs[i])->id < segr_info(add[j])->id)) {
                if (!has_id(remove, nremove, segr_info(old->segs[i])->id))
                    all[n++] = old->segs[i];
                i++;
            } else {
                all[n++] = add[j++];
            }
        }
        nv = drop_frozen ? make(all, n, NULL, NULL) : make(all, n, old->frozen, old->frozen_ref);
        st_free(all);
        if (nv) {
            view_set_tombs(nv, old->tombs);
            view_set_rolls(nv, old->rolls);
        }
    }
    if (nv)
        db->current = nv;
    pthread_mutex_unlock(&db->view_mu);
    if (!nv)
        return -1;
    view_unref(old);
    return 0;
}
