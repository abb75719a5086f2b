/*
 * db_delete.c — deleting points: strata_delete() and strata_delete_device().
 *
 * A delete is a set of tombstones committed in one manifest edit
 * (FORMAT.md §7.2): series, time span, and a horizon — the next segment id
 * to be handed out at the time of the delete (under man_mu).  Before recording them the head is flushed
 * under the writer lock, so every point written before the delete is in a
 * segment below the horizon, and every later one lands in the head or a
 * segment at or above it.  Readers apply the tombstones of their view
 * (iter.c); compaction rewrites the hidden points away and then drops the
 * tombstone.
 *
 * Invariant: tombstone ids grow; a new one is above every live one.
 */
#include "engine/db.h"

#include "compaction/rollup.h"

#include "engine/alloc.h"
#include "engine/err.h"

#include <string.h>

/* One escaped component of a canonical key: up to an unescaped `stop`
 * character (or the end), compared with the unescaped text want. */
static int component_is(const char **pp, const char *end, char stop, const char *want)
{
    const char *p = *pp;
    size_t w = 0, wn = strlen(want);
    int same = 1;
    while (p < end && *p != stop && (stop != '=' || *p != ',')) {
        char c = *p++;
        if (c == '\\' && p < end && (*p == ',' || *p == '=' || *p == ' '))
            c = *p++;
        same &= w < wn && want[w] == c;
        w++;
    }
    *pp = p;
    return same && w == wn;
}

/* 1 when the canonical tag-set key (measurement, then `,k=v` tags) has tag
 * key = value; measurement, when not NULL, must match too. */
static int tagset_matches(const char *key, uint32_t len, uint32_t mlen, const char *tag,
                          const char *value, const char *measurement)
{
    const char *p = key, *end = key + len;
    if (measurement) {
        const char *m = key;
        if (!component_is(&m, key + mlen, ',', measurement))
            return 0;
    }
    p = key + mlen;
    while (p < end && *p == ',') {
        p++;
        int k = component_is(&p, end, '=', tag);
        if (p < end && *p == '=')
            p++;
        int v = component_is(&p, end, ',', value);
        if (k && v)
            return 1;
    }
    return 0;
}

static int record(strata_db *db, const uint32_t *sids, size_t n, int64_t from, int64_t to)
{
    pthread_mutex_lock(&db->write_mu);
    int rc = db_freeze(db, 0);
    if (rc == STRATA_OK)
        rc = db_flush_wait(db);
    man_tomb *t = NULL;
    tombset *ts = NULL;
    if (rc != STRATA_OK)
        goto out;
    t = st_malloc(n * sizeof *t);
    if (!t) {
        rc = st_err(STRATA_NOMEM, "out of memory recording a delete");
        goto out;
    }
    /* The horizon is the next segment id to be handed out: every id below
     * it is a flushed segment (older writes) or a compaction output that
     * was reserved before this delete and will be filtered by readers. */
    pthread_mutex_lock(&db->man_mu);
    const man_state *st = manifest_state(db->man);
    uint64_t id = st->ntombs ? st->tombs[st->ntombs - 1].id + 1 : 1;
    for (size_t i = 0; i < n; i++)
        t[i] = (man_tomb){id + i, sids[i], from, to == INT64_MAX ? INT64_MAX : to - 1,
                          db->next_seg_id};
    /* the rollups over the deleted span are out of date (all series'
     * rollups of the range: they share files) */
    uint64_t *stale = NULL;
    size_t nstale = 0;
    rc = rollup_overlapping(st, from, to == INT64_MAX ? INT64_MAX : to - 1, &stale, &nstale);
    man_edit e = {.add_tombs = t,
                  .nadd_tombs = n,
                  .next_segment_id = db->next_seg_id,
                  .stale_rollups = stale,
                  .nstale_rollups = nstale};
    if (rc == STRATA_OK)
        rc = manifest_commit(db->man, &e);
    st_free(stale);
    /* Durable now; readers see it from the next view on (the stale
     * rollups first: no reader may use them with the deletion in force). */
    if (rc == STRATA_OK && nstale && rollup_publish_stale(db)) {
        rc = st_err(STRATA_NOMEM, "out of memory installing a delete");
        db_fail(db);
    } else if (rc == STRATA_OK && tombset_from(manifest_state(db->man), &ts)) {
        rc = st_errcode();
        db_fail(db); /* the manifest and the views would disagree */
    } else if (rc == STRATA_OK && db_view_tombs(db, ts)) {
        rc = st_err(STRATA_NOMEM, "out of memory installing a delete");
        db_fail(db);
    }
    pthread_mutex_unlock(&db->man_mu);
out:
    tombset_unref(ts);
    st_free(t);
    pthread_mutex_unlock(&db->write_mu);
    return rc;
}

static int check_open(strata_db *db, const char *fn, int64_t from, int64_t to)
{
    if (!db)
        return st_err(STRATA_MISUSE, "%s: NULL database", fn);
    if (db->read_only)
        return st_err(STRATA_MISUSE_READONLY, "the database is open read-only");
    if (from >= to && to != INT64_MAX)
        return st_err(STRATA_MISUSE, "%s: empty time range (from >= to)", fn);
    return db_failed_error(db);
}

int strata_delete(strata_db *db, const uint64_t *ids, size_t n, int64_t from, int64_t to)
{
    int rc = check_open(db, "strata_delete", from, to);
    if (rc != STRATA_OK)
        return rc;
    if (n == 0)
        return STRATA_OK;
    if (!ids)
        return st_err(STRATA_MISUSE, "strata_delete: NULL ids");
    uint32_t count = catalog_series_count(db->cat);
    uint32_t *sids = st_malloc(n * sizeof *sids);
    if (!sids)
        return st_err(STRATA_NOMEM, "out of memory recording a delete");
    for (size_t i = 0; i < n; i++) {
        if (ids[i] >= count) {
            st_free(sids);
            return st_err(STRATA_NOTFOUND, "no series with id %llu",
                          (unsigned long long)ids[i]);
        }
        sids[i] = (uint32_t)ids[i];
    }
    rc = record(db, sids, n, from, to);
    st_free(sids);
    return rc;
}

int strata_delete_device(strata_db *db, const char *device, const char *measurement,
                         int64_t from, int64_t to, uint64_t *nseries)
{
    if (nseries)
        *nseries = 0;
    int rc = check_open(db, "strata_delete_device", from, to);
    if (rc != STRATA_OK)
        return rc;
    if (!device || !*device)
        return st_err(STRATA_MISUSE, "strata_delete_device: no device named");
    uint32_t count = catalog_series_count(db->cat), n = 0;
    uint32_t *sids = st_malloc(((size_t)count + 1) * sizeof *sids);
    if (!sids)
        return st_err(STRATA_NOMEM, "out of memory recording a delete");
    for (uint32_t s = 0; s < count; s++) {
        cat_series_info in;
        if (catalog_series_info(db->cat, s, &in) == STRATA_OK &&
            tagset_matches(in.tagset_key, in.tagset_len, in.measurement_len, db->device_tag,
                           device, measurement))
            sids[n++] = s;
    }
    if (n)
        rc = record(db, sids, n, from, to);
    st_free(sids);
    if (rc == STRATA_OK && nseries)
        *nseries = n;
    return rc;
}
