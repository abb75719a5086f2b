/*
 * db.h — the database handle's insides, shared by the engine's files
 * (db_open.c, db_write.c, db_flush.c, iter.c, series.c) and compaction/.
 *
 * Locks, in the order they may be taken:
 *   compact_mu one compaction run at a time (the compaction thread or
 *              strata_db_compact); held for a whole run, so it comes
 *              first and nothing else is held while waiting for it.
 *   write_mu   serialises writers: catalog mutations, log append order,
 *              applying to the active head, freezing it.
 *   flush_mu   guards the flush hand-over (flushing, frozen_lsn, failed).
 *   head_lock  rwlock over `active` (writers apply under it, readers copy).
 *   man_mu     the manifest's one committer at a time: segment id
 *              reservation, every manifest_commit (flush, compaction,
 *              retention, settings) and the view edit that publishes it.
 *              Never held while segment files are written or merged, and
 *              never taken under head_lock; a delete takes it under
 *              write_mu (nothing holding man_mu waits for write_mu).
 *   view_mu    guards `current` (swap and reference).
 *   comp_mu    the compaction thread's wake-up flags (comp_*), a leaf.
 * The log and the catalog have their own internal locks, taken last.
 *
 * Views: a view is an immutable, reference-counted list of live segments
 * plus the frozen head being flushed (if any).  Readers take a reference;
 * a flush installs a new view; a segment or frozen head goes away when the
 * last view holding it does.
 */
#ifndef STRATA_DB_H
#define STRATA_DB_H

#include "engine/buf.h"
#include "engine/catalog.h"
#include "engine/head.h"
#include "engine/idem.h"
#include "engine/manifest.h"
#include "engine/segment.h"
#include "strata.h"
#include "wal/wal.h"

#include <pthread.h>
#include <stdatomic.h>

/* The live tombstones (deletions not yet applied by compaction), sorted
 * by series id; immutable and shared between views. */
typedef struct tombset {
    atomic_int refs;
    size_t n;
    man_tomb t[];
} tombset;

/* The live rollup segments (compaction/rollup.c), immutable and shared
 * between views; each entry holds a reader reference. */
typedef struct roll {
    struct seg_reader *r; /* NULL for an empty rollup (no file, §5.10) */
    uint64_t id, size;
    int64_t width, first, last; /* bucket width; the range, inclusive */
    int stale;
} roll;

typedef struct rollset {
    atomic_int refs;
    size_t n;
    roll x[]; /* ascending id */
} rollset;

typedef struct view {
    atomic_int refs;
    seg_reader **segs; /* ascending id: older data first */
    size_t nsegs;
    head *frozen; /* NULL when no flush is in progress */
    struct frozen_ref *frozen_ref; /* shared ownership of frozen (view.c) */
    tombset *tombs; /* a reference; NULL when there are none */
    rollset *rolls; /* a reference; NULL when there are none */
} view;

struct strata_db {
    char path[4096], wal_dir[4200], seg_dir[4200];
    strata_options opts;
    char device_tag[256];
    int64_t partition_ns;
    int read_only;
    int lock_fd;
    size_t flush_threshold; /* bytes of active head that trigger a flush */

    manifest *man;
    catalog *cat;
    wal *wal;

    pthread_mutex_t write_mu;
    /* catalog ids below these are already in some log record */
    uint32_t logged_tagsets, logged_series;
    buf wbuf;            /* log record scratch, payload after the frame's room (under write_mu) */
    head_point *apply_pts; /* a batch's points grouped by series (apply_batch, under write_mu) */
    size_t cap_apply_pts;
    int64_t frontier;    /* largest timestamp ever written */
    atomic_int_least64_t frontier_pub; /* a copy, published after each write,
                                          for lateness checks outside the lock */
    idem *idem;          /* batch keys in the retransmission window */
    char idem_path[4200];
    int64_t head_part;   /* partition of the frontier when `active` began */

    pthread_rwlock_t head_lock;
    head *active;
    head_pool *hpool; /* blocks of flushed heads, reused */

    pthread_mutex_t view_mu;
    view *current;

    pthread_mutex_t flush_mu;
    pthread_cond_t flush_cv;
    pthread_t flush_thread;
    int has_flush_thread, stop, flushing;
    uint64_t frozen_lsn;
    uint64_t replay_lsn;   /* during open: the lsn after the last replayed */
    int failed;            /* sticky primary code: no more writes */
    int failed_ext;
    char failed_msg[512];

    /* the query layer's tag index (query/index.h), built on first use */
    pthread_mutex_t qindex_mu;
    struct qindex *qindex;

    atomic_uint_least64_t flushes;
    atomic_int_least64_t flush_end_ns; /* CLOCK_MONOTONIC when the last flush committed */
    atomic_uint_least64_t idem_skipped, late_rejected;
    uint64_t replayed, wal_torn_bytes;

    /* manifest commits (man_mu): the next segment id to hand out (at
     * least the manifest's next_segment_id) */
    pthread_mutex_t man_mu;
    pthread_cond_t man_cv;  /* signalled when flush_ids_open drops to 0 */
    uint64_t next_seg_id;
    int flush_ids_open;     /* a flush holds ids it has not committed yet */

    /* compaction (compaction/compact.h) */
    pthread_mutex_t compact_mu;
    pthread_mutex_t comp_mu;
    pthread_cond_t comp_cv;
    pthread_t comp_thread;
    int has_comp_thread;
    int comp_wake;           /* under comp_mu: a flush happened */
    atomic_int comp_stop;    /* abandon the running compaction, exit */
    atomic_uint_least64_t compactions, segments_dropped;
};

struct qindex;
void qindex_free(struct qindex *x); /* query/index.c */

/* ---- views (view.c) ---- */
view *view_new(seg_reader **segs, size_t nsegs, head *frozen);
void view_unref(view *v);
/* A tombset of the manifest's live tombstones (NULL when there are none;
 * -1 and an error set when out of memory). */
int tombset_from(const man_state *st, tombset **out /* OUT */);
void tombset_unref(tombset *t);
/* Give v these tombstones (a reference is taken; NULL: none). */
void view_set_tombs(view *v, tombset *t);
/* The tombstones of v for series sid: *n of them from the returned one. */
const man_tomb *view_tombs_for(const view *v, uint32_t sid, size_t *n /* OUT */);
/* A rollset of the manifest's rollups (NULL when there are none), each
 * one's reader taken from `have` (by id) or from add[0..nadd); -1 and an
 * error set when out of memory or a reader is missing. */
int rollset_from(const man_state *st, const rollset *have, struct seg_reader **add, size_t nadd,
                 rollset **out /* OUT */);
void rollset_unref(rollset *r);
void view_set_rolls(view *v, rollset *r);
/* Under view_mu: a view like the current one with these rollups (call
 * under man_mu, after the manifest edit that made the same change). */
int db_view_rolls(strata_db *db, rollset *r);
/* The current view's segments, tombstones and rollups without its frozen
 * head (NULL when out of memory): for long work on segments alone, which
 * must not keep a flushed head's memory alive. */
view *db_view_segments(strata_db *db);
/* The current view with a reference taken (view_mu inside). */
view *db_view_get(strata_db *db);
/* Under view_mu: a view with the current segments and frozen head and
 * these tombstones replaces the current one (call under man_mu, after the
 * manifest edit that made the same change).  -1 when out of memory. */
int db_view_tombs(strata_db *db, tombset *t);
/* Under view_mu: a view with the current segments and `frozen` (owned from
 * now on) replaces the current one.  -1 when out of memory.  The views
 * these functions make keep the current view's tombstones unless said. */
int db_view_freeze(strata_db *db, head *frozen);
/* Under view_mu: the current segments minus those with ids in remove, plus
 * add (ascending id, each gets a reference of its own), keeping the frozen
 * head unless drop_frozen.  Call under man_mu, after the manifest edit
 * that made the same change.  -1 when out of memory. */
int db_view_edit(strata_db *db, seg_reader **add, size_t nadd, const uint64_t *remove,
                 size_t nremove, int drop_frozen);


/* ---- the frontier ---- */
/* How far past the wall clock the frontier counts.  A point stamped later
 * than now + DB_FUTURE_SLACK_NS (a device with a wrong clock) is stored
 * and read like any other, but retention, the closing of partitions for
 * rollups and the lateness limit measure from min(frontier, now + slack):
 * one bad clock cannot expire the database or make every later point
 * "late".  A wall clock far behind the data only delays them. */
#define DB_FUTURE_SLACK_NS (86400LL * 1000000000LL)
/* min(f, wall clock now + DB_FUTURE_SLACK_NS) */
int64_t db_frontier_capped(int64_t f);
/* The database's frontier so capped (takes write_mu) */
int64_t db_frontier_now(strata_db *db);

/* ---- partitions ---- */
int64_t db_partition_of(const strata_db *db, int64_t ts);
void db_partition_bounds(const strata_db *db, int64_t part, int64_t *first, int64_t *last);

/* ---- flushing (db_flush.c) ---- */
/* Write the frozen head of the current view to segments, commit, trim the
 * log up to frozen_lsn.  Called by the flush thread, or inline during open
 * and close. */
int db_flush_frozen(strata_db *db, uint64_t frozen_lsn);
/* A flush of at least min_points points (default 65,536) encodes half of
 * its series on a helper thread when the machine has two cores or more;
 * 0 restores the default, UINT64_MAX turns the helper off.  The files
 * are the same either way.  For tests and benchmarks. */
void db_flush_set_split(uint64_t min_points);
int db_flush_thread_start(strata_db *db);
void db_flush_thread_stop(strata_db *db);
/* Under write_mu: wait for any flush in progress, then freeze the active
 * head and hand it to the flush thread (or flush inline when `inline_`). */
int db_freeze(strata_db *db, int inline_);
/* A flush of the frozen head is under way (takes flush_mu). */
int db_flush_busy(strata_db *db);
/* Wait until no flush is in progress; returns the sticky error if any. */
int db_flush_wait(strata_db *db);
/* Record a fatal error: the handle accepts no more writes. */
void db_fail(strata_db *db);
int db_failed_error(strata_db *db);

/* ---- writing (db_write.c) ---- */
/* Apply one sample to the active head (replay and write paths). */
int db_apply(strata_db *db, uint32_t sid, uint8_t type, int64_t ts, uint64_t bits);
/* Flush if the head is over budget, or if its partition has ended and no
 * flush is running (inline_: always). */
int db_maybe_flush(strata_db *db, int inline_);

#endif
