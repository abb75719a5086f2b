/*
 * fuzz_wal.c — libFuzzer target: the bytes of a write-ahead log file
 * (FORMAT.md §3) with the header's and every record's checksum made right,
 * so that mutations reach the record decoder (catalog definitions, samples,
 * batch keys) instead of stopping at a checksum.  The file replaces the
 * log of a copy of a small database, which is opened read-only and then
 * read-write (replay, flush), inspected, queried and closed.  Any result
 * but a crash, a leak or undefined behaviour.
 *
 * With FUZZ_SEEDS=DIR set, initialisation writes the log of the template
 * database (plain and keyed batches) into DIR as a seed.  Run by `make fuzz`.
 */
#include "tests/fuzz/common.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

static char base[] = "/tmp/strata-fuzz-wal.XXXXXX";
static char snap[300], work[300], walname[300];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (!mkdtemp(base))
        exit(1);
    char dir[300], cmd[1000];
    snprintf(dir, sizeof dir, "%s/db", base);
    snprintf(snap, sizeof snap, "%s/snap", base);
    snprintf(work, sizeof work, "%s/work", base);
    strata_db *db = fz_create(dir);
    fz_write_points(db, 0, NULL);
    if (strata_db_flush(db))
        exit(1);
    fz_write_points(db, 40, NULL);
    fz_write_points(db, 80, "batch-7");
    /* the copy, taken while open, has the last two batches in its log */
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s'", dir, snap);
    if (system(cmd))
        exit(1);
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
        snprintf(cmd, sizeof cmd, "cp '%s/%s' '%s/wal-seed'", snap, walname, getenv("FUZZ_SEEDS"));
        if (system(cmd))
            exit(1);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    uint8_t *b = malloc(n ? n : 1);
    if (!b)
        return 0;
    memcpy(b, d, n);
    fz_fix_frames(b, n, 40, 16); /* §3.2: 40-byte header, 16-byte record heads */
    fz_copy_with(snap, work, walname, b, n);
    free(b);
    fz_open_use_close(work);
    return 0;
}
