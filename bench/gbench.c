/*
 * gbench.c — the benchmark harness (see gbench.h): the registry of
 * families, flags and context; the flag parser; the runner that grows
 * iteration counts, repeats and aggregates; and the console and JSON
 * reporters.  No benchmark of its own.
 *
 * Output formats, as Google Benchmark v1.8+ writes them (src/json_reporter.cc,
 * src/console_reporter.cc, src/reporter.cc) and as tools/gbench/util.py and
 * report.py read them:
 *   JSON   {"context": {date, host_name, executable, num_cpus, mhz_per_cpu,
 *          cpu_scaling_enabled, caches[], load_avg[], library_build_type,
 *          json_schema_version, custom keys...}, "benchmarks": [rows]}.
 *          A row: name, family_index, per_family_instance_index, run_name,
 *          run_type, repetitions, repetition_index (iteration rows),
 *          threads, aggregate_name + aggregate_unit (aggregate rows),
 *          error_occurred + error_message (skipped rows), iterations,
 *          real_time, cpu_time, time_unit, counters sorted by name, label.
 *          Doubles as %.16e, non-finite ones as NaN/Infinity (Python's json
 *          reads those).  Skipped rows keep real_time/cpu_time (0): report.py
 *          reads them from every non-aggregate row for its geomean.
 *   Console  the context on the error stream; the table on the output
 *          stream: a dashed header once, then "%-*s" name, time and CPU as
 *          "%10.Nf unit" (N by magnitude), "%10lld" iterations, " k=v"
 *          counters with k/M/G (or Ki/Mi/Gi) prefixes and "/s" for rates,
 *          the label.  cv rows print percentages.
 *   A "cv" aggregate's real_time/cpu_time in JSON is the plain ratio
 *   (aggregate_unit "percentage"); mean/median/stddev are per-iteration times.
 *
 * Global state: one registry R (families, the binary's flags, context,
 * parsed options), filled before gb_run and only read by it; everything a
 * run makes (instances, rows, reporters) lives in gb_run's frame and is
 * freed before it returns.  Single-threaded throughout.
 */
#include "bench/gbench.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS 8
#define MAX_ITERATIONS INT64_C(1000000000) /* Google's kMaxIterations */
#define DEFAULT_MIN_TIME 0.5
#define MAX_CACHES 16

enum { FMT_CONSOLE, FMT_JSON };

/* ---- small helpers ------------------------------------------------------ */

static void misuse(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void misuse(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("gbench: misuse: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fputs("gbench: out of memory\n", stderr);
        abort();
    }
    return q;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        fputs("gbench: out of memory\n", stderr);
        abort();
    }
    return p;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xrealloc(NULL, n), s, n);
}

static char *xvasprintf(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        misuse("bad format string \"%s\"", fmt);
    char *s = xrealloc(NULL, (size_t)n + 1);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = xvasprintf(fmt, ap);
    va_end(ap);
    return s;
}

/* v (of *cap elements of size sz), grown to hold at least need elements. */
static void *grow(void *v, int *cap, int need, size_t sz)
{
    if (need <= *cap)
        return v;
    int c = *cap ? *cap * 2 : 8;
    while (c < need)
        c *= 2;
    *cap = c;
    return xrealloc(v, (size_t)c * sz);
}

static int is_one_of(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

/* ---- counters ------------------------------------------------------------ */

struct counter {
    char *name;
    double value;
    unsigned flags;
};

struct counters {
    struct counter *v;
    int n, cap;
};

/* Keys a row already has: a counter may not take one of them. */
static const char *const row_keys[] = {"name",
                                       "family_index",
                                       "per_family_instance_index",
                                       "run_name",
                                       "run_type",
                                       "repetitions",
                                       "repetition_index",
                                       "threads",
                                       "aggregate_name",
                                       "aggregate_unit",
                                       "error_occurred",
                                       "error_message",
                                       "iterations",
                                       "real_time",
                                       "cpu_time",
                                       "time_unit",
                                       "label",
                                       "big_o",
                                       "rms",
                                       "cpu_coefficient",
                                       "real_coefficient",
                                       NULL};

/* Sets name to value, keeping the array sorted by name (Google keeps
 * counters in a std::map, so reports list them in byte order). */
static void counters_set(struct counters *c, const char *name, double value, unsigned flags)
{
    int i = 0;
    while (i < c->n && strcmp(c->v[i].name, name) < 0)
        i++;
    if (i < c->n && strcmp(c->v[i].name, name) == 0) {
        c->v[i].value = value;
        c->v[i].flags = flags;
        return;
    }
    c->v = grow(c->v, &c->cap, c->n + 1, sizeof *c->v);
    memmove(&c->v[i + 1], &c->v[i], (size_t)(c->n - i) * sizeof *c->v);
    c->v[i] = (struct counter){xstrdup(name), value, flags};
    c->n++;
}

static const struct counter *counters_find(const struct counters *c, const char *name)
{
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->v[i].name, name) == 0)
            return &c->v[i];
    return NULL;
}

static void counters_free(struct counters *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->v[i].name);
    free(c->v);
    *c = (struct counters){0};
}

/* The value a counter reports once the run has ended (Google's Finish). */
static double counter_finish(const struct counter *c, int64_t iterations, double seconds)
{
    double v = c->value;
    if (c->flags & GB_COUNTER_RATE)
        v /= seconds;
    if (c->flags & GB_COUNTER_ITERATION_INVARIANT)
        v *= (double)iterations;
    if (c->flags & GB_COUNTER_AVG_ITERATIONS)
        v /= (double)iterations;
    if (c->flags & GB_COUNTER_INVERT)
        v = 1.0 / v;
    return v;
}

/* ---- the registry --------------------------------------------------------- */

struct gb_bench {
    char *name;
    gb_fn fn;
    int nargs; /* arguments per tuple; 0 until the first tuple */
    int ntuples, cap;
    int64_t *tuples; /* ntuples * nargs */
    char *arg_names[MAX_ARGS];
    int unit_set;
    gb_unit unit;
    int manual_time, real_time, process_cpu;
    int64_t iterations; /* 0: grow */
    int repetitions;    /* 0: the flag's */
    double min_time;    /* 0: the flag's */
};

enum flag_type { FLAG_STRING, FLAG_INT, FLAG_DOUBLE, FLAG_BOOL };

struct user_flag {
    char *name, *help, *deflt;
    enum flag_type type;
    void *dst;
};

struct kv {
    char *key, *value;
};

struct options {
    const char *filter;
    int format;
    const char *out;
    int out_format;
    int repetitions;
    int report_aggregates_only, display_aggregates_only;
    int min_time_set;
    double min_time;
    int64_t min_iterations; /* from "<n>x"; 0 = use min_time */
    int unit_set;
    gb_unit unit;
    int list_tests;
};

static struct {
    gb_bench **fams;
    int nfams, capfams;
    struct user_flag *flags;
    int nflags, capflags;
    struct kv *ctx; /* sorted by key, as Google's std::map */
    int nctx, capctx;
    int default_min_time_set;
    double default_min_time;
    const char *exe;  /* argv[0], for the context */
    const char *prog; /* its last component, for messages */
    int running;
    struct options opt;
} R = {.opt = {.filter = "", .format = FMT_CONSOLE, .out_format = FMT_JSON, .repetitions = 1}};

static void check_not_running(const char *what)
{
    if (R.running)
        misuse("%s during gb_run", what);
}

gb_bench *gb_bench_register(const char *name, gb_fn fn)
{
    check_not_running("gb_bench_register");
    if (!name || !*name || !fn)
        misuse("gb_bench_register needs a name and a function");
    gb_bench *b = xcalloc(1, sizeof *b);
    b->name = xstrdup(name);
    b->fn = fn;
    R.fams = grow(R.fams, &R.capfams, R.nfams + 1, sizeof *R.fams);
    R.fams[R.nfams++] = b;
    return b;
}

void gb_bench_args(gb_bench *b, int n, const int64_t *args)
{
    check_not_running("gb_bench_args");
    if (n < 1 || n > MAX_ARGS)
        misuse("%s: %d arguments (1 to %d allowed)", b->name, n, MAX_ARGS);
    if (b->ntuples && n != b->nargs)
        misuse("%s: %d arguments after tuples of %d", b->name, n, b->nargs);
    b->nargs = n;
    b->tuples = grow(b->tuples, &b->cap, (b->ntuples + 1) * n, sizeof *b->tuples);
    memcpy(&b->tuples[b->ntuples * n], args, (size_t)n * sizeof *args);
    b->ntuples++;
}

void gb_bench_arg(gb_bench *b, int64_t a)
{
    gb_bench_args(b, 1, &a);
}

void gb_bench_range(gb_bench *b, int64_t lo, int64_t hi, int64_t mult)
{
    if (lo < 0 || hi < lo || mult < 2)
        misuse("%s: gb_bench_range(%" PRId64 ", %" PRId64 ", %" PRId64 ")", b->name, lo, hi, mult);
    gb_bench_arg(b, lo);
    for (int64_t p = 1; p < hi; p *= mult) {
        if (p > lo)
            gb_bench_arg(b, p);
        if (p > INT64_MAX / mult)
            break;
    }
    if (hi != lo)
        gb_bench_arg(b, hi);
}

void gb_bench_arg_names(gb_bench *b, int n, const char *const *names)
{
    check_not_running("gb_bench_arg_names");
    if (n < 1 || n > MAX_ARGS)
        misuse("%s: %d argument names (1 to %d allowed)", b->name, n, MAX_ARGS);
    for (int i = 0; i < n; i++) {
        free(b->arg_names[i]);
        b->arg_names[i] = names[i] && *names[i] ? xstrdup(names[i]) : NULL;
    }
}

void gb_bench_unit(gb_bench *b, gb_unit unit)
{
    if (unit < GB_NS || unit > GB_S)
        misuse("%s: unknown time unit %d", b->name, (int)unit);
    b->unit_set = 1;
    b->unit = unit;
}

void gb_bench_manual_time(gb_bench *b)
{
    b->manual_time = 1;
}

void gb_bench_real_time(gb_bench *b)
{
    b->real_time = 1;
}

void gb_bench_process_cpu_time(gb_bench *b)
{
    b->process_cpu = 1;
}

void gb_bench_iterations(gb_bench *b, int64_t n)
{
    if (n < 1 || n > MAX_ITERATIONS)
        misuse("%s: %" PRId64 " iterations", b->name, n);
    b->iterations = n;
}

void gb_bench_repetitions(gb_bench *b, int n)
{
    if (n < 1)
        misuse("%s: %d repetitions", b->name, n);
    b->repetitions = n;
}

void gb_bench_min_time(gb_bench *b, double seconds)
{
    if (!(seconds > 0) || !isfinite(seconds))
        misuse("%s: min_time %g", b->name, seconds);
    b->min_time = seconds;
}

void gb_set_default_min_time(double seconds)
{
    if (!(seconds >= 0) || !isfinite(seconds))
        misuse("gb_set_default_min_time(%g)", seconds);
    R.default_min_time_set = 1;
    R.default_min_time = seconds;
}

static double default_min_time(void)
{
    return R.default_min_time_set ? R.default_min_time : DEFAULT_MIN_TIME;
}

/* ---- the binary's flags -------------------------------------------------- */

static void add_flag(const char *name, enum flag_type type, void *dst, const char *help,
                     char *deflt)
{
    check_not_running("gb_flag_*");
    if (!name || !*name || !dst || strncmp(name, "benchmark_", 10) == 0 ||
        strcmp(name, "help") == 0 || strchr(name, '='))
        misuse("flag name \"%s\" is empty, reserved or has '='", name ? name : "(null)");
    for (int i = 0; i < R.nflags; i++)
        if (strcmp(R.flags[i].name, name) == 0)
            misuse("flag --%s registered twice", name);
    R.flags = grow(R.flags, &R.capflags, R.nflags + 1, sizeof *R.flags);
    R.flags[R.nflags++] =
        (struct user_flag){xstrdup(name), xstrdup(help ? help : ""), deflt, type, dst};
}

void gb_flag_string(const char *name, const char **dst, const char *help)
{
    add_flag(name, FLAG_STRING, (void *)dst, help, xasprintf("\"%s\"", dst && *dst ? *dst : ""));
}

void gb_flag_int(const char *name, int64_t *dst, const char *help)
{
    add_flag(name, FLAG_INT, dst, help, xasprintf("%" PRId64, dst ? *dst : 0));
}

void gb_flag_double(const char *name, double *dst, const char *help)
{
    add_flag(name, FLAG_DOUBLE, dst, help, xasprintf("%g", dst ? *dst : 0));
}

void gb_flag_bool(const char *name, int *dst, const char *help)
{
    add_flag(name, FLAG_BOOL, dst, help, xstrdup(dst && *dst ? "true" : "false"));
}

/* ---- context ----------------------------------------------------------------- */

static const char *const context_keys[] = {"date",
                                           "host_name",
                                           "executable",
                                           "num_cpus",
                                           "mhz_per_cpu",
                                           "cpu_scaling_enabled",
                                           "caches",
                                           "load_avg",
                                           "library_build_type",
                                           "library_version",
                                           "json_schema_version",
                                           NULL};

int gb_context_add(const char *key, const char *value)
{
    check_not_running("gb_context_add");
    if (!key || !*key || !value)
        misuse("gb_context_add needs a key and a value");
    if (is_one_of(key, context_keys)) {
        fprintf(stderr, "gbench: context key \"%s\" is a standard field; not added\n", key);
        return -1;
    }
    int i = 0;
    while (i < R.nctx && strcmp(R.ctx[i].key, key) < 0)
        i++;
    if (i < R.nctx && strcmp(R.ctx[i].key, key) == 0) {
        fprintf(stderr, "gbench: context \"%s\" already has the value \"%s\"; \"%s\" not added\n",
                key, R.ctx[i].value, value);
        return -1;
    }
    R.ctx = grow(R.ctx, &R.capctx, R.nctx + 1, sizeof *R.ctx);
    memmove(&R.ctx[i + 1], &R.ctx[i], (size_t)(R.nctx - i) * sizeof *R.ctx);
    R.ctx[i] = (struct kv){xstrdup(key), xstrdup(value)};
    R.nctx++;
    return 0;
}

int gb_context_addf(const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *value = xvasprintf(fmt, ap);
    va_end(ap);
    int rc = gb_context_add(key, value);
    free(value);
    return rc;
}

/* ---- flag parsing ---------------------------------------------------------------- */

static void flag_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void flag_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: error: ", R.prog);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n%s: try --help\n", R.prog);
    va_end(ap);
}

/* A bare flag is true; else true/false, yes/no, on/off, 1/0, t/f, y/n in
 * any case. */
static int parse_bool(const char *name, const char *v, int *out)
{
    static const char *const words[] = {"false", "true", "no", "yes", "off", "on",
                                        "0",     "1",    "f",  "t",   "n",   "y"};
    if (!v) {
        *out = 1;
        return 0;
    }
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcasecmp(v, words[i]) == 0) {
            *out = (int)(i % 2);
            return 0;
        }
    flag_error("--%s=%s: expected true or false", name, v);
    return -1;
}

static int parse_int(const char *name, const char *v, int64_t lo, int64_t *out)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (!*v || *end || errno || x < lo) {
        if (lo == INT64_MIN)
            flag_error("--%s=%s: expected an integer", name, v);
        else
            flag_error("--%s=%s: expected an integer >= %" PRId64, name, v, lo);
        return -1;
    }
    *out = x;
    return 0;
}

static int parse_double(const char *name, const char *v, double *out)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (!*v || *end || errno || !isfinite(x)) {
        flag_error("--%s=%s: expected a number", name, v);
        return -1;
    }
    *out = x;
    return 0;
}

static int parse_unit(const char *name, const char *v, gb_unit *out)
{
    static const char *const units[] = {"ns", "us", "ms", "s", NULL};
    for (int i = 0; units[i]; i++)
        if (strcmp(v, units[i]) == 0) {
            *out = (gb_unit)i;
            return 0;
        }
    flag_error("--%s=%s: expected ns, us, ms or s", name, v);
    return -1;
}

static int parse_format(const char *name, const char *v, int *out)
{
    if (strcmp(v, "console") == 0)
        *out = FMT_CONSOLE;
    else if (strcmp(v, "json") == 0)
        *out = FMT_JSON;
    else {
        flag_error("--%s=%s: expected console or json%s", name, v,
                   strcmp(v, "csv") == 0 ? " (csv is not supported)" : "");
        return -1;
    }
    return 0;
}

/* "<seconds>", "<seconds>s" or "<iterations>x", as Google's
 * --benchmark_min_time takes. */
static int parse_min_time(const char *name, const char *v, struct options *o)
{
    size_t n = strlen(v);
    char num[64];
    if (n == 0 || n >= sizeof num)
        goto bad;
    memcpy(num, v, n + 1);
    if (num[n - 1] == 'x') {
        num[n - 1] = '\0';
        char *end;
        errno = 0;
        long long x = strtoll(num, &end, 10);
        if (!*num || *end || errno || x < 1 || x > MAX_ITERATIONS)
            goto bad;
        o->min_iterations = x;
    } else {
        if (num[n - 1] == 's')
            num[n - 1] = '\0';
        char *end;
        errno = 0;
        double x = strtod(num, &end);
        if (!*num || *end || errno || !isfinite(x) || x < 0)
            goto bad;
        o->min_time = x;
        o->min_iterations = 0;
    }
    o->min_time_set = 1;
    return 0;
bad:
    flag_error("--%s=%s: expected seconds (0.5 or 0.5s) or an iteration count (100x)", name, v);
    return -1;
}

static int parse_context_flag(const char *name, const char *v)
{
    char *copy = xstrdup(v);
    int rc = 0;
    for (char *save = NULL, *item = strtok_r(copy, ",", &save); item;
         item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        if (!eq || eq == item) {
            flag_error("--%s=%s: expected key=value,...", name, v);
            rc = -1;
            break;
        }
        *eq = '\0';
        gb_context_add(item, eq + 1);
    }
    free(copy);
    return rc;
}

static int need_value(const char *name, const char *v)
{
    if (v)
        return 0;
    flag_error("--%s needs a value: --%s=...", name, name);
    return -1;
}

/* 0 parsed, -1 bad value (reported), 1 not a flag of the harness. */
static int parse_builtin(const char *name, const char *v, struct options *o)
{
    static const char *const valued[] = {
        "benchmark_filter",     "benchmark_format",      "benchmark_out",
        "benchmark_out_format", "benchmark_repetitions", "benchmark_min_time",
        "benchmark_time_unit",  "benchmark_context",     NULL};
    int64_t n;
    if (strcmp(name, "benchmark_list_tests") == 0)
        return parse_bool(name, v, &o->list_tests);
    if (strcmp(name, "benchmark_report_aggregates_only") == 0)
        return parse_bool(name, v, &o->report_aggregates_only);
    if (strcmp(name, "benchmark_display_aggregates_only") == 0)
        return parse_bool(name, v, &o->display_aggregates_only);
    if (!is_one_of(name, valued))
        return 1;
    if (need_value(name, v) < 0)
        return -1;
    if (strcmp(name, "benchmark_filter") == 0) {
        o->filter = v;
        return 0;
    }
    if (strcmp(name, "benchmark_format") == 0)
        return parse_format(name, v, &o->format);
    if (strcmp(name, "benchmark_out") == 0) {
        if (!*v) {
            flag_error("--%s= needs a file name", name);
            return -1;
        }
        o->out = v;
        return 0;
    }
    if (strcmp(name, "benchmark_out_format") == 0)
        return parse_format(name, v, &o->out_format);
    if (strcmp(name, "benchmark_repetitions") == 0) {
        if (parse_int(name, v, 1, &n) < 0)
            return -1;
        if (n > 1000000) {
            flag_error("--%s=%s: at most 1000000", name, v);
            return -1;
        }
        o->repetitions = (int)n;
        return 0;
    }
    if (strcmp(name, "benchmark_min_time") == 0)
        return parse_min_time(name, v, o);
    if (strcmp(name, "benchmark_time_unit") == 0) {
        o->unit_set = 1;
        return parse_unit(name, v, &o->unit);
    }
    return parse_context_flag(name, v);
}

/* 0 parsed, -1 bad value (reported), 1 not one of the binary's flags. */
static int parse_user(const char *name, const char *v)
{
    for (int i = 0; i < R.nflags; i++) {
        struct user_flag *f = &R.flags[i];
        if (strcmp(f->name, name) != 0)
            continue;
        if (f->type == FLAG_BOOL)
            return parse_bool(name, v, f->dst);
        if (need_value(name, v) < 0)
            return -1;
        if (f->type == FLAG_INT)
            return parse_int(name, v, INT64_MIN, f->dst);
        if (f->type == FLAG_DOUBLE)
            return parse_double(name, v, f->dst);
        *(const char **)f->dst = v;
        return 0;
    }
    return 1;
}

/* --benchmark_filter as Google reads it: "" and "all" select everything,
 * a leading '-' selects what the rest does not match.  Returns -1 (reported)
 * when the regex does not compile; else the caller regfree()s *re. */
static int compile_filter(regex_t *re, int *negate /* OUT */)
{
    const char *spec = R.opt.filter;
    *negate = spec[0] == '-';
    spec += *negate;
    if (!*spec || strcmp(spec, "all") == 0)
        spec = ".";
    int rc = regcomp(re, spec, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        char msg[256];
        regerror(rc, re, msg, sizeof msg);
        flag_error("--benchmark_filter=%s: %s", R.opt.filter, msg);
        return -1;
    }
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: %s [flags]\n"
            "\n"
            "  --benchmark_list_tests={true|false}   list the benchmarks the filter selects, "
            "run none\n"
            "  --benchmark_filter=<regex>            run the benchmarks whose name matches "
            "(POSIX\n"
            "                                        extended regex; \"-regex\" runs the others; "
            "\"all\")\n"
            "  --benchmark_min_time=<seconds>[s] | <iterations>x\n"
            "                                        grow iterations until a run takes this long "
            "(%gs),\n"
            "                                        or run exactly this many iterations\n"
            "  --benchmark_repetitions=<n>           run each benchmark n times; n > 1 adds\n"
            "                                        mean, median, stddev and cv rows (1)\n"
            "  --benchmark_report_aggregates_only={true|false}\n"
            "                                        report only the aggregate rows\n"
            "  --benchmark_display_aggregates_only={true|false}\n"
            "                                        display only the aggregate rows; "
            "--benchmark_out\n"
            "                                        still gets every row\n"
            "  --benchmark_format=<console|json>     format on stdout (console)\n"
            "  --benchmark_out=<file>                also write the report to file\n"
            "  --benchmark_out_format=<json|console> format of --benchmark_out (json)\n"
            "  --benchmark_time_unit={ns|us|ms|s}    unit of benchmarks that set none (ns)\n"
            "  --benchmark_context=<key>=<value>,... add to the report's context\n"
            "  --help                                this text\n",
            R.prog, default_min_time());
    if (R.nflags) {
        static const char *const types[] = {"string", "int", "number", "bool"};
        int width = 0;
        for (int i = 0; i < R.nflags; i++) {
            int w = (int)(strlen(R.flags[i].name) + strlen(types[R.flags[i].type]));
            width = w > width ? w : width;
        }
        fprintf(f, "\nflags of %s:\n", R.prog);
        for (int i = 0; i < R.nflags; i++) {
            const struct user_flag *u = &R.flags[i];
            int w = (int)(strlen(u->name) + strlen(types[u->type]));
            fprintf(f, "  --%s=<%s>%*s  %s (default: %s)\n", u->name, types[u->type], width - w, "",
                    u->help, u->deflt);
        }
    }
}

int gb_init(int argc, char **argv)
{
    check_not_running("gb_init");
    if (argc > 0 && argv[0]) {
        const char *slash = strrchr(argv[0], '/');
        R.exe = argv[0];
        R.prog = slash ? slash + 1 : argv[0];
    }
    if (!R.prog)
        R.prog = "bench";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0' || a[2] == '=') {
            flag_error("unexpected argument '%s'", a);
            return 2;
        }
        char name[128];
        const char *eq = strchr(a + 2, '=');
        size_t n = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
        if (n >= sizeof name) {
            flag_error("unrecognized command-line flag: %s", a);
            return 2;
        }
        memcpy(name, a + 2, n);
        name[n] = '\0';
        const char *value = eq ? eq + 1 : NULL;
        int rc = parse_builtin(name, value, &R.opt);
        if (rc == 1)
            rc = parse_user(name, value);
        if (rc == 1) {
            flag_error("unrecognized command-line flag: %s", a);
            return 2;
        }
        if (rc < 0)
            return 2;
    }
    regex_t re;
    int negate;
    if (compile_filter(&re, &negate) < 0)
        return 2;
    regfree(&re);
    return GB_CONTINUE;
}

/* ---- the state and its timer --------------------------------------------------- */

struct gb_state {
    int64_t left; /* first member: gb_loop (gbench.h) reads it */
    int64_t iters;
    int64_t done; /* passes completed, once finished */
    const int64_t *args;
    int nargs;
    const char *bench_name;
    int started, finished, error;
    int running;
    clockid_t cpu_clock;
    int64_t real_start, cpu_start; /* ns */
    int64_t real_ns, cpu_ns;
    double manual;
    struct counters counters;
    char *label;
    char *error_msg;
};

_Static_assert(offsetof(struct gb_state, left) == 0, "gb_loop reads the first member");

static int64_t now_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Real time first, then CPU time, at both ends (as Google's timer does):
 * each interval then holds one reading of the other clock, so pausing
 * costs both about the same. */
static void timer_start(gb_state *st)
{
    st->running = 1;
    st->real_start = now_ns(CLOCK_MONOTONIC);
    st->cpu_start = now_ns(st->cpu_clock);
}

static void timer_stop(gb_state *st)
{
    int64_t real = now_ns(CLOCK_MONOTONIC);
    int64_t cpu = now_ns(st->cpu_clock);
    st->real_ns += real - st->real_start;
    st->cpu_ns += cpu - st->cpu_start;
    st->running = 0;
}

int gb_loop_edge_(gb_state *st)
{
    if (!st->started) {
        st->started = 1;
        if (st->error) {
            st->finished = 1;
            return 0;
        }
        st->left = st->iters - 1;
        timer_start(st);
        return 1;
    }
    if (!st->finished) {
        if (st->running)
            timer_stop(st);
        st->finished = 1;
        if (!st->error)
            st->done = st->iters;
        return 0;
    }
    misuse("%s: gb_loop() called again after it returned 0", st->bench_name);
}

int64_t gb_iterations(const gb_state *st)
{
    return st->iters;
}

int64_t gb_arg(const gb_state *st, int i)
{
    if (i < 0 || i >= st->nargs)
        misuse("%s: gb_arg(st, %d) but the instance has %d arguments", st->bench_name, i,
               st->nargs);
    return st->args[i];
}

void gb_pause_timing(gb_state *st)
{
    if (st->error)
        return;
    if (!st->running)
        misuse("%s: gb_pause_timing outside the loop or while paused", st->bench_name);
    timer_stop(st);
}

void gb_resume_timing(gb_state *st)
{
    if (st->error)
        return;
    if (st->running || !st->started || st->finished)
        misuse("%s: gb_resume_timing outside the loop or while running", st->bench_name);
    timer_start(st);
}

void gb_set_iteration_time(gb_state *st, double seconds)
{
    st->manual += seconds;
}

void gb_set_items_processed(gb_state *st, int64_t items)
{
    counters_set(&st->counters, "items_per_second", (double)items, GB_COUNTER_RATE);
}

void gb_set_bytes_processed(gb_state *st, int64_t bytes)
{
    counters_set(&st->counters, "bytes_per_second", (double)bytes,
                 GB_COUNTER_RATE | GB_COUNTER_1024);
}

void gb_counter_set(gb_state *st, const char *name, double value, unsigned flags)
{
    if (!name || !*name || is_one_of(name, row_keys))
        misuse("%s: counter name \"%s\" is empty or a standard field", st->bench_name,
               name ? name : "(null)");
    if (flags & ~(GB_COUNTER_RATE | GB_COUNTER_ITERATION_INVARIANT | GB_COUNTER_AVG_ITERATIONS |
                  GB_COUNTER_INVERT | GB_COUNTER_1024))
        misuse("%s: counter \"%s\" has unknown flags %#x", st->bench_name, name, flags);
    counters_set(&st->counters, name, value, flags);
}

void gb_set_label(gb_state *st, const char *label)
{
    free(st->label);
    st->label = label && *label ? xstrdup(label) : NULL;
}

void gb_skip_with_error(gb_state *st, const char *message)
{
    if (st->error)
        return;
    st->error = 1;
    st->error_msg = xstrdup(message ? message : "");
    if (st->started && !st->finished)
        st->done = st->iters - st->left - 1;
    st->left = 0;
    if (st->running)
        timer_stop(st);
}

int gb_error_occurred(const gb_state *st)
{
    return st->error;
}

/* ---- instances and rows ------------------------------------------------------------ */

struct instance {
    const gb_bench *fam;
    const int64_t *args; /* into fam->tuples; NULL when nargs = 0 */
    int nargs;
    char *name;
    int family_index, per_family_index;
    gb_unit unit;
    int repetitions;
    double min_time;
    int64_t fixed_iters; /* 0: grow */
};

struct row {
    const struct instance *in;
    const char *aggregate; /* NULL for an iteration row */
    int percentage;        /* the cv aggregate: real/cpu are ratios */
    int repetition_index;
    int64_t iterations;
    double real, cpu; /* seconds over all iterations (or the cv ratio) */
    struct counters counters;
    char *label, *error;
};

static void row_free(struct row *r)
{
    counters_free(&r->counters);
    free(r->label);
    free(r->error);
}

static char *instance_name(const gb_bench *b, const int64_t *args, int nargs, int repetitions)
{
    size_t cap = strlen(b->name) + 128; /* the suffixes after the arguments */
    for (int i = 0; i < nargs; i++)
        cap += 24 + (b->arg_names[i] ? strlen(b->arg_names[i]) + 1 : 0);
    char *s = xcalloc(1, cap);
    size_t n = (size_t)snprintf(s, cap, "%s", b->name);
    for (int i = 0; i < nargs; i++) {
        const char *an = b->arg_names[i];
        n +=
            (size_t)snprintf(s + n, cap - n, "/%s%s%" PRId64, an ? an : "", an ? ":" : "", args[i]);
    }
    if (b->min_time > 0)
        n += (size_t)snprintf(s + n, cap - n, "/min_time:%0.3f", b->min_time);
    if (b->iterations)
        n += (size_t)snprintf(s + n, cap - n, "/iterations:%" PRId64, b->iterations);
    if (b->repetitions)
        n += (size_t)snprintf(s + n, cap - n, "/repeats:%d", repetitions);
    if (b->process_cpu)
        n += (size_t)snprintf(s + n, cap - n, "/process_time");
    if (b->manual_time)
        snprintf(s + n, cap - n, "/manual_time");
    else if (b->real_time)
        snprintf(s + n, cap - n, "/real_time");
    return s;
}

/* The instances the filter selects, in registration order; indices count
 * selected instances only (as Google's family_index and
 * per_family_instance_index do).  Returns -1 (reported) for a bad regex. */
static int select_instances(struct instance **out, int *nout)
{
    regex_t re;
    int negate;
    if (compile_filter(&re, &negate) < 0)
        return -1;
    struct instance *v = NULL;
    int n = 0, cap = 0, next_family = 0;
    for (int f = 0; f < R.nfams; f++) {
        const gb_bench *b = R.fams[f];
        int per_family = 0;
        int ntuples = b->ntuples ? b->ntuples : 1;
        for (int t = 0; t < ntuples; t++) {
            const int64_t *args = b->ntuples ? &b->tuples[t * b->nargs] : NULL;
            int reps = b->repetitions ? b->repetitions : R.opt.repetitions;
            char *name = instance_name(b, args, b->nargs, reps);
            int match = regexec(&re, name, 0, NULL, 0) == 0;
            if (match == negate || strncmp(name, "DISABLED_", 9) == 0) {
                free(name);
                continue;
            }
            v = grow(v, &cap, n + 1, sizeof *v);
            struct instance *in = &v[n++];
            *in = (struct instance){.fam = b, .args = args, .nargs = b->nargs, .name = name};
            in->family_index = next_family;
            in->per_family_index = per_family++;
            in->unit = b->unit_set ? b->unit : R.opt.unit_set ? R.opt.unit : GB_NS;
            in->repetitions = reps;
            in->min_time = b->min_time > 0      ? b->min_time
                           : R.opt.min_time_set ? R.opt.min_time
                                                : default_min_time();
            in->fixed_iters = b->iterations     ? b->iterations
                              : b->min_time > 0 ? 0
                                                : R.opt.min_iterations;
        }
        if (per_family)
            next_family++;
    }
    regfree(&re);
    *out = v;
    *nout = n;
    return 0;
}

/* ---- running ------------------------------------------------------------------------ */

struct trial {
    int64_t iters;
    double real, cpu, manual;
    double seconds; /* what min_time is judged on */
    gb_state st;
};

static void run_trial(const struct instance *in, int64_t iters, struct trial *t)
{
    memset(t, 0, sizeof *t);
    gb_state *st = &t->st;
    st->iters = iters;
    st->args = in->args;
    st->nargs = in->nargs;
    st->bench_name = in->name;
    st->cpu_clock = in->fam->process_cpu ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_THREAD_CPUTIME_ID;
    in->fam->fn(st);
    if (st->running)
        timer_stop(st);
    if (!st->finished && !st->error)
        gb_skip_with_error(st, "the benchmark function returned before gb_loop() returned 0");
    t->iters = st->done;
    t->real = (double)st->real_ns * 1e-9;
    t->cpu = (double)st->cpu_ns * 1e-9;
    t->manual = st->manual;
    t->seconds = in->fam->manual_time ? t->manual : in->fam->real_time ? t->real : t->cpu;
}

static void trial_free(struct trial *t)
{
    counters_free(&t->st.counters);
    free(t->st.label);
    free(t->st.error_msg);
}

/* Google's ShouldReportIterationResults. */
static int trial_is_enough(const struct instance *in, const struct trial *t)
{
    return t->st.error || t->iters >= MAX_ITERATIONS || t->seconds >= in->min_time ||
           (!in->fam->manual_time && t->real >= 5 * in->min_time);
}

/* Google's PredictNumItersNeeded. */
static int64_t predict_iters(const struct instance *in, const struct trial *t)
{
    double mult = in->min_time * 1.4 / fmax(t->seconds, 1e-9);
    if (t->seconds / in->min_time <= 0.1)
        mult = 10.0;
    double next = fmax(mult * (double)t->iters, (double)t->iters + 1.0);
    if (next >= (double)MAX_ITERATIONS)
        return MAX_ITERATIONS;
    return (int64_t)llround(next);
}

static void row_from_trial(const struct instance *in, int rep, struct trial *t, struct row *r)
{
    memset(r, 0, sizeof *r);
    r->in = in;
    r->repetition_index = rep;
    r->iterations = t->iters;
    r->label = t->st.label;
    t->st.label = NULL;
    if (t->st.error) {
        r->error = t->st.error_msg;
        t->st.error_msg = NULL;
        return;
    }
    r->real = in->fam->manual_time ? t->manual : t->real;
    r->cpu = t->cpu;
    for (int i = 0; i < t->st.counters.n; i++) {
        const struct counter *c = &t->st.counters.v[i];
        counters_set(&r->counters, c->name, counter_finish(c, t->iters, t->seconds), c->flags);
    }
}

static double stat_mean(const double *v, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += v[i];
    return n ? s / n : 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double stat_median(const double *v, int n)
{
    if (n < 3)
        return stat_mean(v, n);
    double *c = xrealloc(NULL, (size_t)n * sizeof *c);
    memcpy(c, v, (size_t)n * sizeof *c);
    qsort(c, (size_t)n, sizeof *c, cmp_double);
    double m = n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2.0;
    free(c);
    return m;
}

/* Sample standard deviation (n - 1), 0 for one value. */
static double stat_stddev(const double *v, int n)
{
    if (n < 2)
        return 0;
    double mean = stat_mean(v, n), s = 0;
    for (int i = 0; i < n; i++)
        s += (v[i] - mean) * (v[i] - mean);
    return sqrt(s / (n - 1));
}

static double stat_cv(const double *v, int n)
{
    double mean = stat_mean(v, n);
    return n < 2 || mean == 0 ? 0 : stat_stddev(v, n) / mean;
}

static const struct {
    const char *name;
    double (*fn)(const double *, int);
    int percentage;
} stats[] = {
    {"mean", stat_mean, 0},
    {"median", stat_median, 0},
    {"stddev", stat_stddev, 0},
    {"cv", stat_cv, 1},
};
#define NSTATS ((int)(sizeof stats / sizeof stats[0]))
#define STAT_NAME_MAX 6 /* "median", "stddev" */

/* The aggregate rows of an instance's repetitions (Google's ComputeStats):
 * none unless two or more repetitions ran without error.  Times are
 * computed over each repetition's total and rescaled to per iteration by
 * the first repetition's count (they all share it); each counter over the
 * finished values of the repetitions that set it. */
static int aggregate(const struct row *reps, int nreps, struct row *out)
{
    int n = 0;
    const struct row *first = NULL;
    for (int i = 0; i < nreps; i++)
        if (!reps[i].error && n++ == 0)
            first = &reps[i];
    if (n < 2)
        return 0;
    double *real = xcalloc((size_t)n, sizeof *real), *cpu = xcalloc((size_t)n, sizeof *cpu);
    double *vals = xcalloc((size_t)n, sizeof *vals);
    int k = 0;
    for (int i = 0; i < nreps; i++)
        if (!reps[i].error) {
            real[k] = reps[i].real;
            cpu[k++] = reps[i].cpu;
        }
    const char *label = first->label;
    for (int i = 0; i < nreps; i++) {
        const char *l = reps[i].label;
        if ((l == NULL) != (label == NULL) || (l && strcmp(l, label) != 0))
            label = NULL;
    }
    /* every counter any repetition has, with the first one's flags */
    struct counters names = {0};
    for (int i = 0; i < nreps; i++)
        for (int c = 0; c < reps[i].counters.n && !reps[i].error; c++)
            if (!counters_find(&names, reps[i].counters.v[c].name))
                counters_set(&names, reps[i].counters.v[c].name, 0, reps[i].counters.v[c].flags);
    double rescale = (double)n / (double)first->iterations;
    for (int s = 0; s < NSTATS; s++) {
        struct row *r = &out[s];
        memset(r, 0, sizeof *r);
        r->in = first->in;
        r->aggregate = stats[s].name;
        r->percentage = stats[s].percentage;
        r->iterations = n;
        r->real = stats[s].fn(real, n) * (r->percentage ? 1 : rescale);
        r->cpu = stats[s].fn(cpu, n) * (r->percentage ? 1 : rescale);
        r->label = label ? xstrdup(label) : NULL;
        for (int c = 0; c < names.n; c++) {
            int m = 0;
            for (int i = 0; i < nreps; i++) {
                const struct counter *x = counters_find(&reps[i].counters, names.v[c].name);
                if (x && !reps[i].error)
                    vals[m++] = x->value;
            }
            counters_set(&r->counters, names.v[c].name, stats[s].fn(vals, m), names.v[c].flags);
        }
    }
    counters_free(&names);
    free(real);
    free(cpu);
    free(vals);
    return NSTATS;
}

/* ---- the machine ------------------------------------------------------------------- */

struct cache {
    char type[32];
    int level;
    int64_t size; /* bytes */
    int num_sharing;
};

struct machine {
    char date[64];
    char host[256];
    int num_cpus;
    double mhz;
    int scaling;
    struct cache caches[MAX_CACHES];
    int ncaches;
    double load[3];
    int nload;
};

/* The first line of a small file, without its newline; 0 when unreadable. */
static int read_line(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int ok = fgets(buf, (int)n, f) != NULL;
    fclose(f);
    if (ok)
        buf[strcspn(buf, "\n")] = '\0';
    return ok && buf[0];
}

static int read_double(const char *path, double *out)
{
    char buf[64], *end;
    if (!read_line(path, buf, sizeof buf))
        return 0;
    double v = strtod(buf, &end);
    if (end == buf || !(v > 0))
        return 0;
    *out = v;
    return 1;
}

/* RFC 3339 local time, "2024-05-01T12:00:00+02:00", as Google writes it. */
static void local_date(char *buf, size_t n)
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    char tz[16];
    size_t len = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
    if (strftime(tz, sizeof tz, "%z", &tm) == 5)
        snprintf(buf + len, n - len, "%.3s:%.2s", tz, tz + 3);
}

/* What Google's CPUInfo reads on Linux: the TSC or cpufreq frequency, else
 * /proc/cpuinfo's "cpu MHz" (or bogomips); governors other than
 * "performance" count as scaling; caches of cpu0 from sysfs. */
static void machine_read(struct machine *m)
{
    memset(m, 0, sizeof *m);
    local_date(m->date, sizeof m->date);
    if (gethostname(m->host, sizeof m->host - 1) != 0)
        m->host[0] = '\0';
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    m->num_cpus = ncpu > 0 ? (int)ncpu : 1;

    char path[128], buf[256];
    for (int c = 0; c < m->num_cpus; c++) {
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/cpufreq/scaling_governor", c);
        if (read_line(path, buf, sizeof buf) && strcmp(buf, "performance") != 0)
            m->scaling = 1;
    }

    double khz;
    if (read_double("/sys/devices/system/cpu/cpu0/tsc_freq_khz", &khz) ||
        (!m->scaling &&
         read_double("/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq", &khz)) ||
        read_double("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq", &khz)) {
        m->mhz = khz / 1000.0;
    } else {
        FILE *f = fopen("/proc/cpuinfo", "r");
        double bogo = 0;
        while (f && fgets(buf, sizeof buf, f)) {
            char *colon = strchr(buf, ':');
            if (!colon)
                continue;
            double v = strtod(colon + 1, NULL);
            if (strncmp(buf, "cpu MHz", 7) == 0 && v > 0) {
                m->mhz = v;
                break;
            }
            if (strncmp(buf, "bogomips", 8) == 0 && v > 0 && bogo == 0)
                bogo = v;
        }
        if (f)
            fclose(f);
        if (m->mhz == 0)
            m->mhz = bogo;
    }

    for (int i = 0; m->ncaches < MAX_CACHES; i++) {
        struct cache *c = &m->caches[m->ncaches];
        char dir[96];
        snprintf(dir, sizeof dir, "/sys/devices/system/cpu/cpu0/cache/index%d/", i);
        snprintf(path, sizeof path, "%slevel", dir);
        if (!read_line(path, buf, sizeof buf))
            break;
        c->level = atoi(buf);
        snprintf(path, sizeof path, "%ssize", dir);
        if (!read_line(path, buf, sizeof buf))
            continue;
        char *end;
        c->size = strtoll(buf, &end, 10);
        if (*end == 'K')
            c->size *= 1024;
        else if (*end == 'M')
            c->size *= 1024 * 1024;
        else if (*end == 'G')
            c->size *= INT64_C(1024) * 1024 * 1024;
        snprintf(path, sizeof path, "%stype", dir);
        if (!read_line(path, c->type, sizeof c->type))
            snprintf(c->type, sizeof c->type, "Unknown");
        snprintf(path, sizeof path, "%sshared_cpu_map", dir);
        if (read_line(path, buf, sizeof buf))
            for (const char *p = buf; *p; p++)
                if (isxdigit((unsigned char)*p)) {
                    int d = isdigit((unsigned char)*p) ? *p - '0'
                                                       : tolower((unsigned char)*p) - 'a' + 10;
                    c->num_sharing += __builtin_popcount((unsigned)d);
                }
        m->ncaches++;
    }

    int nl = getloadavg(m->load, 3);
    m->nload = nl > 0 ? nl : 0;
}

static const char *build_type(void)
{
#ifdef __OPTIMIZE__
    return "release";
#else
    return "debug";
#endif
}

/* ---- number formatting ------------------------------------------------------------ */

static const char *const unit_names[] = {"ns", "us", "ms", "s"};
static const double unit_mult[] = {1e9, 1e6, 1e3, 1};

/* Google's HumanReadableNumber: %g of the value scaled by 1000 (or 1024)
 * until it is at most 1.1k, with k M G T P E Z Y (Ki Mi ...) prefixes;
 * values under 0.01 scaled up with m u n p f a z y. */
static void human_number(char *buf, size_t n, double v, int iec)
{
    static const char *const big_si[] = {"k", "M", "G", "T", "P", "E", "Z", "Y"};
    static const char *const big_iec[] = {"Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"};
    static const char *const small[] = {"m", "u", "n", "p", "f", "a", "z", "y"};
    const double one_k = iec ? 1024.0 : 1000.0;
    const double thresh = 1.1, big = thresh * one_k;
    const char *sign = "";
    if (v < 0) {
        sign = "-";
        v = -v;
    }
    double s = v;
    if (v > big) {
        for (int i = 0; i < 8; i++) {
            s /= one_k;
            if (s <= big) {
                snprintf(buf, n, "%s%g%s", sign, s, iec ? big_iec[i] : big_si[i]);
                return;
            }
        }
    } else if (v < thresh && v < 0.01) {
        for (int i = 0; i < 8; i++) {
            s *= one_k;
            if (s >= thresh) {
                snprintf(buf, n, "%s%g%s", sign, s, small[i]);
                return;
            }
        }
    }
    snprintf(buf, n, "%s%g", sign, v);
}

/* Google's console FormatTime: ten columns, decimals by magnitude. */
static void format_time(char *buf, size_t n, double t)
{
    if (t < 1.0)
        snprintf(buf, n, "%10.3f", t);
    else if (t < 10.0)
        snprintf(buf, n, "%10.2f", t);
    else if (t < 100.0)
        snprintf(buf, n, "%10.1f", t);
    else if (t > 9999999999.0)
        snprintf(buf, n, "%1.4e", t);
    else
        snprintf(buf, n, "%10.0f", t);
}

static double adjusted(const struct row *r, double acc)
{
    double t = acc * unit_mult[r->in->unit];
    return r->iterations ? t / (double)r->iterations : t;
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p == '\t')
            fputs("\\t", f);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void json_double(FILE *f, double v)
{
    if (isnan(v))
        fputs("NaN", f);
    else if (isinf(v))
        fputs(v < 0 ? "-Infinity" : "Infinity", f);
    else
        fprintf(f, "%.16e", v);
}

/* ---- reporters ---------------------------------------------------------------------- */

struct reporter {
    int format;
    FILE *out, *err; /* the console context goes to err */
    int aggregates_only;
    int name_width;
    int header_printed;
    int rows_written;
};

static void console_context(struct reporter *rp, const struct machine *m, const char *exe)
{
    FILE *f = rp->err;
    fprintf(f, "%s\n", m->date);
    if (exe)
        fprintf(f, "Running %s\n", exe);
    fprintf(f, "Run on (%d X %g MHz CPU %s)\n", m->num_cpus, m->mhz, m->num_cpus > 1 ? "s" : "");
    if (m->ncaches) {
        fputs("CPU Caches:\n", f);
        for (int i = 0; i < m->ncaches; i++) {
            const struct cache *c = &m->caches[i];
            fprintf(f, "  L%d %s %" PRId64 " KiB", c->level, c->type, c->size / 1024);
            if (c->num_sharing)
                fprintf(f, " (x%d)", m->num_cpus / c->num_sharing);
            fputc('\n', f);
        }
    }
    if (m->nload) {
        fputs("Load Average: ", f);
        for (int i = 0; i < m->nload; i++)
            fprintf(f, "%s%.2f", i ? ", " : "", m->load[i]);
        fputc('\n', f);
    }
    for (int i = 0; i < R.nctx; i++)
        fprintf(f, "%s: %s\n", R.ctx[i].key, R.ctx[i].value);
    if (m->scaling)
        fputs("***WARNING*** CPU scaling is enabled, the benchmark real time measurements may "
              "be noisy and will incur extra overhead.\n",
              f);
    if (strcmp(build_type(), "debug") == 0)
        fputs("***WARNING*** Library was built as DEBUG. Timings may be affected.\n", f);
    fflush(f);
}

static void json_context(struct reporter *rp, const struct machine *m, const char *exe)
{
    FILE *f = rp->out;
    fputs("{\n  \"context\": {\n    \"date\": ", f);
    json_string(f, m->date);
    fputs(",\n    \"host_name\": ", f);
    json_string(f, m->host);
    if (exe) {
        fputs(",\n    \"executable\": ", f);
        json_string(f, exe);
    }
    fprintf(f, ",\n    \"num_cpus\": %d,\n    \"mhz_per_cpu\": %" PRId64 ",\n", m->num_cpus,
            (int64_t)(m->mhz + 0.5));
    fprintf(f, "    \"cpu_scaling_enabled\": %s,\n    \"caches\": [\n",
            m->scaling ? "true" : "false");
    for (int i = 0; i < m->ncaches; i++) {
        const struct cache *c = &m->caches[i];
        fputs("      {\n        \"type\": ", f);
        json_string(f, c->type);
        fprintf(f,
                ",\n        \"level\": %d,\n        \"size\": %" PRId64
                ",\n        \"num_sharing\": %d\n      }%s\n",
                c->level, c->size, c->num_sharing, i + 1 < m->ncaches ? "," : "");
    }
    fputs("    ],\n    \"load_avg\": [", f);
    for (int i = 0; i < m->nload; i++)
        fprintf(f, "%s%g", i ? "," : "", m->load[i]);
    fprintf(f, "],\n    \"library_build_type\": \"%s\",\n    \"json_schema_version\": 1",
            build_type());
    for (int i = 0; i < R.nctx; i++) {
        fputs(",\n    ", f);
        json_string(f, R.ctx[i].key);
        fputs(": ", f);
        json_string(f, R.ctx[i].value);
    }
    fputs("\n  },\n  \"benchmarks\": [\n", f);
    fflush(f);
}

/* "run_name" or "run_name_mean"; free() it. */
static char *row_name(const struct row *r)
{
    if (r->aggregate)
        return xasprintf("%s_%s", r->in->name, r->aggregate);
    return xstrdup(r->in->name);
}

/* Printed once, before the first row: its "UserCounters..." column only
 * when that row has counters, as Google's non-tabular console does. */
static void console_header(struct reporter *rp, const struct row *r)
{
    char *line = xasprintf("%-*s %13s %15s %12s%s", rp->name_width, "Benchmark", "Time", "CPU",
                           "Iterations", r->counters.n ? " UserCounters..." : "");
    size_t n = strlen(line);
    char *dashes = memset(xcalloc(1, n + 1), '-', n);
    fprintf(rp->out, "%s\n%s\n%s\n", dashes, line, dashes);
    free(dashes);
    free(line);
}

static void console_row(struct reporter *rp, const struct row *r)
{
    FILE *f = rp->out;
    if (!rp->header_printed) {
        console_header(rp, r);
        rp->header_printed = 1;
    }
    char *name = row_name(r);
    fprintf(f, "%-*s ", rp->name_width, name);
    free(name);
    if (r->error) {
        fprintf(f, "ERROR OCCURRED: '%s'\n", r->error);
        return;
    }
    if (r->percentage) {
        fprintf(f, "%10.2f %-4s %10.2f %-4s ", 100.0 * r->real, "%", 100.0 * r->cpu, "%");
    } else {
        char rt[32], ct[32];
        format_time(rt, sizeof rt, adjusted(r, r->real));
        format_time(ct, sizeof ct, adjusted(r, r->cpu));
        const char *u = unit_names[r->in->unit];
        fprintf(f, "%s %-4s %s %-4s ", rt, u, ct, u);
    }
    fprintf(f, "%10" PRId64, r->iterations);
    for (int i = 0; i < r->counters.n; i++) {
        const struct counter *c = &r->counters.v[i];
        char v[64];
        const char *unit = "";
        if (r->percentage) {
            snprintf(v, sizeof v, "%.2f", 100.0 * c->value);
            unit = "%";
        } else {
            human_number(v, sizeof v, c->value, (c->flags & GB_COUNTER_1024) != 0);
            if (c->flags & GB_COUNTER_RATE)
                unit = (c->flags & GB_COUNTER_INVERT) ? "s" : "/s";
        }
        fprintf(f, " %s=%s%s", c->name, v, unit);
    }
    if (r->label)
        fprintf(f, " %s", r->label);
    fputc('\n', f);
}

static void json_row(struct reporter *rp, const struct row *r)
{
    FILE *f = rp->out;
    if (rp->rows_written)
        fputs(",\n", f);
    char *name = row_name(r);
    fputs("    {\n      \"name\": ", f);
    json_string(f, name);
    free(name);
    fprintf(f, ",\n      \"family_index\": %d,\n      \"per_family_instance_index\": %d,\n",
            r->in->family_index, r->in->per_family_index);
    fputs("      \"run_name\": ", f);
    json_string(f, r->in->name);
    fprintf(f, ",\n      \"run_type\": \"%s\",\n      \"repetitions\": %d,\n",
            r->aggregate ? "aggregate" : "iteration", r->in->repetitions);
    if (!r->aggregate)
        fprintf(f, "      \"repetition_index\": %d,\n", r->repetition_index);
    fputs("      \"threads\": 1,\n", f);
    if (r->aggregate)
        fprintf(f, "      \"aggregate_name\": \"%s\",\n      \"aggregate_unit\": \"%s\",\n",
                r->aggregate, r->percentage ? "percentage" : "time");
    if (r->error) {
        fputs("      \"error_occurred\": true,\n      \"error_message\": ", f);
        json_string(f, r->error);
        fputs(",\n", f);
    }
    fprintf(f, "      \"iterations\": %" PRId64 ",\n      \"real_time\": ", r->iterations);
    json_double(f, r->percentage ? r->real : adjusted(r, r->real));
    fputs(",\n      \"cpu_time\": ", f);
    json_double(f, r->percentage ? r->cpu : adjusted(r, r->cpu));
    fprintf(f, ",\n      \"time_unit\": \"%s\"", unit_names[r->in->unit]);
    for (int i = 0; i < r->counters.n; i++) {
        fputs(",\n      ", f);
        json_string(f, r->counters.v[i].name);
        fputs(": ", f);
        json_double(f, r->counters.v[i].value);
    }
    if (r->label) {
        fputs(",\n      \"label\": ", f);
        json_string(f, r->label);
    }
    fputs("\n    }", f);
}

/* An instance's rows: the repetitions, unless aggregates_only and there
 * are aggregates; then the aggregates (Google's report_one). */
static void report_instance(struct reporter *rp, const struct row *reps, int nreps,
                            const struct row *aggs, int naggs)
{
    for (int pass = 0; pass < 2; pass++) {
        const struct row *v = pass ? aggs : reps;
        int n = pass ? naggs : nreps;
        if (pass == 0 && rp->aggregates_only && naggs)
            continue;
        for (int i = 0; i < n; i++) {
            if (rp->format == FMT_JSON)
                json_row(rp, &v[i]);
            else
                console_row(rp, &v[i]);
            rp->rows_written++;
        }
    }
    fflush(rp->out);
}

static void report_context(struct reporter *rp, const struct machine *m, const char *exe)
{
    if (rp->format == FMT_JSON)
        json_context(rp, m, exe);
    else
        console_context(rp, m, exe);
}

static void report_end(struct reporter *rp)
{
    if (rp->format == FMT_JSON)
        fputs(rp->rows_written ? "\n  ]\n}\n" : "  ]\n}\n", rp->out);
    fflush(rp->out);
}

/* ---- gb_run ---------------------------------------------------------------------- */

static void run_instance(const struct instance *in, struct reporter *display, struct reporter *file)
{
    struct row *reps = xcalloc((size_t)in->repetitions, sizeof *reps);
    struct row aggs[NSTATS];
    int64_t iters = in->fixed_iters ? in->fixed_iters : 1;
    for (int rep = 0; rep < in->repetitions; rep++) {
        struct trial t;
        for (;;) {
            run_trial(in, iters, &t);
            if (rep > 0 || in->fixed_iters || trial_is_enough(in, &t))
                break;
            iters = predict_iters(in, &t);
            trial_free(&t);
        }
        row_from_trial(in, rep, &t, &reps[rep]);
        trial_free(&t);
    }
    int naggs = aggregate(reps, in->repetitions, aggs);
    report_instance(display, reps, in->repetitions, aggs, naggs);
    if (file)
        report_instance(file, reps, in->repetitions, aggs, naggs);
    for (int i = 0; i < in->repetitions; i++)
        row_free(&reps[i]);
    for (int i = 0; i < naggs; i++)
        row_free(&aggs[i]);
    free(reps);
}

int gb_run(void)
{
    check_not_running("gb_run");
    if (!R.prog)
        R.prog = "bench";
    struct instance *ins;
    int nins, rc = 0;
    if (select_instances(&ins, &nins) < 0)
        return 2;
    if (nins == 0) {
        fprintf(stderr, "Failed to match any benchmarks against regex: %s\n", R.opt.filter);
        free(ins);
        return 1;
    }
    if (R.opt.list_tests) {
        for (int i = 0; i < nins; i++)
            printf("%s\n", ins[i].name);
        fflush(stdout);
        goto out;
    }

    int width = 10, aggregates = 0;
    for (int i = 0; i < nins; i++) {
        int n = (int)strlen(ins[i].name);
        width = n > width ? n : width;
        aggregates |= ins[i].repetitions > 1;
    }
    if (aggregates)
        width += 1 + STAT_NAME_MAX;

    struct reporter display = {
        .format = R.opt.format, .out = stdout, .err = stderr, .name_width = width};
    display.aggregates_only = R.opt.report_aggregates_only || R.opt.display_aggregates_only;
    struct reporter file = {.format = R.opt.out_format,
                            .name_width = width,
                            .aggregates_only = R.opt.report_aggregates_only};
    if (R.opt.out) {
        file.out = file.err = fopen(R.opt.out, "w");
        if (!file.out) {
            fprintf(stderr, "%s: error: cannot write --benchmark_out=%s: %s\n", R.prog, R.opt.out,
                    strerror(errno));
            rc = 2;
            goto out;
        }
    }

    R.running = 1;
    struct machine m;
    machine_read(&m);
    report_context(&display, &m, R.exe);
    if (file.out)
        report_context(&file, &m, R.exe);
    for (int i = 0; i < nins; i++)
        run_instance(&ins[i], &display, file.out ? &file : NULL);
    report_end(&display);
    if (file.out) {
        report_end(&file);
        if (ferror(file.out) | (fclose(file.out) != 0)) {
            fprintf(stderr, "%s: error: writing --benchmark_out=%s failed\n", R.prog, R.opt.out);
            rc = 2;
        }
    }
    R.running = 0;
out:
    for (int i = 0; i < nins; i++)
        free(ins[i].name);
    free(ins);
    return rc;
}

int gb_main(int argc, char **argv)
{
    int rc = gb_init(argc, argv);
    return rc == GB_CONTINUE ? gb_run() : rc;
}
