/*
 * wal_format.h — on-disk constants of the write-ahead log.
 * See FORMAT.md §3 (WAL segment files and records).  Type tags are never
 * reused: a new kind of record gets the next number.
 *
 *   file   := header record*
 *   header := magic[8]="STRATAWL" u32 version u32 flags u64 seq u64 first_lsn
 *             u64 xxh3(bytes 0..31)
 *   record := u32 len u8 type u8 flags u16 reserved u64 lsn payload[len]
 *             u64 xxh3(bytes from `len` through the payload)
 */
#ifndef STRATA_WAL_FORMAT_H
#define STRATA_WAL_FORMAT_H

#define WAL_MAGIC "STRATAWL"
#define WAL_VERSION 1u
#define WAL_HEADER_SIZE 40u
#define WAL_RECORD_HEAD 16u   /* len, type, flags, reserved, lsn */
#define WAL_RECORD_TRAILER 8u /* xxh3 */
#define WAL_RECORD_OVERHEAD (WAL_RECORD_HEAD + WAL_RECORD_TRAILER)
#define WAL_MAX_PAYLOAD (256u << 20) /* larger batches are refused */
#define WAL_SEGMENT_TARGET (64u << 20) /* start a new file beyond this */

#define WAL_REC_WRITE 1       /* payload: wal_record.h */
#define WAL_REC_WRITE_KEYED 2 /* a key prefix, then a WRITE payload (FORMAT.md §3.7) */

#define WAL_FILE_SUFFIX ".wal"
#define WAL_FILE_NAME_LEN 20 /* 16 hex digits + ".wal" */

#endif
