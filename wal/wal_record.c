/*
 * wal_record.c — decoding WAL_REC_WRITE payloads (see wal_record.h).
 * and the key prefix of WAL_REC_WRITE_KEYED payloads.
 * Every read is bounds-checked: a payload that passed its checksum but is
 * malformed (a bug, or a newer writer) is STRATA_CORRUPT_WAL, never a
 * crash.
 */
#include "wal/wal_record.h"

#include "engine/err.h"

int wrec_decode(catalog *c, const uint8_t *p, size_t len, wrec_sample_fn fn, void *ctx)
{
    const uint8_t *end = p + len;
    int rc = catalog_apply_defs(c, &p, end);
    if (rc != STRATA_OK)
        return rc;
    uint64_t n;
    if (get_varint(&p, end, &n))
        return st_err(STRATA_CORRUPT_WAL, "malformed write record: no sample count");
    uint32_t nseries = catalog_series_count(c);
    int64_t sid = 0;
    uint64_t ts = 0;
    for (uint64_t i = 0; i < n; i++) {
        int64_t dsid, dts;
        if (get_svarint(&p, end, &dsid) || get_svarint(&p, end, &dts))
            return st_err(STRATA_CORRUPT_WAL, "malformed write record: sample %llu truncated",
                          (unsigned long long)i);
        sid += dsid;
        ts += (uint64_t)dts;
        if (sid < 0 || sid >= (int64_t)nseries)
            return st_err(STRATA_CORRUPT_WAL, "write record names unknown series %lld",
                          (long long)sid);
        uint8_t type = catalog_series_type_locked(c, (uint32_t)sid);
        uint64_t bits;
        if (type == STRATA_BOOL) {
            uint8_t b;
            if (get_u8(&p, end, &b) || b > 1)
                return st_err(STRATA_CORRUPT_WAL, "malformed write record: bad bool value");
            bits = b;
        } else if (get_u64(&p, end, &bits)) {
            return st_err(STRATA_CORRUPT_WAL, "malformed write record: sample %llu truncated",
                          (unsigned long long)i);
        }
        rc = fn(ctx, (uint32_t)sid, type, (int64_t)ts, bits);
        if (rc != STRATA_OK)
            return rc;
    }
    if (p != end)
        return st_err(STRATA_CORRUPT_WAL, "malformed write record: trailing bytes");
    return STRATA_OK;
}

int wrec_split_keyed(const uint8_t *p, size_t len, int64_t *arrival_ns, const uint8_t **key,
                     uint8_t *keylen, const uint8_t **rest, size_t *rest_len)
{
    const uint8_t *end = p + len;
    uint64_t arrival;
    uint8_t kl;
    if (get_u64(&p, end, &arrival) || get_u8(&p, end, &kl))
        return st_err(STRATA_CORRUPT_WAL, "malformed keyed write record: truncated key prefix");
    if (kl == 0 || (size_t)(end - p) < kl)
        return st_err(STRATA_CORRUPT_WAL, "malformed keyed write record: key length %u %s", kl,
                      kl == 0 ? "(keys are 1 to 255 bytes)" : "runs past the record");
    *arrival_ns = (int64_t)arrival;
    *key = p;
    *keylen = kl;
    *rest = p + kl;
    *rest_len = (size_t)(end - (p + kl));
    return STRATA_OK;
}
