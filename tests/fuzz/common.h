/*
 * common.h — what the fuzz targets share: running a query to its end (all
 * that use a database), and for those that work on a database directory
 * (fuzz_wal, fuzz_meta) a template database, a fresh copy of it per input
 * with one file replaced, and the open-use-close of that copy.
 */
#ifndef STRATA_FUZZ_COMMON_H
#define STRATA_FUZZ_COMMON_H

#include "strata.h"

#include <stddef.h>
#include <stdint.h>

/* Create the template database at dir (no background compaction); exit(1)
 * on failure. */
strata_db *fz_create(const char *dir);

/* Write 40 points from index `from` (four devices, float, int and bool
 * fields, escaped tag values) as one batch, keyed when key is not NULL;
 * exit(1) on failure (the template must be right). */
void fz_write_points(strata_db *db, int from, const char *key);

/* Copy directory snap to work (replacing it), then write bytes d[0, n) as
 * work/name. */
void fz_copy_with(const char *snap, const char *work, const char *name, const uint8_t *d, size_t n);

/* Open work read-only, then read-write: each time inspect it, run a query
 * over every series, and close it.  Failures to open are fine. */
void fz_open_use_close(const char *work);

void fz_put64(uint8_t *p, uint64_t v);

/* Run query `text` on db, reading every column of up to max_rows rows as
 * text; a query that does not prepare is skipped. */
void fz_query(strata_db *db, const char *text, int max_rows);

/* Make the checksums of a framed file right (log, catalog, manifest): a
 * header of hdr bytes ending in the XXH3 of the rest of it, then frames of
 * a head of `head` bytes starting with the payload length (u32), the
 * payload, and the XXH3 of head and payload; as far as the frames fit. */
void fz_fix_frames(uint8_t *b, size_t n, size_t hdr, size_t head);

#endif
