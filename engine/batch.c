/*
 * batch.c — building write batches: the C API point builder, the line
 * protocol adder, validation of names, canonical tag-set keys, and the
 * batch's series cache (see batch.h).
 *
 * Canonical tag-set key: the escaped measurement, then for each tag in
 * ascending bytewise order of its (unescaped) key, "," key "=" value, both
 * escaped as in line protocol.  Validation (for the C API and line protocol
 * alike) keeps every stored name printable as line protocol that reads back
 * the same: names and tag values non-empty; no newline, carriage return or
 * NUL; no trailing backslash (it would escape the separator after it); a
 * measurement may not start with '#' (a comment) or with a tab (trimmed);
 * no repeated tag key; "time" reserved as tag key and field name; keys at
 * most BATCH_MAX_KEY bytes.
 *
 * Line-protocol fast path: a line whose measurement-and-tags text the
 * cache holds is looked up before parsing, and only its fields and time
 * are parsed (lp_parse_known); a tag set remembers the series of each
 * field position of its last line (ltagset.field_ls), checked by name and
 * type before use, so a device repeating its fields hashes no names.
 *
 * Atomicity: a line (or a field call) that fails leaves the batch as it
 * was before it.
 *
 * Lateness (strata_options.max_lateness_ns): a point is refused when it is
 * older than the frontier by more than the limit, the frontier being the
 * newer of the database's (frontier_pub, read without the writer lock)
 * and the newest point added to this batch before it.  The write path
 * checks again under the lock (db_write.c).
 */
#include "engine/batch.h"

#include "engine/alloc.h"
#include "engine/db.h"
#include "engine/err.h"
#include "engine/timetext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_MAX_KEY 65535u
#define CACHE_RESET_LT (1u << 16)
#define CACHE_RESET_LS (1u << 20)
#define RAW_API 1
#define RAW_LP 2

static const char *type_name(uint8_t t)
{
    return t == STRATA_F64 ? "float64" : t == STRATA_I64 ? "int64" : "bool";
}

/* ---- cache maps --------------------------------------------------------------- */

static int grow_map(uint32_t **map, uint32_t *cap, uint32_t count, const void *items, size_t stride)
{
    if ((uint64_t)(count + 1) * 2 <= *cap)
        return 0;
    uint32_t ncap = *cap ? *cap * 2 : 256;
    uint32_t *m = st_calloc(ncap, sizeof *m);
    if (!m)
        return -1;
    for (uint32_t i = 0; i < count; i++) {
        uint64_t h = *(const uint64_t *)((const char *)items + (size_t)i * stride);
        uint32_t j = (uint32_t)h & (ncap - 1);
        while (m[j])
            j = (j + 1) & (ncap - 1);
        m[j] = i + 1;
    }
    st_free(*map);
    *map = m;
    *cap = ncap;
    return 0;
}

static void map_insert(uint32_t *map, uint32_t cap, uint64_t h, uint32_t idx)
{
    uint32_t j = (uint32_t)h & (cap - 1);
    while (map[j])
        j = (j + 1) & (cap - 1);
    map[j] = idx + 1;
}

static uint32_t lt_find(const strata_batch *b, const char *raw, size_t len, uint64_t h)
{
    if (!b->lt_map_cap)
        return CAT_NONE;
    for (uint32_t j = (uint32_t)h & (b->lt_map_cap - 1); b->lt_map[j];
         j = (j + 1) & (b->lt_map_cap - 1)) {
        const ltagset *t = &b->lt[b->lt_map[j] - 1];
        if (t->raw_hash == h && t->raw_len == len && memcmp(b->names.p + t->raw_off, raw, len) == 0)
            return b->lt_map[j] - 1;
    }
    return CAT_NONE;
}

static uint64_t ls_hash(uint32_t lt, const char *name, size_t len)
{
    return catalog_hash(name, len) ^ ((uint64_t)lt * 0x9E3779B97F4A7C15ull);
}

static uint32_t ls_find(const strata_batch *b, uint32_t lt, const char *name, size_t len,
                        uint64_t h)
{
    if (!b->ls_map_cap)
        return CAT_NONE;
    for (uint32_t j = (uint32_t)h & (b->ls_map_cap - 1); b->ls_map[j];
         j = (j + 1) & (b->ls_map_cap - 1)) {
        const lseries *s = &b->ls[b->ls_map[j] - 1];
        if (s->hash == h && s->lt == lt && s->name_len == len &&
            memcmp(b->names.p + s->name_off, name, len) == 0)
            return b->ls_map[j] - 1;
    }
    return CAT_NONE;
}

static int names_add(strata_batch *b, const char *s, size_t n, uint32_t *off)
{
    if (b->names.len + n > UINT32_MAX || buf_append(&b->names, s, n))
        return st_err(STRATA_NOMEM, "out of memory in a batch");
    *off = (uint32_t)(b->names.len - n);
    return STRATA_OK;
}

static void cache_reset(strata_batch *b)
{
    b->names.len = 0;
    b->nlt = b->nls = 0;
    if (b->lt_map)
        memset(b->lt_map, 0, (size_t)b->lt_map_cap * sizeof *b->lt_map);
    if (b->ls_map)
        memset(b->ls_map, 0, (size_t)b->ls_map_cap * sizeof *b->ls_map);
}

/* ---- validation and canonical keys ---------------------------------------------- */

static int bad_chars(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\n' || s[i] == '\r' || s[i] == '\0')
            return 1;
    return 0;
}

static int check_name(const char *what, const char *s, size_t n, int reserved_time)
{
    if (n == 0)
        return st_err(STRATA_ERROR_INPUT, "empty %s", what);
    if (n > BATCH_MAX_KEY)
        return st_err(STRATA_ERROR_INPUT, "%s longer than %u bytes", what, BATCH_MAX_KEY);
    if (bad_chars(s, n))
        return st_err(STRATA_ERROR_INPUT, "%s '%.*s' contains a newline, carriage return or NUL",
                      what, (int)(n > 60 ? 60 : n), s);
    if (s[n - 1] == '\\')
        return st_err(STRATA_ERROR_INPUT, "%s '%.*s' ends with a backslash", what,
                      (int)(n > 60 ? 60 : n), s);
    if (reserved_time && n == 4 && memcmp(s, "time", 4) == 0)
        return st_err(STRATA_ERROR_INPUT, "'time' is reserved and cannot be a %s", what);
    return STRATA_OK;
}

typedef struct kv {
    const char *k, *v;
    size_t kl, vl;
} kv;

static int kv_cmp(const void *a, const void *b)
{
    const kv *x = a, *y = b;
    size_t n = x->kl < y->kl ? x->kl : y->kl;
    int c = memcmp(x->k, y->k, n);
    return c ? c : (x->kl > y->kl) - (x->kl < y->kl);
}

/* Validate and build the canonical key into b->unesc. */
static int canonical(strata_batch *b, const char *m, size_t ml, kv *tags, uint32_t n,
                     uint32_t *mlen)
{
    int rc = check_name("measurement", m, ml, 0);
    if (rc != STRATA_OK)
        return rc;
    if (m[0] == '#' || m[0] == '\t')
        return st_err(STRATA_ERROR_INPUT, "measurement '%.*s' starts with '%s'",
                      (int)(ml > 60 ? 60 : ml), m, m[0] == '#' ? "#" : "a tab");
    size_t need = 2 * ml;
    for (uint32_t i = 0; i < n; i++) {
        if ((rc = check_name("tag key", tags[i].k, tags[i].kl, 1)) != STRATA_OK ||
            (rc = check_name("tag value", tags[i].v, tags[i].vl, 0)) != STRATA_OK)
            return rc;
        need += 2 * (tags[i].kl + tags[i].vl) + 2;
    }
    qsort(tags, n, sizeof *tags, kv_cmp);
    for (uint32_t i = 1; i < n; i++)
        if (kv_cmp(&tags[i - 1], &tags[i]) == 0)
            return st_err(STRATA_ERROR_INPUT, "tag key '%.*s' appears twice",
                          (int)(tags[i].kl > 60 ? 60 : tags[i].kl), tags[i].k);
    b->unesc.len = 0;
    if (buf_reserve(&b->unesc, need))
        return st_err(STRATA_NOMEM, "out of memory in a batch");
    char *p = (char *)b->unesc.p;
    size_t len = lp_escape_measurement(m, ml, p);
    *mlen = (uint32_t)len;
    for (uint32_t i = 0; i < n; i++) {
        p[len++] = ',';
        len += lp_escape_key(tags[i].k, tags[i].kl, p + len);
        p[len++] = '=';
        len += lp_escape_key(tags[i].v, tags[i].vl, p + len);
    }
    if (len > BATCH_MAX_KEY)
        return st_err(STRATA_ERROR_INPUT, "series key longer than %u bytes", BATCH_MAX_KEY);
    b->unesc.len = len;
    return STRATA_OK;
}

/* Add a tag set to the cache: raw key `raw`, canonical key in b->unesc. */
static int lt_add(strata_batch *b, const char *raw, size_t rl, uint64_t rh, uint32_t mlen,
                  uint32_t *out)
{
    if (b->nlt == b->cap_lt) {
        uint32_t cap = b->cap_lt ? b->cap_lt * 2 : 64;
        ltagset *a = st_realloc(b->lt, (size_t)cap * sizeof *a);
        if (!a)
            return st_err(STRATA_NOMEM, "out of memory in a batch");
        b->lt = a;
        b->cap_lt = cap;
    }
    if (grow_map(&b->lt_map, &b->lt_map_cap, b->nlt, &b->lt[0].raw_hash, sizeof(ltagset)))
        return st_err(STRATA_NOMEM, "out of memory in a batch");
    ltagset *t = &b->lt[b->nlt];
    memset(t, 0, sizeof *t);
    memset(t->field_ls, 0xff, sizeof t->field_ls); /* CAT_NONE */
    t->raw_hash = rh;
    t->raw_len = (uint32_t)rl;
    t->canon_len = (uint32_t)b->unesc.len;
    t->mlen = mlen;
    t->canon_hash = catalog_hash((const char *)b->unesc.p, b->unesc.len);
    int rc = names_add(b, raw, rl, &t->raw_off);
    if (rc == STRATA_OK)
        rc = names_add(b, (const char *)b->unesc.p, b->unesc.len, &t->canon_off);
    if (rc != STRATA_OK)
        return rc;
    if (!catalog_find_tagset(b->cat, (const char *)b->unesc.p, b->unesc.len, t->canon_hash,
                             &t->db_id))
        t->db_id = CAT_NONE;
    map_insert(b->lt_map, b->lt_map_cap, rh, b->nlt);
    *out = b->nlt++;
    return STRATA_OK;
}

/* The cached series for field `name` of tag set lt with this type; a type
 * conflict (with the batch or the database) is STRATA_ERROR_TYPE. */
static int ls_get(strata_batch *b, uint32_t lt, const char *name, size_t nl, uint8_t type,
                  uint32_t *out)
{
    uint64_t h = ls_hash(lt, name, nl);
    uint32_t i = ls_find(b, lt, name, nl, h);
    if (i == CAT_NONE) {
        int rc = check_name("field name", name, nl, 1);
        if (rc != STRATA_OK)
            return rc;
        if (b->nls == b->cap_ls) {
            uint32_t cap = b->cap_ls ? b->cap_ls * 2 : 256;
            lseries *a = st_realloc(b->ls, (size_t)cap * sizeof *a);
            if (!a)
                return st_err(STRATA_NOMEM, "out of memory in a batch");
            b->ls = a;
            b->cap_ls = cap;
        }
        if (grow_map(&b->ls_map, &b->ls_map_cap, b->nls, &b->ls[0].hash, sizeof(lseries)))
            return st_err(STRATA_NOMEM, "out of memory in a batch");
        lseries *s = &b->ls[b->nls];
        memset(s, 0, sizeof *s);
        s->hash = h;
        s->lt = lt;
        s->name_len = (uint32_t)nl;
        s->type = type;
        s->db_sid = CAT_NONE;
        rc = names_add(b, name, nl, &s->name_off);
        if (rc != STRATA_OK)
            return rc;
        uint8_t dbt;
        if (b->lt[lt].db_id != CAT_NONE &&
            catalog_find_series(b->cat, b->lt[lt].db_id, name, nl, &s->db_sid, &dbt))
            s->type = dbt;
        map_insert(b->ls_map, b->ls_map_cap, h, b->nls);
        i = b->nls++;
    }
    lseries *s = &b->ls[i];
    if (s->type != type) {
        const ltagset *t = &b->lt[lt];
        return st_err(STRATA_ERROR_TYPE, "field '%.*s' of '%.*s' is %s, not %s",
                      (int)(nl > 80 ? 80 : nl), name,
                      (int)(t->canon_len > 120 ? 120 : t->canon_len), b->names.p + t->canon_off,
                      type_name(s->type), type_name(type));
    }
    *out = i;
    return STRATA_OK;
}

/* Forget the cached series created since the cache had n of them: a line
 * or point that failed must not fix a field's type for later ones.  Rare
 * (a failing line that introduced a series), so the map is rebuilt. */
static void ls_truncate(strata_batch *b, uint32_t n)
{
    if (b->nls == n)
        return;
    b->nls = n;
    memset(b->ls_map, 0, (size_t)b->ls_map_cap * sizeof *b->ls_map);
    for (uint32_t i = 0; i < n; i++)
        map_insert(b->ls_map, b->ls_map_cap, b->ls[i].hash, i);
}

/* Room for one more value: the first page doubles up to BVAL_PAGE, then
 * whole pages are added (batch.h). */
static int grow_vals(strata_batch *b)
{
    if (b->nvpages == b->cap_vpages) {
        size_t cap = b->cap_vpages ? b->cap_vpages * 2 : 4;
        bval **pages = st_realloc(b->vpages, cap * sizeof *pages);
        if (!pages)
            return st_err(STRATA_NOMEM, "out of memory in a batch");
        b->vpages = pages;
        b->cap_vpages = cap;
    }
    if (b->cap_vals < BVAL_PAGE) {
        size_t cap = b->cap_vals ? b->cap_vals * 2 : 1024;
        bval *v = st_realloc(b->nvpages ? b->vpages[0] : NULL, cap * sizeof *v);
        if (!v)
            return st_err(STRATA_NOMEM, "out of memory in a batch");
        b->vpages[0] = v;
        b->nvpages = 1;
        b->cap_vals = cap;
        return STRATA_OK;
    }
    bval *v = st_malloc(BVAL_PAGE * sizeof *v);
    if (!v)
        return st_err(STRATA_NOMEM, "out of memory in a batch");
    b->vpages[b->nvpages++] = v;
    b->cap_vals += BVAL_PAGE;
    return STRATA_OK;
}

static int push_val(strata_batch *b, uint32_t ls, int64_t ts, uint64_t bits)
{
    if (b->nvals == b->cap_vals) {
        int rc = grow_vals(b);
        if (rc != STRATA_OK)
            return rc;
    }
    *batch_val(b, b->nvals++) = (bval){ls, ts, bits};
    b->new_series |= b->ls[ls].db_sid == CAT_NONE;
    return STRATA_OK;
}

/* ---- public: lifecycle ------------------------------------------------------------ */

int strata_batch_new(strata_db *db, strata_batch **out)
{
    if (!out)
        return st_err(STRATA_MISUSE, "strata_batch_new: NULL output pointer");
    *out = NULL;
    if (!db)
        return st_err(STRATA_MISUSE, "strata_batch_new: NULL database");
    strata_batch *b = st_calloc(1, sizeof *b);
    if (!b)
        return st_err(STRATA_NOMEM, "out of memory creating a batch");
    b->db = db;
    b->cat = db->cat;
    b->late_max = INT64_MIN;
    *out = b;
    return STRATA_OK;
}

void strata_batch_free(strata_batch *b)
{
    if (!b)
        return;
    buf_free(&b->names);
    buf_free(&b->scratch);
    buf_free(&b->unesc);
    st_free(b->lt);
    st_free(b->lt_map);
    st_free(b->ls);
    st_free(b->ls_map);
    st_free(b->ls_count);
    st_free(b->ls_touched);
    st_free(b->sid_n);
    st_free(b->sid_map);
    st_free(b->ls_place);
    st_free(b->sid_at);
    st_free(b->sid_type);
    for (size_t i = 0; i < b->nvpages; i++)
        st_free(b->vpages[i]);
    st_free(b->vpages);
    st_free(b->tags);
    st_free(b->line);
    st_free(b);
}

void strata_batch_clear(strata_batch *b)
{
    if (!b)
        return;
    b->nvals = 0;
    b->npoints = 0;
    b->in_point = 0;
    b->new_series = 0;
    b->keylen = 0;
    b->skipped = 0;
    b->late_max = INT64_MIN;
    if (b->nlt > CACHE_RESET_LT || b->nls > CACHE_RESET_LS)
        cache_reset(b);
}

int strata_batch_set_key(strata_batch *b, const void *key, size_t len)
{
    if (!b || (!key && len))
        return st_err(STRATA_MISUSE, "strata_batch_set_key: NULL argument");
    if (len > STRATA_MAX_BATCH_KEY)
        return st_err(STRATA_MISUSE, "a batch key is at most %d bytes, not %zu",
                      STRATA_MAX_BATCH_KEY, len);
    if (len)
        memcpy(b->key, key, len);
    b->keylen = (uint8_t)len;
    return STRATA_OK;
}

int strata_batch_skipped(const strata_batch *b)
{
    return b ? b->skipped : 0;
}

/* ---- lateness ----------------------------------------------------------------------- */

int batch_too_late(const strata_db *db, int64_t front, int64_t ts)
{
    int64_t lim = db->opts.max_lateness_ns;
    return lim > 0 && ts < front && (uint64_t)front - (uint64_t)ts > (uint64_t)lim;
}

/* A duration as text: 1d2h3m4.5s style, at most 40 bytes. */
static void fmt_duration(uint64_t ns, char *out, size_t cap)
{
    static const struct {
        uint64_t ns;
        char unit;
    } units[] = {{86400000000000ull, 'd'}, {3600000000000ull, 'h'}, {60000000000ull, 'm'}};
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < 3; i++)
        if (ns >= units[i].ns) {
            n += (size_t)snprintf(out + n, cap - n, "%llu%c",
                                  (unsigned long long)(ns / units[i].ns), units[i].unit);
            ns %= units[i].ns;
        }
    if (ns || n == 0) {
        char frac[16];
        snprintf(frac, sizeof frac, ".%09llu", (unsigned long long)(ns % 1000000000ull));
        size_t fl = strlen(frac);
        while (fl > 1 && frac[fl - 1] == '0')
            frac[--fl] = '\0';
        snprintf(out + n, cap - n, "%llu%ss", (unsigned long long)(ns / 1000000000ull),
                 fl > 1 ? frac : "");
    }
}

/* "timestamp T is D older than the newest point (F); the maximum lateness is L" */
static void late_text(const strata_db *db, int64_t ts, int64_t front, char *out, size_t cap)
{
    char t[TIME_RFC3339_BUFSZ], f[TIME_RFC3339_BUFSZ], d[48], l[48];
    time_format_rfc3339(ts, t);
    time_format_rfc3339(front, f);
    fmt_duration((uint64_t)front - (uint64_t)ts, d, sizeof d);
    fmt_duration((uint64_t)db->opts.max_lateness_ns, l, sizeof l);
    snprintf(out, cap, "timestamp %s is %s older than the newest point (%s); the maximum "
             "lateness is %s", t, d, f, l);
}

int batch_late_error(const strata_batch *b, const bval *v, int64_t front)
{
    const lseries *s = &b->ls[v->ls];
    const ltagset *t = &b->lt[s->lt];
    char text[256];
    late_text(b->db, v->ts, front, text, sizeof text);
    return st_err(STRATA_ERROR_LATE, "%s (series '%.*s %.*s'); nothing was written", text,
                  (int)(t->canon_len > 120 ? 120 : t->canon_len), b->names.p + t->canon_off,
                  (int)(s->name_len > 80 ? 80 : s->name_len), b->names.p + s->name_off);
}

/* The frontier a point added now is measured against (no further than
 * the wall clock plus DB_FUTURE_SLACK_NS). */
static int64_t batch_frontier(const strata_batch *b)
{
    int64_t f = atomic_load(&b->db->frontier_pub);
    return db_frontier_capped(b->late_max > f ? b->late_max : f);
}

size_t strata_batch_points(const strata_batch *b)
{
    return b ? b->npoints : 0;
}

size_t strata_batch_values(const strata_batch *b)
{
    return b ? b->nvals : 0;
}

int strata_batch_has_new_series(const strata_batch *b)
{
    return b ? b->new_series : 0;
}

/* ---- public: C API points ---------------------------------------------------------- */

int batch_finish(strata_batch *b)
{
    if (b->in_point && b->nfields == 0) {
        b->in_point = 0;
        b->late_max = b->point_prev_late_max;
        return st_err(STRATA_MISUSE, "a point was started but given no fields");
    }
    b->in_point = 0;
    return STRATA_OK;
}

void strata_batch_cancel_point(strata_batch *b)
{
    if (!b || !b->in_point)
        return;
    b->nvals = b->point_first_val;
    /* series first seen in this point were only ever seen here */
    ls_truncate(b, b->point_first_ls);
    if (b->nfields)
        b->npoints--;
    b->in_point = 0;
    b->late_max = b->point_prev_late_max;
}

int strata_batch_point(strata_batch *b, const char *measurement, int64_t ts_ns)
{
    if (!b || !measurement)
        return st_err(STRATA_MISUSE, "strata_batch_point: NULL argument");
    int rc = batch_finish(b);
    if (b->db->opts.max_lateness_ns > 0 && batch_too_late(b->db, batch_frontier(b), ts_ns)) {
        char text[256];
        late_text(b->db, ts_ns, batch_frontier(b), text, sizeof text);
        atomic_fetch_add(&b->db->late_rejected, 1);
        return st_err(STRATA_ERROR_LATE, "%s; the point was not added", text);
    }
    size_t ml = strlen(measurement);
    b->scratch.len = 0;
    /* reserve even for "": the tag-set code copies from scratch.p */
    if (buf_reserve(&b->scratch, ml + 1) || buf_append(&b->scratch, measurement, ml))
        return st_err(STRATA_NOMEM, "out of memory in a batch");
    b->in_point = 1;
    b->ts = ts_ns;
    b->ntags = 0;
    b->nfields = 0;
    b->cur_lt = CAT_NONE;
    b->point_first_val = b->nvals;
    b->point_first_ls = b->nls;
    b->point_prev_late_max = b->late_max;
    if (ts_ns > b->late_max)
        b->late_max = ts_ns;
    return rc;
}

int strata_batch_tag(strata_batch *b, const char *key, const char *value)
{
    if (!b || !key || !value)
        return st_err(STRATA_MISUSE, "strata_batch_tag: NULL argument");
    if (!b->in_point || b->nfields)
        return st_err(STRATA_MISUSE, "strata_batch_tag: tags go after strata_batch_point() and "
                                     "before the point's fields");
    if (b->ntags == b->cap_tags) {
        uint32_t cap = b->cap_tags ? b->cap_tags * 2 : 16;
        btag *t = st_realloc(b->tags, (size_t)cap * sizeof *t);
        if (!t)
            return st_err(STRATA_NOMEM, "out of memory in a batch");
        b->tags = t;
        b->cap_tags = cap;
    }
    size_t kl = strlen(key), vl = strlen(value);
    btag *t = &b->tags[b->ntags];
    t->koff = (uint32_t)b->scratch.len;
    t->klen = (uint32_t)kl;
    t->voff = (uint32_t)(b->scratch.len + kl);
    t->vlen = (uint32_t)vl;
    if (buf_append(&b->scratch, key, kl) || buf_append(&b->scratch, value, vl))
        return st_err(STRATA_NOMEM, "out of memory in a batch");
    b->ntags++;
    return STRATA_OK;
}

/* Resolve the C API point's tag set on its first field. */
static int api_tagset(strata_batch *b)
{
    btag *tg = b->tags;
    size_t ml = b->ntags ? tg[0].koff : b->scratch.len;
    /* raw key: 0x01 measurement 0 (key 0 value 0)* */
    buf *u = &b->unesc;
    u->len = 0;
    if (buf_reserve(u, b->scratch.len + 2 * (size_t)b->ntags + 2))
        return st_err(STRATA_NOMEM, "out of memory in a batch");
    u->p[u->len++] = RAW_API;
    memcpy(u->p + u->len, b->scratch.p, ml);
    u->len += ml;
    u->p[u->len++] = 0;
    for (uint32_t i = 0; i < b->ntags; i++) {
        memcpy(u->p + u->len, b->scratch.p + tg[i].koff, tg[i].klen);
        u->len += tg[i].klen;
        u->p[u->len++] = 0;
        memcpy(u->p + u->len, b->scratch.p + tg[i].voff, tg[i].vlen);
        u->len += tg[i].vlen;
        u->p[u->len++] = 0;
    }
    uint64_t h = catalog_hash((const char *)u->p, u->len);
    uint32_t lt = lt_find(b, (const char *)u->p, u->len, h);
    if (lt != CAT_NONE) {
        b->cur_lt = lt;
        return STRATA_OK;
    }
    /* Keep the raw key aside: canonical() reuses unesc. */
    char *raw = st_malloc(u->len);
    kv *kvs = st_malloc(((size_t)b->ntags + 1) * sizeof *kvs);
    if (!raw || !kvs) {
        st_free(raw);
        st_free(kvs);
        return st_err(STRATA_NOMEM, "out of memory in a batch");
    }
    size_t rl = u->len;
    memcpy(raw, u->p, rl);
    const char *s = (const char *)b->scratch.p;
    for (uint32_t i = 0; i < b->ntags; i++)
        kvs[i] = (kv){s + tg[i].koff, s + tg[i].voff, tg[i].klen, tg[i].vlen};
    uint32_t mlen;
    int rc = canonical(b, s, ml, kvs, b->ntags, &mlen);
    if (rc == STRATA_OK)
        rc = lt_add(b, raw, rl, h, mlen, &b->cur_lt);
    st_free(raw);
    st_free(kvs);
    return rc;
}

static int api_field(strata_batch *b, const char *field, uint8_t type, uint64_t bits)
{
    if (!b || !field)
        return st_err(STRATA_MISUSE, "strata_batch field: NULL argument");
    if (!b->in_point)
        return st_err(STRATA_MISUSE, "a field needs a point: call strata_batch_point() first");
    int rc = STRATA_OK;
    if (b->cur_lt == CAT_NONE) {
        rc = api_tagset(b);
        if (rc != STRATA_OK) {
            strata_batch_cancel_point(b); /* the point cannot be completed */
            return rc;
        }
    }
    uint32_t ls;
    rc = ls_get(b, b->cur_lt, field, strlen(field), type, &ls);
    if (rc == STRATA_OK)
        rc = push_val(b, ls, b->ts, bits);
    if (rc == STRATA_OK && b->nfields++ == 0)
        b->npoints++;
    return rc;
}

int strata_batch_f64(strata_batch *b, const char *field, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return api_field(b, field, STRATA_F64, bits);
}

int strata_batch_i64(strata_batch *b, const char *field, int64_t v)
{
    return api_field(b, field, STRATA_I64, (uint64_t)v);
}

int strata_batch_bool(strata_batch *b, const char *field, int v)
{
    return api_field(b, field, STRATA_BOOL, v != 0);
}

/* ---- public: line protocol ----------------------------------------------------------- */

/* Unescaped copy of a span into b->unesc at its current end; *off gets where. */
static int unesc_span(strata_batch *b, lp_span s, size_t *off, size_t *len)
{
    if (buf_reserve(&b->unesc, s.len))
        return -1;
    *off = b->unesc.len;
    *len = s.escaped ? lp_unescape(s, (char *)b->unesc.p + b->unesc.len) : s.len;
    if (!s.escaped)
        memcpy(b->unesc.p + b->unesc.len, s.p, s.len);
    b->unesc.len += *len;
    return 0;
}

/* x[0..n) == y[0..n) for w <= n <= 2w (w = 4 or 8): the first and the
 * last w bytes as two words each, overlapping when n < 2w. */
static inline int ends_eq(const char *x, const char *y, size_t n, size_t w)
{
    uint64_t p = 0, q = 0, r = 0, t = 0;
    memcpy(&p, x, w);
    memcpy(&q, y, w);
    memcpy(&r, x + n - w, w);
    memcpy(&t, y + n - w, w);
    return ((p ^ q) | (r ^ t)) == 0;
}

/* a[0..n) == b[0..n) for a field name: names of 4 to 16 bytes (most)
 * compare as words, without a call to memcmp. */
static inline int name_eq(const void *a, const void *b, size_t n)
{
    if (n >= 8 && n <= 16)
        return ends_eq(a, b, n, 8);
    if (n >= 4 && n < 8)
        return ends_eq(a, b, n, 4);
    return memcmp(a, b, n) == 0;
}

/* The series of field i of a line with tag set lt when it is the one the
 * tag set's last line had there (same unescaped name and type), else
 * CAT_NONE: the common case skips hashing the name. */
static uint32_t field_hint(const strata_batch *b, uint32_t lt, uint32_t i, const lp_field *f)
{
    uint32_t c = b->lt[lt].field_ls[i];
    if (c >= b->nls || f->name.escaped)
        return CAT_NONE;
    const lseries *s = &b->ls[c];
    if (s->lt != lt || s->type != f->type || s->name_len != f->name.len ||
        !name_eq(b->names.p + s->name_off, f->name.p, f->name.len))
        return CAT_NONE;
    return c;
}

/* The raw cache key of a line's series text (RAW_LP, then the text, as
 * the line wrote it) into raw[0..n]; returns its hash. */
static uint64_t lp_raw_key(const char *text, size_t n, char *raw)
{
    raw[0] = RAW_LP;
    memcpy(raw + 1, text, n);
    return catalog_hash(raw, n + 1);
}

/* The cached tag set of a line whose series text (lp_series_prefix) the
 * batch has seen, else CAT_NONE. */
static uint32_t known_tagset(const strata_batch *b, const char *line, size_t len)
{
    size_t n = lp_series_prefix(line, len);
    char raw[512];
    if (n == 0 || n + 1 > sizeof raw)
        return CAT_NONE;
    return lt_find(b, raw, n + 1, lp_raw_key(line, n, raw));
}

static int lp_tagset(strata_batch *b, const lp_line *ln, uint32_t *out)
{
    size_t rl = (size_t)ln->series_raw.len + 1;
    char stackraw[512];
    char *raw = rl <= sizeof stackraw ? stackraw : st_malloc(rl);
    if (!raw)
        return st_err(STRATA_NOMEM, "out of memory in a batch");
    uint64_t h = lp_raw_key(ln->series_raw.p, ln->series_raw.len, raw);
    uint32_t lt = lt_find(b, raw, rl, h);
    int rc = STRATA_OK;
    if (lt != CAT_NONE) {
        *out = lt;
        goto done;
    }
    /* Unescape measurement and tags into one scratch area, then build. */
    buf tmp = b->unesc;
    b->unesc = b->scratch; /* reuse the API scratch for the unescaped parts */
    b->unesc.len = 0;
    size_t moff, mlen;
    size_t *offs = st_malloc(((size_t)ln->ntags * 4 + 1) * sizeof *offs);
    kv *kvs = st_malloc(((size_t)ln->ntags + 1) * sizeof *kvs);
    if (!offs || !kvs || unesc_span(b, ln->measurement, &moff, &mlen)) {
        rc = st_err(STRATA_NOMEM, "out of memory in a batch");
    } else {
        for (uint32_t i = 0; i < ln->ntags && rc == STRATA_OK; i++)
            if (unesc_span(b, ln->tag_key[i], &offs[4 * i], &offs[4 * i + 1]) ||
                unesc_span(b, ln->tag_val[i], &offs[4 * i + 2], &offs[4 * i + 3]))
                rc = st_err(STRATA_NOMEM, "out of memory in a batch");
    }
    buf parts = b->unesc;
    b->scratch = parts;
    b->unesc = tmp;
    if (rc == STRATA_OK) {
        const char *s = (const char *)parts.p;
        for (uint32_t i = 0; i < ln->ntags; i++)
            kvs[i] = (kv){s + offs[4 * i], s + offs[4 * i + 2], offs[4 * i + 1], offs[4 * i + 3]};
        uint32_t ml;
        rc = canonical(b, s + moff, mlen, kvs, ln->ntags, &ml);
        if (rc == STRATA_OK)
            rc = lt_add(b, raw, rl, h, ml, out);
    }
    st_free(offs);
    st_free(kvs);
done:
    if (raw != stackraw)
        st_free(raw);
    return rc;
}

int strata_batch_add_lp(strata_batch *b, const char *line, size_t len, strata_precision precision,
                        int64_t default_ts_ns, strata_lp_error *err)
{
    if (!b || (!line && len) || !err)
        return st_err(STRATA_MISUSE, "strata_batch_add_lp: NULL argument");
    err->column = 0; /* and an empty message: not all 160 bytes, this runs per line */
    err->message[0] = '\0';
    if (!b->line) {
        b->line = st_malloc(sizeof *b->line);
        if (!b->line)
            return st_err(STRATA_NOMEM, "out of memory in a batch");
    }
    lp_line *ln = b->line;
    /* a series text seen before skips the parsing of its tags */
    uint32_t lt = known_tagset(b, line, len);
    if ((lt == CAT_NONE
             ? lp_parse(line, len, precision, ln, err)
             : lp_parse_known(line, len, b->lt[lt].raw_len - 1, precision, ln, err)) != 0)
        return st_err(STRATA_ERROR_PARSE, "column %u: %s", err->column, err->message);
    if (ln->blank)
        return STRATA_OK;
    int rc = batch_finish(b);
    if (rc != STRATA_OK)
        return rc;
    int64_t ts = ln->has_ts ? ln->ts : default_ts_ns;
    if (b->db && b->db->opts.max_lateness_ns > 0 && batch_too_late(b->db, batch_frontier(b), ts)) {
        err->column = ln->has_ts ? ln->ts_col : (uint32_t)len + 1;
        late_text(b->db, ts, batch_frontier(b), err->message, sizeof err->message);
        atomic_fetch_add(&b->db->late_rejected, 1);
        return st_err(STRATA_ERROR_LATE, "column %u: %s", err->column, err->message);
    }
    rc = lt == CAT_NONE ? lp_tagset(b, ln, &lt) : STRATA_OK;
    if (rc != STRATA_OK) {
        err->column = 1;
        snprintf(err->message, sizeof err->message, "%s", st_errmsg());
        return rc;
    }
    size_t start = b->nvals;
    uint32_t first_ls = b->nls;
    for (uint32_t i = 0; i < ln->nfields; i++) {
        const lp_field *f = &ln->field[i];
        uint64_t bits;
        if (f->type == STRATA_F64)
            memcpy(&bits, &f->v.f64, sizeof bits);
        else if (f->type == STRATA_I64)
            bits = (uint64_t)f->v.i64;
        else
            bits = f->v.b != 0;
        uint32_t ls = i < LT_FIELDS ? field_hint(b, lt, i, f) : CAT_NONE;
        if (ls != CAT_NONE) {
            rc = push_val(b, ls, ts, bits);
            if (rc != STRATA_OK) {
                err->column = f->col;
                snprintf(err->message, sizeof err->message, "%s", st_errmsg());
                break;
            }
            continue;
        }
        size_t off, nl;
        b->unesc.len = 0;
        if (unesc_span(b, f->name, &off, &nl)) {
            rc = st_err(STRATA_NOMEM, "out of memory in a batch");
            break;
        }
        /* ls_get may overwrite unesc: copy the name out first. */
        char stackname[256];
        char *name = nl <= sizeof stackname ? stackname : st_malloc(nl);
        if (!name) {
            rc = st_err(STRATA_NOMEM, "out of memory in a batch");
            break;
        }
        memcpy(name, b->unesc.p + off, nl);
        rc = ls_get(b, lt, name, nl, f->type, &ls);
        if (name != stackname)
            st_free(name);
        if (rc == STRATA_OK && i < LT_FIELDS)
            b->lt[lt].field_ls[i] = ls;
        if (rc == STRATA_OK)
            rc = push_val(b, ls, ts, bits);
        if (rc != STRATA_OK) {
            err->column = f->col;
            snprintf(err->message, sizeof err->message, "%s", st_errmsg());
            break;
        }
    }
    if (rc != STRATA_OK) {
        b->nvals = start;
        ls_truncate(b, first_ls);
        return rc;
    }
    b->npoints++;
    if (ts > b->late_max)
        b->late_max = ts;
    return STRATA_OK;
}

/* ---- resolution under the writer lock ---------------------------------------------------- */

int batch_resolve(strata_batch *b)
{
    catalog *c = b->cat;
    if (!b->new_series) /* every value's series had its database id when added */
        return STRATA_OK;
    /* Pass 1: look up what the database already has; check types. */
    for (size_t i = 0; i < b->nvals; i++) {
        lseries *s = &b->ls[batch_val(b, i)->ls];
        if (s->db_sid != CAT_NONE)
            continue;
        ltagset *t = &b->lt[s->lt];
        const char *canon = (const char *)b->names.p + t->canon_off;
        if (t->db_id == CAT_NONE &&
            !catalog_find_tagset_locked(c, canon, t->canon_len, t->canon_hash, &t->db_id))
            t->db_id = CAT_NONE;
        uint8_t dbt;
        uint32_t sid;
        if (t->db_id != CAT_NONE &&
            catalog_find_series_locked(c, t->db_id, (const char *)b->names.p + s->name_off,
                                       s->name_len, &sid, &dbt)) {
            if (dbt != s->type)
                return st_err(STRATA_ERROR_TYPE,
                              "field '%.*s' of '%.*s' is %s in the database, not %s (value %zu "
                              "of the batch); nothing was written",
                              (int)(s->name_len > 80 ? 80 : s->name_len),
                              b->names.p + s->name_off, (int)(t->canon_len > 120 ? 120 : t->canon_len),
                              canon, type_name(dbt), type_name(s->type), i);
            s->db_sid = sid;
        }
    }
    /* Pass 2: create what is missing.  Two cache entries can name the same
     * new tag set (its tags written in two orders) or series: look again
     * before creating, so each is created once. */
    for (size_t i = 0; i < b->nvals; i++) {
        lseries *s = &b->ls[batch_val(b, i)->ls];
        if (s->db_sid != CAT_NONE)
            continue;
        ltagset *t = &b->lt[s->lt];
        const char *canon = (const char *)b->names.p + t->canon_off;
        const char *name = (const char *)b->names.p + s->name_off;
        int rc;
        uint8_t dbt;
        if (t->db_id == CAT_NONE &&
            !catalog_find_tagset_locked(c, canon, t->canon_len, t->canon_hash, &t->db_id))
            t->db_id = CAT_NONE;
        if (t->db_id != CAT_NONE &&
            catalog_find_series_locked(c, t->db_id, name, s->name_len, &s->db_sid, &dbt)) {
            if (dbt == s->type)
                continue;
            s->db_sid = CAT_NONE;
            return st_err(STRATA_ERROR_TYPE,
                          "field '%.*s' is written as both %s and %s in one batch; nothing was "
                          "written",
                          (int)(s->name_len > 80 ? 80 : s->name_len), name, type_name(dbt),
                          type_name(s->type));
        }
        if (t->db_id == CAT_NONE) {
            rc = catalog_add_tagset(c, (const char *)b->names.p + t->canon_off, t->canon_len,
                                    t->mlen, &t->db_id);
            if (rc != STRATA_OK) {
                t->db_id = CAT_NONE;
                return rc;
            }
        }
        rc = catalog_add_series(c, t->db_id, (const char *)b->names.p + s->name_off, s->name_len,
                                s->type, &s->db_sid);
        if (rc != STRATA_OK) {
            s->db_sid = CAT_NONE;
            return rc;
        }
    }
    return STRATA_OK;
}

int batch_lookup_key(catalog *c, const char *key, uint32_t *sid)
{
    /* Parse "key=0" as a line, then build the canonical tag-set key the
     * same way writes do. */
    size_t kl = strlen(key);
    char *line = st_malloc(kl + 3);
    strata_batch *b = st_calloc(1, sizeof *b);
    lp_line *ln = st_malloc(sizeof *ln);
    int rc = STRATA_OK;
    if (!line || !b || !ln) {
        rc = st_err(STRATA_NOMEM, "out of memory looking up a series");
        goto out;
    }
    memcpy(line, key, kl);
    memcpy(line + kl, "=0", 3);
    b->cat = c;
    strata_lp_error err;
    if (lp_parse(line, kl + 2, STRATA_PRECISION_NS, ln, &err) != 0 || ln->blank ||
        ln->nfields != 1) {
        rc = st_err(STRATA_ERROR_PARSE, "malformed series key '%s' (expected 'measurement,tag=value "
                    "field')", key);
        goto out;
    }
    uint32_t lt;
    rc = lp_tagset(b, ln, &lt);
    if (rc != STRATA_OK)
        goto out;
    size_t off, nl;
    b->unesc.len = 0;
    if (unesc_span(b, ln->field[0].name, &off, &nl)) {
        rc = st_err(STRATA_NOMEM, "out of memory looking up a series");
        goto out;
    }
    uint8_t type;
    if (b->lt[lt].db_id == CAT_NONE ||
        !catalog_find_series(c, b->lt[lt].db_id, (const char *)b->unesc.p + off, nl, sid, &type))
        rc = st_err(STRATA_NOTFOUND, "no series '%s'", key);
out:
    st_free(line);
    st_free(ln);
    if (b) {
        b->line = NULL;
        strata_batch_free(b);
    }
    return rc;
}
