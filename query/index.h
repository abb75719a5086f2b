/*
 * index.h — the tag index the planner matches WHERE clauses with: per tag
 * set its measurement and tags (unescaped), and posting lists from a
 * measurement, and from (measurement, tag key, tag value), to tag-set ids.
 *
 * It lives in memory only, built from the catalog's canonical keys on the
 * first query and extended on later ones with the tag sets created since
 * (ids are dense and never reused, so "since" is a count).  One per
 * database handle; queries hold its mutex while they plan.
 */
#ifndef STRATA_QUERY_INDEX_H
#define STRATA_QUERY_INDEX_H

#include "engine/catalog.h"

#include <stddef.h>
#include <stdint.h>

typedef struct qindex qindex;

typedef struct qtag {
    const char *k, *v; /* unescaped, NUL-terminated */
} qtag;

typedef struct qtagset {
    const char *meas; /* unescaped measurement */
    qtag *tags;       /* sorted by key */
    uint32_t ntags;
    uint32_t *series; /* the tag set's series (one per field), ascending id */
    uint32_t nseries, cap_series;
} qtagset;

typedef struct qlist {
    uint32_t *ids; /* ascending */
    size_t n, cap;
} qlist;

qindex *qindex_new(void);
void qindex_free(qindex *x);
/* Index the catalog's tag sets and series not indexed yet. */
int qindex_update(qindex *x, catalog *c);
const qtagset *qindex_tagset(const qindex *x, uint32_t tid);
/* Posting lists (NULL when empty); valid until the next update. */
const qlist *qindex_measurement(const qindex *x, const char *meas);
const qlist *qindex_tag(const qindex *x, const char *meas, const char *key, const char *value);
/* The value of tag `key` in tag set t, or NULL. */
const char *qtagset_get(const qtagset *t, const char *key);

#endif
