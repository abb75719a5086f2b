/*
 * fuzz_wal.c — libFuzzer target: the bytes of a write-ahead log file
 * (FORMAT.md §3) with the header's and every record's checksum made right,
 * so that mutations reach the record decoder (catalog definitions, samples,
 * batch keys) instead of stopping at a checksum.  The file replaces the
 * log of a copy of a small database, which is opened read-only and then
 * read-write (replay, flush), queried and closed.  Any result but a crash,
 * a leak or undefined behaviour.
 *
 * With FUZZ_SEEDS=DIR set, initialisation writes the log of the template
 * database (plain and keyed batches) into DIR as a seed.  Run by `make fuzz`.
 */
#include "strata.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

static char base[] = "/tmp/strata-fuzz-wal.XXXXXX";
static char snap[300], work[300], walname[300];

/* A shell command made of fmt with a and b (fixed paths of our own). */
static void sh(const char *fmt, const char *a, const char *b)
{
    char cmd[1000];
    snprintf(cmd, sizeof cmd, fmt, a, b);
    if (system(cmd))
        exit(1);
}

static void write_some(strata_db *db, int from, const char *key)
{
    strata_batch *b;
    strata_lp_error e;
    char line[256];
    if (strata_batch_new(db, &b))
        exit(1);
    if (key && strata_batch_set_key(b, key, strlen(key)))
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

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (!mkdtemp(base))
        exit(1);
    char dir[300];
    snprintf(dir, sizeof dir, "%s/db", base);
    snprintf(snap, sizeof snap, "%s/snap", base);
    snprintf(work, sizeof work, "%s/work", base);
    strata_options o;
    strata_options_init(&o);
    o.create_if_missing = 1;
    o.no_compaction = 1;
    strata_db *db;
    if (strata_db_open(dir, &o, &db))
        exit(1);
    write_some(db, 0, NULL);
    if (strata_db_flush(db))
        exit(1);
    write_some(db, 40, NULL);
    write_some(db, 80, "batch-7");
    sh("cp -r %s %s", dir, snap); /* open: the log holds the last two batches */
    strata_db_close(db);
    char wd[400];
    snprintf(wd, sizeof wd, "%s/wal", snap);
    DIR *dh = opendir(wd);
    struct dirent *de;
    while (dh && (de = readdir(dh)))
        if (strstr(de->d_name, ".wal"))
            snprintf(walname, sizeof walname, "wal/%s", de->d_name);
    if (dh)
        closedir(dh);
    if (!walname[0])
        exit(1);
    if (getenv("FUZZ_SEEDS")) {
        char from[700];
        snprintf(from, sizeof from, "%s/%s", snap, walname);
        sh("cp %s %s/wal-seed", from, getenv("FUZZ_SEEDS"));
    }
    return 0;
}

static void query_all(strata_db *db)
{
    strata_query *q;
    if (strata_query_prepare(db, "SELECT count(*), last(*) FROM m GROUP BY *", &q) != STRATA_OK)
        return;
    int rows = 0;
    while (rows++ < 1000 && strata_query_step(q) == STRATA_ROW)
        (void)strata_query_column_text(q, 1);
    strata_query_finalize(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    uint8_t *b = malloc(n ? n : 1);
    if (!b)
        return 0;
    memcpy(b, d, n);
    if (n >= 40) { /* header, then records while they fit */
        uint64_t h = XXH3_64bits(b, 32);
        memcpy(b + 32, &h, 8);
        size_t at = 40;
        while (n - at >= 24) {
            uint32_t len;
            memcpy(&len, b + at, 4);
            if (len > n - at - 24)
                break;
            h = XXH3_64bits(b + at, 16 + (size_t)len);
            memcpy(b + at + 16 + len, &h, 8);
            at += 24 + (size_t)len;
        }
    }
    sh("rm -rf %s", work, "");
    sh("cp -r %s %s", snap, work);
    char p[700];
    snprintf(p, sizeof p, "%s/%s", work, walname);
    int fd = open(p, O_WRONLY | O_TRUNC);
    if (fd < 0 || (n && write(fd, b, n) != (ssize_t)n))
        exit(1);
    close(fd);
    free(b);
    for (int ro = 1; ro >= 0; ro--) {
        strata_options o;
        strata_options_init(&o);
        o.read_only = ro;
        o.no_compaction = 1;
        strata_db *db;
        if (strata_db_open(work, &o, &db) == STRATA_OK) {
            query_all(db);
            strata_db_close(db);
        }
    }
    return 0;
}
