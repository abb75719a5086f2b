#!/bin/sh
# run.sh — what `make compare` runs: installs the peers when missing
# (install_peers.sh), then compare.py, which loads the same data into
# Strata, InfluxDB, VictoriaMetrics, Prometheus (and SQLite), runs the four
# fleet queries on each, checks every answer against Strata's and prints
# one table.  The table also goes to BUILD/compare/RESULTS.md; with
# --results it replaces the `make compare` section of bench/RESULTS.md.
#
#   bench/compare/run.sh [--build DIR] [--results] [compare.py options]
#     --scale small     20 trucks, 10 hosts (a few minutes)
#     --scale default   200 trucks, 100 hosts (the default; under 10 min on 2 cores)
#     --scale full      1000 trucks, 1000 hosts
#     --trucks N --hosts N --workloads fleet,devops,nab,beijing
#     --peers influxdb,victoriametrics,prometheus,sqlite --runs 5
#     --fixtures DIR (default ../shared/fixtures) --work DIR (default /tmp/strata-compare)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=$ROOT/build
RESULTS=""
CMD="bench/compare/run.sh $*"
ARGS=""
while [ $# -gt 0 ]; do
    case $1 in
    --build) BUILD=$2; shift 2 ;;
    --build=*) BUILD=${1#--build=}; shift ;;
    --results) RESULTS=$ROOT/bench/RESULTS.md; shift ;;
    *) ARGS="$ARGS $1"; shift ;;
    esac
done
"$HERE/install_peers.sh"
mkdir -p "$BUILD/compare"
# shellcheck disable=SC2086
exec python3 "$HERE/compare.py" --build "$BUILD" --md "$BUILD/compare/RESULTS.md" \
    ${RESULTS:+--results "$RESULTS"} --command "$CMD" $ARGS
