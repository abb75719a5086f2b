#!/bin/sh
# run.sh BUILD SECONDS: run each libFuzzer target built in BUILD (by `make
# fuzz`) for SECONDS from a copy of its seeds.  Stops at the first target
# that finds a crash, a leak, undefined behaviour, a timeout (10 s for one
# input) or memory above 4 GiB; libFuzzer prints the report and saves the
# input as BUILD/<target>/crash-*, leak-*, timeout-* or oom-*.
set -eu
B=$1
SECS=$2
SRC=$(cd "$(dirname "$0")" && pwd)
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1
for t in query lines segment csv wal meta ops; do
    dir=$B/$t
    rm -rf "$dir"
    mkdir -p "$dir/corpus"
    if [ -d "$SRC/seeds/$t" ]; then cp "$SRC/seeds/$t/"* "$dir/corpus/"; fi
    extra=""
    case $t in
    query) extra="-dict=$SRC/query.dict -max_len=400" ;;
    lines) extra="-max_len=2000" ;;
    segment) FUZZ_SEEDS="$dir/corpus" "$B/fuzz_segment" -runs=0 >/dev/null 2>&1
             extra="-max_len=8000 -len_control=0" ;;
    csv) extra="-max_len=600 -close_fd_mask=3" ;;
    ops) extra="-max_len=1000" ;;
    wal | meta) FUZZ_SEEDS="$dir/corpus" "$B/fuzz_$t" -runs=0 >/dev/null 2>&1
         extra="-max_len=8000 -len_control=0" ;;
    esac
    echo "fuzz: $t for $SECS s"
    # shellcheck disable=SC2086
    (cd "$dir" && "../fuzz_$t" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=4096 \
        -print_final_stats=1 $extra corpus 2>"log") || {
        tail -n 60 "$dir/log"
        echo "fuzz: $t FAILED; the input is in $dir" >&2
        exit 1
    }
    grep -E "^stat::number_of_executed_units" "$dir/log" | sed "s/^/fuzz: $t: /"
done
echo "fuzz: every target ran $SECS s without a finding"
