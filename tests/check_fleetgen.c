/*
 * check_fleetgen.c — the CPython-compatible PRNG (tools/pyrandom.c).
 *
 * Every expected value here came from CPython 3.11.7's `random` module.
 */
#include "tools/pyrandom.h"

#include <check.h>

/* ---- pyrandom -------------------------------------------------------------- */

START_TEST(test_random_seed42)
{
    /* random.Random(42).random() x 5; Random(-42) is the same generator. */
    static const double want[] = {0x1.4762f307200c5p-1, 0x1.99c6b5eeb2060p-6,
                                  0x1.19a1491f589dcp-2, 0x1.c922b623b8c1cp-3,
                                  0x1.7912c1468f47ep-1};
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
    static const double want[] = {0x1.b0580f98a7dbep-1, 0x1.84129978f9c1ap-1,
                                  0x1.aeaa51052e978p-2};
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
    static const double want[] = {0x1.eba9dddc042e6p-1, 0x1.e3cef7789b8d7p-1,
                                  0x1.e243cd6cd99a0p-4};
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
    static const int64_t want[] = {2,   1,   3,  5,  0,  0, 4, 0,      2,      4,     1, 5, 2,
                                   1,   1,   117, 113, 23, 67, 29, 0, 0, 867017, 592921, 129815};
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
    static const double g[] = {0x1.9dee0ef340c7fp-2, 0x1.1aa5b78f32f4dp-3,
                               -0x1.982697ef2e5b7p-2, 0x1.0d0dcf0fd60a8p-2,
                               0x1.d0a9e513391fbp-3};
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
    return s;
}
