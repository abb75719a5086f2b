/*
 * inspect.h — what `strata inspect` reports: where the bytes of a database
 * go, per file kind, per segment and per codec.  Library-internal (the CLI
 * links it statically); read-only, from an open handle.
 */
#ifndef STRATA_INSPECT_H
#define STRATA_INSPECT_H

#include "engine/codec.h"
#include "strata.h"

#include <stddef.h>
#include <stdint.h>

typedef struct insp_codec {
    uint64_t values, bytes, chunks;
} insp_codec;

typedef struct insp_segment {
    uint64_t id, size, allocated, points, chunks, index_len;
    int64_t part_first, part_last, tmin, tmax;
    uint32_t nseries;
} insp_segment;

typedef struct insp_files {
    uint64_t count, apparent, allocated;
} insp_files;

enum { INSP_SEGMENTS, INSP_WAL, INSP_CATALOG, INSP_MANIFEST, INSP_OTHER, INSP_KINDS };

typedef struct inspect_report {
    char device_tag[256];
    int64_t partition_ns;
    uint64_t series, tagsets, measurements, devices;
    uint64_t segment_points, head_points, chunks;
    uint64_t index_bytes;  /* all segment indexes (series tables included) */
    uint64_t header_bytes; /* segment headers and footers */
    insp_codec codec[2][CODEC_MAX_ID + 1]; /* [0] timestamp, [1] value columns, by codec
                                              id; bytes of the columns (before LZ4) */
    uint64_t lz4_chunks, lz4_raw, lz4_stored; /* chunks stored as LZ4: their column bytes
                                                 and the bytes stored */
    insp_segment *segs;
    size_t nsegs;
    uint64_t tombstones; /* deletes compaction has not applied everywhere yet */
    uint64_t rollup_files, rollup_bytes, rollup_rows, rollups_stale;
    int64_t tier_width[4], tier_keep[4]; /* the rollup tiers (manifest) */
    size_t ntiers;
    int64_t raw_keep; /* raw retention, 0 forever */
    int64_t frontier, frontier_used; /* the newest timestamp written (INT64_MIN:
                                        none), and what retention and lateness
                                        measure from (db_frontier_capped) */
    insp_files files[INSP_KINDS]; /* directories count as INSP_OTHER, as du does */
    uint64_t apparent, allocated;  /* everything under the directory */
} inspect_report;

int db_inspect(strata_db *db, inspect_report *r /* OUT */);
void inspect_free(inspect_report *r);
const char *inspect_kind_name(int kind);

#endif
