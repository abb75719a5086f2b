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
#include "tests/fuzz/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

static char base[] = "/tmp/strata-fuzz-meta.XXXXXX";
static char snap[300], work[300];
static const char *names[3] = {"catalog", "MANIFEST", "idemkeys"};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (!mkdtemp(base))
        exit(1);
    snprintf(snap, sizeof snap, "%s/snap", base);
    snprintf(work, sizeof work, "%s/work", base);
    strata_db *db = fz_create(snap);
    fz_write_points(db, 0, "k-1");
    fz_write_points(db, 40, "k-2");
    if (strata_db_flush(db)) /* the keys move to idemkeys */
        exit(1);
    fz_write_points(db, 80, NULL);
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

static void fix_keys(uint8_t *b, size_t n)
{
    if (n < 48)
        return;
    fz_put64(b + 32, XXH3_64bits(b, 32));
    fz_put64(b + n - 8, XXH3_64bits(b + 40, n - 48));
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
        fz_fix_frames(b, len, 32, 8); /* §4.1, §7.1: 32-byte header, 8-byte heads */
    fz_copy_with(snap, work, names[k], b, len);
    free(b);
    fz_open_use_close(work);
    return 0;
}
