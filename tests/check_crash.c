/*
 * check_crash.c — durability under kill -9, and torn log records.
 *
 * A forked writer (the C API, no exec) writes numbered batches forever and
 * reports each one to the parent through a pipe once strata_db_write()
 * has returned STRATA_OK.  The parent kills it with SIGKILL at a random
 * moment — during open and the first writes, or after tens to hundreds of
 * batches, when a 1 MiB head budget has made the flush thread write
 * segments — and then recovers the database three times: once in a child
 * that dies right after opening (a crash after recovery), then twice in
 * the parent with clean closes; finally strata_verify() must find nothing.
 * Every recovery must hold every acknowledged batch with the exact values,
 * the batch that was in flight entirely or not at all, and nothing else.
 *
 * The data is a pure function of (writer, batch, point): point j of batch
 * q of writer w is at BASE + (q * P + j) seconds, tags dev=d<(7q + j) mod
 * ndev> and w=<w>, fields f (float64), i (int64), b (bool) from a hash,
 * so any value read back says which batch wrote it and what it must be.
 *
 * Torn records: a writer writes N batches (sync=always) and dies without
 * closing; for every length from the start to the end of the last record
 * of its log file, a copy of the database with the log cut to that length
 * must open with exactly the first N-1 batches (the N-th too when nothing
 * was cut), report the cut bytes in wal_torn_bytes and through the log
 * callback, and open cleanly a second time.
 *
 * STRATA_CRASH_SEED=n reruns one iteration's seed.
 */
#define _GNU_SOURCE
#include "strata.h"
#include "tests/testutil.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#define BASE_NS INT64_C(1700000000000000000) /* 2023-11-14T22:13:20Z */
#define STEP_NS INT64_C(1000000000)          /* one point per second */
#define FIELDS 3                             /* f, i, b */
#define ITERATIONS 24
#define ACK_TIMEOUT_MS 120000
#define ACK_ERROR UINT64_MAX

typedef struct layout {
    int writers;
    uint32_t points; /* per batch */
    uint32_t ndev;
} layout;

static uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static int64_t point_ts(const layout *lo, uint64_t q, uint32_t j)
{
    return BASE_NS + (int64_t)(q * lo->points + j) * STEP_NS;
}

static uint32_t point_dev(const layout *lo, uint64_t q, uint32_t j)
{
    return (uint32_t)((q * 7 + j) % lo->ndev);
}

/* The value of field 'f', 'i' or 'b' of point j of batch q of writer w,
 * as the raw 64 bits the iterator returns. */
static uint64_t point_bits(int w, uint64_t q, uint32_t j, char field)
{
    uint64_t h = mix((uint64_t)w << 56 ^ q << 20 ^ j ^ (uint64_t)(unsigned char)field << 48);
    if (field == 'f') {
        double d = (double)(int64_t)(h >> 11) * 0x1p-20 * ((h & 1) ? -1 : 1);
        uint64_t u;
        memcpy(&u, &d, sizeof u);
        return u;
    }
    if (field == 'i')
        return h;
    return h & 1;
}

/* ---- the writer (child side: no check assertions here) ------------------ */

typedef struct writer_arg {
    strata_db *db;
    const layout *lo;
    int w, ack_fd;
    uint64_t limit;
} writer_arg;

static void writer_fail(strata_db *db, int ack_fd, const char *what)
{
    fprintf(stderr, "crash writer: %s: %s\n", what, strata_errmsg(db));
    uint64_t e = ACK_ERROR;
    if (write(ack_fd, &e, sizeof e) < 0)
        _exit(4);
    _exit(3);
}

static void *writer_loop(void *p)
{
    writer_arg *a = p;
    strata_batch *b;
    if (strata_batch_new(a->db, &b) != STRATA_OK)
        writer_fail(a->db, a->ack_fd, "strata_batch_new");
    char wtag[16], dtag[16];
    snprintf(wtag, sizeof wtag, "%d", a->w);
    for (uint64_t q = 0; q < a->limit; q++) {
        strata_batch_clear(b);
        for (uint32_t j = 0; j < a->lo->points; j++) {
            double f;
            uint64_t fb = point_bits(a->w, q, j, 'f');
            memcpy(&f, &fb, sizeof f);
            snprintf(dtag, sizeof dtag, "d%u", point_dev(a->lo, q, j));
            if (strata_batch_point(b, "crash", point_ts(a->lo, q, j)) != STRATA_OK ||
                strata_batch_tag(b, "dev", dtag) != STRATA_OK ||
                strata_batch_tag(b, "w", wtag) != STRATA_OK ||
                strata_batch_f64(b, "f", f) != STRATA_OK ||
                strata_batch_i64(b, "i", (int64_t)point_bits(a->w, q, j, 'i')) != STRATA_OK ||
                strata_batch_bool(b, "b", (int)point_bits(a->w, q, j, 'b')) != STRATA_OK)
                writer_fail(a->db, a->ack_fd, "building a batch");
        }
        if (strata_db_write(a->db, b) != STRATA_OK)
            writer_fail(a->db, a->ack_fd, "strata_db_write");
        uint64_t ack = (uint64_t)a->w << 32 | q;
        if (write(a->ack_fd, &ack, sizeof ack) != sizeof ack)
            _exit(5);
    }
    strata_batch_free(b);
    return NULL;
}

/* In a fresh child: open path and run `writers` writer threads, each
 * writing `limit` batches; then _exit(0) without closing the database. */
static void writer_child(const char *path, strata_sync sync, const layout *lo, uint64_t limit,
                         int ack_fd)
{
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a failed test */
#endif
    strata_options o;
    strata_options_init(&o);
    o.sync = sync;
    o.create_if_missing = 1;
    o.head_budget_bytes = 1u << 20;
    strata_db *db;
    if (strata_db_open(path, &o, &db) != STRATA_OK)
        writer_fail(NULL, ack_fd, "strata_db_open");
    writer_arg args[2];
    pthread_t th[2];
    for (int w = 0; w < lo->writers; w++) {
        args[w] = (writer_arg){db, lo, w, ack_fd, limit};
        if (lo->writers == 1)
            writer_loop(&args[w]);
        else if (pthread_create(&th[w], NULL, writer_loop, &args[w]) != 0)
            _exit(6);
    }
    for (int w = 0; w < lo->writers && lo->writers > 1; w++)
        pthread_join(th[w], NULL);
    _exit(0);
}

/* ---- checking a database (usable in children: returns a message) ------ */

typedef struct outcome {
    uint64_t inflight_present[2]; /* the unacknowledged batch was stored */
    uint64_t series, values;
} outcome;

/* acked[w]: batches 0..acked[w]-1 of writer w were acknowledged; batch
 * acked[w] may have been in flight.  0 when everything is as it must be,
 * else -1 and msg says what is not. */
static int check_db(strata_db *db, const layout *lo, const uint64_t *acked, outcome *oc, char *msg,
                    size_t cap)
{
    memset(oc, 0, sizeof *oc);
    uint64_t *count[2] = {NULL, NULL};
    int rc = -1;
    int64_t *ts = malloc(1024 * sizeof *ts);
    strata_value *v = malloc(1024 * sizeof *v);
    for (int w = 0; w < lo->writers; w++)
        count[w] = calloc(acked[w] + 1, sizeof *count[w]);
    uint64_t n;
    if (strata_series_count(db, &n) != STRATA_OK) {
        snprintf(msg, cap, "strata_series_count: %s", strata_errmsg(db));
        goto out;
    }
    oc->series = n;
    for (uint64_t id = 0; id < n; id++) {
        strata_series s;
        if (strata_series_get(db, id, &s) != STRATA_OK) {
            snprintf(msg, cap, "strata_series_get(%" PRIu64 "): %s", id, strata_errmsg(db));
            goto out;
        }
        unsigned dev, w;
        int end = 0;
        char field = s.field[0];
        if (sscanf(s.key, "crash,dev=d%u,w=%u %n", &dev, &w, &end) != 2 || !end ||
            (int)w >= lo->writers || dev >= lo->ndev || s.field[1] != 0 ||
            strcmp(s.key + end, s.field) != 0 || !strchr("fib", field) ||
            s.type != (field == 'f'   ? STRATA_F64
                       : field == 'i' ? STRATA_I64
                                      : STRATA_BOOL)) {
            snprintf(msg, cap, "series %" PRIu64 " '%s' (type %d) was never written", id, s.key,
                     (int)s.type);
            goto out;
        }
        strata_iter *it;
        if (strata_iter_open(db, id, INT64_MIN, INT64_MAX, &it) != STRATA_OK) {
            snprintf(msg, cap, "strata_iter_open(%s): %s", s.key, strata_errmsg(db));
            goto out;
        }
        size_t got, points = 0;
        int r;
        while ((r = strata_iter_next_block(it, ts, v, 1024, &got)) == STRATA_ROW) {
            for (size_t k = 0; k < got; k++) {
                int64_t d = ts[k] - BASE_NS;
                uint64_t idx = (uint64_t)(d / STEP_NS), q = idx / lo->points;
                uint32_t j = (uint32_t)(idx % lo->points);
                uint64_t bits = field == 'f'   ? 0
                                : field == 'i' ? (uint64_t)v[k].i64
                                               : (uint64_t)v[k].boolean;
                if (field == 'f')
                    memcpy(&bits, &v[k].f64, sizeof bits);
                if (d < 0 || d % STEP_NS != 0 || q > acked[w] || point_dev(lo, q, j) != dev) {
                    snprintf(msg, cap,
                             "'%s' has a point at %" PRId64
                             " that was never written (batch %" PRIu64 ", %" PRIu64
                             " acknowledged)",
                             s.key, ts[k], q, acked[w]);
                    strata_iter_close(it);
                    goto out;
                }
                if (bits != point_bits((int)w, q, j, field)) {
                    snprintf(msg, cap,
                             "'%s' at %" PRId64 " (batch %" PRIu64 ", point %u): %016" PRIx64
                             ", written %016" PRIx64,
                             s.key, ts[k], q, j, bits, point_bits((int)w, q, j, field));
                    strata_iter_close(it);
                    goto out;
                }
                count[w][q]++;
                points++;
            }
        }
        strata_iter_close(it);
        if (r != STRATA_DONE) {
            snprintf(msg, cap, "reading '%s': %s", s.key, strata_errmsg(db));
            goto out;
        }
        if (points == 0) {
            snprintf(msg, cap, "series '%s' exists but has no points", s.key);
            goto out;
        }
        oc->values += points;
    }
    for (int w = 0; w < lo->writers; w++) {
        uint64_t full = (uint64_t)lo->points * FIELDS;
        for (uint64_t q = 0; q < acked[w]; q++)
            if (count[w][q] != full) {
                snprintf(msg, cap,
                         "writer %d: acknowledged batch %" PRIu64 " has %" PRIu64 " of its %" PRIu64
                         " values",
                         w, q, count[w][q], full);
                goto out;
            }
        if (count[w][acked[w]] != 0 && count[w][acked[w]] != full) {
            snprintf(msg, cap,
                     "writer %d: the batch in flight (%" PRIu64 ") is torn: %" PRIu64 " of %" PRIu64
                     " values",
                     w, acked[w], count[w][acked[w]], full);
            goto out;
        }
        oc->inflight_present[w] = count[w][acked[w]] == full;
    }
    rc = 0;
out:
    for (int w = 0; w < lo->writers; w++)
        free(count[w]);
    free(ts);
    free(v);
    return rc;
}

/* "exit status N" or "signal N", for messages (a static buffer). */
static const char *wait_status(int status)
{
    static char buf[32];
    if (WIFEXITED(status))
        snprintf(buf, sizeof buf, "exit status %d", WEXITSTATUS(status));
    else
        snprintf(buf, sizeof buf, "signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : -1);
    return buf;
}

/* ---- recovery ---------------------------------------------------------------- */

static unsigned torn_warnings;

static void count_torn(void *ctx, int level, const char *message)
{
    (void)ctx;
    if (level == STRATA_LOG_WARN && strstr(message, "torn"))
        torn_warnings++;
}

static strata_options recovery_options(void)
{
    strata_options o;
    strata_options_init(&o);
    o.create_if_missing = 1; /* a kill during creation leaves no MANIFEST */
    o.head_budget_bytes = 1u << 20;
    o.log = count_torn;
    return o;
}

typedef struct child_report {
    int ok;
    outcome oc;
    strata_stats st;
    unsigned torn_warnings;
    char msg[512];
} child_report;

/* Recover in a child that dies right after checking, without closing. */
static child_report recover_and_die(const char *path, const layout *lo, const uint64_t *acked)
{
    int pfd[2];
    ck_assert(pipe(pfd) == 0);
    pid_t pid = tu_fork();
    if (pid == 0) {
        close(pfd[0]);
        child_report r;
        memset(&r, 0, sizeof r);
        strata_options o = recovery_options();
        strata_db *db;
        torn_warnings = 0;
        if (strata_db_open(path, &o, &db) != STRATA_OK) {
            snprintf(r.msg, sizeof r.msg, "open: %s", strata_errmsg(NULL));
        } else {
            strata_db_stats(db, &r.st);
            r.ok = check_db(db, lo, acked, &r.oc, r.msg, sizeof r.msg) == 0;
            r.torn_warnings = torn_warnings;
        }
        _exit(write(pfd[1], &r, sizeof r) == sizeof r ? 0 : 1);
    }
    close(pfd[1]);
    child_report r;
    size_t got = 0;
    while (got < sizeof r) {
        ssize_t k = read(pfd[0], (char *)&r + got, sizeof r - got);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(pfd[0]);
    int status;
    ck_assert(waitpid(pid, &status, 0) == pid);
    ck_assert_msg(got == sizeof r && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "recovering child failed (%s)", wait_status(status));
    return r;
}

static void report_problem(void *ctx, const char *message)
{
    char *buf = ctx;
    size_t n = strlen(buf);
    snprintf(buf + n, 4096 - n, "%s\n", message);
}

static void verify_clean(const char *path, const char *when)
{
    char problems[4096] = "";
    uint64_t n;
    ck_assert_int_eq(strata_verify(path, report_problem, problems, &n), STRATA_OK);
    ck_assert_msg(n == 0, "%s: strata_verify found %" PRIu64 " problem(s):\n%s", when, n, problems);
}

/* Open, check, close (twice); then verify. */
static void recover_in_parent(const char *path, const layout *lo, const uint64_t *acked,
                              const outcome *first, const char *when)
{
    for (int round = 0; round < 2; round++) {
        strata_options o = recovery_options();
        strata_db *db;
        torn_warnings = 0;
        ck_assert_msg(strata_db_open(path, &o, &db) == STRATA_OK, "%s: reopen %d: %s", when,
                      round + 1, strata_errmsg(NULL));
        strata_stats st;
        ck_assert_int_eq(strata_db_stats(db, &st), STRATA_OK);
        ck_assert_msg(st.wal_torn_bytes == 0 && torn_warnings == 0,
                      "%s: reopen %d cut %" PRIu64 " torn bytes again", when, round + 1,
                      st.wal_torn_bytes);
        outcome oc;
        char msg[512];
        ck_assert_msg(check_db(db, lo, acked, &oc, msg, sizeof msg) == 0, "%s: reopen %d: %s", when,
                      round + 1, msg);
        ck_assert_msg(memcmp(&oc, first, sizeof oc) == 0,
                      "%s: reopen %d sees other data than the first recovery (%" PRIu64
                      " values, not %" PRIu64 ")",
                      when, round + 1, oc.values, first->values);
        ck_assert_msg(strata_db_close(db) == STRATA_OK, "%s: close: %s", when, strata_errmsg(NULL));
    }
    verify_clean(path, when);
}

/* ---- kill -9 ------------------------------------------------------------------- */

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Read acknowledgements until `total` have arrived (or EOF when total is
 * UINT64_MAX); acked[w] counts writer w's. */
static void read_acks(int fd, const layout *lo, uint64_t *acked, uint64_t total, const char *when)
{
    int64_t deadline = now_ms() + ACK_TIMEOUT_MS;
    uint64_t sum = 0;
    for (int w = 0; w < lo->writers; w++)
        sum += acked[w];
    while (sum < total) {
        struct pollfd p = {fd, POLLIN, 0};
        int64_t left = deadline - now_ms();
        ck_assert_msg(left > 0, "%s: no acknowledgement for %d s", when, ACK_TIMEOUT_MS / 1000);
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        ck_assert(r >= 0);
        if (r == 0)
            continue;
        uint64_t a[64];
        ssize_t k = read(fd, a, sizeof a);
        if (k == 0)
            break; /* the writer is gone */
        ck_assert_msg(k > 0 && k % 8 == 0, "%s: ack read %zd", when, k);
        for (ssize_t i = 0; i < k / 8; i++) {
            ck_assert_msg(a[i] != ACK_ERROR, "%s: the writer failed (see stderr)", when);
            int w = (int)(a[i] >> 32);
            uint64_t q = a[i] & 0xffffffffu;
            ck_assert_msg(w < lo->writers && q == acked[w],
                          "%s: writer %d acknowledged batch %" PRIu64 " out of order", when, w, q);
            acked[w]++;
            sum++;
        }
    }
}

static int count_segment_files(const char *path)
{
    char *seg = tu_path(path, "seg");
    DIR *d = opendir(seg);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        n += strstr(e->d_name, ".seg") != NULL;
    if (d)
        closedir(d);
    free(seg);
    return n;
}

static void kill_loop(strata_sync sync, int writers, const char *name)
{
    const layout lo = {writers, 256, 16};
    const char *only = getenv("STRATA_CRASH_SEED");
    int with_segments = 0, torn = 0, inflight = 0, early = 0;
    for (int it = 0; it < ITERATIONS; it++) {
        uint64_t seed = only ? strtoull(only, NULL, 0) : (uint64_t)(it + 1) * 1000003u;
        if (only && it > 0)
            break;
        uint64_t rng = seed;
        char when[96];
        /* 0: 0-5 ms after the fork (creating, opening); then after 1-8 (the
         * first writes), 8-120 or 120-400 acknowledged batches (flushes) */
        int mode = (int)(seed % 4);
        char *dir = tu_tmpdir(), *path = tu_path(dir, "db");
        int pfd[2];
        ck_assert(pipe(pfd) == 0);
        pid_t pid = tu_fork();
        if (pid == 0) {
            close(pfd[0]);
            writer_child(path, sync, &lo, UINT32_MAX, pfd[1]);
        }
        close(pfd[1]);
        uint64_t acked[2] = {0, 0};
        if (mode == 0) {
            usleep((useconds_t)(tu_rand(&rng) % 5000));
        } else {
            static const uint64_t lo_acks[] = {0, 1, 8, 120}, hi_acks[] = {0, 8, 120, 400};
            uint64_t target = lo_acks[mode] + tu_rand(&rng) % (hi_acks[mode] - lo_acks[mode]);
            snprintf(when, sizeof when, "%s seed %" PRIu64, name, seed);
            read_acks(pfd[0], &lo, acked, target * (uint64_t)writers, when);
            usleep((useconds_t)(tu_rand(&rng) % 2000));
        }
        kill(pid, SIGKILL);
        int status;
        ck_assert(waitpid(pid, &status, 0) == pid);
        snprintf(when, sizeof when, "%s seed %" PRIu64, name, seed);
        ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                      "%s: the writer ended by itself before the kill (%s; see its stderr)", when,
                      wait_status(status));
        read_acks(pfd[0], &lo, acked, UINT64_MAX, when);
        close(pfd[0]);
        snprintf(when, sizeof when, "%s seed %" PRIu64 " (%" PRIu64 "+%" PRIu64 " acked)", name,
                 seed, acked[0], acked[1]);
        with_segments += count_segment_files(path) > 0;
        early += acked[0] + acked[1] == 0;

        child_report r = recover_and_die(path, &lo, acked);
        ck_assert_msg(r.ok, "%s: first recovery: %s", when, r.msg);
        ck_assert_msg((r.st.wal_torn_bytes > 0) == (r.torn_warnings > 0),
                      "%s: %" PRIu64 " torn bytes cut but %u warnings", when, r.st.wal_torn_bytes,
                      r.torn_warnings);
        torn += r.st.wal_torn_bytes > 0;
        inflight += (int)(r.oc.inflight_present[0] + r.oc.inflight_present[1]);
        recover_in_parent(path, &lo, acked, &r.oc, when);
        tu_rmrf(dir);
        free(path);
        free(dir);
    }
    printf("check_crash: %s: %d kills: %d before any acknowledgement, %d with segment files, "
           "%d torn log tails cut, %d unacknowledged batches found stored\n",
           name, only ? 1 : ITERATIONS, early, with_segments, torn, inflight);
    /* the kills must have hit while flushes were happening, not only before */
    if (!only)
        ck_assert_msg(with_segments > 0, "%s: no kill came after a flush", name);
}

START_TEST(test_kill_sync_always)
{
    kill_loop(STRATA_SYNC_ALWAYS, 1, "sync=always");
}
END_TEST

START_TEST(test_kill_sync_batch_two_writers)
{
    kill_loop(STRATA_SYNC_BATCH, 2, "sync=batch, 2 writers");
}
END_TEST

/* ---- torn records -------------------------------------------------------------- */

static void copy_file(const char *from, const char *to)
{
    size_t n;
    char *data = tu_read_file(from, &n);
    ck_assert_msg(data != NULL, "read %s", from);
    tu_write_file(to, data, n);
    free(data);
}

/* Copy a database directory (files, and the files of its subdirectories). */
static void copy_db(const char *from, const char *to)
{
    ck_assert(mkdir(to, 0755) == 0);
    DIR *d = opendir(from);
    ck_assert(d != NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char *a = tu_path(from, e->d_name), *b = tu_path(to, e->d_name);
        struct stat sb;
        ck_assert(stat(a, &sb) == 0);
        if (S_ISDIR(sb.st_mode))
            copy_db(a, b);
        else
            copy_file(a, b);
        free(a);
        free(b);
    }
    closedir(d);
}

static char *newest_wal(const char *db)
{
    char *wal = tu_path(db, "wal");
    DIR *d = opendir(wal);
    ck_assert(d != NULL);
    char best[64] = "";
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strlen(e->d_name) == 20 && strcmp(e->d_name + 16, ".wal") == 0 &&
            strcmp(e->d_name, best) > 0)
            snprintf(best, sizeof best, "%s", e->d_name);
    closedir(d);
    ck_assert_msg(best[0], "no log file in %s", wal);
    char *p = tu_path(wal, best);
    free(wal);
    return p;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

START_TEST(test_torn_last_record)
{
    enum { N = 8 };
    /* every point its own device: each batch defines new series, so a cut
     * record must take its definitions with it */
    const layout lo = {1, 4, 1000};
    char *dir = tu_tmpdir(), *snap = tu_path(dir, "snap"), *work = tu_path(dir, "work");
    int pfd[2];
    ck_assert(pipe(pfd) == 0);
    pid_t pid = tu_fork();
    if (pid == 0) {
        close(pfd[0]);
        writer_child(snap, STRATA_SYNC_ALWAYS, &lo, N, pfd[1]);
    }
    close(pfd[1]);
    uint64_t acked[2] = {0, 0};
    read_acks(pfd[0], &lo, acked, UINT64_MAX, "writer");
    close(pfd[0]);
    int status;
    ck_assert(waitpid(pid, &status, 0) == pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer: %s", wait_status(status));
    ck_assert_uint_eq(acked[0], N);

    /* the records of the newest log file: one per batch */
    char *wal = newest_wal(snap);
    size_t size;
    unsigned char *bytes = (unsigned char *)tu_read_file(wal, &size);
    size_t off = 40, last = 0, records = 0; /* 40-byte file header, FORMAT.md §3 */
    while (off + 24 <= size) {
        last = off;
        off += 24 + (size_t)le32(bytes + off);
        records++;
    }
    free(bytes);
    ck_assert_uint_eq(records, N);
    ck_assert_uint_eq(off, size);
    char *rel = strdup(wal + strlen(snap)); /* "/wal/<name>" */

    const uint64_t before[2] = {N - 1, 0};
    char *cut = malloc(strlen(work) + strlen(rel) + 1);
    sprintf(cut, "%s%s", work, rel);
    for (size_t len = last; len <= size; len++) {
        char when[96];
        snprintf(when, sizeof when, "log cut to %zu of %zu bytes (last record at %zu)", len, size,
                 last);
        tu_rmrf(work);
        copy_db(snap, work);
        ck_assert(truncate(cut, (off_t)len) == 0);
        child_report r = recover_and_die(work, &lo, before);
        ck_assert_msg(r.ok, "%s: %s", when, r.msg);
        int whole = len == size;
        ck_assert_msg(r.oc.inflight_present[0] == (uint64_t)whole, "%s: the last batch is %s", when,
                      whole ? "missing" : "there");
        ck_assert_uint_eq(r.oc.series, (uint64_t)(whole ? N : N - 1) * lo.points * FIELDS);
        ck_assert_msg(r.st.wal_torn_bytes == (whole ? 0 : len - last),
                      "%s: wal_torn_bytes %" PRIu64 ", want %zu", when, r.st.wal_torn_bytes,
                      whole ? 0 : len - last);
        ck_assert_msg(r.torn_warnings == (len > last && !whole),
                      "%s: %u torn-tail warnings from the log callback", when, r.torn_warnings);
        ck_assert_uint_eq(r.st.replayed_records, whole ? N : N - 1);
        recover_in_parent(work, &lo, before, &r.oc, when);
    }
    printf("check_crash: torn: the last log record (%zu bytes) cut at each of its %zu lengths\n",
           size - last, size - last + 1);
    free(cut);
    free(rel);
    free(wal);
    tu_rmrf(dir);
    free(work);
    free(snap);
    free(dir);
}
END_TEST

Suite *crash_suite(void); /* found by the runner (suites.h) */

Suite *crash_suite(void)
{
    Suite *s = suite_create("crash");
    TCase *tc = tcase_create("kill");
    tcase_add_test(tc, test_kill_sync_always);
    tcase_add_test(tc, test_kill_sync_batch_two_writers);
    suite_add_tcase(s, tc);
    tc = tcase_create("torn");
    tcase_add_test(tc, test_torn_last_record);
    suite_add_tcase(s, tc);
    return s;
}
