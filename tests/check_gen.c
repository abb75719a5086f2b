/*
 * check_gen.c — the devops generator (tools/devopsgen.c), the flaky-uplink
 * fleet (tools/flakygen.c), their PRNG (tools/genrand.h) and their `strata
 * gen` subcommands.
 *
 * The flaky fleet's contract is checked end to end: its distinct lines are
 * exactly the clean fleet's lines, it really is late, out of order and
 * duplicated, and `strata ingest` of it stores what `strata ingest` of the
 * clean fleet stores (compared through `strata dump`).
 */
#include "engine/alloc.h"
#include "strata.h"
#include "tests/testutil.h"
#include "tools/devopsgen.h"
#include "tools/flakygen.h"
#include "tools/fleetgen.h"
#include "tools/genrand.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mem {
    char *p;
    size_t len;
};

static struct mem gen_devops(const devopsgen_opts *o, uint64_t *lines, uint64_t *values)
{
    struct mem m = {0};
    FILE *f = open_memstream(&m.p, &m.len);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(devopsgen_write(o, f, lines, values), STRATA_OK);
    ck_assert_int_eq(fclose(f), 0);
    return m;
}

static struct mem gen_flaky(const flakygen_opts *o, flakygen_stats *st)
{
    struct mem m = {0};
    FILE *f = open_memstream(&m.p, &m.len);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(flakygen_write(o, f, st), STRATA_OK);
    ck_assert_int_eq(fclose(f), 0);
    return m;
}

static struct mem gen_fleet(const fleetgen_opts *o)
{
    struct mem m = {0};
    FILE *f = open_memstream(&m.p, &m.len);
    uint64_t lines, values;
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fleetgen_write(o, f, &lines, &values), STRATA_OK);
    ck_assert_int_eq(fclose(f), 0);
    return m;
}

/* The lines of m (terminators replaced by NULs) as an array; free() it. */
static char **split_lines(struct mem *m, size_t *n /* OUT */)
{
    size_t cap = 1024, k = 0;
    char **v = malloc(cap * sizeof *v);
    char *p = m->p, *end = m->p + m->len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        ck_assert_ptr_nonnull(nl); /* every line is terminated */
        *nl = 0;
        if (k == cap)
            v = realloc(v, (cap *= 2) * sizeof *v);
        v[k++] = p;
        p = nl + 1;
    }
    *n = k;
    return v;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- genrand --------------------------------------------------------------- */

START_TEST(test_genrand)
{
    genrand a, b, c;
    genrand_seed(&a, 42, 0);
    genrand_seed(&b, 42, 0);
    genrand_seed(&c, 42, 1);
    int differ = 0;
    double sum = 0, sq = 0;
    for (int i = 0; i < 20000; i++) {
        uint64_t x = genrand_next(&a);
        TU_CHECK(x == genrand_next(&b), "same seed, same stream");
        differ += x != genrand_next(&c);
    }
    for (int i = 0; i < 20000; i++) {
        int64_t r = genrand_range(&a, -3, 3);
        TU_CHECK(r >= -3 && r <= 3, "range %lld", (long long)r);
        double u = genrand_unit(&a);
        TU_CHECK(u >= 0.0 && u < 1.0, "unit %g", u);
        double z = genrand_normal(&a);
        TU_CHECK(z >= -6.0 && z <= 6.0, "normal %g", z);
        sum += z;
        sq += z * z;
    }
    ck_assert_int_gt(differ, 19990);
    ck_assert_double_lt(fabs(sum / 20000), 0.05);
    ck_assert_double_lt(fabs(sq / 20000 - 1.0), 0.05);
}
END_TEST

/* ---- devops ---------------------------------------------------------------- */

START_TEST(test_devops_shape)
{
    devopsgen_opts o;
    devopsgen_opts_init(&o);
    o.hosts = 4;
    o.span_s = 3600;
    uint64_t lines, values;
    struct mem m = gen_devops(&o, &lines, &values);
    ck_assert_uint_eq(lines, 4 * 360);
    ck_assert_uint_eq(values, 4 * 360 * 10);
    size_t n;
    char **v = split_lines(&m, &n);
    ck_assert_uint_eq(n, lines);
    static const char *const tags[] = {"hostname", "region", "datacenter", "rack", "os", "arch",
                                       "team", "service", "service_version",
                                       "service_environment"};
    for (size_t i = 0; i < n; i++) {
        char host[32];
        snprintf(host, sizeof host, "cpu,hostname=host_%zu,", i % 4);
        TU_CHECK(!strncmp(v[i], host, strlen(host)), "line %zu: %s", i, v[i]);
        char *sp = strchr(v[i], ' ');
        TU_CHECK(sp != NULL, "line %zu has no fields", i);
        const char *t = v[i] + 4;
        for (size_t k = 0; k < 10; k++) {
            size_t tl = strlen(tags[k]);
            TU_CHECK(!strncmp(t, tags[k], tl) && t[tl] == '=', "line %zu tag %zu", i, k);
            t = strpbrk(t, ", ") + 1;
        }
        char *f = sp + 1;
        for (int k = 0; k < DEVOPSGEN_NFIELDS; k++) {
            size_t fl = strlen(devopsgen_fields[k]);
            TU_CHECK(!strncmp(f, devopsgen_fields[k], fl) && f[fl] == '=', "line %zu field %d",
                     i, k);
            char *end;
            double x = strtod(f + fl + 1, &end);
            TU_CHECK(x >= 0.0 && x <= 100.0, "line %zu value %g", i, x);
            TU_CHECK(end - strchr(f, '.') == 3, "two decimals: %s", f);
            f = end + 1;
        }
        long long ts = strtoll(f, NULL, 10);
        TU_CHECK(ts == o.start_ns + (long long)(i / 4) * 10000000000LL, "line %zu time", i);
    }
    free(v);
    /* the same options give the same bytes; another seed other values */
    uint64_t l2, v2;
    struct mem again = gen_devops(&o, &l2, &v2);
    free(m.p);
    m = gen_devops(&o, &lines, &values);
    ck_assert_uint_eq(again.len, m.len);
    ck_assert_mem_eq(again.p, m.p, m.len);
    o.seed = 43;
    struct mem other = gen_devops(&o, &l2, &v2);
    ck_assert(other.len != m.len || memcmp(other.p, m.p, m.len) != 0);
    free(m.p);
    free(again.p);
    free(other.p);
}
END_TEST

START_TEST(test_devops_walk_steps)
{
    /* one host, many steps: each field moves by a small step, both ways */
    devopsgen_opts o;
    devopsgen_opts_init(&o);
    o.hosts = 1;
    o.span_s = 20000;
    uint64_t lines, values;
    struct mem m = gen_devops(&o, &lines, &values);
    size_t n;
    char **v = split_lines(&m, &n);
    double prev[DEVOPSGEN_NFIELDS];
    int up = 0, down = 0;
    for (size_t i = 0; i < n; i++) {
        char *f = strchr(v[i], ' ') + 1;
        for (int k = 0; k < DEVOPSGEN_NFIELDS; k++) {
            double x = strtod(strchr(f, '=') + 1, &f);
            f++;
            if (i) {
                TU_CHECK(fabs(x - prev[k]) <= 6.0 + 1e-9, "step %g", x - prev[k]);
                up += x > prev[k];
                down += x < prev[k];
            }
            prev[k] = x;
        }
    }
    ck_assert_int_gt(up, (int)n * 3);
    ck_assert_int_gt(down, (int)n * 3);
    free(v);
    free(m.p);
}
END_TEST

START_TEST(test_devops_invalid)
{
    devopsgen_opts o;
    devopsgen_opts_init(&o);
    o.hosts = 0;
    ck_assert_ptr_nonnull(devopsgen_invalid(&o));
    uint64_t lines = 1, values = 1;
    ck_assert_int_eq(devopsgen_write(&o, stdout, &lines, &values), STRATA_MISUSE);
    ck_assert_uint_eq(lines, 0);
    devopsgen_opts_init(&o);
    o.span_s = 5;
    ck_assert_ptr_nonnull(devopsgen_invalid(&o));
    devopsgen_opts_init(&o);
    o.start_ns = INT64_MAX - 10;
    ck_assert_ptr_nonnull(devopsgen_invalid(&o));
}
END_TEST

/* ---- flaky ----------------------------------------------------------------- */

static void flaky_small(flakygen_opts *o)
{
    flakygen_opts_init(o);
    o->fleet.trucks = 10;
    o->fleet.span_s = 4 * 3600;
    o->fleet.seed = 7;
    o->storms = 3;
}

START_TEST(test_flaky_same_points)
{
    flakygen_opts o;
    flaky_small(&o);
    flakygen_stats st;
    struct mem fm = gen_flaky(&o, &st);
    struct mem cm = gen_fleet(&o.fleet);
    size_t nf, nc;
    char **f = split_lines(&fm, &nf);
    char **c = split_lines(&cm, &nc);
    ck_assert_uint_eq(st.lines, nc);
    ck_assert_uint_eq(st.lines_sent, nf);
    ck_assert_uint_eq(st.values, nc * 5);
    ck_assert_uint_eq(st.values_sent, nf * 5);
    ck_assert_uint_eq(st.storms, 3);
    ck_assert_uint_gt(st.duplicates, 0);
    ck_assert_uint_gt(st.late, 0);
    ck_assert_uint_eq(nf, nc + st.duplicates);

    /* out of order: a line older than one already sent by the same truck */
    size_t backwards = 0;
    long long last[10] = {0};
    for (size_t i = 0; i < nf; i++) {
        const char *name = strstr(f[i], "name=truck_");
        int t = atoi(name + 11);
        long long ts = atoll(strrchr(f[i], ' ') + 1);
        backwards += ts < last[t];
        last[t] = ts > last[t] ? ts : last[t];
    }
    ck_assert_uint_gt(backwards, 100);

    /* the distinct lines are the clean fleet's lines */
    qsort(f, nf, sizeof *f, cmp_str);
    qsort(c, nc, sizeof *c, cmp_str);
    size_t u = 0;
    for (size_t i = 0; i < nf; i++)
        if (i == 0 || strcmp(f[i], f[i - 1]))
            f[u++] = f[i];
    ck_assert_uint_eq(u, nc);
    for (size_t i = 0; i < nc; i++)
        TU_CHECK(!strcmp(f[i], c[i]), "line %zu differs: %s / %s", i, f[i], c[i]);
    free(f);
    free(c);
    free(fm.p);
    free(cm.p);
}
END_TEST

START_TEST(test_flaky_deterministic)
{
    flakygen_opts o;
    flaky_small(&o);
    o.fleet.span_s = 3600;
    flakygen_stats s1, s2;
    struct mem a = gen_flaky(&o, &s1), b = gen_flaky(&o, &s2);
    ck_assert_uint_eq(a.len, b.len);
    ck_assert_mem_eq(a.p, b.p, a.len);
    ck_assert_uint_eq(s1.duplicates, s2.duplicates);
    o.storms = 0;
    o.fleet.seed = 8;
    struct mem d = gen_flaky(&o, &s2);
    ck_assert_uint_eq(s2.storms, 0);
    ck_assert(d.len != a.len || memcmp(d.p, a.p, a.len) != 0);
    free(a.p);
    free(b.p);
    free(d.p);
}
END_TEST

START_TEST(test_flaky_alloc_failure)
{
    flakygen_opts o;
    flaky_small(&o);
    o.fleet.trucks = 3;
    o.fleet.span_s = 1800;
    flakygen_stats st;
    for (long n = 1;; n++) {
        st_alloc_fail_at(n);
        FILE *f = fopen("/dev/null", "w");
        int rc = flakygen_write(&o, f, &st);
        fclose(f);
        long made = st_alloc_fail_at(0);
        if (rc == STRATA_OK) {
            ck_assert_int_lt(made, n);
            break;
        }
        ck_assert_int_eq(rc, STRATA_NOMEM);
        ck_assert_uint_eq(st.lines_sent, 0);
        ck_assert_int_lt(n, 500);
    }
    ck_assert_uint_eq(st.lines, 3 * 180 * 2);
}
END_TEST

START_TEST(test_flaky_invalid)
{
    flakygen_opts o;
    flakygen_opts_init(&o);
    o.fleet.format = FLEETGEN_CSV;
    ck_assert_ptr_nonnull(flakygen_invalid(&o));
    flakygen_opts_init(&o);
    o.storms = -1;
    ck_assert_ptr_nonnull(flakygen_invalid(&o));
    flakygen_opts_init(&o);
    o.fleet.trucks = 0;
    flakygen_stats st;
    ck_assert_int_eq(flakygen_write(&o, stdout, &st), STRATA_MISUSE);
}
END_TEST

/* ---- through the CLI --------------------------------------------------------- */

static char *ingest_and_dump(const char *dir, const char *name, const char *lp)
{
    char *db = tu_path(dir, name);
    const char *ingest[] = {"ingest", db, "--quiet", "--device-tag", "name", lp, NULL};
    char *err = NULL;
    ck_assert_msg(tu_cli(ingest, NULL, NULL, &err) == 0, "ingest %s: %s", lp, err);
    free(err);
    const char *dump[] = {"dump", db, NULL};
    char *out = NULL;
    ck_assert_int_eq(tu_cli(dump, NULL, &out, NULL), 0);
    free(db);
    return out;
}

START_TEST(test_cli_flaky_ingests_like_fleet)
{
    char *dir = tu_tmpdir();
    char *fleet = tu_path(dir, "fleet.lp"), *flaky = tu_path(dir, "flaky.lp");
    const char *gf[] = {"gen", "fleet", "--trucks", "10", "--span", "4h", "--seed", "7",
                        "-o", fleet, NULL};
    const char *gk[] = {"gen", "flaky", "--trucks", "10", "--span", "4h", "--seed", "7",
                        "--storms", "3", "-o", flaky, NULL};
    ck_assert_int_eq(tu_cli(gf, NULL, NULL, NULL), 0);
    ck_assert_int_eq(tu_cli(gk, NULL, NULL, NULL), 0);
    char *meta = tu_path(dir, "flaky.lp.meta.json");
    char *m = tu_read_file(meta, NULL);
    ck_assert_ptr_nonnull(m);
    ck_assert_ptr_nonnull(strstr(m, "\"values\": 144000,"));
    ck_assert_ptr_nonnull(strstr(m, "\"generator\": \"strata gen flaky\""));
    char *a = ingest_and_dump(dir, "clean", fleet);
    char *b = ingest_and_dump(dir, "flaky", flaky);
    ck_assert_uint_gt(strlen(a), 1000);
    ck_assert_uint_eq(strlen(a), strlen(b));
    ck_assert_str_eq(a, b);
    free(a);
    free(b);
    free(m);
    free(meta);
    free(fleet);
    free(flaky);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(test_cli_devops)
{
    char *dir = tu_tmpdir();
    char *lp = tu_path(dir, "d.lp");
    const char *g[] = {"gen", "devops", "--hosts", "3", "--span", "1m", "-o", lp, NULL};
    ck_assert_int_eq(tu_cli(g, NULL, NULL, NULL), 0);
    char *meta = tu_path(dir, "d.lp.meta.json");
    char *m = tu_read_file(meta, NULL);
    ck_assert_ptr_nonnull(m);
    ck_assert_ptr_nonnull(strstr(m, "\"values\": 180,"));
    char *db = tu_path(dir, "db");
    const char *ingest[] = {"ingest", db, "--quiet", "--device-tag", "hostname", lp, NULL};
    ck_assert_int_eq(tu_cli(ingest, NULL, NULL, NULL), 0);
    const char *dump[] = {"dump", db, NULL};
    char *out = NULL;
    ck_assert_int_eq(tu_cli(dump, NULL, &out, NULL), 0);
    size_t lines = 0;
    for (char *p = out; (p = strchr(p, '\n')); p++)
        lines++;
    ck_assert_uint_eq(lines, 180);
    free(out);
    free(db);
    free(m);
    free(meta);
    free(lp);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(test_cli_usage_errors)
{
    static const char *const bad[][8] = {
        {"gen", "devops", "--hosts", "0", NULL},
        {"gen", "devops", "--hosts", "x", NULL},
        {"gen", "devops", "--span", "1q", NULL},
        {"gen", "devops", "--trucks", "3", NULL},
        {"gen", "devops", "extra", NULL},
        {"gen", "flaky", "--storms", "-1", NULL},
        {"gen", "flaky", "--format", "csv", NULL},
        {"gen", "flaky", "--interval", "0", NULL},
        {"gen", "nope", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *err = NULL;
        ck_assert_int_eq(tu_cli(bad[i], NULL, NULL, &err), 2);
        ck_assert_msg(strstr(err, "strata: gen") != NULL, "case %zu: %s", i, err);
        free(err);
    }
    const char *help[] = {"gen", "--help", NULL};
    char *out = NULL;
    ck_assert_int_eq(tu_cli(help, NULL, &out, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "devops"));
    ck_assert_ptr_nonnull(strstr(out, "flaky"));
    free(out);
}
END_TEST

Suite *gen_suite(void); /* found by the runner (suites.h) */

Suite *gen_suite(void)
{
    Suite *s = suite_create("gen");
    TCase *tc = tcase_create("devops");
    tcase_add_test(tc, test_genrand);
    tcase_add_test(tc, test_devops_shape);
    tcase_add_test(tc, test_devops_walk_steps);
    tcase_add_test(tc, test_devops_invalid);
    suite_add_tcase(s, tc);
    tc = tcase_create("flaky");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_flaky_same_points);
    tcase_add_test(tc, test_flaky_deterministic);
    tcase_add_test(tc, test_flaky_alloc_failure);
    tcase_add_test(tc, test_flaky_invalid);
    suite_add_tcase(s, tc);
    tc = tcase_create("cli");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_cli_flaky_ingests_like_fleet);
    tcase_add_test(tc, test_cli_devops);
    tcase_add_test(tc, test_cli_usage_errors);
    suite_add_tcase(s, tc);
    return s;
}
