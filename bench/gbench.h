/*
 * gbench.h — the benchmark harness every bench/bench_*.c binary links: it
 * owns registration, the timed loop, the command-line flags and the output.
 * Console and JSON output follow Google Benchmark's (v1.8 and later), so
 * Google's tools/compare.py can compare two runs of ours.
 *
 * A binary, start to end:
 *
 *     static void bm_copy(gb_state *st)
 *     {
 *         size_t n = (size_t)gb_arg(st, 0);
 *         ... setup, not timed ...
 *         while (gb_loop(st)) {
 *             memcpy(dst, src, n);
 *             gb_do_not_optimize(dst);
 *         }
 *         gb_set_bytes_processed(st, gb_iterations(st) * (int64_t)n);
 *         ... teardown, not timed ...
 *     }
 *
 *     int main(int argc, char **argv)
 *     {
 *         gb_flag_int("scale", &scale, "rows per series");  // before gb_init
 *         int rc = gb_init(argc, argv);     // parses --benchmark_* and ours
 *         if (rc != GB_CONTINUE)
 *             return rc;                    // --help (0) or a bad flag (2)
 *         gb_bench *b = gb_bench_register("BM_Copy", bm_copy);
 *         gb_bench_range(b, 64, 64 << 10, 8);   // BM_Copy/64 ... /65536
 *         gb_context_addf("scale", "%" PRId64, scale);
 *         return gb_run();                  // 0, or 1 when nothing matched
 *     }
 *
 * gb_main(argc, argv) is gb_init + gb_run for binaries whose registrations
 * do not depend on their flags.
 *
 * The run.  Each benchmark instance (a family plus one argument tuple) is
 * called with 1, then more iterations (x10, or predicted from the last
 * time x1.4, at most 1e9) until a call measures at least min_time (0.5 s,
 * --benchmark_min_time) of CPU time (real time for gb_bench_real_time,
 * manual time for gb_bench_manual_time); that call is reported.  Every
 * call of the function runs its setup again; only the time inside
 * gb_loop() counts.  With repetitions, later repetitions reuse the first
 * one's iteration count, and mean/median/stddev/cv rows follow.
 *
 * Flags (--help lists them): --benchmark_filter=<regex> (POSIX extended,
 * "-" prefix negates), --benchmark_format=console|json,
 * --benchmark_out=<file>, --benchmark_out_format=json|console,
 * --benchmark_repetitions=<n>, --benchmark_report_aggregates_only=<bool>,
 * --benchmark_display_aggregates_only=<bool>,
 * --benchmark_min_time=<seconds>[s] | <iterations>x,
 * --benchmark_time_unit=ns|us|ms|s, --benchmark_context=<k>=<v>,...,
 * --benchmark_list_tests=<bool>, --help; plus the binary's own (gb_flag_*).
 * A bad flag prints a message and gb_init returns 2.
 *
 * Threads.  Single-threaded: register, init, run and every gb_state call
 * happen on one thread; each instance reports threads = 1.
 *
 * Errors.  Misuse (a NULL name, gb_arg out of range, a counter named like
 * a standard JSON field, registering from inside a benchmark) prints
 * "gbench: misuse: ..." and aborts: these are bugs in the benchmark, not
 * conditions to handle.  A benchmark function that returns before its
 * gb_loop() returned 0 is reported as skipped with an error.
 *
 * Ownership.  Every string passed in is copied, except the flag values
 * gb_flag_string stores (pointers into argv); nothing returned needs
 * freeing.  A gb_bench handle stays valid until the process exits.
 */
#ifndef STRATA_BENCH_GBENCH_H
#define STRATA_BENCH_GBENCH_H

#include <stdint.h>

typedef struct gb_state gb_state; /* one call of a benchmark function */
typedef struct gb_bench gb_bench; /* a family: a name, a function, argument tuples */
typedef void (*gb_fn)(gb_state *st);

typedef enum { GB_NS = 0, GB_US, GB_MS, GB_S } gb_unit; /* JSON "time_unit" */

/* Counter flags, combined with |; the value is finished in this order when
 * the run ends (as Google's benchmark::Counter does). */
#define GB_COUNTER_PLAIN 0u                      /* reported as set */
#define GB_COUNTER_RATE (1u << 0)                /* divided by the measured seconds: per second */
#define GB_COUNTER_ITERATION_INVARIANT (1u << 1) /* value is per iteration: x iterations */
#define GB_COUNTER_AVG_ITERATIONS (1u << 2)      /* averaged: divided by the iterations */
#define GB_COUNTER_INVERT (1u << 3)              /* 1/value, last: "seconds per item" */
#define GB_COUNTER_1024 (1u << 4) /* console prefixes Ki, Mi, Gi instead of k, M, G */

/* ---- registration (before gb_run) -------------------------------------- */

/* A new family; its instances run in registration order, its argument
 * tuples in the order added.  A family with no argument added has one
 * instance without arguments. */
gb_bench *gb_bench_register(const char *name, gb_fn fn);
/* One instance with one argument: "BM_Foo/1024". */
void gb_bench_arg(gb_bench *b, int64_t a);
/* One instance with n (1..8) arguments: "BM_Foo/8/2"; every tuple of a
 * family has the same n. */
void gb_bench_args(gb_bench *b, int n, const int64_t *args);
/* Instances lo, then the powers of mult (1, mult, mult^2, ...) strictly
 * between lo and hi, then hi (Google's Range): gb_bench_range(b, 8, 1024, 8)
 * is 8, 64, 512, 1024. */
void gb_bench_range(gb_bench *b, int64_t lo, int64_t hi, int64_t mult);
/* Names the arguments in instance names: "BM_Foo/rows:8/cols:2".  An empty
 * name leaves that argument bare. */
void gb_bench_arg_names(gb_bench *b, int n, const char *const *names);
void gb_bench_unit(gb_bench *b, gb_unit unit); /* else --benchmark_time_unit, else ns */
/* real_time is what the function reports with gb_set_iteration_time; the
 * name gains "/manual_time". */
void gb_bench_manual_time(gb_bench *b);
/* Iterations grow until real time, not CPU time, reaches min_time; the
 * name gains "/real_time". */
void gb_bench_real_time(gb_bench *b);
/* cpu_time counts every thread of the process (CLOCK_PROCESS_CPUTIME_ID),
 * not only the calling one; the name gains "/process_time". */
void gb_bench_process_cpu_time(gb_bench *b);
/* A fixed iteration count, no growth; the name gains "/iterations:n". */
void gb_bench_iterations(gb_bench *b, int64_t n);
/* Overrides --benchmark_repetitions; the name gains "/repeats:n". */
void gb_bench_repetitions(gb_bench *b, int n);
/* Overrides --benchmark_min_time; the name gains "/min_time:0.100". */
void gb_bench_min_time(gb_bench *b, double seconds);

/* ---- the binary's own flags and context (before gb_init / gb_run) ------- */

/* "--<name>=<value>" sets *dst; the value *dst holds at registration is
 * the default --help shows.  A name may not start with "benchmark_"; a
 * bool flag also takes a bare "--<name>" (true) and true/false, yes/no,
 * on/off, 1/0.  The string a string flag points to stays valid until exit. */
void gb_flag_string(const char *name, const char **dst, const char *help);
void gb_flag_int(const char *name, int64_t *dst, const char *help);
void gb_flag_double(const char *name, double *dst, const char *help);
void gb_flag_bool(const char *name, int *dst, const char *help);

/* A key/value for the JSON "context" block and the console header (Google's
 * AddCustomContext).  Returns 0, or -1 (with a warning on stderr) when the
 * key is a standard context field or was added before; the first value
 * stays. */
int gb_context_add(const char *key, const char *value);
int gb_context_addf(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* This binary's min_time when --benchmark_min_time is not given (the
 * harness default is 0.5 s): for a binary whose runs must stay short. */
void gb_set_default_min_time(double seconds);

/* ---- running ------------------------------------------------------------- */

#define GB_CONTINUE (-1)
/* Parses argv.  Returns GB_CONTINUE when the caller should go on, else the
 * exit status for main: 0 after --help, 2 after a bad flag (with a message
 * on stderr). */
int gb_init(int argc, char **argv);
/* Lists (--benchmark_list_tests) or runs the benchmarks that match the
 * filter and writes the reports.  Returns 0; 1 when no benchmark matched
 * the filter; 2 when --benchmark_out cannot be written.  A benchmark that
 * skipped with an error is reported, and still returns 0. */
int gb_run(void);
int gb_main(int argc, char **argv);

/* ---- inside a benchmark function ----------------------------------------- */

/* The timed loop: while (gb_loop(st)) { ... }.  The timer starts at the
 * first call and stops when it returns 0, after gb_iterations(st) passes
 * (or at once after gb_skip_with_error).  Run it to completion, once, in
 * every call of the function. */
static inline int gb_loop(gb_state *st);
int64_t gb_iterations(const gb_state *st); /* the passes this call makes */
int64_t gb_arg(const gb_state *st, int i); /* i-th argument of the instance */
/* Stop and restart the timer inside the loop, around work not measured. */
void gb_pause_timing(gb_state *st);
void gb_resume_timing(gb_state *st);
/* Manual time: the seconds this iteration took, once per iteration. */
void gb_set_iteration_time(gb_state *st, double seconds);
/* Totals over all iterations; reported per second of measured time, as
 * the "items_per_second" and "bytes_per_second" counters. */
void gb_set_items_processed(gb_state *st, int64_t items);
void gb_set_bytes_processed(gb_state *st, int64_t bytes);
/* A user counter: a top-level JSON key and "name=value" in the console.
 * Setting it again replaces it.  Flags: GB_COUNTER_*. */
void gb_counter_set(gb_state *st, const char *name, double value, unsigned flags);
void gb_set_label(gb_state *st, const char *label);
/* The run is reported with error_occurred/error_message instead of times.
 * Called before the loop, the loop body never runs; inside it, break out
 * (gb_loop returns 0 next). */
void gb_skip_with_error(gb_state *st, const char *message);
int gb_error_occurred(const gb_state *st);

/* Keep the compiler from deleting work whose result is unused: the bytes
 * at p count as read, and all memory as possibly written. */
static inline void gb_do_not_optimize(const void *p)
{
    __asm__ __volatile__("" : : "r"(p) : "memory");
}
static inline void gb_clobber_memory(void)
{
    __asm__ __volatile__("" : : : "memory");
}

/* Private: the slow edge of gb_loop (first and last pass).  struct
 * gb_state starts with the count of passes left, which the inline part
 * decrements; see gbench.c. */
int gb_loop_edge_(gb_state *st);

static inline int gb_loop(gb_state *st)
{
    int64_t *left = (int64_t *)(void *)st;
    if (*left > 0) {
        --*left;
        return 1;
    }
    return gb_loop_edge_(st);
}

#endif
