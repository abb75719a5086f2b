/*
 * inspect.c — gathers the figures `strata inspect` prints (see inspect.h):
 * per-codec bytes of timestamp and value columns, and what LZ4 saved, from
 * every segment's index (no chunk is decoded), file
 * sizes from the directory (allocated blocks, as du counts them, with the
 * directories themselves), catalog counts.
 */
#include "engine/inspect.h"

#include "engine/alloc.h"
#include "engine/db.h"
#include "engine/err.h"
#include "engine/lineproto.h"
#include "engine/os.h"
#include "engine/segment_format.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *inspect_kind_name(int kind)
{
    static const char *names[] = {"segments", "wal", "catalog", "manifest", "other"};
    return kind >= 0 && kind < INSP_KINDS ? names[kind] : "?";
}

static void count_file(inspect_report *r, int kind, const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    uint64_t alloc = (uint64_t)st.st_blocks * 512u;
    r->files[kind].count++;
    r->files[kind].apparent += (uint64_t)st.st_size;
    r->files[kind].allocated += alloc;
    r->apparent += (uint64_t)st.st_size;
    r->allocated += alloc;
}

static void walk(inspect_report *r, const char *dir, int kind_for_files)
{
    count_file(r, INSP_OTHER, dir);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char p[4400];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            int k = !strcmp(e->d_name, "seg") ? INSP_SEGMENTS
                    : !strcmp(e->d_name, "wal") ? INSP_WAL
                                                : INSP_OTHER;
            walk(r, p, k);
            continue;
        }
        int k = kind_for_files;
        if (k == INSP_OTHER)
            k = !strcmp(e->d_name, "catalog")    ? INSP_CATALOG
                : !strcmp(e->d_name, "MANIFEST") ? INSP_MANIFEST
                                                 : INSP_OTHER;
        count_file(r, k, p);
    }
    closedir(d);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Distinct strings in a (sorted in place); frees them. */
static uint64_t count_distinct(char **a, size_t n)
{
    qsort(a, n, sizeof *a, cmp_str);
    uint64_t d = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || strcmp(a[i], a[i - 1]) != 0)
            d++;
    }
    for (size_t i = 0; i < n; i++)
        st_free(a[i]);
    return d;
}

/* The value of tag `tag` in an escaped tag-set key, as an escaped string
 * (st_malloc'd), or NULL.  Any bytes are safe: a tag without '=' (only a
 * damaged file has one) has an empty value. */
static char *tag_value(const char *key, size_t mlen, size_t len, const char *tag)
{
    size_t tl = strlen(tag), i = mlen;
    while (i < len) {
        /* at ',' starting a tag */
        size_t k = i + 1, ke = lp_component_end(key, k, len, '=');
        size_t v = ke < len ? ke + 1 : len, ve = lp_component_end(key, v, len, ',');
        if (ke - k == tl && memcmp(key + k, tag, tl) == 0)
            return st_strndup(key + v, ve - v);
        i = ve;
    }
    return NULL;
}

int db_inspect(strata_db *db, inspect_report *r)
{
    memset(r, 0, sizeof *r);
    snprintf(r->device_tag, sizeof r->device_tag, "%s", db->device_tag);
    r->partition_ns = db->partition_ns;
    r->series = catalog_series_count(db->cat);
    r->tagsets = catalog_tagset_count(db->cat);

    /* measurements and devices, from the tag sets */
    char **ms = st_calloc(r->tagsets + 1, sizeof *ms), **ds = st_calloc(r->tagsets + 1, sizeof *ds);
    uint8_t *seen = st_calloc(r->tagsets + 1, 1);
    if (!ms || !ds || !seen) {
        st_free(ms);
        st_free(ds);
        st_free(seen);
        return st_err(STRATA_NOMEM, "out of memory inspecting");
    }
    size_t nm = 0, nd = 0;
    for (uint32_t sid = 0; sid < r->series; sid++) {
        cat_series_info in;
        if (catalog_series_info(db->cat, sid, &in) != STRATA_OK || seen[in.tagset])
            continue;
        seen[in.tagset] = 1;
        ms[nm++] = st_strndup(in.tagset_key, in.measurement_len);
        char *dv = tag_value(in.tagset_key, in.measurement_len, in.tagset_len, db->device_tag);
        if (dv)
            ds[nd++] = dv;
    }
    r->measurements = count_distinct(ms, nm);
    r->devices = count_distinct(ds, nd);
    st_free(ms);
    st_free(ds);
    st_free(seen);

    /* the frontier once, under write_mu alone (it comes before man_mu) */
    pthread_mutex_lock(&db->write_mu);
    r->frontier = db->frontier;
    pthread_mutex_unlock(&db->write_mu);
    r->frontier_used = db_frontier_capped(r->frontier);
    pthread_mutex_lock(&db->man_mu);
    const man_state *mst = manifest_state(db->man);
    r->ntiers = mst->ntiers < 4 ? mst->ntiers : 4;
    for (size_t i = 0; i < r->ntiers; i++) {
        r->tier_width[i] = mst->tiers[i].width_ns;
        r->tier_keep[i] = mst->tiers[i].retention_ns;
    }
    r->raw_keep = mst->retention_ns;
    pthread_mutex_unlock(&db->man_mu);
    view *v = db_view_get(db);
    r->tombstones = v->tombs ? v->tombs->n : 0;
    for (size_t i = 0; v->rolls && i < v->rolls->n; i++) {
        const roll *ro = &v->rolls->x[i];
        r->rollup_files += ro->r != NULL;
        r->rollup_bytes += ro->size;
        r->rollup_rows += ro->r ? segr_info(ro->r)->points : 0;
        r->rollups_stale += v->rolls->x[i].stale != 0;
    }
    r->segs = st_calloc(v->nsegs + 1, sizeof *r->segs);
    if (!r->segs) {
        view_unref(v);
        return st_err(STRATA_NOMEM, "out of memory inspecting");
    }
    int rc = STRATA_OK;
    for (size_t i = 0; i < v->nsegs && rc == STRATA_OK; i++) {
        const seg_reader *sr = v->segs[i];
        const seg_info *in = segr_info(sr);
        insp_segment *s = &r->segs[r->nsegs++];
        *s = (insp_segment){in->id,        in->size,       0,         in->points,
                            in->chunks,    in->index_len,  in->part_first, in->part_last,
                            in->tmin,      in->tmax,       in->nseries};
        uint64_t apparent;
        os_disk_usage(segr_path(sr), &apparent, &s->allocated);
        r->segment_points += in->points;
        r->chunks += in->chunks;
        r->index_bytes += in->index_len;
        r->header_bytes += SEG_HEADER_SIZE + SEG_FOOTER_SIZE;
        for (uint32_t k = 0; k < in->nseries && rc == STRATA_OK; k++) {
            seg_cursor c;
            segr_series_at(sr, k, &c);
            chunk_meta m;
            while ((rc = segr_next_chunk(&c, &m)) == STRATA_ROW) {
                r->codec[0][m.ts_codec].values += m.st.count;
                r->codec[0][m.ts_codec].bytes += m.ts_len;
                r->codec[0][m.ts_codec].chunks++;
                r->codec[1][m.val_codec].values += m.st.count;
                r->codec[1][m.val_codec].bytes += m.val_len;
                r->codec[1][m.val_codec].chunks++;
                if (m.zlen) {
                    r->lz4_chunks++;
                    r->lz4_raw += (uint64_t)m.ts_len + m.val_len;
                    r->lz4_stored += m.zlen;
                }
            }
            rc = rc == STRATA_DONE ? STRATA_OK : rc;
        }
    }
    if (v->frozen)
        r->head_points += head_points(v->frozen);
    view_unref(v);
    pthread_rwlock_rdlock(&db->head_lock);
    r->head_points += head_points(db->active);
    pthread_rwlock_unlock(&db->head_lock);
    walk(r, db->path, INSP_OTHER);
    if (rc != STRATA_OK)
        inspect_free(r);
    return rc;
}

void inspect_free(inspect_report *r)
{
    st_free(r->segs);
    r->segs = NULL;
    r->nsegs = 0;
}
