/*
 * idem.c — the window of applied batch keys (see idem.h).
 *
 * Layout: `ent` is a FIFO of entries in insertion (= arrival, = lsn) order;
 * ent[first, n) are still held, and an entry whose key was added again
 * later is marked dead in place.  Key bytes live in `keys`, appended in the
 * same order, so the front of both can be dropped together: when more
 * than half of `ent` lies before `first`, both arrays are moved down and
 * the hash is rebuilt.  The hash is open addressing with linear probing;
 * a slot holds entry index + 1 (0 = empty).  A slot naming an index below
 * `first` is a tombstone: lookups probe past it, inserts reuse it.
 *
 * The window: an entry counts while now - arrival < window (a clock that
 * went backwards keeps entries, never drops them early).  Pruning pops
 * the front while it is dead, out of the window, or over max_keys.
 *
 * Persistence bookkeeping: `persisted_below` is the lsn bound of the last
 * file written (or 1 after a load); `evict_gen` counts front pops of
 * entries that could be in that file.  The file must be rewritten when an
 * entry with persisted_below <= lsn < below exists, or evict_gen moved.
 */
#include "engine/idem.h"

#include "engine/alloc.h"
#include "engine/err.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

typedef struct ikey {
    uint64_t hash;
    int64_t arrival;
    uint64_t lsn;
    size_t koff; /* into keys */
    uint8_t klen;
    uint8_t dead;
} ikey;

struct idem {
    pthread_mutex_t mu;
    int64_t window;
    uint32_t max_keys;
    ikey *ent;
    size_t first, n, cap;
    size_t live;
    buf keys;
    uint32_t *slot;
    size_t nslots, used; /* used: non-empty slots, tombstones included */
    uint64_t persisted_below, evict_gen, persisted_gen;
};

static _Atomic(int64_t (*)(void)) test_clock;

int64_t idem_now(void)
{
    int64_t (*fn)(void) = atomic_load(&test_clock);
    if (fn)
        return fn();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void idem_set_clock(int64_t (*fn)(void))
{
    atomic_store(&test_clock, fn);
}

idem *idem_new(int64_t window_ns, uint32_t max_keys)
{
    idem *t = st_calloc(1, sizeof *t);
    if (!t)
        return NULL;
    pthread_mutex_init(&t->mu, NULL);
    t->window = window_ns > 0 ? window_ns : IDEM_DEFAULT_WINDOW_NS;
    t->max_keys = max_keys ? max_keys : IDEM_DEFAULT_MAX_KEYS;
    return t;
}

void idem_free(idem *t)
{
    if (!t)
        return;
    pthread_mutex_destroy(&t->mu);
    st_free(t->ent);
    st_free(t->slot);
    buf_free(&t->keys);
    st_free(t);
}

static int in_window(const idem *t, const ikey *e, int64_t now)
{
    return now < e->arrival || (__int128)now - e->arrival < t->window;
}

/* The slot holding key, or the empty slot ending its probe chain. */
static size_t find_slot(const idem *t, const uint8_t *key, size_t len, uint64_t h, int *found)
{
    size_t mask = t->nslots - 1;
    for (size_t j = (size_t)h & mask;; j = (j + 1) & mask) {
        uint32_t v = t->slot[j];
        if (v == 0) {
            *found = 0;
            return j;
        }
        if (v - 1 < t->first)
            continue; /* tombstone */
        const ikey *e = &t->ent[v - 1];
        if (e->hash == h && e->klen == len && memcmp(t->keys.p + e->koff, key, len) == 0) {
            *found = 1;
            return j;
        }
    }
}

/* Rebuild the hash over the live entries with room for `want` of them.
 * When `drop_front` is set, ent[0, first) and the key bytes before
 * ent[first] are dropped first.  The new table is allocated before
 * anything moves: on failure (-1) nothing has changed. */
static int rehash(idem *t, size_t want, int drop_front)
{
    size_t ns = 64;
    while (ns < 2 * want + 2)
        ns *= 2;
    uint32_t *s = st_calloc(ns, sizeof *s);
    if (!s)
        return -1;
    if (drop_front) {
        size_t kfirst = t->first < t->n ? t->ent[t->first].koff : t->keys.len;
        memmove(t->keys.p, t->keys.p + kfirst, t->keys.len - kfirst);
        t->keys.len -= kfirst;
        memmove(t->ent, t->ent + t->first, (t->n - t->first) * sizeof *t->ent);
        t->n -= t->first;
        t->first = 0;
        for (size_t i = 0; i < t->n; i++)
            t->ent[i].koff -= kfirst;
    }
    st_free(t->slot);
    t->slot = s;
    t->nslots = ns;
    t->used = 0;
    for (size_t i = t->first; i < t->n; i++) {
        if (t->ent[i].dead)
            continue;
        size_t j = (size_t)t->ent[i].hash & (ns - 1);
        while (s[j])
            j = (j + 1) & (ns - 1);
        s[j] = (uint32_t)(i + 1);
        t->used++;
    }
    return 0;
}

static void prune(idem *t, int64_t now)
{
    while (t->first < t->n) {
        ikey *e = &t->ent[t->first];
        if (!e->dead && in_window(t, e, now) && t->live <= t->max_keys)
            break;
        if (!e->dead) {
            t->live--;
            if (e->lsn < t->persisted_below)
                t->evict_gen++;
        }
        t->first++;
    }
    if (t->first == t->n) {
        t->first = t->n = 0;
        t->keys.len = 0;
        if (t->nslots)
            memset(t->slot, 0, t->nslots * sizeof *t->slot);
        t->used = 0;
    } else if (t->first > 1024 && t->first > t->n / 2) {
        /* Out of memory: keep the old layout and try again later.  Room
         * reserved by idem_reserve() survives either way: the new table
         * fits live + 1. */
        (void)rehash(t, t->live, 1);
    }
}

int idem_seen(idem *t, const uint8_t *key, size_t len, int64_t now, uint64_t *lsn)
{
    pthread_mutex_lock(&t->mu);
    int found = 0;
    if (t->nslots) {
        size_t j = find_slot(t, key, len, XXH3_64bits(key, len), &found);
        if (found) {
            const ikey *e = &t->ent[t->slot[j] - 1];
            found = in_window(t, e, now);
            *lsn = e->lsn;
        }
    }
    pthread_mutex_unlock(&t->mu);
    return found;
}

/* Room for one more entry of len key bytes (mu held): 0, or -1. */
static int make_room(idem *t, size_t len)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        ikey *a = st_realloc(t->ent, cap * sizeof *a);
        if (!a)
            return -1;
        t->ent = a;
        t->cap = cap;
    }
    if ((t->used + 1) * 2 > t->nslots && rehash(t, t->live + 1, 0))
        return -1;
    return buf_reserve(&t->keys, len);
}

int idem_reserve(idem *t, size_t len)
{
    pthread_mutex_lock(&t->mu);
    int e = make_room(t, len);
    pthread_mutex_unlock(&t->mu);
    return e ? st_err(STRATA_NOMEM, "out of memory remembering a batch key") : STRATA_OK;
}

int idem_add(idem *t, const uint8_t *key, size_t len, int64_t arrival, uint64_t lsn, int64_t now)
{
    uint64_t h = XXH3_64bits(key, len);
    pthread_mutex_lock(&t->mu);
    int rc = STRATA_NOMEM;
    if (make_room(t, len))
        goto out;
    memcpy(t->keys.p + t->keys.len, key, len);
    t->keys.len += len;
    int found;
    size_t j = find_slot(t, key, len, h, &found);
    if (found) {
        t->ent[t->slot[j] - 1].dead = 1;
        t->live--;
    } else {
        t->used++;
    }
    ikey *e = &t->ent[t->n];
    *e = (ikey){h, arrival, lsn, t->keys.len - len, (uint8_t)len, 0};
    t->slot[j] = (uint32_t)(t->n + 1);
    t->n++;
    t->live++;
    prune(t, now);
    rc = STRATA_OK;
out:
    pthread_mutex_unlock(&t->mu);
    if (rc != STRATA_OK)
        return st_err(rc, "out of memory remembering a batch key");
    return rc;
}

uint64_t idem_count(idem *t, int64_t now)
{
    pthread_mutex_lock(&t->mu);
    prune(t, now);
    uint64_t n = t->live;
    pthread_mutex_unlock(&t->mu);
    return n;
}

int idem_persist(idem *t, const char *dir, const char *path, uint64_t below_lsn, int64_t now)
{
    buf out = {0};
    uint64_t count = 0, gen;
    int changed, rc = STRATA_OK;
    pthread_mutex_lock(&t->mu);
    prune(t, now);
    gen = t->evict_gen;
    changed = gen != t->persisted_gen;
    for (size_t i = t->first; i < t->n && !changed; i++)
        changed =
            !t->ent[i].dead && t->ent[i].lsn >= t->persisted_below && t->ent[i].lsn < below_lsn;
    for (size_t i = t->first; i < t->n && changed; i++) {
        const ikey *e = &t->ent[i];
        if (e->dead || e->lsn >= below_lsn)
            continue;
        if (idemf_put_entry(&out, e->arrival, t->keys.p + e->koff, e->klen)) {
            rc = st_err(STRATA_NOMEM, "out of memory writing %s", path);
            break;
        }
        count++;
    }
    pthread_mutex_unlock(&t->mu);
    if (changed && rc == STRATA_OK)
        rc = idemf_write(dir, path, below_lsn, out.p, out.len, count);
    buf_free(&out);
    if (changed && rc == STRATA_OK) {
        pthread_mutex_lock(&t->mu);
        t->persisted_gen = gen;
        if (below_lsn > t->persisted_below)
            t->persisted_below = below_lsn;
        pthread_mutex_unlock(&t->mu);
    }
    return rc;
}

typedef struct load_ctx {
    idem *t;
    int64_t now;
} load_ctx;

static int load_entry(void *ctx, int64_t arrival, const uint8_t *key, uint8_t len)
{
    load_ctx *l = ctx;
    return idem_add(l->t, key, len, arrival, 0, l->now);
}

int idem_load(idem *t, const char *path, int64_t now)
{
    load_ctx l = {t, now};
    uint64_t upto;
    int rc = idemf_read(path, load_entry, &l, &upto);
    if ((rc & 0xff) == STRATA_NOTFOUND)
        return STRATA_OK;
    if (rc != STRATA_OK)
        return rc;
    pthread_mutex_lock(&t->mu);
    /* What was loaded is what the file holds; only later keys, or keys
     * dropped from now on, call for a rewrite. */
    t->persisted_below = 1;
    t->persisted_gen = t->evict_gen;
    pthread_mutex_unlock(&t->mu);
    return STRATA_OK;
}
