/*
 * check_compact.c — compaction, time tiers and retention (compaction/).
 *
 * The data: `strata gen fleet` line protocol.  The "messy" database gets it
 * shuffled, with 30 % of the lines sent twice (the same values: a
 * retransmission) and the last 15 % of the shuffled stream written after a
 * reopen (late points for partitions already on disk), through the C API
 * with the smallest head budget and batches of 500 lines, so every
 * partition ends up in many small segments.  The "clean" database gets the
 * sorted stream through `strata ingest`.
 *
 *  - same `strata dump` before and after `strata compact` (and verify ok);
 *  - after compaction, bytes on disk (du) within 5 % of the clean one;
 *  - `strata compact` killed with SIGKILL at random moments: after
 *    recovery every partition holds either all of its old segments or the
 *    merged one (never neither, never both: the points of the live
 *    segments add up to one of the two), and the dump is unchanged;
 *  - the i-th write, fsync, rename or unlink failing during a compaction
 *    (engine/os.h fault injection, plain and torn writes): the same;
 *  - retention removes exactly the partitions wholly older than frontier -
 *    retention, persists across reopen, and the CLI shows and changes it;
 *  - a point stamped in 2099 does not expire the database: the frontier
 *    counts only up to the wall clock plus a day (retention, lateness);
 *  - an iterator opened before a compaction reads its snapshot, and the
 *    old files are deleted only when it closes;
 *  - time tiers: an hourly series over 70 days ends up in a handful of
 *    segments, and a late point into a tiered range is merged again; a
 *    year written at once is flushed straight into the tier windows;
 *  - the planner's tier widths and groups.
 */
#define _GNU_SOURCE
#include "tests/testutil.h"

#include "compaction/compact.h"
#include "engine/manifest.h"
#include "engine/os.h"
#include "strata.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#define DAY INT64_C(86400000000000)
#define HOUR INT64_C(3600000000000)

/* ---- helpers ---------------------------------------------------------------- */

static const char *strata_bin(void)
{
    const char *b = getenv("STRATA_BIN");
    return b ? b : "build/strata";
}

static char *cli_out(const char *const *args, const char *input)
{
    char *out = NULL, *err = NULL;
    int rc = tu_cli(args, input, &out, &err);
    ck_assert_msg(rc == 0, "strata %s failed (%d): %s", args[0], rc, err ? err : "");
    free(err);
    return out;
}

static char *dump(const char *db)
{
    return cli_out((const char *const[]){"dump", db, NULL}, NULL);
}

static void verify_ok(const char *db)
{
    char *out = cli_out((const char *const[]){"verify", db, NULL}, NULL);
    free(out);
}

static char *gen_fleet(const char *trucks, const char *span, const char *interval)
{
    return cli_out((const char *const[]){"gen", "fleet", "--trucks", trucks, "--span", span,
                                         "--interval", interval, "-o", "-", NULL},
                   NULL);
}

/* The data lines of a line-protocol text (pointers into it; it is cut). */
static char **split_lines(char *text, size_t *n)
{
    size_t cap = 1024, k = 0;
    char **v = malloc(cap * sizeof *v);
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (!*l || *l == '#')
            continue;
        if (k == cap)
            v = realloc(v, (cap *= 2) * sizeof *v);
        v[k++] = l;
    }
    *n = k;
    return v;
}

static strata_db *open_db(const char *dir, int compaction)
{
    strata_options o;
    strata_options_init(&o);
    o.create_if_missing = 1;
    o.sync = STRATA_SYNC_NONE;
    o.head_budget_bytes = 1u << 20;
    o.no_compaction = !compaction;
    strata_db *db;
    ck_assert_msg(strata_db_open(dir, &o, &db) == STRATA_OK, "%s", strata_errmsg(NULL));
    return db;
}

static void write_lines(strata_db *db, char **lines, size_t n, size_t batch)
{
    strata_batch *b;
    ck_assert_int_eq(strata_batch_new(db, &b), STRATA_OK);
    for (size_t i = 0; i < n; i++) {
        strata_lp_error e;
        int rc = strata_batch_add_lp(b, lines[i], strlen(lines[i]), STRATA_PRECISION_NS, 0, &e);
        TU_CHECK(rc == STRATA_OK, "line %zu: %s", i, e.message);
        if (strata_batch_points(b) == batch || i + 1 == n) {
            TU_CHECK(strata_db_write(db, b) == STRATA_OK, "%s", strata_errmsg(db));
            strata_batch_clear(b);
        }
    }
    strata_batch_free(b);
}

/* While the background compaction runs: a reader that keeps iterating
 * over every series, checking times strictly increase (nothing doubled). */
typedef struct reader_arg {
    strata_db *db;
    volatile int stop;
    long rounds, bad;
} reader_arg;

static void *reader_main(void *p)
{
    reader_arg *a = p;
    while (!a->stop) {
        uint64_t ns = 0;
        strata_series_count(a->db, &ns);
        for (uint64_t id = 0; id < ns; id++) {
            strata_iter *it;
            if (strata_iter_open(a->db, id, INT64_MIN, INT64_MAX, &it) != STRATA_OK) {
                a->bad++;
                continue;
            }
            int64_t ts, prev = INT64_MIN;
            strata_value v;
            int rc;
            while ((rc = strata_iter_next(it, &ts, &v)) == STRATA_ROW) {
                a->bad += ts <= prev;
                prev = ts;
            }
            a->bad += rc != STRATA_DONE;
            strata_iter_close(it);
        }
        a->rounds++;
    }
    return NULL;
}

/* The messy database: shuffled, 30 % sent twice, the last 15 % late;
 * with the background compaction thread on, and a reader, when bg. */
static void build_messy_ex(const char *dir, char *text, int bg)
{
    size_t n;
    char **lines = split_lines(text, &n);
    size_t total = n + n * 3 / 10;
    char **s = malloc(total * sizeof *s);
    memcpy(s, lines, n * sizeof *s);
    uint64_t seed = 7;
    for (size_t i = n; i < total; i++)
        s[i] = lines[tu_rand(&seed) % n];
    for (size_t i = total - 1; i > 0; i--) {
        size_t j = tu_rand(&seed) % (i + 1);
        char *t = s[i];
        s[i] = s[j];
        s[j] = t;
    }
    size_t early = total - total * 15 / 100;
    strata_db *db = open_db(dir, bg);
    reader_arg ra = {db, 0, 0, 0};
    pthread_t reader;
    if (bg)
        ck_assert(pthread_create(&reader, NULL, reader_main, &ra) == 0);
    write_lines(db, s, early, 500);
    if (bg) {
        ra.stop = 1;
        pthread_join(reader, NULL);
        ck_assert_msg(ra.bad == 0 && ra.rounds > 0, "reader: %ld problems in %ld rounds", ra.bad,
                      ra.rounds);
    }
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    db = open_db(dir, bg);
    write_lines(db, s + early, total - early, 500);
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    free(s);
    free(lines);
}

static void build_messy(const char *dir, char *text)
{
    build_messy_ex(dir, text, 0);
}

static void build_clean(const char *dir, const char *text)
{
    char *out =
        cli_out((const char *const[]){"ingest", dir, "--quiet", "--sync", "none", "-", NULL}, text);
    free(out);
}

static uint64_t du(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return 0;
    uint64_t total = (uint64_t)sb.st_blocks * 512;
    if (S_ISDIR(sb.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char *p = tu_path(path, e->d_name);
            total += du(p);
            free(p);
        }
        if (d)
            closedir(d);
    }
    return total;
}

static void copy_tree(const char *from, const char *to)
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
        if (S_ISDIR(sb.st_mode)) {
            copy_tree(a, b);
        } else {
            size_t len;
            char *data = tu_read_file(a, &len);
            ck_assert(data != NULL);
            tu_write_file(b, data, len);
            free(data);
        }
        free(a);
        free(b);
    }
    closedir(d);
}

/* Segment files in seg/ other than the manifest's live rollups (an orphan
 * of either kind counts). */
static int count_seg_files(const char *db)
{
    char *mp = tu_path(db, "MANIFEST");
    manifest *m = NULL;
    uint64_t torn;
    ck_assert_int_eq(manifest_open(mp, 1, &m, &torn), STRATA_OK);
    const man_state *st = manifest_state(m);
    free(mp);
    char *p = tu_path(db, "seg");
    DIR *d = opendir(p);
    ck_assert(d != NULL);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        uint64_t id;
        if (!seg_parse_file_name(e->d_name, &id))
            continue;
        int rollup = 0;
        for (size_t i = 0; i < st->nrollups && !rollup; i++)
            rollup = st->rollups[i].id == id;
        n += !rollup;
    }
    closedir(d);
    free(p);
    manifest_close(m);
    return n;
}

/* Points of the live segments, summed per partition (the segments of these
 * tests span one partition each). */
#define MAXP 16
typedef struct psums {
    int64_t first[MAXP];
    uint64_t points[MAXP];
    int n;
    size_t nsegs;
} psums;

static psums partition_sums(const char *db)
{
    char *p = tu_path(db, "MANIFEST");
    manifest *m;
    uint64_t torn;
    ck_assert_int_eq(manifest_open(p, 1, &m, &torn), STRATA_OK);
    const man_state *st = manifest_state(m);
    psums s = {0};
    s.nsegs = st->nsegs;
    for (size_t i = 0; i < st->nsegs; i++) {
        const man_segment *g = &st->segs[i];
        ck_assert_int_eq(g->part_last - g->part_first + 1, st->partition_ns);
        int k = 0;
        while (k < s.n && s.first[k] != g->part_first)
            k++;
        if (k == s.n) {
            ck_assert_int_lt(s.n, MAXP);
            s.first[s.n++] = g->part_first;
        }
        s.points[k] += g->points;
    }
    manifest_close(m);
    free(p);
    return s;
}

static uint64_t sum_of(const psums *s, int64_t first)
{
    for (int k = 0; k < s->n; k++)
        if (s->first[k] == first)
            return s->points[k];
    return 0;
}

/* Every partition of `now` holds what it held before or after compacting. */
static void check_old_or_new(const psums *old, const psums *nw, const char *db, const char *when)
{
    psums now = partition_sums(db);
    ck_assert_int_eq(now.n, old->n);
    for (int k = 0; k < old->n; k++) {
        uint64_t have = sum_of(&now, old->first[k]);
        ck_assert_msg(have == old->points[k] || have == sum_of(nw, old->first[k]),
                      "%s: partition %lld holds %llu points in segments: neither the old %llu "
                      "nor the compacted %llu",
                      when, (long long)old->first[k], (unsigned long long)have,
                      (unsigned long long)old->points[k],
                      (unsigned long long)sum_of(nw, old->first[k]));
    }
    ck_assert_int_eq(count_seg_files(db), (int)now.nsegs);
}

/* A shared setup: the messy and clean databases, their dumps, and the
 * messy database compacted once (for the expected partition sums). */
typedef struct fixture {
    char *root, *messy, *clean, *compacted;
    char *expected; /* the clean dump */
    char *text;     /* the generated line protocol */
    psums before, after;
} fixture;

static fixture fx;

static void fixture_make(const char *trucks, const char *span)
{
    fx.root = tu_tmpdir();
    fx.messy = tu_path(fx.root, "messy");
    fx.clean = tu_path(fx.root, "clean");
    fx.compacted = tu_path(fx.root, "compacted");
    char *text = gen_fleet(trucks, span, "60s");
    build_clean(fx.clean, text);
    char *copy = strdup(text);
    build_messy(fx.messy, text);
    free(text);
    fx.text = copy;
    fx.expected = dump(fx.clean);
    copy_tree(fx.messy, fx.compacted);
    char *out = cli_out((const char *const[]){"compact", fx.compacted, NULL}, NULL);
    free(out);
    fx.before = partition_sums(fx.messy);
    fx.after = partition_sums(fx.compacted);
}

static void fixture_free(void)
{
    tu_rmrf(fx.root);
    free(fx.root);
    free(fx.messy);
    free(fx.clean);
    free(fx.compacted);
    free(fx.expected);
    free(fx.text);
    memset(&fx, 0, sizeof fx);
}

/* ---- (a) and (b): same dump, same bytes ------------------------------------------- */

START_TEST(test_same_dump_and_size)
{
    fixture_make("6", "3d");
    ck_assert_msg(fx.before.nsegs >= 3 * (size_t)fx.before.n,
                  "the messy database should have many segments per partition, has %zu for %d",
                  fx.before.nsegs, fx.before.n);
    char *d = dump(fx.messy);
    ck_assert_msg(strcmp(d, fx.expected) == 0, "messy dump differs before compaction");
    free(d);

    char *out = cli_out((const char *const[]){"compact", fx.messy, NULL}, NULL);
    ck_assert_msg(strstr(out, "before: ") && strstr(out, "after:  "), "%s", out);
    free(out);
    d = dump(fx.messy);
    ck_assert_msg(strcmp(d, fx.expected) == 0, "messy dump differs after compaction");
    free(d);
    verify_ok(fx.messy);
    psums now = partition_sums(fx.messy);
    ck_assert_uint_eq(now.nsegs, (size_t)now.n); /* one segment per partition */

    /* (b) bytes per value on disk: within 5 % of the sorted ingest, once
     * that is compacted too (its day may have been flushed in two parts;
     * whether the background thread merged them before the ingest closed
     * depends on timing) */
    out = cli_out((const char *const[]){"compact", fx.clean, NULL}, NULL);
    free(out);
    ck_assert_uint_eq(now.nsegs, partition_sums(fx.clean).nsegs);
    double a = (double)du(fx.messy), b = (double)du(fx.clean);
    ck_assert_msg(a <= b * 1.05 && a >= b * 0.95, "du: compacted %.0f vs sorted %.0f bytes", a, b);
    /* compacting again changes nothing */
    out = cli_out((const char *const[]){"compact", fx.messy, NULL}, NULL);
    ck_assert_msg(strstr(out, "(+ 0 points in the head)"), "%s", out);
    free(out);
    ck_assert_uint_eq(partition_sums(fx.messy).nsegs, now.nsegs);

    /* the same stream with the background compaction thread merging while
     * the writes flush and a reader iterates */
    char *bg = tu_path(fx.root, "background");
    build_messy_ex(bg, fx.text, 1);
    d = dump(bg);
    ck_assert_msg(strcmp(d, fx.expected) == 0, "dump differs with background compaction");
    free(d);
    verify_ok(bg);
    free(bg);
    fixture_free();
}
END_TEST

/* ---- (c) killed compactions ------------------------------------------------------- */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static pid_t spawn_compact(const char *db)
{
    pid_t pid = tu_fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execl(strata_bin(), "strata", "compact", db, (char *)NULL);
        _exit(127);
    }
    return pid;
}

START_TEST(test_kill_compaction)
{
    fixture_make("3", "2d");
    char *work = tu_path(fx.root, "work");
    /* how long one compaction takes here */
    copy_tree(fx.messy, work);
    double t0 = now_s();
    int st;
    pid_t pid = spawn_compact(work);
    ck_assert(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    double took = now_s() - t0;
    tu_rmrf(work);
    uint64_t seed = 12345;
    int killed = 0, finished = 0, mixed = 0;
    double budget = now_s() + 15;
    for (int iter = 0; iter < 40 && now_s() < budget; iter++) {
        copy_tree(fx.messy, work);
        pid = spawn_compact(work);
        useconds_t delay = (useconds_t)(tu_rand(&seed) % (uint64_t)(took * 0.8e6 + 1));
        usleep(delay);
        kill(pid, SIGKILL);
        ck_assert(waitpid(pid, &st, 0) == pid);
        if (WIFSIGNALED(st))
            killed++;
        else
            finished++;
        /* recover (cuts torn tails, deletes orphans), then check */
        strata_db *db = open_db(work, 0);
        ck_assert_int_eq(strata_db_close(db), STRATA_OK);
        check_old_or_new(&fx.before, &fx.after, work, "after kill");
        psums now = partition_sums(work);
        mixed += now.nsegs != fx.before.nsegs && now.nsegs != fx.after.nsegs;
        verify_ok(work);
        char *d = dump(work);
        ck_assert_msg(strcmp(d, fx.expected) == 0, "dump differs after a kill at %u us", delay);
        free(d);
        /* and the compaction can be finished */
        if (iter % 4 == 0) {
            char *out = cli_out((const char *const[]){"compact", work, NULL}, NULL);
            free(out);
            check_old_or_new(&fx.before, &fx.after, work, "after finishing");
            ck_assert_uint_eq(partition_sums(work).nsegs, fx.after.nsegs);
        }
        tu_rmrf(work);
    }
    fprintf(stderr, "compact kill: %d killed, %d finished first, %d half-way (one %.0f ms)\n",
            killed, finished, mixed, took * 1e3);
    ck_assert_int_gt(killed, 0);
    free(work);
    fixture_free();
}
END_TEST

/* The i-th write / fsync / rename / unlink fails (plain, or torn). */
static void fault_loop(unsigned ops, long keep)
{
    char *work = tu_path(fx.root, "work");
    int failed = 0;
    long nth;
    for (nth = 1; nth < 400; nth++) {
        copy_tree(fx.messy, work);
        strata_db *db = open_db(work, 0);
        os_fault_inject(ops, nth, EIO, keep);
        int rc = strata_db_compact(db);
        os_fault_inject(0, 0, 0, 0);
        strata_db_close(db);
        db = open_db(work, 0);
        ck_assert_int_eq(strata_db_close(db), STRATA_OK);
        check_old_or_new(&fx.before, &fx.after, work, "after a fault");
        char *d = dump(work);
        TU_CHECK(strcmp(d, fx.expected) == 0, "dump differs after fault %ld", nth);
        free(d);
        tu_rmrf(work);
        if (rc == STRATA_OK)
            break;
        failed++;
    }
    ck_assert_int_gt(failed, 3);
    ck_assert_int_lt(nth, 400);
    free(work);
}

START_TEST(test_fault_injection)
{
    fixture_make("2", "2d");
    fault_loop(OS_OP_WRITE | OS_OP_SYNC | OS_OP_RENAME | OS_OP_UNLINK, -1);
    fault_loop(OS_OP_WRITE, 100);
    fixture_free();
}
END_TEST

/* ---- (d) retention ------------------------------------------------------------- */

static const int64_t T0 = INT64_C(1704067200000000000); /* 2024-01-01T00:00:00Z */

static void write_hourly(strata_db *db, int64_t from, int hours, double base)
{
    strata_batch *b;
    ck_assert_int_eq(strata_batch_new(db, &b), STRATA_OK);
    for (int h = 0; h < hours; h++) {
        strata_batch_point(b, "m", from + h * HOUR);
        strata_batch_tag(b, "device", "d1");
        strata_batch_f64(b, "v", base + h);
    }
    ck_assert_int_eq(strata_db_write(db, b), STRATA_OK);
    strata_batch_free(b);
}

static void series_points(strata_db *db, int64_t *first, uint64_t *count)
{
    strata_series s;
    ck_assert_int_eq(strata_series_find(db, "m,device=d1 v", &s), STRATA_OK);
    strata_iter *it;
    ck_assert_int_eq(strata_iter_open(db, s.id, INT64_MIN, INT64_MAX, &it), STRATA_OK);
    int64_t ts;
    strata_value v;
    *count = 0;
    while (strata_iter_next(it, &ts, &v) == STRATA_ROW) {
        if (!*count)
            *first = ts;
        ++*count;
    }
    strata_iter_close(it);
}

START_TEST(test_retention)
{
    char *dir = tu_tmpdir();
    strata_db *db = open_db(dir, 0);
    for (int d = 0; d < 10; d++) {
        write_hourly(db, T0 + d * DAY, 24, d * 100.0);
        ck_assert_int_eq(strata_db_flush(db), STRATA_OK);
    }
    int64_t r;
    ck_assert_int_eq(strata_db_get_retention(db, &r), STRATA_OK);
    ck_assert_int_eq(r, 0);
    ck_assert_int_eq(strata_db_compact(db), STRATA_OK); /* forever: tiers only */
    int64_t first;
    uint64_t n;
    series_points(db, &first, &n);
    ck_assert_int_eq(first, T0);
    ck_assert_uint_eq(n, 10 * 24);
    strata_stats st;
    /* frontier = day 9 23:00; cutoff = day 6 23:00: days 0-5 end before it */
    ck_assert_int_eq(strata_db_set_retention(db, 3 * DAY), STRATA_OK);
    ck_assert_int_eq(strata_db_compact(db), STRATA_OK);
    strata_db_stats(db, &st);
    ck_assert_uint_eq(st.segments, 4);
    series_points(db, &first, &n);
    ck_assert_int_eq(first, T0 + 6 * DAY);
    ck_assert_uint_eq(n, 4 * 24);
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    ck_assert_int_eq(count_seg_files(dir), 4);

    /* persisted; a late point into an expired partition goes at the next
     * compaction, and one more day moves the cutoff by a day */
    db = open_db(dir, 0);
    ck_assert_int_eq(strata_db_get_retention(db, &r), STRATA_OK);
    ck_assert_int_eq(r, 3 * DAY);
    write_hourly(db, T0 + 2 * DAY, 1, 5);
    write_hourly(db, T0 + 10 * DAY, 24, 1000);
    ck_assert_int_eq(strata_db_compact(db), STRATA_OK);
    series_points(db, &first, &n);
    ck_assert_int_eq(first, T0 + 7 * DAY);
    ck_assert_uint_eq(n, 4 * 24);
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    verify_ok(dir);

    /* the CLI: raw and the rollup tiers (a new database's: 1 min, 1 h) */
    char *out = cli_out((const char *const[]){"retention", dir, NULL}, NULL);
    ck_assert_str_eq(out, "raw    3d\n1m     forever\n1h     forever\n");
    free(out);
    out = cli_out((const char *const[]){"retention", dir, "--raw", "2w", NULL}, NULL);
    ck_assert_str_eq(out, "raw    2w\n1m     forever\n1h     forever\n");
    free(out);
    out = cli_out((const char *const[]){"retention", dir, "--raw", "forever", "--tier", "1m=90d",
                                        "--tier", "1h=forever", NULL},
                  NULL);
    ck_assert_str_eq(out, "raw    forever\n1m     90d\n1h     forever\n");
    free(out);
    out = cli_out((const char *const[]){"rollups", dir, NULL}, NULL);
    ck_assert_msg(strstr(out, "tier 1m     kept 90d\ntier 1h     kept forever\n"), "%s", out);
    free(out);
    out = cli_out((const char *const[]){"rollups", dir, "--tiers", "1h,1d", NULL}, NULL);
    ck_assert_msg(strstr(out, "tier 1h     kept forever\ntier 1d     kept forever\n"), "%s", out);
    free(out);
    char *err = NULL;
    ck_assert_int_eq(tu_cli((const char *const[]){"rollups", dir, "--tiers", "7s", NULL}, NULL,
                            NULL, &err),
                     2);
    ck_assert_msg(strstr(err, "does not divide the partition width"), "%s", err);
    free(err);
    ck_assert_int_eq(tu_cli((const char *const[]){"rollups", dir, "--tiers", "1h,1m", NULL}, NULL,
                            NULL, &err),
                     2);
    ck_assert_msg(strstr(err, "ascending"), "%s", err);
    free(err);
    ck_assert_int_eq(tu_cli((const char *const[]){"retention", dir, "--tier", "5m=1d", NULL}, NULL,
                            NULL, &err),
                     2);
    ck_assert_msg(strstr(err, "no 5m rollup tier"), "%s", err);
    free(err);
    ck_assert_int_eq(tu_cli((const char *const[]){"retention", dir, "--tier", "1h", NULL}, NULL,
                            NULL, &err),
                     2);
    ck_assert_msg(strstr(err, "WIDTH=DURATION"), "%s", err);
    free(err);
    out = cli_out((const char *const[]){"rollups", dir, "--tiers", "none", NULL}, NULL);
    ck_assert_msg(strstr(out, "no rollup tiers\n"), "%s", out);
    free(out);
    ck_assert_int_eq(
        tu_cli((const char *const[]){"retention", dir, "--raw", "m=7d", NULL}, NULL, NULL, &err),
        2);
    ck_assert_msg(strstr(err, "not supported"), "%s", err);
    free(err);
    ck_assert_int_eq(
        tu_cli((const char *const[]){"retention", dir, "--measurement", "m", "--raw", "7d", NULL},
               NULL, NULL, &err),
        2);
    ck_assert_msg(strstr(err, "not supported"), "%s", err);
    free(err);
    ck_assert_int_eq(
        tu_cli((const char *const[]){"retention", dir, "--raw", "7x", NULL}, NULL, NULL, &err), 2);
    free(err);
    /* at open: options */
    strata_options o;
    strata_options_init(&o);
    o.retention_ns = DAY;
    ck_assert_int_eq(strata_db_open(dir, &o, &db), STRATA_OK);
    strata_db_get_retention(db, &r);
    ck_assert_int_eq(r, DAY);
    ck_assert_int_eq(strata_db_set_retention(db, -5), STRATA_MISUSE);
    strata_db_close(db);
    o.retention_ns = STRATA_RETENTION_FOREVER;
    ck_assert_int_eq(strata_db_open(dir, &o, &db), STRATA_OK);
    strata_db_get_retention(db, &r);
    ck_assert_int_eq(r, 0);
    strata_db_close(db);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* A point stamped decades ahead (a device with a wrong clock) is stored,
 * but the frontier counts only up to the wall clock plus a day: retention
 * keeps the last week of real time instead of expiring everything, and the
 * lateness limit still accepts current points. */
START_TEST(test_future_clock)
{
    char *dir = tu_tmpdir();
    strata_options o;
    strata_options_init(&o);
    o.create_if_missing = 1;
    o.sync = STRATA_SYNC_NONE;
    o.no_compaction = 1;
    o.retention_ns = 7 * DAY;
    o.max_lateness_ns = 2 * DAY;
    strata_db *db;
    ck_assert_msg(strata_db_open(dir, &o, &db) == STRATA_OK, "%s", strata_errmsg(NULL));
    int64_t now = (int64_t)time(NULL) * 1000000000LL;
    int64_t start = now / HOUR * HOUR - 72 * HOUR;
    write_hourly(db, start, 72, 0); /* the last three days, hourly */
    ck_assert_int_eq(strata_db_flush(db), STRATA_OK);
    const int64_t y2099 = INT64_C(4070908800000000000); /* 2099-01-01T00:00:00Z */
    write_hourly(db, y2099, 1, -1);
    ck_assert_int_eq(strata_db_flush(db), STRATA_OK);
    /* a current point is not "late" behind 2099 */
    write_hourly(db, now / HOUR * HOUR - 10 * HOUR + 1, 1, 7);
    /* 30 days old: too late, now and by retention */
    strata_batch *b;
    ck_assert_int_eq(strata_batch_new(db, &b), STRATA_OK);
    ck_assert_int_eq(strata_batch_point(b, "m", now - 30 * DAY), STRATA_ERROR);
    ck_assert_int_eq(strata_extended_errcode(db), STRATA_ERROR_LATE);
    strata_batch_free(b);
    ck_assert_int_eq(strata_db_compact(db), STRATA_OK);
    int64_t first;
    uint64_t n;
    series_points(db, &first, &n);
    ck_assert_int_eq(first, start);
    ck_assert_uint_eq(n, 72 + 1 + 1);
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    /* strata inspect names the far-off point */
    char *out = cli_out((const char *const[]){"inspect", dir, NULL}, NULL);
    ck_assert_msg(strstr(out, "clock         data reaches 2099-01-01T00:00:00Z, past this machine"),
                  "%s", out);
    free(out);
    /* retention still runs on real time: a week-old day written without
     * the lateness limit expires at the next compaction */
    o.max_lateness_ns = 0;
    o.create_if_missing = 0;
    ck_assert_int_eq(strata_db_open(dir, &o, &db), STRATA_OK);
    write_hourly(db, start - 10 * DAY, 24, 100);
    ck_assert_int_eq(strata_db_flush(db), STRATA_OK);
    series_points(db, &first, &n);
    ck_assert_uint_eq(n, 24 + 72 + 1 + 1);
    ck_assert_int_eq(strata_db_compact(db), STRATA_OK);
    series_points(db, &first, &n);
    ck_assert_int_eq(first, start);
    ck_assert_uint_eq(n, 72 + 1 + 1);
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    verify_ok(dir);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* The settings edit of FORMAT.md §7.2, byte for byte. */
START_TEST(test_retention_edit_bytes)
{
    char *dir = tu_tmpdir();
    strata_db *db = open_db(dir, 0);
    char *mp = tu_path(dir, "MANIFEST");
    size_t before, after;
    free(tu_read_file(mp, &before));
    ck_assert_int_eq(strata_db_set_retention(db, 7 * DAY), STRATA_OK);
    ck_assert_int_eq(strata_db_set_retention(db, 7 * DAY), STRATA_OK); /* unchanged: no edit */
    unsigned char *m = (unsigned char *)tu_read_file(mp, &after);
    ck_assert_uint_eq(after - before, 25);
    static const unsigned char want[17] = {0x09, 0,    0,    0,    0x01, 0,    0,    0,   0x08,
                                           0x80, 0x80, 0xc8, 0x92, 0xff, 0x83, 0x93, 0x02};
    ck_assert(memcmp(m + before, want, sizeof want) == 0);
    uint64_t h = XXH3_64bits(want, sizeof want), got = 0;
    for (int i = 7; i >= 0; i--)
        got = got << 8 | m[before + 17 + i];
    ck_assert(got == h);
    free(m);
    strata_db_close(db);
    free(mp);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* ---- (e) readers keep their snapshot ---------------------------------------------- */

START_TEST(test_iterator_snapshot)
{
    char *dir = tu_tmpdir();
    strata_db *db = open_db(dir, 0);
    /* three overlapping segments in one partition; later ones rewrite */
    write_hourly(db, T0, 24, 0);
    strata_db_flush(db);
    write_hourly(db, T0 + 6 * HOUR, 6, 1000);
    strata_db_flush(db);
    write_hourly(db, T0 + 12 * HOUR, 12, 2000);
    strata_db_flush(db);
    ck_assert_int_eq(count_seg_files(dir), 3);
    strata_series s;
    ck_assert_int_eq(strata_series_find(db, "m,device=d1 v", &s), STRATA_OK);
    strata_iter *it;
    ck_assert_int_eq(strata_iter_open(db, s.id, INT64_MIN, INT64_MAX, &it), STRATA_OK);
    ck_assert_int_eq(strata_db_compact(db), STRATA_OK);
    strata_stats st;
    strata_db_stats(db, &st);
    ck_assert_uint_eq(st.segments, 1);
    ck_assert_int_eq(count_seg_files(dir), 4); /* the old ones stay while read */
    /* a write after the compaction is not in the snapshot */
    write_hourly(db, T0 + 30 * HOUR, 1, -1);
    int64_t ts;
    strata_value v;
    int n = 0;
    while (strata_iter_next(it, &ts, &v) == STRATA_ROW) {
        ck_assert_int_eq(ts, T0 + n * HOUR);
        double want = n < 6 ? n : n < 12 ? 1000 + n - 6 : 2000 + n - 12;
        ck_assert_msg(v.f64 == want, "hour %d: %g, want %g", n, v.f64, want);
        n++;
    }
    ck_assert_int_eq(n, 24);
    strata_iter_close(it);
    ck_assert_int_eq(count_seg_files(dir), 1);
    /* the compacted segment reads the same */
    ck_assert_int_eq(strata_iter_open(db, s.id, T0, T0 + DAY, &it), STRATA_OK);
    n = 0;
    while (strata_iter_next(it, &ts, &v) == STRATA_ROW) {
        double want = n < 6 ? n : n < 12 ? 1000 + n - 6 : 2000 + n - 12;
        ck_assert_msg(v.f64 == want, "hour %d: %g, want %g", n, v.f64, want);
        n++;
    }
    ck_assert_int_eq(n, 24);
    strata_iter_close(it);
    strata_db_close(db);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* ---- time tiers ------------------------------------------------------------------ */

START_TEST(test_tiers)
{
    char *dir = tu_tmpdir();
    strata_db *db = open_db(dir, 1); /* with the background thread */
    for (int d = 0; d < 70; d++) {
        write_hourly(db, T0 + d * DAY, 24, d * 100.0);
        ck_assert_int_eq(strata_db_flush(db), STRATA_OK);
    }
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    char *before = dump(dir);
    char *out = cli_out((const char *const[]){"compact", dir, NULL}, NULL);
    free(out);
    char *after = dump(dir);
    ck_assert_str_eq(before, after);
    /* 2024-01-01 + 70 d: 28-day windows cold when 7 days past, 7-day ones
     * when a day past; what is left are the newest days */
    db = open_db(dir, 0);
    strata_stats st;
    strata_db_stats(db, &st);
    ck_assert_msg(st.segments <= 12, "%llu segments for 70 days", (unsigned long long)st.segments);
    uint64_t tiered = st.segments;
    /* a late point into a tiered range: a small segment, merged again */
    write_hourly(db, T0 + 3 * DAY + 30 * 60 * INT64_C(1000000000), 1, -7);
    ck_assert_int_eq(strata_db_flush(db), STRATA_OK);
    strata_db_stats(db, &st);
    ck_assert_uint_eq(st.segments, tiered + 1);
    ck_assert_int_eq(strata_db_compact(db), STRATA_OK);
    strata_db_stats(db, &st);
    ck_assert_uint_eq(st.segments, tiered);
    int64_t first;
    uint64_t n;
    series_points(db, &first, &n);
    ck_assert_uint_eq(n, 70 * 24 + 1);
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    verify_ok(dir);
    /* a query over tiered segments */
    out = cli_out((const char *const[]){"query", dir,
                                        "SELECT count(v) FROM m WHERE time >= "
                                        "'2024-01-02T00:00:00Z' AND time < '2024-01-06T00:00:00Z'",
                                        "--format", "csv", NULL},
                  NULL);
    ck_assert_msg(strstr(out, ",97"), "%s", out);
    free(out);
    free(before);
    free(after);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* A backfill: a year of hourly points in one write, daily partitions.  The
 * flush puts the cold part straight into the tier windows compaction would
 * merge it into.  The newest point is 2024-12-30T23:00 (day 20087 of the
 * epoch): the 28-day windows 704-716 (days 19712-20075) end more than 7
 * days before it, the 7-day window of days 20076-20082 more than a day;
 * days 20083-20087 stay partitions.  19 files, not 365; compaction then
 * has nothing to merge, and every point comes back. */
START_TEST(test_backfill_tiers)
{
    char *dir = tu_tmpdir();
    strata_db *db = open_db(dir, 0);
    write_hourly(db, T0, 365 * 24, 0);
    ck_assert_int_eq(strata_db_flush(db), STRATA_OK);
    strata_stats st;
    strata_db_stats(db, &st);
    ck_assert_uint_eq(st.segments, 13 + 1 + 5);
    ck_assert_int_eq(strata_db_compact(db), STRATA_OK);
    strata_db_stats(db, &st);
    ck_assert_uint_eq(st.segments, 13 + 1 + 5);
    int64_t first;
    uint64_t n;
    series_points(db, &first, &n);
    ck_assert_int_eq(first, T0);
    ck_assert_uint_eq(n, 365 * 24);
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    ck_assert_int_eq(count_seg_files(dir), 13 + 1 + 5);
    verify_ok(dir);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* ---- the planner ------------------------------------------------------------------- */

START_TEST(test_plan_tiers)
{
    int64_t w[COMPACT_MAX_TIERS];
    ck_assert_uint_eq(compact_tiers(DAY, 0, w), 3);
    ck_assert(w[0] == DAY && w[1] == 7 * DAY && w[2] == 28 * DAY);
    ck_assert_uint_eq(compact_tiers(DAY, 7 * DAY, w), 1);
    ck_assert_uint_eq(compact_tiers(DAY, 30 * DAY, w), 2);
    ck_assert_uint_eq(compact_tiers(DAY, 365 * DAY, w), 3);
    ck_assert_uint_eq(compact_tiers(HOUR, 0, w), 4);
    ck_assert(w[1] == DAY);
    ck_assert_uint_eq(compact_tiers(2 * DAY, 0, w), 2);
    ck_assert(w[1] == 28 * DAY);
    ck_assert_uint_eq(compact_tiers(30 * DAY, 0, w), 1);

    /* partitions 0..9 (days since the epoch), 2 and 5 twice, frontier on
     * day 9: days 0-6 are a cold 7-day window; 7, 8, 9 are not */
    cplan_seg segs[12];
    size_t n = 0;
    for (int d = 0; d < 10; d++)
        segs[n++] = (cplan_seg){(uint64_t)d + 1, d * DAY, (d + 1) * DAY - 1, 1000};
    segs[n++] = (cplan_seg){20, 2 * DAY, 3 * DAY - 1, 100};
    segs[n++] = (cplan_seg){21, 8 * DAY, 9 * DAY - 1, 125};
    cplan_params p = {.partition_ns = DAY, .frontier = 9 * DAY + 5, .retention_ns = 0};
    cplan pl;
    ck_assert_int_eq(compact_plan(segs, n, &p, &pl), STRATA_OK);
    ck_assert_uint_eq(pl.ndrop, 0);
    ck_assert_uint_eq(pl.njobs, 2);
    ck_assert_int_eq(pl.jobs[0].part_first, 0);
    ck_assert_int_eq(pl.jobs[0].part_last, 7 * DAY - 1);
    ck_assert_uint_eq(pl.jobs[0].n, 8);
    ck_assert_int_eq(pl.jobs[1].part_first, 8 * DAY);
    ck_assert_uint_eq(pl.jobs[1].n, 2);
    ck_assert(pl.ids[pl.jobs[1].first] == 9 && pl.ids[pl.jobs[1].first + 1] == 21);
    compact_plan_free(&pl);
    /* background: day 8's late segment is an eighth of the day, so it
     * merges; one byte less and it waits; day 9 (the frontier's) waits */
    p.background = 1;
    ck_assert_int_eq(compact_plan(segs, n, &p, &pl), STRATA_OK);
    ck_assert_uint_eq(pl.njobs, 2);
    compact_plan_free(&pl);
    segs[n - 1].size = 124;
    ck_assert_int_eq(compact_plan(segs, n, &p, &pl), STRATA_OK);
    ck_assert_uint_eq(pl.njobs, 1);
    ck_assert_int_eq(pl.jobs[0].part_first, 0);
    compact_plan_free(&pl);
    segs[n - 1] = (cplan_seg){21, 9 * DAY, 10 * DAY - 1, 5000};
    ck_assert_int_eq(compact_plan(segs, n, &p, &pl), STRATA_OK);
    ck_assert_uint_eq(pl.njobs, 1);
    ck_assert_int_eq(pl.jobs[0].part_first, 0);
    compact_plan_free(&pl);
    /* retention 3 d: cutoff day 6 + 5 ns; days 0-5 expire */
    p.retention_ns = 3 * DAY;
    p.background = 0;
    ck_assert_int_eq(compact_plan(segs, n, &p, &pl), STRATA_OK);
    ck_assert_uint_eq(pl.ndrop, 7);
    ck_assert_uint_eq(pl.drop[6], 20);
    ck_assert_uint_eq(pl.njobs, 1); /* the two in day 9 */
    compact_plan_free(&pl);
}
END_TEST

/* ---- background runs and bulk loads ------------------------------------------------ */

static uint64_t live_segments(strata_db *db)
{
    strata_stats st;
    ck_assert_int_eq(strata_db_stats(db, &st), STRATA_OK);
    return st.segments;
}

/* One point an hour into day `day` (its hour h), then a flush. */
static void flush_point(strata_db *db, int day, int h)
{
    write_hourly(db, T0 + day * DAY + h * HOUR, 1, h);
    ck_assert_int_eq(strata_db_flush(db), STRATA_OK);
}

/* Day `day` in two flushed halves: two segments, merged once it is cold. */
static void two_halves(strata_db *db, int day)
{
    write_hourly(db, T0 + day * DAY, 12, 0);
    ck_assert_int_eq(strata_db_flush(db), STRATA_OK);
    write_hourly(db, T0 + day * DAY + 12 * HOUR, 12, 100);
    ck_assert_int_eq(strata_db_flush(db), STRATA_OK);
}

/* The background thread does not merge while flushes follow each other
 * (a bulk load), and does once they pause; a load that never pauses gets
 * its merges when the longest wait is over. */
START_TEST(test_compaction_waits_for_quiet)
{
    char *dir = tu_tmpdir();
    compact_set_defer(4000, 600000); /* a pause of 4 s between two flushes: none here */
    strata_db *db = open_db(dir, 1);
    two_halves(db, 0);
    flush_point(db, 2, 0); /* day 0 is cold: its two segments may merge */
    for (int i = 1; i <= 20; i++) {
        usleep(50000);
        flush_point(db, 2, i);
        ck_assert_uint_eq(live_segments(db), 3 + (uint64_t)i); /* nothing merged */
    }
    /* the flushes pause: day 0 and day 2 (21 segments) are merged */
    for (int i = 0; i < 300 && live_segments(db) != 2; i++)
        usleep(50000);
    ck_assert_uint_eq(live_segments(db), 2);
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);

    /* flushes without a pause, but a run waits at most 300 ms */
    compact_set_defer(600000, 300);
    db = open_db(dir, 1);
    two_halves(db, 4);
    flush_point(db, 6, 0);
    uint64_t most = live_segments(db), now = most;
    int hours = 1; /* day 6's points */
    for (; hours < 24 && now >= most; hours++) {
        usleep(50000);
        flush_point(db, 6, hours);
        now = live_segments(db);
        most = now > most ? now : most;
    }
    ck_assert_msg(now < most, "no merge while the flushes went on (%llu segments)",
                  (unsigned long long)now);
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    compact_set_defer(0, 0);
    int64_t first;
    uint64_t n;
    db = open_db(dir, 0);
    series_points(db, &first, &n);
    ck_assert_int_eq(first, T0);
    ck_assert_uint_eq(n, 24 + 21 + 24 + (uint64_t)hours);
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

Suite *compact_suite(void); /* found by the runner (suites.h) */

Suite *compact_suite(void)
{
    Suite *s = suite_create("compact");
    TCase *tc = tcase_create("compact");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_plan_tiers);
    tcase_add_test(tc, test_iterator_snapshot);
    tcase_add_test(tc, test_retention);
    tcase_add_test(tc, test_future_clock);
    tcase_add_test(tc, test_retention_edit_bytes);
    tcase_add_test(tc, test_tiers);
    tcase_add_test(tc, test_backfill_tiers);
    tcase_add_test(tc, test_same_dump_and_size);
    tcase_add_test(tc, test_fault_injection);
    tcase_add_test(tc, test_kill_compaction);
    tcase_add_test(tc, test_compaction_waits_for_quiet);
    suite_add_tcase(s, tc);
    return s;
}
