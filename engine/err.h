/*
 * err.h — error reporting inside libstrata.
 *
 * The last error is kept per thread (strata_errmsg() reads it).  Internal
 * functions return a primary result code and, when they fail, set the
 * message with st_err()/st_err_os() at the place that knows the details
 * (file name, byte offset); callers up the stack only pass the code on.
 */
#ifndef STRATA_ERR_H
#define STRATA_ERR_H

#include "strata.h"

/* Record `ext_code` (a primary or extended code) and a printf-style
 * message as this thread's last error; returns the primary code. */
int st_err(int ext_code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* As st_err, for a failed system call: appends ": <strerror(err_no)>" and
 * turns ENOSPC into STRATA_FULL_DISK and EACCES/EPERM into STRATA_DENIED. */
int st_err_os(int ext_code, int err_no, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the current message with "<prefix>: " (keeps the code). */
void st_err_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The current message and extended code of this thread. */
const char *st_errmsg(void);
int st_errcode(void);

#endif
