#!/bin/sh
# write_results.sh — run `make bench` and write bench/RESULTS.md from its
# output, verbatim, with the machine, the date and the commands.  Nothing in
# the tables is typed by hand.  The `make compare` sections that
# `bench/compare/run.sh --results` writes are kept.  Usage: bench/write_results.sh
set -eu
cd "$(dirname "$0")/.."
out=$(mktemp)
compare=$(mktemp)
sed -n '/^<!-- make compare .*: begin -->$/,/^<!-- make compare .*: end -->$/p' bench/RESULTS.md \
    > "$compare" 2>/dev/null || true
load=$(cut -d' ' -f1-3 /proc/loadavg)
make --no-print-directory bench > "$out" 2>&1
{
    echo "# Benchmark results"
    echo
    echo "Written by \`bench/write_results.sh\`, which runs \`make bench\` and copies its"
    echo "output here unchanged.  Reproduce with:"
    echo
    echo '```sh'
    echo 'make bench                  # or: bench/write_results.sh to rewrite this file'
    echo '```'
    echo
    echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "- commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!bench/RESULTS.md' || echo ' (with uncommitted changes)')"
    echo "- machine: $(nproc) vCPU ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r), $(gcc --version | head -1)"
    echo "- load before the run: $load"
    echo
    if [ -f bench/RESULTS.notes.md ]; then
        cat bench/RESULTS.notes.md
        echo
    fi
    echo "## Output of \`make bench\`"
    echo
    echo '```'
    grep -v '^make\|^\./tools/install-deps\|^cc \|^ar \|^ln ' "$out"
    echo '```'
    if [ -s "$compare" ]; then
        echo
        cat "$compare"
    fi
} > bench/RESULTS.md
rm -f "$out" "$compare"
echo "wrote bench/RESULTS.md"
