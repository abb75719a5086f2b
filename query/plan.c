/*
 * plan.c — from a parsed query to a plan (see query.h): which tag sets
 * match, which series hold each field, the groups, the buckets.
 *
 * Matching uses the tag index: the smallest posting list among the
 * measurement's and those of the `tag = 'value'` conditions, then every
 * condition checked on each candidate.  A tag set that lacks a tag
 * compares as if its value were the empty string (so `tag != 'x'` matches
 * it), as in InfluxQL.  The planner holds the index's mutex only while it
 * reads the index.
 */
#define _GNU_SOURCE /* qsort_r */
#include "query/query.h"

#include "engine/alloc.h"
#include "engine/err.h"
#include "engine/tmath.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tag_matches(const qtagset *t, const q_tagcond *c)
{
    const char *v = qtagset_get(t, c->key);
    if (!v)
        v = "";
    switch (c->op) {
    case TAG_EQ: return strcmp(v, c->value) == 0;
    case TAG_NE: return strcmp(v, c->value) != 0;
    case TAG_RE: return regexec(&c->re, v, 0, NULL, 0) == 0;
    case TAG_NRE: return regexec(&c->re, v, 0, NULL, 0) != 0;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Add s to a set of strings (no duplicates); copies. */
static int set_add(char ***set, size_t *n, const char *s)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*set)[i], s))
            return 0;
    char **a = st_realloc(*set, (*n + 1) * sizeof *a);
    if (!a)
        return -1;
    *set = a;
    a[*n] = st_strndup(s, strlen(s));
    if (!a[*n])
        return -1;
    (*n)++;
    return 0;
}

static int match_tagsets(strata_query *q, qindex *x)
{
    q_ast *a = &q->a;
    const qlist *base = qindex_measurement(x, a->measurement);
    if (!base)
        return STRATA_OK;
    for (size_t i = 0; i < a->ntags; i++) {
        /* tag = '' also matches tag sets without the tag: no posting list */
        if (a->tags[i].op != TAG_EQ || !a->tags[i].value[0])
            continue;
        const qlist *l = qindex_tag(x, a->measurement, a->tags[i].key, a->tags[i].value);
        if (!l)
            return STRATA_OK; /* no tag set has that value */
        if (l->n < base->n)
            base = l;
    }
    q->tagsets = st_malloc((base->n ? base->n : 1) * sizeof *q->tagsets);
    if (!q->tagsets)
        return st_err(STRATA_NOMEM, "out of memory planning a query");
    for (size_t k = 0; k < base->n; k++) {
        const qtagset *t = qindex_tagset(x, base->ids[k]);
        if (!t || strcmp(t->meas, a->measurement) != 0)
            continue;
        int ok = 1;
        for (size_t i = 0; i < a->ntags && ok; i++)
            ok = tag_matches(t, &a->tags[i]);
        if (ok)
            q->tagsets[q->ntagsets++] = base->ids[k];
    }
    return STRATA_OK;
}

static char *expr_name(const q_expr *e)
{
    char name[512];
    if (e->alias)
        snprintf(name, sizeof name, "%s", e->alias);
    else if (e->agg == AGG_NONE)
        snprintf(name, sizeof name, "%s", e->field);
    else if (e->agg == AGG_PERCENTILE)
        snprintf(name, sizeof name, "percentile(%s, %g)", e->field, e->param);
    else
        snprintf(name, sizeof name, "%s(%s)", agg_name(e->agg), e->field);
    return st_strndup(name, strlen(name));
}

/* The field names of the matched tag sets, sorted. */
static int all_fields(strata_query *q, qindex *x, char ***names, size_t *n)
{
    for (size_t k = 0; k < q->ntagsets; k++) {
        const qtagset *t = qindex_tagset(x, q->tagsets[k]);
        for (uint32_t i = 0; i < t->nseries; i++) {
            cat_series_info in;
            if (catalog_series_info(q->db->cat, t->series[i], &in) != STRATA_OK ||
                set_add(names, n, in.field))
                return st_err(STRATA_NOMEM, "out of memory planning a query");
        }
    }
    if (*n)
        qsort(*names, *n, sizeof **names, cmp_str);
    return STRATA_OK;
}

static int expand_exprs(strata_query *q, qindex *x)
{
    q_ast *a = &q->a;
    char **names = NULL;
    size_t nnames = 0;
    int rc = STRATA_OK;
    for (size_t i = 0; i < a->nexprs; i++)
        if (a->exprs[i].star) {
            rc = all_fields(q, x, &names, &nnames);
            break;
        }
    for (size_t i = 0; i < a->nexprs && rc == STRATA_OK; i++) {
        const q_expr *e = &a->exprs[i];
        size_t copies = e->star ? nnames : 1;
        for (size_t c = 0; c < copies && rc == STRATA_OK; c++) {
            q_expr *ne = st_realloc(q->ex, (q->nex + 1) * sizeof *ne);
            if (!ne) {
                rc = st_err(STRATA_NOMEM, "out of memory planning a query");
                break;
            }
            q->ex = ne;
            q_expr *d = &q->ex[q->nex++];
            *d = *e;
            d->star = 0;
            const char *f = e->star ? names[c] : e->field;
            d->field = st_strndup(f, strlen(f));
            d->alias = e->alias && !e->star ? st_strndup(e->alias, strlen(e->alias)) : NULL;
            if (!d->field || (e->alias && !e->star && !d->alias))
                rc = st_err(STRATA_NOMEM, "out of memory planning a query");
        }
    }
    for (size_t i = 0; i < nnames; i++)
        st_free(names[i]);
    st_free(names);
    return rc;
}

/* The index of field `name` in q->fields, appended when new.  cls: the
 * field's entry for one class of aggregates (0: those rollups can answer,
 * 1: the others; -1: any, and the fields have no classes) -- so that a
 * query asking one field for both count and stddev reads count from
 * rollups like the same query without stddev does, and stddev from raw
 * data (once raw data has expired, count must not drop to what is left).
 * cls[] holds each entry's class. */
static int field_index(strata_query *q, const char *name, int cls, int8_t *classes, size_t *idx)
{
    for (size_t i = 0; i < q->nfields; i++)
        if (!strcmp(q->fields[i], name) && (cls < 0 || classes[i] == cls)) {
            *idx = i;
            return STRATA_OK;
        }
    char **f = st_realloc(q->fields, (q->nfields + 1) * sizeof *f);
    if (!f)
        return st_err(STRATA_NOMEM, "out of memory planning a query");
    q->fields = f;
    f[q->nfields] = st_strndup(name, strlen(name));
    if (!f[q->nfields])
        return st_err(STRATA_NOMEM, "out of memory planning a query");
    if (classes)
        classes[q->nfields] = (int8_t)cls;
    *idx = q->nfields++;
    return STRATA_OK;
}

static int plan_fields(strata_query *q)
{
    q_ast *a = &q->a;
    q->ex_field = st_malloc((q->nex + 1) * sizeof *q->ex_field);
    q->cond_field = st_malloc((a->nfconds + 1) * sizeof *q->cond_field);
    if (!q->ex_field || !q->cond_field)
        return st_err(STRATA_NOMEM, "out of memory planning a query");
    /* with field conditions the fields are joined on time and read raw:
     * one entry per field; else one per field and class of aggregate */
    int8_t *classes = a->nfconds ? NULL : st_malloc(q->nex + 1);
    if (!a->nfconds && !classes)
        return st_err(STRATA_NOMEM, "out of memory planning a query");
    for (size_t i = 0; i < q->nex; i++) {
        int cls = classes ? !agg_from_rollups_ok(q->ex[i].agg) : -1;
        if (field_index(q, q->ex[i].field, cls, classes, &q->ex_field[i])) {
            st_free(classes);
            return STRATA_NOMEM;
        }
    }
    st_free(classes);
    q->nsel_fields = q->nfields;
    for (size_t i = 0; i < a->nfconds; i++)
        if (field_index(q, a->fconds[i].field, -1, NULL, &q->cond_field[i]))
            return STRATA_NOMEM;
    size_t cells = q->ntagsets * q->nfields + 1;
    q->sid = st_malloc(cells * sizeof *q->sid);
    q->stype = st_calloc(cells, 1);
    q->ftypes = st_calloc(q->nfields + 1, 1);
    if (!q->sid || !q->stype || !q->ftypes)
        return st_err(STRATA_NOMEM, "out of memory planning a query");
    for (size_t t = 0; t < q->ntagsets; t++)
        for (size_t f = 0; f < q->nfields; f++) {
            uint32_t *sid = &q->sid[t * q->nfields + f];
            uint8_t *ty = &q->stype[t * q->nfields + f];
            if (!catalog_find_series(q->db->cat, q->tagsets[t], q->fields[f],
                                     strlen(q->fields[f]), sid, ty)) {
                *sid = CAT_NONE;
                continue;
            }
            uint8_t *ft = &q->ftypes[f];
            if (!*ft)
                *ft = *ty;
            else if (*ft != *ty)
                *ft = (*ft == STRATA_F64 || *ty == STRATA_F64) ? STRATA_F64 : STRATA_I64;
        }
    for (size_t i = 0; i < q->nex; i++) {
        uint8_t ft = q->ftypes[q->ex_field[i]];
        const char *why = ft ? agg_type_problem(q->ex[i].agg, ft) : NULL;
        if (why)
            return st_err(STRATA_ERROR_INPUT, "%s(%s): %s", agg_name(q->ex[i].agg),
                          q->ex[i].field, why);
    }
    return STRATA_OK;
}

typedef struct gent {
    const char **vals;
    uint32_t t;
} gent;

static int cmp_gent(const void *a, const void *b, void *ncols)
{
    const gent *x = a, *y = b;
    for (size_t i = 0; i < *(size_t *)ncols; i++) {
        int c = strcmp(x->vals[i], y->vals[i]);
        if (c)
            return c;
    }
    return x->t < y->t ? -1 : x->t > y->t;
}

static int plan_groups(strata_query *q, qindex *x)
{
    q_ast *a = &q->a;
    char **cols = NULL;
    size_t ncols = 0;
    if (a->group_all) {
        for (size_t t = 0; t < q->ntagsets; t++) {
            const qtagset *ts = qindex_tagset(x, q->tagsets[t]);
            for (uint32_t i = 0; i < ts->ntags; i++)
                if (set_add(&cols, &ncols, ts->tags[i].k))
                    return st_err(STRATA_NOMEM, "out of memory planning a query");
        }
        if (ncols)
            qsort(cols, ncols, sizeof *cols, cmp_str);
    }
    for (size_t i = 0; i < a->ngroup_tags; i++)
        if (set_add(&cols, &ncols, a->group_tags[i]))
            return st_err(STRATA_NOMEM, "out of memory planning a query");
    q->gcols = (const char **)cols;
    q->ngcols = ncols;
    if (!q->ntagsets)
        return STRATA_OK;
    gent *g = st_malloc(q->ntagsets * sizeof *g);
    const char **vals = st_malloc((q->ntagsets * (ncols ? ncols : 1)) * sizeof *vals);
    if (!g || !vals) {
        st_free(g);
        st_free(vals);
        return st_err(STRATA_NOMEM, "out of memory planning a query");
    }
    for (size_t t = 0; t < q->ntagsets; t++) {
        const qtagset *ts = qindex_tagset(x, q->tagsets[t]);
        g[t].vals = vals + t * ncols;
        g[t].t = (uint32_t)t;
        for (size_t c = 0; c < ncols; c++) {
            const char *v = qtagset_get(ts, cols[c]);
            g[t].vals[c] = v ? v : "";
        }
    }
    qsort_r(g, q->ntagsets, sizeof *g, cmp_gent, &ncols);
    int rc = STRATA_OK;
    for (size_t t = 0; t < q->ntagsets && rc == STRATA_OK; t++) {
        int same = 0;
        if (q->ngroups) {
            same = 1;
            qgroup *last = &q->groups[q->ngroups - 1];
            for (size_t c = 0; c < ncols && same; c++)
                same = !strcmp(last->vals[c], g[t].vals[c]);
        }
        if (!same) {
            qgroup *ng = st_realloc(q->groups, (q->ngroups + 1) * sizeof *ng);
            if (!ng) {
                rc = st_err(STRATA_NOMEM, "out of memory planning a query");
                break;
            }
            q->groups = ng;
            qgroup *gr = &q->groups[q->ngroups++];
            memset(gr, 0, sizeof *gr);
            gr->vals = st_malloc((ncols ? ncols : 1) * sizeof *gr->vals);
            if (!gr->vals) {
                rc = st_err(STRATA_NOMEM, "out of memory planning a query");
                break;
            }
            memcpy(gr->vals, g[t].vals, ncols * sizeof *gr->vals);
        }
        qgroup *gr = &q->groups[q->ngroups - 1];
        if (gr->n == gr->cap) {
            size_t cap = gr->cap ? gr->cap * 2 : 4;
            uint32_t *a2 = st_realloc(gr->tagsets, cap * sizeof *a2);
            if (!a2) {
                rc = st_err(STRATA_NOMEM, "out of memory planning a query");
                break;
            }
            gr->tagsets = a2;
            gr->cap = cap;
        }
        gr->tagsets[gr->n++] = g[t].t;
    }
    st_free(g);
    st_free(vals);
    return rc;
}

static int plan_time(strata_query *q)
{
    q_ast *a = &q->a;
    q->tmin = a->tmin;
    q->tmax = a->tmax;
    if (a->has_tmin && a->has_tmax && q->tmin >= q->tmax && q->tmax != INT64_MAX) {
        q->nb = 0; /* an empty range */
        return STRATA_OK;
    }
    if (q->raw || !a->group_ns) {
        q->width = 0;
        q->b0 = a->has_tmin ? q->tmin : 0;
        q->nb = 1;
        return STRATA_OK;
    }
    q->width = a->group_ns;
    if (!a->has_tmin || !a->has_tmax) { /* bound the grid by the data */
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        for (size_t t = 0; t < q->ntagsets; t++)
            for (size_t f = 0; f < q->nsel_fields; f++) {
                uint32_t sid = q->sid[t * q->nfields + f];
                int64_t l, h;
                int r = sid == CAT_NONE ? 0 : iter_series_bounds(q->db, sid, &l, &h);
                if (r < 0)
                    return -r;
                if (r > 0) {
                    lo = l < lo ? l : lo;
                    hi = h > hi ? h : hi;
                }
            }
        if (lo > hi) {
            q->nb = 0; /* no data at all */
            return STRATA_OK;
        }
        if (!a->has_tmin)
            q->tmin = lo;
        if (!a->has_tmax)
            q->tmax = hi == INT64_MAX ? INT64_MAX : hi + 1;
        if (q->tmin >= q->tmax && q->tmax != INT64_MAX) {
            q->nb = 0;
            return STRATA_OK;
        }
    }
    int64_t w = q->width, off = a->group_offset % w;
    __int128 b0 = t_floor_div128((__int128)q->tmin - off, w) * w + off;
    if (b0 < INT64_MIN) /* its start is no int64 time: the bucket cannot be named */
        return st_err(STRATA_ERROR_INPUT,
                      "GROUP BY time(%lld ns): the first bucket would start before the earliest "
                      "time there is (1677-09-21T00:12:43.145224192Z); start the time range at "
                      "%lld or later",
                      (long long)w, (long long)(b0 + w));
    q->b0 = (int64_t)b0;
    int64_t last = q->tmax == INT64_MAX ? INT64_MAX : q->tmax - 1;
    __int128 nb = ((__int128)last - b0) / w + 1;
    if (nb > QUERY_MAX_BUCKETS)
        return st_err(STRATA_ERROR_INPUT,
                      "GROUP BY time(%lld ns) makes %.0f buckets (limit %u); narrow the time "
                      "range or widen the buckets",
                      (long long)w, (double)nb, QUERY_MAX_BUCKETS);
    size_t cols = q->nex ? q->nex : 1;
    double mib = (double)nb * (double)cols * (double)(sizeof(agg_state) + sizeof(agg_value)) /
                 (1024.0 * 1024.0);
    if (mib > QUERY_MAX_GRID_MIB)
        return st_err(STRATA_ERROR_INPUT,
                      "GROUP BY time(%lld ns) makes %.0f buckets of %zu aggregates: %.0f MiB of "
                      "aggregate state (limit %u MiB); narrow the time range or widen the buckets",
                      (long long)w, (double)nb, cols, mib, QUERY_MAX_GRID_MIB);
    q->nb = (size_t)nb;
    return STRATA_OK;
}

static int plan_columns(strata_query *q)
{
    q->ncols = 1 + q->ngcols + q->nex;
    q->colnames = st_calloc(q->ncols, sizeof *q->colnames);
    /* the row, then scratch for one value per field (raw rows) */
    q->row = st_calloc(q->ncols + q->nfields + 1, sizeof *q->row);
    if (!q->colnames || !q->row)
        return st_err(STRATA_NOMEM, "out of memory planning a query");
    q->colnames[0] = st_strndup("time", 4);
    for (size_t i = 0; i < q->ngcols; i++)
        q->colnames[1 + i] = st_strndup(q->gcols[i], strlen(q->gcols[i]));
    for (size_t i = 0; i < q->nex; i++)
        q->colnames[1 + q->ngcols + i] = expr_name(&q->ex[i]);
    for (size_t i = 0; i < q->ncols; i++)
        if (!q->colnames[i])
            return st_err(STRATA_NOMEM, "out of memory planning a query");
    return STRATA_OK;
}

int query_plan(strata_query *q)
{
    q_ast *a = &q->a;
    size_t naggs = 0;
    for (size_t i = 0; i < a->nexprs; i++)
        naggs += a->exprs[i].agg != AGG_NONE;
    if (naggs && naggs != a->nexprs)
        return st_err(STRATA_ERROR_INPUT,
                      "cannot mix aggregates and raw fields in one SELECT (aggregate every field, "
                      "or none)");
    q->raw = naggs == 0;
    if (q->raw && a->group_ns)
        return st_err(STRATA_ERROR_INPUT, "GROUP BY time() needs aggregates such as mean(x)");

    strata_db *db = q->db;
    pthread_mutex_lock(&db->qindex_mu);
    int rc = STRATA_OK;
    if (!db->qindex && !(db->qindex = qindex_new()))
        rc = st_err(STRATA_NOMEM, "out of memory planning a query");
    if (rc == STRATA_OK)
        rc = qindex_update(db->qindex, db->cat);
    if (rc == STRATA_OK)
        rc = match_tagsets(q, db->qindex);
    if (rc == STRATA_OK)
        rc = expand_exprs(q, db->qindex);
    if (rc == STRATA_OK)
        rc = plan_groups(q, db->qindex);
    pthread_mutex_unlock(&db->qindex_mu);
    if (rc == STRATA_OK)
        rc = plan_fields(q);
    if (rc == STRATA_OK)
        rc = plan_time(q);
    if (rc == STRATA_OK)
        rc = plan_columns(q);
    return rc;
}
