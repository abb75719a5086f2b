/*
 * wal_writer.c — appending to the write-ahead log, group commit, rotation
 * and trimming (FORMAT.md §3).
 *
 * Appends go into an in-memory buffer under w->mu.  wal_sync_to() makes one
 * waiting thread the leader: it swaps the buffer out, writes it to the
 * current file outside the lock and, when the policy asks for it, fsyncs;
 * every thread whose record was in that buffer is then released at once.
 * wal_append_framed() skips the buffer when nothing is pending and no
 * leader is at work: it writes the record from the caller's memory itself
 * (a single writer's records never take a copy), and the next wal_sync_to()
 * only fsyncs.
 * `busy` marks the leader (or a rotation, or the interval thread's fsync):
 * only one thread touches the file descriptor at a time.
 *
 * Invariants: written_lsn <= next_lsn; synced_lsn <= written_lsn; records
 * below written_lsn are in the OS; below synced_lsn on stable storage.  A
 * file is finished (written, fsynced) before the next one is created, so a
 * crash can leave a torn tail only in the newest file.  After an I/O error
 * the log refuses everything (err is sticky).
 */
#include "wal/wal.h"
#include "wal/wal_files.h"
#include "wal/wal_format.h"

#include "engine/alloc.h"
#include "engine/err.h"
#include "engine/os.h"
#include "engine/varint.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

typedef struct wfile {
    uint64_t seq, first_lsn, size;
} wfile;

struct wal {
    char dir[4096];
    wal_opts o;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int fd;
    uint8_t *buf, *spare;
    size_t len, cap, spare_cap;
    uint64_t next_lsn, written_lsn, synced_lsn;
    int busy;
    int err;           /* sticky primary code */
    int err_ext;       /* its extended code */
    char errmsg[512];
    int writers;
    uint64_t dropped; /* the current file's bytes whose page cache is dropped */
    wfile *files; /* oldest first; the last is the current file */
    size_t nfiles, files_cap;
    pthread_t thread;
    int has_thread, stop;
};

static int sticky(wal *w)
{
    return st_err(w->err_ext, "%s", w->errmsg);
}

static void set_sticky(wal *w)
{
    w->err = st_errcode() & 0xff;
    w->err_ext = st_errcode();
    snprintf(w->errmsg, sizeof w->errmsg, "write-ahead log failed earlier: %s", st_errmsg());
}

static int grow_files(wal *w)
{
    size_t cap = w->files_cap ? w->files_cap * 2 : 8;
    wfile *f = st_realloc(w->files, cap * sizeof *f);
    if (!f)
        return st_err(STRATA_NOMEM, "out of memory");
    w->files = f;
    w->files_cap = cap;
    return STRATA_OK;
}

/* Track a new file.  The table is grown as soon as it fills, not when the
 * next file comes: a rotation adds its file after writing the record that
 * filled the old one, and must not fail for memory then (the record is on
 * disk, its write would report a failure).  Only if that early growth
 * failed does this one allocate. */
static int add_file(wal *w, uint64_t seq, uint64_t first_lsn, uint64_t size)
{
    if (w->nfiles == w->files_cap && grow_files(w) != STRATA_OK)
        return STRATA_NOMEM;
    w->files[w->nfiles++] = (wfile){seq, first_lsn, size};
    if (w->nfiles == w->files_cap)
        (void)grow_files(w); /* else the next add_file tries again */
    return STRATA_OK;
}

/* Create file `seq` starting at first_lsn, header written and synced. */
static int create_file(wal *w, uint64_t seq, uint64_t first_lsn, int *fd_out)
{
    char path[4200];
    wal_file_path(w->dir, seq, path, sizeof path);
    int fd = os_open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return st_err_os(STRATA_IOERR_OPEN, -fd, "cannot create log file %s", path);
    uint8_t h[WAL_HEADER_SIZE], *p = h;
    memcpy(p, WAL_MAGIC, 8);
    p += 8;
    put_u32(&p, WAL_VERSION);
    put_u32(&p, 0);
    put_u64(&p, seq);
    put_u64(&p, first_lsn);
    put_u64(&p, XXH3_64bits(h, 32));
    int rc = os_write_all(fd, h, sizeof h);
    if (rc == 0)
        rc = os_fsync(fd);
    if (rc < 0) {
        os_close(fd);
        return st_err_os(STRATA_IOERR_WRITE, -rc, "cannot write log file header %s", path);
    }
    rc = os_fsync_dir(w->dir);
    if (rc < 0) {
        os_close(fd);
        return st_err_os(STRATA_IOERR_FSYNC, -rc, "cannot sync directory %s", w->dir);
    }
    *fd_out = fd;
    return add_file(w, seq, first_lsn, WAL_HEADER_SIZE);
}

static void *interval_thread(void *arg);

int wal_open(const char *dir, uint64_t seq, uint64_t first_lsn, const wal_opts *o, wal **out)
{
    *out = NULL;
    wal *w = st_calloc(1, sizeof *w);
    if (!w)
        return st_err(STRATA_NOMEM, "out of memory opening the log");
    snprintf(w->dir, sizeof w->dir, "%s", dir);
    w->o = *o;
    w->fd = -1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->next_lsn = w->written_lsn = w->synced_lsn = first_lsn;

    /* Remember the files replay found, so they can be trimmed later. */
    uint64_t *seqs;
    size_t n;
    int rc = wal_list_files(dir, &seqs, &n);
    if (rc != STRATA_OK)
        goto fail;
    for (size_t i = 0; i < n && rc == STRATA_OK; i++) {
        if (seqs[i] >= seq)
            continue;
        char path[4200];
        wal_file_path(dir, seqs[i], path, sizeof path);
        uint8_t h[WAL_HEADER_SIZE];
        int fd = os_open(path, O_RDONLY, 0);
        uint64_t size = 0, flsn = 0;
        const char *why;
        if (fd < 0) {
            rc = st_err_os(STRATA_IOERR_OPEN, -fd, "cannot open %s", path);
            break;
        }
        ssize_t got = os_pread_all(fd, h, sizeof h, 0);
        os_fsize(fd, &size);
        os_close(fd);
        if (got != (ssize_t)sizeof h || wal_header_check(h, sizeof h, seqs[i], &flsn, &why) != 0) {
            rc = st_err(STRATA_CORRUPT_WAL, "%s: damaged file header", path);
            break;
        }
        rc = add_file(w, seqs[i], flsn, size);
    }
    st_free(seqs);
    if (rc != STRATA_OK)
        goto fail;
    rc = create_file(w, seq, first_lsn, &w->fd);
    if (rc != STRATA_OK)
        goto fail;
    if (o->policy == STRATA_SYNC_INTERVAL) {
        if (pthread_create(&w->thread, NULL, interval_thread, w) != 0) {
            rc = st_err(STRATA_ERROR, "cannot start the log sync thread");
            goto fail;
        }
        w->has_thread = 1;
    }
    *out = w;
    return STRATA_OK;
fail:
    if (w->fd >= 0)
        os_close(w->fd);
    st_free(w->files);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    st_free(w);
    return rc;
}

/* The record frame around payload r[WAL_RECORD_HEAD, +len): its head and
 * its checksum. */
static void frame(uint8_t *r, unsigned type, size_t len, uint64_t lsn)
{
    uint8_t *p = r;
    put_u32(&p, (uint32_t)len);
    put_u8(&p, (uint8_t)type);
    put_u8(&p, 0);
    put_u16(&p, 0);
    put_u64(&p, lsn);
    p += len;
    put_u64(&p, XXH3_64bits(r, WAL_RECORD_HEAD + len));
}

/* Room for `need` more bytes in the pending buffer (mu held). */
static int reserve(wal *w, size_t need)
{
    if (w->len + need <= w->cap)
        return STRATA_OK;
    size_t cap = w->cap ? w->cap : 1 << 16;
    while (cap < w->len + need)
        cap *= 2;
    uint8_t *b = st_realloc(w->buf, cap);
    if (!b)
        return st_err(STRATA_NOMEM, "out of memory in the log buffer");
    w->buf = b;
    w->cap = cap;
    return STRATA_OK;
}

/* Queue a record whose payload is at payload[0..len) in the pending
 * buffer (mu held, no sticky error); *lsn receives its number. */
static int queue(wal *w, unsigned type, const void *payload, size_t len, uint64_t *lsn)
{
    int rc = reserve(w, len + WAL_RECORD_OVERHEAD);
    if (rc == STRATA_OK) {
        uint8_t *r = w->buf + w->len;
        memcpy(r + WAL_RECORD_HEAD, payload, len);
        frame(r, type, len, w->next_lsn);
        w->len += len + WAL_RECORD_OVERHEAD;
        *lsn = w->next_lsn++;
    }
    return rc;
}

int wal_append(wal *w, unsigned type, const void *payload, size_t len, uint64_t *lsn)
{
    if (len > WAL_MAX_PAYLOAD)
        return st_err(STRATA_FULL_BATCH, "batch of %zu bytes exceeds the log record limit of %u",
                      len, WAL_MAX_PAYLOAD);
    pthread_mutex_lock(&w->mu);
    int rc = w->err ? sticky(w) : queue(w, type, payload, len, lsn);
    pthread_mutex_unlock(&w->mu);
    return rc;
}

/* Caller is the leader (busy set, mu not held): finish the current file and
 * start file seq+1 at first_lsn. */
static int rotate_unlocked(wal *w, uint64_t first_lsn)
{
    int rc = os_fsync(w->fd);
    if (rc < 0)
        return st_err_os(STRATA_IOERR_FSYNC, -rc, "cannot sync log file");
    os_drop_cache(w->fd, 0, 0);
    os_close(w->fd);
    w->fd = -1;
    w->dropped = 0;
    uint64_t seq = w->files[w->nfiles - 1].seq + 1;
    return create_file(w, seq, first_lsn, &w->fd);
}

/* Busy set, mu not held: write data[0..n) (the records below `end`) to
 * the current file; fdatasync when `sync` (unless it was synced already or
 * is rotated); rotate when asked or when the file is past its target size
 * (*rotated).  wrote() records the outcome. */
static int write_out(wal *w, const uint8_t *data, size_t n, uint64_t end, int sync, int was_synced,
                     int force_rotate, int *rotated)
{
    int rc = STRATA_OK, e;
    wfile *cur = &w->files[w->nfiles - 1];
    if (n) {
        e = os_write_all(w->fd, data, n);
        if (e < 0)
            rc = st_err_os(STRATA_IOERR_WRITE, -e, "cannot write to the log in %s", w->dir);
        else
            cur->size += n;
    }
    int rotate = rc == STRATA_OK && (force_rotate || cur->size >= WAL_SEGMENT_TARGET);
    if (rc == STRATA_OK && sync && !rotate && !was_synced) {
        e = os_fdatasync(w->fd);
        if (e < 0)
            rc = st_err_os(STRATA_IOERR_FSYNC, -e, "cannot sync the log in %s", w->dir);
        /* Synced records are read again only by a replay at open: their
         * pages leave the page cache now rather than fill it (a log is as
         * large as what it carries) and push out the segment pages that
         * queries read. */
        uint64_t upto = cur->size & ~(uint64_t)4095;
        if (rc == STRATA_OK && upto > w->dropped) {
            os_drop_cache(w->fd, w->dropped, upto - w->dropped);
            w->dropped = upto;
        }
    }
    if (rotate)
        rc = rotate_unlocked(w, end); /* fsyncs the finished file */
    *rotated = rotate;
    return rc;
}

/* mu held: what write_out() did up to `end` (synced: fsynced too). */
static void wrote(wal *w, int rc, uint64_t end, int synced)
{
    if (rc != STRATA_OK) {
        set_sticky(w);
    } else {
        w->written_lsn = end;
        if (synced)
            w->synced_lsn = end;
    }
}

int wal_append_framed(wal *w, unsigned type, uint8_t *rec, size_t len, uint64_t *lsn)
{
    if (len > WAL_MAX_PAYLOAD)
        return st_err(STRATA_FULL_BATCH, "batch of %zu bytes exceeds the log record limit of %u",
                      len, WAL_MAX_PAYLOAD);
    pthread_mutex_lock(&w->mu);
    if (w->err || w->len > 0 || w->busy) {
        /* Records are pending or a leader has the file: queue behind them. */
        int rc = w->err ? sticky(w) : queue(w, type, rec + WAL_RECORD_HEAD, len, lsn);
        pthread_mutex_unlock(&w->mu);
        return rc;
    }
    /* Nothing pending and nobody at the file: write the record from the
     * caller's memory, as the leader would (busy set, mu not held). */
    uint64_t l = w->next_lsn++;
    frame(rec, type, len, l);
    w->busy = 1;
    pthread_mutex_unlock(&w->mu);
    int rotated;
    int rc = write_out(w, rec, len + WAL_RECORD_OVERHEAD, l + 1, 0, 0, 0, &rotated);
    pthread_mutex_lock(&w->mu);
    wrote(w, rc, l + 1, rotated);
    if (rc == STRATA_OK)
        *lsn = l;
    w->busy = 0;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return rc;
}

/* The leader's work: write out everything pending, fsync when `sync`,
 * rotate when asked or when the file is past its target size.  Called and
 * returns with mu held and busy set; the file is touched without the lock. */
static int lead(wal *w, int sync, int force_rotate)
{
    uint8_t *data = w->buf;
    size_t n = w->len, data_cap = w->cap;
    uint64_t end = w->next_lsn;
    int was_synced = w->synced_lsn >= end;
    w->buf = w->spare;
    w->cap = w->spare_cap;
    w->len = 0;
    pthread_mutex_unlock(&w->mu);

    int rotated;
    int rc = write_out(w, data, n, end, sync, was_synced, force_rotate, &rotated);

    pthread_mutex_lock(&w->mu);
    w->spare = data;
    w->spare_cap = data_cap;
    wrote(w, rc, end, sync || rotated);
    return rc;
}

/* Write out (and sync, when need_sync) through record lsn, or rotate.
 * linger: under BATCH, a leader that sees other writers in the write path
 * first waits batch_delay_us for them. */
static int sync_upto(wal *w, uint64_t lsn, int need_sync, int force_rotate, int linger,
                     uint64_t *end)
{
    pthread_mutex_lock(&w->mu);
    for (;;) {
        if (w->err) {
            int rc = sticky(w);
            pthread_mutex_unlock(&w->mu);
            return rc;
        }
        if (!force_rotate && (need_sync ? w->synced_lsn > lsn : w->written_lsn > lsn)) {
            pthread_mutex_unlock(&w->mu);
            return STRATA_OK;
        }
        if (!w->busy)
            break;
        pthread_cond_wait(&w->cv, &w->mu);
    }
    w->busy = 1;
    if (linger && need_sync && !force_rotate && w->o.policy == STRATA_SYNC_BATCH &&
        w->writers > 1 && w->o.batch_delay_us) {
        /* Others are in the write path: give them a moment to join. */
        pthread_mutex_unlock(&w->mu);
        struct timespec ts = {0, (long)w->o.batch_delay_us * 1000L};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&w->mu);
    }
    int rc = lead(w, need_sync, force_rotate);
    if (end)
        *end = w->written_lsn;
    w->busy = 0;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return rc;
}

int wal_sync_to(wal *w, uint64_t lsn)
{
    int need_sync = w->o.policy == STRATA_SYNC_ALWAYS || w->o.policy == STRATA_SYNC_BATCH;
    return sync_upto(w, lsn, need_sync, 0, 1, NULL);
}

int wal_sync_all(wal *w)
{
    pthread_mutex_lock(&w->mu);
    uint64_t last = w->next_lsn - 1;
    pthread_mutex_unlock(&w->mu);
    return sync_upto(w, last, 1, 0, 1, NULL);
}

int wal_sync_below(wal *w, uint64_t lsn)
{
    return lsn ? sync_upto(w, lsn - 1, 1, 0, 0, NULL) : STRATA_OK;
}

int wal_rotate(wal *w, uint64_t *first_lsn)
{
    return sync_upto(w, 0, 1, 1, 0, first_lsn);
}

void wal_writer_enter(wal *w)
{
    pthread_mutex_lock(&w->mu);
    w->writers++;
    pthread_mutex_unlock(&w->mu);
}

void wal_writer_leave(wal *w)
{
    pthread_mutex_lock(&w->mu);
    w->writers--;
    pthread_mutex_unlock(&w->mu);
}

int wal_trim(wal *w, uint64_t below_lsn)
{
    for (;;) {
        /* a leader may be adding a file (rotation): wait until it is done */
        pthread_mutex_lock(&w->mu);
        while (w->busy)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->nfiles < 2 || w->files[1].first_lsn > below_lsn) {
            pthread_mutex_unlock(&w->mu);
            return STRATA_OK;
        }
        char path[4200];
        wal_file_path(w->dir, w->files[0].seq, path, sizeof path);
        memmove(w->files, w->files + 1, (w->nfiles - 1) * sizeof *w->files);
        w->nfiles--;
        pthread_mutex_unlock(&w->mu);
        /* Outside the lock, which writers need: deleting a file frees its
         * blocks, about a millisecond per 3 MiB here (the disk is mounted
         * with discard).  Should it fail, the next open deletes the file. */
        int e = os_unlink(path);
        if (e < 0 && e != -ENOENT)
            return st_err_os(STRATA_IOERR_DELETE, -e, "cannot delete log file %s", path);
    }
}

uint64_t wal_next_lsn(wal *w)
{
    pthread_mutex_lock(&w->mu);
    uint64_t v = w->next_lsn;
    pthread_mutex_unlock(&w->mu);
    return v;
}

uint64_t wal_size(wal *w)
{
    pthread_mutex_lock(&w->mu);
    while (w->busy)
        pthread_cond_wait(&w->cv, &w->mu);
    uint64_t s = w->len;
    for (size_t i = 0; i < w->nfiles; i++)
        s += w->files[i].size;
    pthread_mutex_unlock(&w->mu);
    return s;
}

static void *interval_thread(void *arg)
{
    wal *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        struct timespec until = os_deadline_after((int64_t)w->o.interval_ms * 1000000);
        while (!w->stop && pthread_cond_timedwait(&w->cv, &w->mu, &until) == 0)
            ;
        if (w->stop || w->err || w->busy || w->synced_lsn >= w->written_lsn)
            continue;
        w->busy = 1;
        uint64_t target = w->written_lsn;
        pthread_mutex_unlock(&w->mu);
        int e = os_fdatasync(w->fd);
        pthread_mutex_lock(&w->mu);
        if (e < 0) {
            st_err_os(STRATA_IOERR_FSYNC, -e, "cannot sync the log in %s", w->dir);
            set_sticky(w);
        } else if (target > w->synced_lsn) {
            w->synced_lsn = target;
        }
        w->busy = 0;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int wal_close(wal *w)
{
    if (!w)
        return STRATA_OK;
    int rc = w->err ? sticky(w) : wal_sync_all(w);
    if (w->has_thread) {
        pthread_mutex_lock(&w->mu);
        w->stop = 1;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->thread, NULL);
    }
    if (w->fd >= 0)
        os_close(w->fd);
    st_free(w->buf);
    st_free(w->spare);
    st_free(w->files);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    st_free(w);
    return rc;
}
