/*
 * segment_reader.c — maps and checks segment files, walks their index and
 * decodes chunks (FORMAT.md §5).
 *
 * Trust: nothing read from the file is used before it is checked.  At open:
 * the header and footer checksums and magics, the index checksum, the
 * series table (ids ascending, offsets inside the index and data area).
 * While walking a chunk list: every varint bounds-checked, every chunk's
 * data range inside the data area, times increasing and inside the
 * partition.  On decode: the chunk checksum, then the codecs' own checks.
 * Any failure is STRATA_CORRUPT naming the file and byte offset.
 */
#include "engine/segment.h"

#include "engine/alloc.h"
#include "engine/codec.h"
#include "engine/err.h"
#include "engine/os.h"
#include "engine/segment_format.h"
#include "engine/varint.h"
#include "strata.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

struct seg_reader {
    atomic_int refs;
    atomic_int obsolete;
    char path[4096];
    const uint8_t *base;
    size_t size;
    const uint8_t *index, *table;
    uint64_t unit; /* ns per index time unit */
    uint32_t version;
    seg_info info;
    /* sid -> position in the series table (UINT32_MAX: absent), built on
     * the first lookup when the ids are dense enough; NULL: binary search */
    _Atomic(uint32_t *) pos;
    atomic_int pos_tried;
    uint32_t pos_n;
    /* each series' last chunk entry, by series-table position, found by a
     * walk of that series' chunk list on its first use: lasts_done[i] is
     * set (under lasts_mu, after lasts[i]) once lasts[i] holds it */
    pthread_mutex_t lasts_mu;
    chunk_meta *lasts;
    _Atomic(atomic_uchar *) lasts_done;
};

/* Check the structure; on success fill r's pointers and info.  *why and
 * *where describe the first problem. */
static int check_structure(seg_reader *r, const char **why, uint64_t *where)
{
    const uint8_t *b = r->base;
    size_t size = r->size;
    *where = 0;
    if (size < SEG_HEADER_SIZE + SEG_FOOTER_SIZE) {
        *why = "file shorter than header and footer";
        return STRATA_CORRUPT_SEGMENT;
    }
    if (memcmp(b, SEG_MAGIC, 8) != 0 || XXH3_64bits(b, 56) != load_u64(b + 56)) {
        *why = "damaged header";
        return STRATA_CORRUPT_SEGMENT;
    }
    r->version = load_u32(b + 8);
    if (r->version != SEG_VERSION && r->version != SEG_VERSION_V1) {
        *why = "unsupported segment format version";
        return STRATA_VERSION;
    }
    const uint8_t *f = b + size - SEG_FOOTER_SIZE;
    *where = size - SEG_FOOTER_SIZE;
    if (memcmp(f + 72, SEG_MAGIC, 8) != 0 || XXH3_64bits(f, 64) != load_u64(f + 64)) {
        *why = "damaged footer (file truncated or overwritten?)";
        return STRATA_CORRUPT_SEGMENT;
    }
    seg_info *in = &r->info;
    in->id = load_u64(b + 16);
    in->part_first = (int64_t)load_u64(b + 24);
    in->part_last = (int64_t)load_u64(b + 32);
    uint64_t index_off = load_u64(f), index_len = load_u64(f + 8);
    in->chunks = load_u64(f + 16);
    in->points = load_u64(f + 24);
    in->tmin = (int64_t)load_u64(f + 32);
    in->tmax = (int64_t)load_u64(f + 40);
    in->nseries = load_u32(f + 48);
    uint8_t exp = f[52];
    in->size = size;
    in->index_len = index_len;
    if (index_off < SEG_HEADER_SIZE || index_off > size - SEG_FOOTER_SIZE ||
        index_len != size - SEG_FOOTER_SIZE - index_off || exp > SEG_MAX_TIME_EXP ||
        (uint64_t)in->nseries * SEG_TABLE_ENTRY > index_len) {
        *why = "footer fields out of range";
        return STRATA_CORRUPT_SEGMENT;
    }
    r->index = b + index_off;
    *where = index_off;
    if (XXH3_64bits(r->index, index_len) != load_u64(f + 56)) {
        *why = "index checksum mismatch";
        return STRATA_CORRUPT_SEGMENT;
    }
    r->unit = (uint64_t)seg_time_unit(exp);
    r->table = r->index + index_len - (uint64_t)in->nseries * SEG_TABLE_ENTRY;
    uint64_t lists_len = index_len - (uint64_t)in->nseries * SEG_TABLE_ENTRY;
    for (uint32_t i = 0; i < in->nseries; i++) {
        const uint8_t *e = r->table + (size_t)i * SEG_TABLE_ENTRY;
        uint64_t sid = load_u64(e), doff = load_u64(e + 8);
        uint32_t loff = load_u32(e + 16), nchunks = load_u32(e + 20);
        *where = index_off + (uint64_t)(e - r->index);
        if (sid > UINT32_MAX || (i && sid <= load_u64(e - SEG_TABLE_ENTRY)) || loff >= lists_len ||
            doff < SEG_HEADER_SIZE || doff > index_off || nchunks == 0) {
            *why = "series table entry out of range";
            return STRATA_CORRUPT_SEGMENT;
        }
    }
    return STRATA_OK;
}

void seg_file_path(const char *seg_dir, uint64_t id, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%016llx.seg", seg_dir, (unsigned long long)id);
}

int seg_parse_file_name(const char *name, uint64_t *id)
{
    if (strlen(name) != 20 || strcmp(name + 16, ".seg") != 0)
        return 0;
    uint64_t v = 0;
    for (int i = 0; i < 16; i++) {
        char c = name[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return 0;
        v = v << 4 | (uint64_t)d;
    }
    *id = v;
    return 1;
}

static int map_file(const char *path, seg_reader **out)
{
    seg_reader *r = st_calloc(1, sizeof *r);
    if (!r)
        return st_err(STRATA_NOMEM, "out of memory opening a segment");
    atomic_init(&r->refs, 1);
    r->lasts_mu = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
    snprintf(r->path, sizeof r->path, "%s", path);
    int fd = os_open(path, O_RDONLY, 0);
    if (fd < 0) {
        st_free(r);
        return st_err_os(fd == -ENOENT ? STRATA_NOTFOUND : STRATA_IOERR_OPEN, -fd,
                         "cannot open segment %s", path);
    }
    uint64_t size;
    int e = os_fsize(fd, &size);
    void *map = NULL;
    if (e == 0)
        e = os_mmap_ro(fd, (size_t)size, &map);
    os_close(fd);
    if (e < 0) {
        st_free(r);
        return st_err_os(STRATA_IOERR_MMAP, -e, "cannot map segment %s", path);
    }
    r->base = map;
    r->size = (size_t)size;
    *out = r;
    return STRATA_OK;
}

static void unmap(seg_reader *r)
{
    os_munmap((void *)r->base, r->size);
    st_free(atomic_load(&r->pos));
    st_free(r->lasts);
    st_free(atomic_load(&r->lasts_done));
    pthread_mutex_destroy(&r->lasts_mu);
    st_free(r);
}

int segr_open(const char *path, seg_reader **out)
{
    *out = NULL;
    seg_reader *r;
    int rc = map_file(path, &r);
    if (rc != STRATA_OK)
        return rc;
    const char *why;
    uint64_t where;
    int code = check_structure(r, &why, &where);
    if (code != STRATA_OK) {
        rc = st_err(code, "%s: %s at offset %llu", path, why, (unsigned long long)where);
        unmap(r);
        return rc;
    }
    *out = r;
    return STRATA_OK;
}

void segr_ref(seg_reader *r)
{
    atomic_fetch_add(&r->refs, 1);
}

void segr_mark_obsolete(seg_reader *r)
{
    atomic_store(&r->obsolete, 1);
}

void segr_unref(seg_reader *r)
{
    if (!r || atomic_fetch_sub(&r->refs, 1) != 1)
        return;
    if (atomic_load(&r->obsolete))
        os_unlink(r->path);
    unmap(r);
}

const seg_info *segr_info(const seg_reader *r)
{
    return &r->info;
}

const char *segr_path(const seg_reader *r)
{
    return r->path;
}

static void cursor_at(const seg_reader *r, uint32_t i, seg_cursor *c)
{
    const uint8_t *e = r->table + (size_t)i * SEG_TABLE_ENTRY;
    c->r = r;
    c->sid = (uint32_t)load_u64(e);
    c->data_off = load_u64(e + 8);
    c->p = r->index + load_u32(e + 16);
    c->end = r->table;
    c->left = load_u32(e + 20);
    c->index = 0;
    c->prev_t = (uint64_t)r->info.part_first;
    c->type = 0; /* read with the first chunk */
    c->skim = 0;
    c->slot = i;
    c->prev_count = c->prev_span = c->prev_last = 0;
    c->prev_codecs = 0;
    c->prev_e = -1;
    c->prev_n = 0;
}

int segr_series_at(const seg_reader *r, uint32_t i, seg_cursor *c)
{
    if (i >= r->info.nseries)
        return 0;
    cursor_at(r, i, c);
    return 1;
}

/* The position map, built once (racing builders: one wins, the others
 * free theirs).  Only for dense ids: at most 4 slots per series. */
static const uint32_t *pos_map(seg_reader *r, uint32_t *n)
{
    uint32_t *p = atomic_load(&r->pos);
    if (p || atomic_load(&r->pos_tried)) {
        *n = r->pos_n;
        return p;
    }
    uint32_t ns = r->info.nseries;
    uint64_t max = ns ? load_u64(r->table + (size_t)(ns - 1) * SEG_TABLE_ENTRY) : 0;
    if (ns == 0 || max >= 4ull * ns + 1024) {
        atomic_store(&r->pos_tried, 1);
        *n = 0;
        return NULL;
    }
    uint32_t *m = st_malloc((size_t)(max + 1) * sizeof *m);
    if (!m) {
        *n = 0;
        return NULL; /* binary search still works */
    }
    memset(m, 0xff, (size_t)(max + 1) * sizeof *m);
    for (uint32_t i = 0; i < ns; i++)
        m[load_u64(r->table + (size_t)i * SEG_TABLE_ENTRY)] = i;
    uint32_t *expected = NULL;
    r->pos_n = (uint32_t)(max + 1); /* same value from every builder */
    if (!atomic_compare_exchange_strong(&r->pos, &expected, m))
        st_free(m);
    atomic_store(&r->pos_tried, 1);
    *n = r->pos_n;
    return atomic_load(&r->pos);
}

int segr_find(const seg_reader *r, uint32_t sid, seg_cursor *c)
{
    uint32_t n;
    const uint32_t *map = pos_map((seg_reader *)r, &n);
    if (map) {
        if (sid >= n || map[sid] == UINT32_MAX)
            return 0;
        cursor_at(r, map[sid], c);
        return 1;
    }
    uint32_t lo = 0, hi = r->info.nseries;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        uint64_t s = load_u64(r->table + (size_t)mid * SEG_TABLE_ENTRY);
        if (s < sid)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == r->info.nseries || load_u64(r->table + (size_t)lo * SEG_TABLE_ENTRY) != sid)
        return 0;
    cursor_at(r, lo, c);
    return 1;
}

static int corrupt_at(const seg_cursor *c, const char *what)
{
    return st_err(STRATA_CORRUPT_SEGMENT, "%s: %s in the index of series %u at offset %llu",
                  c->r->path, what, c->sid,
                  (unsigned long long)(c->p - c->r->base));
}

/* Version 1 entry fields after the times: codecs, lengths, statistics,
 * checksum (FORMAT.md §9.7). */
static int entry_v1(seg_cursor *c, const uint8_t **pp, chunk_meta *m, uint64_t *count, uint64_t *dt,
                    uint64_t *span, const char **why)
{
    const uint8_t *p = *pp, *end = c->end;
    uint64_t tl, vl;
    uint8_t codecs;
    *why = "truncated chunk entry";
    if (get_varint(&p, end, count) || get_varint(&p, end, dt) || get_varint(&p, end, span) ||
        get_u8(&p, end, &codecs) || get_varint(&p, end, &tl) || get_varint(&p, end, &vl))
        return -1;
    *why = "chunk point count out of range";
    if (*count == 0 || *count > SEG_CHUNK_MAX)
        return -1;
    m->st.count = (uint32_t)*count;
    chunk_stats *st = &m->st;
    *why = "bad chunk statistics";
    if (c->type == STRATA_F64) {
        uint64_t nan;
        if (get_u64(&p, end, &st->min) || get_u64(&p, end, &st->max) ||
            get_u64(&p, end, &st->sum) || get_u64(&p, end, &st->first) ||
            get_u64(&p, end, &st->last) || get_varint(&p, end, &nan) || nan > *count)
            return -1;
        st->nan_count = (uint32_t)nan;
    } else if (c->type == STRATA_I64) {
        int64_t a[5];
        for (int k = 0; k < 5; k++)
            if (get_svarint(&p, end, &a[k]))
                return -1;
        if (get_u8(&p, end, &st->flags))
            return -1;
        st->min = (uint64_t)a[0];
        st->max = (uint64_t)a[1];
        st->first = (uint64_t)a[2];
        st->last = (uint64_t)a[3];
        st->sum = (uint64_t)a[4];
    } else {
        uint8_t fl;
        if (get_varint(&p, end, &st->sum) || get_u8(&p, end, &fl) || st->sum > *count)
            return -1;
        st->first = fl & 1;
        st->last = fl >> 1 & 1;
    }
    *why = "truncated chunk entry";
    if (get_u32(&p, end, &m->checksum))
        return -1;
    m->ts_codec = codecs >> 4;
    m->val_codec = codecs & 15;
    *why = "unknown codec";
    if (m->ts_codec > CODEC_BOOL_BITS || m->val_codec > CODEC_BOOL_BITS ||
        !codec_get(m->ts_codec) || !codec_get(m->val_codec))
        return -1;
    *why = "chunk data outside the data area";
    if (tl > UINT32_MAX || vl > UINT32_MAX)
        return -1;
    m->ts_len = (uint32_t)tl;
    m->val_len = (uint32_t)vl;
    *pp = p;
    return 0;
}

/* A decimal statistic N (|N| < 2^53) as float64 bits; -1 when out of range. */
static int dec_stat(uint64_t n, unsigned e, uint64_t *out)
{
    if ((int64_t)n <= -SEG_DEC_LIMIT || (int64_t)n >= SEG_DEC_LIMIT)
        return -1;
    *out = seg_dec_value((int64_t)n, e);
    return 0;
}

/* floor((a + b) / 2) without overflow. */
static int64_t mid(int64_t a, int64_t b)
{
    return (a >> 1) + (b >> 1) + (a & b & 1);
}

/* float64 statistics of a version-2 entry in decimal form (after the
 * exponent byte, if any): first, last, min, max, sum. */
static int f64_decimal_stats(seg_cursor *c, const uint8_t **pp, unsigned e, chunk_stats *st)
{
    const uint8_t *p = *pp, *end = c->end;
    int64_t df, dl, ds, fix;
    uint64_t dmin, dmax;
    if (get_svarint(&p, end, &df) || get_svarint(&p, end, &dl) || get_varint(&p, end, &dmin) ||
        get_varint(&p, end, &dmax) || get_svarint(&p, end, &ds) || get_svarint(&p, end, &fix))
        return -1;
    uint64_t pred = 0;
    if (c->prev_e >= 0 && (unsigned)c->prev_e <= e) {
        pred = (uint64_t)c->prev_n;
        for (unsigned k = (unsigned)c->prev_e; k < e; k++)
            pred *= 10;
    }
    uint64_t nf = pred + (uint64_t)df, nl = nf + (uint64_t)dl;
    if (c->skim) {
        c->prev_n = (int64_t)nl;
        *pp = p;
        return 0;
    }
    if (dec_stat(nf, e, &st->first) || dec_stat(nl, e, &st->last))
        return -1;
    int64_t f = (int64_t)nf, l = (int64_t)nl;
    uint64_t lo = (uint64_t)(f < l ? f : l), hi = (uint64_t)(f < l ? l : f), qv;
    uint64_t q = (uint64_t)ds + ((uint64_t)st->count - st->nan_count) * (uint64_t)mid(f, l);
    if (dec_stat(lo - dmin, e, &st->min) || dec_stat(hi + dmax, e, &st->max) ||
        dec_stat(q, e, &qv))
        return -1;
    st->sum = qv + (uint64_t)fix;
    c->prev_n = l;
    *pp = p;
    return 0;
}

/* Version 2 entry (FORMAT.md §5.4). */
static int entry_v2(seg_cursor *c, const uint8_t **pp, chunk_meta *m, uint64_t *count, uint64_t *dt,
                    uint64_t *span, const char **why)
{
    const uint8_t *p = *pp, *end = c->end;
    uint8_t fl, codecs = c->prev_codecs;
    uint64_t tl = 0, vl, zl = 0;
    *why = "truncated chunk entry";
    if (get_u8(&p, end, &fl))
        return -1;
    unsigned form = fl >> SEG_E_F64_FORM_SHIFT;
    *why = "bad chunk entry flags";
    if ((c->index == 0 && (fl & (SEG_E_SAME_COUNT | SEG_E_SAME_SPAN | SEG_E_SAME_CODECS))) ||
        (c->type == STRATA_I64 && (fl & 0xc0u)) || (c->type == STRATA_BOOL && (fl & 0x80u)) ||
        (c->type == STRATA_F64 &&
         (form > SEG_E_F64_DEC || (form == SEG_E_F64_DEC_SAME && c->prev_e < 0))))
        return -1;
    *why = "truncated chunk entry";
    *count = c->prev_count;
    *span = c->prev_span;
    if ((!(fl & SEG_E_SAME_CODECS) && get_u8(&p, end, &codecs)) ||
        (!(fl & SEG_E_SAME_COUNT) && get_varint(&p, end, count)) || get_varint(&p, end, dt) ||
        (!(fl & SEG_E_SAME_SPAN) && get_varint(&p, end, span)) ||
        (!(fl & SEG_E_NO_TS) && get_varint(&p, end, &tl)) || get_varint(&p, end, &vl) ||
        ((fl & SEG_E_LZ4) && get_varint(&p, end, &zl)))
        return -1;
    *why = "chunk point count out of range";
    if (*count == 0 || *count > SEG_CHUNK_MAX)
        return -1;
    chunk_stats *st = &m->st;
    st->count = (uint32_t)*count;
    *why = "bad chunk statistics";
    if (c->type == STRATA_F64) {
        uint64_t nan = 0;
        int e = -1;
        if (form != SEG_E_F64_RAW) {
            uint8_t eb = (uint8_t)c->prev_e;
            if (form == SEG_E_F64_DEC && (get_u8(&p, end, &eb) || eb > SEG_DEC_MAX_E))
                return -1;
            e = eb;
        }
        if (!(fl & SEG_E_F64_NO_NAN) && (get_varint(&p, end, &nan) || nan == 0))
            return -1;
        if (nan > *count || (e >= 0 && nan == *count))
            return -1;
        st->nan_count = (uint32_t)nan;
        if (e < 0 && (get_u64(&p, end, &st->min) || get_u64(&p, end, &st->max) ||
                      get_u64(&p, end, &st->sum) || get_u64(&p, end, &st->first) ||
                      get_u64(&p, end, &st->last)))
            return -1;
        if (e >= 0 && f64_decimal_stats(c, &p, (unsigned)e, st))
            return -1;
        c->prev_e = e;
    } else if (c->type == STRATA_I64) {
        int64_t df, dl, ds;
        uint64_t dmin, dmax;
        if (get_svarint(&p, end, &df) || get_svarint(&p, end, &dl) ||
            get_varint(&p, end, &dmin) || get_varint(&p, end, &dmax) ||
            get_svarint(&p, end, &ds))
            return -1;
        st->first = c->prev_last + (uint64_t)df;
        st->last = st->first + (uint64_t)dl;
        int64_t f = (int64_t)st->first, l = (int64_t)st->last;
        st->min = (uint64_t)(f < l ? f : l) - dmin;
        st->max = (uint64_t)(f > l ? f : l) + dmax;
        st->sum = (uint64_t)ds + *count * (uint64_t)mid(f, l);
        st->flags = fl & SEG_E_I64_OVERFLOW ? SEG_STAT_SUM_OVERFLOW : 0;
    } else {
        if (get_varint(&p, end, &st->sum) || st->sum > *count)
            return -1;
        st->first = (fl & SEG_E_BOOL_FIRST) != 0;
        st->last = (fl & SEG_E_BOOL_LAST) != 0;
    }
    *why = "truncated chunk entry";
    if (get_u32(&p, end, &m->checksum))
        return -1;
    m->ts_codec = codecs >> 4;
    m->val_codec = codecs & 15;
    *why = "unknown codec";
    if (!codec_get(m->ts_codec) || !codec_get(m->val_codec))
        return -1;
    *why = "chunk data outside the data area";
    if (tl > UINT32_MAX || vl > UINT32_MAX || zl > UINT32_MAX || ((fl & SEG_E_LZ4) && zl == 0))
        return -1;
    m->ts_len = (uint32_t)tl;
    m->val_len = (uint32_t)vl;
    m->zlen = (uint32_t)zl;
    c->prev_count = *count;
    c->prev_span = *span;
    c->prev_last = st->last;
    c->prev_codecs = codecs;
    *pp = p;
    return 0;
}

int segr_next_chunk(seg_cursor *c, chunk_meta *m)
{
    if (c->left == 0)
        return STRATA_DONE;
    const uint8_t *p = c->p;
    const seg_reader *r = c->r;
    if (c->index == 0) {
        if (get_u8(&p, c->end, &c->type) || c->type < STRATA_F64 || c->type > STRATA_BOOL)
            return corrupt_at(c, "bad series type");
    }
    uint64_t count, dt, span;
    const char *why;
    memset(m, 0, sizeof *m);
    if ((r->version == SEG_VERSION_V1 ? entry_v1 : entry_v2)(c, &p, m, &count, &dt, &span, &why))
        return corrupt_at(c, why);
    /* Times: unsigned offsets in index units, checked against overflow and
     * the partition. */
    uint64_t q = r->unit, dtn, spn, tmin, tmax;
    if (__builtin_mul_overflow(dt, q, &dtn) || __builtin_mul_overflow(span, q, &spn) ||
        __builtin_add_overflow(c->prev_t, dtn, &tmin) || __builtin_add_overflow(tmin, spn, &tmax))
        return corrupt_at(c, "chunk times overflow");
    m->tmin = (int64_t)tmin;
    m->tmax = (int64_t)tmax;
    if ((c->index > 0 && dt == 0) || m->tmin < r->info.part_first ||
        m->tmax > r->info.part_last || m->tmax < m->tmin || (count == 1 && span != 0))
        return corrupt_at(c, "chunk times out of order or outside the partition");
    if (!chunk_codecs_fit(c->type, m->ts_codec, m->val_codec))
        return corrupt_at(c, "codec does not fit the column's type");
    if (c->type == STRATA_BOOL) {
        m->st.min = m->st.sum == count;
        m->st.max = m->st.sum != 0;
    }
    uint64_t index_off = (uint64_t)(r->index - r->base), stored = chunk_stored_len(m);
    if (stored > index_off || c->data_off + stored > index_off)
        return corrupt_at(c, "chunk data outside the data area");
    m->data_off = c->data_off;
    c->data_off += stored;
    c->prev_t = tmax;
    c->p = p;
    c->left--;
    c->index++;
    return STRATA_ROW;
}

int segr_last_chunk(const seg_reader *cr, uint32_t sid, chunk_meta *m)
{
    seg_reader *r = (seg_reader *)cr;
    seg_cursor c;
    if (!segr_find(r, sid, &c))
        return 0;
    uint32_t i = c.slot;
    atomic_uchar *done = atomic_load_explicit(&r->lasts_done, memory_order_acquire);
    if (done && atomic_load_explicit(&done[i], memory_order_acquire)) {
        *m = r->lasts[i];
        return 1;
    }
    int rc = 1;
    pthread_mutex_lock(&r->lasts_mu);
    if (!r->lasts) {
        size_t ns = (size_t)r->info.nseries + 1;
        chunk_meta *l = st_malloc(ns * sizeof *l);
        atomic_uchar *d = st_calloc(ns, sizeof *d);
        if (l && d) {
            r->lasts = l;
            atomic_store_explicit(&r->lasts_done, d, memory_order_release);
        } else {
            st_free(l);
            st_free(d);
            rc = -st_err(STRATA_NOMEM, "out of memory reading %s", r->path);
        }
    }
    done = r->lasts_done;
    if (rc == 1 && !atomic_load_explicit(&done[i], memory_order_relaxed)) {
        chunk_meta last;
        int w;
        c.skim = 1;
        while (c.left > 1 && (w = segr_next_chunk(&c, &last)) == STRATA_ROW)
            ;
        c.skim = 0;
        while ((w = segr_next_chunk(&c, &last)) == STRATA_ROW)
            ;
        if (w == STRATA_DONE) {
            r->lasts[i] = last;
            atomic_store_explicit(&done[i], 1, memory_order_release);
        } else {
            rc = -w;
        }
    }
    if (rc == 1)
        *m = r->lasts[i];
    pthread_mutex_unlock(&r->lasts_mu);
    return rc;
}

/* chunk_decode's answer d as a result code, naming the file and chunk. */
static int decode_result(const seg_reader *r, const chunk_meta *m, int d)
{
    if (d == 0)
        return STRATA_OK;
    if (d == -3)
        return st_err(STRATA_NOMEM, "out of memory decoding a chunk of %s", r->path);
    return st_err(STRATA_CORRUPT_SEGMENT, "%s: chunk at offset %llu (%u points): %s", r->path,
                  (unsigned long long)m->data_off, m->st.count,
                  d == -1 ? "checksum mismatch" : "data does not decode");
}

uint32_t segr_version(const seg_reader *r)
{
    return r->version;
}

const uint8_t *segr_chunk_data(const seg_reader *r, const chunk_meta *m)
{
    return r->base + m->data_off;
}

int segr_decode(const seg_reader *r, const chunk_meta *m, int64_t *ts, uint64_t *v)
{
    return decode_result(r, m, chunk_decode(m, r->base + m->data_off, ts, v));
}

int segr_decode_values(const seg_reader *r, const chunk_meta *m, uint64_t *v)
{
    return segr_decode(r, m, NULL, v);
}

int segr_decode_times(const seg_reader *r, const chunk_meta *m, int64_t *ts)
{
    return segr_decode(r, m, ts, NULL);
}

void segr_prefetch_series(const seg_reader *r, uint32_t sid)
{
    const uint32_t *map = atomic_load(&((seg_reader *)r)->pos);
    if (map && sid < r->pos_n && map[sid] != UINT32_MAX)
        __builtin_prefetch(r->table + (size_t)map[sid] * SEG_TABLE_ENTRY, 0, 3);
}

void segr_prefetch_index(const seg_cursor *c)
{
    __builtin_prefetch(c->p, 0, 3);
    __builtin_prefetch(c->p + 64, 0, 3);
}

void segr_prefetch(const seg_reader *r, const chunk_meta *m)
{
    const uint8_t *p = r->base + m->data_off;
    uint32_t len = chunk_stored_len(m);
    for (uint32_t at = 0; at < len; at += 64)
        __builtin_prefetch(p + at, 0, 2);
}

int segr_value_moments(const seg_reader *r, const chunk_meta *m, uint64_t *scratch,
                       codec_moments *out)
{
    return decode_result(r, m, chunk_value_moments(m, r->base + m->data_off, scratch, out));
}

typedef struct vreport {
    void (*fn)(void *ctx, const char *msg);
    void *ctx;
    long n;
} vreport;

static void vsay(vreport *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vsay(vreport *v, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    v->fn(v->ctx, msg);
    v->n++;
}

long segr_verify(const char *path, void (*report)(void *ctx, const char *msg), void *ctx,
                 seg_info *info)
{
    vreport v = {report, ctx, 0};
    seg_reader *r;
    if (map_file(path, &r) != STRATA_OK) {
        vsay(&v, "%s", st_errmsg());
        return v.n;
    }
    const char *why;
    uint64_t where;
    if (check_structure(r, &why, &where) != STRATA_OK) {
        vsay(&v, "%s: %s at offset %llu", path, why, (unsigned long long)where);
        unmap(r);
        return v.n;
    }
    if (info)
        *info = r->info;
    int64_t *ts = st_malloc(SEG_CHUNK_MAX * sizeof *ts);
    uint64_t *vals = st_malloc(SEG_CHUNK_MAX * sizeof *vals);
    if (!ts || !vals) {
        vsay(&v, "out of memory verifying %s", path);
        goto done;
    }
    uint64_t points = 0, chunks = 0;
    uint64_t next_data = SEG_HEADER_SIZE;
    int64_t tmin = INT64_MAX, tmax = INT64_MIN;
    for (uint32_t i = 0; i < r->info.nseries; i++) {
        seg_cursor c;
        segr_series_at(r, i, &c);
        if (c.data_off != next_data)
            vsay(&v, "%s: series %u data starts at offset %llu, expected %llu", path, c.sid,
                 (unsigned long long)c.data_off, (unsigned long long)next_data);
        chunk_meta m;
        int rc;
        while ((rc = segr_next_chunk(&c, &m)) == STRATA_ROW) {
            chunks++;
            points += m.st.count;
            tmin = m.tmin < tmin ? m.tmin : tmin;
            tmax = m.tmax > tmax ? m.tmax : tmax;
            if (segr_decode(r, &m, ts, vals) != STRATA_OK) {
                vsay(&v, "%s (series %u)", st_errmsg(), c.sid);
                continue;
            }
            chunk_stats st;
            chunk_stats_compute(c.type, vals, m.st.count, &st);
            if (st.count != m.st.count || st.nan_count != m.st.nan_count ||
                st.flags != m.st.flags || st.min != m.st.min || st.max != m.st.max ||
                st.sum != m.st.sum || st.first != m.st.first || st.last != m.st.last)
                vsay(&v, "%s: chunk at offset %llu (series %u): statistics differ from its data",
                     path, (unsigned long long)m.data_off, c.sid);
        }
        if (rc != STRATA_DONE) {
            vsay(&v, "%s", st_errmsg());
            continue;
        }
        next_data = c.data_off;
    }
    if (r->info.nseries && next_data != (uint64_t)(r->index - r->base))
        vsay(&v, "%s: chunk data ends at offset %llu but the index starts at %llu", path,
             (unsigned long long)next_data, (unsigned long long)(r->index - r->base));
    if (points && (tmin != r->info.tmin || tmax != r->info.tmax))
        vsay(&v, "%s: footer time range differs from the chunks'", path);
    if (chunks != r->info.chunks || points != r->info.points)
        vsay(&v, "%s: footer counts %llu chunks / %llu points, index has %llu / %llu", path,
             (unsigned long long)r->info.chunks, (unsigned long long)r->info.points,
             (unsigned long long)chunks, (unsigned long long)points);
done:
    st_free(ts);
    st_free(vals);
    unmap(r);
    return v.n;
}
