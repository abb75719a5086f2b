/*
 * agg.h — aggregate functions over one bucket of one group: fed points
 * (in time order within a series), or whole chunks through their
 * statistics, then finalised into one value.  Definitions (docs/QUERY.md):
 *
 *   count            values (NaN included)
 *   sum, mean        of the non-NaN values; int64 sums are exact
 *   min, max, spread over the non-NaN values
 *   first, last      the value with the earliest / latest timestamp
 *   stddev           sample standard deviation (n - 1) of the non-NaN values
 *   median           middle value (mean of the two middle ones when even)
 *   percentile(p)    nearest rank: the ceil(p/100 * n)-th smallest (p = 0:
 *                    the smallest)
 *   integral(u)      trapezoid area under each series, in value × u, summed
 *   derivative(u)    (last - first) / ((t_last - t_first) / u) per series,
 *                    summed over the group's series
 *   rate(u)          like derivative, counting only increases (a drop is a
 *                    counter reset: the new value counts as the increase)
 *
 * A group may mix series whose field is int64 in one tag set and float64 in
 * another; the state then works in float64.
 */
#ifndef STRATA_QUERY_AGG_H
#define STRATA_QUERY_AGG_H

#include "engine/chunk.h"
#include "query/ast.h"

#include <stddef.h>
#include <stdint.h>

typedef struct agg_state {
    uint64_t count, nnum;
    int have_float;  /* a float64 value was seen */
    int have_int;    /* an int64 (or bool) value was seen */
    double fsum;     /* float64 values */
    __int128 isum;   /* int64 and bool values */
    double min, max; /* over numbers (ints converted) */
    int64_t imin, imax;
    int has_minmax;
    int64_t first_t, last_t;
    uint64_t first_v, last_v;
    uint8_t first_type, last_type;
    int has_first;
    double w_mean, w_m2; /* Welford, for stddev */
    uint64_t w_n;
    double *vals; /* median, percentile */
    size_t nvals, cap;
    /* per series, for integral / derivative / rate */
    int64_t s_prev_t, s_first_t;
    double s_prev_v, s_first_v;
    int s_has;
    double area, deriv, increase;
    int deriv_n;
} agg_state;

void agg_init(agg_state *s);
void agg_reset(agg_state *s); /* keeps the value buffer */
void agg_free(agg_state *s);
/* Feed one point of a series of type `type` (STRATA_F64/I64/BOOL). */
int agg_add(agg_state *s, agg_kind k, uint8_t type, int64_t ts, uint64_t bits);
/* Feed n points in time order (ts may be NULL when the aggregate does not
 * need times: agg_needs_time() is 0). */
int agg_add_block(agg_state *s, agg_kind k, uint8_t type, const int64_t *ts, const uint64_t *v,
                  size_t n);
int agg_needs_time(agg_kind k);
/* Can rollup rows (count, sum, min, max, first, last per bucket) give this
 * aggregate exactly? */
int agg_from_rollups_ok(agg_kind k);
/* stddev: merge in the moments of a block of values that has been counted
 * otherwise (agg_add_stats): n numbers (not NaN), their mean and sum of
 * squared deviations m2 (NaN: an infinity among them). */
void agg_add_moments(agg_state *s, uint64_t n, double mean, double m2);
/* Points of a new series follow (integral/derivative/rate are per series). */
void agg_series_end(agg_state *s, agg_kind k);
/* Can this aggregate take a chunk of this type from its statistics? */
int agg_from_stats_ok(agg_kind k, uint8_t type, const chunk_stats *st);
void agg_add_stats(agg_state *s, uint8_t type, const chunk_meta *m);

/* The result: its column type (STRATA_COL_*) and value. */
typedef struct agg_value {
    int type;
    double f;
    int64_t i;
} agg_value;

void agg_final(agg_state *s, const q_expr *e, agg_value *out /* OUT */);
/* Which result type an aggregate of a field of this type gives. */
int agg_result_type(agg_kind k, uint8_t field_type);
/* NULL when aggregate k applies to fields of this type, else why not. */
const char *agg_type_problem(agg_kind k, uint8_t field_type);

#endif
