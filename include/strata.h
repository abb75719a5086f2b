/*
 * strata.h — the public interface of libstrata, an embedded time-series
 * storage engine for device telemetry.
 *
 * This header is the contract: what is not declared here is not an API.
 *
 * Model.  A point is `measurement,tag=value,... field=value,... timestamp`,
 * as in InfluxDB line protocol.  A series is one field of one measurement
 * under one sorted tag set; it has a 64-bit id, assigned once, and a type
 * (float64, int64 or bool) fixed by its first write.  Timestamps are int64
 * nanoseconds since the Unix epoch (negative values are allowed).
 *
 * Writing the same series and timestamp twice keeps one value: the one
 * written last.  "Last" is the order in which writes were applied to the
 * database (for one writer thread, call order; inside a batch, batch order).
 *
 * Threads.  A strata_db handle may be shared by any number of threads that
 * write and read concurrently.  A strata_batch and a strata_iter belong to
 * one thread at a time.
 *
 * Errors.  Every function that can fail returns a primary result code
 * (STRATA_OK on success).  strata_errmsg() gives a message for the last
 * failure on the calling thread, naming the file and byte offset where that
 * applies; strata_extended_errcode() gives the detailed code.
 *
 * Ownership.  Every constructor has one destructor, and destructors accept
 * NULL.  Output parameters come last, marked OUT.  Strings passed in are
 * copied before the call returns.  Each function returning a pointer says
 * how long it stays valid.
 */
#ifndef STRATA_H
#define STRATA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define STRATA_API __attribute__((visibility("default")))
#else
#define STRATA_API
#endif

#define STRATA_VERSION_STRING "0.1.0"
#define STRATA_VERSION_NUMBER 100 /* major*10000 + minor*100 + patch */

/* ---- Result codes ------------------------------------------------------ */
#define STRATA_OK 0        /* success */
#define STRATA_ERROR 1     /* bad input data or another generic error */
#define STRATA_NOMEM 2     /* an allocation failed */
#define STRATA_IOERR 3     /* the operating system reported an I/O error */
#define STRATA_CORRUPT 4   /* a file failed its checksum or structure check */
#define STRATA_NOTFOUND 5  /* no such database, series or file */
#define STRATA_FULL 6      /* a limit was reached (disk full, batch too big) */
#define STRATA_BUSY 7      /* the database is locked by another process */
#define STRATA_MISUSE 8    /* the API was used wrongly (bad argument/order) */
#define STRATA_DENIED 9    /* permission denied by the operating system */
#define STRATA_VERSION 10  /* a file has a format version this build lacks */
#define STRATA_ROW 100     /* strata_iter_next() has a point ready */
#define STRATA_DONE 101    /* strata_iter_next() has no more points */

/* Extended codes: primary | (n << 8).  (code & 0xff) is the primary code. */
#define STRATA_ERROR_PARSE (STRATA_ERROR | (1 << 8))   /* malformed text */
#define STRATA_ERROR_TYPE (STRATA_ERROR | (2 << 8))    /* field type conflict */
#define STRATA_ERROR_INPUT (STRATA_ERROR | (3 << 8))   /* invalid name/value */
#define STRATA_ERROR_LATE (STRATA_ERROR | (4 << 8))    /* beyond max_lateness_ns */
#define STRATA_IOERR_OPEN (STRATA_IOERR | (1 << 8))
#define STRATA_IOERR_READ (STRATA_IOERR | (2 << 8))
#define STRATA_IOERR_WRITE (STRATA_IOERR | (3 << 8))
#define STRATA_IOERR_FSYNC (STRATA_IOERR | (4 << 8))
#define STRATA_IOERR_RENAME (STRATA_IOERR | (5 << 8))
#define STRATA_IOERR_MMAP (STRATA_IOERR | (6 << 8))
#define STRATA_IOERR_DELETE (STRATA_IOERR | (7 << 8))
#define STRATA_IOERR_TRUNCATE (STRATA_IOERR | (8 << 8))
#define STRATA_CORRUPT_WAL (STRATA_CORRUPT | (1 << 8))
#define STRATA_CORRUPT_SEGMENT (STRATA_CORRUPT | (2 << 8))
#define STRATA_CORRUPT_CATALOG (STRATA_CORRUPT | (3 << 8))
#define STRATA_CORRUPT_MANIFEST (STRATA_CORRUPT | (4 << 8))
#define STRATA_CORRUPT_KEYS (STRATA_CORRUPT | (5 << 8)) /* the idemkeys file */
#define STRATA_FULL_DISK (STRATA_FULL | (1 << 8))      /* ENOSPC */
#define STRATA_FULL_BATCH (STRATA_FULL | (2 << 8))     /* batch too large */
#define STRATA_FULL_SERIES (STRATA_FULL | (3 << 8))    /* series id space */
#define STRATA_BUSY_LOCKED (STRATA_BUSY | (1 << 8))
#define STRATA_MISUSE_READONLY (STRATA_MISUSE | (1 << 8))
#define STRATA_MISUSE_CLOSED (STRATA_MISUSE | (2 << 8)) /* after a fatal error */

typedef struct strata_db strata_db;
typedef struct strata_batch strata_batch;
typedef struct strata_iter strata_iter;

/* The message for the last failure returned to the calling thread by any
 * strata_* call (db is accepted for symmetry and may be NULL).  Valid until
 * the thread's next failing call.  Never NULL. */
STRATA_API const char *strata_errmsg(const strata_db *db);
/* The extended code of that same failure (STRATA_OK if none yet). */
STRATA_API int strata_extended_errcode(const strata_db *db);
/* A static English description of a primary or extended result code. */
STRATA_API const char *strata_errstr(int rc);

/* ---- Opening and closing ------------------------------------------------ */

/* When an acknowledged write is durable.  What each policy can lose when the
 * machine crashes (power loss, kernel panic) or the process is killed:
 *
 *  STRATA_SYNC_ALWAYS    fsync before every acknowledgement (concurrent
 *                        writers share one fsync).  Loses nothing
 *                        acknowledged, in either case.
 *  STRATA_SYNC_BATCH     as ALWAYS, but when several writers are active the
 *                        one that syncs first waits batch_delay_us so more
 *                        writes share the fsync.  Loses nothing
 *                        acknowledged; trades latency for throughput.
 *  STRATA_SYNC_INTERVAL  written to the OS before the acknowledgement,
 *                        fsynced every sync_interval_ms by a background
 *                        thread.  A killed process loses nothing; a machine
 *                        crash loses at most the last interval of writes.
 *  STRATA_SYNC_NONE      written to the OS before the acknowledgement, never
 *                        fsynced except when the head is flushed to segment
 *                        files and on close.  A killed process loses
 *                        nothing; a machine crash loses everything written
 *                        since the last flush.
 *
 * In every policy a crash never corrupts what was stored before: a torn
 * write-ahead-log tail is cut off on the next open. */
typedef enum strata_sync {
    STRATA_SYNC_BATCH = 0, /* the default */
    STRATA_SYNC_ALWAYS = 1,
    STRATA_SYNC_INTERVAL = 2,
    STRATA_SYNC_NONE = 3
} strata_sync;

typedef void (*strata_log_fn)(void *ctx, int level, const char *message);
#define STRATA_LOG_WARN 1 /* something was repaired, e.g. a torn WAL tail */
#define STRATA_LOG_INFO 2 /* flushes and other routine events */

typedef struct strata_options {
    strata_sync sync;
    uint32_t sync_interval_ms;  /* INTERVAL policy; default 1000 */
    uint32_t batch_delay_us;    /* BATCH policy; default 1000 */
    size_t head_budget_bytes;   /* memory for unflushed points, the head
                                   being flushed and the next together,
                                   blocks kept for reuse included (give or
                                   take a sixteenth); 64 MiB */
    const char *device_tag;     /* tag naming the device; "device"; NULL
                                   keeps the database's stored choice */
    int64_t partition_ns;       /* segment time span, set at creation only;
                                   0 = 1 day (or the stored value) */
    int create_if_missing;      /* 1: create the directory; default 0 */
    int read_only;              /* 1: no writes, WAL replayed in memory */
    strata_log_fn log;          /* optional; called from any thread */
    void *log_ctx;
    /* Idempotent retransmission (strata_batch_set_key): a key is
     * remembered for idem_window_ns of wall-clock time after the batch
     * carrying it was applied (0 = the default, 24 h), but at most
     * idem_max_keys keys are kept (0 = the default, 1000000); beyond that
     * the oldest are forgotten first.  Each kept key costs about 50 bytes
     * plus its length in memory and 9 bytes plus its length in the
     * `idemkeys` file, which every flush that has new keys rewrites. */
    int64_t idem_window_ns;
    uint32_t idem_max_keys;
    /* Late data: a point more than max_lateness_ns older than the frontier
     * (the newest timestamp stored, or added before it to the same batch)
     * is refused with STRATA_ERROR_LATE.  0 = any lateness is accepted (the
     * default); points for time ranges already flushed are then stored and
     * read like any other.  The frontier is one for the whole database: a
     * point stamped in the future (a device with a wrong clock) moves it
     * for every device, but never past the wall clock plus one day. */
    int64_t max_lateness_ns;
    int64_t retention_ns;       /* raw data kept, measured back from the
                                   newest timestamp stored (see
                                   strata_db_set_retention); 0 keeps the
                                   stored setting (forever for a new
                                   database); > 0 stores this one;
                                   STRATA_RETENTION_FOREVER stores forever */
    int no_compaction;          /* 1: no background compaction thread
                                   (strata_db_compact still works) */
    /* Downsampling tiers (see strata_db_set_rollup_tiers): NULL keeps the
     * stored ones (a new database gets 1 min and 1 h, kept forever);
     * non-NULL stores these nrollup_tiers (0: no rollups). */
    const struct strata_rollup_tier *rollup_tiers;
    size_t nrollup_tiers;
} strata_options;

#define STRATA_RETENTION_FOREVER (-1)

/* Fill o with the defaults listed above. */
STRATA_API void strata_options_init(strata_options *o);

/* Open (or create) the database in directory `path`.  opts may be NULL for
 * the defaults.  Replays the write-ahead log.  A second process opening the
 * same directory gets STRATA_BUSY.  On failure *db is NULL. */
STRATA_API int strata_db_open(const char *path, const strata_options *opts,
                              strata_db **db /* OUT */);

/* Flush the in-memory head to segment files, sync, release everything.
 * All iterators and batches of db must be freed first.  Accepts NULL.
 * Returns the first error met while flushing; the handle is freed anyway. */
STRATA_API int strata_db_close(strata_db *db);

/* Write the whole in-memory head to segment files now and trim the log. */
STRATA_API int strata_db_flush(strata_db *db);

/* Make every acknowledged write durable now, whatever the sync policy. */
STRATA_API int strata_db_sync(strata_db *db);

/* Compaction.  Segments written by separate flushes for one time partition
 * (late data, head budget flushes) are merged into one, keeping one value
 * per series and timestamp (the newest, as everywhere); cold partitions are
 * merged into wider segments (time tiers); segments wholly older than the
 * retention are deleted.  A background thread does this after flushes
 * (unless no_compaction or read_only).  strata_db_compact() first flushes
 * the head, then runs compaction to completion in the calling thread;
 * readers keep their snapshot throughout, writers are never blocked.
 * STRATA_MISUSE_READONLY on a read-only handle. */
STRATA_API int strata_db_compact(strata_db *db);

/* Raw retention: points more than ns older than the newest timestamp ever
 * stored (the frontier, not the wall clock: replayed or simulated data
 * expires by its own time; but a frontier past the wall clock plus one day
 * counts as that, so one point from a clock set decades ahead cannot expire
 * everything) are deleted, a whole segment file at a time once all of the
 * file's time range is expired.  0 = keep forever.  The setting
 * is stored in the database (a manifest edit) and applied by the next
 * compaction; the background thread is woken for it. */
STRATA_API int strata_db_set_retention(strata_db *db, int64_t ns);
/* The stored retention (0 = forever). */
STRATA_API int strata_db_get_retention(strata_db *db, int64_t *ns /* OUT */);

/* Rollups.  For each tier (a bucket width), compaction keeps per series
 * and bucket the count, sum, minimum, maximum, first and last value (as
 * chunk statistics define them), built in the background from flushed data
 * of partitions before the newest one, rebuilt when late data or a delete
 * touches them, and stored as segment files.  Queries whose aggregates
 * are count, sum, mean, min, max, spread, first or last and whose time
 * buckets are whole multiples of a tier (or absent) read them instead of
 * the raw points where they are valid; results are the same (float sums
 * are added in a different order).  With raw data kept forever, a series
 * gets rollup rows only where it has 1024 points or more per bucket on
 * average (about four chunks: sparser data is answered as fast from the
 * chunks' own statistics, and the rows would only cost disk space); with a
 * raw retention, every series with 4 or more points per bucket gets them,
 * so that tiers kept longer than raw data keep the summaries (a row of one
 * point would be that point at several times its size).  Widths: 1 s or more, ascending, each
 * dividing the partition width; at most STRATA_MAX_ROLLUP_TIERS.  retention_ns: rollups
 * older than this behind the frontier are deleted (0 = forever). */
#define STRATA_MAX_ROLLUP_TIERS 4
typedef struct strata_rollup_tier {
    int64_t width_ns;
    int64_t retention_ns;
} strata_rollup_tier;

/* Store a new tier list (rollups of widths no longer listed are deleted
 * by the next compaction, new tiers are built by it). */
STRATA_API int strata_db_set_rollup_tiers(strata_db *db, const strata_rollup_tier *tiers,
                                          size_t n);
/* The stored tiers: *n of them into tiers (room for STRATA_MAX_ROLLUP_TIERS). */
STRATA_API int strata_db_get_rollup_tiers(strata_db *db, strata_rollup_tier *tiers /* OUT */,
                                          size_t *n /* OUT */);

typedef struct strata_stats {
    uint64_t series;          /* series in the catalog */
    uint64_t segments;        /* live segment files */
    uint64_t segment_bytes;   /* their total size */
    uint64_t head_points;     /* points not yet flushed */
    uint64_t head_bytes;      /* memory they use */
    uint64_t wal_bytes;       /* size of the write-ahead log */
    uint64_t flushes;         /* head flushes since open */
    uint64_t wal_torn_bytes;  /* bytes cut from a torn log tail at open */
    uint64_t replayed_records;/* log records replayed at open */
    uint64_t idem_keys;       /* batch keys remembered (in the window) */
    uint64_t idem_skipped;    /* keyed batches acknowledged as already
                                 applied since open */
    uint64_t late_rejected;   /* points refused as too late since open */
    uint64_t tombstones;      /* deletes (one per series) compaction has
                                 not yet applied to every segment */
    uint64_t rollup_segments; /* live rollup segments, all tiers (an empty
                                 one, with no series to keep, has no file) */
    uint64_t rollup_bytes;    /* the total size of their files */
    uint64_t rollups_stale;   /* of them, waiting to be rebuilt */
    uint64_t head_kept_bytes; /* memory of flushed heads kept for the next
                                 ones (within head_budget_bytes, with
                                 head_bytes) */
} strata_stats;
STRATA_API int strata_db_stats(strata_db *db, strata_stats *out /* OUT */);

/* ---- Writing ------------------------------------------------------------ */

typedef enum strata_type {
    STRATA_F64 = 1,
    STRATA_I64 = 2,
    STRATA_BOOL = 3
} strata_type;

typedef union strata_value {
    double f64;
    int64_t i64;
    int boolean; /* 0 or 1 */
} strata_value;

/* A batch collects points for one atomic write to db.  Build a point with
 * strata_batch_point(), then its tags, then at least one field; the next
 * strata_batch_point() (or strata_db_write()) completes it.
 *
 * Names and tag values are non-empty strings without newline characters;
 * "time" is reserved and may not be a tag key or field name.  A point may
 * not repeat a tag key; a repeated field name keeps the last value. */
STRATA_API int strata_batch_new(strata_db *db, strata_batch **b /* OUT */);
STRATA_API void strata_batch_free(strata_batch *b);
/* Forget the batch's points (keeps its caches, for reuse). */
STRATA_API void strata_batch_clear(strata_batch *b);
/* With max_lateness_ns set, strata_batch_point() and strata_batch_add_lp()
 * refuse a point older than the frontier minus that lateness with
 * STRATA_ERROR_LATE (the batch is unchanged; for line protocol *err
 * points at the timestamp). */
STRATA_API int strata_batch_point(strata_batch *b, const char *measurement,
                                  int64_t ts_ns);
STRATA_API int strata_batch_tag(strata_batch *b, const char *key,
                                const char *value);
STRATA_API int strata_batch_f64(strata_batch *b, const char *field, double v);
STRATA_API int strata_batch_i64(strata_batch *b, const char *field, int64_t v);
STRATA_API int strata_batch_bool(strata_batch *b, const char *field, int v);
/* Drop the point under construction, with the fields it already has. */
STRATA_API void strata_batch_cancel_point(strata_batch *b);
/* Idempotency key: a batch may carry an opaque key of 1 to
 * STRATA_MAX_BATCH_KEY bytes naming its content, e.g. `device:seq` (the
 * device's id and a sequence number it increments per batch, the
 * recommended form) or a client-generated token.  strata_db_write() of a
 * batch whose key was already applied within the window (see
 * strata_options.idem_window_ns) applies nothing, returns STRATA_OK once
 * the earlier write is durable, and strata_batch_skipped() then returns 1.
 * Checking and recording a key are atomic with the write: concurrent
 * retransmissions of one key apply once.  The window survives restarts
 * and crashes (the key travels in the log record, then in `idemkeys`).
 * A batch without values registers no key.  key NULL or len 0 removes the
 * key; strata_batch_clear() removes it too.  STRATA_MISUSE when len is
 * over the limit. */
#define STRATA_MAX_BATCH_KEY 255
STRATA_API int strata_batch_set_key(strata_batch *b, const void *key, size_t len);
/* 1 if the batch's last strata_db_write() was acknowledged without being
 * applied because its key had been applied before; else 0. */
STRATA_API int strata_batch_skipped(const strata_batch *b);
/* Points and field values in the batch (a value = one field of a point). */
STRATA_API size_t strata_batch_points(const strata_batch *b);
STRATA_API size_t strata_batch_values(const strata_batch *b);
/* 1 when some value in the batch is for a series the database did not
 * have when the value was added (writing the batch creates it), else 0.
 * Fields are checked against the database's types as they are added, so
 * a program that fills one batch while another is being written must let
 * such a batch's series exist before filling the next (strata_db_define(),
 * or write it first), or a type conflict between the two is found only by
 * strata_db_write(), which then refuses the whole later batch. */
STRATA_API int strata_batch_has_new_series(const strata_batch *b);

/* Line protocol: timestamps without a unit are read in this precision. */
typedef enum strata_precision {
    STRATA_PRECISION_NS = 0,
    STRATA_PRECISION_US = 1,
    STRATA_PRECISION_MS = 2,
    STRATA_PRECISION_S = 3
} strata_precision;

typedef struct strata_lp_error {
    uint32_t column;    /* 1-based byte column of the offending character */
    char message[160];  /* what was wrong there */
} strata_lp_error;

/* Parse one line of InfluxDB line protocol (without its newline) and add it
 * to the batch.  Blank lines and '#' comments add nothing and succeed.  A
 * line without a timestamp gets default_ts_ns.  Accepted field values:
 * floats (also NaN, Inf, +Inf, -Inf), integers with an `i` suffix, and
 * booleans (t, T, true, True, TRUE, f, F, false, False, FALSE); string
 * fields are rejected.  On error the batch is unchanged, *err says where
 * and the result is STRATA_ERROR (extended STRATA_ERROR_PARSE or
 * STRATA_ERROR_TYPE when the field's series has another type). */
STRATA_API int strata_batch_add_lp(strata_batch *b, const char *line,
                                   size_t len, strata_precision precision,
                                   int64_t default_ts_ns,
                                   strata_lp_error *err /* OUT */);

/* Write every point of the batch, atomically: all of it is applied or none.
 * Returns once the sync policy is met.  New series are created.  A field
 * whose series exists with another type fails the whole batch with
 * STRATA_ERROR (extended STRATA_ERROR_TYPE).  A keyed batch already
 * applied is acknowledged without applying it (strata_batch_skipped()).
 * With max_lateness_ns set, points are checked again against the frontier
 * at the time of the write (another thread may have moved it since they
 * were added): a point now too late fails the whole batch with
 * STRATA_ERROR_LATE, nothing written.  STRATA_NOMEM: nothing of the batch
 * was logged or applied, and the handle takes further writes (one corner
 * aside: the log starting its next file after an earlier allocation of its
 * own failed can run out of memory with the record written; the log then
 * fails as after an I/O error).  The batch is left as it was; clear it to
 * reuse it. */
STRATA_API int strata_db_write(strata_db *db, strata_batch *b);

/* Create the series of the batch that the database does not have yet, as
 * strata_db_write() would, without writing any point; afterwards
 * strata_batch_has_new_series(b) is 0.  For a program that fills one batch
 * while another is being written: once the batch about to be written has
 * its series, the next one is checked against their types as it is
 * filled.  A series created here and never written stays in the catalog
 * without points; its definition reaches the log with the next write, so
 * a database closed before any further write may forget it.
 * A field whose series exists with another type: STRATA_ERROR (extended
 * STRATA_ERROR_TYPE) and nothing is created; the same for one series
 * given two types in the batch, found after the series before it were
 * created. */
STRATA_API int strata_db_define(strata_db *db, strata_batch *b);

/* ---- Deleting ------------------------------------------------------------
 * A delete hides the points of the chosen series with from_ns <= ts <
 * to_ns (to_ns = INT64_MAX: no upper bound) that were written before the
 * call; points written afterwards are kept, even inside the range.  It is
 * atomic over all the series named, durable when it returns (a manifest
 * edit, fsynced), and queries and iterators opened afterwards no longer see
 * the points; compaction removes them from disk.  The series themselves
 * stay in the catalog (their ids are never reused).  A delete first
 * flushes the in-memory head to segments, so writers wait for that flush. */

/* Delete from the n series in ids.  STRATA_NOTFOUND for an unknown id. */
STRATA_API int strata_delete(strata_db *db, const uint64_t *ids, size_t n,
                             int64_t from_ns, int64_t to_ns);
/* Delete from every series of one device (the series whose device tag, see
 * strata_options.device_tag, has this value), optionally only those of one
 * measurement (NULL: all).  *nseries receives how many series matched;
 * none matching is not an error. */
STRATA_API int strata_delete_device(strata_db *db, const char *device,
                                    const char *measurement, int64_t from_ns,
                                    int64_t to_ns, uint64_t *nseries /* OUT */);

/* ---- Reading -------------------------------------------------------------
 * Series keys are `measurement,tag1=v1,tag2=v2 field` with line-protocol
 * escaping and tags sorted by key (bytewise). */

typedef struct strata_series {
    uint64_t id;
    strata_type type;
    const char *key;        /* canonical series key (see above) */
    size_t measurement_len; /* key[0, measurement_len) is the escaped measurement */
    size_t tags_len;        /* key[0, tags_len) is `measurement,tags` */
    const char *field;      /* unescaped field name */
} strata_series;

/* The number of series; ids run from 0 to count-1. */
STRATA_API int strata_series_count(strata_db *db, uint64_t *count /* OUT */);
/* Describe series `id`.  The strings stay valid until strata_db_close(). */
STRATA_API int strata_series_get(strata_db *db, uint64_t id,
                                 strata_series *out /* OUT */);
/* Find a series by key; tags may come in any order.  STRATA_NOTFOUND if
 * no such series exists. */
STRATA_API int strata_series_find(strata_db *db, const char *key,
                                  strata_series *out /* OUT */);

/* Iterate over the points of one series with from_ns <= ts < to_ns, in time
 * order, one value per timestamp (the last written).  The iterator sees the
 * data as of its creation, flushed or not. */
STRATA_API int strata_iter_open(strata_db *db, uint64_t series_id,
                                int64_t from_ns, int64_t to_ns,
                                strata_iter **it /* OUT */);
/* STRATA_ROW with *ts and *v set, STRATA_DONE at the end, or an error
 * (STRATA_CORRUPT names the file and offset of a damaged chunk). */
STRATA_API int strata_iter_next(strata_iter *it, int64_t *ts /* OUT */,
                                strata_value *v /* OUT */);
/* Up to cap points at once; *n is 0 only at the end (STRATA_DONE). */
STRATA_API int strata_iter_next_block(strata_iter *it, int64_t *ts /* OUT */,
                                      strata_value *v /* OUT */, size_t cap,
                                      size_t *n /* OUT */);
STRATA_API void strata_iter_close(strata_iter *it);

/* ---- Queries ---------------------------------------------------------------
 * A small language close to InfluxQL, documented in docs/QUERY.md:
 *
 *   SELECT mean(fuel_consumption), max(velocity) FROM readings
 *    WHERE fleet = 'East' AND time >= '2024-01-01T00:00:00Z' AND time < now()
 *    GROUP BY time(1h), fleet FILL(none)
 *
 * Lifecycle: strata_query_prepare() parses and plans; strata_query_step()
 * produces one row at a time (STRATA_ROW, then STRATA_DONE); the column
 * accessors read the current row; strata_query_finalize() releases it.
 * Rows stream: a query holds at most one group's buckets in memory.
 * "EXPLAIN <query>" yields the plan as rows of one text column instead. */

typedef struct strata_query strata_query;

/* Column value types of the current row. */
#define STRATA_COL_NULL 0 /* no value (an empty bucket with FILL(null)) */
#define STRATA_COL_TIME 1 /* int64 ns: strata_query_column_i64() */
#define STRATA_COL_TEXT 2 /* tag values, EXPLAIN lines */
#define STRATA_COL_F64 3
#define STRATA_COL_I64 4
#define STRATA_COL_BOOL 5 /* strata_query_column_i64() gives 0 or 1 */

/* Parse and plan `text`.  A syntax error is STRATA_ERROR (extended
 * STRATA_ERROR_PARSE) with a message naming line and column; an unknown
 * measurement or field is not an error (no rows). */
STRATA_API int strata_query_prepare(strata_db *db, const char *text,
                                    strata_query **q /* OUT */);
/* STRATA_ROW, STRATA_DONE, or an error (e.g. STRATA_CORRUPT). */
STRATA_API int strata_query_step(strata_query *q);
/* Columns: "time", then the GROUP BY tags, then one per selected value. */
STRATA_API int strata_query_column_count(const strata_query *q);
/* Valid until strata_query_finalize(). */
STRATA_API const char *strata_query_column_name(const strata_query *q, int i);
/* The type of column i in the current row (STRATA_COL_*). */
STRATA_API int strata_query_column_type(const strata_query *q, int i);
STRATA_API double strata_query_column_f64(const strata_query *q, int i);
STRATA_API int64_t strata_query_column_i64(const strata_query *q, int i);
/* Valid until the next step or finalize. */
STRATA_API const char *strata_query_column_text(const strata_query *q, int i);
/* The plan and what execution did so far (series matched, chunks answered
 * from their statistics vs decoded, points read), as text; valid until the
 * next call or finalize. */
STRATA_API const char *strata_query_explain(strata_query *q);
/* Accepts NULL. */
STRATA_API void strata_query_finalize(strata_query *q);

/* ---- Gaps ------------------------------------------------------------------
 * Missing reports per device (docs/GAPS.md has the exact rules).  A device
 * is one value of the database's device tag (strata_options.device_tag);
 * its report times are the union of the timestamps of all its series (or
 * of those of one measurement).  A gap is two consecutive reports further
 * apart than interval x tolerance; the expected interval is given, or
 * learned per device (the lower median of the positive deltas between its
 * reports).  Chunks whose index entry proves them evenly spaced are not
 * decoded.
 *
 * Lifecycle: strata_gaps_open() plans (which devices, which series);
 * strata_gaps_next() yields one gap at a time, devices in bytewise order of
 * their names, each device's gaps in time order (STRATA_ROW, then
 * STRATA_DONE); strata_gaps_close() releases it.  Memory: one device at a
 * time; with a learned interval, that device's report times in run-length
 * form (one entry per evenly spaced run). */

typedef struct strata_gaps strata_gaps;

typedef struct strata_gaps_options {
    const char *device;      /* only this device; NULL: every device */
    const char *measurement; /* only this measurement's series; NULL: all */
    int64_t from_ns;         /* range start; INT64_MIN (default): open */
    int64_t to_ns;           /* range end, exclusive; INT64_MAX (default):
                                the latest report of the matched series */
    int64_t interval_ns;     /* expected interval; 0 (default): learned */
    double tolerance;        /* >= 1, at most 1e6, used to a millionth;
                                default 1.5 */
} strata_gaps_options;

/* Fill o with the defaults listed above. */
STRATA_API void strata_gaps_options_init(strata_gaps_options *o);

#define STRATA_GAP_REPORT 0 /* ended by the device's next report */
#define STRATA_GAP_SILENT 1 /* no report after it: ends at the range end */
#define STRATA_GAP_ABSENT 2 /* no report in the range at all (but earlier) */

typedef struct strata_gap {
    const char *device;  /* valid until the next strata_gaps_next/close */
    int64_t start_ns;    /* the first missing report time (clipped to the
                            range: the first one at or after from_ns) */
    int64_t end_ns;      /* the next report, or the range end */
    int64_t last_ns;     /* the report before the gap */
    int64_t interval_ns; /* the device's expected interval */
    uint64_t missing;    /* reports missing in [start_ns, end_ns) */
    int kind;            /* STRATA_GAP_* */
} strata_gap;

/* Plan a gap search on db.  opts may be NULL for the defaults.  Bad options
 * (tolerance out of range, negative interval, from >= to) are STRATA_MISUSE
 * with a message naming the option.  An unknown device or measurement is
 * not an error (no rows). */
STRATA_API int strata_gaps_open(strata_db *db, const strata_gaps_options *opts,
                                strata_gaps **g /* OUT */);
/* STRATA_ROW with *out set, STRATA_DONE, or an error (e.g. STRATA_CORRUPT
 * naming the damaged file); after an error, STRATA_DONE. */
STRATA_API int strata_gaps_next(strata_gaps *g, strata_gap *out /* OUT */);

typedef struct strata_gaps_stats {
    uint64_t devices;          /* devices matched */
    uint64_t devices_skipped;  /* whose interval could not be learned */
    uint64_t series;           /* series matched */
    uint64_t chunks_indexed;   /* chunks known from their index entry alone */
    uint64_t chunks_decoded;   /* chunks whose timestamps were decoded */
    uint64_t points_decoded;
    uint64_t head_points;      /* points read from the in-memory head */
} strata_gaps_stats;
/* What the search did so far. */
STRATA_API int strata_gaps_stats_get(const strata_gaps *g, strata_gaps_stats *out /* OUT */);
/* Accepts NULL. */
STRATA_API void strata_gaps_close(strata_gaps *g);

/* ---- Checking ------------------------------------------------------------- */

/* Re-read every checksum of the database at path (manifest, catalog, every
 * segment and chunk, the write-ahead log) without opening it for use; call
 * report() once per problem found, naming the file and offset.  *problems
 * receives the count.  Returns STRATA_OK when the check ran (whatever it
 * found), STRATA_BUSY when another process has the database open for
 * writing, or an error when path is not a database. */
STRATA_API int strata_verify(const char *path, void (*report)(void *ctx, const char *message),
                             void *ctx, uint64_t *problems /* OUT */);

#ifdef __cplusplus
}
#endif
#endif /* STRATA_H */
