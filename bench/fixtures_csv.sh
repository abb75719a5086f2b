#!/bin/sh
# fixtures_csv.sh — the real fixtures as one CSV stream each, for
# `strata ingest --format csv` (benchmarks only; needs a POSIX awk).
#
#   bench/fixtures_csv.sh nab DIR       NAB: DIR/<category>/<file>.csv
#       file,timestamp,value  (file = the CSV's name without .csv; the
#       timestamps stay "YYYY-MM-DD HH:MM:SS", read as UTC)
#   bench/fixtures_csv.sh beijing DIR   Beijing air quality: DIR/PRSA_Data_*.csv
#       time,station,PM2.5,...,WSPM  (the split year, month, day and hour
#       become RFC 3339 with the stations' +08:00; the row number and the
#       wind-direction text are dropped; NA stays NA, a missing value)
#
# Both write to standard output, e.g.
#   bench/fixtures_csv.sh nab ../shared/fixtures/nab |
#       strata ingest nabdb --format csv --measurement nab --tag-columns file -
set -eu

usage() {
    echo "usage: $0 nab|beijing DIR" >&2
    exit 2
}

[ $# -eq 2 ] || usage
kind=$1
dir=$2
[ -d "$dir" ] || { echo "$0: no directory $dir" >&2; exit 1; }

case $kind in
nab)
    echo "file,timestamp,value"
    for f in "$dir"/*/*.csv; do
        name=$(basename "$f" .csv)
        awk -v name="$name" 'NR > 1 { sub(/\r$/, ""); if ($0 != "") print name "," $0 }' "$f"
    done
    ;;
beijing)
    echo "time,station,PM2.5,PM10,SO2,NO2,CO,O3,TEMP,PRES,DEWP,RAIN,WSPM"
    for f in "$dir"/PRSA_Data_*.csv; do
        awk -F, 'NR > 1 {
            sub(/\r$/, "")
            st = $18
            gsub(/"/, "", st)
            printf "%04d-%02d-%02dT%02d:00:00+08:00,%s", $2, $3, $4, $5, st
            for (i = 6; i <= 15; i++)
                printf ",%s", $i
            printf ",%s\n", $17
        }' "$f"
    done
    ;;
*)
    usage
    ;;
esac
