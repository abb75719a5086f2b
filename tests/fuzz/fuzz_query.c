/*
 * fuzz_query.c — libFuzzer target: any text as a query (parse, plan,
 * execute, every column of up to 20,000 rows) against one small database
 * with float, integer and boolean fields, several tag sets, two segments,
 * rollups and an unflushed head.
 *
 * Any input may fail to prepare; none may crash, leak, hit undefined
 * behaviour or run past libFuzzer's -timeout (a query over a wide range
 * must not take time quadratic in its buckets).  Seeds: seeds/query,
 * dictionary: query.dict.  Run by `make fuzz`.
 */
#include "strata.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

static strata_db *db;

static void die(const char *what)
{
    fprintf(stderr, "fuzz_query: %s: %s\n", what, strata_errmsg(db));
    exit(1);
}

static void write_part(int part)
{
    strata_batch *b;
    strata_lp_error e;
    char line[256];
    if (strata_batch_new(db, &b))
        die("batch");
    for (int i = 0; i < 3000; i++) {
        long long ts = 1704067200000000000LL + (long long)(i + part * 3000) * 60000000000LL;
        snprintf(line, sizeof line, "m,device=d%d,site=s%d temp=%d.%d,count=%di,on=%s %lld", i % 5,
                 i % 3, 20 + i % 7, i % 10, i, i % 2 ? "true" : "false", ts);
        if (strata_batch_add_lp(b, line, strlen(line), STRATA_PRECISION_NS, 0, &e))
            die("line");
        snprintf(line, sizeof line, "n,device=d%d x=%s %lld", i % 2, i % 97 ? "1.5e300" : "NaN",
                 ts);
        if (strata_batch_add_lp(b, line, strlen(line), STRATA_PRECISION_NS, 0, &e))
            die("line");
    }
    if (strata_db_write(db, b))
        die("write");
    strata_batch_free(b);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char tmpl[] = "/tmp/strata-fuzz-query.XXXXXX";
    char *dir = mkdtemp(tmpl);
    strata_options o;
    strata_options_init(&o);
    o.create_if_missing = 1;
    o.no_compaction = 1;
    if (!dir || strata_db_open(dir, &o, &db))
        die("open");
    write_part(0);
    if (strata_db_compact(db)) /* flushes; builds the rollups of cold data */
        die("compact");
    write_part(1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    char *text = malloc(n + 1);
    if (!text)
        return 0;
    memcpy(text, d, n);
    text[n] = 0;
    strata_query *q;
    if (strata_query_prepare(db, text, &q) == STRATA_OK) {
        int cols = strata_query_column_count(q), rows = 0;
        while (rows++ < 20000 && strata_query_step(q) == STRATA_ROW)
            for (int i = 0; i < cols; i++) {
                (void)strata_query_column_type(q, i);
                (void)strata_query_column_f64(q, i);
                (void)strata_query_column_text(q, i);
            }
        strata_query_finalize(q);
    }
    free(text);
    return 0;
}
