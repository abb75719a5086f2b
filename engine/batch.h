/*
 * batch.h — the insides of strata_batch, shared with the write path.
 *
 * A batch holds field values (bval) that point at batch-local series
 * entries (lseries) of batch-local tag sets (ltagset).  Those two tables
 * are a cache that survives strata_batch_clear(): the raw text of a tag set
 * (as the caller wrote it, tags in any order) maps straight to its
 * canonical key and database id, so a steady stream of the same devices
 * costs one hash per point.  Series still unknown to the database carry
 * CAT_NONE until the write path creates them under the writer lock.
 */
#ifndef STRATA_BATCH_H
#define STRATA_BATCH_H

#include "engine/buf.h"
#include "engine/catalog.h"
#include "engine/lineproto.h"
#include "strata.h"

typedef struct bval {
    uint32_t ls; /* index into lseries */
    int64_t ts;
    uint64_t bits;
} bval;

/* Values live in pages of BVAL_PAGE (the first page grows by doubling up
 * to that size, the others are allocated whole and never move): growing a
 * batch of half a million values copies at most one page, where doubling
 * one array wrote, and made the kernel hand over, twice the memory. */
#define BVAL_SHIFT 15
#define BVAL_PAGE ((size_t)1 << BVAL_SHIFT)

#define LT_FIELDS 16 /* fields per line whose series a tag set remembers */

typedef struct ltagset {
    uint64_t raw_hash, canon_hash;
    uint32_t raw_off, raw_len;     /* in names */
    uint32_t canon_off, canon_len; /* in names */
    uint32_t mlen;
    uint32_t db_id; /* CAT_NONE until known */
    /* the lseries of field i of the last line with this tag set (a hint,
     * checked before use: lines of a device usually repeat their fields) */
    uint32_t field_ls[LT_FIELDS];
} ltagset;

typedef struct lseries {
    uint64_t hash;
    uint32_t lt;
    uint32_t name_off, name_len; /* unescaped field name, in names */
    uint32_t db_sid;             /* CAT_NONE until known */
    uint8_t type;
} lseries;

typedef struct btag {
    uint32_t koff, klen, voff, vlen; /* in scratch */
} btag;

struct strata_batch {
    strata_db *db;
    catalog *cat;
    /* cache */
    buf names;
    ltagset *lt;
    uint32_t nlt, cap_lt;
    uint32_t *lt_map, lt_map_cap; /* index + 1; 0 = empty */
    lseries *ls;
    uint32_t nls, cap_ls;
    uint32_t *ls_map, ls_map_cap;
    /* the write path's scratch (db_write.c count_series): values per
     * lseries (zero between uses), the lseries a batch touched and then the
     * database series, with their value counts, and a map from those to
     * their place (cap_sid_map entries); for each touched lseries its
     * series' place (ls_place), and per place the series' type and where
     * its next value goes (apply_batch) */
    uint32_t *ls_count, *ls_touched, *sid_n, *sid_map, *ls_place, *sid_at;
    uint8_t *sid_type;
    uint32_t cap_count, cap_sid_map;
    /* content: value i is batch_val(b, i); cap_vals is what the pages hold */
    bval **vpages;
    size_t nvpages, cap_vpages;
    size_t nvals, cap_vals, npoints;
    int new_series; /* some value's series had no database id when added */
    /* the point being built through the C API */
    int in_point;
    int64_t ts;
    uint32_t cur_lt, nfields;
    size_t point_first_val;
    uint32_t point_first_ls;
    buf scratch; /* measurement and tags of that point */
    btag *tags;
    uint32_t ntags, cap_tags;
    lp_line *line; /* line-protocol parse area */
    buf unesc;     /* unescaping scratch */
    /* idempotency key (0 = none) and the outcome of the last write */
    uint8_t key[STRATA_MAX_BATCH_KEY];
    uint8_t keylen;
    int skipped;
    /* lateness: the newest timestamp of the batch's points so far, and
     * its value before the point under construction */
    int64_t late_max, point_prev_late_max;
};

static inline bval *batch_val(const strata_batch *b, size_t i)
{
    return &b->vpages[i >> BVAL_SHIFT][i & (BVAL_PAGE - 1)];
}

/* Complete the point under construction (an empty one is an error). */
int batch_finish(strata_batch *b);
/* Under the writer lock: give every series the batch uses a database id,
 * creating what is missing.  A field whose type conflicts with the
 * database fails it (STRATA_ERROR_TYPE) before any sample is written;
 * series created on the way stay, empty. */
int batch_resolve(strata_batch *b);

/* Is ts more than max_lateness_ns older than the frontier `front`? */
int batch_too_late(const strata_db *db, int64_t front, int64_t ts);
/* STRATA_ERROR_LATE naming value v of the batch, its series and time. */
int batch_late_error(const strata_batch *b, const bval *v, int64_t front);

/* Find the series named by `key` (`measurement,tags field`, line-protocol
 * escaping, tags in any order) in the database: STRATA_OK with *sid,
 * STRATA_NOTFOUND, or STRATA_ERROR_PARSE for a malformed key. */
int batch_lookup_key(catalog *c, const char *key, uint32_t *sid /* OUT */);

#endif
