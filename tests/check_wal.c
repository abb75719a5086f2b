/*
 * check_wal.c — the write-ahead log: framing round trips, recovery after a
 * crash at every byte of a torn record, damage that must be an error,
 * rotation and trimming, group commit under threads, sticky I/O errors.
 */
#include "tests/testutil.h"

#include "engine/alloc.h"
#include "engine/err.h"
#include "engine/os.h"
#include "wal/wal.h"
#include "wal/wal_files.h"
#include "wal/wal_format.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

typedef struct got {
    uint64_t lsn[4096];
    char payload[4096][64];
    size_t len[4096];
    size_t n;
} got;

static int collect(void *ctx, uint64_t lsn, unsigned type, const uint8_t *p, size_t len)
{
    got *g = ctx;
    ck_assert_uint_eq(type, WAL_REC_WRITE);
    ck_assert_uint_lt(g->n, 4096);
    ck_assert_uint_le(len, 64);
    g->lsn[g->n] = lsn;
    memcpy(g->payload[g->n], p, len);
    g->len[g->n++] = len;
    return STRATA_OK;
}

static void payload_of(uint64_t i, char *buf, size_t *len)
{
    *len = (size_t)snprintf(buf, 64, "record %llu %s", (unsigned long long)i,
                            i % 3 ? "abc" : "a longer payload for record");
}

/* Write n records (lsn 1..n) into dir with one file; returns its path. */
static char *write_log(const char *dir, int n, strata_sync policy)
{
    wal *w;
    wal_opts o = {policy, 5, 100};
    ck_assert_int_eq(wal_open(dir, 1, 1, &o, &w), STRATA_OK);
    for (int i = 1; i <= n; i++) {
        char p[64];
        size_t len;
        uint64_t lsn;
        payload_of((uint64_t)i, p, &len);
        ck_assert_int_eq(wal_append(w, WAL_REC_WRITE, p, len, &lsn), STRATA_OK);
        ck_assert_uint_eq(lsn, (uint64_t)i);
        ck_assert_int_eq(wal_sync_to(w, lsn), STRATA_OK);
    }
    ck_assert_int_eq(wal_close(w), STRATA_OK);
    char *path = malloc(4200);
    wal_file_path(dir, 1, path, 4200);
    return path;
}

static void check_records(const got *g, uint64_t first, uint64_t last)
{
    ck_assert_uint_eq(g->n, last >= first ? last - first + 1 : 0);
    for (size_t i = 0; i < g->n; i++) {
        char p[64];
        size_t len;
        payload_of(first + i, p, &len);
        ck_assert_uint_eq(g->lsn[i], first + i);
        ck_assert_uint_eq(g->len[i], len);
        ck_assert(memcmp(g->payload[i], p, len) == 0);
    }
}

START_TEST(test_roundtrip_and_start_lsn)
{
    char *dir = tu_tmpdir();
    free(write_log(dir, 50, STRATA_SYNC_ALWAYS));
    got *g = calloc(1, sizeof *g);
    wal_recovery rec;
    ck_assert_int_eq(wal_replay(dir, 1, 1, collect, g, &rec), STRATA_OK);
    check_records(g, 1, 50);
    ck_assert_uint_eq(rec.next_lsn, 51);
    ck_assert_uint_eq(rec.next_seq, 2);
    ck_assert_uint_eq(rec.torn_bytes, 0);
    ck_assert_uint_eq(rec.replayed, 50);
    memset(g, 0, sizeof *g);
    ck_assert_int_eq(wal_replay(dir, 31, 1, collect, g, &rec), STRATA_OK);
    check_records(g, 31, 50);
    ck_assert_uint_eq(rec.records, 50);
    free(g);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

static off_t file_size(const char *p)
{
    struct stat st;
    ck_assert_int_eq(stat(p, &st), 0);
    return st.st_size;
}

/* Cut the log inside its last record at every byte; recovery must keep the
 * first n-1 records, cut the rest, and a second recovery must be clean. */
START_TEST(test_torn_tail_every_byte)
{
    const int n = 6;
    char *dir = tu_tmpdir();
    char *path = write_log(dir, n, STRATA_SYNC_ALWAYS);
    size_t full_len;
    char *full = tu_read_file(path, &full_len);
    char last[64];
    size_t last_len;
    payload_of(n, last, &last_len);
    size_t last_start = full_len - (WAL_RECORD_OVERHEAD + last_len);
    got *g = calloc(1, sizeof *g);
    for (size_t cut = last_start; cut < full_len; cut++) {
        tu_write_file(path, full, cut);
        memset(g, 0, sizeof *g);
        wal_recovery rec;
        ck_assert_int_eq(wal_replay(dir, 1, 1, collect, g, &rec), STRATA_OK);
        check_records(g, 1, n - 1);
        ck_assert_uint_eq(rec.torn_bytes, cut - last_start);
        ck_assert_uint_eq(rec.next_lsn, (uint64_t)n);
        ck_assert_int_eq(file_size(path), (off_t)last_start);
        if (cut > last_start)
            ck_assert_ptr_nonnull(strstr(rec.torn_where, "offset"));
        memset(g, 0, sizeof *g);
        ck_assert_int_eq(wal_replay(dir, 1, 1, collect, g, &rec), STRATA_OK);
        check_records(g, 1, n - 1);
        ck_assert_uint_eq(rec.torn_bytes, 0);
    }
    /* A torn tail that is zeros (the file grew but its pages were lost). */
    memcpy(full + last_start, (char[WAL_RECORD_OVERHEAD + 64]){0}, full_len - last_start);
    tu_write_file(path, full, full_len);
    memset(g, 0, sizeof *g);
    wal_recovery rec;
    ck_assert_int_eq(wal_replay(dir, 1, 1, collect, g, &rec), STRATA_OK);
    check_records(g, 1, n - 1);
    ck_assert_uint_eq(rec.torn_bytes, full_len - last_start);
    /* Read-only recovery reports the tail but leaves the file alone. */
    memcpy(full + last_start, full, 7);
    tu_write_file(path, full, full_len);
    memset(g, 0, sizeof *g);
    ck_assert_int_eq(wal_replay(dir, 1, 0, collect, g, &rec), STRATA_OK);
    ck_assert_uint_eq(rec.torn_bytes, full_len - last_start);
    ck_assert_int_eq(file_size(path), (off_t)full_len);
    free(g);
    free(full);
    free(path);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* After a torn tail is cut, a new writer continues the lsn sequence. */
START_TEST(test_continue_after_torn_tail)
{
    char *dir = tu_tmpdir();
    char *path = write_log(dir, 4, STRATA_SYNC_ALWAYS);
    size_t len;
    char *data = tu_read_file(path, &len);
    tu_write_file(path, data, len - 3);
    got *g = calloc(1, sizeof *g);
    wal_recovery rec;
    ck_assert_int_eq(wal_replay(dir, 1, 1, collect, g, &rec), STRATA_OK);
    ck_assert_uint_eq(rec.next_lsn, 4);
    wal *w;
    wal_opts o = {STRATA_SYNC_ALWAYS, 0, 0};
    ck_assert_int_eq(wal_open(dir, rec.next_seq, rec.next_lsn, &o, &w), STRATA_OK);
    char p[64];
    size_t pl;
    uint64_t lsn;
    payload_of(4, p, &pl);
    ck_assert_int_eq(wal_append(w, WAL_REC_WRITE, p, pl, &lsn), STRATA_OK);
    ck_assert_uint_eq(lsn, 4);
    ck_assert_int_eq(wal_close(w), STRATA_OK);
    memset(g, 0, sizeof *g);
    ck_assert_int_eq(wal_replay(dir, 1, 1, collect, g, &rec), STRATA_OK);
    check_records(g, 1, 4);
    ck_assert_uint_eq(rec.files, 2);
    free(g);
    free(data);
    free(path);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* Damage followed by intact records is an error naming file and offset,
 * at every byte of a middle record. */
START_TEST(test_damage_in_the_middle)
{
    char *dir = tu_tmpdir();
    char *path = write_log(dir, 5, STRATA_SYNC_ALWAYS);
    size_t len;
    char *orig = tu_read_file(path, &len);
    /* record 2 starts after the header and record 1 */
    char p1[64], p2[64];
    size_t l1, l2;
    payload_of(1, p1, &l1);
    payload_of(2, p2, &l2);
    size_t start = WAL_HEADER_SIZE + WAL_RECORD_OVERHEAD + l1;
    size_t end = start + WAL_RECORD_OVERHEAD + l2;
    got *g = calloc(1, sizeof *g);
    char want[64];
    snprintf(want, sizeof want, "offset %zu", start);
    for (size_t i = start; i < end; i++) {
        char *data = malloc(len);
        memcpy(data, orig, len);
        data[i] ^= 0x40;
        tu_write_file(path, data, len);
        memset(g, 0, sizeof *g);
        wal_recovery rec;
        int rc = wal_replay(dir, 1, 1, collect, g, &rec);
        ck_assert_int_eq(rc, STRATA_CORRUPT);
        ck_assert_int_eq(st_errcode(), STRATA_CORRUPT_WAL);
        ck_assert_msg(strstr(st_errmsg(), path) && strstr(st_errmsg(), want),
                      "message should name %s and %s: %s", path, want, st_errmsg());
        ck_assert_uint_eq(g->n, 1); /* record 1 was read before the damage */
        ck_assert_int_eq(file_size(path), (off_t)len); /* nothing was cut */
        free(data);
    }
    free(g);
    free(orig);
    free(path);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

static void say_nothing(void *ctx, const char *msg)
{
    (*(int *)ctx)++;
    (void)msg;
}

/* A damaged record at the end of a finished (not the newest) file is damage,
 * and so is a missing file in the middle. */
START_TEST(test_rotation_trim_and_gaps)
{
    char *dir = tu_tmpdir();
    wal *w;
    wal_opts o = {STRATA_SYNC_NONE, 0, 0};
    ck_assert_int_eq(wal_open(dir, 1, 1, &o, &w), STRATA_OK);
    uint64_t lsn = 0, first;
    for (int f = 0; f < 4; f++) {
        for (int i = 0; i < 10; i++) {
            char p[64];
            size_t l;
            payload_of(lsn + 1, p, &l);
            ck_assert_int_eq(wal_append(w, WAL_REC_WRITE, p, l, &lsn), STRATA_OK);
        }
        ck_assert_int_eq(wal_rotate(w, &first), STRATA_OK);
        ck_assert_uint_eq(first, lsn + 1);
    }
    ck_assert_int_eq(wal_close(w), STRATA_OK);
    got *g = calloc(1, sizeof *g);
    wal_recovery rec;
    ck_assert_int_eq(wal_replay(dir, 1, 1, collect, g, &rec), STRATA_OK);
    check_records(g, 1, 40);
    ck_assert_uint_eq(rec.files, 5);
    int problems = 0;
    ck_assert_int_eq(wal_verify(dir, say_nothing, &problems), 0);

    /* damage the last byte of file 2 (finished): an error, not a torn tail */
    char p2[4200];
    wal_file_path(dir, 2, p2, sizeof p2);
    size_t len;
    char *data = tu_read_file(p2, &len);
    data[len - 1] ^= 1;
    tu_write_file(p2, data, len);
    memset(g, 0, sizeof *g);
    ck_assert_int_eq(wal_replay(dir, 1, 1, collect, g, &rec), STRATA_CORRUPT);
    ck_assert_ptr_nonnull(strstr(st_errmsg(), "completed log file"));
    ck_assert_int_eq(wal_verify(dir, say_nothing, &problems), 1);
    data[len - 1] ^= 1;
    tu_write_file(p2, data, len);
    free(data);

    /* trimming below lsn 21 removes files 1 and 2 (lsns 1..20) */
    ck_assert_int_eq(wal_open(dir, 6, 41, &o, &w), STRATA_OK);
    ck_assert_int_eq(wal_trim(w, 21), STRATA_OK);
    ck_assert_int_eq(wal_close(w), STRATA_OK);
    ck_assert_int_ne(access(p2, F_OK), 0);
    memset(g, 0, sizeof *g);
    ck_assert_int_eq(wal_replay(dir, 21, 1, collect, g, &rec), STRATA_OK);
    check_records(g, 21, 40);
    /* ...and replaying from an lsn the log no longer has is an error */
    ck_assert_int_eq(wal_replay(dir, 5, 1, collect, g, &rec), STRATA_CORRUPT);
    ck_assert_ptr_nonnull(strstr(st_errmsg(), "missing"));

    /* a file missing in the middle is a gap */
    char p4[4200];
    wal_file_path(dir, 4, p4, sizeof p4);
    ck_assert_int_eq(unlink(p4), 0);
    ck_assert_int_eq(wal_replay(dir, 21, 1, collect, g, &rec), STRATA_CORRUPT);
    ck_assert_ptr_nonnull(strstr(st_errmsg(), "missing"));
    free(g);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

typedef struct thr {
    wal *w;
    int n;
} thr;

static void *writer(void *arg)
{
    thr *t = arg;
    for (int i = 0; i < t->n; i++) {
        uint64_t lsn;
        wal_writer_enter(t->w);
        if (i % 2) {
            uint8_t rec[WAL_RECORD_OVERHEAD + 1];
            rec[WAL_RECORD_HEAD] = 'x';
            ck_assert_int_eq(wal_append_framed(t->w, WAL_REC_WRITE, rec, 1, &lsn), STRATA_OK);
        } else {
            ck_assert_int_eq(wal_append(t->w, WAL_REC_WRITE, "x", 1, &lsn), STRATA_OK);
        }
        ck_assert_int_eq(wal_sync_to(t->w, lsn), STRATA_OK);
        wal_writer_leave(t->w);
    }
    return NULL;
}

static void group_commit(strata_sync policy)
{
    char *dir = tu_tmpdir();
    wal *w;
    wal_opts o = {policy, 2, 200};
    ck_assert_int_eq(wal_open(dir, 1, 1, &o, &w), STRATA_OK);
    pthread_t t[4];
    thr a = {w, 150};
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, writer, &a);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    ck_assert_uint_eq(wal_next_lsn(w), 601);
    ck_assert_int_eq(wal_close(w), STRATA_OK);
    got *g = calloc(1, sizeof *g);
    wal_recovery rec;
    ck_assert_int_eq(wal_replay(dir, 1, 1, collect, g, &rec), STRATA_OK);
    ck_assert_uint_eq(g->n, 600);
    for (size_t i = 0; i < g->n; i++) {
        ck_assert_uint_eq(g->lsn[i], i + 1);
        ck_assert_uint_eq(g->len[i], 1);
        ck_assert_int_eq(g->payload[i][0], 'x');
    }
    free(g);
    tu_rmrf(dir);
    free(dir);
}

/* A rotation never fails for memory once the record before it is written:
 * the file table grows as soon as it fills, so adding the next file needs
 * no allocation unless that early growth failed.  Each allocation of a
 * run of rotations (past the table's first sizes) fails in turn: every
 * rotation succeeds, and the records all come back. */
START_TEST(test_rotation_needs_no_memory)
{
    for (long i = 1;; i++) {
        char *dir = tu_tmpdir();
        wal *w;
        wal_opts o = {STRATA_SYNC_NONE, 0, 0};
        ck_assert_int_eq(wal_open(dir, 1, 1, &o, &w), STRATA_OK);
        st_alloc_fail_at(i);
        uint64_t lsn = 0, first;
        int appended = 0;
        for (int f = 0; f < 20; f++) {
            char p[64];
            size_t l;
            payload_of(lsn + 1, p, &l);
            int rc = wal_append(w, WAL_REC_WRITE, p, l, &lsn);
            if (rc == STRATA_OK)
                appended++;
            else
                ck_assert_int_eq(rc, STRATA_NOMEM); /* the append's buffer: nothing written */
            ck_assert_msg(wal_rotate(w, &first) == STRATA_OK, "allocation %ld, rotation %d: %s", i,
                          f + 1, st_errmsg());
        }
        long made = st_alloc_fail_at(0);
        ck_assert_int_eq(wal_close(w), STRATA_OK);
        got *g = calloc(1, sizeof *g);
        wal_recovery rec;
        ck_assert_int_eq(wal_replay(dir, 1, 1, collect, g, &rec), STRATA_OK);
        ck_assert_uint_eq(g->n, (size_t)appended);
        ck_assert_uint_eq(rec.files, 21);
        free(g);
        tu_rmrf(dir);
        free(dir);
        if (made < i)
            break; /* the run made fewer allocations than i */
        ck_assert_int_lt(i, 1000);
    }
}
END_TEST

START_TEST(test_group_commit_every_policy)
{
    group_commit(STRATA_SYNC_ALWAYS);
    group_commit(STRATA_SYNC_BATCH);
    group_commit(STRATA_SYNC_INTERVAL);
    group_commit(STRATA_SYNC_NONE);
}
END_TEST

/* A failed write is sticky, and what reached the file is a torn tail. */
START_TEST(test_write_error_is_sticky)
{
    char *dir = tu_tmpdir();
    wal *w;
    wal_opts o = {STRATA_SYNC_ALWAYS, 0, 0};
    ck_assert_int_eq(wal_open(dir, 1, 1, &o, &w), STRATA_OK);
    uint64_t lsn;
    ck_assert_int_eq(wal_append(w, WAL_REC_WRITE, "first", 5, &lsn), STRATA_OK);
    ck_assert_int_eq(wal_sync_to(w, lsn), STRATA_OK);
    ck_assert_int_eq(wal_append(w, WAL_REC_WRITE, "second", 6, &lsn), STRATA_OK);
    os_fault_inject(OS_OP_WRITE, 1, ENOSPC, 9);
    ck_assert_int_eq(wal_sync_to(w, lsn), STRATA_FULL);
    ck_assert_int_eq(st_errcode(), STRATA_FULL_DISK);
    ck_assert_int_ne(wal_append(w, WAL_REC_WRITE, "third", 5, &lsn), STRATA_OK);
    ck_assert_ptr_nonnull(strstr(st_errmsg(), "failed earlier"));
    ck_assert_int_ne(wal_close(w), STRATA_OK);
    got *g = calloc(1, sizeof *g);
    wal_recovery rec;
    ck_assert_int_eq(wal_replay(dir, 1, 1, collect, g, &rec), STRATA_OK);
    ck_assert_uint_eq(g->n, 1);
    ck_assert_uint_eq(rec.torn_bytes, 9);
    free(g);

    /* fsync failure */
    tu_rmrf(dir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    ck_assert_int_eq(wal_open(dir, 1, 1, &o, &w), STRATA_OK);
    ck_assert_int_eq(wal_append(w, WAL_REC_WRITE, "first", 5, &lsn), STRATA_OK);
    os_fault_inject(OS_OP_SYNC, 1, EIO, -1);
    ck_assert_int_eq(wal_sync_to(w, lsn), STRATA_IOERR);
    ck_assert_int_eq(st_errcode(), STRATA_IOERR_FSYNC);
    ck_assert_int_eq(wal_sync_to(w, lsn), STRATA_IOERR);
    os_fault_inject(0, 0, 0, 0);
    wal_close(w);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* A record built in place: framed around the caller's payload. */
static uint64_t append_framed(wal *w, const char *text)
{
    size_t len = strlen(text);
    uint8_t rec[WAL_RECORD_OVERHEAD + 64];
    ck_assert_uint_le(len, 64);
    memset(rec, 0xee, sizeof rec); /* the frame's room holds garbage */
    memcpy(rec + WAL_RECORD_HEAD, text, len);
    uint64_t lsn;
    ck_assert_int_eq(wal_append_framed(w, WAL_REC_WRITE, rec, len, &lsn), STRATA_OK);
    return lsn;
}

/* Nothing pending: a framed record reaches the file at once (no copy in the
 * buffer); behind pending records it is queued, and the order holds. */
START_TEST(test_framed_direct_and_queued)
{
    char *dir = tu_tmpdir();
    wal *w;
    wal_opts o = {STRATA_SYNC_BATCH, 0, 0};
    ck_assert_int_eq(wal_open(dir, 1, 1, &o, &w), STRATA_OK);
    char path[4200];
    wal_file_path(dir, 1, path, sizeof path);
    off_t size = file_size(path);
    ck_assert_int_eq(size, WAL_HEADER_SIZE);

    ck_assert_uint_eq(append_framed(w, "first"), 1);
    size += WAL_RECORD_OVERHEAD + 5;
    ck_assert_int_eq(file_size(path), size); /* written before any sync */
    ck_assert_int_eq(wal_sync_to(w, 1), STRATA_OK);

    uint64_t lsn;
    ck_assert_int_eq(wal_append(w, WAL_REC_WRITE, "second", 6, &lsn), STRATA_OK);
    ck_assert_uint_eq(lsn, 2);
    ck_assert_uint_eq(append_framed(w, "third"), 3);
    ck_assert_int_eq(file_size(path), size); /* both wait in the buffer */
    ck_assert_uint_eq(wal_size(w), (uint64_t)size + 2 * WAL_RECORD_OVERHEAD + 11);
    ck_assert_int_eq(wal_sync_to(w, 3), STRATA_OK);
    size += 2 * WAL_RECORD_OVERHEAD + 11;
    ck_assert_int_eq(file_size(path), size);
    ck_assert_uint_eq(append_framed(w, "fourth"), 4);
    ck_assert_int_eq(wal_close(w), STRATA_OK);

    got *g = calloc(1, sizeof *g);
    wal_recovery rec;
    ck_assert_int_eq(wal_replay(dir, 1, 1, collect, g, &rec), STRATA_OK);
    static const char *want[] = {"first", "second", "third", "fourth"};
    ck_assert_uint_eq(g->n, 4);
    for (size_t i = 0; i < 4; i++) {
        ck_assert_uint_eq(g->lsn[i], i + 1);
        ck_assert_uint_eq(g->len[i], strlen(want[i]));
        ck_assert(memcmp(g->payload[i], want[i], g->len[i]) == 0);
    }
    ck_assert_uint_eq(rec.torn_bytes, 0);
    free(g);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* A failed direct write is sticky like a leader's, and leaves a torn tail. */
START_TEST(test_framed_write_error_is_sticky)
{
    char *dir = tu_tmpdir();
    wal *w;
    wal_opts o = {STRATA_SYNC_NONE, 0, 0};
    ck_assert_int_eq(wal_open(dir, 1, 1, &o, &w), STRATA_OK);
    ck_assert_uint_eq(append_framed(w, "first"), 1);
    os_fault_inject(OS_OP_WRITE, 1, EIO, 7);
    uint8_t rec[WAL_RECORD_OVERHEAD + 6];
    memcpy(rec + WAL_RECORD_HEAD, "second", 6);
    uint64_t lsn = 99;
    ck_assert_int_eq(wal_append_framed(w, WAL_REC_WRITE, rec, 6, &lsn), STRATA_IOERR);
    ck_assert_int_eq(st_errcode(), STRATA_IOERR_WRITE);
    ck_assert_uint_eq(lsn, 99);
    ck_assert_int_ne(wal_append_framed(w, WAL_REC_WRITE, rec, 6, &lsn), STRATA_OK);
    ck_assert_ptr_nonnull(strstr(st_errmsg(), "failed earlier"));
    ck_assert_int_ne(wal_sync_to(w, 1), STRATA_OK);
    ck_assert_int_ne(wal_close(w), STRATA_OK);
    got *g = calloc(1, sizeof *g);
    wal_recovery rec2;
    ck_assert_int_eq(wal_replay(dir, 1, 1, collect, g, &rec2), STRATA_OK);
    ck_assert_uint_eq(g->n, 1);
    ck_assert_uint_eq(rec2.torn_bytes, 7);
    free(g);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

static int count_big(void *ctx, uint64_t lsn, unsigned type, const uint8_t *p, size_t len)
{
    uint64_t *n = ctx;
    ck_assert_uint_eq(type, WAL_REC_WRITE);
    ck_assert_uint_eq(lsn, *n + 1);
    ck_assert_uint_eq(len, 4u << 20);
    ck_assert_uint_eq(p[0], (uint8_t)lsn);
    ck_assert_uint_eq(p[len - 1], (uint8_t)lsn);
    (*n)++;
    return STRATA_OK;
}

/* Direct writes start a new file past the target size, as a leader does,
 * also under a policy that never leads (NONE). */
START_TEST(test_framed_rotation)
{
    char *dir = tu_tmpdir();
    wal *w;
    wal_opts o = {STRATA_SYNC_NONE, 0, 0};
    ck_assert_int_eq(wal_open(dir, 1, 1, &o, &w), STRATA_OK);
    size_t len = 4u << 20, nrec = WAL_SEGMENT_TARGET / len + 2;
    uint8_t *rec = malloc(len + WAL_RECORD_OVERHEAD);
    for (size_t i = 1; i <= nrec; i++) {
        memset(rec + WAL_RECORD_HEAD, (int)(uint8_t)i, len);
        uint64_t lsn;
        ck_assert_int_eq(wal_append_framed(w, WAL_REC_WRITE, rec, len, &lsn), STRATA_OK);
        ck_assert_uint_eq(lsn, i);
    }
    free(rec);
    ck_assert_int_eq(wal_close(w), STRATA_OK);
    char p2[4200];
    wal_file_path(dir, 2, p2, sizeof p2);
    ck_assert_int_eq(file_size(p2), WAL_HEADER_SIZE + 2 * (off_t)(len + WAL_RECORD_OVERHEAD));
    uint64_t n = 0;
    wal_recovery rec2;
    ck_assert_int_eq(wal_replay(dir, 1, 1, count_big, &n, &rec2), STRATA_OK);
    ck_assert_uint_eq(n, nrec);
    ck_assert_uint_eq(rec2.files, 2);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(test_oversized_record_refused)
{
    char *dir = tu_tmpdir();
    wal *w;
    wal_opts o = {STRATA_SYNC_NONE, 0, 0};
    ck_assert_int_eq(wal_open(dir, 1, 1, &o, &w), STRATA_OK);
    uint64_t lsn;
    ck_assert_int_eq(wal_append(w, WAL_REC_WRITE, "", (size_t)WAL_MAX_PAYLOAD + 1, &lsn),
                     STRATA_FULL);
    ck_assert_int_eq(st_errcode(), STRATA_FULL_BATCH);
    ck_assert_int_eq(wal_close(w), STRATA_OK);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* A newest file whose header never made it to disk is a torn tail. */
START_TEST(test_torn_header_of_newest_file)
{
    char *dir = tu_tmpdir();
    free(write_log(dir, 3, STRATA_SYNC_ALWAYS));
    char p2[4200];
    wal_file_path(dir, 2, p2, sizeof p2);
    for (size_t cut = 0; cut < WAL_HEADER_SIZE; cut++) {
        tu_write_file(p2, "STRATAWL\1\0\0\0\0\0\0\0\2\0\0\0\0\0\0\0", cut < 24 ? cut : 24);
        got *g = calloc(1, sizeof *g);
        wal_recovery rec;
        ck_assert_int_eq(wal_replay(dir, 1, 1, collect, g, &rec), STRATA_OK);
        check_records(g, 1, 3);
        ck_assert_uint_eq(rec.next_lsn, 4);
        ck_assert_int_ne(access(p2, F_OK), 0); /* removed */
        free(g);
    }
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* Pages of the first `len` bytes of path that are in the page cache. */
static size_t resident_pages(const char *path, size_t len)
{
    int fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    ck_assert(m != MAP_FAILED);
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), n = (len + pg - 1) / pg, r = 0;
    unsigned char *v = malloc(n);
    ck_assert_int_eq(mincore(m, len, v), 0);
    for (size_t i = 0; i < n; i++)
        r += v[i] & 1;
    free(v);
    munmap(m, len);
    close(fd);
    return r;
}

/* Synced records leave the page cache (nothing reads them but a replay):
 * under BATCH after each sync, under NONE once something syncs the log;
 * unsynced ones stay (they may not be written back yet).  Not checked on
 * tmpfs, where the page cache is the file. */
START_TEST(test_synced_log_leaves_page_cache)
{
    char *dir = tu_tmpdir();
    struct statfs fs;
    ck_assert_int_eq(statfs(dir, &fs), 0);
    if (fs.f_type == 0x01021994) { /* TMPFS_MAGIC */
        tu_rmrf(dir);
        free(dir);
        return;
    }
    static const strata_sync pols[] = {STRATA_SYNC_BATCH, STRATA_SYNC_NONE};
    for (size_t pi = 0; pi < 2; pi++) {
        char sub[4200];
        snprintf(sub, sizeof sub, "%s/%zu", dir, pi);
        ck_assert_int_eq(mkdir(sub, 0755), 0);
        wal *w;
        wal_opts o = {pols[pi], 5, 0};
        ck_assert_int_eq(wal_open(sub, 1, 1, &o, &w), STRATA_OK);
        static char rec[3000];
        memset(rec, 'r', sizeof rec);
        for (int i = 0; i < 100; i++) {
            uint64_t lsn;
            ck_assert_int_eq(wal_append(w, WAL_REC_WRITE, rec, sizeof rec, &lsn), STRATA_OK);
            ck_assert_int_eq(wal_sync_to(w, lsn), STRATA_OK);
        }
        char path[4200];
        wal_file_path(sub, 1, path, sizeof path);
        struct stat st;
        ck_assert_int_eq(stat(path, &st), 0);
        size_t whole = (size_t)st.st_size & ~(size_t)4095; /* pages the log has filled */
        size_t before = resident_pages(path, whole);
        if (pols[pi] == STRATA_SYNC_NONE) {
            TU_CHECK(before == whole / 4096, "NONE: %zu of %zu pages cached before a sync", before,
                     whole / 4096);
            ck_assert_int_eq(wal_sync_all(w), STRATA_OK);
        } else {
            TU_CHECK(before == 0, "BATCH: %zu of %zu synced pages still cached", before,
                     whole / 4096);
        }
        size_t after = resident_pages(path, whole);
        TU_CHECK(after == 0, "policy %d: %zu of %zu synced pages still cached", (int)pols[pi],
                 after, whole / 4096);
        ck_assert_int_eq(wal_close(w), STRATA_OK);
    }
    tu_rmrf(dir);
    free(dir);
}
END_TEST

Suite *wal_suite(void); /* collected by run_tests.c */

Suite *wal_suite(void)
{
    Suite *s = suite_create("wal");
    TCase *t = tcase_create("wal");
    tcase_add_test(t, test_roundtrip_and_start_lsn);
    tcase_add_test(t, test_torn_tail_every_byte);
    tcase_add_test(t, test_continue_after_torn_tail);
    tcase_add_test(t, test_damage_in_the_middle);
    tcase_add_test(t, test_rotation_trim_and_gaps);
    tcase_add_test(t, test_rotation_needs_no_memory);
    tcase_add_test(t, test_group_commit_every_policy);
    tcase_add_test(t, test_write_error_is_sticky);
    tcase_add_test(t, test_framed_direct_and_queued);
    tcase_add_test(t, test_framed_write_error_is_sticky);
    tcase_add_test(t, test_framed_rotation);
    tcase_add_test(t, test_oversized_record_refused);
    tcase_add_test(t, test_torn_header_of_newest_file);
    tcase_add_test(t, test_synced_log_leaves_page_cache);
    suite_add_tcase(s, t);
    return s;
}
