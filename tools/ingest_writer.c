/*
 * ingest_writer.c — the writer thread of `strata ingest` (see
 * ingest_writer.h).
 *
 * State, under mu: `pending` is the batch handed over and not yet written
 * (NULL when the thread is idle); `spare` the batch the parser gets next.
 * The thread writes `pending`, clears it, and it becomes the next spare.
 * Invariant: the parser's batch, pending and spare are the two batches,
 * never the same one twice.
 */
#include "tools/ingest_writer.h"

#include "tools/cli.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct ingest_writer {
    strata_db *db;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    strata_batch *pending, *spare;
    const char *file;
    uint64_t first_line, last_line;
    int stop, failed, serial;
    ingest_counts counts;
};

static void *writer_main(void *arg)
{
    ingest_writer *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->pending && !w->stop)
            pthread_cond_wait(&w->cv, &w->mu);
        if (!w->pending)
            break;
        strata_batch *b = w->pending;
        const char *file = w->file;
        uint64_t first = w->first_line, last = w->last_line;
        pthread_mutex_unlock(&w->mu);

        size_t pts = strata_batch_points(b), vals = strata_batch_values(b);
        int rc = vals ? strata_db_write(w->db, b) : STRATA_OK;
        if (rc != STRATA_OK)
            cli_errorf("%s: lines %llu-%llu not stored: %s", file, (unsigned long long)first,
                       (unsigned long long)last, strata_errmsg(w->db));
        int skipped = rc == STRATA_OK && vals && strata_batch_skipped(b);
        strata_batch_clear(b);

        pthread_mutex_lock(&w->mu);
        if (rc != STRATA_OK) {
            w->failed = 1;
        } else if (skipped) {
            w->counts.skipped_batches++;
            w->counts.skipped_points += pts;
        } else {
            w->counts.points += pts;
            w->counts.values += vals;
        }
        w->spare = b;
        w->pending = NULL;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int ingest_writer_start(strata_db *db, int serial, ingest_writer **out, strata_batch **first)
{
    ingest_writer *w = calloc(1, sizeof *w);
    if (!w) {
        cli_errorf("out of memory");
        return -1;
    }
    w->db = db;
    w->serial = serial;
    if (strata_batch_new(db, first) != STRATA_OK) {
        cli_errorf("%s", strata_errmsg(db));
        free(w);
        return -1;
    }
    if (strata_batch_new(db, &w->spare) != STRATA_OK) {
        cli_errorf("%s", strata_errmsg(db));
        strata_batch_free(*first);
        free(w);
        return -1;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    int e = pthread_create(&w->thread, NULL, writer_main, w);
    if (e != 0) {
        cli_errorf("cannot start the writer thread: %s", strerror(e));
        strata_batch_free(w->spare);
        strata_batch_free(*first);
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
        free(w);
        return -1;
    }
    *out = w;
    return 0;
}

int ingest_writer_submit(ingest_writer *w, strata_batch **b, const char *file,
                         uint64_t first_line, uint64_t last_line)
{
    /* The series this batch creates must exist before the next batch is
     * filled (ingest_writer.h); creating them is quick, the write is not. */
    if (!w->serial && strata_batch_has_new_series(*b) && strata_db_define(w->db, *b) != STRATA_OK) {
        cli_errorf("%s: lines %llu-%llu not stored: %s", file, (unsigned long long)first_line,
                   (unsigned long long)last_line, strata_errmsg(w->db));
        strata_batch_clear(*b);
        pthread_mutex_lock(&w->mu);
        w->failed = 1;
        pthread_mutex_unlock(&w->mu);
        return -1;
    }
    pthread_mutex_lock(&w->mu);
    while (w->pending)
        pthread_cond_wait(&w->cv, &w->mu);
    if (w->failed) {
        pthread_mutex_unlock(&w->mu);
        strata_batch_clear(*b);
        return -1;
    }
    int barrier = w->serial;
    /* Idle writer: spare is the other batch (see the invariant above). */
    w->pending = *b;
    w->file = file;
    w->first_line = first_line;
    w->last_line = last_line;
    *b = w->spare;
    w->spare = NULL;
    pthread_cond_broadcast(&w->cv);
    /* serial: the next batch's checks depend on this write */
    while (barrier && w->pending)
        pthread_cond_wait(&w->cv, &w->mu);
    int failed = barrier && w->failed;
    pthread_mutex_unlock(&w->mu);
    return failed ? -1 : 0;
}

int ingest_writer_wait(ingest_writer *w)
{
    pthread_mutex_lock(&w->mu);
    while (w->pending)
        pthread_cond_wait(&w->cv, &w->mu);
    int failed = w->failed;
    pthread_mutex_unlock(&w->mu);
    return failed ? -1 : 0;
}

void ingest_writer_finish(ingest_writer *w, ingest_counts *out)
{
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    *out = w->counts;
    strata_batch_free(w->spare);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}
