/*
 * err.c — per-thread last-error state and the static code descriptions.
 */
#include "engine/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ERRMSG_MAX 1024

static __thread int last_code;
static __thread char last_msg[ERRMSG_MAX];

static int set_v(int code, const char *fmt, va_list ap)
{
    last_code = code;
    vsnprintf(last_msg, sizeof last_msg, fmt, ap);
    return code & 0xff;
}

int st_err(int ext_code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = set_v(ext_code, fmt, ap);
    va_end(ap);
    return rc;
}

int st_err_os(int ext_code, int err_no, const char *fmt, ...)
{
    if (err_no == ENOSPC || err_no == EDQUOT)
        ext_code = STRATA_FULL_DISK;
    else if (err_no == EACCES || err_no == EPERM || err_no == EROFS)
        ext_code = STRATA_DENIED;
    else if (err_no == ENOMEM)
        ext_code = STRATA_NOMEM;
    va_list ap;
    va_start(ap, fmt);
    int rc = set_v(ext_code, fmt, ap);
    va_end(ap);
    size_t len = strlen(last_msg);
    snprintf(last_msg + len, sizeof last_msg - len, ": %s", strerror(err_no));
    return rc;
}

void st_err_prefix(const char *fmt, ...)
{
    char prefix[ERRMSG_MAX], old[ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, last_msg, sizeof old);
    snprintf(last_msg, sizeof last_msg, "%s: %s", prefix, old);
}

const char *st_errmsg(void)
{
    return last_code == STRATA_OK && last_msg[0] == '\0' ? "not an error" : last_msg;
}

int st_errcode(void)
{
    return last_code;
}

const char *strata_errmsg(const strata_db *db)
{
    (void)db;
    return st_errmsg();
}

int strata_extended_errcode(const strata_db *db)
{
    (void)db;
    return last_code;
}

const char *strata_errstr(int rc)
{
    switch (rc) {
    case STRATA_OK: return "not an error";
    case STRATA_ERROR_PARSE: return "malformed input text";
    case STRATA_ERROR_TYPE: return "field type conflicts with the stored series";
    case STRATA_ERROR_INPUT: return "invalid name or value";
    case STRATA_ERROR_LATE: return "a point is older than the maximum lateness allows";
    case STRATA_IOERR_OPEN: return "cannot open a file";
    case STRATA_IOERR_READ: return "read error";
    case STRATA_IOERR_WRITE: return "write error";
    case STRATA_IOERR_FSYNC: return "fsync failed";
    case STRATA_IOERR_RENAME: return "rename failed";
    case STRATA_IOERR_MMAP: return "cannot map a file";
    case STRATA_IOERR_DELETE: return "cannot delete a file";
    case STRATA_IOERR_TRUNCATE: return "cannot truncate a file";
    case STRATA_CORRUPT_WAL: return "the write-ahead log is damaged";
    case STRATA_CORRUPT_SEGMENT: return "a segment file is damaged";
    case STRATA_CORRUPT_CATALOG: return "the catalog is damaged";
    case STRATA_CORRUPT_MANIFEST: return "the manifest is damaged";
    case STRATA_CORRUPT_KEYS: return "the batch keys file is damaged";
    case STRATA_FULL_DISK: return "no space left on the device";
    case STRATA_FULL_BATCH: return "the batch is too large";
    case STRATA_FULL_SERIES: return "too many series";
    case STRATA_BUSY_LOCKED: return "the database is locked by another process";
    case STRATA_MISUSE_READONLY: return "the database is open read-only";
    case STRATA_MISUSE_CLOSED: return "the database handle failed earlier and accepts no writes";
    default: break;
    }
    switch (rc & 0xff) {
    case STRATA_ERROR: return "error";
    case STRATA_NOMEM: return "out of memory";
    case STRATA_IOERR: return "I/O error";
    case STRATA_CORRUPT: return "data is corrupt";
    case STRATA_NOTFOUND: return "not found";
    case STRATA_FULL: return "a limit was reached";
    case STRATA_BUSY: return "busy";
    case STRATA_MISUSE: return "API misuse";
    case STRATA_DENIED: return "permission denied";
    case STRATA_VERSION: return "unsupported format version";
    case STRATA_ROW: return "a row is ready";
    case STRATA_DONE: return "no more rows";
    default: return "unknown result code";
    }
}
