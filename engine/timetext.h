/*
 * timetext.h — times and durations as text.  Every time is int64
 * nanoseconds since 1970-01-01T00:00:00Z (UTC, proleptic Gregorian
 * calendar, no leap seconds), which spans 1677-09-21T00:12:43.145224192Z
 * to 2262-04-11T23:47:16.854775807Z.
 *
 * Accepted times (time_parse):
 *   2024-01-01T12:00:00Z          RFC 3339; 't' and 'z' also in lower case
 *   2024-01-01T12:00:00.5+08:00   1 to 9 fraction digits; offsets ±HH:MM
 *   2024-01-01 12:00:00           a space for the 'T' (RFC 3339 §5.6 note)
 *   2024-01-01T12:00:00           no zone: UTC (never the local zone)
 *   2024-01-01                    midnight UTC
 *   1704110400000000000           a bare integer: nanoseconds
 * Years have exactly four digits (no sign: years before 0 are not
 * supported); months 01-12; days within the month (leap years as in the
 * Gregorian calendar); hours 00-23, minutes 00-59, seconds 00-59 (a leap
 * second, :60, is rejected: int64 ns time has no place for it); offsets
 * up to ±23:59.  A time outside the int64 range is an error.
 *
 * Durations (duration_parse) are one or more <digits><unit> pairs, summed:
 * ns, us (also µs, μs), ms, s, m (minutes), h, d (24 h), w (7 d), e.g.
 * "10s", "1h30m", "500ms".  No sign, no fraction; a bare number without a
 * unit is an error here (callers decide what it means).
 */
#ifndef STRATA_TIMETEXT_H
#define STRATA_TIMETEXT_H

#include <stddef.h>
#include <stdint.h>

#define TIME_RFC3339_BUFSZ 40 /* room for any time_format_rfc3339 text + NUL */

/* Parse s[0..len) as a time (see above).  Returns 0 or -1; *out_ns is
 * written only on success. */
int time_parse(const char *s, size_t len, int64_t *out_ns /* OUT */);

/* Write ns as RFC 3339 UTC, e.g. 2024-01-01T12:00:00Z or
 * 1969-12-31T23:59:59.999Z (fraction only when non-zero, trailing zeros
 * trimmed) and a NUL into buf (TIME_RFC3339_BUFSZ bytes).  Every int64
 * value is accepted.  Returns the length. */
size_t time_format_rfc3339(int64_t ns, char *buf /* OUT */);

/* Parse s[0..len) as a duration (see above) into nanoseconds.  Returns 0,
 * or -1 when malformed or beyond INT64_MAX ns. */
int duration_parse(const char *s, size_t len, int64_t *out_ns /* OUT */);

/* Write ns > 0 as a duration that duration_parse() reads back, largest
 * units first, e.g. 10s, 1h30m, 1d2h, 1s500ms; 0 or less as "0s".
 * buf needs DURATION_BUFSZ bytes.  Returns the length. */
#define DURATION_BUFSZ 64
size_t duration_format(int64_t ns, char *buf /* OUT */);

#endif
