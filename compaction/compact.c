/*
 * compact.c — running compaction against a database: the commit protocol,
 * the background thread, strata_db_compact() and the retention settings
 * (FORMAT.md §2.3 "Compaction" and "Retention", §2.4).
 *
 * A merge job, in this order:
 *   1. under man_mu: wait until no flush holds reserved but uncommitted
 *      segment ids, reserve the output's id, and take as inputs every live
 *      segment overlapping the planned range (widened until closed) — so
 *      every segment committed later has a higher id than the output;
 *   2. write the merged segment (merge.c), fsync it, fsync seg/ — no lock
 *      held, writers and readers go on;
 *   3. under man_mu: check that every input is still live and that no
 *      segment committed meanwhile could be shadowed wrongly (below), then
 *      ONE manifest edit adds the output and removes the inputs (the commit
 *      point), then the view is edited the same way (a pointer swap under
 *      view_mu);
 *   4. the inputs are marked obsolete: each file is deleted when the last
 *      view or iterator holding it lets go.
 * A crash before 3 leaves an orphan output (deleted at the next open) and
 * the inputs live; after 3 the output is live and the inputs are orphans.
 * Never both, never neither.
 *
 * Why 1 waits for flushes: the output's id is newer than every input, so
 * it must not be older than a segment that overlaps its range and was
 * committed by a flush that reserved its id earlier (its points are newer
 * than the inputs' and must keep winning).  With no flush holding ids at
 * the reservation, every segment with a smaller id is already live and
 * among the inputs if it overlaps.  The check in 3 verifies exactly that
 * (a job that fails it is abandoned, its output deleted).
 *
 * Retention: one manifest edit removes every expired segment; files go as
 * above.  A run that changed anything replaces a manifest grown to twice
 * its snapshot size by the snapshot (manifest_rewrite: temp file, rename).  Only segments take part
 * in anything here: the heads are newer than every segment and are left alone,
 * and the views held through a run are taken without the frozen head (so a
 * flushed head's memory is not kept alive by a long merge).  Rollups
 * (rollup.c) are built first in every run, before retention can take the
 * raw data they come from.
 */
#include "compaction/compact.h"

#include "compaction/rollup.h"
#include "engine/alloc.h"
#include "engine/db.h"
#include "engine/err.h"
#include "engine/os.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define MAX_PASSES 8

static void logf_(strata_db *db, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void logf_(strata_db *db, int level, const char *fmt, ...)
{
    if (!db->opts.log)
        return;
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    db->opts.log(db->opts.log_ctx, level, msg);
}

static seg_reader *find_reader(const view *v, uint64_t id)
{
    for (size_t i = 0; i < v->nsegs; i++)
        if (segr_info(v->segs[i])->id == id)
            return v->segs[i];
    return NULL;
}

static const man_segment *find_live(const man_state *st, uint64_t id)
{
    for (size_t i = 0; i < st->nsegs; i++)
        if (st->segs[i].id == id)
            return &st->segs[i];
    return NULL;
}

/* Retention: drop the expired segments in one edit.  Under man_mu. */
static int drop_segments(strata_db *db, view *v, const uint64_t *ids, size_t n)
{
    uint64_t *live = st_malloc((n + 1) * sizeof *live);
    if (!live)
        return st_err(STRATA_NOMEM, "out of memory applying retention");
    size_t k = 0;
    const man_state *st = manifest_state(db->man);
    for (size_t i = 0; i < n; i++)
        if (find_live(st, ids[i]) && find_reader(v, ids[i]))
            live[k++] = ids[i];
    int rc = STRATA_OK;
    if (k) {
        /* rollups keep their rows below this: no raw data to rebuild from */
        int64_t gone = INT64_MIN;
        for (size_t i = 0; i < k; i++) {
            const seg_info *in = segr_info(find_reader(v, live[i]));
            if (in->part_last != INT64_MAX && in->part_last + 1 > gone)
                gone = in->part_last + 1;
        }
        man_edit ed = {.remove = live,
                       .nremove = k,
                       .next_segment_id = db->next_seg_id,
                       .set_raw_gone = gone != INT64_MIN &&
                                       (!st->has_raw_gone || gone > st->raw_gone_before),
                       .raw_gone_before = gone};
        rc = manifest_commit(db->man, &ed);
        if (rc == STRATA_OK && db_view_edit(db, NULL, 0, live, k, 0))
            rc = st_err(STRATA_NOMEM, "out of memory installing a view after retention");
        else if (rc == STRATA_OK) {
            for (size_t i = 0; i < k; i++)
                segr_mark_obsolete(find_reader(v, live[i]));
            atomic_fetch_add(&db->segments_dropped, k);
            logf_(db, STRATA_LOG_INFO, "retention: deleted %zu expired segment(s)", k);
        }
    }
    st_free(live);
    return rc;
}

/* Step 3's check, under man_mu: every input still live, and no live
 * segment outside the inputs overlapping the range with an id between the
 * inputs' smallest and the output's (1: may commit).  Step 1 makes this
 * hold; checked anyway, because a wrong order here would change data. */
static int may_commit(strata_db *db, int64_t lo, int64_t hi, seg_reader *const *in, size_t n,
                      uint64_t out_id)
{
    const man_state *st = manifest_state(db->man);
    for (size_t i = 0; i < n; i++)
        if (!find_live(st, segr_info(in[i])->id))
            return 0;
    for (size_t i = 0; i < st->nsegs; i++) {
        const man_segment *s = &st->segs[i];
        int input = 0;
        for (size_t k = 0; k < n && !input; k++)
            input = segr_info(in[k])->id == s->id;
        if (!input && s->id > segr_info(in[0])->id && s->id < out_id && s->part_last >= lo &&
            s->part_first <= hi)
            return 0;
    }
    return 1;
}

/* 1 when tombstone t deletes points that segment r still holds: r is
 * older than the delete, its data overlaps the span and it has the series. */
static int tomb_needs(const man_tomb *t, const seg_reader *r)
{
    const seg_info *in = segr_info(r);
    seg_cursor c;
    return in->id < t->horizon && in->tmax >= t->from && in->tmin <= t->to &&
           segr_find(r, t->sid, &c);
}

/* Under man_mu (the current view is the manifest's segments), for the
 * commit that replaces the segments `removed` by segment `added`: the
 * tombstones no segment live after it will need (merge.c left their points
 * out of the output unless the output is older than the delete).  *ids is
 * allocated (NULL when none). */
static int spent_tombs(strata_db *db, const uint64_t *removed, size_t nremoved, uint64_t added,
                       uint64_t **ids, size_t *n)
{
    const man_state *st = manifest_state(db->man);
    *ids = NULL;
    *n = 0;
    if (!st->ntombs)
        return STRATA_OK;
    *ids = st_malloc(st->ntombs * sizeof **ids);
    if (!*ids)
        return st_err(STRATA_NOMEM, "out of memory compacting");
    view *v = db_view_get(db);
    for (size_t i = 0; i < st->ntombs; i++) {
        const man_tomb *t = &st->tombs[i];
        int needed = added < t->horizon;
        for (size_t k = 0; k < st->nrollups && !needed; k++)
            needed = st->rollups[k].stale && st->rollups[k].part_last >= t->from &&
                     st->rollups[k].part_first <= t->to; /* its rebuild applies it */
        for (size_t k = 0; k < v->nsegs && !needed; k++) {
            uint64_t id = segr_info(v->segs[k])->id;
            int leaving = 0;
            for (size_t j = 0; j < nremoved && !leaving; j++)
                leaving = removed[j] == id;
            needed = !leaving && tomb_needs(t, v->segs[k]);
        }
        if (!needed)
            (*ids)[(*n)++] = t->id;
    }
    view_unref(v);
    return STRATA_OK;
}

/* Step 1, under man_mu: wait until no flush holds reserved ids, take the
 * output id, and the inputs: every segment of the current view that
 * overlaps [*lo, *hi], the range widened until nothing outside it
 * overlaps.  *v gets the view (a reference) holding them. */
static int take_inputs(strata_db *db, int64_t *lo, int64_t *hi, view **v, seg_reader ***in,
                       size_t *n, uint64_t *id)
{
    pthread_mutex_lock(&db->man_mu);
    while (db->flush_ids_open && !atomic_load(&db->comp_stop))
        pthread_cond_wait(&db->man_cv, &db->man_mu);
    /* segments only: holding a frozen head through the merge would keep
     * its memory alive after its flush, next to the heads after it */
    *v = db_view_segments(db);
    *id = db->next_seg_id++;
    pthread_mutex_unlock(&db->man_mu);
    seg_reader **a = *v ? st_malloc(((*v)->nsegs + 1) * sizeof *a) : NULL;
    if (!a)
        return st_err(STRATA_NOMEM, "out of memory compacting");
    size_t k = 0;
    for (int grown = 1; grown;) {
        grown = 0;
        k = 0;
        for (size_t i = 0; i < (*v)->nsegs; i++) {
            const seg_info *si = segr_info((*v)->segs[i]);
            if (si->part_last < *lo || si->part_first > *hi)
                continue;
            a[k++] = (*v)->segs[i];
            if (si->part_first < *lo || si->part_last > *hi) {
                *lo = si->part_first < *lo ? si->part_first : *lo;
                *hi = si->part_last > *hi ? si->part_last : *hi;
                grown = 1;
            }
        }
    }
    *in = a;
    *n = k;
    return STRATA_OK;
}

/* One merge job; min_inputs 1 rewrites a lone segment (to apply deletes). */
static int run_job(strata_db *db, const cplan_job *j, size_t min_inputs)
{
    int64_t lo = j->part_first, hi = j->part_last;
    view *v = NULL;
    seg_reader **in = NULL;
    size_t n = 0;
    uint64_t id;
    int rc = take_inputs(db, &lo, &hi, &v, &in, &n, &id);
    if (rc != STRATA_OK || n < min_inputs || atomic_load(&db->comp_stop)) {
        st_free(in);
        view_unref(v);
        return rc;
    }
    char path[4300];
    seg_file_path(db->seg_dir, id, path, sizeof path);
    seg_info info;
    rc = compact_merge(in, n, path, id, lo, hi, v, &db->comp_stop, &info);
    seg_reader *out = NULL;
    if (rc == STRATA_OK) {
        int e = os_fsync_dir(db->seg_dir);
        if (e < 0)
            rc = st_err_os(STRATA_IOERR_FSYNC, -e, "cannot sync %s", db->seg_dir);
        else
            rc = segr_open(path, &out);
        if (rc != STRATA_OK)
            os_unlink(path);
    }
    uint64_t *ids = st_malloc((n + 1) * sizeof *ids);
    if (rc == STRATA_OK && !ids)
        rc = st_err(STRATA_NOMEM, "out of memory compacting");
    if (rc != STRATA_OK) {
        if (out) {
            segr_mark_obsolete(out);
            segr_unref(out);
        }
        st_free(ids);
        st_free(in);
        view_unref(v);
        return rc;
    }
    for (size_t i = 0; i < n; i++)
        ids[i] = segr_info(in[i])->id;
    pthread_mutex_lock(&db->man_mu);
    int ok = may_commit(db, lo, hi, in, n, id);
    if (ok) {
        man_segment add = {id, info.part_first, info.part_last, info.size, info.points};
        uint64_t *gone = NULL;
        size_t ngone = 0;
        rc = spent_tombs(db, ids, n, id, &gone, &ngone);
        man_edit ed = {.add = &add,
                       .nadd = 1,
                       .remove = ids,
                       .nremove = n,
                       .next_segment_id = db->next_seg_id,
                       .remove_tombs = gone,
                       .nremove_tombs = ngone};
        if (rc == STRATA_OK)
            rc = manifest_commit(db->man, &ed);
        st_free(gone);
        if (rc == STRATA_OK && db_view_edit(db, &out, 1, ids, n, 0))
            rc = st_err(STRATA_NOMEM, "out of memory installing a compacted segment");
        tombset *ts = NULL;
        if (rc == STRATA_OK && ngone &&
            (tombset_from(manifest_state(db->man), &ts) || db_view_tombs(db, ts)))
            rc = st_err(STRATA_NOMEM, "out of memory installing a compacted segment");
        tombset_unref(ts);
    }
    pthread_mutex_unlock(&db->man_mu);
    if (rc != STRATA_OK)
        db_fail(db); /* the edit may be on disk: leave every file alone */
    if (rc == STRATA_OK && ok) {
        for (size_t i = 0; i < n; i++)
            segr_mark_obsolete(in[i]);
        atomic_fetch_add(&db->compactions, 1);
        logf_(db, STRATA_LOG_INFO, "compacted %zu segment(s) into %s (%llu points)", n, path,
              (unsigned long long)info.points);
    } else if (rc == STRATA_OK) {
        segr_mark_obsolete(out);
        logf_(db, STRATA_LOG_WARN, "compaction into %s abandoned: its inputs changed", path);
    }
    segr_unref(out);
    st_free(ids);
    st_free(in);
    view_unref(v);
    return rc;
}

/* One pass: plan from the current view, apply retention, run the jobs.
 * *did: whether anything changed. */
static int run_pass(strata_db *db, int background, int *did)
{
    *did = 0;
    cplan_params prm = {
        .partition_ns = db->partition_ns, .frontier = db_frontier_now(db), .background = background};
    pthread_mutex_lock(&db->man_mu);
    prm.retention_ns = manifest_state(db->man)->retention_ns;
    view *v = db_view_segments(db); /* under man_mu: the manifest's segments exactly */
    pthread_mutex_unlock(&db->man_mu);
    if (!v)
        return st_errcode();
    cplan_seg *segs = st_malloc((v->nsegs + 1) * sizeof *segs);
    if (!segs) {
        view_unref(v);
        return st_err(STRATA_NOMEM, "out of memory compacting");
    }
    for (size_t i = 0; i < v->nsegs; i++) {
        const seg_info *in = segr_info(v->segs[i]);
        segs[i] = (cplan_seg){in->id, in->part_first, in->part_last, in->size};
    }
    cplan p;
    int rc = compact_plan(segs, v->nsegs, &prm, &p);
    st_free(segs);
    if (rc == STRATA_OK && p.ndrop) {
        pthread_mutex_lock(&db->man_mu);
        rc = drop_segments(db, v, p.drop, p.ndrop);
        pthread_mutex_unlock(&db->man_mu);
        if (rc != STRATA_OK)
            db_fail(db); /* the edit may be on disk: leave every file alone */
        *did = rc == STRATA_OK;
    }
    for (size_t i = 0; i < p.njobs && rc == STRATA_OK; i++) {
        uint64_t before = atomic_load(&db->compactions);
        rc = run_job(db, &p.jobs[i], 2);
        *did |= atomic_load(&db->compactions) != before;
    }
    if (rc == STRATA_OK)
        rc = db_failed_error(db);
    compact_plan_free(&p);
    view_unref(v);
    return rc;
}

/* After compactions the manifest is mostly history (edits adding and then
 * removing segments): once it is twice the size of a snapshot of its state
 * (and past a page), replace it by one (FORMAT.md §7.5). */
static int shrink_manifest(strata_db *db)
{
    pthread_mutex_lock(&db->man_mu);
    uint64_t snapshot = 512 + (uint64_t)manifest_state(db->man)->nsegs * 48;
    uint64_t size = manifest_file_size(db->man);
    int rc = STRATA_OK;
    if (size > 4096 && size > 2 * snapshot)
        rc = manifest_rewrite(db->man);
    pthread_mutex_unlock(&db->man_mu);
    if (rc != STRATA_OK)
        db_fail(db); /* the file may be replaced while the handle appends to the old one */
    return rc;
}

/* Deletes: rewrite, one at a time, the segments that still hold points a
 * tombstone deletes (the merge leaves them out and the commit then drops
 * the tombstones nothing needs).  Each rewrite's output is newer than every
 * live tombstone, so this ends; the count bounds it anyway. */
static int purge_pass(strata_db *db, int *did)
{
    int rc = STRATA_OK;
    for (int round = 0; round < 1000 && rc == STRATA_OK && !atomic_load(&db->comp_stop);
         round++) {
        cplan_job j = {0};
        int found = 0;
        pthread_mutex_lock(&db->man_mu);
        const man_state *st = manifest_state(db->man);
        view *v = db_view_get(db);
        for (size_t i = 0; i < st->ntombs && !found; i++)
            for (size_t k = 0; k < v->nsegs && !found; k++)
                if (tomb_needs(&st->tombs[i], v->segs[k])) {
                    j.part_first = segr_info(v->segs[k])->part_first;
                    j.part_last = segr_info(v->segs[k])->part_last;
                    found = 1;
                }
        view_unref(v);
        if (!found && st->ntombs) {
            /* nothing holds their points any more (retention dropped the
             * segments, or they never overlapped any): forget them */
            uint64_t *gone = NULL;
            size_t ngone = 0;
            rc = spent_tombs(db, NULL, 0, UINT64_MAX, &gone, &ngone);
            if (rc == STRATA_OK && ngone) {
                man_edit ed = {.remove_tombs = gone, .nremove_tombs = ngone};
                tombset *ts = NULL;
                rc = manifest_commit(db->man, &ed);
                if (rc == STRATA_OK &&
                    (tombset_from(manifest_state(db->man), &ts) || db_view_tombs(db, ts))) {
                    rc = st_err(STRATA_NOMEM, "out of memory dropping tombstones");
                    db_fail(db);
                }
                tombset_unref(ts);
                *did = rc == STRATA_OK;
            }
            st_free(gone);
        }
        pthread_mutex_unlock(&db->man_mu);
        if (!found)
            break;
        uint64_t before = atomic_load(&db->compactions);
        rc = run_job(db, &j, 1);
        if (atomic_load(&db->compactions) == before)
            break; /* not committed (e.g. a flush raced it): next run */
        *did = 1;
    }
    return rc;
}

int compact_run(strata_db *db, int background)
{
    int did = 1, any = 0, rc = STRATA_OK;
    /* rollups first: retention may be about to drop the raw data a
     * missing or stale rollup is built from */
    rc = rollup_pass(db, background, &any);
    for (int pass = 0; pass < MAX_PASSES && did && rc == STRATA_OK; pass++) {
        rc = run_pass(db, background, &did);
        any |= did;
    }
    if (rc == STRATA_OK) {
        did = 0;
        rc = purge_pass(db, &did);
        any |= did;
    }
    if (rc == STRATA_OK && any)
        rc = shrink_manifest(db);
    return rc;
}

/* ---- the background thread ---------------------------------------------- */

/* A background run waits while flushes follow each other (a bulk load):
 * until none has committed for COMPACT_QUIET_MS and none is running, but
 * at most COMPACT_DEFER_MS, so that a load that never pauses still gets
 * its merges.  A merge during a load takes a core from the load and
 * decodes and encodes again what the load just wrote, while the load
 * keeps adding segments to the same groups: the 17 M-value fleet loaded
 * in 1.19 s instead of 1.34 s without its merges, Beijing 0.467 instead
 * of 0.489 s (medians, after a memory hog, bench/compare's conditions). */
#define COMPACT_QUIET_MS 1000
#define COMPACT_DEFER_MS 5000
static atomic_int quiet_ms = COMPACT_QUIET_MS, defer_ms = COMPACT_DEFER_MS;

void compact_set_defer(int quiet, int defer)
{
    atomic_store(&quiet_ms, quiet > 0 ? quiet : COMPACT_QUIET_MS);
    atomic_store(&defer_ms, defer > 0 ? defer : COMPACT_DEFER_MS);
}

/* Wait (comp_mu held) until the flushes pause, the deferral ends or the
 * thread is stopped. */
static void wait_for_quiet(strata_db *db)
{
    const int64_t ms = 1000000, quiet = atomic_load(&quiet_ms) * ms,
                  defer = atomic_load(&defer_ms) * ms;
    int64_t start = os_monotonic_ns();
    while (!atomic_load(&db->comp_stop)) {
        int64_t now = os_monotonic_ns(), since = now - atomic_load(&db->flush_end_ns);
        if (now - start >= defer)
            return;
        pthread_mutex_unlock(&db->comp_mu);
        int busy = db_flush_busy(db);
        pthread_mutex_lock(&db->comp_mu);
        if (!busy && since >= quiet)
            return;
        struct timespec until = os_deadline_after(busy ? quiet : quiet - since);
        pthread_cond_timedwait(&db->comp_cv, &db->comp_mu, &until);
    }
}

static void *compact_main(void *arg)
{
    strata_db *db = arg;
    for (;;) {
        pthread_mutex_lock(&db->comp_mu);
        while (!db->comp_wake && !atomic_load(&db->comp_stop))
            pthread_cond_wait(&db->comp_cv, &db->comp_mu);
        wait_for_quiet(db);
        db->comp_wake = 0; /* the run below covers the flushes meanwhile */
        pthread_mutex_unlock(&db->comp_mu);
        if (atomic_load(&db->comp_stop))
            break;
        pthread_mutex_lock(&db->compact_mu);
        int rc = compact_run(db, 1);
        pthread_mutex_unlock(&db->compact_mu);
        if (rc != STRATA_OK && !atomic_load(&db->comp_stop))
            logf_(db, STRATA_LOG_WARN, "background compaction failed: %s", st_errmsg());
    }
    return NULL;
}

int compact_thread_start(strata_db *db)
{
    atomic_store(&db->comp_stop, 0);
    if (pthread_create(&db->comp_thread, NULL, compact_main, db) != 0)
        return st_err(STRATA_ERROR, "cannot start the compaction thread");
    db->has_comp_thread = 1;
    return STRATA_OK;
}

void compact_thread_stop(strata_db *db)
{
    if (!db->has_comp_thread)
        return;
    pthread_mutex_lock(&db->comp_mu);
    atomic_store(&db->comp_stop, 1);
    pthread_cond_broadcast(&db->comp_cv);
    pthread_mutex_unlock(&db->comp_mu);
    pthread_mutex_lock(&db->man_mu); /* a run waiting for a flush's ids */
    pthread_cond_broadcast(&db->man_cv);
    pthread_mutex_unlock(&db->man_mu);
    pthread_join(db->comp_thread, NULL);
    db->has_comp_thread = 0;
    atomic_store(&db->comp_stop, 0);
}

void compact_wake(strata_db *db)
{
    if (!db->has_comp_thread)
        return;
    pthread_mutex_lock(&db->comp_mu);
    db->comp_wake = 1;
    pthread_cond_broadcast(&db->comp_cv);
    pthread_mutex_unlock(&db->comp_mu);
}

/* ---- settings and the public calls ------------------------------------------ */

static int set_retention(strata_db *db, int64_t ns)
{
    pthread_mutex_lock(&db->man_mu);
    int rc = STRATA_OK;
    const man_state *st = manifest_state(db->man);
    if (st->retention_ns != ns) {
        /* raw data kept forever no longer: the rollups that send sparse
         * series to it are rebuilt with rows for every series, before
         * retention removes anything */
        uint64_t *stale = NULL;
        size_t nstale = 0;
        if (st->retention_ns == 0)
            rc = rollup_overlapping(st, INT64_MIN, INT64_MAX, &stale, &nstale);
        man_edit ed = {.set_retention = 1,
                       .retention_ns = ns,
                       .stale_rollups = stale,
                       .nstale_rollups = nstale};
        if (rc == STRATA_OK)
            rc = manifest_commit(db->man, &ed);
        if (rc == STRATA_OK && nstale && db->current && rollup_publish_stale(db)) {
            rc = st_err(STRATA_NOMEM, "out of memory changing the retention");
            db_fail(db);
        }
        st_free(stale);
    }
    pthread_mutex_unlock(&db->man_mu);
    return rc;
}

int compact_open_settings(strata_db *db, int64_t retention_ns)
{
    if (retention_ns == 0)
        return STRATA_OK;
    int64_t want = retention_ns == STRATA_RETENTION_FOREVER ? 0 : retention_ns;
    if (retention_ns < 0 && retention_ns != STRATA_RETENTION_FOREVER)
        return st_err(STRATA_MISUSE,
                      "retention_ns must be 0, positive or STRATA_RETENTION_FOREVER");
    if (manifest_state(db->man)->retention_ns == want)
        return STRATA_OK;
    if (db->read_only)
        return st_err(STRATA_MISUSE_READONLY, "cannot change the retention of a database opened "
                                              "read-only");
    return set_retention(db, want);
}

int strata_db_set_retention(strata_db *db, int64_t ns)
{
    if (!db)
        return st_err(STRATA_MISUSE, "strata_db_set_retention: NULL database");
    if (ns < 0)
        return st_err(STRATA_MISUSE, "retention must be 0 (forever) or positive, not %lld",
                      (long long)ns);
    if (db->read_only)
        return st_err(STRATA_MISUSE_READONLY, "the database is open read-only");
    int rc = db_failed_error(db);
    if (rc == STRATA_OK)
        rc = set_retention(db, ns);
    if (rc == STRATA_OK)
        compact_wake(db);
    return rc;
}

int strata_db_get_retention(strata_db *db, int64_t *ns)
{
    if (!db || !ns)
        return st_err(STRATA_MISUSE, "strata_db_get_retention: NULL argument");
    pthread_mutex_lock(&db->man_mu);
    *ns = manifest_state(db->man)->retention_ns;
    pthread_mutex_unlock(&db->man_mu);
    return STRATA_OK;
}

int strata_db_compact(strata_db *db)
{
    if (!db)
        return st_err(STRATA_MISUSE, "strata_db_compact: NULL database");
    if (db->read_only)
        return st_err(STRATA_MISUSE_READONLY, "the database is open read-only");
    int rc = strata_db_flush(db);
    if (rc != STRATA_OK)
        return rc;
    pthread_mutex_lock(&db->compact_mu);
    rc = compact_run(db, 0);
    pthread_mutex_unlock(&db->compact_mu);
    return rc;
}
