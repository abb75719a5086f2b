/*
 * workload.c — builds the benchmark data sets in memory (see workload.h).
 * Series are keyed by their raw measurement-and-tags text plus field name;
 * within the fleet every series is written in time order, so columns need
 * no sorting.
 */
#define _GNU_SOURCE /* open_memstream, nftw */
#include "bench/workload.h"

#include "engine/lineproto.h"
#include "engine/timetext.h"
#include "strata.h"
#include "tools/fleetgen.h"

#include <dirent.h>
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

/* ---- fixtures ---------------------------------------------------------------------- */

typedef struct point {
    int64_t ts;
    uint64_t v;
    size_t seq;
} point;

static int cmp_point(const void *a, const void *b)
{
    const point *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Append a series from points (sorted here; the last of equal times wins). */
static int add_series(wl_columns *c, const char *key, point *pt, size_t n)
{
    qsort(pt, n, sizeof *pt, cmp_point);
    wl_series *s = realloc(c->s, (c->n + 1) * sizeof *s);
    if (!s)
        return -1;
    c->s = s;
    s = &c->s[c->n];
    *s = (wl_series){strdup(key), STRATA_F64, malloc((n ? n : 1) * sizeof *s->ts),
                     malloc((n ? n : 1) * sizeof *s->v), 0};
    if (!s->key || !s->ts || !s->v)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s->n && s->ts[s->n - 1] == pt[i].ts)
            s->n--;
        s->ts[s->n] = pt[i].ts;
        s->v[s->n++] = pt[i].v;
    }
    c->n++;
    c->values += s->n;
    return 0;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *b = NULL;
    size_t cap = 0, n = 0, k;
    do {
        if (n + 65536 > cap) {
            cap = (n + 65536) * 2;
            char *nb = realloc(b, cap + 1);
            if (!nb) {
                free(b);
                fclose(f);
                return NULL;
            }
            b = nb;
        }
        k = fread(b + n, 1, cap - n, f);
        n += k;
    } while (k > 0);
    fclose(f);
    b[n] = 0;
    *len = n;
    return b;
}

static uint64_t f2bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    return u;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in dir ending in suffix, sorted; NULL when dir is absent. */
static char **list_dir(const char *dir, const char *suffix, size_t *n)
{
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    char **v = NULL;
    *n = 0;
    struct dirent *e;
    size_t sl = strlen(suffix);
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] == '.' || l < sl || strcmp(e->d_name + l - sl, suffix) != 0)
            continue;
        v = realloc(v, (*n + 1) * sizeof *v);
        v[(*n)++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(v, *n, sizeof *v, cmp_str);
    return v;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

int wl_nab_columns(const char *dir, wl_columns *out)
{
    memset(out, 0, sizeof *out);
    char path[4096];
    snprintf(path, sizeof path, "%s/nab", dir);
    size_t ncat;
    char **cats = list_dir(path, "", &ncat);
    if (!cats)
        return 1;
    int rc = 0;
    for (size_t c = 0; c < ncat && rc == 0; c++) {
        char cdir[4400];
        snprintf(cdir, sizeof cdir, "%s/%s", path, cats[c]);
        size_t nf;
        char **files = list_dir(cdir, ".csv", &nf);
        for (size_t f = 0; files && f < nf && rc == 0; f++) {
            char fp[4700];
            snprintf(fp, sizeof fp, "%s/%s", cdir, files[f]);
            size_t len;
            char *text = slurp(fp, &len);
            if (!text) {
                rc = -1;
                break;
            }
            point *pt = malloc((len / 20 + 1) * sizeof *pt);
            size_t n = 0;
            char *line = strchr(text, '\n'); /* skip the header */
            while (line && *++line) {
                char *nl = strchr(line, '\n'), *comma = strchr(line, ',');
                if (!comma || (nl && comma > nl)) {
                    line = nl;
                    continue;
                }
                double d = strtod(comma + 1, NULL);
                if (time_parse(line, (size_t)(comma - line), &pt[n].ts) != 0) {
                    rc = -1;
                    break;
                }
                pt[n].v = f2bits(d);
                pt[n].seq = n;
                n++;
                line = nl;
            }
            char key[600];
            snprintf(key, sizeof key, "nab,file=%.*s value", (int)(strlen(files[f]) - 4), files[f]);
            if (rc == 0 && add_series(out, key, pt, n))
                rc = -1;
            free(pt);
            free(text);
        }
        free_list(files, files ? nf : 0);
    }
    free_list(cats, ncat);
    if (rc)
        wl_columns_free(out);
    return rc;
}

int wl_beijing_columns(const char *dir, wl_columns *out)
{
    static const char *const names[] = {"PM2.5", "PM10", "SO2",  "NO2",  "CO",  "O3",
                                        "TEMP",  "PRES", "DEWP", "RAIN", "WSPM"};
    static const int cols[] = {5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16};
    enum { NF = 11 };
    memset(out, 0, sizeof *out);
    char path[4096];
    snprintf(path, sizeof path, "%s/beijing-aq", dir);
    size_t nf;
    char **files = list_dir(path, ".csv", &nf);
    if (!files)
        return 1;
    int rc = 0;
    for (size_t f = 0; f < nf && rc == 0; f++) {
        char fp[4400];
        snprintf(fp, sizeof fp, "%s/%s", path, files[f]);
        size_t len;
        char *text = slurp(fp, &len);
        if (!text) {
            rc = -1;
            break;
        }
        size_t cap = len / 40 + 1, n[NF] = {0};
        point *pt[NF];
        for (int k = 0; k < NF; k++)
            pt[k] = malloc(cap * sizeof *pt[k]);
        char station[256] = "";
        char *line = strchr(text, '\n');
        while (line && *++line && rc == 0) {
            char *fld[18];
            int nfld = 0;
            char *q = line;
            while (nfld < 18) {
                fld[nfld++] = q;
                while (*q && *q != ',' && *q != '\n' && *q != '\n')
                    q++;
                if (*q != ',')
                    break;
                q++;
            }
            char *nl = strchr(q, '\n');
            if (nfld < 18) {
                line = nl;
                continue;
            }
            char when[64];
            snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:00:00+08:00", atoi(fld[1]),
                     atoi(fld[2]), atoi(fld[3]), atoi(fld[4]));
            int64_t ts;
            if (time_parse(when, strlen(when), &ts) != 0) {
                rc = -1;
                break;
            }
            if (!station[0]) {
                const char *st = fld[17] + (fld[17][0] == '"');
                snprintf(station, sizeof station, "%.*s", (int)strcspn(st, "\"\r\n"), st);
            }
            for (int k = 0; k < NF; k++) {
                const char *v = fld[cols[k]];
                if (v[0] == 'N' || v[0] == ',' || v[0] == '\r')
                    continue;
                pt[k][n[k]] = (point){ts, f2bits(strtod(v, NULL)), n[k]};
                n[k]++;
            }
            line = nl;
        }
        for (int k = 0; k < NF; k++) {
            char key[400];
            snprintf(key, sizeof key, "aq,station=%s %s", station, names[k]);
            if (rc == 0 && add_series(out, key, pt[k], n[k]))
                rc = -1;
            free(pt[k]);
        }
        free(text);
    }
    free_list(files, nf);
    if (rc)
        wl_columns_free(out);
    return rc;
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
