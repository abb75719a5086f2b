/*
 * check_fleetgen.c — the CPython-compatible PRNG (tools/pyrandom.c), the
 * fleet generator (tools/fleetgen.c) and `strata gen` (tools/cmd_gen.c).
 *
 * Every expected value here came from the reference implementation once:
 * the PRNG values from CPython 3.11.7's `random` module, the output hashes
 * (XXH3_64bits), sizes and counts from gen_fleet.py with the arguments
 * named in each test.  Generated output is hashed as it is written (a
 * fopencookie stream), so the 60 MB case needs no memory or disk.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* fopencookie */
#endif
#include "engine/alloc.h"
#include "strata.h"
#include "tests/testutil.h"
#include "tools/cli.h"
#include "tools/fleetgen.h"
#include "tools/pyrandom.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

/* ---- pyrandom -------------------------------------------------------------- */

START_TEST(test_random_seed42)
{
    /* random.Random(42).random() x 5; Random(-42) is the same generator. */
    static const double want[] = {0x1.4762f307200c5p-1, 0x1.99c6b5eeb2060p-6, 0x1.19a1491f589dcp-2,
                                  0x1.c922b623b8c1cp-3, 0x1.7912c1468f47ep-1};
    pyrandom r, neg;
    pyrandom_seed(&r, 42);
    pyrandom_seed(&neg, -42);
    for (int i = 0; i < 5; i++) {
        ck_assert(pyrandom_random(&r) == want[i]);
        ck_assert(pyrandom_random(&neg) == want[i]);
    }
}
END_TEST

START_TEST(test_random_seed0)
{
    static const uint32_t bits[] = {3626764237u, 1654615998u, 3255389356u, 3823568514u,
                                    1806341205u};
    static const double want[] = {0x1.b0580f98a7dbep-1, 0x1.84129978f9c1ap-1, 0x1.aeaa51052e978p-2};
    pyrandom r;
    pyrandom_seed(&r, 0);
    for (int i = 0; i < 5; i++)
        ck_assert_uint_eq(pyrandom_getrandbits(&r, 32), bits[i]);
    pyrandom_seed(&r, 0);
    for (int i = 0; i < 3; i++)
        ck_assert(pyrandom_random(&r) == want[i]);
}
END_TEST

START_TEST(test_random_big_seeds)
{
    /* 2^40 * 12345 + 6789 takes two key words, 2^70 + 12345 three. */
    static const uint32_t bits[] = {4027318108u, 2277752478u, 483469558u};
    static const double want[] = {0x1.eba9dddc042e6p-1, 0x1.e3cef7789b8d7p-1, 0x1.e243cd6cd99a0p-4};
    pyrandom r;
    pyrandom_seed(&r, INT64_C(13573471044901509));
    for (int i = 0; i < 3; i++)
        ck_assert_uint_eq(pyrandom_getrandbits(&r, 32), bits[i]);
    pyrandom_seed_u128(&r, 64, 12345);
    for (int i = 0; i < 3; i++)
        ck_assert(pyrandom_random(&r) == want[i]);
}
END_TEST

START_TEST(test_getrandbits)
{
    pyrandom r;
    pyrandom_seed(&r, 42);
    static const int k42[] = {1, 7, 13, 31, 32};
    static const uint64_t w42[] = {1, 14, 204, 1592467581, 1181241943};
    for (int i = 0; i < 5; i++)
        ck_assert_uint_eq(pyrandom_getrandbits(&r, k42[i]), w42[i]);
    /* Over 32 bits: the low word first. */
    pyrandom_seed(&r, 5);
    static const int k5[] = {40, 64, 33, 0};
    static const uint64_t w5[] = {UINT64_C(281848216645), UINT64_C(6613812840851947673),
                                  UINT64_C(7710297655), 0};
    for (int i = 0; i < 4; i++)
        ck_assert_uint_eq(pyrandom_getrandbits(&r, k5[i]), w5[i]);
}
END_TEST

START_TEST(test_randrange_randint_choice)
{
    pyrandom r;
    pyrandom_seed(&r, 7);
    /* randrange(6) x10, randrange(1, 6) x5, randrange(6, 180) x5,
     * randrange(1) x2, randrange(1000003) x3 */
    static const int64_t want[] = {2, 1, 3,   5,   0,  0,  4,  0, 2, 4,      1,      5,     2,
                                   1, 1, 117, 113, 23, 67, 29, 0, 0, 867017, 592921, 129815};
    int i = 0;
    for (int n = 0; n < 10; n++, i++)
        ck_assert_int_eq(pyrandom_randrange(&r, 0, 6), want[i]);
    for (int n = 0; n < 5; n++, i++)
        ck_assert_int_eq(pyrandom_randrange(&r, 1, 6), want[i]);
    for (int n = 0; n < 5; n++, i++)
        ck_assert_int_eq(pyrandom_randrange(&r, 6, 180), want[i]);
    for (int n = 0; n < 2; n++, i++)
        ck_assert_int_eq(pyrandom_randrange(&r, 0, 1), want[i]);
    for (int n = 0; n < 3; n++, i++)
        ck_assert_int_eq(pyrandom_randrange(&r, 0, 1000003), want[i]);

    pyrandom_seed(&r, 7);
    static const int64_t ints[] = {-85, 235, -173, -48, 83, -226, -213, 170};
    for (int n = 0; n < 8; n++)
        ck_assert_int_eq(pyrandom_randint(&r, -250, 250), ints[n]);

    /* choice((-90.0, 90.0)) x10 */
    pyrandom_seed(&r, 7);
    static const size_t idx[] = {1, 0, 1, 0, 0, 0, 1, 0, 0, 0};
    for (int n = 0; n < 10; n++)
        ck_assert_uint_eq(pyrandom_choice(&r, 2), idx[n]);

    /* Wide ranges: 63-bit widths. */
    pyrandom_seed(&r, 5);
    ck_assert_int_eq(pyrandom_randrange(&r, -(INT64_C(1) << 62), INT64_C(1) << 62),
                     INT64_C(100442833709071429));
    ck_assert_int_eq(pyrandom_randrange(&r, 0, INT64_MAX - 4), INT64_C(3306906422018949273));
}
END_TEST

START_TEST(test_gauss_uniform)
{
    pyrandom r;
    pyrandom_seed(&r, 123);
    static const double g[] = {0x1.9dee0ef340c7fp-2, 0x1.1aa5b78f32f4dp-3, -0x1.982697ef2e5b7p-2,
                               0x1.0d0dcf0fd60a8p-2, 0x1.d0a9e513391fbp-3};
    for (int i = 0; i < 5; i++)
        ck_assert(pyrandom_gauss(&r, 0, 1) == g[i]);
    /* The cached second value survives an intervening random(). */
    pyrandom_seed(&r, 123);
    ck_assert(pyrandom_gauss(&r, 0, 2.0) == 0x1.9dee0ef340c7fp-1);
    ck_assert(pyrandom_random(&r) == 0x1.a103fc221e6f6p-2);
    ck_assert(pyrandom_gauss(&r, 5, 0.3) == 0x1.42a65a8557ad8p+2);
    ck_assert(pyrandom_gauss(&r, 0, 5) == 0x1.0c64ec458452cp+3);

    pyrandom_seed(&r, 99);
    ck_assert(pyrandom_uniform(&r, 33.0 + 1, 45.0 - 1) == 0x1.30517891ceba1p+5);
    ck_assert(pyrandom_uniform(&r, 0, 2000) == 0x1.9026a0abdc1a3p+8);
    ck_assert(pyrandom_uniform(&r, 70, 100) == 0x1.2d74ceaa74358p+6);
}
END_TEST

/* ---- "%.Nf" formatting ------------------------------------------------------ */

static void check_format(double x, int prec)
{
    char want[512], got[512];
    snprintf(want, sizeof want, "%.*f", prec, x);
    char *end = fleetgen_format_fixed(got, x, prec);
    *end = 0;
    ck_assert_msg(!strcmp(want, got), "%a %%.%df: printf %s, fleetgen %s", x, prec, want, got);
}

START_TEST(test_format_fixed)
{
    /* Exact binary ties round to even; signed zeros keep their sign. */
    static const double fixed[] = {
        0.0,  -0.0,  0.5,    1.5,     2.5,          -2.5, 0.125,          0.375, -0.05,  0.05,
        0.25, -0.04, 1e-320, -1e-300, 999999999.95, 1e9,  123456789012.5, 1e300, 3600.0, 359.95};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        for (int prec = 0; prec <= 9; prec++)
            check_format(fixed[i], prec);
    uint64_t st = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < 100000; i++) {
        uint64_t a = tu_rand(&st), b = tu_rand(&st);
        int prec = (int)(b % 10);
        double x;
        switch (a % 4) {
        case 0: x = (double)(int64_t)(b >> 20) / 1048576.0; break; /* 20-bit fractions */
        case 1: x = ((double)(a >> 11) / 9007199254740992.0 - 0.5) * 2e4; break;
        case 2: x = (double)(int64_t)(b >> 24) / 8.0 / pow(10, (double)(a >> 60)); break;
        default: {
            /* any finite bit pattern, magnitude below 2^40 */
            uint64_t bits = (b & 0x800fffffffffffffu) | ((a >> 8) % 1064) << 52;
            memcpy(&x, &bits, sizeof x);
        }
        }
        check_format(x, prec);
    }
}
END_TEST

/* ---- the generator ------------------------------------------------------------ */

/* A FILE that hashes what is written to it and keeps the first bytes. */
struct hash_sink {
    XXH3_state_t *xxh;
    uint64_t size;
    char head[512];
};

static ssize_t sink_write(void *cookie, const char *buf, size_t n)
{
    struct hash_sink *s = cookie;
    if (s->size < sizeof s->head - 1) {
        size_t k = sizeof s->head - 1 - s->size < n ? sizeof s->head - 1 - s->size : n;
        memcpy(s->head + s->size, buf, k);
    }
    XXH3_64bits_update(s->xxh, buf, n);
    s->size += n;
    return (ssize_t)n;
}

struct gen_result {
    int rc;
    uint64_t hash, size, lines, values;
    char head[512];
};

static struct gen_result generate(const fleetgen_opts *o)
{
    struct hash_sink s = {.xxh = XXH3_createState(), .size = 0, .head = {0}};
    ck_assert(s.xxh != NULL);
    XXH3_64bits_reset(s.xxh);
    FILE *f = fopencookie(&s, "w", (cookie_io_functions_t){.write = sink_write});
    ck_assert(f != NULL);
    struct gen_result r;
    r.rc = fleetgen_write(o, f, &r.lines, &r.values);
    ck_assert_int_eq(fclose(f), 0);
    r.hash = XXH3_64bits_digest(s.xxh);
    r.size = s.size;
    memcpy(r.head, s.head, sizeof r.head);
    XXH3_freeState(s.xxh);
    return r;
}

static void check_golden(const fleetgen_opts *o, uint64_t hash, uint64_t size, uint64_t lines,
                         uint64_t values)
{
    struct gen_result r = generate(o);
    ck_assert_int_eq(r.rc, STRATA_OK);
    ck_assert_uint_eq(r.size, size);
    ck_assert_uint_eq(r.lines, lines);
    ck_assert_uint_eq(r.values, values);
    ck_assert_msg(r.hash == hash, "hash %016llx, want %016llx", (unsigned long long)r.hash,
                  (unsigned long long)hash);
}

/* gen_fleet.py --scale small: 20 trucks x 1 day, line protocol. */
START_TEST(test_golden_small_lp)
{
    fleetgen_opts o;
    fleetgen_opts_init(&o);
    o.trucks = 20;
    struct gen_result r = generate(&o);
    ck_assert_int_eq(r.rc, STRATA_OK);
    static const char first[] =
        "readings,name=truck_0,fleet=North,driver=Trish,model=G-2000,device_version=v1.5 "
        "latitude=45.24277,longitude=-91.78158,elevation=928.7,velocity=0.0,heading=220.9,"
        "grade=0.0,fuel_consumption=0.0 1704110400000000000\n"
        "diagnostics,name=truck_0,fleet=North,driver=Trish,model=G-2000,device_version=v1.5 "
        "load=4636,fuel_state=0.445,status=0i 1704110400000000000\n";
    ck_assert_mem_eq(r.head, first, sizeof first - 1);
    ck_assert_uint_eq(r.size, 60816175);
    ck_assert_uint_eq(r.lines, 345600);
    ck_assert_uint_eq(r.values, 1728000);
    ck_assert_msg(r.hash == UINT64_C(0x4192e91b3b25ef45), "hash %016llx",
                  (unsigned long long)r.hash);
}
END_TEST

/* --trucks 3 --span 2h --format csv */
START_TEST(test_golden_csv)
{
    fleetgen_opts o;
    fleetgen_opts_init(&o);
    o.trucks = 3;
    o.span_s = 7200;
    o.format = FLEETGEN_CSV;
    check_golden(&o, UINT64_C(0xf223b1464807eee2), 1142428, 4320, 21600);
}
END_TEST

/* --trucks 4 --span 3h --jitter-ms 2500 --seed 7, and
 * --trucks 3 --span 2h --format csv --jitter-ms 100 --seed -5 --interval 5 */
START_TEST(test_golden_jitter)
{
    fleetgen_opts o;
    fleetgen_opts_init(&o);
    o.trucks = 4;
    o.span_s = 3 * 3600;
    o.jitter_ms = 2500;
    o.seed = 7;
    check_golden(&o, UINT64_C(0xe9a9400c1880695f), 1511470, 8640, 43200);

    fleetgen_opts_init(&o);
    o.trucks = 3;
    o.span_s = 7200;
    o.format = FLEETGEN_CSV;
    o.jitter_ms = 100;
    o.seed = -5;
    o.interval_s = 5;
    check_golden(&o, UINT64_C(0x3d91fc5b04e094f9), 2282057, 8640, 43200);
}
END_TEST

START_TEST(test_fleet_counts)
{
    fleetgen_opts o;
    fleetgen_opts_init(&o);
    o.trucks = 20;
    uint64_t c[FLEETGEN_NFLEETS];
    fleetgen_fleet_counts(&o, c);
    ck_assert_uint_eq(c[0], 4); /* East */
    ck_assert_uint_eq(c[1], 3); /* West */
    ck_assert_uint_eq(c[2], 9); /* North */
    ck_assert_uint_eq(c[3], 4); /* South */
}
END_TEST

START_TEST(test_invalid_options)
{
    fleetgen_opts o;
    uint64_t lines = 1, values = 1;
#define EXPECT_INVALID(field, value)                                                               \
    do {                                                                                           \
        fleetgen_opts_init(&o);                                                                    \
        o.field = (value);                                                                         \
        ck_assert_ptr_nonnull(fleetgen_invalid(&o));                                               \
        ck_assert_int_eq(fleetgen_write(&o, stdout, &lines, &values), STRATA_MISUSE);              \
        ck_assert_uint_eq(lines + values, 0);                                                      \
    } while (0)
    EXPECT_INVALID(trucks, 0);
    EXPECT_INVALID(trucks, FLEETGEN_MAX_TRUCKS + 1);
    EXPECT_INVALID(interval_s, 0);
    EXPECT_INVALID(span_s, 9);
    EXPECT_INVALID(jitter_ms, 5000);
    EXPECT_INVALID(jitter_ms, -1);
    EXPECT_INVALID(start_ns, INT64_MAX - 1000);
#undef EXPECT_INVALID
    fleetgen_opts_init(&o);
    ck_assert_ptr_null(fleetgen_invalid(&o));
}
END_TEST

START_TEST(test_alloc_failure)
{
    fleetgen_opts o;
    fleetgen_opts_init(&o);
    o.trucks = 2;
    o.span_s = 60;
    uint64_t lines, values;
    for (long n = 1;; n++) {
        st_alloc_fail_at(n);
        FILE *f = fopen("/dev/null", "w");
        int rc = fleetgen_write(&o, f, &lines, &values);
        fclose(f);
        long made = st_alloc_fail_at(0);
        if (rc == STRATA_OK) {
            ck_assert_int_lt(made, n); /* the failure point was never reached */
            break;
        }
        ck_assert_int_eq(rc, STRATA_NOMEM);
        ck_assert_int_lt(n, 10);
    }
    ck_assert_uint_eq(lines, 24);
}
END_TEST

START_TEST(test_write_error)
{
    fleetgen_opts o;
    fleetgen_opts_init(&o);
    o.trucks = 5;
    o.span_s = 3600;
    FILE *f = fopen("/dev/full", "w");
    ck_assert_ptr_nonnull(f);
    uint64_t lines, values;
    ck_assert_int_eq(fleetgen_write(&o, f, &lines, &values), STRATA_IOERR);
    ck_assert_int_eq(errno, ENOSPC);
    ck_assert_uint_eq(lines, 0);
    fclose(f);
}
END_TEST

/* ---- strata gen ---------------------------------------------------------------- */

/* cmd_gen with the summary lines on stderr sent to /dev/null. */
static int run_gen(const char *const *args)
{
    char *argv[32];
    int argc = 0;
    while (args[argc]) {
        argv[argc] = (char *)args[argc];
        argc++;
    }
    argv[argc] = NULL;
    fflush(stderr);
    int saved = dup(2), null = open("/dev/null", O_WRONLY);
    dup2(null, 2);
    close(null);
    int rc = cmd_gen(argc, argv);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    return rc;
}

static uint64_t file_hash(const char *path, size_t *len)
{
    char *data = tu_read_file(path, len);
    ck_assert_ptr_nonnull(data);
    uint64_t h = XXH3_64bits(data, *len);
    free(data);
    return h;
}

START_TEST(test_cli_file_and_meta)
{
    char *dir = tu_tmpdir();
    char *out = tu_path(dir, "fleet.csv"), *meta = tu_path(dir, "fleet.csv.meta.json");
    const char *args[] = {"gen", "fleet",      "--trucks", "3",  "--span", "2h", "--format",
                          "csv", "--interval", "10s",      "-o", out,      NULL};
    ck_assert_int_eq(run_gen(args), CLI_OK);
    size_t len;
    ck_assert(file_hash(out, &len) == UINT64_C(0xf223b1464807eee2));
    ck_assert_uint_eq(len, 1142428);
    /* gen_fleet.py's meta file for the same arguments, byte for byte. */
    static const char want[] =
        "{\n \"generator\": \"gen_fleet.py\",\n \"format\": \"csv\",\n \"scale\": \"default\",\n"
        " \"trucks\": 3,\n \"span_s\": 7200,\n \"interval_s\": 10,\n \"seed\": 42,\n"
        " \"jitter_ms\": 0,\n \"start_ns\": 1704110400000000000,\n"
        " \"end_ns\": 1704117600000000000,\n \"last_ts_ns\": 1704117590000000000,\n"
        " \"points_per_truck_per_measurement\": 720,\n \"lines\": 4320,\n \"values\": 21600,\n"
        " \"series\": 30,\n \"fleets\": {\n  \"East\": 1,\n  \"West\": 0,\n  \"North\": 2,\n"
        "  \"South\": 0\n },\n \"readings_fields\": [\n  \"latitude\",\n  \"longitude\",\n"
        "  \"elevation\",\n  \"velocity\",\n  \"heading\",\n  \"grade\",\n"
        "  \"fuel_consumption\"\n ],\n \"diagnostics_fields\": [\n  \"load\",\n"
        "  \"fuel_state\",\n  \"status\"\n ]\n}";
    char *got = tu_read_file(meta, &len);
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got, want);
    free(got);

    /* The same data with a bare-seconds interval, a span in seconds, the
     * small preset overridden and the default start written with an offset. */
    const char *args2[] = {"gen",        "fleet",
                           "--scale",    "small",
                           "--trucks",   "3",
                           "--span",     "7200",
                           "--interval", "10",
                           "--format",   "csv",
                           "--start",    "2024-01-01T13:00:00+01:00",
                           "-o",         out,
                           NULL};
    ck_assert_int_eq(run_gen(args2), CLI_OK);
    ck_assert(file_hash(out, &len) == UINT64_C(0xf223b1464807eee2));
    free(out);
    free(meta);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(test_cli_usage_errors)
{
    static const char *const bad[][8] = {
        {"gen", NULL},
        {"gen", "trucks", NULL},
        {"gen", "fleet", "--interval", "10x", NULL},
        {"gen", "fleet", "--interval", "1.5s", NULL},
        {"gen", "fleet", "--span", "1w", NULL},
        {"gen", "fleet", "--jitter-ms", "5000", NULL},
        {"gen", "fleet", "--trucks", "0", NULL},
        {"gen", "fleet", "--scale", "huge", NULL},
        {"gen", "fleet", "--format", "json", NULL},
        {"gen", "fleet", "--start", "2024-02-30T00:00:00Z", NULL},
        {"gen", "fleet", "--start", "2024-01-01 00:00:00", NULL},
        {"gen", "fleet", "--seed", NULL},
        {"gen", "fleet", "--colour", NULL},
        {"gen", "fleet", "extra", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(run_gen(bad[i]) == CLI_USAGE, "case %zu (%s %s) accepted", i, bad[i][1],
                      bad[i][2] ? bad[i][2] : "");
}
END_TEST

Suite *fleetgen_suite(void); /* found by the runner (suites.h) */

Suite *fleetgen_suite(void)
{
    Suite *s = suite_create("fleetgen");
    TCase *tc = tcase_create("pyrandom");
    tcase_add_test(tc, test_random_seed42);
    tcase_add_test(tc, test_random_seed0);
    tcase_add_test(tc, test_random_big_seeds);
    tcase_add_test(tc, test_getrandbits);
    tcase_add_test(tc, test_randrange_randint_choice);
    tcase_add_test(tc, test_gauss_uniform);
    suite_add_tcase(s, tc);
    tc = tcase_create("format");
    tcase_add_test(tc, test_format_fixed);
    suite_add_tcase(s, tc);
    tc = tcase_create("generator");
    tcase_add_test(tc, test_golden_small_lp);
    tcase_add_test(tc, test_golden_csv);
    tcase_add_test(tc, test_golden_jitter);
    tcase_add_test(tc, test_fleet_counts);
    tcase_add_test(tc, test_invalid_options);
    tcase_add_test(tc, test_alloc_failure);
    tcase_add_test(tc, test_write_error);
    suite_add_tcase(s, tc);
    tc = tcase_create("cli");
    tcase_add_test(tc, test_cli_file_and_meta);
    tcase_add_test(tc, test_cli_usage_errors);
    suite_add_tcase(s, tc);
    return s;
}
