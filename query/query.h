/*
 * query.h — a prepared query: its plan (plan.c) and its execution state
 * (exec.c); the public strata_query_* functions are in api.c.
 *
 * Plan: the tag sets the WHERE clause matches (through the tag index), the
 * fields involved (selected ones, then those only in conditions), a series
 * id per (tag set, field), the groups (distinct values of the GROUP BY
 * tags, sorted), and the time range cut into buckets.
 *
 * Execution produces one group at a time: an aggregate query computes all
 * the group's buckets (answering whole chunks from their statistics where
 * it can), then emits them; a raw query merges the group's tag sets by time
 * and streams rows (ORDER BY time DESC buffers the group to reverse it).
 */
#ifndef STRATA_QUERY_QUERY_H
#define STRATA_QUERY_QUERY_H

#include "engine/db.h"
#include "engine/iter.h"
#include "query/agg.h"
#include "query/ast.h"
#include "query/index.h"

#define QUERY_MAX_BUCKETS 10000000u
/* The aggregate state of one group (every bucket of every aggregate) may
 * take at most this much memory; the planner refuses a larger grid. */
#define QUERY_MAX_GRID_MIB 512u

typedef struct qcell {
    int type; /* STRATA_COL_* */
    double f;
    int64_t i;
    const char *text;
} qcell;

typedef struct qgroup {
    const char **vals; /* one per group column; "" when a tag set lacks the tag */
    uint32_t *tagsets; /* indexes into q->tagsets */
    size_t n, cap;
} qgroup;

typedef struct rawcur rawcur;

struct strata_query {
    strata_db *db;
    q_ast a;
    int raw; /* raw fields, not aggregates */

    /* select expressions, '*' expanded; ex_field[i] indexes fields[] */
    q_expr *ex;
    size_t nex;
    size_t *ex_field;
    /* fields: the selected ones first, then those only in conditions */
    char **fields;
    uint8_t *ftypes; /* effective type per field (float64 when mixed) */
    size_t nfields, nsel_fields;
    size_t *cond_field; /* per field condition */

    uint32_t *tagsets; /* matched, ascending */
    size_t ntagsets;
    uint32_t *sid;     /* [tag set][field] -> series id or CAT_NONE */
    uint8_t *stype;    /* its type */

    const char **gcols; /* GROUP BY tag names */
    size_t ngcols;
    qgroup *groups;
    size_t ngroups;

    int64_t tmin, tmax; /* [tmin, tmax); tmax == INT64_MAX: open */
    int64_t width, b0;  /* bucket width (0: one bucket) and first start */
    size_t nb;

    size_t ncols;
    char **colnames;
    qcell *row;

    /* execution */
    size_t gi;      /* next group to load */
    int loaded;     /* the current group is loaded */
    int finished;
    int err, err_ext; /* a failed step: every later step fails the same way */
    char *errmsg;
    /* aggregate: the current group's buckets */
    agg_value *vals; /* nb x nex */
    uint8_t *present;
    int64_t *btime;
    size_t bpos, emitted;
    /* raw */
    rawcur *cur;
    int64_t *rts;  /* DESC buffer: times */
    qcell *rvals;  /* and nsel_fields values per row */
    size_t rn, rcap, rpos;

    /* explain / statistics */
    int explain_rows_done;
    char *explain_text; /* the EXPLAIN rows (split in place) */
    size_t explain_line;
    char *explain_api; /* what strata_query_explain() returned last */
    iter_stats st;
    uint64_t series_read, rows_out;
    uint64_t last_fast; /* series whose last() came from newest-chunk entries */
    uint64_t values_only, values_only_points; /* chunks read without their times */
    uint64_t moment_chunks, moment_points; /* stddev from the codec's exact sums */
    uint64_t rollup_segs, rollup_rows, rollup_points; /* answered from rollups */
    uint64_t *vbuf; /* one chunk's values, for those reads */
    struct qchunk *later; /* chunks taken while a series opens, read after */
    size_t nlater, later_cap;
    double plan_ms, exec_ms;
};

/* plan.c */
int query_plan(strata_query *q);
/* exec.c */
int query_exec_step(strata_query *q);
void query_exec_free(strata_query *q);
/* api.c: the EXPLAIN text of q as it stands */
char *query_explain_text(strata_query *q);

#endif
