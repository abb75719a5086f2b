/*
 * bench_cli.c — the `strata` command end to end, as a user runs it: the
 * fleet workload written once to a line-protocol file, then each iteration
 * `strata ingest <new db> <file>` as a separate process (open, parse,
 * write with sync=batch, flush, close).  Reports values/s over the
 * process's wall time, its peak resident set (wait4's ru_maxrss, the
 * figure /usr/bin/time -v prints), and the database's bytes on disk per
 * value (allocated blocks, as du counts them).
 *
 *   BM_CliIngest/trucks:<n>/cores:<c>   --strata=PATH (default build/strata);
 *                             cores:1 pins the process (and its flush
 *                             thread) to one CPU with taskset
 *   BM_CliDump/trucks:<n>     `strata dump` of that database to /dev/null
 */
#define _GNU_SOURCE
#include "bench/gbench.h"
#include "bench/workload.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char *strata_bin = "build/strata";
static int64_t trucks = 200;
static char *workdir, *lp_path;
static uint64_t nvalues;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Run argv with stdout to out_path (or inherited); returns the exit status
 * (-1 on failure to run), *maxrss_kb the child's peak RSS. */
static int run(char *const argv[], const char *out_path, long *maxrss_kb)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (out_path)
        posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return -1;
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0)
        return -1;
    *maxrss_kb = ru.ru_maxrss;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static uint64_t du_bytes(const char *dir)
{
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "du -B1 -s '%s'", dir);
    FILE *p = popen(cmd, "r");
    unsigned long long b = 0;
    if (!p || fscanf(p, "%llu", &b) != 1)
        b = 0;
    if (p)
        pclose(p);
    return b;
}

static void bm_cli_ingest(gb_state *st)
{
    int one_core = gb_arg(st, 1) == 1;
    char db[4300];
    snprintf(db, sizeof db, "%s/db", workdir);
    long rss = 0, max_rss = 0;
    double secs = 0;
    uint64_t disk = 0;
    while (gb_loop(st)) {
        gb_pause_timing(st);
        wl_rmrf(db);
        char *plain[] = {(char *)strata_bin, "ingest", db, "--quiet", lp_path, NULL};
        char *pinned[] = {"/usr/bin/taskset", "-c", "0", (char *)strata_bin, "ingest", db,
                          "--quiet", lp_path, NULL};
        char **argv = one_core ? pinned : plain;
        double t0 = now_s();
        int rc = run(argv, NULL, &rss);
        double t1 = now_s();
        if (rc != 0) {
            gb_skip_with_error(st, "strata ingest failed");
            return;
        }
        secs += t1 - t0;
        max_rss = rss > max_rss ? rss : max_rss;
        disk = du_bytes(db);
        gb_set_iteration_time(st, t1 - t0);
        gb_resume_timing(st);
    }
    gb_set_items_processed(st, gb_iterations(st) * (int64_t)nvalues);
    gb_counter_set(st, "peak_rss_mb", (double)max_rss / 1024.0, 0);
    gb_counter_set(st, "bytes_per_value", (double)disk / (double)nvalues, 0);
    gb_counter_set(st, "disk_bytes", (double)disk, 0);
    (void)secs;
}

static void bm_cli_dump(gb_state *st)
{
    char db[4300];
    snprintf(db, sizeof db, "%s/db", workdir);
    while (gb_loop(st)) {
        long rss;
        char *argv[] = {(char *)strata_bin, "dump", db, NULL};
        double t0 = now_s();
        int rc = run(argv, "/dev/null", &rss);
        gb_set_iteration_time(st, now_s() - t0);
        if (rc != 0) {
            gb_skip_with_error(st, "strata dump failed (run BM_CliIngest first)");
            return;
        }
    }
    gb_set_items_processed(st, gb_iterations(st) * (int64_t)nvalues);
}

int main(int argc, char **argv)
{
    gb_flag_string("strata", &strata_bin, "the strata binary to run");
    gb_flag_int("trucks", &trucks, "fleet size (20 = small, 200 = default scale)");
    int rc = gb_init(argc, argv);
    if (rc != GB_CONTINUE)
        return rc;
    if (access(strata_bin, X_OK) != 0) {
        fprintf(stderr, "bench_cli: %s is not executable (use --strata=)\n", strata_bin);
        return 2;
    }
    workdir = wl_tmpdir();
    if (asprintf(&lp_path, "%s/fleet.lp", workdir) < 0)
        return 1;
    char tr[32];
    snprintf(tr, sizeof tr, "%lld", (long long)trucks);
    char *gen[] = {(char *)strata_bin, "gen", "fleet", "--trucks", tr, "-o", lp_path, NULL};
    long rss;
    if (run(gen, NULL, &rss) != 0) {
        fprintf(stderr, "bench_cli: strata gen fleet failed\n");
        return 1;
    }
    nvalues = (uint64_t)trucks * 8640 * 10;
    struct stat sb;
    stat(lp_path, &sb);
    gb_context_addf("workload", "fleet, %lld trucks x 1 day, 10 s: %llu values, %lld bytes of "
                    "line protocol", (long long)trucks, (unsigned long long)nvalues,
                    (long long)sb.st_size);
    gb_context_add("strata", strata_bin);
    gb_bench *b = gb_bench_register("BM_CliIngest", bm_cli_ingest);
    gb_bench_args(b, 2, (const int64_t[]){trucks, 1});
    gb_bench_args(b, 2, (const int64_t[]){trucks, 2});
    gb_bench_arg_names(b, 2, (const char *const[]){"trucks", "cores"});
    gb_bench_unit(b, GB_MS);
    gb_bench_manual_time(b);
    b = gb_bench_register("BM_CliDump", bm_cli_dump);
    gb_bench_arg(b, trucks);
    gb_bench_arg_names(b, 1, (const char *const[]){"trucks"});
    gb_bench_unit(b, GB_MS);
    gb_bench_manual_time(b);
    rc = gb_run();
    wl_rmrf(workdir);
    return rc;
}
