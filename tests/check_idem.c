/*
 * check_idem.c — idempotent retransmission (batch keys), late data and the
 * maximum lateness.
 *
 * The data: batch q of a run holds P points; point j is at BASE + (q*P + j)
 * seconds on device d<j % 4>, field v = q*P + j + off, where off is 0 for
 * the original transmission and RETRY for a retransmission.  A
 * retransmission therefore carries *different* values under the same key:
 * if it were applied, the stored values would change, so "the dump is
 * identical" really shows that nothing was applied a second time.
 *
 * Crash: a forked child writes keyed batches with sync=always (flushing
 * every few batches, so keys move from the log to the idemkeys file) and
 * acknowledges each through a pipe; the parent kills it with SIGKILL, then
 * reopens and retransmits every batch up to the one in flight.  Every
 * acknowledged batch must be skipped with its original values intact; the
 * batch in flight is whole either way.
 */
#define _GNU_SOURCE
#include "engine/alloc.h"
#include "engine/idem.h"
#include "engine/idem_format.h"
#include "strata.h"
#include "tests/testutil.h"
#include "wal/wal.h"
#include "wal/wal_format.h"

#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define BASE_NS INT64_C(1704067200000000000) /* 2024-01-01T00:00:00Z */
#define SEC INT64_C(1000000000)
#define NDEV 4
#define RETRY 1000000

/* ---- helpers --------------------------------------------------------------- */

static int64_t fake_now;
static int64_t fake_clock(void)
{
    return fake_now;
}

static strata_db *open_db(const char *path, const strata_options *o)
{
    strata_options d;
    if (!o) {
        strata_options_init(&d);
        d.create_if_missing = 1;
        o = &d;
    }
    strata_db *db = NULL;
    int rc = strata_db_open(path, o, &db);
    ck_assert_msg(rc == STRATA_OK, "open %s: %s", path, strata_errmsg(NULL));
    return db;
}

static int64_t point_ts(uint32_t P, uint64_t q, uint32_t j)
{
    return BASE_NS + (int64_t)(q * P + j) * SEC;
}

/* Fill b with batch q (P points, values offset by off) under key (or none). */
static int build_batch(strata_batch *b, const char *key, uint64_t q, uint32_t P, int64_t off)
{
    strata_batch_clear(b);
    if (key && strata_batch_set_key(b, key, strlen(key)) != STRATA_OK)
        return -1;
    for (uint32_t j = 0; j < P; j++) {
        char dev[8];
        snprintf(dev, sizeof dev, "d%u", j % NDEV);
        if (strata_batch_point(b, "m", point_ts(P, q, j)) != STRATA_OK ||
            strata_batch_tag(b, "device", dev) != STRATA_OK ||
            strata_batch_i64(b, "v", (int64_t)(q * P + j) + off) != STRATA_OK)
            return -1;
    }
    return 0;
}

/* Write batch q; returns strata_batch_skipped() (asserting success). */
static int write_batch(strata_db *db, const char *key, uint64_t q, uint32_t P, int64_t off)
{
    strata_batch *b;
    ck_assert_int_eq(strata_batch_new(db, &b), STRATA_OK);
    ck_assert_int_eq(build_batch(b, key, q, P, off), 0);
    int rc = strata_db_write(db, b);
    ck_assert_msg(rc == STRATA_OK, "write: %s", strata_errmsg(db));
    int skipped = strata_batch_skipped(b);
    strata_batch_free(b);
    return skipped;
}

/* `strata dump` of a closed database. */
static char *dump(const char *path)
{
    char *out = NULL, *err = NULL;
    const char *args[] = {"dump", path, NULL};
    int rc = tu_cli(args, NULL, &out, &err);
    ck_assert_msg(rc == 0, "strata dump %s: %s", path, err ? err : "");
    free(err);
    return out;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* The stored value at ts of device d's series v; 0 if none (sets *found). */
static int64_t value_at(strata_db *db, uint32_t d, int64_t ts, int *found)
{
    char key[32];
    snprintf(key, sizeof key, "m,device=d%u v", d);
    strata_series s;
    *found = 0;
    if (strata_series_find(db, key, &s) != STRATA_OK)
        return 0;
    strata_iter *it;
    ck_assert_int_eq(strata_iter_open(db, s.id, ts, ts + 1, &it), STRATA_OK);
    int64_t t;
    strata_value v;
    int rc = strata_iter_next(it, &t, &v);
    strata_iter_close(it);
    if (rc != STRATA_ROW)
        return 0;
    *found = 1;
    return v.i64;
}

/* Points stored in all series of the database. */
static uint64_t count_points(strata_db *db)
{
    uint64_t n = 0, ns;
    ck_assert_int_eq(strata_series_count(db, &ns), STRATA_OK);
    for (uint64_t id = 0; id < ns; id++) {
        strata_iter *it;
        ck_assert_int_eq(strata_iter_open(db, id, INT64_MIN, INT64_MAX, &it), STRATA_OK);
        int64_t t;
        strata_value v;
        while (strata_iter_next(it, &t, &v) == STRATA_ROW)
            n++;
        strata_iter_close(it);
    }
    return n;
}

/* Batch q holds the values of transmission `off` (all of its points). */
static void assert_batch(strata_db *db, uint64_t q, uint32_t P, int64_t off)
{
    for (uint32_t j = 0; j < P; j++) {
        int found;
        int64_t v = value_at(db, j % NDEV, point_ts(P, q, j), &found);
        TU_CHECK(found, "batch %llu point %u missing", (unsigned long long)q, j);
        TU_CHECK(v == (int64_t)(q * P + j) + off, "batch %llu point %u: %lld, want %lld",
                 (unsigned long long)q, j, (long long)v, (long long)((int64_t)(q * P + j) + off));
    }
}

static void count_report(void *ctx, const char *msg)
{
    (void)msg;
    (*(int *)ctx)++;
}

static uint64_t stat_skipped(strata_db *db)
{
    strata_stats st;
    ck_assert_int_eq(strata_db_stats(db, &st), STRATA_OK);
    return st.idem_skipped;
}

/* ---- retransmission ------------------------------------------------------------ */

/* A retransmission (same key, other values) changes nothing: right away,
 * after a clean restart, and after a flush that trimmed the log. */
START_TEST(test_retransmit_skipped)
{
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "db");
    strata_db *db = open_db(path, NULL);
    ck_assert_int_eq(write_batch(db, "t1:1", 0, 50, 0), 0);
    ck_assert_int_eq(write_batch(db, NULL, 1, 50, 0), 0); /* unkeyed: plain WRITE */
    ck_assert_int_eq(write_batch(db, "t1:1", 0, 50, RETRY), 1);
    ck_assert_uint_eq(stat_skipped(db), 1);
    assert_batch(db, 0, 50, 0);
    ck_assert_uint_eq(count_points(db), 100);
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    char *before = dump(path);
    ck_assert_uint_eq(count_lines(before), 100);

    /* clean restart: the close flushed and deleted the log; the key is in
     * idemkeys */
    char *kpath = tu_path(path, IDEMF_FILE_NAME);
    struct stat sb;
    ck_assert_int_eq(stat(kpath, &sb), 0);
    db = open_db(path, NULL);
    strata_stats st;
    ck_assert_int_eq(strata_db_stats(db, &st), STRATA_OK);
    ck_assert_uint_eq(st.idem_keys, 1);
    ck_assert_uint_eq(st.replayed_records, 0);
    ck_assert_int_eq(write_batch(db, "t1:1", 0, 50, RETRY), 1);
    /* a new key is applied, and a retransmission of it skipped, across a
     * flush that trims the log */
    ck_assert_int_eq(write_batch(db, "t1:2", 2, 50, 0), 0);
    ck_assert_int_eq(strata_db_flush(db), STRATA_OK);
    ck_assert_int_eq(write_batch(db, "t1:2", 2, 50, RETRY), 1);
    ck_assert_int_eq(write_batch(db, "t1:1", 0, 50, RETRY), 1);
    ck_assert_int_eq(strata_db_stats(db, &st), STRATA_OK);
    ck_assert_uint_eq(st.idem_keys, 2);
    ck_assert_uint_eq(st.idem_skipped, 3);
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);

    db = open_db(path, NULL);
    ck_assert_int_eq(write_batch(db, "t1:1", 0, 50, RETRY), 1);
    ck_assert_int_eq(write_batch(db, "t1:2", 2, 50, RETRY), 1);
    assert_batch(db, 0, 50, 0);
    assert_batch(db, 2, 50, 0);
    ck_assert_uint_eq(count_points(db), 150);
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    char *after = dump(path);
    ck_assert_uint_eq(count_lines(after), 150);

    int nrep = 0;
    uint64_t problems;
    ck_assert_int_eq(strata_verify(path, count_report, &nrep, &problems), STRATA_OK);
    ck_assert_uint_eq(problems, 0);
    free(before);
    free(after);
    free(kpath);
    tu_rmrf(dir);
    free(path);
    free(dir);
}
END_TEST

/* The dump of a database where retransmissions were skipped equals the
 * dump of one where they were never sent. */
START_TEST(test_dump_identical)
{
    char *dir = tu_tmpdir();
    char *a = tu_path(dir, "a"), *b = tu_path(dir, "b");
    strata_db *da = open_db(a, NULL), *dbb = open_db(b, NULL);
    for (uint64_t q = 0; q < 6; q++) {
        char key[16];
        snprintf(key, sizeof key, "t1:%llu", (unsigned long long)q);
        write_batch(da, key, q, 40, 0);
        write_batch(dbb, key, q, 40, 0);
        if (q == 2)
            ck_assert_int_eq(strata_db_flush(dbb), STRATA_OK);
        for (uint64_t r = 0; r <= q; r++) { /* every earlier batch again */
            snprintf(key, sizeof key, "t1:%llu", (unsigned long long)r);
            ck_assert_int_eq(write_batch(dbb, key, r, 40, RETRY + (int64_t)q), 1);
        }
    }
    ck_assert_uint_eq(count_points(da), count_points(dbb));
    ck_assert_int_eq(strata_db_close(da), STRATA_OK);
    ck_assert_int_eq(strata_db_close(dbb), STRATA_OK);
    char *x = dump(a), *y = dump(b);
    ck_assert_str_eq(x, y);
    ck_assert_uint_eq(count_lines(x), 240);
    free(x);
    free(y);
    tu_rmrf(dir);
    free(a);
    free(b);
    free(dir);
}
END_TEST

/* A key older than the window is applied again; the window is wall-clock
 * arrival time and holds across a restart; at most idem_max_keys kept. */
START_TEST(test_window_and_cap)
{
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "db");
    strata_options o;
    strata_options_init(&o);
    o.create_if_missing = 1;
    o.idem_window_ns = 100 * SEC;
    idem_set_clock(fake_clock);
    fake_now = BASE_NS;
    strata_db *db = open_db(path, &o);
    ck_assert_int_eq(write_batch(db, "k:1", 0, 10, 0), 0);
    fake_now = BASE_NS + 60 * SEC;
    ck_assert_int_eq(write_batch(db, "k:2", 1, 10, 0), 0);
    fake_now = BASE_NS + 99 * SEC;
    ck_assert_int_eq(write_batch(db, "k:1", 0, 10, RETRY), 1); /* 99 s < 100 s */
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);

    fake_now = BASE_NS + 100 * SEC; /* k:1 is now 100 s old: outside */
    db = open_db(path, &o);
    strata_stats st;
    ck_assert_int_eq(strata_db_stats(db, &st), STRATA_OK);
    ck_assert_uint_eq(st.idem_keys, 1); /* k:1 expired while loading */
    ck_assert_int_eq(write_batch(db, "k:2", 1, 10, RETRY), 1);
    ck_assert_int_eq(write_batch(db, "k:1", 0, 10, RETRY), 0); /* applied again */
    assert_batch(db, 0, 10, RETRY);
    assert_batch(db, 1, 10, 0);
    /* re-applied, k:1 has a new arrival: inside the window again */
    fake_now = BASE_NS + 160 * SEC;
    ck_assert_int_eq(write_batch(db, "k:1", 0, 10, 2 * RETRY), 1); /* 60 s old */
    ck_assert_int_eq(write_batch(db, "k:2", 1, 10, RETRY), 0);     /* 100 s old */
    assert_batch(db, 0, 10, RETRY);
    assert_batch(db, 1, 10, RETRY);
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);

    /* The cap: 3 keys; the oldest go first, also when loading. */
    o.idem_max_keys = 3;
    db = open_db(path, &o);
    for (uint64_t q = 10; q < 15; q++) {
        char key[16];
        snprintf(key, sizeof key, "c:%llu", (unsigned long long)q);
        ck_assert_int_eq(write_batch(db, key, q, 5, 0), 0);
    }
    ck_assert_int_eq(strata_db_stats(db, &st), STRATA_OK);
    ck_assert_uint_eq(st.idem_keys, 3);
    ck_assert_int_eq(write_batch(db, "c:14", 14, 5, RETRY), 1);
    ck_assert_int_eq(write_batch(db, "c:12", 12, 5, RETRY), 1);
    ck_assert_int_eq(write_batch(db, "c:11", 11, 5, RETRY), 0); /* evicted */
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    o.idem_max_keys = 2;
    db = open_db(path, &o); /* the file holds c:13, c:14, c:11; keeps the last 2 */
    ck_assert_int_eq(strata_db_stats(db, &st), STRATA_OK);
    ck_assert_uint_eq(st.idem_keys, 2);
    ck_assert_int_eq(write_batch(db, "c:11", 11, 5, 2 * RETRY), 1);
    ck_assert_int_eq(write_batch(db, "c:12", 12, 5, 2 * RETRY), 0);
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    idem_set_clock(NULL);
    tu_rmrf(dir);
    free(path);
    free(dir);
}
END_TEST

/* Two threads retransmitting the same key at once: exactly one applies. */
typedef struct race {
    strata_db *db;
    pthread_barrier_t *bar;
    int t, rounds;
    int *skipped; /* [round * 2 + t] */
} race;

static void *race_main(void *p)
{
    race *r = p;
    strata_batch *b;
    if (strata_batch_new(r->db, &b) != STRATA_OK)
        return (void *)1;
    for (int i = 0; i < r->rounds; i++) {
        char key[16];
        snprintf(key, sizeof key, "race:%d", i);
        if (build_batch(b, key, (uint64_t)i, 20, (r->t + 1) * RETRY))
            return (void *)1;
        pthread_barrier_wait(r->bar);
        if (strata_db_write(r->db, b) != STRATA_OK)
            return (void *)1;
        r->skipped[i * 2 + r->t] = strata_batch_skipped(b);
    }
    strata_batch_free(b);
    return NULL;
}

START_TEST(test_two_threads)
{
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "db");
    strata_db *db = open_db(path, NULL);
    enum { ROUNDS = 60 };
    int skipped[ROUNDS * 2];
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, 2);
    race r[2];
    pthread_t th[2];
    for (int t = 0; t < 2; t++) {
        r[t] = (race){db, &bar, t, ROUNDS, skipped};
        ck_assert_int_eq(pthread_create(&th[t], NULL, race_main, &r[t]), 0);
    }
    for (int t = 0; t < 2; t++) {
        void *ret;
        pthread_join(th[t], &ret);
        ck_assert_ptr_null(ret);
    }
    pthread_barrier_destroy(&bar);
    for (int i = 0; i < ROUNDS; i++) {
        ck_assert_int_eq(skipped[2 * i] + skipped[2 * i + 1], 1);
        int winner = skipped[2 * i] ? 1 : 0;
        assert_batch(db, (uint64_t)i, 20, (winner + 1) * RETRY);
    }
    ck_assert_uint_eq(stat_skipped(db), ROUNDS);
    ck_assert_uint_eq(count_points(db), ROUNDS * 20);
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    tu_rmrf(dir);
    free(path);
    free(dir);
}
END_TEST

/* ---- crash ------------------------------------------------------------------------ */

#define CRASH_P 64

/* Child: keyed batches c:0, c:1, ... with sync=always, a flush every 7th
 * (keys then live in idemkeys, not the log); an ack per batch. */
static void crash_child(const char *path, int ack_fd)
{
    strata_options o;
    strata_options_init(&o);
    o.create_if_missing = 1;
    o.sync = STRATA_SYNC_ALWAYS;
    o.head_budget_bytes = 1u << 20;
    strata_db *db;
    strata_batch *b;
    if (strata_db_open(path, &o, &db) != STRATA_OK || strata_batch_new(db, &b) != STRATA_OK)
        _exit(3);
    for (uint64_t q = 0;; q++) {
        char key[16];
        snprintf(key, sizeof key, "c:%llu", (unsigned long long)q);
        if (build_batch(b, key, q, CRASH_P, 0) || strata_db_write(db, b) != STRATA_OK)
            _exit(3);
        if (q % 7 == 6 && strata_db_flush(db) != STRATA_OK)
            _exit(3);
        if (write(ack_fd, &q, sizeof q) != sizeof q)
            _exit(4);
    }
}

START_TEST(test_crash)
{
    uint64_t seed = 0x1d3e;
    for (int iter = 0; iter < 4; iter++) {
        char *dir = tu_tmpdir();
        char *path = tu_path(dir, "db");
        uint64_t target = 3 + tu_rand(&seed) % 40;
        int fds[2];
        ck_assert_int_eq(pipe(fds), 0);
        pid_t pid = tu_fork();
        if (pid == 0) {
            close(fds[0]);
            crash_child(path, fds[1]);
        }
        close(fds[1]);
        uint64_t acked = UINT64_MAX, q;
        while (acked == UINT64_MAX || acked < target) {
            ssize_t got = read(fds[0], &q, sizeof q);
            ck_assert_msg(got == sizeof q, "the writer died early");
            acked = q;
        }
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        /* acks written before the kill but not read yet */
        while (read(fds[0], &q, sizeof q) == sizeof q)
            acked = q;
        close(fds[0]);

        strata_db *db = open_db(path, NULL);
        uint64_t inflight = acked + 1;
        for (uint64_t r = 0; r <= inflight; r++) {
            char key[16];
            snprintf(key, sizeof key, "c:%llu", (unsigned long long)r);
            int sk = write_batch(db, key, r, CRASH_P, RETRY);
            if (r <= acked)
                TU_CHECK(sk == 1, "iteration %d: acknowledged batch %llu applied again", iter,
                         (unsigned long long)r);
        }
        for (uint64_t r = 0; r <= acked; r++)
            assert_batch(db, r, CRASH_P, 0);
        int found;
        int64_t v0 = value_at(db, 0, point_ts(CRASH_P, inflight, 0), &found);
        ck_assert(found);
        assert_batch(db, inflight, CRASH_P, v0 == (int64_t)(inflight * CRASH_P) ? 0 : RETRY);
        ck_assert_uint_eq(count_points(db), (inflight + 1) * CRASH_P);
        ck_assert_int_eq(strata_db_close(db), STRATA_OK);
        tu_rmrf(dir);
        free(path);
        free(dir);
    }
}
END_TEST

/* Many keys through a small cap: the table drops its front and rebuilds
 * its hash many times; exactly the newest max_keys stay. */
START_TEST(test_many_keys)
{
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "db");
    strata_options o;
    strata_options_init(&o);
    o.create_if_missing = 1;
    o.sync = STRATA_SYNC_NONE;
    o.idem_max_keys = 100;
    strata_db *db = open_db(path, &o);
    strata_batch *b;
    ck_assert_int_eq(strata_batch_new(db, &b), STRATA_OK);
    enum { N = 3000 };
    for (int round = 0; round < 2; round++) {
        for (uint64_t q = 0; q < N; q++) {
            char key[24];
            snprintf(key, sizeof key, "dev:%llu", (unsigned long long)q);
            TU_CHECK(build_batch(b, key, q, 1, round ? RETRY : 0) == 0, "build");
            TU_CHECK(strata_db_write(db, b) == STRATA_OK, "write %llu", (unsigned long long)q);
            /* round 1 sends everything again: only the newest 100 of round
             * 0 are still known, and each re-sent key evicts one of them */
            TU_CHECK(strata_batch_skipped(b) == 0, "round %d: key %llu skipped", round,
                     (unsigned long long)q);
        }
    }
    strata_stats st;
    ck_assert_int_eq(strata_db_stats(db, &st), STRATA_OK);
    ck_assert_uint_eq(st.idem_keys, 100);
    for (uint64_t q = 0; q < N; q++) {
        char key[24];
        snprintf(key, sizeof key, "dev:%llu", (unsigned long long)q);
        ck_assert_int_eq(build_batch(b, key, q, 1, 2 * RETRY), 0);
        ck_assert_int_eq(strata_batch_set_key(b, key, strlen(key)), STRATA_OK);
        if (q < N - 100)
            continue;
        ck_assert_int_eq(strata_db_write(db, b), STRATA_OK);
        TU_CHECK(strata_batch_skipped(b) == 1, "key %llu not remembered", (unsigned long long)q);
    }
    strata_batch_free(b);
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    tu_rmrf(dir);
    free(path);
    free(dir);
}
END_TEST

/* The key table under allocation failure: an add that fails changes
 * nothing; persisting and loading fail cleanly. */
START_TEST(test_table_alloc_failure)
{
    char *dir = tu_tmpdir();
    char *kpath = tu_path(dir, "keys");
    for (long fail = 1; fail < 80; fail++) {
        idem *t = idem_new(0, 0);
        ck_assert_ptr_nonnull(t);
        int ok = 1;
        st_alloc_fail_at(fail);
        for (int i = 0; i < 600 && ok; i++) {
            char key[16];
            snprintf(key, sizeof key, "k%d", i);
            uint64_t before = idem_count(t, 1), lsn;
            int rc = idem_add(t, (const uint8_t *)key, strlen(key), 1, (uint64_t)i + 1, 1);
            if (rc != STRATA_OK) {
                TU_CHECK(rc == STRATA_NOMEM, "add: %d", rc);
                TU_CHECK(idem_count(t, 1) == before, "a failed add changed the count");
                TU_CHECK(!idem_seen(t, (const uint8_t *)key, strlen(key), 1, &lsn),
                         "a failed add left its key");
                ok = 0;
            }
        }
        if (ok) {
            int rc = idem_persist(t, dir, kpath, 1000, 1);
            if (rc == STRATA_OK) {
                idem *u = idem_new(0, 0);
                rc = u ? idem_load(u, kpath, 1) : STRATA_NOMEM;
                TU_CHECK(rc == STRATA_OK || rc == STRATA_NOMEM, "load: %d", rc);
                if (rc == STRATA_OK)
                    TU_CHECK(idem_count(u, 1) == 600, "loaded %llu",
                             (unsigned long long)idem_count(u, 1));
                idem_free(u);
            } else {
                TU_CHECK(rc == STRATA_NOMEM, "persist: %d", rc);
            }
        }
        st_alloc_fail_at(0);
        idem_free(t);
        unlink(kpath);
    }
    tu_rmrf(dir);
    free(kpath);
    free(dir);
}
END_TEST

/* A log holding WRITE records (no key) and WRITE_KEYED records replays
 * both after a crash. */
START_TEST(test_mixed_records_replay)
{
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "db");
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = tu_fork();
    if (pid == 0) {
        close(fds[0]);
        strata_options o;
        strata_options_init(&o);
        o.create_if_missing = 1;
        o.sync = STRATA_SYNC_ALWAYS;
        strata_db *db;
        strata_batch *b;
        if (strata_db_open(path, &o, &db) != STRATA_OK || strata_batch_new(db, &b) != STRATA_OK)
            _exit(3);
        for (uint64_t q = 0; q < 6; q++) {
            char key[16];
            snprintf(key, sizeof key, "mix:%llu", (unsigned long long)q);
            if (build_batch(b, q % 2 ? key : NULL, q, 10, 0) || strata_db_write(db, b))
                _exit(3);
        }
        char done = 1;
        if (write(fds[1], &done, 1) != 1)
            _exit(4);
        pause();
        _exit(0);
    }
    close(fds[1]);
    char done = 0;
    ck_assert_int_eq(read(fds[0], &done, 1), 1);
    close(fds[0]);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    strata_db *db = open_db(path, NULL);
    strata_stats st;
    ck_assert_int_eq(strata_db_stats(db, &st), STRATA_OK);
    ck_assert_uint_eq(st.replayed_records, 6);
    ck_assert_uint_eq(st.idem_keys, 3);
    for (uint64_t q = 0; q < 6; q++)
        assert_batch(db, q, 10, 0);
    for (uint64_t q = 1; q < 6; q += 2) {
        char key[16];
        snprintf(key, sizeof key, "mix:%llu", (unsigned long long)q);
        ck_assert_int_eq(write_batch(db, key, q, 10, RETRY), 1);
    }
    ck_assert_uint_eq(count_points(db), 60);
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    tu_rmrf(dir);
    free(path);
    free(dir);
}
END_TEST

/* ---- the keys file ------------------------------------------------------------------ */

static char *make_keyed_db(char *dir)
{
    char *path = tu_path(dir, "db");
    strata_db *db = open_db(path, NULL);
    write_batch(db, "dev-7:1", 0, 5, 0);
    write_batch(db, "dev-7:2", 1, 5, 0);
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    return path;
}

/* A log callback counting warnings (ctx: int). */
static void count_log(void *ctx, int level, const char *msg)
{
    (void)msg;
    if (level == STRATA_LOG_WARN)
        (*(int *)ctx)++;
}

/* Every flipped byte and every truncation of idemkeys: the open fails with
 * STRATA_CORRUPT_KEYS naming the file and an offset; verify reports it; a
 * read-only open goes on without the keys, with a warning. */
START_TEST(test_corrupt_keys)
{
    char *dir = tu_tmpdir();
    char *path = make_keyed_db(dir);
    char *kpath = tu_path(path, IDEMF_FILE_NAME);
    size_t len;
    char *orig = tu_read_file(kpath, &len);
    ck_assert_ptr_nonnull(orig);
    ck_assert_uint_eq(len, IDEMF_HEADER_SIZE + 2 * (9 + 7) + IDEMF_TRAILER_SIZE);
    char *bad = malloc(len);
    for (size_t i = 0; i < 2 * len; i++) {
        size_t n = len;
        memcpy(bad, orig, len);
        if (i < len)
            bad[i] ^= 0x20;
        else
            n = i - len; /* truncated to n bytes */
        tu_write_file(kpath, bad, n);
        strata_db *db = NULL;
        int rc = strata_db_open(path, NULL, &db);
        TU_CHECK(rc == STRATA_CORRUPT && db == NULL, "case %zu: open gave %d", i, rc);
        const char *m = strata_errmsg(NULL);
        TU_CHECK(strata_extended_errcode(NULL) == STRATA_CORRUPT_KEYS, "case %zu: code %d", i,
                 strata_extended_errcode(NULL));
        TU_CHECK(strstr(m, kpath) && strstr(m, "offset"), "case %zu: message '%s'", i, m);
        /* a read-only handle opens anyway (the keys only matter to
         * writes), warns, and has the data */
        strata_options ro;
        strata_options_init(&ro);
        ro.read_only = 1;
        ro.log = count_log;
        int warned = 0;
        ro.log_ctx = &warned;
        rc = strata_db_open(path, &ro, &db);
        TU_CHECK(rc == STRATA_OK && warned == 1,
                 "case %zu: read-only open gave %d (%s), %d warning(s)", i, rc,
                 strata_errmsg(NULL), warned);
        strata_stats st;
        TU_CHECK(strata_db_stats(db, &st) == STRATA_OK && st.idem_keys == 0 && st.series > 0 &&
                     st.segments + st.head_points > 0,
                 "case %zu: %llu keys, %llu series", i, (unsigned long long)st.idem_keys,
                 (unsigned long long)st.series);
        strata_db_close(db);
        int problems = 0;
        uint64_t np;
        TU_CHECK(strata_verify(path, count_report, &problems, &np) == STRATA_OK && np == 1 &&
                     problems == 1,
                 "case %zu: verify found %d", i, problems);
    }
    /* restored, it opens and still knows both keys */
    tu_write_file(kpath, orig, len);
    strata_db *db = open_db(path, NULL);
    ck_assert_int_eq(write_batch(db, "dev-7:2", 1, 5, RETRY), 1);
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    free(bad);
    free(orig);
    free(kpath);
    tu_rmrf(dir);
    free(path);
    free(dir);
}
END_TEST

/* Keys are opaque bytes up to 255; longer is misuse; empty batches
 * register nothing. */
START_TEST(test_key_limits)
{
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "db");
    strata_db *db = open_db(path, NULL);
    strata_batch *b;
    ck_assert_int_eq(strata_batch_new(db, &b), STRATA_OK);
    uint8_t key[STRATA_MAX_BATCH_KEY + 1];
    for (size_t i = 0; i < sizeof key; i++)
        key[i] = (uint8_t)(i * 7); /* NUL and high bytes included */
    ck_assert_int_eq(strata_batch_set_key(b, key, sizeof key), STRATA_MISUSE);
    ck_assert_int_eq(strata_batch_set_key(b, key, STRATA_MAX_BATCH_KEY), STRATA_OK);
    ck_assert_int_eq(strata_db_write(db, b), STRATA_OK); /* no values */
    ck_assert_int_eq(strata_batch_skipped(b), 0);
    strata_stats st;
    ck_assert_int_eq(strata_db_stats(db, &st), STRATA_OK);
    ck_assert_uint_eq(st.idem_keys, 0);
    ck_assert_int_eq(strata_batch_point(b, "m", BASE_NS), STRATA_OK);
    ck_assert_int_eq(strata_batch_i64(b, "v", 1), STRATA_OK);
    ck_assert_int_eq(strata_db_write(db, b), STRATA_OK);
    ck_assert_int_eq(strata_batch_skipped(b), 0);
    ck_assert_int_eq(strata_db_write(db, b), STRATA_OK);
    ck_assert_int_eq(strata_batch_skipped(b), 1);
    /* clear forgets the key */
    strata_batch_clear(b);
    ck_assert_int_eq(strata_batch_point(b, "m", BASE_NS), STRATA_OK);
    ck_assert_int_eq(strata_batch_i64(b, "v", 2), STRATA_OK);
    ck_assert_int_eq(strata_db_write(db, b), STRATA_OK);
    ck_assert_int_eq(strata_batch_skipped(b), 0);
    strata_batch_free(b);
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    db = open_db(path, NULL); /* the 255-byte key survives */
    ck_assert_int_eq(strata_batch_new(db, &b), STRATA_OK);
    ck_assert_int_eq(strata_batch_set_key(b, key, STRATA_MAX_BATCH_KEY), STRATA_OK);
    ck_assert_int_eq(strata_batch_point(b, "m", BASE_NS), STRATA_OK);
    ck_assert_int_eq(strata_batch_i64(b, "v", 3), STRATA_OK);
    ck_assert_int_eq(strata_db_write(db, b), STRATA_OK);
    ck_assert_int_eq(strata_batch_skipped(b), 1);
    strata_batch_free(b);
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    tu_rmrf(dir);
    free(path);
    free(dir);
}
END_TEST

/* ---- the CLI -------------------------------------------------------------------- */

static int ingest(const char *db, const char *input, const char *const *extra, char **out,
                  char **err)
{
    const char *args[16] = {"ingest", db};
    int n = 2;
    for (; extra && *extra; extra++)
        args[n++] = *extra;
    args[n++] = "-";
    args[n] = NULL;
    return tu_cli(args, input, out, err);
}

START_TEST(test_cli_batch_headers)
{
    char *dir = tu_tmpdir();
    char *db = tu_path(dir, "db");
    const char *first = "# the first upload\n"
                        "# batch truck-1:41\n"
                        "m,device=d0 v=1i 1704067200000000000\n"
                        "m,device=d0 v=2i 1704067201000000000\n"
                        "# batches are per device (a plain comment)\n"
                        "# batch truck-1:42\n"
                        "m,device=d0 v=3i 1704067202000000000\n";
    char *err = NULL;
    int rc = ingest(db, first, NULL, NULL, &err);
    ck_assert_msg(rc == 0, "%s", err);
    ck_assert_ptr_nonnull(strstr(err, "2 keyed batch(es): 0 skipped"));
    free(err);
    char *before = dump(db);
    ck_assert_uint_eq(count_lines(before), 3);

    /* the retransmission: the same keys with other values, and one new
     * batch; --batch 1 must not split keyed batches */
    const char *again = "# batch truck-1:41\n"
                        "m,device=d0 v=10i 1704067200000000000\n"
                        "m,device=d0 v=20i 1704067201000000000\n"
                        "# batch truck-1:42\n"
                        "m,device=d0 v=30i 1704067202000000000\n"
                        "# batch truck-1:43\n"
                        "m,device=d0 v=4i 1704067203000000000\n"
                        "m,device=d0 v=5i 1704067204000000000\n";
    const char *batch1[] = {"--batch", "1", NULL};
    rc = ingest(db, again, batch1, NULL, &err);
    ck_assert_msg(rc == 0, "%s", err);
    ck_assert_msg(strstr(err, "ingested 2 points") != NULL, "%s", err);
    ck_assert_msg(strstr(err, "3 keyed batch(es): 2 skipped as already applied (3 points") != NULL,
                  "%s", err);
    free(err);
    char *after = dump(db);
    ck_assert_str_eq(after, "m,device=d0 v=1i 1704067200000000000\n"
                            "m,device=d0 v=2i 1704067201000000000\n"
                            "m,device=d0 v=3i 1704067202000000000\n"
                            "m,device=d0 v=4i 1704067203000000000\n"
                            "m,device=d0 v=5i 1704067204000000000\n");

    /* --batch-key for an input without headers */
    const char *whole = "m,device=d1 v=7i 1704067200000000000\n";
    const char *bk[] = {"--batch-key", "upload-9", NULL};
    ck_assert_int_eq(ingest(db, whole, bk, NULL, NULL), 0);
    rc = ingest(db, "m,device=d1 v=8i 1704067200000000000\n", bk, NULL, &err);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_nonnull(strstr(err, "1 keyed batch(es): 1 skipped"));
    free(err);
    /* a header without a key is a bad line */
    rc = ingest(db, "# batch   \nm,device=d2 v=1i 1704067200000000000\n", NULL, NULL, &err);
    ck_assert_int_eq(rc, 1);
    ck_assert_msg(strstr(err, "<stdin>:1:11: a batch header needs a key") != NULL, "%s", err);
    free(err);
    free(before);
    free(after);
    tu_rmrf(dir);
    free(db);
    free(dir);
}
END_TEST

/* ---- late data ------------------------------------------------------------------------ */

static void query_count_sum(strata_db *db, int64_t from, int64_t to, int64_t *count, int64_t *sum)
{
    char text[256];
    snprintf(text, sizeof text, "SELECT count(v), sum(v) FROM m WHERE time >= %lld AND time < %lld",
             (long long)from, (long long)to);
    strata_query *q;
    ck_assert_msg(strata_query_prepare(db, text, &q) == STRATA_OK, "%s", strata_errmsg(db));
    ck_assert_int_eq(strata_query_step(q), STRATA_ROW);
    int n = strata_query_column_count(q);
    *count = strata_query_column_i64(q, n - 2);
    *sum = strata_query_column_type(q, n - 1) == STRATA_COL_F64
               ? (int64_t)strata_query_column_f64(q, n - 1)
               : strata_query_column_i64(q, n - 1);
    ck_assert_int_eq(strata_query_step(q), STRATA_DONE);
    strata_query_finalize(q);
}

/* Points for a partition already on disk: stored and read correctly at
 * once (iterator and query), after their own flush, and after a restart. */
START_TEST(test_late_into_flushed_partition)
{
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "db");
    strata_db *db = open_db(path, NULL);
    const int64_t DAY = 86400 * SEC;
    /* day 0: 100 points on d0 at minute j, v = j; day 1: 10 points */
    strata_batch *b;
    ck_assert_int_eq(strata_batch_new(db, &b), STRATA_OK);
    for (int j = 0; j < 100; j++) {
        strata_batch_point(b, "m", BASE_NS + j * 60 * SEC);
        strata_batch_tag(b, "device", "d0");
        strata_batch_i64(b, "v", j);
    }
    for (int j = 0; j < 10; j++) {
        strata_batch_point(b, "m", BASE_NS + DAY + j * 60 * SEC);
        strata_batch_tag(b, "device", "d0");
        strata_batch_i64(b, "v", 1000 + j);
    }
    ck_assert_int_eq(strata_db_write(db, b), STRATA_OK);
    ck_assert_int_eq(strata_db_flush(db), STRATA_OK);
    strata_stats st;
    ck_assert_int_eq(strata_db_stats(db, &st), STRATA_OK);
    ck_assert_uint_eq(st.segments, 2);
    /* late: rewrite minutes 10..19 (v = 500 + j) and add half-minutes */
    strata_batch_clear(b);
    for (int j = 10; j < 20; j++) {
        strata_batch_point(b, "m", BASE_NS + j * 60 * SEC);
        strata_batch_tag(b, "device", "d0");
        strata_batch_i64(b, "v", 500 + j);
        strata_batch_point(b, "m", BASE_NS + j * 60 * SEC + 30 * SEC);
        strata_batch_tag(b, "device", "d0");
        strata_batch_i64(b, "v", 700 + j);
    }
    ck_assert_int_eq(strata_db_write(db, b), STRATA_OK);
    strata_batch_free(b);
    /* expected over day 0: 110 points; sum = sum(0..99) + 10*500 + sum(700+j) */
    int64_t want_sum = 4950 + 10 * 500 + (7000 + 145);
    for (int round = 0; round < 3; round++) {
        int found;
        ck_assert_int_eq(value_at(db, 0, BASE_NS + 15 * 60 * SEC, &found), 515);
        ck_assert(found);
        ck_assert_int_eq(value_at(db, 0, BASE_NS + 15 * 60 * SEC + 30 * SEC, &found), 715);
        ck_assert_int_eq(value_at(db, 0, BASE_NS + 25 * 60 * SEC, &found), 25);
        ck_assert_uint_eq(count_points(db), 120);
        int64_t c, s;
        query_count_sum(db, BASE_NS, BASE_NS + DAY, &c, &s);
        ck_assert_int_eq(c, 110);
        ck_assert_int_eq(s, want_sum);
        query_count_sum(db, BASE_NS + 10 * 60 * SEC, BASE_NS + 20 * 60 * SEC, &c, &s);
        ck_assert_int_eq(c, 20);
        if (round == 0) {
            ck_assert_int_eq(strata_db_flush(db), STRATA_OK);
        } else if (round == 1) {
            ck_assert_int_eq(strata_db_close(db), STRATA_OK);
            db = open_db(path, NULL);
        }
    }
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    tu_rmrf(dir);
    free(path);
    free(dir);
}
END_TEST

/* max_lateness_ns: a point older than the frontier (stored, or earlier in
 * the same batch) by more than the limit is refused; the rest is stored. */
START_TEST(test_max_lateness_api)
{
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "db");
    strata_options o;
    strata_options_init(&o);
    o.create_if_missing = 1;
    o.max_lateness_ns = 3600 * SEC;
    strata_db *db = open_db(path, &o);
    const int64_t T = BASE_NS + 10 * 3600 * SEC, M = 60 * SEC;
    strata_batch *b;
    ck_assert_int_eq(strata_batch_new(db, &b), STRATA_OK);
    /* an empty database has no frontier: anything goes */
    ck_assert_int_eq(strata_batch_point(b, "m", T), STRATA_OK);
    ck_assert_int_eq(strata_batch_i64(b, "v", 1), STRATA_OK);
    ck_assert_int_eq(strata_db_write(db, b), STRATA_OK);
    strata_batch_clear(b);

    struct {
        int64_t ts;
        int ok;
    } pts[] = {
        {T - 30 * M, 1}, {T - 60 * M, 1}, /* exactly the limit: accepted */
        {T - 61 * M, 0}, {T + 60 * M, 1}, /* the frontier moves to T+60m */
        {T - 1 * M, 0},  {T + 1 * M, 1},  {T - 200 * M, 0},
    };
    strata_lp_error e;
    size_t nok = 0;
    for (size_t i = 0; i < sizeof pts / sizeof pts[0]; i++) {
        int rc;
        if (i % 2 == 0) {
            rc = strata_batch_point(b, "m", pts[i].ts);
            if (rc == STRATA_OK)
                rc = strata_batch_i64(b, "v", (int64_t)i);
        } else {
            char line[96];
            int pre = snprintf(line, sizeof line, "m v=%zui ", i);
            snprintf(line + pre, sizeof line - (size_t)pre, "%lld", (long long)pts[i].ts);
            rc = strata_batch_add_lp(b, line, strlen(line), STRATA_PRECISION_NS, 0, &e);
            if (!pts[i].ok)
                ck_assert_uint_eq(e.column, (unsigned)pre + 1);
        }
        if (pts[i].ok) {
            ck_assert_msg(rc == STRATA_OK, "point %zu: %s", i, strata_errmsg(db));
            nok++;
        } else {
            ck_assert_int_eq(rc, STRATA_ERROR);
            ck_assert_int_eq(strata_extended_errcode(db), STRATA_ERROR_LATE);
            ck_assert_ptr_nonnull(strstr(strata_errmsg(db), "maximum lateness is 1h"));
        }
    }
    ck_assert_uint_eq(strata_batch_points(b), nok);
    ck_assert_int_eq(strata_db_write(db, b), STRATA_OK);
    strata_stats st;
    ck_assert_int_eq(strata_db_stats(db, &st), STRATA_OK);
    ck_assert_uint_eq(st.late_rejected, 3);
    ck_assert_uint_eq(count_points(db), 1 + nok);

    /* checked again at write time: another write moved the frontier */
    strata_batch *b2;
    ck_assert_int_eq(strata_batch_new(db, &b2), STRATA_OK);
    strata_batch_clear(b);
    ck_assert_int_eq(strata_batch_point(b, "m", T + 10 * M), STRATA_OK); /* 50 m late: ok */
    ck_assert_int_eq(strata_batch_i64(b, "v", 99), STRATA_OK);
    ck_assert_int_eq(strata_batch_point(b2, "m", T + 120 * M), STRATA_OK);
    ck_assert_int_eq(strata_batch_i64(b2, "v", 98), STRATA_OK);
    ck_assert_int_eq(strata_db_write(db, b2), STRATA_OK);
    ck_assert_int_eq(strata_db_write(db, b), STRATA_ERROR);
    ck_assert_int_eq(strata_extended_errcode(db), STRATA_ERROR_LATE);
    ck_assert_ptr_nonnull(strstr(strata_errmsg(db), "series 'm v'"));
    ck_assert_uint_eq(count_points(db), 2 + nok);
    strata_batch_free(b2);
    strata_batch_free(b);
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    /* the frontier survives a restart (it comes from the segments) */
    db = open_db(path, &o);
    ck_assert_int_eq(strata_batch_new(db, &b), STRATA_OK);
    ck_assert_int_eq(strata_batch_point(b, "m", T + 120 * M - 61 * M), STRATA_ERROR);
    ck_assert_int_eq(strata_batch_point(b, "m", T + 120 * M - 59 * M), STRATA_OK);
    strata_batch_free(b);
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    tu_rmrf(dir);
    free(path);
    free(dir);
}
END_TEST

START_TEST(test_max_lateness_cli)
{
    char *dir = tu_tmpdir();
    char *db = tu_path(dir, "db");
    ck_assert_int_eq(ingest(db, "m v=1i 36000000000000\n", NULL, NULL, NULL), 0); /* 10 h */
    const char *input = "m v=2i 34200000000000\n"  /* 9.5 h: 30 m late */
                        "m v=3i 32000000000000\n"  /* 1 h 6 m 40 s late */
                        "m v=4i 39600000000000\n"  /* 11 h */
                        "m v=5i 35000000000000\n"; /* 1 h 16 m 40 s late */
    const char *lim[] = {"--max-lateness", "1h", NULL};
    char *err = NULL;
    int rc = ingest(db, input, lim, NULL, &err);
    ck_assert_int_eq(rc, 1);
    ck_assert_msg(strstr(err, "<stdin>:2:8: timestamp 1970-01-01T08:53:20Z is 1h6m40s older than "
                              "the newest point (1970-01-01T10:00:00Z); the maximum lateness is "
                              "1h") != NULL,
                  "%s", err);
    ck_assert_msg(strstr(err, "<stdin>:4:8: timestamp") != NULL, "%s", err);
    ck_assert_msg(strstr(err, "ingested 2 points") != NULL, "%s", err);
    free(err);
    char *d = dump(db);
    ck_assert_str_eq(d, "m v=2i 34200000000000\nm v=1i 36000000000000\nm v=4i 39600000000000\n");
    free(d);
    /* --strict: the batch holding a late line is refused whole */
    const char *strict[] = {"--max-lateness", "1h", "--strict", NULL};
    rc = ingest(db, "m v=6i 39000000000000\nm v=7i 1000000000\n", strict, NULL, &err);
    ck_assert_int_eq(rc, 1);
    ck_assert_msg(strstr(err, "<stdin>:2:8:") != NULL, "%s", err);
    free(err);
    d = dump(db);
    ck_assert_str_eq(d, "m v=2i 34200000000000\nm v=1i 36000000000000\nm v=4i 39600000000000\n");
    free(d);
    const char *badlim[] = {"--max-lateness", "soon", NULL};
    ck_assert_int_eq(ingest(db, "", badlim, NULL, NULL), 2);
    tu_rmrf(dir);
    free(db);
    free(dir);
}
END_TEST

/* ---- golden bytes (FORMAT.md §3.7, §3.8) --------------------------------------- */

/* One line per field, as in FORMAT.md's dumps: keep clang-format away. */
/* clang-format off */
static const uint8_t golden_wal_keyed[] = {
    0x53, 0x54, 0x52, 0x41, 0x54, 0x41, 0x57, 0x4c,
    0x01, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xa3, 0x8c, 0xa3, 0xba, 0x65, 0xce, 0xdc, 0xfe,
    0x3b, 0x00, 0x00, 0x00,
    0x02,
    0x00,
    0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0xb8, 0xc9, 0xda, 0x5c, 0x10, 0xa6, 0x17,
    0x05,
    0x74, 0x31, 0x3a, 0x34, 0x32,
    0x01,
    0x00,
    0x03,
    0x0d,
    0x65, 0x6e, 0x76, 0x2c, 0x64, 0x65, 0x76, 0x69, 0x63, 0x65,
    0x3d, 0x74, 0x31,
    0x01,
    0x00,
    0x00,
    0x01,
    0x04,
    0x74, 0x65, 0x6d, 0x70,
    0x01,
    0x00,
    0x80, 0xb8, 0xf7, 0xf2, 0x93, 0x97, 0x88, 0xa6, 0x2f,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x35, 0x40,
    0x6c, 0xb6, 0xc6, 0xc9, 0x7a, 0x88, 0x88, 0xe4,
};

static const uint8_t golden_idemkeys[] = {
    0x53, 0x54, 0x52, 0x41, 0x54, 0x41, 0x49, 0x4b,
    0x01, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00,
    0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x0b, 0xb0, 0x07, 0xd8, 0x31, 0xef, 0x54, 0x7a,
    0x00, 0xb8, 0xc9, 0xda, 0x5c, 0x10, 0xa6, 0x17,
    0x05,
    0x74, 0x31, 0x3a, 0x34, 0x32,
    0x66, 0x7c, 0x09, 0x16, 0x84, 0x40, 0x2b, 0x06,
};
/* clang-format on */

static int64_t golden_clock(void)
{
    return BASE_NS + 300 * SEC; /* P+300 s */
}

static void assert_bytes(const uint8_t *got, size_t n, const uint8_t *want, size_t wn,
                         const char *what)
{
    size_t i = 0;
    while (i < n && i < wn && got[i] == want[i])
        i++;
    ck_assert_msg(n == wn && i == n, "%s: differs at offset %zu (0x%zx): %zu bytes, want %zu", what,
                  i, i, n, wn);
}

/* The bytes of the dump after "<!-- golden:NAME -->" in FORMAT.md (the
 * format check_format.c reads: "OFFSET  hh hh ... annotation" lines,
 * "--" headings). */
static uint8_t *doc_dump(const char *doc, const char *name, size_t *len)
{
    char marker[64];
    snprintf(marker, sizeof marker, "<!-- golden:%s -->\n```\n", name);
    const char *p = strstr(doc, marker);
    ck_assert_msg(p != NULL, "FORMAT.md has no dump '%s'", name);
    p += strlen(marker);
    const char *end = strstr(p, "```");
    ck_assert_ptr_nonnull(end);
    uint8_t *out = malloc((size_t)(end - p));
    size_t n = 0;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        if (strncmp(p, "--", 2) != 0) {
            unsigned off;
            int used;
            ck_assert_msg(sscanf(p, "%4x%n", &off, &used) == 1 && used == 4 && off == n,
                          "FORMAT.md dump '%s': bad line '%.*s'", name, (int)(eol - p), p);
            const char *q = p + 4;
            for (;;) {
                while (q < eol && *q == ' ')
                    q++;
                unsigned byte;
                int w = 0;
                if (eol - q < 2 || sscanf(q, "%2x%n", &byte, &w) != 1 || w != 2 ||
                    (q + 2 < eol && q[2] != ' '))
                    break;
                out[n++] = (uint8_t)byte;
                q += 2;
            }
        }
        p = eol + 1;
    }
    *len = n;
    return out;
}

/* The worked examples of FORMAT.md §3.7 and §3.8, written through the
 * public API, equal the golden bytes and the dumps in FORMAT.md. */
START_TEST(test_golden)
{
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "db");
    idem_set_clock(golden_clock);
    strata_options o;
    strata_options_init(&o);
    o.create_if_missing = 1;
    o.sync = STRATA_SYNC_ALWAYS;
    strata_db *db = open_db(path, &o);
    strata_batch *b;
    ck_assert_int_eq(strata_batch_new(db, &b), STRATA_OK);
    ck_assert_int_eq(strata_batch_set_key(b, "t1:42", 5), STRATA_OK);
    ck_assert_int_eq(strata_batch_point(b, "env", BASE_NS + 299 * SEC), STRATA_OK);
    ck_assert_int_eq(strata_batch_tag(b, "device", "t1"), STRATA_OK);
    ck_assert_int_eq(strata_batch_f64(b, "temp", 21.5), STRATA_OK);
    ck_assert_int_eq(strata_db_write(db, b), STRATA_OK);
    char *wpath = tu_path(path, "wal/0000000000000001.wal");
    size_t n;
    char *got = tu_read_file(wpath, &n);
    ck_assert_ptr_nonnull(got);
    assert_bytes((const uint8_t *)got, n, golden_wal_keyed, sizeof golden_wal_keyed,
                 "wal/0000000000000001.wal");
    free(got);
    strata_batch_free(b);
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    char *kpath = tu_path(path, IDEMF_FILE_NAME);
    got = tu_read_file(kpath, &n);
    ck_assert_ptr_nonnull(got);
    assert_bytes((const uint8_t *)got, n, golden_idemkeys, sizeof golden_idemkeys, "idemkeys");
    free(got);
    idem_set_clock(NULL);

    const char *src = getenv("STRATA_SRC");
    char fpath[4096];
    snprintf(fpath, sizeof fpath, "%s%sFORMAT.md", src ? src : "", src ? "/" : "");
    char *doc = tu_read_file(fpath, NULL);
    ck_assert_msg(doc != NULL, "cannot read %s (run from the source tree or set STRATA_SRC)",
                  fpath);
    uint8_t *d = doc_dump(doc, "wal_keyed", &n);
    assert_bytes(d, n, golden_wal_keyed, sizeof golden_wal_keyed, "FORMAT.md dump 'wal_keyed'");
    free(d);
    d = doc_dump(doc, "idemkeys", &n);
    assert_bytes(d, n, golden_idemkeys, sizeof golden_idemkeys, "FORMAT.md dump 'idemkeys'");
    free(d);
    free(doc);
    free(kpath);
    free(wpath);
    tu_rmrf(dir);
    free(path);
    free(dir);
}
END_TEST

Suite *idem_suite(void); /* found by run_tests.c */

Suite *idem_suite(void)
{
    Suite *s = suite_create("idem");
    TCase *tc = tcase_create("keys");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_retransmit_skipped);
    tcase_add_test(tc, test_dump_identical);
    tcase_add_test(tc, test_window_and_cap);
    tcase_add_test(tc, test_two_threads);
    tcase_add_test(tc, test_crash);
    tcase_add_test(tc, test_mixed_records_replay);
    tcase_add_test(tc, test_many_keys);
    tcase_add_test(tc, test_table_alloc_failure);
    tcase_add_test(tc, test_corrupt_keys);
    tcase_add_test(tc, test_key_limits);
    tcase_add_test(tc, test_cli_batch_headers);
    tcase_add_test(tc, test_golden);
    suite_add_tcase(s, tc);
    tc = tcase_create("late");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_late_into_flushed_partition);
    tcase_add_test(tc, test_max_lateness_api);
    tcase_add_test(tc, test_max_lateness_cli);
    suite_add_tcase(s, tc);
    return s;
}
