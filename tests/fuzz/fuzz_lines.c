/*
 * fuzz_lines.c — libFuzzer target: line protocol into a database.  Byte 0
 * picks the timestamp precision; the rest is split into lines, each added
 * to one batch (bad lines are refused one by one), which is written with
 * sync=none.  Every 64 inputs the database is flushed, queried over
 * everything, closed and reopened (log and catalog read back), and queried
 * again.  Any result but a crash, a leak or undefined behaviour.  Seeds:
 * seeds/lines.  Run by `make fuzz`.
 */
#include "tests/fuzz/common.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

static char dir[] = "/tmp/strata-fuzz-lines.XXXXXX";
static strata_db *db;
static long inputs;

static void open_db(void)
{
    strata_options o;
    strata_options_init(&o);
    o.create_if_missing = 1;
    o.sync = STRATA_SYNC_NONE;
    o.no_compaction = 1;
    if (strata_db_open(dir, &o, &db)) {
        fprintf(stderr, "fuzz_lines: open: %s\n", strata_errmsg(NULL));
        exit(1);
    }
}

static void scan_all(void)
{
    static const char *qs[] = {"SELECT last(*) FROM m GROUP BY *",
                               "SELECT count(*) FROM m GROUP BY time(1d), *",
                               "SELECT * FROM m LIMIT 100"};
    for (size_t i = 0; i < sizeof qs / sizeof *qs; i++)
        fz_query(db, qs[i], 10000);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (!mkdtemp(dir))
        exit(1);
    open_db();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    if (n < 1)
        return 0;
    strata_precision prec = (strata_precision)(d[0] % 4);
    const char *text = (const char *)d + 1;
    size_t len = n - 1, at = 0;
    strata_batch *b;
    if (strata_batch_new(db, &b))
        exit(1);
    for (;;) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - text) : len;
        strata_lp_error err;
        (void)strata_batch_add_lp(b, text + at, end - at, prec, 1704067200000000000LL, &err);
        if (!nl)
            break;
        at = end + 1;
    }
    (void)strata_db_write(db, b);
    strata_batch_free(b);
    if (++inputs % 64 == 0) {
        (void)strata_db_flush(db);
        scan_all();
        strata_db_close(db);
        open_db();
        scan_all();
    }
    return 0;
}
