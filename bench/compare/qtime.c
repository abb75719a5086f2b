/*
 * qtime.c — in-process query latency for bench/compare (the embedded use):
 * opens a database read-only once, then runs each query RUNS times in a
 * row (prepare, step through every row, finalize) and prints one JSON
 * object on stdout:
 *
 *   {"q1": {"median_ms": 0.41, "min_ms": ..., "max_ms": ..., "all_ms": [...],
 *           "rows": 1400, "sum": 332042.8364}, ...}
 *
 * `rows` and `sum` follow the peers' CHECK convention: every non-NULL
 * numeric value of the answer (the time column and tag columns excluded)
 * counts as one row and is added to the sum, so the figures compare with
 * InfluxDB's, VictoriaMetrics' and Prometheus' answers directly.  As for
 * the peers, the first run is included in the median.
 *
 *   usage: qtime DB RUNS NAME=QUERY...
 * Exit status 0, 1 when a query fails (the message on stderr), 2 for usage.
 */
#include "strata.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One run of text: *rows and *sum as described above. */
static int run(strata_db *db, const char *text, long *rows, double *sum)
{
    strata_query *q;
    if (strata_query_prepare(db, text, &q) != STRATA_OK)
        return -1;
    *rows = 0;
    *sum = 0;
    int rc, n = strata_query_column_count(q);
    while ((rc = strata_query_step(q)) == STRATA_ROW) {
        for (int i = 1; i < n; i++) {
            int t = strata_query_column_type(q, i);
            if (t == STRATA_COL_F64 || t == STRATA_COL_I64) {
                (*rows)++;
                *sum += t == STRATA_COL_F64 ? strata_query_column_f64(q, i)
                                            : (double)strata_query_column_i64(q, i);
            }
        }
    }
    strata_query_finalize(q);
    return rc == STRATA_DONE ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 4 || atoi(argv[2]) < 1) {
        fprintf(stderr, "usage: qtime DB RUNS NAME=QUERY...\n");
        return 2;
    }
    int runs = atoi(argv[2]);
    strata_options o;
    strata_options_init(&o);
    o.read_only = 1;
    strata_db *db;
    if (strata_db_open(argv[1], &o, &db) != STRATA_OK) {
        fprintf(stderr, "qtime: %s: %s\n", argv[1], strata_errmsg(NULL));
        return 1;
    }
    double *ms = calloc((size_t)runs, sizeof *ms);
    int status = ms ? 0 : 1;
    printf("{");
    for (int a = 3; a < argc && !status; a++) {
        const char *eq = strchr(argv[a], '=');
        if (!eq) {
            fprintf(stderr, "qtime: '%s' is not NAME=QUERY\n", argv[a]);
            status = 2;
            break;
        }
        long rows = 0;
        double sum = 0;
        for (int r = 0; r < runs; r++) {
            double t0 = now_ms();
            if (run(db, eq + 1, &rows, &sum)) {
                fprintf(stderr, "qtime: %.*s: %s\n", (int)(eq - argv[a]), argv[a],
                        strata_errmsg(db));
                status = 1;
                break;
            }
            ms[r] = now_ms() - t0;
        }
        if (status)
            break;
        printf("%s\"%.*s\": {\"all_ms\": [", a > 3 ? ", " : "", (int)(eq - argv[a]), argv[a]);
        for (int r = 0; r < runs; r++)
            printf("%s%.4f", r ? ", " : "", ms[r]);
        qsort(ms, (size_t)runs, sizeof *ms, cmp_double);
        double med = runs % 2 ? ms[runs / 2] : (ms[runs / 2 - 1] + ms[runs / 2]) / 2;
        printf("], \"median_ms\": %.4f, \"min_ms\": %.4f, \"max_ms\": %.4f, \"rows\": %ld, "
               "\"sum\": %.6f}",
               med, ms[0], ms[runs - 1], rows, sum);
    }
    printf("}\n");
    free(ms);
    strata_db_close(db);
    return status;
}
