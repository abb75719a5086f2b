/*
 * fuzz_meta.c — libFuzzer target: the catalog (FORMAT.md §4), the manifest
 * (§7) or the keys file (§3.8) of a small database, byte 0 picking which,
 * with every checksum of the file made right so that mutations reach the
 * parsers (definitions, LZ4 blocks, manifest fields, key entries).  The
 * file replaces its original in a copy of the database, which is opened
 * read-only and then read-write, inspected (`strata inspect`), queried
 * and closed.  Any result but a crash, a leak or undefined behaviour.
 *
 * With FUZZ_SEEDS=DIR set, initialisation writes the three files, each
 * behind its selector byte, into DIR as seeds.  Run by `make fuzz`.
 */
#include "engine/inspect.h"
#include "strata.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

static char base[] = "/tmp/strata-fuzz-meta.XXXXXX";
static char snap[300], work[300];
static const char *names[3] = {"catalog", "MANIFEST", "idemkeys"};

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
    if (strata_batch_new(db, &b) || (key && strata_batch_set_key(b, key, strlen(key))))
        exit(1);
    for (int i = from; i < from + 40; i++) {
        snprintf(line, sizeof line, "m,device=d%d,site=s\\,%d temp=%d.5,count=%di,on=%s %lld",
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
    snprintf(snap, sizeof snap, "%s/snap", base);
    snprintf(work, sizeof work, "%s/work", base);
    strata_options o;
    strata_options_init(&o);
    o.create_if_missing = 1;
    o.no_compaction = 1;
    strata_db *db;
    if (strata_db_open(snap, &o, &db))
        exit(1);
    write_some(db, 0, "k-1");
    write_some(db, 40, "k-2");
    if (strata_db_flush(db)) /* the keys move to idemkeys */
        exit(1);
    write_some(db, 80, NULL);
    strata_db_close(db);
    const char *seeds = getenv("FUZZ_SEEDS");
    for (int k = 0; seeds && k < 3; k++) {
        char from[700], to[700];
        snprintf(from, sizeof from, "%s/%s", snap, names[k]);
        snprintf(to, sizeof to, "%s/meta-%s", seeds, names[k]);
        FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
        if (!in || !out)
            exit(1);
        fputc(k, out);
        int c;
        while ((c = fgetc(in)) != EOF)
            fputc(c, out);
        fclose(in);
        fclose(out);
    }
    return 0;
}

static void put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

/* Catalog and manifest: a 32-byte header, then blocks of an 8-byte head
 * (u32 length first), the payload and the XXH3 of head and payload. */
static void fix_blocks(uint8_t *b, size_t n)
{
    if (n < 32)
        return;
    put64(b + 24, XXH3_64bits(b, 24));
    size_t at = 32;
    while (n - at >= 16) {
        uint32_t len;
        memcpy(&len, b + at, 4);
        if (len > n - at - 16)
            break;
        put64(b + at + 8 + len, XXH3_64bits(b + at, 8 + (size_t)len));
        at += 16 + (size_t)len;
    }
}

static void fix_keys(uint8_t *b, size_t n)
{
    if (n < 48)
        return;
    put64(b + 32, XXH3_64bits(b, 32));
    put64(b + n - 8, XXH3_64bits(b + 40, n - 48));
}

static void query_all(strata_db *db)
{
    inspect_report r;
    if (db_inspect(db, &r) == STRATA_OK)
        inspect_free(&r);
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
    if (n < 1)
        return 0;
    int k = d[0] % 3;
    size_t len = n - 1;
    uint8_t *b = malloc(len ? len : 1);
    if (!b)
        return 0;
    memcpy(b, d + 1, len);
    if (k == 2)
        fix_keys(b, len);
    else
        fix_blocks(b, len);
    sh("rm -rf %s", work, "");
    sh("cp -r %s %s", snap, work);
    char p[700];
    snprintf(p, sizeof p, "%s/%s", work, names[k]);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || (len && write(fd, b, len) != (ssize_t)len))
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
