/*
 * view.c — reference-counted snapshots of the live segments plus the head
 * being flushed (see db.h).  A view is immutable once made; whoever drops
 * the last reference releases its segments (which unmap when their own
 * last reference goes) and frees its frozen head.
 *
 * Tombstones (deletions, FORMAT.md §7.2) travel with the view, so that a
 * reader sees the segments and the deletions that apply to them as of one
 * moment.  A tombset is shared by reference; views made by a flush inherit
 * the current one when installed.
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
    tombset_unref(v->tombs);
    if (t)
        atomic_fetch_add(&t->refs, 1);
    v->tombs = t;
    v->tombs_set = 1;
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

view *view_new(seg_reader **segs, size_t nsegs, head *frozen)
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
    atomic_init(&v->refs, 1);
    return v;
}

void view_unref(view *v)
{
    if (!v || atomic_fetch_sub(&v->refs, 1) != 1)
        return;
    for (size_t i = 0; i < v->nsegs; i++)
        segr_unref(v->segs[i]);
    st_free(v->segs);
    head_free(v->frozen);
    tombset_unref(v->tombs);
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

void db_view_set(strata_db *db, view *v)
{
    pthread_mutex_lock(&db->view_mu);
    view *old = db->current;
    if (!v->tombs_set && old)
        view_set_tombs(v, old->tombs);
    db->current = v;
    pthread_mutex_unlock(&db->view_mu);
    view_unref(old);
}
