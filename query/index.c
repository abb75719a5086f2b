/*
 * index.c — the in-memory tag index (see index.h).
 *
 * Strings live in an arena of large blocks and never move.  The two
 * posting-list maps are open-addressing hash tables keyed by a composite
 * string ("meas\0" or "meas\0key\0value\0") with load at most one half.
 */
#include "query/index.h"

#include "engine/alloc.h"
#include "engine/err.h"
#include "engine/lineproto.h"
#include "strata.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

typedef struct ablock {
    struct ablock *next;
    size_t used, cap;
    char data[];
} ablock;

typedef struct pentry {
    char *key; /* composite key, length klen */
    size_t klen;
    uint64_t hash;
    qlist list;
} pentry;

typedef struct pmap {
    pentry *e;
    size_t n, cap; /* cap is a power of two */
} pmap;

struct qindex {
    qtagset *ts;
    uint32_t nts, cap_ts;
    uint32_t nseries; /* series indexed (attached to their tag sets) */
    pmap meas, tags;
    ablock *arena;
};

static char *arena_alloc(qindex *x, size_t n)
{
    ablock *a = x->arena;
    n = (n + 7) & ~(size_t)7;
    if (!a || a->cap - a->used < n) {
        size_t cap = n > (1u << 16) ? n : (1u << 16);
        a = st_malloc(sizeof *a + cap);
        if (!a)
            return NULL;
        a->next = x->arena;
        a->used = 0;
        a->cap = cap;
        x->arena = a;
    }
    char *p = a->data + a->used;
    a->used += n;
    return p;
}

qindex *qindex_new(void)
{
    return st_calloc(1, sizeof(qindex));
}

static void pmap_free(pmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->e[i].key)
            st_free(m->e[i].list.ids);
    st_free(m->e);
}

void qindex_free(qindex *x)
{
    if (!x)
        return;
    pmap_free(&x->meas);
    pmap_free(&x->tags);
    for (uint32_t i = 0; i < x->nts; i++)
        st_free(x->ts[i].series);
    st_free(x->ts);
    while (x->arena) {
        ablock *n = x->arena->next;
        st_free(x->arena);
        x->arena = n;
    }
    st_free(x);
}

static pentry *pmap_find(const pmap *m, const char *key, size_t klen, uint64_t h)
{
    if (!m->cap)
        return NULL;
    for (size_t i = (size_t)h & (m->cap - 1); m->e[i].key; i = (i + 1) & (m->cap - 1))
        if (m->e[i].hash == h && m->e[i].klen == klen && memcmp(m->e[i].key, key, klen) == 0)
            return &m->e[i];
    return NULL;
}

static int pmap_add(qindex *x, pmap *m, const char *key, size_t klen, uint32_t id)
{
    uint64_t h = XXH3_64bits(key, klen);
    pentry *e = pmap_find(m, key, klen, h);
    if (!e) {
        if ((m->n + 1) * 2 > m->cap) {
            size_t ncap = m->cap ? m->cap * 2 : 256;
            pentry *ne = st_calloc(ncap, sizeof *ne);
            if (!ne)
                return -1;
            for (size_t i = 0; i < m->cap; i++) {
                if (!m->e[i].key)
                    continue;
                size_t j = (size_t)m->e[i].hash & (ncap - 1);
                while (ne[j].key)
                    j = (j + 1) & (ncap - 1);
                ne[j] = m->e[i];
            }
            st_free(m->e);
            m->e = ne;
            m->cap = ncap;
        }
        char *k = arena_alloc(x, klen);
        if (!k)
            return -1;
        memcpy(k, key, klen);
        size_t j = (size_t)h & (m->cap - 1);
        while (m->e[j].key)
            j = (j + 1) & (m->cap - 1);
        e = &m->e[j];
        *e = (pentry){k, klen, h, {0}};
        m->n++;
    }
    qlist *l = &e->list;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        uint32_t *ids = st_realloc(l->ids, cap * sizeof *ids);
        if (!ids)
            return -1;
        l->ids = ids;
        l->cap = cap;
    }
    l->ids[l->n++] = id; /* ids arrive ascending */
    return 0;
}

/* Unescape key[a, b) of the given kind into the arena, NUL-terminated. */
static const char *unesc(qindex *x, const char *key, size_t a, size_t b, uint8_t kind)
{
    char *out = arena_alloc(x, b - a + 1);
    if (!out)
        return NULL;
    lp_span s = {key + a, (uint32_t)(b - a), kind};
    size_t n = lp_unescape(s, out);
    out[n] = '\0';
    return out;
}

static int by_key(const void *a, const void *b)
{
    return strcmp(((const qtag *)a)->k, ((const qtag *)b)->k);
}

static int index_one(qindex *x, uint32_t tid, const char *key, uint32_t len, uint32_t mlen)
{
    qtagset *t = &x->ts[tid];
    memset(t, 0, sizeof *t);
    t->meas = unesc(x, key, 0, mlen, LP_ESC_MEASUREMENT);
    if (!t->meas)
        return -1;
    uint32_t n = 0;
    for (size_t i = mlen; i < len; i++)
        n += key[i] == ',' && key[i - 1] != '\\';
    t->tags = (qtag *)arena_alloc(x, (n ? n : 1) * sizeof *t->tags);
    if (!t->tags)
        return -1;
    size_t i = mlen;
    while (i < len && t->ntags < n) { /* at ',' */
        /* keys are canonical (§4.3), but one from a damaged file may lack
         * its '=': the value is then empty, never a span running backwards */
        size_t ke = lp_component_end(key, i + 1, len, '=');
        size_t vs = ke < len ? ke + 1 : len;
        size_t ve = lp_component_end(key, vs, len, ',');
        qtag *g = &t->tags[t->ntags++];
        g->k = unesc(x, key, i + 1, ke, LP_ESC_KEY);
        g->v = unesc(x, key, vs, ve, LP_ESC_KEY);
        if (!g->k || !g->v)
            return -1;
        i = ve;
    }
    qsort(t->tags, t->ntags, sizeof *t->tags, by_key); /* already sorted; cheap */
    size_t ml = strlen(t->meas);
    if (pmap_add(x, &x->meas, t->meas, ml + 1, tid))
        return -1;
    for (uint32_t k = 0; k < t->ntags; k++) {
        size_t kl = strlen(t->tags[k].k), vl = strlen(t->tags[k].v);
        char stackbuf[512];
        size_t cl = ml + kl + vl + 3;
        char *comp = cl <= sizeof stackbuf ? stackbuf : st_malloc(cl);
        if (!comp)
            return -1;
        memcpy(comp, t->meas, ml + 1);
        memcpy(comp + ml + 1, t->tags[k].k, kl + 1);
        memcpy(comp + ml + kl + 2, t->tags[k].v, vl + 1);
        int r = pmap_add(x, &x->tags, comp, cl, tid);
        if (comp != stackbuf)
            st_free(comp);
        if (r)
            return -1;
    }
    return 0;
}

int qindex_update(qindex *x, catalog *c)
{
    /* Series first: every series counted refers to a tag set counted. */
    uint32_t nseries = catalog_series_count(c);
    uint32_t total = catalog_tagset_count(c);
    if (total > x->cap_ts) {
        uint32_t cap = x->cap_ts ? x->cap_ts : 256;
        while (cap < total)
            cap *= 2;
        qtagset *a = st_realloc(x->ts, (size_t)cap * sizeof *a);
        if (!a)
            return st_err(STRATA_NOMEM, "out of memory indexing tags");
        x->ts = a;
        x->cap_ts = cap;
    }
    for (; x->nts < total; x->nts++) {
        const char *key;
        uint32_t len, mlen;
        if (catalog_tagset_key(c, x->nts, &key, &len, &mlen) != STRATA_OK)
            return STRATA_NOTFOUND;
        if (index_one(x, x->nts, key, len, mlen))
            return st_err(STRATA_NOMEM, "out of memory indexing tags");
    }
    for (; x->nseries < nseries; x->nseries++) {
        cat_series_info in;
        if (catalog_series_info(c, x->nseries, &in) != STRATA_OK || in.tagset >= x->nts)
            return st_err(STRATA_NOTFOUND, "series %u has no indexed tag set", x->nseries);
        qtagset *t = &x->ts[in.tagset];
        if (t->nseries == t->cap_series) {
            uint32_t cap = t->cap_series ? t->cap_series * 2 : 4;
            uint32_t *a = st_realloc(t->series, cap * sizeof *a);
            if (!a)
                return st_err(STRATA_NOMEM, "out of memory indexing tags");
            t->series = a;
            t->cap_series = cap;
        }
        t->series[t->nseries++] = x->nseries;
    }
    return STRATA_OK;
}

const qtagset *qindex_tagset(const qindex *x, uint32_t tid)
{
    return tid < x->nts ? &x->ts[tid] : NULL;
}

const qlist *qindex_measurement(const qindex *x, const char *meas)
{
    size_t n = strlen(meas) + 1;
    pentry *e = pmap_find(&x->meas, meas, n, XXH3_64bits(meas, n));
    return e ? &e->list : NULL;
}

const qlist *qindex_tag(const qindex *x, const char *meas, const char *key, const char *value)
{
    size_t ml = strlen(meas), kl = strlen(key), vl = strlen(value), n = ml + kl + vl + 3;
    char stackbuf[512];
    char *comp = n <= sizeof stackbuf ? stackbuf : st_malloc(n);
    if (!comp)
        return NULL;
    memcpy(comp, meas, ml + 1);
    memcpy(comp + ml + 1, key, kl + 1);
    memcpy(comp + ml + kl + 2, value, vl + 1);
    pentry *e = pmap_find(&x->tags, comp, n, XXH3_64bits(comp, n));
    if (comp != stackbuf)
        st_free(comp);
    return e ? &e->list : NULL;
}

const char *qtagset_get(const qtagset *t, const char *key)
{
    uint32_t lo = 0, hi = t->ntags;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        int c = strcmp(t->tags[mid].k, key);
        if (c == 0)
            return t->tags[mid].v;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}
