/*
 * catalog.c — series catalog: hash tables in memory, an append-only file of
 * definition blocks on disk (FORMAT.md §4).
 *
 *   file  := header block*
 *   header:= "STRATACT" u32 version u32 flags u64 reserved u64 xxh3(0..23)
 *   block := u32 stored_len u32 raw_len payload[stored_len]
 *            u64 xxh3(bytes from stored_len through the payload)
 *            (raw_len != 0: payload is LZ4, raw_len bytes once expanded)
 *   raw   := varint n, tagset_def*n, varint m, series_def*m
 *   tagset_def := varint id, varint mlen, varint len, key[len]
 *   series_def := varint id, varint tagset, u8 type, varint len, field[len]
 *
 * Invariants: ids are dense and the file defines them in order; the first
 * `committed` bytes of the file are intact (else open fails with
 * STRATA_CORRUPT naming the offset); strings live in an arena and never
 * move.  Recovery: an append that crashed before the manifest recorded the
 * new length is cut off at the next open; its definitions are replayed from
 * the log.
 */
#include "engine/catalog.h"

#include "engine/alloc.h"
#include "engine/buf.h"
#include "engine/err.h"
#include "engine/lineproto.h"
#include "engine/os.h"
#include "engine/varint.h"
#include "strata.h"

#include <errno.h>
#include <fcntl.h>
#include <lz4.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#define CAT_MAGIC "STRATACT"
#define CAT_VERSION 1u
#define CAT_HEADER_SIZE 32u
#define CAT_BLOCK_OVERHEAD 16u
#define CAT_MAX_BLOCK (1u << 30)

typedef struct ctagset {
    char *key;
    uint32_t len, mlen;
    uint64_t hash;
} ctagset;

typedef struct cseries {
    char *field;
    char *key; /* built on first request */
    uint32_t tagset, flen;
    uint64_t hash;
    uint8_t type;
} cseries;

typedef struct hent {
    uint64_t hash;
    uint32_t id; /* CAT_NONE = empty slot */
} hent;

typedef struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    char data[];
} arena_block;

struct catalog {
    pthread_rwlock_t lock;
    char path[4096];
    int fd, read_only;
    uint64_t committed;
    uint32_t persisted_tagsets, persisted_series;
    ctagset *tagsets;
    uint32_t ntagsets, cap_tagsets;
    cseries *series;
    uint32_t nseries, cap_series;
    hent *tmap, *smap;
    uint32_t tmap_cap, smap_cap; /* powers of two */
    arena_block *arena;
};

uint64_t catalog_hash(const char *key, size_t len)
{
    return XXH3_64bits(key, len);
}

static uint64_t series_hash(uint32_t tagset, const char *field, size_t flen)
{
    return XXH3_64bits_withSeed(field, flen, (uint64_t)tagset * 0x9E3779B97F4A7C15ull + 1);
}

static char *arena_strdup(catalog *c, const char *s, size_t n)
{
    arena_block *a = c->arena;
    if (!a || a->cap - a->used < n + 1) {
        size_t cap = n + 1 > (1u << 16) ? n + 1 : (1u << 16);
        a = st_malloc(sizeof *a + cap);
        if (!a)
            return NULL;
        a->next = c->arena;
        a->used = 0;
        a->cap = cap;
        c->arena = a;
    }
    char *d = a->data + a->used;
    memcpy(d, s, n);
    d[n] = '\0';
    a->used += n + 1;
    return d;
}

/* ---- hash tables (open addressing, linear probing, load <= 1/2) ------------ */

static int map_grow(hent **map, uint32_t *cap, uint32_t count, const uint64_t *hashes_by_id,
                    size_t stride)
{
    if ((uint64_t)(count + 1) * 2 <= *cap)
        return 0;
    uint32_t ncap = *cap ? *cap * 2 : 1024;
    hent *m = st_malloc((size_t)ncap * sizeof *m);
    if (!m)
        return -1;
    for (uint32_t i = 0; i < ncap; i++)
        m[i].id = CAT_NONE;
    for (uint32_t id = 0; id < count; id++) {
        uint64_t h = *(const uint64_t *)((const char *)hashes_by_id + (size_t)id * stride);
        uint32_t i = (uint32_t)h & (ncap - 1);
        while (m[i].id != CAT_NONE)
            i = (i + 1) & (ncap - 1);
        m[i] = (hent){h, id};
    }
    st_free(*map);
    *map = m;
    *cap = ncap;
    return 0;
}

static void map_put(hent *map, uint32_t cap, uint64_t h, uint32_t id)
{
    uint32_t i = (uint32_t)h & (cap - 1);
    while (map[i].id != CAT_NONE)
        i = (i + 1) & (cap - 1);
    map[i] = (hent){h, id};
}

int catalog_find_tagset_locked(catalog *c, const char *key, size_t len, uint64_t hash,
                               uint32_t *id)
{
    if (!c->tmap_cap)
        return 0;
    uint32_t i = (uint32_t)hash & (c->tmap_cap - 1);
    for (; c->tmap[i].id != CAT_NONE; i = (i + 1) & (c->tmap_cap - 1)) {
        if (c->tmap[i].hash != hash)
            continue;
        ctagset *t = &c->tagsets[c->tmap[i].id];
        if (t->len == len && memcmp(t->key, key, len) == 0) {
            *id = c->tmap[i].id;
            return 1;
        }
    }
    return 0;
}

int catalog_find_series_locked(catalog *c, uint32_t tagset, const char *field, size_t flen,
                               uint32_t *sid, uint8_t *type)
{
    if (!c->smap_cap)
        return 0;
    uint64_t h = series_hash(tagset, field, flen);
    uint32_t i = (uint32_t)h & (c->smap_cap - 1);
    for (; c->smap[i].id != CAT_NONE; i = (i + 1) & (c->smap_cap - 1)) {
        if (c->smap[i].hash != h)
            continue;
        cseries *s = &c->series[c->smap[i].id];
        if (s->tagset == tagset && s->flen == flen && memcmp(s->field, field, flen) == 0) {
            *sid = c->smap[i].id;
            *type = s->type;
            return 1;
        }
    }
    return 0;
}

int catalog_find_tagset(catalog *c, const char *key, size_t len, uint64_t hash, uint32_t *id)
{
    pthread_rwlock_rdlock(&c->lock);
    int r = catalog_find_tagset_locked(c, key, len, hash, id);
    pthread_rwlock_unlock(&c->lock);
    return r;
}

int catalog_find_series(catalog *c, uint32_t tagset, const char *field, size_t flen,
                        uint32_t *sid, uint8_t *type)
{
    pthread_rwlock_rdlock(&c->lock);
    int r = catalog_find_series_locked(c, tagset, field, flen, sid, type);
    pthread_rwlock_unlock(&c->lock);
    return r;
}

uint8_t catalog_series_type_locked(catalog *c, uint32_t sid)
{
    return sid < c->nseries ? c->series[sid].type : 0;
}

/* ---- creation -------------------------------------------------------------- */

static int add_tagset_nolock(catalog *c, const char *key, size_t len, uint32_t mlen,
                             uint32_t *id)
{
    if (c->ntagsets >= CAT_MAX_IDS)
        return st_err(STRATA_FULL_SERIES, "too many tag sets (%u)", c->ntagsets);
    if (mlen == 0 || mlen > len || len > UINT32_MAX)
        return st_err(STRATA_ERROR_INPUT, "invalid tag-set key");
    if (c->ntagsets == c->cap_tagsets) {
        uint32_t cap = c->cap_tagsets ? c->cap_tagsets * 2 : 256;
        ctagset *t = st_realloc(c->tagsets, (size_t)cap * sizeof *t);
        if (!t)
            return st_err(STRATA_NOMEM, "out of memory growing the catalog");
        c->tagsets = t;
        c->cap_tagsets = cap;
    }
    if (map_grow(&c->tmap, &c->tmap_cap, c->ntagsets, &c->tagsets[0].hash, sizeof(ctagset)))
        return st_err(STRATA_NOMEM, "out of memory growing the catalog");
    char *k = arena_strdup(c, key, len);
    if (!k)
        return st_err(STRATA_NOMEM, "out of memory growing the catalog");
    uint64_t h = catalog_hash(key, len);
    c->tagsets[c->ntagsets] = (ctagset){k, (uint32_t)len, mlen, h};
    map_put(c->tmap, c->tmap_cap, h, c->ntagsets);
    *id = c->ntagsets++;
    return STRATA_OK;
}

static int add_series_nolock(catalog *c, uint32_t tagset, const char *field, size_t flen,
                             uint8_t type, uint32_t *sid)
{
    if (c->nseries >= CAT_MAX_IDS)
        return st_err(STRATA_FULL_SERIES, "too many series (%u)", c->nseries);
    if (tagset >= c->ntagsets || flen == 0 || flen > UINT32_MAX || type < STRATA_F64 ||
        type > STRATA_BOOL)
        return st_err(STRATA_ERROR_INPUT, "invalid series definition");
    if (c->nseries == c->cap_series) {
        uint32_t cap = c->cap_series ? c->cap_series * 2 : 1024;
        cseries *s = st_realloc(c->series, (size_t)cap * sizeof *s);
        if (!s)
            return st_err(STRATA_NOMEM, "out of memory growing the catalog");
        c->series = s;
        c->cap_series = cap;
    }
    if (map_grow(&c->smap, &c->smap_cap, c->nseries, &c->series[0].hash, sizeof(cseries)))
        return st_err(STRATA_NOMEM, "out of memory growing the catalog");
    char *f = arena_strdup(c, field, flen);
    if (!f)
        return st_err(STRATA_NOMEM, "out of memory growing the catalog");
    uint64_t h = series_hash(tagset, field, flen);
    c->series[c->nseries] = (cseries){f, NULL, tagset, (uint32_t)flen, h, type};
    map_put(c->smap, c->smap_cap, h, c->nseries);
    *sid = c->nseries++;
    return STRATA_OK;
}

int catalog_add_tagset(catalog *c, const char *key, size_t len, uint32_t mlen, uint32_t *id)
{
    pthread_rwlock_wrlock(&c->lock);
    int rc = add_tagset_nolock(c, key, len, mlen, id);
    pthread_rwlock_unlock(&c->lock);
    return rc;
}

int catalog_add_series(catalog *c, uint32_t tagset, const char *field, size_t flen,
                       uint8_t type, uint32_t *sid)
{
    pthread_rwlock_wrlock(&c->lock);
    int rc = add_series_nolock(c, tagset, field, flen, type, sid);
    pthread_rwlock_unlock(&c->lock);
    return rc;
}

int catalog_define_tagset(catalog *c, uint32_t id, const char *key, size_t len, uint32_t mlen)
{
    if (len == 0 || mlen == 0 || mlen > len || len > UINT32_MAX)
        return st_err(STRATA_CORRUPT_CATALOG, "tag set %u: invalid definition", id);
    if (id < c->ntagsets) {
        ctagset *t = &c->tagsets[id];
        if (t->len == len && t->mlen == mlen && memcmp(t->key, key, len) == 0)
            return STRATA_OK;
        return st_err(STRATA_CORRUPT_CATALOG, "tag set %u is defined twice, differently", id);
    }
    if (id != c->ntagsets)
        return st_err(STRATA_CORRUPT_CATALOG, "tag set %u defined before tag set %u", id,
                      c->ntagsets);
    uint32_t got;
    return catalog_add_tagset(c, key, len, mlen, &got);
}

int catalog_define_series(catalog *c, uint32_t id, uint32_t tagset, uint8_t type,
                          const char *field, size_t flen)
{
    if (flen == 0 || flen > UINT32_MAX || type < STRATA_F64 || type > STRATA_BOOL)
        return st_err(STRATA_CORRUPT_CATALOG, "series %u: invalid definition (type %u)", id,
                      type);
    if (id < c->nseries) {
        cseries *s = &c->series[id];
        if (s->tagset == tagset && s->type == type && s->flen == flen &&
            memcmp(s->field, field, flen) == 0)
            return STRATA_OK;
        return st_err(STRATA_CORRUPT_CATALOG, "series %u is defined twice, differently", id);
    }
    if (id != c->nseries)
        return st_err(STRATA_CORRUPT_CATALOG, "series %u defined before series %u", id,
                      c->nseries);
    if (tagset >= c->ntagsets)
        return st_err(STRATA_CORRUPT_CATALOG, "series %u refers to unknown tag set %u", id,
                      tagset);
    uint32_t got;
    return catalog_add_series(c, tagset, field, flen, type, &got);
}

/* ---- queries ----------------------------------------------------------------- */

uint32_t catalog_series_count(catalog *c)
{
    pthread_rwlock_rdlock(&c->lock);
    uint32_t n = c->nseries;
    pthread_rwlock_unlock(&c->lock);
    return n;
}

uint32_t catalog_tagset_count(catalog *c)
{
    pthread_rwlock_rdlock(&c->lock);
    uint32_t n = c->ntagsets;
    pthread_rwlock_unlock(&c->lock);
    return n;
}

int catalog_tagset_key(catalog *c, uint32_t tid, const char **key, uint32_t *len, uint32_t *mlen)
{
    pthread_rwlock_rdlock(&c->lock);
    int rc = STRATA_OK;
    if (tid >= c->ntagsets) {
        rc = st_err(STRATA_NOTFOUND, "no tag set with id %u", tid);
    } else {
        *key = c->tagsets[tid].key;
        *len = c->tagsets[tid].len;
        *mlen = c->tagsets[tid].mlen;
    }
    pthread_rwlock_unlock(&c->lock);
    return rc;
}

int catalog_series_info(catalog *c, uint32_t sid, cat_series_info *out)
{
    pthread_rwlock_rdlock(&c->lock);
    if (sid >= c->nseries) {
        pthread_rwlock_unlock(&c->lock);
        return st_err(STRATA_NOTFOUND, "no series with id %u", sid);
    }
    cseries *s = &c->series[sid];
    ctagset *t = &c->tagsets[s->tagset];
    *out = (cat_series_info){s->tagset, s->type, s->field, s->flen, t->key, t->len, t->mlen};
    pthread_rwlock_unlock(&c->lock);
    return STRATA_OK;
}

const char *catalog_series_key(catalog *c, uint32_t sid)
{
    pthread_rwlock_rdlock(&c->lock);
    const char *k = sid < c->nseries ? c->series[sid].key : NULL;
    pthread_rwlock_unlock(&c->lock);
    if (k || sid >= catalog_series_count(c))
        return k;
    pthread_rwlock_wrlock(&c->lock);
    cseries *s = &c->series[sid];
    if (!s->key) {
        ctagset *t = &c->tagsets[s->tagset];
        size_t cap = t->len + 1 + 2 * (size_t)s->flen + 1;
        char *tmp = st_malloc(cap);
        if (tmp) {
            memcpy(tmp, t->key, t->len);
            tmp[t->len] = ' ';
            size_t n = t->len + 1 + lp_escape_key(s->field, s->flen, tmp + t->len + 1);
            s->key = arena_strdup(c, tmp, n);
            st_free(tmp);
        }
        if (!s->key)
            st_err(STRATA_NOMEM, "out of memory building a series key");
    }
    k = s->key;
    pthread_rwlock_unlock(&c->lock);
    return k;
}

/* ---- persistence ------------------------------------------------------------- */

int catalog_apply_defs(catalog *c, const uint8_t **pp, const uint8_t *end)
{
    const uint8_t *p = *pp;
    uint64_t n, id, a, len;
    if (get_varint(&p, end, &n))
        goto bad;
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *k;
        if (get_varint(&p, end, &id) || get_varint(&p, end, &a) || get_varint(&p, end, &len) ||
            get_bytes(&p, end, len, &k) || id > CAT_MAX_IDS || a > len)
            goto bad;
        int rc = catalog_define_tagset(c, (uint32_t)id, (const char *)k, len, (uint32_t)a);
        if (rc != STRATA_OK)
            return rc;
    }
    if (get_varint(&p, end, &n))
        goto bad;
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *f;
        uint8_t type;
        if (get_varint(&p, end, &id) || get_varint(&p, end, &a) || get_u8(&p, end, &type) ||
            get_varint(&p, end, &len) || get_bytes(&p, end, len, &f) || id > CAT_MAX_IDS ||
            a > CAT_MAX_IDS)
            goto bad;
        int rc = catalog_define_series(c, (uint32_t)id, (uint32_t)a, type, (const char *)f, len);
        if (rc != STRATA_OK)
            return rc;
    }
    *pp = p;
    return STRATA_OK;
bad:
    return st_err(STRATA_CORRUPT_CATALOG, "malformed series definitions");
}

int catalog_encode_defs(catalog *c, uint32_t t0, uint32_t t1, uint32_t s0, uint32_t s1,
                        buf *out)
{
    pthread_rwlock_rdlock(&c->lock);
    int oom = buf_reserve(out, VARINT_MAX);
    if (!oom) {
        uint8_t *p = buf_cursor(out);
        put_varint(&p, t1 - t0);
        buf_commit(out, p);
    }
    for (uint32_t i = t0; i < t1 && !oom; i++) {
        ctagset *t = &c->tagsets[i];
        oom = buf_reserve(out, 3 * VARINT_MAX + t->len);
        if (oom)
            break;
        uint8_t *p = buf_cursor(out);
        put_varint(&p, i);
        put_varint(&p, t->mlen);
        put_varint(&p, t->len);
        memcpy(p, t->key, t->len);
        buf_commit(out, p + t->len);
    }
    if (!oom)
        oom = buf_reserve(out, VARINT_MAX);
    if (!oom) {
        uint8_t *p = buf_cursor(out);
        put_varint(&p, s1 - s0);
        buf_commit(out, p);
    }
    for (uint32_t i = s0; i < s1 && !oom; i++) {
        cseries *s = &c->series[i];
        oom = buf_reserve(out, 3 * VARINT_MAX + 1 + s->flen);
        if (oom)
            break;
        uint8_t *p = buf_cursor(out);
        put_varint(&p, i);
        put_varint(&p, s->tagset);
        put_u8(&p, s->type);
        put_varint(&p, s->flen);
        memcpy(p, s->field, s->flen);
        buf_commit(out, p + s->flen);
    }
    pthread_rwlock_unlock(&c->lock);
    return oom ? -1 : 0;
}

static void write_header(uint8_t *h)
{
    uint8_t *p = h;
    memcpy(p, CAT_MAGIC, 8);
    p += 8;
    put_u32(&p, CAT_VERSION);
    put_u32(&p, 0);
    put_u64(&p, 0);
    put_u64(&p, XXH3_64bits(h, 24));
}

/* Walk the blocks of a mapped file up to `limit`; apply them when c is
 * given.  Returns the offset reached; *why is set at the first problem. */
static size_t walk_blocks(catalog *c, const uint8_t *base, size_t limit, const char **why,
                          int *code)
{
    *why = NULL;
    *code = STRATA_CORRUPT_CATALOG;
    if (limit < CAT_HEADER_SIZE || memcmp(base, CAT_MAGIC, 8) != 0 ||
        XXH3_64bits(base, 24) != load_u64(base + 24)) {
        *why = "damaged file header";
        return 0;
    }
    if (load_u32(base + 8) != CAT_VERSION) {
        *why = "unsupported catalog format version";
        *code = STRATA_VERSION;
        return 0;
    }
    size_t off = CAT_HEADER_SIZE;
    while (off < limit) {
        if (limit - off < CAT_BLOCK_OVERHEAD) {
            *why = "incomplete block";
            return off;
        }
        uint32_t stored = load_u32(base + off), raw = load_u32(base + off + 4);
        if (stored > CAT_MAX_BLOCK || raw > CAT_MAX_BLOCK ||
            (uint64_t)stored + CAT_BLOCK_OVERHEAD > limit - off) {
            *why = "block length out of range";
            return off;
        }
        if (XXH3_64bits(base + off, 8 + (size_t)stored) != load_u64(base + off + 8 + stored)) {
            *why = "block checksum mismatch";
            return off;
        }
        const uint8_t *payload = base + off + 8;
        uint8_t *expanded = NULL;
        size_t plen = stored;
        if (raw) {
            expanded = st_malloc(raw);
            if (!expanded) {
                *why = "out of memory";
                *code = STRATA_NOMEM;
                return off;
            }
            int got = LZ4_decompress_safe((const char *)payload, (char *)expanded, (int)stored,
                                          (int)raw);
            if (got != (int)raw) {
                st_free(expanded);
                *why = "block does not decompress";
                return off;
            }
            payload = expanded;
            plen = raw;
        }
        const uint8_t *q = payload;
        int ar = catalog_apply_defs(c, &q, payload + plen);
        if (ar == STRATA_OK && q != payload + plen)
            ar = st_err(STRATA_CORRUPT_CATALOG, "trailing bytes after the definitions");
        st_free(expanded);
        if (ar != STRATA_OK) {
            *why = st_errmsg();
            *code = st_errcode();
            return off;
        }
        off += CAT_BLOCK_OVERHEAD + stored;
    }
    return off;
}

static void free_catalog(catalog *c)
{
    if (c->fd >= 0)
        os_close(c->fd);
    while (c->arena) {
        arena_block *n = c->arena->next;
        st_free(c->arena);
        c->arena = n;
    }
    st_free(c->tagsets);
    st_free(c->series);
    st_free(c->tmap);
    st_free(c->smap);
    pthread_rwlock_destroy(&c->lock);
    st_free(c);
}

int catalog_open(const char *path, uint64_t committed_len, int create, int read_only,
                 catalog **out)
{
    *out = NULL;
    catalog *c = st_calloc(1, sizeof *c);
    if (!c)
        return st_err(STRATA_NOMEM, "out of memory opening the catalog");
    pthread_rwlock_init(&c->lock, NULL);
    c->fd = -1;
    c->read_only = read_only;
    snprintf(c->path, sizeof c->path, "%s", path);
    int rc = STRATA_OK;
    if (create) {
        int fd = os_open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) {
            rc = st_err_os(STRATA_IOERR_OPEN, -fd, "cannot create %s", path);
            goto fail;
        }
        uint8_t h[CAT_HEADER_SIZE];
        write_header(h);
        int e = os_write_all(fd, h, sizeof h);
        if (e == 0)
            e = os_fsync(fd);
        os_close(fd);
        if (e < 0) {
            rc = st_err_os(STRATA_IOERR_WRITE, -e, "cannot write %s", path);
            goto fail;
        }
        committed_len = CAT_HEADER_SIZE;
    }
    int fd = os_open(path, read_only ? O_RDONLY : O_RDWR, 0);
    if (fd < 0) {
        rc = st_err_os(STRATA_IOERR_OPEN, -fd, "cannot open catalog %s", path);
        goto fail;
    }
    c->fd = fd;
    uint64_t size;
    int e = os_fsize(fd, &size);
    if (e < 0) {
        rc = st_err_os(STRATA_IOERR_READ, -e, "cannot stat %s", path);
        goto fail;
    }
    if (size < committed_len) {
        rc = st_err(STRATA_CORRUPT_CATALOG,
                    "%s: file is %llu bytes but the manifest says %llu are committed", path,
                    (unsigned long long)size, (unsigned long long)committed_len);
        goto fail;
    }
    void *map = NULL;
    e = os_mmap_ro(fd, (size_t)committed_len, &map);
    if (e < 0) {
        rc = st_err_os(STRATA_IOERR_MMAP, -e, "cannot map %s", path);
        goto fail;
    }
    const char *why;
    int code;
    size_t reached = walk_blocks(c, map, (size_t)committed_len, &why, &code);
    os_munmap(map, (size_t)committed_len);
    if (why) {
        rc = st_err(code, "%s: %s at offset %zu", path, why, reached);
        goto fail;
    }
    if (size > committed_len && !read_only) {
        /* An append that never committed: cut it off. */
        e = os_ftruncate(fd, committed_len);
        if (e == 0)
            e = os_fsync(fd);
        if (e < 0) {
            rc = st_err_os(STRATA_IOERR_TRUNCATE, -e, "cannot truncate %s", path);
            goto fail;
        }
    }
    c->committed = committed_len;
    c->persisted_tagsets = c->ntagsets;
    c->persisted_series = c->nseries;
    *out = c;
    return STRATA_OK;
fail:
    free_catalog(c);
    return rc;
}

void catalog_close(catalog *c)
{
    if (c)
        free_catalog(c);
}

uint64_t catalog_committed_len(catalog *c)
{
    pthread_rwlock_rdlock(&c->lock);
    uint64_t v = c->committed;
    pthread_rwlock_unlock(&c->lock);
    return v;
}

int catalog_persist(catalog *c, uint64_t *committed)
{
    if (c->read_only)
        return st_err(STRATA_MISUSE_READONLY, "catalog is open read-only");
    pthread_rwlock_rdlock(&c->lock);
    uint32_t t0 = c->persisted_tagsets, t1 = c->ntagsets;
    uint32_t s0 = c->persisted_series, s1 = c->nseries;
    uint64_t off = c->committed;
    pthread_rwlock_unlock(&c->lock);
    if (t0 == t1 && s0 == s1) {
        *committed = off;
        return STRATA_OK;
    }
    /* Writers may add definitions meanwhile; they land in the next block. */
    buf raw = {0};
    if (catalog_encode_defs(c, t0, t1, s0, s1, &raw)) {
        buf_free(&raw);
        return st_err(STRATA_NOMEM, "out of memory persisting the catalog");
    }
    if (raw.len > CAT_MAX_BLOCK) {
        buf_free(&raw);
        return st_err(STRATA_FULL, "%zu bytes of new series definitions exceed the catalog's "
                      "block limit of %u", raw.len, CAT_MAX_BLOCK);
    }

    /* Compress when it pays. */
    buf blk = {0};
    int bound = LZ4_compressBound((int)raw.len);
    if (buf_reserve(&blk, CAT_BLOCK_OVERHEAD + (size_t)bound + raw.len)) {
        buf_free(&raw);
        return st_err(STRATA_NOMEM, "out of memory persisting the catalog");
    }
    int clen = LZ4_compress_default((const char *)raw.p, (char *)blk.p + 8, (int)raw.len, bound);
    uint32_t stored, rawlen;
    if (clen > 0 && (size_t)clen < raw.len) {
        stored = (uint32_t)clen;
        rawlen = (uint32_t)raw.len;
    } else {
        memcpy(blk.p + 8, raw.p, raw.len);
        stored = (uint32_t)raw.len;
        rawlen = 0;
    }
    buf_free(&raw);
    store_u32(blk.p, stored);
    store_u32(blk.p + 4, rawlen);
    store_u64(blk.p + 8 + stored, XXH3_64bits(blk.p, 8 + (size_t)stored));
    size_t total = CAT_BLOCK_OVERHEAD + stored;
    int e = os_pwrite_all(c->fd, blk.p, total, off);
    if (e == 0)
        e = os_fsync(c->fd);
    buf_free(&blk);
    if (e < 0)
        return st_err_os(STRATA_IOERR_WRITE, -e, "cannot append to catalog %s", c->path);
    pthread_rwlock_wrlock(&c->lock);
    c->committed = off + total;
    c->persisted_tagsets = t1;
    c->persisted_series = s1;
    *committed = c->committed;
    pthread_rwlock_unlock(&c->lock);
    return STRATA_OK;
}

long catalog_verify(const char *path, uint64_t committed_len,
                    void (*report)(void *ctx, const char *msg), void *ctx)
{
    uint8_t *data;
    size_t len;
    char msg[600];
    int e = os_read_file(path, &data, &len);
    if (e < 0) {
        snprintf(msg, sizeof msg, "%s: cannot read: %s", path, strerror(-e));
        report(ctx, msg);
        return 1;
    }
    long problems = 0;
    size_t limit = committed_len == UINT64_MAX || committed_len > len ? len : committed_len;
    if (committed_len != UINT64_MAX && committed_len > len) {
        snprintf(msg, sizeof msg, "%s: %zu bytes, but %llu are committed (file truncated)",
                 path, len, (unsigned long long)committed_len);
        report(ctx, msg);
        problems++;
    }
    catalog *c = st_calloc(1, sizeof *c);
    if (!c) {
        st_free(data);
        report(ctx, "out of memory");
        return problems + 1;
    }
    pthread_rwlock_init(&c->lock, NULL);
    c->fd = -1;
    const char *why;
    int code;
    size_t reached = walk_blocks(c, data, limit, &why, &code);
    if (why) {
        snprintf(msg, sizeof msg, "%s: %s at offset %zu", path, why, reached);
        report(ctx, msg);
        problems++;
    }
    free_catalog(c);
    st_free(data);
    return problems;
}
