/*
 * db_open.c — opening, recovering and closing a database directory
 * (FORMAT.md §2 lists the files).
 *
 * Open, in order: lock the directory (flock on LOCK: exclusive for writers,
 * shared for read-only handles); create it if asked and absent; load the
 * manifest (cutting a torn tail), the catalog (up to its committed length)
 * and every live segment (checking their footers and indexes); delete
 * orphan segment files a crashed flush left behind; load the batch keys
 * file (idemkeys; a damaged one refuses writers, while a read-only handle
 * goes on without it, with a warning); replay the log from the manifest's
 * flushed_lsn into the head (cutting a torn tail, flushing inline whenever
 * the head reaches its budget), re-registering the key of every keyed
 * record; start a new log file and the flush thread.  A read-only handle changes no file: it replays the
 * log into memory and ignores a torn tail.
 *
 * Close: flush the head, wait for the flush, then delete the log files —
 * everything is in segments by then — and release all files.
 */
#include "engine/db.h"

#include "compaction/compact.h"
#include "compaction/rollup.h"
#include "engine/alloc.h"
#include "engine/err.h"
#include "engine/idem_format.h"
#include "engine/os.h"
#include "wal/wal_files.h"
#include "wal/wal_format.h"
#include "wal/wal_record.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_BUDGET (64u << 20)
#define MIN_BUDGET (1u << 20)
#define DAY_NS 86400000000000LL
#define MANIFEST_REWRITE_BYTES (1u << 20)

void strata_options_init(strata_options *o)
{
    memset(o, 0, sizeof *o);
    o->sync = STRATA_SYNC_BATCH;
    o->sync_interval_ms = 1000;
    o->batch_delay_us = 1000;
    o->head_budget_bytes = DEFAULT_BUDGET;
}

static void logf_(strata_db *db, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void logf_(strata_db *db, int level, const char *fmt, ...)
{
    if (!db->opts.log)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    db->opts.log(db->opts.log_ctx, level, msg);
}

static int check_options(const strata_options *o)
{
    if (o->sync > STRATA_SYNC_NONE)
        return st_err(STRATA_MISUSE, "unknown sync policy %d", (int)o->sync);
    if (o->sync == STRATA_SYNC_INTERVAL && o->sync_interval_ms == 0)
        return st_err(STRATA_MISUSE, "sync policy 'interval' needs sync_interval_ms > 0");
    if (o->head_budget_bytes < MIN_BUDGET)
        return st_err(STRATA_MISUSE, "head_budget_bytes must be at least %u", MIN_BUDGET);
    if (o->partition_ns < 0 || (o->partition_ns > 0 && o->partition_ns < 1000000000LL))
        return st_err(STRATA_MISUSE, "partition_ns must be 0 (default) or at least one second");
    if (o->device_tag && (o->device_tag[0] == '\0' || strlen(o->device_tag) >= 256))
        return st_err(STRATA_MISUSE, "device_tag must be 1 to 255 bytes");
    if (o->idem_window_ns < 0)
        return st_err(STRATA_MISUSE, "idem_window_ns must be 0 (default) or positive");
    if (o->max_lateness_ns < 0)
        return st_err(STRATA_MISUSE, "max_lateness_ns must be 0 (unlimited) or positive");
    if (o->rollup_tiers && o->nrollup_tiers > STRATA_MAX_ROLLUP_TIERS)
        return st_err(STRATA_MISUSE, "at most %d rollup tiers", STRATA_MAX_ROLLUP_TIERS);
    return STRATA_OK;
}

/* A directory without MANIFEST may become a database only if it holds
 * nothing but what an interrupted creation leaves. */
static int dir_is_fresh(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return 0;
    struct dirent *e;
    int fresh = 1;
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        if (strcmp(n, ".") && strcmp(n, "..") && strcmp(n, "LOCK") && strcmp(n, "wal") &&
            strcmp(n, "seg") && strcmp(n, "catalog") && strcmp(n, "MANIFEST.tmp"))
            fresh = 0;
    }
    closedir(d);
    return fresh;
}

static int create_db(strata_db *db, const strata_options *opts, const char *manifest_path,
                     const char *catalog_path)
{
    int e = os_mkdir(db->wal_dir, 0755);
    if (e == 0)
        e = os_mkdir(db->seg_dir, 0755);
    if (e < 0)
        return st_err_os(STRATA_IOERR_OPEN, -e, "cannot create the directories of %s", db->path);
    catalog *c;
    int rc = catalog_open(catalog_path, 0, 1, 0, &c);
    if (rc != STRATA_OK)
        return rc;
    catalog_close(c);
    man_state st = {0};
    st.partition_ns = opts->partition_ns ? opts->partition_ns : DAY_NS;
    snprintf(st.device_tag, sizeof st.device_tag, "%s",
             opts->device_tag ? opts->device_tag : "device");
    st.flushed_lsn = 1;
    st.catalog_len = 32; /* the catalog header */
    st.next_segment_id = 1;
    if (opts->rollup_tiers) {
        rc = rollup_tiers_check(st.partition_ns, opts->rollup_tiers, opts->nrollup_tiers);
        if (rc != STRATA_OK)
            return rc;
        for (size_t i = 0; i < opts->nrollup_tiers; i++)
            st.tiers[st.ntiers++] = (man_tier){opts->rollup_tiers[i].width_ns,
                                               opts->rollup_tiers[i].retention_ns};
    } else {
        static const int64_t dflt[] = {60 * 1000000000LL, 3600 * 1000000000LL};
        for (size_t i = 0; i < 2; i++)
            if (st.partition_ns % dflt[i] == 0)
                st.tiers[st.ntiers++] = (man_tier){dflt[i], 0};
    }
    rc = manifest_create(manifest_path, &st);
    if (rc != STRATA_OK)
        return rc;
    e = os_fsync_dir(db->path);
    if (e < 0)
        return st_err_os(STRATA_IOERR_FSYNC, -e, "cannot sync %s", db->path);
    return STRATA_OK;
}

static int lock_dir(strata_db *db)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/LOCK", db->path);
    int fd = os_open(p, db->read_only ? O_RDONLY : O_RDWR | O_CREAT, 0644);
    if (fd < 0) {
        if (db->read_only && fd == -ENOENT)
            return STRATA_OK; /* nothing to share a lock with */
        return st_err_os(STRATA_IOERR_OPEN, -fd, "cannot open %s", p);
    }
    if (flock(fd, (db->read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
        int e = errno;
        os_close(fd);
        if (e == EWOULDBLOCK)
            return st_err(STRATA_BUSY_LOCKED, "%s is in use by another process", db->path);
        return st_err_os(STRATA_IOERR_OPEN, e, "cannot lock %s", p);
    }
    db->lock_fd = fd;
    return STRATA_OK;
}

static int open_segments(strata_db *db)
{
    const man_state *st = manifest_state(db->man);
    seg_reader **rs = st_calloc(st->nsegs + 1, sizeof *rs);
    if (!rs)
        return st_err(STRATA_NOMEM, "out of memory opening segments");
    int rc = STRATA_OK;
    size_t n = 0;
    for (; n < st->nsegs; n++) {
        const man_segment *m = &st->segs[n];
        char p[4300];
        seg_file_path(db->seg_dir, m->id, p, sizeof p);
        rc = segr_open(p, &rs[n]);
        if (rc != STRATA_OK) {
            if ((st_errcode() & 0xff) == STRATA_NOTFOUND)
                rc = st_err(STRATA_CORRUPT_MANIFEST,
                            "segment %s is listed in the manifest but missing", p);
            break;
        }
        const seg_info *in = segr_info(rs[n]);
        if (in->id != m->id || in->part_first != m->part_first ||
            in->part_last != m->part_last || in->points != m->points || in->size != m->size) {
            rc = st_err(STRATA_CORRUPT_SEGMENT,
                        "%s: header and footer disagree with the manifest's record of it", p);
            segr_unref(rs[n]);
            break;
        }
        if (in->tmax > db->frontier)
            db->frontier = in->tmax;
    }
    /* the rollups */
    seg_reader **ro = st_calloc(st->nrollups + 1, sizeof *ro);
    size_t nro = 0;
    if (!ro && rc == STRATA_OK)
        rc = st_err(STRATA_NOMEM, "out of memory opening segments");
    for (; rc == STRATA_OK && nro < st->nrollups; nro++) {
        const man_rollup *m = &st->rollups[nro];
        if (m->size == 0) {
            ro[nro] = NULL; /* an empty rollup has no file */
            continue;
        }
        char p[4300];
        seg_file_path(db->seg_dir, m->id, p, sizeof p);
        rc = segr_open(p, &ro[nro]);
        if (rc != STRATA_OK) {
            if ((st_errcode() & 0xff) == STRATA_NOTFOUND)
                rc = st_err(STRATA_CORRUPT_MANIFEST,
                            "rollup segment %s is listed in the manifest but missing", p);
            break;
        }
        const seg_info *in = segr_info(ro[nro]);
        if (in->id != m->id || in->part_first != m->part_first ||
            in->part_last != m->part_last || in->points != m->rows || in->size != m->size) {
            rc = st_err(STRATA_CORRUPT_SEGMENT,
                        "%s: header and footer disagree with the manifest's record of it", p);
            segr_unref(ro[nro]);
            break;
        }
    }
    if (rc == STRATA_OK) {
        view *v = view_new(rs, n, NULL);
        tombset *ts = NULL;
        rollset *rl = NULL;
        if (!v)
            rc = st_err(STRATA_NOMEM, "out of memory opening segments");
        else if (tombset_from(manifest_state(db->man), &ts) ||
                 rollset_from(manifest_state(db->man), NULL, ro, nro, &rl)) {
            rc = st_errcode();
            tombset_unref(ts);
            view_unref(v);
        } else {
            view_set_tombs(v, ts);
            tombset_unref(ts);
            view_set_rolls(v, rl);
            rollset_unref(rl);
            db->current = v;
        }
    }
    for (size_t i = 0; i < nro; i++)
        if (ro[i])
            segr_unref(ro[i]);
    st_free(ro);
    for (size_t i = 0; i < n; i++)
        segr_unref(rs[i]);
    st_free(rs);
    return rc;
}

/* Delete segment files the manifest does not name (a crashed flush). */
static int remove_orphans(strata_db *db)
{
    const man_state *st = manifest_state(db->man);
    DIR *d = opendir(db->seg_dir);
    if (!d)
        return st_err_os(STRATA_IOERR_OPEN, errno, "cannot read %s", db->seg_dir);
    struct dirent *e;
    int rc = STRATA_OK;
    while ((e = readdir(d)) != NULL) {
        uint64_t id;
        if (!seg_parse_file_name(e->d_name, &id))
            continue;
        int live = 0;
        for (size_t i = 0; i < st->nsegs && !live; i++)
            live = st->segs[i].id == id;
        for (size_t i = 0; i < st->nrollups && !live; i++)
            live = st->rollups[i].id == id && st->rollups[i].size;
        if (live)
            continue;
        char p[4300];
        snprintf(p, sizeof p, "%s/%s", db->seg_dir, e->d_name);
        int x = os_unlink(p);
        if (x < 0) {
            rc = st_err_os(STRATA_IOERR_DELETE, -x, "cannot delete orphan segment %s", p);
            break;
        }
        logf_(db, STRATA_LOG_WARN, "deleted %s: written by a flush that never committed", p);
    }
    closedir(d);
    return rc;
}

static int replay_sample(void *ctx, uint32_t sid, uint8_t type, int64_t ts, uint64_t bits)
{
    return db_apply(ctx, sid, type, ts, bits);
}

static int replay_record(void *ctx, uint64_t lsn, unsigned type, const uint8_t *p, size_t len)
{
    strata_db *db = ctx;
    /* wal_replay only passes known types: WRITE and WRITE_KEYED */
    int64_t arrival = 0;
    const uint8_t *key = NULL;
    uint8_t keylen = 0;
    int rc = STRATA_OK;
    if (type == WAL_REC_WRITE_KEYED)
        rc = wrec_split_keyed(p, len, &arrival, &key, &keylen, &p, &len);
    if (rc == STRATA_OK)
        rc = wrec_decode(db->cat, p, len, replay_sample, db);
    if (rc == STRATA_OK && keylen)
        rc = idem_add(db->idem, key, keylen, arrival, lsn, idem_now());
    db->replay_lsn = lsn + 1;
    atomic_store(&db->frontier_pub, db->frontier); /* for an inline flush's targets */
    if (rc == STRATA_OK && !db->read_only)
        rc = db_maybe_flush(db, 1);
    return rc;
}

static void free_db(strata_db *db)
{
    compact_thread_stop(db);
    db_flush_thread_stop(db);
    wal_close(db->wal);
    view_unref(db->current);
    head_free(db->active);
    head_pool_unref(db->hpool);
    catalog_close(db->cat);
    manifest_close(db->man);
    buf_free(&db->wbuf);
    st_free(db->apply_pts);
    idem_free(db->idem);
    qindex_free(db->qindex);
    pthread_mutex_destroy(&db->qindex_mu);
    if (db->lock_fd >= 0)
        os_close(db->lock_fd);
    pthread_mutex_destroy(&db->write_mu);
    pthread_mutex_destroy(&db->flush_mu);
    pthread_cond_destroy(&db->flush_cv);
    pthread_rwlock_destroy(&db->head_lock);
    pthread_mutex_destroy(&db->view_mu);
    pthread_mutex_destroy(&db->man_mu);
    pthread_cond_destroy(&db->man_cv);
    pthread_mutex_destroy(&db->compact_mu);
    pthread_mutex_destroy(&db->comp_mu);
    pthread_cond_destroy(&db->comp_cv);
    st_free(db);
}

int strata_db_open(const char *path, const strata_options *opts, strata_db **out)
{
    if (!out)
        return st_err(STRATA_MISUSE, "strata_db_open: NULL output pointer");
    *out = NULL;
    if (!path || !*path)
        return st_err(STRATA_MISUSE, "strata_db_open: no path");
    strata_options defaults;
    strata_options_init(&defaults);
    if (!opts)
        opts = &defaults;
    int rc = check_options(opts);
    if (rc != STRATA_OK)
        return rc;
    if (strlen(path) > 4000)
        return st_err(STRATA_MISUSE, "path too long");

    strata_db *db = st_calloc(1, sizeof *db);
    if (!db)
        return st_err(STRATA_NOMEM, "out of memory opening %s", path);
    db->opts = *opts;
    db->opts.device_tag = NULL; /* the caller's string is not kept */
    db->read_only = opts->read_only;
    db->lock_fd = -1;
    db->frontier = INT64_MIN;
    atomic_store(&db->frontier_pub, INT64_MIN);
    snprintf(db->path, sizeof db->path, "%s", path);
    snprintf(db->wal_dir, sizeof db->wal_dir, "%s/wal", path);
    snprintf(db->seg_dir, sizeof db->seg_dir, "%s/seg", path);
    snprintf(db->idem_path, sizeof db->idem_path, "%s/%s", path, IDEMF_FILE_NAME);
    pthread_mutex_init(&db->write_mu, NULL);
    pthread_mutex_init(&db->flush_mu, NULL);
    pthread_cond_init(&db->flush_cv, NULL);
    pthread_rwlock_init(&db->head_lock, NULL);
    pthread_mutex_init(&db->view_mu, NULL);
    pthread_mutex_init(&db->qindex_mu, NULL);
    pthread_mutex_init(&db->man_mu, NULL);
    pthread_cond_init(&db->man_cv, NULL);
    pthread_mutex_init(&db->compact_mu, NULL);
    pthread_mutex_init(&db->comp_mu, NULL);
    pthread_cond_init(&db->comp_cv, NULL);
    db->flush_threshold = opts->head_budget_bytes / 2;

    char manifest_path[4200], catalog_path[4200];
    snprintf(manifest_path, sizeof manifest_path, "%s/MANIFEST", path);
    snprintf(catalog_path, sizeof catalog_path, "%s/catalog", path);

    struct stat sb;
    if (stat(path, &sb) < 0) {
        if (errno != ENOENT || !opts->create_if_missing || opts->read_only) {
            rc = errno == ENOENT ? st_err(STRATA_NOTFOUND, "no database at %s", path)
                                 : st_err_os(STRATA_IOERR_OPEN, errno, "cannot open %s", path);
            goto fail;
        }
        int e = os_mkdir(path, 0755);
        if (e == 0) {
            /* the new directory entry must survive a power loss too */
            char parent[4200];
            snprintf(parent, sizeof parent, "%s", path);
            char *slash = strrchr(parent, '/');
            while (slash && slash > parent && slash[1] == '\0') { /* trailing slashes */
                *slash = '\0';
                slash = strrchr(parent, '/');
            }
            if (slash)
                *(slash == parent ? slash + 1 : slash) = '\0';
            e = os_fsync_dir(slash ? parent : ".");
        }
        if (e < 0) {
            rc = st_err_os(STRATA_IOERR_OPEN, -e, "cannot create %s", path);
            goto fail;
        }
    } else if (!S_ISDIR(sb.st_mode)) {
        rc = st_err(STRATA_MISUSE, "%s is not a directory", path);
        goto fail;
    }
    rc = lock_dir(db);
    if (rc != STRATA_OK)
        goto fail;
    if (access(manifest_path, F_OK) != 0) {
        if (!opts->create_if_missing || opts->read_only) {
            rc = st_err(STRATA_NOTFOUND, "%s is not a Strata database (no MANIFEST)", path);
            goto fail;
        }
        if (!dir_is_fresh(path)) {
            rc = st_err(STRATA_MISUSE,
                        "%s holds other files and is not a Strata database; refusing to "
                        "create one there",
                        path);
            goto fail;
        }
        rc = create_db(db, opts, manifest_path, catalog_path);
        if (rc != STRATA_OK)
            goto fail;
    }

    uint64_t torn;
    rc = manifest_open(manifest_path, db->read_only, &db->man, &torn);
    if (rc != STRATA_OK)
        goto fail;
    if (torn)
        logf_(db, STRATA_LOG_WARN, "%s: cut a torn tail of %llu bytes (an unfinished flush)",
              manifest_path, (unsigned long long)torn);
    const man_state *ms = manifest_state(db->man);
    db->partition_ns = ms->partition_ns;
    db->next_seg_id = ms->next_segment_id;
    snprintf(db->device_tag, sizeof db->device_tag, "%s", ms->device_tag);
    if (opts->partition_ns && opts->partition_ns != ms->partition_ns) {
        rc = st_err(STRATA_MISUSE, "%s was created with partition_ns %lld; it cannot change",
                    path, (long long)ms->partition_ns);
        goto fail;
    }
    if (opts->device_tag && strcmp(opts->device_tag, ms->device_tag) != 0) {
        rc = st_err(STRATA_MISUSE, "%s uses device tag '%s', not '%s'", path, ms->device_tag,
                    opts->device_tag);
        goto fail;
    }
    rc = compact_open_settings(db, opts->retention_ns);
    if (rc == STRATA_OK && opts->rollup_tiers)
        rc = rollup_open_settings(db, opts->rollup_tiers, opts->nrollup_tiers);
    if (rc != STRATA_OK)
        goto fail;
    rc = catalog_open(catalog_path, ms->catalog_len, 0, db->read_only, &db->cat);
    if (rc != STRATA_OK)
        goto fail;
    rc = open_segments(db);
    if (rc != STRATA_OK)
        goto fail;
    if (!db->read_only && (rc = remove_orphans(db)) != STRATA_OK)
        goto fail;
    /* chunks of a sixteenth of the budget, at most 2 MiB (a huge page) */
    size_t chunk = opts->head_budget_bytes / 16;
    db->hpool = head_pool_new(chunk < ((size_t)2 << 20) ? chunk : (size_t)2 << 20);
    db->active = db->hpool ? head_new(db->hpool) : NULL;
    db->idem = idem_new(opts->idem_window_ns, opts->idem_max_keys);
    if (!db->active || !db->idem) {
        rc = st_err(STRATA_NOMEM, "out of memory opening %s", path);
        goto fail;
    }

    rc = idem_load(db->idem, db->idem_path, idem_now());
    if (rc == STRATA_CORRUPT && st_errcode() == STRATA_CORRUPT_KEYS && db->read_only) {
        /* the keys only keep writes from applying twice: a reader can do
         * without them (a writer cannot, and is refused) */
        logf_(db, STRATA_LOG_WARN, "%s; ignored by this read-only handle, which writes nothing",
              st_errmsg());
        idem_free(db->idem);
        db->idem = idem_new(opts->idem_window_ns, opts->idem_max_keys);
        rc = db->idem ? STRATA_OK : st_err(STRATA_NOMEM, "out of memory opening %s", path);
    }
    if (rc != STRATA_OK)
        goto fail;

    wal_recovery rec;
    db->replay_lsn = ms->flushed_lsn;
    rc = wal_replay(db->wal_dir, ms->flushed_lsn, !db->read_only, replay_record, db, &rec);
    if (rc != STRATA_OK)
        goto fail;
    db->replayed = rec.replayed;
    db->wal_torn_bytes = rec.torn_bytes;
    if (rec.torn_bytes)
        logf_(db, STRATA_LOG_WARN,
              "write-ahead log: %s %llu bytes of a torn record at %s (a crash during a write; "
              "that write was never acknowledged)",
              db->read_only ? "ignored" : "cut", (unsigned long long)rec.torn_bytes,
              rec.torn_where);
    db->logged_tagsets = catalog_tagset_count(db->cat);
    db->logged_series = catalog_series_count(db->cat);
    atomic_store(&db->frontier_pub, db->frontier);

    if (!db->read_only) {
        wal_opts wo = {opts->sync, opts->sync_interval_ms, opts->batch_delay_us};
        rc = wal_open(db->wal_dir, rec.next_seq, rec.next_lsn, &wo, &db->wal);
        if (rc == STRATA_OK)
            rc = wal_trim(db->wal, manifest_state(db->man)->flushed_lsn);
        if (rc == STRATA_OK)
            rc = db_flush_thread_start(db);
        if (rc == STRATA_OK && manifest_file_size(db->man) > MANIFEST_REWRITE_BYTES)
            rc = manifest_rewrite(db->man);
        if (rc == STRATA_OK && !opts->no_compaction)
            rc = compact_thread_start(db);
        if (rc != STRATA_OK)
            goto fail;
    }
    *out = db;
    return STRATA_OK;
fail:
    st_err_prefix("cannot open %s", path);
    rc = st_errcode() & 0xff;
    free_db(db);
    return rc;
}

/* Every record is in segments: the log files can all go. */
static int delete_log(strata_db *db)
{
    uint64_t *seqs;
    size_t n;
    int rc = wal_list_files(db->wal_dir, &seqs, &n);
    for (size_t i = 0; i < n && rc == STRATA_OK; i++) {
        char p[4300];
        wal_file_path(db->wal_dir, seqs[i], p, sizeof p);
        int e = os_unlink(p);
        if (e < 0)
            rc = st_err_os(STRATA_IOERR_DELETE, -e, "cannot delete %s", p);
    }
    st_free(seqs);
    return rc;
}

int strata_db_close(strata_db *db)
{
    if (!db)
        return STRATA_OK;
    int rc = STRATA_OK;
    if (!db->read_only) {
        compact_thread_stop(db); /* a running merge is abandoned: its output deleted */
        pthread_mutex_lock(&db->write_mu);
        rc = db_freeze(db, 0);
        pthread_mutex_unlock(&db->write_mu);
        int r2 = db_flush_wait(db);
        if (rc == STRATA_OK)
            rc = r2;
        db_flush_thread_stop(db);
        r2 = wal_close(db->wal);
        db->wal = NULL;
        if (rc == STRATA_OK)
            rc = r2;
        if (rc == STRATA_OK && head_points(db->active) == 0)
            rc = delete_log(db);
    }
    free_db(db);
    return rc;
}

int strata_db_flush(strata_db *db)
{
    if (!db)
        return st_err(STRATA_MISUSE, "strata_db_flush: NULL database");
    if (db->read_only)
        return st_err(STRATA_MISUSE_READONLY, "the database is open read-only");
    pthread_mutex_lock(&db->write_mu);
    int rc = db_freeze(db, 0);
    pthread_mutex_unlock(&db->write_mu);
    int r2 = db_flush_wait(db);
    return rc != STRATA_OK ? rc : r2;
}

int strata_db_sync(strata_db *db)
{
    if (!db)
        return st_err(STRATA_MISUSE, "strata_db_sync: NULL database");
    if (db->read_only)
        return STRATA_OK;
    return wal_sync_all(db->wal);
}

int strata_db_stats(strata_db *db, strata_stats *out)
{
    if (!db || !out)
        return st_err(STRATA_MISUSE, "strata_db_stats: NULL argument");
    memset(out, 0, sizeof *out);
    out->series = catalog_series_count(db->cat);
    view *v = db_view_get(db);
    out->segments = v->nsegs;
    out->tombstones = v->tombs ? v->tombs->n : 0;
    for (size_t i = 0; v->rolls && i < v->rolls->n; i++) {
        out->rollup_segments++;
        out->rollup_bytes += v->rolls->x[i].size;
        out->rollups_stale += v->rolls->x[i].stale != 0;
    }
    for (size_t i = 0; i < v->nsegs; i++)
        out->segment_bytes += segr_info(v->segs[i])->size;
    if (v->frozen) {
        out->head_points += head_points(v->frozen);
        out->head_bytes += head_bytes(v->frozen);
    }
    view_unref(v);
    pthread_rwlock_rdlock(&db->head_lock);
    out->head_points += head_points(db->active);
    out->head_bytes += head_bytes(db->active);
    pthread_rwlock_unlock(&db->head_lock);
    out->head_kept_bytes = db->hpool ? head_pool_kept(db->hpool) : 0;
    out->wal_bytes = db->wal ? wal_size(db->wal) : 0;
    out->flushes = atomic_load(&db->flushes);
    out->wal_torn_bytes = db->wal_torn_bytes;
    out->replayed_records = db->replayed;
    out->idem_keys = idem_count(db->idem, idem_now());
    out->idem_skipped = atomic_load(&db->idem_skipped);
    out->late_rejected = atomic_load(&db->late_rejected);
    return STRATA_OK;
}
