/*
 * alloc.c — allocation seam (see alloc.h).  The failure countdown is an
 * atomic so that any thread's allocation can be the one that fails.
 */
#include "engine/alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_long fail_countdown; /* 0 = off; 1 = next allocation fails */
static atomic_long alloc_count;

static int should_fail(void)
{
    atomic_fetch_add_explicit(&alloc_count, 1, memory_order_relaxed);
    long c = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
    while (c > 0) {
        if (atomic_compare_exchange_weak(&fail_countdown, &c, c - 1))
            return c == 1;
    }
    return 0;
}

void *st_malloc(size_t n)
{
    if (should_fail())
        return NULL;
    return malloc(n ? n : 1);
}

void *st_calloc(size_t count, size_t size)
{
    if (should_fail())
        return NULL;
    return calloc(count ? count : 1, size ? size : 1);
}

void *st_realloc(void *p, size_t n)
{
    if (should_fail())
        return NULL;
    return realloc(p, n ? n : 1);
}

void st_free(void *p)
{
    free(p);
}

char *st_strndup(const char *s, size_t n)
{
    char *d = st_malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

long st_alloc_fail_at(long n)
{
    atomic_store(&fail_countdown, n < 0 ? 0 : n);
    return atomic_exchange(&alloc_count, 0);
}
