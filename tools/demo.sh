#!/bin/sh
# demo.sh — what `make demo` runs: generate a fleet workload with Strata's own
# generator, ingest it, and show what was stored.  Usage: demo.sh STRATA_BINARY
# Everything goes to ./demo (override with DEMO_DIR).
set -eu
STRATA=${1:-build/strata}
OUT=${DEMO_DIR:-demo}
rm -rf "$OUT"
mkdir -p "$OUT"

step() { printf '\n== %s\n$ %s\n' "$1" "$2"; }

step "generate 20 trucks x 1 day of fleet telemetry (TSBS iot shape, 10 s interval)" \
     "strata gen fleet --trucks 20 --span 1d --interval 10s --seed 42 -o $OUT/fleet.lp"
"$STRATA" gen fleet --trucks 20 --span 1d --interval 10s --seed 42 -o "$OUT/fleet.lp"
head -2 "$OUT/fleet.lp"

step "ingest it (creates the database; each truck's 'name' tag identifies the device)" \
     "strata ingest $OUT/db --device-tag name $OUT/fleet.lp"
"$STRATA" ingest "$OUT/db" --device-tag name "$OUT/fleet.lp"

step "what is stored, and where the bytes go" "strata inspect $OUT/db"
"$STRATA" inspect "$OUT/db"

step "the same figure from du" "du -B1 -s $OUT/db"
du -B1 -s "$OUT/db"
printf 'input: %s bytes of line protocol\n' "$(wc -c < "$OUT/fleet.lp")"

step "every checksum re-read" "strata verify $OUT/db"
"$STRATA" verify "$OUT/db"

step "30 seconds of truck_3's readings, as stored (one field per line)" \
     "strata dump $OUT/db --measurement readings --from 2024-01-01T12:00:00Z --to 2024-01-01T12:00:30Z | grep name=truck_3"
"$STRATA" dump "$OUT/db" --measurement readings --from 2024-01-01T12:00:00Z \
    --to 2024-01-01T12:00:30Z | grep 'name=truck_3 '

step "one dumped line per stored value (the test suite checks them bit for bit)" \
     "strata dump $OUT/db | wc -l"
"$STRATA" dump "$OUT/db" | wc -l
