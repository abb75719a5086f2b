/*
 * head.c — per-series point buffers (see head.h).
 *
 * Layout: head->by_sid[sid] points to the series' head_series (NULL when it
 * has no points); head->sids lists the ids with points.  A series' newest
 * point is held in its head_series (so that a rewrite of it is a store);
 * the ones before it are encoded in a chain of byte blocks of 256 B,
 * 1 KiB, 4 KiB, 16 KiB, then 64 KiB (write_point): the time as the LEB128
 * varint of the zigzagged delta of deltas (wrapping 64-bit arithmetic, so
 * any sequence round-trips; one byte for a regular series), the value as
 * its XOR with the value before: a control byte and the bytes between the
 * XOR's zero bytes at either end (one byte in all for a repeated value).
 * A point never straddles blocks (a block ends where POINT_MAX bytes are
 * no longer free).  Decoding starts at the first point with a previous
 * time, delta and value of 0.
 *
 * The pool: one free list per block size, under a mutex.  It counts the
 * bytes of blocks its heads hold (live) and of blocks on its lists (kept);
 * a freed block is kept only while live + kept stays within the limit, so
 * the pool never holds more than the heads could have held at their
 * largest.  Invariant: every block on a list has used = 0 and next = the
 * following block of that list.
 */
#include "engine/head.h"

#include "engine/alloc.h"
#include "engine/err.h"
#include "engine/varint.h"
#include "strata.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct hblock {
    struct hblock *next;
    uint32_t used, cap; /* bytes */
    uint8_t data[];
} hblock;

struct head_series {
    hblock *first, *last;
    uint32_t n; /* points, the newest (not in the blocks yet) included */
    int64_t first_ts;
    int64_t last_ts; /* the newest point, held here until the next one */
    uint64_t last_v;
    /* the encoder's state after the last point in the blocks */
    int64_t wr_ts;
    uint64_t wr_delta, wr_v;
    uint8_t type, sorted;
};

/* time varint, value control byte, and the value's 8-byte store */
#define POINT_MAX (VARINT_MAX + 1 + 8)
#define BLOCK_MIN 256u
#define BLOCK_MAX 65536u
#define NCLASS 5 /* free lists: capacities 256, 1 Ki, 4 Ki, 16 Ki and BLOCK_MAX bytes */

struct head_pool {
    pthread_mutex_t mu;
    atomic_int refs;
    size_t limit, live, kept;
    hblock *free[NCLASS];
};

struct head {
    head_pool *pool;
    head_series **by_sid;
    uint32_t by_sid_cap;
    uint32_t *sids;
    uint32_t nsids, sids_cap;
    size_t bytes;
    uint64_t points;
    int64_t tmin, tmax;
};

static size_t block_size(uint32_t cap)
{
    return sizeof(hblock) + cap;
}

/* The capacity of the block after one of cap bytes (0: the first). */
static uint32_t next_cap(uint32_t cap)
{
    return cap ? (cap * 4 < BLOCK_MAX ? cap * 4 : BLOCK_MAX) : BLOCK_MIN;
}

/* The free list of a capacity: 256 -> 0, 1 Ki -> 1, ..., BLOCK_MAX -> 4. */
static unsigned block_class(uint32_t cap)
{
    return (unsigned)(__builtin_ctz(cap) - 8) / 2;
}

static void blocks_free(hblock *b)
{
    for (hblock *n; b; b = n) {
        n = b->next;
        st_free(b);
    }
}

head_pool *head_pool_new(size_t limit)
{
    head_pool *p = st_calloc(1, sizeof *p);
    if (!p)
        return NULL;
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        st_free(p);
        return NULL;
    }
    atomic_init(&p->refs, 1);
    p->limit = limit;
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
    for (unsigned c = 0; c < NCLASS; c++)
        blocks_free(p->free[c]);
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

/* Give the blocks of a chain back to the pool while it may keep them;
 * the others are chained onto *spill, for the allocator.  Called with the
 * pool's mutex held. */
static void blocks_release(head_pool *pool, hblock *b, hblock **spill)
{
    for (hblock *n; b; b = n) {
        n = b->next;
        size_t size = block_size(b->cap);
        pool->live -= size;
        if (pool->live + pool->kept + size <= pool->limit) {
            unsigned c = block_class(b->cap);
            b->used = 0;
            b->next = pool->free[c];
            pool->free[c] = b;
            pool->kept += size;
        } else {
            b->next = *spill;
            *spill = b;
        }
    }
}

void head_free(head *h)
{
    if (!h)
        return;
    hblock *spill = NULL;
    if (h->pool)
        pthread_mutex_lock(&h->pool->mu);
    for (uint32_t i = 0; i < h->nsids; i++) {
        head_series *s = h->by_sid[h->sids[i]];
        if (h->pool)
            blocks_release(h->pool, s->first, &spill);
        else
            blocks_free(s->first);
    }
    if (h->pool)
        pthread_mutex_unlock(&h->pool->mu);
    blocks_free(spill);
    for (uint32_t i = 0; i < h->nsids; i++)
        st_free(h->by_sid[h->sids[i]]);
    head_pool_unref(h->pool);
    st_free(h->by_sid);
    st_free(h->sids);
    st_free(h);
}

static hblock *block_new(head *h, uint32_t cap)
{
    size_t size = block_size(cap);
    head_pool *pool = h->pool;
    hblock *b = NULL;
    if (pool) {
        unsigned c = block_class(cap);
        pthread_mutex_lock(&pool->mu);
        if ((b = pool->free[c]) != NULL) {
            pool->free[c] = b->next;
            pool->kept -= size;
            pool->live += size;
        }
        pthread_mutex_unlock(&pool->mu);
    }
    if (!b) {
        if (!(b = st_malloc(size)))
            return NULL;
        if (pool) {
            pthread_mutex_lock(&pool->mu);
            pool->live += size;
            pthread_mutex_unlock(&pool->mu);
        }
    }
    b->next = NULL;
    b->used = 0;
    b->cap = cap;
    h->bytes += size;
    return b;
}

static head_series *series_new(head *h, uint32_t sid, uint8_t type)
{
    if (sid >= h->by_sid_cap) {
        uint32_t cap = h->by_sid_cap ? h->by_sid_cap : 1024;
        while (cap <= sid)
            cap = cap * 2 > cap ? cap * 2 : UINT32_MAX;
        head_series **a = st_realloc(h->by_sid, (size_t)cap * sizeof *a);
        if (!a)
            return NULL;
        memset(a + h->by_sid_cap, 0, (size_t)(cap - h->by_sid_cap) * sizeof *a);
        h->bytes += (size_t)(cap - h->by_sid_cap) * sizeof *a;
        h->by_sid = a;
        h->by_sid_cap = cap;
    }
    if (h->nsids == h->sids_cap) {
        uint32_t cap = h->sids_cap ? h->sids_cap * 2 : 256;
        uint32_t *a = st_realloc(h->sids, (size_t)cap * sizeof *a);
        if (!a)
            return NULL;
        h->bytes += (size_t)(cap - h->sids_cap) * sizeof *a;
        h->sids = a;
        h->sids_cap = cap;
    }
    head_series *s = st_calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->type = type;
    s->sorted = 1;
    h->bytes += sizeof *s;
    h->by_sid[sid] = s;
    h->sids[h->nsids++] = sid;
    return s;
}

static inline void store_le64(uint8_t *p, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    memcpy(p, &v, 8);
}

static inline uint64_t load_le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

/* Point (ts, v) into the blocks after the points there: the time as the
 * varint of the zigzagged delta of deltas, then the value XORed with the
 * previous one as a control byte (0: equal; else the number of low zero
 * bytes << 4 | the number of bytes kept) and those bytes, little endian. */
static int write_point(head *h, head_series *s, int64_t ts, uint64_t v)
{
    hblock *b = s->last;
    if (!b || b->cap - b->used < POINT_MAX) {
        hblock *nb = block_new(h, next_cap(b ? b->cap : 0));
        if (!nb)
            return st_err(STRATA_NOMEM, "out of memory in the head");
        if (b)
            b->next = nb;
        else
            s->first = nb;
        s->last = b = nb;
    }
    uint64_t delta = (uint64_t)ts - (uint64_t)s->wr_ts;
    uint8_t *p = b->data + b->used;
    put_varint(&p, zigzag_enc((int64_t)(delta - s->wr_delta)));
    uint64_t x = v ^ s->wr_v;
    if (!x) {
        *p++ = 0;
    } else {
        unsigned low = (unsigned)__builtin_ctzll(x) / 8, high = (unsigned)__builtin_clzll(x) / 8;
        unsigned keep = 8 - low - high;
        *p++ = (uint8_t)(low << 4 | keep);
        store_le64(p, x >> (8 * low)); /* room for all 8 (POINT_MAX) */
        p += keep;
    }
    b->used = (uint32_t)(p - b->data);
    s->wr_ts = ts;
    s->wr_delta = delta;
    s->wr_v = v;
    return STRATA_OK;
}

int head_append(head *h, uint32_t sid, uint8_t type, int64_t ts, uint64_t v)
{
    head_series *s = sid < h->by_sid_cap ? h->by_sid[sid] : NULL;
    if (!s) {
        s = series_new(h, sid, type);
        if (!s)
            return st_err(STRATA_NOMEM, "out of memory in the head");
    } else if (s->n && ts <= s->last_ts) {
        if (ts == s->last_ts) { /* rewrite of the newest point: replace */
            s->last_v = v;
            return STRATA_OK;
        }
        s->sorted = 0;
    }
    if (s->n) {
        int rc = write_point(h, s, s->last_ts, s->last_v);
        if (rc != STRATA_OK)
            return rc;
    } else {
        /* the first block comes with the first point, as the series does:
         * a write's allocations happen while its series are new */
        if (!s->last && !(s->first = s->last = block_new(h, next_cap(0))))
            return st_err(STRATA_NOMEM, "out of memory in the head");
        s->first_ts = ts;
    }
    s->n++;
    s->last_ts = ts;
    s->last_v = v;
    h->points++;
    if (ts < h->tmin)
        h->tmin = ts;
    if (ts > h->tmax)
        h->tmax = ts;
    return STRATA_OK;
}

size_t head_growth(const head *h, uint32_t sid, uint32_t add)
{
    const head_series *s = sid < h->by_sid_cap ? h->by_sid[sid] : NULL;
    size_t g = 0;
    if (!s) { /* series_new: the series, and its tables when they grow */
        g = sizeof(head_series);
        if (sid >= h->by_sid_cap) {
            uint32_t c = h->by_sid_cap ? h->by_sid_cap : 1024;
            while (c <= sid)
                c = c * 2 > c ? c * 2 : UINT32_MAX;
            g += (size_t)(c - h->by_sid_cap) * sizeof(head_series *);
        }
        if (h->nsids == h->sids_cap)
            g += (size_t)(h->sids_cap ? h->sids_cap : 256) * sizeof(uint32_t);
    }
    uint32_t cap = s && s->last ? s->last->cap : 0;
    /* points that surely fit: a block takes another while POINT_MAX bytes
     * are free */
    uint32_t room = s && s->last && cap - s->last->used >= POINT_MAX
                        ? (cap - s->last->used - POINT_MAX) / POINT_MAX + 1
                        : 0;
    while (add > room) {
        add -= room;
        cap = next_cap(cap);
        g += block_size(cap);
        room = (cap - POINT_MAX) / POINT_MAX + 1;
    }
    return g;
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

/* Reads a series' points in arrival order (write_point's encoding): the
 * n - 1 in the blocks, then the newest. */
typedef struct pt_reader {
    const head_series *s;
    const hblock *b;
    uint32_t at, left;
    int64_t ts;
    uint64_t delta, v;
} pt_reader;

static void reader_start(pt_reader *r, const head_series *s)
{
    *r = (pt_reader){s, s->first, 0, s->n - 1, 0, 0, 0};
}

/* The next point; there is one (at most s->n calls). */
static inline void reader_next(pt_reader *r, int64_t *ts, uint64_t *v)
{
    if (!r->left) {
        *ts = r->s->last_ts;
        *v = r->s->last_v;
        return;
    }
    r->left--;
    if (r->at == r->b->used) { /* blocks are never empty */
        r->b = r->b->next;
        r->at = 0;
    }
    const uint8_t *p = r->b->data + r->at;
    uint64_t z = *p++;
    if (z & 0x80) {
        z &= 0x7f;
        unsigned sh = 7;
        uint8_t c;
        do {
            c = *p++;
            z |= (uint64_t)(c & 0x7f) << sh;
            sh += 7;
        } while (c & 0x80);
    }
    r->delta += (uint64_t)zigzag_dec(z);
    r->ts = (int64_t)((uint64_t)r->ts + r->delta);
    unsigned c = *p++;
    if (c) {
        unsigned keep = c & 15, low = c >> 4;
        uint64_t x = load_le64(p); /* inside the block: write_point stored 8 */
        if (keep < 8)
            x &= (1ull << (8 * keep)) - 1;
        r->v ^= x << (8 * low);
        p += keep;
    }
    *ts = r->ts;
    *v = r->v;
    r->at = (uint32_t)(p - r->b->data);
}

void head_series_bounds(const head_series *s, int64_t *lo, int64_t *hi)
{
    if (s->sorted) {
        *lo = s->first_ts;
        *hi = s->last_ts;
        return;
    }
    *lo = INT64_MAX;
    *hi = INT64_MIN;
    pt_reader r;
    reader_start(&r, s);
    for (uint32_t i = 0; i < s->n; i++) {
        int64_t ts;
        uint64_t v;
        reader_next(&r, &ts, &v);
        *lo = ts < *lo ? ts : *lo;
        *hi = ts > *hi ? ts : *hi;
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
    int all_after = to == INT64_MAX; /* no upper bound */
    int64_t *ts = st_malloc(s->n * sizeof *ts);
    uint64_t *v = st_malloc(s->n * sizeof *v);
    if (!ts || !v) {
        st_free(ts);
        st_free(v);
        return st_err(STRATA_NOMEM, "out of memory reading the head");
    }
    /* the points in range, in arrival order */
    pt_reader r;
    reader_start(&r, s);
    size_t n = 0;
    for (uint32_t i = 0; i < s->n; i++) {
        reader_next(&r, &ts[n], &v[n]);
        n += ts[n] >= from && (ts[n] < to || all_after);
    }
    if (!n) {
        st_free(ts);
        st_free(v);
        return STRATA_OK;
    }
    if (s->sorted) {
        *ts_out = ts;
        *v_out = v;
        *n_out = n;
        return STRATA_OK;
    }
    /* Out of order: a stable sort by time (arrival order within a
     * timestamp), then the last of each timestamp is kept. */
    tpoint *buf = st_malloc(2 * n * sizeof *buf);
    if (!buf) {
        st_free(ts);
        st_free(v);
        return st_err(STRATA_NOMEM, "out of memory reading the head");
    }
    for (size_t i = 0; i < n; i++)
        buf[i] = (tpoint){ts[i], v[i]};
    tpoint *t = sort_by_time(buf, buf + n, n);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (i + 1 < n && t[i + 1].ts == t[i].ts)
            continue; /* a later write of the same timestamp follows */
        ts[m] = t[i].ts;
        v[m++] = t[i].v;
    }
    st_free(buf);
    *ts_out = ts;
    *v_out = v;
    *n_out = m;
    return STRATA_OK;
}
