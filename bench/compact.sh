#!/bin/sh
# compact.sh — compaction and retention on the fleet (issue 5, done-when 2
# and 3).  Usage: bench/compact.sh BUILD_DIR   (benchmarks only)
#
# 1. Retention: a 30-day fleet (`strata gen fleet --span 30d`), scaled down
#    by device count and rate (TRUCKS, default 10; INTERVAL, default 60s), is split
#    into days and ingested day by day into one database with raw retention
#    7d, 1-minute rollups kept 7d and hourly rollups 14d (`strata retention
#    --raw 7d --tier 1m=7d --tier 1h=14d` after the first day).  After each
#    day: bytes on disk (du, allocated) and live segments as the ingest left
#    them (the background compaction thread runs during the ingest and is
#    stopped at its close), then the same after `strata compact`, and of
#    that the bytes of rollup files.  Raw data should level off after 8
#    days, rollups (every series gets rows once raw data expires) after 15.
# 2. Shuffled vs sorted: one day of DUP_TRUCKS trucks (default 20), once
#    sorted, once shuffled with 30 % of the lines repeated; both ingested
#    with a 1 MiB head (many small segments), then `strata compact`; bytes
#    per value (du / values) of each.
#   KEEP=1 keeps the databases (in $TMPDIR/strata-compact.*)
set -eu
BUILD=${1:-build}
TRUCKS=${TRUCKS:-10}
INTERVAL=${INTERVAL:-60s}
DUP_TRUCKS=${DUP_TRUCKS:-20}
STRATA=$BUILD/strata
TMP=$(mktemp -d "${TMPDIR:-/tmp}/strata-compact.XXXXXX")
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$TMP"' EXIT

du_b() { du -B1 -s "$1" | cut -f1; }
segs() { "$STRATA" inspect "$1" | awk '$1 == "segments" { print $2 + 0; exit }'; }
values() { "$STRATA" inspect "$1" | awk '$1 == "values" { print $2 }'; }

echo "## retention: $TRUCKS trucks x 30 days every $INTERVAL, raw retention 7d, rollups 1m 7d and 1h 14d, partitions 1d"
"$STRATA" gen fleet --trucks "$TRUCKS" --span 30d --interval "$INTERVAL" \
    --start 2024-01-01T00:00:00Z -o "$TMP/fleet.lp" >/dev/null 2>&1
# one file per UTC day (the last field is the timestamp in ns)
awk -v dir="$TMP" '!/^#/ && NF { d = int(substr($NF, 1, length($NF) - 9) / 86400) - 19723;
    print > (dir "/day" d ".lp") }' "$TMP/fleet.lp"
rm "$TMP/fleet.lp"
rollup_bytes() { "$STRATA" inspect "$1" | awk '$1 == "rollups" { print $4 + 0; f = 1 } END { if (!f) print 0 }'; }
printf "%4s %14s %9s %16s %9s %12s %10s\n" day du_after_ingest segments du_after_compact segments rollup_bytes seconds
day=0
while [ -f "$TMP/day$day.lp" ]; do
    t0=$(date +%s.%N)
    "$STRATA" ingest "$TMP/db" --quiet --device-tag name "$TMP/day$day.lp"
    [ "$day" = 0 ] && "$STRATA" retention "$TMP/db" --raw 7d --tier 1m=7d --tier 1h=14d >/dev/null
    a=$(du_b "$TMP/db")
    sa=$(segs "$TMP/db")
    "$STRATA" compact "$TMP/db" >/dev/null
    t1=$(date +%s.%N)
    b=$(du_b "$TMP/db")
    sb=$(segs "$TMP/db")
    printf "%4d %14d %9d %16d %9d %12d %10.2f\n" $((day + 1)) "$a" "$sa" "$b" "$sb" \
        "$(rollup_bytes "$TMP/db")" "$(echo "$t1 - $t0" | bc)"
    rm "$TMP/day$day.lp"
    day=$((day + 1))
done
"$STRATA" verify "$TMP/db" >/dev/null

echo
echo "## shuffled with 30 % duplicates vs sorted: $DUP_TRUCKS trucks x 1 day, after strata compact"
"$STRATA" gen fleet --trucks "$DUP_TRUCKS" -o "$TMP/sorted.lp" >/dev/null 2>&1
awk 'BEGIN { srand(42) } !/^#/ && NF { print; if (rand() < 0.3) print }' "$TMP/sorted.lp" |
    shuf --random-source="$TMP/sorted.lp" >"$TMP/shuffled.lp"
for kind in sorted shuffled; do
    "$STRATA" ingest "$TMP/$kind" --quiet --device-tag name --head-budget 1 --batch 1000 \
        "$TMP/$kind.lp"
    before=$(segs "$TMP/$kind")
    "$STRATA" compact "$TMP/$kind" >/dev/null
    b=$(du_b "$TMP/$kind")
    v=$(values "$TMP/$kind")
    awk -v k="$kind" -v b="$b" -v v="$v" -v s="$before" -v s2="$(segs "$TMP/$kind")" \
        'BEGIN { printf "%-9s %2d -> %d segments, %d values, du %d bytes, %.4f bytes/value\n",
                 k, s, s2, v, b, b / v }'
done
"$STRATA" dump "$TMP/sorted" >"$TMP/a.dump"
"$STRATA" dump "$TMP/shuffled" >"$TMP/b.dump"
cmp -s "$TMP/a.dump" "$TMP/b.dump" && echo "dumps identical" || echo "DUMPS DIFFER"
[ "${KEEP:-0}" = 1 ] && echo "databases kept in $TMP"
exit 0
