/*
 * cmd_dump.c — `strata dump <db> [--measurement M] [--from T] [--to T]`:
 * every stored value as line protocol, one field per line, sorted by
 * series key (bytewise) then time, with nanosecond timestamps.
 *
 * Floats are printed in the shortest form that parses back to the same
 * bits (num_format_f64), integers with the `i` suffix, booleans as true or
 * false, so `strata ingest` of the output stores exactly what was dumped.
 * NaN and infinities print as NaN, +Inf, -Inf (a Strata extension of line
 * protocol; a NaN's payload bits cannot be carried in text).
 *
 * The database is opened read-only: unflushed points in the log are
 * included, and nothing on disk changes.
 */
#include "tools/cli.h"

#include "engine/iter.h"
#include "engine/lineproto.h"
#include "engine/numtext.h"
#include "strata.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 4096

static void usage(FILE *f)
{
    fprintf(f, "usage: strata dump <db> [--measurement M] [--from T] [--to T]\n"
               "\n"
               "Print every stored value as line protocol, one field per line, sorted by\n"
               "series key then time.  T is RFC 3339 or integer nanoseconds; --from is\n"
               "inclusive, --to exclusive.  --measurement may be repeated.\n");
}

typedef struct entry {
    const char *key;
    uint64_t id;
} entry;

static int by_key(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->key, ((const entry *)b)->key);
}

/* The escaped measurement of a key is its prefix up to measurement_len;
 * compare against the user's (unescaped) names escaped the same way. */
static int wanted(const strata_series *s, char **names, size_t n)
{
    if (n == 0)
        return 1;
    for (size_t i = 0; i < n; i++)
        if (strlen(names[i]) == s->measurement_len &&
            memcmp(names[i], s->key, s->measurement_len) == 0)
            return 1;
    return 0;
}

static char *escape_measurement(const char *m)
{
    size_t n = strlen(m);
    char *out = malloc(2 * n + 1);
    out[lp_escape_measurement(m, n, out)] = '\0';
    return out;
}

int cmd_dump(int argc, char **argv)
{
    static const struct option opts[] = {{"measurement", required_argument, 0, 'm'},
                                         {"from", required_argument, 0, 'f'},
                                         {"to", required_argument, 0, 't'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    char **names = NULL;
    size_t nnames = 0;
    int64_t from = INT64_MIN, to = INT64_MAX;
    int c, rc = CLI_OK;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            names = realloc(names, (nnames + 1) * sizeof *names);
            names[nnames++] = escape_measurement(optarg);
            break;
        case 'f':
        case 't':
            if (cli_parse_time(optarg, c == 'f' ? &from : &to)) {
                cli_errorf("--%s: '%s' is not a time (RFC 3339 or integer ns)",
                           c == 'f' ? "from" : "to", optarg);
                return CLI_USAGE;
            }
            break;
        case 'h': usage(stdout); return CLI_OK;
        default: usage(stderr); return CLI_USAGE;
        }
    }
    if (optind != argc - 1) {
        cli_errorf("dump: give exactly one database directory");
        usage(stderr);
        return CLI_USAGE;
    }
    strata_options o;
    strata_options_init(&o);
    o.read_only = 1;
    o.log = cli_log;
    strata_db *db;
    if (strata_db_open(argv[optind], &o, &db) != STRATA_OK) {
        cli_errorf("%s", strata_errmsg(NULL));
        return CLI_FAIL;
    }
    uint64_t n = 0;
    strata_series_count(db, &n);
    entry *es = malloc((n ? n : 1) * sizeof *es);
    size_t ne = 0;
    for (uint64_t id = 0; id < n; id++) {
        strata_series s;
        if (strata_series_get(db, id, &s) != STRATA_OK) {
            cli_errorf("%s", strata_errmsg(db));
            rc = CLI_FAIL;
            goto out;
        }
        if (wanted(&s, names, nnames))
            es[ne++] = (entry){s.key, id};
    }
    qsort(es, ne, sizeof *es, by_key);

    static char outbuf[1 << 20];
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    int64_t *ts = malloc(BLOCK * sizeof *ts);
    uint64_t *v = malloc(BLOCK * sizeof *v);
    char line[NUM_F64_BUFSZ + 64];
    for (size_t i = 0; i < ne && rc == CLI_OK; i++) {
        strata_iter *it;
        if (strata_iter_open(db, es[i].id, from, to, &it) != STRATA_OK) {
            cli_errorf("%s", strata_errmsg(db));
            rc = CLI_FAIL;
            break;
        }
        uint8_t type = iter_type(it);
        size_t keylen = strlen(es[i].key), got;
        int r;
        while ((r = iter_next_raw(it, ts, v, BLOCK, &got)) == STRATA_ROW) {
            for (size_t k = 0; k < got; k++) {
                size_t len = 0;
                line[len++] = '=';
                if (type == STRATA_F64) {
                    double d;
                    memcpy(&d, &v[k], sizeof d);
                    len += num_format_f64(d, line + len);
                } else if (type == STRATA_I64) {
                    len += num_format_i64((int64_t)v[k], line + len);
                    line[len++] = 'i';
                } else {
                    const char *b = v[k] ? "true" : "false";
                    memcpy(line + len, b, strlen(b));
                    len += strlen(b);
                }
                line[len++] = ' ';
                len += num_format_i64(ts[k], line + len);
                line[len++] = '\n';
                fwrite(es[i].key, 1, keylen, stdout);
                fwrite(line, 1, len, stdout);
            }
        }
        if (r != STRATA_DONE) {
            cli_errorf("reading %s: %s", es[i].key, strata_errmsg(db));
            rc = CLI_FAIL;
        }
        strata_iter_close(it);
    }
    free(ts);
    free(v);
    if (fflush(stdout) != 0) {
        cli_errorf("writing the dump failed");
        rc = CLI_FAIL;
    }
out:
    free(es);
    for (size_t i = 0; i < nnames; i++)
        free(names[i]);
    free(names);
    strata_db_close(db);
    return rc;
}
