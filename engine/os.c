/*
 * os.c — thin POSIX wrappers with fault injection (see os.h).
 */
#define _GNU_SOURCE /* sync_file_range */
#include "engine/os.h"

#include "engine/alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t fault_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned fault_ops;
static long fault_nth;
static int fault_errno;
static long fault_keep;

void os_fault_inject(unsigned ops, long nth, int err_no, long keep_bytes)
{
    pthread_mutex_lock(&fault_mu);
    fault_ops = ops;
    fault_nth = nth;
    fault_errno = err_no;
    fault_keep = keep_bytes;
    pthread_mutex_unlock(&fault_mu);
}

/* Returns 0, or the errno to fail with; *keep receives the torn length. */
static int fault_check(unsigned op, long *keep)
{
    if (__atomic_load_n(&fault_ops, __ATOMIC_RELAXED) == 0)
        return 0;
    int e = 0;
    pthread_mutex_lock(&fault_mu);
    if ((fault_ops & op) && fault_nth > 0 && --fault_nth == 0) {
        e = fault_errno;
        if (keep)
            *keep = fault_keep;
        fault_ops = 0;
    }
    pthread_mutex_unlock(&fault_mu);
    return e;
}

int os_open(const char *path, int flags, mode_t mode)
{
    int e = fault_check(OS_OP_OPEN, NULL);
    if (e)
        return -e;
    int fd;
    do
        fd = open(path, flags | O_CLOEXEC, mode);
    while (fd < 0 && errno == EINTR);
    return fd < 0 ? -errno : fd;
}

int os_close(int fd)
{
    return close(fd) < 0 ? -errno : 0;
}

static int write_loop(int fd, const void *buf, size_t n, int positional, uint64_t off)
{
    const char *p = buf;
    long keep = -1;
    int e = fault_check(OS_OP_WRITE, &keep);
    if (e) {
        if (keep < 0)
            return -e;
        n = (size_t)keep < n ? (size_t)keep : n; /* torn write, then the error */
    }
    while (n > 0) {
        ssize_t w = positional ? pwrite(fd, p, n, (off_t)off) : write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return e ? -e : 0;
}

int os_write_all(int fd, const void *buf, size_t n)
{
    return write_loop(fd, buf, n, 0, 0);
}

int os_pwrite_all(int fd, const void *buf, size_t n, uint64_t off)
{
    return write_loop(fd, buf, n, 1, off);
}

ssize_t os_pread_all(int fd, void *buf, size_t n, uint64_t off)
{
    int e = fault_check(OS_OP_READ, NULL);
    if (e)
        return -e;
    char *p = buf;
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, p + got, n - got, (off_t)(off + got));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

int os_fsync(int fd)
{
    int e = fault_check(OS_OP_SYNC, NULL);
    if (e)
        return -e;
    return fsync(fd) < 0 ? -errno : 0;
}

int os_fdatasync(int fd)
{
    int e = fault_check(OS_OP_SYNC, NULL);
    if (e)
        return -e;
    return fdatasync(fd) < 0 ? -errno : 0;
}

void os_start_writeback(int fd)
{
#ifdef __linux__
    (void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
#else
    (void)fd;
#endif
}

void os_drop_cache(int fd, uint64_t off, uint64_t len)
{
#ifdef POSIX_FADV_DONTNEED
    (void)posix_fadvise(fd, (off_t)off, (off_t)len, POSIX_FADV_DONTNEED);
#else
    (void)fd;
    (void)off;
    (void)len;
#endif
}

int os_fsync_dir(const char *dir)
{
    int e = fault_check(OS_OP_SYNC, NULL);
    if (e)
        return -e;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

int os_rename(const char *from, const char *to)
{
    int e = fault_check(OS_OP_RENAME, NULL);
    if (e)
        return -e;
    return rename(from, to) < 0 ? -errno : 0;
}

int os_unlink(const char *path)
{
    int e = fault_check(OS_OP_UNLINK, NULL);
    if (e)
        return -e;
    return unlink(path) < 0 ? -errno : 0;
}

int os_ftruncate(int fd, uint64_t len)
{
    int e = fault_check(OS_OP_TRUNCATE, NULL);
    if (e)
        return -e;
    return ftruncate(fd, (off_t)len) < 0 ? -errno : 0;
}

int os_fsize(int fd, uint64_t *size)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    *size = (uint64_t)st.st_size;
    return 0;
}

int os_mkdir(const char *path, mode_t mode)
{
    if (mkdir(path, mode) == 0 || errno == EEXIST)
        return 0;
    return -errno;
}

int os_disk_usage(const char *path, uint64_t *apparent, uint64_t *allocated)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return -errno;
    *apparent = (uint64_t)st.st_size;
    *allocated = (uint64_t)st.st_blocks * 512u;
    return 0;
}

int os_mmap_ro(int fd, size_t len, void **addr)
{
    if (len == 0) {
        *addr = NULL;
        return 0;
    }
    void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return -errno;
    *addr = p;
    return 0;
}

void os_munmap(void *addr, size_t len)
{
    if (addr && len)
        munmap(addr, len);
}

int64_t os_monotonic_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

struct timespec os_deadline_after(int64_t ns)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    int64_t n = t.tv_nsec + ns;
    t.tv_sec += (time_t)(n / 1000000000);
    t.tv_nsec = (long)(n % 1000000000);
    return t;
}

int os_read_file(const char *path, uint8_t **buf, size_t *len)
{
    int fd = os_open(path, O_RDONLY, 0);
    if (fd < 0)
        return fd;
    uint64_t size;
    int rc = os_fsize(fd, &size);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    if (size > SIZE_MAX - 1) {
        close(fd);
        return -EFBIG;
    }
    uint8_t *b = st_malloc((size_t)size + 1);
    if (!b) {
        close(fd);
        return -ENOMEM;
    }
    ssize_t got = os_pread_all(fd, b, (size_t)size, 0);
    close(fd);
    if (got < 0) {
        st_free(b);
        return (int)got;
    }
    b[got] = 0;
    *buf = b;
    *len = (size_t)got;
    return 0;
}
