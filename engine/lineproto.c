/*
 * lineproto.c — the line-protocol parser and escaper (rules in
 * lineproto.h).
 *
 * This is the ingest hot path, so the parser makes one left-to-right pass
 * in which names and values are scanned 16 bytes at a time (SSE2; or 8
 * with 64-bit SWAR arithmetic) for the only bytes of interest (space,
 * comma, equals sign, backslash); a 256-entry class table then says what
 * the found byte means.  Escapes are noted but not undone
 * (spans keep pointing into the line; lp_unescape runs later, only for spans marked escaped), and
 * numbers go straight to numtext.  Checks for NUL and stray carriage
 * returns use memchr over the whole line once.
 *
 * Duplicate tag keys are found by comparing raw spans: unescaping is
 * injective on valid keys (every output byte comes from exactly one input
 * form), so equal raw text means equal keys and vice versa.
 *
 * Known series text (lp_series_prefix, lp_parse_known): a batch that has
 * seen a line's measurement and tags, byte for byte, skips their parsing;
 * one SSE2 pass finds where they end and rules out escapes before that
 * and NUL or carriage return anywhere, and the shared tail parser
 * (parse_tail) reads the fields and the timestamp as lp_parse does.
 */
#include "engine/lineproto.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "engine/numtext.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

enum { C_SP = 1, C_COMMA = 2, C_EQ = 4, C_BS = 8 };

static const uint8_t cls[256] = {[' '] = C_SP, [','] = C_COMMA, ['='] = C_EQ, ['\\'] = C_BS};

#define ESC_MEAS (C_SP | C_COMMA)
#define ESC_KEY (C_SP | C_COMMA | C_EQ)
#define SHOW 48 /* bytes of offending text quoted in a message */

static int fail(strata_lp_error *err, const char *line, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(strata_lp_error *err, const char *line, const char *at, const char *fmt, ...)
{
    if (err) {
        err->column = (uint32_t)(at - line) + 1;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return -1;
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* High bit set in each byte of v equal to c.  Bytes above a true match may
 * be flagged falsely (borrows), but the lowest flag is always exact. */
static inline uint64_t bytes_eq(uint64_t v, uint8_t c)
{
    uint64_t x = v ^ (ONES * c);
    return (x - ONES) & ~x & HIGHS;
}

/* The first byte in [p, end) that is a space, comma, equals sign or
 * backslash, or end: sixteen bytes at a time with SSE2 (baseline on
 * x86-64), eight with plain 64-bit arithmetic, then one at a time. */
static inline __attribute__((always_inline)) const char *next_special(const char *p,
                                                                      const char *end)
{
#ifdef __SSE2__
    const __m128i sp = _mm_set1_epi8(' '), comma = _mm_set1_epi8(','), eq = _mm_set1_epi8('='),
                  bs = _mm_set1_epi8('\\');
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, sp), _mm_cmpeq_epi8(v, comma)),
                                 _mm_or_si128(_mm_cmpeq_epi8(v, eq), _mm_cmpeq_epi8(v, bs)));
        unsigned bits = (unsigned)_mm_movemask_epi8(m);
        if (bits)
            return p + __builtin_ctz(bits);
        p += 16;
    }
#endif
    while (end - p >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        uint64_t m = bytes_eq(v, ' ') | bytes_eq(v, ',') | bytes_eq(v, '=') | bytes_eq(v, '\\');
        if (m) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
            return p + (__builtin_clzll(m) >> 3);
#else
            return p + (__builtin_ctzll(m) >> 3);
#endif
        }
        p += 8;
    }
    while (p < end && !cls[(uint8_t)*p])
        p++;
    return p;
}

/* Advance from p to the first unescaped byte whose class is in `stop`, or
 * to end.  A backslash followed by a byte whose class is in `esc` is an
 * escape pair (noted in *escaped); any other backslash is data. */
static inline __attribute__((always_inline)) const char *
scan(const char *p, const char *end, unsigned stop, unsigned esc, int *escaped)
{
    for (;;) {
        p = next_special(p, end);
        if (p == end)
            return p;
        unsigned c = cls[(uint8_t)*p];
        if (c & stop)
            return p;
        if ((c & C_BS) && p + 1 < end && (cls[(uint8_t)p[1]] & esc)) {
            *escaped = 1;
            p += 2;
        } else {
            p++;
        }
    }
}

static inline lp_span span(const char *a, const char *b, int escaped, uint8_t kind)
{
    lp_span s = {a, (uint32_t)(b - a), (uint8_t)(escaped ? kind : 0)};
    return s;
}

static inline int is_time(lp_span s)
{
    static const char t[4] = {'t', 'i', 'm', 'e'};
    uint32_t a, b;
    if (s.len != 4)
        return 0;
    memcpy(&a, s.p, 4);
    memcpy(&b, t, 4);
    return a == b && !s.escaped;
}

static int is_bool(const char *p, size_t n, int *b)
{
    switch (n) {
    case 1:
        if (*p == 't' || *p == 'T' || *p == 'f' || *p == 'F') {
            *b = (*p | 0x20) == 't';
            return 1;
        }
        return 0;
    case 4: *b = 1; return !memcmp(p, "true", 4) || !memcmp(p, "True", 4) || !memcmp(p, "TRUE", 4);
    case 5:
        *b = 0;
        return !memcmp(p, "false", 5) || !memcmp(p, "False", 5) || !memcmp(p, "FALSE", 5);
    default: return 0;
    }
}

/* Parse the field value v[0..n) (n > 0) into f. */
static int parse_value(const char *line, const char *v, size_t n, lp_field *f, strata_lp_error *err)
{
    int show = n > SHOW ? SHOW : (int)n;
    const char *more = n > SHOW ? "..." : "";
    char c = v[0];
    if (c == '"')
        return fail(err, line, v, "string fields are not supported (field '%.*s')",
                    (int)f->name.len > SHOW ? SHOW : (int)f->name.len, f->name.p);
    if (c == 't' || c == 'T' || c == 'f' || c == 'F') {
        if (!is_bool(v, n, &f->v.b))
            return fail(err, line, v,
                        "invalid boolean '%.*s%s': expected t, T, true, True, TRUE, f, F, false, "
                        "False or FALSE",
                        show, v, more);
        f->type = STRATA_BOOL;
        return 0;
    }
    char last = v[n - 1];
    if (last == 'i' && n > 1) {
        int rc = num_parse_i64(v, n - 1, &f->v.i64);
        if (rc == -2)
            return fail(err, line, v, "integer '%.*s%s' is out of range for int64", show, v, more);
        if (rc)
            return fail(err, line, v,
                        "invalid integer '%.*s%s': expected [-]digits followed by 'i'", show, v,
                        more);
        f->type = STRATA_I64;
        return 0;
    }
    if (last == 'u' && n > 1) {
        int64_t ignored;
        if (num_parse_i64(v, n - 1, &ignored) != -1)
            return fail(err, line, v, "unsigned integer fields are not supported ('%.*s%s')", show,
                        v, more);
    }
    int rc = num_parse_f64(v, n, &f->v.f64);
    if (rc == -2)
        return fail(err, line, v, "number '%.*s%s' is out of range for float64", show, v, more);
    if (rc)
        return fail(err, line, v,
                    "invalid field value '%.*s%s': expected a number, an integer with an 'i' "
                    "suffix, or a boolean",
                    show, v, more);
    f->type = STRATA_F64;
    return 0;
}

static const int64_t prec_mul[4] = {1, 1000, 1000000, 1000000000};

/* Trim the line's end as lp_parse does. */
static const char *trimmed_end(const char *line, size_t len)
{
    const char *end = line + len;
    if (end > line && end[-1] == '\r')
        end--;
    while (end > line && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    return end;
}

/* What a key is called in parse_key's messages. */
typedef struct key_kind {
    const char *empty;    /* nothing before its '=' */
    const char *expected; /* nothing at all */
    const char *noun;     /* "<noun> 'k' has no value" */
    const char *reserved; /* "'time' is reserved and cannot be <reserved>" */
} key_kind;

static const key_kind TAG_KEY = {"empty tag key before '='", "expected a tag key=value after ','",
                                 "tag key", "a tag key"};
static const key_kind FIELD_NAME = {"empty field name before '='", "expected a field=value here",
                                    "field", "a field name"};

/* The key at *pp (a tag key or a field name, escapes allowed) up to its
 * '=', which must follow it: 0 with *name set and *pp at the '=', or
 * fail()'s -1 with the message for this kind of key. */
static inline __attribute__((always_inline)) int parse_key(const char *line, const char **pp,
                                                           const char *end, const key_kind *kind,
                                                           lp_span *name, strata_lp_error *err)
{
    const char *k0 = *pp;
    int esc = 0;
    const char *p = scan(k0, end, C_SP | C_COMMA | C_EQ, ESC_KEY, &esc);
    if (p == k0)
        return fail(err, line, p, "%s", p < end && *p == '=' ? kind->empty : kind->expected);
    *name = span(k0, p, esc, LP_ESC_KEY);
    if (p == end || *p != '=')
        return fail(err, line, p, "%s '%.*s' has no value: expected '=' after it", kind->noun,
                    name->len > SHOW ? SHOW : (int)name->len, name->p);
    if (is_time(*name))
        return fail(err, line, k0, "'time' is reserved and cannot be %s", kind->reserved);
    *pp = p;
    return 0;
}

/* Fields and timestamp: p is at the space after the series, end where the
 * trimmed line ends. */
static int parse_tail(const char *line, const char *end, const char *p, strata_precision prec,
                      lp_line *out, strata_lp_error *err)
{
    /* Fields: *p is the space after the series. */
    while (p < end && *p == ' ')
        p++;
    for (;;) {
        const char *k0 = p;
        lp_span name;
        if (parse_key(line, &p, end, &FIELD_NAME, &name, err))
            return -1;
        int nshow = name.len > SHOW ? SHOW : (int)name.len;
        uint32_t nf = out->nfields;
        if (nf == LP_MAX_FIELDS)
            return fail(err, line, k0, "too many fields (at most %d)", LP_MAX_FIELDS);
        const char *v0 = ++p;
        int ignored = 0;
        p = scan(p, end, C_SP | C_COMMA, 0, &ignored);
        lp_field *f = &out->field[nf];
        f->name = name;
        f->col = (uint32_t)(k0 - line) + 1;
        if (p == v0)
            return fail(err, line, p, "missing value for field '%.*s'", nshow, name.p);
        if (parse_value(line, v0, (size_t)(p - v0), f, err))
            return -1;
        out->nfields = nf + 1;
        if (p == end || *p == ' ')
            break;
        p++; /* ',' */
    }

    /* Timestamp: the rest of the line (trailing blanks are trimmed). */
    if (p == end)
        return 0;
    while (p < end && *p == ' ')
        p++;
    const char *t0 = p;
    size_t tn = (size_t)(end - t0);
    int64_t ts;
    int rc = num_parse_i64(t0, tn, &ts);
    if (rc == -1) {
        const char *sp = memchr(t0, ' ', tn);
        if (sp) {
            tn = (size_t)(sp - t0);
            rc = num_parse_i64(t0, tn, &ts);
            while (*sp == ' ')
                sp++;
            if (rc == 0)
                return fail(err, line, sp, "unexpected text after the timestamp");
        }
    }
    int tshow = tn > SHOW ? SHOW : (int)tn;
    if (rc == -1)
        return fail(err, line, t0, "invalid timestamp '%.*s': expected an integer", tshow, t0);
    if (rc == -2 || __builtin_mul_overflow(ts, prec_mul[prec], &out->ts))
        return fail(err, line, t0, "timestamp '%.*s' is out of range (int64 nanoseconds)", tshow,
                    t0);
    out->has_ts = 1;
    out->ts_col = (uint32_t)(t0 - line) + 1;
    return 0;
}

int lp_parse(const char *line, size_t len, strata_precision prec, lp_line *out,
             strata_lp_error *err)
{
    out->blank = 0;
    out->ntags = 0;
    out->nfields = 0;
    out->has_ts = 0;
    if ((unsigned)prec > STRATA_PRECISION_S)
        return fail(err, line, line, "invalid precision %d", (int)prec);
    if (len >= UINT32_MAX)
        return fail(err, line, line, "line too long (%zu bytes; the limit is 4 GiB)", len);

    const char *end = trimmed_end(line, len);
    const char *p = line;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    if (p == end || *p == '#') {
        out->blank = 1;
        return 0;
    }
    const char *bad = memchr(p, '\0', (size_t)(end - p));
    const char *cr = memchr(p, '\r', (size_t)(bad ? bad - p : end - p));
    if (cr)
        return fail(err, line, cr, "carriage return inside the line");
    if (bad)
        return fail(err, line, bad, "NUL byte inside the line");

    /* Measurement. */
    const char *s0 = p;
    int esc = 0;
    p = scan(p, end, C_SP | C_COMMA, ESC_MEAS, &esc);
    if (p == s0)
        return fail(err, line, p, "missing measurement name before ','");
    out->measurement = span(s0, p, esc, LP_ESC_MEASUREMENT);

    /* Tags. */
    while (p < end && *p == ',') {
        const char *k0 = ++p;
        lp_span key;
        if (parse_key(line, &p, end, &TAG_KEY, &key, err))
            return -1;
        int kshow = key.len > SHOW ? SHOW : (int)key.len;
        uint32_t nt = out->ntags;
        for (uint32_t i = 0; i < nt; i++)
            if (out->tag_key[i].len == key.len && memcmp(out->tag_key[i].p, key.p, key.len) == 0)
                return fail(err, line, k0, "duplicate tag key '%.*s'", kshow, key.p);
        if (nt == LP_MAX_TAGS)
            return fail(err, line, k0, "too many tags (at most %d)", LP_MAX_TAGS);
        const char *v0 = ++p;
        esc = 0;
        p = scan(p, end, C_SP | C_COMMA | C_EQ, ESC_KEY, &esc);
        if (p == v0)
            return fail(err, line, p, "empty value for tag key '%.*s'", kshow, key.p);
        if (p < end && *p == '=')
            return fail(err, line, p, "unescaped '=' in the value of tag key '%.*s' (write '\\=')",
                        kshow, key.p);
        out->tag_key[nt] = key;
        out->tag_val[nt] = span(v0, p, esc, LP_ESC_KEY);
        out->ntags = nt + 1;
    }
    out->series_raw = span(s0, p, 0, 0);
    if (p == end)
        return fail(err, line, p, "missing fields: expected ' field=value' after '%.*s'",
                    (int)(p - s0) > SHOW ? SHOW : (int)(p - s0), s0);

    return parse_tail(line, end, p, prec, out, err);
}

size_t lp_series_prefix(const char *line, size_t len)
{
    if (len == 0 || len >= UINT32_MAX || line[0] == ' ' || line[0] == '\t' || line[0] == '#')
        return 0;
    const char *end = trimmed_end(line, len), *p = line, *sp = NULL;
    /* one pass: the first space, no backslash before it, no NUL or CR at all */
#ifdef __SSE2__
    const __m128i vsp = _mm_set1_epi8(' '), vbs = _mm_set1_epi8('\\'), vcr = _mm_set1_epi8('\r'),
                  vz = _mm_setzero_si128();
    for (; end - p >= 16; p += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        if (_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, vz), _mm_cmpeq_epi8(v, vcr))))
            return 0;
        if (sp)
            continue;
        unsigned ms = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, vsp));
        unsigned mb = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, vbs));
        if (ms) {
            unsigned first = (unsigned)__builtin_ctz(ms);
            if (mb & ((1u << first) - 1))
                return 0;
            sp = p + first;
        } else if (mb) {
            return 0;
        }
    }
#endif
    for (; p < end; p++) {
        if (*p == '\0' || *p == '\r' || (!sp && *p == '\\'))
            return 0;
        if (!sp && *p == ' ')
            sp = p;
    }
    return sp ? (size_t)(sp - line) : 0;
}

int lp_parse_known(const char *line, size_t len, size_t at, strata_precision prec, lp_line *out,
                   strata_lp_error *err)
{
    out->blank = 0;
    out->ntags = 0;
    out->nfields = 0;
    out->has_ts = 0;
    if ((unsigned)prec > STRATA_PRECISION_S)
        return fail(err, line, line, "invalid precision %d", (int)prec);
    const char *end = trimmed_end(line, len), *p = line + at;
    out->series_raw = span(line, p, 0, 0);
    return parse_tail(line, end, p, prec, out, err);
}

size_t lp_unescape(lp_span s, char *dst)
{
    if (!s.escaped) {
        memcpy(dst, s.p, s.len);
        return s.len;
    }
    unsigned esc = s.escaped == LP_ESC_MEASUREMENT ? ESC_MEAS : ESC_KEY;
    const char *p = s.p, *end = s.p + s.len;
    char *d = dst;
    while (p < end) {
        if (*p == '\\' && p + 1 < end && (cls[(uint8_t)p[1]] & esc))
            p++;
        *d++ = *p++;
    }
    return (size_t)(d - dst);
}

size_t lp_component_end(const char *key, size_t i, size_t len, char stop)
{
    while (i < len) {
        if (key[i] == '\\' && i + 1 < len && (cls[(uint8_t)key[i + 1]] & ESC_KEY)) {
            i += 2;
            continue;
        }
        if (key[i] == stop)
            return i;
        i++;
    }
    return len;
}

static size_t escape(const char *s, size_t len, char *dst, unsigned esc)
{
    char *d = dst;
    for (size_t i = 0; i < len; i++) {
        if (cls[(uint8_t)s[i]] & esc)
            *d++ = '\\';
        *d++ = s[i];
    }
    return (size_t)(d - dst);
}

size_t lp_escape_measurement(const char *s, size_t len, char *dst)
{
    return escape(s, len, dst, ESC_MEAS);
}

size_t lp_escape_key(const char *s, size_t len, char *dst)
{
    return escape(s, len, dst, ESC_KEY);
}
