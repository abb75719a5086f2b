/*
 * idem.h — idempotent retransmission: the window of batch keys already
 * applied (idem.c), and the `idemkeys` file that keeps it across log trims
 * (idem_file.c, FORMAT.md §3.8).
 *
 * A key enters the table when the write of its batch has been appended to
 * the log (the write path, under write_mu), or when replay meets its
 * WRITE_KEYED record, or when the keys file is loaded at open.  Each entry
 * remembers its arrival (wall-clock ns when the batch was applied) and the
 * lsn of its record (0 for keys loaded from the file: durable).  Entries
 * are kept in arrival order (a FIFO); the oldest leave first, when they
 * fall out of the window or when there are more than max_keys.
 *
 * Durability: the log holds every key whose record it holds.  A flush,
 * before its manifest commit, rewrites the keys file with every key whose
 * record lies below the flush's lsn (those records are synced by then, so
 * the file never names a batch whose data a crash could lose), but only
 * when that set changed.  Open loads the file, then replay adds the keys
 * of the records above flushed_lsn; a key in both is simply the same key.
 *
 * Threads: the table has its own mutex, taken last (after write_mu); the
 * write path looks up and adds under write_mu, so check-and-record is
 * atomic with the write; the flush thread snapshots it for the file.
 */
#ifndef STRATA_IDEM_H
#define STRATA_IDEM_H

#include "engine/buf.h"

#include <stddef.h>
#include <stdint.h>

#define IDEM_DEFAULT_WINDOW_NS (86400LL * 1000000000LL) /* 24 h */
#define IDEM_DEFAULT_MAX_KEYS 1000000u

typedef struct idem idem;

/* NULL when out of memory. */
idem *idem_new(int64_t window_ns, uint32_t max_keys);
void idem_free(idem *t);

/* Wall-clock now in ns (CLOCK_REALTIME), or the test clock if one is set. */
int64_t idem_now(void);
/* Tests only: make idem_now() return fn() (NULL restores the real clock). */
void idem_set_clock(int64_t (*fn)(void));

/* 1 when key was applied within the window as of now; *lsn then gets the
 * lsn of the record that applied it (0: known durable).  0 otherwise. */
int idem_seen(idem *t, const uint8_t *key, size_t len, int64_t now, uint64_t *lsn /* OUT */);
/* Make room for one more key of len bytes, so that the next idem_add()
 * cannot fail (the write path calls it before the record enters the log).
 * STRATA_NOMEM on failure. */
int idem_reserve(idem *t, size_t len);
/* Record key as applied at `arrival` by record `lsn` (replacing an older
 * entry of the same key), then forget what left the window as of `now`.
 * STRATA_NOMEM on failure (the table is unchanged). */
int idem_add(idem *t, const uint8_t *key, size_t len, int64_t arrival, uint64_t lsn, int64_t now);
/* Keys in the window as of now (forgetting those that left it). */
uint64_t idem_count(idem *t, int64_t now);

/* Rewrite the keys file `path` (via `path`.tmp, fsync, rename, fsync of
 * `dir`) with the keys of records below below_lsn still in the window,
 * when that set changed since the last rewrite (or load).  Nothing is
 * written when it did not. */
int idem_persist(idem *t, const char *dir, const char *path, uint64_t below_lsn, int64_t now);
/* Load the keys file (absent: nothing to do).  STRATA_CORRUPT_KEYS names
 * the file and offset of damage. */
int idem_load(idem *t, const char *path, int64_t now);

/* ---- the keys file (idem_file.c) ---- */

/* Append one entry, in the file's encoding, to b (-1: out of memory). */
int idemf_put_entry(buf *b, int64_t arrival, const uint8_t *key, uint8_t len);
/* Write a complete keys file holding `count` entries (encoded by
 * idemf_put_entry) atomically at path. */
int idemf_write(const char *dir, const char *path, uint64_t upto_lsn, const uint8_t *entries,
                size_t entries_len, uint64_t count);
typedef int (*idemf_entry_fn)(void *ctx, int64_t arrival, const uint8_t *key, uint8_t len);
/* Check and read the keys file, calling fn per entry in file order.
 * STRATA_NOTFOUND when there is no file; STRATA_CORRUPT_KEYS or
 * STRATA_VERSION naming the file and offset when it is damaged. */
int idemf_read(const char *path, idemf_entry_fn fn, void *ctx, uint64_t *upto_lsn /* OUT */);

#endif
