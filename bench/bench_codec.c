/*
 * bench_codec.c — every column codec and the per-chunk choice on every
 * data set: the fleet (generated in memory; --trucks=20 is the peers' small
 * scale) and, when ../shared/fixtures holds them (--fixtures), NAB and
 * Beijing air quality.  Columns are cut into chunks exactly as a segment
 * writer cuts them: time partitions (--partition_days for the fleet, 1;
 * --fixture_partition_days for NAB and Beijing, 30, as bench/disk.sh
 * loads them), then the chunk grid of FORMAT.md §5.3 (one hour for the
 * fleet's 10 s series).  Each codec's encodings lie one after another in
 * one buffer, as a segment file holds chunks, and a decoder is given a
 * chunk's first and last value as a segment's chunk statistics give them.
 *
 *   BM_Encode/<set>/<codec>, BM_Decode/<set>/<codec>
 *       the codec alone on every column it fits (ts-* on the timestamps,
 *       the value codecs on the values of their type); chunks it cannot
 *       take (f64-decimal on non-decimals, const on varying values) are
 *       left out, and `coverage` says which share of the values it took.
 *   BM_Encode/<set>/f64-decimal-for, BM_Decode/<set>/f64-decimal-for
 *       f64-decimal restricted to frame-of-reference packs (order 0, ALP's
 *       layout; pack_set_orders(1)): its bit-packed path alone.
 *   BM_Encode/<set>/chosen, BM_Decode/<set>/chosen
 *       chunk_encode()/chunk_decode(): both columns, every candidate tried,
 *       the smallest kept (and LZ4 when it pays).
 *   BM_Scan/fleet/classic, BM_Scan/fleet/chosen
 *       a full scan of flushed segment files through the segment reader,
 *       every chunk checksummed and its values decoded (segr_decode_values:
 *       a whole-range aggregate needs no timestamps) and every value folded
 *       into count, sum and sum of squares (what a stddev query does), once
 *       with the version-1 codecs only (Gorilla values) and once with the
 *       chosen ones.  items_per_second = values/s.
 *   counters: items_per_second = values/s, bits_per_value of the columns,
 *   bytes_per_value.
 *
 * After the runs a table repeats, per data set, bits per value and the
 * speeds of each codec (the best of its passes, taken row after row in
 * rounds), with f64-gorilla alone as the baseline, and the
 * "chosen" and "classic" rows as whole segment files: data, index,
 * headers and footers included, divided by the values; then the scan ratio,
 * from the two scans alternated 30 times, best of each.
 */
#include "bench/gbench.h"
#include "bench/workload.h"

#include "engine/chunk.h"
#include "engine/codec.h"
#include "engine/pack.h"
#include "engine/segment.h"
#include "engine/segment_format.h"
#include "strata.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static int64_t trucks = 20;
static int64_t partition_days = 1, fixture_partition_days = 30;
static const char *fixtures = "../shared/fixtures";

#define NSETS 3
/* Rows: codec ids 1..9, then "chosen", then f64-decimal with frame of
 * reference only. */
#define NCOL 12
#define CHOSEN 10
#define DEC_FOR 11

typedef struct chunkref {
    const int64_t *ts;
    const uint64_t *v;
    uint32_t n;
    uint8_t type;
} chunkref;

/* One codec's (or the choice's) encodings of a data set's chunks. */
typedef struct encset {
    uint8_t **buf;
    size_t *len; /* CODEC_NA: not taken */
    chunk_meta *meta;
    codec_ends *ends; /* each chunk's first and last word, as a chunk's statistics give them */
    uint64_t bytes, values, all;
    int registered;
} encset;

typedef struct dataset {
    const char *name;
    int64_t part_ns;
    wl_columns cols;
    int present;
    chunkref *ch;
    size_t nch;
    uint64_t values;
    encset enc[NCOL + 1];
    uint64_t seg_bytes[2], seg_index[2]; /* classic, chosen: segment files */
    char *dir[2];
} dataset;

static dataset sets[NSETS] = {{.name = "fleet"}, {.name = "nab"}, {.name = "beijing"}};
static uint64_t *scratch_v;
static int64_t *scratch_t;
static uint8_t *scratch_b;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ---- preparation (not timed) ------------------------------------------------------- */

static void cut_chunks(dataset *d)
{
    int64_t part = d->part_ns;
    for (size_t s = 0; s < d->cols.n; s++) {
        const wl_series *se = &d->cols.s[s];
        size_t i = 0;
        while (i < se->n) {
            /* the points of one partition */
            int64_t p0 = se->ts[i] / part - (se->ts[i] % part < 0);
            size_t j = i;
            while (j < se->n && se->ts[j] / part - (se->ts[j] % part < 0) == p0)
                j++;
            int64_t grid = chunk_grid(se->ts + i, j - i, part);
            while (i < j) {
                size_t k = chunk_span(se->ts + i, j - i, grid);
                d->ch = realloc(d->ch, (d->nch + 1) * sizeof *d->ch);
                d->ch[d->nch++] = (chunkref){se->ts + i, se->v + i, (uint32_t)k, se->type};
                d->values += k;
                i += k;
            }
        }
    }
}

static int fits(unsigned id, const chunkref *c)
{
    return (codec_get(id)->columns & codec_column(c->type)) != 0;
}

/* The column of chunk c that codec id works on (timestamps or values), or
 * NULL when it fits neither. */
static const uint64_t *column(unsigned id, const chunkref *c)
{
    if (codec_get(id)->columns & CODEC_COL_TS && !(codec_get(id)->columns & codec_column(c->type)))
        return (const uint64_t *)c->ts;
    return fits(id, c) ? c->v : NULL;
}

/* The codec behind a row of the table. */
static unsigned codec_of(unsigned id)
{
    return id == DEC_FOR ? CODEC_F64_DECIMAL : id;
}

static void encode_set(dataset *d, unsigned id)
{
    encset *e = &d->enc[id];
    pack_set_orders(id == DEC_FOR ? 1 : 7);
    e->buf = calloc(d->nch + 1, sizeof *e->buf);
    e->len = calloc(d->nch + 1, sizeof *e->len);
    e->meta = calloc(d->nch + 1, sizeof *e->meta);
    e->ends = calloc(d->nch + 1, sizeof *e->ends);
    for (size_t k = 0; k < d->nch; k++) {
        const chunkref *c = &d->ch[k];
        if (id == CHOSEN) {
            e->buf[k] = malloc(chunk_bound(c->type, c->n));
            e->len[k] =
                chunk_encode(c->type, c->ts, c->v, c->n, CHUNK_BEST, e->buf[k], &e->meta[k]);
            e->bytes += e->len[k];
            e->values += c->n;
            e->all += c->n;
            continue;
        }
        const uint64_t *col = column(codec_of(id), c);
        e->len[k] = CODEC_NA;
        if (!col)
            continue;
        e->all += c->n;
        e->ends[k] = (codec_ends){col[0], col[c->n - 1]};
        e->buf[k] = malloc(codec_get(codec_of(id))->bound(c->n) + 1);
        size_t len = codec_get(codec_of(id))->encode(col, c->n, e->buf[k]);
        e->len[k] = len;
        if (len == CODEC_NA)
            continue;
        e->bytes += len;
        e->values += c->n;
    }
    pack_set_orders(7);
    /* then all in one buffer, in chunk order, as a segment file holds them
     * (chunks in separate allocations scatter the decoder's reads) */
    size_t total = 0;
    for (size_t k = 0; k < d->nch; k++)
        total += e->buf[k] && e->len[k] != CODEC_NA ? e->len[k] : 0;
    uint8_t *arena = malloc(total + 1), *at = arena;
    for (size_t k = 0; k < d->nch; k++) {
        if (e->buf[k] && e->len[k] != CODEC_NA) {
            memcpy(at, e->buf[k], e->len[k]);
            free(e->buf[k]);
            e->buf[k] = at;
            at += e->len[k];
        } else {
            free(e->buf[k]);
            e->buf[k] = NULL;
        }
    }
}

/* Flushed segment files of the data set, one per partition, written with
 * the given policy; returns their total size. */
static void write_segments(dataset *d, int policy)
{
    d->dir[policy] = wl_tmpdir();
    int64_t part = d->part_ns;
    /* partitions present */
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t s = 0; s < d->cols.n; s++) {
        const wl_series *se = &d->cols.s[s];
        if (!se->n)
            continue;
        int64_t a = se->ts[0] / part - (se->ts[0] % part < 0),
                b = se->ts[se->n - 1] / part - (se->ts[se->n - 1] % part < 0);
        lo = a < lo ? a : lo;
        hi = b > hi ? b : hi;
    }
    size_t *at = calloc(d->cols.n + 1, sizeof *at);
    for (int64_t p = lo; p <= hi; p++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%016llx.seg", d->dir[policy],
                 (unsigned long long)(p - lo + 1));
        seg_writer *w = NULL;
        int opened = 0;
        for (size_t s = 0; s < d->cols.n; s++) {
            const wl_series *se = &d->cols.s[s];
            size_t i = at[s], j = i;
            while (j < se->n && se->ts[j] / part - (se->ts[j] % part < 0) == p)
                j++;
            if (j == i)
                continue;
            if (!opened) {
                if (segw_open(path, (uint64_t)(p - lo + 1), p * part, p * part + part - 1, &w) !=
                    STRATA_OK) {
                    fprintf(stderr, "bench_codec: %s\n", strata_errmsg(NULL));
                    exit(1);
                }
                segw_set_policy(w, policy);
                opened = 1;
            }
            if (segw_add(w, (uint32_t)s, se->type, se->ts + i, se->v + i, j - i) != STRATA_OK) {
                fprintf(stderr, "bench_codec: %s\n", strata_errmsg(NULL));
                exit(1);
            }
            at[s] = j;
        }
        if (!opened)
            continue;
        seg_info in;
        if (segw_finish(w, &in) != STRATA_OK) {
            fprintf(stderr, "bench_codec: %s\n", strata_errmsg(NULL));
            exit(1);
        }
        d->seg_bytes[policy] += in.size;
        d->seg_index[policy] += in.index_len;
    }
    free(at);
}

static int load(dataset *d, int k)
{
    int rc;
    if (k == 0) {
        wl_text t;
        rc = wl_fleet_text(trucks, &t) || wl_columns_from_text(&t, &d->cols) ? -1 : 0;
        wl_text_free(&t);
    } else {
        rc = (k == 1 ? wl_nab_columns : wl_beijing_columns)(fixtures, &d->cols);
    }
    if (rc < 0) {
        fprintf(stderr, "bench_codec: cannot load the %s data\n", d->name);
        exit(1);
    }
    d->present = rc == 0;
    return d->present;
}

typedef double f64x4 __attribute__((vector_size(32)));

static seg_reader *scan_r[2][64];
static size_t scan_nr[2];

static int open_scan(int policy)
{
    dataset *d = &sets[0];
    for (uint64_t id = 1; scan_nr[policy] < 64; id++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%016llx.seg", d->dir[policy], (unsigned long long)id);
        struct stat sb;
        if (stat(path, &sb) != 0)
            break;
        if (segr_open(path, &scan_r[policy][scan_nr[policy]]) != STRATA_OK)
            return -1;
        scan_nr[policy]++;
    }
    return 0;
}

/* One full scan of the fleet's float64 values through the segment reader;
 * the stddev, or NAN when a chunk does not decode.  *values receives the
 * count.  The sums are kept in eight independent lanes (two four-wide
 * vectors), as an aggregation loop of a query engine would. */
static double scan_once(int policy, uint64_t *values)
{
    f64x4 s0 = {0, 0, 0, 0}, s1 = s0, q0 = s0, q1 = s0;
    double tail_s = 0, tail_q = 0;
    uint64_t nv = 0;
    for (size_t k = 0; k < scan_nr[policy]; k++) {
        seg_reader *r = scan_r[policy][k];
        for (uint32_t i = 0; i < segr_info(r)->nseries; i++) {
            seg_cursor c;
            chunk_meta m;
            segr_series_at(r, i, &c);
            while (segr_next_chunk(&c, &m) == STRATA_ROW) {
                if (c.type != STRATA_F64)
                    continue;
                if (segr_decode_values(r, &m, scratch_v) != STRATA_OK)
                    return NAN;
                const double *x = (const double *)(const void *)scratch_v;
                uint32_t n = m.st.count, j = 0;
                for (; j + 8 <= n; j += 8) {
                    f64x4 a, b;
                    memcpy(&a, x + j, sizeof a);
                    memcpy(&b, x + j + 4, sizeof b);
                    s0 += a;
                    s1 += b;
                    q0 += a * a;
                    q1 += b * b;
                }
                for (; j < n; j++) {
                    tail_s += x[j];
                    tail_q += x[j] * x[j];
                }
                nv += n;
            }
        }
    }
    f64x4 ss = s0 + s1, qq = q0 + q1;
    double sum = tail_s + ss[0] + ss[1] + ss[2] + ss[3];
    double sq = tail_q + qq[0] + qq[1] + qq[2] + qq[3], mean = sum / (double)nv;
    *values = nv;
    return sqrt(sq / (double)nv - mean * mean);
}

static void prepare(void)
{
    size_t maxn = SEG_CHUNK_MAX;
    scratch_v = malloc(maxn * sizeof *scratch_v);
    scratch_t = malloc(maxn * sizeof *scratch_t);
    scratch_b = malloc(chunk_bound(STRATA_F64, maxn) + chunk_bound(STRATA_I64, maxn));
    for (int k = 0; k < NSETS; k++) {
        dataset *d = &sets[k];
        if (!load(d, k))
            continue;
        d->part_ns = (k ? fixture_partition_days : partition_days) * 86400000000000LL;
        cut_chunks(d);
        for (unsigned id = 1; id <= DEC_FOR; id++)
            encode_set(d, id);
        write_segments(d, CHUNK_CLASSIC);
        write_segments(d, CHUNK_BEST);
    }
    if (sets[0].present && (open_scan(CHUNK_CLASSIC) || open_scan(CHUNK_BEST))) {
        fprintf(stderr, "bench_codec: %s\n", strata_errmsg(NULL));
        exit(1);
    }
}

/* ---- benchmarks --------------------------------------------------------------------- */

typedef struct bmarg {
    int set;
    unsigned id;
    int decode;
} bmarg;

static bmarg args[80];
static size_t nargs; /* at most 80: one function each in fns[] */
static const bmarg *current;

/* One pass of codec row id over every chunk of d; 0, or -1 when a chunk
 * does not decode. */
static int pass(dataset *d, unsigned id, int decode)
{
    encset *e = &d->enc[id];
    pack_set_orders(id == DEC_FOR ? 1 : 7);
    for (size_t k = 0; k < d->nch; k++) {
        const chunkref *c = &d->ch[k];
        if (e->len[k] == CODEC_NA)
            continue;
        if (id == CHOSEN) {
            if (decode) {
                if (chunk_decode(&e->meta[k], e->buf[k], scratch_t, scratch_v) != 0)
                    return -1;
            } else {
                chunk_meta m;
                chunk_encode(c->type, c->ts, c->v, c->n, CHUNK_BEST, scratch_b, &m);
            }
        } else if (decode) {
            if (codec_get(codec_of(id))->decode(e->buf[k], e->len[k], c->n, &e->ends[k], scratch_v))
                return -1;
        } else {
            codec_get(codec_of(id))->encode(column(codec_of(id), c), c->n, scratch_b);
        }
        gb_do_not_optimize(scratch_v);
        gb_do_not_optimize(scratch_b);
    }
    pack_set_orders(7);
    return 0;
}

/* The table's speeds: the fastest of TABLE_ENC encoding and TABLE_DEC
 * decoding passes of every row, the best case of this noisy VM.  The rounds
 * go over all rows in turn, so that each row's passes are spread over the
 * whole measurement (a few seconds) rather than taken in one burst that a
 * busy moment of the machine can cover entirely. */
#define TABLE_ENC 3
#define TABLE_DEC 20
static double best_s[NSETS][NCOL][2];

static void table_rates(void)
{
    for (int k = 0; k < NSETS; k++)
        for (unsigned id = 0; id < NCOL; id++)
            best_s[k][id][0] = best_s[k][id][1] = 1e9;
    for (int r = 0; r < TABLE_DEC; r++)
        for (int k = 0; k < NSETS; k++)
            for (unsigned id = 1; sets[k].present && id <= DEC_FOR; id++)
                for (int dec = r < TABLE_ENC ? 0 : 1; sets[k].enc[id].values && dec < 2; dec++) {
                    double t0 = now_s();
                    pass(&sets[k], id, dec);
                    double t = now_s() - t0;
                    best_s[k][id][dec] = t < best_s[k][id][dec] ? t : best_s[k][id][dec];
                }
}

static void run(gb_state *st)
{
    const bmarg *a = current;
    dataset *d = &sets[a->set];
    encset *e = &d->enc[a->id];
    if (!e->values) {
        gb_skip_with_error(st, "no chunk this codec takes");
        return;
    }
    while (gb_loop(st)) {
        if (pass(d, a->id, a->decode)) {
            gb_skip_with_error(st, "decode failed");
            return;
        }
    }
    gb_set_items_processed(st, gb_iterations(st) * (int64_t)e->values);
    gb_counter_set(st, "bits_per_value", 8.0 * (double)e->bytes / (double)e->values, 0);
    gb_counter_set(st, "coverage", (double)e->values / (double)(e->all ? e->all : 1), 0);
    gb_counter_set(st, "values", (double)e->values, 0);
}

#define BM_FN(i)                                                                                   \
    static void bm_##i(gb_state *st)                                                               \
    {                                                                                              \
        current = &args[i];                                                                        \
        run(st);                                                                                   \
    }
#define BM10(b)                                                                                    \
    BM_FN(b##0) BM_FN(b##1) BM_FN(b##2) BM_FN(b##3) BM_FN(b##4) BM_FN(b##5) BM_FN(b##6)           \
        BM_FN(b##7) BM_FN(b##8) BM_FN(b##9)
BM_FN(0) BM_FN(1) BM_FN(2) BM_FN(3) BM_FN(4) BM_FN(5) BM_FN(6) BM_FN(7) BM_FN(8) BM_FN(9) BM10(1)
    BM10(2) BM10(3) BM10(4) BM10(5) BM10(6) BM10(7)
#define FN10(b) bm_##b##0, bm_##b##1, bm_##b##2, bm_##b##3, bm_##b##4, bm_##b##5, bm_##b##6,      \
                bm_##b##7, bm_##b##8, bm_##b##9
static const gb_fn fns[] = {bm_0, bm_1, bm_2, bm_3, bm_4, bm_5, bm_6, bm_7, bm_8, bm_9,
                            FN10(1), FN10(2), FN10(3), FN10(4), FN10(5), FN10(6), FN10(7)};

static void scan(gb_state *st, int policy)
{
    uint64_t values = 0;
    double sd = 0;
    while (gb_loop(st)) {
        sd = scan_once(policy, &values);
        if (sd != sd) {
            gb_skip_with_error(st, "decode failed");
            return;
        }
        gb_do_not_optimize(&sd);
    }
    gb_set_items_processed(st, gb_iterations(st) * (int64_t)values);
    gb_counter_set(st, "values", (double)values, 0);
    gb_counter_set(st, "stddev", sd, 0);
}

/* The two scans alternated, best of each: this VM's noise comes and goes,
 * and a ratio of two runs taken at different moments drifts with it. */
static void scan_ratio(double *classic, double *chosen)
{
    double best[2] = {1e9, 1e9};
    uint64_t values = 0;
    for (int round = 0; round < 30; round++)
        for (int p = 0; p < 2; p++) {
            double t0 = now_s();
            scan_once(p, &values);
            double t = now_s() - t0;
            best[p] = t < best[p] ? t : best[p];
        }
    *classic = (double)values / best[CHUNK_CLASSIC];
    *chosen = (double)values / best[CHUNK_BEST];
}

static void bm_scan_classic(gb_state *st)
{
    scan(st, CHUNK_CLASSIC);
}

static void bm_scan_chosen(gb_state *st)
{
    scan(st, CHUNK_BEST);
}

static const char *col_name(unsigned id)
{
    return id == CHOSEN ? "chosen" : id == DEC_FOR ? "f64-decimal-for" : codec_get(id)->name;
}

static void print_table(void)
{
    table_rates();
    printf("\nBits per value and speed per codec (values/s on this machine: the best of %d\n"
           "encoding and %d decoding passes, single-threaded, rows taken in turn).\n"
           "Codec rows: the columns each codec fits, chunks it cannot take left out "
           "(coverage).\n"
           "chosen: both columns, chunk_encode; segments: whole segment files "
           "(data, index, headers) / values.\n",
           TABLE_ENC, TABLE_DEC);
    for (int k = 0; k < NSETS; k++) {
        dataset *d = &sets[k];
        if (!d->present) {
            printf("\n%s: fixture not found under %s, skipped\n", d->name, fixtures);
            continue;
        }
        const encset *g = &d->enc[CODEC_F64_GORILLA];
        double gbits = 8.0 * (double)g->bytes / (double)(g->values ? g->values : 1);
        printf("\n%s: %zu series, %llu values, %zu chunks (partitions of %lld d)\n", d->name,
               d->cols.n, (unsigned long long)d->values, d->nch,
               (long long)(d->part_ns / 86400000000000LL));
        printf("  %-22s %10s %9s %9s %12s %12s\n", "codec", "bits/val", "vs gor.", "coverage",
               "enc Mval/s", "dec Mval/s");
        for (unsigned id = 1; id <= DEC_FOR; id++) {
            const encset *e = &d->enc[id];
            if (!e->all)
                continue;
            double bits = 8.0 * (double)e->bytes / (double)(e->values ? e->values : 1);
            unsigned cid = codec_of(id);
            int is_value = id != CHOSEN && !(codec_get(cid)->columns & CODEC_COL_TS);
            char ratio[16] = "";
            if (is_value && (codec_get(cid)->columns & CODEC_COL_F64) && g->values)
                snprintf(ratio, sizeof ratio, "%.3f", bits / gbits);
            double enc = e->values ? (double)e->values / best_s[k][id][0] : 0;
            double dec = e->values ? (double)e->values / best_s[k][id][1] : 0;
            printf("  %-22s %10.3f %9s %8.1f%% %12.1f %12.1f\n", col_name(id), bits, ratio,
                   100.0 * (double)e->values / (double)e->all, enc / 1e6, dec / 1e6);
        }
        for (int p = 0; p < 2; p++)
            printf("  %-22s %10.3f bits/value = %.4f bytes/value (index %.4f)\n",
                   p == CHUNK_BEST ? "segments, chosen" : "segments, classic",
                   8.0 * (double)d->seg_bytes[p] / (double)d->values,
                   (double)d->seg_bytes[p] / (double)d->values,
                   (double)d->seg_index[p] / (double)d->values);
    }
    if (scan_nr[0] && scan_nr[1]) {
        double classic, chosen;
        scan_ratio(&classic, &chosen);
        printf("\nfleet full scan of the segment files (values decoded, sum, sum of squares), "
               "best of 30 alternated runs:\n  classic (Gorilla values) %.1f Mval/s, chosen "
               "%.1f Mval/s: %.2fx\n",
               classic / 1e6, chosen / 1e6, chosen / classic);
    }
}

int main(int argc, char **argv)
{
    gb_flag_int("trucks", &trucks, "fleet size (20 = small, 200 = default scale)");
    gb_flag_int("partition_days", &partition_days, "the fleet's time partition in days (chunking)");
    gb_flag_int("fixture_partition_days", &fixture_partition_days,
                "NAB's and Beijing's time partition in days");
    gb_flag_string("fixtures", &fixtures,
                   "directory with nab/ and beijing-aq/ (skipped when absent)");
    gb_set_default_min_time(0.2);
    int rc = gb_init(argc, argv);
    if (rc != GB_CONTINUE)
        return rc;
    prepare();
    gb_context_addf("workload",
                    "fleet %lld trucks x 1 day, 10 s, partitions %lld d; fixtures %s, "
                    "partitions %lld d",
                    (long long)trucks, (long long)partition_days, fixtures,
                    (long long)fixture_partition_days);
    for (int k = 0; k < NSETS; k++) {
        if (!sets[k].present)
            continue;
        for (unsigned id = 1; id <= DEC_FOR; id++) {
            if (!sets[k].enc[id].all)
                continue;
            for (int dec = 0; dec < 2; dec++) {
                args[nargs] = (bmarg){k, id, dec};
                char name[128];
                snprintf(name, sizeof name, "BM_%s/%s/%s", dec ? "Decode" : "Encode", sets[k].name,
                         col_name(id));
                gb_bench_register(name, fns[nargs]);
                nargs++;
            }
        }
    }
    gb_bench_register("BM_Scan/fleet/classic", bm_scan_classic);
    gb_bench_register("BM_Scan/fleet/chosen", bm_scan_chosen);
    rc = gb_run();
    print_table();
    for (int p = 0; p < 2; p++)
        for (size_t k = 0; k < scan_nr[p]; k++)
            segr_unref(scan_r[p][k]);
    for (int k = 0; k < NSETS; k++)
        for (int p = 0; p < 2; p++)
            wl_rmrf(sets[k].dir[p]);
    return rc;
}
