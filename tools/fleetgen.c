/*
 * fleetgen.c — the fleet generator (see fleetgen.h): the truck model, its
 * sampling and quantization, and the buffered writer for both formats.
 *
 * Byte-identical output with gen_fleet.py rests on three things:
 *   - the same PRNG draws in the same order (pyrandom.c; note the Python
 *     `and`/`elif` short-circuits, which decide whether a draw happens);
 *   - the same IEEE operations in the same order: every expression below is
 *     written as Python evaluates it (left to right, int operands promoted to
 *     double), with fused multiply-add off and cos()/sin() of one argument
 *     kept as two libm calls, as Python makes them;
 *   - Python's float semantics where they differ from C: `%` takes the sign
 *     of the divisor (py_mod), round(x) ties to even (rint), round(x, 1) is
 *     the correctly rounded 1-digit decimal read back as a double
 *     (round_1), and "%.Nf" is correctly rounded (fleetgen_format_fixed,
 *     exact integer arithmetic rather than printf, which is slow).
 * The generator is single-threaded and holds no state between calls.
 */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "tools/fleetgen.h"

#include "engine/alloc.h"
#include "strata.h"
#include "tools/pyrandom.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

const char *const fleetgen_fleets[FLEETGEN_NFLEETS] = {"East", "West", "North", "South"};
const char *const fleetgen_readings[FLEETGEN_NREADINGS] = {
    "latitude", "longitude", "elevation", "velocity", "heading", "grade", "fuel_consumption"};
const char *const fleetgen_diagnostics[FLEETGEN_NDIAGNOSTICS] = {"load", "fuel_state", "status"};

static const char *const drivers[] = {"Albert", "Derek", "Andy", "Seth", "Trish", "Rodney"};
static const char *const device_versions[] = {"v1.0", "v1.5", "v2.0", "v2.3"};

/* Models in sorted-name order, as the Python script indexes them. */
static const struct model {
    const char *name;
    double load_cap; /* kg */
    double tank;     /* L */
    double nominal;  /* L/100km */
} models[] = {{"F-150", 2000, 200, 15.0}, {"G-2000", 5000, 300, 30.0}, {"H-2", 1500, 150, 12.0}};

/* Home region per fleet (lat_min, lat_max, lon_min, lon_max). */
static const double regions[FLEETGEN_NFLEETS][4] = {
    {33.0, 45.0, -85.0, -70.0},   /* East */
    {33.0, 48.0, -124.0, -110.0}, /* West */
    {41.0, 49.0, -105.0, -85.0},  /* North */
    {26.0, 35.0, -105.0, -80.0},  /* South */
};

#define NS_PER_S INT64_C(1000000000)
#define NS_PER_MS INT64_C(1000000)
/* math.radians(x) is x * (pi / 180), the factor rounded once. */
#define DEG_TO_RAD (M_PI / 180.0)

/* "diagnostics,name=truck_<7 digits>,fleet=...": fits with room to spare;
 * these buffers are read in 16-byte chunks (put_chunks), so the sizes are
 * multiples of 16. */
#define TAGS_MAX 160
#define NAME_MAX_LEN 32
#define VALUE_MAX 336 /* fleetgen_format_fixed's worst case, and a NUL */
#define OUT_BUF (1u << 20)
#define OUT_RESERVE 8192 /* one truck's rows at the worst value widths */

struct truck {
    pyrandom rng;
    const double *region;
    double load_cap, tank, nominal;
    double lat, lon, elev, grade, heading, vel, cruise, fuel, load, load_target, fc;
    bool driving, refuel;
    int status, status_left;
    int fleet;
    size_t name_len, tags_r_len, tags_d_len;
    char name[NAME_MAX_LEN];
    char tags_r[TAGS_MAX];
    char tags_d[TAGS_MAX];
};

/* ---- Python float semantics ---------------------------------------------- */

/* x % y for floats: the result takes the sign of y. */
static double py_mod(double x, double y)
{
    double m = fmod(x, y);
    if (m != 0.0) {
        if ((y < 0.0) != (m < 0.0))
            m += y;
    } else {
        m = copysign(0.0, y);
    }
    return m;
}

static double clamp(double x, double lo, double hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

/* Decompose a finite |x| < 1e9 into round_half_even(|x| * 10^prec), exactly:
 * |x| = m * 2^e with m < 2^53 and e <= -23, so |x| * 10^prec is m * 10^prec
 * (< 2^83) shifted right by -e; the shifted-out bits decide the rounding. */
static const uint64_t pow10_u64[10] = {1,      10,      100,      1000,      10000,
                                       100000, 1000000, 10000000, 100000000, 1000000000};

static bool scaled_round(double x, int prec, uint64_t *q /* OUT */)
{
    double ax = fabs(x);
    if (!(ax < 1e9) || prec < 0 || prec > 9)
        return false;
    uint64_t bits;
    memcpy(&bits, &ax, sizeof bits);
    uint64_t mant = bits & ((UINT64_C(1) << 52) - 1);
    int bexp = (int)(bits >> 52);
    int shift;
    if (bexp == 0) {
        shift = 1074;
    } else {
        mant |= UINT64_C(1) << 52;
        shift = 1075 - bexp;
    }
    if (shift >= 128) { /* |x| * 10^prec < 2^83 / 2^128: rounds to 0 */
        *q = 0;
        return true;
    }
    unsigned __int128 p = (unsigned __int128)mant * pow10_u64[prec];
    unsigned __int128 one = (unsigned __int128)1 << shift;
    uint64_t v = (uint64_t)(p >> shift);
    unsigned __int128 rem = p & (one - 1), half = one >> 1;
    if (rem > half || (rem == half && (v & 1)))
        v++;
    *q = v;
    return true;
}

static char *put_mem(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

#define PUT_LIT(p, lit) put_mem((p), (lit), sizeof(lit) - 1)

/* put_mem for the hot path: copies whole 16-byte chunks, so the compiler
 * emits plain vector moves instead of a memcpy call.  The source must be
 * readable, and the destination writable, up to n rounded up to 16. */
static char *put_chunks(char *p, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i += 16)
        memcpy(p + i, s + i, 16);
    return p + n;
}

static const char digit_pairs[201] = "00010203040506070809101112131415161718192021222324"
                                     "25262728293031323334353637383940414243444546474849"
                                     "50515253545556575859606162636465666768697071727374"
                                     "75767778798081828384858687888990919293949596979899";

/* The decimal digits of v, at least min_digits of them (zero-padded), end
 * at `end`; returns where they start. */
static char *digits_before(char *end, uint64_t v, int min_digits)
{
    char *p = end;
    while (v >= 100) {
        p -= 2;
        memcpy(p, digit_pairs + 2 * (v % 100), 2);
        v /= 100;
    }
    if (v >= 10) {
        p -= 2;
        memcpy(p, digit_pairs + 2 * v, 2);
    } else {
        *--p = (char)('0' + v);
    }
    while (end - p < min_digits)
        *--p = '0';
    return p;
}

static char *put_i64(char *p, int64_t v)
{
    char tmp[20], *end = tmp + sizeof tmp;
    uint64_t mag = (uint64_t)v;
    if (v < 0) {
        *p++ = '-';
        mag = 0 - mag;
    }
    char *d = digits_before(end, mag, 1);
    size_t n = (size_t)(end - d);
    memcpy(p, d, n);
    return p + n;
}

char *fleetgen_format_fixed(char *p, double x, int prec)
{
    uint64_t q;
    if (!scaled_round(x, prec, &q))
        return p + snprintf(p, VALUE_MAX, "%.*f", prec, x);
    if (signbit(x))
        *p++ = '-';
    /* The digits of q with at least one before the point; tmp has room
     * for put_chunks to read past them. */
    char tmp[64], *end = tmp + 32;
    char *d = digits_before(end, q, prec + 1);
    size_t int_len = (size_t)(end - d) - (size_t)prec;
    p = put_chunks(p, d, int_len);
    if (prec > 0) {
        *p++ = '.';
        p = put_chunks(p, d + int_len, (size_t)prec);
    }
    return p;
}

/* round(x, 1): the nearest double to the correctly rounded 1-digit decimal.
 * q / 10.0 is that double: q and 10 are exact, the division rounds once. */
static double round_1(double x)
{
    uint64_t q;
    if (!scaled_round(x, 1, &q)) {
        char buf[VALUE_MAX];
        snprintf(buf, sizeof buf, "%.1f", x);
        return strtod(buf, NULL);
    }
    double r = (double)q / 10.0;
    return signbit(x) ? -r : r;
}

/* cos(x) and sin(x) as two libm calls, as Python makes them: the volatile
 * copy keeps the compiler from merging them into sincos(). */
static void cos_sin(double x, double *c /* OUT */, double *s /* OUT */)
{
    volatile double x_again = x;
    *c = cos(x);
    *s = sin(x_again);
}

/* ---- the truck model ----------------------------------------------------- */

static void seed_truck_rng(pyrandom *rng, int64_t seed, int64_t i)
{
    __int128 s = (__int128)seed * 1000003 + i;
    unsigned __int128 mag = s < 0 ? -(unsigned __int128)s : (unsigned __int128)s;
    pyrandom_seed_u128(rng, (uint64_t)(mag >> 64), (uint64_t)mag);
}

static void truck_init(struct truck *t, int64_t i, int64_t seed)
{
    pyrandom *rng = &t->rng;
    seed_truck_rng(rng, seed, i);
    t->fleet = (int)pyrandom_randrange(rng, 0, FLEETGEN_NFLEETS);
    const char *driver = drivers[pyrandom_randrange(rng, 0, 6)];
    const struct model *m = &models[pyrandom_randrange(rng, 0, 3)];
    const char *dv = device_versions[pyrandom_randrange(rng, 0, 4)];

    char *p = PUT_LIT(t->name, "truck_");
    p = put_i64(p, i);
    *p = 0;
    t->name_len = (size_t)(p - t->name);
    char tagset[TAGS_MAX];
    snprintf(tagset, sizeof tagset, "name=%s,fleet=%s,driver=%s,model=%s,device_version=%s ",
             t->name, fleetgen_fleets[t->fleet], driver, m->name, dv);
    t->tags_r_len = (size_t)snprintf(t->tags_r, sizeof t->tags_r, "readings,%s", tagset);
    t->tags_d_len = (size_t)snprintf(t->tags_d, sizeof t->tags_d, "diagnostics,%s", tagset);

    t->load_cap = m->load_cap;
    t->tank = m->tank;
    t->nominal = m->nominal;
    t->region = regions[t->fleet];
    const double *r = t->region;
    t->lat = pyrandom_uniform(rng, r[0] + 1, r[1] - 1);
    t->lon = pyrandom_uniform(rng, r[2] + 1, r[3] - 1);
    t->elev = pyrandom_uniform(rng, 50, 1500);
    t->grade = 0.0;
    t->heading = pyrandom_uniform(rng, 0, 360);
    t->cruise = pyrandom_uniform(rng, 70, 100);
    t->driving = pyrandom_random(rng) < 0.7;
    t->vel = t->driving ? t->cruise : 0.0;
    t->fuel = pyrandom_uniform(rng, 0.3, 1.0);
    t->load = rint(pyrandom_uniform(rng, 0, t->load_cap));
    t->load_target = t->load;
    t->refuel = false;
    t->status = 0;
    t->status_left = 0;
    t->fc = 0.0;
}

/* Advance the truck by dt seconds (Truck.step). */
static void truck_step(struct truck *t, double dt)
{
    pyrandom *rng = &t->rng;
    /* drive / stop state machine */
    if (t->driving) {
        if (t->fuel < 0.12) { /* low fuel: pull over, refuel */
            t->driving = false;
            t->refuel = true;
        } else if (pyrandom_random(rng) < dt / 3600.0) { /* ~1 h between stops */
            t->driving = false;
            if (pyrandom_random(rng) < 0.5) /* half the stops change the load */
                t->load_target = rint(pyrandom_uniform(rng, 0, t->load_cap));
        }
    } else if (!t->refuel && t->load == t->load_target && pyrandom_random(rng) < dt / 900.0) {
        t->driving = true; /* ~15 min stops */
        t->cruise = clamp(t->cruise + pyrandom_gauss(rng, 0, 5), 60, 105);
    }
    /* velocity (km/h) */
    if (t->driving) {
        double acc = 0.15 * (t->cruise - t->vel) + pyrandom_gauss(rng, 0, 2.0);
        t->vel = clamp(t->vel + clamp(acc, -15, 10), 0.0, 120.0);
        if (t->vel < 1.0)
            t->vel = 1.0 + pyrandom_random(rng);
    } else {
        double v = t->vel - 20.0; /* brake to a stop */
        t->vel = v > 0.0 ? v : 0.0;
        if (t->vel < 0.5)
            t->vel = 0.0;
    }
    bool moving = t->vel > 0.0;
    double dist_km = t->vel * dt / 3600.0;
    if (moving) {
        /* heading, position */
        if (pyrandom_random(rng) < 0.01) {
            double turn = pyrandom_choice(rng, 2) ? 90.0 : -90.0;
            t->heading += turn + pyrandom_gauss(rng, 0, 5);
        } else {
            t->heading += pyrandom_gauss(rng, 0, 2.0);
        }
        t->heading = py_mod(t->heading, 360.0);
        double h = t->heading * DEG_TO_RAD, cos_h, sin_h;
        cos_sin(h, &cos_h, &sin_h);
        const double *r = t->region;
        double nlat = t->lat + dist_km * cos_h / 111.32;
        double nlon = t->lon + dist_km * sin_h / (111.32 * cos(t->lat * DEG_TO_RAD));
        if (!(r[0] < nlat && nlat < r[1]) || !(r[2] < nlon && nlon < r[3])) {
            t->heading = py_mod(t->heading + 180.0, 360.0); /* turn back at the border */
        } else {
            t->lat = nlat;
            t->lon = nlon;
        }
        /* grade (%) and elevation (m) */
        t->grade = clamp(t->grade * 0.98 + pyrandom_gauss(rng, 0, 0.3), -8.0, 8.0);
        t->elev += t->grade / 100.0 * dist_km * 1000.0;
        if (t->elev < 0.0 || t->elev > 3000.0) {
            t->elev = clamp(t->elev, 0.0, 3000.0);
            t->grade = -t->grade;
        }
        /* fuel consumption (L/100km) and tank */
        t->fc = clamp(t->nominal * (1.0 + 0.06 * t->grade + 0.3 * t->load / t->load_cap) +
                          pyrandom_gauss(rng, 0, 0.8),
                      0.0, 60.0);
        double f = t->fuel - t->fc * dist_km / 100.0 / t->tank;
        t->fuel = f > 0.0 ? f : 0.0;
    } else {
        t->grade = fabs(t->grade) < 0.5 ? 0.0 : t->grade * 0.5;
        t->fc = 0.0;
        if (t->refuel) {
            double f = t->fuel + 0.02; /* ~6 min to fill */
            t->fuel = f < 1.0 ? f : 1.0;
            if (t->fuel >= 1.0)
                t->refuel = false;
        }
        if (t->load != t->load_target) { /* loading / unloading */
            double d = t->load_target - t->load;
            t->load += fabs(d) > 50.0 ? clamp(d, -50.0, 50.0) : d;
        }
    }
    /* status: mostly 0, rare fault episodes */
    if (t->status_left > 0) {
        if (--t->status_left == 0)
            t->status = 0;
    } else if (pyrandom_random(rng) < dt / 50000.0) {
        t->status = (int)pyrandom_randrange(rng, 1, 6);
        t->status_left = (int)pyrandom_randrange(rng, 6, 180);
    }
}

/* One quantized sensor reading (Truck.sample): the values in field order,
 * readings then diagnostics, the last (status) an integer. */
#define NVALUES (FLEETGEN_NREADINGS + FLEETGEN_NDIAGNOSTICS)

struct sample {
    double v[NVALUES - 1];
    int status;
};

/* "%.<prec>f" precision of each float value. */
static const int value_prec[NVALUES - 1] = {5, 5, 1, 1, 1, 1, 1, 0, 3};

static void truck_sample(struct truck *t, struct sample *s)
{
    s->v[0] = t->lat;
    s->v[1] = t->lon;
    /* altimeter noise; round() then "+ 0.0" turns -0.0 into 0.0 */
    s->v[2] = round_1(t->elev + pyrandom_gauss(&t->rng, 0, 0.2)) + 0.0;
    s->v[3] = t->vel;
    s->v[4] = py_mod(round_1(t->heading), 360.0);
    s->v[5] = round_1(t->grade) + 0.0;
    s->v[6] = t->fc;
    s->v[7] = t->load;
    s->v[8] = t->fuel;
    s->status = t->status;
}

static char *put_value(char *p, const struct sample *s, int i)
{
    return i < NVALUES - 1 ? fleetgen_format_fixed(p, s->v[i], value_prec[i])
                           : put_i64(p, s->status);
}

/* ---- output -------------------------------------------------------------- */

struct out {
    FILE *f;
    char *buf;
    size_t len;
    int err; /* errno of the first failed write, then nothing more is written */
};

static void out_flush(struct out *o)
{
    if (o->len && !o->err) {
        errno = 0;
        if (fwrite(o->buf, 1, o->len, o->f) != o->len)
            o->err = errno ? errno : EIO;
    }
    o->len = 0;
}

#define LIT(s)                                                                                     \
    {                                                                                              \
        s, sizeof(s) - 1                                                                           \
    }

static const struct lit {
    char s[32]; /* padded for put_chunks */
    size_t n;
} lp_keys[NVALUES] = {LIT("latitude="),          LIT(",longitude="),
                      LIT(",elevation="),        LIT(",velocity="),
                      LIT(",heading="),          LIT(",grade="),
                      LIT(",fuel_consumption="), LIT("load="),
                      LIT(",fuel_state="),       LIT(",status=")},
  csv_keys[NVALUES] = {LIT(",readings,latitude,"),         LIT(",readings,longitude,"),
                       LIT(",readings,elevation,"),        LIT(",readings,velocity,"),
                       LIT(",readings,heading,"),          LIT(",readings,grade,"),
                       LIT(",readings,fuel_consumption,"), LIT(",diagnostics,load,"),
                       LIT(",diagnostics,fuel_state,"),    LIT(",diagnostics,status,")};

static char *write_lp(char *p, const struct truck *t, const struct sample *s, const char *ts,
                      size_t ts_len)
{
    p = put_chunks(p, t->tags_r, t->tags_r_len);
    for (int i = 0; i < NVALUES; i++) {
        if (i == FLEETGEN_NREADINGS) {
            *p++ = ' ';
            p = put_chunks(p, ts, ts_len);
            *p++ = '\n';
            p = put_chunks(p, t->tags_d, t->tags_d_len);
        }
        p = put_chunks(p, lp_keys[i].s, lp_keys[i].n);
        p = put_value(p, s, i);
    }
    p = PUT_LIT(p, "i "); /* status is an integer field */
    p = put_chunks(p, ts, ts_len);
    *p++ = '\n';
    return p;
}

static char *write_csv(char *p, const struct truck *t, const struct sample *s, const char *ts,
                       size_t ts_len)
{
    for (int i = 0; i < NVALUES; i++) {
        p = put_chunks(p, t->name, t->name_len);
        p = put_chunks(p, csv_keys[i].s, csv_keys[i].n);
        p = put_chunks(p, ts, ts_len);
        *p++ = ',';
        p = put_value(p, s, i);
        *p++ = '\n';
    }
    return p;
}

/* ---- the API ------------------------------------------------------------- */

void fleetgen_opts_init(fleetgen_opts *o)
{
    o->trucks = 200;
    o->span_s = 86400;
    o->interval_s = 10;
    o->start_ns = FLEETGEN_DEFAULT_START_NS;
    o->seed = 42;
    o->jitter_ms = 0;
    o->format = FLEETGEN_LP;
}

const char *fleetgen_invalid(const fleetgen_opts *o)
{
    if (o->trucks < 1 || o->trucks > FLEETGEN_MAX_TRUCKS)
        return "the truck count must be between 1 and 1000000";
    if (o->interval_s < 1 || o->interval_s > INT64_MAX / NS_PER_S)
        return "the interval must be at least 1 s (and fit in int64 ns)";
    if (o->span_s < o->interval_s)
        return "the span must be at least one interval";
    if (o->jitter_ms < 0 || o->jitter_ms >= o->interval_s * 500)
        return "the jitter must be >= 0 and < interval/2";
    if (o->format != FLEETGEN_LP && o->format != FLEETGEN_CSV)
        return "unknown output format";
    /* Every timestamp, jittered either way, must fit in int64. */
    int64_t last, lo, hi;
    if (__builtin_mul_overflow(fleetgen_steps(o), o->interval_s * NS_PER_S, &last) ||
        __builtin_add_overflow(o->start_ns, last, &hi) ||
        __builtin_add_overflow(hi, o->jitter_ms * NS_PER_MS, &hi) ||
        __builtin_sub_overflow(o->start_ns, o->jitter_ms * NS_PER_MS, &lo))
        return "the timestamps do not fit in int64 nanoseconds";
    return NULL;
}

int64_t fleetgen_steps(const fleetgen_opts *o)
{
    return o->interval_s > 0 ? o->span_s / o->interval_s : 0;
}

void fleetgen_fleet_counts(const fleetgen_opts *o, uint64_t counts[FLEETGEN_NFLEETS])
{
    memset(counts, 0, FLEETGEN_NFLEETS * sizeof counts[0]);
    pyrandom rng;
    for (int64_t i = 0; i < o->trucks; i++) {
        seed_truck_rng(&rng, o->seed, i);
        counts[pyrandom_randrange(&rng, 0, FLEETGEN_NFLEETS)]++;
    }
}

int fleetgen_write(const fleetgen_opts *o, FILE *out, uint64_t *lines, uint64_t *values)
{
    *lines = *values = 0;
    if (fleetgen_invalid(o))
        return STRATA_MISUSE;
    struct truck *fleet = st_calloc((size_t)o->trucks, sizeof *fleet);
    struct out w = {.f = out, .buf = st_malloc(OUT_BUF), .len = 0, .err = 0};
    int rc = STRATA_OK;
    if (!fleet || !w.buf) {
        rc = STRATA_NOMEM;
        goto done;
    }
    for (int64_t i = 0; i < o->trucks; i++)
        truck_init(&fleet[i], i, o->seed);
    pyrandom jrng;
    pyrandom_seed(&jrng, o->seed ^ 0x5EED);
    bool csv = o->format == FLEETGEN_CSV;
    if (csv)
        w.len = (size_t)(PUT_LIT(w.buf, "device,measurement,field,ts_ns,value\n") - w.buf);
    int64_t steps = fleetgen_steps(o), step_ns = o->interval_s * NS_PER_S;
    double dt = (double)o->interval_s;
    char ts[32] = {0}; /* padded for put_chunks */
    size_t ts_len = 0;
    for (int64_t k = 0; k < steps && !w.err; k++) {
        int64_t base = o->start_ns + k * step_ns;
        if (!o->jitter_ms)
            ts_len = (size_t)(put_i64(ts, base) - ts);
        for (int64_t i = 0; i < o->trucks; i++) {
            struct truck *t = &fleet[i];
            truck_step(t, dt);
            struct sample s;
            truck_sample(t, &s);
            if (o->jitter_ms) {
                int64_t j = pyrandom_randint(&jrng, -o->jitter_ms, o->jitter_ms);
                ts_len = (size_t)(put_i64(ts, base + j * NS_PER_MS) - ts);
            }
            char *p = w.buf + w.len;
            p = csv ? write_csv(p, t, &s, ts, ts_len) : write_lp(p, t, &s, ts, ts_len);
            w.len = (size_t)(p - w.buf);
            if (w.len > OUT_BUF - OUT_RESERVE)
                out_flush(&w);
        }
    }
    out_flush(&w);
    if (w.err) {
        rc = STRATA_IOERR;
    } else {
        uint64_t n = (uint64_t)steps * (uint64_t)o->trucks;
        *lines = 2 * n;
        *values = (FLEETGEN_NREADINGS + FLEETGEN_NDIAGNOSTICS) * n;
    }
done:
    st_free(w.buf);
    st_free(fleet);
    if (w.err)
        errno = w.err;
    return rc;
}
