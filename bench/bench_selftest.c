/*
 * bench_selftest.c — a benchmark binary that exercises every feature of
 * the harness (bench/gbench.h) on trivial work, so that its console and
 * JSON output can be checked against Google Benchmark's: a bare loop,
 * items and bytes processed, user counters of every kind, arguments with
 * and without names, an error skip, manual timing, paused timing,
 * repetitions, a label, the binary's own flags and context.  It measures
 * nothing about Strata.
 *
 * Its default min_time is 0.05 s (not the harness's 0.5 s) so that a
 * whole run takes a second or two; --benchmark_min_time overrides it.
 *
 *   BM_Empty                         the loop alone
 *   BM_Memcpy/<bytes>                memcpy; bytes and items per second
 *   BM_Counters                      an LCG; plain, rate, averaged,
 *                                    iteration-invariant and inverted counters
 *   BM_Sum/rows:<r>/cols:<c>         sums an r x c int matrix; two named args
 *   BM_ScanDataDir                   stat() of --data-dir; skips with an
 *                                    error when there is none
 *   BM_Memset/manual_time            memset of 64 KiB, timed by the benchmark
 *   BM_SortPaused                    qsort of 64 ints; refilling them is paused
 *   BM_Xorshift/repeats:3            3 repetitions, with mean/median/stddev/cv
 */
#include "bench/gbench.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const char *data_dir = "";
static int64_t scale = 1;

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        fputs("bench_selftest: out of memory\n", stderr);
        abort();
    }
    return p;
}

static void bm_empty(gb_state *st)
{
    while (gb_loop(st))
        gb_clobber_memory();
}

static void bm_memcpy(gb_state *st)
{
    size_t n = (size_t)(gb_arg(st, 0) * scale);
    char *src = xmalloc(n), *dst = xmalloc(n);
    memset(src, 'x', n);
    while (gb_loop(st)) {
        memcpy(dst, src, n);
        gb_do_not_optimize(dst);
    }
    gb_set_bytes_processed(st, gb_iterations(st) * (int64_t)n);
    gb_set_items_processed(st, gb_iterations(st));
    free(src);
    free(dst);
}

static void bm_counters(gb_state *st)
{
    uint64_t x = 1, low = 0, sum_top = 0;
    while (gb_loop(st)) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        low += (x >> 62) == 0;
        sum_top += x >> 61;
        gb_do_not_optimize(&x);
    }
    gb_counter_set(st, "seed", 1, GB_COUNTER_PLAIN);
    gb_counter_set(st, "low_draws", (double)low, GB_COUNTER_RATE);
    gb_counter_set(st, "top_bits_avg", (double)sum_top, GB_COUNTER_AVG_ITERATIONS);
    gb_counter_set(st, "words", 2, GB_COUNTER_ITERATION_INVARIANT);
    gb_counter_set(st, "low_draw_interval", (double)low, GB_COUNTER_RATE | GB_COUNTER_INVERT);
    gb_set_label(st, "lcg");
}

static void bm_sum(gb_state *st)
{
    int64_t rows = gb_arg(st, 0), cols = gb_arg(st, 1) * scale;
    int *m = xmalloc((size_t)(rows * cols) * sizeof *m);
    for (int64_t i = 0; i < rows * cols; i++)
        m[i] = (int)i;
    while (gb_loop(st)) {
        int64_t sum = 0;
        for (int64_t r = 0; r < rows; r++)
            for (int64_t c = 0; c < cols; c++)
                sum += m[r * cols + c];
        gb_do_not_optimize(&sum);
    }
    gb_set_items_processed(st, gb_iterations(st) * rows * cols);
    free(m);
}

static void bm_scan_data_dir(gb_state *st)
{
    struct stat sb;
    if (!*data_dir || stat(data_dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        gb_skip_with_error(st, *data_dir ? "--data-dir is not a directory" : "no --data-dir given");
        return;
    }
    while (gb_loop(st)) {
        stat(data_dir, &sb);
        gb_do_not_optimize(&sb);
    }
}

static double seconds_between(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) * 1e-9;
}

static void bm_memset(gb_state *st)
{
    size_t n = (size_t)(64 << 10) * (size_t)scale;
    unsigned char *buf = xmalloc(n);
    int v = 0;
    while (gb_loop(st)) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        memset(buf, v++, n);
        gb_do_not_optimize(buf);
        clock_gettime(CLOCK_MONOTONIC, &b);
        gb_set_iteration_time(st, seconds_between(&a, &b));
    }
    gb_set_bytes_processed(st, gb_iterations(st) * (int64_t)n);
    free(buf);
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static void bm_sort_paused(gb_state *st)
{
    int v[64];
    uint32_t x = 2463534242u;
    while (gb_loop(st)) {
        gb_pause_timing(st);
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            v[i] = (int)(x & 0xffff);
        }
        gb_resume_timing(st);
        qsort(v, sizeof v / sizeof v[0], sizeof v[0], cmp_int);
        gb_do_not_optimize(v);
    }
    gb_set_items_processed(st, gb_iterations(st) * (int64_t)(sizeof v / sizeof v[0]));
}

static void bm_xorshift(gb_state *st)
{
    uint64_t x = 88172645463325252u;
    while (gb_loop(st)) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        gb_do_not_optimize(&x);
    }
    gb_set_items_processed(st, gb_iterations(st));
}

int main(int argc, char **argv)
{
    gb_set_default_min_time(0.05);
    gb_flag_string("data-dir", &data_dir, "directory BM_ScanDataDir stats");
    gb_flag_int("scale", &scale, "multiplies the buffer sizes");
    int rc = gb_init(argc, argv);
    if (rc != GB_CONTINUE)
        return rc;
    if (scale < 1 || scale > 1024) {
        fprintf(stderr, "bench_selftest: error: --scale=%" PRId64 ": expected 1..1024\n", scale);
        return 2;
    }

    gb_bench_register("BM_Empty", bm_empty);

    gb_bench *b = gb_bench_register("BM_Memcpy", bm_memcpy);
    gb_bench_range(b, 64, 4096, 8);

    gb_bench_register("BM_Counters", bm_counters);

    b = gb_bench_register("BM_Sum", bm_sum);
    gb_bench_arg_names(b, 2, (const char *const[]){"rows", "cols"});
    gb_bench_args(b, 2, (const int64_t[]){8, 4});
    gb_bench_args(b, 2, (const int64_t[]){64, 64});

    gb_bench_register("BM_ScanDataDir", bm_scan_data_dir);

    b = gb_bench_register("BM_Memset", bm_memset);
    gb_bench_manual_time(b);
    gb_bench_unit(b, GB_US);

    gb_bench_register("BM_SortPaused", bm_sort_paused);

    b = gb_bench_register("BM_Xorshift", bm_xorshift);
    gb_bench_repetitions(b, 3);

    gb_context_add("dataset", *data_dir ? data_dir : "synthetic");
    gb_context_addf("scale", "%" PRId64, scale);
    return gb_run();
}
