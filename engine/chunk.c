/*
 * chunk.c — chunk grid, statistics, encoding and decoding (see chunk.h).
 *
 * The grid: a chunk holds the points of one cell of a time grid whose
 * width is the smallest of 1 s, 10 s, 1 min, 5 min, 15 min, 1 h, 3 h, 6 h,
 * 12 h and 1 d that is expected to hold SEG_CHUNK_TARGET points at the
 * series' mean rate, or the whole partition when none is.  Cells are
 * aligned to the Unix epoch, so chunks of a 10 s series cover whole hours
 * and chunk statistics answer hourly aggregates without decoding.
 *
 * Encoding: each column goes through every codec that fits it (timestamps:
 * ts-dod, ts-linear, raw; float64: f64-gorilla, const, f64-decimal, raw;
 * int64: i64-delta, const, i64-pack, raw; bool: bool-bits, const) and the
 * smallest encoding is kept; then LZ4 over both columns replaces them when
 * that saves at least an eighth.  The chunk checksum covers the bytes as
 * stored.
 *
 * Reading the moments of a chunk's values (chunk_value_moments, for stddev)
 * makes the same checks as decoding and leaves the arithmetic to the value
 * codec's moments entry point (f64-decimal: exact sums of its integers).
 */
#include "engine/chunk.h"

#include "engine/alloc.h"
#include "engine/codec.h"
#include "engine/segment_format.h"
#include "engine/tmath.h"
#include "strata.h"

#include <limits.h>
#include <lz4.h>
#include <math.h>
#include <string.h>
#include <xxhash.h>

static const int64_t grids[] = {
    1000000000LL,         10000000000LL,       60000000000LL,       300000000000LL,
    900000000000LL,       3600000000000LL,     10800000000000LL, 21600000000000LL,
    43200000000000LL,     86400000000000LL,
};

int64_t chunk_grid(const int64_t *ts, size_t n, int64_t part_ns)
{
    if (n < 2)
        return part_ns;
    double interval = ((double)ts[n - 1] - (double)ts[0]) / (double)(n - 1);
    double want = interval * SEG_CHUNK_TARGET;
    for (size_t i = 0; i < sizeof grids / sizeof grids[0]; i++)
        if ((double)grids[i] >= want)
            return grids[i] < part_ns ? grids[i] : part_ns;
    return part_ns;
}

size_t chunk_span(const int64_t *ts, size_t n, int64_t grid)
{
    size_t max = n < SEG_CHUNK_MAX ? n : SEG_CHUNK_MAX;
    int64_t cell = t_floor_div(ts[0], grid);
    /* The cell's end; points are sorted, so find the first beyond it. */
    int64_t end;
    if (__builtin_mul_overflow(cell + 1, grid, &end))
        return max;
    size_t lo = 1, hi = max;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ts[mid] < end)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static double bits_f64(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static uint64_t f64_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

void chunk_stats_compute(uint8_t type, const uint64_t *v, size_t n, chunk_stats *st)
{
    memset(st, 0, sizeof *st);
    st->count = (uint32_t)n;
    if (!n)
        return;
    st->first = v[0];
    st->last = v[n - 1];
    if (type == STRATA_F64) {
        double mn = NAN, mx = NAN, sum = 0;
        uint32_t nans = 0;
        size_t i = 0;
        while (i < n && isnan(bits_f64(v[i])))
            i++;
        nans = (uint32_t)i;
        if (i < n)
            mn = mx = bits_f64(v[i]);
        /* min and max as selects, not branches (random readings mispredict
         * them); an equal value keeps the first seen (-0.0 vs +0.0) */
        for (; i < n; i++) {
            double d = bits_f64(v[i]);
            if (isnan(d)) {
                nans++;
                continue;
            }
            mn = d < mn ? d : mn;
            mx = d > mx ? d : mx;
            sum += d;
        }
        /* -0.0 and +0.0 compare equal: keep the first seen, as stored. */
        st->min = f64_bits(mn);
        st->max = f64_bits(mx);
        st->sum = f64_bits(sum);
        st->nan_count = nans;
    } else if (type == STRATA_I64) {
        int64_t mn = (int64_t)v[0], mx = mn, sum = 0;
        int over = 0;
        for (size_t i = 0; i < n; i++) {
            int64_t x = (int64_t)v[i];
            mn = x < mn ? x : mn;
            mx = x > mx ? x : mx;
            over |= __builtin_add_overflow(sum, x, &sum);
        }
        st->min = (uint64_t)mn;
        st->max = (uint64_t)mx;
        st->sum = (uint64_t)sum;
        st->flags = over ? SEG_STAT_SUM_OVERFLOW : 0;
    } else {
        uint64_t ones = 0;
        for (size_t i = 0; i < n; i++)
            ones += v[i] & 1;
        st->sum = ones;
        st->min = ones == n;
        st->max = ones != 0;
    }
}

/* The candidates per column; the first of each list is the version-1 codec
 * (CHUNK_CLASSIC uses it alone). */
static const uint8_t ts_cands[] = {CODEC_TS_DOD, CODEC_TS_LINEAR, CODEC_RAW};
static const uint8_t f64_cands[] = {CODEC_F64_GORILLA, CODEC_CONST, CODEC_F64_DECIMAL, CODEC_RAW};
static const uint8_t i64_cands[] = {CODEC_I64_DELTA, CODEC_CONST, CODEC_I64_PACK, CODEC_RAW};
static const uint8_t bool_cands[] = {CODEC_BOOL_BITS, CODEC_CONST};

/* CHUNK_BEST tries them cheapest-likely-winner first, so that a column
 * that costs nothing (a constant, a regular clock) stops the search at
 * once.  On chunks of 64 values or more, Gorilla is tried only when the
 * decimal form costs two bytes a value or more: on values it can
 * represent it is smaller, and Gorilla wins where it cannot (arbitrary
 * binary fractions), where it costs more.  Ties go to the earlier codec of
 * the classic lists below, as when every codec was tried in that order. */
static const uint8_t ts_best[] = {CODEC_TS_LINEAR, CODEC_TS_DOD, CODEC_RAW};
static const uint8_t f64_best[] = {CODEC_CONST, CODEC_F64_DECIMAL, CODEC_F64_GORILLA, CODEC_RAW};
static const uint8_t i64_best[] = {CODEC_CONST, CODEC_I64_PACK, CODEC_I64_DELTA, CODEC_RAW};
static const uint8_t bool_best[] = {CODEC_CONST, CODEC_BOOL_BITS};

static const uint8_t *best_order(uint8_t type, size_t *n)
{
    switch (type) {
    case STRATA_F64: *n = sizeof f64_best; return f64_best;
    case STRATA_I64: *n = sizeof i64_best; return i64_best;
    case STRATA_BOOL: *n = sizeof bool_best; return bool_best;
    default: *n = sizeof ts_best; return ts_best;
    }
}

static const uint8_t *candidates(uint8_t type, size_t *n)
{
    switch (type) {
    case STRATA_F64: *n = sizeof f64_cands; return f64_cands;
    case STRATA_I64: *n = sizeof i64_cands; return i64_cands;
    case STRATA_BOOL: *n = sizeof bool_cands; return bool_cands;
    default: *n = sizeof ts_cands; return ts_cands;
    }
}

int chunk_codecs_fit(uint8_t type, unsigned ts_codec, unsigned val_codec)
{
    const codec *t = codec_get(ts_codec), *v = codec_get(val_codec);
    return t && v && (t->columns & CODEC_COL_TS) && (v->columns & codec_column(type));
}

/* The largest bound among a column's candidates. */
static size_t column_bound(uint8_t type, size_t n)
{
    size_t k, b = 0;
    const uint8_t *c = candidates(type, &k);
    for (size_t i = 0; i < k; i++) {
        size_t x = codec_get(c[i])->bound(n);
        b = x > b ? x : b;
    }
    return b;
}

size_t chunk_bound(uint8_t type, size_t n)
{
    size_t tb = column_bound(0, n), vb = column_bound(type, n);
    size_t work = tb > vb ? tb : vb, z = (size_t)LZ4_compressBound((int)(tb + vb));
    return tb + vb + (work > z ? work : z);
}

/* Encode one column with the smallest candidate into out; scratch has
 * room for any candidate.  Returns the length, *id the codec. */
static size_t encode_column(uint8_t type, const uint64_t *in, size_t n, int policy, uint8_t *out,
                            uint8_t *scratch, uint8_t *id)
{
    size_t k;
    const uint8_t *c;
    if (policy == CHUNK_CLASSIC) {
        c = candidates(type, &k);
        k = 1;
    } else {
        c = best_order(type, &k);
    }
    size_t best = SIZE_MAX, nclassic;
    const uint8_t *classic = candidates(type, &nclassic);
    unsigned best_rank = UINT_MAX;
    for (size_t i = 0; i < k && best > 0; i++) {
        if (c[i] == CODEC_RAW && best <= 8 * n)
            continue; /* raw takes exactly 8 bytes a value */
        if (c[i] == CODEC_F64_GORILLA && best < 2 * n && n >= 64)
            continue;
        /* equal sizes go to the codec listed first in the classic order,
         * whatever order they were tried in */
        unsigned rank = 0;
        while (rank < nclassic && classic[rank] != c[i])
            rank++;
        const codec *cd = codec_get(c[i]);
        size_t len = cd->encode(in, n, scratch);
        if (len == CODEC_NA || len > best || (len == best && rank > best_rank))
            continue;
        best_rank = rank;
        memcpy(out, scratch, len);
        best = len;
        *id = c[i];
    }
    return best;
}

static int forced_policy = -1;

void chunk_force_policy(int policy)
{
    __atomic_store_n(&forced_policy, policy, __ATOMIC_RELAXED);
}

int chunk_policy_in_force(int policy)
{
    int forced = __atomic_load_n(&forced_policy, __ATOMIC_RELAXED);
    return forced >= 0 ? forced : policy;
}

size_t chunk_encode(uint8_t type, const int64_t *ts, const uint64_t *v, size_t n, int policy,
                    uint8_t *out, chunk_meta *m)
{
    policy = chunk_policy_in_force(policy);
    uint8_t *scratch = out + column_bound(0, n) + column_bound(type, n);
    m->zlen = 0;
    size_t tl = encode_column(0, (const uint64_t *)ts, n, policy, out, scratch, &m->ts_codec);
    size_t vl = encode_column(type, v, n, policy, out + tl, scratch, &m->val_codec);
    m->tmin = ts[0];
    m->tmax = ts[n - 1];
    m->ts_len = (uint32_t)tl;
    m->val_len = (uint32_t)vl;
    chunk_stats_compute(type, v, n, &m->st);
    size_t stored = tl + vl;
    /* LZ4 only when it saves an eighth: decompressing costs more than the
     * codecs' own decoding, and the entry pays a length for it. */
    if (policy == CHUNK_BEST && stored > 16) {
        int z = LZ4_compress_default((const char *)out, (char *)scratch, (int)stored,
                                     LZ4_compressBound((int)stored));
        if (z > 0 && (size_t)z + 2 <= stored - stored / 8) {
            memcpy(out, scratch, (size_t)z);
            m->zlen = (uint32_t)z;
            stored = (size_t)z;
        }
    }
    m->checksum = (uint32_t)XXH3_64bits(out, stored);
    return stored;
}

/* Check the checksum and undo LZ4: *cols points at the two columns, in
 * data or in *unz (to be freed).  0, or chunk_decode's -1, -2, -3. */
static int open_stored(const chunk_meta *m, const uint8_t *data, const uint8_t **cols,
                       uint8_t **unz)
{
    *unz = NULL;
    *cols = data;
    if ((uint32_t)XXH3_64bits(data, chunk_stored_len(m)) != m->checksum)
        return -1;
    if (!m->zlen)
        return 0;
    size_t raw = (size_t)m->ts_len + m->val_len;
    if (!(*unz = st_malloc(raw ? raw : 1)))
        return -3;
    if (LZ4_decompress_safe((const char *)data, (char *)*unz, (int)m->zlen, (int)raw) != (int)raw)
        return -2;
    *cols = *unz;
    return 0;
}

int chunk_decode(const chunk_meta *m, const uint8_t *data, int64_t *ts, uint64_t *v)
{
    const codec *tc = codec_get(m->ts_codec), *vc = codec_get(m->val_codec);
    uint8_t *unz;
    int rc = open_stored(m, data, &data, &unz);
    if (rc == 0 && (!tc || !vc))
        rc = -2;
    if (rc) {
        st_free(unz);
        return rc;
    }
    uint32_t n = m->st.count;
    codec_ends te = {(uint64_t)m->tmin, (uint64_t)m->tmax}, ve = {m->st.first, m->st.last};
    int bad = (ts && tc->decode(data, m->ts_len, n, &te, (uint64_t *)ts) != 0) ||
              (v && vc->decode(data + m->ts_len, m->val_len, n, &ve, v) != 0);
    st_free(unz);
    if (bad)
        return -2;
    if (!ts)
        return 0;
    /* The index's time range and strictly increasing times are what the
     * readers rely on; a chunk that disagrees is damaged.  An empty
     * ts-linear column is the line from tmin to tmax: increasing when its
     * step is at least 1. */
    if (n == 0 || ts[0] != m->tmin || ts[n - 1] != m->tmax)
        return -2;
    if (m->ts_codec == CODEC_TS_LINEAR && m->ts_len == 0)
        return n == 1 || (uint64_t)m->tmax - (uint64_t)m->tmin >= n - 1 ? 0 : -2;
    int order = 0;
    for (uint32_t i = 1; i < n; i++)
        order |= ts[i] <= ts[i - 1];
    return order ? -2 : 0;
}

int chunk_decode_values(const chunk_meta *m, const uint8_t *data, uint64_t *v)
{
    return chunk_decode(m, data, NULL, v);
}

int chunk_decode_times(const chunk_meta *m, const uint8_t *data, int64_t *ts)
{
    return chunk_decode(m, data, ts, NULL);
}

int chunk_has_moments(uint8_t type, const chunk_meta *m)
{
    const codec *vc = codec_get(m->val_codec);
    return type == STRATA_F64 && vc && vc->moments && (vc->columns & CODEC_COL_F64);
}

int chunk_value_moments(const chunk_meta *m, const uint8_t *data, uint64_t *scratch,
                        codec_moments *out)
{
    const codec *tc = codec_get(m->ts_codec), *vc = codec_get(m->val_codec);
    uint8_t *unz;
    *out = (codec_moments){0, 0, 0};
    int rc = open_stored(m, data, &data, &unz);
    if (rc == 0 && (!tc || !vc || !vc->moments))
        rc = -2;
    if (rc == 0) {
        codec_ends ve = {m->st.first, m->st.last};
        rc = vc->moments(data + m->ts_len, m->val_len, m->st.count, &ve, scratch, out) ? -2 : 0;
    }
    st_free(unz);
    return rc;
}
