/*
 * wal.h — the write-ahead log: segmented append-only files of checksummed
 * records (FORMAT.md §3).  Framing lives here; what a record's payload
 * means is wal_record.h's business.
 *
 * Every record has a log sequence number (lsn), consecutive across files.
 * The database flushes its head to segment files and records in the
 * manifest the lsn below which everything is in segments; replay starts
 * there and wal_trim() deletes the files wholly below it.
 *
 * Writer threads: wal_append() may be called by any thread (it takes the
 * log's mutex); wal_sync_to() implements group commit: one thread writes
 * and syncs the pending buffer for everybody waiting.  An I/O error is
 * sticky: every later call fails, because after a failed fsync the state
 * of the file in the page cache is unknown; reopening the database replays
 * what reached the disk.
 */
#ifndef STRATA_WAL_H
#define STRATA_WAL_H

#include "strata.h"

#include <stddef.h>
#include <stdint.h>

typedef struct wal wal;

/* ---- recovery ------------------------------------------------------------ */

/* Called for every intact record with lsn >= the start lsn, in order.
 * Returning non-zero stops the replay with that code. */
typedef int (*wal_replay_fn)(void *ctx, uint64_t lsn, unsigned type, const uint8_t *payload,
                             size_t len);

typedef struct wal_recovery {
    uint64_t next_lsn;     /* the lsn the next record gets */
    uint64_t next_seq;     /* the sequence number the next file gets */
    uint64_t files;        /* log files found */
    uint64_t records;      /* intact records read (including skipped ones) */
    uint64_t replayed;     /* records passed to the callback */
    uint64_t bytes;        /* total size of the log files */
    uint64_t torn_bytes;   /* bytes cut (or, read-only, ignored) at the tail */
    char torn_where[256];  /* "wal/….wal at offset N" when torn_bytes > 0 */
} wal_recovery;

/* Read every log file in `dir` in order and replay the records with
 * lsn >= from_lsn.  A torn tail (an incomplete or garbled record at the end
 * of the last file with no intact record after it) is cut off when
 * `repair` is set, else ignored, and reported in *rec.  A damaged record
 * followed by intact ones, damage in any earlier file, or a gap in the
 * lsns is STRATA_CORRUPT naming the file and offset. */
int wal_replay(const char *dir, uint64_t from_lsn, int repair, wal_replay_fn fn, void *ctx,
               wal_recovery *rec /* OUT */);

/* Check every record of every file without replaying; one line per problem
 * goes to report(); returns the number of problems found (or -1 when the
 * directory cannot be read). */
long wal_verify(const char *dir, void (*report)(void *ctx, const char *msg), void *ctx);

/* ---- writing --------------------------------------------------------------- */

typedef struct wal_opts {
    strata_sync policy;
    uint32_t interval_ms;
    uint32_t batch_delay_us;
} wal_opts;

/* Start a new log file numbered `seq` whose first record will be
 * `first_lsn`, after the files wal_replay() found (they stay until
 * trimmed). */
int wal_open(const char *dir, uint64_t seq, uint64_t first_lsn, const wal_opts *o,
             wal **w /* OUT */);
/* Write out and sync everything pending, stop the sync thread, close. */
int wal_close(wal *w);

/* Queue one record; *lsn receives its sequence number.  Not yet written:
 * call wal_sync_to() before acknowledging. */
int wal_append(wal *w, unsigned type, const void *payload, size_t len, uint64_t *lsn /* OUT */);
/* The same for a record built in place: the payload is at
 * rec[WAL_RECORD_HEAD, WAL_RECORD_HEAD + len) and rec has WAL_RECORD_TRAILER
 * bytes of room after it (wal_format.h); the frame is filled in around it.
 * When nothing is pending and no leader is at work, the record is written
 * to the file at once from rec (*lsn is then written, not yet synced), else
 * it is queued like wal_append()'s. */
int wal_append_framed(wal *w, unsigned type, uint8_t *rec, size_t len, uint64_t *lsn /* OUT */);
/* Return once record `lsn` meets the sync policy (written to the OS for
 * INTERVAL/NONE, fsynced for ALWAYS/BATCH). */
int wal_sync_to(wal *w, uint64_t lsn);
/* Write and fsync everything appended so far, whatever the policy. */
int wal_sync_all(wal *w);
/* Write and fsync every record below `lsn`, whatever the policy, without
 * waiting for writers to join (a flush, before it commits what those
 * records hold). */
int wal_sync_below(wal *w, uint64_t lsn);
/* Writers entering/leaving the write path: the BATCH policy waits for
 * company only when more than one is inside. */
void wal_writer_enter(wal *w);
void wal_writer_leave(wal *w);

/* Finish the current file (written and synced) and start the next one;
 * *first_lsn receives the lsn its first record will get.  (The log also
 * does this by itself past WAL_SEGMENT_TARGET bytes.) */
int wal_rotate(wal *w, uint64_t *first_lsn /* OUT */);
/* Delete the files whose records all have lsn < below_lsn (never the
 * current file). */
int wal_trim(wal *w, uint64_t below_lsn);

uint64_t wal_next_lsn(wal *w);
uint64_t wal_size(wal *w); /* bytes in all live log files */

#endif
