/*
 * segment.h — immutable segment files: one time partition, many series,
 * each in its own column chunks, found through an index at the end of the
 * file (FORMAT.md §5).
 *
 * Writing: segw_open(), segw_add() once per series in ascending id order,
 * segw_finish() (index, footer, fsync).  A file is not live until the
 * manifest names it; a crash before that leaves an orphan that the next
 * open deletes.
 *
 * Reading: segr_open() maps the file and checks header, footer and index
 * checksums; chunk checksums are checked on every decode.  Readers are
 * reference counted so that a file stays mapped while any reader uses it.
 */
#ifndef STRATA_SEGMENT_H
#define STRATA_SEGMENT_H

#include "engine/chunk.h"

#include <stddef.h>
#include <stdint.h>

typedef struct seg_info {
    uint64_t id;
    int64_t part_first, part_last; /* the partition: inclusive bounds */
    int64_t tmin, tmax;            /* of the data */
    uint64_t size, points, chunks, index_len;
    uint32_t nseries;
    uint64_t reused; /* from segw_finish: chunks copied as stored (segw_set_reuse) */
} seg_info;

/* Segment files are `<16 lowercase hex digits of the id>.seg` in seg/. */
void seg_file_path(const char *seg_dir, uint64_t id, char *out, size_t cap);
/* 1 and *id set if name is exactly a segment file name. */
int seg_parse_file_name(const char *name, uint64_t *id /* OUT */);

typedef struct seg_writer seg_writer;

int segw_open(const char *path, uint64_t id, int64_t part_first, int64_t part_last,
              seg_writer **w /* OUT */);
/* Which codecs the writer tries (enum chunk_policy; CHUNK_BEST unless
 * set).  Call before the first segw_add(). */
void segw_set_policy(seg_writer *w, int policy);
/* A source of chunks encoded already: given the points of a chunk the
 * writer is about to encode, it returns 1 with *m (all but data_off) and
 * *data (chunk_stored_len(m) bytes) of a chunk holding exactly those
 * points, encoded as chunk_encode() would under CHUNK_BEST, which the
 * writer then copies; else 0.  Compaction's merge offers its inputs'
 * chunks this way (most come out unchanged), saving their re-encoding. */
typedef int (*segw_reuse_fn)(void *ctx, const int64_t *ts, const uint64_t *v, size_t n,
                             chunk_meta *m /* OUT */, const uint8_t **data /* OUT */);
/* Ask fn (NULL: none) for every chunk while the policy in force is
 * CHUNK_BEST. */
void segw_set_reuse(seg_writer *w, segw_reuse_fn fn, void *ctx);
/* Add one series: n >= 1 points, timestamps strictly increasing and inside
 * the partition; ids strictly increasing from call to call. */
int segw_add(seg_writer *w, uint32_t sid, uint8_t type, const int64_t *ts, const uint64_t *v,
             size_t n);
/* Series encoded ahead of their writer, e.g. on another thread: segp_add()
 * encodes the points as segw_add() would into a writer of the partition
 * [part_first, part_last] (under CHUNK_BEST, without reuse), and
 * segw_add_prepared() adds series i of p to w (which must be of that
 * partition; the id order rule of segw_add() holds), with the same bytes
 * in the file.  A seg_prep is used by one thread at a time. */
typedef struct seg_prep seg_prep;
seg_prep *segp_new(void); /* NULL when out of memory */
void segp_free(seg_prep *p);
int segp_add(seg_prep *p, int64_t part_first, int64_t part_last, uint32_t sid, uint8_t type,
             const int64_t *ts, const uint64_t *v, size_t n);
size_t segp_count(const seg_prep *p);
void segp_partition(const seg_prep *p, size_t i, int64_t *first /* OUT */, int64_t *last /* OUT */);
int segw_add_prepared(seg_writer *w, const seg_prep *p, size_t i);
/* Write index and footer and start writing the file back, without waiting
 * for it; no more segw_add().  A caller with several files completes them
 * all before finishing each, so that their I/O overlaps.  On failure w is
 * left for segw_abort(). */
int segw_complete(seg_writer *w);
/* segw_complete() unless done, then fsync, close; frees w in every case. */
int segw_finish(seg_writer *w, seg_info *info /* OUT */);
/* Give up: close and delete the file; frees w. */
void segw_abort(seg_writer *w);

typedef struct seg_reader seg_reader;

int segr_open(const char *path, seg_reader **r /* OUT */);
void segr_ref(seg_reader *r);
/* Drop a reference; the last one unmaps (and, if segr_mark_obsolete() was
 * called, deletes the file). */
void segr_unref(seg_reader *r);
void segr_mark_obsolete(seg_reader *r);
const seg_info *segr_info(const seg_reader *r);
/* The file's format version (SEG_VERSION or older). */
uint32_t segr_version(const seg_reader *r);
/* The stored bytes of a chunk whose entry segr_next_chunk() returned
 * (chunk_stored_len(m) of them, inside the file). */
const uint8_t *segr_chunk_data(const seg_reader *r, const chunk_meta *m);
const char *segr_path(const seg_reader *r);

/* Position in one series' chunk list. */
typedef struct seg_cursor {
    const seg_reader *r;
    const uint8_t *p, *end;
    uint64_t data_off, prev_t;
    uint32_t left, index;
    uint32_t sid;
    uint32_t slot; /* the series' position in the series table */
    uint8_t type;
    /* 1: decimal float64 statistics are not turned into doubles (a walk
     * that only passes the entries; the index checksum was checked) */
    uint8_t skim;
    /* the previous entry, which a version-2 entry is encoded against */
    uint64_t prev_count, prev_span, prev_last;
    uint8_t prev_codecs;
    int prev_e;     /* decimal form of its float64 statistics, -1 raw */
    int64_t prev_n; /* its N of `last` in that form */
} seg_cursor;

/* 1 and *c set when the segment has series sid, else 0. */
int segr_find(const seg_reader *r, uint32_t sid, seg_cursor *c /* OUT */);
/* The i-th series of the file (0 <= i < nseries). */
int segr_series_at(const seg_reader *r, uint32_t i, seg_cursor *c /* OUT */);
/* STRATA_ROW with *m filled, STRATA_DONE, or STRATA_CORRUPT (message names
 * the file and offset). */
int segr_next_chunk(seg_cursor *c, chunk_meta *m /* OUT */);
/* The last chunk entry of series sid (1, *m set) or 0 when the segment
 * lacks the series; <0 (STRATA_CORRUPT negated) when its index is damaged.
 * The first call for a series walks its chunk list once; the reader keeps
 * the entry in memory. */
int segr_last_chunk(const seg_reader *r, uint32_t sid, chunk_meta *m /* OUT */);

/* Decode a chunk into ts/v (room for m->st.count); STRATA_CORRUPT with file
 * and offset when its checksum or encoding is wrong. */
int segr_decode(const seg_reader *r, const chunk_meta *m, int64_t *ts /* OUT */,
                uint64_t *v /* OUT */);
/* As segr_decode, the values only: for an aggregate over chunks that lie
 * wholly inside the time range asked for (the checksum covers both columns,
 * the timestamps are not decoded). */
int segr_decode_values(const seg_reader *r, const chunk_meta *m, uint64_t *v /* OUT */);
/* As segr_decode, the timestamps only (gap search: times without values). */
int segr_decode_times(const seg_reader *r, const chunk_meta *m, int64_t *ts /* OUT */);
/* Hints: segr_find(r, sid) is about to run (its series-table entry is
 * fetched into the caches meanwhile, when the reader has its position
 * map); the chunk entries at c are about to be read. */
void segr_prefetch_series(const seg_reader *r, uint32_t sid);
void segr_prefetch_index(const seg_cursor *c);
/* A hint: the chunk's stored bytes are about to be read (the reader asks
 * the CPU to fetch them into its caches meanwhile). */
void segr_prefetch(const seg_reader *r, const chunk_meta *m);
/* As segr_decode_values, the moments of the values instead (a chunk for
 * which chunk_has_moments() holds); scratch has room for m->st.count words. */
int segr_value_moments(const seg_reader *r, const chunk_meta *m, uint64_t *scratch,
                       codec_moments *out /* OUT */);

/* Check everything in the file, decoding every chunk; one report() call per
 * problem; returns the number of problems.  *info is filled when the file
 * structure is readable (may be NULL). */
long segr_verify(const char *path, void (*report)(void *ctx, const char *msg), void *ctx,
                 seg_info *info /* OUT */);

#endif
