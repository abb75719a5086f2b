/*
 * rollup.c — building, merging and expiring rollup segments, and reading
 * them back (see rollup.h for what a rollup promises).
 *
 * A build job for tier w over the range [lo, hi] (whole partitions, all
 * before the frontier's partition):
 *   1. under man_mu: the current view (raw segments, tombstones, rollups)
 *      and the largest tombstone id; an id for the output;
 *   2. no lock: for every series of the raw segments meeting the range
 *      (and of the tier's rollups being replaced), its points merged
 *      newest-wins with tombstones applied (compact_merge_series), cut into
 *      buckets, their statistics written as one segment file, fsynced;
 *   3. under man_mu: if the raw segments meeting the range, the rollups it
 *      replaces and the tombstones are still exactly those of step 1 (a
 *      flush or a delete in between would make the output wrong), ONE
 *      manifest edit adds it and removes the replaced ones; then the view.
 * A crash anywhere leaves the old rollups live and the output an orphan,
 * or the new one live; never neither.  Rollups are only read by queries,
 * so an abandoned job costs time, not correctness.
 */
#include "compaction/rollup.h"

#include "compaction/compact.h"
#include "engine/alloc.h"
#include "engine/db.h"
#include "engine/err.h"
#include "engine/os.h"
#include "engine/segment_format.h"
#include "engine/tmath.h"
#include "strata.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned min_points = ROLL_MIN_POINTS;

void rollup_set_min_points(unsigned n)
{
    min_points = n ? n : ROLL_MIN_POINTS;
}

/* ---- rows ------------------------------------------------------------------- */

void roll_rows_free(roll_rows *r)
{
    st_free(r->bucket);
    for (int k = 0; k < ROLL_NSTATS; k++)
        st_free(r->col[k]);
    st_free(r->raw_lo);
    st_free(r->raw_hi);
    memset(r, 0, sizeof *r);
}

static int rows_reserve(roll_rows *r, size_t more)
{
    if (r->n + more <= r->cap)
        return 0;
    size_t cap = r->cap ? r->cap : 64;
    while (cap < r->n + more)
        cap *= 2;
    int64_t *b = st_realloc(r->bucket, cap * sizeof *b);
    if (!b)
        return -1;
    r->bucket = b;
    for (int k = 0; k < ROLL_NSTATS; k++) {
        uint64_t *c = st_realloc(r->col[k], cap * sizeof *c);
        if (!c)
            return -1;
        r->col[k] = c;
    }
    r->cap = cap;
    return 0;
}

static int raw_add(roll_rows *r, int64_t lo, int64_t hi)
{
    if (r->nraw && r->raw_hi[r->nraw - 1] != INT64_MAX && r->raw_hi[r->nraw - 1] + 1 == lo) {
        r->raw_hi[r->nraw - 1] = hi; /* adjacent: one range */
        return 0;
    }
    if (r->nraw == r->rawcap) {
        size_t cap = r->rawcap ? 2 * r->rawcap : 8;
        int64_t *a = st_realloc(r->raw_lo, cap * sizeof *a);
        if (!a)
            return -1;
        r->raw_lo = a;
        int64_t *b = st_realloc(r->raw_hi, cap * sizeof *b);
        if (!b)
            return -1;
        r->raw_hi = b;
        r->rawcap = cap;
    }
    r->raw_lo[r->nraw] = lo;
    r->raw_hi[r->nraw++] = hi;
    return 0;
}

int roll_rows_compute(roll_rows *r, uint8_t type, int64_t w, const int64_t *ts, const uint64_t *v,
                      size_t n)
{
    r->type = type;
    for (size_t i = 0; i < n;) {
        int64_t b = t_floor_to(ts[i], w);
        size_t j = i + 1;
        while (j < n && ts[j] - b < w && ts[j] >= b)
            j++;
        if (rows_reserve(r, 1))
            return st_err(STRATA_NOMEM, "out of memory building rollups");
        chunk_stats st;
        chunk_stats_compute(type, v + i, j - i, &st);
        size_t k = r->n++;
        r->bucket[k] = b;
        r->col[ROLL_COUNT][k] = st.count;
        r->col[ROLL_NANS][k] = st.nan_count;
        r->col[ROLL_SUM_HI][k] = 0;
        r->col[ROLL_SUM][k] = st.sum;
        if (type == STRATA_I64 && (st.flags & SEG_STAT_SUM_OVERFLOW)) {
            __int128 exact = 0;
            for (size_t x = i; x < j; x++)
                exact += (int64_t)v[x];
            r->col[ROLL_SUM_HI][k] = (uint64_t)(int64_t)((exact - (int64_t)st.sum) >> 64);
        }
        r->col[ROLL_MIN][k] = st.min;
        r->col[ROLL_MAX][k] = st.max;
        r->col[ROLL_FIRST][k] = st.first;
        r->col[ROLL_LAST][k] = st.last;
        r->col[ROLL_FIRST_T][k] = (uint64_t)(ts[i] - b);
        r->col[ROLL_LAST_T][k] = (uint64_t)(ts[j - 1] - b);
        i = j;
    }
    return STRATA_OK;
}

void roll_rows_meta(const roll_rows *r, size_t i, chunk_meta *m)
{
    memset(m, 0, sizeof *m);
    m->tmin = r->bucket[i] + (int64_t)r->col[ROLL_FIRST_T][i];
    m->tmax = r->bucket[i] + (int64_t)r->col[ROLL_LAST_T][i];
    m->st.count = (uint32_t)r->col[ROLL_COUNT][i];
    m->st.nan_count = (uint32_t)r->col[ROLL_NANS][i];
    m->st.flags = r->col[ROLL_SUM_HI][i] ? SEG_STAT_SUM_OVERFLOW : 0;
    m->st.sum = r->col[ROLL_SUM][i];
    m->st.min = r->col[ROLL_MIN][i];
    m->st.max = r->col[ROLL_MAX][i];
    m->st.first = r->col[ROLL_FIRST][i];
    m->st.last = r->col[ROLL_LAST][i];
}

/* Which columns a series of this type has, and their types. */
static int col_present(uint8_t type, int k)
{
    if (k == ROLL_NANS)
        return type == STRATA_F64;
    if (k == ROLL_SUM_HI)
        return type == STRATA_I64;
    return 1;
}

/* Columns that may be left out when zero throughout. */
static int col_optional(int k)
{
    return k == ROLL_NANS || k == ROLL_SUM_HI;
}

static uint8_t col_type(uint8_t type, int k)
{
    switch (k) {
    case ROLL_SUM:
        return type == STRATA_F64 ? STRATA_F64 : STRATA_I64;
    case ROLL_MIN:
    case ROLL_MAX:
    case ROLL_FIRST:
    case ROLL_LAST:
        return type;
    default:
        return STRATA_I64;
    }
}

/* Decode every chunk of the series at c into ts/v (grown). */
static int read_column(const seg_reader *sr, seg_cursor *c, int64_t **ts, uint64_t **v, size_t *n,
                       size_t *cap)
{
    chunk_meta m;
    int rc;
    *n = 0;
    while ((rc = segr_next_chunk(c, &m)) == STRATA_ROW) {
        if (*n + m.st.count > *cap) {
            size_t nc = *cap ? *cap : 256;
            while (nc < *n + m.st.count)
                nc *= 2;
            int64_t *a = st_realloc(*ts, nc * sizeof *a);
            if (!a)
                return st_err(STRATA_NOMEM, "out of memory reading rollups");
            *ts = a;
            uint64_t *b = st_realloc(*v, nc * sizeof *b);
            if (!b)
                return st_err(STRATA_NOMEM, "out of memory reading rollups");
            *v = b;
            *cap = nc;
        }
        rc = segr_decode(sr, &m, *ts + *n, *v + *n);
        if (rc != STRATA_OK)
            return rc;
        *n += m.st.count;
    }
    return rc == STRATA_DONE ? STRATA_OK : rc;
}

int roll_read(const seg_reader *sr, uint32_t sid, roll_rows *r, unsigned mask)
{
    r->n = 0;
    r->nraw = 0;
    r->type = 0;
    if (sid > ROLL_MAX_SID)
        return 0;
    int found = 0, rc = STRATA_OK;
    int64_t *ts = NULL;
    uint64_t *v = NULL;
    size_t n = 0, cap = 0;
    seg_cursor c;
    if (segr_find(sr, ROLL_KEY(sid, ROLL_RAW), &c)) {
        found = 1;
        rc = read_column(sr, &c, &ts, &v, &n, &cap);
        for (size_t i = 0; i < n && rc == STRATA_OK; i++)
            if ((int64_t)v[i] < ts[i] || raw_add(r, ts[i], (int64_t)v[i]))
                rc = (int64_t)v[i] < ts[i]
                         ? st_err(STRATA_CORRUPT_SEGMENT, "%s: rollup of series %u: raw range "
                                  "ends before it starts", segr_path(sr), sid)
                         : st_err(STRATA_NOMEM, "out of memory reading rollups");
    }
    if (rc == STRATA_OK && segr_find(sr, ROLL_KEY(sid, ROLL_COUNT), &c)) {
        found = 1;
        /* the count column gives the buckets; the minimum's type is the
         * series' (a cursor learns its type from its first chunk) */
        rc = read_column(sr, &c, &ts, &v, &n, &cap);
        if (rc == STRATA_OK && rows_reserve(r, n))
            rc = st_err(STRATA_NOMEM, "out of memory reading rollups");
        if (rc == STRATA_OK) {
            r->n = n;
            if (n) {
                memcpy(r->bucket, ts, n * sizeof *ts);
                memcpy(r->col[ROLL_COUNT], v, n * sizeof *v);
            }
        }
        seg_cursor mc;
        chunk_meta mm;
        if (rc == STRATA_OK) {
            int t = segr_find(sr, ROLL_KEY(sid, ROLL_MIN), &mc) ? segr_next_chunk(&mc, &mm) : 0;
            if (t != STRATA_ROW)
                rc = t < 0 || t == STRATA_ROW || t == STRATA_DONE || t == 0
                         ? st_err(STRATA_CORRUPT_SEGMENT, "%s: rollup of series %u lacks its "
                                  "minimum", segr_path(sr), sid)
                         : t;
            else
                r->type = mc.type;
        }
        for (int k = ROLL_COUNT + 1; k < ROLL_NSTATS && rc == STRATA_OK; k++) {
            if (!(mask & (1u << k))) {
                if (r->n)
                    memset(r->col[k], 0, r->n * sizeof *r->col[k]);
                continue;
            }
            int have = segr_find(sr, ROLL_KEY(sid, k), &c);
            if (!have && (col_optional(k) || !col_present(r->type, k))) {
                if (r->n)
                    memset(r->col[k], 0, r->n * sizeof *r->col[k]);
                continue;
            }
            if (!have || !col_present(r->type, k)) {
                rc = st_err(STRATA_CORRUPT_SEGMENT, "%s: rollup of series %u: statistic %d %s",
                            segr_path(sr), sid, k, have ? "does not fit its type" : "is missing");
                break;
            }
            rc = read_column(sr, &c, &ts, &v, &n, &cap);
            if (rc != STRATA_OK)
                break;
            if (c.type != col_type(r->type, k)) {
                rc = st_err(STRATA_CORRUPT_SEGMENT,
                            "%s: rollup of series %u: statistic %d has the wrong type",
                            segr_path(sr), sid, k);
                break;
            }
            if (n != r->n || (n && memcmp(r->bucket, ts, n * sizeof *ts) != 0)) {
                rc = st_err(STRATA_CORRUPT_SEGMENT,
                            "%s: rollup of series %u: statistic %d has other buckets than the "
                            "count", segr_path(sr), sid, k);
                break;
            }
            if (n)
                memcpy(r->col[k], v, n * sizeof *v);
        }
    }
    st_free(ts);
    st_free(v);
    if (rc != STRATA_OK)
        return -rc;
    return found;
}

/* The value of the first (last: the last) row of column k of sid. */
static int end_value(const seg_reader *sr, uint32_t key, int last, int64_t *t, uint64_t *val)
{
    seg_cursor c;
    chunk_meta m, keep;
    if (!segr_find(sr, key, &c))
        return 0;
    int rc, n = 0;
    while ((rc = segr_next_chunk(&c, &m)) == STRATA_ROW) {
        keep = m;
        n++;
        if (!last)
            break;
    }
    if (rc != STRATA_ROW && rc != STRATA_DONE)
        return -rc;
    if (!n)
        return 0;
    int64_t *ts = st_malloc(keep.st.count * sizeof *ts);
    uint64_t *v = st_malloc(keep.st.count * sizeof *v);
    rc = ts && v ? segr_decode(sr, &keep, ts, v)
                 : st_err(STRATA_NOMEM, "out of memory reading rollups");
    if (rc == STRATA_OK) {
        *t = ts[last ? keep.st.count - 1 : 0];
        *val = v[last ? keep.st.count - 1 : 0];
    }
    st_free(ts);
    st_free(v);
    return rc == STRATA_OK ? 1 : -rc;
}

int roll_bounds(const seg_reader *sr, uint32_t sid, int64_t *lo, int64_t *hi)
{
    if (sid > ROLL_MAX_SID)
        return 0;
    int64_t b;
    uint64_t off;
    int r = end_value(sr, ROLL_KEY(sid, ROLL_FIRST_T), 0, &b, &off);
    if (r <= 0)
        return r;
    *lo = b + (int64_t)off;
    r = end_value(sr, ROLL_KEY(sid, ROLL_LAST_T), 1, &b, &off);
    if (r == 0)
        r = -st_err(STRATA_CORRUPT_SEGMENT, "%s: rollup of series %u lacks its last times",
                    segr_path(sr), sid);
    if (r > 0)
        *hi = b + (int64_t)off;
    return r;
}

/* ---- settings ------------------------------------------------------------------ */

int rollup_tiers_check(int64_t partition_ns, const strata_rollup_tier *t, size_t n)
{
    if (n > MAN_MAX_TIERS)
        return st_err(STRATA_MISUSE, "at most %d rollup tiers, not %zu", MAN_MAX_TIERS, n);
    if (n && !t)
        return st_err(STRATA_MISUSE, "rollup tiers: NULL list");
    for (size_t i = 0; i < n; i++) {
        if (t[i].width_ns < 1000000000LL)
            return st_err(STRATA_MISUSE, "rollup tier %zu: width %lld ns is under one second", i + 1,
                          (long long)t[i].width_ns);
        if (partition_ns % t[i].width_ns != 0)
            return st_err(STRATA_MISUSE,
                          "rollup tier %zu: width %lld ns does not divide the partition width "
                          "(%lld ns)", i + 1, (long long)t[i].width_ns, (long long)partition_ns);
        if (i && t[i].width_ns <= t[i - 1].width_ns)
            return st_err(STRATA_MISUSE, "rollup tiers must be given in ascending width");
        if (t[i].retention_ns < 0)
            return st_err(STRATA_MISUSE, "rollup tier %zu: retention must be 0 (forever) or "
                          "positive", i + 1);
    }
    return STRATA_OK;
}

static int same_tiers(const man_state *st, const strata_rollup_tier *t, size_t n)
{
    if (st->ntiers != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (st->tiers[i].width_ns != t[i].width_ns || st->tiers[i].retention_ns != t[i].retention_ns)
            return 0;
    return 1;
}

static int store_tiers(strata_db *db, const strata_rollup_tier *t, size_t n)
{
    int rc = rollup_tiers_check(db->partition_ns, t, n);
    if (rc != STRATA_OK)
        return rc;
    man_tier mt[MAN_MAX_TIERS];
    for (size_t i = 0; i < n; i++)
        mt[i] = (man_tier){t[i].width_ns, t[i].retention_ns};
    pthread_mutex_lock(&db->man_mu);
    if (!same_tiers(manifest_state(db->man), t, n)) {
        man_edit ed = {.set_tiers = 1, .tiers = mt, .ntiers = n};
        rc = manifest_commit(db->man, &ed);
    }
    pthread_mutex_unlock(&db->man_mu);
    return rc;
}

int rollup_open_settings(strata_db *db, const strata_rollup_tier *t, size_t n)
{
    if (same_tiers(manifest_state(db->man), t, n))
        return STRATA_OK;
    if (db->read_only)
        return st_err(STRATA_MISUSE_READONLY,
                      "cannot change the rollup tiers of a database opened read-only");
    return store_tiers(db, t, n);
}

int strata_db_set_rollup_tiers(strata_db *db, const strata_rollup_tier *t, size_t n)
{
    if (!db)
        return st_err(STRATA_MISUSE, "strata_db_set_rollup_tiers: NULL database");
    if (db->read_only)
        return st_err(STRATA_MISUSE_READONLY, "the database is open read-only");
    int rc = db_failed_error(db);
    if (rc == STRATA_OK)
        rc = store_tiers(db, t, n);
    if (rc == STRATA_OK)
        compact_wake(db);
    return rc;
}

int strata_db_get_rollup_tiers(strata_db *db, strata_rollup_tier *t, size_t *n)
{
    if (!db || !t || !n)
        return st_err(STRATA_MISUSE, "strata_db_get_rollup_tiers: NULL argument");
    pthread_mutex_lock(&db->man_mu);
    const man_state *st = manifest_state(db->man);
    *n = st->ntiers;
    for (size_t i = 0; i < st->ntiers; i++)
        t[i] = (strata_rollup_tier){st->tiers[i].width_ns, st->tiers[i].retention_ns};
    pthread_mutex_unlock(&db->man_mu);
    return STRATA_OK;
}

int rollup_overlapping(const man_state *st, int64_t lo, int64_t hi, uint64_t **ids, size_t *n)
{
    *ids = NULL;
    *n = 0;
    for (size_t i = 0; i < st->nrollups; i++) {
        const man_rollup *r = &st->rollups[i];
        if (r->stale || r->part_last < lo || r->part_first > hi)
            continue;
        if (!*ids && !(*ids = st_malloc(st->nrollups * sizeof **ids)))
            return st_err(STRATA_NOMEM, "out of memory marking rollups stale");
        (*ids)[(*n)++] = r->id;
    }
    return STRATA_OK;
}

int rollup_publish_stale(strata_db *db)
{
    view *v = db_view_get(db);
    rollset *rs = NULL;
    int rc = rollset_from(manifest_state(db->man), v->rolls, NULL, 0, &rs);
    view_unref(v);
    if (rc == 0 && db_view_rolls(db, rs))
        rc = -1;
    rollset_unref(rs);
    return rc;
}

/* ---- the pass --------------------------------------------------------------------- */

typedef struct span {
    int64_t lo, hi;
} span;

static int by_lo(const void *a, const void *b)
{
    const span *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* 1 when the valid rollups of width w in v cover [lo, hi] wholly. */
static int covered(const view *v, int64_t w, int64_t lo, int64_t hi)
{
    if (!v->rolls)
        return 0;
    span s[64];
    size_t n = 0;
    const rollset *rs = v->rolls;
    for (size_t i = 0; i < rs->n; i++) {
        const roll *r = &rs->x[i];
        if (r->width != w || r->stale || r->last < lo || r->first > hi)
            continue;
        if (n == sizeof s / sizeof s[0])
            return 0; /* so fragmented that a rebuild is due anyway */
        s[n++] = (span){r->first, r->last};
    }
    qsort(s, n, sizeof s[0], by_lo);
    int64_t need = lo;
    for (size_t i = 0; i < n; i++) {
        if (s[i].lo > need)
            return 0;
        if (s[i].hi >= hi)
            return 1;
        need = s[i].hi + 1;
    }
    return 0;
}

static int sid_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct job {
    int64_t w, lo, hi;
    int64_t keep_from; /* buckets before it keep the old rows */
    unsigned density;  /* points per bucket a series needs for rows (0: any) */
    seg_reader **raw;  /* the raw inputs (ascending id) */
    size_t nraw;
    const roll **old; /* the tier's rollups it replaces (in the job's view) */
    size_t nold;
} job;

/* Every series id in the job's inputs, ascending, without repeats. */
static int job_sids(const job *j, uint32_t **out, size_t *n)
{
    size_t cap = 0;
    for (size_t i = 0; i < j->nraw; i++)
        cap += segr_info(j->raw[i])->nseries;
    for (size_t i = 0; i < j->nold; i++)
        cap += j->old[i]->r ? segr_info(j->old[i]->r)->nseries : 0;
    uint32_t *s = st_malloc((cap + 1) * sizeof *s);
    if (!s)
        return st_err(STRATA_NOMEM, "out of memory building rollups");
    size_t k = 0;
    for (size_t i = 0; i < j->nraw; i++)
        for (uint32_t x = 0; x < segr_info(j->raw[i])->nseries; x++) {
            seg_cursor c;
            if (segr_series_at(j->raw[i], x, &c) && c.sid <= ROLL_MAX_SID)
                s[k++] = c.sid;
        }
    for (size_t i = 0; i < j->nold; i++)
        for (uint32_t x = 0; j->old[i]->r && x < segr_info(j->old[i]->r)->nseries; x++) {
            seg_cursor c;
            if (segr_series_at(j->old[i]->r, x, &c))
                s[k++] = c.sid >> 4;
        }
    qsort(s, k, sizeof *s, sid_cmp);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (!u || s[u - 1] != s[i])
            s[u++] = s[i];
    *out = s;
    *n = u;
    return STRATA_OK;
}

/* Drop the rows of r, read from rollup segment `id`, whose bucket a
 * tombstone of v deletes wholly — one newer than that rollup (its horizon,
 * the next id at the delete, above the rollup's id): an older one was
 * applied when the rollup was built, and a row in its span now holds data
 * written after the delete. */
static void drop_deleted_rows(const view *v, uint32_t sid, uint64_t id, int64_t w, roll_rows *r)
{
    size_t nt = 0;
    const man_tomb *t = view_tombs_for(v, sid, &nt);
    if (!nt)
        return;
    size_t keep = 0;
    for (size_t i = 0; i < r->n; i++) {
        int64_t b = r->bucket[i];
        int gone = 0;
        for (size_t k = 0; k < nt && !gone; k++)
            gone = t[k].horizon > id && t[k].from <= b && (__int128)b + w - 1 <= t[k].to;
        if (gone)
            continue;
        r->bucket[keep] = b;
        for (int k = 0; k < ROLL_NSTATS; k++)
            r->col[k][keep] = r->col[k][i];
        keep++;
    }
    r->n = keep;
}

/* From the chunk index alone, without decoding: 1 when series sid cannot
 * pass the job's density rule — at most P points (the chunks' counts
 * from keep_from on, duplicates included) against at least B non-empty
 * buckets (in the input with the most, the distinct buckets of its chunks'
 * first and last points, which are points), P < density x B — else 0;
 * <0 an error.  Regular sparse data (10 s readings, hourly weather) is
 * settled here, so its empty rollups cost an index walk.  Not with
 * tombstones on the series (they may empty those buckets). */
static int surely_sparse(const job *j, const view *v, uint32_t sid)
{
    size_t nt = 0;
    view_tombs_for(v, sid, &nt);
    if (nt)
        return 0;
    uint64_t points = 0, most = 0;
    for (size_t i = 0; i < j->nraw; i++) {
        seg_cursor c;
        if (!segr_find(j->raw[i], sid, &c))
            continue;
        chunk_meta m;
        int rc;
        uint64_t buckets = 0;
        int64_t prev = 0;
        int any = 0;
        while ((rc = segr_next_chunk(&c, &m)) == STRATA_ROW) {
            if (m.tmax < j->keep_from)
                continue;
            points += m.st.count;
            if (m.tmin < j->keep_from)
                continue; /* its first point may lie before: count its last only */
            int64_t x = t_floor_to(m.tmin, j->w), y = t_floor_to(m.tmax, j->w);
            buckets += !any || x != prev;
            buckets += y != x;
            prev = y;
            any = 1;
        }
        if (rc != STRATA_DONE)
            return -rc;
        most = buckets > most ? buckets : most;
    }
    return points < (uint64_t)j->density * most;
}

/* The rows of one series for the job into out: old rows before keep_from
 * (a replaced rollup without the series sends its range to raw data),
 * then the raw data's.  A sparse series with nothing from the old rollups
 * is left out (out->n == out->nraw == 0: absent, so read raw). */
static int series_rows(const job *j, const view *v, uint32_t sid, roll_rows *out)
{
    roll_rows old = {0};
    int rc = STRATA_OK;
    out->n = out->nraw = 0;
    out->type = 0;
    if (j->keep_from > j->lo) {
        for (size_t i = 0; i < j->nold && rc == STRATA_OK; i++) {
            const roll *oi = j->old[i];
            if (oi->first >= j->keep_from)
                continue;
            int r = oi->r ? roll_read(oi->r, sid, &old, ROLL_ALL) : 0;
            if (r < 0) {
                rc = -r;
                break;
            }
            if (!r) {
                int64_t hi = oi->last < j->keep_from ? oi->last : j->keep_from - 1;
                if (raw_add(out, oi->first, hi))
                    rc = st_err(STRATA_NOMEM, "out of memory building rollups");
                continue;
            }
            drop_deleted_rows(v, sid, oi->id, j->w, &old);
            if (old.type)
                out->type = old.type;
            for (size_t k = 0; k < old.n && rc == STRATA_OK; k++) {
                if (old.bucket[k] >= j->keep_from)
                    break;
                if (rows_reserve(out, 1)) {
                    rc = st_err(STRATA_NOMEM, "out of memory building rollups");
                    break;
                }
                out->bucket[out->n] = old.bucket[k];
                for (int c = 0; c < ROLL_NSTATS; c++)
                    out->col[c][out->n] = old.col[c][k];
                out->n++;
            }
            for (size_t k = 0; k < old.nraw && rc == STRATA_OK; k++)
                if (old.raw_lo[k] < j->keep_from &&
                    raw_add(out, old.raw_lo[k],
                            old.raw_hi[k] < j->keep_from ? old.raw_hi[k] : j->keep_from - 1))
                    rc = st_err(STRATA_NOMEM, "out of memory building rollups");
        }
    }
    roll_rows_free(&old);
    if (rc != STRATA_OK || !j->nraw)
        return rc;
    if (j->density && !out->n && !out->nraw) {
        int sparse = surely_sparse(j, v, sid);
        if (sparse < 0)
            return -sparse;
        if (sparse)
            return STRATA_OK; /* absent: read raw */
    }
    int64_t *ts = NULL;
    uint64_t *vals = NULL;
    size_t n = 0;
    uint8_t type = 0;
    rc = compact_merge_series(j->raw, j->nraw, sid, v, &ts, &vals, &n, &type);
    size_t from = 0;
    while (from < n && ts[from] < j->keep_from)
        from++;
    if (rc == STRATA_OK && from < n) {
        if (out->type && out->type != type)
            rc = st_err(STRATA_CORRUPT_SEGMENT, "series %u: its rollup has type %u, its data %u",
                        sid, out->type, type);
        size_t before = out->n;
        if (rc == STRATA_OK)
            rc = roll_rows_compute(out, type, j->w, ts + from, vals + from, n - from);
        if (rc == STRATA_OK && j->density &&
            n - from < (size_t)j->density * (out->n - before)) {
            /* too sparse to pay for rows: read raw */
            out->n = before;
            int64_t lo = j->lo > j->keep_from ? j->lo : j->keep_from;
            if ((out->n || out->nraw) && raw_add(out, lo, j->hi))
                rc = st_err(STRATA_NOMEM, "out of memory building rollups");
        }
    }
    st_free(ts);
    st_free(vals);
    return rc;
}

/* A column that is zero in every row is left out (it reads as zero). */
static int all_zero(const roll_rows *r, int k)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->col[k][i])
            return 0;
    return 1;
}

static int write_series(seg_writer *w, uint32_t sid, const roll_rows *r)
{
    int rc = STRATA_OK;
    if (r->n)
        for (int k = 0; k < ROLL_NSTATS && rc == STRATA_OK; k++)
            if (col_present(r->type, k) && !(col_optional(k) && all_zero(r, k)))
                rc = segw_add(w, ROLL_KEY(sid, k), col_type(r->type, k), r->bucket, r->col[k],
                              r->n);
    if (rc == STRATA_OK && r->nraw)
        rc = segw_add(w, ROLL_KEY(sid, ROLL_RAW), STRATA_I64, r->raw_lo,
                      (const uint64_t *)r->raw_hi, r->nraw);
    return rc;
}

static int by_first(const void *a, const void *b)
{
    int64_t x = (*(const roll *const *)a)->first, y = (*(const roll *const *)b)->first;
    return x < y ? -1 : x > y;
}

/* Step 2: write the job's output to path. */
static int build(strata_db *db, job *j, const view *v, const char *path, uint64_t id,
                 seg_info *info)
{
    /* the replaced rollups' ranges are disjoint: in time order, their rows
     * are too */
    qsort(j->old, j->nold, sizeof *j->old, by_first);
    uint32_t *sids = NULL;
    size_t ns = 0;
    int rc = job_sids(j, &sids, &ns);
    if (rc != STRATA_OK)
        return rc;
    /* The file is created with the first rows: a window whose raw segments
     * hold no point inside it (they meet it by their partition bounds only)
     * makes no file, where it took a write, two fsyncs and an unlink. */
    seg_writer *w = NULL;
    roll_rows r = {0};
    for (size_t i = 0; i < ns && rc == STRATA_OK; i++) {
        if (atomic_load(&db->comp_stop)) {
            rc = st_err(STRATA_BUSY, "rollup abandoned: the database is closing");
            break;
        }
        rc = series_rows(j, v, sids[i], &r);
        if (rc == STRATA_OK && !w && (r.n || r.nraw))
            rc = segw_open(path, id, j->lo, j->hi, &w);
        if (rc == STRATA_OK && w)
            rc = write_series(w, sids[i], &r);
    }
    roll_rows_free(&r);
    st_free(sids);
    int made = w != NULL;
    if (rc == STRATA_OK && made) {
        rc = segw_finish(w, info);
        w = NULL;
    }
    segw_abort(w);
    if (rc == STRATA_OK && !(made && info->nseries)) {
        /* no series, no file (one made for rows that kept no column goes);
         * run() records an empty rollup */
        if (made)
            os_unlink(path);
        memset(info, 0, sizeof *info);
        return STRATA_OK;
    }
    if (rc == STRATA_OK) {
        int e = os_fsync_dir(db->seg_dir);
        if (e < 0)
            rc = st_err_os(STRATA_IOERR_FSYNC, -e, "cannot sync %s", db->seg_dir);
    }
    if (rc != STRATA_OK)
        os_unlink(path);
    return rc;
}

static const man_rollup *live_rollup(const man_state *st, uint64_t id)
{
    for (size_t i = 0; i < st->nrollups; i++)
        if (st->rollups[i].id == id)
            return &st->rollups[i];
    return NULL;
}

static int raw_live(const man_state *st, uint64_t id)
{
    for (size_t i = 0; i < st->nsegs; i++)
        if (st->segs[i].id == id)
            return 1;
    return 0;
}

/* Step 3's check, under man_mu: the raw segments meeting [lo, hi] are
 * exactly the job's, the replaced rollups are live, and no tombstone came
 * after max_tomb.  For a merge of rollups (nraw == SIZE_MAX) only the
 * inputs are checked, and that they are still valid. */
static int still_valid(const man_state *st, const job *j, uint64_t max_tomb, int merge)
{
    for (size_t i = 0; i < j->nold; i++) {
        const man_rollup *r = live_rollup(st, j->old[i]->id);
        if (!r || (merge && r->stale))
            return 0;
    }
    if (merge)
        return 1;
    if (st->ntombs && st->tombs[st->ntombs - 1].id > max_tomb)
        return 0;
    size_t meeting = 0;
    for (size_t i = 0; i < st->nsegs; i++)
        if (st->segs[i].part_last >= j->lo && st->segs[i].part_first <= j->hi)
            meeting++;
    if (meeting != j->nraw)
        return 0;
    for (size_t i = 0; i < j->nraw; i++)
        if (!raw_live(st, segr_info(j->raw[i])->id))
            return 0;
    return 1;
}

/* Run one job: build (or, merge: rollups merged) and commit. */
static int run(strata_db *db, job *j, int merge, int *did)
{
    /* segments only: a frozen head held for the whole build would keep its
     * memory (up to half the head budget) alive while the writers fill
     * the next one */
    pthread_mutex_lock(&db->man_mu);
    view *v = db_view_segments(db);
    const man_state *st = manifest_state(db->man);
    uint64_t max_tomb = st->ntombs ? st->tombs[st->ntombs - 1].id : 0;
    uint64_t id = db->next_seg_id++;
    pthread_mutex_unlock(&db->man_mu);
    if (!v)
        return st_errcode();
    char path[4300];
    seg_file_path(db->seg_dir, id, path, sizeof path);
    seg_info info;
    int rc = build(db, j, v, path, id, &info);
    view_unref(v);
    if (rc != STRATA_OK)
        return rc;
    seg_reader *out = NULL;
    /* nothing to keep (build left no file): an empty rollup, recorded in
     * the manifest only (size 0, FORMAT.md §5.10) */
    if (info.nseries)
        rc = segr_open(path, &out);
    uint64_t *gone = st_malloc((j->nold + 1) * sizeof *gone);
    if (rc == STRATA_OK && !gone)
        rc = st_err(STRATA_NOMEM, "out of memory building rollups");
    if (rc != STRATA_OK) {
        if (out) {
            segr_mark_obsolete(out);
            segr_unref(out);
        } else if (info.nseries) {
            os_unlink(path);
        }
        st_free(gone);
        return rc;
    }
    for (size_t i = 0; i < j->nold; i++)
        gone[i] = j->old[i]->id;
    pthread_mutex_lock(&db->man_mu);
    int ok = still_valid(manifest_state(db->man), j, max_tomb, merge);
    if (ok) {
        man_rollup add = {id, j->w, j->lo, j->hi, info.size, info.points, 0};
        man_edit ed = {.add_rollups = &add,
                       .nadd_rollups = 1,
                       .remove_rollups = gone,
                       .nremove_rollups = j->nold,
                       .next_segment_id = db->next_seg_id};
        rc = manifest_commit(db->man, &ed);
        view *cur = db_view_get(db);
        rollset *rs = NULL;
        if (rc == STRATA_OK &&
            (rollset_from(manifest_state(db->man), cur->rolls, &out, out != NULL, &rs) ||
             db_view_rolls(db, rs)))
            rc = st_err(STRATA_NOMEM, "out of memory installing a rollup");
        rollset_unref(rs);
        view_unref(cur);
    }
    pthread_mutex_unlock(&db->man_mu);
    if (rc != STRATA_OK) {
        db_fail(db); /* the edit may be on disk: leave every file alone */
    } else if (ok) {
        for (size_t i = 0; i < j->nold; i++)
            if (j->old[i]->r)
                segr_mark_obsolete(j->old[i]->r);
        *did = 1;
        if (db->opts.log) {
            char msg[600];
            snprintf(msg, sizeof msg, "%s %lld s rollup %s (%llu rows, replacing %zu)",
                     merge ? "merged" : "built", (long long)(j->w / 1000000000LL), path,
                     (unsigned long long)info.points, j->nold);
            db->opts.log(db->opts.log_ctx, STRATA_LOG_INFO, msg);
        }
    } else if (out) {
        segr_mark_obsolete(out);
    }
    if (out)
        segr_unref(out);
    st_free(gone);
    return rc;
}

/* The raw segment and rollup lists of v meeting [lo, hi] for tier w, the
 * range widened until nothing outside it meets it. */
static int gather(const view *v, int64_t w, job *j)
{
    j->raw = st_malloc((v->nsegs + 1) * sizeof *j->raw);
    j->old = st_malloc(((v->rolls ? v->rolls->n : 0) + 1) * sizeof *j->old);
    if (!j->raw || !j->old)
        return st_err(STRATA_NOMEM, "out of memory building rollups");
    for (int grown = 1; grown;) {
        grown = 0;
        j->nraw = j->nold = 0;
        for (size_t i = 0; i < v->nsegs; i++) {
            const seg_info *si = segr_info(v->segs[i]);
            if (si->part_last < j->lo || si->part_first > j->hi)
                continue;
            j->raw[j->nraw++] = v->segs[i];
            if (si->part_first < j->lo || si->part_last > j->hi) {
                j->lo = si->part_first < j->lo ? si->part_first : j->lo;
                j->hi = si->part_last > j->hi ? si->part_last : j->hi;
                grown = 1;
            }
        }
        for (size_t i = 0; v->rolls && i < v->rolls->n; i++) {
            const roll *r = &v->rolls->x[i];
            if (r->width != w || r->last < j->lo || r->first > j->hi)
                continue;
            j->old[j->nold++] = r;
            if (r->first < j->lo || r->last > j->hi) {
                j->lo = r->first < j->lo ? r->first : j->lo;
                j->hi = r->last > j->hi ? r->last : j->hi;
                grown = 1;
            }
        }
    }
    return STRATA_OK;
}

/* A merge of tier w's rollups over [j->lo, j->hi]: the inputs are the
 * tier's rollups meeting it, all inside it and valid, and every raw
 * segment meeting it lies inside it and is covered by them (the output
 * answers for the whole range).  1 when the merge may go ahead. */
static int gather_merge(const view *v, int64_t w, job *j)
{
    j->old = st_malloc(((v->rolls ? v->rolls->n : 0) + 1) * sizeof *j->old);
    if (!j->old)
        return -st_err(STRATA_NOMEM, "out of memory merging rollups");
    for (size_t i = 0; v->rolls && i < v->rolls->n; i++) {
        const roll *r = &v->rolls->x[i];
        if (r->width != w || r->last < j->lo || r->first > j->hi)
            continue;
        if (r->stale || r->first < j->lo || r->last > j->hi)
            return 0;
        j->old[j->nold++] = r;
    }
    for (size_t i = 0; i < v->nsegs; i++) {
        const seg_info *si = segr_info(v->segs[i]);
        if (si->part_last < j->lo || si->part_first > j->hi)
            continue;
        if (si->part_first < j->lo || si->part_last > j->hi ||
            !covered(v, w, si->part_first, si->part_last))
            return 0;
    }
    return j->nold >= 2;
}

static void job_free(job *j)
{
    st_free(j->raw);
    st_free(j->old);
    memset(j, 0, sizeof *j);
}

/* Build the first missing or stale rollup of tier w found; *found 0 when
 * every closed raw range is covered. */
static int build_one(strata_db *db, const man_tier *t, int64_t closed_before, int *found,
                     int *did)
{
    *found = 0;
    pthread_mutex_lock(&db->man_mu);
    view *v = db_view_segments(db);
    int64_t raw_ret = manifest_state(db->man)->retention_ns;
    int64_t raw_gone = manifest_state(db->man)->has_raw_gone
                           ? manifest_state(db->man)->raw_gone_before
                           : INT64_MIN;
    pthread_mutex_unlock(&db->man_mu);
    if (!v)
        return st_errcode();
    job j = {0};
    int rc = STRATA_OK;
    for (size_t i = 0; i < v->nsegs && !*found; i++) {
        const seg_info *si = segr_info(v->segs[i]);
        if (si->part_last >= closed_before || covered(v, t->width_ns, si->part_first, si->part_last))
            continue;
        j.w = t->width_ns;
        j.lo = si->part_first;
        j.hi = si->part_last;
        rc = gather(v, t->width_ns, &j);
        if (rc != STRATA_OK)
            break;
        if (j.hi >= closed_before) {
            job_free(&j);
            continue;
        }
        *found = 1;
    }
    for (size_t i = 0; v->rolls && i < v->rolls->n && !*found && rc == STRATA_OK; i++) {
        /* a stale rollup with no raw data left under it (deleted, or
         * retention): rebuilt from its own rows, tombstones applied */
        const roll *r = &v->rolls->x[i];
        if (r->width != t->width_ns || !r->stale)
            continue;
        j.w = t->width_ns;
        j.lo = r->first;
        j.hi = r->last;
        rc = gather(v, t->width_ns, &j);
        if (rc == STRATA_OK && j.hi < closed_before)
            *found = 1;
        else
            job_free(&j);
    }
    if (rc == STRATA_OK && *found) {
        j.density = raw_ret == 0 ? min_points : ROLL_MIN_POINTS_RETAINED;
        /* buckets retention has taken the raw data of keep their rows */
        j.keep_from = INT64_MIN;
        if (raw_gone > j.lo) {
            int64_t b = t_floor_to(raw_gone, j.w);
            j.keep_from = b < raw_gone ? b + j.w : b;
        }
        rc = run(db, &j, 0, did);
        if (rc == STRATA_OK && !*did)
            *found = 0; /* abandoned (the data changed): the next pass retries */
    }
    job_free(&j);
    view_unref(v);
    return rc;
}

/* Retention and merges of tier t's valid rollups; drops those of tiers no
 * longer configured. */
static int tidy_tier(strata_db *db, const man_tier *t, int64_t frontier, int background, int *did)
{
    pthread_mutex_lock(&db->man_mu);
    view *v = db_view_segments(db);
    pthread_mutex_unlock(&db->man_mu);
    if (!v)
        return st_errcode();
    size_t n = v->rolls ? v->rolls->n : 0;
    cplan_seg *segs = st_malloc((n + 1) * sizeof *segs);
    uint64_t *drop = st_malloc((n + 1) * sizeof *drop);
    int rc = STRATA_OK;
    if (!segs || !drop)
        rc = st_err(STRATA_NOMEM, "out of memory tidying rollups");
    size_t m = 0, nd = 0;
    __int128 cutoff = (__int128)frontier - t->retention_ns;
    for (size_t i = 0; i < n && rc == STRATA_OK; i++) {
        const roll *r = &v->rolls->x[i];
        if (r->width != t->width_ns)
            continue;
        if (frontier != INT64_MIN && t->retention_ns > 0 && (__int128)r->last < cutoff)
            drop[nd++] = r->id;
        else if (!r->stale)
            segs[m++] = (cplan_seg){r->id, r->first, r->last, r->size};
    }
    if (rc == STRATA_OK && nd) {
        pthread_mutex_lock(&db->man_mu);
        uint64_t *live = st_malloc(nd * sizeof *live);
        size_t k = 0;
        for (size_t i = 0; live && i < nd; i++)
            if (live_rollup(manifest_state(db->man), drop[i]))
                live[k++] = drop[i];
        if (!live)
            rc = st_err(STRATA_NOMEM, "out of memory applying rollup retention");
        man_edit ed = {.remove_rollups = live, .nremove_rollups = k};
        if (rc == STRATA_OK && k) {
            rc = manifest_commit(db->man, &ed);
            if (rc == STRATA_OK && rollup_publish_stale(db))
                rc = st_err(STRATA_NOMEM, "out of memory applying rollup retention");
            if (rc == STRATA_OK) {
                for (size_t i = 0; i < k; i++)
                    for (size_t x = 0; x < n; x++)
                        if (v->rolls->x[x].id == live[i] && v->rolls->x[x].r)
                            segr_mark_obsolete(v->rolls->x[x].r);
                *did = 1;
            }
        }
        st_free(live);
        pthread_mutex_unlock(&db->man_mu);
        if (rc != STRATA_OK)
            db_fail(db);
    }
    cplan p = {0};
    if (rc == STRATA_OK) {
        cplan_params prm = {.partition_ns = db->partition_ns,
                            .frontier = frontier,
                            .retention_ns = t->retention_ns,
                            .background = background};
        rc = compact_plan(segs, m, &prm, &p);
    }
    for (size_t i = 0; i < p.njobs && rc == STRATA_OK; i++) {
        const cplan_job *pj = &p.jobs[i];
        /* rows from the inputs only (keep_from past the range) */
        job j = {.w = t->width_ns, .lo = pj->part_first, .hi = pj->part_last,
                 .keep_from = INT64_MAX};
        int go = gather_merge(v, t->width_ns, &j);
        if (go < 0)
            rc = -go;
        else if (go)
            rc = run(db, &j, 1, did);
        job_free(&j);
    }
    compact_plan_free(&p);
    st_free(segs);
    st_free(drop);
    view_unref(v);
    return rc;
}

/* Rollups of widths that are no tier any more go. */
static int drop_untiered(strata_db *db, int *did)
{
    pthread_mutex_lock(&db->man_mu);
    const man_state *st = manifest_state(db->man);
    uint64_t *ids = st_malloc((st->nrollups + 1) * sizeof *ids);
    size_t k = 0;
    int rc = ids ? STRATA_OK : st_err(STRATA_NOMEM, "out of memory dropping rollups");
    for (size_t i = 0; ids && i < st->nrollups; i++) {
        int tier = 0;
        for (size_t t = 0; t < st->ntiers && !tier; t++)
            tier = st->tiers[t].width_ns == st->rollups[i].width_ns;
        if (!tier)
            ids[k++] = st->rollups[i].id;
    }
    view *v = db_view_get(db);
    if (rc == STRATA_OK && k) {
        man_edit ed = {.remove_rollups = ids, .nremove_rollups = k};
        rc = manifest_commit(db->man, &ed);
        if (rc == STRATA_OK && rollup_publish_stale(db))
            rc = st_err(STRATA_NOMEM, "out of memory dropping rollups");
        for (size_t i = 0; rc == STRATA_OK && v->rolls && i < v->rolls->n; i++)
            for (size_t x = 0; x < k; x++)
                if (v->rolls->x[i].id == ids[x] && v->rolls->x[i].r)
                    segr_mark_obsolete(v->rolls->x[i].r);
        *did |= rc == STRATA_OK;
    }
    view_unref(v);
    pthread_mutex_unlock(&db->man_mu);
    if (rc != STRATA_OK && ids)
        db_fail(db);
    st_free(ids);
    return rc;
}

int rollup_pass(strata_db *db, int background, int *did)
{
    *did = 0;
    int rc = drop_untiered(db, did);
    pthread_mutex_lock(&db->man_mu);
    const man_state *st = manifest_state(db->man);
    man_tier tiers[MAN_MAX_TIERS];
    size_t nt = st->ntiers;
    memcpy(tiers, st->tiers, nt * sizeof tiers[0]);
    pthread_mutex_unlock(&db->man_mu);
    int64_t frontier = db_frontier_now(db);
    if (frontier == INT64_MIN || rc != STRATA_OK)
        return rc;
    int64_t closed_before = t_floor_to(frontier, db->partition_ns);
    for (size_t t = 0; t < nt && rc == STRATA_OK; t++) {
        /* bounded: each build replaces what it overlaps, and a run that
         * keeps being abandoned (data arriving meanwhile) gives up */
        for (int round = 0; round < 10000 && rc == STRATA_OK; round++) {
            if (atomic_load(&db->comp_stop))
                return STRATA_OK;
            int found = 0;
            rc = build_one(db, &tiers[t], closed_before, &found, did);
            if (!found)
                break;
        }
        if (rc == STRATA_OK)
            rc = tidy_tier(db, &tiers[t], frontier, background, did);
    }
    return rc;
}
