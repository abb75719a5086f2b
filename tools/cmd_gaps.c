/*
 * cmd_gaps.c — `strata gaps <db> [--device D] [--measurement M] [--from T]
 * [--to T] [--interval D] [--tolerance X] [--format table|csv|json]`: list
 * each device's missing reports (strata_gaps_*, rules in docs/GAPS.md).
 *
 * Columns: device, start, end (RFC 3339, UTC), missing (a count), interval
 * (a duration such as 10s or 1h30m) and kind: `gap` (ended by a report),
 * `silent` (no report after it before the end of the range), `absent` (no
 * report in the range at all, some before it).  Table: aligned, numbers to
 * the right; CSV: a header row, then one line per gap; JSON: an array of
 * objects with missing as a number.  Gaps are data: the exit status is 0
 * whenever the search ran, 1 when it failed, 2 for a bad command line.
 * The database is opened read-only.
 */
#include "tools/cli.h"
#include "tools/qout.h"

#include "engine/timetext.h"
#include "strata.h"

#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NCOLS 6

static const char *const colnames[NCOLS] = {"device",  "start",    "end",
                                            "missing", "interval", "kind"};

static void usage(FILE *f)
{
    fprintf(f, "usage: strata gaps <db> [--device D] [--measurement M] [--from T] [--to T]\n"
               "                   [--interval D] [--tolerance X] [--format table|csv|json]\n"
               "\n"
               "List each device's missing reports: two consecutive reports further apart\n"
               "than interval x tolerance.  A device is a value of the database's device tag;\n"
               "its reports are the times of all its series (or of one measurement's).\n"
               "\n"
               "  --device D       only this device\n"
               "  --measurement M  only this measurement's series\n"
               "  --from T         range start (RFC 3339 or integer ns); default: open\n"
               "  --to T           range end, exclusive; default: the latest report\n"
               "  --interval D     expected interval for every device (10s, 1m, 1h30m);\n"
               "                   default: learned per device (median delta)\n"
               "  --tolerance X    a gap is a delta above interval x X; X >= 1, default 1.5\n"
               "  --format F       table (default), csv or json\n"
               "\n"
               "Columns: device, start (first missing report), end (next report, or the\n"
               "range end), missing (reports), interval, kind (gap, silent, absent).\n");
}

static const char *kind_name(int k)
{
    return k == STRATA_GAP_SILENT ? "silent" : k == STRATA_GAP_ABSENT ? "absent" : "gap";
}

typedef struct rows {
    char **cells; /* NCOLS per row */
    size_t n, cap;
} rows;

static int rows_add(rows *t, char cells[NCOLS][TIME_RFC3339_BUFSZ + 24], const char *device)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        char **c = realloc(t->cells, cap * NCOLS * sizeof *c);
        if (!c)
            return -1;
        t->cells = c;
        t->cap = cap;
    }
    for (int i = 0; i < NCOLS; i++)
        if (!(t->cells[t->n * NCOLS + (size_t)i] = strdup(i == 0 ? device : cells[i])))
            return -1;
    t->n++;
    return 0;
}

static size_t width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

static void rows_print(FILE *f, const rows *t)
{
    size_t w[NCOLS];
    for (int i = 0; i < NCOLS; i++) {
        w[i] = width(colnames[i]);
        for (size_t r = 0; r < t->n; r++) {
            size_t l = width(t->cells[r * NCOLS + (size_t)i]);
            w[i] = l > w[i] ? l : w[i];
        }
    }
    for (int i = 0; i < NCOLS; i++)
        fprintf(f, "%s%-*s", i ? "  " : "", i + 1 < NCOLS ? (int)w[i] : 0, colnames[i]);
    fputc('\n', f);
    for (int i = 0; i < NCOLS; i++) {
        fputs(i ? "  " : "", f);
        for (size_t k = 0; k < w[i]; k++)
            fputc('-', f);
    }
    fputc('\n', f);
    for (size_t r = 0; r < t->n; r++) {
        for (int i = 0; i < NCOLS; i++) {
            const char *s = t->cells[r * NCOLS + (size_t)i];
            int pad = (int)(w[i] - width(s));
            fputs(i ? "  " : "", f);
            if (i == 3) /* missing: a number */
                fprintf(f, "%*s%s", pad, "", s);
            else
                fprintf(f, "%s%*s", s, i + 1 < NCOLS ? pad : 0, "");
        }
        fputc('\n', f);
    }
}

static void rows_free(rows *t)
{
    for (size_t i = 0; i < t->n * NCOLS; i++)
        free(t->cells[i]);
    free(t->cells);
}

typedef enum gfmt { G_TABLE, G_CSV, G_JSON } gfmt;

/* Print every gap of the search; 0, or -1 after printing the error. */
static int print_gaps(strata_db *db, strata_gaps *g, gfmt fmt, FILE *f)
{
    rows t = {0};
    int rc, first = 1, failed = 0;
    strata_gap gap;
    if (fmt == G_CSV)
        fputs("device,start,end,missing,interval,kind\n", f);
    else if (fmt == G_JSON)
        fputc('[', f);
    while ((rc = strata_gaps_next(g, &gap)) == STRATA_ROW) {
        char c[NCOLS][TIME_RFC3339_BUFSZ + 24];
        time_format_rfc3339(gap.start_ns, c[1]);
        time_format_rfc3339(gap.end_ns, c[2]);
        snprintf(c[3], sizeof c[3], "%" PRIu64, gap.missing);
        duration_format(gap.interval_ns, c[4]);
        snprintf(c[5], sizeof c[5], "%s", kind_name(gap.kind));
        switch (fmt) {
        case G_CSV:
            qout_csv_field(f, gap.device);
            fprintf(f, ",%s,%s,%s,%s,%s\n", c[1], c[2], c[3], c[4], c[5]);
            break;
        case G_JSON:
            fputs(first ? "\n{\"device\": " : ",\n{\"device\": ", f);
            qout_json_string(f, gap.device);
            fprintf(f,
                    ", \"start\": \"%s\", \"end\": \"%s\", \"missing\": %s, \"interval\": \"%s\", "
                    "\"kind\": \"%s\"}",
                    c[1], c[2], c[3], c[4], c[5]);
            break;
        case G_TABLE:
            if (rows_add(&t, c, gap.device)) {
                cli_errorf("out of memory");
                failed = 1;
            }
            break;
        }
        first = 0;
        if (failed)
            break;
    }
    if (fmt == G_JSON)
        fputs(first ? "]\n" : "\n]\n", f);
    if (rc != STRATA_DONE && !failed) {
        cli_errorf("%s", strata_errmsg(db));
        failed = 1;
    }
    if (fmt == G_TABLE && !failed)
        rows_print(f, &t);
    rows_free(&t);
    return failed ? -1 : 0;
}

int cmd_gaps(int argc, char **argv)
{
    static const struct option opts[] = {{"device", required_argument, 0, 'd'},
                                         {"measurement", required_argument, 0, 'm'},
                                         {"from", required_argument, 0, 'F'},
                                         {"to", required_argument, 0, 'T'},
                                         {"interval", required_argument, 0, 'i'},
                                         {"tolerance", required_argument, 0, 't'},
                                         {"format", required_argument, 0, 'f'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    strata_gaps_options go;
    strata_gaps_options_init(&go);
    gfmt fmt = G_TABLE;
    int c;
    char *end;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': go.device = optarg; break;
        case 'm': go.measurement = optarg; break;
        case 'F':
        case 'T':
            if (cli_parse_time(optarg, c == 'F' ? &go.from_ns : &go.to_ns)) {
                cli_errorf("--%s: '%s' is not a time (RFC 3339 or integer ns)",
                           c == 'F' ? "from" : "to", optarg);
                return CLI_USAGE;
            }
            break;
        case 'i':
            if (duration_parse(optarg, strlen(optarg), &go.interval_ns) || go.interval_ns <= 0) {
                cli_errorf("--interval: '%s' is not a positive duration (e.g. 10s, 1m, 1h30m)",
                           optarg);
                return CLI_USAGE;
            }
            break;
        case 't':
            go.tolerance = strtod(optarg, &end);
            if (end == optarg || *end || !(go.tolerance >= 1 && go.tolerance <= 1e6)) {
                cli_errorf("--tolerance: '%s' is not a number from 1 to 1000000", optarg);
                return CLI_USAGE;
            }
            break;
        case 'f':
            if (!strcmp(optarg, "table"))
                fmt = G_TABLE;
            else if (!strcmp(optarg, "csv"))
                fmt = G_CSV;
            else if (!strcmp(optarg, "json"))
                fmt = G_JSON;
            else {
                cli_errorf("--format must be table, csv or json, not '%s'", optarg);
                return CLI_USAGE;
            }
            break;
        case 'h': usage(stdout); return CLI_OK;
        case ':':
            cli_errorf("gaps: %s needs a value", argv[optind - 1]);
            usage(stderr);
            return CLI_USAGE;
        default:
            cli_errorf("gaps: unknown option '%s'", argv[optind - 1]);
            usage(stderr);
            return CLI_USAGE;
        }
    }
    if (optind + 1 != argc) {
        cli_errorf("gaps: give exactly one database directory");
        usage(stderr);
        return CLI_USAGE;
    }
    if ((go.device && !*go.device) || (go.measurement && !*go.measurement)) {
        cli_errorf("gaps: --device and --measurement need a non-empty name");
        return CLI_USAGE;
    }
    if (go.to_ns != INT64_MAX && go.from_ns >= go.to_ns) {
        cli_errorf("gaps: --from must be before --to");
        return CLI_USAGE;
    }
    strata_options so;
    strata_options_init(&so);
    so.read_only = 1;
    so.log = cli_log;
    strata_db *db;
    if (strata_db_open(argv[optind], &so, &db) != STRATA_OK) {
        cli_errorf("%s", strata_errmsg(NULL));
        return CLI_FAIL;
    }
    strata_gaps *g;
    int rc = CLI_FAIL;
    if (strata_gaps_open(db, &go, &g) != STRATA_OK) {
        cli_errorf("%s", strata_errmsg(db));
    } else {
        rc = print_gaps(db, g, fmt, stdout) == 0 ? CLI_OK : CLI_FAIL;
        strata_gaps_stats st;
        strata_gaps_stats_get(g, &st);
        if (rc == CLI_OK && go.device && st.devices == 0)
            cli_errorf("warning: no device '%s'%s%s", go.device,
                       go.measurement ? " in measurement " : "",
                       go.measurement ? go.measurement : "");
        if (rc == CLI_OK && st.devices_skipped)
            cli_errorf("warning: %" PRIu64 " device(s) skipped: too few reports to learn an "
                       "interval (give --interval)",
                       st.devices_skipped);
        strata_gaps_close(g);
    }
    strata_db_close(db);
    return rc;
}
