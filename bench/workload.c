/*
 * workload.c — builds the benchmark data sets in memory (see workload.h).
 * Series are keyed by their raw measurement-and-tags text plus field name;
 * within the fleet every series is written in time order, so columns need
 * no sorting.
 */
#define _GNU_SOURCE /* open_memstream, nftw */
#include "bench/workload.h"

#include "engine/lineproto.h"
#include "strata.h"
#include "tools/fleetgen.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int wl_fleet_text(int64_t trucks, wl_text *out)
{
    memset(out, 0, sizeof *out);
    fleetgen_opts o;
    fleetgen_opts_init(&o);
    o.trucks = trucks;
    FILE *f = open_memstream(&out->text, &out->len);
    if (!f)
        return -1;
    int rc = fleetgen_write(&o, f, &out->lines, &out->values);
    if (fclose(f) != 0 || rc != 0) {
        free(out->text);
        out->text = NULL;
        return -1;
    }
    return 0;
}

void wl_text_free(wl_text *t)
{
    free(t->text);
    t->text = NULL;
}

typedef struct slot {
    char *key;
    size_t idx;
} slot;

static uint64_t hash_str(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

int wl_columns_from_text(const wl_text *t, wl_columns *out)
{
    memset(out, 0, sizeof *out);
    size_t cap_s = 0, map_cap = 1 << 16;
    slot *map = calloc(map_cap, sizeof *map);
    size_t *caps = NULL;
    lp_line *ln = malloc(sizeof *ln);
    if (!map || !ln) {
        free(map);
        free(ln);
        return -1;
    }
    const char *p = t->text, *end = t->text + t->len;
    char key[2048];
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        strata_lp_error err;
        if (lp_parse(p, len, STRATA_PRECISION_NS, ln, &err) != 0) {
            fprintf(stderr, "workload: bad line: %s\n", err.message);
            abort();
        }
        p += len + 1;
        if (ln->blank)
            continue;
        for (uint32_t f = 0; f < ln->nfields; f++) {
            int kl = snprintf(key, sizeof key, "%.*s %.*s", (int)ln->series_raw.len,
                              ln->series_raw.p, (int)ln->field[f].name.len, ln->field[f].name.p);
            uint64_t h = hash_str(key, (size_t)kl);
            size_t i = (size_t)h & (map_cap - 1);
            while (map[i].key && strcmp(map[i].key, key) != 0)
                i = (i + 1) & (map_cap - 1);
            if (!map[i].key) {
                if (out->n == cap_s) {
                    cap_s = cap_s ? cap_s * 2 : 256;
                    out->s = realloc(out->s, cap_s * sizeof *out->s);
                    caps = realloc(caps, cap_s * sizeof *caps);
                }
                map[i].key = strdup(key);
                map[i].idx = out->n;
                out->s[out->n] = (wl_series){strdup(key), ln->field[f].type, NULL, NULL, 0};
                caps[out->n++] = 0;
            }
            size_t si = map[i].idx;
            wl_series *s = &out->s[si];
            if (s->n == caps[si]) {
                caps[si] = caps[si] ? caps[si] * 2 : 1024;
                s->ts = realloc(s->ts, caps[si] * sizeof *s->ts);
                s->v = realloc(s->v, caps[si] * sizeof *s->v);
            }
            uint64_t bits;
            const lp_field *fd = &ln->field[f];
            if (fd->type == STRATA_F64)
                memcpy(&bits, &fd->v.f64, sizeof bits);
            else if (fd->type == STRATA_I64)
                bits = (uint64_t)fd->v.i64;
            else
                bits = fd->v.b != 0;
            s->ts[s->n] = ln->ts;
            s->v[s->n++] = bits;
            out->values++;
        }
    }
    for (size_t i = 0; i < map_cap; i++)
        free(map[i].key);
    free(map);
    free(caps);
    free(ln);
    return 0;
}

void wl_columns_free(wl_columns *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->s[i].key);
        free(c->s[i].ts);
        free(c->s[i].v);
    }
    free(c->s);
    memset(c, 0, sizeof *c);
}

char *wl_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/strata-bench-XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void wl_rmrf(const char *path)
{
    if (path)
        nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}
