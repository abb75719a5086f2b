/*
 * head.c — per-series point buffers (see head.h).
 *
 * Layout: head->by_sid[sid] points to the series' head_series (NULL when it
 * has no points); head->sids lists the ids with points.  A series' points
 * live in a chain of blocks of 6, 30, then 126 points each (BLOCK_MAX); a
 * block is one allocation holding its timestamps then its values.
 *
 * Reservation: head_reserve() makes sure, ahead of the appends, that the
 * blocks and series structures they will need are allocated; block_new and
 * series_new take those first (a block of the needed size class, whichever
 * series claimed it: the counts per class match), so the appends allocate
 * nothing.  A round of reservations claims spares per class and allocates
 * only what the spares do not cover, so spares left over (a rewrite of the
 * newest point needs no room) serve the next round instead of piling up;
 * they count in head_bytes().
 *
 * The pool: one free list per block size, under a mutex.  Its blocks are
 * carved from chunks (of a size set when it is made), which go back to
 * the allocator only with the pool: a freed block stays on its list, and
 * a block is carved only when its list is empty, so the pool holds what
 * the heads held at their largest (and a chunk's uncarved rest).  Freeing
 * a head is then one splice per series (chain_release), and freeing the
 * pool a few chunks, where handing back each 2 KiB block emptied the
 * allocator's slabs one by one (10,000 blocks, 6-20 ms at the close of
 * the Beijing ingest).  It counts the bytes of the blocks on its lists
 * (kept).  Invariant: every block on a list has next = the following
 * block of that list (its n is stale: block_alloc resets it).  A head
 * without a pool allocates each block on its own.
 */
#include "engine/head.h"

#include "engine/alloc.h"
#include "engine/err.h"
#include "strata.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct hblock {
    struct hblock *next;
    uint32_t n, cap;
    int64_t *ts;
    uint64_t *v;
} hblock;
_Static_assert(sizeof(void *) != 8 || sizeof(hblock) == 32, "a block header is 32 bytes");

struct head_series {
    hblock *first, *last; /* (first: the next spare, on the spare list) */
    uint32_t n;
    int64_t last_ts;
    uint8_t type, sorted;
};

/* Block capacities: each block (header and points) is exactly a size the
 * allocator hands out (160 B, 512 B, 2 KiB), so none of it is rounding;
 * a series grows by blocks of BLOCK_MAX points after the first two, so it
 * carries at most one partly filled block of 2 KiB (blocks growing without
 * bound left a series up to half its bytes empty: with THP every byte of
 * a block is zeroed when it is first touched, used or not). */
#define NCLASS 3
#define BLOCK_MAX 126u
static const uint32_t class_cap[NCLASS] = {6, 30, BLOCK_MAX};

#define CHUNK_HEAD 64 /* the chunk chain's link, padded to a cache line */

struct head_pool {
    pthread_mutex_t mu;
    atomic_int refs;
    size_t chunk, kept;
    hblock *free[NCLASS];
    char *chunks;    /* every chunk, chained through its first word */
    char *cur, *end; /* the uncarved rest of the newest chunk */
};

struct head {
    head_pool *pool;
    head_series **by_sid;
    uint32_t by_sid_cap;
    uint32_t *sids;
    uint32_t nsids, sids_cap;
    /* head_reserve's allocations, taken before allocating anew: blocks per
     * class (nspare_blocks of each), and series (chained through `first`,
     * nspare of them); and what the round of reservations since
     * head_reserve_begin claimed of them */
    hblock *spare[NCLASS];
    uint32_t nspare_blocks[NCLASS], claimed_blocks[NCLASS];
    head_series *spare_series;
    uint32_t nspare, claimed_series;
    size_t bytes;
    uint64_t points;
    int64_t tmin, tmax;
};

static size_t block_size(uint32_t cap)
{
    return sizeof(hblock) + (size_t)cap * (sizeof(int64_t) + sizeof(uint64_t));
}

/* The capacity of the block after one of cap points (0: the first). */
static uint32_t next_cap(uint32_t cap)
{
    return cap == 0 ? class_cap[0] : cap == class_cap[0] ? class_cap[1] : BLOCK_MAX;
}

/* The free list of a capacity: class_cap[c] -> c. */
static unsigned block_class(uint32_t cap)
{
    return cap == class_cap[0] ? 0 : cap == class_cap[1] ? 1 : 2;
}

static void blocks_free(hblock *b)
{
    for (hblock *n; b; b = n) {
        n = b->next;
        st_free(b);
    }
}

head_pool *head_pool_new(size_t chunk)
{
    head_pool *p = st_calloc(1, sizeof *p);
    if (!p)
        return NULL;
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        st_free(p);
        return NULL;
    }
    atomic_init(&p->refs, 1);
    size_t least = CHUNK_HEAD + block_size(BLOCK_MAX);
    p->chunk = chunk > least ? chunk : least;
    return p;
}

static void pool_ref(head_pool *p)
{
    atomic_fetch_add(&p->refs, 1);
}

void head_pool_unref(head_pool *p)
{
    if (!p || atomic_fetch_sub(&p->refs, 1) != 1)
        return;
    for (char *c = p->chunks, *n; c; c = n) {
        memcpy(&n, c, sizeof n);
        st_free(c);
    }
    pthread_mutex_destroy(&p->mu);
    st_free(p);
}

size_t head_pool_kept(head_pool *p)
{
    pthread_mutex_lock(&p->mu);
    size_t k = p->kept;
    pthread_mutex_unlock(&p->mu);
    return k;
}

head *head_new(head_pool *pool)
{
    head *h = st_calloc(1, sizeof *h);
    if (h) {
        h->tmin = INT64_MAX;
        h->tmax = INT64_MIN;
        h->bytes = sizeof *h;
        h->pool = pool;
        if (pool)
            pool_ref(pool);
    }
    return h;
}

/* Put the blocks of a chain on the pool's lists.  Called with the pool's
 * mutex held. */
static void blocks_release(head_pool *pool, hblock *b)
{
    for (hblock *n; b; b = n) {
        n = b->next;
        size_t size = block_size(b->cap);
        unsigned c = block_class(b->cap);
        b->next = pool->free[c];
        pool->free[c] = b;
        pool->kept += size;
    }
}

/* blocks_release of a series' chain.  Its blocks of BLOCK_MAX points
 * (all but the first two) run to s->last, all full but that one: the run
 * goes onto its list whole, its length known from the point count,
 * without a visit to each block (a flush of the Beijing fixture released
 * some 36,000 blocks, a cache miss each, under the mutex the writer takes
 * for every block it allocates). */
static void chain_release(head_pool *pool, head_series *s)
{
    hblock *b = s->first, *n;
    uint64_t before = 0; /* points in the blocks before b (all full) */
    for (; b && b->cap != BLOCK_MAX; b = n) {
        n = b->next;
        before += b->cap;
        b->next = NULL;
        blocks_release(pool, b);
    }
    if (!b)
        return;
    size_t count = (size_t)((s->n - before + BLOCK_MAX - 1) / BLOCK_MAX);
    size_t bytes = count * block_size(BLOCK_MAX);
    pool->kept += bytes;
    s->last->next = pool->free[NCLASS - 1];
    pool->free[NCLASS - 1] = b;
}

void head_free(head *h)
{
    if (!h)
        return;
    if (h->pool)
        pthread_mutex_lock(&h->pool->mu);
    for (uint32_t i = 0; i < h->nsids; i++) {
        head_series *s = h->by_sid[h->sids[i]];
        if (h->pool)
            chain_release(h->pool, s);
        else
            blocks_free(s->first);
    }
    for (unsigned c = 0; c < NCLASS; c++) {
        if (h->pool)
            blocks_release(h->pool, h->spare[c]);
        else
            blocks_free(h->spare[c]);
    }
    if (h->pool)
        pthread_mutex_unlock(&h->pool->mu);
    for (uint32_t i = 0; i < h->nsids; i++)
        st_free(h->by_sid[h->sids[i]]);
    for (head_series *s = h->spare_series, *n; s; s = n) {
        n = (head_series *)(void *)s->first;
        st_free(s);
    }
    head_pool_unref(h->pool);
    st_free(h->by_sid);
    st_free(h->sids);
    st_free(h);
}

/* A block off the pool's list, or carved from its chunk (a new chunk when
 * the rest is too small); NULL when out of memory.  Mutex held. */
static hblock *pool_take(head_pool *pool, uint32_t cap)
{
    size_t size = block_size(cap);
    unsigned c = block_class(cap);
    hblock *b = pool->free[c];
    if (b) {
        pool->free[c] = b->next;
        pool->kept -= size;
    } else {
        if ((size_t)(pool->end - pool->cur) < size) {
            char *chunk = st_malloc(pool->chunk);
            if (!chunk)
                return NULL;
            memcpy(chunk, &pool->chunks, sizeof pool->chunks);
            pool->chunks = chunk;
            pool->cur = chunk + CHUNK_HEAD;
            pool->end = chunk + pool->chunk;
        }
        b = (hblock *)(void *)pool->cur;
        pool->cur += size;
    }
    return b;
}

/* A block from the pool or the allocator, counted in h->bytes. */
static hblock *block_alloc(head *h, uint32_t cap)
{
    size_t size = block_size(cap);
    head_pool *pool = h->pool;
    hblock *b;
    if (pool) {
        pthread_mutex_lock(&pool->mu);
        b = pool_take(pool, cap);
        pthread_mutex_unlock(&pool->mu);
    } else {
        b = st_malloc(size);
    }
    if (!b)
        return NULL;
    b->next = NULL;
    b->n = 0;
    b->cap = cap;
    b->ts = (int64_t *)(b + 1);
    b->v = (uint64_t *)(b->ts + cap);
    h->bytes += size;
    return b;
}

/* A block for an append: a reserved one of this size when there is one. */
static hblock *block_new(head *h, uint32_t cap)
{
    unsigned c = block_class(cap);
    hblock *b = h->spare[c];
    if (!b)
        return block_alloc(h, cap);
    h->spare[c] = b->next;
    h->nspare_blocks[c]--;
    h->claimed_blocks[c] -= h->claimed_blocks[c] > 0;
    b->next = NULL;
    return b;
}

/* Room in by_sid for sid and in sids for `more` more series. */
static int grow_tables(head *h, uint32_t sid, uint32_t more)
{
    if (sid >= h->by_sid_cap) {
        uint32_t cap = h->by_sid_cap ? h->by_sid_cap : 1024;
        while (cap <= sid)
            cap = cap * 2 > cap ? cap * 2 : UINT32_MAX;
        head_series **a = st_realloc(h->by_sid, (size_t)cap * sizeof *a);
        if (!a)
            return -1;
        memset(a + h->by_sid_cap, 0, (size_t)(cap - h->by_sid_cap) * sizeof *a);
        h->bytes += (size_t)(cap - h->by_sid_cap) * sizeof *a;
        h->by_sid = a;
        h->by_sid_cap = cap;
    }
    if (more > h->sids_cap - h->nsids) {
        uint32_t cap = h->sids_cap ? h->sids_cap : 256;
        while (more > cap - h->nsids) {
            if (cap > UINT32_MAX / 2)
                return -1;
            cap *= 2;
        }
        uint32_t *a = st_realloc(h->sids, (size_t)cap * sizeof *a);
        if (!a)
            return -1;
        h->bytes += (size_t)(cap - h->sids_cap) * sizeof *a;
        h->sids = a;
        h->sids_cap = cap;
    }
    return 0;
}

static head_series *series_new(head *h, uint32_t sid, uint8_t type)
{
    if (grow_tables(h, sid, 1))
        return NULL;
    head_series *s = h->spare_series;
    if (s) {
        h->spare_series = (head_series *)(void *)s->first;
        h->nspare--;
        h->claimed_series -= h->claimed_series > 0;
        memset(s, 0, sizeof *s);
    } else if ((s = st_calloc(1, sizeof *s)) != NULL) {
        h->bytes += sizeof *s;
    } else {
        return NULL;
    }
    s->type = type;
    s->sorted = 1;
    h->by_sid[sid] = s;
    h->sids[h->nsids++] = sid;
    return s;
}

int head_append_run(head *h, uint32_t sid, uint8_t type, const head_point *p, uint32_t n)
{
    head_series *s = sid < h->by_sid_cap ? h->by_sid[sid] : NULL;
    if (!s && n) {
        s = series_new(h, sid, type);
        if (!s)
            return st_err(STRATA_NOMEM, "out of memory in the head");
    }
    int rc = STRATA_OK;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    uint32_t added = 0;
    for (uint32_t i = 0; i < n; i++) {
        int64_t ts = p[i].ts;
        hblock *b = s->last;
        if (s->n && ts <= s->last_ts) {
            if (ts == s->last_ts) { /* rewrite of the newest point: replace */
                b->v[b->n - 1] = p[i].v;
                continue;
            }
            s->sorted = 0;
        }
        if (!b || b->n == b->cap) {
            hblock *nb = block_new(h, next_cap(b ? b->cap : 0));
            if (!nb) {
                rc = st_err(STRATA_NOMEM, "out of memory in the head");
                break;
            }
            if (b)
                b->next = nb;
            else
                s->first = nb;
            s->last = b = nb;
        }
        b->ts[b->n] = ts;
        b->v[b->n] = p[i].v;
        b->n++;
        s->n++;
        s->last_ts = ts;
        added++;
        lo = ts < lo ? ts : lo;
        hi = ts > hi ? ts : hi;
    }
    h->points += added;
    if (lo < h->tmin)
        h->tmin = lo;
    if (hi > h->tmax)
        h->tmax = hi;
    return rc;
}

int head_append(head *h, uint32_t sid, uint8_t type, int64_t ts, uint64_t v)
{
    head_point p = {ts, v};
    return head_append_run(h, sid, type, &p, 1);
}

size_t head_growth(const head *h, uint32_t sid, uint32_t add)
{
    const head_series *s = sid < h->by_sid_cap ? h->by_sid[sid] : NULL;
    size_t g = s ? 0 : sizeof(head_series) + sizeof(uint32_t) + sizeof(head_series *);
    uint32_t cap = s && s->last ? s->last->cap : 0, room = s && s->last ? cap - s->last->n : 0;
    while (add > room) {
        add -= room;
        cap = next_cap(cap);
        g += block_size(cap);
        room = cap;
    }
    return g;
}

void head_reserve_begin(head *h)
{
    memset(h->claimed_blocks, 0, sizeof h->claimed_blocks);
    h->claimed_series = 0;
}

int head_reserve(head *h, uint32_t sid, uint32_t add)
{
    head_series *s = sid < h->by_sid_cap ? h->by_sid[sid] : NULL;
    if (!s && add) {
        /* the series' structure, and table room for it and the other new
         * series of the round */
        if (grow_tables(h, sid, h->claimed_series + 1))
            return st_err(STRATA_NOMEM, "out of memory in the head");
        if (h->claimed_series == h->nspare) {
            head_series *n = st_malloc(sizeof *n);
            if (!n)
                return st_err(STRATA_NOMEM, "out of memory in the head");
            h->bytes += sizeof *n;
            n->first = (hblock *)(void *)h->spare_series;
            h->spare_series = n;
            h->nspare++;
        }
        h->claimed_series++;
    }
    uint32_t cap = s && s->last ? s->last->cap : 0, room = s && s->last ? cap - s->last->n : 0;
    while (add > room) {
        add -= room;
        cap = next_cap(cap);
        unsigned c = block_class(cap);
        if (h->claimed_blocks[c] == h->nspare_blocks[c]) {
            hblock *b = block_alloc(h, cap);
            if (!b)
                return st_err(STRATA_NOMEM, "out of memory in the head");
            b->next = h->spare[c];
            h->spare[c] = b;
            h->nspare_blocks[c]++;
        }
        h->claimed_blocks[c]++;
        room = cap;
    }
    return STRATA_OK;
}

size_t head_bytes(const head *h)
{
    return h->bytes;
}

uint64_t head_points(const head *h)
{
    return h->points;
}

int64_t head_tmin(const head *h)
{
    return h->tmin;
}

int64_t head_tmax(const head *h)
{
    return h->tmax;
}

uint32_t head_nseries(const head *h)
{
    return h->nsids;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

void head_sort_ids(head *h)
{
    qsort(h->sids, h->nsids, sizeof *h->sids, cmp_u32);
}

uint32_t head_series_id_at(const head *h, uint32_t i)
{
    return h->sids[i];
}

head_series *head_get(const head *h, uint32_t sid)
{
    return sid < h->by_sid_cap ? h->by_sid[sid] : NULL;
}

uint8_t head_series_type(const head_series *s)
{
    return s->type;
}

uint32_t head_series_points(const head_series *s)
{
    return s->n;
}

void head_series_bounds(const head_series *s, int64_t *lo, int64_t *hi)
{
    if (s->sorted) {
        *lo = s->first->ts[0];
        *hi = s->last_ts;
        return;
    }
    *lo = INT64_MAX;
    *hi = INT64_MIN;
    for (hblock *b = s->first; b; b = b->next)
        for (uint32_t i = 0; i < b->n; i++) {
            *lo = b->ts[i] < *lo ? b->ts[i] : *lo;
            *hi = b->ts[i] > *hi ? b->ts[i] : *hi;
        }
}

typedef struct tpoint {
    int64_t ts;
    uint64_t v;
} tpoint;

/* Stable sort of a[0..n) by time, a natural merge sort: each pass merges
 * neighbouring ascending runs pairwise from a into b, then the two swap
 * roles.  Late points leave a few long runs, so this costs O(n log runs)
 * (one pass over in-order data).  A merge takes the left run's point on
 * equal times and runs are neighbours in array order, so points of one
 * timestamp stay in the order they came.  Returns the sorted array: a or
 * b. */
static tpoint *sort_by_time(tpoint *a, tpoint *b, size_t n)
{
    for (;;) {
        size_t i = 0;
        while (i < n) {
            size_t m = i + 1;
            while (m < n && a[m - 1].ts <= a[m].ts)
                m++;
            if (m == n) {
                if (i == 0)
                    return a; /* one run: sorted */
                memcpy(b + i, a + i, (n - i) * sizeof *a);
                break;
            }
            size_t e = m + 1;
            while (e < n && a[e - 1].ts <= a[e].ts)
                e++;
            size_t p = i, q = m, k = i;
            while (p < m && q < e)
                b[k++] = a[q].ts < a[p].ts ? a[q++] : a[p++];
            memcpy(b + k, a + p, (m - p) * sizeof *a);
            k += m - p;
            memcpy(b + k, a + q, (e - q) * sizeof *a);
            i = e;
        }
        tpoint *t = a;
        a = b;
        b = t;
    }
}

int head_collect(const head_series *s, int64_t from, int64_t to, int64_t **ts_out,
                 uint64_t **v_out, size_t *n_out)
{
    *ts_out = NULL;
    *v_out = NULL;
    *n_out = 0;
    if (!s || from >= to)
        return STRATA_OK;
    size_t n = 0;
    int all_after = to == INT64_MAX; /* no upper bound */
#define IN_RANGE(t) ((t) >= from && ((t) < to || all_after))
    if (s->sorted) {
        /* Count (all of them when the range is unbounded: a sorted series
         * holds one point per timestamp), then copy the in-range run. */
        if (from == INT64_MIN && all_after)
            n = s->n;
        else
            for (hblock *b = s->first; b; b = b->next)
                for (uint32_t i = 0; i < b->n; i++)
                    n += IN_RANGE(b->ts[i]);
        if (!n)
            return STRATA_OK;
        int64_t *ts = st_malloc(n * sizeof *ts);
        uint64_t *v = st_malloc(n * sizeof *v);
        if (!ts || !v) {
            st_free(ts);
            st_free(v);
            return st_err(STRATA_NOMEM, "out of memory reading the head");
        }
        size_t k = 0;
        if (from == INT64_MIN && all_after) { /* a flush: every point, block by block */
            for (hblock *b = s->first; b; b = b->next) {
                memcpy(ts + k, b->ts, b->n * sizeof *ts);
                memcpy(v + k, b->v, b->n * sizeof *v);
                k += b->n;
            }
        } else {
            for (hblock *b = s->first; b; b = b->next)
                for (uint32_t i = 0; i < b->n; i++)
                    if (IN_RANGE(b->ts[i])) {
                        ts[k] = b->ts[i];
                        v[k++] = b->v[i];
                    }
        }
        *ts_out = ts;
        *v_out = v;
        *n_out = n;
        return STRATA_OK;
    }
    /* Out of order: a stable sort by time (arrival order within a
     * timestamp), then the last of each timestamp is kept. */
    for (hblock *b = s->first; b; b = b->next)
        for (uint32_t i = 0; i < b->n; i++)
            n += IN_RANGE(b->ts[i]);
    if (!n)
        return STRATA_OK;
    tpoint *buf = st_malloc(2 * n * sizeof *buf);
    int64_t *ts = st_malloc(n * sizeof *ts);
    uint64_t *v = st_malloc(n * sizeof *v);
    if (!buf || !ts || !v) {
        st_free(buf);
        st_free(ts);
        st_free(v);
        return st_err(STRATA_NOMEM, "out of memory reading the head");
    }
    size_t k = 0;
    for (hblock *b = s->first; b; b = b->next)
        for (uint32_t i = 0; i < b->n; i++)
            if (IN_RANGE(b->ts[i]))
                buf[k++] = (tpoint){b->ts[i], b->v[i]};
    tpoint *t = sort_by_time(buf, buf + n, n);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (i + 1 < n && t[i + 1].ts == t[i].ts)
            continue; /* a later write of the same timestamp follows */
        ts[m] = t[i].ts;
        v[m++] = t[i].v;
    }
    st_free(buf);
#undef IN_RANGE
    *ts_out = ts;
    *v_out = v;
    *n_out = m;
    return STRATA_OK;
}
