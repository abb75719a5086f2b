/*
 * common.c — what the fuzz targets share (common.h).
 * Directories are copied with cp(1): the paths are the targets' own.
 */
#include "tests/fuzz/common.h"

#include "engine/inspect.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

void fz_put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

void fz_fix_frames(uint8_t *b, size_t n, size_t hdr, size_t head)
{
    if (n < hdr)
        return;
    fz_put64(b + hdr - 8, XXH3_64bits(b, hdr - 8));
    size_t at = hdr;
    while (n - at >= head + 8) {
        uint32_t len;
        memcpy(&len, b + at, 4);
        if (len > n - at - head - 8)
            break;
        fz_put64(b + at + head + len, XXH3_64bits(b + at, head + (size_t)len));
        at += head + 8 + (size_t)len;
    }
}

strata_db *fz_create(const char *dir)
{
    strata_options o;
    strata_options_init(&o);
    o.create_if_missing = 1;
    o.no_compaction = 1;
    strata_db *db;
    if (strata_db_open(dir, &o, &db))
        exit(1);
    return db;
}

void fz_write_points(strata_db *db, int from, const char *key)
{
    strata_batch *b;
    strata_lp_error e;
    char line[256];
    if (strata_batch_new(db, &b) || (key && strata_batch_set_key(b, key, strlen(key))))
        exit(1);
    for (int i = from; i < from + 40; i++) {
        snprintf(line, sizeof line, "m,device=d%d,site=s\\ %d temp=%d.5,count=%di,on=%s %lld",
                 i % 4, i % 2, i % 30, i, i % 3 ? "t" : "f",
                 1704067200000000000LL + (long long)i * 1000000000LL);
        if (strata_batch_add_lp(b, line, strlen(line), STRATA_PRECISION_NS, 0, &e))
            exit(1);
    }
    if (strata_db_write(db, b))
        exit(1);
    strata_batch_free(b);
}

void fz_copy_with(const char *snap, const char *work, const char *name, const uint8_t *d, size_t n)
{
    char cmd[1000], p[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s' '%s'", work, snap, work);
    if (system(cmd))
        exit(1);
    snprintf(p, sizeof p, "%s/%s", work, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || (n && write(fd, d, n) != (ssize_t)n) || close(fd))
        exit(1);
}

void fz_query(strata_db *db, const char *text, int max_rows)
{
    strata_query *q;
    if (strata_query_prepare(db, text, &q) != STRATA_OK)
        return;
    int rows = 0, cols = strata_query_column_count(q);
    while (rows++ < max_rows && strata_query_step(q) == STRATA_ROW)
        for (int c = 0; c < cols; c++)
            (void)strata_query_column_text(q, c);
    strata_query_finalize(q);
}

static void use(strata_db *db)
{
    inspect_report r;
    if (db_inspect(db, &r) == STRATA_OK)
        inspect_free(&r);
    fz_query(db, "SELECT count(*), last(*) FROM m GROUP BY *", 1000);
}

void fz_open_use_close(const char *work)
{
    for (int ro = 1; ro >= 0; ro--) {
        strata_options o;
        strata_options_init(&o);
        o.read_only = ro;
        o.no_compaction = 1;
        strata_db *db;
        if (strata_db_open(work, &o, &db) == STRATA_OK) {
            use(db);
            strata_db_close(db);
        }
    }
}
