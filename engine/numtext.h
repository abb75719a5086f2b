/*
 * numtext.h — numbers as text: the one place that turns decimal text into
 * float64/int64 and back, shared by the line-protocol parser, the CLI
 * (ingest, dump) and the query language.
 *
 * Rules.
 *  - Parsing is exact: num_parse_f64 returns the double nearest to the
 *    decimal value of the text (ties to even), whatever its length.  It
 *    never depends on the C locale (the decimal point is always '.').
 *  - Grammar: [+-] digits [. [digits]] | [+-] . digits, then an optional
 *    exponent (e|E) [+-] digits; or, case-insensitively and with an
 *    optional sign, "nan", "inf", "infinity".  Nothing else: no leading or
 *    trailing blanks, no hex floats, no digit separators.
 *  - Formatting is the shortest round trip: num_format_f64 writes the
 *    fewest significant digits N for which the correctly rounded N-digit
 *    decimal parses back to the same bits (what printf("%.Ng") would give
 *    for the smallest such N), laid out as printf's %.17g does: plain for
 *    decimal exponents -4..16 (integral values without a decimal point),
 *    otherwise d.ddde±XX.  Special values: "-0", "NaN" (payload and sign
 *    are not kept), "+Inf", "-Inf" — all accepted back by num_parse_f64.
 */
#ifndef STRATA_NUMTEXT_H
#define STRATA_NUMTEXT_H

#include <stddef.h>
#include <stdint.h>

#define NUM_F64_BUFSZ 32 /* room for any num_format_f64 text and its NUL */
#define NUM_I64_BUFSZ 24 /* room for any num_format_i64 text and its NUL */

/* Parse s[0..len) as a float64 into *out.  Returns 0; -1 when the text is
 * malformed; -2 when it is finite but its value is beyond DBL_MAX (values
 * below the smallest subnormal round to zero, which is not an error).
 * *out is written only on success.  Never allocates. */
int num_parse_f64(const char *s, size_t len, double *out /* OUT */);

/* Parse s[0..len) = [+-]digits as an int64.  Returns 0; -1 when malformed;
 * -2 when the value is outside [INT64_MIN, INT64_MAX]. */
int num_parse_i64(const char *s, size_t len, int64_t *out /* OUT */);

/* Write the shortest round-trip text of v (see above) and a NUL into buf,
 * which has room for NUM_F64_BUFSZ bytes.  Returns the length. */
size_t num_format_f64(double v, char *buf /* OUT */);

/* Write v in decimal and a NUL into buf (NUM_I64_BUFSZ bytes).  Returns
 * the length. */
size_t num_format_i64(int64_t v, char *buf /* OUT */);

#endif
