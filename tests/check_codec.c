/*
 * check_codec.c — the column codecs (engine/codec*.c, FORMAT.md §6):
 * bit-exact round trips on edge values, golden bytes for each format,
 * bucket boundaries, the bound() guarantee (canaries around a buffer of
 * exactly bound(n) bytes), and corruption (every truncation, trailing
 * bytes, random flips, random garbage) — decoders must fail cleanly and,
 * under AddressSanitizer, never touch a byte outside their input.
 */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/bitstream.h"
#include "engine/codec.h"
#include "tests/testutil.h"

#define CANARY 0xA5
#define GUARD 32

static const codec *const codecs64[] = {&codec_ts_dod, &codec_f64_gorilla, &codec_i64_delta};

static uint64_t f2u(double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    return u;
}

/* A private copy of exactly `len` bytes, so that AddressSanitizer flags any
 * read past the end (malloc(0) is a valid zero-size block there). */
static uint8_t *exact_copy(const uint8_t *src, size_t len)
{
    uint8_t *p = malloc(len);
    ck_assert(p != NULL || len == 0);
    if (len)
        memcpy(p, src, len);
    return p;
}

/* Encode into a buffer of exactly bound(n) bytes between canaries; returns
 * a malloc'd copy of the encoding and its length. */
static uint8_t *encode_checked(const codec *c, const uint64_t *in, size_t n, size_t *len)
{
    size_t bound = c->bound(n);
    uint8_t *buf = malloc(bound + 2 * GUARD);
    ck_assert_ptr_nonnull(buf);
    memset(buf, CANARY, bound + 2 * GUARD);
    size_t got = c->encode(in, n, buf + GUARD);
    ck_assert_msg(got <= bound, "%s: %zu values encoded to %zu bytes, bound %zu", c->name, n, got,
                  bound);
    for (size_t i = 0; i < GUARD; i++) {
        ck_assert_msg(buf[i] == CANARY, "%s: wrote before the buffer", c->name);
        ck_assert_msg(buf[GUARD + bound + i] == CANARY, "%s: wrote past bound(%zu)", c->name, n);
    }
    uint8_t *enc = exact_copy(buf + GUARD, got);
    free(buf);
    *len = got;
    return enc;
}

static int decode_exact(const codec *c, const uint8_t *in, size_t len, size_t n, uint64_t *out)
{
    uint8_t *copy = exact_copy(in, len);
    int rc = c->decode(copy, len, n, out);
    free(copy);
    return rc;
}

/* Every truncation of a valid encoding is rejected without reading beyond
 * the shortened buffer; so is the encoding with one more byte. */
static void check_corrupt_lengths(const codec *c, const uint8_t *enc, size_t len, size_t n,
                                  int every)
{
    uint64_t *out = malloc((n ? n : 1) * sizeof *out);
    ck_assert_ptr_nonnull(out);
    for (size_t cut = len; cut-- > 0;) {
        if (!every && cut + 64 < len && cut > 64 && cut % 97 != 0)
            continue;
        ck_assert_msg(decode_exact(c, enc, cut, n, out) == -1,
                      "%s: n=%zu, %zu of %zu bytes accepted", c->name, n, cut, len);
    }
    uint8_t *longer = malloc(len + 1);
    ck_assert_ptr_nonnull(longer);
    if (len)
        memcpy(longer, enc, len);
    longer[len] = 0;
    ck_assert_msg(c->decode(longer, len + 1, n, out) == -1, "%s: trailing byte accepted", c->name);
    free(longer);
    free(out);
}

/* Encode, decode, compare bit for bit; then the corrupt-length checks.
 * Returns the encoded length. */
static size_t roundtrip(const codec *c, const uint64_t *in, size_t n)
{
    size_t len;
    uint8_t *enc = encode_checked(c, in, n, &len);
    uint64_t *out = malloc((n ? n : 1) * sizeof *out);
    ck_assert_ptr_nonnull(out);
    ck_assert_int_eq(decode_exact(c, enc, len, n, out), 0);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(out[i] == in[i], "%s: value %zu of %zu: got %016llx want %016llx", c->name, i,
                      n, (unsigned long long)out[i], (unsigned long long)in[i]);
    check_corrupt_lengths(c, enc, len, n, len <= 2048);
    free(out);
    free(enc);
    return len;
}

static void roundtrip64(const uint64_t *in, size_t n)
{
    for (size_t k = 0; k < sizeof codecs64 / sizeof codecs64[0]; k++)
        roundtrip(codecs64[k], in, n);
}

static void expect_bytes(const codec *c, const uint64_t *in, size_t n, const uint8_t *want,
                         size_t want_len)
{
    size_t len;
    uint8_t *enc = encode_checked(c, in, n, &len);
    ck_assert_msg(len == want_len, "%s: %zu bytes, want %zu", c->name, len, want_len);
    for (size_t i = 0; i < len; i++)
        ck_assert_msg(enc[i] == want[i], "%s: byte %zu is %02x, want %02x", c->name, i, enc[i],
                      want[i]);
    free(enc);
    roundtrip(c, in, n);
}

static const uint64_t f64_specials[] = {
    0x7FF8000000000000ull, /* quiet NaN */
    0xFFF8000000000000ull, /* -quiet NaN */
    0x7FF8000000000001ull, /* quiet NaN, payload 1 */
    0xFFFFFFFFFFFFFFFFull, /* -quiet NaN, all payload bits */
    0x7FF0000000000001ull, /* signalling NaN, smallest payload */
    0xFFF4000000000000ull, /* -signalling NaN */
    0x7FF7FFFFFFFFFFFFull, /* signalling NaN, largest payload */
    0x7FF0000000000000ull, /* +Inf */
    0xFFF0000000000000ull, /* -Inf */
    0x0000000000000000ull, /* +0.0 */
    0x8000000000000000ull, /* -0.0 */
    0x0000000000000001ull, /* smallest denormal */
    0x800FFFFFFFFFFFFFull, /* -largest denormal */
    0x000FFFFFFFFFFFFFull, /* largest denormal */
    0x0010000000000000ull, /* DBL_MIN */
    0x7FEFFFFFFFFFFFFFull, /* DBL_MAX */
    0xFFEFFFFFFFFFFFFFull, /* -DBL_MAX */
    0x3FF0000000000000ull, /* 1.0 */
};
#define N_SPECIALS (sizeof f64_specials / sizeof f64_specials[0])

static const uint64_t i64_extremes[] = {
    (uint64_t)INT64_MIN,
    (uint64_t)INT64_MAX,
    (uint64_t)INT64_MIN + 1,
    (uint64_t)INT64_MAX - 1,
    0,
    1,
    (uint64_t)-1,
    2,
    (uint64_t)-2,
};
#define N_EXTREMES (sizeof i64_extremes / sizeof i64_extremes[0])

START_TEST(test_registry)
{
    ck_assert_ptr_eq(codec_get(CODEC_TS_DOD), &codec_ts_dod);
    ck_assert_ptr_eq(codec_get(CODEC_F64_GORILLA), &codec_f64_gorilla);
    ck_assert_ptr_eq(codec_get(CODEC_I64_DELTA), &codec_i64_delta);
    ck_assert_ptr_eq(codec_get(CODEC_BOOL_BITS), &codec_bool_bits);
    for (unsigned id = 1; id <= CODEC_MAX_ID; id++) {
        ck_assert_uint_eq(codec_get(id)->id, id);
        ck_assert_ptr_nonnull(codec_get(id)->name);
    }
    ck_assert_ptr_null(codec_get(0));
    ck_assert_ptr_null(codec_get(CODEC_MAX_ID + 1));
    ck_assert_ptr_null(codec_get(255));
    ck_assert_ptr_null(codec_get(~0u));
}
END_TEST

/* Random fields of random widths through the bit writer and reader. */
START_TEST(test_bitstream)
{
    enum { FIELDS = 5000 };
    uint64_t seed = 42;
    static uint64_t val[FIELDS];
    static unsigned width[FIELDS];
    size_t bits = 0;
    for (size_t i = 0; i < FIELDS; i++) {
        unsigned k = 1 + (unsigned)(tu_rand(&seed) % 64);
        if (i % 7 == 0)
            k = 64;
        width[i] = k;
        val[i] = k == 64 ? tu_rand(&seed) : tu_rand(&seed) & ((1ull << k) - 1);
        bits += k;
    }
    size_t cap = (bits + 7) / 8;
    uint8_t *buf = malloc(cap + GUARD);
    memset(buf, CANARY, cap + GUARD);
    bitw w;
    bitw_init(&w, buf);
    for (size_t i = 0; i < FIELDS; i++)
        bitw_put(&w, val[i], width[i]);
    ck_assert_uint_eq(bitw_finish(&w), cap);
    for (size_t i = 0; i < GUARD; i++)
        ck_assert_uint_eq(buf[cap + i], CANARY);
    uint8_t *copy = exact_copy(buf, cap);
    bitr r;
    bitr_init(&r, copy, cap);
    for (size_t i = 0; i < FIELDS; i++)
        ck_assert_uint_eq(bitr_get64(&r, width[i]), val[i]);
    ck_assert_int_eq(bitr_done(&r), 0);
    free(copy);
    free(buf);
}
END_TEST

START_TEST(test_empty)
{
    uint8_t byte = 0;
    uint64_t v = 7;
    for (unsigned id = 1; id <= CODEC_MAX_ID; id++) {
        const codec *c = codec_get(id);
        ck_assert_uint_eq(c->bound(0), 0);
        ck_assert_uint_eq(c->encode(&v, 0, &byte), 0);
        ck_assert_int_eq(c->decode(&byte, 0, 0, &v), 0);
        ck_assert_int_eq(c->decode(&byte, 1, 0, &v), -1);
        ck_assert_uint_eq(v, 7);
    }
}
END_TEST

START_TEST(test_golden_ts)
{
    /* 1000: 64 bits; d1 = 10, zz 20 = 10100b: L=5 '0000101' '10100';
     * dod 0: '0'; dod 1, zz 2: '10' '000000000010'.  27 bits after the
     * first word: 00001011 01000100 00000000 010(00000). */
    static const uint64_t a[] = {1000, 1010, 1020, 1031};
    static const uint8_t ea[] = {0, 0, 0, 0, 0, 0, 0x03, 0xE8, 0x0B, 0x44, 0x00, 0x40};
    expect_bytes(&codec_ts_dod, a, 4, ea, sizeof ea);

    /* One value: the raw word only, two's complement, big-endian. */
    static const uint64_t b[] = {(uint64_t)-2};
    static const uint8_t eb[] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE};
    expect_bytes(&codec_ts_dod, b, 1, eb, sizeof eb);

    /* Equal pair: d1 = 0 is L = 0 and no bits; 71 bits -> 9 bytes. */
    static const uint64_t c[] = {7, 7};
    static const uint8_t ec[] = {0, 0, 0, 0, 0, 0, 0, 0x07, 0x00};
    expect_bytes(&codec_ts_dod, c, 2, ec, sizeof ec);

    /* 0, 0, INT64_MIN: L = 0, then dod = INT64_MIN, zz = 2^64-1: '1111' and
     * 64 ones.  After the word: '0000000' '1111' 1^64 -> 01 FF*8 E0. */
    static const uint64_t d[] = {0, 0, (uint64_t)INT64_MIN};
    static const uint8_t ed[] = {0,    0,    0,    0,    0,    0,    0,    0,    0x01,
                                 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xE0};
    expect_bytes(&codec_ts_dod, d, 3, ed, sizeof ed);

    /* -1 then 1: d1 = 2, zz 4 = 100b: L=3 '0000011' '100' -> 07 00. */
    static const uint64_t e[] = {(uint64_t)-1, 1};
    static const uint8_t ee[] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, 0x00};
    expect_bytes(&codec_ts_dod, e, 2, ee, sizeof ee);
}
END_TEST

START_TEST(test_golden_gorilla)
{
    /* 1.0 = 3FF0..; 1.0 again: '0'; 2.0 = 4000.., x = 7FF0.., lz 1, tz 52,
     * ml 11: '11' '00001' '001011' 1^11; 3.0 = 4008.., x = 0008.., lz 12,
     * tz 51 < 52, new window: '11' '01100' '000001' '1'; 2.0, same x, fits:
     * '10' '1'.  42 bits: 01100001 00101111 11111111 11101100 00000111 01. */
    const uint64_t a[] = {f2u(1.0), f2u(1.0), f2u(2.0), f2u(3.0), f2u(2.0)};
    static const uint8_t ea[] = {0x3F, 0xF0, 0, 0, 0, 0, 0, 0, 0x61, 0x2F, 0xFF, 0xEC, 0x07, 0x40};
    expect_bytes(&codec_f64_gorilla, a, 5, ea, sizeof ea);

    /* 0, 1, 0: x = 1 has clz 63, capped at 31, tz 0, ml 33:
     * '11' '11111' '100001' 0^32 '1'; then x = 1 fits: '10' 0^32 '1'. */
    static const uint64_t b[] = {0, 1, 0};
    static const uint8_t eb[] = {0,    0,    0,    0,    0,    0,    0,    0,    0xFF, 0x08,
                                 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x80};
    expect_bytes(&codec_f64_gorilla, b, 3, eb, sizeof eb);

    /* 0, 8000..0001: ml 64 is written as 0: '11' '00000' '000000' then the
     * 64 bits 1 0^62 1. */
    static const uint64_t c[] = {0, 0x8000000000000001ull};
    static const uint8_t ec[] = {0, 0, 0, 0, 0, 0, 0, 0, 0xC0, 0x04, 0, 0, 0, 0, 0, 0, 0, 0x08};
    expect_bytes(&codec_f64_gorilla, c, 2, ec, sizeof ec);
}
END_TEST

START_TEST(test_golden_delta)
{
    /* zz: 0 -> 0, +1 -> 2, -2 -> 3, +64 -> 128 = 80 01. */
    static const uint64_t a[] = {0, 1, (uint64_t)-1, 63};
    static const uint8_t ea[] = {0x00, 0x02, 0x03, 0x80, 0x01};
    expect_bytes(&codec_i64_delta, a, 4, ea, sizeof ea);

    /* INT64_MAX: zz = 2^64-2 = FE FF*8 01; INT64_MIN - INT64_MAX wraps to
     * +1: 02. */
    static const uint64_t b[] = {(uint64_t)INT64_MAX, (uint64_t)INT64_MIN};
    static const uint8_t eb[] = {0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x02};
    expect_bytes(&codec_i64_delta, b, 2, eb, sizeof eb);
}
END_TEST

START_TEST(test_golden_bool)
{
    static const uint64_t a[] = {1, 0, 1, 1, 0, 0, 0, 1, 1, 1};
    static const uint8_t ea[] = {0xB1, 0xC0};
    expect_bytes(&codec_bool_bits, a, 10, ea, sizeof ea);
    static const uint64_t b[] = {0, 0, 0, 0, 0, 0, 0, 1};
    static const uint8_t eb[] = {0x01};
    expect_bytes(&codec_bool_bits, b, 8, eb, sizeof eb);
}
END_TEST

/* Streams no encoder writes, which the decoders must refuse. */
START_TEST(test_impossible_fields)
{
    static uint64_t out[1000];
    /* Gorilla '10' before any window. */
    static const uint8_t g1[] = {0, 0, 0, 0, 0, 0, 0, 0, 0x80};
    ck_assert_int_eq(codec_f64_gorilla.decode(g1, sizeof g1, 2, out), -1);
    /* Gorilla '11' lz 31 ml 34: 31 + 34 > 64. 11 11111 100010 -> FF 10. */
    static const uint8_t g2[] = {0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0x10, 0, 0, 0, 0, 0};
    ck_assert_int_eq(codec_f64_gorilla.decode(g2, sizeof g2, 2, out), -1);
    /* ts: L = 65 = 1000001b. */
    static const uint8_t t1[] = {0, 0, 0, 0, 0, 0, 0, 0, 0x82, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    ck_assert_int_eq(codec_ts_dod.decode(t1, sizeof t1, 2, out), -1);
    /* varint: 11 bytes; tenth byte above 1. */
    static const uint8_t v1[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    ck_assert_int_eq(codec_i64_delta.decode(v1, sizeof v1, 1, out), -1);
    static const uint8_t v2[] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02};
    ck_assert_int_eq(codec_i64_delta.decode(v2, sizeof v2, 1, out), -1);
    /* The same overflowing varint where ten bytes remain (the fast path). */
    uint8_t v3[24] = {0};
    memcpy(v3, v2, sizeof v2);
    ck_assert_int_eq(codec_i64_delta.decode(v3, sizeof v3, 15, out), -1);
    /* Far more values than the bytes can hold. */
    ck_assert_int_eq(codec_ts_dod.decode(g1, sizeof g1, 1000, out), -1);
    ck_assert_int_eq(codec_f64_gorilla.decode(g1, 8, 4, out), -1);
}
END_TEST

START_TEST(test_f64_specials)
{
    uint64_t seq[3 * N_SPECIALS];
    roundtrip64(f64_specials, N_SPECIALS);
    for (size_t i = 0; i < N_SPECIALS; i++)
        seq[i] = f64_specials[N_SPECIALS - 1 - i];
    roundtrip64(seq, N_SPECIALS);
    for (size_t i = 0; i < N_SPECIALS; i++) {
        roundtrip64(&f64_specials[i], 1);
        for (size_t j = 0; j < N_SPECIALS; j++) {
            uint64_t pair[4] = {f64_specials[i], f64_specials[j], f64_specials[i], f64_specials[j]};
            roundtrip64(pair, 2);
            roundtrip64(pair, 4);
        }
    }
    /* Each special in a run, then alternating with its neighbours. */
    for (size_t i = 0; i < N_SPECIALS; i++) {
        for (size_t k = 0; k < 3 * N_SPECIALS; k++)
            seq[k] = k % 5 == 4 ? f64_specials[(i + 1) % N_SPECIALS] : f64_specials[i];
        roundtrip64(seq, 3 * N_SPECIALS);
    }
    /* The C library agrees about the constants we named. */
    ck_assert_uint_eq(f2u(DBL_MAX), 0x7FEFFFFFFFFFFFFFull);
    ck_assert_uint_eq(f2u(DBL_MIN), 0x0010000000000000ull);
    ck_assert_uint_eq(f2u(-0.0), 0x8000000000000000ull);
    ck_assert_uint_eq(f2u(INFINITY), 0x7FF0000000000000ull);
}
END_TEST

START_TEST(test_i64_extremes)
{
    roundtrip64(i64_extremes, N_EXTREMES);
    for (size_t i = 0; i < N_EXTREMES; i++) {
        for (size_t j = 0; j < N_EXTREMES; j++) {
            for (size_t k = 0; k < N_EXTREMES; k++) {
                uint64_t t[3] = {i64_extremes[i], i64_extremes[j], i64_extremes[k]};
                roundtrip64(t, 3);
            }
        }
    }
    /* Alternating INT64_MIN / INT64_MAX: every delta wraps. */
    uint64_t alt[100];
    for (size_t i = 0; i < 100; i++)
        alt[i] = i % 2 ? (uint64_t)INT64_MAX : (uint64_t)INT64_MIN;
    roundtrip64(alt, 100);
    for (size_t i = 0; i < 100; i++)
        alt[i] = i % 3 ? (uint64_t)INT64_MIN + i : (uint64_t)INT64_MAX - i;
    roundtrip64(alt, 100);
}
END_TEST

START_TEST(test_runs_and_patterns)
{
    enum { N = 1500 };
    static uint64_t v[N];
    for (size_t i = 0; i < N; i++)
        v[i] = 0x4059000000000000ull; /* 100.0 */
    roundtrip64(v, N);
    size_t len = roundtrip(&codec_f64_gorilla, v, N);
    ck_assert_uint_eq(len, (64 + N - 1 + 7) / 8); /* one bit per repeat */
    for (size_t i = 0; i < N; i++)
        v[i] = i % 2 ? f2u(1.5) : f2u(-2.25);
    roundtrip64(v, N);
    for (size_t i = 0; i < N; i++)
        v[i] = i / 100 % 2 ? f2u(0.0) : f2u(-0.0);
    roundtrip64(v, N);
    /* Every length up to 130, so every padding width and run split. */
    for (size_t n = 1; n <= 130; n++) {
        for (size_t i = 0; i < n; i++)
            v[i] = (uint64_t)(1700000000000000000ll + 10000000000ll * (int64_t)i + (i % 17 == 0));
        roundtrip64(v, n);
    }
}
END_TEST

START_TEST(test_random_bits)
{
    enum { N = 3000 };
    static uint64_t v[N];
    uint64_t seed = 7;
    for (int round = 0; round < 8; round++) {
        for (size_t i = 0; i < N; i++) {
            uint64_t r = tu_rand(&seed);
            switch (round) {
            case 0: v[i] = r; break;
            case 1: v[i] = r & 0xFFFFFFFF00000000ull; break; /* low bits zero */
            case 2: v[i] = r >> (r % 64); break;             /* mixed widths */
            case 3: v[i] = i ? v[i - 1] ^ (1ull << (r % 64)) : r; break;
            case 4: v[i] = i && r % 3 == 0 ? v[i - 1] : r << (r % 61); break;
            case 5: v[i] = r % 2 ? f64_specials[r % N_SPECIALS] : r; break;
            case 6: v[i] = i ? v[i - 1] + (r % 1000) - 500 : r; break;
            default: v[i] = i ? v[i - 1] - (r >> 20) : r; break; /* decreasing */
            }
        }
        roundtrip64(v, N);
        for (size_t n = 1; n < 40; n++)
            roundtrip64(v + n, n);
    }
}
END_TEST

START_TEST(test_sensor_like)
{
    enum { N = 1024 };
    static uint64_t v[N];
    uint64_t seed = 11;
    double x = 45.123;
    for (size_t i = 0; i < N; i++) {
        x += ((double)(tu_rand(&seed) % 2001) - 1000.0) * 1e-5;
        v[i] = f2u(round(x * 1e5) / 1e5);
    }
    size_t len = roundtrip(&codec_f64_gorilla, v, N);
    ck_assert_uint_lt(len, N * 8);
}
END_TEST

START_TEST(test_ts_patterns)
{
    enum { N = 1000 };
    static uint64_t t[N];
    /* Regular 10 s: one bit per timestamp after the first two. */
    for (size_t i = 0; i < N; i++)
        t[i] = (uint64_t)(1704110400000000000ll + 10000000000ll * (int64_t)i);
    size_t len = roundtrip(&codec_ts_dod, t, N);
    ck_assert_uint_eq(len, (64 + 7 + 35 + N - 2 + 7) / 8); /* zz(10^10) has 35 bits */
    /* Negative timestamps crossing zero, equal timestamps, decreasing. */
    for (size_t i = 0; i < N; i++)
        t[i] = (uint64_t)(-5000ll + 7 * (int64_t)i);
    roundtrip(&codec_ts_dod, t, N);
    for (size_t i = 0; i < N; i++)
        t[i] = (uint64_t)(123456789ll + (int64_t)(i / 10));
    roundtrip(&codec_ts_dod, t, N);
    for (size_t i = 0; i < N; i++)
        t[i] = (uint64_t)(1000000000000ll - 3 * (int64_t)i * (int64_t)i);
    roundtrip(&codec_ts_dod, t, N);
    /* Jitter around 10 s: every bucket in turn. */
    uint64_t seed = 3;
    int64_t now = -1;
    for (size_t i = 0; i < N; i++) {
        uint64_t r = tu_rand(&seed);
        now += 10000000000ll + (int64_t)(r % (1ull << (4 * (i % 12)))) - (int64_t)(i % 5);
        t[i] = (uint64_t)now;
    }
    roundtrip(&codec_ts_dod, t, N);
    /* Huge deltas. */
    static const uint64_t huge[] = {(uint64_t)INT64_MIN,
                                    (uint64_t)INT64_MAX,
                                    (uint64_t)INT64_MIN,
                                    0,
                                    (uint64_t)INT64_MAX,
                                    (uint64_t)INT64_MAX,
                                    1};
    for (size_t n = 1; n <= sizeof huge / sizeof huge[0]; n++)
        roundtrip(&codec_ts_dod, huge, n);
    /* Random 64-bit timestamps take the widest bucket every time: the
     * encoding is exactly bound(n). */
    for (size_t i = 0; i < N; i++)
        t[i] = tu_rand(&seed) | (1ull << 62);
    ck_assert_uint_eq(roundtrip(&codec_ts_dod, t, N), codec_ts_dod.bound(N));
}
END_TEST

/* Each bucket boundary of the delta-of-delta: (z, bits it takes). */
START_TEST(test_ts_buckets)
{
    static const struct {
        uint64_t z;
        unsigned bits;
    } cases[] = {
        {0, 1},
        {1, 14},
        {(1ull << 12) - 1, 14},
        {1ull << 12, 27},
        {(1ull << 24) - 1, 27},
        {1ull << 24, 44},
        {(1ull << 40) - 1, 44},
        {1ull << 40, 68},
        {~0ull - 1, 68},
        {~0ull, 68},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        uint64_t z = cases[k].z;
        uint64_t dod = (z >> 1) ^ -(z & 1); /* un-zigzag */
        for (int64_t base = -1; base <= 1; base++) {
            /* d1 = 0, then the dod alone, then back to the same delta. */
            uint64_t t[4] = {(uint64_t)base, (uint64_t)base, (uint64_t)base + dod,
                             (uint64_t)base + 2 * dod};
            size_t len = roundtrip(&codec_ts_dod, t, 3);
            ck_assert_msg(len == (64 + 7 + cases[k].bits + 7) / 8, "z=%llx: %zu bytes",
                          (unsigned long long)z, len);
            len = roundtrip(&codec_ts_dod, t, 4);
            ck_assert_uint_eq(len, (64 + 7 + cases[k].bits + 1 + 7) / 8);
        }
    }
    /* The first delta's 7-bit width, at each width. */
    for (unsigned L = 0; L <= 64; L++) {
        uint64_t z = L ? (~0ull >> (64 - L)) : 0;
        uint64_t t[2] = {5, 5 + ((z >> 1) ^ -(z & 1))};
        ck_assert_uint_eq(roundtrip(&codec_ts_dod, t, 2), (64 + 7 + L + 7) / 8);
    }
}
END_TEST

START_TEST(test_bool)
{
    enum { N = 1000 };
    static uint64_t v[N];
    uint64_t seed = 5;
    for (size_t n = 0; n <= 70; n++) {
        for (size_t i = 0; i < n; i++)
            v[i] = tu_rand(&seed) & 1;
        ck_assert_uint_eq(roundtrip(&codec_bool_bits, v, n), (n + 7) / 8);
    }
    for (size_t i = 0; i < N; i++)
        v[i] = i % 3 == 0;
    roundtrip(&codec_bool_bits, v, N);
    for (size_t i = 0; i < N; i++)
        v[i] = 1;
    roundtrip(&codec_bool_bits, v, N);
}
END_TEST

/* Random corruption of valid encodings: any result, but no crash and no
 * out-of-bounds access; a 0 result must still produce n values. */
START_TEST(test_flips)
{
    enum { N = 400, ROUNDS = 3000 };
    static uint64_t v[N], out[N];
    uint64_t seed = 99;
    double x = 20.0;
    for (size_t i = 0; i < N; i++) {
        x += ((double)(tu_rand(&seed) % 201) - 100.0) * 0.01;
        v[i] = i % 50 == 0 ? tu_rand(&seed) : f2u(round(x * 100) / 100);
    }
    for (unsigned id = 1; id <= CODEC_MAX_ID; id++) {
        const codec *c = codec_get(id);
        uint64_t in[N];
        for (size_t i = 0; i < N; i++)
            in[i] = id == CODEC_BOOL_BITS ? v[i] & 1 : v[i];
        size_t len;
        uint8_t *enc = encode_checked(c, in, N, &len);
        for (int round = 0; round < ROUNDS; round++) {
            uint8_t *bad = exact_copy(enc, len);
            int flips = 1 + (int)(tu_rand(&seed) % 4);
            for (int f = 0; f < flips; f++) {
                size_t at = tu_rand(&seed) % len;
                if (round % 2)
                    bad[at] ^= (uint8_t)(1u << (tu_rand(&seed) % 8));
                else
                    bad[at] = (uint8_t)tu_rand(&seed);
            }
            size_t n = round % 3 ? N : 1 + tu_rand(&seed) % N;
            int rc = c->decode(bad, len, n, out);
            ck_assert(rc == 0 || rc == -1);
            free(bad);
        }
        free(enc);
    }
}
END_TEST

/* Random bytes of random lengths decoded as random counts. */
START_TEST(test_garbage)
{
    enum { MAXLEN = 300, MAXN = 600 };
    static uint64_t out[MAXN];
    uint64_t seed = 1234;
    for (int round = 0; round < 20000; round++) {
        size_t len = tu_rand(&seed) % MAXLEN;
        uint8_t *buf = malloc(len);
        uint64_t bias = tu_rand(&seed) % 4;
        for (size_t i = 0; i < len; i++) {
            uint64_t r = tu_rand(&seed);
            buf[i] = bias == 0   ? (uint8_t)r
                     : bias == 1 ? (uint8_t)(r & r >> 8)
                     : bias == 2 ? (uint8_t)(r | r >> 8)
                                 : 0;
        }
        size_t n = tu_rand(&seed) % MAXN;
        const codec *c = codec_get(1 + (unsigned)(round % CODEC_MAX_ID));
        int rc = c->decode(buf, len, n, out);
        ck_assert(rc == 0 || rc == -1);
        if (n == 0)
            ck_assert_int_eq(rc, len == 0 ? 0 : -1);
        free(buf);
    }
}
END_TEST

Suite *codec_suite(void); /* found by run_tests.c */

Suite *codec_suite(void)
{
    Suite *s = suite_create("codec");
    TCase *tc = tcase_create("format");
    tcase_add_test(tc, test_registry);
    tcase_add_test(tc, test_bitstream);
    tcase_add_test(tc, test_empty);
    tcase_add_test(tc, test_golden_ts);
    tcase_add_test(tc, test_golden_gorilla);
    tcase_add_test(tc, test_golden_delta);
    tcase_add_test(tc, test_golden_bool);
    tcase_add_test(tc, test_impossible_fields);
    suite_add_tcase(s, tc);

    tc = tcase_create("roundtrip");
    tcase_add_test(tc, test_f64_specials);
    tcase_add_test(tc, test_i64_extremes);
    tcase_add_test(tc, test_runs_and_patterns);
    tcase_add_test(tc, test_random_bits);
    tcase_add_test(tc, test_sensor_like);
    tcase_add_test(tc, test_ts_patterns);
    tcase_add_test(tc, test_ts_buckets);
    tcase_add_test(tc, test_bool);
    suite_add_tcase(s, tc);

    tc = tcase_create("corruption");
    tcase_add_test(tc, test_flips);
    tcase_add_test(tc, test_garbage);
    suite_add_tcase(s, tc);
    return s;
}
