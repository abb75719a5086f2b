/*
 * bench_ingest.c — the embedded write and read paths on the fleet
 * workload (line protocol built in memory; --trucks=20 small, 200 default).
 *
 *   BM_IngestLP/sync:<policy>/threads:<n>
 *       open a new database, parse every line with strata_batch_add_lp,
 *       write batches of 10,000 lines (n threads each with its own batch,
 *       taking alternate batches), close (which flushes to segments);
 *       timed from open to the end of close.  items_per_second = values/s.
 *   BM_Replay
 *       open a database whose points are all in the write-ahead log (the
 *       state a crash leaves) read-only, which replays the log; values/s.
 *   BM_ScanAll
 *       read every series of a flushed database through its iterator.
 */
#include "bench/gbench.h"
#include "bench/workload.h"

#include "engine/iter.h"
#include "strata.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define BATCH_LINES 10000

static int64_t trucks = 20;
static wl_text text;
static const char **line_start; /* every line's start; line_start[nlines] = end */
static size_t nlines;
static char *replay_dir, *flushed_dir;

static void index_lines(void)
{
    line_start = malloc((text.lines + 2) * sizeof *line_start);
    const char *p = text.text, *end = text.text + text.len;
    while (p < end) {
        line_start[nlines++] = p;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        p = nl ? nl + 1 : end;
    }
    line_start[nlines] = end; /* the text ends with a newline */
}

typedef struct job {
    strata_db *db;
    int threads, id;
    int rc;
} job;

static void *write_part(void *arg)
{
    job *j = arg;
    strata_batch *b;
    if ((j->rc = strata_batch_new(j->db, &b)) != STRATA_OK)
        return NULL;
    size_t nbatches = (nlines + BATCH_LINES - 1) / BATCH_LINES;
    for (size_t k = (size_t)j->id; k < nbatches && j->rc == STRATA_OK; k += (size_t)j->threads) {
        size_t last = (k + 1) * BATCH_LINES < nlines ? (k + 1) * BATCH_LINES : nlines;
        for (size_t i = k * BATCH_LINES; i < last; i++) {
            strata_lp_error e;
            size_t len = (size_t)(line_start[i + 1] - line_start[i]) - 1;
            if (strata_batch_add_lp(b, line_start[i], len, STRATA_PRECISION_NS, 0, &e)) {
                fprintf(stderr, "line %zu: %s\n", i + 1, e.message);
                j->rc = STRATA_ERROR;
                break;
            }
        }
        if (j->rc == STRATA_OK)
            j->rc = strata_db_write(j->db, b);
        strata_batch_clear(b);
    }
    strata_batch_free(b);
    return NULL;
}

/* Write the whole workload into dir with n threads; returns 0 or an error. */
static int ingest(const char *dir, strata_sync sync, int threads, int close_it, strata_db **keep)
{
    strata_options o;
    strata_options_init(&o);
    o.create_if_missing = 1;
    o.sync = sync;
    o.sync_interval_ms = 1000;
    if (keep) { /* everything stays in the log: one 30-day partition, big head */
        o.partition_ns = 30 * 86400000000000LL;
        o.head_budget_bytes = (size_t)8 << 30;
    }
    strata_db *db;
    if (strata_db_open(dir, &o, &db) != STRATA_OK)
        return -1;
    pthread_t t[8];
    job j[8];
    for (int i = 0; i < threads; i++) {
        j[i] = (job){db, threads, i, STRATA_OK};
        pthread_create(&t[i], NULL, write_part, &j[i]);
    }
    int rc = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        rc |= j[i].rc;
    }
    if (close_it)
        rc |= strata_db_close(db);
    else
        *keep = db;
    return rc;
}

static void bm_ingest(gb_state *st, strata_sync sync)
{
    int threads = (int)gb_arg(st, 0);
    while (gb_loop(st)) {
        gb_pause_timing(st);
        char *dir = wl_tmpdir();
        gb_resume_timing(st);
        int rc = ingest(dir, sync, threads, 1, NULL);
        gb_pause_timing(st);
        wl_rmrf(dir);
        free(dir);
        if (rc) {
            gb_skip_with_error(st, strata_errmsg(NULL));
            return;
        }
        gb_resume_timing(st);
    }
    gb_set_items_processed(st, gb_iterations(st) * (int64_t)text.values);
}

#define INGEST_BENCH(policy, sym)                                                                 \
    static void bm_ingest_##sym(gb_state *st)                                                      \
    {                                                                                              \
        bm_ingest(st, policy);                                                                     \
    }
INGEST_BENCH(STRATA_SYNC_BATCH, batch)
INGEST_BENCH(STRATA_SYNC_ALWAYS, always)
INGEST_BENCH(STRATA_SYNC_INTERVAL, interval)
INGEST_BENCH(STRATA_SYNC_NONE, none)

/* A database whose points are all in the log: the writer process dies
 * without closing (a crash), as _exit() in a child does. */
static char *make_replay_db(void)
{
    char *dir = wl_tmpdir();
    pid_t pid = fork();
    if (pid == 0) {
        strata_db *db;
        int rc = ingest(dir, STRATA_SYNC_NONE, 1, 0, &db);
        _exit(rc ? 1 : 0);
    }
    int status;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench_ingest: cannot build the replay database\n");
        exit(1);
    }
    return dir;
}

static void bm_replay(gb_state *st)
{
    strata_options o;
    strata_options_init(&o);
    o.read_only = 1;
    while (gb_loop(st)) {
        strata_db *db;
        if (strata_db_open(replay_dir, &o, &db) != STRATA_OK) {
            gb_skip_with_error(st, strata_errmsg(NULL));
            return;
        }
        strata_stats s;
        strata_db_stats(db, &s);
        if (s.head_points != text.values) {
            gb_skip_with_error(st, "replay did not restore every point");
            strata_db_close(db);
            return;
        }
        strata_db_close(db);
    }
    gb_set_items_processed(st, gb_iterations(st) * (int64_t)text.values);
}

static void bm_scan(gb_state *st)
{
    strata_options o;
    strata_options_init(&o);
    o.read_only = 1;
    strata_db *db;
    if (strata_db_open(flushed_dir, &o, &db) != STRATA_OK) {
        gb_skip_with_error(st, strata_errmsg(NULL));
        return;
    }
    uint64_t nseries;
    strata_series_count(db, &nseries);
    int64_t ts[4096];
    uint64_t v[4096];
    uint64_t total = 0;
    while (gb_loop(st)) {
        total = 0;
        for (uint64_t id = 0; id < nseries; id++) {
            strata_iter *it;
            strata_iter_open(db, id, INT64_MIN, INT64_MAX, &it);
            size_t n;
            while (iter_next_raw(it, ts, v, 4096, &n) == STRATA_ROW) {
                total += n;
                gb_do_not_optimize(v);
            }
            strata_iter_close(it);
        }
    }
    strata_db_close(db);
    if (total != text.values)
        gb_skip_with_error(st, "the scan did not see every point");
    gb_set_items_processed(st, gb_iterations(st) * (int64_t)text.values);
}

int main(int argc, char **argv)
{
    gb_flag_int("trucks", &trucks, "fleet size (20 = small, 200 = default scale)");
    int rc = gb_init(argc, argv);
    if (rc != GB_CONTINUE)
        return rc;
    if (wl_fleet_text(trucks, &text)) {
        fprintf(stderr, "bench_ingest: cannot build the workload\n");
        return 1;
    }
    index_lines();
    gb_context_addf("workload", "fleet, %lld trucks x 1 day, 10 s: %llu lines, %llu values",
                    (long long)trucks, (unsigned long long)text.lines,
                    (unsigned long long)text.values);
    replay_dir = make_replay_db();
    flushed_dir = wl_tmpdir();
    if (ingest(flushed_dir, STRATA_SYNC_NONE, 1, 1, NULL)) {
        fprintf(stderr, "bench_ingest: cannot build the scan database\n");
        return 1;
    }

    static const struct {
        const char *name;
        gb_fn fn;
    } policies[] = {{"BM_IngestLP/sync:batch", bm_ingest_batch},
                    {"BM_IngestLP/sync:always", bm_ingest_always},
                    {"BM_IngestLP/sync:interval", bm_ingest_interval},
                    {"BM_IngestLP/sync:none", bm_ingest_none}};
    for (size_t i = 0; i < sizeof policies / sizeof policies[0]; i++) {
        gb_bench *b = gb_bench_register(policies[i].name, policies[i].fn);
        gb_bench_arg(b, 1);
        gb_bench_arg(b, 2);
        gb_bench_arg_names(b, 1, (const char *const[]){"writers"});
        gb_bench_unit(b, GB_MS);
        gb_bench_real_time(b);
        gb_bench_process_cpu_time(b);
    }
    gb_bench *b = gb_bench_register("BM_Replay", bm_replay);
    gb_bench_unit(b, GB_MS);
    b = gb_bench_register("BM_ScanAll", bm_scan);
    gb_bench_unit(b, GB_MS);
    rc = gb_run();
    wl_rmrf(replay_dir);
    wl_rmrf(flushed_dir);
    return rc;
}
