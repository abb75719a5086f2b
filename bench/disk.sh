#!/bin/sh
# disk.sh — bytes per value on disk for the fleet, NAB and Beijing air
# quality: each loaded into a fresh database by `strata ingest` with a head
# large enough to hold everything (--head-budget 2048), so that every time
# partition is written in one flush (compaction does not exist yet), then
# measured with `du` (allocated blocks of everything in the directory:
# segments, catalog, manifest, directories) and `strata inspect`; each row
# also gives the bytes of the database's own files (segments, log, catalog
# and manifest, without directories and block rounding).
#
# The fixtures are sorted by time first (stable: duplicates keep their
# order, so the last one still wins), so that a partition is complete when
# the head moves past it; file by file, every file would revisit the
# partitions of the one before.  The fleet's day starts at 12:00, so its
# second partition gets two segments: the head flushes the first when the
# data is 3 hours past it (the partition-end grace), the rest at the close.
#
# A slow series last: one Beijing station's readings of 2014 (11 fields,
# hourly), loaded with the default partition (1 d) and head, then
# `strata compact`: a low-rate device's year, where the fixed costs
# (segment headers, index, catalog, manifest, directories, 4 KiB blocks)
# weigh most.
#
# Usage: bench/disk.sh BUILD_DIR [FIXTURES_DIR]    (benchmarks only)
#   TRUCKS          fleet size (default 20, the peers' small scale)
#   FLEET_PARTITION partition of the fleet database (default 1d)
#   NAB_PARTITION   partition of the NAB database (default 30d)
#   AQ_PARTITION    partition of the Beijing database (default 30d)
#   KEEP=1          keep the databases (in $TMPDIR/strata-disk.*)
# NAB and Beijing are skipped when their directories are absent.
set -eu
BUILD=${1:-build}
FIX=${2:-../shared/fixtures}
TRUCKS=${TRUCKS:-20}
FLEET_PARTITION=${FLEET_PARTITION:-1d}
NAB_PARTITION=${NAB_PARTITION:-30d}
AQ_PARTITION=${AQ_PARTITION:-30d}
STRATA=$BUILD/strata
HERE=$(dirname "$0")
TMP=$(mktemp -d "${TMPDIR:-/tmp}/strata-disk.XXXXXX")
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$TMP"' EXIT

# The CSV on stdin, header first, rows stably sorted by text column $1.
by_time() {
    { IFS= read -r header && echo "$header" && LC_ALL=C sort -s -t, -k"$1,$1"; }
}

report() {
    name=$1
    db=$2
    du_bytes=$(du -B1 -s "$db" | cut -f1)
    values=$("$STRATA" inspect "$db" | awk '$1 == "values" { print $2 }')
    echo
    echo "## $name ($3)"
    "$STRATA" inspect "$db" | sed -n '/^segments/p;/^bytes\/value/,$p'
    # the database's own files: segments, log, catalog and manifest, without
    # the directories and the allocation blocks that du also counts
    files=$("$STRATA" inspect "$db" |
        awk '$1 == "segments" || $1 == "wal" || $1 == "catalog" || $1 == "manifest" {
                 if ($3 == "file(s)") s += $6 } END { print s + 0 }')
    awk -v n="$name" -v b="$du_bytes" -v v="$values" -v f="$files" \
        'BEGIN { printf "%s: %d values, du %d bytes, %.4f bytes/value; segments, log, catalog and manifest %d bytes, %.4f bytes/value\n", n, v, b, b / v, f, f / v }'
}

"$STRATA" gen fleet --trucks "$TRUCKS" -o "$TMP/fleet.lp" >/dev/null
"$STRATA" ingest "$TMP/fleet" --quiet --device-tag name --head-budget 2048 \
    --partition "$FLEET_PARTITION" "$TMP/fleet.lp"
report fleet "$TMP/fleet" "$TRUCKS trucks x 1 day, partitions $FLEET_PARTITION"

if [ -d "$FIX/nab" ]; then
    "$HERE/fixtures_csv.sh" nab "$FIX/nab" | by_time 2 |
        "$STRATA" ingest "$TMP/nab" --quiet --format csv --measurement nab --tag-columns file \
            --head-budget 2048 --partition "$NAB_PARTITION" -
    report nab "$TMP/nab" "58 files, partitions $NAB_PARTITION"
else
    echo "nab: no $FIX/nab, skipped"
fi

if [ -d "$FIX/beijing-aq" ]; then
    "$HERE/fixtures_csv.sh" beijing "$FIX/beijing-aq" | by_time 1 |
        "$STRATA" ingest "$TMP/aq" --quiet --format csv --measurement aq --tag-columns station \
            --head-budget 2048 --partition "$AQ_PARTITION" -
    report beijing "$TMP/aq" "12 stations x 11 fields, partitions $AQ_PARTITION"
    "$HERE/fixtures_csv.sh" beijing "$FIX/beijing-aq" |
        awk -F, 'NR == 1 || ($2 == "Aotizhongxin" && substr($1, 1, 4) == "2014")' |
        "$STRATA" ingest "$TMP/aq1" --quiet --format csv --measurement aq --tag-columns station -
    "$STRATA" compact "$TMP/aq1" >/dev/null
    report beijing-station-year "$TMP/aq1" "Aotizhongxin, 2014, 11 fields hourly, partitions 1d, compacted"
else
    echo "beijing: no $FIX/beijing-aq, skipped"
fi
[ "${KEEP:-0}" = 1 ] && echo "databases kept in $TMP"
exit 0
