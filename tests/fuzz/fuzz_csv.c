/*
 * fuzz_csv.c — libFuzzer target: `strata ingest --format csv` of the input
 * (tools/cmd_ingest.c, the CLI's own parser), into a fresh database each
 * time.  Byte 0 picks options (tag columns, --measurement, --strict,
 * --precision s); the rest is the file.  Any exit code, but no crash, leak
 * or undefined behaviour.  Run with -close_fd_mask=3 (the CLI reports bad
 * lines on stderr).  Seeds: seeds/csv.  Run by `make fuzz`.
 */
#include "tools/cli.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

static char base[] = "/tmp/strata-fuzz-csv.XXXXXX";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (!mkdtemp(base))
        exit(1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    if (n < 1)
        return 0;
    char file[128], db[128], cmd[300];
    snprintf(file, sizeof file, "%s/in.csv", base);
    snprintf(db, sizeof db, "%s/db", base);
    FILE *f = fopen(file, "wb");
    if (!f || fwrite(d + 1, 1, n - 1, f) != n - 1 || fclose(f))
        exit(1);
    char *args[16];
    int k = 0;
    args[k++] = "ingest";
    args[k++] = db;
    args[k++] = "--format";
    args[k++] = "csv";
    args[k++] = "--quiet";
    args[k++] = "--sync";
    args[k++] = "none";
    if (d[0] & 1) {
        args[k++] = "--tag-columns";
        args[k++] = "device,site";
    }
    if (d[0] & 2) {
        args[k++] = "--measurement";
        args[k++] = "m";
    }
    if (d[0] & 4)
        args[k++] = "--strict";
    if (d[0] & 8) {
        args[k++] = "--precision";
        args[k++] = "s";
    }
    args[k++] = file;
    args[k] = NULL;
    (void)cmd_ingest(k, args);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", db);
    if (system(cmd))
        exit(1);
    return 0;
}
