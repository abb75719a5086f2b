/*
 * segment_writer.c — writes one segment file (FORMAT.md §5).
 *
 * Chunk columns are appended to an output buffer that is written out every
 * megabyte; the per-chunk metadata stays in memory until segw_finish()
 * encodes the index (chunk lists, then the fixed-width series table) and
 * the footer, then fsyncs.  Timestamps in the index are stored in units of
 * 10^time_exp ns, the largest power of ten (up to a second) dividing every
 * chunk bound and the partition start, which keeps them short.
 *
 * A seg_prep holds series encoded away from any writer (a flush encodes
 * on two threads): the same chunk loop (sink_series) writes into its own
 * buffer, and segw_add_prepared() copies a series in, its chunks' offsets
 * moved to where it lands; the file is the one segw_add() would write.
 *
 * Recovery: until the manifest names the file it is not live; a crash in
 * here leaves an orphan that the next open deletes.
 */
#include "engine/segment.h"

#include "engine/alloc.h"
#include "engine/buf.h"
#include "engine/err.h"
#include "engine/os.h"
#include "engine/segment_format.h"
#include "engine/varint.h"
#include "strata.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#define OUT_FLUSH (1u << 20)

typedef struct sw_series {
    uint32_t sid, first_chunk, nchunks;
    uint8_t type;
    uint64_t data_off;
} sw_series;

/* Where encoded chunks go: their bytes onto out, whose first byte is at
 * offset base (of the file for a writer, of the prepared bytes for a
 * seg_prep), their metadata onto ch (data_off at that offset). */
typedef struct chunk_sink {
    buf out;
    uint64_t base;
    chunk_meta *ch;
    uint64_t nch, cap_ch;
} chunk_sink;

struct seg_writer {
    char path[4096];
    int fd;
    uint64_t id;
    int64_t part_first, part_last;
    chunk_sink k; /* k.out: bytes not yet written; k.base: bytes in the file */
    sw_series *ser;
    uint32_t nser, cap_ser;
    uint64_t points;
    int64_t tmin, tmax;
    int policy; /* enum chunk_policy */
    segw_reuse_fn reuse;
    void *reuse_ctx;
    uint64_t reused;
    int completed;      /* segw_complete() wrote index and footer */
    uint64_t index_len; /* then: the index's length */
};

static int flush_out(seg_writer *w)
{
    if (!w->k.out.len)
        return STRATA_OK;
    int e = os_pwrite_all(w->fd, w->k.out.p, w->k.out.len, w->k.base);
    if (e < 0)
        return st_err_os(STRATA_IOERR_WRITE, -e, "cannot write segment %s", w->path);
    w->k.base += w->k.out.len;
    w->k.out.len = 0;
    return STRATA_OK;
}

int segw_open(const char *path, uint64_t id, int64_t part_first, int64_t part_last,
              seg_writer **out)
{
    *out = NULL;
    seg_writer *w = st_calloc(1, sizeof *w);
    if (!w)
        return st_err(STRATA_NOMEM, "out of memory writing a segment");
    snprintf(w->path, sizeof w->path, "%s", path);
    w->id = id;
    w->part_first = part_first;
    w->part_last = part_last;
    w->tmin = INT64_MAX;
    w->tmax = INT64_MIN;
    w->fd = os_open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (w->fd < 0) {
        int rc = st_err_os(STRATA_IOERR_OPEN, -w->fd, "cannot create segment %s", path);
        st_free(w);
        return rc;
    }
    /* the buffer grows with the chunks (to OUT_FLUSH and one chunk more):
     * a flush opens a writer per partition, most of them small */
    if (buf_reserve(&w->k.out, SEG_HEADER_SIZE)) {
        segw_abort(w);
        return st_err(STRATA_NOMEM, "out of memory writing a segment");
    }
    uint8_t *p = w->k.out.p;
    memcpy(p, SEG_MAGIC, 8);
    p += 8;
    put_u32(&p, SEG_VERSION);
    put_u32(&p, 0);
    put_u64(&p, id);
    put_u64(&p, (uint64_t)part_first);
    put_u64(&p, (uint64_t)part_last);
    put_u64(&p, 0);
    put_u64(&p, 0);
    put_u64(&p, XXH3_64bits(w->k.out.p, 56));
    buf_commit(&w->k.out, p);
    *out = w;
    return STRATA_OK;
}

void segw_set_policy(seg_writer *w, int policy)
{
    w->policy = policy;
}

void segw_set_reuse(seg_writer *w, segw_reuse_fn fn, void *ctx)
{
    w->reuse = fn;
    w->reuse_ctx = ctx;
}

/* The width of partition [first, last] in ns (INT64_MAX when wider). */
static int64_t part_width(int64_t first, int64_t last)
{
    int64_t ns = (int64_t)((uint64_t)last - (uint64_t)first + 1);
    return ns <= 0 ? INT64_MAX : ns;
}

/* Room in k for nch more chunks of at most bytes bytes in all. */
static int sink_room(chunk_sink *k, uint64_t nch, size_t bytes)
{
    if (buf_reserve(&k->out, bytes))
        return -1;
    if (k->nch + nch > k->cap_ch) {
        uint64_t cap = k->cap_ch ? k->cap_ch : 1024;
        while (cap < k->nch + nch)
            cap *= 2;
        chunk_meta *c = st_realloc(k->ch, (size_t)cap * sizeof *c);
        if (!c)
            return -1;
        k->ch = c;
        k->cap_ch = cap;
    }
    return 0;
}

/* The chunks of one series (n >= 1 points of a partition part_ns wide)
 * onto k; *nchunks counts them.  With w (whose sink k is), the bytes are
 * written out whenever they pass OUT_FLUSH and reuse is asked first. */
static int sink_series(chunk_sink *k, seg_writer *w, uint8_t type, const int64_t *ts,
                       const uint64_t *v, size_t n, int64_t part_ns, uint32_t *nchunks)
{
    int policy = w ? w->policy : CHUNK_BEST;
    segw_reuse_fn reuse = w && chunk_policy_in_force(policy) == CHUNK_BEST ? w->reuse : NULL;
    int64_t grid = chunk_grid(ts, n, part_ns);
    size_t i = 0;
    while (i < n) {
        size_t span = chunk_span(ts + i, n - i, grid);
        size_t bound = chunk_bound(type, span);
        if (sink_room(k, 1, bound))
            return st_err(STRATA_NOMEM, "out of memory writing a segment");
        chunk_meta *m = &k->ch[k->nch];
        const uint8_t *pre;
        if (reuse && reuse(w->reuse_ctx, ts + i, v + i, span, m, &pre) &&
            chunk_stored_len(m) <= bound) {
            memcpy(buf_cursor(&k->out), pre, chunk_stored_len(m));
            k->out.len += chunk_stored_len(m);
            w->reused++;
        } else {
            k->out.len += chunk_encode(type, ts + i, v + i, span, policy, buf_cursor(&k->out), m);
        }
        m->data_off = k->base + k->out.len - chunk_stored_len(m);
        k->nch++;
        (*nchunks)++;
        i += span;
        if (w && k->out.len >= OUT_FLUSH) {
            int rc = flush_out(w);
            if (rc != STRATA_OK)
                return rc;
        }
    }
    return STRATA_OK;
}

/* A new entry in w's series table, its data starting where the next
 * bytes go. */
static sw_series *series_entry(seg_writer *w, uint32_t sid, uint8_t type)
{
    if (w->nser == w->cap_ser) {
        uint32_t cap = w->cap_ser ? w->cap_ser * 2 : 256;
        sw_series *s = st_realloc(w->ser, (size_t)cap * sizeof *s);
        if (!s)
            return NULL;
        w->ser = s;
        w->cap_ser = cap;
    }
    sw_series *s = &w->ser[w->nser];
    *s = (sw_series){sid, (uint32_t)w->k.nch, 0, type, w->k.base + w->k.out.len};
    return s;
}

/* A series entry is complete: count it. */
static void series_added(seg_writer *w, uint64_t points, int64_t tmin, int64_t tmax)
{
    w->nser++;
    w->points += points;
    if (tmin < w->tmin)
        w->tmin = tmin;
    if (tmax > w->tmax)
        w->tmax = tmax;
}

int segw_add(seg_writer *w, uint32_t sid, uint8_t type, const int64_t *ts, const uint64_t *v,
             size_t n)
{
    if (n == 0)
        return STRATA_OK;
    sw_series *s = series_entry(w, sid, type);
    if (!s)
        return st_err(STRATA_NOMEM, "out of memory writing a segment");
    int rc =
        sink_series(&w->k, w, type, ts, v, n, part_width(w->part_first, w->part_last), &s->nchunks);
    if (rc != STRATA_OK)
        return rc;
    series_added(w, n, ts[0], ts[n - 1]);
    return STRATA_OK;
}

/* ---- series prepared away from their writer ------------------------------------- */

typedef struct prep_series {
    uint32_t sid;
    uint8_t type;
    int64_t part_first, part_last;
    uint64_t first_chunk;
    uint32_t nchunks;
    uint64_t off, len; /* its bytes in k.out */
    uint64_t points;
    int64_t tmin, tmax;
} prep_series;

struct seg_prep {
    chunk_sink k;
    prep_series *s;
    size_t n, cap;
};

seg_prep *segp_new(void)
{
    return st_calloc(1, sizeof(seg_prep));
}

void segp_free(seg_prep *p)
{
    if (!p)
        return;
    buf_free(&p->k.out);
    st_free(p->k.ch);
    st_free(p->s);
    st_free(p);
}

int segp_add(seg_prep *p, int64_t part_first, int64_t part_last, uint32_t sid, uint8_t type,
             const int64_t *ts, const uint64_t *v, size_t n)
{
    if (n == 0)
        return STRATA_OK;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        prep_series *a = st_realloc(p->s, cap * sizeof *a);
        if (!a)
            return st_err(STRATA_NOMEM, "out of memory writing a segment");
        p->s = a;
        p->cap = cap;
    }
    prep_series *e = &p->s[p->n];
    *e = (prep_series){.sid = sid,
                       .type = type,
                       .part_first = part_first,
                       .part_last = part_last,
                       .first_chunk = p->k.nch,
                       .off = p->k.out.len,
                       .points = n,
                       .tmin = ts[0],
                       .tmax = ts[n - 1]};
    int rc =
        sink_series(&p->k, NULL, type, ts, v, n, part_width(part_first, part_last), &e->nchunks);
    if (rc != STRATA_OK)
        return rc;
    e->len = p->k.out.len - e->off;
    p->n++;
    return STRATA_OK;
}

size_t segp_count(const seg_prep *p)
{
    return p->n;
}

void segp_partition(const seg_prep *p, size_t i, int64_t *first, int64_t *last)
{
    *first = p->s[i].part_first;
    *last = p->s[i].part_last;
}

int segw_add_prepared(seg_writer *w, const seg_prep *p, size_t i)
{
    const prep_series *e = &p->s[i];
    if (e->part_first != w->part_first || e->part_last != w->part_last)
        return st_err(STRATA_MISUSE, "a series prepared for another partition");
    sw_series *s = series_entry(w, e->sid, e->type);
    if (!s || sink_room(&w->k, e->nchunks, e->len))
        return st_err(STRATA_NOMEM, "out of memory writing a segment");
    for (uint32_t c = 0; c < e->nchunks; c++) {
        chunk_meta *m = &w->k.ch[w->k.nch++];
        *m = p->k.ch[e->first_chunk + c];
        m->data_off = m->data_off - e->off + s->data_off;
    }
    s->nchunks = e->nchunks;
    memcpy(buf_cursor(&w->k.out), p->k.out.p + e->off, e->len);
    w->k.out.len += e->len;
    series_added(w, e->points, e->tmin, e->tmax);
    return w->k.out.len >= OUT_FLUSH ? flush_out(w) : STRATA_OK;
}

static int time_exp(const seg_writer *w, uint64_t *unit)
{
    int e = SEG_MAX_TIME_EXP;
    while (e > 0 && w->part_first % seg_time_unit(e) != 0)
        e--;
    for (uint64_t i = 0; i < w->k.nch && e > 0; i++)
        while (e > 0 &&
               (w->k.ch[i].tmin % seg_time_unit(e) != 0 || w->k.ch[i].tmax % seg_time_unit(e) != 0))
            e--;
    *unit = (uint64_t)seg_time_unit(e);
    return e;
}

static const double pow10s[SEG_DEC_MAX_E + 1] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14};

/* The integer N with seg_dec_value(N, e) == bits: 0, or -1 when none. */
static int dec_scale(uint64_t bits, unsigned e, int64_t *n)
{
    double v;
    memcpy(&v, &bits, 8);
    double t = v * pow10s[e];
    if (!(fabs(t) < (double)SEG_DEC_LIMIT))
        return -1;
    *n = (int64_t)rint(t);
    return seg_dec_value(*n, e) == bits ? 0 : -1;
}

/* Per chunk list: what the next entry is encoded against. */
typedef struct prev_entry {
    int have;
    uint64_t count, span, last;
    uint8_t codecs;
    int e;         /* decimal form of the float64 statistics, -1 raw */
    int64_t nlast; /* its N of `last` */
} prev_entry;

/* float64 statistics in decimal form when first, last, min and max are
 * all decimals of one exponent (the previous entry's if it fits, else the
 * smallest); returns the exponent or -1. */
static int f64_form(const chunk_stats *st, const prev_entry *pv, int64_t nv[4])
{
    if (st->nan_count >= st->count)
        return -1;
    const uint64_t v[4] = {st->first, st->last, st->min, st->max};
    for (int k = -1; k <= SEG_DEC_MAX_E; k++) {
        int e = k < 0 ? (pv->have ? pv->e : -1) : k;
        if (e < 0)
            continue;
        int ok = 1;
        for (int j = 0; j < 4 && ok; j++)
            ok = dec_scale(v[j], (unsigned)e, &nv[j]) == 0;
        if (ok)
            return e;
    }
    return -1;
}

/* floor((a + b) / 2) without overflow. */
static int64_t mid(int64_t a, int64_t b)
{
    return (a >> 1) + (b >> 1) + (a & b & 1);
}

static void put_f64_stats(uint8_t **p, const chunk_stats *st, int e, int same_e,
                          const int64_t nv[4], const prev_entry *pv)
{
    if (e >= 0 && !same_e)
        put_u8(p, (uint8_t)e);
    if (st->nan_count)
        put_varint(p, st->nan_count);
    if (e < 0) {
        put_u64(p, st->min);
        put_u64(p, st->max);
        put_u64(p, st->sum);
        put_u64(p, st->first);
        put_u64(p, st->last);
        return;
    }
    int64_t nf = nv[0], nl = nv[1], nmin = nv[2], nmax = nv[3];
    uint64_t pred = 0;
    if (pv->have && pv->e >= 0 && pv->e <= e) {
        pred = (uint64_t)pv->nlast;
        for (int k = pv->e; k < e; k++)
            pred *= 10;
    }
    double sum, t;
    memcpy(&sum, &st->sum, 8);
    t = sum * pow10s[e];
    int64_t q = fabs(t) < (double)SEG_DEC_LIMIT ? (int64_t)rint(t) : 0;
    uint64_t k = (uint64_t)st->count - st->nan_count;
    put_svarint(p, (int64_t)((uint64_t)nf - pred));
    put_svarint(p, (int64_t)((uint64_t)nl - (uint64_t)nf));
    put_varint(p, (uint64_t)((nf < nl ? nf : nl) - nmin));
    put_varint(p, (uint64_t)(nmax - (nf > nl ? nf : nl)));
    put_svarint(p, (int64_t)((uint64_t)q - k * (uint64_t)mid(nf, nl)));
    put_svarint(p, (int64_t)(st->sum - seg_dec_value(q, (unsigned)e)));
}

static void put_i64_stats(uint8_t **p, const chunk_stats *st, const prev_entry *pv)
{
    int64_t f = (int64_t)st->first, l = (int64_t)st->last;
    put_svarint(p, (int64_t)(st->first - (pv->have ? pv->last : 0)));
    put_svarint(p, (int64_t)(st->last - st->first));
    put_varint(p, (uint64_t)(f < l ? f : l) - st->min);
    put_varint(p, st->max - (uint64_t)(f > l ? f : l));
    put_svarint(p, (int64_t)(st->sum - (uint64_t)st->count * (uint64_t)mid(f, l)));
}

/* One version-2 chunk entry (FORMAT.md §5.4). */
static void put_entry(uint8_t **pp, uint8_t type, const chunk_meta *m, uint64_t dt, uint64_t span,
                      prev_entry *pv)
{
    uint8_t *p = *pp, *flags = p;
    const chunk_stats *st = &m->st;
    uint8_t fl = 0, codecs = (uint8_t)(m->ts_codec << 4 | m->val_codec);
    int64_t nv[4];
    int e = -1, same_e = 0;
    if (pv->have && pv->count == st->count)
        fl |= SEG_E_SAME_COUNT;
    if (pv->have && pv->span == span)
        fl |= SEG_E_SAME_SPAN;
    if (m->ts_len == 0)
        fl |= SEG_E_NO_TS;
    if (pv->have && pv->codecs == codecs)
        fl |= SEG_E_SAME_CODECS;
    if (m->zlen)
        fl |= SEG_E_LZ4;
    if (type == STRATA_F64) {
        e = f64_form(st, pv, nv);
        same_e = e >= 0 && pv->have && pv->e == e;
        unsigned form = e < 0 ? SEG_E_F64_RAW : same_e ? SEG_E_F64_DEC_SAME : SEG_E_F64_DEC;
        fl |= (uint8_t)(form << SEG_E_F64_FORM_SHIFT) | (st->nan_count ? 0 : SEG_E_F64_NO_NAN);
    } else if (type == STRATA_I64) {
        fl |= st->flags & SEG_STAT_SUM_OVERFLOW ? SEG_E_I64_OVERFLOW : 0;
    } else {
        fl |= (st->first & 1 ? SEG_E_BOOL_FIRST : 0) | (st->last & 1 ? SEG_E_BOOL_LAST : 0);
    }
    p += 1;
    if (!(fl & SEG_E_SAME_CODECS))
        put_u8(&p, codecs);
    if (!(fl & SEG_E_SAME_COUNT))
        put_varint(&p, st->count);
    put_varint(&p, dt);
    if (!(fl & SEG_E_SAME_SPAN))
        put_varint(&p, span);
    if (m->ts_len)
        put_varint(&p, m->ts_len);
    put_varint(&p, m->val_len);
    if (m->zlen)
        put_varint(&p, m->zlen);
    if (type == STRATA_F64)
        put_f64_stats(&p, st, e, same_e, nv, pv);
    else if (type == STRATA_I64)
        put_i64_stats(&p, st, pv);
    else
        put_varint(&p, st->sum);
    put_u32(&p, m->checksum);
    *flags = fl;
    *pp = p;
    *pv = (prev_entry){1, st->count, span, st->last, codecs, e, e >= 0 ? nv[1] : 0};
}

/* The chunk lists, one per series; list_off[s] receives where each starts. */
static int encode_index(seg_writer *w, buf *ix, int *exp, uint32_t *list_off)
{
    uint64_t q;
    *exp = time_exp(w, &q);
    for (uint32_t s = 0; s < w->nser; s++) {
        sw_series *ser = &w->ser[s];
        list_off[s] = (uint32_t)ix->len;
        if (buf_reserve(ix, 1))
            return -1;
        ix->p[ix->len++] = ser->type;
        uint64_t prev = (uint64_t)w->part_first;
        prev_entry pv = {0};
        for (uint32_t c = 0; c < ser->nchunks; c++) {
            const chunk_meta *m = &w->k.ch[ser->first_chunk + c];
            if (buf_reserve(ix, 12 * VARINT_MAX + 48))
                return -1;
            uint8_t *p = buf_cursor(ix);
            put_entry(&p, ser->type, m, ((uint64_t)m->tmin - prev) / q,
                      ((uint64_t)m->tmax - (uint64_t)m->tmin) / q, &pv);
            buf_commit(ix, p);
            prev = (uint64_t)m->tmax;
        }
    }
    return 0;
}

int segw_complete(seg_writer *w)
{
    if (w->completed)
        return STRATA_OK;
    buf ix = {0};
    int exp;
    int rc = STRATA_OK;
    uint64_t index_off = w->k.base + w->k.out.len;
    uint32_t *list_off = st_malloc(((size_t)w->nser + 1) * sizeof *list_off);
    if (!list_off) {
        rc = st_err(STRATA_NOMEM, "out of memory writing a segment index");
        goto fail;
    }
    if (encode_index(w, &ix, &exp, list_off)) {
        rc = st_err(STRATA_NOMEM, "out of memory writing a segment index");
        goto fail;
    }
    if (ix.len > UINT32_MAX) {
        rc = st_err(STRATA_FULL, "segment index larger than 4 GiB");
        goto fail;
    }
    if (buf_reserve(&ix, (size_t)w->nser * SEG_TABLE_ENTRY)) {
        rc = st_err(STRATA_NOMEM, "out of memory writing a segment index");
        goto fail;
    }
    uint8_t *p = buf_cursor(&ix);
    for (uint32_t s = 0; s < w->nser; s++) {
        put_u64(&p, w->ser[s].sid);
        put_u64(&p, w->ser[s].data_off);
        put_u32(&p, list_off[s]);
        put_u32(&p, w->ser[s].nchunks);
    }
    buf_commit(&ix, p);

    rc = flush_out(w);
    if (rc != STRATA_OK)
        goto fail;
    if (buf_append(&w->k.out, ix.p, ix.len) || buf_reserve(&w->k.out, SEG_FOOTER_SIZE)) {
        rc = st_err(STRATA_NOMEM, "out of memory writing a segment index");
        goto fail;
    }
    uint8_t *f = buf_cursor(&w->k.out);
    p = f;
    put_u64(&p, index_off);
    put_u64(&p, ix.len);
    put_u64(&p, w->k.nch);
    put_u64(&p, w->points);
    put_u64(&p, (uint64_t)w->tmin);
    put_u64(&p, (uint64_t)w->tmax);
    put_u32(&p, w->nser);
    put_u8(&p, (uint8_t)exp);
    put_u8(&p, 0);
    put_u16(&p, 0);
    put_u64(&p, XXH3_64bits(ix.p, ix.len));
    put_u64(&p, XXH3_64bits(f, 64));
    memcpy(p, SEG_MAGIC, 8);
    p += 8;
    buf_commit(&w->k.out, p);
    rc = flush_out(w);
    if (rc != STRATA_OK)
        goto fail;
    os_start_writeback(w->fd);
    w->completed = 1;
    w->index_len = ix.len;
fail:
    st_free(list_off);
    buf_free(&ix);
    return rc;
}

int segw_finish(seg_writer *w, seg_info *info)
{
    int rc = segw_complete(w);
    if (rc != STRATA_OK) {
        segw_abort(w);
        return rc;
    }
    int e = os_fsync(w->fd);
    if (e < 0) {
        rc = st_err_os(STRATA_IOERR_FSYNC, -e, "cannot sync segment %s", w->path);
        segw_abort(w);
        return rc;
    }
    if (info)
        *info = (seg_info){w->id,     w->part_first, w->part_last, w->tmin, w->tmax,  w->k.base,
                           w->points, w->k.nch,      w->index_len, w->nser, w->reused};
    os_close(w->fd);
    w->fd = -1;
    buf_free(&w->k.out);
    st_free(w->ser);
    st_free(w->k.ch);
    st_free(w);
    return STRATA_OK;
}

void segw_abort(seg_writer *w)
{
    if (!w)
        return;
    if (w->fd >= 0) {
        os_close(w->fd);
        os_unlink(w->path);
    }
    buf_free(&w->k.out);
    st_free(w->ser);
    st_free(w->k.ch);
    st_free(w);
}
