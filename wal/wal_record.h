/*
 * wal_record.h — the payload of a WAL_REC_WRITE log record: one atomic
 * write batch (FORMAT.md §3.3); and of WAL_REC_WRITE_KEYED, the same
 * preceded by the batch's idempotency key (FORMAT.md §3.7):
 *
 *   keyed   := arrival_ns:i64 keylen:u8 key[keylen] payload
 *
 * where arrival_ns is the wall-clock time the batch was applied and
 * keylen is 1..WREC_MAX_KEY.
 *
 *   payload := defs nsamples:varint sample*
 *   defs    := the catalog's definition encoding (FORMAT.md §4.2) of the
 *              tag sets and series this batch created
 *   sample  := svarint(sid - previous sid) svarint(ts - previous ts) value
 *   value   := 8 bytes little-endian (float64 bits, int64) | 1 byte (bool)
 *
 * The first sample's "previous" values are 0.  A sample's type comes from
 * its series' definition (in this record or earlier).
 */
#ifndef STRATA_WAL_RECORD_H
#define STRATA_WAL_RECORD_H

#include "engine/catalog.h"
#include "engine/varint.h"
#include "strata.h"

#include <stddef.h>
#include <stdint.h>

#define WREC_SAMPLE_MAX (2 * VARINT_MAX + 8)
#define WREC_MAX_KEY 255 /* = STRATA_MAX_BATCH_KEY */
#define WREC_KEY_PREFIX_MAX (8 + 1 + WREC_MAX_KEY)

typedef struct wrec_enc {
    uint32_t prev_sid;
    int64_t prev_ts;
} wrec_enc;

static inline void wrec_put_sample(uint8_t **p, wrec_enc *e, uint32_t sid, uint8_t type,
                                   int64_t ts, uint64_t bits)
{
    put_svarint(p, (int64_t)sid - (int64_t)e->prev_sid);
    put_svarint(p, (int64_t)((uint64_t)ts - (uint64_t)e->prev_ts));
    if (type == STRATA_BOOL)
        put_u8(p, (uint8_t)(bits & 1));
    else
        put_u64(p, bits);
    e->prev_sid = sid;
    e->prev_ts = ts;
}

typedef int (*wrec_sample_fn)(void *ctx, uint32_t sid, uint8_t type, int64_t ts, uint64_t bits);

/* Apply the record's definitions to c, then call fn for every sample.
 * STRATA_CORRUPT_WAL when the payload is malformed. */
int wrec_decode(catalog *c, const uint8_t *payload, size_t len, wrec_sample_fn fn, void *ctx);

/* Write the prefix of a WRITE_KEYED payload (p has room for
 * WREC_KEY_PREFIX_MAX bytes). */
static inline void wrec_put_key_prefix(uint8_t **p, int64_t arrival_ns, const uint8_t *key,
                                       uint8_t keylen)
{
    put_u64(p, (uint64_t)arrival_ns);
    put_u8(p, keylen);
    for (uint8_t i = 0; i < keylen; i++)
        put_u8(p, key[i]);
}

/* Split a WRITE_KEYED payload into its key and the WRITE payload after
 * it.  STRATA_CORRUPT_WAL when the prefix is malformed. */
int wrec_split_keyed(const uint8_t *payload, size_t len, int64_t *arrival_ns /* OUT */,
                     const uint8_t **key /* OUT */, uint8_t *keylen /* OUT */,
                     const uint8_t **rest /* OUT */, size_t *rest_len /* OUT */);

#endif
