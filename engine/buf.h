/*
 * buf.h — a growable byte buffer (memory from the allocation seam).
 * buf_reserve() guarantees room for n more bytes; the put_* helpers of
 * varint.h then write at b->p + b->len through buf_cursor()/buf_commit().
 */
#ifndef STRATA_BUF_H
#define STRATA_BUF_H

#include "engine/alloc.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct buf {
    uint8_t *p;
    size_t len, cap;
} buf;

/* 0 on success, -1 when out of memory. */
static inline int buf_reserve(buf *b, size_t n)
{
    if (b->cap - b->len >= n)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < n)
        cap *= 2;
    uint8_t *p = st_realloc(b->p, cap);
    if (!p)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

/* The end of the contents (p itself while empty: p may still be NULL, and
 * NULL + 0 is undefined in C). */
static inline uint8_t *buf_cursor(buf *b)
{
    return b->len ? b->p + b->len : b->p;
}

static inline void buf_commit(buf *b, uint8_t *cursor)
{
    b->len = (size_t)(cursor - b->p);
}

static inline int buf_append(buf *b, const void *data, size_t n)
{
    if (n == 0)
        return 0;
    if (buf_reserve(b, n))
        return -1;
    memcpy(b->p + b->len, data, n);
    b->len += n;
    return 0;
}

static inline void buf_free(buf *b)
{
    st_free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

#endif
