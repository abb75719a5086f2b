/*
 * cli.c — helpers shared by the CLI's command files (see cli.h).
 */
#include "tools/cli.h"

#include "engine/numtext.h"
#include "engine/timetext.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void cli_errorf(const char *fmt, ...)
{
    va_list ap;
    fputs("strata: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_parse_precision(const char *s, strata_precision *out)
{
    static const char *names[] = {"ns", "us", "ms", "s"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, names[i])) {
            *out = (strata_precision)i;
            return 0;
        }
    return -1;
}

int cli_parse_time(const char *s, int64_t *ns)
{
    return num_parse_i64(s, strlen(s), ns) == 0 || time_parse(s, strlen(s), ns) == 0 ? 0 : -1;
}

void cli_log(void *ctx, int level, const char *msg)
{
    (void)ctx;
    if (level == STRATA_LOG_WARN)
        fprintf(stderr, "strata: warning: %s\n", msg);
}
