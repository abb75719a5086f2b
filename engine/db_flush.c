/*
 * db_flush.c — turning the frozen head into segment files, and the thread
 * that does it (FORMAT.md §2 describes the commit order).
 *
 * A flush, in this order:
 *   1. one segment file per target present in the frozen head (a time
 *      partition, or the cold tier window compaction would merge it into),
 *      each fully written and fsynced, then the directory fsynced; a large
 *      head's series are encoded half on this thread, half on a helper
 *      thread (write_segments), with the files of a single thread;
 *   2. the log synced through the records below frozen_lsn (whatever the
 *      sync policy); the catalog's new definitions appended and fsynced;
 *      the keys file rewritten (when its content changes) with the batch
 *      keys of every record below frozen_lsn still in the window (idem.h);
 *   3. one manifest edit: add the segments, set flushed_lsn to the lsn at
 *      which the head was frozen, set the catalog's committed length;
 *   4. a new view without the frozen head is installed for readers (3 and 4
 *      under man_mu, so a compaction's commit cannot come in between);
 *   5. log files wholly below flushed_lsn are deleted.
 * A crash before 3 leaves orphan files (deleted at the next open) and the
 * data still in the log; after 3 the data is in segments and replay skips
 * it.  Nothing is ever counted twice.  A keys file written before a crash
 * at 3 names keys whose records are also replayed: the same keys twice,
 * which is harmless.
 *
 * Freezing (db_freeze) happens under the writer lock: the log's next lsn
 * becomes the frozen lsn (every record below it is in the frozen head, or
 * older), and the active head is swapped for an empty one.  The log is
 * not rotated (its files end by size, WAL_SEGMENT_TARGET): a rotation
 * cost the writer three fsyncs (file, next file, directory) per freeze, a
 * tenth of the Beijing ingest, and step 2's sync, on this thread, is what
 * the freeze's fsync of the old file was for.
 */
#include "engine/db.h"

#include "compaction/rollup.h"

#include "compaction/compact.h"
#include "engine/alloc.h"
#include "engine/err.h"
#include "engine/idem.h"
#include "engine/os.h"
#include "engine/tmath.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int64_t db_partition_of(const strata_db *db, int64_t ts)
{
    return t_floor_div(ts, db->partition_ns);
}

void db_partition_bounds(const strata_db *db, int64_t part, int64_t *first, int64_t *last)
{
    __int128 f = (__int128)part * db->partition_ns, l = f + db->partition_ns - 1;
    *first = f < INT64_MIN ? INT64_MIN : (int64_t)f;
    *last = l > INT64_MAX ? INT64_MAX : (int64_t)l;
}

/* Flushes only: the ids stay "open" (compaction waits before taking an
 * id of its own) until db_flush_frozen ends, committed or not. */
static uint64_t reserve_id(strata_db *db)
{
    pthread_mutex_lock(&db->man_mu);
    uint64_t id = db->next_seg_id++;
    db->flush_ids_open = 1;
    pthread_mutex_unlock(&db->man_mu);
    return id;
}

static void close_ids(strata_db *db)
{
    pthread_mutex_lock(&db->man_mu);
    db->flush_ids_open = 0;
    pthread_cond_broadcast(&db->man_cv);
    pthread_mutex_unlock(&db->man_mu);
}

void db_fail(strata_db *db)
{
    pthread_mutex_lock(&db->flush_mu);
    if (!db->failed) {
        db->failed = st_errcode() & 0xff;
        db->failed_ext = st_errcode();
        snprintf(db->failed_msg, sizeof db->failed_msg,
                 "the database stopped accepting writes after an error (reopen it): %s",
                 st_errmsg());
        if (db->opts.log)
            db->opts.log(db->opts.log_ctx, STRATA_LOG_WARN, db->failed_msg);
    }
    pthread_cond_broadcast(&db->flush_cv);
    pthread_mutex_unlock(&db->flush_mu);
}

int db_failed_error(strata_db *db)
{
    pthread_mutex_lock(&db->flush_mu);
    int rc = db->failed ? st_err(db->failed_ext, "%s", db->failed_msg) : STRATA_OK;
    pthread_mutex_unlock(&db->flush_mu);
    return rc;
}

/* One segment being written: its range, a partition or a tier window. */
typedef struct pwriter {
    int64_t first;
    seg_writer *w;
    seg_info info;
} pwriter;

/* The flush's writers, one per target range. */
typedef struct writers {
    strata_db *db;
    pwriter *ws;
    size_t n, cap;
} writers;

/* Where the flush puts the points of a time (FORMAT.md §2.3, §5.1): into the
 * widest tier window that holds its partition and is already cold, the
 * segment compaction would merge that partition into (§2.3), else into
 * its partition.  A backfill of months of slow series then writes a dozen
 * files rather than one per day, and compaction has less to merge. */
typedef struct flush_targets {
    int64_t widths[COMPACT_MAX_TIERS];
    size_t ntiers;
    int64_t frontier; /* as published by the writers (INT64_MIN: none) */
} flush_targets;

static void targets_init(strata_db *db, flush_targets *t)
{
    pthread_mutex_lock(&db->man_mu);
    int64_t retention = manifest_state(db->man)->retention_ns;
    pthread_mutex_unlock(&db->man_mu);
    t->ntiers = compact_tiers(db->partition_ns, retention, t->widths);
    int64_t f = atomic_load(&db->frontier_pub);
    t->frontier = f == INT64_MIN ? f : db_frontier_capped(f);
}

static void target_of(const strata_db *db, const flush_targets *t, int64_t ts, int64_t *first,
                      int64_t *last)
{
    db_partition_bounds(db, db_partition_of(db, ts), first, last);
    int64_t lo, hi;
    if (compact_cold_window(t->widths, t->ntiers, t->frontier, *first, *last, &lo, &hi)) {
        *first = lo;
        *last = hi;
    }
}

/* The writer of target [first, last], opened when it is the first piece
 * there. */
static int writer_for(writers *w, int64_t first, int64_t last, seg_writer **out)
{
    for (size_t i = 0; i < w->n; i++)
        if (w->ws[i].first == first) {
            *out = w->ws[i].w;
            return STRATA_OK;
        }
    if (w->n == w->cap) {
        size_t c = w->cap ? w->cap * 2 : 4;
        pwriter *a = st_realloc(w->ws, c * sizeof *a);
        if (!a)
            return st_err(STRATA_NOMEM, "out of memory flushing");
        w->ws = a;
        w->cap = c;
    }
    char path[4300];
    uint64_t id = reserve_id(w->db);
    seg_file_path(w->db->seg_dir, id, path, sizeof path);
    pwriter *p = &w->ws[w->n];
    memset(p, 0, sizeof *p);
    p->first = first;
    int rc = segw_open(path, id, first, last, &p->w);
    if (rc != STRATA_OK)
        return rc;
    w->n++;
    *out = p->w;
    return STRATA_OK;
}

/* The series at positions [from, to) of the frozen head (ids sorted), cut
 * at target boundaries: each piece to `piece` (the flush's writer, or a
 * seg_prep on the helper thread). */
typedef int (*piece_fn)(void *ctx, int64_t first, int64_t last, uint32_t sid, uint8_t type,
                        const int64_t *ts, const uint64_t *v, size_t n);

static int cut_series(strata_db *db, head *f, const flush_targets *tg, uint32_t from, uint32_t to,
                      piece_fn piece, void *ctx)
{
    for (uint32_t i = from; i < to; i++) {
        uint32_t sid = head_series_id_at(f, i);
        head_series *hs = head_get(f, sid);
        int64_t *ts;
        uint64_t *v;
        size_t n;
        int rc = head_collect(hs, INT64_MIN, INT64_MAX, &ts, &v, &n);
        if (rc != STRATA_OK)
            return rc;
        for (size_t j = 0; j < n && rc == STRATA_OK;) {
            int64_t first, last;
            target_of(db, tg, ts[j], &first, &last);
            size_t k = j + 1;
            while (k < n && ts[k] <= last)
                k++;
            rc = piece(ctx, first, last, sid, head_series_type(hs), ts + j, v + j, k - j);
            j = k;
        }
        st_free(ts);
        st_free(v);
        if (rc != STRATA_OK)
            return rc;
    }
    return STRATA_OK;
}

static int piece_to_writer(void *ctx, int64_t first, int64_t last, uint32_t sid, uint8_t type,
                           const int64_t *ts, const uint64_t *v, size_t n)
{
    writers *w = ctx;
    seg_writer *sw;
    int rc = writer_for(w, first, last, &sw);
    return rc == STRATA_OK ? segw_add(sw, sid, type, ts, v, n) : rc;
}

static int piece_to_prep(void *ctx, int64_t first, int64_t last, uint32_t sid, uint8_t type,
                         const int64_t *ts, const uint64_t *v, size_t n)
{
    return segp_add(ctx, first, last, sid, type, ts, v, n);
}

/* The helper thread's half of a flush. */
typedef struct flush_half {
    strata_db *db;
    head *f;
    const flush_targets *tg;
    uint32_t from, to;
    seg_prep *prep;
    int rc;
    char msg[512];
} flush_half;

static void *half_main(void *arg)
{
    flush_half *h = arg;
    h->rc = cut_series(h->db, h->f, h->tg, h->from, h->to, piece_to_prep, h->prep);
    if (h->rc != STRATA_OK) {
        h->rc = st_errcode();
        snprintf(h->msg, sizeof h->msg, "%s", st_errmsg());
    }
    return NULL;
}

static _Atomic uint64_t split_min = 0; /* 0: SPLIT_MIN_DEFAULT */
#define SPLIT_MIN_DEFAULT 65536

void db_flush_set_split(uint64_t min_points)
{
    atomic_store(&split_min, min_points);
}

/* Where the helper's half of the series begins: the first position at
 * which the points before reach half; nseries when the flush stays on
 * one thread. */
static uint32_t split_at(head *f)
{
    uint32_t n = head_nseries(f);
    uint64_t min = atomic_load(&split_min), total = head_points(f);
    if (total < (min ? min : SPLIT_MIN_DEFAULT) || n < 2)
        return n;
    static atomic_long cpus;
    long c = atomic_load(&cpus);
    if (!c)
        atomic_store(&cpus, c = sysconf(_SC_NPROCESSORS_ONLN));
    if (c < 2 && min == 0)
        return n;
    uint64_t acc = 0;
    for (uint32_t i = 0; i + 1 < n; i++) {
        acc += head_series_points(head_get(f, head_series_id_at(f, i)));
        if (2 * acc >= total)
            return i + 1;
    }
    return n - 1;
}

/* Write every series of the frozen head into one writer per target range:
 * the series before split_at() on this thread, those after on a helper
 * into a seg_prep, added to the writers after this thread's (so in id
 * order, with the writers created in the same order as on one thread). */
static int write_segments(strata_db *db, head *f, writers *w)
{
    flush_targets tg;
    targets_init(db, &tg);
    head_sort_ids(f);
    uint32_t n = head_nseries(f), split = split_at(f);
    flush_half h = {db, f, &tg, split, n, NULL, STRATA_OK, ""};
    pthread_t helper;
    int helped = 0;
    if (split < n && (h.prep = segp_new()) != NULL)
        helped = pthread_create(&helper, NULL, half_main, &h) == 0;
    if (!helped) {
        segp_free(h.prep);
        h.prep = NULL;
        split = n;
    }
    int rc = cut_series(db, f, &tg, 0, split, piece_to_writer, w);
    if (helped) {
        pthread_join(helper, NULL);
        if (rc == STRATA_OK && h.rc != STRATA_OK)
            rc = st_err(h.rc, "%s", h.msg);
        for (size_t i = 0; i < segp_count(h.prep) && rc == STRATA_OK; i++) {
            int64_t first, last;
            seg_writer *sw;
            segp_partition(h.prep, i, &first, &last);
            rc = writer_for(w, first, last, &sw);
            if (rc == STRATA_OK)
                rc = segw_add_prepared(sw, h.prep, i);
        }
        segp_free(h.prep);
    }
    return rc;
}

int db_flush_frozen(strata_db *db, uint64_t frozen_lsn)
{
    view *v = db_view_get(db);
    if (!v->frozen) {
        view_unref(v);
        return STRATA_OK;
    }
    writers wr = {db, NULL, 0, 0};
    size_t nfinished = 0;
    man_segment *adds = NULL;
    seg_reader **all = NULL;
    int rc = write_segments(db, v->frozen, &wr);
    /* every file written out before the first fsync: their I/O overlaps
     * (a backfill's flush writes a file per partition) */
    for (size_t i = 0; i < wr.n && rc == STRATA_OK; i++)
        rc = segw_complete(wr.ws[i].w);
    for (; nfinished < wr.n && rc == STRATA_OK; nfinished++)
        rc = segw_finish(wr.ws[nfinished].w, &wr.ws[nfinished].info);
    if (rc != STRATA_OK) {
        for (size_t i = nfinished; i < wr.n; i++)
            segw_abort(wr.ws[i].w);
        for (size_t i = 0; i < nfinished; i++) {
            char path[4300];
            seg_file_path(db->seg_dir, wr.ws[i].info.id, path, sizeof path);
            os_unlink(path);
        }
        goto out;
    }
    int e = os_fsync_dir(db->seg_dir);
    if (e < 0) {
        rc = st_err_os(STRATA_IOERR_FSYNC, -e, "cannot sync %s", db->seg_dir);
        goto out;
    }
    /* the records the flush holds are durable before anything that refers
     * to them (the keys file, the manifest's flushed_lsn) is written */
    if (db->wal && (rc = wal_sync_below(db->wal, frozen_lsn)) != STRATA_OK)
        goto out;
    uint64_t cat_len;
    rc = catalog_persist(db->cat, &cat_len);
    if (rc == STRATA_OK && !db->read_only)
        rc = idem_persist(db->idem, db->path, db->idem_path, frozen_lsn, idem_now());
    if (rc != STRATA_OK)
        goto out;
    adds = st_malloc((wr.n ? wr.n : 1) * sizeof *adds);
    all = st_malloc((wr.n + 1) * sizeof *all);
    if (!adds || !all) {
        rc = st_err(STRATA_NOMEM, "out of memory flushing");
        goto out;
    }
    for (size_t i = 0; i < wr.n; i++) {
        seg_info *in = &wr.ws[i].info;
        adds[i] = (man_segment){in->id, in->part_first, in->part_last, in->size, in->points};
    }
    size_t n = 0;
    for (size_t i = 0; i < wr.n && rc == STRATA_OK; i++) {
        char path[4300];
        seg_file_path(db->seg_dir, wr.ws[i].info.id, path, sizeof path);
        rc = segr_open(path, &all[n]);
        if (rc == STRATA_OK)
            n++;
    }
    if (rc == STRATA_OK) {
        pthread_mutex_lock(&db->man_mu);
        /* rollups of the ranges the new data lands in are out of date */
        const man_state *mst = manifest_state(db->man);
        uint64_t *stale = NULL;
        size_t nstale = 0;
        for (size_t i = 0; i < wr.n && rc == STRATA_OK; i++) {
            uint64_t *ids = NULL;
            size_t k = 0;
            rc = rollup_overlapping(mst, adds[i].part_first, adds[i].part_last, &ids, &k);
            uint64_t *grown = k ? st_realloc(stale, (nstale + k) * sizeof *grown) : stale;
            if (!grown && k) {
                rc = st_err(STRATA_NOMEM, "out of memory flushing");
                st_free(ids);
                break;
            }
            for (size_t x = 0; x < k; x++) {
                int seen = 0;
                for (size_t y = 0; y < nstale && !seen; y++)
                    seen = grown[y] == ids[x];
                if (!seen)
                    grown[nstale++] = ids[x];
            }
            stale = grown;
            st_free(ids);
        }
        man_edit ed = {.add = adds,
                       .nadd = wr.n,
                       .flushed_lsn = frozen_lsn,
                       .catalog_len = cat_len,
                       .next_segment_id = db->next_seg_id,
                       .stale_rollups = stale,
                       .nstale_rollups = nstale};
        if (rc == STRATA_OK)
            rc = manifest_commit(db->man, &ed);
        st_free(stale);
        /* Committed: publish to readers, the stale rollups first (while
         * the frozen head still shows the new data), then the segments. */
        if (rc == STRATA_OK && nstale && rollup_publish_stale(db))
            rc = st_err(STRATA_NOMEM, "out of memory installing the flushed segments");
        if (rc == STRATA_OK && db_view_edit(db, all, n, NULL, 0, 1))
            rc = st_err(STRATA_NOMEM, "out of memory installing the flushed segments");
        db->flush_ids_open = 0;
        pthread_cond_broadcast(&db->man_cv);
        pthread_mutex_unlock(&db->man_mu);
    }
    for (size_t i = 0; i < n; i++)
        segr_unref(all[i]);
    if (rc != STRATA_OK)
        goto out;
    atomic_fetch_add(&db->flushes, 1);
    atomic_store(&db->flush_end_ns, os_monotonic_ns());
    if (db->wal)
        rc = wal_trim(db->wal, frozen_lsn);
    if (db->opts.log) {
        char msg[256];
        snprintf(msg, sizeof msg, "flushed %zu segment(s) up to log record %llu", wr.n,
                 (unsigned long long)frozen_lsn);
        db->opts.log(db->opts.log_ctx, STRATA_LOG_INFO, msg);
    }
    compact_wake(db);
out:
    close_ids(db);
    st_free(wr.ws);
    st_free(adds);
    st_free(all);
    view_unref(v);
    return rc;
}

int db_freeze(strata_db *db, int inline_)
{
    pthread_mutex_lock(&db->flush_mu);
    while (db->flushing && !db->failed)
        pthread_cond_wait(&db->flush_cv, &db->flush_mu);
    pthread_mutex_unlock(&db->flush_mu);
    int rc = db_failed_error(db);
    if (rc != STRATA_OK)
        return rc;
    if (head_points(db->active) == 0)
        return STRATA_OK;
    /* every record below this one is in the active head (or older): they
     * are all appended and applied under write_mu, which the caller holds */
    uint64_t lsn = db->wal ? wal_next_lsn(db->wal) : db->replay_lsn;
    head *fresh = head_new(db->hpool);
    if (!fresh)
        return st_err(STRATA_NOMEM, "out of memory starting a new head");
    pthread_rwlock_wrlock(&db->head_lock);
    int bad = db_view_freeze(db, db->active);
    if (!bad)
        db->active = fresh;
    pthread_rwlock_unlock(&db->head_lock);
    if (bad) {
        head_free(fresh);
        return st_err(STRATA_NOMEM, "out of memory freezing the head");
    }
    pthread_mutex_lock(&db->flush_mu);
    db->frozen_lsn = lsn;
    db->flushing = 1;
    if (!inline_) {
        pthread_cond_broadcast(&db->flush_cv);
        pthread_mutex_unlock(&db->flush_mu);
        return STRATA_OK;
    }
    pthread_mutex_unlock(&db->flush_mu);
    rc = db_flush_frozen(db, lsn);
    if (rc != STRATA_OK)
        db_fail(db);
    pthread_mutex_lock(&db->flush_mu);
    db->flushing = 0;
    pthread_cond_broadcast(&db->flush_cv);
    pthread_mutex_unlock(&db->flush_mu);
    return rc;
}

int db_flush_busy(strata_db *db)
{
    pthread_mutex_lock(&db->flush_mu);
    int busy = db->flushing;
    pthread_mutex_unlock(&db->flush_mu);
    return busy;
}

int db_flush_wait(strata_db *db)
{
    pthread_mutex_lock(&db->flush_mu);
    while (db->flushing && !db->failed)
        pthread_cond_wait(&db->flush_cv, &db->flush_mu);
    pthread_mutex_unlock(&db->flush_mu);
    return db_failed_error(db);
}

static void *flush_main(void *arg)
{
    strata_db *db = arg;
    pthread_mutex_lock(&db->flush_mu);
    for (;;) {
        while (!db->flushing && !db->stop)
            pthread_cond_wait(&db->flush_cv, &db->flush_mu);
        if (!db->flushing || db->failed)
            break;
        uint64_t lsn = db->frozen_lsn;
        pthread_mutex_unlock(&db->flush_mu);
        int rc = db_flush_frozen(db, lsn);
        if (rc != STRATA_OK)
            db_fail(db);
        pthread_mutex_lock(&db->flush_mu);
        db->flushing = 0;
        pthread_cond_broadcast(&db->flush_cv);
    }
    pthread_mutex_unlock(&db->flush_mu);
    return NULL;
}

int db_flush_thread_start(strata_db *db)
{
    if (pthread_create(&db->flush_thread, NULL, flush_main, db) != 0)
        return st_err(STRATA_ERROR, "cannot start the flush thread");
    db->has_flush_thread = 1;
    return STRATA_OK;
}

void db_flush_thread_stop(strata_db *db)
{
    if (!db->has_flush_thread)
        return;
    pthread_mutex_lock(&db->flush_mu);
    db->stop = 1;
    pthread_cond_broadcast(&db->flush_cv);
    pthread_mutex_unlock(&db->flush_mu);
    pthread_join(db->flush_thread, NULL);
    db->has_flush_thread = 0;
}
