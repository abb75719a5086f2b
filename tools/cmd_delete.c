/*
 * cmd_delete.c — `strata delete <db> (--series KEY… | --device D
 * [--measurement M]) [--from T] [--to T]`: delete stored points.
 *
 * One call of strata_delete() or strata_delete_device(): atomic over every
 * series chosen, durable when the command ends; points written later are
 * kept (see strata.h, "Deleting").  A --series key that does not exist is
 * an error and nothing is deleted.  Exit status: 0 done (also when a device
 * has no series), 1 an error, 2 a bad command line.
 */
#include "tools/cli.h"

#include "strata.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: strata delete <db> --series KEY [--series KEY...] [--from T] [--to T]\n"
            "       strata delete <db> --device D [--measurement M] [--from T] [--to T]\n"
            "\n"
            "Delete the stored points of the series named by their keys (as `strata dump`\n"
            "prints them: `measurement,tag=value field`), or of every series of one device\n"
            "(the database's device tag), with --from <= time < --to (default: all time).\n"
            "T is RFC 3339 or integer nanoseconds.  Points written after the delete are\n"
            "kept.  Queries stop seeing the points at once; `strata compact` removes them\n"
            "from disk.\n");
}

int cmd_delete(int argc, char **argv)
{
    static const struct option opts[] = {{"series", required_argument, 0, 's'},
                                         {"device", required_argument, 0, 'd'},
                                         {"measurement", required_argument, 0, 'm'},
                                         {"from", required_argument, 0, 'f'},
                                         {"to", required_argument, 0, 't'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char **keys = NULL;
    size_t nkeys = 0;
    const char *device = NULL, *measurement = NULL;
    int64_t from = INT64_MIN, to = INT64_MAX;
    int c, rc = CLI_OK;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's': {
            const char **k = realloc(keys, (nkeys + 1) * sizeof *keys);
            if (!k) {
                cli_errorf("out of memory");
                free(keys);
                return CLI_FAIL;
            }
            keys = k;
            keys[nkeys++] = optarg;
            break;
        }
        case 'd': device = optarg; break;
        case 'm': measurement = optarg; break;
        case 'f':
        case 't':
            if (cli_parse_time(optarg, c == 'f' ? &from : &to)) {
                cli_errorf("--%s: '%s' is not a time (RFC 3339 or integer ns)",
                           c == 'f' ? "from" : "to", optarg);
                free(keys);
                return CLI_USAGE;
            }
            break;
        case 'h': usage(stdout); free(keys); return CLI_OK;
        default: usage(stderr); free(keys); return CLI_USAGE;
        }
    }
    const char *why = NULL;
    if (optind != argc - 1)
        why = "give exactly one database directory";
    else if (!nkeys == !device)
        why = "give either --series (one or more) or --device";
    else if (measurement && !device)
        why = "--measurement narrows --device; with --series the key names the measurement";
    else if (from >= to)
        why = "--from must be before --to";
    if (why) {
        cli_errorf("delete: %s", why);
        usage(stderr);
        free(keys);
        return CLI_USAGE;
    }
    strata_options o;
    strata_options_init(&o);
    o.log = cli_log;
    o.no_compaction = 1; /* a short-lived process: `strata compact` or the next
                            long-running open applies the deletes */
    strata_db *db;
    if (strata_db_open(argv[optind], &o, &db) != STRATA_OK) {
        cli_errorf("%s", strata_errmsg(NULL));
        free(keys);
        return CLI_FAIL;
    }
    uint64_t n = 0;
    if (device) {
        if (strata_delete_device(db, device, measurement, from, to, &n) != STRATA_OK) {
            cli_errorf("%s", strata_errmsg(db));
            rc = CLI_FAIL;
        }
    } else {
        uint64_t *ids = malloc(nkeys * sizeof *ids);
        for (size_t i = 0; ids && i < nkeys && rc == CLI_OK; i++) {
            strata_series s;
            if (strata_series_find(db, keys[i], &s) != STRATA_OK) {
                cli_errorf("no series '%s' (%s); nothing deleted", keys[i], strata_errmsg(db));
                rc = CLI_FAIL;
            } else {
                ids[i] = s.id;
            }
        }
        if (!ids) {
            cli_errorf("out of memory");
            rc = CLI_FAIL;
        } else if (rc == CLI_OK && strata_delete(db, ids, nkeys, from, to) != STRATA_OK) {
            cli_errorf("%s", strata_errmsg(db));
            rc = CLI_FAIL;
        }
        n = nkeys;
        free(ids);
    }
    if (strata_db_close(db) != STRATA_OK) {
        cli_errorf("closing the database: %s", strata_errmsg(NULL));
        rc = CLI_FAIL;
    }
    if (rc == CLI_OK)
        printf("deleted the points of %llu series%s\n", (unsigned long long)n,
               from == INT64_MIN && to == INT64_MAX ? "" : " in the time range");
    free(keys);
    return rc;
}
