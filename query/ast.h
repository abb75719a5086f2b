/*
 * ast.h — a parsed query (docs/QUERY.md).  Produced by query_parse(),
 * consumed by the planner; owns all its strings (freed by ast_free).
 *
 * Time conditions are folded into one half-open range [tmin, tmax) while
 * parsing; tag conditions and field conditions stay lists (all ANDed).
 */
#ifndef STRATA_QUERY_AST_H
#define STRATA_QUERY_AST_H

#include <regex.h>
#include <stddef.h>
#include <stdint.h>

typedef enum agg_kind {
    AGG_NONE = 0, /* a raw field */
    AGG_COUNT,
    AGG_SUM,
    AGG_MEAN,
    AGG_MIN,
    AGG_MAX,
    AGG_FIRST,
    AGG_LAST,
    AGG_SPREAD,
    AGG_STDDEV,
    AGG_MEDIAN,
    AGG_PERCENTILE,
    AGG_INTEGRAL,
    AGG_RATE,
    AGG_DERIVATIVE,
} agg_kind;

typedef struct q_expr {
    agg_kind agg;
    char *field;     /* NULL with star */
    int star;        /* agg(*) or a bare * */
    double param;    /* percentile: p in [0, 100] */
    int64_t unit_ns; /* integral, rate, derivative: per this unit (default 1 s) */
    char *alias;     /* AS name, or NULL */
} q_expr;

typedef enum tag_op { TAG_EQ, TAG_NE, TAG_RE, TAG_NRE } tag_op;

typedef struct q_tagcond {
    char *key, *value; /* value: the string, or the regex source */
    tag_op op;
    regex_t re; /* compiled for TAG_RE / TAG_NRE */
    int re_ok;
} q_tagcond;

typedef enum cmp_op { CMP_EQ, CMP_NE, CMP_LT, CMP_LE, CMP_GT, CMP_GE } cmp_op;

typedef struct q_fieldcond {
    char *field;
    cmp_op op;
    double value;
} q_fieldcond;

typedef enum fill_kind { FILL_NULL = 0, FILL_NONE, FILL_PREVIOUS, FILL_LINEAR, FILL_VALUE } fill_kind;

typedef struct q_ast {
    int explain;
    q_expr *exprs;
    size_t nexprs;
    char *measurement; /* unescaped */
    q_tagcond *tags;
    size_t ntags;
    q_fieldcond *fconds;
    size_t nfconds;
    int64_t tmin, tmax; /* [tmin, tmax); INT64_MIN / INT64_MAX when open */
    int has_tmin, has_tmax;
    int64_t group_ns, group_offset; /* GROUP BY time(group_ns, offset); 0 = none */
    char **group_tags;
    size_t ngroup_tags;
    int group_all; /* GROUP BY * */
    fill_kind fill;
    double fill_value;
    int desc;
    int64_t limit; /* 0 = none */
} q_ast;

/* Parse text into *out.  0, or -1 with the error recorded (st_err,
 * STRATA_ERROR_PARSE, "line L, column C: ..."). now_ns is the value of
 * now(). */
int query_parse(const char *text, int64_t now_ns, q_ast *out /* OUT */);
void ast_free(q_ast *a);

const char *agg_name(agg_kind k);

#endif
