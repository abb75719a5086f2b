/*
 * runrss.c — run a command and report its wall time and peak resident set,
 * for bench/compare.  Linux keeps a process's peak RSS across fork and
 * exec, so a command started straight from the (large) Python driver would
 * report the driver's own size; started from this small program it
 * reports its own.  stdin, stdout and stderr are inherited.
 *
 *   usage: runrss RESULT_FILE CMD [ARG...]
 * writes "<wall seconds> <peak RSS KiB> <exit status>" to RESULT_FILE and
 * exits with the command's status (127 when it cannot be started).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: runrss RESULT_FILE CMD [ARG...]\n");
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) {
        perror("runrss: fork");
        return 127;
    }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        perror("runrss: exec");
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) {
        perror("runrss: wait4");
        return 127;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    FILE *f = fopen(argv[1], "w");
    if (!f || fprintf(f, "%.6f %ld %d\n",
                      (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
                      ru.ru_maxrss, code) < 0 || fclose(f) != 0) {
        perror("runrss: result file");
        return 127;
    }
    return code;
}
