/*
 * testutil.c — see testutil.h.
 */
#define _GNU_SOURCE /* nftw() and FTW_DEPTH/FTW_PHYS are XSI extensions */
#include "tests/testutil.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

char *tu_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/strata-test-XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    ck_assert_msg(d != NULL, "mkdtemp: %s", strerror(errno));
    return strdup(d);
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void tu_rmrf(const char *path)
{
    if (path)
        nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

char *tu_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    size_t r;
    while ((r = fread(b + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (cap - n < 2) {
            cap *= 2;
            b = realloc(b, cap);
        }
    }
    fclose(f);
    b[n] = 0;
    if (len)
        *len = n;
    return b;
}

void tu_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "open %s: %s", path, strerror(errno));
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

struct sink {
    int fd;
    char *buf;
    size_t len, cap;
};

static void sink_read(struct sink *s)
{
    char tmp[65536];
    ssize_t r = read(s->fd, tmp, sizeof tmp);
    if (r <= 0) {
        close(s->fd);
        s->fd = -1;
        return;
    }
    if (s->len + (size_t)r + 1 > s->cap) {
        s->cap = (s->len + (size_t)r + 1) * 2;
        s->buf = realloc(s->buf, s->cap);
    }
    memcpy(s->buf + s->len, tmp, (size_t)r);
    s->len += (size_t)r;
    s->buf[s->len] = 0;
}

pid_t tu_fork(void)
{
    pid_t pid = fork();
    if (pid != 0)
        ck_assert_msg(pid > 0, "fork: %s", strerror(errno));
    return pid;
}

int tu_cli(const char *const *args, const char *input, char **out, char **err)
{
    const char *bin = getenv("STRATA_BIN");
    if (!bin)
        bin = "build/strata";
    int pin[2], pout[2], perr[2];
    ck_assert(pipe(pin) == 0 && pipe(pout) == 0 && pipe(perr) == 0);
    pid_t pid = tu_fork();
    if (pid == 0) {
        dup2(pin[0], 0);
        dup2(pout[1], 1);
        dup2(perr[1], 2);
        close(pin[1]);
        close(pout[0]);
        close(perr[0]);
        size_t n = 0;
        while (args[n])
            n++;
        char **argv = calloc(n + 2, sizeof *argv);
        argv[0] = (char *)bin;
        for (size_t i = 0; i < n; i++)
            argv[i + 1] = (char *)args[i];
        execv(bin, argv);
        _exit(127);
    }
    close(pin[0]);
    close(pout[1]);
    close(perr[1]);
    struct sink so = {pout[0], calloc(1, 1), 0, 1}, se = {perr[0], calloc(1, 1), 0, 1};
    size_t in_len = input ? strlen(input) : 0, in_off = 0;
    int in_fd = pin[1];
    if (in_len == 0) {
        close(in_fd);
        in_fd = -1;
    } else {
        fcntl(in_fd, F_SETFL, O_NONBLOCK);
    }
    while (so.fd >= 0 || se.fd >= 0 || in_fd >= 0) {
        struct pollfd p[3] = {{so.fd, POLLIN, 0}, {se.fd, POLLIN, 0}, {in_fd, POLLOUT, 0}};
        if (poll(p, 3, -1) < 0 && errno != EINTR)
            break;
        if (so.fd >= 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR)))
            sink_read(&so);
        if (se.fd >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
            sink_read(&se);
        if (in_fd >= 0 && (p[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t w = write(in_fd, input + in_off, in_len - in_off);
            if (w > 0)
                in_off += (size_t)w;
            if (w < 0 && errno != EAGAIN) {
                close(in_fd);
                in_fd = -1;
            } else if (in_off == in_len) {
                close(in_fd);
                in_fd = -1;
            }
        }
    }
    int status;
    waitpid(pid, &status, 0);
    if (out)
        *out = so.buf;
    else
        free(so.buf);
    if (err)
        *err = se.buf;
    else
        free(se.buf);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

uint64_t tu_rand(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9E3779B97F4A7C15ull;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}
