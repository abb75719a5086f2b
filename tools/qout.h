/*
 * qout.h — printing query results (table, CSV, JSON, NDJSON) and charts
 * (SVG, terminal), shared by `strata query` and its shell.
 */
#ifndef STRATA_QOUT_H
#define STRATA_QOUT_H

#include "strata.h"

#include <stdio.h>

typedef enum qout_format { QOUT_TABLE, QOUT_CSV, QOUT_JSON, QOUT_NDJSON } qout_format;

typedef struct qout_opts {
    qout_format format;
    int epoch_ns;     /* times as integer ns instead of RFC 3339 */
    const char *plot; /* NULL, "-" (terminal) or an .svg path */
} qout_opts;

int qout_parse_format(const char *s, qout_format *out /* OUT */);
/* Run query text on db and print the result to f (and the plot, if asked).
 * Errors go to stderr; returns 0 on success, -1 on failure. */
int qout_run(strata_db *db, const char *text, const qout_opts *o, FILE *f);

/* s as a CSV field (quoted when it holds a comma, quote or line break);
 * NULL prints nothing. */
void qout_csv_field(FILE *f, const char *s);
/* s as a JSON string, quoted and escaped. */
void qout_json_string(FILE *f, const char *s);

/* The interactive shell (tools/shell.c); returns a CLI exit code. */
int shell_run(strata_db *db, const char *path, qout_opts *o);

#endif
