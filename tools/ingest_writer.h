/*
 * ingest_writer.h — the write half of `strata ingest`, on its own thread, so
 * that parsing the next batch overlaps writing the one before (log append,
 * applying to the head).
 *
 * Two batches take turns: the parser fills one while the writer thread
 * writes the other.  Batches are written one at a time in the order they
 * were handed over, so a later line still wins over an earlier one for
 * the same series and time.  A failed write is reported (with the file and
 * line range of its batch) and makes every later hand-over fail, so the
 * run stops; batches handed over before it are stored.
 *
 * A batch that creates series gets them before the next one is filled
 * (strata_db_define, on the parser's thread): lines are checked against
 * the database's field types as they are parsed, so a type conflict with
 * the batch before is reported for its own line, as without the pipeline.
 * (Waiting for that batch's whole write instead kept the parser idle for
 * the first batch's log append, apply and flush.)
 */
#ifndef STRATA_INGEST_WRITER_H
#define STRATA_INGEST_WRITER_H

#include "strata.h"

#include <stdint.h>

typedef struct ingest_writer ingest_writer;

/* Start the thread; *first is the first batch to fill (owned by the writer
 * until ingest_writer_finish).  serial: every batch is written before the
 * next is filled (for checks made as points are added that depend on every
 * earlier write, such as a maximum lateness).  0, or -1 with a message
 * printed. */
int ingest_writer_start(strata_db *db, int serial, ingest_writer **w /* OUT */,
                        strata_batch **first /* OUT */);
/* Hand *b (lines first_line..last_line of file) over to be written and get
 * the other batch, empty, in *b.  Waits while the previous batch is still
 * being written.  0, or -1 when a write has failed (nothing more is
 * written; *b is then an empty batch still). */
int ingest_writer_submit(ingest_writer *w, strata_batch **b, const char *file,
                         uint64_t first_line, uint64_t last_line);
/* Wait for the batch in flight; 0, or -1 when any write failed. */
int ingest_writer_wait(ingest_writer *w);
typedef struct ingest_counts {
    uint64_t points, values;               /* stored */
    uint64_t skipped_batches, skipped_points; /* keyed batches already applied */
} ingest_counts;

/* Stop the thread (after the batch in flight) and free the batch it holds
 * (the caller frees the one it fills); what was written. */
void ingest_writer_finish(ingest_writer *w, ingest_counts *out /* OUT */);

#endif
