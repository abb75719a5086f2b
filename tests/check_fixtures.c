/*
 * check_fixtures.c — bit-exact round trips of real data through every codec
 * and through whole segment files: the fleet (generated, with and without
 * timestamp jitter) and, when ../shared/fixtures holds them (or
 * $STRATA_FIXTURES), the NAB corpus and the Beijing air-quality files.
 * Absent fixtures are skipped with a note, not failed.
 *
 * Per chunk (cut as a writer cuts them: day partitions, the chunk grid):
 * every codec that fits the column and takes the chunk must give back every
 * word; the writer's choice (chunk_encode) must too, with the statistics of
 * the values.  Per data set: a segment file with every series verifies and
 * reads back exactly.
 */
#include "engine/chunk.h"
#include "engine/codec.h"
#include "engine/segment.h"
#include "engine/segment_format.h"
#include "engine/timetext.h"
#include "strata.h"
#include "tests/testutil.h"
#include "tools/fleetgen.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY 86400000000000LL

typedef struct series {
    char key[256];
    uint8_t type;
    int64_t *ts;
    uint64_t *v;
    size_t n, cap;
} series;

typedef struct dataset {
    series *s;
    size_t n;
    uint64_t values;
} dataset;

static series *find_series(dataset *d, const char *key, uint8_t type)
{
    for (size_t i = d->n; i-- > 0;)
        if (!strcmp(d->s[i].key, key))
            return &d->s[i];
    d->s = realloc(d->s, (d->n + 1) * sizeof *d->s);
    series *s = &d->s[d->n++];
    memset(s, 0, sizeof *s);
    snprintf(s->key, sizeof s->key, "%s", key);
    s->type = type;
    return s;
}

/* Append a point; points come in time order per series, and a repeated
 * timestamp replaces the value before (the last one wins, as in a
 * database). */
static void add_point(dataset *d, series *s, int64_t ts, uint64_t v)
{
    if (s->n && s->ts[s->n - 1] == ts) {
        s->v[s->n - 1] = v;
        return;
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 1024;
        s->ts = realloc(s->ts, s->cap * sizeof *s->ts);
        s->v = realloc(s->v, s->cap * sizeof *s->v);
    }
    s->ts[s->n] = ts;
    s->v[s->n++] = v;
    d->values++;
}

static void free_dataset(dataset *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->s[i].ts);
        free(d->s[i].v);
    }
    free(d->s);
    memset(d, 0, sizeof *d);
}

static uint64_t f2u(double x)
{
    uint64_t u;
    memcpy(&u, &x, 8);
    return u;
}

static const char *fixtures(void)
{
    const char *f = getenv("STRATA_FIXTURES");
    return f && *f ? f : "../shared/fixtures";
}

/* The fleet as CSV (device,measurement,field,ts_ns,value), in time order. */
static void load_fleet(dataset *d, int64_t jitter_ms)
{
    fleetgen_opts o;
    fleetgen_opts_init(&o);
    o.trucks = 3;
    o.jitter_ms = jitter_ms;
    o.format = FLEETGEN_CSV;
    char *text = NULL;
    size_t len = 0;
    uint64_t lines, values;
    FILE *f = open_memstream(&text, &len);
    ck_assert_int_eq(fleetgen_write(&o, f, &lines, &values), 0);
    fclose(f);
    char *line = strchr(text, '\n');
    while (line && *++line) {
        char *nl = strchr(line, '\n'), *c[4];
        c[0] = strchr(line, ',');
        c[1] = strchr(c[0] + 1, ',');
        c[2] = strchr(c[1] + 1, ',');
        c[3] = strchr(c[2] + 1, ',');
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)(c[2] - line), line);
        int is_int = !strncmp(c[1] + 1, "status", 6);
        series *s = find_series(d, key, is_int ? STRATA_I64 : STRATA_F64);
        int64_t ts = strtoll(c[2] + 1, NULL, 10);
        uint64_t v = is_int ? (uint64_t)strtoll(c[3] + 1, NULL, 10) : f2u(strtod(c[3] + 1, NULL));
        add_point(d, s, ts, v);
        line = nl;
    }
    free(text);
}

/* NAB: <dir>/nab/<category>/<file>.csv, timestamp,value.  0 when absent. */
static int load_nab(dataset *d)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/nab", fixtures());
    DIR *top = opendir(path);
    if (!top)
        return 0;
    struct dirent *cat;
    while ((cat = readdir(top)) != NULL) {
        if (cat->d_name[0] == '.')
            continue;
        char cdir[4400];
        snprintf(cdir, sizeof cdir, "%s/%s", path, cat->d_name);
        DIR *cd = opendir(cdir);
        struct dirent *e;
        while (cd && (e = readdir(cd)) != NULL) {
            size_t l = strlen(e->d_name);
            if (l < 5 || strcmp(e->d_name + l - 4, ".csv"))
                continue;
            char fp[4700];
            snprintf(fp, sizeof fp, "%s/%s", cdir, e->d_name);
            char *text = tu_read_file(fp, NULL);
            ck_assert_ptr_nonnull(text);
            /* sort by time: files are in time order except for a few
             * repeated hours (DST); keep the last of equal times */
            size_t cap = 1024, n = 0;
            struct pt {
                int64_t ts;
                uint64_t v;
                size_t seq;
            } *pts = malloc(cap * sizeof *pts);
            char *line = strchr(text, '\n');
            while (line && *++line) {
                char *nl = strchr(line, '\n'), *comma = strchr(line, ',');
                if (!comma || (nl && comma > nl)) {
                    line = nl;
                    continue;
                }
                if (n == cap)
                    pts = realloc(pts, (cap *= 2) * sizeof *pts);
                ck_assert_int_eq(time_parse(line, (size_t)(comma - line), &pts[n].ts), 0);
                pts[n].v = f2u(strtod(comma + 1, NULL));
                pts[n].seq = n;
                n++;
                line = nl;
            }
            for (size_t i = 1; i < n; i++) /* insertion sort: nearly sorted */
                for (size_t j = i; j > 0 && (pts[j - 1].ts > pts[j].ts); j--) {
                    struct pt t = pts[j];
                    pts[j] = pts[j - 1];
                    pts[j - 1] = t;
                }
            series *s = find_series(d, e->d_name, STRATA_F64);
            for (size_t i = 0; i < n; i++)
                add_point(d, s, pts[i].ts, pts[i].v);
            free(pts);
            free(text);
        }
        if (cd)
            closedir(cd);
    }
    closedir(top);
    return 1;
}

/* Beijing: <dir>/beijing-aq/PRSA_Data_*.csv, 11 numeric fields; NA
 * skipped.  0 when absent. */
static int load_beijing(dataset *d)
{
    static const int cols[] = {5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16};
    char path[4096];
    snprintf(path, sizeof path, "%s/beijing-aq", fixtures());
    DIR *dir = opendir(path);
    if (!dir)
        return 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (strncmp(e->d_name, "PRSA_Data_", 10))
            continue;
        char fp[4400];
        snprintf(fp, sizeof fp, "%s/%s", path, e->d_name);
        char *text = tu_read_file(fp, NULL);
        ck_assert_ptr_nonnull(text);
        char *line = strchr(text, '\n');
        while (line && *++line) {
            char *fld[18], *q = line;
            int nf = 0;
            while (nf < 18) {
                fld[nf++] = q;
                q += strcspn(q, ",\r\n");
                if (*q != ',')
                    break;
                q++;
            }
            char *nl = strchr(q, '\n');
            if (nf == 18) {
                char when[64];
                snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:00:00+08:00", atoi(fld[1]),
                         atoi(fld[2]), atoi(fld[3]), atoi(fld[4]));
                int64_t ts;
                ck_assert_int_eq(time_parse(when, strlen(when), &ts), 0);
                for (int k = 0; k < 11; k++) {
                    if (fld[cols[k]][0] == 'N')
                        continue;
                    char key[256];
                    snprintf(key, sizeof key, "%s %d", e->d_name, cols[k]);
                    add_point(d, find_series(d, key, STRATA_F64), ts,
                              f2u(strtod(fld[cols[k]], NULL)));
                }
            }
            line = nl;
        }
        free(text);
    }
    closedir(dir);
    return 1;
}

/* Every codec on every chunk, the writer's choice, and a segment file. */
static void check_dataset(const dataset *d, const char *name)
{
    static uint8_t enc[1 << 20];
    static uint64_t out[SEG_CHUNK_MAX];
    static int64_t ts_out[SEG_CHUNK_MAX];
    uint64_t taken[CODEC_MAX_ID + 1] = {0}, chunks = 0;
    char *dir = tu_tmpdir(), *path = tu_path(dir, "0000000000000001.seg");
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = 0; i < d->n; i++) {
        lo = d->s[i].ts[0] < lo ? d->s[i].ts[0] : lo;
        hi = d->s[i].ts[d->s[i].n - 1] > hi ? d->s[i].ts[d->s[i].n - 1] : hi;
    }
    /* one segment over the whole span: a partition of whole days */
    int64_t p0 = lo / DAY * DAY - (lo % DAY < 0 ? DAY : 0), width = (hi - p0) / DAY * DAY + DAY;
    seg_writer *w;
    ck_assert_int_eq(segw_open(path, 1, p0, p0 + width - 1, &w), STRATA_OK);
    for (size_t si = 0; si < d->n; si++) {
        const series *s = &d->s[si];
        int64_t grid = chunk_grid(s->ts, s->n, DAY);
        for (size_t at = 0; at < s->n;) {
            size_t n = chunk_span(s->ts + at, s->n - at, grid);
            const int64_t *ts = s->ts + at;
            const uint64_t *v = s->v + at;
            for (unsigned id = 1; id <= CODEC_MAX_ID; id++) {
                const codec *c = codec_get(id);
                int ts_col = (c->columns & CODEC_COL_TS) != 0;
                for (int col = 0; col < 2; col++) {
                    if (col == 0 ? !ts_col : !(c->columns & codec_column(s->type)))
                        continue;
                    const uint64_t *in = col == 0 ? (const uint64_t *)ts : v;
                    size_t len = c->encode(in, n, enc);
                    if (len == CODEC_NA)
                        continue;
                    taken[id]++;
                    codec_ends ends = {in[0], in[n - 1]};
                    TU_CHECK(len <= c->bound(n) && c->decode(enc, len, n, &ends, out) == 0,
                             "%s %s: %s does not decode a chunk at %zu", name, s->key, c->name, at);
                    for (size_t i = 0; i < n; i++)
                        TU_CHECK(out[i] == in[i], "%s %s: %s value %zu", name, s->key, c->name,
                                 at + i);
                }
            }
            chunk_meta m;
            chunk_encode(s->type, ts, v, n, CHUNK_BEST, enc, &m);
            TU_CHECK(chunk_decode(&m, enc, ts_out, out) == 0, "%s %s: chunk at %zu", name, s->key,
                     at);
            for (size_t i = 0; i < n; i++)
                TU_CHECK(ts_out[i] == ts[i] && out[i] == v[i], "%s %s: chunk value %zu", name,
                         s->key, at + i);
            TU_CHECK(chunk_decode(&m, enc, NULL, out) == 0 && !memcmp(out, v, n * sizeof *v),
                     "%s %s: values only, chunk at %zu", name, s->key, at);
            chunk_stats st;
            chunk_stats_compute(s->type, v, n, &st);
            TU_CHECK(!memcmp(&st, &m.st, sizeof st), "%s %s: statistics at %zu", name, s->key, at);
            chunks++;
            at += n;
        }
        ck_assert_int_eq(segw_add(w, (uint32_t)si, s->type, s->ts, s->v, s->n), STRATA_OK);
    }
    seg_info in;
    ck_assert_int_eq(segw_finish(w, &in), STRATA_OK);
    long problems = 0;
    ck_assert_int_eq(segr_verify(path, NULL, &problems, NULL), 0);
    seg_reader *r;
    ck_assert_int_eq(segr_open(path, &r), STRATA_OK);
    for (size_t si = 0; si < d->n; si++) {
        seg_cursor c;
        ck_assert(segr_find(r, (uint32_t)si, &c));
        chunk_meta m;
        size_t at = 0;
        while (segr_next_chunk(&c, &m) == STRATA_ROW) {
            ck_assert_int_eq(segr_decode(r, &m, ts_out, out), STRATA_OK);
            for (uint32_t i = 0; i < m.st.count; i++, at++)
                TU_CHECK(ts_out[i] == d->s[si].ts[at] && out[i] == d->s[si].v[at],
                         "%s %s: segment value %zu", name, d->s[si].key, at);
        }
        ck_assert_uint_eq(at, d->s[si].n);
    }
    segr_unref(r);
    fprintf(stderr, "check_fixtures: %s: %zu series, %llu values, %llu chunks, %llu bytes "
                    "(%.3f per value); chunks taken:",
            name, d->n, (unsigned long long)d->values, (unsigned long long)chunks,
            (unsigned long long)in.size, (double)in.size / (double)d->values);
    for (unsigned id = 1; id <= CODEC_MAX_ID; id++)
        if (taken[id])
            fprintf(stderr, " %s %llu", codec_get(id)->name, (unsigned long long)taken[id]);
    fprintf(stderr, "\n");
    tu_rmrf(dir);
    free(path);
    free(dir);
}

static void no_report(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "verify: %s\n", msg);
}

START_TEST(test_fleet)
{
    (void)no_report;
    for (int jitter = 0; jitter <= 1; jitter++) {
        dataset d = {0};
        load_fleet(&d, jitter ? 40 : 0);
        check_dataset(&d, jitter ? "fleet, 40 ms jitter" : "fleet");
        free_dataset(&d);
    }
}
END_TEST

START_TEST(test_nab)
{
    dataset d = {0};
    if (!load_nab(&d)) {
        fprintf(stderr, "check_fixtures: no %s/nab, skipped\n", fixtures());
        return;
    }
    check_dataset(&d, "nab");
    free_dataset(&d);
}
END_TEST

START_TEST(test_beijing)
{
    dataset d = {0};
    if (!load_beijing(&d)) {
        fprintf(stderr, "check_fixtures: no %s/beijing-aq, skipped\n", fixtures());
        return;
    }
    check_dataset(&d, "beijing");
    free_dataset(&d);
}
END_TEST

Suite *fixtures_suite(void); /* found by run_tests.c */

Suite *fixtures_suite(void)
{
    Suite *s = suite_create("fixtures");
    TCase *tc = tcase_create("roundtrip");
    tcase_add_test(tc, test_fleet);
    tcase_add_test(tc, test_nab);
    tcase_add_test(tc, test_beijing);
    suite_add_tcase(s, tc);
    return s;
}
