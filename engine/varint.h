/*
 * varint.h — little-endian fixed-width and LEB128 variable-width integers,
 * as defined once in FORMAT.md §1 (Conventions).
 *
 * Writers take a cursor `uint8_t **p` and advance it; the caller guarantees
 * room (VARINT_MAX bytes per varint).  Readers are bounds-checked: they take
 * the end of the buffer and return 0 on success, -1 when the input ends
 * early or a varint is longer than 10 bytes — corrupt input never reads
 * past `end`.
 */
#ifndef STRATA_VARINT_H
#define STRATA_VARINT_H

#include <stdint.h>
#include <string.h>

#define VARINT_MAX 10

static inline uint64_t zigzag_enc(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t zigzag_dec(uint64_t u)
{
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

static inline void put_u8(uint8_t **p, uint8_t v)
{
    *(*p)++ = v;
}

static inline void put_u16(uint8_t **p, uint16_t v)
{
    (*p)[0] = (uint8_t)v;
    (*p)[1] = (uint8_t)(v >> 8);
    *p += 2;
}

/* One store each on little-endian hosts (gcc does not merge the byte
 * stores of a shift loop). */
static inline void put_u32(uint8_t **p, uint32_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    memcpy(*p, &v, 4);
    *p += 4;
}

static inline void put_u64(uint8_t **p, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    memcpy(*p, &v, 8);
    *p += 8;
}

static inline void put_varint(uint8_t **p, uint64_t v)
{
    uint8_t *q = *p;
    while (v >= 0x80) {
        *q++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *q++ = (uint8_t)v;
    *p = q;
}

static inline void put_svarint(uint8_t **p, int64_t v)
{
    put_varint(p, zigzag_enc(v));
}

static inline int varint_len(uint64_t v)
{
    int n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static inline uint16_t load_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t load_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static inline uint64_t load_u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static inline void store_u32(uint8_t *p, uint32_t v)
{
    put_u32(&p, v);
}

static inline void store_u64(uint8_t *p, uint64_t v)
{
    put_u64(&p, v);
}

static inline int get_u8(const uint8_t **p, const uint8_t *end, uint8_t *v)
{
    if (end - *p < 1)
        return -1;
    *v = *(*p)++;
    return 0;
}

static inline int get_u32(const uint8_t **p, const uint8_t *end, uint32_t *v)
{
    if (end - *p < 4)
        return -1;
    *v = load_u32(*p);
    *p += 4;
    return 0;
}

static inline int get_u64(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    if (end - *p < 8)
        return -1;
    *v = load_u64(*p);
    *p += 8;
    return 0;
}

static inline int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    const uint8_t *q = *p;
    uint64_t r = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (q >= end)
            return -1;
        uint8_t b = *q++;
        if (shift == 63 && b > 1)
            return -1; /* would overflow 64 bits */
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *p = q;
            *v = r;
            return 0;
        }
    }
    return -1;
}

static inline int get_svarint(const uint8_t **p, const uint8_t *end, int64_t *v)
{
    uint64_t u;
    if (get_varint(p, end, &u))
        return -1;
    *v = zigzag_dec(u);
    return 0;
}

static inline int get_bytes(const uint8_t **p, const uint8_t *end, size_t n, const uint8_t **out)
{
    if ((size_t)(end - *p) < n)
        return -1;
    *out = *p;
    *p += n;
    return 0;
}

#endif
