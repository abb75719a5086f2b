/*
 * plot.c — line charts of query results (see plot.h): an SVG file, or
 * Unicode braille on a terminal.
 *
 * Both renderers share the scales.  x: the time span of every point
 * (values that are NaN included, so empty buckets still widen the axis);
 * a single instant is widened by a minute either side.  y: the range of
 * the finite values (infinities are gaps, like NaN); a flat series gets a
 * padded range so that it draws as a line in the middle.  Points are drawn
 * in time order (a series that arrived out of order, e.g. from ORDER BY
 * time DESC, is sorted on a copy); a non-finite value breaks the line.
 *
 * SVG: fixed 960x540, a title (the query), y labels at 1/2/5 x 10^k
 * steps, x labels at round calendar intervals (UTC) with the date or year
 * under the first label and wherever it changes, light gridlines, one
 * <path class="series"> per series (isolated points as dots), and a legend
 * of at most LEGEND_MAX entries.  Dense series are thinned per pixel
 * column to first/min/max/last, which draws the same picture.
 *
 * Terminal: a canvas of braille cells (2x4 dots each), y labels (max,
 * middle, min) on the left, a time axis with its start and end, a letter
 * per series at the right end of its line, and a legend.  ANSI colours
 * only when the stream is a terminal.
 *
 * Nothing here trusts the data: empty input, one point, all-NaN, huge,
 * tiny or non-finite values, timestamps at the ends of int64 and hundreds
 * of series all draw something sensible or say why not.
 */
#include "tools/plot.h"

#include "engine/tmath.h"
#include "tools/cli.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LEGEND_MAX 12 /* legend entries; more are counted, not named */
#define LABEL_MAX 36  /* characters of a legend entry in the SVG */
#define NS_PER_S 1000000000LL
#define NS_PER_MIN (60 * NS_PER_S)
#define NS_PER_H (60 * NS_PER_MIN)
#define NS_PER_DAY (24 * NS_PER_H)

/* ---- data ----------------------------------------------------------------------- */

int plot_add(plot_data *d, const char *label, int64_t t, double v)
{
    /* Rows arrive group by group, so the series wanted is almost always
     * one of the last few: search backwards. */
    size_t i = d->n;
    while (i > 0 && strcmp(d->s[i - 1].label, label) != 0)
        i--;
    if (i == 0) {
        /* d->s holds room for the next power of two of d->n entries. */
        if ((d->n & (d->n - 1)) == 0) {
            plot_series *ns = realloc(d->s, (d->n ? d->n * 2 : 1) * sizeof *ns);
            if (!ns)
                return -1;
            d->s = ns;
        }
        plot_series *s = &d->s[d->n];
        memset(s, 0, sizeof *s);
        s->label = strdup(label);
        if (!s->label)
            return -1;
        i = ++d->n;
    }
    plot_series *s = &d->s[i - 1];
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        int64_t *nt = realloc(s->t, cap * sizeof *nt);
        if (!nt)
            return -1;
        s->t = nt;
        double *nv = realloc(s->v, cap * sizeof *nv);
        if (!nv)
            return -1;
        s->v = nv;
        s->cap = cap;
    }
    s->t[s->n] = t;
    s->v[s->n] = v;
    s->n++;
    return 0;
}

void plot_free(plot_data *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++) {
        free(d->s[i].label);
        free(d->s[i].t);
        free(d->s[i].v);
    }
    free(d->s);
    free(d->title);
    memset(d, 0, sizeof *d);
}

/* ---- scales ----------------------------------------------------------------------- */

typedef struct scale {
    int64_t t0, t1; /* x: [t0, t1], t0 < t1 */
    double v0, v1;  /* y: [v0, v1], v0 < v1 */
    size_t finite;  /* points with a finite value */
} scale;

/* The extent of the data; 0, or -1 when there is no finite value. */
static int data_extent(const plot_data *d, scale *sc)
{
    memset(sc, 0, sizeof *sc);
    int any_t = 0;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; d && i < d->n; i++) {
        const plot_series *s = &d->s[i];
        size_t fin = 0;
        for (size_t k = 0; k < s->n; k++) {
            if (!any_t || s->t[k] < sc->t0)
                sc->t0 = s->t[k];
            if (!any_t || s->t[k] > sc->t1)
                sc->t1 = s->t[k];
            any_t = 1;
            if (isfinite(s->v[k])) {
                fin++;
                lo = s->v[k] < lo ? s->v[k] : lo;
                hi = s->v[k] > hi ? s->v[k] : hi;
            }
        }
        sc->finite += fin;
    }
    if (!sc->finite)
        return -1;
    if (sc->t0 == sc->t1) { /* one instant: a minute either side */
        sc->t0 = sc->t0 > INT64_MIN + NS_PER_MIN ? sc->t0 - NS_PER_MIN : INT64_MIN;
        sc->t1 = sc->t1 < INT64_MAX - NS_PER_MIN ? sc->t1 + NS_PER_MIN : INT64_MAX;
    }
    /* A range too narrow to tell apart from rounding is flat: pad it. */
    double mag = fmax(fabs(lo), fabs(hi));
    if (!(hi - lo > mag * 1e-12) || hi - lo < 1e-300) {
        double mid = lo / 2 + hi / 2;
        double pad = fabs(mid) * 0.1;
        if (pad < 1e-300)
            pad = 1;
        lo = mid - pad;
        hi = mid + pad;
    }
    sc->v0 = lo;
    sc->v1 = hi;
    return 0;
}

/* Where v lies in [lo, hi], as a fraction; safe when hi - lo overflows. */
static double frac_v(double v, double lo, double hi)
{
    double r = hi - lo;
    if (isfinite(r))
        return (v - lo) / r;
    return (v / 2 - lo / 2) / (hi / 2 - lo / 2);
}

static double frac_t(int64_t t, int64_t t0, int64_t t1)
{
    /* Unsigned differences are exact even across the whole int64 range. */
    return (double)((uint64_t)t - (uint64_t)t0) / (double)((uint64_t)t1 - (uint64_t)t0);
}

/* 1, 2 or 5 x 10^k near x (x > 0): the smallest not below x, or with
 * `nearest` the closest (which may be below: more, finer ticks). */
static double nice_step(double x, int nearest)
{
    double e = floor(log10(x));
    double p = pow(10, e);
    double f = x / p, n;
    if (nearest)
        n = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
    else
        n = f <= 1 + 1e-9 ? 1 : f <= 2 + 1e-9 ? 2 : f <= 5 + 1e-9 ? 5 : 10;
    return n * p;
}

#define MAX_TICKS 24

typedef struct yticks {
    double v[MAX_TICKS];
    int n;
    double step; /* 0 when the ticks are not on a nice grid */
} yticks;

/* Ticks at a nice step; the axis range widens to the outer ticks. */
static void y_ticks(double *lo, double *hi, int target, yticks *yt)
{
    double raw = *hi / target - *lo / target;
    double step = nice_step(raw, 1);
    double k0 = floor(*lo / step), k1 = ceil(*hi / step);
    yt->n = 0;
    if (isfinite(step) && step > 0 && isfinite(k0 * step) && isfinite(k1 * step) && k1 - k0 >= 1 &&
        k1 - k0 < MAX_TICKS) {
        for (double k = k0; k <= k1 && yt->n < MAX_TICKS; k++) {
            double v = k * step;
            if (fabs(v) < step * 1e-9)
                v = 0;
            if (yt->n && !(v > yt->v[yt->n - 1])) {
                yt->n = 0; /* precision ran out: fall back below */
                break;
            }
            yt->v[yt->n++] = v;
        }
    }
    if (yt->n >= 2) {
        yt->step = step;
        *lo = yt->v[0];
        *hi = yt->v[yt->n - 1];
        return;
    }
    yt->step = 0;
    yt->n = 5;
    for (int i = 0; i < 5; i++)
        yt->v[i] = *lo * (1 - i / 4.0) + *hi * (i / 4.0);
}

/* A y label: fixed decimals, SI suffixes or exponent form, with as many
 * digits as the step needs. */
static void fmt_value(double v, double step, double maxabs, char *buf, size_t cap)
{
    if (v == 0) {
        snprintf(buf, cap, "0");
        return;
    }
    if (!(step > 0)) { /* no grid: four significant digits */
        snprintf(buf, cap, "%.4g", v);
        return;
    }
    int k = (int)floor(log10(step) + 1e-9);
    if (maxabs < 1e6 && k >= -4) {
        snprintf(buf, cap, "%.*f", k < 0 ? -k : 0, v);
        return;
    }
    if (maxabs >= 1e6 && maxabs < 1e21 && k >= 0) {
        static const char si[] = "kMGTPE";
        int m = (int)floor(log10(maxabs) / 3);
        if (m > 6)
            m = 6;
        int dec = 3 * m - k;
        if (dec <= 3) {
            snprintf(buf, cap, "%.*f%c", dec > 0 ? dec : 0, v / pow(10, 3 * m), si[m - 1]);
            return;
        }
    }
    int e = (int)floor(log10(fabs(v)));
    int dec = e - k;
    dec = dec < 0 ? 0 : dec > 15 ? 15 : dec;
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.*e", dec, v);
    /* 1.5e-09 -> 1.5e-9, 2e+12 -> 2e12 */
    char *ep = strchr(tmp, 'e');
    if (ep) {
        char *q = ep + 1, *w = ep + 1;
        if (*q == '+')
            q++;
        else if (*q == '-')
            *w++ = *q++;
        while (*q == '0' && q[1])
            q++;
        memmove(w, q, strlen(q) + 1);
    }
    snprintf(buf, cap, "%s", tmp);
}

/* ---- calendar (UTC, proleptic Gregorian; H. Hinnant's algorithms) ----------------- */

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = t_floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = t_floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

typedef struct tparts {
    int64_t year;
    int mon, day, hour, min, sec;
    int64_t frac; /* ns within the second */
} tparts;

static void split_time(int64_t t, tparts *p)
{
    int64_t days = t_floor_div(t, NS_PER_DAY);
    int64_t rem = t % NS_PER_DAY;
    if (rem < 0)
        rem += NS_PER_DAY;
    civil_from_days(days, &p->year, &p->mon, &p->day);
    p->hour = (int)(rem / NS_PER_H);
    p->min = (int)(rem / NS_PER_MIN % 60);
    p->sec = (int)(rem / NS_PER_S % 60);
    p->frac = rem % NS_PER_S;
}

/* The ns time of 00:00 on the first of a month, if int64 holds it. */
static int month_start(int64_t y, int m, int64_t *out)
{
    if (y < 1677 || y > 2262)
        return -1;
    int64_t days = days_from_civil(y, m, 1);
    if (__builtin_mul_overflow(days, NS_PER_DAY, out))
        return -1;
    return 0;
}

static const char *const month_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* A step of the time axis: a fixed number of ns, or of months. */
typedef struct tstep {
    int64_t ns; /* 0 for calendar steps */
    int months; /* months per step (12 = a year) */
} tstep;

typedef enum tlevel { TL_SUBSEC, TL_SEC, TL_MIN, TL_DAY, TL_MONTH, TL_YEAR } tlevel;

typedef struct xticks {
    int64_t t[MAX_TICKS];
    int n;
    tlevel level;
    int frac_digits; /* TL_SUBSEC: digits after the second */
} xticks;

/* Round time ticks: at most `target` of them across [t0, t1]. */
static void x_ticks(int64_t t0, int64_t t1, int target, xticks *xt)
{
    static const int64_t fixed[] = {
        1 * NS_PER_S,    2 * NS_PER_S,    5 * NS_PER_S,   10 * NS_PER_S,  15 * NS_PER_S,
        30 * NS_PER_S,   1 * NS_PER_MIN,  2 * NS_PER_MIN, 5 * NS_PER_MIN, 10 * NS_PER_MIN,
        15 * NS_PER_MIN, 30 * NS_PER_MIN, 1 * NS_PER_H,   2 * NS_PER_H,   3 * NS_PER_H,
        6 * NS_PER_H,    12 * NS_PER_H,   1 * NS_PER_DAY, 2 * NS_PER_DAY, 7 * NS_PER_DAY,
        14 * NS_PER_DAY};
    static const int months[] = {1, 2, 3, 6, 12, 24, 60, 120, 240, 600, 1200, 2400, 6000};
    double span = (double)((uint64_t)t1 - (uint64_t)t0);
    tstep st = {0, 0};
    xt->n = 0;
    xt->frac_digits = 0;
    double sub = nice_step(fmax(span / target, 1), 0);
    if (sub < (double)NS_PER_S) {
        /* below a second: 1, 2 or 5 x 10^k ns */
        st.ns = (int64_t)sub;
        xt->level = TL_SUBSEC;
        int digits = 9;
        for (int64_t u = st.ns; u % 10 == 0 && digits > 1; u /= 10)
            digits--;
        xt->frac_digits = digits;
    } else {
        for (size_t i = 0; i < sizeof fixed / sizeof fixed[0] && !st.ns; i++)
            if (span / (double)fixed[i] <= target)
                st.ns = fixed[i];
        if (st.ns) {
            xt->level = st.ns < NS_PER_MIN ? TL_SEC : st.ns < NS_PER_DAY ? TL_MIN : TL_DAY;
        } else {
            for (size_t i = 0; i < sizeof months / sizeof months[0] && !st.months; i++)
                if (span / (months[i] * 30.44 * NS_PER_DAY) <= target)
                    st.months = months[i];
            if (!st.months)
                st.months = months[sizeof months / sizeof months[0] - 1];
            xt->level = st.months < 12 ? TL_MONTH : TL_YEAR;
        }
    }
    if (st.ns) {
        int64_t k = t_floor_div(t0, st.ns);
        int64_t t;
        if (__builtin_mul_overflow(k, st.ns, &t))
            return;
        while (xt->n < MAX_TICKS) {
            if (t >= t0 && t <= t1)
                xt->t[xt->n++] = t;
            if (t >= t1 || __builtin_add_overflow(t, st.ns, &t))
                break;
        }
        return;
    }
    tparts p;
    split_time(t0, &p);
    int64_t mi = p.year * 12 + (p.mon - 1); /* months since year 0 */
    mi -= ((mi % st.months) + st.months) % st.months;
    for (int guard = 0; xt->n < MAX_TICKS && guard < 4 * MAX_TICKS; guard++, mi += st.months) {
        int64_t t;
        if (month_start(t_floor_div(mi, 12), (int)(mi - t_floor_div(mi, 12) * 12) + 1, &t))
            continue;
        if (t > t1)
            break;
        if (t >= t0)
            xt->t[xt->n++] = t;
    }
}

/* The label of a tick, and its context (the date or year, shown under the
 * first label and where it changes; empty when none). */
static void fmt_tick(int64_t t, const xticks *xt, char *lab, size_t lcap, char *ctx, size_t ccap)
{
    tparts p;
    split_time(t, &p);
    ctx[0] = '\0';
    switch (xt->level) {
    case TL_SUBSEC: {
        char fr[16];
        snprintf(fr, sizeof fr, "%09" PRId64, p.frac);
        fr[xt->frac_digits] = '\0';
        snprintf(lab, lcap, "%02d:%02d.%s", p.min, p.sec, fr);
        snprintf(ctx, ccap, "%04" PRId64 "-%02d-%02d %02d:00", p.year, p.mon, p.day, p.hour);
        break;
    }
    case TL_SEC:
        snprintf(lab, lcap, "%02d:%02d:%02d", p.hour, p.min, p.sec);
        snprintf(ctx, ccap, "%04" PRId64 "-%02d-%02d", p.year, p.mon, p.day);
        break;
    case TL_MIN:
        snprintf(lab, lcap, "%02d:%02d", p.hour, p.min);
        snprintf(ctx, ccap, "%04" PRId64 "-%02d-%02d", p.year, p.mon, p.day);
        break;
    case TL_DAY:
        snprintf(lab, lcap, "%s %d", month_names[p.mon - 1], p.day);
        snprintf(ctx, ccap, "%04" PRId64, p.year);
        break;
    case TL_MONTH:
        snprintf(lab, lcap, "%s", month_names[p.mon - 1]);
        snprintf(ctx, ccap, "%04" PRId64, p.year);
        break;
    case TL_YEAR: snprintf(lab, lcap, "%04" PRId64, p.year); break;
    }
}

/* ---- series in time order ---------------------------------------------------------- */

typedef struct tpoint {
    int64_t t;
    size_t i;
} tpoint;

static int by_time(const void *a, const void *b)
{
    const tpoint *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* The order to draw s's points in: NULL when already ascending (then
 * *fail is 0), else a malloc'd index array (*fail = 1 when out of memory). */
static size_t *time_order(const plot_series *s, int *fail)
{
    *fail = 0;
    size_t k = 1;
    while (k < s->n && s->t[k - 1] <= s->t[k])
        k++;
    if (k >= s->n)
        return NULL;
    tpoint *tp = malloc(s->n * sizeof *tp);
    size_t *ord = malloc(s->n * sizeof *ord);
    if (!tp || !ord) {
        free(tp);
        free(ord);
        *fail = 1;
        return NULL;
    }
    for (size_t i = 0; i < s->n; i++)
        tp[i] = (tpoint){s->t[i], i};
    qsort(tp, s->n, sizeof *tp, by_time);
    for (size_t i = 0; i < s->n; i++)
        ord[i] = tp[i].i;
    free(tp);
    return ord;
}

/* ---- text ---------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (s[0] >= 0xf8)
        n = 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if (n == 3 && ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0)))
        return 0; /* overlong, surrogate */
    if (n == 4 && ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90)))
        return 0;
    return n;
}

/* s as display text of at most max characters: whitespace runs become
 * one space, control characters and invalid UTF-8 become U+FFFD, and a
 * longer text ends in an ellipsis.  Writes into out (cap bytes; 4 * max +
 * 4 is always enough). */
static void clean_text(const char *s, size_t max, char *out, size_t cap)
{
    size_t chars = 0, o = 0;
    int space = 0;
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    while (*p) {
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
            space = 1;
            p++;
            continue;
        }
        size_t n = utf8_len(p);
        const char *piece = (const char *)p;
        size_t plen = n;
        if (n == 0 || *p < 0x20 || *p == 0x7f) {
            piece = "\xef\xbf\xbd";
            plen = 3;
            n = 1;
        }
        size_t need = (size_t)space + 1;
        if (chars + need > max || o + (size_t)space + plen + 4 > cap) {
            if (o + 4 <= cap) { /* room kept for the ellipsis */
                memcpy(out + o, "\xe2\x80\xa6", 3);
                o += 3;
            }
            break;
        }
        if (space)
            out[o++] = ' ';
        memcpy(out + o, piece, plen);
        o += plen;
        chars += need;
        space = 0;
        p += n;
    }
    out[o] = '\0';
}

/* A label of at most max characters: too long, its middle gives way to
 * an ellipsis (the end names the column, the start the group). */
static void short_label(const char *s, size_t max, char *out, size_t cap)
{
    char full[1024];
    clean_text(s, 250, full, sizeof full);
    size_t n = 0;
    for (const char *p = full; *p; p++)
        n += ((unsigned char)*p & 0xc0) != 0x80;
    if (n <= max) {
        snprintf(out, cap, "%s", full);
        return;
    }
    size_t tail = (max - 1) * 3 / 5, head = max - 1 - tail, o = 0, c = 0;
    for (const char *p = full; *p && o + 8 < cap; p++) {
        int start = ((unsigned char)*p & 0xc0) != 0x80;
        c += start;
        if (c <= head || c > n - tail)
            out[o++] = *p;
        else if (start && c == head + 1) {
            memcpy(out + o, "\xe2\x80\xa6", 3);
            o += 3;
        }
    }
    out[o] = '\0';
}

static size_t text_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

/* ---- SVG ------------------------------------------------------------------------------ */

#define SVG_W 960
#define SVG_H 540
#define CHAR_W 6.6 /* average width of an 11 px sans-serif character */

static void xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* Series colours: a qualitative palette, then hues a golden angle apart. */
static void series_colour(size_t i, char *out /* 8 bytes */)
{
    static const char *const pal[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                      "#9467bd", "#8c564b", "#e377c2", "#17becf",
                                      "#bcbd22", "#7f7f7f", "#393b79", "#ad494a"};
    if (i < sizeof pal / sizeof pal[0]) {
        memcpy(out, pal[i], 8);
        return;
    }
    double h = fmod((double)i * 137.508, 360) / 60, s = 0.65, l = 0.45;
    double c = (1 - fabs(2 * l - 1)) * s, x = c * (1 - fabs(fmod(h, 2) - 1)), m = l - c / 2;
    double rgb[3][6] = {{c, x, 0, 0, x, c}, {x, c, c, x, 0, 0}, {0, 0, x, c, c, x}};
    int seg = (int)h % 6;
    snprintf(out, 8, "#%02x%02x%02x", (int)lround((rgb[0][seg] + m) * 255),
             (int)lround((rgb[1][seg] + m) * 255), (int)lround((rgb[2][seg] + m) * 255));
}

/* The centre of a label of text s near x, kept inside the image. */
static double text_x(double x, const char *s)
{
    double half = (double)text_chars(s) * CHAR_W / 2;
    return x < half + 4 ? half + 4 : x > SVG_W - half - 4 ? SVG_W - half - 4 : x;
}

typedef struct frame {
    double x0, y0, x1, y1; /* the plot area */
    scale sc;
} frame;

static double px_x(const frame *fr, int64_t t)
{
    return fr->x0 + frac_t(t, fr->sc.t0, fr->sc.t1) * (fr->x1 - fr->x0);
}

static double px_y(const frame *fr, double v)
{
    return fr->y1 - frac_v(v, fr->sc.v0, fr->sc.v1) * (fr->y1 - fr->y0);
}

/* Thinning per pixel column: the first, lowest, highest and last point of
 * each column, in their own order, draw the same line as all of them. */
typedef struct column {
    long col;
    size_t first, lo, hi, last; /* positions in the drawing order */
    int used;
} column;

typedef struct pathw {
    FILE *f;
    const frame *fr;
    const plot_series *s;
    const size_t *ord;
    size_t run;    /* points emitted in the current run */
    double lx, ly; /* last point emitted */
} pathw;

static size_t at(const pathw *w, size_t k)
{
    return w->ord ? w->ord[k] : k;
}

static void emit_point(pathw *w, size_t k)
{
    size_t i = at(w, k);
    double x = px_x(w->fr, w->s->t[i]), y = px_y(w->fr, w->s->v[i]);
    if (w->run && fabs(x - w->lx) < 0.05 && fabs(y - w->ly) < 0.05)
        return;
    fprintf(w->f, "%s%.1f %.1f", w->run ? "L" : "M", x, y);
    w->lx = x;
    w->ly = y;
    w->run++;
}

static void flush_column(pathw *w, column *c)
{
    if (!c->used)
        return;
    size_t k[4] = {c->first, c->lo, c->hi, c->last};
    /* sort the four positions, then emit each once */
    for (int a = 1; a < 4; a++)
        for (int b = a; b > 0 && k[b - 1] > k[b]; b--) {
            size_t tmp = k[b];
            k[b] = k[b - 1];
            k[b - 1] = tmp;
        }
    for (int a = 0; a < 4; a++)
        if (a == 0 || k[a] != k[a - 1])
            emit_point(w, k[a]);
    c->used = 0;
}

/* A run of one point draws nothing as a line: mark it with a dot. */
static void end_run(pathw *w)
{
    if (w->run == 1)
        fputs("h0", w->f);
    w->run = 0;
}

/* The d attribute of a series' path: a subpath per run of finite values,
 * a lone point as a zero-length segment (a dot, with round caps). */
static void series_path(FILE *f, const frame *fr, const plot_series *s, const size_t *ord)
{
    pathw w = {f, fr, s, ord, 0, 0, 0};
    column c = {0, 0, 0, 0, 0, 0};
    for (size_t k = 0; k < s->n; k++) {
        size_t i = at(&w, k);
        if (!isfinite(s->v[i])) {
            flush_column(&w, &c);
            end_run(&w);
            continue;
        }
        long col = lround(floor(px_x(fr, s->t[i])));
        if (c.used && col != c.col)
            flush_column(&w, &c);
        if (!c.used) {
            c = (column){col, k, k, k, k, 1};
            continue;
        }
        if (s->v[i] < s->v[at(&w, c.lo)])
            c.lo = k;
        if (s->v[i] > s->v[at(&w, c.hi)])
            c.hi = k;
        c.last = k;
    }
    flush_column(&w, &c);
    end_run(&w);
}

/* Small series get a dot on every point, so that each value is seen. */
static void series_dots(FILE *f, const frame *fr, const plot_series *s)
{
    for (size_t i = 0; i < s->n; i++)
        if (isfinite(s->v[i]))
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\"/>", px_x(fr, s->t[i]),
                    px_y(fr, s->v[i]));
}

int plot_svg(const plot_data *d, const char *path)
{
    frame fr;
    if (data_extent(d, &fr.sc) != 0) {
        cli_errorf("nothing to plot: the result has no rows with a time and a numeric value");
        return -1;
    }
    FILE *f = fopen(path, "w");
    if (!f) {
        cli_errorf("cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    char buf[512], lab[64], ctx[64];

    /* y ticks first: their labels decide the left margin */
    yticks yt;
    y_ticks(&fr.sc.v0, &fr.sc.v1, 6, &yt);
    double maxabs = fmax(fabs(fr.sc.v0), fabs(fr.sc.v1));
    size_t ylab_chars = 1;
    for (int i = 0; i < yt.n; i++) {
        fmt_value(yt.v[i], yt.step, maxabs, lab, sizeof lab);
        size_t n = strlen(lab);
        ylab_chars = n > ylab_chars ? n : ylab_chars;
    }
    size_t shown = d->n < LEGEND_MAX ? d->n : LEGEND_MAX;
    if (d->n > LEGEND_MAX && d->n - shown == 1)
        shown = d->n; /* "and 1 more" would take the room of the entry itself */
    size_t leg_chars = 8;
    for (size_t i = 0; i < shown; i++) {
        short_label(d->s[i].label, LABEL_MAX, buf, sizeof buf);
        size_t n = text_chars(buf);
        leg_chars = n > leg_chars ? n : leg_chars;
    }
    fr.x0 = 20 + (double)ylab_chars * CHAR_W + 8;
    fr.x1 = SVG_W - 24 - 30 - (double)leg_chars * CHAR_W;
    fr.y0 = 52;
    fr.y1 = SVG_H - 52;

    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"Helvetica, Arial, sans-serif\" "
            "font-size=\"11\">\n",
            SVG_W, SVG_H, SVG_W, SVG_H);
    clean_text(d->title, 400, buf, sizeof buf);
    fputs("<title>", f);
    xml_text(f, buf);
    fputs("</title>\n", f);
    fprintf(f, "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", SVG_W, SVG_H);
    clean_text(d->title, (size_t)((SVG_W - 40) / 7.4), buf, sizeof buf);
    fputs("<text x=\"20\" y=\"30\" font-size=\"13\" font-weight=\"bold\" fill=\"#222222\">", f);
    xml_text(f, buf);
    fputs("</text>\n", f);
    fprintf(f,
            "<clipPath id=\"plot\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
            "height=\"%.1f\"/></clipPath>\n",
            fr.x0 - 3, fr.y0 - 3, fr.x1 - fr.x0 + 6, fr.y1 - fr.y0 + 6);

    /* horizontal gridlines and value labels */
    fputs("<g stroke=\"#e8e8e8\" stroke-width=\"1\">\n", f);
    for (int i = 0; i < yt.n; i++)
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", fr.x0,
                px_y(&fr, yt.v[i]), fr.x1, px_y(&fr, yt.v[i]));
    xticks xt;
    x_ticks(fr.sc.t0, fr.sc.t1, (int)fmax(2, (fr.x1 - fr.x0) / 95), &xt);
    for (int i = 0; i < xt.n; i++)
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", px_x(&fr, xt.t[i]),
                fr.y0, px_x(&fr, xt.t[i]), fr.y1);
    fputs("</g>\n", f);
    fprintf(f,
            "<g stroke=\"#888888\" stroke-width=\"1\"><line x1=\"%.1f\" y1=\"%.1f\" "
            "x2=\"%.1f\" y2=\"%.1f\"/><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
            "y2=\"%.1f\"/></g>\n",
            fr.x0, fr.y1, fr.x1, fr.y1, fr.x0, fr.y0, fr.x0, fr.y1);
    fputs("<g fill=\"#555555\" text-anchor=\"end\">\n", f);
    for (int i = 0; i < yt.n; i++) {
        fmt_value(yt.v[i], yt.step, maxabs, lab, sizeof lab);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", fr.x0 - 6, px_y(&fr, yt.v[i]) + 4,
                lab);
    }
    fputs("</g>\n<g fill=\"#555555\" text-anchor=\"middle\">\n", f);
    char prev_ctx[64] = "";
    for (int i = 0; i < xt.n; i++) {
        fmt_tick(xt.t[i], &xt, lab, sizeof lab, ctx, sizeof ctx);
        double x = px_x(&fr, xt.t[i]);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", text_x(x, lab), fr.y1 + 16, lab);
        if (i == 0 || (ctx[0] && strcmp(ctx, prev_ctx) != 0)) {
            /* the first context also says the zone */
            snprintf(buf, sizeof buf, "%s%s", ctx, i ? "" : ctx[0] ? " UTC" : "UTC");
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#888888\">%s</text>\n", text_x(x, buf),
                    fr.y1 + 30, buf);
        }
        snprintf(prev_ctx, sizeof prev_ctx, "%s", ctx);
    }
    fputs("</g>\n", f);

    /* the lines */
    double sw = d->n > 40 ? 1 : d->n > 12 ? 1.25 : 1.75;
    fprintf(f,
            "<g fill=\"none\" stroke-width=\"%.2f\" stroke-linejoin=\"round\" "
            "stroke-linecap=\"round\" clip-path=\"url(#plot)\"%s>\n",
            sw, d->n > 40 ? " stroke-opacity=\"0.75\"" : "");
    int failed = 0;
    for (size_t i = 0; i < d->n && !failed; i++) {
        char colour[8];
        series_colour(i, colour);
        size_t *ord = time_order(&d->s[i], &failed);
        if (failed)
            break;
        fprintf(f, "<path class=\"series\" stroke=\"%s\" d=\"", colour);
        series_path(f, &fr, &d->s[i], ord);
        free(ord);
        clean_text(d->s[i].label, 200, buf, sizeof buf);
        fputs("\"><title>", f);
        xml_text(f, buf);
        fputs("</title></path>\n", f);
    }
    fputs("</g>\n", f);
    /* dots on the points of sparse series */
    if (d->n <= LEGEND_MAX && fr.sc.finite <= 60 * d->n) {
        for (size_t i = 0; i < d->n; i++) {
            size_t fin = 0;
            for (size_t k = 0; k < d->s[i].n; k++)
                fin += isfinite(d->s[i].v[k]) != 0;
            if (fin == 0 || fin > 60)
                continue;
            char colour[8];
            series_colour(i, colour);
            fprintf(f, "<g fill=\"%s\" clip-path=\"url(#plot)\">", colour);
            series_dots(f, &fr, &d->s[i]);
            fputs("</g>\n", f);
        }
    }

    /* the legend */
    double lx = fr.x1 + 20, ly = fr.y0 + 4;
    fputs("<g fill=\"#333333\">\n", f);
    for (size_t i = 0; i < shown; i++, ly += 18) {
        char colour[8];
        series_colour(i, colour);
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                "stroke-width=\"3\" stroke-linecap=\"round\"/>",
                lx, ly, lx + 16, ly, colour);
        short_label(d->s[i].label, LABEL_MAX, buf, sizeof buf);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", lx + 24, ly + 4);
        xml_text(f, buf);
        fputs("</text>\n", f);
    }
    if (shown < d->n)
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#888888\">and %zu more</text>\n", lx + 24,
                ly + 4, d->n - shown);
    fputs("</g>\n</svg>\n", f);
    if (failed) {
        fclose(f);
        cli_errorf("out of memory drawing %s", path);
        return -1;
    }
    int werr = ferror(f);
    if (fclose(f) != 0 || werr) {
        cli_errorf("cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- terminal -------------------------------------------------------------------------- */

typedef struct canvas {
    int w, h;           /* cells */
    unsigned char *dot; /* w * h braille bit sets */
    int *owner;         /* the series that last drew in a cell, -1 none */
} canvas;

static void set_dot(canvas *c, long x, long y, int series)
{
    if (x < 0 || y < 0 || x >= 2L * c->w || y >= 4L * c->h)
        return;
    static const unsigned char bit[4][2] = {{0x01, 0x08}, {0x02, 0x10}, {0x04, 0x20}, {0x40, 0x80}};
    size_t cell = (size_t)(y / 4) * (size_t)c->w + (size_t)(x / 2);
    c->dot[cell] |= bit[y % 4][x % 2];
    c->owner[cell] = series;
}

static void draw_line(canvas *c, long x0, long y0, long x1, long y1, int series)
{
    long dx = labs(x1 - x0), dy = -labs(y1 - y0);
    long sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
    for (;;) {
        set_dot(c, x0, y0, series);
        if (x0 == x1 && y0 == y1)
            break;
        long e2 = 2 * err;
        if (e2 >= dy) {
            err += dy;
            x0 += sx;
        }
        if (e2 <= dx) {
            err += dx;
            y0 += sy;
        }
    }
}

static const int ansi[LEGEND_MAX] = {34, 31, 32, 33, 35, 36, 94, 91, 92, 93, 95, 96};

/* Four significant digits, more when needed to tell the labels apart. */
static void fmt_labels(const double *v, int n, char lab[][32])
{
    for (int digits = 4; digits <= 17; digits++) {
        for (int i = 0; i < n; i++)
            snprintf(lab[i], 32, "%.*g", digits, fabs(v[i]) < 1e-300 ? 0.0 : v[i]);
        int distinct = 1;
        for (int i = 1; i < n; i++)
            distinct &= strcmp(lab[i], lab[i - 1]) != 0;
        if (distinct)
            return;
    }
}

static void fmt_axis_time(int64_t t, int64_t span, int with_date, char *out, size_t cap)
{
    tparts p;
    split_time(t, &p);
    char hm[32];
    if (span < 10 * NS_PER_S)
        snprintf(hm, sizeof hm, "%02d:%02d:%02d.%03d", p.hour, p.min, p.sec,
                 (int)(p.frac / 1000000));
    else if (span < 10 * NS_PER_MIN)
        snprintf(hm, sizeof hm, "%02d:%02d:%02d", p.hour, p.min, p.sec);
    else
        snprintf(hm, sizeof hm, "%02d:%02d", p.hour, p.min);
    if (with_date)
        snprintf(out, cap, "%04" PRId64 "-%02d-%02d %s", p.year, p.mon, p.day, hm);
    else
        snprintf(out, cap, "%s", hm);
}

int plot_terminal(const plot_data *d, FILE *f, int width, int height)
{
    scale sc;
    if (data_extent(d, &sc) != 0) {
        fputs("(nothing to plot: the result has no rows with a time and a numeric value)\n", f);
        return 0;
    }
    width = width < 8 ? 8 : width > 1000 ? 1000 : width;
    height = height < 2 ? 2 : height > 500 ? 500 : height;
    int colour = isatty(fileno(f));
    canvas c = {width, height, calloc((size_t)width * (size_t)height, 1),
                malloc((size_t)width * (size_t)height * sizeof(int))};
    int *mark_row = calloc(d->n, sizeof *mark_row);
    if (!c.dot || !c.owner || !mark_row) {
        free(c.dot);
        free(c.owner);
        free(mark_row);
        cli_errorf("out of memory drawing the chart");
        return -1;
    }
    for (size_t i = 0; i < (size_t)width * (size_t)height; i++)
        c.owner[i] = -1;
    long xmax = 2L * width - 1, ymax = 4L * height - 1;
    for (size_t si = 0; si < d->n; si++) {
        const plot_series *s = &d->s[si];
        int fail;
        size_t *ord = time_order(s, &fail);
        long px = 0, py = 0;
        size_t run = 0; /* points in the current run of finite values */
        mark_row[si] = -1;
        for (size_t k = 0; k <= s->n; k++) {
            size_t i = k < s->n ? (ord ? ord[k] : k) : 0;
            if (k == s->n || !isfinite(s->v[i])) {
                if (run == 1) /* a lone point: a 2x2 block, not one faint dot */
                    for (int b = 1; b < 4; b++)
                        set_dot(&c, px + (b & 1), py + (b >> 1), (int)si);
                run = 0;
                continue;
            }
            long x = lround(frac_t(s->t[i], sc.t0, sc.t1) * (double)xmax);
            long y = lround((1 - frac_v(s->v[i], sc.v0, sc.v1)) * (double)ymax);
            if (run++)
                draw_line(&c, px, py, x, y, (int)si);
            else
                set_dot(&c, x, y, (int)si);
            px = x;
            py = y;
            mark_row[si] = (int)(y / 4);
        }
        free(ord); /* out of memory sorting (fail): drawn in arrival order */
    }

    /* letters at the right end of the first series' lines, on free rows */
    size_t shown = d->n < LEGEND_MAX ? d->n : LEGEND_MAX;
    char *marks = calloc((size_t)height, 1);
    int *mark_of = malloc((size_t)height * sizeof *mark_of);
    if (marks && mark_of)
        for (size_t si = 0; si < shown; si++) {
            int r = mark_row[si];
            if (r < 0)
                continue;
            for (int dist = 0; dist < height; dist++) {
                int cand[2] = {r - dist, r + dist};
                int placed = 0;
                for (int k = 0; k < 2 && !placed; k++)
                    if (cand[k] >= 0 && cand[k] < height && !marks[cand[k]]) {
                        marks[cand[k]] = (char)('A' + si);
                        mark_of[cand[k]] = (int)si;
                        placed = 1;
                    }
                if (placed)
                    break;
            }
        }

    char title[512];
    if (d->title) {
        clean_text(d->title, (size_t)width + 12, title, sizeof title);
        fprintf(f, "%s%s%s\n", colour ? "\x1b[1m" : "", title, colour ? "\x1b[0m" : "");
    }
    double yv[3] = {sc.v1, sc.v0 / 2 + sc.v1 / 2, sc.v0};
    char ylab[3][32];
    fmt_labels(yv, 3, ylab);
    int lw = 1;
    for (int i = 0; i < 3; i++)
        lw = (int)strlen(ylab[i]) > lw ? (int)strlen(ylab[i]) : lw;
    int mid = (height - 1) / 2;
    for (int r = 0; r < height; r++) {
        const char *l = r == 0 ? ylab[0] : r == height - 1 ? ylab[2] : r == mid ? ylab[1] : "";
        int tick = r == 0 || r == height - 1 || r == mid;
        fprintf(f, "%*s %s", lw, l, tick ? "\xe2\x94\xa4" : "\xe2\x94\x82");
        int cur = -1;
        for (int x = 0; x < width; x++) {
            size_t cell = (size_t)r * (size_t)width + (size_t)x;
            int want = c.dot[cell] ? c.owner[cell] : -1;
            if (colour && want != cur) {
                if (want >= 0)
                    fprintf(f, "\x1b[%dm", ansi[want % LEGEND_MAX]);
                else
                    fputs("\x1b[0m", f);
                cur = want;
            }
            if (c.dot[cell])
                fprintf(f, "%c%c%c", 0xe2, 0xa0 | (c.dot[cell] >> 6), 0x80 | (c.dot[cell] & 0x3f));
            else
                fputc(' ', f);
        }
        if (colour && cur >= 0)
            fputs("\x1b[0m", f);
        if (marks && mark_of && marks[r]) {
            if (colour)
                fprintf(f, " \x1b[%dm%c\x1b[0m", ansi[mark_of[r]], marks[r]);
            else
                fprintf(f, " %c", marks[r]);
        }
        fputc('\n', f);
    }
    fprintf(f, "%*s \xe2\x94\x94", lw, "");
    for (int x = 0; x < width; x++)
        fputs("\xe2\x94\x80", f);
    fputc('\n', f);

    int64_t span = (int64_t)((uint64_t)sc.t1 - (uint64_t)sc.t0);
    if (span < 0)
        span = INT64_MAX;
    tparts a, b;
    split_time(sc.t0, &a);
    split_time(sc.t1, &b);
    int same_day = a.year == b.year && a.mon == b.mon && a.day == b.day;
    char t0s[64], t1s[80], t1u[96];
    fmt_axis_time(sc.t0, span, 1, t0s, sizeof t0s);
    fmt_axis_time(sc.t1, span, !same_day, t1s, sizeof t1s);
    snprintf(t1u, sizeof t1u, "%s UTC", t1s);
    int room = width + 1 - (int)strlen(t0s) - (int)strlen(t1u);
    if (room >= 2)
        fprintf(f, "%*s %s%*s%s\n", lw, "", t0s, room, "", t1u);
    else
        fprintf(f, "%*s %s UTC\n", lw, "", t0s);

    /* the legend, wrapped to the chart's width */
    int col = 0, line_w = lw + 2 + width;
    for (size_t si = 0; si < shown; si++) {
        short_label(d->s[si].label, 2 * LABEL_MAX, title, sizeof title);
        int n = (int)text_chars(title) + 2;
        if (col && col + 3 + n > line_w) {
            fputc('\n', f);
            col = 0;
        }
        if (col) {
            fputs("   ", f);
            col += 3;
        }
        if (colour)
            fprintf(f, "\x1b[%dm%c\x1b[0m %s", ansi[si], (char)('A' + si), title);
        else
            fprintf(f, "%c %s", (char)('A' + si), title);
        col += n;
    }
    if (shown < d->n) {
        char more[48];
        int n = snprintf(more, sizeof more, "and %zu more", d->n - shown);
        if (col && col + 3 + n > line_w) {
            fputc('\n', f);
            col = 0;
        }
        fprintf(f, "%s%s", col ? "   " : "", more);
    }
    fputc('\n', f);
    free(marks);
    free(mark_of);
    free(mark_row);
    free(c.dot);
    free(c.owner);
    return 0;
}
