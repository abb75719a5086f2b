/*
 * cmd_compact.c — the compaction family of the `strata` command:
 *
 *   strata compact <db>              flush the head, merge segments (late
 *                                    data, time tiers), apply retention;
 *                                    prints segments and bytes before/after
 *   strata retention <db> [--raw D]  show or change the raw retention
 *
 * Both open the database for writing (its lock is exclusive).  Retention
 * per measurement or per rollup tier is not supported yet and is refused
 * with a message saying so.
 */
#include "tools/cli.h"

#include "engine/timetext.h"
#include "strata.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int open_rw(const char *path, strata_db **db)
{
    strata_options o;
    strata_options_init(&o);
    o.log = cli_log;
    o.no_compaction = 1; /* this command does it, in the foreground */
    if (strata_db_open(path, &o, db) != STRATA_OK) {
        cli_errorf("%s", strata_errmsg(NULL));
        return CLI_FAIL;
    }
    return CLI_OK;
}

int cmd_compact(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: strata compact <db>\n"
               "\n"
               "Write the in-memory head to segments, then merge the segments that share\n"
               "time partitions (late and out-of-order data, repeated flushes) into one per\n"
               "partition, keeping the last written value of each series and timestamp;\n"
               "merge cold partitions into wider time tiers; delete segments wholly older\n"
               "than the retention (strata retention).  Prints the live segments and their\n"
               "bytes before and after.  Safe to interrupt: either the old or the new\n"
               "segments are live, never both.\n");
        return CLI_OK;
    }
    if (argc != 2 || argv[1][0] == '-') {
        cli_errorf("compact: give exactly one database directory");
        return CLI_USAGE;
    }
    strata_db *db;
    int rc = open_rw(argv[1], &db);
    if (rc != CLI_OK)
        return rc;
    strata_stats a, b;
    strata_db_stats(db, &a);
    if (strata_db_compact(db) != STRATA_OK) {
        cli_errorf("compact: %s", strata_errmsg(db));
        strata_db_close(db);
        return CLI_FAIL;
    }
    strata_db_stats(db, &b);
    if (strata_db_close(db) != STRATA_OK) {
        cli_errorf("compact: %s", strata_errmsg(NULL));
        return CLI_FAIL;
    }
    printf("before: %" PRIu64 " segments, %" PRIu64 " bytes (+ %" PRIu64 " points in the head)\n",
           a.segments, a.segment_bytes, a.head_points);
    printf("after:  %" PRIu64 " segments, %" PRIu64 " bytes\n", b.segments, b.segment_bytes);
    return CLI_OK;
}

/* The largest unit that divides ns exactly. */
static void format_duration(int64_t ns, char *out, size_t cap)
{
    static const struct {
        const char *unit;
        int64_t ns;
    } units[] = {{"w", 604800000000000LL}, {"d", 86400000000000LL},
                 {"h", 3600000000000LL},   {"m", 60000000000LL},
                 {"s", 1000000000LL},      {"ms", 1000000LL},
                 {"us", 1000LL},           {"ns", 1LL}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (ns % units[i].ns == 0) {
            snprintf(out, cap, "%" PRId64 "%s", ns / units[i].ns, units[i].unit);
            return;
        }
}

static void usage_retention(FILE *f)
{
    fprintf(f, "usage: strata retention <db> [--raw D|forever]\n"
               "\n"
               "Show the database's raw retention, or change it with --raw: a duration\n"
               "(7d, 12h, 2w) or 'forever'.  Points older than the newest timestamp stored\n"
               "minus D are deleted by compaction, a whole segment file at a time once all\n"
               "of its time range has expired.  Retention per measurement or per rollup\n"
               "tier is not supported yet.\n");
}

int cmd_retention(int argc, char **argv)
{
    static const struct option opts[] = {{"raw", required_argument, 0, 'r'},
                                         {"measurement", required_argument, 0, 'm'},
                                         {"tier", required_argument, 0, 't'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *raw = NULL;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'r': raw = optarg; break;
        case 'm':
        case 't':
            cli_errorf("retention: per-measurement and per-tier retention are not supported yet; "
                       "only the database-wide raw retention (--raw D)");
            return CLI_USAGE;
        case 'h': usage_retention(stdout); return CLI_OK;
        default:
            cli_errorf("retention: unknown option '%s'", argv[optind - 1]);
            usage_retention(stderr);
            return CLI_USAGE;
        }
    }
    if (optind != argc - 1) {
        cli_errorf("retention: give exactly one database directory");
        return CLI_USAGE;
    }
    int64_t ns = 0;
    if (raw) {
        if (strchr(raw, '=')) {
            cli_errorf("retention: per-measurement retention ('%s') is not supported yet; only "
                       "the database-wide raw retention (--raw D)",
                       raw);
            return CLI_USAGE;
        }
        if (strcmp(raw, "forever") != 0 && (duration_parse(raw, strlen(raw), &ns) || ns <= 0)) {
            cli_errorf("retention: --raw must be a positive duration (7d, 12h) or 'forever', "
                       "not '%s'",
                       raw);
            return CLI_USAGE;
        }
    }
    strata_db *db;
    int rc = open_rw(argv[optind], &db);
    if (rc != CLI_OK)
        return rc;
    if (raw && strata_db_set_retention(db, ns) != STRATA_OK) {
        cli_errorf("retention: %s", strata_errmsg(db));
        strata_db_close(db);
        return CLI_FAIL;
    }
    strata_db_get_retention(db, &ns);
    if (strata_db_close(db) != STRATA_OK) {
        cli_errorf("retention: %s", strata_errmsg(NULL));
        return CLI_FAIL;
    }
    char d[64] = "forever";
    if (ns)
        format_duration(ns, d, sizeof d);
    printf("raw %s\n", d);
    return CLI_OK;
}
