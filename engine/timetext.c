/*
 * timetext.c — times and durations as text (see timetext.h for the
 * accepted forms).
 *
 * Calendar arithmetic counts days from 1970-01-01 in 400-year eras of
 * 146097 days each, with years starting on March 1 so that the leap day
 * is the last day of a year: the day of the year is then a linear
 * function of the month ((153 * m + 2) / 5 for months counted from
 * March), and no table is needed.  This is Howard Hinnant's
 * days_from_civil/civil_from_days construction.
 *
 * int64 ns overflows only at the ends of the range; seconds are computed
 * first (they cannot overflow for four-digit years) and scaled with
 * checked arithmetic.  A negative second count with a positive fraction
 * is rebalanced first, so that INT64_MIN itself is reachable.
 */
#include "engine/timetext.h"

#include "engine/numtext.h"

#include <stdio.h>

#define NS_PER_S 1000000000LL

static inline unsigned digit(char c)
{
    return (unsigned)(unsigned char)c - '0';
}

/* Two decimal digits at p, or -1. */
static int two_digits(const char *p)
{
    unsigned a = digit(p[0]), b = digit(p[1]);
    if (a > 9 || b > 9)
        return -1;
    return (int)(a * 10 + b);
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
    static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Days since 1970-01-01 of the date y-m-d (m 1-12, d 1-31). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    if (m <= 2)
        y--; /* January and February belong to the previous March-year */
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                         /* 0..399 */
    int64_t mar = m > 2 ? m - 3 : m + 9;                 /* 0 = March */
    int64_t doy = (153 * mar + 2) / 5 + d - 1;           /* 0..365 */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; /* 0..146096 */
    return era * 146097 + doe - 719468;                  /* 719468: 0000-03-01 to 1970-01-01 */
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mar = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mar + 2) / 5 + 1);
    *m = (int)(mar < 10 ? mar + 3 : mar - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* secs * 1e9 + frac (0 <= frac < 1e9) without intermediate overflow. */
static int scale_ns(int64_t secs, int64_t frac, int64_t *out)
{
    if (secs < 0 && frac > 0) {
        secs++;
        frac -= NS_PER_S;
    }
    int64_t ns;
    if (__builtin_mul_overflow(secs, NS_PER_S, &ns) || __builtin_add_overflow(ns, frac, &ns))
        return -1;
    *out = ns;
    return 0;
}

int time_parse(const char *s, size_t len, int64_t *out_ns)
{
    if (len == 0)
        return -1;
    size_t i = s[0] == '-' || s[0] == '+';
    while (i < len && digit(s[i]) <= 9)
        i++;
    if (i == len)
        return num_parse_i64(s, len, out_ns) == 0 ? 0 : -1;

    if (len < 10 || s[4] != '-' || s[7] != '-')
        return -1;
    int yh = two_digits(s), yl = two_digits(s + 2);
    int mon = two_digits(s + 5), day = two_digits(s + 8);
    if (yh < 0 || yl < 0 || mon < 1 || mon > 12 || day < 1)
        return -1;
    int64_t year = yh * 100 + yl;
    if (day > days_in_month(year, mon))
        return -1;
    int hh = 0, mm = 0, ss = 0;
    int64_t frac = 0, offset = 0;
    size_t p = 10;
    if (p < len) {
        if (s[p] != 'T' && s[p] != 't' && s[p] != ' ')
            return -1;
        p++;
        if (len - p < 8 || s[p + 2] != ':' || s[p + 5] != ':')
            return -1;
        hh = two_digits(s + p);
        mm = two_digits(s + p + 3);
        ss = two_digits(s + p + 6);
        if (hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 59)
            return -1;
        p += 8;
        if (p < len && s[p] == '.') {
            p++;
            int nd = 0;
            while (p < len && digit(s[p]) <= 9) {
                if (++nd > 9)
                    return -1;
                frac = frac * 10 + digit(s[p]);
                p++;
            }
            if (nd == 0)
                return -1;
            for (; nd < 9; nd++)
                frac *= 10;
        }
        if (p < len && (s[p] == 'Z' || s[p] == 'z')) {
            p++;
        } else if (p < len && (s[p] == '+' || s[p] == '-')) {
            if (len - p < 6 || s[p + 3] != ':')
                return -1;
            int oh = two_digits(s + p + 1), om = two_digits(s + p + 4);
            if (oh < 0 || oh > 23 || om < 0 || om > 59)
                return -1;
            offset = (oh * 3600 + om * 60) * (s[p] == '-' ? -1 : 1);
            p += 6;
        }
        if (p != len)
            return -1;
    }
    /* Local time = UTC + offset, so UTC = local - offset. */
    int64_t secs = days_from_civil(year, mon, day) * 86400 + hh * 3600 + mm * 60 + ss - offset;
    return scale_ns(secs, frac, out_ns);
}

static char *put2(char *p, int v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
    return p + 2;
}

size_t time_format_rfc3339(int64_t ns, char *buf)
{
    int64_t secs = ns / NS_PER_S, frac = ns % NS_PER_S;
    if (frac < 0) {
        frac += NS_PER_S;
        secs--;
    }
    int64_t days = secs / 86400, sod = secs % 86400;
    if (sod < 0) {
        sod += 86400;
        days--;
    }
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    /* int64 ns spans the years 1677..2262: always four digits. */
    char *p = put2(buf, (int)(y / 100));
    p = put2(p, (int)(y % 100));
    *p++ = '-';
    p = put2(p, m);
    *p++ = '-';
    p = put2(p, d);
    *p++ = 'T';
    p = put2(p, (int)(sod / 3600));
    *p++ = ':';
    p = put2(p, (int)(sod / 60 % 60));
    *p++ = ':';
    p = put2(p, (int)(sod % 60));
    if (frac) {
        *p++ = '.';
        int nd = 9;
        while (frac % 10 == 0) {
            frac /= 10;
            nd--;
        }
        for (int i = nd - 1; i >= 0; i--) {
            p[i] = (char)('0' + frac % 10);
            frac /= 10;
        }
        p += nd;
    }
    *p++ = 'Z';
    *p = 0;
    return (size_t)(p - buf);
}

int duration_parse(const char *s, size_t len, int64_t *out_ns)
{
    const char *p = s, *end = s + len;
    int64_t total = 0;
    if (p == end)
        return -1;
    while (p < end) {
        if (digit(*p) > 9)
            return -1;
        int64_t n = 0;
        for (; p < end && digit(*p) <= 9; p++)
            if (__builtin_mul_overflow(n, 10, &n) || __builtin_add_overflow(n, digit(*p), &n))
                return -1;
        int64_t unit;
        size_t left = (size_t)(end - p);
        if (left >= 2 && p[0] == 'n' && p[1] == 's') {
            unit = 1;
            p += 2;
        } else if (left >= 2 && p[0] == 'u' && p[1] == 's') {
            unit = 1000;
            p += 2;
        } else if (left >= 3 &&
                   ((p[0] == '\xc2' && p[1] == '\xb5') ||  /* U+00B5 micro sign */
                    (p[0] == '\xce' && p[1] == '\xbc')) && /* U+03BC mu */
                   p[2] == 's') {
            unit = 1000;
            p += 3;
        } else if (left >= 2 && p[0] == 'm' && p[1] == 's') {
            unit = 1000000;
            p += 2;
        } else if (left >= 1) {
            switch (*p++) {
            case 's': unit = NS_PER_S; break;
            case 'm': unit = 60 * NS_PER_S; break;
            case 'h': unit = 3600 * NS_PER_S; break;
            case 'd': unit = 86400 * NS_PER_S; break;
            case 'w': unit = 7 * 86400 * NS_PER_S; break;
            default: return -1;
            }
        } else {
            return -1; /* a number without a unit */
        }
        if (__builtin_mul_overflow(n, unit, &n) || __builtin_add_overflow(total, n, &total))
            return -1;
    }
    *out_ns = total;
    return 0;
}

size_t duration_format(int64_t ns, char *buf)
{
    static const struct {
        int64_t ns;
        const char *unit;
    } units[] = {{86400 * NS_PER_S, "d"}, {3600 * NS_PER_S, "h"}, {60 * NS_PER_S, "m"},
                 {NS_PER_S, "s"},         {1000000, "ms"},        {1000, "us"},
                 {1, "ns"}};
    char *p = buf;
    if (ns <= 0) {
        *p++ = '0';
        *p++ = 's';
        *p = 0;
        return 2;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        int64_t n = ns / units[i].ns;
        if (!n)
            continue;
        ns -= n * units[i].ns;
        p += sprintf(p, "%lld%s", (long long)n, units[i].unit);
    }
    return (size_t)(p - buf);
}
