/*
 * lineproto.h — InfluxDB line protocol (1.x), one line at a time: the
 * parser behind strata_batch_add_lp and `strata ingest`, and the escaping
 * used to print series keys and dumps.
 *
 *   measurement[,tag_key=tag_value...] field=value[,field=value...] [timestamp]
 *
 * Rules.
 *  - Escapes: in the measurement, "\," and "\ " stand for ',' and ' '; in
 *    tag keys, tag values and field names, "\,", "\=" and "\ ".  A
 *    backslash before any other byte (or at the end) is a literal
 *    backslash, so "a\\b" is a, two backslashes, b.  Consequently no name
 *    can end with a literal backslash, and no measurement can start with
 *    '#' or a tab: line protocol cannot express them.
 *  - Sections are separated by one or more (unescaped) spaces.  A tab is
 *    data like any other byte, except that it is trimmed at the very
 *    start and end of the line with the spaces.
 *  - The series part (measurement and tags) ends at the first unescaped
 *    space.  Tag keys and values must be non-empty; an unescaped '=' in a
 *    tag value is an error; a tag key may appear once per line.
 *  - Field values: a float (num_parse_f64: also NaN, Inf, +Inf, -Inf), an
 *    integer with an 'i' suffix (int64), or a boolean t T true True TRUE
 *    f F false False FALSE.  String ("...") and unsigned ('u') fields are
 *    rejected.  A field name may repeat; the caller keeps the last value.
 *  - "time" is reserved: neither a tag key nor a field name.
 *  - The optional timestamp is a signed integer in the given precision,
 *    scaled to ns; leaving the int64 ns range is an error.
 *  - One trailing "\r" (CRLF files) and then trailing spaces and tabs are
 *    ignored, as are leading spaces and tabs.  A line that is then empty,
 *    or starts with '#', is blank.  A NUL byte or another carriage return
 *    anywhere in the line is an error.
 *  - Limits: LP_MAX_TAGS tags, LP_MAX_FIELDS fields, lines < 4 GiB.
 *
 * The parser never allocates and never copies: spans point into the
 * caller's line and stay valid as long as it does.  It reads only
 * line[0..len); the line need not be NUL-terminated.
 */
#ifndef STRATA_LINEPROTO_H
#define STRATA_LINEPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "strata.h"

/* lp_span.escaped: 0 when the raw bytes are the value; otherwise which
 * escape set lp_unescape must undo. */
#define LP_ESC_MEASUREMENT 1 /* "\," "\ " */
#define LP_ESC_KEY 2         /* "\," "\=" "\ " (tag keys and values, field names) */

typedef struct lp_span {
    const char *p;
    uint32_t len;
    uint8_t escaped; /* contains backslash escapes: LP_ESC_* or 0 */
} lp_span;

typedef struct lp_field {
    lp_span name;
    uint8_t type; /* STRATA_F64, STRATA_I64 or STRATA_BOOL */
    union {
        double f64;
        int64_t i64;
        int b; /* 0 or 1 */
    } v;
    uint32_t col; /* 1-based column of the field name */
} lp_field;

#define LP_MAX_TAGS 256
#define LP_MAX_FIELDS 1024

typedef struct lp_line {
    lp_span measurement;
    lp_span series_raw; /* the raw text of measurement and tags (up to the
                           unescaped space before the fields): a cache key;
                           its escaped is 0, never unescape it */
    uint32_t ntags;
    lp_span tag_key[LP_MAX_TAGS], tag_val[LP_MAX_TAGS]; /* in line order */
    uint32_t nfields;
    lp_field field[LP_MAX_FIELDS]; /* in line order */
    int has_ts;
    int64_t ts;      /* ns, after applying the precision */
    uint32_t ts_col; /* 1-based column of the timestamp (when has_ts) */
    int blank;  /* blank line or comment: the counts are 0 */
} lp_line;

/* Parse line[0..len) (without its '\n') read in precision prec into *out.
 * Returns 0; or -1 with err->column (1-based byte column of the offending
 * character, len + 1 when something is missing at the end) and
 * err->message set.  err may be NULL.  *out is about 48 KiB: keep one around
 * rather than putting it on a small stack. */
int lp_parse(const char *line, size_t len, strata_precision prec, lp_line *out /* OUT */,
             strata_lp_error *err /* OUT */);

/* The fast path for a line whose series text is known (cached) already:
 * the length of line[0..len)'s series text (its measurement and tags, up to
 * the space before the fields) when that text has no escapes and the line
 * no leading blank or comment, no NUL and no carriage return (but the one
 * a line may end with), else 0.  lp_parse_known() then parses the rest,
 * from line[at] (the space, at from lp_series_prefix), exactly as lp_parse
 * would; tag spans are left unset (ntags 0).  Use it only for a series
 * text that lp_parse has accepted before: the same bytes parse the same
 * way. */
size_t lp_series_prefix(const char *line, size_t len);
int lp_parse_known(const char *line, size_t len, size_t at, strata_precision prec,
                   lp_line *out /* OUT */, strata_lp_error *err /* OUT */);

/* Write the unescaped bytes of s (no NUL) into dst, which has room for
 * s.len bytes.  Returns the length. */
size_t lp_unescape(lp_span s, char *dst /* OUT */);

/* In an escaped tag-set key (a catalog's canonical key), the end of the
 * component starting at i: the first `stop` not escaped by a backslash
 * (`\,`, `\=`, `\ `), or len.  Never beyond len, whatever the bytes. */
size_t lp_component_end(const char *key, size_t i, size_t len, char stop);

/* Escape s[0..len) for output; dst has room for 2 * len bytes.  Returns the
 * length written (no NUL).  The names line protocol cannot express (see
 * above) come out as text that reads back differently or not at all. */
size_t lp_escape_measurement(const char *s, size_t len, char *dst /* OUT */);
size_t lp_escape_key(const char *s, size_t len, char *dst /* OUT */); /* tags, fields */

#endif
