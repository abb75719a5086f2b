/*
 * cmd_gen.c — `strata gen <generator>`: synthetic workloads.  `fleet`
 * (fleetgen.c), the C port of gen_fleet.py: the same options, output
 * bytes, meta file and summary lines, plus `10s`-style intervals and stdout
 * as the default output; `devops` (devopsgen.c), TSBS's devops cpu
 * measurement; `flaky` (flakygen.c), the fleet through a bad uplink.
 *
 * With -o FILE the data goes to FILE and the parameters and counts to
 * FILE.meta.json (the keys and values gen_fleet.py writes, in its layout);
 * the meta file is written after the data, so a run that dies midway leaves
 * a data file without one.
 */
#include "tools/cli.h"

#include "strata.h"
#include "tools/devopsgen.h"
#include "tools/flakygen.h"
#include "tools/fleetgen.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static void usage_all(FILE *f)
{
    fprintf(f, "usage: strata gen fleet|devops|flaky [options]   (--help after one for its options)\n"
               "\n"
               "  fleet   TSBS \"iot\"-style trucks, byte-identical to gen_fleet.py\n"
               "  devops  TSBS devops \"cpu\": hosts with ten usage_* random walks\n"
               "  flaky   the fleet through a bad uplink: late, out-of-order and duplicated\n"
               "          batches, reconnect storms; the same distinct points as the fleet\n"
               "\n");
}

static void usage(FILE *f)
{
    usage_all(f);
    fprintf(f, "usage: strata gen fleet [--trucks N] [--scale small|default] [--span 1d|6h|86400]\n"
               "                        [--interval 10s|10] [--start RFC3339|ns] [--seed S]\n"
               "                        [--jitter-ms N] [--format lp|csv] [-o FILE|-]\n"
               "\n"
               "Deterministic IoT fleet workload (TSBS \"iot\"-style), byte-identical to\n"
               "gen_fleet.py for the same arguments.  N trucks, each with tags name, fleet,\n"
               "driver, model, device_version; one point per interval per truck in two\n"
               "measurements: readings (latitude, longitude, elevation, velocity, heading,\n"
               "grade, fuel_consumption) and diagnostics (load, fuel_state, status).\n"
               "\n"
               "  --scale small|default  preset: small = 20 trucks x 1 day, default = 200 x 1 day\n"
               "  --trucks N             override the preset's truck count\n"
               "  --span D               override the preset's span: seconds, or a number\n"
               "                         with s, m, h or d (86400, 6h, 1d)\n"
               "  --interval D           time between points, whole seconds (10s, 1m, 10;\n"
               "                         default 10s)\n"
               "  --start T              first timestamp, RFC3339 (2024-01-01T12:00:00Z or\n"
               "                         with +hh:mm) or ns since the epoch\n"
               "                         (default 2024-01-01T12:00:00Z)\n"
               "  --seed S               default 42\n"
               "  --jitter-ms N          move each timestamp by a uniform whole number of ms\n"
               "                         in [-N, N]; N < interval/2 (default 0 = off)\n"
               "  --format lp|csv        line protocol with ns timestamps (default), or long\n"
               "                         csv: device,measurement,field,ts_ns,value\n"
               "  -o, --out FILE|-       output file (default - = stdout); a file also gets\n"
               "                         FILE.meta.json with the parameters and counts\n"
               "\n"
               "A summary goes to stderr.\n");
}

static bool parse_int64(const char *s, int64_t *v /* OUT */)
{
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (end == s || *end || errno)
        return false;
    *v = x;
    return true;
}

/* "86400", or a number with a unit: "1d", "6h", "1.5m", "10s".  As in
 * gen_fleet.py, a fractional result is truncated to whole seconds; when
 * `exact`, it is an error instead. */
static bool parse_duration(const char *s, bool exact, int64_t *secs /* OUT */)
{
    size_t n = strlen(s);
    if (n == 0)
        return false;
    static const struct {
        char c;
        double secs;
    } units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (s[n - 1] != units[i].c)
            continue;
        char num[64];
        if (n - 1 == 0 || n - 1 >= sizeof num)
            return false;
        memcpy(num, s, n - 1);
        num[n - 1] = 0;
        char *end;
        double x = strtod(num, &end);
        if (*end || end == num || !isfinite(x))
            return false;
        double total = x * units[i].secs;
        if (!(fabs(total) < 9.2e18) || (exact && total != trunc(total)))
            return false;
        *secs = (int64_t)total;
        return true;
    }
    return parse_int64(s, secs);
}

static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool digits(const char *s, int n, int *v /* OUT */)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        *v = *v * 10 + (s[i] - '0');
    }
    return true;
}

/* Nanoseconds since the epoch: all digits, or YYYY-MM-DDTHH:MM:SS followed
 * by Z, +hh:mm or +hhmm (or -), whole seconds, as gen_fleet.py accepts. */
static bool parse_time(const char *s, int64_t *ns /* OUT */)
{
    if (*s && strspn(s, "0123456789") == strlen(s))
        return parse_int64(s, ns);
    int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 1;
    if (strlen(s) < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
        s[7] != '-' || !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
        !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
        !digits(s + 17, 2, &sec))
        return false;
    const char *z = s + 19;
    if (!strcmp(z, "Z")) {
        oh = om = 0;
    } else if ((z[0] == '+' || z[0] == '-') && digits(z + 1, 2, &oh) &&
               ((z[3] == ':' && digits(z + 4, 2, &om) && !z[6]) ||
                (digits(z + 3, 2, &om) && !z[5]))) {
        sign = z[0] == '-' ? -1 : 1;
    } else {
        return false;
    }
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) ||
        h > 23 || mi > 59 || sec > 59 || oh > 23 || om > 59)
        return false;
    int64_t t =
        days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - sign * (oh * 3600 + om * 60);
    return !__builtin_mul_overflow(t, INT64_C(1000000000), ns);
}

/* The meta file in json.dump(meta, indent=1) layout. */
static int write_meta(const char *path, const fleetgen_opts *o, const char *scale, uint64_t lines,
                      uint64_t values)
{
    uint64_t fleets[FLEETGEN_NFLEETS];
    fleetgen_fleet_counts(o, fleets);
    int64_t steps = fleetgen_steps(o), step_ns = o->interval_s * INT64_C(1000000000);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f,
            "{\n \"generator\": \"gen_fleet.py\",\n \"format\": \"%s\",\n \"scale\": \"%s\",\n"
            " \"trucks\": %lld,\n \"span_s\": %lld,\n \"interval_s\": %lld,\n \"seed\": %lld,\n"
            " \"jitter_ms\": %lld,\n \"start_ns\": %lld,\n \"end_ns\": %lld,\n"
            " \"last_ts_ns\": %lld,\n \"points_per_truck_per_measurement\": %lld,\n"
            " \"lines\": %llu,\n \"values\": %llu,\n \"series\": %lld,\n \"fleets\": {\n",
            o->format == FLEETGEN_CSV ? "csv" : "lp", scale, (long long)o->trucks,
            (long long)o->span_s, (long long)o->interval_s, (long long)o->seed,
            (long long)o->jitter_ms, (long long)o->start_ns,
            (long long)(o->start_ns + steps * step_ns),
            (long long)(o->start_ns + (steps - 1) * step_ns), (long long)steps,
            (unsigned long long)lines, (unsigned long long)values,
            (long long)(o->trucks * (FLEETGEN_NREADINGS + FLEETGEN_NDIAGNOSTICS)));
    for (int i = 0; i < FLEETGEN_NFLEETS; i++)
        fprintf(f, "  \"%s\": %llu%s\n", fleetgen_fleets[i], (unsigned long long)fleets[i],
                i + 1 < FLEETGEN_NFLEETS ? "," : "");
    fputs(" },\n \"readings_fields\": [\n", f);
    for (int i = 0; i < FLEETGEN_NREADINGS; i++)
        fprintf(f, "  \"%s\"%s\n", fleetgen_readings[i], i + 1 < FLEETGEN_NREADINGS ? "," : "");
    fputs(" ],\n \"diagnostics_fields\": [\n", f);
    for (int i = 0; i < FLEETGEN_NDIAGNOSTICS; i++)
        fprintf(f, "  \"%s\"%s\n", fleetgen_diagnostics[i],
                i + 1 < FLEETGEN_NDIAGNOSTICS ? "," : "");
    fputs(" ]\n}", f);
    bool bad = ferror(f);
    if (fclose(f) != 0 || bad)
        return -1;
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int gen_fleet(int argc, char **argv)
{
    enum {
        OPT_TRUCKS = 256,
        OPT_SCALE,
        OPT_SPAN,
        OPT_INTERVAL,
        OPT_START,
        OPT_SEED,
        OPT_JITTER,
        OPT_FORMAT
    };
    static const struct option longopts[] = {
        {"trucks", required_argument, NULL, OPT_TRUCKS},
        {"scale", required_argument, NULL, OPT_SCALE},
        {"span", required_argument, NULL, OPT_SPAN},
        {"interval", required_argument, NULL, OPT_INTERVAL},
        {"start", required_argument, NULL, OPT_START},
        {"seed", required_argument, NULL, OPT_SEED},
        {"jitter-ms", required_argument, NULL, OPT_JITTER},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    fleetgen_opts o;
    fleetgen_opts_init(&o);
    const char *scale = "default", *out = "-", *trucks = NULL, *span = NULL;
    int c, li;
    optind = 0; /* full re-initialisation: cmd_gen may run more than once */
    opterr = 0;
    while ((li = -1, c = getopt_long(argc, argv, ":ho:", longopts, &li)) != -1) {
        bool ok = true;
        switch (c) {
        case 'h': usage(stdout); return CLI_OK;
        case 'o': out = optarg; break;
        case OPT_TRUCKS: trucks = optarg; break;
        case OPT_SPAN: span = optarg; break;
        case OPT_SCALE:
            ok = !strcmp(optarg, "small") || !strcmp(optarg, "default");
            scale = optarg;
            break;
        case OPT_INTERVAL: ok = parse_duration(optarg, true, &o.interval_s); break;
        case OPT_START: ok = parse_time(optarg, &o.start_ns); break;
        case OPT_SEED: ok = parse_int64(optarg, &o.seed); break;
        case OPT_JITTER: ok = parse_int64(optarg, &o.jitter_ms); break;
        case OPT_FORMAT:
            ok = !strcmp(optarg, "lp") || !strcmp(optarg, "csv");
            o.format = !strcmp(optarg, "csv") ? FLEETGEN_CSV : FLEETGEN_LP;
            break;
        case ':': cli_errorf("gen fleet: %s needs a value", argv[optind - 1]); return CLI_USAGE;
        default: cli_errorf("gen fleet: unknown option '%s'", argv[optind - 1]); return CLI_USAGE;
        }
        if (!ok) {
            cli_errorf("gen fleet: bad value '%s' for --%s", optarg, longopts[li].name);
            return CLI_USAGE;
        }
    }
    if (optind < argc) {
        cli_errorf("gen fleet: unexpected argument '%s'", argv[optind]);
        return CLI_USAGE;
    }
    if (!strcmp(scale, "small"))
        o.trucks = 20;
    if (trucks && !parse_int64(trucks, &o.trucks)) {
        cli_errorf("gen fleet: bad value '%s' for --trucks", trucks);
        return CLI_USAGE;
    }
    if (span && !parse_duration(span, false, &o.span_s)) {
        cli_errorf("gen fleet: bad value '%s' for --span", span);
        return CLI_USAGE;
    }
    const char *why = fleetgen_invalid(&o);
    if (why) {
        cli_errorf("gen fleet: %s", why);
        return CLI_USAGE;
    }

    bool to_stdout = !strcmp(out, "-");
    FILE *f = to_stdout ? stdout : fopen(out, "w");
    if (!f) {
        cli_errorf("gen fleet: cannot create %s: %s", out, strerror(errno));
        return CLI_FAIL;
    }
    uint64_t lines, values;
    double t0 = now_s();
    int rc = fleetgen_write(&o, f, &lines, &values);
    int err = errno;
    if (rc == STRATA_OK && (to_stdout ? fflush(f) : fclose(f)) != 0) {
        rc = STRATA_IOERR;
        err = errno;
    } else if (rc != STRATA_OK && !to_stdout) {
        fclose(f);
    }
    double elapsed = now_s() - t0;
    if (rc != STRATA_OK) {
        cli_errorf("gen fleet: writing %s: %s", to_stdout ? "stdout" : out,
                   rc == STRATA_IOERR ? strerror(err) : strata_errstr(rc));
        return CLI_FAIL;
    }
    long long size = -1;
    if (!to_stdout) {
        size_t n = strlen(out);
        char *meta = malloc(n + sizeof ".meta.json");
        if (!meta) {
            cli_errorf("gen fleet: out of memory");
            return CLI_FAIL;
        }
        memcpy(meta, out, n);
        memcpy(meta + n, ".meta.json", sizeof ".meta.json");
        if (write_meta(meta, &o, scale, lines, values) != 0) {
            cli_errorf("gen fleet: writing %s: %s", meta, strerror(errno));
            free(meta);
            return CLI_FAIL;
        }
        free(meta);
        struct stat st;
        if (stat(out, &st) == 0)
            size = (long long)st.st_size;
    }
    bool csv = o.format == FLEETGEN_CSV;
    fprintf(stderr,
            "gen_fleet: %lld trucks x %lld steps x 2 measurements -> %s (%s, %lld bytes, %.1f s)\n",
            (long long)o.trucks, (long long)fleetgen_steps(&o), out, csv ? "csv" : "lp", size,
            elapsed);
    fprintf(stderr, "gen_fleet: wrote %llu points (line-protocol lines) and %llu field values%s\n",
            (unsigned long long)lines, (unsigned long long)values,
            csv ? " (csv rows = field values)" : "");
    return CLI_OK;
}

/* ---- devops and flaky --------------------------------------------------- */

static void usage_devops(FILE *f)
{
    fprintf(f, "usage: strata gen devops [--hosts N] [--span 1d] [--interval 10s] [--start T]\n"
               "                         [--seed S] [-o FILE|-]\n"
               "\n"
               "TSBS devops \"cpu\" workload as line protocol.  N hosts (default 100) tagged\n"
               "hostname, region, datacenter, rack, os, arch, team, service, service_version,\n"
               "service_environment; one `cpu` line per interval per host with usage_user,\n"
               "usage_system, usage_idle, usage_nice, usage_iowait, usage_irq, usage_softirq,\n"
               "usage_steal, usage_guest, usage_guest_nice: random walks clamped to [0, 100]\n"
               "with standard normal steps, at the 0.01 %% resolution of /proc/stat ticks.\n"
               "\n"
               "  --hosts N      1..1000000 (default 100)\n"
               "  --span D       seconds, or a number with s, m, h or d (default 1d)\n"
               "  --interval D   whole seconds between lines (default 10s)\n"
               "  --start T      RFC3339 or ns (default 2024-01-01T12:00:00Z)\n"
               "  --seed S       default 42; the same options give the same bytes\n"
               "  -o, --out F    output file (default - = stdout); a file also gets\n"
               "                 F.meta.json with the parameters and counts\n");
}

static void usage_flaky(FILE *f)
{
    fprintf(f, "usage: strata gen flaky [--trucks N] [--span 1d] [--interval 10s] [--start T]\n"
               "                        [--seed S] [--jitter-ms N] [--storms N] [-o FILE|-]\n"
               "\n"
               "The fleet workload (strata gen fleet, same options and readings) as a server\n"
               "receives it over a bad mobile uplink, as line protocol:\n"
               "  - 0.2 %% of live lines arrive 1..60 intervals late, 0.2 %% twice;\n"
               "  - each truck loses its uplink about every 6 h for 1..120 min, buffers, and\n"
               "    on reconnect resends the backlog in 30-interval batches (half the trucks\n"
               "    newest first; 5 %% of batches sent twice);\n"
               "  - reconnect storms: a network outage takes 80 %% of the trucks offline for\n"
               "    15..60 min; they all reconnect at once and resend together.\n"
               "Every copy is identical to the clean line and everything is sent by the end,\n"
               "so the distinct points are exactly those of `strata gen fleet`.\n"
               "\n"
               "  --trucks N     default 200\n"
               "  --storms N     reconnect storms over the span, 0..1000 (default 4)\n"
               "  --span, --interval, --start, --seed, --jitter-ms: as for gen fleet\n"
               "  -o, --out F    output file (default - = stdout); a file also gets\n"
               "                 F.meta.json (distinct and sent counts)\n");
}

/* FILE.meta.json; free() the result.  NULL when out of memory. */
static char *meta_path(const char *out)
{
    size_t n = strlen(out);
    char *meta = malloc(n + sizeof ".meta.json");
    if (meta) {
        memcpy(meta, out, n);
        memcpy(meta + n, ".meta.json", sizeof ".meta.json");
    }
    return meta;
}

/* The generator's output stream: stdout for "-", else a new file. */
static FILE *open_out(const char *cmd, const char *out)
{
    FILE *f = strcmp(out, "-") ? fopen(out, "w") : stdout;
    if (!f)
        cli_errorf("gen %s: cannot create %s: %s", cmd, out, strerror(errno));
    return f;
}

/* Flush or close f after a generator returned rc; the final result. */
static int close_out(const char *cmd, const char *out, FILE *f, int rc)
{
    int err = errno;
    bool to_stdout = f == stdout;
    if (rc == STRATA_OK && (to_stdout ? fflush(f) : fclose(f)) != 0) {
        rc = STRATA_IOERR;
        err = errno;
    } else if (rc != STRATA_OK && !to_stdout) {
        fclose(f);
    }
    if (rc != STRATA_OK) {
        cli_errorf("gen %s: writing %s: %s", cmd, to_stdout ? "stdout" : out,
                   rc == STRATA_IOERR ? strerror(err) : strata_errstr(rc));
        return CLI_FAIL;
    }
    return CLI_OK;
}

enum { GOPT_COUNT = 300, GOPT_SPAN, GOPT_INTERVAL, GOPT_START, GOPT_SEED, GOPT_JITTER, GOPT_STORMS };

/* The options devops and flaky share; false after a usage error. */
static bool gen_common_opt(const char *cmd, int c, int64_t *span, int64_t *interval,
                           int64_t *start, int64_t *seed)
{
    bool ok;
    switch (c) {
    case GOPT_SPAN: ok = parse_duration(optarg, false, span); break;
    case GOPT_INTERVAL: ok = parse_duration(optarg, true, interval); break;
    case GOPT_START: ok = parse_time(optarg, start); break;
    case GOPT_SEED: ok = parse_int64(optarg, seed); break;
    default: ok = false;
    }
    static const char *const names[] = {"--span", "--interval", "--start", "--seed"};
    if (!ok)
        cli_errorf("gen %s: bad value '%s' for %s", cmd, optarg,
                   c >= GOPT_SPAN && c <= GOPT_SEED ? names[c - GOPT_SPAN] : "an option");
    return ok;
}

static int gen_devops(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"hosts", required_argument, NULL, GOPT_COUNT},
        {"span", required_argument, NULL, GOPT_SPAN},
        {"interval", required_argument, NULL, GOPT_INTERVAL},
        {"start", required_argument, NULL, GOPT_START},
        {"seed", required_argument, NULL, GOPT_SEED},
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    devopsgen_opts o;
    devopsgen_opts_init(&o);
    const char *out = "-";
    int c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":ho:", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': usage_devops(stdout); return CLI_OK;
        case 'o': out = optarg; break;
        case GOPT_COUNT:
            if (!parse_int64(optarg, &o.hosts)) {
                cli_errorf("gen devops: bad value '%s' for --hosts", optarg);
                return CLI_USAGE;
            }
            break;
        case ':': cli_errorf("gen devops: %s needs a value", argv[optind - 1]); return CLI_USAGE;
        case '?': cli_errorf("gen devops: unknown option '%s'", argv[optind - 1]); return CLI_USAGE;
        default:
            if (!gen_common_opt("devops", c, &o.span_s, &o.interval_s, &o.start_ns, &o.seed))
                return CLI_USAGE;
        }
    }
    if (optind < argc) {
        cli_errorf("gen devops: unexpected argument '%s'", argv[optind]);
        return CLI_USAGE;
    }
    const char *why = devopsgen_invalid(&o);
    if (why) {
        cli_errorf("gen devops: %s", why);
        return CLI_USAGE;
    }
    FILE *f = open_out("devops", out);
    if (!f)
        return CLI_FAIL;
    uint64_t lines, values;
    double t0 = now_s();
    int rc = close_out("devops", out, f, devopsgen_write(&o, f, &lines, &values));
    if (rc != CLI_OK)
        return rc;
    if (strcmp(out, "-")) {
        char *meta = meta_path(out);
        if (!meta || devopsgen_write_meta(meta, &o, lines, values) != 0) {
            cli_errorf("gen devops: writing %s.meta.json: %s", out, strerror(errno));
            free(meta);
            return CLI_FAIL;
        }
        free(meta);
    }
    fprintf(stderr, "gen devops: %lld hosts x %lld steps -> %s: %llu lines, %llu values (%.1f s)\n",
            (long long)o.hosts, (long long)devopsgen_steps(&o), out, (unsigned long long)lines,
            (unsigned long long)values, now_s() - t0);
    return CLI_OK;
}

static int gen_flaky(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"trucks", required_argument, NULL, GOPT_COUNT},
        {"span", required_argument, NULL, GOPT_SPAN},
        {"interval", required_argument, NULL, GOPT_INTERVAL},
        {"start", required_argument, NULL, GOPT_START},
        {"seed", required_argument, NULL, GOPT_SEED},
        {"jitter-ms", required_argument, NULL, GOPT_JITTER},
        {"storms", required_argument, NULL, GOPT_STORMS},
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    flakygen_opts o;
    flakygen_opts_init(&o);
    fleetgen_opts *fo = &o.fleet;
    const char *out = "-";
    int c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":ho:", longopts, NULL)) != -1) {
        int64_t *count = c == GOPT_COUNT    ? &fo->trucks
                         : c == GOPT_JITTER ? &fo->jitter_ms
                         : c == GOPT_STORMS ? &o.storms
                                            : NULL;
        if (count) {
            if (!parse_int64(optarg, count)) {
                cli_errorf("gen flaky: bad value '%s' for %s", optarg, argv[optind - 1]);
                return CLI_USAGE;
            }
            continue;
        }
        switch (c) {
        case 'h': usage_flaky(stdout); return CLI_OK;
        case 'o': out = optarg; break;
        case ':': cli_errorf("gen flaky: %s needs a value", argv[optind - 1]); return CLI_USAGE;
        case '?': cli_errorf("gen flaky: unknown option '%s'", argv[optind - 1]); return CLI_USAGE;
        default:
            if (!gen_common_opt("flaky", c, &fo->span_s, &fo->interval_s, &fo->start_ns,
                                &fo->seed))
                return CLI_USAGE;
        }
    }
    if (optind < argc) {
        cli_errorf("gen flaky: unexpected argument '%s'", argv[optind]);
        return CLI_USAGE;
    }
    const char *why = flakygen_invalid(&o);
    if (why) {
        cli_errorf("gen flaky: %s", why);
        return CLI_USAGE;
    }
    FILE *f = open_out("flaky", out);
    if (!f)
        return CLI_FAIL;
    flakygen_stats st;
    double t0 = now_s();
    int rc = close_out("flaky", out, f, flakygen_write(&o, f, &st));
    if (rc != CLI_OK)
        return rc;
    if (strcmp(out, "-")) {
        char *meta = meta_path(out);
        if (!meta || flakygen_write_meta(meta, &o, &st) != 0) {
            cli_errorf("gen flaky: writing %s.meta.json: %s", out, strerror(errno));
            free(meta);
            return CLI_FAIL;
        }
        free(meta);
    }
    fprintf(stderr,
            "gen flaky: %lld trucks x %lld steps -> %s: %llu lines sent for %llu distinct "
            "(%llu late, %llu duplicate), %llu outages, %llu storms, largest backlog %llu "
            "lines (%.1f s)\n",
            (long long)fo->trucks, (long long)fleetgen_steps(fo), out,
            (unsigned long long)st.lines_sent, (unsigned long long)st.lines,
            (unsigned long long)st.late, (unsigned long long)st.duplicates,
            (unsigned long long)st.outages, (unsigned long long)st.storms,
            (unsigned long long)st.max_backlog, now_s() - t0);
    return CLI_OK;
}

int cmd_gen(int argc, char **argv)
{
    if (argc < 2) {
        cli_errorf("gen: which generator? (known: fleet, devops, flaky)");
        return CLI_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return CLI_OK;
    }
    if (!strcmp(argv[1], "fleet"))
        return gen_fleet(argc - 1, argv + 1);
    if (!strcmp(argv[1], "devops"))
        return gen_devops(argc - 1, argv + 1);
    if (!strcmp(argv[1], "flaky"))
        return gen_flaky(argc - 1, argv + 1);
    cli_errorf("gen: unknown generator '%s' (known: fleet, devops, flaky)", argv[1]);
    return CLI_USAGE;
}
