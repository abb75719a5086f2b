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
 */
#include "engine/db.h"

#include "engine/alloc.h"

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

int db_view_freeze(strata_db *db, head *frozen)
{
    pthread_mutex_lock(&db->view_mu);
    view *old = db->current;
    view *nv = view_new(old->segs, old->nsegs, frozen);
    if (nv)
        db->current = nv;
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
    }
    if (nv)
        db->current = nv;
    pthread_mutex_unlock(&db->view_mu);
    if (!nv)
        return -1;
    view_unref(old);
    return 0;
}
