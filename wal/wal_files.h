/*
 * wal_files.h — naming and headers of log files, shared by the log's
 * reader and writer (FORMAT.md §3).  Files are `<16 hex digits>.wal`, the
 * digits being the file's sequence number.
 */
#ifndef STRATA_WAL_FILES_H
#define STRATA_WAL_FILES_H

#include <stddef.h>
#include <stdint.h>

/* The sequence numbers of the log files in dir, ascending (st_malloc'd). */
int wal_list_files(const char *dir, uint64_t **seqs /* OUT */, size_t *n /* OUT */);
/* 1 and *seq set if name is a log file name. */
int wal_parse_file_name(const char *name, uint64_t *seq /* OUT */);
void wal_file_path(const char *dir, uint64_t seq, char *out, size_t cap);
/* 0 if the header is intact (sets *first_lsn), -1 damaged, -2 unknown
 * version; *why says what is wrong. */
int wal_header_check(const uint8_t *p, size_t size, uint64_t seq, uint64_t *first_lsn /* OUT */,
                     const char **why /* OUT */);

#endif
