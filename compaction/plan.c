/*
 * plan.c — what a compaction pass does: which segments expire and which
 * groups of segments merge into one (see compact.h; FORMAT.md §2.3).
 *
 * Retention.  cutoff = frontier - retention; a segment expires when its
 * whole range (partition bounds, not just its data) lies before the cutoff.
 *
 * Targets.  Every other segment gets a target range: the widest tier
 * window (epoch-aligned, width from compact_tiers) that contains all of it
 * and is cold — its end lies at least the next narrower tier's width
 * before the start of the frontier's partition — else its own range (one
 * partition for a flushed segment).  Windows of the tiers nest (each width
 * divides the next), so a cold wide window swallows the narrower ones.
 *
 * Groups.  Targets that overlap are joined (transitively) into one group
 * whose range is their union.  A group of two or more segments becomes a
 * job: merge them into one segment of the group's range.  Because every
 * live segment overlapping a job's range is in the job, the merged output
 * can take a new, higher id without changing which value wins: no segment
 * outside the job holds a point it could shadow or be shadowed by.  (A
 * flush that commits while the job runs gets a check at commit time,
 * compact.c.)  Background passes skip a group with fewer than
 * COMPACT_HOT_MIN segments that reaches into the frontier's partition
 * (still being written) or whose smaller segments add up to less than
 * 1/COMPACT_SIZE_RATIO of its largest (a few late points wait for more
 * rather than rewrite a big segment each time); strata_db_compact merges
 * every group of two or more.
 */
#include "compaction/compact.h"

#include "engine/alloc.h"
#include "engine/err.h"
#include "engine/tmath.h"
#include "strata.h"

#include <stdlib.h>
#include <string.h>

#define DAY_NS 86400000000000LL

size_t compact_tiers(int64_t partition_ns, int64_t retention_ns, int64_t widths[COMPACT_MAX_TIERS])
{
    static const int64_t candidates[] = {DAY_NS, 7 * DAY_NS, 28 * DAY_NS};
    size_t n = 0;
    widths[n++] = partition_ns;
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
        int64_t w = candidates[i];
        if (w <= widths[n - 1] || w % widths[n - 1] != 0)
            continue;
        if (retention_ns > 0 && w > retention_ns / 4)
            break;
        widths[n++] = w;
    }
    return n;
}

static void clamp_range(__int128 lo, __int128 hi, int64_t *first, int64_t *last)
{
    *first = lo < INT64_MIN ? INT64_MIN : (int64_t)lo;
    *last = hi > INT64_MAX ? INT64_MAX : (int64_t)hi;
}

/* The epoch-aligned window of width w holding t. */
static void window_of(int64_t t, int64_t w, int64_t *first, int64_t *last)
{
    __int128 lo = t_floor_div128(t, w) * w;
    clamp_range(lo, lo + w - 1, first, last);
}

int compact_cold_window(const int64_t *widths, size_t ntiers, int64_t frontier, int64_t first,
                        int64_t last, int64_t *lo, int64_t *hi)
{
    if (frontier == INT64_MIN)
        return 0;
    int64_t fp_first, fp_last;
    window_of(frontier, widths[0], &fp_first, &fp_last);
    for (size_t k = ntiers; k-- > 1;) {
        int64_t a, b;
        window_of(first, widths[k], &a, &b);
        if (last > b || a > first)
            continue;
        if ((__int128)b + widths[k - 1] < (__int128)fp_first) {
            *lo = a;
            *hi = b;
            return 1;
        }
    }
    return 0;
}

typedef struct item {
    uint64_t id;
    int64_t lo, hi; /* target */
    uint64_t size;
} item;

static int by_target(const void *a, const void *b)
{
    const item *x = a, *y = b;
    if (x->lo != y->lo)
        return x->lo < y->lo ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int by_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void compact_plan_free(cplan *p)
{
    if (!p)
        return;
    st_free(p->drop);
    st_free(p->jobs);
    st_free(p->ids);
    memset(p, 0, sizeof *p);
}

int compact_plan(const cplan_seg *segs, size_t n, const cplan_params *p, cplan *out)
{
    memset(out, 0, sizeof *out);
    out->drop = st_malloc((n + 1) * sizeof *out->drop);
    out->jobs = st_malloc((n + 1) * sizeof *out->jobs);
    out->ids = st_malloc((n + 1) * sizeof *out->ids);
    item *it = st_malloc((n + 1) * sizeof *it);
    if (!out->drop || !out->jobs || !out->ids || !it) {
        st_free(it);
        compact_plan_free(out);
        return st_err(STRATA_NOMEM, "out of memory planning a compaction");
    }
    int have_data = p->frontier != INT64_MIN;
    __int128 cutoff = (__int128)p->frontier - p->retention_ns;
    int64_t widths[COMPACT_MAX_TIERS];
    size_t ntiers = compact_tiers(p->partition_ns, p->retention_ns, widths);
    int64_t fp_first = INT64_MAX, fp_last = INT64_MAX;
    if (have_data)
        window_of(p->frontier, p->partition_ns, &fp_first, &fp_last);

    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const cplan_seg *s = &segs[i];
        if (have_data && p->retention_ns > 0 && (__int128)s->part_last < cutoff) {
            out->drop[out->ndrop++] = s->id;
            continue;
        }
        item x = {s->id, s->part_first, s->part_last, s->size};
        compact_cold_window(widths, ntiers, p->frontier, s->part_first, s->part_last, &x.lo, &x.hi);
        it[m++] = x;
    }
    qsort(out->drop, out->ndrop, sizeof *out->drop, by_u64);
    qsort(it, m, sizeof *it, by_target);

    size_t nids = 0;
    for (size_t a = 0; a < m;) {
        int64_t lo = it[a].lo, hi = it[a].hi;
        size_t b = a + 1;
        while (b < m && it[b].lo <= hi) {
            if (it[b].hi > hi)
                hi = it[b].hi;
            b++;
        }
        size_t count = b - a;
        uint64_t total = 0, largest = 0;
        for (size_t k = a; k < b; k++) {
            total += it[k].size;
            largest = it[k].size > largest ? it[k].size : largest;
        }
        int hot = have_data && hi >= fp_first;
        int wait =
            count < COMPACT_HOT_MIN && (hot || (total - largest) * COMPACT_SIZE_RATIO < largest);
        if (count >= 2 && !(p->background && wait)) {
            cplan_job *j = &out->jobs[out->njobs++];
            j->part_first = lo;
            j->part_last = hi;
            j->first = nids;
            j->n = count;
            for (size_t k = a; k < b; k++)
                out->ids[nids++] = it[k].id;
            qsort(out->ids + j->first, count, sizeof *out->ids, by_u64);
        }
        a = b;
    }
    st_free(it);
    return STRATA_OK;
}
