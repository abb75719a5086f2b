/*
 * view.c — reference-counted snapshots of the live segments plus the head
 * being flushed (see db.h).  A view is immutable once made; whoever drops
 * the last reference releases its segments (which unmap when their own
 * last reference goes) and frees its frozen head.
 */
#include "engine/db.h"

#include "engine/alloc.h"

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
    db->current = v;
    pthread_mutex_unlock(&db->view_mu);
    view_unref(old);
}
