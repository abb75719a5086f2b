/*
 * run_tests.c — the one test runner: collects every suite listed in the
 * generated suites.h (one per tests/check_<name>.c) and exits non-zero when
 * any test fails.  CK_RUN_SUITE / CK_RUN_CASE select a subset (see check).
 */
#include <check.h>
#include <stdlib.h>

#define SUITE(n) Suite *n##_suite(void);
#include "suites.h"
#undef SUITE

int main(void)
{
    /* check's default of 4 s per test is too short under the sanitizers. */
    setenv("CK_DEFAULT_TIMEOUT", "300", 0);
    SRunner *sr = srunner_create(NULL);
#define SUITE(n) srunner_add_suite(sr, n##_suite());
#include "suites.h"
#undef SUITE
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
