/*
 * check_segment.c — segment files, the catalog and the manifest on their
 * own: round trips, the chunk grid, and damage — every single-bit flip and
 * every truncation must be detected (STRATA_CORRUPT naming the file), never
 * crash, never read garbage as data; a merge that copies its inputs' chunks
 * writes the very bytes of a merge that encodes them afresh.
 */
#include "tests/testutil.h"

#include "compaction/compact.h"
#include "engine/alloc.h"
#include "engine/catalog.h"
#include "engine/err.h"
#include "engine/manifest.h"
#include "engine/os.h"
#include "engine/segment.h"
#include "engine/segment_format.h"
#include "strata.h"

#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

static void no_report(void *ctx, const char *msg)
{
    (void)msg;
    (*(long *)ctx)++;
}

/* The points of small_segment's series of one type. */
static void small_series(uint8_t type, size_t n, int64_t *ts, uint64_t *v)
{
    for (size_t i = 0; i < n; i++) {
        ts[i] = (int64_t)i * 10000000000LL + (int64_t)(i % 7) * 1000;
        double d = 20.0 + sin((double)i / 10.0);
        if (type == STRATA_F64)
            memcpy(&v[i], &d, 8);
        else
            v[i] = type == STRATA_I64 ? (uint64_t)(int64_t)(i * i) - 50 : i % 5 == 0;
    }
}

/* Write a segment with three series (one per type) and return its path. */
static char *small_segment(const char *dir, size_t n)
{
    char *path = tu_path(dir, "0000000000000007.seg");
    seg_writer *w;
    ck_assert_int_eq(segw_open(path, 7, 0, 86400000000000LL - 1, &w), STRATA_OK);
    int64_t *ts = malloc(n * sizeof *ts);
    uint64_t *v = malloc(n * sizeof *v);
    for (uint8_t type = STRATA_F64; type <= STRATA_BOOL; type++) {
        small_series(type, n, ts, v);
        ck_assert_int_eq(segw_add(w, (uint32_t)type * 10, type, ts, v, n), STRATA_OK);
    }
    seg_info in;
    ck_assert_int_eq(segw_finish(w, &in), STRATA_OK);
    ck_assert_uint_eq(in.points, 3 * n);
    ck_assert_uint_eq(in.nseries, 3);
    free(ts);
    free(v);
    return path;
}

/* segw_complete: the file is whole (index, footer) before the fsync of
 * segw_finish, which gives the same file and info as finishing at once;
 * segw_abort after it deletes the file. */
START_TEST(test_segment_complete_then_finish_or_abort)
{
    char *dir = tu_tmpdir();
    char *ref = small_segment(dir, 500);
    uint8_t *want;
    size_t wlen;
    ck_assert_int_eq(os_read_file(ref, &want, &wlen), 0);
    ck_assert_int_eq(unlink(ref), 0);

    char *path = tu_path(dir, "0000000000000007.seg");
    int64_t ts[500];
    uint64_t v[500];
    for (int round = 0; round < 2; round++) {
        seg_writer *w;
        ck_assert_int_eq(segw_open(path, 7, 0, 86400000000000LL - 1, &w), STRATA_OK);
        for (uint8_t type = STRATA_F64; type <= STRATA_BOOL; type++) {
            small_series(type, 500, ts, v);
            ck_assert_int_eq(segw_add(w, (uint32_t)type * 10, type, ts, v, 500), STRATA_OK);
        }
        ck_assert_int_eq(segw_complete(w), STRATA_OK);
        ck_assert_int_eq(segw_complete(w), STRATA_OK); /* once is enough */
        uint8_t *got;
        size_t glen;
        ck_assert_int_eq(os_read_file(path, &got, &glen), 0);
        ck_assert_uint_eq(glen, wlen);
        ck_assert(memcmp(got, want, wlen) == 0);
        st_free(got);
        if (round == 0) {
            segw_abort(w);
            ck_assert_int_ne(access(path, F_OK), 0);
        } else {
            seg_info in;
            ck_assert_int_eq(segw_finish(w, &in), STRATA_OK);
            ck_assert_uint_eq(in.points, 1500);
            ck_assert_uint_eq(in.nseries, 3);
            ck_assert_uint_eq(in.size, wlen);
            seg_reader *r;
            ck_assert_int_eq(segr_open(path, &r), STRATA_OK);
            segr_unref(r);
        }
    }
    st_free(want);
    free(ref);
    free(path);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* A write failing inside segw_complete() (the chunks written out at 1 MiB,
 * the rest, the index, the footer; whole or torn): STRATA_IOERR naming the
 * file, segw_abort() deletes it; past the last write, the file is whole. */
START_TEST(test_segment_complete_write_fails)
{
    enum { N = 150000 }; /* noise, about 1.2 MB: one write-out during segw_add */
    char *dir = tu_tmpdir(), *path = tu_path(dir, "000000000000000b.seg");
    int64_t *ts = malloc(N * sizeof *ts);
    uint64_t *v = malloc(N * sizeof *v);
    uint64_t seed = 7;
    for (size_t i = 0; i < N; i++) {
        ts[i] = (int64_t)i * 100000000LL;
        v[i] = (seed = seed * 6364136223846793005ULL + 1442695040888963407ULL) >> 1;
    }
    int failed = 0, whole = 0;
    for (long nth = 1; nth <= 8; nth++)
        for (int torn = 0; torn < 2; torn++) {
            seg_writer *w;
            ck_assert_int_eq(segw_open(path, 11, 0, 86400000000000LL - 1, &w), STRATA_OK);
            ck_assert_int_eq(segw_add(w, 3, STRATA_F64, ts, v, N), STRATA_OK);
            os_fault_inject(OS_OP_WRITE, nth, EIO, torn ? 100 : -1);
            int rc = segw_complete(w);
            os_fault_inject(0, 0, 0, 0);
            if (rc != STRATA_OK) {
                failed++;
                ck_assert_int_eq(rc & 0xff, STRATA_IOERR);
                ck_assert_ptr_nonnull(strstr(strata_errmsg(NULL), path));
                segw_abort(w);
                ck_assert_int_ne(access(path, F_OK), 0);
                continue;
            }
            whole++;
            seg_info in;
            ck_assert_int_eq(segw_finish(w, &in), STRATA_OK);
            ck_assert_uint_eq(in.points, N);
            seg_reader *r;
            ck_assert_int_eq(segr_open(path, &r), STRATA_OK);
            segr_unref(r);
            ck_assert_int_eq(unlink(path), 0);
        }
    ck_assert_int_gt(failed, 0);
    ck_assert_int_gt(whole, 0);
    free(ts);
    free(v);
    free(path);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* Series encoded by segp_add() and added with segw_add_prepared() give
 * the very file of segw_add(), mixed in any way, including a series whose
 * bytes pass the writer's 1 MiB buffer; a series prepared for another
 * partition is refused. */
START_TEST(test_segment_prepared_series)
{
    enum { N = 3000, BIG = 200000 };
    const int64_t width = 30 * 86400000000000LL; /* small_series spans days */
    char *dir = tu_tmpdir();
    int64_t *ts = malloc(BIG * sizeof *ts);
    uint64_t *v = malloc(BIG * sizeof *v);
    uint8_t *files[4];
    size_t lens[4];
    seg_info infos[4];
    /* mode 0: all segw_add; 1: all prepared; 2: alternating; 3: the other way */
    for (int mode = 0; mode < 4; mode++) {
        char *path = tu_path(dir, "0000000000000009.seg");
        seg_writer *w;
        ck_assert_int_eq(segw_open(path, 9, width, 2 * width - 1, &w), STRATA_OK);
        seg_prep *p = segp_new();
        ck_assert_ptr_nonnull(p);
        uint64_t seed = 1;
        for (uint32_t s = 0; s < 4; s++) {
            uint8_t type = s == 3 ? STRATA_F64 : (uint8_t)(STRATA_F64 + s);
            size_t n = s == 3 ? BIG : N;
            small_series(type, n, ts, v);
            for (size_t i = 0; i < n; i++) {
                ts[i] = width + (int64_t)i * 1000000000LL;
                if (s == 3) /* noise: about 8 bytes a value */
                    v[i] = (seed = seed * 6364136223846793005ULL + 1442695040888963407ULL) >> 1;
            }
            int prepared = mode == 1 || (mode == 2 && s % 2) || (mode == 3 && !(s % 2));
            if (!prepared) {
                ck_assert_int_eq(segw_add(w, 5 + s, type, ts, v, n), STRATA_OK);
                continue;
            }
            size_t at = segp_count(p);
            ck_assert_int_eq(segp_add(p, width, 2 * width - 1, 5 + s, type, ts, v, n), STRATA_OK);
            ck_assert_uint_eq(segp_count(p), at + 1);
            int64_t first, last;
            segp_partition(p, at, &first, &last);
            ck_assert(first == width && last == 2 * width - 1);
            ck_assert_int_eq(segw_add_prepared(w, p, at), STRATA_OK);
        }
        ck_assert_int_eq(segw_finish(w, &infos[mode]), STRATA_OK);
        ck_assert_int_eq(os_read_file(path, &files[mode], &lens[mode]), 0);
        ck_assert_uint_gt(lens[mode], 1u << 20);
        segp_free(p);
        free(path);
    }
    for (int mode = 1; mode < 4; mode++) {
        ck_assert_uint_eq(lens[mode], lens[0]);
        ck_assert_msg(memcmp(files[mode], files[0], lens[0]) == 0, "mode %d: other bytes", mode);
        const seg_info *a = &infos[mode], *b = &infos[0];
        ck_assert(a->tmin == b->tmin && a->tmax == b->tmax && a->size == b->size &&
                  a->points == b->points && a->chunks == b->chunks &&
                  a->index_len == b->index_len && a->nseries == b->nseries);
    }
    ck_assert_uint_eq(infos[0].points, 3 * N + BIG);
    ck_assert_uint_eq(infos[0].nseries, 4);
    /* the data reads back */
    char *path = tu_path(dir, "0000000000000009.seg");
    seg_reader *r;
    ck_assert_int_eq(segr_open(path, &r), STRATA_OK);
    ck_assert_uint_eq(segr_info(r)->points, 3 * N + BIG);
    segr_unref(r);
    /* another partition's series */
    seg_writer *w;
    ck_assert_int_eq(segw_open(path, 9, 0, width - 1, &w), STRATA_OK);
    seg_prep *p = segp_new();
    ck_assert_int_eq(segp_add(p, width, 2 * width - 1, 1, STRATA_F64, ts, v, 10), STRATA_OK);
    ck_assert_int_eq(segw_add_prepared(w, p, 0), STRATA_MISUSE);
    segw_abort(w);
    segp_free(p);
    ck_assert_int_ne(access(path, F_OK), 0);
    for (int mode = 0; mode < 4; mode++)
        st_free(files[mode]);
    free(path);
    free(ts);
    free(v);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(test_segment_roundtrip_and_grid)
{
    char *dir = tu_tmpdir();
    char *path = small_segment(dir, 8640); /* one day of 10 s data */
    seg_reader *r;
    ck_assert_int_eq(segr_open(path, &r), STRATA_OK);
    ck_assert_uint_eq(segr_info(r)->id, 7);
    int64_t ts[SEG_CHUNK_MAX];
    uint64_t v[SEG_CHUNK_MAX];
    for (uint8_t type = STRATA_F64; type <= STRATA_BOOL; type++) {
        seg_cursor c;
        ck_assert(!segr_find(r, type * 10u + 1, &c)); /* ids are 10, 20, 30 */
        ck_assert(segr_find(r, type * 10u, &c));
        chunk_meta m;
        size_t k = 0, chunks = 0;
        int rc;
        while ((rc = segr_next_chunk(&c, &m)) == STRATA_ROW) {
            /* 10 s data: chunks are whole hours, 360 points each */
            ck_assert_uint_eq(m.st.count, 360);
            ck_assert_int_eq(m.tmin / 3600000000000LL, (int64_t)chunks);
            ck_assert_int_eq(segr_decode(r, &m, ts, v), STRATA_OK);
            for (uint32_t i = 0; i < m.st.count; i++, k++) {
                TU_CHECK(ts[i] == (int64_t)k * 10000000000LL + (int64_t)(k % 7) * 1000,
                         "ts %zu", k);
                double d = 20.0 + sin((double)k / 10.0);
                uint64_t want;
                memcpy(&want, &d, 8);
                want = type == STRATA_F64   ? want
                       : type == STRATA_I64 ? (uint64_t)(int64_t)(k * k) - 50
                                            : k % 5 == 0;
                TU_CHECK(v[i] == want, "value %zu", k);
            }
            chunks++;
        }
        ck_assert_int_eq(rc, STRATA_DONE);
        ck_assert_uint_eq(k, 8640);
        ck_assert_uint_eq(chunks, 24);
    }
    segr_unref(r);
    long problems = 0;
    ck_assert_int_eq(segr_verify(path, no_report, &problems, NULL), 0);
    free(path);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* Every bit flip anywhere in the file is caught by open or by verify. */
START_TEST(test_segment_every_bit_flip)
{
    char *dir = tu_tmpdir();
    char *path = small_segment(dir, 40);
    size_t len;
    char *orig = tu_read_file(path, &len);
    char *data = malloc(len);
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            memcpy(data, orig, len);
            data[i] ^= (char)(1 << bit);
            tu_write_file(path, data, len);
            long problems = 0;
            segr_verify(path, no_report, &problems, NULL);
            TU_CHECK(problems > 0, "flip of bit %d at offset %zu not detected", bit, i);
            seg_reader *r;
            if (segr_open(path, &r) == STRATA_OK) {
                /* structure intact: then a chunk must fail to decode */
                int64_t ts[64];
                uint64_t v[64];
                int bad = 0;
                for (uint32_t s = 0; s < 3; s++) {
                    seg_cursor c;
                    segr_series_at(r, s, &c);
                    chunk_meta m;
                    int rc;
                    while ((rc = segr_next_chunk(&c, &m)) == STRATA_ROW)
                        bad |= segr_decode(r, &m, ts, v) != STRATA_OK;
                    bad |= rc != STRATA_DONE;
                }
                TU_CHECK(bad, "flip at %zu: file opens and every chunk decodes", i);
                segr_unref(r);
            } else {
                TU_CHECK((st_errcode() & 0xff) == STRATA_CORRUPT ||
                             (st_errcode() & 0xff) == STRATA_VERSION,
                         "flip at %zu: code %d", i, st_errcode());
                TU_CHECK(strstr(st_errmsg(), path) != NULL, "message names the file: %s",
                         st_errmsg());
            }
        }
    }
    /* every truncation */
    for (size_t cut = 0; cut < len; cut++) {
        tu_write_file(path, orig, cut);
        seg_reader *r;
        TU_CHECK(segr_open(path, &r) == STRATA_CORRUPT, "truncation to %zu opens", cut);
    }
    free(data);
    free(orig);
    free(path);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* A series-table entry with no chunks, its checksums made right (only a
 * crafted file or a writer bug has one): the open refuses it, so that no
 * reader takes the last entry of an empty list (which it would not have
 * set). */
START_TEST(test_segment_series_without_chunks)
{
    char *dir = tu_tmpdir();
    char *path = small_segment(dir, 40);
    size_t len;
    uint8_t *b = (uint8_t *)tu_read_file(path, &len);
    uint8_t *f = b + len - SEG_FOOTER_SIZE;
    uint64_t io, il, h;
    uint32_t ns, zero = 0;
    memcpy(&io, f, 8);
    memcpy(&il, f + 8, 8);
    memcpy(&ns, f + 48, 4);
    ck_assert_uint_eq(ns, 3);
    memcpy(b + io + il - 2 * SEG_TABLE_ENTRY + 20, &zero, 4); /* the second series */
    h = XXH3_64bits(b + io, il);
    memcpy(f + 56, &h, 8);
    h = XXH3_64bits(f, 64);
    memcpy(f + 64, &h, 8);
    tu_write_file(path, b, len);
    seg_reader *r;
    ck_assert_int_eq(segr_open(path, &r), STRATA_CORRUPT);
    ck_assert_int_eq(st_errcode(), STRATA_CORRUPT_SEGMENT);
    ck_assert_msg(strstr(st_errmsg(), "series table entry out of range"), "%s", st_errmsg());
    free(b);
    free(path);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

static uint64_t d2u(double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    return u;
}

/* Values of pattern `kind` for point i of series `salt`: the cases the
 * compact statistics of FORMAT.md §5.4 must carry exactly. */
static uint64_t f64_value(int kind, size_t i, uint64_t *seed)
{
    uint64_t r = tu_rand(seed);
    double walk = (double)(int64_t)(i * 37 % 1001) - 500.0;
    switch (kind) {
    case 0: return d2u(round(walk * 7.3) / 100.0);                    /* 2 decimals */
    case 1: /* NaNs */
        return r % 5 == 0 ? 0x7ff8000000000001ull + (r >> 40) : d2u(walk / 10.0);
    case 2: return 0x7ff8000000000000ull | (i & 7);                   /* all NaN */
    case 3: return d2u(i % 3 ? -0.0 : 0.0);                           /* signed zeros */
    case 4: return d2u(i % 4 == 1 ? INFINITY : i % 4 == 2 ? -INFINITY : (double)i);
    case 5: return r;                                                 /* random bits */
    case 6: /* the sum overflows; subnormals */
        return d2u(i % 2 ? 1e300 * (double)(i % 7 + 1) : 4.9e-324 * (double)(i % 5));
    case 7: /* the exponent changes from chunk to chunk (chunks of 360) */
        return d2u(round(walk * 13.7) /
                   (double)(i / 360 % 4 == 0 ? 1 : i / 360 % 4 == 1 ? 1000 : 10));
    case 8: return d2u((double)(9007199254740991LL - (int64_t)(i % 3)) / (i % 2 ? 1.0 : 1e14));
    default: return d2u(1e-7 * (double)(int64_t)(r % 2000001) - 0.1); /* 7 decimals */
    }
}

/* Every chunk's statistics survive the compact index entries (§5.4): the
 * segment verifies (which recomputes them from the decoded data) and
 * decodes to the input, across NaN payloads, signed zeros, infinities,
 * overflowing sums, changing decimal exponents and int64 extremes. */
START_TEST(test_segment_statistics)
{
    enum { N = 8640, KINDS = 10 };
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "0000000000000009.seg");
    static int64_t ts[N];
    static uint64_t v[3 * KINDS][N];
    uint64_t seed = 77;
    for (size_t i = 0; i < N; i++)
        ts[i] = (int64_t)i * 10000000000LL + (i % 11 == 0 ? 1000 : 0);
    seg_writer *w;
    ck_assert_int_eq(segw_open(path, 9, 0, 86400000000000LL - 1, &w), STRATA_OK);
    uint32_t sid = 0;
    for (int k = 0; k < KINDS; k++, sid++) {
        for (size_t i = 0; i < N; i++)
            v[sid][i] = f64_value(k, i, &seed);
        ck_assert_int_eq(segw_add(w, sid, STRATA_F64, ts, v[sid], N), STRATA_OK);
    }
    for (int k = 0; k < KINDS; k++, sid++) {
        for (size_t i = 0; i < N; i++) {
            uint64_t r = tu_rand(&seed);
            int64_t walk = (int64_t)(i / 100) * (k % 2 ? 1 : -1) + (int64_t)(r % 5);
            v[sid][i] = k == 0   ? (uint64_t)INT64_MAX - (i % 3) /* the sum overflows */
                        : k == 1 ? (i % 2 ? (uint64_t)INT64_MIN : (uint64_t)INT64_MAX)
                        : k == 2 ? r
                        : k == 3 ? 42
                                 : (uint64_t)walk;
        }
        ck_assert_int_eq(segw_add(w, sid, STRATA_I64, ts, v[sid], N), STRATA_OK);
    }
    for (int k = 0; k < KINDS; k++, sid++) {
        for (size_t i = 0; i < N; i++)
            v[sid][i] = k == 0 ? 1 : k == 1 ? 0 : (tu_rand(&seed) % (uint64_t)(k + 1)) == 0;
        ck_assert_int_eq(segw_add(w, sid, STRATA_BOOL, ts, v[sid], N), STRATA_OK);
    }
    seg_info in;
    ck_assert_int_eq(segw_finish(w, &in), STRATA_OK);
    long problems = 0;
    ck_assert_int_eq(segr_verify(path, no_report, &problems, NULL), 0);
    seg_reader *r;
    ck_assert_int_eq(segr_open(path, &r), STRATA_OK);
    static int64_t dt[SEG_CHUNK_MAX];
    static uint64_t dv[SEG_CHUNK_MAX];
    static chunk_meta last[3 * KINDS];
    for (uint32_t s = 0; s < sid; s++) {
        seg_cursor c;
        ck_assert(segr_find(r, s, &c));
        chunk_meta m;
        size_t at = 0;
        int rc;
        while ((rc = segr_next_chunk(&c, &m)) == STRATA_ROW) {
            chunk_stats want;
            chunk_stats_compute(c.type, v[s] + at, m.st.count, &want);
            TU_CHECK(!memcmp(&want, &m.st, sizeof want), "series %u chunk at %zu: statistics", s,
                     at);
            ck_assert_int_eq(segr_decode(r, &m, dt, dv), STRATA_OK);
            for (uint32_t i = 0; i < m.st.count; i++)
                TU_CHECK(dt[i] == ts[at + i] && dv[i] == v[s][at + i], "series %u value %zu", s,
                         at + i);
            memset(dv, 0, m.st.count * sizeof *dv);
            ck_assert_int_eq(segr_decode_values(r, &m, dv), STRATA_OK);
            TU_CHECK(!memcmp(dv, v[s] + at, m.st.count * sizeof *dv), "values only, series %u", s);
            at += m.st.count;
            last[s] = m;
        }
        ck_assert_int_eq(rc, STRATA_DONE);
        ck_assert_uint_eq(at, N);
    }
    /* each series' last entry, walked for that series alone on first use
     * (in another order than the file's) and then kept */
    for (int pass = 0; pass < 2; pass++)
        for (uint32_t k = 0; k < sid; k++) {
            uint32_t s = (k * 7 + 3) % sid;
            chunk_meta m;
            memset(&m, 0xa5, sizeof m);
            ck_assert_int_eq(segr_last_chunk(r, s, &m), 1);
            TU_CHECK(!memcmp(&m.st, &last[s].st, sizeof m.st) && m.tmin == last[s].tmin &&
                         m.tmax == last[s].tmax && m.data_off == last[s].data_off &&
                         m.checksum == last[s].checksum && m.ts_len == last[s].ts_len &&
                         m.val_len == last[s].val_len && m.zlen == last[s].zlen &&
                         m.ts_codec == last[s].ts_codec && m.val_codec == last[s].val_codec,
                     "series %u: last chunk entry (pass %d)", s, pass);
        }
    chunk_meta none;
    ck_assert_int_eq(segr_last_chunk(r, sid + 5, &none), 0);
    segr_unref(r);
    free(path);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

static void make_catalog(const char *path, uint64_t *len1, uint64_t *len2)
{
    catalog *c;
    ck_assert_int_eq(catalog_open(path, 0, 1, 0, &c), STRATA_OK);
    uint32_t t, s;
    ck_assert_int_eq(catalog_add_tagset(c, "cpu,host=a", 10, 3, &t), STRATA_OK);
    ck_assert_int_eq(catalog_add_series(c, t, "usage", 5, STRATA_F64, &s), STRATA_OK);
    ck_assert_int_eq(catalog_persist(c, len1), STRATA_OK);
    ck_assert_int_eq(catalog_add_tagset(c, "cpu,host=b", 10, 3, &t), STRATA_OK);
    ck_assert_int_eq(catalog_add_series(c, t, "usage", 5, STRATA_F64, &s), STRATA_OK);
    ck_assert_int_eq(catalog_add_series(c, t, "up", 2, STRATA_BOOL, &s), STRATA_OK);
    ck_assert_uint_eq(s, 2);
    ck_assert_int_eq(catalog_persist(c, len2), STRATA_OK);
    catalog_close(c);
}

/* ---- merging: chunks copied as stored ---------------------------------------- */

#define HOUR_NS 3600000000000LL
#define STEP_NS 10000000000LL

typedef struct mpts {
    int64_t ts[4000];
    uint64_t v[4000];
    size_t n;
} mpts;

static void mp_add(mpts *p, int64_t ts, uint64_t v)
{
    ck_assert_uint_lt(p->n, 4000);
    p->ts[p->n] = ts;
    p->v[p->n++] = v;
}

static uint64_t dec_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    return u;
}

/* newest wins: older inputs first in `in`, result sorted */
static void mp_merge(const mpts *in, size_t k, mpts *out)
{
    out->n = 0;
    for (size_t j = 0; j < k; j++)
        for (size_t i = 0; i < in[j].n; i++) {
            size_t at = 0;
            while (at < out->n && out->ts[at] < in[j].ts[i])
                at++;
            if (at < out->n && out->ts[at] == in[j].ts[i]) {
                out->v[at] = in[j].v[i];
                continue;
            }
            ck_assert_uint_lt(out->n, 4000);
            memmove(out->ts + at + 1, out->ts + at, (out->n - at) * sizeof *out->ts);
            memmove(out->v + at + 1, out->v + at, (out->n - at) * sizeof *out->v);
            out->ts[at] = in[j].ts[i];
            out->v[at] = in[j].v[i];
            out->n++;
        }
}

static char *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc(*n ? *n : 1);
    ck_assert_uint_eq(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}

START_TEST(test_merge_reuses_chunks)
{
    enum { NS = 3, NIN = 3 };
    static mpts in[NS][NIN], want[NS];
    const uint8_t types[NS] = {STRATA_F64, STRATA_I64, STRATA_BOOL};
    memset(in, 0, sizeof in);
    /* series 0, float64: A hours 0-2.5, B 2.5-5, C overwrites 10 points of
     * hour 4 and adds a late one in hour 1 */
    for (int64_t t = 0; t < 5 * HOUR_NS; t += STEP_NS)
        mp_add(&in[0][t < 9000 * 1000000000LL ? 0 : 1], t,
               dec_bits(20.0 + (double)((t / STEP_NS) % 50) / 10.0));
    mp_add(&in[0][2], HOUR_NS + 5000000000LL, dec_bits(99.25));
    for (int i = 1; i <= 10; i++)
        mp_add(&in[0][2], 4 * HOUR_NS + i * STEP_NS, dec_bits(-1.5 * i));
    /* series 1, int64: B alone, hours 2.5-5 */
    for (int64_t t = 9000 * 1000000000LL; t < 5 * HOUR_NS; t += STEP_NS)
        mp_add(&in[1][1], t, (uint64_t)(t / STEP_NS * 3));
    /* series 2, bool: A and C the same points in hour 0 */
    for (int64_t t = 0; t < HOUR_NS; t += STEP_NS) {
        mp_add(&in[2][0], t, (t / STEP_NS) % 3 == 0);
        mp_add(&in[2][2], t, (t / STEP_NS) % 3 == 0);
    }
    char *dir = tu_tmpdir();
    seg_reader *rd[NIN];
    for (size_t j = 0; j < NIN; j++) {
        char name[64];
        snprintf(name, sizeof name, "%016zx.seg", j + 1);
        char *path = tu_path(dir, name);
        seg_writer *w;
        ck_assert_int_eq(segw_open(path, j + 1, 0, 86400000000000LL - 1, &w), STRATA_OK);
        for (uint32_t s = 0; s < NS; s++)
            if (in[s][j].n)
                ck_assert_int_eq(segw_add(w, s, types[s], in[s][j].ts, in[s][j].v, in[s][j].n),
                                 STRATA_OK);
        ck_assert_int_eq(segw_finish(w, NULL), STRATA_OK);
        ck_assert_int_eq(segr_open(path, &rd[j]), STRATA_OK);
        free(path);
    }
    char *merged = tu_path(dir, "0000000000000009.seg"), *fresh = tu_path(dir, "fresh.seg");
    seg_info mi, fi;
    int rc = compact_merge(rd, NIN, merged, 9, 0, 86400000000000LL - 1, NULL, NULL, &mi);
    ck_assert_msg(rc == STRATA_OK, "merge: %s", st_errmsg());
    seg_writer *w;
    ck_assert_int_eq(segw_open(fresh, 9, 0, 86400000000000LL - 1, &w), STRATA_OK);
    for (uint32_t s = 0; s < NS; s++) {
        mp_merge(in[s], NIN, &want[s]);
        ck_assert_int_eq(segw_add(w, s, types[s], want[s].ts, want[s].v, want[s].n), STRATA_OK);
    }
    ck_assert_int_eq(segw_finish(w, &fi), STRATA_OK);
    /* hours 0 and 3 of series 0, all three of series 1, hour 0 of series 2 */
    ck_assert_uint_eq(mi.chunks, 9);
    ck_assert_uint_eq(mi.reused, 6);
    ck_assert_uint_eq(fi.reused, 0);
    size_t na, nb;
    char *a = read_all(merged, &na), *b = read_all(fresh, &nb);
    ck_assert_uint_eq(na, nb);
    ck_assert(memcmp(a, b, na) == 0);
    free(a);
    free(b);
    for (size_t j = 0; j < NIN; j++)
        segr_unref(rd[j]);
    free(merged);
    free(fresh);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(test_catalog_reload_and_damage)
{
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "catalog");
    uint64_t len1, len2;
    make_catalog(path, &len1, &len2);
    catalog *c;
    /* committed length decides what is loaded; the rest is cut */
    ck_assert_int_eq(catalog_open(path, len1, 0, 0, &c), STRATA_OK);
    ck_assert_uint_eq(catalog_series_count(c), 1);
    catalog_close(c);
    struct stat st;
    stat(path, &st);
    ck_assert_int_eq(st.st_size, (off_t)len1);
    make_catalog(path, &len1, &len2);
    ck_assert_int_eq(catalog_open(path, len2, 0, 0, &c), STRATA_OK);
    ck_assert_uint_eq(catalog_series_count(c), 3);
    uint32_t sid;
    uint8_t type;
    uint32_t tid;
    ck_assert(catalog_find_tagset(c, "cpu,host=b", 10, catalog_hash("cpu,host=b", 10), &tid));
    ck_assert(catalog_find_series(c, tid, "up", 2, &sid, &type));
    ck_assert_uint_eq(sid, 2);
    ck_assert_uint_eq(type, STRATA_BOOL);
    ck_assert_str_eq(catalog_series_key(c, 2), "cpu,host=b up");
    catalog_close(c);
    /* every flip inside the committed part is damage */
    size_t len;
    char *orig = tu_read_file(path, &len);
    char *data = malloc(len);
    for (size_t i = 0; i < len; i++) {
        memcpy(data, orig, len);
        data[i] ^= 0x21;
        tu_write_file(path, data, len);
        int rc = catalog_open(path, len2, 0, 1, &c);
        TU_CHECK(rc == STRATA_CORRUPT || rc == STRATA_VERSION, "flip at %zu: rc %d", i, rc);
        TU_CHECK(strstr(st_errmsg(), "offset") != NULL, "no offset: %s", st_errmsg());
        long problems = 0;
        catalog_verify(path, len2, no_report, &problems);
        TU_CHECK(problems > 0, "verify misses the flip at %zu", i);
    }
    /* a file shorter than its committed length */
    tu_write_file(path, orig, len - 1);
    ck_assert_int_eq(catalog_open(path, len2, 0, 1, &c), STRATA_CORRUPT);
    free(data);
    free(orig);
    free(path);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

static man_state base_state(void)
{
    man_state st = {0};
    st.partition_ns = 86400000000000LL;
    strcpy(st.device_tag, "name");
    st.flushed_lsn = 1;
    st.catalog_len = 32;
    st.next_segment_id = 1;
    return st;
}

START_TEST(test_manifest_edits_torn_and_damaged)
{
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "MANIFEST");
    man_state st = base_state();
    ck_assert_int_eq(manifest_create(path, &st), STRATA_OK);
    manifest *m;
    uint64_t torn;
    ck_assert_int_eq(manifest_open(path, 0, &m, &torn), STRATA_OK);
    man_segment a = {1, 0, 99, 1000, 10}, b = {2, 100, 199, 2000, 20};
    man_edit e1 = {.add = &a, .nadd = 1, .flushed_lsn = 5, .catalog_len = 40, .next_segment_id = 2};
    ck_assert_int_eq(manifest_commit(m, &e1), STRATA_OK);
    size_t len_before;
    free(tu_read_file(path, &len_before));
    uint64_t rm = 1;
    man_edit e2 = {.add = &b, .nadd = 1, .remove = &rm, .nremove = 1, .flushed_lsn = 9,
                   .next_segment_id = 3};
    ck_assert_int_eq(manifest_commit(m, &e2), STRATA_OK);
    /* removing a segment that is not live is refused, state unchanged */
    ck_assert_int_eq(manifest_commit(m, &e2), STRATA_CORRUPT);
    ck_assert_uint_eq(manifest_state(m)->nsegs, 1);
    manifest_close(m);

    size_t len;
    char *full = tu_read_file(path, &len);
    ck_assert_int_eq(manifest_open(path, 1, &m, &torn), STRATA_OK);
    const man_state *s = manifest_state(m);
    ck_assert_uint_eq(s->nsegs, 1);
    ck_assert_uint_eq(s->segs[0].id, 2);
    ck_assert_uint_eq(s->flushed_lsn, 9);
    ck_assert_uint_eq(s->catalog_len, 40);
    ck_assert_str_eq(s->device_tag, "name");
    manifest_close(m);
    /* torn last edit, at every byte: the state before it */
    for (size_t cut = len_before; cut < len; cut++) {
        tu_write_file(path, full, cut);
        ck_assert_int_eq(manifest_open(path, 0, &m, &torn), STRATA_OK);
        ck_assert_uint_eq(torn, cut - len_before);
        s = manifest_state(m);
        ck_assert_uint_eq(s->nsegs, 1);
        ck_assert_uint_eq(s->segs[0].id, 1);
        ck_assert_uint_eq(s->flushed_lsn, 5);
        manifest_close(m);
        struct stat sb;
        stat(path, &sb);
        ck_assert_int_eq(sb.st_size, (off_t)len_before);
    }
    /* damage in the first edit, with an intact edit after it */
    for (size_t i = 32; i < len_before; i++) {
        char *d = malloc(len);
        memcpy(d, full, len);
        d[i] ^= 4;
        tu_write_file(path, d, len);
        TU_CHECK(manifest_open(path, 1, &m, &torn) == STRATA_CORRUPT, "flip at %zu accepted", i);
        free(d);
    }
    /* rewrite keeps the state in one edit */
    tu_write_file(path, full, len);
    ck_assert_int_eq(manifest_open(path, 0, &m, &torn), STRATA_OK);
    ck_assert_int_eq(manifest_rewrite(m), STRATA_OK);
    manifest_close(m);
    ck_assert_int_eq(manifest_open(path, 1, &m, &torn), STRATA_OK);
    ck_assert_uint_eq(manifest_state(m)->segs[0].id, 2);
    ck_assert_uint_eq(manifest_state(m)->next_segment_id, 3);
    manifest_close(m);
    free(full);
    free(path);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

Suite *segment_suite(void); /* collected by run_tests.c */

Suite *segment_suite(void)
{
    Suite *s = suite_create("segment");
    TCase *t = tcase_create("segment");
    tcase_add_test(t, test_segment_roundtrip_and_grid);
    tcase_add_test(t, test_segment_complete_then_finish_or_abort);
    tcase_add_test(t, test_segment_prepared_series);
    tcase_add_test(t, test_segment_complete_write_fails);
    tcase_add_test(t, test_segment_every_bit_flip);
    tcase_add_test(t, test_segment_series_without_chunks);
    tcase_add_test(t, test_segment_statistics);
    tcase_add_test(t, test_merge_reuses_chunks);
    tcase_add_test(t, test_catalog_reload_and_damage);
    tcase_add_test(t, test_manifest_edits_torn_and_damaged);
    suite_add_tcase(s, t);
    return s;
}
