/*
 * check_timetext.c — times and durations as text: known instants, every
 * accepted form, invalid dates and ranges, the ends of the int64 range,
 * and round trips checked against the C library's gmtime_r.
 */
#include "engine/timetext.h"
#include "tests/testutil.h"

#include <check.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define S 1000000000LL

static void check_time(const char *s, int64_t want)
{
    int64_t v = 12345;
    ck_assert_msg(time_parse(s, strlen(s), &v) == 0, "'%s' rejected", s);
    ck_assert_msg(v == want, "'%s': got %lld want %lld", s, (long long)v, (long long)want);
}

static void check_bad_time(const char *s)
{
    int64_t v = 12345;
    ck_assert_msg(time_parse(s, strlen(s), &v) == -1, "'%s' accepted", s);
    ck_assert(v == 12345);
}

START_TEST(parse_known)
{
    check_time("1970-01-01T00:00:00Z", 0);
    check_time("1970-01-01", 0);
    check_time("2024-01-01T12:00:00Z", 1704110400000000000LL);
    check_time("2024-01-01t12:00:00z", 1704110400000000000LL);
    check_time("2024-01-01 12:00:00", 1704110400000000000LL);
    check_time("2024-01-01T12:00:00", 1704110400000000000LL);
    check_time("2024-01-01 12:00:00Z", 1704110400000000000LL);
    check_time("2024-01-01T20:00:00+08:00", 1704110400000000000LL);
    check_time("2024-01-01T06:30:00-05:30", 1704110400000000000LL);
    check_time("2024-01-01T12:00:00+00:00", 1704110400000000000LL);
    check_time("2024-01-01", 1704067200 * S);
    check_time("2024-02-29", 1709164800 * S);
    check_time("2000-02-29", 951782400 * S);
    check_time("1900-03-01", -2203891200 * S);
    check_time("1969-12-31T23:59:59Z", -S);
    check_time("1969-12-31T23:59:59.5Z", -S / 2);
    check_time("2024-01-01T12:00:00.5Z", 1704110400500000000LL);
    check_time("2024-01-01T12:00:00.123456789Z", 1704110400123456789LL);
    check_time("2024-01-01T12:00:00.000000001Z", 1704110400000000001LL);
    check_time("2024-01-01T12:00:00.1+01:00", 1704106800100000000LL);
    check_time("1677-09-21T00:12:43.145224192Z", INT64_MIN);
    check_time("2262-04-11T23:47:16.854775807Z", INT64_MAX);
    check_time("2262-04-12T07:47:16.854775807+08:00", INT64_MAX);
    check_time("1704110400000000000", 1704110400000000000LL);
    check_time("0", 0);
    check_time("2024", 2024); /* a bare integer is ns, even when it looks like a year */
    check_time("-5", -5);
    check_time("+5", 5);
    check_time("-9223372036854775808", INT64_MIN);
}
END_TEST

START_TEST(parse_invalid)
{
    const char *bad[] = {
        "",
        "abc",
        "-",
        "2024-01",
        "2024-13-01",
        "2024-00-10",
        "2024-01-00",
        "2024-01-32",
        "2024-04-31",
        "2023-02-29",
        "1900-02-29",
        "2024-1-01",
        "24-01-01",
        "-2024-01-01",
        "+2024-01-01",
        "2024/01/01",
        "2024-01-01T",
        "2024-01-01X12:00:00Z",
        "2024-01-01T24:00:00Z",
        "2024-01-01T12:60:00Z",
        "2024-01-01T12:00:60Z", /* leap seconds are rejected */
        "2024-01-01T12:00Z",
        "2024-01-01T1:00:00Z",
        "2024-01-01T12:00:00.Z",
        "2024-01-01T12:00:00.1234567890Z",
        "2024-01-01T12:00:00ZZ",
        "2024-01-01T12:00:00 Z",
        "2024-01-01T12:00:00+08",
        "2024-01-01T12:00:00+0800",
        "2024-01-01T12:00:00+24:00",
        "2024-01-01T12:00:00+08:60",
        "2024-01-01T12:00:00Z ",
        " 2024-01-01",
        "2024-01-01 ",
        "1677-09-21T00:12:43.145224191Z", /* one ns before INT64_MIN */
        "2262-04-11T23:47:16.854775808Z", /* one ns after INT64_MAX */
        "2262-04-12",
        "1677-09-21",
        "0000-01-01",
        "9999-12-31T23:59:59Z",
        "9223372036854775808",
        "-9223372036854775809",
        "12a",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        check_bad_time(bad[i]);
    /* The span ends where len says. */
    int64_t v;
    ck_assert_int_eq(time_parse("2024-01-01T12:00:00Zjunk", 20, &v), 0);
    ck_assert(v == 1704110400000000000LL);
}
END_TEST

static void check_format(int64_t ns, const char *want)
{
    char buf[TIME_RFC3339_BUFSZ];
    size_t n = time_format_rfc3339(ns, buf);
    ck_assert_str_eq(buf, want);
    ck_assert_uint_eq(n, strlen(want));
}

START_TEST(format_known)
{
    check_format(0, "1970-01-01T00:00:00Z");
    check_format(1704110400000000000LL, "2024-01-01T12:00:00Z");
    check_format(1704110400500000000LL, "2024-01-01T12:00:00.5Z");
    check_format(1704110400000000001LL, "2024-01-01T12:00:00.000000001Z");
    check_format(1704110400120000000LL, "2024-01-01T12:00:00.12Z");
    check_format(1709164800 * S, "2024-02-29T00:00:00Z");
    check_format(-1, "1969-12-31T23:59:59.999999999Z");
    check_format(-S, "1969-12-31T23:59:59Z");
    check_format(-S / 2, "1969-12-31T23:59:59.5Z");
    check_format(-2203891200 * S, "1900-03-01T00:00:00Z");
    check_format(INT64_MIN, "1677-09-21T00:12:43.145224192Z");
    check_format(INT64_MAX, "2262-04-11T23:47:16.854775807Z");
}
END_TEST

/* Random instants: the formatted calendar fields agree with gmtime_r, and
 * parsing the text gives the same ns back. */
START_TEST(roundtrip_random)
{
    uint64_t st = 0xabcdef0123456789ULL;
    char buf[TIME_RFC3339_BUFSZ], ref[64];
    for (int i = 0; i < 300000; i++) {
        uint64_t r = tu_rand(&st);
        int64_t ns = (int64_t)r;
        if (i % 3 == 1)
            ns -= ns % S; /* whole seconds */
        else if (i % 3 == 2)
            ns >>= (r >> 58); /* nearer the epoch */
        size_t n = time_format_rfc3339(ns, buf);
        TU_CHECK(n == strlen(buf) && n < TIME_RFC3339_BUFSZ, "%lld: '%s'", (long long)ns, buf);
        int64_t back = 0;
        TU_CHECK(time_parse(buf, n, &back) == 0 && back == ns, "%lld -> '%s' -> %lld",
                 (long long)ns, buf, (long long)back);
        time_t secs = (time_t)(ns / S - (ns % S < 0));
        struct tm tm;
        TU_CHECK(gmtime_r(&secs, &tm) != NULL, "gmtime_r");
        strftime(ref, sizeof ref, "%Y-%m-%dT%H:%M:%S", &tm);
        TU_CHECK(strncmp(buf, ref, 19) == 0, "%lld: '%s' vs gmtime '%s'", (long long)ns, buf, ref);
    }
}
END_TEST

static void check_dur(const char *s, int64_t want)
{
    int64_t v = 12345;
    ck_assert_msg(duration_parse(s, strlen(s), &v) == 0, "'%s' rejected", s);
    ck_assert_msg(v == want, "'%s': got %lld want %lld", s, (long long)v, (long long)want);
}

START_TEST(duration)
{
    check_dur("10s", 10 * S);
    check_dur("1d", 86400 * S);
    check_dur("1h30m", 5400 * S);
    check_dur("500ms", 500000000);
    check_dur("1w", 7 * 86400 * S);
    check_dur("10us", 10000);
    check_dur("10\xc2\xb5s", 10000); /* µ, micro sign */
    check_dur("10\xce\xbcs", 10000); /* μ, Greek mu */
    check_dur("10ns", 10);
    check_dur("2m", 120 * S);
    check_dur("1m30s", 90 * S);
    check_dur("1s1ms1us1ns", 1001001001);
    check_dur("0s", 0);
    check_dur("007m", 420 * S);
    check_dur("9223372036854775807ns", INT64_MAX);
    check_dur("106751d", 106751LL * 86400 * S);

    const char *bad[] = {"",
                         "10",
                         "s",
                         "1.5h",
                         "-1s",
                         "+1s",
                         "1x",
                         "1 s",
                         "1hm",
                         "10\xc2\xb5",
                         "1S",
                         "1h1",
                         " 1s",
                         "1s ",
                         "106752d",
                         "9223372036854775808ns",
                         "99999999999999999999999s",
                         "15251w",
                         "1d9223372036854775807ns"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int64_t v = 12345;
        ck_assert_msg(duration_parse(bad[i], strlen(bad[i]), &v) == -1, "'%s' accepted", bad[i]);
        ck_assert(v == 12345);
    }
}
END_TEST

Suite *timetext_suite(void); /* collected by run_tests.c */

Suite *timetext_suite(void)
{
    Suite *s = suite_create("timetext");
    TCase *tc = tcase_create("time");
    tcase_add_test(tc, parse_known);
    tcase_add_test(tc, parse_invalid);
    tcase_add_test(tc, format_known);
    tcase_add_test(tc, roundtrip_random);
    suite_add_tcase(s, tc);
    tc = tcase_create("duration");
    tcase_add_test(tc, duration);
    suite_add_tcase(s, tc);
    return s;
}
