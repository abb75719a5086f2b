/*
 * iter.h — reading one series over a time range, merged from every source
 * that holds it (segments, the head being flushed, the active head).
 * Internal entry points for the CLI and, later, the query layer: they
 * return raw 64-bit values instead of strata_value.
 */
#ifndef STRATA_ITER_H
#define STRATA_ITER_H

#include "strata.h"

#include <stddef.h>
#include <stdint.h>

/* Up to cap points; *n == 0 and STRATA_DONE at the end, else STRATA_ROW. */
int iter_next_raw(strata_iter *it, int64_t *ts /* OUT */, uint64_t *v /* OUT */, size_t cap,
                  size_t *n /* OUT */);
uint8_t iter_type(const strata_iter *it);

#endif
