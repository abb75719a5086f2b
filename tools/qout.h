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

/* The interactive shell (tools/shell.c); returns a CLI exit code. */
int shell_run(strata_db *db, const char *path, qout_opts *o);

#endif
