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

step "the latest reading of every truck, from per-series metadata (no history scanned)" \
     "strata query $OUT/db 'SELECT last(velocity), last(fuel_state) FROM readings GROUP BY name LIMIT 5'"
"$STRATA" query "$OUT/db" 'SELECT last(velocity), last(fuel_state) FROM readings GROUP BY name LIMIT 5'

step "hourly mean fuel consumption of one truck over the day" \
     "strata query $OUT/db \"SELECT mean(fuel_consumption) FROM readings WHERE name = 'truck_3' GROUP BY time(1h)\" --plot -"
"$STRATA" query "$OUT/db" "SELECT mean(fuel_consumption) FROM readings WHERE name = 'truck_3' GROUP BY time(1h)" --plot -

step "how that query was answered" \
     "strata query $OUT/db \"EXPLAIN SELECT mean(fuel_consumption) FROM readings WHERE name = 'truck_3' GROUP BY time(1h)\""
"$STRATA" query "$OUT/db" "EXPLAIN SELECT mean(fuel_consumption) FROM readings WHERE name = 'truck_3' GROUP BY time(1h)"

step "hourly max velocity per fleet (LIMIT counts rows per group, as in InfluxQL)" \
     "strata query $OUT/db 'SELECT max(velocity) FROM readings GROUP BY time(1h), fleet LIMIT 6'"
"$STRATA" query "$OUT/db" 'SELECT max(velocity) FROM readings GROUP BY time(1h), fleet LIMIT 6'
