/*
 * segment_format.h — on-disk constants of segment files.
 * See FORMAT.md §5 (segment files) and §6 (codecs).
 *
 *   file   := header chunk-data index footer
 *   header := "STRATASG" u32 version u32 flags u64 segment_id
 *             i64 partition_start i64 partition_end u64[2] reserved
 *             u64 xxh3(bytes 0..55)                              (64 bytes)
 *   index  := series-chunk-lists series-table
 *   footer := u64 index_off u64 index_len u64 nchunks u64 npoints
 *             i64 t_min i64 t_max u32 nseries u8 time_exp u8[3] 0
 *             u64 xxh3(index) u64 xxh3(bytes 0..63) "STRATASG"   (80 bytes)
 */
#ifndef STRATA_SEGMENT_FORMAT_H
#define STRATA_SEGMENT_FORMAT_H

#include <stdint.h>

#define SEG_MAGIC "STRATASG"
#define SEG_VERSION 1u
#define SEG_HEADER_SIZE 64u
#define SEG_FOOTER_SIZE 80u
#define SEG_TABLE_ENTRY 24u /* u64 sid, u64 data_off, u32 list_off, u32 nchunks */

/* Chunk statistics flags */
#define SEG_STAT_SUM_OVERFLOW 1u /* int64 sum wrapped: decode to aggregate */

/* Chunking: at most this many points per chunk; chunks are cut on a time
 * grid chosen per series so that a chunk holds about SEG_CHUNK_TARGET
 * points (see chunk.c). */
#define SEG_CHUNK_MAX 8192u
#define SEG_CHUNK_TARGET 256u

/* Index timestamps are in units of 10^time_exp ns (time_exp 0..9). */
#define SEG_MAX_TIME_EXP 9
static inline int64_t seg_time_unit(int exp)
{
    static const int64_t units[SEG_MAX_TIME_EXP + 1] = {
        1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000};
    return units[exp];
}

#endif
