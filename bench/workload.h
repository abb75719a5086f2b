/*
 * workload.h — data sets for the benchmarks: the TSBS-style fleet, built
 * in memory so a run needs no files (tools/fleetgen.c, byte-identical to
 * ../shared/peers/gen_fleet.py) as line-protocol text, and the same data
 * split into per-series columns for the codec benchmarks; and, when they
 * are present, the real fixtures (NAB, Beijing air quality) as columns.
 */
#ifndef STRATA_BENCH_WORKLOAD_H
#define STRATA_BENCH_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

/* The fleet as line protocol: `trucks` trucks, one day, 10 s interval,
 * seed 42 (20 trucks = the peers' "small" scale, 200 = "default"). */
typedef struct wl_text {
    char *text;
    size_t len;
    uint64_t lines, values;
} wl_text;

int wl_fleet_text(int64_t trucks, wl_text *out /* OUT */);
void wl_text_free(wl_text *t);

/* The same data as columns: one entry per series, its points in time order. */
typedef struct wl_series {
    char *key; /* measurement,tags field */
    uint8_t type;
    int64_t *ts;
    uint64_t *v;
    size_t n;
} wl_series;

typedef struct wl_columns {
    wl_series *s;
    size_t n;
    uint64_t values;
} wl_columns;

int wl_columns_from_text(const wl_text *t, wl_columns *out /* OUT */);
void wl_columns_free(wl_columns *c);

/* The real fixtures of ../shared/fixtures as columns (float64 series, in
 * time order, one value per timestamp: the last of duplicates, as a
 * database keeps it).  dir is the fixtures directory.  Return 0, 1 when
 * the fixture is absent (nothing allocated), -1 on a read or parse error.
 *   NAB: nab/<category>/<file>.csv (timestamp,value), one series per
 *        file, key "nab,file=<file> value".
 *   Beijing: beijing-aq/PRSA_Data_<station>_*.csv, the 11 numeric fields
 *        per station (NA skipped; hours are Beijing time, UTC+8), key
 *        "aq,station=<station> <field>". */
int wl_nab_columns(const char *dir, wl_columns *out /* OUT */);
int wl_beijing_columns(const char *dir, wl_columns *out /* OUT */);

/* A fresh empty directory under $TMPDIR (or /tmp); free() the result. */
char *wl_tmpdir(void);
void wl_rmrf(const char *path);

#endif
