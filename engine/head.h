/*
 * head.h — the in-memory head: per-series buffers of points not yet
 * flushed to segment files.
 *
 * Points are kept in arrival order in blocks of 6, 30, then 126 points
 * (no reallocation; each block is exactly an allocator size class, and a
 * series wastes at most one partly filled 2 KiB block).  A point whose
 * timestamp equals the series' last one replaces that value in place (last
 * write wins); an earlier timestamp marks the series unsorted, and
 * head_collect() then sorts (stable) and keeps, for each timestamp, the
 * value written last.
 *
 * Memory: head_bytes() counts every byte the head allocated; the database
 * freezes the head before a write whose head_growth() would take it past
 * its flush threshold (half the budget).  The heads of one database draw their
 * blocks from a shared pool: a freed head's blocks go back to it and the
 * next head reuses them, so a stream of flushes does not hand memory to
 * the system only to fault it back in (page faults, zeroing, TLB
 * shootdowns); the pool holds what the heads held at their largest.
 *
 * Threads: a head is not locked here; the database serialises writers and
 * guards readers with its head lock.  A frozen head (being flushed) is
 * never modified again and may be read without locks.
 */
#ifndef STRATA_HEAD_H
#define STRATA_HEAD_H

#include <stddef.h>
#include <stdint.h>

typedef struct head head;
typedef struct head_series head_series;
typedef struct head_pool head_pool;

/* A pool of blocks for heads, carved from chunks of `chunk` bytes: a freed
 * head's blocks stay in it for the next heads (head.c), so it holds what
 * its heads held at their largest.  NULL when out of memory.  Thread-safe;
 * each head holds a reference, so the pool lives until the last of them
 * and the creator's reference are gone. */
head_pool *head_pool_new(size_t chunk);
void head_pool_unref(head_pool *p);
/* Bytes of blocks the pool keeps now (strata_stats.head_kept_bytes). */
size_t head_pool_kept(head_pool *p);

/* A new empty head drawing on pool (NULL: plain allocations). */
head *head_new(head_pool *pool);
void head_free(head *h);

/* Add one point; STRATA_NOMEM (the head is unchanged) or STRATA_OK. */
int head_append(head *h, uint32_t sid, uint8_t type, int64_t ts, uint64_t v);
/* A point of head_append_run. */
typedef struct head_point {
    int64_t ts;
    uint64_t v;
} head_point;
/* Add n points of one series, in order: the same as n head_append()
 * calls, in one pass over the series' blocks.  STRATA_NOMEM leaves the
 * points before the one that found no memory added (appends a
 * head_reserve covers cannot fail); else STRATA_OK. */
int head_append_run(head *h, uint32_t sid, uint8_t type, const head_point *p, uint32_t n);

size_t head_bytes(const head *h);
/* The bytes head_append() would allocate for `add` more points of series
 * sid (an upper bound: a rewrite of the newest point allocates nothing). */
size_t head_growth(const head *h, uint32_t sid, uint32_t add);
/* A round of reservations: head_reserve_begin(), then head_reserve() for
 * each series the coming appends touch, once each with all its points;
 * afterwards those appends allocate nothing and cannot fail.  head_reserve
 * allocates what the spares left by earlier rounds do not cover:
 * STRATA_NOMEM (what it allocated stays as spares, the head is otherwise
 * unchanged) or STRATA_OK.  (Two calls for one series reserve as if each
 * came first.)  Spares count in head_bytes(). */
void head_reserve_begin(head *h);
int head_reserve(head *h, uint32_t sid, uint32_t add);
uint64_t head_points(const head *h);
int64_t head_tmin(const head *h); /* INT64_MAX when empty */
int64_t head_tmax(const head *h); /* INT64_MIN when empty */

/* Series with data, in ascending id order after head_sort_ids(). */
uint32_t head_nseries(const head *h);
void head_sort_ids(head *h);
uint32_t head_series_id_at(const head *h, uint32_t i);
head_series *head_get(const head *h, uint32_t sid); /* NULL when no data */
uint8_t head_series_type(const head_series *s);
uint32_t head_series_points(const head_series *s);

/* The smallest and largest timestamp of s (which has points). */
void head_series_bounds(const head_series *s, int64_t *lo /* OUT */, int64_t *hi /* OUT */);

/* The points of s with from <= ts < to (to == INT64_MAX: no upper bound),
 * sorted, one per timestamp (the
 * last written), into arrays from st_malloc (*ts and *v NULL when n = 0). */
int head_collect(const head_series *s, int64_t from, int64_t to, int64_t **ts /* OUT */,
                 uint64_t **v /* OUT */, size_t *n /* OUT */);

#endif
