/*
 * cmd_ingest.c — `strata ingest <db> [options] FILE…|-`: load line protocol
 * (default) or CSV into a database, creating it when it does not exist.
 *
 * Input is read in large blocks and cut into lines; lines go into a batch
 * that is written (one atomic write, one log record) every 50,000 lines or
 * 200,000 values, whichever comes first (every --batch lines when given),
 * and at the end, by a writer thread while the next batch is parsed
 * (ingest_writer.h).  A bad line is reported as FILE:LINE:COLUMN: message and
 * skipped; with --strict the first bad line aborts the run and nothing of
 * the batch it belongs to is stored (earlier batches are).  The run ends
 * with a clean close, which flushes everything into segment files, and a
 * summary.  Exit status: 0 all lines stored, 1 some lines rejected or an
 * error, 2 bad command line.
 *
 * Idempotent batches: a line `# batch KEY` (at column 1) ends the batch
 * before it and starts one that carries KEY; --batch-key KEY gives the
 * lines before the first header (the whole input when there is none) that
 * key.  A keyed batch is written whole when the next header or the end of
 * its input comes, whatever --batch says; one the database has applied
 * before is acknowledged without being applied, and counted in the
 * summary as skipped.  Other '#' lines stay comments.
 *
 * --max-lateness D refuses points older than the newest stored (or
 * earlier in the batch) by more than D; they are bad lines, reported at
 * the timestamp's column.
 *
 * CSV: the first line names the columns.  The time column is `time`,
 * `timestamp`, `ts` or `ts_ns` (or --time-column); its values are integers
 * in --precision units or RFC 3339 / `YYYY-MM-DD HH:MM:SS` (UTC) text.  The
 * measurement comes from a `measurement` column or --measurement.  Tag
 * columns are listed with --tag-columns; --tag k=v adds a constant tag.
 * When the header has `field` and `value` columns each row is one value
 * (long form); otherwise every other column is a field (wide form).
 * Values are float64; a column named `name:int` or `name:bool` is int64 or
 * bool.  Empty cells and `NA` are missing values.  Cells may be quoted
 * ("…", with "" for a quote).
 */
#include "tools/cli.h"
#include "tools/ingest_writer.h"

#include "engine/numtext.h"
#include "engine/timetext.h"
#include "strata.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_REPORTED 100
/* Input is read in blocks that stay in the L2 cache while their lines are
 * parsed (a longer line doubles the buffer): with 4 MiB blocks the NAB
 * ingest was 10-15 % slower, read() copying into memory the parser then
 * fetched again from far away. */
#define READ_BLOCK (256u << 10)
/* A batch ends at this many lines, or earlier at this many values, unless
 * --batch sets the lines alone.  The value limit bounds a batch's memory
 * (24 bytes a value, and the log record): fresh memory is what costs on a
 * VM whose host takes freed pages back, and wide lines (devops: 10 values,
 * Beijing: 11) made 50,000-line batches of 13 MB.  Much smaller batches pay
 * one log sync each (the fleet load slowed at 50,000 values). */
#define DEFAULT_BATCH_LINES 50000u
#define DEFAULT_BATCH_VALUES 200000u

typedef struct ingest {
    strata_db *db;
    strata_batch *b; /* the batch being parsed into */
    ingest_writer *w;
    strata_precision prec;
    int strict, csv, quiet;
    size_t batch_lines;
    size_t batch_values; /* 0: no limit (--batch given) */
    /* CSV options */
    const char *measurement, *time_column;
    char **tag_columns;
    size_t ntag_columns;
    char **const_tags; /* k, v pairs */
    size_t nconst;
    /* progress */
    const char *file;
    uint64_t line_no;
    uint64_t batch_first_line, lines_in_batch;
    uint64_t points, values, bad_lines, reported;
    const char *batch_key; /* --batch-key */
    int keyed;             /* the batch being built carries a key */
    uint64_t keyed_batches, skipped_batches, skipped_points;
    int aborted, failed;
    int64_t now_ns;
} ingest;

static void usage(FILE *f)
{
    fprintf(f, "usage: strata ingest <db> [options] FILE...|-\n"
               "\n"
               "Load InfluxDB line protocol (or CSV) into the database at <db>, creating it\n"
               "when it does not exist.  '-' reads standard input.\n"
               "\n"
               "  --format lp|csv         input format (default lp)\n"
               "  --precision ns|us|ms|s  unit of integer timestamps (default ns)\n"
               "  --strict                stop at the first bad line; nothing of its batch is\n"
               "                          stored (default: report bad lines and skip them)\n"
               "  --batch N               lines per atomic write (default 50000, or fewer\n"
               "                          when they hold 200000 values)\n"
               "  --sync always|batch|interval|none   durability policy (default batch)\n"
               "  --head-budget MIB       memory for unflushed points (default 64)\n"
               "  --device-tag T          tag that names the device (new databases)\n"
               "  --partition D           time partition of a new database, a duration such\n"
               "                          as 1d (the default), 7d or 30d: one segment file\n"
               "                          per partition and flush; larger suits slow series\n"
               "  --batch-key KEY         the batch key of the lines before the first\n"
               "                          '# batch KEY' header (of the whole input when\n"
               "                          there is none): a batch whose key the database\n"
               "                          applied before is skipped (needs one input)\n"
               "  --max-lateness D        refuse points older than the newest one stored by\n"
               "                          more than the duration D (e.g. 1h; default: no limit)\n"
               "  --quiet                 no summary\n"
               "CSV only:\n"
               "  --measurement M         measurement when there is no 'measurement' column\n"
               "  --time-column C         the time column (default: time, timestamp, ts, ts_ns)\n"
               "  --tag-columns A,B       columns that are tags\n"
               "  --tag K=V               a tag added to every row (repeatable)\n");
}

static void report(ingest *in, uint32_t col, const char *msg)
{
    in->bad_lines++;
    if (in->reported++ < MAX_REPORTED) {
        if (col)
            fprintf(stderr, "%s:%llu:%u: %s\n", in->file, (unsigned long long)in->line_no, col,
                    msg);
        else
            fprintf(stderr, "%s:%llu: %s\n", in->file, (unsigned long long)in->line_no, msg);
    } else if (in->reported == MAX_REPORTED + 1) {
        fprintf(stderr, "strata: more bad lines follow; only the first %d are shown\n",
                MAX_REPORTED);
    }
}

/* Hand the batch to the writer thread (ingest_writer.h); a failed write
 * loses that whole batch and stops the run. */
static int flush_batch(ingest *in)
{
    if (strata_batch_values(in->b) == 0) {
        strata_batch_clear(in->b);
        in->keyed = 0;
        in->lines_in_batch = 0;
        return 0;
    }
    in->keyed_batches += in->keyed;
    in->keyed = 0;
    int rc = ingest_writer_submit(in->w, &in->b, in->file, in->batch_first_line, in->line_no);
    in->lines_in_batch = 0;
    if (rc) {
        in->failed = 1;
        return -1;
    }
    return 0;
}

/* A line was rejected: in strict mode the run stops and its batch is dropped. */
static void reject(ingest *in, uint32_t col, const char *msg)
{
    report(in, col, msg);
    if (in->strict) {
        cli_errorf("--strict: stopped at %s:%llu; lines %llu-%llu (its batch) were not stored",
                   in->file, (unsigned long long)in->line_no,
                   (unsigned long long)in->batch_first_line, (unsigned long long)in->line_no);
        strata_batch_clear(in->b);
        in->aborted = 1;
    }
}

/* Start a batch carrying key (NULL: none) after writing the one before. */
static void start_batch(ingest *in, const char *key, size_t klen)
{
    in->lines_in_batch = 0;
    if (flush_batch(in)) {
        in->aborted = 1;
        return;
    }
    in->batch_first_line = in->line_no;
    in->lines_in_batch = 1;
    if (key) {
        strata_batch_set_key(in->b, key, klen);
        in->keyed = 1;
    }
}

/* ---- line protocol -------------------------------------------------------- */

#define BATCH_HEADER "# batch"

/* `# batch KEY` at column 1: start KEY's batch.  1 if the line was one. */
static int batch_header(ingest *in, const char *line, size_t len)
{
    size_t hl = sizeof BATCH_HEADER - 1;
    if (len < hl || memcmp(line, BATCH_HEADER, hl) != 0 ||
        (len > hl && line[hl] != ' ' && line[hl] != '\t' && line[hl] != '\r'))
        return 0; /* a plain comment (or not a comment at all) */
    size_t k = hl, e = len;
    while (k < len && (line[k] == ' ' || line[k] == '\t'))
        k++;
    while (e > k && (line[e - 1] == ' ' || line[e - 1] == '\t' || line[e - 1] == '\r'))
        e--;
    if (e == k || e - k > STRATA_MAX_BATCH_KEY) {
        start_batch(in, NULL, 0);
        if (!in->aborted) {
            char msg[96];
            snprintf(msg, sizeof msg, "a batch header needs a key of 1 to %d bytes (%s)",
                     STRATA_MAX_BATCH_KEY, e == k ? "none given" : "this one is longer");
            reject(in, (uint32_t)k + 1, msg);
        }
        return 1;
    }
    start_batch(in, line + k, e - k);
    return 1;
}

static void lp_line(ingest *in, const char *line, size_t len)
{
    if (len && line[0] == '#' && batch_header(in, line, len))
        return;
    strata_lp_error err;
    if (strata_batch_add_lp(in->b, line, len, in->prec, in->now_ns, &err) != STRATA_OK)
        reject(in, err.column, err.message);
}

/* ---- CSV -------------------------------------------------------------------- */

enum { COL_FIELD, COL_TAG, COL_TIME, COL_MEASUREMENT, COL_FIELDNAME, COL_VALUE };

typedef struct csv_col {
    char *name; /* field or tag name (type suffix removed) */
    int role;
    strata_type type;
} csv_col;

typedef struct csv_state {
    csv_col *cols;
    size_t ncols;
    int have_header, long_form;
    size_t time_col, meas_col, field_col, value_col;
    /* per-row cells */
    char **cell;
    size_t *cell_len;
    uint32_t *cell_col;
    uint64_t *bits;
    size_t cap;
    char *unq; /* unquoting buffer */
    size_t unq_cap;
} csv_state;

static csv_state csv;

/* *p resized to n elements of `size` bytes; -1 (and *p unchanged) when
 * memory runs out. */
static int resize(void *p, size_t n, size_t size)
{
    void *q = n <= SIZE_MAX / size ? realloc(*(void **)p, n * size) : NULL;
    if (!q)
        return -1;
    *(void **)p = q;
    return 0;
}

/* Split a CSV line into cells (unquoting into csv.unq).  -1 on bad quoting,
 * -2 when memory runs out. */
static int csv_split(const char *line, size_t len, size_t *n, uint32_t *bad_col)
{
    if (csv.unq_cap < len + 1) {
        if (resize(&csv.unq, len + 1, 1))
            return -2;
        csv.unq_cap = len + 1;
    }
    size_t k = 0, out = 0, i = 0;
    for (;;) {
        if (k == csv.cap) {
            size_t cap = csv.cap ? csv.cap * 2 : 32;
            if (resize(&csv.cell, cap, sizeof *csv.cell) ||
                resize(&csv.cell_len, cap, sizeof *csv.cell_len) ||
                resize(&csv.cell_col, cap, sizeof *csv.cell_col) ||
                resize(&csv.bits, cap, sizeof *csv.bits))
                return -2;
            csv.cap = cap;
        }
        csv.cell[k] = csv.unq + out;
        csv.cell_col[k] = (uint32_t)i + 1;
        size_t start = out;
        if (i < len && line[i] == '"') {
            i++;
            for (;;) {
                if (i >= len) {
                    *bad_col = csv.cell_col[k];
                    return -1; /* unterminated quote */
                }
                if (line[i] == '"') {
                    if (i + 1 < len && line[i + 1] == '"') {
                        csv.unq[out++] = '"';
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                csv.unq[out++] = line[i++];
            }
            if (i < len && line[i] != ',') {
                *bad_col = (uint32_t)i + 1;
                return -1; /* text after a closing quote */
            }
        } else {
            while (i < len && line[i] != ',')
                csv.unq[out++] = line[i++];
        }
        csv.cell_len[k] = out - start;
        k++;
        if (i >= len)
            break;
        i++; /* the comma */
    }
    *n = k;
    return 0;
}

static int is_listed(char **list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(list[i], s))
            return 1;
    return 0;
}

static int csv_header(ingest *in, size_t n)
{
    csv.cols = calloc(n, sizeof *csv.cols);
    if (!csv.cols) {
        cli_errorf("%s:1: out of memory reading the header", in->file);
        return -1;
    }
    csv.ncols = n;
    csv.time_col = csv.meas_col = csv.field_col = csv.value_col = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        char *name = strndup(csv.cell[i], csv.cell_len[i]);
        if (!name) {
            cli_errorf("%s:1: out of memory reading the header", in->file);
            return -1;
        }
        csv_col *c = &csv.cols[i];
        c->type = STRATA_F64;
        char *colon = strrchr(name, ':');
        if (colon && (!strcmp(colon, ":int") || !strcmp(colon, ":bool") ||
                      !strcmp(colon, ":float"))) {
            c->type = !strcmp(colon, ":int")    ? STRATA_I64
                      : !strcmp(colon, ":bool") ? STRATA_BOOL
                                                : STRATA_F64;
            *colon = '\0';
        }
        c->name = name;
        if (in->time_column ? !strcmp(name, in->time_column)
                            : (!strcasecmp(name, "time") || !strcasecmp(name, "timestamp") ||
                               !strcasecmp(name, "ts") || !strcasecmp(name, "ts_ns"))) {
            if (csv.time_col == SIZE_MAX) {
                c->role = COL_TIME;
                csv.time_col = i;
                continue;
            }
        }
        if (!strcmp(name, "measurement") && !in->measurement) {
            c->role = COL_MEASUREMENT;
            csv.meas_col = i;
        } else if (is_listed(in->tag_columns, in->ntag_columns, name)) {
            c->role = COL_TAG;
        } else if (!strcmp(name, "field")) {
            c->role = COL_FIELDNAME;
            csv.field_col = i;
        } else if (!strcmp(name, "value")) {
            c->role = COL_VALUE;
            csv.value_col = i;
        } else {
            c->role = COL_FIELD;
        }
    }
    csv.long_form = csv.field_col != SIZE_MAX && csv.value_col != SIZE_MAX;
    if (!csv.long_form)
        for (size_t i = 0; i < n; i++)
            if (csv.cols[i].role == COL_FIELDNAME || csv.cols[i].role == COL_VALUE)
                csv.cols[i].role = COL_FIELD;
    if (csv.time_col == SIZE_MAX) {
        cli_errorf("%s:1: no time column (time, timestamp, ts, ts_ns or --time-column)",
                   in->file);
        return -1;
    }
    if (csv.meas_col == SIZE_MAX && !in->measurement) {
        cli_errorf("%s:1: no 'measurement' column: give --measurement", in->file);
        return -1;
    }
    for (size_t i = 0; i < in->ntag_columns; i++) {
        int found = 0;
        for (size_t j = 0; j < n; j++)
            found |= csv.cols[j].role == COL_TAG && !strcmp(csv.cols[j].name, in->tag_columns[i]);
        if (!found) {
            cli_errorf("%s:1: tag column '%s' is not in the header", in->file,
                       in->tag_columns[i]);
            return -1;
        }
    }
    csv.have_header = 1;
    return 0;
}

static int missing(const char *s, size_t n)
{
    return n == 0 || (n == 2 && s[0] == 'N' && s[1] == 'A');
}

/* Parse a value cell; 0 ok, -1 bad (message in msg). */
static int csv_value(strata_type t, const char *s, size_t n, uint64_t *bits, char *msg, size_t cap)
{
    if (t == STRATA_F64) {
        double d;
        int r = num_parse_f64(s, n, &d);
        if (r) {
            snprintf(msg, cap, "'%.*s' is not a number%s", (int)(n > 40 ? 40 : n), s,
                     r == -2 ? " in float64 range" : "");
            return -1;
        }
        memcpy(bits, &d, sizeof d);
    } else if (t == STRATA_I64) {
        int64_t v;
        if (num_parse_i64(s, n, &v)) {
            snprintf(msg, cap, "'%.*s' is not a 64-bit integer", (int)(n > 40 ? 40 : n), s);
            return -1;
        }
        *bits = (uint64_t)v;
    } else {
        if ((n == 4 && !strncasecmp(s, "true", 4)) || (n == 1 && (*s == 't' || *s == 'T' ||
                                                                   *s == '1')))
            *bits = 1;
        else if ((n == 5 && !strncasecmp(s, "false", 5)) ||
                 (n == 1 && (*s == 'f' || *s == 'F' || *s == '0')))
            *bits = 0;
        else {
            snprintf(msg, cap, "'%.*s' is not a boolean", (int)(n > 40 ? 40 : n), s);
            return -1;
        }
    }
    return 0;
}

static int add_value(ingest *in, const char *field, strata_type t, uint64_t bits)
{
    double d;
    switch (t) {
    case STRATA_F64:
        memcpy(&d, &bits, sizeof d);
        return strata_batch_f64(in->b, field, d);
    case STRATA_I64: return strata_batch_i64(in->b, field, (int64_t)bits);
    default: return strata_batch_bool(in->b, field, (int)bits);
    }
}

static void csv_line(ingest *in, const char *line, size_t len)
{
    if (len && line[len - 1] == '\r')
        len--; /* CRLF files */
    size_t n;
    uint32_t bad;
    int split = csv_split(line, len, &n, &bad);
    if (split == -2) {
        cli_errorf("%s:%llu: out of memory splitting a line of %zu bytes", in->file,
                   (unsigned long long)in->line_no, len);
        in->aborted = in->failed = 1;
        return;
    }
    if (split) {
        reject(in, bad, "unbalanced quotes");
        return;
    }
    if (!csv.have_header) {
        if (csv_header(in, n))
            in->aborted = in->failed = 1;
        return;
    }
    if (n == 1 && csv.cell_len[0] == 0)
        return; /* blank line */
    if (n != csv.ncols) {
        char msg[96];
        snprintf(msg, sizeof msg, "%zu cells, the header has %zu", n, csv.ncols);
        reject(in, 1, msg);
        return;
    }
    /* time */
    int64_t ts;
    const char *t = csv.cell[csv.time_col];
    size_t tl = csv.cell_len[csv.time_col];
    int64_t raw;
    if (num_parse_i64(t, tl, &raw) == 0) {
        static const int64_t mult[] = {1, 1000, 1000000, 1000000000};
        if (__builtin_mul_overflow(raw, mult[in->prec], &ts)) {
            reject(in, csv.cell_col[csv.time_col], "timestamp out of range");
            return;
        }
    } else if (time_parse(t, tl, &ts) != 0) {
        char msg[96];
        snprintf(msg, sizeof msg, "'%.*s' is not a time (integer or RFC 3339)",
                 (int)(tl > 40 ? 40 : tl), t);
        reject(in, csv.cell_col[csv.time_col], msg);
        return;
    }
    /* values first: a row is added whole or not at all */
    char msg[256];
    size_t nvals = 0;
    uint64_t *bits = csv.bits;
    for (size_t i = 0; i < n; i++) {
        int role = csv.cols[i].role;
        if ((role != COL_FIELD && role != COL_VALUE) || missing(csv.cell[i], csv.cell_len[i]))
            continue;
        if (csv_value(csv.cols[i].type, csv.cell[i], csv.cell_len[i], &bits[i], msg,
                      sizeof msg)) {
            reject(in, csv.cell_col[i], msg);
            return;
        }
        nvals++;
    }
    if (nvals == 0)
        return; /* every value of the row is missing: no point */
    char mbuf[1024];
    const char *m = in->measurement;
    if (!m) {
        snprintf(mbuf, sizeof mbuf, "%.*s", (int)csv.cell_len[csv.meas_col],
                 csv.cell[csv.meas_col]);
        m = mbuf;
    }
    int rc = strata_batch_point(in->b, m, ts);
    uint32_t col = rc == STRATA_OK ? 1 : csv.cell_col[csv.time_col];
    for (size_t i = 0; i < in->nconst && rc == STRATA_OK; i++)
        rc = strata_batch_tag(in->b, in->const_tags[2 * i], in->const_tags[2 * i + 1]);
    for (size_t i = 0; i < n && rc == STRATA_OK; i++) {
        if (csv.cols[i].role != COL_TAG || csv.cell_len[i] == 0)
            continue; /* an empty tag cell means: no such tag */
        char *v = strndup(csv.cell[i], csv.cell_len[i]);
        rc = strata_batch_tag(in->b, csv.cols[i].name, v);
        free(v);
    }
    for (size_t i = 0; i < n && rc == STRATA_OK; i++) {
        int role = csv.cols[i].role;
        if ((role != COL_FIELD && role != COL_VALUE) || missing(csv.cell[i], csv.cell_len[i]))
            continue;
        col = csv.cell_col[i];
        if (role == COL_VALUE) {
            char *f = strndup(csv.cell[csv.field_col], csv.cell_len[csv.field_col]);
            rc = add_value(in, f, csv.cols[i].type, bits[i]);
            free(f);
        } else {
            rc = add_value(in, csv.cols[i].name, csv.cols[i].type, bits[i]);
        }
    }
    if (rc != STRATA_OK) {
        strata_batch_cancel_point(in->b);
        reject(in, col, strata_errmsg(in->db));
    }
}

static void csv_reset(void)
{
    for (size_t i = 0; i < csv.ncols; i++)
        free(csv.cols[i].name);
    free(csv.cols);
    free(csv.cell);
    free(csv.cell_len);
    free(csv.cell_col);
    free(csv.bits);
    free(csv.unq);
    memset(&csv, 0, sizeof csv);
}

/* ---- driver -------------------------------------------------------------------- */

static void one_line(ingest *in, const char *line, size_t len)
{
    if (in->lines_in_batch == 0)
        in->batch_first_line = in->line_no;
    in->lines_in_batch++;
    if (in->csv)
        csv_line(in, line, len);
    else
        lp_line(in, line, len);
    if (!in->aborted && !in->keyed &&
        (in->lines_in_batch >= in->batch_lines ||
         (in->batch_values && strata_batch_values(in->b) >= in->batch_values)) &&
        flush_batch(in))
        in->aborted = 1;
}

static int ingest_stream(ingest *in, FILE *f)
{
    size_t cap = READ_BLOCK, have = 0;
    char *buf = malloc(cap);
    if (!buf) {
        cli_errorf("out of memory");
        return -1;
    }
    in->line_no = 0;
    if (in->batch_key) {
        strata_batch_set_key(in->b, in->batch_key, strlen(in->batch_key));
        in->keyed = 1;
    }
    int eof = 0;
    while (!eof && !in->aborted) {
        size_t got = fread(buf + have, 1, cap - have, f);
        if (got == 0) {
            if (ferror(f)) {
                cli_errorf("%s: read error: %s", in->file, strerror(errno));
                free(buf);
                return -1;
            }
            eof = 1;
        }
        have += got;
        size_t start = 0;
        for (;;) {
            char *nl = memchr(buf + start, '\n', have - start);
            if (!nl)
                break;
            size_t len = (size_t)(nl - (buf + start));
            in->line_no++;
            one_line(in, buf + start, len);
            start += len + 1;
            if (in->aborted)
                break;
        }
        if (eof && start < have && !in->aborted) { /* last line without newline */
            in->line_no++;
            one_line(in, buf + start, have - start);
            start = have;
        }
        memmove(buf, buf + start, have - start);
        have -= start;
        if (have == cap) { /* a line longer than the buffer */
            cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                cli_errorf("%s:%llu: line too long", in->file,
                           (unsigned long long)in->line_no + 1);
                free(buf);
                return -1;
            }
            buf = nb;
        }
    }
    free(buf);
    if (!in->aborted && flush_batch(in))
        in->aborted = 1;
    return in->aborted ? -1 : 0;
}

static int parse_sync(const char *s, strata_sync *out)
{
    static const char *names[] = {"batch", "always", "interval", "none"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, names[i])) {
            *out = (strata_sync)i;
            return 0;
        }
    return -1;
}

static char **split_list(const char *s, size_t *n)
{
    char **v = NULL;
    *n = 0;
    const char *p = s;
    while (*p) {
        const char *c = strchr(p, ',');
        size_t l = c ? (size_t)(c - p) : strlen(p);
        v = realloc(v, (*n + 1) * sizeof *v);
        v[(*n)++] = strndup(p, l);
        p += l + (c ? 1 : 0);
    }
    return v;
}

int cmd_ingest(int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, 0, 'f'},   {"precision", required_argument, 0, 'p'},
        {"strict", no_argument, 0, 's'},         {"batch", required_argument, 0, 'b'},
        {"sync", required_argument, 0, 'y'},     {"head-budget", required_argument, 0, 'm'},
        {"device-tag", required_argument, 0, 'd'}, {"quiet", no_argument, 0, 'q'},
        {"partition", required_argument, 0, 'P'},
        {"batch-key", required_argument, 0, 'K'}, {"max-lateness", required_argument, 0, 'L'},
        {"measurement", required_argument, 0, 'M'}, {"time-column", required_argument, 0, 'T'},
        {"tag-columns", required_argument, 0, 'C'}, {"tag", required_argument, 0, 't'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    ingest in = {0};
    in.batch_lines = DEFAULT_BATCH_LINES;
    in.batch_values = DEFAULT_BATCH_VALUES;
    strata_options o;
    strata_options_init(&o);
    o.create_if_missing = 1;
    o.log = cli_log;
    int c, rc = CLI_OK;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (!strcmp(optarg, "csv"))
                in.csv = 1;
            else if (strcmp(optarg, "lp") != 0) {
                cli_errorf("--format must be lp or csv, not '%s'", optarg);
                return CLI_USAGE;
            }
            break;
        case 'p':
            if (cli_parse_precision(optarg, &in.prec)) {
                cli_errorf("--precision must be ns, us, ms or s, not '%s'", optarg);
                return CLI_USAGE;
            }
            break;
        case 's': in.strict = 1; break;
        case 'b': {
            char *end;
            long long v = strtoll(optarg, &end, 10);
            if (*end || v < 1) {
                cli_errorf("--batch must be a positive number of lines");
                return CLI_USAGE;
            }
            in.batch_lines = (size_t)v;
            in.batch_values = 0;
            break;
        }
        case 'y':
            if (parse_sync(optarg, &o.sync)) {
                cli_errorf("--sync must be always, batch, interval or none, not '%s'", optarg);
                return CLI_USAGE;
            }
            break;
        case 'm': {
            char *end;
            long long v = strtoll(optarg, &end, 10);
            if (*end || v < 1 || v > (1LL << 20)) {
                cli_errorf("--head-budget must be a number of MiB (at least 1)");
                return CLI_USAGE;
            }
            o.head_budget_bytes = (size_t)v << 20;
            break;
        }
        case 'd': o.device_tag = optarg; break;
        case 'P':
            if (duration_parse(optarg, strlen(optarg), &o.partition_ns) ||
                o.partition_ns < 1000000000LL) {
                cli_errorf("--partition must be a duration of at least 1s (1d, 30d), not '%s'",
                           optarg);
                return CLI_USAGE;
            }
            break;
        case 'K':
            if (!*optarg || strlen(optarg) > STRATA_MAX_BATCH_KEY) {
                cli_errorf("--batch-key must be 1 to %d bytes", STRATA_MAX_BATCH_KEY);
                return CLI_USAGE;
            }
            in.batch_key = optarg;
            break;
        case 'L':
            if (duration_parse(optarg, strlen(optarg), &o.max_lateness_ns) ||
                o.max_lateness_ns <= 0) {
                cli_errorf("--max-lateness must be a duration such as 1h or 30m, not '%s'",
                           optarg);
                return CLI_USAGE;
            }
            break;
        case 'q': in.quiet = 1; break;
        case 'M': in.measurement = optarg; break;
        case 'T': in.time_column = optarg; break;
        case 'C': in.tag_columns = split_list(optarg, &in.ntag_columns); break;
        case 't': {
            char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg || !eq[1]) {
                cli_errorf("--tag needs KEY=VALUE, not '%s'", optarg);
                return CLI_USAGE;
            }
            in.const_tags = realloc(in.const_tags, (in.nconst + 1) * 2 * sizeof *in.const_tags);
            in.const_tags[2 * in.nconst] = strndup(optarg, (size_t)(eq - optarg));
            in.const_tags[2 * in.nconst + 1] = strdup(eq + 1);
            in.nconst++;
            break;
        }
        case 'h': usage(stdout); return CLI_OK;
        default: usage(stderr); return CLI_USAGE;
        }
    }
    if (optind >= argc) {
        cli_errorf("ingest: no database directory given");
        usage(stderr);
        return CLI_USAGE;
    }
    const char *dbpath = argv[optind++];
    if (optind >= argc) {
        cli_errorf("ingest: no input given (a file, or - for standard input)");
        return CLI_USAGE;
    }
    if (in.batch_key && argc - optind != 1) {
        cli_errorf("--batch-key names one batch: give exactly one input");
        return CLI_USAGE;
    }
    if (!in.csv && (in.measurement || in.time_column || in.ntag_columns || in.nconst)) {
        cli_errorf("--measurement, --time-column, --tag-columns and --tag apply to --format csv");
        return CLI_USAGE;
    }
    struct timespec now, t0, t1;
    clock_gettime(CLOCK_REALTIME, &now);
    in.now_ns = (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (strata_db_open(dbpath, &o, &in.db) != STRATA_OK) {
        cli_errorf("%s", strata_errmsg(NULL));
        return CLI_FAIL;
    }
    uint64_t series_before = 0, series_after = 0;
    strata_series_count(in.db, &series_before);
    /* A maximum lateness is checked against everything written before a
     * point is added: no batch may be in flight while the next is filled. */
    if (ingest_writer_start(in.db, o.max_lateness_ns > 0, &in.w, &in.b)) {
        strata_db_close(in.db);
        return CLI_FAIL;
    }
    int files = 0;
    for (; optind < argc && !in.aborted; optind++) {
        const char *name = argv[optind];
        FILE *f = strcmp(name, "-") ? fopen(name, "rb") : stdin;
        if (!f) {
            cli_errorf("cannot open %s: %s", name, strerror(errno));
            in.failed = 1;
            continue;
        }
        in.file = strcmp(name, "-") ? name : "<stdin>";
        if (in.csv)
            csv_reset();
        if (ingest_stream(&in, f))
            in.failed |= !in.aborted || in.strict;
        if (f != stdin)
            fclose(f);
        files++;
    }
    csv_reset();
    if (ingest_writer_wait(in.w))
        in.failed = 1;
    ingest_counts counts;
    ingest_writer_finish(in.w, &counts);
    in.points = counts.points;
    in.values = counts.values;
    in.skipped_batches = counts.skipped_batches;
    in.skipped_points = counts.skipped_points;
    strata_series_count(in.db, &series_after);
    strata_batch_free(in.b);
    if (strata_db_close(in.db) != STRATA_OK) {
        cli_errorf("closing %s: %s", dbpath, strata_errmsg(NULL));
        in.failed = 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (!in.quiet)
        fprintf(stderr,
                "ingested %llu points (%llu values) from %d input(s) in %.2f s (%.0f values/s); "
                "%llu series (%llu new); %llu line(s) rejected%s\n",
                (unsigned long long)in.points, (unsigned long long)in.values, files, secs,
                secs > 0 ? (double)in.values / secs : 0.0, (unsigned long long)series_after,
                (unsigned long long)(series_after - series_before),
                (unsigned long long)in.bad_lines, in.aborted ? "; stopped early" : "");
    if (!in.quiet && in.keyed_batches)
        fprintf(stderr,
                "%llu keyed batch(es): %llu skipped as already applied (%llu points not "
                "stored again)\n",
                (unsigned long long)in.keyed_batches, (unsigned long long)in.skipped_batches,
                (unsigned long long)in.skipped_points);
    for (size_t i = 0; i < in.ntag_columns; i++)
        free(in.tag_columns[i]);
    free(in.tag_columns);
    for (size_t i = 0; i < 2 * in.nconst; i++)
        free(in.const_tags[i]);
    free(in.const_tags);
    if (in.failed || in.aborted || in.bad_lines)
        rc = CLI_FAIL;
    return rc;
}
