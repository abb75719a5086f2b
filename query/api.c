/*
 * api.c — the public strata_query_* functions: prepare (parse + plan),
 * step, column accessors, EXPLAIN, finalize.
 *
 * EXPLAIN runs the query to the end (its rows are discarded) so that the
 * plan can say what execution did: series read, chunks answered from their
 * statistics and chunks decoded.  Its rows are the lines of that text, in
 * one TEXT column named "plan".
 */
#include "query/query.h"

#include "engine/alloc.h"
#include "engine/err.h"
#include "engine/timetext.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

int strata_query_prepare(strata_db *db, const char *text, strata_query **out)
{
    if (!out)
        return st_err(STRATA_MISUSE, "strata_query_prepare: NULL output pointer");
    *out = NULL;
    if (!db || !text)
        return st_err(STRATA_MISUSE, "strata_query_prepare: NULL argument");
    double t0 = now_ms();
    strata_query *q = st_calloc(1, sizeof *q);
    if (!q)
        return st_err(STRATA_NOMEM, "out of memory preparing a query");
    q->db = db;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (query_parse(text, (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec, &q->a) != 0) {
        st_free(q);
        return STRATA_ERROR;
    }
    int rc = query_plan(q);
    if (rc != STRATA_OK) {
        strata_query_finalize(q);
        return rc;
    }
    q->plan_ms = now_ms() - t0;
    *out = q;
    return STRATA_OK;
}

static int explain_step(strata_query *q)
{
    if (!q->explain_rows_done) {
        int rc;
        while ((rc = query_exec_step(q)) == STRATA_ROW)
            ;
        if (rc != STRATA_DONE)
            return rc;
        q->explain_rows_done = 1;
        st_free(q->explain_text);
        q->explain_text = query_explain_text(q);
        if (!q->explain_text)
            return st_err(STRATA_NOMEM, "out of memory explaining a query");
        q->explain_line = 0;
    }
    char *p = q->explain_text + q->explain_line;
    if (!*p)
        return STRATA_DONE;
    char *nl = strchr(p, '\n');
    if (nl)
        *nl = '\0';
    q->row[0] = (qcell){STRATA_COL_TEXT, 0, 0, p};
    q->explain_line += strlen(p) + (nl ? 1 : 0);
    return STRATA_ROW;
}

int strata_query_step(strata_query *q)
{
    if (!q)
        return st_err(STRATA_MISUSE, "strata_query_step: NULL query");
    return q->a.explain ? explain_step(q) : query_exec_step(q);
}

int strata_query_column_count(const strata_query *q)
{
    return !q ? 0 : q->a.explain ? 1 : (int)q->ncols;
}

const char *strata_query_column_name(const strata_query *q, int i)
{
    if (!q || i < 0 || i >= strata_query_column_count(q))
        return NULL;
    return q->a.explain ? "plan" : q->colnames[i];
}

int strata_query_column_type(const strata_query *q, int i)
{
    if (!q || i < 0 || i >= strata_query_column_count(q))
        return STRATA_COL_NULL;
    return q->row[i].type;
}

double strata_query_column_f64(const strata_query *q, int i)
{
    if (!q || i < 0 || i >= strata_query_column_count(q))
        return 0;
    const qcell *c = &q->row[i];
    return c->type == STRATA_COL_F64 ? c->f : (double)c->i;
}

int64_t strata_query_column_i64(const strata_query *q, int i)
{
    if (!q || i < 0 || i >= strata_query_column_count(q))
        return 0;
    const qcell *c = &q->row[i];
    return c->type == STRATA_COL_F64 ? (int64_t)c->f : c->i;
}

const char *strata_query_column_text(const strata_query *q, int i)
{
    if (!q || i < 0 || i >= strata_query_column_count(q))
        return NULL;
    return q->row[i].type == STRATA_COL_TEXT ? q->row[i].text : NULL;
}

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap ? b->cap : 256) * 2 + (size_t)n;
        char *np = st_realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
}

static const char *tname(uint8_t t)
{
    return t == STRATA_F64 ? "float64" : t == STRATA_I64 ? "int64" : t == STRATA_BOOL ? "bool"
                                                                                      : "absent";
}

static void fmt_dur(char *out, size_t cap, int64_t ns)
{
    static const struct {
        int64_t ns;
        const char *u;
    } u[] = {{604800000000000LL, "w"}, {86400000000000LL, "d"}, {3600000000000LL, "h"},
             {60000000000LL, "m"},     {1000000000LL, "s"},     {1000000LL, "ms"},
             {1000LL, "us"},           {1, "ns"}};
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++)
        if (ns % u[i].ns == 0) {
            snprintf(out, cap, "%lld%s", (long long)(ns / u[i].ns), u[i].u);
            return;
        }
}

/* Which rollup tiers exist and which this query can read. */
static void explain_tiers(strata_query *q, sbuf *b)
{
    view *v = db_view_get(q->db);
    const rollset *rs = v->rolls;
    int64_t w[MAN_MAX_TIERS];
    size_t nw = 0, valid[MAN_MAX_TIERS] = {0}, stale[MAN_MAX_TIERS] = {0};
    for (size_t i = 0; rs && i < rs->n; i++) {
        size_t k = 0;
        while (k < nw && w[k] != rs->x[i].width)
            k++;
        if (k == nw) {
            if (nw == MAN_MAX_TIERS)
                continue;
            w[nw++] = rs->x[i].width;
        }
        if (rs->x[i].stale)
            stale[k]++;
        else
            valid[k]++;
    }
    if (!nw) {
        sb_printf(b, "tiers: raw chunks only (no rollups built yet)\n");
        view_unref(v);
        return;
    }
    sb_printf(b, "tiers: raw chunks; rollups");
    size_t nok = 0; /* aggregates rollups can answer */
    for (size_t e = 0; e < q->nex; e++)
        nok += agg_from_rollups_ok(q->ex[e].agg) != 0;
    int aggs_ok = nok > 0;
    for (size_t k = 0; k < nw; k++) {
        char d[64];
        fmt_dur(d, sizeof d, w[k]);
        int fits = q->width == 0 || (q->width % w[k] == 0 && q->b0 % w[k] == 0);
        char st[48] = "";
        if (stale[k])
            snprintf(st, sizeof st, ", %zu stale", stale[k]);
        sb_printf(b, " %s (%zu segment(s)%s, %s)", d, valid[k] + stale[k], st,
                  !aggs_ok || q->a.nfconds ? "not usable: aggregate or condition"
                  : !fits                  ? "not usable: buckets not whole multiples"
                  : nok < q->nex           ? "usable for count, sum, mean, min, max, spread, "
                                             "first and last; the other aggregates read raw chunks"
                                           : "usable");
    }
    sb_printf(b, "\n");
    view_unref(v);
}

/* Is field entry f a second entry of an earlier field (the aggregates of
 * another class, plan.c)? */
static int field_again(const strata_query *q, size_t f)
{
    for (size_t i = 0; i < f; i++)
        if (!strcmp(q->fields[i], q->fields[f]))
            return 1;
    return 0;
}

/* The upper end of the range [.., tmax) with its bracket: as the exclusive
 * bound, or as the inclusive last nanosecond when that reads shorter (a
 * range bounded by the data ends one nanosecond after its last point:
 * `11:59:50Z]` rather than `11:59:50.000000001Z)`); both are exact. */
static void fmt_upper(int64_t tmax, char out[TIME_RFC3339_BUFSZ + 1])
{
    if (tmax == INT64_MAX) {
        strcpy(out, "+inf)");
        return;
    }
    char ex[TIME_RFC3339_BUFSZ], in[TIME_RFC3339_BUFSZ];
    time_format_rfc3339(tmax, ex);
    time_format_rfc3339(tmax - (tmax > INT64_MIN), in);
    if (tmax > INT64_MIN && strlen(in) < strlen(ex))
        snprintf(out, TIME_RFC3339_BUFSZ + 1, "%s]", in);
    else
        snprintf(out, TIME_RFC3339_BUFSZ + 1, "%s)", ex);
}

char *query_explain_text(strata_query *q)
{
    sbuf b = {0};
    size_t series = 0;
    for (size_t t = 0; t < q->ntagsets; t++)
        for (size_t f = 0; f < q->nsel_fields; f++)
            series += q->sid[t * q->nfields + f] != CAT_NONE && !field_again(q, f);
    sb_printf(&b, "measurement %s: %zu tag set(s) matched, %zu series for the selected fields\n",
              q->a.measurement, q->ntagsets, series);
    for (size_t f = 0; f < q->nfields; f++)
        sb_printf(&b, "field %s (%s)%s\n", q->fields[f], tname(q->ftypes[f]),
                  f >= q->nsel_fields ? ", in conditions only"
                  : field_again(q, f) ? ", again for the aggregates rollups cannot give"
                                      : "");
    sb_printf(&b, "groups: %zu", q->ngroups);
    if (q->ngcols) {
        sb_printf(&b, " by");
        for (size_t i = 0; i < q->ngcols; i++)
            sb_printf(&b, " %s", q->gcols[i]);
    }
    sb_printf(&b, "\n");
    char lo[TIME_RFC3339_BUFSZ], hi[TIME_RFC3339_BUFSZ + 1], w[32];
    time_format_rfc3339(q->tmin, lo);
    fmt_upper(q->tmax, hi);
    if (q->width) {
        fmt_dur(w, sizeof w, q->width);
        sb_printf(&b, "time range [%s, %s: %zu bucket(s) of %s, aligned to the epoch%s\n",
                  q->tmin == INT64_MIN ? "-inf" : lo, hi, q->nb, w,
                  q->a.group_offset ? " plus the offset" : "");
    } else {
        sb_printf(&b, "time range [%s, %s\n", q->tmin == INT64_MIN ? "-inf" : lo, hi);
    }
    if (q->raw)
        sb_printf(&b, "plan: raw points, fields joined on time per tag set, tag sets merged by "
                      "time%s\n",
                  q->a.desc ? " (ORDER BY time DESC: each group buffered, then reversed)" : "");
    else
        sb_printf(&b, "plan: aggregates per bucket; a chunk inside one bucket that no other "
                      "source overlaps is answered from its statistics%s\n",
                  q->a.nfconds ? " (not here: field conditions need every point)" : "");
    if (!q->raw)
        explain_tiers(q, &b);
    sb_printf(&b,
              "executed: %llu series read; %llu chunk(s) in range; %llu answered from statistics "
              "(%llu points), %llu decoded (%llu points); %llu point(s) from the in-memory head\n",
              (unsigned long long)q->series_read, (unsigned long long)q->st.chunks,
              (unsigned long long)q->st.chunks_summarized,
              (unsigned long long)q->st.points_summarized,
              (unsigned long long)q->st.chunks_decoded, (unsigned long long)q->st.points_decoded,
              (unsigned long long)q->st.head_points);
    if (q->values_only)
        sb_printf(&b, "of those answered: %llu chunk(s) (%llu points) read from their value "
                      "column alone (no statistics fit, no times needed)\n",
                  (unsigned long long)q->values_only, (unsigned long long)q->values_only_points);
    if (q->moment_chunks)
        sb_printf(&b, "stddev: %llu chunk(s) (%llu points) from their statistics and the exact "
                      "integer sums of their decimal values (no value decoded)\n",
                  (unsigned long long)q->moment_chunks, (unsigned long long)q->moment_points);
    if (q->rollup_segs)
        sb_printf(&b, "rollups: %llu row(s) (%llu points) from %llu rollup segment read(s)\n",
                  (unsigned long long)q->rollup_rows, (unsigned long long)q->rollup_points,
                  (unsigned long long)q->rollup_segs);
    if (q->last_fast)
        sb_printf(&b, "last(): %llu series answered from the index entry of their newest chunk\n",
                  (unsigned long long)q->last_fast);
    sb_printf(&b, "rows: %llu; planning %.3f ms, execution %.3f ms\n",
              (unsigned long long)q->rows_out, q->plan_ms, q->exec_ms);
    if (b.oom) {
        st_free(b.p);
        return NULL;
    }
    return b.p;
}

const char *strata_query_explain(strata_query *q)
{
    if (!q)
        return NULL;
    char *t = query_explain_text(q);
    if (!t)
        return NULL;
    st_free(q->explain_api);
    q->explain_api = t;
    return t;
}

void strata_query_finalize(strata_query *q)
{
    if (!q)
        return;
    query_exec_free(q);
    for (size_t i = 0; i < q->nex; i++) {
        st_free(q->ex[i].field);
        st_free(q->ex[i].alias);
    }
    st_free(q->ex);
    st_free(q->ex_field);
    for (size_t i = 0; i < q->nfields; i++)
        st_free(q->fields[i]);
    st_free(q->fields);
    st_free(q->ftypes);
    st_free(q->cond_field);
    st_free(q->tagsets);
    st_free(q->sid);
    st_free(q->stype);
    for (size_t i = 0; i < q->ngcols; i++)
        st_free((char *)q->gcols[i]);
    st_free(q->gcols);
    for (size_t i = 0; i < q->ngroups; i++) {
        st_free(q->groups[i].vals);
        st_free(q->groups[i].tagsets);
    }
    st_free(q->groups);
    if (q->colnames)
        for (size_t i = 0; i < q->ncols; i++)
            st_free(q->colnames[i]);
    st_free(q->colnames);
    st_free(q->row);
    st_free(q->explain_text);
    st_free(q->explain_api);
    ast_free(&q->a);
    st_free(q);
}
