/*
 * manifest.c — the manifest's edit log (FORMAT.md §7).
 *
 *   file   := header edit*
 *   header := "STRATAMF" u32 version u32 flags u64 reserved u64 xxh3(0..23)
 *   edit   := u32 len u8 type(=1) u8[3] 0 payload[len]
 *             u64 xxh3(bytes from len through the payload)
 *   payload:= (u8 tag, value)*        tags: see below; unknown tag = newer
 *                                     format, refused (STRATA_VERSION)
 *
 * An edit at offset o is intact iff it fits in the file, its type is 1 and
 * its checksum matches.  The first edit that is not intact ends the log.
 * It is a torn tail — a crash during the append — and is cut off when no
 * intact edit starts anywhere after it and it is incomplete (it extends
 * past the end of the file) or its checksum bytes are all zero (the file
 * grew but its last page never reached the disk).  Anything else is damage
 * (STRATA_CORRUPT): a complete, non-zero but wrong edit may describe a
 * committed flush whose log was already trimmed, so cutting it would lose
 * data.
 */
#include "engine/manifest.h"

#include "engine/alloc.h"
#include "engine/buf.h"
#include "engine/err.h"
#include "engine/os.h"
#include "engine/varint.h"
#include "strata.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define MAN_MAGIC "STRATAMF"
#define MAN_VERSION 1u
#define MAN_HEADER_SIZE 32u
#define MAN_EDIT_HEAD 8u
#define MAN_EDIT_OVERHEAD 16u
#define MAN_MAX_EDIT (64u << 20)
#define MAN_EDIT_TYPE 1u

enum {
    TAG_PARTITION_NS = 1,
    TAG_DEVICE_TAG = 2,
    TAG_FLUSHED_LSN = 3,
    TAG_CATALOG_LEN = 4,
    TAG_NEXT_SEGMENT_ID = 5,
    TAG_ADD_SEGMENT = 6,
    TAG_REMOVE_SEGMENT = 7,
    TAG_RETENTION_NS = 8,
    TAG_ADD_TOMBSTONE = 12,
    TAG_REMOVE_TOMBSTONE = 13,
    TAG_ROLLUP_TIERS = 14,
    TAG_ADD_ROLLUP = 15,
    TAG_REMOVE_ROLLUP = 16,
    TAG_STALE_ROLLUP = 17,
    TAG_RAW_GONE_BEFORE = 18,
};

struct manifest {
    char path[4096];
    int fd, read_only;
    uint64_t size;
    man_state st;
    size_t segs_cap;
};

static void header_bytes(uint8_t *h)
{
    uint8_t *p = h;
    memcpy(p, MAN_MAGIC, 8);
    p += 8;
    put_u32(&p, MAN_VERSION);
    put_u32(&p, 0);
    put_u64(&p, 0);
    put_u64(&p, XXH3_64bits(h, 24));
}

/* ---- applying edits ------------------------------------------------------- */

static int seg_cmp(const void *a, const void *b)
{
    uint64_t x = ((const man_segment *)a)->id, y = ((const man_segment *)b)->id;
    return x < y ? -1 : x > y;
}

static int add_seg(man_state *st, size_t *cap, const man_segment *s)
{
    for (size_t i = 0; i < st->nsegs; i++)
        if (st->segs[i].id == s->id)
            return -1;
    if (st->nsegs == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        man_segment *n = st_realloc(st->segs, ncap * sizeof *n);
        if (!n)
            return -2;
        st->segs = n;
        *cap = ncap;
    }
    st->segs[st->nsegs++] = *s;
    if (st->nsegs > 1 && st->segs[st->nsegs - 2].id > s->id)
        qsort(st->segs, st->nsegs, sizeof *st->segs, seg_cmp);
    return 0;
}

static int remove_seg(man_state *st, uint64_t id)
{
    for (size_t i = 0; i < st->nsegs; i++)
        if (st->segs[i].id == id) {
            memmove(st->segs + i, st->segs + i + 1, (st->nsegs - i - 1) * sizeof *st->segs);
            st->nsegs--;
            return 0;
        }
    return -1;
}

/* Tombstones are few and kept in ascending id order, appended at the end
 * (a new id must exceed every live one). */
static int add_tomb(man_state *st, const man_tomb *t)
{
    if (st->ntombs && st->tombs[st->ntombs - 1].id >= t->id)
        return -1;
    man_tomb *n = st_realloc(st->tombs, (st->ntombs + 1) * sizeof *n);
    if (!n)
        return -2;
    st->tombs = n;
    st->tombs[st->ntombs++] = *t;
    return 0;
}

static int remove_tomb(man_state *st, uint64_t id)
{
    for (size_t i = 0; i < st->ntombs; i++)
        if (st->tombs[i].id == id) {
            memmove(st->tombs + i, st->tombs + i + 1, (st->ntombs - i - 1) * sizeof *st->tombs);
            st->ntombs--;
            return 0;
        }
    return -1;
}

/* Rollups are few (a handful per tier and tiered range), kept ascending
 * by id. */
static int add_rollup(man_state *st, const man_rollup *r)
{
    for (size_t i = 0; i < st->nsegs; i++)
        if (st->segs[i].id == r->id)
            return -1;
    for (size_t i = 0; i < st->nrollups; i++)
        if (st->rollups[i].id == r->id)
            return -1;
    man_rollup *n = st_realloc(st->rollups, (st->nrollups + 1) * sizeof *n);
    if (!n)
        return -2;
    st->rollups = n;
    size_t i = st->nrollups++;
    while (i > 0 && st->rollups[i - 1].id > r->id) {
        st->rollups[i] = st->rollups[i - 1];
        i--;
    }
    st->rollups[i] = *r;
    return 0;
}

static man_rollup *find_rollup(man_state *st, uint64_t id)
{
    for (size_t i = 0; i < st->nrollups; i++)
        if (st->rollups[i].id == id)
            return &st->rollups[i];
    return NULL;
}

static void put_rollup(uint8_t **p, const man_rollup *r)
{
    put_u8(p, TAG_ADD_ROLLUP);
    put_varint(p, r->id);
    put_svarint(p, r->width_ns);
    put_svarint(p, r->part_first);
    put_svarint(p, r->part_last);
    put_varint(p, r->size);
    put_varint(p, r->rows);
    if (r->stale) {
        put_u8(p, TAG_STALE_ROLLUP);
        put_varint(p, r->id);
    }
}

static void put_tiers(uint8_t **p, const man_tier *t, size_t n)
{
    put_u8(p, TAG_ROLLUP_TIERS);
    put_varint(p, n);
    for (size_t i = 0; i < n; i++) {
        put_svarint(p, t[i].width_ns);
        put_svarint(p, t[i].retention_ns);
    }
}

static void put_tomb(uint8_t **p, const man_tomb *t)
{
    put_u8(p, TAG_ADD_TOMBSTONE);
    put_varint(p, t->id);
    put_varint(p, t->sid);
    put_svarint(p, t->from);
    put_svarint(p, t->to);
    put_varint(p, t->horizon);
}

/* Apply one payload; returns STRATA_OK or an error code with *why set. */
static int apply(man_state *st, size_t *cap, const uint8_t *p, const uint8_t *end,
                 const char **why)
{
    while (p < end) {
        uint8_t tag = *p++;
        uint64_t a, b, c;
        int64_t x, y;
        const uint8_t *bytes;
        switch (tag) {
        case TAG_PARTITION_NS:
            if (get_svarint(&p, end, &x) || x <= 0)
                goto bad;
            st->partition_ns = x;
            break;
        case TAG_DEVICE_TAG:
            if (get_varint(&p, end, &a) || a >= sizeof st->device_tag ||
                get_bytes(&p, end, a, &bytes))
                goto bad;
            memcpy(st->device_tag, bytes, a);
            st->device_tag[a] = '\0';
            break;
        case TAG_FLUSHED_LSN:
            if (get_varint(&p, end, &st->flushed_lsn))
                goto bad;
            break;
        case TAG_CATALOG_LEN:
            if (get_varint(&p, end, &st->catalog_len))
                goto bad;
            break;
        case TAG_NEXT_SEGMENT_ID:
            if (get_varint(&p, end, &st->next_segment_id))
                goto bad;
            break;
        case TAG_ADD_SEGMENT: {
            man_segment s;
            if (get_varint(&p, end, &a) || get_svarint(&p, end, &x) ||
                get_svarint(&p, end, &y) || get_varint(&p, end, &b) || get_varint(&p, end, &c) ||
                y < x)
                goto bad;
            s = (man_segment){a, x, y, b, c};
            int r = add_seg(st, cap, &s);
            if (r == -2) {
                *why = "out of memory";
                return STRATA_NOMEM;
            }
            if (r) {
                *why = "segment added twice";
                return STRATA_CORRUPT_MANIFEST;
            }
            break;
        }
        case TAG_RETENTION_NS:
            if (get_svarint(&p, end, &x) || x < 0)
                goto bad;
            st->retention_ns = x;
            break;
        case TAG_REMOVE_SEGMENT:
            if (get_varint(&p, end, &a))
                goto bad;
            if (remove_seg(st, a)) {
                *why = "removal of a segment that is not live";
                return STRATA_CORRUPT_MANIFEST;
            }
            break;
        case TAG_ADD_TOMBSTONE: {
            man_tomb t;
            if (get_varint(&p, end, &a) || get_varint(&p, end, &b) ||
                get_svarint(&p, end, &x) || get_svarint(&p, end, &y) ||
                get_varint(&p, end, &c) || a == 0 || b > UINT32_MAX || y < x)
                goto bad;
            t = (man_tomb){a, (uint32_t)b, x, y, c};
            int r = add_tomb(st, &t);
            if (r == -2) {
                *why = "out of memory";
                return STRATA_NOMEM;
            }
            if (r) {
                *why = "tombstone id not above the live ones";
                return STRATA_CORRUPT_MANIFEST;
            }
            break;
        }
        case TAG_REMOVE_TOMBSTONE:
            if (get_varint(&p, end, &a))
                goto bad;
            if (remove_tomb(st, a)) {
                *why = "removal of a tombstone that is not live";
                return STRATA_CORRUPT_MANIFEST;
            }
            break;
        case TAG_ROLLUP_TIERS: {
            man_tier t[MAN_MAX_TIERS];
            if (get_varint(&p, end, &a) || a > MAN_MAX_TIERS)
                goto bad;
            for (uint64_t i = 0; i < a; i++) {
                if (get_svarint(&p, end, &t[i].width_ns) ||
                    get_svarint(&p, end, &t[i].retention_ns) || t[i].width_ns <= 0 ||
                    t[i].retention_ns < 0 || (i && t[i].width_ns <= t[i - 1].width_ns))
                    goto bad;
            }
            memcpy(st->tiers, t, (size_t)a * sizeof t[0]);
            st->ntiers = (size_t)a;
            break;
        }
        case TAG_RAW_GONE_BEFORE:
            if (get_svarint(&p, end, &x))
                goto bad;
            if (!st->has_raw_gone || x > st->raw_gone_before)
                st->raw_gone_before = x;
            st->has_raw_gone = 1;
            break;
        case TAG_ADD_ROLLUP: {
            man_rollup r = {0};
            if (get_varint(&p, end, &r.id) || get_svarint(&p, end, &r.width_ns) ||
                get_svarint(&p, end, &r.part_first) || get_svarint(&p, end, &r.part_last) ||
                get_varint(&p, end, &r.size) || get_varint(&p, end, &r.rows) ||
                r.width_ns <= 0 || r.part_last < r.part_first || r.id == 0)
                goto bad;
            int x2 = add_rollup(st, &r);
            if (x2 == -2) {
                *why = "out of memory";
                return STRATA_NOMEM;
            }
            if (x2) {
                *why = "rollup segment added twice";
                return STRATA_CORRUPT_MANIFEST;
            }
            break;
        }
        case TAG_REMOVE_ROLLUP:
        case TAG_STALE_ROLLUP: {
            if (get_varint(&p, end, &a))
                goto bad;
            man_rollup *r = find_rollup(st, a);
            if (!r) {
                *why = "edit of a rollup segment that is not live";
                return STRATA_CORRUPT_MANIFEST;
            }
            if (tag == TAG_STALE_ROLLUP) {
                r->stale = 1;
            } else {
                size_t i = (size_t)(r - st->rollups);
                memmove(r, r + 1, (st->nrollups - i - 1) * sizeof *r);
                st->nrollups--;
            }
            break;
        }
        default:
            *why = "unknown edit field (written by a newer version?)";
            return STRATA_VERSION;
        }
    }
    return STRATA_OK;
bad:
    *why = "malformed edit";
    return STRATA_CORRUPT_MANIFEST;
}

static int encode_edit(buf *b, const man_state *settings, const man_edit *e)
{
    size_t need = MAN_EDIT_OVERHEAD + 300 + 6 * VARINT_MAX +
                  (2 * MAN_MAX_TIERS + 2) * VARINT_MAX +
                  (e ? (e->nadd * 6 + e->nremove * 2 + e->nadd_tombs * 6 +
                        e->nremove_tombs * 2 + e->nadd_rollups * 9 + e->nremove_rollups * 2 +
                        e->nstale_rollups * 2) * VARINT_MAX : 0) +
                  (settings ? (settings->nsegs + settings->ntombs + 2 * settings->nrollups) *
                                  6 * VARINT_MAX : 0);
    if (buf_reserve(b, need))
        return -1;
    uint8_t *start = buf_cursor(b), *p = start + MAN_EDIT_HEAD;
    if (settings) {
        put_u8(&p, TAG_PARTITION_NS);
        put_svarint(&p, settings->partition_ns);
        size_t n = strlen(settings->device_tag);
        put_u8(&p, TAG_DEVICE_TAG);
        put_varint(&p, n);
        memcpy(p, settings->device_tag, n);
        p += n;
        put_u8(&p, TAG_FLUSHED_LSN);
        put_varint(&p, settings->flushed_lsn);
        put_u8(&p, TAG_CATALOG_LEN);
        put_varint(&p, settings->catalog_len);
        put_u8(&p, TAG_NEXT_SEGMENT_ID);
        put_varint(&p, settings->next_segment_id);
        if (settings->retention_ns) {
            put_u8(&p, TAG_RETENTION_NS);
            put_svarint(&p, settings->retention_ns);
        }
        for (size_t i = 0; i < settings->nsegs; i++) {
            const man_segment *s = &settings->segs[i];
            put_u8(&p, TAG_ADD_SEGMENT);
            put_varint(&p, s->id);
            put_svarint(&p, s->part_first);
            put_svarint(&p, s->part_last);
            put_varint(&p, s->size);
            put_varint(&p, s->points);
        }
        for (size_t i = 0; i < settings->ntombs; i++)
            put_tomb(&p, &settings->tombs[i]);
        if (settings->ntiers)
            put_tiers(&p, settings->tiers, settings->ntiers);
        if (settings->has_raw_gone) {
            put_u8(&p, TAG_RAW_GONE_BEFORE);
            put_svarint(&p, settings->raw_gone_before);
        }
        for (size_t i = 0; i < settings->nrollups; i++)
            put_rollup(&p, &settings->rollups[i]);
    }
    if (e) {
        for (size_t i = 0; i < e->nadd; i++) {
            const man_segment *s = &e->add[i];
            put_u8(&p, TAG_ADD_SEGMENT);
            put_varint(&p, s->id);
            put_svarint(&p, s->part_first);
            put_svarint(&p, s->part_last);
            put_varint(&p, s->size);
            put_varint(&p, s->points);
        }
        for (size_t i = 0; i < e->nremove; i++) {
            put_u8(&p, TAG_REMOVE_SEGMENT);
            put_varint(&p, e->remove[i]);
        }
        for (size_t i = 0; i < e->nadd_tombs; i++)
            put_tomb(&p, &e->add_tombs[i]);
        for (size_t i = 0; i < e->nremove_tombs; i++) {
            put_u8(&p, TAG_REMOVE_TOMBSTONE);
            put_varint(&p, e->remove_tombs[i]);
        }
        if (e->flushed_lsn) {
            put_u8(&p, TAG_FLUSHED_LSN);
            put_varint(&p, e->flushed_lsn);
        }
        if (e->catalog_len) {
            put_u8(&p, TAG_CATALOG_LEN);
            put_varint(&p, e->catalog_len);
        }
        if (e->next_segment_id) {
            put_u8(&p, TAG_NEXT_SEGMENT_ID);
            put_varint(&p, e->next_segment_id);
        }
        if (e->set_retention) {
            put_u8(&p, TAG_RETENTION_NS);
            put_svarint(&p, e->retention_ns);
        }
        if (e->set_tiers)
            put_tiers(&p, e->tiers, e->ntiers);
        if (e->set_raw_gone) {
            put_u8(&p, TAG_RAW_GONE_BEFORE);
            put_svarint(&p, e->raw_gone_before);
        }
        for (size_t i = 0; i < e->nremove_rollups; i++) {
            put_u8(&p, TAG_REMOVE_ROLLUP);
            put_varint(&p, e->remove_rollups[i]);
        }
        for (size_t i = 0; i < e->nadd_rollups; i++)
            put_rollup(&p, &e->add_rollups[i]);
        for (size_t i = 0; i < e->nstale_rollups; i++) {
            put_u8(&p, TAG_STALE_ROLLUP);
            put_varint(&p, e->stale_rollups[i]);
        }
    }
    size_t len = (size_t)(p - start) - MAN_EDIT_HEAD;
    uint8_t *h = start;
    put_u32(&h, (uint32_t)len);
    put_u8(&h, MAN_EDIT_TYPE);
    put_u8(&h, 0);
    put_u16(&h, 0);
    put_u64(&p, XXH3_64bits(start, MAN_EDIT_HEAD + len));
    buf_commit(b, p);
    return 0;
}

/* ---- reading ---------------------------------------------------------------- */

static int edit_intact(const uint8_t *base, size_t size, size_t off)
{
    if (size - off < MAN_EDIT_OVERHEAD)
        return 0;
    uint32_t len = load_u32(base + off);
    if (len > MAN_MAX_EDIT || (uint64_t)len + MAN_EDIT_OVERHEAD > size - off ||
        base[off + 4] != MAN_EDIT_TYPE)
        return 0;
    return XXH3_64bits(base + off, MAN_EDIT_HEAD + len) ==
           load_u64(base + off + MAN_EDIT_HEAD + len);
}

/* Does the non-intact edit at off look like an interrupted append? */
static int edit_torn(const uint8_t *base, size_t size, size_t off)
{
    if (size - off < MAN_EDIT_OVERHEAD)
        return 1;
    uint32_t len = load_u32(base + off);
    if ((uint64_t)len + MAN_EDIT_OVERHEAD > size - off)
        return 1;
    return load_u64(base + off + MAN_EDIT_HEAD + len) == 0;
}

/* Walk the file; fills st.  Returns STRATA_OK with *cut = offset of a torn
 * tail (or size), or an error with *why and *where. */
static int load(const uint8_t *base, size_t size, man_state *st, size_t *cap, size_t *cut,
                const char **why, size_t *where)
{
    *where = 0;
    if (size < MAN_HEADER_SIZE || memcmp(base, MAN_MAGIC, 8) != 0 ||
        XXH3_64bits(base, 24) != load_u64(base + 24)) {
        *why = "damaged header";
        return STRATA_CORRUPT_MANIFEST;
    }
    if (load_u32(base + 8) != MAN_VERSION) {
        *why = "unsupported manifest format version";
        return STRATA_VERSION;
    }
    size_t off = MAN_HEADER_SIZE;
    while (off < size) {
        *where = off;
        if (!edit_intact(base, size, off)) {
            for (size_t p = off + 1; p + MAN_EDIT_OVERHEAD <= size; p++)
                if (edit_intact(base, size, p)) {
                    *why = "damaged edit followed by intact ones";
                    return STRATA_CORRUPT_MANIFEST;
                }
            if (!edit_torn(base, size, off)) {
                *why = "damaged last edit (complete, so not a torn write)";
                return STRATA_CORRUPT_MANIFEST;
            }
            *cut = off;
            return STRATA_OK;
        }
        uint32_t len = load_u32(base + off);
        int rc = apply(st, cap, base + off + MAN_EDIT_HEAD, base + off + MAN_EDIT_HEAD + len, why);
        if (rc != STRATA_OK)
            return rc;
        off += MAN_EDIT_OVERHEAD + len;
    }
    *cut = size;
    return STRATA_OK;
}

/* The state must make sense before anything trusts it: a partition width
 * (divides timestamps), a log position, a catalog length, and a next
 * segment id above every live one (a reused id would overwrite a live
 * file). */
static const char *state_problem(const man_state *st)
{
    if (st->partition_ns < 1000000000LL)
        return "no valid partition width";
    if (st->flushed_lsn < 1)
        return "no valid flushed log position";
    if (st->catalog_len < 32)
        return "no valid catalog length";
    for (size_t i = 0; i < st->nsegs; i++)
        if (st->segs[i].id >= st->next_segment_id || st->segs[i].id == 0)
            return "a live segment id is not below the next segment id";
    for (size_t i = 0; i < st->ntombs; i++)
        if (st->tombs[i].horizon > st->next_segment_id)
            return "a tombstone's horizon is above the next segment id";
    for (size_t i = 0; i < st->nrollups; i++)
        if (st->rollups[i].id >= st->next_segment_id)
            return "a live rollup segment id is not below the next segment id";
    return NULL;
}

static int write_new_file(const char *path, const man_state *st)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    buf b = {0};
    if (buf_reserve(&b, MAN_HEADER_SIZE))
        return st_err(STRATA_NOMEM, "out of memory writing the manifest");
    header_bytes(b.p);
    b.len = MAN_HEADER_SIZE;
    if (encode_edit(&b, st, NULL)) {
        buf_free(&b);
        return st_err(STRATA_NOMEM, "out of memory writing the manifest");
    }
    int fd = os_open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = fd < 0 ? fd : 0;
    if (fd >= 0) {
        e = os_write_all(fd, b.p, b.len);
        if (e == 0)
            e = os_fsync(fd);
        os_close(fd);
    }
    buf_free(&b);
    if (e < 0)
        return st_err_os(STRATA_IOERR_WRITE, -e, "cannot write %s", tmp);
    e = os_rename(tmp, path);
    if (e < 0)
        return st_err_os(STRATA_IOERR_RENAME, -e, "cannot rename %s to %s", tmp, path);
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    e = os_fsync_dir(slash ? dir : ".");
    if (e < 0)
        return st_err_os(STRATA_IOERR_FSYNC, -e, "cannot sync the directory of %s", path);
    return STRATA_OK;
}

int manifest_create(const char *path, const man_state *initial)
{
    return write_new_file(path, initial);
}

int manifest_open(const char *path, int read_only, manifest **out, uint64_t *torn_bytes)
{
    *out = NULL;
    *torn_bytes = 0;
    manifest *m = st_calloc(1, sizeof *m);
    if (!m)
        return st_err(STRATA_NOMEM, "out of memory opening the manifest");
    snprintf(m->path, sizeof m->path, "%s", path);
    m->read_only = read_only;
    m->fd = -1;
    uint8_t *data;
    size_t size;
    int e = os_read_file(path, &data, &size);
    if (e < 0) {
        st_free(m);
        return st_err_os(STRATA_IOERR_READ, -e, "cannot read manifest %s", path);
    }
    const char *why;
    size_t cut, where;
    int rc = load(data, size, &m->st, &m->segs_cap, &cut, &why, &where);
    st_free(data);
    if (rc != STRATA_OK) {
        rc = st_err(rc, "%s: %s at offset %zu", path, why, where);
        manifest_close(m);
        return rc;
    }
    const char *bad = state_problem(&m->st);
    if (bad) {
        rc = st_err(STRATA_CORRUPT_MANIFEST, "%s: %s", path, bad);
        manifest_close(m);
        return rc;
    }
    *torn_bytes = size - cut;
    m->size = cut;
    if (!read_only) {
        m->fd = os_open(path, O_RDWR, 0);
        if (m->fd < 0) {
            rc = st_err_os(STRATA_IOERR_OPEN, -m->fd, "cannot open manifest %s", path);
            manifest_close(m);
            return rc;
        }
        if (cut < size) {
            e = os_ftruncate(m->fd, cut);
            if (e == 0)
                e = os_fsync(m->fd);
            if (e < 0) {
                rc = st_err_os(STRATA_IOERR_TRUNCATE, -e, "cannot cut the torn tail of %s", path);
                manifest_close(m);
                return rc;
            }
        }
    }
    *out = m;
    return STRATA_OK;
}

void manifest_close(manifest *m)
{
    if (!m)
        return;
    if (m->fd >= 0)
        os_close(m->fd);
    st_free(m->st.segs);
    st_free(m->st.tombs);
    st_free(m->st.rollups);
    st_free(m);
}

const man_state *manifest_state(const manifest *m)
{
    return &m->st;
}

uint64_t manifest_file_size(const manifest *m)
{
    return m->size;
}

int manifest_commit(manifest *m, const man_edit *e)
{
    if (m->read_only)
        return st_err(STRATA_MISUSE_READONLY, "manifest is open read-only");
    buf b = {0};
    if (encode_edit(&b, NULL, e)) {
        buf_free(&b);
        return st_err(STRATA_NOMEM, "out of memory writing the manifest");
    }
    /* Apply to a copy first, so a malformed edit changes nothing. */
    man_state next = m->st;
    size_t cap = m->st.nsegs + e->nadd + 1;
    next.segs = st_malloc(cap * sizeof *next.segs);
    if (!next.segs) {
        buf_free(&b);
        return st_err(STRATA_NOMEM, "out of memory writing the manifest");
    }
    if (m->st.nsegs)
        memcpy(next.segs, m->st.segs, m->st.nsegs * sizeof *next.segs);
    next.tombs = NULL;
    if (m->st.ntombs) {
        next.tombs = st_malloc(m->st.ntombs * sizeof *next.tombs);
        if (!next.tombs) {
            st_free(next.segs);
            buf_free(&b);
            return st_err(STRATA_NOMEM, "out of memory writing the manifest");
        }
        memcpy(next.tombs, m->st.tombs, m->st.ntombs * sizeof *next.tombs);
    }
    next.rollups = NULL;
    if (m->st.nrollups) {
        next.rollups = st_malloc(m->st.nrollups * sizeof *next.rollups);
        if (!next.rollups) {
            st_free(next.tombs);
            st_free(next.segs);
            buf_free(&b);
            return st_err(STRATA_NOMEM, "out of memory writing the manifest");
        }
        memcpy(next.rollups, m->st.rollups, m->st.nrollups * sizeof *next.rollups);
    }
    const char *why;
    int rc = apply(&next, &cap, b.p + MAN_EDIT_HEAD, b.p + b.len - 8, &why);
    if (rc != STRATA_OK) {
        st_free(next.rollups);
        st_free(next.tombs);
        st_free(next.segs);
        buf_free(&b);
        return st_err(rc, "invalid manifest edit: %s", why);
    }
    size_t len = b.len;
    int x = os_pwrite_all(m->fd, b.p, len, m->size);
    if (x == 0)
        x = os_fsync(m->fd);
    buf_free(&b);
    if (x < 0) {
        st_free(next.rollups);
        st_free(next.tombs);
        st_free(next.segs);
        /* The tail may now hold part of the edit; the next open cuts it. */
        return st_err_os(STRATA_IOERR_WRITE, -x, "cannot append to manifest %s", m->path);
    }
    m->size += len;
    st_free(m->st.segs);
    st_free(m->st.tombs);
    st_free(m->st.rollups);
    m->st = next;
    m->segs_cap = cap;
    return STRATA_OK;
}

int manifest_rewrite(manifest *m)
{
    if (m->read_only)
        return st_err(STRATA_MISUSE_READONLY, "manifest is open read-only");
    int rc = write_new_file(m->path, &m->st);
    if (rc != STRATA_OK)
        return rc;
    int fd = os_open(m->path, O_RDWR, 0);
    if (fd < 0)
        return st_err_os(STRATA_IOERR_OPEN, -fd, "cannot open manifest %s", m->path);
    uint64_t size;
    int e = os_fsize(fd, &size);
    if (e < 0) {
        os_close(fd);
        return st_err_os(STRATA_IOERR_READ, -e, "cannot stat %s", m->path);
    }
    os_close(m->fd);
    m->fd = fd;
    m->size = size;
    return STRATA_OK;
}

long manifest_verify(const char *path, void (*report)(void *ctx, const char *msg), void *ctx)
{
    uint8_t *data;
    size_t size;
    char msg[600];
    int e = os_read_file(path, &data, &size);
    if (e < 0) {
        snprintf(msg, sizeof msg, "%s: cannot read: %s", path, strerror(-e));
        report(ctx, msg);
        return 1;
    }
    man_state st = {0};
    size_t cap = 0, cut, where;
    const char *why;
    long n = 0;
    int rc = load(data, size, &st, &cap, &cut, &why, &where);
    if (rc != STRATA_OK) {
        snprintf(msg, sizeof msg, "%s: %s at offset %zu", path, why, where);
        report(ctx, msg);
        n++;
    } else if (state_problem(&st)) {
        snprintf(msg, sizeof msg, "%s: %s", path, state_problem(&st));
        report(ctx, msg);
        n++;
    } else if (cut < size) {
        snprintf(msg, sizeof msg,
                 "%s: torn tail of %zu bytes at offset %zu (an unfinished edit; cut off on the "
                 "next open)",
                 path, size - cut, cut);
        report(ctx, msg);
        n++;
    }
    st_free(st.segs);
    st_free(st.tombs);
    st_free(st.rollups);
    st_free(data);
    return n;
}
