/*
 * numtext.c — numbers as text (see numtext.h for the rules).
 *
 * Parsing float64.  One pass validates the grammar and, when the mantissa
 * has at most 19 digits after the integer part's leading zeros, gathers
 * them exactly into a uint64 m and a decimal exponent e, value = m * 10^e.
 * Clinger's fast path then covers almost all telemetry:
 * when m <= 2^53 and |e| <= 22, m and 10^|e| are both exact doubles and a
 * single IEEE multiply or divide rounds the exact product/quotient once,
 * which is the correct result.  For 22 < e <= 37 the surplus power of ten
 * moves into m when m * 10^(e-22) is still <= 2^53.  Everything else goes
 * to glibc's strtod, which is correctly rounded: the significant digits
 * are copied into a stack buffer as "<digits>e<exp>" (no decimal point, so
 * the locale cannot interfere).  At most 768 digits are copied, followed by
 * a sticky '1' when any dropped digit is non-zero: every double and every
 * midpoint between two doubles has at most 767 significant decimal
 * digits, so none lies strictly between the truncated value and the real
 * one (both lie strictly inside one step of the 768th digit), and both
 * round the same way.  So long inputs need no allocation.
 *
 * Formatting float64.  Integral values below 2^53 print as integers.  For
 * other short decimals (typical readings such as 45.24277) the loop in
 * short_decimal() tries j = 1, 2, ... fractional digits: m = rint(v*10^j)
 * and checks that m / 10^j (the parser's own fast path) gives v back.
 * While v*10^j < 2^50, any decimal with j fractional digits that rounds to
 * v is within 1.5 ulp(v*10^j) <= 3/16 of the computed product, so it is
 * that very m: the first j that works is the shortest, and m is the
 * correctly rounded j-digit decimal, as printf would give.  The rest
 * (values needing 16-17 digits, very large or tiny magnitudes) take the
 * correctly rounded 17 digits from snprintf("%.16e"), derive the 15- and
 * 16-digit roundings from them and keep the first that parses back to the
 * same bits.  Rounding twice equals rounding once unless the dropped
 * digits are exactly 5, 50, ...; then snprintf rounds v itself.  Any
 * normal double whose shortest form has <= 15 digits yields exactly that
 * form at 15 digits (DBL_DIG = 15), and 17 digits always round-trip.
 * Subnormals carry fewer bits, so for them the precisions start at 1.
 */
#include "engine/numtext.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TWO53 9007199254740992ULL
#define SLOW_DIGITS 768 /* significant digits kept for strtod (see above) */

static const double pow10_f[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static const uint64_t pow10_u[16] = {1ULL,
                                     10ULL,
                                     100ULL,
                                     1000ULL,
                                     10000ULL,
                                     100000ULL,
                                     1000000ULL,
                                     10000000ULL,
                                     100000000ULL,
                                     1000000000ULL,
                                     10000000000ULL,
                                     100000000000ULL,
                                     1000000000000ULL,
                                     10000000000000ULL,
                                     100000000000000ULL,
                                     1000000000000000ULL};

static inline unsigned digit(char c)
{
    return (unsigned)(unsigned char)c - '0';
}

/* Case-insensitive s[0..n) == word (word in lower case). */
static int eq_nocase(const char *s, size_t n, const char *word)
{
    if (n != strlen(word))
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((s[i] | 0x20) != word[i])
            return 0;
    return 1;
}

static int parse_special(const char *p, size_t n, int neg, double *out)
{
    double v;
    if (eq_nocase(p, n, "nan"))
        v = NAN;
    else if (eq_nocase(p, n, "inf") || eq_nocase(p, n, "infinity"))
        v = INFINITY;
    else
        return -1;
    *out = neg ? -v : v;
    return 0;
}

/* The correctly rounded value of the validated mantissa text [p, mend)
 * (digits and at most one '.') times 10^expo, via strtod. */
static int parse_slow(const char *p, const char *mend, int64_t expo, int neg, double *out)
{
    char buf[SLOW_DIGITS + 32];
    size_t n = 0;
    int64_t point = 0; /* significant digits before the decimal point */
    int seen_point = 0, sticky = 0;
    if (neg)
        buf[n++] = '-';
    size_t first = n;
    for (; p < mend; p++) {
        if (*p == '.') {
            seen_point = 1;
            continue;
        }
        if (n == first && *p == '0') { /* leading zero */
            if (seen_point)
                point--;
            continue;
        }
        if (!seen_point)
            point++;
        if (n - first < SLOW_DIGITS)
            buf[n++] = *p;
        else if (*p != '0')
            sticky = 1;
    }
    size_t kept = n - first;
    if (kept == 0) {
        *out = neg ? -0.0 : 0.0;
        return 0;
    }
    /* value = 0.d1d2... * 10^(point + expo); |expo| is clamped near 1e10. */
    int64_t p10 = point + expo;
    if (p10 > 310)
        return -2; /* >= 10^309 */
    if (p10 < -330) {
        *out = neg ? -0.0 : 0.0; /* < 10^-330, far below half the least subnormal */
        return 0;
    }
    if (sticky) {
        buf[n++] = '1';
        kept++;
    }
    buf[n++] = 'e';
    num_format_i64(p10 - (int64_t)kept, buf + n);
    double v = strtod(buf, NULL);
    if (isinf(v))
        return -2;
    *out = v;
    return 0;
}

int num_parse_f64(const char *s, size_t len, double *out)
{
    const char *p = s, *end = s + len;
    int neg = 0;
    if (p < end && (*p == '-' || *p == '+')) {
        neg = *p == '-';
        p++;
    }
    if (p == end)
        return -1;
    if (digit(*p) > 9 && *p != '.')
        return parse_special(p, (size_t)(end - p), neg, out);

    /* Up to 19 digits (after leading zeros of the integer part) fit in
     * m exactly; longer mantissas take the slow path. */
    const char *mstart = p;
    while (p < end && *p == '0')
        p++;
    const char *i0 = p;
    uint64_t m = 0;
    unsigned d;
    while (p < end && (d = digit(*p)) <= 9) {
        m = m * 10 + d;
        p++;
    }
    size_t nint = (size_t)(p - i0), nfrac = 0;
    if (p < end && *p == '.') {
        const char *f0 = ++p;
        while (p < end && (d = digit(*p)) <= 9) {
            m = m * 10 + d;
            p++;
        }
        nfrac = (size_t)(p - f0);
    }
    if (i0 == mstart && nint == 0 && nfrac == 0)
        return -1; /* no digit at all */
    const char *mend = p;
    int64_t expo = 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        int eneg = 0;
        if (p < end && (*p == '-' || *p == '+')) {
            eneg = *p == '-';
            p++;
        }
        if (p == end)
            return -1;
        while (p < end && (d = digit(*p)) <= 9) {
            if (expo < 1000000000)
                expo = expo * 10 + d;
            p++;
        }
        if (eneg)
            expo = -expo;
    }
    if (p != end)
        return -1;

    int trunc = nint + nfrac > 19;
    if (m == 0 && !trunc) {
        *out = neg ? -0.0 : 0.0;
        return 0;
    }
    int64_t e = expo - (int64_t)nfrac;
    if (!trunc && m <= TWO53) {
        double v = (double)m;
        if (e == 0) {
            *out = neg ? -v : v;
            return 0;
        }
        if (e > 0 && e <= 22) {
            v *= pow10_f[e];
            *out = neg ? -v : v;
            return 0;
        }
        if (e < 0 && e >= -22) {
            v /= pow10_f[-e];
            *out = neg ? -v : v;
            return 0;
        }
        if (e > 22 && e <= 22 + 15 && m <= TWO53 / pow10_u[e - 22]) {
            v = (double)(m * pow10_u[e - 22]) * 1e22;
            *out = neg ? -v : v;
            return 0;
        }
    }
    return parse_slow(mstart, mend, expo, neg, out);
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* If the 8 bytes at p are all digits, their value (the first byte most
 * significant) in *out.  Lanes are combined pairwise: 8 one-digit bytes
 * become 4 two-digit 16-bit lanes, 2 four-digit 32-bit lanes, 1 number;
 * no lane ever exceeds its width. */
static inline int eight_digits(const char *p, uint64_t *out)
{
    uint64_t v;
    memcpy(&v, p, 8);
    if (((v & 0xF0F0F0F0F0F0F0F0ULL) |
         (((v + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) >> 4)) != 0x3333333333333333ULL)
        return 0;
    v &= 0x0F0F0F0F0F0F0F0FULL;
    v = (v * 10 + (v >> 8)) & 0x00FF00FF00FF00FFULL;
    v = (v * 100 + (v >> 16)) & 0x0000FFFF0000FFFFULL;
    *out = (v * 10000 + (v >> 32)) & 0xFFFFFFFFULL;
    return 1;
}
#else
static inline int eight_digits(const char *p, uint64_t *out)
{
    (void)p;
    (void)out;
    return 0;
}
#endif

int num_parse_i64(const char *s, size_t len, int64_t *out)
{
    const char *p = s, *end = s + len;
    int neg = 0;
    if (p < end && (*p == '-' || *p == '+')) {
        neg = *p == '-';
        p++;
    }
    if (p == end)
        return -1;
    /* Eight digits at a time while the value stays below 10^18. */
    uint64_t u = 0, chunk;
    while (end - p >= 8 && u < 10000000000ULL && eight_digits(p, &chunk)) {
        u = u * 100000000 + chunk;
        p += 8;
    }
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    int range = 0;
    for (; p < end; p++) {
        unsigned d = digit(*p);
        if (d > 9)
            return -1;
        if (u > (limit - d) / 10)
            range = 1;
        else
            u = u * 10 + d;
    }
    if (range)
        return -2;
    *out = neg ? (int64_t)(0 - u) : (int64_t)u;
    return 0;
}

/* Write the decimal digits of u (no sign) at p; returns the count. */
static size_t put_u64(uint64_t u, char *p)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    for (size_t i = 0; i < n; i++)
        p[i] = tmp[n - 1 - i];
    return n;
}

size_t num_format_i64(int64_t v, char *buf)
{
    size_t n = 0;
    uint64_t u = (uint64_t)v;
    if (v < 0) {
        buf[n++] = '-';
        u = 0 - u;
    }
    n += put_u64(u, buf + n);
    buf[n] = 0;
    return n;
}

/* Lay out the significant digits dig[0..nd) (no trailing zeros, nd >= 1)
 * of a value whose first digit has decimal exponent e10, after what is
 * already in buf[0..n).  Plain for -4 <= e10 <= 16, as %.17g does. */
static size_t layout(char *buf, size_t n, const char *dig, int nd, int e10)
{
    if (e10 >= 0 && e10 <= 16) {
        if (nd <= e10 + 1) {
            memcpy(buf + n, dig, (size_t)nd);
            n += (size_t)nd;
            for (int i = nd; i <= e10; i++)
                buf[n++] = '0';
        } else {
            memcpy(buf + n, dig, (size_t)e10 + 1);
            n += (size_t)e10 + 1;
            buf[n++] = '.';
            memcpy(buf + n, dig + e10 + 1, (size_t)(nd - e10 - 1));
            n += (size_t)(nd - e10 - 1);
        }
    } else if (e10 < 0 && e10 >= -4) {
        buf[n++] = '0';
        buf[n++] = '.';
        for (int i = -1; i > e10; i--)
            buf[n++] = '0';
        memcpy(buf + n, dig, (size_t)nd);
        n += (size_t)nd;
    } else {
        buf[n++] = dig[0];
        if (nd > 1) {
            buf[n++] = '.';
            memcpy(buf + n, dig + 1, (size_t)nd - 1);
            n += (size_t)nd - 1;
        }
        buf[n++] = 'e';
        buf[n++] = e10 < 0 ? '-' : '+';
        int a = e10 < 0 ? -e10 : e10;
        if (a >= 100)
            buf[n++] = (char)('0' + a / 100);
        buf[n++] = (char)('0' + a / 10 % 10);
        buf[n++] = (char)('0' + a % 10);
    }
    buf[n] = 0;
    return n;
}

/* The correctly rounded prec significant digits of v > 0 (printf's %.*e)
 * into dig; returns the decimal exponent of the first. */
static int exact_digits(double v, int prec, char *dig)
{
    char tmp[48];
    snprintf(tmp, sizeof tmp, "%.*e", prec - 1, v);
    /* d[.ddd]e±XX; the decimal point is whatever the locale says, so take
     * the digits and skip anything else up to the 'e'. */
    int nd = 0;
    const char *q = tmp;
    for (; *q && *q != 'e'; q++)
        if (digit(*q) <= 9)
            dig[nd++] = *q;
    return atoi(q + 1);
}

/* The fast shortest form of a positive non-integral v (see the file
 * comment), after buf[0..n); 0 when v is not a short decimal. */
static size_t short_decimal(double v, char *buf, size_t n)
{
    for (int j = 1; j <= 22; j++) {
        double t = v * pow10_f[j];
        if (t >= 1125899906842624.0) /* 2^50 */
            return 0;
        /* Adding and subtracting 1.5 * 2^52 rounds t (< 2^51) to an integer. */
        double r = (t + 6755399441055744.0) - 6755399441055744.0;
        if (r / pow10_f[j] != v)
            continue;
        char dig[20];
        uint64_t u = (uint64_t)r;
        int nd = (int)put_u64(u, dig);
        int e10 = nd - 1 - j;
        while (dig[nd - 1] == '0')
            nd--;
        return layout(buf, n, dig, nd, e10);
    }
    return 0;
}

size_t num_format_f64(double v, char *buf)
{
    const double orig = v;
    if (isnan(v)) {
        memcpy(buf, "NaN", 4);
        return 3;
    }
    if (isinf(v)) {
        memcpy(buf, v > 0 ? "+Inf" : "-Inf", 5);
        return 4;
    }
    size_t n = 0;
    if (signbit(v)) {
        buf[n++] = '-';
        v = -v;
    }
    if (v == 0) {
        buf[n++] = '0';
        buf[n] = 0;
        return n;
    }
    if (v < (double)TWO53 && v == (double)(uint64_t)v) {
        n += put_u64((uint64_t)v, buf + n);
        buf[n] = 0;
        return n;
    }
    size_t r = short_decimal(v, buf, n);
    if (r)
        return r;

    /* One exact 17-digit conversion; shorter roundings are derived from
     * it unless its tail is exactly half a unit, where rounding the
     * rounded digits again could differ from rounding v (then ask printf). */
    char dig17[24];
    int e17 = exact_digits(v, 17, dig17);
    /* DBL_DIG holds for normal numbers only; subnormals have fewer bits. */
    for (int prec = v < DBL_MIN ? 1 : 15; prec < 17; prec++) {
        char dig[24];
        int e10 = e17;
        uint64_t tail = 0, half = 5;
        for (int i = prec; i < 17; i++) {
            tail = tail * 10 + digit(dig17[i]);
            if (i > prec)
                half *= 10;
        }
        if (tail == half) {
            e10 = exact_digits(v, prec, dig);
        } else {
            memcpy(dig, dig17, (size_t)prec);
            if (tail > half) {
                int i = prec - 1;
                while (i >= 0 && dig[i] == '9')
                    dig[i--] = '0';
                if (i >= 0) {
                    dig[i]++;
                } else {
                    dig[0] = '1';
                    e10++;
                }
            }
        }
        int nd = prec;
        while (nd > 1 && dig[nd - 1] == '0')
            nd--;
        size_t len = layout(buf, n, dig, nd, e10);
        double back;
        if (num_parse_f64(buf, len, &back) == 0 && memcmp(&back, &orig, sizeof back) == 0)
            return len;
    }
    int nd = 17;
    while (nd > 1 && dig17[nd - 1] == '0')
        nd--;
    return layout(buf, n, dig17, nd, e17);
}
