/*
 * check_lineproto.c — the line-protocol parser: every feature of a valid
 * line, every error with its column and message, escaping round trips,
 * and a fuzz loop over mutated lines held in exactly-sized heap buffers
 * (so AddressSanitizer catches any read past the end), which also checks
 * that the fast path for a known series text (lp_parse_known) gives the
 * same result as the full parse.
 */
#include "engine/lineproto.h"
#include "tests/testutil.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static lp_line L; /* about 48 KiB: static, not on the stack */
static lp_line K; /* lp_parse_known's result, to compare */

/* Parse s from an exactly-sized heap copy.  The copy is kept until the
 * next call, so spans stay valid. */
static char *held;
static size_t held_len;
static int parse_n(const char *s, size_t n, strata_precision prec, strata_lp_error *err)
{
    free(held);
    held = malloc(n ? n : 1);
    held_len = n;
    memcpy(held, s, n);
    memset(err, 0, sizeof *err);
    return lp_parse(held, n, prec, &L, err);
}

static int parse(const char *s, strata_lp_error *err)
{
    return parse_n(s, strlen(s), STRATA_PRECISION_NS, err);
}

static void ok(const char *s)
{
    strata_lp_error e;
    ck_assert_msg(parse(s, &e) == 0, "'%s': col %u: %s", s, e.column, e.message);
    ck_assert(!L.blank);
}

/* The unescaped text of a span, in a static buffer. */
static const char *text(lp_span s)
{
    static char buf[4][1024];
    static int k;
    char *b = buf[k++ % 4];
    ck_assert_uint_lt(s.len, sizeof buf[0]);
    b[lp_unescape(s, b)] = 0;
    return b;
}

static void check_raw_in_line(lp_span s)
{
    ck_assert(s.p >= held && s.p + s.len <= held + held_len);
}

START_TEST(basic)
{
    ok("readings,name=truck_0,fleet=North latitude=45.24277,status=0i,ok=t 1704110400000000000");
    ck_assert_str_eq(text(L.measurement), "readings");
    ck_assert_uint_eq(L.measurement.escaped, 0);
    ck_assert_uint_eq(L.series_raw.len, strlen("readings,name=truck_0,fleet=North"));
    ck_assert(memcmp(L.series_raw.p, "readings,name=truck_0,fleet=North", L.series_raw.len) == 0);
    ck_assert_uint_eq(L.ntags, 2);
    ck_assert_str_eq(text(L.tag_key[0]), "name");
    ck_assert_str_eq(text(L.tag_val[0]), "truck_0");
    ck_assert_str_eq(text(L.tag_key[1]), "fleet");
    ck_assert_str_eq(text(L.tag_val[1]), "North");
    ck_assert_uint_eq(L.nfields, 3);
    ck_assert_str_eq(text(L.field[0].name), "latitude");
    ck_assert_int_eq(L.field[0].type, STRATA_F64);
    ck_assert(L.field[0].v.f64 == 45.24277);
    ck_assert_uint_eq(L.field[0].col, 35);
    ck_assert_str_eq(text(L.field[1].name), "status");
    ck_assert_int_eq(L.field[1].type, STRATA_I64);
    ck_assert(L.field[1].v.i64 == 0);
    ck_assert_uint_eq(L.field[1].col, 53);
    ck_assert_int_eq(L.field[2].type, STRATA_BOOL);
    ck_assert_int_eq(L.field[2].v.b, 1);
    ck_assert_int_eq(L.has_ts, 1);
    ck_assert(L.ts == 1704110400000000000LL);
    for (uint32_t i = 0; i < L.ntags; i++) {
        check_raw_in_line(L.tag_key[i]);
        check_raw_in_line(L.tag_val[i]);
    }

    ok("m f=1");
    ck_assert_uint_eq(L.ntags, 0);
    ck_assert_int_eq(L.has_ts, 0);
    ck_assert_str_eq(text(L.series_raw), "m");
    ok("m f=1,f=2"); /* repeated field names are kept, in order */
    ck_assert_uint_eq(L.nfields, 2);
    ck_assert(L.field[1].v.f64 == 2);
    ok("m,t=1 f=1 -5"); /* negative timestamps */
    ck_assert(L.ts == -5);
    ok("m,t=1 f=1 +5");
    ck_assert(L.ts == 5);
    ok("m,a\tb=c\td f\tg=1"); /* tabs inside names are data */
    ck_assert_str_eq(text(L.tag_key[0]), "a\tb");
    ck_assert_str_eq(text(L.field[0].name), "f\tg");
    ok("m,time2=x timestamp=1"); /* only "time" itself is reserved */
    ok("time f=1");              /* ...and not as a measurement */
    ok("m,#=x #f=1");
    ck_assert_str_eq(text(L.tag_key[0]), "#");
}
END_TEST

START_TEST(values)
{
    struct {
        const char *v;
        int type;
        double f;
        int64_t i;
    } cases[] = {
        {"1", STRATA_F64, 1, 0},
        {"-1.5e3", STRATA_F64, -1500, 0},
        {".5", STRATA_F64, 0.5, 0},
        {"5.", STRATA_F64, 5, 0},
        {"+3", STRATA_F64, 3, 0},
        {"-0", STRATA_F64, -0.0, 0},
        {"1E-5", STRATA_F64, 1e-5, 0},
        {"Inf", STRATA_F64, INFINITY, 0},
        {"+Inf", STRATA_F64, INFINITY, 0},
        {"-Inf", STRATA_F64, -INFINITY, 0},
        {"inf", STRATA_F64, INFINITY, 0},
        {"5i", STRATA_I64, 0, 5},
        {"-5i", STRATA_I64, 0, -5},
        {"0i", STRATA_I64, 0, 0},
        {"9223372036854775807i", STRATA_I64, 0, INT64_MAX},
        {"-9223372036854775808i", STRATA_I64, 0, INT64_MIN},
        {"t", STRATA_BOOL, 0, 1},
        {"T", STRATA_BOOL, 0, 1},
        {"true", STRATA_BOOL, 0, 1},
        {"True", STRATA_BOOL, 0, 1},
        {"TRUE", STRATA_BOOL, 0, 1},
        {"f", STRATA_BOOL, 0, 0},
        {"F", STRATA_BOOL, 0, 0},
        {"false", STRATA_BOOL, 0, 0},
        {"False", STRATA_BOOL, 0, 0},
        {"FALSE", STRATA_BOOL, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char line[64];
        snprintf(line, sizeof line, "m x=%s,y=2", cases[i].v);
        ok(line);
        ck_assert_uint_eq(L.nfields, 2);
        lp_field *f = &L.field[0];
        ck_assert_msg(f->type == cases[i].type, "'%s': type %d", cases[i].v, f->type);
        if (f->type == STRATA_F64)
            ck_assert_msg(f->v.f64 == cases[i].f && signbit(f->v.f64) == signbit(cases[i].f),
                          "'%s': %g", cases[i].v, f->v.f64);
        else if (f->type == STRATA_I64)
            ck_assert(f->v.i64 == cases[i].i);
        else
            ck_assert_int_eq(f->v.b, (int)cases[i].i);
    }
    ok("m x=NaN");
    ck_assert(isnan(L.field[0].v.f64));
    ok("m x=nan");
    ck_assert(isnan(L.field[0].v.f64));
}
END_TEST

START_TEST(precision)
{
    strata_lp_error e;
    const char *line = "m f=1 1704110400";
    int64_t want[4] = {1704110400LL, 1704110400000LL, 1704110400000000LL, 1704110400000000000LL};
    for (int p = STRATA_PRECISION_NS; p <= STRATA_PRECISION_S; p++) {
        ck_assert_int_eq(parse_n(line, strlen(line), (strata_precision)p, &e), 0);
        ck_assert(L.has_ts && L.ts == want[p]);
    }
    ck_assert_int_eq(parse_n("m f=1 -1", 8, STRATA_PRECISION_MS, &e), 0);
    ck_assert(L.ts == -1000000);
    /* The ends of the range in seconds: 9223372036 s fits, 9223372037 not. */
    ck_assert_int_eq(parse_n("m f=1 9223372036", 16, STRATA_PRECISION_S, &e), 0);
    ck_assert(L.ts == 9223372036000000000LL);
    ck_assert_int_eq(parse_n("m f=1 -9223372036", 17, STRATA_PRECISION_S, &e), 0);
    ck_assert_int_eq(parse_n("m f=1 9223372037", 16, STRATA_PRECISION_S, &e), -1);
    ck_assert_uint_eq(e.column, 7);
    ck_assert_ptr_nonnull(strstr(e.message, "out of range"));
    ck_assert_int_eq(parse_n("m f=1 -9223372037", 17, STRATA_PRECISION_S, &e), -1);
    ck_assert_int_eq(parse_n("m f=1 9223372036854776", 22, STRATA_PRECISION_US, &e), -1);
    ck_assert_int_eq(parse_n("m f=1 9223372036854775", 22, STRATA_PRECISION_US, &e), 0);
}
END_TEST

START_TEST(whitespace_and_comments)
{
    strata_lp_error e;
    const char *blank[] = {
        "",  " ",        "\t \t", "\r", " \r", "# comment", "   # indented comment",
        "#", "#m f=1 5", "\t#x"};
    for (size_t i = 0; i < sizeof blank / sizeof *blank; i++) {
        ck_assert_int_eq(parse(blank[i], &e), 0);
        ck_assert_int_eq(L.blank, 1);
        ck_assert_uint_eq(L.nfields, 0);
    }
    /* A comment may hold anything, NUL and CR included. */
    ck_assert_int_eq(parse_n("# a\0b\rc", 8, STRATA_PRECISION_NS, &e), 0);
    ck_assert_int_eq(L.blank, 1);

    ok("m f=1 5\r"); /* CRLF */
    ck_assert(L.ts == 5);
    ok("m f=1\r");
    ok("m f=1 5 \t \r");
    ck_assert(L.ts == 5);
    ok("  \tm,t=v  f=1   5 \t");
    ck_assert_str_eq(text(L.measurement), "m");
    ck_assert_str_eq(text(L.tag_val[0]), "v");
    ck_assert(L.ts == 5);
    ck_assert_uint_eq(L.field[0].col, 11);
}
END_TEST

START_TEST(escapes)
{
    /* Measurement: "\," and "\ " are escapes; "\=" is a backslash and '='. */
    ok("my\\ meas\\,x\\=y,t=v f=1");
    ck_assert_str_eq(text(L.measurement), "my meas,x\\=y");
    ck_assert_uint_eq(L.measurement.escaped, LP_ESC_MEASUREMENT);
    ck_assert_str_eq(text(L.series_raw), "my\\ meas\\,x\\=y,t=v");
    /* Keys and values: "\,", "\=", "\ ". */
    ok("m,t\\ k\\,\\==v\\ 1\\,\\= f\\ 1\\,\\==2 3");
    ck_assert_str_eq(text(L.tag_key[0]), "t k,=");
    ck_assert_uint_eq(L.tag_key[0].escaped, LP_ESC_KEY);
    ck_assert_str_eq(text(L.tag_val[0]), "v 1,=");
    ck_assert_str_eq(text(L.field[0].name), "f 1,=");
    ck_assert(L.field[0].v.f64 == 2);
    ck_assert(L.ts == 3);
    /* A backslash before anything else is data, and is not an escape. */
    ok("a\\b,t\\x=v\\\\w f\\y=1");
    ck_assert_str_eq(text(L.measurement), "a\\b");
    ck_assert_uint_eq(L.measurement.escaped, 0);
    ck_assert_str_eq(text(L.tag_key[0]), "t\\x");
    ck_assert_str_eq(text(L.tag_val[0]), "v\\\\w");
    ck_assert_uint_eq(L.tag_val[0].escaped, 0);
    ck_assert_str_eq(text(L.field[0].name), "f\\y");
    /* Backslash, backslash, comma: a literal backslash, then an escaped comma. */
    ok("m,t=a\\\\,b f=1");
    ck_assert_uint_eq(L.ntags, 1);
    ck_assert_str_eq(text(L.tag_val[0]), "a\\,b");
    /* An escaped comma in the measurement is not the start of the tags. */
    ok("m\\,t=v f=1");
    ck_assert_str_eq(text(L.measurement), "m,t=v");
    ck_assert_uint_eq(L.ntags, 0);
}
END_TEST

/* Random names over an alphabet of the special bytes, escaped, built into
 * a line and parsed back. */
START_TEST(escape_roundtrip)
{
    static const char alpha[] = "ab ,=\\\t#\"xi";
    uint64_t st = 42;
    strata_lp_error e;
    for (int iter = 0; iter < 20000; iter++) {
        char name[4][32], esc[4][64];
        size_t nl[4], el[4];
        for (int k = 0; k < 4; k++) {
            nl[k] = 1 + tu_rand(&st) % 30;
            for (size_t i = 0; i < nl[k]; i++)
                name[k][i] = alpha[tu_rand(&st) % (sizeof alpha - 1)];
            if (name[k][nl[k] - 1] == '\\')
                name[k][nl[k] - 1] = 'z'; /* no line-protocol form (see lineproto.h) */
            if (k == 0 && name[0][0] == '#')
                name[0][0] = 'y'; /* a comment */
            if (k == 0 && name[0][0] == '\t')
                name[0][0] = 'y'; /* leading blanks are skipped ("\ " is not blank) */
            name[k][nl[k]] = 0;
            el[k] = k == 0 ? lp_escape_measurement(name[k], nl[k], esc[k])
                           : lp_escape_key(name[k], nl[k], esc[k]);
            TU_CHECK(el[k] <= 2 * nl[k], "escape too long");
        }
        if ((nl[1] == 4 && !memcmp(name[1], "time", 4)) ||
            (nl[3] == 4 && !memcmp(name[3], "time", 4)))
            continue;
        char line[512];
        int n = snprintf(line, sizeof line, "%.*s,%.*s=%.*s %.*s=1i", (int)el[0], esc[0],
                         (int)el[1], esc[1], (int)el[2], esc[2], (int)el[3], esc[3]);
        int rc = parse_n(line, (size_t)n, STRATA_PRECISION_NS, &e);
        TU_CHECK(rc == 0, "'%s': col %u: %s", line, e.column, e.message);
        TU_CHECK(L.ntags == 1 && L.nfields == 1, "'%s': counts", line);
        lp_span sp[4] = {L.measurement, L.tag_key[0], L.tag_val[0], L.field[0].name};
        for (int k = 0; k < 4; k++) {
            char out[64];
            size_t ol = lp_unescape(sp[k], out);
            TU_CHECK(ol == nl[k] && memcmp(out, name[k], ol) == 0, "'%s': part %d", line, k);
        }
    }
}
END_TEST

struct err_case {
    const char *line;
    uint32_t column;
    const char *msg;
};

static const struct err_case errors[] = {
    {",t=v f=1", 1, "missing measurement"},
    {"  ,t=v f=1", 3, "missing measurement"},
    {"m,=v f=1", 3, "empty tag key"},
    {"m,,t=v f=1", 3, "expected a tag key"},
    {"m, f=1", 3, "expected a tag key"},
    {"m,", 3, "expected a tag key"},
    {"m,t f=1", 4, "tag key 't' has no value"},
    {"m,t,u=v f=1", 4, "has no value"},
    {"m,t", 4, "has no value"},
    {"m,t= f=1", 5, "empty value for tag key 't'"},
    {"m,t=,u=1 f=1", 5, "empty value"},
    {"m,t=", 5, "empty value"},
    {"m,t=a=b f=1", 6, "unescaped '='"},
    {"m,t=a,t=b f=1", 7, "duplicate tag key 't'"},
    {"m,t\\ x=a,t\\ x=b f=1", 10, "duplicate tag key"},
    {"m,time=a f=1", 3, "'time' is reserved"},
    {"m", 2, "missing fields"},
    {"m,t=a", 6, "missing fields"},
    {"m   ", 2, "missing fields"},
    {"m\\ ", 3, "missing fields"},
    {"m,t=v\\ f=1", 9, "unescaped '='"},
    {"m f=1,g\\=2", 11, "field 'g\\=2' has no value"},
    {"m =1", 3, "empty field name"},
    {"m f", 4, "field 'f' has no value"},
    {"m f 1", 4, "has no value"},
    {"m f,g=1", 4, "has no value"},
    {"m f=", 5, "missing value for field 'f'"},
    {"m f=,g=1", 5, "missing value"},
    {"m f=1,", 7, "expected a field=value"},
    {"m f=1,,g=2", 7, "expected a field=value"},
    {"m f=1, g=2", 7, "expected a field=value"},
    {"m time=1", 3, "'time' is reserved"},
    {"m f=1,time=1i", 7, "'time' is reserved"},
    {"m f=1.2.3", 5, "invalid field value '1.2.3'"},
    {"m f=abc", 5, "invalid field value"},
    {"m f=1x", 5, "invalid field value"},
    {"m f=0x10", 5, "invalid field value"},
    {"m f=i", 5, "invalid field value"},
    {"m f=tru", 5, "invalid boolean 'tru'"},
    {"m f=yes", 5, "invalid field value"},
    {"m f=\"x\"", 5, "string fields are not supported"},
    {"m f=\"a b\" 5", 5, "string fields are not supported"},
    {"m f=1u", 5, "unsigned integer fields are not supported"},
    {"m f=18446744073709551615u", 5, "unsigned integer fields are not supported"},
    {"m f=9223372036854775808i", 5, "out of range for int64"},
    {"m f=1.5i", 5, "invalid integer '1.5i'"},
    {"m f=1e999", 5, "out of range for float64"},
    {"m f=1 12x", 7, "invalid timestamp '12x'"},
    {"m f=1 1.5", 7, "invalid timestamp"},
    {"m f=1 2024-01-01T00:00:00Z", 7, "invalid timestamp"},
    {"m f=1 123 456", 11, "unexpected text after the timestamp"},
    {"m f=1 123\t456", 7, "invalid timestamp"},
    {"m f=1\t123", 5, "invalid field value"},
    {"m\tf=1", 6, "missing fields"},
    {"m f=1 99999999999999999999", 7, "out of range"},
    {"m f=1\r2", 6, "carriage return"},
    {"m,t=a\rb f=1", 6, "carriage return"},
    {"m f=1 5\r\r", 8, "carriage return"},
};

START_TEST(errors_table)
{
    strata_lp_error e;
    for (size_t i = 0; i < sizeof errors / sizeof *errors; i++) {
        const struct err_case *c = &errors[i];
        int rc = parse(c->line, &e);
        ck_assert_msg(rc == -1, "'%s' accepted", c->line);
        ck_assert_msg(e.column == c->column, "'%s': column %u, want %u (%s)", c->line, e.column,
                      c->column, e.message);
        ck_assert_msg(strstr(e.message, c->msg) != NULL, "'%s': message '%s' lacks '%s'", c->line,
                      e.message, c->msg);
    }
    /* A NUL byte inside the line. */
    ck_assert_int_eq(parse_n("m f=1\0 2", 8, STRATA_PRECISION_NS, &e), -1);
    ck_assert_uint_eq(e.column, 6);
    ck_assert_ptr_nonnull(strstr(e.message, "NUL byte"));
    ck_assert_int_eq(parse_n("m\0,t=1 f=1", 10, STRATA_PRECISION_NS, &e), -1);
    ck_assert_uint_eq(e.column, 2);
    /* The earlier of NUL and CR is reported. */
    ck_assert_int_eq(parse_n("m f=1\r\0", 7, STRATA_PRECISION_NS, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.message, "carriage return"));
    ck_assert_int_eq(parse_n("m f=\0\r1", 7, STRATA_PRECISION_NS, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.message, "NUL byte"));
    /* A bad precision is a caller error, reported at column 1. */
    ck_assert_int_eq(parse_n("m f=1", 5, (strata_precision)7, &e), -1);
    ck_assert_uint_eq(e.column, 1);
    /* err may be NULL. */
    ck_assert_int_eq(lp_parse("m", 1, STRATA_PRECISION_NS, &L, NULL), -1);
    /* Long offending text is cut short in the message. */
    char line[400];
    memset(line, '9', sizeof line);
    memcpy(line, "m f=", 4);
    line[sizeof line - 1] = 'x';
    ck_assert_int_eq(parse_n(line, sizeof line, STRATA_PRECISION_NS, &e), -1);
    ck_assert_uint_eq(e.column, 5);
    ck_assert_uint_lt(strlen(e.message), sizeof e.message);
    ck_assert_ptr_nonnull(strstr(e.message, "..."));
}
END_TEST

START_TEST(limits)
{
    strata_lp_error e;
    size_t cap = 64 * (LP_MAX_FIELDS + 2);
    char *line = malloc(cap);
    /* LP_MAX_TAGS tags pass, one more fails at its key. */
    for (int extra = 0; extra <= 1; extra++) {
        size_t n = (size_t)sprintf(line, "m");
        size_t col = 0;
        for (int i = 0; i < LP_MAX_TAGS + extra; i++) {
            if (i == LP_MAX_TAGS)
                col = n + 2;
            n += (size_t)sprintf(line + n, ",t%d=v", i);
        }
        n += (size_t)sprintf(line + n, " f=1");
        int rc = parse_n(line, n, STRATA_PRECISION_NS, &e);
        if (!extra) {
            ck_assert_int_eq(rc, 0);
            ck_assert_uint_eq(L.ntags, LP_MAX_TAGS);
        } else {
            ck_assert_int_eq(rc, -1);
            ck_assert_uint_eq(e.column, col);
            ck_assert_ptr_nonnull(strstr(e.message, "too many tags"));
        }
    }
    for (int extra = 0; extra <= 1; extra++) {
        size_t n = (size_t)sprintf(line, "m ");
        size_t col = 0;
        for (int i = 0; i < LP_MAX_FIELDS + extra; i++) {
            if (i == LP_MAX_FIELDS)
                col = n + 2;
            n += (size_t)sprintf(line + n, "%sf%d=%di", i ? "," : "", i, i);
        }
        int rc = parse_n(line, n, STRATA_PRECISION_NS, &e);
        if (!extra) {
            ck_assert_int_eq(rc, 0);
            ck_assert_uint_eq(L.nfields, LP_MAX_FIELDS);
            ck_assert(L.field[LP_MAX_FIELDS - 1].v.i64 == LP_MAX_FIELDS - 1);
        } else {
            ck_assert_int_eq(rc, -1);
            ck_assert_uint_eq(e.column, col);
            ck_assert_ptr_nonnull(strstr(e.message, "too many fields"));
        }
    }
    free(line);
}
END_TEST

static const char *seeds[] = {
    "readings,name=truck_0,fleet=North,driver=Trish latitude=45.24277,longitude=-91.78158,"
    "elevation=928.7,velocity=0.0 1704110400000000000",
    "diagnostics,name=truck_0 load=4636,fuel_state=0.445,status=0i 1704110400000000000",
    "my\\ m\\,x,t\\ k\\=y=v\\,1 f\\ 1=1i,b=true,c=F,n=NaN,i=-Inf 5\r",
    "  m f=1.5e300,g=-0,h=5. -9223372036854775808",
    "# comment",
    "m,a=b,c=d,e=f x=1,y=2,z=3",
};

static const char mut_bytes[] = " ,=\\\"\t\r\n#.e-+0123456789itfTFuNIa\0";

/* When the full parse accepted the line's series text (it succeeded with
 * that text, or failed after it), the fast path must give the same
 * result: return, error column and message, fields, timestamp. */
static void same_as_known(const char *line, size_t n, strata_precision prec, int rc,
                          const strata_lp_error *e)
{
    size_t at = lp_series_prefix(line, n);
    if (at == 0 || (rc == 0 && (L.blank || L.series_raw.len != at)) ||
        (rc != 0 && e->column <= at + 1))
        return;
    strata_lp_error f;
    memset(&f, 0, sizeof f);
    int rk = lp_parse_known(line, n, at, prec, &K, &f);
    TU_CHECK(rk == rc, "'%.*s': known %d, full %d", (int)n, line, rk, rc);
    if (rc != 0) {
        TU_CHECK(f.column == e->column && strcmp(f.message, e->message) == 0,
                 "'%.*s': known col %u '%s', full col %u '%s'", (int)n, line, f.column, f.message,
                 e->column, e->message);
        return;
    }
    TU_CHECK(K.nfields == L.nfields && K.has_ts == L.has_ts &&
                 (!L.has_ts || (K.ts == L.ts && K.ts_col == L.ts_col)),
             "'%.*s': fields or time differ", (int)n, line);
    TU_CHECK(K.series_raw.p == L.series_raw.p && K.series_raw.len == L.series_raw.len,
             "'%.*s': series text", (int)n, line);
    for (uint32_t i = 0; i < L.nfields; i++) {
        const lp_field *a = &L.field[i], *b = &K.field[i];
        TU_CHECK(a->type == b->type && a->col == b->col && a->name.p == b->name.p &&
                     a->name.len == b->name.len && a->name.escaped == b->name.escaped &&
                     (a->type == STRATA_BOOL ? a->v.b == b->v.b : a->v.i64 == b->v.i64),
                 "'%.*s': field %u differs", (int)n, line, i);
    }
}

/* Random edits of valid lines: the parser must return 0 or -1 without
 * crashing or reading outside the (exactly allocated) line, and its
 * result must be self-consistent. */
START_TEST(fuzz)
{
    uint64_t st = 0x5eed;
    strata_lp_error e;
    char work[512];
    for (int iter = 0; iter < 300000; iter++) {
        const char *seed = seeds[tu_rand(&st) % (sizeof seeds / sizeof *seeds)];
        size_t n = strlen(seed);
        memcpy(work, seed, n);
        int edits = 1 + (int)(tu_rand(&st) % 4);
        for (int k = 0; k < edits; k++) {
            uint64_t r = tu_rand(&st);
            size_t at = n ? (size_t)(r >> 8) % n : 0;
            char b = (r & 64) ? (char)(tu_rand(&st) & 0xff)
                              : mut_bytes[tu_rand(&st) % (sizeof mut_bytes - 1)];
            switch (r % 5) {
            case 0: /* replace */
                if (n)
                    work[at] = b;
                break;
            case 1: /* insert */
                if (n + 1 < sizeof work) {
                    memmove(work + at + 1, work + at, n - at);
                    work[at] = b;
                    n++;
                }
                break;
            case 2: /* delete */
                if (n) {
                    memmove(work + at, work + at + 1, n - at - 1);
                    n--;
                }
                break;
            case 3: /* truncate */ n = at; break;
            default: { /* duplicate a range */
                size_t len = (size_t)(tu_rand(&st) % 16);
                if (at + len <= n && n + len < sizeof work) {
                    memmove(work + at + len, work + at, n - at);
                    n += len;
                }
                break;
            }
            }
        }
        char *line = malloc(n ? n : 1);
        memcpy(line, work, n);
        memset(&e, 0, sizeof e);
        int rc = lp_parse(line, n, (strata_precision)(iter % 4), &L, &e);
        same_as_known(line, n, (strata_precision)(iter % 4), rc, &e);
        if (rc == 0) {
            if (!L.blank) {
                TU_CHECK(!memchr(line, 0, n) && !memchr(line, '\r', n ? n - 1 : 0),
                         "NUL or CR accepted");
                TU_CHECK(L.nfields >= 1 && L.nfields <= LP_MAX_FIELDS && L.ntags <= LP_MAX_TAGS,
                         "counts");
                TU_CHECK(L.measurement.len > 0 && L.measurement.p >= line &&
                             L.series_raw.p + L.series_raw.len <= line + n,
                         "series span");
                for (uint32_t i = 0; i < L.ntags; i++) {
                    lp_span a = L.tag_key[i], b = L.tag_val[i];
                    TU_CHECK(a.len && b.len && a.p >= line && b.p + b.len <= line + n, "tag span");
                    TU_CHECK(lp_unescape(a, work) <= a.len && lp_unescape(b, work) <= b.len,
                             "unescape");
                }
                for (uint32_t i = 0; i < L.nfields; i++) {
                    lp_span a = L.field[i].name;
                    TU_CHECK(a.len && a.p >= line && a.p + a.len <= line + n, "field span");
                    TU_CHECK(L.field[i].type >= STRATA_F64 && L.field[i].type <= STRATA_BOOL,
                             "type");
                    TU_CHECK(L.field[i].col == (uint32_t)(a.p - line) + 1, "col");
                }
            }
        } else {
            TU_CHECK(rc == -1, "rc %d", rc);
            TU_CHECK(e.column >= 1 && e.column <= n + 1, "column %u of %zu", e.column, n);
            TU_CHECK(e.message[0] != 0 && memchr(e.message, 0, sizeof e.message) != NULL,
                     "message");
        }
        free(line);
    }
}
END_TEST

static void teardown(void)
{
    free(held);
    held = NULL;
}

Suite *lineproto_suite(void); /* collected by run_tests.c */

Suite *lineproto_suite(void)
{
    Suite *s = suite_create("lineproto");
    TCase *tc = tcase_create("valid");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, basic);
    tcase_add_test(tc, values);
    tcase_add_test(tc, precision);
    tcase_add_test(tc, whitespace_and_comments);
    tcase_add_test(tc, escapes);
    tcase_add_test(tc, escape_roundtrip);
    suite_add_tcase(s, tc);
    tc = tcase_create("errors");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, errors_table);
    tcase_add_test(tc, limits);
    tcase_add_test(tc, fuzz);
    suite_add_tcase(s, tc);
    return s;
}
