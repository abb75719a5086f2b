/*
 * idem_file.c — the `idemkeys` file: the batch keys still inside the
 * retransmission window whose log records were trimmed (FORMAT.md §3.8).
 *
 *   file   := header entry* trailer
 *   header := magic[8]="STRATAIK" u32 version=1 u32 flags=0 u64 upto_lsn
 *             u64 count u64 xxh3(bytes 0..31)              (40 bytes)
 *   entry  := i64 arrival_ns u8 len (1..255) bytes[len] key
 *   trailer:= u64 xxh3(every entry byte)
 *
 * The file is only ever replaced whole: written to `idemkeys.tmp`,
 * fsynced, renamed over `idemkeys`, and the directory fsynced.  A crash
 * leaves the old file or the new one, and maybe a stale .tmp that the next
 * write truncates.  Reading checks everything before trusting a byte;
 * damage is STRATA_CORRUPT_KEYS naming the file and offset — never
 * skipped, since forgetting keys would apply retransmissions twice.
 */
#include "engine/idem.h"
#include "engine/idem_format.h"

#include "engine/err.h"
#include "engine/os.h"
#include "engine/varint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <xxhash.h>

int idemf_put_entry(buf *b, int64_t arrival, const uint8_t *key, uint8_t len)
{
    if (buf_reserve(b, 9 + (size_t)len))
        return -1;
    uint8_t *p = buf_cursor(b);
    put_u64(&p, (uint64_t)arrival);
    put_u8(&p, len);
    memcpy(p, key, len);
    buf_commit(b, p + len);
    return 0;
}

int idemf_write(const char *dir, const char *path, uint64_t upto_lsn, const uint8_t *entries,
                size_t entries_len, uint64_t count)
{
    uint8_t head[IDEMF_HEADER_SIZE], tail[IDEMF_TRAILER_SIZE];
    uint8_t *p = head;
    memcpy(p, IDEMF_MAGIC, 8);
    p += 8;
    put_u32(&p, IDEMF_VERSION);
    put_u32(&p, 0);
    put_u64(&p, upto_lsn);
    put_u64(&p, count);
    put_u64(&p, XXH3_64bits(head, 32));
    p = tail;
    put_u64(&p, XXH3_64bits(entries, entries_len));

    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = os_open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return st_err_os(STRATA_IOERR_OPEN, -fd, "cannot create %s", tmp);
    int e = os_write_all(fd, head, sizeof head);
    if (e == 0 && entries_len)
        e = os_write_all(fd, entries, entries_len);
    if (e == 0)
        e = os_write_all(fd, tail, sizeof tail);
    if (e < 0) {
        os_close(fd);
        return st_err_os(STRATA_IOERR_WRITE, -e, "cannot write %s", tmp);
    }
    e = os_fsync(fd);
    os_close(fd);
    if (e < 0)
        return st_err_os(STRATA_IOERR_FSYNC, -e, "cannot sync %s", tmp);
    e = os_rename(tmp, path);
    if (e < 0)
        return st_err_os(STRATA_IOERR_RENAME, -e, "cannot rename %s to %s", tmp, path);
    e = os_fsync_dir(dir);
    if (e < 0)
        return st_err_os(STRATA_IOERR_FSYNC, -e, "cannot sync %s", dir);
    return STRATA_OK;
}

int idemf_read(const char *path, idemf_entry_fn fn, void *ctx, uint64_t *upto_lsn)
{
    uint8_t *data;
    size_t size;
    int e = os_read_file(path, &data, &size);
    if (e == -ENOENT)
        return st_err(STRATA_NOTFOUND, "no %s", path);
    if (e == -ENOMEM)
        return st_err(STRATA_NOMEM, "out of memory reading %s", path);
    if (e < 0)
        return st_err_os(STRATA_IOERR_READ, -e, "cannot read %s", path);
    const char *hint = "; moving the file away opens the database without its retransmission "
                       "window";
    int rc = STRATA_OK;
    if (size < IDEMF_HEADER_SIZE + IDEMF_TRAILER_SIZE) {
        rc = st_err(STRATA_CORRUPT_KEYS,
                    "%s: %zu bytes at offset 0, shorter than header and "
                    "trailer (48 bytes)%s",
                    path, size, hint);
        goto out;
    }
    if (memcmp(data, IDEMF_MAGIC, 8) != 0) {
        rc = st_err(STRATA_CORRUPT_KEYS, "%s: bad magic at offset 0%s", path, hint);
        goto out;
    }
    if (XXH3_64bits(data, 32) != load_u64(data + 32)) {
        rc = st_err(STRATA_CORRUPT_KEYS, "%s: header checksum mismatch at offset 32%s", path, hint);
        goto out;
    }
    uint32_t version = load_u32(data + 8);
    if (version != IDEMF_VERSION) {
        rc = st_err(STRATA_VERSION,
                    "%s: keys file version %u at offset 8; this build reads "
                    "version %u",
                    path, version, IDEMF_VERSION);
        goto out;
    }
    *upto_lsn = load_u64(data + 16);
    uint64_t count = load_u64(data + 24);
    size_t end = size - IDEMF_TRAILER_SIZE;
    if (XXH3_64bits(data + IDEMF_HEADER_SIZE, end - IDEMF_HEADER_SIZE) != load_u64(data + end)) {
        rc = st_err(STRATA_CORRUPT_KEYS,
                    "%s: the keys at offsets %u..%zu do not match the "
                    "checksum at offset %zu%s",
                    path, IDEMF_HEADER_SIZE, end, end, hint);
        goto out;
    }
    size_t off = IDEMF_HEADER_SIZE;
    uint64_t i = 0;
    for (; i < count && rc == STRATA_OK; i++) {
        if (end - off < 9) {
            rc = st_err(STRATA_CORRUPT_KEYS, "%s: key %llu at offset %zu is truncated%s", path,
                        (unsigned long long)i, off, hint);
            break;
        }
        int64_t arrival = (int64_t)load_u64(data + off);
        uint8_t len = data[off + 8];
        if (len == 0 || end - off - 9 < len) {
            rc = st_err(STRATA_CORRUPT_KEYS, "%s: key %llu at offset %zu has %s length %u%s", path,
                        (unsigned long long)i, off, len ? "an overlong" : "a zero", len, hint);
            break;
        }
        rc = fn(ctx, arrival, data + off + 9, len);
        off += 9 + (size_t)len;
    }
    if (rc == STRATA_OK && off != end)
        rc = st_err(STRATA_CORRUPT_KEYS,
                    "%s: %zu bytes at offset %zu after the %llu keys the "
                    "header counts%s",
                    path, end - off, off, (unsigned long long)count, hint);
out:
    st_free(data);
    return rc;
}
