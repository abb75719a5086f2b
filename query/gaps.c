/*
 * gaps.c — missing reports per device: the public strata_gaps_* functions
 * (rules in docs/GAPS.md).
 *
 * Plan (open): the devices are the values of the database's device tag
 * over the matched tag sets (every tag set, or one measurement's), found
 * through the tag index (query/index.h) and sorted bytewise; each device
 * gets the ids of its series.  Without an upper bound the range ends at the
 * latest time stored for any matched series (index entries and heads).
 *
 * Per device (next): the last report before the range (when it has a lower
 * bound), then the union of its series' times in the range as runs
 * (query/reports.h).  A configured interval streams the runs through the
 * detector; a learned one first keeps the device's runs in memory, takes
 * the lower median of their deltas, then replays them.  The detector holds
 * the previous report; each delta above interval x tolerance is a gap, and
 * so is each step of a run whose step is above it.  The end of the range
 * counts as a report for a device that fell silent.
 *
 * All gap arithmetic is in integers: the threshold test is
 * delta x 10^6 > interval x round(tolerance x 10^6) in 128 bits, the missing
 * count round(delta / interval) - 1 with halves rounded up.
 */
#include "engine/alloc.h"
#include "engine/db.h"
#include "engine/err.h"
#include "engine/iter.h"
#include "query/index.h"
#include "query/reports.h"
#include "strata.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TOL_DEN 1000000u
#define HOUR_NS 3600000000000LL

typedef struct pair {
    const char *name; /* in the tag index's arena: valid until the db closes */
    uint32_t sid;
} pair;

typedef struct device {
    const char *name;
    size_t off, n; /* its series: sids[off, off + n) */
} device;

enum phase { PH_NEXT, PH_RUN, PH_TAIL, PH_END };

struct strata_gaps {
    strata_db *db;
    int64_t from, to; /* to == INT64_MAX: open */
    int64_t interval; /* configured; 0: learned */
    uint64_t tol_num; /* tolerance x TOL_DEN */
    int64_t end;      /* the range end a silent device's gap runs to */
    int has_end;
    uint32_t *sids;
    device *devs;
    size_t ndev, di;
    strata_gaps_stats st;
    rep_stats rs;

    /* the current device */
    int active;
    const device *dev;
    int64_t I;
    int have_prev, seen; /* a report before the next run; one in the range */
    int64_t prev;
    reports *rp;  /* configured interval: the stream */
    rep_run *buf; /* learned: the device's runs */
    size_t nbuf, cap, ibuf;
    rep_run cur;
    uint64_t ci; /* the next step of cur to test */
    enum phase ph;
};

void strata_gaps_options_init(strata_gaps_options *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof *o);
    o->from_ns = INT64_MIN;
    o->to_ns = INT64_MAX;
    o->tolerance = 1.5;
}

static int by_name_sid(const void *a, const void *b)
{
    const pair *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : x->sid < y->sid ? -1 : x->sid > y->sid;
}

/* The (device, series) pairs of the tag sets matched, under the index's
 * mutex (its tag-set records move on update; its strings do not). */
static int plan_pairs(strata_gaps *g, const char *dname, const char *meas, pair **out, size_t *nout)
{
    strata_db *db = g->db;
    pair *p = NULL;
    size_t n = 0, cap = 0;
    int rc = STRATA_OK;
    pthread_mutex_lock(&db->qindex_mu);
    if (!db->qindex && !(db->qindex = qindex_new()))
        rc = st_err(STRATA_NOMEM, "out of memory indexing tags");
    if (rc == STRATA_OK)
        rc = qindex_update(db->qindex, db->cat);
    const qlist *ml = rc == STRATA_OK && meas ? qindex_measurement(db->qindex, meas) : NULL;
    size_t count = meas ? (ml ? ml->n : 0) : catalog_tagset_count(db->cat);
    for (size_t k = 0; k < count && rc == STRATA_OK; k++) {
        const qtagset *t = qindex_tagset(db->qindex, meas ? ml->ids[k] : (uint32_t)k);
        const char *v = t ? qtagset_get(t, db->device_tag) : NULL;
        if (!v || (dname && strcmp(v, dname) != 0))
            continue;
        for (uint32_t s = 0; s < t->nseries; s++) {
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                pair *np = st_realloc(p, cap * sizeof *np);
                if (!np) {
                    rc = st_err(STRATA_NOMEM, "out of memory planning a gap search");
                    break;
                }
                p = np;
            }
            p[n++] = (pair){v, t->series[s]};
        }
    }
    pthread_mutex_unlock(&db->qindex_mu);
    if (rc != STRATA_OK) {
        st_free(p);
        return rc;
    }
    if (n > 1)
        qsort(p, n, sizeof *p, by_name_sid);
    *out = p;
    *nout = n;
    return STRATA_OK;
}

static int plan(strata_gaps *g, const strata_gaps_options *o)
{
    pair *p;
    size_t n;
    int rc = plan_pairs(g, o->device, o->measurement, &p, &n);
    if (rc != STRATA_OK)
        return rc;
    g->sids = st_malloc((n ? n : 1) * sizeof *g->sids);
    g->devs = st_malloc((n ? n : 1) * sizeof *g->devs);
    if (!g->sids || !g->devs) {
        st_free(p);
        return st_err(STRATA_NOMEM, "out of memory planning a gap search");
    }
    int64_t latest = INT64_MIN;
    int any = 0;
    for (size_t i = 0; i < n; i++) {
        g->sids[i] = p[i].sid;
        if (i == 0 || strcmp(p[i].name, p[i - 1].name) != 0)
            g->devs[g->ndev++] = (device){p[i].name, i, 0};
        g->devs[g->ndev - 1].n++;
        int64_t lo, hi;
        int r = g->to == INT64_MAX ? iter_series_bounds(g->db, p[i].sid, &lo, &hi) : 0;
        if (r < 0) {
            st_free(p);
            return -r;
        }
        if (r > 0) {
            latest = hi > latest ? hi : latest;
            any = 1;
        }
    }
    st_free(p);
    g->st.devices = g->ndev;
    g->st.series = n;
    if (g->to != INT64_MAX) {
        g->end = g->to;
        g->has_end = 1;
    } else {
        g->end = latest;
        g->has_end = any;
    }
    return STRATA_OK;
}

int strata_gaps_open(strata_db *db, const strata_gaps_options *opts, strata_gaps **out)
{
    if (!out)
        return st_err(STRATA_MISUSE, "strata_gaps_open: NULL output pointer");
    *out = NULL;
    if (!db)
        return st_err(STRATA_MISUSE, "strata_gaps_open: NULL database");
    strata_gaps_options o;
    strata_gaps_options_init(&o);
    if (opts)
        o = *opts;
    if (!(o.tolerance >= 1.0 && o.tolerance <= 1e6))
        return st_err(STRATA_MISUSE, "gaps: tolerance must be between 1 and 1000000, not %g",
                      o.tolerance);
    if (o.interval_ns < 0)
        return st_err(STRATA_MISUSE, "gaps: the interval must be positive (0: learned)");
    if (o.to_ns != INT64_MAX && o.from_ns >= o.to_ns)
        return st_err(STRATA_MISUSE, "gaps: the range start must be before its end");
    if ((o.device && !*o.device) || (o.measurement && !*o.measurement))
        return st_err(STRATA_MISUSE, "gaps: an empty device or measurement name");
    strata_gaps *g = st_calloc(1, sizeof *g);
    if (!g)
        return st_err(STRATA_NOMEM, "out of memory opening a gap search");
    g->db = db;
    g->from = o.from_ns;
    g->to = o.to_ns;
    g->interval = o.interval_ns;
    g->tol_num = (uint64_t)llround(o.tolerance * TOL_DEN);
    int rc = plan(g, &o);
    if (rc != STRATA_OK) {
        strata_gaps_close(g);
        return rc;
    }
    *out = g;
    return STRATA_OK;
}

/* ---- one device ------------------------------------------------------------------ */

/* The last time in [a, b) of the device's series: 1 and *t, 0, or -rc. */
static int last_in(strata_gaps *g, const device *d, int64_t a, int64_t b, int64_t *t)
{
    reports *r;
    int rc = reports_open(g->db, g->sids + d->off, d->n, a, b, &g->rs, &r);
    if (rc != STRATA_OK)
        return -rc;
    rep_run run;
    int found = 0;
    while ((rc = reports_next(r, &run)) == STRATA_ROW) {
        *t = rep_run_last(&run);
        found = 1;
    }
    reports_close(r);
    return rc == STRATA_DONE ? found : -rc;
}

/* The device's last report before g->from: from the newest index entries
 * where they tell, else by reading ever larger windows before from.
 * 1 and *t, 0 (none), or -rc. */
static int last_before(strata_gaps *g, const device *d, int64_t *t)
{
    int found = 0, unsure = 0;
    int64_t lo = INT64_MAX;
    for (size_t i = 0; i < d->n; i++) {
        uint32_t sid = g->sids[d->off + i];
        int64_t ts, a, b;
        uint64_t v;
        int r = iter_series_last(g->db, sid, INT64_MIN, g->from, &ts, &v);
        if (r < 0)
            return r;
        if (r == 1 && (!found || ts > *t)) {
            *t = ts;
            found = 1;
        }
        if (r == 2) {
            unsure = 1;
            int rb = iter_series_bounds(g->db, sid, &a, &b);
            if (rb < 0)
                return rb;
            if (rb > 0 && a < lo)
                lo = a;
        }
    }
    if (!unsure || lo >= g->from)
        return found;
    /* A later report than *t can only lie in (*t, from). */
    int64_t floor_ = found ? *t + 1 : lo;
    for (int64_t w = HOUR_NS;; w = w > INT64_MAX / 2 ? INT64_MAX : w * 2) {
        /* a span wider than INT64_MAX (from near the top of time, floor
         * near the bottom) is taken whole at the widest window */
        int64_t a = (uint64_t)g->from - (uint64_t)floor_ <= (uint64_t)w || w == INT64_MAX
                        ? floor_
                        : g->from - w;
        int64_t ts = 0;
        int r = last_in(g, d, a, g->from, &ts);
        if (r < 0)
            return r;
        if (r == 1) {
            *t = ts;
            return 1;
        }
        if (a == floor_)
            return found;
    }
}

typedef struct wdelta {
    uint64_t d, w;
} wdelta;

static int by_delta(const void *a, const void *b)
{
    const wdelta *x = a, *y = b;
    return x->d < y->d ? -1 : x->d > y->d;
}

/* The lower median of the positive deltas between consecutive times of
 * runs[0..n), preceded by *prev when given: 1 and *med, 0 when there is no
 * delta, or -rc. */
static int median_delta(const rep_run *runs, size_t n, const int64_t *prev, int64_t *med)
{
    wdelta *w = st_malloc((2 * n + 1) * sizeof *w);
    if (!w)
        return -st_err(STRATA_NOMEM, "out of memory learning an interval");
    size_t k = 0;
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (i || prev)
            w[k++] = (wdelta){
                (uint64_t)runs[i].t0 - (uint64_t)(i ? rep_run_last(&runs[i - 1]) : *prev), 1};
        if (runs[i].n > 1)
            w[k++] = (wdelta){runs[i].step, runs[i].n - 1};
    }
    for (size_t i = 0; i < k; i++)
        total += w[i].w;
    int found = 0;
    if (total) {
        qsort(w, k, sizeof *w, by_delta);
        uint64_t rank = (total - 1) / 2, acc = 0; /* 0-based rank of the lower median */
        for (size_t i = 0; i < k; i++) {
            acc += w[i].w;
            if (acc > rank) {
                *med = w[i].d > INT64_MAX ? INT64_MAX : (int64_t)w[i].d;
                found = 1;
                break;
            }
        }
    }
    st_free(w);
    return found;
}

/* All runs of the device in [a, b) into g->buf. */
static int read_runs(strata_gaps *g, const device *d, int64_t a, int64_t b)
{
    reports *r;
    g->nbuf = 0;
    int rc = reports_open(g->db, g->sids + d->off, d->n, a, b, &g->rs, &r);
    if (rc != STRATA_OK)
        return rc;
    rep_run run;
    while ((rc = reports_next(r, &run)) == STRATA_ROW) {
        if (g->nbuf == g->cap) {
            size_t cap = g->cap ? g->cap * 2 : 256;
            rep_run *nb = st_realloc(g->buf, cap * sizeof *nb);
            if (!nb) {
                rc = st_err(STRATA_NOMEM, "out of memory learning an interval");
                break;
            }
            g->buf = nb;
            g->cap = cap;
        }
        g->buf[g->nbuf++] = run;
    }
    reports_close(r);
    return rc == STRATA_DONE ? STRATA_OK : rc;
}

/* The learned interval of the device (its runs are in g->buf): 1, 0 when
 * it cannot be learned, or -rc. */
static int learn(strata_gaps *g, const device *d)
{
    int r = median_delta(g->buf, g->nbuf, g->have_prev ? &g->prev : NULL, &g->I);
    if (r != 0 || !g->have_prev || !g->has_end || g->end <= g->from)
        return r;
    /* Too few reports in the range: the window as long as the range, just
     * before it. */
    size_t keep = g->nbuf;
    rep_run *saved = g->buf;
    size_t scap = g->cap;
    g->buf = NULL;
    g->cap = 0;
    uint64_t len = (uint64_t)g->end - (uint64_t)g->from;
    int64_t a = len > (uint64_t)g->from - (uint64_t)INT64_MIN ? INT64_MIN
                                                              : (int64_t)((uint64_t)g->from - len);
    int rc = read_runs(g, d, a, g->from);
    if (rc == STRATA_OK)
        r = median_delta(g->buf, g->nbuf, NULL, &g->I);
    else
        r = -rc;
    st_free(g->buf);
    g->buf = saved;
    g->cap = scap;
    g->nbuf = keep;
    return r;
}

static void dev_close(strata_gaps *g)
{
    reports_close(g->rp);
    g->rp = NULL;
    g->active = 0;
}

/* Set up device g->di; 1 when it is ready, 0 when it is skipped, or -rc. */
static int dev_open(strata_gaps *g)
{
    const device *d = &g->devs[g->di];
    g->dev = d;
    g->have_prev = g->seen = 0;
    g->nbuf = g->ibuf = 0;
    g->ph = PH_NEXT;
    if (g->from != INT64_MIN) {
        int r = last_before(g, d, &g->prev);
        if (r < 0)
            return r;
        g->have_prev = r;
    }
    if (g->interval) {
        g->I = g->interval;
        int rc = reports_open(g->db, g->sids + d->off, d->n, g->from, g->to, &g->rs, &g->rp);
        if (rc != STRATA_OK)
            return -rc;
        return 1;
    }
    int rc = read_runs(g, d, g->from, g->to);
    if (rc != STRATA_OK)
        return -rc;
    int r = learn(g, d);
    if (r == 0)
        g->st.devices_skipped++;
    return r;
}

static int next_run(strata_gaps *g, rep_run *out)
{
    if (g->rp)
        return reports_next(g->rp, out);
    if (g->ibuf == g->nbuf)
        return STRATA_DONE;
    *out = g->buf[g->ibuf++];
    return STRATA_ROW;
}

static int over(const strata_gaps *g, uint64_t delta)
{
    return (unsigned __int128)delta * TOL_DEN > (unsigned __int128)(uint64_t)g->I * g->tol_num;
}

/* The gap from report a to b (a report, or the range end), if it is one
 * that shows in the range: 1 and *out. */
static int make_gap(strata_gaps *g, int64_t a, int64_t b, int kind, strata_gap *out)
{
    uint64_t delta = (uint64_t)b - (uint64_t)a, I = (uint64_t)g->I;
    if (!over(g, delta))
        return 0;
    unsigned __int128 total = ((unsigned __int128)delta * 2 + I) / ((unsigned __int128)I * 2) - 1;
    uint64_t k = 1; /* the first missing report counted: a + k I */
    if (a < g->from) {
        uint64_t before = (uint64_t)g->from - (uint64_t)a;
        k = before / I + (before % I != 0);
        k = k ? k : 1;
    }
    unsigned __int128 off = (unsigned __int128)k * I; /* start - a */
    if (off >= delta)
        return 0; /* every missing report falls before the range */
    int64_t start = (int64_t)((uint64_t)a + (uint64_t)off);
    uint64_t missing = total >= k - 1 ? (uint64_t)(total - (k - 1)) : 0;
    if (k > 1 && missing == 0)
        return 0;
    *out = (strata_gap){g->dev->name, start, b, a, g->I, missing, kind};
    return 1;
}

/* The device's next gap: STRATA_ROW, STRATA_DONE when it has no more, or
 * an error. */
static int dev_step(strata_gaps *g, strata_gap *out)
{
    for (;;) {
        switch (g->ph) {
        case PH_RUN:
            if (g->cur.n > 1 && over(g, g->cur.step))
                while (g->ci < g->cur.n) {
                    int64_t a = (int64_t)((uint64_t)g->cur.t0 + (g->ci - 1) * g->cur.step);
                    g->ci++;
                    if (make_gap(g, a, (int64_t)((uint64_t)a + g->cur.step), STRATA_GAP_REPORT,
                                 out))
                        return STRATA_ROW;
                }
            g->prev = rep_run_last(&g->cur);
            g->have_prev = g->seen = 1;
            g->ph = PH_NEXT;
            break;
        case PH_NEXT: {
            int rc = next_run(g, &g->cur);
            if (rc == STRATA_DONE) {
                g->ph = PH_TAIL;
                break;
            }
            if (rc != STRATA_ROW)
                return rc;
            g->ci = 1;
            g->ph = PH_RUN;
            if (g->have_prev && make_gap(g, g->prev, g->cur.t0, STRATA_GAP_REPORT, out))
                return STRATA_ROW;
            break;
        }
        case PH_TAIL:
            g->ph = PH_END;
            if (g->have_prev && g->has_end && g->end > g->prev &&
                make_gap(g, g->prev, g->end, g->seen ? STRATA_GAP_SILENT : STRATA_GAP_ABSENT, out))
                return STRATA_ROW;
            break;
        case PH_END: return STRATA_DONE;
        }
    }
}

int strata_gaps_next(strata_gaps *g, strata_gap *out)
{
    if (!g || !out)
        return st_err(STRATA_MISUSE, "strata_gaps_next: NULL argument");
    for (;;) {
        if (!g->active) {
            if (g->di == g->ndev)
                return STRATA_DONE;
            int r = dev_open(g);
            if (r < 0) {
                dev_close(g);
                g->di = g->ndev; /* no more after an error */
                return -r;
            }
            g->active = 1;
            if (r == 0)
                g->ph = PH_END;
        }
        int rc = dev_step(g, out);
        if (rc == STRATA_ROW)
            return rc;
        dev_close(g);
        g->di++;
        if (rc != STRATA_DONE) {
            g->di = g->ndev;
            return rc;
        }
    }
}

int strata_gaps_stats_get(const strata_gaps *g, strata_gaps_stats *out)
{
    if (!g || !out)
        return st_err(STRATA_MISUSE, "strata_gaps_stats_get: NULL argument");
    *out = g->st;
    out->chunks_indexed = g->rs.chunks_indexed;
    out->chunks_decoded = g->rs.chunks_decoded;
    out->points_decoded = g->rs.points_decoded;
    out->head_points = g->rs.head_points;
    return STRATA_OK;
}

void strata_gaps_close(strata_gaps *g)
{
    if (!g)
        return;
    reports_close(g->rp);
    st_free(g->buf);
    st_free(g->sids);
    st_free(g->devs);
    st_free(g);
}
