/*
 * bench_codec.c — encode and decode throughput of every column codec, and
 * the bytes per value they reach, on the fleet workload (generated in
 * memory; --trucks=20 is the peers' small scale).  Columns are cut into
 * chunks of 360 points, the chunk the grid gives a 10 s series (one hour).
 *
 *   BM_Encode/<codec>, BM_Decode/<codec>
 *     ts-dod       the timestamps of every series
 *     f64-gorilla  the 9 float64 fields of every truck
 *     i64-delta    the int64 field (status)
 *     bool-bits    status != 0, as a bool column
 *   counters: items_per_second = values/s, bytes_per_value
 */
#include "bench/gbench.h"
#include "bench/workload.h"

#include "engine/codec.h"
#include "strata.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 360

static int64_t trucks = 20;

typedef struct chunkset {
    const uint64_t **in; /* chunk inputs */
    size_t *n;
    uint8_t **enc; /* encoded once, for decoding */
    size_t *enc_len;
    size_t nchunks, values, bytes;
    uint64_t *bool_store;
} chunkset;

static chunkset sets[CODEC_BOOL_BITS + 1];
static uint64_t *scratch_vals;
static uint8_t *scratch_bytes;

static void add_chunks(chunkset *cs, const uint64_t *v, size_t n)
{
    for (size_t i = 0; i < n; i += CHUNK) {
        size_t k = n - i < CHUNK ? n - i : CHUNK;
        cs->in = realloc(cs->in, (cs->nchunks + 1) * sizeof *cs->in);
        cs->n = realloc(cs->n, (cs->nchunks + 1) * sizeof *cs->n);
        cs->in[cs->nchunks] = v + i;
        cs->n[cs->nchunks++] = k;
        cs->values += k;
    }
}

static void prepare(void)
{
    wl_text t;
    wl_columns c;
    if (wl_fleet_text(trucks, &t) || wl_columns_from_text(&t, &c)) {
        fprintf(stderr, "bench_codec: cannot build the workload\n");
        exit(1);
    }
    wl_text_free(&t);
    size_t nbool = 0;
    for (size_t i = 0; i < c.n; i++) {
        wl_series *s = &c.s[i];
        add_chunks(&sets[CODEC_TS_DOD], (const uint64_t *)s->ts, s->n);
        if (s->type == STRATA_F64)
            add_chunks(&sets[CODEC_F64_GORILLA], s->v, s->n);
        if (s->type == STRATA_I64) {
            add_chunks(&sets[CODEC_I64_DELTA], s->v, s->n);
            nbool += s->n;
        }
    }
    /* bools: status != 0, series by series (kept alive in bool_store) */
    chunkset *bs = &sets[CODEC_BOOL_BITS];
    bs->bool_store = malloc((nbool ? nbool : 1) * sizeof *bs->bool_store);
    size_t at = 0;
    for (size_t i = 0; i < c.n; i++) {
        wl_series *s = &c.s[i];
        if (s->type != STRATA_I64)
            continue;
        for (size_t k = 0; k < s->n; k++)
            bs->bool_store[at + k] = s->v[k] != 0;
        at += s->n;
    }
    at = 0;
    for (size_t i = 0; i < c.n; i++)
        if (c.s[i].type == STRATA_I64) {
            add_chunks(bs, bs->bool_store + at, c.s[i].n);
            at += c.s[i].n;
        }
    /* The columns must outlive the benchmarks: keep c (never freed). */
    for (unsigned id = 1; id <= CODEC_BOOL_BITS; id++) {
        chunkset *cs = &sets[id];
        const codec *cd = codec_get(id);
        cs->enc = calloc(cs->nchunks + 1, sizeof *cs->enc);
        cs->enc_len = calloc(cs->nchunks + 1, sizeof *cs->enc_len);
        for (size_t k = 0; k < cs->nchunks; k++) {
            cs->enc[k] = malloc(cd->bound(cs->n[k]));
            cs->enc_len[k] = cd->encode(cs->in[k], cs->n[k], cs->enc[k]);
            cs->bytes += cs->enc_len[k];
        }
    }
    scratch_vals = malloc(CHUNK * sizeof *scratch_vals);
    scratch_bytes = malloc(codec_f64_gorilla.bound(CHUNK) + codec_ts_dod.bound(CHUNK));
}

static void run(gb_state *st, unsigned id, int decode)
{
    const chunkset *cs = &sets[id];
    const codec *cd = codec_get(id);
    if (!cs->values) {
        gb_skip_with_error(st, "no values of this type in the workload");
        return;
    }
    while (gb_loop(st)) {
        for (size_t k = 0; k < cs->nchunks; k++) {
            if (decode) {
                if (cd->decode(cs->enc[k], cs->enc_len[k], cs->n[k], NULL, scratch_vals) != 0) {
                    gb_skip_with_error(st, "decode failed");
                    return;
                }
                gb_do_not_optimize(scratch_vals);
            } else {
                size_t len = cd->encode(cs->in[k], cs->n[k], scratch_bytes);
                gb_do_not_optimize(scratch_bytes);
                (void)len;
            }
        }
    }
    gb_set_items_processed(st, gb_iterations(st) * (int64_t)cs->values);
    gb_counter_set(st, "bytes_per_value", (double)cs->bytes / (double)cs->values, 0);
    gb_counter_set(st, "values", (double)cs->values, 0);
}

#define CODEC_BENCH(id, sym)                                                                       \
    static void bm_enc_##sym(gb_state *st)                                                         \
    {                                                                                              \
        run(st, id, 0);                                                                            \
    }                                                                                              \
    static void bm_dec_##sym(gb_state *st)                                                         \
    {                                                                                              \
        run(st, id, 1);                                                                            \
    }
CODEC_BENCH(CODEC_TS_DOD, ts)
CODEC_BENCH(CODEC_F64_GORILLA, gorilla)
CODEC_BENCH(CODEC_I64_DELTA, i64)
CODEC_BENCH(CODEC_BOOL_BITS, bool)

int main(int argc, char **argv)
{
    gb_flag_int("trucks", &trucks, "fleet size (20 = small, 200 = default scale)");
    int rc = gb_init(argc, argv);
    if (rc != GB_CONTINUE)
        return rc;
    gb_context_addf("workload", "fleet, %lld trucks x 1 day, 10 s, chunks of %d",
                    (long long)trucks, CHUNK);
    prepare();
    gb_bench_register("BM_Encode/ts-dod", bm_enc_ts);
    gb_bench_register("BM_Decode/ts-dod", bm_dec_ts);
    gb_bench_register("BM_Encode/f64-gorilla", bm_enc_gorilla);
    gb_bench_register("BM_Decode/f64-gorilla", bm_dec_gorilla);
    gb_bench_register("BM_Encode/i64-delta", bm_enc_i64);
    gb_bench_register("BM_Decode/i64-delta", bm_dec_i64);
    gb_bench_register("BM_Encode/bool-bits", bm_enc_bool);
    gb_bench_register("BM_Decode/bool-bits", bm_dec_bool);
    return gb_run();
}
