/*
 * cmd_query.c — `strata query <db> ['<query>'] [--format table|csv|json|ndjson]
 * [--epoch ns] [--plot FILE.svg|-]`: run one query and print its rows, or,
 * without a query, an interactive shell (tools/shell.c).
 *
 * Output: times as RFC 3339 (or integer ns with --epoch ns); floats in the
 * shortest form that reads back to the same bits; NULL as an empty cell
 * (CSV, table) or null (JSON).  CSV: a header row, then one row per result:
 * time, the GROUP BY tags, the selected values.  JSON: an array of objects;
 * NDJSON: one object per line.  NaN and infinities, which JSON lacks, are
 * written as strings ("NaN", "+Inf", "-Inf").  The database is opened
 * read-only.
 */
#include "tools/cli.h"
#include "tools/qout.h"

#include "strata.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: strata query <db> ['<query>'] [--format table|csv|json|ndjson]\n"
               "                    [--epoch ns] [--plot FILE.svg|-]\n"
               "\n"
               "Run a query (docs/QUERY.md) and print its rows; without a query, start an\n"
               "interactive shell (.help lists its commands).  --plot draws the result as a\n"
               "line chart: to an SVG file, or with '-' on the terminal.\n");
}

int cmd_query(int argc, char **argv)
{
    static const struct option opts[] = {{"format", required_argument, 0, 'f'},
                                         {"epoch", required_argument, 0, 'e'},
                                         {"plot", required_argument, 0, 'p'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    qout_opts o = {QOUT_TABLE, 0, NULL};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (qout_parse_format(optarg, &o.format)) {
                cli_errorf("--format must be table, csv, json or ndjson, not '%s'", optarg);
                return CLI_USAGE;
            }
            break;
        case 'e':
            if (strcmp(optarg, "ns") != 0) {
                cli_errorf("--epoch takes ns (integer nanoseconds), not '%s'", optarg);
                return CLI_USAGE;
            }
            o.epoch_ns = 1;
            break;
        case 'p': o.plot = optarg; break;
        case 'h': usage(stdout); return CLI_OK;
        default: usage(stderr); return CLI_USAGE;
        }
    }
    if (optind >= argc || argc - optind > 2) {
        cli_errorf("query: give a database directory and at most one query");
        usage(stderr);
        return CLI_USAGE;
    }
    const char *path = argv[optind];
    strata_options so;
    strata_options_init(&so);
    so.read_only = 1;
    so.log = cli_log;
    strata_db *db;
    if (strata_db_open(path, &so, &db) != STRATA_OK) {
        cli_errorf("%s", strata_errmsg(NULL));
        return CLI_FAIL;
    }
    int rc;
    if (optind + 1 < argc)
        rc = qout_run(db, argv[optind + 1], &o, stdout) == 0 ? CLI_OK : CLI_FAIL;
    else
        rc = shell_run(db, path, &o);
    strata_db_close(db);
    return rc;
}
