/*
 * alloc.h — the one allocation seam of libstrata.
 *
 * Every allocation in the library goes through these functions, so a test
 * can make the n-th allocation fail (st_alloc_fail_at) and check that the
 * caller reports STRATA_NOMEM and leaks nothing.  The process allocator is
 * jemalloc when the program links it (the CLI does).
 */
#ifndef STRATA_ALLOC_H
#define STRATA_ALLOC_H

#include <stddef.h>

void *st_malloc(size_t n);
void *st_calloc(size_t count, size_t size);
void *st_realloc(void *p, size_t n);
void st_free(void *p);
char *st_strndup(const char *s, size_t n);

/* Tests only: the n-th allocation from now fails (1 = the next one); every
 * later one succeeds again.  0 disables.  Returns how many allocations
 * were made since the previous call. */
long st_alloc_fail_at(long n);

#endif
