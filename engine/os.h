/*
 * os.h — the one file-I/O seam of libstrata.
 *
 * All file access in the library goes through these thin wrappers, so a
 * test can inject EIO, ENOSPC, short and torn writes (os_fault_inject).
 * Every function returns 0 (or a count) on success and -errno on failure;
 * none of them sets the thread's error message: callers know the file name
 * and what they were doing, and report it with st_err_os().
 */
#ifndef STRATA_OS_H
#define STRATA_OS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

int os_open(const char *path, int flags, mode_t mode); /* fd or -errno */
int os_close(int fd);
int os_write_all(int fd, const void *buf, size_t n);
int os_pwrite_all(int fd, const void *buf, size_t n, uint64_t off);
/* Reads up to n bytes at off; returns the count read (short only at EOF). */
ssize_t os_pread_all(int fd, void *buf, size_t n, uint64_t off);
int os_fsync(int fd);
int os_fdatasync(int fd);
int os_fsync_dir(const char *dir);
/* Start writing fd's dirty pages back without waiting (Linux's
 * sync_file_range; elsewhere nothing).  Best effort: a later fsync reports
 * any error. */
void os_start_writeback(int fd);
/* Ask the kernel to drop the cached pages of fd's bytes [off, off + len)
 * (clean ones go at once): for data written and synced that nothing here
 * reads back.  Advisory, best effort. */
void os_drop_cache(int fd, uint64_t off, uint64_t len);
int os_rename(const char *from, const char *to);
int os_unlink(const char *path);
int os_ftruncate(int fd, uint64_t len);
int os_fsize(int fd, uint64_t *size /* OUT */);
int os_mkdir(const char *path, mode_t mode); /* EEXIST is success */
/* Allocated bytes of a file (st_blocks * 512), as du counts them. */
int os_disk_usage(const char *path, uint64_t *apparent /* OUT */, uint64_t *allocated /* OUT */);
int os_mmap_ro(int fd, size_t len, void **addr /* OUT */);
void os_munmap(void *addr, size_t len);
/* CLOCK_MONOTONIC in nanoseconds. */
int64_t os_monotonic_ns(void);
/* The CLOCK_REALTIME time ns nanoseconds (>= 0) from now: a deadline for
 * pthread_cond_timedwait. */
struct timespec os_deadline_after(int64_t ns);
/* Read a whole file into a buffer from st_malloc (NUL-terminated extra). */
int os_read_file(const char *path, uint8_t **buf /* OUT */, size_t *len /* OUT */);

/* ---- fault injection, for tests ---------------------------------------- */
enum os_op {
    OS_OP_OPEN = 1 << 0,
    OS_OP_WRITE = 1 << 1, /* os_write_all, os_pwrite_all */
    OS_OP_READ = 1 << 2,
    OS_OP_SYNC = 1 << 3,  /* os_fsync, os_fdatasync, os_fsync_dir */
    OS_OP_RENAME = 1 << 4,
    OS_OP_UNLINK = 1 << 5,
    OS_OP_TRUNCATE = 1 << 6
};
/* The nth call (1 = next) of any op in `ops` fails with -err_no.  When it is
 * a write and keep_bytes >= 0, min(keep_bytes, n) bytes are written first:
 * a torn write.  ops = 0 disables injection. */
void os_fault_inject(unsigned ops, long nth, int err_no, long keep_bytes);

#endif
