/*
 * db_write.c — the write path: a batch becomes one log record, is applied
 * to the active head, and is acknowledged once its sync policy is met.
 *
 * Under write_mu, in order: resolve the batch's series (creating new ones),
 * count its values per series, freeze the head first if the batch would
 * take it past the flush threshold (make_room: before the record is
 * logged, so that a record and its values always belong to the same head),
 * reserve the head memory the values need (reserve_head: so that applying
 * cannot fail, and a write that runs out of memory has logged nothing),
 * encode the record (new definitions + samples), append it to the log,
 * apply it to the head, decide whether to flush (a flush that cannot start
 * for memory does not fail the write: the next one tries again).  Then,
 * outside the lock, wait for the log (group commit).  A record's
 * definitions are exactly the catalog entries created since the previous
 * record (logged_* watermarks), so a definition reaches the log even if
 * the write that created it failed afterwards.
 *
 * Applying to the head happens before the log is synced: a concurrent
 * reader can see a point whose write has not returned yet.  If the sync
 * then fails, the handle is failed and accepts no more writes.
 *
 * A keyed batch (strata_batch_set_key) is first looked up in the key
 * window under write_mu: when its key was applied already, nothing is
 * written; the caller waits until the record that applied it is durable
 * (it may still be in the group-commit buffer) and gets STRATA_OK with
 * the batch marked skipped.  Otherwise the record is a WRITE_KEYED one
 * (the key and the arrival time before the usual payload) and the key
 * enters the window right after the record entered the log, still under
 * write_mu: two retransmissions racing each other apply once.
 *
 * strata_db_define runs only the resolution step (batch_resolve) under
 * write_mu: the new tag sets and series enter the catalog and reach the
 * log with the next record, exactly as those of a write that failed after
 * resolving.
 *
 * Lateness (max_lateness_ns): checked again here under write_mu, against
 * the frontier now, in batch order (strata_batch_point/add_lp checked it
 * when the points were added, against the frontier then); the frontier
 * counts at most up to the wall clock plus DB_FUTURE_SLACK_NS.
 */
#include "engine/batch.h"
#include "engine/db.h"

#include "engine/err.h"
#include "engine/idem.h"
#include "wal/wal_format.h"
#include "wal/wal_record.h"

#include <time.h>

int64_t db_frontier_capped(int64_t f)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    int64_t now = (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
    int64_t cap = now > INT64_MAX - DB_FUTURE_SLACK_NS ? INT64_MAX : now + DB_FUTURE_SLACK_NS;
    return f < cap ? f : cap;
}

int64_t db_frontier_now(strata_db *db)
{
    pthread_mutex_lock(&db->write_mu);
    int64_t f = db->frontier;
    pthread_mutex_unlock(&db->write_mu);
    return db_frontier_capped(f);
}

/* Before the first point (time ts) of an empty active head: the partition
 * the head begins in, that of the frontier with ts. */
static void head_begins(strata_db *db, int64_t ts)
{
    if (head_points(db->active) == 0)
        db->head_part = db_partition_of(db, ts > db->frontier ? ts : db->frontier);
}

int db_apply(strata_db *db, uint32_t sid, uint8_t type, int64_t ts, uint64_t bits)
{
    head_begins(db, ts);
    if (ts > db->frontier)
        db->frontier = ts;
    return head_append(db->active, sid, type, ts, bits);
}

static int partition_ended(strata_db *db)
{
    if (head_points(db->active) == 0 || db_partition_of(db, db->frontier) <= db->head_part)
        return 0;
    int64_t first, last;
    db_partition_bounds(db, db->head_part, &first, &last);
    int64_t grace = db->partition_ns / 8;
    return last >= INT64_MAX - grace || db->frontier > last + grace;
}

int db_maybe_flush(strata_db *db, int inline_)
{
    if (head_bytes(db->active) >= db->flush_threshold)
        return db_freeze(db, inline_);
    /* An ended partition is flushed when the flush thread is free: waiting
     * here for the flush before would stall the writers for a freeze that
     * only tidies up, and a backfill (whose every batch ends a partition)
     * would flush once per batch. */
    if (partition_ended(db) && (inline_ || !db_flush_busy(db)))
        return db_freeze(db, inline_);
    return STRATA_OK;
}

/* The batch's log record payload into db->wbuf, after WAL_RECORD_HEAD
 * bytes left for the frame and with WAL_RECORD_TRAILER bytes of room after
 * it (wal_append_framed). */
static int encode_record(strata_db *db, strata_batch *b, int64_t arrival)
{
    buf *w = &db->wbuf;
    w->len = 0;
    if (buf_reserve(w, WAL_RECORD_HEAD))
        return st_err(STRATA_NOMEM, "out of memory encoding a log record");
    w->len = WAL_RECORD_HEAD;
    if (b->keylen) {
        if (buf_reserve(w, WREC_KEY_PREFIX_MAX))
            return st_err(STRATA_NOMEM, "out of memory encoding a log record");
        uint8_t *q = buf_cursor(w);
        wrec_put_key_prefix(&q, arrival, b->key, b->keylen);
        buf_commit(w, q);
    }
    uint32_t nt = catalog_tagset_count(db->cat), ns = catalog_series_count(db->cat);
    if (catalog_encode_defs(db->cat, db->logged_tagsets, nt, db->logged_series, ns, w) ||
        buf_reserve(w, VARINT_MAX + b->nvals * WREC_SAMPLE_MAX))
        return st_err(STRATA_NOMEM, "out of memory encoding a log record");
    uint8_t *p = buf_cursor(w);
    put_varint(&p, b->nvals);
    wrec_enc e = {0, 0};
    for (size_t i = 0; i < b->nvals; i++) {
        const bval *v = batch_val(b, i);
        const lseries *s = &b->ls[v->ls];
        wrec_put_sample(&p, &e, s->db_sid, s->type, v->ts, v->bits);
    }
    buf_commit(w, p);
    if (buf_reserve(w, WAL_RECORD_TRAILER))
        return st_err(STRATA_NOMEM, "out of memory encoding a log record");
    return STRATA_OK;
}

/* Every value within max_lateness_ns of the frontier, the frontier moving
 * with the batch's own values in batch order. */
static int check_lateness(strata_db *db, strata_batch *b)
{
    int64_t cap = db_frontier_capped(INT64_MAX);
    int64_t front = db->frontier < cap ? db->frontier : cap;
    for (size_t i = 0; i < b->nvals; i++) {
        int64_t ts = batch_val(b, i)->ts;
        if (batch_too_late(db, front, ts)) {
            atomic_fetch_add(&db->late_rejected, 1);
            return batch_late_error(b, batch_val(b, i), front);
        }
        if (ts > front)
            front = ts < cap ? ts : cap;
    }
    return STRATA_OK;
}

/* The batch's key was applied already: acknowledge once that is durable. */
static int ack_duplicate(strata_db *db, strata_batch *b, uint64_t lsn)
{
    int rc = lsn ? wal_sync_to(db->wal, lsn) : STRATA_OK;
    if (rc != STRATA_OK) {
        db_fail(db);
        return rc;
    }
    b->skipped = 1;
    atomic_fetch_add(&db->idem_skipped, 1);
    return STRATA_OK;
}

static int grow_u32(uint32_t **a, uint32_t cap)
{
    uint32_t *p = st_realloc(*a, (size_t)cap * sizeof *p);
    if (p)
        *a = p;
    return p ? 0 : -1;
}

/* The batch's values per series of the database: b->ls_touched[i] and
 * b->sid_n[i] for i < *n, each series once (two cache entries of one batch
 * can name one series, its tags written in two orders), with its type in
 * b->sid_type[i]; b->ls_place[ls] = i for each lseries ls of series i.
 * O(values). */
static int count_series(strata_batch *b, uint32_t *n)
{
    if (b->nvals > UINT32_MAX) /* the log refuses far fewer anyway */
        return st_err(STRATA_FULL_BATCH, "batch of %zu values is too large; split it", b->nvals);
    if (b->cap_count < b->nls) {
        uint32_t cap = b->nls;
        uint8_t *ty = NULL;
        if (grow_u32(&b->ls_count, cap) || grow_u32(&b->ls_touched, cap) ||
            grow_u32(&b->sid_n, cap) || grow_u32(&b->ls_place, cap) || grow_u32(&b->sid_at, cap) ||
            !(ty = st_realloc(b->sid_type, cap)))
            return st_err(STRATA_NOMEM, "out of memory writing a batch");
        b->sid_type = ty;
        memset(b->ls_count + b->cap_count, 0, (size_t)(cap - b->cap_count) * sizeof *b->ls_count);
        b->cap_count = cap;
    }
    uint32_t nt = 0;
    for (size_t i = 0; i < b->nvals; i++) {
        uint32_t ls = batch_val(b, i)->ls;
        if (b->ls_count[ls]++ == 0)
            b->ls_touched[nt++] = ls;
    }
    uint32_t mcap = 16;
    while (mcap < 2 * nt)
        mcap *= 2;
    if (b->cap_sid_map < mcap) {
        uint32_t *m = st_realloc(b->sid_map, (size_t)mcap * sizeof *m);
        if (!m) {
            for (uint32_t i = 0; i < nt; i++)
                b->ls_count[b->ls_touched[i]] = 0;
            return st_err(STRATA_NOMEM, "out of memory writing a batch");
        }
        b->sid_map = m;
        b->cap_sid_map = mcap;
    }
    memset(b->sid_map, 0, (size_t)mcap * sizeof *b->sid_map);
    /* fold the lseries into series, in place (entry k <= i) */
    uint32_t k = 0;
    for (uint32_t i = 0; i < nt; i++) {
        uint32_t ls = b->ls_touched[i], sid = b->ls[ls].db_sid, cnt = b->ls_count[ls];
        b->ls_count[ls] = 0;
        uint32_t j = (sid * 0x9E3779B1u) & (mcap - 1);
        while (b->sid_map[j] && b->ls_touched[b->sid_map[j] - 1] != sid)
            j = (j + 1) & (mcap - 1);
        if (b->sid_map[j]) {
            b->ls_place[ls] = b->sid_map[j] - 1;
            b->sid_n[b->sid_map[j] - 1] += cnt; /* at most nvals in all */
        } else {
            b->ls_place[ls] = k;
            b->ls_touched[k] = sid;
            b->sid_n[k] = cnt;
            b->sid_type[k] = b->ls[ls].type;
            b->sid_map[j] = ++k;
        }
    }
    *n = k;
    return STRATA_OK;
}

/* Freeze the head before a batch that would take it past the flush
 * threshold (a batch may start a new block in every series it touches):
 * the head budget then holds for what is allocated, not just for what was
 * there before the batch.  The batch's series are counted (count_series)
 * first. */
static int make_room(strata_db *db, strata_batch *b, uint32_t nser)
{
    if (head_points(db->active) == 0)
        return STRATA_OK;
    size_t g = 0;
    for (uint32_t i = 0; i < nser; i++)
        g += head_growth(db->active, b->ls_touched[i], b->sid_n[i]);
    return head_bytes(db->active) + g > db->flush_threshold ? db_freeze(db, 0) : STRATA_OK;
}

/* Allocate in the active head what applying the batch needs, before its
 * record is logged: applying then cannot fail, and a write that runs out
 * of memory has written nothing (a record logged but not applied would be
 * replayed at the next open though its write failed). */
static int reserve_head(strata_db *db, const strata_batch *b, uint32_t nser)
{
    if (db->cap_apply_pts < b->nvals) {
        head_point *p = st_realloc(db->apply_pts, b->nvals * sizeof *p);
        if (!p)
            return st_err(STRATA_NOMEM, "out of memory writing a batch");
        db->apply_pts = p;
        db->cap_apply_pts = b->nvals;
    }
    int rc = STRATA_OK;
    head_reserve_begin(db->active);
    for (uint32_t i = 0; i < nser && rc == STRATA_OK; i++)
        rc = head_reserve(db->active, b->ls_touched[i], b->sid_n[i]);
    return rc;
}

#define APPLY_KEEP (1u << 20) /* points of apply_pts kept between writes: 16 MiB */

/* Apply the logged batch to the active head (head_lock held for
 * writing); as db_apply() for each value in batch order, and as
 * reserve_head() made room, it cannot fail.  The values are first grouped
 * by series into db->apply_pts (a stable counting sort, so each series'
 * values keep their batch order, which is all the head's content depends
 * on), then each series' run is appended in one pass: the head's blocks
 * are written in sequence, not one value to each series in turn (Beijing,
 * 132 series: the apply took half the time). */
static int apply_batch(strata_db *db, strata_batch *b, uint32_t nser)
{
    head_begins(db, batch_val(b, 0)->ts);
    uint32_t at = 0;
    for (uint32_t k = 0; k < nser; k++) {
        b->sid_at[k] = at;
        at += b->sid_n[k];
    }
    head_point *pts = db->apply_pts;
    int64_t front = db->frontier;
    for (size_t i = 0; i < b->nvals; i++) {
        const bval *v = batch_val(b, i);
        head_point *p = &pts[b->sid_at[b->ls_place[v->ls]]++];
        p->ts = v->ts;
        p->v = v->bits;
        if (v->ts > front)
            front = v->ts;
    }
    db->frontier = front;
    int rc = STRATA_OK;
    at = 0;
    for (uint32_t k = 0; k < nser && rc == STRATA_OK; k++) {
        rc = head_append_run(db->active, b->ls_touched[k], b->sid_type[k], pts + at, b->sid_n[k]);
        at += b->sid_n[k];
    }
    if (db->cap_apply_pts > APPLY_KEEP) { /* a rare huge batch: not kept for the next */
        st_free(db->apply_pts);
        db->apply_pts = NULL;
        db->cap_apply_pts = 0;
    }
    return rc;
}

int strata_db_define(strata_db *db, strata_batch *b)
{
    if (!db || !b)
        return st_err(STRATA_MISUSE, "strata_db_define: NULL argument");
    if (b->db != db)
        return st_err(STRATA_MISUSE, "strata_db_define: the batch belongs to another database");
    if (db->read_only)
        return st_err(STRATA_MISUSE_READONLY, "the database is open read-only");
    if (!b->new_series)
        return STRATA_OK;
    int rc = db_failed_error(db);
    if (rc != STRATA_OK)
        return rc;
    pthread_mutex_lock(&db->write_mu);
    rc = batch_resolve(b);
    if (rc == STRATA_OK)
        b->new_series = 0; /* every value's series has its id now */
    pthread_mutex_unlock(&db->write_mu);
    return rc;
}

int strata_db_write(strata_db *db, strata_batch *b)
{
    if (!db || !b)
        return st_err(STRATA_MISUSE, "strata_db_write: NULL argument");
    if (b->db != db)
        return st_err(STRATA_MISUSE, "strata_db_write: the batch belongs to another database");
    int rc = batch_finish(b);
    if (rc != STRATA_OK)
        return rc;
    if (db->read_only)
        return st_err(STRATA_MISUSE_READONLY, "the database is open read-only");
    b->skipped = 0;
    if (b->nvals == 0)
        return STRATA_OK;
    rc = db_failed_error(db);
    if (rc != STRATA_OK)
        return rc;

    wal_writer_enter(db->wal);
    pthread_mutex_lock(&db->write_mu);
    uint64_t lsn = 0;
    int64_t now = 0;
    if (b->keylen) {
        now = idem_now();
        uint64_t prev = 0;
        if (idem_seen(db->idem, b->key, b->keylen, now, &prev)) {
            pthread_mutex_unlock(&db->write_mu);
            rc = ack_duplicate(db, b, prev);
            wal_writer_leave(db->wal);
            return rc;
        }
    }
    rc = db->opts.max_lateness_ns > 0 ? check_lateness(db, b) : STRATA_OK;
    if (rc == STRATA_OK)
        rc = batch_resolve(b);
    uint32_t nser = 0;
    if (rc == STRATA_OK)
        rc = count_series(b, &nser);
    if (rc == STRATA_OK)
        rc = make_room(db, b, nser);
    if (rc == STRATA_OK)
        rc = reserve_head(db, b, nser);
    if (rc == STRATA_OK)
        rc = encode_record(db, b, now);
    if (rc == STRATA_OK && b->keylen)
        rc = idem_reserve(db->idem, b->keylen); /* so that idem_add cannot fail below */
    size_t plen = rc == STRATA_OK ? db->wbuf.len - WAL_RECORD_HEAD : 0;
    if (rc == STRATA_OK && plen > WAL_MAX_PAYLOAD)
        rc = st_err(STRATA_FULL_BATCH,
                    "batch of %zu values is too large for one log record (%zu bytes, limit %u); "
                    "split it",
                    b->nvals, plen, WAL_MAX_PAYLOAD);
    if (rc == STRATA_OK)
        rc = wal_append_framed(db->wal, b->keylen ? WAL_REC_WRITE_KEYED : WAL_REC_WRITE, db->wbuf.p,
                               plen, &lsn);
    if (rc == STRATA_OK) {
        db->logged_tagsets = catalog_tagset_count(db->cat);
        db->logged_series = catalog_series_count(db->cat);
        pthread_rwlock_wrlock(&db->head_lock);
        rc = apply_batch(db, b, nser);
        pthread_rwlock_unlock(&db->head_lock);
        atomic_store(&db->frontier_pub, db->frontier);
        if (rc == STRATA_OK && b->keylen)
            rc = idem_add(db->idem, b->key, b->keylen, now, lsn, now);
        if (rc != STRATA_OK)
            db_fail(db); /* logged but half applied: only a reopen is consistent */
    }
    /* Applied and logged: a flush that cannot start for memory (nothing
     * changed) is tried again by the next write, whose make_room fails it
     * cleanly if memory is still short; the write itself stands. */
    if (rc == STRATA_OK) {
        int frc = db_maybe_flush(db, 0);
        if (frc != STRATA_NOMEM)
            rc = frc;
    }
    pthread_mutex_unlock(&db->write_mu);
    if (rc == STRATA_OK) {
        rc = wal_sync_to(db->wal, lsn);
        if (rc != STRATA_OK)
            db_fail(db);
    }
    wal_writer_leave(db->wal);
    return rc;
}
