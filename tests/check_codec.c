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
#include <xxhash.h>

#include "engine/bitstream.h"
#include "engine/codec.h"
#include "engine/pack.h"
#include "engine/varint.h"
#include "tests/testutil.h"

#define PINNED_PACKS 0xa4d7c9f20cec97edull    /* see test_pack_choices_pinned */
#define PINNED_DECIMALS 0x96d97ab3a78197e9ull /* see test_decimal_choices_pinned */

#define CANARY 0xA5
#define GUARD 32

/* Every codec that takes any 64-bit words (some answer CODEC_NA for some
 * inputs: const, and f64-decimal when the words are not decimals). */
static const codec *const codecs64[] = {
    &codec_ts_dod, &codec_f64_gorilla, &codec_i64_delta, &codec_raw,
    &codec_const,  &codec_ts_linear,   &codec_f64_decimal, &codec_i64_pack,
};

/* What a chunk's index entry tells the decoder: the first and last word. */
static codec_ends ends_of(const uint64_t *in, size_t n)
{
    codec_ends e = {n ? in[0] : 0, n ? in[n - 1] : 0};
    return e;
}

static uint64_t f2u(double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    return u;
}

static double u2f(uint64_t u)
{
    double d;
    memcpy(&d, &u, 8);
    return d;
}

/* A private copy of exactly `len` bytes, so that AddressSanitizer flags any
 * read past the end (malloc(0) is a valid zero-size block there). */
static uint8_t *exact_copy(const uint8_t *src, size_t len)
{
    uint8_t *p = malloc(len);
    TU_CHECK(p != NULL || len == 0, "out of memory");
    if (len)
        memcpy(p, src, len);
    return p;
}

/* Encode into a buffer of exactly bound(n) bytes between canaries; returns
 * a malloc'd copy of the encoding and its length (NULL and CODEC_NA when
 * the codec does not apply). */
static uint8_t *encode_checked(const codec *c, const uint64_t *in, size_t n, size_t *len)
{
    size_t bound = c->bound(n);
    uint8_t *buf = malloc(bound + 2 * GUARD);
    TU_CHECK(buf != NULL, "out of memory");
    memset(buf, CANARY, bound + 2 * GUARD);
    size_t got = c->encode(in, n, buf + GUARD);
    TU_CHECK(got == CODEC_NA || got <= bound, "%s: %zu values encoded to %zu bytes, bound %zu",
                  c->name, n, got, bound);
    for (size_t i = 0; i < GUARD; i++) {
        TU_CHECK(buf[i] == CANARY, "%s: wrote before the buffer", c->name);
        TU_CHECK(buf[GUARD + bound + i] == CANARY, "%s: wrote past bound(%zu)", c->name, n);
    }
    uint8_t *enc = got == CODEC_NA ? NULL : exact_copy(buf + GUARD, got);
    free(buf);
    *len = got;
    return enc;
}

static int decode_exact(const codec *c, const uint8_t *in, size_t len, size_t n,
                        const codec_ends *ends, uint64_t *out)
{
    uint8_t *copy = exact_copy(in, len);
    int rc = c->decode(copy, len, n, ends, out);
    free(copy);
    return rc;
}

/* Every truncation of a valid encoding is rejected without reading beyond
 * the shortened buffer; so is the encoding with one more byte.  (An empty
 * ts-linear column is valid on its own, the exact line between the ends:
 * only the chunk checksum can tell it from a truncation to nothing.) */
static void check_corrupt_lengths(const codec *c, const uint8_t *enc, size_t len, size_t n,
                                  const codec_ends *ends, int every)
{
    uint64_t *out = malloc((n ? n : 1) * sizeof *out);
    TU_CHECK(out != NULL, "out of memory");
    for (size_t cut = len; cut-- > 0;) {
        if (!every && cut + 64 < len && cut > 64 && cut % 97 != 0)
            continue;
        if (cut == 0 && c == &codec_ts_linear)
            continue;
        TU_CHECK(decode_exact(c, enc, cut, n, ends, out) == -1,
                      "%s: n=%zu, %zu of %zu bytes accepted", c->name, n, cut, len);
    }
    uint8_t *longer = malloc(len + 1);
    TU_CHECK(longer != NULL, "out of memory");
    if (len)
        memcpy(longer, enc, len);
    longer[len] = 0;
    TU_CHECK(c->decode(longer, len + 1, n, ends, out) == -1, "%s: trailing byte accepted",
                  c->name);
    free(longer);
    free(out);
}

/* Encode, decode, compare bit for bit; then the corrupt-length checks.
 * Returns the encoded length, or CODEC_NA when the codec does not apply. */
static size_t roundtrip(const codec *c, const uint64_t *in, size_t n)
{
    size_t len;
    uint8_t *enc = encode_checked(c, in, n, &len);
    if (len == CODEC_NA)
        return len;
    codec_ends ends = ends_of(in, n);
    uint64_t *out = malloc((n ? n : 1) * sizeof *out);
    TU_CHECK(out != NULL, "out of memory");
    TU_CHECK(decode_exact(c, enc, len, n, &ends, out) == 0, "%s: n=%zu does not decode",
                  c->name, n);
    for (size_t i = 0; i < n; i++)
        TU_CHECK(out[i] == in[i], "%s: value %zu of %zu: got %016llx want %016llx", c->name, i, n,
                 (unsigned long long)out[i], (unsigned long long)in[i]);
    check_corrupt_lengths(c, enc, len, n, &ends, len <= 2048);
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
    TU_CHECK(len != CODEC_NA, "%s: not applicable", c->name);
    TU_CHECK(len == want_len, "%s: %zu bytes, want %zu", c->name, len, want_len);
    for (size_t i = 0; i < len; i++)
        TU_CHECK(enc[i] == want[i], "%s: byte %zu is %02x, want %02x", c->name, i, enc[i],
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
    ck_assert_ptr_eq(codec_get(CODEC_RAW), &codec_raw);
    ck_assert_ptr_eq(codec_get(CODEC_CONST), &codec_const);
    ck_assert_ptr_eq(codec_get(CODEC_TS_LINEAR), &codec_ts_linear);
    ck_assert_ptr_eq(codec_get(CODEC_F64_DECIMAL), &codec_f64_decimal);
    ck_assert_ptr_eq(codec_get(CODEC_I64_PACK), &codec_i64_pack);
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
        TU_CHECK(buf[cap + i] == CANARY, "wrote past the end (byte %zu)", i);
    uint8_t *copy = exact_copy(buf, cap);
    bitr r;
    bitr_init(&r, copy, cap);
    for (size_t i = 0; i < FIELDS; i++) {
        uint64_t got = bitr_get64(&r, width[i]);
        TU_CHECK(got == val[i], "field %zu (%u bits): %llx, want %llx", i, width[i],
                 (unsigned long long)got, (unsigned long long)val[i]);
    }
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
        ck_assert_int_eq(c->decode(&byte, 0, 0, NULL, &v), 0);
        ck_assert_int_eq(c->decode(&byte, 1, 0, NULL, &v), -1);
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

START_TEST(test_golden_raw_const)
{
    static const uint64_t a[] = {1, (uint64_t)-2};
    static const uint8_t ea[] = {0x01, 0,    0,    0,    0,    0,    0,    0,
                                 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    expect_bytes(&codec_raw, a, 2, ea, sizeof ea);
    /* const: no bytes; the value is the `first` the decoder is told */
    const uint64_t b[] = {f2u(22.0), f2u(22.0)};
    expect_bytes(&codec_const, b, 2, NULL, 0);
    size_t len;
    ck_assert_ptr_null(encode_checked(&codec_const, a, 2, &len));
    ck_assert_uint_eq(len, CODEC_NA);
    uint64_t out[2];
    codec_ends ends = {f2u(22.0), f2u(21.0)};
    ck_assert_int_eq(codec_const.decode(NULL, 0, 2, &ends, out), -1); /* first != last */
    ck_assert_int_eq(codec_const.decode(NULL, 0, 2, NULL, out), -1);
}
END_TEST

/* FORMAT.md §6.7. */
START_TEST(test_golden_linear)
{
    static const uint64_t a[] = {1000, 1010, 1020, 1030};
    expect_bytes(&codec_ts_linear, a, 4, NULL, 0);
    /* unit 10^0; offsets 0 10 21 30, s = 10, z = 0 0 1 0: order 0, width 1 */
    static const uint64_t b[] = {1000, 1010, 1021, 1030};
    static const uint8_t eb[] = {0x00, 0x08, 0x00, 0x01, 0x04};
    expect_bytes(&codec_ts_linear, b, 4, eb, sizeof eb);
    static const uint64_t c[] = {77};
    expect_bytes(&codec_ts_linear, c, 1, NULL, 0);
    /* an empty column is the line from first to last: only when (last -
     * first) is a multiple of n - 1; one point needs first = last */
    /* 10 s with whole-millisecond jitter: residuals in units of 1 ms */
    enum { N = 360 };
    static uint64_t j[N];
    uint64_t seed = 8;
    for (size_t i = 0; i < N; i++)
        j[i] = 1704110400000000000ull + 10000000000ull * i +
               (uint64_t)(int64_t)((int)(tu_rand(&seed) % 81) - 40) * 1000000;
    ck_assert_uint_lt(roundtrip(&codec_ts_linear, j, N), N); /* under 8 bits a timestamp */
    uint64_t out[4];
    codec_ends e1 = {1000, 1031}, e2 = {5, 6};
    ck_assert_int_eq(codec_ts_linear.decode(NULL, 0, 4, &e1, out), -1);
    ck_assert_int_eq(codec_ts_linear.decode(NULL, 0, 1, &e2, out), -1);
}
END_TEST

/* ts-linear's unit: the largest 10^u (u <= 9) dividing every offset from
 * the first timestamp, found without a division per offset; offsets that
 * wrap (a timestamp before the first) and multiples of 2^u or 5^u alone
 * must not pass for 10^u. */
START_TEST(test_linear_units)
{
    enum { N = 50 };
    uint64_t x[N], seed = 21;
    static const uint64_t p10[] = {1,      10,      100,      1000,      10000,
                                   100000, 1000000, 10000000, 100000000, 1000000000};
    for (unsigned u = 0; u <= 9; u++)
        for (int shape = 0; shape < 4; shape++) {
            for (size_t i = 0; i < N; i++)
                x[i] = 1704110400000000000ull + (i * 1000 + tu_rand(&seed) % 1000) * 10 * p10[u];
            x[N / 2] += p10[u] * (shape == 2 ? 3 : 7); /* exactly u */
            if (shape == 1) /* before the first: 2^64 - 10^u k is no multiple of 5 */
                x[7] = x[0] - 10 * p10[u];
            if (shape == 3)
                x[N - 1] += u == 0 ? 0 : p10[u - 1] * 5; /* 5 * 10^(u-1): unit u - 1 */
            size_t len;
            uint8_t *enc = encode_checked(&codec_ts_linear, x, N, &len);
            ck_assert_uint_gt(len, 0);
            unsigned want = shape == 1 ? 0 : shape == 3 && u > 0 ? u - 1 : u;
            ck_assert_msg(enc[0] == want, "u=%u shape %d: unit %u", u, shape, enc[0]);
            free(enc);
            roundtrip(&codec_ts_linear, x, N);
        }
    /* multiples of 2^9 or of 5^9 alone: unit 10^0 */
    for (int odd = 0; odd < 2; odd++) {
        for (size_t i = 0; i < N; i++)
            x[i] = (uint64_t)(i * i + 1) * (odd ? 1953125u : 512u);
        size_t len;
        uint8_t *enc = encode_checked(&codec_ts_linear, x, N, &len);
        ck_assert_uint_gt(len, 0);
        ck_assert_uint_eq(enc[0], 0);
        free(enc);
        roundtrip(&codec_ts_linear, x, N);
    }
}
END_TEST

/* FORMAT.md §6.9. */
START_TEST(test_golden_ipack)
{
    static const uint64_t a[] = {5, 5, 5, 7};
    static const uint8_t ea[] = {0x10, 0x0a, 0x02, 0x80};
    expect_bytes(&codec_i64_pack, a, 4, ea, sizeof ea);
}
END_TEST

/* FORMAT.md §6.8. */
START_TEST(test_golden_decimal)
{
    const uint64_t a[] = {f2u(21.5), f2u(22.0), f2u(22.0), f2u(21.9)};
    static const uint8_t ea[] = {0x8e, 0x0d, 0x59, 0x00, 0x04, 0x0a, 0x01};
    expect_bytes(&codec_f64_decimal, a, 4, ea, sizeof ea);
    /* no product rule fits both: the corrected product, e = 3 */
    const uint64_t b[] = {f2u(1.124), f2u(1.126)};
    static const uint8_t eb[] = {0xa3, 0x41, 0x04};
    expect_bytes(&codec_f64_decimal, b, 2, eb, sizeof eb);
    /* -0.0 is an exception over N = 0: x = rotl(sign bit) = 1 */
    const uint64_t c[] = {f2u(1.5), f2u(-0.0), f2u(2.5)};
    static const uint8_t ec[] = {0xce, 0x0d, 0x42, 0x1d, 0x50, 0x01, 0x01, 0x01};
    expect_bytes(&codec_f64_decimal, c, 3, ec, sizeof ec);
    /* 10^-14 is the double nearest to it (FORMAT.md names its bits) */
    ck_assert_uint_eq(f2u(1e-14), 0x3d06849b86a12b9bull);
}
END_TEST

/* Streams no encoder writes, which the decoders must refuse. */
START_TEST(test_impossible_fields)
{
    static uint64_t out[1000];
    /* Gorilla '10' before any window. */
    static const uint8_t g1[] = {0, 0, 0, 0, 0, 0, 0, 0, 0x80};
    ck_assert_int_eq(codec_f64_gorilla.decode(g1, sizeof g1, 2, NULL, out), -1);
    /* Gorilla '11' lz 31 ml 34: 31 + 34 > 64. 11 11111 100010 -> FF 10. */
    static const uint8_t g2[] = {0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0x10, 0, 0, 0, 0, 0};
    ck_assert_int_eq(codec_f64_gorilla.decode(g2, sizeof g2, 2, NULL, out), -1);
    /* ts: L = 65 = 1000001b. */
    static const uint8_t t1[] = {0, 0, 0, 0, 0, 0, 0, 0, 0x82, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    ck_assert_int_eq(codec_ts_dod.decode(t1, sizeof t1, 2, NULL, out), -1);
    /* varint: 11 bytes; tenth byte above 1. */
    static const uint8_t v1[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    ck_assert_int_eq(codec_i64_delta.decode(v1, sizeof v1, 1, NULL, out), -1);
    static const uint8_t v2[] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02};
    ck_assert_int_eq(codec_i64_delta.decode(v2, sizeof v2, 1, NULL, out), -1);
    /* The same overflowing varint where ten bytes remain (the fast path). */
    uint8_t v3[24] = {0};
    memcpy(v3, v2, sizeof v2);
    ck_assert_int_eq(codec_i64_delta.decode(v3, sizeof v3, 15, NULL, out), -1);
    /* Far more values than the bytes can hold. */
    ck_assert_int_eq(codec_ts_dod.decode(g1, sizeof g1, 1000, NULL, out), -1);
    ck_assert_int_eq(codec_f64_gorilla.decode(g1, 8, 4, NULL, out), -1);
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

/* ---- the pack (FORMAT.md §6.6) and f64-decimal (§6.8) ------------------------------- */

/* Pack and unpack x[0..m) with every combination of slope and known x0,
 * both with the SIMD decoders and with the portable ones; every truncation
 * must fail.  Returns the pack's length. */
static size_t pack_roundtrip(const uint64_t *x, size_t m)
{
    static uint8_t enc[12 * PACK_MAX_VALUES + 64];
    static uint64_t z[PACK_MAX_VALUES], out[PACK_MAX_VALUES];
    size_t len0 = 0;
    for (int variant = 0; variant < 4; variant++) {
        uint64_t slope = variant & 1 ? 0x9e3779b97f4a7c15ull : 0;
        int known = variant >> 1;
        size_t len = pack_encode(x, m, slope, known, enc);
        TU_CHECK(len <= pack_bound(m), "m=%zu: %zu bytes, bound %zu", m, len, pack_bound(m));
        for (size_t i = 0; i < m; i++)
            z[i] = x[i] - i * slope;
        for (int simd = 1; simd >= 0; simd--) {
            pack_set_simd(simd);
            uint8_t *copy = exact_copy(enc, len);
            TU_CHECK(pack_decode(copy, len, m, known, z[0], out) == (long)len, "m=%zu variant %d",
                     m, variant);
            for (size_t i = 0; i < m; i++)
                TU_CHECK(out[i] == z[i], "m=%zu variant %d simd %d: word %zu", m, variant, simd, i);
            free(copy);
        }
        for (size_t cut = 0; cut < len; cut += 1 + (len > 300 ? len / 97 : 0)) {
            uint8_t *copy = exact_copy(enc, cut);
            TU_CHECK(pack_decode(copy, cut, m, known, z[0], out) == -1, "m=%zu: %zu of %zu bytes",
                     m, cut, len);
            free(copy);
        }
        if (variant == 0)
            len0 = len;
    }
    pack_set_simd(1);
    return len0;
}

START_TEST(test_pack_shapes)
{
    enum { N = PACK_MAX_VALUES };
    static uint64_t x[N];
    uint64_t seed = 31;
    /* every width, alone and with outliers (exceptions) */
    for (unsigned w = 0; w <= 64; w++) {
        uint64_t mask = w == 64 ? ~0ull : (1ull << w) - 1;
        for (size_t i = 0; i < 200; i++)
            x[i] = tu_rand(&seed) & mask;
        pack_roundtrip(x, 200);
        for (size_t i = 0; i < 200; i++)
            x[i] = (tu_rand(&seed) & mask) + (i % 37 == 5 ? tu_rand(&seed) : 0);
        pack_roundtrip(x, 200);
        /* a walk of steps of w bits (order 1), a curve (order 2) */
        for (size_t i = 1; i < 200; i++)
            x[i] = x[i - 1] + (tu_rand(&seed) & mask) - (mask >> 1);
        pack_roundtrip(x, 200);
        for (size_t i = 2; i < 200; i++)
            x[i] = 2 * x[i - 1] - x[i - 2] + (tu_rand(&seed) & (mask >> 2));
        pack_roundtrip(x, 200);
    }
    /* every length up to 100 and around miniblock edges, constant runs */
    for (size_t m = 1; m <= 100; m++) {
        for (size_t i = 0; i < m; i++)
            x[i] = i % 7 == 3 ? (uint64_t)INT64_MIN + i : 1000 + i / 33;
        pack_roundtrip(x, m);
    }
    for (size_t i = 0; i < N; i++)
        x[i] = 42;
    ck_assert_uint_le(pack_roundtrip(x, N), 4); /* head, base, nothing else */
    for (size_t i = 0; i < N; i++)
        x[i] = 1704110400000000000ull + 10000000000ull * i;
    ck_assert_uint_le(pack_roundtrip(x, N), 24); /* order 2: constant stride */
    /* the int64 extremes, alternating: every step wraps */
    for (size_t i = 0; i < N; i++)
        x[i] = i % 2 ? (uint64_t)INT64_MAX : (uint64_t)INT64_MIN + (i % 3);
    pack_roundtrip(x, N);
    for (size_t i = 0; i < N; i++)
        x[i] = tu_rand(&seed) >> (tu_rand(&seed) % 64);
    pack_roundtrip(x, N);
    for (size_t m = 8100; m <= N; m += 23)
        pack_roundtrip(x, m);
}
END_TEST

/* The encoder's choices (order, mapping, widths, exceptions) on many
 * shapes, pinned by a hash of the bytes: a faster search must find the same
 * packs (the hash is that of the encoder before the one-pass bases and
 * bounds and the quickselect median).  Shapes near the int64 extremes make
 * the quick bound's zigzag fall back to ORing a block. */
START_TEST(test_pack_choices_pinned)
{
    enum { N = PACK_MAX_VALUES };
    static uint64_t x[N];
    static uint8_t out[12 * N + 64];
    uint64_t seed = 7, acc = 0;
    static const size_t ms[] = {3, 40, 127, 128, 200, 1000, 8192};
    for (unsigned shape = 0; shape < 9; shape++)
        for (unsigned w = 0; w <= 64; w += 4)
            for (size_t mi = 0; mi < sizeof ms / sizeof ms[0]; mi++) {
                size_t m = ms[mi];
                uint64_t mask = w == 64 ? ~0ull : (1ull << w) - 1;
                for (size_t i = 0; i < m; i++) {
                    uint64_t r = tu_rand(&seed) & mask;
                    switch (shape) {
                    case 0: x[i] = r; break;
                    case 1: x[i] = r + (i % 37 == 5 ? tu_rand(&seed) : 0); break;
                    case 2: x[i] = i ? x[i - 1] + r - (mask >> 1) : r; break;
                    case 3: x[i] = i > 1 ? 2 * x[i - 1] - x[i - 2] + (r >> 2) : r; break;
                    case 4:
                        x[i] =
                            i % 2 ? (uint64_t)INT64_MAX - (r & 7) : (uint64_t)INT64_MIN + (r & 7);
                        break;
                    case 5: x[i] = (uint64_t)INT64_MIN + r; break;
                    case 6: x[i] = (uint64_t)INT64_MAX - r; break;
                    case 7:
                        x[i] = 1704110400000000000ull + 10000000000ull * i + (i % 97 ? 0 : r);
                        break;
                    default: x[i] = tu_rand(&seed) >> (r % 64); break;
                    }
                }
                for (int v = 0; v < 2; v++) {
                    size_t len = pack_encode(x, m, v ? 0x9e3779b97f4a7c15ull : 0, v, out);
                    acc = XXH3_64bits_withSeed(out, len, acc);
                }
            }
    ck_assert_msg(acc == PINNED_PACKS, "pack choices changed: hash %016llx",
                  (unsigned long long)acc);
}
END_TEST

START_TEST(test_pack_impossible)
{
    uint64_t out[64];
    uint8_t b[64];
    /* reserved bit; order 3; order >= m; m = 0; m too large */
    static const uint8_t r1[] = {0x80, 0x00};
    ck_assert_int_eq(pack_decode(r1, sizeof r1, 1, 0, 0, out), -1);
    static const uint8_t r2[] = {0x03, 0x00, 0x00, 0x00};
    ck_assert_int_eq(pack_decode(r2, sizeof r2, 4, 0, 0, out), -1);
    static const uint8_t r3[] = {0x02, 0x00, 0x00, 0x00};
    ck_assert_int_eq(pack_decode(r3, sizeof r3, 2, 0, 0, out), -1);
    ck_assert_int_eq(pack_decode(r3, sizeof r3, 0, 0, 0, out), -1);
    ck_assert_int_eq(pack_decode(r3, sizeof r3, PACK_MAX_VALUES + 1, 0, 0, out), -1);
    /* a width of 65: wbits 7, one field 65 */
    static const uint8_t r4[] = {0x38, 0x00, 0x41};
    ck_assert_int_eq(pack_decode(r4, sizeof r4, 1, 0, 0, out), -1);
    /* exceptions: E = 0; a position past k; high = 0; w + width(high) > 64 */
    static const uint8_t e0[] = {0x04, 0x00, 0x00};
    ck_assert_int_eq(pack_decode(e0, sizeof e0, 2, 0, 0, out), -1);
    static const uint8_t e1[] = {0x04, 0x00, 0x01, 0x02, 0x01};
    ck_assert_int_eq(pack_decode(e1, sizeof e1, 2, 0, 0, out), -1);
    static const uint8_t e2[] = {0x04, 0x00, 0x01, 0x00, 0x00};
    ck_assert_int_eq(pack_decode(e2, sizeof e2, 2, 0, 0, out), -1);
    memcpy(b, (const uint8_t[]){0x34, 0x00, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00, 0x02}, 14);
    ck_assert_int_eq(pack_decode(b, 14, 1, 0, 0, out), -1); /* w 63 + 2 bits */
    /* the same with a 1-bit high part is fine */
    b[13] = 0x01;
    ck_assert_int_eq(pack_decode(b, 14, 1, 0, 0, out), 14);
    ck_assert_uint_eq(out[0], 1ull << 63);
    /* two exceptions at the same place cannot be written: gaps add 1 */
    static const uint8_t e3[] = {0x04, 0x00, 0x02, 0x00, 0x01, 0x05, 0x01};
    ck_assert_int_eq(pack_decode(e3, sizeof e3, 2, 0, 0, out), -1);
    /* f64-decimal: e > 22, f > e, an integer out of [-2^51, 2^51) */
    static const uint8_t d1[] = {0x17, 0x00, 0x00, 0x00};
    ck_assert_int_eq(codec_f64_decimal.decode(d1, sizeof d1, 1, NULL, out), -1);
    static const uint8_t d2[] = {0x02, 0x03, 0x00, 0x00};
    ck_assert_int_eq(codec_f64_decimal.decode(d2, sizeof d2, 1, NULL, out), -1);
    uint8_t d3[16] = {0x01, 0x00, 0x00}, *p = d3 + 3;
    put_svarint(&p, (int64_t)1 << 51); /* base 2^51, one value of width 0 */
    ck_assert_int_eq(codec_f64_decimal.decode(d3, (size_t)(p - d3), 1, NULL, out), -1);
    p = d3 + 3;
    put_svarint(&p, ((int64_t)1 << 51) - 1);
    ck_assert_int_eq(codec_f64_decimal.decode(d3, (size_t)(p - d3), 1, NULL, out), 0);
    ck_assert(u2f(out[0]) == (double)(((int64_t)1 << 51) - 1) * 1.0 * 1e-1); /* rule 0 */
    /* an exception with x = 0; more exceptions than values */
    static const uint8_t d4[] = {0x40, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00};
    ck_assert_int_eq(codec_f64_decimal.decode(d4, sizeof d4, 1, NULL, out), -1);
    static const uint8_t d5[] = {0x40, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01, 0x00, 0x01};
    ck_assert_int_eq(codec_f64_decimal.decode(d5, sizeof d5, 1, NULL, out), -1);
}
END_TEST

/* The f64-decimal encoder's choices (digits, rule, integers, exceptions)
 * pinned by a hash of its output, as test_pack_choices_pinned: decimals of
 * 0 to 15 digits, some led or sprinkled with NaN, infinities and -0.0 (the
 * integers a value that does not scale takes depend on the first one that
 * does).  The hash is that of the encoder that scaled the values once per
 * rule tried. */
START_TEST(test_decimal_choices_pinned)
{
    enum { N = 2000 };
    static uint64_t v[N];
    static uint8_t out[64 * N];
    static const size_t ns[] = {1, 5, 64, 300, 2000};
    static const double special[] = {NAN, INFINITY, -INFINITY, -0.0, 1e300, 0.1 + 0.2};
    uint64_t seed = 99, acc = 0;
    for (unsigned digits = 0; digits <= 15; digits++)
        for (unsigned lead = 0; lead < 8; lead++)
            for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
                size_t n = ns[k];
                double scale = pow(10.0, (double)digits), x = 1000.0;
                for (size_t i = 0; i < n; i++) {
                    x += (double)(tu_rand(&seed) % 2001) - 1000.0;
                    /* few significant digits, or many (the corrected rule) */
                    double d = lead & 4
                                   ? (1000.0 * x + (double)(tu_rand(&seed) % 1000000007)) / scale
                                   : round(x) / scale;
                    if (i < (lead & 3) || ((lead & 3) == 3 && i % 53 == 7))
                        d = special[(i + digits) % 6];
                    memcpy(&v[i], &d, 8);
                }
                size_t len = codec_f64_decimal.encode(v, n, out);
                acc = XXH3_64bits_withSeed(&len, sizeof len, acc);
                if (len != CODEC_NA)
                    acc = XXH3_64bits_withSeed(out, len, acc);
            }
    ck_assert_msg(acc == PINNED_DECIMALS, "f64-decimal choices changed: hash %016llx",
                  (unsigned long long)acc);
}
END_TEST

/* Values f64-decimal must give back bit for bit, whatever rule, exceptions
 * or fallback (CODEC_NA) it takes; and it must take the decimal ones. */
START_TEST(test_decimal_adversarial)
{
    enum { N = 2000 };
    static uint64_t v[N];
    uint64_t seed = 2024;
    for (int kind = 0; kind < 14; kind++) {
        for (size_t i = 0; i < N; i++) {
            uint64_t r = tu_rand(&seed);
            double d;
            switch (kind) {
            case 0: v[i] = r; break;                                          /* random bits */
            case 1: v[i] = 0x7ff0000000000001ull | (r & 0x800fffffffffffffull); break; /* NaNs */
            case 2: v[i] = r & 0x800fffffffffffffull; break;                   /* subnormals */
            case 3: /* 17 significant digits */
                d = (double)(r % 100000000000000000ull) / 1e16;
                v[i] = f2u(d);
                break;
            case 4: /* alternating exponents: 1, 3 and 6 decimals */
                d = (double)(int64_t)(r % 2000001 - 1000000) /
                    (i % 3 == 0 ? 10.0 : i % 3 == 1 ? 1e3 : 1e6);
                v[i] = f2u(d);
                break;
            case 5: v[i] = f64_specials[r % N_SPECIALS]; break;
            case 6: /* decimals with a special now and then */
                v[i] = r % 50 == 0 ? f64_specials[r % N_SPECIALS]
                                   : f2u((double)(int64_t)(r % 20001 - 10000) / 100.0);
                break;
            case 7: /* near the integer limit of the products: 2^51 */
                v[i] = f2u((double)(((int64_t)1 << 51) - (int64_t)(r % 3)) * (i % 2 ? 1.0 : -1.0));
                break;
            case 8: /* every digit count up to 18, one per stretch */
                d = (double)(int64_t)(r % 1000) / pow(10.0, (double)(i / 111));
                v[i] = f2u(d);
                break;
            case 9: v[i] = f2u(ldexp((double)(r >> 11), (int)(r % 200) - 100)); break; /* binary */
            case 10: v[i] = f2u(i % 2 ? 1e300 : -1e-300); break;
            case 11: /* 5 decimals, computed */
                v[i] = f2u(round((double)(int64_t)(r % 4000001 - 2000000) * 1e-5 * 1e5) / 1e5);
                break;
            case 12: /* a decimal random walk (fleet-like) */
                d = i ? u2f(v[i - 1]) + (double)(int64_t)(r % 201 - 100) * 1e-5 : 45.12345;
                v[i] = f2u(round(d * 1e5) / 1e5);
                break;
            default: /* integers as doubles, large and small */
                v[i] = f2u((double)((int64_t)(r >> 12) - (int64_t)(1ll << 51)));
                break;
            }
        }
        for (int simd = 1; simd >= 0; simd--) {
            pack_set_simd(simd);
            for (size_t n = 1; n <= N; n = n < 40 ? n + 1 : n * 3)
                roundtrip(&codec_f64_decimal, v, n);
            roundtrip(&codec_f64_decimal, v, N);
        }
        pack_set_simd(1);
    }
    /* decimal data is taken, and costs far less than 8 bytes a value */
    for (size_t i = 0; i < N; i++)
        v[i] = f2u((double)(int64_t)(tu_rand(&seed) % 100000) / 1000.0);
    size_t len = roundtrip(&codec_f64_decimal, v, N);
    ck_assert_uint_lt(len, N * 3);
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
        if (len == CODEC_NA || len == 0)
            continue; /* const: nothing to flip */
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
            codec_ends ends = ends_of(in, N);
            int rc = c->decode(bad, len, n, &ends, out);
            TU_CHECK(rc == 0 || rc == -1, "%s: decode returned %d", c->name, rc);
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
        codec_ends ends = {tu_rand(&seed), tu_rand(&seed) % 4 ? 0 : tu_rand(&seed)};
        if (round % 3 == 0)
            ends.last = ends.first + (tu_rand(&seed) % 1000) * (n ? n - 1 : 1);
        int rc = c->decode(buf, len, n, &ends, out);
        TU_CHECK(rc == 0 || rc == -1, "%s: decode returned %d", c->name, rc);
        TU_CHECK(n != 0 || rc == (len == 0 ? 0 : -1), "%s: %zu bytes as 0 values: %d", c->name,
                 len, rc);
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
    tcase_add_test(tc, test_golden_raw_const);
    tcase_add_test(tc, test_golden_linear);
    tcase_add_test(tc, test_linear_units);
    tcase_add_test(tc, test_golden_ipack);
    tcase_add_test(tc, test_golden_decimal);
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

    tc = tcase_create("pack");
    tcase_add_test(tc, test_pack_shapes);
    tcase_add_test(tc, test_pack_choices_pinned);
    tcase_add_test(tc, test_decimal_choices_pinned);
    tcase_add_test(tc, test_pack_impossible);
    tcase_add_test(tc, test_decimal_adversarial);
    suite_add_tcase(s, tc);

    tc = tcase_create("corruption");
    tcase_add_test(tc, test_flips);
    tcase_add_test(tc, test_garbage);
    suite_add_tcase(s, tc);
    return s;
}
