/*
 * wal_reader.c — replay and verification of the write-ahead log
 * (FORMAT.md §3).
 *
 * A record at offset o of a file of size S is intact if and only if
 * o + 24 <= S, its length is at most WAL_MAX_PAYLOAD and o + 24 + len <= S,
 * its type is known, its lsn is the one expected (previous + 1), and the
 * XXH3 of bytes [o, o + 16 + len) equals the 8 bytes that follow.
 *
 * The first record that is not intact ends the scan of a file.  In the last
 * file, it is a torn tail — what a crash in the middle of a write leaves —
 * when no intact record (one with a plausible lsn beyond the expected one
 * and a matching checksum) starts anywhere after it; the tail is then cut
 * off (repair) or ignored.  Anything else is damage: replay stops with
 * STRATA_CORRUPT naming the file and offset, because skipping a record
 * silently would lose acknowledged data.
 *
 * Files are mapped read-only; nothing here writes except the repair
 * truncation.
 */
#include "wal/wal.h"
#include "wal/wal_format.h"
#include "wal/wal_files.h"

#include "engine/alloc.h"
#include "engine/err.h"
#include "engine/os.h"
#include "engine/varint.h"

#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* How far beyond the expected lsn a record found after damage may be and
 * still count as "intact records follow". */
#define LSN_SEARCH_WINDOW (1u << 20)

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int wal_list_files(const char *dir, uint64_t **seqs, size_t *n)
{
    *seqs = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return st_err_os(STRATA_IOERR_OPEN, errno, "cannot open log directory %s", dir);
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        uint64_t seq;
        if (!wal_parse_file_name(e->d_name, &seq))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            uint64_t *s = st_realloc(*seqs, cap * sizeof *s);
            if (!s) {
                closedir(d);
                st_free(*seqs);
                *seqs = NULL;
                return st_err(STRATA_NOMEM, "out of memory listing %s", dir);
            }
            *seqs = s;
        }
        (*seqs)[(*n)++] = seq;
    }
    closedir(d);
    if (*n)
        qsort(*seqs, *n, sizeof **seqs, cmp_u64);
    return STRATA_OK;
}

int wal_parse_file_name(const char *name, uint64_t *seq)
{
    if (strlen(name) != WAL_FILE_NAME_LEN || strcmp(name + 16, WAL_FILE_SUFFIX) != 0)
        return 0;
    uint64_t v = 0;
    for (int i = 0; i < 16; i++) {
        char c = name[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return 0;
        v = v << 4 | (uint64_t)d;
    }
    *seq = v;
    return 1;
}

void wal_file_path(const char *dir, uint64_t seq, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%016llx%s", dir, (unsigned long long)seq, WAL_FILE_SUFFIX);
}

int wal_header_check(const uint8_t *p, size_t size, uint64_t seq, uint64_t *first_lsn,
                     const char **why)
{
    if (size < WAL_HEADER_SIZE) {
        *why = "file shorter than its header";
        return -1;
    }
    if (memcmp(p, WAL_MAGIC, 8) != 0) {
        *why = "bad magic";
        return -1;
    }
    if (XXH3_64bits(p, 32) != load_u64(p + 32)) {
        *why = "header checksum mismatch";
        return -1;
    }
    if (load_u32(p + 8) != WAL_VERSION) {
        *why = "unsupported log format version";
        return -2;
    }
    if (load_u64(p + 16) != seq) {
        *why = "header sequence number differs from the file name";
        return -1;
    }
    *first_lsn = load_u64(p + 24);
    return 0;
}

/* Is there an intact record at p (with lsn > after_lsn, in the window)? */
static int record_intact_at(const uint8_t *base, size_t size, size_t p, uint64_t lsn_lo,
                            uint64_t lsn_hi)
{
    if (size - p < WAL_RECORD_OVERHEAD)
        return 0;
    const uint8_t *r = base + p;
    uint32_t len = load_u32(r);
    uint64_t lsn = load_u64(r + 8);
    if (lsn < lsn_lo || lsn > lsn_hi || len > WAL_MAX_PAYLOAD ||
        (uint64_t)len + WAL_RECORD_OVERHEAD > size - p)
        return 0;
    return XXH3_64bits(r, WAL_RECORD_HEAD + len) == load_u64(r + WAL_RECORD_HEAD + len);
}

/* Why the record at off is not intact (NULL if it is). */
static const char *record_problem(const uint8_t *base, size_t size, size_t off,
                                  uint64_t expect_lsn)
{
    const uint8_t *r = base + off;
    if (size - off < WAL_RECORD_OVERHEAD)
        return "incomplete record header";
    uint32_t len = load_u32(r);
    if (len > WAL_MAX_PAYLOAD)
        return "record length out of range";
    if ((uint64_t)len + WAL_RECORD_OVERHEAD > size - off)
        return "record extends past the end of the file";
    if (XXH3_64bits(r, WAL_RECORD_HEAD + len) != load_u64(r + WAL_RECORD_HEAD + len))
        return "record checksum mismatch";
    if (load_u64(r + 8) != expect_lsn)
        return "record sequence number out of order";
    return NULL;
}

typedef struct scan {
    const char *dir;
    uint64_t from_lsn;
    int repair;
    wal_replay_fn fn;
    void *ctx;
    wal_recovery *rec;
    /* verify mode: report and continue instead of failing */
    void (*report)(void *ctx, const char *msg);
    void *report_ctx;
    long problems;
    uint64_t first_file_lsn; /* first lsn of the first file (0 = none) */
} scan;

static uint64_t first_lsn_of(const scan *s)
{
    return s->first_file_lsn;
}

static int problem(scan *s, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int problem(scan *s, int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    s->problems++;
    if (s->report) {
        s->report(s->report_ctx, msg);
        return STRATA_OK;
    }
    return st_err(code, "%s", msg);
}

/* Scan one mapped file.  *expect is the lsn the next record must have
 * (0 = take it from this file's header).  Returns STRATA_OK, an error, or
 * (verify mode) OK after reporting. */
static int scan_file(scan *s, uint64_t seq, const char *path, int is_last, uint64_t *expect)
{
    int fd = os_open(path, O_RDONLY, 0);
    if (fd < 0)
        return st_err_os(STRATA_IOERR_OPEN, -fd, "cannot open %s", path);
    uint64_t size64;
    int rc = os_fsize(fd, &size64);
    if (rc < 0) {
        os_close(fd);
        return st_err_os(STRATA_IOERR_READ, -rc, "cannot stat %s", path);
    }
    size_t size = (size_t)size64;
    void *map = NULL;
    rc = os_mmap_ro(fd, size, &map);
    os_close(fd);
    if (rc < 0)
        return st_err_os(STRATA_IOERR_MMAP, -rc, "cannot map %s", path);
    const uint8_t *base = map;
    s->rec->bytes += size;
    s->rec->files++;

    uint64_t first_lsn = 0;
    const char *why = NULL;
    size_t cut = SIZE_MAX; /* offset of a torn tail to cut */
    int hc = wal_header_check(base, size, seq, &first_lsn, &why);
    if (hc == -2) {
        uint32_t version = load_u32(base + 8); /* hc == -2 implies a whole header */
        os_munmap(map, size);
        return problem(s, STRATA_VERSION, "%s: %s (version %u)", path, why, version);
    }
    if (hc != 0) {
        /* A crash while creating the last file can leave its header torn;
         * the header is synced before any record is written after it. */
        if (is_last && size <= WAL_HEADER_SIZE) {
            cut = 0;
            goto torn;
        }
        os_munmap(map, size);
        return problem(s, STRATA_CORRUPT_WAL, "%s: damaged file header at offset 0 (%s)", path,
                       why);
    }
    if (*expect != 0 && first_lsn != *expect) {
        os_munmap(map, size);
        return problem(s, STRATA_CORRUPT_WAL,
                       "%s: log starts at record %llu but %llu was expected (records missing)",
                       path, (unsigned long long)first_lsn, (unsigned long long)*expect);
    }
    *expect = first_lsn;
    if (s->rec->files == 1)
        s->first_file_lsn = first_lsn;

    size_t off = WAL_HEADER_SIZE;
    while (off < size) {
        const char *bad = record_problem(base, size, off, *expect);
        if (bad) {
            /* Is anything intact after it? */
            size_t found = 0;
            for (size_t p = off + 1; p + WAL_RECORD_OVERHEAD <= size; p++) {
                if (record_intact_at(base, size, p, *expect, *expect + LSN_SEARCH_WINDOW)) {
                    found = p;
                    break;
                }
            }
            if (!is_last || found) {
                int code = problem(
                    s, STRATA_CORRUPT_WAL, "%s: damaged record at offset %zu (%s)%s", path, off,
                    bad, found ? "; intact records follow it" : " in a completed log file");
                os_munmap(map, size);
                return code;
            }
            cut = off;
            goto torn;
        }
        const uint8_t *r = base + off;
        uint32_t len = load_u32(r);
        if (r[4] != WAL_REC_WRITE && r[4] != WAL_REC_WRITE_KEYED) {
            /* intact, but of a kind this build does not know: written by a
             * newer version; skipping it would lose data */
            int code = problem(s, STRATA_VERSION,
                               "%s: record of unknown type %u at offset %zu (written by a newer "
                               "version?)",
                               path, r[4], off);
            os_munmap(map, size);
            return code;
        }
        s->rec->records++;
        if (*expect >= s->from_lsn && s->fn) {
            rc = s->fn(s->ctx, *expect, r[4], r + WAL_RECORD_HEAD, len);
            if (rc != STRATA_OK) {
                st_err_prefix("%s: record at offset %zu", path, off);
                os_munmap(map, size);
                return rc;
            }
            s->rec->replayed++;
        }
        (*expect)++;
        off += WAL_RECORD_OVERHEAD + len;
    }
    os_munmap(map, size);
    return STRATA_OK;

torn:
    os_munmap(map, size);
    s->rec->torn_bytes = size - cut;
    snprintf(s->rec->torn_where, sizeof s->rec->torn_where, "%s at offset %zu", path, cut);
    if (s->report) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s: torn tail of %zu bytes at offset %zu (a crash during a "
                 "write; cut off on the next open)", path, size - cut, cut);
        s->report(s->report_ctx, msg);
        return STRATA_OK;
    }
    if (s->repair) {
        if (cut == 0) {
            rc = os_unlink(path);
            if (rc < 0)
                return st_err_os(STRATA_IOERR_DELETE, -rc, "cannot remove torn log file %s", path);
            rc = os_fsync_dir(s->dir);
            if (rc < 0)
                return st_err_os(STRATA_IOERR_FSYNC, -rc, "cannot sync %s", s->dir);
        } else {
            fd = os_open(path, O_WRONLY, 0);
            if (fd < 0)
                return st_err_os(STRATA_IOERR_OPEN, -fd, "cannot open %s", path);
            rc = os_ftruncate(fd, cut);
            if (rc == 0)
                rc = os_fsync(fd);
            os_close(fd);
            if (rc < 0)
                return st_err_os(STRATA_IOERR_TRUNCATE, -rc, "cannot cut torn tail of %s", path);
        }
    }
    if (cut == 0)
        *expect = *expect ? *expect : s->from_lsn;
    return STRATA_OK;
}

static int scan_all(scan *s)
{
    uint64_t *seqs;
    size_t n;
    int rc = wal_list_files(s->dir, &seqs, &n);
    if (rc != STRATA_OK)
        return rc;
    uint64_t expect = 0;
    for (size_t i = 0; i < n && rc == STRATA_OK; i++) {
        char path[4096];
        wal_file_path(s->dir, seqs[i], path, sizeof path);
        if (i == 0 || s->report == NULL) {
            rc = scan_file(s, seqs[i], path, i + 1 == n, &expect);
        } else {
            /* verify: a problem in one file must not hide the next ones */
            uint64_t e = expect;
            long before = s->problems;
            rc = scan_file(s, seqs[i], path, i + 1 == n, &e);
            expect = s->problems > before ? 0 : e;
        }
        if (i == 0 && rc == STRATA_OK && s->from_lsn != 0 && s->rec->files == 1 &&
            first_lsn_of(s) > s->from_lsn) {
            rc = problem(s, STRATA_CORRUPT_WAL,
                         "%s: log starts at record %llu but the segments end at record %llu "
                         "(records missing)",
                         path, (unsigned long long)first_lsn_of(s),
                         (unsigned long long)s->from_lsn);
        }
    }
    s->rec->next_lsn = expect > s->from_lsn ? expect : s->from_lsn;
    s->rec->next_seq = n ? seqs[n - 1] + 1 : 1;
    st_free(seqs);
    return rc;
}

int wal_replay(const char *dir, uint64_t from_lsn, int repair, wal_replay_fn fn, void *ctx,
               wal_recovery *rec)
{
    memset(rec, 0, sizeof *rec);
    scan s = {.dir = dir, .from_lsn = from_lsn, .repair = repair, .fn = fn, .ctx = ctx, .rec = rec};
    return scan_all(&s);
}

long wal_verify(const char *dir, void (*report)(void *ctx, const char *msg), void *ctx)
{
    wal_recovery rec;
    memset(&rec, 0, sizeof rec);
    scan s = {.dir = dir, .rec = &rec, .report = report, .report_ctx = ctx};
    int rc = scan_all(&s);
    if (rc != STRATA_OK) {
        report(ctx, st_errmsg());
        return s.problems + 1;
    }
    return s.problems;
}
