/*
 * fuzz_segment.c — libFuzzer target: the bytes of a segment file (FORMAT.md
 * §5) with their header, index and footer checksums made right, so that the
 * mutations reach the index parser and the chunk decoders instead of
 * stopping at a checksum.  The file is opened, every series walked, its
 * last entry taken, every chunk decoded three ways, and the file verified.
 * Any result but a crash, a leak or undefined behaviour.
 *
 * With FUZZ_SEEDS=DIR set, initialisation first writes three real segments
 * (the three column types, regular and irregular times) into DIR as seeds.
 * Run by `make fuzz`.
 */
#include "engine/chunk.h"
#include "engine/segment.h"
#include "engine/segment_format.h"
#include "strata.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

static char path[64];
static int64_t ts[SEG_CHUNK_MAX];
static uint64_t v[SEG_CHUNK_MAX];

static uint64_t ld64(const uint8_t *p)
{
    uint64_t x;
    memcpy(&x, p, 8);
    return x;
}

static void st64(uint8_t *p, uint64_t x)
{
    memcpy(p, &x, 8);
}

static void quiet(void *ctx, const char *msg)
{
    (void)ctx;
    (void)msg;
}

static void write_seeds(const char *dir)
{
    for (int k = 0; k < 3; k++) {
        char p[512];
        snprintf(p, sizeof p, "%s/segment%d", dir, k);
        seg_writer *w;
        if (segw_open(p, 7, 0, 86400000000000LL - 1, &w))
            exit(1);
        for (uint32_t s = 0; s < 3; s++) {
            size_t n = 200 + 500 * (size_t)k;
            for (size_t i = 0; i < n; i++) {
                ts[i] = (int64_t)i * (k == 2 ? 1000000007LL : 10000000000LL);
                double x = k == 1 ? (double)(i % 17) * 0.25 : 20 + (double)i / 7;
                v[i] = s == 1 ? i * 3 : i % 3 == 0;
                if (s == 0)
                    memcpy(&v[i], &x, 8);
            }
            if (segw_add(w, s * 5 + 1, (uint8_t)(STRATA_F64 + s), ts, v, n))
                exit(1);
        }
        seg_info in;
        if (segw_finish(w, &in))
            exit(1);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(path, sizeof path, "/tmp/strata-fuzz-segment.%d.seg", (int)getpid());
    if (getenv("FUZZ_SEEDS"))
        write_seeds(getenv("FUZZ_SEEDS"));
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    if (n < SEG_HEADER_SIZE + SEG_FOOTER_SIZE || n > (1u << 20))
        return 0;
    uint8_t *b = malloc(n);
    if (!b)
        return 0;
    memcpy(b, d, n);
    st64(b + 56, XXH3_64bits(b, 56));
    uint8_t *f = b + n - SEG_FOOTER_SIZE;
    uint64_t io = ld64(f), il = ld64(f + 8);
    if (io <= n && il <= n - io)
        st64(f + 56, XXH3_64bits(b + io, il));
    st64(f + 64, XXH3_64bits(f, 64));
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, b, n) != (ssize_t)n)
        exit(1);
    close(fd);
    free(b);
    seg_reader *r;
    if (segr_open(path, &r) == STRATA_OK) {
        const seg_info *in = segr_info(r);
        for (uint32_t i = 0; i < in->nseries; i++) {
            seg_cursor c;
            if (!segr_series_at(r, i, &c))
                break;
            uint32_t sid = c.sid;
            chunk_meta m;
            while (segr_next_chunk(&c, &m) == STRATA_ROW)
                if (segr_decode(r, &m, ts, v) == STRATA_OK) {
                    (void)segr_decode_values(r, &m, v);
                    (void)segr_decode_times(r, &m, ts);
                }
            (void)segr_last_chunk(r, sid, &m);
        }
        segr_unref(r);
    }
    (void)segr_verify(path, quiet, NULL, NULL);
    return 0;
}
