/*
 * chunk.c — chunk grid, statistics, encoding and decoding (see chunk.h).
 *
 * The grid: a chunk holds the points of one cell of a time grid whose
 * width is the smallest of 1 s, 10 s, 1 min, 5 min, 15 min, 1 h, 3 h, 6 h,
 * 12 h and 1 d that is expected to hold SEG_CHUNK_TARGET points at the
 * series' mean rate, or the whole partition when none is.  Cells are
 * aligned to the Unix epoch, so chunks of a 10 s series cover whole hours
 * and chunk statistics answer hourly aggregates without decoding.
 */
#include "engine/chunk.h"

#include "engine/codec.h"
#include "engine/segment_format.h"
#include "strata.h"

#include <math.h>
#include <string.h>
#include <xxhash.h>

static const int64_t grids[] = {
    1000000000LL,         10000000000LL,       60000000000LL,       300000000000LL,
    900000000000LL,       3600000000000LL,     10800000000000LL, 21600000000000LL,
    43200000000000LL,     86400000000000LL,
};

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

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
    int64_t cell = floor_div(ts[0], grid);
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
        for (size_t i = 0; i < n; i++) {
            double d = bits_f64(v[i]);
            if (isnan(d)) {
                nans++;
                continue;
            }
            if (!(d >= mn))
                mn = d; /* also replaces the initial NaN */
            if (!(d <= mx))
                mx = d;
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

uint8_t chunk_value_codec(uint8_t type)
{
    return type == STRATA_F64 ? CODEC_F64_GORILLA
           : type == STRATA_I64 ? CODEC_I64_DELTA
                                : CODEC_BOOL_BITS;
}

size_t chunk_bound(uint8_t type, size_t n)
{
    return codec_ts_dod.bound(n) + codec_get(chunk_value_codec(type))->bound(n);
}

size_t chunk_encode(uint8_t type, const int64_t *ts, const uint64_t *v, size_t n, uint8_t *out,
                    chunk_meta *m)
{
    const codec *vc = codec_get(chunk_value_codec(type));
    size_t tl = codec_ts_dod.encode((const uint64_t *)ts, n, out);
    size_t vl = vc->encode(v, n, out + tl);
    m->tmin = ts[0];
    m->tmax = ts[n - 1];
    m->ts_len = (uint32_t)tl;
    m->val_len = (uint32_t)vl;
    m->ts_codec = CODEC_TS_DOD;
    m->val_codec = vc->id;
    m->checksum = (uint32_t)XXH3_64bits(out, tl + vl);
    chunk_stats_compute(type, v, n, &m->st);
    return tl + vl;
}

int chunk_decode(const chunk_meta *m, const uint8_t *data, int64_t *ts, uint64_t *v)
{
    if ((uint32_t)XXH3_64bits(data, (size_t)m->ts_len + m->val_len) != m->checksum)
        return -1;
    const codec *tc = codec_get(m->ts_codec), *vc = codec_get(m->val_codec);
    if (!tc || !vc)
        return -2;
    codec_ends te = {(uint64_t)m->tmin, (uint64_t)m->tmax}, ve = {m->st.first, m->st.last};
    if (tc->decode(data, m->ts_len, m->st.count, &te, (uint64_t *)ts) != 0 ||
        vc->decode(data + m->ts_len, m->val_len, m->st.count, &ve, v) != 0)
        return -2;
    /* The index's time range and strictly increasing times are what the
     * readers rely on; a chunk that disagrees is damaged. */
    uint32_t n = m->st.count;
    if (n == 0 || ts[0] != m->tmin || ts[n - 1] != m->tmax)
        return -2;
    for (uint32_t i = 1; i < n; i++)
        if (ts[i] <= ts[i - 1])
            return -2;
    return 0;
}
