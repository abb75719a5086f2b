/*
 * cmd_inspect.c — `strata inspect <db> [--format text|json]`: what is
 * stored and where the bytes go; and `strata verify <db>`: re-read every
 * checksum and list what is damaged (exit 1 when anything is).
 *
 * inspect opens the database read-only.  Bytes are reported twice: as
 * allocated on disk (st_blocks, what du counts, directories included) and
 * as file sizes.  Per codec and column (time, value): the bytes of its
 * columns and bytes per value, and what LZ4 saved over whole chunks;
 * "index" is the segment indexes (chunk statistics, series tables),
 * "headers" the segment headers and footers.
 */
#include "tools/cli.h"

#include "engine/codec.h"
#include "engine/inspect.h"
#include "engine/timetext.h"
#include "strata.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage_inspect(FILE *f)
{
    fprintf(f, "usage: strata inspect <db> [--format text|json] [--segments]\n"
               "\n"
               "Show series, points, segments, bytes on disk (as du counts them) and bytes\n"
               "per value for each codec.  --segments lists every segment.\n");
}

static double per(uint64_t a, uint64_t b)
{
    return b ? (double)a / (double)b : 0.0;
}

static const char *tfmt(int64_t ns, char *buf)
{
    time_format_rfc3339(ns, buf);
    return buf;
}

/* ns as the largest whole unit: 90d, 1h, 30s (else ns). */
static void dur_text(int64_t ns, char *out, size_t cap)
{
    static const struct {
        const char *u;
        int64_t ns;
    } units[] = {{"d", 86400000000000LL}, {"h", 3600000000000LL}, {"m", 60000000000LL},
                 {"s", 1000000000LL},     {"ms", 1000000LL},      {"ns", 1}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (ns % units[i].ns == 0) {
            snprintf(out, cap, "%lld%s", (long long)(ns / units[i].ns), units[i].u);
            return;
        }
}

static void print_text(const inspect_report *r, const char *path, int list_segments)
{
    uint64_t values = r->segment_points + r->head_points;
    char a[TIME_RFC3339_BUFSZ], b[TIME_RFC3339_BUFSZ];
    printf("database      %s\n", path);
    printf("partition     %.3g h; device tag '%s'\n", (double)r->partition_ns / 3.6e12,
           r->device_tag);
    printf("series        %" PRIu64 " (%" PRIu64 " tag sets, %" PRIu64 " measurements, %" PRIu64
           " devices)\n",
           r->series, r->tagsets, r->measurements, r->devices);
    printf("values        %" PRIu64 " (%" PRIu64 " in segments, %" PRIu64
           " in the write-ahead log)\n",
           values, r->segment_points, r->head_points);
    if (r->nsegs) {
        int64_t lo = r->segs[0].tmin, hi = r->segs[0].tmax;
        for (size_t i = 0; i < r->nsegs; i++) {
            lo = r->segs[i].tmin < lo ? r->segs[i].tmin : lo;
            hi = r->segs[i].tmax > hi ? r->segs[i].tmax : hi;
        }
        printf("segments      %zu, %" PRIu64 " chunks, data from %s to %s\n", r->nsegs, r->chunks,
               tfmt(lo, a), tfmt(hi, b));
    } else {
        printf("segments      0\n");
    }
    if (r->frontier != r->frontier_used)
        printf("clock         data reaches %s, past this machine's clock plus one day: retention\n"
               "              and the lateness limit measure from %s (a device's clock is\n"
               "              wrong, or this machine's)\n",
               tfmt(r->frontier, a), tfmt(r->frontier_used, b));
    if (r->tombstones)
        printf("deletes       %" PRIu64 " tombstone(s) not yet applied by compaction\n",
               r->tombstones);
    {
        char keep[64] = "forever", w[64];
        if (r->raw_keep)
            dur_text(r->raw_keep, keep, sizeof keep);
        printf("retention     raw %s", keep);
        for (size_t i = 0; i < r->ntiers; i++) {
            strcpy(keep, "forever");
            if (r->tier_keep[i])
                dur_text(r->tier_keep[i], keep, sizeof keep);
            dur_text(r->tier_width[i], w, sizeof w);
            printf("; %s rollups %s", w, keep);
        }
        printf("\n");
    }
    if (r->rollup_files) {
        printf("rollups       %" PRIu64 " file(s), %" PRIu64 " bytes, %" PRIu64 " rows",
               r->rollup_files, r->rollup_bytes, r->rollup_rows);
        if (r->rollups_stale)
            printf(" (%" PRIu64 " stale: rebuilt by the next compaction)", r->rollups_stale);
        printf("\n");
    }
    printf("on disk       %" PRIu64 " bytes allocated (du), %" PRIu64 " bytes in files\n",
           r->allocated, r->apparent);
    for (int k = 0; k < INSP_KINDS; k++)
        printf("  %-10s  %8" PRIu64 " file(s) %14" PRIu64 " allocated %14" PRIu64 " bytes\n",
               inspect_kind_name(k), r->files[k].count, r->files[k].allocated,
               r->files[k].apparent);
    printf("bytes/value   %.4f allocated, %.4f in files\n", per(r->allocated, values),
           per(r->apparent, values));
    printf("\n%-14s %-8s %14s %14s %12s\n", "codec", "column", "values", "bytes", "bytes/value");
    for (int col = 0; col < 2; col++)
        for (unsigned id = 1; id <= CODEC_MAX_ID; id++) {
            const insp_codec *c = &r->codec[col][id];
            if (!c->chunks)
                continue;
            printf("%-14s %-8s %14" PRIu64 " %14" PRIu64 " %12.4f\n", codec_get(id)->name,
                   col ? "value" : "time", c->values, c->bytes, per(c->bytes, c->values));
        }
    if (r->lz4_chunks)
        printf("%-14s %-8s %14s %14" PRId64 "   (%" PRIu64 " chunks, %" PRIu64 " bytes stored as "
               "%" PRIu64 ")\n",
               "lz4", "", "", (int64_t)r->lz4_stored - (int64_t)r->lz4_raw, r->lz4_chunks,
               r->lz4_raw, r->lz4_stored);
    printf("%-14s %-8s %14s %14" PRIu64 " %12.4f\n", "index", "", "", r->index_bytes,
           per(r->index_bytes, r->segment_points));
    printf("%-14s %-8s %14s %14" PRIu64 " %12.4f\n", "headers", "", "", r->header_bytes,
           per(r->header_bytes, r->segment_points));
    if (list_segments && r->nsegs) {
        printf("\n%-18s %-22s %8s %10s %12s %12s\n", "segment", "partition start", "series",
               "chunks", "points", "bytes");
        for (size_t i = 0; i < r->nsegs; i++) {
            const insp_segment *s = &r->segs[i];
            printf("%016" PRIx64 "   %-22s %8u %10" PRIu64 " %12" PRIu64 " %12" PRIu64 "\n", s->id,
                   tfmt(s->part_first, a), s->nseries, s->chunks, s->points, s->size);
        }
    }
}

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void print_json(const inspect_report *r, const char *path)
{
    uint64_t values = r->segment_points + r->head_points;
    printf("{\"database\": ");
    json_str(path);
    printf(", \"partition_ns\": %" PRId64 ", \"device_tag\": ", r->partition_ns);
    json_str(r->device_tag);
    printf(",\n \"series\": %" PRIu64 ", \"tag_sets\": %" PRIu64 ", \"measurements\": %" PRIu64
           ", \"devices\": %" PRIu64 ",\n",
           r->series, r->tagsets, r->measurements, r->devices);
    printf(" \"values\": %" PRIu64 ", \"values_in_segments\": %" PRIu64
           ", \"values_in_wal\": %" PRIu64 ", \"chunks\": %" PRIu64 ",\n",
           values, r->segment_points, r->head_points, r->chunks);
    printf(" \"bytes_allocated\": %" PRIu64 ", \"bytes_apparent\": %" PRIu64
           ", \"bytes_per_value\": %.6f, \"bytes_per_value_apparent\": %.6f,\n",
           r->allocated, r->apparent, per(r->allocated, values), per(r->apparent, values));
    printf(" \"files\": {");
    for (int k = 0; k < INSP_KINDS; k++)
        printf("%s\"%s\": {\"count\": %" PRIu64 ", \"allocated\": %" PRIu64
               ", \"apparent\": %" PRIu64 "}",
               k ? ", " : "", inspect_kind_name(k), r->files[k].count, r->files[k].allocated,
               r->files[k].apparent);
    printf("},\n \"codecs\": [");
    int first = 1;
    for (int col = 0; col < 2; col++)
        for (unsigned id = 1; id <= CODEC_MAX_ID; id++) {
            const insp_codec *c = &r->codec[col][id];
            if (!c->chunks)
                continue;
            printf("%s\n  {\"codec\": \"%s\", \"column\": \"%s\", \"values\": %" PRIu64
                   ", \"chunks\": %" PRIu64 ", \"bytes\": %" PRIu64 ", \"bytes_per_value\": %.6f}",
                   first ? "" : ",", codec_get(id)->name, col ? "value" : "time", c->values,
                   c->chunks, c->bytes, per(c->bytes, c->values));
            first = 0;
        }
    printf("],\n \"lz4\": {\"chunks\": %" PRIu64 ", \"column_bytes\": %" PRIu64
           ", \"stored_bytes\": %" PRIu64 "},",
           r->lz4_chunks, r->lz4_raw, r->lz4_stored);
    if (r->frontier == INT64_MIN)
        printf("\n \"frontier\": null, \"retention_from\": null,");
    else
        printf("\n \"frontier\": %" PRId64 ", \"retention_from\": %" PRId64 ",", r->frontier,
               r->frontier_used);
    printf("\n \"index_bytes\": %" PRIu64 ", \"header_bytes\": %" PRIu64
           ", \"tombstones\": %" PRIu64 ",\n \"rollups\": {\"files\": %" PRIu64
           ", \"bytes\": %" PRIu64 ", \"rows\": %" PRIu64 ", \"stale\": %" PRIu64
           "},\n \"segments\": [",
           r->index_bytes, r->header_bytes, r->tombstones, r->rollup_files, r->rollup_bytes,
           r->rollup_rows, r->rollups_stale);
    for (size_t i = 0; i < r->nsegs; i++) {
        const insp_segment *s = &r->segs[i];
        printf("%s\n  {\"id\": %" PRIu64 ", \"partition_first\": %" PRId64
               ", \"partition_last\": %" PRId64 ", \"tmin\": %" PRId64 ", \"tmax\": %" PRId64
               ", \"series\": %u, \"chunks\": %" PRIu64 ", \"points\": %" PRIu64
               ", \"bytes\": %" PRIu64 ", \"allocated\": %" PRIu64 ", \"index_bytes\": %" PRIu64
               "}",
               i ? "," : "", s->id, s->part_first, s->part_last, s->tmin, s->tmax, s->nseries,
               s->chunks, s->points, s->size, s->allocated, s->index_len);
    }
    printf("]}\n");
}

int cmd_inspect(int argc, char **argv)
{
    static const struct option opts[] = {{"format", required_argument, 0, 'f'},
                                         {"segments", no_argument, 0, 's'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int json = 0, segs = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (!strcmp(optarg, "json"))
                json = 1;
            else if (strcmp(optarg, "text") != 0) {
                cli_errorf("--format must be text or json, not '%s'", optarg);
                return CLI_USAGE;
            }
            break;
        case 's': segs = 1; break;
        case 'h': usage_inspect(stdout); return CLI_OK;
        default: usage_inspect(stderr); return CLI_USAGE;
        }
    }
    if (optind != argc - 1) {
        cli_errorf("inspect: give exactly one database directory");
        usage_inspect(stderr);
        return CLI_USAGE;
    }
    strata_options o;
    strata_options_init(&o);
    o.read_only = 1;
    o.log = cli_log;
    strata_db *db;
    if (strata_db_open(argv[optind], &o, &db) != STRATA_OK) {
        cli_errorf("%s", strata_errmsg(NULL));
        return CLI_FAIL;
    }
    inspect_report r;
    int rc = db_inspect(db, &r);
    if (rc != STRATA_OK) {
        cli_errorf("%s", strata_errmsg(db));
        strata_db_close(db);
        return CLI_FAIL;
    }
    if (json)
        print_json(&r, argv[optind]);
    else
        print_text(&r, argv[optind], segs);
    inspect_free(&r);
    strata_db_close(db);
    return CLI_OK;
}

static void say(void *ctx, const char *msg)
{
    (void)ctx;
    printf("damaged: %s\n", msg);
}

int cmd_verify(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: strata verify <db>\n\nRe-read every checksum of the database (manifest, "
               "catalog, segments and\ntheir chunks, write-ahead log) and list what is damaged. "
               "Exit status 1\nwhen anything is.\n");
        return CLI_OK;
    }
    if (argc != 2) {
        cli_errorf("verify: give exactly one database directory");
        return CLI_USAGE;
    }
    uint64_t problems;
    if (strata_verify(argv[1], say, NULL, &problems) != STRATA_OK) {
        cli_errorf("%s", strata_errmsg(NULL));
        return CLI_FAIL;
    }
    if (problems) {
        printf("%s: %" PRIu64 " problem(s) found\n", argv[1], problems);
        return CLI_FAIL;
    }
    printf("%s: ok (every checksum verified)\n", argv[1]);
    return CLI_OK;
}
