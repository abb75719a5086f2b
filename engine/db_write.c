/*
 * db_write.c — the write path: a batch becomes one log record, is applied
 * to the active head, and is acknowledged once its sync policy is met.
 *
 * Under write_mu, in order: resolve the batch's series (creating new ones),
 * encode the record (new definitions + samples), append it to the log,
 * apply it to the head, decide whether to flush.  Then, outside the lock,
 * wait for the log (group commit).  A record's definitions are exactly the
 * catalog entries created since the previous record (logged_* watermarks),
 * so a definition reaches the log even if the write that created it
 * failed afterwards.
 *
 * Applying to the head happens before the log is synced: a concurrent
 * reader can see a point whose write has not returned yet.  If the sync
 * then fails, the handle is failed and accepts no more writes.
 */
#include "engine/batch.h"
#include "engine/db.h"

#include "engine/err.h"
#include "wal/wal_format.h"
#include "wal/wal_record.h"

int db_apply(strata_db *db, uint32_t sid, uint8_t type, int64_t ts, uint64_t bits)
{
    if (head_points(db->active) == 0)
        db->head_part = db_partition_of(db, ts > db->frontier ? ts : db->frontier);
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
    if (head_bytes(db->active) < db->flush_threshold && !partition_ended(db))
        return STRATA_OK;
    return db_freeze(db, inline_);
}

static int encode_record(strata_db *db, strata_batch *b)
{
    buf *w = &db->wbuf;
    w->len = 0;
    uint32_t nt = catalog_tagset_count(db->cat), ns = catalog_series_count(db->cat);
    if (catalog_encode_defs(db->cat, db->logged_tagsets, nt, db->logged_series, ns, w) ||
        buf_reserve(w, VARINT_MAX + b->nvals * WREC_SAMPLE_MAX))
        return st_err(STRATA_NOMEM, "out of memory encoding a log record");
    uint8_t *p = buf_cursor(w);
    put_varint(&p, b->nvals);
    wrec_enc e = {0, 0};
    for (size_t i = 0; i < b->nvals; i++) {
        const bval *v = &b->vals[i];
        const lseries *s = &b->ls[v->ls];
        wrec_put_sample(&p, &e, s->db_sid, s->type, v->ts, v->bits);
    }
    buf_commit(w, p);
    return STRATA_OK;
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
    if (b->nvals == 0)
        return STRATA_OK;
    rc = db_failed_error(db);
    if (rc != STRATA_OK)
        return rc;

    wal_writer_enter(db->wal);
    pthread_mutex_lock(&db->write_mu);
    uint64_t lsn = 0;
    rc = batch_resolve(b);
    if (rc == STRATA_OK)
        rc = encode_record(db, b);
    if (rc == STRATA_OK && db->wbuf.len > WAL_MAX_PAYLOAD)
        rc = st_err(STRATA_FULL_BATCH,
                    "batch of %zu values is too large for one log record (%zu bytes, limit %u); "
                    "split it",
                    b->nvals, db->wbuf.len, WAL_MAX_PAYLOAD);
    if (rc == STRATA_OK)
        rc = wal_append(db->wal, WAL_REC_WRITE, db->wbuf.p, db->wbuf.len, &lsn);
    if (rc == STRATA_OK) {
        db->logged_tagsets = catalog_tagset_count(db->cat);
        db->logged_series = catalog_series_count(db->cat);
        pthread_rwlock_wrlock(&db->head_lock);
        for (size_t i = 0; i < b->nvals && rc == STRATA_OK; i++) {
            const bval *v = &b->vals[i];
            const lseries *s = &b->ls[v->ls];
            rc = db_apply(db, s->db_sid, s->type, v->ts, v->bits);
        }
        pthread_rwlock_unlock(&db->head_lock);
        if (rc != STRATA_OK)
            db_fail(db); /* logged but half applied: only a reopen is consistent */
    }
    if (rc == STRATA_OK)
        rc = db_maybe_flush(db, 0);
    pthread_mutex_unlock(&db->write_mu);
    if (rc == STRATA_OK) {
        rc = wal_sync_to(db->wal, lsn);
        if (rc != STRATA_OK)
            db_fail(db);
    }
    wal_writer_leave(db->wal);
    return rc;
}
