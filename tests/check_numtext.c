/*
 * check_numtext.c — numbers as text: exact parsing (against glibc's
 * correctly rounded strtod), the shortest round-trip formatter (against a
 * brute force over printf precisions), malformed input and range limits.
 */
#include "engine/numtext.h"
#include "tests/testutil.h"

#include <check.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_str(const char *s, double *v)
{
    return num_parse_f64(s, strlen(s), v);
}

static uint64_t bits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

static double from_bits(uint64_t u)
{
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

#define ck_assert_same(got, want)                                                                  \
    ck_assert_msg(bits(got) == bits(want), "got %.17g (%016llx), want %.17g (%016llx)", (got),     \
                  (unsigned long long)bits(got), (want), (unsigned long long)bits(want))

static void check_parse(const char *s, double want)
{
    double v = 12345;
    ck_assert_msg(parse_str(s, &v) == 0, "parse '%s' failed", s);
    ck_assert_msg(bits(v) == bits(want), "'%s': got %.17g, want %.17g", s, v, want);
}

START_TEST(parse_known)
{
    check_parse("0", 0.0);
    check_parse("-0", -0.0);
    check_parse("+0.000e99999", 0.0);
    check_parse("1", 1.0);
    check_parse("-1.5", -1.5);
    check_parse(".5", 0.5);
    check_parse("5.", 5.0);
    check_parse("1e10", 1e10);
    check_parse("1E-5", 1e-5);
    check_parse("+3", 3.0);
    check_parse("0.1", 0.1);
    check_parse("1e23", 1e23);
    check_parse("8.41e21", 8.41e21);
    check_parse("1e37", 1e37); /* extended fast path */
    check_parse("123456789e30", 123456789e30);
    check_parse("5e-324", 5e-324);
    check_parse("4.9406564584124654e-324", 4.9406564584124654e-324);
    check_parse("2.2250738585072011e-308", 2.2250738585072011e-308);
    check_parse("2.2250738585072014e-308", DBL_MIN);
    check_parse("1.7976931348623157e308", DBL_MAX);
    check_parse("1.7976931348623158e308", DBL_MAX);      /* below the midpoint to 2^1024 */
    check_parse("9007199254740993", 9007199254740992.0); /* 2^53+1: tie, to even */
    check_parse("9007199254740993.0000000000000000000000001", 9007199254740994.0);
    check_parse("9007199254740995", 9007199254740996.0);
    check_parse("45.12345", 45.12345);
    check_parse("-0.533333333333333", -0.533333333333333);
    check_parse("0.30000000000000004", 0.30000000000000004);
    check_parse("0.1000000000000000055511151231257827021181583404541015625", 0.1);
    check_parse("000000000000000000000000000000000000001.5", 1.5);
    check_parse("0.000000000000000000000000000000000000000000000001", 1e-48);
    check_parse("12345678901234567890123", 12345678901234567890123.0);
    check_parse("1e-400", 0.0);
    check_parse("-1e-400", -0.0);
    check_parse("1e-99999999999999999999", 0.0);
    check_parse("2.4703282292062328e-324", 5e-324);
    check_parse("2.4703282292062327e-324", 0.0);
}
END_TEST

/* Long inputs: the truncation to 768 digits plus a sticky digit must not
 * change the rounding of a halfway case decided far to the right. */
START_TEST(parse_long)
{
    size_t n = 5000;
    char *s = malloc(n + 64);
    strcpy(s, "9007199254740993.");
    size_t len = strlen(s);
    memset(s + len, '0', n);
    s[len + n] = 0;
    check_parse(s, 9007199254740992.0); /* exactly halfway: to even */
    s[len + n - 1] = '1';
    check_parse(s, 9007199254740994.0); /* a hair above */
    /* the same as an integer with a negative exponent */
    s[len - 1] = '0';
    strcpy(s + len + n, "e-5001");
    check_parse(s, 9007199254740994.0);
    s[len + n - 1] = '0';
    check_parse(s, 9007199254740992.0);
    /* 0.000...0001e5000 == 1 */
    strcpy(s, "0.");
    memset(s + 2, '0', n - 1);
    strcpy(s + 2 + n - 1, "1e5000");
    check_parse(s, 1.0);
    free(s);
}
END_TEST

START_TEST(parse_special)
{
    const char *nans[] = {"nan", "NaN", "NAN", "-nan", "+NaN"};
    for (size_t i = 0; i < sizeof nans / sizeof *nans; i++) {
        double v = 0;
        ck_assert_int_eq(parse_str(nans[i], &v), 0);
        ck_assert(isnan(v));
    }
    check_parse("inf", INFINITY);
    check_parse("Inf", INFINITY);
    check_parse("+Inf", INFINITY);
    check_parse("-Inf", -INFINITY);
    check_parse("infinity", INFINITY);
    check_parse("-INFINITY", -INFINITY);
    check_parse("InFiNiTy", INFINITY);
}
END_TEST

START_TEST(parse_malformed)
{
    const char *bad[] = {"",    "+",     "-",     ".",   "+.",      "e5",  "1e",    "1e+",
                         "1e-", "1.2.3", " 1",    "1 ",  "0x10",    "1f",  "nanx",  "in",
                         "--1", "+-1",   "1e5.5", "..1", "infinit", "1,5", "1e5e5", "1_000",
                         "na",  "-",     "+inf+", "1d",  "\t1",     "1.e", "e",     "E-1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        double v = 42;
        ck_assert_msg(parse_str(bad[i], &v) == -1, "'%s' accepted", bad[i]);
        ck_assert(v == 42);
    }
    /* A NUL inside the span is malformed, not the end of the text. */
    double v;
    ck_assert_int_eq(num_parse_f64("1\0", 2, &v), -1);
    /* The span ends where len says, not at a NUL. */
    ck_assert_int_eq(num_parse_f64("12345", 2, &v), 0);
    ck_assert(v == 12.0);
}
END_TEST

START_TEST(parse_overflow)
{
    const char *big[] = {"1e309",
                         "-1e309",
                         "1.8e308",
                         "1e99999999999999999999",
                         "17976931348623159077293051907890247336179769789423065727343008115"
                         "77326758055009631327084773224075360211201138798713933576587897688"
                         "14416622492847430639474124377767893424865485276302219601246094119"
                         "45308295208500576883815068234246288147391311054082723716335051068"
                         "4586298239947245938479716304835356329624224137216",
                         "0.0000001e316"};
    for (size_t i = 0; i < sizeof big / sizeof *big; i++) {
        double v = 42;
        ck_assert_msg(parse_str(big[i], &v) == -2, "'%.30s' not an overflow", big[i]);
        ck_assert(v == 42);
    }
}
END_TEST

/* Random decimal texts of every shape, compared with glibc's strtod. */
START_TEST(parse_vs_strtod)
{
    uint64_t st = 0x9e3779b97f4a7c15ULL;
    char s[128];
    for (int i = 0; i < 300000; i++) {
        uint64_t r = tu_rand(&st);
        size_t n = 0;
        if (r & 1)
            s[n++] = '-';
        int ndig = 1 + (int)(tu_rand(&st) % 24);
        int point = (int)(tu_rand(&st) % (unsigned)(ndig + 2)) - 1; /* -1: none */
        for (int k = 0; k < ndig; k++) {
            if (k == point)
                s[n++] = '.';
            s[n++] = (char)('0' + tu_rand(&st) % 10);
        }
        if (r & 2) {
            int ex = (int)(tu_rand(&st) % 700) - 350;
            if ((r & 12) == 0)
                ex = (int)(tu_rand(&st) % 60) - 30;
            n += (size_t)sprintf(s + n, "e%d", ex);
        }
        s[n] = 0;
        double want = strtod(s, NULL), got = 0;
        int rc = num_parse_f64(s, n, &got);
        if (isinf(want)) {
            TU_CHECK(rc == -2, "'%s': rc %d, want overflow", s, rc);
        } else {
            TU_CHECK(rc == 0, "'%s': rc %d", s, rc);
            TU_CHECK(bits(got) == bits(want), "'%s': got %.17g want %.17g", s, got, want);
        }
    }
}
END_TEST

START_TEST(parse_i64)
{
    struct {
        const char *s;
        int rc;
        int64_t v;
    } cases[] = {
        {"0", 0, 0},
        {"-0", 0, 0},
        {"+5", 0, 5},
        {"42", 0, 42},
        {"-17", 0, -17},
        {"9223372036854775807", 0, INT64_MAX},
        {"-9223372036854775808", 0, INT64_MIN},
        {"0000000000000000000000000000001", 0, 1},
        {"000000000000000000000009223372036854775807", 0, INT64_MAX},
        {"-000000000000000000000009223372036854775808", 0, INT64_MIN},
        {"1704110400000000000", 0, 1704110400000000000LL},
        {"12345678", 0, 12345678},
        {"1234567890123456", 0, 1234567890123456LL},
        {"1234567x90123456", -1, 0},
        {"123456789012345/", -1, 0},
        {"12345678:", -1, 0},
        {"9223372036854775808", -2, 0},
        {"-9223372036854775809", -2, 0},
        {"18446744073709551616", -2, 0},
        {"99999999999999999999999", -2, 0},
        {"", -1, 0},
        {"-", -1, 0},
        {"+", -1, 0},
        {"1.0", -1, 0},
        {"1e3", -1, 0},
        {" 1", -1, 0},
        {"1 ", -1, 0},
        {"12a", -1, 0},
        {"--1", -1, 0},
        {"0x1", -1, 0},
        {"99999999999999999999x", -1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int64_t v = 77;
        int rc = num_parse_i64(cases[i].s, strlen(cases[i].s), &v);
        ck_assert_msg(rc == cases[i].rc, "'%s': rc %d want %d", cases[i].s, rc, cases[i].rc);
        if (rc == 0)
            ck_assert_msg(v == cases[i].v, "'%s': %lld", cases[i].s, (long long)v);
        else
            ck_assert(v == 77);
    }
}
END_TEST

START_TEST(format_i64)
{
    char buf[NUM_I64_BUFSZ];
    ck_assert_uint_eq(num_format_i64(0, buf), 1);
    ck_assert_str_eq(buf, "0");
    ck_assert_uint_eq(num_format_i64(-42, buf), 3);
    ck_assert_str_eq(buf, "-42");
    ck_assert_uint_eq(num_format_i64(INT64_MAX, buf), 19);
    ck_assert_str_eq(buf, "9223372036854775807");
    ck_assert_uint_eq(num_format_i64(INT64_MIN, buf), 20);
    ck_assert_str_eq(buf, "-9223372036854775808");
    uint64_t st = 7;
    for (int i = 0; i < 100000; i++) {
        int64_t v = (int64_t)tu_rand(&st) >> (tu_rand(&st) % 64), back;
        size_t n = num_format_i64(v, buf);
        TU_CHECK(n == strlen(buf) && num_parse_i64(buf, n, &back) == 0 && back == v, "%lld -> '%s'",
                 (long long)v, buf);
    }
}
END_TEST

static void check_format(double v, const char *want)
{
    char buf[NUM_F64_BUFSZ];
    size_t n = num_format_f64(v, buf);
    ck_assert_msg(strcmp(buf, want) == 0, "%.17g: got '%s' want '%s'", v, buf, want);
    ck_assert_uint_eq(n, strlen(want));
}

START_TEST(format_known)
{
    check_format(0.0, "0");
    check_format(-0.0, "-0");
    check_format(NAN, "NaN");
    check_format(-NAN, "NaN");
    check_format(from_bits(0x7ff0000000000123ULL), "NaN");
    check_format(INFINITY, "+Inf");
    check_format(-INFINITY, "-Inf");
    check_format(1.0, "1");
    check_format(-1.0, "-1");
    check_format(1500.0, "1500");
    check_format(0.1, "0.1");
    check_format(-1.5, "-1.5");
    check_format(45.12345, "45.12345");
    check_format(45.24277, "45.24277");
    check_format(-91.78158, "-91.78158");
    check_format(-0.533333333333333, "-0.533333333333333");
    check_format(0.30000000000000004, "0.30000000000000004");
    check_format(1e23, "1e+23");
    check_format(1e22, "1e+22");
    check_format(1e17, "1e+17");
    check_format(1e16, "10000000000000000");
    check_format(123456789012345678.0, "1.2345678901234568e+17");
    check_format(9007199254740992.0, "9007199254740992");
    check_format(9007199254740994.0, "9007199254740994");
    check_format(1125899906842624.5, "1125899906842624.5");
    check_format(5e-324, "5e-324");
    check_format(-5e-324, "-5e-324");
    check_format(DBL_MIN, "2.2250738585072014e-308");
    check_format(DBL_MAX, "1.7976931348623157e+308");
    check_format(0.0001, "0.0001");
    check_format(0.00001, "1e-05");
    check_format(0.000123, "0.000123");
    check_format(1.5e-7, "1.5e-07");
    check_format(1.5e300, "1.5e+300");
    check_format(100.5, "100.5");
    check_format(1.0 / 3.0, "0.3333333333333333");
    check_format(2.0 / 3.0, "0.6666666666666666");
    check_format(0.1 + 0.7, "0.7999999999999999");
    check_format(123456.789, "123456.789");
    check_format(1e-22, "1e-22");
    check_format(1.7e-23, "1.7e-23");
    check_format(4.35, "4.35");
    check_format(928.7, "928.7");
}
END_TEST

/* The significant digits of a formatted number: its digits before any
 * exponent, without leading and trailing zeros. */
static int sig_digits(const char *s)
{
    char d[40];
    int n = 0;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9')
            d[n++] = *s;
    int a = 0;
    while (a < n && d[a] == '0')
        a++;
    while (n > a && d[n - 1] == '0')
        n--;
    return n - a;
}

/* The fewest %.Ng digits that parse back to v. */
static int brute_shortest(double v)
{
    char tmp[64];
    for (int p = 1; p <= 17; p++) {
        snprintf(tmp, sizeof tmp, "%.*g", p, v);
        if (bits(strtod(tmp, NULL)) == bits(v))
            return p;
    }
    return 99;
}

static void check_roundtrip(double v, int brute)
{
    char buf[NUM_F64_BUFSZ], ref[64];
    size_t n = num_format_f64(v, buf);
    TU_CHECK(n == strlen(buf) && n < NUM_F64_BUFSZ, "%.17g: bad length", v);
    double back;
    TU_CHECK(num_parse_f64(buf, n, &back) == 0, "'%s' does not parse", buf);
    TU_CHECK(bits(back) == bits(v), "%.17g -> '%s' -> %.17g", v, buf, back);
    TU_CHECK(bits(strtod(buf, NULL)) == bits(v), "'%s' strtod mismatch", buf);
    int rn = snprintf(ref, sizeof ref, "%.17g", v);
    TU_CHECK(n <= (size_t)rn, "'%s' longer than '%s'", buf, ref);
    if (brute && v != 0) {
        int want = brute_shortest(v);
        TU_CHECK(sig_digits(buf) == want, "%.17g -> '%s': %d digits, shortest %d", v, buf,
                 sig_digits(buf), want);
    }
}

START_TEST(format_random_bits)
{
    uint64_t st = 0x1234567887654321ULL;
    for (int i = 0; i < 200000; i++) {
        double v = from_bits(tu_rand(&st));
        if (!isfinite(v))
            continue;
        check_roundtrip(v, i % 16 == 0);
    }
}
END_TEST

/* Doubles of moderate magnitude (where the short-decimal fast path runs),
 * binade edges, and short decimals like real readings. */
START_TEST(format_random_shapes)
{
    uint64_t st = 0xfeedfacecafebeefULL;
    for (int i = 0; i < 120000; i++) {
        uint64_t r = tu_rand(&st);
        double v;
        switch (i % 4) {
        case 0: /* exponent in 2^-80 .. 2^60 */
            v = from_bits((r & 0x800fffffffffffffULL) |
                          ((uint64_t)(1023 - 80 + (int)(tu_rand(&st) % 140)) << 52));
            break;
        case 1: { /* m / 10^k with few digits */
            uint64_t m = tu_rand(&st) % (uint64_t)pow(10, 1 + (double)(r % 16));
            int k = (int)(tu_rand(&st) % 30);
            char s[64];
            snprintf(s, sizeof s, "%llue-%d", (unsigned long long)m, k);
            v = strtod(s, NULL);
            if (r & (1ULL << 40))
                v = -v;
            break;
        }
        case 2: /* powers of two and their neighbours */
            v = ldexp(1.0, (int)(r % 2000) - 1000);
            if (r & (1ULL << 41))
                v = nextafter(v, 0);
            else if (r & (1ULL << 42))
                v = nextafter(v, INFINITY);
            break;
        default: /* subnormals */ v = from_bits(r & 0x800fffffffffffffULL); break;
        }
        check_roundtrip(v, i % 4 != 0 || i % 16 == 0);
    }
}
END_TEST

Suite *numtext_suite(void); /* collected by run_tests.c */

Suite *numtext_suite(void)
{
    Suite *s = suite_create("numtext");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, parse_known);
    tcase_add_test(tc, parse_long);
    tcase_add_test(tc, parse_special);
    tcase_add_test(tc, parse_malformed);
    tcase_add_test(tc, parse_overflow);
    tcase_add_test(tc, parse_vs_strtod);
    tcase_add_test(tc, parse_i64);
    suite_add_tcase(s, tc);
    tc = tcase_create("format");
    tcase_add_test(tc, format_i64);
    tcase_add_test(tc, format_known);
    tcase_add_test(tc, format_random_bits);
    tcase_add_test(tc, format_random_shapes);
    suite_add_tcase(s, tc);
    return s;
}
