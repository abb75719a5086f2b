/*
 * testutil.h — helpers shared by the test files: scratch directories,
 * whole-file I/O, running the strata CLI, and a deterministic PRNG.
 */
#ifndef STRATA_TESTUTIL_H
#define STRATA_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A fresh empty directory under $TMPDIR (or /tmp); free() the result.
 * Aborts the test (ck_abort) when it cannot be made. */
char *tu_tmpdir(void);
/* rm -rf path. */
void tu_rmrf(const char *path);
/* path joined with name; free() the result. */
char *tu_path(const char *dir, const char *name);
/* Whole file into a malloc'd NUL-terminated buffer; NULL if unreadable. */
char *tu_read_file(const char *path, size_t *len /* OUT, may be NULL */);
void tu_write_file(const char *path, const void *data, size_t len);
/* Run the CLI (path in $STRATA_BIN, else build/strata) with the given
 * argument vector (NULL-terminated, without argv[0]); stdin from `input`
 * (may be NULL), stdout and stderr captured into malloc'd strings (the
 * pointers may be NULL to discard).  Returns the exit status, or -1 when it
 * died of a signal. */
int tu_cli(const char *const *args, const char *input, char **out, char **err);
/* An assertion for hot test loops: unlike ck_assert, which reports its
 * location to the runner through a pipe on every call, this costs nothing
 * until it fails.  Needs <check.h>. */
#define TU_CHECK(cond, ...)                                                                        \
    do {                                                                                           \
        if (!(cond))                                                                               \
            ck_abort_msg(__VA_ARGS__);                                                             \
    } while (0)

/* fork(), failing the test in the parent when it fails.  Use it instead
 * of `pid = fork(); ck_assert(pid >= 0);`, and call no check macro in a
 * child that may be killed: every ck_assert writes a message into the
 * runner's result file, which the child shares with the test process, and
 * a child killed in the middle of that write (SIGKILL between the two
 * pages of a write that crosses a page boundary) leaves a partial message
 * that throws the runner's reading out of step ("Bad message type arg
 * ...": the runner exits and no later test runs). */
pid_t tu_fork(void);

/* Deterministic xorshift PRNG. */
uint64_t tu_rand(uint64_t *state);

#endif
