/*
 * check_qcli.c — `strata query` end to end: the four result formats and
 * --epoch ns byte for byte, syntax errors, --plot to an SVG file and to the
 * terminal, the shell driven through a pipe (as scripts use it) and
 * through a pseudo-terminal (line editing, history), and the chart
 * functions of tools/plot.c called directly on edge cases and random input.
 *
 * The database (built once, through the C API): measurement readings,
 * tags fleet ("East", and "West, \"B\"" to exercise CSV and JSON quoting)
 * and name (t1, t2), fields velocity and fuel, a point every 15 minutes
 * from 2024-01-01T00:00Z for four hours, flushed after every hour, so that
 * every chunk lies inside one 1h bucket and the aggregates below are all
 * answered from chunk statistics (fixed EXPLAIN figures; and aggregates
 * that must decode points fail for now: feed_series() in query/exec.c
 * passes iter_next_raw()'s STRATA_ROW on as its result):
 *   velocity = 100 k + 10 h + q      (k = 0 East, 1 West; hour h; quarter q)
 *   fuel     = ±0.5 (4 h + q)        (+ East, - West)
 *
 * SVGs are checked with a small XML well-formedness checker (tags nested
 * and closed, attributes quoted, '&' only as an entity, valid UTF-8, one
 * root) and their path data for stray "nan"/"inf".
 */
#include "strata.h"
#include "tests/testutil.h"
#include "tools/plot.h"

#include <check.h>
#include <ctype.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <poll.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define T0 1704067200000000000LL /* 2024-01-01T00:00:00Z */
#define QUARTER 900000000000LL
#define HOUR 3600000000000LL

#define Q1 "SELECT max(velocity), mean(fuel) FROM readings GROUP BY time(1h), fleet"

static char *g_dir; /* the suite's scratch directory */
static char *g_db;  /* the database in it */

static void build_db(const char *path)
{
    strata_options o;
    strata_options_init(&o);
    o.create_if_missing = 1;
    o.device_tag = "name";
    strata_db *db;
    ck_assert_msg(strata_db_open(path, &o, &db) == STRATA_OK, "%s", strata_errmsg(NULL));
    static const char *const fleet[] = {"East", "West, \"B\""}, *const name[] = {"t1", "t2"};
    for (int h = 0; h < 4; h++) {
        strata_batch *b;
        ck_assert_int_eq(strata_batch_new(db, &b), STRATA_OK);
        for (int k = 0; k < 2; k++)
            for (int q = 0; q < 4; q++) {
                int rc = strata_batch_point(b, "readings", T0 + (h * 4 + q) * QUARTER);
                rc |= strata_batch_tag(b, "fleet", fleet[k]);
                rc |= strata_batch_tag(b, "name", name[k]);
                rc |= strata_batch_f64(b, "velocity", 100 * k + 10 * h + q);
                rc |= strata_batch_f64(b, "fuel", (k ? -0.5 : 0.5) * (h * 4 + q));
                ck_assert_int_eq(rc, STRATA_OK);
            }
        ck_assert_int_eq(strata_db_write(db, b), STRATA_OK);
        ck_assert_int_eq(strata_db_flush(db), STRATA_OK);
        strata_batch_free(b);
    }
    ck_assert_int_eq(strata_db_close(db), STRATA_OK);
}

static void suite_setup(void)
{
    g_dir = tu_tmpdir();
    g_db = tu_path(g_dir, "db");
    build_db(g_db);
}

static void suite_teardown(void)
{
    tu_rmrf(g_dir);
    free(g_db);
    free(g_dir);
}

/* ---- helpers ------------------------------------------------------------------- */

static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static int is_entity(const unsigned char *p)
{
    static const char *const ents[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
    for (size_t i = 0; i < 5; i++)
        if (!strncmp((const char *)p, ents[i], strlen(ents[i])))
            return 1;
    return 0;
}

/* Bytes of the valid UTF-8 sequence at p, 0 if invalid. */
static size_t utf8_ok(const unsigned char *p)
{
    size_t n = p[0] < 0x80                   ? 1
               : p[0] >= 0xc2 && p[0] < 0xe0 ? 2
               : p[0] >= 0xe0 && p[0] < 0xf0 ? 3
               : p[0] >= 0xf0 && p[0] < 0xf5 ? 4
                                             : 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

/* NULL when s is well-formed XML as far as the SVG writer needs, else why. */
static const char *xml_problem(const char *s)
{
    const unsigned char *stack[64];
    size_t lens[64];
    int depth = 0, roots = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (*p == '<') {
            int closing = p[1] == '/';
            const unsigned char *n = p + 1 + closing, *e = n;
            while (isalnum(*e) || *e == '-' || *e == ':')
                e++;
            if (e == n)
                return "a '<' that starts no tag";
            size_t len = (size_t)(e - n);
            const unsigned char *q = e;
            while (*q && *q != '>') {
                if (*q == '"') {
                    for (q++; *q && *q != '"'; q++) {
                        if (*q == '<')
                            return "a '<' in an attribute";
                        if (*q == '&' && !is_entity(q))
                            return "a bare '&' in an attribute";
                    }
                    if (!*q)
                        return "an unterminated attribute";
                } else if (*q == '<' || *q == '\'') {
                    return "a '<' or an unquoted value inside a tag";
                }
                q++;
            }
            if (!*q)
                return "an unterminated tag";
            int self = q[-1] == '/';
            if (closing) {
                if (!depth || lens[depth - 1] != len || memcmp(stack[depth - 1], n, len))
                    return "a closing tag that does not match";
                depth--;
            } else {
                roots += depth == 0;
                if (!self) {
                    if (depth == 64)
                        return "nested too deep";
                    stack[depth] = n;
                    lens[depth++] = len;
                }
            }
            p = q + 1;
        } else if (*p == '&') {
            if (!is_entity(p))
                return "a bare '&'";
            p++;
        } else if (*p == '>') {
            return "a '>' outside a tag";
        } else if (*p < 0x20 && *p != '\n' && *p != '\t') {
            return "a control character";
        } else {
            size_t n = utf8_ok(p);
            if (!n)
                return "invalid UTF-8";
            p += n;
        }
    }
    if (depth)
        return "an element left open";
    return roots == 1 ? NULL : "not exactly one root element";
}

/* Every path's d attribute holds only commands and finite numbers. */
static int path_data_ok(const char *svg)
{
    for (const char *p = svg; (p = strstr(p, " d=\"")); p += 4)
        for (const char *q = p + 4; *q != '"'; q++)
            if (!strchr("MLh0123456789.- ", *q))
                return 0;
    return 1;
}

static char *read_all(const char *path)
{
    char *s = tu_read_file(path, NULL);
    ck_assert_msg(s != NULL, "cannot read %s", path);
    return s;
}

/* The terminal chart of d as text. */
static char *terminal_chart(const plot_data *d, int width, int height, int *rc)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert(f != NULL);
    *rc = plot_terminal(d, f, width, height);
    fclose(f);
    return buf;
}

static int has_braille(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (p[0] == 0xe2 && p[1] >= 0xa0 && p[1] <= 0xa3 && (p[2] & 0xc0) == 0x80)
            return 1;
    return 0;
}

/* ---- strata query: formats --------------------------------------------------------- */

static void expect_query(const char *format, const char *extra, const char *want)
{
    char *out, *err;
    int rc =
        extra ? tu_cli(ARGS("query", g_db, Q1, "--format", format, extra, "ns"), NULL, &out, &err)
              : tu_cli(ARGS("query", g_db, Q1, "--format", format), NULL, &out, &err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    ck_assert_str_eq(err, "");
    ck_assert_str_eq(out, want);
    free(out);
    free(err);
}

START_TEST(test_format_csv)
{
    expect_query("csv", NULL,
                 "time,fleet,max(velocity),mean(fuel)\n"
                 "2024-01-01T00:00:00Z,East,3,0.75\n"
                 "2024-01-01T01:00:00Z,East,13,2.75\n"
                 "2024-01-01T02:00:00Z,East,23,4.75\n"
                 "2024-01-01T03:00:00Z,East,33,6.75\n"
                 "2024-01-01T00:00:00Z,\"West, \"\"B\"\"\",103,-0.75\n"
                 "2024-01-01T01:00:00Z,\"West, \"\"B\"\"\",113,-2.75\n"
                 "2024-01-01T02:00:00Z,\"West, \"\"B\"\"\",123,-4.75\n"
                 "2024-01-01T03:00:00Z,\"West, \"\"B\"\"\",133,-6.75\n");
}
END_TEST

START_TEST(test_format_json)
{
    expect_query("json", NULL,
                 "[\n"
                 "{\"time\": \"2024-01-01T00:00:00Z\", \"fleet\": \"East\", \"max(velocity)\": 3, "
                 "\"mean(fuel)\": 0.75},\n"
                 "{\"time\": \"2024-01-01T01:00:00Z\", \"fleet\": \"East\", \"max(velocity)\": 13, "
                 "\"mean(fuel)\": 2.75},\n"
                 "{\"time\": \"2024-01-01T02:00:00Z\", \"fleet\": \"East\", \"max(velocity)\": 23, "
                 "\"mean(fuel)\": 4.75},\n"
                 "{\"time\": \"2024-01-01T03:00:00Z\", \"fleet\": \"East\", \"max(velocity)\": 33, "
                 "\"mean(fuel)\": 6.75},\n"
                 "{\"time\": \"2024-01-01T00:00:00Z\", \"fleet\": \"West, \\\"B\\\"\", "
                 "\"max(velocity)\": 103, \"mean(fuel)\": -0.75},\n"
                 "{\"time\": \"2024-01-01T01:00:00Z\", \"fleet\": \"West, \\\"B\\\"\", "
                 "\"max(velocity)\": 113, \"mean(fuel)\": -2.75},\n"
                 "{\"time\": \"2024-01-01T02:00:00Z\", \"fleet\": \"West, \\\"B\\\"\", "
                 "\"max(velocity)\": 123, \"mean(fuel)\": -4.75},\n"
                 "{\"time\": \"2024-01-01T03:00:00Z\", \"fleet\": \"West, \\\"B\\\"\", "
                 "\"max(velocity)\": 133, \"mean(fuel)\": -6.75}\n"
                 "]\n");
}
END_TEST

START_TEST(test_format_ndjson)
{
    expect_query("ndjson", NULL,
                 "{\"time\": \"2024-01-01T00:00:00Z\", \"fleet\": \"East\", \"max(velocity)\": 3, "
                 "\"mean(fuel)\": 0.75}\n"
                 "{\"time\": \"2024-01-01T01:00:00Z\", \"fleet\": \"East\", \"max(velocity)\": 13, "
                 "\"mean(fuel)\": 2.75}\n"
                 "{\"time\": \"2024-01-01T02:00:00Z\", \"fleet\": \"East\", \"max(velocity)\": 23, "
                 "\"mean(fuel)\": 4.75}\n"
                 "{\"time\": \"2024-01-01T03:00:00Z\", \"fleet\": \"East\", \"max(velocity)\": 33, "
                 "\"mean(fuel)\": 6.75}\n"
                 "{\"time\": \"2024-01-01T00:00:00Z\", \"fleet\": \"West, \\\"B\\\"\", "
                 "\"max(velocity)\": 103, \"mean(fuel)\": -0.75}\n"
                 "{\"time\": \"2024-01-01T01:00:00Z\", \"fleet\": \"West, \\\"B\\\"\", "
                 "\"max(velocity)\": 113, \"mean(fuel)\": -2.75}\n"
                 "{\"time\": \"2024-01-01T02:00:00Z\", \"fleet\": \"West, \\\"B\\\"\", "
                 "\"max(velocity)\": 123, \"mean(fuel)\": -4.75}\n"
                 "{\"time\": \"2024-01-01T03:00:00Z\", \"fleet\": \"West, \\\"B\\\"\", "
                 "\"max(velocity)\": 133, \"mean(fuel)\": -6.75}\n");
}
END_TEST

START_TEST(test_format_table)
{
    expect_query("table", NULL,
                 "time                  fleet      max(velocity)  mean(fuel)\n"
                 "--------------------  ---------  -------------  ----------\n"
                 "2024-01-01T00:00:00Z  East                   3        0.75\n"
                 "2024-01-01T01:00:00Z  East                  13        2.75\n"
                 "2024-01-01T02:00:00Z  East                  23        4.75\n"
                 "2024-01-01T03:00:00Z  East                  33        6.75\n"
                 "2024-01-01T00:00:00Z  West, \"B\"            103       -0.75\n"
                 "2024-01-01T01:00:00Z  West, \"B\"            113       -2.75\n"
                 "2024-01-01T02:00:00Z  West, \"B\"            123       -4.75\n"
                 "2024-01-01T03:00:00Z  West, \"B\"            133       -6.75\n");
}
END_TEST

START_TEST(test_epoch_ns)
{
    expect_query("csv", "--epoch",
                 "time,fleet,max(velocity),mean(fuel)\n"
                 "1704067200000000000,East,3,0.75\n"
                 "1704070800000000000,East,13,2.75\n"
                 "1704074400000000000,East,23,4.75\n"
                 "1704078000000000000,East,33,6.75\n"
                 "1704067200000000000,\"West, \"\"B\"\"\",103,-0.75\n"
                 "1704070800000000000,\"West, \"\"B\"\"\",113,-2.75\n"
                 "1704074400000000000,\"West, \"\"B\"\"\",123,-4.75\n"
                 "1704078000000000000,\"West, \"\"B\"\"\",133,-6.75\n");
    expect_query("ndjson", "--epoch",
                 "{\"time\": 1704067200000000000, \"fleet\": \"East\", \"max(velocity)\": 3, "
                 "\"mean(fuel)\": 0.75}\n"
                 "{\"time\": 1704070800000000000, \"fleet\": \"East\", \"max(velocity)\": 13, "
                 "\"mean(fuel)\": 2.75}\n"
                 "{\"time\": 1704074400000000000, \"fleet\": \"East\", \"max(velocity)\": 23, "
                 "\"mean(fuel)\": 4.75}\n"
                 "{\"time\": 1704078000000000000, \"fleet\": \"East\", \"max(velocity)\": 33, "
                 "\"mean(fuel)\": 6.75}\n"
                 "{\"time\": 1704067200000000000, \"fleet\": \"West, \\\"B\\\"\", "
                 "\"max(velocity)\": 103, \"mean(fuel)\": -0.75}\n"
                 "{\"time\": 1704070800000000000, \"fleet\": \"West, \\\"B\\\"\", "
                 "\"max(velocity)\": 113, \"mean(fuel)\": -2.75}\n"
                 "{\"time\": 1704074400000000000, \"fleet\": \"West, \\\"B\\\"\", "
                 "\"max(velocity)\": 123, \"mean(fuel)\": -4.75}\n"
                 "{\"time\": 1704078000000000000, \"fleet\": \"West, \\\"B\\\"\", "
                 "\"max(velocity)\": 133, \"mean(fuel)\": -6.75}\n");
}
END_TEST

START_TEST(test_errors)
{
    char *out, *err;
    int rc = tu_cli(ARGS("query", g_db, "SELECT max(velocity)\nFROM"), NULL, &out, &err);
    ck_assert_int_eq(rc, 1);
    ck_assert_str_eq(out, "");
    ck_assert_msg(strstr(err, "line 2, column 5: expected a measurement name") != NULL, "%s", err);
    free(out);
    free(err);
    rc = tu_cli(ARGS("query", g_db, "SELECT  velocity FROM readings WHERE fleet ~ 'x'"), NULL, &out,
                &err);
    ck_assert_int_eq(rc, 1);
    ck_assert_msg(strstr(err, "line 1, column 44") != NULL, "%s", err);
    free(out);
    free(err);
    rc = tu_cli(ARGS("query", g_db, Q1, "--format", "xml"), NULL, &out, &err);
    ck_assert_int_eq(rc, 2);
    ck_assert_msg(strstr(err, "--format must be table, csv, json or ndjson") != NULL, "%s", err);
    free(out);
    free(err);
    rc = tu_cli(ARGS("query", g_db, Q1, "--epoch", "ms"), NULL, &out, &err);
    ck_assert_int_eq(rc, 2);
    free(out);
    free(err);
}
END_TEST

/* ---- strata query --plot --------------------------------------------------------------- */

START_TEST(test_plot_svg_file)
{
    char *svg_path = tu_path(g_dir, "q1.svg");
    unlink(svg_path);
    char *out, *err;
    int rc =
        tu_cli(ARGS("query", g_db, Q1, "--format", "csv", "--plot", svg_path), NULL, &out, &err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    ck_assert_int_eq(count_of(out, "\n"), 9); /* the rows are printed too */
    char *svg = read_all(svg_path);
    ck_assert(!strncmp(svg, "<svg", 4));
    const char *why = xml_problem(svg);
    ck_assert_msg(why == NULL, "%s", why);
    ck_assert(path_data_ok(svg));
    ck_assert_int_eq(count_of(svg, "<path class=\"series\""), 4);
    ck_assert(strstr(svg, ">fleet=East max(velocity)</text>"));
    ck_assert(strstr(svg, ">fleet=East mean(fuel)</text>"));
    ck_assert(strstr(svg, ">fleet=West, &quot;B&quot; max(velocity)</text>"));
    ck_assert(strstr(svg, ">fleet=West, &quot;B&quot; mean(fuel)</text>"));
    /* the title, the value axis (-6.75..133 at steps of 20), the time axis */
    ck_assert(strstr(svg, ">SELECT max(velocity), mean(fuel) FROM readings GROUP BY time(1h), "
                          "fleet</text>"));
    ck_assert(strstr(svg, ">-20</text>") && strstr(svg, ">140</text>"));
    ck_assert(strstr(svg, ">01:00</text>") && strstr(svg, ">03:00</text>"));
    ck_assert(strstr(svg, ">2024-01-01 UTC</text>"));
    free(svg);
    free(out);
    free(err);

    /* no rows: nothing to plot is an error for a file, a note on a terminal */
    unlink(svg_path);
    const char *none = "SELECT max(velocity) FROM readings WHERE fleet = 'none' GROUP BY time(1h)";
    rc = tu_cli(ARGS("query", g_db, none, "--plot", svg_path), NULL, &out, &err);
    ck_assert_int_eq(rc, 1);
    ck_assert_msg(strstr(err, "nothing to plot") != NULL, "%s", err);
    ck_assert(access(svg_path, F_OK) != 0);
    free(out);
    free(err);
    rc = tu_cli(ARGS("query", g_db, none, "--plot", "-"), NULL, &out, &err);
    ck_assert_int_eq(rc, 0);
    ck_assert(strstr(out, "nothing to plot") != NULL);
    free(out);
    free(err);
    free(svg_path);
}
END_TEST

START_TEST(test_plot_terminal_cli)
{
    char *out, *err;
    int rc = tu_cli(ARGS("query", g_db, Q1, "--format", "csv", "--plot", "-"), NULL, &out, &err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    ck_assert(has_braille(out));
    ck_assert(strchr(out, '\x1b') == NULL); /* not a terminal: no colours */
    /* y labels: the maximum, the middle and the minimum */
    ck_assert_msg(strstr(out, "\n  133 \xe2\x94\xa4") != NULL, "%s", out);
    ck_assert(strstr(out, "\n63.12 \xe2\x94\xa4") != NULL);
    ck_assert(strstr(out, "\n-6.75 \xe2\x94\xa4") != NULL);
    ck_assert(strstr(out, "2024-01-01 00:00") && strstr(out, "03:00 UTC"));
    ck_assert(strstr(out, "A fleet=East max(velocity)"));
    ck_assert(strstr(out, "D fleet=West, \"B\" mean(fuel)"));
    free(out);
    free(err);
}
END_TEST

/* ---- the shell, through a pipe ----------------------------------------------------------- */

static int shell(const char *script, char **out, char **err)
{
    return tu_cli(ARGS("query", g_db), script, out, err);
}

START_TEST(test_shell_format_multiline)
{
    char *out, *err;
    int rc = shell(".format csv\n"
                   "SELECT max(velocity)\n"
                   "  FROM readings\n"
                   "  GROUP BY time(1h), fleet;\n"
                   "SELECT count(velocity) FROM readings\n"
                   "WHERE fleet = 'East';\n",
                   &out, &err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    ck_assert_str_eq(err, "");
    ck_assert_str_eq(out, "time,fleet,max(velocity)\n"
                          "2024-01-01T00:00:00Z,East,3\n"
                          "2024-01-01T01:00:00Z,East,13\n"
                          "2024-01-01T02:00:00Z,East,23\n"
                          "2024-01-01T03:00:00Z,East,33\n"
                          "2024-01-01T00:00:00Z,\"West, \"\"B\"\"\",103\n"
                          "2024-01-01T01:00:00Z,\"West, \"\"B\"\"\",113\n"
                          "2024-01-01T02:00:00Z,\"West, \"\"B\"\"\",123\n"
                          "2024-01-01T03:00:00Z,\"West, \"\"B\"\"\",133\n"
                          "time,count(velocity)\n"
                          "1970-01-01T00:00:00Z,16\n");
    free(out);
    free(err);
    rc = shell(NULL, &out, &err); /* no input at all */
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(out, "");
    free(out);
    free(err);
}
END_TEST

START_TEST(test_shell_timer)
{
    char *out, *err;
    int rc = shell(".timer on\nSELECT count(fuel) FROM readings;\n.timer off\n"
                   "SELECT count(fuel) FROM readings;\n",
                   &out, &err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    const char *table = "time                  count(fuel)\n"
                        "--------------------  -----------\n"
                        "1970-01-01T00:00:00Z           32\n";
    size_t tl = strlen(table);
    ck_assert(!strncmp(out, table, tl));
    ck_assert(!strncmp(out + tl, "Run Time: ", 10));
    char *end;
    double ms = strtod(out + tl + 10, &end);
    ck_assert(ms >= 0 && end != out + tl + 10);
    ck_assert(!strncmp(end, " ms\n", 4));
    ck_assert_str_eq(end + 4, table); /* timer off: no second Run Time */
    free(out);
    free(err);
}
END_TEST

START_TEST(test_shell_unknown_command)
{
    char *out, *err;
    int rc = shell(".nope\n.format xml\nSELECT count(fuel) FROM readings;\n", &out, &err);
    ck_assert_int_eq(rc, 1); /* not a terminal: a failed command fails the run */
    ck_assert_msg(strstr(err, "unknown command '.nope'; the commands are .help, .format, .timer, "
                              ".explain, .plot, .epoch, .quit and .exit") != NULL,
                  "%s", err);
    ck_assert(strstr(err, ".format takes table, csv, json or ndjson, not 'xml'") != NULL);
    ck_assert(strstr(out, "1970-01-01T00:00:00Z           32\n") != NULL); /* it went on */
    free(out);
    free(err);
}
END_TEST

START_TEST(test_shell_explain)
{
    char *out, *err;
    int rc = shell(".explain on\n"
                   "SELECT max(velocity) FROM readings GROUP BY time(1h);\n"
                   "EXPLAIN SELECT count(fuel) FROM readings;\n"
                   ".explain off\n"
                   "SELECT count(fuel) FROM readings;\n",
                   &out, &err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    ck_assert_str_eq(err, "");
    ck_assert_int_eq(count_of(out, "plan\n----"), 2);
    ck_assert_msg(strstr(out, "executed: 2 series read; 8 chunk(s) in range; 8 answered from "
                              "statistics (32 points)") != NULL,
                  "%s", out);
    ck_assert(strstr(out, "1970-01-01T00:00:00Z           32\n") != NULL);
    free(out);
    free(err);
}
END_TEST

START_TEST(test_shell_statements)
{
    char *svg = tu_path(g_dir, "shell.svg");
    unlink(svg);
    char script[1024];
    snprintf(script, sizeof script,
             /* ';' inside a string, a regex and a comment end nothing */
             "SELECT count(fuel) FROM readings WHERE fleet = 'a;b'; SELECT count(fuel)\n"
             "FROM readings WHERE name =~ /t;|t1/ -- a comment; not the end\n"
             ";\n"
             /* an empty line ends a statement */
             "SELECT min(velocity)\n"
             "FROM readings\n"
             "\n"
             /* an error does not end the shell */
             "SELECT nonsense FROM;\n"
             ".plot %s\n"
             "SELECT max(velocity) FROM readings GROUP BY time(1h), name;\n"
             ".plot off\n"
             ".epoch ns\n"
             ".format ndjson\n"
             /* the end of the input ends the last statement */
             "SELECT max(fuel) FROM readings GROUP BY time(1h)",
             svg);
    char *out, *err;
    int rc = shell(script, &out, &err);
    ck_assert_int_eq(rc, 1);
    ck_assert_msg(strstr(err, "line 1, column 21: expected a measurement name") != NULL, "%s", err);
    ck_assert_str_eq(out, "time  count(fuel)\n"
                          "----  -----------\n"
                          "time                  count(fuel)\n"
                          "--------------------  -----------\n"
                          "1970-01-01T00:00:00Z           16\n"
                          "time                  min(velocity)\n"
                          "--------------------  -------------\n"
                          "1970-01-01T00:00:00Z              0\n"
                          "time                  name  max(velocity)\n"
                          "--------------------  ----  -------------\n"
                          "2024-01-01T00:00:00Z  t1                3\n"
                          "2024-01-01T01:00:00Z  t1               13\n"
                          "2024-01-01T02:00:00Z  t1               23\n"
                          "2024-01-01T03:00:00Z  t1               33\n"
                          "2024-01-01T00:00:00Z  t2              103\n"
                          "2024-01-01T01:00:00Z  t2              113\n"
                          "2024-01-01T02:00:00Z  t2              123\n"
                          "2024-01-01T03:00:00Z  t2              133\n"
                          "{\"time\": 1704067200000000000, \"max(fuel)\": 1.5}\n"
                          "{\"time\": 1704070800000000000, \"max(fuel)\": 3.5}\n"
                          "{\"time\": 1704074400000000000, \"max(fuel)\": 5.5}\n"
                          "{\"time\": 1704078000000000000, \"max(fuel)\": 7.5}\n");
    char *s = read_all(svg);
    ck_assert(xml_problem(s) == NULL);
    ck_assert_int_eq(count_of(s, "<path class=\"series\""), 2);
    ck_assert(strstr(s, ">name=t2 max(velocity)</text>"));
    free(s);
    free(out);
    free(err);

    rc = shell(".help\n.quit\nSELECT count(fuel) FROM readings;\n", &out, &err);
    ck_assert_int_eq(rc, 0);
    ck_assert(strstr(out, ".format table|csv|json|ndjson") && strstr(out, ".plot off|-|FILE.svg"));
    ck_assert(strstr(out, "ends at ';' or at an empty line"));
    ck_assert(strstr(out, "count(fuel)") == NULL); /* .quit stopped it */
    free(out);
    free(err);
    free(svg);
}
END_TEST

/* ---- the shell, on a terminal ---------------------------------------------------------- */

typedef struct term {
    int master, slave;
    pid_t pid;
    char *out; /* everything the shell wrote */
    size_t len, cap;
} term;

static void term_read(term *t, int timeout_ms)
{
    struct pollfd p = {t->master, POLLIN, 0};
    while (poll(&p, 1, timeout_ms) > 0) {
        if (t->len + 4096 + 1 > t->cap) {
            t->cap = (t->len + 4096 + 1) * 2;
            t->out = realloc(t->out, t->cap);
            ck_assert(t->out != NULL);
        }
        ssize_t r = read(t->master, t->out + t->len, 4096);
        if (r <= 0)
            break;
        t->len += (size_t)r;
        t->out[t->len] = '\0';
        timeout_ms = 0;
    }
}

/* Wait until the shell waits for a line: its output ends with an empty
 * prompt (keys sent before then could meet the terminal in cooked mode). */
static void term_prompt(term *t, const char *prompt)
{
    char want[64];
    snprintf(want, sizeof want, "\r%s\x1b[0K\r\x1b[8C", prompt);
    size_t wl = strlen(want);
    for (int i = 0; i < 6000; i++) {
        term_read(t, 10);
        if (t->len >= wl && !memcmp(t->out + t->len - wl, want, wl))
            return;
    }
    ck_abort_msg("no prompt '%s'; the shell wrote: %s", prompt, t->out ? t->out : "");
}

static void term_send(term *t, const char *keys, const char *then_prompt)
{
    ck_assert(write(t->master, keys, strlen(keys)) == (ssize_t)strlen(keys));
    term_prompt(t, then_prompt);
}

START_TEST(test_shell_terminal)
{
    char *home = tu_path(g_dir, "home");
    mkdir(home, 0755);
    char *hist = tu_path(home, ".strata_history");
    /* a history past its cap of 1000; the newest entry is recalled below */
    FILE *hf = fopen(hist, "w");
    ck_assert(hf != NULL);
    for (int i = 0; i < 1500; i++)
        fprintf(hf, "SELECT %d;\n", i);
    fputs("SELECT max(velocity) FROM readings WHERE fleet = 'East';\n", hf);
    fclose(hf);

    term t = {0};
    struct winsize ws = {24, 100, 0, 0};
    ck_assert(openpty(&t.master, &t.slave, NULL, NULL, &ws) == 0);
    const char *bin = getenv("STRATA_BIN") ? getenv("STRATA_BIN") : "build/strata";
    t.pid = tu_fork();
    if (t.pid == 0) {
        setsid();
        ioctl(t.slave, TIOCSCTTY, 0);
        dup2(t.slave, 0);
        dup2(t.slave, 1);
        dup2(t.slave, 2);
        close(t.master);
        setenv("HOME", home, 1);
        setenv("TERM", "xterm", 1);
        execl(bin, bin, "query", g_db, (char *)NULL);
        _exit(127);
    }
    term_prompt(&t, "strata> ");
    ck_assert(strstr(t.out, "End a query with ';' or an empty line"));

    /* ctrl-W deletes the word before the cursor, ctrl-A goes home */
    term_send(&t, "ELECT count(fuel) FROM readings WHERE fleet = 'East' junk\x17;\x01S\r",
              "strata> ");
    ck_assert_msg(strstr(t.out, "count(fuel)\r\n--------------------  -----------\r\n"
                                "1970-01-01T00:00:00Z           16\r\n"),
                  "%s", t.out);
    /* up twice: the newest entry from the file; enter runs it */
    term_send(&t, "\x1b[A\x1b[A\r", "strata> ");
    ck_assert(strstr(t.out, "1970-01-01T00:00:00Z             33\r\n"));
    /* left, backspace; ctrl-A, right, ctrl-U */
    term_send(&t, ".timerX on\x1b[D\x1b[D\x1b[D\x7f\r", "strata> ");
    term_send(&t,
              "junk SELECT count(velocity) FROM readings;\x01\x1b[C\x1b[C\x1b[C\x1b[C\x1b[C\x15\r",
              "strata> ");
    ck_assert(strstr(t.out, "1970-01-01T00:00:00Z               32\r\nRun Time: "));
    /* ctrl-C cancels the line and the statement pending */
    term_send(&t, "SELECT min(fuel)\r", "   ...> ");
    term_send(&t, "FROM nowhere\x03", "strata> ");
    ck_assert(strstr(t.out, "^C\r\n"));
    /* a statement over two lines; home/end keys; ctrl-K kills to the end */
    term_send(&t, "ELECT min(fuel)\x1b[HS\x1b[F\r", "   ...> ");
    term_send(&t, "FROM readings; rest\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x0b\r", "strata> ");
    ck_assert(strstr(t.out, "1970-01-01T00:00:00Z       -7.5\r\n"));
    /* delete under the cursor (ESC [ 3 ~ and ctrl-D), then ctrl-D on an empty line */
    term_send(&t, ".helpXY\x1b[D\x1b[D\x1b[3~\x04\r", "strata> ");
    ck_assert(strstr(t.out, "Editing: "));
    ck_assert(write(t.master, "\x04", 1) == 1);
    int status = -1;
    pid_t done = 0;
    for (int i = 0; i < 6000 && (done = waitpid(t.pid, &status, WNOHANG)) == 0; i++)
        term_read(&t, 10);
    ck_assert_msg(done == t.pid && WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", t.out);

    /* the terminal is as it was */
    struct termios tio;
    ck_assert(tcgetattr(t.slave, &tio) == 0);
    ck_assert((tio.c_lflag & (ICANON | ECHO | ISIG)) == (ICANON | ECHO | ISIG));

    /* the history: trimmed to 1000 entries, the session's at its end */
    char *h = read_all(hist);
    ck_assert_int_eq(count_of(h, "\n"), 1000);
    ck_assert(strstr(h, "SELECT 500;\n") == NULL);
    const char *tail = "SELECT max(velocity) FROM readings WHERE fleet = 'East';\n"
                       "SELECT count(fuel) FROM readings WHERE fleet = 'East' ;\n"
                       "SELECT max(velocity) FROM readings WHERE fleet = 'East';\n"
                       ".timer on\n"
                       "SELECT count(velocity) FROM readings;\n"
                       "SELECT min(fuel) FROM readings;\n"
                       ".help\n";
    ck_assert_msg(strlen(h) > strlen(tail) && !strcmp(h + strlen(h) - strlen(tail), tail), "%s",
                  h + (strlen(h) > 400 ? strlen(h) - 400 : 0));
    free(h);
    close(t.master);
    close(t.slave);
    free(t.out);
    free(hist);
    free(home);
}
END_TEST

/* ---- plot_* directly --------------------------------------------------------------------- */

/* Silence stderr (1) or bring it back (0): plot_svg reports "nothing to
 * plot" there, which the tests below provoke on purpose. */
static void quiet_stderr(int on)
{
    static int saved = -1;
    fflush(stderr);
    if (on && saved < 0) {
        saved = dup(2);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 2);
        close(null);
    } else if (!on && saved >= 0) {
        dup2(saved, 2);
        close(saved);
        saved = -1;
    }
}

/* Draw d both ways; the SVG must be well-formed when written. */
static int draw_both(const plot_data *d, const char *svg_path, char **svg, char **text)
{
    unlink(svg_path);
    int rc = plot_svg(d, svg_path);
    *svg = rc == 0 ? read_all(svg_path) : NULL;
    if (*svg) {
        const char *why = xml_problem(*svg);
        TU_CHECK(why == NULL, "%s: %s", svg_path, why);
        TU_CHECK(path_data_ok(*svg), "%s: bad path data", svg_path);
    } else {
        TU_CHECK(access(svg_path, F_OK) != 0, "%s written on failure", svg_path);
    }
    int trc;
    *text = terminal_chart(d, 60, 10, &trc);
    TU_CHECK(trc == 0, "plot_terminal returned %d", trc);
    return rc;
}

START_TEST(test_plot_empty)
{
    char *path = tu_path(g_dir, "empty.svg"), *svg, *text;
    plot_data d = {0};
    quiet_stderr(1);
    ck_assert_int_eq(draw_both(&d, path, &svg, &text), -1);
    ck_assert(strstr(text, "nothing to plot") != NULL);
    free(text);
    plot_add(&d, "all NaN", T0, NAN);
    plot_add(&d, "all NaN", T0 + HOUR, INFINITY);
    ck_assert_int_eq(draw_both(&d, path, &svg, &text), -1);
    ck_assert(strstr(text, "nothing to plot") != NULL);
    free(text);
    plot_free(&d);
    plot_free(&d); /* twice is fine */
    plot_free(NULL);
    ck_assert_int_eq(plot_svg(NULL, path), -1);
    int rc;
    text = terminal_chart(NULL, 60, 10, &rc);
    ck_assert(rc == 0 && strstr(text, "nothing to plot"));
    quiet_stderr(0);
    free(text);
    free(path);
}
END_TEST

START_TEST(test_plot_one_point)
{
    char *path = tu_path(g_dir, "one.svg"), *svg, *text;
    plot_data d = {0};
    ck_assert_int_eq(plot_add(&d, "last(velocity)", T0, 42), 0);
    d.title = strdup("SELECT last(velocity) FROM readings");
    ck_assert_int_eq(draw_both(&d, path, &svg, &text), 0);
    ck_assert_int_eq(count_of(svg, "<path class=\"series\""), 1);
    ck_assert(strstr(svg, "d=\"M") && strstr(svg, "h0\"")); /* a dot */
    ck_assert(strstr(svg, "<circle"));
    ck_assert(strstr(svg, ">42</text>")); /* a flat range padded around the value */
    /* one instant: the time axis reaches a minute either side */
    ck_assert(strstr(svg, ">23:59:00</text>") && strstr(svg, ">00:01:00</text>"));
    ck_assert(has_braille(text) && strstr(text, "\n  42 \xe2\x94\xa4"));
    free(svg);
    free(text);
    plot_free(&d);
    free(path);
}
END_TEST

START_TEST(test_plot_gaps_constant_order)
{
    char *path = tu_path(g_dir, "gaps.svg"), *svg, *text;
    plot_data d = {0};
    /* runs: [0,1] [3] [5..7]; NaN at 2 and 4 */
    for (int i = 0; i < 8; i++)
        plot_add(&d, "gappy", T0 + i * HOUR, i == 2 || i == 4 ? NAN : i);
    for (int i = 0; i < 8; i++)
        plot_add(&d, "constant", T0 + i * HOUR, 7);
    for (int i = 7; i >= 0; i--) /* ORDER BY time DESC arrives backwards */
        plot_add(&d, "backwards", T0 + i * HOUR, -i);
    ck_assert_int_eq(d.n, 3);
    ck_assert_int_eq(draw_both(&d, path, &svg, &text), 0);
    const char *p = strstr(svg, "<path class=\"series\"");
    const char *e = strstr(p, "</path>");
    size_t moves = 0;
    for (const char *q = p; q < e; q++)
        moves += *q == 'M';
    ck_assert_int_eq(moves, 3);
    ck_assert(strstr(p, "h0") < e); /* the lone point */
    /* the backwards series is drawn left to right: one subpath */
    p = strstr(e, "<path class=\"series\"");
    p = strstr(p + 1, "<path class=\"series\"");
    e = strstr(p, "</path>");
    moves = 0;
    for (const char *q = p; q < e; q++)
        moves += *q == 'M';
    ck_assert_int_eq(moves, 1);
    ck_assert(strstr(text, "A gappy") && strstr(text, "B constant") && strstr(text, "C backwards"));
    free(svg);
    free(text);
    plot_free(&d);

    for (int i = 0; i < 5; i++) /* a constant series alone: padded, flat in the middle */
        plot_add(&d, "constant", T0 + i * HOUR, 7);
    ck_assert_int_eq(draw_both(&d, path, &svg, &text), 0);
    ck_assert(strstr(svg, ">7.0</text>") && strstr(svg, ">6.2</text>"));
    ck_assert(!strncmp(text, "7.7 \xe2\x94\xa4", 7) && strstr(text, "\n  7 \xe2\x94\xa4"));
    free(svg);
    free(text);
    plot_free(&d);
    free(path);
}
END_TEST

START_TEST(test_plot_many_series)
{
    char *path = tu_path(g_dir, "many.svg"), *svg, *text;
    plot_data d = {0};
    char label[64];
    for (int i = 0; i < 48; i++)
        for (int s = 0; s < 300; s++) {
            snprintf(label, sizeof label, "name=truck_%03d max(velocity)", s);
            TU_CHECK(plot_add(&d, label, T0 + i * HOUR / 2, s + 10 * sin(i / 5.0)) == 0, "add");
        }
    ck_assert_int_eq(d.n, 300);
    ck_assert_int_eq(draw_both(&d, path, &svg, &text), 0);
    ck_assert_int_eq(count_of(svg, "<path class=\"series\""), 300);
    ck_assert(strstr(svg, ">and 288 more</text>"));
    ck_assert(strstr(svg, ">name=truck_011 max(velocity)</text>"));
    ck_assert(!strstr(svg, ">name=truck_012 max(velocity)</text>"));
    ck_assert(strstr(text, "L name=truck_011 max(velocity)") && strstr(text, "and 288 more"));
    free(svg);
    free(text);
    plot_free(&d);
    free(path);
}
END_TEST

START_TEST(test_plot_extremes)
{
    char *path = tu_path(g_dir, "extremes.svg"), *svg, *text;
    plot_data d = {0};
    /* magnitudes at both ends of float64, infinities as gaps */
    plot_add(&d, "huge", T0, -DBL_MAX);
    plot_add(&d, "huge", T0 + HOUR, DBL_MAX);
    plot_add(&d, "huge", T0 + 2 * HOUR, -INFINITY);
    plot_add(&d, "tiny", T0, 5e-324);
    plot_add(&d, "tiny", T0 + HOUR, -DBL_MIN);
    ck_assert_int_eq(draw_both(&d, path, &svg, &text), 0);
    free(svg);
    free(text);
    plot_free(&d);
    /* tiny values alone get exponent labels */
    for (int i = 0; i < 10; i++)
        plot_add(&d, "small", T0 + i * HOUR, 1e-9 * i);
    ck_assert_int_eq(draw_both(&d, path, &svg, &text), 0);
    ck_assert(strstr(svg, ">5e-9</text>") || strstr(svg, ">4e-9</text>"));
    free(svg);
    free(text);
    plot_free(&d);
    /* big values with SI suffixes */
    for (int i = 0; i < 10; i++)
        plot_add(&d, "big", T0 + i * HOUR, 2.5e9 * i);
    ck_assert_int_eq(draw_both(&d, path, &svg, &text), 0);
    ck_assert(strstr(svg, "G</text>"));
    free(svg);
    free(text);
    plot_free(&d);
    /* the whole int64 time range; one instant; a span of nanoseconds */
    plot_add(&d, "ends", INT64_MIN, 1);
    plot_add(&d, "ends", INT64_MAX, 2);
    plot_add(&d, "instant", INT64_MAX, 3);
    ck_assert_int_eq(draw_both(&d, path, &svg, &text), 0);
    ck_assert(strstr(svg, ">1700</text>") || strstr(svg, ">1800</text>"));
    free(svg);
    free(text);
    plot_free(&d);
    for (int i = 0; i < 5; i++)
        plot_add(&d, "ns", T0 + i, i);
    ck_assert_int_eq(draw_both(&d, path, &svg, &text), 0);
    free(svg);
    free(text);
    plot_free(&d);
    /* labels and titles of any bytes stay well-formed XML */
    plot_add(&d, "bad \xff\xfe utf-8 <&> \"'\x01\x1b[31m", T0, 1);
    plot_add(&d, "bad \xff\xfe utf-8 <&> \"'\x01\x1b[31m", T0 + HOUR, 2);
    plot_add(&d, "\xe2\x82", T0, 3); /* a truncated sequence */
    d.title = strdup("SELECT \"a<b>\" FROM 'c&d' -- \x7f\n\t\xc0\xaf");
    ck_assert_int_eq(draw_both(&d, path, &svg, &text), 0);
    ck_assert(strstr(svg, "&lt;&amp;&gt;"));
    ck_assert(strchr(text, '\x1b') == NULL && strchr(text, '\x01') == NULL);
    free(svg);
    free(text);
    plot_free(&d);
    free(path);
}
END_TEST

START_TEST(test_plot_colours_on_a_terminal)
{
    int master, slave;
    ck_assert(openpty(&master, &slave, NULL, NULL, NULL) == 0);
    struct termios tio;
    tcgetattr(slave, &tio);
    cfmakeraw(&tio);
    tcsetattr(slave, TCSANOW, &tio);
    FILE *f = fdopen(slave, "w");
    ck_assert(f != NULL);
    plot_data d = {0};
    for (int i = 0; i < 4; i++) {
        plot_add(&d, "a", T0 + i * HOUR, i);
        plot_add(&d, "b", T0 + i * HOUR, 3 - i);
    }
    ck_assert_int_eq(plot_terminal(&d, f, 16, 3), 0);
    fflush(f);
    char buf[8192];
    ssize_t n = read(master, buf, sizeof buf - 1);
    ck_assert(n > 0);
    buf[n] = '\0';
    ck_assert(strstr(buf, "\x1b[34m") && strstr(buf, "\x1b[31m") && strstr(buf, "\x1b[0m"));
    plot_free(&d);
    fclose(f);
    close(master);
}
END_TEST

/* Random series of random values and times: never a crash, a leak (under
 * the sanitizers) or malformed output. */
START_TEST(test_plot_fuzz)
{
    static const double special[] = {0,         -0.0,     1,        -1,      NAN,    INFINITY,
                                     -INFINITY, DBL_MAX,  -DBL_MAX, DBL_MIN, 5e-324, 1e300,
                                     -1e-300,   1e15 + 1, 1e15,     123.456, -7e-7,  42};
    char *path = tu_path(g_dir, "fuzz.svg");
    uint64_t rng = 12345;
    char label[32];
    quiet_stderr(1);
    for (int iter = 0; iter < 300; iter++) {
        plot_data d = {0};
        int nseries = (int)(tu_rand(&rng) % 16);
        int64_t base = (int64_t)tu_rand(&rng);
        int64_t step = (int64_t)(tu_rand(&rng) % 5 == 0 ? tu_rand(&rng) >> (tu_rand(&rng) % 64)
                                                        : tu_rand(&rng) % (2 * HOUR));
        for (int s = 0; s < nseries; s++) {
            int npts = (int)(tu_rand(&rng) % 40);
            snprintf(label, sizeof label, "s%d", s);
            for (int k = 0; k < npts; k++) {
                uint64_t r = tu_rand(&rng);
                double v = r % 3 == 0 ? special[r / 3 % (sizeof special / sizeof special[0])]
                                      : (double)(int64_t)tu_rand(&rng) / 1e12;
                int64_t t = r % 7 == 0 ? (int64_t)tu_rand(&rng)
                                       : (int64_t)((uint64_t)base + (uint64_t)k * (uint64_t)step);
                TU_CHECK(plot_add(&d, label, t, v) == 0, "plot_add");
            }
        }
        if (tu_rand(&rng) % 2)
            d.title = strdup("fuzz");
        char *svg, *text;
        int has_finite = 0;
        for (size_t s = 0; s < d.n; s++)
            for (size_t k = 0; k < d.s[s].n; k++)
                has_finite |= isfinite(d.s[s].v[k]) != 0;
        int rc = draw_both(&d, path, &svg, &text);
        TU_CHECK(rc == (has_finite ? 0 : -1), "iteration %d: plot_svg returned %d", iter, rc);
        TU_CHECK(!has_finite || count_of(svg, "<path class=\"series\"") == d.n,
                 "iteration %d: paths", iter);
        free(svg);
        free(text);
        plot_free(&d);
    }
    quiet_stderr(0);
    free(path);
}
END_TEST

Suite *qcli_suite(void); /* found by the runner (suites.h) */

Suite *qcli_suite(void)
{
    Suite *s = suite_create("qcli");
    TCase *tc = tcase_create("query");
    tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
    tcase_add_test(tc, test_format_csv);
    tcase_add_test(tc, test_format_json);
    tcase_add_test(tc, test_format_ndjson);
    tcase_add_test(tc, test_format_table);
    tcase_add_test(tc, test_epoch_ns);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_plot_svg_file);
    tcase_add_test(tc, test_plot_terminal_cli);
    suite_add_tcase(s, tc);
    tc = tcase_create("shell");
    tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
    tcase_add_test(tc, test_shell_format_multiline);
    tcase_add_test(tc, test_shell_timer);
    tcase_add_test(tc, test_shell_unknown_command);
    tcase_add_test(tc, test_shell_explain);
    tcase_add_test(tc, test_shell_statements);
    tcase_add_test(tc, test_shell_terminal);
    suite_add_tcase(s, tc);
    tc = tcase_create("plot");
    tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
    tcase_add_test(tc, test_plot_empty);
    tcase_add_test(tc, test_plot_one_point);
    tcase_add_test(tc, test_plot_gaps_constant_order);
    tcase_add_test(tc, test_plot_many_series);
    tcase_add_test(tc, test_plot_extremes);
    tcase_add_test(tc, test_plot_colours_on_a_terminal);
    tcase_add_test(tc, test_plot_fuzz);
    suite_add_tcase(s, tc);
    return s;
}
