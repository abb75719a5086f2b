#!/bin/sh
# run.sh — what `make bench` runs: every benchmark binary, console output
# to the terminal and Google-Benchmark JSON to $OUT (default
# build/bench/results/).  Usage: bench/run.sh BUILD_DIR
#
#   BENCH_TRUCKS   fleet size for the in-process benchmarks (default 20,
#                  the peers' small scale; 200 is their default scale)
#   CLI_TRUCKS     fleet size for the CLI ingest (default 200)
#   BENCH_ARGS     extra flags for every binary (e.g. --benchmark_repetitions=3)
#   FIXTURES       the real data for bench_codec and disk.sh (default
#                  ../shared/fixtures; absent fixtures are skipped)
set -eu
BUILD=${1:-build}
OUT=${OUT:-$BUILD/bench/results}
BENCH_TRUCKS=${BENCH_TRUCKS:-20}
CLI_TRUCKS=${CLI_TRUCKS:-200}
BENCH_ARGS=${BENCH_ARGS:-}
FIXTURES=${FIXTURES:-../shared/fixtures}
mkdir -p "$OUT"

run() {
    name=$1
    shift
    echo
    echo "## $name $*"
    # shellcheck disable=SC2086
    "$BUILD/bench/$name" "$@" $BENCH_ARGS --benchmark_out="$OUT/$name.json" \
        --benchmark_out_format=json
}

run bench_codec --trucks="$BENCH_TRUCKS" --fixtures="$FIXTURES"
run bench_ingest --trucks="$BENCH_TRUCKS"
run bench_query --trucks="$CLI_TRUCKS"
run bench_cli --trucks="$CLI_TRUCKS" --strata="$BUILD/strata"
echo
echo "## bench/disk.sh $BUILD $FIXTURES"
"$(dirname "$0")/disk.sh" "$BUILD" "$FIXTURES"
echo
echo "## bench/compact.sh $BUILD"
"$(dirname "$0")/compact.sh" "$BUILD"
echo
echo "JSON results in $OUT/"
