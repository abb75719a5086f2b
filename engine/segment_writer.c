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
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#define OUT_FLUSH (1u << 20)

typedef struct sw_series {
    uint32_t sid, first_chunk, nchunks;
    uint8_t type;
    uint64_t data_off;
} sw_series;

struct seg_writer {
    char path[4096];
    int fd;
    uint64_t id;
    int64_t part_first, part_last;
    buf out;          /* bytes not yet written; they start at file offset `written` */
    uint64_t written; /* bytes already in the file */
    sw_series *ser;
    uint32_t nser, cap_ser;
    chunk_meta *ch;
    uint64_t nch, cap_ch;
    uint64_t points;
    int64_t tmin, tmax;
};

static int flush_out(seg_writer *w)
{
    if (!w->out.len)
        return STRATA_OK;
    int e = os_pwrite_all(w->fd, w->out.p, w->out.len, w->written);
    if (e < 0)
        return st_err_os(STRATA_IOERR_WRITE, -e, "cannot write segment %s", w->path);
    w->written += w->out.len;
    w->out.len = 0;
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
    if (buf_reserve(&w->out, OUT_FLUSH + SEG_HEADER_SIZE)) {
        segw_abort(w);
        return st_err(STRATA_NOMEM, "out of memory writing a segment");
    }
    uint8_t *p = w->out.p;
    memcpy(p, SEG_MAGIC, 8);
    p += 8;
    put_u32(&p, SEG_VERSION);
    put_u32(&p, 0);
    put_u64(&p, id);
    put_u64(&p, (uint64_t)part_first);
    put_u64(&p, (uint64_t)part_last);
    put_u64(&p, 0);
    put_u64(&p, 0);
    put_u64(&p, XXH3_64bits(w->out.p, 56));
    buf_commit(&w->out, p);
    *out = w;
    return STRATA_OK;
}

int segw_add(seg_writer *w, uint32_t sid, uint8_t type, const int64_t *ts, const uint64_t *v,
             size_t n)
{
    if (n == 0)
        return STRATA_OK;
    if (w->nser == w->cap_ser) {
        uint32_t cap = w->cap_ser ? w->cap_ser * 2 : 256;
        sw_series *s = st_realloc(w->ser, (size_t)cap * sizeof *s);
        if (!s)
            return st_err(STRATA_NOMEM, "out of memory writing a segment");
        w->ser = s;
        w->cap_ser = cap;
    }
    sw_series *s = &w->ser[w->nser];
    *s = (sw_series){sid, (uint32_t)w->nch, 0, type, w->written + w->out.len};
    int64_t part_ns = (int64_t)((uint64_t)w->part_last - (uint64_t)w->part_first + 1);
    if (part_ns <= 0)
        part_ns = INT64_MAX;
    int64_t grid = chunk_grid(ts, n, part_ns);
    size_t i = 0;
    while (i < n) {
        size_t k = chunk_span(ts + i, n - i, grid);
        size_t bound = chunk_bound(type, k);
        if (buf_reserve(&w->out, bound))
            return st_err(STRATA_NOMEM, "out of memory writing a segment");
        if (w->nch == w->cap_ch) {
            uint64_t cap = w->cap_ch ? w->cap_ch * 2 : 1024;
            chunk_meta *c = st_realloc(w->ch, (size_t)cap * sizeof *c);
            if (!c)
                return st_err(STRATA_NOMEM, "out of memory writing a segment");
            w->ch = c;
            w->cap_ch = cap;
        }
        chunk_meta *m = &w->ch[w->nch];
        m->data_off = w->written + w->out.len;
        w->out.len += chunk_encode(type, ts + i, v + i, k, buf_cursor(&w->out), m);
        w->nch++;
        s->nchunks++;
        i += k;
        if (w->out.len >= OUT_FLUSH) {
            int rc = flush_out(w);
            if (rc != STRATA_OK)
                return rc;
        }
    }
    w->nser++;
    w->points += n;
    if (ts[0] < w->tmin)
        w->tmin = ts[0];
    if (ts[n - 1] > w->tmax)
        w->tmax = ts[n - 1];
    return STRATA_OK;
}

static int time_exp(const seg_writer *w, uint64_t *unit)
{
    int e = SEG_MAX_TIME_EXP;
    while (e > 0 && w->part_first % seg_time_unit(e) != 0)
        e--;
    for (uint64_t i = 0; i < w->nch && e > 0; i++)
        while (e > 0 && (w->ch[i].tmin % seg_time_unit(e) != 0 ||
                         w->ch[i].tmax % seg_time_unit(e) != 0))
            e--;
    *unit = (uint64_t)seg_time_unit(e);
    return e;
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
        for (uint32_t c = 0; c < ser->nchunks; c++) {
            const chunk_meta *m = &w->ch[ser->first_chunk + c];
            if (buf_reserve(ix, 12 * VARINT_MAX + 48))
                return -1;
            uint8_t *p = buf_cursor(ix);
            put_varint(&p, m->st.count);
            put_varint(&p, ((uint64_t)m->tmin - prev) / q);
            put_varint(&p, ((uint64_t)m->tmax - (uint64_t)m->tmin) / q);
            put_u8(&p, (uint8_t)(m->ts_codec << 4 | m->val_codec));
            put_varint(&p, m->ts_len);
            put_varint(&p, m->val_len);
            const chunk_stats *st = &m->st;
            if (ser->type == STRATA_F64) {
                put_u64(&p, st->min);
                put_u64(&p, st->max);
                put_u64(&p, st->sum);
                put_u64(&p, st->first);
                put_u64(&p, st->last);
                put_varint(&p, st->nan_count);
            } else if (ser->type == STRATA_I64) {
                put_svarint(&p, (int64_t)st->min);
                put_svarint(&p, (int64_t)st->max);
                put_svarint(&p, (int64_t)st->first);
                put_svarint(&p, (int64_t)st->last);
                put_svarint(&p, (int64_t)st->sum);
                put_u8(&p, st->flags);
            } else {
                put_varint(&p, st->sum);
                put_u8(&p, (uint8_t)((st->first & 1) | (st->last & 1) << 1));
            }
            put_u32(&p, m->checksum);
            buf_commit(ix, p);
            prev = (uint64_t)m->tmax;
        }
    }
    return 0;
}

int segw_finish(seg_writer *w, seg_info *info)
{
    buf ix = {0};
    int exp;
    int rc = STRATA_OK;
    uint64_t index_off = w->written + w->out.len;
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
    if (buf_append(&w->out, ix.p, ix.len) || buf_reserve(&w->out, SEG_FOOTER_SIZE)) {
        rc = st_err(STRATA_NOMEM, "out of memory writing a segment index");
        goto fail;
    }
    uint8_t *f = buf_cursor(&w->out);
    p = f;
    put_u64(&p, index_off);
    put_u64(&p, ix.len);
    put_u64(&p, w->nch);
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
    buf_commit(&w->out, p);
    rc = flush_out(w);
    if (rc != STRATA_OK)
        goto fail;
    int e = os_fsync(w->fd);
    if (e < 0) {
        rc = st_err_os(STRATA_IOERR_FSYNC, -e, "cannot sync segment %s", w->path);
        goto fail;
    }
    if (info)
        *info = (seg_info){w->id,   w->part_first, w->part_last, w->tmin,  w->tmax,
                           w->written, w->points,  w->nch,       ix.len, w->nser};
    os_close(w->fd);
    w->fd = -1;
    st_free(list_off);
    buf_free(&ix);
    buf_free(&w->out);
    st_free(w->ser);
    st_free(w->ch);
    st_free(w);
    return STRATA_OK;
fail:
    st_free(list_off);
    buf_free(&ix);
    segw_abort(w);
    return rc;
}

void segw_abort(seg_writer *w)
{
    if (!w)
        return;
    if (w->fd >= 0) {
        os_close(w->fd);
        os_unlink(w->path);
    }
    buf_free(&w->out);
    st_free(w->ser);
    st_free(w->ch);
    st_free(w);
}
