/*
 * manifest.h — which segment files are live, and the database's settings
 * (FORMAT.md §7).
 *
 * The manifest is an append-only log of edits; its state is the result of
 * applying them in order.  An edit is atomic: it is either wholly in the
 * file (and intact) or, after a crash in the middle of appending it, a torn
 * tail that the next open cuts off.  manifest_rewrite() replaces the file
 * with a single snapshot edit, atomically (write, fsync, rename, fsync the
 * directory).
 *
 * Threads: one committer at a time — the database serialises commits
 * (flush, compaction, retention, settings) with its man_mu (engine/db.h);
 * the state is read under the same lock.
 */
#ifndef STRATA_MANIFEST_H
#define STRATA_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

typedef struct man_segment {
    uint64_t id;
    int64_t part_first, part_last;
    uint64_t size, points;
} man_segment;

/* A deletion (FORMAT.md §7.2, tags 12 and 13): the points of series sid
 * with from <= ts <= to that are in segments with an id below horizon.
 * Data written after the delete goes to later segments, so it is kept. */
typedef struct man_tomb {
    uint64_t id; /* unique among the live tombstones */
    uint32_t sid;
    int64_t from, to;
    uint64_t horizon;
} man_tomb;

/* A rollup segment (FORMAT.md §5.10, §7.2 tags 14-17): the per-bucket
 * statistics of width_ns buckets of the raw data in [part_first,
 * part_last].  Stale: data or deletes committed after it was built touch
 * its range, so readers must not use it until it is rebuilt. */
typedef struct man_rollup {
    uint64_t id;
    int64_t width_ns;
    int64_t part_first, part_last;
    uint64_t size, rows;
    int stale;
} man_rollup;

#define MAN_MAX_TIERS 4

/* A downsampling tier: bucket width and how long its rollups are kept
 * behind the frontier (0: forever). */
typedef struct man_tier {
    int64_t width_ns, retention_ns;
} man_tier;

typedef struct man_state {
    int64_t partition_ns;
    char device_tag[256];
    uint64_t flushed_lsn;     /* every log record below it is in segments */
    uint64_t catalog_len;     /* committed bytes of the catalog file */
    uint64_t next_segment_id; /* ids are never reused */
    int64_t retention_ns;     /* raw data kept behind the frontier; 0 forever */
    man_segment *segs;        /* live segments, ascending id */
    size_t nsegs;
    man_tomb *tombs;          /* live tombstones, ascending id */
    size_t ntombs;
    int has_raw_gone;         /* retention has deleted raw data ... */
    int64_t raw_gone_before;  /* ... below this time */
    man_tier tiers[MAN_MAX_TIERS]; /* rollup tiers, ascending width */
    size_t ntiers;
    man_rollup *rollups;      /* live rollup segments, ascending id */
    size_t nrollups;
} man_state;

typedef struct man_edit {
    const man_segment *add;
    size_t nadd;
    const uint64_t *remove;
    size_t nremove;
    uint64_t flushed_lsn;     /* 0 = unchanged */
    uint64_t catalog_len;     /* 0 = unchanged */
    uint64_t next_segment_id; /* 0 = unchanged */
    const man_tomb *add_tombs; /* ids above every live one */
    size_t nadd_tombs;
    const uint64_t *remove_tombs;
    size_t nremove_tombs;
    int set_retention;        /* 1: retention_ns is written (0 = forever) */
    int64_t retention_ns;
    const man_rollup *add_rollups; /* their stale flags are written too */
    size_t nadd_rollups;
    const uint64_t *remove_rollups;
    size_t nremove_rollups;
    const uint64_t *stale_rollups; /* live rollups that become stale */
    size_t nstale_rollups;
    int set_raw_gone;         /* 1: raw_gone_before is written (it only grows) */
    int64_t raw_gone_before;
    int set_tiers;            /* 1: the tier list becomes tiers[0..ntiers) */
    const man_tier *tiers;
    size_t ntiers;
} man_edit;

typedef struct manifest manifest;

/* Create a new manifest holding `initial` (atomically, via a temp file). */
int manifest_create(const char *path, const man_state *initial);
/* Load the manifest; a torn last edit is cut off unless read_only.
 * *torn_bytes receives how many bytes were (or would be) cut. */
int manifest_open(const char *path, int read_only, manifest **m /* OUT */,
                  uint64_t *torn_bytes /* OUT */);
void manifest_close(manifest *m);
const man_state *manifest_state(const manifest *m);
/* Append one edit and fsync it; the state changes only on success. */
int manifest_commit(manifest *m, const man_edit *e);
/* Replace the file with a snapshot of the state. */
int manifest_rewrite(manifest *m);
uint64_t manifest_file_size(const manifest *m);

long manifest_verify(const char *path, void (*report)(void *ctx, const char *msg), void *ctx);

#endif
