/*
 * cmd_compact.c — the compaction family of the `strata` command:
 *
 *   strata compact <db>              flush the head, merge segments (late
 *                                    data, time tiers), apply retention;
 *                                    prints segments and bytes before/after
 *   strata retention <db> [--raw D] [--tier W=D]...
 *                                    show or change the retention of raw
 *                                    data and of each rollup tier
 *   strata rollups <db> [--tiers W,W|none]
 *                                    show or change the rollup tiers
 *
 * All open the database for writing (its lock is exclusive).  Retention
 * per measurement is not supported and is refused with a message saying
 * so.
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
               "than the retention (strata retention); build the rollups of closed\n"
               "partitions (strata rollups).  Prints the live segments and their bytes\n"
               "before and after.  Safe to interrupt: either the old or the new segments\n"
               "are live, never both.\n");
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
    printf("rollups: %" PRIu64 " file(s), %" PRIu64 " bytes (before: %" PRIu64 ", %" PRIu64
           " bytes)\n",
           b.rollup_segments, b.rollup_bytes, a.rollup_segments, a.rollup_bytes);
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
    fprintf(f, "usage: strata retention <db> [--raw D|forever] [--tier W=D|forever]...\n"
               "\n"
               "Show how long the database keeps raw data and each rollup tier, or change\n"
               "it: --raw for raw points, --tier for the rollups of bucket width W (a tier\n"
               "the database has, see strata rollups), with a duration (7d, 12h, 2w) or\n"
               "'forever'.  Data older than the newest timestamp stored minus D is deleted\n"
               "by compaction, a whole file at a time once all of its time range has\n"
               "expired.  With raw data not kept forever, rollups are built for every\n"
               "series, so tiers kept longer still answer for the expired time.\n"
               "Retention per measurement is not supported.\n");
}

static int parse_keep(const char *what, const char *s, int64_t *ns)
{
    *ns = 0;
    if (!strcmp(s, "forever"))
        return 0;
    if (duration_parse(s, strlen(s), ns) || *ns <= 0) {
        cli_errorf("retention: %s must be a positive duration (7d, 12h) or 'forever', not '%s'",
                   what, s);
        return -1;
    }
    return 0;
}

static void print_keep(const char *name, int64_t ns)
{
    char d[64] = "forever";
    if (ns)
        format_duration(ns, d, sizeof d);
    printf("%-6s %s\n", name, d);
}

int cmd_retention(int argc, char **argv)
{
    static const struct option opts[] = {{"raw", required_argument, 0, 'r'},
                                         {"measurement", required_argument, 0, 'm'},
                                         {"tier", required_argument, 0, 't'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *raw = NULL;
    const char *tiers[STRATA_MAX_ROLLUP_TIERS * 2];
    size_t ntiers = 0;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'r': raw = optarg; break;
        case 't':
            if (ntiers == sizeof tiers / sizeof tiers[0]) {
                cli_errorf("retention: too many --tier options");
                return CLI_USAGE;
            }
            tiers[ntiers++] = optarg;
            break;
        case 'm':
            cli_errorf("retention: per-measurement retention is not supported; raw data and "
                       "each rollup tier have one retention for the whole database (--raw, "
                       "--tier)");
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
            cli_errorf("retention: per-measurement retention ('%s') is not supported; --raw "
                       "takes a duration for all raw data",
                       raw);
            return CLI_USAGE;
        }
        if (parse_keep("--raw", raw, &ns))
            return CLI_USAGE;
    }
    int64_t tw[STRATA_MAX_ROLLUP_TIERS * 2], tk[STRATA_MAX_ROLLUP_TIERS * 2];
    for (size_t i = 0; i < ntiers; i++) {
        const char *eq = strchr(tiers[i], '=');
        if (!eq || duration_parse(tiers[i], (size_t)(eq - tiers[i]), &tw[i]) || tw[i] <= 0) {
            cli_errorf("retention: --tier takes WIDTH=DURATION (1m=90d, 1h=forever), not '%s'",
                       tiers[i]);
            return CLI_USAGE;
        }
        if (parse_keep("--tier", eq + 1, &tk[i]))
            return CLI_USAGE;
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
    strata_rollup_tier t[STRATA_MAX_ROLLUP_TIERS];
    size_t nt = 0;
    strata_db_get_rollup_tiers(db, t, &nt);
    for (size_t i = 0; i < ntiers; i++) {
        size_t k = 0;
        while (k < nt && t[k].width_ns != tw[i])
            k++;
        if (k == nt) {
            char d[64];
            format_duration(tw[i], d, sizeof d);
            cli_errorf("retention: the database has no %s rollup tier (see strata rollups)", d);
            strata_db_close(db);
            return CLI_USAGE;
        }
        t[k].retention_ns = tk[i];
    }
    if (ntiers && strata_db_set_rollup_tiers(db, t, nt) != STRATA_OK) {
        cli_errorf("retention: %s", strata_errmsg(db));
        strata_db_close(db);
        return CLI_FAIL;
    }
    strata_db_get_retention(db, &ns);
    strata_db_get_rollup_tiers(db, t, &nt);
    if (strata_db_close(db) != STRATA_OK) {
        cli_errorf("retention: %s", strata_errmsg(NULL));
        return CLI_FAIL;
    }
    print_keep("raw", ns);
    for (size_t i = 0; i < nt; i++) {
        char w[64];
        format_duration(t[i].width_ns, w, sizeof w);
        print_keep(w, t[i].retention_ns);
    }
    return CLI_OK;
}

static void usage_rollups(FILE *f)
{
    fprintf(f, "usage: strata rollups <db> [--tiers W[,W...]|none]\n"
               "\n"
               "Show the database's rollup tiers (bucket widths whose count, sum, min, max,\n"
               "first and last per series and bucket compaction keeps), with their files,\n"
               "or change them with --tiers: ascending widths of 1s or more that divide the\n"
               "partition width (a new database has 1m,1h), or 'none'.  Tiers kept keep\n"
               "their retention; new ones are kept forever (strata retention --tier).\n"
               "Compaction builds the new tiers and deletes the rollups of removed ones.\n");
}

int cmd_rollups(int argc, char **argv)
{
    static const struct option opts[] = {
        {"tiers", required_argument, 0, 't'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *want = NULL;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 't': want = optarg; break;
        case 'h': usage_rollups(stdout); return CLI_OK;
        default:
            cli_errorf("rollups: unknown option '%s'", argv[optind - 1]);
            usage_rollups(stderr);
            return CLI_USAGE;
        }
    }
    if (optind != argc - 1) {
        cli_errorf("rollups: give exactly one database directory");
        return CLI_USAGE;
    }
    int64_t w[STRATA_MAX_ROLLUP_TIERS];
    size_t nw = 0;
    if (want && strcmp(want, "none") != 0) {
        for (const char *p = want; *p;) {
            const char *e = strchr(p, ',');
            size_t len = e ? (size_t)(e - p) : strlen(p);
            if (nw == STRATA_MAX_ROLLUP_TIERS) {
                cli_errorf("rollups: at most %d tiers", STRATA_MAX_ROLLUP_TIERS);
                return CLI_USAGE;
            }
            if (duration_parse(p, len, &w[nw]) || w[nw] <= 0) {
                cli_errorf("rollups: --tiers takes widths like 1m,1h (or 'none'), not '%.*s' in "
                           "'%s'",
                           (int)len, p, want);
                return CLI_USAGE;
            }
            nw++;
            p += len + (e != NULL);
        }
    }
    strata_db *db;
    int rc = open_rw(argv[optind], &db);
    if (rc != CLI_OK)
        return rc;
    strata_rollup_tier t[STRATA_MAX_ROLLUP_TIERS];
    size_t nt = 0;
    strata_db_get_rollup_tiers(db, t, &nt);
    if (want) {
        strata_rollup_tier n[STRATA_MAX_ROLLUP_TIERS];
        for (size_t i = 0; i < nw; i++) {
            n[i] = (strata_rollup_tier){w[i], 0};
            for (size_t k = 0; k < nt; k++)
                if (t[k].width_ns == w[i])
                    n[i].retention_ns = t[k].retention_ns;
        }
        if (strata_db_set_rollup_tiers(db, n, nw) != STRATA_OK) {
            cli_errorf("rollups: %s", strata_errmsg(db));
            strata_db_close(db);
            return CLI_USAGE;
        }
        strata_db_get_rollup_tiers(db, t, &nt);
    }
    strata_stats st;
    strata_db_stats(db, &st);
    if (strata_db_close(db) != STRATA_OK) {
        cli_errorf("rollups: %s", strata_errmsg(NULL));
        return CLI_FAIL;
    }
    if (!nt)
        printf("no rollup tiers\n");
    for (size_t i = 0; i < nt; i++) {
        char a[64], b[64] = "forever";
        format_duration(t[i].width_ns, a, sizeof a);
        if (t[i].retention_ns)
            format_duration(t[i].retention_ns, b, sizeof b);
        printf("tier %-6s kept %s\n", a, b);
    }
    printf("rollup segments: %" PRIu64 " (%" PRIu64 " bytes, %" PRIu64 " stale)%s\n",
           st.rollup_segments, st.rollup_bytes, st.rollups_stale,
           want ? "; strata compact builds and removes rollups" : "");
    return CLI_OK;
}
