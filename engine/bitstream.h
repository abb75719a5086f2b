/*
 * bitstream.h — MSB-first bit writer and reader shared by the bit-packed
 * codecs (FORMAT.md §6).
 *
 * Bit order: the first bit written is the most significant bit of the first
 * byte; a k-bit field is written most significant bit first; the last,
 * partial byte is padded with zero bits.  A stream of B bits therefore
 * occupies exactly ceil(B/8) bytes.
 *
 * Writer: bits collect in a 64-bit accumulator and leave it as whole
 * big-endian 8-byte words, then bitw_finish() writes only the bytes that
 * hold bits.  It never writes a byte past ceil(B/8), so a codec's bound is
 * the exact worst-case size.  The caller guarantees that room.
 *
 * Reader: keeps a bit position.  bitr_peek() returns the 64 bits starting at
 * that position (at least 57 of them real) with one unaligned big-endian
 * load while 8 bytes remain; bitr_peek64() adds the next byte for a full 64.
 * Near the end both assemble the bytes one by one, with zero bits past the
 * end, so the reader never reads outside [buf, buf+len).  Running past the
 * end is not an error at the moment it happens: the zeros are decoded like
 * any bits and bitr_done() rejects the stream afterwards, which keeps bounds
 * checks out of the hot loops.  Decoders are bounded by their value count,
 * so the position cannot run away.
 */
#ifndef STRATA_BITSTREAM_H
#define STRATA_BITSTREAM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define BIT_LIKELY(x) __builtin_expect(!!(x), 1)
#define BIT_UNLIKELY(x) __builtin_expect(!!(x), 0)

static inline uint64_t be64_load(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static inline void be64_store(uint8_t *p, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    memcpy(p, &v, 8);
}

/* Number of significant bits of v: 0 for 0, 64 for values >= 2^63. */
static inline unsigned bit_width(uint64_t v)
{
    return v ? 64u - (unsigned)__builtin_clzll(v) : 0u;
}

typedef struct bitw {
    uint8_t *start;
    uint8_t *p;   /* where the next whole word goes */
    uint64_t acc; /* pending bits, most significant first */
    unsigned n;   /* number of pending bits, 0..63 */
} bitw;

static inline void bitw_init(bitw *w, uint8_t *out)
{
    w->start = out;
    w->p = out;
    w->acc = 0;
    w->n = 0;
}

/* Append the k low bits of v, 1 <= k <= 64; bits of v above k must be 0. */
static inline void bitw_put(bitw *w, uint64_t v, unsigned k)
{
    unsigned room = 64 - w->n; /* 1..64 */
    if (BIT_LIKELY(k < room)) {
        w->acc |= v << (room - k);
        w->n += k;
        return;
    }
    unsigned spill = k - room; /* 0..63 bits that do not fit */
    be64_store(w->p, w->acc | (v >> spill));
    w->p += 8;
    w->acc = (v << (63 - spill)) << 1; /* v << (64 - spill), 0 when spill == 0 */
    w->n = spill;
}

/* Flush the partial word (zero-padded to a byte); returns the stream's
 * total length in bytes. */
static inline size_t bitw_finish(bitw *w)
{
    for (unsigned i = 0; i < w->n; i += 8)
        *w->p++ = (uint8_t)(w->acc >> (56 - i));
    w->acc = 0;
    w->n = 0;
    return (size_t)(w->p - w->start);
}

typedef struct bitr {
    const uint8_t *buf;
    size_t len;
    size_t fast;  /* 8 bytes can be loaded at byte offsets below this */
    size_t fast9; /* 9 bytes can be loaded at byte offsets below this */
    size_t pos;   /* bit position of the next bit */
} bitr;

static inline void bitr_init(bitr *r, const uint8_t *buf, size_t len)
{
    r->buf = buf;
    r->len = len;
    r->fast = len >= 8 ? len - 7 : 0;
    r->fast9 = len >= 9 ? len - 8 : 0;
    r->pos = 0;
}

/* The nine bytes at byte offset b, zero past the end of the buffer, as a
 * word and the byte after it. */
static __attribute__((noinline, cold, unused)) uint64_t
bitr_load_tail(const uint8_t *buf, size_t len, size_t b, uint64_t *next)
{
    uint8_t t[9];
    for (size_t i = 0; i < 9; i++)
        t[i] = b < len && i < len - b ? buf[b + i] : 0;
    *next = t[8];
    return be64_load(t);
}

/* The 64 bits from the current position, first bit in the MSB.  The top
 * 64 - pos % 8 >= 57 are stream bits (or zeros past the end), the rest are
 * zero.  One load on the fast path. */
static inline uint64_t bitr_peek(const bitr *r)
{
    size_t b = r->pos >> 3;
    uint64_t next, v;
    if (BIT_LIKELY(b < r->fast))
        v = be64_load(r->buf + b);
    else
        v = bitr_load_tail(r->buf, r->len, b, &next);
    return v << (r->pos & 7);
}

/* As bitr_peek(), but all 64 bits are stream bits (or zeros past the end):
 * the word plus the byte after it. */
static inline uint64_t bitr_peek64(const bitr *r)
{
    size_t b = r->pos >> 3;
    unsigned s = r->pos & 7;
    uint64_t next, v;
    if (BIT_LIKELY(b < r->fast9)) {
        v = be64_load(r->buf + b);
        next = r->buf[b + 8];
    } else {
        v = bitr_load_tail(r->buf, r->len, b, &next);
    }
    return (v << s) | (next >> (8 - s)); /* next >> 8 is 0 when s == 0 */
}

static inline void bitr_skip(bitr *r, unsigned k)
{
    r->pos += k;
}

/* Read a k-bit field, 1 <= k <= 57. */
static inline uint64_t bitr_get(bitr *r, unsigned k)
{
    uint64_t v = bitr_peek(r) >> (64 - k);
    r->pos += k;
    return v;
}

/* Read a k-bit field, 1 <= k <= 64. */
static inline uint64_t bitr_get64(bitr *r, unsigned k)
{
    uint64_t v = (BIT_LIKELY(k <= 57) ? bitr_peek(r) : bitr_peek64(r)) >> (64 - k);
    r->pos += k;
    return v;
}

/* 0 when the bits read so far are exactly the buffer: they did not run
 * past its end and no whole byte follows the last one read. */
static inline int bitr_done(const bitr *r)
{
    return (r->pos + 7) / 8 == r->len ? 0 : -1;
}

#endif
