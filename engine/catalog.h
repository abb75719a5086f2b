/*
 * catalog.h — series keys to ids (FORMAT.md §4).
 *
 * A tag set is a measurement with its sorted tags, as canonical escaped
 * text `measurement,k1=v1,k2=v2`; a series is one field of a tag set, with
 * a type fixed at creation.  Both get dense ids from 0, assigned once and
 * never reused.  Lookups are O(1) (hash tables); strings never move once
 * created, so pointers to them stay valid until catalog_close().
 *
 * Persistence: an append-only file of checksummed blocks of definitions.
 * The manifest records how many bytes of it are committed; bytes beyond
 * that are an unfinished append and are cut off at open.  New definitions
 * are also in the write-ahead log records that first use them, so the file
 * only has to catch up before the log is trimmed (catalog_persist()).
 *
 * Threads: mutations (catalog_add_*, catalog_define_*, catalog_persist)
 * come from one thread at a time (the database's writer lock) and take the
 * catalog's write lock; the *_locked lookups are for that same thread and
 * take no lock; every other function takes the read lock.
 */
#ifndef STRATA_CATALOG_H
#define STRATA_CATALOG_H

#include <stddef.h>
#include <stdint.h>

typedef struct catalog catalog;

#define CAT_NONE UINT32_MAX
#define CAT_MAX_IDS (UINT32_MAX - 1u)

typedef struct cat_series_info {
    uint32_t tagset;
    uint8_t type;
    const char *field; /* unescaped, NUL-terminated */
    uint32_t field_len;
    const char *tagset_key; /* canonical escaped tag-set key, NUL-terminated */
    uint32_t tagset_len;
    uint32_t measurement_len; /* escaped measurement = tagset_key[0, len) */
} cat_series_info;

/* Open (create = 1: create empty) the catalog file and load its first
 * committed_len bytes; a longer file is cut back unless read_only. */
int catalog_open(const char *path, uint64_t committed_len, int create, int read_only,
                 catalog **c /* OUT */);
void catalog_close(catalog *c);

uint64_t catalog_hash(const char *key, size_t len);

/* Lookups from any thread.  Return 1 when found. */
int catalog_find_tagset(catalog *c, const char *key, size_t len, uint64_t hash,
                        uint32_t *id /* OUT */);
int catalog_find_series(catalog *c, uint32_t tagset, const char *field, size_t flen,
                        uint32_t *sid /* OUT */, uint8_t *type /* OUT */);
/* The same, for the thread that mutates (no locking). */
int catalog_find_tagset_locked(catalog *c, const char *key, size_t len, uint64_t hash,
                               uint32_t *id /* OUT */);
int catalog_find_series_locked(catalog *c, uint32_t tagset, const char *field, size_t flen,
                               uint32_t *sid /* OUT */, uint8_t *type /* OUT */);
uint8_t catalog_series_type_locked(catalog *c, uint32_t sid);

/* Create; the id is the next free one.  mlen: length of the escaped
 * measurement at the start of the tag-set key. */
int catalog_add_tagset(catalog *c, const char *key, size_t len, uint32_t mlen,
                       uint32_t *id /* OUT */);
int catalog_add_series(catalog *c, uint32_t tagset, const char *field, size_t flen,
                       uint8_t type, uint32_t *sid /* OUT */);
/* Replay: define id as given; it must be the next free id, or already
 * exist with identical contents (else STRATA_CORRUPT). */
int catalog_define_tagset(catalog *c, uint32_t id, const char *key, size_t len, uint32_t mlen);
int catalog_define_series(catalog *c, uint32_t id, uint32_t tagset, uint8_t type,
                          const char *field, size_t flen);

uint32_t catalog_series_count(catalog *c);
/* Tag set tid's canonical key and escaped-measurement length; the string
 * stays valid until catalog_close().  STRATA_NOTFOUND for an unknown id. */
int catalog_tagset_key(catalog *c, uint32_t tid, const char **key /* OUT */,
                       uint32_t *len /* OUT */, uint32_t *mlen /* OUT */);
uint32_t catalog_tagset_count(catalog *c);
int catalog_series_info(catalog *c, uint32_t sid, cat_series_info *out /* OUT */);
/* `tagset_key field` with the field escaped; valid until catalog_close(). */
const char *catalog_series_key(catalog *c, uint32_t sid);

/* Definitions as bytes (FORMAT.md §4.2), shared by catalog blocks and log
 * records: tag sets [t0, t1) and series [s0, s1), appended to *out (a
 * struct buf; see buf.h).  0 or -1 when out of memory. */
struct buf;
int catalog_encode_defs(catalog *c, uint32_t t0, uint32_t t1, uint32_t s0, uint32_t s1,
                        struct buf *out);
/* Parse and apply definitions at *p (advanced past them).  STRATA_OK, or
 * STRATA_CORRUPT_CATALOG (malformed or conflicting). */
int catalog_apply_defs(catalog *c, const uint8_t **p, const uint8_t *end);

/* Append the definitions not yet in the file (up to the current counts) as
 * one block and fsync; *committed receives the new committed length. */
int catalog_persist(catalog *c, uint64_t *committed /* OUT */);
uint64_t catalog_committed_len(catalog *c);

/* Check every block of the file at path; committed_len (or UINT64_MAX for
 * "all of it") says where the committed part ends.  Reports each problem;
 * returns how many. */
long catalog_verify(const char *path, uint64_t committed_len,
                    void (*report)(void *ctx, const char *msg), void *ctx);

#endif
