/*
 * parse.c — the query language's lexer and recursive-descent parser
 * (grammar: docs/QUERY.md).  Every token carries its line and column so
 * that an error names where it is: "line 2, column 14: expected ...".
 *
 * Keywords are case-insensitive; identifiers are letters, digits, '_' and
 * '.', or anything in double quotes; strings are single-quoted with \' and
 * \\ escapes; regexes are /.../ with \/ for a slash (POSIX extended,
 * unanchored); durations are numbers with a unit (1h30m, 10s, 500ms).
 */
#include "query/ast.h"

#include "engine/alloc.h"
#include "engine/err.h"
#include "engine/numtext.h"
#include "engine/timetext.h"
#include "strata.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum tok_kind {
    T_END,
    T_IDENT,  /* bare or "quoted" */
    T_STRING, /* '...' */
    T_NUMBER,
    T_DURATION,
    T_REGEX,
    T_OP, /* = != <> < <= > >= =~ !~ */
    T_PUNCT /* ( ) , * ; + - */
} tok_kind;

typedef struct token {
    tok_kind kind;
    int quoted; /* an identifier in double quotes: never a keyword */
    const char *start;
    size_t len;
    int line, col;
    char *text; /* unescaped (identifiers, strings, regexes) */
    double num;
    int64_t dur;
    char op[3];
} token;

typedef struct parser {
    const char *src;
    const char *p;
    int line;
    const char *line_start;
    token t; /* current token */
    int64_t now;
    int failed;
} parser;

static int fail(parser *ps, const token *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(parser *ps, const token *at, const char *fmt, ...)
{
    if (ps->failed)
        return -1;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    st_err(STRATA_ERROR_PARSE, "line %d, column %d: %s", at->line, at->col, msg);
    ps->failed = 1;
    return -1;
}

static const char *describe(const token *t, char *buf, size_t cap)
{
    if (t->kind == T_END)
        return "the end of the query";
    snprintf(buf, cap, "'%.*s'", (int)(t->len > 40 ? 40 : t->len), t->start);
    return buf;
}

/* ---- lexer ---------------------------------------------------------------------- */

static int64_t unit_ns(const char *u, size_t n)
{
    static const struct {
        const char *u;
        int64_t ns;
    } units[] = {{"ns", 1},           {"us", 1000},          {"µs", 1000},
                 {"ms", 1000000},     {"s", 1000000000LL},   {"m", 60000000000LL},
                 {"h", 3600000000000LL}, {"d", 86400000000000LL}, {"w", 604800000000000LL}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strlen(units[i].u) == n && memcmp(units[i].u, u, n) == 0)
            return units[i].ns;
    return 0;
}

static int next(parser *ps)
{
    token *t = &ps->t;
    st_free(t->text);
    memset(t, 0, sizeof *t);
    for (;;) { /* whitespace and -- comments */
        while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r' || *ps->p == '\n') {
            if (*ps->p == '\n') {
                ps->line++;
                ps->line_start = ps->p + 1;
            }
            ps->p++;
        }
        if (ps->p[0] == '-' && ps->p[1] == '-') {
            while (*ps->p && *ps->p != '\n')
                ps->p++;
            continue;
        }
        break;
    }
    t->start = ps->p;
    t->line = ps->line;
    t->col = (int)(ps->p - ps->line_start) + 1;
    const char *p = ps->p;
    char c = *p;
    if (!c) {
        t->kind = T_END;
        return 0;
    }
    if (isalpha((unsigned char)c) || c == '_') {
        while (isalnum((unsigned char)*p) || *p == '_' || *p == '.')
            p++;
        t->kind = T_IDENT;
        t->text = st_strndup(ps->p, (size_t)(p - ps->p));
    } else if (c == '"' || c == '\'') {
        char q = c;
        size_t cap = strlen(p) + 1, n = 0;
        char *out = st_malloc(cap);
        if (!out)
            return fail(ps, t, "out of memory");
        p++;
        for (;;) {
            if (!*p) {
                st_free(out);
                ps->p = p;
                return fail(ps, t, "unterminated %s", q == '"' ? "identifier" : "string");
            }
            if (*p == '\\' && (p[1] == q || p[1] == '\\')) {
                out[n++] = p[1];
                p += 2;
                continue;
            }
            if (*p == q) {
                p++;
                break;
            }
            out[n++] = *p++;
        }
        out[n] = '\0';
        t->kind = q == '"' ? T_IDENT : T_STRING;
        t->quoted = q == '"';
        t->text = out;
    } else if (c == '/') {
        size_t cap = strlen(p) + 1, n = 0;
        char *out = st_malloc(cap);
        if (!out)
            return fail(ps, t, "out of memory");
        p++;
        for (;;) {
            if (!*p || *p == '\n') {
                st_free(out);
                ps->p = p;
                return fail(ps, t, "unterminated regular expression (it ends with '/')");
            }
            if (*p == '\\' && p[1] == '/') {
                out[n++] = '/';
                p += 2;
                continue;
            }
            if (*p == '/') {
                p++;
                break;
            }
            out[n++] = *p++;
        }
        out[n] = '\0';
        t->kind = T_REGEX;
        t->text = out;
    } else if (isdigit((unsigned char)c) || (c == '.' && isdigit((unsigned char)p[1]))) {
        const char *s = p;
        while (isdigit((unsigned char)*p))
            p++;
        int is_int = 1;
        if (*p == '.') {
            is_int = 0;
            p++;
            while (isdigit((unsigned char)*p))
                p++;
        }
        if ((*p == 'e' || *p == 'E') &&
            (isdigit((unsigned char)p[1]) ||
             ((p[1] == '+' || p[1] == '-') && isdigit((unsigned char)p[2])))) {
            is_int = 0;
            p += 2;
            while (isdigit((unsigned char)*p))
                p++;
        }
        if (is_int && (isalpha((unsigned char)*p) || (unsigned char)*p == 0xc2)) {
            /* a duration: (digits unit)+ */
            int64_t total = 0;
            const char *q = s;
            while (isdigit((unsigned char)*q)) {
                int64_t v = 0;
                while (isdigit((unsigned char)*q)) {
                    if (__builtin_mul_overflow(v, 10, &v) ||
                        __builtin_add_overflow(v, *q - '0', &v)) {
                        ps->p = q;
                        return fail(ps, t, "duration out of range");
                    }
                    q++;
                }
                const char *u = q;
                while (isalpha((unsigned char)*q) || (unsigned char)*q == 0xc2 ||
                       (unsigned char)*q == 0xb5)
                    q++;
                int64_t m = unit_ns(u, (size_t)(q - u));
                if (!m) {
                    ps->p = q;
                    t->len = (size_t)(q - s);
                    return fail(ps, t, "unknown duration unit '%.*s' (use ns, us, ms, s, m, h, "
                                       "d or w)",
                                (int)(q - u), u);
                }
                if (__builtin_mul_overflow(v, m, &v) || __builtin_add_overflow(total, v, &total)) {
                    ps->p = q;
                    return fail(ps, t, "duration out of range");
                }
            }
            p = q;
            t->kind = T_DURATION;
            t->dur = total;
        } else {
            t->kind = T_NUMBER;
            if (num_parse_f64(s, (size_t)(p - s), &t->num) != 0) {
                ps->p = p;
                return fail(ps, t, "bad number");
            }
            int64_t iv;
            if (is_int && num_parse_i64(s, (size_t)(p - s), &iv) == 0)
                t->dur = iv; /* integers keep their exact value too */
            else
                t->dur = INT64_MIN;
        }
    } else {
        static const char *ops[] = {"!=", "<>", "<=", ">=", "=~", "!~", "=", "<", ">"};
        t->kind = T_END;
        for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
            size_t n = strlen(ops[i]);
            if (strncmp(p, ops[i], n) == 0) {
                t->kind = T_OP;
                memcpy(t->op, ops[i], n);
                p += n;
                break;
            }
        }
        if (t->kind == T_END) {
            if (strchr("(),*;+-", c)) {
                t->kind = T_PUNCT;
                t->op[0] = c;
                p++;
            } else {
                ps->p = p + 1;
                t->len = 1;
                return fail(ps, t, "unexpected character '%c'", c);
            }
        }
    }
    if ((t->kind == T_IDENT || t->kind == T_STRING || t->kind == T_REGEX) && !t->text)
        return fail(ps, t, "out of memory");
    t->len = (size_t)(p - ps->p);
    ps->p = p;
    return 0;
}

/* ---- helpers ---------------------------------------------------------------------- */

static int is_kw(const token *t, const char *kw)
{
    return t->kind == T_IDENT && !t->quoted && strcasecmp(t->text, kw) == 0;
}

static int is_punct(const token *t, char c)
{
    return t->kind == T_PUNCT && t->op[0] == c;
}

static int expect_kw(parser *ps, const char *kw)
{
    char b[64];
    if (!is_kw(&ps->t, kw))
        return fail(ps, &ps->t, "expected %s, found %s", kw, describe(&ps->t, b, sizeof b));
    return next(ps);
}

static int expect_punct(parser *ps, char c)
{
    char b[64];
    if (!is_punct(&ps->t, c))
        return fail(ps, &ps->t, "expected '%c', found %s", c, describe(&ps->t, b, sizeof b));
    return next(ps);
}

static const char *const reserved[] = {"select", "from", "where", "and", "or", "group", "by",
                                       "fill", "order", "limit", "as", "asc", "desc", "explain"};

static int is_reserved(const token *t)
{
    if (t->kind != T_IDENT || t->quoted)
        return 0;
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (strcasecmp(t->text, reserved[i]) == 0)
            return 1;
    return 0;
}

/* An identifier (not a reserved word unless quoted); *out owns a copy. */
static int ident(parser *ps, const char *what, char **out)
{
    char b[64];
    if (ps->t.kind != T_IDENT || is_reserved(&ps->t))
        return fail(ps, &ps->t, "expected %s, found %s", what, describe(&ps->t, b, sizeof b));
    *out = st_strndup(ps->t.text, strlen(ps->t.text));
    if (!*out)
        return fail(ps, &ps->t, "out of memory");
    if (next(ps)) { /* the caller owns *out only on success */
        st_free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

static const struct {
    const char *name;
    agg_kind kind;
} aggs[] = {{"count", AGG_COUNT},   {"sum", AGG_SUM},
            {"mean", AGG_MEAN},     {"min", AGG_MIN},
            {"max", AGG_MAX},       {"first", AGG_FIRST},
            {"last", AGG_LAST},     {"spread", AGG_SPREAD},
            {"stddev", AGG_STDDEV}, {"median", AGG_MEDIAN},
            {"percentile", AGG_PERCENTILE}, {"integral", AGG_INTEGRAL},
            {"rate", AGG_RATE},     {"derivative", AGG_DERIVATIVE}};

const char *agg_name(agg_kind k)
{
    for (size_t i = 0; i < sizeof aggs / sizeof aggs[0]; i++)
        if (aggs[i].kind == k)
            return aggs[i].name;
    return "";
}

static int push(void **arr, size_t *n, size_t size)
{
    void *a = st_realloc(*arr, (*n + 1) * size);
    if (!a)
        return -1;
    memset((char *)a + *n * size, 0, size);
    *arr = a;
    (*n)++;
    return 0;
}

/* ---- grammar ------------------------------------------------------------------------ */

/* field_expr := agg '(' (ident | '*') [',' param] ')' | ident | '*', then [AS ident] */
static int field_expr(parser *ps, q_ast *a)
{
    if (push((void **)&a->exprs, &a->nexprs, sizeof *a->exprs))
        return fail(ps, &ps->t, "out of memory");
    q_expr *e = &a->exprs[a->nexprs - 1];
    e->unit_ns = 1000000000LL;
    char b[64];
    if (is_punct(&ps->t, '*')) {
        e->star = 1;
        return next(ps);
    }
    if (ps->t.kind != T_IDENT || is_reserved(&ps->t))
        return fail(ps, &ps->t, "expected a field or an aggregate, found %s",
                    describe(&ps->t, b, sizeof b));
    token name = ps->t;
    name.text = NULL;
    char *word = st_strndup(ps->t.text, strlen(ps->t.text));
    int quoted = ps->t.quoted;
    if (!word || next(ps))
        return st_free(word), -1;
    if (!is_punct(&ps->t, '(') || quoted) {
        if (strcmp(word, "time") == 0 || (!quoted && strcasecmp(word, "time") == 0)) {
            st_free(word);
            return fail(ps, &name, "time is not a field (it cannot be written as one): every "
                                   "row starts with its time; select fields or aggregates");
        }
        e->field = word; /* a raw field */
    } else {
        for (size_t i = 0; i < sizeof aggs / sizeof aggs[0]; i++)
            if (strcasecmp(word, aggs[i].name) == 0)
                e->agg = aggs[i].kind;
        if (e->agg == AGG_NONE) {
            fail(ps, &name, "unknown function '%s' (aggregates: count, sum, mean, min, max, "
                            "first, last, spread, stddev, median, percentile, integral, rate, "
                            "derivative)",
                 word);
            st_free(word);
            return -1;
        }
        st_free(word);
        if (next(ps))
            return -1;
        if (is_punct(&ps->t, '*')) {
            e->star = 1;
            if (next(ps))
                return -1;
        } else if (ps->t.kind == T_IDENT && strcasecmp(ps->t.text, "time") == 0) {
            return fail(ps, &ps->t, "aggregates take a field, not time (the first column "
                                    "of every row is the time of its bucket)");
        } else if (ident(ps, "a field name", &e->field)) {
            return -1;
        }
        if (e->agg == AGG_PERCENTILE) {
            if (expect_punct(ps, ','))
                return -1;
            if (ps->t.kind != T_NUMBER || ps->t.num < 0 || ps->t.num > 100)
                return fail(ps, &ps->t, "percentile needs a number from 0 to 100, found %s",
                            describe(&ps->t, b, sizeof b));
            e->param = ps->t.num;
            if (next(ps))
                return -1;
        } else if ((e->agg == AGG_INTEGRAL || e->agg == AGG_RATE || e->agg == AGG_DERIVATIVE) &&
                   is_punct(&ps->t, ',')) {
            if (next(ps))
                return -1;
            if (ps->t.kind != T_DURATION || ps->t.dur <= 0)
                return fail(ps, &ps->t, "expected a unit duration such as 1s or 1h, found %s",
                            describe(&ps->t, b, sizeof b));
            e->unit_ns = ps->t.dur;
            if (next(ps))
                return -1;
        }
        if (expect_punct(ps, ')'))
            return -1;
    }
    if (is_kw(&ps->t, "as")) {
        if (next(ps) || ident(ps, "a column name after AS", &e->alias))
            return -1;
    }
    return 0;
}

/* time_expr := (string | integer | now()) (('+'|'-') duration)* */
static int time_expr(parser *ps, int64_t *out)
{
    char b[64];
    token at = ps->t;
    at.text = NULL;
    int64_t v = 0;
    if (ps->t.kind == T_STRING) {
        if (time_parse(ps->t.text, strlen(ps->t.text), &v) != 0)
            return fail(ps, &at, "'%s' is not a time (RFC 3339, e.g. 2024-01-01T00:00:00Z)",
                        ps->t.text);
    } else if (ps->t.kind == T_NUMBER && ps->t.dur != INT64_MIN) {
        v = ps->t.dur;
    } else if (is_kw(&ps->t, "now")) {
        if (next(ps) || expect_punct(ps, '('))
            return -1;
        if (!is_punct(&ps->t, ')'))
            return fail(ps, &ps->t, "expected ')' after now(");
        v = ps->now;
    } else {
        return fail(ps, &ps->t, "expected a time ('2024-01-01T00:00:00Z', integer ns or now()), "
                                "found %s",
                    describe(&ps->t, b, sizeof b));
    }
    if (next(ps))
        return -1;
    while (is_punct(&ps->t, '+') || is_punct(&ps->t, '-')) {
        int minus = is_punct(&ps->t, '-');
        if (next(ps))
            return -1;
        if (ps->t.kind != T_DURATION)
            return fail(ps, &ps->t, "expected a duration such as 7d, found %s",
                        describe(&ps->t, b, sizeof b));
        if (minus ? __builtin_sub_overflow(v, ps->t.dur, &v)
                  : __builtin_add_overflow(v, ps->t.dur, &v))
            return fail(ps, &ps->t, "time out of range");
        if (next(ps))
            return -1;
    }
    *out = v;
    return 0;
}

static int cmp_of(const char *op, cmp_op *out)
{
    static const struct {
        const char *s;
        cmp_op op;
    } m[] = {{"=", CMP_EQ}, {"!=", CMP_NE}, {"<>", CMP_NE}, {"<", CMP_LT},
             {"<=", CMP_LE}, {">", CMP_GT}, {">=", CMP_GE}};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (!strcmp(op, m[i].s)) {
            *out = m[i].op;
            return 0;
        }
    return -1;
}

/* term := TIME cmp time_expr | ident ('='|'!=') string | ident ('=~'|'!~') regex
 *       | ident cmp number */
static int term(parser *ps, q_ast *a)
{
    char b[64];
    if (is_punct(&ps->t, '('))
        return fail(ps, &ps->t, "parentheses in WHERE are not supported; join conditions with "
                                "AND");
    if (is_kw(&ps->t, "time")) {
        token at = ps->t;
        at.text = NULL;
        if (next(ps))
            return -1;
        cmp_op op;
        if (ps->t.kind != T_OP || cmp_of(ps->t.op, &op))
            return fail(ps, &ps->t, "expected a comparison after time, found %s",
                        describe(&ps->t, b, sizeof b));
        if (op == CMP_NE)
            return fail(ps, &ps->t, "time != is not supported");
        if (next(ps))
            return -1;
        int64_t v = 0;
        if (time_expr(ps, &v))
            return -1;
        int64_t lo = INT64_MIN, hi = INT64_MAX; /* [lo, hi) */
        switch (op) {
        case CMP_EQ: lo = v, hi = v == INT64_MAX ? v : v + 1; break;
        case CMP_GT: lo = v == INT64_MAX ? v : v + 1; break;
        case CMP_GE: lo = v; break;
        case CMP_LT: hi = v; break;
        case CMP_LE: hi = v == INT64_MAX ? v : v + 1; break;
        default: break;
        }
        if (lo != INT64_MIN) {
            a->has_tmin = 1;
            if (lo > a->tmin)
                a->tmin = lo;
        }
        if (hi != INT64_MAX || op == CMP_LE || op == CMP_EQ) {
            a->has_tmax = 1;
            if (hi < a->tmax)
                a->tmax = hi;
        }
        (void)at;
        return 0;
    }
    char *name;
    token at = ps->t;
    at.text = NULL;
    if (ident(ps, "a tag, a field or time", &name))
        return -1;
    if (ps->t.kind != T_OP) {
        st_free(name);
        return fail(ps, &ps->t, "expected a comparison after '%.*s', found %s", (int)at.len,
                    at.start, describe(&ps->t, b, sizeof b));
    }
    char op[3];
    memcpy(op, ps->t.op, sizeof op);
    token optok = ps->t;
    optok.text = NULL;
    if (next(ps)) {
        st_free(name);
        return -1;
    }
    if (!strcmp(op, "=~") || !strcmp(op, "!~")) {
        if (ps->t.kind != T_REGEX) {
            st_free(name);
            return fail(ps, &ps->t, "expected a regular expression /.../ after %s, found %s", op,
                        describe(&ps->t, b, sizeof b));
        }
        if (push((void **)&a->tags, &a->ntags, sizeof *a->tags)) {
            st_free(name);
            return fail(ps, &ps->t, "out of memory");
        }
        q_tagcond *c = &a->tags[a->ntags - 1];
        c->key = name;
        c->op = op[0] == '=' ? TAG_RE : TAG_NRE;
        c->value = st_strndup(ps->t.text, strlen(ps->t.text));
        int e = regcomp(&c->re, ps->t.text, REG_EXTENDED | REG_NOSUB);
        if (e) {
            char eb[160];
            regerror(e, &c->re, eb, sizeof eb);
            return fail(ps, &ps->t, "bad regular expression: %s", eb);
        }
        c->re_ok = 1;
        return next(ps);
    }
    cmp_op cop = CMP_EQ;
    cmp_of(op, &cop); /* every T_OP other than =~ and !~ is a comparison */
    if (ps->t.kind == T_STRING) {
        if (cop != CMP_EQ && cop != CMP_NE) {
            st_free(name);
            return fail(ps, &optok, "tags compare with = or != only");
        }
        if (push((void **)&a->tags, &a->ntags, sizeof *a->tags)) {
            st_free(name);
            return fail(ps, &ps->t, "out of memory");
        }
        q_tagcond *c = &a->tags[a->ntags - 1];
        c->key = name;
        c->op = cop == CMP_EQ ? TAG_EQ : TAG_NE;
        c->value = st_strndup(ps->t.text, strlen(ps->t.text));
        return next(ps);
    }
    int neg = 0;
    if (is_punct(&ps->t, '-')) {
        neg = 1;
        if (next(ps)) {
            st_free(name);
            return -1;
        }
    }
    if (ps->t.kind != T_NUMBER) {
        st_free(name);
        return fail(ps, &ps->t, "expected a 'string' (tag) or a number (field), found %s",
                    describe(&ps->t, b, sizeof b));
    }
    if (push((void **)&a->fconds, &a->nfconds, sizeof *a->fconds)) {
        st_free(name);
        return fail(ps, &ps->t, "out of memory");
    }
    q_fieldcond *f = &a->fconds[a->nfconds - 1];
    f->field = name;
    f->op = cop;
    f->value = neg ? -ps->t.num : ps->t.num;
    return next(ps);
}

static int group_by(parser *ps, q_ast *a)
{
    char b[64];
    if (is_punct(&ps->t, '*')) {
        a->group_all = 1;
        return next(ps);
    }
    for (;;) {
        if (is_kw(&ps->t, "time")) {
            token at = ps->t;
            at.text = NULL;
            if (next(ps) || expect_punct(ps, '('))
                return -1;
            if (a->group_ns)
                return fail(ps, &at, "GROUP BY time() given twice");
            if (ps->t.kind != T_DURATION || ps->t.dur <= 0)
                return fail(ps, &ps->t, "expected a bucket width such as 1h, found %s",
                            describe(&ps->t, b, sizeof b));
            a->group_ns = ps->t.dur;
            if (next(ps))
                return -1;
            if (is_punct(&ps->t, ',')) {
                if (next(ps))
                    return -1;
                int neg = 0;
                if (is_punct(&ps->t, '-')) {
                    neg = 1;
                    if (next(ps))
                        return -1;
                }
                if (ps->t.kind != T_DURATION)
                    return fail(ps, &ps->t, "expected an offset duration, found %s",
                                describe(&ps->t, b, sizeof b));
                a->group_offset = neg ? -ps->t.dur : ps->t.dur;
                if (next(ps))
                    return -1;
            }
            if (expect_punct(ps, ')'))
                return -1;
        } else if (is_punct(&ps->t, '*')) {
            a->group_all = 1;
            if (next(ps))
                return -1;
        } else {
            if (push((void **)&a->group_tags, &a->ngroup_tags, sizeof *a->group_tags))
                return fail(ps, &ps->t, "out of memory");
            if (ident(ps, "a tag name or time(...)", &a->group_tags[a->ngroup_tags - 1]))
                return -1;
        }
        if (!is_punct(&ps->t, ','))
            return 0;
        if (next(ps))
            return -1;
    }
}

static int select_stmt(parser *ps, q_ast *a)
{
    char b[64];
    if (is_kw(&ps->t, "explain")) {
        a->explain = 1;
        if (next(ps))
            return -1;
    }
    if (expect_kw(ps, "select"))
        return -1;
    for (;;) {
        if (field_expr(ps, a))
            return -1;
        if (!is_punct(&ps->t, ','))
            break;
        if (next(ps))
            return -1;
    }
    if (expect_kw(ps, "from") || ident(ps, "a measurement name", &a->measurement))
        return -1;
    if (is_kw(&ps->t, "where")) {
        if (next(ps))
            return -1;
        for (;;) {
            if (term(ps, a))
                return -1;
            if (is_kw(&ps->t, "or"))
                return fail(ps, &ps->t, "OR is not supported; join conditions with AND (use a "
                                        "regular expression for alternatives: tag =~ /a|b/)");
            if (!is_kw(&ps->t, "and"))
                break;
            if (next(ps))
                return -1;
        }
    }
    if (is_kw(&ps->t, "group")) {
        if (next(ps) || expect_kw(ps, "by") || group_by(ps, a))
            return -1;
    }
    if (is_kw(&ps->t, "fill")) {
        if (next(ps) || expect_punct(ps, '('))
            return -1;
        if (is_kw(&ps->t, "none"))
            a->fill = FILL_NONE;
        else if (is_kw(&ps->t, "null"))
            a->fill = FILL_NULL;
        else if (is_kw(&ps->t, "previous"))
            a->fill = FILL_PREVIOUS;
        else if (is_kw(&ps->t, "linear"))
            a->fill = FILL_LINEAR;
        else if (ps->t.kind == T_NUMBER || is_punct(&ps->t, '-')) {
            int neg = is_punct(&ps->t, '-');
            if (neg && next(ps))
                return -1;
            if (ps->t.kind != T_NUMBER)
                return fail(ps, &ps->t, "expected a number, found %s",
                            describe(&ps->t, b, sizeof b));
            a->fill = FILL_VALUE;
            a->fill_value = neg ? -ps->t.num : ps->t.num;
        } else {
            return fail(ps, &ps->t, "FILL takes none, null, previous, linear or a number, found "
                                    "%s",
                        describe(&ps->t, b, sizeof b));
        }
        if (next(ps) || expect_punct(ps, ')'))
            return -1;
    }
    if (is_kw(&ps->t, "order")) {
        if (next(ps) || expect_kw(ps, "by") || expect_kw(ps, "time"))
            return -1;
        if (is_kw(&ps->t, "desc")) {
            a->desc = 1;
            if (next(ps))
                return -1;
        } else if (is_kw(&ps->t, "asc")) {
            if (next(ps))
                return -1;
        }
    }
    if (is_kw(&ps->t, "limit")) {
        if (next(ps))
            return -1;
        if (ps->t.kind != T_NUMBER || ps->t.dur == INT64_MIN || ps->t.dur < 1)
            return fail(ps, &ps->t, "LIMIT takes a positive integer, found %s",
                        describe(&ps->t, b, sizeof b));
        a->limit = ps->t.dur;
        if (next(ps))
            return -1;
    }
    if (is_punct(&ps->t, ';') && next(ps))
        return -1;
    if (ps->t.kind != T_END)
        return fail(ps, &ps->t, "unexpected %s after the query", describe(&ps->t, b, sizeof b));
    return 0;
}

int query_parse(const char *text, int64_t now_ns, q_ast *out)
{
    memset(out, 0, sizeof *out);
    out->tmin = INT64_MIN;
    out->tmax = INT64_MAX;
    parser ps = {0};
    ps.src = ps.p = ps.line_start = text;
    ps.line = 1;
    ps.now = now_ns;
    int rc = next(&ps);
    if (rc == 0)
        rc = select_stmt(&ps, out);
    st_free(ps.t.text);
    if (rc != 0 || ps.failed) {
        ast_free(out);
        return -1;
    }
    return 0;
}

void ast_free(q_ast *a)
{
    for (size_t i = 0; i < a->nexprs; i++) {
        st_free(a->exprs[i].field);
        st_free(a->exprs[i].alias);
    }
    st_free(a->exprs);
    st_free(a->measurement);
    for (size_t i = 0; i < a->ntags; i++) {
        st_free(a->tags[i].key);
        st_free(a->tags[i].value);
        if (a->tags[i].re_ok)
            regfree(&a->tags[i].re);
    }
    st_free(a->tags);
    for (size_t i = 0; i < a->nfconds; i++)
        st_free(a->fconds[i].field);
    st_free(a->fconds);
    for (size_t i = 0; i < a->ngroup_tags; i++)
        st_free(a->group_tags[i]);
    st_free(a->group_tags);
    memset(a, 0, sizeof *a);
}
