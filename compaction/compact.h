/*
 * compact.h — compaction: merging segments, time tiers and retention
 * (FORMAT.md §2.3 "Compaction", §5.1 tiered segments, §7.2 tag 8).
 *
 * Four parts, one concept each:
 *   plan.c     decides, from a list of live segments, the frontier and the
 *              settings, which segments expire and which groups merge into
 *              one; a pure function (no I/O, no locks), tested directly.
 *   merge.c    writes one new segment from several old ones: per series a
 *              k-way merge with the newest source winning equal timestamps
 *              (FORMAT.md §2.5), chunks cut again to full size.
 *   compact.c  runs a plan against a database: the commit protocol, the
 *              background thread, strata_db_compact and the retention API.
 *   rollup.c   (rollup.h) downsampling rollups: built, merged and expired
 *              in every run, read back by queries.
 *
 * Locks (engine/db.h): a run holds compact_mu; it takes man_mu only to
 * reserve an id and to commit + publish (never while merging), write_mu
 * only for a moment to read the frontier, and never head_lock.
 */
#ifndef STRATA_COMPACT_H
#define STRATA_COMPACT_H

#include "engine/segment.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct strata_db;

/* ---- planning (plan.c) ---- */

#define COMPACT_MAX_TIERS 4
/* Background runs merge a group when it has this many segments, else only
 * when it lies wholly before the frontier's partition (whose head keeps
 * flushing into it) and its segments other than the largest add up to at
 * least 1/COMPACT_SIZE_RATIO of the largest (so a trickle of late points
 * does not rewrite a big segment every flush). */
#define COMPACT_HOT_MIN 8
#define COMPACT_SIZE_RATIO 8

typedef struct cplan_seg {
    uint64_t id;
    int64_t part_first, part_last; /* inclusive; a tiered segment spans several partitions */
    uint64_t size;                 /* bytes */
} cplan_seg;

typedef struct cplan_job {
    int64_t part_first, part_last; /* the output's range */
    size_t first, n;               /* its inputs: ids[first .. first + n), ascending */
} cplan_job;

typedef struct cplan {
    uint64_t *drop; /* expired segments, ascending id */
    size_t ndrop;
    cplan_job *jobs;
    size_t njobs;
    uint64_t *ids;
} cplan;

typedef struct cplan_params {
    int64_t partition_ns;
    int64_t frontier;     /* newest timestamp stored; INT64_MIN when none */
    int64_t retention_ns; /* 0: forever */
    int background;       /* 1: the COMPACT_HOT_MIN / COMPACT_SIZE_RATIO rule */
} cplan_params;

/* The tier widths in use: widths[0] = partition_ns, then those of 1 d, 7 d
 * and 28 d that are multiples of the previous width and, with a retention,
 * at most a quarter of it (a tiered segment is deleted only when all of it
 * has expired).  Returns the count (>= 1). */
size_t compact_tiers(int64_t partition_ns, int64_t retention_ns,
                     int64_t widths[COMPACT_MAX_TIERS] /* OUT */);

/* The target of a range [first, last] of whole partitions: 1 and the
 * widest tier window (widths from compact_tiers) that holds it and is cold
 * (its end at least the next narrower width before the start of the
 * frontier's partition), or 0 when none is (frontier INT64_MIN: no data,
 * nothing cold).  Compaction merges a segment into its target; a flush
 * writes points straight into theirs. */
int compact_cold_window(const int64_t *widths, size_t ntiers, int64_t frontier, int64_t first,
                        int64_t last, int64_t *lo /* OUT */, int64_t *hi /* OUT */);
/* Plan one pass over segs (any order).  STRATA_OK or STRATA_NOMEM; free
 * with compact_plan_free. */
int compact_plan(const cplan_seg *segs, size_t n, const cplan_params *p, cplan *out /* OUT */);
void compact_plan_free(cplan *p);

/* ---- merging (merge.c) ---- */

/* Write segment `id` at path covering [part_first, part_last] from the
 * inputs (ascending id: older first), fsynced, leaving out the points the
 * tombstones of view tombs_of delete from each input (NULL: none).  Checks
 * *stop between
 * series: when set, deletes the file and returns STRATA_BUSY.  On any
 * failure the file is gone. */
struct view;
int compact_merge(seg_reader *const *in, size_t n, const char *path, uint64_t id,
                  int64_t part_first, int64_t part_last, const struct view *tombs_of,
                  const atomic_int *stop, seg_info *info /* OUT */);

/* Series sid's points in the inputs (ascending id), merged as above with
 * the tombstones of tombs_of applied: *np of them in arrays from st_malloc
 * (NULL when none), *type its type (0 when no input has it). */
int compact_merge_series(seg_reader *const *in, size_t n, uint32_t sid,
                         const struct view *tombs_of, int64_t **ts /* OUT */,
                         uint64_t **v /* OUT */, size_t *np /* OUT */, uint8_t *type /* OUT */);

/* ---- running (compact.c) ---- */

/* One full compaction of db (retention, then every planned merge, until a
 * pass finds nothing).  Caller holds compact_mu. */
int compact_run(struct strata_db *db, int background);
int compact_thread_start(struct strata_db *db);
/* Ask a running compaction to stop (it abandons its output) and join. */
void compact_thread_stop(struct strata_db *db);
/* After a flush: there may be something to merge.  The thread's run waits
 * while flushes follow each other (compact.c, wait_for_quiet). */
void compact_wake(struct strata_db *db);
/* Tests: how long the flushes must pause before a background run, and the
 * longest it waits for that, in ms (0: the defaults, 1000 and 5000). */
void compact_set_defer(int quiet_ms, int defer_ms);
/* At open: store opts->retention_ns if it changes the stored setting. */
int compact_open_settings(struct strata_db *db, int64_t retention_ns);

#endif
