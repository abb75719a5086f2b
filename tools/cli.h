/*
 * cli.h — what the `strata` command's parts share: the command entry
 * points (one file per command family) and the exit-code convention.
 *
 * Exit codes: 0 success; 1 the command ran but something was wrong (lines
 * rejected, damage found, an engine error); 2 the command line itself was
 * wrong.  Errors go to stderr prefixed with "strata: ".
 */
#ifndef STRATA_CLI_H
#define STRATA_CLI_H

#include "strata.h"

#include <stdint.h>
#include <stdio.h>

#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

/* Each takes the arguments after the command name's position: argv[0] is
 * the command name itself, as getopt_long expects. */
int cmd_ingest(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_query(int argc, char **argv);
int cmd_gaps(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_gen(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_compact(int argc, char **argv);
int cmd_retention(int argc, char **argv);
int cmd_rollups(int argc, char **argv);

/* "ns", "us", "ms" or "s": 0 and *out set, else -1. */
int cli_parse_precision(const char *s, strata_precision *out /* OUT */);
/* A time argument: integer nanoseconds or RFC 3339 text. 0 or -1. */
int cli_parse_time(const char *s, int64_t *ns /* OUT */);
/* The log callback the commands give the engine: warnings to stderr. */
void cli_log(void *ctx, int level, const char *msg);

/* "strata: <message>\n" on stderr. */
void cli_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
