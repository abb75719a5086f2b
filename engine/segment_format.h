/*
 * segment_format.h — on-disk constants of segment files.
 * See FORMAT.md §5 (segment files) and §6 (codecs).  Version 2 changed the
 * chunk entries of the index (§5.4) and added codecs; §9.7 lists the
 * history.
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
#define SEG_VERSION 2u    /* written; version 1 files are still read */
#define SEG_VERSION_V1 1u
#define SEG_HEADER_SIZE 64u
#define SEG_FOOTER_SIZE 80u
#define SEG_TABLE_ENTRY 24u /* u64 sid, u64 data_off, u32 list_off, u32 nchunks */

/* Chunk statistics flags */
#define SEG_STAT_SUM_OVERFLOW 1u /* int64 sum wrapped: decode to aggregate */

/* Version-2 chunk entry flags (FORMAT.md §5.4). */
#define SEG_E_SAME_COUNT 0x01u  /* count omitted: the previous entry's */
#define SEG_E_SAME_SPAN 0x02u   /* span omitted: the previous entry's */
#define SEG_E_NO_TS 0x04u       /* ts_len omitted: 0 */
#define SEG_E_SAME_CODECS 0x08u /* codecs omitted: the previous entry's */
#define SEG_E_LZ4 0x10u         /* zlen present: the stored bytes are LZ4 */
#define SEG_E_F64_NO_NAN 0x20u  /* float64: nan_count omitted: 0 */
#define SEG_E_F64_FORM_SHIFT 6  /* float64 statistics: bits 6-7 */
#define SEG_E_F64_RAW 0u        /*   five raw f64 words */
#define SEG_E_F64_DEC_SAME 1u   /*   decimal, the previous entry's exponent */
#define SEG_E_F64_DEC 2u        /*   decimal, exponent byte first */
#define SEG_E_I64_OVERFLOW 0x20u
#define SEG_E_BOOL_FIRST 0x20u
#define SEG_E_BOOL_LAST 0x40u
#define SEG_DEC_MAX_E 14                 /* largest exponent of decimal statistics */
#define SEG_DEC_LIMIT 9007199254740992LL /* 2^53: |N| of a decimal statistic stays below */

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

/* A decimal statistic (§5.4): the float64 bits of N / 10^e, correctly
 * rounded (|N| < 2^53, so the conversion and 10^e, e <= 14, are exact). */
static inline uint64_t seg_dec_value(int64_t n, unsigned e)
{
    static const double p10[SEG_DEC_MAX_E + 1] = {
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14};
    double d = (double)n / p10[e];
    uint64_t u;
    __builtin_memcpy(&u, &d, 8);
    return u;
}

#endif
