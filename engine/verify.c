/*
 * verify.c — strata_verify(): an offline check of every checksummed
 * structure of a database directory (FORMAT.md §8 lists what is checked).
 *
 * It opens nothing for use and writes nothing: the manifest is parsed to
 * learn the live segments and the catalog's committed length; then the
 * catalog blocks, every live segment (header, footer, index, every chunk's
 * checksum, codec and statistics) and every log record are checked.  A
 * torn tail (log or manifest) is reported, since the next open will cut
 * it.  Segment files the manifest does not name are reported as orphans.
 * The batch keys file (idemkeys), when present, is read and checked whole.
 */
#include "engine/catalog.h"
#include "engine/err.h"
#include "engine/idem.h"
#include "engine/idem_format.h"
#include "engine/manifest.h"
#include "engine/os.h"
#include "engine/segment.h"
#include "strata.h"
#include "wal/wal.h"
#include "wal/wal_format.h"
#include "wal/wal_record.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

typedef struct vctx {
    void (*fn)(void *ctx, const char *msg);
    void *ctx;
    uint64_t n;
} vctx;

static void relay(void *c, const char *msg)
{
    vctx *v = c;
    v->n++;
    v->fn(v->ctx, msg);
}

static int check_sample(void *ctx, uint32_t sid, uint8_t type, int64_t ts, uint64_t bits)
{
    (void)ctx;
    (void)sid;
    (void)type;
    (void)ts;
    (void)bits;
    return STRATA_OK;
}

static int check_record(void *ctx, uint64_t lsn, unsigned type, const uint8_t *p, size_t len)
{
    (void)lsn;
    if (type == WAL_REC_WRITE_KEYED) {
        int64_t arrival;
        const uint8_t *key;
        uint8_t keylen;
        int rc = wrec_split_keyed(p, len, &arrival, &key, &keylen, &p, &len);
        if (rc != STRATA_OK)
            return rc;
    }
    return wrec_decode(ctx, p, len, check_sample, NULL);
}

static int check_key(void *ctx, int64_t arrival, const uint8_t *key, uint8_t len)
{
    (void)ctx;
    (void)arrival;
    (void)key;
    (void)len;
    return STRATA_OK;
}

/* The log's framing is intact: now decode every record the next open would
 * replay (from flushed_lsn), against the catalog, as replay would. */
static void check_log_payloads(const char *path, const char *wal_dir, const man_state *st,
                               vctx *v)
{
    char p[4300];
    snprintf(p, sizeof p, "%s/catalog", path);
    catalog *c;
    if (catalog_open(p, st->catalog_len, 0, 1, &c) != STRATA_OK)
        return; /* catalog_verify has reported it */
    wal_recovery rec;
    if (wal_replay(wal_dir, st->flushed_lsn, 0, check_record, c, &rec) != STRATA_OK)
        relay(v, st_errmsg());
    catalog_close(c);
}

int strata_verify(const char *path, void (*report)(void *ctx, const char *message), void *ctx,
                  uint64_t *problems)
{
    if (!path || !report || !problems)
        return st_err(STRATA_MISUSE, "strata_verify: NULL argument");
    *problems = 0;
    char p[4300];
    snprintf(p, sizeof p, "%s/MANIFEST", path);
    if (access(p, F_OK) != 0)
        return st_err(STRATA_NOTFOUND, "%s is not a Strata database (no MANIFEST)", path);
    snprintf(p, sizeof p, "%s/LOCK", path);
    int lock = os_open(p, O_RDONLY, 0);
    if (lock >= 0 && flock(lock, LOCK_SH | LOCK_NB) < 0) {
        os_close(lock);
        return st_err(STRATA_BUSY_LOCKED, "%s is in use by another process", path);
    }
    vctx v = {report, ctx, 0};

    snprintf(p, sizeof p, "%s/MANIFEST", path);
    manifest_verify(p, relay, &v);
    manifest *m = NULL;
    uint64_t torn;
    if (manifest_open(p, 1, &m, &torn) != STRATA_OK) {
        if (v.n == 0)
            relay(&v, st_errmsg());
        goto done;
    }
    const man_state *st = manifest_state(m);
    snprintf(p, sizeof p, "%s/catalog", path);
    catalog_verify(p, st->catalog_len, relay, &v);

    for (size_t i = 0; i < st->nsegs; i++) {
        const man_segment *s = &st->segs[i];
        char segdir[4200];
        snprintf(segdir, sizeof segdir, "%s/seg", path);
        seg_file_path(segdir, s->id, p, sizeof p);
        if (access(p, F_OK) != 0) {
            char msg[4400];
            snprintf(msg, sizeof msg, "%s: missing (the manifest lists it as live)", p);
            relay(&v, msg);
            continue;
        }
        seg_info in;
        memset(&in, 0, sizeof in);
        uint64_t before = v.n;
        segr_verify(p, relay, &v, &in);
        if (v.n == before && (in.id != s->id || in.points != s->points || in.size != s->size ||
                              in.part_first != s->part_first || in.part_last != s->part_last)) {
            char msg[4400];
            snprintf(msg, sizeof msg, "%s: differs from the manifest's record of it", p);
            relay(&v, msg);
        }
    }
    for (size_t i = 0; i < st->nrollups; i++) {
        const man_rollup *s = &st->rollups[i];
        if (s->size == 0)
            continue; /* empty: no file */
        char segdir[4200];
        snprintf(segdir, sizeof segdir, "%s/seg", path);
        seg_file_path(segdir, s->id, p, sizeof p);
        if (access(p, F_OK) != 0) {
            char msg[4400];
            snprintf(msg, sizeof msg, "%s: missing (the manifest lists it as a live rollup)", p);
            relay(&v, msg);
            continue;
        }
        seg_info in;
        memset(&in, 0, sizeof in);
        uint64_t before = v.n;
        segr_verify(p, relay, &v, &in);
        if (v.n == before && (in.id != s->id || in.points != s->rows || in.size != s->size ||
                              in.part_first != s->part_first || in.part_last != s->part_last)) {
            char msg[4400];
            snprintf(msg, sizeof msg, "%s: differs from the manifest's record of this rollup", p);
            relay(&v, msg);
        }
    }
    snprintf(p, sizeof p, "%s/seg", path);
    DIR *d = opendir(p);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            uint64_t id;
            if (!seg_parse_file_name(e->d_name, &id))
                continue;
            int live = 0;
            for (size_t i = 0; i < st->nsegs && !live; i++)
                live = st->segs[i].id == id;
            for (size_t i = 0; i < st->nrollups && !live; i++)
                live = st->rollups[i].id == id && st->rollups[i].size;
            if (!live) {
                char msg[4400];
                snprintf(msg, sizeof msg,
                         "%s/%s: orphan (not in the manifest; the next open deletes it)", p,
                         e->d_name);
                relay(&v, msg);
            }
        }
        closedir(d);
    }
    snprintf(p, sizeof p, "%s/%s", path, IDEMF_FILE_NAME);
    uint64_t upto;
    int krc = idemf_read(p, check_key, NULL, &upto);
    if (krc != STRATA_OK && (krc & 0xff) != STRATA_NOTFOUND)
        relay(&v, st_errmsg());
    snprintf(p, sizeof p, "%s/wal", path);
    if (access(p, F_OK) == 0) {
        uint64_t before = v.n;
        wal_verify(p, relay, &v);
        if (v.n == before)
            check_log_payloads(path, p, st, &v);
    }
done:
    manifest_close(m);
    if (lock >= 0)
        os_close(lock);
    *problems = v.n;
    return STRATA_OK;
}
