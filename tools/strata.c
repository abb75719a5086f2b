/*
 * strata.c — the `strata` command: dispatches `strata <command> …` to the
 * command files (tools/cmd_*.c) and prints the overall usage.
 */
#include "tools/cli.h"

#include "strata.h"

#include <stdio.h>
#include <string.h>

/* jemalloc (the allocator the CLI links) reads its options from this
 * symbol; MALLOC_CONF still overrides.
 * - thp:always: jemalloc's mappings ask for transparent huge pages
 *   (MADV_HUGEPAGE).  Where the kernel grants them (THP "always" or
 *   "madvise"), a 2 MiB page is one fault instead of 512.  On the VMs the
 *   benchmarks run on a 4 KiB fault costs about 11 us, and `strata ingest`
 *   of the Beijing fixture (4.6 M values) took ~26,600 faults, about a
 *   third of its CPU time; with huge pages 2,900 faults, ingest 0.80 ->
 *   0.55 s, the 200-truck fleet 1.45 -> 1.25 s.  Peak RSS grows by the
 *   rounding to 2 MiB (fleet ~105 -> ~135 MB).
 * - dirty_decay_ms:1000: freed pages are kept for reuse for a second, not
 *   returned at once (each return was an madvise, and the next use faulted
 *   them back in: 2,700 madvise calls for the Beijing ingest); long
 *   enough for the next head or batch to reuse them.  (Without a
 *   background thread jemalloc returns them on later allocator calls, so
 *   an idle `strata shell` keeps them until its next command.)
 * - narenas:1: every thread allocates from one arena.  With an arena per
 *   thread (the default on 2 cores: up to 8) each of the 4-5 threads of an
 *   ingest zeroed huge pages of its own for jemalloc's metadata and first
 *   slabs: a fifth of the NAB ingest's main thread went to clear_page in
 *   base_block_alloc and the tcache set-up.  The threads allocate little
 *   (head blocks come from the head pool, batches are reused), so one
 *   arena's lock costs less.  Interleaved medians, each run 4 s after the
 *   last (the host takes freed memory back within seconds, so fresh pages
 *   are what a run pays for): NAB 0.129 -> 0.115 s, devops 0.866 ->
 *   0.819 s, Beijing 0.624 -> 0.608 s, fleet 1.57 -> 1.40 s. */
__attribute__((visibility("default"))) const char *malloc_conf =
    "thp:always,narenas:1,dirty_decay_ms:1000,muzzy_decay_ms:0";

static const struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"ingest", cmd_ingest, "ingest <db> [--format lp|csv] [--precision ns|us|ms|s] [--strict] FILE…|-"},
    {"dump", cmd_dump, "dump <db> [--measurement M] [--from T] [--to T]"},
    {"query", cmd_query, "query <db> ['<query>'] [--format table|csv|json|ndjson] [--epoch ns] [--plot FILE.svg|-]"},
    {"gaps", cmd_gaps, "gaps <db> [--device D] [--measurement M] [--from T] [--to T] [--interval D] [--tolerance X] [--format table|csv|json]"},
    {"inspect", cmd_inspect, "inspect <db> [--format text|json]"},
    {"verify", cmd_verify, "verify <db>"},
    {"delete", cmd_delete, "delete <db> (--series KEY... | --device D [--measurement M]) [--from T] [--to T]"},
    {"compact", cmd_compact, "compact <db>"},
    {"retention", cmd_retention, "retention <db> [--raw D|forever] [--tier W=D|forever]..."},
    {"rollups", cmd_rollups, "rollups <db> [--tiers W,W|none]"},
    {"gen", cmd_gen, "gen fleet|devops|flaky [--trucks N|--hosts N] [--span 1d] [--interval 10s] [--seed S] [-o FILE]"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: strata <command> [arguments]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  strata %s\n", commands[i].summary);
    fprintf(f, "\n`strata <command> --help` describes one command.  Strata %s\n",
            STRATA_VERSION_STRING);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return CLI_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("strata %s\n", STRATA_VERSION_STRING);
        return CLI_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    cli_errorf("unknown command '%s'", argv[1]);
    usage(stderr);
    return CLI_USAGE;
}
