/*
 * qout.c — printing query results (see qout.h).  CSV, JSON and NDJSON
 * stream row by row; the table format buffers the rows to size its
 * columns.  With a plot requested, every numeric value column of every
 * group becomes a line: "<group tags> <column>".
 */
#include "tools/qout.h"

#include "engine/numtext.h"
#include "engine/timetext.h"
#include "tools/cli.h"
#include "tools/plot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int qout_parse_format(const char *s, qout_format *out)
{
    static const char *names[] = {"table", "csv", "json", "ndjson"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, names[i])) {
            *out = (qout_format)i;
            return 0;
        }
    return -1;
}

/* The text of cell i of the current row into buf (NULL: a SQL NULL). */
static const char *cell_text(strata_query *q, int i, const qout_opts *o, char *buf, size_t cap)
{
    switch (strata_query_column_type(q, i)) {
    case STRATA_COL_NULL: return NULL;
    case STRATA_COL_TEXT: return strata_query_column_text(q, i);
    case STRATA_COL_TIME:
        if (o->epoch_ns)
            num_format_i64(strata_query_column_i64(q, i), buf);
        else
            time_format_rfc3339(strata_query_column_i64(q, i), buf);
        return buf;
    case STRATA_COL_F64:
        num_format_f64(strata_query_column_f64(q, i), buf);
        return buf;
    case STRATA_COL_BOOL: return strata_query_column_i64(q, i) ? "true" : "false";
    default:
        (void)cap;
        num_format_i64(strata_query_column_i64(q, i), buf);
        return buf;
    }
}

void qout_csv_field(FILE *f, const char *s)
{
    if (!s)
        return;
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

void qout_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void json_row(FILE *f, strata_query *q, const qout_opts *o)
{
    char buf[64];
    fputc('{', f);
    int n = strata_query_column_count(q);
    for (int i = 0; i < n; i++) {
        if (i)
            fputs(", ", f);
        qout_json_string(f, strata_query_column_name(q, i));
        fputs(": ", f);
        int t = strata_query_column_type(q, i);
        const char *s = cell_text(q, i, o, buf, sizeof buf);
        if (!s)
            fputs("null", f);
        else if (t == STRATA_COL_TEXT || (t == STRATA_COL_TIME && !o->epoch_ns) ||
                 (t == STRATA_COL_F64 && !isfinite(strata_query_column_f64(q, i))))
            qout_json_string(f, s);
        else
            fputs(s, f);
    }
    fputc('}', f);
}

typedef struct table {
    char **cells; /* rows x ncols, NULL = NULL */
    int *right;   /* numeric columns align right */
    size_t rows, cap;
    int ncols;
} table;

static int table_add(table *t, strata_query *q, const qout_opts *o)
{
    if (t->rows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        char **c = realloc(t->cells, cap * (size_t)t->ncols * sizeof *c);
        if (!c)
            return -1;
        t->cells = c;
        t->cap = cap;
    }
    char buf[64];
    for (int i = 0; i < t->ncols; i++) {
        const char *s = cell_text(q, i, o, buf, sizeof buf);
        int ty = strata_query_column_type(q, i);
        if (ty == STRATA_COL_F64 || ty == STRATA_COL_I64)
            t->right[i] = 1;
        t->cells[t->rows * (size_t)t->ncols + (size_t)i] = s ? strdup(s) : NULL;
    }
    t->rows++;
    return 0;
}

static size_t utf8_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

static void table_print(FILE *f, strata_query *q, table *t)
{
    size_t *w = calloc((size_t)t->ncols, sizeof *w);
    for (int i = 0; i < t->ncols; i++) {
        w[i] = utf8_width(strata_query_column_name(q, i));
        for (size_t r = 0; r < t->rows; r++) {
            const char *s = t->cells[r * (size_t)t->ncols + (size_t)i];
            size_t l = s ? utf8_width(s) : 0;
            w[i] = l > w[i] ? l : w[i];
        }
    }
    for (int i = 0; i < t->ncols; i++) /* no padding after the last column */
        fprintf(f, "%s%-*s", i ? "  " : "", i + 1 < t->ncols ? (int)w[i] : 0,
                strata_query_column_name(q, i));
    fputc('\n', f);
    for (int i = 0; i < t->ncols; i++) {
        fputs(i ? "  " : "", f);
        for (size_t k = 0; k < w[i]; k++)
            fputc('-', f);
    }
    fputc('\n', f);
    for (size_t r = 0; r < t->rows; r++) {
        for (int i = 0; i < t->ncols; i++) {
            const char *s = t->cells[r * (size_t)t->ncols + (size_t)i];
            if (!s)
                s = "";
            int pad = (int)(w[i] - utf8_width(s));
            fputs(i ? "  " : "", f);
            if (t->right[i])
                fprintf(f, "%*s%s", pad, "", s);
            else
                fprintf(f, "%s%*s", s, i + 1 < t->ncols ? pad : 0, "");
        }
        fputc('\n', f);
    }
    free(w);
}

static void table_free(table *t)
{
    for (size_t k = 0; k < t->rows * (size_t)t->ncols; k++)
        free(t->cells[k]);
    free(t->cells);
    free(t->right);
}

/* Collect the plottable values of the current row. */
static int plot_row(plot_data *d, strata_query *q)
{
    int n = strata_query_column_count(q), time_col = -1;
    char group[512] = "";
    size_t gl = 0;
    for (int i = 0; i < n; i++) {
        int t = strata_query_column_type(q, i);
        if (t == STRATA_COL_TIME && time_col < 0)
            time_col = i;
        else if (t == STRATA_COL_TEXT && gl < sizeof group - 2)
            gl += (size_t)snprintf(group + gl, sizeof group - gl, "%s%s=%s", gl ? "," : "",
                                   strata_query_column_name(q, i), strata_query_column_text(q, i));
    }
    if (time_col < 0)
        return 0;
    int64_t ts = strata_query_column_i64(q, time_col);
    for (int i = 0; i < n; i++) {
        int t = strata_query_column_type(q, i);
        if (i == time_col || t == STRATA_COL_TEXT || t == STRATA_COL_TIME)
            continue;
        char label[1024];
        snprintf(label, sizeof label, "%s%s%s", group, gl ? " " : "",
                 strata_query_column_name(q, i));
        double v = t == STRATA_COL_NULL ? NAN : strata_query_column_f64(q, i);
        if (plot_add(d, label, ts, v))
            return -1;
    }
    return 0;
}

int qout_run(strata_db *db, const char *text, const qout_opts *o, FILE *f)
{
    strata_query *q;
    if (strata_query_prepare(db, text, &q) != STRATA_OK) {
        cli_errorf("%s", strata_errmsg(db));
        return -1;
    }
    int ncols = strata_query_column_count(q);
    table t = {0};
    t.ncols = ncols;
    t.right = calloc((size_t)ncols + 1, sizeof *t.right);
    plot_data pd = {0};
    int want_plot = o->plot != NULL;
    if (o->format == QOUT_CSV) {
        for (int i = 0; i < ncols; i++) {
            if (i)
                fputc(',', f);
            qout_csv_field(f, strata_query_column_name(q, i));
        }
        fputc('\n', f);
    } else if (o->format == QOUT_JSON) {
        fputc('[', f);
    }
    int rc, first = 1, failed = 0;
    char buf[64];
    while ((rc = strata_query_step(q)) == STRATA_ROW) {
        if (want_plot && plot_row(&pd, q)) {
            failed = 1;
            break;
        }
        switch (o->format) {
        case QOUT_CSV:
            for (int i = 0; i < ncols; i++) {
                if (i)
                    fputc(',', f);
                qout_csv_field(f, cell_text(q, i, o, buf, sizeof buf));
            }
            fputc('\n', f);
            break;
        case QOUT_JSON:
            fputs(first ? "\n" : ",\n", f);
            json_row(f, q, o);
            break;
        case QOUT_NDJSON:
            json_row(f, q, o);
            fputc('\n', f);
            break;
        case QOUT_TABLE:
            if (table_add(&t, q, o))
                failed = 1;
            break;
        }
        first = 0;
        if (failed)
            break;
    }
    if (o->format == QOUT_JSON)
        fputs(first ? "]\n" : "\n]\n", f);
    if (rc != STRATA_DONE && !failed) {
        cli_errorf("%s", strata_errmsg(db));
        failed = 1;
    }
    if (o->format == QOUT_TABLE && !failed)
        table_print(f, q, &t);
    if (!failed && want_plot) {
        pd.title = strdup(text);
        if (!strcmp(o->plot, "-"))
            failed = plot_terminal(&pd, f, 72, 20) != 0;
        else
            failed = plot_svg(&pd, o->plot) != 0;
    }
    plot_free(&pd);
    table_free(&t);
    strata_query_finalize(q);
    return failed ? -1 : 0;
}
